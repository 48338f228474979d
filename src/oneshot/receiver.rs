//! The receiving half.

use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll};

use super::error::{RecvError, TryRecvError};
use super::state::{
    self, Block, RX, RX_CLOSED, RX_READY, Release, SideEvent, TX_CLOSED, TX_DONE, VALUE,
};

#[cfg(feature = "std")]
use super::error::{RecvCancelledError, RecvTimeoutError};
#[cfg(feature = "std")]
use std::time::{Duration, Instant};

/// The receiving half of a oneshot channel, created by [`channel`](super::channel).
///
/// It receives at most one value, in whichever way suits the caller, and the
/// ways can be mixed on the same receiver:
///
/// | method | blocks | cancel-safe |
/// |---|---|---|
/// | [`try_recv`](Receiver::try_recv) | no | — |
/// | `(&mut rx).await`, [`poll_recv`](Receiver::poll_recv) | no (async) | yes |
/// | [`recv_timeout`](Receiver::recv_timeout), [`recv_deadline`](Receiver::recv_deadline) | the thread, up to a limit | yes: a timeout leaves it usable |
/// | [`recv`](Receiver::recv) | the thread | — (consumes the receiver) |
///
/// Once it has produced its answer (a value, or "disconnected") the receiver is
/// *terminated*: it has already released the channel's memory, and every
/// further attempt reports [`RecvError`] / `Disconnected`, never a panic.
///
/// `Receiver<T>` is one pointer wide, and `Option<Receiver<T>>` too.
///
/// # Examples
///
/// Awaiting, timing out, then blocking on the same receiver:
///
/// ```
/// use std::time::Duration;
/// use ripcord::oneshot::{self, RecvTimeoutError};
///
/// let (tx, mut rx) = oneshot::channel();
/// // An async wait that loses a race leaves the receiver intact...
/// let lost = futures::future::select(&mut rx, futures::future::ready(()));
/// futures::executor::block_on(lost);
/// // ...so does a blocking wait that times out...
/// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
/// std::thread::spawn(move || tx.send("finally").unwrap());
/// // ...and it can still be awaited.
/// assert_eq!(futures::executor::block_on(&mut rx), Ok("finally"));
/// assert!(rx.is_terminated());
/// ```
pub struct Receiver<T> {
    /// The channel's block, or `state::terminated()` once the answer is out.
    block: NonNull<Block<T>>,
    _owns: PhantomData<T>,
}

// SAFETY: a `Receiver` takes a `T` that was produced on the sender's thread, so
// `T: Send` is required and sufficient; it never shares `&T` with the sender.
unsafe impl<T: Send> Send for Receiver<T> {}
// SAFETY: every method that changes the channel takes `&mut self` or `self`;
// through `&Receiver` one can only read the state word atomically
// (`is_closed`, `has_message`, `is_terminated`), which is safe from any thread.
unsafe impl<T: Send> Sync for Receiver<T> {}
// The receiver never pins its value (it lives in the heap block, and is moved
// out only by value), so it can be awaited by `&mut` whatever `T` is.
impl<T> Unpin for Receiver<T> {}

impl<T> Receiver<T> {
    pub(super) fn new(block: NonNull<Block<T>>) -> Self {
        Receiver {
            block,
            _owns: PhantomData,
        }
    }

    /// The live block, or `None` once terminated.
    #[inline(always)]
    fn live(&self) -> Option<&Block<T>> {
        if self.block == state::terminated() {
            None
        } else {
            // SAFETY: a non-terminated receiver keeps its block alive.
            Some(unsafe { self.block.as_ref() })
        }
    }

