//! Every channel the benchmarks compare, behind one trait.
//!
//! Each peer is driven through the same generic code, with the same value type,
//! the same `black_box` calls and the same (system) allocator, so a difference
//! in the numbers is a difference between the channels. A peer that lacks an
//! operation says so through a `const` and the case is reported as "n/a": no
//! operation is emulated for a peer that does not offer it.

#![allow(clippy::manual_async_fn)] // explicit `+ Send` futures, as the trait declares

use std::future::Future;
use std::time::Duration;

/// What a peer is, for the "÷ best peer" and "÷ best oneshot peer" ratios.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `ripcord::oneshot`, as shipped.
    Ours,
    /// A local variant of ours (e.g. spin before parking); never a peer.
    Variant,
    /// Another oneshot channel.
    Oneshot,
    /// A general bounded(1) channel used as a oneshot.
    Channel,
    /// Another cancellation token.
    Token,
    /// Another promise (a once-filled cell with waiters).
    Promise,
    /// Another graceful-shutdown coordinator (scenario 10).
    Shutdown,
    /// A lower bound that is not a usable peer (e.g. a bare event + flag).
    Floor,
}

impl Kind {
    /// The label used in the CSV/JSON output.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Variant => "variant",
            Kind::Oneshot => "oneshot",
            Kind::Channel => "channel",
            Kind::Token => "token",
            Kind::Promise => "promise",
            Kind::Shutdown => "shutdown",
            Kind::Floor => "floor",
        }
    }
}

/// One channel implementation, used as a oneshot: one value, then done.
pub trait Peer: 'static {
    /// The name printed in tables.
    const NAME: &'static str;
    /// Oneshot or general channel.
    const KIND: Kind;
    /// Has a blocking receive.
    const BLOCKING: bool = true;
    /// Has a blocking receive with a timeout.
    const TIMEOUT: bool = true;
    /// Has an async receive.
    const ASYNC: bool = true;

    /// The sending handle.
    type Tx<T: Send + 'static>: Send + 'static;
    /// The receiving handle.
    type Rx<T: Send + 'static>: Send + 'static;

    /// Creates a channel.
    fn channel<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>);
    /// Sends the one value; `true` if it was accepted.
    fn send<T: Send + 'static>(tx: Self::Tx<T>, value: T) -> bool;
    /// Receives without waiting.
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T>;
    /// Blocks the thread until the value (or disconnection).
    fn recv<T: Send + 'static>(_rx: Self::Rx<T>) -> Option<T> {
        unreachable!("{} has no blocking receive", Self::NAME)
    }
    /// Blocks the thread until the value, disconnection or the timeout.
    fn recv_timeout<T: Send + 'static>(_rx: &mut Self::Rx<T>, _timeout: Duration) -> Option<T> {
        unreachable!("{} has no receive timeout", Self::NAME)
    }
    /// Awaits the value.
    fn recv_async<T: Send + 'static>(_rx: Self::Rx<T>) -> impl Future<Output = Option<T>> + Send {
        async { unreachable!("{} has no async receive", Self::NAME) }
    }
}

/// `ripcord::oneshot`.
pub struct Ripcord;
impl Peer for Ripcord {
    const NAME: &'static str = "ripcord";
    const KIND: Kind = Kind::Ours;
    type Tx<T: Send + 'static> = ripcord::oneshot::Sender<T>;
    type Rx<T: Send + 'static> = ripcord::oneshot::Receiver<T>;
    #[inline]
    fn channel<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        ripcord::oneshot::channel()
    }
    #[inline]
    fn send<T: Send + 'static>(tx: Self::Tx<T>, value: T) -> bool {
        tx.send(value).is_ok()
    }
    #[inline]
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.try_recv().ok()
    }
    #[inline]
    fn recv<T: Send + 'static>(rx: Self::Rx<T>) -> Option<T> {
        rx.recv().ok()
    }
    #[inline]
    fn recv_timeout<T: Send + 'static>(rx: &mut Self::Rx<T>, timeout: Duration) -> Option<T> {
        rx.recv_timeout(timeout).ok()
    }
    #[inline]
    fn recv_async<T: Send + 'static>(rx: Self::Rx<T>) -> impl Future<Output = Option<T>> + Send {
        async move { rx.await.ok() }
    }
}

