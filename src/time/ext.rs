//! The [`FutureExt`] extension trait.

use core::future::Future;

use super::Timeout;

#[cfg(feature = "std")]
use super::Sleeper;
#[cfg(feature = "std")]
use std::time::{Duration, Instant};

/// Deadlines for any future, on any executor's timer.
///
/// Implemented for every [`Future`]; bring it into scope with
/// `use ripcord::FutureExt as _;` (or `use ripcord::FutureExt;`).
///
/// | method | deadline | needs |
/// |---|---|---|
/// | [`timeout_with`](FutureExt::timeout_with) | any future (a sleep, a oneshot receiver, a token's `cancelled_owned()`) | nothing: works in `no_std` |
/// | [`timeout`](FutureExt::timeout) | a [`Duration`] measured by a [`Sleeper`] | `std` |
/// | [`timeout_at`](FutureExt::timeout_at) | an [`Instant`] measured by a [`Sleeper`] | `std` |
/// | [`with_cancellation`](FutureExt::with_cancellation) | a [`CancellationToken`](crate::CancellationToken) | `std` |
///
/// All three return the same [`Timeout`] future: the inner future is polled
/// first, so a ready result is never lost to a deadline that fires at the same
/// time.
///
/// # Name clashes
///
/// `tokio_util::time::FutureExt` and `async_std::future::FutureExt` also have
/// methods called `timeout` (taking only a `Duration`). If one of those traits
/// is in scope too, `fut.timeout(..)` fails to compile with "multiple
/// applicable items in scope" (E0034) — never silently picks the wrong one.
/// Call ours by path then:
///
/// ```
/// # #[cfg(feature = "std")] {
/// use std::time::Duration;
/// use ripcord::FutureExt as _;
/// // use tokio_util::time::FutureExt as _; // would make `.timeout(..)` ambiguous
///
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
/// # rt.block_on(async {
/// let sleeper = |d| tokio::time::sleep(d);
/// let out = ripcord::FutureExt::timeout(async { 1 }, &sleeper, Duration::from_secs(1)).await;
/// assert_eq!(out, Ok(1));
/// # });
/// # }
/// ```
///
/// `futures::FutureExt` and `futures_lite::FutureExt` (smol) have no methods
/// with these names, so importing them alongside ours is fine; import ours
/// anonymously (`as _`) to avoid the clash of the *trait* names.
pub trait FutureExt: Future {
    /// Races this future against `deadline`, any future (its output is
    /// ignored). Resolves to `Ok(output)` if this future finishes first,
    /// `Err(Elapsed)` once the deadline does.
    ///
    /// This needs no timer and no runtime, and works without `std`.
    ///
    /// **Cancel safety:** as cancel-safe as `self`. Pass `&mut fut` (for an
    /// `Unpin` future such as a [`oneshot::Receiver`](crate::oneshot::Receiver))
    /// to keep `fut` usable after the deadline wins.
    ///
    /// # Examples
    ///
    /// A oneshot receiver as the deadline: a stop signal with no timer at all.
    ///
    /// ```
    /// use ripcord::{oneshot, Elapsed, FutureExt};
    ///
    /// let (stop_tx, stop_rx) = oneshot::channel::<()>();
    /// let (tx, mut rx) = oneshot::channel::<&str>();
    /// stop_tx.send(()).unwrap();
    /// let res = futures::executor::block_on((&mut rx).timeout_with(stop_rx));
    /// assert_eq!(res, Err(Elapsed::new()));
    /// // `rx` was only borrowed, so it still works:
    /// tx.send("late").unwrap();
    /// assert_eq!(futures::executor::block_on(&mut rx), Ok("late"));
    /// ```
    fn timeout_with<D>(self, deadline: D) -> Timeout<Self, D>
    where
        Self: Sized,
        D: Future,
    {
        Timeout::new(self, deadline)
    }

