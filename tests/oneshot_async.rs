//! The oneshot channel from async code, on every executor, and mixed with
//! threads in both directions.
#![cfg(all(feature = "std", not(loom)))]

mod common;

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use ripcord::oneshot::{self, RecvError, RecvTimeoutError};

/// One scenario set, run on every executor below.
async fn thread_answers_task() {
    let (tx, rx) = oneshot::channel();
    let worker = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        tx.send(41 + 1).unwrap();
    });
    assert_eq!(rx.await, Ok(42));
    worker.join().unwrap();
}

async fn dropped_sender_in_thread_ends_the_wait() {
    let (tx, rx) = oneshot::channel::<u8>();
    let worker = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        drop(tx);
    });
    assert_eq!(rx.await, Err(RecvError));
    worker.join().unwrap();
}

async fn sender_learns_receiver_left() {
    let (mut tx, rx) = oneshot::channel::<u8>();
    let worker = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        drop(rx);
    });
    tx.closed().await;
    assert!(tx.is_closed());
    worker.join().unwrap();
}

/// The task answers a blocked thread: the thread blocks in `recv_timeout`.
async fn task_answers_blocked_thread() {
    let (tx, mut rx) = oneshot::channel();
    let waiter = thread::spawn(move || rx.recv_timeout(Duration::from_secs(60)));
    // Give the thread a chance to block first (not required for correctness).
    thread::sleep(Duration::from_millis(5));
    tx.send("from a task").unwrap();
    assert_eq!(waiter.join().unwrap(), Ok("from a task"));
}

fn run_all_on(block_on: impl Fn(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>)) {
    block_on(Box::pin(thread_answers_task()));
    block_on(Box::pin(dropped_sender_in_thread_ends_the_wait()));
    block_on(Box::pin(sender_learns_receiver_left()));
    block_on(Box::pin(task_answers_blocked_thread()));
}

#[test]
#[cfg_attr(miri, ignore = "drives a real runtime's reactor")]
fn works_on_tokio_current_thread() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    run_all_on(|f| rt.block_on(f));
}

#[test]
#[cfg_attr(miri, ignore = "drives a real runtime's reactor")]
fn works_on_tokio_multi_thread() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    run_all_on(|f| rt.block_on(async { rt.spawn(f).await.unwrap() }));
}

#[test]
#[cfg(feature = "async-std")]
#[cfg_attr(miri, ignore = "drives a real runtime's reactor")]
fn works_on_async_std() {
    run_all_on(async_std::task::block_on);
}

#[test]
#[cfg_attr(miri, ignore = "drives a real runtime's reactor")]
fn works_on_smol() {
    run_all_on(smol::block_on);
}

#[test]
fn works_on_futures_executor() {
    run_all_on(futures::executor::block_on);
}

#[test]
#[cfg_attr(miri, ignore = "drives a real runtime's reactor")]
fn recv_inside_a_tokio_runtime_blocks_instead_of_panicking() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let got = rt.block_on(async {
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move { tx.send(5).unwrap() });
        // Blocking inside a runtime is discouraged, but it must not panic.
        rx.recv()
    });
    assert_eq!(got, Ok(5));
}

#[test]
#[cfg_attr(miri, ignore = "drives a real runtime's reactor")]
fn tokio_task_answers_smol_task() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .unwrap();
    let (tx, rx) = oneshot::channel();
    rt.spawn(async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        tx.send("cross-runtime").unwrap();
    });
    assert_eq!(smol::block_on(rx), Ok("cross-runtime"));
}

#[test]
fn sync_async_sync_on_one_receiver() {
    let (tx, mut rx) = oneshot::channel();
    // 1. Await, but lose a race: the future is dropped while pending.
    futures::executor::block_on(async {
        let mut recv = pin!(&mut rx);
        let polled = poll_fn(|cx| Poll::Ready(recv.as_mut().poll(cx))).await;
        assert!(polled.is_pending());
    });
    // 2. Block with a timeout, and time out.
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(5)),
        Err(RecvTimeoutError::Timeout)
    );
    // 3. Await again (with a timeout race via tokio) and lose again.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let lost = rt.block_on(async { tokio::time::timeout(Duration::from_millis(5), &mut rx).await });
    assert!(lost.is_err());
    // 4. Now a thread sends while we block, and the value arrives.
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        tx.send(99).unwrap();
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(60)), Ok(99));
    sender.join().unwrap();
    // 5. Awaiting a finished receiver is an error, never a panic.
    assert_eq!(futures::executor::block_on(&mut rx), Err(RecvError));
}

#[test]
#[cfg_attr(miri, ignore = "drives a real runtime's reactor")]
fn async_after_blocking_timeout_gets_the_value() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Timeout)
    );
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        tx.send(1).unwrap();
    });
    assert_eq!(smol::block_on(&mut rx), Ok(1));
    sender.join().unwrap();
}

#[test]
fn polling_after_completion_returns_error_not_panic() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(1).unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Ok(1)));
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Err(RecvError)));
    assert_eq!(
        std::pin::Pin::new(&mut rx).poll(&mut cx),
        Poll::Ready(Err(RecvError))
    );
}

#[test]
fn closed_resolves_when_receiver_closes_and_poll_closed_is_pending_before() {
    let (mut tx, mut rx) = oneshot::channel::<u8>();
    let mut cx = Context::from_waker(Waker::noop());
    assert!(tx.poll_closed(&mut cx).is_pending());
    assert!(pin!(tx.closed()).poll(&mut cx).is_pending());
    rx.close();
    assert!(tx.poll_closed(&mut cx).is_ready());
    assert!(pin!(tx.closed()).poll(&mut cx).is_ready());
}

#[test]
fn dropped_closed_future_leaves_the_sender_usable() {
    let (mut tx, rx) = oneshot::channel();
    let mut cx = Context::from_waker(Waker::noop());
    {
        let closed = pin!(tx.closed());
        assert!(closed.poll(&mut cx).is_pending());
    }
    tx.send(3).unwrap();
    assert_eq!(rx.recv(), Ok(3));
}

#[test]
fn blocking_wait_closed_after_async_closed() {
    let (mut tx, rx) = oneshot::channel::<u8>();
    let mut cx = Context::from_waker(Waker::noop());
    assert!(tx.poll_closed(&mut cx).is_pending());
    assert!(tx.wait_closed_timeout(Duration::from_millis(1)).is_err());
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        drop(rx);
    });
    tx.wait_closed();
    dropper.join().unwrap();
}

#[test]
fn receiver_awaits_from_futures_thread_pool() {
    let pool = futures::executor::ThreadPool::builder()
        .pool_size(2)
        .create()
        .unwrap();
    let (tx, rx) = oneshot::channel();
    let (done_tx, done_rx) = oneshot::channel();
    pool.spawn_ok(async move {
        let v = rx.await;
        done_tx.send(v).unwrap();
    });
    tx.send(11).unwrap();
    assert_eq!(done_rx.recv(), Ok(Ok(11)));
}
