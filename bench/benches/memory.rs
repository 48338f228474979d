//! Scenario 6: heap bytes per channel and handle sizes, for every peer.
//!
//! A counting global allocator (only in this binary, so it cannot perturb the
//! timing benches) records the bytes each peer requests from the allocator
//! when a channel is created, while it holds a value, and in total over
//! create + send + receive. The allocator may round a request up; the numbers
//! are the sizes asked for, the same measure for every peer.
//!
//! Scenarios 7 and 8 add tables of heap bytes per cancellation token and per
//! promise holding a `u64`.
//!
//! `cargo bench -p ripcord-bench --bench memory` (instant); `-- --out docs/bench` also writes
//! `memory.csv`, `memory.json`, `memory.md`, `tokens-memory.md` and
//! `promise-memory.md` (or set `RIPCORD_BENCH_OUT`).

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::hint::black_box;
use std::mem::{size_of, size_of_val};
use std::pin::pin;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering::Relaxed};
use std::task::Poll;

use support::peers::{Kind, Peer, for_each_peer};
use support::poll_once;
use support::promise_cases::{PromisePeer, VALUE, for_each_promise};
use support::token_cases::{Floor, Ripcord as RipcordToken, TokenPeer, TokioUtil, Triggered};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static REQUESTED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; the counters
// are plain atomics and never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        REQUESTED.fetch_add(layout.size(), Relaxed);
        LIVE.fetch_add(layout.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        REQUESTED.fetch_add(new_size, Relaxed);
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Clone, Copy)]
struct Snapshot {
    live: isize,
    allocs: usize,
    requested: usize,
}

fn snapshot() -> Snapshot {
    Snapshot {
        live: LIVE.load(Relaxed),
        allocs: ALLOCS.load(Relaxed),
        requested: REQUESTED.load(Relaxed),
    }
}

struct Row {
    peer: &'static str,
    value: &'static str,
    /// Live heap bytes right after `channel()`.
    create_bytes: isize,
    create_allocs: usize,
    /// Live heap bytes after `send`, before the value is received.
    holding_bytes: isize,
    /// Allocations over create + send + try_recv/await + drop.
    total_allocs: usize,
    total_requested: usize,
    tx_size: usize,
    rx_size: usize,
    option_tx_size: usize,
    option_rx_size: usize,
    leaked: isize,
}

fn measure<P: Peer, T: Send + 'static>(value: &'static str, make: fn() -> T) -> Row {
    // Warm up lazily initialised statics (thread handles, etc.) first.
    for _ in 0..3 {
        let (tx, mut rx) = P::channel::<T>();
        P::send(tx, make());
        black_box(P::try_recv(&mut rx));
    }
    let start = snapshot();
    let (tx, mut rx) = black_box(P::channel::<T>());
    let created = snapshot();
    black_box(P::send(tx, black_box(make())));
    let holding = snapshot();
    black_box(P::try_recv(&mut rx));
    drop(rx);
    let end = snapshot();
    Row {
        peer: P::NAME,
        value,
        create_bytes: created.live - start.live,
        create_allocs: created.allocs - start.allocs,
        holding_bytes: holding.live - start.live,
        total_allocs: end.allocs - start.allocs,
        total_requested: end.requested - start.requested,
        tx_size: size_of::<P::Tx<T>>(),
        rx_size: size_of::<P::Rx<T>>(),
        option_tx_size: size_of::<Option<P::Tx<T>>>(),
        option_rx_size: size_of::<Option<P::Rx<T>>>(),
        leaked: end.live - start.live,
    }
}

fn rows_u64<P: Peer>() -> Row {
    measure::<P, u64>("u64", || 42)
}

fn rows_array<P: Peer>() -> Row {
    measure::<P, [u8; 64]>("[u8; 64]", || [7; 64])
}

/// Which of the features ripcord offers each peer also has (blocking receive,
/// receive timeout, async receive, sender waiting for the receiver to go away).
fn features(peer: &str) -> &'static str {
    match peer {
        "ripcord" => "blocking, timeout, async, sender waits (async+blocking)",
        "oneshot 0.2" => "blocking, timeout, async",
        "tokio oneshot" => "blocking (outside runtime), async, sender waits (async)",
        "futures oneshot" => "async, sender waits (async)",
        "crossbeam bounded(1)" => "blocking, timeout; multi-use channel",
        "flume bounded(1)" => "blocking, timeout, async; multi-use channel",
        "kanal bounded(1)" => "blocking, timeout, async; multi-use channel",
        "std sync_channel(1)" => "blocking, timeout; multi-use channel",
        _ => "",
    }
}

