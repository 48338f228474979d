//! Cancel on drop.

use super::CancellationToken;

/// Cancels its token when dropped, unless [`disarm`](Self::disarm)ed. Made by
/// [`CancellationToken::drop_guard`].
///
/// Handy to cancel a subtree of work when a scope exits, by return or by panic.
///
/// ```
/// let token = ripcord::CancellationToken::new();
/// let guard = token.clone().drop_guard();
/// drop(guard);
/// assert!(token.is_cancelled());
/// ```
#[derive(Debug)]
#[must_use = "dropping the guard cancels the token at once"]
pub struct DropGuard {
    token: Option<CancellationToken>,
}

impl DropGuard {
    pub(crate) fn new(token: CancellationToken) -> Self {
        DropGuard { token: Some(token) }
    }

    /// Gives the token back without cancelling it.
    ///
    /// ```
    /// let token = ripcord::CancellationToken::new();
    /// let back = token.clone().drop_guard().disarm();
    /// assert!(!token.is_cancelled());
    /// assert_eq!(back, token);
    /// ```
    pub fn disarm(mut self) -> CancellationToken {
        self.token
            .take()
            .expect("a guard holds its token until dropped")
    }

    /// The guarded token.
    ///
    /// ```
    /// let guard = ripcord::CancellationToken::new().drop_guard();
    /// assert!(!guard.token().is_cancelled());
    /// ```
    pub fn token(&self) -> &CancellationToken {
        self.token
            .as_ref()
            .expect("a guard holds its token until dropped")
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            token.cancel();
        }
    }
}
