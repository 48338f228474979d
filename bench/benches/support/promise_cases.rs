//! Scenario 8: promises (one value, any number of waiters), holding a `u64`.
//!
//! Peers, each a cell that a resolver side fills once and any number of
//! readers read, with the same value type and the same harness:
//!
//! - `OnceLock+Condvar`: `Arc` of a `std::sync::OnceLock<u64>` beside a
//!   `Mutex<bool>` + `Condvar` pair, the usual way to wait for a `OnceLock`
//!   (`set`, then set the flag under the mutex and `notify_all`). Blocking
//!   wait only.
//! - `tokio SetOnce`: `Arc<tokio::sync::SetOnce<u64>>`. Async wait only.
//! - `async-lock OnceCell`: `Arc<async_lock::OnceCell<u64>>`, resolved with
//!   `try_set`; `wait` (async) and `wait_blocking`.
//! - `futures Shared`: `futures::future::Shared` over a
//!   `futures::channel::oneshot::Receiver<u64>`. Async only.
//! - `tokio watch`: `tokio::sync::watch` of an `Option<u64>`, resolved with
//!   `send_if_modified` (the first value wins, as for every other peer),
//!   awaited with `wait_for(Option::is_some)`. Async only.
//!
//! A peer that lacks an operation (a blocking or an async wait) is "n/a";
//! nothing is emulated (no `block_on` around an async wait).
//!
//! Every peer hands out two kinds of handle from one `channel()`: a resolver
//! (kept by the side that fills it) and a promise (cloned for each waiter).
//! For the `Arc` peers both are clones of the same `Arc`.
//!
//! ripcord's promise is one more `impl PromisePeer`, first in the list.

#![allow(clippy::manual_async_fn)] // one `impl Future` signature for every peer, as the trait declares

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use futures::channel::oneshot;
use futures::future::Shared;

use super::peers::Kind;
use super::{Case, Runner, lazy, timed};

pub const S8: &str = "8 promises";

/// The value every peer holds.
pub const VALUE: u64 = 42;

/// Waiting tasks per promise in the async wake-up rows.
pub const ASYNC_WAITERS: [usize; 3] = [1, 100, 10_000];

/// Blocked threads per promise in the blocking wake-up rows.
pub const BLOCKED_THREADS: [usize; 2] = [1, 8];

/// At least this many waiters are woken per timed section in the async rows
/// (several promises when `n` is small), so that the two clock reads around
/// it do not dominate the 1-waiter row.
const MIN_WAITERS_PER_SECTION: usize = 256;

/// A promise implementation, used with `u64` values.
pub trait PromisePeer: 'static {
    /// The name printed in tables.
    const NAME: &'static str;
    /// `Ours` or `Promise` (a peer).
    const KIND: Kind;
    /// Has an async wait.
    const ASYNC: bool = true;
    /// Has a blocking wait.
    const BLOCKING: bool = true;

    /// The writing side.
    type Resolver: Send + 'static;
    /// The reading side; one clone per waiter.
    type Promise: Clone + Send + 'static;

    /// A fresh, unresolved promise.
    fn channel() -> (Self::Resolver, Self::Promise);
    /// Stores the value (the first one wins) and wakes every waiter; `true`
    /// if this call stored it.
    fn resolve(resolver: &mut Self::Resolver, value: u64) -> bool;
    /// The value, if it is there and this peer can read it without waiting.
    ///
    /// `futures Shared` only shows the value (`peek`) once some clone has
    /// been polled to completion; the get row sets that up, untimed.
    fn get(promise: &Self::Promise) -> Option<u64>;
    /// The value of a resolved promise, reading it the cheapest way this
    /// peer offers when the handle is not needed afterwards.
    fn get_owned(promise: Self::Promise) -> Option<u64> {
        Self::get(&promise)
    }
    /// Blocks the thread until the value is there.
    fn wait(_promise: &Self::Promise) -> u64 {
        unreachable!("{} has no blocking wait", Self::NAME)
    }
    /// Resolves to the value once it is there.
    fn resolved(_promise: &mut Self::Promise) -> impl Future<Output = u64> + '_ {
        async { unreachable!("{} has no async wait", Self::NAME) }
    }
}

