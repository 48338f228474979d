//! Fault injection for the `faults_*` tests: wakers that panic (or run code)
//! when woken, cloned or dropped, values whose `Drop` panics, a counting
//! global allocator, and runners that turn a deadlock or a lost wake-up into a
//! test failure instead of a hung CI job.
//!
//! Each `faults_*.rs` file is its own test binary and includes this module
//! once, so each gets its own counting allocator (declared here). Tests in a
//! file hold [`serial`] so that the allocator's numbers are not disturbed by
//! the other tests of that binary (and the shared timer thread is not busy
//! with another test's callbacks).
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Injected panics
// ---------------------------------------------------------------------------

/// The payload of every panic a test injects on purpose; anything else is a
/// real failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Injected(pub &'static str);

/// Panics with an [`Injected`] payload, unless this thread is already
/// unwinding (a second panic would abort the whole test binary; then the
/// injection is skipped and counted in [`skipped_injections`]).
pub fn inject(what: &'static str) {
    quiet_injected_panics();
    if thread::panicking() {
        SKIPPED.fetch_add(1, Ordering::SeqCst);
        return;
    }
    std::panic::panic_any(Injected(what));
}

static SKIPPED: AtomicUsize = AtomicUsize::new(0);

/// How many injections were skipped because the thread was already unwinding.
pub fn skipped_injections() -> usize {
    SKIPPED.load(Ordering::SeqCst)
}

/// Installs (once) a panic hook that keeps injected panics out of the test
/// output; every other panic is reported by the previous hook as usual.
pub fn quiet_injected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Injected>().is_none() {
                previous(info);
            }
        }));
    });
}

/// The injected panic a `catch_unwind` caught. A missing panic fails the test;
/// a panic that was not injected is resumed, so a real bug shows as itself.
#[track_caller]
pub fn expect_injected<T>(result: thread::Result<T>, what: &str) -> &'static str {
    match result {
        Ok(_) => {
            panic!("{what}: expected the injected panic to reach the caller, it returned normally")
        }
        Err(payload) => match payload.downcast_ref::<Injected>() {
            Some(Injected(name)) => name,
            None => std::panic::resume_unwind(payload),
        },
    }
}

/// Runs `f`, catching an injected panic (and only that): `Some(name)` if one
/// reached us, `None` if `f` returned. For operations where the contract lets
/// the panic either reach the caller or be swallowed.
pub fn catch_injected(f: impl FnOnce()) -> Option<&'static str> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(()) => None,
        Err(payload) => match payload.downcast_ref::<Injected>() {
            Some(Injected(name)) => Some(name),
            None => std::panic::resume_unwind(payload),
        },
    }
}

/// `catch_unwind` without the `UnwindSafe` ceremony.
pub fn catch<T>(f: impl FnOnce() -> T) -> thread::Result<T> {
    quiet_injected_panics();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
}

// ---------------------------------------------------------------------------
// User code that panics even while its thread is already unwinding
// ---------------------------------------------------------------------------

/// A waker whose wake panics even on a thread that is already unwinding
/// (where [`Faults`] skip their injection), to check that the library, not
/// the user, keeps that second panic from aborting.
pub struct WakePanicsWhileUnwinding(pub AtomicUsize);

impl std::task::Wake for WakePanicsWhileUnwinding {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
        std::panic::panic_any(Injected("wake while unwinding"));
    }
}

/// A value whose `Drop` panics even on a thread that is already unwinding.
pub struct DropPanicsWhileUnwinding(pub Arc<AtomicUsize>);

impl Drop for DropPanicsWhileUnwinding {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        std::panic::panic_any(Injected("value drop while unwinding"));
    }
}

/// Drops `value` while this thread unwinds from a panic of its own; returns
/// the name of the panic that reached the caller (which must be that one).
pub fn drop_while_unwinding<V>(value: V) -> &'static str {
    let unwound = catch(move || {
        let _dropped_while_unwinding = value;
        std::panic::panic_any(Injected("the unwinding panic"));
    });
    expect_injected(unwound, "a panic unwinding past a handle")
}

