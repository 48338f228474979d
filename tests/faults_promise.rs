//! Fault injection on the promise: wakers that panic when woken, cloned or
//! dropped, wakers that re-enter the promise, and values whose `Drop`
//! panics. Whatever user code does, the promise stays consistent (resolved
//! or abandoned, for every reader), every other waiter is still woken, the
//! panic reaches the caller afterwards, and memory comes back.
#![cfg(all(feature = "std", not(loom)))]

mod common;
mod faults_support;

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use common::CountingWaker;
use faults_support::*;

use ripcord::promise::{self, Abandoned, Promise, Resolved, WaitError};

fn poll_resolved<'a, T>(
    fut: std::pin::Pin<&mut ripcord::promise::Resolved<'a, T>>,
    waker: &Waker,
) -> Poll<Result<&'a T, Abandoned>> {
    std::future::Future::poll(fut, &mut Context::from_waker(waker))
}

/// Two futures waiting on one promise: the first registered with a waker
/// whose next wake panics, the second with a counting waker.
struct Waiting<'p> {
    faults: Arc<Faults>,
    bad: Waker,
    good: Arc<CountingWaker>,
    good_waker: Waker,
    first: Pin<Box<Resolved<'p, u32>>>,
    second: Pin<Box<Resolved<'p, u32>>>,
}

impl<'p> Waiting<'p> {
    fn on(promise: &'p Promise<u32>) -> Self {
        let faults = Faults::new();
        faults.panic_on_wake(1);
        let bad = faults.waker();
        let (good, good_waker) = CountingWaker::new();
        let mut first = Box::pin(promise.resolved());
        let mut second = Box::pin(promise.resolved());
        assert!(poll_resolved(first.as_mut(), &bad).is_pending());
        assert!(poll_resolved(second.as_mut(), &good_waker).is_pending());
        Waiting {
            faults,
            bad,
            good,
            good_waker,
            first,
            second,
        }
    }
}

/// A panicking waker among several: `resolve` wakes all of them (tasks and a
/// blocked thread), then re-raises the panic; the value is resolved for all.
fn panicking_waker_in_resolve() {
    let (resolver, promise) = promise::channel::<u32>();
    let mut w = Waiting::on(&promise);
    let p = promise.clone();
    let blocked = Blocked::start("thread in wait_timeout", move || {
        p.wait_timeout(LONG_WAIT).copied()
    });
    expect_injected(
        catch(|| resolver.resolve(5)),
        "resolve with a panicking waker",
    );
    assert_eq!(w.good.wakes(), 1, "the other task was woken");
    assert_eq!(blocked.finish(), Ok(5), "the blocked thread was woken");
    assert_eq!(promise.get(), Some(&5));
    assert_eq!(
        resolver.resolve(6),
        Err(6),
        "still resolved: nothing half-done"
    );
    assert_eq!(poll_resolved(w.first.as_mut(), &w.bad), Poll::Ready(Ok(&5)));
    w.faults.disarm();
}

#[test]
fn a_panicking_waker_in_resolve_wakes_every_other_waiter_then_panics() {
    isolated(|| within("panicking waker in resolve", panicking_waker_in_resolve));
}

/// The same when the last resolver's drop abandons the promise.
fn panicking_waker_in_abandonment() {
    let (resolver, promise) = promise::channel::<u32>();
    let mut w = Waiting::on(&promise);
    expect_injected(
        catch(move || drop(resolver)),
        "abandoning with a panicking waker",
    );
    assert_eq!(w.good.wakes(), 1);
    assert_eq!(promise.wait(), Err(Abandoned::new()));
    assert_eq!(
        poll_resolved(w.second.as_mut(), &w.good_waker),
        Poll::Ready(Err(Abandoned::new()))
    );
    w.faults.disarm();
}

#[test]
fn a_panicking_waker_in_the_abandonment_still_abandons_for_everyone() {
    isolated(|| {
        within(
            "panicking waker in abandonment",
            panicking_waker_in_abandonment,
        )
    });
}

/// A waker that panics when cloned: the poll that registers it panics, nothing
/// stays registered, and the promise still resolves normally.
fn panicking_waker_clone() {
    let (resolver, promise) = promise::channel::<u32>();
    let faults = Faults::new();
    faults.panic_on_clone(1);
    let waker = faults.waker();
    {
        let mut fut = Box::pin(promise.resolved());
        expect_injected(
            catch(|| poll_resolved(fut.as_mut(), &waker).is_ready()),
            "registering a waker that panics when cloned",
        );
    }
    resolver.resolve(1).unwrap();
    assert_eq!(faults.wakes(), 0, "nothing stayed registered");
    assert_eq!(promise.wait(), Ok(&1));
    faults.disarm();
}

#[test]
fn a_waker_that_panics_when_cloned_leaves_nothing_registered() {
    isolated(|| within("panicking waker clone", panicking_waker_clone));
}

