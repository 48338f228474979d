//! Timeouts that use whatever timer the application already runs.
//!
//! ripcord does not guess a runtime: the deadline is a parameter.
//!
//! - [`FutureExt::timeout_with`] races a future
//!   against **any** deadline future: a runtime's sleep, a
//!   [`oneshot::Receiver`](crate::oneshot::Receiver), a cancellation signal.
//!   It needs no timer and works without `std`.
//! - [`FutureExt::timeout`] and
//!   [`timeout_at`](crate::FutureExt::timeout_at) take a [`Sleeper`]: a
//!   runtime's timer. Each built-in sleeper is a zero-sized type behind a
//!   feature (none is on by default), and any closure
//!   `Fn(Duration) -> impl Future<Output = ()>` is a sleeper too.
//! - [`FutureExt::with_cancellation`] stops a future when a
//!   [`CancellationToken`](crate::CancellationToken) is cancelled and returns
//!   [`CancelledError`](crate::CancelledError) with the token's reason;
//!   [`cancel_on_timer`] drives a token's deadline from the application's own
//!   timer.
//!
//! | sleeper | feature | timer | runtime needed |
//! |---|---|---|---|
//! | `TokioSleeper` | `tokio` | `tokio::time` | polled inside a tokio runtime with timers enabled |
//! | `AsyncIoSleeper` | `async-io` | `async_io::Timer` (smol) | none (async-io's reactor thread) |
//! | `AsyncStdSleeper` | `async-std` | async-std's (= `async_io::Timer`) | none |
//! | `FuturesTimerSleeper` | `futures-timer` | `futures_timer::Delay` | none (its helper thread) |
//! | a closure | — | yours | yours |
//!
//! # Bad input
//!
//! No input panics or hangs. With every built-in sleeper:
//!
//! | input | result |
//! |---|---|
//! | zero duration, or a deadline now or in the past | the inner future is polled once; if it is not ready, `Err(Elapsed)` at that same poll, without touching the runtime |
//! | `Duration::MAX`, a deadline whose `Instant` would overflow, or one more than ~30 years away | the deadline never fires (no timer is registered): you get the inner future's output whenever it comes |
//!
//! A closure sleeper receives the duration unchanged (`sleep_until` passes the
//! time left, saturating at zero), so it decides for itself.
//!
//! # Examples
//!
//! ```
//! # #[cfg(feature = "futures-timer")] {
//! use std::time::Duration;
//! use ripcord::{oneshot, time::FuturesTimerSleeper, FutureExt, Elapsed};
//!
//! futures::executor::block_on(async {
//!     let (tx, mut rx) = oneshot::channel::<u32>();
//!     // Time out while nobody has sent; `rx` is only borrowed...
//!     let first = (&mut rx).timeout(&FuturesTimerSleeper, Duration::from_millis(5)).await;
//!     assert_eq!(first, Err(Elapsed::new()));
//!     // ...so it still receives.
//!     tx.send(7).unwrap();
//!     assert_eq!(rx.await, Ok(7));
//! });
//! # }
//! ```

#[cfg(feature = "std")]
mod cancel_on_timer;
mod ext;
#[cfg(feature = "std")]
mod sleeper;
mod timeout;

#[cfg(feature = "async-io")]
mod sleep_async_io;
#[cfg(feature = "async-std")]
mod sleep_async_std;
#[cfg(feature = "futures-timer")]
mod sleep_futures_timer;
#[cfg(feature = "tokio")]
mod sleep_tokio;

pub use crate::error::Elapsed;
#[cfg(feature = "std")]
pub use cancel_on_timer::{CancelOnTimer, cancel_on_timer, cancel_on_timer_at};
pub use ext::FutureExt;
#[cfg(feature = "std")]
pub use sleeper::Sleeper;
pub use timeout::Timeout;

#[cfg(feature = "async-io")]
pub use sleep_async_io::{AsyncIoSleep, AsyncIoSleeper};
#[cfg(feature = "async-std")]
pub use sleep_async_std::{AsyncStdSleep, AsyncStdSleeper};
#[cfg(feature = "futures-timer")]
pub use sleep_futures_timer::{FuturesTimerSleep, FuturesTimerSleeper};
#[cfg(feature = "tokio")]
pub use sleep_tokio::{TokioSleep, TokioSleeper};
