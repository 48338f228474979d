//! loom models of the waiting core (`src/wait/`): registration racing a
//! notification, a registered waiter dropped while it is notified, and a wake
//! that re-enters the primitive that woke it.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release --test loom_wait`.
//! Under `--cfg loom` every lock, atomic and park of the core comes from loom
//! (through `crate::loom`), so each model explores every interleaving of the
//! register / take-all / wake steps. The adaptive hand-off phase is a plain
//! re-check under loom, and a timed wait expires at its first park.
#![cfg(loom)]

mod loom_support;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use loom::sync::Mutex;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use loom_support::{counting, model};
use ripcord::CancellationToken;
use ripcord::shutdown::Shutdown;

#[test]
fn registration_racing_cancel_is_woken_or_sees_cancelled() {
    model(|| {
        let token = CancellationToken::new();
        let t = token.clone();
        let canceller = thread::spawn(move || t.cancel());
        let (count, waker) = counting();
        let mut fut = Box::pin(token.cancelled());
        let first = fut.as_mut().poll(&mut Context::from_waker(&waker));
        canceller.join().unwrap();
        if first.is_pending() {
            // Registered before the cancel: it must have been woken.
            assert_eq!(count.0.load(Ordering::SeqCst), 1);
            assert!(
                fut.as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_ready()
            );
        }
    });
}

#[test]
fn dropping_a_registered_future_racing_cancel_is_safe() {
    model(|| {
        let token = CancellationToken::new();
        let (count, waker) = counting();
        let mut fut = Box::pin(token.clone().cancelled_owned());
        assert!(
            fut.as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        let dropper = thread::spawn(move || drop(fut));
        token.cancel();
        dropper.join().unwrap();
        // Woken at most once, and the waker is not kept by anyone.
        assert!(count.0.load(Ordering::SeqCst) <= 1);
        assert_eq!(Arc::strong_count(&count), 2); // `count` and `waker`
    });
}

#[test]
fn drain_registration_racing_the_last_guard_drop_is_woken() {
    model(|| {
        let shutdown = Shutdown::new();
        let guard = shutdown.guard().unwrap();
        shutdown.trigger();
        let dropper = thread::spawn(move || drop(guard));
        let (count, waker) = counting();
        let mut drain = shutdown.drained();
        let first = Pin::new(&mut drain).poll(&mut Context::from_waker(&waker));
        dropper.join().unwrap();
        if first.is_pending() {
            assert_eq!(count.0.load(Ordering::SeqCst), 1);
        }
        assert!(
            Pin::new(&mut drain)
                .poll(&mut Context::from_waker(&waker))
                .is_ready()
        );
    });
}

/// A waker whose `wake` drops the very future it was registered by, then
/// cancels the token again: re-entrant user code.
struct DropsItsFuture {
    slot: Mutex<Option<Pin<Box<ripcord::cancel::CancelledOwned>>>>,
    token: CancellationToken,
    wakes: AtomicUsize,
}

impl Wake for DropsItsFuture {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        let fut = self.slot.lock().unwrap().take();
        drop(fut);
        self.token.cancel();
    }
}

#[test]
fn a_wake_that_drops_its_future_and_cancels_again_does_not_deadlock() {
    model(|| {
        let token = CancellationToken::new();
        let waker = Arc::new(DropsItsFuture {
            slot: Mutex::new(None),
            token: token.clone(),
            wakes: AtomicUsize::new(0),
        });
        let mut fut = Box::pin(token.clone().cancelled_owned());
        let w = Waker::from(waker.clone());
        assert!(fut.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
        *waker.slot.lock().unwrap() = Some(fut);
        let t = token.clone();
        let canceller = thread::spawn(move || t.cancel());
        token.cancel();
        canceller.join().unwrap();
        assert_eq!(waker.wakes.load(Ordering::SeqCst), 1);
        assert!(waker.slot.lock().unwrap().is_none());
    });
}

#[test]
fn a_blocked_thread_and_a_task_are_both_woken_by_one_cancel() {
    model(|| {
        let token = CancellationToken::new();
        let t = token.clone();
        let blocked = thread::spawn(move || t.wait());
        let (count, waker) = counting();
        let mut fut = Box::pin(token.cancelled());
        let first = fut.as_mut().poll(&mut Context::from_waker(&waker));
        token.cancel();
        blocked.join().unwrap();
        if first.is_pending() {
            assert_eq!(count.0.load(Ordering::SeqCst), 1);
        }
    });
}