// ---------------------------------------------------------------------------
// Values whose Drop counts, checks or panics
// ---------------------------------------------------------------------------

/// A value that counts its drops and, if armed, panics (injected) in `Drop`.
#[derive(Debug)]
pub struct Bomb {
    drops: Arc<AtomicUsize>,
    armed: bool,
    what: &'static str,
}

impl Bomb {
    /// A bomb whose `Drop` panics with `Injected(what)`.
    pub fn armed(drops: &Arc<AtomicUsize>, what: &'static str) -> Self {
        quiet_injected_panics();
        Bomb {
            drops: drops.clone(),
            armed: true,
            what,
        }
    }

    /// A bomb that only counts its drop.
    pub fn dud(drops: &Arc<AtomicUsize>) -> Self {
        Bomb {
            drops: drops.clone(),
            armed: false,
            what: "dud",
        }
    }
}

impl Drop for Bomb {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.armed {
            inject(self.what);
        }
    }
}

impl std::fmt::Display for Bomb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bomb {}", self.what)
    }
}

/// A value that runs `check` in its `Drop` (to observe state from inside user
/// code that the library runs).
pub struct OnDrop(Option<Box<dyn FnOnce() + Send + Sync>>);

impl OnDrop {
    pub fn new(check: impl FnOnce() + Send + Sync + 'static) -> Self {
        OnDrop(Some(Box::new(check)))
    }
}

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(check) = self.0.take() {
            check();
        }
    }
}

impl std::fmt::Debug for OnDrop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnDrop")
    }
}

impl std::fmt::Display for OnDrop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("on-drop check")
    }
}

// ---------------------------------------------------------------------------
// Fault wakers
// ---------------------------------------------------------------------------

type Hook = Arc<dyn Fn() + Send + Sync>;

/// The shared state behind every clone of a fault waker: counters, armed
/// faults (each a number of panics still to inject) and an optional hook that
/// runs inside every wake (by value or by reference) before any armed panic.
#[derive(Default)]
pub struct Faults {
    made: AtomicUsize,
    drops: AtomicUsize,
    wakes: AtomicUsize,
    panic_on_wake: AtomicUsize,
    panic_on_clone: AtomicUsize,
    panic_on_drop: AtomicUsize,
    /// Clones (drops) that pass before an armed clone (drop) panic.
    skip_clones: AtomicUsize,
    skip_drops: AtomicUsize,
    hook: Mutex<Option<Hook>>,
}

impl Faults {
    pub fn new() -> Arc<Self> {
        quiet_injected_panics();
        Arc::new(Faults::default())
    }

    /// A new waker for this state (counted in [`live`](Faults::live)).
    pub fn waker(self: &Arc<Self>) -> Waker {
        self.made.fetch_add(1, Ordering::SeqCst);
        let data = Arc::into_raw(self.clone()).cast::<()>();
        // SAFETY: the vtable functions below treat `data` as one strong count
        // of an `Arc<Faults>`, which `into_raw` just gave us.
        unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
    }

    /// The next `n` wakes panic.
    pub fn panic_on_wake(&self, n: usize) -> &Self {
        self.panic_on_wake.store(n, Ordering::SeqCst);
        self
    }

    /// The next `n` clones panic.
    pub fn panic_on_clone(&self, n: usize) -> &Self {
        self.panic_on_clone.store(n, Ordering::SeqCst);
        self
    }

    /// The next `n` drops (including the drop that ends a wake by value) panic.
    pub fn panic_on_drop(&self, n: usize) -> &Self {
        self.panic_on_drop.store(n, Ordering::SeqCst);
        self
    }

    /// The `skip + 1`-th clone from now panics, once (the clone at position
    /// `skip` of a set that registers its members in order).
    pub fn panic_on_clone_after(&self, skip: usize) -> &Self {
        self.skip_clones.store(skip, Ordering::SeqCst);
        self.panic_on_clone(1)
    }

    /// The `skip + 1`-th drop from now panics, once.
    pub fn panic_on_drop_after(&self, skip: usize) -> &Self {
        self.skip_drops.store(skip, Ordering::SeqCst);
        self.panic_on_drop(1)
    }

