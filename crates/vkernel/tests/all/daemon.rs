//! The daemon through its socket: every message of the protocol, its error
//! cases, peer credentials, streaming, and the gate as a client sees it.
//! Programs run through the daemon are compared with the same programs under
//! plain wasmtime-wasi.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use base64::Engine as _;
use recompiler_oci::Rootfs;
use recompiler_testkit::{RunOptions, run_alone};
use recompiler_vkernel::client::Client;
use recompiler_vkernel::engine::EngineLimits;
use recompiler_vkernel::server::{self, Config, Daemon};
use serde_json::{Value, json};

use crate::bundles::{self, meta};

/// The daemon's test bundle: the usual programs and one that misbehaves on request.
pub const PROGRAMS: &[(&str, &str)] = &[
    ("/usr/bin/stdio_filter", "stdio_filter"),
    ("/usr/bin/files_args", "files_args"),
    ("/usr/bin/bigdata", "bigdata"),
    ("/usr/bin/rust_echo", "rust_echo"),
    ("/usr/bin/misbehave", "misbehave"),
];

/// A daemon serving on a socket in a temporary directory.
pub struct TestDaemon {
    pub tmp: tempfile::TempDir,
    pub socket: PathBuf,
    pub bundle_dir: PathBuf,
    pub daemon: Arc<Daemon>,
    pub trusted: recompiler_manifest::sign::VerifyingKey,
}

/// The daemon configuration of the tests: small pools (tests run in parallel).
pub fn test_config(state: PathBuf, trusted: recompiler_manifest::sign::VerifyingKey) -> Config {
    let mut config = Config::new(state, vec![trusted]);
    config.engine = EngineLimits {
        max_instances: 64,
        total_memories: 512,
        max_memory_bytes: 64 << 20,
        epoch_tick: Duration::from_millis(5),
        ..EngineLimits::default()
    };
    config
}

/// Writes the daemon's test bundle into `dir`.
pub fn write_bundle(dir: &Path, key: &recompiler_manifest::sign::SigningKey) {
    let mut rootfs = Rootfs::new();
    rootfs
        .insert_file(
            "/workspace/readme.txt",
            b"hello from the image\n".to_vec(),
            meta(0o644),
        )
        .unwrap();
    rootfs
        .insert_file(
            "/usr/bin/hello.sh",
            b"#!/bin/sh\necho hi\n".to_vec(),
            meta(0o755),
        )
        .unwrap();
    bundles::write_programs(dir, key, PROGRAMS, rootfs);
}

impl TestDaemon {
    /// Starts a daemon allowing `allow_uids` (the test's own uid if empty) on a
    /// socket of mode `mode`.
    pub fn start_with(allow_uids: &[u32], mode: u32) -> TestDaemon {
        let tmp = tempfile::tempdir().unwrap();
        let key = recompiler_manifest::sign::generate_signing_key().unwrap();
        let bundle_dir = tmp.path().join("bundle");
        std::fs::create_dir_all(&bundle_dir).unwrap();
        write_bundle(&bundle_dir, &key);
        let mut config = test_config(tmp.path().join("state"), key.verifying_key());
        if !allow_uids.is_empty() {
            config.allow_uids = allow_uids.to_vec();
        }
        let daemon = Daemon::new(config).unwrap();
        let socket = tmp.path().join("vkernel.sock");
        let listener = server::bind(&socket, mode).unwrap();
        let d = Arc::clone(&daemon);
        std::thread::spawn(move || server::serve(d, listener, Arc::new(AtomicBool::new(false))));
        TestDaemon {
            tmp,
            socket,
            bundle_dir,
            daemon,
            trusted: key.verifying_key(),
        }
    }

    pub fn start() -> TestDaemon {
        TestDaemon::start_with(&[], 0o600)
    }

    pub fn client(&self) -> Client {
        Client::connect(&self.socket).unwrap()
    }

    /// Loads the bundle and creates a container; returns its id.
    pub fn container(&self, client: &mut Client) -> String {
        let v = ok(client
            .call(&json!({"type": "bundle.load", "path": self.bundle_dir}))
            .unwrap());
        assert!(v["bundle"].as_str().unwrap().starts_with("b-"), "{v}");
        let v = ok(client.call(&json!({"type": "container.create"})).unwrap());
        v["cid"].as_str().unwrap().to_string()
    }
}

