//! The futures returned by `cancelled`, `cancelled_owned` and
//! `run_until_cancelled`.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::future::FusedFuture;

use super::node::Cancellation;
use super::{CancellationToken, CancelledError};
use crate::wait::{Event, Key};

/// A future's registration with its token: kept between polls (so a pending
/// future stays registered), withdrawn on completion and on drop; `done` once
/// the future has returned `Ready` (its `FusedFuture::is_terminated`).
#[derive(Default)]
struct Registration {
    key: Option<Key>,
    done: bool,
}

impl Registration {
    /// Polls until the token is cancelled, through the waiting core.
    fn poll(&mut self, token: &CancellationToken, cx: &mut Context<'_>) -> Poll<()> {
        let poll = crate::wait::poll_event(&Cancellation(&token.node), &mut self.key, cx);
        self.done |= poll.is_ready();
        poll
    }

    /// Withdraws the registration (a dropped future must not stay listed).
    fn withdraw(&mut self, token: &CancellationToken) {
        if let Some(key) = self.key.take() {
            Cancellation(&token.node).unlisten(key);
        }
    }

    /// The future has returned `Ready`, with whatever output.
    fn finish(&mut self, token: &CancellationToken) {
        self.withdraw(token);
        self.done = true;
    }
}

/// The future returned by [`CancellationToken::cancelled`]: resolves once the
/// token is cancelled.
///
/// Named after the method that returns it (the error type is
/// [`CancelledError`](super::CancelledError)).
///
/// Cancel-safe: dropping it deregisters its waker. It is a
/// [`FusedFuture`](futures_core::future::FusedFuture), so `futures::select!`
/// takes it without `.fuse()`; polling it again after it completed returns
/// `Ready` again.
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
    registration: Registration,
}

impl<'a> Cancelled<'a> {
    pub(crate) fn new(token: &'a CancellationToken) -> Self {
        Cancelled {
            token,
            registration: Registration::default(),
        }
    }
}

impl Drop for Cancelled<'_> {
    fn drop(&mut self) {
        self.registration.withdraw(self.token);
    }
}

impl Future for Cancelled<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.registration.poll(this.token, cx)
    }
}

impl FusedFuture for Cancelled<'_> {
    fn is_terminated(&self) -> bool {
        self.registration.done
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
/// Cancel-safe and fused, like [`Cancelled`].
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
    registration: Registration,
}

impl CancelledOwned {
    pub(crate) fn new(token: CancellationToken) -> Self {
        CancelledOwned {
            token,
            registration: Registration::default(),
        }
    }
}

impl Drop for CancelledOwned {
    fn drop(&mut self) {
        self.registration.withdraw(&self.token);
    }
}

impl Future for CancelledOwned {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.registration.poll(&this.token, cx)
    }
}

impl FusedFuture for CancelledOwned {
    fn is_terminated(&self) -> bool {
        self.registration.done
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
    registration: &mut Registration,
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<Result<F::Output, CancelledError>> {
    let cancelled = || {
        let reason = token.reason().unwrap_or(super::CancelReason::Cancelled);
        Poll::Ready(Err(CancelledError::new(reason)))
    };
    // The token first, on every poll: once cancelled, the work is not
    // polled again (and never started if it was cancelled before).
    if token.is_cancelled() {
        registration.finish(token);
        return cancelled();
    }
    if let Poll::Ready(out) = fut.poll(cx) {
        registration.finish(token);
        return Poll::Ready(Ok(out));
    }
    match registration.poll(token, cx) {
        Poll::Ready(()) => cancelled(),
        Poll::Pending => Poll::Pending,
    }
}

pin_project_lite::pin_project! {
    /// The future returned by [`CancellationToken::run_until_cancelled`].
    ///
    /// Output: `Ok(output)` if the inner future finished first, otherwise
    /// `Err(`[`CancelledError`]`)` with the token's
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
        registration: Registration,
        #[pin]
        fut: F,
    }
    impl<F> PinnedDrop for RunUntilCancelled<'_, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            this.registration.withdraw(this.token);
        }
    }
}

impl<'a, F: Future> RunUntilCancelled<'a, F> {
    pub(crate) fn new(token: &'a CancellationToken, fut: F) -> Self {
        RunUntilCancelled {
            token,
            registration: Registration::default(),
            fut,
        }
    }
}

impl<F: Future> Future for RunUntilCancelled<'_, F> {
    type Output = Result<F::Output, CancelledError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        poll_run(this.token, this.registration, this.fut, cx)
    }
}

impl<F: Future> FusedFuture for RunUntilCancelled<'_, F> {
    fn is_terminated(&self) -> bool {
        self.registration.done
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
        registration: Registration,
        #[pin]
        fut: F,
    }
    impl<F> PinnedDrop for RunUntilCancelledOwned<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            this.registration.withdraw(this.token);
        }
    }
}

impl<F: Future> RunUntilCancelledOwned<F> {
    pub(crate) fn new(token: CancellationToken, fut: F) -> Self {
        RunUntilCancelledOwned {
            token,
            registration: Registration::default(),
            fut,
        }
    }
}

impl<F: Future> Future for RunUntilCancelledOwned<F> {
    type Output = Result<F::Output, CancelledError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        poll_run(this.token, this.registration, this.fut, cx)
    }
}

impl<F: Future> FusedFuture for RunUntilCancelledOwned<F> {
    fn is_terminated(&self) -> bool {
        self.registration.done
    }
}

impl<F> fmt::Debug for RunUntilCancelledOwned<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunUntilCancelledOwned")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}
