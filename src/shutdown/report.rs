//! What a shutdown reports: per subsystem, drained in time, forced, or still
//! stuck, with the guards still alive and the failures.

use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use super::failure::Failure;
use super::path::{GuardLabel, display_path};

/// The answer to "how did the shutdown go, and what is still running?".
///
/// Made by [`Shutdown::report`](super::Shutdown::report) (a snapshot at any
/// time) and returned by a timed-out [`wait_timeout`](super::Shutdown::wait_timeout).
/// It covers the subsystem it was asked of and every subsystem below it:
///
/// - [`subsystems`](DrainReport::subsystems): one entry per subsystem, parents
///   before children, with its [`SubsystemStatus`] (running, waiting for its
///   phase, draining, drained, forced, stuck) and the guards still alive in it;
/// - [`stragglers`](DrainReport::stragglers): every guard a report can name
///   still alive anywhere in the subtree (named guards, and unnamed ones while
///   [call sites are recorded](super::Shutdown::record_call_sites)), oldest first
///   within each subsystem; [`unnamed`](DrainReport::unnamed) counts the rest;
/// - [`failures`](DrainReport::failures): work that returned an error or
///   panicked.
///
/// # Text
///
/// The first line is a summary meant for a log: `shutdown not drained: 2
/// guards alive: "flush to disk" (age 1.2s), and 1 unnamed` (or `shutdown
/// drained`, or `shutdown not triggered: …`). When the tree has more than one
/// subsystem, or something was forced or failed, one indented line per
/// subsystem and per failure follows; the format is stable (it is pinned by
/// golden tests):
///
/// ```text
/// shutdown not drained: 1 guard alive: "GET /slow" (age 2.0s)
///   (root): draining for 2.1s
///   http: stuck: forced after 500.0ms, draining for 2.1s: 1 guard alive: "GET /slow" (age 2.0s)
///   jobs: drained in 3.0ms
///   db: waiting for http
///   failed: jobs: "worker 2" failed: disk full
/// ```
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
    subsystems: Vec<SubsystemReport>,
    stragglers: Vec<Straggler>,
    unnamed: usize,
    failures: Vec<Failure>,
}

impl DrainReport {
    /// `subsystems` in tree order, the reported one first.
    pub(super) fn from_tree(subsystems: Vec<SubsystemReport>, failures: Vec<Failure>) -> Self {
        let stragglers = subsystems
            .iter()
            .flat_map(|s| s.stragglers.iter().cloned())
            .collect();
        let unnamed = subsystems.iter().map(|s| s.unnamed).sum();
        DrainReport {
            subsystems,
            stragglers,
            unnamed,
            failures,
        }
    }

    fn top(&self) -> &SubsystemReport {
        &self.subsystems[0]
    }

    /// Whether the reported subsystem had started shutting down when the
    /// report was made. A drain that times out before anyone triggered
    /// shutdown reports `false`.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// let report = shutdown.wait_timeout(std::time::Duration::ZERO).unwrap_err();
    /// assert!(!report.was_triggered());
    /// assert_eq!(report.to_string(), "shutdown not triggered: 0 guards alive");
    /// ```
    pub fn was_triggered(&self) -> bool {
        !matches!(
            self.top().status,
            SubsystemStatus::Running | SubsystemStatus::Waiting
        )
    }

    /// Whether the reported subsystem (and so its whole subtree) was drained.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// shutdown.trigger();
    /// assert!(shutdown.report().is_drained());
    /// assert_eq!(shutdown.report().to_string(), "shutdown drained");
    /// ```
    pub fn is_drained(&self) -> bool {
        matches!(
            self.top().status,
            SubsystemStatus::Drained | SubsystemStatus::Forced
        )
    }

    /// Every subsystem of the reported subtree, parents before children
    /// (the reported one first).
    ///
    /// ```
    /// use ripcord::shutdown::{Shutdown, SubsystemStatus};
    ///
    /// let root = Shutdown::new();
    /// let http = root.child("http");
    /// let _conn = http.child("conn 127.0.0.1:5000").guard().unwrap();
    /// root.trigger();
    /// let report = root.report();
    /// let paths: Vec<&str> = report.subsystems().iter().map(|s| s.path()).collect();
    /// assert_eq!(paths, ["", "http", "http/conn 127.0.0.1:5000"]);
    /// assert_eq!(report.subsystems()[2].status(), SubsystemStatus::Draining);
    /// ```
    pub fn subsystems(&self) -> &[SubsystemReport] {
        &self.subsystems
    }

