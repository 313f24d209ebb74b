//! The agent bundle image under a real containerd with `ctr`: runs, execs,
//! denials, kills, clean-up, and a tampered image refused at create.
//!
//! One test holds every check: the image carries CPython (a ~100 MB
//! megabinary), made, built and imported once. Its compiled code is warmed into
//! the node's code cache before containerd starts (the same cache the
//! builder's agent test uses, keyed by the megabinary's hash), so every
//! container below must find its code there, never compile.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use recompiler_builder::oci_archive::{self, LayerFiles, OciArchive};
use recompiler_vkernel::gate::CopyPolicy;

use crate::agent_image::agent_image;
use crate::containerd::{
    Containerd, PYTHON_ENTRY, RUNTIME, bundle_image, mounts_under, require_root_and_containerd,
    shim_processes, tail,
};
use crate::umoci::{Image, put, sh};

const IMAGE: &str = "recompiler.local/agent:test";
const TAMPERED: &str = "recompiler.local/agent:tampered";
const SMALL: &str = "recompiler.local/small:test";
const PLATFORM: &str = "wasi/wasm";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `ctr run --rm` with the recompiler runtime.
fn run_args<'a>(id: &'a str, image: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "run",
        "--rm",
        "--platform",
        PLATFORM,
        "--runtime",
        RUNTIME,
        image,
        id,
    ];
    v.extend_from_slice(args);
    v
}

/// Waits until `ctr task ls` shows `id` stopped.
fn wait_stopped(c: &Containerd, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ls = text(&c.ok(&["task", "ls"]).stdout);
        let line = ls.lines().find(|l| l.split_whitespace().next() == Some(id));
        if line.is_some_and(|l| l.contains("STOPPED")) {
            return;
        }
        assert!(Instant::now() < deadline, "{id} did not stop:\n{ls}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Nothing of container `id` is left: no shim, no task state, no mount.
fn assert_cleaned_up(c: &Containerd, id: &str) {
    // The shim exits right after containerd's shutdown call; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !shim_processes(c, id).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        shim_processes(c, id),
        Vec::<u32>::new(),
        "a shim of {id} is still running"
    );
    assert!(
        !c.task_dir(id).exists(),
        "{} is left",
        c.task_dir(id).display()
    );
    let mounts: Vec<String> = mounts_under(&c.dir)
        .into_iter()
        .filter(|m| m.contains(&format!("/{id}/")))
        .collect();
    assert!(mounts.is_empty(), "mounts of {id} are left: {mounts:?}");
}

/// How the shim got container `id`'s code, from its log line: "compiled" or
/// "from cache".
fn code_of<'a>(log: &'a str, id: &str) -> &'a str {
    let line = log
        .lines()
        .find(|l| l.contains(&format!("bundle of {id}: ")))
        .unwrap_or_else(|| panic!("no bundle line for {id}:\n{}", tail(log, 30)));
    if line.contains("code compiled") {
        "compiled"
    } else if line.contains("code from cache") {
        "from cache"
    } else {
        panic!("{line}")
    }
}

/// An image of agent-tool alone, built, signed and packaged; its compiled code
/// is removed from the node's cache, so its first container compiles.
fn small_image(dir: &Path, key: &Path, state: &Path) -> PathBuf {
    let mut image = Image::new(dir, "small");
    image.layer(|root| {
        put(
            root,
            "/usr/bin/agent-tool",
            &agent_tool_wasm::wasm_bytes().unwrap(),
            0o755,
        );
    });
    let (bundle, archive) = bundle_image(&image.oci(), key, dir, SMALL, &[]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("mapping.json")).unwrap()).unwrap();
    let blake3 = manifest["megabinary"]["blake3"]
        .as_str()
        .unwrap()
        .to_string();
    for engine in std::fs::read_dir(state.join("code")).unwrap().flatten() {
        let _ = std::fs::remove_file(engine.path().join(format!("{blake3}.cwasm")));
    }
    archive
}

/// The bundle's files, as `oci_archive` packages them, with one byte of the
/// megabinary changed: the manifest and its signature are the genuine ones.
fn tampered_archive(bundle: &Path, out: &Path) {
    let read = |n: &str| std::fs::read(bundle.join(n)).unwrap();
    let manifest = read("mapping.json");
    let signature = read("mapping.json.sig");
    let mut megabinary = read("container.wasm");
    let rootfs = read("rootfs.tar");
    let at = megabinary.len() / 2;
    megabinary[at] ^= 0x01;
    let config = serde_json::json!({"config": {"Cmd": ["/usr/bin/agent-tool", "--version"]}});
    oci_archive::stage(
        &OciArchive {
            path: out.to_path_buf(),
            name: TAMPERED.into(),
        },
        &LayerFiles {
            manifest: &manifest,
            signature: &signature,
            megabinary: ("container.wasm", &megabinary),
            rootfs: ("rootfs.tar", &rootfs),
        },
        &config,
    )
    .unwrap()
    .commit()
    .unwrap();
}

