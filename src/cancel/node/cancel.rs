//! The cancel algorithm, and the user code it owes once it is done
//! ([`Deferred`]).

use super::waiters::Cancellation;
use super::{
    CANCELLED, CLOSING, CancelReason, DECIDED, HAS_CALLBACKS, HAS_CHILDREN, KIND_CUSTOM,
    KIND_INHERITED, LINKED, Node, NodeRef, SLOW, WAITERS, kind_of,
};
use crate::loom::Ordering;
use crate::wait::{FirstPanic, Wakeups};

/// Nodes a cancellation still has to visit.
#[derive(Default)]
struct Work {
    /// Cancelled, with `WAITERS`: their waiters are taken once no lock is held.
    notify: Vec<NodeRef>,
    /// Need the slow path (they have children, callbacks, a deadline or
    /// several parents).
    slow: Vec<NodeRef>,
    /// Cancelled, with callbacks to run at the end.
    callbacks: Vec<NodeRef>,
    /// `CLOSING` nodes, parents before children: they get `CANCELLED` in
    /// reverse order once the whole subtree is visited.
    closing: Vec<NodeRef>,
    /// Waiters taken out of cancelled nodes.
    wakeups: Wakeups,
    /// Nodes this cancellation pinned and is done with; released last, since
    /// releasing may free a node and drop user values.
    done: Vec<NodeRef>,
}

/// The user code a cancellation owes once its state transitions are
/// complete: wake the waiters, run the callbacks, release the pins.
///
/// Made by [`Node::cancel_deferred`]; [`run`](Deferred::run) does it on the
/// calling thread (the timer thread hands it to its helper threads instead).
#[must_use = "the waiters must be woken"]
pub(crate) struct Deferred {
    wakeups: Wakeups,
    callbacks: Vec<NodeRef>,
    reason: Option<CancelReason>,
    done: Vec<NodeRef>,
}

impl Deferred {
    fn nothing(reason: CancelReason) -> Deferred {
        Deferred {
            wakeups: Wakeups::new(),
            callbacks: Vec::new(),
            reason: Some(reason),
            done: Vec::new(),
        }
    }

    fn from_work(work: Work, reason: CancelReason) -> Deferred {
        debug_assert!(work.notify.is_empty() && work.slow.is_empty() && work.closing.is_empty());
        Deferred {
            wakeups: work.wakeups,
            callbacks: work.callbacks,
            reason: Some(reason),
            done: work.done,
        }
    }

    /// Nothing to do but release `node`.
    pub(crate) fn releasing(node: NodeRef) -> Deferred {
        let mut deferred = Deferred::nothing(CancelReason::DeadlineExceeded);
        deferred.keep(node);
        deferred
    }

    /// Adds a pin to release last.
    pub(crate) fn keep(&mut self, node: NodeRef) {
        self.done.push(node);
    }

    /// Whether running it would run user code (wakers or callbacks).
    pub(crate) fn has_user_code(&self) -> bool {
        !self.wakeups.is_empty() || !self.callbacks.is_empty()
    }

    /// Unparks the blocked threads now; tasks and callbacks stay.
    pub(crate) fn wake_threads(&mut self) {
        self.wakeups.wake_threads();
    }

    /// Wakes every waiter, then runs every callback, then releases the pins,
    /// each even if an earlier one panicked. Returns the first panic.
    pub(crate) fn run(mut self) -> FirstPanic {
        self.run_in_place()
    }

    /// [`run`](Deferred::run), leaving `self` empty (so its `Drop` does
    /// nothing more).
    fn run_in_place(&mut self) -> FirstPanic {
        let mut panics = FirstPanic::new();
        if !self.wakeups.is_empty() {
            std::mem::take(&mut self.wakeups).wake_all(&mut panics);
        }
        let reason = self.reason.take().unwrap_or(CancelReason::Cancelled);
        for node in std::mem::take(&mut self.callbacks) {
            node.run_callbacks(&reason, &mut panics);
            panics.run(|| drop(node));
        }
        for node in std::mem::take(&mut self.done) {
            panics.run(|| drop(node));
        }
        if matches!(reason, CancelReason::Custom(_)) {
            panics.run(|| drop(reason));
        }
        panics
    }
}

