//! Fault injection on `Shutdown`: callbacks and wakers on its tokens and on
//! `drained()` that panic or re-enter the coordinator. The contract: the
//! trigger (and the drain) is visible before any user code runs; a panic never
//! stops another waiter or callback, the first one reaches the caller of
//! `trigger` (or of the last guard's drop), and the coordinator is never left
//! half-triggered; re-entrant code never deadlocks; memory is given back.
#![cfg(all(feature = "std", not(loom)))]

mod common;
mod faults_support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use common::CountingWaker;
use faults_support::*;
use ripcord::shutdown::{Shutdown, ShutdownGuard};

type BoxFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Polls `fut` with a new counting waker, which must leave it pending.
fn register(fut: &mut BoxFuture<'_>) -> Arc<CountingWaker> {
    let (counter, waker) = CountingWaker::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    counter
}

/// Everyone waiting on a shutdown: token futures (every kind) and `drained()`
/// futures with counting wakers, and (with `threads`) threads blocked in
/// `token.wait_timeout(30 s)` (each owning a guard it drops once woken) and in
/// `shutdown.wait_timeout(30 s)`.
struct Waiters {
    token_futures: Vec<BoxFuture<'static>>,
    drain_futures: Vec<BoxFuture<'static>>,
    counters: Vec<Arc<CountingWaker>>,
    blocked_tokens: Vec<Blocked<bool>>,
    blocked_drain: Vec<Blocked<bool>>,
}

impl Waiters {
    /// With `guards`, some waiters hold guards (a tracked task, a blocked
    /// worker) that they drop once their token is cancelled.
    fn on(shutdown: &Shutdown, threads: bool, guards: bool) -> Waiters {
        let token = shutdown.token();
        let mut token_futures: Vec<BoxFuture<'static>> = vec![
            Box::pin(shutdown.token().cancelled_owned()),
            Box::pin(async move {
                let out = token
                    .run_until_cancelled(std::future::pending::<()>())
                    .await;
                assert!(out.is_err());
            }),
        ];
        if guards {
            let tracked = shutdown.track(std::future::pending::<()>()).unwrap();
            let token = tracked.token().unwrap().clone();
            token_futures.push(Box::pin(async move {
                token.cancelled().await;
                drop(tracked); // the tracked task ends once its token is cancelled
            }));
        }
        let mut drain_futures: Vec<BoxFuture<'static>> = vec![Box::pin(shutdown.drained())];
        let mut counters = Vec::new();
        for fut in token_futures.iter_mut().chain(drain_futures.iter_mut()) {
            counters.push(register(fut));
        }
        let mut blocked_tokens = Vec::new();
        let mut blocked_drain = Vec::new();
        if threads && guards {
            let guard = shutdown.guard_named("blocked worker").unwrap();
            blocked_tokens.push(Blocked::start(
                "worker in token.wait_timeout(30 s)",
                move || {
                    let cancelled = guard.token().wait_timeout(LONG_WAIT).is_ok();
                    drop(guard);
                    cancelled
                },
            ));
        }
        if threads {
            let s = shutdown.clone();
            blocked_drain.push(Blocked::start(
                "thread in shutdown.wait_timeout(30 s)",
                move || s.wait_timeout(LONG_WAIT).is_ok(),
            ));
        }
        Waiters {
            token_futures,
            drain_futures,
            counters,
            blocked_tokens,
            blocked_drain,
        }
    }

    /// After the trigger: every token waiter woken and done.
    #[track_caller]
    fn assert_tokens_woken(&mut self) {
        for (i, c) in self.counters[..self.token_futures.len()].iter().enumerate() {
            assert!(c.wakes() >= 1, "token waiter #{i} was never woken");
        }
        for b in self.blocked_tokens.drain(..) {
            assert!(
                b.finish(),
                "a blocked worker returned without seeing its token cancelled"
            );
        }
        let (_, waker) = CountingWaker::new();
        for mut f in self.token_futures.drain(..) {
            assert_eq!(poll_with(f.as_mut(), &waker), Poll::Ready(()));
        }
    }

    /// After the drain: every drain waiter woken and done.
    #[track_caller]
    fn assert_drain_woken(mut self) {
        self.assert_tokens_woken();
        for (i, c) in self.counters.iter().enumerate() {
            assert!(c.wakes() >= 1, "waiter #{i} was never woken");
        }
        for b in self.blocked_drain.drain(..) {
            assert!(b.finish(), "a thread in shutdown.wait_timeout saw no drain");
        }
        let (_, waker) = CountingWaker::new();
        for mut f in self.drain_futures.drain(..) {
            assert_eq!(poll_with(f.as_mut(), &waker), Poll::Ready(()));
        }
    }
}