    /// The guards a report can name still alive anywhere in the subtree
    /// (named guards, and unnamed ones whose call site was recorded), oldest
    /// first within each subsystem.
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

    /// How many guards were alive that the report cannot name (unnamed, taken
    /// while call sites were not recorded).
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

    /// How many guards were alive in all, in the whole subtree.
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

    /// Work in the subtree that returned an error or panicked, in the order it
    /// failed.
    ///
    /// ```
    /// use ripcord::shutdown::{OnFailure, Shutdown};
    ///
    /// let shutdown = Shutdown::new();
    /// shutdown.on_failure(OnFailure::Record);
    /// shutdown.guard_named("import").unwrap().fail("bad row");
    /// assert_eq!(shutdown.report().failures()[0].message(), "bad row");
    /// ```
    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    /// Whether the text needs the per-subsystem lines.
    fn is_detailed(&self) -> bool {
        self.subsystems.len() > 1 || !self.failures.is_empty() || self.top().forced_after.is_some()
    }
}

impl fmt::Display for DrainReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let active = self.active();
        if self.is_drained() && active == 0 {
            f.write_str("shutdown drained")?;
        } else {
            let state = if self.was_triggered() {
                "drained"
            } else {
                "triggered"
            };
            write!(f, "shutdown not {state}: ")?;
            write_alive(f, &self.stragglers, self.unnamed)?;
        }
        if self.is_detailed() {
            for subsystem in &self.subsystems {
                write!(f, "\n  {subsystem}")?;
            }
            for failure in &self.failures {
                write!(f, "\n  failed: {failure}")?;
            }
        }
        Ok(())
    }
}

/// `N guard(s) alive: "a" (age 1s), guard at x.rs:1:2 (age 2s), and 3 unnamed`.
fn write_alive(
    f: &mut fmt::Formatter<'_>,
    stragglers: &[Straggler],
    unnamed: usize,
) -> fmt::Result {
    let active = stragglers.len() + unnamed;
    write!(
        f,
        "{active} guard{} alive",
        if active == 1 { "" } else { "s" }
    )?;
    if active > 0 {
        f.write_str(": ")?;
        write_list(f, stragglers, unnamed)?;
    }
    Ok(())
}

/// `"a" (age 1s), guard at x.rs:1:2 (age 2s), and 3 unnamed`.
fn write_list(f: &mut fmt::Formatter<'_>, stragglers: &[Straggler], unnamed: usize) -> fmt::Result {
    for (i, straggler) in stragglers.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        write!(f, "{sep}{straggler}")?;
    }
    if unnamed > 0 {
        let sep = if stragglers.is_empty() { "" } else { ", and " };
        write!(f, "{sep}{unnamed} unnamed")?;
    }
    Ok(())
}

impl std::error::Error for DrainReport {}

/// How far one subsystem's shutdown got. See [`SubsystemReport::status`].
///
/// ```
/// use ripcord::shutdown::{Shutdown, SubsystemStatus};
///
/// let shutdown = Shutdown::new();
/// assert_eq!(shutdown.report().subsystems()[0].status(), SubsystemStatus::Running);
/// shutdown.trigger();
/// assert_eq!(shutdown.report().subsystems()[0].status(), SubsystemStatus::Drained);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubsystemStatus {
    /// Shutdown was not asked of it yet.
    Running,
    /// Shutdown was asked of it, but its phase has not begun: it waits for
    /// the subsystems it runs [`after`](super::Shutdown::after) to drain (or
    /// for its parent to start). Its tokens are not cancelled yet.
    Waiting,
    /// Shutting down: its token is cancelled, guards are still alive, and its
    /// grace period (if any) has not run out.
    Draining,
    /// Drained without being forced: every guard and child finished in time.
    Drained,
    /// Its grace period ran out (or it was [forced](super::Shutdown::force))
    /// while work was still running; that work has finished since.
    Forced,
    /// Forced, and work is still running: it ignores its hard token.
    Stuck,
}

impl SubsystemStatus {
    fn as_str(self) -> &'static str {
        match self {
            SubsystemStatus::Running => "running",
            SubsystemStatus::Waiting => "waiting",
            SubsystemStatus::Draining => "draining",
            SubsystemStatus::Drained => "drained",
            SubsystemStatus::Forced => "forced",
            SubsystemStatus::Stuck => "stuck",
        }
    }
}

