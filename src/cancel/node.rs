//! The cancellation state machine: one heap node per token, one atomic word.
//!
//! A [`CancellationToken`](super::CancellationToken) is an `Arc<Node>`. Clones
//! of a token share the node (clone and drop touch only the `Arc`'s reference
//! count). This file is the only place that reads or writes a node's fields.
//!
//! # Layout
//!
//! | field    | what                                                                 | guarded by |
//! |----------|----------------------------------------------------------------------|------------|
//! | `state`  | the bits below                                                       | atomic (written only while `inner` is locked) |
//! | `event`  | [`event_listener::Event`]: async waiters and blocked threads alike; it allocates its list only when someone first listens | its own |
//! | `parent` | strong reference to the parent (a child keeps its ancestors alive)   | immutable after construction |
//! | `slot`   | index of this node in the parent's child slab (`NO_SLOT` if none)    | immutable after construction |
//! | `inner`  | child slab (weak references), reason, and the rarely used `Extra` (callbacks, deadline, extra parents of an `any_of` token) | `inner` mutex |
//!
//! # State bits
//!
//! | bit | name           | set by                                   | cleared by | what setting it publishes |
//! |-----|----------------|------------------------------------------|------------|---------------------------|
//! | 0   | `CANCELLED`    | the canceller, holding `inner`           | never      | `inner.reason` is set and will never change; the child slab has been taken (no child links to this node any more) |
//! | 1   | `HAS_DEADLINE` | `cancel_at`, holding `inner`             | never      | `extra.deadline` is set (lets `deadline()` skip locking nodes without one) |
//! | 2   | `LINKED`       | `any_of`, holding `inner`                | never      | `extra.links` holds extra parents (lets `deadline()` skip locking plain nodes) |
//!
//! All writes are `fetch_or` with `Release` while holding the node's lock;
//! `is_cancelled` is one `Acquire` load, so a thread that sees `CANCELLED` also
//! sees the reason that was stored before it.
//!
//! # Transitions
//!
//! | who, when               | under lock of | does | afterwards (no lock held) |
//! |-------------------------|---------------|------|---------------------------|
//! | `child_token`           | parent        | parent not cancelled: reserve a slab slot, allocate the child, store a `Weak` in the slot. Parent cancelled: the child is born cancelled with the parent's reason, without a slot | — |
//! | cancel (per node)       | that node     | if `reason` is set, stop (someone else cancelled it first; first reason wins). Otherwise store the reason, take the child slab, drop a pending timer entry, `+CANCELLED` | `event.notify(usize::MAX)`; then the taken children are cancelled the same way (an explicit work list: no recursion) |
//! | callbacks run           | that node     | pop one callback, mark it `running` (id, thread) | call it (outside every lock, after the whole subtree is published); then under the lock clear `running` and notify the event (a dropping `CancelCallback` may wait for it) |
//! | node drop (last handle) | parent(s)     | clear its slab slot (if the parent has not taken the slab by cancelling) | drop the timer entry; release the parent reference; if that was the last one, unlink and release the parent the same way, in a loop (no recursion) |
//!
//! Lock order: a thread holds at most one node lock at a time, except that it
//! may take the global timer lock while holding a node lock (never the reverse).
//!
//! Dying children: a parent's slab holds `Weak` references, so a child whose
//! last handle is gone is never kept alive by its parent. A canceller that finds
//! a child mid-drop (`Weak::upgrade` fails) skips it: nobody can observe it.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::time::Instant;

use event_listener::{Event, Listener};

use super::CancelReason;
use super::timer;
use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering};

/// The token is cancelled; its reason is set.
pub(crate) const CANCELLED: usize = 1 << 0;
/// The node has its own deadline.
pub(crate) const HAS_DEADLINE: usize = 1 << 1;
/// The node has extra parents (`any_of`).
pub(crate) const LINKED: usize = 1 << 2;

/// `slot` of a node that is not in any parent's slab.
const NO_SLOT: usize = usize::MAX;

/// A callback registered with `on_cancel`.
pub(crate) type Callback = Box<dyn FnOnce(&CancelReason) + Send + 'static>;