/// After a faulty trigger: the coordinator is triggered, a second trigger
/// returns normally, and once `guards` drop it is drained and refuses guards.
#[track_caller]
fn assert_triggered_then_drained(shutdown: &Shutdown, guards: Vec<ShutdownGuard>) {
    assert!(
        shutdown.is_triggered(),
        "the panic left the shutdown untriggered"
    );
    for g in &guards {
        assert!(g.token().is_cancelled());
    }
    assert!(shutdown.token().is_cancelled());
    shutdown.trigger();
    drop(guards);
    assert!(
        eventually(|| shutdown.is_drained()),
        "not drained once every guard dropped"
    );
    assert!(shutdown.wait_timeout(LONG_WAIT).is_ok());
    assert!(
        shutdown.guard().is_err(),
        "a drained shutdown refuses guards"
    );
}

// ---------------------------------------------------------------------------
// 1. The trigger is visible before user code runs
// ---------------------------------------------------------------------------

fn callbacks_see_triggered() {
    let shutdown = Shutdown::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let guard = shutdown.guard().unwrap();
    let token = shutdown.token();
    let mut registrations = Vec::new();
    for t in [&token, guard.token()] {
        let (s, sd, t2) = (seen.clone(), shutdown.clone(), t.clone());
        registrations.push(t.on_cancel(move |_| {
            s.lock()
                .unwrap()
                .push((sd.is_triggered(), t2.is_cancelled()));
        }));
    }
    shutdown.trigger();
    assert_eq!(
        *seen.lock().unwrap(),
        [(true, true), (true, true)],
        "a callback on a shutdown token ran before the shutdown reported triggered"
    );
    drop(guard);
    assert!(shutdown.is_drained());
}

/// Inside an `on_cancel` callback on `shutdown.token()` or a guard's token,
/// `shutdown.is_triggered()` is already true.
#[test]
fn callback_on_a_shutdown_token_sees_the_shutdown_triggered() {
    isolated(|| within("callbacks see triggered", callbacks_see_triggered));
}

fn wakers_see_triggered() {
    let shutdown = Shutdown::new();
    let guard = shutdown.guard().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tokens = [shutdown.token(), guard.token().clone()];
    let mut futures: Vec<BoxFuture<'_>> = Vec::new();
    let mut faults_list = Vec::new();
    for t in &tokens {
        for owned in [false, true] {
            let faults = Faults::new();
            let (s, sd, t2) = (seen.clone(), shutdown.clone(), t.clone());
            faults.on_wake(move || {
                s.lock()
                    .unwrap()
                    .push((sd.is_triggered(), t2.is_cancelled()));
            });
            let mut fut: BoxFuture<'_> = if owned {
                Box::pin(t.clone().cancelled_owned())
            } else {
                Box::pin(t.cancelled())
            };
            assert!(poll_with(fut.as_mut(), &faults.waker()).is_pending());
            futures.push(fut);
            faults_list.push(faults);
        }
    }
    shutdown.trigger();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert!(seen.len() >= 4, "every waiter was woken: {seen:?}");
    assert!(
        seen.iter()
            .all(|&(triggered, cancelled)| triggered && cancelled),
        "a waker on a shutdown token ran before the shutdown reported triggered: {seen:?}"
    );
    for f in &faults_list {
        f.clear_hook();
    }
    drop(futures);
    drop(guard);
}

/// Inside a waker woken on `shutdown.token()` or a guard's token (every
/// future kind), `shutdown.is_triggered()` is already true.
#[test]
fn waker_on_a_shutdown_token_sees_the_shutdown_triggered() {
    isolated(|| within("wakers see triggered", wakers_see_triggered));
}

