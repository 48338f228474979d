//! Oneshot scenarios 1–5 of the benchmark issue, for every peer.
//!
//! Every case moves a `u64` (`black_box(42)`) and black-boxes what it
//! receives. Cross-thread cases keep their worker thread or tokio task alive
//! for the life of the case and measure whole round trips.

use std::hint::black_box;
use std::pin::pin;
use std::time::{Duration, Instant};

use super::peers::{Kind, Peer, Ripcord, for_each_peer};
use super::{
    Case, LatencyRunner, Placement, Runner, lazy, placed, placed_latency, poll_once, poll_ready,
    timed, wall,
};

/// The value every case sends.
const VALUE: u64 = 42;

pub const S1: &str = "1 sync, one thread";
pub const S2: &str = "2 async, same task (no-op waker)";
pub const S5: &str = "5 recv_timeout";

/// Scenario 3 in placement `p` (its letter and name are part of the title).
pub fn s3(p: Placement) -> &'static str {
    match p {
        Placement::Apart => "3a thread -> thread, blocking recv; apart (2 CPUs)",
        Placement::Together => "3b thread -> thread, blocking recv; together (1 CPU)",
        Placement::Oversubscribed => {
            "3c thread -> thread, blocking recv; oversubscribed (four pairs, unpinned)"
        }
    }
}

/// Scenario 4 in placement `p`.
pub fn s4(p: Placement) -> &'static str {
    match p {
        Placement::Apart => "4a cross-runtime; apart (2 CPUs)",
        Placement::Together => "4b cross-runtime; together (1 CPU)",
        Placement::Oversubscribed => "4c cross-runtime; oversubscribed (four pairs, unpinned)",
    }
}

fn case<P: Peer>(scenario: &'static str, op: &'static str, run: Option<Runner>) -> Case {
    Case {
        scenario,
        op,
        peer: P::NAME,
        kind: P::KIND,
        run,
    }
}

/// The oneshot cases of the criterion bench: scenarios 3 and 4 in the apart
/// placement only (the report runner runs every placement).
pub fn cases() -> Vec<Case> {
    cases_in(&[Placement::Apart])
}

/// All oneshot cases, grouped by scenario and operation, peers in table
/// order; scenarios 3 and 4 once per placement in `placements`.
pub fn cases_in(placements: &[Placement]) -> Vec<Case> {
    let mut all = Vec::new();
    all.extend(for_each_peer!(create_drop()));
    all.extend(for_each_peer!(create_send_drop()));
    all.extend(for_each_peer!(create_send_try_recv()));
    all.extend(for_each_peer!(create_send_recv()));
    all.extend(for_each_peer!(async_send_then_await()));
    all.extend(for_each_peer!(async_pending_send_await()));
    for &p in placements {
        all.extend(for_each_peer!(thread_to_thread(p)));
        all.extend(spin_variants(s3(p), OP_THREAD, |recv| {
            placed(p, move || thread_round_trip::<Ripcord, _>(p, recv))
        }));
    }
    for &p in placements {
        all.extend(for_each_peer!(thread_to_task(p)));
        all.extend(for_each_peer!(task_to_thread(p)));
        all.extend(spin_variants(s4(p), OP_TASK_THREAD, |recv| {
            placed(p, move || task_round_trip::<Ripcord, _>(p, recv))
        }));
        all.extend(for_each_peer!(task_to_task(p)));
    }
    all.extend(for_each_peer!(timeout_expires()));
    all.push(timeout_variant(OP_EXPIRES, Duration::from_micros(1), false));
    all.extend(for_each_peer!(timeout_succeeds()));
    all.push(timeout_variant(OP_SUCCEEDS, Duration::from_secs(1), true));
    all
}

// ---- scenario 1: sync, one thread ----------------------------------------

fn create_drop<P: Peer>() -> Case {
    let run = timed(|| drop(black_box(P::channel::<u64>())));
    case::<P>(S1, "create + drop", run)
}

fn create_send_drop<P: Peer>() -> Case {
    let run = timed(|| {
        let (tx, rx) = P::channel::<u64>();
        black_box(P::send(tx, black_box(VALUE)));
        drop(rx);
    });
    case::<P>(S1, "create + send + drop", run)
}

