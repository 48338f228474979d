//! `on_cancel` callbacks: registering, running and unregistering them.

use std::collections::VecDeque;

use super::{CancelReason, DECIDED, HAS_CALLBACKS, Inner, Node};
use crate::wait::{
    Event, FirstPanic, Key, NewWaiter, WaitList, Wakeups, register_locked, withdraw_locked,
};

/// A callback registered with `on_cancel`.
pub(crate) type Callback = Box<dyn FnOnce(&CancelReason) + Send + 'static>;

/// Registered `on_cancel` callbacks.
#[derive(Default)]
pub(super) struct Hooks {
    callbacks: VecDeque<(u64, Callback)>,
    next_id: u64,
    /// The callback being run right now, and by which thread.
    running: Option<(u64, ThreadId)>,
    /// Threads waiting (in `unregister`) for `running` to finish.
    done_waiters: WaitList,
}

impl Inner {
    /// The callback machinery, if any callback was ever registered.
    fn hooks(&mut self) -> Option<&mut Hooks> {
        self.extra.as_mut()?.hooks.as_deref_mut()
    }

    /// The callback machinery, allocated if needed.
    fn hooks_or_new(&mut self) -> &mut Hooks {
        self.extra
            .get_or_insert_with(Default::default)
            .hooks
            .get_or_insert_with(Default::default)
    }
}

use crate::loom::thread::ThreadId;

fn current_thread_id() -> ThreadId {
    crate::loom::thread::current().id()
}

/// What `on_cancel` did.
pub(crate) enum Registered {
    /// Stored under this id.
    Stored(u64),
    /// The node was already cancelled: the callback ran on the caller's thread.
    RanNow,
}

/// A callback of a node still running on another thread, as the waiting core
/// sees it (a dropped `CancelCallback` waits for it to return).
struct CallbackDone<'a> {
    node: &'a Node,
    id: u64,
}

impl CallbackDone<'_> {
    /// Whether callback `id` is no longer running on another thread.
    fn done(&self, inner: &Inner) -> bool {
        let running = inner
            .extra
            .as_ref()
            .and_then(|extra| extra.hooks.as_ref())
            .and_then(|hooks| hooks.running);
        !matches!(running, Some((id, thread)) if id == self.id && thread != current_thread_id())
    }
}

impl Event for CallbackDone<'_> {
    type Output = ();
    type Key = Key;

    fn check(&self) -> Option<()> {
        let inner = self.node.lock();
        self.done(&inner).then_some(())
    }

    fn listen(&self, key: &mut Option<Key>, waiter: NewWaiter<'_>) -> Result<(), ()> {
        let waiter = waiter.to_waiter();
        let inner = self.node.lock();
        let done = self.done(&inner);
        register_locked(
            inner,
            |inner| &mut inner.hooks_or_new().done_waiters,
            done,
            key,
            waiter,
        )
    }

    fn unlisten(&self, key: Key) -> bool {
        withdraw_locked(
            self.node.lock(),
            |inner| inner.hooks().map(|hooks| &mut hooks.done_waiters),
            key,
        )
    }
}

impl Node {
    /// Runs this node's callbacks one at a time, outside the lock, each even
    /// if an earlier one panicked (the first panic goes to `panics`).
    pub(super) fn run_callbacks(&self, reason: &CancelReason, panics: &mut FirstPanic) {
        loop {
            let mut inner = self.lock();
            let Some(hooks) = inner.hooks() else {
                break;
            };
            let Some((id, callback)) = hooks.callbacks.pop_front() else {
                break;
            };
            hooks.running = Some((id, current_thread_id()));
            drop(inner);
            panics.run(move || callback(reason));
            let mut wakeups = Wakeups::new();
            let mut inner = self.lock();
            if let Some(hooks) = inner.hooks() {
                hooks.running = None;
                // Wake a `CancelCallback` drop waiting for this one to finish.
                hooks.done_waiters.take_all(&mut wakeups);
            }
            drop(inner);
            wakeups.wake_all(panics);
        }
    }

    /// Registers a callback, or runs it now if the node is already cancelled.
    pub(crate) fn on_cancel(&self, callback: Callback) -> Registered {
        let mut inner = self.lock();
        if self.flag(HAS_CALLBACKS) & DECIDED != 0 {
            // Cancelled, or being cancelled by a thread that has already
            // collected this node's callbacks: run it here.
            drop(inner);
            let reason = self.reason_once(DECIDED).unwrap_or(CancelReason::Cancelled);
            callback(&reason);
            return Registered::RanNow;
        }
        let hooks = inner.hooks_or_new();
        let id = hooks.next_id;
        hooks.next_id += 1;
        hooks.callbacks.push_back((id, callback));
        Registered::Stored(id)
    }

    /// Unregisters callback `id`. Returns `true` if it was removed before it
    /// started. If it is running on another thread, waits until it returns.
    pub(crate) fn unregister(&self, id: u64) -> bool {
        let mut inner = self.lock();
        let Some(hooks) = inner.hooks() else {
            return false;
        };
        if let Some(pos) = hooks.callbacks.iter().position(|(i, _)| *i == id) {
            let removed = hooks.callbacks.remove(pos);
            drop(inner);
            drop(removed);
            return true;
        }
        drop(inner);
        crate::wait::block_on(&CallbackDone { node: self, id }, None);
        false
    }
}
