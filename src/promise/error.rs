//! The errors of the promise module.

use core::fmt;

/// Every [`Resolver`](super::Resolver) was dropped without resolving: no value
/// will ever come.
///
/// Returned by [`Promise::wait`](super::Promise::wait) and the
/// [`resolved`](super::Promise::resolved) future, instead of a hang.
///
/// ```
/// use ripcord::promise::{self, Abandoned};
///
/// let (resolver, promise) = promise::channel::<u32>();
/// drop(resolver);
/// assert_eq!(promise.wait(), Err(Abandoned::new()));
/// assert_eq!(Abandoned::new().to_string(), "promise abandoned: every resolver was dropped");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Abandoned(());

impl fmt::Debug for Abandoned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Abandoned")
    }
}

impl Abandoned {
    /// Makes the error (for tests and adapters).
    ///
    /// ```
    /// let _ = ripcord::promise::Abandoned::new();
    /// ```
    pub const fn new() -> Self {
        Abandoned(())
    }
}

impl fmt::Display for Abandoned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("promise abandoned: every resolver was dropped")
    }
}

impl std::error::Error for Abandoned {}

/// For `?` in functions returning `std::io::Result`: the writer went away
/// without answering, [`BrokenPipe`](std::io::ErrorKind::BrokenPipe).
///
/// ```
/// use ripcord::promise::Abandoned;
/// let err: std::io::Error = Abandoned::new().into();
/// assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
/// ```
impl From<Abandoned> for std::io::Error {
    fn from(err: Abandoned) -> Self {
        std::io::Error::new(std::io::ErrorKind::BrokenPipe, err)
    }
}

/// Why [`Promise::try_get`](super::Promise::try_get) has no value.
///
/// ```
/// use ripcord::promise::{self, TryGetError};
///
/// let (resolver, promise) = promise::channel::<u32>();
/// assert_eq!(promise.try_get(), Err(TryGetError::Pending));
/// drop(resolver);
/// assert_eq!(promise.try_get(), Err(TryGetError::Abandoned));
/// assert!(promise.try_get().unwrap_err().is_abandoned());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TryGetError {
    /// Not resolved yet; a resolver is still alive.
    Pending,
    /// Every resolver was dropped without resolving.
    Abandoned,
}

impl TryGetError {
    /// Whether the value may still come.
    ///
    /// ```
    /// assert!(ripcord::promise::TryGetError::Pending.is_pending());
    /// ```
    pub fn is_pending(&self) -> bool {
        matches!(self, TryGetError::Pending)
    }

    /// Whether it never will.
    ///
    /// ```
    /// assert!(ripcord::promise::TryGetError::Abandoned.is_abandoned());
    /// ```
    pub fn is_abandoned(&self) -> bool {
        matches!(self, TryGetError::Abandoned)
    }
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryGetError::Pending => f.write_str("promise not resolved yet"),
            TryGetError::Abandoned => fmt::Display::fmt(&Abandoned::new(), f),
        }
    }
}

impl std::error::Error for TryGetError {}

/// For `?` in functions returning `std::io::Result`: `Pending` is
/// [`WouldBlock`](std::io::ErrorKind::WouldBlock), `Abandoned`
/// [`BrokenPipe`](std::io::ErrorKind::BrokenPipe).
///
/// ```
/// use ripcord::promise::TryGetError;
/// let err: std::io::Error = TryGetError::Pending.into();
/// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
/// ```
impl From<TryGetError> for std::io::Error {
    fn from(err: TryGetError) -> Self {
        let kind = match err {
            TryGetError::Pending => std::io::ErrorKind::WouldBlock,
            TryGetError::Abandoned => std::io::ErrorKind::BrokenPipe,
        };
        std::io::Error::new(kind, err)
    }
}

/// Why a timed wait ([`Promise::wait_timeout`](super::Promise::wait_timeout),
/// [`wait_deadline`](super::Promise::wait_deadline)) returned no value.
///
/// ```
/// use std::time::Duration;
/// use ripcord::promise::{self, WaitError};
///
/// let (resolver, promise) = promise::channel::<u32>();
/// assert_eq!(promise.wait_timeout(Duration::ZERO), Err(WaitError::Timeout));
/// drop(resolver);
/// let err = promise.wait_timeout(Duration::MAX).unwrap_err();
/// assert!(err.is_abandoned() && !err.is_timeout());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitError {
    /// The time ran out first; a resolver is still alive.
    Timeout,
    /// Every resolver was dropped without resolving.
    Abandoned,
}

impl WaitError {
    /// Whether the time ran out.
    ///
    /// ```
    /// assert!(ripcord::promise::WaitError::Timeout.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, WaitError::Timeout)
    }

    /// Whether the promise was abandoned.
    ///
    /// ```
    /// assert!(ripcord::promise::WaitError::Abandoned.is_abandoned());
    /// ```
    pub fn is_abandoned(&self) -> bool {
        matches!(self, WaitError::Abandoned)
    }
}

impl From<Abandoned> for WaitError {
    fn from(_: Abandoned) -> Self {
        WaitError::Abandoned
    }
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::Timeout => f.write_str("timed out waiting for the promise"),
            WaitError::Abandoned => fmt::Display::fmt(&Abandoned::new(), f),
        }
    }
}

impl std::error::Error for WaitError {}

/// For `?` in functions returning `std::io::Result`: `Timeout` is
/// [`TimedOut`](std::io::ErrorKind::TimedOut), `Abandoned`
/// [`BrokenPipe`](std::io::ErrorKind::BrokenPipe).
///
/// ```
/// use ripcord::promise::WaitError;
/// let err: std::io::Error = WaitError::Timeout.into();
/// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
/// ```
impl From<WaitError> for std::io::Error {
    fn from(err: WaitError) -> Self {
        let kind = match err {
            WaitError::Timeout => std::io::ErrorKind::TimedOut,
            WaitError::Abandoned => std::io::ErrorKind::BrokenPipe,
        };
        std::io::Error::new(kind, err)
    }
}
