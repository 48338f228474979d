//! The runtime matrix: the same scenarios (written once, in
//! `matrix/scenarios.rs`) on every runtime ripcord supports (in
//! `matrix/runtimes.rs`), plus scenarios that need two runtimes at once and a
//! check that nothing needs a runtime at all.
//!
//! Test names read `runtime_matrix::<runtime>::<scenario>`.
#![cfg(all(
    feature = "tokio",
    feature = "async-io",
    feature = "async-std",
    feature = "futures-timer"
))]

mod matrix {
    pub mod runtimes;
    pub mod scenarios;
}
mod time_support;

use matrix::{runtimes, scenarios};

/// Every scenario on every runtime. One name per line; the cross product is
/// generated.
macro_rules! matrix {
    (scenarios: $scenarios:tt, runtimes: [$($runtime:ident),* $(,)?] $(,)?) => {
        $( matrix!(@runtime $runtime $scenarios); )*
    };
    (@runtime $runtime:ident [$($scenario:ident),* $(,)?]) => {
        mod $runtime {
            use super::*;
            $(
                #[test]
                #[cfg_attr(miri, ignore = "real runtimes and timers")]
                fn $scenario() {
                    runtimes::$runtime(scenarios::$scenario);
                }
            )*
        }
    };
}

matrix! {
    scenarios: [
        oneshot_thread_to_task,
        oneshot_task_to_thread,
        timeout_fires,
        timeout_does_not_fire,
        timed_out_receiver_stays_usable,
        many_timeouts_at_once,
        cancellation_wakes_waiters,
        deadline_token_fires,
        with_cancellation_returns_the_reason,
    ],
    runtimes: [
        plain_threads,
        tokio_current_thread,
        tokio_multi_thread,
        async_std,
        smol,
        futures_block_on,
        futures_thread_pool,
        pollster,
        smol_task_with_tokio_timer,
    ],
}

/// Two runtimes and a plain thread in one exchange.
mod two_runtimes_at_once {
    use std::time::Duration;

    use ripcord::time::{AsyncIoSleeper, TokioSleeper};
    use ripcord::{Elapsed, FutureExt, oneshot};

    fn tokio_rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    #[cfg_attr(miri, ignore = "real runtimes and timers")]
    fn sender_in_tokio_receiver_in_smol() {
        let rt = tokio_rt();
        let (tx, rx) = oneshot::channel();
        rt.spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            tx.send("from tokio").unwrap();
        });
        let got = smol::block_on(rx.timeout(&AsyncIoSleeper, Duration::from_secs(30)));
        assert_eq!(got, Ok(Ok("from tokio")));
    }

    #[test]
    #[cfg_attr(miri, ignore = "real runtimes and timers")]
    fn relay_from_tokio_through_a_thread_to_smol_and_back() {
        let rt = tokio_rt();
        let (to_thread, mut thread_rx) = oneshot::channel::<u32>();
        let (to_smol, smol_rx) = oneshot::channel::<u32>();
        let (to_tokio, tokio_rx) = oneshot::channel::<u32>();

        let thread = std::thread::spawn(move || {
            let v = thread_rx.recv_timeout(Duration::from_secs(30)).unwrap();
            to_smol.send(v + 1).unwrap();
        });
        let smol_task = smol::spawn(async move {
            let v = smol_rx
                .timeout(&AsyncIoSleeper, Duration::from_secs(30))
                .await;
            to_tokio.send(v.unwrap().unwrap() + 1).unwrap();
        });
        let result = rt.block_on(async move {
            to_thread.send(1).unwrap();
            tokio_rx
                .timeout(&TokioSleeper, Duration::from_secs(30))
                .await
        });
        assert_eq!(result, Ok(Ok(3)));
        smol::block_on(smol_task);
        thread.join().unwrap();
    }

    /// A plain thread stops waits in tokio and in smol at once, using oneshot
    /// receivers as deadlines (no timer involved).
    #[test]
    #[cfg_attr(miri, ignore = "real runtimes")]
    fn plain_thread_stops_waits_in_tokio_and_smol() {
        let rt = tokio_rt();
        let (stop_tokio, tokio_deadline) = oneshot::channel::<()>();
        let (stop_smol, smol_deadline) = oneshot::channel::<()>();
        let (_keep_a, never_a) = oneshot::channel::<u8>();
        let (_keep_b, never_b) = oneshot::channel::<u8>();

        let in_tokio = rt.spawn(never_a.timeout_with(tokio_deadline));
        let in_smol = smol::spawn(never_b.timeout_with(smol_deadline));
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            stop_tokio.send(()).unwrap();
            stop_smol.send(()).unwrap();
        });
        assert_eq!(rt.block_on(in_tokio).unwrap(), Err(Elapsed::new()));
        assert_eq!(smol::block_on(in_smol), Err(Elapsed::new()));
    }

    /// One token, cancelled from a plain thread, ends waits in tokio and smol
    /// and a blocked thread, all with the same reason.
    #[test]
    #[cfg_attr(miri, ignore = "real runtimes")]
    fn token_cancelled_from_a_thread_wakes_tokio_smol_and_a_thread() {
        use ripcord::{CancelReason, CancellationToken};

        let rt = tokio_rt();
        let token = CancellationToken::new();
        let (_keep_a, never_a) = oneshot::channel::<u8>();
        let (_keep_b, never_b) = oneshot::channel::<u8>();
        let in_tokio = rt.spawn(never_a.with_cancellation_owned(token.child_token()));
        let in_smol = smol::spawn(never_b.with_cancellation_owned(token.child_token()));
        let blocked = {
            let token = token.child_token();
            std::thread::spawn(move || {
                token.wait();
                token.reason()
            })
        };
        let canceller = {
            let token = token.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                token.cancel_with(CancelReason::custom("deploy"));
            })
        };
        let a = rt.block_on(in_tokio).unwrap().unwrap_err();
        let b = smol::block_on(in_smol).unwrap_err();
        assert_eq!(a.reason().to_string(), "deploy");
        assert_eq!(a, b);
        assert_eq!(blocked.join().unwrap().unwrap().to_string(), "deploy");
        canceller.join().unwrap();
    }
}

