//! Scenario 9: `ripcord::select`, waiting for a value *or* a stop signal.
//!
//! Every arm of a row runs in the same harness; the ratios of interest are
//! between arms of one row (each [`Target`]), not against a best peer.
//!
//! - Ready, one thread: a value is already in a fresh oneshot channel and a
//!   (never cancelled) token stands for the stop signal. `ripcord Select`
//!   builds a `Select`, adds the token and the receiver, `try_ready`, then
//!   `try_recv`; the floor `ripcord is_cancelled + try_recv` checks the token
//!   and takes the value directly. Two rows: with the channel's creation +
//!   send inside the timed loop (both arms alike, as scenario 1 does), and
//!   without it (sections of 256 channels filled untimed, then the checks
//!   timed), which leaves the select overhead alone.
//! - Hand-off across threads: scenario 3's round trip (the caller creates a
//!   channel, hands the sender to a persistent worker thread over the same std
//!   mpsc job queue, and waits for the `u64` it sends), in the same three
//!   placements ([`Placement`]), with the caller waiting in four ways:
//!   `ripcord Select` (token + receiver, `wait`, then `try_recv`), `ripcord
//!   recv_or_cancelled(&token)`, the floor `ripcord recv` (no stop signal),
//!   and `crossbeam select!` over two `bounded(1)` channels (the answer, and a
//!   stop channel that is never used; the worker sends on the answer channel).
//!   The token and the stop channel live as long as the caller; the answer
//!   channel is new for every round trip, as in scenario 3.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ripcord::CancellationToken;
use ripcord::oneshot::Receiver;
use ripcord::select::Select;

use super::oneshot_cases::thread_round_trip;
use super::peers::{Crossbeam, Kind, Peer, Ripcord};
use super::{Case, Placement, Runner, placed, timed};

/// The value every case sends.
const VALUE: u64 = 42;

/// The ready rows (one thread).
pub const S9: &str = "9 select, one thread";

/// The hand-off rows in placement `p` (its letter and name are part of the
/// title, as in scenario 3).
pub fn s9(p: Placement) -> &'static str {
    match p {
        Placement::Apart => "9a select, thread -> thread hand-off; apart (2 CPUs)",
        Placement::Together => "9b select, thread -> thread hand-off; together (1 CPU)",
        Placement::Oversubscribed => {
            "9c select, thread -> thread hand-off; oversubscribed (four pairs, unpinned)"
        }
    }
}

pub const OP_READY: &str = "value ready: create + send, then wait for value or stop + take it";
pub const OP_READY_ONLY: &str =
    "value ready: wait for value or stop + take it (create + send untimed)";
pub const OP_HANDOFF: &str = "round trip: worker thread sends, caller waits for value or stop";

/// `Select` over the token and the receiver; then `try_recv`.
pub const SELECT: &str = "ripcord Select";
/// `Receiver::recv_or_cancelled(&token)`.
pub const RECV_OR_CANCELLED: &str = "ripcord recv_or_cancelled";
/// `Receiver::recv`: waits for the value only (no stop signal).
pub const RECV: &str = "ripcord recv";
/// `token.is_cancelled()`, then `try_recv` (no `Select`).
pub const IS_CANCELLED_TRY_RECV: &str = "ripcord is_cancelled + try_recv";
/// `crossbeam_channel::select!` over the answer and a stop channel.
pub const CROSSBEAM_SELECT: &str = "crossbeam select!";

/// A target of the select rows: `arm`'s time ÷ `reference`'s (median of
/// per-round ratios) at most `max`.
pub struct Target {
    pub arm: &'static str,
    pub reference: &'static str,
    pub max: f64,
}

const READY_TARGETS: [Target; 1] = [Target {
    arm: SELECT,
    reference: IS_CANCELLED_TRY_RECV,
    max: 2.0,
}];

const HANDOFF_TARGETS: [Target; 4] = [
    Target {
        arm: RECV_OR_CANCELLED,
        reference: RECV,
        max: 1.10,
    },
    Target {
        arm: SELECT,
        reference: RECV,
        max: 1.10,
    },
    Target {
        arm: RECV_OR_CANCELLED,
        reference: CROSSBEAM_SELECT,
        max: 1.0,
    },
    Target {
        arm: SELECT,
        reference: CROSSBEAM_SELECT,
        max: 1.0,
    },
];

/// The targets of the row with operation `op`.
pub fn targets(op: &str) -> &'static [Target] {
    match op {
        OP_READY | OP_READY_ONLY => &READY_TARGETS,
        OP_HANDOFF => &HANDOFF_TARGETS,
        _ => &[],
    }
}

/// The targets of the row with operation `op`, in one line.
pub fn target_text(op: &str) -> &'static str {
    match op {
        OP_READY | OP_READY_ONLY => "<=2.00x is_cancelled + try_recv",
        OP_HANDOFF => {
            "recv_or_cancelled and Select: <=1.10x recv (same placement), <=1.00x crossbeam select!"
        }
        _ => "none",
    }
}

