//! What is still running when a drain times out.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The answer to "what is still running?", returned when a drain times out.
///
/// Lists every named guard still alive with its age (oldest first), and how
/// many unnamed guards are alive besides. Its `Display` is one line meant for
/// a log: `shutdown not drained: 2 guards alive: "flush to disk" (age 1.2s),
/// and 1 unnamed`. (If shutdown was not even triggered, it says so.)
///
/// It is a snapshot: the guards it names may finish right after it was made.
///
/// # Examples
///
/// ```
/// use ripcord::shutdown::Shutdown;
/// use std::time::Duration;
///
/// let shutdown = Shutdown::new();
/// let _flush = shutdown.guard_named("flush to disk").unwrap();
/// let _other = shutdown.guard().unwrap();
/// shutdown.trigger();
/// let report = shutdown.wait_timeout(Duration::from_millis(1)).unwrap_err();
/// assert_eq!(report.active(), 2);
/// assert_eq!(report.stragglers()[0].name(), "flush to disk");
/// let line = report.to_string();
/// assert!(line.starts_with("shutdown not drained: 2 guards alive: \"flush to disk\" (age "));
/// assert!(line.ends_with("and 1 unnamed"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainReport {
    stragglers: Vec<Straggler>,
    unnamed: usize,
    triggered: bool,
}

impl DrainReport {
    /// `stragglers` must be oldest first.
    pub(crate) fn new(stragglers: Vec<Straggler>, unnamed: usize, triggered: bool) -> Self {
        DrainReport {
            stragglers,
            unnamed,
            triggered,
        }
    }

    /// Whether shutdown had been triggered when the report was made. A drain
    /// that times out before anyone triggered shutdown reports `false`.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let report = shutdown.wait_timeout(std::time::Duration::ZERO).unwrap_err();
    /// assert!(!report.was_triggered());
    /// assert_eq!(report.to_string(), "shutdown not triggered: 0 guards alive");
    /// ```
    pub fn was_triggered(&self) -> bool {
        self.triggered
    }

    /// The named guards still alive, oldest first.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let _g = shutdown.guard_named("job").unwrap();
    /// shutdown.trigger();
    /// let report = shutdown.wait_timeout(std::time::Duration::ZERO).unwrap_err();
    /// assert_eq!(report.stragglers().len(), 1);
    /// ```
    pub fn stragglers(&self) -> &[Straggler] {
        &self.stragglers
    }

    /// How many unnamed guards were alive.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let _g = shutdown.guard().unwrap();
    /// shutdown.trigger();
    /// assert_eq!(shutdown.wait_timeout(std::time::Duration::ZERO).unwrap_err().unnamed(), 1);
    /// ```
    pub fn unnamed(&self) -> usize {
        self.unnamed
    }

    /// How many guards were alive in all.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let (_a, _b) = (shutdown.guard().unwrap(), shutdown.guard_named("b").unwrap());
    /// shutdown.trigger();
    /// assert_eq!(shutdown.wait_timeout(std::time::Duration::ZERO).unwrap_err().active(), 2);
    /// ```
    pub fn active(&self) -> usize {
        self.stragglers.len() + self.unnamed
    }
}

impl fmt::Display for DrainReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let active = self.active();
        write!(
            f,
            "shutdown not {}: {active} guard{} alive",
            if self.triggered {
                "drained"
            } else {
                "triggered"
            },
            if active == 1 { "" } else { "s" }
        )?;
        let mut sep = ": ";
        for straggler in &self.stragglers {
            write!(f, "{sep}{straggler}")?;
            sep = ", ";
        }
        if self.unnamed > 0 {
            let sep = if self.stragglers.is_empty() {
                ": "
            } else {
                ", and "
            };
            write!(f, "{sep}{} unnamed", self.unnamed)?;
        }
        Ok(())
    }
}

impl std::error::Error for DrainReport {}

/// One named guard that was still alive when a drain timed out.
///
/// ```
/// let shutdown = ripcord::shutdown::Shutdown::new();
/// let _g = shutdown.guard_named("upload").unwrap();
/// shutdown.trigger();
/// let report = shutdown.wait_timeout(std::time::Duration::ZERO).unwrap_err();
/// let straggler = &report.stragglers()[0];
/// assert_eq!(straggler.name(), "upload");
/// assert!(straggler.age() < std::time::Duration::from_secs(3600));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Straggler {
    pub(crate) name: Arc<str>,
    pub(crate) age: Duration,
}

impl Straggler {
    /// The name given to [`guard_named`](super::Shutdown::guard_named).
    ///
    /// ```
    /// # let shutdown = ripcord::shutdown::Shutdown::new();
    /// # let _g = shutdown.guard_named("x").unwrap();
    /// # shutdown.trigger();
    /// # let report = shutdown.wait_timeout(std::time::Duration::ZERO).unwrap_err();
    /// assert_eq!(report.stragglers()[0].name(), "x");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How long the guard had been alive when the report was made.
    ///
    /// ```
    /// # let shutdown = ripcord::shutdown::Shutdown::new();
    /// # let _g = shutdown.guard_named("x").unwrap();
    /// # shutdown.trigger();
    /// # let report = shutdown.wait_timeout(std::time::Duration::ZERO).unwrap_err();
    /// let _age: std::time::Duration = report.stragglers()[0].age();
    /// ```
    pub fn age(&self) -> Duration {
        self.age
    }
}

impl fmt::Display for Straggler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} (age {:.1?})", self.name, self.age)
    }
}
