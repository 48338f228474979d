//! Timers meet tokens: `with_cancellation` and `time::cancel_on_timer`.
#![cfg(all(feature = "std", not(loom)))]

use std::future::{Future, pending};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ripcord::{CancelReason, CancellationToken, FutureExt};

#[test]
fn cancel_on_timer_finishes_early_when_the_token_is_cancelled_otherwise() {
    let token = CancellationToken::new();
    let never = |_d: Duration| pending::<()>();
    let mut timer = pin!(ripcord::time::cancel_on_timer(
        &token,
        &never,
        Duration::from_secs(1)
    ));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(timer.as_mut().poll(&mut cx).is_pending());
    token.cancel_with(CancelReason::custom("manual"));
    assert!(timer.as_mut().poll(&mut cx).is_ready());
    assert_eq!(token.reason().unwrap().to_string(), "manual");
}

#[test]
fn cancel_on_timer_at_with_a_past_deadline_cancels_at_the_first_poll() {
    let token = CancellationToken::new();
    let child = token.child_token();
    let ready_sleeper = |_d: Duration| std::future::ready(());
    let past = Instant::now() - Duration::from_secs(5);
    let mut timer = pin!(ripcord::time::cancel_on_timer_at(
        &token,
        &ready_sleeper,
        past
    ));
    assert_eq!(
        timer.as_mut().poll(&mut Context::from_waker(Waker::noop())),
        Poll::Ready(())
    );
    assert!(child.reason().unwrap().is_deadline_exceeded());
}

#[test]
fn dropping_an_unpolled_cancel_after_cancels_nothing() {
    let token = CancellationToken::new();
    let ready_sleeper = |_d: Duration| std::future::ready(());
    drop(ripcord::time::cancel_on_timer(
        &token,
        &ready_sleeper,
        Duration::ZERO,
    ));
    assert!(!token.is_cancelled());
}

#[test]
fn with_cancellation_checks_the_token_before_the_future() {
    let token = CancellationToken::new();
    token.cancel();
    let out = futures::executor::block_on(async { 1 }.with_cancellation(&token));
    assert_eq!(out.unwrap_err().reason(), &CancelReason::Cancelled);
}

#[test]
fn with_cancellation_passes_results_through_and_drops_cleanly() {
    let token = CancellationToken::new();
    assert_eq!(
        futures::executor::block_on(async { "ok" }.with_cancellation(&token)),
        Ok("ok")
    );
    {
        let mut fut = pin!(pending::<()>().with_cancellation(&token));
        assert!(
            fut.as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_pending()
        );
    }
    // The dropped future unregistered; cancelling afterwards is uneventful.
    token.cancel();
    assert!(token.is_cancelled());
}
