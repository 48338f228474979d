//! The `Shutdown` handle and its guards.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::error::AlreadyDrained;
use super::report::{DrainReport, Straggler};
use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::wait::{
    Event, FirstPanic, Key, NewWaiter, WaitList, Wakeups, register_locked, withdraw_locked,
};
use crate::{CancelReason, CancellationToken};

/// Shutdown was triggered: set once, never cleared.
const TRIGGERED: usize = 1;
/// One live guard (the guard count lives above the flag bit).
const ONE_GUARD: usize = 2;

/// A graceful-shutdown coordinator: a cancellation tree plus a count of
/// in-flight work. Cheap to clone; every clone is the same coordinator.
///
/// See the [module docs](super) for the pattern.
///
/// # State
///
/// One atomic word: bit 0 is `TRIGGERED`, the bits above count live guards.
///
/// | state (`TRIGGERED`, count) | meaning | `guard*` / `track` | `wait*` / `drained*` |
/// |---|---|---|---|
/// | (0, 0) | running, idle | `Ok` | wait |
/// | (0, n > 0) | running, n pieces of work in flight | `Ok` | wait |
/// | (1, n > 0) | triggered, draining | `Ok` (token born cancelled) | wait |
/// | (1, 0) | **drained** (final) | `Err(AlreadyDrained)` | return at once |
///
/// | transition | who | how | publishes |
/// |---|---|---|---|
/// | guard taken | `guard*`, `track` | CAS `count + 1` (`AcqRel`), refused in state (1, 0) | — |
/// | guard dropped | `ShutdownGuard::drop` | `fetch_sub(ONE_GUARD)` (`AcqRel`); the drop that moves (1, 1) → (1, 0) notifies every waiter | drained |
/// | trigger | `trigger*` | cancels the root token (its whole tree), then `fetch_or(TRIGGERED)` (`AcqRel`); the trigger that moves (0, 0) → (1, 0) notifies every waiter | triggered (and maybe drained) |
///
/// Exactly one operation moves the word into (1, 0), and it notifies after
/// the store, so a waiter that checks, listens and checks again (see the
/// crate docs) cannot miss it. Because a guard is refused in exactly that
/// state, being drained is final: nothing leaves (1, 0).
///
/// Named guards are also entered in a registry (a mutex-guarded map from a
/// creation number to name and birth time). A named guard changes the count
/// only while holding the registry lock, so a report (taken under the same
/// lock) counts the unnamed guards exactly. Waiters are notified after the
/// lock is released.
///
/// # Examples
///
/// ```
/// use ripcord::shutdown::Shutdown;
///
/// let shutdown = Shutdown::new();
/// let guard = shutdown.guard().unwrap();
/// assert_eq!(shutdown.active_guards(), 1);
/// shutdown.trigger();
/// assert!(guard.token().is_cancelled());
/// drop(guard);
/// shutdown.wait(); // returns at once: triggered and drained
/// assert!(shutdown.guard().is_err());
/// ```
#[derive(Clone)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

struct Inner {
    state: AtomicUsize,
    root: CancellationToken,
    /// Named guards still alive, and the drain's waiters.
    named: Mutex<Registry>,
}

/// Named guards still alive: creation number → (name, birth time). Numbers
/// and birth times are both taken under the lock, so iterating in key order
/// lists the guards oldest first.
#[derive(Default)]
struct Registry {
    next_id: u64,
    live: BTreeMap<u64, (Arc<str>, Instant)>,
    /// Tasks and threads waiting for the drain to end.
    waiters: WaitList,
}

