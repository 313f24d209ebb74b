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

use recompiler_vkernel::container::{Container, ExecRequest, Runtime};
use recompiler_vkernel::engine::EngineLimits;
use recompiler_vkernel::gate::CopyPolicy;
use recompiler_vkernel::kernel::Limits;

use crate::image::{Image, assert_ok, build, keygen, put, symlink};

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

/// The smoke cases: single-process applets on files.
const SMOKE: &[Case] = &[
    case(&["true"]),
    case(&["false"]),
    case(&["echo", "hello", "world"]),
    case(&["cat", "a.txt"]),
    case(&["wc", "a.txt"]),
    case(&["wc", "-l", "nums.txt"]),
    case(&["head", "-n", "3", "a.txt"]),
    case(&["tail", "-n", "2", "a.txt"]),
    case(&["sort", "a.txt"]),
    case(&["sort", "-n", "-r", "nums.txt"]),
    case(&["uniq", "-c", "dups.txt"]),
    case(&["cut", "-d", " ", "-f", "2", "a.txt"]),
    with_stdin(&["tr", "a-z", "A-Z"], "shout this\n"),
    case(&["grep", "-n", "fox", "a.txt"]),
    case(&["grep", "-r", "needle", "tree"]),
    case(&["sed", "s/o/0/g", "a.txt"]),
    case(&[
        "awk",
        "{ s += $1 } END { printf \"%d %.3f\\n\", s, s / NR }",
        "nums.txt",
    ]),
    case(&["md5sum", "a.txt"]),
    case(&["sha256sum", "a.txt", "nums.txt"]),
    case(&["expr", "6", "*", "7"]),
    case(&["seq", "1", "3", "10"]),
    case(&["printf", "%s-%d-%x\\n", "a", "42", "255"]),
    case(&["test", "-f", "a.txt"]),
    case(&["test", "-d", "a.txt"]),
    case(&["basename", "/x/y/z.txt", ".txt"]),
    case(&["dirname", "/x/y/z.txt"]),
    case(&["ls", "tree"]),
    case(&["ls", "-R", "tree"]),
    case(&["find", "tree", "-name", "*.txt"]),
    case(&["sh", "-c", "echo one; echo two | cat; exit 3"]),
    case(&["cat", "missing.txt"]),
    case(&["nosuchapplet"]),
];

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
    w("tree/one.txt", b"a needle here\n");
    w("tree/sub/two.txt", b"no match\n");
    w("tree/sub/three.dat", b"needle again\n");
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
    let out = child.wait_with_output().unwrap();
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
        env: ENV
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
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
        for applet in ["sh", "ls", "cat", "echo"] {
            symlink(root, &format!("/bin/{applet}"), "busybox");
        }
        fixture(&root.join(DATA.trim_start_matches('/')));
    });
    let (key, public) = keygen(dir, "build.key");
    let bundle = dir.join("bundle");
    assert_ok(&build(&image.oci(), &bundle, Some(&key), &[]));
    (bundle, public)
}

fn compare(container: &Container, cases: &[Case], work: &Path) -> Vec<String> {
    let mut failures = Vec::new();
    for case in cases {
        let mut n = native(case, work);
        let mut l = lifted(container, case);
        if let Some(mask) = case.mask {
            n = (mask(&n.0), mask(&n.1), n.2);
            l = (mask(&l.0), mask(&l.1), l.2);
        }
        if std::env::var_os("BUSYBOX_PRINT").is_some() {
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
    let tmp = tempfile::tempdir().unwrap();
    let (bundle, public) = busybox_bundle(tmp.path());
    let runtime = Runtime::new(&tmp.path().join("state"), EngineLimits::default(), true).unwrap();
    let key = recompiler_vkernel::bundle::load_trusted_key(&public).unwrap();
    let loaded = runtime
        .load_bundle(&bundle, &[key], CopyPolicy::ExactPath)
        .unwrap();
    let container = Container::new("bb", Arc::clone(&loaded), Limits::default());
    let failures = compare(&container, SMOKE, tmp.path());
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        SMOKE.len(),
        failures.join("\n")
    );
}
