//! A real containerd (Debian's package) on a private root, state directory and
//! socket, started for a test or a benchmark and stopped when dropped. The
//! shim's directory goes first on its PATH, so `--runtime
//! io.containerd.recompiler.v1` finds `containerd-shim-recompiler-v1`; runc is
//! its default runtime. The node's settings (trusted key, code cache) are given
//! as containerd's environment, as a systemd unit would.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const RUNTIME: &str = "io.containerd.recompiler.v1";
/// The entry of CPython's reactor in the agent image.
pub const PYTHON_ENTRY: (&str, &str) = ("/usr/bin/python3", "run");
pub const NAMESPACE: &str = "recompiler-test";

/// The shim binary Cargo built for this package.
pub fn shim_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_containerd-shim-recompiler-v1"))
}

/// Panics with a clear message unless the test can run containerd.
pub fn require_root_and_containerd() {
    let uid = rustix::process::geteuid();
    assert!(
        uid.is_root(),
        "the containerd tests start containerd and mount snapshots: run them as root \
         (./scripts/test does on the project's machines)"
    );
    for tool in ["containerd", "ctr", "runc"] {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false)
            || Path::new("/usr/sbin").join(tool).is_file();
        assert!(
            found,
            "{tool} is not installed (./scripts/test installs Debian's containerd and runc)"
        );
    }
}

pub struct Containerd {
    pub dir: PathBuf,
    pub socket: PathBuf,
    child: Option<Child>,
}

impl Containerd {
    /// Starts containerd in `dir` (which must be short: socket paths are
    /// limited to 108 bytes) with `env` added to its environment.
    pub fn start(dir: &Path, env: &[(&str, &Path)]) -> Containerd {
        std::fs::create_dir_all(dir).unwrap();
        let d = dir.display();
        let config = format!(
            r#"version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{d}/containerd.sock"

[ttrpc]
  address = "{d}/containerd.sock.ttrpc"

[debug]
  level = "info"

[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
"#
        );
        std::fs::write(dir.join("config.toml"), config).unwrap();
        let shim_dir = shim_binary().parent().unwrap().to_path_buf();
        let mut path = OsString::from(shim_dir);
        path.push(":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
        let mut cmd = Command::new("containerd");
        cmd.arg("--config")
            .arg(dir.join("config.toml"))
            .env("PATH", path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start containerd: {e}"));
        let c = Containerd {
            dir: dir.to_path_buf(),
            socket: dir.join("containerd.sock"),
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = c.ctr().arg("version").output().unwrap();
            if out.status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "containerd did not come up in 30 s:\n{}",
                c.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        c
    }

    /// `ctr` on this containerd, in the test namespace.
    pub fn ctr(&self) -> Command {
        let mut cmd = Command::new("ctr");
        cmd.arg("--address")
            .arg(&self.socket)
            .arg("--namespace")
            .arg(NAMESPACE)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `ctr ARGS` and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.ctr().args(args).output().unwrap()
    }

    /// Runs `ctr ARGS`, panicking with its output and containerd's log if it fails.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "ctr {args:?} failed ({}):\n{}\n{}\n--- containerd log (tail) ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            tail(&self.log(), 40)
        );
        out
    }

    /// Imports an OCI archive for `platform`.
    pub fn import(&self, archive: &Path, platform: &str) {
        self.ok(&[
            "images",
            "import",
            "--platform",
            platform,
            archive.to_str().unwrap(),
        ]);
    }

    /// The task state directory containerd keeps for container `id`.
    pub fn task_dir(&self, id: &str) -> PathBuf {
        self.dir
            .join("state/io.containerd.runtime.v2.task")
            .join(NAMESPACE)
            .join(id)
    }

    /// containerd's log so far (the shims' log lines included).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = rustix::process::Pid::from_child(&child);
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        // Snapshots a failed test left mounted would keep the directory busy.
        for target in mounts_under(&self.dir) {
            let _ = Command::new("umount").arg("-l").arg(&target).status();
        }
    }
}

/// Mount points at or under `dir`, deepest first.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let prefix = dir.display().to_string();
    let mut found: Vec<String> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&prefix))
        .map(str::to_string)
        .collect();
    found.sort_by_key(|m| std::cmp::Reverse(m.len()));
    found
}

/// Pids of running `containerd-shim-recompiler-v1` processes of this
/// containerd for container `id`.
pub fn shim_processes(c: &Containerd, id: &str) -> Vec<u32> {
    let address = c.socket.display().to_string();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_shim = args
            .first()
            .is_some_and(|a| a.ends_with(b"containerd-shim-recompiler-v1"));
        let for_id = args
            .windows(2)
            .any(|w| w[0] == b"-id" && w[1] == id.as_bytes());
        let ours = args
            .windows(2)
            .any(|w| w[0] == b"-address" && w[1] == address.as_bytes());
        if is_shim && for_id && ours {
            pids.push(pid);
        }
    }
    pids
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Builds `image` (an `oci:` reference) with `key` into the bundle directory
/// `dir/bundle` and packages it as the OCI archive `dir/<file name>` named
/// `name`; `entries` name reactors' entries. Returns (bundle dir, archive).
pub fn bundle_image(
    image: &str,
    key: &Path,
    dir: &Path,
    name: &str,
    entries: &[(&str, &str)],
) -> (PathBuf, PathBuf) {
    use recompiler_builder::bundle::BundlePaths;
    use recompiler_builder::oci_archive::OciArchive;
    use recompiler_builder::pipeline::{BuildOptions, build};

    let bundle = dir.join("bundle");
    std::fs::create_dir_all(&bundle).unwrap();
    let archive = dir.join("oci.tar");
    build(&BuildOptions {
        image: image.to_string(),
        platform: None,
        paths: BundlePaths::in_dir(&bundle),
        key: Some(key.to_path_buf()),
        adds: Vec::new(),
        entries: entries
            .iter()
            .map(|(p, e)| (p.to_string(), e.to_string()))
            .collect(),
        strict: false,
        progress: false,
        oci_archive: Some(OciArchive {
            path: archive.clone(),
            name: name.to_string(),
        }),
    })
    .unwrap_or_else(|e| panic!("building {image}: {e:#}"));
    (bundle, archive)
}
