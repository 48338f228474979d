//! The `Shutdown` handle: one subsystem of a shutdown tree.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::count::{Drained, ONE_GUARD, TRIGGERED};
use super::error::{AlreadyDrained, PhaseError};
use super::failure::OnFailure;
use super::guard::{ShutdownGuard, Tracked, check_result, drop_after_panic};
use super::path::to_arc;
use super::report::DrainReport;
use super::tree::{Subsystem, Tree};
use crate::loom::Ordering;
use crate::wait::{Event, Key};
use crate::{CancelReason, CancellationToken};

/// A graceful-shutdown coordinator: one subsystem of a shutdown tree, with
/// its cancellation tokens and its count of in-flight work. Cheap to clone;
/// every clone is the same subsystem.
///
/// See the [module docs](super) for the pattern and the phases.
///
/// - [`Shutdown::new`] makes a root; [`child`](Shutdown::child) makes a
///   nested subsystem. Triggering a subsystem triggers its subtree; a
///   subsystem is drained once its own guards **and** all its children are.
/// - [`after`](Shutdown::after) orders phases: a subsystem starts shutting
///   down only once the ones it runs after are drained.
/// - [`set_grace`](Shutdown::set_grace) gives a subsystem a grace period;
///   when it runs out, the work still running is told to abort through its
///   [hard token](ShutdownGuard::hard_token), and the report says it was
///   forced.
/// - Work that fails ([`ShutdownGuard::fail`], a `track_result` future's
///   `Err`, a panic) is recorded, and by default triggers the whole tree
///   ([`on_failure`](Shutdown::on_failure)).
///
/// The state machine of one subsystem's guard count, and the tree's
/// invariants, are documented in the source (`inner.rs`, `tree.rs`).
///
/// # Examples
///
/// ```
/// use ripcord::shutdown::Shutdown;
///
/// let shutdown = Shutdown::new();
/// let guard = shutdown.guard().unwrap();
/// assert_eq!(shutdown.active_guards(), 1);
/// shutdown.trigger();
/// assert!(guard.token().is_cancelled());
/// drop(guard);
/// shutdown.wait(); // returns at once: triggered and drained
/// assert!(shutdown.guard().is_err());
/// ```
#[derive(Clone)]
pub struct Shutdown {
    inner: Arc<Subsystem>,
}

impl Shutdown {
    /// Makes a new root coordinator, not triggered, with no guards and no
    /// children.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// assert!(!shutdown.is_triggered());
    /// assert_eq!(shutdown.path(), "");
    /// ```
    pub fn new() -> Self {
        Shutdown {
            inner: Tree::new_root(),
        }
    }

    /// Makes a nested subsystem named `name`.
    ///
    /// Triggering this subsystem (or an ancestor) triggers the child; the
    /// child counts as in-flight work of this subsystem until the child is
    /// drained, so this subsystem is drained only after all its children.
    /// The child starts with this subsystem's grace period, failure policy
    /// and call-site setting; change them on the child.
    ///
    /// A child made once this subsystem is shutting down is born shutting
    /// down with nothing in flight, so it is drained at once and refuses
    /// guards: make children up front (or take late helpers' guards from the
    /// parent, which accepts them until it is drained). Names need not be
    /// unique; the report shows each
    /// subsystem by its path, the names from the root down joined by `/`.
    ///
    /// # When a child goes away
    ///
    /// A child lives while a handle to it, one of its guards or one of its
    /// own children does. When the last goes, its tokens still held elsewhere
    /// are cancelled (nobody could trigger them any more), and it leaves
    /// reports, unless it took part in its parent's shutdown: then its
    /// parent's report still shows it (drained or forced), for as long as
    /// the parent is there. One that was shut down, or forced, on its own
    /// while its parent runs (a finished connection) leaves, with everything
    /// below it. So per-connection children of a long-running server do not
    /// accumulate (0 bytes per closed connection); keep a handle to each
    /// phase you want the final report to list while it runs.
    ///
    /// Takes the tree's lock briefly; no user code runs under it.
    ///
    /// ```
    /// use ripcord::shutdown::Shutdown;
    ///
    /// let root = Shutdown::new();
    /// let http = root.child("http");
    /// let conn = http.child("conn 127.0.0.1:5000");
    /// assert_eq!(conn.path(), "http/conn 127.0.0.1:5000");
    /// let request = conn.guard_named("GET /").unwrap();
    /// root.trigger();
    /// assert!(request.token().is_cancelled());
    /// assert!(!root.is_drained()); // the request holds conn, conn holds http...
    /// drop(request);
    /// assert!(root.is_drained());
    /// ```
    pub fn child(&self, name: impl Into<Cow<'static, str>>) -> Shutdown {
        Shutdown {
            inner: Tree::child(&self.inner, name.into()),
        }
    }