/// Asserts an ok reply and returns it.
pub fn ok(v: Value) -> Value {
    assert_eq!(v["status"], "ok", "{v}");
    v
}

/// The error code of an error reply.
fn err_code(v: &Value) -> &str {
    assert_eq!(v["status"], "error", "{v}");
    v["error"]["code"].as_str().unwrap()
}

pub fn b64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap_or_default())
        .unwrap()
}

pub fn enc(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A run through the socket, as (stdout, stderr, exit code).
fn run(
    client: &mut Client,
    cid: &str,
    path: &str,
    argv: &[&str],
    stdin: &[u8],
) -> (Vec<u8>, Vec<u8>, i64) {
    let v = ok(client
        .call(&json!({"type": "run", "cid": cid, "path": path, "argv": argv, "stdin": enc(stdin)}))
        .unwrap());
    (
        b64(&v["stdout"]),
        b64(&v["stderr"]),
        v["exit_code"].as_i64().unwrap(),
    )
}

#[test]
fn the_three_program_container_runs_through_the_daemon() {
    let d = TestDaemon::start();
    let mut c = d.client();
    let hello = ok(c.call(&json!({"type": "hello"})).unwrap());
    assert_eq!(hello["protocol"], 1);
    let cid = d.container(&mut c);

    // Each program by path, compared with plain wasmtime-wasi.
    let cases: &[(&str, &[&str], &[u8])] = &[
        ("/usr/bin/stdio_filter", &["stdio_filter"], b"one\ntwo\n"),
        ("/usr/bin/stdio_filter", &["stdio_filter"], b"x\nfail\n"),
        ("/usr/bin/bigdata", &["bigdata", "a", "b"], b""),
        (
            "/usr/bin/rust_echo",
            &["rust_echo", "x y", "--exit", "5"],
            b"abc\n",
        ),
    ];
    for (path, argv, stdin) in cases {
        let guest = path.rsplit('/').next().unwrap();
        let expected = run_alone(
            &recompiler_testkit::guests::wasm(guest),
            &RunOptions::new(argv.iter().copied()).stdin(stdin.to_vec()),
        )
        .unwrap();
        let (stdout, stderr, code) = run(&mut c, &cid, path, argv, stdin);
        assert_eq!(stdout, expected.stdout, "{path} {argv:?} stdout");
        assert_eq!(stderr, expected.stderr, "{path} {argv:?} stderr");
        assert_eq!(Some(code as i32), expected.exit_code(), "{path} {argv:?}");
    }
    // files_args writes, renames, lists and removes files in the container.
    let (stdout, stderr, code) = run(
        &mut c,
        &cid,
        "/usr/bin/files_args",
        &["files_args", "/workspace", "note.txt", "kept"],
        b"",
    );
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&stderr));
    assert!(
        String::from_utf8_lossy(&stdout).contains("kept\nsecond line\n"),
        "{}",
        String::from_utf8_lossy(&stdout)
    );

    // A pipeline of two of them, connected by a kernel pipe.
    let v = ok(c
        .call(
            &json!({"type": "pipeline", "cid": cid, "stdin_text": "abc\n", "stages": [
                {"path": "/usr/bin/rust_echo", "argv": ["rust_echo", "piped"]},
                {"path": "/usr/bin/stdio_filter"},
            ]}),
        )
        .unwrap());
    let echo = run_alone(
        &recompiler_testkit::guests::wasm("rust_echo"),
        &RunOptions::new(["rust_echo", "piped"]).stdin("abc\n"),
    )
    .unwrap();
    let filter = run_alone(
        &recompiler_testkit::guests::wasm("stdio_filter"),
        &RunOptions::new(["stdio_filter"]).stdin(echo.stdout.clone()),
    )
    .unwrap();
    assert_eq!(b64(&v["stdout"]), filter.stdout, "{v}");
    assert_eq!(v["stages"].as_array().unwrap().len(), 2);
    assert_eq!(
        Some(v["exit_code"].as_i64().unwrap() as i32),
        filter.exit_code()
    );

    let stats = ok(c.call(&json!({"type": "stats"})).unwrap());
    assert!(stats["execs"].as_u64().unwrap() >= 7, "{stats}");
    assert_eq!(stats["processes"], 0, "{stats}");
}

