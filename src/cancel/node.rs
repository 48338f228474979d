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
//! | `state`  | the bits below                                                       | atomic |
//! | `event`  | [`event_listener::Event`]: async waiters and blocked threads alike; it allocates its list only when someone first listens | its own |
//! | `parent` | strong reference to the parent (a child keeps its ancestors alive)   | immutable after construction |
//! | `slot`   | index of this node in the parent's child slab (`NO_SLOT` if none)    | immutable after construction |
//! | `inner`  | child slab (weak references), a custom reason, and the rarely used `Extra` (callbacks, deadline, extra parents of an `any_of` token) | `inner` mutex |
//!
//! # State bits
//!
//! | bits | name            | set by                                                    | cleared | what setting it publishes |
//! |------|-----------------|-----------------------------------------------------------|---------|---------------------------|
//! | 0    | `CANCELLED`     | the canceller: with `KIND` in one compare-and-swap (CAS), or after `CLOSING` | never | the reason (`KIND`, and `inner.reason` for a custom one) is final, and every descendant is cancelled |
//! | 1-2  | `KIND`          | with `CANCELLED`                                          | never   | `Cancelled`, `DeadlineExceeded`, `Custom` (value in `inner.reason`), or `Inherited` (same reason as `parent`) |
//! | 3    | `HAS_CHILDREN`  | `child_token` / `any_of`, holding `inner`, by a read-modify-write (RMW) | never | the child slab may be non-empty: cancelling must lock |
//! | 4    | `HAS_CALLBACKS` | `on_cancel`, holding `inner`, by an RMW                   | never   | callbacks may be registered: cancelling must lock |
//! | 5    | `HAS_DEADLINE`  | `cancel_at`, holding `inner`                              | never   | `extra.deadline` is set (`deadline()` locks only such nodes) |
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
//! | cancel, **slow path** | lock; if `CANCELLED` or `CLOSING`, stop (after waiting for `CANCELLED`, if this is the token `cancel` was called on); store a custom reason; CAS `+KIND` and `+CLOSING` (node with children) or `+CANCELLED` (without); with the lock still held, cancel each live child by the fast path (children that need the slow path are queued) | unlock; notify if `CANCELLED` and `WAITERS`; then the queued children, one lock at a time (a work list: no recursion); then `+CANCELLED` on the `CLOSING` nodes, children before parents, notifying each; then the callbacks of every node cancelled |
//! | `child_token` | lock parent; RMW `+HAS_CHILDREN` returns the state: if `CANCELLED`, the child is born cancelled (no slot); otherwise a slot holds a `Weak` to the child | — |
//! | `on_cancel` | lock; RMW `+HAS_CALLBACKS`: if `CANCELLED`, run now (after unlocking); otherwise store | — |
//! | listen (`cancelled`, `wait`) | RMW `+WAITERS`: if `CANCELLED`, done; otherwise listen, check again, wait | — |
//! | callbacks run | lock; pop one, mark it `running` (id, thread) | call it outside every lock; lock, clear `running`, notify (a dropping `CancelCallback` may wait for it) |
//! | node drop (last `Arc`) | lock each parent, clear our slot | drop the timer entry; release the parents; a parent released for the last time is unlinked the same way, in a loop (no recursion) |
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
//! Lock order: a thread holds at most one node lock at a time, except that it
//! may take the global timer lock while holding a node lock (never the reverse).
//!
//! Dying children: a parent's slab holds `Weak` references, so a child whose
//! last handle is gone is never kept alive by its parent. A canceller that finds
//! a child mid-drop (`Weak::upgrade` fails) skips it: nobody can observe it.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::time::Instant;

use event_listener::{Event, EventListener, Listener};

use super::CancelReason;
use super::timer;
use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering};

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
    event: Event,
    parent: Option<Arc<Node>>,
    slot: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Weak references to the children, allocated on the first child.
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
    slots: Vec<Option<Weak<Node>>>,
    free: Vec<usize>,
}

