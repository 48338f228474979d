//! The promise's state machine: one heap block shared by every [`Resolver`]
//! and [`Promise`] handle.
//!
//! [`Resolver`]: super::Resolver
//! [`Promise`]: super::Promise
//!
//! # Layout
//!
//! | field | what | guarded by |
//! |---|---|---|
//! | `state` | the bits below | atomic |
//! | `resolvers` | live `Resolver` handles | atomic |
//! | `promises` | live `Promise` handles | atomic |
//! | `lists` | the waiters: tasks and threads waiting for the value (`resolved`), and resolvers waiting for every promise to go (`closed`); allocated by the first waiter | mutex |
//! | `value` | the value, written once | `CLAIMED`/`RESOLVED` (below) |
//!
//! # State bits
//!
//! | bit | name | set by | what setting it publishes |
//! |---|---|---|---|
//! | 0 | `CLAIMED` | the first `resolve`, by a compare-and-swap (CAS) | this resolver alone may write `value` |
//! | 1 | `RESOLVED` | that `resolve`, after writing | `value` is written and will not change: readers may borrow it |
//! | 2 | `ABANDONED` | the last `Resolver` drop, if nothing was claimed | no value will ever come |
//! | 3 | `CLOSED` | the last `Promise` drop | nobody will read the value |
//! | 4 | `WAITERS` | a promise waiter about to register, by a read-modify-write (RMW) | `resolve` and the last resolver drop must lock and take the waiters |
//! | 5 | `CLOSED_WAITERS` | a resolver waiter about to register, by an RMW | the last promise drop must lock and take them |
//! | 6 | `RESOLVERS_GONE` | the last `Resolver` drop, after it woke its waiters | the resolver side will not touch the block again |
//! | 7 | `PROMISES_GONE` | the last `Promise` drop, after it woke its waiters | the promise side will not touch the block again |
//! | 8 | `TAKEN` | `into_value`, on the last promise | the value was moved out: freeing must not drop it |
//!
//! No bit is ever cleared.
//!
//! # Invariants
//!
//! - **P1.** `value` is written only by the resolver whose CAS set `CLAIMED`,
//!   before it sets `RESOLVED`; it is read (borrowed) only after an
//!   `Acquire` load saw `RESOLVED`; so no read overlaps the write.
//! - **P2.** The block is freed exactly once, by whichever side's `GONE` bit
//!   is set second (a `fetch_or` returns the other side's bit to exactly one
//!   of them). A side sets its `GONE` bit only after its last handle is gone
//!   and it has finished with the lists, so no thread touches a freed block.
//! - **P3.** `ABANDONED` and `RESOLVED` exclude each other: `ABANDONED` is
//!   set by the last resolver only when `CLAIMED` is clear, and with no
//!   resolver left nothing can claim.
//! - **P4.** The value is dropped at most once: by `free` if `RESOLVED` and
//!   not `TAKEN`, or by whoever took it with `into_value`.
//! - **P5 (no lost wake-up).** A waiter sets `WAITERS` (or `CLOSED_WAITERS`)
//!   by an RMW on `state` and then registers under the lock after checking
//!   again; the notifier sets `RESOLVED`/`ABANDONED` (or `CLOSED`) by an RMW
//!   and, if it saw the flag, takes the waiters under the same lock. The two
//!   RMWs are ordered, so either the waiter sees the event or the notifier
//!   sees the flag.
//!
//! # Transitions
//!
//! | who | how | afterwards |
//! |---|---|---|
//! | `resolve` | CAS `+CLAIMED` (fails if claimed: the value goes back); write `value`; `fetch_or(RESOLVED)` | if `WAITERS`: lock, take `resolved` waiters, unlock, wake them |
//! | last `Resolver` drop | without `WAITERS`: one CAS `+ABANDONED` (unless claimed) `+RESOLVERS_GONE` | free if `PROMISES_GONE` was set |
//! | — with `WAITERS`, unclaimed | `fetch_or(ABANDONED)`; take and wake the waiters | then `fetch_or(RESOLVERS_GONE)`: free if `PROMISES_GONE` was set |
//! | last `Promise` drop | without `CLOSED_WAITERS`: one CAS `+CLOSED +PROMISES_GONE` | free if `RESOLVERS_GONE` was set |
//! | — with `CLOSED_WAITERS` | `fetch_or(CLOSED)`; take and wake them | then `fetch_or(PROMISES_GONE)`: free if `RESOLVERS_GONE` was set |
//! | listen (`wait`, `resolved`, `closed`, ...) through [`crate::wait`] | RMW `+WAITERS` (or `+CLOSED_WAITERS`); if the event happened, done; otherwise clone the waker, lock, check again, register, unlock | — |
//! | `into_value` on the last promise, resolved | `fetch_or(TAKEN)`; move the value out | the promise's drop then runs as above |
//!
//! User code (wakers; the value's `Drop`) runs only after the transition that
//! caused it is complete and outside the lock; wakers are each caught and the
//! first panic re-raised after every waiter was woken and the side's `GONE`
//! bit was set.

