//! Subsystem paths: how they are made and shown.

use std::borrow::Cow;
use std::sync::Arc;

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
