//! Shutdown v2 from async tasks, on every supported executor (tokio
//! current-thread and multi-thread, async-std, smol, the futures executors,
//! pollster): nesting, phases, grace periods and failures, each scenario
//! written once.
#![cfg(all(feature = "std", not(loom)))]
#![cfg(not(miri))] // real deadlines and real runtimes

#[macro_use]
mod common;

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt as _;
use ripcord::CancelReason;
use ripcord::shutdown::{FailureKind, OnFailure, Shutdown, SubsystemStatus};

/// Tasks in a grandchild hold up the root's drain until they finish.
async fn nested_tasks_hold_up_the_root() {
    let root = Shutdown::new();
    let conn = root.child("http").child("conn 127.0.0.1:5000");
    let token = conn.token();
    let request = conn
        .track_named("GET /", async move {
            token.cancelled_owned().await;
        })
        .unwrap();
    let drain = async {
        root.trigger();
        root.drained().await;
        assert!(conn.is_drained());
    };
    futures::join!(request, drain);
    assert!(root.is_drained());
}

/// Phases start in order: each task sees its token cancelled only after the
/// phase before it drained.
async fn phases_start_in_order_across_tasks() {
    let root = Shutdown::new();
    let names = ["http", "writer", "db"];
    let subs: Vec<Shutdown> = names.iter().map(|n| root.child(*n)).collect();
    subs[1].after(&[&subs[0]]).unwrap();
    subs[2].after(&[&subs[1]]).unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let task = |i: usize| {
        let token = subs[i].token();
        let order = order.clone();
        subs[i]
            .track_named(names[i], async move {
                token.cancelled_owned().await;
                order.lock().unwrap().push(names[i]);
            })
            .unwrap()
    };
    let (t0, t1, t2) = (task(0), task(1), task(2));
    let drain = async {
        root.trigger();
        root.drained().await;
    };
    futures::join!(t2, t1, drain, t0);
    assert_eq!(*order.lock().unwrap(), names);
}

/// A task that ignores its soft token is told to abort through the hard
/// token when the grace period runs out, and the report says it was forced.
async fn grace_period_forces_a_slow_task() {
    let root = Shutdown::new();
    let http = root.child("http");
    http.set_grace(Duration::from_millis(10));
    let hard = http.hard_token();
    let slow = http
        .track_named("GET /slow", async move {
            hard.cancelled_owned().await;
            "aborted"
        })
        .unwrap();
    let drain = async {
        root.trigger();
        root.drained().await;
    };
    let (answer, ()) = futures::join!(slow, drain);
    assert_eq!(answer, "aborted");
    assert_eq!(
        http.hard_token().reason(),
        Some(CancelReason::DeadlineExceeded)
    );
    let report = root.report();
    assert_eq!(report.subsystems()[1].status(), SubsystemStatus::Forced);
}

/// An `Err` from a tracked task shuts the tree down (the default policy),
/// and a panicking task is recorded and never holds up the drain.
async fn failures_propagate_and_panics_do_not_block_the_drain() {
    let root = Shutdown::new();
    let jobs = root.child("jobs");
    let http = root.child("http");
    let http_token = http.token();
    let panicking = jobs
        .track_named("import", async { panic!("bad input") })
        .unwrap();
    let outcome = AssertUnwindSafe(panicking).catch_unwind().await;
    assert!(outcome.is_err());
    assert!(http_token.is_cancelled(), "a panic triggers the whole tree");
    // jobs is already drained (the tree was triggered): new work is refused.
    assert!(
        jobs.track_result_named("sync", async { Err::<(), _>("remote closed") })
            .is_err()
    );
    root.drained().await;
    let report = root.report();
    assert_eq!(report.failures().len(), 1);
    assert_eq!(report.failures()[0].kind(), FailureKind::Panic);
    assert_eq!(report.failures()[0].message(), "bad input");
}

/// `track_result` under the record-only policy: recorded, nothing triggered.
async fn recorded_errors_leave_the_service_running() {
    let root = Shutdown::new();
    root.on_failure(OnFailure::Record);
    let task = root
        .track_result(async { Err::<(), _>("retry later") })
        .unwrap();
    assert!(task.await.is_err());
    assert!(!root.is_triggered());
    assert_eq!(root.report().failures()[0].message(), "retry later");
}

on_every_runtime!(
    nested_tasks_hold_up_the_root,
    phases_start_in_order_across_tasks,
    grace_period_forces_a_slow_task,
    failures_propagate_and_panics_do_not_block_the_drain,
    recorded_errors_leave_the_service_running,
);