/// Heap bytes per live child token (the parent's own growth included), and
/// per fresh token, averaged over `N` of them.
fn token_row<P: TokenPeer>() -> String {
    const N: usize = 1000;
    let mut held: Vec<P::Token> = Vec::with_capacity(N);
    let before = snapshot();
    let token = P::new();
    let one = snapshot();
    let fresh = one.live - before.live;
    let per_child = if P::TREE {
        for _ in 0..N {
            held.push(P::child(&token));
        }
        let after = snapshot();
        format!("{:.1}", (after.live - one.live) as f64 / N as f64)
    } else {
        "n/a".into()
    };
    held.clear();
    drop(token);
    format!(
        "| {} | {} | {} | {} |",
        P::NAME,
        fresh,
        per_child,
        size_of::<P::Token>()
    )
}

/// Heap bytes of one promise holding a `u64`, and what waiting adds.
struct PromiseRow {
    peer: &'static str,
    ours: bool,
    /// Has both an async and a blocking wait.
    both_waits: bool,
    waits: &'static str,
    /// Live heap bytes right after `channel()`.
    create_bytes: isize,
    /// Live heap bytes once resolved (resolver and promise alive).
    holding_bytes: isize,
    /// Allocations over create + resolve + get + drop.
    total_allocs: usize,
    /// Extra live heap bytes while one task waits (future pending), `None`
    /// without an async wait.
    one_task_bytes: Option<isize>,
    /// Extra live heap bytes per waiting task with `TASKS` waiting (the
    /// harness's own boxes of the futures not counted).
    per_task_bytes: Option<f64>,
    promise_size: usize,
    resolver_size: usize,
}

/// Tasks waiting on one promise for the per-task column (its header says
/// 1,000).
const TASKS: usize = 1000;

fn promise_row<P: PromisePeer>() -> PromiseRow {
    // Warm up lazily initialised statics first.
    for _ in 0..3 {
        let (mut resolver, promise) = P::channel();
        P::resolve(&mut resolver, VALUE);
        black_box(P::get_owned(promise));
    }
    let start = snapshot();
    let (mut resolver, promise) = black_box(P::channel());
    let created = snapshot();
    assert!(P::resolve(&mut resolver, black_box(VALUE)));
    let holding = snapshot();
    assert_eq!(P::get_owned(promise), Some(VALUE));
    drop(resolver);
    let end = snapshot();
    assert_eq!(
        end.live - start.live,
        0,
        "{} leaked {} bytes",
        P::NAME,
        end.live - start.live
    );

    let one_task_bytes = P::ASYNC.then(|| {
        let (mut resolver, mut promise) = P::channel();
        let before = snapshot();
        let mut future = pin!(P::resolved(&mut promise));
        assert!(poll_once(future.as_mut()).is_pending());
        let waiting = snapshot().live - before.live;
        assert!(P::resolve(&mut resolver, VALUE));
        assert_eq!(poll_once(future.as_mut()), Poll::Ready(VALUE));
        waiting
    });

    let per_task_bytes = P::ASYNC.then(|| {
        let (mut resolver, promise) = P::channel();
        let mut handles = vec![promise; TASKS];
        let mut futures = Vec::with_capacity(TASKS);
        let before = snapshot();
        let mut boxes = 0;
        for handle in &mut handles {
            let future = Box::pin(P::resolved(handle));
            boxes += size_of_val(&*future);
            futures.push(future);
        }
        for future in &mut futures {
            assert!(poll_once(future.as_mut()).is_pending());
        }
        let waiting = snapshot().live - before.live - boxes as isize;
        assert!(P::resolve(&mut resolver, VALUE));
        for future in &mut futures {
            assert_eq!(poll_once(future.as_mut()), Poll::Ready(VALUE));
        }
        waiting as f64 / TASKS as f64
    });

    PromiseRow {
        peer: P::NAME,
        ours: P::KIND == Kind::Ours,
        both_waits: P::ASYNC && P::BLOCKING,
        waits: match (P::ASYNC, P::BLOCKING) {
            (true, true) => "async + blocking",
            (true, false) => "async",
            (false, true) => "blocking",
            (false, false) => "none",
        },
        create_bytes: created.live - start.live,
        holding_bytes: holding.live - start.live,
        total_allocs: end.allocs - start.allocs,
        one_task_bytes,
        per_task_bytes,
        promise_size: size_of::<P::Promise>(),
        resolver_size: size_of::<P::Resolver>(),
    }
}

