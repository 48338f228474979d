//! loom models of waiting on several events at once (`wait/set.rs`, used by
//! `Select` and `recv_or_cancelled`).
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release --test loom_select`.
#![cfg(loom)]

mod loom_support;

use std::future::Future;
use std::task::{Context, Poll};

use loom::sync::atomic::Ordering;
use loom::thread;
use loom_support::{Helpers, counting, model};
use ripcord::select::Select;
use ripcord::{CancellationToken, oneshot};

/// A token and a receiver, with one helper thread cancelling the token and
/// another sending `value`, both already started.
fn cancel_and_send(value: u8) -> (CancellationToken, oneshot::Receiver<u8>, Helpers) {
    let token = CancellationToken::new();
    let (tx, rx) = oneshot::channel::<u8>();
    let mut helpers = Helpers::default();
    let t = token.clone();
    helpers.spawn(move || t.cancel());
    helpers.spawn(move || tx.send(value).unwrap());
    (token, rx, helpers)
}

#[test]
fn two_events_firing_while_a_thread_registers_wake_it() {
    model(|| {
        let (token, mut rx, helpers) = cancel_and_send(1);
        {
            let mut sel = Select::new();
            sel.cancelled(&token);
            sel.recv(&mut rx);
            let ready = sel.wait();
            assert!(ready < 2);
        }
        helpers.await_all();
        assert_eq!(rx.try_recv(), Ok(1), "nothing was consumed");
    });
}

#[test]
fn two_events_firing_while_a_task_registers_wake_it() {
    model(|| {
        let a = CancellationToken::new();
        let b = CancellationToken::new();
        let (ta, tb) = (a.clone(), b.clone());
        let first = thread::spawn(move || ta.cancel());
        let second = thread::spawn(move || tb.cancel());
        let (count, waker) = counting();
        let mut sel = Select::new();
        sel.cancelled(&a);
        sel.cancelled(&b);
        let mut fut = Box::pin(sel.ready());
        let polled = fut.as_mut().poll(&mut Context::from_waker(&waker));
        first.join().unwrap();
        second.join().unwrap();
        if polled.is_pending() {
            assert!(count.0.load(Ordering::SeqCst) >= 1, "registered: woken");
        }
        match fut.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(i) => assert!(i < 2),
            Poll::Pending => panic!("both fired"),
        }
    });
}

#[test]
fn an_event_firing_while_the_waiter_withdraws_after_another_fired() {
    model(|| {
        let a = CancellationToken::new();
        let b = CancellationToken::new();
        a.cancel();
        let tb = b.clone();
        let late = thread::spawn(move || tb.cancel());
        let (count, waker) = counting();
        {
            let mut sel = Select::new();
            sel.cancelled(&b);
            sel.cancelled(&a);
            // `a` is ready: the listen of `b` (maybe racing its cancel) is
            // withdrawn at once, or `b` wins.
            let mut fut = Box::pin(sel.ready());
            match fut.as_mut().poll(&mut Context::from_waker(&waker)) {
                Poll::Ready(i) => assert!(i < 2),
                Poll::Pending => panic!("`a` was already cancelled"),
            }
        }
        late.join().unwrap();
        // Nothing dangles: a woken-after-withdrawal waker is at most a
        // spurious wake-up, never a crash, and a new wait answers at once.
        assert!(count.0.load(Ordering::SeqCst) <= 1);
        let mut sel = Select::new();
        sel.cancelled(&b);
        assert_eq!(sel.try_ready(), Some(0));
    });
}

#[test]
fn recv_or_cancelled_racing_a_send_and_a_cancel_loses_nothing() {
    model(|| {
        let (token, mut rx, helpers) = cancel_and_send(4);
        let first = rx.recv_or_cancelled(&token);
        helpers.await_all();
        match first {
            Ok(v) => assert_eq!(v, 4),
            Err(err) => {
                assert!(err.is_cancelled());
                assert_eq!(rx.try_recv(), Ok(4), "the value is still there");
            }
        }
    });
}

/// A waker whose `clone` number `panic_at` (counting from 0) panics, and
/// which counts the clones still alive. Plain std atomics: they only count,
/// loom need not model them.
mod flaky {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{RawWaker, RawWakerVTable, Waker};

    pub struct State {
        pub live: AtomicUsize,
        clones: AtomicUsize,
        panic_at: usize,
    }

    /// The payload of the injected panic.
    pub struct Injected;

    pub fn waker(panic_at: usize) -> (Arc<State>, Waker) {
        let state = Arc::new(State {
            live: AtomicUsize::new(1),
            clones: AtomicUsize::new(0),
            panic_at,
        });
        let data = Arc::into_raw(state.clone()).cast::<()>();
        // SAFETY: the vtable treats `data` as one strong count of the `Arc`.
        (state, unsafe {
            Waker::from_raw(RawWaker::new(data, &VTABLE))
        })
    }

    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

    unsafe fn clone(data: *const ()) -> RawWaker {
        // SAFETY: a live waker's data.
        let state = unsafe { &*data.cast::<State>() };
        if state.clones.fetch_add(1, Ordering::SeqCst) == state.panic_at {
            std::panic::panic_any(Injected);
        }
        state.live.fetch_add(1, Ordering::SeqCst);
        // SAFETY: one more strong count for the new waker.
        unsafe { Arc::increment_strong_count(data.cast::<State>()) };
        RawWaker::new(data, &VTABLE)
    }

    unsafe fn wake(data: *const ()) {
        // SAFETY: consumes this waker's count.
        unsafe { drop_waker(data) }
    }

    unsafe fn wake_by_ref(_data: *const ()) {}

    unsafe fn drop_waker(data: *const ()) {
        // SAFETY: this waker's count.
        let state = unsafe { Arc::from_raw(data.cast::<State>()) };
        state.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Registration as a transaction (issue 20, defect 2) while a notifier
/// races it: the set's second `clone` panics while another thread cancels
/// the second token. Either the panic reaches the poller with nothing left
/// registered, or the poll answers the cancelled token; in both cases no
/// clone of the waker outlives the future.
#[test]
fn a_registration_that_panics_midway_rolls_back_while_a_notifier_fires() {
    model(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let (a, b) = (CancellationToken::new(), CancellationToken::new());
        let mut helpers = Helpers::default();
        let t = b.clone();
        helpers.spawn(move || t.cancel());
        let (state, waker) = flaky::waker(1);
        {
            let mut sel = Select::new();
            sel.cancelled(&a);
            sel.cancelled(&b);
            let mut fut = Box::pin(sel.ready());
            let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                fut.as_mut().poll(&mut Context::from_waker(&waker))
            }));
            match polled {
                Ok(poll) => assert_eq!(poll, Poll::Ready(1)),
                Err(payload) => assert!(payload.is::<flaky::Injected>()),
            }
            assert_eq!(
                state.live.load(std::sync::atomic::Ordering::SeqCst),
                1,
                "a registration survived"
            );
        }
        helpers.await_all();
        drop(waker);
        assert_eq!(state.live.load(std::sync::atomic::Ordering::SeqCst), 0);
        std::panic::set_hook(previous);
    });
}
