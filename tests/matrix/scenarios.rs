//! The matrix's scenarios, written once. Each is an `async fn` generic over the
//! runtime's sleeper; `runtime_matrix.rs` runs every one on every runtime.
//!
//! To add a scenario: write it here and add its name to the `matrix!` list.

use std::future::pending;
use std::time::{Duration, Instant};

use ripcord::time::Sleeper;
use ripcord::{Elapsed, FutureExt, oneshot};

/// What a runtime's sleeper must offer to run the scenarios anywhere,
/// including inside tasks spawned on multi-threaded executors.
pub trait MatrixSleeper: Sleeper<Sleep: Send> + Clone + Send + Sync + 'static {}
impl<S: Sleeper<Sleep: Send> + Clone + Send + Sync + 'static> MatrixSleeper for S {}

/// Long enough never to fire on a healthy machine, short enough not to hang a
/// broken test forever.
const GENEROUS: Duration = Duration::from_secs(30);
const SHORT: Duration = Duration::from_millis(20);

/// A plain thread sends; the task receives.
pub async fn oneshot_thread_to_task<S: MatrixSleeper>(s: S) {
    let (tx, rx) = oneshot::channel();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(2));
        tx.send(String::from("from a thread")).unwrap();
    });
    let got = rx.timeout(&s, GENEROUS).await;
    assert_eq!(got, Ok(Ok(String::from("from a thread"))));
    sender.join().unwrap();
}

/// The task sends; a plain thread blocked in `recv` receives, and answers
/// back through a second channel.
pub async fn oneshot_task_to_thread<S: MatrixSleeper>(s: S) {
    let (tx, rx) = oneshot::channel::<u64>();
    let (reply_tx, reply_rx) = oneshot::channel::<u64>();
    let receiver = std::thread::spawn(move || {
        let v = rx.recv().unwrap();
        reply_tx.send(v * 2).unwrap();
    });
    tx.send(21).unwrap();
    assert_eq!(reply_rx.timeout(&s, GENEROUS).await, Ok(Ok(42)));
    receiver.join().unwrap();
}

/// Nobody sends: the timeout fires, and not before its deadline.
pub async fn timeout_fires<S: MatrixSleeper>(s: S) {
    let (_tx, rx) = oneshot::channel::<u8>();
    let start = Instant::now();
    assert_eq!(rx.timeout(&s, SHORT).await, Err(Elapsed::new()));
    assert!(start.elapsed() >= SHORT);

    let deadline = Instant::now() + SHORT;
    assert_eq!(
        pending::<()>().timeout_at(&s, deadline).await,
        Err(Elapsed::new())
    );
    assert!(Instant::now() >= deadline);
}

/// A value that arrives in time is delivered; a ready value is never lost to
/// a deadline that is due at the same time.
pub async fn timeout_does_not_fire<S: MatrixSleeper>(s: S) {
    // Arrives in time.
    let (tx, rx) = oneshot::channel();
    let sender = std::thread::spawn(move || tx.send(1).unwrap());
    assert_eq!(rx.timeout(&s, GENEROUS).await, Ok(Ok(1)));
    sender.join().unwrap();

    // Ready, with a deadline that is already due: the value wins.
    let (tx, rx) = oneshot::channel();
    tx.send(2).unwrap();
    assert_eq!(rx.timeout(&s, Duration::ZERO).await, Ok(Ok(2)));
    let (tx, rx) = oneshot::channel();
    tx.send(3).unwrap();
    assert_eq!(rx.timeout_at(&s, Instant::now()).await, Ok(Ok(3)));
}

/// A borrowed receiver that timed out can be awaited again.
pub async fn timed_out_receiver_stays_usable<S: MatrixSleeper>(s: S) {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(
        (&mut rx).timeout(&s, Duration::from_millis(5)).await,
        Err(Elapsed::new())
    );
    let sender = std::thread::spawn(move || tx.send("second try").unwrap());
    assert_eq!((&mut rx).timeout(&s, GENEROUS).await, Ok(Ok("second try")));
    assert!(rx.is_terminated());
    sender.join().unwrap();
}

