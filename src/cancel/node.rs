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
//! | `parent` | the parent, if any; this node holds one count of the parent's `refs` | immutable after construction |
//! | `slot`   | index of this node in the parent's child slab (`NO_SLOT` if none)    | immutable after construction |
//! | `inner`  | child slab (uncounted pointers), a custom reason, and the `Extra` allocated on first use (waiters, callbacks, deadline, extra parents of an `any_of` token) | `inner` mutex |
//!
//! # State bits
//!
//! | bits | name            | set by                                                    | cleared | what setting it publishes |
//! |------|-----------------|-----------------------------------------------------------|---------|---------------------------|
//! | 0    | `CANCELLED`     | the canceller: with `KIND` in one compare-and-swap (CAS), or after `CLOSING` | never | the reason (`KIND`, and `inner.reason` for a custom one) is final, and every descendant is cancelled |
//! | 1-2  | `KIND`          | with `CANCELLED`                                          | never   | `Cancelled`, `DeadlineExceeded`, `Custom` (value in `inner.reason`), or `Inherited` (same reason as `parent`) |
//! | 3    | `HAS_CHILDREN`  | `child_token` / `any_of`, holding `inner`, by a read-modify-write (RMW) | never | the child slab may be non-empty: cancelling must lock |
//! | 4    | `HAS_CALLBACKS` | `on_cancel`, holding `inner`, by an RMW                   | never   | callbacks may be registered: cancelling must lock |
//! | 5    | `HAS_DEADLINE`  | `cancel_at`, holding `inner`                              | never   | `extra.deadline` is set (`deadline()` and freeing lock only such nodes; cancelling locks to remove the timer entry) |
//! | 6    | `LINKED`        | `any_of`, before the node is shared                       | never   | `extra.links` holds extra parents; cancelling it stores an explicit reason |
//! | 7    | `WAITERS`       | anyone about to register a waiter, by an RMW              | never   | someone may be registered: cancelling must lock and take the waiters out |
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
//! | cancel, **fast path** (no `HAS_CHILDREN`, `HAS_CALLBACKS`, `HAS_DEADLINE`, `LINKED`, reason not custom) | one CAS: `+CANCELLED +KIND`; no lock | if `WAITERS` was set: lock, take the waiters out, unlock |
//! | cancel, **slow path** | lock; if `CANCELLED` or `CLOSING`, stop (after waiting for `CANCELLED`, if this is the token `cancel` was called on); store a custom reason; CAS `+KIND` and `+CLOSING` (node with children) or `+CANCELLED` (without, taking the waiters out under the lock); remove the timer entry; with the lock still held, cancel each child in the slab by the fast path (children that need the slow path, or whose waiters must be taken, are pinned and queued) | unlock; take the queued children's waiters, then cancel the queued slow children, one lock at a time (a work list: no recursion); then `+CANCELLED` on the `CLOSING` nodes, children before parents, taking their waiters |
//! | cancel, **user code** ([`Deferred`]) | only once every transition above is complete | wake every waiter taken out, then run the callbacks of every node cancelled, then release the pins; each even if an earlier one panicked; the first panic is re-raised last |
//! | `child_token` | count the parent (`refs`, for the child); lock parent; RMW `+HAS_CHILDREN` returns the state: if `CANCELLED`, the child is born cancelled (no slot); otherwise a slot holds a pointer to the child | — |
//! | `on_cancel` | lock; RMW `+HAS_CALLBACKS`: if `CANCELLED`, run now (after unlocking); otherwise store | — |
//! | listen (`cancelled`, `wait`, through [`crate::wait`]) | RMW `+WAITERS`: if `CANCELLED`, done; otherwise clone the waker, lock, check again, register, unlock | — |
//! | callbacks run | lock; pop one, mark it `running` (id, thread) | call it outside every lock; lock, clear `running`, take the `done_waiters` (a dropping `CancelCallback` may wait for it), unlock, wake them |
//!
//! # Panics and re-entrancy
//!
//! User code (a waker's `wake`/`clone`/`drop`, a callback, the `Drop` of a
//! reason or of a captured value) never runs under a node lock and never runs
//! before the cancellation it belongs to is complete: a waker that drops its
//! own future, cancels again or registers again finds the tree in its final
//! state, and a panic in it leaves nothing half-done. Freeing a node drops its
//! user values only after the whole chain of nodes it frees is unlinked and
//! deallocated, so a panicking destructor leaks nothing.
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
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
use std::time::Instant;

