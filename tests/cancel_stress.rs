//! Two-thread races on the token, many rounds: the AddressSanitizer script
//! runs them as often as `RIPCORD_STRESS_ROUNDS` says; plain `cargo test` a
//! few thousand times, Miri a handful.
//!
//! Each round hands fresh tokens to a long-lived peer thread, then both
//! threads act at once.
#![cfg(all(feature = "std", not(loom)))]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;

use ripcord::{CancelReason, CancellationToken};

fn rounds() -> usize {
    let default = if cfg!(miri) { 10 } else { 2_000 };
    std::env::var("RIPCORD_STRESS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `peer` on a long-lived thread for each item `make` produces, while
/// `local` runs on this thread at the same time.
fn race<A: Send + 'static, B>(
    make: impl Fn() -> (A, B),
    peer: impl Fn(A) + Send + 'static,
    local: impl Fn(B),
) {
    let (to_peer, from_main) = mpsc::sync_channel::<A>(1);
    let worker = thread::spawn(move || {
        for item in from_main {
            peer(item);
        }
    });
    for _ in 0..rounds() {
        let (a, b) = make();
        to_peer.send(a).unwrap();
        local(b);
    }
    drop(to_peer);
    worker.join().unwrap();
}

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
    // The canceller may hold the last reference to the child while it holds
    // the parent's lock; it must not drop it there (that would deadlock).
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
