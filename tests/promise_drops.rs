//! Nothing lost, nothing doubled: a drop-counting value is dropped exactly
//! once (or, when it was never stored, handed back) across every combination
//! of what the writers do and what the readers do.
#![cfg(all(feature = "std", not(loom)))]

mod common;

use std::future::{Future, IntoFuture};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Context;
use std::time::Duration;

use common::DropCounter;
use ripcord::promise::{self, Promise, Resolver};

#[derive(Clone, Copy, Debug)]
enum Writers {
    Resolve,
    ResolveTwice,
    DropAll,
}

#[derive(Clone, Copy, Debug)]
enum Readers {
    Wait,
    WaitTimeoutExpiring,
    Await,
    PollThenDrop,
    IntoValue,
    DropAll,
}

const WRITERS: [Writers; 3] = [Writers::Resolve, Writers::ResolveTwice, Writers::DropAll];
const READERS: [Readers; 6] = [
    Readers::Wait,
    Readers::WaitTimeoutExpiring,
    Readers::Await,
    Readers::PollThenDrop,
    Readers::IntoValue,
    Readers::DropAll,
];

/// Readers that act before the writers (they must not block forever).
fn read_before(readers: Readers, promise: &Promise<DropCounter>) {
    match readers {
        Readers::WaitTimeoutExpiring => {
            assert!(promise.wait_timeout(Duration::from_millis(1)).is_err());
        }
        Readers::PollThenDrop => {
            let mut fut = pin!(promise.resolved());
            let _ = fut
                .as_mut()
                .poll(&mut Context::from_waker(std::task::Waker::noop()));
        }
        _ => {}
    }
}

/// Readers after the writers; returns how many values it took out (and
/// dropped) itself.
fn read_after(readers: Readers, promise: Promise<DropCounter>, resolved: bool) -> usize {
    match readers {
        Readers::Wait => {
            assert_eq!(promise.wait().is_ok(), resolved);
            0
        }
        Readers::WaitTimeoutExpiring => {
            assert_eq!(promise.wait_timeout(Duration::ZERO).is_ok(), resolved);
            0
        }
        Readers::Await => {
            // The owned future needs `Clone`: await the borrowed one.
            let answer = futures::executor::block_on(promise.resolved());
            assert_eq!(answer.is_ok(), resolved);
            0
        }
        Readers::PollThenDrop => 0,
        Readers::IntoValue => match promise.into_value() {
            Ok(value) => {
                assert!(resolved);
                drop(value);
                1
            }
            Err(promise) => {
                assert!(!resolved);
                drop(promise);
                0
            }
        },
        Readers::DropAll => {
            drop(promise);
            0
        }
    }
}

fn scenario(writers: Writers, readers: Readers, readers_first: bool) {
    let drops = Arc::new(AtomicUsize::new(0));
    let (resolver, promise) = promise::channel::<DropCounter>();
    let second: Resolver<DropCounter> = resolver.clone();
    let mut returned = 0;
    let mut act_writers = || match writers {
        Writers::Resolve => {
            resolver.resolve(DropCounter::new(&drops, 1)).unwrap();
        }
        Writers::ResolveTwice => {
            resolver.resolve(DropCounter::new(&drops, 1)).unwrap();
            let back = second.resolve(DropCounter::new(&drops, 2)).unwrap_err();
            assert_eq!(back.id, 2, "the loser gets its own value back");
            drop(back);
            returned += 1;
        }
        Writers::DropAll => {}
    };
    let resolved = !matches!(writers, Writers::DropAll);
    if readers_first {
        read_before(readers, &promise);
    }
    act_writers();
    if matches!(writers, Writers::DropAll) {
        // Abandon first, so waiting readers get their answer.
        drop((resolver, second));
        assert_eq!(read_after(readers, promise, resolved), 0);
    } else {
        read_after(readers, promise, resolved);
        drop((resolver, second));
    }
    let stored = usize::from(resolved);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        stored + returned,
        "{writers:?} x {readers:?} (readers first: {readers_first}): every value dropped exactly once"
    );
}

#[test]
fn every_value_is_dropped_exactly_once_in_every_combination() {
    for writers in WRITERS {
        for readers in READERS {
            for readers_first in [false, true] {
                scenario(writers, readers, readers_first);
            }
        }
    }
}

#[test]
fn the_value_outlives_readers_until_the_last_handle_goes() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (resolver, promise) = promise::channel();
    resolver.resolve(DropCounter::new(&drops, 0)).unwrap();
    let clone = promise.clone();
    drop(promise);
    drop(resolver);
    assert_eq!(drops.load(Ordering::SeqCst), 0, "a promise still holds it");
    assert_eq!(clone.get().map(|v| v.id), Some(0));
    drop(clone);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn a_value_resolved_after_every_promise_left_is_dropped_with_the_last_resolver() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (resolver, promise) = promise::channel();
    drop(promise);
    resolver.resolve(DropCounter::new(&drops, 0)).unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(resolver);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn an_owned_future_keeps_the_promise_alive() {
    #[derive(Clone, Debug)]
    struct Counted(#[allow(dead_code)] Arc<()>);
    let token = Arc::new(());
    let (resolver, promise) = promise::channel();
    let fut = promise.into_future();
    resolver.resolve(Counted(token.clone())).unwrap();
    drop(resolver);
    assert_eq!(
        Arc::strong_count(&token),
        2,
        "the future's promise keeps the value"
    );
    let owned = futures::executor::block_on(fut).unwrap();
    assert_eq!(
        Arc::strong_count(&token),
        2,
        "the stored value dropped, the clone lives"
    );
    drop(owned);
    assert_eq!(Arc::strong_count(&token), 1);
}