/// The `oneshot` crate (0.2, features std + async).
pub struct OneshotCrate;
impl Peer for OneshotCrate {
    const NAME: &'static str = "oneshot 0.2";
    const KIND: Kind = Kind::Oneshot;
    type Tx<T: Send + 'static> = oneshot::Sender<T>;
    type Rx<T: Send + 'static> = oneshot::Receiver<T>;
    #[inline]
    fn channel<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        oneshot::channel()
    }
    #[inline]
    fn send<T: Send + 'static>(tx: Self::Tx<T>, value: T) -> bool {
        tx.send(value).is_ok()
    }
    #[inline]
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.try_recv().ok()
    }
    #[inline]
    fn recv<T: Send + 'static>(rx: Self::Rx<T>) -> Option<T> {
        rx.recv().ok()
    }
    #[inline]
    fn recv_timeout<T: Send + 'static>(rx: &mut Self::Rx<T>, timeout: Duration) -> Option<T> {
        rx.recv_timeout(timeout).ok()
    }
    #[inline]
    fn recv_async<T: Send + 'static>(rx: Self::Rx<T>) -> impl Future<Output = Option<T>> + Send {
        async move { rx.await.ok() }
    }
}

/// `tokio::sync::oneshot`.
pub struct Tokio;
impl Peer for Tokio {
    const NAME: &'static str = "tokio oneshot";
    const KIND: Kind = Kind::Oneshot;
    const TIMEOUT: bool = false;
    type Tx<T: Send + 'static> = tokio::sync::oneshot::Sender<T>;
    type Rx<T: Send + 'static> = tokio::sync::oneshot::Receiver<T>;
    #[inline]
    fn channel<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        tokio::sync::oneshot::channel()
    }
    #[inline]
    fn send<T: Send + 'static>(tx: Self::Tx<T>, value: T) -> bool {
        tx.send(value).is_ok()
    }
    #[inline]
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.try_recv().ok()
    }
    #[inline]
    fn recv<T: Send + 'static>(rx: Self::Rx<T>) -> Option<T> {
        rx.blocking_recv().ok()
    }
    #[inline]
    fn recv_async<T: Send + 'static>(rx: Self::Rx<T>) -> impl Future<Output = Option<T>> + Send {
        async move { rx.await.ok() }
    }
}

/// `futures_channel::oneshot` (no blocking receive, no timeout).
pub struct FuturesChannel;
impl Peer for FuturesChannel {
    const NAME: &'static str = "futures oneshot";
    const KIND: Kind = Kind::Oneshot;
    const BLOCKING: bool = false;
    const TIMEOUT: bool = false;
    type Tx<T: Send + 'static> = futures_channel::oneshot::Sender<T>;
    type Rx<T: Send + 'static> = futures_channel::oneshot::Receiver<T>;
    #[inline]
    fn channel<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        futures_channel::oneshot::channel()
    }
    #[inline]
    fn send<T: Send + 'static>(tx: Self::Tx<T>, value: T) -> bool {
        tx.send(value).is_ok()
    }
    #[inline]
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.try_recv().ok().flatten()
    }
    #[inline]
    fn recv_async<T: Send + 'static>(rx: Self::Rx<T>) -> impl Future<Output = Option<T>> + Send {
        async move { rx.await.ok() }
    }
}

/// `crossbeam_channel::bounded(1)` (no async receive).
pub struct Crossbeam;
impl Peer for Crossbeam {
    const NAME: &'static str = "crossbeam bounded(1)";
    const KIND: Kind = Kind::Channel;
    const ASYNC: bool = false;
    type Tx<T: Send + 'static> = crossbeam_channel::Sender<T>;
    type Rx<T: Send + 'static> = crossbeam_channel::Receiver<T>;
    #[inline]
    fn channel<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        crossbeam_channel::bounded(1)
    }
    #[inline]
    fn send<T: Send + 'static>(tx: Self::Tx<T>, value: T) -> bool {
        tx.send(value).is_ok()
    }
    #[inline]
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.try_recv().ok()
    }
    #[inline]
    fn recv<T: Send + 'static>(rx: Self::Rx<T>) -> Option<T> {
        rx.recv().ok()
    }
    #[inline]
    fn recv_timeout<T: Send + 'static>(rx: &mut Self::Rx<T>, timeout: Duration) -> Option<T> {
        rx.recv_timeout(timeout).ok()
    }
}