#[test]
fn the_plans_exec_request_is_answered_as_written() {
    let d = TestDaemon::start();
    let mut c = d.client();
    let cid = d.container(&mut c);
    let wasm = recompiler_testkit::guests::wasm("rust_echo");
    let sha = recompiler_manifest::Digests::of(&wasm).sha256;
    // Exactly the plan's message, without a container.
    let v = c
        .call(
            &json!({"type": "exec", "path": "/usr/bin/rust_echo", "hash": format!("sha256:{sha}")}),
        )
        .unwrap();
    assert_eq!(v["status"], "ok", "{v}");
    assert_eq!(v["entry_point"], "_start");
    // In a container: the file there is hashed too.
    let v = ok(c
        .call(&json!({"type": "exec", "path": "/usr/bin/rust_echo", "hash": format!("sha256:{sha}"), "cid": cid}))
        .unwrap());
    assert_eq!(v["cid"], cid.as_str());
    // A hash that is not the manifest's, an unlisted path, a script.
    let wrong = format!("sha256:{}", "0".repeat(64));
    for (path, hash, kind) in [
        ("/usr/bin/rust_echo", wrong.as_str(), "hash_mismatch"),
        ("/usr/bin/nope", wrong.as_str(), "not_listed"),
    ] {
        let v = c
            .call(&json!({"type": "exec", "path": path, "hash": hash}))
            .unwrap();
        assert_eq!(v["status"], "denied", "{v}");
        assert_eq!(v["kind"], kind, "{v}");
        assert!(v["reason"].as_str().unwrap().contains(path), "{v}");
    }
    let v = c
        .call(&json!({"type": "exec", "path": "/usr/bin/hello.sh", "cid": cid}))
        .unwrap();
    assert_eq!(v["status"], "denied", "{v}");
    // Missing hash without a container; malformed hash.
    assert_eq!(
        err_code(
            &c.call(&json!({"type": "exec", "path": "/usr/bin/rust_echo"}))
                .unwrap()
        ),
        "missing_field"
    );
    assert_eq!(
        err_code(
            &c.call(&json!({"type": "exec", "path": "/x", "hash": "md5:1"}))
                .unwrap()
        ),
        "bad_request"
    );
    // A missing file in the container: an exec error naming ENOENT.
    let v = c
        .call(&json!({"type": "exec", "path": "/nowhere", "cid": cid}))
        .unwrap();
    assert_eq!(err_code(&v), "exec");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("ENOENT"),
        "{v}"
    );
}

#[test]
fn malformed_requests_get_errors_and_the_connection_stays_up() {
    let d = TestDaemon::start();
    let mut c = d.client();
    let cases: &[(&[u8], &str)] = &[
        (b"{not json\n", "bad_json"),
        (b"[1,2]\n", "bad_json"),
        (b"{\"path\":\"/x\"}\n", "missing_field"),
        (b"{\"type\":\"launch\"}\n", "unknown_type"),
        (b"{\"type\":\"run\",\"cid\":\"c\"}\n", "missing_field"),
        (
            b"{\"type\":\"run\",\"cid\":1,\"path\":\"/x\"}\n",
            "bad_request",
        ),
        (b"{\"type\":\"health\",\"v\":99}\n", "unsupported_version"),
        (
            b"{\"type\":\"run\",\"cid\":\"nope\",\"path\":\"/x\"}\n",
            "not_found",
        ),
        (
            b"{\"type\":\"container.delete\",\"cid\":\"nope\"}\n",
            "not_found",
        ),
        (b"{\"type\":\"container.create\"}\n", "not_found"),
        (
            b"{\"type\":\"bundle.load\",\"path\":\"/nonexistent\"}\n",
            "bundle",
        ),
        (b"{\"type\":\"stdin\",\"text\":\"x\"}\n", "bad_request"),
        (
            b"{\"type\":\"session.run\",\"cid\":\"nope\",\"command\":\"ls\"}\n",
            "not_found",
        ),
        (
            b"{\"type\":\"session.close\",\"cid\":\"nope\"}\n",
            "not_found",
        ),
        (b"{\"type\":\"kill\"}\n", "bad_request"),
        (b"\xff\xfe\n", "bad_json"),
    ];
    for (line, code) in cases {
        c.send_raw(line).unwrap();
        let v = c.recv().unwrap();
        assert_eq!(err_code(&v), *code, "{}", String::from_utf8_lossy(line));
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    }
    // An id is echoed even on failure.
    c.send_raw(b"{\"type\":\"launch\",\"id\":42}\n").unwrap();
    assert_eq!(c.recv().unwrap()["id"], 42);
    // Oversized: 17 MiB in one line, then the connection still answers.
    let mut big = b"{\"type\":\"health\",\"pad\":\"".to_vec();
    big.resize(17 << 20, b'a');
    big.extend_from_slice(b"\"}\n");
    c.send_raw(&big).unwrap();
    assert_eq!(err_code(&c.recv().unwrap()), "too_large");
    // Blank lines are ignored; the connection and daemon are fine.
    c.send_raw(b"\n\n").unwrap();
    ok(c.call(&json!({"type": "health"})).unwrap());
    // A client that goes away mid-line does not disturb the others.
    let mut gone = d.client();
    gone.send_raw(b"{\"type\":\"hea").unwrap();
    drop(gone);
    ok(d.client().call(&json!({"type": "health"})).unwrap());
}

