//! Debian's bash-static (bash 5.2.15), lifted and run by the vkernel as an image's
//! `/bin/bash`: a corpus of bash scripts (`tests/bash/NNN-name.sh`), each run
//! natively by the same binary and in a fresh container; stdout, stderr and the exit
//! status compared exactly (issue 7).
//!
//! Both sides see the same tree (see [`populate`]): `/bin/bash`, busybox with its
//! applets as `/bin/<applet>` links, `/etc/passwd` and `/etc/group` for root, `/tmp`
//! (1777), the corpus under `/corpus`, the working directory `/work`. The native run
//! is a chroot into a fresh copy of that tree with the devices the vkernel provides
//! (`/dev/null`, `zero`, `full`, `random`, `urandom`) and `/dev/fd`, `/dev/std*` as
//! the usual links into a private `/proc`, the vkernel's `RLIMIT_NOFILE`, and the
//! same environment (`PATH=/bin HOME=/root LC_ALL=C`, nothing else) and stdin (the
//! script's `.stdin` file, else empty). The native side needs root (the chroot, its
//! mount namespace and device nodes) and util-linux's `unshare` and `prlimit`.
//!
//! `BASH_CASE=substr` runs only the scripts whose names contain it; `BASH_PRINT=1`
//! prints each result with the lifted run's time; `LIFT_STRACE=1` passes through to
//! the lifted runs.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use recompiler_vkernel::container::{Container, ExecRequest, LoadedBundle, Runtime};
use recompiler_vkernel::kernel::Limits;

use crate::image::{
    BuiltOnce, Image, assert_ok, build, keygen, lifted_env, load_once, put, symlink,
};

/// The corpus, in the source tree.
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bash");

/// The environment of both sides, and nothing else.
const ENV: &[(&str, &str)] = &[("PATH", "/bin"), ("HOME", "/root"), ("LC_ALL", "C")];

/// The working directory of both sides (empty and writable at the start).
const CWD: &str = "/work";

/// Wall-clock limit of one run, on either side.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Scripts run at once (the test machines have two cores).
const THREADS: usize = 2;

/// The feature families the corpus must exercise: each needle occurs in some script.
const FAMILIES: &[(&str, &[&str])] = &[
    (
        "loops",
        &["for ", "while ", "until ", "for ((", "break", "continue"],
    ),
    ("functions", &["() {", "function ", "return ", "local "]),
    ("arrays", &["+=(", "${!arr[@]}", "mapfile", "readarray"]),
    ("associative arrays", &["declare -A"]),
    ("namerefs", &["declare -n", "local -n"]),
    (
        "parameter expansion",
        &[
            "${path##*/}",
            "${path%.*}",
            "${s^^}",
            "@Q}",
            ":-",
            ":=",
            ":?",
        ],
    ),
    ("arithmetic", &["$((", "((", "let ", "/ 0", "2 ** 63"]),
    ("read", &["read -r", "<<<", "read -ra", "read -t", "IFS="]),
    ("here-documents", &["<<EOF", "<<'EOF'", "<<-EOF"]),
    ("pipelines", &[" | ", "PIPESTATUS", "|&"]),
    ("command substitution", &["$(", "`"]),
    ("subshells", &["( ", "$BASHPID", "BASH_SUBSHELL"]),
    (
        "traps",
        &["trap ", " EXIT", " ERR", "kill -INT $$", "trap - "],
    ),
    (
        "strict mode",
        &["set -euo pipefail", "set -e", "set -u", "pipefail"],
    ),
    (
        "redirections",
        &["2>&1", "/dev/null", ">>", "exec 3", "{myfd}"],
    ),
    ("special files", &["/dev/stdin", "/dev/fd/", "mkfifo"]),
    ("process substitution", &["<(", ">("]),
    ("globbing", &["nullglob", "extglob", "globstar", "*.txt"]),
    ("case", &["case ", "esac", ";;&", ";&"]),
    ("printf", &["printf '%", "printf -v"]),
    ("regex", &["=~", "BASH_REMATCH"]),
    ("jobs", &["wait ", "$!", "coproc"]),
    ("limits", &["ulimit -n", "ulimit -s"]),
    ("introspection", &["type ", "command -v", "hash", "set -x"]),
    ("options", &["getopts", "shopt -s"]),
    ("seeded random", &["RANDOM=42"]),
    ("sleeping and timeouts", &["sleep ", "read -t", "timeout "]),
    (
        "busybox tools",
        &[
            "sort", "uniq", "wc ", "sed ", "awk ", "grep ", "cut ", "tr ", "xargs ", "seq ",
            "head ", "tail ", "find ", "ls ",
        ],
    ),
    (
        "failure paths",
        &[
            "exit 3",
            "nosuchcommand",
            "eval 'if true then",
            "${arr_unset[0]}",
            "yes | head -1",
            "kill -9",
        ],
    ),
];

