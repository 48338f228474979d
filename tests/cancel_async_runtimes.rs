//! The token's async API on every supported executor: the same scenarios,
//! written once as async functions, run on each runtime.
#![cfg(feature = "std")]
#![cfg(not(miri))] // real runtimes need real I/O drivers and clocks

#[macro_use]
mod common;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};
use std::thread;
use std::time::Duration;

use ripcord::{CancelReason, CancellationToken};

/// `cancelled().await` returns once another thread cancels an ancestor.
async fn cancelled_resolves_when_a_thread_cancels_the_root() {
    let root = CancellationToken::new();
    let leaf = root.child_token().child_token();
    let r = root.clone();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        r.cancel_with(CancelReason::custom("from a thread"));
    });
    leaf.cancelled().await;
    assert_eq!(leaf.reason().unwrap().to_string(), "from a thread");
    h.join().unwrap();
}

/// `cancelled().await` on an already-cancelled token is immediate.
async fn cancelled_on_a_cancelled_token_is_ready() {
    let t = CancellationToken::new();
    t.cancel();
    t.cancelled().await;
    t.clone().cancelled_owned().await;
}

/// `cancelled_owned` can be moved to a plain thread and awaited there.
async fn cancelled_owned_is_static_and_send() {
    let t = CancellationToken::new();
    let fut = t.clone().cancelled_owned();
    let h = thread::spawn(move || futures::executor::block_on(fut));
    t.cancel();
    h.join().unwrap();
}

/// `run_until_cancelled` returns the output, or the reason.
async fn run_until_cancelled_returns_output_or_reason() {
    let t = CancellationToken::new();
    assert_eq!(t.run_until_cancelled(async { 5 }).await, Ok(5));
    let c = t.clone();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        c.cancel_with(CancelReason::DeadlineExceeded);
    });
    let err = t
        .run_until_cancelled(std::future::pending::<()>())
        .await
        .unwrap_err();
    assert_eq!(err.reason(), &CancelReason::DeadlineExceeded);
    h.join().unwrap();
    // A cancelled token never starts the work.
    let mut started = false;
    let r = t.run_until_cancelled(async { started = true }).await;
    assert!(r.is_err());
    assert!(!started);
}

/// A deadline fires with no help from the runtime.
async fn deadline_wakes_an_awaiting_task() {
    let t = CancellationToken::new();
    let child = t.child_token();
    t.cancel_after(Duration::from_millis(5));
    child.cancelled().await;
    assert_eq!(child.reason(), Some(CancelReason::DeadlineExceeded));
}

/// Many tasks on one token are all woken by one cancel.
async fn one_cancel_wakes_every_waiting_future() {
    let t = CancellationToken::new();
    let futs: Vec<_> = (0..16).map(|_| t.child_token().cancelled_owned()).collect();
    let c = t.clone();
    let h = thread::spawn(move || c.cancel());
    futures::future::join_all(futs).await;
    h.join().unwrap();
}

/// Re-creating `cancelled()` in a select loop, then dropping it, keeps the
/// waiter list from growing: after the loop, the cancel still wakes and the
/// dropped futures are not in the way.
async fn dropped_cancelled_futures_deregister() {
    let t = CancellationToken::new();
    {
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..1000 {
            let mut fut = pin!(t.cancelled());
            assert!(fut.as_mut().poll(&mut cx).is_pending());
        }
    }
    let c = t.clone();
    let h = thread::spawn(move || c.cancel());
    t.cancelled().await;
    h.join().unwrap();
}

on_every_runtime!(
    cancelled_resolves_when_a_thread_cancels_the_root,
    cancelled_on_a_cancelled_token_is_ready,
    cancelled_owned_is_static_and_send,
    run_until_cancelled_returns_output_or_reason,
    deadline_wakes_an_awaiting_task,
    one_cancel_wakes_every_waiting_future,
    dropped_cancelled_futures_deregister,
);

#[test]
fn tokio_select_loop_with_cancelled_keeps_working() {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let t = CancellationToken::new();
            let c = t.clone();
            let mut ticks = 0u32;
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                c.cancel();
            });
            loop {
                tokio::select! {
                    _ = t.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_micros(100)) => ticks += 1,
                }
            }
            assert!(ticks > 0);
        });
}
