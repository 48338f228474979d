//! Fault injection on the oneshot channel: wakers that panic when woken,
//! cloned or dropped, values whose `Drop` panics, and wakers that re-enter the
//! channel (drop the receiver or sender they were registered by, receive
//! inside the wake). Whatever user code does, the value is delivered or
//! dropped exactly once, the other side is still woken, nothing deadlocks and
//! the block is freed.
#![cfg(all(feature = "std", not(loom)))]

mod common;
mod faults_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use common::{CountingWaker, DropCounter};
use faults_support::*;
use ripcord::oneshot::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};

type Shared<T> = Arc<Mutex<Option<T>>>;

fn shared<T>(value: T) -> Shared<T> {
    Arc::new(Mutex::new(Some(value)))
}

fn poll_rx<T>(
    rx: &mut Receiver<T>,
    waker: &std::task::Waker,
) -> Poll<Result<T, oneshot::RecvError>> {
    rx.poll_recv(&mut Context::from_waker(waker))
}

fn poll_tx<T>(tx: &mut Sender<T>, waker: &std::task::Waker) -> Poll<()> {
    tx.poll_closed(&mut Context::from_waker(waker))
}

// ---------------------------------------------------------------------------
// 1. State is published before user code runs
// ---------------------------------------------------------------------------

fn value_visible_in_receiver_wake() {
    let (tx, rx) = oneshot::channel::<u32>();
    let rx = shared(rx);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let faults = Faults::new();
    let (r, s) = (rx.clone(), seen.clone());
    faults.on_wake(move || {
        let guard = r.lock().unwrap();
        s.lock()
            .unwrap()
            .push(guard.as_ref().map(Receiver::has_message));
    });
    let waker = faults.waker();
    assert!(poll_rx(rx.lock().unwrap().as_mut().unwrap(), &waker).is_pending());
    tx.send(7).unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [Some(true)],
        "woken once, with the value already there"
    );
    assert_eq!(rx.lock().unwrap().as_mut().unwrap().try_recv(), Ok(7));
    faults.clear_hook();
}

/// Inside the receiver's `wake()` during `send`, the value is already visible.
#[test]
fn receiver_waker_sees_the_value_when_woken_by_send() {
    isolated(|| {
        within(
            "receiver waker sees the value",
            value_visible_in_receiver_wake,
        );
    });
}

fn sender_waker_sees_the_channel_closed(close_only: bool) {
    let (tx, mut rx) = oneshot::channel::<u32>();
    let tx = shared(tx);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let faults = Faults::new();
    let (t, s) = (tx.clone(), seen.clone());
    faults.on_wake(move || {
        let guard = t.lock().unwrap();
        s.lock()
            .unwrap()
            .push(guard.as_ref().map(Sender::is_closed));
    });
    let waker = faults.waker();
    assert!(poll_tx(tx.lock().unwrap().as_mut().unwrap(), &waker).is_pending());
    if close_only {
        rx.close();
    } else {
        drop(rx);
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [Some(true)],
        "woken once, with the channel already closed"
    );
    faults.clear_hook();
}

/// Inside the sender's `closed()` waker, woken by the receiver's `close` or
/// drop, `is_closed()` is already true.
#[test]
fn sender_waker_sees_the_channel_closed_when_woken() {
    isolated(|| {
        within("sender waker sees close", || {
            sender_waker_sees_the_channel_closed(true)
        });
        within("sender waker sees drop", || {
            sender_waker_sees_the_channel_closed(false)
        });
    });
}

// ---------------------------------------------------------------------------
// 2. Panicking wakers and values
// ---------------------------------------------------------------------------

