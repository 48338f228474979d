//! The one error shared across the crate: a timed wait or a timeout ran out.
//!
//! It lives below every primitive so that each of them (and the `time`
//! adapters above them) can return it without importing one another.

use core::fmt;

/// A deadline passed before the awaited event happened.
///
/// Returned by every timed wait that has nothing else to report
/// ([`CancellationToken::wait_timeout`](crate::CancellationToken::wait_timeout),
/// [`Sender::wait_closed_timeout`](crate::oneshot::Sender::wait_closed_timeout),
/// their `_deadline` forms) and by the [`time`](crate::time) adapters'
/// timeouts ([`FutureExt::timeout`](crate::FutureExt::timeout) and friends).
///
/// # Examples
///
/// ```
/// use ripcord::Elapsed;
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
