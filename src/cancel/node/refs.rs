//! The reference count of a node, and the only `unsafe` that decides when a
//! node's memory goes.
//!
//! # Invariants
//!
//! The module's `SAFETY:` comments cite these by number.
//!
//! - **R1 (what `refs` counts).** A node's `refs` counts its handles (tokens,
//!   `CancelCallback`s), its *pins* (references a canceller or the timer
//!   thread takes on a node it found through an uncounted link, R4) and its
//!   children: each child, including one born cancelled or linked by
//!   `any_of`, holds one count of each of its parents. Slab slots and timer
//!   entries are not counted.
//! - **R2 (allocated while counted).** A node is allocated while `refs > 0`.
//!   The thread whose release brings `refs` to 0 owns the node and frees it
//!   ([`free`]); nobody else may touch it afterwards except through a link it
//!   found under that link's lock (R4).
//! - **R3 (ancestors outlive descendants).** A node holds its count of each
//!   parent from construction until it is freed, and gives it up only after
//!   removing itself from that parent's slab. So every ancestor (and every
//!   `any_of` parent) of an allocated node is allocated, and a `&Node`
//!   borrowed from a counted node may be followed to its ancestors.
//! - **R4 (uncounted links).** A slab slot or a timer entry pointing to a
//!   node is removed, under the lock that guards it (the parent's node lock;
//!   the timer's lock), before the node is deallocated. So a pointer read
//!   under that lock points to an allocated node, and [`NodeRef::pin`] turns
//!   it into a count unless `refs` is already 0 (then the node is being freed
//!   and nobody can observe it: skipping it is correct).
//! - **R5 (the locking rule).** A thread locks a node only while the node is
//!   allocated by R2 or R3: it holds a count of the node or of one of its
//!   descendants (`reason()` and `deadline()` walk ancestors this way), or it
//!   owns the node because its `refs` reached 0 (`free` locks it to remove
//!   its timer entry and links). A count that keeps a node allocated is
//!   released only after unlocking it, so no node is freed while another
//!   thread is inside its lock.
//! - **R6 (lock order).** A thread holds at most one node lock at a time,
//!   and may take the timer's lock while holding a node lock, never the
//!   reverse. The timer pins due nodes under its own lock without locking
//!   them. No user code runs under any of these locks.
//!
//! | who, when | how | afterwards |
//! |-----------|-----|------------|
//! | clone a handle; make a child (for its parent) | `fetch_add(1)` | — |
//! | drop a handle or pin | `fetch_sub(1)` | at 0: free |
//! | pin a node found in a slab or the timer map (holding that lock) | CAS `+1` unless `refs` is 0 | a node at 0 is being freed: skip it (R4) |
//! | free a node | remove its timer entry (timer lock), then for each parent: lock it, clear our slot, unlock it, and only then release our count of it | a parent released to 0 is freed the same way, in a loop (no recursion) |

use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;

use super::{
    HAS_CALLBACKS, HAS_CHILDREN, HAS_DEADLINE, Inner, KIND_CUSTOM, KIND_MASK, LINKED, NO_SLOT,
    Node, WAITERS,
};
use crate::loom::{Ordering, fence};
use crate::wait::FirstPanic;

/// A counted reference to a [`Node`]: what a token is.
pub(crate) struct NodeRef {
    ptr: NonNull<Node>,
}

// SAFETY: a `NodeRef` only hands out `&Node` (allocated by R2 while the
// reference lives), and `Node` is `Sync`.
unsafe impl Send for NodeRef {}
// SAFETY: as above.
unsafe impl Sync for NodeRef {}

impl NodeRef {
    /// Allocates `node` (whose `refs` is 1) and returns that reference.
    pub(super) fn new(node: Node) -> NodeRef {
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
        // SAFETY: R4: allocated, as the caller holds the link's lock.
        let refs = unsafe { &ptr.as_ref().refs };
        let mut current = refs.load(Ordering::Relaxed);
        loop {
            if current == 0 {
                return None;
            }
            // ORDERING: `Acquire`, as for an `Arc` upgrade: the pin sees the
            // node as its other holders left it.
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
    pub(crate) fn as_non_null(&self) -> NonNull<Node> {
        self.ptr
    }
}

impl Deref for NodeRef {
    type Target = Node;

    #[inline]
    fn deref(&self) -> &Node {
        // SAFETY: R1, R2: this reference is counted in `refs`, so the node is not
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
        // SAFETY: R1: we give up the count this handle holds.
        if unsafe { release(self.ptr) } {
            // SAFETY: R2: that was the last count: nothing but the links `free`
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
    // SAFETY: R2: allocated, see above. Only the counter is borrowed: the node may
    // be freed by another thread as soon as it is decremented.
    let refs = unsafe { &(*ptr.as_ptr()).refs };
    // ORDERING: `Release`: this holder's writes to the node happen before
    // whoever frees it (the `Acquire` fence below).
    if refs.fetch_sub(1, Ordering::Release) != 1 {
        return false;
    }
    // ORDERING: pairs with the `Release` of every other decrement: their
    // writes to the node happen before it is freed.
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
        // SAFETY: R3, R5: our count keeps the parent allocated until the release
        // below, after unlocking.
        let mut inner = unsafe { parent.as_ref() }.lock();
        // A slot that was handed out is only cleared here, and the slab only
        // forgets its slots when every one of them is free.
        if let Some(children) = inner.children.as_mut() {
            children.remove(slot);
        }
    }
    // SAFETY: R3, R5: the child's count of `parent`, given up after unlocking.
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
        // SAFETY: R2, R4: `refs` is 0 and the node is still allocated; a canceller
        // holding the parent's lock may read it until it is unlinked, so it
        // is only borrowed shared until then.
        let node = unsafe { ptr.as_ref() };
        let state = node.state.load(Ordering::Relaxed);
        if state & (HAS_DEADLINE | LINKED) != 0 {
            let mut inner = node.lock();
            if let Some(extra) = inner.extra.as_mut() {
                if let Some(key) = extra.timer_key.take() {
                    super::deadline::unregister(key);
                }
                let links = std::mem::take(&mut extra.links);
                drop(inner);
                for (parent, slot) in links {
                    // SAFETY: R3: this node holds a count of each linked parent.
                    if unsafe { unlink_child(parent, slot) } {
                        more.push(parent);
                    }
                }
            }
        }
        if let Some(parent) = node.parent {
            // SAFETY: R3: this node holds a count of its parent.
            if unsafe { unlink_child(parent, node.slot) } {
                next = Some(parent);
            }
        }
        // SAFETY: R2, R4: no link reaches the node any more and `refs` is 0: this
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
        // SAFETY: R2: `inner` is taken exactly once, here, just before the node's
        // memory goes (the rest of `Node` has nothing to drop by hand).
        let inner = unsafe { ManuallyDrop::take(&mut node.inner) };
        drop(node);
        let inner = crate::loom::into_inner(inner);
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
    panics.resume_unless_unwinding();
}

impl Node {
    /// Adds one count: a new handle, or a new child's hold on this node.
    #[inline]
    pub(super) fn count(&self) {
        // Relaxed, as for `Arc`: the caller already holds a count.
        let old = self.refs.fetch_add(1, Ordering::Relaxed);
        if old > isize::MAX as usize {
            // Billions of leaked handles: stop before the count wraps.
            std::process::abort();
        }
    }
}
