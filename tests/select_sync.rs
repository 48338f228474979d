//! `Select` and `recv_or_cancelled` from plain threads: every event kind,
//! which index wins, nothing consumed by waiting, bad input.
#![cfg(all(feature = "std", not(loom)))]

mod common;

use std::thread;
use std::time::{Duration, Instant};

use ripcord::oneshot::{self, RecvCancelledError, TryRecvError};
use ripcord::select::Select;
use ripcord::{CancelReason, CancellationToken, Elapsed, Shutdown, promise};

fn later(f: impl FnOnce() + Send + 'static) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        f();
    })
}

#[test]
fn each_event_kind_wakes_a_blocked_select() {
    // A value.
    let (tx, mut rx) = oneshot::channel::<u8>();
    let token = CancellationToken::new();
    let mut sel = Select::new();
    sel.cancelled(&token);
    let i = sel.recv(&mut rx);
    let h = later(move || tx.send(1).unwrap());
    assert_eq!(sel.wait(), i);
    h.join().unwrap();
    drop(sel);
    assert_eq!(rx.try_recv(), Ok(1));

    // A cancellation.
    let (_tx, mut rx) = oneshot::channel::<u8>();
    let mut sel = Select::new();
    sel.recv(&mut rx);
    let i = sel.cancelled(&token);
    let t = token.clone();
    let h = later(move || {
        t.cancel_with("stop".into());
    });
    assert_eq!(sel.wait(), i);
    h.join().unwrap();
    assert_eq!(token.reason().unwrap().to_string(), "stop");

    // A promise.
    let (resolver, promise) = promise::channel::<u8>();
    let mut sel = Select::new();
    let i = sel.resolved(&promise);
    let h = later(move || resolver.resolve(3).unwrap());
    assert_eq!(sel.wait(), i);
    h.join().unwrap();
    assert_eq!(promise.get(), Some(&3));

    // A gone receiver.
    let (mut tx, rx) = oneshot::channel::<u8>();
    let mut sel = Select::new();
    let i = sel.closed(&mut tx);
    let h = later(move || drop(rx));
    assert_eq!(sel.wait(), i);
    h.join().unwrap();
    assert!(tx.is_closed());

    // A drain.
    let shutdown = Shutdown::new();
    let guard = shutdown.guard().unwrap();
    let mut sel = Select::new();
    let i = sel.drained(&shutdown);
    let s = shutdown.clone();
    let h = later(move || {
        s.trigger();
        drop(guard);
    });
    assert_eq!(sel.wait(), i);
    h.join().unwrap();
    assert!(shutdown.is_drained());
}

#[test]
fn the_lowest_ready_index_wins() {
    let a = CancellationToken::new();
    let b = CancellationToken::new();
    let (tx, mut rx) = oneshot::channel::<u8>();
    tx.send(1).unwrap();
    b.cancel();
    let mut sel = Select::new();
    assert_eq!(sel.cancelled(&a), 0);
    assert_eq!(sel.cancelled(&b), 1);
    assert_eq!(sel.recv(&mut rx), 2);
    assert_eq!(sel.try_ready(), Some(1));
    assert_eq!(sel.wait(), 1);
    a.cancel();
    assert_eq!(sel.wait_timeout(Duration::ZERO), Ok(0));
}

#[test]
fn a_value_is_never_lost_when_another_event_wins_or_time_runs_out() {
    let token = CancellationToken::new();
    let (tx, mut rx) = oneshot::channel::<String>();
    {
        let mut sel = Select::new();
        sel.cancelled(&token);
        sel.recv(&mut rx);
        assert_eq!(
            sel.wait_timeout(Duration::from_millis(2)),
            Err(Elapsed::new())
        );
        token.cancel();
        tx.send("kept".into()).unwrap();
        assert_eq!(sel.wait(), 0, "the token is first");
    }
    assert_eq!(rx.try_recv().as_deref(), Ok("kept"));
}

#[test]
fn a_select_of_more_than_four_events_works_too() {
    let tokens: Vec<CancellationToken> = (0..9).map(|_| CancellationToken::new()).collect();
    let mut sel = Select::new();
    for (i, t) in tokens.iter().enumerate() {
        assert_eq!(sel.cancelled(t), i);
    }
    assert_eq!(sel.len(), 9);
    let last = tokens[8].clone();
    let h = later(move || last.cancel());
    assert_eq!(sel.wait(), 8);
    h.join().unwrap();
    tokens[2].cancel();
    assert_eq!(sel.try_ready(), Some(2));
}

