//! WASI preview1 conformance: the same guests under plain wasmtime-wasi and the vkernel.
//!
//! Two guests, `wasi_conf` (C: wasi-libc and the raw `__wasi_*` calls) and
//! `wasi_conf_rs` (Rust: std and raw imports), call every preview1 function, error
//! cases included, on one fixture tree ([`FIXTURE`]). The tree is made twice from
//! that one description: as a host directory preopened as `/` for wasmtime-wasi, and
//! in the bundle's image for the vkernel (whose root is preopened as `/` too). Each
//! guest prints one line per check; the two runs must print the same lines, except
//! the pairs listed in [`EXPECTED_DIFFERENCES`], which are the vkernel's intended
//! differences (`abi::wasi_p1::host` docs, and
//! docs/recompiler-container-plan/wasi-conformance.md).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use recompiler_oci::Rootfs;
use recompiler_testkit::{Exit, RunOptions, RunOutput, run_alone};
use recompiler_vkernel::abi::wasi_p1::FUNCS;
use recompiler_vkernel::container::{Container, ExecRequest, LoadedBundle, Runtime};
use recompiler_vkernel::engine::RunEnd;
use recompiler_vkernel::gate::CopyPolicy;
use recompiler_vkernel::kernel::Limits;

use crate::bundles;