    /// Takes the answer out of a ready `state` and lets go of the block.
    ///
    /// # Safety
    /// The receiver is live and `state` (loaded by it) has a `RX_READY` bit.
    #[inline(always)]
    unsafe fn complete(&mut self, state: usize) -> Result<T, RecvError> {
        let block = self.block;
        self.block = state::terminated();
        let value = if state & VALUE != 0 {
            // SAFETY: `VALUE` was set when we loaded `state`; the slot is ours.
            Some(unsafe { block.as_ref().read_value() })
        } else {
            None
        };
        if state & TX_DONE != 0 {
            // The sender is gone for good: the block is ours alone (the common
            // "send, then receive" path: no atomic write at all).
            // SAFETY: `TX_DONE` means nobody else can reach the block; the value
            // (if any) was moved out above, so it is not dropped again.
            unsafe { Block::free(block, state & !VALUE) };
            return value.ok_or(RecvError);
        }
        let detach = Release {
            set: 0,
            clear: if value.is_some() { VALUE } else { 0 },
            fail_if: 0,
            detach: true,
        };
        // SAFETY: we were the live receiver; `self.block` no longer points at it.
        let _ = unsafe { Block::release(block, RX, detach) };
        value.ok_or(RecvError)
    }

    /// Takes the value if it is there, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if the value may still come;
    /// [`TryRecvError::Disconnected`] if it never will (the sender was dropped,
    /// the receiver was closed with no value, or the value was already taken).
    ///
    /// # Examples
    ///
    /// ```
    /// use ripcord::oneshot::{self, TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(5).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    #[inline]
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.answer_if_there() {
            Some(answer) => answer.map_err(TryRecvError::from),
            None => Err(TryRecvError::Empty),
        }
    }

    /// The fast path every receive starts with: the answer if it is already
    /// there (a value, or "none will come", also for a terminated receiver),
    /// `None` if it may still come.
    #[inline(always)]
    fn answer_if_there(&mut self) -> Option<Result<T, RecvError>> {
        let Some(block) = self.live() else {
            return Some(Err(RecvError));
        };
        let state = block.state();
        if state & RX_READY == 0 {
            return None;
        }
        // SAFETY: live receiver, ready state.
        Some(unsafe { self.complete(state) })
    }

    /// Polls for the value.
    ///
    /// On `Pending` the task's waker is stored (replacing an earlier one unless
    /// it would wake the same task) and woken when the value arrives or the
    /// sender is dropped. Polling again after `Ready` returns
    /// `Ready(Err(RecvError))`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// # futures::executor::block_on(async {
    /// let (tx, mut rx) = ripcord::oneshot::channel();
    /// tx.send(1).unwrap();
    /// assert_eq!(poll_fn(|cx| rx.poll_recv(cx)).await, Ok(1));
    /// # });
    /// ```
    #[inline]
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let Some(block) = self.live() else {
            return Poll::Ready(Err(RecvError));
        };
        // SAFETY: we are the live receiver.
        let event = unsafe { SideEvent::new(block, RX) };
        match crate::wait::poll_event(&event, &mut None, cx) {
            Poll::Pending => Poll::Pending,
            // SAFETY: live receiver, ready state.
            Poll::Ready(state) => Poll::Ready(unsafe { self.complete(state) }),
        }
    }

    /// Blocks the thread until the value arrives, consuming the receiver.
    ///
    /// It works from any thread, including inside an async runtime, where it
    /// never panics, but there it blocks that worker thread (and, on a
    /// single-threaded runtime, everything else on it): in async code, await
    /// the receiver instead.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if no value will ever arrive.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ripcord::oneshot::channel();
    /// std::thread::spawn(move || tx.send("hello").unwrap());
    /// assert_eq!(rx.recv(), Ok("hello"));
    /// ```
    #[cfg(feature = "std")]
    pub fn recv(self) -> Result<T, RecvError> {
        // Every path below leaves the receiver terminated, so its `Drop` would
        // do nothing: skip the call.
        let mut this = core::mem::ManuallyDrop::new(self);
        match this.answer_if_there() {
            Some(answer) => answer,
            None => this.recv_blocking(),
        }
    }

    /// The part of [`recv`](Receiver::recv) that parks.
    #[cfg(feature = "std")]
    #[inline(never)]
    fn recv_blocking(&mut self) -> Result<T, RecvError> {
        let result = self.wait_until(None).map_err(|_| RecvError);
        debug_assert!(self.is_terminated(), "an untimed wait ends with the answer");
        result
    }

    /// Blocks the thread until the value arrives or `timeout` elapses.
    ///
    /// After a timeout the receiver is as good as new: it can wait again,
    /// be awaited, or be polled. A value that is already there is returned even
    /// for a zero timeout. A timeout too large to represent (such as
    /// `Duration::MAX`) waits forever. Blocking rules as for [`recv`](Receiver::recv).
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] when time ran out (nothing is lost: the
    /// value can still be received later); [`RecvTimeoutError::Disconnected`]
    /// if no value will ever arrive.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use ripcord::oneshot::{self, RecvTimeoutError};
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// assert_eq!(rx.recv_timeout(Duration::ZERO), Err(RecvTimeoutError::Timeout));
    /// tx.send(3).unwrap();
    /// assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(3));
    /// ```
    #[cfg(feature = "std")]
    #[must_use = "the value, or why none came, is in the result"]
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        // Check before reading the clock: a ready answer needs no deadline.
        match self.answer_if_there() {
            Some(answer) => answer.map_err(RecvTimeoutError::from),
            None => self.wait_until(crate::wait::deadline_after(timeout)),
        }
    }

    /// Blocks the thread until the value arrives or `deadline` passes.
    ///
    /// Same rules as [`recv_timeout`](Receiver::recv_timeout); a deadline in the
    /// past checks once without blocking.
    ///
    /// # Errors
    ///
    /// As for [`recv_timeout`](Receiver::recv_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use ripcord::oneshot::{self, RecvTimeoutError};
    ///
    /// let (_tx, mut rx) = oneshot::channel::<()>();
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    /// assert!(Instant::now() >= deadline);
    /// ```
    #[cfg(feature = "std")]
    #[must_use = "the value, or why none came, is in the result"]
    pub fn recv_deadline(&mut self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        match self.answer_if_there() {
            Some(answer) => answer.map_err(RecvTimeoutError::from),
            None => self.wait_until(Some(deadline)),
        }
    }

    /// Parks until the answer or the deadline, after `answer_if_there` found
    /// nothing yet.
    #[cfg(feature = "std")]
    fn wait_until(&mut self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let Some(block) = self.live() else {
            return Err(RecvTimeoutError::Disconnected);
        };
        // SAFETY: we are the live receiver.
        let event = unsafe { SideEvent::new(block, RX) };
        match crate::wait::block_on(&event, deadline) {
            // SAFETY: live receiver, ready state.
            Some(state) => unsafe { self.complete(state) }.map_err(RecvTimeoutError::from),
            None => Err(RecvTimeoutError::Timeout),
        }
    }

    /// Blocks the thread until the value arrives or `token` is cancelled,
    /// whichever comes first: the common "the answer, or shutdown" wait in
    /// one call.
    ///
    /// A value that is there wins over a cancellation; otherwise a
    /// cancelled token wins over a gone sender. The receiver is only consumed
    /// by a value or a disconnection (as with [`try_recv`](Self::try_recv)):
    /// after `Cancelled` it can still receive.
    ///
    /// Blocking: do not call it on an async executor's thread; there, use
    /// [`CancellationToken::run_until_cancelled`](crate::CancellationToken::run_until_cancelled)
    /// on `&mut receiver`.
    ///
    /// # Errors
    ///
    /// [`RecvCancelledError::Cancelled`] with the token's reason, or
    /// [`RecvCancelledError::Disconnected`].
    ///
    /// ```
    /// use ripcord::{oneshot, CancellationToken};
    ///
    /// let token = CancellationToken::new();
    /// let (tx, mut rx) = oneshot::channel();
    /// std::thread::spawn(move || tx.send("answer").unwrap());
    /// assert_eq!(rx.recv_or_cancelled(&token), Ok("answer"));
    /// ```
    #[cfg(feature = "std")]
    pub fn recv_or_cancelled(
        &mut self,
        token: &crate::CancellationToken,
    ) -> Result<T, RecvCancelledError>
    where
        T: Send,
    {
        self.recv_or_cancelled_until(token, None)
    }

    /// Like [`recv_or_cancelled`](Self::recv_or_cancelled), for at most
    /// `timeout` ([`RecvCancelledError::Timeout`]). `Duration::MAX` waits
    /// forever; zero only checks.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ripcord::{oneshot, CancellationToken};
    ///
    /// let token = CancellationToken::new();
    /// let (_tx, mut rx) = oneshot::channel::<u8>();
    /// let err = rx.recv_or_cancelled_timeout(&token, Duration::from_millis(1)).unwrap_err();
    /// assert!(err.is_timeout());
    /// ```
    #[cfg(feature = "std")]
    #[must_use = "the value, or why none came, is in the result"]
    pub fn recv_or_cancelled_timeout(
        &mut self,
        token: &crate::CancellationToken,
        timeout: Duration,
    ) -> Result<T, RecvCancelledError>
    where
        T: Send,
    {
        self.recv_or_cancelled_until(token, crate::wait::deadline_after(timeout))
    }

    /// Like [`recv_or_cancelled`](Self::recv_or_cancelled), until `deadline`
    /// ([`RecvCancelledError::Timeout`]). A deadline in the past only checks.
    ///
    /// ```
    /// use std::time::Instant;
    /// use ripcord::{oneshot, CancellationToken};
    ///
    /// let token = CancellationToken::new();
    /// token.cancel();
    /// let (_tx, mut rx) = oneshot::channel::<u8>();
    /// let err = rx.recv_or_cancelled_deadline(&token, Instant::now()).unwrap_err();
    /// assert!(err.is_cancelled());
    /// ```
    #[cfg(feature = "std")]
    #[must_use = "the value, or why none came, is in the result"]
    pub fn recv_or_cancelled_deadline(
        &mut self,
        token: &crate::CancellationToken,
        deadline: Instant,
    ) -> Result<T, RecvCancelledError>
    where
        T: Send,
    {
        self.recv_or_cancelled_until(token, Some(deadline))
    }

    #[cfg(feature = "std")]
    fn recv_or_cancelled_until(
        &mut self,
        token: &crate::CancellationToken,
        deadline: Option<Instant>,
    ) -> Result<T, RecvCancelledError>
    where
        T: Send,
    {
        use crate::wait::{AnyOf, Entry, Member};
        let answered = {
            // The set borrows the receiver (see its `Member` impl) only here.
            let receiver: &(dyn Member + Sync) = &*self;
            let entries = [Entry::new(receiver), Entry::new(token)];
            crate::wait::block_on(&AnyOf(&entries), deadline).is_some()
        };
        match self.try_recv() {
            Ok(value) => Ok(value),
            Err(_) if token.is_cancelled() => Err(RecvCancelledError::Cancelled(
                token.reason().unwrap_or(crate::CancelReason::Cancelled),
            )),
            Err(TryRecvError::Disconnected) => Err(RecvCancelledError::Disconnected),
            Err(TryRecvError::Empty) => {
                debug_assert!(!answered, "an answered wait has a value or a reason");
                Err(RecvCancelledError::Timeout)
            }
        }
    }

    /// Closes the channel: from now on [`Sender::send`](super::Sender::send)
    /// fails and hands its value back, and a sender waiting in
    /// [`closed`](super::Sender::closed) is woken.
    ///
    /// A value sent before `close` is kept and can still be received; without
    /// one, receiving reports disconnection right away. Closing twice, or
    /// closing a terminated receiver, does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use ripcord::oneshot::{self, TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel::<u8>();
    /// rx.close();
    /// assert!(tx.is_closed());
    /// assert_eq!(tx.send(1).unwrap_err().into_inner(), 1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn close(&mut self) {
        if self.live().is_none() {
            return;
        }
        let close = Release {
            set: 0,
            clear: 0,
            fail_if: RX_CLOSED,
            detach: false,
        };
        // SAFETY: we are the live receiver and stay attached.
        let _ = unsafe { Block::release(self.block, RX, close) };
    }

    /// Returns `true` if receiving can no longer succeed: the sender was dropped
    /// without sending, the receiver was closed with no value, or the value was
    /// already received.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ripcord::oneshot::channel::<u8>();
    /// assert!(!rx.is_closed());
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    #[inline]
    pub fn is_closed(&self) -> bool {
        match self.live() {
            None => true,
            Some(block) => {
                let state = block.state();
                state & VALUE == 0 && state & (TX_CLOSED | RX_CLOSED) != 0
            }
        }
    }

    /// Returns `true` if no value is waiting to be received: none was sent
    /// yet, none will come, or it was already taken. The opposite of
    /// [`has_message`](Receiver::has_message) (tokio's name for it). One
    /// atomic load.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = ripcord::oneshot::channel();
    /// assert!(rx.is_empty());
    /// tx.send(1).unwrap();
    /// assert!(!rx.is_empty());
    /// ```
    #[inline]
    pub fn is_empty(&self) -> bool {
        !self.has_message()
    }

    /// Returns `true` if a value is waiting to be received.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = ripcord::oneshot::channel();
    /// assert!(!rx.has_message());
    /// tx.send(1).unwrap();
    /// assert!(rx.has_message());
    /// rx.try_recv().unwrap();
    /// assert!(!rx.has_message());
    /// ```
    #[inline]
    pub fn has_message(&self) -> bool {
        self.live().is_some_and(|block| block.state() & VALUE != 0)
    }

    /// Returns `true` once the receiver has produced its answer (a value or a
    /// disconnection). A terminated receiver has already freed the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = ripcord::oneshot::channel::<u8>();
    /// drop(tx);
    /// assert!(!rx.is_terminated());
    /// assert!(rx.try_recv().is_err());
    /// assert!(rx.is_terminated());
    /// ```
    #[inline]
    pub fn is_terminated(&self) -> bool {
        self.live().is_none()
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    /// Same as [`Receiver::poll_recv`]. Awaiting `&mut rx` is cancel-safe.
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.poll_recv(cx)
    }
}

