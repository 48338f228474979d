//! Helper threads that run the user code of deadline cancellations, so that
//! a slow `on_cancel` callback (or waker) never holds up the timer thread.
//!
//! The timer thread does a due token's state transitions itself (they run no
//! user code and take microseconds) and unparks blocked threads directly; it
//! hands the rest (task wakers, callbacks, releasing its pins) to this pool
//! as a [`Job`]. The pool knows nothing about tokens.
//! A job goes to an idle helper; when every helper is busy, a new one is
//! started, up to [`MAX_HELPERS`], so one blocking callback delays no other
//! token. Helpers that stay idle for [`IDLE_EXIT`] exit.
//!
//! A job catches the panics of the user code it runs (the panic hook has
//! already reported them) and the helper goes on.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::loom::statics::OnceLock;
use crate::loom::thread::{self, Thread};
use crate::loom::{Mutex, MutexGuard};

/// Most helper threads alive at once.
const MAX_HELPERS: usize = 64;
/// A helper idle this long exits.
const IDLE_EXIT: Duration = Duration::from_secs(5);

/// Work for a helper thread. It catches its own panics.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Jobs {
    queue: VecDeque<Job>,
    /// Helpers alive.
    helpers: usize,
    /// Helpers running a job right now.
    busy: usize,
    /// Helpers parked waiting for a job; a new job unparks one.
    idle: Vec<Thread>,
}

struct Pool {
    jobs: Mutex<Jobs>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        jobs: Mutex::new(Jobs::default()),
    })
}

fn lock(pool: &Pool) -> MutexGuard<'_, Jobs> {
    crate::loom::lock(&pool.jobs)
}

/// Runs `job` on a helper thread. If no helper can be started at all, runs
/// it here rather than lose it.
pub(crate) fn run_later(job: Job) {
    let pool = pool();
    let mut jobs = lock(pool);
    jobs.queue.push_back(job);
    let idle = jobs.helpers - jobs.busy;
    if jobs.queue.len() > idle && jobs.helpers < MAX_HELPERS {
        jobs.helpers += 1;
        let spawned = crate::loom::spawn_named("ripcord-callbacks", helper);
        if spawned.is_err() {
            jobs.helpers -= 1;
            if jobs.helpers == 0 {
                let job = jobs.queue.pop_back();
                drop(jobs);
                if let Some(job) = job {
                    job();
                }
                return;
            }
        }
    }
    let sleeper = jobs.idle.pop();
    drop(jobs);
    // `unpark` runs no user code; a token left before the helper parks
    // makes that park return at once.
    if let Some(helper) = sleeper {
        helper.unpark();
    }
}

/// A helper thread: runs jobs; parks (through the waiting core) while there
/// are none; exits after [`IDLE_EXIT`] without one.
fn helper() {
    let pool = pool();
    let me = thread::current();
    let mut jobs = lock(pool);
    // When this helper gives up, if no job comes first.
    let mut exit_at = crate::wait::deadline_after(IDLE_EXIT);
    loop {
        if let Some(job) = jobs.queue.pop_front() {
            jobs.busy += 1;
            drop(jobs);
            job();
            jobs = lock(pool);
            jobs.busy -= 1;
            exit_at = crate::wait::deadline_after(IDLE_EXIT);
            continue;
        }
        if exit_at.is_some_and(|at| Instant::now() >= at) {
            jobs.helpers -= 1;
            return;
        }
        jobs.idle.push(me.clone());
        drop(jobs);
        crate::wait::park::park_until(exit_at);
        jobs = lock(pool);
        // Off the list, whether a new job's unpark took it off or not.
        jobs.idle.retain(|idle| idle.id() != me.id());
    }
}
