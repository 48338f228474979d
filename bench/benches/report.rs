//! Side-by-side runner: every peer in one process, interleaved, ratios only.
//!
//! ```text
//! cargo bench -p ripcord-bench --bench report                          # full (about two minutes)
//! RIPCORD_BENCH_QUICK=1 cargo bench -p ripcord-bench --bench report    # smoke run (seconds)
//! cargo bench -p ripcord-bench --bench report -- --out docs/bench      # also write CSV, JSON, SVG
//! cargo bench -p ripcord-bench --bench report -- --filter "4a cross"   # only matching groups
//! cargo bench -p ripcord-bench --bench report -- --filter latency      # only the latency percentiles
//! cargo bench -p ripcord-bench --bench report -- --filter promise      # only the promises (scenario 8)
//! cargo bench -p ripcord-bench --bench report -- --filter select       # only the select rows (scenario 9)
//! cargo bench -p ripcord-bench --bench report -- --filter shutdown     # only the shutdown rows (scenario 10)
//! RIPCORD_BENCH_OUT=docs/bench cargo bench -p ripcord-bench            # every bench; writes files
//! ```
//!
//! The machine this runs on is shared and noisy, so the runner never runs one
//! peer's block once: it calibrates a batch size per case, then runs many
//! rounds in which every peer of an operation runs one batch, in a rotating
//! order. It reports the median time per operation over the batches, and each
//! ratio as the median of per-round ratios (both sides measured seconds
//! apart), which cancels most of the machine's drift. Absolute times are only
//! printed to show the spread; the claims are the ratios.
//!
//! Scenarios 3 and 4 (round trips across threads and runtimes) run in three
//! thread placements, each its own groups (see `support::Placement`):
//! `3a`/`4a` apart (caller on CPU 0, worker on CPU 1), `3b`/`4b` together
//! (all on CPU 0) and `3c`/`4c` oversubscribed (4 caller/worker pairs at once,
//! unpinned, time per round trip of one pair). Then, for 3a and 3c, every
//! round trip is timed on its own for latency percentiles (p50, p99): a
//! fixed number per peer, interleaved across peers in chunks like the rounds.
//!
//! Scenario 7 (cancellation tokens), scenario 8 (promises), scenario 9
//! (select: waiting for a value or a stop signal; its hand-off rows `9a`-`9c`
//! in the same three placements) and scenario 10 (graceful shutdown; its
//! contending rows `10a`-`10c` in the three placements) get their own summary
//! tables and output files (`tokens.*`, `promise.*`, `select.*`,
//! `shutdown.*`). A filter that selects only one of these writes only its
//! files.
//!
//! It is a `[[bench]]` target (`harness = false`) rather than an example so
//! that it is always built with optimizations and runs with `cargo bench -p ripcord-bench`,
//! while the debug-mode example loop of CI does not run it.

mod support;

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use support::{Case, Kind, LatencyRunner, Placement};

/// One measured case.
struct Row {
    peer: &'static str,
    kind: Kind,
    /// Nanoseconds per operation, one entry per round; empty when n/a.
    samples: Vec<f64>,
    iters: u64,
}

impl Row {
    fn available(&self) -> bool {
        !self.samples.is_empty()
    }
    fn median(&self) -> f64 {
        quantile(&self.samples, 0.5)
    }
}

/// One operation's ratios (ours ÷ a peer), each the median of per-round ratios.
#[derive(Clone, Copy)]
struct Ratio {
    peer: &'static str,
    median: f64,
    p25: f64,
    p75: f64,
}

struct Group {
    scenario: &'static str,
    op: &'static str,
    rows: Vec<Row>,
    best_peer: Option<Ratio>,
    best_oneshot: Option<Ratio>,
    /// Ours ÷ tokio-util (token scenarios only).
    vs_tokio_util: Option<Ratio>,
    /// Ours ÷ each peer that has the operation, in row order (promise and
    /// shutdown scenarios only).
    vs_each: Vec<Ratio>,
    /// Each target's arm ÷ its reference (select scenario only).
    pairs: Vec<Pair>,
}

/// One select target and this run's ratio for it (`None`: an arm is n/a).
struct Pair {
    target: &'static support::select_cases::Target,
    /// `peer` is the reference.
    ratio: Option<Ratio>,
}

impl Pair {
    fn met(&self) -> Option<bool> {
        self.ratio.map(|r| r.median <= self.target.max)
    }
}

impl Group {
    fn is_token(&self) -> bool {
        self.scenario.starts_with('7')
    }
    fn is_promise(&self) -> bool {
        self.scenario.starts_with('8')
    }
    fn is_select(&self) -> bool {
        self.scenario.starts_with('9')
    }
    fn is_shutdown(&self) -> bool {
        self.scenario.starts_with("10")
    }
    /// Ours ÷ the named peer, if it has the operation.
    fn vs(&self, peer: &str) -> Option<&Ratio> {
        self.vs_each.iter().find(|r| r.peer == peer)
    }
}

struct Settings {
    rounds: usize,
    batch: Duration,
    /// Round trips timed one by one per peer and latency placement.
    latency_round_trips: u64,
    /// Chunks they are interleaved in (one chunk of every peer per round).
    latency_rounds: u64,
    filter: Option<String>,
    out: Option<String>,
    quick: bool,
}

fn settings() -> Settings {
    let mut quick = support::quick();
    let mut filter = None;
    let mut out = std::env::var("RIPCORD_BENCH_OUT")
        .ok()
        .filter(|s| !s.is_empty());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--filter" => filter = args.next(),
            "--out" => out = args.next(),
            // `cargo bench -p ripcord-bench` passes `--bench`; criterion-style flags are ignored.
            _ => {}
        }
    }
    let (rounds, batch) = if quick {
        (9, Duration::from_millis(2))
    } else {
        (41, Duration::from_millis(8))
    };
    let (latency_round_trips, latency_rounds) = if quick { (2_000, 10) } else { (20_000, 40) };
    Settings {
        rounds,
        batch,
        latency_round_trips,
        latency_rounds,
        filter,
        out: out.map(support::out_dir),
        quick,
    }
}

