//! A short tour of ripcord. Run it with `cargo run --example tour`.
//!
//! Each part prints what it does; the whole tour finishes in well under a
//! second.

use std::thread;
use std::time::{Duration, Instant};

use ripcord::oneshot::{self, RecvTimeoutError};
use ripcord::time::Sleeper;
use ripcord::{CancelReason, CancellationToken, Elapsed, FutureExt as _, Shutdown};

fn main() {
    println!("ripcord tour\n");
    oneshot_thread_to_task();
    oneshot_task_to_thread();
    oneshot_timeout_then_await();
    oneshot_sender_notices_lost_interest();
    promise_one_value_many_waiters();
    tokens_cancel_a_tree_of_workers();
    select_answer_or_shutdown();
    timeouts_on_any_runtime();
    graceful_shutdown_reports_stragglers();
    shutdown_in_phases_with_a_forced_straggler();
    println!("\ntour finished");
}

/// A worker thread answers an async task.
fn oneshot_thread_to_task() {
    println!("== oneshot: a worker thread answers an async task");
    let (tx, rx) = oneshot::channel();
    let worker = thread::spawn(move || {
        let answer: u64 = (1..=20).product();
        println!("   worker thread: computed 20! = {answer}, sending it");
        tx.send(answer).expect("the task is waiting");
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let got = rt.block_on(rx);
    println!("   async task: received {got:?}");
    worker.join().unwrap();
}

/// An async task answers a blocked thread, which waits with a timeout.
fn oneshot_task_to_thread() {
    println!("== oneshot: an async task answers a blocking thread (with a timeout)");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .unwrap();
    let (tx, mut rx) = oneshot::channel();
    rt.spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = tx.send("hello from a tokio task");
    });
    match rx.recv_timeout(Duration::from_secs(5)) {
        Ok(msg) => println!("   blocking thread: got {msg:?}"),
        Err(RecvTimeoutError::Timeout) => println!("   blocking thread: gave up waiting"),
        Err(RecvTimeoutError::Disconnected) => {
            println!("   blocking thread: the task dropped its sender")
        }
    }
}

/// The same receiver times out while blocking, then is awaited on smol.
fn oneshot_timeout_then_await() {
    println!("== oneshot: time out while blocking, then await the same receiver");
    let (tx, mut rx) = oneshot::channel();
    let start = Instant::now();
    let first = rx.recv_timeout(Duration::from_millis(10));
    println!(
        "   recv_timeout(10ms) -> {first:?} after {} ms",
        start.elapsed().as_millis()
    );
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tx.send(7).unwrap();
    });
    let second = smol::block_on(&mut rx);
    println!(
        "   then awaited on smol -> {second:?}; terminated: {}",
        rx.is_terminated()
    );
}

/// One value, many waiters: a configuration loaded once, awaited by tasks and
/// waited for by threads with a timeout; then a writer that dies.
fn promise_one_value_many_waiters() {
    use ripcord::promise;
    use std::future::IntoFuture;

    println!("== promise: one value for threads and tasks alike");
    let (loader, config) = promise::channel::<String>();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..2)
        .map(|i| {
            let config = config.clone();
            rt.spawn(async move {
                let text = config.await.expect("loaded");
                println!("   task {i}: config is {text:?}");
            })
        })
        .collect();
    let threads: Vec<_> = (0..2)
        .map(|i| {
            let config = config.clone();
            thread::spawn(move || match config.wait_timeout(Duration::from_secs(5)) {
                Ok(text) => println!("   thread {i}: config is {text:?}"),
                Err(err) => println!("   thread {i}: {err}"),
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(10));
    let second_loader = loader.clone();
    loader.resolve("workers = 8".to_string()).unwrap();
    let late = second_loader.resolve("workers = 1".to_string());
    println!("   a second resolve is refused and gets its value back: {late:?}");
    for task in tasks {
        rt.block_on(task).unwrap();
    }
    threads.into_iter().for_each(|t| t.join().unwrap());
    println!("   get() afterwards, one atomic load: {:?}", config.get());

    let (writer, result) = promise::channel::<u32>();
    let waiter = rt.spawn(result.clone().into_future());
    drop(writer); // the computation died without answering
    println!(
        "   when every resolver is gone, waiters hear it instead of hanging: {:?} / {:?}",
        result.wait(),
        rt.block_on(waiter).unwrap()
    );
}

/// A blocked worker waits for the answer or shutdown, whichever comes first,
/// in one call: no polling loop with short timeouts.
fn select_answer_or_shutdown() {
    use ripcord::select::Select;

    println!("== select: a blocked thread waits for the answer, or shutdown, or a deadline");
    let stop = CancellationToken::new();
    let (tx, mut answer) = oneshot::channel::<&str>();
    let slow = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        let _ = tx.send("too late");
    });
    let s = stop.clone();
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        s.cancel_with(CancelReason::custom("shutting down"));
    });
    {
        let mut sel = Select::new();
        let on_stop = sel.cancelled(&stop);
        let on_answer = sel.recv(&mut answer);
        match sel.wait_timeout(Duration::from_secs(5)) {
            Ok(i) if i == on_stop => {
                println!("   worker: stopped first ({})", stop.reason().unwrap())
            }
            Ok(i) if i == on_answer => println!("   worker: got the answer first"),
            Ok(_) => unreachable!(),
            Err(elapsed) => println!("   worker: {elapsed}"),
        }
    }
    slow.join().unwrap();
    // Waiting consumed nothing: the answer that came later is still there.
    println!(
        "   the receiver still holds what came later: {:?}",
        answer.try_recv()
    );
    // The common case in one call.
    let (tx, mut rx) = oneshot::channel::<u32>();
    thread::spawn(move || tx.send(7).unwrap());
    println!(
        "   recv_or_cancelled on a fresh token: {:?}",
        rx.recv_or_cancelled(&CancellationToken::new())
    );
}

