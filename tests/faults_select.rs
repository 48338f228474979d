//! Fault injection on `Select`: panicking and re-entrant wakers registered
//! with several events at once. The firing event's other waiters are still
//! woken, nothing stays registered, and the panic reaches the notifier.
#![cfg(all(feature = "std", not(loom)))]

mod common;
mod faults_support;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use common::CountingWaker;
use faults_support::*;
use ripcord::CancellationToken;
use ripcord::oneshot;
use ripcord::select::{Ready, Select};

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

// ---------------------------------------------------------------------------
// Registration and withdrawal are transactions: a panic at every point where
// a set runs user code, at every position, for every kind of member.
// ---------------------------------------------------------------------------

use ripcord::promise::{self, Promise, Resolver};
use ripcord::shutdown::Shutdown;

/// The handle a set borrows, one of each kind a set can hold.
enum Member {
    Recv(oneshot::Receiver<u8>),
    Token(CancellationToken),
    Promise(Promise<u8>),
    Closed(oneshot::Sender<u8>),
    Drained(Shutdown),
}

/// What makes the matching member ready, kept apart from the borrowed handle
/// so a test can fire it while the set lives.
enum Fire {
    Send(oneshot::Sender<u8>),
    Cancel(CancellationToken),
    Resolve(Resolver<u8>),
    DropReceiver(oneshot::Receiver<u8>),
    Trigger(Shutdown),
}

impl Fire {
    fn fire(self) {
        match self {
            Fire::Send(tx) => drop(tx.send(1)),
            Fire::Cancel(token) => token.cancel(),
            Fire::Resolve(resolver) => drop(resolver.resolve(1)),
            Fire::DropReceiver(rx) => drop(rx),
            Fire::Trigger(shutdown) => shutdown.trigger(),
        }
    }
}

const KINDS: usize = 5;
const KIND_NAMES: [&str; KINDS] = ["receiver", "token", "promise", "sender", "shutdown"];

/// `n` members, the kind at position `i` being `(i + rot) % KINDS`.
fn members(n: usize, rot: usize) -> (Vec<Member>, Vec<Option<Fire>>) {
    (0..n)
        .map(|i| match (i + rot) % KINDS {
            0 => {
                let (tx, rx) = oneshot::channel();
                (Member::Recv(rx), Fire::Send(tx))
            }
            1 => {
                let token = CancellationToken::new();
                (Member::Token(token.clone()), Fire::Cancel(token))
            }
            2 => {
                let (resolver, promise) = promise::channel();
                (Member::Promise(promise), Fire::Resolve(resolver))
            }
            3 => {
                let (tx, rx) = oneshot::channel();
                (Member::Closed(tx), Fire::DropReceiver(rx))
            }
            _ => {
                let shutdown = Shutdown::new();
                (Member::Drained(shutdown.clone()), Fire::Trigger(shutdown))
            }
        })
        .map(|(member, fire)| (member, Some(fire)))
        .unzip()
}

fn select_over(members: &mut [Member]) -> Select<'_> {
    let mut sel = Select::new();
    for member in members {
        match member {
            Member::Recv(rx) => sel.recv(rx),
            Member::Token(token) => sel.cancelled(token),
            Member::Promise(promise) => sel.resolved(promise),
            Member::Closed(tx) => sel.closed(tx),
            Member::Drained(shutdown) => sel.drained(shutdown),
        };
    }
    sel
}

/// Fires every member not fired yet (each registration left behind would
/// wake a waker whose future is gone).
fn fire_all(fires: &mut [Option<Fire>]) {
    for fire in fires.iter_mut().filter_map(Option::take) {
        fire.fire();
    }
}

/// Runs `scenario(n, rot, p, what)` for sets of 1 to 6 members (inline and
/// heap storage), every rotation of the kinds and every position `p`.
fn every_position(scenario: fn(usize, usize, usize, &str)) {
    // Under Miri, one inline and one heap set (every position, two
    // rotations): the whole matrix would take many minutes there.
    let sets: Vec<(usize, usize)> = if cfg!(miri) {
        vec![(3, 0), (5, 2)]
    } else {
        (1..=6)
            .flat_map(|n| (0..KINDS).map(move |rot| (n, rot)))
            .collect()
    };
    for (n, rot) in sets {
        for p in 0..n {
            let what = format!(
                "set of {n} ({}), position {p} ({})",
                (0..n)
                    .map(|i| KIND_NAMES[(i + rot) % KINDS])
                    .collect::<Vec<_>>()
                    .join(", "),
                KIND_NAMES[(p + rot) % KINDS],
            );
            scenario(n, rot, p, &what);
        }
    }
}

