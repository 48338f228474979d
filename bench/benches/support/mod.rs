//! Code shared by the benchmark binaries (`benches/*.rs`).
//!
//! A [`Case`] is one operation of one scenario for one peer, with a runner that
//! performs the operation `iters` times and returns the elapsed time. The
//! criterion bench (`benches/oneshot.rs`) and the side-by-side runner
//! (`benches/report.rs`) drive the very same cases, so their numbers describe
//! the same code. Scenario 7 (tokens), scenario 8 (promises), scenario 9
//! (select) and scenario 10 (shutdown) add one more module of cases each
//! beside `oneshot_cases`.

#![allow(dead_code)]

pub mod oneshot_cases;
pub mod peers;
pub mod promise_cases;
pub mod select_cases;
pub mod shutdown_cases;
pub mod token_cases;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

pub use peers::Kind;

/// Runs the operation `iters` times and returns how long that took.
pub type Runner = Box<dyn FnMut(u64) -> Duration>;

/// One operation of one scenario for one peer; `R` is how it is run (a
/// [`Runner`], or a [`LatencyRunner`] for the per-round-trip latencies).
pub struct Case<R = Runner> {
    /// Scenario number and title, e.g. `"1 sync, one thread"`.
    pub scenario: &'static str,
    /// The operation, e.g. `"create + send + try_recv"`.
    pub op: &'static str,
    /// The peer's name.
    pub peer: &'static str,
    /// What the peer is.
    pub kind: Kind,
    /// `None` when the peer lacks the operation ("n/a").
    pub run: Option<R>,
}

impl Case {
    /// A case whose peer has the operation.
    pub fn new(
        scenario: &'static str,
        op: &'static str,
        peer: &'static str,
        kind: Kind,
        run: Runner,
    ) -> Case {
        Case {
            scenario,
            op,
            peer,
            kind,
            run: Some(run),
        }
    }
}

impl<R> Case<R> {
    /// The criterion group name of this case.
    pub fn group(&self) -> String {
        format!("{} / {}", self.scenario, self.op)
    }
}

/// Whether quick mode (`RIPCORD_BENCH_QUICK=1`) is on.
pub fn quick() -> bool {
    std::env::var_os("RIPCORD_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Where `--out DIR` / `RIPCORD_BENCH_OUT=DIR` writes: a relative `DIR` is
/// taken from the repository root (cargo runs benchmarks from `bench/`), so
/// `--out docs/bench` refreshes the committed tables wherever it is run from.
pub fn out_dir(dir: String) -> String {
    let path = std::path::Path::new(&dir);
    if path.is_absolute() {
        return dir;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.join(path).to_string_lossy().into_owned()
}

/// The output folder of a benchmark that takes no other arguments: `--out
/// DIR`, else `RIPCORD_BENCH_OUT`, resolved by [`out_dir`]; `None` if neither.
pub fn out_dir_from_args() -> Option<String> {
    let mut dir = std::env::var("RIPCORD_BENCH_OUT")
        .ok()
        .filter(|s| !s.is_empty());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--out" {
            dir = args.next();
        }
    }
    dir.map(out_dir)
}

/// The current time, UTC, as `YYYY-MM-DD HH:MM UTC` (for the date line of
/// the generated tables).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// A runner that calls `op` in a monomorphic loop (no dynamic call per iteration).
pub fn timed<F: FnMut() + 'static>(mut op: F) -> Option<Runner> {
    Some(Box::new(move |iters| {
        let start = Instant::now();
        for _ in 0..iters {
            op();
        }
        start.elapsed()
    }))
}

/// Polls `future` once with a no-op waker and returns its output; panics if it
/// is pending (the scenarios using it always have the value ready).
#[inline]
pub fn poll_ready<F: Future>(future: Pin<&mut F>) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match future.poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("future unexpectedly pending"),
    }
}

/// Polls `future` once with a no-op waker.
#[inline]
pub fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// Criterion settings for every criterion bench: about 2.5 s per case, or
/// about 0.2 s in quick mode; plots off (the report runner draws the chart).
pub fn criterion_config() -> criterion::Criterion {
    pin_main();
    let c = criterion::Criterion::default().without_plots();
    let c = if quick() {
        c.warm_up_time(Duration::from_millis(50))
            .measurement_time(Duration::from_millis(150))
            .sample_size(10)
            .nresamples(1000)
    } else {
        c.warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .sample_size(40)
    };
    c.configure_from_args()
}