/// `ripcord::promise`.
pub struct Ripcord;
impl PromisePeer for Ripcord {
    const NAME: &'static str = "ripcord";
    const KIND: Kind = Kind::Ours;
    type Resolver = ripcord::promise::Resolver<u64>;
    type Promise = ripcord::promise::Promise<u64>;
    fn channel() -> (Self::Resolver, Self::Promise) {
        ripcord::promise::channel()
    }
    fn resolve(resolver: &mut Self::Resolver, value: u64) -> bool {
        resolver.resolve(value).is_ok()
    }
    fn get(promise: &Self::Promise) -> Option<u64> {
        promise.get().copied()
    }
    fn wait(promise: &Self::Promise) -> u64 {
        *promise.wait().expect("resolved")
    }
    fn resolved(promise: &mut Self::Promise) -> impl Future<Output = u64> + '_ {
        async move { *promise.resolved().await.expect("resolved") }
    }
}

/// The shared block of the `OnceLock+Condvar` peer.
pub struct OnceLockCondvarInner {
    value: OnceLock<u64>,
    set: Mutex<bool>,
    cond: Condvar,
}

/// `std::sync::OnceLock` with a `Mutex<bool>` + `Condvar` for blocking waits.
pub struct OnceLockCondvar;
impl PromisePeer for OnceLockCondvar {
    const NAME: &'static str = "OnceLock+Condvar";
    const KIND: Kind = Kind::Promise;
    const ASYNC: bool = false;
    type Resolver = Arc<OnceLockCondvarInner>;
    type Promise = Arc<OnceLockCondvarInner>;
    fn channel() -> (Self::Resolver, Self::Promise) {
        let inner = Arc::new(OnceLockCondvarInner {
            value: OnceLock::new(),
            set: Mutex::new(false),
            cond: Condvar::new(),
        });
        (inner.clone(), inner)
    }
    fn resolve(resolver: &mut Self::Resolver, value: u64) -> bool {
        if resolver.value.set(value).is_err() {
            return false;
        }
        *resolver.set.lock().expect("not poisoned") = true;
        resolver.cond.notify_all();
        true
    }
    fn get(promise: &Self::Promise) -> Option<u64> {
        promise.value.get().copied()
    }
    fn wait(promise: &Self::Promise) -> u64 {
        if let Some(value) = promise.value.get() {
            return *value;
        }
        let mut set = promise.set.lock().expect("not poisoned");
        while !*set {
            set = promise.cond.wait(set).expect("not poisoned");
        }
        drop(set);
        *promise.value.get().expect("set before the flag")
    }
}

/// `tokio::sync::SetOnce`.
pub struct TokioSetOnce;
impl PromisePeer for TokioSetOnce {
    const NAME: &'static str = "tokio SetOnce";
    const KIND: Kind = Kind::Promise;
    const BLOCKING: bool = false;
    type Resolver = Arc<tokio::sync::SetOnce<u64>>;
    type Promise = Arc<tokio::sync::SetOnce<u64>>;
    fn channel() -> (Self::Resolver, Self::Promise) {
        let cell = Arc::new(tokio::sync::SetOnce::new());
        (cell.clone(), cell)
    }
    fn resolve(resolver: &mut Self::Resolver, value: u64) -> bool {
        resolver.set(value).is_ok()
    }
    fn get(promise: &Self::Promise) -> Option<u64> {
        promise.get().copied()
    }
    fn resolved(promise: &mut Self::Promise) -> impl Future<Output = u64> + '_ {
        async move { *promise.wait().await }
    }
}

/// `async_lock::OnceCell`.
pub struct AsyncLockOnceCell;
impl PromisePeer for AsyncLockOnceCell {
    const NAME: &'static str = "async-lock OnceCell";
    const KIND: Kind = Kind::Promise;
    type Resolver = Arc<async_lock::OnceCell<u64>>;
    type Promise = Arc<async_lock::OnceCell<u64>>;
    fn channel() -> (Self::Resolver, Self::Promise) {
        let cell = Arc::new(async_lock::OnceCell::new());
        (cell.clone(), cell)
    }
    fn resolve(resolver: &mut Self::Resolver, value: u64) -> bool {
        resolver.try_set(value).is_ok()
    }
    fn get(promise: &Self::Promise) -> Option<u64> {
        promise.get().copied()
    }
    fn wait(promise: &Self::Promise) -> u64 {
        *promise.wait_blocking()
    }
    fn resolved(promise: &mut Self::Promise) -> impl Future<Output = u64> + '_ {
        async move { *promise.wait().await }
    }
}