/// One script of the corpus.
struct Script {
    /// The file name without `.sh` (`NNN-name`).
    name: String,
    source: String,
    /// The `NNN-name.stdin` file, else empty.
    stdin: Vec<u8>,
}

/// What a run printed and how it ended: (stdout, stderr, exit code; 128 + signal for
/// a run a signal ended).
type Outcome = (String, String, i32);

/// The corpus, in name order.
fn corpus() -> Vec<Script> {
    let mut scripts: Vec<Script> = std::fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            Script {
                source: std::fs::read_to_string(&p).unwrap(),
                stdin: std::fs::read(p.with_extension("stdin")).unwrap_or_default(),
                name,
            }
        })
        .collect();
    scripts.sort_by(|a, b| a.name.cmp(&b.name));
    scripts
}

/// Every applet name this busybox has (`busybox --list`).
fn applet_names() -> Vec<String> {
    let out = Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .expect("/bin/busybox (busybox-static; ./scripts/test installs it)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|a| !a.is_empty() && !a.contains('/'))
        .collect()
}

/// Copies the directory `from` to `to` (regular files and directories).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

fn mkdir(root: &Path, path: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let dir = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The tree both sides run in, but for `/bin/bash` and `/bin/busybox` (the caller puts
/// them). Every busybox applet is linked as `/bin/<applet>` as `busybox --install -s`
/// does, except `sh`: `/bin/sh` is bash, as in an image whose shell is bash (bash's
/// builtins shadow busybox's `echo`, `printf`, `test`, `kill` ... by name anyway).
fn populate(root: &Path, applets: &[String]) {
    for applet in applets {
        if applet != "busybox" && applet != "sh" {
            symlink(root, &format!("/bin/{applet}"), "busybox");
        }
    }
    symlink(root, "/bin/sh", "bash");
    put(
        root,
        "/etc/passwd",
        b"root:x:0:0:root:/root:/bin/bash\n",
        0o644,
    );
    put(root, "/etc/group", b"root:x:0:\n", 0o644);
    mkdir(root, "/tmp", 0o1777);
    mkdir(root, "/root", 0o700);
    mkdir(root, CWD, 0o755);
    copy_dir(Path::new(CORPUS), &root.join("corpus"));
}

/// The image: [`populate`] with bash-static as `/bin/bash` and busybox-static.
fn bash_bundle(dir: &Path, applets: &[String]) -> (PathBuf, PathBuf) {
    let bash = std::fs::read("/bin/bash-static")
        .expect("/bin/bash-static (Debian's bash-static; ./scripts/test installs it)");
    let busybox = std::fs::read("/bin/busybox")
        .expect("/bin/busybox (Debian's busybox-static; ./scripts/test installs it)");
    let mut image = Image::new(&dir.join("img"), "bash");
    image.layer(|root| {
        put(root, "/bin/bash", &bash, 0o755);
        put(root, "/bin/busybox", &busybox, 0o755);
        populate(root, applets);
    });
    let (key, public) = keygen(dir, "build.key");
    let bundle = dir.join("bundle");
    assert_ok(&build(&image.oci(), &bundle, Some(&key), &[]));
    (bundle, public)
}

/// The bash image, built and signed once per test binary, and a runtime with it loaded.
fn load_bash(applets: &[String]) -> (Runtime, Arc<LoadedBundle>) {
    static BUILT: std::sync::OnceLock<BuiltOnce> = std::sync::OnceLock::new();
    load_once(&BUILT, "bash-bundle", |dir| bash_bundle(dir, applets))
}

/// The native side's root for one script: [`populate`], the two programs (hard links
/// to `programs`' copies when the filesystem allows), the vkernel's devices and the
/// usual `/dev/fd` and `/dev/std*` links, and an empty `/proc` to mount on.
fn native_root(root: &Path, programs: &Path, applets: &[String]) {
    mkdir(root, "/bin", 0o755);
    for name in ["bash", "busybox"] {
        let (from, to) = (programs.join(name), root.join("bin").join(name));
        if std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to).unwrap();
        }
    }
    populate(root, applets);
    mkdir(root, "/dev", 0o755);
    mkdir(root, "/proc", 0o555);
    for (name, minor) in [
        ("null", "3"),
        ("zero", "5"),
        ("full", "7"),
        ("random", "8"),
        ("urandom", "9"),
    ] {
        let path = root.join("dev").join(name);
        let out = Command::new("mknod")
            .args(["-m", "666"])
            .arg(&path)
            .args(["c", "1", minor])
            .output()
            .expect("mknod (coreutils)");
        assert!(
            out.status.success(),
            "mknod {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    symlink(root, "/dev/fd", "/proc/self/fd");
    symlink(root, "/dev/stdin", "/proc/self/fd/0");
    symlink(root, "/dev/stdout", "/proc/self/fd/1");
    symlink(root, "/dev/stderr", "/proc/self/fd/2");
}

/// Turns a finished child's output into an [`Outcome`].
fn outcome(out: std::process::Output) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    let code = out
        .status
        .code()
        .unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0));
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        code,
    )
}

