//! Behaviour of the token's plain (thread) API: one test per promise.
#![cfg(feature = "std")]

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use ripcord::{CancelReason, CancellationToken};

#[test]
fn new_and_default_tokens_start_uncancelled() {
    assert!(!CancellationToken::new().is_cancelled());
    assert!(!CancellationToken::default().is_cancelled());
    assert_eq!(CancellationToken::new().reason(), None);
}

#[test]
fn clones_share_one_state() {
    let a = CancellationToken::new();
    let b = a.clone();
    b.cancel();
    assert!(a.is_cancelled());
}

#[test]
fn debug_shows_whether_cancelled() {
    let t = CancellationToken::new();
    assert!(format!("{t:?}").contains("false"));
    t.cancel();
    assert!(format!("{t:?}").contains("true"));
}

#[test]
fn cancel_is_idempotent_and_first_reason_wins() {
    let t = CancellationToken::new();
    assert!(t.cancel_with(CancelReason::custom("first")));
    assert!(!t.cancel_with(CancelReason::custom("second")));
    t.cancel();
    assert_eq!(t.reason().unwrap().to_string(), "first");
}

#[test]
fn plain_cancel_reports_cancelled_reason() {
    let t = CancellationToken::new();
    t.cancel();
    assert_eq!(t.reason(), Some(CancelReason::Cancelled));
}

#[test]
fn custom_reason_value_is_recoverable_from_a_descendant() {
    #[derive(Debug)]
    struct Code(u32);
    impl std::fmt::Display for Code {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "code {}", self.0)
        }
    }
    let root = CancellationToken::new();
    let leaf = root.child_token().child_token();
    root.cancel_with(CancelReason::custom(Code(42)));
    let reason = leaf.reason().unwrap();
    assert_eq!(reason.downcast_ref::<Code>().unwrap().0, 42);
    assert_eq!(reason.to_string(), "code 42");
}

#[test]
fn child_keeps_its_own_earlier_reason() {
    let root = CancellationToken::new();
    let child = root.child_token();
    child.cancel_with(CancelReason::custom("child first"));
    root.cancel_with(CancelReason::custom("root later"));
    assert_eq!(child.reason().unwrap().to_string(), "child first");
    assert_eq!(root.reason().unwrap().to_string(), "root later");
}

#[test]
fn cancelling_a_child_leaves_the_parent_and_siblings_alone() {
    let root = CancellationToken::new();
    let a = root.child_token();
    let b = root.child_token();
    let a1 = a.child_token();
    a.cancel();
    assert!(a1.is_cancelled());
    assert!(!root.is_cancelled());
    assert!(!b.is_cancelled());
}

#[test]
fn cancelling_a_parent_reaches_every_descendant_before_returning() {
    let root = CancellationToken::new();
    let mut all = Vec::new();
    for _ in 0..10 {
        let c = root.child_token();
        for _ in 0..10 {
            all.push(c.child_token());
        }
        all.push(c);
    }
    root.cancel();
    assert!(all.iter().all(CancellationToken::is_cancelled));
}

#[test]
fn child_of_a_cancelled_parent_is_born_cancelled_with_its_reason() {
    let root = CancellationToken::new();
    root.cancel_with(CancelReason::DeadlineExceeded);
    let child = root.child_token();
    assert!(child.is_cancelled());
    assert_eq!(child.reason(), Some(CancelReason::DeadlineExceeded));
}

#[test]
fn dropped_intermediate_handles_still_propagate() {
    let root = CancellationToken::new();
    let leaf = root.child_token().child_token().child_token();
    root.cancel();
    assert!(leaf.is_cancelled());
}

#[test]
fn any_of_is_cancelled_by_any_parent_with_its_reason() {
    let a = CancellationToken::new();
    let b = CancellationToken::new();
    let linked = CancellationToken::any_of([&a, &b]);
    assert!(!linked.is_cancelled());
    b.cancel_with(CancelReason::custom("b"));
    assert_eq!(linked.reason().unwrap().to_string(), "b");
    assert!(!a.is_cancelled());
    a.cancel();
    assert_eq!(linked.reason().unwrap().to_string(), "b");
}

#[test]
fn any_of_with_a_cancelled_parent_is_born_cancelled() {
    let a = CancellationToken::new();
    let b = CancellationToken::new();
    b.cancel_with(CancelReason::DeadlineExceeded);
    let linked = CancellationToken::any_of([&a, &b]);
    assert_eq!(linked.reason(), Some(CancelReason::DeadlineExceeded));
}

#[test]
fn any_of_cancelled_itself_leaves_parents_alone() {
    let a = CancellationToken::new();
    let linked = CancellationToken::any_of([&a]);
    let child = linked.child_token();
    linked.cancel();
    assert!(child.is_cancelled());
    assert!(!a.is_cancelled());
}

#[test]
fn any_of_no_parents_acts_as_a_new_token() {
    let linked = CancellationToken::any_of([]);
    assert!(!linked.is_cancelled());
    linked.cancel();
    assert!(linked.is_cancelled());
}