    /// No more injected panics (call before dropping the test's own waker).
    pub fn disarm(&self) {
        self.skip_clones.store(0, Ordering::SeqCst);
        self.skip_drops.store(0, Ordering::SeqCst);
        self.panic_on_wake.store(0, Ordering::SeqCst);
        self.panic_on_clone.store(0, Ordering::SeqCst);
        self.panic_on_drop.store(0, Ordering::SeqCst);
    }

    /// Runs `hook` inside every wake, before an armed panic.
    pub fn on_wake(&self, hook: impl Fn() + Send + Sync + 'static) -> &Self {
        *self.hook.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(hook));
        self
    }

    /// Removes the hook (breaking any reference cycle through it).
    pub fn clear_hook(&self) {
        let hook = self
            .hook
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(hook);
    }

    /// Wake-ups so far (by value and by reference).
    pub fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }

    /// Wakers of this state still alive (made or cloned, minus dropped or
    /// consumed by a wake).
    pub fn live(&self) -> usize {
        self.made.load(Ordering::SeqCst) - self.drops.load(Ordering::SeqCst)
    }

    /// Whether this clone (drop) is to panic: one is armed, and no skip is
    /// left to pass first.
    fn take_armed(armed: &AtomicUsize, skip: &AtomicUsize) -> bool {
        armed.load(Ordering::SeqCst) > 0 && !Self::take_one(skip) && Self::take_one(armed)
    }

    fn take_one(counter: &AtomicUsize) -> bool {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    fn run_wake(&self) {
        let hook = self
            .hook
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(hook) = hook {
            hook();
        }
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(vt_clone, vt_wake, vt_wake_by_ref, vt_drop);

/// Borrows the `Faults` behind `data` without touching its count.
///
/// # Safety
/// `data` came from `Faults::waker` or `vt_clone` and its count is not released.
unsafe fn faults<'a>(data: *const ()) -> &'a Faults {
    // SAFETY: see above.
    unsafe { &*data.cast::<Faults>() }
}

unsafe fn vt_clone(data: *const ()) -> RawWaker {
    // SAFETY: a live waker's data.
    let f = unsafe { faults(data) };
    if Faults::take_armed(&f.panic_on_clone, &f.skip_clones) {
        inject("waker clone");
    }
    f.made.fetch_add(1, Ordering::SeqCst);
    // SAFETY: one more strong count for the new waker.
    unsafe { Arc::increment_strong_count(data.cast::<Faults>()) };
    RawWaker::new(data, &VTABLE)
}

unsafe fn vt_wake(data: *const ()) {
    // SAFETY: this waker's count, released when `arc` drops (also on unwind).
    let arc = unsafe { Arc::from_raw(data.cast::<Faults>()) };
    arc.drops.fetch_add(1, Ordering::SeqCst);
    arc.run_wake();
    let panic_wake = Faults::take_one(&arc.panic_on_wake);
    let panic_drop = !panic_wake && Faults::take_armed(&arc.panic_on_drop, &arc.skip_drops);
    drop(arc);
    if panic_wake {
        inject("waker wake");
    } else if panic_drop {
        inject("waker drop");
    }
}

unsafe fn vt_wake_by_ref(data: *const ()) {
    // SAFETY: a live waker's data.
    let f = unsafe { faults(data) };
    f.run_wake();
    if Faults::take_one(&f.panic_on_wake) {
        inject("waker wake");
    }
}

unsafe fn vt_drop(data: *const ()) {
    // SAFETY: this waker's count.
    let arc = unsafe { Arc::from_raw(data.cast::<Faults>()) };
    arc.drops.fetch_add(1, Ordering::SeqCst);
    let panic_drop = Faults::take_armed(&arc.panic_on_drop, &arc.skip_drops);
    drop(arc);
    if panic_drop {
        inject("waker drop");
    }
}

/// Polls `fut` once with `waker`.
pub fn poll_with<F: Future + ?Sized>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

/// A shared slot holding a boxed future, so that a waker can take and drop the
/// very future it was registered by.
pub type Slot<O> = Arc<Mutex<Option<Pin<Box<dyn Future<Output = O> + Send>>>>>;

pub fn slot<O>(fut: impl Future<Output = O> + Send + 'static) -> Slot<O> {
    Arc::new(Mutex::new(Some(Box::pin(fut))))
}

/// Polls the future in `slot` once (the lock is not held afterwards).
/// `None` if the slot is empty.
pub fn poll_slot<O>(slot: &Slot<O>, waker: &Waker) -> Option<Poll<O>> {
    let mut guard = slot.lock().unwrap_or_else(PoisonError::into_inner);
    let fut = guard.as_mut()?;
    Some(poll_with(fut.as_mut(), waker))
}

/// Takes the future out of `slot` and drops it (outside the slot's lock).
pub fn drop_slot<O>(slot: &Slot<O>) {
    let fut = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
    drop(fut);
}

// ---------------------------------------------------------------------------
// Threads and deadlines
// ---------------------------------------------------------------------------

/// Generous limit for something that should happen "promptly".
pub const PROMPT: Duration = Duration::from_secs(10);
/// How long a blocked waiter would sleep if nobody woke it.
pub const LONG_WAIT: Duration = Duration::from_secs(30);
/// Limit for a whole scenario run on a helper thread.
pub const SCENARIO_LIMIT: Duration = Duration::from_secs(20);

/// Runs `f` on a helper thread and returns its result. A deadlock (no result
/// within [`SCENARIO_LIMIT`]) fails the test instead of hanging it; a panic
/// in `f` (a failed assertion) is resumed here.
#[track_caller]
pub fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    within_limit(what, SCENARIO_LIMIT, f)
}

#[track_caller]
pub fn within_limit<T: Send + 'static>(
    what: &str,
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    quiet_injected_panics();
    let (tx, rx) = mpsc::channel();
    let handle = thread::Builder::new()
        .name(format!("scenario: {what}"))
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(result);
        })
        .expect("spawn scenario thread");
    match rx.recv_timeout(limit) {
        Ok(Ok(value)) => {
            let _ = handle.join();
            value
        }
        Ok(Err(payload)) => {
            let _ = handle.join();
            std::panic::resume_unwind(payload)
        }
        Err(_) => panic!("{what}: did not finish within {limit:?} (deadlock or lost wake-up)"),
    }
}

