//! Runtime-agnostic one-time events: hand one value, or one stop signal, from
//! here to there, on any thread and any executor.
//!
//! - [`oneshot`]: a channel that carries exactly one value, awaitable and
//!   blockable on both ends.
//! - [`cancel`] (feature `std`): [`CancellationToken`], cheap to check,
//!   waitable from threads and tasks, with trees, reasons, deadlines and
//!   callbacks.
//! - [`time`]: timeouts on any executor's timer ([`FutureExt`], [`time::Sleeper`]).
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

mod loom;
#[cfg(feature = "std")]
mod slab;
mod wait;

#[cfg(feature = "std")]
pub mod cancel;
pub mod oneshot;
#[cfg(feature = "std")]
pub mod shutdown;
pub mod time;

#[cfg(feature = "std")]
pub use cancel::CancelReason;
#[cfg(feature = "std")]
pub use cancel::{CancelCallback, CancellationToken, DropGuard};
#[cfg(feature = "std")]
pub use shutdown::Shutdown;
#[cfg(feature = "std")]
pub use time::Cancelled;
pub use time::{Elapsed, FutureExt};
