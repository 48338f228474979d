//! The straggler report names exactly the guards still alive, oldest first,
//! counts the unnamed ones, and gives sane ages.
#![cfg(all(feature = "std", not(loom)))]

use std::thread;
use std::time::{Duration, Instant};

use ripcord::shutdown::Shutdown;

fn names(report: &ripcord::shutdown::DrainReport) -> Vec<&str> {
    report.stragglers().iter().map(|s| s.name()).collect()
}

#[test]
fn report_names_exactly_the_live_named_guards_oldest_first() {
    let shutdown = Shutdown::new();
    let a = shutdown.guard_named("a").unwrap();
    let b = shutdown.guard_named("b").unwrap();
    let _u1 = shutdown.guard().unwrap();
    let c = shutdown.guard_named("c").unwrap();
    let u2 = shutdown.guard().unwrap();
    let d = shutdown.guard_named("d").unwrap();
    drop(b);
    drop(u2);
    shutdown.trigger();
    let report = shutdown.wait_timeout(Duration::ZERO).unwrap_err();
    assert!(report.was_triggered());
    assert_eq!(names(&report), ["a", "c", "d"]);
    assert_eq!(report.unnamed(), 1);
    assert_eq!(report.active(), 4);
    let ages: Vec<Duration> = report.stragglers().iter().map(|s| s.age()).collect();
    assert!(
        ages.windows(2).all(|w| w[0] >= w[1]),
        "oldest first: {ages:?}"
    );
    drop((a, c, d));
    assert_eq!(shutdown.report().unnamed(), 1);
    assert!(shutdown.report().stragglers().is_empty());
}

#[test]
fn report_display_lists_name_and_age_of_each_straggler() {
    let shutdown = Shutdown::new();
    let _x = shutdown.guard_named("flush \"wal\"").unwrap();
    let _y = shutdown.guard_named("upload").unwrap();
    shutdown.trigger();
    let line = shutdown
        .wait_timeout(Duration::ZERO)
        .unwrap_err()
        .to_string();
    assert!(
        line.starts_with("shutdown not drained: 2 guards alive: \"flush \\\"wal\\\"\" (age "),
        "{line}"
    );
    assert!(line.contains(", \"upload\" (age "), "{line}");
    assert!(!line.contains("unnamed"), "{line}");
}

#[test]
fn report_display_counts_unnamed_guards_alone() {
    let shutdown = Shutdown::new();
    let _g = shutdown.guard().unwrap();
    shutdown.trigger();
    let report = shutdown.wait_timeout(Duration::ZERO).unwrap_err();
    assert_eq!(
        report.to_string(),
        "shutdown not drained: 1 guard alive: 1 unnamed"
    );
}

#[test]
fn report_before_trigger_says_so() {
    let shutdown = Shutdown::new();
    let _g = shutdown.guard_named("idle").unwrap();
    let report = shutdown.wait_timeout(Duration::ZERO).unwrap_err();
    assert!(!report.was_triggered());
    assert!(
        report
            .to_string()
            .starts_with("shutdown not triggered: 1 guard alive: \"idle\"")
    );
}

#[test]
#[cfg_attr(miri, ignore = "measures real time")]
fn straggler_ages_are_sane() {
    let shutdown = Shutdown::new();
    let before = Instant::now();
    let _old = shutdown.guard_named("old").unwrap();
    thread::sleep(Duration::from_millis(20));
    let _young = shutdown.guard_named("young").unwrap();
    shutdown.trigger();
    let report = shutdown.wait_timeout(Duration::from_millis(1)).unwrap_err();
    let bound = before.elapsed();
    let [old, young] = report.stragglers() else {
        panic!("two stragglers expected: {report}");
    };
    assert_eq!((old.name(), young.name()), ("old", "young"));
    assert!(old.age() >= Duration::from_millis(20), "{report}");
    assert!(old.age() <= bound, "{report}");
    assert!(young.age() <= old.age(), "{report}");
}

#[test]
fn report_names_exactly_the_guards_left_by_threads() {
    let shutdown = Shutdown::new();
    let mut stuck = Vec::new();
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let g = shutdown.guard_named(format!("worker {i}")).unwrap();
            if i % 2 == 0 {
                thread::spawn(move || drop(g))
            } else {
                stuck.push(g);
                thread::spawn(|| {})
            }
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    shutdown.trigger();
    let report = shutdown.wait_timeout(Duration::ZERO).unwrap_err();
    assert_eq!(names(&report), ["worker 1", "worker 3", "worker 5"]);
    assert_eq!(report.unnamed(), 0);
    drop(stuck);
    assert!(shutdown.wait_timeout(Duration::ZERO).is_ok());
}
