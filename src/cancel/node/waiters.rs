//! A token as the waiting core sees it: listening for `CANCELLED`.

use super::{CANCELLED, Inner, Node, WAITERS};
use crate::wait::{Event, Key, NewWaiter, Wakeups, register_locked, withdraw_locked};

/// A token's node waiting to be cancelled, as the waiting core sees it.
pub(crate) struct Cancellation<'a>(pub(crate) &'a Node);

impl Event for Cancellation<'_> {
    type Output = ();
    type Key = Key;

    #[inline]
    fn check(&self) -> Option<()> {
        self.0.is_cancelled().then_some(())
    }

    fn listen(&self, key: &mut Option<Key>, waiter: NewWaiter<'_>) -> Result<(), ()> {
        self.0.listen(key, waiter)
    }

    fn unlisten(&self, key: Key) -> bool {
        self.0.unlisten(key)
    }
}

impl Node {
    /// Registers `waiter` (or refreshes `*key`'s registration), unless the
    /// node is cancelled: then `Err`. Step 3 of the protocol, "check again",
    /// happens under the lock the canceller takes to collect the waiters.
    fn listen(&self, key: &mut Option<Key>, waiter: NewWaiter<'_>) -> Result<(), ()> {
        // The RMW makes a lock-free canceller see that it must collect.
        if self.flag(WAITERS) & CANCELLED != 0 {
            return Err(());
        }
        if let (Some(old), NewWaiter::Task(waker)) = (*key, waiter) {
            let mut inner = self.lock();
            if inner
                .extra
                .as_mut()
                .is_some_and(|extra| extra.waiters.will_wake(old, waker))
            {
                return if self.is_cancelled() { Err(()) } else { Ok(()) };
            }
        }
        // Cloning a waker is user code: before locking.
        let waiter = waiter.to_waiter();
        let inner = self.lock();
        let cancelled = self.is_cancelled();
        register_locked(
            inner,
            |inner| &mut inner.extra.get_or_insert_with(Default::default).waiters,
            cancelled,
            key,
            waiter,
        )
    }

    /// Withdraws a registration; `false` if a canceller had taken it out.
    fn unlisten(&self, key: Key) -> bool {
        withdraw_locked(
            self.lock(),
            |inner| inner.extra.as_mut().map(|extra| &mut extra.waiters),
            key,
        )
    }

    /// Takes every registered waiter out, to be woken after unlocking.
    pub(super) fn take_waiters(&self, inner: &mut Inner, into: &mut Wakeups) {
        if let Some(extra) = inner.extra.as_mut() {
            extra.waiters.take_all(into);
        }
    }
}