/// All select cases: the two ready rows, then the hand-off row once per
/// placement in `placements`. In each row `ripcord Select` comes first (the
/// one that the generic tables and the chart compare the others to).
pub fn cases_in(placements: &[Placement]) -> Vec<Case> {
    let mut all = vec![
        Case::new(
            S9,
            OP_READY,
            SELECT,
            Kind::Ours,
            ready_with_create(select_ready),
        ),
        Case::new(
            S9,
            OP_READY,
            IS_CANCELLED_TRY_RECV,
            Kind::Floor,
            ready_with_create(plain_ready),
        ),
        Case::new(
            S9,
            OP_READY_ONLY,
            SELECT,
            Kind::Ours,
            ready_sections(select_ready),
        ),
        Case::new(
            S9,
            OP_READY_ONLY,
            IS_CANCELLED_TRY_RECV,
            Kind::Floor,
            ready_sections(plain_ready),
        ),
    ];
    for &p in placements {
        let s = s9(p);
        all.push(Case::new(
            s,
            OP_HANDOFF,
            SELECT,
            Kind::Ours,
            handoff_select(p),
        ));
        all.push(Case::new(
            s,
            OP_HANDOFF,
            RECV_OR_CANCELLED,
            Kind::Ours,
            handoff_recv_or_cancelled(p),
        ));
        all.push(Case::new(s, OP_HANDOFF, RECV, Kind::Floor, handoff_recv(p)));
        all.push(Case::new(
            s,
            OP_HANDOFF,
            CROSSBEAM_SELECT,
            Kind::Channel,
            handoff_crossbeam(p),
        ));
    }
    all
}

// ---- ready, one thread -------------------------------------------------------------

/// Waits for the value or the stop signal with a `Select` (token first, so a
/// stop wins), which answers at once here, then takes the value.
#[inline]
fn select_ready(token: &CancellationToken, rx: &mut Receiver<u64>) -> Option<u64> {
    let mut sel = Select::new();
    let _on_stop = sel.cancelled(token);
    let on_answer = sel.recv(rx);
    let ready = sel.try_ready();
    drop(sel);
    if ready == Some(on_answer) {
        rx.try_recv().ok()
    } else {
        None
    }
}

/// The same without a `Select`: the token, then the value.
#[inline]
fn plain_ready(token: &CancellationToken, rx: &mut Receiver<u64>) -> Option<u64> {
    if token.is_cancelled() {
        None
    } else {
        rx.try_recv().ok()
    }
}

type ReadyOp = fn(&CancellationToken, &mut Receiver<u64>) -> Option<u64>;

/// Per operation: create a channel, send, then `op` (all timed).
fn ready_with_create(op: ReadyOp) -> Runner {
    let token = CancellationToken::new();
    timed(move || {
        let (tx, mut rx) = Ripcord::channel::<u64>();
        black_box(Ripcord::send(tx, black_box(VALUE)));
        black_box(op(black_box(&token), &mut rx));
    })
    .expect("a runner")
}

/// Ready channels per timed section of the create-untimed row.
const SECTION: usize = 256;

/// Per section (untimed): up to [`SECTION`] fresh channels, each holding its
/// value; timed: `op` on each of them in turn. Two clock reads per section
/// (about 0.2 ns per operation, the same for both arms).
fn ready_sections(op: ReadyOp) -> Runner {
    let token = CancellationToken::new();
    let mut rxs: Vec<Receiver<u64>> = Vec::with_capacity(SECTION);
    Box::new(move |iters| {
        let mut total = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let n = left.min(SECTION as u64);
            rxs.extend((0..n).map(|_| {
                let (tx, rx) = Ripcord::channel::<u64>();
                assert!(Ripcord::send(tx, VALUE));
                rx
            }));
            let start = Instant::now();
            for rx in rxs.iter_mut() {
                black_box(op(black_box(&token), rx));
            }
            total += start.elapsed();
            rxs.clear();
            left -= n;
        }
        total
    })
}

// ---- hand-off across threads --------------------------------------------------------

// Each arm is scenario 3's round trip (`thread_round_trip`: the same worker
// thread, job queue and placement), run by `placed` on the measuring thread
// (a, b) or on `PAIRS` caller threads at once (c). Only the caller's wait
// differs. Each caller has its own token / stop channel, made with its
// worker and kept for its life.

fn handoff_select(p: Placement) -> Runner {
    placed(p, move || {
        let token = CancellationToken::new();
        thread_round_trip::<Ripcord, _>(p, move |mut rx| {
            let mut sel = Select::new();
            let _on_stop = sel.cancelled(&token);
            let on_answer = sel.recv(&mut rx);
            let ready = sel.wait();
            drop(sel);
            if ready == on_answer {
                rx.try_recv().ok()
            } else {
                None
            }
        })
    })
}

fn handoff_recv_or_cancelled(p: Placement) -> Runner {
    placed(p, move || {
        let token = CancellationToken::new();
        thread_round_trip::<Ripcord, _>(p, move |mut rx| rx.recv_or_cancelled(&token).ok())
    })
}

fn handoff_recv(p: Placement) -> Runner {
    placed(p, move || thread_round_trip::<Ripcord, _>(p, Ripcord::recv))
}

fn handoff_crossbeam(p: Placement) -> Runner {
    placed(p, move || {
        // The stop channel's sender is kept (never used): dropped, it would
        // disconnect the channel and make it ready at once.
        let (stop_tx, stop) = crossbeam_channel::bounded::<()>(1);
        thread_round_trip::<Crossbeam, _>(p, move |answer| {
            let _keep = &stop_tx;
            crossbeam_channel::select! {
                recv(stop) -> _ => None,
                recv(answer) -> value => value.ok(),
            }
        })
    })
}
