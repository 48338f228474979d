//! Why a token was cancelled.

use core::any::Any;
use core::fmt;
use std::sync::Arc;

/// Why a [`CancellationToken`](crate::CancellationToken) was cancelled.
///
/// Cheap to clone (a custom reason is shared through an `Arc`). Children report
/// the reason of the ancestor whose cancellation reached them.
///
/// Equality compares [`Cancelled`](CancelReason::Cancelled) and
/// [`DeadlineExceeded`](CancelReason::DeadlineExceeded) by kind, and two custom
/// reasons by identity (the same `CancelReason::custom` call, possibly cloned).
///
/// # Examples
///
/// ```
/// use ripcord::CancelReason;
///
/// let reason = CancelReason::custom("disk full");
/// assert_eq!(reason.to_string(), "disk full");
/// assert_eq!(reason.downcast_ref::<&str>(), Some(&"disk full"));
/// assert_eq!(reason.clone(), reason);
/// assert_ne!(reason, CancelReason::Cancelled);
/// assert_eq!(CancelReason::DeadlineExceeded.to_string(), "deadline exceeded");
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum CancelReason {
    /// Cancelled explicitly, with `cancel()`.
    Cancelled,
    /// A deadline set with `cancel_after` / `cancel_at` (or inherited) passed.
    DeadlineExceeded,
    /// A value given by the application, see [`CancelReason::custom`].
    Custom(CustomReason),
}

impl CancelReason {
    /// Wraps an application value as a reason.
    ///
    /// Its `Display` becomes the reason's; get it back with
    /// [`downcast_ref`](CancelReason::downcast_ref).
    ///
    /// ```
    /// use ripcord::CancelReason;
    ///
    /// #[derive(Debug)]
    /// struct Shutdown { code: i32 }
    /// impl std::fmt::Display for Shutdown {
    ///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    ///         write!(f, "shutting down with code {}", self.code)
    ///     }
    /// }
    ///
    /// let reason = CancelReason::custom(Shutdown { code: 3 });
    /// assert_eq!(reason.downcast_ref::<Shutdown>().unwrap().code, 3);
    /// assert_eq!(reason.to_string(), "shutting down with code 3");
    /// ```
    pub fn custom<V>(value: V) -> Self
    where
        V: fmt::Display + fmt::Debug + Send + Sync + 'static,
    {
        CancelReason::Custom(CustomReason(Arc::new(value)))
    }

    /// The custom value, if this is a custom reason holding a `V`.
    ///
    /// ```
    /// use ripcord::CancelReason;
    ///
    /// let reason = CancelReason::custom(404_u16);
    /// assert_eq!(reason.downcast_ref::<u16>(), Some(&404));
    /// assert_eq!(reason.downcast_ref::<u32>(), None);
    /// assert_eq!(CancelReason::Cancelled.downcast_ref::<u16>(), None);
    /// ```
    pub fn downcast_ref<V: Any>(&self) -> Option<&V> {
        match self {
            CancelReason::Custom(custom) => custom.downcast_ref(),
            _ => None,
        }
    }

    /// Whether the reason is a passed deadline.
    ///
    /// ```
    /// assert!(ripcord::CancelReason::DeadlineExceeded.is_deadline_exceeded());
    /// ```
    pub fn is_deadline_exceeded(&self) -> bool {
        matches!(self, CancelReason::DeadlineExceeded)
    }
}

impl PartialEq for CancelReason {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (CancelReason::Cancelled, CancelReason::Cancelled) => true,
            (CancelReason::DeadlineExceeded, CancelReason::DeadlineExceeded) => true,
            (CancelReason::Custom(a), CancelReason::Custom(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for CancelReason {}

impl fmt::Display for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancelReason::Cancelled => f.write_str("cancelled"),
            CancelReason::DeadlineExceeded => f.write_str("deadline exceeded"),
            CancelReason::Custom(custom) => fmt::Display::fmt(custom, f),
        }
    }
}

impl fmt::Debug for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancelReason::Cancelled => f.write_str("Cancelled"),
            CancelReason::DeadlineExceeded => f.write_str("DeadlineExceeded"),
            CancelReason::Custom(custom) => f.debug_tuple("Custom").field(custom).finish(),
        }
    }
}

/// An application-defined reason, shared by every clone of the
/// [`CancelReason`] that holds it. Made by [`CancelReason::custom`].
///
/// ```
/// use ripcord::CancelReason;
///
/// if let CancelReason::Custom(custom) = CancelReason::custom("maintenance") {
///     assert_eq!(custom.to_string(), "maintenance");
///     assert_eq!(format!("{custom:?}"), "\"maintenance\"");
/// }
/// ```
#[derive(Clone)]
pub struct CustomReason(Arc<dyn ReasonValue>);

impl CustomReason {
    /// The value, if it is a `V`.
    ///
    /// ```
    /// use ripcord::CancelReason;
    ///
    /// if let CancelReason::Custom(custom) = CancelReason::custom(7_i64) {
    ///     assert_eq!(custom.downcast_ref::<i64>(), Some(&7));
    /// }
    /// ```
    pub fn downcast_ref<V: Any>(&self) -> Option<&V> {
        // Call through the `dyn` (the `Arc` itself would also match the blanket impl).
        ReasonValue::as_any(&*self.0).downcast_ref()
    }
}

impl PartialEq for CustomReason {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for CustomReason {}

impl fmt::Display for CustomReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl fmt::Debug for CustomReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// What a custom reason value must be; implemented for every suitable type.
trait ReasonValue: fmt::Display + fmt::Debug + Send + Sync + 'static {
    fn as_any(&self) -> &dyn Any;
}

impl<V: fmt::Display + fmt::Debug + Send + Sync + 'static> ReasonValue for V {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A custom reason from a message.
///
/// ```
/// use ripcord::CancelReason;
/// let reason = CancelReason::from("shutting down");
/// assert_eq!(reason.to_string(), "shutting down");
/// assert_eq!(reason.downcast_ref::<&str>(), Some(&"shutting down"));
/// ```
impl From<&'static str> for CancelReason {
    fn from(message: &'static str) -> Self {
        CancelReason::custom(message)
    }
}

/// A custom reason from a message.
///
/// ```
/// use ripcord::{CancelReason, CancellationToken};
/// let token = CancellationToken::new();
/// token.cancel_with(format!("request {} timed out", 7).into());
/// assert_eq!(token.reason().unwrap().to_string(), "request 7 timed out");
/// ```
impl From<String> for CancelReason {
    fn from(message: String) -> Self {
        CancelReason::custom(message)
    }
}