/// A thread blocked in some waiting call, e.g. `token.wait_timeout(30 s)`.
pub struct Blocked<T> {
    what: String,
    result: mpsc::Receiver<(T, Duration)>,
}

impl<T: Send + 'static> Blocked<T> {
    /// Starts `wait` on a new thread and gives it time to block. (If it has
    /// not blocked yet when the test acts, it simply finds the event already
    /// there: the test cannot fail because of that, only check less.)
    pub fn start(what: &str, wait: impl FnOnce() -> T + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        thread::Builder::new()
            .name(format!("blocked: {what}"))
            .spawn(move || {
                let _ = ready_tx.send(());
                let start = Instant::now();
                let value = wait();
                let _ = tx.send((value, start.elapsed()));
            })
            .expect("spawn blocked thread");
        ready_rx.recv().expect("blocked thread started");
        thread::sleep(Duration::from_millis(100));
        Blocked {
            what: what.to_owned(),
            result: rx,
        }
    }

    /// Its result, which must come within [`PROMPT`].
    #[track_caller]
    pub fn finish(self) -> T {
        match self.result.recv_timeout(PROMPT) {
            Ok((value, took)) => {
                assert!(took < PROMPT, "{}: returned only after {took:?}", self.what);
                value
            }
            Err(_) => panic!(
                "{}: still blocked {PROMPT:?} later (its wake-up was lost)",
                self.what
            ),
        }
    }
}

/// Environment variable that tells a child process which test (and part) to run.
const CHILD_ENV: &str = "RIPCORD_FAULTS_CHILD";

/// How long a test's own process may run before it counts as hung.
pub const PROCESS_LIMIT: Duration = Duration::from_secs(180);

