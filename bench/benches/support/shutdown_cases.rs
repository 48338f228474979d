//! Scenario 10: graceful shutdown (a coordinator counting in-flight work).
//!
//! Peers, each used through its default API, the way a user gets it:
//!
//! - `ripcord`: `ripcord::shutdown::Shutdown`; `guard()` (count only: no name,
//!   call sites not recorded), `track(fut)`, `trigger()`, blocking `wait()`.
//! - `tokio-util TaskTracker`: `tokio_util::task::TaskTracker`; `token()` (a
//!   `TaskTrackerToken`), `track_future(fut)`, `close()`, then `wait()` (a
//!   future) under `futures::executor::block_on` (it has no blocking wait).
//! - `swansong`: `swansong::Swansong::new()`; `guard()`, `guarded(fut)` (a
//!   `Guarded<F>`, which holds a guard until it is dropped; not
//!   `interrupt(fut)`, which stops the future on shutdown and holds no
//!   guard), `shut_down()`, then the returned `ShutdownCompletion`'s blocking
//!   `block()`.
//!
//! Rows:
//!
//! - One thread: guard create + drop; `track(async {})` polled once to
//!   completion with a no-op waker, then dropped; and, informational, a named
//!   guard (`guard_named`) against the same peers (tokio-util has no names or
//!   diagnostics: its plain token; swansong plain, and with its opt-in
//!   diagnostics, `Swansong::with_guard_report()`), beside ripcord's own
//!   diagnostics mode (`guard()` after `record_call_sites(true)`).
//! - Two threads contending (`10a`-`10c`, the harness's three placements):
//!   two threads share one coordinator and each runs the same operation
//!   `iters` times; a batch is timed from the first thread's start to the
//!   last one's end and the time per operation is per thread (batch wall time
//!   / `iters`). Apart: the measuring thread on CPU 0 and a helper on CPU 1;
//!   together: both on CPU 0; oversubscribed: [`PAIRS`](super::PAIRS) such
//!   pairs at once, each with its own coordinator, 8 unpinned threads.
//! - Drain: a fresh coordinator and 10,000 guards made up front (untimed), the
//!   guards split over 8 persistent unpinned dropper threads (1,250 each);
//!   timed from the trigger (`trigger` / `close` / `shut_down`) through the
//!   droppers dropping their guards until the measuring thread's blocking
//!   wait returns. The time is per drain.

#![allow(clippy::manual_async_fn)] // one `impl Future` signature for every peer, as the trait declares

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use super::peers::Kind;
use super::{Case, Placement, Runner, lazy, poll_ready, timed, wall};

/// One thread.
pub const S10: &str = "10 shutdown, one thread";
/// The drain row.
pub const S10_DRAIN: &str = "10 shutdown drain, 8 dropper threads";

/// Two threads contending on one coordinator, in placement `p` (its letter
/// and name are part of the title, as in scenario 3).
pub fn s10(p: Placement) -> &'static str {
    match p {
        Placement::Apart => "10a shutdown, 2 threads contending; apart (2 CPUs)",
        Placement::Together => "10b shutdown, 2 threads contending; together (1 CPU)",
        Placement::Oversubscribed => {
            "10c shutdown, 2 threads contending; oversubscribed (four pairs, unpinned)"
        }
    }
}

pub const OP_GUARD: &str = "guard create + drop";
pub const OP_TRACK: &str = "track(async {}) + poll to completion + drop";
pub const OP_NAMED: &str = "named guard create + drop (informational)";
pub const OP_DRAIN: &str = "drain of 10,000 guards across 8 threads (per drain)";

/// Guards per drain.
pub const DRAIN_GUARDS: usize = 10_000;
/// Threads dropping them.
pub const DRAIN_THREADS: usize = 8;

/// The tokio-util peer's name.
pub const TASK_TRACKER: &str = "tokio-util TaskTracker";
/// The swansong peer's name.
pub const SWANSONG: &str = "swansong";
/// Swansong with its opt-in diagnostics (informational row only).
pub const SWANSONG_REPORT: &str = "swansong with_guard_report";
/// ripcord's diagnostics mode, `guard()` after `record_call_sites(true)`
/// (informational row only).
pub const RIPCORD_CALL_SITES: &str = "ripcord record_call_sites";