fn panicking_wake_during_send() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = oneshot::channel();
    let faults = Faults::new();
    let waker = faults.waker();
    assert!(poll_rx(&mut rx, &waker).is_pending());
    faults.panic_on_wake(1);
    let sent = catch(|| tx.send(DropCounter::new(&drops, 1)));
    assert_eq!(
        expect_injected(sent, "send with a receiver waker whose wake panics"),
        "waker wake",
        "the wake's panic reaches the sender, after the value is published"
    );
    assert_eq!(faults.wakes(), 1, "the receiver's waker was woken once");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "the value was not dropped by the panic"
    );
    let value = rx
        .try_recv()
        .expect("the value was delivered despite the panicking wake");
    assert_eq!(value.id, 1);
    drop(value);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Disconnected);
    drop(rx);
    assert_eq!(faults.live(), 1, "no clone of the waker leaked");
    drop(waker);
    assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped exactly once");
}

/// A receiver waker whose `wake()` panics during `send`: the value is still
/// delivered exactly once, the receiver still works, and the panic reaches
/// the sender.
#[test]
fn panicking_wake_during_send_still_delivers_the_value_once() {
    isolated(|| {
        within("panicking wake during send", panicking_wake_during_send);
    });
}

fn panicking_waker_clone_in_poll() {
    let (tx, mut rx) = oneshot::channel::<u32>();
    let faults = Faults::new();
    let waker = faults.waker();
    faults.panic_on_clone(1);
    expect_injected(
        catch(|| poll_rx(&mut rx, &waker)),
        "poll with a waker whose clone panics",
    );
    let (counting, good) = CountingWaker::new();
    assert!(
        poll_rx(&mut rx, &good).is_pending(),
        "the receiver is still usable"
    );
    tx.send(9).unwrap();
    assert_eq!(
        counting.wakes(),
        1,
        "the waker registered after the panic was woken"
    );
    assert_eq!(rx.try_recv(), Ok(9));
    drop(rx);
    assert_eq!(
        faults.live(),
        1,
        "nothing kept a clone of the panicking waker"
    );
}

/// A waker whose `clone()` panics while the receiver polls leaves the receiver
/// usable: a later poll registers, `send` wakes it, the value arrives.
#[test]
fn panicking_waker_clone_in_poll_leaves_the_receiver_usable() {
    isolated(|| {
        within("panicking waker clone", panicking_waker_clone_in_poll);
    });
}

fn panicking_waker_drop_during_send() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = oneshot::channel();
    let faults = Faults::new();
    let waker = faults.waker();
    assert!(poll_rx(&mut rx, &waker).is_pending());
    faults.panic_on_drop(1);
    let mut panics = catch_injected(|| tx.send(DropCounter::new(&drops, 2)).unwrap())
        .into_iter()
        .count();
    // However the library disposes of its clone (woken by value, or woken by
    // reference and dropped with the receiver), that drop is the armed one.
    assert_eq!(faults.wakes(), 1, "the receiver's waker was woken once");
    let value = rx.try_recv().expect("the value was delivered");
    assert_eq!(value.id, 2);
    panics += catch_injected(move || drop(rx)).into_iter().count();
    assert_eq!(
        panics, 1,
        "the injected drop panic reached exactly one caller"
    );
    faults.disarm();
    assert_eq!(
        faults.live(),
        1,
        "the library's clone was dropped (exactly once)"
    );
    drop(waker);
    drop(value);
    assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped exactly once");
}

/// A receiver waker whose drop panics when `send` consumes it: the value is
/// still delivered exactly once and no waker clone is leaked.
#[test]
fn panicking_waker_drop_during_send_still_delivers_the_value_once() {
    isolated(|| {
        within(
            "panicking waker drop in send",
            panicking_waker_drop_during_send,
        );
    });
}

fn panicking_waker_drop_on_replacement() {
    let (tx, mut rx) = oneshot::channel::<u32>();
    let faults = Faults::new();
    let old = faults.waker();
    assert!(poll_rx(&mut rx, &old).is_pending());
    faults.panic_on_drop(1);
    let (counting, good) = CountingWaker::new();
    // Replacing the old waker drops it: the panic reaches this poll, once
    // the new waker is registered.
    expect_injected(
        catch(|| poll_rx(&mut rx, &good)),
        "a poll that replaces a waker whose drop panics",
    );
    faults.disarm();
    assert_eq!(faults.live(), 1, "the replaced waker was dropped");
    tx.send(3).unwrap();
    assert_eq!(
        counting.wakes(),
        1,
        "the new waker was registered by the poll that panicked"
    );
    assert_eq!(faults.wakes(), 0, "the replaced waker was not woken");
    assert_eq!(rx.try_recv(), Ok(3));
}