fn create_send_try_recv<P: Peer>() -> Case {
    let run = timed(|| {
        let (tx, mut rx) = P::channel::<u64>();
        black_box(P::send(tx, black_box(VALUE)));
        black_box(P::try_recv(&mut rx));
    });
    case::<P>(S1, "create + send + try_recv", run)
}

fn create_send_recv<P: Peer>() -> Case {
    let run = if P::BLOCKING {
        timed(|| {
            let (tx, rx) = P::channel::<u64>();
            black_box(P::send(tx, black_box(VALUE)));
            black_box(P::recv(rx));
        })
    } else {
        None
    };
    case::<P>(S1, "create + send + recv (blocking)", run)
}

// ---- scenario 2: async, same task, no-op waker ------------------------------

fn async_send_then_await<P: Peer>() -> Case {
    let run = if P::ASYNC {
        timed(|| {
            let (tx, rx) = P::channel::<u64>();
            black_box(P::send(tx, black_box(VALUE)));
            let fut = pin!(P::recv_async(rx));
            black_box(poll_ready(fut));
        })
    } else {
        None
    };
    case::<P>(S2, "create + send + await", run)
}

fn async_pending_send_await<P: Peer>() -> Case {
    let run = if P::ASYNC {
        timed(|| {
            let (tx, rx) = P::channel::<u64>();
            let mut fut = pin!(P::recv_async(rx));
            black_box(poll_once(fut.as_mut()).is_pending());
            black_box(P::send(tx, black_box(VALUE)));
            black_box(poll_ready(fut));
        })
    } else {
        None
    };
    case::<P>(S2, "create + poll (pending) + send + poll", run)
}

// ---- scenarios 3 and 4: round trips across threads and runtimes -------------
//
// Each runs in every `Placement` (a: apart, b: together, c: oversubscribed).
// The functions below build one caller's operation and the worker it talks
// to; `placed` runs it on the measuring thread (a, b) or on `PAIRS` caller
// threads at once (c), the same way for every peer.

const OP_THREAD: &str = "round trip: worker thread sends, caller blocks in recv";
const OP_TASK_THREAD: &str = "tokio task sends -> thread blocks in recv";

/// One round trip of scenario 3: a persistent worker thread (placed by `p`)
/// answers each sender it is handed (over a std mpsc job queue, the same for
/// every peer); the caller creates the channel, hands over the sender and
/// blocks in `recv` (`recv` is how it waits; scenario 9 passes other waits).
pub fn thread_round_trip<P: Peer, R>(p: Placement, mut recv: R) -> impl FnMut() + 'static
where
    R: FnMut(P::Rx<u64>) -> Option<u64> + 'static,
{
    let (jobs, queue) = std::sync::mpsc::channel::<P::Tx<u64>>();
    std::thread::Builder::new()
        .name("bench-worker".into())
        .spawn(move || {
            p.pin_worker();
            for tx in queue {
                black_box(P::send(tx, black_box(VALUE)));
            }
        })
        .expect("spawn worker");
    move || {
        let (tx, rx) = P::channel::<u64>();
        if jobs.send(tx).is_err() {
            unreachable!("worker gone");
        }
        black_box(recv(rx));
    }
}

/// One round trip of "tokio task sends -> thread blocks in recv": a
/// persistent tokio task on the placement's runtime answers each sender it is
/// handed (over a tokio unbounded mpsc, the same for every peer); the caller
/// blocks in `recv`.
fn task_round_trip<P: Peer, R>(p: Placement, mut recv: R) -> impl FnMut() + 'static
where
    R: FnMut(P::Rx<u64>) -> Option<u64> + 'static,
{
    let jobs = spawn_answering_task::<P>(p.runtime());
    move || {
        let (tx, rx) = P::channel::<u64>();
        if jobs.send(tx).is_err() {
            unreachable!("task gone");
        }
        black_box(recv(rx));
    }
}

/// Spawns a task on `rt` that sends `VALUE` on every sender it receives; it
/// ends when the returned queue handle is dropped.
fn spawn_answering_task<P: Peer>(
    rt: &tokio::runtime::Runtime,
) -> tokio::sync::mpsc::UnboundedSender<P::Tx<u64>> {
    let (jobs, mut queue) = tokio::sync::mpsc::unbounded_channel::<P::Tx<u64>>();
    rt.spawn(async move {
        while let Some(tx) = queue.recv().await {
            black_box(P::send(tx, black_box(VALUE)));
        }
    });
    jobs
}

