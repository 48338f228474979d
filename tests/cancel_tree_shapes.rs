//! Deep chains and wide trees: cancelled without recursion, dropped without
//! recursion.
#![cfg(feature = "std")]

use ripcord::{CancelReason, CancellationToken};

const N: usize = if cfg!(miri) { 500 } else { 100_000 };

/// Runs `f` on a thread with a small stack, so recursion would be caught.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn deep_chain_cancels_every_level_without_overflow() {
    on_small_stack(|| {
        let root = CancellationToken::new();
        let mut chain = Vec::with_capacity(N);
        let mut last = root.clone();
        for _ in 0..N {
            last = last.child_token();
            chain.push(last.clone());
        }
        root.cancel_with(CancelReason::custom("deep"));
        assert!(chain.iter().all(CancellationToken::is_cancelled));
        assert_eq!(last.reason().unwrap().to_string(), "deep");
        drop(chain);
    });
}

#[test]
fn deep_chain_held_only_by_its_leaf_drops_without_overflow() {
    on_small_stack(|| {
        let mut last = CancellationToken::new();
        for _ in 0..N {
            last = last.child_token();
        }
        // Only the leaf is held: dropping it releases the whole chain.
        drop(last);
    });
}

#[test]
fn deep_chain_of_linked_tokens_drops_without_overflow() {
    on_small_stack(|| {
        let other = CancellationToken::new();
        let mut last = CancellationToken::new();
        for _ in 0..N / 10 {
            last = CancellationToken::any_of([&last, &other]);
        }
        other.cancel();
        assert!(last.is_cancelled());
        drop(last);
    });
}

#[test]
#[cfg_attr(miri, ignore = "starts the timer thread, which outlives the test")]
fn deep_chain_deadline_walk_finds_the_root_deadline() {
    on_small_stack(|| {
        let root = CancellationToken::new();
        let at = std::time::Instant::now() + std::time::Duration::from_secs(3600);
        root.cancel_at(at);
        let mut last = root.clone();
        for _ in 0..N {
            last = last.child_token();
        }
        assert_eq!(last.deadline(), Some(at));
        root.cancel();
    });
}

#[test]
fn wide_tree_cancels_every_child() {
    on_small_stack(|| {
        let root = CancellationToken::new();
        let children: Vec<_> = (0..N).map(|_| root.child_token()).collect();
        root.cancel();
        assert!(children.iter().all(CancellationToken::is_cancelled));
    });
}

#[test]
fn wide_tree_with_some_children_dropped_cancels_the_rest() {
    let root = CancellationToken::new();
    let mut children: Vec<_> = (0..N / 10).map(|_| root.child_token()).collect();
    // Drop every other child (frees slab slots), then add new ones (reuses them).
    let kept: Vec<_> = children.drain(..).step_by(2).collect();
    let fresh: Vec<_> = (0..N / 20).map(|_| root.child_token()).collect();
    root.cancel();
    assert!(
        kept.iter()
            .chain(&fresh)
            .all(CancellationToken::is_cancelled)
    );
}

#[test]
fn cancelling_a_middle_node_cancels_only_its_subtree() {
    let root = CancellationToken::new();
    let left = root.child_token();
    let right = root.child_token();
    let left_leaves: Vec<_> = (0..100).map(|_| left.child_token().child_token()).collect();
    let right_leaves: Vec<_> = (0..100).map(|_| right.child_token()).collect();
    left.cancel();
    assert!(left_leaves.iter().all(CancellationToken::is_cancelled));
    assert!(!right_leaves.iter().any(CancellationToken::is_cancelled));
    assert!(!root.is_cancelled());
}
