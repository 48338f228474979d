//! Deadlines with no async runtime: the shared timer thread.
#![cfg(feature = "std")]

use std::time::{Duration, Instant};

use ripcord::{CancelReason, CancellationToken};

#[test]
#[cfg_attr(miri, ignore = "waits on the real clock")]
fn cancel_after_fires_and_not_before_the_deadline() {
    let t = CancellationToken::new();
    let start = Instant::now();
    t.cancel_after(Duration::from_millis(20));
    assert!(
        t.wait_timeout(Duration::from_secs(10)).is_ok(),
        "deadline never fired"
    );
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert_eq!(t.reason(), Some(CancelReason::DeadlineExceeded));
}

#[test]
#[cfg_attr(miri, ignore = "waits on the real clock")]
fn children_inherit_the_deadline_and_its_reason() {
    let root = CancellationToken::new();
    let child = root.child_token();
    root.cancel_after(Duration::from_millis(5));
    let born_later = root.child_token();
    assert_eq!(born_later.deadline(), root.deadline());
    assert!(child.wait_timeout(Duration::from_secs(10)).is_ok());
    assert!(born_later.wait_timeout(Duration::from_secs(10)).is_ok());
    assert_eq!(born_later.reason(), Some(CancelReason::DeadlineExceeded));
}

#[test]
#[cfg_attr(miri, ignore = "starts the timer thread, which outlives the test")]
fn deadline_reports_the_earliest_of_self_and_ancestors() {
    let root = CancellationToken::new();
    let child = root.child_token();
    let now = Instant::now();
    let early = now + Duration::from_secs(100);
    let late = now + Duration::from_secs(200);
    child.cancel_at(late);
    assert_eq!(child.deadline(), Some(late));
    root.cancel_at(early);
    assert_eq!(child.deadline(), Some(early));
    assert_eq!(root.deadline(), Some(early));
    // A later deadline never replaces an earlier one.
    root.cancel_at(late);
    assert_eq!(root.deadline(), Some(early));
    root.cancel();
}

#[test]
#[cfg_attr(miri, ignore = "starts the timer thread, which outlives the test")]
fn linked_token_inherits_the_earliest_parent_deadline() {
    let a = CancellationToken::new();
    let b = CancellationToken::new();
    let at = Instant::now() + Duration::from_secs(100);
    b.cancel_at(at);
    let linked = CancellationToken::any_of([&a, &b]);
    assert_eq!(linked.deadline(), Some(at));
    b.cancel();
}

#[test]
fn past_and_zero_deadlines_cancel_immediately() {
    let t = CancellationToken::new();
    t.cancel_after(Duration::ZERO);
    assert_eq!(t.reason(), Some(CancelReason::DeadlineExceeded));
    let t = CancellationToken::new();
    t.cancel_at(Instant::now() - Duration::from_millis(1));
    assert_eq!(t.reason(), Some(CancelReason::DeadlineExceeded));
}

#[test]
fn unrepresentable_deadlines_mean_never_and_do_not_panic() {
    let t = CancellationToken::new();
    t.cancel_after(Duration::MAX);
    t.cancel_after(Duration::from_secs(u64::MAX / 2));
    assert!(!t.is_cancelled());
    assert!(t.wait_timeout(Duration::from_millis(1)).is_err());
}

#[test]
fn deadline_on_a_cancelled_token_keeps_the_first_reason() {
    let t = CancellationToken::new();
    t.cancel_with(CancelReason::custom("manual"));
    t.cancel_after(Duration::ZERO);
    t.cancel_after(Duration::from_millis(1));
    assert_eq!(t.reason().unwrap().to_string(), "manual");
}

#[test]
#[cfg_attr(miri, ignore = "waits on the real clock")]
fn many_tokens_with_deadlines_all_fire() {
    let tokens: Vec<_> = (0..100)
        .map(|i| {
            let t = CancellationToken::new();
            t.cancel_after(Duration::from_millis(1 + (i % 10)));
            t
        })
        .collect();
    for t in &tokens {
        assert!(t.wait_timeout(Duration::from_secs(10)).is_ok());
    }
}

#[test]
#[cfg_attr(miri, ignore = "waits on the real clock")]
fn earlier_deadline_registered_later_wakes_the_timer_early() {
    let far = CancellationToken::new();
    far.cancel_after(Duration::from_secs(3600));
    let near = CancellationToken::new();
    let start = Instant::now();
    near.cancel_after(Duration::from_millis(10));
    assert!(near.wait_timeout(Duration::from_secs(10)).is_ok());
    assert!(start.elapsed() < Duration::from_secs(3600));
    assert!(!far.is_cancelled());
    far.cancel();
}

#[test]
#[cfg_attr(miri, ignore = "waits on the real clock")]
fn a_dropped_token_with_a_deadline_is_not_kept_alive() {
    let t = CancellationToken::new();
    let weak_probe = t.child_token();
    t.cancel_after(Duration::from_millis(5));
    drop(t);
    // The child keeps the parent alive, so the deadline still reaches it.
    assert!(weak_probe.wait_timeout(Duration::from_secs(10)).is_ok());
    // And a token dropped with nothing else holding it simply goes away.
    let lone = CancellationToken::new();
    lone.cancel_after(Duration::from_millis(1));
    drop(lone);
    std::thread::sleep(Duration::from_millis(10));
}

#[test]
#[cfg_attr(miri, ignore = "waits on the real clock")]
fn a_panicking_callback_on_a_deadline_does_not_kill_the_timer() {
    let t = CancellationToken::new();
    t.on_cancel(|_| panic!("deadline callback panics"));
    t.cancel_after(Duration::from_millis(1));
    assert!(t.wait_timeout(Duration::from_secs(10)).is_ok());
    let next = CancellationToken::new();
    next.cancel_after(Duration::from_millis(1));
    assert!(
        next.wait_timeout(Duration::from_secs(10)).is_ok(),
        "timer thread died"
    );
}

#[test]
#[cfg_attr(miri, ignore = "waits on the real clock")]
fn a_deadline_millennia_away_does_not_disturb_the_timer() {
    let far = CancellationToken::new();
    far.cancel_after(Duration::from_secs(1 << 40));
    assert!(far.deadline().is_some());
    let near = CancellationToken::new();
    near.cancel_after(Duration::from_millis(1));
    assert!(near.wait_timeout(Duration::from_secs(10)).is_ok());
    assert!(!far.is_cancelled());
    far.cancel();
}
