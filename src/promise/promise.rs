//! The reading end, and the futures that wait for the value.

use core::fmt;
use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::error::{Abandoned, TryGetError, WaitError};
use super::state::{ABANDONED, Block, RESOLVED, ResolvedEvent, Shared};
use crate::wait::{Event, Key};

/// The reading end of a promise: one value, any number of waiters. Clone it
/// (a reference count, no lock) to hand it to more threads and tasks; every
/// clone sees the same value.
///
/// - [`get`](Self::get) / [`try_get`](Self::try_get): never block; one
///   atomic load once resolved.
/// - [`wait`](Self::wait), [`wait_timeout`](Self::wait_timeout),
///   [`wait_deadline`](Self::wait_deadline): block the thread.
/// - [`resolved`](Self::resolved): a future, on any executor; or `.await` a
///   clone of the promise itself (for `T: Clone`), which gives an owned value.
/// - [`into_value`](Self::into_value): move the value out of the last handle.
///
/// `Send` and `Sync` exactly when `T: Send + Sync`: promises on several
/// threads borrow the same `T` (`Sync`), and whichever handle is dropped
/// last drops it, on its own thread (`Send`).
///
/// ```
/// use std::time::Duration;
/// use ripcord::promise;
///
/// let (resolver, config) = promise::channel::<String>();
/// let worker = {
///     let config = config.clone();
///     std::thread::spawn(move || config.wait_timeout(Duration::from_secs(5)).map(|c| c.len()))
/// };
/// resolver.resolve("threads = 4".to_string()).unwrap();
/// assert_eq!(worker.join().unwrap(), Ok(11));
/// assert_eq!(config.get().map(String::as_str), Some("threads = 4"));
/// ```
pub struct Promise<T> {
    block: Block<T>,
}

// SAFETY: see the type's docs.
unsafe impl<T: Send + Sync> Send for Promise<T> {}
// SAFETY: see the type's docs.
unsafe impl<T: Send + Sync> Sync for Promise<T> {}

impl<T> Promise<T> {
    pub(super) fn new(block: Block<T>) -> Self {
        Promise { block }
    }

    fn shared(&self) -> &Shared<T> {
        self.block.shared()
    }

    /// The value once resolved, reading the given `state`.
    fn value_in(&self, state: usize) -> Option<&T> {
        // SAFETY: `RESOLVED` was seen by an `Acquire` load (P1) and we hold
        // a promise for as long as the borrow lasts (P2, P4).
        (state & RESOLVED != 0).then(|| unsafe { self.shared().value() })
    }

    /// The value, if it has been resolved. Never blocks: one atomic load.
    ///
    /// ```
    /// let (resolver, promise) = ripcord::promise::channel();
    /// assert_eq!(promise.get(), None);
    /// resolver.resolve(7).unwrap();
    /// assert_eq!(promise.get(), Some(&7));
    /// ```
    #[inline]
    pub fn get(&self) -> Option<&T> {
        self.value_in(self.shared().state())
    }

    /// The value, or why there is none yet ([`TryGetError::Pending`]) or
    /// ever ([`TryGetError::Abandoned`]). Never blocks.
    ///
    /// ```
    /// use ripcord::promise::{self, TryGetError};
    /// let (resolver, promise) = promise::channel::<u8>();
    /// assert_eq!(promise.try_get(), Err(TryGetError::Pending));
    /// resolver.resolve(1).unwrap();
    /// assert_eq!(promise.try_get(), Ok(&1));
    /// ```
    pub fn try_get(&self) -> Result<&T, TryGetError> {
        let state = self.shared().state();
        match self.value_in(state) {
            Some(value) => Ok(value),
            None if state & ABANDONED != 0 => Err(TryGetError::Abandoned),
            None => Err(TryGetError::Pending),
        }
    }

    /// Whether the promise has a value.
    ///
    /// ```
    /// let (resolver, promise) = ripcord::promise::channel();
    /// resolver.resolve(()).unwrap();
    /// assert!(promise.is_resolved());
    /// ```
    pub fn is_resolved(&self) -> bool {
        self.shared().state() & RESOLVED != 0
    }

    /// Whether every resolver was dropped without resolving.
    ///
    /// ```
    /// let (resolver, promise) = ripcord::promise::channel::<u8>();
    /// drop(resolver);
    /// assert!(promise.is_abandoned());
    /// ```
    pub fn is_abandoned(&self) -> bool {
        self.shared().state() & ABANDONED != 0
    }

