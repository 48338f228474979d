//! Parking a thread: deadlines and the adaptive hand-off.
//!
//! # Deadlines
//!
//! A timed wait turns its timeout into an instant once ([`deadline_after`]);
//! a timeout whose end cannot be represented (`Duration::MAX`) means "wait
//! forever". [`park_until`] parks until that instant; less than
//! [`SHORT_WAIT`] before it, it yields the core instead, because a timed park
//! sleeps at least the OS timer slack (tens of microseconds) and would
//! overshoot a deadline that close.
//!
//! # The adaptive hand-off
//!
//! Parking costs the *waking* side a system call (`unpark` of a parked
//! thread) and the parked side a trip through the scheduler; on a virtual
//! machine a parked vCPU takes tens of microseconds to come back. When the
//! answer is only microseconds away on another CPU, it is far cheaper for the
//! waiter to stay runnable and look again: the other side then finds nobody
//! registered and skips the wake-up entirely. But when the answering thread
//! needs *this* CPU (both pinned to one core, or more runnable threads than
//! cores), every moment the waiter stays runnable delays the answer: parking
//! at once hands the CPU over soonest. [`Handoff`] tells the two apart, per
//! thread, from how its recent phases ended:
//!
//! | what the last wait saw | next |
//! |-----------------------|------|
//! | the answer during the phase, and no round lost the CPU | the phase stays (or goes back to) [`MAX_PHASE`] long |
//! | the answer, right after a round that lost the CPU (took over [`LOST_CPU`]: preempted, or its yield ran another thread) | the answer came from a thread that needed this CPU: the next 16 waits park at once (32, 64 … up to [`MAX_SKIP`] while that repeats), then a phase probes again |
//! | no answer during the phase; parked; the answer came within [`SHORT_WAIT_END`] of the phase's start | the answer was only a little late (mostly the other side's own wake-up): the phase stays [`MAX_PHASE`] long, and the skip length starts over |
//! | no answer during the phase, and a long wait (or a timeout) | the phase halves (down to [`MIN_PHASE`]): events this far apart are not worth staying awake for |
//!
//! A round is a few `spin_loop` hints (the first eight rounds, several CPUs
//! only: 4, 8, 16, then 32 hints) or one `yield_now`. The phase never runs
//! longer than [`MAX_PHASE`] nor past the wait's deadline.
//!
//! Measured on a 2-vCPU KVM guest, blocking round trip (a worker thread
//! answers, the caller blocks in `recv`), ripcord's time ÷ the fastest peer's
//! (kanal yields before parking; the others park at once), in the three
//! placements of `cargo bench --bench report` (apart / together /
//! oversubscribed):
//!
//! | policy | apart | together | oversubscribed |
//! |--------|-------|----------|----------------|
//! | park at once (ripcord 0.1) | 3.07 | 1.02 | 1.37 |
//! | spin 4 rounds + yields ≤ 40 µs, budget by success only | 0.89 | 2.17 | 1.70 |
//! | yields only ≤ 40 µs, budget by success only | 0.75 | 2.17 | 1.71 |
//! | + lost-CPU detection, budget halved by every failed phase | 0.96–3.50 (bistable) | 1.01–1.03 | 0.97–1.25 |
//! | **this policy** (+ phase length by how the wait ended, 100 µs) | 0.85–0.98 | 1.01 | 0.99–1.55 |
//!
//! The bistable row: on a VM, once both vCPUs halt between round trips, the
//! worker's wake-up takes longer than a 40 µs phase, every phase failed, the
//! budget collapsed and both sides kept parking; keeping the phase long while
//! waits stay short lets the round trip fall back into the fast regime.

// Under loom the hand-off has no timed phase (the model checker explores the
// parks themselves), so the policy's constants and history go unused there.
#![cfg_attr(loom, allow(dead_code, unused_imports))]

use core::cell::Cell;
use std::time::{Duration, Instant};

use crate::loom::thread;

/// The instant `timeout` from now, or `None` ("wait forever") when that instant
/// is not representable (for example `Duration::MAX`).
#[inline]
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Below this much time left, a timed wait yields instead of parking.
pub(crate) const SHORT_WAIT: Duration = Duration::from_micros(50);

/// Parks the calling thread until it is unparked, spuriously woken, or the
/// deadline passes. Returns `false` once the deadline has passed (without
/// parking), `true` otherwise. Callers re-check their condition after every
/// `true`, so spurious wake-ups are harmless.
///
/// Under loom, time does not advance; a deadline is modelled as having expired
/// at the first park, which is exactly the race the timeout paths must survive.
#[inline]
pub(crate) fn park_until(deadline: Option<Instant>) -> bool {
    match deadline {
        None => {
            thread::park();
            true
        }
        #[cfg(loom)]
        Some(_) => false,
        #[cfg(not(loom))]
        Some(deadline) => {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let left = deadline - now;
            if left < SHORT_WAIT {
                thread::yield_now();
            } else {
                thread::park_timeout(left);
            }
            true
        }
    }
}

