//! Internal waiting and waking helpers, shared by every primitive.
//!
//! A [`Waiter`] is whoever must be told that something happened: an async task
//! (by its [`Waker`]) or a thread blocked in a ripcord method (by its
//! [`Thread`](std::thread::Thread) handle, which is woken with `unpark`). Both
//! fit in two words, so a waiter slot costs the same as an `Option<Waker>`.
//!
//! The parking functions here are the only place ripcord blocks a thread, so the
//! deadline arithmetic (and its overflow rules) lives in exactly one spot.

use core::task::Waker;

#[cfg(feature = "std")]
use crate::loom::thread;
#[cfg(feature = "std")]
use std::time::{Duration, Instant};

/// Someone to wake: an async task or a parked thread.
pub(crate) enum Waiter {
    /// A task, woken through its waker.
    Task(Waker),
    /// A thread parked in a blocking method, woken with `unpark`.
    #[cfg(feature = "std")]
    Thread(thread::Thread),
}

impl Waiter {
    /// Wakes the waiter, consuming it.
    #[inline]
    pub(crate) fn wake(self) {
        match self {
            Waiter::Task(waker) => waker.wake(),
            #[cfg(feature = "std")]
            Waiter::Thread(thread) => thread.unpark(),
        }
    }
}

/// A waiter about to be registered, borrowed so that nothing is cloned when the
/// registration turns out to be unnecessary.
#[derive(Clone, Copy)]
pub(crate) enum NewWaiter<'a> {
    /// The task polling right now.
    Task(&'a Waker),
    /// The calling thread, about to park.
    #[cfg(feature = "std")]
    Thread,
}

impl NewWaiter<'_> {
    /// Makes the owned waiter to store.
    #[inline]
    pub(crate) fn to_waiter(self) -> Waiter {
        match self {
            NewWaiter::Task(waker) => Waiter::Task(waker.clone()),
            #[cfg(feature = "std")]
            NewWaiter::Thread => Waiter::Thread(thread::current()),
        }
    }

    /// Whether `stored` already wakes this waiter.
    ///
    /// Only compares the waker's two raw pointers ([`Waker::will_wake`]); it never
    /// dereferences them and never touches a stored thread handle. That makes it
    /// usable on a slot that the other side may be moving out of concurrently:
    /// both accesses are reads of memory that stays allocated.
    #[inline]
    pub(crate) fn is_stored_in(self, stored: &Waiter) -> bool {
        match (self, stored) {
            (NewWaiter::Task(new), Waiter::Task(old)) => old.will_wake(new),
            #[cfg(feature = "std")]
            _ => false,
        }
    }
}

/// The instant `timeout` from now, or `None` ("wait forever") when that instant
/// is not representable (for example `Duration::MAX`).
#[cfg(feature = "std")]
#[inline]
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Below this much time left, a timed wait yields instead of parking.
#[cfg(all(feature = "std", not(loom)))]
const SHORT_WAIT: Duration = Duration::from_micros(50);

/// Parks the calling thread until it is unparked, spuriously woken, or the
/// deadline passes (a deadline less than 50 µs away is waited for by yielding
/// the core, since a timed park would overshoot it by the OS timer slack). Returns `false` once the deadline has passed (without
/// parking), `true` otherwise. Callers re-check their condition after every
/// `true`, so spurious wake-ups are harmless.
///
/// Under loom, time does not advance; a deadline is modelled as having expired
/// at the first park, which is exactly the race the timeout paths must survive.
#[cfg(feature = "std")]
#[inline]
pub(crate) fn park_until(deadline: Option<Instant>) -> bool {
    match deadline {
        None => {
            thread::park();
            true
        }
        #[cfg(loom)]
        Some(_) => false,
        #[cfg(not(loom))]
        Some(deadline) => {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let left = deadline - now;
            if left < SHORT_WAIT {
                // A timed park sleeps at least the OS timer slack (tens of
                // microseconds), far past a deadline this close. Yield the core
                // instead; the caller re-checks, and this stops at the deadline.
                std::thread::yield_now();
            } else {
                thread::park_timeout(left);
            }
            true
        }
    }
}