#[test]
fn containerd_runs_the_agent_bundle_image_through_the_shim() {
    require_root_and_containerd();
    // Short (containerd's sockets live in it) and fixed: a failed run leaves
    // it, with containerd's log, for a look; the next run starts afresh.
    let work = Path::new("/tmp/recompiler-shim-test");
    for m in mounts_under(work) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&m)
            .status();
    }
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work).unwrap();
    let tmp = Tmp(work);
    let started = Instant::now();

    // The agent image, plus a native program that is in the image but, being
    // an ELF file, not in the signed manifest (as a downloaded binary would be).
    let mut image = agent_image(&tmp.path().join("img"));
    image.layer(|root| {
        put(
            root,
            "/usr/local/bin/downloaded",
            &std::fs::read("/bin/true").unwrap(),
            0o755,
        );
    });
    sh(std::process::Command::new("umoci")
        .args(["config", "--image"])
        .arg(image.reference())
        .args(["--config.entrypoint", "/usr/bin/agent-tool"])
        .args(["--config.cmd", "--version"])
        .args(["--config.env", "PATH=/usr/local/bin:/usr/bin:/bin"])
        .args(["--config.workingdir", "/workspace"]));

    let key = tmp.path().join("build.key");
    let public = recompiler_manifest::sign::write_key_pair(&key, false).unwrap();
    let (bundle, archive) = bundle_image(
        &image.oci(),
        &key,
        &tmp.path().join("agent"),
        IMAGE,
        &[PYTHON_ENTRY],
    );
    eprintln!(
        "agent image made, built and packaged in {:?}",
        started.elapsed()
    );

    // Warm the node's code cache, as a first container would (compiling
    // CPython takes minutes in a debug build).
    // The builder's agent test compiles the same megabinary into this cache
    // (same engine settings, same content hash): whichever runs first compiles.
    let state = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("agent-state");
    let trusted = recompiler_vkernel::bundle::load_trusted_key(&public).unwrap();
    let warm = Instant::now();
    let loaded = recompiler_shim::runtime(&state)
        .unwrap()
        .load_bundle(&bundle, &[trusted], CopyPolicy::ExactPath)
        .unwrap();
    eprintln!(
        "code cache warmed ({}) in {:?}",
        loaded.compile_label(),
        warm.elapsed()
    );
    drop(loaded);

    let c = Containerd::start(
        &tmp.path().join("ctd"),
        &[("RECOMPILER_TRUST", &public), ("RECOMPILER_STATE", &state)],
    );
    c.import(&archive, PLATFORM);
    let images = text(&c.ok(&["images", "ls"]).stdout);
    assert!(
        images.contains(IMAGE) && images.contains("wasi/wasm"),
        "{images}"
    );

    // The image's own entrypoint and command: agent-tool --version.
    let out = c.ok(&run_args("entry", IMAGE, &[]));
    assert_eq!(text(&out.stdout), "agent-tool 0.1.0\n");
    assert_cleaned_up(&c, "entry");

    // agent-tool on the image's files, and its exit status on failure.
    let out = c.ok(&run_args(
        "read",
        IMAGE,
        &["/usr/bin/agent-tool", "read", "/workspace/README.md"],
    ));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    let out = c.run(&run_args(
        "missing",
        IMAGE,
        &["/usr/bin/agent-tool", "read", "/nope"],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "not_found", "{v}");

    // python3, found on the image's PATH, in the image's working directory.
    let out = c.ok(&run_args(
        "py",
        IMAGE,
        &[
            "python3",
            "-c",
            "import os, json; print(json.dumps({'cwd': os.getcwd(), 'n': 6 * 7}))",
        ],
    ));
    assert_eq!(text(&out.stdout), "{\"cwd\": \"/workspace\", \"n\": 42}\n");
    let out = c.run(&run_args(
        "py-exit",
        IMAGE,
        &["python3", "-c", "import sys; print('bye'); sys.exit(3)"],
    ));
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(3), "bye\n".into())
    );
    let out = c.run(&run_args(
        "py-raise",
        IMAGE,
        &["python3", "-c", "raise ValueError('boom')"],
    ));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("ValueError: boom"),
        "{}",
        text(&out.stderr)
    );

    // stdin without a terminal: what ctr reads is the guest's input.
    let mut child = c
        .ctr()
        .args(run_args(
            "stdin",
            IMAGE,
            &[
                "python3",
                "-c",
                "import sys; print(sys.stdin.read().upper(), end='')",
            ],
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"hello from ctr\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        text(&out.stdout),
        "HELLO FROM CTR\n",
        "{}",
        text(&out.stderr)
    );

    // A long-running container: execs beside it, a denied exec, a kill.
    c.ok(&[
        "run",
        "-d",
        "--platform",
        PLATFORM,
        "--runtime",
        RUNTIME,
        IMAGE,
        "long",
        "python3",
        "-c",
        "import time\nwhile True: time.sleep(1)",
    ]);
    let out = c.ok(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        "long",
        "/usr/bin/agent-tool",
        "--version",
    ]);
    assert_eq!(text(&out.stdout), "agent-tool 0.1.0\n");
    // The second process shares the container's files: what one writes, the
    // next reads.
    c.ok(&[
        "task",
        "exec",
        "--exec-id",
        "e2",
        "long",
        "python3",
        "-c",
        "open('/workspace/note', 'w').write('shared')",
    ]);
    let out = c.ok(&[
        "task",
        "exec",
        "--exec-id",
        "e3",
        "long",
        "/usr/bin/agent-tool",
        "read",
        "/workspace/note",
    ]);
    assert!(
        text(&out.stdout).contains("shared"),
        "{}",
        text(&out.stdout)
    );
    let ps = text(&c.ok(&["task", "ps", "long"]).stdout);
    assert!(ps.lines().count() >= 2, "{ps}");
    // In the image, executable, but not in the signed manifest.
    let out = c.run(&[
        "task",
        "exec",
        "--exec-id",
        "e4",
        "long",
        "/usr/local/bin/downloaded",
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("exec denied") && err.contains("/usr/local/bin/downloaded"),
        "{err}"
    );
    let out = c.run(&[
        "task",
        "exec",
        "--exec-id",
        "e5",
        "long",
        "/usr/bin/no-such-program",
    ]);
    assert!(!out.status.success());
    // Still running after all that; then killed (SIGTERM).
    let ls = text(&c.ok(&["task", "ls"]).stdout);
    assert!(
        ls.lines()
            .any(|l| l.starts_with("long") && l.contains("RUNNING")),
        "{ls}"
    );
    c.ok(&["task", "kill", "long"]);
    wait_stopped(&c, "long");
    let out = c.ok(&["task", "delete", "long"]);
    assert!(
        text(&out.stderr).contains("exit code 143"),
        "{}",
        text(&out.stderr)
    );
    c.ok(&["containers", "delete", "long"]);
    assert_cleaned_up(&c, "long");

    // SIGKILL of a process blocked reading stdin.
    c.ok(&[
        "run",
        "-d",
        "--platform",
        PLATFORM,
        "--runtime",
        RUNTIME,
        IMAGE,
        "reader",
        "python3",
        "-c",
        "import sys; sys.stdin.read()",
    ]);
    c.ok(&["task", "kill", "--signal", "SIGKILL", "reader"]);
    wait_stopped(&c, "reader");
    let out = c.ok(&["task", "delete", "reader"]);
    assert!(
        text(&out.stderr).contains("exit code 137"),
        "{}",
        text(&out.stderr)
    );
    c.ok(&["containers", "delete", "reader"]);
    assert_cleaned_up(&c, "reader");

    // Every container found its code in the node's cache.
    let log = c.log();
    for id in [
        "entry", "read", "missing", "py", "py-exit", "py-raise", "stdin", "long", "reader",
    ] {
        assert_eq!(code_of(&log, id), "from cache", "{id}");
    }

    // A bundle new to the node: its first container compiles, the next one
    // loads what the first compiled.
    let small = small_image(&tmp.path().join("small"), &key, &state);
    c.import(&small, PLATFORM);
    for id in ["small-1", "small-2"] {
        let out = c.ok(&run_args(id, SMALL, &["/usr/bin/agent-tool", "--version"]));
        assert_eq!(text(&out.stdout), "agent-tool 0.1.0\n");
    }
    let log = c.log();
    assert_eq!(code_of(&log, "small-1"), "compiled");
    assert_eq!(code_of(&log, "small-2"), "from cache");

    // One byte of the megabinary changed: refused at create, with the reason.
    let bad = tmp.path().join("tampered-oci.tar");
    tampered_archive(&bundle, &bad);
    c.import(&bad, PLATFORM);
    let out = c.run(&run_args(
        "tampered",
        TAMPERED,
        &["/usr/bin/agent-tool", "--version"],
    ));
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("failed to create shim")
            && err.contains("signature check failed")
            && err.contains("container.wasm"),
        "{err}"
    );
    let _ = c.run(&["containers", "delete", "tampered"]);
    assert_cleaned_up(&c, "tampered");
    eprintln!("containerd checks done in {:?}", started.elapsed());
    drop(c);
    std::fs::remove_dir_all(work).unwrap();
}

/// The work directory, spelled as the tempdir it replaces.
struct Tmp<'a>(&'a Path);

impl Tmp<'_> {
    fn path(&self) -> &Path {
        self.0
    }
}
