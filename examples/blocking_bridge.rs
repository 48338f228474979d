//! Bridging blocking threads and async tasks with one oneshot per item, and
//! one `CancellationToken` that stops both directions mid-stream.
//!
//! - **Blocking producer → async consumers.** Each async consumer sends a
//!   `oneshot::Sender` (a request for one item) to a producer thread over
//!   `std::sync::mpsc`, then awaits the matching `Receiver`. The producer
//!   skips requests whose consumer already gave up (`Sender::is_closed`).
//! - **Async producer → blocking consumer.** The async producer hands the
//!   consumer thread a `Receiver` per item up front (a promise), then computes
//!   the value; it abandons an item as soon as the consumer drops its
//!   receiver (`Sender::closed().await`). The consumer thread waits with
//!   `recv_or_cancelled`: the value or the token, whichever comes first, in
//!   one blocking call.
//!
//! The token is cancelled after a fixed time (`cancel_after`), in the middle
//! of both streams. The example finishes in well under a second.
//!
//! Run with `cargo run --example blocking_bridge`.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ripcord::oneshot::{self, RecvCancelledError};
use ripcord::{CancellationToken, FutureExt as _};

fn main() {
    let started = Instant::now();
    let token = CancellationToken::new();
    token.cancel_after(Duration::from_millis(250));
    println!("main: everything stops at {:?}", Duration::from_millis(250));

    // Blocking producer thread, fed requests by async consumers.
    let (requests, incoming) = mpsc::channel::<oneshot::Sender<String>>();
    let producer = {
        let token = token.clone();
        thread::spawn(move || blocking_producer(incoming, token))
    };

    // Blocking consumer thread, fed promises by an async producer.
    let (promises, promised) = mpsc::channel::<(u32, oneshot::Receiver<u64>)>();
    let consumer = {
        let token = token.clone();
        thread::spawn(move || blocking_consumer(promised, token))
    };

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for id in 0..3 {
            tasks.push(tokio::spawn(async_consumer(
                id,
                requests.clone(),
                token.clone(),
            )));
        }
        drop(requests);
        tasks.push(tokio::spawn(async_producer(promises, token.clone())));
        for t in tasks {
            t.await.unwrap();
        }
    });

    let made = producer.join().unwrap();
    let got = consumer.join().unwrap();
    println!(
        "main: blocking producer made {made} items, blocking consumer got {got}; \
         reason: {}; done in {:?}",
        token.reason().unwrap(),
        started.elapsed()
    );
}

/// Asks the producer thread for items, one oneshot each, until cancelled.
async fn async_consumer(
    id: u32,
    requests: mpsc::Sender<oneshot::Sender<String>>,
    token: CancellationToken,
) {
    for n in 0.. {
        let (reply, item) = oneshot::channel();
        if requests.send(reply).is_err() {
            break; // producer gone
        }
        // Race the reply against the token: whichever comes first.
        match item.timeout_with(token.cancelled()).await {
            Ok(Ok(item)) => println!("async consumer {id}: got {item}"),
            Ok(Err(_)) => {
                println!("async consumer {id}: producer dropped request {n}");
                break;
            }
            Err(_) => {
                // Dropping the receiver here closes the request: the producer
                // will see `is_closed()` and skip it.
                println!("async consumer {id}: cancelled while waiting for item {n}");
                break;
            }
        }
    }
}

/// Serves requests until cancelled. Returns how many items it made.
fn blocking_producer(
    incoming: mpsc::Receiver<oneshot::Sender<String>>,
    token: CancellationToken,
) -> usize {
    let mut made = 0;
    let mut skipped = 0;
    while !token.is_cancelled() {
        let reply = match incoming.recv_timeout(Duration::from_millis(20)) {
            Ok(reply) => reply,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        if reply.is_closed() {
            skipped += 1; // its consumer gave up: don't do the work
            continue;
        }
        thread::sleep(Duration::from_millis(30)); // the work
        made += 1;
        if reply.send(format!("item #{made}")).is_err() {
            println!("blocking producer: item #{made} made for nobody");
        }
    }
    // Requests still queued are dropped unanswered: their receivers see
    // `RecvError`, or have gone already.
    skipped += incoming.try_iter().filter(|r| r.is_closed()).count();
    println!("blocking producer: stopping ({made} made, {skipped} skipped as abandoned)");
    made
}

/// Promises items to the consumer thread and fulfils them, until cancelled.
async fn async_producer(
    promises: mpsc::Sender<(u32, oneshot::Receiver<u64>)>,
    token: CancellationToken,
) {
    for n in 0.. {
        let (mut tx, rx) = oneshot::channel();
        if promises.send((n, rx)).is_err() {
            break;
        }
        let outcome = tokio::select! {
            // The consumer dropped this item's receiver: stop computing it.
            () = tx.closed() => "consumer not interested",
            () = token.cancelled() => "cancelled",
            () = tokio::time::sleep(Duration::from_millis(20)) => {
                let _ = tx.send(u64::from(n) * 10);
                continue;
            }
        };
        println!("async producer: item {n}: {outcome}");
        if token.is_cancelled() {
            break;
        }
    }
    println!("async producer: stopping");
}

/// Takes promised items on a blocking thread. Returns how many it received.
fn blocking_consumer(
    promised: mpsc::Receiver<(u32, oneshot::Receiver<u64>)>,
    token: CancellationToken,
) -> usize {
    let mut got = 0;
    for (n, mut rx) in promised {
        if n % 4 == 3 {
            // Not interested in every fourth item: the producer notices.
            drop(rx);
            continue;
        }
        // The answer or the stop signal, whichever comes first: one
        // blocking call, no polling loop with short timeouts.
        match rx.recv_or_cancelled(&token) {
            Ok(value) => {
                got += 1;
                println!("blocking consumer: item {n} = {value}");
            }
            Err(RecvCancelledError::Cancelled(reason)) => {
                println!("blocking consumer: {reason} while waiting for item {n}");
                return got;
            }
            Err(err) => println!("blocking consumer: item {n} will never come ({err})"),
        }
    }
    println!("blocking consumer: stream ended");
    got
}
