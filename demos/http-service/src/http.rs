//! The `http` subsystem: an axum server whose connections and requests are
//! tracked by ripcord.
//!
//! - The server itself holds the guard `accept loop` until `axum::serve`
//!   returns, which (with graceful shutdown) is once it stopped accepting
//!   and every connection is closed.
//! - Each accepted connection gets a child subsystem `http/conn {peer}`,
//!   held by the connection's socket and dropped with it.
//! - Each request runs under a guard `"{METHOD} {path}"` of its connection's
//!   subsystem (the [`track_request`] middleware); handlers that can wait
//!   for long get the guard's hard token ([`Deadline`]) and give up when the
//!   grace period of `http` runs out.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::mpsc as std_mpsc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Extension;
use axum::Router;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::{IncomingStream, Listener};
use ripcord::shutdown::{OnFailure, Shutdown};
use ripcord::{CancellationToken, FutureExt as _, oneshot};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::events::EventLog;
use crate::workers::Job;
use crate::writer::Record;

/// The longest `/work` accepts, so that one request cannot hold up a
/// shutdown for ever.
const MAX_WORK: Duration = Duration::from_secs(60);
/// The largest `/cpu?n=` accepted.
const MAX_CPU_N: u64 = 1_000_000;
/// How long `/slow` takes to roll back once told to abort.
const ROLLBACK: Duration = Duration::from_millis(100);

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) jobs: std_mpsc::Sender<Job>,
    pub(crate) records: mpsc::UnboundedSender<Record>,
    pub(crate) events: EventLog,
}

/// Serves on the bound `listener`: takes the `accept loop` guard and spawns
/// the server on the current tokio runtime. It stops accepting when `http`
/// starts shutting down, and drops the guard once every connection closed.
pub(crate) fn spawn(http: &Shutdown, listener: TcpListener, state: AppState) -> io::Result<()> {
    let accept_loop = http.guard_named("accept loop").map_err(io::Error::other)?;
    let events = state.events.clone();
    let signal = {
        let token = http.token();
        let events = events.clone();
        async move {
            token.cancelled_owned().await;
            events.record("http", "shutdown started: no new connections");
        }
    };
    let listener = ConnListener {
        tcp: listener,
        http: http.clone(),
    };
    let app = router(state);
    tokio::spawn(async move {
        let served = axum::serve(listener, app.into_make_service_with_connect_info::<Conn>())
            .with_graceful_shutdown(signal)
            .await;
        // `serve` consumed the router: the queues' senders it held are gone,
        // so the worker pool sees its queue closed.
        match served {
            Ok(()) => {
                events.record("http", "accept loop ended: every connection closed");
                drop(accept_loop);
            }
            Err(err) => {
                events.record("http", format!("server failed: {err}"));
                // Recorded in the report; by default it triggers the whole tree.
                accept_loop.fail(err);
            }
        }
    });
    Ok(())
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/work", get(work))
        .route("/slow", get(slow))
        .route("/write", post(write))
        .route("/cpu", get(cpu))
        .layer(middleware::from_fn_with_state(state.clone(), track_request))
        .with_state(state)
}

/// The hard token of the request's guard: cancelled (with
/// `CancelReason::DeadlineExceeded`) when the grace period of `http` runs
/// out. Handlers that may wait for long race it.
#[derive(Clone)]
struct Deadline(CancellationToken);

/// Runs each request under a guard `"{METHOD} {path}"` of its connection's
/// subsystem.
async fn track_request(
    State(state): State<AppState>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    mut request: Request,
    next: Next,
) -> Response {
    let name = format!("{} {}", request.method(), request.uri().path());
    let Ok(guard) = conn.subsystem.guard_named(name.clone()) else {
        // The connection's subsystem has drained: too late for new work.
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    };
    request
        .extensions_mut()
        .insert(Deadline(guard.hard_token().clone()));
    let response = next.run(request).await;
    if guard.token().is_cancelled() {
        // Recorded before the guard drops: before `http` can count as drained.
        state.events.record(
            "http",
            format!(
                "{name} from {} finished during the drain: {}",
                conn.peer,
                response.status()
            ),
        );
    }
    drop(guard);
    response
}