impl Shutdown {
    /// Makes a new coordinator, not triggered, with no guards.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// assert!(!shutdown.is_triggered());
    /// ```
    pub fn new() -> Self {
        Shutdown {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(0),
                root: CancellationToken::new(),
                named: Mutex::new(Registry::default()),
            }),
        }
    }

    /// A token that is cancelled when shutdown is triggered.
    ///
    /// It is a child of the coordinator's root token: cancelling it yourself
    /// does not trigger shutdown.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let token = shutdown.token();
    /// token.cancel(); // only this token
    /// assert!(!shutdown.is_triggered());
    /// shutdown.trigger();
    /// assert!(shutdown.token().is_cancelled());
    /// ```
    pub fn token(&self) -> CancellationToken {
        self.inner.root.child_token()
    }

    /// Counts one piece of in-flight work until the returned guard is dropped.
    ///
    /// Guards can still be taken after shutdown is triggered (in-flight work may
    /// need helpers to finish; their tokens are born cancelled), but not once
    /// the drain is over.
    ///
    /// Never blocks: one compare-and-swap, plus the guard's child token.
    /// An unnamed guard shows up in a [`DrainReport`] only as a count.
    ///
    /// # Errors
    ///
    /// [`AlreadyDrained`] once shutdown was triggered and every guard dropped:
    /// a guard then would protect nothing.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let guard = shutdown.guard().unwrap();
    /// shutdown.trigger();
    /// let helper = shutdown.guard().unwrap(); // still draining: allowed
    /// drop((guard, helper));
    /// assert!(shutdown.guard().is_err());
    /// ```
    pub fn guard(&self) -> Result<ShutdownGuard, AlreadyDrained> {
        self.inner.acquire()?;
        Ok(self.make_guard(None))
    }

    /// Wraps an already-counted guard.
    fn make_guard(&self, name: Option<(u64, Arc<str>)>) -> ShutdownGuard {
        ShutdownGuard {
            shutdown: self.inner.clone(),
            token: self.inner.root.child_token(),
            name,
        }
    }

    /// Like [`guard`](Shutdown::guard), with a name that a timed-out drain
    /// reports (with the guard's age) while the guard is alive.
    ///
    /// Takes the registry lock briefly (here and when the guard drops); no
    /// user code runs under it. Names need not be unique.
    ///
    /// # Errors
    ///
    /// [`AlreadyDrained`], as for [`guard`](Shutdown::guard).
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let guard = shutdown.guard_named(format!("connection {}", 7)).unwrap();
    /// assert_eq!(guard.name(), Some("connection 7"));
    /// ```
    pub fn guard_named(
        &self,
        name: impl Into<Cow<'static, str>>,
    ) -> Result<ShutdownGuard, AlreadyDrained> {
        let name: Arc<str> = match name.into() {
            Cow::Borrowed(name) => name.into(),
            Cow::Owned(name) => name.into(),
        };
        let id = {
            let mut named = self.inner.registry();
            // Counted under the lock, so that `report` sees the registry and
            // the count agree.
            self.inner.acquire()?;
            let id = named.next_id;
            named.next_id += 1;
            named.live.insert(id, (name.clone(), Instant::now()));
            id
        };
        Ok(self.make_guard(Some((id, name))))
    }

    /// Wraps `future` so that it holds a guard for as long as it lives
    /// (until it completes or is dropped). Works on any executor.
    ///
    /// # Errors
    ///
    /// [`AlreadyDrained`] once the drain is over; `future` is then dropped
    /// without being polled.
    ///
    /// ```
    /// use ripcord::shutdown::Shutdown;
    ///
    /// let shutdown = Shutdown::new();
    /// let task = shutdown.track(async { 40 + 2 }).unwrap();
    /// assert_eq!(shutdown.active_guards(), 1);
    /// assert_eq!(futures::executor::block_on(task), 42);
    /// assert_eq!(shutdown.active_guards(), 0);
    /// ```
    pub fn track<F: Future>(&self, future: F) -> Result<Tracked<F>, AlreadyDrained> {
        let guard = self.guard()?;
        Ok(Tracked {
            future,
            guard: Some(guard),
        })
    }

    /// Triggers shutdown with [`CancelReason::Cancelled`]. Idempotent.
    ///
    /// Before it returns, every token from [`token`](Shutdown::token) and every
    /// guard's token is cancelled, even if another thread's trigger won the
    /// race. Never blocks on waiters (it wakes them); `on_cancel` callbacks
    /// registered on the tokens run on the thread that wins the race, as for
    /// [`CancellationToken::cancel_with`]. Safe to call from a signal-handling
    /// thread (such as the `ctrlc` crate's), not from inside a raw
    /// async-signal handler.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// shutdown.trigger();
    /// shutdown.trigger();
    /// assert!(shutdown.is_triggered());
    /// ```
    pub fn trigger(&self) {
        self.trigger_with(CancelReason::Cancelled);
    }

    /// Triggers shutdown with a reason every token reports. The first reason
    /// wins; later triggers change nothing.
    ///
    /// ```
    /// use ripcord::{CancelReason, shutdown::Shutdown};
    ///
    /// let shutdown = Shutdown::new();
    /// let token = shutdown.token();
    /// shutdown.trigger_with(CancelReason::custom("SIGTERM"));
    /// assert_eq!(token.reason().unwrap().to_string(), "SIGTERM");
    /// ```
    pub fn trigger_with(&self, reason: CancelReason) {
        // Cancel first, so that every caller of `trigger*` (not only the
        // first) returns with the tree cancelled; but run no user code until
        // the shutdown is marked triggered too.
        let (_, deferred) = self.inner.root.cancel_deferred(reason);
        // ORDERING: `Release` publishes the cancelled tree to `is_triggered`
        // and to the drain's waiters; `Acquire` sees the last guard's
        // release if the count is already 0.
        let prev = self.inner.state.fetch_or(TRIGGERED, Ordering::AcqRel);
        let mut wakeups = Wakeups::new();
        if prev == 0 {
            // Triggered with no guard alive: drained right now.
            self.inner.take_drain_waiters(&mut wakeups);
        }
        // Every transition is done: now the user code (wakers, callbacks),
        // all of it even if some panics; then the first panic.
        let mut panics = FirstPanic::new();
        wakeups.wake_all(&mut panics);
        panics.merge(deferred.run());
        panics.resume();
    }

    /// Whether shutdown was triggered. One atomic load.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// assert!(!shutdown.is_triggered());
    /// shutdown.trigger();
    /// assert!(shutdown.is_triggered());
    /// ```
    pub fn is_triggered(&self) -> bool {
        // ORDERING: pairs with `trigger_with`'s `Release`.
        self.inner.state.load(Ordering::Acquire) & TRIGGERED != 0
    }

    /// How many guards are alive. One atomic load.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let _a = shutdown.guard().unwrap();
    /// assert_eq!(shutdown.active_guards(), 1);
    /// ```
    pub fn active_guards(&self) -> usize {
        // ORDERING: pairs with the guards' `Release` (count changes).
        self.inner.state.load(Ordering::Acquire) / ONE_GUARD
    }

    /// Whether the drain is over: triggered, and every guard dropped.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// assert!(!shutdown.is_drained());
    /// shutdown.trigger();
    /// assert!(shutdown.is_drained());
    /// ```
    pub fn is_drained(&self) -> bool {
        self.inner.is_drained()
    }

    /// Blocks the thread until shutdown is triggered and every guard dropped.
    ///
    /// Blocks the calling thread (forever, if nobody triggers shutdown): in
    /// async code use [`drained`](Shutdown::drained). Returns at once once
    /// drained.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let guard = shutdown.guard().unwrap();
    /// let s = shutdown.clone();
    /// std::thread::spawn(move || { s.trigger(); drop(guard); });
    /// shutdown.wait();
    /// assert!(shutdown.is_drained());
    /// ```
    pub fn wait(&self) {
        let _ = self.inner.wait_until(None);
    }

    /// Blocks the thread until the drain is over or `timeout` elapses.
    ///
    /// Blocks the calling thread: in async code put a timeout on
    /// [`drained`](Shutdown::drained) (see there). A zero timeout only
    /// checks; a timeout whose end is not representable (`Duration::MAX`)
    /// waits forever, like [`wait`](Shutdown::wait). If the drain completes
    /// as the timeout expires, the result is `Ok`.
    ///
    /// # Errors
    ///
    /// On timeout, a [`DrainReport`] naming every guard still alive.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let _stuck = shutdown.guard_named("stuck job").unwrap();
    /// shutdown.trigger();
    /// let report = shutdown.wait_timeout(Duration::from_millis(5)).unwrap_err();
    /// assert_eq!(report.stragglers()[0].name(), "stuck job");
    /// ```
    #[must_use = "the result says whether the drain finished, and if not, what is still running"]
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), DrainReport> {
        self.wait_deadline_opt(crate::wait::deadline_after(timeout))
    }

    /// Blocks the thread until the drain is over or `deadline` passes.
    ///
    /// Blocks the calling thread. A deadline that has passed only checks.
    ///
    /// # Errors
    ///
    /// As for [`wait_timeout`](Shutdown::wait_timeout).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// shutdown.trigger();
    /// assert!(shutdown.wait_deadline(Instant::now() + Duration::from_secs(1)).is_ok());
    /// ```
    #[must_use = "the result says whether the drain finished, and if not, what is still running"]
    pub fn wait_deadline(&self, deadline: Instant) -> Result<(), DrainReport> {
        self.wait_deadline_opt(Some(deadline))
    }

    fn wait_deadline_opt(&self, deadline: Option<Instant>) -> Result<(), DrainReport> {
        if self.inner.wait_until(deadline) {
            Ok(())
        } else {
            Err(self.report())
        }
    }

    /// Waits asynchronously until shutdown is triggered and every guard
    /// dropped. Works on any executor.
    ///
    /// Cancel-safe: dropping the [`Drain`] unregisters it and loses nothing.
    /// The future is `Send`, `Sync`, `Unpin`, `'static` and fused.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// shutdown.trigger();
    /// shutdown.drained().await;
    /// # });
    /// ```
    ///
    /// # With a timeout
    ///
    /// Put any runtime's timer on it with the [`time`](crate::time) adapters,
    /// and ask for the [`report`](Shutdown::report) of what is still running
    /// when it elapses (this replaces 0.1's `drained_timeout`):
    ///
    /// ```
    /// use std::time::Duration;
    /// use ripcord::{shutdown::Shutdown, FutureExt};
    ///
    /// # smol::block_on(async {
    /// let shutdown = Shutdown::new();
    /// let _stuck = shutdown.guard_named("slow request").unwrap();
    /// shutdown.trigger();
    /// // Any runtime's timer; with feature `async-io`, `ripcord::time::AsyncIoSleeper`.
    /// let sleeper = |d| async move {
    ///     smol::Timer::after(d).await;
    /// };
    /// if shutdown.drained().timeout(&sleeper, Duration::from_millis(5)).await.is_err() {
    ///     let report = shutdown.report();
    ///     assert_eq!(report.stragglers()[0].name(), "slow request");
    /// }
    /// # });
    /// ```
    pub fn drained(&self) -> Drain {
        Drain {
            inner: self.inner.clone(),
            key: None,
            done: false,
        }
    }

    /// A snapshot of the guards alive right now (what a timed-out drain
    /// returns). Takes the registry lock briefly; never blocks otherwise.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let _g = shutdown.guard_named("indexer").unwrap();
    /// assert_eq!(shutdown.report().stragglers()[0].name(), "indexer");
    /// ```
    pub fn report(&self) -> DrainReport {
        let named = self.inner.registry();
        // Under the lock, named guards do not come or go, so the count minus
        // the registry is exactly the unnamed guards.
        // ORDERING: pairs with the guards' `Release`, as in `active_guards`.
        let state = self.inner.state.load(Ordering::Acquire);
        let now = Instant::now();
        let stragglers: Vec<Straggler> = named
            .live
            .values()
            .map(|(name, since)| Straggler {
                name: name.clone(),
                age: now.saturating_duration_since(*since),
            })
            .collect();
        drop(named);
        let unnamed = (state / ONE_GUARD).saturating_sub(stragglers.len());
        DrainReport::new(stragglers, unnamed, state & TRIGGERED != 0)
    }
}