/// One scenario's frame: a set over `n` members (kinds rotated by `rot`)
/// and a `Ready` on it, handed to `body` with the fault waker and the
/// members' triggers. Afterwards every member not fired yet is fired, the
/// waker must have been woken `wakes` times in all (a registration left
/// behind would add one), and no clone of it may be left anywhere.
fn in_a_set(
    n: usize,
    rot: usize,
    what: &str,
    wakes: usize,
    body: impl FnOnce(&Faults, &Waker, Pin<Box<Ready<'_, '_>>>, &mut [Option<Fire>]),
) {
    let faults = Faults::new();
    let waker = faults.waker();
    let (mut members, mut fires) = members(n, rot);
    {
        let mut sel = select_over(&mut members);
        body(&faults, &waker, Box::pin(sel.ready()), &mut fires);
    }
    fire_all(&mut fires);
    assert_eq!(
        faults.wakes(),
        wakes,
        "{what}: a withdrawn registration was woken"
    );
    drop(waker);
    assert_eq!(faults.live(), 0, "{what}: a waker clone was left behind");
}

/// The waker's `clone` panics while the set registers with member `p`: the
/// members registered before it are withdrawn (rule 1 of `AnyOf`), the
/// panic reaches the poller, and the set still works when polled again.
/// Fails if a registration survives the unwinding (defect 2 of issue 20).
fn clone_panic_at(n: usize, rot: usize, p: usize, what: &str) {
    in_a_set(n, rot, what, 1, |faults, waker, mut ready, fires| {
        faults.panic_on_clone_after(p);
        expect_injected(catch(|| poll_with(ready.as_mut(), waker)), what);
        faults.disarm();
        assert_eq!(
            faults.live(),
            1,
            "{what}: a registration survived the panic"
        );
        assert!(poll_with(ready.as_mut(), waker).is_pending(), "{what}");
        assert_eq!(faults.live(), 1 + n, "{what}: registered with every member");
        fires[n - 1].take().unwrap().fire();
        assert_eq!(
            poll_with(ready.as_mut(), waker),
            Poll::Ready(n - 1),
            "{what}"
        );
    });
}

/// The waker's `drop` panics while a dropped `Ready` withdraws from member
/// `p`: every member is still withdrawn (rule 2), then the panic reaches the
/// code that dropped it. Fails if withdrawal stops at the panic (defect 3).
fn drop_panic_at(n: usize, rot: usize, p: usize, what: &str) {
    in_a_set(n, rot, what, 0, |faults, waker, mut ready, _| {
        assert!(poll_with(ready.as_mut(), waker).is_pending(), "{what}");
        assert_eq!(faults.live(), 1 + n, "{what}");
        faults.panic_on_drop_after(p);
        expect_injected(catch(move || drop(ready)), what);
        faults.disarm();
        assert_eq!(faults.live(), 1, "{what}: a member was not withdrawn");
    });
}

/// The last member fires; the finished wait withdraws from the others and
/// the `drop` of the one at `p` panics: all are withdrawn, the panic reaches
/// the poller, and the next poll answers the event.
fn drop_panic_after_an_event_at(n: usize, rot: usize, p: usize, what: &str) {
    let fired = n - 1;
    if p == fired {
        return; // the fired member's clone is consumed by its wake-up
    }
    in_a_set(n, rot, what, 1, |faults, waker, mut ready, fires| {
        assert!(poll_with(ready.as_mut(), waker).is_pending(), "{what}");
        fires[fired].take().unwrap().fire();
        assert_eq!(faults.wakes(), 1, "{what}");
        faults.panic_on_drop_after(p);
        expect_injected(catch(|| poll_with(ready.as_mut(), waker)), what);
        faults.disarm();
        assert_eq!(faults.live(), 1, "{what}: a member was not withdrawn");
        assert_eq!(
            poll_with(ready.as_mut(), waker),
            Poll::Ready(fired),
            "{what}"
        );
    });
}

/// Polled again with another task's waker, the set replaces each member's
/// registration; the replaced waker's `drop` panics at member `p`: the
/// registration rolls back (none of either waker stays), the panic reaches
/// the poller, and a further poll registers the new waker everywhere.
fn replaced_drop_panic_at(n: usize, rot: usize, p: usize, what: &str) {
    let (old, new) = (Faults::new(), Faults::new());
    let (old_waker, new_waker) = (old.waker(), new.waker());
    let (mut members, mut fires) = members(n, rot);
    {
        let mut sel = select_over(&mut members);
        let mut ready = Box::pin(sel.ready());
        assert!(poll_with(ready.as_mut(), &old_waker).is_pending(), "{what}");
        old.panic_on_drop_after(p);
        expect_injected(catch(|| poll_with(ready.as_mut(), &new_waker)), what);
        old.disarm();
        assert_eq!(old.live(), 1, "{what}: an old registration survived");
        assert_eq!(new.live(), 1, "{what}: a new registration survived");
        assert!(poll_with(ready.as_mut(), &new_waker).is_pending(), "{what}");
        assert_eq!(new.live(), 1 + n, "{what}");
        fires[0].take().unwrap().fire();
        assert_eq!(
            poll_with(ready.as_mut(), &new_waker),
            Poll::Ready(0),
            "{what}"
        );
    }
    fire_all(&mut fires);
    assert_eq!(old.wakes(), 0, "{what}: the replaced waker was woken");
    assert_eq!(new.wakes(), 1, "{what}");
    drop((old_waker, new_waker));
    assert_eq!(old.live() + new.live(), 0, "{what}");
}