pub(crate) struct Node {
    pub(crate) state: AtomicUsize,
    pub(crate) event: Event,
    parent: Option<Arc<Node>>,
    slot: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Weak references to the children, allocated on the first child.
    children: Option<Box<Children>>,
    /// Set exactly once, together with `CANCELLED`.
    reason: Option<CancelReason>,
    /// Callbacks, deadline and extra parents: allocated on first use.
    extra: Option<Box<Extra>>,
}

/// A slab of child slots. A child's slot index never changes, so a dying child
/// finds its slot without searching and without touching its siblings.
#[derive(Default)]
struct Children {
    slots: Vec<Option<Weak<Node>>>,
    free: Vec<usize>,
}

impl Children {
    fn reserve(&mut self) -> usize {
        match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        }
    }

    fn remove(&mut self, slot: usize) {
        if self.slots[slot].take().is_some() {
            self.free.push(slot);
            if self.free.len() == self.slots.len() {
                // Every slot is free: start over, keeping the capacity.
                self.slots.clear();
                self.free.clear();
            }
        }
    }
}

#[derive(Default)]
struct Extra {
    callbacks: VecDeque<(u64, Callback)>,
    next_id: u64,
    /// The callback being run right now, and by which thread.
    running: Option<(u64, ThreadId)>,
    deadline: Option<Instant>,
    timer_key: Option<timer::Key>,
    /// Extra parents of an `any_of` token, with our slot in each.
    links: Vec<(Arc<Node>, usize)>,
}

#[cfg(not(loom))]
type ThreadId = std::thread::ThreadId;
#[cfg(loom)]
type ThreadId = loom::thread::ThreadId;

fn current_thread_id() -> ThreadId {
    crate::loom::thread::current().id()
}

/// What `on_cancel` did.
pub(crate) enum Registered {
    /// Stored under this id.
    Stored(u64),
    /// The node was already cancelled: the callback ran on the caller's thread.
    RanNow,
}

impl Node {
    fn with_parent(parent: Option<Arc<Node>>, slot: usize, state: usize, inner: Inner) -> Node {
        Node {
            state: AtomicUsize::new(state),
            event: Event::new(),
            parent,
            slot,
            inner: Mutex::new(inner),
        }
    }

