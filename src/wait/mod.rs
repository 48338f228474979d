//! The waiting core: the only code in ripcord that registers waiters, parks
//! threads, applies deadlines and the hand-off policy, and wakes.
//!
//! Every primitive describes its one-time event as an [`Event`] (how to check
//! it, how to register a waiter, how to withdraw one) and waits through
//! [`poll_event`] (tasks) or [`block_on`] (threads). Those two functions are
//! the crate's single implementation of the protocol the crate docs teach:
//! **check, listen, check again, wait**.
//!
//! | file | job |
//! |------|-----|
//! | `waiter.rs`   | [`Waiter`]: a task's waker or a parked thread, two words |
//! | `list.rs`     | [`WaitList`]: the waiters of an event with many; taken out whole under the owner's lock and woken after it is released ([`Wakeups`]) |
//! | `user.rs`     | [`FirstPanic`]: runs user code (wakers, callbacks, destructors) so that one panic does not stop the rest, then re-raises it |
//! | `park.rs`     | deadlines, parking, and the adaptive hand-off ([`park::Handoff`]) |
//! | `protocol.rs` | [`Event`], [`poll_event`], [`block_on`] |
//! | `set.rs`      | several events as one ([`AnyOf`] of [`Member`]s), for `select` and `recv_or_cancelled` |
//!
//! # Rules every primitive follows
//!
//! 1. A state transition is complete and published before any waiter is
//!    taken out to be woken.
//! 2. Waiters are *taken out* under the primitive's lock and *woken* after it
//!    is released; user code (`Waker::wake`, `Waker::drop`, `Waker::clone`)
//!    never runs under a lock, so a waker that re-enters the primitive (drops
//!    its own future, cancels again, registers) cannot deadlock.
//! 3. A waker is cloned before the lock is taken and a replaced one is dropped
//!    after it is released.
//! 4. When several waiters are woken, a panic in one does not stop the others:
//!    the first panic is re-raised once all are woken ([`Wakeups::wake_all`]).

#[cfg(feature = "std")]
mod list;
#[cfg(feature = "std")]
pub(crate) mod park;
mod protocol;
#[cfg(feature = "std")]
mod set;
#[cfg(feature = "std")]
mod user;
mod waiter;

#[cfg(feature = "std")]
pub(crate) use list::{Key, WaitList, Wakeups, register_locked, withdraw_locked};
#[cfg(feature = "std")]
pub(crate) use park::deadline_after;
#[cfg(feature = "std")]
pub(crate) use protocol::block_on;
pub(crate) use protocol::{Event, poll_event};
#[cfg(feature = "std")]
pub(crate) use set::{AnyOf, Entry, Member, MemberKey, Never, listen_member, unlisten_member};
#[cfg(feature = "std")]
pub(crate) use user::{FirstPanic, run_user};
pub(crate) use waiter::{NewWaiter, Waiter};
