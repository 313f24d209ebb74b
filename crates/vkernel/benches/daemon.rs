//! The daemon through its socket, against native process creation run in the
//! same benchmark.
//!
//! `cargo bench -p recompiler-vkernel --bench daemon` (`-- --quick` for a short run)
//!
//! Prints:
//! - the wall time of one exec of `stdio_filter` (a small C program: reads
//!   stdin, writes it numbered and upper-cased) through the socket, from the
//!   client sending `run` to the reply arriving, median and p99, against the
//!   same C program compiled natively, started with `std::process::Command`
//!   (which uses posix_spawn(3) on Linux when no `pre_exec` hook, uid or
//!   process group is set) and waited for, its stdin, stdout and stderr piped
//!   the same way; the daemon's own timings of the run (instantiate, run) too;
//! - execs per second with 1 and 8 concurrent clients (one connection each);
//! - the daemon's resident memory: idle (bundle loaded, one container), after
//!   the runs above, with 100 containers, and with 50 processes blocked
//!   reading their stdin (streaming runs with `stdin_open`, across the 100
//!   containers).
//!
//! The daemon is the real `vkernel serve` binary in a child process (cargo
//! builds a package's binaries for its benchmarks and gives their path in
//! `CARGO_BIN_EXE_vkernel`): the exec crosses a process boundary as it does
//! for a real client, and the resident memory measured is the daemon's alone
//! (`/proc/PID/status`), not the benchmark's. The bundle is the daemon tests'
//! (five programs: `stdio_filter`, `files_args`, `bigdata`, `rust_echo`,
//! `misbehave`), made with the tests' helper and signed with a fresh key.

#[path = "../tests/all/bundles.rs"]
#[allow(
    dead_code,
    reason = "the tests' helper; the benchmark uses only write_programs"
)]
mod bundles;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use recompiler_oci::{Meta, Rootfs};
use recompiler_vkernel::client::Client;
use serde_json::{Value, json};

/// The programs of the bundle, as in the daemon tests.
const PROGRAMS: &[(&str, &str)] = &[
    ("/usr/bin/stdio_filter", "stdio_filter"),
    ("/usr/bin/files_args", "files_args"),
    ("/usr/bin/bigdata", "bigdata"),
    ("/usr/bin/rust_echo", "rust_echo"),
    ("/usr/bin/misbehave", "misbehave"),
];

/// The input of every exec, on both sides.
const STDIN: &[u8] = b"hello\nworld\n";

/// The daemon in its own process, and its socket.
struct Daemon {
    child: Child,
    socket: PathBuf,
}