    /// The subsystem's path: its name and its ancestors', joined with `/`;
    /// empty for a root.
    ///
    /// ```
    /// let root = ripcord::shutdown::Shutdown::new();
    /// assert_eq!(root.child("db").child("pool").path(), "db/pool");
    /// ```
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// Orders this subsystem's shutdown after `others`: once shutdown is
    /// asked of it (by a trigger of it or an ancestor), it waits until each of
    /// `others` that is shutting down too is drained, and only then cancels
    /// its tokens. (Order applies among subsystems that are shutting down:
    /// one of `others` that nobody triggered does not hold it back.) A
    /// [force](Shutdown::force) starts it at once.
    ///
    /// `others` may be anywhere in the same tree. Takes the tree's lock.
    ///
    /// # Errors
    ///
    /// - [`PhaseError::Cycle`] if the order would make a subsystem wait for
    ///   itself: directly, through other phases, or through the tree (a
    ///   subsystem cannot run after its ancestor, which is drained only after
    ///   it, nor after its descendant, which starts only after it). Orders
    ///   earlier in `others` are kept.
    /// - [`PhaseError::OtherTree`] if one of `others` belongs to another tree.
    /// - [`PhaseError::AlreadyStarted`] if this subsystem is already shutting
    ///   down.
    ///
    /// ```
    /// use ripcord::shutdown::Shutdown;
    ///
    /// let root = Shutdown::new();
    /// let (http, jobs, db) = (root.child("http"), root.child("jobs"), root.child("db"));
    /// db.after(&[&http, &jobs]).unwrap();
    /// let request = http.guard().unwrap();
    /// root.trigger();
    /// assert!(http.is_triggered() && jobs.is_drained());
    /// assert!(!db.is_triggered()); // waits for http
    /// drop(request);
    /// assert!(db.is_triggered() && root.is_drained());
    /// ```
    pub fn after(&self, others: &[&Shutdown]) -> Result<(), PhaseError> {
        if others
            .iter()
            .any(|other| !Arc::ptr_eq(&other.inner.tree, &self.inner.tree))
        {
            return Err(PhaseError::OtherTree);
        }
        let ids: Vec<usize> = others.iter().map(|other| other.inner.id).collect();
        self.inner.tree.after(self.inner.id, &ids)
    }

    /// Gives the subsystem a grace period: once it starts shutting down, its
    /// work has `grace` to finish; then its [hard token](Shutdown::hard_token)
    /// and every hard token below it are cancelled with
    /// [`CancelReason::DeadlineExceeded`], and the report marks it (and each
    /// descendant not drained by then) forced. `Duration::MAX` (or any period
    /// too long to represent) means no grace period. Children made later
    /// start with the same period. Takes effect at the next start, so set it
    /// before triggering.
    ///
    /// The timer needs no runtime (the crate's deadline thread, see
    /// [`CancellationToken::cancel_at`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use ripcord::shutdown::{Shutdown, SubsystemStatus};
    ///
    /// let shutdown = Shutdown::new();
    /// shutdown.set_grace(Duration::from_millis(10));
    /// let stuck = shutdown.guard_named("stuck").unwrap();
    /// shutdown.trigger();
    /// stuck.hard_token().wait();
    /// assert_eq!(shutdown.report().subsystems()[0].status(), SubsystemStatus::Stuck);
    /// drop(stuck);
    /// assert_eq!(shutdown.report().subsystems()[0].status(), SubsystemStatus::Forced);
    /// ```
    pub fn set_grace(&self, grace: Duration) {
        let grace = (grace != Duration::MAX).then_some(grace);
        self.inner.tree.set_grace(self.inner.id, grace);
    }