use core::cell::UnsafeCell as CoreUnsafeCell;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use super::error::Abandoned;
use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::wait::{
    Event, FirstPanic, Key, NewWaiter, WaitList, Wakeups, register_locked, withdraw_locked,
};

pub(super) const CLAIMED: usize = 1 << 0;
pub(super) const RESOLVED: usize = 1 << 1;
pub(super) const ABANDONED: usize = 1 << 2;
pub(super) const CLOSED: usize = 1 << 3;
const WAITERS: usize = 1 << 4;
const CLOSED_WAITERS: usize = 1 << 5;
const RESOLVERS_GONE: usize = 1 << 6;
const PROMISES_GONE: usize = 1 << 7;
const TAKEN: usize = 1 << 8;

/// The waiters, allocated by the first one.
#[derive(Default)]
struct Lists {
    /// Waiting for `RESOLVED` or `ABANDONED`.
    resolved: WaitList,
    /// Waiting for `CLOSED`.
    closed: WaitList,
}

impl Lists {
    /// The resolvers' list (`closed`) or the promises' list.
    fn list(&mut self, closed: bool) -> &mut WaitList {
        if closed {
            &mut self.closed
        } else {
            &mut self.resolved
        }
    }
}

/// For the resolvers' list (`closed`) or the promises' list: the state bits
/// that end a wait on it, and the flag a waiter sets before registering (P5).
fn list_bits(closed: bool) -> (usize, usize) {
    if closed {
        (CLOSED, CLOSED_WAITERS)
    } else {
        (RESOLVED | ABANDONED, WAITERS)
    }
}

pub(super) struct Shared<T> {
    state: AtomicUsize,
    resolvers: AtomicUsize,
    promises: AtomicUsize,
    lists: Mutex<Option<Box<Lists>>>,
    /// `core`'s cell: it is borrowed for as long as a promise lives (P1),
    /// which loom's closure-scoped cell cannot express; loom checks the
    /// `state` protocol that guards it.
    value: CoreUnsafeCell<MaybeUninit<T>>,
}

/// A counted pointer to the block; `Resolver` and `Promise` each own one and
/// say which count it is in.
pub(super) struct Block<T>(NonNull<Shared<T>>);

impl<T> Block<T> {
    /// A new block with one resolver and one promise.
    pub(super) fn new() -> (Block<T>, Block<T>) {
        let shared = Box::new(Shared {
            state: AtomicUsize::new(0),
            resolvers: AtomicUsize::new(1),
            promises: AtomicUsize::new(1),
            lists: Mutex::new(None),
            value: CoreUnsafeCell::new(MaybeUninit::uninit()),
        });
        let ptr = NonNull::from(Box::leak(shared));
        (Block(ptr), Block(ptr))
    }

    #[inline]
    pub(super) fn shared(&self) -> &Shared<T> {
        // SAFETY: P2: a `Block` is a counted handle, so the block is not
        // freed before this handle's side is gone, which is after its drop.
        unsafe { self.0.as_ref() }
    }

