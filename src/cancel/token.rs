//! The public token handle.

use core::fmt;
use core::future::Future;
use core::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use super::node::{Cancellation, Node, NodeRef, Registered};
use super::{CallbackGuard, CancelCallback, CancelReason, Cancelled, CancelledOwned, DropGuard};
use super::{RunUntilCancelled, RunUntilCancelledOwned};
use crate::Elapsed;

/// A cancellation token: cheap to check, waitable from threads and async
/// tasks, arranged in trees, with a [`CancelReason`], deadlines and callbacks.
///
/// A token is a handle: clones share one state, and cancelling any clone
/// cancels them all. [`child_token`](Self::child_token) derives a token that is
/// cancelled with its parent but can also be cancelled on its own;
/// [`any_of`](Self::any_of) derives one cancelled by the first of several
/// parents.
///
/// # Cost
///
/// - [`is_cancelled`](Self::is_cancelled) is one atomic load: no lock, no
///   shared write, so it scales across threads.
/// - `clone` and `drop` touch only a reference count. Dropping the last handle
///   of a child also removes it from the parent, under the parent's lock.
/// - [`cancel`](Self::cancel) of a token with no children and no callbacks
///   is one compare-and-swap, no lock. Otherwise it locks each token that has
///   children or callbacks, one at a time, while its children are marked
///   (each with one compare-and-swap), and wakes waiters outside every lock.
///
/// A token keeps its ancestors alive (like Go's `context.Context`): memory of a
/// parent whose handles are all gone is released with its last descendant.
///
/// # Examples
///
/// ```
/// use ripcord::{CancelReason, CancellationToken};
///
/// let root = CancellationToken::new();
/// let worker = root.child_token();
/// let handle = std::thread::spawn(move || {
///     worker.wait(); // blocks until cancelled (parks the thread)
///     worker.reason()
/// });
/// root.cancel_with(CancelReason::custom("shutting down"));
/// assert_eq!(handle.join().unwrap().unwrap().to_string(), "shutting down");
/// ```
#[derive(Clone)]
pub struct CancellationToken {
    pub(crate) node: NodeRef,
}

