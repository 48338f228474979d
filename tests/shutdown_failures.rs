//! Failure and panic propagation, from threads and from a plain executor:
//! recorded with their messages, the policy applied, the drain never held up.
#![cfg(all(feature = "std", not(loom)))]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;
use std::time::Duration;

use ripcord::shutdown::{FailureKind, FailureReason, OnFailure, Shutdown};

const LONG: Duration = Duration::from_secs(10);

#[test]
fn by_default_a_failure_anywhere_shuts_down_the_whole_tree() {
    let root = Shutdown::new();
    let http = root.child("http");
    let jobs = root.child("jobs").child("import");
    let http_token = http.token();
    jobs.guard_named("row reader").unwrap().fail("bad row 7");
    assert!(root.is_triggered() && http_token.is_cancelled());
    let reason = http_token.reason().unwrap();
    let failure = reason.downcast_ref::<FailureReason>().unwrap().failure();
    assert_eq!(failure.subsystem(), "jobs/import");
    assert_eq!(failure.name(), Some("row reader"));
    assert_eq!(failure.kind(), FailureKind::Error);
    assert!(root.is_drained());
}

#[test]
fn shutdown_subsystem_stops_only_the_failed_subtree() {
    let root = Shutdown::new();
    let jobs = root.child("jobs");
    jobs.on_failure(OnFailure::ShutdownSubsystem);
    let worker = jobs.child("worker 1");
    let sibling = root.child("http");
    worker.guard().unwrap().fail("oom");
    assert!(worker.is_triggered());
    assert!(!jobs.is_triggered(), "only the failed subsystem's subtree");
    assert!(!sibling.is_triggered() && !root.is_triggered());
    assert_eq!(root.report().failures().len(), 1);
}

#[test]
fn record_only_records() {
    let root = Shutdown::new();
    root.on_failure(OnFailure::Record);
    let child = root.child("c"); // inherits the policy
    child.guard().unwrap().fail("transient");
    assert!(!root.is_triggered() && !child.is_triggered());
    assert_eq!(root.report().failures()[0].message(), "transient");
    assert_eq!(child.report().failures().len(), 1);
    assert_eq!(root.child("other").report().failures().len(), 0);
}

#[test]
fn a_guard_dropped_by_a_panicking_thread_is_recorded_and_released() {
    let shutdown = Shutdown::new();
    shutdown.on_failure(OnFailure::Record);
    let guard = shutdown.guard_named("worker").unwrap();
    let worker = thread::spawn(move || {
        let _guard = guard;
        panic!("boom");
    });
    assert!(worker.join().is_err());
    assert_eq!(shutdown.active_guards(), 0, "the panic released the guard");
    let report = shutdown.report();
    let failure = &report.failures()[0];
    assert_eq!(failure.kind(), FailureKind::Panic);
    assert_eq!(failure.name(), Some("worker"));
    shutdown.trigger();
    shutdown.wait_timeout(LONG).unwrap();
}

#[test]
fn a_panicking_thread_with_the_default_policy_triggers_and_does_not_abort() {
    let shutdown = Shutdown::new();
    let token = shutdown.token();
    let guard = shutdown.guard().unwrap();
    // Its token has a callback that panics too: swallowed during the unwind
    // (a second panic would abort the process).
    let _cb = token.on_cancel(|_| panic!("callback panic during unwind"));
    let worker = thread::spawn(move || {
        let _guard = guard;
        panic!("first");
    });
    assert!(worker.join().is_err());
    assert!(token.is_cancelled());
    assert!(shutdown.is_drained());
}