impl Daemon {
    fn start(tmp: &Path) -> Daemon {
        let key_path = tmp.join("bench.key");
        let public = recompiler_manifest::sign::write_key_pair(&key_path, false).unwrap();
        let key = recompiler_manifest::sign::load_signing_key(&key_path).unwrap();
        let bundle = tmp.join("bundle");
        std::fs::create_dir_all(&bundle).unwrap();
        let mut rootfs = Rootfs::new();
        rootfs
            .insert_file(
                "/workspace/readme.txt",
                b"hello from the image\n".to_vec(),
                Meta {
                    mode: 0o644,
                    uid: 0,
                    gid: 0,
                    mtime: 1_700_000_000,
                },
            )
            .unwrap();
        bundles::write_programs(&bundle, &key, PROGRAMS, rootfs);
        let socket = tmp.join("vkernel.sock");
        let child = Command::new(env!("CARGO_BIN_EXE_vkernel"))
            .arg("serve")
            .arg("--socket")
            .arg(&socket)
            .arg("--trust")
            .arg(&public)
            .arg("--state")
            .arg(tmp.join("state"))
            .arg("--bundle")
            .arg(&bundle)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let daemon = Daemon { child, socket };
        let deadline = Instant::now() + Duration::from_secs(120);
        while Client::connect(&daemon.socket).is_err() {
            assert!(Instant::now() < deadline, "the daemon did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        daemon
    }

    fn client(&self) -> Client {
        Client::connect(&self.socket).unwrap()
    }

    /// The daemon's resident memory and threads, from `/proc/PID/status`.
    fn memory(&self) -> (u64, u64) {
        match recompiler_vkernel::server::process_memory(&self.child.id().to_string()) {
            (Some(rss), Some(threads)) => (rss, threads),
            other => panic!("/proc/{}/status: {other:?}", self.child.id()),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ok(v: Value) -> Value {
    assert_eq!(v["status"], "ok", "{v}");
    v
}

fn b64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

fn run_request(cid: &str) -> Value {
    json!({"type": "run", "cid": cid, "path": "/usr/bin/stdio_filter",
        "stdin": base64::engine::general_purpose::STANDARD.encode(STDIN)})
}

/// Median and p99.
fn stats(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (p(0.5), p(0.99))
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// One native spawn + wait of the program, stdio piped; returns its stdout.
fn native_exec(path: &Path) -> Vec<u8> {
    let mut child = Command::new(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Dropped after the write: the program sees end of file.
    child.stdin.take().unwrap().write_all(STDIN).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "native stdio_filter");
    out.stdout
}

/// Execs per second with `clients` connections at once, `per_client` each.
fn throughput(d: &Daemon, cid: &str, clients: usize, per_client: usize) -> f64 {
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                let mut c = d.client();
                for _ in 0..per_client {
                    let v = ok(c.call(&run_request(cid)).unwrap());
                    assert_eq!(v["exit_code"], 2, "{v}");
                }
            });
        }
    });
    (clients * per_client) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let iterations = if quick { 100 } else { 2000 };
    let tmp = tempfile::tempdir().unwrap();
    let d = Daemon::start(tmp.path());
    let mut c = d.client();
    let cid = ok(c.call(&json!({"type": "container.create"})).unwrap())["cid"]
        .as_str()
        .unwrap()
        .to_string();
    std::thread::sleep(Duration::from_millis(200));
    let (rss_idle, threads_idle) = d.memory();

    // Both sides give the same output.
    let native = recompiler_testkit::guests::get("stdio_filter")
        .native()
        .expect("stdio_filter is a C guest, built natively too");
    let v = ok(c.call(&run_request(&cid)).unwrap());
    assert_eq!(b64(&v["stdout"]), native_exec(native), "{v}");

    println!(
        "daemon benchmark ({iterations} execs per latency figure; medians, p99 in brackets)\n"
    );
    // Latency: the two sides alternate in blocks, so drift in the machine's
    // load falls on both.
    for _ in 0..iterations / 10 {
        ok(c.call(&run_request(&cid)).unwrap());
        native_exec(native);
    }
    let (mut socket, mut spawn) = (Vec::new(), Vec::new());
    let (mut instantiate, mut run, mut total) = (Vec::new(), Vec::new(), Vec::new());
    for block in 0..iterations / 100 {
        for side in [block % 2, 1 - block % 2] {
            for _ in 0..100 {
                let t = Instant::now();
                if side == 0 {
                    let v = c.call(&run_request(&cid)).unwrap();
                    socket.push(t.elapsed());
                    let timings = &ok(v)["timings"];
                    let t = |f: &str| Duration::from_micros(timings[f].as_u64().unwrap());
                    instantiate.push(t("instantiate_us"));
                    run.push(t("run_us"));
                    total.push(t("total_us"));
                } else {
                    native_exec(native);
                    spawn.push(t.elapsed());
                }
            }
        }
    }
    let (socket_med, socket_p99) = stats(socket);
    let (spawn_med, spawn_p99) = stats(spawn);
    println!(
        "exec of stdio_filter through the socket: {:.1} us [{:.1}]",
        us(socket_med),
        us(socket_p99)
    );
    for (name, samples) in [
        ("instantiate", instantiate),
        ("run", run),
        ("total (in the daemon)", total),
    ] {
        let (m, p) = stats(samples);
        println!("  of which {name}: {:.0} us [{:.0}]", us(m), us(p));
    }
    println!(
        "native posix_spawn + wait of stdio_filter: {:.1} us [{:.1}]",
        us(spawn_med),
        us(spawn_p99)
    );
    println!(
        "ratio socket / native: median x{:.2}, p99 x{:.2}\n",
        socket_med.as_secs_f64() / spawn_med.as_secs_f64(),
        socket_p99.as_secs_f64() / spawn_p99.as_secs_f64()
    );

    // Throughput: 1 and 8 clients, all on one container.
    let per = if quick { 100 } else { 2000 };
    let one = throughput(&d, &cid, 1, per);
    let eight = throughput(&d, &cid, 8, per / 4);
    println!(
        "execs/s: 1 client {one:.0}, 8 clients {eight:.0} ({} cores)\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    std::thread::sleep(Duration::from_millis(200));
    let (rss_used, threads_used) = d.memory();

    // 100 containers, then 50 processes blocked reading stdin across them.
    let mut cids = vec![cid.clone()];
    for _ in 1..100 {
        let v = ok(c.call(&json!({"type": "container.create"})).unwrap());
        cids.push(v["cid"].as_str().unwrap().to_string());
    }
    std::thread::sleep(Duration::from_millis(200));
    let (rss_containers, threads_containers) = d.memory();
    let blocked: Vec<Client> = (0..50)
        .map(|i| {
            let mut b = d.client();
            b.send(
                &json!({"type": "run", "cid": cids[i * 2], "path": "/usr/bin/stdio_filter",
                "stream": true, "stdin_open": true, "stdin_text": "first line\n"}),
            )
            .unwrap();
            let started = b.recv().unwrap();
            assert_eq!(started["event"], "started", "{started}");
            b
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let (rss_blocked, threads_blocked) = d.memory();
    let stats_reply = ok(c.call(&json!({"type": "stats"})).unwrap());
    assert_eq!(stats_reply["processes"], 50, "{stats_reply}");
    assert_eq!(stats_reply["containers"], 100, "{stats_reply}");
    drop(blocked);

    println!("daemon resident memory (threads):");
    for (what, rss, threads) in [
        ("idle (bundle loaded, 1 container)", rss_idle, threads_idle),
        ("after the runs above", rss_used, threads_used),
        ("100 containers", rss_containers, threads_containers),
        (
            "100 containers, 50 processes blocked on stdin",
            rss_blocked,
            threads_blocked,
        ),
    ] {
        println!("  {what:<48} {:>7.1} MiB ({threads})", mib(rss));
    }
    println!(
        "  per container {:.1} KiB, per blocked process {:.1} KiB",
        rss_containers.saturating_sub(rss_used) as f64 / 99.0 / 1024.0,
        rss_blocked.saturating_sub(rss_containers) as f64 / 50.0 / 1024.0
    );
}
