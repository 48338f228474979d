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
//! machine a parked vCPU can take tens of microseconds to come back. When the
//! answer is only a few microseconds away, it is far cheaper for the waiter to
//! stay runnable and look again: the other side then finds nobody registered
//! and skips the wake-up entirely. When the answer is far away, staying
//! runnable only burns a core. [`Handoff`] decides per thread, from how its
//! recent waits ended:
//!
//! | signal | effect |
//! |--------|--------|
//! | the answer arrived during the previous hand-off phase | budget doubles (up to [`MAX_ROUNDS`]) |
//! | the thread had to park anyway | budget halves (down to [`MIN_ROUNDS`]) |
//! | one CPU only | no spin hints, yields only (a yield hands the core straight to the other side) |
//! | [`MAX_PHASE`] elapsed, or the deadline is near | the phase ends: never an unbounded spin |
//!
//! A round is a few `spin_loop` hints (only on machines with several CPUs,
//! and only in the first rounds) or one `yield_now`. Yielding rather than
//! spinning is what keeps the phase from losing when both threads share one
//! core: the yield hands the core to the other thread, which then answers
//! without a wake-up. Measured numbers are in the README's performance
//! section.

#[cfg(not(loom))]
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
                std::thread::yield_now();
            } else {
                thread::park_timeout(left);
            }
            true
        }
    }
}

/// Fewest rounds a hand-off phase ever gets.
pub(crate) const MIN_ROUNDS: u32 = 2;
/// Most rounds a hand-off phase ever gets.
pub(crate) const MAX_ROUNDS: u32 = 256;
/// Rounds a thread starts with.
const START_ROUNDS: u32 = 32;
/// Longest a hand-off phase runs, whatever its budget.
pub(crate) const MAX_PHASE: Duration = Duration::from_micros(40);
/// Rounds that use spin hints instead of a yield (several CPUs only).
const SPIN_ROUNDS: u32 = 4;

#[cfg(not(loom))]
std::thread_local! {
    /// This thread's hand-off budget, in rounds.
    static BUDGET: Cell<u32> = const { Cell::new(START_ROUNDS) };
}

/// Whether the machine has more than one CPU (read once).
#[cfg(not(loom))]
fn several_cpus() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
    // 0: unknown, 1: one CPU, 2: several. A race only repeats the query.
    static CPUS: AtomicU8 = AtomicU8::new(0);
    match CPUS.load(Relaxed) {
        0 => {
            let several = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
            CPUS.store(if several { 2 } else { 1 }, Relaxed);
            several
        }
        known => known == 2,
    }
}

/// The adaptive hand-off phase a blocking wait runs before it registers and
/// parks (see the module docs).
pub(crate) struct Handoff;

impl Handoff {
    /// Looks at `check` for a short, bounded while, staying runnable.
    /// Returns its answer if it came; `None` means "park now". Records the
    /// outcome in this thread's budget.
    #[cfg(not(loom))]
    pub(crate) fn run<R>(
        mut check: impl FnMut() -> Option<R>,
        deadline: Option<Instant>,
    ) -> Option<R> {
        let budget = BUDGET.with(Cell::get);
        let spin = several_cpus();
        let start = Instant::now();
        let end = match deadline {
            Some(deadline) => deadline.min(start + MAX_PHASE),
            None => start + MAX_PHASE,
        };
        for round in 0..budget {
            if spin && round < SPIN_ROUNDS {
                for _ in 0..(4 << round) {
                    core::hint::spin_loop();
                }
            } else {
                std::thread::yield_now();
            }
            if let Some(answer) = check() {
                BUDGET.with(|b| b.set((budget * 2).min(MAX_ROUNDS)));
                return Some(answer);
            }
            if round >= SPIN_ROUNDS && Instant::now() >= end {
                break;
            }
        }
        BUDGET.with(|b| b.set((budget / 2).max(MIN_ROUNDS)));
        None
    }

    /// Under loom a hand-off phase is one more check: the model explores the
    /// interleavings a real phase could produce.
    #[cfg(loom)]
    pub(crate) fn run<R>(
        mut check: impl FnMut() -> Option<R>,
        _deadline: Option<Instant>,
    ) -> Option<R> {
        check()
    }
}
