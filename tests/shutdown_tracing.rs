//! Feature `tracing`: the shutdown's transitions reach a subscriber as
//! events, after the tree's lock is released (a subscriber that re-enters the
//! shutdown does not deadlock).
#![cfg(all(feature = "tracing", not(loom)))]

use std::sync::{Arc, Mutex};

use ripcord::shutdown::{OnFailure, Shutdown};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Collects `level message {fields}` lines, and calls `reenter` on every
/// event.
struct Collect {
    lines: Arc<Mutex<Vec<String>>>,
    reenter: Box<dyn Fn() + Send + Sync>,
}

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.insert_str(0, &format!("{value:?}"));
        } else {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
    }
}

impl Subscriber for Collect {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "ripcord::shutdown"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = Line(String::new());
        event.record(&mut line);
        let level = event.metadata().level().to_string();
        self.lines
            .lock()
            .unwrap()
            .push(format!("{level} {}", line.0));
        (self.reenter)();
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn trigger_starts_drains_forces_and_failures_become_events() {
    let root = Shutdown::new();
    root.on_failure(OnFailure::Record);
    let http = root.child("http");
    let db = root.child("db");
    db.after(&[&http]).unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let probe = root.clone();
    let subscriber = Collect {
        lines: lines.clone(),
        // A subscriber that asks the shutdown for a report: the tree's lock
        // must not be held while events are emitted.
        reenter: Box::new(move || drop(probe.report())),
    };
    tracing::subscriber::with_default(subscriber, || {
        let request = http.guard_named("GET /slow").unwrap();
        root.trigger();
        http.force();
        request.fail("aborted by the grace period");
    });
    let lines = lines.lock().unwrap().clone();
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    assert!(
        has("INFO shutdown triggered subsystem=(root)"),
        "{lines:#?}"
    );
    assert!(
        has("INFO subsystem shutting down subsystem=http"),
        "{lines:#?}"
    );
    assert!(
        has("WARN subsystem forced: its work is told to abort subsystem=http"),
        "{lines:#?}"
    );
    assert!(has("stragglers=[\"\\\"GET /slow\\\"\"]"), "{lines:#?}");
    assert!(
        has("ERROR work failed: http: \"GET /slow\" failed: aborted by the grace period"),
        "{lines:#?}"
    );
    assert!(has("INFO subsystem drained subsystem=db"), "{lines:#?}");
    let position = |needle: &str| lines.iter().position(|l| l.contains(needle)).unwrap();
    assert!(
        position("drained subsystem=http") < position("shutting down subsystem=db"),
        "db starts after http drained: {lines:#?}"
    );
}
