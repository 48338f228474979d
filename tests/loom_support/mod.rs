//! Helpers shared by the loom models that wait (`loom_wait`, `loom_promise`,
//! `loom_select`).
#![allow(dead_code)] // each model file uses a subset

use std::sync::Arc;
use std::task::{Wake, Waker};

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

/// Runs `f` under loom, exploring interleavings with up to three preemptions.
pub fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

/// A waker that counts its wake-ups.
pub struct Count(pub AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A counting waker and its counter.
pub fn counting() -> (Arc<Count>, Waker) {
    let count = Arc::new(Count(AtomicUsize::new(0)));
    (count.clone(), Waker::from(count))
}

/// Helper threads that report when they are done, waited for with
/// [`Helpers::await_all`] rather than `JoinHandle::join`: a waiter registered
/// with several events may be unparked by a second notifier after it already
/// returned (harmless: real parks re-check), and loom's `join` takes any
/// unpark as its own notification.
#[derive(Default)]
pub struct Helpers {
    done: Arc<AtomicUsize>,
    started: usize,
}

impl Helpers {
    /// Runs `f` on a new loom thread.
    pub fn spawn(&mut self, f: impl FnOnce() + Send + 'static) {
        let done = self.done.clone();
        self.started += 1;
        thread::spawn(move || {
            f();
            done.fetch_add(1, Ordering::SeqCst);
        });
    }

    /// Waits until every helper has finished.
    pub fn await_all(&self) {
        while self.done.load(Ordering::SeqCst) < self.started {
            thread::yield_now();
        }
    }
}
