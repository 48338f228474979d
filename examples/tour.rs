//! A short tour of ripcord. Run it with `cargo run --example tour`.
//!
//! Each part prints what it does; the whole tour finishes in well under a
//! second.

use std::thread;
use std::time::{Duration, Instant};

use ripcord::oneshot::{self, RecvTimeoutError};

fn main() {
    println!("ripcord tour\n");
    oneshot_thread_to_task();
    oneshot_task_to_thread();
    oneshot_timeout_then_await();
    oneshot_sender_notices_lost_interest();
    println!("\ntour finished");
}

/// A worker thread answers an async task.
fn oneshot_thread_to_task() {
    println!("== oneshot: a worker thread answers an async task");
    let (tx, rx) = oneshot::channel();
    let worker = thread::spawn(move || {
        let answer: u64 = (1..=20).product();
        println!("   worker thread: computed 20! = {answer}, sending it");
        tx.send(answer).expect("the task is waiting");
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let got = rt.block_on(rx);
    println!("   async task: received {got:?}");
    worker.join().unwrap();
}

/// An async task answers a blocked thread, which waits with a timeout.
fn oneshot_task_to_thread() {
    println!("== oneshot: an async task answers a blocking thread (with a timeout)");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .unwrap();
    let (tx, mut rx) = oneshot::channel();
    rt.spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = tx.send("hello from a tokio task");
    });
    match rx.recv_timeout(Duration::from_secs(5)) {
        Ok(msg) => println!("   blocking thread: got {msg:?}"),
        Err(RecvTimeoutError::Timeout) => println!("   blocking thread: gave up waiting"),
        Err(RecvTimeoutError::Disconnected) => {
            println!("   blocking thread: the task dropped its sender")
        }
    }
}

/// The same receiver times out while blocking, then is awaited on smol.
fn oneshot_timeout_then_await() {
    println!("== oneshot: time out while blocking, then await the same receiver");
    let (tx, mut rx) = oneshot::channel();
    let start = Instant::now();
    let first = rx.recv_timeout(Duration::from_millis(10));
    println!(
        "   recv_timeout(10ms) -> {first:?} after {} ms",
        start.elapsed().as_millis()
    );
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tx.send(7).unwrap();
    });
    let second = smol::block_on(&mut rx);
    println!(
        "   then awaited on smol -> {second:?}; terminated: {}",
        rx.is_terminated()
    );
}

/// A worker abandons work once the requester stops caring.
fn oneshot_sender_notices_lost_interest() {
    println!("== oneshot: the sender notices that nobody wants the answer");
    let (mut tx, rx) = oneshot::channel::<String>();
    let worker = thread::spawn(move || {
        for step in 1.. {
            if tx.wait_closed_timeout(Duration::from_millis(5)) {
                println!("   worker: receiver gone after {step} steps, abandoning the work");
                return;
            }
        }
    });
    thread::sleep(Duration::from_millis(12));
    drop(rx);
    worker.join().unwrap();
}