/// Reads a numeric query parameter; the error is the 400 answer's text.
fn param(query: &HashMap<String, String>, key: &str) -> Result<u64, String> {
    let value = query.get(key).ok_or_else(|| format!("missing ?{key}="))?;
    value.parse().map_err(|_| format!("bad ?{key}={value}"))
}

/// `GET /work?ms=N`: a bounded request; sleeps N ms on the tokio timer, then
/// answers `done`. It always finishes, so it does not watch the deadline.
async fn work(Query(query): Query<HashMap<String, String>>) -> Response {
    let ms = match param(&query, "ms") {
        Ok(ms) => ms,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    tokio::time::sleep(Duration::from_millis(ms).min(MAX_WORK)).await;
    "done".into_response()
}

/// `GET /slow`: never finishes on its own. When the grace period runs out it
/// gives up: rolls back for [`ROLLBACK`], then answers 503 `aborted`. The
/// straggler a drain report names (as stuck while it rolls back).
async fn slow(State(state): State<AppState>, Extension(deadline): Extension<Deadline>) -> Response {
    deadline.0.cancelled().await;
    let reason = deadline
        .0
        .reason()
        .map_or_else(|| "unknown".to_owned(), |reason| reason.to_string());
    state
        .events
        .record("http", format!("GET /slow gave up: {reason}"));
    tokio::time::sleep(ROLLBACK).await;
    (StatusCode::SERVICE_UNAVAILABLE, "aborted").into_response()
}

/// `POST /write`: hands the body to the writer as one record; 200 `ok` once
/// the writer has acknowledged it.
async fn write(
    State(state): State<AppState>,
    Extension(deadline): Extension<Deadline>,
    body: String,
) -> Response {
    // One record per line of the data file.
    let line = body.replace(['\n', '\r'], " ");
    let (ack, acked) = oneshot::channel();
    if state.records.send(Record { line, ack }).is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "writer stopped").into_response();
    }
    match acked.timeout_with(deadline.0.cancelled_owned()).await {
        Ok(Ok(())) => "ok".into_response(),
        Ok(Err(_)) => (StatusCode::SERVICE_UNAVAILABLE, "writer stopped").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "aborted").into_response(),
    }
}

/// `GET /cpu?n=N`: counts the primes up to N on the worker pool.
async fn cpu(
    State(state): State<AppState>,
    Extension(deadline): Extension<Deadline>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let n = match param(&query, "n") {
        Ok(n) if n <= MAX_CPU_N => n,
        Ok(n) => return (StatusCode::BAD_REQUEST, format!("n={n} is too large")).into_response(),
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    let (reply, answer) = oneshot::channel();
    if state.jobs.send(Job { n, reply }).is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "workers stopped").into_response();
    }
    match answer.timeout_with(deadline.0.cancelled_owned()).await {
        Ok(Ok(count)) => count.to_string().into_response(),
        Ok(Err(_)) => (StatusCode::SERVICE_UNAVAILABLE, "workers stopped").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "aborted").into_response(),
    }
}

/// The TCP listener, making a child subsystem of `http` for each connection.
struct ConnListener {
    tcp: TcpListener,
    http: Shutdown,
}

impl Listener for ConnListener {
    type Io = ConnStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (ConnStream, SocketAddr) {
        // axum's own listener logs and retries accept errors.
        let (tcp, peer) = Listener::accept(&mut self.tcp).await;
        let subsystem = self.http.child(format!("conn {peer}"));
        // A request that panics is recorded in the report, and shuts down
        // nothing else (the default would trigger the whole tree).
        subsystem.on_failure(OnFailure::Record);
        (ConnStream { tcp, subsystem }, peer)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// An accepted connection: the socket, and the connection's subsystem, which
/// lives as long as the socket does.
struct ConnStream {
    tcp: TcpStream,
    subsystem: Shutdown,
}

impl AsyncRead for ConnStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// Connection info every request of a connection can extract: the peer and
/// the connection's subsystem.
#[derive(Clone)]
struct Conn {
    peer: SocketAddr,
    subsystem: Shutdown,
}

impl Connected<IncomingStream<'_, ConnListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, ConnListener>) -> Self {
        Conn {
            peer: *stream.remote_addr(),
            subsystem: stream.io().subsystem.clone(),
        }
    }
}
