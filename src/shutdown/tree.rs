//! The subsystem tree: parents and children, phase order, grace periods,
//! forced aborts and failures. Everything here happens under the tree's one
//! lock; the hot path (taking and dropping guards) never takes it, except
//! for the single drop that ends a subsystem's drain.
//!
//! # Invariants
//!
//! The code's comments cite these by number.
//!
//! - **I1** Every [`Node`] lives under the tree lock. A node's `started_at`
//!   is set, under the lock, in the same step that sets the subsystem's
//!   `TRIGGERED` bit ([`Count::start`]); its `drained_at` is set, under the
//!   lock, by the first tree operation that sees the state word drained:
//!   the report of the one transition into drained ([`TreeState::drained`]),
//!   or, if a reader gets there first, that reader ([`TreeState::sync`]).
//!   Every tree operation that reads a node's drain state syncs it first, so
//!   once the word says drained ([`Shutdown::is_drained`], `wait`, `drained`,
//!   `Select::drained`), the tree does too (`report`, `is_forced`): nothing
//!   can observe the window between the two steps.
//!
//!   [`Shutdown::is_drained`]: super::Shutdown::is_drained
//! - **I2** No user code runs and no `Arc<Subsystem>` is dropped while the lock is
//!   held: wakers, token callbacks, tracing subscribers, timers to arm and
//!   strong references are collected in [`Effects`] and handled after
//!   unlocking. (Dropping an `Arc<Subsystem>` may run `Inner::drop`, which takes
//!   the lock.)
//! - **I3** A child holds one count on its parent's state word from its
//!   creation until it is drained or gone (`holds_parent`), so a parent is
//!   drained only after its own guards *and* all its children.
//! - **I4** A subsystem starts (I1) only once it is requested, its parent, if
//!   requested, has started, and each requested dependency (`after`) is
//!   drained or gone. Whatever changes one of these (a request, a parent's
//!   start, a dependency's drain or departure) retries the start of the
//!   nodes that wait on it, so no start is lost. A force starts it anyway.
//! - **I5** Indices in `children`, `deps` and `dependents` always name live
//!   slab entries: a node whose subsystem is gone is removed together with
//!   every index naming it, unless a report must still show it: it started
//!   while its parent was shutting down too (a tree-wide shutdown's report
//!   lists every subsystem that took part). Then it stays as a *tombstone*,
//!   owned by its parent's node: when that node is removed, its whole
//!   subtree (tombstones only: a live child keeps its parent alive) goes with
//!   it. Nothing else keeps a tombstone, so every node is reachable from a
//!   live subsystem, and nodes of subsystems that end while the service runs
//!   (a finished, abandoned or forced connection, with its requests) do not
//!   accumulate.
//! - **I6** Lock order: the tree lock, then a subsystem's registry lock;
//!   never the reverse.
//! - **I7** The phase graph has no cycle: `after` refuses an order under
//!   which a start would wait, through phases and the tree, for itself.

use alloc::sync::Weak;
use std::borrow::Cow;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::count::{Count, ONE_GUARD};
use super::error::PhaseError;
use super::failure::{Failure, FailureReason, OnFailure};
use super::path::{child_path, display_path};
use super::report::{DrainReport, Straggler, SubsystemReport, SubsystemStatus};
use super::trace::Trace;
use crate::cancel::Deferred;
use crate::loom::{Mutex, MutexGuard, Ordering};
use crate::slab::Slab;
use crate::wait::{FirstPanic, Wakeups};
use crate::{CancelReason, CancellationToken};

/// One subsystem: its count of in-flight work, its two tokens, and its place
/// in the tree. (Derefs to its [`Count`].)
#[repr(C)] // `count` first: its state word shares a cache line with the
// `Arc`'s reference count, the other word every guard writes.
pub(super) struct Subsystem {
    count: Count,
    /// Cancelled when this subsystem starts shutting down (its own root: a
    /// phase may hold it back after its parent started).
    pub(super) soft: CancellationToken,
    /// Cancelled when the grace period runs out or on `force` (a child of
    /// the parent's hard token: forcing a parent forces its subtree).
    pub(super) hard: CancellationToken,
    pub(super) tree: Arc<Tree>,
    /// This subsystem's node in the tree.
    pub(super) id: usize,
    /// `http/conn 127.0.0.1:5000`; empty for a root.
    pub(super) path: Arc<str>,
    /// The guard tokens: what guards and tracked futures hand out as their
    /// `token()` and `hard_token()`. Children of `soft` and `hard`, shared by
    /// the subsystem's guards, so that a guard costs no allocation.
    pub(super) guard_soft: CancellationToken,
    pub(super) guard_hard: CancellationToken,

