//! Promises: one value, any number of waiters — threads and tasks alike,
//! blocking with deadlines or async, on any executor.
//!
//! [`channel`] makes one heap allocation shared by a [`Resolver`] (the
//! writing end; clone it to let several writers race, the first
//! [`resolve`](Resolver::resolve) wins) and a [`Promise`] (the reading end;
//! clone it for every waiter). Once resolved, every clone reads the same
//! value with one atomic load ([`Promise::get`]). If every resolver is dropped
//! without resolving, every waiter gets [`Abandoned`] instead of hanging; if
//! every promise is dropped, the resolvers can tell
//! ([`Resolver::is_closed`], [`Resolver::closed`]) and stop working.
//!
//! | wait for the value | from a thread | from a task |
//! |---|---|---|
//! | until it comes | [`Promise::wait`] | [`Promise::resolved`], or `.await` on a (cloned) promise |
//! | at most a `Duration` | [`Promise::wait_timeout`] | `.timeout(&sleeper, d)` ([`FutureExt`](crate::FutureExt)) |
//! | until an `Instant` | [`Promise::wait_deadline`] | `.timeout_at(&sleeper, t)` |
//!
//! The state machine (its bits, transitions and invariants) is documented as
//! a table in the source of `promise/state.rs`; all waiting goes through the
//! crate's one waiting core.
//!
//! # Example
//!
//! A configuration loaded once by one thread, awaited by tasks and waited for
//! by threads with a timeout:
//!
//! ```
//! use std::future::IntoFuture;
//! use std::time::Duration;
//! use ripcord::promise;
//!
//! let (loaded, config) = promise::channel::<String>();
//!
//! // Threads wait with a timeout...
//! let thread_reader = {
//!     let config = config.clone();
//!     std::thread::spawn(move || config.wait_timeout(Duration::from_secs(5)).cloned())
//! };
//! // ...tasks await (on any executor).
//! let rt = tokio::runtime::Runtime::new().unwrap();
//! let task_reader = rt.spawn(config.clone().into_future()); // owned, `'static`: a `String`
//!
//! // One thread loads it.
//! std::thread::spawn(move || loaded.resolve("workers = 8".to_string()).unwrap());
//!
//! assert_eq!(thread_reader.join().unwrap().unwrap(), "workers = 8");
//! assert_eq!(rt.block_on(task_reader).unwrap().unwrap(), "workers = 8");
//! assert_eq!(config.get().unwrap(), "workers = 8");
//! ```

mod error;
#[allow(clippy::module_inception)]
mod promise;
mod resolver;
mod state;

pub use error::{Abandoned, TryGetError, WaitError};
pub use promise::{Promise, Resolved, ResolvedOwned};
pub use resolver::{PromisesClosed, Resolver};

/// Makes a promise: the [`Resolver`] that writes it and the [`Promise`] that
/// reads it. One heap allocation (48 bytes for a `u64`).
///
/// ```
/// let (resolver, promise) = ripcord::promise::channel();
/// resolver.resolve(1).unwrap();
/// assert_eq!(promise.get(), Some(&1));
/// ```
pub fn channel<T>() -> (Resolver<T>, Promise<T>) {
    let (writer, reader) = state::Block::new();
    (Resolver::new(writer), Promise::new(reader))
}
