//! The oneshot channel from plain threads: every method's promised behaviour.
#![cfg(all(feature = "std", not(loom)))]

mod common;

use std::thread;
use std::time::{Duration, Instant};

use ripcord::oneshot::{self, RecvError, RecvTimeoutError, SendError, TryRecvError};

#[test]
fn send_then_try_recv_delivers_the_value() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(7).unwrap();
    assert!(rx.has_message());
    assert_eq!(rx.try_recv(), Ok(7));
    assert!(rx.is_terminated());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn send_to_dropped_receiver_hands_the_value_back() {
    let (tx, rx) = oneshot::channel();
    drop(rx);
    assert!(tx.is_closed());
    let err = tx.send(String::from("v")).unwrap_err();
    assert_eq!(err, SendError(String::from("v")));
    assert_eq!(err.into_inner(), "v");
}

#[test]
fn send_after_close_hands_the_value_back() {
    let (tx, mut rx) = oneshot::channel();
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(1).unwrap_err().into_inner(), 1);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn value_sent_before_close_can_still_be_received() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(5).unwrap();
    rx.close();
    assert!(rx.has_message());
    assert!(!rx.is_closed());
    assert_eq!(rx.try_recv(), Ok(5));
}

#[test]
fn close_twice_and_after_termination_is_harmless() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    rx.close();
    rx.close();
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    rx.close();
    assert!(rx.is_closed());
}

#[test]
fn dropped_sender_disconnects() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    assert!(!rx.is_closed());
    drop(tx);
    assert!(rx.is_closed());
    assert!(!rx.has_message());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn recv_blocks_until_a_thread_sends() {
    let (tx, rx) = oneshot::channel();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        tx.send("late").unwrap();
    });
    assert_eq!(rx.recv(), Ok("late"));
    sender.join().unwrap();
}

#[test]
fn recv_returns_error_when_sender_drops_while_blocked() {
    let (tx, rx) = oneshot::channel::<u8>();
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        drop(tx);
    });
    assert_eq!(rx.recv(), Err(RecvError));
    dropper.join().unwrap();
}

#[test]
fn recv_timeout_times_out_and_leaves_the_receiver_usable() {
    let (tx, mut rx) = oneshot::channel();
    let start = Instant::now();
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(30)),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(
        start.elapsed() >= Duration::from_millis(30),
        "returned before the timeout"
    );
    assert!(!rx.is_terminated());
    tx.send(9).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_millis(30)), Ok(9));
}

#[test]
fn recv_timeout_wakes_when_a_thread_sends() {
    let (tx, mut rx) = oneshot::channel();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tx.send(1).unwrap();
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(60)), Ok(1));
    sender.join().unwrap();
}

#[test]
fn recv_timeout_reports_disconnection() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    drop(tx);
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(60)),
        Err(RecvTimeoutError::Disconnected)
    );
    // A terminated receiver keeps saying so.
    assert_eq!(
        rx.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Disconnected)
    );
}

#[test]
fn present_value_is_returned_even_with_a_past_deadline_or_zero_timeout() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(3).unwrap();
    let past = Instant::now() - Duration::from_millis(1);
    assert_eq!(rx.recv_deadline(past), Ok(3));

    let (tx, mut rx) = oneshot::channel();
    tx.send(4).unwrap();
    assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(4));
}

#[test]
fn past_deadline_without_value_times_out_at_once() {
    let (_tx, mut rx) = oneshot::channel::<u8>();
    let past = Instant::now() - Duration::from_secs(1);
    assert_eq!(rx.recv_deadline(past), Err(RecvTimeoutError::Timeout));
    assert_eq!(
        rx.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );
}

#[test]
fn huge_timeouts_do_not_overflow_or_panic() {
    let (tx, mut rx) = oneshot::channel();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tx.send(2).unwrap();
    });
    assert_eq!(rx.recv_timeout(Duration::MAX), Ok(2));
    sender.join().unwrap();

    let (tx, mut rx) = oneshot::channel::<u8>();
    drop(tx);
    assert_eq!(
        rx.recv_timeout(Duration::MAX),
        Err(RecvTimeoutError::Disconnected)
    );
    let (mut tx, rx) = oneshot::channel::<u8>();
    drop(rx);
    assert!(tx.wait_closed_timeout(Duration::MAX).is_ok());
    // A far deadline (years away) parks for a bounded time per call, no overflow.
    let far = Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
    let (tx, mut rx) = oneshot::channel();
    tx.send(1).unwrap();
    assert_eq!(rx.recv_deadline(far), Ok(1));
    let (tx, mut rx) = oneshot::channel();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tx.send(2).unwrap();
    });
    assert_eq!(rx.recv_deadline(far), Ok(2));
    sender.join().unwrap();
}