/// Wakers that re-enter: one drops the future it was registered by, one
/// resolves again, one drops the last resolver clone, one waits (blocking) on
/// the already resolved promise. Nothing deadlocks.
fn reentrant_wakers() {
    let (resolver, promise) = promise::channel::<u32>();
    let resolver = Arc::new(Mutex::new(Some(resolver)));
    let extra = resolver.lock().unwrap().as_ref().unwrap().clone();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let faults = Faults::new();
    let (r, p, s) = (extra.clone(), promise.clone(), seen.clone());
    faults.on_wake(move || {
        s.lock()
            .unwrap()
            .push((r.resolve(9).is_err(), p.wait_timeout(LONG_WAIT).copied()));
    });
    let waker = faults.waker();
    let mut futures: Vec<_> = (0..3).map(|_| Box::pin(promise.resolved())).collect();
    for fut in &mut futures {
        assert!(poll_resolved(fut.as_mut(), &waker).is_pending());
    }
    drop(extra);
    resolver
        .lock()
        .unwrap()
        .as_ref()
        .unwrap()
        .resolve(4)
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), [(true, Ok(4)); 3]);
    faults.clear_hook();
    drop(resolver.lock().unwrap().take());
    assert_eq!(promise.get(), Some(&4));
}

#[test]
fn reentrant_wakers_never_deadlock() {
    isolated(|| within("re-entrant wakers", reentrant_wakers));
}

/// A value whose `Drop` panics: the last handle's drop frees the block, then
/// the panic reaches the dropper; nothing leaks.
fn panicking_value_drop() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (resolver, promise) = promise::channel::<Bomb>();
    resolver.resolve(Bomb::armed(&drops, "value")).unwrap();
    drop(resolver);
    expect_injected(catch(move || drop(promise)), "dropping a panicking value");
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panicking_value_drop_reaches_the_last_dropper() {
    isolated(|| within("panicking value drop", panicking_value_drop));
}

/// The loser of two resolves gets its (panicking) value back, not dropped
/// inside the promise.
fn losing_resolve_returns_its_value() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (resolver, promise) = promise::channel::<Bomb>();
    resolver.resolve(Bomb::dud(&drops)).unwrap();
    let back = resolver.resolve(Bomb::armed(&drops, "loser")).unwrap_err();
    assert_eq!(drops.load(Ordering::SeqCst), 0, "handed back, not dropped");
    expect_injected(catch(move || drop(back)), "the caller drops it");
    assert!(promise.is_resolved());
    drop((resolver, promise));
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn a_losing_resolve_hands_its_value_back() {
    isolated(|| within("losing resolve", losing_resolve_returns_its_value));
}

/// A waker whose `Drop` panics, left registered by a future that is then
/// woken: the resolve still completes for every waiter.
fn panicking_waker_drop() {
    let (resolver, promise) = promise::channel::<u32>();
    let faults = Faults::new();
    let waker = faults.waker();
    let mut fut = Box::pin(promise.resolved());
    assert!(poll_resolved(fut.as_mut(), &waker).is_pending());
    drop(waker);
    // Only the registered clone is left: its drop panics.
    faults.panic_on_drop(1);
    // Waking consumes the stored clone; its drop panics.
    let _ = catch(|| resolver.resolve(3));
    assert_eq!(promise.wait_timeout(LONG_WAIT), Ok(&3));
    assert_eq!(
        poll_resolved(fut.as_mut(), Waker::noop()),
        Poll::Ready(Ok(&3))
    );
    faults.disarm();
}

#[test]
fn a_waker_that_panics_when_dropped_does_not_break_resolve() {
    isolated(|| within("panicking waker drop", panicking_waker_drop));
}

/// Memory comes back after every fault class above.
#[test]
#[cfg_attr(
    miri,
    ignore = "allocation counting across many rounds: too slow under Miri; the scenarios run in their own tests"
)]
fn faulty_user_code_leaks_nothing() {
    isolated(|| {
        assert_no_leaks(
            50,
            &[
                ("panicking waker in resolve", || {
                    drop(catch(panicking_waker_in_resolve_quick))
                }),
                ("panicking waker in abandonment", || {
                    drop(catch(panicking_waker_in_abandonment))
                }),
                ("re-entrant wakers", || drop(catch(reentrant_wakers))),
                ("losing resolve", || {
                    drop(catch(losing_resolve_returns_its_value))
                }),
                ("panicking value drop", || drop(catch(panicking_value_drop))),
            ],
        );
    });
}

/// `panicking_waker_in_resolve` without its blocked thread (a thread's stack
/// and handle are allocations that come back only when it is joined late).
fn panicking_waker_in_resolve_quick() {
    let (resolver, promise): (_, Promise<u32>) = promise::channel();
    let faults = Faults::new();
    faults.panic_on_wake(1);
    let bad = faults.waker();
    let mut fut = Box::pin(promise.resolved());
    assert!(poll_resolved(fut.as_mut(), &bad).is_pending());
    expect_injected(
        catch(|| resolver.resolve(5)),
        "resolve with a panicking waker",
    );
    assert_eq!(promise.wait_timeout(LONG_WAIT), Ok(&5));
    assert!(!matches!(
        promise.wait_timeout(LONG_WAIT),
        Err(WaitError::Timeout)
    ));
    faults.disarm();
}
