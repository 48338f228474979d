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