/// `futures::future::Shared` over a `futures::channel::oneshot::Receiver`.
pub struct FuturesShared;
impl PromisePeer for FuturesShared {
    const NAME: &'static str = "futures Shared";
    const KIND: Kind = Kind::Promise;
    const BLOCKING: bool = false;
    /// `send` consumes the sender: `None` once used.
    type Resolver = Option<oneshot::Sender<u64>>;
    type Promise = Shared<oneshot::Receiver<u64>>;
    fn channel() -> (Self::Resolver, Self::Promise) {
        let (tx, rx) = oneshot::channel();
        (Some(tx), rx.shared())
    }
    fn resolve(resolver: &mut Self::Resolver, value: u64) -> bool {
        resolver.take().is_some_and(|tx| tx.send(value).is_ok())
    }
    fn get(promise: &Self::Promise) -> Option<u64> {
        promise.peek().and_then(|r| r.as_ref().ok().copied())
    }
    fn get_owned(promise: Self::Promise) -> Option<u64> {
        // Polls the handle itself once (no clone).
        promise.now_or_never().and_then(Result::ok)
    }
    fn resolved(promise: &mut Self::Promise) -> impl Future<Output = u64> + '_ {
        promise.clone().map(|r| r.expect("sent"))
    }
}

/// `tokio::sync::watch` of an `Option<u64>`.
pub struct TokioWatch;
impl PromisePeer for TokioWatch {
    const NAME: &'static str = "tokio watch";
    const KIND: Kind = Kind::Promise;
    const BLOCKING: bool = false;
    type Resolver = tokio::sync::watch::Sender<Option<u64>>;
    type Promise = tokio::sync::watch::Receiver<Option<u64>>;
    fn channel() -> (Self::Resolver, Self::Promise) {
        tokio::sync::watch::channel(None)
    }
    fn resolve(resolver: &mut Self::Resolver, value: u64) -> bool {
        resolver.send_if_modified(|slot| {
            if slot.is_some() {
                return false;
            }
            *slot = Some(value);
            true
        })
    }
    fn get(promise: &Self::Promise) -> Option<u64> {
        *promise.borrow()
    }
    fn resolved(promise: &mut Self::Promise) -> impl Future<Output = u64> + '_ {
        async move {
            let value = promise
                .wait_for(Option::is_some)
                .await
                .expect("sender alive");
            value.expect("some")
        }
    }
}

/// Calls `$f::<Peer>($args)` for every promise peer, in table order,
/// collecting into a `Vec`.
macro_rules! for_each_promise {
    ($f:ident ( $($arg:expr),* )) => {
        vec![
            $f::<crate::support::promise_cases::Ripcord>($($arg),*),
            $f::<crate::support::promise_cases::OnceLockCondvar>($($arg),*),
            $f::<crate::support::promise_cases::TokioSetOnce>($($arg),*),
            $f::<crate::support::promise_cases::AsyncLockOnceCell>($($arg),*),
            $f::<crate::support::promise_cases::FuturesShared>($($arg),*),
            $f::<crate::support::promise_cases::TokioWatch>($($arg),*),
        ]
    };
}
#[allow(unused_imports)] // used by `benches/memory.rs` only
pub(crate) use for_each_promise;

fn case<P: PromisePeer>(op: &'static str, run: Option<Runner>) -> Case {
    Case {
        scenario: S8,
        op,
        peer: P::NAME,
        kind: P::KIND,
        run,
    }
}

pub const OP_GET: &str = "get() on a resolved promise";
pub const OP_CREATE: &str = "create + resolve + get";

fn op_tasks(n: usize) -> &'static str {
    match n {
        1 => "resolve waking 1 async task (per waiter)",
        100 => "resolve waking 100 async tasks (per waiter)",
        10_000 => "resolve waking 10,000 async tasks (per waiter)",
        _ => unreachable!("no row for {n} tasks"),
    }
}

fn op_threads(k: usize) -> &'static str {
    match k {
        1 => "resolve waking 1 blocked thread (per waiter)",
        8 => "resolve waking 8 blocked threads (per waiter)",
        _ => unreachable!("no row for {k} threads"),
    }
}

