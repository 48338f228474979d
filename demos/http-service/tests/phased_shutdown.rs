//! Drives the service over loopback with a real HTTP client and shuts it
//! down in phases: requests in flight finish, new connections are refused,
//! the straggler is cancelled and named, every acknowledged record reaches
//! the data file, and the phases run in order.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ripcord::shutdown::{DrainReport, Shutdown, SubsystemReport, SubsystemStatus};
use ripcord_http_service::{CLOSED_MARKER, Config, Event, start};

/// Generous bound for anything that should take milliseconds.
const PATIENCE: Duration = Duration::from_secs(5);
const GRACE: Duration = Duration::from_millis(300);
const WORK_MS: u64 = 400;
const IN_FLIGHT_WORK: usize = 3;
const WORKERS: usize = 2;

/// A status and a body, or why there was none.
type Reply = Result<(u16, String), String>;

/// A client whose 4xx/5xx answers are answers, not errors. Each agent keeps
/// its own connections, so each client thread is its own connection.
fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(PATIENCE))
        .build()
        .into()
}

fn get(agent: &ureq::Agent, url: &str) -> Reply {
    reply(agent.get(url).call())
}

fn post(agent: &ureq::Agent, url: &str, body: &str) -> Reply {
    reply(agent.post(url).send(body))
}

/// A response's status and body, or the error's text.
fn reply(sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = sent.map_err(|err| err.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|err| err.to_string())?;
    Ok((status, body))
}

fn ok(body: &str) -> Reply {
    Ok((200, body.to_owned()))
}

/// Polls `cond` every few milliseconds until it holds; panics after `PATIENCE`.
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// How many live guards named `name` the tree has, in any subsystem.
fn live_guards(root: &Shutdown, name: &str) -> usize {
    root.report()
        .stragglers()
        .iter()
        .filter(|g| g.name() == name)
        .count()
}

/// A data file in the temp directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        TempFile(std::env::temp_dir().join(format!(
            "ripcord-http-service-{}-{nanos}.data",
            std::process::id()
        )))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The subsystem in which a `GET /slow` guard is alive.
fn slow_conn(report: &DrainReport) -> Option<&SubsystemReport> {
    report
        .subsystems()
        .iter()
        .find(|s| s.stragglers().iter().any(|g| g.name() == "GET /slow"))
}

/// Whether a fresh connection to `addr` is refused.
fn refused(addr: SocketAddr) -> bool {
    match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
        Err(err) => err.kind() == ErrorKind::ConnectionRefused,
        Ok(_) => false,
    }
}

