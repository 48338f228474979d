//! Helper threads that run the user code of deadline cancellations, so that
//! a slow `on_cancel` callback (or waker) never holds up the timer thread.
//!
//! The timer thread does a due token's state transitions itself (they run no
//! user code and take microseconds) and unparks blocked threads directly; it
//! hands the rest (task wakers, callbacks, releasing its pins) to this pool.
//! A job goes to an idle helper; when every helper is busy, a new one is
//! started, up to [`MAX_HELPERS`], so one blocking callback delays no other
//! token. Helpers that stay idle for [`IDLE_EXIT`] exit.
//!
//! Panics in user code are caught here (the panic hook has already reported
//! them) and the helper goes on.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use super::node::Deferred;

/// Most helper threads alive at once.
const MAX_HELPERS: usize = 64;
/// A helper idle this long exits.
const IDLE_EXIT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Jobs {
    queue: VecDeque<Deferred>,
    /// Helpers alive.
    helpers: usize,
    /// Helpers running a job right now.
    busy: usize,
}

struct Pool {
    jobs: Mutex<Jobs>,
    ready: Condvar,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        jobs: Mutex::new(Jobs::default()),
        ready: Condvar::new(),
    })
}

fn lock(pool: &Pool) -> MutexGuard<'_, Jobs> {
    // No user code runs under this lock; the queue is always consistent.
    pool.jobs.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `job` on a helper thread. If no helper can be started at all, runs
/// it here rather than lose it.
pub(super) fn run_later(job: Deferred) {
    let pool = pool();
    let mut jobs = lock(pool);
    jobs.queue.push_back(job);
    let idle = jobs.helpers - jobs.busy;
    if jobs.queue.len() > idle && jobs.helpers < MAX_HELPERS {
        jobs.helpers += 1;
        let spawned = std::thread::Builder::new()
            .name("ripcord-callbacks".into())
            .spawn(helper);
        if spawned.is_err() {
            jobs.helpers -= 1;
            if jobs.helpers == 0 {
                let job = jobs.queue.pop_back();
                drop(jobs);
                if let Some(job) = job {
                    drop(job.run());
                }
                return;
            }
        }
    }
    drop(jobs);
    pool.ready.notify_one();
}

fn helper() {
    let pool = pool();
    let mut jobs = lock(pool);
    loop {
        if let Some(job) = jobs.queue.pop_front() {
            jobs.busy += 1;
            drop(jobs);
            // Caught panics are dropped: the hook reported them, and the
            // thread that cancelled (the timer) has nobody to give them to.
            drop(job.run());
            jobs = lock(pool);
            jobs.busy -= 1;
            continue;
        }
        let (guard, waited) = pool
            .ready
            .wait_timeout(jobs, IDLE_EXIT)
            .unwrap_or_else(PoisonError::into_inner);
        jobs = guard;
        if waited.timed_out() && jobs.queue.is_empty() {
            jobs.helpers -= 1;
            return;
        }
    }
}