/// The name every named guard gets (a `&'static str`, the cheapest name).
const GUARD_NAME: &str = "request";

/// A graceful-shutdown coordinator.
pub trait ShutdownPeer: 'static {
    /// The name printed in tables.
    const NAME: &'static str;
    /// `Ours` or `Shutdown` (a peer).
    const KIND: Kind;

    /// The coordinator; clones share it.
    type Coordinator: Clone + Send + Sync + 'static;
    /// One piece of in-flight work, counted until dropped.
    type Guard: Send + 'static;
    /// What triggering hands to the drain wait.
    type Pending;

    /// A fresh coordinator, not triggered.
    fn new() -> Self::Coordinator;
    /// A guard (the default, cheapest kind).
    fn guard(c: &Self::Coordinator) -> Self::Guard;
    /// `future`, holding a guard while it lives.
    fn track<F: Future>(c: &Self::Coordinator, future: F) -> impl Future<Output = F::Output>;
    /// Starts the shutdown (no new work; the drain can finish).
    fn trigger(c: &Self::Coordinator) -> Self::Pending;
    /// Blocks the thread until triggered and every guard is dropped.
    fn wait(c: &Self::Coordinator, pending: Self::Pending);
    /// Whether the drain is over.
    fn is_drained(c: &Self::Coordinator) -> bool;
}

/// `ripcord::shutdown::Shutdown`.
pub struct Ripcord;
impl ShutdownPeer for Ripcord {
    const NAME: &'static str = "ripcord";
    const KIND: Kind = Kind::Ours;
    type Coordinator = ripcord::shutdown::Shutdown;
    type Guard = ripcord::shutdown::ShutdownGuard;
    type Pending = ();
    fn new() -> Self::Coordinator {
        ripcord::shutdown::Shutdown::new()
    }
    fn guard(c: &Self::Coordinator) -> Self::Guard {
        c.guard().expect("not drained")
    }
    fn track<F: Future>(c: &Self::Coordinator, future: F) -> impl Future<Output = F::Output> {
        c.track(future).expect("not drained")
    }
    fn trigger(c: &Self::Coordinator) {
        c.trigger();
    }
    fn wait(c: &Self::Coordinator, _: ()) {
        c.wait();
    }
    fn is_drained(c: &Self::Coordinator) -> bool {
        c.is_drained()
    }
}

/// `tokio_util::task::TaskTracker`.
pub struct TokioUtil;
impl ShutdownPeer for TokioUtil {
    const NAME: &'static str = TASK_TRACKER;
    const KIND: Kind = Kind::Shutdown;
    type Coordinator = tokio_util::task::TaskTracker;
    type Guard = tokio_util::task::task_tracker::TaskTrackerToken;
    type Pending = ();
    fn new() -> Self::Coordinator {
        tokio_util::task::TaskTracker::new()
    }
    fn guard(c: &Self::Coordinator) -> Self::Guard {
        c.token()
    }
    fn track<F: Future>(c: &Self::Coordinator, future: F) -> impl Future<Output = F::Output> {
        c.track_future(future)
    }
    fn trigger(c: &Self::Coordinator) {
        c.close();
    }
    fn wait(c: &Self::Coordinator, _: ()) {
        // No blocking wait: its future, on the calling thread.
        futures::executor::block_on(c.wait());
    }
    fn is_drained(c: &Self::Coordinator) -> bool {
        c.is_closed() && c.is_empty()
    }
}

/// `swansong::Swansong`.
pub struct Swansong;
impl ShutdownPeer for Swansong {
    const NAME: &'static str = SWANSONG;
    const KIND: Kind = Kind::Shutdown;
    type Coordinator = swansong::Swansong;
    type Guard = swansong::Guard;
    type Pending = swansong::ShutdownCompletion;
    fn new() -> Self::Coordinator {
        swansong::Swansong::new()
    }
    fn guard(c: &Self::Coordinator) -> Self::Guard {
        c.guard()
    }
    fn track<F: Future>(c: &Self::Coordinator, future: F) -> impl Future<Output = F::Output> {
        c.guarded(future)
    }
    fn trigger(c: &Self::Coordinator) -> swansong::ShutdownCompletion {
        c.shut_down()
    }
    fn wait(_: &Self::Coordinator, pending: swansong::ShutdownCompletion) {
        pending.block();
    }
    fn is_drained(c: &Self::Coordinator) -> bool {
        c.state().is_complete()
    }
}

