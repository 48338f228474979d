//! The oneshot state machine: one heap block, one atomic word.
//!
//! Everything a oneshot channel shares lives in a single [`Block`]: the state
//! word, a slot for the value, and one waiter slot per side. This file is the
//! only place that reads or writes them; [`Sender`](super::Sender) and
//! [`Receiver`](super::Receiver) are thin handles that call in here.
//!
//! # State bits
//!
//! | bit | name         | set by                                   | cleared by                                                      | what setting it publishes |
//! |-----|--------------|------------------------------------------|-----------------------------------------------------------------|---------------------------|
//! | 0   | `RX_WAITING` | receiver, registering a task or thread   | receiver (reclaims its own waiter) or sender (takes it to wake) | the receiver's waiter slot |
//! | 1   | `TX_WAITING` | sender, registering in `closed()`        | sender (reclaims its own waiter) or receiver (takes it to wake) | the sender's waiter slot |
//! | 2   | `VALUE`      | sender, in `send`                        | receiver, when it takes the value                               | the value slot |
//! | 3   | `TX_CLOSED`  | sender, in `send` or drop                | never                                                           | "no value will arrive after this" |
//! | 4   | `TX_DONE`    | sender, last step of `send`/drop         | never                                                           | "the sender never touches the block again" |
//! | 5   | `RX_CLOSED`  | receiver, in `close`, drop or completion | never                                                           | "a send from now on fails" |
//! | 6   | `RX_DONE`    | receiver, last step of drop/completion   | never                                                           | "the receiver never touches the block again" |
//!
//! # Ownership rules
//!
//! - The **value slot** belongs to the sender until `VALUE` is set, then to the
//!   receiver (which clears `VALUE` when it moves the value out).
//! - A **waiter slot** belongs to its own side while its `*_WAITING` bit is clear.
//!   While the bit is set the slot is shared: both sides may read it (the owner
//!   only to compare wakers), and whoever clears the bit with a successful
//!   compare-and-swap takes ownership of the waiter inside.
//! - The **block** is freed by whichever side sets the second `*_DONE` bit, that
//!   is, the side whose own `*_DONE` read-modify-write observes the other's. No
//!   reference count is needed: exactly one of the two RMWs sees the other.
//!
//! # Transitions
//!
//! Every change is one compare-and-swap (CAS) with `AcqRel` ordering on the
//! state word, so each side sees everything the other published before it.
//!
//! | who, when                | requires            | CAS sets / clears                                                      | afterwards |
//! |--------------------------|---------------------|------------------------------------------------------------------------|------------|
//! | receiver registers       | not ready¹          | `+RX_WAITING` (after reclaiming an older waiter with `-RX_WAITING`)³   | `Pending` |
//! | sender registers         | not `RX_CLOSED`     | `+TX_WAITING` (likewise)                                               | `Pending` |
//! | a blocked side times out | its bit still set   | `-*_WAITING`                                                           | drops its waiter; if the bit was already gone, the other side finished and the result is read instead |
//! | sender sends             | not `RX_CLOSED`     | `+VALUE +TX_CLOSED`, takes both waiters (`-RX_WAITING -TX_WAITING`), `+TX_DONE` if it took none | moves taken waiters out, then `+TX_DONE` (second RMW); wakes the receiver's waiter last |
//! | sender drops             | —                   | `+TX_CLOSED`, takes both waiters, `+TX_DONE` if it took none           | same as send |
//! | receiver closes          | —                   | `+RX_CLOSED`, takes `TX_WAITING`                                       | wakes the sender's waiter |
//! | receiver drops/completes | —                   | `+RX_CLOSED -VALUE`², takes both waiters, `+RX_DONE` if it took none   | moves taken waiters out, then `+RX_DONE`; wakes the sender's waiter last |
//!
//! ¹ The receiver is *ready* when any of `VALUE`, `TX_CLOSED`, `RX_CLOSED` is set:
//!   there is a value to take, or none can ever arrive.
//! ² `-VALUE` only when the receiver has just moved the value out.
//! ³ The new waker is cloned before anything changes and the reclaimed one is
//!   dropped only after `+RX_WAITING`: both are user code, so a panicking
//!   `clone` leaves the old registration and a panicking `drop` finds the new
//!   one complete.
//!
//! Whoever sets its `*_DONE` bit and sees the other side's already set frees the
//! block, dropping whatever the final state says is still inside (an untaken
//! value, a waiter that was registered and never taken). When the other side's
//! `*_DONE` is already visible before any CAS, a side is the sole owner and
//! frees without writing the state at all (the common "send, then receive" path
//! costs the receiver one load).
//!
//! No step waits for the other side: the two-RMW path (taking a waiter, moving
//! it out, then setting `*_DONE`) exists precisely so that the side that wakes
//! never has to wait for, or spin on, the side being woken.