/// A shutdown in a set of events (`Select::drained`): ready once drained.
impl crate::wait::Member for Shutdown {
    fn check(&self) -> bool {
        self.inner.is_drained()
    }

    fn listen(
        &self,
        key: &mut Option<crate::wait::MemberKey>,
        waiter: crate::wait::NewWaiter<'_>,
    ) -> bool {
        crate::wait::listen_member(&Drained(&self.inner), key, waiter)
    }

    fn unlisten(&self, key: crate::wait::MemberKey) -> bool {
        crate::wait::unlisten_member(&Drained(&self.inner), key)
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("is_triggered", &self.is_triggered())
            .field("active_guards", &self.active_guards())
            .finish()
    }
}

impl Inner {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        crate::loom::lock(&self.named)
    }

    fn is_drained(&self) -> bool {
        // ORDERING: `Acquire` pairs with the last guard's `Release`: what
        // the guarded work did happens before the drain is seen over.
        self.state.load(Ordering::Acquire) == TRIGGERED
    }

    /// Counts one more guard, unless the drain is over.
    fn acquire(&self) -> Result<(), AlreadyDrained> {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state == TRIGGERED {
                return Err(AlreadyDrained::new());
            }
            let new = state
                .checked_add(ONE_GUARD)
                .expect("shutdown guard count overflow");
            // ORDERING: an RMW on the same word as `trigger` and the last
            // release, so "drained" and "one more guard" cannot both win.
            match self
                .state
                .compare_exchange_weak(state, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(actual) => state = actual,
            }
        }
    }

    /// Counts one guard less. Returns whether this ended the drain (the
    /// caller then calls [`notify_drained`](Inner::notify_drained), outside
    /// any lock).
    #[must_use]
    fn release(&self) -> bool {
        // ORDERING: `Release` publishes the guard holder's work to whoever
        // sees the drain over; `Acquire` sees `TRIGGERED` if it is set.
        let prev = self.state.fetch_sub(ONE_GUARD, Ordering::AcqRel);
        debug_assert!(prev >= ONE_GUARD, "shutdown guard count underflow");
        prev == TRIGGERED | ONE_GUARD
    }

    /// Takes the drain's waiters out, for the caller to wake after unlocking.
    /// Called once the state is drained (final), so a waiter that registers
    /// later sees it under the same lock and does not stay registered.
    fn take_drain_waiters(&self, into: &mut Wakeups) {
        self.registry().waiters.take_all(into);
    }

    /// Wakes everyone waiting for the drain (once it is over).
    fn notify_drained(&self) {
        let mut wakeups = Wakeups::new();
        self.take_drain_waiters(&mut wakeups);
        let mut panics = FirstPanic::new();
        wakeups.wake_all(&mut panics);
        panics.resume();
    }

    /// Blocks until the drain is over or `deadline`; returns whether it is.
    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        crate::wait::block_on(&Drained(self), deadline).is_some()
    }
}

