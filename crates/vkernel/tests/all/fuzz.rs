//! Fuzz targets of the daemon's request path (bolero): under `cargo test` they
//! run random inputs for a bounded time (`VKERNEL_FUZZ_SECONDS`, default 10 s
//! each) on stable Rust; `cargo bolero test -p recompiler-vkernel --test all
//! fuzz::...` runs them under libFuzzer for as long as one likes.
//!
//! 1. `request_parser`: arbitrary bytes into `parse_request`; it never panics,
//!    and every failure has a code and a message.
//! 2. `request_handler`: valid requests of every type with one field replaced
//!    by an arbitrary JSON value (the type confusions a parser of bytes rarely
//!    reaches), parsed and, when they parse, handled by a daemon with a bundle
//!    and a container: every reply is one JSON line with a status, and the
//!    daemon still answers `health` afterwards.

use std::sync::Mutex;
use std::time::Duration;

use recompiler_vkernel::server::Connection;
use recompiler_vkernel::server::protocol::{Request, parse_request};
use serde_json::{Value, json};

use crate::bundles::SharedBuffer;
use crate::daemon::TestDaemon;

fn budget() -> Duration {
    let secs = std::env::var("VKERNEL_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    Duration::from_secs(secs)
}

#[test]
fn request_parser() {
    // Raw bytes, and valid requests with byte edits (insert, delete, replace):
    // random bytes alone are rarely JSON, so most of the parser is reached
    // through the edited requests.
    let lines: Vec<Vec<u8>> = templates("/b")
        .iter()
        .map(|t| serde_json::to_vec(t).unwrap())
        .collect();
    bolero::check!()
        .with_test_time(budget())
        .with_type::<(u8, Vec<(u16, u8, u8)>, Vec<u8>)>()
        .for_each(|(which, edits, raw)| {
            let bytes = if *which == 0 {
                raw.clone()
            } else {
                let mut b = lines[*which as usize % lines.len()].clone();
                for &(at, op, byte) in edits {
                    let at = at as usize % (b.len() + 1);
                    match op % 3 {
                        0 => b.insert(at, byte),
                        1 if at < b.len() => {
                            b.remove(at);
                        }
                        _ if at < b.len() => b[at] = byte,
                        _ => b.push(byte),
                    }
                }
                b
            };
            match parse_request(&bytes) {
                Ok(_) => {}
                Err((_, e)) => assert!(!e.message.is_empty(), "{e:?}"),
            }
        });
}

/// One valid request of each type (cid "fz" exists in the fuzzed daemon).
fn templates(bundle: &str) -> Vec<Value> {
    vec![
        json!({"type": "hello"}),
        json!({"type": "stats"}),
        json!({"type": "bundle.list"}),
        json!({"type": "bundle.load", "path": bundle}),
        json!({"type": "container.list"}),
        json!({"type": "container.create", "cid": "fz2"}),
        json!({"type": "container.delete", "cid": "fz2"}),
        json!({"type": "exec", "path": "/usr/bin/rust_echo", "hash": format!("sha256:{}", "0".repeat(64)), "cid": "fz"}),
        json!({"type": "run", "cid": "fz", "path": "/usr/bin/misbehave", "argv": ["misbehave"], "env": {"A": "1"}, "cwd": "/", "stdin_text": "x", "timeout_ms": 200}),
        json!({"type": "pipeline", "cid": "fz", "stages": [{"path": "/usr/bin/misbehave"}, {"path": "/usr/bin/stdio_filter"}], "timeout_ms": 200}),
        json!({"type": "stdin", "text": "x", "eof": true}),
        json!({"type": "kill"}),
        json!({"type": "syscall", "cid": "fz", "name": "openat", "args": ["AT_FDCWD", "/workspace/f", "O_RDWR|O_CREAT", 420]}),
        json!({"type": "syscall", "cid": "fz", "name": "read", "args": [3, 16]}),
        json!({"type": "syscall", "cid": "fz", "name": "pwrite", "args": [3, "aGk=", 5]}),
        json!({"type": "syscall", "cid": "fz", "name": "getdents64", "args": [3, 100]}),
        json!({"type": "syscall", "cid": "fz", "name": "renameat", "args": ["AT_FDCWD", "/a", "AT_FDCWD", "/b"]}),
        json!({"type": "syscall", "cid": "fz", "name": "lseek", "args": [3, -1, "SEEK_END"]}),
    ]
}

/// A JSON value from fuzz input: the shapes that confuse field types.
fn value(kind: u8, n: i64, s: &str) -> Value {
    match kind % 9 {
        0 => Value::Null,
        1 => json!(n),
        2 => json!(n as f64 / 3.0),
        3 => json!(s),
        4 => json!([n, s]),
        5 => json!({ s: n }),
        6 => json!(n % 2 == 0),
        7 => json!(u64::MAX),
        _ => json!(-n),
    }
}

#[test]
fn request_handler() {
    let d = TestDaemon::start();
    let mut c = d.client();
    d.container(&mut c);
    let v = c
        .call(&json!({"type": "container.create", "cid": "fz"}))
        .unwrap();
    assert_eq!(v["status"], "ok", "{v}");
    let uid = rustix::process::geteuid().as_raw();
    let templates = templates(&d.bundle_dir.display().to_string());
    let sink = SharedBuffer::default();
    let conn = Mutex::new(Connection::new(uid, Box::new(sink.clone())));
    // A panic fails the test; nothing is observed after one, so unwind safety
    // does not matter here.
    let state = std::panic::AssertUnwindSafe((&d, &conn, &sink, &templates));
    bolero::check!()
        .with_test_time(budget())
        .with_type::<(u8, u8, u8, i64, String)>()
        .for_each(move |(which, field, kind, n, s)| {
            let (d, conn, sink, templates) = *state;
            let mut request = templates[*which as usize % templates.len()].clone();
            let map = request.as_object_mut().unwrap();
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = if *field as usize % (keys.len() + 1) == keys.len() {
                // A field no request has.
                s.clone()
            } else {
                keys[*field as usize % keys.len()].clone()
            };
            map.insert(key, value(*kind, *n, s));
            let line = serde_json::to_vec(&request).unwrap();
            let mut conn = conn.lock().unwrap();
            sink.clear();
            match parse_request(&line) {
                Ok(mut envelope) => {
                    // Keep runs short: a fuzzed timeout may be absent or huge.
                    if let Request::Run(r) = &mut envelope.request {
                        r.timeout_ms = Some(r.timeout_ms.unwrap_or(200).min(200));
                        r.stream = false;
                        r.stdin_open = false;
                    }
                    if let Request::Pipeline(p) = &mut envelope.request {
                        p.timeout_ms = Some(p.timeout_ms.unwrap_or(200).min(200));
                    }
                    d.daemon.handle(&mut conn, envelope);
                    let out = sink.contents();
                    let text = String::from_utf8(out).expect("replies are UTF-8");
                    let lines: Vec<&str> = text.lines().collect();
                    assert_eq!(lines.len(), 1, "{request}: {text}");
                    let reply: Value = serde_json::from_str(lines[0]).unwrap();
                    assert!(
                        matches!(reply["status"].as_str(), Some("ok" | "error" | "denied")),
                        "{request}: {reply}"
                    );
                }
                Err((_, e)) => assert!(!e.message.is_empty()),
            }
        });
    d.daemon.disconnect(&mut conn.lock().unwrap());
    let v = c.call(&json!({"type": "health"})).unwrap();
    assert_eq!(v["status"], "ok", "{v}");
}
