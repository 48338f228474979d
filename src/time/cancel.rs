//! Where timers meet cancellation tokens: a token's deadline driven by the
//! application's own runtime timer.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::Sleeper;
use crate::cancel::CancelledOwned;
use crate::{CancelReason, CancellationToken};

impl CancellationToken {
    /// A future that cancels this token with
    /// [`CancelReason::DeadlineExceeded`] after `timeout`, measured by
    /// `sleeper` — the application's own runtime timer. Spawn it on that
    /// runtime.
    ///
    /// This is the alternative to [`cancel_after`](CancellationToken::cancel_after)
    /// (which uses ripcord's shared timer thread) for applications that want
    /// every timer on their runtime. The future finishes early, without
    /// cancelling anything, if the token is cancelled some other way first, so
    /// a spawned task never outlives its purpose. It does not change
    /// [`deadline`](CancellationToken::deadline). Dropping it drops the timer.
    ///
    /// Bad input follows the sleeper: with ripcord's sleepers a zero timeout
    /// cancels at the first poll and `Duration::MAX` never does.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// use std::time::Duration;
    /// use ripcord::{CancellationToken, time::TokioSleeper};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let token = CancellationToken::new();
    /// tokio::spawn(token.cancel_after_with(&TokioSleeper, Duration::from_millis(5)));
    /// token.cancelled().await;
    /// assert!(token.reason().unwrap().is_deadline_exceeded());
    /// # });
    /// # }
    /// ```
    pub fn cancel_after_with<S: Sleeper + ?Sized>(
        &self,
        sleeper: &S,
        timeout: Duration,
    ) -> CancelAfter<S::Sleep> {
        CancelAfter::new(self.clone(), sleeper.sleep(timeout))
    }

    /// Like [`cancel_after_with`](CancellationToken::cancel_after_with), with
    /// an instant instead of a duration. A deadline in the past cancels at the
    /// first poll.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use ripcord::CancellationToken;
    ///
    /// // Any closure returning a sleep future is a sleeper; here, a thread-free one
    /// // for a deadline that has already passed.
    /// let sleeper = |_d: Duration| std::future::ready(());
    /// let token = CancellationToken::new();
    /// futures::executor::block_on(token.cancel_at_with(&sleeper, Instant::now()));
    /// assert!(token.is_cancelled());
    /// ```
    pub fn cancel_at_with<S: Sleeper + ?Sized>(
        &self,
        sleeper: &S,
        deadline: Instant,
    ) -> CancelAfter<S::Sleep> {
        CancelAfter::new(self.clone(), sleeper.sleep_until(deadline))
    }
}

pin_project! {
    /// Future returned by [`CancellationToken::cancel_after_with`] and
    /// [`cancel_at_with`](CancellationToken::cancel_at_with): when the sleep
    /// finishes, it cancels the token with [`CancelReason::DeadlineExceeded`].
    ///
    /// Resolves as soon as the token is cancelled, by this future or otherwise.
    /// It is `Send` and `'static` whenever the sleep future is.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ripcord::CancellationToken;
    ///
    /// let token = CancellationToken::new();
    /// let sleeper = |d: Duration| async move { std::thread::sleep(d) };
    /// let timer: ripcord::time::CancelAfter<_> = token.cancel_after_with(&sleeper, Duration::ZERO);
    /// futures::executor::block_on(timer);
    /// assert!(token.reason().unwrap().is_deadline_exceeded());
    /// ```
    #[must_use = "futures do nothing unless polled: spawn it on your runtime"]
    pub struct CancelAfter<Z> {
        #[pin]
        sleep: Z,
        #[pin]
        cancelled: CancelledOwned,
        token: CancellationToken,
    }
}

impl<Z> CancelAfter<Z> {
    fn new(token: CancellationToken, sleep: Z) -> Self {
        CancelAfter {
            sleep,
            cancelled: token.clone().cancelled_owned(),
            token,
        }
    }
}

impl<Z: Future> Future for CancelAfter<Z> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        // Cancelled some other way: nothing left to do.
        if this.cancelled.poll(cx).is_ready() {
            return Poll::Ready(());
        }
        if this.sleep.poll(cx).is_ready() {
            this.token.cancel_with(CancelReason::DeadlineExceeded);
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl<Z> fmt::Debug for CancelAfter<Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelAfter")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}
