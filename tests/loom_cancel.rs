//! loom models of the cancellation token's transitions.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release --test loom_cancel`.
//! Under `--cfg loom`, the token's state word and lock come from loom (through
//! `crate::loom`), and event-listener (built with its `loom` feature) uses
//! loom's atomics, mutex and parking too, so the waiter list, its wake-ups and
//! blocking waits are model-checked as well. The node's reference count is a
//! loom atomic too: the last models below race the drops that free nodes, and
//! check that every node is freed exactly once (a drop-counting callback left
//! registered in it is dropped when the node is, or consumed when it runs).
//! Deadlines (the timer thread) are not modelled; `tests/cancel_stress.rs`
//! runs the same races at scale under AddressSanitizer.
#![cfg(loom)]

use std::sync::Arc;

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use ripcord::{CancelReason, CancellationToken};

/// Explores every interleaving (no preemption bound): the models are small
/// enough that the whole file runs in about a second in release mode.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = None;
    builder.check(f);
}

#[test]
fn cancel_racing_child_token_never_leaves_an_uncancelled_child() {
    model(|| {
        let root = CancellationToken::new();
        let r = root.clone();
        let maker = thread::spawn(move || r.child_token());
        root.cancel();
        let child = maker.join().unwrap();
        assert!(child.is_cancelled());
        assert_eq!(child.reason(), Some(CancelReason::Cancelled));
    });
}

#[test]
fn cancel_racing_a_child_drop_is_safe() {
    model(|| {
        let root = CancellationToken::new();
        let child = root.child_token();
        let grandchild = child.child_token();
        let dropper = thread::spawn(move || drop(child));
        root.cancel();
        dropper.join().unwrap();
        assert!(grandchild.is_cancelled());
    });
}

#[test]
fn parent_drop_racing_child_cancel_is_safe() {
    model(|| {
        let root = CancellationToken::new();
        let child = root.child_token();
        let c = child.clone();
        let canceller = thread::spawn(move || c.cancel());
        drop(root);
        canceller.join().unwrap();
        assert!(child.is_cancelled());
    });
}

#[test]
fn cancel_racing_an_async_waiter_never_loses_the_wake_up() {
    model(|| {
        let token = CancellationToken::new();
        let leaf = token.child_token();
        let canceller = thread::spawn(move || token.cancel());
        loom::future::block_on(leaf.cancelled());
        assert!(leaf.is_cancelled());
        canceller.join().unwrap();
    });
}

#[test]
fn cancel_racing_a_blocking_waiter_never_loses_the_wake_up() {
    model(|| {
        let token = CancellationToken::new();
        let t = token.clone();
        let canceller = thread::spawn(move || t.cancel());
        token.wait();
        assert!(token.is_cancelled());
        canceller.join().unwrap();
    });
}

#[test]
fn two_concurrent_cancel_with_agree_on_exactly_one_reason() {
    model(|| {
        let root = CancellationToken::new();
        let child = root.child_token();
        let r = root.clone();
        let other = thread::spawn(move || r.cancel_with(CancelReason::custom("b")));
        let mine = root.cancel_with(CancelReason::custom("a"));
        let theirs = other.join().unwrap();
        assert!(mine ^ theirs, "exactly one call wins");
        let winner = if mine { "a" } else { "b" };
        assert_eq!(root.reason().unwrap().to_string(), winner);
        assert_eq!(child.reason(), root.reason());
    });
}

#[test]
fn parent_and_child_cancelled_together_keep_a_consistent_subtree() {
    model(|| {
        let root = CancellationToken::new();
        let child = root.child_token();
        let grandchild = child.child_token();
        let c = child.clone();
        let other = thread::spawn(move || c.cancel_with(CancelReason::custom("child")));
        root.cancel_with(CancelReason::custom("root"));
        other.join().unwrap();
        assert!(grandchild.is_cancelled());
        assert_eq!(grandchild.reason(), child.reason());
    });
}