fn panicking_clone_of_a_new_waker(receiver: bool) {
    let (mut tx, mut rx) = oneshot::channel::<u32>();
    let (old_side, old) = CountingWaker::new();
    let faults = Faults::new();
    let new = faults.waker();
    if receiver {
        assert!(poll_rx(&mut rx, &old).is_pending());
        faults.panic_on_clone(1);
        expect_injected(
            catch(|| poll_rx(&mut rx, &new)),
            "re-registering the receiver with a waker whose clone panics",
        );
        tx.send(1).unwrap();
        assert_eq!(rx.try_recv(), Ok(1));
    } else {
        assert!(poll_tx(&mut tx, &old).is_pending());
        faults.panic_on_clone(1);
        expect_injected(
            catch(|| poll_tx(&mut tx, &new)),
            "re-registering the sender with a waker whose clone panics",
        );
        drop(rx);
        assert!(tx.is_closed());
    }
    assert_eq!(
        old_side.wakes(),
        1,
        "the old waker, still registered, was woken"
    );
    assert_eq!(faults.wakes(), 0, "the new waker was never registered");
    drop(new);
    assert_eq!(faults.live(), 0, "no clone of the panicking waker was kept");
}

/// Fails if re-registering drops the old waker before cloning the new one (nobody is woken).
#[test]
fn a_panicking_clone_of_a_new_waker_keeps_the_old_one_registered() {
    isolated(|| {
        within("receiver: panicking clone of a new waker", || {
            panicking_clone_of_a_new_waker(true)
        });
        within("sender: panicking clone of a new waker", || {
            panicking_clone_of_a_new_waker(false)
        });
    });
}

/// An old receiver waker whose drop panics when a new poll replaces it: the
/// panic reaches that poll, the new waker is registered all the same (it is
/// the one `send` wakes) and the receiver stays usable.
#[test]
fn panicking_waker_drop_on_replacement_leaves_the_receiver_usable() {
    isolated(|| {
        within(
            "panicking drop of a replaced waker",
            panicking_waker_drop_on_replacement,
        );
    });
}

fn panicking_closed_waker_on_receiver_drop(wake_panics: bool) {
    let (mut tx, rx) = oneshot::channel::<u32>();
    let faults = Faults::new();
    let waker = faults.waker();
    assert!(poll_tx(&mut tx, &waker).is_pending());
    if wake_panics {
        faults.panic_on_wake(1);
    } else {
        faults.panic_on_drop(1);
    }
    expect_injected(
        catch(move || drop(rx)),
        "dropping the receiver with a panicking closed() waker",
    );
    faults.disarm();
    assert_eq!(faults.wakes(), 1, "the sender's waker was woken once");
    assert_eq!(faults.live(), 1, "the library's clone is gone");
    assert!(tx.is_closed(), "the receiver's drop completed");
    let (_, good) = CountingWaker::new();
    assert_eq!(poll_tx(&mut tx, &good), Poll::Ready(()));
    assert_eq!(
        tx.send(4).unwrap_err().into_inner(),
        4,
        "the value comes back"
    );
}

/// The sender's `closed()` waker panicking (in wake or drop) when the receiver
/// drops: the drop completes, the sender sees the channel closed, and the
/// panic reaches the receiver's dropper.
#[test]
fn panicking_closed_waker_on_receiver_drop_still_closes_the_channel() {
    isolated(|| {
        within("closed waker panics in wake", || {
            panicking_closed_waker_on_receiver_drop(true)
        });
        within("closed waker panics in drop", || {
            panicking_closed_waker_on_receiver_drop(false)
        });
    });
}

