//! Huge, zero and past timeouts: a documented result, no panic, no hang.
#![cfg(all(feature = "std", not(loom)))]

mod common;

use common::drained_timeout;
use std::thread;
use std::time::{Duration, Instant};

use ripcord::shutdown::Shutdown;

fn far_future() -> Option<Instant> {
    Instant::now().checked_add(Duration::from_secs(100 * 365 * 86_400))
}

#[test]
fn zero_timeout_only_checks() {
    let shutdown = Shutdown::new();
    let g = shutdown.guard_named("g").unwrap();
    assert!(shutdown.wait_timeout(Duration::ZERO).is_err());
    shutdown.trigger();
    assert_eq!(
        shutdown.wait_timeout(Duration::ZERO).unwrap_err().active(),
        1
    );
    drop(g);
    assert!(shutdown.wait_timeout(Duration::ZERO).is_ok());
}

#[test]
fn past_deadline_only_checks() {
    let shutdown = Shutdown::new();
    let past = Instant::now();
    let g = shutdown.guard().unwrap();
    shutdown.trigger();
    assert_eq!(shutdown.wait_deadline(past).unwrap_err().unnamed(), 1);
    drop(g);
    assert!(shutdown.wait_deadline(past).is_ok());
}

#[test]
fn max_timeout_on_a_drained_shutdown_returns_at_once() {
    let shutdown = Shutdown::new();
    shutdown.trigger();
    assert!(shutdown.wait_timeout(Duration::MAX).is_ok());
    if let Some(far) = far_future() {
        assert!(shutdown.wait_deadline(far).is_ok());
    }
}

#[test]
fn max_timeout_waits_like_wait_until_drained() {
    let shutdown = Shutdown::new();
    let g = shutdown.guard().unwrap();
    let s = shutdown.clone();
    let h = thread::spawn(move || {
        s.trigger();
        drop(g);
    });
    assert!(shutdown.wait_timeout(Duration::MAX).is_ok());
    h.join().unwrap();
}

#[test]
fn far_deadline_waits_until_drained() {
    let shutdown = Shutdown::new();
    let g = shutdown.guard().unwrap();
    let s = shutdown.clone();
    let h = thread::spawn(move || {
        s.trigger();
        drop(g);
    });
    let deadline = far_future().unwrap_or_else(Instant::now);
    // On a platform whose clock cannot reach 100 years, `now` just checks.
    let _ = shutdown.wait_deadline(deadline);
    h.join().unwrap();
    assert!(shutdown.wait_deadline(deadline).is_ok());
}

#[test]
#[cfg_attr(miri, ignore = "measures real time")]
fn short_timeout_fires_and_not_before_its_deadline() {
    let shutdown = Shutdown::new();
    let _g = shutdown.guard().unwrap();
    shutdown.trigger();
    let start = Instant::now();
    assert!(shutdown.wait_timeout(Duration::from_millis(20)).is_err());
    assert!(start.elapsed() >= Duration::from_millis(20));
}

#[test]
fn drained_with_timeout_with_zero_and_max_on_a_closure_sleeper() {
    // A closure sleeper that is ready at once for zero and never otherwise.
    let sleeper = |d: Duration| async move {
        if d != Duration::ZERO {
            std::future::pending::<()>().await;
        }
    };
    let shutdown = Shutdown::new();
    let g = shutdown.guard_named("g").unwrap();
    shutdown.trigger();
    let report = futures::executor::block_on(drained_timeout(&shutdown, &sleeper, Duration::ZERO))
        .unwrap_err();
    assert_eq!(report.stragglers()[0].name(), "g");
    drop(g);
    futures::executor::block_on(drained_timeout(&shutdown, &sleeper, Duration::MAX)).unwrap();
    futures::executor::block_on(drained_timeout(&shutdown, &sleeper, Duration::ZERO)).unwrap();
}

#[cfg(feature = "async-io")]
#[test]
#[cfg_attr(miri, ignore = "needs the async-io reactor")]
fn drained_with_timeout_with_builtin_sleeper_handles_zero_and_max() {
    use ripcord::time::AsyncIoSleeper;
    let shutdown = Shutdown::new();
    let g = shutdown.guard().unwrap();
    shutdown.trigger();
    smol::block_on(async {
        let report = drained_timeout(&shutdown, &AsyncIoSleeper, Duration::ZERO)
            .await
            .unwrap_err();
        assert_eq!(report.unnamed(), 1);
        let s = shutdown.clone();
        let h = thread::spawn(move || {
            thread::sleep(Duration::from_millis(5));
            drop(g);
            s.active_guards()
        });
        drained_timeout(&shutdown, &AsyncIoSleeper, Duration::MAX)
            .await
            .unwrap();
        assert_eq!(h.join().unwrap(), 0);
    });
}

#[cfg(feature = "tokio")]
#[test]
#[cfg_attr(miri, ignore = "needs the tokio runtime")]
fn drained_with_timeout_on_tokio_reports_stragglers_at_the_deadline() {
    use ripcord::time::TokioSleeper;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let shutdown = Shutdown::new();
        let _g = shutdown.guard_named("stuck").unwrap();
        shutdown.trigger();
        let start = Instant::now();
        let report = drained_timeout(&shutdown, &TokioSleeper, Duration::from_millis(10))
            .await
            .unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(10));
        assert_eq!(report.stragglers()[0].name(), "stuck");
        let past = drained_timeout(&shutdown, &TokioSleeper, Duration::MAX);
        drop(past); // never polled: nothing leaks, nothing panics
    });
}
