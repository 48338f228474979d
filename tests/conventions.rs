//! The source conventions of ARCHITECTURE.md, checked on every test run so
//! that they cannot rot:
//!
//! 1. every atomic operation that is not `Relaxed` (and every fence) has an
//!    `// ORDERING:` comment saying what it publishes or acquires;
//! 2. every `unsafe` block and `unsafe impl` has a `// SAFETY:` comment;
//! 3. only `src/loom.rs` takes synchronization primitives (atomics, mutexes,
//!    condition variables, threads) from `core`/`std`, so `--cfg loom`
//!    reaches everything;
//! 4. every integration test file is picked up by a checker: `loom_*` by the
//!    loom step, everything else by `scripts/miri.sh`; `*_stress` and
//!    `faults_*` also by `scripts/asan.sh`;
//! 5. every clause of README's "Panics and re-entrancy" contract names the
//!    test that pins it, and that test exists.
#![cfg(not(miri))] // reads the source tree; Miri isolates the file system

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<(String, Vec<String>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    assert!(files.len() > 20, "found the sources");
    files
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).unwrap();
            let name = path
                .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                .unwrap()
                .display()
                .to_string();
            (name, text.lines().map(str::to_owned).collect())
        })
        .collect()
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with("//")
}

/// The comment block directly above the statement that contains line `i`
/// (a statement may span several lines), plus line `i` itself.
fn comment_above(lines: &[String], i: usize) -> String {
    let mut start = i;
    while start > 0 {
        let prev = lines[start - 1].trim_end();
        if is_comment(prev) || prev.ends_with(';') || prev.ends_with('{') || prev.ends_with('}') {
            break;
        }
        start -= 1;
    }
    let mut text = lines[i].clone();
    let mut k = start;
    while k > 0 && is_comment(&lines[k - 1]) {
        text.push_str(&lines[k - 1]);
        k -= 1;
    }
    text
}

/// Lines of code (not comments, not `use` lines) matching `pred`, without
/// `marker` in the comment block above.
fn missing(marker: &str, pred: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    for (file, lines) in sources() {
        for (i, line) in lines.iter().enumerate() {
            let code = line.trim_start();
            if is_comment(code) || code.starts_with("use ") || !pred(code) {
                continue;
            }
            if !comment_above(&lines, i).contains(marker) {
                out.push(format!("{file}:{}: {}", i + 1, code));
            }
        }
    }
    out
}

