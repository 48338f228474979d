//! Criterion benchmarks: `ripcord::oneshot` against every peer, scenarios 1–5.
//!
//! `cargo bench --bench oneshot` (about 4 minutes on 2 cores);
//! `RIPCORD_BENCH_QUICK=1 cargo bench --bench oneshot` for a smoke run.
//! For side-by-side ratios from one interleaved run use `--bench report`.

mod support;

fn main() {
    let mut c = support::criterion_config();
    support::criterion_run(&mut c, support::oneshot_cases::cases());
    c.final_summary();
}