/// With no runtime running anywhere, nothing in ripcord panics: a minimal
/// executor, a oneshot receiver as the deadline, and the built-in sleepers'
/// runtime-free answers.
mod no_runtime {
    use std::future::pending;
    use std::time::Duration;

    use ripcord::time::{AsyncIoSleeper, AsyncStdSleeper, FuturesTimerSleeper, TokioSleeper};
    use ripcord::{Elapsed, FutureExt, oneshot};

    use crate::time_support::block_on;

    #[test]
    fn timeout_with_a_oneshot_deadline_on_a_plain_thread() {
        let (stop, deadline) = oneshot::channel::<()>();
        let (tx, mut rx) = oneshot::channel::<u8>();
        let stopper = std::thread::spawn(move || stop.send(()).unwrap());
        assert_eq!(
            block_on((&mut rx).timeout_with(deadline)),
            Err(Elapsed::new())
        );
        stopper.join().unwrap();
        tx.send(1).unwrap();
        assert_eq!(block_on(rx), Ok(1));
    }

    #[test]
    #[cfg_attr(miri, ignore = "ripcord's timer thread outlives the test")]
    fn cancel_after_on_a_plain_thread() {
        let token = ripcord::CancellationToken::new();
        let start = std::time::Instant::now();
        token.cancel_after(Duration::from_millis(10));
        assert!(token.wait_timeout(Duration::from_secs(30)).is_ok());
        assert!(start.elapsed() >= Duration::from_millis(10));
        assert!(token.reason().unwrap().is_deadline_exceeded());
        // A token's deadline driven by a plain thread's sleep, under the
        // minimal executor.
        let token = ripcord::CancellationToken::new();
        let sleeper = |d: Duration| async move { std::thread::sleep(d) };
        block_on(ripcord::time::cancel_on_timer(
            &token,
            &sleeper,
            Duration::from_millis(1),
        ));
        assert!(token.reason().unwrap().is_deadline_exceeded());
    }

    #[test]
    fn built_in_sleepers_need_no_runtime_for_zero_timeouts() {
        assert_eq!(
            block_on(pending::<()>().timeout(&TokioSleeper, Duration::ZERO)),
            Err(Elapsed::new())
        );
        assert_eq!(
            block_on(pending::<()>().timeout(&AsyncIoSleeper, Duration::ZERO)),
            Err(Elapsed::new())
        );
        assert_eq!(
            block_on(pending::<()>().timeout(&AsyncStdSleeper, Duration::ZERO)),
            Err(Elapsed::new())
        );
        assert_eq!(
            block_on(pending::<()>().timeout(&FuturesTimerSleeper, Duration::ZERO)),
            Err(Elapsed::new())
        );
    }

    #[test]
    #[cfg_attr(miri, ignore = "real timer threads")]
    fn runtime_free_sleepers_work_under_the_minimal_executor() {
        // async-io and futures-timer drive their timers from their own threads.
        let (_a, rx_a) = oneshot::channel::<u8>();
        let (_b, rx_b) = oneshot::channel::<u8>();
        let d = Duration::from_millis(5);
        assert_eq!(
            block_on(rx_a.timeout(&AsyncIoSleeper, d)),
            Err(Elapsed::new())
        );
        assert_eq!(
            block_on(rx_b.timeout(&FuturesTimerSleeper, d)),
            Err(Elapsed::new())
        );
    }
}
