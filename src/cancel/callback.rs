//! The registration handle returned by `on_cancel`.

use core::fmt;

use super::node::NodeRef;

/// Keeps an [`on_cancel`](super::CancellationToken::on_cancel) callback
/// registered; dropping it unregisters the callback.
///
/// # Dropping while the callback runs
///
/// Like .NET's `CancellationTokenRegistration.Dispose`:
///
/// - dropped **before** the callback started: the callback is removed and never
///   runs;
/// - dropped **while** the callback is running on another thread: the drop
///   **blocks until the callback has returned**, so whatever the callback uses
///   may be freed right after the drop;
/// - dropped from inside the callback itself (same thread): returns at once
///   (waiting would deadlock);
/// - dropped after the callback finished, or for a callback that ran
///   immediately because the token was already cancelled: does nothing.
///
/// Blocking: because of the second case, avoid dropping it on an async
/// executor's thread while a slow callback may be running; use
/// [`forget`](Self::forget) to keep the callback registered without a handle.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// let token = ripcord::CancellationToken::new();
/// let ran = Arc::new(AtomicBool::new(false));
/// let r = ran.clone();
/// let registration = token.on_cancel(move |_| r.store(true, Ordering::SeqCst));
/// drop(registration); // unregistered
/// token.cancel();
/// assert!(!ran.load(Ordering::SeqCst));
/// ```
#[must_use = "dropping the handle unregisters the callback; call `forget` to keep it"]
pub struct CancelCallback {
    registration: Option<(NodeRef, u64)>,
}

impl CancelCallback {
    pub(crate) fn stored(node: NodeRef, id: u64) -> Self {
        CancelCallback {
            registration: Some((node, id)),
        }
    }

    pub(crate) fn done() -> Self {
        CancelCallback { registration: None }
    }

    /// Unregisters the callback; returns `true` if it was removed before it
    /// started (so it will never run), `false` if it already ran (or is
    /// running: then this waits for it to return, as described on the type).
    ///
    /// ```
    /// let token = ripcord::CancellationToken::new();
    /// let registration = token.on_cancel(|_| {});
    /// assert!(registration.unregister());
    /// let registration = token.on_cancel(|_| {});
    /// token.cancel();
    /// assert!(!registration.unregister());
    /// ```
    pub fn unregister(mut self) -> bool {
        match self.registration.take() {
            Some((node, id)) => node.unregister(id),
            None => false,
        }
    }

    /// Lets the callback stay registered for the token's lifetime, dropping
    /// only the handle (no blocking, no unregistering).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    ///
    /// let token = ripcord::CancellationToken::new();
    /// let ran = Arc::new(AtomicBool::new(false));
    /// let r = ran.clone();
    /// token.on_cancel(move |_| r.store(true, Ordering::SeqCst)).forget();
    /// token.cancel();
    /// assert!(ran.load(Ordering::SeqCst));
    /// ```
    pub fn forget(mut self) {
        self.registration = None;
    }
}

impl Drop for CancelCallback {
    fn drop(&mut self) {
        if let Some((node, id)) = self.registration.take() {
            node.unregister(id);
        }
    }
}

impl fmt::Debug for CancelCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelCallback")
            .field("registered", &self.registration.is_some())
            .finish()
    }
}