use super::CancelReason;
use super::timer;
use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering, fence};
use crate::slab::Slab;
use crate::wait::{
    Event, FirstPanic, Key, NewWaiter, WaitList, Wakeups, register_locked, withdraw_locked,
};

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
/// Someone may have registered a waiter: cancelling must take them out.
const WAITERS: usize = 1 << 7;
/// Being cancelled: `KIND` is final, the descendants are being cancelled, and
/// `CANCELLED` follows once they all are.
const CLOSING: usize = 1 << 8;
/// Cancelled, or about to be: `KIND` is final.
const DECIDED: usize = CANCELLED | CLOSING;

/// Bits that make cancelling take the lock (a deadline too: cancelling
/// removes the token's timer entry).
const SLOW: usize = HAS_CHILDREN | HAS_CALLBACKS | HAS_DEADLINE | LINKED;

/// `slot` of a node that is not in any parent's slab.
const NO_SLOT: usize = usize::MAX;

/// A callback registered with `on_cancel`.
pub(crate) type Callback = Box<dyn FnOnce(&CancelReason) + Send + 'static>;

pub(crate) struct Node {
    state: AtomicUsize,
    refs: AtomicUsize,
    parent: Option<NonNull<Node>>,
    slot: usize,
    /// Taken apart by hand in `free` (so its drop glue runs only when user
    /// values may be inside).
    inner: ManuallyDrop<Mutex<Inner>>,
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
    children: Option<Box<Slab<NonNull<Node>>>>,
    /// A custom reason, set together with `CANCELLED | KIND_CUSTOM`.
    reason: Option<CancelReason>,
    /// Callbacks, deadline and extra parents: allocated on first use.
    extra: Option<Box<Extra>>,
}

/// What only some tokens need, allocated on first use (by a waiter, a
/// deadline, an extra parent or a callback).
#[derive(Default)]
struct Extra {
    /// Tasks and threads waiting for `CANCELLED`.
    waiters: WaitList,
    deadline: Option<Instant>,
    timer_key: Option<timer::Key>,
    /// Extra parents of an `any_of` token, with our slot in each; this node
    /// holds one count of each.
    links: Vec<(NonNull<Node>, usize)>,
    /// The `on_cancel` machinery, allocated by the first callback.
    hooks: Option<Box<Hooks>>,
}

/// Registered `on_cancel` callbacks.
#[derive(Default)]
struct Hooks {
    callbacks: VecDeque<(u64, Callback)>,
    next_id: u64,
    /// The callback being run right now, and by which thread.
    running: Option<(u64, ThreadId)>,
    /// Threads waiting (in `unregister`) for `running` to finish.
    done_waiters: WaitList,
}

impl Inner {
    /// The callback machinery, if any callback was ever registered.
    fn hooks(&mut self) -> Option<&mut Hooks> {
        self.extra.as_mut()?.hooks.as_deref_mut()
    }

