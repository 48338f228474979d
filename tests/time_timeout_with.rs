//! `FutureExt::timeout_with`: the runtime-free adapter. No timers, no
//! runtime; runs under Miri and without the `std` feature.

mod time_support;

use std::cell::RefCell;
use std::future::{pending, ready};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Poll, Waker};

use ripcord::time::Timeout;
use ripcord::{Elapsed, FutureExt, oneshot};
use time_support::{CountingWaker, Logged, MustNotPoll, block_on, poll_once};

#[test]
fn ready_result_wins_over_ready_deadline() {
    assert_eq!(block_on(ready(1).timeout_with(ready(()))), Ok(1));
}

#[test]
fn deadline_is_not_polled_when_inner_is_ready() {
    assert_eq!(block_on(ready("ok").timeout_with(MustNotPoll)), Ok("ok"));
}

#[test]
fn pending_inner_and_ready_deadline_elapse() {
    assert_eq!(
        block_on(pending::<u8>().timeout_with(ready(()))),
        Err(Elapsed::new())
    );
}

#[test]
fn deadline_output_is_ignored() {
    let res = block_on(pending::<u8>().timeout_with(ready(String::from("ignored"))));
    assert_eq!(res, Err(Elapsed::new()));
}

#[test]
fn inner_is_polled_before_deadline_on_every_poll() {
    let log = RefCell::new(Vec::new());
    let inner = Logged {
        name: "inner",
        log: &log,
        pending_polls: 2,
    };
    let deadline = Logged {
        name: "deadline",
        log: &log,
        pending_polls: 5,
    };
    assert_eq!(block_on(inner.timeout_with(deadline)), Ok("inner"));
    assert_eq!(
        *log.borrow(),
        ["inner", "deadline", "inner", "deadline", "inner"]
    );
}

#[test]
fn poll_after_ok_returns_elapsed_without_polling_inner_again() {
    // An `async` block panics if resumed after completion; the adapter must
    // never do that.
    let mut t = pin!(async { 5 }.timeout_with(pending::<()>()));
    let waker = Waker::noop();
    assert_eq!(poll_once(t.as_mut(), waker), Poll::Ready(Ok(5)));
    assert_eq!(
        poll_once(t.as_mut(), waker),
        Poll::Ready(Err(Elapsed::new()))
    );
    assert_eq!(
        poll_once(t.as_mut(), waker),
        Poll::Ready(Err(Elapsed::new()))
    );
}

#[test]
fn poll_after_elapsed_returns_elapsed_without_polling_either_future() {
    let mut t = pin!(pending::<u8>().timeout_with(async {}));
    let waker = Waker::noop();
    assert_eq!(
        poll_once(t.as_mut(), waker),
        Poll::Ready(Err(Elapsed::new()))
    );
    assert_eq!(
        poll_once(t.as_mut(), waker),
        Poll::Ready(Err(Elapsed::new()))
    );
}

#[test]
fn oneshot_receiver_is_a_deadline() {
    let (stop, deadline) = oneshot::channel::<()>();
    let (_tx, rx) = oneshot::channel::<u8>();
    let mut t = pin!(rx.timeout_with(deadline));
    let (wakes, waker) = CountingWaker::new();
    assert!(poll_once(t.as_mut(), &waker).is_pending());
    stop.send(()).unwrap();
    assert!(wakes.count() >= 1, "firing the deadline wakes the timeout");
    assert_eq!(
        poll_once(t.as_mut(), &waker),
        Poll::Ready(Err(Elapsed::new()))
    );
}

#[test]
fn dropped_deadline_sender_also_elapses() {
    // The deadline's output (here `Err(RecvError)`) is ignored.
    let (stop, deadline) = oneshot::channel::<()>();
    drop(stop);
    let (_tx, rx) = oneshot::channel::<u8>();
    assert_eq!(block_on(rx.timeout_with(deadline)), Err(Elapsed::new()));
}

#[test]
fn inner_completion_wakes_the_timeout() {
    let (_stop, deadline) = oneshot::channel::<()>();
    let (tx, rx) = oneshot::channel::<u8>();
    let mut t = pin!(rx.timeout_with(deadline));
    let (wakes, waker) = CountingWaker::new();
    assert!(poll_once(t.as_mut(), &waker).is_pending());
    tx.send(9).unwrap();
    assert!(wakes.count() >= 1);
    assert_eq!(poll_once(t.as_mut(), &waker), Poll::Ready(Ok(Ok(9))));
}

#[test]
fn value_sent_and_deadline_fired_together_is_not_lost() {
    let (stop, deadline) = oneshot::channel::<()>();
    let (tx, rx) = oneshot::channel::<u8>();
    stop.send(()).unwrap();
    tx.send(3).unwrap();
    assert_eq!(block_on(rx.timeout_with(deadline)), Ok(Ok(3)));
}

#[test]
fn deadline_fired_from_another_thread_wakes_a_blocked_executor() {
    let (stop, deadline) = oneshot::channel::<()>();
    let (_tx, rx) = oneshot::channel::<u8>();
    let firer = std::thread::spawn(move || stop.send(()).unwrap());
    assert_eq!(block_on(rx.timeout_with(deadline)), Err(Elapsed::new()));
    firer.join().unwrap();
}

#[test]
fn borrowed_receiver_stays_usable_after_timing_out() {
    let (tx, mut rx) = oneshot::channel::<&str>();
    assert_eq!(
        block_on((&mut rx).timeout_with(ready(()))),
        Err(Elapsed::new())
    );
    assert!(!rx.is_terminated());
    tx.send("still here").unwrap();
    // Time out again with a ready deadline: the value wins (inner first).
    assert_eq!(
        block_on((&mut rx).timeout_with(ready(()))),
        Ok(Ok("still here"))
    );
    assert!(rx.is_terminated());
}

#[test]
fn into_inner_gives_back_an_untouched_future() {
    let (tx, rx) = oneshot::channel::<u8>();
    let mut t = Box::pin(rx.timeout_with(ready(())));
    assert_eq!(
        poll_once(t.as_mut(), Waker::noop()),
        Poll::Ready(Err(Elapsed::new()))
    );
    let rx = Pin::into_inner(t).into_inner();
    tx.send(1).unwrap();
    assert_eq!(block_on(rx), Ok(1));
}

use std::pin::Pin;

struct DropCounter(Arc<AtomicUsize>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropping_a_timeout_drops_both_futures_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (a, b) = (DropCounter(drops.clone()), DropCounter(drops.clone()));
    let inner = async move {
        let _a = a;
        pending::<()>().await
    };
    let deadline = async move {
        let _b = b;
        pending::<()>().await
    };
    let mut t = Box::pin(inner.timeout_with(deadline));
    assert!(poll_once(t.as_mut(), Waker::noop()).is_pending());
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(t);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn timeout_new_matches_timeout_with() {
    assert_eq!(block_on(Timeout::new(ready(2), pending::<()>())), Ok(2));
}

#[test]
fn timeout_is_unpin_send_and_sync_when_its_parts_are() {
    fn check<T: Unpin + Send + Sync>(_: &T) {}
    let (_tx, rx) = oneshot::channel::<u8>();
    let (_stop, deadline) = oneshot::channel::<()>();
    check(&rx.timeout_with(deadline));
}

#[test]
fn timeout_with_works_on_unsized_boxed_futures() {
    let fut: Pin<Box<dyn std::future::Future<Output = u8> + Send>> = Box::pin(ready(4));
    assert_eq!(block_on(fut.timeout_with(pending::<()>())), Ok(4));
}
