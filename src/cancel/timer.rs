//! Deadlines without an async runtime: one timer thread shared by every token.
//!
//! The first `cancel_at` / `cancel_after` with a deadline in the future starts
//! a thread named `ripcord-timer`. It sleeps on a condition variable until the
//! earliest deadline in a global ordered map, then cancels the tokens whose
//! deadline has passed (reason [`DeadlineExceeded`](super::CancelReason::DeadlineExceeded)).
//! The map holds uncounted pointers: a pending deadline never keeps a token
//! alive. A token that is freed removes its entry (under the map's lock) before
//! its memory goes, so dropped tokens give their memory back immediately, and
//! the timer thread pins a due token under that same lock, skipping one whose
//! last handle is already gone.
//!
//! The thread lives as long as the process, parked while no deadline is
//! pending. It runs no user code: callbacks (`on_cancel`) and task wakers of
//! tokens cancelled by a deadline run on helper threads (see `dispatch.rs`),
//! so a slow or blocking callback never delays another token's deadline; a
//! panicking callback is caught there (the panic hook still reports it).
//!
//! Applications that prefer their runtime's timer can instead spawn a task that
//! sleeps and then calls `cancel_with(CancelReason::DeadlineExceeded)`.

use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use super::CancelReason;
use super::dispatch;
use super::node::{Deferred, Node, NodeRef};

/// Identifies one pending deadline.
pub(crate) type Key = (Instant, u64);

/// A token's node, not counted: see the module docs.
struct Entry(NonNull<Node>);

// SAFETY: only dereferenced under the map's lock, which the node's free path
// takes to remove the entry before deallocating; `Node` is `Sync`.
unsafe impl Send for Entry {}

#[derive(Default)]
struct Pending {
    entries: BTreeMap<Key, Entry>,
    next_seq: u64,
    started: bool,
}

struct Timer {
    pending: Mutex<Pending>,
    wake: Condvar,
}

fn timer() -> &'static Timer {
    static TIMER: OnceLock<Timer> = OnceLock::new();
    TIMER.get_or_init(|| Timer {
        pending: Mutex::new(Pending::default()),
        wake: Condvar::new(),
    })
}

fn lock(timer: &Timer) -> MutexGuard<'_, Pending> {
    timer
        .pending
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Adds a deadline; starts the timer thread on first use.
pub(crate) fn register(deadline: Instant, node: NonNull<Node>) -> Key {
    let timer = timer();
    let mut pending = lock(timer);
    let key = (deadline, pending.next_seq);
    pending.next_seq += 1;
    let earliest = pending
        .entries
        .first_key_value()
        .is_none_or(|(first, _)| key < *first);
    pending.entries.insert(key, Entry(node));
    if !pending.started {
        pending.started = true;
        let spawned = std::thread::Builder::new()
            .name("ripcord-timer".into())
            .spawn(run);
        if spawned.is_err() {
            // No thread: deadlines cannot fire. Try again on the next call.
            pending.started = false;
        }
    } else if earliest {
        timer.wake.notify_one();
    }
    key
}

/// Removes a deadline (the token was cancelled or dropped).
pub(crate) fn unregister(key: Key) {
    let mut pending = lock(timer());
    pending.entries.remove(&key);
}

/// Cancels a due token. The state transitions and the unparking of blocked
/// threads happen here; user code (task wakers, callbacks, a last release
/// that drops user values) goes to the helper threads, so that a slow
/// callback never delays another deadline.
fn fire(node: NodeRef) {
    let cancel = || {
        let (_, mut deferred) = Node::cancel_deferred(&node, CancelReason::DeadlineExceeded);
        deferred.wake_threads();
        deferred
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(cancel)) {
        Ok(mut deferred) => {
            deferred.keep(node);
            if deferred.has_user_code() {
                dispatch::run_later(deferred);
            } else {
                // Only the pin to release (a user value's `Drop` runs here
                // only if every handle was dropped meanwhile).
                drop(deferred.run());
            }
        }
        Err(_) => dispatch::run_later(Deferred::releasing(node)),
    }
}

fn run() {
    let timer = timer();
    let mut pending = lock(timer);
    loop {
        let now = Instant::now();
        let mut due = Vec::new();
        while let Some(entry) = pending.entries.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let Entry(node) = entry.remove();
            // SAFETY: the entry was in the map, under the lock we hold.
            due.extend(unsafe { NodeRef::pin(node) });
        }
        if !due.is_empty() {
            drop(pending);
            for node in due {
                fire(node);
            }
            pending = lock(timer);
            continue;
        }
        pending = match pending.entries.first_key_value() {
            Some((&(deadline, _), _)) => {
                timer
                    .wake
                    .wait_timeout(pending, deadline.saturating_duration_since(now))
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0
            }
            None => timer
                .wake
                .wait(pending)
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        };
    }
}