fn quantile(samples: &[f64], q: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Finds a batch size that takes about `target`; doubles as the warm-up.
fn calibrate(run: &mut support::Runner, target: Duration) -> u64 {
    let mut iters = 1u64;
    loop {
        let took = run(iters);
        if took >= target / 4 || iters >= 1 << 32 {
            let scaled = iters as f64 * target.as_secs_f64() / took.as_secs_f64().max(1e-9);
            return (scaled as u64).max(1);
        }
        iters *= 2;
    }
}

fn measure(cases: &mut [Case], s: &Settings) -> Vec<Row> {
    let mut iters: Vec<u64> = Vec::with_capacity(cases.len());
    for case in cases.iter_mut() {
        iters.push(case.run.as_mut().map_or(0, |run| calibrate(run, s.batch)));
    }
    let mut samples = vec![Vec::with_capacity(s.rounds); cases.len()];
    let n = cases.len();
    for round in 0..s.rounds {
        for k in 0..n {
            let i = (round + k) % n;
            if let Some(run) = cases[i].run.as_mut() {
                let took = run(iters[i]);
                samples[i].push(took.as_nanos() as f64 / iters[i] as f64);
            }
        }
    }
    cases
        .iter()
        .zip(samples)
        .zip(iters)
        .map(|((case, samples), iters)| Row {
            peer: case.peer,
            kind: case.kind,
            samples,
            iters,
        })
        .collect()
}

/// Ours ÷ the fastest row among those `pick` accepts.
fn ratio_to_best(rows: &[Row], pick: impl Fn(&Row) -> bool) -> Option<Ratio> {
    let ours = rows
        .iter()
        .find(|r| r.kind == Kind::Ours && r.available())?;
    let best = rows
        .iter()
        .filter(|r| pick(r) && r.available())
        .min_by(|a, b| a.median().total_cmp(&b.median()))?;
    Some(per_round_ratio(ours, best))
}

/// The named arm ÷ the named reference, per round (both rows of one group).
fn ratio_of(rows: &[Row], arm: &str, reference: &str) -> Option<Ratio> {
    let find = |name: &str| rows.iter().find(|r| r.peer == name && r.available());
    let (arm, reference) = (find(arm)?, find(reference)?);
    Some(per_round_ratio(arm, reference))
}

/// `arm` ÷ `reference`, round by round (rows measured in the same rounds),
/// summarised by its median and quartiles.
fn per_round_ratio(arm: &Row, reference: &Row) -> Ratio {
    let per_round: Vec<f64> = arm
        .samples
        .iter()
        .zip(&reference.samples)
        .map(|(a, r)| a / r)
        .collect();
    Ratio {
        peer: reference.peer,
        median: quantile(&per_round, 0.5),
        p25: quantile(&per_round, 0.25),
        p75: quantile(&per_round, 0.75),
    }
}

fn run_groups(s: &Settings) -> Vec<Group> {
    let mut cases = support::oneshot_cases::cases_in(&Placement::ALL);
    cases.extend(support::token_cases::cases());
    cases.extend(support::promise_cases::cases());
    cases.extend(support::select_cases::cases_in(&Placement::ALL));
    cases.extend(support::shutdown_cases::cases_in(&Placement::ALL));
    let mut groups = Vec::new();
    let mut start = 0;
    while start < cases.len() {
        let name = cases[start].group();
        let end = start
            + cases[start..]
                .iter()
                .take_while(|c| c.group() == name)
                .count();
        let selected = s.filter.as_ref().is_none_or(|f| name.contains(f.as_str()));
        if selected {
            let began = Instant::now();
            let rows = measure(&mut cases[start..end], s);
            eprintln!("measured {name} in {:.1?}", began.elapsed());
            let best_peer = ratio_to_best(&rows, |r| {
                matches!(
                    r.kind,
                    Kind::Oneshot | Kind::Channel | Kind::Token | Kind::Promise | Kind::Shutdown
                )
            });
            let best_oneshot = ratio_to_best(&rows, |r| r.kind == Kind::Oneshot);
            let vs_tokio_util = ratio_to_best(&rows, |r| r.peer == "tokio-util");
            let scenario = cases[start].scenario;
            let vs_each = if scenario.starts_with('8') || scenario.starts_with("10") {
                rows.iter()
                    .filter(|r| matches!(r.kind, Kind::Promise | Kind::Shutdown))
                    .filter_map(|r| ratio_to_best(&rows, |o| o.peer == r.peer))
                    .collect()
            } else {
                Vec::new()
            };
            let pairs = if cases[start].scenario.starts_with('9') {
                support::select_cases::targets(cases[start].op)
                    .iter()
                    .map(|target| Pair {
                        target,
                        ratio: ratio_of(&rows, target.arm, target.reference),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            groups.push(Group {
                scenario: cases[start].scenario,
                op: cases[start].op,
                rows,
                best_peer,
                best_oneshot,
                vs_tokio_util,
                vs_each,
                pairs,
            });
        }
        // Drop the finished cases now: their worker threads and tasks exit.
        for case in &mut cases[start..end] {
            case.run = None;
        }
        start = end;
    }
    groups
}

// ---- latency percentiles ------------------------------------------------------------

/// The placements whose thread round trip (scenario 3) is also timed one
/// round trip at a time.
const LATENCY_PLACEMENTS: [Placement; 2] = [Placement::Apart, Placement::Oversubscribed];

/// One peer's round-trip latencies, in nanoseconds.
struct Latency {
    peer: &'static str,
    kind: Kind,
    /// Every timed round trip; empty when n/a.
    samples: Vec<f64>,
}

impl Latency {
    fn p50(&self) -> f64 {
        quantile(&self.samples, 0.5)
    }
    fn p99(&self) -> f64 {
        quantile(&self.samples, 0.99)
    }
}

struct LatencyGroup {
    scenario: &'static str,
    op: &'static str,
    rows: Vec<Latency>,
}

impl LatencyGroup {
    fn ours(&self) -> Option<&Latency> {
        self.rows
            .iter()
            .find(|r| r.kind == Kind::Ours && !r.samples.is_empty())
    }
    /// The fastest peer (not a variant) by `pct`, and ripcord's `pct` ÷ its.
    fn vs_fastest(&self, pct: fn(&Latency) -> f64) -> Option<(&'static str, f64)> {
        let ours = self.ours()?;
        let best = self
            .rows
            .iter()
            .filter(|r| matches!(r.kind, Kind::Oneshot | Kind::Channel) && !r.samples.is_empty())
            .min_by(|a, b| pct(a).total_cmp(&pct(b)))?;
        Some((best.peer, pct(ours) / pct(best)))
    }
}

/// Times `s.latency_round_trips` round trips per case, one at a time, in
/// `s.latency_rounds` chunks: every round runs one chunk of every case, in
/// rotating order (as `measure` does with batches), after one warm-up chunk
/// each. The percentiles are taken over all of a case's round trips pooled,
/// so a ratio compares percentiles, not per-round values.
fn measure_latency(cases: &mut [Case<LatencyRunner>], s: &Settings) -> Vec<Latency> {
    let chunk = s.latency_round_trips.div_ceil(s.latency_rounds);
    for case in cases.iter_mut() {
        if let Some(run) = case.run.as_mut() {
            black_box(run(chunk));
        }
    }
    let n = cases.len();
    let mut samples = vec![Vec::with_capacity(s.latency_round_trips as usize); n];
    for round in 0..s.latency_rounds as usize {
        for k in 0..n {
            let i = (round + k) % n;
            if let Some(run) = cases[i].run.as_mut() {
                samples[i].extend(run(chunk));
            }
        }
    }
    cases
        .iter()
        .zip(samples)
        .map(|(case, samples)| Latency {
            peer: case.peer,
            kind: case.kind,
            samples,
        })
        .collect()
}

fn run_latency(s: &Settings) -> Vec<LatencyGroup> {
    let mut groups = Vec::new();
    for p in LATENCY_PLACEMENTS {
        let mut cases = support::oneshot_cases::latency_cases(p);
        let name = format!("{} (latency)", cases[0].group());
        if s.filter
            .as_ref()
            .is_some_and(|f| !name.contains(f.as_str()))
        {
            continue;
        }
        let began = Instant::now();
        let rows = measure_latency(&mut cases, s);
        eprintln!("measured {name} in {:.1?}", began.elapsed());
        groups.push(LatencyGroup {
            scenario: cases[0].scenario,
            op: cases[0].op,
            rows,
        });
        // `cases` drops here: its caller and worker threads exit.
    }
    groups
}

fn fmt_vs(r: Option<(&str, f64)>) -> String {
    r.map_or("n/a".into(), |(peer, ratio)| {
        format!("{ratio:.2} vs {peer}")
    })
}

fn print_latency(groups: &[LatencyGroup], s: &Settings) {
    for g in groups {
        println!(
            "\n== latency, {} / {} ({} round trips per peer, each timed on its own)",
            g.scenario, g.op, s.latency_round_trips
        );
        println!(
            "   {:<22} {:>10} {:>10} {:>18} {:>18}",
            "peer", "p50 ns", "p99 ns", "ripcord/peer p50", "ripcord/peer p99"
        );
        let ours = g.ours();
        for r in &g.rows {
            if r.samples.is_empty() {
                println!("   {:<22} {:>10}", r.peer, "n/a");
                continue;
            }
            let (v50, v99) = ours.map_or((String::new(), String::new()), |o| {
                (
                    format!("{:.2}", o.p50() / r.p50()),
                    format!("{:.2}", o.p99() / r.p99()),
                )
            });
            println!(
                "   {:<22} {:>10.0} {:>10.0} {:>18} {:>18}",
                r.peer,
                r.p50(),
                r.p99(),
                v50,
                v99
            );
        }
        println!(
            "   ripcord / fastest peer: p50 {}, p99 {}",
            fmt_vs(g.vs_fastest(Latency::p50)),
            fmt_vs(g.vs_fastest(Latency::p99))
        );
    }
}

/// `latency.md`: one table per placement, percentiles in microseconds and
/// ripcord's percentile ÷ each peer's (< 1: ripcord is faster).
fn latency_markdown(groups: &[LatencyGroup], meta: &Meta, s: &Settings) -> String {
    let mut out = format!(
        "Round-trip latency of scenario 3 (create a channel, hand the sender to a worker thread, block in `recv` until it answers), every round trip timed on its own: {} per peer, interleaved across peers in {} chunks. {} | {} | {} | {} cores | load average {}{}\n",
        s.latency_round_trips,
        s.latency_rounds,
        meta.date,
        meta.rustc,
        meta.cpu,
        meta.cores,
        meta.load_before,
        if meta.quick { " (QUICK MODE)" } else { "" }
    );
    for g in groups {
        let _ = writeln!(
            out,
            "\n**{}** / {}\n\n| peer | p50 us | p99 us | ripcord / peer, p50 | ripcord / peer, p99 |\n|---|---|---|---|---|",
            g.scenario, g.op
        );
        let ours = g.ours();
        for r in &g.rows {
            if r.samples.is_empty() {
                let _ = writeln!(out, "| {} | n/a | n/a | n/a | n/a |", r.peer);
                continue;
            }
            let (v50, v99) = ours.map_or(("n/a".into(), "n/a".into()), |o| {
                (
                    format!("{:.2}", o.p50() / r.p50()),
                    format!("{:.2}", o.p99() / r.p99()),
                )
            });
            let _ = writeln!(
                out,
                "| {} | {:.2} | {:.2} | {} | {} |",
                r.peer,
                r.p50() / 1e3,
                r.p99() / 1e3,
                v50,
                v99
            );
        }
        let _ = writeln!(
            out,
            "| ripcord / fastest peer | | | {} | {} |",
            fmt_vs(g.vs_fastest(Latency::p50)),
            fmt_vs(g.vs_fastest(Latency::p99))
        );
    }
    out
}

fn latency_csv(groups: &[LatencyGroup]) -> String {
    let mut out = String::from(
        "scenario,operation,peer,kind,round_trips,p50_ns,p99_ns,ripcord_over_peer_p50,ripcord_over_peer_p99\n",
    );
    for g in groups {
        let ours = g.ours();
        for r in &g.rows {
            let cells = if r.samples.is_empty() {
                "0,n/a,n/a,,".into()
            } else {
                let (v50, v99) = ours.map_or((String::new(), String::new()), |o| {
                    (
                        format!("{:.4}", o.p50() / r.p50()),
                        format!("{:.4}", o.p99() / r.p99()),
                    )
                });
                format!(
                    "{},{:.1},{:.1},{v50},{v99}",
                    r.samples.len(),
                    r.p50(),
                    r.p99()
                )
            };
            let _ = writeln!(
                out,
                "\"{}\",\"{}\",\"{}\",{},{cells}",
                g.scenario,
                g.op,
                r.peer,
                r.kind.label()
            );
        }
    }
    out
}

/// The issue's target for a scenario, and whether this run meets it.
fn target(g: &Group) -> (&'static str, Option<bool>) {
    if g.is_shutdown() {
        use support::shutdown_cases::{SWANSONG, TASK_TRACKER};
        let (text, max_tracker, max_swansong) = support::shutdown_cases::target(g.op);
        // Every limit of the row, each met or not; `None` if a ratio is
        // missing or the row has no limit.
        let met: Option<Vec<bool>> = [(TASK_TRACKER, max_tracker), (SWANSONG, max_swansong)]
            .into_iter()
            .filter_map(|(peer, max)| max.map(|max| g.vs(peer).map(|r| r.median <= max)))
            .collect();
        return (
            text,
            met.filter(|m| !m.is_empty()).map(|m| m.iter().all(|&m| m)),
        );
    }
    if g.is_select() {
        let met: Option<Vec<bool>> = g.pairs.iter().map(Pair::met).collect();
        return (
            support::select_cases::target_text(g.op),
            met.filter(|m| !m.is_empty()).map(|m| m.iter().all(|&m| m)),
        );
    }
    if g.is_promise() {
        use support::promise_cases::{OP_GET, OnceLockCondvar, PromisePeer as _};
        return if g.op == OP_GET {
            let r = g.vs(OnceLockCondvar::NAME).map(|r| r.median);
            ("<=1.10x OnceLock::get", r.map(|r| r <= 1.1))
        } else {
            let r = g.best_peer.as_ref().map(|r| r.median);
            ("<=1.00x fastest peer", r.map(|r| r <= 1.0))
        };
    }
    if g.is_token() {
        let r = g.vs_tokio_util.as_ref().map(|r| r.median);
        return if g.op.starts_with("is_cancelled") {
            ("<=0.10x tokio-util", r.map(|r| r <= 0.1))
        } else if g.op.starts_with("blocking") {
            ("none (tokio-util has no blocking wait)", None)
        } else {
            ("<=0.50x tokio-util", r.map(|r| r <= 0.5))
        };
    }
    let best = g.best_peer.as_ref().map(|r| r.median);
    let oneshot = g.best_oneshot.as_ref().map(|r| r.median);
    if g.scenario.starts_with('3') || g.scenario.starts_with('4') {
        let met = match (best, oneshot) {
            (Some(b), Some(o)) => Some(b <= 1.5 && o <= 1.0),
            (Some(b), None) => Some(b <= 1.5),
            _ => None,
        };
        ("<=1.00x best oneshot, <=1.5x best", met)
    } else {
        ("<=1.00x best peer", best.map(|b| b <= 1.0))
    }
}

fn fmt_ratio(r: &Option<Ratio>) -> String {
    match r {
        Some(r) => format!("{:.2} [{:.2}-{:.2}] vs {}", r.median, r.p25, r.p75, r.peer),
        None => "n/a".into(),
    }
}

fn print_table(groups: &[Group]) {
    for g in groups {
        println!("\n== {} / {}", g.scenario, g.op);
        // The select rows' arm names are longer than peer names.
        let w = g
            .rows
            .iter()
            .map(|r| r.peer.len())
            .max()
            .unwrap_or(0)
            .max(22);
        println!(
            "   {:<w$} {:>12} {:>22} {:>10}",
            "peer",
            "median ns",
            "p25..p75 ns",
            if g.is_select() {
                "x Select"
            } else {
                "x ripcord"
            }
        );
        let ours = g
            .rows
            .iter()
            .find(|r| r.kind == Kind::Ours && r.available());
        for r in &g.rows {
            if !r.available() {
                println!("   {:<w$} {:>12}", r.peer, "n/a");
                continue;
            }
            let rel = ours.map_or("".into(), |o| format!("{:.2}", r.median() / o.median()));
            println!(
                "   {:<w$} {:>12.1} {:>22} {:>10}",
                r.peer,
                r.median(),
                format!(
                    "{:.1}..{:.1}",
                    quantile(&r.samples, 0.25),
                    quantile(&r.samples, 0.75)
                ),
                rel
            );
        }
    }
    let tokens: Vec<&Group> = groups.iter().filter(|g| g.is_token()).collect();
    let promises: Vec<&Group> = groups.iter().filter(|g| g.is_promise()).collect();
    let selects: Vec<&Group> = groups.iter().filter(|g| g.is_select()).collect();
    let shutdowns: Vec<&Group> = groups.iter().filter(|g| g.is_shutdown()).collect();
    let oneshot: Vec<&Group> = groups
        .iter()
        .filter(|g| !g.is_token() && !g.is_promise() && !g.is_select() && !g.is_shutdown())
        .collect();
    if !oneshot.is_empty() {
        println!(
            "\nSummary: ripcord's time / the fastest peer's time (median of per-round ratios [p25-p75]; < 1 means ripcord is faster)\n"
        );
        println!(
            "| scenario | operation | ours / best peer | ours / best oneshot peer | target | met |"
        );
        println!("|---|---|---|---|---|---|");
    }
    for g in oneshot {
        let (t, met) = target(g);
        let met = match met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "n/a",
        };
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            g.scenario,
            g.op,
            fmt_ratio(&g.best_peer),
            fmt_ratio(&g.best_oneshot),
            t,
            met
        );
    }
    if !tokens.is_empty() {
        println!(
            "\nTokens: ripcord's time / tokio-util's and / the fastest peer's (floor excluded)\n"
        );
        println!("| operation | ours / tokio-util | ours / best peer | target | met |");
        println!("|---|---|---|---|---|");
        for g in tokens {
            let (t, met) = target(g);
            let met = match met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "n/a",
            };
            println!(
                "| {} | {} | {} | {} | {} |",
                g.op,
                fmt_ratio(&g.vs_tokio_util),
                fmt_ratio(&g.best_peer),
                t,
                met
            );
        }
    }
    if !promises.is_empty() {
        println!(
            "\nPromises: ripcord's time / the fastest peer's that has the operation, and / each peer's (n/a: the peer has no such wait)\n"
        );
        for line in promise_table(&promises, "NO") {
            println!("{line}");
        }
    }
    if !selects.is_empty() {
        println!(
            "\nSelect: each ripcord arm's time / its reference's (median of per-round ratios [p25-p75]; < 1: the ripcord arm is faster)\n"
        );
        for line in select_table(&selects, "NO") {
            println!("{line}");
        }
    }
    if !shutdowns.is_empty() {
        println!(
            "\nShutdown: ripcord's time / each peer's (median of per-round ratios [p25-p75]; < 1: ripcord is faster)\n"
        );
        for line in shutdown_table(&shutdowns, "NO") {
            println!("{line}");
        }
    }
}

/// The select summary as markdown lines: one line per target (an arm ÷ its
/// reference in one row), with whether it is met (`no` written as `missed`).
fn select_table(groups: &[&Group], missed: &str) -> Vec<String> {
    let mut lines = vec![
        "| scenario | operation | ripcord arm | reference | arm / reference | target | met |"
            .into(),
        "|---|---|---|---|---|---|---|".into(),
    ];
    for g in groups {
        for pair in &g.pairs {
            let met = match pair.met() {
                Some(true) => "yes",
                Some(false) => missed,
                None => "n/a",
            };
            let ratio = pair.ratio.map_or("n/a".into(), |r| {
                format!("{:.2} [{:.2}-{:.2}]", r.median, r.p25, r.p75)
            });
            lines.push(format!(
                "| {} | {} | {} | {} | {} | <={:.2}x | {} |",
                g.scenario,
                g.op,
                pair.target.arm,
                pair.target.reference,
                ratio,
                pair.target.max,
                met
            ));
        }
    }
    lines
}

/// The peers of kind `kind` in `groups`, in row order.
fn peers_of(groups: &[&Group], kind: Kind) -> Vec<&'static str> {
    let mut peers = Vec::new();
    for g in groups {
        for r in &g.rows {
            if r.kind == kind && !peers.contains(&r.peer) {
                peers.push(r.peer);
            }
        }
    }
    peers
}

