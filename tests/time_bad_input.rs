//! Bad input to every built-in sleeper: zero durations, past deadlines,
//! `Duration::MAX`, `Instant`s far in the future. Each gets its documented
//! answer; none panics or hangs.
//!
//! The first group polls by hand with no runtime running at all (the built-in
//! sleepers settle these cases without touching the runtime); the second runs
//! the same inputs inside the sleeper's own runtime.
#![cfg(all(
    feature = "tokio",
    feature = "async-io",
    feature = "async-std",
    feature = "futures-timer"
))]

mod time_support;

use std::future::{Future, pending, ready};
use std::pin::pin;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use ripcord::time::Sleeper;
use ripcord::{Elapsed, FutureExt, oneshot};
use time_support::poll_once;

/// Twenty-nine years: a real timer, just inside the horizon.
const LONG: Duration = Duration::from_secs(29 * 365 * 86_400);

fn far_future() -> Option<Instant> {
    Instant::now().checked_add(Duration::from_secs(1000 * 365 * 86_400))
}

fn past() -> Instant {
    let now = Instant::now();
    now.checked_sub(Duration::from_secs(1)).unwrap_or(now)
}

macro_rules! bad_input_suite {
    ($name:ident, $sleeper:expr, $run:path) => {
        mod $name {
            use super::*;

            // ---- no runtime running: settled without touching it ----

            #[test]
            fn zero_duration_lets_a_ready_future_finish() {
                let mut t = pin!(ready(1).timeout(&$sleeper, Duration::ZERO));
                assert_eq!(poll_once(t.as_mut(), Waker::noop()), Poll::Ready(Ok(1)));
            }

            #[test]
            fn zero_duration_elapses_at_the_first_poll() {
                let mut t = pin!(pending::<u8>().timeout(&$sleeper, Duration::ZERO));
                assert_eq!(
                    poll_once(t.as_mut(), Waker::noop()),
                    Poll::Ready(Err(Elapsed::new()))
                );
            }

            #[test]
            fn past_deadline_elapses_at_the_first_poll() {
                let mut t = pin!(pending::<u8>().timeout_at(&$sleeper, past()));
                assert_eq!(
                    poll_once(t.as_mut(), Waker::noop()),
                    Poll::Ready(Err(Elapsed::new()))
                );
            }

            #[test]
            fn past_deadline_lets_a_ready_future_finish() {
                let mut t = pin!(ready("v").timeout_at(&$sleeper, past()));
                assert_eq!(poll_once(t.as_mut(), Waker::noop()), Poll::Ready(Ok("v")));
            }

            #[test]
            fn duration_max_never_fires_and_the_result_still_arrives() {
                let (tx, rx) = oneshot::channel::<u8>();
                let mut t = pin!(rx.timeout(&$sleeper, Duration::MAX));
                assert!(poll_once(t.as_mut(), Waker::noop()).is_pending());
                assert!(poll_once(t.as_mut(), Waker::noop()).is_pending());
                tx.send(8).unwrap();
                assert_eq!(poll_once(t.as_mut(), Waker::noop()), Poll::Ready(Ok(Ok(8))));
            }

            #[test]
            fn far_future_instant_never_fires() {
                let Some(far) = far_future() else { return };
                let (tx, rx) = oneshot::channel::<u8>();
                let mut t = pin!(rx.timeout_at(&$sleeper, far));
                assert!(poll_once(t.as_mut(), Waker::noop()).is_pending());
                tx.send(2).unwrap();
                assert_eq!(poll_once(t.as_mut(), Waker::noop()), Poll::Ready(Ok(Ok(2))));
            }

            #[test]
            fn bare_sleeps_settle_bad_input_without_a_runtime() {
                let s = $sleeper;
                assert!(poll_once(pin!(s.sleep(Duration::ZERO)), Waker::noop()).is_ready());
                assert!(poll_once(pin!(s.sleep_until(past())), Waker::noop()).is_ready());
                assert!(poll_once(pin!(s.sleep(Duration::MAX)), Waker::noop()).is_pending());
            }

            // ---- inside the sleeper's runtime ----

            #[test]
            #[cfg_attr(miri, ignore = "real timers")]
            fn duration_max_in_the_runtime_returns_the_result() {
                $run(async {
                    let (tx, rx) = oneshot::channel::<u8>();
                    let sender = std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_millis(10));
                        tx.send(1).unwrap();
                    });
                    assert_eq!(rx.timeout(&$sleeper, Duration::MAX).await, Ok(Ok(1)));
                    sender.join().unwrap();
                });
            }

            #[test]
            #[cfg_attr(miri, ignore = "real timers")]
            fn decades_long_timer_is_accepted_by_the_runtime() {
                $run(async {
                    let (tx, rx) = oneshot::channel::<u8>();
                    let sender = std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_millis(10));
                        tx.send(1).unwrap();
                    });
                    assert_eq!(rx.timeout(&$sleeper, LONG).await, Ok(Ok(1)));
                    sender.join().unwrap();
                });
            }

            #[test]
            #[cfg_attr(miri, ignore = "real timers")]
            fn zero_and_past_elapse_in_the_runtime() {
                $run(async {
                    assert_eq!(
                        pending::<()>().timeout(&$sleeper, Duration::ZERO).await,
                        Err(Elapsed::new())
                    );
                    assert_eq!(
                        pending::<()>().timeout_at(&$sleeper, past()).await,
                        Err(Elapsed::new())
                    );
                    assert_eq!(async { 3 }.timeout(&$sleeper, Duration::ZERO).await, Ok(3));
                });
            }

            #[test]
            #[cfg_attr(miri, ignore = "real timers")]
            fn short_timeout_fires_and_not_before_its_deadline() {
                $run(async {
                    let start = Instant::now();
                    let d = Duration::from_millis(20);
                    assert_eq!(
                        pending::<()>().timeout(&$sleeper, d).await,
                        Err(Elapsed::new())
                    );
                    assert!(start.elapsed() >= d);
                    let deadline = Instant::now() + d;
                    assert_eq!(
                        pending::<()>().timeout_at(&$sleeper, deadline).await,
                        Err(Elapsed::new())
                    );
                    assert!(Instant::now() >= deadline);
                });
            }
        }
    };
}

