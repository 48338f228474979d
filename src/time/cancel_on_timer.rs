//! A token's deadline driven by the application's own runtime timer.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::Sleeper;
use crate::cancel::CancelledOwned;
use crate::{CancelReason, CancellationToken};

/// A future that cancels `token` with [`CancelReason::DeadlineExceeded`]
/// after `timeout`, measured by `sleeper`: the application's own runtime
/// timer. Spawn it on that runtime.
///
/// This is the alternative to [`CancellationToken::cancel_after`] for
/// applications that want every timer on their own runtime. The two differ:
///
/// | | [`cancel_after`](CancellationToken::cancel_after) | `cancel_on_timer` |
/// |---|---|---|
/// | timer | ripcord's shared timer thread | yours (`sleeper`), in a future you spawn |
/// | sets [`deadline`](CancellationToken::deadline) | yes | no (the deadline lives in your task) |
/// | callbacks run on | ripcord's helper threads | the task that polls this future |
///
/// The future finishes early, without cancelling anything, if the token is
/// cancelled some other way first, so a spawned task never outlives its
/// purpose. Dropping it drops the timer.
///
/// Bad input follows the sleeper: with ripcord's sleepers a zero timeout
/// cancels at the first poll and `Duration::MAX` never does.
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use std::time::Duration;
/// use ripcord::{CancellationToken, time::{cancel_on_timer, TokioSleeper}};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let token = CancellationToken::new();
/// tokio::spawn(cancel_on_timer(&token, &TokioSleeper, Duration::from_millis(5)));
/// token.cancelled().await;
/// assert!(token.reason().unwrap().is_deadline_exceeded());
/// # });
/// # }
/// ```
pub fn cancel_on_timer<S: Sleeper + ?Sized>(
    token: &CancellationToken,
    sleeper: &S,
    timeout: Duration,
) -> CancelOnTimer<S::Sleep> {
    CancelOnTimer::new(token.clone(), sleeper.sleep(timeout))
}

/// Like [`cancel_on_timer`], with an instant instead of a duration. A deadline
/// in the past cancels at the first poll.
///
/// ```
/// use std::time::{Duration, Instant};
/// use ripcord::{CancellationToken, time::cancel_on_timer_at};
///
/// // Any closure returning a sleep future is a sleeper; here, a thread-free one
/// // for a deadline that has already passed.
/// let sleeper = |_d: Duration| std::future::ready(());
/// let token = CancellationToken::new();
/// futures::executor::block_on(cancel_on_timer_at(&token, &sleeper, Instant::now()));
/// assert!(token.is_cancelled());
/// ```
pub fn cancel_on_timer_at<S: Sleeper + ?Sized>(
    token: &CancellationToken,
    sleeper: &S,
    deadline: Instant,
) -> CancelOnTimer<S::Sleep> {
    CancelOnTimer::new(token.clone(), sleeper.sleep_until(deadline))
}

pin_project! {
    /// Future returned by [`cancel_on_timer`] and [`cancel_on_timer_at`]: when
    /// the sleep finishes, it cancels the token with
    /// [`CancelReason::DeadlineExceeded`].
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
    /// let timer: ripcord::time::CancelOnTimer<_> =
    ///     ripcord::time::cancel_on_timer(&token, &sleeper, Duration::ZERO);
    /// futures::executor::block_on(timer);
    /// assert!(token.reason().unwrap().is_deadline_exceeded());
    /// ```
    #[must_use = "futures do nothing unless polled: spawn it on your runtime"]
    pub struct CancelOnTimer<Z> {
        #[pin]
        sleep: Z,
        #[pin]
        cancelled: CancelledOwned,
        token: CancellationToken,
        done: bool,
    }
}

impl<Z> CancelOnTimer<Z> {
    fn new(token: CancellationToken, sleep: Z) -> Self {
        CancelOnTimer {
            sleep,
            cancelled: token.clone().cancelled_owned(),
            token,
            done: false,
        }
    }
}

impl<Z: Future> Future for CancelOnTimer<Z> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(());
        }
        // Cancelled some other way: nothing left to do.
        if this.cancelled.poll(cx).is_ready() {
            *this.done = true;
            return Poll::Ready(());
        }
        if this.sleep.poll(cx).is_ready() {
            *this.done = true;
            this.token.cancel_with(CancelReason::DeadlineExceeded);
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl<Z: Future> futures_core::future::FusedFuture for CancelOnTimer<Z> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<Z> fmt::Debug for CancelOnTimer<Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelOnTimer")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}