impl Drop for Deferred {
    fn drop(&mut self) {
        // Only does anything when `run` was not called (a panic unwound past
        // it): still wake everyone rather than leave them asleep.
        if self.has_user_code() || !self.done.is_empty() {
            let panics = self.run_in_place();
            if !crate::loom::thread::panicking() {
                panics.resume();
            }
        }
    }
}

impl Node {
    /// Cancels `node` and every descendant. Returns whether this call did it.
    /// User code (wakers, callbacks) runs after every state transition is
    /// complete; its first panic is re-raised once all of it has run.
    pub(crate) fn cancel(node: &NodeRef, reason: CancelReason) -> bool {
        // The common case, a leaf nobody waits on, owes no user code.
        let kind = kind_of(&reason);
        if kind != KIND_CUSTOM {
            match node.try_fast(kind, SLOW | WAITERS) {
                Fast::Done(_) => return true,
                Fast::AlreadyCancelled => return false,
                Fast::NeedsLock => {}
            }
        }
        let (won, deferred) = Node::cancel_deferred(node, reason);
        // Not while unwinding (a `DropGuard` dropped by a panic): dropped.
        deferred.run().resume_unless_unwinding();
        won
    }

    /// Cancels `node` and every descendant, running no user code: returns
    /// whether this call did it, and the user code it owes.
    pub(crate) fn cancel_deferred(node: &NodeRef, reason: CancelReason) -> (bool, Deferred) {
        let kind = kind_of(&reason);
        // The fast path: a node with no children, callbacks, deadline or links.
        if kind != KIND_CUSTOM {
            match node.try_fast(kind, SLOW) {
                Fast::Done(waiters) => {
                    let mut deferred = Deferred::nothing(reason);
                    if waiters {
                        let mut inner = node.lock();
                        node.take_waiters(&mut inner, &mut deferred.wakeups);
                    }
                    return (true, deferred);
                }
                Fast::AlreadyCancelled => return (false, Deferred::nothing(reason)),
                Fast::NeedsLock => {}
            }
        }
        let mut work = Work::default();
        if !node.cancel_locked(node, kind, &reason, &mut work) {
            // Another thread won. If it is still marking the descendants
            // (`CLOSING`), wait for it, so that the token reports cancelled
            // once this call returns. The winner runs no user code and waits
            // on nothing while it marks, so this cannot deadlock (a callback
            // or waker that cancels again runs only after `CANCELLED`).
            crate::wait::block_on(&Cancellation(node), None);
            return (false, Deferred::from_work(work, reason));
        }
        while let Some(next) = work.slow.pop() {
            let state = next.state.load(Ordering::Relaxed);
            let next_kind = if state & LINKED != 0 || kind != KIND_CUSTOM {
                kind
            } else {
                KIND_INHERITED
            };
            next.cancel_locked(&next, next_kind, &reason, &mut work);
            work.done.push(next);
        }
        // Children before parents: reverse visiting order.
        while let Some(closing) = work.closing.pop() {
            // ORDERING: `Release` publishes the whole cancelled subtree
            // (marked before this) to `is_cancelled`'s `Acquire`; `Acquire`
            // sees a `WAITERS` set by a registering waiter's RMW.
            let state = closing.state.fetch_or(CANCELLED, Ordering::AcqRel);
            if state & WAITERS != 0 {
                let mut inner = closing.lock();
                closing.take_waiters(&mut inner, &mut work.wakeups);
            }
            work.done.push(closing);
        }
        (true, Deferred::from_work(work, reason))
    }

