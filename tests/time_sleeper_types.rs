//! The built-in sleepers are zero-sized unit types, and their sleeps can move
//! between threads, so timeouts built on them fit in spawned tasks.
#![cfg(all(
    feature = "tokio",
    feature = "async-io",
    feature = "async-std",
    feature = "futures-timer"
))]

use std::time::Duration;

use ripcord::time::{
    AsyncIoSleep, AsyncIoSleeper, AsyncStdSleep, AsyncStdSleeper, FuturesTimerSleep,
    FuturesTimerSleeper, Sleeper, TokioSleep, TokioSleeper,
};
use ripcord::{FutureExt, oneshot};

fn sleeper_traits<S: Sleeper + Copy + Default + Send + Sync + std::fmt::Debug + 'static>() {}
fn sleep_traits<T: Send + Sync + std::fmt::Debug>() {}

#[test]
fn built_in_sleepers_are_zero_sized() {
    assert_eq!(size_of::<TokioSleeper>(), 0);
    assert_eq!(size_of::<AsyncIoSleeper>(), 0);
    assert_eq!(size_of::<AsyncStdSleeper>(), 0);
    assert_eq!(size_of::<FuturesTimerSleeper>(), 0);
}

#[test]
fn built_in_sleepers_are_copy_send_sync_and_debug() {
    sleeper_traits::<TokioSleeper>();
    sleeper_traits::<AsyncIoSleeper>();
    sleeper_traits::<AsyncStdSleeper>();
    sleeper_traits::<FuturesTimerSleeper>();
}

#[test]
fn built_in_sleeps_are_send_sync_and_debug() {
    sleep_traits::<TokioSleep>();
    sleep_traits::<AsyncIoSleep>();
    sleep_traits::<AsyncStdSleep>();
    sleep_traits::<FuturesTimerSleep>();
}

#[test]
fn timeouts_on_a_receiver_are_send() {
    fn send<T: Send + 'static>(_: T) {}
    let (_tx, rx) = oneshot::channel::<String>();
    send(rx.timeout(&TokioSleeper, Duration::from_secs(1)));
}

#[test]
fn sleepers_work_through_generic_and_unsized_references() {
    fn make<S: Sleeper + ?Sized>(s: &S) -> S::Sleep {
        s.sleep(Duration::ZERO)
    }
    let sleep = make(&AsyncIoSleeper);
    futures::executor::block_on(sleep);
}