fn drain_wakers_see_drained(with_guard: bool) {
    let shutdown = Shutdown::new();
    let guard = with_guard.then(|| shutdown.guard().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let faults = Faults::new();
    let (s, sd) = (seen.clone(), shutdown.clone());
    faults.on_wake(move || {
        s.lock().unwrap().push((
            sd.is_drained(),
            sd.is_triggered(),
            sd.active_guards(),
            sd.guard().is_err(),
        ));
    });
    let mut fut: BoxFuture<'_> = Box::pin(shutdown.drained());
    assert!(poll_with(fut.as_mut(), &faults.waker()).is_pending());
    shutdown.trigger();
    drop(guard);
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert!(!seen.is_empty(), "the drain waiter was woken");
    assert_eq!(
        seen.last(),
        Some(&(true, true, 0, true)),
        "a drain waker ran before the drain was complete and final: {seen:?}"
    );
    faults.clear_hook();
}

/// Inside a `drained()` waker, the shutdown already reports drained, triggered,
/// no guard, and refuses new guards.
#[test]
fn drained_waker_sees_the_shutdown_drained() {
    isolated(|| {
        within("drain waker, last guard", || drain_wakers_see_drained(true));
        within("drain waker, no guard", || drain_wakers_see_drained(false));
    });
}

// ---------------------------------------------------------------------------
// 2. Panicking user code
// ---------------------------------------------------------------------------

fn panicking_token_callbacks(threads: bool) {
    let shutdown = Shutdown::new();
    let guard = shutdown.guard().unwrap();
    let mut waiters = Waiters::on(&shutdown, threads, true);
    let ran = Arc::new(AtomicUsize::new(0));
    let token = shutdown.token();
    let r = ran.clone();
    let registrations = [
        token.on_cancel(|_| inject("first")),
        token.on_cancel(move |_| {
            r.fetch_add(1, Ordering::SeqCst);
        }),
        token.on_cancel(|_| inject("second")),
    ];
    let r = ran.clone();
    let other = guard.token().on_cancel(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    let name = expect_injected(
        catch(|| shutdown.trigger()),
        "trigger with panicking callbacks",
    );
    assert_eq!(name, "first", "the first panic is the one re-raised");
    assert_eq!(
        ran.load(Ordering::SeqCst),
        2,
        "every other callback ran, once"
    );
    waiters.assert_tokens_woken();
    assert_triggered_then_drained(&shutdown, vec![guard]);
    waiters.assert_drain_woken();
    drop((registrations, other));
}

/// Callbacks on a shutdown token that panic: the trigger completes (every
/// token cancelled, every waiter woken, the shutdown triggered and then
/// drained), the other callbacks run, the first panic reaches `trigger`'s
/// caller.
#[test]
fn panicking_callback_on_a_shutdown_token_still_triggers_and_drains() {
    isolated(|| within("panicking callbacks", || panicking_token_callbacks(true)));
}

fn panicking_token_wake(threads: bool, drop_panics: bool) {
    let shutdown = Shutdown::new();
    let guard = shutdown.guard().unwrap();
    let mut waiters = Waiters::on(&shutdown, threads, true);
    let faults = Faults::new();
    let token = shutdown.token();
    let mut bad: BoxFuture<'_> = Box::pin(token.cancelled());
    assert!(poll_with(bad.as_mut(), &faults.waker()).is_pending());
    if drop_panics {
        faults.panic_on_drop(1);
        // The library's clone is dropped by the wake or with the future.
        let mut panics = catch_injected(|| shutdown.trigger()).into_iter().count();
        waiters.assert_tokens_woken();
        assert_triggered_then_drained(&shutdown, vec![guard]);
        panics += catch_injected(move || drop(bad)).into_iter().count();
        assert_eq!(
            panics, 1,
            "the injected drop panic reached exactly one caller"
        );
    } else {
        faults.panic_on_wake(1);
        expect_injected(
            catch(|| shutdown.trigger()),
            "trigger with a panicking waker",
        );
        waiters.assert_tokens_woken();
        assert_triggered_then_drained(&shutdown, vec![guard]);
        drop(bad);
    }
    waiters.assert_drain_woken();
    assert_eq!(faults.wakes(), 1);
    assert_eq!(faults.live(), 0);
}

/// A waker on a shutdown token whose `wake()` panics during `trigger`: every
/// other waiter (tasks, blocked workers, drain waiters) is woken, the panic
/// reaches the caller, the shutdown is triggered and drains.
#[test]
fn panicking_wake_on_a_shutdown_token_still_wakes_everyone_and_reraises() {
    isolated(|| within("panicking token wake", || panicking_token_wake(true, false)));
}

/// The same with a waker whose drop panics when the trigger consumes it.
#[test]
fn panicking_waker_drop_on_a_shutdown_token_still_wakes_everyone() {
    isolated(|| {
        within("panicking token waker drop", || {
            panicking_token_wake(true, true)
        })
    });
}

fn panicking_drain_wake(threads: bool, last_guard: bool) {
    let shutdown = Shutdown::new();
    let guard = last_guard.then(|| shutdown.guard().unwrap());
    let waiters = Waiters::on(&shutdown, threads, false);
    let faults = Faults::new();
    let mut bad: BoxFuture<'_> = Box::pin(shutdown.drained());
    assert!(poll_with(bad.as_mut(), &faults.waker()).is_pending());
    faults.panic_on_wake(1);
    if let Some(guard) = guard {
        // The trigger wakes no drain waiter while a guard is alive...
        shutdown.trigger();
        // ...the last guard's drop does.
        expect_injected(
            catch(move || drop(guard)),
            "the last guard's drop with a panicking drain waker",
        );
    } else {
        // Triggered with no guard alive: drained at once, by the trigger.
        expect_injected(
            catch(|| shutdown.trigger()),
            "a draining trigger with a panicking drain waker",
        );
    }
    assert_eq!(faults.wakes(), 1, "the panicking waker was woken");
    waiters.assert_drain_woken();
    assert!(shutdown.is_drained());
    shutdown.trigger();
    assert!(shutdown.wait_timeout(LONG_WAIT).is_ok());
    assert!(shutdown.guard().is_err());
    drop(bad);
    assert_eq!(faults.live(), 0);
}

/// A `drained()` waker whose `wake()` panics: every other drain waiter (tasks,
/// threads in `wait_timeout(30 s)`) is still woken, the panic reaches the
/// caller that ended the drain, and the shutdown stays drained.
#[test]
fn panicking_drained_waker_still_wakes_other_drain_waiters_and_reraises() {
    isolated(|| {
        within("panicking drain wake, last guard", || {
            panicking_drain_wake(true, true)
        });
        within("panicking drain wake, trigger", || {
            panicking_drain_wake(true, false)
        });
    });
}

fn panicking_drain_waker_clone() {
    let shutdown = Shutdown::new();
    let guard = shutdown.guard().unwrap();
    let early = Waiters::on(&shutdown, false, false);
    let faults = Faults::new();
    let mut fut: BoxFuture<'_> = Box::pin(shutdown.drained());
    faults.panic_on_clone(1);
    expect_injected(
        catch(|| poll_with(fut.as_mut(), &faults.waker())),
        "poll drained() with a waker whose clone panics",
    );
    let counter = register(&mut fut);
    let late = Waiters::on(&shutdown, false, false);
    shutdown.trigger();
    drop(guard);
    assert!(
        counter.wakes() >= 1,
        "the waker registered after the panic was woken"
    );
    assert_eq!(poll_with(fut.as_mut(), &faults.waker()), Poll::Ready(()));
    early.assert_drain_woken();
    late.assert_drain_woken();
    assert!(shutdown.is_drained());
    drop(fut);
    assert_eq!(faults.live(), 0, "no clone of the panicking waker was kept");
}

/// `drained()` polled with a waker whose `clone()` panics leaves the shutdown
/// and the future usable: every drain waiter is woken.
#[test]
fn panicking_drained_waker_clone_leaves_the_shutdown_usable() {
    isolated(|| within("panicking drain waker clone", panicking_drain_waker_clone));
}

fn panicking_drain_waker_drop() {
    let shutdown = Shutdown::new();
    let guard = shutdown.guard().unwrap();
    let early = Waiters::on(&shutdown, false, false);
    let faults = Faults::new();
    let mut gone: BoxFuture<'_> = Box::pin(shutdown.drained());
    assert!(poll_with(gone.as_mut(), &faults.waker()).is_pending());
    faults.panic_on_drop(1);
    expect_injected(
        catch(move || drop(gone)),
        "dropping a pending drained() drops its waker",
    );
    let late = Waiters::on(&shutdown, false, false);
    shutdown.trigger();
    drop(guard);
    early.assert_drain_woken();
    late.assert_drain_woken();
    assert!(shutdown.is_drained());
    assert_eq!(faults.live(), 0);
    assert_eq!(
        faults.wakes(),
        0,
        "the dropped future's waker was not woken"
    );
}

/// A pending `drained()` dropped with a waker whose drop panics leaves the
/// shutdown usable: every other drain waiter (registered before or after) is
/// woken.
#[test]
fn panicking_drained_waker_drop_leaves_the_shutdown_usable() {
    isolated(|| within("panicking drain waker drop", panicking_drain_waker_drop));
}

fn tracked_future_panics() {
    let shutdown = Shutdown::new();
    let mut tracked = Box::pin(
        shutdown
            .track(async {
                inject("tracked future");
            })
            .unwrap(),
    );
    assert_eq!(shutdown.active_guards(), 1);
    let (_, waker) = CountingWaker::new();
    expect_injected(
        catch(|| poll_with(tracked.as_mut(), &waker)),
        "polling a tracked future that panics",
    );
    drop(tracked);
    assert_eq!(
        shutdown.active_guards(),
        0,
        "the panicking task's guard was released"
    );
    shutdown.trigger();
    assert!(shutdown.is_drained());
}

/// A tracked future that panics (and is dropped, as an executor does) releases
/// its guard: the shutdown still drains.
#[test]
fn tracked_future_that_panics_releases_its_guard() {
    isolated(|| within("tracked future panics", tracked_future_panics));
}

// ---------------------------------------------------------------------------
// 3. Re-entrant user code
// ---------------------------------------------------------------------------

fn drain_waker_drops_its_future() {
    let shutdown = Shutdown::new();
    let guard = shutdown.guard().unwrap();
    let fut = slot(shutdown.drained());
    let faults = Faults::new();
    let f = fut.clone();
    faults.on_wake(move || drop_slot(&f));
    assert!(poll_slot(&fut, &faults.waker()).unwrap().is_pending());
    let mut other: BoxFuture<'_> = Box::pin(shutdown.drained());
    let counter = register(&mut other);
    shutdown.trigger();
    drop(guard);
    assert!(fut.lock().unwrap().is_none(), "the wake dropped its future");
    assert_eq!(faults.wakes(), 1);
    assert_eq!(faults.live(), 0);
    assert!(counter.wakes() >= 1);
}

/// A `drained()` waker that takes and drops the very `Drain` future it was
/// registered by, from inside `wake()`: no deadlock, the others are woken.
#[test]
fn drained_waker_dropping_its_own_future_does_not_deadlock() {
    isolated(|| within("drain waker drops its future", drain_waker_drops_its_future));
}

fn token_waker_reenters(owned: bool) {
    let shutdown = Shutdown::new();
    let guard = shutdown.guard().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let faults = Faults::new();
    let (l, sd) = (log.clone(), shutdown.clone());
    faults.on_wake(move || {
        sd.trigger(); // again, while the first trigger is running
        let helper = sd.guard(); // draining: allowed (a guard is alive)
        l.lock().unwrap().push(helper.is_ok());
        drop(helper);
        let token = sd.token();
        l.lock()
            .unwrap()
            .push(token.wait_timeout(LONG_WAIT).is_ok());
    });
    let token = shutdown.token();
    let fut = slot::<()>(if owned {
        Box::pin(token.clone().cancelled_owned()) as BoxFuture<'static>
    } else {
        token
            .clone()
            .run_until_cancelled_owned(std::future::pending::<()>())
            .map_unit()
    });
    assert!(poll_slot(&fut, &faults.waker()).unwrap().is_pending());
    shutdown.trigger();
    assert_eq!(
        log.lock().unwrap()[..2],
        [true, true],
        "inside the wake: guard taken, new token already cancelled"
    );
    drop(guard);
    assert!(shutdown.wait_timeout(LONG_WAIT).is_ok());
    drop_slot(&fut);
    faults.clear_hook();
}

/// A waker on a shutdown token that calls `trigger()` again, takes a guard,
/// and waits on a new shutdown token, from inside `wake()`: no deadlock.
#[test]
fn waker_on_a_shutdown_token_reentering_the_shutdown_does_not_deadlock() {
    isolated(|| {
        within("token waker re-enters (cancelled_owned)", || {
            token_waker_reenters(true)
        });
        within("token waker re-enters (run_until_cancelled_owned)", || {
            token_waker_reenters(false)
        });
    });
}

fn callback_reenters() {
    let shutdown = Shutdown::new();
    let guard = shutdown.guard().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (l, sd) = (log.clone(), shutdown.clone());
    let own: Arc<Mutex<Option<ripcord::CancelCallback>>> = Arc::new(Mutex::new(None));
    let o = own.clone();
    let token = shutdown.token();
    let registration = token.on_cancel(move |_| {
        let mine = o.lock().unwrap().take();
        drop(mine);
        sd.trigger();
        let helper = sd.guard();
        l.lock().unwrap().push(helper.is_ok());
        drop(helper);
        l.lock()
            .unwrap()
            .push(sd.token().wait_timeout(LONG_WAIT).is_ok());
        let _report = sd.report();
    });
    *own.lock().unwrap() = Some(registration);
    shutdown.trigger();
    assert_eq!(
        *log.lock().unwrap(),
        [true, true],
        "inside the callback: guard taken, new token already cancelled"
    );
    drop(guard);
    assert!(shutdown.wait_timeout(LONG_WAIT).is_ok());
}

/// An `on_cancel` callback on a shutdown token that drops its own
/// registration, triggers again, takes a guard, waits on a new token and takes
/// a report: no deadlock.
#[test]
fn callback_on_a_shutdown_token_reentering_the_shutdown_does_not_deadlock() {
    isolated(|| within("callback re-enters", callback_reenters));
}

fn drain_waker_reenters() {
    let shutdown = Shutdown::new();
    let guard = shutdown.guard().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let faults = Faults::new();
    let (l, sd) = (log.clone(), shutdown.clone());
    faults.on_wake(move || {
        sd.trigger();
        l.lock().unwrap().push(sd.guard().is_err()); // drained: final
        l.lock().unwrap().push(sd.wait_timeout(LONG_WAIT).is_ok());
        let mut again: BoxFuture<'_> = Box::pin(sd.drained());
        let (_, waker) = CountingWaker::new();
        l.lock()
            .unwrap()
            .push(poll_with(again.as_mut(), &waker).is_ready());
    });
    let mut fut: BoxFuture<'_> = Box::pin(shutdown.drained());
    assert!(poll_with(fut.as_mut(), &faults.waker()).is_pending());
    shutdown.trigger();
    drop(guard);
    assert_eq!(
        log.lock().unwrap()[..3],
        [true, true, true],
        "inside the drain wake: guards refused, wait_timeout and drained() ready at once"
    );
    drop(fut);
    faults.clear_hook();
}

/// A `drained()` waker that triggers again, asks for a guard, blocks in
/// `wait_timeout(30 s)` and polls a new `drained()`, from inside `wake()`:
/// no deadlock, and each sees the drain complete.
#[test]
fn drained_waker_reentering_the_shutdown_does_not_deadlock() {
    isolated(|| within("drain waker re-enters", drain_waker_reenters));
}

// ---------------------------------------------------------------------------
// 5. Memory
// ---------------------------------------------------------------------------

/// Every fault scenario above, repeated, leaves no allocation behind.
#[test]
#[cfg_attr(
    miri,
    ignore = "allocation counting across many rounds: too slow under Miri; the scenarios run in their own tests"
)]
fn fault_scenarios_return_every_allocation() {
    let scenarios: [(&str, fn()); 15] = [
        ("callbacks see triggered", callbacks_see_triggered),
        ("wakers see triggered", wakers_see_triggered),
        ("drain wakers see drained", || {
            drain_wakers_see_drained(true);
            drain_wakers_see_drained(false);
        }),
        ("panicking callbacks", || panicking_token_callbacks(false)),
        ("panicking token wake", || {
            panicking_token_wake(false, false)
        }),
        ("panicking token waker drop", || {
            panicking_token_wake(false, true)
        }),
        ("panicking drain wake, last guard", || {
            panicking_drain_wake(false, true)
        }),
        ("panicking drain wake, trigger", || {
            panicking_drain_wake(false, false)
        }),
        ("panicking drain waker clone", panicking_drain_waker_clone),
        ("panicking drain waker drop", panicking_drain_waker_drop),
        ("tracked future panics", tracked_future_panics),
        ("drain waker drops its future", drain_waker_drops_its_future),
        ("token waker re-enters", || {
            token_waker_reenters(true);
            token_waker_reenters(false);
        }),
        ("callback re-enters", callback_reenters),
        ("drain waker re-enters", drain_waker_reenters),
    ];
    assert_no_leaks(20, &scenarios);
}

