//! Two-thread races on a shutdown, many rounds: the AddressSanitizer script
//! runs them as often as `RIPCORD_STRESS_ROUNDS` says; plain `cargo test` a
//! few thousand times, Miri a handful.
//!
//! Each round hands a fresh shutdown to a long-lived peer thread, then both
//! threads act at once.
#![cfg(all(feature = "std", not(loom)))]

mod common;

use common::race;
use ripcord::shutdown::{Shutdown, ShutdownGuard};

#[test]
fn last_guard_drop_races_a_blocking_wait() {
    race(
        || {
            let s = Shutdown::new();
            let g = s.guard_named("last").unwrap();
            s.trigger();
            (g, s)
        },
        drop::<ShutdownGuard>,
        |s| {
            s.wait();
            assert_eq!(s.active_guards(), 0);
            assert!(s.guard().is_err());
        },
    );
}

#[test]
fn last_guard_drop_races_an_async_wait() {
    race(
        || {
            let s = Shutdown::new();
            let g = s.guard().unwrap();
            s.trigger();
            (g, s)
        },
        drop::<ShutdownGuard>,
        |s| futures::executor::block_on(s.drained()),
    );
}

#[test]
fn trigger_races_the_last_guard_drop() {
    race(
        || {
            let s = Shutdown::new();
            let g = s.guard().unwrap();
            ((s.clone(), g), s)
        },
        |(s, g): (Shutdown, ShutdownGuard)| {
            drop(g);
            s.wait();
        },
        |s| {
            s.trigger();
            s.wait();
            assert!(s.is_drained());
        },
    );
}

#[test]
fn guard_races_trigger() {
    race(
        || {
            let s = Shutdown::new();
            (s.clone(), s)
        },
        |s: Shutdown| {
            // Before or after the trigger, with no other guard: either a
            // guard (then the drain waits for it) or a refusal (then drained).
            match s.guard_named("late") {
                Ok(g) => {
                    assert!(!s.is_drained());
                    drop(g);
                }
                Err(_) => assert!(s.is_drained()),
            }
        },
        |s| {
            s.trigger();
            s.wait();
            assert!(s.guard().is_err());
            assert_eq!(s.active_guards(), 0);
        },
    );
}

/// Shutdown v2: a grandchild's last guard (dropped by the peer) races the
/// root's blocking drain wait (here): the child's drain releases its hold on the root
/// under the tree lock, then wakes the waiter.
#[test]
fn a_grandchilds_last_guard_races_the_roots_wait() {
    race(
        || {
            let root = Shutdown::new();
            let conn = root.child("http").child("conn");
            let g = conn.guard_named("GET /").unwrap();
            root.trigger();
            (g, (root, conn))
        },
        drop::<ShutdownGuard>,
        |(root, conn)| {
            root.wait();
            assert!(conn.is_drained());
            assert!(root.guard().is_err());
        },
    );
}

/// A phase's dependency drains (its last guard dropped by the peer) while
/// this thread triggers the tree: the
/// dependent phase starts exactly once, after the dependency.
#[test]
fn a_phase_dependency_drains_while_the_tree_is_triggered() {
    race(
        || {
            let root = Shutdown::new();
            let http = root.child("http");
            let db = root.child("db");
            db.after(&[&http]).unwrap();
            let g = http.guard().unwrap();
            (g, (root, http, db))
        },
        drop::<ShutdownGuard>,
        |(root, http, db)| {
            let db_token = db.token();
            root.trigger();
            root.wait();
            assert!(http.is_drained() && db.is_drained() && db_token.is_cancelled());
        },
    );
}

/// A force and a report (here) race the last guard's drop (the peer): the
/// subsystem ends forced or drained, never half of each, and the report's
/// counts stay within what was alive.
#[test]
fn force_races_the_last_guard_and_a_report() {
    race(
        || {
            let root = Shutdown::new();
            let jobs = root.child("jobs");
            let g = jobs.guard_named("job").unwrap();
            root.trigger();
            (g, (root, jobs))
        },
        drop::<ShutdownGuard>,
        |(root, jobs)| {
            root.force();
            let report = root.report();
            assert!(report.active() <= 1);
            root.wait();
            let status = root.report().subsystems()[1].status();
            assert!(matches!(
                status,
                ripcord::shutdown::SubsystemStatus::Forced
                    | ripcord::shutdown::SubsystemStatus::Drained
            ));
            assert_eq!(
                jobs.is_forced(),
                status == ripcord::shutdown::SubsystemStatus::Forced
            );
        },
    );
}
