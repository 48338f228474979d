//! Nothing here: the benchmarks live in `benches/`; see `benches/support`.