use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};

use crate::loom::{AtomicUsize, Ordering, UnsafeCell};
use crate::wait::{Event, NewWaiter, Waiter};
#[allow(unused_imports)]
use alloc::boxed::Box;

/// The receiver has registered a waiter.
pub(crate) const RX_WAITING: usize = 1 << 0;
/// The sender has registered a waiter (in `closed`).
pub(crate) const TX_WAITING: usize = 1 << 1;
/// The value slot holds a value.
pub(crate) const VALUE: usize = 1 << 2;
/// The sender has sent or been dropped.
pub(crate) const TX_CLOSED: usize = 1 << 3;
/// The sender will not touch the block again.
pub(crate) const TX_DONE: usize = 1 << 4;
/// The receiver has closed the channel or been dropped.
pub(crate) const RX_CLOSED: usize = 1 << 5;
/// The receiver will not touch the block again.
pub(crate) const RX_DONE: usize = 1 << 6;

/// When any of these is set the receiver has its answer: a value, or "none will
/// come".
pub(crate) const RX_READY: usize = VALUE | TX_CLOSED | RX_CLOSED;
/// When this is set the sender's `closed()` has its answer.
pub(crate) const TX_READY: usize = RX_CLOSED;

/// The bits one side owns, so that both sides share one implementation of
/// registering, unregistering and releasing.
#[derive(Clone, Copy)]
pub(crate) struct Side {
    waiting: usize,
    closed: usize,
    done: usize,
    ready: usize,
}

impl Side {
    /// The other side.
    #[inline(always)]
    fn other(self) -> Side {
        if self.waiting == RX_WAITING { TX } else { RX }
    }
}

/// The receiving side's bits.
pub(crate) const RX: Side = Side {
    waiting: RX_WAITING,
    closed: RX_CLOSED,
    done: RX_DONE,
    ready: RX_READY,
};

/// The sending side's bits.
pub(crate) const TX: Side = Side {
    waiting: TX_WAITING,
    closed: TX_CLOSED,
    done: TX_DONE,
    ready: TX_READY,
};

/// What a side does to the state when it lets go (see the transition table).
#[derive(Clone, Copy)]
pub(crate) struct Release {
    /// Extra bits to set besides the side's `closed` bit (`VALUE` for a send).
    pub(crate) set: usize,
    /// Bits to clear (`VALUE` when the receiver has just moved it out).
    pub(crate) clear: usize,
    /// Give up without changing anything if any of these bits is set.
    pub(crate) fail_if: usize,
    /// Whether the handle lets go of the block (sets its `done` bit).
    pub(crate) detach: bool,
}

/// What a release does from a given state.
enum Plan {
    /// A `fail_if` bit is set: change nothing.
    Fail,
    /// Detaching, and the other side is already done: free the block now.
    Free,
    /// Compare-and-swap to `new`, taking ownership of the waiters in `taken`.
    Cas { new: usize, taken: usize },
}

impl Release {
    /// The transition-table row for `side` releasing from `state`.
    #[inline(always)]
    fn plan(self, side: Side, state: usize) -> Plan {
        let other = side.other();
        if state & self.fail_if != 0 {
            return Plan::Fail;
        }
        if self.detach && state & other.done != 0 {
            return Plan::Free;
        }
        // Take the other side's waiter to wake it; when detaching, also take
        // back our own. `done` waits until the taken waiters are out.
        let take = other.waiting | if self.detach { side.waiting } else { 0 };
        let taken = state & take;
        let mut new = (state | side.closed | self.set) & !self.clear & !taken;
        if self.detach && taken == 0 {
            new |= side.done;
        }
        Plan::Cas { new, taken }
    }
}

