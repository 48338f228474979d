//! Promise behaviour from plain threads: every row of the API, bad input, and
//! the handles' auto traits.
#![cfg(all(feature = "std", not(loom)))]

mod common;

use std::future::{Future, IntoFuture};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use common::CountingWaker;
use ripcord::promise::{self, Abandoned, Promise, Resolver, TryGetError, WaitError};

#[test]
fn the_first_resolve_wins_and_later_ones_get_their_value_back() {
    let (resolver, promise) = promise::channel();
    let other = resolver.clone();
    assert!(!resolver.is_resolved());
    assert_eq!(other.resolve(1), Ok(()));
    assert_eq!(resolver.resolve(2), Err(2));
    assert_eq!(other.resolve(3), Err(3));
    assert!(resolver.is_resolved());
    assert_eq!(promise.get(), Some(&1));
}

#[test]
fn every_clone_sees_the_same_value() {
    let (resolver, promise) = promise::channel();
    let clones: Vec<Promise<String>> = (0..4).map(|_| promise.clone()).collect();
    resolver.resolve("same".to_string()).unwrap();
    let first = promise.get().unwrap() as *const String;
    for clone in &clones {
        assert_eq!(
            clone.get().unwrap() as *const String,
            first,
            "one value, borrowed"
        );
    }
}

#[test]
fn get_and_try_get_never_block() {
    let (resolver, promise) = promise::channel::<u8>();
    assert_eq!(promise.get(), None);
    assert_eq!(promise.try_get(), Err(TryGetError::Pending));
    assert!(!promise.is_resolved() && !promise.is_abandoned());
    resolver.resolve(9).unwrap();
    assert_eq!(promise.try_get(), Ok(&9));
    assert!(promise.is_resolved());
}

#[test]
fn dropping_every_resolver_abandons_present_and_future_waiters() {
    let (resolver, promise) = promise::channel::<u8>();
    let second = resolver.clone();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let p = promise.clone();
            thread::spawn(move || p.wait().copied())
        })
        .collect();
    drop(resolver);
    assert!(!promise.is_abandoned(), "one resolver is left");
    drop(second);
    for w in waiters {
        assert_eq!(w.join().unwrap(), Err(Abandoned::new()));
    }
    // Future waiters, of every kind.
    assert_eq!(promise.wait(), Err(Abandoned::new()));
    assert_eq!(
        promise.wait_timeout(Duration::MAX),
        Err(WaitError::Abandoned)
    );
    assert_eq!(promise.try_get(), Err(TryGetError::Abandoned));
    assert_eq!(
        futures::executor::block_on(promise.resolved()),
        Err(Abandoned::new())
    );
    assert_eq!(
        futures::executor::block_on(promise.clone().into_future()),
        Err(Abandoned::new())
    );
    assert!(promise.is_abandoned());
}

#[test]
fn a_resolved_promise_is_not_abandoned_when_the_resolvers_go() {
    let (resolver, promise) = promise::channel();
    resolver.resolve(5).unwrap();
    drop(resolver);
    assert!(!promise.is_abandoned());
    assert_eq!(promise.wait(), Ok(&5));
}

#[test]
fn wait_blocks_until_another_thread_resolves() {
    let (resolver, promise) = promise::channel();
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let p = promise.clone();
            thread::spawn(move || *p.wait().unwrap())
        })
        .collect();
    thread::sleep(Duration::from_millis(5));
    resolver.resolve(77).unwrap();
    for w in waiters {
        assert_eq!(w.join().unwrap(), 77);
    }
}

#[test]
fn timed_waits_time_out_then_see_the_value() {
    let (resolver, promise) = promise::channel();
    let start = Instant::now();
    assert_eq!(
        promise.wait_timeout(Duration::from_millis(20)),
        Err(WaitError::Timeout)
    );
    assert!(
        start.elapsed() >= Duration::from_millis(20),
        "not before the deadline"
    );
    assert_eq!(
        promise.wait_deadline(Instant::now() + Duration::from_millis(1)),
        Err(WaitError::Timeout)
    );
    resolver.resolve(1).unwrap();
    assert_eq!(promise.wait_timeout(Duration::ZERO), Ok(&1));
    assert_eq!(promise.wait_deadline(Instant::now()), Ok(&1));
}

#[test]
fn huge_durations_and_past_deadlines_never_panic() {
    let (resolver, promise) = promise::channel::<u8>();
    assert_eq!(
        promise.wait_timeout(Duration::ZERO),
        Err(WaitError::Timeout)
    );
    let past = Instant::now()
        .checked_sub(Duration::from_secs(3600))
        .unwrap_or_else(Instant::now);
    assert_eq!(promise.wait_deadline(past), Err(WaitError::Timeout));
    assert!(resolver.wait_closed_deadline(past).is_err());
    assert!(resolver.wait_closed_timeout(Duration::ZERO).is_err());
    let r = resolver.clone();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        r.resolve(2).unwrap();
    });
    assert_eq!(promise.wait_timeout(Duration::MAX), Ok(&2));
    h.join().unwrap();
}

#[test]
fn resolvers_see_when_every_promise_is_gone() {
    let (resolver, promise) = promise::channel::<u8>();
    let clone = promise.clone();
    assert!(!resolver.is_closed());
    assert!(
        resolver
            .wait_closed_timeout(Duration::from_millis(1))
            .is_err()
    );
    drop(promise);
    assert!(!resolver.is_closed(), "a clone is left");
    let r = resolver.clone();
    let waiter = thread::spawn(move || r.wait_closed());
    drop(clone);
    waiter.join().unwrap();
    assert!(resolver.is_closed());
    assert_eq!(resolver.wait_closed_timeout(Duration::MAX), Ok(()));
    futures::executor::block_on(resolver.closed());
    // Resolving a closed promise still works; the value is simply dropped.
    assert_eq!(resolver.resolve(1), Ok(()));
}

