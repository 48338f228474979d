//! Guards, triggers and blocking drains from plain threads: one row of the
//! issue's table per test, plus the "drained is final" rules.
#![cfg(all(feature = "std", not(loom)))]

use std::thread;
use std::time::Duration;

use ripcord::shutdown::{AlreadyDrained, Shutdown};
use ripcord::{CancelReason, CancellationToken};

#[test]
fn a_new_shutdown_is_neither_triggered_nor_drained() {
    let shutdown = Shutdown::new();
    assert!(!shutdown.is_triggered());
    assert!(!shutdown.is_drained());
    assert_eq!(shutdown.active_guards(), 0);
    assert!(!shutdown.token().is_cancelled());
}

#[test]
fn clones_are_the_same_coordinator() {
    let a = Shutdown::new();
    let b = a.clone();
    let _g = b.guard().unwrap();
    assert_eq!(a.active_guards(), 1);
    a.trigger();
    assert!(b.is_triggered());
}

#[test]
fn token_is_a_child_cancelled_by_trigger_and_not_the_other_way() {
    let shutdown = Shutdown::new();
    let own = shutdown.token();
    own.cancel();
    assert!(!shutdown.is_triggered());
    assert!(!shutdown.token().is_cancelled());
    let t = shutdown.token();
    shutdown.trigger();
    assert!(t.is_cancelled());
    assert_eq!(t.reason(), Some(CancelReason::Cancelled));
}

#[test]
fn tokens_are_cancelled_when_any_trigger_call_returns() {
    let shutdown = Shutdown::new();
    let tokens: Vec<CancellationToken> = (0..4).map(|_| shutdown.token()).collect();
    let s = shutdown.clone();
    let h = thread::spawn(move || {
        s.trigger();
        // This trigger may have lost the race; the tree is cancelled anyway.
        s.token().is_cancelled()
    });
    shutdown.trigger();
    assert!(tokens.iter().all(CancellationToken::is_cancelled));
    assert!(h.join().unwrap());
}

#[test]
fn guards_count_in_flight_work() {
    let shutdown = Shutdown::new();
    let a = shutdown.guard().unwrap();
    let b = shutdown.guard_named("b").unwrap();
    assert_eq!(shutdown.active_guards(), 2);
    drop(a);
    assert_eq!(shutdown.active_guards(), 1);
    drop(b);
    assert_eq!(shutdown.active_guards(), 0);
    assert!(!shutdown.is_drained(), "not drained before a trigger");
}

/// Guards share their subsystem's guard token (no allocation per guard):
/// cancelling it by hand tells the subsystem's guards to wrap up, but never
/// triggers shutdown, and never reaches tokens made with `Shutdown::token`
/// or other subsystems.
#[test]
fn cancelling_a_guard_token_never_triggers_and_stays_in_its_subsystem() {
    let shutdown = Shutdown::new();
    let other = shutdown.child("other");
    let g = shutdown.guard().unwrap();
    let h = shutdown.guard_named("h").unwrap();
    let own = shutdown.token();
    let elsewhere = other.guard().unwrap();
    g.token().cancel();
    assert!(!shutdown.is_triggered());
    assert!(h.token().is_cancelled(), "shared by the subsystem's guards");
    assert!(!own.is_cancelled());
    assert!(!elsewhere.token().is_cancelled());
    shutdown.trigger_with(CancelReason::custom("bye"));
    assert_eq!(own.reason().unwrap().to_string(), "bye");
    assert_eq!(elsewhere.token().reason().unwrap().to_string(), "bye");
}

#[test]
fn guard_names_are_kept() {
    let shutdown = Shutdown::new();
    assert_eq!(shutdown.guard().unwrap().name(), None);
    assert_eq!(
        shutdown.guard_named("static").unwrap().name(),
        Some("static")
    );
    let owned = shutdown.guard_named(format!("conn {}", 3)).unwrap();
    assert_eq!(owned.name(), Some("conn 3"));
    assert!(format!("{owned:?}").contains("conn 3"));
}

#[test]
fn guard_after_drain_is_refused() {
    let shutdown = Shutdown::new();
    shutdown.trigger();
    assert!(shutdown.is_drained());
    let err: AlreadyDrained = shutdown.guard().unwrap_err();
    assert_eq!(
        err.to_string(),
        "shutdown already drained: no new work is accepted"
    );
    assert!(shutdown.guard_named("late").is_err());
    assert!(shutdown.track(async {}).is_err());
    assert_eq!(shutdown.active_guards(), 0);
    assert!(
        shutdown.report().stragglers().is_empty(),
        "a refused named guard is not registered"
    );
}