impl fmt::Display for SubsystemStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One subsystem in a [`DrainReport`].
///
/// ```
/// use ripcord::shutdown::{Shutdown, SubsystemStatus};
///
/// let root = Shutdown::new();
/// let jobs = root.child("jobs");
/// let _g = jobs.guard_named("import").unwrap();
/// root.trigger();
/// let report = root.report();
/// let jobs = &report.subsystems()[1];
/// assert_eq!(jobs.path(), "jobs");
/// assert_eq!(jobs.status(), SubsystemStatus::Draining);
/// assert_eq!(jobs.stragglers()[0].name(), "import");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubsystemReport {
    pub(super) path: Arc<str>,
    pub(super) status: SubsystemStatus,
    pub(super) stragglers: Vec<Straggler>,
    pub(super) unnamed: usize,
    pub(super) waiting_for: Vec<Arc<str>>,
    pub(super) started: Option<Duration>,
    pub(super) drained_after: Option<Duration>,
    pub(super) forced_after: Option<Duration>,
    pub(super) forced_alive: (Vec<Straggler>, usize),
}

impl SubsystemReport {
    /// The subsystem's path: its name and its ancestors', joined with `/`
    /// (`http/conn 127.0.0.1:5000`); empty for a root.
    ///
    /// ```
    /// let root = ripcord::shutdown::Shutdown::new();
    /// let _db = root.child("db");
    /// assert_eq!(root.report().subsystems()[1].path(), "db");
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// How far its shutdown got.
    ///
    /// ```
    /// let root = ripcord::shutdown::Shutdown::new();
    /// assert_eq!(root.report().subsystems()[0].status(), ripcord::shutdown::SubsystemStatus::Running);
    /// ```
    pub fn status(&self) -> SubsystemStatus {
        self.status
    }

    /// The guards a report can name still alive in this subsystem (not its
    /// children), oldest first.
    ///
    /// ```
    /// let root = ripcord::shutdown::Shutdown::new();
    /// let _g = root.guard_named("x").unwrap();
    /// assert_eq!(root.report().subsystems()[0].stragglers()[0].name(), "x");
    /// ```
    pub fn stragglers(&self) -> &[Straggler] {
        &self.stragglers
    }

    /// How many other guards were alive in this subsystem.
    ///
    /// ```
    /// let root = ripcord::shutdown::Shutdown::new();
    /// let _g = root.guard().unwrap();
    /// assert_eq!(root.report().subsystems()[0].unnamed(), 1);
    /// ```
    pub fn unnamed(&self) -> usize {
        self.unnamed
    }

    /// For a [`Waiting`](SubsystemStatus::Waiting) subsystem: the paths of
    /// what it waits for (subsystems to drain, or its parent to start).
    ///
    /// ```
    /// use ripcord::shutdown::Shutdown;
    ///
    /// let root = Shutdown::new();
    /// let (http, db) = (root.child("http"), root.child("db"));
    /// db.after(&[&http]).unwrap();
    /// let _request = http.guard().unwrap();
    /// root.trigger();
    /// let report = root.report();
    /// assert_eq!(report.subsystems()[2].waiting_for().collect::<Vec<_>>(), ["http"]);
    /// ```
    pub fn waiting_for(&self) -> impl Iterator<Item = &str> {
        self.waiting_for.iter().map(|path| &**path)
    }

    /// How long ago it started shutting down, if it has.
    ///
    /// ```
    /// let root = ripcord::shutdown::Shutdown::new();
    /// assert_eq!(root.report().subsystems()[0].started(), None);
    /// root.trigger();
    /// assert!(root.report().subsystems()[0].started().is_some());
    /// ```
    pub fn started(&self) -> Option<std::time::Duration> {
        self.started
    }

    /// How long its drain took, once it is drained.
    ///
    /// ```
    /// let root = ripcord::shutdown::Shutdown::new();
    /// root.trigger();
    /// assert!(root.report().subsystems()[0].drained_after().is_some());
    /// ```
    pub fn drained_after(&self) -> Option<Duration> {
        self.drained_after
    }

    /// How long after its start it was forced, if it was.
    ///
    /// ```
    /// let root = ripcord::shutdown::Shutdown::new();
    /// let _stuck = root.guard().unwrap();
    /// root.trigger();
    /// root.force();
    /// assert!(root.report().subsystems()[0].forced_after().is_some());
    /// ```
    pub fn forced_after(&self) -> Option<Duration> {
        self.forced_after
    }
}

