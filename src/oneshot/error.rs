//! The errors oneshot operations return.

use core::fmt;

/// The value could not be sent because the receiver was dropped or closed.
///
/// The value comes back inside the error, so nothing is lost.
///
/// # Examples
///
/// ```
/// let (tx, rx) = ripcord::oneshot::channel();
/// drop(rx);
/// let err = tx.send(String::from("report")).unwrap_err();
/// assert_eq!(err.to_string(), "sending on a closed oneshot channel");
/// assert_eq!(err.into_inner(), "report");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// Returns the value that could not be sent.
    ///
    /// ```
    /// let (tx, rx) = ripcord::oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(7).unwrap_err().into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError { .. }")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a closed oneshot channel")
    }
}

impl<T> core::error::Error for SendError<T> {}

/// No value will ever arrive: the sender was dropped without sending, the
/// receiver was closed before a value was sent, or the value was already
/// received.
///
/// # Examples
///
/// ```
/// use ripcord::oneshot::{self, RecvError};
///
/// let (tx, rx) = oneshot::channel::<u32>();
/// drop(tx);
/// assert_eq!(rx.recv(), Err(RecvError));
/// assert_eq!(RecvError.to_string(), "receiving on a closed oneshot channel");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on a closed oneshot channel")
    }
}

impl core::error::Error for RecvError {}

/// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
///
/// # Examples
///
/// ```
/// use ripcord::oneshot::{self, TryRecvError};
///
/// let (tx, mut rx) = oneshot::channel::<u32>();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TryRecvError {
    /// No value yet, but the sender may still send one.
    Empty,
    /// No value will ever arrive (see [`RecvError`]).
    Disconnected,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving on an empty oneshot channel"),
            TryRecvError::Disconnected => f.write_str("receiving on a closed oneshot channel"),
        }
    }
}

impl core::error::Error for TryRecvError {}

impl TryRecvError {
    /// Whether no value has arrived yet (the sender may still send one).
    ///
    /// ```
    /// let (_tx, mut rx) = ripcord::oneshot::channel::<u8>();
    /// assert!(rx.try_recv().unwrap_err().is_empty());
    /// ```
    pub const fn is_empty(&self) -> bool {
        matches!(self, TryRecvError::Empty)
    }

    /// Whether no value will ever arrive.
    ///
    /// ```
    /// let (tx, mut rx) = ripcord::oneshot::channel::<u8>();
    /// drop(tx);
    /// assert!(rx.try_recv().unwrap_err().is_disconnected());
    /// ```
    pub const fn is_disconnected(&self) -> bool {
        matches!(self, TryRecvError::Disconnected)
    }
}

impl From<RecvError> for TryRecvError {
    /// ```
    /// use ripcord::oneshot::{RecvError, TryRecvError};
    /// assert_eq!(TryRecvError::from(RecvError), TryRecvError::Disconnected);
    /// ```
    fn from(_: RecvError) -> Self {
        TryRecvError::Disconnected
    }
}

/// Why [`Receiver::recv_timeout`](super::Receiver::recv_timeout) or
/// [`recv_deadline`](super::Receiver::recv_deadline) returned no value.
///
/// # Examples
///
/// ```
/// use ripcord::oneshot::{self, RecvTimeoutError};
/// use std::time::Duration;
///
/// let (tx, mut rx) = oneshot::channel::<u32>();
/// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
/// drop(tx);
/// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Disconnected));
/// ```
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecvTimeoutError {
    /// The time ran out first; the receiver is still usable.
    Timeout,
    /// No value will ever arrive (see [`RecvError`]).
    Disconnected,
}

#[cfg(feature = "std")]
impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvTimeoutError::Timeout => f.write_str("timed out waiting on a oneshot channel"),
            RecvTimeoutError::Disconnected => f.write_str("receiving on a closed oneshot channel"),
        }
    }
}

#[cfg(feature = "std")]
impl core::error::Error for RecvTimeoutError {}

#[cfg(feature = "std")]
impl RecvTimeoutError {
    /// Whether the time ran out first (the receiver is still usable).
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_tx, mut rx) = ripcord::oneshot::channel::<u8>();
    /// assert!(rx.recv_timeout(Duration::ZERO).unwrap_err().is_timeout());
    /// ```
    pub const fn is_timeout(&self) -> bool {
        matches!(self, RecvTimeoutError::Timeout)
    }

    /// Whether no value will ever arrive.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, mut rx) = ripcord::oneshot::channel::<u8>();
    /// drop(tx);
    /// assert!(rx.recv_timeout(Duration::ZERO).unwrap_err().is_disconnected());
    /// ```
    pub const fn is_disconnected(&self) -> bool {
        matches!(self, RecvTimeoutError::Disconnected)
    }
}

/// For `?` in functions returning `std::io::Result`: the sender went away
/// without sending, so the value ended early: [`UnexpectedEof`](std::io::ErrorKind::UnexpectedEof).
///
/// ```
/// fn answer(rx: ripcord::oneshot::Receiver<u8>) -> std::io::Result<u8> {
///     Ok(rx.recv()?)
/// }
/// let (tx, rx) = ripcord::oneshot::channel();
/// drop(tx);
/// assert_eq!(answer(rx).unwrap_err().kind(), std::io::ErrorKind::UnexpectedEof);
/// ```
#[cfg(feature = "std")]
impl From<RecvError> for std::io::Error {
    fn from(err: RecvError) -> Self {
        std::io::Error::new(std::io::ErrorKind::UnexpectedEof, err)
    }
}