/// The drain, as the waiting core sees it.
struct Drained<'a>(&'a Inner);

impl Event for Drained<'_> {
    type Output = ();
    type Key = Key;

    fn check(&self) -> Option<()> {
        self.0.is_drained().then_some(())
    }

    fn listen(&self, key: &mut Option<Key>, waiter: NewWaiter<'_>) -> Result<(), ()> {
        // Cloning a waker is user code: before locking.
        let waiter = waiter.to_waiter();
        let registry = self.0.registry();
        // Check again under the lock the notifier takes to collect waiters.
        let drained = self.0.is_drained();
        register_locked(registry, |r| &mut r.waiters, drained, key, waiter)
    }

    fn unlisten(&self, key: Key) -> bool {
        withdraw_locked(self.0.registry(), |r| Some(&mut r.waiters), key)
    }
}

/// One piece of in-flight work, counted until dropped. Made by
/// [`Shutdown::guard`] and [`Shutdown::guard_named`].
///
/// The guard carries a token that is cancelled when shutdown is triggered, so
/// the work knows when to wrap up.
///
/// Dropping it never blocks (a named guard takes the registry lock briefly);
/// the drop that ends the drain wakes every waiter. It is `Send` and `Sync`:
/// move it into the thread or task doing the work.
///
/// ```
/// let shutdown = ripcord::shutdown::Shutdown::new();
/// let guard = shutdown.guard().unwrap();
/// std::thread::spawn(move || {
///     guard.token().wait(); // work until shutdown...
///     drop(guard);          // ...then report done
/// });
/// shutdown.trigger();
/// shutdown.wait();
/// ```
pub struct ShutdownGuard {
    shutdown: Arc<Inner>,
    token: CancellationToken,
    /// Registry id and name, for named guards.
    name: Option<(u64, Arc<str>)>,
}