impl SubsystemReport {
    /// For a forced subsystem: the guards a report can name that were still
    /// alive when it was forced (their ages then), and how many others. What
    /// the grace period cut off, still known once that work has ended.
    ///
    /// ```
    /// use ripcord::shutdown::Shutdown;
    ///
    /// let shutdown = Shutdown::new();
    /// let slow = shutdown.guard_named("GET /slow").unwrap();
    /// shutdown.force();
    /// drop(slow);
    /// let report = shutdown.report();
    /// let (named, unnamed) = report.subsystems()[0].cut_off();
    /// assert_eq!((named[0].name(), unnamed), ("GET /slow", 0));
    /// ```
    pub fn cut_off(&self) -> (&[Straggler], usize) {
        (&self.forced_alive.0, self.forced_alive.1)
    }
}

impl fmt::Display for SubsystemReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", display_path(&self.path), self.status)?;
        match self.status {
            SubsystemStatus::Running => {}
            SubsystemStatus::Waiting => {
                f.write_str(" for ")?;
                for (i, path) in self.waiting_for.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{}", display_path(path))?;
                }
            }
            SubsystemStatus::Draining => {
                if let Some(started) = self.started {
                    write!(f, " for {started:.1?}")?;
                }
            }
            SubsystemStatus::Drained => {
                if let Some(took) = self.drained_after {
                    write!(f, " in {took:.1?}")?;
                }
            }
            SubsystemStatus::Forced | SubsystemStatus::Stuck => {
                if self.status == SubsystemStatus::Stuck {
                    f.write_str(": forced")?;
                }
                if let Some(forced) = self.forced_after {
                    write!(f, " after {forced:.1?}")?;
                }
                let (named, unnamed) = self.cut_off();
                if self.status == SubsystemStatus::Forced && named.len() + unnamed > 0 {
                    f.write_str(" (cut off: ")?;
                    write_list(f, named, unnamed)?;
                    f.write_str(")")?;
                }
                match (self.drained_after, self.started) {
                    (Some(took), _) => write!(f, ", drained in {took:.1?}")?,
                    (None, Some(started)) => write!(f, ", draining for {started:.1?}")?,
                    (None, None) => {}
                }
            }
        }
        if !self.stragglers.is_empty() || self.unnamed > 0 {
            f.write_str(": ")?;
            write_alive(f, &self.stragglers, self.unnamed)?;
        }
        Ok(())
    }
}

/// One guard still alive when a report was made: a named guard, or an
/// unnamed one whose call site was recorded.
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
    pub(super) name: Option<Arc<str>>,
    pub(super) site: &'static Location<'static>,
    pub(super) subsystem: Arc<str>,
    pub(super) age: Duration,
}

impl Straggler {
    /// The name given to [`guard_named`](super::Shutdown::guard_named) (or
    /// `track_named`, `spawn_thread`); empty for an unnamed guard (see
    /// [`call_site`](Straggler::call_site)).
    ///
    /// ```
    /// # let shutdown = ripcord::shutdown::Shutdown::new();
    /// # let _g = shutdown.guard_named("x").unwrap();
    /// # shutdown.trigger();
    /// # let report = shutdown.wait_timeout(std::time::Duration::ZERO).unwrap_err();
    /// assert_eq!(report.stragglers()[0].name(), "x");
    /// ```
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// Where the guard was taken (`#[track_caller]`): the place to look when
    /// an unnamed guard is stuck.
    ///
    /// ```
    /// let shutdown = ripcord::shutdown::Shutdown::new();
    /// shutdown.record_call_sites(true);
    /// let _g = shutdown.guard().unwrap(); let line = line!();
    /// let report = shutdown.report();
    /// assert_eq!(report.stragglers()[0].call_site().line(), line);
    /// ```
    pub fn call_site(&self) -> &'static Location<'static> {
        self.site
    }

    /// The path of the subsystem it belongs to (empty for the root).
    ///
    /// ```
    /// let root = ripcord::shutdown::Shutdown::new();
    /// let _g = root.child("http").child("conn 1").guard_named("GET /").unwrap();
    /// assert_eq!(root.report().stragglers()[0].subsystem(), "http/conn 1");
    /// ```
    pub fn subsystem(&self) -> &str {
        &self.subsystem
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

impl Straggler {
    /// The guard's name quoted, or `guard at {call site}`.
    pub(super) fn label(&self) -> GuardLabel<'_> {
        GuardLabel(self.name.as_deref(), Some(self.site))
    }
}

impl fmt::Display for Straggler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (age {:.1?})", self.label(), self.age)
    }
}
