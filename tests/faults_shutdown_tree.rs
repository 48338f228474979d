//! Fault injection on shutdown v2: panicking and re-entrant callbacks and
//! wakers while a tree is triggered, while a phase starts and while a
//! subsystem is forced. The contract is the waiting core's: every state
//! transition is complete before user code runs; a panic stops no other
//! waiter, callback or phase and reaches the caller afterwards; no lock is
//! held while user code runs, so re-entrant code never deadlocks; memory is
//! given back.
#![cfg(all(feature = "std", not(loom)))]

mod common;
mod faults_support;

use std::sync::Arc;
use std::task::{Wake, Waker};

use common::CountingWaker;
use faults_support::*;
use ripcord::shutdown::{OnFailure, Shutdown, SubsystemStatus};

/// A waker whose `wake` runs `f`.
struct OnWake<F: Fn() + Send + Sync + 'static>(F);

impl<F: Fn() + Send + Sync + 'static> Wake for OnWake<F> {
    fn wake(self: Arc<Self>) {
        (self.0)();
    }
}

fn waker(f: impl Fn() + Send + Sync + 'static) -> Waker {
    Waker::from(Arc::new(OnWake(f)))
}

/// Registers `drained()` of `shutdown` with `waker`; returns the future so
/// that it stays registered.
fn drain_waiter(shutdown: &Shutdown, waker: &Waker) -> ripcord::shutdown::Drain {
    let mut drain = shutdown.drained();
    assert!(poll_with(std::pin::Pin::new(&mut drain), waker).is_pending());
    drain
}

/// A callback on one child's token panics during the root's trigger: every
/// other subsystem still starts, the panic reaches the trigger's caller, and
/// the tree is left usable (its lock free, its drain intact).
fn panicking_callback_during_a_tree_trigger() {
    let root = Shutdown::new();
    let children: Vec<Shutdown> = (0..3).map(|i| root.child(format!("c{i}"))).collect();
    let _cb = children[1].token().on_cancel(|_| inject("child callback"));
    let tokens: Vec<_> = children.iter().map(Shutdown::token).collect();
    let guard = children[2].guard().unwrap();
    let (counter, counting) = CountingWaker::new();
    let _root_drain = drain_waiter(&root, &counting);
    assert_eq!(
        expect_injected(catch(|| root.trigger()), "trigger"),
        "child callback"
    );
    assert!(tokens.iter().all(|t| t.is_cancelled()));
    assert!(children.iter().all(Shutdown::is_triggered));
    assert_eq!(root.report().subsystems().len(), 4, "the tree lock is free");
    drop(guard);
    assert!(root.is_drained());
    assert_eq!(counter.wakes(), 1);
}

/// The drain waiter of a phase's dependency panics when that dependency
/// drains: the dependent phase still starts, the root still drains and its
/// own waiter is still woken; the panic reaches the last guard's drop.
fn panicking_drain_waker_during_a_phase_transition() {
    let root = Shutdown::new();
    let http = root.child("http");
    let db = root.child("db");
    db.after(&[&http]).unwrap();
    let request = http.guard().unwrap();
    let panicky = waker(|| inject("http drain waker"));
    let _http_drain = drain_waiter(&http, &panicky);
    let (counter, counting) = CountingWaker::new();
    let _root_drain = drain_waiter(&root, &counting);
    root.trigger();
    assert!(!db.is_triggered());
    assert_eq!(
        expect_injected(catch(move || drop(request)), "last guard"),
        "http drain waker"
    );
    assert!(
        db.is_triggered(),
        "the next phase started before any waker ran"
    );
    assert!(root.is_drained());
    assert_eq!(counter.wakes(), 1);
}

/// A callback on a hard token panics during `force`: the subsystem is still
/// forced and started, and the panic reaches `force`'s caller.
fn panicking_callback_during_force() {
    let root = Shutdown::new();
    let jobs = root.child("jobs");
    let job = jobs.guard_named("import").unwrap();
    let _cb = job.hard_token().on_cancel(|_| inject("hard callback"));
    assert_eq!(
        expect_injected(catch(|| root.force()), "force"),
        "hard callback"
    );
    assert!(jobs.is_triggered() && jobs.is_forced());
    let report = root.report();
    assert_eq!(report.subsystems()[1].status(), SubsystemStatus::Stuck);
    drop(job);
    assert!(root.is_drained());
}

/// A failure's trigger runs a panicking callback: the failure is recorded,
/// the tree triggered, and the panic reaches the caller of `fail`.
fn panicking_callback_during_a_failure_trigger() {
    let root = Shutdown::new();
    let _cb = root.token().on_cancel(|_| inject("root callback"));
    let guard = root.guard_named("worker").unwrap();
    assert_eq!(
        expect_injected(catch(move || guard.fail("disk full")), "fail"),
        "root callback"
    );
    assert!(root.is_drained());
    assert_eq!(root.report().failures()[0].message(), "disk full");
}

/// Callbacks and wakers that re-enter the tree (report, child, after,
/// trigger, force, guard) while it triggers, starts phases and drains: no
/// deadlock, and the outcome is the same.
fn reentrant_callbacks_and_wakers() {
    let root = Shutdown::new();
    root.on_failure(OnFailure::Record);
    let http = root.child("http");
    let db = root.child("db");
    db.after(&[&http]).unwrap();
    let request = http.guard().unwrap();
    let r = root.clone();
    let _cb = http.token().on_cancel(move |_| {
        let _ = r.report().to_string();
        let late = r.child("late");
        let _ = late.after(&[&r]);
        r.trigger();
        let _ = r.guard();
    });
    let d = db.clone();
    let _db_cb = db.token().on_cancel(move |_| {
        d.force();
        let _ = d.report();
    });
    let r = root.clone();
    let reentrant = waker(move || {
        let _ = r.report();
        r.trigger();
        let _ = r.child("from waker");
    });
    let _drain = drain_waiter(&http, &reentrant);
    within("re-entrant tree", move || {
        root.trigger();
        drop(request);
        assert!(root.is_drained());
        root
    });
}

#[test]
fn panicking_callback_on_a_childs_token_still_starts_every_subsystem() {
    panicking_callback_during_a_tree_trigger();
}

#[test]
fn panicking_drain_waker_of_a_dependency_still_starts_the_next_phase() {
    panicking_drain_waker_during_a_phase_transition();
}

#[test]
fn panicking_hard_token_callback_still_forces() {
    panicking_callback_during_force();
}

#[test]
fn panicking_callback_during_a_failure_trigger_still_records_and_drains() {
    panicking_callback_during_a_failure_trigger();
}

#[test]
fn reentrant_callbacks_and_wakers_never_deadlock_the_tree() {
    reentrant_callbacks_and_wakers();
}

#[test]
fn fault_scenarios_give_back_their_memory() {
    let scenarios: [(&str, fn()); 5] = [
        (
            "panicking callback, tree trigger",
            panicking_callback_during_a_tree_trigger,
        ),
        (
            "panicking drain waker, phase",
            panicking_drain_waker_during_a_phase_transition,
        ),
        ("panicking callback, force", panicking_callback_during_force),
        (
            "panicking callback, failure",
            panicking_callback_during_a_failure_trigger,
        ),
        (
            "re-entrant callbacks and wakers",
            reentrant_callbacks_and_wakers,
        ),
    ];
    assert_no_leaks(20, &scenarios);
}