impl CancellationToken {
    /// Makes a new, uncancelled token with no parent.
    ///
    /// ```
    /// let token = ripcord::CancellationToken::new();
    /// assert!(!token.is_cancelled());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        CancellationToken {
            node: Node::new_root(),
        }
    }

    /// Cancels the token and all its descendants with
    /// [`CancelReason::Cancelled`]. Same as
    /// `cancel_with(CancelReason::Cancelled)`; see [`cancel_with`](Self::cancel_with).
    ///
    /// ```
    /// use ripcord::{CancelReason, CancellationToken};
    ///
    /// let token = CancellationToken::new();
    /// token.cancel();
    /// token.cancel(); // idempotent
    /// assert_eq!(token.reason(), Some(CancelReason::Cancelled));
    /// ```
    pub fn cancel(&self) {
        self.cancel_with(CancelReason::Cancelled);
    }

    /// Cancels the token and all its descendants with `reason`.
    ///
    /// Idempotent: the first cancellation's reason wins, later calls change
    /// nothing and return `false`. The call that cancels the token returns
    /// `true` only after every descendant is cancelled and every waiter woken
    /// (wake-ups happen outside every lock), and after the
    /// [`on_cancel`](Self::on_cancel) callbacks of the whole subtree have run on
    /// this thread. A descendant that was already cancelled keeps its own
    /// reason (and its subtree is left to whoever cancelled it).
    ///
    /// After `cancel_with` returns, the token always reports cancelled. A call
    /// that loses a race against a concurrent cancellation of the same token
    /// returns `false`; if the winner is still marking the descendants, the
    /// loser first waits for that (briefly: no user code runs meanwhile; the
    /// winner's callbacks are not waited for).
    ///
    /// If a callback panics, the other callbacks still run, the whole subtree
    /// stays cancelled, and the first panic is then resumed on this thread.
    ///
    /// Never blocks on waiters; runs in time proportional to the size of the
    /// subtree, with no recursion (a 100,000-deep chain is fine).
    ///
    /// ```
    /// use ripcord::{CancelReason, CancellationToken};
    ///
    /// let parent = CancellationToken::new();
    /// let child = parent.child_token();
    /// assert!(parent.cancel_with(CancelReason::custom("bye")));
    /// assert!(!parent.cancel_with(CancelReason::Cancelled)); // first wins
    /// assert_eq!(child.reason().unwrap().to_string(), "bye");
    /// ```
    pub fn cancel_with(&self, reason: CancelReason) -> bool {
        Node::cancel(&self.node, reason)
    }

    /// Cancels like [`cancel_with`](Self::cancel_with), but runs no user
    /// code: returns it, for the caller to run once its own state is updated.
    pub(crate) fn cancel_deferred(&self, reason: CancelReason) -> (bool, super::node::Deferred) {
        Node::cancel_deferred(&self.node, reason)
    }

    /// Whether the token is cancelled. One atomic load (`Acquire`): no lock,
    /// no allocation, no shared write. Once it returns `true`,
    /// [`reason`](Self::reason) is `Some` and every descendant reports
    /// cancelled too: a token with children is marked cancelled only after
    /// all of them (the one exception: a descendant that another thread is
    /// cancelling concurrently, on its own, may still be finishing).
    ///
    /// ```
    /// let token = ripcord::CancellationToken::new();
    /// assert!(!token.is_cancelled());
    /// token.cancel();
    /// assert!(token.is_cancelled());
    /// ```
    #[inline]
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.node.is_cancelled()
    }

    /// Why the token was cancelled, or `None` while it is not.
    ///
    /// A token cancelled by an ancestor reports the ancestor's reason; a
    /// deadline (its own or inherited) reports
    /// [`CancelReason::DeadlineExceeded`].
    ///
    /// Cost: one atomic load for `Cancelled` and `DeadlineExceeded`. A custom
    /// reason is stored once, in the token where the cancellation started;
    /// its descendants point there (so a fan-out clones nothing), and reading
    /// it walks up to that token and takes its lock briefly.
    ///
    /// ```
    /// use ripcord::{CancelReason, CancellationToken};
    ///
    /// let root = CancellationToken::new();
    /// let leaf = root.child_token().child_token();
    /// assert_eq!(leaf.reason(), None);
    /// root.cancel_with(CancelReason::DeadlineExceeded);
    /// assert_eq!(leaf.reason(), Some(CancelReason::DeadlineExceeded));
    /// ```
    #[must_use]
    pub fn reason(&self) -> Option<CancelReason> {
        self.node.reason()
    }

    /// Makes a child token: cancelled when this token is, while cancelling the
    /// child leaves this token alone. A child of a cancelled token is born
    /// cancelled with the same reason. Dropping every handle of a child removes
    /// it from this token (its memory is freed).
    ///
    /// The child inherits the earliest [`deadline`](Self::deadline) of its
    /// ancestors. One allocation; takes this token's lock briefly.
    ///
    /// ```
    /// let parent = ripcord::CancellationToken::new();
    /// let child = parent.child_token();
    /// child.cancel();
    /// assert!(!parent.is_cancelled());
    /// let child = parent.child_token();
    /// parent.cancel();
    /// assert!(child.is_cancelled());
    /// assert!(parent.child_token().is_cancelled()); // born cancelled
    /// ```
    #[must_use]
    pub fn child_token(&self) -> CancellationToken {
        CancellationToken {
            node: Node::new_child(&self.node),
        }
    }

    /// Makes a linked token, cancelled as soon as **any** of `parents` is, with
    /// that parent's reason (like .NET's `CreateLinkedTokenSource`). It can
    /// also be cancelled on its own, which leaves the parents alone.
    ///
    /// If a parent is already cancelled, the token is born cancelled with the
    /// first such parent's reason. With no parents it behaves like
    /// [`new`](Self::new). Dropping the linked token removes it from every
    /// parent, so creating and dropping linked tokens in a loop does not grow
    /// long-lived parents. Its [`deadline`](Self::deadline) is the earliest of
    /// all its ancestors'.
    ///
    /// ```
    /// use ripcord::{CancelReason, CancellationToken};
    ///
    /// let shutdown = CancellationToken::new();
    /// let request = CancellationToken::new();
    /// let either = CancellationToken::any_of([&shutdown, &request]);
    /// request.cancel_with(CancelReason::custom("client went away"));
    /// assert_eq!(either.reason().unwrap().to_string(), "client went away");
    /// assert!(!shutdown.is_cancelled());
    /// ```
    #[must_use]
    pub fn any_of<'a>(parents: impl IntoIterator<Item = &'a CancellationToken>) -> Self {
        let parents: Vec<&NodeRef> = parents.into_iter().map(|t| &t.node).collect();
        CancellationToken {
            node: Node::new_linked(&parents),
        }
    }

    /// A future that resolves once the token is cancelled.
    ///
    /// Works on any executor. **Cancel-safe**: dropping the future before it
    /// completes removes its waker from the token (a `select!` loop that
    /// re-creates it each round does not grow anything). Resolves immediately,
    /// without registering anything, if the token already is cancelled.
    ///
    /// The future, [`cancel::Cancelled`](crate::cancel::Cancelled), is fused:
    /// `futures::select!` takes it without `.fuse()`.
    ///
    /// ```
    /// let token = ripcord::CancellationToken::new();
    /// let waiter = token.clone();
    /// std::thread::spawn(move || waiter.cancel());
    /// pollster::block_on(token.cancelled());
    /// assert!(token.is_cancelled());
    /// ```
    pub fn cancelled(&self) -> Cancelled<'_> {
        Cancelled::new(self)
    }

    /// Like [`cancelled`](Self::cancelled), but owns the token: the future is
    /// `'static` and `Send`, so it can be spawned or stored. Cancel-safe in the
    /// same way.
    ///
    /// ```
    /// let token = ripcord::CancellationToken::new();
    /// let fut = token.clone().cancelled_owned();
    /// let task = std::thread::spawn(move || pollster::block_on(fut));
    /// token.cancel();
    /// task.join().unwrap();
    /// ```
    pub fn cancelled_owned(self) -> CancelledOwned {
        CancelledOwned::new(self)
    }

    /// Blocks the calling thread until the token is cancelled. Parks the
    /// thread after a short, bounded hand-off phase (never an unbounded
    /// spin); returns at once if already cancelled.
    ///
    /// Blocking: do not call it on an async executor's thread; await
    /// [`cancelled`](Self::cancelled) there instead.
    ///
    /// ```
    /// let token = ripcord::CancellationToken::new();
    /// let other = token.clone();
    /// std::thread::spawn(move || other.cancel());
    /// token.wait();
    /// assert!(token.is_cancelled());
    /// ```
    pub fn wait(&self) {
        // No deadline: returns only once cancelled.
        let _cancelled = self.wait_until(None);
    }

    /// Blocks for at most `timeout` until the token is cancelled: `Ok(())`
    /// once it is, `Err(Elapsed)` if the time ran out first. A timeout too
    /// large to represent (such as [`Duration::MAX`]) waits forever; a zero
    /// timeout only checks.
    ///
    /// Blocking: see [`wait`](Self::wait).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let token = ripcord::CancellationToken::new();
    /// assert!(token.wait_timeout(Duration::from_millis(10)).is_err());
    /// token.cancel();
    /// assert_eq!(token.wait_timeout(Duration::MAX), Ok(()));
    /// ```
    #[must_use = "the result says whether the token was cancelled or the time ran out"]
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), Elapsed> {
        self.wait_until(crate::wait::deadline_after(timeout))
    }

    /// Blocks until the token is cancelled (`Ok(())`) or `deadline` passes
    /// (`Err(Elapsed)`). A deadline in the past only checks.
    ///
    /// Blocking: see [`wait`](Self::wait).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let token = ripcord::CancellationToken::new();
    /// assert!(token.wait_deadline(Instant::now() + Duration::from_millis(10)).is_err());
    /// ```
    #[must_use = "the result says whether the token was cancelled or the time ran out"]
    pub fn wait_deadline(&self, deadline: Instant) -> Result<(), Elapsed> {
        self.wait_until(Some(deadline))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Result<(), Elapsed> {
        crate::wait::block_on(&Cancellation(&self.node), deadline).ok_or(Elapsed::new())
    }

    /// Cancels the token with [`CancelReason::DeadlineExceeded`] once
    /// `timeout` has passed (unless it is cancelled before). Needs no async
    /// runtime: see [`cancel_at`](Self::cancel_at) for the mechanism. A zero
    /// timeout cancels now; a timeout too large to represent (such as
    /// [`Duration::MAX`]) never fires. Never panics, never blocks.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ripcord::{CancelReason, CancellationToken};
    ///
    /// let token = CancellationToken::new();
    /// token.cancel_after(Duration::from_millis(10));
    /// token.wait();
    /// assert_eq!(token.reason(), Some(CancelReason::DeadlineExceeded));
    /// ```
    pub fn cancel_after(&self, timeout: Duration) {
        if let Some(deadline) = crate::wait::deadline_after(timeout) {
            self.cancel_at(deadline);
        }
    }

    /// Cancels the token with [`CancelReason::DeadlineExceeded`] at `deadline`
    /// (unless it is cancelled before). A deadline that has passed cancels now,
    /// on this thread. If the token already has an earlier deadline, that one
    /// stays; a later one never replaces an earlier one.
    ///
    /// # Mechanism
    ///
    /// No async runtime is needed: the first future deadline starts one
    /// thread (`ripcord-timer`) shared by every token in the process. It keeps
    /// the pending deadlines in an ordered map, holding only weak references
    /// (a pending deadline never keeps a token alive; dropping or cancelling
    /// the token removes its entry), and sleeps until the earliest one. It only
    /// does the state transitions and unparks blocked threads: callbacks and
    /// task wakers of tokens cancelled by a deadline run on helper threads
    /// (`ripcord-callbacks`), so a slow callback delays no other deadline.
    /// Descendants need no timer of their own: they are cancelled with their
    /// ancestor.
    ///
    /// To drive a deadline from your own runtime's timer instead, spawn
    /// [`time::cancel_on_timer_at`](crate::time::cancel_on_timer_at).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let parent = ripcord::CancellationToken::new();
    /// let at = Instant::now() + Duration::from_secs(3600);
    /// parent.cancel_at(at);
    /// let child = parent.child_token();
    /// assert_eq!(child.deadline(), Some(at)); // inherited
    /// parent.cancel_at(Instant::now()); // in the past: cancels now
    /// assert!(child.is_cancelled());
    /// ```
    pub fn cancel_at(&self, deadline: Instant) {
        if !Node::set_deadline(&self.node, deadline) {
            self.cancel_with(CancelReason::DeadlineExceeded);
        }
    }

    /// The earliest deadline set on this token or any of its ancestors (all
    /// parents of an [`any_of`](Self::any_of) token), or `None`. It stays
    /// reported after it passed. Locks only the tokens that have a deadline or
    /// several parents; walks the ancestors, so it costs time proportional to
    /// the depth.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let token = ripcord::CancellationToken::new();
    /// assert_eq!(token.deadline(), None);
    /// token.cancel_after(Duration::from_secs(60));
    /// assert!(token.deadline().is_some());
    /// ```
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        self.node.deadline()
    }

    /// Registers `callback` to run once when the token is cancelled (by itself
    /// or an ancestor), with the token's reason. Useful to interrupt blocking
    /// I/O: close a socket, kill a child process.
    ///
    /// - If the token is already cancelled, the callback runs immediately, on
    ///   this thread, before `on_cancel` returns.
    /// - Otherwise it runs on the thread that cancels the token (the timer
    ///   thread for a deadline), outside every lock, after the whole cancelled
    ///   subtree is published and woken. Callbacks of one token run in
    ///   registration order.
    /// - The callback stays registered until it runs or the token is freed,
    ///   **whether or not the returned [`CancelCallback`] is kept**: discarding
    ///   the handle (`let _ = ...`, or a bare statement) never loses it. Call
    ///   [`CancelCallback::unregister`] to remove it. For a callback that must
    ///   not outlive a scope (it borrows nothing, but what it touches goes
    ///   away), use [`on_cancel_scoped`](Self::on_cancel_scoped).
    ///
    /// Each registration costs a boxed closure plus a slot in the token's
    /// list until the token is cancelled or freed; on a long-lived token,
    /// unregister callbacks you no longer need.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use ripcord::CancellationToken;
    ///
    /// let token = CancellationToken::new();
    /// let seen = Arc::new(Mutex::new(None));
    /// let s = seen.clone();
    /// // The handle is not needed to keep the callback.
    /// token.on_cancel(move |reason| *s.lock().unwrap() = Some(reason.to_string()));
    /// token.cancel();
    /// assert_eq!(seen.lock().unwrap().as_deref(), Some("cancelled"));
    /// ```
    pub fn on_cancel<F>(&self, callback: F) -> CancelCallback
    where
        F: FnOnce(&CancelReason) + Send + 'static,
    {
        match self.node.on_cancel(Box::new(callback)) {
            Registered::Stored(id) => CancelCallback::stored(self.node.clone(), id),
            Registered::RanNow => CancelCallback::done(),
        }
    }

    /// Like [`on_cancel`](Self::on_cancel), but the callback lives only as
    /// long as the returned [`CallbackGuard`]: dropping the guard unregisters
    /// it (and, if the callback is running on another thread right then,
    /// waits for it to return). Use it when the callback touches something
    /// that goes away at the end of a scope.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use ripcord::CancellationToken;
    ///
    /// let token = CancellationToken::new();
    /// let runs = Arc::new(AtomicUsize::new(0));
    /// {
    ///     let r = runs.clone();
    ///     let _guard = token.on_cancel_scoped(move |_| {
    ///         r.fetch_add(1, Ordering::SeqCst);
    ///     });
    ///     // ... work that should be interrupted by a cancellation ...
    /// } // guard dropped: unregistered
    /// token.cancel();
    /// assert_eq!(runs.load(Ordering::SeqCst), 0);
    /// ```
    pub fn on_cancel_scoped<F>(&self, callback: F) -> CallbackGuard
    where
        F: FnOnce(&CancelReason) + Send + 'static,
    {
        CallbackGuard::new(self.on_cancel(callback))
    }

    /// Wraps the token in a guard that cancels it when dropped (unless
    /// [`disarm`](DropGuard::disarm)ed).
    ///
    /// ```
    /// let token = ripcord::CancellationToken::new();
    /// {
    ///     let _guard = token.clone().drop_guard();
    /// }
    /// assert!(token.is_cancelled());
    /// ```
    pub fn drop_guard(self) -> DropGuard {
        DropGuard::new(self)
    }

    /// Runs `fut` until it completes or the token is cancelled, whichever
    /// comes first. The token is checked **before** `fut` on every poll, so a
    /// cancelled token never starts the work and a cancellation is honoured at
    /// the next wake-up even if `fut` would have been ready then. Returns the
    /// error [`CancelledError`](crate::CancelledError) carrying the reason.
    /// Dropping the returned future drops `fut` (cancel-safe exactly when
    /// `fut` is).
    ///
    /// ```
    /// use ripcord::CancellationToken;
    ///
    /// let token = CancellationToken::new();
    /// assert_eq!(pollster::block_on(token.run_until_cancelled(async { 7 })), Ok(7));
    /// token.cancel();
    /// let err = pollster::block_on(token.run_until_cancelled(async { 7 })).unwrap_err();
    /// assert_eq!(err.to_string(), "cancelled");
    /// ```
    pub fn run_until_cancelled<F: Future>(&self, fut: F) -> RunUntilCancelled<'_, F> {
        RunUntilCancelled::new(self, fut)
    }

    /// Like [`run_until_cancelled`](Self::run_until_cancelled), but owns the
    /// token, so the future is `'static` when `fut` is.
    ///
    /// ```
    /// let token = ripcord::CancellationToken::new();
    /// let fut = token.clone().run_until_cancelled_owned(async { "done" });
    /// assert_eq!(pollster::block_on(fut), Ok("done"));
    /// ```
    pub fn run_until_cancelled_owned<F: Future>(self, fut: F) -> RunUntilCancelledOwned<F> {
        RunUntilCancelledOwned::new(self, fut)
    }
}

