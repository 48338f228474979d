//! The errors of the shutdown module. (A timed-out drain answers with a
//! [`DrainReport`](super::DrainReport): a report of what is still running,
//! defined with the report in `report.rs`.)

use core::fmt;

/// A guard was asked for after the drain was over.
///
/// ```
/// let shutdown = ripcord::shutdown::Shutdown::new();
/// shutdown.trigger();
/// let err = shutdown.guard().unwrap_err();
/// assert_eq!(err.to_string(), "shutdown already drained: no new work is accepted");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AlreadyDrained(());

impl AlreadyDrained {
    pub(crate) fn new() -> Self {
        AlreadyDrained(())
    }
}

impl fmt::Display for AlreadyDrained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("shutdown already drained: no new work is accepted")
    }
}

impl std::error::Error for AlreadyDrained {}

/// Why [`Shutdown::after`](super::Shutdown::after) refused a phase order.
///
/// ```
/// use ripcord::shutdown::{PhaseError, Shutdown};
///
/// let root = Shutdown::new();
/// let (http, db) = (root.child("http"), root.child("db"));
/// db.after(&[&http]).unwrap();
/// let err = http.after(&[&db]).unwrap_err();
/// assert!(matches!(err, PhaseError::Cycle { .. }));
/// assert_eq!(err.to_string(), "phase cycle: \"http\" cannot wait for \"db\", which already waits for it");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PhaseError {
    /// The order would make a subsystem wait for itself: directly, through
    /// other phases, or through the tree (a parent is drained only after its
    /// children, and a child starts only after its parent).
    Cycle {
        /// The subsystem that was to wait.
        subsystem: String,
        /// The one it was to wait for.
        waits_for: String,
    },
    /// The two subsystems belong to different trees (different
    /// [`Shutdown::new`](super::Shutdown::new) roots).
    OtherTree,
    /// The subsystem has already started shutting down: too late to order it.
    AlreadyStarted,
}

impl fmt::Display for PhaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhaseError::Cycle {
                subsystem,
                waits_for,
            } => write!(
                f,
                "phase cycle: {subsystem:?} cannot wait for {waits_for:?}, which already waits for it"
            ),
            PhaseError::OtherTree => f.write_str("phase order across two shutdown trees"),
            PhaseError::AlreadyStarted => {
                f.write_str("subsystem already shutting down: too late to order its phase")
            }
        }
    }
}

impl std::error::Error for PhaseError {}