/// Runs the calling test's `body` in a process of its own (this test binary,
/// re-run with `--exact <test>`): a fault that aborts the process (a panic in
/// a destructor during unwinding, a double panic inside the library) then
/// fails only this test, with the child's output, instead of killing every
/// test of the binary. The test is named after the calling thread (libtest
/// names each test's thread after the test).
#[track_caller]
pub fn isolated(body: impl FnOnce()) {
    isolated_part(None, body)
}

/// Like [`isolated`], for one named part of a test (a test that runs several
/// scenarios, each in its own process). In the child, parts other than the
/// selected one do nothing.
#[track_caller]
pub fn isolated_part(part: Option<&str>, body: impl FnOnce()) {
    quiet_injected_panics();
    let current = thread::current();
    let test = current
        .name()
        .expect("called from a test's thread")
        .to_owned();
    let key = match part {
        Some(part) => format!("{test}/{part}"),
        None => test.clone(),
    };
    if let Some(selected) = std::env::var_os(CHILD_ENV) {
        if selected.to_str() == Some(key.as_str()) {
            body();
        }
        return;
    }
    let _serial = part.is_none().then(serial);
    if cfg!(miri) {
        // Miri cannot spawn processes (and reports an abort itself).
        body();
        return;
    }
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = std::process::Command::new(exe)
        .args([
            test.as_str(),
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(CHILD_ENV, &key)
        .env("RUST_BACKTRACE", "0")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the test's own process");
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    use std::io::Read as _;
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the test's process") {
            break Some(status);
        }
        if start.elapsed() > PROCESS_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let ran = stdout.contains("1 passed") || stdout.contains("1 failed");
    match status {
        Some(status) if status.success() && ran => {}
        Some(status) if status.success() => {
            panic!(
                "{key}: the child process ran no test (is the test name {test:?} right?)\n{stdout}"
            )
        }
        Some(status) => panic!(
            "{key}: failed in its own process ({}):\n{}",
            describe(status),
            tail(&format!("{stderr}{stdout}"), 6000)
        ),
        None => panic!(
            "{key}: its process still ran after {PROCESS_LIMIT:?} and was killed (deadlock):\n{}",
            tail(&format!("{stderr}{stdout}"), 6000)
        ),
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(signal) = status.signal() {
            return format!(
                "killed by signal {signal}{}",
                if signal == 6 {
                    " (SIGABRT: the process aborted, e.g. a panic in a destructor during unwinding)"
                } else {
                    ""
                }
            );
        }
    }
    format!("{status}")
}

fn tail(text: &str, max: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            let l = l.trim();
            !l.is_empty()
                && !l.starts_with("running ")
                && !l.starts_with("note: ")
                && !l.starts_with("failures:")
                && !l.starts_with("stack backtrace:")
                && !l.starts_with("---- ")
                && !l.ends_with("--- FAILED")
                && !l.starts_with("test result:")
        })
        .collect();
    let joined = lines.join("\n");
    if joined.len() <= max {
        joined
    } else {
        let mut cut = joined.len() - max;
        while !joined.is_char_boundary(cut) {
            cut += 1;
        }
        format!("...{}", &joined[cut..])
    }
}

