//! The [`Timeout`] future: a future raced against a deadline future.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::Elapsed;

pin_project! {
    /// A future with a deadline, made by
    /// [`FutureExt::timeout_with`](crate::FutureExt::timeout_with),
    /// [`timeout`](crate::FutureExt::timeout) or
    /// [`timeout_at`](crate::FutureExt::timeout_at).
    ///
    /// It resolves to `Ok(output)` if the inner future finishes first, and to
    /// `Err(`[`Elapsed`]`)` once the deadline future finishes (its own output is
    /// ignored).
    ///
    /// # Polling order
    ///
    /// Every poll polls the inner future **first**, and the deadline only if the
    /// inner future is still pending. A result that is ready is therefore never
    /// lost to a deadline that became ready at the same moment, and a zero
    /// timeout still gives an already-ready future its one chance.
    ///
    /// # Cancel safety
    ///
    /// Dropping a `Timeout` drops the inner future and the deadline, so it is
    /// exactly as cancel-safe as the inner future. To keep something usable
    /// after a timeout, time out a *borrow* of it: `(&mut rx).timeout(..)` on a
    /// [`oneshot::Receiver`](crate::oneshot::Receiver) leaves the receiver
    /// ready to be awaited again.
    ///
    /// # After completion
    ///
    /// Once it has returned `Ready`, polling it again does not panic and does
    /// not poll either future again: it returns `Ready(Err(Elapsed))` every
    /// time. (The output, if there was one, has already been handed out.)
    ///
    /// # Examples
    ///
    /// ```
    /// use ripcord::{oneshot, Elapsed, FutureExt};
    ///
    /// futures::executor::block_on(async {
    ///     // The deadline can be any future; here, a oneshot receiver.
    ///     let (stop, deadline) = oneshot::channel::<()>();
    ///     let (tx, rx) = oneshot::channel::<u32>();
    ///     drop(stop); // the deadline resolves (disconnected) right away
    ///     assert_eq!(rx.timeout_with(deadline).await, Err(Elapsed::new()));
    ///     drop(tx);
    /// });
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Timeout<F, D> {
        #[pin]
        future: F,
        #[pin]
        deadline: D,
        done: bool,
    }
}

impl<F, D> Timeout<F, D> {
    /// Pairs `future` with `deadline`. Same as
    /// [`FutureExt::timeout_with`](crate::FutureExt::timeout_with).
    ///
    /// ```
    /// use core::future::{pending, ready};
    /// use ripcord::time::Timeout;
    ///
    /// let t = Timeout::new(ready(1), pending::<()>());
    /// assert_eq!(futures::executor::block_on(t), Ok(1));
    /// ```
    pub const fn new(future: F, deadline: D) -> Self {
        Timeout {
            future,
            deadline,
            done: false,
        }
    }

    /// The inner future.
    ///
    /// ```
    /// use core::future::pending;
    /// use ripcord::{oneshot, FutureExt};
    ///
    /// let (_tx, rx) = oneshot::channel::<u8>();
    /// let t = rx.timeout_with(pending::<()>());
    /// assert!(!t.get_ref().has_message());
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The inner future, mutably.
    ///
    /// ```
    /// use core::future::pending;
    /// use ripcord::{oneshot, FutureExt};
    ///
    /// let (_tx, rx) = oneshot::channel::<u8>();
    /// let mut t = rx.timeout_with(pending::<()>());
    /// t.get_mut().close();
    /// ```
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.future
    }

    /// The inner future, pinned.
    ///
    /// ```
    /// use core::future::{pending, ready};
    /// use core::pin::pin;
    /// use ripcord::FutureExt;
    ///
    /// let mut t = pin!(ready(1).timeout_with(pending::<()>()));
    /// let _inner = t.as_mut().get_pin_mut();
    /// ```
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut F> {
        self.project().future
    }

    /// Gives the inner future back, dropping the deadline. Useful to retry
    /// with a fresh deadline an owned future that is `Unpin` (or not yet
    /// polled).
    ///
    /// ```
    /// use core::future::ready;
    /// use ripcord::{oneshot, FutureExt};
    ///
    /// let (_tx, rx) = oneshot::channel::<u8>();
    /// let t = rx.timeout_with(ready(()));
    /// let rx = t.into_inner(); // the receiver is intact
    /// assert!(!rx.is_terminated());
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future, D: Future> Future for Timeout<F, D> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if *this.done {
            // Documented: a completed `Timeout` keeps answering `Elapsed`
            // without touching futures that may not be polled again.
            return Poll::Ready(Err(Elapsed::new()));
        }
        if let Poll::Ready(output) = this.future.poll(cx) {
            *this.done = true;
            return Poll::Ready(Ok(output));
        }
        if this.deadline.poll(cx).is_ready() {
            *this.done = true;
            return Poll::Ready(Err(Elapsed::new()));
        }
        Poll::Pending
    }
}

/// Terminated once it has produced its answer (the output or `Elapsed`).
///
/// ```
/// use core::future::{pending, ready};
/// use futures::{FutureExt as _, future::FusedFuture};
/// use ripcord::FutureExt;
///
/// let mut t = ready(1).timeout_with(pending::<()>());
/// assert!(!t.is_terminated());
/// assert_eq!((&mut t).now_or_never(), Some(Ok(1)));
/// assert!(t.is_terminated());
/// ```
impl<F: Future, D: Future> futures_core::future::FusedFuture for Timeout<F, D> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<F: fmt::Debug, D: fmt::Debug> fmt::Debug for Timeout<F, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("future", &self.future)
            .field("deadline", &self.deadline)
            .field("done", &self.done)
            .finish()
    }
}