    /// Blocks the thread until the value is there, or every resolver is gone
    /// ([`Abandoned`]: never a hang). Parks after a short, bounded hand-off
    /// phase; never spins unboundedly.
    ///
    /// Blocking: do not call it on an async executor's thread; await
    /// [`resolved`](Self::resolved) there.
    ///
    /// ```
    /// let (resolver, promise) = ripcord::promise::channel();
    /// std::thread::spawn(move || resolver.resolve("ready").unwrap());
    /// assert_eq!(promise.wait(), Ok(&"ready"));
    /// ```
    pub fn wait(&self) -> Result<&T, Abandoned> {
        self.wait_until(None).map_err(|_| Abandoned::new())
    }

    /// Like [`wait`](Self::wait), for at most `timeout`:
    /// [`WaitError::Timeout`] if the time ran out first. `Duration::MAX`
    /// waits forever; zero only checks. Never panics.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ripcord::promise::{self, WaitError};
    /// let (_resolver, promise) = promise::channel::<u8>();
    /// assert_eq!(promise.wait_timeout(Duration::from_millis(1)), Err(WaitError::Timeout));
    /// ```
    #[must_use = "the value, or why none came, is in the result"]
    pub fn wait_timeout(&self, timeout: Duration) -> Result<&T, WaitError> {
        self.wait_until(crate::wait::deadline_after(timeout))
    }

    /// Like [`wait`](Self::wait), until `deadline`: [`WaitError::Timeout`]
    /// if it passes first. A deadline in the past only checks.
    ///
    /// ```
    /// use std::time::Instant;
    /// use ripcord::promise::{self, WaitError};
    /// let (resolver, promise) = promise::channel();
    /// resolver.resolve(5).unwrap();
    /// assert_eq!(promise.wait_deadline(Instant::now()), Ok(&5));
    /// ```
    #[must_use = "the value, or why none came, is in the result"]
    pub fn wait_deadline(&self, deadline: Instant) -> Result<&T, WaitError> {
        self.wait_until(Some(deadline))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Result<&T, WaitError> {
        match crate::wait::block_on(&ResolvedEvent(self.shared()), deadline) {
            None => Err(WaitError::Timeout),
            Some(Err(_abandoned)) => Err(WaitError::Abandoned),
            Some(Ok(())) => Ok(self.get().expect("resolved")),
        }
    }

    /// Waits asynchronously for the value. Works on any executor.
    ///
    /// Cancel-safe: dropping the future deregisters its waker and loses
    /// nothing. The future is fused.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (resolver, promise) = ripcord::promise::channel();
    /// std::thread::spawn(move || resolver.resolve(3).unwrap());
    /// assert_eq!(promise.resolved().await, Ok(&3));
    /// # });
    /// ```
    pub fn resolved(&self) -> Resolved<'_, T> {
        Resolved {
            promise: self,
            key: None,
            done: false,
        }
    }

    /// Moves the value out if this is the last promise and it is resolved
    /// (no `Clone` needed); otherwise gives the promise back.
    ///
    /// ```
    /// let (resolver, promise) = ripcord::promise::channel();
    /// let other = promise.clone();
    /// resolver.resolve(String::from("only one")).unwrap();
    /// let promise = promise.into_value().unwrap_err(); // `other` still reads it
    /// drop(other);
    /// assert_eq!(promise.into_value().unwrap(), "only one");
    /// ```
    pub fn into_value(self) -> Result<T, Self> {
        let shared = self.shared();
        if !shared.is_last_promise() || !self.is_resolved() {
            return Err(self);
        }
        // SAFETY: resolved (the `Acquire` load in `is_resolved`), and this is
        // the last promise: no other handle can borrow the value, and no new
        // promise can be made without one (P4).
        let value = unsafe { shared.take_value() };
        drop(self);
        Ok(value)
    }
}

impl<T> Clone for Promise<T> {
    fn clone(&self) -> Self {
        Promise {
            block: self.block.clone_handle(false),
        }
    }
}

impl<T> Drop for Promise<T> {
    /// The last promise's drop wakes resolvers waiting in
    /// [`closed`](super::Resolver::closed); the last handle of all frees the
    /// block and drops the value.
    fn drop(&mut self) {
        self.block.drop_promise();
    }
}

/// A promise in a set of events (`Select::resolved`): ready once resolved or
/// abandoned.
impl<T> crate::wait::Member for Promise<T> {
    fn check(&self) -> bool {
        ResolvedEvent(self.shared()).check().is_some()
    }

    fn listen(
        &self,
        key: &mut Option<crate::wait::MemberKey>,
        waiter: crate::wait::NewWaiter<'_>,
    ) -> bool {
        crate::wait::listen_member(&ResolvedEvent(self.shared()), key, waiter)
    }

    fn unlisten(&self, key: crate::wait::MemberKey) -> bool {
        crate::wait::unlisten_member(&ResolvedEvent(self.shared()), key)
    }
}

