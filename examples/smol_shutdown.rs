//! The same graceful shutdown as `graceful_shutdown.rs`, on smol: nothing in
//! `ripcord::shutdown` is tokio-specific.
//!
//! A TCP echo server (smol's async-io sockets) and a blocking worker thread
//! share one `Shutdown`. A signal task (the `async-signal` crate, already
//! part of smol's tree) triggers it on Ctrl-C or SIGTERM; the example also triggers it itself after a
//! short while, so it terminates on its own. One connection runs slow work
//! that ignores the signal and shows up in the straggler report.
//!
//! Run with `cargo run --example smol_shutdown --features async-io`.

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use async_signal::Signal;
use ripcord::CancelReason;
use ripcord::FutureExt as _;
use ripcord::shutdown::{Shutdown, ShutdownGuard};
use ripcord::time::AsyncIoSleeper;
use smol::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use smol::net::{TcpListener, TcpStream};
use smol::stream::StreamExt;

const SLOW_WORK: Duration = Duration::from_millis(1200);

fn main() -> std::io::Result<()> {
    let started = Instant::now();
    let shutdown = Shutdown::new();

    // Signals arrive as a stream; `trigger_with` never blocks on waiters, so
    // calling it from a task (or from a signal-handler thread) is fine.
    let mut signals = async_signal::Signals::new([Signal::Int, Signal::Term])?;
    let on_signal = shutdown.clone();

    let worker_guard = shutdown.guard_named("blocking worker").unwrap();
    let worker = thread::spawn(move || blocking_worker(worker_guard));

    smol::block_on(async {
        smol::spawn(async move {
            if let Some(Ok(signal)) = signals.next().await {
                println!("signal: {signal:?} received");
                on_signal.trigger_with(CancelReason::custom(format!("signal {signal:?}")));
            }
        })
        .detach();

        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        println!("server: listening on {addr}");
        smol::spawn(
            shutdown
                .track(accept_loop(listener, shutdown.clone()))
                .expect("not drained yet"),
        )
        .detach();

        let mut clients = Vec::new();
        for i in 0..2 {
            clients.push(smol::spawn(client(addr, format!("hello from client {i}"))));
        }
        clients.push(smol::spawn(client(addr, "slow".to_string())));

        // Trigger programmatically (the signal task above would do the same
        // on a real signal).
        smol::Timer::after(Duration::from_millis(300)).await;
        println!("main: demo timer fired, triggering shutdown");
        shutdown.trigger_with(CancelReason::custom("demo: self-triggered"));
        println!(
            "main: triggered at {:?}; {} guards alive",
            started.elapsed(),
            shutdown.active_guards()
        );

        match shutdown
            .drained()
            .timeout(&AsyncIoSleeper, Duration::from_millis(300))
            .await
        {
            Ok(()) => println!("main: drained"),
            Err(_elapsed) => {
                let report = shutdown.report();
                println!("main: first deadline passed: {report}");
                match shutdown
                    .drained()
                    .timeout(&AsyncIoSleeper, Duration::from_secs(5))
                    .await
                {
                    Ok(()) => println!("main: drained after the second deadline"),
                    Err(_elapsed) => println!("main: abandoning stragglers: {}", shutdown.report()),
                }
            }
        }
        for c in clients {
            c.await;
        }
        std::io::Result::Ok(())
    })?;

    assert!(shutdown.guard().is_err());
    worker.join().expect("worker panicked");
    println!("main: done in {:?}", started.elapsed());
    Ok(())
}

/// What a race between the shutdown token and some I/O produced.
enum Next<T> {
    Stop,
    Io(T),
}

async fn accept_loop(listener: TcpListener, shutdown: Shutdown) {
    let token = shutdown.token();
    loop {
        let next = smol::future::or(
            async {
                token.cancelled().await;
                Next::Stop
            },
            async { Next::Io(listener.accept().await) },
        )
        .await;
        let (stream, peer) = match next {
            Next::Stop => break,
            Next::Io(Ok(conn)) => conn,
            Next::Io(Err(e)) => {
                println!("server: accept failed: {e}");
                continue;
            }
        };
        match shutdown.guard_named(format!("connection {peer}")) {
            Ok(guard) => {
                println!("server: accepted {peer}");
                smol::spawn(serve(stream, guard)).detach();
            }
            Err(e) => println!("server: refusing {peer}: {e}"),
        }
    }
    println!("server: stopped accepting");
}

async fn serve(stream: TcpStream, guard: ShutdownGuard) {
    let name = guard.name().unwrap_or("connection").to_string();
    let mut writer = stream.clone();
    let mut lines = BufReader::new(stream).lines();
    loop {
        // The `Lines` stream keeps partial input across calls, so dropping
        // the losing `next()` loses nothing.
        let next = smol::future::or(
            async {
                guard.token().cancelled().await;
                Next::Stop
            },
            async { Next::Io(lines.next().await) },
        )
        .await;
        let line = match next {
            Next::Stop => {
                println!("server: {name}: shutting down, closing");
                break;
            }
            Next::Io(Some(Ok(line))) => line,
            Next::Io(_) => break,
        };
        if line == "slow" {
            println!("server: {name}: slow request, {SLOW_WORK:?} of work");
            smol::Timer::after(SLOW_WORK).await;
        }
        if writer
            .write_all(format!("{line}\n").as_bytes())
            .await
            .is_err()
        {
            break;
        }
    }
    // Closing our clone of the socket is not enough: shut the write side.
    let _ = writer.shutdown(std::net::Shutdown::Both);
    println!("server: {name}: done");
}

async fn client(addr: SocketAddr, message: String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(format!("{message}\n").as_bytes())
        .await
        .expect("write");
    let mut lines = BufReader::new(stream).lines();
    match lines.next().await {
        Some(Ok(echo)) => println!("client: got echo {echo:?}"),
        other => println!("client: no echo for {message:?}: {other:?}"),
    }
    while let Some(Ok(_)) = lines.next().await {}
    println!("client: {message:?}: server closed the connection");
}

fn blocking_worker(guard: ShutdownGuard) {
    let mut ticks = 0;
    while guard
        .token()
        .wait_timeout(Duration::from_millis(100))
        .is_err()
    {
        ticks += 1;
    }
    println!("worker: shutdown seen after {ticks} ticks, flushing");
    thread::sleep(Duration::from_millis(50));
    println!("worker: done");
}
