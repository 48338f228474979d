//! A real HTTP service shut down in phases with ripcord's
//! [`Shutdown`].
//!
//! [`start`] binds the listener and builds one subsystem per part of the
//! service, as children of a root `Shutdown`:
//!
//! | phase | subsystem | waits for | what it does when its turn comes |
//! |---|---|---|---|
//! | 1 | `http` | — | stops accepting, lets requests finish; after `request_grace` the stragglers are cancelled |
//! | 2 | `workers` | `http` | the worker threads exit once their queue is closed |
//! | 3 | `writer` | `http`, `workers` | drains its queue, flushes every acknowledged record |
//! | 4 | `db` | `writer` | appends the `closed` marker to the data file |
//!
//! [`Service::stop`] triggers the root and waits for the whole tree to
//! drain; the [`DrainReport`] it returns says how each subsystem ended, and
//! names the requests that had to be cancelled.
#![warn(missing_docs)]

mod db;
mod events;
mod http;
mod workers;
mod writer;

use std::fs::OpenOptions;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ripcord::FutureExt as _;
use ripcord::shutdown::{DrainReport, Shutdown};
use ripcord::time::TokioSleeper;
use tokio::net::TcpListener;

pub use db::CLOSED_MARKER;
pub use events::{Event, EventLog};

/// How to run the service.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen (port 0 picks a free port; see [`Service::local_addr`]).
    pub addr: SocketAddr,
    /// The writer's data file: records are appended, one per line, and a
    /// clean shutdown ends it with [`CLOSED_MARKER`]. Created if missing.
    pub data_file: PathBuf,
    /// How long in-flight requests may run on once shutdown has started,
    /// before their guards' hard tokens are cancelled.
    pub request_grace: Duration,
    /// How many worker threads serve `GET /cpu`.
    pub workers: usize,
}

/// A running service. Dropping it does not stop it: call [`stop`](Service::stop).
#[derive(Debug)]
pub struct Service {
    addr: SocketAddr,
    shutdown: Shutdown,
    /// `http`, `workers`, `writer`, `db`: held so that reports list them
    /// after they drained (a drained subsystem that nobody holds any more
    /// leaves the tree, unless it was forced).
    _phases: [Shutdown; 4],
    events: EventLog,
}

/// Binds `config.addr`, builds the subsystem tree and spawns every part of
/// the service on the current tokio runtime (a multi-threaded one: the
/// writer and the database do small blocking file writes).
///
/// # Errors
///
/// If the address cannot be bound, the data file cannot be opened, or a
/// worker thread cannot be spawned.
///
/// # Panics
///
/// Outside a tokio runtime.
pub async fn start(config: Config) -> io::Result<Service> {
    let listener = TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&config.data_file)?;

    let shutdown = Shutdown::new();
    let http = shutdown.child("http");
    let workers = shutdown.child("workers");
    let writer = shutdown.child("writer");
    let db = shutdown.child("db");
    // The phase order. `after` rejects cycles; this one has none.
    workers.after(&[&http]).map_err(io::Error::other)?;
    writer.after(&[&http, &workers]).map_err(io::Error::other)?;
    db.after(&[&writer]).map_err(io::Error::other)?;
    http.set_grace(config.request_grace);

    let events = EventLog::new();
    // Every long-lived guard is taken here, before anyone can trigger.
    db::spawn(&db, config.data_file.clone(), &events)?;
    let records = writer::spawn(&writer, file, &events)?;
    let jobs = workers::spawn(&workers, config.workers, &events)?;
    http::spawn(
        &http,
        listener,
        http::AppState {
            jobs,
            records,
            events: events.clone(),
        },
    )?;
    Ok(Service {
        addr,
        shutdown,
        _phases: [http, workers, writer, db],
        events,
    })
}

impl Service {
    /// The address the service listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The root of the subsystem tree: trigger it, wait for it, or ask it
    /// for a [`report`](Shutdown::report) of what is running.
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// The log of what the subsystems did, in order: the shutdown of each
    /// phase shows up after everything of the phases it waits for. The
    /// handle outlives the service (take it before [`stop`](Service::stop)).
    pub fn events(&self) -> EventLog {
        self.events.clone()
    }

    /// Triggers the shutdown and waits for every phase to drain, at most
    /// `limit`; then reports how each subsystem ended.
    ///
    /// The report is taken either way: if `limit` ran out, it lists what is
    /// still running.
    pub async fn stop(self, limit: Duration) -> DrainReport {
        self.shutdown.trigger();
        // Timed out or not, the report tells.
        let _ = self.shutdown.drained().timeout(&TokioSleeper, limit).await;
        self.shutdown.report()
    }
}
