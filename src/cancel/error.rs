//! The cancellation error.

use core::fmt;

use super::CancelReason;

/// The operation was stopped by a cancelled
/// [`CancellationToken`](crate::CancellationToken); carries the token's
/// [`CancelReason`].
///
/// Returned by [`CancellationToken::run_until_cancelled`](crate::CancellationToken::run_until_cancelled)
/// and [`FutureExt::with_cancellation`](crate::FutureExt::with_cancellation).
/// (The *future* that waits for a cancellation is
/// [`cancel::Cancelled`](crate::cancel::Cancelled), named after the method
/// [`cancelled`](crate::CancellationToken::cancelled) that returns it.)
///
/// Its `Display` reads as a sentence: `"cancelled"` for a plain
/// [`cancel`](crate::CancellationToken::cancel), `"deadline exceeded"` for a
/// deadline, `"cancelled: {reason}"` for a reason of yours.
///
/// # Examples
///
/// ```
/// use ripcord::{CancelReason, CancelledError};
///
/// assert_eq!(CancelledError::new(CancelReason::Cancelled).to_string(), "cancelled");
/// assert_eq!(CancelledError::new(CancelReason::DeadlineExceeded).to_string(), "deadline exceeded");
/// let err = CancelledError::new("shutting down".into());
/// assert_eq!(err.to_string(), "cancelled: shutting down");
/// assert_eq!(err.reason().to_string(), "shutting down");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelledError {
    reason: CancelReason,
}

impl CancelledError {
    /// Wraps a reason.
    ///
    /// ```
    /// use ripcord::{CancelReason, CancelledError};
    /// let err = CancelledError::new(CancelReason::DeadlineExceeded);
    /// assert!(err.reason().is_deadline_exceeded());
    /// ```
    pub fn new(reason: CancelReason) -> Self {
        CancelledError { reason }
    }

    /// Why the token was cancelled.
    ///
    /// ```
    /// use ripcord::{CancelReason, CancelledError};
    /// let err = CancelledError::new(CancelReason::custom("bye"));
    /// assert_eq!(err.reason().to_string(), "bye");
    /// ```
    pub fn reason(&self) -> &CancelReason {
        &self.reason
    }

    /// Takes the reason out.
    ///
    /// ```
    /// use ripcord::{CancelReason, CancelledError};
    /// assert!(CancelledError::new(CancelReason::DeadlineExceeded).into_reason().is_deadline_exceeded());
    /// ```
    pub fn into_reason(self) -> CancelReason {
        self.reason
    }

    /// Whether a deadline caused it (the reason is
    /// [`DeadlineExceeded`](CancelReason::DeadlineExceeded)).
    ///
    /// ```
    /// use ripcord::{CancelReason, CancelledError};
    /// assert!(CancelledError::new(CancelReason::DeadlineExceeded).is_deadline_exceeded());
    /// assert!(!CancelledError::new(CancelReason::Cancelled).is_deadline_exceeded());
    /// ```
    pub fn is_deadline_exceeded(&self) -> bool {
        self.reason.is_deadline_exceeded()
    }
}

impl fmt::Display for CancelledError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            CancelReason::Cancelled | CancelReason::DeadlineExceeded => {
                fmt::Display::fmt(&self.reason, f)
            }
            custom => write!(f, "cancelled: {custom}"),
        }
    }
}

impl std::error::Error for CancelledError {}

/// For `?` in functions returning `std::io::Result`: the work was stopped
/// from outside, [`Interrupted`](std::io::ErrorKind::Interrupted), or
/// [`TimedOut`](std::io::ErrorKind::TimedOut) when a deadline stopped it. The
/// error itself (with its reason) stays reachable through `get_ref`.
///
/// ```
/// use std::io::ErrorKind;
/// use ripcord::{CancelReason, CancelledError};
///
/// let err: std::io::Error = CancelledError::new(CancelReason::custom("bye")).into();
/// assert_eq!(err.kind(), ErrorKind::Interrupted);
/// let inner = err.get_ref().unwrap().downcast_ref::<CancelledError>().unwrap();
/// assert_eq!(inner.reason().to_string(), "bye");
///
/// let err: std::io::Error = CancelledError::new(CancelReason::DeadlineExceeded).into();
/// assert_eq!(err.kind(), ErrorKind::TimedOut);
/// ```
impl From<CancelledError> for std::io::Error {
    fn from(err: CancelledError) -> Self {
        let kind = if err.is_deadline_exceeded() {
            std::io::ErrorKind::TimedOut
        } else {
            std::io::ErrorKind::Interrupted
        };
        std::io::Error::new(kind, err)
    }
}