    /// Keeps the parent alive while a child is (the tree itself holds only
    /// weak references), so a report from the root finds every live
    /// subsystem.
    _parent: Option<Arc<Subsystem>>,
}

impl Subsystem {
    fn new(
        tree: Arc<Tree>,
        id: usize,
        path: Arc<str>,
        parent: Option<&Arc<Subsystem>>,
        call_sites: bool,
    ) -> Self {
        let soft = CancellationToken::new();
        let hard = parent.map_or_else(CancellationToken::new, |p| p.hard.child_token());
        Subsystem {
            count: Count::new(call_sites),
            guard_soft: soft.child_token(),
            guard_hard: hard.child_token(),
            soft,
            hard,
            tree,
            id,
            path,
            _parent: parent.cloned(),
        }
    }
}

impl Subsystem {
    /// Whether the work here was told to abort: the hard token, or the
    /// guards' hard token (cancelled first, as a child is before its parent
    /// is marked, or by hand, which tells every guard the same).
    pub(super) fn is_forced(&self) -> bool {
        self.guard_hard.is_cancelled() || self.hard.is_cancelled()
    }
}

impl core::ops::Deref for Subsystem {
    type Target = Count;

    fn deref(&self) -> &Count {
        &self.count
    }
}

impl Drop for Subsystem {
    fn drop(&mut self) {
        // Nobody can reach this subsystem any more, so its work is over:
        // tokens taken from it and still held elsewhere are cancelled (if it
        // had not started shutting down, they would otherwise never be).
        let (_, deferred) = self
            .soft
            .cancel_deferred(CancelReason::custom("subsystem dropped"));
        // The tree releases its hold on the parent and frees its node (I5).
        self.tree.gone(self.id, self.is_forced());
        // Not while unwinding (a guard dropped by a panic).
        deferred.run().resume_unless_unwinding();
    }
}

/// One tree of subsystems, shared by all of them.
pub(super) struct Tree {
    state: Mutex<TreeState>,
}

struct TreeState {
    nodes: Slab<Node>,
    failures: Vec<Failure>,
}

/// A subsystem's place in the tree (I1, I5).
struct Node {
    inner: Weak<Subsystem>,
    path: Arc<str>,
    parent: Option<usize>,
    children: Vec<usize>,
    /// Subsystems that must be drained before this one starts (`after`).
    deps: Vec<usize>,
    /// Subsystems that wait for this one's drain.
    dependents: Vec<usize>,
    /// Why shutdown was asked of this subsystem, once it was.
    requested: Option<CancelReason>,
    /// I3.
    holds_parent: bool,
    grace: Option<Duration>,
    on_failure: OnFailure,
    started_at: Option<Instant>,
    drained_at: Option<Instant>,
    forced_at: Option<Instant>,
    /// The `Inner` was dropped (a tombstone, I5).
    gone: bool,
    /// The force hook ran (it traces and force-starts once).
    force_hooked: bool,
    /// What was still running when it was forced: the guards a report can
    /// name, and how many others.
    forced_alive: (Vec<Straggler>, usize),
}

/// What the tree decided under its lock, done after unlocking (I2).
#[derive(Default)]
pub(super) struct Effects {
    cancels: Vec<Deferred>,
    wakeups: Wakeups,
    deadlines: Vec<(CancellationToken, Instant)>,
    keep: Vec<Arc<Subsystem>>,
    trace: Trace,
}

impl Effects {
    /// Arms the grace timers, wakes the drain waiters, runs the token
    /// callbacks and the tracing events, all of them even if some panic, then
    /// drops the strong references. Returns the first panic.
    fn run(self) -> FirstPanic {
        let mut panics = FirstPanic::new();
        for (hard, at) in self.deadlines {
            // May cancel at once (a zero grace period): runs the force hook,
            // which takes the tree lock; not held here.
            panics.run(|| hard.cancel_at(at));
        }
        self.wakeups.wake_all(&mut panics);
        for deferred in self.cancels {
            panics.merge(deferred.run());
        }
        panics.run(|| self.trace.emit());
        drop(self.keep);
        panics
    }
}