/// The shared heap block of one channel.
pub(crate) struct Block<T> {
    state: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
    rx_waiter: UnsafeCell<MaybeUninit<Waiter>>,
    tx_waiter: UnsafeCell<MaybeUninit<Waiter>>,
}

/// The address a terminated receiver points at instead of a freed block.
///
/// A static's address can never be handed out by the allocator, so it can't be
/// confused with a live block; it is compared, never dereferenced.
static TERMINATED: u8 = 0;

/// A pointer no block ever has; a receiver that has its answer holds it.
#[inline(always)]
pub(crate) fn terminated<T>() -> NonNull<Block<T>> {
    NonNull::from(&TERMINATED).cast()
}

impl<T> Block<T> {
    /// Allocates a fresh block: the channel's one and only allocation.
    pub(crate) fn alloc() -> NonNull<Self> {
        let block = Box::new(Block {
            state: AtomicUsize::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            rx_waiter: UnsafeCell::new(MaybeUninit::uninit()),
            tx_waiter: UnsafeCell::new(MaybeUninit::uninit()),
        });
        // SAFETY: `Box::into_raw` never returns null.
        unsafe { NonNull::new_unchecked(Box::into_raw(block)) }
    }

    /// The current state.
    #[inline(always)]
    pub(crate) fn state(&self) -> usize {
        // ORDERING: `Acquire` pairs with the `Release` half of every
        // transition (`cas`, `fetch_or`): a `VALUE` bit makes the value
        // visible, a waiting bit the stored waker.
        self.state.load(Ordering::Acquire)
    }

    #[inline(always)]
    fn cas(&self, current: usize, new: usize) -> Result<usize, usize> {
        // ORDERING: `Release` publishes what this side wrote before the
        // transition (the value, its waker); `Acquire` (also on failure, for
        // the retry) sees the other side's.
        self.state
            .compare_exchange(current, new, Ordering::AcqRel, Ordering::Acquire)
    }

    #[inline(always)]
    fn slot(&self, side: Side) -> &UnsafeCell<MaybeUninit<Waiter>> {
        if side.waiting == RX_WAITING {
            &self.rx_waiter
        } else {
            &self.tx_waiter
        }
    }

    /// Moves the waiter out of `side`'s slot.
    ///
    /// # Safety
    /// The caller owns the slot (see the ownership rules) and it holds a waiter.
    #[inline(always)]
    unsafe fn take_waiter(&self, side: Side) -> Waiter {
        // SAFETY: by the caller's contract the slot is initialized and ours.
        self.slot(side)
            .with(|p| unsafe { ptr::read(p).assume_init() })
    }

    /// Writes the value into its slot.
    ///
    /// # Safety
    /// Only the sender, before it sets `VALUE`, with the slot empty.
    #[inline(always)]
    pub(crate) unsafe fn write_value(&self, value: T) {
        // SAFETY: the slot belongs to the sender until `VALUE` is published.
        self.value.with_mut(|p| unsafe { (*p).write(value) });
    }

    /// Moves the value out of its slot.
    ///
    /// # Safety
    /// The slot holds a value the caller owns: the receiver after observing
    /// `VALUE`, or the sender taking back a value it never published.
    #[inline(always)]
    pub(crate) unsafe fn read_value(&self) -> T {
        // SAFETY: by the caller's contract the slot is initialized and ours.
        self.value.with(|p| unsafe { ptr::read(p).assume_init() })
    }