/// The session requests' failures (a session's commands run in the builder's agent
/// test, where the image has bash).
#[test]
fn session_requests_fail_clearly_without_a_shell() {
    let d = TestDaemon::start();
    let mut c = d.client();
    let cid = d.container(&mut c);
    let v = c
        .call(&json!({"type": "session.open", "cid": cid, "shell": "/bin/no-such-shell"}))
        .unwrap();
    assert_eq!(err_code(&v), "exec", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/bin/no-such-shell"),
        "{v}"
    );
    let v = c
        .call(&json!({"type": "session.close", "cid": cid}))
        .unwrap();
    assert_eq!(err_code(&v), "not_found", "{v}");
    // No session was left behind; the daemon answers.
    let v = ok(c.call(&json!({"type": "container.list"})).unwrap());
    assert_eq!(v["containers"][0]["session"], Value::Null, "{v}");
}

#[test]
fn containers_are_created_listed_and_deleted_with_their_layer() {
    let d = TestDaemon::start();
    let mut c = d.client();
    let first = d.container(&mut c);
    ok(c.call(&json!({"type": "container.create", "cid": "mine"}))
        .unwrap());
    assert_eq!(
        err_code(
            &c.call(&json!({"type": "container.create", "cid": "mine"}))
                .unwrap()
        ),
        "bad_request"
    );
    assert_eq!(
        err_code(
            &c.call(&json!({"type": "container.create", "cid": "../x"}))
                .unwrap()
        ),
        "bad_request"
    );
    let list = ok(c.call(&json!({"type": "container.list"})).unwrap());
    let cids: Vec<&str> = list["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cid"].as_str().unwrap())
        .collect();
    assert_eq!(cids.len(), 2, "{list}");
    assert!(cids.contains(&"mine") && cids.contains(&first.as_str()));
    let bundles = ok(c.call(&json!({"type": "bundle.list"})).unwrap());
    assert_eq!(bundles["bundles"].as_array().unwrap().len(), 1);
    assert!(bundles["bundles"][0]["programs"].as_array().unwrap().len() >= 5);

    // A file written in "mine" is not in the other container, and goes with "mine".
    let call = |c: &mut Client, cid: &str, name: &str, args: Value| {
        c.call(&json!({"type": "syscall", "cid": cid, "name": name, "args": args}))
            .unwrap()
    };
    let fd = ok(call(
        &mut c,
        "mine",
        "openat",
        json!(["AT_FDCWD", "/workspace/new.txt", "O_WRONLY|O_CREAT", 420]),
    ))["ret"]
        .clone();
    ok(call(&mut c, "mine", "write", json!([fd, enc(b"data")])));
    ok(call(
        &mut c,
        "mine",
        "newfstatat",
        json!(["AT_FDCWD", "/workspace/new.txt"]),
    ));
    let v = call(
        &mut c,
        &first,
        "newfstatat",
        json!(["AT_FDCWD", "/workspace/new.txt"]),
    );
    assert!(
        v["error"]["message"].as_str().unwrap().contains("ENOENT"),
        "{v}"
    );
    ok(c.call(&json!({"type": "container.delete", "cid": "mine"}))
        .unwrap());
    ok(c.call(&json!({"type": "container.create", "cid": "mine"}))
        .unwrap());
    let v = call(
        &mut c,
        "mine",
        "newfstatat",
        json!(["AT_FDCWD", "/workspace/new.txt"]),
    );
    assert!(
        v["error"]["message"].as_str().unwrap().contains("ENOENT"),
        "{v}"
    );
}