impl Tree {
    /// A new tree with its root subsystem.
    pub(super) fn new_root() -> Arc<Subsystem> {
        let tree = Arc::new(Tree {
            state: Mutex::new(TreeState {
                nodes: Slab::new(),
                failures: Vec::new(),
            }),
        });
        let path: Arc<str> = Arc::from("");
        let inner = {
            let mut state = tree.lock();
            let id = state.nodes.next_index();
            let inner = Arc::new(Subsystem::new(tree.clone(), id, path.clone(), None, false));
            state.nodes.insert(Node::new(
                Arc::downgrade(&inner),
                path,
                None,
                OnFailure::default(),
            ));
            inner
        };
        install_force_hook(&inner);
        inner
    }

    fn lock(&self) -> MutexGuard<'_, TreeState> {
        crate::loom::lock(&self.state)
    }

    /// Runs `f` under the lock, then its effects (I2), then rethrows.
    fn with<R>(&self, f: impl FnOnce(&mut TreeState, &mut Effects) -> R) -> R {
        let mut fx = Effects::default();
        let out = {
            let mut state = self.lock();
            f(&mut state, &mut fx)
        };
        fx.run().resume_unless_unwinding();
        out
    }

    /// A new child of `parent`, named `name`.
    pub(super) fn child(parent: &Arc<Subsystem>, name: Cow<'static, str>) -> Arc<Subsystem> {
        let tree = &parent.tree;
        let inner = tree.with(|state, fx| {
            let (path, on_failure, grace, requested) = {
                let node = state.node(parent.id);
                let path = child_path(&node.path, &name);
                (path, node.on_failure, node.grace, node.requested.clone())
            };
            let id = state.nodes.next_index();
            let inner = Arc::new(Subsystem::new(
                tree.clone(),
                id,
                path.clone(),
                Some(parent),
                parent.records_call_sites(),
            ));
            let mut node = Node::new(Arc::downgrade(&inner), path, Some(parent.id), on_failure);
            node.grace = grace;
            node.requested = requested;
            // I3: hold the parent until this child is drained. A parent that
            // is already drained refuses: the child is then born started
            // and drained (it is requested, since its parent was).
            node.holds_parent = parent.acquire().is_ok();
            state.nodes.insert(node);
            state.node_mut(parent.id).children.push(id);
            state.try_start(id, fx);
            fx.keep.push(inner.clone());
            inner
        });
        // Outside the lock: the hook runs now if the hard token already is
        // cancelled, and it takes the lock.
        install_force_hook(&inner);
        inner
    }

    /// Asks `id` and its subtree to shut down (I4).
    pub(super) fn request(&self, id: usize, reason: CancelReason) {
        self.with(|state, fx| state.request(id, reason, fx));
    }

    /// `id`'s state word reached drained (the caller's release returned
    /// `true`).
    pub(super) fn drained(&self, id: usize) {
        self.with(|state, fx| state.drained(id, fx));
    }

    /// `id`'s subsystem was dropped by its last owner (`forced`: its hard
    /// token was cancelled).
    pub(super) fn gone(&self, id: usize, forced: bool) {
        self.with(|state, fx| state.gone(id, forced, fx));
    }

    /// `id`'s hard token was cancelled: records a force and starts the
    /// subsystem if it has not started (I4).
    ///
    /// The hook runs after the hard token's transition, possibly on a helper
    /// thread (deadlines), so a report or a drain may see the cancelled
    /// token first: they record the force themselves
    /// ([`TreeState::sync_forced`]), and the hook then only starts the
    /// subsystem and traces.
    fn forced(&self, sub: &Subsystem, reason: &CancelReason) {
        let id = sub.id;
        self.with(|state, fx| {
            if state.nodes.get(id).is_none() {
                return;
            }
            state.sync(id, sub, fx);
            let node = state.node_mut(id);
            if node.drained_at.is_some() || std::mem::replace(&mut node.force_hooked, true) {
                return;
            }
            if node.requested.is_none() {
                node.requested = Some(reason.clone());
            }
            let started = node.started_at.is_some();
            let node = state.node(id);
            fx.trace.forced(&node.path, reason, &node.forced_alive.0);
            if !started {
                state.start(id, fx);
            }
        });
    }

    /// Orders `id` after `deps` (I7).
    pub(super) fn after(&self, id: usize, deps: &[usize]) -> Result<(), PhaseError> {
        self.with(|state, _| {
            if state.node(id).started_at.is_some() {
                return Err(PhaseError::AlreadyStarted);
            }
            for &dep in deps {
                if state.reaches_start(dep, id) {
                    return Err(PhaseError::Cycle {
                        subsystem: state.display_path(id),
                        waits_for: state.display_path(dep),
                    });
                }
                if !state.node(id).deps.contains(&dep) {
                    state.node_mut(id).deps.push(dep);
                    state.node_mut(dep).dependents.push(id);
                }
            }
            Ok(())
        })
    }

    pub(super) fn set_grace(&self, id: usize, grace: Option<Duration>) {
        self.with(|state, _| state.node_mut(id).grace = grace);
    }

    pub(super) fn set_on_failure(&self, id: usize, policy: OnFailure) {
        self.with(|state, _| state.node_mut(id).on_failure = policy);
    }

    /// Whether `id` was asked to shut down (it may still wait for its phase).
    pub(super) fn is_requested(&self, id: usize) -> bool {
        self.lock().node(id).requested.is_some()
    }

    /// A guard of `sub` is about to be released after `sub`'s hard token was
    /// cancelled: records the force now, while what it cut off still counts.
    pub(super) fn note_forced(&self, sub: &Subsystem) {
        self.with(|state, fx| state.sync(sub.id, sub, fx));
    }

    /// Whether `sub` was forced before it was drained.
    pub(super) fn is_forced(&self, sub: &Subsystem) -> bool {
        self.with(|state, fx| {
            state.sync(sub.id, sub, fx);
            state.node(sub.id).forced_at.is_some()
        })
    }

    /// Records a failure of work in `id` and applies its policy.
    pub(super) fn fail(
        &self,
        id: usize,
        name: Option<Arc<str>>,
        site: Option<&'static Location<'static>>,
        kind: super::FailureKind,
        message: Arc<str>,
    ) {
        let (failure, policy, top) = self.with(|state, fx| {
            let node = state.node(id);
            let failure = Failure {
                subsystem: node.path.clone(),
                name,
                site,
                kind,
                message,
                at: Instant::now(),
            };
            let policy = node.on_failure;
            fx.trace.failed(&failure);
            state.failures.push(failure.clone());
            (failure, policy, state.top(id))
        });
        let reason = || CancelReason::custom(FailureReason(failure.clone()));
        match policy {
            OnFailure::ShutdownAll => self.request(top, reason()),
            OnFailure::ShutdownSubsystem => self.request(id, reason()),
            OnFailure::Record => {}
        }
    }

    /// The report of `id`'s subtree.
    pub(super) fn report(&self, id: usize) -> DrainReport {
        self.with(|state, fx| state.report(id, fx))
    }
}