    /// What a failure of work in this subsystem triggers (default:
    /// [`OnFailure::ShutdownAll`]). Children made later start with the same
    /// policy.
    ///
    /// ```
    /// use ripcord::shutdown::{OnFailure, Shutdown};
    ///
    /// let shutdown = Shutdown::new();
    /// shutdown.on_failure(OnFailure::Record);
    /// shutdown.guard().unwrap().fail("recoverable");
    /// assert!(!shutdown.is_triggered());
    /// ```
    pub fn on_failure(&self, policy: OnFailure) {
        self.inner.tree.set_on_failure(self.inner.id, policy);
    }

    /// Whether unnamed guards taken from now on are registered with their call
    /// site, so that a report can show where a stuck unnamed guard came from.
    /// Off by default: an unnamed guard then costs one atomic operation and is
    /// reported only as a count; on, it costs what a named guard costs (a
    /// brief lock and an allocation). Children made later inherit the
    /// setting.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// shutdown.record_call_sites(true);
    /// let _g = shutdown.guard().unwrap();
    /// let report = shutdown.report();
    /// assert!(report.to_string().contains("guard at "));
    /// assert_eq!(report.stragglers()[0].call_site().file(), file!());
    /// ```
    pub fn record_call_sites(&self, on: bool) {
        self.inner.set_call_sites(on);
    }

    /// A token that is cancelled when this subsystem starts shutting down.
    ///
    /// It is a child of the subsystem's token: cancelling it yourself does
    /// not trigger shutdown.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let token = shutdown.token();
    /// token.cancel(); // only this token
    /// assert!(!shutdown.is_triggered());
    /// shutdown.trigger();
    /// assert!(shutdown.token().is_cancelled());
    /// ```
    pub fn token(&self) -> CancellationToken {
        self.inner.soft.child_token()
    }

    /// A token that is cancelled when this subsystem's work must stop now:
    /// its grace period (or an ancestor's) ran out, or it (or an ancestor) was
    /// [forced](Shutdown::force). Cancelling it yourself forces nothing.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let hard = shutdown.child("db").hard_token();
    /// shutdown.force();
    /// assert!(hard.is_cancelled());
    /// ```
    pub fn hard_token(&self) -> CancellationToken {
        self.inner.hard.child_token()
    }

    /// Escalates now: cancels the hard token of this subsystem and of every
    /// subsystem below it (reason: `CancelReason::custom("forced")`), marks
    /// those not drained yet as forced, and starts shutting down any that had
    /// not started (phases or not). For a second Ctrl-C during the drain, or
    /// an outer deadline. Idempotent.
    ///
    /// ```
    /// use ripcord::shutdown::{Shutdown, SubsystemStatus};
    ///
    /// let shutdown = Shutdown::new();
    /// let guard = shutdown.guard_named("slow").unwrap();
    /// shutdown.force();
    /// assert!(shutdown.is_triggered() && guard.hard_token().is_cancelled());
    /// assert_eq!(shutdown.report().subsystems()[0].status(), SubsystemStatus::Stuck);
    /// ```
    pub fn force(&self) {
        self.inner.hard.cancel_with(CancelReason::custom("forced"));
    }

    /// Whether this subsystem was forced (its grace period ran out before it
    /// was drained, or [`force`](Shutdown::force) reached it first). Takes the
    /// tree's lock.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let _g = shutdown.guard().unwrap();
    /// assert!(!shutdown.is_forced());
    /// shutdown.force();
    /// assert!(shutdown.is_forced());
    /// ```
    pub fn is_forced(&self) -> bool {
        self.inner.tree.is_forced(&self.inner)
    }

    /// Whether shutdown was asked of this subsystem (it may still wait for
    /// its phase: [`is_triggered`](Shutdown::is_triggered) says when it
    /// starts). Takes the tree's lock.
    ///
    /// ```
    /// let root = ripcord::shutdown::Shutdown::new();
    /// let (http, db) = (root.child("http"), root.child("db"));
    /// db.after(&[&http]).unwrap();
    /// let _request = http.guard().unwrap();
    /// root.trigger();
    /// assert!(db.is_requested() && !db.is_triggered());
    /// ```
    pub fn is_requested(&self) -> bool {
        self.inner.tree.is_requested(self.inner.id)
    }

