//! The one place ripcord takes its synchronization primitives from.
//!
//! Every file imports atomics, cells and thread handles from here, never from
//! `core`/`std` directly, so that building with `RUSTFLAGS="--cfg loom"` swaps
//! in [loom](https://docs.rs/loom)'s model-checked versions everywhere at once.

#[cfg(all(feature = "std", not(loom)))]
pub(crate) use core::sync::atomic::fence;
#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering, fence};

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

#[cfg(all(feature = "std", not(loom)))]
pub(crate) mod thread {
    pub(crate) use std::thread::{Thread, current, park, park_timeout};
}
#[cfg(all(feature = "std", loom))]
pub(crate) mod thread {
    pub(crate) use loom::thread::{Thread, current, park};
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
/// The mutex guarding a cancellation token's tree links, reason and callbacks.
#[cfg(all(feature = "std", not(loom)))]
pub(crate) use std::sync::{Mutex, MutexGuard};