/// One node of the fixture tree, by its path below the preopened root.
enum Node {
    Dir,
    /// Content and permission bits.
    File(&'static [u8], u32),
    /// A symlink with this (relative) target.
    Symlink(&'static str),
}

/// The tree the guests work on; they write only below `fixture/scratch`. Parents come
/// before their children.
const FIXTURE: &[(&str, Node)] = &[
    ("fixture", Node::Dir),
    ("fixture/hello.txt", Node::File(b"hello, world\n", 0o644)),
    ("fixture/empty", Node::File(b"", 0o644)),
    (
        "fixture/exec.sh",
        Node::File(b"#!/bin/sh\necho hi\n", 0o755),
    ),
    ("fixture/dir", Node::Dir),
    ("fixture/dir/a.txt", Node::File(b"a\n", 0o644)),
    ("fixture/dir/b.txt", Node::File(b"bb\n", 0o600)),
    ("fixture/dir/sub", Node::Dir),
    ("fixture/link", Node::Symlink("hello.txt")),
    ("fixture/dirlink", Node::Symlink("dir")),
    ("fixture/dangling", Node::Symlink("missing")),
    ("fixture/loop", Node::Symlink("loop")),
    ("fixture/escape", Node::Symlink("../../etc")),
    ("fixture/abslink", Node::Symlink("/fixture/hello.txt")),
    ("fixture/scratch", Node::Dir),
];

/// Where each guest is in the image.
const GUESTS: &[(&str, &str)] = &[
    ("/usr/bin/wasi_conf", "wasi_conf"),
    ("/usr/bin/wasi_conf_rs", "wasi_conf_rs"),
];

/// What every run gets besides argv.
const ENV: &[(&str, &str)] = &[("CONF_A", "1"), ("CONF_B", "two words")];
const STDIN: &[u8] = b"line one\nline two\n";

/// A line that differs on purpose: (guest, wasmtime-wasi's line, the vkernel's line,
/// why). Each must be seen, so that a fixed difference is noticed and removed here and
/// in the doc.
type Difference = (&'static str, &'static str, &'static str, &'static str);

const RIGHTS: &str = "fd_fdstat_set_rights: wasmtime-wasi 48 answers NOTSUP to any call; \
     the vkernel shrinks rights as the preview1 spec and earlier wasmtime do";
const CPUTIME: &str = "cputime clocks: wasmtime-wasi answers BADF; the vkernel answers them \
     with the monotonic time since the process started";
const CPUTIME_SLEEP: &str = "a lone relative clock subscription is a plain sleep whatever the \
     clock in the vkernel, as in wasmtime-wasi when it may block the thread (the wasmtime CLI); \
     the testkit's wasmtime-wasi may not, so it refuses the cputime clock";
const STDIO_FLAGS: &str = "the vkernel's stdio are kernel pipes and streams, which take \
     fd_fdstat_set_flags; wasmtime-wasi answers BADF on its stdio";
const RMDIR_SLASH: &str = "path_remove_directory of `dir/`: cap-std resolves the trailing \
     slash to `dir/.` and rmdir of `.` is INVAL; the vkernel removes the directory, as Linux's \
     rmdir(2) does";

const ABSOLUTE_SYMLINK: &str = "absolute symlink targets: wasmtime-wasi (cap-std) refuses \
     them with PERM; the vkernel resolves them from the container's root, the sandbox, as \
     images are full of them";

const EXPECTED_DIFFERENCES: &[Difference] = &[
    (
        "wasi_conf",
        "links: path_readlink absolute symlink -> errno 63 PERM",
        "links: path_readlink absolute symlink -> ok /fixture/hello.txt",
        ABSOLUTE_SYMLINK,
    ),
    (
        "wasi_conf",
        "links: open through absolute symlink -> errno 63 PERM",
        "links: open through absolute symlink -> ok",
        ABSOLUTE_SYMLINK,
    ),
    (
        "wasi_conf",
        "links: path_symlink absolute target -> errno 63 PERM",
        "links: path_symlink absolute target -> ok",
        ABSOLUTE_SYMLINK,
    ),
    (
        "wasi_conf_rs",
        "rights: fd_fdstat_set_rights same rights -> errno 58 NOTSUP",
        "rights: fd_fdstat_set_rights same rights -> ok",
        RIGHTS,
    ),
    (
        "wasi_conf_rs",
        "rights: fd_fdstat_set_rights shrink to read -> errno 58 NOTSUP",
        "rights: fd_fdstat_set_rights shrink to read -> ok",
        RIGHTS,
    ),
    (
        "wasi_conf_rs",
        "rights: fd_fdstat_set_rights grow -> errno 58 NOTSUP",
        "rights: fd_fdstat_set_rights grow -> errno 76 NOTCAPABLE",
        RIGHTS,
    ),
    (
        "wasi_conf_rs",
        "clocks: clock_res_get process cputime -> errno 8 BADF",
        "clocks: clock_res_get process cputime -> ok",
        CPUTIME,
    ),
    (
        "wasi_conf_rs",
        "clocks: clock_time_get process cputime -> errno 8 BADF",
        "clocks: clock_time_get process cputime -> ok",
        CPUTIME,
    ),
    (
        "wasi_conf_rs",
        "clocks: clock_res_get thread cputime -> errno 8 BADF",
        "clocks: clock_res_get thread cputime -> ok",
        CPUTIME,
    ),
    (
        "wasi_conf_rs",
        "clocks: clock_time_get thread cputime -> errno 8 BADF",
        "clocks: clock_time_get thread cputime -> ok",
        CPUTIME,
    ),
    (
        "wasi_conf_rs",
        "poll: poll_oneoff relative cputime clock alone -> errno 28 INVAL",
        "poll: poll_oneoff relative cputime clock alone -> ok n 1 error 0 type 0",
        CPUTIME_SLEEP,
    ),
    (
        "wasi_conf_rs",
        "misc: fd_fdstat_set_flags stdout -> errno 8 BADF",
        "misc: fd_fdstat_set_flags stdout -> ok",
        STDIO_FLAGS,
    ),
    (
        "wasi_conf",
        "dirs: path_remove_directory trailing slash -> errno 28 INVAL",
        "dirs: path_remove_directory trailing slash -> ok",
        RMDIR_SLASH,
    ),
];

/// The fixture as a host directory below `root`.
fn make_host_tree(root: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    for (path, node) in FIXTURE {
        let p = root.join(path);
        match node {
            Node::Dir => std::fs::create_dir(&p).unwrap(),
            Node::File(data, mode) => {
                std::fs::write(&p, data).unwrap();
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode)).unwrap();
            }
            Node::Symlink(target) => std::os::unix::fs::symlink(target, &p).unwrap(),
        }
    }
}

/// The fixture as an image tree (through a tar, the one way into a [`Rootfs`] that
/// makes directories and symlinks).
fn make_rootfs() -> Rootfs {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, node) in FIXTURE {
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1_700_000_000);
        let data: &[u8] = match node {
            Node::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                &[]
            }
            Node::File(data, mode) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(*mode);
                data
            }
            Node::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_link_name(target).unwrap();
                &[]
            }
        };
        header.set_size(data.len() as u64);
        tar.append_data(&mut header, path, data).unwrap();
    }
    Rootfs::from_tar(&tar.into_inner().unwrap()[..]).unwrap()
}

