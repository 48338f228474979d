//! Connection churn: the heap a long-running server keeps as connections come
//! and go, on ripcord's `Shutdown` subsystem tree.
//!
//! A server has `root = Shutdown::new()` and `http = root.child("http")`; every
//! connection is a child of `http` (`"conn {i}"`) with 0-3 request children
//! (`"GET /x"`; 1-3 in endings b-d), each request holding a guard for part of
//! the connection's life. A connection ends in one of four ways, picked by a xorshift PRNG with
//! a fixed seed (so every run does the same work):
//!
//! - (a) closed normally: the guards go, then the requests and the connection,
//!   nothing triggered;
//! - (b) closed by the client: `conn.trigger()` while a request's guard is
//!   still alive, then the guard, the requests and the connection go;
//! - (c) forced: `conn.trigger()`, then `conn.force()` while a guard is alive,
//!   then everything goes;
//! - (d) one request shut down on its own (`req.trigger()`), then everything
//!   goes.
//!
//! A counting global allocator (only in this binary) tracks the live heap
//! bytes and allocations. After a warm-up of 1,000 connections the live bytes
//! are the baseline; after N more connections (1,000 to 1,000,000; 1,000 and
//! 10,000 with `RIPCORD_BENCH_QUICK=1`) whatever is still live beyond it was
//! retained by the tree: the target is 0 bytes per connection. Every 10,000
//! connections, and at the end, the tree's report lists only `root` and
//! `http`.
//!
//! A second table ends connections by the root instead: fresh `root/http`
//! trees in epochs of 1,000 connections, each epoch ending with
//! `root.trigger()` while 10 connections are still alive, then everything
//! dropped; retained bytes after all epochs against after the first.
//!
//! The bench panics (exits non-zero) when the bytes per connection at the
//! largest N exceed 1.0 in either table: a leak.
//!
//! `cargo bench -p ripcord-bench --bench churn` (seconds); `-- --out docs/bench`
//! or `RIPCORD_BENCH_OUT=docs/bench` also writes `churn.md`.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use ripcord::shutdown::{Shutdown, ShutdownGuard};

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_ALLOCS: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; the counters
// are plain atomics and never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Relaxed);
            LIVE_ALLOCS.fetch_add(1, Relaxed);
        }
        ptr
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Relaxed);
            LIVE_ALLOCS.fetch_add(1, Relaxed);
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Relaxed);
        LIVE_ALLOCS.fetch_sub(1, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as ours.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Live heap bytes and allocations at one point.
#[derive(Clone, Copy)]
struct Live {
    bytes: isize,
    allocs: isize,
}

fn live() -> Live {
    Live {
        bytes: LIVE_BYTES.load(Relaxed),
        allocs: LIVE_ALLOCS.load(Relaxed),
    }
}

/// xorshift64: cheap, deterministic, allocation-free.
struct XorShift(u64);

impl XorShift {
    const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// Connections after which the warm-up ends and the baseline is taken.
const WARM_UP: u64 = 1_000;
/// Connections between two checks that the tree holds only `root` and `http`.
const CHECK_EVERY: u64 = 10_000;
/// Connections per root epoch, the ones still alive at its trigger included.
const EPOCH: u64 = 1_000;
/// Connections still alive when an epoch's root is triggered.
const ALIVE_AT_TRIGGER: u64 = 10;

/// How a connection of the mixed churn ends.
#[derive(Clone, Copy)]
enum End {
    /// (a) Guards dropped, then the requests and the connection; no trigger.
    Closed,
    /// (b) `conn.trigger()` while a request's guard is alive.
    Client,
    /// (c) `conn.trigger()`, then `conn.force()` while a guard is alive.
    Forced,
    /// (d) One request triggered on its own.
    Request,
}

/// A request subsystem and the guard its handler holds (until it finishes).
type Request = (Shutdown, Option<ShutdownGuard>);

/// One open connection: its subsystem and up to three requests.
struct Conn {
    conn: Shutdown,
    requests: [Option<Request>; 3],
    open: usize,
}

impl Conn {
    /// Opens connection `i` under `http` with `requests` requests, each holding
    /// a guard.
    fn open(http: &Shutdown, i: u64, requests: usize) -> Conn {
        let conn = http.child(format!("conn {i}"));
        let mut slots: [Option<Request>; 3] = Default::default();
        for slot in slots.iter_mut().take(requests) {
            let request = conn.child("GET /x");
            let guard = request.guard().expect("a live request takes guards");
            *slot = Some((request, Some(guard)));
        }
        Conn {
            conn,
            requests: slots,
            open: requests,
        }
    }

    /// The guard of request `k`, if that request exists and still runs.
    fn guard(&self, k: usize) -> Option<&ShutdownGuard> {
        self.requests[k]
            .as_ref()
            .and_then(|(_, guard)| guard.as_ref())
    }

    /// Request `k`'s handler finishes: its guard goes.
    fn finish(&mut self, k: usize) {
        if let Some((_, guard)) = &mut self.requests[k] {
            drop(guard.take());
        }
    }

    /// The end of the connection: every guard, then every request, then the
    /// connection itself.
    fn close(mut self) {
        for k in 0..self.open {
            self.finish(k);
        }
        self.requests = Default::default();
        drop(self.conn);
    }
}

/// How many connections ended each way (a, b, c, d), and their requests.
#[derive(Default)]
struct Mix {
    ends: [u64; 4],
    requests: u64,
}

/// One connection's life, start to end, under `http`.
fn lifecycle(http: &Shutdown, i: u64, rng: &mut XorShift, mix: &mut Mix) {
    let r = rng.next();
    let end = match r % 4 {
        0 => End::Closed,
        1 => End::Client,
        2 => End::Forced,
        _ => End::Request,
    };
    // (b), (c) and (d) need a request whose guard is alive at the end.
    let least = u64::from(!matches!(end, End::Closed));
    let requests = (least + (r >> 2) % (4 - least)) as usize;
    mix.ends[end as usize] += 1;
    mix.requests += requests as u64;
    let mut conn = Conn::open(http, i, requests);
    // Which request is still running at the end (the others finished).
    let last = ((r >> 4) as usize) % requests.max(1);
    for k in (0..requests).filter(|&k| k != last) {
        conn.finish(k);
    }
    match end {
        End::Closed => {}
        End::Client => {
            conn.conn.trigger();
            let guard = conn.guard(last).expect("(b) has a running request");
            assert!(guard.token().is_cancelled());
        }
        End::Forced => {
            conn.conn.trigger();
            conn.conn.force();
            let guard = conn.guard(last).expect("(c) has a running request");
            assert!(guard.hard_token().is_cancelled());
        }
        End::Request => {
            let (request, guard) = conn.requests[last].as_ref().expect("(d) has a request");
            request.trigger();
            assert!(guard.as_ref().is_some_and(|g| g.token().is_cancelled()));
            assert!(!conn.conn.is_triggered());
        }
    }
    conn.close();
}

/// What the tree's reports showed that they should not have. Recorded, not
/// panicked on at once, so that a leaking build still measures and prints
/// its bytes per connection; `main` panics with them at the end.
#[derive(Default)]
struct Failures {
    /// Checks made.
    checks: usize,
    first: Vec<String>,
    count: usize,
}

impl Failures {
    /// Keeps the first few messages, counts the rest.
    fn record(&mut self, message: impl FnOnce() -> String) {
        self.count += 1;
        if self.first.len() < 5 {
            self.first.push(message());
        }
    }

    /// Checks that `root`'s report lists `expected` subsystems.
    fn check_listed(&mut self, root: &Shutdown, expected: usize, when: impl FnOnce() -> String) {
        self.checks += 1;
        let report = root.report();
        let listed = report.subsystems();
        if listed.len() != expected {
            self.record(|| {
                let some: Vec<&str> = listed.iter().take(8).map(|s| s.path()).collect();
                format!(
                    "{}: the report lists {} subsystems, not {expected}: {some:?}{}",
                    when(),
                    listed.len(),
                    if listed.len() > some.len() {
                        " ..."
                    } else {
                        ""
                    }
                )
            });
        }
    }
}

/// Records a failure unless nothing of any connection is left in the tree.
fn check_only_root_and_http(root: &Shutdown, after: u64, failures: &mut Failures) {
    failures.check_listed(root, 2, || {
        format!("mixed churn, after {after} connections")
    });
}

/// One measured run: N connections after the warm-up.
struct Row {
    n: u64,
    bytes: isize,
    allocs: isize,
    elapsed: Duration,
}

impl Row {
    fn per_connection(&self) -> f64 {
        self.bytes as f64 / self.n as f64
    }
}

/// Mixed churn: one long-running `root/http` tree, `n` connections after the
/// warm-up.
fn churn(n: u64, mix: &mut Mix, failures: &mut Failures) -> Row {
    let root = Shutdown::new();
    let http = root.child("http");
    let mut rng = XorShift(XorShift::SEED);
    for i in 0..WARM_UP {
        lifecycle(&http, i, &mut rng, mix);
    }
    check_only_root_and_http(&root, WARM_UP, failures);
    let before = live();
    let start = Instant::now();
    for k in 1..=n {
        lifecycle(&http, WARM_UP + k, &mut rng, mix);
        if k % CHECK_EVERY == 0 {
            check_only_root_and_http(&root, WARM_UP + k, failures);
        }
    }
    let elapsed = start.elapsed();
    let after = live();
    check_only_root_and_http(&root, WARM_UP + n, failures);
    Row {
        n,
        bytes: after.bytes - before.bytes,
        allocs: after.allocs - before.allocs,
        elapsed,
    }
}

/// One root epoch: a fresh `root/http` tree, `EPOCH - ALIVE_AT_TRIGGER`
/// connections of the mixed churn, then `ALIVE_AT_TRIGGER` connections still
/// open when the root is triggered; then everything goes.
fn epoch(rng: &mut XorShift, mix: &mut Mix, failures: &mut Failures) {
    let root = Shutdown::new();
    let http = root.child("http");
    for i in 0..EPOCH - ALIVE_AT_TRIGGER {
        lifecycle(&http, i, rng, mix);
    }
    let mut requests = 0;
    let alive: Vec<Conn> = (EPOCH - ALIVE_AT_TRIGGER..EPOCH)
        .map(|i| {
            let n = (1 + rng.next() % 3) as usize;
            requests += n;
            Conn::open(&http, i, n)
        })
        .collect();
    root.trigger();
    for conn in &alive {
        assert!(conn.conn.is_triggered());
        assert!((0..conn.open).all(|k| conn.guard(k).is_some_and(|g| g.token().is_cancelled())));
    }
    // The report lists the subsystems taking part: the root, http and the
    // open connections with their requests; none of the closed ones.
    let expected = 2 + ALIVE_AT_TRIGGER as usize + requests;
    failures.check_listed(&root, expected, || "by the root, at the trigger".into());
    for conn in alive {
        conn.close();
    }
    failures.checks += 1;
    if !root.is_drained() {
        failures.record(|| "by the root: not drained once every connection was closed".into());
    }
    drop(http);
    drop(root);
}

/// Root epochs: `n` connections in `n / EPOCH` epochs, after a first epoch.
fn root_epochs(n: u64, mix: &mut Mix, failures: &mut Failures) -> Row {
    let mut rng = XorShift(XorShift::SEED ^ 0xA5A5_A5A5);
    epoch(&mut rng, mix, failures);
    let before = live();
    let start = Instant::now();
    for _ in 0..n / EPOCH {
        epoch(&mut rng, mix, failures);
    }
    let elapsed = start.elapsed();
    let after = live();
    Row {
        n,
        bytes: after.bytes - before.bytes,
        allocs: after.allocs - before.allocs,
        elapsed,
    }
}

/// `1234567` as `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| N | bytes retained | bytes per connection | live allocations retained |\n|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {:.3} | {} |",
            grouped(r.n),
            r.bytes,
            r.per_connection(),
            r.allocs
        );
    }
    out
}