/// Runs every case as one criterion benchmark, one group per operation.
pub fn criterion_run(c: &mut criterion::Criterion, mut cases: Vec<Case>) {
    let mut i = 0;
    while i < cases.len() {
        let name = cases[i].group();
        let mut group = c.benchmark_group(&name);
        while i < cases.len() && cases[i].group() == name {
            let case = &mut cases[i];
            if let Some(run) = case.run.as_mut() {
                group.bench_function(case.peer, |b| b.iter_custom(&mut *run));
            }
            // Drop finished cases now: their worker threads and tasks exit.
            case.run = None;
            i += 1;
        }
        group.finish();
    }
}

/// Builds a two-worker multi-thread tokio runtime whose worker threads call
/// `on_start` first (to pin or unpin themselves).
fn two_worker_runtime(on_start: impl Fn() + Send + Sync + 'static) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(on_start)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Caller/worker pairs that run at once in [`Placement::Oversubscribed`].
pub const PAIRS: usize = 4;

/// Where the threads of a cross-thread scenario (3 and 4) run. Every peer of
/// an operation runs in the same placement, with the same job queues.
///
/// Threads inherit the CPU set of the thread that creates them (the
/// measuring thread is pinned to CPU 0), so every thread a placement starts
/// sets its own CPU set explicitly, unpinned ones included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// (a) The caller (the measuring thread) on CPU 0, the worker thread or
    /// both tokio workers on CPU 1. In task -> task, whose caller is a task,
    /// one tokio worker is pinned to each CPU.
    Apart,
    /// (b) Everything on CPU 0: the caller, the worker thread, both tokio
    /// workers. A blocked side's partner runs only once it has given up the
    /// CPU, so spinning before parking only costs here.
    Together,
    /// (c) Nothing pinned; [`PAIRS`] caller/worker pairs run at once on
    /// their own caller threads (their tokio tasks on one shared unpinned
    /// two-worker runtime), so more threads want to run than there are CPUs
    /// (on 2 cores). A batch is timed from the first pair's start to the last
    /// pair's end; the time per operation is that wall time divided by the
    /// operations *one pair* did (the round trip as each pair sees it; divide
    /// by [`PAIRS`] for the time per operation of the whole machine).
    Oversubscribed,
}

impl Placement {
    /// Every placement, in report order.
    pub const ALL: [Placement; 3] = [
        Placement::Apart,
        Placement::Together,
        Placement::Oversubscribed,
    ];

    /// The letter after the scenario number (`3a`, `3b`, `3c`).
    pub fn letter(self) -> char {
        match self {
            Placement::Apart => 'a',
            Placement::Together => 'b',
            Placement::Oversubscribed => 'c',
        }
    }

    /// One line for table headers.
    pub fn describe(self) -> &'static str {
        match self {
            Placement::Apart => {
                "apart: caller on CPU 0, worker thread / tokio workers on CPU 1 (task -> task: one tokio worker per CPU)"
            }
            Placement::Together => "together: caller, worker thread and tokio workers all on CPU 0",
            Placement::Oversubscribed => {
                "oversubscribed: 4 caller/worker pairs at once, unpinned; time per round trip of one pair (batch wall time / round trips per pair)"
            }
        }
    }

    /// Caller/worker pairs running at once.
    pub fn pairs(self) -> usize {
        match self {
            Placement::Oversubscribed => PAIRS,
            _ => 1,
        }
    }

    /// Places the calling caller thread.
    pub fn pin_caller(self) {
        match self {
            Placement::Oversubscribed => unpin(),
            _ => pin_main(),
        }
    }

    /// Places the calling worker thread (an answering thread, or a tokio
    /// worker of the thread <-> task operations).
    pub fn pin_worker(self) {
        match self {
            Placement::Apart => pin_worker(),
            Placement::Together => pin_main(),
            Placement::Oversubscribed => unpin(),
        }
    }

    /// The runtime of the thread <-> task operations in this placement:
    /// multi-thread, two workers, placed by [`Placement::pin_worker`]. Built
    /// on first use.
    pub fn runtime(self) -> &'static tokio::runtime::Runtime {
        static RT: [OnceLock<tokio::runtime::Runtime>; 3] = [const { OnceLock::new() }; 3];
        RT[self as usize].get_or_init(|| two_worker_runtime(move || self.pin_worker()))
    }

    /// The runtime of the task -> task operation in this placement:
    /// multi-thread, two workers. The measuring thread only waits in
    /// `block_on` meanwhile, so apart puts one worker on each CPU; together
    /// puts both on CPU 0 (whether the woken task then runs on the same
    /// worker or the other one can swing a batch by about 2x, which the
    /// interleaved medians absorb); oversubscribed leaves them unpinned.
    pub fn task_runtime(self) -> &'static tokio::runtime::Runtime {
        static RT: [OnceLock<tokio::runtime::Runtime>; 3] = [const { OnceLock::new() }; 3];
        RT[self as usize].get_or_init(|| match self {
            Placement::Apart => {
                let next = AtomicUsize::new(0);
                two_worker_runtime(move || {
                    if pinning() {
                        pin_to(next.fetch_add(1, Ordering::Relaxed) % 2);
                    }
                })
            }
            _ => two_worker_runtime(move || self.pin_worker()),
        })
    }
}

