//! `on_cancel`: exactly once, outside locks, unregistering, panics.
#![cfg(feature = "std")]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use ripcord::{CancelReason, CancellationToken};

fn counter() -> (Arc<AtomicUsize>, impl Fn() + Send + Clone + 'static) {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    (count, move || {
        c.fetch_add(1, Ordering::SeqCst);
    })
}

#[test]
fn callbacks_of_descendants_run_once_each_on_the_cancelling_thread() {
    let root = CancellationToken::new();
    let (count, bump) = counter();
    let me = thread::current().id();
    let mut regs = Vec::new();
    let mut kids = Vec::new();
    for _ in 0..10 {
        let child = root.child_token();
        let bump = bump.clone();
        regs.push(child.on_cancel(move |r| {
            assert_eq!(thread::current().id(), me);
            assert_eq!(r.to_string(), "all");
            bump();
        }));
        kids.push(child);
    }
    root.cancel_with(CancelReason::custom("all"));
    root.cancel();
    kids[0].cancel();
    assert_eq!(count.load(Ordering::SeqCst), 10);
}

#[test]
fn callbacks_run_after_the_whole_subtree_is_cancelled() {
    let root = CancellationToken::new();
    let child = root.child_token();
    let grandchild = child.child_token();
    let g = grandchild.clone();
    let saw = Arc::new(AtomicBool::new(false));
    let s = saw.clone();
    let _reg = root.on_cancel(move |_| s.store(g.is_cancelled(), Ordering::SeqCst));
    root.cancel();
    assert!(saw.load(Ordering::SeqCst));
}

#[test]
fn callbacks_of_one_token_run_in_registration_order() {
    let t = CancellationToken::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    let regs: Vec<_> = (0..5)
        .map(|i| {
            let o = order.clone();
            t.on_cancel(move |_| o.lock().unwrap().push(i))
        })
        .collect();
    t.cancel();
    assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    drop(regs);
}

