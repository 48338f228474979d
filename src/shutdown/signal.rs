//! Signals (feature `signal`): SIGINT, SIGTERM and SIGHUP (Ctrl-C and
//! Ctrl-Break on Windows) trigger shutdown; a second one forces it.

use std::fmt;

use super::Shutdown;
use crate::CancelReason;
use crate::loom::{AtomicUsize, Ordering};

/// The process's signal handler could not be installed: one is already set
/// through `ctrlc` (by an earlier call, or by another crate), or the
/// operating system refused.
///
/// ```no_run
/// let shutdown = ripcord::shutdown::Shutdown::new();
/// shutdown.trigger_on_signals().unwrap();
/// let again = shutdown.trigger_on_signals().unwrap_err();
/// println!("{again}"); // "cannot handle termination signals: ..."
/// ```
#[derive(Debug)]
pub struct SignalError(ctrlc::Error);

impl fmt::Display for SignalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot handle termination signals: {}", self.0)
    }
}

impl std::error::Error for SignalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl Shutdown {
    /// Triggers this shutdown on the first termination signal (SIGINT,
    /// SIGTERM or SIGHUP; Ctrl-C or Ctrl-Break on Windows) with the reason
    /// `CancelReason::custom("signal")`, and [forces](Shutdown::force) it on
    /// the second: a user who presses Ctrl-C twice wants out now.
    ///
    /// Needs no async runtime: the handler runs on a thread the `ctrlc` crate
    /// starts, never inside the raw signal handler, so the trigger may run
    /// token callbacks and wake tasks of any executor. One handler per
    /// process: call it once, on the root. It replaces what the process did
    /// with these signals before, including an inherited "ignore" (a
    /// background job's SIGINT, `nohup`'s SIGHUP): asking for the signals
    /// means handling them.
    ///
    /// # Errors
    ///
    /// [`SignalError`] if a handler was already installed through `ctrlc`
    /// (an earlier call, or another crate using it), or the system refuses.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use ripcord::shutdown::Shutdown;
    ///
    /// let shutdown = Shutdown::new();
    /// shutdown.trigger_on_signals()?;
    /// // ... start the service ...
    /// shutdown.token().wait(); // until Ctrl-C
    /// if let Err(report) = shutdown.wait_timeout(Duration::from_secs(30)) {
    ///     eprintln!("{report}");
    /// }
    /// # Ok::<(), ripcord::shutdown::SignalError>(())
    /// ```
    pub fn trigger_on_signals(&self) -> Result<(), SignalError> {
        let shutdown = self.clone();
        let received = AtomicUsize::new(0);
        ctrlc::set_handler(move || {
            if received.fetch_add(1, Ordering::Relaxed) == 0 {
                shutdown.trigger_with(CancelReason::custom("signal"));
            } else {
                shutdown.force();
            }
        })
        .map_err(SignalError)
    }
}
