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