    /// Registers `new` as `side`'s waiter, unless `side` is already ready.
    ///
    /// Returns `Ok(())` when the waiter is registered (the caller returns
    /// `Pending` or parks) and `Err(state)` with a ready state otherwise. If the
    /// same task is already registered nothing is written at all.
    ///
    /// # Safety
    /// Called only by the handle of `side`, which must not be detached.
    #[inline(always)] // so that `side` folds into constants at each call site
    pub(crate) unsafe fn register(&self, side: Side, new: NewWaiter<'_>) -> Result<(), usize> {
        let slot = self.slot(side);
        let mut state = self.state();
        if state & side.ready != 0 {
            return Err(state);
        }
        // A waiter of ours is published. Comparing it in place is a read that
        // can only race with the other side's read when it takes it (see
        // `NewWaiter::is_stored_in`); if it is taken, the new waiter is the
        // same task, so the wake-up reaches it anyway.
        // SAFETY: the bit is set, so the slot is initialized and stays
        // allocated (we have not let go of the block).
        if state & side.waiting != 0
            && slot.with(|p| new.is_stored_in(unsafe { (*p).assume_init_ref() }))
        {
            return Ok(());
        }
        // Cloning a waker is user code: before anything changes, so a clone
        // that panics leaves the registration as it was.
        let waiter = new.to_waiter();
        // The waiter this one replaces: dropped (user code) only once the
        // new one is published, so a `drop` that panics finds the
        // registration complete.
        let mut replaced = None;
        if state & side.waiting != 0 {
            // A different waiter: reclaim the slot, then replace it below.
            loop {
                match self.cas(state, state & !side.waiting) {
                    Ok(_) => {
                        state &= !side.waiting;
                        // SAFETY: we cleared the bit, so the waiter is ours.
                        replaced = Some(unsafe { self.take_waiter(side) });
                        break;
                    }
                    // The other side only clears our bit while making us ready.
                    Err(actual) if actual & side.ready != 0 => {
                        drop(waiter);
                        return Err(actual);
                    }
                    Err(actual) => state = actual,
                }
            }
        }
        // SAFETY: the bit is clear, so the slot is ours and empty.
        slot.with_mut(|p| unsafe { (*p).write(waiter) });
        loop {
            match self.cas(state, state | side.waiting) {
                Ok(_) => {
                    drop(replaced);
                    return Ok(());
                }
                Err(actual) if actual & side.ready != 0 => {
                    // Never published: the waiter is still ours to drop.
                    // SAFETY: we wrote it above and never set the bit.
                    let unpublished = unsafe { self.take_waiter(side) };
                    // A tuple: if the first `drop` panics, the second still runs.
                    drop((replaced, unpublished));
                    return Err(actual);
                }
                Err(actual) => state = actual,
            }
        }
    }

    /// Withdraws `side`'s registered waiter (a blocking wait timed out).
    ///
    /// Returns `Ok(())` if the waiter was withdrawn and dropped, or `Err(state)`
    /// when the other side took it first, in which case `state` is ready.
    ///
    /// # Safety
    /// Called only by the handle of `side`, which must not be detached.
    unsafe fn unregister(&self, side: Side) -> Result<(), usize> {
        let mut state = self.state();
        while state & side.waiting != 0 {
            match self.cas(state, state & !side.waiting) {
                Ok(_) => {
                    // SAFETY: we cleared the bit, so the waiter is ours.
                    drop(unsafe { self.take_waiter(side) });
                    return Ok(());
                }
                Err(actual) => state = actual,
            }
        }
        Err(state)
    }

    /// Lets `side` go as `how` says (see the transition table).
    ///
    /// A waiter taken out of the block is dealt with once the transition is
    /// complete (the block may already be freed by then): the other side's is
    /// woken, our own dropped. Returns `Err(())` without changing anything if
    /// a `fail_if` bit is set.
    ///
    /// # Safety
    /// `this` is a live block and the caller is the handle of `side`. If
    /// `how.detach`, the handle must not touch the block afterwards: it may be
    /// freed by the time this returns.
    #[inline(always)] // so that `side` and `how` fold into straight-line code
    pub(crate) unsafe fn release(this: NonNull<Self>, side: Side, how: Release) -> Result<(), ()> {
        // SAFETY: live block; this reference is not used after our `done` bit is
        // published (the other side may free the block from then on).
        let block = unsafe { this.as_ref() };
        let state = block.state();
        // Fast paths, inlined at every call site: give up, free at once, or one
        // CAS when there is no waiter to take. Everything else, including a
        // lost CAS, goes to the general loop.
        match how.plan(side, state) {
            Plan::Fail => return Err(()),
            Plan::Free => {
                // SAFETY: the other side is gone: the block is ours alone.
                unsafe { Self::free(this, state & !how.clear) };
                return Ok(());
            }
            Plan::Cas { new, taken: 0 } => {
                if block.cas(state, new).is_ok() {
                    // Nothing taken, and the other side was not done: it frees.
                    return Ok(());
                }
            }
            Plan::Cas { .. } => {}
        }
        // SAFETY: forwarded contract.
        unsafe { Self::release_slow(this, side, how) }
    }

