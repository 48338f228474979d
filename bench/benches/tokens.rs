//! Criterion benchmarks: cancellation tokens (scenario 7) against every peer.
//!
//! `cargo bench -p ripcord-bench --bench tokens`; `RIPCORD_BENCH_QUICK=1` for a smoke run.

mod support;

fn main() {
    let mut c = support::criterion_config();
    support::criterion_run(&mut c, support::token_cases::cases());
    c.final_summary();
}
