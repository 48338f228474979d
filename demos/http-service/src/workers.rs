//! The `workers` subsystem: a pool of plain threads for CPU-bound jobs.

use std::io;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use ripcord::oneshot;
use ripcord::shutdown::{Shutdown, ShutdownGuard};

use crate::events::EventLog;

/// A CPU-bound job: count the primes up to `n`, and send the count back.
pub(crate) struct Job {
    pub(crate) n: u64,
    pub(crate) reply: oneshot::Sender<u64>,
}

/// Starts `count` worker threads, each under a guard `worker {i}` of
/// `workers`, and returns the queue they take jobs from.
///
/// A worker exits once the queue is closed (every sender dropped: the HTTP
/// server is gone) **and** its guard's token is cancelled (the `workers`
/// phase has started). It blocks in both waits, so it never polls.
pub(crate) fn spawn(
    workers: &Shutdown,
    count: usize,
    events: &EventLog,
) -> io::Result<mpsc::Sender<Job>> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..count {
        let guard = workers
            .guard_named(format!("worker {i}"))
            .map_err(io::Error::other)?;
        let rx = rx.clone();
        let events = events.clone();
        thread::Builder::new()
            .name(format!("worker-{i}"))
            .spawn(move || run(i, guard, &rx, &events))?;
    }
    Ok(tx)
}

fn run(i: usize, guard: ShutdownGuard, jobs: &Mutex<mpsc::Receiver<Job>>, events: &EventLog) {
    loop {
        // The classic shared-receiver pool: one idle thread waits in `recv`
        // holding the lock, the others wait for the lock.
        let next = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match next {
            Ok(job) => {
                // The requester may have given up: then nobody wants the answer.
                let _ = job.reply.send(count_primes(job.n));
            }
            // Closed: no job can come any more.
            Err(mpsc::RecvError) => break,
        }
    }
    // The queue closes when the HTTP server is gone, which is before this
    // phase starts; wait for the phase all the same, so that a worker never
    // leaves before its turn.
    guard.token().wait();
    events.record("workers", format!("worker {i} stopped"));
    drop(guard);
}

/// How many primes are `<= n`: a deliberately plain CPU-bound job.
pub(crate) fn count_primes(n: u64) -> u64 {
    let is_prime = |k: u64| (2..=k.isqrt()).all(|d| k % d != 0);
    (2..=n).filter(|&k| is_prime(k)).count() as u64
}

#[cfg(test)]
mod tests {
    use super::count_primes;

    #[test]
    fn counts_primes() {
        assert_eq!(count_primes(0), 0);
        assert_eq!(count_primes(2), 1);
        assert_eq!(count_primes(100), 25);
    }
}
