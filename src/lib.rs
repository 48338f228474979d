//! Runtime-agnostic one-time events: hand one value, or one stop signal, from
//! here to there, on any thread and any executor.
//!
//! - [`oneshot`]: a channel that carries exactly one value, awaitable and
//!   blockable on both ends.
//! - [`cancel`] (feature `std`): [`CancellationToken`], cheap to check,
//!   waitable from threads and tasks, with trees, reasons, deadlines and
//!   callbacks.
//! - [`time`]: timeouts on any executor's timer ([`FutureExt`], [`time::Sleeper`]).
//! - [`promise`] (feature `std`): [`Promise`] and [`Resolver`], one value for
//!   any number of waiters, threads and tasks alike, with an error instead of
//!   a hang when every writer is gone.
//! - [`select`] (feature `std`): wait for whichever of several one-time events
//!   comes first (a value, a cancellation, a promise, a drain) or a deadline,
//!   from a thread or a task.
//! - [`shutdown`] (feature `std`): [`Shutdown`], graceful shutdown shared by
//!   threads and tasks: trigger, drain, and a report of what is still running.
//!
//! # The one pattern: check, listen, check again, wait
//!
//! Every waiting method in ripcord follows the same protocol internally, and
//! code that builds its own waiting on top of ripcord should too:
//!
//! 1. **check** the condition (one atomic load: the fast path);
//! 2. **listen**: register the waiter (a task's waker, or the thread);
//! 3. **check again**, because the event may have happened between 1 and 2;
//! 4. **wait** (return `Pending`, or park) only if it still has not.
//!
//! Skipping step 3 loses wake-ups; skipping step 1 makes the fast path slow.
//! Inside ripcord this loop exists exactly once (the internal waiting core),
//! and every primitive waits through it.
//!
//! # Panics and re-entrancy
//!
//! ripcord runs user code — a [`Waker`](core::task::Waker)'s `wake`, `clone`
//! and `drop`, an [`on_cancel`](CancellationToken::on_cancel) callback, the
//! `Drop` of a sent value, of a [`CancelReason`]'s value or of what a callback
//! captured — and promises, for every primitive:
//!
//! 1. **Transitions first.** The state change (value sent, channel closed,
//!    token and its whole subtree cancelled, shutdown triggered, drain over)
//!    is complete and visible before any user code it causes runs. Inside a
//!    waker or callback, `is_cancelled()` and `is_triggered()` are already
//!    `true`.
//! 2. **A panic stops nothing else.** If user code panics, every other waiter
//!    is still woken and every other callback still runs; then the first
//!    panic is re-raised to the caller (of `cancel`, `trigger`, `send`, a
//!    drop). Nothing is left locked, poisoned, half-cancelled or leaked, and
//!    calling again (`cancel`, `trigger`) returns normally.
//! 3. **Re-entrancy is safe.** User code never runs under a ripcord lock, so
//!    a waker or callback may drop its own future, drop handles, cancel,
//!    register, or wait on an already finished event without deadlocking.
//! 4. **Deadlines are not held up.** Callbacks and task wakers of tokens
//!    cancelled by a deadline ([`CancellationToken::cancel_at`]) run on helper
//!    threads, so a slow callback delays no other token's deadline.
//!
//! # Features
//!
//! - `std` (default): blocking methods, and everything that needs the OS.
//!   Without it the crate is `#![no_std]` (with `alloc`) and offers the oneshot
//!   channel's non-blocking and async API, plus [`FutureExt::timeout_with`].
//! - `tokio`, `async-io`, `async-std`, `futures-timer` (off by default): a
//!   zero-sized [`time::Sleeper`] for that runtime's timer.
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;

mod error;
mod loom;
#[cfg(feature = "std")]
mod slab;
mod wait;

#[cfg(feature = "std")]
pub mod cancel;
pub mod oneshot;
#[cfg(feature = "std")]
pub mod promise;
#[cfg(feature = "std")]
pub mod select;
#[cfg(feature = "std")]
pub mod shutdown;
pub mod time;

#[cfg(feature = "std")]
pub use cancel::{
    CallbackGuard, CancelCallback, CancelReason, CancellationToken, CancelledError, DropGuard,
};
pub use error::Elapsed;
#[cfg(feature = "std")]
pub use promise::{Promise, Resolver};
#[cfg(feature = "std")]
pub use shutdown::Shutdown;
pub use time::FutureExt;
