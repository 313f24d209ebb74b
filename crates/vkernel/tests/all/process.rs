//! The process extension: guests that spawn, wait, pipe and dup through the gate.
//!
//! The `spawner` guest (tests/guests/c/spawner.c) starts the bundle's other
//! programs through `recompiler_process_v1`; these tests check what it prints,
//! that every spawn passed the exec gate (denials logged), and that no process
//! is left in the container's table afterwards.

use std::path::Path;
use std::sync::{Arc, Mutex};

use recompiler_oci::{Meta, Rootfs};
use recompiler_vkernel::container::{Container, ExecOutput, ExecRequest, LoadedBundle, Runtime};
use recompiler_vkernel::engine::RunEnd;
use recompiler_vkernel::gate::CopyPolicy;
use recompiler_vkernel::kernel::{
    CaptureStream, FileDescription, HostStream, Interrupt, Limits, OFlags, pipe2,
};

use crate::bundles;

/// The programs of the test bundle, and the spawner.
fn programs() -> Vec<(&'static str, &'static str)> {
    let mut programs = bundles::PROGRAMS.to_vec();
    programs.push(("/usr/bin/spawner", "spawner"));
    programs
}

fn load(tmp: &Path, policy: CopyPolicy) -> (Runtime, Arc<LoadedBundle>) {
    bundles::load_with(tmp, policy, &|dir, key| {
        let mut rootfs = Rootfs::new();
        let meta = Meta {
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 1_700_000_000,
        };
        rootfs
            .insert_file("/workspace/readme.txt", b"hi\n".to_vec(), meta)
            .unwrap();
        bundles::write_programs(dir, key, &programs(), rootfs);
    })
}

/// Writes `data` to `path` in the container (creating or truncating it) with `mode`.
fn write_file(c: &Container, path: &str, data: &[u8], mode: u32) {
    let vfs = c.kernel.vfs();
    let file = vfs
        .openat(
            vfs.root(),
            path.as_bytes(),
            OFlags::WRONLY | OFlags::CREAT | OFlags::TRUNC,
            mode,
        )
        .unwrap();
    file.write(data, &Interrupt::new()).unwrap();
}

