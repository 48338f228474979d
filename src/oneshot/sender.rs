//! The sending half.

use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll};

use super::error::SendError;
use super::state::{Block, RX_CLOSED, Release, SideEvent, TX, VALUE};

/// The sending half of a oneshot channel, created by [`channel`](super::channel).
///
/// It sends at most one value, with [`send`](Sender::send), which consumes it.
/// Dropping it without sending tells the receiver that no value will come.
/// While it waits to be useful it can watch the receiver: [`is_closed`](Sender::is_closed)
/// checks, and [`closed`](Sender::closed) / [`wait_closed`](Sender::wait_closed)
/// wait until the receiver is dropped or closed, so that a worker can abandon
/// work whose answer nobody wants any more.
///
/// `Sender<T>` is one pointer wide, and `Option<Sender<T>>` too.
///
/// # Examples
///
/// ```
/// use ripcord::oneshot;
///
/// let (tx, rx) = oneshot::channel();
/// std::thread::spawn(move || {
///     let answer = 6 * 7;
///     let _ = tx.send(answer); // Err only if nobody is listening
/// });
/// assert_eq!(rx.recv(), Ok(42));
/// ```
pub struct Sender<T> {
    block: NonNull<Block<T>>,
    _owns: PhantomData<T>,
}

// SAFETY: a `Sender` moves a `T` to whichever thread holds the `Receiver`, so
// `T: Send` is required and sufficient. It never hands out `&T`, so `T: Sync` is
// not needed.
unsafe impl<T: Send> Send for Sender<T> {}
// SAFETY: every method that changes the channel takes `&mut self` or `self`;
// through `&Sender` one can only read the state word atomically
// (`is_closed`), which is safe from any number of threads.
unsafe impl<T: Send> Sync for Sender<T> {}
// The sender never pins its value.
impl<T> Unpin for Sender<T> {}

impl<T> Sender<T> {
    pub(super) fn new(block: NonNull<Block<T>>) -> Self {
        Sender {
            block,
            _owns: PhantomData,
        }
    }

    #[inline(always)]
    fn block(&self) -> &Block<T> {
        // SAFETY: a sender keeps its block alive until it is consumed or dropped.
        unsafe { self.block.as_ref() }
    }

    /// Sends `value` to the receiver, consuming the sender.
    ///
    /// Never blocks, never spins, never allocates, and works the same from a
    /// thread or from an async task. If the receiver is waiting (as a task or as
    /// a blocked thread), it is woken.
    ///
    /// # Errors
    ///
    /// If the receiver was dropped or [closed](super::Receiver::close), the value
    /// is handed back in [`SendError`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = ripcord::oneshot::channel();
    /// tx.send("done").unwrap();
    /// assert_eq!(rx.try_recv(), Ok("done"));
    ///
    /// let (tx, mut rx) = ripcord::oneshot::channel();
    /// rx.close();
    /// assert_eq!(tx.send("late").unwrap_err().into_inner(), "late");
    /// ```
    #[inline]
    pub fn send(self, value: T) -> Result<(), SendError<T>> {
        let this = ManuallyDrop::new(self);
        let block = this.block;
        let mut value = Some(value);
        if this.block().state() & RX_CLOSED == 0 {
            // SAFETY: `VALUE` is not set, so the slot is ours; `value` is `Some`.
            unsafe {
                this.block()
                    .write_value(value.take().unwrap_or_else(|| unreachable!()))
            };
            let sent = Release {
                set: VALUE,
                clear: 0,
                fail_if: RX_CLOSED,
                detach: true,
            };
            // SAFETY: we are the live sender and never touch the block after a
            // successful detaching release.
            match unsafe { Block::release(block, TX, sent) } {
                Ok(()) => return Ok(()),
                // The receiver closed meanwhile; nothing was published, so the
                // value is still ours.
                // SAFETY: we wrote it above and `VALUE` was never set.
                Err(()) => value = Some(unsafe { this.block().read_value() }),
            }
        }
        // SAFETY: as for a drop.
        unsafe { release_dropped(block) };
        Err(SendError(value.unwrap_or_else(|| unreachable!())))
    }

    /// Returns `true` if the receiver was dropped or closed, so a
    /// [`send`](Sender::send) would fail.
    ///
    /// One atomic load. A `false` can be outdated by the time it is read; a
    /// `true` is final.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ripcord::oneshot::channel::<u8>();
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    #[inline]
    pub fn is_closed(&self) -> bool {
        self.block().state() & RX_CLOSED != 0
    }