/// The set's waker panics when member `p` wakes it: the panic reaches the
/// code that made the event happen, and the set still answers and withdraws
/// from the others.
fn wake_panic_at(n: usize, rot: usize, p: usize, what: &str) {
    in_a_set(n, rot, what, 1, |faults, waker, mut ready, fires| {
        assert!(poll_with(ready.as_mut(), waker).is_pending(), "{what}");
        faults.panic_on_wake(1);
        let fire = fires[p].take().unwrap();
        expect_injected(catch(move || fire.fire()), what);
        faults.disarm();
        assert_eq!(poll_with(ready.as_mut(), waker), Poll::Ready(p), "{what}");
        assert_eq!(faults.live(), 1, "{what}: a member was not withdrawn");
    });
}

#[test]
fn a_select_waker_clone_panic_at_any_position_rolls_back_the_registration() {
    isolated(|| within("clone panics", || every_position(clone_panic_at)));
}

#[test]
fn a_select_waker_drop_panic_at_any_position_still_withdraws_every_member() {
    isolated(|| within("drop panics", || every_position(drop_panic_at)));
}

#[test]
fn a_select_waker_drop_panic_after_an_event_still_withdraws_every_member() {
    isolated(|| {
        within("drop panics after an event", || {
            every_position(drop_panic_after_an_event_at)
        })
    });
}

#[test]
fn a_replaced_select_waker_drop_panic_rolls_back_the_new_registration() {
    isolated(|| {
        within("replaced waker's drop panics", || {
            every_position(replaced_drop_panic_at)
        })
    });
}

#[test]
fn a_select_waker_wake_panic_reaches_the_notifier_and_the_set_still_answers() {
    isolated(|| within("wake panics", || every_position(wake_panic_at)));
}

/// Issue 20, defect 2, as reported: a set over a token and a promise, polled
/// with a waker whose second `clone` panics. Before the fix the token kept a
/// clone of the waker after the `Ready` and the `Select` were dropped.
#[test]
fn a_select_whose_waker_clone_panics_while_registering_leaves_nothing_registered() {
    isolated(|| {
        within("issue 20 defect 2", || {
            let token = CancellationToken::new();
            let (resolver, promise) = promise::channel::<u8>();
            let faults = Faults::new();
            let waker = faults.waker();
            {
                let mut sel = Select::new();
                sel.cancelled(&token);
                sel.resolved(&promise);
                let mut ready = Box::pin(sel.ready());
                faults.panic_on_clone_after(1);
                expect_injected(catch(|| poll_with(ready.as_mut(), &waker)), "second clone");
            }
            faults.disarm();
            assert_eq!(faults.live(), 1, "the token kept a clone of the waker");
            token.cancel();
            resolver.resolve(1).unwrap();
            assert_eq!(faults.wakes(), 0);
        })
    });
}

/// Issue 20, defect 3, as reported: three registrations, the first withdrawn
/// clone's `drop` panics. Before the fix the other two stayed registered and
/// a later `cancel()` woke a waker whose future no longer existed.
#[test]
fn a_select_whose_waker_drop_panics_while_withdrawing_withdraws_every_member() {
    isolated(|| {
        within("issue 20 defect 3", || {
            let tokens = [(); 3].map(|()| CancellationToken::new());
            let faults = Faults::new();
            let waker = faults.waker();
            {
                let mut sel = Select::new();
                for token in &tokens {
                    sel.cancelled(token);
                }
                let mut ready = Box::pin(sel.ready());
                assert!(poll_with(ready.as_mut(), &waker).is_pending());
                faults.panic_on_drop(1);
                expect_injected(catch(move || drop(ready)), "first withdrawn clone");
            }
            faults.disarm();
            assert_eq!(faults.live(), 1, "registrations stayed behind");
            for token in &tokens {
                token.cancel();
            }
            assert_eq!(faults.wakes(), 0, "a waker of a dropped future was woken");
        })
    });
}
