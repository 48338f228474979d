//! Criterion benchmarks: `ripcord::oneshot` against every peer, scenarios 1–5.
//!
//! `cargo bench -p ripcord-bench --bench oneshot` (about 4 minutes on 2 cores);
//! `RIPCORD_BENCH_QUICK=1 cargo bench -p ripcord-bench --bench oneshot` for a smoke run.
//! Scenarios 3 and 4 run in the apart placement only (caller on CPU 0, worker
//! on CPU 1); `--bench report` runs all three placements and the latency
//! percentiles. For side-by-side ratios from one interleaved run use it.

mod support;

fn main() {
    let mut c = support::criterion_config();
    support::criterion_run(&mut c, support::oneshot_cases::cases());
    c.final_summary();
}