    /// Counts one piece of in-flight work until the returned guard is dropped.
    ///
    /// Guards can still be taken after shutdown is triggered (in-flight work may
    /// need helpers to finish; their tokens are born cancelled), but not once
    /// the drain is over.
    ///
    /// Never blocks, never allocates: one compare-and-swap and a reference
    /// count (the guard hands out its subsystem's shared guard tokens). An
    /// unnamed guard shows up in a [`DrainReport`] only as a
    /// count, unless [call sites are recorded](Shutdown::record_call_sites).
    ///
    /// # Errors
    ///
    /// [`AlreadyDrained`] once shutdown was triggered and every guard dropped:
    /// a guard then would protect nothing.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let guard = shutdown.guard().unwrap();
    /// shutdown.trigger();
    /// let helper = shutdown.guard().unwrap(); // still draining: allowed
    /// drop((guard, helper));
    /// assert!(shutdown.guard().is_err());
    /// ```
    #[track_caller]
    pub fn guard(&self) -> Result<ShutdownGuard, AlreadyDrained> {
        ShutdownGuard::new(&self.inner, None, Location::caller())
    }

    /// Like [`guard`](Shutdown::guard), with a name that reports show (with
    /// the guard's age) while the guard is alive.
    ///
    /// Takes the subsystem's registry lock briefly (here and when the guard
    /// drops); no user code runs under it. Names need not be unique.
    ///
    /// # Errors
    ///
    /// [`AlreadyDrained`], as for [`guard`](Shutdown::guard).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let _flush = shutdown.guard_named("flush to disk").unwrap();
    /// let _conn = shutdown.guard_named(format!("conn {}", 7)).unwrap();
    /// shutdown.trigger();
    /// let report = shutdown.wait_timeout(Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(report.stragglers().len(), 2);
    /// ```
    #[track_caller]
    pub fn guard_named(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<ShutdownGuard, AlreadyDrained> {
        ShutdownGuard::new(&self.inner, Some(to_arc(name.into())), Location::caller())
    }

    /// Wraps `future` so that it holds a guard for as long as it lives
    /// (until it completes or is dropped). Works on any executor. A panic
    /// while it is polled is recorded as a failure (see [`Tracked`]).
    ///
    /// # Errors
    ///
    /// [`AlreadyDrained`] once the drain is over; `future` is then dropped
    /// without being polled.
    ///
    /// ```
    /// use ripcord::shutdown::Shutdown;
    ///
    /// let shutdown = Shutdown::new();
    /// let task = shutdown.track(async { 40 + 2 }).unwrap();
    /// assert_eq!(shutdown.active_guards(), 1);
    /// assert_eq!(futures::executor::block_on(task), 42);
    /// assert_eq!(shutdown.active_guards(), 0);
    /// ```
    #[track_caller]
    pub fn track<F: Future>(&self, future: F) -> Result<Tracked<F>, AlreadyDrained> {
        Ok(Tracked::new(
            future,
            self.guard()?,
            None,
            Location::caller(),
        ))
    }

    /// Like [`track`](Shutdown::track), with a name that reports show.
    ///
    /// # Errors
    ///
    /// [`AlreadyDrained`], as for [`track`](Shutdown::track).
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let _task = shutdown.track_named("indexer", async {}).unwrap();
    /// assert_eq!(shutdown.report().stragglers()[0].name(), "indexer");
    /// ```
    #[track_caller]
    pub fn track_named<F: Future>(
        &self,
        name: impl Into<Cow<'static, str>>,
        future: F,
    ) -> Result<Tracked<F>, AlreadyDrained> {
        Ok(Tracked::new(
            future,
            self.guard_named(name)?,
            None,
            Location::caller(),
        ))
    }

    /// Like [`track`](Shutdown::track) for a future that returns a `Result`:
    /// an `Err` is recorded as a [`Failure`](super::Failure) with the error's
    /// text, and the subsystem's [`OnFailure`] policy applies (by default,
    /// the whole tree shuts down). The output is passed on unchanged.
    ///
    /// # Errors
    ///
    /// [`AlreadyDrained`], as for [`track`](Shutdown::track).
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let task = shutdown.track_result(async { Err::<(), _>("disk full") }).unwrap();
    /// assert!(futures::executor::block_on(task).is_err());
    /// assert!(shutdown.is_triggered());
    /// assert_eq!(shutdown.report().failures()[0].message(), "disk full");
    /// ```
    #[track_caller]
    pub fn track_result<F, T, E>(&self, future: F) -> Result<Tracked<F>, AlreadyDrained>
    where
        F: Future<Output = Result<T, E>>,
        E: fmt::Display,
    {
        Ok(Tracked::new(
            future,
            self.guard()?,
            Some(check_result),
            Location::caller(),
        ))
    }

    /// [`track_result`](Shutdown::track_result) with a name that reports and
    /// failures show.
    ///
    /// # Errors
    ///
    /// [`AlreadyDrained`], as for [`track`](Shutdown::track).
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let task = shutdown.track_result_named("sync", async { Err::<(), _>("timeout") }).unwrap();
    /// let _ = futures::executor::block_on(task);
    /// assert_eq!(shutdown.report().failures()[0].name(), Some("sync"));
    /// ```
    #[track_caller]
    pub fn track_result_named<F, T, E>(
        &self,
        name: impl Into<Cow<'static, str>>,
        future: F,
    ) -> Result<Tracked<F>, AlreadyDrained>
    where
        F: Future<Output = Result<T, E>>,
        E: fmt::Display,
    {
        Ok(Tracked::new(
            future,
            self.guard_named(name)?,
            Some(check_result),
            Location::caller(),
        ))
    }

    /// Runs `work` on a new thread named `name`, holding a guard of that name
    /// until it returns. `work` gets the guard (for its tokens). An `Err` is
    /// recorded as a failure (the thread's result is then `None`); a panic is
    /// recorded with its message, the guard is released, and the panic goes
    /// on to the [`JoinHandle`](std::thread::JoinHandle).
    ///
    /// # Errors
    ///
    /// [`AlreadyDrained`] once the drain is over (no thread is started).
    ///
    /// # Panics
    ///
    /// If the operating system cannot start a thread, as `std::thread::spawn`.
    ///
    /// ```
    /// use ripcord::shutdown::{OnFailure, Shutdown};
    ///
    /// let shutdown = Shutdown::new();
    /// shutdown.on_failure(OnFailure::Record);
    /// let ok = shutdown.spawn_thread("sum", |_guard| Ok::<_, String>(1 + 1)).unwrap();
    /// assert_eq!(ok.join().unwrap(), Some(2));
    /// let bad = shutdown.spawn_thread("parse", |_guard| "x".parse::<u8>()).unwrap();
    /// assert_eq!(bad.join().unwrap(), None);
    /// let report = shutdown.report();
    /// let failure = &report.failures()[0];
    /// assert_eq!((failure.name(), failure.message()), (Some("parse"), "invalid digit found in string"));
    /// ```
    #[track_caller]
    pub fn spawn_thread<W, T, E>(
        &self,
        name: impl Into<Cow<'static, str>>,
        work: W,
    ) -> Result<std::thread::JoinHandle<Option<T>>, AlreadyDrained>
    where
        W: FnOnce(&ShutdownGuard) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: fmt::Display,
    {
        let name = name.into();
        let guard = self.guard_named(name.clone())?;
        let handle =
            crate::loom::spawn_user_thread(name.into_owned(), move || {
                match catch_unwind(AssertUnwindSafe(|| work(&guard))) {
                    Ok(Ok(value)) => Some(value),
                    Ok(Err(error)) => {
                        guard.fail(error);
                        None
                    }
                    Err(payload) => {
                        drop_after_panic(guard, &*payload, None);
                        resume_unwind(payload)
                    }
                }
            })
            .expect("failed to spawn thread");
        Ok(handle)
    }

    /// Triggers shutdown of this subsystem and its subtree with
    /// [`CancelReason::Cancelled`]. Idempotent.
    ///
    /// Before it returns, every subsystem of the subtree that may start has
    /// started: its tokens from [`token`](Shutdown::token) and its guards'
    /// tokens are cancelled, even if another thread's trigger won the race.
    /// A subsystem ordered [`after`](Shutdown::after) others starts later,
    /// when they are drained. Never blocks on waiters (it wakes them);
    /// `on_cancel` callbacks registered on the tokens run on this thread, as
    /// for [`CancellationToken::cancel_with`]. Safe to call from a
    /// signal-handling thread (such as the `ctrlc` crate's), not from inside
    /// a raw async-signal handler.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// shutdown.trigger();
    /// shutdown.trigger();
    /// assert!(shutdown.is_triggered());
    /// ```
    pub fn trigger(&self) {
        self.trigger_with(CancelReason::Cancelled);
    }

    /// Triggers shutdown with a reason every token reports. The first reason
    /// a subsystem gets wins; later triggers change nothing.
    ///
    /// ```
    /// use ripcord::{CancelReason, shutdown::Shutdown};
    ///
    /// let shutdown = Shutdown::new();
    /// let token = shutdown.token();
    /// shutdown.trigger_with(CancelReason::custom("SIGTERM"));
    /// assert_eq!(token.reason().unwrap().to_string(), "SIGTERM");
    /// ```
    pub fn trigger_with(&self, reason: CancelReason) {
        self.inner.tree.request(self.inner.id, reason);
    }

    /// Whether this subsystem started shutting down (its tokens are
    /// cancelled). One atomic load.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// assert!(!shutdown.is_triggered());
    /// shutdown.trigger();
    /// assert!(shutdown.is_triggered());
    /// ```
    pub fn is_triggered(&self) -> bool {
        // ORDERING: pairs with `trigger_with`'s `Release`.
        self.inner.state.load(Ordering::Acquire) & TRIGGERED != 0
    }

    /// How many guards are alive in this subsystem, plus one for each child
    /// subsystem not drained yet. One atomic load.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let _a = shutdown.guard().unwrap();
    /// assert_eq!(shutdown.active_guards(), 1);
    /// ```
    pub fn active_guards(&self) -> usize {
        // ORDERING: pairs with the guards' `Release` (count changes).
        self.inner.state.load(Ordering::Acquire) / ONE_GUARD
    }

    /// Whether the drain is over: triggered, and every guard dropped.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// assert!(!shutdown.is_drained());
    /// shutdown.trigger();
    /// assert!(shutdown.is_drained());
    /// ```
    pub fn is_drained(&self) -> bool {
        self.inner.is_drained()
    }

    /// Blocks the thread until shutdown is triggered and every guard dropped.
    ///
    /// Blocks the calling thread (forever, if nobody triggers shutdown): in
    /// async code use [`drained`](Shutdown::drained). Returns at once once
    /// drained.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let guard = shutdown.guard().unwrap();
    /// let s = shutdown.clone();
    /// std::thread::spawn(move || { s.trigger(); drop(guard); });
    /// shutdown.wait();
    /// assert!(shutdown.is_drained());
    /// ```
    pub fn wait(&self) {
        let _ = self.inner.wait_until(None);
    }

    /// Blocks the thread until the drain is over or `timeout` elapses.
    ///
    /// Blocks the calling thread: in async code put a timeout on
    /// [`drained`](Shutdown::drained) (see there). A zero timeout only
    /// checks; a timeout whose end is not representable (`Duration::MAX`)
    /// waits forever, like [`wait`](Shutdown::wait). If the drain completes
    /// as the timeout expires, the result is `Ok`.
    ///
    /// # Errors
    ///
    /// On timeout, a [`DrainReport`] naming every guard still alive.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let _stuck = shutdown.guard_named("stuck job").unwrap();
    /// shutdown.trigger();
    /// let report = shutdown.wait_timeout(Duration::from_millis(5)).unwrap_err();
    /// assert_eq!(report.stragglers()[0].name(), "stuck job");
    /// ```
    #[must_use = "the result says whether the drain finished, and if not, what is still running"]
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), DrainReport> {
        self.wait_deadline_opt(crate::wait::deadline_after(timeout))
    }