#[test]
fn wait_closed_returns_when_the_receiver_drops() {
    let (mut tx, rx) = oneshot::channel::<u8>();
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        drop(rx);
    });
    tx.wait_closed();
    assert!(tx.is_closed());
    dropper.join().unwrap();
}

#[test]
fn wait_closed_returns_when_the_receiver_closes() {
    let (mut tx, mut rx) = oneshot::channel::<u8>();
    let closer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        rx.close();
        rx
    });
    assert!(tx.wait_closed_timeout(Duration::from_secs(60)).is_ok());
    drop(closer.join().unwrap());
}

#[test]
fn wait_closed_timeout_and_deadline_time_out_and_the_sender_can_still_send() {
    let (mut tx, rx) = oneshot::channel();
    let start = Instant::now();
    assert!(tx.wait_closed_timeout(Duration::from_millis(20)).is_err());
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert!(
        tx.wait_closed_deadline(Instant::now() - Duration::from_secs(1))
            .is_err()
    );
    tx.send(8).unwrap();
    assert_eq!(rx.recv(), Ok(8));
}

#[test]
fn sender_and_receiver_are_one_pointer_wide() {
    use std::mem::size_of;
    assert_eq!(size_of::<oneshot::Sender<u64>>(), size_of::<usize>());
    assert_eq!(
        size_of::<Option<oneshot::Sender<u64>>>(),
        size_of::<usize>()
    );
    assert_eq!(
        size_of::<oneshot::Receiver<[u8; 256]>>(),
        size_of::<usize>()
    );
    assert_eq!(
        size_of::<Option<oneshot::Receiver<[u8; 256]>>>(),
        size_of::<usize>()
    );
}

#[test]
fn handles_are_send_and_sync_for_send_values() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_unpin<T: Unpin>() {}
    // `Cell` is Send but not Sync: the handles must still be both.
    assert_send_sync::<oneshot::Sender<std::cell::Cell<u8>>>();
    assert_send_sync::<oneshot::Receiver<std::cell::Cell<u8>>>();
    assert_unpin::<oneshot::Receiver<std::marker::PhantomPinned>>();
}

#[test]
fn debug_output_needs_no_debug_value() {
    struct Opaque;
    let (tx, rx) = oneshot::channel::<Opaque>();
    assert_eq!(format!("{tx:?}"), "Sender { is_closed: false }");
    assert_eq!(
        format!("{rx:?}"),
        "Receiver { has_message: false, is_closed: false, is_terminated: false }"
    );
    let err = tx.send(Opaque).map_err(|e| format!("{e:?}"));
    assert!(err.is_ok());
}

#[test]
fn errors_are_comparable_copyable_and_displayable() {
    fn assert_error<E: std::error::Error + Clone + Eq + Send + Sync + 'static>() {}
    fn assert_copy<E: Copy>() {}
    assert_error::<RecvError>();
    assert_error::<TryRecvError>();
    assert_error::<RecvTimeoutError>();
    assert_error::<SendError<String>>();
    assert_copy::<RecvError>();
    assert_copy::<TryRecvError>();
    assert_copy::<RecvTimeoutError>();
    assert_eq!(
        TryRecvError::Empty.to_string(),
        "receiving on an empty oneshot channel"
    );
    assert_eq!(
        RecvTimeoutError::Timeout.to_string(),
        "timed out waiting on a oneshot channel"
    );
}

#[test]
fn many_threads_each_get_their_own_answer() {
    let rounds = common::rounds(200);
    let handles: Vec<_> = (0..rounds)
        .map(|i| {
            let (tx, rx) = oneshot::channel();
            let worker = thread::spawn(move || tx.send(i * 2).unwrap());
            (worker, rx, i)
        })
        .collect();
    for (worker, rx, i) in handles {
        assert_eq!(rx.recv(), Ok(i * 2));
        worker.join().unwrap();
    }
}