/// Many timeouts in flight at once on the same timer: all fire, none early,
/// and the ones whose value arrives are not reported as elapsed.
pub async fn many_timeouts_at_once<S: MatrixSleeper>(s: S) {
    const N: usize = 16;
    let start = Instant::now();
    let mut senders = Vec::new();
    let mut waits = Vec::new();
    for i in 0..N {
        let (tx, rx) = oneshot::channel::<usize>();
        senders.push(tx);
        waits.push(rx.timeout(&s, SHORT + Duration::from_millis(i as u64)));
    }
    // Answer the even ones now; the odd ones (kept alive, not sent) time out.
    let mut silent = Vec::new();
    for (i, tx) in senders.into_iter().enumerate() {
        if i % 2 == 0 {
            tx.send(i).unwrap();
        } else {
            silent.push(tx);
        }
    }
    let results = futures::future::join_all(waits).await;
    drop(silent);
    for (i, r) in results.into_iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(r, Ok(Ok(i)));
        } else {
            assert_eq!(r, Err(Elapsed::new()));
        }
    }
    assert!(start.elapsed() >= SHORT);
}

/// A token cancelled from a plain thread wakes a task waiting on it and one
/// blocked thread; both see the same reason.
pub async fn cancellation_wakes_waiters<S: MatrixSleeper>(s: S) {
    use ripcord::{CancelReason, CancellationToken};

    let token = CancellationToken::new();
    let blocked = {
        let token = token.child_token();
        std::thread::spawn(move || {
            assert!(
                token.wait_timeout(GENEROUS).is_ok(),
                "blocked thread not woken"
            );
            token.reason()
        })
    };
    let canceller = {
        let token = token.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(2));
            token.cancel_with(CancelReason::custom("stop"));
        })
    };
    assert_eq!(token.cancelled().timeout(&s, GENEROUS).await, Ok(()));
    let reason = token.reason().unwrap();
    assert_eq!(reason.to_string(), "stop");
    assert_eq!(blocked.join().unwrap(), Some(reason));
    canceller.join().unwrap();
}

/// A deadline on a token fires: once on ripcord's own timer thread
/// (`cancel_after`), once on the runtime's timer (`time::cancel_on_timer`).
pub async fn deadline_token_fires<S: MatrixSleeper>(s: S) {
    use ripcord::CancellationToken;

    let start = Instant::now();
    let token = CancellationToken::new();
    token.cancel_after(SHORT);
    assert_eq!(token.cancelled().timeout(&s, GENEROUS).await, Ok(()));
    assert!(start.elapsed() >= SHORT, "fired before its deadline");
    assert!(token.reason().unwrap().is_deadline_exceeded());

    let start = Instant::now();
    let token = CancellationToken::new();
    let child = token.child_token();
    ripcord::time::cancel_on_timer(&token, &s, SHORT).await;
    assert!(start.elapsed() >= SHORT, "fired before its deadline");
    assert!(child.is_cancelled());
    assert!(child.reason().unwrap().is_deadline_exceeded());
}

/// `with_cancellation` returns the token's reason, and lets a result through
/// when the token stays quiet.
pub async fn with_cancellation_returns_the_reason<S: MatrixSleeper>(s: S) {
    use ripcord::{CancelReason, CancellationToken};

    let parent = CancellationToken::new();
    let token = parent.child_token();
    assert_eq!(async { 5 }.with_cancellation(&token).await, Ok(5));

    let (_tx, never) = oneshot::channel::<u8>();
    let canceller = {
        let parent = parent.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(2));
            parent.cancel_with(CancelReason::custom("shutting down"));
        })
    };
    let out = never
        .with_cancellation_owned(token)
        .timeout(&s, GENEROUS)
        .await
        .expect("the token, not the timeout, ends the wait");
    let err = out.unwrap_err();
    assert_eq!(err.reason().to_string(), "shutting down");
    // A token turns cancelled only after its whole subtree, so the parent is
    // certain to report its reason once its `cancel_with` call has returned.
    canceller.join().unwrap();
    assert_eq!(err.reason(), &parent.reason().unwrap());
}
