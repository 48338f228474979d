//! In-flight work: guards, tracked futures, and how their failures are
//! recorded.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::error::AlreadyDrained;
use super::failure::{FailureKind, panic_message};
use super::tree::Subsystem;
use crate::CancellationToken;

/// One piece of in-flight work, counted until dropped. Made by
/// [`Shutdown::guard`](super::Shutdown::guard) and
/// [`Shutdown::guard_named`](super::Shutdown::guard_named).
///
/// The guard carries two tokens: [`token`](ShutdownGuard::token), cancelled
/// when its subsystem starts shutting down ("wrap up"), and
/// [`hard_token`](ShutdownGuard::hard_token), cancelled when the subsystem's
/// grace period runs out or it is [forced](super::Shutdown::force) ("abort
/// now"). Both are shared by the subsystem's guards, so an unnamed guard
/// allocates nothing: it is two words, taken with one compare-and-swap (plus
/// a reference count) and dropped with one atomic subtraction (plus one).
///
/// Dropping it never blocks (a named guard takes its subsystem's registry
/// lock briefly); the drop that ends the drain wakes every waiter. Dropped
/// while its thread panics, it records a [`Failure`](super::Failure)
/// (`FailureKind::Panic`) and applies the subsystem's
/// [`OnFailure`](super::OnFailure) policy. It is `Send` and `Sync`: move it
/// into the thread or task doing the work.
///
/// ```
/// let shutdown = ripcord::shutdown::Shutdown::new();
/// let guard = shutdown.guard().unwrap();
/// std::thread::spawn(move || {
///     guard.token().wait(); // work until shutdown...
///     drop(guard);          // ...then report done
/// });
/// shutdown.trigger();
/// shutdown.wait();
/// ```
pub struct ShutdownGuard(Repr);

/// Two words: the fast path's guard is its subsystem; a guard that reports
/// name keeps the rest behind one allocation. Kept small and free of
/// interior mutability on purpose: then it travels in registers, and the
/// drop's atomic operation does not wait for the guard's own stores (a
/// measured 2.2x on create + drop).
enum Repr {
    /// Counted only.
    Plain(Arc<Subsystem>),
    /// Also in the subsystem's registry (named, or its call site recorded).
    Registered(Box<Registered>),
}

struct Registered {
    sub: Arc<Subsystem>,
    /// Registry id.
    id: u64,
    name: Option<Arc<str>>,
    site: &'static Location<'static>,
}

impl ShutdownGuard {
    /// Counts a new guard in `shutdown`. Named guards, and unnamed ones while
    /// call sites are recorded, are registered for reports.
    pub(super) fn new(
        shutdown: &Arc<Subsystem>,
        name: Option<Arc<str>>,
        site: &'static Location<'static>,
    ) -> Result<Self, AlreadyDrained> {
        if name.is_none() && !shutdown.records_call_sites() {
            shutdown.acquire()?;
            return Ok(ShutdownGuard(Repr::Plain(shutdown.clone())));
        }
        let id = shutdown.acquire_registered(name.clone(), site)?;
        Ok(ShutdownGuard(Repr::Registered(Box::new(Registered {
            sub: shutdown.clone(),
            id,
            name,
            site,
        }))))
    }

    fn sub(&self) -> &Arc<Subsystem> {
        match &self.0 {
            Repr::Plain(sub) => sub,
            Repr::Registered(registered) => &registered.sub,
        }
    }

    fn registered(&self) -> Option<&Registered> {
        match &self.0 {
            Repr::Plain(_) => None,
            Repr::Registered(registered) => Some(registered),
        }
    }

    /// A token cancelled when the guard's subsystem starts shutting down.
    ///
    /// It is the subsystem's *guard token*, one child of the subsystem's
    /// token shared by all its guards and tracked futures (so that a guard
    /// costs no allocation): cancelling it yourself does not trigger
    /// shutdown, but it does tell every guard of the subsystem to wrap up.
    /// [`Shutdown::token`](super::Shutdown::token) makes a token of your own.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let guard = shutdown.guard().unwrap();
    /// assert!(!guard.token().is_cancelled());
    /// shutdown.trigger();
    /// assert!(guard.token().is_cancelled());
    /// ```
    pub fn token(&self) -> &CancellationToken {
        &self.sub().guard_soft
    }