#[test]
fn wait_returns_once_another_thread_cancels() {
    let t = CancellationToken::new();
    let c = t.clone();
    let h = thread::spawn(move || {
        c.wait();
        c.is_cancelled()
    });
    thread::sleep(Duration::from_millis(10));
    t.cancel();
    assert!(h.join().unwrap());
}

#[test]
fn wait_on_a_child_returns_when_an_ancestor_cancels() {
    let root = CancellationToken::new();
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let c = root.child_token().child_token();
            thread::spawn(move || {
                c.wait();
                c.reason()
            })
        })
        .collect();
    root.cancel_with(CancelReason::custom("stop"));
    for w in waiters {
        assert_eq!(w.join().unwrap().unwrap().to_string(), "stop");
    }
}

#[test]
fn wait_timeout_times_out_without_cancellation() {
    let t = CancellationToken::new();
    assert!(t.wait_timeout(Duration::from_millis(5)).is_err());
    assert!(t.wait_timeout(Duration::ZERO).is_err());
    assert!(!t.is_cancelled());
}

#[test]
fn wait_timeout_reports_cancellation_and_accepts_duration_max() {
    let t = CancellationToken::new();
    let c = t.clone();
    let h = thread::spawn(move || c.wait_timeout(Duration::MAX).is_ok());
    t.cancel();
    assert!(h.join().unwrap());
    assert!(t.wait_timeout(Duration::ZERO).is_ok());
}

#[test]
fn wait_deadline_in_the_past_only_checks() {
    let t = CancellationToken::new();
    let past = std::time::Instant::now() - Duration::from_millis(1);
    assert!(t.wait_deadline(past).is_err());
    t.cancel();
    assert!(t.wait_deadline(past).is_ok());
}

#[test]
fn on_cancel_runs_once_with_the_reason() {
    let t = CancellationToken::new();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let _reg = t.on_cancel(move |r| {
        assert_eq!(r.to_string(), "why");
        c.fetch_add(1, Ordering::SeqCst);
    });
    t.cancel_with(CancelReason::custom("why"));
    t.cancel();
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn on_cancel_on_a_cancelled_token_runs_immediately() {
    let t = CancellationToken::new();
    t.cancel();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let reg = t.on_cancel(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert!(!reg.unregister());
}

#[test]
fn dropping_the_callback_handle_keeps_it_registered() {
    let t = CancellationToken::new();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    drop(t.on_cancel(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
    }));
    t.cancel();
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn dropping_a_scoped_guard_unregisters_it() {
    let t = CancellationToken::new();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    drop(t.on_cancel_scoped(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
    }));
    t.cancel();
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

#[test]
fn drop_guard_cancels_on_drop_and_disarm_does_not() {
    let t = CancellationToken::new();
    let back = t.clone().drop_guard().disarm();
    assert!(!t.is_cancelled());
    drop(back.drop_guard());
    assert!(t.is_cancelled());
}

#[test]
// Hash and Eq use the token's identity, which never changes.
#[allow(clippy::mutable_key_type)]
fn equality_and_hash_are_by_identity() {
    let a = CancellationToken::new();
    let b = CancellationToken::new();
    assert_eq!(a, a.clone());
    assert_ne!(a, b);
    let set: HashSet<_> = [a.clone(), a.clone(), b.clone()].into_iter().collect();
    assert_eq!(set.len(), 2);
}

#[test]
fn token_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<CancellationToken>();
    assert_send_sync::<ripcord::CancelCallback>();
    assert_send_sync::<ripcord::DropGuard>();
    assert_send_sync::<ripcord::cancel::CancelledOwned>();
    fn assert_send<T: Send>(_: &T) {}
    let t = CancellationToken::new();
    assert_send(&t.cancelled());
}

#[test]
fn concurrent_cancels_agree_on_one_reason() {
    for _ in 0..if cfg!(miri) { 2 } else { 50 } {
        let root = CancellationToken::new();
        let leaf = root.child_token();
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let r = root.clone();
                thread::spawn(move || r.cancel_with(CancelReason::custom(i)))
            })
            .collect();
        let winners = handles
            .into_iter()
            .filter(|_| true)
            .map(|h| h.join().unwrap());
        assert_eq!(winners.filter(|w| *w).count(), 1);
        assert_eq!(root.reason(), leaf.reason());
    }
}

#[test]
fn children_created_while_cancelling_end_up_cancelled() {
    for _ in 0..if cfg!(miri) { 2 } else { 50 } {
        let root = CancellationToken::new();
        let r = root.clone();
        let maker = thread::spawn(move || (0..50).map(|_| r.child_token()).collect::<Vec<_>>());
        root.cancel();
        for child in maker.join().unwrap() {
            assert!(child.is_cancelled());
        }
    }
}

#[test]
fn a_waiter_woken_by_a_parent_sees_every_descendant_cancelled() {
    for _ in 0..if cfg!(miri) { 2 } else { 100 } {
        let root = CancellationToken::new();
        let mid = root.child_token();
        let leaves: Vec<_> = (0..20).map(|_| mid.child_token()).collect();
        let r = root.clone();
        let canceller = thread::spawn(move || r.cancel());
        root.wait();
        assert!(mid.is_cancelled());
        assert!(leaves.iter().all(CancellationToken::is_cancelled));
        canceller.join().unwrap();
    }
}
