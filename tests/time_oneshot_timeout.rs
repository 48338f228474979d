//! A oneshot receiver timed out through `FutureExt` stays usable: time out,
//! block with `recv_timeout`, then await again, all on the same receiver.
#![cfg(feature = "std")]

mod time_support;

use std::time::{Duration, Instant};

use ripcord::oneshot::{self, RecvTimeoutError};
use ripcord::{Elapsed, FutureExt};
use time_support::{block_on, thread_sleeper};

#[test]
#[cfg_attr(miri, ignore = "real sleeps")]
fn timed_out_receiver_can_block_then_await_again() {
    let sleeper = thread_sleeper();
    let (tx, mut rx) = oneshot::channel::<&str>();

    let start = Instant::now();
    let first = block_on((&mut rx).timeout(&sleeper, Duration::from_millis(10)));
    assert_eq!(first, Err(Elapsed::new()));
    assert!(start.elapsed() >= Duration::from_millis(10));

    assert_eq!(
        rx.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Timeout)
    );

    let sender = std::thread::spawn(move || tx.send("at last").unwrap());
    let second = block_on((&mut rx).timeout(&sleeper, Duration::from_secs(30)));
    assert_eq!(second, Ok(Ok("at last")));
    assert!(rx.is_terminated());
    sender.join().unwrap();
}

#[test]
fn timed_out_receiver_can_be_awaited_again_with_a_oneshot_deadline() {
    // Same flow with no timer at all (Miri-friendly).
    let (tx, mut rx) = oneshot::channel::<u32>();
    let (stop, deadline) = oneshot::channel::<()>();
    stop.send(()).unwrap();
    assert_eq!(
        block_on((&mut rx).timeout_with(deadline)),
        Err(Elapsed::new())
    );
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Empty));
    tx.send(11).unwrap();
    assert_eq!(block_on(&mut rx), Ok(11));
}

#[test]
#[cfg_attr(miri, ignore = "real sleeps")]
fn owned_receiver_timed_out_is_given_back_by_into_inner() {
    let sleeper = thread_sleeper();
    let (tx, rx) = oneshot::channel::<u8>();
    let mut t = rx.timeout(&sleeper, Duration::from_millis(1));
    assert_eq!(block_on(&mut t), Err(Elapsed::new()));
    let rx = t.into_inner();
    tx.send(5).unwrap();
    assert_eq!(rx.recv(), Ok(5));
}

#[test]
#[cfg_attr(miri, ignore = "real sleeps")]
fn sender_dropped_before_the_deadline_reports_disconnected_not_elapsed() {
    let sleeper = thread_sleeper();
    let (tx, rx) = oneshot::channel::<u8>();
    drop(tx);
    let res = block_on(rx.timeout(&sleeper, Duration::from_secs(30)));
    assert_eq!(res, Ok(Err(oneshot::RecvError)));
}
