//! Fault injection on the promise: wakers that panic when woken, cloned or
//! dropped, wakers that re-enter the promise, and values whose `Drop`
//! panics. Whatever user code does, the promise stays consistent (resolved
//! or abandoned, for every reader), every other waiter is still woken, the
//! panic reaches the caller afterwards, and memory comes back.
#![cfg(all(feature = "std", not(loom)))]

mod common;
mod faults_support;

use std::future::IntoFuture;
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

/// Inside the wake that `resolve` (or the last resolver's drop) causes, the
/// promise already answers: resolved with the value, or abandoned.
fn wakers_see_the_answer() {
    for resolve in [true, false] {
        let (resolver, promise) = promise::channel::<u32>();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let faults = Faults::new();
        let (p, s) = (promise.clone(), seen.clone());
        faults.on_wake(move || {
            s.lock().unwrap().push((p.get().copied(), p.is_abandoned()));
        });
        let mut fut = Box::pin(promise.resolved());
        assert!(poll_resolved(fut.as_mut(), &faults.waker()).is_pending());
        if resolve {
            resolver.resolve(7).unwrap();
        }
        drop(resolver);
        let expected = if resolve {
            (Some(7), false)
        } else {
            (None, true)
        };
        assert_eq!(*seen.lock().unwrap(), [expected], "woken once, answered");
        faults.clear_hook();
        drop(fut);
        assert_eq!(faults.live(), 0);
    }
}

/// Fails if a waiter is woken before `RESOLVED`/`ABANDONED` is published (`get()` is `None`).
#[test]
fn a_waker_woken_by_resolve_or_abandonment_already_sees_the_answer() {
    isolated(|| within("wakers see the answer", wakers_see_the_answer));
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
    drop(waker);
    assert_eq!(faults.live(), 0, "no clone of the panicking waker was kept");
}

#[test]
fn a_waker_that_panics_when_cloned_leaves_nothing_registered() {
    isolated(|| within("panicking waker clone", panicking_waker_clone));
}

/// Two resolvers waiting in `closed()` (one with a waker whose wake panics)
/// and, with `threads`, one blocked in `wait_closed_timeout(30 s)`: the last
/// promise's drop wakes all of them, then the panic reaches its dropper.
fn panicking_waker_in_closed(threads: bool) {
    let (resolver, promise) = promise::channel::<u32>();
    let other = resolver.clone();
    let faults = Faults::new();
    let bad = faults.waker();
    let (good, good_waker) = CountingWaker::new();
    let mut first = Box::pin(resolver.closed());
    let mut second = Box::pin(other.closed());
    assert!(poll_with(first.as_mut(), &bad).is_pending());
    assert!(poll_with(second.as_mut(), &good_waker).is_pending());
    let blocked = threads.then(|| {
        let r = resolver.clone();
        Blocked::start("resolver in wait_closed_timeout", move || {
            r.wait_closed_timeout(LONG_WAIT).is_ok()
        })
    });
    faults.panic_on_wake(1);
    expect_injected(
        catch(move || drop(promise)),
        "the last promise's drop with a panicking closed() waker",
    );
    assert_eq!(good.wakes(), 1, "the other resolver was woken");
    if let Some(blocked) = blocked {
        assert!(blocked.finish(), "the blocked resolver was woken");
    }
    assert!(resolver.is_closed() && other.is_closed());
    assert_eq!(poll_with(first.as_mut(), &bad), Poll::Ready(()));
    assert_eq!(poll_with(second.as_mut(), &good_waker), Poll::Ready(()));
    faults.disarm();
    drop((first, second, bad));
    assert_eq!(faults.live(), 0);
}

/// Fails if the last promise's drop stops at the bad waker, skips `CLOSED`, or loses the panic.
#[test]
fn a_panicking_waker_in_closed_still_wakes_every_other_resolver_then_panics() {
    isolated(|| {
        within("panicking waker in closed", || {
            panicking_waker_in_closed(true)
        })
    });
}

/// A future registered with a counting waker is polled again with a waker
/// whose clone panics: the old registration stays, and is woken.
fn panicking_clone_of_a_new_waker() {
    let (resolver, promise) = promise::channel::<u32>();
    let (old, old_waker) = CountingWaker::new();
    let mut fut = Box::pin(promise.resolved());
    assert!(poll_resolved(fut.as_mut(), &old_waker).is_pending());
    let faults = Faults::new();
    faults.panic_on_clone(1);
    expect_injected(
        catch(|| poll_resolved(fut.as_mut(), &faults.waker()).is_ready()),
        "re-registering with a waker whose clone panics",
    );
    resolver.resolve(2).unwrap();
    assert_eq!(old.wakes(), 1, "the old waker, still registered, was woken");
    assert_eq!(faults.wakes(), 0);
    assert_eq!(poll_resolved(fut.as_mut(), &old_waker), Poll::Ready(Ok(&2)));
    drop(fut);
    assert_eq!(faults.live(), 0, "no clone of the panicking waker was kept");
}

