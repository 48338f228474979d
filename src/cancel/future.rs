//! The futures returned by `cancelled`, `cancelled_owned` and
//! `run_until_cancelled`.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use event_listener::EventListener;

use super::CancellationToken;

/// Polls until the token is cancelled: check, listen, check again, wait.
/// `listener` is kept between polls so a pending future stays registered.
fn poll_cancelled(
    token: &CancellationToken,
    listener: &mut Option<EventListener>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    loop {
        if token.is_cancelled() {
            *listener = None;
            return Poll::Ready(());
        }
        match listener {
            None => match token.node.listen() {
                Some(l) => *listener = Some(l),
                None => return Poll::Ready(()),
            },
            Some(l) => match Pin::new(l).poll(cx) {
                Poll::Ready(()) => *listener = None,
                Poll::Pending => return Poll::Pending,
            },
        }
    }
}

/// The future returned by [`CancellationToken::cancelled`]: resolves once the
/// token is cancelled.
///
/// **Naming:** this is `ripcord::cancel::Cancelled<'a>`, a *future*. The crate
/// root's [`ripcord::Cancelled`](crate::Cancelled) is a different type, the
/// *error* returned by [`CancellationToken::run_until_cancelled`].
///
/// Cancel-safe: dropping it deregisters its waker. Polling it again after it
/// completed returns `Ready` again.
///
/// ```
/// use ripcord::CancellationToken;
///
/// let token = CancellationToken::new();
/// token.cancel();
/// let fut: ripcord::cancel::Cancelled<'_> = token.cancelled();
/// futures::executor::block_on(fut);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Cancelled<'a> {
    token: &'a CancellationToken,
    listener: Option<EventListener>,
}

impl<'a> Cancelled<'a> {
    pub(crate) fn new(token: &'a CancellationToken) -> Self {
        Cancelled {
            token,
            listener: None,
        }
    }
}

impl Future for Cancelled<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        poll_cancelled(this.token, &mut this.listener, cx)
    }
}

impl fmt::Debug for Cancelled<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancelled")
            .field("token", self.token)
            .finish_non_exhaustive()
    }
}

/// The future returned by [`CancellationToken::cancelled_owned`]: like
/// [`Cancelled`], but owns a handle of the token, so it is `'static` and `Send`.
///
/// Not to be confused with the crate root's error type
/// [`ripcord::Cancelled`](crate::Cancelled).
///
/// ```
/// let token = ripcord::CancellationToken::new();
/// let fut: ripcord::cancel::CancelledOwned = token.clone().cancelled_owned();
/// token.cancel();
/// futures::executor::block_on(fut);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct CancelledOwned {
    token: CancellationToken,
    listener: Option<EventListener>,
}

impl CancelledOwned {
    pub(crate) fn new(token: CancellationToken) -> Self {
        CancelledOwned {
            token,
            listener: None,
        }
    }
}

impl Future for CancelledOwned {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        poll_cancelled(&this.token, &mut this.listener, cx)
    }
}

impl fmt::Debug for CancelledOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelledOwned")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

fn poll_run<F: Future>(
    token: &CancellationToken,
    listener: &mut Option<EventListener>,
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<Result<F::Output, crate::Cancelled>> {
    // The token first, on every poll: once cancelled, the work is not
    // polled again (and never started if it was cancelled before).
    if token.is_cancelled() {
        *listener = None;
        let reason = token.reason().unwrap_or(super::CancelReason::Cancelled);
        return Poll::Ready(Err(crate::Cancelled::new(reason)));
    }
    if let Poll::Ready(out) = fut.poll(cx) {
        *listener = None;
        return Poll::Ready(Ok(out));
    }
    match poll_cancelled(token, listener, cx) {
        Poll::Ready(()) => {
            let reason = token.reason().unwrap_or(super::CancelReason::Cancelled);
            Poll::Ready(Err(crate::Cancelled::new(reason)))
        }
        Poll::Pending => Poll::Pending,
    }
}

pin_project_lite::pin_project! {
    /// The future returned by [`CancellationToken::run_until_cancelled`].
    ///
    /// Output: `Ok(output)` if the inner future finished first, otherwise
    /// `Err(`[`ripcord::Cancelled`](crate::Cancelled)`)` with the token's
    /// reason. The token is checked before the inner future on every poll.
    ///
    /// ```
    /// let token = ripcord::CancellationToken::new();
    /// let fut = token.run_until_cancelled(std::future::pending::<()>());
    /// token.cancel();
    /// assert!(futures::executor::block_on(fut).is_err());
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct RunUntilCancelled<'a, F> {
        token: &'a CancellationToken,
        listener: Option<EventListener>,
        #[pin]
        fut: F,
    }
}

impl<'a, F: Future> RunUntilCancelled<'a, F> {
    pub(crate) fn new(token: &'a CancellationToken, fut: F) -> Self {
        RunUntilCancelled {
            token,
            listener: None,
            fut,
        }
    }
}

impl<F: Future> Future for RunUntilCancelled<'_, F> {
    type Output = Result<F::Output, crate::Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        poll_run(this.token, this.listener, this.fut, cx)
    }
}

impl<F> fmt::Debug for RunUntilCancelled<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunUntilCancelled")
            .field("token", self.token)
            .finish_non_exhaustive()
    }
}

pin_project_lite::pin_project! {
    /// The future returned by
    /// [`CancellationToken::run_until_cancelled_owned`]; see
    /// [`RunUntilCancelled`].
    ///
    /// ```
    /// let token = ripcord::CancellationToken::new();
    /// token.cancel();
    /// let fut = token.run_until_cancelled_owned(async { 1 });
    /// assert!(futures::executor::block_on(fut).is_err());
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct RunUntilCancelledOwned<F> {
        token: CancellationToken,
        listener: Option<EventListener>,
        #[pin]
        fut: F,
    }
}

impl<F: Future> RunUntilCancelledOwned<F> {
    pub(crate) fn new(token: CancellationToken, fut: F) -> Self {
        RunUntilCancelledOwned {
            token,
            listener: None,
            fut,
        }
    }
}

impl<F: Future> Future for RunUntilCancelledOwned<F> {
    type Output = Result<F::Output, crate::Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        poll_run(this.token, this.listener, this.fut, cx)
    }
}

impl<F> fmt::Debug for RunUntilCancelledOwned<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunUntilCancelledOwned")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}