    /// A token cancelled when the work must stop now: the subsystem's grace
    /// period ran out ([`CancelReason::DeadlineExceeded`](crate::CancelReason::DeadlineExceeded))
    /// or it was [forced](super::Shutdown::force). Shared by the subsystem's
    /// guards, like [`token`](ShutdownGuard::token): cancelling it by hand
    /// tells all of them to abort, and the report counts that as a force.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ripcord::{CancelReason, shutdown::Shutdown};
    ///
    /// let shutdown = Shutdown::new();
    /// shutdown.set_grace(Duration::from_millis(10));
    /// let guard = shutdown.guard().unwrap();
    /// shutdown.trigger();
    /// guard.hard_token().wait(); // the grace period runs out
    /// assert_eq!(guard.hard_token().reason(), Some(CancelReason::DeadlineExceeded));
    /// ```
    pub fn hard_token(&self) -> &CancellationToken {
        &self.sub().guard_hard
    }

    /// The guard's name, if it has one.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// assert_eq!(shutdown.guard().unwrap().name(), None);
    /// assert_eq!(shutdown.guard_named("db").unwrap().name(), Some("db"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.registered()?.name.as_deref()
    }

    /// Where the guard was taken, for a guard a report names (named, or
    /// taken while [call sites are recorded](super::Shutdown::record_call_sites)).
    /// An unnamed guard does not keep it: that keeps it two words small.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let guard = shutdown.guard_named("job").unwrap();
    /// assert_eq!(guard.call_site().unwrap().line(), line!() - 1);
    /// assert!(shutdown.guard().unwrap().call_site().is_none());
    /// ```
    pub fn call_site(&self) -> Option<&'static Location<'static>> {
        Some(self.registered()?.site)
    }

    /// Ends the work as failed: records a [`Failure`](super::Failure) with
    /// `error`'s text (and, for an unnamed guard, where `fail` was called),
    /// applies the subsystem's [`OnFailure`](super::OnFailure) policy (by
    /// default: trigger the whole tree), then drops the guard.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let guard = shutdown.guard_named("import").unwrap();
    /// guard.fail("bad row 7");
    /// assert!(shutdown.is_triggered()); // the default policy
    /// assert_eq!(shutdown.report().failures()[0].message(), "bad row 7");
    /// ```
    #[track_caller]
    pub fn fail(self, error: impl fmt::Display) {
        self.record(
            FailureKind::Error,
            Arc::from(error.to_string()),
            Some(Location::caller()),
        );
    }

    /// Records a failure of this guard's work; `site` stands in for an
    /// unnamed guard's call site.
    pub(super) fn record(
        &self,
        kind: FailureKind,
        message: Arc<str>,
        site: Option<&'static Location<'static>>,
    ) {
        let (name, site) = match self.registered() {
            Some(r) => (r.name.clone(), Some(r.site)),
            None => (None, site),
        };
        let sub = self.sub();
        sub.tree.fail(sub.id, name, site, kind, message);
    }
}

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        if crate::loom::thread::panicking() {
            // Before the release: whoever sees the drain over sees the failure.
            self.record(
                FailureKind::Panic,
                Arc::from("panicked while holding the guard"),
                None,
            );
        }
        let sub = self.sub();
        if sub.guard_hard.is_cancelled() {
            // Forced: let the report list this guard among the work the
            // force cut off, before it is gone (the force hook may not have
            // run yet).
            sub.tree.note_forced(sub);
        }
        let drained = match self.registered() {
            None => sub.release(),
            // Uncounted under the registry lock, as it was counted.
            Some(registered) => sub.release_registered(registered.id),
        };
        if drained {
            sub.tree.drained(sub.id);
        }
    }
}

