//! A channel that carries exactly one value, from any thread or task to any
//! other.
//!
//! [`channel`] makes one heap allocation holding one atomic state word, the
//! value slot and a waiter slot for each side. From then on nothing allocates
//! and nothing takes a lock: each side changes the state with one
//! compare-and-swap (two when it has someone to wake), and whichever side
//! finishes last frees the block. A blocking receive stays runnable for a
//! short, bounded, adaptive phase before it parks (see the README's
//! performance section); nothing ever spins unboundedly. The transitions are documented as a table in
//! the source of `oneshot/state.rs`.
//!
//! Both ends work from plain threads and from any executor, in any mix:
//!
//! - the [`Sender`] sends without blocking, and can wait (async or blocking)
//!   for the receiver to lose interest;
//! - the [`Receiver`] can be polled, awaited, tried, or blocked on with or
//!   without a timeout, and these can be mixed on the same receiver.
//!
//! # Examples
//!
//! A worker thread answers an async task:
//!
//! ```
//! use ripcord::oneshot;
//!
//! let (tx, rx) = oneshot::channel();
//! std::thread::spawn(move || tx.send(2 + 2).unwrap());
//! assert_eq!(futures::executor::block_on(rx), Ok(4));
//! ```
//!
//! An async task answers a blocked thread:
//!
//! ```
//! use ripcord::oneshot;
//! use std::time::Duration;
//!
//! let (tx, mut rx) = oneshot::channel();
//! let rt = tokio::runtime::Runtime::new().unwrap();
//! rt.spawn(async move { tx.send("pong").unwrap() });
//! assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok("pong"));
//! ```

mod error;
mod receiver;
mod sender;
mod state;

#[cfg(feature = "std")]
pub use error::{RecvCancelledError, RecvTimeoutError};
pub use error::{RecvError, SendError, TryRecvError};
pub use receiver::Receiver;
pub use sender::{Closed, Sender};

/// Creates a oneshot channel: one [`Sender`], one [`Receiver`], one value.
///
/// This is the channel's only allocation: one block holding the state word,
/// the value and a waiter per side (48 bytes for a `u64` on 64-bit targets).
///
/// # Examples
///
/// ```
/// let (tx, rx) = ripcord::oneshot::channel::<String>();
/// tx.send("hi".to_owned()).unwrap();
/// assert_eq!(rx.recv().unwrap(), "hi");
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let block = state::Block::alloc();
    (Sender::new(block), Receiver::new(block))
}
