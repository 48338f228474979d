//! A quick side-by-side timing against `tokio_util::sync::CancellationToken`.
//! Not a benchmark (the crate's criterion benches are); a sanity check of the
//! ratios. Run with:
//! `cargo test -p ripcord-bench --release --test cancel_vs_tokio_util -- --ignored --nocapture`
#![cfg(not(miri))]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ripcord::CancellationToken;
use tokio_util::sync::CancellationToken as TokioToken;

/// Best of several runs, per iteration.
fn time(iters: u32, mut f: impl FnMut()) -> f64 {
    (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed().as_secs_f64() * 1e9 / f64::from(iters)
        })
        .fold(f64::INFINITY, f64::min)
}

fn poll_ready(fut: impl Future<Output = ()>) {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(fut.as_mut().poll(&mut cx), Poll::Ready(()));
}

fn report(name: &str, ours: f64, theirs: f64) {
    println!(
        "{name:<36} ripcord {ours:>8.2} ns  tokio-util {theirs:>8.2} ns  ratio {:.2}",
        ours / theirs
    );
}

#[test]
#[ignore = "timing comparison; run explicitly with --release"]
fn side_by_side_with_tokio_util() {
    let ours = CancellationToken::new();
    let theirs = TokioToken::new();
    report(
        "is_cancelled",
        time(1_000_000, || {
            black_box(black_box(&ours).is_cancelled());
        }),
        time(1_000_000, || {
            black_box(black_box(&theirs).is_cancelled());
        }),
    );
    report(
        "new + cancel",
        time(100_000, || CancellationToken::new().cancel()),
        time(100_000, || TokioToken::new().cancel()),
    );
    report(
        "child_token + drop",
        time(100_000, || drop(black_box(ours.child_token()))),
        time(100_000, || drop(black_box(theirs.child_token()))),
    );
    report(
        "clone + drop",
        time(1_000_000, || drop(black_box(ours.clone()))),
        time(1_000_000, || drop(black_box(theirs.clone()))),
    );
    let (c_ours, c_theirs) = (CancellationToken::new(), TokioToken::new());
    c_ours.cancel();
    c_theirs.cancel();
    report(
        "cancelled().await on cancelled",
        time(1_000_000, || poll_ready(c_ours.cancelled())),
        time(1_000_000, || poll_ready(c_theirs.cancelled())),
    );
    const FAN: usize = 10_000;
    let fan_ours = || {
        let root = CancellationToken::new();
        let kids: Vec<_> = (0..FAN).map(|_| root.child_token()).collect();
        let start = Instant::now();
        root.cancel();
        let took = start.elapsed();
        drop(kids);
        took
    };
    let fan_theirs = || {
        let root = TokioToken::new();
        let kids: Vec<_> = (0..FAN).map(|_| root.child_token()).collect();
        let start = Instant::now();
        root.cancel();
        let took = start.elapsed();
        drop(kids);
        took
    };
    let best = |f: &dyn Fn() -> Duration| {
        (0..15).map(|_| f()).min().unwrap().as_secs_f64() * 1e9 / FAN as f64
    };
    report(
        "cancel fan-out, per child (10,000)",
        best(&fan_ours),
        best(&fan_theirs),
    );
    // Contended is_cancelled: 2 threads reading.
    let contended = |read: &(dyn Fn() -> bool + Sync)| {
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..1_000_000 {
                        black_box(read());
                    }
                });
            }
        });
        start.elapsed().as_secs_f64() * 1e9 / 1e6
    };
    report(
        "is_cancelled, 2 threads",
        contended(&|| ours.is_cancelled()),
        contended(&|| theirs.is_cancelled()),
    );
}
