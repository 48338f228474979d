//! The cancellation state machine: one heap node per token, two atomic words.
//!
//! A [`CancellationToken`](super::CancellationToken) is a [`NodeRef`]: a
//! counted pointer to one heap [`Node`]. Clones of a token share the node
//! (clone and drop touch only its `refs` word). This file is the only place
//! that reads or writes a node's fields.
//!
//! # Layout
//!
//! | field    | what                                                                 | guarded by |
//! |----------|----------------------------------------------------------------------|------------|
//! | `state`  | the cancellation bits below                                          | atomic |
//! | `refs`   | the reference count below                                            | atomic |
//! | `event`  | [`event_listener::Event`]: async waiters and blocked threads alike; it allocates its list only when someone first listens | its own |
//! | `parent` | the parent, if any; this node holds one count of the parent's `refs` | immutable after construction |
//! | `slot`   | index of this node in the parent's child slab (`NO_SLOT` if none)    | immutable after construction |
//! | `inner`  | child slab (uncounted pointers), a custom reason, and the rarely used `Extra` (callbacks, deadline, extra parents of an `any_of` token) | `inner` mutex |
//!
//! # State bits
//!
//! | bits | name            | set by                                                    | cleared | what setting it publishes |
//! |------|-----------------|-----------------------------------------------------------|---------|---------------------------|
//! | 0    | `CANCELLED`     | the canceller: with `KIND` in one compare-and-swap (CAS), or after `CLOSING` | never | the reason (`KIND`, and `inner.reason` for a custom one) is final, and every descendant is cancelled |
//! | 1-2  | `KIND`          | with `CANCELLED`                                          | never   | `Cancelled`, `DeadlineExceeded`, `Custom` (value in `inner.reason`), or `Inherited` (same reason as `parent`) |
//! | 3    | `HAS_CHILDREN`  | `child_token` / `any_of`, holding `inner`, by a read-modify-write (RMW) | never | the child slab may be non-empty: cancelling must lock |
//! | 4    | `HAS_CALLBACKS` | `on_cancel`, holding `inner`, by an RMW                   | never   | callbacks may be registered: cancelling must lock |
//! | 5    | `HAS_DEADLINE`  | `cancel_at`, holding `inner`                              | never   | `extra.deadline` is set (`deadline()` and freeing lock only such nodes) |
//! | 6    | `LINKED`        | `any_of`, before the node is shared                       | never   | `extra.links` holds extra parents; cancelling it stores an explicit reason |
//! | 7    | `WAITERS`       | anyone about to listen on `event`, by an RMW              | never   | someone may be listening: cancelling must notify |
//! | 8    | `CLOSING`       | the canceller of a node with children, with `KIND`, under the lock | never | the reason is final and the descendants are being cancelled; `CANCELLED` follows. New children are born cancelled, new callbacks run at once, other cancellers stop |
//!
//! `is_cancelled` is one `Acquire` load of `state`. Because a node with
//! children turns `CANCELLED` only after its descendants, a thread that sees a
//! token cancelled sees its whole subtree cancelled too (unless another thread
//! is cancelling part of that subtree at the same moment).
//!
//! # Transitions
//!
//! | who, when | how | afterwards |
//! |-----------|-----|------------|
//! | cancel, **fast path** (no `HAS_CHILDREN`, `HAS_CALLBACKS`, `LINKED`, reason not custom) | one CAS: `+CANCELLED +KIND`; no lock | if `WAITERS` was set: `event.notify(usize::MAX)` |
//! | cancel, **slow path** | lock; if `CANCELLED` or `CLOSING`, stop (after waiting for `CANCELLED`, if this is the token `cancel` was called on); store a custom reason; CAS `+KIND` and `+CLOSING` (node with children) or `+CANCELLED` (without); with the lock still held, cancel each child in the slab by the fast path (children that need the slow path, or a notification, are pinned and queued) | unlock; notify if `CANCELLED` and `WAITERS`; then the queued children, one lock at a time (a work list: no recursion); then `+CANCELLED` on the `CLOSING` nodes, children before parents, notifying each; then the callbacks of every node cancelled |
//! | `child_token` | count the parent (`refs`, for the child); lock parent; RMW `+HAS_CHILDREN` returns the state: if `CANCELLED`, the child is born cancelled (no slot); otherwise a slot holds a pointer to the child | — |
//! | `on_cancel` | lock; RMW `+HAS_CALLBACKS`: if `CANCELLED`, run now (after unlocking); otherwise store | — |
//! | listen (`cancelled`, `wait`) | RMW `+WAITERS`: if `CANCELLED`, done; otherwise listen, check again, wait | — |
//! | callbacks run | lock; pop one, mark it `running` (id, thread) | call it outside every lock; lock, clear `running`, notify (a dropping `CancelCallback` may wait for it) |
//!
//! Why the RMWs make the lock-free fast path safe: a flag that forces the slow
//! path (`HAS_CHILDREN`, `HAS_CALLBACKS`, `WAITERS`) is set by an RMW on the
//! same word as the canceller's CAS, so one of the two sees the other. Either
//! the canceller sees the flag (and takes the lock, or notifies), or the flag's
//! setter sees `CANCELLED` (and acts as on a cancelled token).
//!
//! Reasons: a child cancelled with an ancestor gets the same `KIND`; when the
//! reason is custom, it gets `Inherited` and `reason()` walks up to the node
//! holding the value, so a fan-out to many children clones nothing. Tokens with
//! several parents (`any_of`) store the value themselves.
//!
//! # Lifetime: the `refs` word
//!
//! `refs` counts the node's handles (tokens, `CancelCallback`s, a canceller's
//! own references), its *pins* (references a canceller or the timer thread
//! takes on a node it found through a lock-protected link) and its children
//! (each child, including one born cancelled or linked by `any_of`, holds one
//! count of each parent). The slab slots and the timer entry are not counted.
//!
//! | who, when | how | afterwards |
//! |-----------|-----|------------|
//! | clone a handle; make a child (for its parent) | `fetch_add(1)` | — |
//! | drop a handle or pin | `fetch_sub(1)` | at 0: free |
//! | pin a node found in a slab or the timer map (holding that lock) | CAS `+1` unless `refs` is 0 | a node at 0 is being freed: skip it, nobody can observe it |
//! | free a node | remove its timer entry (timer lock), then for each parent: lock it, clear our slot, unlock it, and only then release our count of it | a parent released to 0 is freed the same way, in a loop (no recursion) |
//!
//! The rule that makes the links sound: **a thread locks a node only while it
//! holds a count of it** (a handle, a pin, or, in a child's free path, the
//! child's count), and it releases that count only after unlocking. So a node
//! is never freed while another thread is still inside its lock, and a pointer
//! found in a slab or the timer map, under the lock that guards it, points to
//! an allocated node: freeing removes those links under the same locks first.
//!
//! Lock order: a thread holds at most one node lock at a time, except that it
//! may take the global timer lock while holding a node lock (never the reverse).

