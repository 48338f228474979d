//! Failed work: what a report lists, and what a failure triggers.

use std::any::Any;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::Instant;

use super::path::GuardLabel;

/// What a failure in a subsystem's work triggers. Set per subsystem with
/// [`Shutdown::on_failure`](super::Shutdown::on_failure); a child copies its
/// parent's policy when it is made.
///
/// Whatever the policy, the failure is recorded and listed by every
/// [`DrainReport`](super::DrainReport) of the subsystem or an ancestor.
///
/// Choose it where the work runs: a request handler that panics drops its
/// guard while unwinding, and under the default policy that shuts the whole
/// service down. For per-request or per-connection subsystems, set
/// [`ShutdownSubsystem`](OnFailure::ShutdownSubsystem) or
/// [`Record`](OnFailure::Record) on the parent *before* making the
/// children (they copy the policy when they are made).
///
/// ```
/// use ripcord::shutdown::{OnFailure, Shutdown};
///
/// let root = Shutdown::new();
/// let jobs = root.child("jobs");
/// jobs.on_failure(OnFailure::ShutdownSubsystem);
/// jobs.guard().unwrap().fail("disk full");
/// assert!(jobs.is_triggered());
/// assert!(!root.is_triggered());
/// assert_eq!(root.report().failures()[0].message(), "disk full");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OnFailure {
    /// Trigger the shutdown of the whole tree (the default): a failure
    /// propagates up to the root.
    #[default]
    ShutdownAll,
    /// Trigger the shutdown of the failed work's subsystem (and its
    /// children) only.
    ShutdownSubsystem,
    /// Only record the failure.
    Record,
}

/// How a piece of work failed.
///
/// ```
/// use ripcord::shutdown::{FailureKind, Shutdown};
///
/// let shutdown = Shutdown::new();
/// shutdown.guard().unwrap().fail("boom");
/// assert_eq!(shutdown.report().failures()[0].kind(), FailureKind::Error);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// It returned an error (or called [`ShutdownGuard::fail`](super::ShutdownGuard::fail)).
    Error,
    /// It panicked.
    Panic,
}

/// One piece of work that failed, as a [`DrainReport`](super::DrainReport)
/// lists it.
///
/// ```
/// use ripcord::shutdown::Shutdown;
///
/// let shutdown = Shutdown::new();
/// let jobs = shutdown.child("jobs");
/// jobs.guard_named("import").unwrap().fail("bad row 7");
/// let report = shutdown.report();
/// let failure = &report.failures()[0];
/// assert_eq!(failure.subsystem(), "jobs");
/// assert_eq!(failure.name(), Some("import"));
/// assert_eq!(failure.message(), "bad row 7");
/// assert_eq!(failure.to_string(), "jobs: \"import\" failed: bad row 7");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub(super) subsystem: Arc<str>,
    pub(super) name: Option<Arc<str>>,
    pub(super) site: Option<&'static Location<'static>>,
    pub(super) kind: FailureKind,
    pub(super) message: Arc<str>,
    pub(super) at: Instant,
}

impl Failure {
    /// The failed work's subsystem path (empty for the root).
    ///
    /// ```
    /// # let shutdown = ripcord::shutdown::Shutdown::new();
    /// # shutdown.child("a").child("b").guard().unwrap().fail("x");
    /// assert_eq!(shutdown.report().failures()[0].subsystem(), "a/b");
    /// ```
    pub fn subsystem(&self) -> &str {
        &self.subsystem
    }

    /// The guard's (or tracked future's) name, if it had one.
    ///
    /// ```
    /// # let shutdown = ripcord::shutdown::Shutdown::new();
    /// # shutdown.guard().unwrap().fail("x");
    /// assert_eq!(shutdown.report().failures()[0].name(), None);
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where the work came from: where a named guard was taken (or the
    /// thread spawned), where the future was tracked, or, for an unnamed
    /// guard, where [`fail`](super::ShutdownGuard::fail) was called. `None`
    /// for an unnamed guard dropped by a panic.
    ///
    /// ```
    /// # let shutdown = ripcord::shutdown::Shutdown::new();
    /// shutdown.guard().unwrap().fail("x");
    /// assert_eq!(shutdown.report().failures()[0].call_site().unwrap().line(), line!() - 1);
    /// ```
    pub fn call_site(&self) -> Option<&'static Location<'static>> {
        self.site
    }

    /// Whether it returned an error or panicked.
    ///
    /// ```
    /// # let shutdown = ripcord::shutdown::Shutdown::new();
    /// # shutdown.guard().unwrap().fail("x");
    /// assert_eq!(shutdown.report().failures()[0].kind(), ripcord::shutdown::FailureKind::Error);
    /// ```
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// The error's `Display`, or the panic's message (`"panicked"` when the
    /// payload is not a string).
    ///
    /// ```
    /// # let shutdown = ripcord::shutdown::Shutdown::new();
    /// # shutdown.guard().unwrap().fail("disk full");
    /// assert_eq!(shutdown.report().failures()[0].message(), "disk full");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// When it failed.
    ///
    /// ```
    /// # let shutdown = ripcord::shutdown::Shutdown::new();
    /// # shutdown.guard().unwrap().fail("x");
    /// assert!(shutdown.report().failures()[0].at() <= std::time::Instant::now());
    /// ```
    pub fn at(&self) -> Instant {
        self.at
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            super::path::display_path(&self.subsystem),
            GuardLabel(self.name.as_deref(), self.site)
        )?;
        match self.kind {
            FailureKind::Error => write!(f, " failed: {}", self.message),
            FailureKind::Panic => write!(f, " panicked: {}", self.message),
        }
    }
}

/// The message of a panic payload: the `&str` or `String` that `panic!`
/// formats, or a placeholder.
pub(super) fn panic_message(payload: &(dyn Any + Send)) -> Arc<str> {
    if let Some(text) = payload.downcast_ref::<&str>() {
        Arc::from(*text)
    } else if let Some(text) = payload.downcast_ref::<String>() {
        Arc::from(text.as_str())
    } else {
        Arc::from("panicked")
    }
}

/// The reason a failure-triggered shutdown's tokens report.
///
/// ```
/// use ripcord::shutdown::{FailureReason, Shutdown};
///
/// let shutdown = Shutdown::new();
/// let token = shutdown.token();
/// shutdown.child("db").guard_named("pool").unwrap().fail("connection lost");
/// let reason = token.reason().unwrap();
/// assert_eq!(reason.to_string(), "db: \"pool\" failed: connection lost");
/// assert!(reason.downcast_ref::<FailureReason>().is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureReason(pub(super) Failure);

impl FailureReason {
    /// The failure that triggered the shutdown.
    ///
    /// ```
    /// # use ripcord::shutdown::{FailureReason, Shutdown};
    /// # let shutdown = Shutdown::new();
    /// # let token = shutdown.token();
    /// # shutdown.guard().unwrap().fail("x");
    /// let reason = token.reason().unwrap();
    /// assert_eq!(reason.downcast_ref::<FailureReason>().unwrap().failure().message(), "x");
    /// ```
    pub fn failure(&self) -> &Failure {
        &self.0
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