/// Lets the hard token's cancellation reach the tree (a weak reference: the
/// token's callback must not keep its subsystem alive).
fn install_force_hook(inner: &Arc<Subsystem>) {
    let weak = Arc::downgrade(inner);
    // The handle may go: the callback stays until it runs or the token goes.
    let _ = inner.hard.on_cancel(move |reason| {
        if let Some(inner) = weak.upgrade() {
            inner.tree.forced(&inner, reason);
        }
    });
}

impl Node {
    fn new(
        inner: Weak<Subsystem>,
        path: Arc<str>,
        parent: Option<usize>,
        on_failure: OnFailure,
    ) -> Self {
        Node {
            inner,
            path,
            parent,
            children: Vec::new(),
            deps: Vec::new(),
            dependents: Vec::new(),
            requested: None,
            holds_parent: false,
            grace: None,
            on_failure,
            started_at: None,
            drained_at: None,
            forced_at: None,
            gone: false,
            force_hooked: false,
            forced_alive: (Vec::new(), 0),
        }
    }

    /// Whether a dependent must still wait for this node's drain (I4).
    fn blocks_dependents(&self) -> bool {
        self.requested.is_some() && self.drained_at.is_none() && !self.gone
    }

    /// Whether a child must still wait for this node's start (I4).
    fn blocks_children(&self) -> bool {
        self.requested.is_some() && self.started_at.is_none() && !self.gone
    }
}

impl TreeState {
    /// I5: ids held by a subsystem or named by a live node are in the slab.
    fn node(&self, id: usize) -> &Node {
        self.nodes
            .get(id)
            .expect("shutdown tree: dangling node index")
    }