use std::collections::VecDeque;
use std::ops::Deref;
use std::ptr::NonNull;
use std::time::Instant;

use event_listener::{Event, EventListener, Listener};

use super::CancelReason;
use super::timer;
use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering, fence};

/// The token is cancelled; `KIND` is final.
pub(crate) const CANCELLED: usize = 1 << 0;
const KIND_MASK: usize = 0b11 << 1;
const KIND_CANCELLED: usize = 0 << 1;
const KIND_DEADLINE: usize = 1 << 1;
const KIND_CUSTOM: usize = 2 << 1;
const KIND_INHERITED: usize = 3 << 1;
/// The child slab may hold children.
const HAS_CHILDREN: usize = 1 << 3;
/// Callbacks may be registered.
const HAS_CALLBACKS: usize = 1 << 4;
/// The node has its own deadline.
const HAS_DEADLINE: usize = 1 << 5;
/// The node has extra parents (`any_of`).
const LINKED: usize = 1 << 6;
/// Someone may be listening on `event`.
const WAITERS: usize = 1 << 7;
/// Being cancelled: `KIND` is final, the descendants are being cancelled, and
/// `CANCELLED` follows once they all are.
const CLOSING: usize = 1 << 8;
/// Cancelled, or about to be: `KIND` is final.
const DECIDED: usize = CANCELLED | CLOSING;

