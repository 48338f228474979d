//! Subsystem paths and guard labels: how they are made and shown.

use std::borrow::Cow;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;

/// How a guard is named in reports, failures and trace events: its name
/// quoted, else `guard at {call site}`, else `unnamed guard`.
pub(super) struct GuardLabel<'a>(
    pub(super) Option<&'a str>,
    pub(super) Option<&'static Location<'static>>,
);

impl fmt::Display for GuardLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (Some(name), _) => write!(f, "{name:?}"),
            (None, Some(site)) => write!(f, "guard at {site}"),
            (None, None) => f.write_str("unnamed guard"),
        }
    }
}

/// How a subsystem path is shown: the root (empty path) as `(root)`.
pub(super) fn display_path(path: &str) -> &str {
    if path.is_empty() { "(root)" } else { path }
}

/// The path of a child named `name` of the subsystem at `parent`.
pub(super) fn child_path(parent: &str, name: &str) -> Arc<str> {
    if parent.is_empty() {
        Arc::from(name)
    } else {
        Arc::from(format!("{parent}/{name}"))
    }
}

/// A name given as `&'static str` or `String`, shared.
pub(super) fn to_arc(name: Cow<'static, str>) -> Arc<str> {
    match name {
        Cow::Borrowed(name) => name.into(),
        Cow::Owned(name) => name.into(),
    }
}
