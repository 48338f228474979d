//! loom models of the shutdown coordinator's transitions.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release --test loom_shutdown`.
//! The state word and the registry lock come from loom (through
//! `crate::loom`), and event-listener (built with its `loom` feature) uses
//! loom's primitives too, so the drain waiters and their wake-ups are
//! model-checked. Timed waits are not modelled (event-listener's
//! `wait_deadline` is unavailable under loom); the untimed paths share the
//! check-listen-check loop with them.
#![cfg(loom)]

use loom::thread;
use ripcord::shutdown::Shutdown;

/// Explores every interleaving (no preemption bound): the models are small.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = None;
    builder.check(f);
}

/// For the three-thread model: at most three preemptions (loom's
/// recommendation; unbounded it takes about two minutes).
fn bounded_model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

#[test]
fn guard_drop_racing_trigger_ends_drained_and_cancelled() {
    model(|| {
        let shutdown = Shutdown::new();
        let guard = shutdown.guard().unwrap();
        let token = guard.token().clone();
        let dropper = thread::spawn(move || drop(guard));
        shutdown.trigger();
        assert!(token.is_cancelled());
        dropper.join().unwrap();
        assert!(shutdown.is_drained());
        assert!(shutdown.guard().is_err());
    });
}

#[test]
fn last_guard_drop_racing_a_blocking_waiter_never_loses_the_wake_up() {
    model(|| {
        let shutdown = Shutdown::new();
        let guard = shutdown.guard_named("last").unwrap();
        shutdown.trigger();
        let dropper = thread::spawn(move || drop(guard));
        shutdown.wait();
        assert_eq!(shutdown.active_guards(), 0);
        dropper.join().unwrap();
    });
}

#[test]
fn trigger_racing_a_blocking_waiter_never_loses_the_wake_up() {
    model(|| {
        let shutdown = Shutdown::new();
        let s = shutdown.clone();
        let trigger = thread::spawn(move || s.trigger());
        shutdown.wait();
        assert!(shutdown.is_triggered());
        trigger.join().unwrap();
    });
}

#[test]
fn last_guard_drop_racing_an_async_waiter_never_loses_the_wake_up() {
    model(|| {
        let shutdown = Shutdown::new();
        let guard = shutdown.guard().unwrap();
        shutdown.trigger();
        let dropper = thread::spawn(move || drop(guard));
        loom::future::block_on(shutdown.drained());
        assert!(shutdown.is_drained());
        dropper.join().unwrap();
    });
}

#[test]
fn guard_racing_the_final_drop_and_trigger_is_never_granted_after_drained() {
    bounded_model(|| {
        let shutdown = Shutdown::new();
        let guard = shutdown.guard().unwrap();
        let s = shutdown.clone();
        let latecomer = thread::spawn(move || match s.guard() {
            // Granted: the drain cannot have finished, and must wait for it.
            Ok(late) => {
                assert!(!s.is_drained());
                drop(late);
                true
            }
            Err(_) => {
                assert!(s.is_drained());
                false
            }
        });
        shutdown.trigger();
        drop(guard);
        shutdown.wait();
        latecomer.join().unwrap();
        assert!(shutdown.is_drained());
        assert_eq!(shutdown.active_guards(), 0);
    });
}

#[test]
fn named_guard_racing_a_report_is_counted_once() {
    model(|| {
        let shutdown = Shutdown::new();
        let _unnamed = shutdown.guard().unwrap();
        let s = shutdown.clone();
        let maker = thread::spawn(move || drop(s.guard_named("n").unwrap()));
        let report = shutdown.report();
        // Either before, during or after the named guard's life: never
        // counted as unnamed.
        assert_eq!(report.unnamed(), 1);
        assert!(report.stragglers().len() <= 1);
        maker.join().unwrap();
    });
}

/// Shutdown v2: a grandchild's last guard, dropped on one thread, races the
/// root's drain wait on another: the drop drains the child, whose hold on
/// the root is released under the tree lock, and the root's waiter is woken.
#[test]
fn a_childs_last_guard_racing_the_parents_drain_wait_never_loses_the_wake_up() {
    model(|| {
        let root = Shutdown::new();
        let child = root.child("http");
        let guard = child.guard().unwrap();
        root.trigger();
        let dropper = thread::spawn(move || drop(guard));
        root.wait();
        assert!(child.is_drained());
        assert!(root.guard().is_err());
        dropper.join().unwrap();
    });
}

/// The same race with the parent's own last guard on a third party: the
/// child's drain and the parent's guard drop both release counts of the
/// root; exactly one of them ends the root's drain.
#[test]
fn a_childs_drain_racing_the_parents_last_guard_drains_the_parent_once() {
    model(|| {
        let root = Shutdown::new();
        let child = root.child("jobs");
        let child_guard = child.guard().unwrap();
        let own = root.guard().unwrap();
        root.trigger();
        let dropper = thread::spawn(move || drop(child_guard));
        drop(own);
        dropper.join().unwrap();
        assert!(root.is_drained() && child.is_drained());
        loom::future::block_on(root.drained());
    });
}

/// A phase dependency firing (http's last guard dropped on one thread) races
/// the trigger (on another): whichever comes first, db starts exactly once,
/// only after http is drained, and the whole tree drains.
#[test]
fn a_phase_dependency_firing_racing_a_trigger_starts_the_phase_once_after_it() {
    model(|| {
        let root = Shutdown::new();
        let http = root.child("http");
        let db = root.child("db");
        db.after(&[&http]).unwrap();
        let request = http.guard().unwrap();
        let db_token = db.token();
        let http_probe = http.clone();
        let starts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = starts.clone();
        let _cb = db_token.on_cancel(move |_| {
            // db starts only once http is drained (I4).
            assert!(http_probe.is_drained());
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        let dropper = thread::spawn(move || drop(request));
        root.trigger();
        dropper.join().unwrap();
        assert!(db_token.is_cancelled());
        assert_eq!(starts.load(std::sync::atomic::Ordering::SeqCst), 1);
        root.wait();
    });
}

/// The drained window (issue 20, defect 4): the last guard's drop moves the
/// state word to drained, then reports it to the tree under the tree's lock.
/// A reader between the two steps must not see them disagree: whenever
/// `is_drained()` said yes, the report that follows says drained too.
#[test]
fn the_report_agrees_with_is_drained_in_every_interleaving() {
    model(|| {
        let shutdown = Shutdown::new();
        let guard = shutdown.guard().unwrap();
        shutdown.trigger();
        let dropper = thread::spawn(move || drop(guard));
        let drained = shutdown.is_drained();
        let report = shutdown.report();
        assert!(!drained || report.is_drained(), "{report}");
        // And the other way round: a report that says drained is final.
        if report.is_drained() {
            assert!(shutdown.is_drained());
        }
        dropper.join().unwrap();
        assert!(shutdown.report().is_drained());
    });
}

/// The same window one level up: the child's drain releases its hold on the
/// root (I3) under the tree lock, while the root is asked.
#[test]
fn a_parents_report_agrees_with_its_is_drained_in_every_interleaving() {
    bounded_model(|| {
        let root = Shutdown::new();
        let child = root.child("conn");
        let guard = child.guard().unwrap();
        root.trigger();
        let dropper = thread::spawn(move || drop(guard));
        let drained = root.is_drained();
        let report = root.report();
        assert!(!drained || report.is_drained(), "{report}");
        dropper.join().unwrap();
        assert!(child.is_drained() && root.report().is_drained());
    });
}
