//! The errors of the timeout and cancellation adapters.

use core::fmt;

/// A deadline passed before the future finished.
///
/// # Examples
///
/// ```
/// use ripcord::time::Elapsed;
///
/// let err = Elapsed::new();
/// assert_eq!(err.to_string(), "deadline has elapsed");
/// assert_eq!(err, err.clone());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Elapsed(());

impl fmt::Debug for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Elapsed")
    }
}

impl Elapsed {
    /// Makes the error (for adapters and tests built on ripcord's vocabulary).
    ///
    /// ```
    /// let _ = ripcord::time::Elapsed::new();
    /// ```
    pub const fn new() -> Self {
        Elapsed(())
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl core::error::Error for Elapsed {}

/// For `?` in functions returning `std::io::Result`:
/// [`TimedOut`](std::io::ErrorKind::TimedOut).
///
/// ```
/// use ripcord::time::Elapsed;
/// let err: std::io::Error = Elapsed::new().into();
/// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
/// ```
#[cfg(feature = "std")]
impl From<Elapsed> for std::io::Error {
    fn from(err: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, err)
    }
}

/// The operation was cancelled by a token; carries the token's reason.
///
/// Returned by `CancellationToken::run_until_cancelled` and
/// `FutureExt::with_cancellation`.
///
/// Not to be confused with the *future* `ripcord::cancel::Cancelled<'_>`
/// returned by `CancellationToken::cancelled`: the crate root's `Cancelled`
/// (this type) is the error.
///
/// # Examples
///
/// ```
/// use ripcord::{CancelReason, Cancelled};
///
/// let err = Cancelled::new(CancelReason::DeadlineExceeded);
/// assert_eq!(err.reason(), &CancelReason::DeadlineExceeded);
/// assert_eq!(err.to_string(), "cancelled: deadline exceeded");
/// ```
#[cfg(feature = "std")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancelled {
    reason: crate::cancel::CancelReason,
}

#[cfg(feature = "std")]
impl Cancelled {
    /// Wraps a reason.
    ///
    /// ```
    /// let err = ripcord::Cancelled::new(ripcord::CancelReason::Cancelled);
    /// assert_eq!(err.to_string(), "cancelled: cancelled");
    /// ```
    pub fn new(reason: crate::cancel::CancelReason) -> Self {
        Cancelled { reason }
    }

    /// Why the token was cancelled.
    ///
    /// ```
    /// use ripcord::{CancelReason, Cancelled};
    /// let err = Cancelled::new(CancelReason::custom("bye"));
    /// assert_eq!(err.reason().to_string(), "bye");
    /// ```
    pub fn reason(&self) -> &crate::cancel::CancelReason {
        &self.reason
    }

    /// Takes the reason out.
    ///
    /// ```
    /// use ripcord::{CancelReason, Cancelled};
    /// assert!(Cancelled::new(CancelReason::DeadlineExceeded).into_reason().is_deadline_exceeded());
    /// ```
    pub fn into_reason(self) -> crate::cancel::CancelReason {
        self.reason
    }
}

#[cfg(feature = "std")]
impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cancelled: {}", self.reason)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Cancelled {}

/// For `?` in functions returning `std::io::Result`: the work was stopped
/// from outside, [`Interrupted`](std::io::ErrorKind::Interrupted); the reason
/// stays reachable through the error's source.
///
/// ```
/// use ripcord::{CancelReason, Cancelled};
/// let err: std::io::Error = Cancelled::new(CancelReason::custom("bye")).into();
/// assert_eq!(err.kind(), std::io::ErrorKind::Interrupted);
/// let inner = err.get_ref().unwrap().downcast_ref::<Cancelled>().unwrap();
/// assert_eq!(inner.reason().to_string(), "bye");
/// ```
#[cfg(feature = "std")]
impl From<Cancelled> for std::io::Error {
    fn from(err: Cancelled) -> Self {
        std::io::Error::new(std::io::ErrorKind::Interrupted, err)
    }
}
