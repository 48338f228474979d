//! Deadlines: `cancel_at` registers the node with the shared timer thread,
//! which cancels it with `DeadlineExceeded` when it is due.

use std::ptr::NonNull;
use std::time::Instant;

use super::{CancelReason, DECIDED, Deferred, HAS_DEADLINE, LINKED, Node, NodeRef};
use crate::cancel::dispatch;
use crate::cancel::timer::{Expire, Key, Timer};
use crate::loom::Ordering;
use crate::loom::statics::OnceLock;

/// A node's entry in the timer map: an uncounted pointer (a pending deadline
/// never keeps a token alive).
pub(super) struct Entry(NonNull<Node>);

// SAFETY: the pointer is only dereferenced by `pin`, under the timer's lock,
// where R4 keeps the node allocated; `Node` is `Sync`.
unsafe impl Send for Entry {}

impl Expire for Entry {
    type Pinned = NodeRef;

    unsafe fn pin(self) -> Option<NodeRef> {
        // SAFETY: the timer calls this under its lock for an entry it just
        // took out of its map; R4: the node is still allocated.
        unsafe { NodeRef::pin(self.0) }
    }

    /// Cancels a due token. The state transitions and the unparking of
    /// blocked threads happen here; user code (task wakers, callbacks, a
    /// last release that drops user values) goes to the helper threads, so
    /// that a slow callback never delays another deadline.
    fn fire(node: NodeRef) {
        let cancel = || {
            let (_, mut deferred) = Node::cancel_deferred(&node, CancelReason::DeadlineExceeded);
            deferred.wake_threads();
            deferred
        };
        let deferred = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(cancel)) {
            Ok(mut deferred) => {
                deferred.keep(node);
                deferred
            }
            Err(_) => Deferred::releasing(node),
        };
        if deferred.has_user_code() {
            // Caught panics are dropped: the hook reported them, and the
            // thread that cancelled (the timer) has nobody to give them to.
            dispatch::run_later(Box::new(move || drop(deferred.run())));
        } else {
            // Only the pin to release (a user value's `Drop` runs here only
            // if every handle was dropped meanwhile).
            drop(deferred.run());
        }
    }
}

/// The timer every token deadline in the process shares.
fn timer() -> &'static Timer<Entry> {
    static TIMER: OnceLock<Timer<Entry>> = OnceLock::new();
    TIMER.get_or_init(|| Timer::new("ripcord-timer"))
}

/// Removes a node's pending deadline (cancelled, or being freed).
pub(super) fn unregister(key: Key) {
    timer().unregister(key);
}

impl Node {
    /// Sets a deadline (keeping an earlier one). Returns `false` if it has
    /// already passed, so the caller cancels now.
    pub(crate) fn set_deadline(node: &NodeRef, deadline: Instant) -> bool {
        if deadline <= Instant::now() {
            return false;
        }
        let mut inner = node.lock();
        // ORDERING: `Acquire` pairs with a canceller's `Release`; under the
        // lock, a cancellation decided before us is seen here.
        if node.state.load(Ordering::Acquire) & DECIDED != 0 {
            return true;
        }
        let extra = inner.extra.get_or_insert_with(Default::default);
        if extra.deadline.is_some_and(|old| old <= deadline) {
            return true;
        }
        extra.deadline = Some(deadline);
        if let Some(old) = extra.timer_key.take() {
            unregister(old);
        }
        extra.timer_key = Some(timer().register(deadline, Entry(node.as_non_null())));
        // ORDERING: `Release` publishes `extra.deadline` (also guarded by the
        // lock) to `deadline()`'s and `free`'s `Acquire` load of the flag.
        node.state.fetch_or(HAS_DEADLINE, Ordering::Release);
        true
    }

    /// The earliest deadline of this node and all its ancestors.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let mut best: Option<Instant> = None;
        let mut more: Vec<&Node> = Vec::new();
        let mut current = Some(self);
        while let Some(n) = current.take().or_else(|| more.pop()) {
            // ORDERING: `Acquire` pairs with `set_deadline`'s `Release`:
            // a deadline set before it is found under the lock.
            let state = n.state.load(Ordering::Acquire);
            if state & (HAS_DEADLINE | LINKED) != 0 {
                let inner = n.lock();
                if let Some(extra) = inner.extra.as_ref() {
                    if let Some(d) = extra.deadline {
                        best = Some(best.map_or(d, |b| b.min(d)));
                    }
                    // SAFETY: R3: `n` holds a count of each of these parents until
                    // it is freed, and it outlives `self`'s borrow (it is
                    // `self` or one of its ancestors).
                    more.extend(extra.links.iter().map(|(p, _)| unsafe { &*p.as_ptr() }));
                }
            }
            current = n.parent();
        }
        best
    }
}