/// Runs the script natively: `/bin/bash /corpus/NAME.sh` in a fresh root under
/// `work`, through util-linux's `prlimit` (the vkernel's `RLIMIT_NOFILE`) and `unshare`
/// (a mount namespace of its own with `/proc` mounted in the root, the chroot, the
/// working directory), in a process group of its own that the watchdog kills whole
/// after [`TIMEOUT`].
fn native(script: &Script, work: &Path, programs: &Path, applets: &[String]) -> Outcome {
    let root = work.join(&script.name);
    let _ = std::fs::remove_dir_all(&root);
    native_root(&root, programs, applets);
    let nofile = Limits::DEFAULT_MAX_OPEN_FILES;
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--nofile={nofile}:{nofile}"))
        .args(["unshare", "--mount", "--propagation", "private"])
        .arg(format!("--root={}", root.display()))
        .arg(format!("--wd={CWD}"))
        .arg("--mount-proc=/proc")
        .arg("/bin/bash")
        .arg(format!("/corpus/{}.sh", script.name))
        .env_clear()
        .envs(ENV.iter().copied())
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("prlimit (util-linux) for {}: {e}", script.name));
    let stdin = child.stdin.take().unwrap();
    let input = script.stdin.clone();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        let mut stdin = stdin;
        let _ = stdin.write_all(&input);
    });
    let pid = child.id();
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let start = Instant::now();
            while start.elapsed() < TIMEOUT {
                if done.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
        })
    };
    let out = child.wait_with_output().unwrap();
    done.store(true, Ordering::Relaxed);
    let _ = watchdog.join();
    let _ = feeder.join();
    let _ = std::fs::remove_dir_all(&root);
    outcome(out)
}

