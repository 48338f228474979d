//! Heap use of tokens, measured with a counting global allocator (this test
//! binary has its own allocator). Each thread counts its own net allocations,
//! so the test harness's threads do not disturb the numbers; every scenario
//! allocates and frees on the test's own thread.
#![cfg(feature = "std")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Mutex;
use std::task::{Context, Waker};
use std::time::Duration;

use ripcord::CancellationToken;

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    // `try_with`: a thread being torn down has no counter any more.
    let _ = LIVE.try_with(|live| live.set(live.get() + delta));
}

// SAFETY: forwards every call to `System` unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Tests in this file run one at a time (the timer thread is shared).
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn live() -> isize {
    LIVE.with(Cell::get)
}

const N: usize = if cfg!(miri) { 200 } else { 10_000 };

/// A live child token's heap cost. tokio-util's is measured side by side in
/// `bench/benches/memory.rs` (`cargo bench -p ripcord-bench --bench memory`);
/// this pins ripcord's own budget so a regression fails here.
const CHILD_BUDGET: f64 = 96.0;

#[test]
fn bytes_per_live_child_stay_within_budget() {
    let _serial = serial();
    let root = CancellationToken::new();
    let mut children = Vec::with_capacity(N);
    let before = live();
    for _ in 0..N {
        children.push(root.child_token());
    }
    let per_child = (live() - before) as f64 / N as f64;
    println!("heap bytes per live child: {per_child:.1}");
    assert!(per_child > 0.0, "the counting allocator saw the children");
    assert!(per_child <= CHILD_BUDGET, "{per_child} B per child");
    root.cancel();
}

#[test]
fn deep_chain_returns_all_memory_when_dropped() {
    let _serial = serial();
    let before = live();
    let root = CancellationToken::new();
    let mut last = root.clone();
    for _ in 0..N {
        last = last.child_token();
    }
    let chain_leaf = last.clone();
    root.cancel();
    assert!(chain_leaf.is_cancelled());
    drop((root, last, chain_leaf));
    assert_eq!(live(), before);
}

#[test]
fn wide_tree_returns_all_memory_when_dropped() {
    let _serial = serial();
    let before = live();
    {
        let root = CancellationToken::new();
        let children: Vec<_> = (0..N).map(|_| root.child_token()).collect();
        let grandchildren: Vec<_> = children.iter().map(|c| c.child_token()).collect();
        drop(children);
        root.cancel();
        assert!(grandchildren.iter().all(CancellationToken::is_cancelled));
    }
    assert_eq!(live(), before);
    {
        // Dropped without ever being cancelled.
        let root = CancellationToken::new();
        let children: Vec<_> = (0..N).map(|_| root.child_token()).collect();
        drop(root);
        drop(children);
    }
    assert_eq!(live(), before);
}

#[test]
fn creating_and_dropping_children_does_not_grow_the_parent() {
    let _serial = serial();
    let root = CancellationToken::new();
    drop(root.child_token()); // first child allocates the parent's slab
    let before = live();
    for _ in 0..N {
        drop(root.child_token());
    }
    assert_eq!(live(), before);
}

#[test]
fn linked_tokens_created_in_a_loop_do_not_grow_long_lived_parents() {
    let _serial = serial();
    let a = CancellationToken::new();
    let b = CancellationToken::new();
    drop(CancellationToken::any_of([&a, &b]));
    let before = live();
    for _ in 0..N {
        let linked = CancellationToken::any_of([&a, &b]);
        drop(linked.child_token());
    }
    assert_eq!(live(), before);
}

#[test]
fn repeated_select_loop_on_cancelled_does_not_grow() {
    let _serial = serial();
    let token = CancellationToken::new();
    let mut cx = Context::from_waker(Waker::noop());
    let mut round = || {
        let mut fut = std::pin::pin!(token.cancelled());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        // dropped here, as a losing `select!` branch would be
    };
    round(); // the event's list is allocated on first listen
    let before = live();
    for _ in 0..N {
        round();
    }
    assert_eq!(live(), before);
    token.cancel();
    futures::executor::block_on(token.cancelled());
}

#[test]
fn dropped_scoped_guards_free_their_callbacks() {
    let _serial = serial();
    let token = CancellationToken::new();
    drop(token.on_cancel_scoped(|_| {}));
    let before = live();
    for _ in 0..N {
        let big = vec![0u8; 64];
        drop(token.on_cancel_scoped(move |_| drop(big)));
    }
    assert_eq!(live(), before);
}

#[test]
fn unregistered_callbacks_free_their_memory() {
    let _serial = serial();
    let token = CancellationToken::new();
    assert!(token.on_cancel(|_| {}).unregister());
    let before = live();
    for _ in 0..N {
        let big = vec![0u8; 64];
        assert!(token.on_cancel(move |_| drop(big)).unregister());
    }
    assert_eq!(live(), before);
}

#[test]
fn discarded_handles_keep_callbacks_until_the_token_is_freed() {
    let _serial = serial();
    let before = live();
    let token = CancellationToken::new();
    for _ in 0..N / 10 {
        let big = vec![0u8; 64];
        let _ = token.on_cancel(move |_| drop(big));
    }
    assert!(live() > before, "the callbacks are still held");
    drop(token);
    assert_eq!(live(), before, "freeing the token dropped every callback");
}

#[test]
#[cfg_attr(miri, ignore = "starts the timer thread")]
fn dropped_tokens_with_pending_deadlines_free_their_memory() {
    let _serial = serial();
    // Start the timer thread and let it settle.
    let warm = CancellationToken::new();
    warm.cancel_after(Duration::from_millis(1));
    assert!(warm.wait_timeout(Duration::from_secs(10)).is_ok());
    drop(warm);
    let before = live();
    for _ in 0..N {
        let t = CancellationToken::new();
        t.cancel_after(Duration::from_secs(3600));
        drop(t);
    }
    assert_eq!(live(), before);
}
