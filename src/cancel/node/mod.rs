//! The cancellation state machine: one heap node per token, two atomic words.
//!
//! A [`CancellationToken`](super::CancellationToken) is a [`NodeRef`]: a
//! counted pointer to one heap [`Node`]. Clones of a token share the node
//! (clone and drop touch only its `refs` word). The files of this module are
//! the only code that reads or writes a node's fields, one job each:
//!
//! | file | job |
//! |------|-----|
//! | `mod.rs` | the node, its state word and reason |
//! | `refs.rs` | the reference count, pinning and freeing: all of the lifetime `unsafe`, with its invariants **R1–R6** |
//! | `tree.rs` | making children (`child_token`, `any_of`) |
//! | `cancel.rs` | the cancel algorithm and the user code it defers ([`Deferred`]) |
//! | `waiters.rs` | the waiting core's view of a token ([`Cancellation`]) |
//! | `callbacks.rs` | `on_cancel` callbacks |
//! | `deadline.rs` | deadlines and the timer thread's entries |
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
//!
//! Lifetime (the `refs` word), the locking rule and the lock order are in
//! `refs.rs` (invariants R1–R6, cited by `SAFETY:` comments across the module).

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::time::Instant;

use super::CancelReason;
use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::slab::Slab;
use crate::wait::WaitList;

mod callbacks;
mod cancel;
mod deadline;
mod refs;
mod tree;
mod waiters;

use callbacks::Hooks;
pub(crate) use callbacks::Registered;
pub(crate) use cancel::Deferred;
pub(crate) use refs::NodeRef;
pub(crate) use waiters::Cancellation;

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
// `refs` protocol (R3: parents; R4: children, read only under our lock); everything shared and mutable is behind an
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
    timer_key: Option<super::timer::Key>,
    /// Extra parents of an `any_of` token, with our slot in each; this node
    /// holds one count of each.
    links: Vec<(NonNull<Node>, usize)>,
    /// The `on_cancel` machinery, allocated by the first callback.
    hooks: Option<Box<Hooks>>,
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

    /// Locks the node. R5 (`refs.rs`): only while the node is kept
    /// allocated by a count the caller holds (of it or of a descendant), or
    /// by owning it during `free`; and no user code runs until it is unlocked.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        crate::loom::lock(&self.inner)
    }

    /// The parent, if any.
    fn parent(&self) -> Option<&Node> {
        // SAFETY: R3: this node holds a count of its parent from its construction
        // until it is freed, which keeps the parent allocated for as long as
        // `self` is borrowed.
        self.parent.map(|parent| unsafe { &*parent.as_ptr() })
    }

    #[inline]
    pub(crate) fn is_cancelled(&self) -> bool {
        // ORDERING: `Acquire` pairs with the canceller's `Release` CAS (or
        // `fetch_or`): seeing `CANCELLED` makes the reason, the cancelled
        // subtree and everything the canceller did before visible.
        self.state.load(Ordering::Acquire) & CANCELLED != 0
    }

    /// Sets `flag` (if not set yet) and returns the state, by an RMW so that
    /// a concurrent canceller either sees the flag or is seen.
    #[inline]
    fn flag(&self, flag: usize) -> usize {
        // ORDERING: `Acquire` as in `is_cancelled`: the caller acts on the
        // `CANCELLED`/`DECIDED` bits of the returned state.
        let state = self.state.load(Ordering::Acquire);
        if state & flag != 0 {
            state
        } else {
            // ORDERING: an RMW on the canceller's word: it and the
            // canceller's CAS are totally ordered, so one sees the other
            // (`AcqRel`: publish the flag, acquire a cancellation).
            self.state.fetch_or(flag, Ordering::AcqRel)
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
            // ORDERING: `Acquire` pairs with the canceller's `Release`, which
            // published `KIND` and a custom reason.
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
}

fn kind_of(reason: &CancelReason) -> usize {
    match reason {
        CancelReason::Cancelled => KIND_CANCELLED,
        CancelReason::DeadlineExceeded => KIND_DEADLINE,
        _ => KIND_CUSTOM,
    }
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
