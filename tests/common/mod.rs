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

/// Runs each named `async fn` scenario (in the calling module) as a test on
/// every executor: tokio current-thread and multi-thread, async-std, smol,
/// `futures::executor::block_on` and futures' `ThreadPool`.
#[allow(unused_macros)]
macro_rules! on_every_runtime {
    ($($scenario:ident),* $(,)?) => {
        mod tokio_current_thread {
            $( #[test] fn $scenario() {
                tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
                    .block_on(super::$scenario());
            } )*
        }
        mod tokio_multi_thread {
            $( #[test] fn $scenario() {
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
                    .block_on(async { tokio::spawn(super::$scenario()).await.unwrap() });
            } )*
        }
        #[cfg(feature = "async-std")]
        mod async_std_runtime {
            $( #[test] fn $scenario() {
                async_std::task::block_on(async_std::task::spawn(super::$scenario()));
            } )*
        }
        mod smol_runtime {
            $( #[test] fn $scenario() {
                smol::block_on(smol::spawn(super::$scenario()));
            } )*
        }
        mod futures_executor {
            $( #[test] fn $scenario() {
                futures::executor::block_on(super::$scenario());
            } )*
        }
        mod futures_thread_pool {
            $( #[test] fn $scenario() {
                let pool = futures::executor::ThreadPool::new().unwrap();
                let (tx, rx) = ripcord::oneshot::channel();
                pool.spawn_ok(async move { super::$scenario().await; tx.send(()).unwrap(); });
                rx.recv().unwrap();
            } )*
        }
        mod pollster_block_on {
            $( #[test] fn $scenario() {
                pollster::block_on(super::$scenario());
            } )*
        }
    };
}

/// The composable timed drain: `drained().timeout(..)`, then `report()` (what
/// 0.1's `Shutdown::drained_timeout` did).
#[cfg(feature = "std")]
pub async fn drained_timeout<S: ripcord::time::Sleeper>(
    shutdown: &ripcord::Shutdown,
    sleeper: &S,
    timeout: std::time::Duration,
) -> Result<(), ripcord::shutdown::DrainReport> {
    use ripcord::FutureExt as _;
    match shutdown.drained().timeout(sleeper, timeout).await {
        Ok(()) => Ok(()),
        Err(_elapsed) => Err(shutdown.report()),
    }
}