/// Terminated once the receiver has produced its answer (see
/// [`Receiver::is_terminated`]): `futures::select!` takes `&mut rx` without
/// `.fuse()` and skips it after it fired.
///
/// ```
/// # futures::executor::block_on(async {
/// let (tx, mut rx) = ripcord::oneshot::channel::<u8>();
/// let mut never = futures::future::pending::<()>();
/// tx.send(3).unwrap();
/// futures::select! {
///     got = rx => assert_eq!(got, Ok(3)),
///     _ = never => unreachable!(),
/// }
/// # });
/// ```
impl<T> futures_core::future::FusedFuture for Receiver<T> {
    #[inline]
    fn is_terminated(&self) -> bool {
        Receiver::is_terminated(self)
    }
}

#[cfg(feature = "std")]
impl<T> Receiver<T> {
    /// The receiving side as the waiting core sees it, unless finished.
    fn member_event(&self) -> Option<SideEvent<'_, T>> {
        let block = self.live()?;
        // SAFETY: the live receiver; only the set calls this, holding the
        // receiver's `&mut` borrow (see the `Member` impl).
        Some(unsafe { SideEvent::new(block, RX) })
    }
}

/// A receiver in a set of events (`Select`, `recv_or_cancelled`): ready once
/// `try_recv` would answer at once (a value, or the channel is finished).
///
/// Only the set calls these, and it holds the receiver's `&mut` borrow for
/// as long as it keeps a registration, so the receiver's side of the block
/// is used by one thread at a time, as for the receiver's own methods.
#[cfg(feature = "std")]
impl<T> crate::wait::Member for Receiver<T> {
    fn check(&self) -> bool {
        self.member_event()
            .is_none_or(|event| crate::wait::Event::check(&event).is_some())
    }

    fn listen(
        &self,
        key: &mut Option<crate::wait::MemberKey>,
        waiter: crate::wait::NewWaiter<'_>,
    ) -> bool {
        self.member_event()
            .is_none_or(|event| crate::wait::listen_member(&event, key, waiter))
    }

    fn unlisten(&self, key: crate::wait::MemberKey) -> bool {
        self.member_event()
            .is_none_or(|event| crate::wait::unlisten_member(&event, key))
    }
}

impl<T> Drop for Receiver<T> {
    #[inline]
    fn drop(&mut self) {
        if self.live().is_none() {
            return;
        }
        let dropped = Release {
            set: 0,
            clear: 0,
            fail_if: 0,
            detach: true,
        };
        // SAFETY: the receiver is going away and does not touch the block again.
        let _ = unsafe { Block::release(self.block, RX, dropped) };
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("has_message", &self.has_message())
            .field("is_closed", &self.is_closed())
            .field("is_terminated", &self.is_terminated())
            .finish()
    }
}
