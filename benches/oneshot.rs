//! Criterion benchmarks: `ripcord::oneshot` against every peer, scenarios 1–5.
//!
//! `cargo bench --bench oneshot` (about 5 minutes on 2 cores);
//! `RIPCORD_BENCH_QUICK=1 cargo bench --bench oneshot` for a smoke run.
//! For side-by-side ratios from one interleaved run use `--bench report`.

mod support;

use std::time::Duration;

use criterion::Criterion;

fn config() -> Criterion {
    let c = Criterion::default().without_plots();
    let c = if support::quick() {
        c.warm_up_time(Duration::from_millis(50))
            .measurement_time(Duration::from_millis(150))
            .sample_size(10)
            .nresamples(1000)
    } else {
        c.warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .sample_size(40)
    };
    c.configure_from_args()
}

fn main() {
    let mut c = config();
    let mut cases = support::oneshot_cases::cases();
    let mut i = 0;
    while i < cases.len() {
        let name = cases[i].group();
        let mut group = c.benchmark_group(&name);
        while i < cases.len() && cases[i].group() == name {
            let case = &mut cases[i];
            if let Some(run) = case.run.as_mut() {
                group.bench_function(case.peer, |b| b.iter_custom(&mut *run));
            }
            i += 1;
        }
        group.finish();
    }
    c.final_summary();
}
