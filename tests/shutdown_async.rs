//! The async side polled by hand and on the futures executor (Miri-friendly):
//! `track` releases its guard on completion and on drop; `Drain` wakes on the
//! last drop, and a `Drain` dropped mid-wait leaks nothing.
#![cfg(all(feature = "std", not(loom)))]

mod common;

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;

use common::CountingWaker;
use ripcord::oneshot;
use ripcord::shutdown::Shutdown;

#[test]
fn track_holds_a_guard_until_the_future_completes() {
    let shutdown = Shutdown::new();
    let (tx, rx) = oneshot::channel::<u8>();
    let tracked = shutdown.track(rx).unwrap();
    let (counter, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    let mut tracked = pin!(tracked);
    assert!(tracked.as_mut().poll(&mut cx).is_pending());
    assert_eq!(shutdown.active_guards(), 1);
    assert!(tracked.token().is_some());
    tx.send(7).unwrap();
    assert_eq!(counter.wakes(), 1);
    assert_eq!(tracked.as_mut().poll(&mut cx), Poll::Ready(Ok(7)));
    // Released at completion, before the wrapper itself is dropped.
    assert_eq!(shutdown.active_guards(), 0);
    assert!(tracked.token().is_none());
}

#[test]
fn track_releases_its_guard_when_dropped_unfinished() {
    let shutdown = Shutdown::new();
    let (_tx, rx) = oneshot::channel::<u8>();
    let mut tracked = Box::pin(shutdown.track(rx).unwrap());
    let (_counter, waker) = CountingWaker::new();
    assert!(
        tracked
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    shutdown.trigger();
    assert!(!shutdown.is_drained());
    drop(tracked);
    assert!(shutdown.is_drained());
}

#[test]
fn tracked_future_sees_its_token_cancelled_by_trigger() {
    let shutdown = Shutdown::new();
    let token = shutdown.token();
    let tracked = shutdown
        .track(async move {
            token.cancelled().await;
            "stopped"
        })
        .unwrap();
    let s = shutdown.clone();
    let h = thread::spawn(move || s.trigger());
    assert_eq!(futures::executor::block_on(tracked), "stopped");
    h.join().unwrap();
    futures::executor::block_on(shutdown.drained());
}

#[test]
fn drain_is_woken_by_the_last_guard_drop() {
    let shutdown = Shutdown::new();
    let a = shutdown.guard().unwrap();
    let b = shutdown.guard().unwrap();
    let (counter, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    let mut drain = shutdown.drained();
    assert!(Pin::new(&mut drain).poll(&mut cx).is_pending());
    shutdown.trigger();
    assert!(Pin::new(&mut drain).poll(&mut cx).is_pending());
    drop(a);
    assert!(Pin::new(&mut drain).poll(&mut cx).is_pending());
    drop(b);
    assert!(counter.wakes() >= 1);
    assert_eq!(Pin::new(&mut drain).poll(&mut cx), Poll::Ready(()));
    // Polling again after completion is fine.
    assert_eq!(Pin::new(&mut drain).poll(&mut cx), Poll::Ready(()));
}

#[test]
fn drain_is_woken_by_a_trigger_with_no_guards() {
    let shutdown = Shutdown::new();
    let (counter, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    let mut drain = shutdown.drained();
    assert!(Pin::new(&mut drain).poll(&mut cx).is_pending());
    shutdown.trigger();
    assert_eq!(counter.wakes(), 1);
    assert_eq!(Pin::new(&mut drain).poll(&mut cx), Poll::Ready(()));
}

#[test]
fn drain_dropped_mid_wait_leaks_nothing() {
    let shutdown = Shutdown::new();
    let g = shutdown.guard().unwrap();
    let (counter, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    for _ in 0..3 {
        let mut drain = shutdown.drained();
        assert!(Pin::new(&mut drain).poll(&mut cx).is_pending());
        drop(drain);
    }
    // Every registered waker clone went with its `Drain`.
    assert_eq!(Arc::strong_count(&counter), 2, "our Arc and `waker`");
    shutdown.trigger();
    drop(g);
    assert_eq!(counter.wakes(), 0, "dropped drains are not woken");
}

#[test]
fn drain_is_send_and_can_be_awaited_on_another_thread() {
    let shutdown = Shutdown::new();
    let g = shutdown.guard().unwrap();
    let drain = shutdown.drained();
    let h = thread::spawn(move || futures::executor::block_on(drain));
    shutdown.trigger();
    drop(g);
    h.join().unwrap();
}

#[test]
fn many_async_waiters_all_complete() {
    let shutdown = Shutdown::new();
    let g = shutdown.guard().unwrap();
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let d = shutdown.drained();
            thread::spawn(move || futures::executor::block_on(d))
        })
        .collect();
    shutdown.trigger();
    drop(g);
    for w in waiters {
        w.join().unwrap();
    }
}
