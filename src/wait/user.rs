//! Running user code so that a panic in one piece does not stop the rest.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

/// The first panic raised by a batch of user code (wakers, callbacks,
/// destructors of user values), kept until the batch is over.
///
/// Every primitive runs its user code through [`run`](FirstPanic::run) after
/// its state transition is complete, and calls [`resume`](FirstPanic::resume)
/// last: so a panicking waker or callback never leaves other waiters asleep or
/// other callbacks unrun, and the caller still sees the panic.
#[derive(Default)]
#[must_use = "a caught panic must be resumed"]
pub(crate) struct FirstPanic(Option<Box<dyn Any + Send>>);

impl FirstPanic {
    /// Nothing caught yet.
    pub(crate) fn new() -> Self {
        FirstPanic(None)
    }

    /// Runs `f`, catching a panic (the first one is kept, later ones dropped).
    ///
    /// `AssertUnwindSafe` is sound here because the state `f` could observe
    /// half-changed belongs to the user: ripcord's own state transitions are
    /// complete before user code runs.
    #[inline]
    pub(crate) fn run(&mut self, f: impl FnOnce()) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
            self.0.get_or_insert(payload);
        }
    }

    /// Keeps `payload` unless a panic was already caught.
    pub(crate) fn keep(&mut self, payload: Box<dyn Any + Send>) {
        self.0.get_or_insert(payload);
    }

    /// Adds another batch's first panic.
    pub(crate) fn merge(&mut self, other: FirstPanic) {
        if let Some(payload) = other.0 {
            self.keep(payload);
        }
    }

    /// Whether a panic was caught.
    #[inline]
    pub(crate) fn is_caught(&self) -> bool {
        self.0.is_some()
    }

    /// Re-raises the first caught panic, unless this thread is already
    /// unwinding (user code run from a destructor during a panic): a second
    /// panic would abort the process, so the caught one is dropped then.
    pub(crate) fn resume_unless_unwinding(self) {
        if crate::loom::thread::panicking() {
            drop(self);
        } else {
            self.resume();
        }
    }

    /// Re-raises the first caught panic, if any.
    pub(crate) fn resume(self) {
        if let Some(payload) = self.0 {
            resume_unwind(payload);
        }
    }
}

/// Runs one piece of user code that owes nothing after it (a single wake, a
/// value's drop): directly, unless this thread is already unwinding, where
/// its panic would abort the process; then the panic is caught and dropped.
/// Costs one relaxed load of the global panic count when nothing panics.
#[inline]
pub(crate) fn run_user(f: impl FnOnce()) {
    if crate::loom::thread::panicking() {
        drop(catch_unwind(AssertUnwindSafe(f)));
    } else {
        f();
    }
}
