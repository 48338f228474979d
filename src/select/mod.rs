//! Interruptible blocking: wait for whichever of several one-time events
//! comes first — a value, a cancellation, a promise, a drain, a gone
//! receiver — or a deadline, from a plain thread or a task.
//!
//! A [`Select`] registers one waiter (the thread, or the task's waker) with
//! every event at once, and withdraws it from all of them as soon as any
//! fires; waiting goes through the crate's one waiting core, like every other
//! wait. Waiting consumes nothing: once [`wait`](Select::wait) returns an
//! index, perform that event's own operation (`try_recv`, `reason`, `get`,
//! ...), which then answers at once. A receiver that was part of a `Select`
//! that returned another index (or timed out) is untouched and still
//! receives its value.
//!
//! | event | added with | ready when |
//! |---|---|---|
//! | a value | [`Select::recv`] | the receiver has a value, or is disconnected, closed or finished |
//! | a cancellation | [`Select::cancelled`] | the token is cancelled |
//! | a promise | [`Select::resolved`] | resolved or abandoned |
//! | a lost receiver | [`Select::closed`] | the sender's receiver is dropped or closed |
//! | a drain | [`Select::drained`] | the shutdown is triggered and every guard dropped |
//!
//! When several are ready, the lowest index wins, so the order in which
//! events are added is their priority (put the token first to prefer
//! stopping over more work, or last to drain the work first).
//!
//! For the common case of one receiver and one token, see
//! [`Receiver::recv_or_cancelled`](crate::oneshot::Receiver::recv_or_cancelled).
//!
//! # Example
//!
//! A worker thread waits for the answer, or shutdown, or a deadline:
//!
//! ```
//! use std::time::Duration;
//! use ripcord::{oneshot, select::Select, CancellationToken};
//!
//! let stop = CancellationToken::new();
//! let (tx, mut answer) = oneshot::channel::<u32>();
//! std::thread::spawn(move || tx.send(42).unwrap());
//!
//! let mut sel = Select::new();
//! let on_stop = sel.cancelled(&stop);
//! let on_answer = sel.recv(&mut answer);
//! match sel.wait_timeout(Duration::from_secs(5)) {
//!     Ok(i) if i == on_stop => println!("shutting down"),
//!     Ok(i) if i == on_answer => println!("got {:?}", answer.try_recv()),
//!     Ok(_) => unreachable!(),
//!     Err(_elapsed) => println!("deadline passed"),
//! }
//! ```

#[allow(clippy::module_inception)]
mod select;

pub use select::{Ready, Select};
