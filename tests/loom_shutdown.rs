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