/// The informational time per connection lifecycle.
fn timing(rows: &[Row]) -> String {
    rows.iter()
        .map(|r| {
            format!(
                "N = {}: {:.0} ns",
                grouped(r.n),
                r.elapsed.as_nanos() as f64 / r.n as f64
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn main() {
    let out_dir = support::out_dir_from_args();
    let sizes: &[u64] = if support::quick() {
        &[1_000, 10_000]
    } else {
        &[1_000, 10_000, 100_000, 1_000_000]
    };

    let mut failures = Failures::default();
    let mut mix = Mix::default();
    let churn_rows: Vec<Row> = sizes
        .iter()
        .map(|&n| churn(n, &mut mix, &mut failures))
        .collect();
    assert!(
        mix.ends.iter().all(|&e| e > 0),
        "every ending occurs: {:?}",
        mix.ends
    );
    let mut epoch_mix = Mix::default();
    let epoch_rows: Vec<Row> = sizes
        .iter()
        .map(|&n| root_epochs(n, &mut epoch_mix, &mut failures))
        .collect();

    let churn_table = table(&churn_rows);
    let epoch_table = table(&epoch_rows);
    let largest = |rows: &[Row]| rows.last().expect("one size at least").per_connection();
    let (churn_max, epoch_max) = (largest(&churn_rows), largest(&epoch_rows));
    let met = churn_max <= 1.0 && epoch_max <= 1.0;
    let total: u64 = mix.ends.iter().sum();
    let share = |e: usize| 100.0 * mix.ends[e] as f64 / total as f64;

    let mut out = String::new();
    let _ = writeln!(
        out,
        "Connection churn on a `Shutdown` tree: heap retained per closed connection (counting allocator)\n"
    );
    let _ = writeln!(
        out,
        "Mixed churn (one long-running `root/http` tree; warm-up of {} connections, then N):\n",
        grouped(WARM_UP)
    );
    out.push_str(&churn_table);
    let _ = writeln!(
        out,
        "\nBy the root (fresh `root/http` trees, epochs of {} connections, each ending with `root.trigger()` while {} are open; after N more connections against after the first epoch):\n",
        grouped(EPOCH),
        ALIVE_AT_TRIGGER
    );
    out.push_str(&epoch_table);
    let _ = writeln!(
        out,
        "\nTarget: 0 bytes retained per connection (a leak if above 1.0 at the largest N): mixed churn {churn_max:.3}, by the root {epoch_max:.3} at N = {}: {}",
        grouped(*sizes.last().expect("one size at least")),
        if met { "met" } else { "**missed**" }
    );
    let _ = writeln!(
        out,
        "\nReport checks (only `root` and `http` listed every {} connections and at the end; exactly the open connections listed at each root trigger; drained once they close): {} made, {}",
        grouped(CHECK_EVERY),
        failures.checks,
        if failures.count == 0 {
            "all passed".to_string()
        } else {
            format!("**{} failed**", failures.count)
        }
    );
    let _ = writeln!(
        out,
        "\nTime per connection lifecycle (this machine, informational, not a claim): mixed churn {}; by the root {}.",
        timing(&churn_rows),
        timing(&epoch_rows)
    );
    print!("{out}");

    if let Some(dir) = out_dir {
        let mut md = format!(
            "# Connection churn: heap retained per connection\n\nGenerated by `cargo bench -p ripcord-bench --bench churn` on {}{}; do not edit by hand.\n\n",
            support::utc_now(),
            if support::quick() {
                " (quick mode)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            md,
            "A long-running server's `Shutdown` tree, `root` with a child `http`, sees connections come and go: each is a child `conn {{i}}` of `http` with 0-3 request children `GET /x` (1-3 in endings b-d), each request holding a guard for part of the connection's life. A connection ends in one of four ways, picked by a xorshift PRNG with a fixed seed: (a) closed normally, its guards, requests and itself dropped without any trigger ({:.0}% of them); (b) closed by the client, `conn.trigger()` while a request's guard is alive ({:.0}%); (c) forced, `conn.trigger()` then `conn.force()` while a guard is alive ({:.0}%); (d) one request shut down on its own, `req.trigger()` ({:.0}%); then everything is dropped. A counting global allocator tracks live heap bytes and allocations: after a warm-up of {} connections the live bytes are the baseline, and what is still live after N more connections, divided by N, is the heap the tree keeps per closed connection. The target is 0; the bench fails above 1.0 at the largest N. (The tree before the fix kept the nodes of forced connections and their requests: about 650 bytes per connection of this mix at N = 10,000, and its reports listed them.) Every {} connections and at the end the tree's report lists only `root` and `http`.\n",
            share(0),
            share(1),
            share(2),
            share(3),
            grouped(WARM_UP),
            grouped(CHECK_EVERY)
        );
        let _ = writeln!(
            md,
            "The second table shuts connections down by the root: fresh `root/http` trees in epochs of {} connections of the same mix, each epoch ending with `root.trigger()` while {} connections (1-3 requests each, guards held) are still open, whose report lists exactly the root, `http` and those connections with their requests; then everything is dropped. Bytes retained are after N more connections (N / {} epochs) against after the first epoch.\n",
            grouped(EPOCH),
            ALIVE_AT_TRIGGER,
            grouped(EPOCH)
        );
        md.push_str(&out);
        let dir_path = std::path::Path::new(&dir);
        std::fs::create_dir_all(dir_path).expect("create output directory");
        std::fs::write(dir_path.join("churn.md"), md).expect("write churn.md");
        eprintln!("wrote {dir}/churn.md");
    }

    assert!(
        failures.count == 0,
        "{} report checks failed; the first:\n{}",
        failures.count,
        failures.first.join("\n")
    );
    assert!(
        met,
        "leak: bytes retained per connection at N = {} above 1.0 (mixed churn {churn_max:.3}, by the root {epoch_max:.3})",
        sizes.last().expect("one size at least")
    );
}
