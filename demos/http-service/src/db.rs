//! The `db` subsystem: closes the "database" once the writer is done.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::PathBuf;

use ripcord::shutdown::Shutdown;

use crate::events::EventLog;

/// The last line of a cleanly closed data file.
pub const CLOSED_MARKER: &str = "closed";

/// Starts the task that, when the `db` phase starts, appends
/// [`CLOSED_MARKER`] to the data file and exits.
pub(crate) fn spawn(db: &Shutdown, data_file: PathBuf, events: &EventLog) -> io::Result<()> {
    let guard = db.guard_named("close database").map_err(io::Error::other)?;
    let events = events.clone();
    tokio::spawn(async move {
        guard.token().cancelled().await;
        events.record("db", "closing");
        let closed = OpenOptions::new()
            .append(true)
            .open(&data_file)
            .and_then(|mut file| {
                file.write_all(format!("{CLOSED_MARKER}\n").as_bytes())?;
                file.sync_all()
            });
        match closed {
            Ok(()) => events.record("db", "closed"),
            Err(err) => events.record("db", format!("close failed: {err}")),
        }
        drop(guard);
    });
    Ok(())
}
