//! Two-thread races on a promise, many rounds: what AddressSanitizer runs
//! (`scripts/asan.sh`, rounds from `RIPCORD_STRESS_ROUNDS`) and plain
//! `cargo test` a few thousand times.
#![cfg(all(feature = "std", not(loom)))]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{DropCounter, race};
use ripcord::promise::{self, Abandoned, Promise, Resolver};

#[test]
fn resolve_races_a_blocking_waiter() {
    race(
        promise::channel::<u32>,
        |resolver: Resolver<u32>| resolver.resolve(5).unwrap(),
        |promise: Promise<u32>| assert_eq!(promise.wait(), Ok(&5)),
    );
}

#[test]
fn resolve_races_a_registering_task() {
    race(
        promise::channel::<u32>,
        |resolver: Resolver<u32>| resolver.resolve(6).unwrap(),
        |promise: Promise<u32>| {
            assert_eq!(futures::executor::block_on(promise.resolved()), Ok(&6));
        },
    );
}

#[test]
fn abandonment_races_a_blocking_waiter() {
    race(promise::channel::<u32>, drop, |promise: Promise<u32>| {
        assert_eq!(promise.wait(), Err(Abandoned::new()))
    });
}

#[test]
fn two_resolves_race_and_exactly_one_wins() {
    let drops = Arc::new(AtomicUsize::new(0));
    let made = Arc::new(AtomicUsize::new(0));
    let (peer_drops, peer_made) = (drops.clone(), made.clone());
    race(
        || {
            let (resolver, promise) = promise::channel::<DropCounter>();
            ((resolver.clone(), promise.clone()), (resolver, promise))
        },
        move |(resolver, _promise): (Resolver<DropCounter>, Promise<DropCounter>)| {
            peer_made.fetch_add(1, Ordering::Relaxed);
            let _ = resolver.resolve(DropCounter::new(&peer_drops, 1));
        },
        |(resolver, promise)| {
            made.fetch_add(1, Ordering::Relaxed);
            let ours = resolver.resolve(DropCounter::new(&drops, 2));
            let seen = promise.wait().unwrap().id;
            match ours {
                Ok(()) => assert_eq!(seen, 2),
                Err(back) => assert_eq!((seen, back.id), (1, 2)),
            }
        },
    );
    assert_eq!(drops.load(Ordering::SeqCst), made.load(Ordering::SeqCst));
}

#[test]
fn resolve_races_the_last_drop_of_another_resolver() {
    race(
        || {
            let (resolver, promise) = promise::channel::<u32>();
            (resolver.clone(), (resolver, promise))
        },
        |resolver: Resolver<u32>| resolver.resolve(8).unwrap(),
        |(resolver, promise)| {
            drop(resolver);
            // The peer's resolve came first or its handle kept the promise
            // from being abandoned: never `Abandoned`.
            assert_eq!(promise.wait(), Ok(&8));
        },
    );
}

#[test]
fn the_last_promise_drop_races_resolve() {
    let drops = Arc::new(AtomicUsize::new(0));
    let peer_drops = drops.clone();
    race(
        promise::channel::<DropCounter>,
        move |resolver: Resolver<DropCounter>| {
            resolver.resolve(DropCounter::new(&peer_drops, 0)).unwrap();
        },
        drop,
    );
    assert_eq!(drops.load(Ordering::SeqCst), common::stress_rounds());
}

#[test]
fn closed_races_the_last_promise_drop() {
    race(
        || {
            let (resolver, promise) = promise::channel::<u32>();
            (promise, resolver)
        },
        drop,
        |resolver: Resolver<u32>| resolver.wait_closed(),
    );
}