impl ShutdownGuard {
    /// A token cancelled when shutdown is triggered (a child of the
    /// coordinator's root: cancelling it does not trigger shutdown).
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let guard = shutdown.guard().unwrap();
    /// assert!(!guard.token().is_cancelled());
    /// shutdown.trigger();
    /// assert!(guard.token().is_cancelled());
    /// ```
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// The guard's name, if it has one.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// assert_eq!(shutdown.guard().unwrap().name(), None);
    /// assert_eq!(shutdown.guard_named("db").unwrap().name(), Some("db"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_ref().map(|(_, name)| &**name)
    }
}

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        let drained = match self.name.take() {
            Some((id, _)) => {
                // Uncounted under the lock, like `guard_named` counted it.
                let mut named = self.shutdown.registry();
                named.live.remove(&id);
                self.shutdown.release()
            }
            None => self.shutdown.release(),
        };
        if drained {
            self.shutdown.notify_drained();
        }
    }
}

impl fmt::Debug for ShutdownGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownGuard")
            .field("name", &self.name())
            .field("is_cancelled", &self.token.is_cancelled())
            .finish()
    }
}

/// Future returned by [`Shutdown::drained`]: resolves once shutdown is
/// triggered and every guard dropped.
///
/// `Send`, `Sync`, `Unpin`, `'static` and cancel-safe: dropping it
/// unregisters it. Polling it again after it resolved resolves again.
///
/// ```
/// # futures::executor::block_on(async {
/// let shutdown = ripcord::shutdown::Shutdown::new();
/// let drain: ripcord::shutdown::Drain = shutdown.drained();
/// shutdown.trigger();
/// drain.await;
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Drain {
    inner: Arc<Inner>,
    key: Option<Key>,
    done: bool,
}

