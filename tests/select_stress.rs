//! Two-thread races on a `Select` and on `recv_or_cancelled`, many rounds:
//! what AddressSanitizer runs (`scripts/asan.sh`, rounds from
//! `RIPCORD_STRESS_ROUNDS`) and plain `cargo test` a few thousand times.
#![cfg(all(feature = "std", not(loom)))]

mod common;

use common::race;
use ripcord::oneshot::{self, Receiver, Sender};
use ripcord::select::Select;
use ripcord::{CancellationToken, promise};

#[test]
fn a_send_races_a_blocked_select_over_a_receiver_and_a_token() {
    race(
        oneshot::channel::<u32>,
        |tx: Sender<u32>| tx.send(1).unwrap(),
        |mut rx: Receiver<u32>| {
            let token = CancellationToken::new();
            {
                let mut sel = Select::new();
                sel.cancelled(&token);
                assert_eq!(sel.recv(&mut rx), 1);
                assert_eq!(sel.wait(), 1);
            }
            assert_eq!(rx.try_recv(), Ok(1));
        },
    );
}

#[test]
fn a_cancel_races_a_task_select_that_is_then_dropped() {
    race(
        || {
            let token = CancellationToken::new();
            (token.clone(), token)
        },
        |token: CancellationToken| token.cancel(),
        |token: CancellationToken| {
            let (resolver, promise) = promise::channel::<u8>();
            let mut sel = Select::new();
            sel.resolved(&promise);
            sel.cancelled(&token);
            let _ = futures::FutureExt::now_or_never(sel.ready());
            drop(resolver);
        },
    );
}

#[test]
fn a_cancel_races_recv_or_cancelled() {
    race(
        || {
            let token = CancellationToken::new();
            let (tx, rx) = oneshot::channel::<u32>();
            (token.clone(), (token, tx, rx))
        },
        |token: CancellationToken| token.cancel(),
        |(token, tx, mut rx)| {
            let err = rx.recv_or_cancelled(&token).unwrap_err();
            assert!(err.is_cancelled());
            tx.send(2).unwrap();
            assert_eq!(rx.try_recv(), Ok(2), "not consumed by the cancelled wait");
        },
    );
}