fn receivers_own_waker_drop_panics_in_receiver_drop() {
    let (mut tx, mut rx) = oneshot::channel::<u32>();
    let faults = Faults::new();
    let own = faults.waker();
    assert!(poll_rx(&mut rx, &own).is_pending());
    let (sender_side, sender_waker) = CountingWaker::new();
    assert!(poll_tx(&mut tx, &sender_waker).is_pending());
    faults.panic_on_drop(1);
    expect_injected(
        catch(move || drop(rx)),
        "dropping a receiver whose registered waker panics in drop",
    );
    faults.disarm();
    assert_eq!(
        faults.live(),
        1,
        "the receiver's registered waker was dropped"
    );
    assert_eq!(
        sender_side.wakes(),
        1,
        "the sender waiting in closed() was woken"
    );
    assert!(tx.is_closed());
}

/// The receiver's own registered waker panicking in `Drop` while the receiver
/// drops: the sender waiting in `closed()` is still woken, then the panic
/// reaches the receiver's dropper.
#[test]
fn panicking_receiver_waker_drop_still_wakes_the_sender() {
    isolated(|| {
        within(
            "receiver's own waker drop panics",
            receivers_own_waker_drop_panics_in_receiver_drop,
        );
    });
}

/// As above, with the sender blocked in `wait_closed_timeout(30 s)` on a
/// thread: it returns `true` promptly.
#[test]
fn panicking_receiver_waker_drop_still_wakes_a_sender_blocked_in_wait_closed() {
    isolated(|| {
        within("blocked sender", || {
            let (mut tx, mut rx) = oneshot::channel::<u32>();
            let faults = Faults::new();
            let own = faults.waker();
            assert!(poll_rx(&mut rx, &own).is_pending());
            let blocked = Blocked::start("sender in wait_closed_timeout", move || {
                tx.wait_closed_timeout(LONG_WAIT).is_ok()
            });
            faults.panic_on_drop(1);
            expect_injected(
                catch(move || drop(rx)),
                "dropping a receiver whose registered waker panics in drop",
            );
            faults.disarm();
            assert!(blocked.finish(), "the blocked sender saw the receiver go");
        });
    });
}

fn senders_own_waker_drop_panics(send: bool) {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut tx, mut rx) = oneshot::channel();
    let faults = Faults::new();
    let own = faults.waker();
    assert!(poll_tx(&mut tx, &own).is_pending());
    let (receiver_side, receiver_waker) = CountingWaker::new();
    assert!(poll_rx(&mut rx, &receiver_waker).is_pending());
    faults.panic_on_drop(1);
    if send {
        let value = DropCounter::new(&drops, 5);
        expect_injected(
            catch(move || tx.send(value).unwrap()),
            "a send that drops the sender's panicking closed() waker",
        );
    } else {
        expect_injected(
            catch(move || drop(tx)),
            "dropping a sender whose closed() waker panics in drop",
        );
    }
    faults.disarm();
    assert_eq!(
        faults.live(),
        1,
        "the sender's registered waker was dropped"
    );
    assert_eq!(receiver_side.wakes(), 1, "the waiting receiver was woken");
    if send {
        assert_eq!(rx.try_recv().expect("the value was delivered").id, 5);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    } else {
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Disconnected);
    }
}

/// The sender's own `closed()` waker panicking in `Drop` during `send` or the
/// sender's drop: the waiting receiver is still woken and gets its answer,
/// then the panic reaches the sender's caller.
#[test]
fn panicking_sender_waker_drop_still_wakes_the_receiver() {
    isolated(|| {
        within("sender's own waker drop panics in send", || {
            senders_own_waker_drop_panics(true)
        });
        within("sender's own waker drop panics in drop", || {
            senders_own_waker_drop_panics(false)
        });
    });
}

