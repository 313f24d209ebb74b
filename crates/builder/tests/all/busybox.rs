//! Debian's busybox-static, lifted, run by the vkernel: applets on fixture
//! inputs, natively (`/bin/busybox`, the oracle) and in the vkernel from a
//! signed bundle; stdout, stderr and exit codes compared.
//!
//! Both sides run `busybox <applet> <args>` in a copy of the same fixture tree
//! (the working directory), with the same environment. Masks, where a field
//! legitimately differs, are applied to both outputs and explained at the case.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use recompiler_vkernel::container::{Container, ExecRequest, LoadedBundle, Runtime};
use recompiler_vkernel::kernel::Limits;

use crate::image::{
    BuiltOnce, Image, assert_ok, build, keygen, lifted_env, load_once, put, symlink,
};

/// Applet names, to count which ones the cases exercise (shell words that are not
/// applets are ignored).
const BUSYBOX_APPLETS: &[&str] = &[
    "[",
    "awk",
    "base64",
    "basename",
    "bc",
    "bunzip2",
    "bzip2",
    "cal",
    "cat",
    "chmod",
    "cmp",
    "cp",
    "crc32",
    "cut",
    "date",
    "dc",
    "diff",
    "dirname",
    "du",
    "echo",
    "env",
    "expand",
    "expr",
    "factor",
    "false",
    "find",
    "fold",
    "grep",
    "gunzip",
    "gzip",
    "head",
    "hexdump",
    "id",
    "ln",
    "ls",
    "md5sum",
    "mkdir",
    "mv",
    "nl",
    "od",
    "paste",
    "printenv",
    "printf",
    "pwd",
    "readlink",
    "rev",
    "rm",
    "rmdir",
    "sed",
    "seq",
    "sh",
    "sha1sum",
    "sha256sum",
    "sha3sum",
    "sha512sum",
    "sort",
    "stat",
    "strings",
    "tac",
    "tail",
    "tar",
    "tee",
    "test",
    "touch",
    "tr",
    "true",
    "truncate",
    "uname",
    "unexpand",
    "uniq",
    "wc",
    "whoami",
    "xargs",
    "xxd",
];

/// The environment of both sides.
const ENV: &[(&str, &str)] = &[("PATH", "/bin:/usr/bin"), ("HOME", "/"), ("LC_ALL", "C")];

/// Where the fixtures are, in the container and under the native run's root.
const DATA: &str = "/data";

/// One applet run: argv after `busybox`, stdin, and a mask applied to outputs.
struct Case {
    args: &'static [&'static str],
    stdin: &'static str,
    mask: Option<fn(&str) -> String>,
}

const fn case(args: &'static [&'static str]) -> Case {
    Case {
        args,
        stdin: "",
        mask: None,
    }
}

const fn with_stdin(args: &'static [&'static str], stdin: &'static str) -> Case {
    Case {
        args,
        stdin,
        mask: None,
    }
}

