//! Runs the phased HTTP service until Ctrl-C, then shuts it down in phases
//! and prints how each subsystem ended.
//!
//! ```text
//! cargo run -p ripcord-http-service -- [ADDR] [DATA_FILE]
//! ```
//!
//! `ADDR` defaults to `127.0.0.1:3000`, `DATA_FILE` to `http-service.data`.
//! Exits with failure unless every subsystem drained in time (none forced).
#![warn(missing_docs)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ripcord::shutdown::SubsystemStatus;
use ripcord_http_service::{Config, start};

/// How long the whole shutdown may take before the report is printed anyway.
const STOP_LIMIT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = match args.next().as_deref().unwrap_or("127.0.0.1:3000").parse() {
        Ok(addr) => addr,
        Err(err) => {
            eprintln!("bad address: {err}");
            return ExitCode::FAILURE;
        }
    };
    let data_file = args
        .next()
        .map_or_else(|| PathBuf::from("http-service.data"), PathBuf::from);
    let config = Config {
        addr,
        data_file,
        request_grace: Duration::from_secs(5),
        workers: 4,
    };
    let service = match start(config).await {
        Ok(service) => service,
        Err(err) => {
            eprintln!("cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "listening on http://{} (GET /work?ms=N, GET /slow, POST /write, GET /cpu?n=N); Ctrl-C stops",
        service.local_addr()
    );

    // Ctrl-C, or a failure somewhere in the tree that triggered it.
    let root = service.shutdown().clone();
    tokio::select! {
        signal = tokio::signal::ctrl_c() => {
            if let Err(err) = signal {
                eprintln!("cannot listen for Ctrl-C: {err}");
            }
        }
        () = root.token().cancelled_owned() => {}
    }
    println!("shutting down (at most {STOP_LIMIT:?}; Ctrl-C again to force)...");
    // A second Ctrl-C cuts the grace periods short: every hard token is
    // cancelled and every phase starts now.
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            root.force();
        }
    });
    let events = service.events();
    let report = service.stop(STOP_LIMIT).await;
    for event in events.snapshot() {
        println!("{:>9.3?}  {:<8} {}", event.at, event.subsystem, event.what);
    }
    println!("{report}");
    let clean = report
        .subsystems()
        .iter()
        .all(|s| s.status() == SubsystemStatus::Drained);
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