/// As above, with the receiver blocked in `recv_timeout(30 s)` on a thread: it
/// gets the value promptly.
#[test]
fn panicking_sender_waker_drop_still_wakes_a_receiver_blocked_in_recv_timeout() {
    isolated(|| {
        within("blocked receiver", || {
            let (mut tx, mut rx) = oneshot::channel::<u32>();
            let faults = Faults::new();
            let own = faults.waker();
            assert!(poll_tx(&mut tx, &own).is_pending());
            let blocked = Blocked::start("receiver in recv_timeout", move || {
                rx.recv_timeout(LONG_WAIT)
            });
            faults.panic_on_drop(1);
            expect_injected(
                catch(move || tx.send(11).unwrap()),
                "a send that drops the sender's panicking closed() waker",
            );
            faults.disarm();
            assert_eq!(blocked.finish(), Ok(11));
        });
    });
}

fn panicking_closed_waker_on_close(wake_panics: bool) {
    let (mut tx, mut rx) = oneshot::channel::<u32>();
    let faults = Faults::new();
    assert!(poll_tx(&mut tx, &faults.waker()).is_pending());
    if wake_panics {
        faults.panic_on_wake(1);
    } else {
        faults.panic_on_drop(1);
    }
    expect_injected(
        catch(|| rx.close()),
        "close with a panicking closed() waker",
    );
    assert_eq!(faults.wakes(), 1, "the sender's waker was woken once");
    assert_eq!(faults.live(), 0, "the library's clone is gone");
    assert!(tx.is_closed() && rx.is_closed(), "the close completed");
    rx.close();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(
        tx.send(4).unwrap_err().into_inner(),
        4,
        "the value comes back"
    );
}

/// Fails if `close` loses the panic, wakes before `RX_CLOSED` is set, or lets a later send succeed.
#[test]
fn a_panicking_closed_waker_in_close_still_closes_the_channel() {
    isolated(|| {
        within("closed waker panics in wake on close", || {
            panicking_closed_waker_on_close(true)
        });
        within("closed waker panics in drop on close", || {
            panicking_closed_waker_on_close(false)
        });
    });
}

fn panicking_own_waker_drop_on_completion() {
    let (mut tx, mut rx) = oneshot::channel::<u32>();
    let faults = Faults::new();
    assert!(poll_rx(&mut rx, &faults.waker()).is_pending());
    // `close` takes only the sender's waiter: the receiver's own stays
    // registered until the receive that answers withdraws it.
    rx.close();
    faults.panic_on_drop(1);
    expect_injected(
        catch(|| rx.try_recv()),
        "a receive that withdraws a waker whose drop panics",
    );
    assert_eq!(faults.live(), 0, "the registered waker was dropped");
    assert_eq!(faults.wakes(), 0);
    assert!(rx.is_terminated(), "the receive completed");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    let (_, good) = CountingWaker::new();
    assert_eq!(poll_tx(&mut tx, &good), Poll::Ready(()));
    assert!(tx.is_closed());
    drop(tx);
}

/// Fails if a finished receive leaves its waker in the block (`live()` 1) or loses the panic.
#[test]
fn a_panicking_waker_drop_when_a_finished_receive_withdraws_it_reaches_the_caller() {
    isolated(|| {
        within(
            "own waker drop panics on completion",
            panicking_own_waker_drop_on_completion,
        );
    });
}

/// A sender dropped while its thread unwinds wakes a receiver whose waker
/// panics: that second panic is dropped, the receiver sees the
/// disconnection.
fn waker_panicking_while_unwinding() {
    let (tx, mut rx) = oneshot::channel::<u32>();
    let loud = Arc::new(WakePanicsWhileUnwinding(AtomicUsize::new(0)));
    let waker = Waker::from(loud.clone());
    assert!(poll_rx(&mut rx, &waker).is_pending());
    assert_eq!(drop_while_unwinding(tx), "the unwinding panic");
    assert_eq!(loud.0.load(Ordering::SeqCst), 1, "the receiver was woken");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

/// Fails (the child aborts) if the wake's panic escapes the sender's `Drop` while unwinding.
#[test]
fn a_waker_panicking_while_the_thread_unwinds_is_dropped_not_an_abort() {
    isolated(|| {
        within(
            "waker panics during unwinding",
            waker_panicking_while_unwinding,
        )
    });
}

/// A receiver holding a value whose `Drop` panics, dropped while its thread
/// unwinds: that second panic is dropped and the value dropped once.
fn value_drop_panicking_while_unwinding() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = oneshot::channel();
    tx.send(DropPanicsWhileUnwinding(drops.clone())).unwrap();
    assert_eq!(drop_while_unwinding(rx), "the unwinding panic");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the value was dropped once"
    );
}