/// The applet cases: text tools, files and directories, archives and digests, and
/// the shell (pipelines, loops, functions, subshells, here-documents), each in a fresh
/// container (and a fresh native copy of the fixtures).
const CASES: &[Case] = &[
    case(&["true"]),
    case(&["false"]),
    case(&["echo", "hello", "world"]),
    case(&["cat", "a.txt"]),
    case(&["tac", "a.txt"]),
    case(&["rev", "a.txt"]),
    case(&["nl", "a.txt"]),
    case(&["fold", "-w", "7", "a.txt"]),
    case(&["wc", "a.txt"]),
    case(&["wc", "-l", "nums.txt"]),
    case(&["head", "-n", "3", "a.txt"]),
    case(&["tail", "-n", "2", "a.txt"]),
    case(&["sort", "a.txt"]),
    case(&["sort", "-n", "-r", "nums.txt"]),
    case(&["sort", "-t", " ", "-k", "2", "a.txt"]),
    case(&["uniq", "-c", "dups.txt"]),
    case(&["cut", "-d", " ", "-f", "2", "a.txt"]),
    case(&["paste", "-d", ",", "dups.txt", "dups.txt"]),
    with_stdin(&["tr", "a-z", "A-Z"], "shout this\n"),
    with_stdin(&["tr", "-d", "aeiou"], "remove the vowels\n"),
    case(&["expand", "tabs.txt"]),
    case(&["unexpand", "-a", "spaces.txt"]),
    case(&["grep", "-n", "fox", "a.txt"]),
    case(&["grep", "-r", "needle", "tree"]),
    case(&["grep", "-c", "-v", "o", "a.txt"]),
    case(&["grep", "-E", "^(the|hello) ", "a.txt"]),
    case(&["sed", "s/o/0/g", "a.txt"]),
    case(&["sed", "-n", "2,3p", "a.txt"]),
    case(&[
        "awk",
        "{ s += $1 } END { printf \"%d %.3f\\n\", s, s / NR }",
        "nums.txt",
    ]),
    case(&["awk", "-F", " ", "{ print NF, toupper($1) }", "a.txt"]),
    case(&["md5sum", "a.txt"]),
    case(&["sha1sum", "a.txt"]),
    case(&["sha256sum", "a.txt", "nums.txt"]),
    case(&["sha512sum", "nums.txt"]),
    case(&["sha3sum", "a.txt"]),
    case(&["crc32", "a.txt"]),
    case(&["base64", "a.txt"]),
    case(&["od", "-A", "x", "-t", "x1z", "dups.txt"]),
    case(&["hexdump", "-C", "dups.txt"]),
    case(&["xxd", "dups.txt"]),
    case(&["strings", "-n", "3", "a.txt"]),
    case(&["cmp", "a.txt", "nums.txt"]),
    case(&["diff", "-u", "dups.txt", "dups2.txt"]),
    case(&["expr", "6", "*", "7"]),
    case(&["expr", "length", "hello"]),
    case(&["seq", "1", "3", "10"]),
    case(&["seq", "-s", ",", "5"]),
    case(&["factor", "84", "97", "1001"]),
    with_stdin(&["bc"], "scale=5; 22/7\n2^20\n"),
    with_stdin(&["dc"], "2 3 + p 10 3 / p\n"),
    case(&["printf", "%s-%d-%x-%5.2f\\n", "a", "42", "255", "3.14159"]),
    case(&["test", "-f", "a.txt"]),
    case(&["test", "-d", "a.txt"]),
    case(&["[", "3", "-lt", "4", "]"]),
    case(&["basename", "/x/y/z.txt", ".txt"]),
    case(&["dirname", "/x/y/z.txt"]),
    case(&["ls", "tree"]),
    case(&["ls", "-R", "tree"]),
    case(&["ls", "-1", "-a", "tree/sub"]),
    Case {
        args: &["ls", "-la", "tree"],
        stdin: "",
        // Timestamps (the fixtures are made at different times on each side), the
        // "total" block count and directory sizes (ext4 gives a directory 4096
        // bytes, the vkernel's directories report their entry count) differ.
        mask: Some(mask_ls_long),
    },
    case(&["find", "tree", "-name", "*.txt"]),
    case(&["find", "tree", "-type", "d"]),
    case(&["stat", "-c", "%n %s %a %F", "a.txt", "tree/one.txt"]),
    case(&["date", "+%Y"]),
    case(&["cal", "2", "2000"]),
    case(&["env", "-i", "A=1", "B=two", "env"]),
    case(&["printenv", "LC_ALL"]),
    case(&["uname", "-s", "-m"]),
    case(&["id"]),
    case(&["whoami"]),
    case(&["cat", "missing.txt"]),
    case(&["nosuchapplet"]),
    // Files and directories, through the shell.
    case(&["sh", "-c", "cp a.txt b.txt && cat b.txt && ls"]),
    case(&["sh", "-c", "mv a.txt m.txt && ls && cat m.txt"]),
    case(&["sh", "-c", "rm dups.txt && ls"]),
    case(&[
        "sh",
        "-c",
        "mkdir -p x/y/z && touch x/y/z/f && find x | sort",
    ]),
    case(&["sh", "-c", "rmdir tree/sub 2>&1; echo $?"]),
    case(&[
        "sh",
        "-c",
        "ln -s a.txt l && readlink l && cat l && ln a.txt h && stat -c %h a.txt",
    ]),
    case(&[
        "sh",
        "-c",
        "chmod 600 a.txt && stat -c %a a.txt && chmod u+x a.txt && stat -c %A a.txt",
    ]),
    case(&["sh", "-c", "truncate -s 10 a.txt && wc -c a.txt"]),
    case(&[
        "sh",
        "-c",
        "echo hi > new.txt && echo more >> new.txt && cat new.txt",
    ]),
    case(&[
        "sh",
        "-c",
        "cat a.txt | tee copy.txt | wc -l && cmp a.txt copy.txt && echo same",
    ]),
    case(&["sh", "-c", "cat a.txt | gzip -c | gunzip | md5sum"]),
    case(&["sh", "-c", "cat a.txt | gzip -c | md5sum"]),
    case(&["sh", "-c", "cat nums.txt | bzip2 -c | bunzip2 | wc -l"]),
    case(&[
        "sh",
        "-c",
        "tar cf t.tar tree && tar tf t.tar | sort && mkdir out && tar xf t.tar -C out && find out | sort",
    ]),
    case(&["du", "-k", "a.txt", "nums.txt"]),
    case(&["du", "-s", "-k", "tree"]),
    case(&["sh", "-c", "echo a.txt nums.txt | xargs wc -l"]),
    case(&["sh", "-c", "find tree -name '*.txt' | xargs grep -l needle"]),
    // The shell.
    case(&["sh", "-c", "echo one; echo two | cat; exit 3"]),
    case(&["sh", "-c", "for i in 1 2 3; do echo item $i; done"]),
    case(&[
        "sh",
        "-c",
        "i=0; while [ $i -lt 5 ]; do i=$((i + 1)); done; echo $i",
    ]),
    case(&[
        "sh",
        "-c",
        "f() { echo \"f:$1:$#\"; return 4; }; f a b; echo $?",
    ]),
    case(&[
        "sh",
        "-c",
        "(cd tree && ls); pwd | wc -l; x=$(echo sub); echo $x",
    ]),
    case(&[
        "sh",
        "-c",
        "case abc in a*) echo starts-a;; *) echo other;; esac",
    ]),
    case(&["sh", "-c", "cat <<EOF\nline one\nline $((2 * 21))\nEOF"]),
    case(&[
        "sh",
        "-c",
        "while read a b; do echo \"$b-$a\"; done < a.txt",
    ]),
    case(&["sh", "-c", "sort a.txt | head -n 2 | tr a-z A-Z | rev"]),
    case(&["sh", "-c", "false || echo recovered; true && echo chained"]),
    case(&["sh", "-c", "set -e; false; echo not-reached"]),
    case(&["sh", "-c", "echo $((7 % 3)) $((1 << 10)) ${#HOME}"]),
    case(&[
        "sh",
        "-c",
        "v=hello; echo ${v#he} ${v%lo} ${v:-x} ${u:-default}",
    ]),
    case(&[
        "sh",
        "-c",
        "ls /bin/sh /bin/ls >/dev/null && echo found; ls /nonexistent 2>/dev/null; echo $?",
    ]),
    case(&["sh", "-c", "echo out; echo err >&2; exit 7"]),
    case(&["sh", "-c", "ls | wc -l; ls -d t* | sort"]),
    case(&["sh", "-c", "seq 1 200 | awk '{ s += $1 } END { print s }'"]),
    case(&["sh", "-c", "seq 1 5 | sed 's/^/n=/' | grep -v 3 | sort -r"]),
];