    fn node_mut(&mut self, id: usize) -> &mut Node {
        self.nodes
            .get_mut(id)
            .expect("shutdown tree: dangling node index")
    }

    fn display_path(&self, id: usize) -> String {
        display_path(&self.node(id).path).to_owned()
    }

    /// The topmost ancestor of `id`.
    fn top(&self, mut id: usize) -> usize {
        while let Some(parent) = self.node(id).parent {
            id = parent;
        }
        id
    }

    /// `id` and its subtree, parents before children.
    fn subtree(&self, id: usize) -> Vec<usize> {
        let mut order = Vec::new();
        let mut stack = vec![id];
        while let Some(next) = stack.pop() {
            order.push(next);
            stack.extend(self.node(next).children.iter().rev());
        }
        order
    }

    fn request(&mut self, id: usize, reason: CancelReason, fx: &mut Effects) {
        let subtree = self.subtree(id);
        // Mark the whole subtree first, so that a phase order between two of
        // its subsystems holds whichever is looked at first (I4).
        for &next in &subtree {
            let node = self.node_mut(next);
            if node.requested.is_none() {
                node.requested = Some(reason.clone());
            }
        }
        fx.trace.triggered(&self.node(id).path, &reason);
        for next in subtree {
            self.try_start(next, fx);
        }
    }

    /// I4: starts `id` if nothing holds it back any more.
    fn try_start(&mut self, id: usize, fx: &mut Effects) {
        let node = self.node(id);
        if node.started_at.is_some() || node.requested.is_none() || node.gone {
            return;
        }
        if node
            .parent
            .is_some_and(|parent| self.node(parent).blocks_children())
        {
            return;
        }
        if node
            .deps
            .iter()
            .any(|&dep| self.node(dep).blocks_dependents())
        {
            return;
        }
        self.start(id, fx);
    }

    /// Starts `id` (I1): cancels its soft token, arms its grace period, marks
    /// its state word, then retries its children (I4).
    fn start(&mut self, id: usize, fx: &mut Effects) {
        let now = Instant::now();
        let node = self.node_mut(id);
        let Some(inner) = node.inner.upgrade() else {
            return;
        };
        node.started_at = Some(now);
        let reason = node.requested.clone().unwrap_or(CancelReason::Cancelled);
        let grace = node.grace;
        let children = node.children.clone();
        fx.trace.started(&node.path);
        let (_, deferred) = inner.soft.cancel_deferred(reason);
        fx.cancels.push(deferred);
        if let Some(at) = grace.and_then(|grace| now.checked_add(grace)) {
            fx.deadlines.push((inner.hard.clone(), at));
        }
        let drained_now = inner.start();
        fx.keep.push(inner);
        if drained_now {
            self.drained(id, fx);
        }
        for child in children {
            self.try_start(child, fx);
        }
    }

    /// `id`'s state word reached drained (I1): wakes its waiters, releases its
    /// hold on the parent (I3), retries its dependents (I4).
    ///
    /// Idempotent (I1): the transition's own report finds the drain already
    /// recorded if a reader synced it first.
    fn drained(&mut self, id: usize, fx: &mut Effects) {
        if self.node(id).drained_at.is_some() {
            return;
        }
        let inner = self.node(id).inner.upgrade();
        if let Some(inner) = &inner {
            self.sync_forced(id, inner);
        }
        let node = self.node_mut(id);
        let now = Instant::now();
        node.drained_at = Some(now);
        let since = node.started_at.map(|at| now.saturating_duration_since(at));
        fx.trace
            .drained(&node.path, since, node.forced_at.is_some());
        if let Some(inner) = inner {
            // I6: tree lock, then the registry lock.
            inner.take_drain_waiters(&mut fx.wakeups);
            fx.keep.push(inner);
        }
        let dependents = self.node(id).dependents.clone();
        self.release_parent(id, fx);
        for dependent in dependents {
            self.try_start(dependent, fx);
        }
    }

    /// I3: gives back `id`'s hold on its parent, once.
    fn release_parent(&mut self, id: usize, fx: &mut Effects) {
        let node = self.node_mut(id);
        if !std::mem::take(&mut node.holds_parent) {
            return;
        }
        let Some(parent) = node.parent else { return };
        let Some(inner) = self.node(parent).inner.upgrade() else {
            return;
        };
        let drained = inner.release();
        fx.keep.push(inner);
        if drained {
            self.drained(parent, fx);
        }
    }

