//! loom models of the promise's state machine (`src/promise/state.rs`): every
//! transition racing the ones that can meet it.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release --test loom_promise`.
#![cfg(loom)]

mod loom_support;

use std::future::Future;
use std::sync::Arc;
use std::task::Context;

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use loom_support::{counting, model};
use ripcord::promise::{self, Abandoned};

/// Counts its drops.
struct Dropped(Arc<AtomicUsize>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn resolve_racing_a_registering_task_wakes_it_or_it_sees_the_value() {
    model(|| {
        let (resolver, promise) = promise::channel::<u8>();
        let writer = thread::spawn(move || resolver.resolve(1).unwrap());
        let (count, waker) = counting();
        let mut fut = Box::pin(promise.resolved());
        let first = fut.as_mut().poll(&mut Context::from_waker(&waker));
        writer.join().unwrap();
        if first.is_pending() {
            assert_eq!(count.0.load(Ordering::SeqCst), 1, "registered: woken");
        }
        let again = fut.as_mut().poll(&mut Context::from_waker(&waker));
        assert_eq!(again, std::task::Poll::Ready(Ok(&1)));
    });
}

#[test]
fn resolve_racing_a_blocking_waiter_wakes_it() {
    model(|| {
        let (resolver, promise) = promise::channel::<u8>();
        let writer = thread::spawn(move || resolver.resolve(2).unwrap());
        assert_eq!(promise.wait(), Ok(&2));
        writer.join().unwrap();
    });
}

#[test]
fn abandonment_racing_a_registering_task_wakes_it() {
    model(|| {
        let (resolver, promise) = promise::channel::<u8>();
        let dropper = thread::spawn(move || drop(resolver));
        let (count, waker) = counting();
        let mut fut = Box::pin(promise.resolved());
        let first = fut.as_mut().poll(&mut Context::from_waker(&waker));
        dropper.join().unwrap();
        if first.is_pending() {
            assert_eq!(count.0.load(Ordering::SeqCst), 1);
        }
        let again = fut.as_mut().poll(&mut Context::from_waker(&waker));
        assert_eq!(again, std::task::Poll::Ready(Err(Abandoned::new())));
    });
}

#[test]
fn resolve_racing_the_last_drop_of_another_resolver_never_abandons() {
    model(|| {
        let (resolver, promise) = promise::channel::<u8>();
        let other = resolver.clone();
        let writer = thread::spawn(move || resolver.resolve(3).unwrap());
        drop(other);
        writer.join().unwrap();
        assert!(!promise.is_abandoned());
        assert_eq!(promise.get(), Some(&3));
    });
}

#[test]
fn two_resolves_race_exactly_one_wins_and_every_reader_agrees() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (resolver, promise) = promise::channel::<(u8, Dropped)>();
        let other = resolver.clone();
        let reader = promise.clone();
        let d = drops.clone();
        let writer = thread::spawn(move || other.resolve((1, Dropped(d))).is_ok());
        let ours = resolver
            .resolve((2, Dropped(drops.clone())))
            .map_err(|(id, v)| {
                drop(v);
                id
            });
        let theirs = writer.join().unwrap();
        assert!(ours.is_ok() != theirs, "exactly one wins");
        let winner = if theirs { 1 } else { 2 };
        assert_eq!(reader.wait().unwrap().0, winner);
        assert_eq!(promise.get().unwrap().0, winner);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the loser's value went back"
        );
        drop((resolver, promise, reader));
        assert_eq!(drops.load(Ordering::SeqCst), 2, "the winner's dropped once");
    });
}

#[test]
fn the_last_promise_drop_racing_resolve_drops_the_value_once() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (resolver, promise) = promise::channel::<Dropped>();
        let d = drops.clone();
        let writer = thread::spawn(move || {
            assert!(resolver.resolve(Dropped(d)).is_ok());
            drop(resolver);
        });
        drop(promise);
        writer.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn the_last_promise_drop_wakes_a_resolver_waiting_for_it() {
    model(|| {
        let (resolver, promise) = promise::channel::<u8>();
        let dropper = thread::spawn(move || drop(promise));
        resolver.wait_closed();
        assert!(resolver.is_closed());
        dropper.join().unwrap();
    });
}