/// `ls -l` lines with the date columns, directory sizes and the total masked
/// (see the case).
fn mask_ls_long(out: &str) -> String {
    out.lines()
        .map(|line| {
            if line.starts_with("total ") {
                return "total N".to_string();
            }
            let mut f: Vec<String> = line.split_whitespace().map(String::from).collect();
            if f.len() >= 9 {
                f[5] = "DATE".into();
                f[6] = "DATE".into();
                f[7] = "DATE".into();
                if f[0].starts_with('d') {
                    f[4] = "SIZE".into();
                }
            }
            f.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn fixture(root: &Path) {
    let w = |p: &str, s: &[u8]| {
        let path = root.join(p.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, s).unwrap();
    };
    w(
        "a.txt",
        b"the quick brown fox\njumps over the lazy dog\nhello world\nzebra crossing\nalpha beta\n",
    );
    let nums: String = (1..=50).map(|i| format!("{}\n", (i * 37) % 101)).collect();
    w("nums.txt", nums.as_bytes());
    w("dups.txt", b"a\na\nb\nc\nc\nc\n");
    w("dups2.txt", b"a\nb\nb\nc\nd\n");
    w("tabs.txt", b"a\tb\tc\n\tindented\n");
    w("spaces.txt", b"a       b       c\n        indented\n");
    w("tree/one.txt", b"a needle here\n");
    w("tree/sub/two.txt", b"no match\n");
    w("tree/sub/three.dat", b"needle again\n");
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

/// A directory of `<applet> -> /bin/busybox` links under `work`: the native
/// runs' PATH.
fn applet_dir(work: &Path) -> PathBuf {
    let dir = work.join("applets");
    if !dir.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        for applet in applet_names() {
            let _ = std::os::unix::fs::symlink("/bin/busybox", dir.join(&applet));
        }
    }
    dir
}

/// Runs `busybox args` natively in a fresh copy of the fixtures.
fn native(case: &Case, work: &Path) -> (String, String, i32) {
    let dir = work.join(format!("native-{}", case.args.join("_").replace('/', "")));
    let _ = std::fs::remove_dir_all(&dir);
    fixture(&dir);
    let mut cmd = Command::new("/bin/busybox");
    cmd.args(case.args).current_dir(&dir).env_clear();
    for (k, v) in ENV {
        cmd.env(k, v);
    }
    // The shell finds busybox's applets, as in the image (not the host's coreutils).
    cmd.env("PATH", applet_dir(work));
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd
        .spawn()
        .expect("/bin/busybox (busybox-static; ./scripts/test installs it)");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(case.stdin.as_bytes());
    }
    // A runaway native run must not hang the test: killed after a minute.
    let pid = child.id();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            for _ in 0..600 {
                if done.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        })
    };
    let out = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = watchdog.join();
    let code = out.status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        128 + out.status.signal().unwrap_or(0)
    });
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        code,
    )
}