/// The bundle of the two guests over the fixture image.
fn load(tmp: &Path) -> (Runtime, Arc<LoadedBundle>) {
    bundles::load_with(tmp, CopyPolicy::ExactPath, &|dir, key| {
        bundles::write_programs(dir, key, GUESTS, make_rootfs());
    })
}

/// How a run ended, the same way for both runtimes.
fn end_of_alone(out: &RunOutput) -> String {
    match &out.exit {
        Exit::Code(c) => format!("exit {c}"),
        Exit::Trap(t) => format!("trap {t}"),
    }
}

fn end_of_vkernel(end: &RunEnd) -> String {
    match end {
        RunEnd::Exited(c) => format!("exit {c}"),
        other => format!("{other:?}"),
    }
}

/// What one run printed and how it ended.
struct Run {
    stdout: String,
    stderr: String,
    end: String,
}

/// Runs `guest` with `argv` alone under wasmtime-wasi, on a fresh host copy of the fixture.
fn run_under_wasmtime(guest: &str, argv: &[&str]) -> Run {
    let host = tempfile::tempdir().unwrap();
    make_host_tree(host.path());
    let mut opts = RunOptions::new(argv.iter().copied())
        .preopen(host.path(), "/")
        .stdin(STDIN.to_vec());
    for (k, v) in ENV {
        opts = opts.env(*k, *v);
    }
    let out = run_alone(&recompiler_testkit::guests::wasm(guest), &opts).unwrap();
    Run {
        stdout: out.stdout_text(),
        stderr: out.stderr_text(),
        end: end_of_alone(&out),
    }
}

/// Runs the program at `path` with `argv` in a fresh container of `bundle`.
fn run_under_vkernel(bundle: &Arc<LoadedBundle>, path: &str, argv: &[&str]) -> Run {
    let container = Container::new("conformance", Arc::clone(bundle), Limits::default());
    let out = container
        .run(&ExecRequest {
            path: path.into(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: ENV
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            stdin: STDIN.to_vec(),
            ..ExecRequest::default()
        })
        .unwrap();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        end: end_of_vkernel(&out.end),
    }
}

/// Compares two outputs line by line; returns a description of every difference not in
/// `expected`, and records the expected ones seen in `seen`.
fn compare(
    guest: &str,
    what: &str,
    alone: &str,
    vkernel: &str,
    seen: &mut BTreeSet<usize>,
) -> Vec<String> {
    let a: Vec<&str> = alone.lines().collect();
    let v: Vec<&str> = vkernel.lines().collect();
    let mut problems = Vec::new();
    for i in 0..a.len().max(v.len()) {
        let (la, lv) = (a.get(i).copied(), v.get(i).copied());
        if la == lv {
            continue;
        }
        let known = EXPECTED_DIFFERENCES
            .iter()
            .position(|(g, x, y, _)| *g == guest && Some(*x) == la && Some(*y) == lv);
        match known {
            Some(k) => {
                seen.insert(k);
            }
            None => problems.push(format!(
                "{guest} {what} line {}:\n  wasmtime-wasi: {}\n  vkernel:       {}",
                i + 1,
                la.unwrap_or("<none>"),
                lv.unwrap_or("<none>")
            )),
        }
        if a.len() != v.len() {
            // Misaligned from here on: the first difference is the useful one.
            problems.push(format!(
                "{guest} {what}: {} lines under wasmtime-wasi, {} under the vkernel",
                a.len(),
                v.len()
            ));
            break;
        }
    }
    problems
}

