//! Cancellation tokens: cheap to check, waitable from threads and tasks,
//! arranged in trees, with reasons, deadlines and callbacks.

mod reason;

pub use reason::{CancelReason, CustomReason};