/// A token in a set of events (`Select::cancelled`, `recv_or_cancelled`):
/// ready once cancelled.
impl crate::wait::Member for CancellationToken {
    fn check(&self) -> bool {
        self.is_cancelled()
    }

    fn listen(
        &self,
        key: &mut Option<crate::wait::MemberKey>,
        waiter: crate::wait::NewWaiter<'_>,
    ) -> bool {
        crate::wait::listen_member(&Cancellation(&self.node), key, waiter)
    }

    fn unlisten(&self, key: crate::wait::MemberKey) -> bool {
        crate::wait::unlisten_member(&Cancellation(&self.node), key)
    }
}

impl Default for CancellationToken {
    /// Same as [`CancellationToken::new`].
    ///
    /// ```
    /// let token = ripcord::CancellationToken::default();
    /// assert!(!token.is_cancelled());
    /// ```
    fn default() -> Self {
        CancellationToken::new()
    }
}

impl fmt::Debug for CancellationToken {
    /// Shows whether the token is cancelled.
    ///
    /// ```
    /// let token = ripcord::CancellationToken::new();
    /// assert_eq!(format!("{token:?}"), "CancellationToken { is_cancelled: false }");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("is_cancelled", &self.is_cancelled())
            .finish()
    }
}

impl PartialEq for CancellationToken {
    /// Identity: two handles are equal when they are clones of one token.
    ///
    /// ```
    /// let a = ripcord::CancellationToken::new();
    /// assert_eq!(a, a.clone());
    /// assert_ne!(a, a.child_token());
    /// ```
    fn eq(&self, other: &Self) -> bool {
        self.node.as_non_null() == other.node.as_non_null()
    }
}

impl Eq for CancellationToken {}

impl Hash for CancellationToken {
    /// Hashes the identity (consistent with `PartialEq`).
    ///
    /// ```
    /// use std::collections::HashSet;
    /// let a = ripcord::CancellationToken::new();
    /// let set: HashSet<_> = [a.clone(), a.clone()].into_iter().collect();
    /// assert_eq!(set.len(), 1);
    /// ```
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.node.as_non_null().hash(state);
    }
}