    /// Races this future against a sleep of `duration` made by `sleeper`.
    ///
    /// The sleep is created now (so the clock starts now, not at the first
    /// poll). With the built-in sleepers a zero duration gives an
    /// already-ready future its one chance and otherwise elapses at the first
    /// poll; `Duration::MAX` (or any duration whose end is not representable,
    /// or more than about 30 years away) never elapses. A closure sleeper gets
    /// `duration` unchanged.
    ///
    /// **Cancel safety:** as [`timeout_with`](FutureExt::timeout_with).
    ///
    /// # Examples
    ///
    /// The same code on tokio and on smol, only the sleeper changes:
    ///
    /// ```
    /// # #[cfg(all(feature = "tokio", feature = "async-io"))] {
    /// use std::time::Duration;
    /// use ripcord::time::{AsyncIoSleeper, Sleeper, TokioSleeper};
    /// use ripcord::{oneshot, Elapsed, FutureExt};
    ///
    /// async fn wait_for_reply(sleeper: &impl Sleeper) -> Result<u32, Elapsed> {
    ///     let (_tx, rx) = oneshot::channel::<u32>(); // nobody answers
    ///     let reply = rx.timeout(sleeper, Duration::from_millis(10)).await?;
    ///     Ok(reply.unwrap_or(0))
    /// }
    ///
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    /// assert_eq!(rt.block_on(wait_for_reply(&TokioSleeper)), Err(Elapsed::new()));
    /// assert_eq!(smol::block_on(wait_for_reply(&AsyncIoSleeper)), Err(Elapsed::new()));
    /// # }
    /// ```
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    fn timeout<S>(self, sleeper: &S, duration: Duration) -> Timeout<Self, S::Sleep>
    where
        Self: Sized,
        S: Sleeper + ?Sized,
    {
        Timeout::new(self, sleeper.sleep(duration))
    }

    /// Races this future against a sleep until `deadline` made by `sleeper`.
    ///
    /// A deadline in the past (or now) still gives an already-ready future its
    /// one chance, and otherwise elapses at the first poll.
    ///
    /// **Cancel safety:** as [`timeout_with`](FutureExt::timeout_with).
    ///
    /// # Examples
    ///
    /// A closure is a sleeper, here one that uses a plain thread:
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use ripcord::{oneshot, Elapsed, FutureExt};
    ///
    /// let thread_sleeper = |d: Duration| {
    ///     let (tx, rx) = oneshot::channel::<()>();
    ///     std::thread::spawn(move || {
    ///         std::thread::sleep(d);
    ///         let _ = tx.send(());
    ///     });
    ///     async move {
    ///         let _ = rx.await;
    ///     }
    /// };
    /// let (_tx, rx) = oneshot::channel::<u8>();
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// let res = futures::executor::block_on(rx.timeout_at(&thread_sleeper, deadline));
    /// assert_eq!(res, Err(Elapsed::new()));
    /// assert!(Instant::now() >= deadline);
    /// ```
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    fn timeout_at<S>(self, sleeper: &S, deadline: Instant) -> Timeout<Self, S::Sleep>
    where
        Self: Sized,
        S: Sleeper + ?Sized,
    {
        Timeout::new(self, sleeper.sleep_until(deadline))
    }

    /// Runs this future until it finishes or `token` is cancelled.
    ///
    /// Resolves to `Ok(output)`, or to `Err(`[`CancelledError`](crate::CancelledError)`)`
    /// carrying the token's [`CancelReason`](crate::CancelReason) (a child
    /// token reports its ancestor's). The token is checked **before** the
    /// future on every poll, so once the token is cancelled the future is not
    /// polled again (the same rule as
    /// [`CancellationToken::run_until_cancelled`](crate::CancellationToken::run_until_cancelled),
    /// which this is). Works on any executor.
    ///
    /// **Cancel safety:** as cancel-safe as `self`; dropping the returned
    /// future unregisters it from the token.
    ///
    /// ```
    /// use ripcord::{CancelReason, CancellationToken, FutureExt};
    ///
    /// let token = CancellationToken::new();
    /// token.cancel_with(CancelReason::custom("user pressed stop"));
    /// let out = futures::executor::block_on(std::future::pending::<()>().with_cancellation(&token));
    /// assert_eq!(out.unwrap_err().reason().to_string(), "user pressed stop");
    /// ```
    #[cfg(feature = "std")]
    fn with_cancellation(
        self,
        token: &crate::CancellationToken,
    ) -> crate::cancel::RunUntilCancelled<'_, Self>
    where
        Self: Sized,
    {
        token.run_until_cancelled(self)
    }

    /// Like [`with_cancellation`](FutureExt::with_cancellation), owning the
    /// token: the result is `'static` (and `Send` when `self` is), ready to be
    /// spawned.
    ///
    /// ```
    /// use ripcord::{CancellationToken, FutureExt};
    ///
    /// let token = CancellationToken::new();
    /// let job = async { 40 + 2 }.with_cancellation_owned(token.clone());
    /// assert_eq!(futures::executor::block_on(job), Ok(42));
    /// ```
    #[cfg(feature = "std")]
    fn with_cancellation_owned(
        self,
        token: crate::CancellationToken,
    ) -> crate::cancel::RunUntilCancelledOwned<Self>
    where
        Self: Sized,
    {
        token.run_until_cancelled_owned(self)
    }
}

impl<F: Future + ?Sized> FutureExt for F {}