/// A worker abandons work once the requester stops caring.
fn oneshot_sender_notices_lost_interest() {
    println!("== oneshot: the sender notices that nobody wants the answer");
    let (mut tx, rx) = oneshot::channel::<String>();
    let worker = thread::spawn(move || {
        for step in 1.. {
            if tx.wait_closed_timeout(Duration::from_millis(5)).is_ok() {
                println!("   worker: receiver gone after {step} steps, abandoning the work");
                return;
            }
        }
    });
    thread::sleep(Duration::from_millis(12));
    drop(rx);
    worker.join().unwrap();
}

/// One token tree stops threads and async tasks on two executors; one branch
/// has a deadline; a callback runs on cancellation.
fn tokens_cancel_a_tree_of_workers() {
    println!(
        "== tokens: cancel a tree of workers (threads and tasks) with a reason and a deadline"
    );
    let root = CancellationToken::new();
    let start = Instant::now();

    let threads: Vec<_> = (0..2)
        .map(|i| {
            let token = root.child_token();
            thread::spawn(move || {
                token.wait(); // parks the thread: no runtime, no spinning
                println!(
                    "   thread worker {i}: stopped ({})",
                    token.reason().unwrap()
                );
            })
        })
        .collect();

    // A request with its own 30 ms deadline, on ripcord's timer thread.
    let request = root.child_token();
    request.cancel_after(Duration::from_millis(30));
    let worker = root.child_token();
    let futures_task = thread::spawn(move || {
        futures::executor::block_on(async {
            let slow_query = std::future::pending::<()>();
            let err = slow_query.with_cancellation(&request).await.unwrap_err();
            println!(
                "   async request: {err} after {} ms",
                start.elapsed().as_millis()
            );
            worker.cancelled().await;
            println!("   async worker: stopped ({})", worker.reason().unwrap());
        });
    });

    let tokio_token = root.child_token();
    let tokio_task = thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async move {
            tokio_token.cancelled().await;
            println!("   tokio task: stopped ({})", tokio_token.reason().unwrap());
        });
    });

    let _callback = root.on_cancel(|reason| println!("   on_cancel: closing sockets ({reason})"));
    thread::sleep(Duration::from_millis(60));
    root.cancel_with(CancelReason::custom("shutting down"));
    for t in threads {
        t.join().unwrap();
    }
    futures_task.join().unwrap();
    tokio_task.join().unwrap();
}

/// Library code that takes the timer as a parameter: the same function runs
/// on tokio's timer and on smol's.
async fn ask(sleeper: &impl Sleeper, answer_after: Option<Duration>) -> Result<u32, Elapsed> {
    let (tx, mut rx) = oneshot::channel();
    if let Some(delay) = answer_after {
        thread::spawn(move || {
            thread::sleep(delay);
            let _ = tx.send(42);
        });
    }
    // Time out a borrow of the receiver: it stays usable afterwards.
    match (&mut rx).timeout(sleeper, Duration::from_millis(30)).await {
        Ok(reply) => Ok(reply.unwrap_or(0)),
        Err(elapsed) => {
            println!(
                "   no answer within 30 ms; receiver still usable: {}",
                !rx.is_terminated()
            );
            Err(elapsed)
        }
    }
}

