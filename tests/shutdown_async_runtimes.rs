//! Every row of the table, async side, on every supported executor:
//! the same scenarios, written once, run on tokio (current-thread and
//! multi-thread), async-std, smol and the futures executor.
#![cfg(all(feature = "std", not(loom)))]
#![cfg(not(miri))] // real runtimes need real I/O drivers and clocks

#[macro_use]
mod common;

use common::drained_timeout;

use std::thread;
use std::time::Duration;

use ripcord::CancelReason;
use ripcord::shutdown::Shutdown;

/// A timer that needs no runtime: a thread sleeps, then sends.
fn thread_sleeper(d: Duration) -> impl std::future::Future<Output = ()> {
    let (tx, rx) = ripcord::oneshot::channel::<()>();
    if d < Duration::from_secs(3600) {
        thread::spawn(move || {
            thread::sleep(d);
            let _ = tx.send(());
        });
    } else {
        std::mem::forget(tx); // "never"
    }
    async move {
        let _ = rx.await;
    }
}

/// `drained().await` returns once a thread triggers and a task's guard is
/// released.
async fn drained_waits_for_trigger_and_every_guard() {
    let shutdown = Shutdown::new();
    let guard = shutdown.guard_named("task").unwrap();
    let (tx, rx) = ripcord::oneshot::channel::<()>();
    let worker = shutdown
        .track(async move {
            let _guard = guard;
            let _ = rx.await;
        })
        .unwrap();
    let s = shutdown.clone();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(2));
        s.trigger_with(CancelReason::custom("test"));
        thread::sleep(Duration::from_millis(2));
        tx.send(()).unwrap();
        futures::executor::block_on(worker);
    });
    shutdown.drained().await;
    assert!(shutdown.is_drained());
    assert_eq!(shutdown.active_guards(), 0);
    h.join().unwrap();
}

/// A guard's token stops the task's loop; the drain then completes.
async fn guard_token_stops_a_task_loop() {
    let shutdown = Shutdown::new();
    let guard = shutdown.guard().unwrap();
    let s = shutdown.clone();
    let h = thread::spawn(move || s.trigger());
    guard.token().cancelled().await;
    drop(guard);
    shutdown.drained().await;
    h.join().unwrap();
}

/// `drained().timeout(..)` + `report()` reports the straggler, then succeeds once it leaves.
async fn drained_with_timeout_reports_then_succeeds() {
    let shutdown = Shutdown::new();
    let stuck = shutdown.guard_named("stuck").unwrap();
    let _other = shutdown.guard().unwrap();
    shutdown.trigger();
    let report = drained_timeout(&shutdown, &thread_sleeper, Duration::from_millis(5))
        .await
        .unwrap_err();
    assert_eq!(report.stragglers().len(), 1);
    assert_eq!(report.stragglers()[0].name(), "stuck");
    assert_eq!(report.unnamed(), 1);
    drop(stuck);
    drop(_other);
    drained_timeout(&shutdown, &thread_sleeper, Duration::MAX)
        .await
        .unwrap();
}

/// A tracked future completing releases its guard; a late guard is refused.
async fn tracked_futures_release_and_late_work_is_refused() {
    let shutdown = Shutdown::new();
    let out = shutdown.track(async { 21 * 2 }).unwrap().await;
    assert_eq!(out, 42);
    assert_eq!(shutdown.active_guards(), 0);
    shutdown.trigger();
    shutdown.drained().await;
    assert!(shutdown.track(async {}).is_err());
    assert!(shutdown.guard().is_err());
}

on_every_runtime!(
    drained_waits_for_trigger_and_every_guard,
    guard_token_stops_a_task_loop,
    drained_with_timeout_reports_then_succeeds,
    tracked_futures_release_and_late_work_is_refused,
);

#[test]
fn tokio_spawned_tracked_tasks_drain_after_trigger() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let shutdown = Shutdown::new();
        for i in 0..16 {
            let token = shutdown.token();
            let task = shutdown
                .track(async move {
                    token.cancelled().await;
                    tokio::time::sleep(Duration::from_millis(i % 3)).await;
                })
                .unwrap();
            tokio::spawn(task);
        }
        assert_eq!(shutdown.active_guards(), 16);
        tokio::select! {
            _ = shutdown.drained() => panic!("drained before trigger"),
            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
        shutdown.trigger();
        drained_timeout(
            &shutdown,
            &|d| tokio::time::sleep(d),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    });
}
