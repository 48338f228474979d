//! Graceful shutdown that threads and async tasks share: trigger, drain in
//! ordered phases, force what overstays, report what is still running.
//!
//! Graceful shutdown is two signals: *stop taking new work* (a cancellation)
//! and *all in-flight work has finished* (a wait group). A [`Shutdown`] is
//! both: [`trigger`](Shutdown::trigger) cancels its tokens, and it counts
//! [`ShutdownGuard`]s, one per piece of in-flight work. Its drain is over once
//! it is triggered **and** every guard is dropped. A real service shuts down
//! in order, and each step has its own patience; so a `Shutdown` is one
//! subsystem of a tree:
//!
//! - **Nesting.** [`child`](Shutdown::child) makes a subsystem whose path
//!   (`http/conn 127.0.0.1:5000`) reports show. Triggering a subsystem
//!   triggers its subtree; a subsystem is drained only once its own guards
//!   and all its children are.
//! - **Phases.** [`after`](Shutdown::after) makes a subsystem start shutting
//!   down only once others are drained (close the database after the HTTP
//!   server and the job queue); an order that would wait for itself is
//!   refused ([`PhaseError`]).
//! - **Grace periods.** [`set_grace`](Shutdown::set_grace): when it runs out,
//!   the subsystem's work is told to abort through a second, *hard* token
//!   ([`ShutdownGuard::hard_token`], cancelled with
//!   [`CancelReason::DeadlineExceeded`](crate::CancelReason::DeadlineExceeded)),
//!   and the report marks it forced. [`force`](Shutdown::force) does the same
//!   at once (a second Ctrl-C).
//! - **Failures.** A guard's [`fail`](ShutdownGuard::fail), an `Err` from a
//!   [`track_result`](Shutdown::track_result) future, a panic in a tracked
//!   future or under a guard: recorded with its message, and by default the
//!   whole tree shuts down ([`OnFailure`]). A panic never holds up the drain.
//! - **Reports.** [`report`](Shutdown::report) (and a timed-out
//!   [`wait_timeout`](Shutdown::wait_timeout)) gives a [`DrainReport`]: per
//!   subsystem, running, waiting for its phase, draining, drained, forced or
//!   stuck, with the guards still alive (names, ages, call sites) and the
//!   failures. Its text is meant for a log.
//!
//! Nothing here is tied to a runtime: guards are plain values, [`track`]
//! wraps any future, the grace timers need no runtime, and the drain can be
//! awaited on any executor or waited for from a thread.
//!
//! # The pattern
//!
//! ```
//! use ripcord::shutdown::Shutdown;
//! use std::time::Duration;
//!
//! let root = Shutdown::new();
//! let http = root.child("http");
//! let writer = root.child("writer");
//! writer.after(&[&http]).unwrap(); // flush only once every request is done
//! http.set_grace(Duration::from_secs(5));
//!
//! for id in 0..3 {
//!     let request = http.guard_named(format!("request {id}")).unwrap();
//!     std::thread::spawn(move || {
//!         while !request.token().is_cancelled() {
//!             std::thread::sleep(Duration::from_millis(1)); // one unit of work
//!         }
//!         // `request` drops here: this request is drained.
//!     });
//! }
//! let flush = writer.guard_named("flush").unwrap();
//! std::thread::spawn(move || {
//!     flush.token().wait(); // cancelled only once http is drained
//!     // ... write the buffers out ...
//! });
//!
//! root.trigger();
//! if let Err(report) = root.wait_timeout(Duration::from_secs(10)) {
//!     eprintln!("{report}"); // what is stuck, where, for how long
//! }
//! assert!(root.is_drained());
//! ```
//!
//! Signals: with feature `signal`, [`Shutdown::trigger_on_signals`] triggers
//! on SIGINT/SIGTERM/SIGHUP (Ctrl-C/Ctrl-Break on Windows) and forces on a
//! second one, without a runtime. Or call [`trigger`](Shutdown::trigger) from
//! whatever handles them (tokio's `signal::ctrl_c`, the `async-signal`
//! crate); see `examples/graceful_shutdown.rs` and
//! `examples/smol_shutdown.rs`. With feature `tracing`, the trigger, each
//! subsystem's start and drain, forced aborts (with their stragglers) and
//! failures become `tracing` events (target `ripcord::shutdown`).
//!
//! `demos/http-service` in the repository is a complete axum service shut
//! down in four phases, with an integration test over loopback.
//!
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
