//! One subsystem's hot state: the state word that counts its guards, and the
//! registry of guards a report can name.
//!
//! Everything structural (parents, children, phases, deadlines, failures)
//! lives in the tree (`tree.rs`), under the tree's lock; this file is what a
//! guard touches on its fast path.

use std::collections::BTreeMap;
use std::panic::Location;
use std::sync::Arc;
use std::time::Instant;

use super::error::AlreadyDrained;
use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::wait::{Event, Key, NewWaiter, WaitList, Wakeups, register_locked, withdraw_locked};

/// The subsystem started shutting down: set once, never cleared.
pub(super) const TRIGGERED: usize = 1;
/// One live guard (the guard count lives above the flag bit). Each child
/// subsystem that is not drained yet holds one too (I3 in `tree.rs`).
pub(super) const ONE_GUARD: usize = 2;

/// One subsystem's count of in-flight work (the root is a subsystem too).
///
/// # State word
///
/// Bit 0 is `TRIGGERED`, the bits above count live guards plus one *hold*
/// per child subsystem that is not drained yet.
///
/// | state (`TRIGGERED`, count) | meaning | guards | drain waiters |
/// |---|---|---|---|
/// | (0, 0) | running, idle | granted | wait |
/// | (0, n > 0) | running, n guards or holds | granted | wait |
/// | (1, n > 0) | shutting down, draining | granted (tokens born cancelled) | wait |
/// | (1, 0) | **drained** (final) | refused: `AlreadyDrained` | return at once |
///
/// | transition | who | how | publishes |
/// |---|---|---|---|
/// | count + 1 | a guard, a new child's hold | CAS (`AcqRel`), refused in (1, 0) | — |
/// | count − 1 | a guard's drop, a child's drain | `fetch_sub` (`AcqRel`); the one that reaches (1, 0) reports it to the tree | the work done under the guard |
/// | start | the tree, under its lock | `fetch_or(TRIGGERED)` (`AcqRel`); from (0, 0) it is drained at once | the cancelled soft token |
///
/// Exactly one operation moves the word into (1, 0), and the tree then
/// notifies the waiters (after its lock is released), so a waiter that
/// checks, listens and checks again cannot miss it. Nothing leaves (1, 0).
#[repr(C)] // what a guard touches first: one cache line with the `Arc` count
pub(super) struct Count {
    pub(super) state: AtomicUsize,
    /// 1 while unnamed guards are registered with their call site
    /// (`Shutdown::record_call_sites`); read with one relaxed load.
    call_sites: AtomicUsize,
    /// Registered guards and the drain's waiters.
    registry: Mutex<Registry>,
}

/// Guards a report can name: every named guard, and unnamed ones while call
/// sites are recorded. Keyed by a creation number, so key order is age order.
#[derive(Default)]
pub(super) struct Registry {
    next_id: u64,
    pub(super) live: BTreeMap<u64, GuardEntry>,
    /// Tasks and threads waiting for the drain to end.
    waiters: WaitList,
}

/// A registered guard.
pub(super) struct GuardEntry {
    pub(super) name: Option<Arc<str>>,
    pub(super) site: &'static Location<'static>,
    pub(super) born: Instant,
}

impl Count {
    pub(super) fn new(call_sites: bool) -> Self {
        Count {
            state: AtomicUsize::new(0),
            registry: Mutex::new(Registry::default()),
            call_sites: AtomicUsize::new(usize::from(call_sites)),
        }
    }