impl Future for Drain {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let poll = crate::wait::poll_event(&Drained(&this.inner), &mut this.key, cx);
        this.done |= poll.is_ready();
        poll
    }
}

/// Terminated once it has resolved.
impl futures_core::future::FusedFuture for Drain {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl Drop for Drain {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            Drained(&self.inner).unlisten(key);
        }
    }
}

impl fmt::Debug for Drain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Drain")
            .field("is_drained", &self.inner.is_drained())
            .finish()
    }
}

pin_project_lite::pin_project! {
    /// A future that holds a [`ShutdownGuard`] while it lives. Made by
    /// [`Shutdown::track`].
    ///
    /// The guard is released as soon as the future completes, or when it is
    /// dropped unfinished.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let tracked: ripcord::shutdown::Tracked<_> = shutdown.track(async {}).unwrap();
    /// drop(tracked);
    /// assert_eq!(shutdown.active_guards(), 0);
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct Tracked<F> {
        #[pin]
        future: F,
        guard: Option<ShutdownGuard>,
    }
}

impl<F> Tracked<F> {
    /// The guard's token: cancelled when shutdown is triggered. `None` once
    /// the future has completed.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let tracked = shutdown.track(async {}).unwrap();
    /// assert!(!tracked.token().unwrap().is_cancelled());
    /// ```
    pub fn token(&self) -> Option<&CancellationToken> {
        self.guard.as_ref().map(ShutdownGuard::token)
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let output = std::task::ready!(this.future.poll(cx));
        // Done: stop counting now, not when the executor drops the task.
        this.guard.take();
        Poll::Ready(output)
    }
}

/// Terminated once the inner future has completed (its guard is released then).
impl<F: Future> futures_core::future::FusedFuture for Tracked<F> {
    fn is_terminated(&self) -> bool {
        self.guard.is_none()
    }
}

impl<F> fmt::Debug for Tracked<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracked")
            .field("guard", &self.guard)
            .finish_non_exhaustive()
    }
}
