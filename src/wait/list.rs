//! The waiters of an event that may have many: a slab guarded by the owner's
//! lock, emptied whole when the event fires, woken after the lock is released.

use core::task::Waker;

use super::{FirstPanic, Waiter};
use crate::slab::Slab;

/// Where a registered waiter sits in a [`WaitList`].
///
/// Taking every waiter out ([`WaitList::take_all`]) starts a new *epoch*, so
/// a key from before it no longer matches anything: a future that was woken
/// and then dropped cannot remove someone else's registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    epoch: usize,
    index: usize,
}

/// Registered waiters. Plain data: the primitive keeps it under its own lock,
/// and follows the core's rules (module docs of [`wait`](super)): waiters are
/// made before locking, taken out under the lock, and woken or dropped after.
#[derive(Default)]
pub(crate) struct WaitList {
    waiters: Slab<Waiter>,
    epoch: usize,
}

impl WaitList {
    /// Registers `waiter`.
    pub(crate) fn insert(&mut self, waiter: Waiter) -> Key {
        Key {
            epoch: self.epoch,
            index: self.waiters.insert(waiter),
        }
    }

    /// Whether `key` is still registered with a waker that wakes the same
    /// task as `waker` (then re-registering can be skipped).
    pub(crate) fn will_wake(&mut self, key: Key, waker: &Waker) -> bool {
        key.epoch == self.epoch
            && matches!(self.waiters.get_mut(key.index), Some(Waiter::Task(w)) if w.will_wake(waker))
    }

    /// Replaces `*key`'s waiter with `waiter`, or registers it anew if `key`
    /// was taken out meanwhile (or is `None`). Returns the waiter it replaced,
    /// for the caller to drop after unlocking.
    pub(crate) fn put(&mut self, key: &mut Option<Key>, waiter: Waiter) -> Option<Waiter> {
        if let Some(old) = *key {
            if old.epoch == self.epoch {
                if let Some(slot) = self.waiters.get_mut(old.index) {
                    return Some(core::mem::replace(slot, waiter));
                }
            }
        }
        *key = Some(self.insert(waiter));
        None
    }

    /// Withdraws `key`'s waiter. `None` if it was already taken out to be
    /// woken. The caller drops the returned waiter after unlocking.
    pub(crate) fn remove(&mut self, key: Key) -> Option<Waiter> {
        if key.epoch != self.epoch {
            return None;
        }
        self.waiters.remove(key.index)
    }

    /// Takes every waiter out for the caller to wake after unlocking.
    /// Firing an event allocates nothing: a few waiters move into the
    /// `Wakeups`' inline slots (the list keeps its memory for later
    /// waiters); more hand over the list's whole storage.
    pub(crate) fn take_all(&mut self, into: &mut Wakeups) {
        self.epoch = self.epoch.wrapping_add(1);
        if into.is_unused() && self.waiters.slot_count() <= INLINE_WAKEUPS {
            for (slot, waiter) in into
                .inline
                .iter_mut()
                .zip(self.waiters.drain_keeping_capacity())
            {
                *slot = Some(waiter);
            }
            return;
        }
        let slots = self.waiters.take_slots();
        if into.more.is_empty() {
            into.more = slots;
        } else {
            into.more.extend(slots);
        }
    }
}

/// Steps 2 and 3 of the protocol for a list kept under the primitive's lock:
/// `waiter` was made (its waker cloned) before locking, `guard` holds the
/// lock, and `happened` is the event's state read under it. Registers `waiter`
/// (or refreshes `*key`'s registration) unless the event has happened, then
/// unlocks; the unused or replaced waiter is dropped only after that (rules 2
/// and 3 of the [core](super)).
pub(crate) fn register_locked<G>(
    mut guard: G,
    list: impl FnOnce(&mut G) -> &mut WaitList,
    happened: bool,
    key: &mut Option<Key>,
    waiter: Waiter,
) -> Result<(), ()> {
    if happened {
        drop(guard);
        drop(waiter);
        return Err(());
    }
    let replaced = list(&mut guard).put(key, waiter);
    drop(guard);
    drop(replaced);
    Ok(())
}

/// Withdraws `key` from a list kept under the primitive's lock (`list` is
/// `None` if none was ever made), dropping the waiter after unlocking.
/// Returns `false` if a notifier had already taken it out.
pub(crate) fn withdraw_locked<G>(
    mut guard: G,
    list: impl FnOnce(&mut G) -> Option<&mut WaitList>,
    key: Key,
) -> bool {
    let removed = list(&mut guard).and_then(|list| list.remove(key));
    drop(guard);
    removed.is_some()
}

/// Waiters a [`Wakeups`] holds without allocating.
const INLINE_WAKEUPS: usize = 2;

/// Waiters taken out of their lists, to be woken once every lock is released:
/// a few inline, more as the slots of a taken list (free ones included:
/// moving them is cheaper than copying the waiters out).
#[derive(Default)]
#[must_use = "taken waiters must be woken"]
pub(crate) struct Wakeups {
    inline: [Option<Waiter>; INLINE_WAKEUPS],
    more: Vec<Option<Waiter>>,
}

impl Wakeups {
    /// Nothing to wake yet.
    pub(crate) const fn new() -> Self {
        Wakeups {
            inline: [None, None],
            more: Vec::new(),
        }
    }

    fn is_unused(&self) -> bool {
        self.inline.iter().all(Option::is_none) && self.more.is_empty()
    }

    fn slots(&mut self) -> impl Iterator<Item = &mut Option<Waiter>> {
        self.inline.iter_mut().chain(self.more.iter_mut())
    }

    /// Whether there is nobody to wake.
    pub(crate) fn is_empty(&self) -> bool {
        self.inline.iter().chain(&self.more).all(Option::is_none)
    }

    /// Unparks the blocked threads now (no user code runs: `unpark` is the
    /// standard library's) and keeps the tasks, whose wakers are user code.
    pub(crate) fn wake_threads(&mut self) {
        for slot in self.slots() {
            if let Some(Waiter::Thread(thread)) = slot {
                thread.unpark();
                *slot = None;
            }
        }
    }

    /// Wakes everyone, each even if an earlier waker panicked; the first
    /// panic is kept in `panics`.
    pub(crate) fn wake_all(self, panics: &mut FirstPanic) {
        // Each wake is caught on its own, so a panicking one leaves the
        // remaining waiters to the next turn of the loop.
        let Wakeups { inline, more } = self;
        for waiter in inline.into_iter().chain(more).flatten() {
            panics.run(|| waiter.wake());
        }
    }
}