#[test]
fn a_dropped_resolved_future_deregisters_its_waker() {
    let (resolver, promise) = promise::channel::<u8>();
    let (counter, waker) = CountingWaker::new();
    {
        let mut fut = pin!(promise.resolved());
        assert!(
            fut.as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        assert_eq!(
            Arc::strong_count(&counter),
            3,
            "the future registered a clone"
        );
    }
    assert_eq!(
        Arc::strong_count(&counter),
        2,
        "dropping the future dropped it"
    );
    resolver.resolve(1).unwrap();
    assert_eq!(counter.wakes(), 0, "nobody to wake");
}

#[test]
fn a_pending_future_polled_again_registers_once_and_is_woken() {
    let (resolver, promise) = promise::channel::<u8>();
    let (counter, waker) = CountingWaker::new();
    let mut fut = Box::pin(promise.resolved());
    for _ in 0..5 {
        assert!(
            fut.as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
    }
    assert_eq!(Arc::strong_count(&counter), 3, "one registration");
    resolver.resolve(4).unwrap();
    assert_eq!(counter.wakes(), 1);
    assert_eq!(
        fut.as_mut().poll(&mut Context::from_waker(&waker)),
        Poll::Ready(Ok(&4))
    );
    drop(fut);
    assert_eq!(Arc::strong_count(&counter), 2, "no waker leaked");
}

#[test]
fn polling_after_completion_keeps_answering() {
    use futures::future::FusedFuture;
    let (resolver, promise) = promise::channel::<u8>();
    resolver.resolve(1).unwrap();
    let mut fut = pin!(promise.resolved());
    let cx = &mut Context::from_waker(std::task::Waker::noop());
    assert!(!fut.is_terminated());
    assert_eq!(fut.as_mut().poll(cx), Poll::Ready(Ok(&1)));
    assert!(fut.is_terminated());
    assert_eq!(fut.as_mut().poll(cx), Poll::Ready(Ok(&1)));
}

#[test]
fn awaiting_a_promise_gives_an_owned_clone() {
    let (resolver, promise) = promise::channel();
    let fut = promise.clone().into_future();
    resolver.resolve(vec![1, 2, 3]).unwrap();
    assert_eq!(futures::executor::block_on(fut), Ok(vec![1, 2, 3]));
    assert_eq!(
        promise.get().map(Vec::len),
        Some(3),
        "the promise keeps its own"
    );
}

#[test]
fn into_value_moves_the_value_out_of_the_last_promise_only() {
    let (resolver, promise) = promise::channel::<String>();
    let promise = promise.into_value().unwrap_err(); // not resolved yet
    let other = promise.clone();
    resolver.resolve("v".into()).unwrap();
    let promise = promise.into_value().unwrap_err(); // not the last
    drop(other);
    assert_eq!(promise.into_value().unwrap(), "v");
    // Abandoned: nothing to take.
    let (resolver, promise) = promise::channel::<u8>();
    drop(resolver);
    assert!(promise.into_value().is_err());
}

#[test]
fn debug_needs_no_debug_value() {
    struct Opaque;
    let (resolver, promise) = promise::channel::<Opaque>();
    assert_eq!(format!("{promise:?}"), "Promise { state: \"pending\" }");
    assert!(format!("{resolver:?}").contains("resolved: false"));
    assert!(resolver.resolve(Opaque).is_ok());
    assert_eq!(format!("{promise:?}"), "Promise { state: \"resolved\" }");
    assert!(format!("{:?}", promise.resolved()).starts_with("Resolved"));
}

#[test]
fn errors_convert_into_io_errors() {
    use std::io::ErrorKind;
    let (resolver, promise) = promise::channel::<u8>();
    let pending: std::io::Error = promise.try_get().unwrap_err().into();
    assert_eq!(pending.kind(), ErrorKind::WouldBlock);
    let timeout: std::io::Error = promise.wait_timeout(Duration::ZERO).unwrap_err().into();
    assert_eq!(timeout.kind(), ErrorKind::TimedOut);
    drop(resolver);
    let read = || -> std::io::Result<u8> { Ok(*promise.wait()?) };
    assert_eq!(read().unwrap_err().kind(), ErrorKind::BrokenPipe);
}

#[test]
fn handles_are_send_and_sync_exactly_when_the_value_allows() {
    fn send_sync<X: Send + Sync>() {}
    send_sync::<Promise<String>>();
    send_sync::<Resolver<String>>();
    // A `Send` but not `Sync` value: resolvers may cross threads, promises
    // (which share `&T`) may not.
    send_sync::<Resolver<std::cell::Cell<u8>>>();
    static_assertions_promise_not_sync();
}

/// `Promise<Cell<u8>>` must not be `Sync` (it would share `&Cell` between
/// threads): checked with a trait-resolution trick that fails to compile if
/// it were.
fn static_assertions_promise_not_sync() {
    trait AmbiguousIfSync<A> {
        fn check() {}
    }
    impl<X: ?Sized> AmbiguousIfSync<()> for X {}
    struct Invalid;
    impl<X: ?Sized + Sync> AmbiguousIfSync<Invalid> for X {}
    <Promise<std::cell::Cell<u8>> as AmbiguousIfSync<_>>::check();
    <Promise<std::rc::Rc<u8>> as AmbiguousIfSync<_>>::check();
}

#[test]
fn the_owned_future_is_static_and_send() {
    fn spawnable<F: Future + Send + 'static>(_: &F) {}
    let (_resolver, promise) = promise::channel::<String>();
    spawnable(&promise.into_future());
}