#[test]
fn guard_after_the_last_guard_left_a_triggered_shutdown_is_refused() {
    let shutdown = Shutdown::new();
    let g = shutdown.guard_named("g").unwrap();
    shutdown.trigger();
    drop(g);
    assert!(shutdown.is_drained());
    assert!(shutdown.guard().is_err());
    assert!(shutdown.guard_named("again").is_err());
}

#[test]
fn guard_between_trigger_and_drain_is_allowed_and_born_cancelled() {
    let shutdown = Shutdown::new();
    let first = shutdown.guard().unwrap();
    shutdown.trigger_with(CancelReason::custom("draining"));
    let helper = shutdown.guard_named("helper").unwrap();
    assert!(helper.token().is_cancelled());
    assert_eq!(helper.token().reason().unwrap().to_string(), "draining");
    drop(first);
    assert!(!shutdown.is_drained(), "the helper still counts");
    drop(helper);
    assert!(shutdown.is_drained());
}

#[test]
fn trigger_is_idempotent_and_the_first_reason_wins() {
    let shutdown = Shutdown::new();
    let t = shutdown.token();
    shutdown.trigger_with(CancelReason::custom("first"));
    shutdown.trigger_with(CancelReason::custom("second"));
    shutdown.trigger();
    assert!(shutdown.is_triggered());
    assert_eq!(t.reason().unwrap().to_string(), "first");
    assert_eq!(shutdown.token().reason().unwrap().to_string(), "first");
}

#[test]
fn trigger_with_no_guards_drains_at_once() {
    let shutdown = Shutdown::new();
    shutdown.trigger();
    assert!(shutdown.is_drained());
    shutdown.wait();
    assert!(shutdown.wait_timeout(Duration::ZERO).is_ok());
}

#[test]
fn wait_returns_after_trigger_and_last_guard_drop_from_other_threads() {
    let shutdown = Shutdown::new();
    let guards: Vec<_> = (0..4)
        .map(|i| shutdown.guard_named(format!("worker {i}")).unwrap())
        .collect();
    let handles: Vec<_> = guards
        .into_iter()
        .map(|g| {
            thread::spawn(move || {
                g.token().wait();
                drop(g);
            })
        })
        .collect();
    let s = shutdown.clone();
    let trigger = thread::spawn(move || s.trigger());
    shutdown.wait();
    assert!(shutdown.is_drained());
    assert_eq!(shutdown.active_guards(), 0);
    for h in handles {
        h.join().unwrap();
    }
    trigger.join().unwrap();
}

#[test]
fn wait_does_not_return_before_trigger_even_with_no_guards() {
    let shutdown = Shutdown::new();
    let report = shutdown.wait_timeout(Duration::from_millis(1)).unwrap_err();
    assert!(!report.was_triggered());
    assert_eq!(report.active(), 0);
}

#[test]
fn many_waiters_all_wake() {
    let shutdown = Shutdown::new();
    let g = shutdown.guard().unwrap();
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let s = shutdown.clone();
            thread::spawn(move || s.wait())
        })
        .collect();
    shutdown.trigger();
    drop(g);
    for w in waiters {
        w.join().unwrap();
    }
}

#[test]
fn a_panicking_worker_still_releases_its_guard() {
    let shutdown = Shutdown::new();
    let g = shutdown.guard_named("doomed").unwrap();
    let h = thread::spawn(move || {
        let _g = g;
        panic!("worker failed");
    });
    assert!(h.join().is_err());
    assert_eq!(shutdown.active_guards(), 0);
    assert!(shutdown.report().stragglers().is_empty());
    shutdown.trigger();
    shutdown.wait();
}

#[test]
fn shutdown_and_guards_are_send_and_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<Shutdown>();
    check::<ripcord::shutdown::ShutdownGuard>();
    check::<ripcord::shutdown::Drain>();
    check::<ripcord::shutdown::DrainReport>();
    check::<AlreadyDrained>();
    fn unpin<T: Unpin>() {}
    unpin::<ripcord::shutdown::Drain>();
}
