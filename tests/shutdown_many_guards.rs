//! 10,000 guards across 8 threads drain with nothing lost.
#![cfg(all(feature = "std", not(loom)))]

use std::sync::Arc;
use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use ripcord::shutdown::Shutdown;

const THREADS: usize = 8;

fn per_thread() -> usize {
    if cfg!(miri) { 4 } else { 10_000 / THREADS }
}

#[test]
fn ten_thousand_guards_across_eight_threads_drain_with_nothing_lost() {
    let shutdown = Shutdown::new();
    let start = Arc::new(Barrier::new(THREADS + 1));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let shutdown = shutdown.clone();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                let mut held = Vec::new();
                for i in 0..per_thread() {
                    // No guard is refused before the trigger.
                    let g = if i % 4 == 0 {
                        shutdown.guard_named(format!("t{t} #{i}"))
                    } else {
                        shutdown.guard()
                    }
                    .expect("guard refused before the trigger");
                    if i % 2 == 0 {
                        held.push(g); // released in a batch below
                    }
                }
                held
            })
        })
        .collect();
    start.wait();
    let held: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let expected: usize = held.iter().map(Vec::len).sum();
    assert_eq!(shutdown.active_guards(), expected);
    let report = shutdown.report();
    assert_eq!(report.active(), expected);
    shutdown.trigger();
    assert!(!shutdown.is_drained());
    // Release the rest from 8 threads at once.
    let releasers: Vec<_> = held
        .into_iter()
        .map(|batch| thread::spawn(move || drop(batch)))
        .collect();
    shutdown
        .wait_timeout(Duration::from_secs(60))
        .expect("every guard released");
    for r in releasers {
        r.join().unwrap();
    }
    assert_eq!(shutdown.active_guards(), 0);
    assert!(shutdown.report().stragglers().is_empty());
    assert!(shutdown.guard().is_err());
}