impl fmt::Debug for ShutdownGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sub = self.sub();
        f.debug_struct("ShutdownGuard")
            .field("subsystem", &&*sub.path)
            .field("name", &self.name())
            .field("is_cancelled", &sub.soft.is_cancelled())
            .finish()
    }
}

/// Drops `guard` after recording a panic of its work, keeping any panic of
/// the user code this runs (wakers, callbacks) from replacing the original.
pub(super) fn drop_after_panic(
    guard: ShutdownGuard,
    payload: &(dyn std::any::Any + Send),
    site: Option<&'static Location<'static>>,
) {
    guard.record(FailureKind::Panic, panic_message(payload), site);
    let _ = catch_unwind(AssertUnwindSafe(move || drop(guard)));
}

/// How a tracked future's output is checked for failure: never, or `Err`.
type Check<O> = fn(&O) -> Option<Arc<str>>;

pub(super) fn check_result<T, E: fmt::Display>(output: &Result<T, E>) -> Option<Arc<str>> {
    output.as_ref().err().map(|e| Arc::from(e.to_string()))
}

pin_project_lite::pin_project! {
    /// A future that holds a [`ShutdownGuard`] while it lives. Made by
    /// [`Shutdown::track`](super::Shutdown::track) and its variants.
    ///
    /// The guard is released as soon as the future completes, or when it is
    /// dropped unfinished. If the future panics, the panic is recorded as a
    /// [`Failure`](super::Failure) with its message, the guard is released
    /// (a panicking task never holds up the drain), and the panic continues
    /// to the executor. Made by `track_result*`, an `Err` output is recorded
    /// as a failure too.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let tracked: ripcord::shutdown::Tracked<_> = shutdown.track(async {}).unwrap();
    /// drop(tracked);
    /// assert_eq!(shutdown.active_guards(), 0);
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct Tracked<F>
    where
        F: Future,
    {
        #[pin]
        future: F,
        guard: Option<ShutdownGuard>,
        check: Option<Check<F::Output>>,
        // Where it was tracked: a failure's call site for an unnamed guard.
        site: &'static Location<'static>,
    }
}

impl<F: Future> Tracked<F> {
    pub(super) fn new(
        future: F,
        guard: ShutdownGuard,
        check: Option<Check<F::Output>>,
        site: &'static Location<'static>,
    ) -> Self {
        Tracked {
            future,
            guard: Some(guard),
            check,
            site,
        }
    }

    /// The guard's token: cancelled when shutdown starts. `None` once the
    /// future has completed.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let tracked = shutdown.track(async {}).unwrap();
    /// assert!(!tracked.token().unwrap().is_cancelled());
    /// ```
    pub fn token(&self) -> Option<&CancellationToken> {
        self.guard.as_ref().map(ShutdownGuard::token)
    }

    /// The guard's hard token: cancelled when the work must stop now. `None`
    /// once the future has completed.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let tracked = shutdown.track(async {}).unwrap();
    /// shutdown.force();
    /// assert!(tracked.hard_token().unwrap().is_cancelled());
    /// ```
    pub fn hard_token(&self) -> Option<&CancellationToken> {
        self.guard.as_ref().map(ShutdownGuard::hard_token)
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let future = this.future;
        let output = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => output,
            Err(payload) => {
                if let Some(guard) = this.guard.take() {
                    drop_after_panic(guard, &*payload, Some(*this.site));
                }
                resume_unwind(payload);
            }
        };
        // Done: stop counting now, not when the executor drops the task.
        if let Some(guard) = this.guard.take() {
            if let Some(message) = (*this.check).and_then(|check| check(&output)) {
                guard.record(FailureKind::Error, message, Some(*this.site));
            }
        }
        Poll::Ready(output)
    }
}

/// Terminated once the inner future has completed (its guard is released then).
impl<F: Future> futures_core::future::FusedFuture for Tracked<F> {
    fn is_terminated(&self) -> bool {
        self.guard.is_none()
    }
}

impl<F: Future> fmt::Debug for Tracked<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracked")
            .field("guard", &self.guard)
            .finish_non_exhaustive()
    }
}
