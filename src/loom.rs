//! The one place ripcord takes its synchronization primitives from.
//!
//! Every file imports atomics, cells, mutexes and thread handles from here,
//! never from `core`/`std` directly, so that building with
//! `RUSTFLAGS="--cfg loom"` swaps in [loom](https://docs.rs/loom)'s
//! model-checked versions everywhere at once. (`Arc` comes from `alloc`: no
//! ripcord state machine depends on its internals.)

#[cfg(all(feature = "std", not(loom)))]
pub(crate) use core::sync::atomic::fence;
#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicUsize, Ordering};
#[cfg(all(feature = "std", loom))]
pub(crate) use loom::sync::atomic::fence;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

#[cfg(all(feature = "std", not(loom)))]
pub(crate) mod thread {
    pub(crate) use std::thread::{
        Thread, ThreadId, available_parallelism, current, panicking, park, park_timeout, yield_now,
    };
}
#[cfg(all(feature = "std", loom))]
#[allow(unused_imports)] // the hand-off phase, which uses some, has no loom form
pub(crate) mod thread {
    pub(crate) use loom::thread::{Thread, ThreadId, current, park, yield_now};
    pub(crate) use std::thread::{available_parallelism, panicking};
}

/// Process-wide statics that are never part of a loom model (a lazily
/// started thread's state, a cached CPU count): they need `const`
/// construction, which loom's types do not offer, so they stay `std`'s in
/// both builds. Nothing a model checks goes through them.
#[cfg(feature = "std")]
#[cfg_attr(loom, allow(unused_imports))]
pub(crate) mod statics {
    pub(crate) use core::sync::atomic::AtomicU8;
    pub(crate) use std::sync::OnceLock;
}

/// `core::cell::UnsafeCell` with loom's closure-based access API, so the same
/// code compiles against both. The closures are always inlined away.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    #[inline(always)]
    pub(crate) const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    /// Gives shared (read) access to the contents.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Gives exclusive (write) access to the contents.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(all(feature = "std", loom))]
pub(crate) use loom::sync::{Mutex, MutexGuard};
#[cfg(all(feature = "std", not(loom)))]
pub(crate) use std::sync::{Mutex, MutexGuard};

// Poisoning, in one place. ripcord runs no user code while it holds any of
// its locks (the crate's panic contract, rule 1), so a lock can only be
// poisoned by a panic inside ripcord's own short critical sections (in
// practice, an allocation failure), which leave the data consistent: every
// lock is taken through these helpers, which ignore the poison flag.

/// Locks `mutex`, ignoring poisoning (see above).
#[cfg(feature = "std")]
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Takes the value out of `mutex`, ignoring poisoning (see above).
#[cfg(feature = "std")]
pub(crate) fn into_inner<T>(mutex: Mutex<T>) -> T {
    mutex
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts a named OS thread running the application's own work
/// (`Shutdown::spawn_thread`), joinable. Always a real thread: user work is
/// never part of a loom model.
#[cfg(feature = "std")]
pub(crate) fn spawn_user_thread<T: Send + 'static>(
    name: String,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<T>> {
    std::thread::Builder::new().name(name).spawn(f)
}

/// Starts a named OS thread (ripcord's timer and callback helpers). Under
/// loom, a modelled thread.
#[cfg(all(feature = "std", not(loom)))]
pub(crate) fn spawn_named(name: &str, f: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map(drop)
}
#[cfg(all(feature = "std", loom))]
pub(crate) fn spawn_named(name: &str, f: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    loom::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map(drop)
}
