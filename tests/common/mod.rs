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
