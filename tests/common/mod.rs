//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Wake, Waker};

/// A value that counts its drops, so tests can prove "exactly once".
#[derive(Debug)]
pub struct DropCounter {
    drops: Arc<AtomicUsize>,
    pub id: usize,
}

impl DropCounter {
    pub fn new(drops: &Arc<AtomicUsize>, id: usize) -> Self {
        DropCounter {
            drops: drops.clone(),
            id,
        }
    }
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker that counts wake-ups; `Arc::strong_count` shows how many clones live.
#[derive(Default)]
pub struct CountingWaker {
    pub wakes: AtomicUsize,
}

impl CountingWaker {
    pub fn new() -> (Arc<Self>, Waker) {
        let inner = Arc::new(CountingWaker::default());
        let waker = Waker::from(inner.clone());
        (inner, waker)
    }

    pub fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// Rounds for loops: small under Miri.
pub fn rounds(native: usize) -> usize {
    if cfg!(miri) { native.min(20) } else { native }
}

/// Rounds for the two-thread stress races: `RIPCORD_STRESS_ROUNDS` (the
/// AddressSanitizer script sets a million), else a few thousand (ten under Miri).
pub fn stress_rounds() -> usize {
    let default = if cfg!(miri) { 10 } else { 2_000 };
    std::env::var("RIPCORD_STRESS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `peer` on a long-lived thread for each item `make` produces, while
/// `local` runs on this thread at the same time, `stress_rounds()` times.
pub fn race<A: Send + 'static, B>(
    make: impl Fn() -> (A, B),
    peer: impl Fn(A) + Send + 'static,
    local: impl Fn(B),
) {
    let (to_peer, from_main) = std::sync::mpsc::sync_channel::<A>(1);
    let worker = std::thread::spawn(move || {
        for item in from_main {
            peer(item);
        }
    });
    for _ in 0..stress_rounds() {
        let (a, b) = make();
        to_peer.send(a).unwrap();
        local(b);
    }
    drop(to_peer);
    worker.join().unwrap();
}
