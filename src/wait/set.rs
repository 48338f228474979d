//! Several events waited for as one: the waiter (a thread, or a task's waker)
//! registers with each of them, and is withdrawn from all of them once any
//! fires.
//!
//! A [`Member`] is one event, type-erased: the primitives implement it for
//! their handles (a receiver, a token, a promise, a sender, a shutdown), so a
//! set needs no allocation of its own. [`AnyOf`] makes a slice of members one
//! [`Event`], so waiting on a set goes through the same [`poll_event`] and
//! [`block_on`] as every other wait: there is still one "check, listen, check
//! again, wait" loop in the crate.
//!
//! [`poll_event`]: super::poll_event
//! [`block_on`]: super::block_on

use core::cell::Cell;

use super::{Event, FirstPanic, Key, NewWaiter};

/// A registration in one member's waiter storage.
#[derive(Clone, Copy, Debug)]
pub(crate) enum MemberKey {
    /// In a [`WaitList`](super::WaitList).
    List(Key),
    /// In the member's single waiter slot (a oneshot side).
    Slot,
}

/// One event of a set, type-erased.
pub(crate) trait Member {
    /// Whether the event has happened (or its handle is finished, so that the
    /// caller's next operation on it answers at once).
    fn check(&self) -> bool;

    /// Registers `waiter` (or refreshes `*key`'s registration) unless the
    /// event has happened: then `true`, with nothing left registered.
    fn listen(&self, key: &mut Option<MemberKey>, waiter: NewWaiter<'_>) -> bool;

    /// Withdraws a registration. `false` if the notifier had taken it out.
    fn unlisten(&self, key: MemberKey) -> bool;
}

/// A member of a set with its registration.
pub(crate) struct Entry<'a> {
    member: &'a (dyn Member + Sync),
    key: Cell<Option<MemberKey>>,
}

impl<'a> Entry<'a> {
    pub(crate) fn new(member: &'a (dyn Member + Sync)) -> Self {
        Entry {
            member,
            key: Cell::new(None),
        }
    }

    /// The member (to copy the set into a larger one).
    pub(crate) fn member(&self) -> &'a (dyn Member + Sync) {
        self.member
    }

    fn withdraw(&self) -> bool {
        match self.key.take() {
            Some(key) => self.member.unlisten(key),
            None => true,
        }
    }
}

/// Any of `entries`: ready with the lowest ready index.
///
/// Registering with a set and withdrawing from it are transactions over
/// several members, and each member may run user code (a waker's `clone` while
/// registering, its `drop` while withdrawing). Whatever that code does:
///
/// 1. A registration either completes (every member holds this waiter) or
///    rolls back (none does): a member whose `listen` panics stops the round,
///    and every member registered so far, this round or an earlier one, is
///    withdrawn.
/// 2. A withdrawal withdraws from every member, even after one of them
///    panicked.
/// 3. The first panic reaches the caller once 1 or 2 is complete. (Not while
///    the thread is already unwinding, where a second panic would abort: the
///    wait then answers as if the member that panicked were ready, a spurious
///    answer its caller re-checks, as after any wake-up.)
pub(crate) struct AnyOf<'s, 'a>(pub(crate) &'s [Entry<'a>]);

impl AnyOf<'_, '_> {
    /// Withdraws every registration (a finished or dropped wait), then
    /// re-raises the first panic of a waker's `drop` (rule 2). `false` if a
    /// notifier had taken one of them out (it wakes, or has woken, us).
    pub(crate) fn withdraw_all(&self) -> bool {
        let mut panics = FirstPanic::new();
        let all = self.withdraw_each(&mut panics);
        panics.resume_unless_unwinding();
        all
    }

    /// Rule 2: each entry, whatever an earlier one's waker did.
    fn withdraw_each(&self, panics: &mut FirstPanic) -> bool {
        let mut all = true;
        for entry in self.0 {
            panics.run(|| all &= entry.withdraw());
        }
        all
    }
}

impl Event for AnyOf<'_, '_> {
    type Output = usize;
    /// The registrations live in the entries; the key only says there are some.
    type Key = ();

    fn check(&self) -> Option<usize> {
        self.0.iter().position(|entry| entry.member.check())
    }

    fn listen(&self, key: &mut Option<()>, waiter: NewWaiter<'_>) -> Result<(), usize> {
        let mut panics = FirstPanic::new();
        let mut happened = None;
        for (index, entry) in self.0.iter().enumerate() {
            let mut member_key = entry.key.get();
            let mut fired = false;
            panics.run(|| fired = entry.member.listen(&mut member_key, waiter));
            // Written back even after a panic: `listen_member` keeps the key
            // right whatever the member's user code did.
            entry.key.set(member_key);
            if panics.is_caught() || fired {
                happened = Some(index);
                break;
            }
        }
        let Some(index) = happened else {
            *key = Some(());
            return Ok(());
        };
        // Rule 1: a member fired (do not stay registered with the others) or
        // panicked (roll back): nothing stays registered.
        *key = None;
        self.withdraw_each(&mut panics);
        // Rule 3.
        panics.resume_unless_unwinding();
        // A lower index that became ready meanwhile wins.
        Err(self.check().unwrap_or(index))
    }

    fn unlisten(&self, _key: ()) -> bool {
        self.withdraw_all()
    }
}

/// An [`Event`]'s key, as a [`MemberKey`].
pub(crate) trait ErasedKey: Copy {
    fn erase(self) -> MemberKey;
    fn restore(key: MemberKey) -> Option<Self>;
}

impl ErasedKey for Key {
    fn erase(self) -> MemberKey {
        MemberKey::List(self)
    }

    fn restore(key: MemberKey) -> Option<Self> {
        match key {
            MemberKey::List(key) => Some(key),
            MemberKey::Slot => None,
        }
    }
}

impl ErasedKey for () {
    fn erase(self) -> MemberKey {
        MemberKey::Slot
    }

    fn restore(key: MemberKey) -> Option<Self> {
        matches!(key, MemberKey::Slot).then_some(())
    }
}

/// [`Member::listen`] for a primitive's [`Event`]. `*key` is written back
/// even if the event's `listen` unwinds (a waker's `clone` or `drop` panicked
/// after the registration changed), so the set can withdraw what is there.
pub(crate) fn listen_member<E: Event>(
    event: &E,
    key: &mut Option<MemberKey>,
    waiter: NewWaiter<'_>,
) -> bool
where
    E::Key: ErasedKey,
{
    /// Writes the event's key back into the member key when dropped.
    struct WriteBack<'k, K: ErasedKey> {
        own: Option<K>,
        key: &'k mut Option<MemberKey>,
    }
    impl<K: ErasedKey> Drop for WriteBack<'_, K> {
        fn drop(&mut self) {
            *self.key = self.own.map(ErasedKey::erase);
        }
    }
    let mut back = WriteBack {
        own: key.and_then(E::Key::restore),
        key,
    };
    event.listen(&mut back.own, waiter).is_err()
}

/// [`Member::unlisten`] for a primitive's [`Event`].
pub(crate) fn unlisten_member<E: Event>(event: &E, key: MemberKey) -> bool
where
    E::Key: ErasedKey,
{
    E::Key::restore(key).is_none_or(|key| event.unlisten(key))
}

/// A member that never happens: the filler of a set's unused inline slots.
pub(crate) struct Never;

impl Member for Never {
    fn check(&self) -> bool {
        false
    }

    fn listen(&self, _key: &mut Option<MemberKey>, _waiter: NewWaiter<'_>) -> bool {
        false
    }

    fn unlisten(&self, _key: MemberKey) -> bool {
        true
    }
}