fn spawner(c: &Container, args: &[&str]) -> ExecOutput {
    let mut argv = vec!["spawner".to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    c.run(&ExecRequest {
        path: "/usr/bin/spawner".into(),
        argv,
        env: vec![("RUST_ECHO_HOST".into(), "yes".into())],
        ..ExecRequest::default()
    })
    .unwrap()
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

/// Checks that the container's process table is empty once every spawned
/// thread has ended.
fn assert_no_processes_left(c: &Container) {
    c.wait_spawned();
    assert_eq!(c.kernel.processes().pids(), Vec::<i32>::new());
    assert_eq!(c.kernel.processes().counts(), (0, 0));
}

/// The log lines of the current thread, captured.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with the current thread's log captured; returns its result and the log.
fn with_log<T>(f: impl FnOnce() -> T) -> (T, String) {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    (out, text)
}

const EXPECTED: &str = "\
ids: pid=1 ppid=0
echo: spawn OK
echo| arg[0]=echo
echo| arg[1]=a b
echo| arg[2]=c
echo| env RUST_ECHO_X=1
echo| olleh
echo| dlrow
echo| rust_echo: 3 args, 1 env, 2 lines
echo: exited 0
relative: spawn OK
relative|    1: ONE
relative|    2: FAIL
relative| lines=2 bytes=9
relative: exited 3
pipeline: spawn OK OK
pipeline|    1: ARG[0]=RUST_ECHO
pipeline|    2: ARG[1]=X
pipeline|    3: ARG[2]=YZ
pipeline|    4: RUST_ECHO: 3 ARGS, 0 ENV, 0 LINES
pipeline| lines=4 bytes=70
pipeline: rust_echo exited 0, stdio_filter exited 4
status --exit: spawn OK, exited 7
status --panic: spawn OK, signaled 6
wnohang: OK pid=0
kill: OK
killed: signaled 15
wait without children: ECHILD
kill a reaped child: ESRCH
dup2| via dup
dup2 of a closed fd: EBADF
dup of a closed fd: EBADF
inherit: spawn OK
inherit| arg[0]=rust_echo
inherit| arg[1]=inherited
inherit| env RUST_ECHO_HOST=yes
inherit: exited 0
denied /workspace/copy: EACCES
denied /workspace/tool: EACCES
denied /usr/bin/stdio_filter: EACCES
denied /usr/bin/nope: ENOENT
denied /usr/bin: EACCES
cwd /nowhere: ENOENT
done: 0 failures
";

#[test]
fn a_guest_spawns_pipes_waits_and_is_gated() {
    let tmp = tempfile::tempdir().unwrap();
    let (_rt, loaded) = load(tmp.path(), CopyPolicy::ExactPath);
    let c = Container::new("c", loaded, Limits::default());
    // WASI cannot make a file executable: the guest writes into this one.
    write_file(&c, "/workspace/tool", b"", 0o755);
    let (out, log) = with_log(|| spawner(&c, &[]));
    assert_eq!(text(&out.stdout), EXPECTED);
    // The child that inherited the spawner's stderr wrote there.
    assert_eq!(text(&out.stderr), "rust_echo: 2 args, 1 env, 0 lines\n");
    assert_eq!(out.end, RunEnd::Exited(0));
    // The gate's denials are logged: the listed program's bytes at an unlisted
    // path, and the listed program changed in place. The non-executable copy and
    // the directory never reach the gate.
    let denials: Vec<&str> = log.lines().filter(|l| l.contains("exec denied")).collect();
    assert_eq!(denials.len(), 2, "{log}");
    assert!(denials[0].contains("path=/workspace/tool"), "{log}");
    assert!(denials[0].contains("not in the signed manifest"), "{log}");
    assert!(denials[1].contains("path=/usr/bin/stdio_filter"), "{log}");
    assert!(denials[1].contains("does not match"), "{log}");
    assert_no_processes_left(&c);
}

/// Each of these would run if spawn skipped the gate (a listed path whose
/// bytes changed, a symlink at a listed path), and one that must run does.
#[test]
fn spawn_cannot_bypass_the_gate() {
    let tmp = tempfile::tempdir().unwrap();
    let (_rt, loaded) = load(tmp.path(), CopyPolicy::ExactPath);
    let c = Container::new("c", loaded, Limits::default());
    let out = spawner(&c, &["spawn", "/usr/bin/stdio_filter"]);
    assert_eq!(
        text(&out.stdout),
        "spawn /usr/bin/stdio_filter: OK\nspawn /usr/bin/stdio_filter: exited 0\n"
    );

    let vfs = c.kernel.vfs();
    let mut bytes = vfs
        .lookup(vfs.root(), b"/usr/bin/rust_echo", true)
        .unwrap()
        .read_contents()
        .unwrap()
        .bytes
        .to_vec();
    let n = bytes.len();
    bytes[n - 1] ^= 1; // in a custom section: still valid wasm, same size
    write_file(&c, "/usr/bin/rust_echo", &bytes, 0o755);
    let root = Arc::clone(vfs.root());
    vfs.unlinkat(&root, b"/usr/bin/files_args", 0).unwrap();
    vfs.symlinkat(b"/usr/bin/rust_echo", &root, b"/usr/bin/files_args")
        .unwrap();
    for path in ["/usr/bin/rust_echo", "/usr/bin/files_args"] {
        let (out, log) = with_log(|| spawner(&c, &["spawn", path]));
        assert_eq!(text(&out.stdout), format!("spawn {path}: EACCES\n"));
        assert!(
            log.contains("exec denied") && log.contains("path=/usr/bin/rust_echo"),
            "{log}"
        );
    }
    assert_no_processes_left(&c);
}

/// Spawns follow the bundle's copy policy, as host execs do.
#[test]
fn spawn_follows_the_copy_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let (_rt, loaded) = load(tmp.path(), CopyPolicy::KnownContent);
    let c = Container::new("c", loaded, Limits::default());
    let vfs = c.kernel.vfs();
    let bytes = vfs
        .lookup(vfs.root(), b"/usr/bin/stdio_filter", true)
        .unwrap()
        .read_contents()
        .unwrap()
        .bytes
        .to_vec();
    write_file(&c, "/workspace/copy", &bytes, 0o755);
    let out = spawner(&c, &["spawn", "/workspace/copy"]);
    assert_eq!(
        text(&out.stdout),
        "spawn /workspace/copy: OK\nspawn /workspace/copy: exited 0\n"
    );
    assert_no_processes_left(&c);
}

#[test]
fn a_full_process_table_is_eagain() {
    let tmp = tempfile::tempdir().unwrap();
    let (_rt, loaded) = load(tmp.path(), CopyPolicy::ExactPath);
    let limits = Limits {
        max_processes: 4,
        ..Limits::default()
    };
    let c = Container::new("c", loaded, limits);
    let out = spawner(&c, &["limit"]);
    assert_eq!(
        text(&out.stdout),
        "limit: 3 children, then EAGAIN\nlimit: reaped 3\n"
    );
    assert_eq!(out.end, RunEnd::Exited(0));
    assert_no_processes_left(&c);
}

/// A child whose parent exited without waiting is reaped when it ends.
#[test]
fn orphans_are_reaped() {
    let tmp = tempfile::tempdir().unwrap();
    let (_rt, loaded) = load(tmp.path(), CopyPolicy::ExactPath);
    let c = Container::new("c", loaded, Limits::default());
    for _ in 0..3 {
        let out = spawner(&c, &["orphan"]);
        assert_eq!(text(&out.stdout), "orphan: spawn OK\n");
        assert_no_processes_left(&c);
    }
}

/// An output that keeps nothing.
fn null() -> Arc<FileDescription> {
    FileDescription::host(CaptureStream::new(0) as Arc<dyn HostStream>, OFlags::WRONLY)
}

/// Runs `spawner args` with a stdin pipe the test keeps open (so a child
/// reading it blocks), calls `during` once it and its child exist, and
/// returns how the spawner's run ended.
fn with_blocked_child(c: &Container, args: &[&str], during: impl FnOnce()) -> RunEnd {
    let (stdin, keep_open) = pipe2(OFlags::empty()).unwrap();
    let mut argv = vec!["spawner".to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let req = ExecRequest {
        path: "/usr/bin/spawner".into(),
        argv,
        ..ExecRequest::default()
    };
    let end = std::thread::scope(|s| {
        let run = s.spawn(|| c.run_with_stdio(&req, [stdin, null(), null()], |_| {}));
        while c.kernel.processes().pids().len() < 2 && !run.is_finished() {
            std::thread::yield_now();
        }
        during();
        run.join().unwrap().unwrap().end
    });
    drop(keep_open);
    end
}

#[test]
fn stop_all_reaches_spawned_children() {
    let tmp = tempfile::tempdir().unwrap();
    let (_rt, loaded) = load(tmp.path(), CopyPolicy::ExactPath);
    let c = Container::new("c", loaded, Limits::default());
    // The spawner waits for a child that reads the stdin nobody closes.
    let end = with_blocked_child(&c, &["spawn", "/usr/bin/stdio_filter"], || c.stop_all());
    assert!(matches!(end, RunEnd::Killed(_)), "{end:?}");
    assert_no_processes_left(&c);
}

#[test]
fn dropping_the_container_stops_its_children() {
    let tmp = tempfile::tempdir().unwrap();
    let (_rt, loaded) = load(tmp.path(), CopyPolicy::ExactPath);
    let c = Container::new("c", loaded, Limits::default());
    let kernel = Arc::clone(&c.kernel);
    // The spawner exits at once; its child inherited the stdin that stays open.
    let (stdin, keep_open) = pipe2(OFlags::empty()).unwrap();
    let out = c
        .run_with_stdio(
            &ExecRequest {
                path: "/usr/bin/spawner".into(),
                argv: vec!["spawner".into(), "orphan-inherit".into()],
                ..ExecRequest::default()
            },
            [stdin, null(), null()],
            |_| {},
        )
        .unwrap();
    assert_eq!(out.end, RunEnd::Exited(0));
    assert_eq!(kernel.processes().counts(), (1, 0), "the orphan runs");
    drop(c);
    assert_eq!(kernel.processes().pids(), Vec::<i32>::new());
    drop(keep_open);
}