fn lifted(container: &Container, case: &Case) -> (String, String, i32) {
    let mut argv = vec!["busybox".to_string()];
    argv.extend(case.args.iter().map(|s| s.to_string()));
    let req = ExecRequest {
        path: "/bin/busybox".into(),
        argv,
        env: lifted_env(ENV),
        cwd: Some(DATA.into()),
        stdin: case.stdin.as_bytes().to_vec(),
        timeout: Some(std::time::Duration::from_secs(60)),
        output_cap: None,
    };
    let out = container.run(&req).expect("the exec is allowed");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.exit_code(),
    )
}

/// The image: busybox with a few applet links, the fixtures under /data.
fn busybox_bundle(dir: &Path) -> (PathBuf, PathBuf) {
    let busybox = std::fs::read("/bin/busybox")
        .expect("/bin/busybox (Debian's busybox-static; ./scripts/test installs it)");
    let mut image = Image::new(&dir.join("img"), "busybox");
    image.layer(|root| {
        put(root, "/bin/busybox", &busybox, 0o755);
        // Every applet as /bin/<applet> -> busybox, as `busybox --install -s` does.
        for applet in applet_names() {
            if applet != "busybox" {
                symlink(root, &format!("/bin/{applet}"), "busybox");
            }
        }
        fixture(&root.join(DATA.trim_start_matches('/')));
        // WASM programs, for execs across kinds.
        for guest in ["stdio_filter", "spawner"] {
            put(
                root,
                &format!("/usr/bin/{guest}"),
                &recompiler_testkit::guests::wasm(guest),
                0o755,
            );
        }
        // Names for uid and gid 0, as the host has (ls -l, id, whoami).
        put(
            root,
            "/etc/passwd",
            b"root:x:0:0:root:/root:/bin/sh\n",
            0o644,
        );
        put(root, "/etc/group", b"root:x:0:\n", 0o644);
    });
    let (key, public) = keygen(dir, "build.key");
    let bundle = dir.join("bundle");
    assert_ok(&build(&image.oci(), &bundle, Some(&key), &[]));
    (bundle, public)
}