/// Bits that make cancelling take the lock.
const SLOW: usize = HAS_CHILDREN | HAS_CALLBACKS | LINKED;

/// `slot` of a node that is not in any parent's slab.
const NO_SLOT: usize = usize::MAX;

/// A callback registered with `on_cancel`.
pub(crate) type Callback = Box<dyn FnOnce(&CancelReason) + Send + 'static>;

pub(crate) struct Node {
    state: AtomicUsize,
    refs: AtomicUsize,
    event: Event,
    parent: Option<NonNull<Node>>,
    slot: usize,
    inner: Mutex<Inner>,
}

// SAFETY: the raw pointers are tree links whose targets are kept alive by the
// `refs` protocol (module docs); everything shared and mutable is behind an
// atomic or the `inner` mutex, and the rest is immutable after construction.
unsafe impl Send for Node {}
// SAFETY: as above.
unsafe impl Sync for Node {}

#[derive(Default)]
struct Inner {
    /// The children, allocated on the first child.
    children: Option<Box<Children>>,
    /// A custom reason, set together with `CANCELLED | KIND_CUSTOM`.
    reason: Option<CancelReason>,
    /// Callbacks, deadline and extra parents: allocated on first use.
    extra: Option<Box<Extra>>,
}

/// A slab of child slots. A child's slot index never changes, so a dying child
/// finds its slot without searching and without touching its siblings.
#[derive(Default)]
struct Children {
    /// Children that can still be cancelled through this node.
    slots: Vec<Option<NonNull<Node>>>,
    free: Vec<usize>,
}

impl Children {
    /// The slot the next `insert` uses.
    fn next_slot(&self) -> usize {
        self.free.last().copied().unwrap_or(self.slots.len())
    }

