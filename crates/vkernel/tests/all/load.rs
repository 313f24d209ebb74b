//! The daemon under load: 20,000 requests from 16 concurrent clients (normal
//! runs with their output checked, denied runs, trapping runs, exec checks and
//! syscalls), every reply as expected, and nothing leaked: the process's fds and
//! threads are the same before and after, resident memory grows by less than a
//! bound, and no process or zombie is left in any container.
//!
//! The daemon runs in the test process, so `/proc/self` counts the test's own
//! threads and fds too. The other tests of this binary run in parallel with
//! their own daemons, so the measured test re-runs this binary in a child
//! process filtered to itself (see [`in_own_process`]); the client threads are
//! joined before each measurement.
//!
//! `VKERNEL_LOAD_EXECS` overrides the number of requests for local experiments.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::daemon::{TestDaemon, b64, ok};

/// The figure: 20,000 requests from 16 clients.
const DEFAULT_REQUESTS: usize = 20_000;
const CLIENTS: usize = 16;
/// Containers the clients share (four clients each), so runs in one container
/// are concurrent too.
const CONTAINERS: usize = 4;
/// Requests per client before the first measurement: pools, caches, allocator
/// arenas and thread stacks are populated by then (16 × 20 = 320 requests).
const WARM_UP_PER_CLIENT: usize = 20;
/// Set in the child process that runs the measured test alone.
const CHILD_ENV: &str = "VKERNEL_LOAD_CHILD";

/// What one request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// `misbehave` without arguments: prints "misbehave: ok", exits 0.
    Ok,
    /// `stdio_filter` with two lines naming the client and request (so a
    /// reply sent to the wrong connection is noticed).
    Filter,
    /// `misbehave trap`: executes `unreachable`.
    Trap,
    /// A run of `/usr/bin/hello.sh`: in the image, not in the manifest.
    DeniedScript,
    /// A run of a file written into the container (a copy of a listed program).
    DeniedCopy,
    /// The exec check of a listed program in the container.
    ExecOk,
    /// The exec check of a listed program with a hash that is not the manifest's.
    ExecDenied,
    /// `newfstatat` of an image file through the syscall RPC.
    Syscall,
}

/// The mix, repeated: 15 of 20 are runs (2 of them trap), 3 are denied.
const MIX: [Kind; 20] = [
    Kind::Ok,
    Kind::Filter,
    Kind::Ok,
    Kind::Trap,
    Kind::Ok,
    Kind::Filter,
    Kind::DeniedScript,
    Kind::Ok,
    Kind::Filter,
    Kind::ExecOk,
    Kind::Ok,
    Kind::Filter,
    Kind::DeniedCopy,
    Kind::Ok,
    Kind::Trap,
    Kind::Filter,
    Kind::ExecDenied,
    Kind::Ok,
    Kind::Syscall,
    Kind::Ok,
];

/// Where the copy of a listed program is written in each container.
const COPY: &str = "/workspace/copy-of-misbehave";

fn kind_of(client: usize, n: usize) -> Kind {
    MIX[(client + n) % MIX.len()]
}