/// The promise memory table, and the target line: ripcord's bytes holding
/// the value at most those of every peer with both an async and a blocking
/// wait.
fn promise_table(rows: Vec<PromiseRow>) -> String {
    let mut out = String::from(
        "| promise | heap bytes per promise holding a `u64` | allocations, whole life | heap bytes at create | + heap bytes while one task waits | heap bytes per waiting task (1,000 waiting) | size_of promise / resolver | waits |\n|---|---|---|---|---|---|---|---|\n",
    );
    for r in &rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} / {} | {} |",
            r.peer,
            r.holding_bytes,
            r.total_allocs,
            r.create_bytes,
            r.one_task_bytes.map_or("n/a".into(), |b| b.to_string()),
            r.per_task_bytes.map_or("n/a".into(), |b| format!("{b:.1}")),
            r.promise_size,
            r.resolver_size,
            r.waits
        );
    }
    let ours = rows.iter().find(|r| r.ours).expect("ripcord row");
    let both: Vec<&PromiseRow> = rows.iter().filter(|r| !r.ours && r.both_waits).collect();
    let met = both.iter().all(|r| ours.holding_bytes <= r.holding_bytes);
    let _ = writeln!(
        out,
        "\nTarget: ripcord's heap bytes per promise holding a `u64` <= those of every peer with both async and blocking waits ({}): ripcord {} vs {}: {}",
        both.iter().map(|r| r.peer).collect::<Vec<_>>().join(", "),
        ours.holding_bytes,
        both.iter()
            .map(|r| format!("{} {}", r.peer, r.holding_bytes))
            .collect::<Vec<_>>()
            .join(", "),
        if met { "met" } else { "**missed**" }
    );
    out
}

fn main() {
    let out_dir = support::out_dir_from_args();
    let mut rows = for_each_peer!(rows_u64());
    rows.extend(for_each_peer!(rows_array()));

    let mut table = String::new();
    let _ = writeln!(
        table,
        "| peer | T | heap bytes at create | allocations at create | heap bytes holding the value | allocations, whole life | size_of Sender / Receiver | size_of Option<Sender> / Option<Receiver> | features |"
    );
    let _ = writeln!(table, "|---|---|---|---|---|---|---|---|---|");
    let mut csv = String::from(
        "peer,value,create_bytes,create_allocs,holding_bytes,total_allocs,total_requested_bytes,tx_size,rx_size,option_tx_size,option_rx_size\n",
    );
    let mut json = String::from("[\n");
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.leaked, 0, "{} leaked {} bytes", r.peer, r.leaked);
        let _ = writeln!(
            table,
            "| {} | `{}` | {} | {} | {} | {} | {} / {} | {} / {} | {} |",
            r.peer,
            r.value,
            r.create_bytes,
            r.create_allocs,
            r.holding_bytes,
            r.total_allocs,
            r.tx_size,
            r.rx_size,
            r.option_tx_size,
            r.option_rx_size,
            features(r.peer)
        );
        let _ = writeln!(
            csv,
            "\"{}\",\"{}\",{},{},{},{},{},{},{},{},{}",
            r.peer,
            r.value,
            r.create_bytes,
            r.create_allocs,
            r.holding_bytes,
            r.total_allocs,
            r.total_requested,
            r.tx_size,
            r.rx_size,
            r.option_tx_size,
            r.option_rx_size
        );
        let _ = writeln!(
            json,
            "  {{\"peer\": \"{}\", \"value\": \"{}\", \"create_bytes\": {}, \"create_allocs\": {}, \"holding_bytes\": {}, \"total_allocs\": {}, \"total_requested_bytes\": {}, \"tx_size\": {}, \"rx_size\": {}, \"option_tx_size\": {}, \"option_rx_size\": {}}}{}",
            r.peer,
            r.value,
            r.create_bytes,
            r.create_allocs,
            r.holding_bytes,
            r.total_allocs,
            r.total_requested,
            r.tx_size,
            r.rx_size,
            r.option_tx_size,
            r.option_rx_size,
            if i + 1 < rows.len() { "," } else { "" }
        );
    }
    json.push_str("]\n");
    println!("Scenario 6: heap bytes requested per channel (counting allocator), handle sizes\n");
    print!("{table}");
    let mut tokens = String::from(
        "| token | heap bytes per new token | heap bytes per live child (parent growth included) | size_of handle |\n|---|---|---|---|\n",
    );
    for row in [
        token_row::<RipcordToken>(),
        token_row::<TokioUtil>(),
        token_row::<Triggered>(),
        token_row::<Floor>(),
    ] {
        tokens.push_str(&row);
        tokens.push('\n');
    }
    println!("\nScenario 7 (memory): cancellation tokens\n");
    print!("{tokens}");
    let promises = promise_table(for_each_promise!(promise_row()));
    println!(
        "\nScenario 8 (memory): promises holding a `u64` (resolver and promise handle alive)\n"
    );
    print!("{promises}");
    if let Some(dir) = out_dir {
        std::fs::create_dir_all(&dir).expect("create output directory");
        std::fs::write(format!("{dir}/tokens-memory.md"), &tokens).expect("write table");
        std::fs::write(format!("{dir}/promise-memory.md"), &promises).expect("write table");
        std::fs::write(format!("{dir}/memory.csv"), csv).expect("write csv");
        std::fs::write(format!("{dir}/memory.json"), json).expect("write json");
        std::fs::write(format!("{dir}/memory.md"), table).expect("write table");
        eprintln!("wrote {dir}/memory.{{csv,json,md}}, tokens-memory.md, promise-memory.md");
    }
}
