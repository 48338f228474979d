//! Conversions and predicates a user reaches for when porting code: `?` from
//! every ripcord error into `std::io::Error`, error predicates, tokio's
//! `Receiver::is_empty`, and messages as cancellation reasons.
#![cfg(feature = "std")]

use std::io::{self, ErrorKind};
use std::time::Duration;

use ripcord::Elapsed;
use ripcord::oneshot::{self, RecvError, RecvTimeoutError, TryRecvError};
use ripcord::{CancelReason, CancellationToken, CancelledError, FutureExt as _};

fn recv_io(rx: oneshot::Receiver<u8>) -> io::Result<u8> {
    Ok(rx.recv()?)
}

fn recv_timeout_io(rx: &mut oneshot::Receiver<u8>) -> io::Result<u8> {
    Ok(rx.recv_timeout(Duration::from_millis(1))?)
}

#[test]
fn question_mark_turns_a_lost_sender_into_unexpected_eof() {
    let (tx, rx) = oneshot::channel::<u8>();
    drop(tx);
    let err = recv_io(rx).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
    assert!(err.get_ref().unwrap().is::<RecvError>());
}

#[test]
fn question_mark_passes_a_value_through() {
    let (tx, rx) = oneshot::channel::<u8>();
    tx.send(9).unwrap();
    assert_eq!(recv_io(rx).unwrap(), 9);
}

#[test]
fn question_mark_turns_a_receive_timeout_into_timed_out_and_disconnect_into_eof() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    assert_eq!(
        recv_timeout_io(&mut rx).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
    drop(tx);
    assert_eq!(
        recv_timeout_io(&mut rx).unwrap_err().kind(),
        ErrorKind::UnexpectedEof
    );
}

#[test]
fn question_mark_turns_elapsed_into_timed_out() {
    let timed_out = || -> io::Result<()> {
        futures::executor::block_on(std::future::pending::<()>().timeout_with(async {}))?;
        Ok(())
    };
    let err = timed_out().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert!(err.get_ref().unwrap().is::<Elapsed>());
}

#[test]
fn question_mark_turns_a_cancellation_into_interrupted_keeping_the_reason() {
    let token = CancellationToken::new();
    token.cancel_with("shutting down".into());
    let run = || -> io::Result<()> {
        futures::executor::block_on(token.run_until_cancelled(async {}))?;
        Ok(())
    };
    let err = run().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interrupted);
    let inner = err
        .get_ref()
        .unwrap()
        .downcast_ref::<CancelledError>()
        .unwrap();
    assert_eq!(inner.reason().to_string(), "shutting down");
}

#[test]
fn receive_error_predicates_tell_timeout_empty_and_disconnected_apart() {
    assert!(TryRecvError::Empty.is_empty() && !TryRecvError::Empty.is_disconnected());
    assert!(TryRecvError::Disconnected.is_disconnected() && !TryRecvError::Disconnected.is_empty());
    assert!(RecvTimeoutError::Timeout.is_timeout() && !RecvTimeoutError::Timeout.is_disconnected());
    assert!(
        RecvTimeoutError::Disconnected.is_disconnected()
            && !RecvTimeoutError::Disconnected.is_timeout()
    );
}

#[test]
fn is_empty_is_true_until_a_value_arrives_and_after_it_is_taken() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    assert!(rx.is_empty());
    tx.send(1).unwrap();
    assert!(!rx.is_empty());
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(rx.is_empty());
}

#[test]
fn is_empty_is_true_when_the_sender_left_without_a_value() {
    let (tx, rx) = oneshot::channel::<u8>();
    drop(tx);
    assert!(rx.is_empty());
}

#[test]
fn messages_become_custom_reasons_that_children_report() {
    let root = CancellationToken::new();
    let child = root.child_token();
    root.cancel_with(CancelReason::from("maintenance"));
    assert_eq!(child.reason().unwrap().to_string(), "maintenance");
    assert_eq!(
        child.reason().unwrap().downcast_ref::<&str>(),
        Some(&"maintenance")
    );

    let token = CancellationToken::new();
    token.cancel_with(String::from("client went away").into());
    let reason = token.reason().unwrap();
    assert_eq!(reason.downcast_ref::<String>().unwrap(), "client went away");
}

#[test]
fn question_mark_turns_a_deadline_cancellation_into_timed_out() {
    let token = CancellationToken::new();
    token.cancel_at(std::time::Instant::now());
    let run = || -> io::Result<()> {
        futures::executor::block_on(token.run_until_cancelled(async {}))?;
        Ok(())
    };
    assert_eq!(run().unwrap_err().kind(), ErrorKind::TimedOut);
}

#[test]
fn the_cancellation_error_reads_as_a_sentence() {
    assert_eq!(
        CancelledError::new(CancelReason::Cancelled).to_string(),
        "cancelled"
    );
    assert_eq!(
        CancelledError::new(CancelReason::DeadlineExceeded).to_string(),
        "deadline exceeded"
    );
    assert_eq!(
        CancelledError::new("shutting down".into()).to_string(),
        "cancelled: shutting down"
    );
}

#[test]
fn timed_waits_answer_ok_or_elapsed() {
    let token = CancellationToken::new();
    assert_eq!(token.wait_timeout(Duration::ZERO), Err(Elapsed::new()));
    token.cancel();
    assert_eq!(token.wait_timeout(Duration::MAX), Ok(()));

    let (mut tx, rx) = oneshot::channel::<u8>();
    assert_eq!(tx.wait_closed_timeout(Duration::ZERO), Err(Elapsed::new()));
    drop(rx);
    assert_eq!(tx.wait_closed_timeout(Duration::MAX), Ok(()));
}

/// `futures::select!` needs `FusedFuture`; every ripcord future is one, so no
/// `.fuse()` is needed, and a branch that fired is skipped afterwards.
#[test]
fn select_takes_ripcord_futures_without_fuse() {
    use futures::future::FusedFuture;

    futures::executor::block_on(async {
        let (tx, mut rx) = oneshot::channel::<u8>();
        let token = CancellationToken::new();
        let mut cancelled = token.cancelled();
        let shutdown = ripcord::Shutdown::new();
        let mut drained = shutdown.drained();
        tx.send(1).unwrap();
        let mut order = Vec::new();
        for _ in 0..3 {
            futures::select! {
                got = rx => { assert_eq!(got, Ok(1)); order.push("value"); token.cancel(); }
                () = cancelled => { order.push("cancelled"); shutdown.trigger(); }
                () = drained => order.push("drained"),
            }
        }
        assert_eq!(order, ["value", "cancelled", "drained"]);
        assert!(rx.is_terminated() && cancelled.is_terminated() && drained.is_terminated());
    });
}

#[test]
fn closed_and_run_until_cancelled_are_fused() {
    use futures::future::{FusedFuture, FutureExt as _};

    let (mut tx, rx) = oneshot::channel::<u8>();
    drop(rx);
    let mut closed = tx.closed();
    assert!(!closed.is_terminated());
    assert_eq!((&mut closed).now_or_never(), Some(()));
    assert!(closed.is_terminated());

    let token = CancellationToken::new();
    let mut run = Box::pin(token.run_until_cancelled(async { 5 }));
    assert!(!run.is_terminated());
    assert_eq!(run.as_mut().now_or_never(), Some(Ok(5)));
    assert!(run.is_terminated());
}
