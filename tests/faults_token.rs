//! Fault injection on cancellation tokens: wakers that panic when woken,
//! cloned or dropped, callbacks and captured values and reasons whose code
//! panics, and user code that re-enters the token while it is being cancelled.
//! The contract: the cancellation is complete and visible before any user code
//! runs; a panic never stops another waiter or callback and the first one is
//! re-raised to the caller; re-entrant code never deadlocks; a slow deadline
//! callback never delays another token's deadline; memory is given back.
#![cfg(all(feature = "std", not(loom)))]

mod common;
mod faults_support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use common::{CountingWaker, DropCounter};
use faults_support::*;
use ripcord::{CallbackGuard, CancelReason, CancellationToken};

type BoxFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Every future that waits for a token.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Cancelled,
    CancelledOwned,
    RunUntilCancelled,
    RunUntilCancelledOwned,
}

const KINDS: [Kind; 4] = [
    Kind::Cancelled,
    Kind::CancelledOwned,
    Kind::RunUntilCancelled,
    Kind::RunUntilCancelledOwned,
];

/// A future of `kind` waiting for `token`, boxed (output dropped).
fn waiting(kind: Kind, token: &CancellationToken) -> BoxFuture<'_> {
    match kind {
        Kind::Cancelled => Box::pin(token.cancelled()),
        Kind::CancelledOwned => Box::pin(token.clone().cancelled_owned()),
        Kind::RunUntilCancelled => Box::pin(Discard(Box::pin(
            token.run_until_cancelled(std::future::pending::<()>()),
        ))),
        Kind::RunUntilCancelledOwned => owned_waiting(kind, token.clone()),
    }
}

/// A `'static` future of an owned `kind` waiting for `token`.
fn owned_waiting(kind: Kind, token: CancellationToken) -> BoxFuture<'static> {
    match kind {
        Kind::CancelledOwned => Box::pin(token.cancelled_owned()),
        Kind::RunUntilCancelledOwned => Box::pin(Discard(Box::pin(
            token.run_until_cancelled_owned(std::future::pending::<()>()),
        ))),
        _ => unreachable!("{kind:?} borrows the token"),
    }
}

/// Polls a `run_until_cancelled*` future, which must end cancelled; output `()`.
/// (Not an `async` block: that would refuse to be polled again after a panic.)
struct Discard<F>(Pin<Box<F>>);

impl<T, F: Future<Output = Result<T, ripcord::CancelledError>>> Future for Discard<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx).map(|out| {
            assert!(
                out.is_err(),
                "the inner future never completes: only the token ends it"
            );
        })
    }
}

/// Polls `fut` with a new counting waker, which must leave it pending.
fn register(fut: &mut BoxFuture<'_>) -> Arc<CountingWaker> {
    let (counter, waker) = CountingWaker::new();
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    counter
}

/// root → {a → {a1, a2}, b}: the tree most tests use.
struct Tree {
    root: CancellationToken,
    a: CancellationToken,
    a1: CancellationToken,
    a2: CancellationToken,
    b: CancellationToken,
}

impl Tree {
    fn new() -> Tree {
        let root = CancellationToken::new();
        let a = root.child_token();
        let a1 = a.child_token();
        let a2 = a.child_token();
        let b = root.child_token();
        Tree { root, a, a1, a2, b }
    }

    fn all(&self) -> [&CancellationToken; 5] {
        [&self.root, &self.a, &self.a1, &self.a2, &self.b]
    }

    #[track_caller]
    fn assert_all_cancelled(&self) {
        for (i, t) in self.all().iter().enumerate() {
            assert!(t.is_cancelled(), "token #{i} of the tree is not cancelled");
            assert!(t.reason().is_some(), "token #{i} has no reason");
        }
    }
}

// ---------------------------------------------------------------------------
// 1. The cancellation is visible before user code runs
// ---------------------------------------------------------------------------

fn wakers_see_tree_cancelled() {
    for kind in KINDS {
        // Cancel from the root: every waiter, at every level, must see its
        // token and every ancestor cancelled.
        let tree = Tree::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut futures = Vec::new();
        let mut all_faults = Vec::new();
        for (level, token) in tree.all().into_iter().enumerate() {
            let faults = Faults::new();
            let (s, t) = (seen.clone(), tree.all().map(CancellationToken::clone));
            faults.on_wake(move || {
                s.lock().unwrap().push((
                    kind,
                    level,
                    t.iter().map(|t| t.is_cancelled()).collect::<Vec<_>>(),
                ));
            });
            let mut fut = waiting(kind, token);
            assert!(poll_with(fut.as_mut(), &faults.waker()).is_pending());
            futures.push(fut);
            all_faults.push(faults);
        }
        tree.root.cancel();
        let seen = std::mem::take(&mut *seen.lock().unwrap());
        let mut levels: Vec<usize> = seen.iter().map(|&(_, level, _)| level).collect();
        levels.dedup();
        levels.sort_unstable();
        levels.dedup();
        assert_eq!(
            levels,
            [0, 1, 2, 3, 4],
            "{kind:?}: every waiter woken: {seen:?}"
        );
        for (kind, level, flags) in seen {
            assert!(
                flags.iter().all(|&c| c),
                "{kind:?}: the waiter on token #{level} was woken before the whole tree was cancelled: {flags:?}"
            );
        }
        for f in &all_faults {
            f.clear_hook();
        }
        drop(futures);

        // Cancel a middle token: its waiters see it and their own token cancelled.
        let tree = Tree::new();
        let faults = Faults::new();
        let seen = Arc::new(Mutex::new(None));
        let (s, a, a1) = (seen.clone(), tree.a.clone(), tree.a1.clone());
        faults.on_wake(move || *s.lock().unwrap() = Some((a.is_cancelled(), a1.is_cancelled())));
        let mut fut = waiting(kind, &tree.a1);
        assert!(poll_with(fut.as_mut(), &faults.waker()).is_pending());
        tree.a.cancel();
        assert_eq!(
            *seen.lock().unwrap(),
            Some((true, true)),
            "{kind:?}: woken before its token and the cancelled parent were"
        );
        assert!(!tree.root.is_cancelled());
        faults.clear_hook();
    }
}

/// Inside a waker's `wake()`, for every waiting future, the token and every
/// cancelled ancestor already report cancelled.
#[test]
fn waker_sees_its_token_and_cancelled_ancestors_cancelled() {
    isolated(|| {
        within("wakers see the tree cancelled", wakers_see_tree_cancelled);
    });
}

