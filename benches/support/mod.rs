//! Code shared by the benchmark binaries (`benches/*.rs`).
//!
//! A [`Case`] is one operation of one scenario for one peer, with a runner that
//! performs the operation `iters` times and returns the elapsed time. The
//! criterion bench (`benches/oneshot.rs`) and the side-by-side runner
//! (`benches/report.rs`) drive the very same cases, so their numbers describe
//! the same code. Scenario 7 (tokens) adds one more module of cases beside
//! `oneshot_cases`.

#![allow(dead_code)]

pub mod oneshot_cases;
pub mod peers;
pub mod token_cases;

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

pub use peers::Kind;

/// Runs the operation `iters` times and returns how long that took.
pub type Runner = Box<dyn FnMut(u64) -> Duration>;

/// One operation of one scenario for one peer.
pub struct Case {
    /// Scenario number and title, e.g. `"1 sync, one thread"`.
    pub scenario: &'static str,
    /// The operation, e.g. `"create + send + try_recv"`.
    pub op: &'static str,
    /// The peer's name.
    pub peer: &'static str,
    /// What the peer is.
    pub kind: Kind,
    /// `None` when the peer lacks the operation ("n/a").
    pub run: Option<Runner>,
}

impl Case {
    /// The criterion group name of this case.
    pub fn group(&self) -> String {
        format!("{} / {}", self.scenario, self.op)
    }
}

/// Whether quick mode (`RIPCORD_BENCH_QUICK=1`) is on.
pub fn quick() -> bool {
    std::env::var_os("RIPCORD_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0")
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

/// The tokio runtime shared by the cross-runtime scenarios: multi-thread, two
/// workers, both pinned to the worker CPU (see [`pin_worker`]).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .on_thread_start(pin_worker)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// The runtime of the task -> task scenario: multi-thread, two workers, not
/// pinned (the measuring thread only waits in `block_on` meanwhile, so both
/// CPUs are the workers'). With both workers pinned to one CPU, whether the
/// woken task ran on the same worker or the other one decided the result
/// (about 2x) for a whole run.
pub fn task_runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
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
/// CPU 1 gives every peer the same placement.
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

#[cfg(target_os = "linux")]
fn pin_to(cpu: usize) {
    unsafe extern "C" {
        fn sched_setaffinity(pid: i32, cpusetsize: usize, mask: *const u64) -> i32;
    }
    let mask: [u64; 16] = core::array::from_fn(|i| if i == cpu / 64 { 1 << (cpu % 64) } else { 0 });
    // SAFETY: pid 0 is the calling thread; `mask` is a valid, initialised CPU
    // set of `size_of_val(&mask)` bytes that outlives the call.
    let rc = unsafe { sched_setaffinity(0, core::mem::size_of_val(&mask), mask.as_ptr()) };
    if rc != 0 {
        eprintln!("note: could not pin a thread to CPU {cpu}; placement left to the scheduler");
    }
}

#[cfg(not(target_os = "linux"))]
fn pin_to(_cpu: usize) {}