/// Fails (the child aborts) if the value's panic escapes the receiver's `Drop` while unwinding.
#[test]
fn a_value_drop_panicking_while_the_thread_unwinds_is_dropped_not_an_abort() {
    isolated(|| {
        within(
            "value drop panics during unwinding",
            value_drop_panicking_while_unwinding,
        )
    });
}

fn panicking_value_drop_when_both_handles_drop() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = oneshot::channel();
    tx.send(Bomb::armed(&drops, "value drop")).unwrap();
    assert_eq!(
        expect_injected(
            catch(move || drop(rx)),
            "dropping a receiver holding the value"
        ),
        "value drop"
    );
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the value was dropped exactly once"
    );

    // The same with the receiver closed first, and with a waker registered by
    // the sender that was taken back by the send.
    let (mut tx, mut rx) = oneshot::channel();
    let (_, waker) = CountingWaker::new();
    assert!(poll_tx(&mut tx, &waker).is_pending());
    tx.send(Bomb::armed(&drops, "value drop")).unwrap();
    rx.close();
    assert!(rx.has_message(), "a value sent before close is kept");
    expect_injected(
        catch(move || drop(rx)),
        "dropping a closed receiver holding the value",
    );
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

/// A value whose `Drop` panics, left in the channel when both handles are
/// gone: the panic reaches the receiver's dropper, the value is dropped once
/// and the block is freed.
#[test]
fn panicking_value_drop_when_both_handles_drop_propagates_and_frees_the_block() {
    isolated(|| {
        within("panicking value drop", || {
            panicking_value_drop_when_both_handles_drop();
            assert_no_leak(
                "a panicking value dropped with the channel",
                50,
                panicking_value_drop_when_both_handles_drop,
            );
        });
    });
}

// ---------------------------------------------------------------------------
// 3. Re-entrant wakers
// ---------------------------------------------------------------------------

fn waker_drops_its_receiver_during_send() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = oneshot::channel();
    let fut = slot(rx);
    let faults = Faults::new();
    let f = fut.clone();
    faults.on_wake(move || drop_slot(&f));
    let waker = faults.waker();
    assert!(poll_slot(&fut, &waker).unwrap().is_pending());
    tx.send(DropCounter::new(&drops, 6)).unwrap();
    assert_eq!(faults.wakes(), 1);
    assert!(
        fut.lock().unwrap().is_none(),
        "the wake dropped the receiver"
    );
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the undelivered value was dropped exactly once"
    );
    assert_eq!(faults.live(), 1, "no waker clone is left behind");
}

/// A receiver waker that drops the very receiver (future) it was registered
/// by, from inside `wake()` during `send`: no deadlock, the value is dropped
/// once.
#[test]
fn waker_dropping_its_own_receiver_during_send_does_not_deadlock() {
    isolated(|| {
        within(
            "waker drops its receiver",
            waker_drops_its_receiver_during_send,
        );
    });
}

fn waker_receives_inside_wake() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = oneshot::channel::<DropCounter>();
    let rx = shared(rx);
    let got = Arc::new(Mutex::new(Vec::new()));
    let faults = Faults::new();
    let (r, g) = (rx.clone(), got.clone());
    faults.on_wake(move || {
        let received = r.lock().unwrap().as_mut().unwrap().try_recv();
        g.lock().unwrap().push(received.map(|v| v.id));
    });
    let waker = faults.waker();
    assert!(poll_rx(rx.lock().unwrap().as_mut().unwrap(), &waker).is_pending());
    tx.send(DropCounter::new(&drops, 8)).unwrap();
    assert_eq!(*got.lock().unwrap(), [Ok(8)], "received inside the wake");
    assert_eq!(drops.load(Ordering::SeqCst), 1, "received and dropped once");
    assert_eq!(
        rx.lock().unwrap().as_mut().unwrap().try_recv().unwrap_err(),
        TryRecvError::Disconnected
    );
    faults.clear_hook();
}