/// Fails if re-registering withdraws the old waker before cloning the new one (nobody is woken).
#[test]
fn a_panicking_clone_of_a_new_waker_keeps_the_old_one_registered() {
    isolated(|| {
        within(
            "panicking clone of a new waker",
            panicking_clone_of_a_new_waker,
        )
    });
}

/// A registered waker whose drop panics is replaced by a new poll: the
/// panic reaches that poll, and the new waker is the one registered.
fn panicking_drop_of_a_replaced_waker() {
    let (resolver, promise) = promise::channel::<u32>();
    let faults = Faults::new();
    let mut fut = Box::pin(promise.resolved());
    assert!(poll_resolved(fut.as_mut(), &faults.waker()).is_pending());
    // Only the registered clone is left: its drop panics.
    faults.panic_on_drop(1);
    let (new, new_waker) = CountingWaker::new();
    expect_injected(
        catch(|| poll_resolved(fut.as_mut(), &new_waker).is_ready()),
        "a poll that replaces a waker whose drop panics",
    );
    assert_eq!(faults.live(), 0, "the replaced waker was dropped");
    // Nothing stays locked: another future registers.
    let (other, other_waker) = CountingWaker::new();
    let mut second = Box::pin(promise.resolved());
    assert!(poll_resolved(second.as_mut(), &other_waker).is_pending());
    resolver.resolve(3).unwrap();
    assert_eq!(
        new.wakes(),
        1,
        "the new waker was registered by the poll that panicked"
    );
    assert_eq!(other.wakes(), 1);
    assert_eq!(faults.wakes(), 0, "the replaced waker was not woken");
    assert_eq!(poll_resolved(fut.as_mut(), &new_waker), Poll::Ready(Ok(&3)));
}

/// Fails if the replaced waker is dropped before the new one is stored, under a lock, or silently.
#[test]
fn a_panicking_drop_of_a_replaced_waker_still_registers_the_new_one() {
    isolated(|| {
        within(
            "panicking drop of a replaced waker",
            panicking_drop_of_a_replaced_waker,
        )
    });
}

/// A pending future whose waker panics when dropped is dropped: the panic
/// reaches its dropper, and the promise still serves every other waiter.
fn panicking_waker_drop_on_withdrawal() {
    let (resolver, promise) = promise::channel::<u32>();
    let faults = Faults::new();
    let (good, good_waker) = CountingWaker::new();
    let mut before = Box::pin(promise.resolved());
    assert!(poll_resolved(before.as_mut(), &good_waker).is_pending());
    let mut bad = Box::pin(promise.resolved());
    assert!(poll_resolved(bad.as_mut(), &faults.waker()).is_pending());
    faults.panic_on_drop(1);
    expect_injected(
        catch(move || drop(bad)),
        "dropping a pending future withdraws (drops) its waker",
    );
    assert_eq!(faults.live(), 0, "the withdrawn waker was dropped");
    let mut after = Box::pin(promise.resolved());
    assert!(poll_resolved(after.as_mut(), &good_waker).is_pending());
    resolver.resolve(8).unwrap();
    assert_eq!(good.wakes(), 2, "the waiters before and after were woken");
    assert_eq!(
        faults.wakes(),
        0,
        "the dropped future's waker was not woken"
    );
    assert_eq!(
        poll_resolved(after.as_mut(), &good_waker),
        Poll::Ready(Ok(&8))
    );
    drop(before);
}

/// Fails if the dropped future's waker is dropped under the lock, left listed, or its panic lost.
#[test]
fn a_panicking_waker_drop_when_a_pending_future_is_dropped_leaves_the_promise_usable() {
    isolated(|| {
        within(
            "panicking waker drop on withdrawal",
            panicking_waker_drop_on_withdrawal,
        )
    });
}

/// The last resolver dropped while its thread unwinds (a worker that
/// panicked) abandons the promise; a waiter whose waker panics too does not
/// turn that into an abort, and every other waiter sees `Abandoned`.
fn waker_panicking_while_unwinding() {
    let (resolver, promise) = promise::channel::<u32>();
    let loud = Arc::new(WakePanicsWhileUnwinding(AtomicUsize::new(0)));
    let loud_waker = Waker::from(loud.clone());
    let (good, good_waker) = CountingWaker::new();
    let mut first = Box::pin(promise.resolved());
    let mut second = Box::pin(promise.resolved());
    assert!(poll_resolved(first.as_mut(), &loud_waker).is_pending());
    assert!(poll_resolved(second.as_mut(), &good_waker).is_pending());
    assert_eq!(drop_while_unwinding(resolver), "the unwinding panic");
    assert_eq!(
        loud.0.load(Ordering::SeqCst),
        1,
        "the panicking waker was woken"
    );
    assert_eq!(good.wakes(), 1, "the other waiter was woken");
    assert_eq!(promise.wait(), Err(Abandoned::new()));
    assert_eq!(
        poll_resolved(second.as_mut(), &good_waker),
        Poll::Ready(Err(Abandoned::new()))
    );
}

