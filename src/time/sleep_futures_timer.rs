//! [`FuturesTimerSleeper`]: the futures-timer crate's timer.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::Sleeper;
use super::sleeper::{Arm, LazySleep};

/// Sleeps on `futures_timer::Delay`.
///
/// futures-timer runs one helper thread of its own, started on first use, so
/// this sleeper works under any executor (`futures::executor`, pollster, ...)
/// or none. Prefer the timer of the runtime you already run when there is one.
///
/// A zero-sized unit type; no deadline makes it panic. (futures-timer itself
/// panics with "timer has gone away" if its helper thread could not be
/// started or has shut down; ripcord cannot prevent that.)
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ripcord::{oneshot, time::FuturesTimerSleeper, Elapsed, FutureExt};
///
/// let (_tx, rx) = oneshot::channel::<u8>();
/// let got = futures::executor::block_on(rx.timeout(&FuturesTimerSleeper, Duration::from_millis(5)));
/// assert_eq!(got, Err(Elapsed::new()));
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "futures-timer")))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FuturesTimerSleeper;

pin_project! {
    /// The sleep made by [`FuturesTimerSleeper`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use ripcord::time::{FuturesTimerSleeper, Sleeper};
    ///
    /// let sleep: ripcord::time::FuturesTimerSleep = FuturesTimerSleeper.sleep(Duration::from_millis(1));
    /// futures::executor::block_on(sleep);
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "futures-timer")))]
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct FuturesTimerSleep {
        #[pin]
        inner: LazySleep<futures_timer::Delay>,
    }
}

impl Arm for futures_timer::Delay {
    fn arm(deadline: Instant, now: Instant) -> Self {
        // futures-timer takes durations only; `deadline > now` here.
        futures_timer::Delay::new(deadline.saturating_duration_since(now))
    }
}

impl Sleeper for FuturesTimerSleeper {
    type Sleep = FuturesTimerSleep;

    fn sleep(&self, duration: Duration) -> FuturesTimerSleep {
        FuturesTimerSleep {
            inner: LazySleep::after(duration),
        }
    }

    fn sleep_until(&self, deadline: Instant) -> FuturesTimerSleep {
        FuturesTimerSleep {
            inner: LazySleep::until(deadline),
        }
    }
}

impl Future for FuturesTimerSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll_sleep(cx)
    }
}