fn requests() -> usize {
    std::env::var("VKERNEL_LOAD_EXECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_REQUESTS)
}

/// The request for `kind`.
fn request(kind: Kind, cid: &str, client: usize, n: usize) -> Value {
    match kind {
        Kind::Ok => json!({"type": "run", "cid": cid, "path": "/usr/bin/misbehave"}),
        Kind::Filter => json!({"type": "run", "cid": cid, "path": "/usr/bin/stdio_filter",
            "stdin_text": format!("c{client}\nr{n}\n")}),
        Kind::Trap => json!({"type": "run", "cid": cid, "path": "/usr/bin/misbehave",
            "argv": ["misbehave", "trap"]}),
        Kind::DeniedScript => json!({"type": "run", "cid": cid, "path": "/usr/bin/hello.sh"}),
        Kind::DeniedCopy => json!({"type": "run", "cid": cid, "path": COPY}),
        Kind::ExecOk => json!({"type": "exec", "cid": cid, "path": "/usr/bin/misbehave"}),
        Kind::ExecDenied => json!({"type": "exec", "path": "/usr/bin/misbehave",
            "hash": format!("sha256:{}", "0".repeat(64))}),
        Kind::Syscall => json!({"type": "syscall", "cid": cid, "name": "newfstatat",
            "args": ["AT_FDCWD", "/workspace/readme.txt"]}),
    }
}

/// Checks the reply to `kind`'s request (`Err` describes the mismatch).
fn check(kind: Kind, v: &Value, client: usize, n: usize) -> Result<(), String> {
    let expect = |cond: bool, what: &str| {
        if cond {
            Ok(())
        } else {
            Err(format!(
                "{kind:?} (client {client}, request {n}): {what}: {v}"
            ))
        }
    };
    let status = v["status"].as_str().unwrap_or_default();
    match kind {
        Kind::Ok => {
            expect(status == "ok" && v["exit_code"] == 0, "exit 0")?;
            expect(v["end"]["kind"] == "exited", "end exited")?;
            expect(b64(&v["stdout"]) == b"misbehave: ok\n", "stdout")?;
            expect(b64(&v["stderr"]).is_empty(), "no stderr")
        }
        Kind::Filter => {
            let stdin = format!("c{client}\nr{n}\n");
            let stdout = format!("   1: C{client}\n   2: R{n}\n");
            let stderr = format!("lines=2 bytes={}\n", stdin.len());
            expect(status == "ok" && v["exit_code"] == 2, "exit 2")?;
            expect(b64(&v["stdout"]) == stdout.as_bytes(), "stdout")?;
            expect(b64(&v["stderr"]) == stderr.as_bytes(), "stderr")
        }
        Kind::Trap => {
            expect(status == "ok" && v["exit_code"] == 134, "exit 134")?;
            expect(v["end"]["kind"] == "trapped", "end trapped")
        }
        Kind::DeniedScript | Kind::DeniedCopy => {
            let path = if kind == Kind::DeniedCopy {
                COPY
            } else {
                "/usr/bin/hello.sh"
            };
            expect(status == "denied", "denied")?;
            expect(
                v["reason"].as_str().is_some_and(|r| r.contains(path)),
                "reason names the path",
            )
        }
        Kind::ExecOk => {
            expect(status == "ok", "allowed")?;
            expect(v["entry_point"] == "_start", "entry point")
        }
        Kind::ExecDenied => {
            expect(status == "denied", "denied")?;
            expect(v["kind"] == "hash_mismatch", "hash mismatch")
        }
        Kind::Syscall => {
            expect(status == "ok", "ok")?;
            expect(v["stat"]["st_size"] == 21, "st_size")
        }
    }
}

/// What the clients saw.
#[derive(Default)]
struct Tally {
    by_kind: BTreeMap<Kind, usize>,
    /// Replies that were not as expected (the first few described).
    unexpected: usize,
    first_unexpected: Vec<String>,
}

/// Runs `per_client` requests on each of 16 connections at once; joins them.
fn run_clients(d: &TestDaemon, cids: &[String], per_client: &[usize]) -> Tally {
    let results: Vec<Tally> = std::thread::scope(|s| {
        let handles: Vec<_> = per_client
            .iter()
            .enumerate()
            .map(|(client, &count)| {
                let cid = cids[client % cids.len()].clone();
                s.spawn(move || {
                    let mut c = d.client();
                    let mut tally = Tally::default();
                    for n in 0..count {
                        let kind = kind_of(client, n);
                        let v = c.call(&request(kind, &cid, client, n)).unwrap();
                        match check(kind, &v, client, n) {
                            Ok(()) => *tally.by_kind.entry(kind).or_default() += 1,
                            Err(e) => {
                                tally.unexpected += 1;
                                if tally.first_unexpected.len() < 5 {
                                    tally.first_unexpected.push(e);
                                }
                            }
                        }
                    }
                    tally
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all = Tally::default();
    for t in results {
        for (k, n) in t.by_kind {
            *all.by_kind.entry(k).or_default() += n;
        }
        all.unexpected += t.unexpected;
        all.first_unexpected.extend(t.first_unexpected);
    }
    all
}

/// The daemon's stats through a fresh connection (closed again), once the
/// only open connection is that one.
fn settled_stats(d: &TestDaemon) -> Value {
    let mut last = Value::Null;
    for _ in 0..500 {
        let v = ok(d.client().call(&json!({"type": "stats"})).unwrap());
        if v["connections_open"] == 1 {
            return v;
        }
        last = v;
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("connections did not close: {last}");
}

/// Polls until the host figures (threads, fds) equal `want`'s, for up to 5 s:
/// a connection's thread ends a moment after its client hangs up.
fn stats_matching(d: &TestDaemon, want: &Value) -> Value {
    let mut v = settled_stats(d);
    for _ in 0..250 {
        if v["host"]["threads"] == want["host"]["threads"]
            && v["host"]["fds"] == want["host"]["fds"]
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        v = settled_stats(d);
    }
    v
}

fn delta(after: &Value, before: &Value, field: &str) -> u64 {
    after[field].as_u64().unwrap() - before[field].as_u64().unwrap()
}

/// Runs the test alone in a child process of this test binary (the parent's
/// fds and threads are shared with every test running in parallel). Returns
/// false in the parent, after checking the child passed; true in the child,
/// which then does the work.
fn in_own_process(name: &str) -> bool {
    if std::env::var_os(CHILD_ENV).is_some() {
        return true;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(out.status.success(), "the load test failed in its process");
    assert!(
        stdout.contains("1 passed"),
        "the child process ran no test named {name}"
    );
    false
}

#[test]
fn twenty_thousand_requests_from_16_clients_leak_nothing() {
    if !in_own_process("load::twenty_thousand_requests_from_16_clients_leak_nothing") {
        return;
    }
    let total = requests();
    let d = TestDaemon::start();

    // Containers, each with a copy of a listed program written into it.
    let cids: Vec<String> = {
        let mut c = d.client();
        let wasm = recompiler_testkit::guests::wasm("misbehave");
        (0..CONTAINERS)
            .map(|_| {
                let cid = d.container(&mut c);
                let mut call = |name: &str, args: Value| {
                    ok(
                        c.call(&json!({"type": "syscall", "cid": cid, "name": name, "args": args}))
                            .unwrap(),
                    )
                };
                let fd = call(
                    "openat",
                    json!(["AT_FDCWD", COPY, "O_WRONLY|O_CREAT", 0o755]),
                )["ret"]
                    .clone();
                call("write", json!([fd, crate::daemon::enc(&wasm)]));
                call("close", json!([fd]));
                cid
            })
            .collect()
    };

    let warm_up = run_clients(&d, &cids, &[WARM_UP_PER_CLIENT; CLIENTS]);
    assert_eq!(warm_up.unexpected, 0, "{:#?}", warm_up.first_unexpected);
    let before = settled_stats(&d);

    // The measured load: `total` requests split over the clients.
    let per_client: Vec<usize> = (0..CLIENTS)
        .map(|i| total / CLIENTS + usize::from(i < total % CLIENTS))
        .collect();
    let mut planned: BTreeMap<Kind, usize> = BTreeMap::new();
    for (client, &count) in per_client.iter().enumerate() {
        for n in 0..count {
            *planned.entry(kind_of(client, n)).or_default() += 1;
        }
    }
    let started = Instant::now();
    let tally = run_clients(&d, &cids, &per_client);
    let elapsed = started.elapsed();
    let after = stats_matching(&d, &before);

    let runs = |kinds: &[Kind]| -> u64 {
        kinds
            .iter()
            .map(|k| planned.get(k).copied().unwrap_or(0) as u64)
            .sum()
    };
    let (b, a) = (&before["host"], &after["host"]);
    let rss_growth = a["rss_bytes"].as_i64().unwrap() - b["rss_bytes"].as_i64().unwrap();
    println!(
        "load: {total} requests from {CLIENTS} clients in {:.1} s ({:.0}/s); {planned:?}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    println!(
        "host before: {b}\nhost after:  {a}\nrss growth: {:.2} MiB",
        rss_growth as f64 / (1 << 20) as f64
    );

    // Every reply as expected, each kind as many times as planned.
    assert_eq!(tally.unexpected, 0, "{:#?}", tally.first_unexpected);
    assert_eq!(tally.by_kind, planned);
    // The daemon's own counters agree.
    assert_eq!(
        delta(&after, &before, "execs"),
        runs(&[Kind::Ok, Kind::Filter, Kind::Trap]),
        "{after}"
    );
    assert_eq!(delta(&after, &before, "trapped"), runs(&[Kind::Trap]));
    assert_eq!(
        delta(&after, &before, "denied"),
        runs(&[Kind::DeniedScript, Kind::DeniedCopy, Kind::ExecDenied])
    );
    for field in ["errors", "timed_out", "killed"] {
        assert_eq!(delta(&after, &before, field), 0, "{field}: {after}");
    }
    // Nothing left behind.
    assert_eq!(after["processes"], 0, "{after}");
    assert_eq!(after["zombies"], 0, "{after}");
    assert_eq!(a["threads"], b["threads"], "threads leaked");
    assert_eq!(a["fds"], b["fds"], "fds leaked");
    // After the warm-up, the engine's instance slots, the code and the
    // allocator's per-thread arenas exist; what each request allocates (a few
    // KiB of JSON, output, a process and its fd table) is freed with it. A
    // leak of 2 KiB per request would be 40 MiB over 20,000; the bound leaves
    // room for allocator fragmentation across 16 threads' arenas.
    const RSS_GROWTH_BOUND: i64 = 32 << 20;
    assert!(
        rss_growth < RSS_GROWTH_BOUND,
        "resident memory grew by {rss_growth} bytes"
    );
}