    /// Polls for the receiver to be dropped or closed.
    ///
    /// Returns `Ready(())` once it is. On `Pending`, the task's waker is stored
    /// (replacing any earlier one) and woken when the receiver goes away.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// # futures::executor::block_on(async {
    /// let (mut tx, rx) = ripcord::oneshot::channel::<u8>();
    /// drop(rx);
    /// poll_fn(|cx| tx.poll_closed(cx)).await;
    /// # });
    /// ```
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: we are the live sender.
        let event = unsafe { SideEvent::new(self.block(), TX) };
        crate::wait::poll_event(&event, &mut None, cx).map(drop)
    }

    /// Waits asynchronously until the receiver is dropped or closed.
    ///
    /// Cancel-safe: dropping the future loses nothing; the sender can still send
    /// or wait again.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (mut tx, rx) = ripcord::oneshot::channel::<u8>();
    /// std::thread::spawn(move || drop(rx));
    /// tx.closed().await; // the receiver lost interest: stop working
    /// assert!(tx.is_closed());
    /// # });
    /// ```
    pub fn closed(&mut self) -> Closed<'_, T> {
        Closed {
            sender: self,
            done: false,
        }
    }

    /// Blocks the thread until the receiver is dropped or closed.
    ///
    /// Do not call this from async code: it blocks the executor's thread (use
    /// [`closed`](Sender::closed) there). It never panics inside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut tx, rx) = ripcord::oneshot::channel::<u8>();
    /// std::thread::spawn(move || drop(rx));
    /// tx.wait_closed();
    /// assert!(tx.is_closed());
    /// ```
    #[cfg(feature = "std")]
    pub fn wait_closed(&mut self) {
        // No deadline: returns only once the receiver is gone.
        let _closed = self.wait_closed_until(None);
    }

    /// Blocks the thread until the receiver is dropped or closed (`Ok(())`),
    /// or `timeout` elapses (`Err(Elapsed)`).
    ///
    /// A timeout too large to represent (such as `Duration::MAX`) waits forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (mut tx, rx) = ripcord::oneshot::channel::<u8>();
    /// assert!(tx.wait_closed_timeout(Duration::from_millis(1)).is_err());
    /// drop(rx);
    /// assert_eq!(tx.wait_closed_timeout(Duration::from_millis(1)), Ok(()));
    /// ```
    #[cfg(feature = "std")]
    #[must_use = "the result says whether the receiver is gone or the time ran out"]
    pub fn wait_closed_timeout(
        &mut self,
        timeout: std::time::Duration,
    ) -> Result<(), crate::Elapsed> {
        self.wait_closed_until(crate::wait::deadline_after(timeout))
    }

    /// Blocks the thread until the receiver is dropped or closed (`Ok(())`),
    /// or `deadline` passes (`Err(Elapsed)`).
    ///
    /// A deadline in the past checks once without blocking.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let (mut tx, rx) = ripcord::oneshot::channel::<u8>();
    /// let deadline = Instant::now() + Duration::from_millis(1);
    /// assert!(tx.wait_closed_deadline(deadline).is_err());
    /// ```
    #[cfg(feature = "std")]
    #[must_use = "the result says whether the receiver is gone or the time ran out"]
    pub fn wait_closed_deadline(
        &mut self,
        deadline: std::time::Instant,
    ) -> Result<(), crate::Elapsed> {
        self.wait_closed_until(Some(deadline))
    }

    #[cfg(feature = "std")]
    fn wait_closed_until(
        &mut self,
        deadline: Option<std::time::Instant>,
    ) -> Result<(), crate::Elapsed> {
        // SAFETY: we are the live sender.
        let event = unsafe { SideEvent::new(self.block(), TX) };
        // (`block_on` answers only once the side is ready.)
        crate::wait::block_on(&event, deadline)
            .map(drop)
            .ok_or(crate::Elapsed::new())
    }
}

/// Lets go of a sender that did not send.
///
/// # Safety
/// `block` is the live block of a sender that is being dropped or consumed.
#[inline(always)]
unsafe fn release_dropped<T>(block: NonNull<Block<T>>) {
    let dropped = Release {
        set: 0,
        clear: 0,
        fail_if: 0,
        detach: true,
    };
    // SAFETY: forwarded caller contract; `fail_if` is empty so this cannot fail.
    let _ = unsafe { Block::release(block, TX, dropped) };
}

/// A sender in a set of events (`Select::closed`): ready once the receiver is
/// gone. As for the receiver's impl, only the set calls these, holding the
/// sender's `&mut` borrow.
#[cfg(feature = "std")]
impl<T> crate::wait::Member for Sender<T> {
    fn check(&self) -> bool {
        // SAFETY: the live sender (see above).
        crate::wait::Event::check(&unsafe { SideEvent::new(self.block(), TX) }).is_some()
    }

    fn listen(
        &self,
        key: &mut Option<crate::wait::MemberKey>,
        waiter: crate::wait::NewWaiter<'_>,
    ) -> bool {
        // SAFETY: the live sender (see above).
        let event = unsafe { SideEvent::new(self.block(), TX) };
        crate::wait::listen_member(&event, key, waiter)
    }

    fn unlisten(&self, key: crate::wait::MemberKey) -> bool {
        // SAFETY: the live sender (see above).
        crate::wait::unlisten_member(&unsafe { SideEvent::new(self.block(), TX) }, key)
    }
}

impl<T> Drop for Sender<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the sender is going away and does not touch the block again.
        unsafe { release_dropped(self.block) };
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("is_closed", &self.is_closed())
            .finish()
    }
}

/// Future returned by [`Sender::closed`]: resolves once the receiver is dropped
/// or closed.
///
/// # Examples
///
/// ```
/// # futures::executor::block_on(async {
/// let (mut tx, rx) = ripcord::oneshot::channel::<u8>();
/// drop(rx);
/// let closed: ripcord::oneshot::Closed<'_, u8> = tx.closed();
/// closed.await;
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Closed<'a, T> {
    sender: &'a mut Sender<T>,
    done: bool,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let poll = self.sender.poll_closed(cx);
        self.done |= poll.is_ready();
        poll
    }
}

/// Terminated once it has resolved.
impl<T> futures_core::future::FusedFuture for Closed<'_, T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed")
            .field("sender", &self.sender)
            .finish()
    }
}
