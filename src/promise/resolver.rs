//! The writing end.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::state::{Block, CLAIMED, CLOSED, ClosedEvent};
use crate::Elapsed;
use crate::wait::{Event, Key};

/// The writing end of a promise. Clone it to let several writers race: the
/// first [`resolve`](Resolver::resolve) wins.
///
/// When every resolver is dropped without resolving, every waiter (present
/// and future) gets [`Abandoned`](super::Abandoned) instead of a hang.
///
/// `Send` and `Sync` when `T: Send`: a resolver moves the value in (and may
/// be the handle that drops it, if every promise is gone), but never lends it
/// out.
///
/// ```
/// use ripcord::promise;
///
/// let (resolver, promise) = promise::channel();
/// let second = resolver.clone();
/// assert_eq!(resolver.resolve("first"), Ok(()));
/// assert_eq!(second.resolve("second"), Err("second"));
/// assert_eq!(promise.get(), Some(&"first"));
/// ```
pub struct Resolver<T> {
    block: Block<T>,
}

// SAFETY: see the type's docs: a resolver only moves `T` in or drops it.
unsafe impl<T: Send> Send for Resolver<T> {}
// SAFETY: as above; `resolve(&self)` from several threads only moves values.
unsafe impl<T: Send> Sync for Resolver<T> {}

impl<T> Resolver<T> {
    pub(super) fn new(block: Block<T>) -> Self {
        Resolver { block }
    }

    /// Stores `value` and wakes every waiter, threads and tasks. Returns
    /// `Err(value)` if the promise was already resolved (by this or another
    /// resolver): the first `resolve` wins, and the value never changes.
    ///
    /// Never blocks. Waking runs the waiters' wakers on this thread; if one
    /// panics, every other waiter is still woken and then the panic reaches
    /// the caller (the value stays resolved).
    ///
    /// ```
    /// let (resolver, promise) = ripcord::promise::channel();
    /// let waiter = std::thread::spawn(move || *promise.wait().unwrap());
    /// resolver.resolve(42).unwrap();
    /// assert_eq!(waiter.join().unwrap(), 42);
    /// ```
    pub fn resolve(&self, value: T) -> Result<(), T> {
        self.block.shared().resolve(value)
    }

    /// Whether some resolver has already resolved the promise.
    ///
    /// ```
    /// let (resolver, _promise) = ripcord::promise::channel();
    /// assert!(!resolver.is_resolved());
    /// resolver.resolve(()).unwrap();
    /// assert!(resolver.is_resolved());
    /// ```
    pub fn is_resolved(&self) -> bool {
        self.block.shared().state() & CLAIMED != 0
    }

    /// Whether every [`Promise`](super::Promise) is gone: nobody will read the
    /// value, so the work that computes it may stop. One atomic load.
    ///
    /// ```
    /// let (resolver, promise) = ripcord::promise::channel::<u8>();
    /// assert!(!resolver.is_closed());
    /// drop(promise);
    /// assert!(resolver.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.block.shared().state() & CLOSED != 0
    }

    /// Waits asynchronously until every promise is gone. Works on any
    /// executor; cancel-safe (dropping the future deregisters it).
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (resolver, promise) = ripcord::promise::channel::<u8>();
    /// drop(promise);
    /// resolver.closed().await;
    /// # });
    /// ```
    pub fn closed(&self) -> PromisesClosed<'_, T> {
        PromisesClosed {
            resolver: self,
            key: None,
            done: false,
        }
    }

    /// Blocks the thread until every promise is gone.
    ///
    /// Blocking: do not call it on an async executor's thread; await
    /// [`closed`](Self::closed) there.
    ///
    /// ```
    /// let (resolver, promise) = ripcord::promise::channel::<u8>();
    /// std::thread::spawn(move || drop(promise));
    /// resolver.wait_closed();
    /// assert!(resolver.is_closed());
    /// ```
    pub fn wait_closed(&self) {
        // No deadline: returns only once closed.
        let _closed = self.wait_closed_until(None);
    }

    /// Blocks until every promise is gone (`Ok(())`) or `timeout` elapses
    /// (`Err(Elapsed)`). `Duration::MAX` waits forever; zero only checks.
    ///
    /// Blocking: see [`wait_closed`](Self::wait_closed).
    ///
    /// ```
    /// use std::time::Duration;
    /// let (resolver, promise) = ripcord::promise::channel::<u8>();
    /// assert!(resolver.wait_closed_timeout(Duration::from_millis(1)).is_err());
    /// drop(promise);
    /// assert_eq!(resolver.wait_closed_timeout(Duration::MAX), Ok(()));
    /// ```
    #[must_use = "the result says whether the promises are gone or the time ran out"]
    pub fn wait_closed_timeout(&self, timeout: Duration) -> Result<(), Elapsed> {
        self.wait_closed_until(crate::wait::deadline_after(timeout))
    }

    /// Blocks until every promise is gone (`Ok(())`) or `deadline` passes
    /// (`Err(Elapsed)`). A deadline in the past only checks.
    ///
    /// Blocking: see [`wait_closed`](Self::wait_closed).
    ///
    /// ```
    /// use std::time::Instant;
    /// let (resolver, _promise) = ripcord::promise::channel::<u8>();
    /// assert!(resolver.wait_closed_deadline(Instant::now()).is_err());
    /// ```
    #[must_use = "the result says whether the promises are gone or the time ran out"]
    pub fn wait_closed_deadline(&self, deadline: Instant) -> Result<(), Elapsed> {
        self.wait_closed_until(Some(deadline))
    }

    fn wait_closed_until(&self, deadline: Option<Instant>) -> Result<(), Elapsed> {
        crate::wait::block_on(&ClosedEvent(self.block.shared()), deadline).ok_or(Elapsed::new())
    }
}

impl<T> Clone for Resolver<T> {
    fn clone(&self) -> Self {
        Resolver {
            block: self.block.clone_handle(true),
        }
    }
}

impl<T> Drop for Resolver<T> {
    /// The last resolver's drop, if nobody resolved, wakes every waiter with
    /// [`Abandoned`](super::Abandoned).
    fn drop(&mut self) {
        self.block.drop_resolver();
    }
}

impl<T> fmt::Debug for Resolver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("resolved", &self.is_resolved())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The future returned by [`Resolver::closed`]: resolves once every promise
/// is gone. Cancel-safe and fused.
///
/// ```
/// # futures::executor::block_on(async {
/// let (resolver, promise) = ripcord::promise::channel::<u8>();
/// let closed: ripcord::promise::PromisesClosed<'_, u8> = resolver.closed();
/// drop(promise);
/// closed.await;
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct PromisesClosed<'a, T> {
    resolver: &'a Resolver<T>,
    key: Option<Key>,
    done: bool,
}

impl<T> Future for PromisesClosed<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let event = ClosedEvent(this.resolver.block.shared());
        let poll = crate::wait::poll_event(&event, &mut this.key, cx);
        this.done |= poll.is_ready();
        poll
    }
}

impl<T> futures_core::future::FusedFuture for PromisesClosed<'_, T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> Drop for PromisesClosed<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            ClosedEvent(self.resolver.block.shared()).unlisten(key);
        }
    }
}

impl<T> fmt::Debug for PromisesClosed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromisesClosed")
            .field("resolver", self.resolver)
            .finish()
    }
}