    pub(crate) fn new_root() -> Arc<Node> {
        Arc::new(Node::with_parent(None, NO_SLOT, 0, Inner::default()))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // User code never runs under this lock, so poisoning can only come from
        // an allocation failure; the data is still consistent.
        match self.lock_inner() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    #[inline]
    fn lock_inner(
        &self,
    ) -> Result<MutexGuard<'_, Inner>, std::sync::PoisonError<MutexGuard<'_, Inner>>> {
        self.inner.lock()
    }

    #[inline]
    pub(crate) fn is_cancelled(&self) -> bool {
        self.state.load(Ordering::Acquire) & CANCELLED != 0
    }

    pub(crate) fn reason(&self) -> Option<CancelReason> {
        if !self.is_cancelled() {
            return None;
        }
        self.lock().reason.clone()
    }

    /// Makes a child linked to `parent` (or born cancelled if it is).
    pub(crate) fn new_child(parent: &Arc<Node>) -> Arc<Node> {
        let mut inner = parent.lock();
        if let Some(reason) = &inner.reason {
            let reason = reason.clone();
            drop(inner);
            return Arc::new(Node::born_cancelled(Some(parent.clone()), reason));
        }
        let children = inner.children.get_or_insert_with(Default::default);
        let slot = children.reserve();
        let child = Arc::new(Node::with_parent(
            Some(parent.clone()),
            slot,
            0,
            Inner::default(),
        ));
        children.slots[slot] = Some(Arc::downgrade(&child));
        child
    }

    fn born_cancelled(parent: Option<Arc<Node>>, reason: CancelReason) -> Node {
        let inner = Inner {
            reason: Some(reason),
            ..Inner::default()
        };
        Node::with_parent(parent, NO_SLOT, CANCELLED, inner)
    }

    /// Makes a node cancelled as soon as any of `parents` is.
    pub(crate) fn new_linked(parents: &[&Arc<Node>]) -> Arc<Node> {
        let node = Node::new_root();
        for parent in parents {
            let mut inner = parent.lock();
            if let Some(reason) = &inner.reason {
                let reason = reason.clone();
                drop(inner);
                Node::cancel(&node, reason);
                return node;
            }
            let children = inner.children.get_or_insert_with(Default::default);
            let slot = children.reserve();
            children.slots[slot] = Some(Arc::downgrade(&node));
            drop(inner);
            // From here on `parent` may cancel `node` at any moment; that is
            // fine, the link below only serves unlinking and `deadline()`.
            let mut ours = node.lock();
            let extra = ours.extra.get_or_insert_with(Default::default);
            extra.links.push(((*parent).clone(), slot));
            node.state.fetch_or(LINKED, Ordering::Release);
        }
        node
    }

    /// Cancels `node` and every descendant. Returns whether this call did it.
    pub(crate) fn cancel(node: &Arc<Node>, reason: CancelReason) -> bool {
        let mut with_callbacks: Vec<Arc<Node>> = Vec::new();
        let Some(children) = node.cancel_one(node, &reason, &mut with_callbacks) else {
            return false;
        };
        // Work list of children still to cancel; it starts as the root's slab
        // and grows by appending each cancelled child's slab.
        if let Some(children) = children {
            let mut work = children.slots;
            while let Some(slot) = work.pop() {
                let Some(child) = slot.and_then(|weak| weak.upgrade()) else {
                    continue;
                };
                if let Some(Some(grandchildren)) =
                    child.cancel_one(&child, &reason, &mut with_callbacks)
                {
                    let mut grandchildren = grandchildren.slots;
                    work.append(&mut grandchildren);
                }
            }
        }
        // Every node of the subtree is published and woken: run callbacks.
        let mut panic = None;
        for node in with_callbacks {
            if let Err(payload) = node.run_callbacks(&reason) {
                panic.get_or_insert(payload);
            }
        }
        if let Some(payload) = panic {
            std::panic::resume_unwind(payload);
        }
        true
    }

    /// Cancels this one node. `None` if it already was; otherwise its children.
    #[allow(clippy::type_complexity)]
    fn cancel_one(
        &self,
        this: &Arc<Node>,
        reason: &CancelReason,
        with_callbacks: &mut Vec<Arc<Node>>,
    ) -> Option<Option<Box<Children>>> {
        let mut inner = self.lock();
        if inner.reason.is_some() {
            return None;
        }
        inner.reason = Some(reason.clone());
        let children = inner.children.take();
        if let Some(extra) = inner.extra.as_mut() {
            if let Some(key) = extra.timer_key.take() {
                timer::unregister(key);
            }
            if !extra.callbacks.is_empty() {
                with_callbacks.push(this.clone());
            }
        }
        self.state.fetch_or(CANCELLED, Ordering::Release);
        drop(inner);
        self.event.notify(usize::MAX);
        Some(children)
    }

    /// Runs this node's callbacks one at a time, outside the lock, catching
    /// panics so that the others still run. Returns the first panic.
    fn run_callbacks(&self, reason: &CancelReason) -> Result<(), Box<dyn std::any::Any + Send>> {
        let mut result = Ok(());
        loop {
            let mut inner = self.lock();
            let Some(extra) = inner.extra.as_mut() else {
                break;
            };
            let Some((id, callback)) = extra.callbacks.pop_front() else {
                break;
            };
            extra.running = Some((id, current_thread_id()));
            drop(inner);
            let ran =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || callback(reason)));
            if let Err(payload) = ran {
                if result.is_ok() {
                    result = Err(payload);
                }
            }
            let mut inner = self.lock();
            if let Some(extra) = inner.extra.as_mut() {
                extra.running = None;
            }
            drop(inner);
            // Wake a `CancelCallback` drop waiting for this one to finish.
            self.event.notify(usize::MAX);
        }
        result
    }

    /// Registers a callback, or runs it now if the node is already cancelled.
    pub(crate) fn on_cancel(&self, callback: Callback) -> Registered {
        let mut inner = self.lock();
        if let Some(reason) = &inner.reason {
            let reason = reason.clone();
            drop(inner);
            callback(&reason);
            return Registered::RanNow;
        }
        let extra = inner.extra.get_or_insert_with(Default::default);
        let id = extra.next_id;
        extra.next_id += 1;
        extra.callbacks.push_back((id, callback));
        Registered::Stored(id)
    }

    /// Unregisters callback `id`. Returns `true` if it was removed before it
    /// started. If it is running on another thread, waits until it returns.
    pub(crate) fn unregister(&self, id: u64) -> bool {
        loop {
            let mut inner = self.lock();
            let Some(extra) = inner.extra.as_mut() else {
                return false;
            };
            if let Some(pos) = extra.callbacks.iter().position(|(i, _)| *i == id) {
                let removed = extra.callbacks.remove(pos);
                drop(inner);
                drop(removed);
                return true;
            }
            match extra.running {
                Some((running, thread)) if running == id && thread != current_thread_id() => {}
                _ => return false,
            }
            // Listen before unlocking: the runner clears `running` under the
            // lock and notifies after, so this wake-up cannot be lost.
            let listener = self.event.listen();
            drop(inner);
            listener.wait();
        }
    }

    /// Sets a deadline (keeping an earlier one). Returns `false` if it has
    /// already passed, so the caller cancels now.
    pub(crate) fn set_deadline(node: &Arc<Node>, deadline: Instant) -> bool {
        if deadline <= Instant::now() {
            return false;
        }
        let mut inner = node.lock();
        if inner.reason.is_some() {
            return true;
        }
        let extra = inner.extra.get_or_insert_with(Default::default);
        if extra.deadline.is_some_and(|old| old <= deadline) {
            return true;
        }
        extra.deadline = Some(deadline);
        if let Some(old) = extra.timer_key.take() {
            timer::unregister(old);
        }
        extra.timer_key = Some(timer::register(deadline, Arc::downgrade(node)));
        node.state.fetch_or(HAS_DEADLINE, Ordering::Release);
        true
    }

    /// The earliest deadline of this node and all its ancestors.
    pub(crate) fn deadline(node: &Arc<Node>) -> Option<Instant> {
        let mut best: Option<Instant> = None;
        let mut more: Vec<Arc<Node>> = Vec::new();
        let mut current = Some(node.clone());
        while let Some(n) = current.take().or_else(|| more.pop()) {
            let state = n.state.load(Ordering::Acquire);
            if state & (HAS_DEADLINE | LINKED) != 0 {
                let inner = n.lock();
                if let Some(extra) = inner.extra.as_ref() {
                    if let Some(d) = extra.deadline {
                        best = Some(best.map_or(d, |b| b.min(d)));
                    }
                    more.extend(extra.links.iter().map(|(p, _)| p.clone()));
                }
            }
            current = n.parent.clone();
        }
        best
    }

    /// Unlinks this node from its parents and its timer entry; returns the
    /// parent references for the caller to release.
    fn unlink(&mut self, more: &mut Vec<Arc<Node>>) -> Option<Arc<Node>> {
        let inner = match self.inner.get_mut() {
            Ok(inner) => inner,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(mut extra) = inner.extra.take() {
            if let Some(key) = extra.timer_key.take() {
                timer::unregister(key);
            }
            for (parent, slot) in extra.links.drain(..) {
                unlink_slot(&parent, slot);
                more.push(parent);
            }
        }
        let parent = self.parent.take();
        if let Some(parent) = &parent {
            unlink_slot(parent, self.slot);
        }
        parent
    }
}

fn unlink_slot(parent: &Node, slot: usize) {
    if slot == NO_SLOT {
        return;
    }
    let mut inner = parent.lock();
    // A cancelled parent has taken its slab: nothing to clear.
    if let Some(children) = inner.children.as_mut() {
        children.remove(slot);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Releasing the parent may drop it, which would release its parent,
        // and so on: do it in a loop so a deep chain cannot overflow the stack.
        let mut more = Vec::new();
        let mut next = self.unlink(&mut more);
        loop {
            let Some(parent) = next.take().or_else(|| more.pop()) else {
                break;
            };
            if let Some(mut last) = Arc::into_inner(parent) {
                next = last.unlink(&mut more);
                // `last` has no parent and no links left: dropping it here
                // does not recurse.
                drop(last);
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn node_is_small() {
        // Arc header (16) + node: the per-child budget is tokio-util's ~112 B.
        assert!(core::mem::size_of::<Node>() + 16 <= 112, "{}", core::mem::size_of::<Node>());
    }
}
