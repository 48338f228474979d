//! Feature `signal`: a real SIGTERM triggers shutdown, a second one forces
//! it. One test per process (the handler is process-wide), so this file holds
//! exactly one.
#![cfg(all(feature = "signal", unix, not(loom)))]
#![cfg(not(miri))] // real signals

use std::process::Command;
use std::time::Duration;

use ripcord::shutdown::{Shutdown, SubsystemStatus};

fn send(signal: &str) {
    let status = Command::new("kill")
        .args([signal, &std::process::id().to_string()])
        .status()
        .expect("the kill command");
    assert!(status.success());
}

#[test]
fn a_first_signal_triggers_and_a_second_forces_then_a_second_handler_is_refused() {
    let root = Shutdown::new();
    let http = root.child("http");
    let request = http.guard_named("GET /slow").unwrap();
    root.trigger_on_signals().unwrap();
    assert!(
        root.trigger_on_signals().is_err(),
        "one handler per process"
    );

    send("-TERM");
    request
        .token()
        .wait_timeout(Duration::from_secs(10))
        .expect("SIGTERM triggered the shutdown");
    assert_eq!(request.token().reason().unwrap().to_string(), "signal");
    assert!(!request.hard_token().is_cancelled());

    send("-INT");
    request
        .hard_token()
        .wait_timeout(Duration::from_secs(10))
        .expect("the second signal forced it");
    let report = root.report();
    assert_eq!(report.subsystems()[1].status(), SubsystemStatus::Stuck);
    drop(request);
    root.wait_timeout(Duration::from_secs(10)).unwrap();
}