/// All promise cases, grouped by operation.
pub fn cases() -> Vec<Case> {
    let mut all = Vec::new();
    all.extend(for_each_promise!(get_resolved()));
    all.extend(for_each_promise!(create_resolve_get()));
    for n in ASYNC_WAITERS {
        all.extend(for_each_promise!(wake_tasks(n)));
    }
    for k in BLOCKED_THREADS {
        all.extend(for_each_promise!(wake_threads(k)));
    }
    all
}

/// A resolved promise whose value `get` shows (untimed set-up).
fn resolved_promise<P: PromisePeer>() -> (P::Resolver, P::Promise) {
    let (mut resolver, promise) = P::channel();
    assert!(P::resolve(&mut resolver, VALUE));
    // Completes `futures Shared` (a clone polled to the end); a plain read
    // for everyone else.
    assert_eq!(P::get_owned(promise.clone()), Some(VALUE));
    assert_eq!(P::get(&promise), Some(VALUE), "{}", P::NAME);
    (resolver, promise)
}

fn get_resolved<P: PromisePeer>() -> Case {
    let (resolver, promise) = resolved_promise::<P>();
    let run = timed(move || {
        let _keep = &resolver;
        black_box(P::get(black_box(&promise)));
    });
    case::<P>(OP_GET, run)
}

fn create_resolve_get<P: PromisePeer>() -> Case {
    let run = timed(|| {
        let (mut resolver, promise) = P::channel();
        black_box(P::resolve(&mut resolver, black_box(VALUE)));
        black_box(P::get_owned(black_box(promise)));
        drop(resolver);
    });
    case::<P>(OP_CREATE, run)
}

/// A runner whose `iters` counts waiters: it runs as many rounds of
/// `per_round` waiters as needed (set-up untimed inside `round`) and returns
/// the time for exactly `iters` waiters, so that the report's time per
/// operation is the time per waiter and batch calibration still sees the
/// real cost of a round.
fn per_waiter(per_round: usize, mut round: impl FnMut() -> Duration + 'static) -> Runner {
    let per_round = per_round as u64;
    Box::new(move |iters| {
        let rounds = iters.div_ceil(per_round).max(1);
        let mut total = Duration::ZERO;
        for _ in 0..rounds {
            total += round();
        }
        total.mul_f64(iters as f64 / (rounds * per_round) as f64)
    })
}

/// A task's waker: counts its wake-ups. Every waiter gets its own (as tasks
/// do), an `Arc` like most executors' wakers.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// One timed section of an async wake-up row: `m` promises with `n` waiting
/// futures each (a clone of the promise per waiter, the future boxed and
/// polled once with its own counting waker; untimed). Timed: for each
/// promise, `resolve`, then the second poll of each of its futures, which
/// must be `Ready` with the value. Every waker must have been woken.
fn async_section<P: PromisePeer>(m: usize, n: usize) -> Duration {
    let mut resolvers = Vec::with_capacity(m);
    let mut handles: Vec<Vec<P::Promise>> = Vec::with_capacity(m);
    for _ in 0..m {
        let (resolver, promise) = P::channel();
        resolvers.push(resolver);
        handles.push(vec![promise; n]);
    }
    let counters: Vec<Arc<CountingWaker>> = (0..m * n)
        .map(|_| Arc::new(CountingWaker(AtomicUsize::new(0))))
        .collect();
    let wakers: Vec<Waker> = counters.iter().map(|c| Waker::from(c.clone())).collect();
    let mut futures: Vec<Vec<Pin<Box<_>>>> = handles
        .iter_mut()
        .map(|hs| hs.iter_mut().map(|h| Box::pin(P::resolved(h))).collect())
        .collect();
    for (fs, ws) in futures.iter_mut().zip(wakers.chunks(n)) {
        for (f, w) in fs.iter_mut().zip(ws) {
            let pending = f.as_mut().poll(&mut Context::from_waker(w)).is_pending();
            assert!(pending, "{}: ready before resolve", P::NAME);
        }
    }
    let mut stored = true;
    let start = Instant::now();
    for ((resolver, fs), ws) in resolvers.iter_mut().zip(&mut futures).zip(wakers.chunks(n)) {
        stored &= P::resolve(resolver, black_box(VALUE));
        for (f, w) in fs.iter_mut().zip(ws) {
            match f.as_mut().poll(&mut Context::from_waker(w)) {
                Poll::Ready(value) => {
                    black_box(value);
                }
                Poll::Pending => panic!("{}: pending after resolve", P::NAME),
            }
        }
    }
    let took = start.elapsed();
    assert!(stored, "{}: resolve failed", P::NAME);
    assert!(
        counters.iter().all(|c| c.0.load(Ordering::Relaxed) >= 1),
        "{}: a waiter was not woken",
        P::NAME
    );
    drop(futures);
    took
}

