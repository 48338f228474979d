//! Scenario 7 of the benchmark issue: cancellation tokens.
//!
//! Peers: `tokio_util::sync::CancellationToken` (the target's reference),
//! `triggered` (a flat trigger: no children), and the floor: a bare
//! `event_listener::Event` beside an `AtomicBool`, the least any token with
//! async and blocking waiters can do (no tree, no reason).
//!
//! ripcord's own token is one more `impl TokenPeer`, first in the list.

#![allow(clippy::manual_async_fn)] // explicit `+ Send` futures, as the trait declares

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use event_listener::{Event, Listener as _};

use super::peers::Kind;
use super::{Case, Runner, poll_ready, timed};

pub const S7: &str = "7 cancellation tokens";

/// Children created under one parent in the fan-out case.
pub const FAN_OUT: u32 = 10_000;

/// A cancellation token implementation.
pub trait TokenPeer: 'static {
    /// The name printed in tables.
    const NAME: &'static str;
    /// `Ours`, `Token` (a peer) or `Floor`.
    const KIND: Kind;
    /// Has child tokens.
    const TREE: bool = true;
    /// Has a blocking wait.
    const BLOCKING: bool = true;

    /// A handle; clones share the token.
    type Token: Clone + Send + Sync + 'static;

    /// A fresh token.
    fn new() -> Self::Token;
    /// Cancels it.
    fn cancel(token: &Self::Token);
    /// Whether it is cancelled.
    fn is_cancelled(token: &Self::Token) -> bool;
    /// A child token, cancelled with its parent.
    fn child(_token: &Self::Token) -> Self::Token {
        unreachable!("{} has no child tokens", Self::NAME)
    }
    /// Blocks the thread until cancelled.
    fn wait(_token: &Self::Token) {
        unreachable!("{} has no blocking wait", Self::NAME)
    }
    /// Resolves once cancelled.
    fn cancelled(token: &Self::Token) -> impl Future<Output = ()> + Send + '_;
}

/// `tokio_util::sync::CancellationToken`.
pub struct TokioUtil;
impl TokenPeer for TokioUtil {
    const NAME: &'static str = "tokio-util";
    const KIND: Kind = Kind::Token;
    const BLOCKING: bool = false;
    type Token = tokio_util::sync::CancellationToken;
    fn new() -> Self::Token {
        tokio_util::sync::CancellationToken::new()
    }
    fn cancel(token: &Self::Token) {
        token.cancel();
    }
    fn is_cancelled(token: &Self::Token) -> bool {
        token.is_cancelled()
    }
    fn child(token: &Self::Token) -> Self::Token {
        token.child_token()
    }
    fn cancelled(token: &Self::Token) -> impl Future<Output = ()> + Send + '_ {
        token.cancelled()
    }
}

/// `triggered` (a `Trigger` and its `Listener`s; no children).
pub struct Triggered;
impl TokenPeer for Triggered {
    const NAME: &'static str = "triggered";
    const KIND: Kind = Kind::Token;
    const TREE: bool = false;
    type Token = (triggered::Trigger, triggered::Listener);
    fn new() -> Self::Token {
        triggered::trigger()
    }
    fn cancel(token: &Self::Token) {
        token.0.trigger();
    }
    fn is_cancelled(token: &Self::Token) -> bool {
        token.1.is_triggered()
    }
    fn wait(token: &Self::Token) {
        token.1.wait();
    }
    fn cancelled(token: &Self::Token) -> impl Future<Output = ()> + Send + '_ {
        token.1.clone()
    }
}

/// The floor: an `AtomicBool` and an `event_listener::Event`, nothing else.
pub struct Floor;

/// The floor's shared state.
pub struct FloorInner {
    cancelled: AtomicBool,
    event: Event,
}

impl TokenPeer for Floor {
    const NAME: &'static str = "floor: Event+AtomicBool";
    const KIND: Kind = Kind::Floor;
    const TREE: bool = false;
    type Token = Arc<FloorInner>;
    fn new() -> Self::Token {
        Arc::new(FloorInner {
            cancelled: AtomicBool::new(false),
            event: Event::new(),
        })
    }
    fn cancel(token: &Self::Token) {
        if !token.cancelled.swap(true, Ordering::AcqRel) {
            token.event.notify(usize::MAX);
        }
    }
    fn is_cancelled(token: &Self::Token) -> bool {
        token.cancelled.load(Ordering::Acquire)
    }
    fn wait(token: &Self::Token) {
        while !Self::is_cancelled(token) {
            let listener = token.event.listen();
            if Self::is_cancelled(token) {
                break;
            }
            listener.wait();
        }
    }
    fn cancelled(token: &Self::Token) -> impl Future<Output = ()> + Send + '_ {
        async move {
            while !Self::is_cancelled(token) {
                let listener = token.event.listen();
                if Self::is_cancelled(token) {
                    break;
                }
                listener.await;
            }
        }
    }
}