fn thread_to_thread<P: Peer>(p: Placement) -> Case {
    let run = P::BLOCKING.then(|| placed(p, move || thread_round_trip::<P, _>(p, P::recv)));
    case::<P>(s3(p), OP_THREAD, run)
}

/// Scenario 3 again, every round trip timed on its own (for percentiles).
fn thread_to_thread_latency<P: Peer>(p: Placement) -> Case<LatencyRunner> {
    let run = P::BLOCKING.then(|| placed_latency(p, move || thread_round_trip::<P, _>(p, P::recv)));
    Case {
        scenario: s3(p),
        op: OP_THREAD,
        peer: P::NAME,
        kind: P::KIND,
        run,
    }
}

/// The per-round-trip latency cases: scenario 3's round trip in placement
/// `p`, every peer and local variant. Threads start on first use.
pub fn latency_cases(p: Placement) -> Vec<Case<LatencyRunner>> {
    let mut all = for_each_peer!(thread_to_thread_latency(p));
    all.extend(spin_variants(s3(p), OP_THREAD, |recv| {
        placed_latency(p, move || thread_round_trip::<Ripcord, _>(p, recv))
    }));
    all
}

fn task_to_thread<P: Peer>(p: Placement) -> Case {
    let run = P::BLOCKING.then(|| placed(p, move || task_round_trip::<P, _>(p, P::recv)));
    case::<P>(s4(p), OP_TASK_THREAD, run)
}

/// One hand-off of "thread sends -> tokio task awaits": a persistent tokio
/// task creates a channel, offers the sender to the caller thread (over a std
/// mpsc, the same for every peer) and awaits the value; the caller sends.
/// The task really waits.
fn task_offers<P: Peer>(p: Placement) -> impl FnMut() + 'static {
    let (offers, offered) = std::sync::mpsc::channel::<P::Tx<u64>>();
    p.runtime().spawn(async move {
        loop {
            let (tx, rx) = P::channel::<u64>();
            if offers.send(tx).is_err() || black_box(P::recv_async(rx).await).is_none() {
                break;
            }
        }
    });
    move || {
        let tx = offered.recv().expect("task gone");
        black_box(P::send(tx, black_box(VALUE)));
    }
}

fn thread_to_task<P: Peer>(p: Placement) -> Case {
    let run = P::ASYNC.then(|| placed(p, move || task_offers::<P>(p)));
    case::<P>(s4(p), "thread sends -> tokio task awaits", run)
}

/// Per batch, one client task per pair on the placement's task runtime hands
/// senders to its own answering task and awaits each value; the measuring
/// thread waits in `block_on`. Each client times itself; the batch runs from
/// the first client's start to the last one's end.
fn task_to_task<P: Peer>(p: Placement) -> Case {
    let run = P::ASYNC.then(|| {
        lazy(move || {
            let rt = p.task_runtime();
            let jobs: Vec<_> = (0..p.pairs())
                .map(|_| spawn_answering_task::<P>(rt))
                .collect();
            Box::new(move |iters: u64| {
                let clients: Vec<_> = jobs
                    .iter()
                    .map(|jobs| {
                        let jobs = jobs.clone();
                        rt.spawn(async move {
                            let start = Instant::now();
                            for _ in 0..iters {
                                let (tx, rx) = P::channel::<u64>();
                                if jobs.send(tx).is_err() {
                                    unreachable!("task gone");
                                }
                                black_box(P::recv_async(rx).await);
                            }
                            (start, Instant::now())
                        })
                    })
                    .collect();
                let spans: Vec<_> = clients
                    .into_iter()
                    .map(|client| rt.block_on(client).expect("client task"))
                    .collect();
                wall(&spans)
            }) as Runner
        })
    });
    case::<P>(s4(p), "tokio task -> tokio task (multi-thread)", run)
}

/// How a local variant of ripcord's blocking receive waits before parking.
#[derive(Clone, Copy, Debug)]
pub enum Spin {
    /// Check, then `spin_loop` hint, up to this many times.
    Count(u32),
    /// crossbeam's `Backoff::snooze` shape: 1, 2, 4 … 64 spin hints between
    /// checks, then 4 `yield_now`s.
    Backoff,
}