#[test]
fn the_syscall_rpc_covers_the_file_calls_with_linux_errnos() {
    let d = TestDaemon::start();
    let mut c = d.client();
    let cid = d.container(&mut c);
    let mut call = |name: &str, args: Value| {
        c.call(&json!({"type": "syscall", "cid": cid, "name": name, "args": args}))
            .unwrap()
    };
    let errno = |v: &Value| -> String {
        assert_eq!(v["error"]["code"], "errno", "{v}");
        v["error"]["message"]
            .as_str()
            .unwrap()
            .split(": ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .to_string()
    };
    // fds 0-2 are taken: the first open is 3, as in a fresh process.
    let fd = ok(call("openat", json!([-100, "/workspace/readme.txt", 0])))["ret"]
        .as_i64()
        .unwrap();
    assert_eq!(fd, 3);
    let v = ok(call("read", json!([fd, 5])));
    assert_eq!(b64(&v["data"]), b"hello");
    assert_eq!(ok(call("lseek", json!([fd, -6, "SEEK_END"])))["ret"], 15);
    assert_eq!(b64(&ok(call("read", json!([fd, 100])))["data"]), b"image\n");
    assert_eq!(b64(&ok(call("pread", json!([fd, 4, 6])))["data"]), b"from");
    let st = ok(call("fstat", json!([fd])));
    assert_eq!(st["stat"]["st_size"], 21);
    assert_eq!(st["stat"]["st_mode"].as_u64().unwrap() & 0o170000, 0o100000);
    assert_eq!(errno(&call("write", json!([fd, enc(b"x")]))), "EBADF");
    ok(call("close", json!([fd])));
    assert_eq!(errno(&call("close", json!([fd]))), "EBADF");

    // Writing: a new file through the image's directory (copy-on-write).
    ok(call(
        "mkdirat",
        json!(["AT_FDCWD", "/workspace/dir", 0o755]),
    ));
    assert_eq!(
        errno(&call(
            "mkdirat",
            json!(["AT_FDCWD", "/workspace/dir", 0o755])
        )),
        "EEXIST"
    );
    let fd = ok(call(
        "openat",
        json!([
            "AT_FDCWD",
            "/workspace/dir/f",
            "O_RDWR|O_CREAT|O_EXCL",
            0o644
        ]),
    ))["ret"]
        .clone();
    assert_eq!(
        ok(call("write", json!([fd, enc(b"0123456789")])))["ret"],
        10
    );
    assert_eq!(ok(call("pwrite", json!([fd, enc(b"AB"), 2])))["ret"], 2);
    assert_eq!(
        b64(&ok(call("pread", json!([fd, 10, 0])))["data"]),
        b"01AB456789"
    );
    ok(call("ftruncate", json!([fd, 4])));
    ok(call("close", json!([fd])));
    let st = ok(call("newfstatat", json!(["AT_FDCWD", "/workspace/dir/f"])));
    assert_eq!(st["stat"]["st_size"], 4);
    assert_eq!(st["stat"]["st_mode"].as_u64().unwrap() & 0o777, 0o644);
    ok(call(
        "symlinkat",
        json!(["dir/f", "AT_FDCWD", "/workspace/link"]),
    ));
    assert_eq!(
        ok(call("readlinkat", json!(["AT_FDCWD", "/workspace/link"])))["target"],
        "dir/f"
    );
    assert_eq!(
        errno(&call("readlinkat", json!(["AT_FDCWD", "/workspace/dir/f"]))),
        "EINVAL"
    );
    let st = ok(call(
        "newfstatat",
        json!(["AT_FDCWD", "/workspace/link", "AT_SYMLINK_NOFOLLOW"]),
    ));
    assert_eq!(st["stat"]["st_mode"].as_u64().unwrap() & 0o170000, 0o120000);
    ok(call(
        "renameat",
        json!(["AT_FDCWD", "/workspace/dir/f", "AT_FDCWD", "/workspace/g"]),
    ));
    assert_eq!(
        errno(&call("newfstatat", json!(["AT_FDCWD", "/workspace/link"]))),
        "ENOENT"
    );

    // Listing: getdents64 with a buffer size, entries as JSON.
    let dfd = ok(call(
        "openat",
        json!(["AT_FDCWD", "/workspace", "O_RDONLY|O_DIRECTORY"]),
    ))["ret"]
        .clone();
    assert_eq!(errno(&call("getdents64", json!([dfd, 8]))), "EINVAL");
    let v = ok(call("getdents64", json!([dfd, 4096])));
    let mut names: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [".", "..", "dir", "g", "link", "readme.txt"]);
    assert_eq!(ok(call("getdents64", json!([dfd, 4096])))["ret"], 0);
    ok(call("close", json!([dfd])));

    // Removal with Linux's rules.
    assert_eq!(
        errno(&call("unlinkat", json!(["AT_FDCWD", "/workspace/dir"]))),
        "EISDIR"
    );
    ok(call(
        "unlinkat",
        json!(["AT_FDCWD", "/workspace/dir", "AT_REMOVEDIR"]),
    ));
    ok(call("unlinkat", json!(["AT_FDCWD", "/workspace/link"])));
    assert_eq!(
        errno(&call("unlinkat", json!(["AT_FDCWD", "/workspace/link"]))),
        "ENOENT"
    );
    assert_eq!(
        errno(&call("openat", json!(["AT_FDCWD", "/nope/x", 0]))),
        "ENOENT"
    );
    assert_eq!(
        errno(&call(
            "openat",
            json!(["AT_FDCWD", "/workspace/readme.txt/x", 0])
        )),
        "ENOTDIR"
    );
    assert_eq!(errno(&call("read", json!([99, 1]))), "EBADF");
    assert_eq!(ok(call("getcwd", json!([])))["cwd"], "/");
    ok(call("chdir", json!(["/workspace"])));
    assert!(ok(call("openat", json!(["AT_FDCWD", "g", 0])))["ret"].is_number());

    // Malformed calls are request errors, not errnos.
    for (name, args) in [
        ("openat", json!([])),
        ("openat", json!(["AT_FDCWD", 5, 0])),
        ("openat", json!(["AT_FDCWD", "/x", "O_BOGUS"])),
        ("write", json!([3, "not base64!"])),
        ("read", json!([3, -1])),
        ("fork", json!([])),
    ] {
        let v = call(name, args);
        assert_eq!(v["error"]["code"], "bad_request", "{name}: {v}");
    }
}