    /// The general case of [`release`](Block::release): waiters to take, or a
    /// lost race.
    ///
    /// # Safety
    /// As for [`release`](Block::release).
    #[cold]
    #[inline(never)]
    unsafe fn release_slow(this: NonNull<Self>, side: Side, how: Release) -> Result<(), ()> {
        let other = side.other();
        // SAFETY: as in `release`.
        let block = unsafe { this.as_ref() };
        let mut state = block.state();
        let (prev, new) = loop {
            match how.plan(side, state) {
                Plan::Fail => return Err(()),
                Plan::Free => {
                    // SAFETY: the other side is gone for good: the block is ours.
                    unsafe { Self::free(this, state & !how.clear) };
                    return Ok(());
                }
                Plan::Cas { new, taken } => match block.cas(state, new) {
                    // Nothing taken (the waiters left while a lost CAS sent
                    // us here): when detaching, this CAS published
                    // our `done`, after which the other side may free the
                    // block at once. Touch nothing more, not even `block`.
                    Ok(_) if taken == 0 => return Ok(()),
                    Ok(_) => break (state, new),
                    Err(actual) => state = actual,
                },
            }
        };
        // SAFETY: we cleared the other side's waiting bit, so its waiter is ours.
        let other_waiter = (prev & other.waiting != 0).then(|| unsafe { block.take_waiter(other) });
        // SAFETY: we cleared our waiting bit (detaching), so our waiter is ours.
        let own_waiter =
            (prev & side.waiting != 0 && how.detach).then(|| unsafe { block.take_waiter(side) });
        if how.detach {
            // Something was taken, so `plan` left `done` for now: the waiters
            // are out of the block; now we may let go of it.
            debug_assert_eq!(new & side.done, 0);
            // ORDERING: `AcqRel`: whichever side sets its `done` second
            // sees everything the first did to the block, and frees it.
            let before = block.state.fetch_or(side.done, Ordering::AcqRel);
            if before & other.done != 0 {
                // SAFETY: the other side was done first, so we are the last.
                unsafe { Self::free(this, before | side.done) };
            }
        }
        // Both waiters are out of the block and every transition is done:
        // now the user code, wake theirs and drop ours.
        Taken {
            wake: other_waiter,
            drop: own_waiter,
        }
        .finish();
        Ok(())
    }

    /// Frees the block, dropping what `state` says is still inside.
    ///
    /// The value and any waiter left inside are moved out and the block is
    /// deallocated before any of them is dropped (user code); with `std`,
    /// each is dropped even if an earlier `Drop` panicked, and the first
    /// panic is re-raised.
    ///
    /// # Safety
    /// Both sides are done with the block (or the caller is the last one), and
    /// `state` is its final state.
    #[inline]
    pub(crate) unsafe fn free(this: NonNull<Self>, state: usize) {
        if state & (RX_WAITING | TX_WAITING) == 0 {
            // No waiter inside (the common case): the memory, then the value.
            // SAFETY: allocated by `alloc` with `Box`; nobody else can reach it.
            let block = unsafe { Box::from_raw(this.as_ptr()) };
            // SAFETY: `VALUE` says the slot holds a value nobody took.
            let value = (state & VALUE != 0).then(|| unsafe { block.read_value() });
            drop(block);
            drop_value(value);
        } else {
            // SAFETY: forwarded contract.
            unsafe { Self::free_with_contents(this, state) };
        }
    }

    /// [`free`](Block::free) when a waiter is still inside.
    ///
    /// # Safety
    /// As for [`free`](Block::free).
    #[inline(never)]
    unsafe fn free_with_contents(this: NonNull<Self>, state: usize) {
        // SAFETY: allocated by `alloc` with `Box`; nobody else can reach it.
        let block = unsafe { Box::from_raw(this.as_ptr()) };
        // SAFETY: `VALUE` says the slot holds a value nobody took.
        let value = (state & VALUE != 0).then(|| unsafe { block.read_value() });
        // SAFETY: `RX_WAITING` says the slot holds a waker nobody took.
        let rx = (state & RX_WAITING != 0).then(|| unsafe { block.take_waiter(RX) });
        // SAFETY: `TX_WAITING` says the slot holds a waker nobody took.
        let tx = (state & TX_WAITING != 0).then(|| unsafe { block.take_waiter(TX) });
        drop(block);
        if rx.is_none() && tx.is_none() {
            drop_value(value);
            return;
        }
        Taken {
            wake: None,
            drop: rx,
        }
        .finish_with(value, tx);
    }
}