    /// Another handle of the same kind (`resolver` says which count).
    pub(super) fn clone_handle(&self, resolver: bool) -> Block<T> {
        let shared = self.shared();
        let count = if resolver {
            &shared.resolvers
        } else {
            &shared.promises
        };
        // Relaxed, as for `Arc`: the caller already holds a count.
        if count.fetch_add(1, Ordering::Relaxed) > isize::MAX as usize {
            std::process::abort();
        }
        Block(self.0)
    }
}

impl<T> Shared<T> {
    #[inline]
    pub(super) fn state(&self) -> usize {
        // ORDERING: `Acquire` pairs with the `Release` half of `resolve`'s
        // `fetch_or(RESOLVED)` (P1: the value is visible) and of the drops'
        // `fetch_or(ABANDONED | CLOSED)`.
        self.state.load(Ordering::Acquire)
    }

    /// The promise's answer, if it has one.
    #[inline]
    pub(super) fn answer(state: usize) -> Option<Result<(), Abandoned>> {
        if state & RESOLVED != 0 {
            Some(Ok(()))
        } else if state & ABANDONED != 0 {
            Some(Err(Abandoned::new()))
        } else {
            None
        }
    }

    /// The value, once `RESOLVED` was seen by an `Acquire` load.
    ///
    /// # Safety
    ///
    /// The caller saw `RESOLVED` (P1) and holds a promise, so the value is
    /// not taken (`into_value` needs the last promise) nor freed (P2).
    #[inline]
    pub(super) unsafe fn value(&self) -> &T {
        // SAFETY: P1: written before `RESOLVED`, never written again.
        unsafe { (*self.value.get()).assume_init_ref() }
    }

    /// Moves the value out, for `into_value`.
    ///
    /// # Safety
    ///
    /// As for [`value`](Self::value), and the caller holds the last promise:
    /// nobody else can borrow the value, and `TAKEN` keeps `free` from
    /// dropping it (P4).
    pub(super) unsafe fn take_value(&self) -> T {
        // ORDERING: `Relaxed`: only this thread (the last promise) and the
        // eventual freer read `TAKEN`, and the freer acquires it through the
        // `GONE` bits' `AcqRel` chain.
        self.state.fetch_or(TAKEN, Ordering::Relaxed);
        // SAFETY: as the caller guarantees; read once (P4).
        unsafe { (*self.value.get()).assume_init_read() }
    }

    /// Whether the caller's promise is the only one left.
    pub(super) fn is_last_promise(&self) -> bool {
        // ORDERING: `Acquire` pairs with the other promises' drops (`AcqRel`
        // `fetch_sub`): their borrows of the value are over.
        self.promises.load(Ordering::Acquire) == 1
    }

    fn lock(&self) -> MutexGuard<'_, Option<Box<Lists>>> {
        crate::loom::lock(&self.lists)
    }

    /// Sets `flag` by an RMW (P5) unless set, returning the state.
    fn flag(&self, flag: usize) -> usize {
        let state = self.state();
        if state & flag != 0 {
            return state;
        }
        // ORDERING: an RMW on the notifiers' word (P5); `AcqRel`: publish the
        // flag, acquire a notifier's event.
        self.state.fetch_or(flag, Ordering::AcqRel)
    }

    /// Takes the waiters of one list out, under the lock.
    fn take(&self, closed: bool) -> Wakeups {
        let mut wakeups = Wakeups::new();
        if let Some(lists) = self.lock().as_mut() {
            lists.list(closed).take_all(&mut wakeups);
        }
        wakeups
    }

    /// Claims the slot and writes `value`; `Err(value)` if already claimed.
    pub(super) fn resolve(&self, value: T) -> Result<(), T> {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & CLAIMED != 0 {
                return Err(value);
            }
            // `Relaxed`: the claim publishes nothing (P1: the slot is ours
            // once claimed); the value is published by the `Release` below.
            match self.state.compare_exchange_weak(
                state,
                state | CLAIMED,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        // SAFETY: P1: `CLAIMED` is ours and `RESOLVED` is not set, so nobody
        // reads the slot.
        unsafe { (*self.value.get()).write(value) };
        // ORDERING: `Release` publishes the value (P1) to every `Acquire` load
        // that sees `RESOLVED`; `Acquire` sees a `WAITERS` set before (P5).
        let prev = self.state.fetch_or(RESOLVED, Ordering::AcqRel);
        if prev & WAITERS != 0 {
            let mut panics = FirstPanic::new();
            self.take(false).wake_all(&mut panics);
            panics.resume_unless_unwinding();
        }
        Ok(())
    }
}