/// `ripcord::CancellationToken`.
pub struct Ripcord;
impl TokenPeer for Ripcord {
    const NAME: &'static str = "ripcord";
    const KIND: Kind = Kind::Ours;
    type Token = ripcord::CancellationToken;
    fn new() -> Self::Token {
        ripcord::CancellationToken::new()
    }
    fn cancel(token: &Self::Token) {
        token.cancel();
    }
    fn is_cancelled(token: &Self::Token) -> bool {
        token.is_cancelled()
    }
    fn child(token: &Self::Token) -> Self::Token {
        token.child_token()
    }
    fn wait(token: &Self::Token) {
        token.wait();
    }
    fn cancelled(token: &Self::Token) -> impl Future<Output = ()> + Send + '_ {
        token.cancelled()
    }
}

macro_rules! for_each_token {
    ($f:ident ( $($arg:expr),* )) => {
        vec![
            $f::<Ripcord>($($arg),*),
            $f::<TokioUtil>($($arg),*),
            $f::<Triggered>($($arg),*),
            $f::<Floor>($($arg),*),
        ]
    };
}

fn case<P: TokenPeer>(op: &'static str, run: Option<Runner>) -> Case {
    Case {
        scenario: S7,
        op,
        peer: P::NAME,
        kind: P::KIND,
        run,
    }
}

/// All token cases, grouped by operation.
pub fn cases() -> Vec<Case> {
    let mut all = Vec::new();
    all.extend(for_each_token!(is_cancelled_one_thread()));
    all.extend(for_each_token!(is_cancelled_two_threads()));
    all.extend(for_each_token!(new_cancel()));
    all.extend(for_each_token!(child_drop()));
    all.extend(for_each_token!(cancelled_await()));
    all.extend(for_each_token!(fan_out()));
    all.extend(for_each_token!(blocking_wait()));
    all
}

fn is_cancelled_one_thread<P: TokenPeer>() -> Case {
    let token = P::new();
    let run = timed(move || {
        black_box(P::is_cancelled(black_box(&token)));
    });
    case::<P>("is_cancelled (one thread)", run)
}

/// The measured thread checks while a second thread checks a clone of the
/// same token in a loop for the whole batch.
fn is_cancelled_two_threads<P: TokenPeer>() -> Case {
    let token = P::new();
    let run: Runner = Box::new(move |iters| {
        let other = token.clone();
        let started = AtomicBool::new(false);
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                super::pin_worker();
                started.store(true, Ordering::Release);
                while !stop.load(Ordering::Relaxed) {
                    black_box(P::is_cancelled(black_box(&other)));
                }
            });
            while !started.load(Ordering::Acquire) {
                std::hint::spin_loop();
            }
            let start = Instant::now();
            for _ in 0..iters {
                black_box(P::is_cancelled(black_box(&token)));
            }
            let took = start.elapsed();
            stop.store(true, Ordering::Relaxed);
            took
        })
    });
    case::<P>("is_cancelled (2 threads, same token)", Some(run))
}

fn new_cancel<P: TokenPeer>() -> Case {
    let run = timed(|| {
        let token = P::new();
        P::cancel(black_box(&token));
        drop(token);
    });
    case::<P>("new + cancel", run)
}

fn child_drop<P: TokenPeer>() -> Case {
    let run = P::TREE.then(|| {
        let parent = P::new();
        timed(move || drop(black_box(P::child(&parent)))).expect("runner")
    });
    case::<P>("child_token + drop", run)
}

fn cancelled_await<P: TokenPeer>() -> Case {
    let token = P::new();
    P::cancel(&token);
    let run = timed(move || {
        let fut = pin!(P::cancelled(black_box(&token)));
        poll_ready(fut);
    });
    case::<P>("cancelled().await after cancel", run)
}

/// One iteration: build a parent with `FAN_OUT` children (not timed), then time
/// the parent's `cancel`. The reported time is per fan-out (divide by
/// `FAN_OUT` for the time per child).
fn fan_out<P: TokenPeer>() -> Case {
    let run = P::TREE.then(|| {
        Box::new(|iters: u64| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let parent = P::new();
                let children: Vec<_> = (0..FAN_OUT).map(|_| P::child(&parent)).collect();
                let start = Instant::now();
                P::cancel(black_box(&parent));
                total += start.elapsed();
                drop(children);
            }
            // Per fan-out, not per child: dividing here would make the
            // calibration think an iteration is 10,000 times cheaper than its
            // untimed set-up. Per child = this / 10,000 (ratios are equal).
            total
        }) as Runner
    });
    case::<P>("cancel fan-out to 10,000 children (per fan-out)", run)
}

/// A persistent worker thread cancels each token it is handed (over a std
/// mpsc job queue, the same for every peer); the caller blocks in `wait`.
fn blocking_wait<P: TokenPeer>() -> Case {
    let run = P::BLOCKING.then(|| {
        let (jobs, queue) = std::sync::mpsc::channel::<P::Token>();
        std::thread::Builder::new()
            .name("bench-canceller".into())
            .spawn(move || {
                super::pin_worker();
                for token in queue {
                    P::cancel(&token);
                }
            })
            .expect("spawn worker");
        Box::new(move |iters: u64| {
            let start = Instant::now();
            for _ in 0..iters {
                let token = P::new();
                if jobs.send(token.clone()).is_err() {
                    unreachable!("worker gone");
                }
                P::wait(&token);
            }
            start.elapsed()
        }) as Runner
    });
    case::<P>("blocking wait, cancelled by another thread", run)
}
