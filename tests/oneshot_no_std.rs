//! The part of the oneshot API that exists without the `std` feature: sending,
//! `try_recv`, polling and awaiting, closing. (The test harness itself uses
//! std; the crate under test may be built with `--no-default-features`.)
#![cfg(not(loom))]

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use ripcord::oneshot::{self, RecvError, TryRecvError};

#[test]
fn try_recv_and_poll_work_without_std() {
    let (tx, mut rx) = oneshot::channel();
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(Pin::new(&mut rx).poll(&mut cx).is_pending());
    tx.send([1_u8; 3]).unwrap();
    assert_eq!(Pin::new(&mut rx).poll(&mut cx), Poll::Ready(Ok([1; 3])));
    assert_eq!(Pin::new(&mut rx).poll(&mut cx), Poll::Ready(Err(RecvError)));
}

#[test]
fn close_and_closed_work_without_std() {
    let (mut tx, mut rx) = oneshot::channel::<u8>();
    let mut cx = Context::from_waker(Waker::noop());
    assert!(tx.poll_closed(&mut cx).is_pending());
    rx.close();
    assert!(tx.poll_closed(&mut cx).is_ready());
    assert!(rx.is_closed());
    assert_eq!(tx.send(4).unwrap_err().into_inner(), 4);
}

#[test]
fn dropped_sender_wakes_a_pending_poll_without_std() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    let mut cx = Context::from_waker(Waker::noop());
    assert!(rx.poll_recv(&mut cx).is_pending());
    drop(tx);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Err(RecvError)));
    assert!(rx.is_terminated());
}
