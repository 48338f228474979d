//! [`TokioSleeper`]: tokio's timer.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::Sleeper;
use super::sleeper::{Arm, LazySleep};

/// Sleeps on tokio's timer (`tokio::time::sleep_until`).
///
/// A zero-sized unit type: pass `&TokioSleeper` to
/// [`FutureExt::timeout`](crate::FutureExt::timeout) and friends.
///
/// # Panics
///
/// Like every tokio timer, its sleep must be **polled** inside a tokio runtime
/// with timers enabled (`enable_time()` / `enable_all()`), or tokio panics
/// (it also panics if the runtime has been shut down).
/// Creating the timeout outside the runtime is fine: the tokio timer is made
/// at the first poll. A deadline that has already passed, `Duration::MAX`, and
/// deadlines more than about 30 years away never reach tokio, so they do not
/// need a runtime.
///
/// # Paused clocks
///
/// Durations are measured on tokio's clock, so in tests with
/// `tokio::time::pause()` or `start_paused(true)` a timeout behaves like
/// `tokio::time::timeout`: it follows virtual time and auto-advance.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ripcord::{oneshot, time::TokioSleeper, FutureExt};
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() {
///     let (tx, rx) = oneshot::channel();
///     tokio::spawn(async move { tx.send(42).unwrap() });
///     let got = rx.timeout(&TokioSleeper, Duration::from_secs(5)).await;
///     assert_eq!(got, Ok(Ok(42)));
/// }
/// # main();
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TokioSleeper;

pin_project! {
    /// The sleep made by [`TokioSleeper`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use ripcord::time::{Sleeper, TokioSleeper};
    ///
    /// let sleep: ripcord::time::TokioSleep = TokioSleeper.sleep(Duration::ZERO);
    /// // Already due: ready at the first poll, even outside a runtime.
    /// futures::executor::block_on(sleep);
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct TokioSleep {
        #[pin]
        inner: LazySleep<tokio::time::Sleep>,
    }
}

impl Arm for tokio::time::Sleep {
    /// tokio's clock: the same as `Instant::now()` unless the runtime's clock
    /// is paused (`tokio::time::pause`, `start_paused`), in which case
    /// durations are measured in tokio's virtual time, like `tokio::time::sleep`.
    fn now() -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn arm(deadline: Instant, _now: Instant) -> Self {
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline))
    }
}

impl Sleeper for TokioSleeper {
    type Sleep = TokioSleep;

    fn sleep(&self, duration: Duration) -> TokioSleep {
        TokioSleep {
            inner: LazySleep::after(duration),
        }
    }

    fn sleep_until(&self, deadline: Instant) -> TokioSleep {
        TokioSleep {
            inner: LazySleep::until(deadline),
        }
    }
}

impl Future for TokioSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll_sleep(cx)
    }
}