    /// One CAS, unless the node has one of the `stop` flags (at least `SLOW`,
    /// which forces the slow path).
    #[inline]
    fn try_fast(&self, kind: usize, stop: usize) -> Fast {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & CANCELLED != 0 {
                return Fast::AlreadyCancelled;
            }
            if state & stop != 0 {
                return Fast::NeedsLock;
            }
            // ORDERING: `Release` publishes the cancellation (and everything
            // the canceller did before it) to `is_cancelled`'s `Acquire`;
            // `Acquire` pairs with the RMW that set a flag, so a flag set
            // first is seen here (the CAS then fails and we retry).
            match self.state.compare_exchange_weak(
                state,
                state | CANCELLED | kind,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Fast::Done(state & WAITERS != 0),
                Err(actual) => state = actual,
            }
        }
    }

    /// The slow path for one node: under its lock, publish the reason and
    /// cancel its children (fast path, or queued). Returns whether this call
    /// cancelled the node.
    fn cancel_locked(
        &self,
        this: &NodeRef,
        kind: usize,
        reason: &CancelReason,
        work: &mut Work,
    ) -> bool {
        let mut inner = self.lock();
        let mut state = self.state.load(Ordering::Relaxed);
        if state & DECIDED != 0 {
            return false;
        }
        // Not cancelled, and only a lock holder stores a custom reason: the
        // slot is empty. Fill it before the CAS publishes it.
        if kind == KIND_CUSTOM {
            inner.reason = Some(reason.clone());
        }
        // A node with children is only marked `CLOSING` now: it becomes
        // `CANCELLED` after its descendants, so that whoever sees it cancelled
        // also sees them cancelled. (`HAS_CHILDREN` cannot appear meanwhile:
        // it is only set under the lock we hold.)
        let mark = if state & HAS_CHILDREN != 0 {
            CLOSING
        } else {
            CANCELLED
        };
        loop {
            if state & DECIDED != 0 {
                // A lock-free canceller won after all. (The user's value is
                // dropped after unlocking: its `Drop` may do anything.)
                let ours = inner.reason.take();
                drop(inner);
                drop(ours);
                return false;
            }
            // ORDERING: `Release` publishes the reason stored above (and
            // `KIND`) to readers of `CANCELLED`/`CLOSING`; `Acquire` pairs
            // with the RMWs that set `WAITERS`/`HAS_CALLBACKS`, so a flag set
            // before this CAS is seen in `state` below.
            match self.state.compare_exchange_weak(
                state,
                state | mark | kind,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        // Cancelled: the deadline has nothing left to do.
        if let Some(key) = inner.extra.as_mut().and_then(|e| e.timer_key.take()) {
            super::deadline::unregister(key);
        }
        if mark == CLOSING {
            work.closing.push(this.clone());
        } else if state & WAITERS != 0 {
            // `CANCELLED` is published: collect the waiters now, under the
            // lock a registering waiter checks again under.
            self.take_waiters(&mut inner, &mut work.wakeups);
        }
        if state & HAS_CALLBACKS != 0 {
            work.callbacks.push(this.clone());
        }
        let child_kind = Node::inherited_kind(kind);
        if let Some(children) = inner.children.as_ref() {
            for &ptr in children.iter() {
                // SAFETY: R4: a child leaves this slab, under the lock we hold,
                // before it is freed.
                let child = unsafe { ptr.as_ref() };
                let queue = match child.try_fast(child_kind, SLOW) {
                    Fast::Done(true) => &mut work.notify,
                    Fast::NeedsLock => &mut work.slow,
                    Fast::Done(false) | Fast::AlreadyCancelled => continue,
                };
                // A child being freed has no handle left: nobody listens to
                // it or can see its callbacks run, so it is skipped.
                // SAFETY: R4: in our slab, under our lock.
                queue.extend(unsafe { NodeRef::pin(ptr) });
            }
        }
        drop(inner);
        // One node lock at a time: the children's waiters after unlocking.
        for node in std::mem::take(&mut work.notify) {
            let mut inner = node.lock();
            node.take_waiters(&mut inner, &mut work.wakeups);
            drop(inner);
            work.done.push(node);
        }
        true
    }
}

/// The outcome of the lock-free cancel attempt.
enum Fast {
    /// Cancelled by this call; `true` if someone may be listening.
    Done(bool),
    AlreadyCancelled,
    NeedsLock,
}