    /// The callback machinery, allocated if needed.
    fn hooks_or_new(&mut self) -> &mut Hooks {
        self.extra
            .get_or_insert_with(Default::default)
            .hooks
            .get_or_insert_with(Default::default)
    }
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
/// User values the nodes hold (a custom reason, callbacks never run and what
/// they captured, registered wakers) are dropped only after every node of the
/// chain is unlinked and deallocated; a panicking `Drop` among them does not
/// stop the others, and the first panic is re-raised at the end. So a
/// panicking destructor never leaks a parent.
///
/// # Safety
///
/// The caller made `refs` 0: nothing but the links removed here (slab slots,
/// the timer entry) can reach the node.
unsafe fn free(ptr: NonNull<Node>) {
    let mut next = Some(ptr);
    let mut more: Vec<NonNull<Node>> = Vec::new();
    let mut leftovers: Vec<Inner> = Vec::new();
    while let Some(ptr) = next.take().or_else(|| more.pop()) {
        // SAFETY: `refs` is 0 and the node is still allocated; a canceller
        // holding the parent's lock may read it until it is unlinked, so it
        // is only borrowed shared until then.
        let node = unsafe { ptr.as_ref() };
        let state = node.state.load(Ordering::Relaxed);
        if state & (HAS_DEADLINE | LINKED) != 0 {
            let mut inner = node.lock();
            if let Some(extra) = inner.extra.as_mut() {
                if let Some(key) = extra.timer_key.take() {
                    timer::unregister(key);
                }
                let links = std::mem::take(&mut extra.links);
                drop(inner);
                for (parent, slot) in links {
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
        // thread owns it.
        let mut node = unsafe { Box::from_raw(ptr.as_ptr()) };
        // The flags say what may be inside `inner`: user values (a custom
        // reason; callbacks or wakers, which live in `extra`) and children.
        let user = HAS_CALLBACKS | HAS_DEADLINE | LINKED | WAITERS;
        let custom = state & KIND_MASK == KIND_CUSTOM;
        if state & (user | HAS_CHILDREN) == 0
            && !custom
            && cfg!(all(not(loom), target_os = "linux"))
        {
            // Nothing inside (the common case): only the memory goes. The
            // mutex is not dropped: on Linux it is a futex word that holds
            // no resource, so skipping its drop frees exactly the same.
            drop(node);
            continue;
        }
        // SAFETY: `inner` is taken exactly once, here, just before the node's
        // memory goes (the rest of `Node` has nothing to drop by hand).
        let inner = unsafe { ManuallyDrop::take(&mut node.inner) };
        drop(node);
        let inner = inner.into_inner().unwrap_or_else(|p| p.into_inner());
        if state & user != 0 || custom {
            // Kept to be dropped last.
            leftovers.push(inner);
        } else {
            // Only children (pointers, no user values).
            drop(inner);
        }
    }
    if leftovers.is_empty() {
        return;
    }
    let mut panics = FirstPanic::new();
    for inner in leftovers {
        panics.run(|| drop(inner));
    }
    panics.resume();
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
            if !std::thread::panicking() {
                panics.resume();
            }
        }
    }
}

/// A token's node waiting to be cancelled, as the waiting core sees it.
pub(crate) struct Cancellation<'a>(pub(crate) &'a Node);

impl Event for Cancellation<'_> {
    type Output = ();
    type Key = Key;

    #[inline]
    fn check(&self) -> Option<()> {
        self.0.is_cancelled().then_some(())
    }

    fn listen(&self, key: &mut Option<Key>, waiter: NewWaiter<'_>) -> Result<(), ()> {
        self.0.listen(key, waiter)
    }

    fn unlisten(&self, key: Key) -> bool {
        self.0.unlisten(key)
    }
}

/// A callback of a node still running on another thread, as the waiting core
/// sees it (a dropped `CancelCallback` waits for it to return).
struct CallbackDone<'a> {
    node: &'a Node,
    id: u64,
}

impl CallbackDone<'_> {
    /// Whether callback `id` is no longer running on another thread.
    fn done(&self, inner: &Inner) -> bool {
        let running = inner
            .extra
            .as_ref()
            .and_then(|extra| extra.hooks.as_ref())
            .and_then(|hooks| hooks.running);
        !matches!(running, Some((id, thread)) if id == self.id && thread != current_thread_id())
    }
}

impl Event for CallbackDone<'_> {
    type Output = ();
    type Key = Key;

    fn check(&self) -> Option<()> {
        let inner = self.node.lock();
        self.done(&inner).then_some(())
    }

    fn listen(&self, key: &mut Option<Key>, waiter: NewWaiter<'_>) -> Result<(), ()> {
        let waiter = waiter.to_waiter();
        let inner = self.node.lock();
        let done = self.done(&inner);
        register_locked(
            inner,
            |inner| &mut inner.hooks_or_new().done_waiters,
            done,
            key,
            waiter,
        )
    }

    fn unlisten(&self, key: Key) -> bool {
        withdraw_locked(
            self.node.lock(),
            |inner| inner.hooks().map(|hooks| &mut hooks.done_waiters),
            key,
        )
    }
}

