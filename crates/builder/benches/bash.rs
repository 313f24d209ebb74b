//! Lifted bash (issue 7) through the daemon's socket against native bash-static,
//! in one run: a `bash -c` start to exit, and a command in a long-lived shell
//! session.
//!
//! ```text
//! cargo build --release -p recompiler-vkernel
//! cargo bench -p recompiler-builder --bench bash          # -- --quick: fewer runs
//! ```
//!
//! The image is the agent image without CPython (`agent_image_without_python`:
//! Debian's bash-static as `/bin/bash`, busybox-static's applets as `/bin/*`,
//! agent-tool and the C programs), made with umoci and built and signed with
//! `recompiler-build` at every run (seconds). The daemon is the real
//! `vkernel serve` (target/release/vkernel) in a child process, its code cache in
//! `target/tmp/bash-bench/state` (the first run compiles the megabinary).
//!
//! Prints, each figure with median, p90 and p99 and the ratio of the lifted side
//! to the native one, the two sides alternating in blocks so that the shared
//! machine's drift falls on both:
//! - `bash -c 'echo hi'`: a `run` request of `/bin/bash` timed in the client from
//!   sending it to reading the reply (the exec gate, process creation,
//!   instantiation, the guest runtime loading bash's ELF image and interpreting
//!   it to `exit_group`, reaping, the reply), with the daemon's own timings,
//!   against `/bin/bash-static -c 'echo hi'` spawned with `std::process::Command`
//!   (posix_spawn + wait, stdout and stderr piped and read);
//! - a session round trip: `session.run` of `echo hi` in a session opened and
//!   warmed up beforehand, against a native bash-static session driven the same
//!   way (see [`NativeSession`]);
//! - `bash -c 'ls /bin | wc -l'` (two lifted busybox applets in a pipeline) and a
//!   session's `cd /tmp && ls | wc -l`, against the same natively: the native
//!   side's `PATH` is a host directory laid out as the image's `/bin` (bash-static,
//!   busybox and its applets), so both sides run the same busybox applets on a
//!   directory of the same entries.
//!
//! Every run's stdout, stderr and exit status are checked, on both sides: the
//! bench fails at the first wrong one.

#[path = "../tests/all/image.rs"]
#[allow(
    dead_code,
    reason = "the tests' helper; the benchmark uses the image, keygen and build"
)]
mod image;

#[path = "../tests/all/umoci.rs"]
#[allow(
    dead_code,
    reason = "the tests' helper; the benchmark makes images only"
)]
mod umoci;

#[path = "../tests/all/agent_image.rs"]
#[allow(
    dead_code,
    reason = "the agent image's module; the benchmark uses the image without CPython"
)]
mod agent_image;

#[path = "support/daemon.rs"]
mod daemon;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use recompiler_vkernel::client::Client;
use recompiler_vkernel::session::ansi_c_quote;
use serde_json::{Value, json};

use crate::agent_image::agent_image_without_python;
use crate::daemon::{Daemon, b64, ok, target_dir};
use crate::image::{assert_ok, build, keygen};

/// The native bash: the same file the image holds as `/bin/bash`.
const NATIVE_BASH: &str = "/bin/bash-static";

/// The environment of every shell, lifted and native (`PATH` aside, natively).
const ENV: &[(&str, &str)] = &[("PATH", "/bin"), ("HOME", "/root"), ("LC_ALL", "C")];

/// How the run is sized.
struct Plan {
    /// Runs per side of the `echo hi` figures, and warm-up runs per side before.
    runs: usize,
    /// Runs per side of the `ls | wc -l` figures.
    pipeline_runs: usize,
    warmups: usize,
    /// The sides alternate in blocks of this many runs.
    block: usize,
}

const FULL: Plan = Plan {
    runs: 500,
    pipeline_runs: 200,
    warmups: 50,
    block: 50,
};

const QUICK: Plan = Plan {
    runs: 50,
    pipeline_runs: 20,
    warmups: 5,
    block: 10,
};

/// The longest a native session may live: its reads block, so a shell that stops
/// answering is killed then (and the bench fails).
const NATIVE_SESSION_LIMIT: Duration = Duration::from_secs(900);

