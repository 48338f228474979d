//! The report's text is an interface (people grep logs for it): pinned here
//! for a nested tree with forced, stuck, waiting and failed subsystems. Ages
//! and durations vary from run to run and are replaced by `_`.
#![cfg(all(feature = "std", not(loom)))]

use std::panic::{AssertUnwindSafe, catch_unwind};

use ripcord::shutdown::{OnFailure, Shutdown};

/// Replaces every duration (`1.2s`, `350.0ms`, `12.5µs`, `3ns`) with `_`.
fn without_times(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        out.push_str(&rest[..start]);
        let number_len = rest[start..]
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len() - start);
        let after = &rest[start + number_len..];
        let preceded_by_word = out.ends_with(|c: char| c.is_alphanumeric() || c == ':');
        let unit = ["ns", "µs", "ms", "s"]
            .into_iter()
            .find(|u| after.starts_with(u) && !after[u.len()..].starts_with(char::is_alphanumeric));
        match unit {
            Some(unit) if !preceded_by_word => {
                out.push('_');
                rest = &after[unit.len()..];
            }
            _ => {
                out.push_str(&rest[start..start + number_len]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn the_normaliser_replaces_durations_only() {
    assert_eq!(
        without_times("age 1.2s, 350.0ms, 12.5µs, 3ns, conn 127.0.0.1:5000, worker 2, x.rs:10:5"),
        "age _, _, _, _, conn 127.0.0.1:5000, worker 2, x.rs:10:5"
    );
}

#[test]
fn a_nested_tree_with_forced_stuck_waiting_and_failed_subsystems() {
    let root = Shutdown::new();
    root.on_failure(OnFailure::Record);
    let http = root.child("http");
    let conn = http.child("conn 127.0.0.1:5000");
    let jobs = root.child("jobs");
    let db = root.child("db");
    db.after(&[&http, &jobs]).unwrap();

    let slow = conn.guard_named("GET /slow").unwrap();
    let fast = http.guard_named("GET /fast").unwrap();
    let worker = jobs.guard_named("worker 2").unwrap();
    let unnamed = jobs.guard().unwrap();
    let site_guard = jobs.guard().unwrap();
    let import = jobs
        .track_named("import", async { panic!("bad input") })
        .unwrap();
    let _ = catch_unwind(AssertUnwindSafe(|| futures::executor::block_on(import)));

    assert_eq!(
        without_times(&root.report().to_string()),
        "shutdown not triggered: 5 guards alive: \"GET /fast\" (age _), \"GET /slow\" (age _), \"worker 2\" (age _), and 2 unnamed\n  \
         (root): running\n  \
         http: running: 1 guard alive: \"GET /fast\" (age _)\n  \
         http/conn 127.0.0.1:5000: running: 1 guard alive: \"GET /slow\" (age _)\n  \
         jobs: running: 3 guards alive: \"worker 2\" (age _), and 2 unnamed\n  \
         db: running\n  \
         failed: jobs: \"import\" panicked: bad input"
    );

    root.trigger();
    drop(fast);
    worker.fail("disk full");
    let site_line = line!() + 1; // an unnamed guard's failure: where `fail` was called
    site_guard.fail("quota");
    http.force();
    let file = file!();
    assert_eq!(
        without_times(&root.report().to_string()),
        format!(
            "shutdown not drained: 2 guards alive: \"GET /slow\" (age _), and 1 unnamed\n  \
             (root): draining for _\n  \
             http: stuck: forced after _, draining for _\n  \
             http/conn 127.0.0.1:5000: stuck: forced after _, draining for _: 1 guard alive: \"GET /slow\" (age _)\n  \
             jobs: draining for _: 1 guard alive: 1 unnamed\n  \
             db: waiting for http, jobs\n  \
             failed: jobs: \"import\" panicked: bad input\n  \
             failed: jobs: \"worker 2\" failed: disk full\n  \
             failed: jobs: guard at {file}:{site_line}:16 failed: quota"
        )
    );

    drop(slow);
    drop(unnamed);
    assert!(root.is_drained());
    assert_eq!(
        without_times(&root.report().to_string()),
        format!(
            "shutdown drained\n  \
             (root): drained in _\n  \
             http: forced after _, drained in _\n  \
             http/conn 127.0.0.1:5000: forced after _ (cut off: \"GET /slow\" (age _)), drained in _\n  \
             jobs: drained in _\n  \
             db: drained in _\n  \
             failed: jobs: \"import\" panicked: bad input\n  \
             failed: jobs: \"worker 2\" failed: disk full\n  \
             failed: jobs: guard at {file}:{site_line}:16 failed: quota"
        )
    );

    // A report of one subtree shows that subtree and its failures only.
    assert_eq!(
        without_times(&http.report().to_string()),
        "shutdown drained\n  \
         http: forced after _, drained in _\n  \
         http/conn 127.0.0.1:5000: forced after _ (cut off: \"GET /slow\" (age _)), drained in _"
    );
}

#[test]
fn a_single_subsystem_keeps_the_one_line_form() {
    let shutdown = Shutdown::new();
    let _a = shutdown.guard_named("flush to disk").unwrap();
    let _b = shutdown.guard().unwrap();
    shutdown.trigger();
    assert_eq!(
        without_times(&shutdown.report().to_string()),
        "shutdown not drained: 2 guards alive: \"flush to disk\" (age _), and 1 unnamed"
    );
}

#[test]
fn recorded_call_sites_name_unnamed_stragglers() {
    let shutdown = Shutdown::new();
    shutdown.record_call_sites(true);
    let (_g, line) = (shutdown.guard().unwrap(), line!());
    assert_eq!(
        without_times(&shutdown.report().to_string()),
        format!(
            "shutdown not triggered: 1 guard alive: guard at {}:{line}:32 (age _)",
            file!()
        )
    );
}