#[test]
fn spawn_thread_records_errors_and_panics_with_their_messages() {
    let shutdown = Shutdown::new();
    shutdown.on_failure(OnFailure::Record);
    let ok = shutdown
        .spawn_thread("adder", |_| Ok::<_, String>(2 + 2))
        .unwrap();
    assert_eq!(ok.join().unwrap(), Some(4));
    let err = shutdown
        .spawn_thread("loader", |_| Err::<(), _>("file not found"))
        .unwrap();
    assert_eq!(err.join().unwrap(), None);
    let panicked = shutdown
        .spawn_thread("parser", |_| -> Result<(), String> {
            let token = std::hint::black_box(3); // a formatted (`String`) payload
            panic!("unexpected token {token}")
        })
        .unwrap();
    let payload = panicked.join().unwrap_err();
    assert_eq!(
        payload.downcast_ref::<String>().unwrap(),
        "unexpected token 3"
    );
    let report = shutdown.report();
    let failures: Vec<_> = report
        .failures()
        .iter()
        .map(|f| (f.name().unwrap(), f.kind(), f.message()))
        .collect();
    assert_eq!(
        failures,
        [
            ("loader", FailureKind::Error, "file not found"),
            ("parser", FailureKind::Panic, "unexpected token 3"),
        ]
    );
    assert_eq!(shutdown.active_guards(), 0);
}

#[test]
fn spawned_threads_see_their_guards_tokens() {
    let shutdown = Shutdown::new();
    let worker = shutdown
        .spawn_thread("loop", |guard| {
            guard.token().wait();
            Ok::<_, String>("stopped")
        })
        .unwrap();
    assert_eq!(thread_name_of(&worker), Some("loop".into()));
    shutdown.trigger();
    assert_eq!(worker.join().unwrap(), Some("stopped"));
    shutdown.wait_timeout(LONG).unwrap();
}

fn thread_name_of<T>(handle: &thread::JoinHandle<T>) -> Option<String> {
    handle.thread().name().map(str::to_owned)
}

#[test]
fn track_result_records_an_err_and_passes_the_output_on() {
    let shutdown = Shutdown::new();
    let task = shutdown
        .track_result_named("sync", async { Err::<u8, _>("remote closed") })
        .unwrap();
    assert_eq!(futures::executor::block_on(task), Err("remote closed"));
    assert!(shutdown.is_triggered());
    let ok = Shutdown::new();
    let task = ok.track_result(async { Ok::<u8, String>(7) }).unwrap();
    assert_eq!(futures::executor::block_on(task), Ok(7));
    assert!(!ok.is_triggered() && ok.report().failures().is_empty());
}

#[test]
fn a_panicking_tracked_future_releases_its_guard_and_the_panic_reaches_the_caller() {
    let shutdown = Shutdown::new();
    shutdown.on_failure(OnFailure::Record);
    let other = shutdown.guard().unwrap();
    let task = shutdown
        .track_named("handler", async { panic!("index out of range") })
        .unwrap();
    let caught = catch_unwind(AssertUnwindSafe(|| futures::executor::block_on(task)));
    let payload = caught.unwrap_err();
    assert_eq!(
        *payload.downcast_ref::<&str>().unwrap(),
        "index out of range"
    );
    assert_eq!(shutdown.active_guards(), 1, "only the other guard is left");
    let report = shutdown.report();
    assert_eq!(report.failures()[0].message(), "index out of range");
    assert_eq!(report.failures()[0].kind(), FailureKind::Panic);
    shutdown.trigger();
    drop(other);
    shutdown
        .wait_timeout(LONG)
        .expect("the panic never holds up the drain");
}

#[test]
fn a_tracked_future_dropped_unfinished_is_not_a_failure() {
    let shutdown = Shutdown::new();
    let task = shutdown
        .track_result(std::future::pending::<Result<(), String>>())
        .unwrap();
    drop(task);
    assert!(shutdown.report().failures().is_empty());
    assert!(!shutdown.is_triggered());
}

#[test]
fn a_failure_while_the_tree_drains_is_still_reported() {
    let root = Shutdown::new();
    let jobs = root.child("jobs");
    let guard = jobs.guard_named("flush").unwrap();
    root.trigger();
    guard.fail("disk full");
    assert!(root.is_drained());
    let text = root.report().to_string();
    assert!(
        text.contains("failed: jobs: \"flush\" failed: disk full"),
        "{text}"
    );
}

#[test]
fn failures_are_listed_in_the_order_they_happened() {
    let root = Shutdown::new();
    root.on_failure(OnFailure::Record);
    for i in 0..5 {
        root.guard().unwrap().fail(i);
    }
    let messages: Vec<String> = root
        .report()
        .failures()
        .iter()
        .map(|f| f.message().to_owned())
        .collect();
    assert_eq!(messages, ["0", "1", "2", "3", "4"]);
}