/// Shortest a hand-off phase ever gets (after waits that were long).
pub(crate) const MIN_PHASE: Duration = Duration::from_micros(2);
/// Longest a hand-off phase runs (after hand-offs that succeeded, or waits
/// that were short anyway).
pub(crate) const MAX_PHASE: Duration = Duration::from_micros(100);
/// A wait that parked and still ended within this long counts as short: the
/// answer was only a little late, so the phase keeps its full length (a wait
/// that long is mostly the other side's wake-up, which a longer phase avoids).
const SHORT_WAIT_END: Duration = Duration::from_micros(250);
/// Rounds that use spin hints instead of a yield (several CPUs only): 4, 8,
/// 16, then 32 hints each, so that no round is long enough to look like a
/// lost CPU (32 hints take about 1 µs).
const SPIN_ROUNDS: u32 = 8;
/// A round that takes longer than this lost the CPU: the thread was
/// preempted, or its yield ran another thread. Either way another thread
/// wanted this CPU, and the answer may be coming from that very thread, which
/// cannot run while this one stays runnable.
pub(crate) const LOST_CPU: Duration = Duration::from_micros(3);
/// Waits that park at once after a phase lost the CPU (doubling, up to
/// [`MAX_SKIP`], while phases keep losing it).
const MIN_SKIP: u32 = 16;
/// Most waits that park at once before the next phase probes again. Where the
/// CPU really is shared a probe can cost over a hundred microseconds (the
/// phase holds the CPU until the scheduler preempts it), so probes must be
/// rare there; a misread (a hiccup of the hypervisor during a phase) is
/// forgotten at the next clean hand-off.
const MAX_SKIP: u32 = 1024;

/// One thread's hand-off history.
#[derive(Clone, Copy)]
struct History {
    /// How long the next phase may run, in microseconds.
    phase_us: u32,
    /// Waits left that park at once.
    skip: u32,
    /// What `skip` is set to the next time a phase loses the CPU.
    skip_next: u32,
}

#[cfg(not(loom))]
std::thread_local! {
    static HISTORY: Cell<History> = const {
        Cell::new(History { phase_us: MAX_PHASE.as_micros() as u32, skip: 0, skip_next: MIN_SKIP })
    };
}

/// Whether the machine has more than one CPU (read once).
#[cfg(not(loom))]
fn several_cpus() -> bool {
    use crate::loom::Ordering::Relaxed;
    use crate::loom::statics::AtomicU8;
    // 0: unknown, 1: one CPU, 2: several. A race only repeats the query.
    static CPUS: AtomicU8 = AtomicU8::new(0);
    match CPUS.load(Relaxed) {
        0 => {
            let several = thread::available_parallelism().is_ok_and(|n| n.get() > 1);
            CPUS.store(if several { 2 } else { 1 }, Relaxed);
            several
        }
        known => known == 2,
    }
}

/// The adaptive hand-off phase a blocking wait runs before it registers and
/// parks (see the module docs).
pub(crate) struct Handoff;

/// A wait whose hand-off phase found no answer (the thread goes on to park):
/// how it ends tunes the next phase's length.
#[must_use = "report how the wait ended"]
pub(crate) struct Parked {
    /// When the phase started; `None` if there was no phase.
    #[cfg(not(loom))]
    start: Option<Instant>,
}

impl Parked {
    /// The wait is over (`answered`: the event happened; otherwise it timed
    /// out). A wait that ended soon after its phase keeps the phase long; a
    /// long wait halves it.
    pub(crate) fn ended(self, answered: bool) {
        #[cfg(not(loom))]
        if let Some(start) = self.start {
            let short = answered && start.elapsed() <= SHORT_WAIT_END;
            HISTORY.with(|h| {
                let mut history = h.get();
                history.phase_us = if short {
                    MAX_PHASE.as_micros() as u32
                } else {
                    (history.phase_us / 2).max(MIN_PHASE.as_micros() as u32)
                };
                h.set(history);
            });
        }
        #[cfg(loom)]
        let _ = answered;
    }
}

impl Handoff {
    /// Looks at `check` for a short, bounded while, staying runnable.
    /// Returns its answer if it came; otherwise the thread parks, and reports
    /// how the wait ended through the returned [`Parked`].
    #[cfg(not(loom))]
    pub(crate) fn run<R>(
        mut check: impl FnMut() -> Option<R>,
        deadline: Option<Instant>,
    ) -> Result<R, Parked> {
        let mut history = HISTORY.with(Cell::get);
        if history.skip > 0 {
            history.skip -= 1;
            HISTORY.with(|h| h.set(history));
            return Err(Parked { start: None });
        }
        let spin = several_cpus();
        let start = Instant::now();
        let phase = Duration::from_micros(u64::from(history.phase_us));
        let end = match deadline {
            Some(deadline) => deadline.min(start + phase),
            None => start + phase,
        };
        let mut before = start;
        let mut round = 0;
        loop {
            if spin && round < SPIN_ROUNDS {
                for _ in 0..(4 << round.min(3)) {
                    core::hint::spin_loop();
                }
            } else {
                thread::yield_now();
            }
            round += 1;
            let answer = check();
            let now = Instant::now();
            if let Some(answer) = answer {
                if now.saturating_duration_since(before) > LOST_CPU {
                    // It came while this thread was off the CPU: the
                    // answering thread needed this very CPU, and parking
                    // would have handed it over sooner.
                    history.skip = history.skip_next;
                    history.skip_next = (history.skip_next * 2).min(MAX_SKIP);
                } else {
                    history.phase_us = MAX_PHASE.as_micros() as u32;
                    history.skip_next = MIN_SKIP;
                }
                HISTORY.with(|h| h.set(history));
                return Ok(answer);
            }
            if now >= end {
                // No answer while this thread held its CPU: whoever answers
                // runs elsewhere, so an earlier "shared" was a misread (a
                // hypervisor hiccup): start the skip length over.
                history.skip_next = MIN_SKIP;
                HISTORY.with(|h| h.set(history));
                return Err(Parked { start: Some(start) });
            }
            before = now;
        }
    }

    /// Under loom the phase is skipped: the model explores the
    /// interleavings of the register / park path it would lead to anyway.
    #[cfg(loom)]
    pub(crate) fn run<R>(
        _check: impl FnMut() -> Option<R>,
        _deadline: Option<Instant>,
    ) -> Result<R, Parked> {
        Err(Parked {})
    }
}