/// `fut.map_unit()`: drops a `run_until_cancelled*` output, which must be the
/// cancellation.
trait MapUnit: Future<Output = Result<(), ripcord::CancelledError>> + Sized + Send + 'static {
    fn map_unit(self) -> BoxFuture<'static> {
        Box::pin(Discard(Box::pin(self)))
    }
}

impl<F: Future<Output = Result<(), ripcord::CancelledError>> + Send + 'static> MapUnit for F {}

struct Discard<F>(Pin<Box<F>>);

impl<F: Future<Output = Result<(), ripcord::CancelledError>>> Future for Discard<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx).map(|out| assert!(out.is_err()))
    }
}

// ---------------------------------------------------------------------------
// 4. User code that ends a guard's work: a value's `Drop`, an error's
//    `Display`, a drain waker replaced by another task's
// ---------------------------------------------------------------------------

/// A tracked future whose `Drop` panics: dropping the `Tracked` still
/// releases its guard (recorded as a panic, as for any guard dropped by a
/// panicking thread), the panic reaches the code that dropped it, and the
/// shutdown drains. Fails if the guard's release were skipped by the unwind.
#[test]
fn a_tracked_future_whose_drop_panics_still_releases_its_guard() {
    isolated(|| {
        within("tracked future's drop panics", || {
            let shutdown = Shutdown::new();
            let drops = Arc::new(AtomicUsize::new(0));
            let bomb = Bomb::armed(&drops, "tracked future drop");
            let tracked = shutdown
                .track(async move {
                    let _bomb = &bomb;
                    std::future::pending::<()>().await;
                })
                .unwrap();
            let mut tracked = Box::pin(tracked);
            let (_, waker) = CountingWaker::new();
            assert!(poll_with(tracked.as_mut(), &waker).is_pending());
            expect_injected(catch(move || drop(tracked)), "dropping the tracked future");
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            assert_eq!(shutdown.active_guards(), 0, "the guard was not released");
            shutdown.trigger();
            assert!(shutdown.is_drained() && shutdown.report().is_drained());
        })
    });
}