/// Calls `$f::<Peer>($args)` for every shutdown peer, in table order,
/// collecting into a `Vec`.
macro_rules! for_each_shutdown {
    ($f:ident ( $($arg:expr),* )) => {
        vec![
            $f::<Ripcord>($($arg),*),
            $f::<TokioUtil>($($arg),*),
            $f::<Swansong>($($arg),*),
        ]
    };
}

/// All shutdown cases: the one-thread rows, the contending rows once per
/// placement in `placements`, then the drain. ripcord first in every row.
pub fn cases_in(placements: &[Placement]) -> Vec<Case> {
    let mut all = Vec::new();
    all.extend(for_each_shutdown!(guard_one_thread()));
    all.extend(for_each_shutdown!(track_one_thread()));
    all.extend(named_guards());
    for &p in placements {
        all.extend(for_each_shutdown!(guard_contended(p)));
        all.extend(for_each_shutdown!(track_contended(p)));
    }
    all.extend(for_each_shutdown!(drain()));
    all
}

/// The target of the row with operation `op`, in one line, and its limits:
/// ripcord ÷ tokio-util's `TaskTracker` and ripcord ÷ swansong at most
/// these (`None`: no limit).
pub fn target(op: &str) -> (&'static str, Option<f64>, Option<f64>) {
    match op {
        OP_GUARD | OP_TRACK => (
            "<=0.50x tokio-util TaskTracker, <=1.00x swansong",
            Some(0.5),
            Some(1.0),
        ),
        OP_DRAIN => ("<=1.00x tokio-util TaskTracker", Some(1.0), None),
        _ => ("none (informational)", None, None),
    }
}

// ---- one thread -------------------------------------------------------------------------

/// Guard create + drop: `guard()` and its drop, nothing else.
#[inline]
fn guard_op<P: ShutdownPeer>(c: &P::Coordinator) {
    drop(black_box(P::guard(black_box(c))));
}

/// `track(async {})`, polled once (ready) with a no-op waker, then dropped.
#[inline]
fn track_op<P: ShutdownPeer>(c: &P::Coordinator) {
    let future = pin!(P::track(black_box(c), async {}));
    poll_ready(future);
}

fn guard_one_thread<P: ShutdownPeer>() -> Case {
    let c = P::new();
    let run = timed(move || guard_op::<P>(&c)).expect("a runner");
    Case::new(S10, OP_GUARD, P::NAME, P::KIND, run)
}

fn track_one_thread<P: ShutdownPeer>() -> Case {
    let c = P::new();
    let run = timed(move || track_op::<P>(&c)).expect("a runner");
    Case::new(S10, OP_TRACK, P::NAME, P::KIND, run)
}

/// The informational row: ripcord's named guard (and its call-site mode)
/// against the same peers, which have no names.
fn named_guards() -> Vec<Case> {
    let named = {
        let c = Ripcord::new();
        timed(move || drop(black_box(black_box(&c).guard_named(GUARD_NAME))))
    };
    let call_sites = {
        let c = Ripcord::new();
        c.record_call_sites(true);
        timed(move || guard_op::<Ripcord>(&c))
    };
    let tracker = {
        let c = TokioUtil::new();
        timed(move || guard_op::<TokioUtil>(&c))
    };
    let swansong = {
        let c = Swansong::new();
        timed(move || guard_op::<Swansong>(&c))
    };
    let swansong_report = {
        let c = swansong::Swansong::with_guard_report();
        timed(move || guard_op::<Swansong>(&c))
    };
    vec![
        Case::new(
            S10,
            OP_NAMED,
            Ripcord::NAME,
            Kind::Ours,
            named.expect("a runner"),
        ),
        Case::new(
            S10,
            OP_NAMED,
            RIPCORD_CALL_SITES,
            Kind::Variant,
            call_sites.expect("a runner"),
        ),
        Case::new(
            S10,
            OP_NAMED,
            TokioUtil::NAME,
            TokioUtil::KIND,
            tracker.expect("a runner"),
        ),
        Case::new(
            S10,
            OP_NAMED,
            Swansong::NAME,
            Swansong::KIND,
            swansong.expect("a runner"),
        ),
        Case::new(
            S10,
            OP_NAMED,
            SWANSONG_REPORT,
            Kind::Shutdown,
            swansong_report.expect("a runner"),
        ),
    ]
}