fn callbacks_see_tree_cancelled() {
    let tree = Tree::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut registrations = Vec::new();
    for (level, token) in tree.all().into_iter().enumerate() {
        let (s, t) = (seen.clone(), tree.all().map(CancellationToken::clone));
        registrations.push(token.on_cancel(move |_| {
            s.lock().unwrap().push((
                level,
                t.iter().map(|t| t.is_cancelled()).collect::<Vec<_>>(),
            ));
        }));
        // A captured value's Drop (after the callback ran) sees it too.
        let (s, t) = (seen.clone(), tree.all().map(CancellationToken::clone));
        let captured = OnDrop::new(move || {
            s.lock()
                .unwrap()
                .push((100 + level, t.iter().map(|t| t.is_cancelled()).collect()));
        });
        registrations.push(token.on_cancel(move |_| drop(captured)));
    }
    tree.root.cancel();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(seen.len(), 10, "every callback ran once: {seen:?}");
    for (level, flags) in seen {
        assert!(
            flags.iter().all(|&c| c),
            "callback #{level} ran before the whole tree was cancelled: {flags:?}"
        );
    }
}

/// Inside an `on_cancel` callback (and the `Drop` of a value it captured), the
/// token and every cancelled ancestor already report cancelled.
#[test]
fn on_cancel_callback_sees_its_token_and_cancelled_ancestors_cancelled() {
    isolated(|| {
        within(
            "callbacks see the tree cancelled",
            callbacks_see_tree_cancelled,
        );
    });
}

/// A deadline's callbacks (run by the timer) see the whole tree cancelled too.
#[test]
#[cfg_attr(miri, ignore = "starts the timer thread, which outlives the test")]
fn deadline_callback_sees_its_token_and_ancestors_cancelled() {
    isolated(|| {
        within("deadline callback", || {
            let tree = Tree::new();
            let (tx, rx) = std::sync::mpsc::channel();
            let t = tree.all().map(CancellationToken::clone);
            let _registration = tree.a1.on_cancel(move |reason| {
                let _ = tx.send((
                    reason.is_deadline_exceeded(),
                    t.iter().map(|t| t.is_cancelled()).collect::<Vec<_>>(),
                ));
            });
            tree.root.cancel_after(Duration::from_millis(10));
            let (deadline, flags) = rx.recv_timeout(PROMPT).expect("the deadline fired");
            assert!(deadline);
            assert!(
                flags.iter().all(|&c| c),
                "ran before the whole tree was cancelled: {flags:?}"
            );
        });
    });
}

