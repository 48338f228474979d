//! Promise behaviour from async code, on every executor, and with threads
//! and tasks of several runtimes waiting on one promise.
#![cfg(all(feature = "std", not(loom)))]
#![cfg(not(miri))] // real runtimes need real I/O drivers and clocks

#[macro_use]
mod common;

use std::future::IntoFuture;
use std::thread;
use std::time::Duration;

use futures::future::join_all;
use ripcord::promise::{self, Abandoned};

async fn tasks_await_a_value_resolved_by_a_thread() {
    let (resolver, promise) = promise::channel::<String>();
    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(2));
        resolver.resolve("value".to_string()).unwrap();
    });
    let borrowed = promise.resolved();
    let owned = promise.clone().into_future();
    let (a, b) = futures::join!(borrowed, owned);
    assert_eq!(a.map(String::as_str), Ok("value"));
    assert_eq!(b.as_deref(), Ok("value"));
    writer.join().unwrap();
}

async fn tasks_are_told_when_every_resolver_is_gone() {
    let (resolver, promise) = promise::channel::<u8>();
    let extra = resolver.clone();
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(2));
        drop(resolver);
        drop(extra);
    });
    let answers = join_all((0..4).map(|_| promise.clone().into_future())).await;
    assert!(answers.iter().all(|a| *a == Err(Abandoned::new())));
    dropper.join().unwrap();
}

async fn a_resolver_task_learns_that_nobody_wants_the_value() {
    let (resolver, promise) = promise::channel::<u8>();
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(2));
        drop(promise);
    });
    resolver.closed().await;
    assert!(resolver.is_closed());
    dropper.join().unwrap();
}

async fn a_task_resolves_for_blocked_threads() {
    let (resolver, promise) = promise::channel::<u32>();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let p = promise.clone();
            thread::spawn(move || p.wait_timeout(Duration::from_secs(30)).copied())
        })
        .collect();
    resolver.resolve(11).unwrap();
    for w in waiters {
        assert_eq!(w.join().unwrap(), Ok(11));
    }
}

on_every_runtime!(
    tasks_await_a_value_resolved_by_a_thread,
    tasks_are_told_when_every_resolver_is_gone,
    a_resolver_task_learns_that_nobody_wants_the_value,
    a_task_resolves_for_blocked_threads,
);

/// Threads, tokio tasks, smol tasks and a futures thread pool all wait on
/// one promise; one resolve answers them all.
#[test]
fn mixed_waiters_on_several_runtimes_all_get_the_value() {
    let (resolver, promise) = promise::channel::<String>();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let tokio_tasks: Vec<_> = (0..3)
        .map(|_| rt.spawn(promise.clone().into_future()))
        .collect();
    let smol_tasks: Vec<_> = (0..3)
        .map(|_| smol::spawn(promise.clone().into_future()))
        .collect();
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let p = promise.clone();
            thread::spawn(move || p.wait().cloned())
        })
        .collect();
    let pool = futures::executor::ThreadPool::new().unwrap();
    let (tx, pooled) = ripcord::oneshot::channel();
    let p = promise.clone();
    pool.spawn_ok(async move {
        let _ = tx.send(p.resolved().await.cloned());
    });
    thread::sleep(Duration::from_millis(5));
    resolver.resolve("shared".to_string()).unwrap();
    for t in tokio_tasks {
        assert_eq!(rt.block_on(t).unwrap().as_deref(), Ok("shared"));
    }
    for t in smol_tasks {
        assert_eq!(smol::block_on(t).as_deref(), Ok("shared"));
    }
    for t in threads {
        assert_eq!(t.join().unwrap().as_deref(), Ok("shared"));
    }
    assert_eq!(pooled.recv().unwrap().as_deref(), Ok("shared"));
}

/// `tokio::spawn(promise.into_future())`: the owned future is `'static + Send`.
#[test]
fn a_promise_can_be_spawned_as_it_is() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (resolver, promise) = promise::channel::<Vec<u8>>();
    let task = rt.spawn(promise.into_future());
    resolver.resolve(vec![7]).unwrap();
    assert_eq!(rt.block_on(task).unwrap(), Ok(vec![7]));
}

/// A timeout from the application's own timer composes with `resolved()`.
#[test]
fn resolved_takes_any_runtimes_timeout() {
    use ripcord::FutureExt as _;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (resolver, promise) = promise::channel::<u8>();
    rt.block_on(async {
        let sleeper = |d| tokio::time::sleep(d);
        let timed_out = promise
            .resolved()
            .timeout(&sleeper, Duration::from_millis(5))
            .await;
        assert!(timed_out.is_err());
        resolver.resolve(1).unwrap();
        let got = promise
            .resolved()
            .timeout(&sleeper, Duration::from_secs(5))
            .await;
        assert_eq!(got, Ok(Ok(&1)));
    });
}