    pub(super) fn registry(&self) -> MutexGuard<'_, Registry> {
        crate::loom::lock(&self.registry)
    }

    pub(super) fn is_drained(&self) -> bool {
        // ORDERING: `Acquire` pairs with the last guard's `Release`: what
        // the guarded work did happens before the drain is seen over.
        self.state.load(Ordering::Acquire) == TRIGGERED
    }

    /// Counts one more guard (or child hold), unless the drain is over.
    pub(super) fn acquire(&self) -> Result<(), AlreadyDrained> {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state == TRIGGERED {
                return Err(AlreadyDrained::new());
            }
            let new = state
                .checked_add(ONE_GUARD)
                .expect("shutdown guard count overflow");
            // ORDERING: an RMW on the same word as `start` and the last
            // release, so "drained" and "one more guard" cannot both win.
            match self
                .state
                .compare_exchange_weak(state, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(actual) => state = actual,
            }
        }
    }

    /// Counts one guard (or hold) less. Returns whether this ended the drain:
    /// the caller then reports it to the tree (`Tree::drained`).
    #[must_use]
    pub(super) fn release(&self) -> bool {
        // ORDERING: `Release` publishes the guard holder's work to whoever
        // sees the drain over; `Acquire` sees `TRIGGERED` if it is set.
        let prev = self.state.fetch_sub(ONE_GUARD, Ordering::AcqRel);
        debug_assert!(prev >= ONE_GUARD, "shutdown guard count underflow");
        prev == TRIGGERED | ONE_GUARD
    }

    /// Marks the subsystem started. Returns whether that drained it (no guard
    /// and no hold was alive). Called by the tree, under its lock, once.
    #[must_use]
    pub(super) fn start(&self) -> bool {
        // ORDERING: `Release` publishes the cancelled soft token to
        // `is_triggered`; `Acquire` sees the last guard's release if the
        // count is already 0.
        self.state.fetch_or(TRIGGERED, Ordering::AcqRel) == 0
    }

    /// Counts a guard that a report names, under the registry lock, so that
    /// a report (taken under the same lock) counts the others exactly.
    pub(super) fn acquire_registered(
        &self,
        name: Option<Arc<str>>,
        site: &'static Location<'static>,
    ) -> Result<u64, AlreadyDrained> {
        let mut registry = self.registry();
        self.acquire()?;
        let id = registry.next_id;
        registry.next_id += 1;
        registry.live.insert(
            id,
            GuardEntry {
                name,
                site,
                born: Instant::now(),
            },
        );
        Ok(id)
    }

    /// Whether unnamed guards are to be registered with their call site.
    pub(super) fn records_call_sites(&self) -> bool {
        self.call_sites.load(Ordering::Relaxed) != 0
    }

    pub(super) fn set_call_sites(&self, on: bool) {
        self.call_sites.store(usize::from(on), Ordering::Relaxed);
    }

    /// Uncounts a registered guard (under the registry lock, as it was
    /// counted). Returns whether this ended the drain.
    #[must_use]
    pub(super) fn release_registered(&self, id: u64) -> bool {
        let mut registry = self.registry();
        registry.live.remove(&id);
        self.release()
    }

    /// Takes the drain's waiters out, for the caller to wake after unlocking.
    /// Called once the state is drained (final), so a waiter that registers
    /// later sees it under the same lock and does not stay registered.
    pub(super) fn take_drain_waiters(&self, into: &mut Wakeups) {
        self.registry().waiters.take_all(into);
    }

    /// Blocks until the drain is over or `deadline`; returns whether it is.
    pub(super) fn wait_until(&self, deadline: Option<Instant>) -> bool {
        crate::wait::block_on(&Drained(self), deadline).is_some()
    }
}

/// The drain, as the waiting core sees it.
pub(super) struct Drained<'a>(pub(super) &'a Count);

impl Event for Drained<'_> {
    type Output = ();
    type Key = Key;

    fn check(&self) -> Option<()> {
        self.0.is_drained().then_some(())
    }

    fn listen(&self, key: &mut Option<Key>, waiter: NewWaiter<'_>) -> Result<(), ()> {
        // Cloning a waker is user code: before locking.
        let waiter = waiter.to_waiter();
        let registry = self.0.registry();
        // Check again under the lock the notifier takes to collect waiters.
        let drained = self.0.is_drained();
        register_locked(registry, |r| &mut r.waiters, drained, key, waiter)
    }

    fn unlisten(&self, key: Key) -> bool {
        withdraw_locked(self.0.registry(), |r| Some(&mut r.waiters), key)
    }
}
