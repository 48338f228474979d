//! Fault injection on `Select`: panicking and re-entrant wakers registered
//! with several events at once. The firing event's other waiters are still
//! woken, nothing stays registered, and the panic reaches the notifier.
#![cfg(all(feature = "std", not(loom)))]

mod common;
mod faults_support;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::Context;

use common::CountingWaker;
use faults_support::*;
use ripcord::CancellationToken;
use ripcord::oneshot;
use ripcord::select::Select;

/// A select's waker panics when woken by a cancel: the token's other waiter
/// is still woken, the panic reaches `cancel`, and the select's other
/// registration (the receiver) is withdrawn once it is polled to the end.
fn panicking_select_waker() {
    let token = CancellationToken::new();
    let (tx, mut rx) = oneshot::channel::<u8>();
    let faults = Faults::new();
    faults.panic_on_wake(1);
    let bad = faults.waker();
    let (good, good_waker) = CountingWaker::new();
    let mut other = Box::pin(token.cancelled());
    assert!(
        other
            .as_mut()
            .poll(&mut Context::from_waker(&good_waker))
            .is_pending()
    );
    {
        let mut sel = Select::new();
        sel.cancelled(&token);
        sel.recv(&mut rx);
        let mut ready = Box::pin(sel.ready());
        assert!(
            ready
                .as_mut()
                .poll(&mut Context::from_waker(&bad))
                .is_pending()
        );
        let t = token.clone();
        expect_injected(
            catch(move || t.cancel()),
            "cancel with a panicking select waker",
        );
        assert_eq!(good.wakes(), 1, "the other waiter was woken");
        assert!(
            ready
                .as_mut()
                .poll(&mut Context::from_waker(&bad))
                .is_ready()
        );
    }
    faults.disarm();
    drop(bad);
    tx.send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(faults.live(), 0, "no waker clone left registered anywhere");
}

#[test]
fn a_panicking_select_waker_stops_nothing_else() {
    isolated(|| within("panicking select waker", panicking_select_waker));
}

type BoxedReady = std::pin::Pin<Box<dyn Future<Output = usize> + Send>>;

/// A waker that re-enters: when woken by one event it drops its own
/// `Ready` future (withdrawing from the others) and waits, blocking, on a
/// new select over the same events. Nothing deadlocks.
fn reentrant_select_waker() {
    let token = CancellationToken::new();
    let other = CancellationToken::new();
    let slot: Arc<Mutex<Option<BoxedReady>>> = Arc::new(Mutex::new(None));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let faults = Faults::new();
    let (s, t, o, log) = (slot.clone(), token.clone(), other.clone(), seen.clone());
    faults.on_wake(move || {
        drop(s.lock().unwrap().take());
        let mut sel = Select::new();
        sel.cancelled(&o);
        sel.cancelled(&t);
        log.lock().unwrap().push(sel.wait());
    });
    let waker = faults.waker();
    let (t2, o2) = (token.clone(), other.clone());
    let fut: BoxedReady = Box::pin(async move {
        let mut sel = Select::new();
        sel.cancelled(&o2);
        sel.cancelled(&t2);
        sel.ready().await
    });
    *slot.lock().unwrap() = Some(fut);
    {
        let mut guard = slot.lock().unwrap();
        let fut = guard.as_mut().unwrap();
        assert!(
            fut.as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
    }
    token.cancel();
    assert_eq!(*seen.lock().unwrap(), [1]);
    faults.clear_hook();
    drop(waker);
    assert_eq!(
        faults.live(),
        0,
        "the dropped future left nothing registered"
    );
}

#[test]
fn a_reentrant_select_waker_never_deadlocks() {
    isolated(|| within("re-entrant select waker", reentrant_select_waker));
}
