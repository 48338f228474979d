//! The `writer` subsystem: a database-like background writer.
//!
//! Records are acknowledged once buffered in memory, and appended to the data
//! file every [`FLUSH_EVERY`] records or every [`FLUSH_INTERVAL`]. Since an
//! acknowledged record may still be in memory, the writer's phase ends with
//! a final flush, after it has drained its queue: nothing acknowledged is
//! lost.

use std::fs::File;
use std::io::{self, Write};
use std::time::Duration;

use ripcord::oneshot;
use ripcord::shutdown::{Shutdown, ShutdownGuard};
use tokio::sync::mpsc;

use crate::events::EventLog;

/// Flush after this many buffered records.
const FLUSH_EVERY: usize = 4;
/// Flush whatever is buffered this often.
const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

/// One record to append, and who to tell once it is buffered.
pub(crate) struct Record {
    /// One line of the data file (without its newline).
    pub(crate) line: String,
    pub(crate) ack: oneshot::Sender<()>,
}

/// Starts the writer task under a guard `writer` of `writer` and returns its
/// queue. Must be called inside the tokio runtime.
pub(crate) fn spawn(
    writer: &Shutdown,
    file: File,
    events: &EventLog,
) -> io::Result<mpsc::UnboundedSender<Record>> {
    let guard = writer.guard_named("writer").map_err(io::Error::other)?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(guard, rx, file, events.clone()));
    Ok(tx)
}

async fn run(
    guard: ShutdownGuard,
    mut rx: mpsc::UnboundedReceiver<Record>,
    mut file: File,
    events: EventLog,
) {
    let mut buffer = Vec::new();
    let mut tick = tokio::time::interval(FLUSH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            // Records first: a burst is buffered before a tick or the stop.
            biased;
            Some(record) = rx.recv() => {
                buffer.push(record.line);
                // The requester may have given up; the record is kept anyway.
                let _ = record.ack.send(());
                if buffer.len() >= FLUSH_EVERY {
                    flush(&mut file, &mut buffer, &events);
                }
            }
            () = guard.token().cancelled() => break,
            _ = tick.tick() => flush(&mut file, &mut buffer, &events),
        }
    }
    events.record("writer", "stopping: draining the queue");
    // No new record can be queued after `close`; the ones already queued are
    // still received, and acknowledged, before the final flush.
    rx.close();
    while let Some(record) = rx.recv().await {
        buffer.push(record.line);
        let _ = record.ack.send(());
    }
    let n = buffer.len();
    flush(&mut file, &mut buffer, &events);
    if let Err(err) = file.sync_all() {
        events.record("writer", format!("sync failed: {err}"));
    }
    drop(file);
    events.record("writer", format!("final flush of {n} records"));
    drop(guard);
}

/// Appends the buffered records to the file. A tiny blocking write on the
/// runtime's thread: acceptable for a demo, a real writer would use
/// `spawn_blocking` or a dedicated thread.
fn flush(file: &mut File, buffer: &mut Vec<String>, events: &EventLog) {
    if buffer.is_empty() {
        return;
    }
    let mut text = String::new();
    for line in buffer.drain(..) {
        text.push_str(&line);
        text.push('\n');
    }
    if let Err(err) = file.write_all(text.as_bytes()) {
        events.record("writer", format!("write failed: {err}"));
    }
}