/// While two threads race to cancel a tree with custom reasons, the losing
/// reason's `Drop` runs only once the token reports cancelled.
#[test]
fn losing_reason_is_dropped_only_after_the_token_reports_cancelled() {
    isolated(|| {
        within("racing reasons", || {
            for _ in 0..common::rounds(200) {
                let tree = Tree::new();
                let watch: Arc<Mutex<Option<[CancellationToken; 5]>>> =
                    Arc::new(Mutex::new(Some(tree.all().map(CancellationToken::clone))));
                let bad = Arc::new(AtomicUsize::new(0));
                let reason = |watch: &Arc<Mutex<Option<[CancellationToken; 5]>>>| {
                    let (w, bad) = (watch.clone(), bad.clone());
                    CancelReason::custom(OnDrop::new(move || {
                        if let Some(tokens) = w.lock().unwrap().as_ref() {
                            // Only the target and its descendants are promised.
                            if !tokens[1..4].iter().all(|t| t.is_cancelled()) {
                                bad.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }))
                };
                let (r1, r2) = (reason(&watch), reason(&watch));
                let a = tree.a.clone();
                let other = std::thread::spawn(move || {
                    a.cancel_with(r1);
                });
                tree.a.cancel_with(r2);
                other.join().unwrap();
                assert_eq!(
                    bad.load(Ordering::SeqCst),
                    0,
                    "a losing reason was dropped before the token reported cancelled"
                );
                watch.lock().unwrap().take();
            }
        });
    });
}

/// Runs `scenario` once per kind of waiting future, each in its own checked
/// scenario, in a process of its own.
fn for_each_kind(what: &str, scenario: fn(Kind)) {
    isolated(|| {
        for kind in KINDS {
            within(&format!("{kind:?}: {what}"), move || scenario(kind));
        }
    });
}

// ---------------------------------------------------------------------------
// 2. Panicking user code
// ---------------------------------------------------------------------------

/// Waiters on a tree: one future of `kind` per token with a counting waker, and
/// (with `threads`) threads blocked in `wait_timeout(30 s)` on the root and a leaf.
struct Waiters<'a> {
    futures: Vec<BoxFuture<'a>>,
    counters: Vec<Arc<CountingWaker>>,
    blocked: Vec<Blocked<bool>>,
}

impl<'a> Waiters<'a> {
    fn on(kind: Kind, tokens: &[&'a CancellationToken], threads: bool) -> Self {
        let mut futures = Vec::new();
        let mut counters = Vec::new();
        for &token in tokens {
            let mut fut = waiting(kind, token);
            counters.push(register(&mut fut));
            futures.push(fut);
        }
        let mut blocked = Vec::new();
        if threads {
            for &token in [tokens[0], tokens[tokens.len() - 1]].iter() {
                let t = token.clone();
                blocked.push(Blocked::start("thread in wait_timeout(30 s)", move || {
                    t.wait_timeout(LONG_WAIT).is_ok()
                }));
            }
        }
        Waiters {
            futures,
            counters,
            blocked,
        }
    }

    #[track_caller]
    fn assert_all_woken(self) {
        for (i, c) in self.counters.iter().enumerate() {
            // (Woken by another thread, such as the timer's, it may lag the
            // cancel this thread saw.)
            assert!(eventually(|| c.wakes() >= 1), "waiter #{i} was never woken");
        }
        for b in self.blocked {
            assert!(
                b.finish(),
                "a blocked thread returned without seeing the token cancelled"
            );
        }
        let (_, waker) = CountingWaker::new();
        for mut f in self.futures {
            assert_eq!(
                poll_with(f.as_mut(), &waker),
                Poll::Ready(()),
                "a waiting future is not ready after the cancel"
            );
        }
    }
}

fn panicking_wake_in_tree(kind: Kind, threads: bool) {
    let tree = Tree::new();
    let waiters = Waiters::on(
        kind,
        &[&tree.root, &tree.a, &tree.a2, &tree.b, &tree.a1],
        threads,
    );
    // The panicking waiter sits in the middle of the tree.
    let faults = Faults::new();
    let mut bad = waiting(kind, &tree.a1);
    assert!(poll_with(bad.as_mut(), &faults.waker()).is_pending());
    faults.panic_on_wake(1);
    let name = expect_injected(
        catch(|| tree.root.cancel()),
        "cancel with a panicking waker",
    );
    assert_eq!(name, "waker wake");
    assert_eq!(faults.wakes(), 1);
    tree.assert_all_cancelled();
    waiters.assert_all_woken();
    tree.root.cancel();
    assert!(
        !tree.a.cancel_with(CancelReason::Cancelled),
        "a second cancel returns normally and changes nothing"
    );
    drop(bad);
    assert_eq!(faults.live(), 0);
}

fn panicking_wake_on_leaf(kind: Kind, threads: bool) {
    let token = CancellationToken::new();
    let faults = Faults::new();
    let mut bad = waiting(kind, &token);
    assert!(poll_with(bad.as_mut(), &faults.waker()).is_pending());
    let waiters = Waiters::on(kind, &[&token, &token], threads);
    faults.panic_on_wake(1);
    expect_injected(catch(|| token.cancel()), "cancel with a panicking waker");
    assert!(token.is_cancelled());
    waiters.assert_all_woken();
    token.cancel();
    drop(bad);
    assert_eq!(faults.live(), 0);
}

/// A waker whose `wake()` panics during a tree's cancel: every other waiter
/// (tasks and blocked threads, every future type) is still woken, the panic
/// reaches `cancel`'s caller, the whole tree is cancelled and a second cancel
/// returns normally.
#[test]
fn panicking_wake_still_wakes_other_waiters_and_reraises() {
    for_each_kind("panicking wake in a tree", |kind| {
        panicking_wake_in_tree(kind, true)
    });
}

/// The same on a token without children or callbacks (the lock-free path).
#[test]
fn panicking_wake_on_a_lone_token_still_wakes_other_waiters_and_reraises() {
    for_each_kind("panicking wake on a lone token", |kind| {
        panicking_wake_on_leaf(kind, true)
    });
}

fn panicking_waker_clone(kind: Kind) {
    let tree = Tree::new();
    let faults = Faults::new();
    let mut fut = waiting(kind, &tree.a1);
    faults.panic_on_clone(1);
    expect_injected(
        catch(|| poll_with(fut.as_mut(), &faults.waker())),
        "poll with a waker whose clone panics",
    );
    let counter = register(&mut fut);
    let mut other = waiting(kind, &tree.a1);
    let other_counter = register(&mut other);
    tree.root.cancel();
    assert!(
        counter.wakes() >= 1 && other_counter.wakes() >= 1,
        "waiters registered after the panic were woken"
    );
    tree.assert_all_cancelled();
    assert!(poll_with(fut.as_mut(), &faults.waker()).is_ready());
    drop((fut, other));
    assert_eq!(faults.live(), 0, "no clone of the panicking waker was kept");
}

/// A waker whose `clone()` panics while a waiting future polls leaves the
/// token and the future usable.
#[test]
fn panicking_waker_clone_in_poll_leaves_the_token_usable() {
    for_each_kind("panicking clone", panicking_waker_clone);
}

fn panicking_clone_of_a_new_waker(kind: Kind) {
    let tree = Tree::new();
    let mut fut = waiting(kind, &tree.a1);
    let old = register(&mut fut);
    let faults = Faults::new();
    faults.panic_on_clone(1);
    expect_injected(
        catch(|| poll_with(fut.as_mut(), &faults.waker())),
        "re-registering with a waker whose clone panics",
    );
    tree.root.cancel();
    assert_eq!(
        old.wakes(),
        1,
        "{kind:?}: the old waker, still registered, was woken"
    );
    assert_eq!(faults.wakes(), 0, "the new waker was never registered");
    assert!(poll_with(fut.as_mut(), Waker::noop()).is_ready());
    drop(fut);
    assert_eq!(faults.live(), 0, "no clone of the panicking waker was kept");
}

/// Fails if re-registering withdraws the old waker before cloning the new one (nobody is woken).
#[test]
fn a_panicking_clone_of_a_new_waker_keeps_the_old_one_registered() {
    for_each_kind(
        "panicking clone of a new waker",
        panicking_clone_of_a_new_waker,
    );
}

fn panicking_drop_of_a_replaced_waker(kind: Kind) {
    let tree = Tree::new();
    let faults = Faults::new();
    let mut fut = waiting(kind, &tree.a1);
    assert!(poll_with(fut.as_mut(), &faults.waker()).is_pending());
    // Only the registered clone is left: its drop panics.
    faults.panic_on_drop(1);
    let (new, new_waker) = CountingWaker::new();
    expect_injected(
        catch(|| poll_with(fut.as_mut(), &new_waker)),
        "a poll that replaces a waker whose drop panics",
    );
    assert_eq!(faults.live(), 0, "the replaced waker was dropped");
    // Nothing stays locked: another waiter registers on the same token.
    let mut other = waiting(kind, &tree.a1);
    let other_counter = register(&mut other);
    tree.root.cancel();
    assert_eq!(
        new.wakes(),
        1,
        "{kind:?}: the new waker was registered by the poll that panicked"
    );
    assert!(other_counter.wakes() >= 1);
    assert_eq!(faults.wakes(), 0, "the replaced waker was not woken");
    assert!(poll_with(fut.as_mut(), &new_waker).is_ready());
}

/// Fails if the replaced waker is dropped before the new one is stored, under a lock, or silently.
#[test]
fn a_panicking_drop_of_a_replaced_waker_still_registers_the_new_one() {
    for_each_kind(
        "panicking drop of a replaced waker",
        panicking_drop_of_a_replaced_waker,
    );
}

fn panicking_waker_drop_in_cancel(kind: Kind, threads: bool) {
    let tree = Tree::new();
    let waiters = Waiters::on(
        kind,
        &[&tree.root, &tree.a, &tree.a2, &tree.b, &tree.a1],
        threads,
    );
    let faults = Faults::new();
    let mut bad = waiting(kind, &tree.a1);
    assert!(poll_with(bad.as_mut(), &faults.waker()).is_pending());
    faults.panic_on_drop(1);
    // The library's clone is dropped either by the wake (by value, inside
    // cancel) or later with the future: the panic reaches whichever caller.
    let mut panics = catch_injected(|| tree.root.cancel()).into_iter().count();
    tree.assert_all_cancelled();
    waiters.assert_all_woken();
    tree.root.cancel();
    panics += catch_injected(move || drop(bad)).into_iter().count();
    assert_eq!(
        panics, 1,
        "the injected drop panic reached exactly one caller"
    );
    assert_eq!(faults.wakes(), 1);
    assert_eq!(faults.live(), 0);
}

/// A waker whose drop panics when the cancel consumes it: every other waiter
/// is still woken and the tree is cancelled.
#[test]
fn panicking_waker_drop_in_cancel_still_wakes_other_waiters() {
    for_each_kind("panicking waker drop", |kind| {
        panicking_waker_drop_in_cancel(kind, true)
    });
}

fn panicking_waker_drop_with_future(kind: Kind, threads: bool) {
    let tree = Tree::new();
    // Waiters registered before and after the panicking drop, on the same token.
    let before = Waiters::on(kind, &[&tree.a1, &tree.root], threads);
    let faults = Faults::new();
    let mut bad = waiting(kind, &tree.a1);
    assert!(poll_with(bad.as_mut(), &faults.waker()).is_pending());
    faults.panic_on_drop(1);
    expect_injected(
        catch(move || drop(bad)),
        "dropping a pending future unregisters (drops) its waker",
    );
    assert_eq!(faults.live(), 0);
    let after = Waiters::on(kind, &[&tree.root, &tree.a1], false);
    tree.root.cancel();
    tree.assert_all_cancelled();
    before.assert_all_woken();
    after.assert_all_woken();
    assert_eq!(
        faults.wakes(),
        0,
        "the dropped future's waker was not woken"
    );
}

/// A waker whose drop panics when its pending future is dropped leaves the
/// token usable: later waiters are woken by the cancel.
#[test]
fn panicking_waker_drop_when_the_future_is_dropped_leaves_the_token_usable() {
    for_each_kind("panicking drop with the future", |kind| {
        panicking_waker_drop_with_future(kind, true)
    });
}

fn panicking_callbacks(threads: bool) {
    let tree = Tree::new();
    let ran = Arc::new(Mutex::new(Vec::new()));
    let mut registrations = Vec::new();
    let log = |name: &'static str| {
        let ran = ran.clone();
        move |_: &CancelReason| ran.lock().unwrap().push(name)
    };
    registrations.push(tree.root.on_cancel(log("root")));
    registrations.push(tree.a1.on_cancel(|_| inject("first")));
    registrations.push(tree.a1.on_cancel(log("a1 after first")));
    registrations.push(tree.a1.on_cancel(|_| inject("second")));
    registrations.push(tree.a1.on_cancel(log("a1 after second")));
    registrations.push(tree.a2.on_cancel(log("a2")));
    registrations.push(tree.b.on_cancel(log("b")));
    let waiters = Waiters::on(Kind::Cancelled, &[&tree.root, &tree.a1, &tree.b], threads);
    let name = expect_injected(
        catch(|| tree.root.cancel()),
        "cancel with panicking callbacks",
    );
    assert_eq!(name, "first", "the first panic is the one re-raised");
    let mut ran = std::mem::take(&mut *ran.lock().unwrap());
    ran.sort_unstable();
    assert_eq!(
        ran,
        ["a1 after first", "a1 after second", "a2", "b", "root"],
        "every other callback ran, once"
    );
    tree.assert_all_cancelled();
    waiters.assert_all_woken();
    tree.root.cancel();
    tree.a1.cancel();
    for r in registrations {
        assert!(!r.unregister(), "every callback already ran");
    }
}

/// Callbacks that panic: every other callback of the tree still runs (once),
/// every waiter is woken, and the first panic reaches `cancel`'s caller.
#[test]
fn panicking_callback_still_runs_other_callbacks_and_reraises_the_first() {
    isolated(|| {
        within("panicking callbacks", || panicking_callbacks(true));
    });
}

fn panicking_captured_value_when_callback_runs(threads: bool) {
    let tree = Tree::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicUsize::new(0));
    let bomb = Bomb::armed(&drops, "captured");
    let r1 = tree.a.on_cancel(move |_| {
        let _keep = &bomb;
    });
    let r = ran.clone();
    let r2 = tree.a.on_cancel(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    let waiters = Waiters::on(Kind::Cancelled, &[&tree.root, &tree.a2], threads);
    let name = expect_injected(
        catch(|| tree.root.cancel()),
        "cancel with a panicking captured value",
    );
    assert_eq!(name, "captured");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the captured value was dropped once"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 1, "the next callback still ran");
    tree.assert_all_cancelled();
    waiters.assert_all_woken();
    tree.root.cancel();
    drop((r1, r2));
}

/// A callback whose captured value panics in `Drop` (right after the callback
/// ran) is treated like a panicking callback: the others still run, the panic
/// reaches `cancel`'s caller.
#[test]
fn panicking_captured_value_drop_after_callback_still_runs_other_callbacks() {
    isolated(|| {
        within("panicking captured value", || {
            panicking_captured_value_when_callback_runs(true)
        });
    });
}

fn panicking_captured_value_on_unregister() {
    let tree = Tree::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let bomb = Bomb::armed(&drops, "captured");
    let registration = tree.a1.on_cancel(move |_| {
        let _keep = &bomb;
    });
    expect_injected(
        catch(move || registration.unregister()),
        "unregistering a callback with a panicking captured value",
    );
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    // Nothing is left locked: register, cancel, wait.
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let _again = tree.a1.on_cancel(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    let waiters = Waiters::on(Kind::Cancelled, &[&tree.a1], false);
    tree.root.cancel();
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    tree.assert_all_cancelled();
    waiters.assert_all_woken();
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the unregistered callback never ran"
    );
}

/// Unregistering a callback whose captured value panics in `Drop`: the panic
/// reaches the dropper and the token stays fully usable.
#[test]
fn panicking_captured_value_drop_on_unregister_leaves_the_token_usable() {
    isolated(|| {
        within(
            "panicking captured value on unregister",
            panicking_captured_value_on_unregister,
        );
    });
}

fn callback_panicking_when_run_at_once() {
    let tree = Tree::new();
    tree.root.cancel();
    expect_injected(
        catch(|| tree.a1.on_cancel(|_| inject("at once"))),
        "on_cancel on a cancelled token, with a panicking callback",
    );
    expect_injected(
        catch(|| {
            let _guard = tree.a.on_cancel_scoped(|_| inject("scoped at once"));
        }),
        "on_cancel_scoped on a cancelled token, with a panicking callback",
    );
    // Nothing was left locked: callbacks, waits and cancels still work.
    let ran = Arc::new(AtomicUsize::new(0));
    for token in tree.all() {
        let r = ran.clone();
        token.on_cancel(move |_| {
            r.fetch_add(1, Ordering::SeqCst);
        });
        assert!(token.wait_timeout(LONG_WAIT).is_ok());
        token.cancel();
    }
    assert_eq!(ran.load(Ordering::SeqCst), 5, "each ran at once");
    tree.assert_all_cancelled();
}

/// Fails if a callback run at once runs under the token's lock or its panic skips `on_cancel`.
#[test]
fn a_callback_panicking_when_run_at_once_reaches_the_on_cancel_caller() {
    isolated(|| {
        within(
            "callback panics when run at once",
            callback_panicking_when_run_at_once,
        );
    });
}

fn scoped_guard_with_panicking_capture_dropped() {
    let tree = Tree::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicUsize::new(0));
    let bomb = Bomb::armed(&drops, "captured");
    let r = ran.clone();
    let guard = tree.a1.on_cancel_scoped(move |_| {
        let _keep = &bomb;
        r.fetch_add(1, Ordering::SeqCst);
    });
    expect_injected(
        catch(move || drop(guard)),
        "dropping a scoped guard whose callback captured a panicking value",
    );
    assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped once");
    let r = ran.clone();
    let _other = tree.a1.on_cancel_scoped(move |_| {
        r.fetch_add(10, Ordering::SeqCst);
    });
    let waiters = Waiters::on(Kind::Cancelled, &[&tree.a1, &tree.root], false);
    tree.root.cancel();
    assert_eq!(
        ran.load(Ordering::SeqCst),
        10,
        "the unregistered callback never ran, the other one ran once"
    );
    tree.assert_all_cancelled();
    waiters.assert_all_woken();
}