    /// `id`'s subsystem was dropped: nothing can work in it any more (I3, I4,
    /// I5).
    fn gone(&mut self, id: usize, forced: bool, fx: &mut Effects) {
        let Some(node) = self.nodes.get_mut(id) else {
            return;
        };
        if forced && node.forced_at.is_none() && node.drained_at.is_none() {
            node.forced_at = Some(Instant::now());
        }
        node.gone = true;
        self.release_parent(id, fx);
        let node = self.node(id);
        let (parent, children, deps, dependents) = (
            node.parent,
            node.children.clone(),
            node.deps.clone(),
            node.dependents.clone(),
        );
        for &dependent in &dependents {
            self.node_mut(dependent).deps.retain(|&dep| dep != id);
        }
        for &dep in &deps {
            self.node_mut(dep).dependents.retain(|&d| d != id);
        }
        {
            let node = self.node_mut(id);
            node.deps.clear();
            node.dependents.clear();
        }
        // A report of a tree-wide shutdown shows every subsystem that took
        // part; one that never started, or was shut down on its own while its
        // parent runs (a finished connection, forced or not), leaves.
        let node = self.node(id);
        let took_part = node.started_at.is_some()
            && node
                .parent
                .is_none_or(|parent| self.node(parent).started_at.is_some());
        if !took_part {
            if let Some(parent) = parent {
                self.node_mut(parent).children.retain(|&c| c != id);
            }
            self.remove_subtree(id);
        } else {
            for child in children {
                self.try_start(child, fx);
            }
        }
        for dependent in dependents {
            self.try_start(dependent, fx);
        }
    }

    /// I5: takes `id` and the tombstones it owns out of the slab (its parent
    /// no longer names it). Every node below a gone node is gone too (a live
    /// child keeps its parent alive), and a gone node's `deps` and
    /// `dependents` were cleared when it went, so no other index names
    /// them. A work list, not recursion: a deep chain costs no stack.
    fn remove_subtree(&mut self, id: usize) {
        let mut doomed = vec![id];
        while let Some(next) = doomed.pop() {
            let node = self
                .nodes
                .remove(next)
                .expect("shutdown tree: dangling node index");
            debug_assert!(
                node.gone,
                "shutdown tree: a live subsystem below a gone one"
            );
            doomed.extend(node.children);
        }
    }

    /// I7: whether the drain of `from` waits, through the tree and the
    /// phases, for the start of `target`. The drain of `x` waits for the
    /// start of `x` and the drains of its children; the start of `x` waits
    /// for the start of its parent and the drains of its dependencies.
    fn reaches_start(&self, from: usize, target: usize) -> bool {
        #[derive(Clone, Copy, PartialEq)]
        enum Step {
            Drain(usize),
            Start(usize),
        }
        let mut seen = Vec::new();
        let mut stack = vec![Step::Drain(from)];
        while let Some(step) = stack.pop() {
            if seen.contains(&step) {
                continue;
            }
            seen.push(step);
            match step {
                Step::Start(id) if id == target => return true,
                Step::Drain(id) => {
                    stack.push(Step::Start(id));
                    stack.extend(self.node(id).children.iter().map(|&c| Step::Drain(c)));
                }
                Step::Start(id) => {
                    let node = self.node(id);
                    stack.extend(node.parent.map(Step::Start));
                    stack.extend(node.deps.iter().map(|&d| Step::Drain(d)));
                }
            }
        }
        false
    }

    /// Brings `id`'s node up to date with what its subsystem's words already
    /// say, before anything reads it: a drain the state word shows but the
    /// releaser has not reported yet (I1), then a force the hard token shows
    /// but the hook has not reported yet.
    fn sync(&mut self, id: usize, sub: &Subsystem, fx: &mut Effects) {
        if sub.is_drained() {
            // (`is_drained` acquires: the work done under the last guard
            // happens before whatever reads the node next.)
            self.drained(id, fx);
        }
        self.sync_forced(id, sub);
    }

