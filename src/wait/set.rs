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

use super::{Event, Key, NewWaiter};

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
pub(crate) struct AnyOf<'s, 'a>(pub(crate) &'s [Entry<'a>]);

impl AnyOf<'_, '_> {
    /// Withdraws every registration (a finished or dropped wait). `false` if
    /// a notifier had taken one of them out (it wakes, or has woken, us).
    pub(crate) fn withdraw_all(&self) -> bool {
        let mut all = true;
        for entry in self.0 {
            all &= entry.withdraw();
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
        for (index, entry) in self.0.iter().enumerate() {
            let mut member_key = entry.key.get();
            let happened = entry.member.listen(&mut member_key, waiter);
            entry.key.set(member_key);
            if happened {
                // Do not stay registered with the others; a lower index that
                // became ready meanwhile wins.
                self.withdraw_all();
                *key = None;
                return Err(self.check().unwrap_or(index));
            }
        }
        *key = Some(());
        Ok(())
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

/// [`Member::listen`] for a primitive's [`Event`].
pub(crate) fn listen_member<E: Event>(
    event: &E,
    key: &mut Option<MemberKey>,
    waiter: NewWaiter<'_>,
) -> bool
where
    E::Key: ErasedKey,
{
    let mut own = key.and_then(E::Key::restore);
    let happened = event.listen(&mut own, waiter).is_err();
    *key = own.map(ErasedKey::erase);
    happened
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