#[test]
fn a_callback_may_use_the_token_without_deadlock() {
    let t = CancellationToken::new();
    let c = t.clone();
    let (count, bump) = counter();
    let _reg = t.on_cancel(move |_| {
        assert!(c.is_cancelled());
        c.cancel();
        let _child = c.child_token();
        drop(c.on_cancel(move |_| bump())); // runs now, on this thread
    });
    t.cancel();
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn unregister_reports_whether_the_callback_was_removed() {
    let t = CancellationToken::new();
    let (count, bump) = counter();
    let b = bump.clone();
    let reg = t.on_cancel(move |_| b());
    assert!(reg.unregister());
    let reg = t.on_cancel(move |_| bump());
    t.cancel();
    assert!(!reg.unregister());
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn unregistering_inside_its_own_callback_does_not_deadlock() {
    let t = CancellationToken::new();
    let slot: Arc<Mutex<Option<ripcord::CancelCallback>>> = Arc::new(Mutex::new(None));
    let answer = Arc::new(Mutex::new(None));
    let (s, a) = (slot.clone(), answer.clone());
    let reg = t.on_cancel(move |_| {
        let reg = s.lock().unwrap().take().unwrap();
        *a.lock().unwrap() = Some(reg.unregister());
    });
    *slot.lock().unwrap() = Some(reg);
    t.cancel();
    assert_eq!(
        *answer.lock().unwrap(),
        Some(false),
        "it is running: not removed"
    );
}

#[test]
fn dropping_a_scoped_guard_inside_its_own_callback_does_not_deadlock() {
    let t = CancellationToken::new();
    let slot: Arc<Mutex<Option<ripcord::CallbackGuard>>> = Arc::new(Mutex::new(None));
    let s = slot.clone();
    let guard = t.on_cancel_scoped(move |_| {
        let guard = s.lock().unwrap().take();
        drop(guard);
    });
    *slot.lock().unwrap() = Some(guard);
    t.cancel();
    assert!(slot.lock().unwrap().is_none());
}

#[test]
fn a_discarded_handle_still_runs_its_callback() {
    let t = CancellationToken::new();
    let (count, bump) = counter();
    let (b1, b2) = (bump.clone(), bump.clone());
    let _ = t.on_cancel(move |_| b1());
    t.on_cancel(move |_| b2());
    drop(t.on_cancel(move |_| bump()));
    t.cancel();
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[test]
fn a_discarded_handle_on_a_child_runs_when_an_ancestor_cancels() {
    let root = CancellationToken::new();
    let child = root.child_token();
    let (count, bump) = counter();
    let _ = child.on_cancel(move |_| bump());
    drop(child); // the child's own handles are gone; the callback is not
    root.cancel();
    assert_eq!(
        count.load(Ordering::SeqCst),
        0,
        "a freed token's callbacks are dropped"
    );
}

#[test]
fn a_dropped_scoped_guard_unregisters_its_callback() {
    let t = CancellationToken::new();
    let (count, bump) = counter();
    let b = bump.clone();
    drop(t.on_cancel_scoped(move |_| b()));
    let kept = t.on_cancel_scoped(move |_| bump());
    t.cancel();
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert!(!kept.unregister(), "it already ran");
}

#[test]
fn a_scoped_guard_turned_into_a_handle_stays_registered() {
    let t = CancellationToken::new();
    let (count, bump) = counter();
    let b = bump.clone();
    drop(t.on_cancel_scoped(move |_| b()).into_handle());
    let handle = t.on_cancel_scoped(move |_| bump()).into_handle();
    assert!(handle.unregister(), "the handle still removes it");
    t.cancel();
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
#[cfg_attr(miri, ignore = "needs real sleeps")]
fn dropping_a_scoped_guard_waits_for_a_running_callback() {
    let t = CancellationToken::new();
    let started = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let (s, f) = (started.clone(), finished.clone());
    let reg = t.on_cancel_scoped(move |_| {
        s.store(true, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(50));
        f.store(true, Ordering::SeqCst);
    });
    let c = t.clone();
    let canceller = thread::spawn(move || c.cancel());
    while !started.load(Ordering::SeqCst) {
        thread::sleep(Duration::from_millis(1));
    }
    drop(reg);
    assert!(
        finished.load(Ordering::SeqCst),
        "drop returned while the callback ran"
    );
    canceller.join().unwrap();
}

#[test]
fn a_panicking_callback_does_not_stop_the_others_or_the_tree() {
    let root = CancellationToken::new();
    let children: Vec<_> = (0..3).map(|_| root.child_token()).collect();
    let (count, bump) = counter();
    let b = bump.clone();
    let _r0 = children[0].on_cancel(move |_| b());
    let _r1 = children[1].on_cancel(|_| panic!("callback failed"));
    let _r2 = children[2].on_cancel(move |_| bump());
    let r = root.clone();
    let result = std::panic::catch_unwind(move || r.cancel());
    assert!(
        result.is_err(),
        "the panic is resumed on the cancelling thread"
    );
    assert!(children.iter().all(CancellationToken::is_cancelled));
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert!(root.wait_timeout(Duration::ZERO).is_ok());
}

#[test]
fn registration_racing_cancel_runs_exactly_once() {
    for _ in 0..if cfg!(miri) { 5 } else { 200 } {
        let t = CancellationToken::new();
        let (count, bump) = counter();
        let c = t.clone();
        let h = thread::spawn(move || c.on_cancel(move |_| bump()));
        t.cancel();
        let reg = h.join().unwrap();
        assert_eq!(count.load(Ordering::SeqCst), 1);
        drop(reg);
    }
}

#[test]
fn unregister_racing_cancel_runs_at_most_once_and_agrees() {
    for _ in 0..if cfg!(miri) { 5 } else { 200 } {
        let t = CancellationToken::new();
        let (count, bump) = counter();
        let reg = t.on_cancel(move |_| bump());
        let c = t.clone();
        let h = thread::spawn(move || c.cancel());
        let removed = reg.unregister();
        h.join().unwrap();
        assert_eq!(count.load(Ordering::SeqCst), usize::from(!removed));
    }
}
