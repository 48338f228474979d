//! Nested subsystems and ordered phases, from threads: what a service that
//! shuts down "stop accepting, drain requests, flush, close" relies on.
#![cfg(all(feature = "std", not(loom)))]

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use ripcord::CancelReason;
use ripcord::shutdown::{PhaseError, Shutdown, SubsystemStatus};

const LONG: Duration = Duration::from_secs(10);

#[test]
fn triggering_a_parent_triggers_every_descendant() {
    let root = Shutdown::new();
    let http = root.child("http");
    let conn = http.child("conn 1");
    let jobs = root.child("jobs");
    let tokens = [conn.token(), jobs.token(), http.token()];
    root.trigger();
    assert!(tokens.iter().all(|t| t.is_cancelled()));
    assert!(conn.is_triggered() && jobs.is_triggered() && http.is_triggered());
}

#[test]
fn triggering_a_child_leaves_the_parent_and_siblings_running() {
    let root = Shutdown::new();
    let http = root.child("http");
    let jobs = root.child("jobs");
    http.trigger();
    assert!(http.is_drained());
    assert!(!root.is_triggered() && !jobs.is_triggered());
    assert!(!root.is_drained());
}

#[test]
fn a_parent_is_drained_only_after_its_own_guards_and_every_child() {
    let root = Shutdown::new();
    let own = root.guard().unwrap();
    let http = root.child("http");
    let request = http.child("conn 1").guard_named("GET /").unwrap();
    root.trigger();
    drop(own);
    assert!(!root.is_drained(), "a grandchild's guard is alive");
    assert!(!http.is_drained());
    drop(request);
    assert!(http.is_drained());
    assert!(root.is_drained());
    assert!(root.guard().is_err());
}

#[test]
fn a_blocked_parent_drain_wakes_when_a_grandchilds_last_guard_drops_on_another_thread() {
    let root = Shutdown::new();
    let deep = root.child("a").child("b").child("c");
    let guard = deep.guard().unwrap();
    root.trigger();
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        drop(guard);
    });
    root.wait_timeout(LONG)
        .expect("drained once the deep guard dropped");
    dropper.join().unwrap();
}

#[test]
fn a_child_made_during_the_drain_is_born_shutting_down_with_no_work_so_drained() {
    let root = Shutdown::new();
    let keep = root.guard().unwrap();
    root.trigger();
    let late = root.child("late");
    assert!(late.is_triggered());
    assert!(late.token().is_cancelled());
    assert!(late.is_drained(), "nothing was in flight in it");
    assert!(late.guard().is_err());
    assert!(!root.is_drained(), "the parent's own guard is alive");
    drop(keep);
    assert!(root.is_drained());
}

#[test]
fn a_child_made_after_the_drain_is_born_drained() {
    let root = Shutdown::new();
    root.trigger();
    let late = root.child("late");
    assert!(late.is_drained());
    assert!(late.guard().is_err());
}

#[test]
fn dropping_an_idle_child_handle_does_not_hold_up_the_parent() {
    let root = Shutdown::new();
    drop(root.child("forgotten"));
    root.trigger();
    assert!(root.is_drained());
    assert_eq!(
        root.report().subsystems().len(),
        1,
        "the forgotten child left the tree"
    );
}

#[test]
fn tokens_of_a_dropped_subsystem_are_cancelled_not_left_hanging() {
    let root = Shutdown::new();
    let token = root.child("temporary").token();
    assert!(token.is_cancelled(), "nobody could ever trigger it again");
    assert_eq!(token.reason().unwrap().to_string(), "subsystem dropped");
    assert!(!root.is_triggered());
}

#[test]
fn a_child_kept_only_by_its_guard_still_shows_in_the_report() {
    let root = Shutdown::new();
    let guard = root
        .child("http")
        .child("conn 9")
        .guard_named("GET /x")
        .unwrap();
    let report = root.report();
    let paths: Vec<&str> = report.subsystems().iter().map(|s| s.path()).collect();
    assert_eq!(paths, ["", "http", "http/conn 9"]);
    assert_eq!(report.stragglers()[0].subsystem(), "http/conn 9");
    drop(guard);
}

#[test]
fn report_paths_follow_the_tree_parents_first() {
    let root = Shutdown::new();
    let http = root.child("http");
    let _c1 = http.child("conn 127.0.0.1:5000");
    let _c2 = http.child("conn 127.0.0.1:5001");
    let _db = root.child("db");
    let report = root.report();
    let paths: Vec<&str> = report.subsystems().iter().map(|s| s.path()).collect();
    assert_eq!(
        paths,
        [
            "",
            "http",
            "http/conn 127.0.0.1:5000",
            "http/conn 127.0.0.1:5001",
            "db"
        ]
    );
    let http_only = http.report();
    assert_eq!(http_only.subsystems().len(), 3);
}

#[test]
fn active_guards_counts_undrained_children_once_each() {
    let root = Shutdown::new();
    let _a = root.child("a");
    let _g = root.guard().unwrap();
    assert_eq!(root.active_guards(), 2);
    // ...but a report counts guards only.
    assert_eq!(root.report().active(), 1);
}

#[test]
fn a_phase_starts_only_after_the_subsystems_it_runs_after_are_drained() {
    let root = Shutdown::new();
    let http = root.child("http");
    let jobs = root.child("jobs");
    let db = root.child("db");
    db.after(&[&http, &jobs]).unwrap();
    let request = http.guard().unwrap();
    let job = jobs.guard().unwrap();
    let db_token = db.token();
    root.trigger();
    assert!(db.is_requested());
    assert!(!db_token.is_cancelled());
    assert_eq!(
        root.report().subsystems()[3].status(),
        SubsystemStatus::Waiting
    );
    assert_eq!(
        root.report().subsystems()[3]
            .waiting_for()
            .collect::<Vec<_>>(),
        ["http", "jobs"]
    );
    drop(request);
    assert!(!db_token.is_cancelled(), "jobs is still draining");
    drop(job);
    assert!(db_token.is_cancelled());
    assert!(root.is_drained());
}