    fn insert(&mut self, child: NonNull<Node>) -> usize {
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(child);
                slot
            }
            None => {
                self.slots.push(Some(child));
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
    /// Extra parents of an `any_of` token, with our slot in each; this node
    /// holds one count of each.
    links: Vec<(NonNull<Node>, usize)>,
}

#[cfg(not(loom))]
type ThreadId = std::thread::ThreadId;
#[cfg(loom)]
type ThreadId = loom::thread::ThreadId;

fn current_thread_id() -> ThreadId {
    crate::loom::thread::current().id()
}

fn kind_of(reason: &CancelReason) -> usize {
    match reason {
        CancelReason::Cancelled => KIND_CANCELLED,
        CancelReason::DeadlineExceeded => KIND_DEADLINE,
        _ => KIND_CUSTOM,
    }
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // User code never runs under this lock, so poisoning can only come from
    // an allocation failure; the data is still consistent.
    match inner.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// A counted reference to a [`Node`]: what a token is.
pub(crate) struct NodeRef {
    ptr: NonNull<Node>,
}

// SAFETY: a `NodeRef` only hands out `&Node`, and `Node` is `Sync`.
unsafe impl Send for NodeRef {}
// SAFETY: as above.
unsafe impl Sync for NodeRef {}

impl NodeRef {
    /// Allocates `node` (whose `refs` is 1) and returns that reference.
    fn new(node: Node) -> NodeRef {
        NodeRef {
            ptr: NonNull::from(Box::leak(Box::new(node))),
        }
    }

    /// Takes a reference to a node found through a link, unless it is being
    /// freed (`refs` is 0: then no handle and no child is left, so nobody can
    /// observe it).
    ///
    /// # Safety
    ///
    /// `ptr` must be in a child slab or the timer map, and the caller must
    /// hold the lock guarding that link: freeing removes the link under that
    /// lock before deallocating, so the node is still allocated.
    pub(super) unsafe fn pin(ptr: NonNull<Node>) -> Option<NodeRef> {
        // SAFETY: allocated, as the caller guarantees.
        let refs = unsafe { &ptr.as_ref().refs };
        let mut current = refs.load(Ordering::Relaxed);
        loop {
            if current == 0 {
                return None;
            }
            match refs.compare_exchange_weak(
                current,
                current + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(NodeRef { ptr }),
                Err(actual) => current = actual,
            }
        }
    }

    /// The node's address: its identity, and the uncounted link that slabs
    /// and the timer map store.
    pub(super) fn as_non_null(&self) -> NonNull<Node> {
        self.ptr
    }
}

impl Deref for NodeRef {
    type Target = Node;

    #[inline]
    fn deref(&self) -> &Node {
        // SAFETY: this reference is counted in `refs`, so the node is not
        // freed before it is dropped.
        unsafe { self.ptr.as_ref() }
    }
}

impl Clone for NodeRef {
    #[inline]
    fn clone(&self) -> NodeRef {
        self.count();
        NodeRef { ptr: self.ptr }
    }
}

impl Drop for NodeRef {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we give up the count this handle holds.
        if unsafe { release(self.ptr) } {
            // SAFETY: that was the last count: nothing but the links `free`
            // removes can reach the node.
            unsafe { free(self.ptr) };
        }
    }
}

/// Releases one count of the node. Returns `true` if it was the last one;
/// then the caller frees the node.
///
/// # Safety
///
/// The caller holds a count of the node (allocated until it is released), and
/// gives it up.
#[inline]
unsafe fn release(ptr: NonNull<Node>) -> bool {
    // SAFETY: allocated, see above. Only the counter is borrowed: the node may
    // be freed by another thread as soon as it is decremented.
    let refs = unsafe { &(*ptr.as_ptr()).refs };
    if refs.fetch_sub(1, Ordering::Release) != 1 {
        return false;
    }
    // Pairs with the `Release` of every other decrement: their writes to the
    // node happen before it is freed.
    fence(Ordering::Acquire);
    true
}

/// Clears a freed child's slot in `parent`, then releases the child's count
/// of it. Returns `true` if that was the parent's last count (then the caller
/// frees it).
///
/// # Safety
///
/// The child being freed holds a count of `parent` (and `slot`, unless
/// `NO_SLOT`, is its slot there); this gives that count up.
unsafe fn unlink_child(parent: NonNull<Node>, slot: usize) -> bool {
    if slot != NO_SLOT {
        // SAFETY: our count keeps the parent allocated until the release
        // below, after unlocking.
        let mut inner = unsafe { parent.as_ref() }.lock();
        // A slot that was handed out is only cleared here, and the slab only
        // forgets its slots when every one of them is free.
        if let Some(children) = inner.children.as_mut() {
            children.remove(slot);
        }
    }
    // SAFETY: the child's count of `parent`, given up after unlocking.
    unsafe { release(parent) }
}

/// Frees a node whose `refs` reached 0, then each parent that this leaves
/// with no handle and no child, in a loop (a deep chain cannot overflow the
/// stack).
///
/// # Safety
///
/// The caller made `refs` 0: nothing but the links removed here (slab slots,
/// the timer entry) can reach the node.
unsafe fn free(ptr: NonNull<Node>) {
    let mut next = Some(ptr);
    let mut more: Vec<NonNull<Node>> = Vec::new();
    while let Some(ptr) = next.take().or_else(|| more.pop()) {
        // SAFETY: `refs` is 0 and the node is still allocated; a canceller
        // holding the parent's lock may read it until it is unlinked, so it
        // is only borrowed shared until then.
        let node = unsafe { ptr.as_ref() };
        let state = node.state.load(Ordering::Relaxed);
        if state & (HAS_DEADLINE | LINKED) != 0 {
            let extra = node.lock().extra.take();
            if let Some(mut extra) = extra {
                if let Some(key) = extra.timer_key.take() {
                    timer::unregister(key);
                }
                for (parent, slot) in extra.links.drain(..) {
                    // SAFETY: this node holds a count of each linked parent.
                    if unsafe { unlink_child(parent, slot) } {
                        more.push(parent);
                    }
                }
            }
        }
        if let Some(parent) = node.parent {
            // SAFETY: this node holds a count of its parent.
            if unsafe { unlink_child(parent, node.slot) } {
                next = Some(parent);
            }
        }
        // SAFETY: no link reaches the node any more and `refs` is 0: this
        // thread owns it. (Its fields' destructors, user values among them,
        // run here, outside every lock.)
        drop(unsafe { Box::from_raw(ptr.as_ptr()) });
    }
}

/// What `on_cancel` did.
pub(crate) enum Registered {
    /// Stored under this id.
    Stored(u64),
    /// The node was already cancelled: the callback ran on the caller's thread.
    RanNow,
}

/// Nodes a cancellation still has to visit.
#[derive(Default)]
struct Work {
    /// Cancelled, with `WAITERS`: notify once no lock is held.
    notify: Vec<NodeRef>,
    /// Need the slow path (they have children, callbacks or several parents).
    slow: Vec<NodeRef>,
    /// Cancelled, with callbacks to run at the end.
    callbacks: Vec<NodeRef>,
    /// `CLOSING` nodes, parents before children: they get `CANCELLED` in
    /// reverse order once the whole subtree is visited.
    closing: Vec<NodeRef>,
}

impl Node {
    fn with_parent(parent: Option<NonNull<Node>>, slot: usize, state: usize) -> Node {
        Node {
            state: AtomicUsize::new(state),
            refs: AtomicUsize::new(1),
            event: Event::new(),
            parent,
            slot,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub(crate) fn new_root() -> NodeRef {
        NodeRef::new(Node::with_parent(None, NO_SLOT, 0))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// The parent, if any.
    fn parent(&self) -> Option<&Node> {
        // SAFETY: this node holds a count of its parent from its construction
        // until it is freed, which keeps the parent allocated for as long as
        // `self` is borrowed.
        self.parent.map(|parent| unsafe { &*parent.as_ptr() })
    }

    #[inline]
    pub(crate) fn is_cancelled(&self) -> bool {
        self.state.load(Ordering::Acquire) & CANCELLED != 0
    }

    /// Sets `flag` (if not set yet) and returns the state, by an RMW so that
    /// a concurrent canceller either sees the flag or is seen.
    #[inline]
    fn flag(&self, flag: usize) -> usize {
        let state = self.state.load(Ordering::Acquire);
        if state & flag != 0 {
            state
        } else {
            self.state.fetch_or(flag, Ordering::AcqRel)
        }
    }

    /// Registers a listener on the event, unless the node is cancelled.
    /// The caller checks again after this returns `Some` before waiting.
    #[inline]
    pub(crate) fn listen(&self) -> Option<EventListener> {
        if self.flag(WAITERS) & CANCELLED != 0 {
            return None;
        }
        Some(self.event.listen())
    }

    pub(crate) fn reason(&self) -> Option<CancelReason> {
        self.reason_once(CANCELLED)
    }

    /// The reason, once `state` has any of the `required` bits.
    fn reason_once(&self, required: usize) -> Option<CancelReason> {
        let mut node = self;
        let mut required = required;
        loop {
            let state = node.state.load(Ordering::Acquire);
            if state & required == 0 {
                // Only possible for `self`: an `Inherited` node's parent had
                // its `KIND` decided before the child was cancelled (and that
                // is visible through the load).
                return None;
            }
            required = DECIDED;
            match state & KIND_MASK {
                KIND_CANCELLED => return Some(CancelReason::Cancelled),
                KIND_DEADLINE => return Some(CancelReason::DeadlineExceeded),
                KIND_CUSTOM => return node.lock().reason.clone(),
                _ => node = node.parent()?,
            }
        }
    }

    /// The `KIND` a child born of (or cancelled with) this cancelled node gets.
    fn inherited_kind(state: usize) -> usize {
        match state & KIND_MASK {
            KIND_CUSTOM | KIND_INHERITED => KIND_INHERITED,
            kind => kind,
        }
    }

    /// Adds one count: a new handle, or a new child's hold on this node.
    #[inline]
    fn count(&self) {
        // Relaxed, as for `Arc`: the caller already holds a count.
        let old = self.refs.fetch_add(1, Ordering::Relaxed);
        if old > isize::MAX as usize {
            // Billions of leaked handles: stop before the count wraps.
            std::process::abort();
        }
    }

    /// Makes a child linked to `parent` (or born cancelled if it is).
    pub(crate) fn new_child(parent: &NodeRef) -> NodeRef {
        // The child's count of its parent.
        parent.count();
        let parent_ptr = Some(parent.as_non_null());
        let mut inner = parent.lock();
        let state = parent.flag(HAS_CHILDREN);
        if state & DECIDED != 0 {
            drop(inner);
            let born = CANCELLED | Node::inherited_kind(state);
            return NodeRef::new(Node::with_parent(parent_ptr, NO_SLOT, born));
        }
        let children = inner.children.get_or_insert_with(Default::default);
        let slot = children.next_slot();
        let child = NodeRef::new(Node::with_parent(parent_ptr, slot, 0));
        let inserted = children.insert(child.as_non_null());
        debug_assert_eq!(inserted, slot);
        child
    }

    /// Makes a node cancelled as soon as any of `parents` is.
    pub(crate) fn new_linked(parents: &[&NodeRef]) -> NodeRef {
        if parents.is_empty() {
            return Node::new_root();
        }
        let node = NodeRef::new(Node::with_parent(None, NO_SLOT, LINKED));
        for parent in parents {
            let mut inner = parent.lock();
            let state = parent.flag(HAS_CHILDREN);
            if state & DECIDED != 0 {
                drop(inner);
                let reason = parent
                    .reason_once(DECIDED)
                    .unwrap_or(CancelReason::Cancelled);
                Node::cancel(&node, reason);
                return node;
            }
            let children = inner.children.get_or_insert_with(Default::default);
            let slot = children.insert(node.as_non_null());
            drop(inner);
            // The link's count of `parent`.
            parent.count();
            // From here on `parent` may cancel `node` at any moment; that is
            // fine, the link below only serves unlinking and `deadline()`.
            let mut ours = node.lock();
            let extra = ours.extra.get_or_insert_with(Default::default);
            extra.links.push((parent.as_non_null(), slot));
        }
        node
    }

    /// Cancels `node` and every descendant. Returns whether this call did it.
    pub(crate) fn cancel(node: &NodeRef, reason: CancelReason) -> bool {
        let kind = kind_of(&reason);
        // The fast path: a node with no children, callbacks or links.
        if kind != KIND_CUSTOM {
            match node.try_fast(kind) {
                Fast::Done(waiters) => {
                    if waiters {
                        node.event.notify(usize::MAX);
                    }
                    return true;
                }
                Fast::AlreadyCancelled => return false,
                Fast::NeedsLock => {}
            }
        }
        let mut work = Work::default();
        if !node.cancel_locked(node, kind, &reason, &mut work) {
            // Another thread won. If it is still marking the descendants
            // (`CLOSING`), wait for it, so that the token reports cancelled
            // once this call returns. The winner never waits on anything
            // while it marks, so this cannot deadlock.
            node.wait_cancelled();
            return false;
        }
        while let Some(next) = work.slow.pop() {
            let state = next.state.load(Ordering::Relaxed);
            let next_kind = if state & LINKED != 0 || kind != KIND_CUSTOM {
                kind
            } else {
                KIND_INHERITED
            };
            next.cancel_locked(&next, next_kind, &reason, &mut work);
        }
        // Children before parents: reverse visiting order.
        while let Some(closing) = work.closing.pop() {
            let state = closing.state.fetch_or(CANCELLED, Ordering::AcqRel);
            if state & WAITERS != 0 {
                closing.event.notify(usize::MAX);
            }
        }
        // Every node of the subtree is published and woken: run callbacks.
        let mut panic = None;
        for node in work.callbacks {
            if let Err(payload) = node.run_callbacks(&reason) {
                panic.get_or_insert(payload);
            }
        }
        if let Some(payload) = panic {
            std::panic::resume_unwind(payload);
        }
        true
    }

    /// Blocks until `CANCELLED` is set (check, listen, check again, wait).
    fn wait_cancelled(&self) {
        loop {
            if self.is_cancelled() {
                return;
            }
            let Some(listener) = self.listen() else {
                return;
            };
            if self.is_cancelled() {
                return;
            }
            listener.wait();
        }
    }

    /// One CAS, if nothing forces the slow path.
    #[inline]
    fn try_fast(&self, kind: usize) -> Fast {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & CANCELLED != 0 {
                return Fast::AlreadyCancelled;
            }
            if state & SLOW != 0 {
                return Fast::NeedsLock;
            }
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
        if mark == CLOSING {
            work.closing.push(this.clone());
        }
        if state & HAS_CALLBACKS != 0 {
            work.callbacks.push(this.clone());
        }
        let child_kind = Node::inherited_kind(kind);
        if let Some(children) = inner.children.as_ref() {
            for &ptr in children.slots.iter().flatten() {
                // SAFETY: a child leaves this slab, under the lock we hold,
                // before it is freed.
                let child = unsafe { ptr.as_ref() };
                let queue = match child.try_fast(child_kind) {
                    Fast::Done(true) => &mut work.notify,
                    Fast::NeedsLock => &mut work.slow,
                    Fast::Done(false) | Fast::AlreadyCancelled => continue,
                };
                // A child being freed has no handle left: nobody listens to
                // it or can see its callbacks run, so it is skipped.
                // SAFETY: in our slab, under our lock.
                queue.extend(unsafe { NodeRef::pin(ptr) });
            }
        }
        drop(inner);
        if mark == CANCELLED && state & WAITERS != 0 {
            self.event.notify(usize::MAX);
        }
        // Dropping a pin may free the child, which locks this node: only
        // after unlocking.
        for node in work.notify.drain(..) {
            node.event.notify(usize::MAX);
        }
        true
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
        if self.flag(HAS_CALLBACKS) & DECIDED != 0 {
            // Cancelled, or being cancelled by a thread that has already
            // collected this node's callbacks: run it here.
            drop(inner);
            let reason = self.reason_once(DECIDED).unwrap_or(CancelReason::Cancelled);
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
    pub(crate) fn set_deadline(node: &NodeRef, deadline: Instant) -> bool {
        if deadline <= Instant::now() {
            return false;
        }
        let mut inner = node.lock();
        if node.state.load(Ordering::Acquire) & DECIDED != 0 {
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
        extra.timer_key = Some(timer::register(deadline, node.as_non_null()));
        node.state.fetch_or(HAS_DEADLINE, Ordering::Release);
        true
    }

    /// The earliest deadline of this node and all its ancestors.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let mut best: Option<Instant> = None;
        let mut more: Vec<&Node> = Vec::new();
        let mut current = Some(self);
        while let Some(n) = current.take().or_else(|| more.pop()) {
            let state = n.state.load(Ordering::Acquire);
            if state & (HAS_DEADLINE | LINKED) != 0 {
                let inner = n.lock();
                if let Some(extra) = inner.extra.as_ref() {
                    if let Some(d) = extra.deadline {
                        best = Some(best.map_or(d, |b| b.min(d)));
                    }
                    // SAFETY: `n` holds a count of each of these parents until
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

/// The outcome of the lock-free cancel attempt.
enum Fast {
    /// Cancelled by this call; `true` if someone may be listening.
    Done(bool),
    AlreadyCancelled,
    NeedsLock,
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn event_is_one_word_and_allocates_lazily() {
        // event-listener allocates its waiter list on the first `listen`, so
        // a token nobody waits on pays one pointer for it.
        assert_eq!(core::mem::size_of::<Event>(), core::mem::size_of::<usize>());
    }

    #[test]
    fn node_is_small() {
        // One allocation per token, counts included: the per-child budget is
        // tokio-util's ~112 B (plus a slot in the parent, as ours).
        let size = core::mem::size_of::<Node>();
        println!("Node: {size} bytes");
        assert!(size <= 112, "{size}");
        // A token and an `Option` of one are a pointer.
        assert_eq!(
            core::mem::size_of::<Option<NodeRef>>(),
            core::mem::size_of::<usize>()
        );
    }
}