fn run_tokio<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(f)
}

bad_input_suite!(tokio_sleeper, ripcord::time::TokioSleeper, super::run_tokio);
bad_input_suite!(
    async_io_sleeper,
    ripcord::time::AsyncIoSleeper,
    smol::block_on
);
bad_input_suite!(
    async_std_sleeper,
    ripcord::time::AsyncStdSleeper,
    async_std::task::block_on
);
bad_input_suite!(
    futures_timer_sleeper,
    ripcord::time::FuturesTimerSleeper,
    futures::executor::block_on
);

/// A timeout built outside tokio is fine; only polling a real timer needs it.
#[test]
#[cfg_attr(miri, ignore = "real timers")]
fn tokio_timeout_can_be_built_outside_the_runtime() {
    let (_tx, rx) = oneshot::channel::<u8>();
    let t = rx.timeout(&ripcord::time::TokioSleeper, Duration::from_millis(5));
    assert_eq!(run_tokio(t), Err(Elapsed::new()));
}

/// A closure sleeper gets the duration unchanged and the time left (zero for
/// a past deadline), so it decides for itself what extreme values mean.
mod closure {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn sleep_passes_the_duration_unchanged() {
        let seen = Cell::new(None);
        let s = |d: Duration| {
            seen.set(Some(d));
            ready(())
        };
        drop(s.sleep(Duration::MAX));
        assert_eq!(seen.get(), Some(Duration::MAX));
        drop(s.sleep(Duration::ZERO));
        assert_eq!(seen.get(), Some(Duration::ZERO));
    }

    #[test]
    fn sleep_until_a_past_deadline_passes_zero() {
        let seen = Cell::new(None);
        let s = |d: Duration| {
            seen.set(Some(d));
            ready(())
        };
        drop(s.sleep_until(past()));
        assert_eq!(seen.get(), Some(Duration::ZERO));
    }

    #[test]
    fn sleep_until_a_future_deadline_passes_the_time_left() {
        let seen = Cell::new(None);
        let s = |d: Duration| {
            seen.set(Some(d));
            ready(())
        };
        drop(s.sleep_until(Instant::now() + Duration::from_secs(60)));
        let d = seen.get().unwrap();
        assert!(d > Duration::ZERO && d <= Duration::from_secs(60));
        if let Some(far) = far_future() {
            drop(s.sleep_until(far));
            assert!(seen.get().unwrap() > Duration::from_secs(60));
        }
    }
}

/// `TokioSleeper` measures on tokio's clock, so paused-time tests work as
/// with `tokio::time::timeout`: an hour-long timeout elapses instantly in real
/// time, and not before the hour has passed in tokio's virtual time.
#[test]
#[cfg_attr(miri, ignore = "real runtime")]
fn tokio_sleeper_follows_a_paused_clock() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let real_start = Instant::now();
    rt.block_on(async {
        let virtual_start = tokio::time::Instant::now();
        let hour = Duration::from_secs(3600);
        assert_eq!(
            pending::<()>()
                .timeout(&ripcord::time::TokioSleeper, hour)
                .await,
            Err(Elapsed::new())
        );
        assert!(virtual_start.elapsed() >= hour);
    });
    assert!(real_start.elapsed() < Duration::from_secs(600));
}
