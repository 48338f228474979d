//! Helpers shared by the `time_*` tests and the runtime matrix: a minimal
//! executor with no runtime behind it, a counting waker, and a sleeper made of
//! a plain thread. Everything here is Miri-friendly.
#![allow(dead_code)]

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Wakes a parked thread.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// The smallest possible executor: poll, park until woken, repeat. No
/// runtime, no timer, no reactor.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

/// A waker that counts how often it was woken.
#[derive(Default)]
pub struct CountingWaker(AtomicUsize);

impl CountingWaker {
    pub fn new() -> (Arc<Self>, Waker) {
        let inner = Arc::new(CountingWaker::default());
        let waker = Waker::from(inner.clone());
        (inner, waker)
    }
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls once with the given waker.
pub fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

/// A sleeper with no runtime at all: each sleep is a thread that sleeps and
/// then fires a ripcord oneshot. (`Duration::MAX` leaves a sleeping thread
/// behind, which is fine in a test process.)
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadSleeper;

#[cfg(feature = "std")]
pub fn thread_sleeper() -> ThreadSleeper {
    ThreadSleeper
}

#[cfg(feature = "std")]
impl ripcord::time::Sleeper for ThreadSleeper {
    type Sleep = OneshotSleep;
    fn sleep(&self, d: std::time::Duration) -> OneshotSleep {
        let (tx, rx) = ripcord::oneshot::channel::<()>();
        thread::spawn(move || {
            thread::sleep(d);
            let _ = tx.send(());
        });
        OneshotSleep(rx)
    }
    fn sleep_until(&self, t: std::time::Instant) -> OneshotSleep {
        self.sleep(t.saturating_duration_since(std::time::Instant::now()))
    }
}

/// A sleep that ends when a oneshot fires (or its sender is dropped): the
/// shape of any sleep driven from another thread or another runtime.
#[cfg(feature = "std")]
pub struct OneshotSleep(pub ripcord::oneshot::Receiver<()>);

#[cfg(feature = "std")]
impl Future for OneshotSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

/// A future that is ready after `n` pending polls (waking itself each time),
/// recording each poll in `log` under `name`.
pub struct Logged<'a> {
    pub name: &'static str,
    pub log: &'a std::cell::RefCell<Vec<&'static str>>,
    pub pending_polls: usize,
}

impl Future for Logged<'_> {
    type Output = &'static str;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        self.log.borrow_mut().push(self.name);
        if self.pending_polls == 0 {
            Poll::Ready(self.name)
        } else {
            self.pending_polls -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// A future that panics if it is ever polled.
pub struct MustNotPoll;

impl Future for MustNotPoll {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        panic!("this future must not be polled");
    }
}
