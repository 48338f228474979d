//! Wakers: only the latest is kept, it is woken once, and none leak.
#![cfg(all(feature = "std", not(loom)))]

mod common;

use std::sync::Arc;
use std::task::{Context, Poll};

use common::CountingWaker;
use ripcord::oneshot;

#[test]
fn receiver_keeps_only_the_latest_waker_and_wakes_it_once() {
    let (a, waker_a) = CountingWaker::new();
    let (b, waker_b) = CountingWaker::new();
    let (tx, mut rx) = oneshot::channel();

    assert!(
        rx.poll_recv(&mut Context::from_waker(&waker_a))
            .is_pending()
    );
    assert_eq!(Arc::strong_count(&a), 3, "the channel holds one clone of A");
    assert!(
        rx.poll_recv(&mut Context::from_waker(&waker_b))
            .is_pending()
    );
    assert_eq!(
        Arc::strong_count(&a),
        2,
        "A was released when B replaced it"
    );
    assert_eq!(Arc::strong_count(&b), 3);
    // Polling again with the same task stores nothing new.
    assert!(
        rx.poll_recv(&mut Context::from_waker(&waker_b))
            .is_pending()
    );
    assert_eq!(Arc::strong_count(&b), 3);

    tx.send(1).unwrap();
    assert_eq!(a.wakes(), 0);
    assert_eq!(b.wakes(), 1);
    assert_eq!(Arc::strong_count(&b), 2, "the woken clone was consumed");
    assert_eq!(
        rx.poll_recv(&mut Context::from_waker(&waker_b)),
        Poll::Ready(Ok(1))
    );
    drop(rx);
    drop((waker_a, waker_b));
    assert_eq!(Arc::strong_count(&a), 1);
    assert_eq!(Arc::strong_count(&b), 1);
}

#[test]
fn dropping_a_polled_receiver_releases_its_waker_without_waking() {
    let (a, waker) = CountingWaker::new();
    let (tx, mut rx) = oneshot::channel::<u8>();
    assert!(rx.poll_recv(&mut Context::from_waker(&waker)).is_pending());
    drop(rx);
    assert_eq!(Arc::strong_count(&a), 2);
    assert_eq!(a.wakes(), 0);
    assert!(tx.send(1).is_err());
}

#[test]
fn sender_drop_wakes_the_receiver() {
    let (a, waker) = CountingWaker::new();
    let (tx, mut rx) = oneshot::channel::<u8>();
    assert!(rx.poll_recv(&mut Context::from_waker(&waker)).is_pending());
    drop(tx);
    assert_eq!(a.wakes(), 1);
    assert_eq!(Arc::strong_count(&a), 2);
    assert!(rx.poll_recv(&mut Context::from_waker(&waker)).is_ready());
}

#[test]
fn closed_waker_is_woken_by_receiver_drop_and_close() {
    for close in [false, true] {
        let (a, waker) = CountingWaker::new();
        let (mut tx, mut rx) = oneshot::channel::<u8>();
        assert!(
            tx.poll_closed(&mut Context::from_waker(&waker))
                .is_pending()
        );
        assert_eq!(Arc::strong_count(&a), 3);
        if close {
            rx.close();
        } else {
            drop(rx);
        }
        assert_eq!(a.wakes(), 1);
        assert_eq!(Arc::strong_count(&a), 2);
        assert!(tx.poll_closed(&mut Context::from_waker(&waker)).is_ready());
        assert_eq!(Arc::strong_count(&a), 2, "a ready poll stores nothing");
    }
}

#[test]
fn sender_releases_its_closed_waker_when_it_sends_or_drops() {
    for send in [false, true] {
        let (a, waker) = CountingWaker::new();
        let (mut tx, rx) = oneshot::channel::<u8>();
        assert!(
            tx.poll_closed(&mut Context::from_waker(&waker))
                .is_pending()
        );
        if send {
            tx.send(1).unwrap();
        } else {
            drop(tx);
        }
        assert_eq!(Arc::strong_count(&a), 2);
        assert_eq!(a.wakes(), 0);
        drop(rx);
    }
}

#[test]
fn both_sides_waiting_then_send_wakes_receiver_and_frees_both_wakers() {
    let (r, rx_waker) = CountingWaker::new();
    let (s, tx_waker) = CountingWaker::new();
    let (mut tx, mut rx) = oneshot::channel::<u8>();
    assert!(
        rx.poll_recv(&mut Context::from_waker(&rx_waker))
            .is_pending()
    );
    assert!(
        tx.poll_closed(&mut Context::from_waker(&tx_waker))
            .is_pending()
    );
    tx.send(5).unwrap();
    assert_eq!((r.wakes(), s.wakes()), (1, 0));
    assert_eq!((Arc::strong_count(&r), Arc::strong_count(&s)), (2, 2));
    assert_eq!(rx.try_recv(), Ok(5));
}

#[test]
fn blocking_timeout_after_poll_replaces_and_releases_the_task_waker() {
    let (a, waker) = CountingWaker::new();
    let (tx, mut rx) = oneshot::channel::<u8>();
    assert!(rx.poll_recv(&mut Context::from_waker(&waker)).is_pending());
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(1))
            .is_err()
    );
    assert_eq!(
        Arc::strong_count(&a),
        2,
        "the thread wait took the task's place"
    );
    tx.send(1).unwrap();
    assert_eq!(a.wakes(), 0);
    assert_eq!(rx.try_recv(), Ok(1));
}