// ---- two threads contending -------------------------------------------------------------

/// One batch for one thread of a contending gang.
struct Batch {
    iters: u64,
    /// Threads of the batch that are ready to start; every thread starts once
    /// all are (so that they overlap).
    ready: Arc<AtomicUsize>,
    threads: usize,
}

/// Runs `op` `batch.iters` times once every thread of the batch is ready;
/// returns when this thread started and ended.
fn run_batch<C, F: Fn(&C)>(c: &C, op: &F, batch: &Batch) -> (Instant, Instant) {
    batch.ready.fetch_add(1, Ordering::AcqRel);
    while batch.ready.load(Ordering::Acquire) < batch.threads {
        // Yield rather than spin: in the together placement the other
        // thread needs this CPU to get ready.
        std::thread::yield_now();
    }
    let start = Instant::now();
    for _ in 0..batch.iters {
        op(c);
    }
    (start, Instant::now())
}

/// A persistent helper thread of a contending gang, placed by `place`.
fn helper<C, F>(
    name: String,
    place: fn(Placement),
    p: Placement,
    c: C,
    op: F,
    done: Sender<(Instant, Instant)>,
) -> Sender<Batch>
where
    C: Send + 'static,
    F: Fn(&C) + Send + 'static,
{
    let (jobs, queue) = std::sync::mpsc::channel::<Batch>();
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            place(p);
            for batch in queue {
                if done.send(run_batch(&c, &op, &batch)).is_err() {
                    break;
                }
            }
        })
        .expect("spawn helper");
    jobs
}

/// The threads of a contending row: with one pair, the measuring thread
/// (keeping `local`) and one helper; oversubscribed, [`PAIRS`](super::PAIRS)
/// pairs of helpers, each pair sharing its own coordinator.
struct Gang<C> {
    local: Option<C>,
    jobs: Vec<Sender<Batch>>,
    done: Receiver<(Instant, Instant)>,
}

/// Two threads sharing one coordinator of `P` run `op` `iters` times each,
/// at once, in placement `p`; the time is the batch's wall time (first start
/// to last end), so the time per operation is per thread. The threads start
/// on the first call.
fn contended<P: ShutdownPeer, F>(p: Placement, op: F) -> Runner
where
    F: Fn(&P::Coordinator) + Copy + Send + 'static,
{
    let mut gang: Option<Gang<P::Coordinator>> = None;
    Box::new(move |iters| {
        let gang = gang.get_or_insert_with(|| {
            let (done_tx, done) = std::sync::mpsc::channel();
            if p.pairs() == 1 {
                let c = P::new();
                let jobs = vec![helper(
                    "bench-contender".into(),
                    Placement::pin_worker,
                    p,
                    c.clone(),
                    op,
                    done_tx,
                )];
                Gang {
                    local: Some(c),
                    jobs,
                    done,
                }
            } else {
                let jobs = (0..p.pairs())
                    .flat_map(|i| {
                        let c = P::new();
                        let done_tx = done_tx.clone();
                        (0..2).map(move |j| {
                            helper(
                                format!("bench-contender-{i}.{j}"),
                                Placement::pin_caller,
                                p,
                                c.clone(),
                                op,
                                done_tx.clone(),
                            )
                        })
                    })
                    .collect();
                Gang {
                    local: None,
                    jobs,
                    done,
                }
            }
        });
        let threads = gang.jobs.len() + usize::from(gang.local.is_some());
        let ready = Arc::new(AtomicUsize::new(0));
        for job in &gang.jobs {
            let batch = Batch {
                iters,
                ready: ready.clone(),
                threads,
            };
            job.send(batch).expect("helper gone");
        }
        let mut spans = Vec::with_capacity(threads);
        if let Some(c) = &gang.local {
            let batch = Batch {
                iters,
                ready,
                threads,
            };
            spans.push(run_batch(c, &op, &batch));
        }
        for _ in 0..gang.jobs.len() {
            // Bounded, so that a helper that panicked ends the run instead
            // of hanging it.
            let span = gang
                .done
                .recv_timeout(Duration::from_secs(120))
                .expect("a helper thread died or hung");
            spans.push(span);
        }
        wall(&spans)
    })
}

