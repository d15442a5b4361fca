//! What every integration test of `host` needs, written once: where the built
//! components are (so a missing one fails with `make all fixtures` instead of a
//! confusing load error), fresh scratch directories, and running `host test` with
//! its store and JSON in one of them. Each test binary uses a part of it.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The host binary cargo built for these tests.
pub fn host() -> &'static str {
    env!("CARGO_BIN_EXE_host")
}

/// The repository's top directory.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ sits inside the repository")
        .to_path_buf()
}

/// How many seeds the tests that loop over seeds run: 20, or GLOMERS_TEST_SEEDS
/// (`make test-seeds` runs 100). The challenges' own 100-seed bars are checked natively
/// (each challenge's tests, on the real harness) and by `make *-seeds`; here a few
/// seeds show the wasm build agrees.
pub fn test_seeds() -> u64 {
    std::env::var("GLOMERS_TEST_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(20)
}

/// A graded setting, `[grade.NAME]` of challenges/challenges.toml (its one home).
pub fn grade(name: &str) -> toml::Table {
    let path = repo().join("challenges/challenges.toml");
    let text = std::fs::read_to_string(&path).expect("read challenges/challenges.toml");
    let spec: toml::Table = text.parse().expect("challenges/challenges.toml is TOML");
    spec["grade"][name]
        .as_table()
        .unwrap_or_else(|| panic!("no [grade.{name}] in challenges.toml"))
        .clone()
}

/// The guest arguments `[grade.NAME]` is graded with, as words.
pub fn grade_args(name: &str) -> Vec<String> {
    let g = grade(name);
    let args = g.get("args").and_then(|a| a.as_str()).unwrap_or("");
    args.split_whitespace().map(String::from).collect()
}

/// A file of the repository that `make all fixtures` builds, which must be there.
pub fn built(rel: &str) -> PathBuf {
    let p = repo().join(rel);
    assert!(
        p.is_file(),
        "{} is missing: run `make all fixtures` first",
        p.display()
    );
    p
}

/// A .wasm of the repository, as a command-line word.
pub fn wasm(rel: &str) -> String {
    built(rel).display().to_string()
}

/// A fixture's component, by its crate name with underscores.
pub fn fixture(name: &str) -> String {
    wasm(&format!("target/wasm32-wasip2/guest/{name}.wasm"))
}

/// `args` for the host, then `--` and the node's own `guest` arguments if it has any.
pub fn with_guest<'a>(mut args: Vec<&'a str>, guest: &[&'a str]) -> Vec<&'a str> {
    if !guest.is_empty() {
        args.push("--");
        args.extend_from_slice(guest);
    }
    args
}

/// A fresh, empty directory named after `what`, left in place for a person to look at.
pub fn scratch(what: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "glomers-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What a run of `host test` left.
pub struct Outcome {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// The JSON result; null only when the run wrote none (see `test_or_usage_error`).
    pub json: Value,
    /// The summary printed on stdout.
    pub stdout: String,
    /// The harness's log on stderr.
    pub stderr: String,
    /// The scratch directory holding `store/` and `result.json`: removed when the
    /// outcome is dropped, unless the test is failing (then it stays for a person).
    pub dir: PathBuf,
}

/// A test's scratch directory is left only where it can help: when the test failed,
/// or when GLOMERS_KEEP_TEST_RUNS is set. Hundreds of runs would fill a disk.
impl Drop for Outcome {
    fn drop(&mut self) {
        if !std::thread::panicking() && std::env::var_os("GLOMERS_KEEP_TEST_RUNS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Outcome {
    /// The result's `problems`, one a line.
    pub fn problems(&self) -> String {
        self.json["problems"]
            .as_array()
            .map(|p| {
                p.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    pub fn assert_valid(&self) {
        assert_eq!(
            (self.code, &self.json["valid"]),
            (0, &Value::Bool(true)),
            "expected a valid run:\n{}",
            self.stdout
        );
    }

    pub fn assert_invalid(&self) {
        assert_eq!(
            (self.code, &self.json["valid"]),
            (1, &Value::Bool(false)),
            "expected an invalid run:\n{}",
            self.stdout
        );
    }
}

/// Runs `host test ARGS` with the store and the JSON in a scratch directory named
/// after `what`; a run that writes no JSON result fails the test.
pub fn test(what: &str, args: &[&str]) -> Outcome {
    let o = run_test(what, args);
    if o.json.is_null() {
        panic!("{}", no_result(&o));
    }
    o
}

/// As `test`, but a usage error (exit 2, which writes no result) is an outcome too.
pub fn test_or_usage_error(what: &str, args: &[&str]) -> Outcome {
    let o = run_test(what, args);
    if o.json.is_null() && o.code != 2 {
        panic!("{}", no_result(&o));
    }
    o
}

fn no_result(o: &Outcome) -> String {
    format!(
        "no JSON result (exit {})\nstdout:\n{}\nstderr:\n{}",
        o.code, o.stdout, o.stderr
    )
}

fn run_test(what: &str, args: &[&str]) -> Outcome {
    let dir = scratch(what);
    let json = dir.join("result.json");
    // Ours first: after a `--` in `args`, everything is the node's.
    let out = Command::new(host())
        .arg("test")
        .arg("--store")
        .arg(dir.join("store"))
        .arg("--json")
        .arg(&json)
        .args(args)
        .output()
        .expect("run host test");
    let json = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    Outcome {
        code: out.status.code().unwrap_or(-1),
        json,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir,
    }
}

/// A fresh directory under cargo's scratch space, removed when dropped (`tempfile`):
/// for tests whose files are of no use once they pass (`host run` processes and their
/// caches). A path, so `dir.join(..)` reads as for any directory.
pub struct TempDir(tempfile::TempDir);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

/// A fresh, empty `TempDir` named after `name`.
pub fn temp_dir(name: &str) -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("{name}-"))
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a scratch directory under CARGO_TARGET_TMPDIR");
    TempDir(dir)
}