/// One caller's loop for one batch: runs its operation `iters` times and
/// returns what it measured.
pub type Loop<O> = Box<dyn FnMut(u64) -> O>;

/// Runs the operation `iters` times in all and returns each one's latency in
/// nanoseconds.
pub type LatencyRunner = Box<dyn FnMut(u64) -> Vec<f64>>;

/// A caller loop timing the batch as a whole: (start, end).
fn span_loop<F: FnMut() + 'static>(mut op: F) -> Loop<(Instant, Instant)> {
    Box::new(move |iters| {
        let start = Instant::now();
        for _ in 0..iters {
            op();
        }
        (start, Instant::now())
    })
}

/// A caller loop timing every operation on its own: one clock read per
/// operation (about 25 ns), each operation's time running from the previous
/// read to the next, into a vector allocated before the loop.
fn each_loop<F: FnMut() + 'static>(mut op: F) -> Loop<Vec<f64>> {
    Box::new(move |iters| {
        let mut out = Vec::with_capacity(iters as usize);
        let mut last = Instant::now();
        for _ in 0..iters {
            op();
            let now = Instant::now();
            out.push((now - last).as_nanos() as f64);
            last = now;
        }
        out
    })
}

/// The wall time of a batch run by several pairs at once: from the first
/// pair's start to the last pair's end.
pub fn wall(spans: &[(Instant, Instant)]) -> Duration {
    let start = spans.iter().map(|s| s.0).min().expect("one pair at least");
    let end = spans.iter().map(|s| s.1).max().expect("one pair at least");
    end - start
}

/// The callers of placement `p`, each running its own loop (built by `make`
/// on the caller's thread, together with whatever worker it talks to) for
/// one batch, and what each measured. With one pair the caller is the
/// measuring thread itself; otherwise each pair has a caller thread, started
/// on first use, and a batch starts them all at once.
fn callers<O: Send + 'static>(
    p: Placement,
    make: impl Fn() -> Loop<O> + Send + Sync + 'static,
) -> impl FnMut(u64) -> Vec<O> {
    let make = Arc::new(make);
    let mut local: Option<Loop<O>> = None;
    let mut gang: Option<(Vec<Sender<u64>>, Receiver<O>)> = None;
    move |iters| {
        if p.pairs() == 1 {
            let run = local.get_or_insert_with(|| make());
            return vec![run(iters)];
        }
        let (starts, done) = gang.get_or_insert_with(|| {
            let (done_tx, done) = std::sync::mpsc::channel::<O>();
            let starts = (0..p.pairs())
                .map(|i| {
                    let (start, batches) = std::sync::mpsc::channel::<u64>();
                    let (make, done_tx) = (make.clone(), done_tx.clone());
                    std::thread::Builder::new()
                        .name(format!("bench-caller-{i}"))
                        .spawn(move || {
                            p.pin_caller();
                            let mut run = make();
                            for iters in batches {
                                if done_tx.send(run(iters)).is_err() {
                                    break;
                                }
                            }
                        })
                        .expect("spawn caller");
                    start
                })
                .collect();
            (starts, done)
        });
        for start in starts.iter() {
            start.send(iters).expect("caller gone");
        }
        // Bounded, so that a caller that panicked ends the run instead of
        // hanging it.
        (0..starts.len())
            .map(|_| {
                done.recv_timeout(Duration::from_secs(120))
                    .expect("a caller thread died or hung")
            })
            .collect()
    }
}