#[test]
fn the_guests_print_the_same_under_wasmtime_wasi_and_the_vkernel() {
    let tmp = tempfile::tempdir().unwrap();
    let (_runtime, bundle) = load(tmp.path());
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let runs: &[(&str, &str, &[&str])] = &[
        ("wasi_conf", "/usr/bin/wasi_conf", &["wasi_conf", "all"]),
        (
            "wasi_conf_rs",
            "/usr/bin/wasi_conf_rs",
            &["wasi_conf_rs", "all", "last"],
        ),
        (
            "wasi_conf_rs",
            "/usr/bin/wasi_conf_rs",
            &["wasi_conf_rs", "exit"],
        ),
        (
            "wasi_conf",
            "/usr/bin/wasi_conf",
            &["wasi_conf", "no_such_case"],
        ),
    ];
    for (guest, path, argv) in runs {
        let alone = run_under_wasmtime(guest, argv);
        let vk = run_under_vkernel(&bundle, path, argv);
        if std::env::var_os("CONFORMANCE_PRINT").is_some() {
            println!(
                "==== {guest} {argv:?} under wasmtime-wasi\n{}{}",
                alone.stdout, alone.stderr
            );
            println!(
                "==== {guest} {argv:?} under the vkernel\n{}{}",
                vk.stdout, vk.stderr
            );
        }
        assert!(
            !alone.stdout.is_empty() || !alone.stderr.is_empty(),
            "{guest} {argv:?} printed nothing under wasmtime-wasi: {}",
            alone.stderr
        );
        let what = format!("{argv:?}");
        problems.extend(compare(
            guest,
            &format!("{what} stdout"),
            &alone.stdout,
            &vk.stdout,
            &mut seen,
        ));
        problems.extend(compare(
            guest,
            &format!("{what} stderr"),
            &alone.stderr,
            &vk.stderr,
            &mut seen,
        ));
        if alone.end != vk.end {
            problems.push(format!(
                "{guest} {what}: ended with {} under wasmtime-wasi, {} under the vkernel",
                alone.end, vk.end
            ));
        }
    }
    for (i, (guest, a, v, why)) in EXPECTED_DIFFERENCES.iter().enumerate() {
        if !seen.contains(&i) {
            problems.push(format!(
                "{guest}: the expected difference ({why}) did not show:\n  wasmtime-wasi: {a}\n  vkernel:       {v}"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Every preview1 function is imported by one of the guests, so the suite cannot stop
/// calling one without this failing.
#[test]
fn the_guests_import_every_preview1_function() {
    let mut imported = BTreeSet::new();
    for (_, guest) in GUESTS {
        let wasm = recompiler_testkit::guests::wasm(guest);
        for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
            if let wasmparser::Payload::ImportSection(reader) = payload.unwrap() {
                for import in reader.into_imports() {
                    let import = import.unwrap();
                    if import.module == "wasi_snapshot_preview1" {
                        imported.insert(import.name.to_owned());
                    }
                }
            }
        }
    }
    let missing: Vec<&str> = FUNCS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !imported.contains(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "no conformance guest imports {missing:?}"
    );
    assert_eq!(FUNCS.len(), 46, "preview1 has 46 functions");
}

/// A flag or enum argument out of range (`wasi_conf bad N`): wasmtime-wasi 48 fails the
/// call while converting the argument, which ends the guest; the vkernel answers an
/// errno (`INVAL`, as wasmtime-wasi does for the same values read from memory) and the
/// guest goes on. An intended difference, checked call by call.
#[test]
fn out_of_range_flags_and_enums_trap_in_wasmtime_wasi_and_are_inval_in_the_vkernel() {
    let tmp = tempfile::tempdir().unwrap();
    let (_runtime, bundle) = load(tmp.path());
    let count = run_under_vkernel(&bundle, "/usr/bin/wasi_conf", &["wasi_conf", "bad"]);
    let count: usize = count.stdout.trim().parse().unwrap();
    assert!(count >= 10, "only {count} invalid-argument calls");
    let wasm = recompiler_testkit::guests::wasm("wasi_conf");
    for i in 0..count {
        let n = i.to_string();
        let argv = ["wasi_conf", "bad", n.as_str()];
        let host = tempfile::tempdir().unwrap();
        make_host_tree(host.path());
        let opts = RunOptions::new(argv).preopen(host.path(), "/");
        let alone = run_alone(&wasm, &opts);
        let vk = run_under_vkernel(&bundle, "/usr/bin/wasi_conf", &argv);
        let err = match alone {
            Ok(out) => panic!(
                "bad {i}: wasmtime-wasi did not stop the guest: {}",
                out.stdout_text()
            ),
            Err(e) => format!("{e:#}"),
        };
        assert!(
            err.contains("convert"),
            "bad {i}: wasmtime-wasi failed otherwise: {err}"
        );
        assert_eq!(vk.end, "exit 0", "bad {i}: {}", vk.stderr);
        let line = vk.stdout.trim_end();
        assert!(
            line.starts_with("bad: ") && line.ends_with("-> errno 28 INVAL"),
            "bad {i}: the vkernel answered {line:?} ({err})"
        );
    }
}