#[test]
fn files_written_in_the_container_are_denied_by_the_gate() {
    let d = TestDaemon::start();
    let mut c = d.client();
    let cid = d.container(&mut c);
    // Copy a listed program's bytes to a new path and make it executable.
    let wasm = recompiler_testkit::guests::wasm("rust_echo");
    let fd = ok(c
        .call(&json!({"type": "syscall", "cid": cid, "name": "openat", "args": ["AT_FDCWD", "/tmp-echo", "O_WRONLY|O_CREAT", 0o755]}))
        .unwrap())["ret"]
        .clone();
    ok(
        c.call(&json!({"type": "syscall", "cid": cid, "name": "write", "args": [fd, enc(&wasm)]}))
            .unwrap(),
    );
    for path in ["/tmp-echo", "/usr/bin/hello.sh"] {
        let v = c
            .call(&json!({"type": "run", "cid": cid, "path": path}))
            .unwrap();
        assert_eq!(v["status"], "denied", "{v}");
        assert!(v["reason"].as_str().unwrap().contains(path), "{v}");
    }
    // Overwrite a listed binary in place (same size): denied, with both hashes named.
    let fd = ok(c
        .call(&json!({"type": "syscall", "cid": cid, "name": "openat", "args": ["AT_FDCWD", "/usr/bin/rust_echo", "O_WRONLY"]}))
        .unwrap())["ret"]
        .clone();
    ok(c.call(
        &json!({"type": "syscall", "cid": cid, "name": "pwrite", "args": [fd, enc(b"\0"), 100]}),
    )
    .unwrap());
    let v = c
        .call(&json!({"type": "run", "cid": cid, "path": "/usr/bin/rust_echo"}))
        .unwrap();
    assert_eq!(v["status"], "denied", "{v}");
    assert_eq!(v["kind"], "hash_mismatch", "{v}");
    let stats = ok(c.call(&json!({"type": "stats"})).unwrap());
    assert_eq!(stats["denied"], 3, "{stats}");
}