impl<T> fmt::Debug for Promise<T> {
    /// Shows the state, not the value (no `T: Debug` needed).
    ///
    /// ```
    /// let (resolver, promise) = ripcord::promise::channel::<u8>();
    /// assert_eq!(format!("{promise:?}"), "Promise { state: \"pending\" }");
    /// drop(resolver);
    /// assert_eq!(format!("{promise:?}"), "Promise { state: \"abandoned\" }");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.try_get() {
            Ok(_) => "resolved",
            Err(TryGetError::Pending) => "pending",
            Err(TryGetError::Abandoned) => "abandoned",
        };
        f.debug_struct("Promise").field("state", &state).finish()
    }
}

/// Awaiting a promise gives an owned clone of the value, so a clone of the
/// promise can be handed to a task: `spawn(promise.clone().into_future())`
/// (`spawn` functions take a `Future`, not an `IntoFuture`), or
/// `promise.await` inside one. The future is `'static` and `Send` when
/// `T: Send + Sync`.
///
/// ```
/// # futures::executor::block_on(async {
/// let (resolver, promise) = ripcord::promise::channel();
/// resolver.resolve(vec![1, 2]).unwrap();
/// let owned: Vec<i32> = promise.clone().await.unwrap();
/// assert_eq!(owned, [1, 2]);
/// # });
/// ```
impl<T: Clone> IntoFuture for Promise<T> {
    type Output = Result<T, Abandoned>;
    type IntoFuture = ResolvedOwned<T>;

    fn into_future(self) -> ResolvedOwned<T> {
        ResolvedOwned {
            promise: self,
            key: None,
            done: false,
        }
    }
}

/// Polls the promise's event with the future's registration.
fn poll_resolved<T>(
    promise: &Promise<T>,
    key: &mut Option<Key>,
    done: &mut bool,
    cx: &mut Context<'_>,
) -> Poll<Result<(), Abandoned>> {
    let poll = crate::wait::poll_event(&ResolvedEvent(promise.shared()), key, cx);
    *done |= poll.is_ready();
    poll
}

fn withdraw<T>(promise: &Promise<T>, key: &mut Option<Key>) {
    if let Some(key) = key.take() {
        ResolvedEvent(promise.shared()).unlisten(key);
    }
}

/// The future returned by [`Promise::resolved`]: the value (borrowed), or
/// [`Abandoned`]. Cancel-safe and fused.
///
/// ```
/// # futures::executor::block_on(async {
/// let (resolver, promise) = ripcord::promise::channel();
/// resolver.resolve('x').unwrap();
/// let fut: ripcord::promise::Resolved<'_, char> = promise.resolved();
/// assert_eq!(fut.await, Ok(&'x'));
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Resolved<'a, T> {
    promise: &'a Promise<T>,
    key: Option<Key>,
    done: bool,
}

impl<'a, T> Future for Resolved<'a, T> {
    type Output = Result<&'a T, Abandoned>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let promise = this.promise;
        poll_resolved(promise, &mut this.key, &mut this.done, cx)
            .map(|answer| answer.map(|()| promise.get().expect("resolved")))
    }
}

impl<T> futures_core::future::FusedFuture for Resolved<'_, T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> Drop for Resolved<'_, T> {
    fn drop(&mut self) {
        withdraw(self.promise, &mut self.key);
    }
}

impl<T> fmt::Debug for Resolved<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field("promise", self.promise)
            .finish()
    }
}

/// The future of `promise.await` (`IntoFuture`): an owned clone of the value,
/// or [`Abandoned`]. Cancel-safe and fused; `'static` and `Send` when
/// `T: Send + Sync`.
///
/// ```
/// # futures::executor::block_on(async {
/// let (resolver, promise) = ripcord::promise::channel();
/// let fut: ripcord::promise::ResolvedOwned<u8> = core::future::IntoFuture::into_future(promise);
/// drop(resolver);
/// assert!(fut.await.is_err());
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct ResolvedOwned<T> {
    promise: Promise<T>,
    key: Option<Key>,
    done: bool,
}

impl<T> Unpin for ResolvedOwned<T> {}

impl<T: Clone> Future for ResolvedOwned<T> {
    type Output = Result<T, Abandoned>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        poll_resolved(&this.promise, &mut this.key, &mut this.done, cx)
            .map(|answer| answer.map(|()| this.promise.get().expect("resolved").clone()))
    }
}

impl<T: Clone> futures_core::future::FusedFuture for ResolvedOwned<T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> Drop for ResolvedOwned<T> {
    fn drop(&mut self) {
        withdraw(&self.promise, &mut self.key);
    }
}

impl<T> fmt::Debug for ResolvedOwned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedOwned")
            .field("promise", &self.promise)
            .finish()
    }
}