impl<T> Block<T> {
    /// Gives up a resolver handle.
    pub(super) fn drop_resolver(&mut self) {
        if !Self::release(&self.shared().resolvers) {
            return;
        }
        let shared = self.shared();
        // With no resolver left, `CLAIMED` cannot change (P3).
        let event = if shared.state() & CLAIMED == 0 {
            ABANDONED
        } else {
            0
        };
        self.side_ends(event, false, RESOLVERS_GONE, PROMISES_GONE);
    }

    /// Gives up a promise handle.
    pub(super) fn drop_promise(&mut self) {
        if !Self::release(&self.shared().promises) {
            return;
        }
        self.side_ends(CLOSED, true, PROMISES_GONE, RESOLVERS_GONE);
    }

    /// Gives up one count of a side; `true` if it was the last.
    fn release(count: &AtomicUsize) -> bool {
        // ORDERING: `Acquire` pairs with the other handles' releasing
        // `fetch_sub`s (their `resolve`s and reads happen before). A count of
        // 1 is ours alone and nobody can clone from it: no write needed.
        if count.load(Ordering::Acquire) == 1 {
            return true;
        }
        // ORDERING: `Release` so this handle's work (a `resolve`, reads of
        // the value) happens before the last handle's checks; `Acquire` for
        // the last one to see them all.
        count.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// The last handle of a side is gone: publish `event` (`ABANDONED`,
    /// `CLOSED`, or nothing), wake whoever listens for it, and mark the side
    /// gone (P2). `closed` says which list listens for it (as in
    /// [`list_bits`]). With nobody registered (its flag clear) that is one CAS;
    /// otherwise the event is published first, the waiters are woken, and
    /// only then is the side marked gone, so the block outlives the waking.
    fn side_ends(&mut self, event: usize, closed: bool, ours: usize, theirs: usize) {
        let waiters = list_bits(closed).1;
        let shared = self.shared();
        let mut state = shared.state.load(Ordering::Relaxed);
        loop {
            if event != 0 && state & waiters != 0 {
                // ORDERING: `Release` publishes the event to the waiters'
                // `Acquire` loads; `Acquire`: a registration made before it
                // is in the list we take (P5).
                shared.state.fetch_or(event, Ordering::AcqRel);
                let mut panics = FirstPanic::new();
                shared.take(closed).wake_all(&mut panics);
                self.side_gone(ours, theirs);
                panics.resume_unless_unwinding();
                return;
            }
            // ORDERING: as `side_gone` (`AcqRel`: publish and see the block's
            // writes, P2), and as the event's `fetch_or` above; a waiter
            // whose flag lands first makes this fail and take the path above.
            match shared.state.compare_exchange_weak(
                state,
                state | event | ours,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(prev) => {
                    if prev & theirs != 0 {
                        // SAFETY: P2: both sides are gone; we are the one
                        // that frees.
                        unsafe { Self::free(self.0, prev | event | ours) };
                    }
                    return;
                }
                Err(actual) => state = actual,
            }
        }
    }

    /// Marks this side gone; frees the block if the other side already is.
    fn side_gone(&mut self, ours: usize, theirs: usize) {
        // ORDERING: `AcqRel`: the side that sets its bit second sees every
        // write the other side made to the block (P2).
        let prev = self.shared().state.fetch_or(ours, Ordering::AcqRel);
        if prev & theirs != 0 {
            // SAFETY: P2: both sides are gone; we are the one that frees.
            unsafe { Self::free(self.0, prev | ours) };
        }
    }

    /// # Safety
    /// P2: called once, by the side that finished second.
    unsafe fn free(ptr: NonNull<Shared<T>>, state: usize) {
        // SAFETY: allocated by `Box` in `new`; nobody else can reach it.
        let shared = unsafe { Box::from_raw(ptr.as_ptr()) };
        let value = (state & RESOLVED != 0 && state & TAKEN == 0)
            // SAFETY: P4: resolved, not taken: the value is still there.
            .then(|| unsafe { (*shared.value.get()).assume_init_read() });
        let lists = crate::loom::into_inner(shared.lists);
        // The value's and any stale waker's `Drop` (user code) run after the
        // memory is released, so a panic in them leaks nothing.
        let mut panics = FirstPanic::new();
        panics.run(move || drop(lists));
        panics.run(move || drop(value));
        panics.resume_unless_unwinding();
    }
}

/// Waiting for the value (or for the abandonment), as the waiting core sees it.
pub(super) struct ResolvedEvent<'a, T>(pub(super) &'a Shared<T>);