fn guard_contended<P: ShutdownPeer>(p: Placement) -> Case {
    let run = contended::<P, _>(p, guard_op::<P>);
    Case::new(s10(p), OP_GUARD, P::NAME, P::KIND, run)
}

fn track_contended<P: ShutdownPeer>(p: Placement) -> Case {
    let run = contended::<P, _>(p, track_op::<P>);
    Case::new(s10(p), OP_TRACK, P::NAME, P::KIND, run)
}

// ---- drain -------------------------------------------------------------------------------

/// What one drain hands a dropper thread: its guards, and the drain's start line.
struct Share<G> {
    guards: Vec<G>,
    start: Arc<StartLine>,
}

/// Droppers say they are ready; the measuring thread says go.
struct StartLine {
    ready: AtomicUsize,
    go: AtomicBool,
}

/// [`DRAIN_THREADS`] persistent, unpinned dropper threads. One iteration
/// (set-up untimed): a fresh coordinator and [`DRAIN_GUARDS`] guards, made
/// on the measuring thread and split evenly over the droppers, which wait at
/// the start line. Timed: trigger, let the droppers go (each drops its
/// guards), and wait (blocking) until the drain is over. Per drain, not per
/// guard, as scenario 7's fan-out (so that calibration sees the cost of an
/// iteration's set-up in its count).
fn drain_runner<P: ShutdownPeer>() -> Runner {
    let droppers: Vec<Sender<Share<P::Guard>>> = (0..DRAIN_THREADS)
        .map(|i| {
            let (job, queue) = std::sync::mpsc::channel::<Share<P::Guard>>();
            std::thread::Builder::new()
                .name(format!("bench-dropper-{i}"))
                .spawn(move || {
                    super::unpin();
                    for share in queue {
                        share.start.ready.fetch_add(1, Ordering::AcqRel);
                        while !share.start.go.load(Ordering::Acquire) {
                            std::thread::yield_now();
                        }
                        drop(share.guards);
                    }
                })
                .expect("spawn dropper");
            job
        })
        .collect();
    Box::new(move |iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let c = P::new();
            let mut guards: Vec<P::Guard> = (0..DRAIN_GUARDS).map(|_| P::guard(&c)).collect();
            let start = Arc::new(StartLine {
                ready: AtomicUsize::new(0),
                go: AtomicBool::new(false),
            });
            let per_thread = DRAIN_GUARDS / DRAIN_THREADS;
            for job in &droppers {
                let share = Share {
                    guards: guards.drain(..per_thread.min(guards.len())).collect(),
                    start: start.clone(),
                };
                job.send(share).expect("dropper gone");
            }
            assert!(guards.is_empty(), "every guard handed out");
            while start.ready.load(Ordering::Acquire) < DRAIN_THREADS {
                std::thread::yield_now();
            }
            assert!(
                !P::is_drained(&c),
                "{}: drained before the trigger",
                P::NAME
            );
            let began = Instant::now();
            let pending = P::trigger(&c);
            start.go.store(true, Ordering::Release);
            P::wait(&c, pending);
            total += began.elapsed();
            assert!(P::is_drained(&c), "{}: wait returned undrained", P::NAME);
        }
        total
    })
}

fn drain<P: ShutdownPeer>() -> Case {
    Case::new(
        S10_DRAIN,
        OP_DRAIN,
        P::NAME,
        P::KIND,
        lazy(drain_runner::<P>),
    )
}