    /// Records a force that `sub`'s hard token shows but the hook has not
    /// reported yet, unless the subsystem was drained first, with what was
    /// still running. A force by a deadline is dated at the deadline.
    fn sync_forced(&mut self, id: usize, sub: &Subsystem) {
        let node = self.node(id);
        if node.forced_at.is_some() || node.drained_at.is_some() || !sub.is_forced() {
            return;
        }
        let now = Instant::now();
        let at = sub.hard.deadline().filter(|&at| at <= now).unwrap_or(now);
        let alive = self.alive(id, sub, now);
        let node = self.node_mut(id);
        node.forced_at = Some(at);
        node.forced_alive = alive;
    }

    /// The guards alive in `sub` (`id`) that a report can name, and how many
    /// others (I6: the tree lock is held; this takes the registry lock).
    fn alive(&self, id: usize, sub: &Subsystem, now: Instant) -> (Vec<Straggler>, usize) {
        // Under the registry lock registered guards do not come or go, and
        // under the tree lock child holds do not either (I3): what is left of
        // the count is exactly the unnamed guards.
        let registry = sub.registry();
        // ORDERING: pairs with the guards' `Release`.
        let count = sub.state.load(Ordering::Acquire) / ONE_GUARD;
        let named: Vec<Straggler> = registry
            .live
            .values()
            .map(|entry| Straggler {
                name: entry.name.clone(),
                site: entry.site,
                subsystem: sub.path.clone(),
                age: now.saturating_duration_since(entry.born),
            })
            .collect();
        drop(registry);
        let holds = self
            .node(id)
            .children
            .iter()
            .filter(|&&c| self.node(c).holds_parent)
            .count();
        let unnamed = count.saturating_sub(named.len() + holds);
        (named, unnamed)
    }

    fn report(&mut self, id: usize, fx: &mut Effects) -> DrainReport {
        let now = Instant::now();
        let root_path = self.node(id).path.clone();
        let mut subsystems = Vec::new();
        let subtree = self.subtree(id);
        // One pass first: syncing a child's drain may drain its parent, which
        // the report lists before it (I1).
        for &next in &subtree {
            if let Some(inner) = self.node(next).inner.upgrade() {
                self.sync(next, &inner, fx);
                fx.keep.push(inner);
            }
        }
        for next in subtree {
            let node = self.node(next);
            let (stragglers, unnamed) = match node.inner.upgrade() {
                Some(inner) => {
                    let alive = self.alive(next, &inner, now);
                    fx.keep.push(inner);
                    alive
                }
                None => (Vec::new(), 0),
            };
            let since = |at: Option<Instant>| at.map(|at| now.saturating_duration_since(at));
            let started = since(node.started_at);
            let status = match (node.started_at, node.drained_at, node.forced_at) {
                (None, _, _) if node.requested.is_some() => SubsystemStatus::Waiting,
                (None, _, _) => SubsystemStatus::Running,
                (Some(_), Some(_), Some(_)) => SubsystemStatus::Forced,
                (Some(_), Some(_), None) => SubsystemStatus::Drained,
                (Some(_), None, Some(_)) => SubsystemStatus::Stuck,
                (Some(_), None, None) => SubsystemStatus::Draining,
            };
            let mut waiting_for: Vec<Arc<str>> = Vec::new();
            if status == SubsystemStatus::Waiting {
                if let Some(parent) = node.parent.filter(|&p| self.node(p).blocks_children()) {
                    waiting_for.push(self.node(parent).path.clone());
                }
                waiting_for.extend(
                    node.deps
                        .iter()
                        .map(|&d| self.node(d))
                        .filter(|dep| dep.blocks_dependents())
                        .map(|dep| dep.path.clone()),
                );
            }
            let between = |from: Option<Instant>, to: Option<Instant>| match (from, to) {
                (Some(from), Some(to)) => Some(to.saturating_duration_since(from)),
                _ => None,
            };
            subsystems.push(SubsystemReport {
                path: node.path.clone(),
                status,
                stragglers,
                unnamed,
                waiting_for,
                started,
                drained_after: between(node.started_at, node.drained_at),
                forced_after: between(node.started_at, node.forced_at),
                forced_alive: node.forced_alive.clone(),
            });
        }
        let failures = self
            .failures
            .iter()
            .filter(|failure| is_within(&failure.subsystem, &root_path))
            .cloned()
            .collect();
        DrainReport::from_tree(subsystems, failures)
    }
}

/// Whether `path` is `root` or below it.
fn is_within(path: &str, root: &str) -> bool {
    root.is_empty()
        || path == root
        || path
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/'))
}
