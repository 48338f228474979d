//! The [`Sleeper`] trait, its closure impl, and the lazy sleep that every
//! built-in runtime adapter shares.

use core::future::Future;
#[cfg(any(
    feature = "tokio",
    feature = "async-io",
    feature = "async-std",
    feature = "futures-timer"
))]
use core::{
    pin::Pin,
    task::{Context, Poll},
};
use std::time::{Duration, Instant};

/// A source of sleeps: the timer of whatever runtime the application runs.
///
/// ripcord's [`timeout`](crate::FutureExt::timeout) and
/// [`timeout_at`](crate::FutureExt::timeout_at) take a sleeper as a parameter
/// instead of guessing a runtime. Implementations ship for tokio
/// ([`TokioSleeper`](crate::time::TokioSleeper)), smol / async-io
/// ([`AsyncIoSleeper`](crate::time::AsyncIoSleeper)), async-std
/// ([`AsyncStdSleeper`](crate::time::AsyncStdSleeper)) and futures-timer
/// ([`FuturesTimerSleeper`](crate::time::FuturesTimerSleeper)), each behind
/// its feature; and every closure `Fn(Duration) -> impl Future<Output = ()>`
/// is a sleeper, so any other timer is one line away.
///
/// # Contract
///
/// - `sleep(d)` resolves no earlier than `d` after the call (the clock starts
///   when `sleep` is called, not at the first poll).
/// - `sleep_until(t)` resolves no earlier than `t`; a `t` in the past resolves
///   promptly.
/// - Neither panics on any input. The built-in sleepers treat a deadline that
///   is not representable (`Duration::MAX`) or more than about 30 years away
///   as "never", and one that has passed as "ready at the first poll" without
///   touching the runtime at all.
///
/// # Examples
///
/// A closure sleeper over tokio's timer, and a hand-written one:
///
/// ```
/// use std::future::Future;
/// use std::time::{Duration, Instant};
/// use ripcord::{time::Sleeper, FutureExt};
///
/// // Any `Fn(Duration) -> impl Future<Output = ()>`:
/// let tokio_sleep = |d| tokio::time::sleep(d);
///
/// // Or a type of your own:
/// struct MyTimer;
/// impl Sleeper for MyTimer {
///     type Sleep = tokio::time::Sleep;
///     fn sleep(&self, d: Duration) -> Self::Sleep {
///         tokio::time::sleep(d)
///     }
///     fn sleep_until(&self, t: Instant) -> Self::Sleep {
///         tokio::time::sleep_until(t.into())
///     }
/// }
///
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
/// rt.block_on(async {
///     assert!(async { 5 }.timeout(&tokio_sleep, Duration::from_secs(1)).await.is_ok());
///     assert!(std::future::pending::<()>().timeout(&MyTimer, Duration::ZERO).await.is_err());
/// });
/// ```
pub trait Sleeper {
    /// The future returned by [`sleep`](Sleeper::sleep) and
    /// [`sleep_until`](Sleeper::sleep_until).
    type Sleep: Future<Output = ()>;

    /// A future that resolves once `duration` has passed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ripcord::time::Sleeper;
    ///
    /// let sleeper = |d: Duration| async move { std::thread::sleep(d) }; // toy sleeper
    /// futures::executor::block_on(sleeper.sleep(Duration::from_millis(1)));
    /// ```
    fn sleep(&self, duration: Duration) -> Self::Sleep;

    /// A future that resolves once `deadline` has been reached.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use ripcord::time::Sleeper;
    ///
    /// let sleeper = |d: Duration| async move { std::thread::sleep(d) }; // toy sleeper
    /// let past = Instant::now();
    /// futures::executor::block_on(sleeper.sleep_until(past)); // returns at once
    /// ```
    fn sleep_until(&self, deadline: Instant) -> Self::Sleep;
}

/// Every `Fn(Duration) -> impl Future<Output = ()>` is a sleeper.
///
/// `sleep(d)` calls the closure with `d` unchanged (so the closure decides what
/// `Duration::MAX` means); `sleep_until(t)` calls it with the time left until
/// `t`, zero if `t` has passed.
///
/// A timer whose future has another output (`async_io::Timer` yields an
/// `Instant`) fits with an `async` block:
/// `|d| async move { async_io::Timer::after(d).await; }`.
impl<F, Fut> Sleeper for F
where
    F: Fn(Duration) -> Fut,
    Fut: Future<Output = ()>,
{
    type Sleep = Fut;

    #[inline]
    fn sleep(&self, duration: Duration) -> Fut {
        self(duration)
    }

    #[inline]
    fn sleep_until(&self, deadline: Instant) -> Fut {
        self(deadline.saturating_duration_since(Instant::now()))
    }
}

/// Deadlines further away than this are treated as "never" by the built-in
/// sleepers (tokio clamps at the same horizon, and no platform's clock
/// arithmetic overflows before it).
#[cfg(any(
    feature = "tokio",
    feature = "async-io",
    feature = "async-std",
    feature = "futures-timer"
))]
pub(crate) const HORIZON: Duration = Duration::from_secs(30 * 365 * 86_400);