/// Fails (the child aborts) if the wake's panic is re-raised by the resolver's `Drop` mid-unwind.
#[test]
fn a_waker_panicking_while_the_thread_unwinds_is_dropped_not_an_abort() {
    isolated(|| {
        within(
            "waker panics during unwinding",
            waker_panicking_while_unwinding,
        )
    });
}

/// The last handle, dropped while its thread unwinds, frees a value whose
/// `Drop` panics: that second panic is dropped, the value dropped once.
fn value_drop_panicking_while_unwinding() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (resolver, promise) = promise::channel();
    resolver
        .resolve(DropPanicsWhileUnwinding(drops.clone()))
        .unwrap_or_else(|_| unreachable!());
    drop(resolver);
    assert_eq!(drop_while_unwinding(promise), "the unwinding panic");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the value was dropped once"
    );
}

/// Fails (the child aborts) if the value's panic is re-raised from the last `Drop` while unwinding.
#[test]
fn a_value_drop_panicking_while_the_thread_unwinds_is_dropped_not_an_abort() {
    isolated(|| {
        within(
            "value drop panics during unwinding",
            value_drop_panicking_while_unwinding,
        )
    });
}

/// Wakers that take and drop the very future they were registered by: one
/// during `resolve`, one during the abandonment, where that future holds the
/// last promise (so the block is freed from inside the wake).
fn waker_drops_its_own_future() {
    for resolve in [true, false] {
        let (resolver, promise) = promise::channel::<u32>();
        let fut = slot(promise.into_future());
        let faults = Faults::new();
        let f = fut.clone();
        faults.on_wake(move || drop_slot(&f));
        assert!(poll_slot(&fut, &faults.waker()).unwrap().is_pending());
        let (watcher, watcher_waker) = CountingWaker::new();
        let mut closed = Box::pin(resolver.closed());
        assert!(poll_with(closed.as_mut(), &watcher_waker).is_pending());
        if resolve {
            resolver.resolve(6).unwrap();
            assert!(
                resolver.is_closed(),
                "the last promise went with its future"
            );
            assert_eq!(watcher.wakes(), 1, "which woke the resolver's closed()");
            drop(closed);
            drop(resolver);
        } else {
            drop(closed);
            drop(resolver);
        }
        assert!(fut.lock().unwrap().is_none(), "the wake dropped its future");
        assert_eq!(faults.wakes(), 1);
        assert_eq!(faults.live(), 0, "no waker clone is left behind");
    }
}

/// Fails if a wake runs under the promise's lock (deadlock) or the last promise frees too early.
#[test]
fn a_waker_dropping_its_own_future_does_not_deadlock() {
    isolated(|| within("waker drops its own future", waker_drops_its_own_future));
}

/// Wakers that re-enter `resolve`: each resolves again (and loses) and waits,
/// blocking, on the already resolved promise. Nothing deadlocks. (A waker
/// that drops its own future: `a_waker_dropping_its_own_future_...` below.)
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
    // Waking consumes the stored clone; its drop panics, after every waiter
    // was woken, and reaches `resolve`'s caller.
    expect_injected(
        catch(|| resolver.resolve(3)),
        "resolve with a waker that panics when dropped",
    );
    assert_eq!(faults.live(), 0, "the woken clone was dropped");
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
    // Not inside `isolated`: `assert_no_leaks` runs each scenario in a
    // process of its own, which a child selected by the test's name alone
    // would skip (measuring nothing).
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
            ("wakers see the answer", || {
                drop(catch(wakers_see_the_answer))
            }),
            ("panicking waker in closed", || {
                drop(catch(|| panicking_waker_in_closed(false)))
            }),
            ("panicking clone of a new waker", || {
                drop(catch(panicking_clone_of_a_new_waker))
            }),
            ("panicking drop of a replaced waker", || {
                drop(catch(panicking_drop_of_a_replaced_waker))
            }),
            ("panicking waker drop on withdrawal", || {
                drop(catch(panicking_waker_drop_on_withdrawal))
            }),
            ("panicking waker drop", || drop(catch(panicking_waker_drop))),
            ("waker drops its own future", || {
                drop(catch(waker_drops_its_own_future))
            }),
        ],
    );
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
