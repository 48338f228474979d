//! [`AsyncStdSleeper`]: async-std's timer.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::Sleeper;
use super::sleeper::LazySleep;

/// Sleeps on async-std's timer.
///
/// async-std is discontinued upstream; new code should prefer smol and
/// [`AsyncIoSleeper`](crate::time::AsyncIoSleeper). On native targets
/// async-std's `task::sleep` is built on async-io's `Timer`, and this type uses
/// that timer directly, so that its sleep has a name and never allocates (the
/// `async-std` feature therefore also enables the `async-io` dependency).
///
/// A zero-sized unit type; never panics, whatever the deadline.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ripcord::{oneshot, time::AsyncStdSleeper, FutureExt};
///
/// async_std::task::block_on(async {
///     let (tx, rx) = oneshot::channel();
///     async_std::task::spawn(async move { tx.send("hi").unwrap() });
///     let got = rx.timeout(&AsyncStdSleeper, Duration::from_secs(5)).await;
///     assert_eq!(got, Ok(Ok("hi")));
/// });
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "async-std")))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AsyncStdSleeper;

pin_project! {
    /// The sleep made by [`AsyncStdSleeper`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use ripcord::time::{AsyncStdSleeper, Sleeper};
    ///
    /// let sleep: ripcord::time::AsyncStdSleep = AsyncStdSleeper.sleep(Duration::from_millis(1));
    /// async_std::task::block_on(sleep);
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "async-std")))]
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct AsyncStdSleep {
        #[pin]
        inner: LazySleep<async_io::Timer>,
    }
}

impl Sleeper for AsyncStdSleeper {
    type Sleep = AsyncStdSleep;

    fn sleep(&self, duration: Duration) -> AsyncStdSleep {
        AsyncStdSleep {
            inner: LazySleep::after(duration),
        }
    }

    fn sleep_until(&self, deadline: Instant) -> AsyncStdSleep {
        AsyncStdSleep {
            inner: LazySleep::until(deadline),
        }
    }
}

impl Future for AsyncStdSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll_sleep(cx)
    }
}