    /// Blocks the thread until the drain is over or `deadline` passes.
    ///
    /// Blocks the calling thread. A deadline that has passed only checks.
    ///
    /// # Errors
    ///
    /// As for [`wait_timeout`](Shutdown::wait_timeout).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// shutdown.trigger();
    /// assert!(shutdown.wait_deadline(Instant::now() + Duration::from_secs(1)).is_ok());
    /// ```
    #[must_use = "the result says whether the drain finished, and if not, what is still running"]
    pub fn wait_deadline(&self, deadline: Instant) -> Result<(), DrainReport> {
        self.wait_deadline_opt(Some(deadline))
    }

    fn wait_deadline_opt(&self, deadline: Option<Instant>) -> Result<(), DrainReport> {
        if self.inner.wait_until(deadline) {
            return Ok(());
        }
        // The drain may end between the time-out and the report: a report
        // that says drained is an `Ok`, so the two answers never disagree.
        let report = self.report();
        if report.is_drained() {
            Ok(())
        } else {
            Err(report)
        }
    }

    /// Waits asynchronously until shutdown is triggered and every guard
    /// dropped. Works on any executor.
    ///
    /// Cancel-safe: dropping the [`Drain`] unregisters it and loses nothing.
    /// The future is `Send`, `Sync`, `Unpin`, `'static` and fused.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// shutdown.trigger();
    /// shutdown.drained().await;
    /// # });
    /// ```
    ///
    /// # With a timeout
    ///
    /// Put any runtime's timer on it with the [`time`](crate::time) adapters,
    /// and ask for the [`report`](Shutdown::report) of what is still running
    /// when it elapses (this replaces 0.1's `drained_timeout`):
    ///
    /// ```
    /// use std::time::Duration;
    /// use ripcord::{shutdown::Shutdown, FutureExt};
    ///
    /// # smol::block_on(async {
    /// let shutdown = Shutdown::new();
    /// let _stuck = shutdown.guard_named("slow request").unwrap();
    /// shutdown.trigger();
    /// // Any runtime's timer; with feature `async-io`, `ripcord::time::AsyncIoSleeper`.
    /// let sleeper = |d| async move {
    ///     smol::Timer::after(d).await;
    /// };
    /// if shutdown.drained().timeout(&sleeper, Duration::from_millis(5)).await.is_err() {
    ///     let report = shutdown.report();
    ///     assert_eq!(report.stragglers()[0].name(), "slow request");
    /// }
    /// # });
    /// ```
    pub fn drained(&self) -> Drain {
        Drain {
            inner: self.inner.clone(),
            key: None,
            done: false,
        }
    }

