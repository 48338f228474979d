//! The service's event log: what each subsystem did, in order.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// One thing a subsystem did, as [`Service::events`](crate::Service::events)
/// lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Time since the service started.
    pub at: Duration,
    /// The subsystem that did it: `http`, `workers`, `writer` or `db`.
    pub subsystem: &'static str,
    /// What happened, for people (`"accept loop ended"`, `"final flush of 3 records"`).
    pub what: String,
}

/// An append-only, shared log of [`Event`]s. Cheap to clone: every clone
/// is the same log, so a clone taken before [`Service::stop`](crate::Service::stop)
/// still reads it afterwards.
///
/// Every event that ends a piece of guarded work is recorded *before* its
/// guard is dropped, and every event that starts a phase is recorded *after*
/// its token was seen cancelled. So when one phase waits for another
/// ([`Shutdown::after`](ripcord::shutdown::Shutdown::after)), the log order
/// is the phase order, with no race between the two.
#[derive(Debug, Clone)]
pub struct EventLog {
    start: Instant,
    events: Arc<Mutex<Vec<Event>>>,
}

impl EventLog {
    pub(crate) fn new() -> Self {
        EventLog {
            start: Instant::now(),
            events: Arc::default(),
        }
    }

    /// Appends an event (and prints nothing: the binary prints the log).
    pub(crate) fn record(&self, subsystem: &'static str, what: impl Into<String>) {
        let event = Event {
            at: self.start.elapsed(),
            subsystem,
            what: what.into(),
        };
        self.lock().push(event);
    }

    /// A copy of every event so far, oldest first.
    pub fn snapshot(&self) -> Vec<Event> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Event>> {
        // A panic while pushing cannot leave the vector half-written.
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