fn wake_tasks<P: PromisePeer>(n: usize) -> Case {
    let run = P::ASYNC.then(|| {
        let m = MIN_WAITERS_PER_SECTION.div_ceil(n);
        per_waiter(m * n, move || async_section::<P>(m, n))
    });
    case::<P>(op_tasks(n), run)
}

// ---- blocked threads ------------------------------------------------------------------

/// The calling thread's kernel thread id, if `/proc/thread-self` shows it.
fn current_tid() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// The scheduler state of thread `tid` of this process (`S`: asleep, as a
/// thread blocked on a futex is; `R`: running or runnable); `None` if
/// `/proc` cannot tell.
fn thread_state(tid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// Waits until every waiter thread is blocked: asleep in the kernel in two
/// scans 20 µs apart (a thread that only briefly sleeps on a contended lock on
/// its way into the wait is seen running in one of them). Gives up after
/// 100 ms, and then, or without `/proc`, sleeps 2 ms instead.
fn until_blocked(peer: &str, tids: &[Option<u32>]) {
    let states =
        || -> Option<String> { tids.iter().map(|tid| tid.and_then(thread_state)).collect() };
    let all_asleep = || states().map(|s| s.chars().all(|c| c == 'S'));
    let give_up = Instant::now() + Duration::from_millis(100);
    let mut confirmed = 0;
    while confirmed < 2 {
        match all_asleep() {
            None => {
                std::thread::sleep(Duration::from_millis(2));
                return;
            }
            Some(true) => confirmed += 1,
            Some(false) => confirmed = 0,
        }
        if Instant::now() > give_up {
            eprintln!(
                "note: {peer} waiter threads not all seen blocked after 100 ms (states {})",
                states().unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(2));
            return;
        }
        std::thread::sleep(Duration::from_micros(20));
    }
}

/// `k` persistent waiter threads (on the worker CPU) that block in `wait`
/// on each promise they are handed. One round (set-up untimed): a fresh
/// promise, a clone to every thread, until all are blocked in the kernel;
/// timed: `resolve` until every thread has returned from `wait` (the
/// measuring thread spins on a counter).
fn blocked_runner<P: PromisePeer>(k: usize) -> Runner {
    let ready = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let jobs: Vec<Sender<P::Promise>> = (0..k)
        .map(|i| {
            let (job, queue) = std::sync::mpsc::channel::<P::Promise>();
            let (ready, done, tid_tx) = (ready.clone(), done.clone(), tid_tx.clone());
            std::thread::Builder::new()
                .name(format!("bench-waiter-{i}"))
                .spawn(move || {
                    super::pin_worker();
                    tid_tx.send(current_tid()).expect("measuring thread gone");
                    for promise in queue {
                        ready.fetch_add(1, Ordering::Release);
                        assert_eq!(black_box(P::wait(&promise)), VALUE);
                        done.fetch_add(1, Ordering::Release);
                    }
                })
                .expect("spawn waiter");
            job
        })
        .collect();
    let tids: Vec<Option<u32>> = (0..k)
        .map(|_| tid_rx.recv().expect("waiter thread died"))
        .collect();
    per_waiter(k, move || {
        let (mut resolver, promise) = P::channel();
        ready.store(0, Ordering::Relaxed);
        done.store(0, Ordering::Relaxed);
        for job in &jobs {
            job.send(promise.clone()).expect("waiter thread died");
        }
        while ready.load(Ordering::Acquire) < k {
            std::thread::yield_now();
        }
        until_blocked(P::NAME, &tids);
        let start = Instant::now();
        let stored = P::resolve(&mut resolver, black_box(VALUE));
        while done.load(Ordering::Acquire) < k {
            std::hint::spin_loop();
        }
        let took = start.elapsed();
        assert!(stored, "{}: resolve failed", P::NAME);
        took
    })
}

fn wake_threads<P: PromisePeer>(k: usize) -> Case {
    let run = P::BLOCKING.then(|| lazy(move || blocked_runner::<P>(k)));
    case::<P>(op_threads(k), run)
}
