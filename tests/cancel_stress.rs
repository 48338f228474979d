//! Two-thread races on the token, many rounds: the AddressSanitizer script
//! runs them as often as `RIPCORD_STRESS_ROUNDS` says; plain `cargo test` a
//! few thousand times, Miri a handful.
//!
//! Each round hands fresh tokens to a long-lived peer thread, then both
//! threads act at once.
#![cfg(all(feature = "std", not(loom)))]

mod common;

use common::{DropCounter, race, stress_rounds};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ripcord::{CancelReason, CancellationToken};

#[test]
fn cancel_races_child_token_creation() {
    race(
        || {
            let t = CancellationToken::new();
            (t.clone(), t)
        },
        |t| t.cancel(),
        |t| {
            let child = t.child_token();
            t.wait();
            assert!(child.is_cancelled());
        },
    );
}

#[test]
fn cancel_races_a_child_drop() {
    race(
        || {
            let root = CancellationToken::new();
            let child = root.child_token();
            let grandchild = child.child_token();
            (child, (root, grandchild))
        },
        drop,
        |(root, grandchild)| {
            root.cancel_with(CancelReason::custom("x"));
            assert_eq!(grandchild.reason().unwrap().to_string(), "x");
        },
    );
}

#[test]
fn cancel_races_the_drop_of_a_leaf_child() {
    // A leaf being freed waits for the parent's lock to leave its slab, while
    // the canceller holding that lock marks it cancelled: the canceller must
    // not free it, nor the leaf outlive its slot.
    race(
        || {
            let root = CancellationToken::new();
            let n = if cfg!(miri) { 4 } else { 256 };
            let leaves: Vec<_> = (0..n).map(|_| root.child_token()).collect();
            (leaves, root)
        },
        drop,
        |root| {
            root.cancel();
            assert!(root.child_token().is_cancelled());
        },
    );
}

#[test]
fn parent_drop_races_child_cancel() {
    race(
        || {
            let root = CancellationToken::new();
            let child = root.child_token();
            (root, child)
        },
        drop,
        |child| {
            child.cancel();
            assert!(child.is_cancelled());
        },
    );
}

#[test]
fn cancel_races_a_blocking_waiter() {
    race(
        || {
            let root = CancellationToken::new();
            let leaf = root.child_token();
            (root, leaf)
        },
        |root| root.cancel(),
        |leaf| leaf.wait(),
    );
}

#[test]
fn cancel_races_an_async_waiter() {
    race(
        || {
            let t = CancellationToken::new();
            (t.clone(), t)
        },
        |t| t.cancel(),
        |t| futures::executor::block_on(t.cancelled()),
    );
}

#[test]
fn concurrent_cancel_with_agree_on_one_reason() {
    let peer_wins = Arc::new(AtomicUsize::new(0));
    race(
        || {
            let t = CancellationToken::new();
            let leaf = t.child_token();
            (t.clone(), (t, leaf))
        },
        move |t| {
            if t.cancel_with(CancelReason::custom("peer")) {
                peer_wins.fetch_add(1, Ordering::SeqCst);
            }
        },
        |(t, leaf)| {
            let won = t.cancel_with(CancelReason::custom("local"));
            // The peer may still be running; the reason is final either way.
            let reason = t.reason().unwrap().to_string();
            assert_eq!(reason, if won { "local" } else { "peer" });
            leaf.wait();
            assert_eq!(leaf.reason().unwrap().to_string(), reason);
        },
    );
}

#[test]
fn on_cancel_races_cancel_and_runs_exactly_once() {
    race(
        || {
            let t = CancellationToken::new();
            (t.clone(), t)
        },
        |t| t.cancel(),
        |t| {
            let count = Arc::new(AtomicUsize::new(0));
            let c = count.clone();
            let registration = t.on_cancel(move |_| {
                c.fetch_add(1, Ordering::SeqCst);
            });
            t.wait();
            // The callback runs on the cancelling thread after `wait` may
            // return: unregistering waits for it if it is running.
            let removed = registration.unregister();
            assert_eq!(count.load(Ordering::SeqCst), usize::from(!removed));
        },
    );
}

#[test]
fn linked_token_races_parent_cancel() {
    race(
        || {
            let a = CancellationToken::new();
            (a.clone(), a)
        },
        |a| a.cancel(),
        |a| {
            let b = CancellationToken::new();
            let linked = CancellationToken::any_of([&b, &a]);
            linked.wait();
            assert_eq!(linked.reason(), Some(CancelReason::Cancelled));
        },
    );
}

/// Leaves a callback holding a `DropCounter` in `token`: it is dropped once,
/// when it runs or when the token's node is freed.
fn watch(token: &CancellationToken, drops: &Arc<AtomicUsize>) {
    let counter = DropCounter::new(drops, 0);
    token.on_cancel(move |_| drop(counter));
}

/// Races the peer dropping what `make` hands it against `local`, where each
/// round `watch`es `per_round` tokens; then checks every one was freed (or
/// its callback run) exactly once.
fn each_freed_once<A: Send + 'static, B>(
    per_round: usize,
    make: impl Fn(&Arc<AtomicUsize>) -> (A, B),
    local: impl Fn(B),
) {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    race(move || make(&d), drop, local);
    assert_eq!(drops.load(Ordering::SeqCst), per_round * stress_rounds());
}

#[test]
fn parent_last_drop_races_child_last_drop_and_both_are_freed_once() {
    each_freed_once(
        2,
        |drops| {
            let root = CancellationToken::new();
            let child = root.child_token();
            watch(&root, drops);
            watch(&child, drops);
            (child, root)
        },
        drop,
    );
}

#[test]
fn cancel_pinning_a_child_races_its_last_drop_and_frees_it_once() {
    each_freed_once(
        4,
        |drops| {
            let root = CancellationToken::new();
            let children: Vec<_> = (0..4).map(|_| root.child_token()).collect();
            for child in &children {
                watch(child, drops); // a callback: the canceller pins the child
            }
            (children, root)
        },
        |root| root.cancel(),
    );
}

#[test]
fn last_child_drop_races_grandparent_cancel_and_frees_the_middle_once() {
    each_freed_once(
        1,
        |drops| {
            let root = CancellationToken::new();
            let middle = root.child_token();
            let leaf = middle.child_token();
            watch(&middle, drops);
            // The middle node lives on through `leaf` alone.
            (leaf, root)
        },
        |root| root.cancel(),
    );
}

#[test]
fn linked_token_drop_races_a_parent_drop_and_both_are_freed_once() {
    each_freed_once(
        2,
        |drops| {
            let a = CancellationToken::new();
            let b = CancellationToken::new();
            let linked = CancellationToken::any_of([&a, &b]);
            watch(&a, drops);
            watch(&linked, drops);
            (linked, (a, b))
        },
        |(a, b)| {
            drop(a);
            b.cancel();
        },
    );
}

#[test]
fn deadline_expiry_races_the_last_drop_and_frees_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    race(
        move || {
            let token = CancellationToken::new();
            watch(&token, &d);
            // Due at once: the timer thread pins it while the peer drops it.
            token.cancel_at(std::time::Instant::now() + std::time::Duration::from_micros(1));
            (token, ())
        },
        drop,
        |()| {},
    );
    // The timer thread may still hold the last pin of the final token.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while drops.load(Ordering::SeqCst) < stress_rounds() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(drops.load(Ordering::SeqCst), stress_rounds());
}
