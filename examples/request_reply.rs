//! Request/reply over a pool of worker threads.
//!
//! Requests travel over a `std::sync::mpsc` queue, each carrying a
//! `oneshot::Sender` for its reply. An async client (on tokio) awaits each
//! reply against a deadline; when it gives up, it drops the receiver, and the
//! worker that later picks the request up sees `Sender::is_closed` and skips
//! the work instead of computing an answer nobody will read.
//!
//! Run with `cargo run --example request_reply`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use ripcord::oneshot;

struct Request {
    n: u64,
    reply: oneshot::Sender<u64>,
}

/// A slow computation: each step takes a little time.
fn slow_square(n: u64) -> u64 {
    thread::sleep(Duration::from_millis(30));
    n * n
}

fn main() {
    let (queue, jobs) = mpsc::channel::<Request>();
    let jobs = Arc::new(Mutex::new(jobs));
    let skipped = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));

    let workers: Vec<_> = (0..2)
        .map(|id| {
            let jobs = jobs.clone();
            let (skipped, answered) = (skipped.clone(), answered.clone());
            thread::spawn(move || {
                loop {
                    let job = jobs.lock().unwrap().recv();
                    let Ok(Request { n, reply }) = job else { break };
                    if reply.is_closed() {
                        println!("worker {id}: request {n} abandoned by its client, skipping");
                        skipped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    match reply.send(slow_square(n)) {
                        Ok(()) => {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(late) => {
                            println!(
                                "worker {id}: {n}² = {} came too late, nobody read it",
                                late.into_inner()
                            )
                        }
                    }
                }
            })
        })
        .collect();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        // Ten requests at once; two workers need ~150 ms for all of them, but
        // the client gives the whole batch 70 ms.
        let deadline = tokio::time::Instant::now() + Duration::from_millis(70);
        let mut pending = Vec::new();
        for n in 1..=10 {
            let (reply, rx) = oneshot::channel();
            queue.send(Request { n, reply }).unwrap();
            pending.push((n, rx));
        }
        for (n, rx) in pending {
            // Timing out drops `rx`: the worker will see `is_closed()`.
            match tokio::time::timeout_at(deadline, rx).await {
                Ok(Ok(square)) => println!("client: {n}² = {square}"),
                Ok(Err(_)) => println!("client: request {n} was dropped by the pool"),
                Err(_) => println!("client: request {n} timed out, giving up on it"),
            }
        }
    });

    drop(queue);
    for worker in workers {
        worker.join().unwrap();
    }
    println!(
        "done: {} answered, {} skipped because nobody was waiting",
        answered.load(Ordering::Relaxed),
        skipped.load(Ordering::Relaxed)
    );
}
