//! Observability: with feature `tracing`, the tree's transitions become
//! `tracing` events. They are collected under the tree lock and emitted after
//! it is released (a subscriber is user code, I2 in `tree.rs`); without the
//! feature every method here is empty and the collector has no size.

use std::time::Duration;

use super::failure::Failure;
#[cfg(feature = "tracing")]
use super::path::display_path;
use super::report::Straggler;
use crate::CancelReason;

/// Events waiting for the tree lock to be released.
#[derive(Default)]
pub(super) struct Trace {
    #[cfg(feature = "tracing")]
    events: Vec<Event>,
}

#[cfg(feature = "tracing")]
enum Event {
    Triggered {
        path: String,
        reason: String,
    },
    Started {
        path: String,
    },
    Drained {
        path: String,
        after: Option<Duration>,
        forced: bool,
    },
    Forced {
        path: String,
        reason: String,
        stragglers: Vec<String>,
    },
    Failed {
        failure: Failure,
    },
}

#[cfg(feature = "tracing")]
impl Trace {
    fn push(&mut self, event: Event) {
        self.events.push(event);
    }

    pub(super) fn triggered(&mut self, path: &str, reason: &CancelReason) {
        self.push(Event::Triggered {
            path: display_path(path).to_owned(),
            reason: reason.to_string(),
        });
    }

    pub(super) fn started(&mut self, path: &str) {
        self.push(Event::Started {
            path: display_path(path).to_owned(),
        });
    }

    pub(super) fn drained(&mut self, path: &str, after: Option<Duration>, forced: bool) {
        self.push(Event::Drained {
            path: display_path(path).to_owned(),
            after,
            forced,
        });
    }

    /// `cut_off`: the guards a report can name that were alive when the
    /// subsystem was forced.
    pub(super) fn forced(&mut self, path: &str, reason: &CancelReason, cut_off: &[Straggler]) {
        self.push(Event::Forced {
            path: display_path(path).to_owned(),
            reason: reason.to_string(),
            stragglers: cut_off.iter().map(|s| s.label().to_string()).collect(),
        });
    }

    pub(super) fn failed(&mut self, failure: &Failure) {
        self.push(Event::Failed {
            failure: failure.clone(),
        });
    }

    /// Emits the events, in the order the tree made them.
    pub(super) fn emit(self) {
        for event in self.events {
            match event {
                Event::Triggered { path, reason } => {
                    tracing::info!(target: "ripcord::shutdown", subsystem = %path, %reason, "shutdown triggered");
                }
                Event::Started { path } => {
                    tracing::info!(target: "ripcord::shutdown", subsystem = %path, "subsystem shutting down");
                }
                Event::Drained {
                    path,
                    after,
                    forced,
                } => {
                    tracing::info!(target: "ripcord::shutdown", subsystem = %path, ?after, forced, "subsystem drained");
                }
                Event::Forced {
                    path,
                    reason,
                    stragglers,
                } => {
                    tracing::warn!(target: "ripcord::shutdown", subsystem = %path, %reason, ?stragglers, "subsystem forced: its work is told to abort");
                }
                Event::Failed { failure } => {
                    tracing::error!(target: "ripcord::shutdown", subsystem = %display_path(failure.subsystem()), kind = ?failure.kind(), error = %failure.message(), "work failed: {failure}");
                }
            }
        }
    }
}

#[cfg(not(feature = "tracing"))]
impl Trace {
    pub(super) fn triggered(&mut self, _: &str, _: &CancelReason) {}
    pub(super) fn started(&mut self, _: &str) {}
    pub(super) fn drained(&mut self, _: &str, _: Option<Duration>, _: bool) {}
    pub(super) fn forced(&mut self, _: &str, _: &CancelReason, _: &[Straggler]) {}
    pub(super) fn failed(&mut self, _: &Failure) {}
    pub(super) fn emit(self) {}
}
