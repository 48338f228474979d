//! [`AsyncIoSleeper`]: async-io's timer (smol, and async-std on native).

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::Sleeper;
use super::sleeper::LazySleep;

/// Sleeps on async-io's timer (`async_io::Timer`), the timer of **smol**.
///
/// async-io drives its timers from its own reactor (a helper thread when no
/// `async_io::block_on` is running), so this sleeper works under any executor:
/// smol, `futures::executor`, pollster, even tokio. It is the recommended
/// choice for async-std users too (async-std is discontinued upstream, and its
/// timer is this one).
///
/// A zero-sized unit type; never panics, whatever the deadline.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ripcord::{oneshot, time::AsyncIoSleeper, Elapsed, FutureExt};
///
/// smol::block_on(async {
///     let (_tx, rx) = oneshot::channel::<u8>();
///     let got = rx.timeout(&AsyncIoSleeper, Duration::from_millis(5)).await;
///     assert_eq!(got, Err(Elapsed::new()));
/// });
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "async-io")))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AsyncIoSleeper;

pin_project! {
    /// The sleep made by [`AsyncIoSleeper`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use ripcord::time::{AsyncIoSleeper, Sleeper};
    ///
    /// let sleep: ripcord::time::AsyncIoSleep = AsyncIoSleeper.sleep(Duration::from_millis(1));
    /// pollster::block_on(sleep);
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "async-io")))]
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct AsyncIoSleep {
        #[pin]
        inner: LazySleep<async_io::Timer>,
    }
}

impl Sleeper for AsyncIoSleeper {
    type Sleep = AsyncIoSleep;

    fn sleep(&self, duration: Duration) -> AsyncIoSleep {
        AsyncIoSleep {
            inner: LazySleep::after(duration),
        }
    }

    fn sleep_until(&self, deadline: Instant) -> AsyncIoSleep {
        AsyncIoSleep {
            inner: LazySleep::until(deadline),
        }
    }
}

impl Future for AsyncIoSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll_sleep(cx)
    }
}
