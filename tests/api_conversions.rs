//! Conversions and predicates a user reaches for when porting code: `?` from
//! every ripcord error into `std::io::Error`, error predicates, tokio's
//! `Receiver::is_empty`, and messages as cancellation reasons.
#![cfg(feature = "std")]

use std::io::{self, ErrorKind};
use std::time::Duration;

use ripcord::oneshot::{self, RecvError, RecvTimeoutError, TryRecvError};
use ripcord::time::Elapsed;
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