impl<T> Event for ResolvedEvent<'_, T> {
    type Output = Result<(), Abandoned>;
    type Key = Key;

    #[inline]
    fn check(&self) -> Option<Self::Output> {
        Shared::<T>::answer(self.0.state())
    }

    fn listen(&self, key: &mut Option<Key>, waiter: NewWaiter<'_>) -> Result<(), Self::Output> {
        listen(self.0, false, key, waiter)
            .map_err(|state| Shared::<T>::answer(state).unwrap_or(Err(Abandoned::new())))
    }

    fn unlisten(&self, key: Key) -> bool {
        unlisten(self.0, false, key)
    }
}

/// Waiting for every promise to go (a resolver's `closed`).
pub(super) struct ClosedEvent<'a, T>(pub(super) &'a Shared<T>);

impl<T> Event for ClosedEvent<'_, T> {
    type Output = ();
    type Key = Key;

    #[inline]
    fn check(&self) -> Option<()> {
        (self.0.state() & CLOSED != 0).then_some(())
    }

    fn listen(&self, key: &mut Option<Key>, waiter: NewWaiter<'_>) -> Result<(), ()> {
        listen(self.0, true, key, waiter).map_err(drop)
    }

    fn unlisten(&self, key: Key) -> bool {
        unlisten(self.0, true, key)
    }
}

/// Steps 2 and 3 for either list: the RMW flag (P5), then register under the
/// lock unless the event (`RESOLVED | ABANDONED`, or `CLOSED`) has happened.
/// `Err(state)` if it has.
fn listen<T>(
    shared: &Shared<T>,
    closed: bool,
    key: &mut Option<Key>,
    waiter: NewWaiter<'_>,
) -> Result<(), usize> {
    let (event, flag) = list_bits(closed);
    let happened = |state: usize| state & event != 0;
    let state = shared.flag(flag);
    if happened(state) {
        return Err(state);
    }
    // Cloning a waker is user code: before locking.
    let waiter = waiter.to_waiter();
    let guard = shared.lock();
    let state = shared.state();
    register_locked(
        guard,
        |lists| lists.get_or_insert_with(Default::default).list(closed),
        happened(state),
        key,
        waiter,
    )
    .map_err(|()| state)
}

fn unlisten<T>(shared: &Shared<T>, closed: bool, key: Key) -> bool {
    if shared.state() & list_bits(closed).0 != 0 {
        // P5: every registration made before the event is taken out by its
        // notifier (which saw the flag), so there is nothing to withdraw:
        // the notifier wakes it (at worst, a spurious wake-up of a finished
        // wait) and drops it. No lock: a woken waiter's last poll is one load.
        return false;
    }
    withdraw_locked(
        shared.lock(),
        |lists| lists.as_mut().map(|lists| lists.list(closed)),
        key,
    )
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_u64_promise_is_one_small_block() {
        let size = core::mem::size_of::<Shared<u64>>();
        println!("promise block for u64: {size} bytes");
        assert!(size <= 48, "{size}");
    }
}
