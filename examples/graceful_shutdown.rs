//! Graceful shutdown of a tokio TCP echo server and a blocking worker thread,
//! with one `ripcord::Shutdown` shared by both.
//!
//! The example drives itself: it starts its own clients (one of them asks for
//! slow work that ignores the shutdown signal), triggers shutdown after a
//! short while (or on Ctrl-C, whichever comes first), stops accepting,
//! drains with a deadline, prints the straggler report, then gives the
//! straggler a second, longer deadline. It finishes in about two seconds.
//!
//! Run with `cargo run --example graceful_shutdown`.

use std::thread;
use std::time::{Duration, Instant};

use ripcord::FutureExt as _;
use ripcord::shutdown::{Shutdown, ShutdownGuard};
use ripcord::{CancelReason, CancellationToken};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How long the slow request takes: longer than the first drain deadline.
const SLOW_WORK: Duration = Duration::from_millis(1200);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::io::Result<()> {
    let started = Instant::now();
    let shutdown = Shutdown::new();

    // 1. A blocking worker thread, counted by a named guard.
    let worker_guard = shutdown.guard_named("blocking worker").unwrap();
    let worker = thread::spawn(move || blocking_worker(worker_guard));

    // 2. The echo server: the accept loop is a tracked task; every accepted
    //    connection holds its own named guard.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("server: listening on {addr}");
    let acceptor = shutdown
        .track(accept_loop(listener, shutdown.clone()))
        .expect("not drained yet");
    tokio::spawn(acceptor);

    // 3. Our own clients: two quick ones that then stay idle, one slow one.
    let mut clients = Vec::new();
    for i in 0..2 {
        clients.push(tokio::spawn(client(addr, format!("hello from client {i}"))));
    }
    clients.push(tokio::spawn(client(addr, "slow".to_string())));

    // 4. Trigger: on Ctrl-C in real life; here after a short while, so the
    //    example terminates by itself (CI sends no signal).
    tokio::select! {
        res = tokio::signal::ctrl_c() => {
            res?;
            println!("main: Ctrl-C received");
            shutdown.trigger_with(CancelReason::custom("Ctrl-C"));
        }
        _ = tokio::time::sleep(Duration::from_millis(300)) => {
            println!("main: demo timer fired, triggering shutdown");
            shutdown.trigger_with(CancelReason::custom("demo: self-triggered"));
        }
    }
    println!(
        "main: triggered at {:?}; {} guards alive",
        started.elapsed(),
        shutdown.active_guards()
    );

    // 5. Drain with a deadline (any runtime's timer works as the sleeper).
    let sleeper = |d| tokio::time::sleep(d);
    match shutdown
        .drained()
        .timeout(&sleeper, Duration::from_millis(300))
        .await
    {
        Ok(()) => println!("main: drained"),
        Err(_elapsed) => {
            let report = shutdown.report();
            println!("main: first deadline passed: {report}");
            for straggler in report.stragglers() {
                println!("main:   still running: {straggler}");
            }
            // Give the stragglers one more, longer chance; a real server
            // would log the report and exit here instead.
            match shutdown
                .drained()
                .timeout(&sleeper, Duration::from_secs(5))
                .await
            {
                Ok(()) => println!("main: drained after the second deadline"),
                Err(_elapsed) => println!("main: abandoning stragglers: {}", shutdown.report()),
            }
        }
    }

    // A drained shutdown accepts no new work.
    assert!(shutdown.guard().is_err());
    for c in clients {
        c.await.expect("client task panicked");
    }
    worker.join().expect("worker panicked");
    println!("main: done in {:?}", started.elapsed());
    Ok(())
}

/// Accepts connections until shutdown is triggered, then drops the listener
/// (new connections are refused from then on).
async fn accept_loop(listener: TcpListener, shutdown: Shutdown) {
    let token: CancellationToken = shutdown.token();
    loop {
        let (stream, peer) = tokio::select! {
            _ = token.cancelled() => break,
            res = listener.accept() => match res {
                Ok(conn) => conn,
                Err(e) => {
                    println!("server: accept failed: {e}");
                    continue;
                }
            },
        };
        // Between the trigger and the end of the drain, guards are still
        // granted; after it, `guard_named` refuses and the connection is
        // closed at once.
        match shutdown.guard_named(format!("connection {peer}")) {
            Ok(guard) => {
                println!("server: accepted {peer}");
                tokio::spawn(serve(stream, guard));
            }
            Err(e) => println!("server: refusing {peer}: {e}"),
        }
    }
    println!("server: stopped accepting");
}

/// Echoes lines until the client leaves or shutdown is triggered. A line
/// reading `slow` starts work that ignores the shutdown signal: that
/// connection becomes the straggler.
async fn serve(stream: TcpStream, guard: ShutdownGuard) {
    let name = guard.name().unwrap_or("connection").to_string();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    loop {
        // `next_line` is cancel-safe, so racing it against the token is fine.
        let line = tokio::select! {
            _ = guard.token().cancelled() => {
                println!("server: {name}: shutting down, closing");
                break;
            }
            line = lines.next_line() => line,
        };
        let Ok(Some(line)) = line else { break };
        if line == "slow" {
            println!("server: {name}: slow request, {SLOW_WORK:?} of work");
            tokio::time::sleep(SLOW_WORK).await;
        }
        if write
            .write_all(format!("{line}\n").as_bytes())
            .await
            .is_err()
        {
            break;
        }
    }
    println!("server: {name}: done");
    // `guard` drops here: this connection is drained.
}

/// Sends one line, prints the echo, then waits until the server closes.
async fn client(addr: std::net::SocketAddr, message: String) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (read, mut write) = stream.into_split();
    write
        .write_all(format!("{message}\n").as_bytes())
        .await
        .expect("write");
    let mut lines = BufReader::new(read).lines();
    match lines.next_line().await {
        Ok(Some(echo)) => println!("client: got echo {echo:?}"),
        other => println!("client: no echo for {message:?}: {other:?}"),
    }
    // Stay connected (idle) until the server closes the connection.
    while let Ok(Some(_)) = lines.next_line().await {}
    println!("client: {message:?}: server closed the connection");
}

/// A blocking loop that does a unit of work per tick until shutdown.
fn blocking_worker(guard: ShutdownGuard) {
    let mut jobs = 0;
    // `wait_timeout` returns `true` once the token is cancelled.
    while guard
        .token()
        .wait_timeout(Duration::from_millis(100))
        .is_err()
    {
        jobs += 1;
    }
    println!("worker: shutdown seen after {jobs} ticks, flushing");
    thread::sleep(Duration::from_millis(50));
    println!("worker: done");
}