#[test]
fn bad_input_never_panics_or_hangs() {
    let token = CancellationToken::new();
    let mut sel = Select::new();
    sel.cancelled(&token);
    assert_eq!(sel.wait_timeout(Duration::ZERO), Err(Elapsed::new()));
    let past = Instant::now()
        .checked_sub(Duration::from_secs(60))
        .unwrap_or_else(Instant::now);
    assert_eq!(sel.wait_deadline(past), Err(Elapsed::new()));
    let t = token.clone();
    let h = later(move || t.cancel());
    assert_eq!(sel.wait_timeout(Duration::MAX), Ok(0));
    h.join().unwrap();
    // An empty set: a timed wait sleeps and times out; `try_ready` is `None`.
    let empty = Select::new();
    assert_eq!(empty.try_ready(), None);
    let start = Instant::now();
    assert_eq!(
        empty.wait_timeout(Duration::from_millis(5)),
        Err(Elapsed::new())
    );
    assert!(start.elapsed() >= Duration::from_millis(5));
}

#[test]
#[should_panic(expected = "empty set")]
fn waiting_on_an_empty_set_without_a_deadline_panics() {
    let _ = Select::new().wait();
}

#[test]
fn finished_receivers_are_ready_and_report_their_state() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    tx.send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    let mut sel = Select::new();
    sel.recv(&mut rx);
    assert_eq!(sel.wait(), 0, "a finished receiver answers at once");
    drop(sel);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn recv_or_cancelled_returns_the_value_the_reason_or_the_disconnection() {
    let token = CancellationToken::new();
    let (tx, mut rx) = oneshot::channel::<u8>();
    let h = later(move || tx.send(7).unwrap());
    assert_eq!(rx.recv_or_cancelled(&token), Ok(7));
    h.join().unwrap();

    let (tx, mut rx) = oneshot::channel::<u8>();
    let t = token.clone();
    let h = later(move || {
        t.cancel_with(CancelReason::custom("bye"));
    });
    let err = rx.recv_or_cancelled(&token).unwrap_err();
    h.join().unwrap();
    assert_eq!(
        err.reason().map(ToString::to_string).as_deref(),
        Some("bye")
    );
    // Cancelled, not consumed: the value still arrives.
    tx.send(8).unwrap();
    assert_eq!(rx.try_recv(), Ok(8));

    let fresh = CancellationToken::new();
    let (tx, mut rx) = oneshot::channel::<u8>();
    let h = later(move || drop(tx));
    assert_eq!(
        rx.recv_or_cancelled(&fresh),
        Err(RecvCancelledError::Disconnected)
    );
    h.join().unwrap();
}

#[test]
fn recv_or_cancelled_prefers_a_waiting_value_over_a_cancellation() {
    let token = CancellationToken::new();
    token.cancel();
    let (tx, mut rx) = oneshot::channel::<u8>();
    tx.send(1).unwrap();
    assert_eq!(rx.recv_or_cancelled(&token), Ok(1));
}

#[test]
fn recv_or_cancelled_times_out_and_stays_usable() {
    let token = CancellationToken::new();
    let (tx, mut rx) = oneshot::channel::<u8>();
    assert_eq!(
        rx.recv_or_cancelled_timeout(&token, Duration::from_millis(2)),
        Err(RecvCancelledError::Timeout)
    );
    assert_eq!(
        rx.recv_or_cancelled_deadline(&token, Instant::now()),
        Err(RecvCancelledError::Timeout)
    );
    tx.send(2).unwrap();
    assert_eq!(rx.recv_or_cancelled_timeout(&token, Duration::MAX), Ok(2));
}

#[test]
fn recv_or_cancelled_errors_convert_into_io_errors() {
    let token = CancellationToken::new();
    token.cancel();
    let (_tx, mut rx) = oneshot::channel::<u8>();
    let mut read = || -> std::io::Result<u8> { Ok(rx.recv_or_cancelled(&token)?) };
    assert_eq!(read().unwrap_err().kind(), std::io::ErrorKind::Interrupted);
}

#[test]
fn a_select_is_send() {
    fn send<X: Send>(_: &X) {}
    let token = CancellationToken::new();
    let mut sel = Select::new();
    sel.cancelled(&token);
    send(&sel);
    send(&sel.ready());
}
