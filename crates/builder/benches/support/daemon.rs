//! A `vkernel serve` daemon in a child process, for the builder's benchmarks
//! (`agent.rs`, `bash.rs`): the requests cross a process boundary as a client's
//! do, and the resident memory read from `/proc/PID/status` is the daemon's
//! alone. A builder bench gets no `CARGO_BIN_EXE_vkernel`, and cargo's build
//! lock is held while a bench runs, so the release binary is built beforehand
//! (`cargo build --release -p recompiler-vkernel`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use recompiler_vkernel::client::Client;
use serde_json::Value;

/// How long a daemon may take to come up: a fresh compile of CPython's
/// megabinary takes minutes on 2 cores.
const DAEMON_START_TIMEOUT: Duration = Duration::from_secs(1800);

/// target/ (the parent of `CARGO_TARGET_TMPDIR`, target/tmp).
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp")
        .to_path_buf()
}

/// A daemon in its own process, and its socket.
pub struct Daemon {
    child: Child,
    socket: PathBuf,
}

impl Daemon {
    /// Starts `vkernel serve` with its socket in `dir`, trusting `public`, with the
    /// code cache in `state`, `bundle` loaded; waits until its socket answers.
    pub fn start(vkernel: &Path, dir: &Path, public: &Path, state: &Path, bundle: &Path) -> Daemon {
        let socket = dir.join("vkernel.sock");
        let child = Command::new(vkernel)
            .arg("serve")
            .arg("--socket")
            .arg(&socket)
            .arg("--trust")
            .arg(public)
            .arg("--state")
            .arg(state)
            .arg("--bundle")
            .arg(bundle)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut daemon = Daemon { child, socket };
        let deadline = Instant::now() + DAEMON_START_TIMEOUT;
        while Client::connect(&daemon.socket).is_err() {
            assert!(
                daemon.child.try_wait().unwrap().is_none(),
                "the daemon exited"
            );
            assert!(Instant::now() < deadline, "the daemon did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon
    }

    pub fn client(&self) -> Client {
        Client::connect(&self.socket).unwrap()
    }

    /// The daemon's resident memory and threads, from `/proc/PID/status`.
    pub fn memory(&self) -> (u64, u64) {
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

/// `v`, asserting that it is an `ok` reply.
pub fn ok(v: Value) -> Value {
    assert_eq!(v["status"], "ok", "{v}");
    v
}

/// A base64 field of a reply, decoded as text.
pub fn b64(v: &Value) -> String {
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .unwrap(),
    )
    .unwrap()
}
