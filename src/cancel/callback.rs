//! The handles of `on_cancel` and `on_cancel_scoped` callbacks.

use core::fmt;

use super::node::NodeRef;

/// The handle of an [`on_cancel`](super::CancellationToken::on_cancel)
/// callback. Keeping it is optional: the callback stays registered until it
/// runs or the token is freed, whether or not the handle is kept.
///
/// Its one job is [`unregister`](Self::unregister). For a callback that
/// must be removed when a scope ends, use
/// [`on_cancel_scoped`](super::CancellationToken::on_cancel_scoped) and its
/// [`CallbackGuard`].
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// let token = ripcord::CancellationToken::new();
/// let ran = Arc::new(AtomicBool::new(false));
/// let r = ran.clone();
/// let handle = token.on_cancel(move |_| r.store(true, Ordering::SeqCst));
/// drop(handle); // still registered
/// token.cancel();
/// assert!(ran.load(Ordering::SeqCst));
/// ```
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

    /// Removes the callback; returns `true` if it was removed before it
    /// started (so it will never run), `false` if it already ran.
    ///
    /// # Racing the callback
    ///
    /// Like .NET's `CancellationTokenRegistration.Dispose`:
    ///
    /// - called **before** the callback started: the callback is removed and
    ///   never runs (`true`);
    /// - called **while** the callback is running on another thread: it
    ///   **blocks until the callback has returned**, so whatever the callback
    ///   uses may be freed right after (`false`);
    /// - called from inside the callback itself (same thread): returns at once
    ///   (waiting would deadlock);
    /// - called after the callback finished, or for a callback that ran
    ///   immediately because the token was already cancelled: `false` at once.
    ///
    /// Blocking: because of the second case, avoid calling it on an async
    /// executor's thread while a slow callback may be running.
    ///
    /// ```
    /// let token = ripcord::CancellationToken::new();
    /// let handle = token.on_cancel(|_| {});
    /// assert!(handle.unregister());
    /// let handle = token.on_cancel(|_| {});
    /// token.cancel();
    /// assert!(!handle.unregister());
    /// ```
    pub fn unregister(mut self) -> bool {
        match self.registration.take() {
            Some((node, id)) => node.unregister(id),
            None => false,
        }
    }
}

impl fmt::Debug for CancelCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelCallback")
            .field("may_be_registered", &self.registration.is_some())
            .finish()
    }
}

/// Keeps an [`on_cancel_scoped`](super::CancellationToken::on_cancel_scoped)
/// callback registered; dropping it unregisters the callback, with the rules
/// of [`CancelCallback::unregister`] (a drop that races the running callback
/// waits for it to return).
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// let token = ripcord::CancellationToken::new();
/// let ran = Arc::new(AtomicBool::new(false));
/// let r = ran.clone();
/// let guard = token.on_cancel_scoped(move |_| r.store(true, Ordering::SeqCst));
/// drop(guard); // unregistered
/// token.cancel();
/// assert!(!ran.load(Ordering::SeqCst));
/// ```
#[must_use = "dropping the guard unregisters the callback at once; use `on_cancel` to keep it"]
pub struct CallbackGuard {
    handle: Option<CancelCallback>,
}

impl CallbackGuard {
    pub(crate) fn new(handle: CancelCallback) -> Self {
        CallbackGuard {
            handle: Some(handle),
        }
    }

    /// Unregisters now; returns what [`CancelCallback::unregister`] returns.
    ///
    /// ```
    /// let token = ripcord::CancellationToken::new();
    /// let guard = token.on_cancel_scoped(|_| {});
    /// assert!(guard.unregister());
    /// ```
    pub fn unregister(mut self) -> bool {
        self.handle.take().is_some_and(CancelCallback::unregister)
    }

    /// Lets the callback outlive the guard: it stays registered until it runs
    /// or the token is freed, as with [`on_cancel`](super::CancellationToken::on_cancel).
    /// Returns the handle, which can still unregister it.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    ///
    /// let token = ripcord::CancellationToken::new();
    /// let ran = Arc::new(AtomicBool::new(false));
    /// let r = ran.clone();
    /// let _handle = token.on_cancel_scoped(move |_| r.store(true, Ordering::SeqCst)).into_handle();
    /// token.cancel();
    /// assert!(ran.load(Ordering::SeqCst));
    /// ```
    pub fn into_handle(mut self) -> CancelCallback {
        self.handle.take().unwrap_or_else(CancelCallback::done)
    }
}

impl Drop for CallbackGuard {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.unregister();
        }
    }
}

impl fmt::Debug for CallbackGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackGuard")
            .field("handle", &self.handle)
            .finish()
    }
}
