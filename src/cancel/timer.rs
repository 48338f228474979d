//! Deadlines without an async runtime: one timer thread for every deadline
//! in the process.
//!
//! The first [`Timer::register`] with a deadline starts a thread (named by
//! the timer's owner). It sleeps until the earliest deadline in an ordered
//! map, then takes every due entry out and fires it.
//!
//! The timer knows nothing about what it fires: an entry is an [`Expire`],
//! typically an uncounted pointer that its owner removes (with
//! [`Timer::unregister`]) before the target goes away. Due entries are
//! *pinned* under the map's lock (so an owner that is unregistering either
//! removes the entry first or finds it already pinned), and fired after the
//! lock is released. Firing must not block: the token's deadline hands user
//! code to the helper threads of `dispatch.rs`.
//!
//! The thread lives as long as the process, parked while no deadline is
//! pending.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::loom::thread::{self, Thread};
use crate::loom::{Mutex, MutexGuard};

/// Identifies one pending deadline.
pub(crate) type Key = (Instant, u64);

/// What a timer entry is and does when it is due.
pub(crate) trait Expire: Send + Sized + 'static {
    /// A due entry made safe to use outside the timer's lock.
    type Pinned;

    /// Turns a due entry into something that outlives the lock, or `None` if
    /// its target is going away.
    ///
    /// # Safety
    ///
    /// Called only by the timer, under its lock, for an entry it has just
    /// taken out of its map (so the owner's `unregister` has not returned).
    unsafe fn pin(self) -> Option<Self::Pinned>;

    /// Fires a pinned entry, on the timer thread, outside every lock. Must
    /// not block.
    fn fire(pinned: Self::Pinned);
}

struct Pending<E> {
    entries: BTreeMap<Key, E>,
    next_seq: u64,
    started: bool,
    /// The timer thread, once it runs: unparked for an earlier deadline.
    thread: Option<Thread>,
}

/// A deadline map and the thread that serves it.
pub(crate) struct Timer<E> {
    name: &'static str,
    pending: Mutex<Pending<E>>,
}

impl<E: Expire> Timer<E> {
    /// A timer whose thread, once started, is called `name`.
    pub(crate) fn new(name: &'static str) -> Self {
        Timer {
            name,
            pending: Mutex::new(Pending {
                entries: BTreeMap::new(),
                next_seq: 0,
                started: false,
                thread: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pending<E>> {
        crate::loom::lock(&self.pending)
    }

    /// Adds a deadline; starts the timer thread on first use.
    pub(crate) fn register(&'static self, deadline: Instant, entry: E) -> Key {
        let mut pending = self.lock();
        let key = (deadline, pending.next_seq);
        pending.next_seq += 1;
        let earliest = pending
            .entries
            .first_key_value()
            .is_none_or(|(first, _)| key < *first);
        pending.entries.insert(key, entry);
        if !pending.started {
            pending.started = true;
            if crate::loom::spawn_named(self.name, move || self.run()).is_err() {
                // No thread: deadlines cannot fire. Try again on the next call.
                pending.started = false;
            }
        } else if earliest {
            // `unpark` runs no user code; a token left by a wake-up that
            // comes before the timer parks makes that park return at once.
            if let Some(timer) = &pending.thread {
                timer.unpark();
            }
        }
        key
    }

    /// Removes a deadline. Once this returns, the timer will not pin it (it
    /// may have pinned it already: then it fires).
    pub(crate) fn unregister(&self, key: Key) {
        let mut pending = self.lock();
        pending.entries.remove(&key);
    }

    /// The timer thread: fires what is due, then parks (through the waiting
    /// core) until the earliest deadline or an earlier one's registration.
    fn run(&'static self) {
        let mut pending = self.lock();
        pending.thread = Some(thread::current());
        loop {
            let now = Instant::now();
            let mut due = Vec::new();
            while let Some(entry) = pending.entries.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                let entry = entry.remove();
                // SAFETY: just taken out of the map, under its lock.
                due.extend(unsafe { entry.pin() });
            }
            if !due.is_empty() {
                drop(pending);
                due.into_iter().for_each(E::fire);
                pending = self.lock();
                continue;
            }
            let until = pending
                .entries
                .first_key_value()
                .map(|(&(deadline, _), _)| deadline);
            drop(pending);
            // Spurious wake-ups and early unparks just go round the loop.
            crate::wait::park::park_until(until);
            pending = self.lock();
        }
    }
}