#[test]
fn phases_run_in_order_when_each_drains_on_its_own_thread() {
    let root = Shutdown::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    let names = ["http", "workers", "writer", "db"];
    let subs: Vec<Shutdown> = names.iter().map(|n| root.child(*n)).collect();
    for pair in subs.windows(2) {
        pair[1].after(&[&pair[0]]).unwrap();
    }
    let mut threads = Vec::new();
    for (sub, name) in subs.iter().zip(names) {
        let guard = sub.guard_named(name).unwrap();
        let order = order.clone();
        threads.push(thread::spawn(move || {
            guard.token().wait();
            order.lock().unwrap().push(name);
            thread::sleep(Duration::from_millis(2));
        }));
    }
    root.trigger();
    root.wait_timeout(LONG).expect("every phase drained");
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*order.lock().unwrap(), names);
}

#[test]
fn an_order_on_a_subsystem_nobody_triggered_does_not_hold_back_a_direct_trigger() {
    let root = Shutdown::new();
    let http = root.child("http");
    let db = root.child("db");
    db.after(&[&http]).unwrap();
    let _request = http.guard().unwrap();
    db.trigger(); // http was not asked to shut down
    assert!(db.is_drained());
    assert!(!http.is_triggered());
}

#[test]
fn a_phase_whose_dependency_is_dropped_starts() {
    let root = Shutdown::new();
    let http = root.child("http");
    let db = root.child("db");
    db.after(&[&http]).unwrap();
    let guard = http.guard().unwrap();
    root.trigger();
    assert!(!db.is_triggered());
    drop(guard); // http drains, and its handle goes too
    drop(http);
    assert!(db.is_triggered());
    assert!(root.is_drained());
}

#[test]
fn a_child_of_a_waiting_phase_waits_with_it() {
    let root = Shutdown::new();
    let http = root.child("http");
    let db = root.child("db");
    let pool = db.child("pool");
    db.after(&[&http]).unwrap();
    let request = http.guard().unwrap();
    root.trigger();
    assert!(!pool.is_triggered());
    let report = root.report();
    let pool_report = report
        .subsystems()
        .iter()
        .find(|s| s.path() == "db/pool")
        .unwrap();
    assert_eq!(pool_report.status(), SubsystemStatus::Waiting);
    assert_eq!(pool_report.waiting_for().collect::<Vec<_>>(), ["db"]);
    drop(request);
    assert!(pool.is_triggered());
}

#[test]
fn cycles_are_rejected_directly_through_phases_and_through_the_tree() {
    let root = Shutdown::new();
    let a = root.child("a");
    let b = root.child("b");
    let c = root.child("c");
    assert!(matches!(a.after(&[&a]), Err(PhaseError::Cycle { .. })));
    b.after(&[&a]).unwrap();
    c.after(&[&b]).unwrap();
    let err = a.after(&[&c]).unwrap_err();
    assert_eq!(
        err,
        PhaseError::Cycle {
            subsystem: "a".into(),
            waits_for: "c".into()
        }
    );
    // A child cannot run after its ancestor (drained only after it)...
    let a1 = a.child("a1");
    assert!(matches!(a1.after(&[&a]), Err(PhaseError::Cycle { .. })));
    assert!(matches!(a1.after(&[&root]), Err(PhaseError::Cycle { .. })));
    // ...nor a parent after its descendant (which starts only after it).
    assert!(matches!(a.after(&[&a1]), Err(PhaseError::Cycle { .. })));
    // Through the tree and a phase: b waits for a, so a's child cannot wait for b.
    assert!(matches!(a1.after(&[&b]), Err(PhaseError::Cycle { .. })));
    // A rejected order leaves the phases as they were: the trigger completes.
    root.trigger();
    assert!(root.is_drained());
}

#[test]
fn orders_across_trees_and_after_the_start_are_refused() {
    let one = Shutdown::new();
    let other = Shutdown::new();
    assert_eq!(one.child("x").after(&[&other]), Err(PhaseError::OtherTree));
    let x = one.child("x");
    let y = one.child("y");
    one.trigger();
    assert_eq!(x.after(&[&y]), Err(PhaseError::AlreadyStarted));
}

#[test]
fn the_first_reason_reaches_every_started_subsystem() {
    let root = Shutdown::new();
    let http = root.child("http");
    let token = http.token();
    root.trigger_with(CancelReason::custom("SIGTERM"));
    root.trigger_with(CancelReason::custom("second"));
    assert_eq!(token.reason().unwrap().to_string(), "SIGTERM");
}

#[test]
fn trigger_racing_the_last_guards_of_a_tree_always_drains() {
    let rounds = if cfg!(miri) { 4 } else { 200 };
    for _ in 0..rounds {
        let root = Shutdown::new();
        let subs: Vec<Shutdown> = (0..4).map(|i| root.child(format!("s{i}"))).collect();
        subs[3].after(&[&subs[0], &subs[1]]).unwrap();
        let guards: Vec<_> = subs.iter().map(|s| s.guard().unwrap()).collect();
        let r = root.clone();
        let trigger = thread::spawn(move || r.trigger());
        let dropper = thread::spawn(move || drop(guards));
        trigger.join().unwrap();
        dropper.join().unwrap();
        assert!(root.is_drained());
        assert!(subs.iter().all(Shutdown::is_drained));
    }
}