/// A runtime timer that can be armed for an instant that is in the future and
/// within [`HORIZON`]. Its output is ignored.
#[cfg(any(
    feature = "tokio",
    feature = "async-io",
    feature = "async-std",
    feature = "futures-timer"
))]
pub(crate) trait Arm: Future {
    /// The runtime's idea of "now" (tokio's clock can be paused in tests).
    fn now() -> Instant {
        Instant::now()
    }

    /// Creates the runtime's timer. Called at the first poll, from inside the
    /// runtime, only for deadlines that have not passed and are not "never".
    fn arm(deadline: Instant, now: Instant) -> Self;
}

#[cfg(any(
    feature = "tokio",
    feature = "async-io",
    feature = "async-std",
    feature = "futures-timer"
))]
pin_project_lite::pin_project! {
    /// The sleep shared by the built-in sleepers: decides "never" and
    /// "already passed" itself, and creates the runtime's timer only when it
    /// has to, at the first poll (so building a timeout outside the runtime is
    /// fine, and bad input never reaches the runtime).
    ///
    /// | state | `deadline` | `timer` | a poll does |
    /// |---|---|---|---|
    /// | waiting | `Some(t)` | `None` | `t` passed: `Ready`; `t` beyond [`HORIZON`]: go to *never*; else arm, go to *armed*, poll the timer |
    /// | never | `None` | `None` | `Pending` (the owner's other futures hold the waker) |
    /// | armed | `Some(t)` | `Some` | polls the runtime's timer |
    /// | fired | (any) | (any) | `Ready` again; `fired` is set, for `FusedFuture` |
    ///
    /// Only the owner's polls move it; nothing is shared between threads.
    #[derive(Debug)]
    pub(crate) struct LazySleep<T> {
        // `None`: never fires.
        deadline: Option<Instant>,
        #[pin]
        timer: Option<T>,
        fired: bool,
    }
}

#[cfg(any(
    feature = "tokio",
    feature = "async-io",
    feature = "async-std",
    feature = "futures-timer"
))]
impl<T: Arm> LazySleep<T> {
    /// A sleep of `duration` from now.
    pub(crate) fn after(duration: Duration) -> Self {
        LazySleep {
            deadline: T::now().checked_add(duration),
            timer: None,
            fired: false,
        }
    }

    /// A sleep until `deadline`.
    pub(crate) fn until(deadline: Instant) -> Self {
        LazySleep {
            deadline: Some(deadline),
            timer: None,
            fired: false,
        }
    }

    pub(crate) fn poll_sleep(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired {
            return Poll::Ready(());
        }
        let poll = self.as_mut().poll_once(cx);
        *self.project().fired = poll.is_ready();
        poll
    }

    /// Whether it has fired.
    pub(crate) fn is_fired(&self) -> bool {
        self.fired
    }

    fn poll_once(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        if let Some(timer) = this.timer.as_mut().as_pin_mut() {
            return timer.poll(cx).map(drop);
        }
        let Some(deadline) = *this.deadline else {
            // Never fires. Nothing will ever wake us, and nothing needs to.
            return Poll::Pending;
        };
        let now = T::now();
        if deadline <= now {
            return Poll::Ready(());
        }
        if deadline.duration_since(now) > HORIZON {
            *this.deadline = None;
            return Poll::Pending;
        }
        this.timer.set(Some(T::arm(deadline, now)));
        match this.timer.as_pin_mut() {
            Some(timer) => timer.poll(cx).map(drop),
            None => Poll::Pending, // unreachable: just set
        }
    }
}

// Shared by `AsyncIoSleeper` and `AsyncStdSleeper` (async-std's timer is
// async-io's on native targets).
#[cfg(any(feature = "async-io", feature = "async-std"))]
impl Arm for async_io::Timer {
    fn arm(deadline: Instant, _now: Instant) -> Self {
        async_io::Timer::at(deadline)
    }
}

/// The `Sleeper` and `Future` impls every built-in sleeper shares: its sleep
/// type wraps a [`LazySleep`] in a field named `inner`.
#[allow(unused_macros)] // only used when a runtime feature is on
macro_rules! lazy_sleep_impls {
    ($sleeper:ident => $sleep:ident) => {
        impl $crate::time::Sleeper for $sleeper {
            type Sleep = $sleep;

            fn sleep(&self, duration: ::std::time::Duration) -> $sleep {
                $sleep {
                    inner: $crate::time::sleeper::LazySleep::after(duration),
                }
            }

            fn sleep_until(&self, deadline: ::std::time::Instant) -> $sleep {
                $sleep {
                    inner: $crate::time::sleeper::LazySleep::until(deadline),
                }
            }
        }

        impl ::core::future::Future for $sleep {
            type Output = ();

            fn poll(
                self: ::core::pin::Pin<&mut Self>,
                cx: &mut ::core::task::Context<'_>,
            ) -> ::core::task::Poll<()> {
                self.project().inner.poll_sleep(cx)
            }
        }

        /// Terminated once the sleep has fired.
        impl ::futures_core::future::FusedFuture for $sleep {
            fn is_terminated(&self) -> bool {
                self.inner.is_fired()
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use lazy_sleep_impls;