/// Polls `cond` until it holds or [`PROMPT`] passes.
pub fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() > PROMPT {
            return false;
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// Serializes the tests of one binary (see the module docs).
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    quiet_injected_panics();
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------
// Counting allocator
// ---------------------------------------------------------------------------

/// Forwards to `System`, counting live allocations and bytes (process-wide).
pub struct CountingAlloc {
    allocs: AtomicIsize,
    bytes: AtomicIsize,
}

// SAFETY: forwards every call to `System` unchanged; only counts.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            self.allocs.fetch_add(1, Ordering::Relaxed);
            self.bytes
                .fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            self.allocs.fetch_add(1, Ordering::Relaxed);
            self.bytes
                .fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.allocs.fetch_sub(1, Ordering::Relaxed);
        self.bytes
            .fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            self.bytes.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        new
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc {
    allocs: AtomicIsize::new(0),
    bytes: AtomicIsize::new(0),
};

/// Live allocations in the whole process.
pub fn live_allocs() -> isize {
    ALLOC.allocs.load(Ordering::SeqCst)
}

/// Live bytes in the whole process.
pub fn live_bytes() -> isize {
    ALLOC.bytes.load(Ordering::SeqCst)
}

/// Allocations that other threads (the test harness reporting a finished
/// test, a helper thread being torn down) may hold for a moment.
const NOISE_ALLOCS: isize = 4;

/// Lets transient allocations of other threads settle.
fn settle() {
    thread::sleep(Duration::from_millis(30));
}

/// Runs `scenario` twice to warm up (lazy statics, the timer thread, thread
/// locals), takes a baseline, runs it `rounds` more times and asserts that
/// the live allocation count comes back to the baseline: a leak of even one
/// allocation per round shows as `rounds` allocations.
#[track_caller]
pub fn assert_no_leak(what: &str, rounds: usize, scenario: impl FnMut()) {
    if let Err(leak) = measure_leak(what, rounds, scenario) {
        panic!("{leak}");
    }
}

/// The measurement behind [`assert_no_leak`]: `Err` describes the leak.
pub fn measure_leak(what: &str, rounds: usize, mut scenario: impl FnMut()) -> Result<(), String> {
    let rounds = if cfg!(miri) { rounds.min(10) } else { rounds };
    assert!(
        rounds as isize > 2 * NOISE_ALLOCS,
        "too few rounds to see a leak"
    );
    scenario();
    scenario();
    settle();
    let base_allocs = live_allocs();
    let base_bytes = live_bytes();
    for _ in 0..rounds {
        scenario();
    }
    let start = Instant::now();
    loop {
        let grown = live_allocs() - base_allocs;
        if grown <= NOISE_ALLOCS {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(3) {
            return Err(format!(
                "{what}: {grown} allocations ({} bytes) more are live after {rounds} rounds \
                 than before them: about {:.1} per round leaked",
                live_bytes() - base_bytes,
                grown as f64 / rounds as f64
            ));
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Runs [`measure_leak`] on each named scenario, each in a process of its own
/// (see [`isolated_part`]), and fails listing every leak. A scenario that
/// fails its own assertions, or aborts, is not measured (its own test reports
/// that failure), so this test fails only for leaks.
#[track_caller]
pub fn assert_no_leaks(rounds: usize, scenarios: &[(&str, fn())]) {
    let _serial = std::env::var_os(CHILD_ENV).is_none().then(serial);
    let mut leaks = Vec::new();
    for &(name, scenario) in scenarios {
        let measured = catch(|| {
            isolated_part(Some(name), || {
                if let Err(payload) = catch(|| within(name, scenario)) {
                    eprintln!(
                        "memory: {name:?} not measured: it fails its own assertions: {}",
                        describe_payload(&payload)
                    );
                    return;
                }
                if let Err(leak) = measure_leak(name, rounds, scenario) {
                    panic!("LEAK: {leak}");
                }
            })
        });
        if let Err(payload) = measured {
            let message = describe_payload(&payload);
            if message.contains("LEAK: ") {
                leaks.push(message);
            } else {
                eprintln!("memory: {name:?} not measured: {message}");
            }
        }
    }
    assert!(leaks.is_empty(), "leaks:\n{}", leaks.join("\n"));
}

/// A panic payload as text.
pub fn describe_payload(payload: &Payload) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(injected) = payload.downcast_ref::<Injected>() {
        format!("{injected:?}")
    } else {
        "(non-string panic payload)".to_owned()
    }
}

/// Live bytes once transient allocations of other threads settled (the
/// smallest of a few samples).
pub fn settled_bytes() -> isize {
    settle();
    (0..5)
        .map(|_| {
            thread::sleep(Duration::from_millis(5));
            live_bytes()
        })
        .min()
        .unwrap_or(0)
}

/// A payload kept for a moment, so tests can say what a `catch_unwind` held.
pub type Payload = Box<dyn Any + Send>;
