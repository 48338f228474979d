//! Whom to wake.
//!
//! A [`Waiter`] is whoever must be told that something happened: an async task
//! (by its [`Waker`]) or a thread blocked in a ripcord method (by its
//! [`Thread`](std::thread::Thread) handle, which is woken with `unpark`). Both
//! fit in two words, so a waiter slot costs the same as an `Option<Waker>`.

use core::task::Waker;

#[cfg(feature = "std")]
use crate::loom::thread;

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