#[test]
fn every_ordered_atomic_operation_says_what_it_publishes() {
    let ordered = |code: &str| {
        ["Acquire", "Release", "AcqRel", "SeqCst"]
            .iter()
            .any(|o| code.contains(&format!("Ordering::{o}")))
            || code.contains("fence(")
    };
    let missing = missing("ORDERING:", ordered);
    assert!(
        missing.is_empty(),
        "no ORDERING comment:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_unsafe_block_says_why_it_is_sound() {
    let unsafe_code = |code: &str| code.contains("unsafe {") || code.starts_with("unsafe impl");
    let missing = missing("SAFETY:", unsafe_code);
    assert!(
        missing.is_empty(),
        "no SAFETY comment:\n{}",
        missing.join("\n")
    );
}

#[test]
fn only_the_loom_shim_takes_synchronization_from_std() {
    // `Arc` is allowed: no state machine depends on its internals.
    let banned = [
        "sync::atomic",
        "sync::Mutex",
        "sync::{",
        "sync::Condvar",
        "sync::OnceLock",
        "thread::park",
        "thread::spawn",
        "thread::Builder",
        "thread::yield_now",
        "thread::current",
    ];
    let mut found = Vec::new();
    for (file, lines) in sources() {
        if file.ends_with("src/loom.rs") {
            continue;
        }
        for (i, line) in lines.iter().enumerate() {
            let code = line.trim_start();
            if is_comment(code) {
                continue;
            }
            let direct = code.contains("std::") || code.contains("core::");
            if direct && banned.iter().any(|b| code.contains(b)) {
                found.push(format!("{file}:{}: {code}", i + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "bypasses src/loom.rs:\n{}",
        found.join("\n")
    );
}

/// Whether a test file compiles only under `--cfg loom`.
fn loom_only(text: &str) -> bool {
    text.lines()
        .any(|l| l.trim() == concat!("#![cfg(", "loom)]"))
}

#[test]
fn only_the_waiting_core_parks_threads() {
    let parking = ["park(", "park_timeout(", "park_until(", "Condvar"];
    let mut found = Vec::new();
    for (file, lines) in sources() {
        if file.contains("src/wait/") || file.ends_with("src/loom.rs") {
            continue;
        }
        for (i, line) in lines.iter().enumerate() {
            if is_comment(line) {
                continue;
            }
            // Waking (`unpark`) is fine anywhere; parking is not.
            let code = line.trim_start().replace("unpark(", "wake(");
            // `crate::wait::park::park_until` is the core's own entry point.
            let through_core = code.contains("wait::park::park_until(");
            if !through_core && parking.iter().any(|p| code.contains(p)) {
                found.push(format!("{file}:{}: {code}", i + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "parks outside src/wait/:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_test_file_reaches_a_checker_by_its_name() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    if !scripts.exists() {
        // A published copy of the crate ships no CI scripts.
        eprintln!("skipped: no scripts/ (not a repository checkout)");
        return;
    }
    let miri = fs::read_to_string(scripts.join("miri.sh")).unwrap();
    let asan = fs::read_to_string(scripts.join("asan.sh")).unwrap();
    // The scripts select by pattern, not by list.
    assert!(miri.contains("for t in tests/*.rs") && miri.contains("loom_*"));
    assert!(asan.contains("tests/*_stress.rs") && asan.contains("tests/faults_*.rs"));
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in &names {
        if name.starts_with("loom_") {
            // The loom step builds them with `--cfg loom`; they must opt in.
            let text = fs::read_to_string(dir.join(format!("{name}.rs"))).unwrap();
            assert!(loom_only(&text), "{name} is not a loom model");
        } else {
            // Everything else runs under Miri (`miri.sh`), and must not be
            // compiled out of the normal build by a loom-only cfg.
            let text = fs::read_to_string(dir.join(format!("{name}.rs"))).unwrap();
            assert!(!loom_only(&text), "{name}: loom-only outside loom_*");
        }
    }
    assert!(names.iter().any(|n| n.ends_with("_stress")));
    assert!(names.iter().any(|n| n.starts_with("faults_")));
}

/// The module path of a source file (`src/cancel/node/mod.rs` → `cancel::node`).
fn module_of(file: &str) -> String {
    let path = file.trim_start_matches('/').trim_start_matches("src/");
    let path = path.trim_end_matches(".rs");
    let path = path.trim_end_matches("/mod").trim_end_matches("lib");
    path.trim_end_matches('/').replace('/', "::")
}

/// The module a `crate::…`/`super::…` path names: its longest prefix that is
/// a module of the crate (the root's re-exports are resolved through `lib.rs`).
fn resolve(
    from: &str,
    path: &str,
    modules: &[String],
    reexports: &[(String, String)],
) -> Option<String> {
    let mut parts: Vec<&str> = path.split("::").collect();
    let mut base: Vec<String> = if parts[0] == "crate" {
        parts.remove(0);
        Vec::new()
    } else {
        from.split("::")
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    };
    while parts.first() == Some(&"super") {
        parts.remove(0);
        base.pop();
    }
    if base.is_empty() && parts.len() == 1 {
        // A root re-export (`crate::CancellationToken`).
        return reexports
            .iter()
            .find(|(name, _)| name == parts[0])
            .map(|(_, module)| module.clone());
    }
    let full: Vec<String> = base
        .into_iter()
        .chain(parts.iter().map(|p| p.to_string()))
        .collect();
    (1..=full.len())
        .rev()
        .map(|k| full[..k].join("::"))
        .find(|candidate| modules.contains(candidate))
}

#[test]
fn no_import_cycles_between_files_or_modules() {
    let sources = sources();
    let modules: Vec<String> = sources.iter().map(|(f, _)| module_of(f)).collect();
    // `pub use cancel::{A, B};` in lib.rs: the root names and their modules.
    let lib = &sources
        .iter()
        .find(|(f, _)| f.ends_with("src/lib.rs"))
        .unwrap()
        .1;
    let mut reexports = Vec::new();
    let lib_text = lib.join("\n");
    for stmt in lib_text.split(';') {
        let Some(rest) = stmt.trim().split("pub use ").nth(1) else {
            continue;
        };
        let (module, names) = rest.split_once("::").unwrap();
        for name in names.replace(['{', '}', '\n'], " ").split(',') {
            let name = name.trim();
            if !name.is_empty() {
                reexports.push((
                    name.rsplit("::").next().unwrap().to_owned(),
                    module.to_owned(),
                ));
            }
        }
    }
    let mut edges: Vec<(String, String)> = Vec::new();
    for (file, lines) in &sources {
        let from = module_of(file);
        for line in lines.iter().filter(|l| !is_comment(l)) {
            let mut rest = line.as_str();
            while let Some(at) = rest.find(['c', 's']) {
                rest = &rest[at..];
                let len = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .unwrap_or(rest.len());
                let path = &rest[..len];
                rest = &rest[len.max(1)..];
                if !(path.starts_with("crate::") || path.starts_with("super::")) {
                    continue;
                }
                let Some(to) = resolve(&from, path.trim_end_matches(':'), &modules, &reexports)
                else {
                    continue;
                };
                // A file may use its own ancestors' items (`super::X` from a
                // child module); that is containment, not an import.
                let ancestor = to.is_empty() || from == to || from.starts_with(&format!("{to}::"));
                if !ancestor && !edges.contains(&(from.clone(), to.clone())) {
                    edges.push((from.clone(), to));
                }
            }
        }
    }
    assert!(
        edges
            .iter()
            .any(|(a, b)| a == "time::ext" && b.starts_with("cancel")),
        "found edges"
    );
    // Cycles among files, and among top-level modules.
    let top = |m: &str| m.split("::").next().unwrap().to_owned();
    let module_edges: Vec<(String, String)> = edges
        .iter()
        .map(|(a, b)| (top(a), top(b)))
        .filter(|(a, b)| a != b)
        .collect();
    for (name, graph) in [("files", &edges), ("modules", &module_edges)] {
        let nodes: Vec<&String> = graph.iter().flat_map(|(a, b)| [a, b]).collect();
        for start in &nodes {
            // Depth-first search for a path back to `start`.
            let mut stack = vec![vec![(*start).clone()]];
            let mut seen: Vec<String> = Vec::new();
            while let Some(path) = stack.pop() {
                let last = path.last().unwrap();
                for (_, next) in graph.iter().filter(|(a, _)| a == last) {
                    assert!(
                        next != *start,
                        "import cycle among {name}: {} -> {next}",
                        path.join(" -> ")
                    );
                    if !seen.contains(next) {
                        seen.push(next.clone());
                        let mut longer = path.clone();
                        longer.push(next.clone());
                        stack.push(longer);
                    }
                }
            }
        }
    }
}

/// Rule 5: README's "Panics and re-entrancy" section lists, per primitive,
/// each clause with the test that pins it as `` `tests/FILE.rs::name` ``;
/// every such test exists (a `fn name(` in that file), and every primitive
/// has clauses.
#[test]
fn every_panic_contract_clause_names_a_test_that_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Ok(readme) = fs::read_to_string(root.join("README.md")) else {
        eprintln!("skipped: no README.md");
        return;
    };
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Panics and re-entrancy"))
        .expect("README has a \"Panics and re-entrancy\" section");
    let mut pinned = 0;
    let mut missing = Vec::new();
    for primitive in ["Oneshot", "Tokens", "Promises", "Select", "Shutdown"] {
        let table = section
            .split("\n### ")
            .find(|s| s.starts_with(primitive))
            .unwrap_or_else(|| panic!("no contract for {primitive}"));
        let rows: Vec<&str> = table.lines().filter(|l| l.contains("`tests/")).collect();
        assert!(rows.len() >= 3, "{primitive}: too few clauses");
        for row in rows {
            for cite in row.split("`tests/").skip(1) {
                let cite = cite.split('`').next().unwrap();
                let (file, name) = cite.split_once("::").expect("FILE.rs::name");
                let text = fs::read_to_string(root.join("tests").join(file))
                    .unwrap_or_else(|_| panic!("{primitive}: no tests/{file}"));
                pinned += 1;
                if !text.contains(&format!("fn {name}(")) {
                    missing.push(format!("tests/{file}::{name}"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "clauses cite missing tests: {missing:?}"
    );
    assert!(pinned >= 25, "only {pinned} clauses are pinned");
}
