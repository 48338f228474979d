//! Memory: one allocation per channel, at most 48 bytes for a `u64`, and no
//! allocation at all when sending, receiving, polling or blocking.
//!
//! A counting global allocator records the calling thread's allocations (other
//! test threads do not disturb the counts).
#![cfg(all(feature = "std", not(loom)))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::task::{Context, Waker};
use std::thread;
use std::time::Duration;

use ripcord::oneshot;

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
    static BYTES: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counters are thread-local
// `Cell`s with const initializers, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        let _ = BYTES.try_with(|c| c.set(c.get() + layout.size()));
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations and bytes made by this thread while running `f`.
fn measure<R>(f: impl FnOnce() -> R) -> (R, usize, usize) {
    let (a0, b0) = (ALLOCS.with(Cell::get), BYTES.with(Cell::get));
    let r = f();
    (r, ALLOCS.with(Cell::get) - a0, BYTES.with(Cell::get) - b0)
}

#[test]
fn channel_is_one_allocation_of_at_most_48_bytes_for_u64() {
    let ((tx, rx), allocs, bytes) = measure(oneshot::channel::<u64>);
    assert_eq!(allocs, 1);
    assert!(bytes <= 48, "block for u64 is {bytes} bytes");
    println!("heap bytes per channel: u64 = {bytes}");
    drop((tx, rx));
    let (_, allocs, bytes) = measure(oneshot::channel::<[u8; 64]>);
    assert_eq!(allocs, 1);
    println!("heap bytes per channel: [u8; 64] = {bytes}");
    assert!(bytes <= 64 + 40);
}

#[test]
fn send_try_recv_and_poll_do_not_allocate() {
    let (tx, mut rx) = oneshot::channel::<u64>();
    let waker = Waker::noop();
    let ((), allocs, _) = measure(|| {
        assert!(rx.poll_recv(&mut Context::from_waker(waker)).is_pending());
        assert!(rx.try_recv().is_err());
        tx.send(1).unwrap();
        assert_eq!(
            rx.poll_recv(&mut Context::from_waker(waker)),
            std::task::Poll::Ready(Ok(1))
        );
    });
    assert_eq!(allocs, 0);
}

#[test]
fn blocking_recv_and_wait_closed_do_not_allocate() {
    let _ = thread::current(); // the handle exists before we count
    // The first blocking wait of the process reads the CPU count once (for
    // the hand-off policy); that one-time read may allocate.
    let (_warm_tx, mut warm_rx) = oneshot::channel::<u64>();
    let _ = warm_rx.recv_timeout(Duration::from_micros(1));
    let (tx, rx) = oneshot::channel::<u64>();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        tx.send(3).unwrap();
    });
    let (got, allocs, _) = measure(|| rx.recv());
    assert_eq!(got, Ok(3));
    assert_eq!(allocs, 0);
    sender.join().unwrap();

    let (mut tx, mut rx) = oneshot::channel::<u64>();
    let (timed_out, allocs, _) = measure(|| {
        let closed = tx.wait_closed_timeout(Duration::from_millis(2)).is_ok();
        let timed_out = rx.recv_timeout(Duration::from_millis(2)).is_err();
        !closed && timed_out
    });
    assert!(timed_out);
    assert_eq!(allocs, 0);
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        drop(rx);
    });
    let ((), allocs, _) = measure(|| tx.wait_closed());
    assert_eq!(allocs, 0);
    dropper.join().unwrap();
}

#[test]
fn a_select_of_up_to_four_events_allocates_nothing() {
    use ripcord::CancellationToken;
    use ripcord::select::Select;
    let a = CancellationToken::new();
    let b = CancellationToken::new();
    let (resolver, promise) = ripcord::promise::channel::<u8>();
    let (tx, mut rx) = oneshot::channel::<u8>();
    tx.send(1).unwrap();
    let (ready, allocs, _) = measure(|| {
        let mut sel = Select::new();
        sel.cancelled(&a);
        sel.cancelled(&b);
        sel.resolved(&promise);
        sel.recv(&mut rx);
        (sel.try_ready(), sel.wait())
    });
    assert_eq!(ready, (Some(3), 3));
    assert_eq!(allocs, 0, "a Select of four events is inline");
    // A fifth event moves the set to the heap: one allocation.
    let c = CancellationToken::new();
    c.cancel();
    let (_, allocs, _) = measure(|| {
        let mut sel = Select::new();
        for t in [&a, &b, &a, &b] {
            sel.cancelled(t);
        }
        sel.cancelled(&c);
        sel.wait()
    });
    assert!(allocs >= 1, "more than four: on the heap");
    drop(resolver);
}
