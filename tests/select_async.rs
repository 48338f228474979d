//! `Select::ready` from async code, on every executor.
#![cfg(all(feature = "std", not(loom)))]
#![cfg(not(miri))] // real runtimes need real I/O drivers and clocks

#[macro_use]
mod common;

use std::thread;
use std::time::Duration;

use ripcord::select::Select;
use ripcord::{CancellationToken, Shutdown, oneshot, promise};

fn later(f: impl FnOnce() + Send + 'static) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(2));
        f();
    })
}

async fn a_task_waits_for_a_value_or_a_cancellation() {
    let token = CancellationToken::new();
    let (tx, mut rx) = oneshot::channel::<u8>();
    let h = later(move || tx.send(5).unwrap());
    let mut sel = Select::new();
    let stop = sel.cancelled(&token);
    let value = sel.recv(&mut rx);
    let ready = sel.ready().await;
    assert_ne!(ready, stop);
    assert_eq!(ready, value);
    drop(sel);
    assert_eq!(rx.try_recv(), Ok(5));
    h.join().unwrap();
}

async fn a_task_waits_for_a_promise_or_a_drain() {
    let shutdown = Shutdown::new();
    let (resolver, promise) = promise::channel::<u8>();
    let s = shutdown.clone();
    let h = later(move || s.trigger());
    let mut sel = Select::new();
    let drained = sel.drained(&shutdown);
    sel.resolved(&promise);
    assert_eq!(sel.ready().await, drained);
    h.join().unwrap();
    drop(resolver);
}

async fn a_task_learns_that_the_receiver_is_gone() {
    let (mut tx, rx) = oneshot::channel::<u8>();
    let h = later(move || drop(rx));
    let mut sel = Select::new();
    sel.closed(&mut tx);
    assert_eq!(sel.ready().await, 0);
    h.join().unwrap();
}

async fn a_dropped_ready_future_leaves_the_events_usable() {
    use futures::FutureExt as _;
    let token = CancellationToken::new();
    let (tx, mut rx) = oneshot::channel::<u8>();
    {
        let mut sel = Select::new();
        sel.cancelled(&token);
        sel.recv(&mut rx);
        assert_eq!(
            sel.ready().now_or_never(),
            None,
            "nothing ready: pending, then dropped"
        );
    }
    tx.send(9).unwrap();
    assert_eq!((&mut rx).await, Ok(9));
}

on_every_runtime!(
    a_task_waits_for_a_value_or_a_cancellation,
    a_task_waits_for_a_promise_or_a_drain,
    a_task_learns_that_the_receiver_is_gone,
    a_dropped_ready_future_leaves_the_events_usable,
);

/// `futures::select!` takes the `Ready` future without `.fuse()`.
#[test]
fn ready_is_fused_for_select_macros() {
    futures::executor::block_on(async {
        let token = CancellationToken::new();
        token.cancel();
        let mut sel = Select::new();
        sel.cancelled(&token);
        let mut ready = sel.ready();
        let mut never = futures::future::pending::<()>();
        futures::select! {
            i = ready => assert_eq!(i, 0),
            _ = never => unreachable!(),
        }
    });
}
