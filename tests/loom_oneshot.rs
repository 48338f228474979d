//! Loom models of every oneshot state transition.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release --test loom_oneshot`.
//! Under loom a blocking wait with a deadline is modelled as expiring at its
//! first park, so the timeout paths race the other side at every step.
#![cfg(loom)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use ripcord::oneshot::{self, RecvError, RecvTimeoutError, TryRecvError};

/// A waker that records wake-ups in a loom atomic.
#[derive(Default)]
struct Flag(AtomicUsize);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn flag() -> (Arc<Flag>, Waker) {
    let flag = Arc::new(Flag::default());
    (flag.clone(), Waker::from(flag))
}

/// A value whose drops are counted in a loom atomic.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

#[test]
fn send_races_blocking_recv() {
    model(|| {
        let (tx, rx) = oneshot::channel();
        let sender = thread::spawn(move || tx.send(7).unwrap());
        assert_eq!(rx.recv(), Ok(7));
        sender.join().unwrap();
    });
}

#[test]
fn sender_drop_races_blocking_recv() {
    model(|| {
        let (tx, rx) = oneshot::channel::<u8>();
        let sender = thread::spawn(move || drop(tx));
        assert_eq!(rx.recv(), Err(RecvError));
        sender.join().unwrap();
    });
}

#[test]
fn send_races_async_recv() {
    model(|| {
        let (tx, rx) = oneshot::channel();
        let sender = thread::spawn(move || tx.send(1).unwrap());
        assert_eq!(loom::future::block_on(rx), Ok(1));
        sender.join().unwrap();
    });
}

#[test]
fn poll_then_drop_races_send() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, mut rx) = oneshot::channel();
        let value = Counted(drops.clone());
        let sender = thread::spawn(move || tx.send(value).is_err());
        let (_flag, waker) = flag();
        let polled = Pin::new(&mut rx).poll(&mut Context::from_waker(&waker));
        let received = polled.is_ready();
        drop(polled);
        drop(rx);
        let returned = sender.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped exactly once");
        assert!(!(received && returned));
    });
}

#[test]
fn recv_timeout_expiring_races_send() {
    model(|| {
        let (tx, mut rx) = oneshot::channel();
        let sender = thread::spawn(move || tx.send(5).unwrap());
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(v) => assert_eq!(v, 5),
            Err(RecvTimeoutError::Timeout) => {
                sender.join().unwrap();
                assert_eq!(rx.try_recv(), Ok(5), "a timeout loses nothing");
                return;
            }
            Err(RecvTimeoutError::Disconnected) => panic!("the value was sent"),
        }
        sender.join().unwrap();
    });
}

#[test]
fn recv_timeout_expiring_races_sender_drop() {
    model(|| {
        let (tx, mut rx) = oneshot::channel::<u8>();
        let sender = thread::spawn(move || drop(tx));
        let first = rx.recv_timeout(Duration::from_secs(1));
        sender.join().unwrap();
        assert!(matches!(first, Err(_)));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

#[test]
fn closed_races_receiver_drop() {
    model(|| {
        let (mut tx, rx) = oneshot::channel::<u8>();
        let receiver = thread::spawn(move || drop(rx));
        loom::future::block_on(tx.closed());
        assert!(tx.is_closed());
        receiver.join().unwrap();
    });
}

#[test]
fn wait_closed_races_receiver_close() {
    model(|| {
        let (mut tx, mut rx) = oneshot::channel::<u8>();
        let receiver = thread::spawn(move || {
            rx.close();
            rx
        });
        tx.wait_closed();
        assert!(tx.send(1).is_err());
        drop(receiver.join().unwrap());
    });
}

#[test]
fn wait_closed_timeout_races_receiver_drop() {
    model(|| {
        let (mut tx, rx) = oneshot::channel::<u8>();
        let receiver = thread::spawn(move || drop(rx));
        let closed = tx.wait_closed_timeout(Duration::from_secs(1)).is_ok();
        receiver.join().unwrap();
        assert!(closed || tx.is_closed());
        assert!(tx.send(1).is_err());
    });
}

#[test]
fn waker_replacement_races_send() {
    model(|| {
        let (tx, mut rx) = oneshot::channel();
        let (a, waker_a) = flag();
        let (b, waker_b) = flag();
        assert!(
            rx.poll_recv(&mut Context::from_waker(&waker_a))
                .is_pending()
        );
        let sender = thread::spawn(move || tx.send(3).unwrap());
        let second = rx.poll_recv(&mut Context::from_waker(&waker_b));
        sender.join().unwrap();
        match second {
            Poll::Ready(v) => assert_eq!(v, Ok(3)),
            Poll::Pending => {
                // The value arrived after B was registered: B must be woken.
                assert_eq!(b.0.load(Ordering::SeqCst), 1, "latest waker not woken");
                assert_eq!(rx.try_recv(), Ok(3));
            }
        }
        // A is woken only if the send beat the replacement.
        assert!(a.0.load(Ordering::SeqCst) <= 1);
    });
}

#[test]
fn send_races_close() {
    model(|| {
        let (tx, mut rx) = oneshot::channel();
        let sender = thread::spawn(move || tx.send(2).map_err(|e| e.into_inner()));
        rx.close();
        let received = rx.try_recv();
        let sent = sender.join().unwrap();
        match sent {
            // Sent before the close: the value must still be received (now or
            // later, if the send completed after our try_recv).
            Ok(()) => {
                if received.is_err() {
                    assert_eq!(received, Err(TryRecvError::Disconnected));
                    panic!("a value sent before close was lost");
                }
            }
            Err(v) => {
                assert_eq!(v, 2);
                assert_eq!(received, Err(TryRecvError::Disconnected));
            }
        }
    });
}

#[test]
fn send_races_receiver_drop() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = oneshot::channel();
        let value = Counted(drops.clone());
        let sender = thread::spawn(move || drop(tx.send(value)));
        drop(rx);
        sender.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn both_sides_waiting_then_send_and_receiver_drop() {
    model(|| {
        let (mut tx, mut rx) = oneshot::channel::<u8>();
        let (_fa, waker_a) = flag();
        let (fb, waker_b) = flag();
        assert!(
            rx.poll_recv(&mut Context::from_waker(&waker_a))
                .is_pending()
        );
        assert!(
            tx.poll_closed(&mut Context::from_waker(&waker_b))
                .is_pending()
        );
        let receiver = thread::spawn(move || drop(rx));
        let _ = tx.send(1);
        receiver.join().unwrap();
        // The sender's own waiter was released by its send, never woken twice.
        assert!(fb.0.load(Ordering::SeqCst) <= 1);
    });
}

#[test]
fn sender_drop_races_receiver_drop_with_both_waiting() {
    model(|| {
        let (mut tx, mut rx) = oneshot::channel::<u8>();
        let (_fa, waker_a) = flag();
        let (_fb, waker_b) = flag();
        assert!(
            rx.poll_recv(&mut Context::from_waker(&waker_a))
                .is_pending()
        );
        assert!(
            tx.poll_closed(&mut Context::from_waker(&waker_b))
                .is_pending()
        );
        let receiver = thread::spawn(move || drop(rx));
        drop(tx);
        receiver.join().unwrap();
    });
}
