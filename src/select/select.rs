//! The `Select` set and its future.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::oneshot::{Receiver, Sender};
use crate::promise::Promise;
use crate::shutdown::Shutdown;
use crate::wait::{AnyOf, Entry, Event, Member, Never};
use crate::{CancellationToken, Elapsed};

/// Events kept inline, without allocating.
const INLINE: usize = 4;

/// The filler of unused inline slots.
static NEVER: Never = Never;

/// A set of one-time events to wait for, whichever comes first. See the
/// [module docs](super).
///
/// Up to four events live inline (no allocation); more move to the heap.
/// Each method that adds an event returns its index, in order from 0.
///
/// ```
/// use ripcord::{select::Select, CancellationToken, Shutdown};
///
/// let token = CancellationToken::new();
/// let shutdown = Shutdown::new();
/// let mut sel = Select::new();
/// assert_eq!(sel.cancelled(&token), 0);
/// assert_eq!(sel.drained(&shutdown), 1);
/// assert_eq!(sel.try_ready(), None);
/// shutdown.trigger();
/// assert_eq!(sel.wait(), 1);
/// ```
pub struct Select<'a> {
    inline: [Entry<'a>; INLINE],
    /// Every entry, once there are more than [`INLINE`].
    more: Vec<Entry<'a>>,
    len: usize,
}

impl Default for Select<'_> {
    fn default() -> Self {
        Select::new()
    }
}

impl<'a> Select<'a> {
    /// An empty set. Does not allocate.
    ///
    /// ```
    /// let sel = ripcord::select::Select::new();
    /// assert!(sel.is_empty());
    /// ```
    pub fn new() -> Self {
        Select {
            inline: core::array::from_fn(|_| Entry::new(&NEVER)),
            more: Vec::new(),
            len: 0,
        }
    }