/// Drops a value nobody took (user code, after the block is freed); while
/// the thread is already unwinding, a panic of its `Drop` is dropped rather
/// than turned into an abort.
#[inline]
fn drop_value<T>(value: Option<T>) {
    #[cfg(feature = "std")]
    if value.is_some() {
        crate::wait::run_user(|| drop(value));
    }
    #[cfg(not(feature = "std"))]
    drop(value);
}

/// Waiters a release took out of the block: the other side's, to wake, and
/// the releasing side's own, to drop. Both are user code, run after every
/// transition is complete and outside the block (which may be freed).
#[must_use = "the other side's waiter must be woken"]
struct Taken {
    wake: Option<Waiter>,
    drop: Option<Waiter>,
}

impl Taken {
    /// Wakes the other side, then drops our own waiter. With `std` each runs
    /// even if the other panics, and the first panic propagates; without it
    /// a panicking wake drops our waiter while unwinding.
    #[inline(always)]
    fn finish(self) {
        match self {
            Taken {
                wake: None,
                drop: None,
            } => {}
            // The common case: one waker to wake, nothing after it that a
            // panic could skip.
            Taken {
                wake: Some(waiter),
                drop: None,
            } => {
                #[cfg(feature = "std")]
                crate::wait::run_user(|| waiter.wake());
                #[cfg(not(feature = "std"))]
                waiter.wake();
            }
            taken => taken.finish_with(None::<()>, None),
        }
    }

    #[cold]
    fn finish_with<V>(self, value: Option<V>, also: Option<Waiter>) {
        #[cfg(feature = "std")]
        {
            let mut panics = crate::wait::FirstPanic::new();
            if let Some(waiter) = self.wake {
                panics.run(|| waiter.wake());
            }
            panics.run(|| drop(self.drop));
            panics.run(|| drop(value));
            panics.run(|| drop(also));
            panics.resume_unless_unwinding();
        }
        #[cfg(not(feature = "std"))]
        {
            let Taken { wake, drop: own } = self;
            if let Some(waiter) = wake {
                waiter.wake();
            }
            drop(own);
            drop(value);
            drop(also);
        }
    }
}

/// One side of a channel waiting to become ready, as the waiting core
/// ([`crate::wait`]) sees it: the receiver waits for `RX_READY`, the sender
/// (in `closed`) for `TX_READY`. The side's single waiter slot is the
/// registration, so the key carries nothing.
pub(crate) struct SideEvent<'a, T> {
    block: &'a Block<T>,
    side: Side,
}

impl<'a, T> SideEvent<'a, T> {
    /// # Safety
    /// Only the live (not detached) handle of `side` may wait, and it keeps
    /// the block alive for `'a`.
    #[inline(always)]
    pub(crate) unsafe fn new(block: &'a Block<T>, side: Side) -> Self {
        SideEvent { block, side }
    }
}

impl<T> Event for SideEvent<'_, T> {
    type Output = usize;
    type Key = ();

    #[inline(always)]
    fn check(&self) -> Option<usize> {
        let state = self.block.state();
        (state & self.side.ready != 0).then_some(state)
    }

    #[inline(always)]
    fn listen(&self, key: &mut Option<()>, waiter: NewWaiter<'_>) -> Result<(), usize> {
        // Set first: a waker's `drop` that panics inside `register` leaves a
        // registration the set must be able to withdraw.
        *key = Some(());
        // SAFETY: the handle of `side`, live (contract of `new`).
        let registered = unsafe { self.block.register(self.side, waiter) };
        if registered.is_err() {
            *key = None;
        }
        registered
    }

    #[inline]
    fn unlisten(&self, _key: ()) -> bool {
        // SAFETY: as in `listen`. `Err` means the other side took the waiter.
        unsafe { self.block.unregister(self.side) }.is_ok()
    }
}
