//! The one implementation of "check, listen, check again, wait".

use core::task::{Context, Poll};

use super::NewWaiter;

/// A one-time event as the waiting core sees it.
///
/// A primitive implements this once per thing one can wait for (a oneshot
/// side becoming ready, a token being cancelled, a shutdown being drained) and
/// waits only through [`poll_event`] and [`block_on`].
pub(crate) trait Event {
    /// What a finished wait returns (often the state word that made it ready).
    type Output;
    /// How a registration is found again (to refresh or withdraw it).
    type Key: Copy;

    /// Steps 1 and 3: the answer, if the event has happened. Cheap: usually
    /// one atomic load.
    fn check(&self) -> Option<Self::Output>;

    /// Step 2, with step 3 done atomically against the notifier: registers
    /// `waiter` (or refreshes the registration `*key`), unless the event has
    /// happened, in which case nothing stays registered and the answer is
    /// returned.
    fn listen(
        &self,
        key: &mut Option<Self::Key>,
        waiter: NewWaiter<'_>,
    ) -> Result<(), Self::Output>;

    /// Withdraws the registration `key`. Returns `false` if a notifier had
    /// already taken the waiter out (and so will wake it, or has).
    fn unlisten(&self, key: Self::Key) -> bool;
}

/// Polls `event` from a task: check; listen (which checks again); `Pending`.
///
/// `key` is the future's registration, kept between polls: a pending future
/// stays registered, and is refreshed (not duplicated) when polled again. On
/// `Ready` the registration is withdrawn; the future's `Drop` must withdraw it
/// too (see [`unlisten`](Event::unlisten)).
#[inline]
pub(crate) fn poll_event<E: Event>(
    event: &E,
    key: &mut Option<E::Key>,
    cx: &mut Context<'_>,
) -> Poll<E::Output> {
    // 1. check
    if let Some(answer) = event.check() {
        if let Some(key) = key.take() {
            event.unlisten(key);
        }
        return Poll::Ready(answer);
    }
    // 2. listen, 3. check again (inside `listen`), 4. wait
    match event.listen(key, NewWaiter::Task(cx.waker())) {
        Ok(()) => Poll::Pending,
        Err(answer) => {
            *key = None;
            Poll::Ready(answer)
        }
    }
}

/// Blocks the calling thread until `event` happens or `deadline` passes:
/// check; a short adaptive hand-off phase ([`Handoff`](super::park::Handoff));
/// listen (which checks again); park, re-checking after every wake-up.
///
/// Returns the answer, or `None` on timeout, with nothing left registered. An
/// answer that is there when the deadline passes is returned. Never spins
/// unboundedly; a deadline in the past only checks.
#[cfg(feature = "std")]
pub(crate) fn block_on<E: Event>(
    event: &E,
    deadline: Option<std::time::Instant>,
) -> Option<E::Output> {
    use super::park::{Handoff, park_until};

    // 1. check
    if let Some(answer) = event.check() {
        return Some(answer);
    }
    let parked = match Handoff::run(|| event.check(), deadline) {
        Ok(answer) => return Some(answer),
        Err(parked) => parked,
    };
    // 2. listen, 3. check again (inside `listen`)
    let mut key = None;
    if let Err(answer) = event.listen(&mut key, NewWaiter::Thread) {
        parked.ended(true);
        return Some(answer);
    }
    let Some(key) = key else {
        // `listen` registers or answers: nothing to wait for otherwise.
        let answer = event.check();
        parked.ended(answer.is_some());
        return answer;
    };
    // 4. wait
    loop {
        let in_time = park_until(deadline);
        if let Some(answer) = event.check() {
            // A notifier usually took the waiter out already; if not (the
            // check raced it), withdraw it so nothing stays registered.
            event.unlisten(key);
            parked.ended(true);
            return Some(answer);
        }
        if !in_time {
            let withdrawn = event.unlisten(key);
            // Withdrawn or not, the event may have happened meanwhile.
            let answer = event.check();
            // A notifier took the waiter and is about to unpark this thread.
            // In real code that leftover wake-up is harmless (parking may
            // return early; every caller re-checks). Loom models no spurious
            // wake-ups, so there it is consumed, which also checks it comes.
            #[cfg(loom)]
            if !withdrawn {
                crate::loom::thread::park();
            }
            #[cfg(not(loom))]
            let _ = withdrawn;
            parked.ended(answer.is_some());
            return answer;
        }
    }
}