/// ripcord's `recv`, preceded by a bounded spin on `has_message` (one atomic
/// load per check). A local experiment only: `src/oneshot` is unchanged.
pub fn spin_then_recv(rx: ripcord::oneshot::Receiver<u64>, spin: Spin) -> Option<u64> {
    match spin {
        Spin::Count(n) => {
            for _ in 0..n {
                if rx.has_message() {
                    break;
                }
                std::hint::spin_loop();
            }
        }
        Spin::Backoff => {
            for step in 0..=10u32 {
                if rx.has_message() {
                    break;
                }
                if step <= 6 {
                    for _ in 0..1u32 << step {
                        std::hint::spin_loop();
                    }
                } else {
                    std::thread::yield_now();
                }
            }
        }
    }
    rx.recv().ok()
}

/// A blocking receive of ripcord's receiver (plain or spinning first).
type RipcordRecv = fn(ripcord::oneshot::Receiver<u64>) -> Option<u64>;

fn spin_variants<R>(
    scenario: &'static str,
    op: &'static str,
    make: impl Fn(RipcordRecv) -> R,
) -> Vec<Case<R>> {
    let variant = |peer: &'static str, recv: RipcordRecv| Case {
        scenario,
        op,
        peer,
        kind: Kind::Variant,
        run: Some(make(recv)),
    };
    vec![
        variant("ripcord+spin(100)", |rx| {
            spin_then_recv(rx, Spin::Count(100))
        }),
        variant("ripcord+spin(2000)", |rx| {
            spin_then_recv(rx, Spin::Count(2000))
        }),
        variant("ripcord+backoff", |rx| spin_then_recv(rx, Spin::Backoff)),
    ]
}

// ---- scenario 5: recv_timeout -------------------------------------------

const OP_EXPIRES: &str = "times out (1 us)";
const OP_SUCCEEDS: &str = "succeeds (value already sent)";

/// A local variant of ripcord's `recv_timeout` (`src/oneshot` is unchanged):
/// it checks for the value before reading the clock, and for a timeout shorter
/// than the kernel's timer slack (50 us by default on Linux) it re-checks and
/// yields until the deadline instead of parking, as crossbeam does.
pub fn recv_timeout_fast(
    rx: &mut ripcord::oneshot::Receiver<u64>,
    timeout: Duration,
) -> Option<u64> {
    use ripcord::oneshot::TryRecvError;
    const SHORT: Duration = Duration::from_micros(50);
    match rx.try_recv() {
        Ok(v) => return Some(v),
        Err(TryRecvError::Disconnected) => return None,
        Err(TryRecvError::Empty) => {}
    }
    if timeout >= SHORT {
        return rx.recv_timeout(timeout).ok();
    }
    let deadline = Instant::now() + timeout;
    loop {
        std::thread::yield_now();
        match rx.try_recv() {
            Ok(v) => return Some(v),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) if Instant::now() >= deadline => return None,
            Err(TryRecvError::Empty) => {}
        }
    }
}

fn timeout_variant(op: &'static str, timeout: Duration, send: bool) -> Case {
    let run = timed(move || {
        let (tx, mut rx) = ripcord::oneshot::channel::<u64>();
        if send {
            black_box(tx.send(black_box(VALUE)).is_ok());
            black_box(recv_timeout_fast(&mut rx, black_box(timeout)));
        } else {
            black_box(recv_timeout_fast(&mut rx, black_box(timeout)));
            drop(tx);
        }
    });
    Case {
        scenario: S5,
        op,
        peer: "ripcord+fast-paths",
        kind: Kind::Variant,
        run,
    }
}

fn timeout_expires<P: Peer>() -> Case {
    let run = if P::TIMEOUT {
        timed(|| {
            let (tx, mut rx) = P::channel::<u64>();
            black_box(P::recv_timeout(
                &mut rx,
                black_box(Duration::from_micros(1)),
            ));
            drop(tx);
        })
    } else {
        None
    };
    case::<P>(S5, OP_EXPIRES, run)
}

fn timeout_succeeds<P: Peer>() -> Case {
    let run = if P::TIMEOUT {
        timed(|| {
            let (tx, mut rx) = P::channel::<u64>();
            black_box(P::send(tx, black_box(VALUE)));
            black_box(P::recv_timeout(&mut rx, black_box(Duration::from_secs(1))));
        })
    } else {
        None
    };
    case::<P>(S5, OP_SUCCEEDS, run)
}