#[test]
fn streaming_runs_forward_stdin_and_output_and_can_be_killed() {
    let d = TestDaemon::start();
    let mut c = d.client();
    let cid = d.container(&mut c);
    c.send(&json!({"type": "run", "id": "r1", "cid": cid, "path": "/usr/bin/stdio_filter", "stream": true, "stdin_open": true, "stdin_text": "one\n"}))
        .unwrap();
    let started = c.recv().unwrap();
    assert_eq!(started["event"], "started", "{started}");
    assert_eq!(started["id"], "r1");
    // While it runs, other requests are refused as busy; stdin is accepted.
    assert_eq!(
        err_code(&c.call(&json!({"type": "health"})).unwrap()),
        "busy"
    );
    // Replies to `stdin` (matched by id) interleave with the run's events and
    // may even follow its final reply.
    c.send(&json!({"type": "stdin", "id": "in1", "text": "two\n"}))
        .unwrap();
    c.send(&json!({"type": "stdin", "id": "in2", "eof": true}))
        .unwrap();
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut acks = Vec::new();
    let mut end = Value::Null;
    while end.is_null() || acks.len() < 2 {
        let v = c.recv().unwrap();
        match (v["event"].as_str(), v["id"].as_str()) {
            (Some("stdout"), _) => stdout.extend(b64(&v["data"])),
            (Some("stderr"), _) => stderr.extend(b64(&v["data"])),
            (Some(other), _) => panic!("event {other}"),
            (None, Some("in1" | "in2")) => acks.push(ok(v)["written"].clone()),
            (None, _) => end = v,
        }
    }
    assert_eq!(acks, [json!(4), json!(0)]);
    assert_eq!(end["status"], "ok", "{end}");
    assert_eq!(end["id"], "r1");
    assert_eq!(end["exit_code"], 2);
    assert_eq!(String::from_utf8(stdout).unwrap(), "   1: ONE\n   2: TWO\n");
    assert_eq!(String::from_utf8(stderr).unwrap(), "lines=2 bytes=8\n");
    // The connection is usable again.
    ok(c.call(&json!({"type": "health"})).unwrap());

    // A guest looping without calling the host is killed on request.
    c.send(&json!({"type": "run", "cid": cid, "path": "/usr/bin/misbehave", "argv": ["misbehave", "spin"], "stream": true}))
        .unwrap();
    assert_eq!(c.recv().unwrap()["event"], "started");
    c.send(&json!({"type": "kill", "id": "k"})).unwrap();
    let (mut killed, mut end) = (Value::Null, Value::Null);
    while killed.is_null() || end.is_null() {
        let v = c.recv().unwrap();
        if v["id"] == "k" {
            killed = v;
        } else {
            end = v;
        }
    }
    assert_eq!(ok(killed)["killed"], true);
    assert_eq!(end["end"]["kind"], "killed", "{end}");
    assert_eq!(end["exit_code"], 137);

    // A client that disconnects mid-run: its process is stopped, the daemon goes on.
    let mut gone = d.client();
    gone.send(&json!({"type": "run", "cid": cid, "path": "/usr/bin/misbehave", "argv": ["misbehave", "spin"], "stream": true}))
        .unwrap();
    assert_eq!(gone.recv().unwrap()["event"], "started");
    drop(gone);
    let mut stats = Value::Null;
    for _ in 0..200 {
        stats = ok(c.call(&json!({"type": "stats"})).unwrap());
        if stats["processes"] == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(stats["processes"], 0, "{stats}");
    assert_eq!(stats["killed"], 2, "{stats}");
}

#[test]
fn guests_that_trap_loop_or_hog_memory_end_with_a_status() {
    let d = TestDaemon::start();
    let mut c = d.client();
    let cid = d.container(&mut c);
    let v = ok(c.call(&json!({"type": "run", "cid": cid, "path": "/usr/bin/misbehave", "argv": ["misbehave", "trap"]})).unwrap());
    assert_eq!(v["end"]["kind"], "trapped", "{v}");
    assert_eq!(v["exit_code"], 134);
    let v = ok(c
        .call(&json!({"type": "run", "cid": cid, "path": "/usr/bin/misbehave", "argv": ["misbehave", "spin"], "timeout_ms": 100}))
        .unwrap());
    assert_eq!(v["end"]["kind"], "timed_out", "{v}");
    assert_eq!(v["exit_code"], 137);
    let v = ok(c.call(&json!({"type": "run", "cid": cid, "path": "/usr/bin/misbehave", "argv": ["misbehave", "hog"]})).unwrap());
    assert_eq!(v["end"]["kind"], "trapped", "{v}");
    // Output past the cap is cut and reported.
    let v = ok(c
        .call(&json!({"type": "run", "cid": cid, "path": "/usr/bin/stdio_filter", "stdin_text": "line\n".repeat(1000), "output_cap": 1000}))
        .unwrap());
    assert_eq!(b64(&v["stdout"]).len(), 1000);
    assert_eq!(v["stdout_truncated"], true);
    let v = ok(c
        .call(&json!({"type": "run", "cid": cid, "path": "/usr/bin/misbehave"}))
        .unwrap());
    assert_eq!(b64(&v["stdout"]), b"misbehave: ok\n");
}

#[test]
fn a_bundle_whose_signature_fails_is_refused_and_nothing_of_it_loads() {
    let d = TestDaemon::start();
    let mut c = d.client();
    let bad = d.tmp.path().join("tampered");
    std::fs::create_dir_all(&bad).unwrap();
    for f in [
        "container.wasm",
        "mapping.json",
        "mapping.json.sig",
        "rootfs.tar",
    ] {
        std::fs::copy(d.bundle_dir.join(f), bad.join(f)).unwrap();
    }
    let mut wasm = std::fs::read(bad.join("container.wasm")).unwrap();
    let last = wasm.len() - 1;
    wasm[last] ^= 1;
    std::fs::write(bad.join("container.wasm"), wasm).unwrap();
    let v = c
        .call(&json!({"type": "bundle.load", "path": bad}))
        .unwrap();
    assert_eq!(err_code(&v), "bundle");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("container.wasm"),
        "{v}"
    );
    assert_eq!(
        ok(c.call(&json!({"type": "bundle.list"})).unwrap())["bundles"],
        json!([])
    );
    // Nothing compiled from it either.
    let code = d.tmp.path().join("state/code");
    fn files(dir: &Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |d| {
            d.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        files(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
    }
    assert_eq!(files(&code), 0, "{}", code.display());
}

#[test]
fn the_socket_is_private_and_peers_are_checked_by_uid() {
    // Default mode 0600.
    let d = TestDaemon::start();
    let mode = std::fs::metadata(&d.socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // A second daemon on a live socket is refused; a stale one is replaced.
    assert!(server::bind(&d.socket, 0o600).is_err());

    if !rustix::process::geteuid().is_root() {
        eprintln!("skipping the other-uid half: needs root to run a client as another uid");
        return;
    }
    // A daemon that lets uid 65534 in (socket 0666 so it can connect) and not 4242.
    let me = rustix::process::geteuid().as_raw();
    let d = TestDaemon::start_with(&[me, 65534], 0o666);
    std::fs::set_permissions(d.tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = d.client();
    let cid = d.container(&mut c);
    let as_uid = |uid: u32, request: Value| -> Value {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vkernel"))
            .args(["call", "--socket"])
            .arg(&d.socket)
            .arg(request.to_string())
            .uid(uid)
            .gid(uid)
            .output()
            .unwrap();
        let line = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(line.lines().next().unwrap_or("null")).unwrap_or(Value::Null)
    };
    // uid 65534 may connect, sees none of our containers and cannot use them.
    let v = as_uid(65534, json!({"type": "container.list"}));
    assert_eq!(v["containers"], json!([]), "{v}");
    let v = as_uid(
        65534,
        json!({"type": "run", "cid": cid, "path": "/usr/bin/misbehave"}),
    );
    assert_eq!(v["error"]["code"], "forbidden", "{v}");
    let v = as_uid(65534, json!({"type": "container.delete", "cid": cid}));
    assert_eq!(v["error"]["code"], "forbidden", "{v}");
    // uid 4242 is not on the list.
    let v = as_uid(4242, json!({"type": "health"}));
    assert_eq!(v["error"]["code"], "forbidden", "{v}");
    // Ours is untouched.
    let v = ok(c
        .call(&json!({"type": "run", "cid": cid, "path": "/usr/bin/misbehave"}))
        .unwrap());
    assert_eq!(v["exit_code"], 0);
}

#[test]
fn a_second_daemon_start_compiles_nothing() {
    let d = TestDaemon::start();
    let mut c = d.client();
    let v = ok(c
        .call(&json!({"type": "bundle.load", "path": d.bundle_dir}))
        .unwrap());
    assert_eq!(v["code"], "compiled");
    // Same state directory, new daemon: the code comes from the cache.
    let second = Daemon::new(test_config(d.tmp.path().join("state"), d.trusted)).unwrap();
    let (_, loaded) = second.load_bundle(&d.bundle_dir, false).unwrap();
    assert_eq!(loaded.compile_label(), "from cache");
}
