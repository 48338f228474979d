//! Graceful shutdown that threads and async tasks share: trigger, drain,
//! report stragglers.
//!
//! Graceful shutdown is two signals: *stop taking new work* (a cancellation)
//! and *all in-flight work has finished* (a wait group). A [`Shutdown`] is
//! both: it owns a root [`CancellationToken`] that [`trigger`](Shutdown::trigger)
//! cancels, and it counts [`ShutdownGuard`]s, one per piece of in-flight work.
//! The drain is over once shutdown is triggered **and** every guard is
//! dropped. When it takes too long, the timeout forms tell you what is still
//! running: the [`DrainReport`] lists every named guard still alive, with its
//! age.
//!
//! Nothing here is tied to a runtime: guards are plain values, [`track`]
//! wraps any future, and the drain can be awaited on any executor or waited
//! for from a thread.
//!
//! # The pattern
//!
//! ```
//! use ripcord::shutdown::Shutdown;
//! use std::time::Duration;
//!
//! let shutdown = Shutdown::new();
//! for id in 0..3 {
//!     let guard = shutdown.guard_named(format!("worker {id}")).unwrap();
//!     std::thread::spawn(move || {
//!         while !guard.token().is_cancelled() {
//!             std::thread::sleep(Duration::from_millis(1)); // one unit of work
//!         }
//!         // `guard` drops here: this worker is drained.
//!     });
//! }
//! shutdown.trigger();
//! shutdown.wait_timeout(Duration::from_secs(10)).expect("every worker stopped");
//! ```
//!
//! Signals (Ctrl-C, SIGTERM) are not this module's job: call
//! [`trigger`](Shutdown::trigger) from whatever handles them (tokio's
//! `signal::ctrl_c`, the `async-signal`, `ctrlc` or `signal-hook` crates); see
//! `examples/graceful_shutdown.rs` and `examples/smol_shutdown.rs`.
//!
//! [`CancellationToken`]: crate::CancellationToken
//! [`track`]: Shutdown::track

mod count;
mod error;
mod failure;
mod guard;
mod path;
mod report;
#[allow(clippy::module_inception)]
mod shutdown;
#[cfg(feature = "signal")]
mod signal;
mod trace;
mod tree;

pub use error::{AlreadyDrained, PhaseError};
pub use failure::{Failure, FailureKind, FailureReason, OnFailure};
pub use guard::{ShutdownGuard, Tracked};
pub use report::{DrainReport, Straggler, SubsystemReport, SubsystemStatus};
pub use shutdown::{Drain, Shutdown};
#[cfg(feature = "signal")]
pub use signal::SignalError;