/// For `?` in functions returning `std::io::Result`: a timeout becomes
/// [`TimedOut`](std::io::ErrorKind::TimedOut), a lost sender
/// [`UnexpectedEof`](std::io::ErrorKind::UnexpectedEof) (as for [`RecvError`]).
///
/// ```
/// use std::time::Duration;
/// fn answer(rx: &mut ripcord::oneshot::Receiver<u8>) -> std::io::Result<u8> {
///     Ok(rx.recv_timeout(Duration::from_millis(1))?)
/// }
/// let (_tx, mut rx) = ripcord::oneshot::channel();
/// assert_eq!(answer(&mut rx).unwrap_err().kind(), std::io::ErrorKind::TimedOut);
/// ```
#[cfg(feature = "std")]
impl From<RecvTimeoutError> for std::io::Error {
    fn from(err: RecvTimeoutError) -> Self {
        let kind = match err {
            RecvTimeoutError::Timeout => std::io::ErrorKind::TimedOut,
            RecvTimeoutError::Disconnected => std::io::ErrorKind::UnexpectedEof,
        };
        std::io::Error::new(kind, err)
    }
}

#[cfg(feature = "std")]
impl From<RecvError> for RecvTimeoutError {
    /// ```
    /// use ripcord::oneshot::{RecvError, RecvTimeoutError};
    /// assert_eq!(RecvTimeoutError::from(RecvError), RecvTimeoutError::Disconnected);
    /// ```
    fn from(_: RecvError) -> Self {
        RecvTimeoutError::Disconnected
    }
}

/// Why [`Receiver::recv_or_cancelled`](super::Receiver::recv_or_cancelled)
/// (or its `_timeout`/`_deadline` forms) returned no value.
///
/// ```
/// use ripcord::{oneshot::{self, RecvCancelledError}, CancelReason, CancellationToken};
///
/// let token = CancellationToken::new();
/// let (_tx, mut rx) = oneshot::channel::<u8>();
/// token.cancel_with("shutting down".into());
/// let err = rx.recv_or_cancelled(&token).unwrap_err();
/// assert!(err.is_cancelled());
/// assert_eq!(err.reason().unwrap().to_string(), "shutting down");
/// assert_eq!(err.to_string(), "cancelled: shutting down");
/// ```
#[cfg(feature = "std")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecvCancelledError {
    /// The token was cancelled first; its reason.
    Cancelled(crate::CancelReason),
    /// The sender was dropped without sending (or the value was already
    /// taken, or the receiver closed).
    Disconnected,
    /// The time ran out (only the `_timeout`/`_deadline` forms).
    Timeout,
}

#[cfg(feature = "std")]
impl RecvCancelledError {
    /// Whether the token was cancelled.
    ///
    /// ```
    /// use ripcord::{oneshot::RecvCancelledError, CancelReason};
    /// assert!(RecvCancelledError::Cancelled(CancelReason::Cancelled).is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, RecvCancelledError::Cancelled(_))
    }

    /// The token's reason, if it was cancelled.
    ///
    /// ```
    /// use ripcord::{oneshot::RecvCancelledError, CancelReason};
    /// let err = RecvCancelledError::Cancelled(CancelReason::DeadlineExceeded);
    /// assert!(err.reason().unwrap().is_deadline_exceeded());
    /// assert!(RecvCancelledError::Timeout.reason().is_none());
    /// ```
    pub fn reason(&self) -> Option<&crate::CancelReason> {
        match self {
            RecvCancelledError::Cancelled(reason) => Some(reason),
            _ => None,
        }
    }

    /// Whether the sender is gone without a value.
    ///
    /// ```
    /// assert!(ripcord::oneshot::RecvCancelledError::Disconnected.is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        matches!(self, RecvCancelledError::Disconnected)
    }

    /// Whether the time ran out.
    ///
    /// ```
    /// assert!(ripcord::oneshot::RecvCancelledError::Timeout.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, RecvCancelledError::Timeout)
    }
}

#[cfg(feature = "std")]
impl fmt::Display for RecvCancelledError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvCancelledError::Cancelled(reason) => {
                fmt::Display::fmt(&crate::CancelledError::new(reason.clone()), f)
            }
            RecvCancelledError::Disconnected => fmt::Display::fmt(&RecvError, f),
            RecvCancelledError::Timeout => f.write_str("timed out waiting on a oneshot channel"),
        }
    }
}

#[cfg(feature = "std")]
impl core::error::Error for RecvCancelledError {}

/// For `?` in functions returning `std::io::Result`: `Cancelled` becomes
/// what [`CancelledError`](crate::CancelledError) becomes (`Interrupted`, or
/// `TimedOut` for a deadline), `Disconnected` is `UnexpectedEof`, `Timeout`
/// is `TimedOut`.
///
/// ```
/// use std::io::ErrorKind;
/// use ripcord::{oneshot::RecvCancelledError, CancelReason};
/// let err: std::io::Error = RecvCancelledError::Cancelled(CancelReason::Cancelled).into();
/// assert_eq!(err.kind(), ErrorKind::Interrupted);
/// let err: std::io::Error = RecvCancelledError::Disconnected.into();
/// assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
/// ```
#[cfg(feature = "std")]
impl From<RecvCancelledError> for std::io::Error {
    fn from(err: RecvCancelledError) -> Self {
        match err {
            RecvCancelledError::Cancelled(reason) => crate::CancelledError::new(reason).into(),
            RecvCancelledError::Disconnected => {
                std::io::Error::new(std::io::ErrorKind::UnexpectedEof, err)
            }
            RecvCancelledError::Timeout => std::io::Error::new(std::io::ErrorKind::TimedOut, err),
        }
    }
}