    /// A report of this subsystem and every subsystem below it, right now:
    /// each one's status (running, waiting for its phase, draining, drained,
    /// forced, stuck), the guards still alive, and the failures. What a
    /// timed-out drain returns. Takes the tree's lock and each subsystem's
    /// registry lock briefly; never blocks otherwise.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let _g = shutdown.guard_named("indexer").unwrap();
    /// assert_eq!(shutdown.report().stragglers()[0].name(), "indexer");
    /// ```
    pub fn report(&self) -> DrainReport {
        self.inner.tree.report(self.inner.id)
    }
}

/// A shutdown in a set of events (`Select::drained`): ready once drained.
impl crate::wait::Member for Shutdown {
    fn check(&self) -> bool {
        self.inner.is_drained()
    }

    fn listen(
        &self,
        key: &mut Option<crate::wait::MemberKey>,
        waiter: crate::wait::NewWaiter<'_>,
    ) -> bool {
        crate::wait::listen_member(&Drained(&self.inner), key, waiter)
    }

    fn unlisten(&self, key: crate::wait::MemberKey) -> bool {
        crate::wait::unlisten_member(&Drained(&self.inner), key)
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("path", &self.path())
            .field("is_triggered", &self.is_triggered())
            .field("active_guards", &self.active_guards())
            .finish()
    }
}

/// Future returned by [`Shutdown::drained`]: resolves once shutdown is
/// triggered and every guard dropped.
///
/// `Send`, `Sync`, `Unpin`, `'static` and cancel-safe: dropping it
/// unregisters it. Polling it again after it resolved resolves again.
///
/// ```
/// # futures::executor::block_on(async {
/// let shutdown = ripcord::shutdown::Shutdown::new();
/// let drain: ripcord::shutdown::Drain = shutdown.drained();
/// shutdown.trigger();
/// drain.await;
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Drain {
    inner: Arc<Subsystem>,
    key: Option<Key>,
    done: bool,
}

impl Future for Drain {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let poll = crate::wait::poll_event(&Drained(&this.inner), &mut this.key, cx);
        this.done |= poll.is_ready();
        poll
    }
}

/// Terminated once it has resolved.
impl futures_core::future::FusedFuture for Drain {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl Drop for Drain {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            Drained(&self.inner).unlisten(key);
        }
    }
}

impl fmt::Debug for Drain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Drain")
            .field("is_drained", &self.inner.is_drained())
            .finish()
    }
}
