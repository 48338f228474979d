//! Timeouts that use whatever timer the application already runs.

mod error;

#[cfg(feature = "std")]
pub use error::Cancelled;
pub use error::Elapsed;
