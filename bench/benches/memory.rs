//! Scenario 6: heap bytes per channel and handle sizes, for every peer.
//!
//! A counting global allocator (only in this binary, so it cannot perturb the
//! timing benches) records the bytes each peer requests from the allocator
//! when a channel is created, while it holds a value, and in total over
//! create + send + receive. The allocator may round a request up; the numbers
//! are the sizes asked for, the same measure for every peer.
//!
//! `cargo bench -p ripcord-bench --bench memory` (instant); `-- --out docs/bench` also writes
//! `memory.csv`, `memory.json` and `memory.md` (or set `RIPCORD_BENCH_OUT`).

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::hint::black_box;
use std::mem::size_of;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering::Relaxed};

use support::peers::{Peer, for_each_peer};
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

fn main() {
    let mut out_dir = std::env::var("RIPCORD_BENCH_OUT")
        .ok()
        .filter(|s| !s.is_empty());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--out" {
            out_dir = args.next();
        }
    }
    let out_dir = out_dir.map(support::out_dir);
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
    if let Some(dir) = out_dir {
        std::fs::write(format!("{dir}/tokens-memory.md"), &tokens).expect("write table");
        std::fs::create_dir_all(&dir).expect("create output directory");
        std::fs::write(format!("{dir}/memory.csv"), csv).expect("write csv");
        std::fs::write(format!("{dir}/memory.json"), json).expect("write json");
        std::fs::write(format!("{dir}/memory.md"), table).expect("write table");
        eprintln!("wrote {dir}/memory.{{csv,json,md}}");
    }
}