/// The peers of the promise groups, in row order.
fn promise_peers(groups: &[&Group]) -> Vec<&'static str> {
    peers_of(groups, Kind::Promise)
}

/// `ripcord / {peer}` header cells, one per peer.
fn vs_headers(peers: &[&str]) -> String {
    peers
        .iter()
        .map(|p| format!("ripcord / {p}"))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// One `median [p25-p75]` ratio cell per peer (`n/a` where the peer lacks
/// the row).
fn vs_cells(g: &Group, peers: &[&str]) -> String {
    peers
        .iter()
        .map(|p| {
            g.vs(p).map_or("n/a".into(), |r| {
                format!("{:.2} [{:.2}-{:.2}]", r.median, r.p25, r.p75)
            })
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The "met" cell: `yes`, `missed` (how a miss is written), or `n/a`.
fn met_cell(met: Option<bool>, missed: &str) -> &str {
    match met {
        Some(true) => "yes",
        Some(false) => missed,
        None => "n/a",
    }
}

/// The shutdown summary as markdown lines: per row, ripcord ÷ each peer,
/// the target and whether it is met (`no` is written as `missed`), and for
/// the drain the time per drain of every coordinator, labelled as what it is:
/// one machine's number, not a claim.
fn shutdown_table(groups: &[&Group], missed: &str) -> Vec<String> {
    let peers = peers_of(groups, Kind::Shutdown);
    let mut lines = vec![
        format!(
            "| scenario | operation | {} | target | met | time per drain, median [p25-p75] (this machine, not a claim) |",
            vs_headers(&peers)
        ),
        format!("|---|---|{}---|---|---|", "---|".repeat(peers.len())),
    ];
    for g in groups {
        let (t, met) = target(g);
        let met = met_cell(met, missed);
        let each = vs_cells(g, &peers);
        let absolute = if g.op == support::shutdown_cases::OP_DRAIN {
            g.rows
                .iter()
                .filter(|r| r.available())
                .map(|r| {
                    format!(
                        "{} {:.0} us [{:.0}-{:.0}]",
                        r.peer,
                        r.median() / 1e3,
                        quantile(&r.samples, 0.25) / 1e3,
                        quantile(&r.samples, 0.75) / 1e3
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        } else {
            String::new()
        };
        lines.push(format!(
            "| {} | {} | {} | {} | {} | {} |",
            g.scenario, g.op, each, t, met, absolute
        ));
    }
    lines
}

/// The promise summary as markdown lines: per operation, ripcord ÷ the
/// fastest peer, ÷ each peer, the target and whether it is met (`no` is
/// written as `missed`).
fn promise_table(groups: &[&Group], missed: &str) -> Vec<String> {
    let peers = promise_peers(groups);
    let mut lines = vec![
        format!(
            "| operation | ripcord / fastest peer | {} | target | met |",
            vs_headers(&peers)
        ),
        format!("|---|---|{}---|---|", "---|".repeat(peers.len())),
    ];
    for g in groups {
        let (t, met) = target(g);
        let met = met_cell(met, missed);
        let each = vs_cells(g, &peers);
        lines.push(format!(
            "| {} | {} | {} | {} | {} |",
            g.op,
            fmt_ratio(&g.best_peer),
            each,
            t,
            met
        ));
    }
    lines
}

// ---- machine description -------------------------------------------------------------

struct Meta {
    date: String,
    rustc: String,
    cpu: String,
    cores: usize,
    load_before: String,
    load_after: String,
    quick: bool,
    pinned: bool,
    rounds: usize,
    batch_ms: u128,
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

// ---- CSV, JSON, SVG -----------------------------------------------------------------------

fn csv(groups: &[Group]) -> String {
    let mut out = String::from(
        "scenario,operation,peer,kind,median_ns,p25_ns,p75_ns,iters_per_batch,rounds,time_vs_ripcord\n",
    );
    for g in groups {
        let ours = g
            .rows
            .iter()
            .find(|r| r.kind == Kind::Ours && r.available());
        for r in &g.rows {
            if r.available() {
                let rel = ours.map_or(String::new(), |o| format!("{:.4}", r.median() / o.median()));
                let _ = writeln!(
                    out,
                    "\"{}\",\"{}\",\"{}\",{},{:.2},{:.2},{:.2},{},{},{}",
                    g.scenario,
                    g.op,
                    r.peer,
                    r.kind.label(),
                    r.median(),
                    quantile(&r.samples, 0.25),
                    quantile(&r.samples, 0.75),
                    r.iters,
                    r.samples.len(),
                    rel
                );
            } else {
                let _ = writeln!(
                    out,
                    "\"{}\",\"{}\",\"{}\",{},n/a,n/a,n/a,,,",
                    g.scenario,
                    g.op,
                    r.peer,
                    r.kind.label()
                );
            }
        }
    }
    out
}

/// What the placement letters of scenarios 3 and 4 mean, one line each.
fn placement_legend(pinned: bool) -> Vec<String> {
    let mut lines: Vec<String> = Placement::ALL
        .iter()
        .map(|p| format!("{}: {}", p.letter(), p.describe()))
        .collect();
    if !pinned {
        lines.push(
            "threads not pinned (RIPCORD_BENCH_PIN=0 or one CPU): a and b are the same placement"
                .into(),
        );
    }
    lines
}

/// How the select rows are measured, for `select.md`.
const SELECT_NOTE: &str = "Scenario 9: waiting for a `u64` or a stop signal (a `CancellationToken`, never cancelled; for crossbeam a `bounded(1)` stop channel, never used). \
`ripcord Select`: `Select::new()`, `cancelled(&token)`, `recv(&mut rx)`, then `try_ready()` (ready rows) or `wait()` (hand-off rows), then `try_recv()`. \
`ripcord is_cancelled + try_recv`: the ready rows' floor, no `Select`. \
`ripcord recv_or_cancelled`: `rx.recv_or_cancelled(&token)`. `ripcord recv`: plain blocking `recv()`, the hand-off rows' floor (no stop signal). \
`crossbeam select!`: `crossbeam_channel::select!` over the answer channel and the stop channel, both `bounded(1)`. \
Ready rows (one thread): a fresh channel holding its value, either created and filled inside the timed loop (both arms alike), or created and filled untimed in sections of 256 channels. \
Hand-off rows: scenario 3's round trip (a fresh answer channel per round trip, its sender handed to a persistent worker thread over a std mpsc job queue; the worker sends), the same harness and placements for every arm; the token or stop channel lives as long as the caller. \
Below, each ripcord arm's time / its reference's in the same row (median of per-round ratios [p25-p75]; < 1: the ripcord arm is faster).";

/// How the shutdown rows are measured, for `shutdown.md`.
const SHUTDOWN_NOTE: &str = "Scenario 10: graceful-shutdown coordinators, each through its default API. \
`ripcord`: `Shutdown::new()`, `guard()` (count only: unnamed, call sites not recorded), `track(fut)`, `trigger()`, blocking `wait()`. \
`tokio-util TaskTracker`: `TaskTracker::new()`, `token()`, `track_future(fut)`, `close()`, then `wait()` under `futures::executor::block_on` (it has no blocking wait). \
`swansong`: `Swansong::new()`, `guard()`, `guarded(fut)` (a wrapper holding a guard until dropped; `interrupt(fut)` holds no guard and is not used), `shut_down()`, then the returned `ShutdownCompletion`'s blocking `block()`. \
One-thread rows: guard create + drop; `track(async {})` polled once to completion with a no-op waker, then dropped. \
Contending rows 10a-10c: two threads share one coordinator and each runs the operation `iters` times at once (both start when both are ready); a batch is timed from the first start to the last end, so the time is per operation of one thread. \
10a: measuring thread on CPU 0, the other on CPU 1; 10b: both on CPU 0; 10c: four such pairs at once, each with its own coordinator, all 8 threads unpinned. \
Drain row: a fresh coordinator and 10,000 guards made on the measuring thread and handed out to 8 unpinned dropper threads (1,250 each) untimed; timed from the trigger (`trigger` / `close` / `shut_down`), through the droppers dropping their guards, until the measuring thread's blocking wait returns; the time is per drain. \
Informational row: ripcord's `guard_named(\"request\")` against the same peers (tokio-util has no names: its plain `token()`; swansong plain, and `swansong with_guard_report`, its opt-in diagnostics root, which records each guard's call site and time), beside `ripcord record_call_sites`, ripcord's diagnostics mode (`guard()` after `record_call_sites(true)`). \
Below, ripcord's time / each peer's (median of per-round ratios [p25-p75]; < 1: ripcord is faster).";

/// How the promise rows are measured, for `promise.md`.
const PROMISE_NOTE: &str = "Scenario 8: every peer holds a `u64`; n/a: the peer has no such wait (none is emulated). \
Async wake-up rows: each waiter has its own clone of the promise, its future boxed and polled once (pending) with its own counting `Arc` waker, untimed; \
timed is `resolve` plus the second poll of every future, which must be ready (no executor), at least 256 waiters per timed section \
(256 promises of 1 waiter, 3 of 100, 1 of 10,000); the time is per waiter. \
Blocked-thread rows: 1 or 8 waiter threads on CPU 1 block in the peer's blocking wait and are seen asleep in the kernel (`/proc`) before each `resolve`; \
timed from `resolve` on the measuring thread (CPU 0) until every waiter has returned from its wait; the time is per waiter. \
Below, ripcord's time / each peer's (median of per-round ratios [p25-p75]; < 1: ripcord is faster).";

/// The README table: each peer's median time divided by ripcord's (so > 1
/// means ripcord is faster), one row per operation, then the targets.
fn markdown(groups: &[Group], meta: &Meta) -> String {
    let tokens = groups.iter().all(Group::is_token);
    let promises = groups.iter().all(Group::is_promise);
    let selects = groups.iter().all(Group::is_select);
    let shutdowns = groups.iter().all(Group::is_shutdown);
    let mut peers: Vec<&'static str> = Vec::new();
    for g in groups {
        for r in &g.rows {
            // The shutdown file shows ripcord's call-site mode beside its
            // named guard (informational row).
            if (r.kind != Kind::Variant || shutdowns) && !peers.contains(&r.peer) {
                peers.push(r.peer);
            }
        }
    }
    let mut out = format!(
        "{} {} | {} | {} | {} cores{} | load average {} | {} interleaved rounds{}\n\n",
        if selects {
            "Each arm's median time / `ripcord Select`'s (> 1: Select is faster)."
        } else {
            "Peer's median time / ripcord's (> 1: ripcord is faster)."
        },
        meta.date,
        meta.rustc,
        meta.cpu,
        meta.cores,
        if meta.pinned {
            ", measuring thread pinned to CPU 0, workers to CPU 1"
        } else {
            ""
        },
        meta.load_before,
        meta.rounds,
        if meta.quick { " (QUICK MODE)" } else { "" }
    );
    if groups.iter().any(|g| {
        g.scenario.starts_with('3') || g.scenario.starts_with('4') || g.scenario.starts_with("9a")
    }) {
        let _ = writeln!(
            out,
            "{} run in three thread placements (same pinning and job queues for every peer):
",
            if selects {
                "The hand-off rows (9a-9c), scenario 3's round trip,"
            } else {
                "Scenarios 3 and 4"
            }
        );
        for line in placement_legend(meta.pinned) {
            let _ = writeln!(out, "- {line}");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "| scenario / operation | {} |", peers.join(" | "));
    let _ = writeln!(out, "|---|{}", "---|".repeat(peers.len()));
    for g in groups {
        let Some(ours) = g
            .rows
            .iter()
            .find(|r| r.kind == Kind::Ours && r.available())
        else {
            continue;
        };
        let cells: Vec<String> = peers
            .iter()
            .map(|p| match g.rows.iter().find(|r| r.peer == *p) {
                Some(r) if r.available() => format!("{:.2}", r.median() / ours.median()),
                _ => "n/a".into(),
            })
            .collect();
        let num = g.scenario.split(' ').next().unwrap_or("");
        let _ = writeln!(out, "| {num}. {} | {} |", g.op, cells.join(" | "));
    }
    if shutdowns {
        let _ = writeln!(out, "\n{SHUTDOWN_NOTE}\n");
        let refs: Vec<&Group> = groups.iter().collect();
        for line in shutdown_table(&refs, "**no**") {
            let _ = writeln!(out, "{line}");
        }
        return out;
    }
    if selects {
        let _ = writeln!(out, "\n{SELECT_NOTE}\n");
        let refs: Vec<&Group> = groups.iter().collect();
        for line in select_table(&refs, "**no**") {
            let _ = writeln!(out, "{line}");
        }
        return out;
    }
    if promises {
        let _ = writeln!(out, "\n{PROMISE_NOTE}\n");
        let refs: Vec<&Group> = groups.iter().collect();
        for line in promise_table(&refs, "**no**") {
            let _ = writeln!(out, "{line}");
        }
        return out;
    }
    let _ = writeln!(
        out,
        "\n| scenario / operation | ripcord / best peer | {} | target | met |\n|---|---|---|---|---|",
        if tokens {
            "ripcord / tokio-util"
        } else {
            "ripcord / best oneshot peer"
        }
    );
    for g in groups {
        let (t, met) = target(g);
        let met = match met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "n/a",
        };
        let num = g.scenario.split(' ').next().unwrap_or("");
        let _ = writeln!(
            out,
            "| {num}. {} | {} | {} | {} | {} |",
            g.op,
            fmt_ratio(&g.best_peer),
            fmt_ratio(if tokens {
                &g.vs_tokio_util
            } else {
                &g.best_oneshot
            }),
            t,
            met
        );
    }
    out
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_ratio(r: &Option<Ratio>) -> String {
    match r {
        Some(r) => format!(
            "{{\"peer\": {}, \"median\": {:.4}, \"p25\": {:.4}, \"p75\": {:.4}}}",
            json_str(r.peer),
            r.median,
            r.p25,
            r.p75
        ),
        None => "null".into(),
    }
}

fn json(groups: &[Group], meta: &Meta) -> String {
    let mut out = String::from("{\n");
    let _ = writeln!(
        out,
        "  \"meta\": {{\"date\": {}, \"rustc\": {}, \"cpu\": {}, \"cores\": {}, \"pinned\": {}, \"placements\": [{}], \"loadavg_before\": {}, \"loadavg_after\": {}, \"quick\": {}, \"rounds\": {}, \"batch_ms\": {}}},",
        json_str(&meta.date),
        json_str(&meta.rustc),
        json_str(&meta.cpu),
        meta.cores,
        meta.pinned,
        placement_legend(meta.pinned)
            .iter()
            .map(|l| json_str(l))
            .collect::<Vec<_>>()
            .join(", "),
        json_str(&meta.load_before),
        json_str(&meta.load_after),
        meta.quick,
        meta.rounds,
        meta.batch_ms
    );
    out.push_str("  \"groups\": [\n");
    for (gi, g) in groups.iter().enumerate() {
        let (t, met) = target(g);
        let _ = writeln!(
            out,
            "    {{\"scenario\": {}, \"operation\": {}, \"target\": {}, \"met\": {}, \"ours_vs_best_peer\": {}, \"ours_vs_best_oneshot\": {}, \"ours_vs_tokio_util\": {}, {}\"peers\": [",
            json_str(g.scenario),
            json_str(g.op),
            json_str(t),
            met.map_or("null".into(), |m| m.to_string()),
            json_ratio(&g.best_peer),
            json_ratio(&g.best_oneshot),
            json_ratio(&g.vs_tokio_util),
            if g.is_promise() || g.is_shutdown() {
                format!(
                    "\"ours_vs_each\": [{}], ",
                    g.vs_each
                        .iter()
                        .map(|r| json_ratio(&Some(*r)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else if g.is_select() {
                format!(
                    "\"targets\": [{}], ",
                    g.pairs
                        .iter()
                        .map(|p| format!(
                            "{{\"arm\": {}, \"reference\": {}, \"max\": {:.2}, \"ratio\": {}, \"met\": {}}}",
                            json_str(p.target.arm),
                            json_str(p.target.reference),
                            p.target.max,
                            json_ratio(&p.ratio),
                            p.met().map_or("null".into(), |m| m.to_string())
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                String::new()
            }
        );
        for (ri, r) in g.rows.iter().enumerate() {
            let body = if r.available() {
                format!(
                    "\"median_ns\": {:.2}, \"p25_ns\": {:.2}, \"p75_ns\": {:.2}, \"iters_per_batch\": {}, \"rounds\": {}",
                    r.median(),
                    quantile(&r.samples, 0.25),
                    quantile(&r.samples, 0.75),
                    r.iters,
                    r.samples.len()
                )
            } else {
                "\"median_ns\": null".into()
            };
            let _ = writeln!(
                out,
                "      {{\"peer\": {}, \"kind\": \"{}\", {}}}{}",
                json_str(r.peer),
                r.kind.label(),
                body,
                if ri + 1 < g.rows.len() { "," } else { "" }
            );
        }
        let _ = writeln!(
            out,
            "    ]}}{}",
            if gi + 1 < groups.len() { "," } else { "" }
        );
    }
    out.push_str("  ]\n}\n");
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn color(kind: Kind) -> &'static str {
    match kind {
        Kind::Ours => "#d9480f",
        Kind::Variant => "#f59f00",
        Kind::Oneshot => "#1c7ed6",
        Kind::Channel => "#868e96",
        Kind::Token => "#1c7ed6",
        Kind::Promise => "#1c7ed6",
        Kind::Shutdown => "#1c7ed6",
        Kind::Floor => "#2f9e44",
    }
}

/// A diverging bar chart on a log scale: per operation, each peer's median time
/// relative to ripcord's. Bars to the right of the dashed 1.0 line are slower
/// than ripcord, bars to the left faster. Plain SVG text, no dependency.
fn svg(groups: &[Group], meta: &Meta, relative_to: &str) -> String {
    const W: f64 = 960.0;
    const LABEL: f64 = 190.0;
    const BAR_H: f64 = 14.0;
    const GAP: f64 = 4.0;
    /// The axis spans 2^-SPAN ..= 2^SPAN.
    const SPAN: f64 = 7.0;
    let plot = W - LABEL - 110.0;
    let center = LABEL + plot / 2.0;
    let x = |ratio: f64| center + plot / 2.0 * ratio.log2().clamp(-SPAN, SPAN) / SPAN;
    let mut body = String::new();
    let mut y = 76.0;
    // Axis ticks.
    for e in [-6i32, -4, -2, 0, 2, 4, 6] {
        let r = 2f64.powi(e);
        let label = if e < 0 {
            format!("1/{}", 1u32 << -e)
        } else {
            format!("{}", 1u32 << e)
        };
        let _ = writeln!(
            body,
            "<text x=\"{:.1}\" y=\"{:.0}\" text-anchor=\"middle\" fill=\"#495057\">{label}x</text>",
            x(r),
            y - 6.0
        );
    }
    for g in groups {
        let Some(ours) = g
            .rows
            .iter()
            .find(|r| r.kind == Kind::Ours && r.available())
        else {
            continue;
        };
        let _ = writeln!(
            body,
            "<text x=\"8\" y=\"{:.0}\" font-weight=\"bold\">{} / {}</text>",
            y + 12.0,
            xml(g.scenario),
            xml(g.op)
        );
        y += 20.0;
        let top = y;
        for r in &g.rows {
            let _ = writeln!(
                body,
                "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">{}</text>",
                LABEL - 6.0,
                y + BAR_H - 3.0,
                xml(r.peer)
            );
            if r.available() {
                let ratio = r.median() / ours.median();
                let (left, right) = (x(ratio).min(center), x(ratio).max(center));
                let _ = writeln!(
                    body,
                    "<rect x=\"{left:.1}\" y=\"{y:.0}\" width=\"{:.1}\" height=\"{BAR_H:.0}\" fill=\"{}\"/>\n<text x=\"{:.1}\" y=\"{:.0}\">{ratio:.2}x</text>",
                    (right - left).max(1.0),
                    color(r.kind),
                    right + 4.0,
                    y + BAR_H - 3.0
                );
            } else {
                let _ = writeln!(
                    body,
                    "<text x=\"{:.0}\" y=\"{:.0}\" fill=\"#868e96\">n/a</text>",
                    center + 4.0,
                    y + BAR_H - 3.0
                );
            }
            y += BAR_H + GAP;
        }
        let _ = writeln!(
            body,
            "<line x1=\"{center:.1}\" y1=\"{:.0}\" x2=\"{center:.1}\" y2=\"{:.0}\" stroke=\"#000\" stroke-dasharray=\"3,3\"/>",
            top - 2.0,
            y
        );
        y += 14.0;
    }
    let mut legend = String::new();
    let mut lx = 8.0;
    for (kind, label) in [
        (Kind::Ours, "ripcord"),
        (Kind::Variant, "local ripcord variant (experiment)"),
        (Kind::Oneshot, "oneshot / token / promise / shutdown peer"),
        (Kind::Channel, "bounded(1) channel peer"),
        (Kind::Floor, "floor (not a peer)"),
    ] {
        let _ = writeln!(
            legend,
            "<rect x=\"{lx:.0}\" y=\"44\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{:.0}\" y=\"53\">{label}</text>",
            color(kind),
            lx + 14.0
        );
        lx += 24.0 + 6.5 * label.len() as f64;
    }
    let height = y + 10.0;
    let r = xml(relative_to);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W:.0}\" height=\"{height:.0}\" font-family=\"sans-serif\" font-size=\"11\">\n\
<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n\
<text x=\"8\" y=\"18\" font-size=\"14\" font-weight=\"bold\">Median time relative to {r} (log scale; dashed line = {r}; right = slower than {r})</text>\n\
<text x=\"8\" y=\"36\">{} | {} | {} cores{} | load {} | {} rounds, interleaved{}</text>\n\
{legend}{body}</svg>\n",
        xml(&meta.date),
        xml(&meta.rustc),
        meta.cores,
        if meta.pinned { " (pinned)" } else { "" },
        xml(&meta.load_before),
        meta.rounds,
        if meta.quick { " (QUICK MODE)" } else { "" }
    )
}

fn main() {
    let s = settings();
    // Count the CPUs before pinning: afterwards this thread may use only one.
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    support::pin_main();
    let began = Instant::now();
    let load_before = loadavg();
    let groups = run_groups(&s);
    let latency = run_latency(&s);
    let meta = Meta {
        date: support::utc_now(),
        rustc: rustc_version(),
        cpu: cpu_model(),
        cores,
        pinned: support::pinning(),
        load_before,
        load_after: loadavg(),
        quick: s.quick,
        rounds: s.rounds,
        batch_ms: s.batch.as_millis(),
    };
    println!(
        "ripcord benchmark, {} | {} | {} ({} cores{}) | load avg before {} / after {} | {} rounds x {} ms batches{}",
        meta.date,
        meta.rustc,
        meta.cpu,
        meta.cores,
        if meta.pinned {
            ", measuring thread on CPU 0, workers on CPU 1; scenarios 3 and 4 per placement"
        } else {
            ", threads not pinned"
        },
        meta.load_before,
        meta.load_after,
        meta.rounds,
        meta.batch_ms,
        if meta.quick { " | QUICK MODE" } else { "" }
    );
    println!("Placements of scenarios 3 and 4:");
    for line in placement_legend(meta.pinned) {
        println!("  {line}");
    }
    print_table(&groups);
    print_latency(&latency, &s);
    if let Some(dir) = &s.out {
        std::fs::create_dir_all(dir).expect("create output directory");
        let (tokens, rest): (Vec<Group>, Vec<Group>) =
            groups.into_iter().partition(|g| g.is_token());
        let (promises, rest): (Vec<Group>, Vec<Group>) =
            rest.into_iter().partition(|g| g.is_promise());
        let (selects, rest): (Vec<Group>, Vec<Group>) =
            rest.into_iter().partition(|g| g.is_select());
        let (shutdowns, oneshot): (Vec<Group>, Vec<Group>) =
            rest.into_iter().partition(|g| g.is_shutdown());
        let mut files = Vec::new();
        for (stem, set) in [
            ("oneshot", &oneshot),
            ("tokens", &tokens),
            ("promise", &promises),
            ("select", &selects),
            ("shutdown", &shutdowns),
        ] {
            if set
                .iter()
                .any(|g| g.rows.iter().any(|r| r.kind == Kind::Ours))
            {
                files.push((format!("{stem}.csv"), csv(set)));
                files.push((format!("{stem}.json"), json(set, &meta)));
                let relative_to = if stem == "select" {
                    support::select_cases::SELECT
                } else {
                    "ripcord"
                };
                files.push((format!("{stem}.svg"), svg(set, &meta, relative_to)));
                files.push((format!("{stem}.md"), markdown(set, &meta)));
            }
        }
        if latency.iter().any(|g| g.ours().is_some()) {
            files.push(("latency.md".into(), latency_markdown(&latency, &meta, &s)));
            files.push(("latency.csv".into(), latency_csv(&latency)));
        }
        for (name, text) in files {
            let path = format!("{dir}/{name}");
            std::fs::write(&path, text).expect("write output");
            eprintln!("wrote {path}");
        }
    }
    eprintln!("report finished in {:.1?}", began.elapsed());
}
