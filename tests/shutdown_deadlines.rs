//! Grace periods, the hard token and `force`, from threads: the "time out,
//! then abort, then say what is stuck" sequence services hand-roll.
#![cfg(all(feature = "std", not(loom)))]
#![cfg(not(miri))] // real deadlines: the timer thread sleeps for real

use std::thread;
use std::time::{Duration, Instant};

use ripcord::CancelReason;
use ripcord::shutdown::{Shutdown, SubsystemStatus};

const LONG: Duration = Duration::from_secs(10);

fn status(shutdown: &Shutdown, path: &str) -> SubsystemStatus {
    shutdown
        .report()
        .subsystems()
        .iter()
        .find(|s| s.path() == path)
        .unwrap_or_else(|| panic!("no subsystem {path:?}"))
        .status()
}

#[test]
fn the_hard_token_fires_with_deadline_exceeded_not_before_the_grace_period() {
    let root = Shutdown::new();
    let http = root.child("http");
    let grace = Duration::from_millis(30);
    http.set_grace(grace);
    let guard = http.guard_named("GET /slow").unwrap();
    let started = Instant::now();
    root.trigger();
    assert!(guard.token().is_cancelled());
    assert!(!guard.hard_token().is_cancelled());
    guard.hard_token().wait_timeout(LONG).expect("forced");
    assert!(
        started.elapsed() >= grace,
        "forced before the grace period ended"
    );
    assert_eq!(
        guard.hard_token().reason(),
        Some(CancelReason::DeadlineExceeded)
    );
    assert!(http.is_forced());
    assert_eq!(status(&root, "http"), SubsystemStatus::Stuck);
    let report = root.report();
    assert_eq!(report.stragglers()[0].name(), "GET /slow");
    assert_eq!(report.stragglers()[0].subsystem(), "http");
    drop(guard);
    assert_eq!(status(&root, "http"), SubsystemStatus::Forced);
    root.wait_timeout(LONG).unwrap();
}

#[test]
fn work_that_finishes_in_time_is_drained_not_forced() {
    let root = Shutdown::new();
    root.set_grace(Duration::from_secs(5));
    let guard = root.guard().unwrap();
    let hard = guard.hard_token().clone();
    root.trigger();
    drop(guard);
    assert_eq!(status(&root, ""), SubsystemStatus::Drained);
    assert!(!root.is_forced());
    assert!(!hard.is_cancelled());
}

#[test]
fn the_grace_clock_starts_when_the_phase_starts() {
    let root = Shutdown::new();
    let http = root.child("http");
    let db = root.child("db");
    db.after(&[&http]).unwrap();
    db.set_grace(Duration::from_millis(20));
    let request = http.guard().unwrap();
    let conn = db.guard_named("connection").unwrap();
    root.trigger();
    thread::sleep(Duration::from_millis(60));
    assert!(!conn.hard_token().is_cancelled(), "db has not started yet");
    let released = Instant::now();
    drop(request);
    conn.hard_token().wait_timeout(LONG).expect("db forced");
    assert!(released.elapsed() >= Duration::from_millis(20));
}

#[test]
fn a_parents_grace_period_forces_its_children_too() {
    let root = Shutdown::new();
    root.set_grace(Duration::from_millis(10));
    let jobs = root.child("jobs");
    jobs.set_grace(Duration::from_secs(3600));
    let job = jobs.guard().unwrap();
    root.trigger();
    job.hard_token()
        .wait_timeout(LONG)
        .expect("forced by the root's grace period");
    assert!(jobs.is_forced());
    assert_eq!(status(&root, "jobs"), SubsystemStatus::Stuck);
}

#[test]
fn a_zero_grace_period_forces_at_once() {
    let shutdown = Shutdown::new();
    shutdown.set_grace(Duration::ZERO);
    let guard = shutdown.guard().unwrap();
    shutdown.trigger();
    guard.hard_token().wait_timeout(LONG).unwrap();
    assert!(shutdown.is_forced());
}

#[test]
fn an_unrepresentable_grace_period_never_fires() {
    let shutdown = Shutdown::new();
    shutdown.set_grace(Duration::MAX);
    let guard = shutdown.guard().unwrap();
    shutdown.trigger();
    assert!(
        guard
            .hard_token()
            .wait_timeout(Duration::from_millis(20))
            .is_err()
    );
    shutdown.set_grace(Duration::from_secs(u64::MAX));
    assert!(!shutdown.is_forced());
}

#[test]
fn force_escalates_now_and_starts_waiting_phases() {
    let root = Shutdown::new();
    let http = root.child("http");
    let db = root.child("db");
    db.after(&[&http]).unwrap();
    let request = http.guard_named("GET /slow").unwrap();
    let conn = db.guard().unwrap();
    root.trigger();
    assert!(!db.is_triggered());
    root.force();
    assert!(request.hard_token().is_cancelled());
    assert!(conn.hard_token().is_cancelled());
    assert!(db.is_triggered(), "force starts a waiting phase");
    assert_eq!(request.hard_token().reason().unwrap().to_string(), "forced");
    drop((request, conn));
    assert!(root.is_drained());
    assert_eq!(status(&root, "http"), SubsystemStatus::Forced);
}

#[test]
fn force_before_any_trigger_also_triggers() {
    let shutdown = Shutdown::new();
    let guard = shutdown.guard().unwrap();
    shutdown.force();
    assert!(guard.token().is_cancelled());
    assert!(guard.hard_token().is_cancelled());
    drop(guard);
    assert!(shutdown.is_drained());
}

#[test]
fn an_already_drained_subsystem_is_not_marked_forced() {
    let root = Shutdown::new();
    let done = root.child("done");
    let busy = root.child("busy");
    let _g = busy.guard().unwrap();
    root.trigger();
    root.force();
    assert!(!done.is_forced());
    assert!(busy.is_forced());
    assert_eq!(status(&root, "done"), SubsystemStatus::Drained);
}

#[test]
fn a_tracked_future_sees_the_hard_token() {
    let shutdown = Shutdown::new();
    shutdown.set_grace(Duration::from_millis(5));
    let tracked = shutdown.track_named("stream", async {}).unwrap();
    let hard = tracked.hard_token().unwrap().clone();
    shutdown.trigger();
    hard.wait_timeout(LONG).unwrap();
    assert_eq!(hard.reason(), Some(CancelReason::DeadlineExceeded));
    futures::executor::block_on(tracked);
    shutdown.wait_timeout(LONG).unwrap();
}

#[test]
fn many_forced_connections_all_show_in_the_report_after_they_are_gone() {
    let root = Shutdown::new();
    let http = root.child("http");
    http.set_grace(Duration::from_millis(5));
    let conns: Vec<_> = (0..3)
        .map(|i| {
            let conn = http.child(format!("conn {i}"));
            (conn.guard_named("GET /slow").unwrap(), conn)
        })
        .collect();
    root.trigger();
    for (guard, _) in &conns {
        guard.hard_token().wait_timeout(LONG).unwrap();
    }
    drop(conns); // the connections' subsystems go away
    root.wait_timeout(LONG).unwrap();
    let report = root.report();
    let forced: Vec<&str> = report
        .subsystems()
        .iter()
        .filter(|s| s.status() == SubsystemStatus::Forced)
        .map(|s| s.path())
        .collect();
    assert_eq!(
        forced,
        ["http", "http/conn 0", "http/conn 1", "http/conn 2"]
    );
}