impl Node {
    fn with_parent(parent: Option<NonNull<Node>>, slot: usize, state: usize) -> Node {
        Node {
            state: AtomicUsize::new(state),
            refs: AtomicUsize::new(1),
            parent,
            slot,
            inner: ManuallyDrop::new(Mutex::new(Inner::default())),
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

    /// Registers `waiter` (or refreshes `*key`'s registration), unless the
    /// node is cancelled: then `Err`. Step 3 of the protocol, "check again",
    /// happens under the lock the canceller takes to collect the waiters.
    fn listen(&self, key: &mut Option<Key>, waiter: NewWaiter<'_>) -> Result<(), ()> {
        // The RMW makes a lock-free canceller see that it must collect.
        if self.flag(WAITERS) & CANCELLED != 0 {
            return Err(());
        }
        if let (Some(old), NewWaiter::Task(waker)) = (*key, waiter) {
            let mut inner = self.lock();
            if inner
                .extra
                .as_mut()
                .is_some_and(|extra| extra.waiters.will_wake(old, waker))
            {
                return if self.is_cancelled() { Err(()) } else { Ok(()) };
            }
        }
        // Cloning a waker is user code: before locking.
        let waiter = waiter.to_waiter();
        let inner = self.lock();
        let cancelled = self.is_cancelled();
        register_locked(
            inner,
            |inner| &mut inner.extra.get_or_insert_with(Default::default).waiters,
            cancelled,
            key,
            waiter,
        )
    }

    /// Withdraws a registration; `false` if a canceller had taken it out.
    fn unlisten(&self, key: Key) -> bool {
        withdraw_locked(
            self.lock(),
            |inner| inner.extra.as_mut().map(|extra| &mut extra.waiters),
            key,
        )
    }

    /// Takes every registered waiter out, to be woken after unlocking.
    fn take_waiters(&self, inner: &mut Inner, into: &mut Wakeups) {
        if let Some(extra) = inner.extra.as_mut() {
            extra.waiters.take_all(into);
        }
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
        let slot = children.next_index();
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
        deferred.run().resume();
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
            timer::unregister(key);
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
                // SAFETY: a child leaves this slab, under the lock we hold,
                // before it is freed.
                let child = unsafe { ptr.as_ref() };
                let queue = match child.try_fast(child_kind, SLOW) {
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
        // One node lock at a time: the children's waiters after unlocking.
        for node in std::mem::take(&mut work.notify) {
            let mut inner = node.lock();
            node.take_waiters(&mut inner, &mut work.wakeups);
            drop(inner);
            work.done.push(node);
        }
        true
    }

    /// Runs this node's callbacks one at a time, outside the lock, each even
    /// if an earlier one panicked (the first panic goes to `panics`).
    fn run_callbacks(&self, reason: &CancelReason, panics: &mut FirstPanic) {
        loop {
            let mut inner = self.lock();
            let Some(hooks) = inner.hooks() else {
                break;
            };
            let Some((id, callback)) = hooks.callbacks.pop_front() else {
                break;
            };
            hooks.running = Some((id, current_thread_id()));
            drop(inner);
            panics.run(move || callback(reason));
            let mut wakeups = Wakeups::new();
            let mut inner = self.lock();
            if let Some(hooks) = inner.hooks() {
                hooks.running = None;
                // Wake a `CancelCallback` drop waiting for this one to finish.
                hooks.done_waiters.take_all(&mut wakeups);
            }
            drop(inner);
            wakeups.wake_all(panics);
        }
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
        let hooks = inner.hooks_or_new();
        let id = hooks.next_id;
        hooks.next_id += 1;
        hooks.callbacks.push_back((id, callback));
        Registered::Stored(id)
    }

    /// Unregisters callback `id`. Returns `true` if it was removed before it
    /// started. If it is running on another thread, waits until it returns.
    pub(crate) fn unregister(&self, id: u64) -> bool {
        let mut inner = self.lock();
        let Some(hooks) = inner.hooks() else {
            return false;
        };
        if let Some(pos) = hooks.callbacks.iter().position(|(i, _)| *i == id) {
            let removed = hooks.callbacks.remove(pos);
            drop(inner);
            drop(removed);
            return true;
        }
        drop(inner);
        crate::wait::block_on(&CallbackDone { node: self, id }, None);
        false
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
    fn node_is_small() {
        // One allocation per token, counts included: the per-child budget is
        // tokio-util's ~112 B (plus a slot in the parent, as ours). Waiters,
        // deadlines and callbacks live in `Extra`, allocated on first use.
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