    /// How many events it has.
    ///
    /// ```
    /// let token = ripcord::CancellationToken::new();
    /// let mut sel = ripcord::select::Select::new();
    /// sel.cancelled(&token);
    /// assert_eq!(sel.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has no event.
    ///
    /// ```
    /// assert!(ripcord::select::Select::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn entries(&self) -> &[Entry<'a>] {
        if self.len <= INLINE {
            &self.inline[..self.len]
        } else {
            &self.more
        }
    }

    fn push(&mut self, member: &'a (dyn Member + Sync)) -> usize {
        let index = self.len;
        if index < INLINE {
            self.inline[index] = Entry::new(member);
        } else {
            if index == INLINE {
                let inline = self.inline.iter().map(|e| Entry::new(e.member()));
                self.more.extend(inline);
            }
            self.more.push(Entry::new(member));
        }
        self.len += 1;
        index
    }

    /// Adds a receiver: ready when it has a value, or will never have one
    /// (the sender is gone, the receiver was closed, or it already answered).
    /// Then call [`try_recv`](Receiver::try_recv). The receiver is borrowed
    /// for as long as the set lives; nothing is taken from it.
    ///
    /// ```
    /// let (tx, mut rx) = ripcord::oneshot::channel::<u8>();
    /// let mut sel = ripcord::select::Select::new();
    /// let i = sel.recv(&mut rx);
    /// tx.send(1).unwrap();
    /// assert_eq!(sel.wait(), i);
    /// drop(sel);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn recv<T: Send>(&mut self, receiver: &'a mut Receiver<T>) -> usize {
        self.push(&*receiver)
    }

    /// Adds a token: ready once cancelled. Then read its
    /// [`reason`](CancellationToken::reason).
    ///
    /// ```
    /// let token = ripcord::CancellationToken::new();
    /// let mut sel = ripcord::select::Select::new();
    /// sel.cancelled(&token);
    /// token.cancel();
    /// assert_eq!(sel.try_ready(), Some(0));
    /// ```
    pub fn cancelled(&mut self, token: &'a CancellationToken) -> usize {
        self.push(token)
    }

    /// Adds a promise: ready once resolved or abandoned. Then call
    /// [`try_get`](Promise::try_get).
    ///
    /// ```
    /// let (resolver, promise) = ripcord::promise::channel::<u8>();
    /// let mut sel = ripcord::select::Select::new();
    /// sel.resolved(&promise);
    /// resolver.resolve(3).unwrap();
    /// assert_eq!(sel.wait(), 0);
    /// assert_eq!(promise.get(), Some(&3));
    /// ```
    pub fn resolved<T: Send + Sync>(&mut self, promise: &'a Promise<T>) -> usize {
        self.push(promise)
    }

    /// Adds a sender: ready once its receiver is dropped or closed (nobody
    /// wants the value any more). The sender stays usable afterwards.
    ///
    /// ```
    /// let (mut tx, rx) = ripcord::oneshot::channel::<u8>();
    /// let mut sel = ripcord::select::Select::new();
    /// sel.closed(&mut tx);
    /// drop(rx);
    /// assert_eq!(sel.wait(), 0);
    /// ```
    pub fn closed<T: Send>(&mut self, sender: &'a mut Sender<T>) -> usize {
        self.push(&*sender)
    }

    /// Adds a shutdown: ready once it is triggered and every guard dropped.
    ///
    /// ```
    /// let shutdown = ripcord::Shutdown::new();
    /// let mut sel = ripcord::select::Select::new();
    /// sel.drained(&shutdown);
    /// shutdown.trigger();
    /// assert_eq!(sel.try_ready(), Some(0));
    /// ```
    pub fn drained(&mut self, shutdown: &'a Shutdown) -> usize {
        self.push(shutdown)
    }

    /// The lowest index of an event that is ready now, without waiting.
    ///
    /// ```
    /// let token = ripcord::CancellationToken::new();
    /// let mut sel = ripcord::select::Select::new();
    /// sel.cancelled(&token);
    /// assert_eq!(sel.try_ready(), None);
    /// ```
    pub fn try_ready(&self) -> Option<usize> {
        AnyOf(self.entries()).check()
    }

    /// Blocks the thread until an event is ready; returns the lowest ready
    /// index. Parks after a short, bounded hand-off phase; never spins
    /// unboundedly. Registers with every event while it waits and with none
    /// once it returns.
    ///
    /// Blocking: do not call it on an async executor's thread; await
    /// [`ready`](Self::ready) there.
    ///
    /// # Panics
    ///
    /// On an empty set, which could never return (use
    /// [`wait_timeout`](Self::wait_timeout) to sleep).
    ///
    /// ```
    /// let (tx, mut rx) = ripcord::oneshot::channel::<u8>();
    /// let mut sel = ripcord::select::Select::new();
    /// sel.recv(&mut rx);
    /// std::thread::spawn(move || tx.send(1).unwrap());
    /// assert_eq!(sel.wait(), 0);
    /// ```
    pub fn wait(&self) -> usize {
        assert!(
            !self.is_empty(),
            "Select::wait on an empty set never returns"
        );
        self.wait_until(None)
            .expect("without a deadline, a wait ends with an event")
    }

    /// Like [`wait`](Self::wait), for at most `timeout`: `Err(Elapsed)` if
    /// no event was ready in time. `Duration::MAX` waits forever; zero only
    /// checks. An empty set sleeps for `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let token = ripcord::CancellationToken::new();
    /// let mut sel = ripcord::select::Select::new();
    /// sel.cancelled(&token);
    /// assert!(sel.wait_timeout(Duration::from_millis(1)).is_err());
    /// ```
    #[must_use = "the result says which event is ready, or that the time ran out"]
    pub fn wait_timeout(&self, timeout: Duration) -> Result<usize, Elapsed> {
        self.wait_until(crate::wait::deadline_after(timeout))
    }

    /// Like [`wait`](Self::wait), until `deadline`: `Err(Elapsed)` if it
    /// passes first. A deadline in the past only checks.
    ///
    /// ```
    /// use std::time::Instant;
    /// let token = ripcord::CancellationToken::new();
    /// token.cancel();
    /// let mut sel = ripcord::select::Select::new();
    /// sel.cancelled(&token);
    /// assert_eq!(sel.wait_deadline(Instant::now()), Ok(0));
    /// ```
    #[must_use = "the result says which event is ready, or that the time ran out"]
    pub fn wait_deadline(&self, deadline: Instant) -> Result<usize, Elapsed> {
        self.wait_until(Some(deadline))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Result<usize, Elapsed> {
        crate::wait::block_on(&AnyOf(self.entries()), deadline).ok_or(Elapsed::new())
    }

    /// Waits asynchronously until an event is ready; resolves to the lowest
    /// ready index. Works on any executor.
    ///
    /// Cancel-safe: dropping the future withdraws its waker from every
    /// event, and loses nothing. The future is fused; an empty set never
    /// resolves.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let token = ripcord::CancellationToken::new();
    /// let (resolver, promise) = ripcord::promise::channel::<u8>();
    /// let mut sel = ripcord::select::Select::new();
    /// sel.cancelled(&token);
    /// sel.resolved(&promise);
    /// std::thread::spawn(move || resolver.resolve(1).unwrap());
    /// assert_eq!(sel.ready().await, 1);
    /// # });
    /// ```
    pub fn ready(&mut self) -> Ready<'_, 'a> {
        Ready {
            select: self,
            registered: None,
            done: false,
        }
    }
}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("len", &self.len)
            .field("ready", &self.try_ready())
            .finish()
    }
}

/// The future returned by [`Select::ready`]: the lowest index of a ready
/// event. Cancel-safe and fused.
///
/// ```
/// # futures::executor::block_on(async {
/// let token = ripcord::CancellationToken::new();
/// token.cancel();
/// let mut sel = ripcord::select::Select::new();
/// sel.cancelled(&token);
/// let ready: ripcord::select::Ready<'_, '_> = sel.ready();
/// assert_eq!(ready.await, 0);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Ready<'s, 'a> {
    select: &'s mut Select<'a>,
    registered: Option<()>,
    done: bool,
}

impl Future for Ready<'_, '_> {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = self.get_mut();
        let set = AnyOf(this.select.entries());
        let poll = crate::wait::poll_event(&set, &mut this.registered, cx);
        this.done |= poll.is_ready();
        poll
    }
}

impl futures_core::future::FusedFuture for Ready<'_, '_> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl Drop for Ready<'_, '_> {
    fn drop(&mut self) {
        if self.registered.take().is_some() {
            AnyOf(self.select.entries()).withdraw_all();
        }
    }
}

impl fmt::Debug for Ready<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready")
            .field("select", &self.select)
            .finish()
    }
}