/// The busybox image, built and signed once per test binary, and a runtime with it
/// loaded.
fn load_busybox() -> (Runtime, Arc<LoadedBundle>) {
    static BUILT: std::sync::OnceLock<BuiltOnce> = std::sync::OnceLock::new();
    load_once(&BUILT, "busybox-bundle", busybox_bundle)
}

fn compare(bundle: &Arc<LoadedBundle>, cases: &[Case], work: &Path) -> Vec<String> {
    let mut failures = Vec::new();
    // BUSYBOX_CASE=text: only the cases whose arguments contain it.
    let only = std::env::var("BUSYBOX_CASE").ok();
    for (i, case) in cases.iter().enumerate() {
        if let Some(only) = &only
            && !case.args.join(" ").contains(only.as_str())
        {
            continue;
        }
        let container = Container::new(format!("bb{i}"), Arc::clone(bundle), Limits::default());
        let mut n = native(case, work);
        let mut l = lifted(&container, case);
        if let Some(mask) = case.mask {
            n = (mask(&n.0), mask(&n.1), n.2);
            l = (mask(&l.0), mask(&l.1), l.2);
        }
        if std::env::var_os("BUSYBOX_PRINT").is_some_and(|v| !v.is_empty()) {
            eprintln!("busybox {:?} -> {:?}", case.args, l);
        }
        if n != l {
            failures.push(format!(
                "busybox {:?}:\n  native: {:?}\n  lifted: {:?}",
                case.args, n, l
            ));
        }
    }
    failures
}