/// A receiver waker that receives the value from inside `wake()` (during
/// `send`) gets it exactly once, without deadlock.
#[test]
fn waker_receiving_inside_wake_gets_the_value_once() {
    isolated(|| {
        within("receive inside wake", waker_receives_inside_wake);
    });
}

fn waker_drops_its_sender(close_only: bool) {
    let (tx, mut rx) = oneshot::channel::<u32>();
    let tx = shared(tx);
    let faults = Faults::new();
    let t = tx.clone();
    faults.on_wake(move || {
        let sender = t.lock().unwrap().take();
        drop(sender);
    });
    let waker = faults.waker();
    assert!(poll_tx(tx.lock().unwrap().as_mut().unwrap(), &waker).is_pending());
    if close_only {
        rx.close();
        assert!(tx.lock().unwrap().is_none(), "the wake dropped the sender");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
        assert_eq!(
            rx.recv_timeout(LONG_WAIT),
            Err(RecvTimeoutError::Disconnected)
        );
    } else {
        drop(rx);
        assert!(tx.lock().unwrap().is_none(), "the wake dropped the sender");
    }
    assert_eq!(faults.wakes(), 1);
    assert_eq!(faults.live(), 1, "no waker clone is left behind");
}

/// A sender's `closed()` waker that drops that very sender from inside
/// `wake()` (woken by the receiver's `close` or drop): no deadlock, the
/// receiver sees the disconnection.
#[test]
fn waker_dropping_its_own_sender_does_not_deadlock() {
    isolated(|| {
        within("waker drops its sender on close", || {
            waker_drops_its_sender(true)
        });
        within("waker drops its sender on receiver drop", || {
            waker_drops_its_sender(false)
        });
    });
}

// ---------------------------------------------------------------------------
// 5. Memory
// ---------------------------------------------------------------------------

/// Every fault scenario above, repeated, leaves no allocation behind (blocks,
/// values, waker clones).
#[test]
#[cfg_attr(
    miri,
    ignore = "allocation counting across many rounds: too slow under Miri; the scenarios run in their own tests"
)]
fn fault_scenarios_return_every_allocation() {
    let scenarios: [(&str, fn()); 16] = [
        ("waker sees the value", value_visible_in_receiver_wake),
        ("panicking wake in send", panicking_wake_during_send),
        ("panicking clone in poll", panicking_waker_clone_in_poll),
        ("panicking drop in send", panicking_waker_drop_during_send),
        (
            "panicking drop on replacement",
            panicking_waker_drop_on_replacement,
        ),
        ("closed waker panics in wake", || {
            panicking_closed_waker_on_receiver_drop(true)
        }),
        ("closed waker panics in drop", || {
            panicking_closed_waker_on_receiver_drop(false)
        }),
        (
            "receiver's own waker drop panics",
            receivers_own_waker_drop_panics_in_receiver_drop,
        ),
        ("sender's own waker drop panics in send", || {
            senders_own_waker_drop_panics(true)
        }),
        ("sender's own waker drop panics in drop", || {
            senders_own_waker_drop_panics(false)
        }),
        (
            "waker drops its receiver",
            waker_drops_its_receiver_during_send,
        ),
        ("receive inside wake", waker_receives_inside_wake),
        ("waker drops its sender", || {
            waker_drops_its_sender(true);
            waker_drops_its_sender(false);
        }),
        ("panicking clone of a new waker", || {
            panicking_clone_of_a_new_waker(true);
            panicking_clone_of_a_new_waker(false);
        }),
        ("closed waker panics on close", || {
            panicking_closed_waker_on_close(true);
            panicking_closed_waker_on_close(false);
        }),
        (
            "own waker drop panics on completion",
            panicking_own_waker_drop_on_completion,
        ),
    ];
    assert_no_leaks(30, &scenarios);
}
