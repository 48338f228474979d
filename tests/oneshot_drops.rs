//! Nothing lost, nothing doubled: every value is received, handed back, or
//! dropped inside the channel, exactly once, whatever each side does and in
//! whatever order.
#![cfg(all(feature = "std", not(loom)))]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Waker};
use std::thread;
use std::time::Duration;

use common::DropCounter;
use ripcord::oneshot::{self, Receiver, RecvTimeoutError};

#[derive(Clone, Copy, Debug)]
enum TxAction {
    Send,
    Drop,
}

#[derive(Clone, Copy, Debug)]
enum RxAction {
    Recv,
    RecvTimeout,
    TryRecv,
    Await,
    PollThenDrop,
    PollThenRecvTimeoutThenAwait,
    Close,
    Drop,
}

const TX_ACTIONS: [TxAction; 2] = [TxAction::Send, TxAction::Drop];
const RX_ACTIONS: [RxAction; 8] = [
    RxAction::Recv,
    RxAction::RecvTimeout,
    RxAction::TryRecv,
    RxAction::Await,
    RxAction::PollThenDrop,
    RxAction::PollThenRecvTimeoutThenAwait,
    RxAction::Close,
    RxAction::Drop,
];

/// Runs the receiver's side; returns whether it received the value.
fn receive(mut rx: Receiver<DropCounter>, action: RxAction) -> bool {
    let mut cx = Context::from_waker(Waker::noop());
    let got = match action {
        RxAction::Recv => rx.recv().ok(),
        RxAction::RecvTimeout => match rx.recv_timeout(Duration::from_millis(1)) {
            Ok(v) => Some(v),
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => None,
        },
        RxAction::TryRecv => rx.try_recv().ok(),
        RxAction::Await => futures::executor::block_on(rx).ok(),
        RxAction::PollThenDrop => match Pin::new(&mut rx).poll(&mut cx) {
            std::task::Poll::Ready(r) => r.ok(),
            std::task::Poll::Pending => None,
        },
        RxAction::PollThenRecvTimeoutThenAwait => {
            let _ = Pin::new(&mut rx).poll(&mut cx);
            match rx.recv_timeout(Duration::from_micros(50)) {
                Ok(v) => Some(v),
                Err(RecvTimeoutError::Disconnected) => None,
                Err(RecvTimeoutError::Timeout) => futures::executor::block_on(&mut rx).ok(),
            }
        }
        RxAction::Close => {
            rx.close();
            rx.try_recv().ok()
        }
        RxAction::Drop => None,
    };
    got.is_some()
}

/// Runs the sender's side; returns whether the value came back.
fn transmit(tx: oneshot::Sender<DropCounter>, drops: &Arc<AtomicUsize>, action: TxAction) -> bool {
    match action {
        TxAction::Send => match tx.send(DropCounter::new(drops, 1)) {
            Ok(()) => false,
            Err(err) => {
                assert_eq!(err.into_inner().id, 1);
                true
            }
        },
        TxAction::Drop => {
            drop(tx);
            false
        }
    }
}

fn check(tx_action: TxAction, rx_action: RxAction, received: bool, returned: bool, drops: usize) {
    match tx_action {
        TxAction::Send => {
            assert_eq!(
                drops, 1,
                "{tx_action:?} x {rx_action:?}: value dropped {drops} times"
            );
            assert!(
                !(received && returned),
                "{rx_action:?}: value both received and returned"
            );
        }
        TxAction::Drop => {
            assert_eq!(drops, 0);
            assert!(!received && !returned);
        }
    }
}

#[test]
fn sender_first_then_receiver() {
    for tx_action in TX_ACTIONS {
        for rx_action in RX_ACTIONS {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = oneshot::channel();
            let returned = transmit(tx, &drops, tx_action);
            assert!(!returned, "nobody closed the receiver yet");
            let received = receive(rx, rx_action);
            if let (TxAction::Send, RxAction::Recv | RxAction::Await | RxAction::TryRecv) =
                (tx_action, rx_action)
            {
                assert!(
                    received,
                    "{rx_action:?} must see a value that was sent first"
                );
            }
            check(
                tx_action,
                rx_action,
                received,
                returned,
                drops.load(Ordering::SeqCst),
            );
        }
    }
}

#[test]
fn receiver_acts_first_when_it_cannot_block() {
    for tx_action in TX_ACTIONS {
        for rx_action in [RxAction::PollThenDrop, RxAction::Close, RxAction::Drop] {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = oneshot::channel();
            let received = receive(rx, rx_action);
            assert!(!received);
            let returned = transmit(tx, &drops, tx_action);
            if let TxAction::Send = tx_action {
                assert!(returned, "{rx_action:?} left first: the send must fail");
            }
            check(
                tx_action,
                rx_action,
                received,
                returned,
                drops.load(Ordering::SeqCst),
            );
        }
    }
}

#[test]
fn both_sides_race_on_two_threads() {
    let rounds = common::rounds(300);
    for tx_action in TX_ACTIONS {
        for rx_action in RX_ACTIONS {
            for _ in 0..rounds {
                let drops = Arc::new(AtomicUsize::new(0));
                let (tx, rx) = oneshot::channel();
                let tx_drops = drops.clone();
                let sender = thread::spawn(move || transmit(tx, &tx_drops, tx_action));
                let received = receive(rx, rx_action);
                let returned = sender.join().unwrap();
                check(
                    tx_action,
                    rx_action,
                    received,
                    returned,
                    drops.load(Ordering::SeqCst),
                );
            }
        }
    }
}

#[test]
fn unreceived_value_is_dropped_with_the_receiver() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = oneshot::channel();
    tx.send(DropCounter::new(&drops, 1)).unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn value_kept_after_close_is_dropped_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = oneshot::channel();
    tx.send(DropCounter::new(&drops, 1)).unwrap();
    rx.close();
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}