#[test]
fn busybox_applets_match_native() {
    let (_runtime, loaded) = load_busybox();
    let tmp = tempfile::tempdir().unwrap();
    let failures = compare(&loaded, CASES, tmp.path());
    let applets: std::collections::BTreeSet<&str> = CASES
        .iter()
        .flat_map(|c| {
            let words: Vec<&str> = if c.args[0] == "sh" {
                c.args[2]
                    .split(|ch: char| !ch.is_ascii_alphanumeric() && ch != '[')
                    .collect()
            } else {
                vec![c.args[0]]
            };
            words
        })
        .filter(|w| BUSYBOX_APPLETS.contains(w))
        .collect();
    eprintln!(
        "{} cases, {} distinct applets: {applets:?}",
        CASES.len(),
        applets.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
    assert!(
        applets.len() >= 60,
        "only {} applets exercised",
        applets.len()
    );
}

/// Signals: traps (handlers run on frames the runtime builds, `rt_sigreturn`), default
/// actions, SIGPIPE, a signal ending a blocking wait, SIGCHLD, nested handlers.
///
/// The shell runs an applet in the foreground through vfork and
/// `execve("/proc/self/exe")`, which the gate resolves to /bin/busybox. Cases that run
/// `sleep` or `timeout` also link them into PATH (harmless natively), as they did when
/// the vkernel had no /proc and the shell fell back to searching PATH.
const SIGNALS: &[Case] = &[
    case(&[
        "sh",
        "-c",
        "trap \"echo caught\" USR1; kill -USR1 $$; echo after",
    ]),
    case(&["sh", "-c", "trap \"echo bye\" EXIT; exit 3"]),
    case(&["sh", "-c", "trap \"\" INT; kill -INT $$; echo survived"]),
    case(&["sh", "-c", "kill -TERM $$"]),
    case(&["sh", "-c", "yes | head -n 3"]),
    case(&["sh", "-c", "set -o pipefail; yes | head -n 3; echo $?"]),
    case(&["sh", "-c", "sleep 5 & kill $!; wait $!; echo $?"]),
    case(&[
        "sh",
        "-c",
        "mkdir b && for a in sleep timeout; do ln -s /bin/busybox b/$a; done; PATH=$PWD/b:$PATH; timeout 1 sleep 5; echo $?",
    ]),
    // A trapped signal ends the shell's `wait` (rt_sigsuspend) with 128 + signal.
    case(&[
        "sh",
        "-c",
        "mkdir b && for a in sleep timeout; do ln -s /bin/busybox b/$a; done; PATH=$PWD/b:$PATH; trap \"echo term\" TERM; (sleep 0.2; kill -TERM $$) & wait; echo waited $?",
    ]),
    case(&[
        "sh",
        "-c",
        "mkdir b && for a in sleep timeout; do ln -s /bin/busybox b/$a; done; PATH=$PWD/b:$PATH; trap \"echo chld\" CHLD; sleep 0.1; echo x",
    ]),
    // A signal to a shell that computes without syscalls: taken between instructions.
    case(&[
        "sh",
        "-c",
        "mkdir b && for a in sleep timeout; do ln -s /bin/busybox b/$a; done; PATH=$PWD/b:$PATH; trap \"echo got; exit 4\" USR1; (sleep 0.3; kill -USR1 $$) & i=0; while true; do i=$((i + 1)); done",
    ]),
    // A handler's trap sends another signal: nested frames.
    case(&[
        "sh",
        "-c",
        "trap \"echo usr1; kill -USR2 \\$\\$; echo usr1-end\" USR1; trap \"echo usr2\" USR2; kill -USR1 $$; echo end",
    ]),
];

#[test]
fn busybox_signals_match_native() {
    let (_runtime, loaded) = load_busybox();
    let tmp = tempfile::tempdir().unwrap();
    let failures = compare(&loaded, SIGNALS, tmp.path());
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        SIGNALS.len(),
        failures.join("\n")
    );
}

/// Writes `data` to `path` in the container (created or truncated, mode 0755), as a
/// program in it could.
fn write_file(c: &Container, path: &str, data: &[u8]) {
    use recompiler_vkernel::kernel::{Interrupt, OFlags};
    let vfs = c.kernel.vfs();
    let file = vfs
        .openat(
            vfs.root(),
            path.as_bytes(),
            OFlags::WRONLY | OFlags::CREAT | OFlags::TRUNC,
            0o755,
        )
        .unwrap();
    file.write(data, &Interrupt::new()).unwrap();
}

fn run(c: &Container, path: &str, argv: &[&str]) -> Result<(String, String, i32), String> {
    let req = ExecRequest {
        path: path.into(),
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env: ENV
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        cwd: Some(DATA.into()),
        timeout: Some(std::time::Duration::from_secs(60)),
        ..ExecRequest::default()
    };
    c.run(&req)
        .map(|out| {
            (
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
                out.exit_code(),
            )
        })
        .map_err(|e| format!("{e}: {e:?}"))
}