#[test]
fn on_cancel_racing_cancel_runs_exactly_once() {
    model(|| {
        let token = CancellationToken::new();
        let count = Arc::new(AtomicUsize::new(0));
        let (t, c) = (token.clone(), count.clone());
        let registrar = thread::spawn(move || {
            t.on_cancel(move |_| {
                c.fetch_add(1, Ordering::SeqCst);
            })
        });
        token.cancel();
        let registration = registrar.join().unwrap();
        assert_eq!(count.load(Ordering::SeqCst), 1);
        drop(registration);
        assert_eq!(count.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn unregister_racing_cancel_runs_once_or_not_at_all() {
    model(|| {
        let token = CancellationToken::new();
        let started = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicUsize::new(0));
        let (s, f) = (started.clone(), finished.clone());
        let registration = token.on_cancel(move |_| {
            s.fetch_add(1, Ordering::SeqCst);
            f.fetch_add(1, Ordering::SeqCst);
        });
        let canceller = thread::spawn(move || token.cancel());
        let removed = registration.unregister();
        // Unregistering waits for a running callback: after it returns, the
        // callback either never started or has finished.
        assert_eq!(
            started.load(Ordering::SeqCst),
            finished.load(Ordering::SeqCst)
        );
        canceller.join().unwrap();
        assert_eq!(finished.load(Ordering::SeqCst), usize::from(!removed));
    });
}

#[test]
fn linked_token_racing_parent_cancel_ends_cancelled() {
    model(|| {
        let a = CancellationToken::new();
        let b = CancellationToken::new();
        let a2 = a.clone();
        let canceller = thread::spawn(move || a2.cancel_with(CancelReason::custom("a")));
        let linked = CancellationToken::any_of([&a, &b]);
        canceller.join().unwrap();
        assert_eq!(linked.reason().unwrap().to_string(), "a");
    });
}

#[test]
fn cancel_racing_an_async_waiter_on_a_leaf_token_never_loses_the_wake_up() {
    // No children: the canceller takes the lock-free path.
    model(|| {
        let token = CancellationToken::new();
        let t = token.clone();
        let canceller = thread::spawn(move || t.cancel_with(CancelReason::DeadlineExceeded));
        loom::future::block_on(token.clone().cancelled_owned());
        assert_eq!(token.reason(), Some(CancelReason::DeadlineExceeded));
        canceller.join().unwrap();
    });
}

#[test]
fn inherited_custom_reason_is_seen_whole_by_a_concurrent_reader() {
    model(|| {
        let root = CancellationToken::new();
        let leaf = root.child_token().child_token();
        let l = leaf.clone();
        let reader = thread::spawn(move || l.reason().map(|r| r.to_string()));
        root.cancel_with(CancelReason::custom("why"));
        match reader.join().unwrap() {
            None => {}
            Some(seen) => assert_eq!(seen, "why"),
        }
        assert_eq!(leaf.reason().unwrap().to_string(), "why");
    });
}

#[test]
fn cancel_racing_the_drop_of_a_leaf_child_is_safe() {
    model(|| {
        let root = CancellationToken::new();
        let leaf = root.child_token();
        let dropper = thread::spawn(move || drop(leaf));
        root.cancel();
        dropper.join().unwrap();
        assert!(root.is_cancelled());
    });
}

#[test]
fn a_token_seen_cancelled_has_its_whole_subtree_cancelled() {
    model(|| {
        let root = CancellationToken::new();
        let child = root.child_token();
        let grandchild = child.child_token();
        let watcher = {
            let (root, child, grandchild) = (root.clone(), child.clone(), grandchild.clone());
            thread::spawn(move || {
                if root.is_cancelled() {
                    assert!(child.is_cancelled() && grandchild.is_cancelled());
                }
                if child.is_cancelled() {
                    assert!(grandchild.is_cancelled());
                }
            })
        };
        root.cancel_with(CancelReason::custom("stop"));
        watcher.join().unwrap();
    });
}

#[test]
fn after_losing_a_cancel_race_the_token_reports_cancelled() {
    model(|| {
        let root = CancellationToken::new();
        let _child = root.child_token(); // forces the CLOSING path
        let r = root.clone();
        let other = thread::spawn(move || {
            r.cancel();
            assert!(r.is_cancelled());
        });
        root.cancel_with(CancelReason::DeadlineExceeded);
        assert!(root.is_cancelled());
        assert!(root.reason().is_some());
        other.join().unwrap();
    });
}

/// Counts its drops; left inside a node (as a registered callback), it tells
/// whether the node was freed, and how many times.
struct Freed(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Freed {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Leaves a callback in `token` that holds a `Freed`; returns its counter.
fn watch(token: &CancellationToken) -> Arc<std::sync::atomic::AtomicUsize> {
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let freed = Freed(count.clone());
    token.on_cancel(move |_| drop(freed));
    count
}

fn dropped_once(count: &std::sync::atomic::AtomicUsize) -> bool {
    count.load(std::sync::atomic::Ordering::SeqCst) == 1
}

#[test]
fn parent_last_drop_racing_child_last_drop_frees_both_once() {
    model(|| {
        let root = CancellationToken::new();
        let child = root.child_token();
        let (root_freed, child_freed) = (watch(&root), watch(&child));
        let dropper = thread::spawn(move || drop(child));
        drop(root);
        dropper.join().unwrap();
        assert!(dropped_once(&root_freed) && dropped_once(&child_freed));
    });
}

#[test]
fn cancel_pinning_a_child_racing_its_last_drop_frees_it_once() {
    model(|| {
        let root = CancellationToken::new();
        let child = root.child_token();
        let child_freed = watch(&child); // a callback: the canceller pins it
        let dropper = thread::spawn(move || drop(child));
        root.cancel();
        dropper.join().unwrap();
        assert!(dropped_once(&child_freed));
        let root_freed = watch(&root); // already cancelled: runs now
        assert!(dropped_once(&root_freed));
    });
}

#[test]
fn a_parent_kept_only_by_its_child_is_still_cancelled_through() {
    model(|| {
        let root = CancellationToken::new();
        let middle = root.child_token();
        let leaf = middle.child_token();
        let middle_freed = watch(&middle);
        let r = root.clone();
        let canceller = thread::spawn(move || r.cancel());
        drop(middle); // now alive only through `leaf`
        canceller.join().unwrap();
        assert!(leaf.is_cancelled());
        assert!(dropped_once(&middle_freed)); // its callback ran
        let l = leaf.clone();
        let dropper = thread::spawn(move || drop(l));
        drop(leaf);
        drop(root);
        dropper.join().unwrap();
    });
}

#[test]
fn last_child_drop_racing_grandparent_cancel_frees_the_middle_once() {
    model(|| {
        let root = CancellationToken::new();
        let middle = root.child_token();
        let leaf = middle.child_token();
        let middle_freed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let freed = Freed(middle_freed.clone());
        // Dropped, not run, if the node is freed before the cancel reaches it.
        middle.on_cancel(move |_| drop(freed));
        drop(middle);
        let r = root.clone();
        let canceller = thread::spawn(move || r.cancel());
        drop(leaf); // the middle node's last claim
        canceller.join().unwrap();
        assert!(dropped_once(&middle_freed));
    });
}

#[test]
fn linked_token_drop_racing_a_parent_drop_frees_both_once() {
    model(|| {
        let a = CancellationToken::new();
        let b = CancellationToken::new();
        let linked = CancellationToken::any_of([&a, &b]);
        let (a_freed, linked_freed) = (watch(&a), watch(&linked));
        let dropper = thread::spawn(move || drop(linked));
        drop(a);
        dropper.join().unwrap();
        assert!(dropped_once(&a_freed) && dropped_once(&linked_freed));
        b.cancel();
    });
}