/// Median, p90 and p99 of a set of durations.
#[derive(Clone, Copy)]
struct Stats {
    median: Duration,
    p90: Duration,
    p99: Duration,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Stats {
        assert!(!samples.is_empty(), "no samples");
        samples.sort();
        let q = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
        Stats {
            median: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
        }
    }

    fn ratio(self, base: Stats) -> String {
        let r = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        format!(
            "x{:.2} (p90 x{:.2}, p99 x{:.2})",
            r(self.median, base.median),
            r(self.p90, base.p90),
            r(self.p99, base.p99)
        )
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>11}  p90 {:>11}  p99 {:>11}",
            fmt(self.median),
            fmt(self.p90),
            fmt(self.p99)
        )
    }
}

/// A duration in µs below 10 ms, else in ms.
fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 10_000.0 {
        format!("{us:.1} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

/// What a command must give: stdout, and an empty stderr and exit status 0.
fn check(what: &str, (stdout, stderr, code): (&str, &str, i64), want: &str) {
    assert!(
        stdout == want && stderr.is_empty() && code == 0,
        "{what}: stdout {stdout:?} (expected {want:?}), stderr {stderr:?}, exit {code}"
    );
}

/// Runs `a` and `b` `runs` times each after `warmups` runs each, alternating in
/// blocks of `block` (the side that goes first alternates too), and returns their
/// wall times. Each is told whether its run is measured.
fn alternate(
    plan: &Plan,
    runs: usize,
    a: &mut dyn FnMut(bool),
    b: &mut dyn FnMut(bool),
) -> (Stats, Stats) {
    for _ in 0..plan.warmups {
        a(false);
        b(false);
    }
    let (mut ta, mut tb) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for round in 0..runs.div_ceil(plan.block) {
        let n = plan.block.min(runs - round * plan.block);
        for side in [round % 2, 1 - round % 2] {
            let (f, t): (&mut dyn FnMut(bool), &mut Vec<Duration>) = if side == 0 {
                (&mut *a, &mut ta)
            } else {
                (&mut *b, &mut tb)
            };
            for _ in 0..n {
                let started = Instant::now();
                f(true);
                t.push(started.elapsed());
            }
        }
    }
    (Stats::of(ta), Stats::of(tb))
}

/// The daemon's own timings of `run` requests (its reply's `timings`).
#[derive(Default)]
struct RunTimings {
    instantiate: Vec<Duration>,
    run: Vec<Duration>,
    total: Vec<Duration>,
}

impl RunTimings {
    fn push(&mut self, reply: &Value) {
        let t = |f: &str| Duration::from_micros(reply["timings"][f].as_u64().unwrap_or(0));
        self.instantiate.push(t("instantiate_us"));
        self.run.push(t("run_us"));
        self.total.push(t("total_us"));
    }

    fn print(self) {
        for (name, samples) in [
            ("the whole run in the daemon", self.total),
            ("instantiate", self.instantiate),
            ("the program's run", self.run),
        ] {
            println!("    of which {name:<28} {}", Stats::of(samples));
        }
    }
}

/// A `run` request of `/bin/bash -c SCRIPT`; checks its output and returns the reply.
fn socket_bash_c(c: &mut Client, cid: &str, script: &str, want: &str) -> Value {
    let env: Vec<String> = ENV.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let v = ok(c
        .call(&json!({"type": "run", "cid": cid, "path": "/bin/bash",
            "argv": ["bash", "-c", script], "env": env, "cwd": "/", "timeout_ms": 60_000}))
        .unwrap());
    let code = v["exit_code"].as_i64().unwrap_or(-1);
    check(
        &format!("bash -c {script:?} through the socket: {v}"),
        (&b64(&v["stdout"]), &b64(&v["stderr"]), code),
        want,
    );
    v
}

/// A `session.run` of `command`; checks its output and returns the reply.
fn socket_session_run(c: &mut Client, cid: &str, command: &str, want: &str) -> Value {
    let v = ok(c
        .call(
            &json!({"type": "session.run", "cid": cid, "command": command,
            "timeout_ms": 60_000}),
        )
        .unwrap());
    assert_eq!(v["session_ended"], false, "{command}: {v}");
    let code = v["exit_code"].as_i64().unwrap_or(-1);
    check(
        &format!("session command {command:?} through the socket: {v}"),
        (&b64(&v["stdout"]), &b64(&v["stderr"]), code),
        want,
    );
    v
}

/// Native `bash-static -c SCRIPT`, spawned and waited for, stdout and stderr
/// piped; checks its output.
fn native_bash_c(host: &Host, script: &str, want: &str) {
    let out = Command::new(NATIVE_BASH)
        .arg("-c")
        .arg(script)
        .env_clear()
        .envs(host.env())
        .current_dir(&host.root)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    check(
        &format!("native bash -c {script:?}"),
        (
            &String::from_utf8_lossy(&out.stdout),
            &String::from_utf8_lossy(&out.stderr),
            out.status.code().map_or(-1, i64::from),
        ),
        want,
    );
}

/// The native side's directory: `bin/` laid out as the image's `/bin` (bash-static,
/// `sh`, busybox and a link per applet), `tmp/` and `root/` empty.
struct Host {
    root: PathBuf,
}

impl Host {
    /// Makes it, and returns it with the number of entries in `bin/`.
    fn make(root: &Path) -> (Host, usize) {
        let bin = root.join("bin");
        for dir in ["bin", "tmp", "root"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        let link = |target: &str, name: &str| {
            std::os::unix::fs::symlink(target, bin.join(name)).unwrap();
        };
        link(NATIVE_BASH, "bash");
        link("bash", "sh");
        link("/bin/busybox", "busybox");
        let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
        assert!(list.status.success(), "busybox --list: {list:?}");
        // The applets agent_image.rs's shell layer links (the shells are bash's).
        for applet in String::from_utf8(list.stdout).unwrap().lines() {
            if !matches!(applet, "busybox" | "sh" | "ash" | "bash" | "hush") {
                link("busybox", applet);
            }
        }
        let entries = std::fs::read_dir(&bin).unwrap().count();
        (
            Host {
                root: root.to_path_buf(),
            },
            entries,
        )
    }

    /// [`ENV`] with the host's paths.
    fn env(&self) -> Vec<(String, String)> {
        ENV.iter()
            .map(|&(k, v)| match k {
                "PATH" | "HOME" => (k.to_string(), format!("{}{v}", self.root.display())),
                _ => (k.to_string(), v.to_string()),
            })
            .collect()
    }

    fn path(&self, p: &str) -> String {
        format!("{}{p}", self.root.display())
    }
}

/// A native bash-static session driven as the vkernel drives its own (see
/// `recompiler_vkernel::session`): `bash --noprofile --norc --noediting -i` reads
/// one command line per command from a pipe on its stdin, `eval $'<command>'` with
/// the command's stdin, stdout and stderr redirected from fds the shell holds, and
/// `PROMPT_COMMAND` reports `$?` before each prompt. The vkernel gives each command
/// fresh capture fds and takes the status on a fd of its own; here (with pipes
/// alone, no fd passing) the command's stdout and stderr are the shell's stdout and
/// stderr pipes, and `PROMPT_COMMAND` ends each with a NUL byte, the status after
/// it on stdout: the same writes and reads, one more small write and read per
/// command on this side.
struct NativeSession {
    child: Child,
    commands: ChildStdin,
    out: BufReader<ChildStdout>,
    err: BufReader<ChildStderr>,
    /// Dropped when the session is: the watchdog then stands down.
    _watchdog: mpsc::Sender<()>,
}

impl NativeSession {
    fn start(host: &Host) -> NativeSession {
        let mut child = Command::new(NATIVE_BASH)
            .args(["--noprofile", "--norc", "--noediting", "-i"])
            .env_clear()
            .envs(host.env())
            .current_dir(&host.root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let pid = child.id().to_string();
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(NATIVE_SESSION_LIMIT) {
                eprintln!(
                    "the native bash session is still running after {NATIVE_SESSION_LIMIT:?}: killed"
                );
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
        });
        let mut session = NativeSession {
            commands: child.stdin.take().unwrap(),
            out: BufReader::new(child.stdout.take().unwrap()),
            err: BufReader::new(child.stderr.take().unwrap()),
            child,
            _watchdog: tx,
        };
        // The set-up line, as the vkernel's; its status is the first prompt's (what
        // the shell printed before it, its start-up notices, is dropped).
        session.send(
            "PS1= PS2= PS0=; set +H +m +o history; unset MAILCHECK HISTFILE; \
             exec 3</dev/null 4>&1 5>&2; \
             PROMPT_COMMAND='builtin printf \"\\0%d\\n\" \"$?\"; builtin printf \"\\0\" >&2'\n",
        );
        session.status();
        session
    }

    fn send(&mut self, line: &str) {
        self.commands.write_all(line.as_bytes()).unwrap();
        self.commands.flush().unwrap();
    }

    /// Reads up to the next prompt: (stdout, stderr, status).
    fn status(&mut self) -> (String, String, i64) {
        let read = |r: &mut dyn BufRead, what: &str| {
            let mut buf = Vec::new();
            r.read_until(0, &mut buf).unwrap();
            assert_eq!(
                buf.pop(),
                Some(0),
                "the native bash session ended; its {what} so far: {:?}",
                String::from_utf8_lossy(&buf)
            );
            String::from_utf8(buf).unwrap()
        };
        let stdout = read(&mut self.out, "stdout");
        let mut status = String::new();
        self.out.read_line(&mut status).unwrap();
        let stderr = read(&mut self.err, "stderr");
        let code = status.trim().parse().unwrap_or_else(|_| {
            panic!("the native bash session's status line {status:?}");
        });
        (stdout, stderr, code)
    }

    /// Runs `command`, its stdin empty; checks its output.
    fn run(&mut self, command: &str, want: &str) {
        self.send(&format!("eval {} <&3 >&4 2>&5\n", ansi_c_quote(command)));
        let got = self.status();
        check(
            &format!("native session command {command:?}"),
            (&got.0, &got.1, got.2),
            want,
        );
    }
}

impl Drop for NativeSession {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The daemon's own figure for a `session.run` (its reply's `duration_ms`: the
/// command line written to the shell until its status is back).
fn session_duration(v: &Value) -> Duration {
    Duration::from_secs_f64(v["duration_ms"].as_f64().unwrap_or(0.0) / 1e3)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let plan = if quick { QUICK } else { FULL };
    let target = target_dir();
    let vkernel = target.join("release/vkernel");
    assert!(
        vkernel.is_file(),
        "{} is missing: run `cargo build --release -p recompiler-vkernel` first",
        vkernel.display()
    );
    assert!(
        Path::new(NATIVE_BASH).is_file(),
        "{NATIVE_BASH} is missing (Debian's bash-static)"
    );
    let work = target.join("tmp/bash-bench");
    std::fs::create_dir_all(&work).unwrap();
    let tmp = tempfile::tempdir().unwrap();

    // The bundle, the daemon and its container.
    let started = Instant::now();
    let (key, public) = keygen(tmp.path(), "bench.key");
    let image = agent_image_without_python(&tmp.path().join("image"));
    let bundle = work.join("bundle");
    let _ = std::fs::remove_dir_all(&bundle);
    assert_ok(&build(&image.oci(), &bundle, Some(&key), &[]));
    let megabinary = std::fs::metadata(bundle.join("container.wasm"))
        .unwrap()
        .len();
    eprintln!(
        "image made and built in {:.1?} (megabinary {:.1} MB)",
        started.elapsed(),
        megabinary as f64 / 1e6
    );
    let started = Instant::now();
    let dir = tmp.path().join("daemon");
    std::fs::create_dir_all(&dir).unwrap();
    let daemon = Daemon::start(&vkernel, &dir, &public, &work.join("state"), &bundle);
    eprintln!("daemon up in {:.1?}", started.elapsed());
    let mut c = daemon.client();
    let cid = ok(c.call(&json!({"type": "container.create"})).unwrap())["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let (host, bin_entries) = Host::make(&tmp.path().join("host"));
    let count = format!("{bin_entries}\n");

    println!(
        "bash benchmark: lifted bash-static (the agent image without CPython, {:.1} MB \
         megabinary) through the daemon's socket against native {NATIVE_BASH}; \
         {} runs per side ({} for the pipelines) after {} warm-up runs, alternating in \
         blocks of {}; {} cores\n",
        megabinary as f64 / 1e6,
        plan.runs,
        plan.pipeline_runs,
        plan.warmups,
        plan.block,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // 1. `bash -c 'echo hi'`, start to exit.
    let mut timings = RunTimings::default();
    let (socket, native) = alternate(
        &plan,
        plan.runs,
        &mut |measured| {
            let v = socket_bash_c(&mut c, &cid, "echo hi", "hi\n");
            if measured {
                timings.push(&v);
            }
        },
        &mut |_| native_bash_c(&host, "echo hi", "hi\n"),
    );
    println!("`bash -c 'echo hi'`, start to exit:");
    println!("  through the socket (run request)   {socket}");
    timings.print();
    println!("  native spawn + wait                {native}");
    println!("  ratio socket / native: {}\n", socket.ratio(native));
    let echo_spawn = native;

    // 2. A session command's round trip.
    let env: Vec<String> = ENV.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let started = Instant::now();
    let v = ok(c
        .call(&json!({"type": "session.open", "cid": cid, "env": env, "cwd": "/"}))
        .unwrap());
    assert_eq!(v["started"], true, "{v}");
    let session_open = started.elapsed();
    let started = Instant::now();
    let mut native_session = NativeSession::start(&host);
    let native_open = started.elapsed();
    let mut durations = Vec::new();
    let (socket, native) = alternate(
        &plan,
        plan.runs,
        &mut |measured| {
            let v = socket_session_run(&mut c, &cid, "echo hi", "hi\n");
            if measured {
                durations.push(session_duration(&v));
            }
        },
        &mut |_| native_session.run("echo hi", "hi\n"),
    );
    println!(
        "session: opening it {} through the socket (the shell's start to its first \
         prompt), {} natively",
        fmt(session_open),
        fmt(native_open)
    );
    println!("session command `echo hi`, round trip:");
    println!("  through the socket (session.run)   {socket}");
    println!(
        "    of which in the session          {}",
        Stats::of(durations)
    );
    println!("  native session                     {native}");
    println!("  ratio socket / native session: {}", socket.ratio(native));
    println!(
        "  ratio socket / native `bash -c` spawn (above): {}\n",
        socket.ratio(echo_spawn)
    );

    // 3. Pipelines of two busybox applets.
    let mut timings = RunTimings::default();
    let native_script = format!("ls {} | wc -l", host.path("/bin"));
    let (socket, native) = alternate(
        &plan,
        plan.pipeline_runs,
        &mut |measured| {
            let v = socket_bash_c(&mut c, &cid, "ls /bin | wc -l", &count);
            if measured {
                timings.push(&v);
            }
        },
        &mut |_| native_bash_c(&host, &native_script, &count),
    );
    println!("`bash -c 'ls /bin | wc -l'` ({bin_entries} entries; bash, then busybox ls and wc):");
    println!("  through the socket (run request)   {socket}");
    timings.print();
    println!("  native spawn + wait                {native}");
    println!("  ratio socket / native: {}\n", socket.ratio(native));

    let mut durations = Vec::new();
    let native_command = format!("cd {} && ls | wc -l", host.path("/tmp"));
    let (socket, native) = alternate(
        &plan,
        plan.pipeline_runs,
        &mut |measured| {
            let v = socket_session_run(&mut c, &cid, "cd /tmp && ls | wc -l", "0\n");
            if measured {
                durations.push(session_duration(&v));
            }
        },
        &mut |_| native_session.run(&native_command, "0\n"),
    );
    println!("session command `cd /tmp && ls | wc -l`, round trip:");
    println!("  through the socket (session.run)   {socket}");
    println!(
        "    of which in the session          {}",
        Stats::of(durations)
    );
    println!("  native session                     {native}");
    println!(
        "  ratio socket / native session: {}\n",
        socket.ratio(native)
    );

    let v = ok(c
        .call(&json!({"type": "session.close", "cid": cid}))
        .unwrap());
    assert_eq!(v["exit_code"], 0, "{v}");
    drop(native_session);
    let (rss, threads) = daemon.memory();
    println!(
        "daemon resident memory after the runs: {:.1} MiB ({threads} threads)",
        rss as f64 / f64::from(1 << 20)
    );
}