/// The exec gate holds for lifted programs, and lifted and WASM programs exec each
/// other through it.
#[test]
fn lifted_programs_pass_the_gate_and_exec_across_kinds() {
    let (_runtime, loaded) = load_busybox();
    let fresh = |name: &str| Container::new(name, Arc::clone(&loaded), Limits::default());
    let busybox = std::fs::read("/bin/busybox").unwrap();

    // busybox modified by one byte, in place (same size): denied, by its path and
    // through an applet link.
    let c = fresh("modified");
    let mut changed = busybox.clone();
    let at = changed.len() / 2;
    changed[at] ^= 0x01;
    write_file(&c, "/bin/busybox", &changed);
    for (path, argv) in [
        ("/bin/busybox", ["busybox", "true"]),
        ("/bin/true", ["true", ""]),
    ] {
        let err = run(&c, path, &argv[..1 + usize::from(!argv[1].is_empty())]).unwrap_err();
        assert!(err.contains("HashMismatch"), "{path}: {err}");
    }

    // A new ELF dropped into the container (a real static x86-64 program, not in the
    // manifest), and a byte-exact copy of busybox at a new path: denied, and from the
    // lifted shell too (126 and the shell's message, as for a file without execute
    // permission), by its path or through /proc/self/fd.
    let c = fresh("dropped");
    let dropped = std::fs::read("/bin/bash-static").expect("/bin/bash-static (bash-static)");
    write_file(&c, "/data/dropped", &dropped);
    write_file(&c, "/data/bb-copy", &busybox);
    for path in ["/data/dropped", "/data/bb-copy"] {
        let err = run(&c, path, &[path]).unwrap_err();
        assert!(err.contains("NotListed"), "{path}: {err}");
    }
    let (out, err, code) = run(
        &c,
        "/bin/sh",
        &[
            "sh",
            "-c",
            "./dropped -c 'echo escaped'; echo dropped=$?; ./bb-copy echo escaped; echo copy=$?; \
             exec 3<./dropped; /proc/self/fd/3 -c 'echo escaped'; echo viafd=$?",
        ],
    )
    .unwrap();
    assert_eq!(out, "dropped=126\ncopy=126\nviafd=126\n", "stderr: {err}");
    assert!(err.contains("./dropped: Permission denied"), "{err}");
    assert!(err.contains("/proc/self/fd/3: Permission denied"), "{err}");
    assert_eq!(code, 0);

    // Lifted -> WASM: busybox sh runs a WASM program in a pipeline.
    let c = fresh("across");
    let (out, err, code) = run(
        &c,
        "/bin/sh",
        &[
            "sh",
            "-c",
            "echo piped through | /usr/bin/stdio_filter | wc -l",
        ],
    )
    .unwrap();
    assert_eq!((out.trim(), code), ("1", 0), "stderr: {err}");
    // WASM -> lifted: the spawner guest starts busybox's `true` and `false` through
    // the process extension.
    for (applet, status) in [("/bin/true", "0"), ("/bin/false", "1")] {
        let (out, err, code) = run(&c, "/usr/bin/spawner", &["spawner", "spawn", applet]).unwrap();
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(
            out,
            format!("spawn {applet}: OK\nspawn {applet}: exited {status}\n"),
            "{err}"
        );
    }
}

/// A time limit ends a lifted program blocked in the host (here in `nanosleep`),
/// not only one that is computing.
#[test]
fn a_time_limit_ends_a_blocked_lifted_program() {
    let (_runtime, loaded) = load_busybox();
    let c = Container::new("sleepy", loaded, Limits::default());
    let started = std::time::Instant::now();
    let out = c
        .run(&ExecRequest {
            path: "/bin/busybox".into(),
            argv: vec!["busybox".into(), "sleep".into(), "60".into()],
            timeout: Some(std::time::Duration::from_millis(500)),
            ..ExecRequest::default()
        })
        .unwrap();
    assert_eq!(out.end, recompiler_vkernel::engine::RunEnd::TimedOut);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}
