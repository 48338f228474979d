//! Cancellation tokens: cheap to check, waitable from threads and tasks,
//! arranged in trees, with reasons, deadlines and callbacks.
//!
//! - [`CancellationToken`]: the token; [`is_cancelled`](CancellationToken::is_cancelled)
//!   is one atomic load.
//! - [`CancelReason`]: why it was cancelled (explicit, deadline, or a value of
//!   yours).
//! - [`Cancelled`] / [`CancelledOwned`]: the futures that wait for it, named
//!   after the methods that return them.
//! - [`CancelledError`]: the error of work stopped by a token, with its reason.
//! - [`CancelCallback`] / [`CallbackGuard`]: handles of `on_cancel` and
//!   `on_cancel_scoped` callbacks.
//! - [`DropGuard`]: cancels on drop.
//!
//! Waiting (async or blocking) goes through the crate's one waiting core: a
//! cancellation wakes tasks and parked threads alike, after the whole
//! cancelled subtree is published and outside every lock. Deadlines need no
//! async runtime: see [`CancellationToken::cancel_at`].
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use ripcord::{CancelReason, CancellationToken};
//!
//! let root = CancellationToken::new();
//! let request = root.child_token();
//! request.cancel_after(Duration::from_secs(30));
//! let blocking = request.child_token();
//! let worker = std::thread::spawn(move || {
//!     blocking.wait();
//!     blocking.reason().unwrap()
//! });
//! root.cancel_with(CancelReason::custom("shutdown"));
//! assert_eq!(worker.join().unwrap().to_string(), "shutdown");
//! ```

mod callback;
mod dispatch;
mod error;
mod future;
mod guard;
mod node;
mod reason;
mod timer;
mod token;

pub use callback::{CallbackGuard, CancelCallback};
pub use error::CancelledError;
pub use future::{Cancelled, CancelledOwned, RunUntilCancelled, RunUntilCancelledOwned};
pub use guard::DropGuard;
pub(crate) use node::Deferred;
pub use reason::{CancelReason, CustomReason};
pub use token::CancellationToken;
