//! Churn soak: a long-running server's shutdown tree keeps a flat heap.
//!
//! A server-shaped tree (root → http → one subsystem per connection, each
//! with 0–3 request children) sees connections come and go, ending every way
//! a connection ends: closed, shut down by the client, forced, a request
//! shut down alone, the client hanging up mid-request, and the whole server
//! shut down by its root. The bytes still allocated afterwards do not depend
//! on how many connections there were (a counting allocator), and a report
//! lists only what is alive or took part in a tree-wide shutdown.
//!
//! Sizes: `RIPCORD_CHURN_CONNECTIONS` (default 100,000; a handful under
//! Miri). `cargo bench -p ripcord-bench --bench churn` runs it at 1,000,000.
#![cfg(all(feature = "std", not(loom)))]

mod faults_support;

use faults_support::{live_allocs, serial, settled_bytes};
use ripcord::shutdown::Shutdown;

/// How many connection lifecycles a soak runs.
fn connections() -> usize {
    if cfg!(miri) {
        return 40;
    }
    std::env::var("RIPCORD_CHURN_CONNECTIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000)
}

/// What one allocation's worth of noise may add (a lazily grown buffer of
/// the test harness, a thread-local): far below one byte per connection.
const SLACK_BYTES: isize = 1024;

/// A small deterministic generator (xorshift), so every run churns alike.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// How a connection ends.
#[derive(Clone, Copy, Debug)]
enum End {
    /// Its requests finish, then it is dropped: nothing triggered.
    Closed,
    /// The client went away: `conn.trigger()` with a request in flight.
    ByClient,
    /// Shut down, then forced while a request is still in flight.
    Forced,
    /// One request shut down alone while the connection runs.
    RequestAlone,
    /// The connection's handle is dropped while a request still runs.
    HungUp,
}

const ENDS: [End; 5] = [
    End::Closed,
    End::ByClient,
    End::Forced,
    End::RequestAlone,
    End::HungUp,
];

/// One connection lifecycle under `http`.
fn lifecycle(http: &Shutdown, i: usize, requests: usize, end: End) {
    let conn = http.child(format!("conn {i}"));
    let reqs: Vec<Shutdown> = (0..requests).map(|_| conn.child("GET /items")).collect();
    let mut guards: Vec<_> = reqs.iter().map(|r| r.guard().unwrap()).collect();
    let conn_guard = conn.guard().unwrap();
    match end {
        End::Closed => {
            guards.clear();
            drop(conn_guard);
        }
        End::ByClient => {
            conn.trigger();
            assert!(conn.is_triggered());
            drop(conn_guard);
            guards.clear();
            assert!(conn.is_drained());
        }
        End::Forced => {
            conn.trigger();
            conn.force();
            assert!(conn.is_forced());
            drop(conn_guard);
            guards.clear();
        }
        End::RequestAlone => {
            if let Some(req) = reqs.first() {
                req.trigger();
            }
            guards.clear();
            drop(conn_guard);
        }
        End::HungUp => {
            drop(conn_guard);
            drop(conn);
            guards.clear();
            drop(reqs);
            return;
        }
    }
    drop(reqs);
    drop(conn);
}

/// Runs `rounds` mixed lifecycles under `http`.
fn churn(http: &Shutdown, rng: &mut Rng, first: usize, rounds: usize) {
    for i in first..first + rounds {
        let requests = rng.below(4) as usize;
        let end = ENDS[rng.below(ENDS.len() as u64) as usize];
        lifecycle(http, i, requests, end);
    }
}

fn assert_flat(what: &str, n: usize, before: (isize, isize), after: (isize, isize)) {
    let bytes = after.0 - before.0;
    let allocs = after.1 - before.1;
    println!(
        "{what}: {n} connections, {bytes} bytes and {allocs} allocations retained \
         ({:.4} bytes per connection)",
        bytes as f64 / n as f64
    );
    assert!(
        bytes <= SLACK_BYTES && allocs <= 4,
        "{what}: the heap grew by {bytes} bytes ({allocs} allocations) over {n} connections"
    );
}

fn heap() -> (isize, isize) {
    (settled_bytes(), live_allocs())
}

/// Issue 20, defect 1, as reported: a connection with a request child shuts
/// down on its own (the client went away), then both handles are dropped.
/// Before the fix each such connection left its request's node (~500 bytes)
/// reachable from nowhere.
#[test]
fn a_connection_closed_by_its_client_with_a_request_child_leaves_nothing_behind() {
    let _serial = serial();
    let root = Shutdown::new();
    let http = root.child("http");
    let one = |i: usize| {
        let conn = http.child(format!("conn {i}"));
        let request = conn.child("GET /");
        conn.trigger();
        drop(request);
        drop(conn);
    };
    (0..100).for_each(one);
    let before = heap();
    let n = connections();
    (0..n).for_each(one);
    assert_flat("closed by the client", n, before, heap());
    assert_eq!(root.report().subsystems().len(), 2, "{}", root.report());
}

/// The soak: mixed lifecycles, every way a connection ends. The heap after
/// a tenth of the connections and after all of them is the same, and the
/// report lists only the root and http.
#[test]
fn a_churning_server_tree_keeps_a_flat_heap() {
    let _serial = serial();
    let root = Shutdown::new();
    let http = root.child("http");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let n = connections();
    churn(&http, &mut rng, 0, n / 10);
    let before = heap();
    churn(&http, &mut rng, n / 10, n - n / 10);
    assert_flat("mixed churn", n - n / 10, before, heap());
    let report = root.report();
    let paths: Vec<&str> = report.subsystems().iter().map(|s| s.path()).collect();
    assert_eq!(paths, ["", "http"], "{report}");
    assert_eq!(root.active_guards(), 1, "http's hold on the root");
}

/// Whole servers shut down by their root while connections are in flight:
/// each epoch's tree reports every connection that took part, and once
/// dropped, gives all of its memory back.
#[test]
fn a_server_shut_down_by_its_root_gives_its_heap_back() {
    let _serial = serial();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let per_epoch = (connections() / 20).max(4);
    let epoch = |rng: &mut Rng, e: usize| {
        let root = Shutdown::new();
        let http = root.child("http");
        churn(&http, rng, e * per_epoch, per_epoch);
        // Ten connections still in flight when the root triggers.
        let live: Vec<_> = (0..10)
            .map(|i| {
                let conn = http.child(format!("conn live {i}"));
                let req = conn.child("GET /slow");
                let guard = req.guard().unwrap();
                (conn, req, guard)
            })
            .collect();
        root.trigger();
        assert!(!root.is_drained());
        let report = root.report();
        // root, http, and each live connection with its request.
        assert_eq!(report.subsystems().len(), 2 + 2 * live.len(), "{report}");
        for (conn, req, guard) in live {
            drop(guard);
            assert!(req.is_drained() && conn.is_drained());
        }
        assert!(root.is_drained() && root.report().is_drained());
    };
    epoch(&mut rng, 0);
    let before = heap();
    for e in 1..20 {
        epoch(&mut rng, e);
    }
    assert_flat("root shutdowns", 19 * (per_epoch + 10), before, heap());
}
