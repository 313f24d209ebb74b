//! The builder's output run by the vkernel daemon: the standard image (made with
//! umoci) built and signed by `recompiler-build`, loaded by a daemon over its
//! socket, and its programs run by path and in a pipeline, each compared with
//! the same program alone under plain wasmtime-wasi.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use base64::Engine as _;
use recompiler_testkit::{RunOptions, run_alone};
use recompiler_vkernel::client::Client;
use recompiler_vkernel::server::{self, Config, Daemon};
use serde_json::{Value, json};

use crate::image::{REACTOR_ENTRY, assert_ok, build, keygen, standard_image};

fn ok(v: Value) -> Value {
    assert_eq!(v["status"], "ok", "{v}");
    v
}

fn b64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

#[test]
fn the_built_container_runs_through_the_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let image = standard_image(&tmp.path().join("img"));
    let (key, public) = keygen(tmp.path(), "build.key");
    let bundle = tmp.path().join("bundle");
    assert_ok(&build(&image.oci(), &bundle, Some(&key), REACTOR_ENTRY));

    let trusted = recompiler_vkernel::bundle::load_trusted_key(&public).unwrap();
    let mut config = Config::new(tmp.path().join("state"), vec![trusted]);
    config.engine.max_instances = 32;
    config.engine.total_memories = 32 * 16;
    config.engine.max_memory_bytes = 256 << 20;
    let daemon = Daemon::new(config).unwrap();
    let socket = tmp.path().join("vkernel.sock");
    let listener = server::bind(&socket, 0o600).unwrap();
    std::thread::spawn(move || server::serve(daemon, listener, Arc::new(AtomicBool::new(false))));

    let mut c = Client::connect(&socket).unwrap();
    ok(c.call(&json!({"type": "bundle.load", "path": bundle}))
        .unwrap());
    let cid = ok(c.call(&json!({"type": "container.create"})).unwrap())["cid"].clone();

    // Three programs by path (one through the image's symlinks), each as alone.
    let cases: &[(&str, &str, &[&str], &[u8])] = &[
        (
            "/usr/bin/stdio_filter",
            "stdio_filter",
            &["stdio_filter"],
            b"one\ntwo\n",
        ),
        ("/bin/upper", "stdio_filter", &["upper"], b"via a symlink\n"),
        (
            "/usr/bin/rust_echo",
            "rust_echo",
            &["rust_echo", "a b", "--exit", "3"],
            b"in\n",
        ),
        ("/usr/bin/bigdata", "bigdata", &["bigdata", "x"], b""),
    ];
    for (path, guest, argv, stdin) in cases {
        let alone = run_alone(
            &recompiler_testkit::guests::wasm(guest),
            &RunOptions::new(argv.iter().copied()).stdin(stdin.to_vec()),
        )
        .unwrap();
        let v = ok(c
            .call(
                &json!({"type": "run", "cid": cid, "path": path, "argv": argv,
                "stdin": base64::engine::general_purpose::STANDARD.encode(stdin)}),
            )
            .unwrap());
        assert_eq!(b64(&v["stdout"]), alone.stdout, "{path}");
        assert_eq!(b64(&v["stderr"]), alone.stderr, "{path}");
        assert_eq!(
            v["exit_code"].as_i64().map(|c| c as i32),
            alone.exit_code(),
            "{path}"
        );
    }

    // Two of them in a pipeline connected by a kernel pipe.
    let v = ok(c
        .call(
            &json!({"type": "pipeline", "cid": cid, "stdin_text": "piped\n", "stages": [
                {"path": "/usr/bin/rust_echo", "argv": ["rust_echo", "first"]},
                {"path": "/usr/bin/stdio_filter"},
            ]}),
        )
        .unwrap());
    let first = run_alone(
        &recompiler_testkit::guests::wasm("rust_echo"),
        &RunOptions::new(["rust_echo", "first"]).stdin("piped\n"),
    )
    .unwrap();
    let second = run_alone(
        &recompiler_testkit::guests::wasm("stdio_filter"),
        &RunOptions::new(["stdio_filter"]).stdin(first.stdout.clone()),
    )
    .unwrap();
    assert_eq!(b64(&v["stdout"]), second.stdout);
    assert_eq!(
        v["exit_code"].as_i64().map(|c| c as i32),
        second.exit_code()
    );

    // The script and the ELF program of the image are listed but cannot run.
    for path in ["/usr/bin/hello.sh", "/usr/bin/native-tool"] {
        let v = c
            .call(&json!({"type": "run", "cid": cid, "path": path}))
            .unwrap();
        assert_eq!(v["status"], "denied", "{path}: {v}");
        assert_eq!(v["kind"], "not_runnable", "{path}: {v}");
    }
}
