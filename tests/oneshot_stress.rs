//! Two-thread races, many rounds: the scenarios the AddressSanitizer script
//! runs a million times (`RIPCORD_STRESS_ROUNDS`), and plain `cargo test` a few
//! thousand times.
//!
//! Each round hands a fresh channel half to a long-lived peer thread, then both
//! threads act at once.
#![cfg(all(feature = "std", not(loom)))]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::{Context, Waker};
use std::thread;
use std::time::Duration;

use common::DropCounter;
use ripcord::oneshot;

fn rounds() -> usize {
    let default = if cfg!(miri) { 10 } else { 2_000 };
    std::env::var("RIPCORD_STRESS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `peer` on a long-lived thread for each item `make` produces, while
/// `local` runs on this thread at the same time.
fn race<A: Send + 'static, B>(
    make: impl Fn() -> (A, B),
    peer: impl Fn(A) + Send + 'static,
    local: impl Fn(B),
) {
    let (to_peer, from_main) = mpsc::sync_channel::<A>(1);
    let worker = thread::spawn(move || {
        for item in from_main {
            peer(item);
        }
    });
    for _ in 0..rounds() {
        let (a, b) = make();
        to_peer.send(a).unwrap();
        local(b);
    }
    drop(to_peer);
    worker.join().unwrap();
}

#[test]
fn send_races_receiver_that_polls_once_and_drops() {
    let drops = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let (peer_drops, peer_sent) = (drops.clone(), sent.clone());
    race(
        oneshot::channel::<DropCounter>,
        move |tx| {
            peer_sent.fetch_add(1, Ordering::Relaxed);
            drop(tx.send(DropCounter::new(&peer_drops, 0)));
        },
        |mut rx| {
            let _ = Pin::new(&mut rx).poll(&mut Context::from_waker(Waker::noop()));
            drop(rx);
        },
    );
    assert_eq!(drops.load(Ordering::SeqCst), sent.load(Ordering::SeqCst));
}

#[test]
fn sender_drop_races_receiver_in_recv_timeout() {
    race(oneshot::channel::<u64>, drop, |mut rx| {
        let r = rx.recv_timeout(Duration::from_micros(20));
        assert!(r.is_err());
        if r == Err(oneshot::RecvTimeoutError::Timeout) {
            // Not yet dropped, or dropped just after the deadline.
            let _ = rx.recv_timeout(Duration::from_secs(60));
        }
        assert!(rx.is_terminated());
    });
}

#[test]
fn receiver_drop_races_sender_waiting_in_closed() {
    race(
        || {
            let (tx, rx) = oneshot::channel::<u64>();
            (rx, tx)
        },
        drop,
        |mut tx| {
            futures::executor::block_on(tx.closed());
            assert!(tx.is_closed());
        },
    );
}

#[test]
fn send_races_blocking_recv() {
    race(
        oneshot::channel::<Box<u64>>,
        |tx| tx.send(Box::new(5)).unwrap(),
        |rx| assert_eq!(rx.recv().map(|b| *b), Ok(5)),
    );
}
