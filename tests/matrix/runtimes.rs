//! The matrix's runtimes. Each function runs one scenario to completion on its
//! runtime, handing it that runtime's sleeper; where the runtime has a
//! spawner, the scenario runs inside a spawned task (on a worker thread).
//!
//! To add a runtime: write a function here and add its name to the
//! `matrix!` list.

use std::future::Future;
use std::time::{Duration, Instant};

use ripcord::oneshot;
use ripcord::time::{AsyncIoSleeper, AsyncStdSleeper, FuturesTimerSleeper, Sleeper, TokioSleeper};

use crate::time_support::{self, OneshotSleep, ThreadSleeper};

/// No runtime at all: a minimal park/unpark executor and a sleeper made of
/// threads.
pub fn plain_threads<Fut>(scenario: impl FnOnce(ThreadSleeper) -> Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    time_support::block_on(scenario(ThreadSleeper));
}

pub fn tokio_current_thread<Fut>(scenario: impl FnOnce(TokioSleeper) -> Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(scenario(TokioSleeper));
}

pub fn tokio_multi_thread<Fut>(scenario: impl FnOnce(TokioSleeper) -> Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let task = rt.spawn(scenario(TokioSleeper));
    rt.block_on(task).unwrap();
}

pub fn async_std<Fut>(scenario: impl FnOnce(AsyncStdSleeper) -> Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    async_std::task::block_on(async_std::task::spawn(scenario(AsyncStdSleeper)));
}

pub fn smol<Fut>(scenario: impl FnOnce(AsyncIoSleeper) -> Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    smol::block_on(smol::spawn(scenario(AsyncIoSleeper)));
}

pub fn futures_block_on<Fut>(scenario: impl FnOnce(FuturesTimerSleeper) -> Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    futures::executor::block_on(scenario(FuturesTimerSleeper));
}

pub fn futures_thread_pool<Fut>(scenario: impl FnOnce(FuturesTimerSleeper) -> Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    use futures::task::SpawnExt;
    let pool = futures::executor::ThreadPool::builder()
        .pool_size(2)
        .create()
        .unwrap();
    let handle = pool
        .spawn_with_handle(scenario(FuturesTimerSleeper))
        .unwrap();
    futures::executor::block_on(handle);
}

/// pollster has no timer; async-io's works under any executor.
pub fn pollster<Fut>(scenario: impl FnOnce(AsyncIoSleeper) -> Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    pollster::block_on(scenario(AsyncIoSleeper));
}

/// Two runtimes at once: the scenario runs on smol, its timeouts are measured
/// by tokio's timer (running on tokio's own threads), and every sleep crosses
/// between them through a ripcord oneshot.
pub fn smol_task_with_tokio_timer<Fut>(scenario: impl FnOnce(TokioRemoteSleeper) -> Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sleeper = TokioRemoteSleeper(rt.handle().clone());
    smol::block_on(smol::spawn(scenario(sleeper)));
}

/// Sleeps on a tokio runtime from anywhere: the sleep runs as a tokio task and
/// fires a ripcord oneshot that any executor can await.
#[derive(Clone)]
pub struct TokioRemoteSleeper(pub tokio::runtime::Handle);

impl Sleeper for TokioRemoteSleeper {
    type Sleep = OneshotSleep;

    fn sleep(&self, d: Duration) -> OneshotSleep {
        self.sleep_until_opt(Instant::now().checked_add(d))
    }

    fn sleep_until(&self, t: Instant) -> OneshotSleep {
        self.sleep_until_opt(Some(t))
    }
}

impl TokioRemoteSleeper {
    fn sleep_until_opt(&self, t: Option<Instant>) -> OneshotSleep {
        let (tx, rx) = oneshot::channel::<()>();
        self.0.spawn(async move {
            // Our own adapter handles `None` ("never") and far instants.
            let never = t.is_none();
            let sleep = match t {
                Some(t) => TokioSleeper.sleep_until(t),
                None => TokioSleeper.sleep(Duration::MAX),
            };
            let mut tx = tx;
            // Stop sleeping if the other side gave up (dropped the sleep).
            tokio::select! {
                _ = sleep, if !never => { let _ = tx.send(()); }
                _ = tx.closed() => {}
            }
        });
        OneshotSleep(rx)
    }
}