impl Children {
    fn insert(&mut self, child: Weak<Node>) -> usize {
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

fn kind_of(reason: &CancelReason) -> usize {
    match reason {
        CancelReason::Cancelled => KIND_CANCELLED,
        CancelReason::DeadlineExceeded => KIND_DEADLINE,
        _ => KIND_CUSTOM,
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
    notify: Vec<Arc<Node>>,
    /// Need the slow path (they have children, callbacks or several parents).
    slow: Vec<Arc<Node>>,
    /// Cancelled, with callbacks to run at the end.
    callbacks: Vec<Arc<Node>>,
    /// Children whose last reference we held under a lock: dropped after it.
    dead: Vec<Node>,
    /// `CLOSING` nodes, parents before children: they get `CANCELLED` in
    /// reverse order once the whole subtree is visited.
    closing: Vec<Arc<Node>>,
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
        match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
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
                _ => node = node.parent.as_deref()?,
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

    /// Makes a child linked to `parent` (or born cancelled if it is).
    pub(crate) fn new_child(parent: &Arc<Node>) -> Arc<Node> {
        let mut inner = parent.lock();
        let state = parent.flag(HAS_CHILDREN);
        if state & DECIDED != 0 {
            drop(inner);
            let born = CANCELLED | Node::inherited_kind(state);
            return Arc::new(Node::with_parent(
                Some(parent.clone()),
                NO_SLOT,
                born,
                Inner::default(),
            ));
        }
        let children = inner.children.get_or_insert_with(Default::default);
        let slot = children
            .free
            .last()
            .copied()
            .unwrap_or(children.slots.len());
        let child = Arc::new(Node::with_parent(
            Some(parent.clone()),
            slot,
            0,
            Inner::default(),
        ));
        let inserted = children.insert(Arc::downgrade(&child));
        debug_assert_eq!(inserted, slot);
        child
    }

    /// Makes a node cancelled as soon as any of `parents` is.
    pub(crate) fn new_linked(parents: &[&Arc<Node>]) -> Arc<Node> {
        if parents.is_empty() {
            return Node::new_root();
        }
        let node = Arc::new(Node::with_parent(None, NO_SLOT, LINKED, Inner::default()));
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
            let slot = children.insert(Arc::downgrade(&node));
            drop(inner);
            // From here on `parent` may cancel `node` at any moment; that is
            // fine, the link below only serves unlinking and `deadline()`.
            let mut ours = node.lock();
            let extra = ours.extra.get_or_insert_with(Default::default);
            extra.links.push(((*parent).clone(), slot));
        }
        node
    }

    /// Cancels `node` and every descendant. Returns whether this call did it.
    pub(crate) fn cancel(node: &Arc<Node>, reason: CancelReason) -> bool {
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
        this: &Arc<Node>,
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
            for slot in &children.slots {
                let Some(child) = slot.as_ref().and_then(Weak::upgrade) else {
                    continue;
                };
                match child.try_fast(child_kind) {
                    Fast::Done(true) => work.notify.push(child),
                    Fast::NeedsLock => work.slow.push(child),
                    Fast::Done(false) | Fast::AlreadyCancelled => {
                        // If the child's last handle went away since the
                        // upgrade, dropping it here would unlink it from this
                        // node, whose lock we hold: defer that drop.
                        if let Some(last) = Arc::into_inner(child) {
                            work.dead.push(last);
                        }
                    }
                }
            }
        }
        drop(inner);
        work.dead.clear();
        if mark == CANCELLED && state & WAITERS != 0 {
            self.event.notify(usize::MAX);
        }
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
    pub(crate) fn set_deadline(node: &Arc<Node>, deadline: Instant) -> bool {
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

/// The outcome of the lock-free cancel attempt.
enum Fast {
    /// Cancelled by this call; `true` if someone may be listening.
    Done(bool),
    AlreadyCancelled,
    NeedsLock,
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
    fn event_is_one_word_and_allocates_lazily() {
        // event-listener allocates its waiter list on the first `listen`, so
        // a token nobody waits on pays one pointer for it.
        assert_eq!(core::mem::size_of::<Event>(), core::mem::size_of::<usize>());
    }

    #[test]
    fn node_is_small() {
        // Arc header (16) + node: the per-child budget is tokio-util's ~112 B.
        let size = core::mem::size_of::<Node>();
        println!("Node: {size} bytes (+16 for the Arc counts)");
        assert!(size + 16 <= 112, "{size}");
    }
}