/// The positions of `subsystem`'s events in the log.
fn positions(events: &[Event], subsystem: &str) -> Vec<usize> {
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.subsystem == subsystem)
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn phased_shutdown_over_loopback() {
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let data_file = TempFile::new();
    let service = runtime
        .block_on(start(Config {
            addr: "127.0.0.1:0".parse().unwrap(),
            data_file: data_file.0.clone(),
            request_grace: GRACE,
            workers: WORKERS,
        }))
        .expect("service starts");
    let addr = service.local_addr();
    let base = format!("http://{addr}");
    let root = service.shutdown().clone();
    let events = service.events();

    // Before the trigger: acknowledged writes, and a job on the worker pool.
    let agent = client();
    let records: Vec<String> = (0..6).map(|i| format!("record {i}")).collect();
    for record in &records {
        assert_eq!(post(&agent, &format!("{base}/write"), record), ok("ok"));
    }
    assert_eq!(get(&agent, &format!("{base}/cpu?n=100")), ok("25"));
    drop(agent);

    // Requests in flight, each on its own connection.
    let work: Vec<_> = (0..IN_FLIGHT_WORK)
        .map(|_| {
            let url = format!("{base}/work?ms={WORK_MS}");
            thread::spawn(move || get(&client(), &url))
        })
        .collect();
    let slow = {
        let url = format!("{base}/slow");
        thread::spawn(move || get(&client(), &url))
    };
    wait_until("every request is in flight", || {
        live_guards(&root, "GET /work") == IN_FLIGHT_WORK && live_guards(&root, "GET /slow") == 1
    });

    // Trigger, and watch the listener go away while the drain runs.
    assert!(!refused(addr), "accepting before the trigger");
    let stop_started = Instant::now();
    let stopping = runtime.spawn(service.stop(PATIENCE));
    wait_until("a new connection is refused", || refused(addr));

    // When the grace period runs out, /slow is told to abort. While it rolls
    // back, a report names it, stuck, under its connection's subsystem.
    let mut at_deadline = None;
    wait_until("a report shows GET /slow stuck", || {
        let report = root.report();
        let stuck = slow_conn(&report).is_some_and(|conn| conn.status() == SubsystemStatus::Stuck);
        if stuck {
            at_deadline = Some(report);
        }
        stuck
    });
    let at_deadline = at_deadline.unwrap();
    println!("at the deadline:\n{at_deadline}");
    let text = at_deadline.to_string();
    assert!(text.contains("GET /slow"), "{text}");
    let conn = slow_conn(&at_deadline).unwrap();
    assert!(conn.path().starts_with("http/conn 127.0.0.1:"), "{text}");
    let straggler = conn
        .stragglers()
        .iter()
        .find(|g| g.name() == "GET /slow")
        .unwrap();
    assert_eq!(straggler.subsystem(), conn.path());
    let slow_path = conn.path().to_owned();
    assert!(
        at_deadline
            .stragglers()
            .iter()
            .any(|g| g.name() == "GET /slow" && g.subsystem() == slow_path),
        "{text}"
    );

    let report: DrainReport = runtime.block_on(stopping).expect("stop does not panic");
    let stop_took = stop_started.elapsed();
    println!("stop took {stop_took:?}\n{report}");
    for event in events.snapshot() {
        println!("{:>9.3?} {:<8} {}", event.at, event.subsystem, event.what);
    }

    // Every request in flight at the trigger finished normally...
    for handle in work {
        assert_eq!(handle.join().unwrap(), ok("done"));
    }
    // ...except the straggler, cancelled when the grace period ran out.
    match slow.join().unwrap() {
        Ok(reply) => assert_eq!(reply, (503, "aborted".to_owned())),
        Err(err) => println!("/slow lost its connection instead: {err}"),
    }
    assert!(
        stop_took >= GRACE && stop_took < PATIENCE,
        "stop took {stop_took:?}"
    );

    // The final report: the tree drained; the straggler's connection (gone
    // since) is still listed, as forced; the other phases drained in time.
    let text = report.to_string();
    assert!(report.is_drained() && root.is_drained(), "{text}");
    let status = |path: &str| {
        report
            .subsystems()
            .iter()
            .find(|s| s.path() == path)
            .unwrap_or_else(|| panic!("no subsystem {path:?}:\n{text}"))
            .status()
    };
    assert_eq!(status(&slow_path), SubsystemStatus::Forced, "{text}");
    assert_eq!(status("http"), SubsystemStatus::Forced, "{text}");
    for phase in ["workers", "writer", "db"] {
        assert_eq!(status(phase), SubsystemStatus::Drained, "{text}");
    }

    // Every acknowledged record is in the data file, in order, and the
    // database was closed after the last of them.
    let data = std::fs::read_to_string(&data_file.0).unwrap();
    let lines: Vec<&str> = data.lines().collect();
    assert_eq!(lines.last(), Some(&CLOSED_MARKER), "{data}");
    assert_eq!(lines[..lines.len() - 1], records, "{data}");

    // The phases ran in order: everything `http` did (the last request
    // finishing, the accept loop ending) before any worker stopped, the
    // workers before the writer's final flush, the writer before `db`.
    let log = events.snapshot();
    let http = positions(&log, "http");
    let workers = positions(&log, "workers");
    let writer = positions(&log, "writer");
    let db = positions(&log, "db");
    assert_eq!(workers.len(), WORKERS, "{log:#?}");
    assert!(
        !http.is_empty() && !writer.is_empty() && !db.is_empty(),
        "{log:#?}"
    );
    assert!(http.last() < workers.first(), "{log:#?}");
    assert!(workers.last() < writer.first(), "{log:#?}");
    assert!(writer.last() < db.first(), "{log:#?}");
    let said = |subsystem: &str, what: &str| {
        log.iter()
            .any(|e| e.subsystem == subsystem && e.what.contains(what))
    };
    assert!(
        said("http", "GET /slow gave up: deadline exceeded"),
        "{log:#?}"
    );
    assert!(said("http", "accept loop ended"), "{log:#?}");
    assert!(said("writer", "final flush"), "{log:#?}");
    assert!(said("db", "closed"), "{log:#?}");
    let drained_work = log
        .iter()
        .filter(|e| e.what.starts_with("GET /work") && e.what.ends_with("200 OK"))
        .count();
    assert_eq!(drained_work, IN_FLIGHT_WORK, "{log:#?}");

    assert!(started.elapsed() < Duration::from_secs(10));
}