/// Fails if the guard drops the callback before removing it (it runs), under a lock, or silently.
#[test]
fn a_scoped_guard_whose_capture_panics_on_drop_still_unregisters_it() {
    isolated(|| {
        within(
            "scoped guard with a panicking capture",
            scoped_guard_with_panicking_capture_dropped,
        );
    });
}

/// A drop guard, dropped normally, cancels the subtree; a panicking callback
/// still lets every other callback run, then reaches the guard's dropper.
fn drop_guard_with_panicking_callback() {
    let tree = Tree::new();
    let ran = Arc::new(AtomicUsize::new(0));
    let _bad = tree.a.on_cancel(|_| inject("guard callback"));
    let r = ran.clone();
    let _good = tree.a1.on_cancel(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    let waiters = Waiters::on(Kind::Cancelled, &[&tree.a, &tree.a2], false);
    let guard = tree.a.clone().drop_guard();
    assert_eq!(
        expect_injected(
            catch(move || drop(guard)),
            "dropping a drop guard whose cancel runs a panicking callback",
        ),
        "guard callback"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 1, "the other callback ran");
    assert!(tree.a.is_cancelled() && tree.a1.is_cancelled() && tree.a2.is_cancelled());
    assert!(!tree.root.is_cancelled() && !tree.b.is_cancelled());
    waiters.assert_all_woken();
}

/// Fails if the guard's cancel stops at the panicking callback or swallows its panic.
#[test]
fn a_drop_guard_reraises_a_callback_panic_after_cancelling_the_subtree() {
    isolated(|| {
        within(
            "drop guard with a panicking callback",
            drop_guard_with_panicking_callback,
        );
    });
}

/// A drop guard dropped while its thread unwinds (the guard's purpose: cancel
/// the work when a scope panics), with a callback and a waker that panic
/// too: those panics are dropped, everyone else is woken and run, no abort.
fn drop_guard_dropped_while_unwinding() {
    let tree = Tree::new();
    let ran = Arc::new(AtomicUsize::new(0));
    let _bad = tree
        .a
        .on_cancel(|_| std::panic::panic_any(Injected("callback while unwinding")));
    let r = ran.clone();
    let _good = tree.a1.on_cancel(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    let loud = Arc::new(WakePanicsWhileUnwinding(AtomicUsize::new(0)));
    let mut bad = waiting(Kind::Cancelled, &tree.a2);
    assert!(poll_with(bad.as_mut(), &Waker::from(loud.clone())).is_pending());
    let waiters = Waiters::on(Kind::Cancelled, &[&tree.a, &tree.a1], true);
    assert_eq!(
        drop_while_unwinding(tree.a.clone().drop_guard()),
        "the unwinding panic"
    );
    assert_eq!(
        loud.0.load(Ordering::SeqCst),
        1,
        "the panicking waker was woken"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 1, "the other callback ran");
    assert!(tree.a.is_cancelled() && tree.a1.is_cancelled() && tree.a2.is_cancelled());
    assert!(!tree.root.is_cancelled());
    waiters.assert_all_woken();
    drop(bad);
}

/// Fails (the child aborts) if the first panic is re-raised by the guard's `Drop` mid-unwind.
#[test]
fn a_drop_guard_dropped_while_unwinding_runs_every_callback_without_aborting() {
    isolated(|| {
        within(
            "drop guard dropped while unwinding",
            drop_guard_dropped_while_unwinding,
        );
    });
}

fn panicking_losing_reason() {
    let tree = Tree::new();
    tree.root.cancel();
    let drops = Arc::new(AtomicUsize::new(0));
    let result = catch(|| {
        tree.a
            .cancel_with(CancelReason::custom(Bomb::armed(&drops, "reason")))
    });
    expect_injected(result, "a losing custom reason whose Drop panics");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the losing reason was dropped once"
    );
    tree.assert_all_cancelled();
    assert_eq!(
        tree.a.reason(),
        Some(CancelReason::Cancelled),
        "the first reason stays"
    );
    tree.a.cancel();
}

/// A custom reason whose `Drop` panics, losing to an earlier cancel: the panic
/// reaches the caller, the tree keeps its state.
#[test]
fn panicking_reason_drop_in_a_losing_cancel_leaves_the_tree_cancelled() {
    isolated(|| {
        within("panicking losing reason", panicking_losing_reason);
    });
}

/// A deadline whose callback and waker panic (on the timer thread) does not
/// stop the other callbacks, waiters or later deadlines.
#[test]
#[cfg_attr(miri, ignore = "starts the timer thread, which outlives the test")]
fn panicking_deadline_callback_and_waker_do_not_stop_the_timer() {
    isolated(|| {
        within("panicking deadline", || {
            let tree = Tree::new();
            let ran = Arc::new(AtomicUsize::new(0));
            let _bad = tree.a.on_cancel(|_| inject("deadline callback"));
            let r = ran.clone();
            let _good = tree.a.on_cancel(move |_| {
                r.fetch_add(1, Ordering::SeqCst);
            });
            let faults = Faults::new();
            let mut bad = waiting(Kind::Cancelled, &tree.a1);
            assert!(poll_with(bad.as_mut(), &faults.waker()).is_pending());
            faults.panic_on_wake(1);
            let waiters = Waiters::on(Kind::Cancelled, &[&tree.a, &tree.a2], true);
            tree.a.cancel_after(Duration::from_millis(20));
            assert!(tree.a.wait_timeout(PROMPT).is_ok(), "the deadline fired");
            waiters.assert_all_woken();
            assert!(
                eventually(|| ran.load(Ordering::SeqCst) == 1),
                "the other callback ran"
            );
            assert_eq!(faults.wakes(), 1);
            assert!(tree.a1.is_cancelled() && tree.a2.is_cancelled());
            // The timer still serves later deadlines.
            let later = CancellationToken::new();
            later.cancel_after(Duration::from_millis(20));
            assert!(
                later.wait_timeout(PROMPT).is_ok(),
                "a later deadline still fires"
            );
            drop(bad);
        });
    });
}

// ---------------------------------------------------------------------------
// 3. Re-entrant user code
// ---------------------------------------------------------------------------

fn waker_drops_its_own_future(kind: Kind) {
    let root = CancellationToken::new();
    let child = root.child_token();
    let grandchild = child.child_token();
    let mut futures: Vec<(Slot<()>, Arc<Faults>)> = Vec::new();
    // A future holding another handle of a live token, and one holding the
    // only handle of a child and the only handle of a grandchild.
    for token in [child.clone(), root.child_token(), grandchild.child_token()] {
        let fut = slot(owned_waiting(kind, token));
        let faults = Faults::new();
        let f = fut.clone();
        faults.on_wake(move || drop_slot(&f));
        assert!(poll_slot(&fut, &faults.waker()).unwrap().is_pending());
        futures.push((fut, faults));
    }
    let mut other = owned_waiting(kind, grandchild.clone());
    let counter = register(&mut other);
    drop(grandchild);
    root.cancel();
    for (fut, faults) in &futures {
        assert!(fut.lock().unwrap().is_none(), "the wake dropped its future");
        assert_eq!(faults.wakes(), 1);
        assert_eq!(faults.live(), 0, "no waker clone is left behind");
    }
    assert!(counter.wakes() >= 1);
    assert!(child.is_cancelled());
}

/// A waker that takes and drops the very future it was registered by (and so,
/// for some, the last handle of its token) from inside `wake()`: no deadlock,
/// everyone is woken.
#[test]
fn waker_dropping_its_own_future_does_not_deadlock() {
    isolated(|| {
        for kind in [Kind::CancelledOwned, Kind::RunUntilCancelledOwned] {
            within(&format!("{kind:?}: waker drops its future"), move || {
                waker_drops_its_own_future(kind)
            });
        }
    });
}

fn waker_drops_token_handles() {
    let handles = Arc::new(Mutex::new(Vec::new()));
    let tree = Tree::new();
    let root = tree.root.clone();
    let Tree { a, a1, a2, b, .. } = tree;
    let extra = a1.child_token();
    handles
        .lock()
        .unwrap()
        .extend([a.clone(), a1.clone(), a2, b, extra.clone()]);
    let faults = Faults::new();
    let h = handles.clone();
    faults.on_wake(move || {
        let taken = std::mem::take(&mut *h.lock().unwrap());
        drop(taken);
    });
    let mut fut = waiting(Kind::Cancelled, &extra);
    assert!(poll_with(fut.as_mut(), &faults.waker()).is_pending());
    drop((a1, a));
    root.cancel();
    assert!(handles.lock().unwrap().is_empty());
    assert!(extra.is_cancelled());
    assert_eq!(faults.wakes(), 1);
    drop(fut);
    drop(extra);
    faults.clear_hook();
}

/// A waker that drops token handles (the last ones of several tokens of the
/// tree being cancelled) from inside `wake()`: no deadlock.
#[test]
fn waker_dropping_token_handles_during_cancel_does_not_deadlock() {
    isolated(|| {
        within("waker drops token handles", waker_drops_token_handles);
    });
}

fn waker_cancels_again(kind: Kind) {
    let tree = Tree::new();
    let results = Arc::new(Mutex::new(Vec::new()));
    let faults = Faults::new();
    let (r, a1, a, root) = (
        results.clone(),
        tree.a1.clone(),
        tree.a.clone(),
        tree.root.clone(),
    );
    faults.on_wake(move || {
        r.lock()
            .unwrap()
            .push(a1.cancel_with(CancelReason::Cancelled)); // the token itself
        r.lock()
            .unwrap()
            .push(a.cancel_with(CancelReason::Cancelled)); // its parent, being cancelled
        r.lock()
            .unwrap()
            .push(root.cancel_with(CancelReason::Cancelled)); // an ancestor not cancelled yet
    });
    let mut fut = waiting(kind, &tree.a1);
    assert!(poll_with(fut.as_mut(), &faults.waker()).is_pending());
    let counter = {
        let mut other = waiting(kind, &tree.a2);
        let c = register(&mut other);
        tree.a.cancel();
        drop(other);
        c
    };
    assert_eq!(
        results.lock().unwrap()[..3],
        [false, false, true],
        "only the root was still to be cancelled"
    );
    assert!(counter.wakes() >= 1);
    tree.assert_all_cancelled();
    faults.clear_hook();
}

/// A waker that calls `cancel` on its own token, on the parent being
/// cancelled, and on an ancestor, from inside `wake()`: no deadlock.
#[test]
fn waker_cancelling_its_token_or_its_parent_does_not_deadlock() {
    for_each_kind("waker cancels again", waker_cancels_again);
}

fn waker_registers_callbacks() {
    let tree = Tree::new();
    let ran = Arc::new(AtomicUsize::new(0));
    let faults = Faults::new();
    let (r, a1, a) = (ran.clone(), tree.a1.clone(), tree.a.clone());
    faults.on_wake(move || {
        for t in [&a1, &a] {
            let r = r.clone();
            t.on_cancel(move |_| {
                r.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    let mut fut = waiting(Kind::Cancelled, &tree.a1);
    assert!(poll_with(fut.as_mut(), &faults.waker()).is_pending());
    tree.root.cancel();
    assert_eq!(
        ran.load(Ordering::SeqCst),
        2,
        "callbacks registered inside the wake ran once, before cancel returned"
    );
    drop(fut);
    faults.clear_hook();
}

/// A waker that registers new `on_cancel` callbacks (on its token and its
/// parent) from inside `wake()`: no deadlock, each runs once.
#[test]
fn waker_registering_on_cancel_during_cancel_runs_it_once() {
    isolated(|| {
        within("waker registers callbacks", waker_registers_callbacks);
    });
}

fn waker_waits_on_cancelled_tokens() {
    let tree = Tree::new();
    let results = Arc::new(Mutex::new(Vec::new()));
    let faults = Faults::new();
    let (r, t) = (
        results.clone(),
        [tree.a1.clone(), tree.a.clone(), tree.root.clone()],
    );
    faults.on_wake(move || {
        for token in &t {
            let start = Instant::now();
            let cancelled = token.wait_timeout(LONG_WAIT).is_ok();
            r.lock()
                .unwrap()
                .push((cancelled, start.elapsed() < PROMPT));
        }
    });
    let mut fut = waiting(Kind::Cancelled, &tree.a1);
    assert!(poll_with(fut.as_mut(), &faults.waker()).is_pending());
    tree.root.cancel();
    assert_eq!(
        results.lock().unwrap()[..3],
        [(true, true); 3],
        "wait_timeout inside the wake returned true at once"
    );
    drop(fut);
    faults.clear_hook();
}

/// A waker that calls `wait_timeout(30 s)` on its (already cancelled) token
/// and its cancelled ancestors from inside `wake()`: each returns `true` at
/// once.
#[test]
fn waker_waiting_on_its_cancelled_token_returns_at_once() {
    isolated(|| {
        within("waker waits", waker_waits_on_cancelled_tokens);
    });
}

fn callback_reenters() {
    let tree = Tree::new();
    let own: Arc<Mutex<Option<ripcord::CancelCallback>>> = Arc::new(Mutex::new(None));
    let last_handle = Arc::new(Mutex::new(Some(tree.a1.child_token())));
    let log = Arc::new(Mutex::new(Vec::new()));
    let (o, lh, l) = (own.clone(), last_handle.clone(), log.clone());
    let (a1, a, root) = (tree.a1.clone(), tree.a.clone(), tree.root.clone());
    let registration = tree.a1.on_cancel(move |_| {
        // Drop this callback's own registration handle.
        let mine = o.lock().unwrap().take();
        drop(mine);
        // Register more callbacks: they run at once.
        let l2 = l.clone();
        a1.on_cancel(move |_| l2.lock().unwrap().push("nested"));
        // Wait on cancelled tokens.
        l.lock().unwrap().push(
            if a1.wait_timeout(LONG_WAIT).is_ok() && root.wait_timeout(LONG_WAIT).is_ok() {
                "waited"
            } else {
                "timed out"
            },
        );
        // Cancel again.
        a1.cancel();
        a.cancel();
        root.cancel();
        // Drop the last handle of a cancelled grandchild.
        let last = lh.lock().unwrap().take();
        drop(last);
        l.lock().unwrap().push("done");
    });
    *own.lock().unwrap() = Some(registration);
    tree.root.cancel();
    assert_eq!(*log.lock().unwrap(), ["nested", "waited", "done"]);
    assert!(own.lock().unwrap().is_none());
    tree.assert_all_cancelled();
}

/// An `on_cancel` callback that drops its own registration, registers more
/// callbacks, waits on cancelled tokens, cancels again and drops a last token
/// handle: no deadlock.
#[test]
fn callback_reentering_the_token_does_not_deadlock() {
    isolated(|| {
        within("callback re-enters", callback_reenters);
    });
}

fn scoped_callback_drops_its_own_guard() {
    let tree = Tree::new();
    let own: Arc<Mutex<Option<CallbackGuard>>> = Arc::new(Mutex::new(None));
    let ran = Arc::new(AtomicUsize::new(0));
    let (o, r) = (own.clone(), ran.clone());
    let guard = tree.a1.on_cancel_scoped(move |_| {
        let mine = o.lock().unwrap().take();
        drop(mine);
        r.fetch_add(1, Ordering::SeqCst);
    });
    *own.lock().unwrap() = Some(guard);
    tree.root.cancel();
    assert_eq!(ran.load(Ordering::SeqCst), 1, "the callback ran once");
    assert!(own.lock().unwrap().is_none(), "it dropped its own guard");
    tree.assert_all_cancelled();
}

/// Fails (`within` reports a deadlock) if a guard dropped inside its own callback waits for it.
#[test]
fn a_scoped_callback_dropping_its_own_guard_does_not_deadlock() {
    isolated(|| {
        within(
            "scoped callback drops its guard",
            scoped_callback_drops_its_own_guard,
        );
    });
}

// ---------------------------------------------------------------------------
// 4. Slow deadline callbacks// ---------------------------------------------------------------------------
// 4. Slow deadline callbacks
// ---------------------------------------------------------------------------

/// Token A's deadline (20 ms) runs a callback that blocks for 1 s; token B's
/// deadline (60 ms) still cancels B on time, long before A's callback returns.
#[test]
#[cfg_attr(miri, ignore = "wall-clock bounds")]
fn blocking_deadline_callback_does_not_delay_other_deadlines() {
    isolated(|| {
        within("slow deadline callback", || {
            let a = CancellationToken::new();
            let b = CancellationToken::new();
            let returned = Arc::new(AtomicBool::new(false));
            let r = returned.clone();
            let _slow = a.on_cancel(move |_| {
                std::thread::sleep(Duration::from_secs(1));
                r.store(true, Ordering::SeqCst);
            });
            a.cancel_after(Duration::from_millis(20));
            b.cancel_after(Duration::from_millis(60));
            let cancelled = b.wait_timeout(Duration::from_millis(500)).is_ok();
            let a_returned = returned.load(Ordering::SeqCst);
            assert!(cancelled, "B's deadline waited for A's blocking callback");
            assert!(
                !a_returned,
                "B was cancelled only after A's callback returned"
            );
            assert_eq!(b.reason(), Some(CancelReason::DeadlineExceeded));
            assert!(eventually(|| returned.load(Ordering::SeqCst)));
        });
    });
}

// ---------------------------------------------------------------------------
// 5. Memory
// ---------------------------------------------------------------------------

/// A parent whose freeing shows: a callback registered on it (never run)
/// captures a counter that is dropped when the parent's memory goes.
fn watched_parent(freed: &Arc<AtomicUsize>) -> CancellationToken {
    let parent = CancellationToken::new();
    let marker = Bomb::dud(freed);
    parent.on_cancel(move |_| {
        let _keep = &marker;
    });
    parent
}

/// Who else holds the parent when the child goes.
#[derive(Clone, Copy, Debug)]
enum Holder {
    /// Nobody: the child is the parent's last holder.
    Nobody,
    /// Another child.
    Sibling,
    /// A handle of the parent itself.
    Handle,
}

fn child_with_panicking_capture_dropped(holder: Holder) {
    let freed = Arc::new(AtomicUsize::new(0));
    let drops = Arc::new(AtomicUsize::new(0));
    let parent = watched_parent(&freed);
    let child = parent.child_token();
    let sibling = matches!(holder, Holder::Sibling).then(|| parent.child_token());
    let kept = matches!(holder, Holder::Handle).then(|| parent.clone());
    let bomb = Bomb::armed(&drops, "captured");
    child.on_cancel(move |_| {
        let _keep = &bomb;
    });
    let also = DropCounter::new(&drops, 0);
    child.on_cancel(move |_| {
        let _keep = &also;
    });
    drop(parent);
    expect_injected(
        catch(move || drop(child)),
        "dropping a child whose callback captured a panicking value",
    );
    assert_eq!(
        drops.load(Ordering::SeqCst),
        2,
        "{holder:?}: both captured values were dropped once"
    );
    match holder {
        Holder::Nobody => {
            assert_eq!(
                freed.load(Ordering::SeqCst),
                1,
                "the parent, whose last holder was the child, was freed"
            );
        }
        Holder::Sibling => {
            assert_eq!(
                freed.load(Ordering::SeqCst),
                0,
                "the sibling still holds the parent"
            );
            drop(sibling);
            assert_eq!(
                freed.load(Ordering::SeqCst),
                1,
                "the parent was freed with the sibling"
            );
        }
        Holder::Handle => {
            // The parent is intact: a new child, a cancel reaching it, its
            // own callback (the marker) running.
            let parent = kept.unwrap();
            let newer = parent.child_token();
            parent.cancel();
            assert!(newer.is_cancelled());
            assert_eq!(freed.load(Ordering::SeqCst), 1, "the parent's callback ran");
        }
    }
}

/// A child (never cancelled) whose callback captured a value with a panicking
/// `Drop` is dropped: the panic reaches the dropper, and the parent is neither
/// leaked nor broken (drop counters and allocator).
#[test]
fn child_with_panicking_captured_value_dropped_uncancelled_frees_the_parent() {
    isolated(|| {
        within("panicking capture in a dropped child", || {
            for holder in [Holder::Nobody, Holder::Sibling, Holder::Handle] {
                child_with_panicking_capture_dropped(holder);
            }
            assert_no_leak("child with a panicking capture", 30, || {
                for holder in [Holder::Nobody, Holder::Sibling, Holder::Handle] {
                    child_with_panicking_capture_dropped(holder);
                }
            });
        });
    });
}

fn child_with_panicking_reason_dropped() {
    let freed = Arc::new(AtomicUsize::new(0));
    let drops = Arc::new(AtomicUsize::new(0));
    let parent = watched_parent(&freed);
    let child = parent.child_token();
    let grandchild = child.child_token();
    assert!(child.cancel_with(CancelReason::custom(Bomb::armed(&drops, "reason"))));
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "the winning reason is kept"
    );
    drop(parent);
    drop(grandchild);
    expect_injected(
        catch(move || drop(child)),
        "freeing a token whose reason panics in Drop",
    );
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(freed.load(Ordering::SeqCst), 1, "the parent was freed");
}

/// A cancelled child holding a custom reason whose `Drop` panics is freed: the
/// panic reaches the dropper and the parent is not leaked.
#[test]
fn panicking_reason_drop_when_the_token_is_freed_frees_the_parent() {
    isolated(|| {
        within("panicking reason on free", || {
            child_with_panicking_reason_dropped();
            assert_no_leak(
                "child with a panicking reason",
                30,
                child_with_panicking_reason_dropped,
            );
        });
    });
}

/// `cancel()` on tokens with a pending `cancel_after(1 h)` releases their timer
/// entries while the cancelled tokens are still alive: at least a map entry's
/// worth of memory per token comes back at once. What stays is each token's own
/// record of its deadline (which `deadline()` keeps reporting), not the timer's.
#[test]
#[cfg_attr(miri, ignore = "1,000 deadlines: too slow under Miri")]
fn cancel_releases_a_pending_deadline() {
    isolated(|| {
        within("cancel releases the timer entry", || {
            const N: usize = 1000;
            // Warm up the timer thread and its map.
            let warm: Vec<_> = (0..N).map(|_| CancellationToken::new()).collect();
            for t in &warm {
                t.cancel_after(Duration::from_secs(3600));
            }
            drop(warm);
            let tokens: Vec<_> = (0..N).map(|_| CancellationToken::new()).collect();
            let before = settled_bytes();
            for t in &tokens {
                t.cancel_after(Duration::from_secs(3600));
            }
            let armed = settled_bytes();
            for t in &tokens {
                t.cancel();
            }
            let after = settled_bytes();
            let grown = armed - before;
            let kept = after - before;
            assert!(
                grown >= (16 * N) as isize,
                "setting {N} deadlines should cost memory: {grown} bytes"
            );
            let released = armed - after;
            assert!(
                released >= (32 * N) as isize,
                "cancelling {N} tokens gave back only {released} of the {grown} bytes their deadlines took: the timer entries stayed"
            );
            assert!(
                kept <= (160 * N) as isize,
                "cancelled tokens keep {} bytes each for their deadline",
                kept / N as isize
            );
            assert!(tokens.iter().all(|t| t.deadline().is_some()));
            assert!(
                tokens
                    .iter()
                    .all(|t| t.reason() == Some(CancelReason::Cancelled))
            );
        });
    });
}

/// A long-lived parent that had a burst of 10,000 children, all dropped again,
/// gives their memory back while it is still alive.
#[test]
#[cfg_attr(miri, ignore = "10,000 children: too slow under Miri")]
fn parent_gives_memory_back_after_a_burst_of_children() {
    isolated(|| {
        within("child burst", || {
            const N: usize = 10_000;
            let parent = CancellationToken::new();
            let warm: Vec<_> = (0..16).map(|_| parent.child_token()).collect();
            drop(warm);
            let before = settled_bytes();
            let children: Vec<_> = (0..N).map(|_| parent.child_token()).collect();
            let peak = settled_bytes();
            drop(children);
            let after = settled_bytes();
            assert!(
                peak - before > (64 * N) as isize,
                "the children should have cost memory"
            );
            assert!(
                after - before <= 8 * 1024,
                "{} bytes are still held after 10,000 children of a live parent were dropped",
                after - before
            );
            assert!(!parent.is_cancelled());
        });
    });
}

/// Every fault scenario above, repeated, leaves no allocation behind (nodes,
/// callbacks, reasons, waker clones, listeners).
#[test]
#[cfg_attr(
    miri,
    ignore = "allocation counting across many rounds: too slow under Miri; the scenarios run in their own tests"
)]
fn fault_scenarios_return_every_allocation() {
    let scenarios: [(&str, fn()); 26] = [
        ("wakers see the tree cancelled", wakers_see_tree_cancelled),
        (
            "callbacks see the tree cancelled",
            callbacks_see_tree_cancelled,
        ),
        ("panicking wake in a tree", || {
            KINDS.iter().for_each(|&k| panicking_wake_in_tree(k, false))
        }),
        ("panicking wake on a lone token", || {
            KINDS.iter().for_each(|&k| panicking_wake_on_leaf(k, false))
        }),
        ("panicking waker clone", || {
            KINDS.iter().for_each(|&k| panicking_waker_clone(k))
        }),
        ("panicking waker drop in cancel", || {
            KINDS
                .iter()
                .for_each(|&k| panicking_waker_drop_in_cancel(k, false))
        }),
        ("panicking waker drop with the future", || {
            KINDS
                .iter()
                .for_each(|&k| panicking_waker_drop_with_future(k, false))
        }),
        ("panicking callbacks", || panicking_callbacks(false)),
        ("panicking captured value", || {
            panicking_captured_value_when_callback_runs(false)
        }),
        (
            "panicking captured value on unregister",
            panicking_captured_value_on_unregister,
        ),
        ("panicking losing reason", panicking_losing_reason),
        ("waker drops its own cancelled_owned", || {
            waker_drops_its_own_future(Kind::CancelledOwned)
        }),
        ("waker drops its own run_until_cancelled_owned", || {
            waker_drops_its_own_future(Kind::RunUntilCancelledOwned)
        }),
        ("waker drops token handles", waker_drops_token_handles),
        ("waker cancels again", || {
            KINDS.iter().for_each(|&k| waker_cancels_again(k))
        }),
        ("waker registers callbacks", waker_registers_callbacks),
        ("waker waits", waker_waits_on_cancelled_tokens),
        ("callback re-enters", callback_reenters),
        ("child with a panicking capture", || {
            [Holder::Nobody, Holder::Sibling, Holder::Handle]
                .into_iter()
                .for_each(child_with_panicking_capture_dropped)
        }),
        (
            "child with a panicking reason",
            child_with_panicking_reason_dropped,
        ),
        ("panicking clone of a new waker", || {
            KINDS
                .iter()
                .for_each(|&k| panicking_clone_of_a_new_waker(k))
        }),
        ("panicking drop of a replaced waker", || {
            KINDS
                .iter()
                .for_each(|&k| panicking_drop_of_a_replaced_waker(k))
        }),
        (
            "callback panics when run at once",
            callback_panicking_when_run_at_once,
        ),
        (
            "scoped guard with a panicking capture",
            scoped_guard_with_panicking_capture_dropped,
        ),
        (
            "drop guard with a panicking callback",
            drop_guard_with_panicking_callback,
        ),
        (
            "scoped callback drops its guard",
            scoped_callback_drops_its_own_guard,
        ),
    ];
    assert_no_leaks(20, &scenarios);
}