/// A runner for one operation in placement `p`; `make` builds one caller's
/// operation (one call = one operation) and the worker it talks to, on the
/// caller's thread, on first use. `iters` is the number of operations each
/// pair runs, so the time per operation is per pair (see
/// [`Placement::Oversubscribed`]).
pub fn placed<F, M>(p: Placement, make: M) -> Runner
where
    F: FnMut() + 'static,
    M: Fn() -> F + Send + Sync + 'static,
{
    let mut run = callers(p, move || span_loop(make()));
    Box::new(move |iters| wall(&run(iters)))
}

/// Like [`placed`], but times every operation on its own; `iters` is the
/// number of operations in all, split evenly across the pairs.
pub fn placed_latency<F, M>(p: Placement, make: M) -> LatencyRunner
where
    F: FnMut() + 'static,
    M: Fn() -> F + Send + Sync + 'static,
{
    let pairs = p.pairs() as u64;
    let mut run = callers(p, move || each_loop(make()));
    Box::new(move |iters| run(iters.div_ceil(pairs)).concat())
}

/// A runner built by `make` on its first call (so that the threads and
/// tasks of cases that never run are never started); the build is not timed.
pub fn lazy(make: impl FnOnce() -> Runner + 'static) -> Runner {
    let mut make = Some(make);
    let mut run: Option<Runner> = None;
    Box::new(move |iters| {
        let run = run.get_or_insert_with(|| make.take().expect("built once")());
        run(iters)
    })
}

/// Whether threads are pinned (default on Linux with 2+ CPUs; set
/// `RIPCORD_BENCH_PIN=0` to let the scheduler place them).
///
/// Why: on a 2-vCPU virtual machine, a cross-thread round trip costs about
/// 2 us when the woken thread's vCPU is awake and about 60 us when it has to be
/// woken from halt, and which of the two a case gets depends on where the
/// scheduler happened to put its threads, for a whole run. Pinning the
/// measuring thread to CPU 0 and every worker (threads and tokio workers) to
/// CPU 1 gives every peer the same placement. Scenarios 3 and 4 run in three
/// placements instead ([`Placement`]).
pub fn pinning() -> bool {
    static PIN: OnceLock<bool> = OnceLock::new();
    *PIN.get_or_init(|| {
        std::env::var_os("RIPCORD_BENCH_PIN").is_none_or(|v| v != "0")
            && std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
    })
}

/// Pins the calling (measuring) thread to CPU 0.
pub fn pin_main() {
    if pinning() {
        pin_to(0);
    }
}

/// Pins the calling worker thread to CPU 1.
pub fn pin_worker() {
    if pinning() {
        pin_to(1);
    }
}

/// Lets the calling thread run on every CPU again (a new thread inherits the
/// CPU set of the thread that created it, so an unpinned thread must say so).
pub fn unpin() {
    if pinning() {
        // The kernel ignores CPUs that do not exist or are not allowed.
        set_affinity(&[u64::MAX; 16], "every CPU");
    }
}

fn pin_to(cpu: usize) {
    let mask: [u64; 16] = core::array::from_fn(|i| if i == cpu / 64 { 1 << (cpu % 64) } else { 0 });
    set_affinity(&mask, &format!("CPU {cpu}"));
}

#[cfg(target_os = "linux")]
fn set_affinity(mask: &[u64; 16], what: &str) {
    unsafe extern "C" {
        fn sched_setaffinity(pid: i32, cpusetsize: usize, mask: *const u64) -> i32;
    }
    // SAFETY: pid 0 is the calling thread; `mask` is a valid, initialised CPU
    // set of `size_of_val(mask)` bytes that outlives the call.
    let rc = unsafe { sched_setaffinity(0, core::mem::size_of_val(mask), mask.as_ptr()) };
    if rc != 0 {
        eprintln!("note: could not pin a thread to {what}; placement left to the scheduler");
    }
}

#[cfg(not(target_os = "linux"))]
fn set_affinity(_mask: &[u64; 16], _what: &str) {}
