//! Shared helpers: fixture copies, running the native binary, expected files.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_agent-tool");

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh copy of `tests/fixtures/tree`, removed when dropped.
pub fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("create a temp dir");
    copy_tree(&crate_dir().join("tests/fixtures/tree"), dir.path());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// Every file under `dir` with its bytes: to compare trees before and after.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                walk(root, &path, out);
            } else {
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// What one run printed and its exit code.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub code: i32,
}

/// Runs the native binary in `dir` with `args` and `stdin`.
pub fn run(dir: &Path, args: &[&str], stdin: &str) -> Outcome {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start agent-tool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Outcome {
        stdout: String::from_utf8(out.stdout).expect("agent-tool prints UTF-8"),
        code: out.status.code().expect("agent-tool exits, not killed"),
    }
}

/// Compares `stdout` with `tests/expected/NAME.json`, or writes that file
/// when `AGENT_TOOL_BLESS=1`.
pub fn check_expected(name: &str, stdout: &str) {
    let path = crate_dir()
        .join("tests/expected")
        .join(format!("{name}.json"));
    if std::env::var_os("AGENT_TOOL_BLESS").is_some_and(|v| v == "1") {
        fs::write(&path, stdout).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with AGENT_TOOL_BLESS=1 to create it",
            path.display()
        )
    });
    assert_eq!(
        stdout,
        expected,
        "{name}: output differs from {} (AGENT_TOOL_BLESS=1 rewrites it)",
        path.display()
    );
}