/// Runs the script lifted: `/bin/bash /corpus/NAME.sh` in a fresh container.
fn lifted(bundle: &Arc<LoadedBundle>, script: &Script) -> (Outcome, Duration) {
    let container = Container::new(
        format!("bash-{}", script.name),
        Arc::clone(bundle),
        Limits::default(),
    );
    let req = ExecRequest {
        path: "/bin/bash".into(),
        argv: vec!["/bin/bash".into(), format!("/corpus/{}.sh", script.name)],
        env: lifted_env(ENV),
        cwd: Some(CWD.into()),
        stdin: script.stdin.clone(),
        timeout: Some(TIMEOUT),
        output_cap: None,
    };
    let started = Instant::now();
    let out = container.run(&req).expect("the exec is allowed");
    (
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.exit_code(),
        ),
        started.elapsed(),
    )
}

/// A line diff of `native` against `lifted` (`-` native only, `+` lifted only), by the
/// longest common subsequence of lines.
fn line_diff(native: &str, lifted: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (native.lines().collect(), lifted.lines().collect());
    // Long outputs: both in full rather than a quadratic table.
    if a.len() * b.len() > 4_000_000 {
        return format!("    native: {native:?}\n    lifted: {lifted:?}\n");
    }
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out += &format!("     {}\n", a[i]);
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out += &format!("    +{}\n", b[j]);
            j += 1;
        } else {
            out += &format!("    -{}\n", a[i]);
            i += 1;
        }
    }
    if native.ends_with('\n') != lifted.ends_with('\n') {
        out += &format!(
            "    (final newline: native {}, lifted {})\n",
            native.ends_with('\n'),
            lifted.ends_with('\n')
        );
    }
    out
}

/// The differences between two outcomes, readable, or `None` when they are equal.
fn describe(name: &str, native: &Outcome, lifted: &Outcome) -> Option<String> {
    if native == lifted {
        return None;
    }
    let mut out = format!("{name}:\n");
    if native.0 != lifted.0 {
        out += &format!(
            "  stdout (-native +lifted):\n{}",
            line_diff(&native.0, &lifted.0)
        );
    }
    if native.1 != lifted.1 {
        out += &format!(
            "  stderr (-native +lifted):\n{}",
            line_diff(&native.1, &lifted.1)
        );
    }
    if native.2 != lifted.2 {
        out += &format!("  exit: native {}, lifted {}\n", native.2, lifted.2);
    }
    Some(out)
}

#[test]
fn bash_corpus_matches_native() {
    let scripts = corpus();
    assert!(
        scripts.len() >= 80,
        "the corpus holds {} scripts, fewer than 80",
        scripts.len()
    );
    let missing: Vec<String> = FAMILIES
        .iter()
        .flat_map(|(family, needles)| {
            needles
                .iter()
                .filter(|n| !scripts.iter().any(|s| s.source.contains(**n)))
                .map(move |n| format!("{family}: {n:?}"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "no script of the corpus exercises: {missing:?}"
    );

    let applets = applet_names();
    let (_runtime, bundle) = load_bash(&applets);
    let only = std::env::var("BASH_CASE").ok();
    let selected: Vec<&Script> = scripts
        .iter()
        .filter(|s| only.as_ref().is_none_or(|o| s.name.contains(o.as_str())))
        .collect();
    let print = std::env::var_os("BASH_PRINT").is_some_and(|v| !v.is_empty());

    let work = tempfile::tempdir().unwrap();
    let programs = work.path().join("programs");
    std::fs::create_dir_all(&programs).unwrap();
    std::fs::copy("/bin/bash-static", programs.join("bash")).unwrap();
    std::fs::copy("/bin/busybox", programs.join("busybox")).unwrap();

    let next = AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(script) = selected.get(i) else {
                        return;
                    };
                    let n = native(script, work.path(), &programs, &applets);
                    let (l, took) = lifted(&bundle, script);
                    if print {
                        eprintln!(
                            "{} ({:.2} s lifted) -> exit {}\n--- stdout\n{}--- stderr\n{}",
                            script.name,
                            took.as_secs_f64(),
                            l.2,
                            l.0,
                            l.1
                        );
                    }
                    if let Some(diff) = describe(&script.name, &n, &l) {
                        failures.lock().unwrap().push((script.name.clone(), diff));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} scripts differ from native:\n{}",
        failures.len(),
        selected.len(),
        failures
            .iter()
            .map(|(_, d)| d.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