/// `flume::bounded(1)`.
pub struct Flume;
impl Peer for Flume {
    const NAME: &'static str = "flume bounded(1)";
    const KIND: Kind = Kind::Channel;
    type Tx<T: Send + 'static> = flume::Sender<T>;
    type Rx<T: Send + 'static> = flume::Receiver<T>;
    #[inline]
    fn channel<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        flume::bounded(1)
    }
    #[inline]
    fn send<T: Send + 'static>(tx: Self::Tx<T>, value: T) -> bool {
        tx.send(value).is_ok()
    }
    #[inline]
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.try_recv().ok()
    }
    #[inline]
    fn recv<T: Send + 'static>(rx: Self::Rx<T>) -> Option<T> {
        rx.recv().ok()
    }
    #[inline]
    fn recv_timeout<T: Send + 'static>(rx: &mut Self::Rx<T>, timeout: Duration) -> Option<T> {
        rx.recv_timeout(timeout).ok()
    }
    #[inline]
    fn recv_async<T: Send + 'static>(rx: Self::Rx<T>) -> impl Future<Output = Option<T>> + Send {
        async move { rx.into_recv_async().await.ok() }
    }
}

/// `kanal::bounded(1)`.
pub struct Kanal;
impl Peer for Kanal {
    const NAME: &'static str = "kanal bounded(1)";
    const KIND: Kind = Kind::Channel;
    type Tx<T: Send + 'static> = kanal::Sender<T>;
    type Rx<T: Send + 'static> = kanal::Receiver<T>;
    #[inline]
    fn channel<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        kanal::bounded(1)
    }
    #[inline]
    fn send<T: Send + 'static>(tx: Self::Tx<T>, value: T) -> bool {
        tx.send(value).is_ok()
    }
    #[inline]
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.try_recv().ok().flatten()
    }
    #[inline]
    fn recv<T: Send + 'static>(rx: Self::Rx<T>) -> Option<T> {
        rx.recv().ok()
    }
    #[inline]
    fn recv_timeout<T: Send + 'static>(rx: &mut Self::Rx<T>, timeout: Duration) -> Option<T> {
        rx.recv_timeout(timeout).ok()
    }
    #[inline]
    fn recv_async<T: Send + 'static>(rx: Self::Rx<T>) -> impl Future<Output = Option<T>> + Send {
        async move { rx.to_async().recv().await.ok() }
    }
}

/// `std::sync::mpsc::sync_channel(1)` (no async receive).
pub struct StdMpsc;
impl Peer for StdMpsc {
    const NAME: &'static str = "std sync_channel(1)";
    const KIND: Kind = Kind::Channel;
    const ASYNC: bool = false;
    type Tx<T: Send + 'static> = std::sync::mpsc::SyncSender<T>;
    type Rx<T: Send + 'static> = std::sync::mpsc::Receiver<T>;
    #[inline]
    fn channel<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        std::sync::mpsc::sync_channel(1)
    }
    #[inline]
    fn send<T: Send + 'static>(tx: Self::Tx<T>, value: T) -> bool {
        tx.send(value).is_ok()
    }
    #[inline]
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.try_recv().ok()
    }
    #[inline]
    fn recv<T: Send + 'static>(rx: Self::Rx<T>) -> Option<T> {
        rx.recv().ok()
    }
    #[inline]
    fn recv_timeout<T: Send + 'static>(rx: &mut Self::Rx<T>, timeout: Duration) -> Option<T> {
        rx.recv_timeout(timeout).ok()
    }
}

/// Calls `$f::<Peer>($args)` for every peer, in table order, collecting into a `Vec`.
macro_rules! for_each_peer {
    ($f:ident ( $($arg:expr),* )) => {
        vec![
            $f::<crate::support::peers::Ripcord>($($arg),*),
            $f::<crate::support::peers::OneshotCrate>($($arg),*),
            $f::<crate::support::peers::Tokio>($($arg),*),
            $f::<crate::support::peers::FuturesChannel>($($arg),*),
            $f::<crate::support::peers::Crossbeam>($($arg),*),
            $f::<crate::support::peers::Flume>($($arg),*),
            $f::<crate::support::peers::Kanal>($($arg),*),
            $f::<crate::support::peers::StdMpsc>($($arg),*),
        ]
    };
}
pub(crate) use for_each_peer;