struct PanickingDisplay;

impl std::fmt::Display for PanickingDisplay {
    fn fmt(&self, _f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        inject("error display");
        Ok(())
    }
}

/// `guard.fail(err)` with an error whose `Display` panics: the panic reaches
/// the caller, the guard is still released and the failure recorded (as a
/// panic while holding the guard), and the shutdown drains. Fails if the
/// guard leaked or the failure were lost.
#[test]
fn a_failure_whose_display_panics_still_releases_the_guard_and_is_recorded() {
    isolated(|| {
        within("error display panics", || {
            let shutdown = Shutdown::new();
            let guard = shutdown.guard_named("job").unwrap();
            expect_injected(catch(move || guard.fail(PanickingDisplay)), "fail()");
            assert_eq!(shutdown.active_guards(), 0, "the guard was not released");
            let report = shutdown.report();
            assert_eq!(report.failures().len(), 1, "{report}");
            assert_eq!(report.failures()[0].name(), Some("job"));
            // The default policy shut everything down on the failure.
            assert!(shutdown.is_triggered() && shutdown.is_drained());
        })
    });
}

/// A `drained()` future polled again by another task: the old waker's
/// `drop` panics as it is replaced. The new registration is complete (the
/// drain wakes the new task, not the old one), the panic reaches the poller,
/// and nothing is left registered once the drain is over.
#[test]
fn a_replaced_drain_waker_whose_drop_panics_leaves_the_new_one_registered() {
    isolated(|| {
        within("replaced drain waker", || {
            let shutdown = Shutdown::new();
            let guard = shutdown.guard().unwrap();
            let (old, new) = (Faults::new(), Faults::new());
            let (old_waker, new_waker) = (old.waker(), new.waker());
            let mut drain = Box::pin(shutdown.drained());
            assert!(poll_with(drain.as_mut(), &old_waker).is_pending());
            old.panic_on_drop(1);
            expect_injected(catch(|| poll_with(drain.as_mut(), &new_waker)), "re-poll");
            old.disarm();
            assert_eq!(old.live(), 1, "the old waker's clone is gone");
            shutdown.trigger();
            drop(guard);
            assert_eq!(new.wakes(), 1, "the new task was woken");
            assert_eq!(old.wakes(), 0, "the old task was not");
            assert_eq!(poll_with(drain.as_mut(), &new_waker), Poll::Ready(()));
            drop((drain, old_waker, new_waker));
            assert_eq!(old.live() + new.live(), 0);
        })
    });
}
