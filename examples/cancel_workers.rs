//! Cancels a tree of workers, threads and async tasks mixed, with a reason
//! and a deadline, and prints what each worker saw.
//!
//! `cargo run --example cancel_workers`

use std::thread;
use std::time::{Duration, Instant};

use ripcord::{CancelReason, CancellationToken};

fn main() {
    let root = CancellationToken::new();
    let start = Instant::now();

    // Two blocking workers on plain threads, each with its own child token.
    let threads: Vec<_> = (0..2)
        .map(|i| {
            let token = root.child_token();
            thread::spawn(move || {
                token.wait(); // parks; no runtime, no spinning
                println!("thread worker {i}: stopped ({})", token.reason().unwrap());
            })
        })
        .collect();

    // An async request with a 50 ms deadline (fired by ripcord's own timer
    // thread), and an async worker that lives until shutdown.
    let request = root.child_token();
    request.cancel_after(Duration::from_millis(50));
    let worker = root.child_token();
    let tasks = thread::spawn(move || {
        futures::executor::block_on(async {
            let slow = std::future::pending::<()>();
            let err = request.run_until_cancelled(slow).await.unwrap_err();
            println!("async request: {err} after {:?}", start.elapsed());
            worker.cancelled().await;
            println!("async worker: stopped ({})", worker.reason().unwrap());
        });
    });

    // A tokio task on its own runtime, waiting on the same tree.
    let tokio_token = root.child_token();
    let tokio_task = thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async move {
            tokio::spawn(async move {
                tokio_token.cancelled().await;
                println!("tokio task: stopped ({})", tokio_token.reason().unwrap());
            })
            .await
            .unwrap();
        });
    });

    // Interrupt "blocking I/O" when the tree is cancelled.
    let _close = root.on_cancel(|reason| println!("on_cancel: closing sockets ({reason})"));

    thread::sleep(Duration::from_millis(100));
    root.cancel_with(CancelReason::custom("shutting down"));
    for t in threads {
        t.join().unwrap();
    }
    tasks.join().unwrap();
    tokio_task.join().unwrap();
}