fn timeouts_on_any_runtime() {
    println!("== timeouts: the same code on tokio's timer and on smol's");
    // Any closure returning a sleep future is a `Sleeper`. (With the `tokio`
    // and `async-io` features, `TokioSleeper` and `AsyncIoSleeper` are
    // ready-made zero-sized ones.)
    let tokio_sleep = |d| tokio::time::sleep(d);
    let smol_sleep = |d| async move {
        smol::Timer::after(d).await;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let fast = Some(Duration::from_millis(5));
    println!(
        "   tokio, fast answer -> {:?}",
        rt.block_on(ask(&tokio_sleep, fast))
    );
    println!(
        "   tokio, no answer   -> {:?}",
        rt.block_on(ask(&tokio_sleep, None))
    );
    println!(
        "   smol,  fast answer -> {:?}",
        smol::block_on(ask(&smol_sleep, fast))
    );
    println!(
        "   smol,  no answer   -> {:?}",
        smol::block_on(ask(&smol_sleep, None))
    );
    // No timer at all: any future can be the deadline, here a stop signal.
    let (stop, stopped) = oneshot::channel::<()>();
    let (_tx, rx) = oneshot::channel::<u32>();
    stop.send(()).unwrap();
    println!(
        "   stop signal        -> {:?}",
        pollster::block_on(rx.timeout_with(stopped))
    );
}

/// Threads and tasks share one `Shutdown`: trigger, drain with a deadline, and
/// hear exactly what is still running.
fn graceful_shutdown_reports_stragglers() {
    println!("== shutdown: trigger, drain with a deadline, report what is still running");
    let shutdown = Shutdown::new();
    let worker = shutdown.guard_named("blocking worker").unwrap();
    let thread = thread::spawn(move || {
        worker.token().wait(); // work until shutdown is triggered...
        println!("   blocking worker: stopping"); // ...then `worker` drops: done
    });
    let token = shutdown.token();
    let task = shutdown
        .track(async move { token.cancelled().await })
        .unwrap();
    let stuck = shutdown.guard_named("stuck upload").unwrap(); // ignores the signal
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let task = tokio::spawn(task);
        shutdown.trigger();
        let sleeper = |d| tokio::time::sleep(d);
        let wait = Duration::from_millis(50);
        if shutdown.drained().timeout(&sleeper, wait).await.is_err() {
            println!("   {}", shutdown.report());
        }
        task.await.unwrap();
    });
    thread.join().unwrap();
    drop(stuck); // the upload finally gives up
    shutdown.wait();
    println!(
        "   drained: {}, new work refused: {}",
        shutdown.is_drained(),
        shutdown.guard().is_err()
    );
}

/// A service shuts down in phases: `http` (with a grace period) first, then
/// `writer`, which flushes only once every request is done. A request that
/// ignores the stop signal is forced when the grace period runs out, and the
/// report names it by its subsystem's path.
fn shutdown_in_phases_with_a_forced_straggler() {
    println!("== shutdown: nested subsystems, ordered phases, a forced straggler");
    let root = Shutdown::new();
    let http = root.child("http");
    let writer = root.child("writer");
    writer.after(&[&http]).unwrap(); // flush only after the requests are done
    http.set_grace(Duration::from_millis(30));
    let conn = http.child("conn 127.0.0.1:5000");

    let slow = conn.guard_named("GET /slow").unwrap();
    let request = thread::spawn(move || {
        slow.hard_token().wait(); // deaf to the soft stop: only the grace period's end stops it
        let reason = slow.hard_token().reason().unwrap();
        println!("   GET /slow: aborted ({reason})");
    });
    let flush = writer.guard_named("flush").unwrap();
    let flusher = thread::spawn(move || {
        flush.token().wait(); // starts once http is drained
        println!("   writer: flushing");
    });

    root.trigger();
    println!("   while draining:");
    for line in root.report().to_string().lines() {
        println!("     {line}");
    }
    request.join().unwrap();
    flusher.join().unwrap();
    root.wait();
    println!("   at the end:");
    for line in root.report().to_string().lines() {
        println!("     {line}");
    }
}
