//! The megabinary against the oracle: each program of a real image (made with
//! umoci, and converted with skopeo) run through `_dispatch` must print the same
//! stdout and stderr and end the same way as the original module run alone
//! under plain wasmtime-wasi.

use std::path::Path;

use recompiler_manifest::Manifest;
use recompiler_testkit::{Exit, RunOptions, RunOutput, run_alone, run_dispatched};

use crate::image::{REACTOR_ENTRY, assert_ok, build, built_standard, standard_image};

struct Case {
    /// The path the program is started by (argv[0] is its base name).
    path: &'static str,
    args: &'static [&'static str],
    stdin: &'static [u8],
    /// Needs a preopened directory at /data, fresh for each run.
    files: bool,
}

const CASES: &[Case] = &[
    Case {
        path: "/usr/bin/stdio_filter",
        args: &[],
        stdin: b"one\ntwo\nthree\n",
        files: false,
    },
    Case {
        path: "/usr/bin/stdio_filter",
        args: &[],
        stdin: b"ok\nfail\nnever\n",
        files: false,
    },
    Case {
        path: "/usr/bin/stdio_filter",
        args: &[],
        stdin: b"",
        files: false,
    },
    Case {
        path: "/usr/bin/upper",
        args: &["-x"],
        stdin: b"via a symlink\n",
        files: false,
    },
    Case {
        path: "/usr/bin/files_args",
        args: &["/data", "note.txt", "hello", "world"],
        stdin: b"",
        files: true,
    },
    Case {
        path: "/usr/bin/files_args",
        args: &[],
        stdin: b"",
        files: false,
    },
    Case {
        path: "/usr/bin/files_args",
        args: &["/nonexistent", "x", "y"],
        stdin: b"",
        files: false,
    },
    Case {
        path: "/usr/bin/bigdata",
        args: &["7", "123"],
        stdin: b"",
        files: false,
    },
    Case {
        path: "/usr/bin/rust_echo",
        args: &["a b", "--exit", "42"],
        stdin: b"abc\nxyz\n",
        files: false,
    },
    Case {
        path: "/usr/bin/rust_echo",
        args: &["--panic"],
        stdin: b"",
        files: false,
    },
    Case {
        path: "/usr/bin/exceptions",
        args: &[],
        stdin: b"",
        files: false,
    },
    Case {
        path: "/usr/bin/tailcall",
        args: &[],
        stdin: b"",
        files: false,
    },
    Case {
        path: "/usr/bin/simd",
        args: &[],
        stdin: b"",
        files: false,
    },
    Case {
        path: "/usr/bin/multivalue",
        args: &[],
        stdin: b"",
        files: false,
    },
    Case {
        path: "/usr/bin/bulk",
        args: &[],
        stdin: b"",
        files: false,
    },
    Case {
        path: "/usr/bin/start_section",
        args: &[],
        stdin: b"",
        files: false,
    },
    Case {
        path: "/usr/bin/multi_memory",
        args: &[],
        stdin: b"",
        files: false,
    },
    Case {
        path: "/usr/lib/reactor.wasm",
        args: &["r"],
        stdin: b"",
        files: false,
    },
];

fn options(case: &Case, dir: Option<&Path>) -> RunOptions {
    let argv0 = case.path.rsplit('/').next().unwrap();
    let mut opts = RunOptions::new(std::iter::once(argv0).chain(case.args.iter().copied()))
        .env("RUST_ECHO_NAME", "recompiler")
        .stdin(case.stdin.to_vec());
    if let Some(dir) = dir {
        opts = opts.preopen(dir, "/data");
    }
    opts
}

/// Equal output; traps compare as "trapped", since wasmtime's message names
/// function indices, which merging shifts.
fn assert_same(case: &Case, alone: &RunOutput, merged: &RunOutput) {
    let what = format!("{} {:?}", case.path, case.args);
    assert_eq!(
        alone.stdout_text(),
        merged.stdout_text(),
        "{what}: stdout differs"
    );
    assert_eq!(
        alone.stderr_text(),
        merged.stderr_text(),
        "{what}: stderr differs"
    );
    match (&alone.exit, &merged.exit) {
        (Exit::Trap(_), Exit::Trap(_)) => {}
        (a, m) => assert_eq!(a, m, "{what}: exit differs"),
    }
}

fn run_all_cases(megabinary: &[u8], manifest: &Manifest, tmp: &Path) {
    for (n, case) in CASES.iter().enumerate() {
        let (resolved, entry) = manifest
            .resolve(case.path)
            .unwrap_or_else(|| panic!("{} not in the manifest", case.path));
        let id = entry
            .dispatch_id_value()
            .unwrap_or_else(|| panic!("{resolved} has no dispatch id"));
        let guest = crate::image::PROGRAMS
            .iter()
            .find(|(p, _)| *p == resolved)
            .map(|(_, g)| *g)
            .unwrap_or("reactor");
        let original = recompiler_testkit::guests::wasm(guest);
        let dirs = if case.files {
            let a = tmp.join(format!("alone-{n}"));
            let m = tmp.join(format!("merged-{n}"));
            std::fs::create_dir_all(&a).unwrap();
            std::fs::create_dir_all(&m).unwrap();
            (Some(a), Some(m))
        } else {
            (None, None)
        };
        let mut alone_opts = options(case, dirs.0.as_deref());
        if guest == "reactor" {
            alone_opts = alone_opts.entry("run");
        }
        let alone = run_alone(&original, &alone_opts).unwrap();
        let merged = run_dispatched(megabinary, id, &options(case, dirs.1.as_deref())).unwrap();
        assert_same(case, &alone, &merged.output);
        if case.files {
            // The programs leave the same tree behind.
            let list = |d: &Path| {
                let mut v: Vec<_> = walk(d)
                    .into_iter()
                    .map(|p| p.strip_prefix(d).unwrap().to_path_buf())
                    .collect();
                v.sort();
                v
            };
            assert_eq!(
                list(dirs.0.as_ref().unwrap()),
                list(dirs.1.as_ref().unwrap())
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

fn load(dir: &Path) -> (Vec<u8>, Manifest) {
    let wasm = std::fs::read(dir.join("container.wasm")).unwrap();
    let manifest = Manifest::from_json(&std::fs::read(dir.join("mapping.json")).unwrap()).unwrap();
    (wasm, manifest)
}

#[test]
fn every_program_behaves_as_it_did_alone_for_each_image_format() {
    let tmp = tempfile::tempdir().unwrap();
    let image = standard_image(&tmp.path().join("img"));
    let layout_out = tmp.path().join("from-layout");
    assert_ok(&build(&image.oci(), &layout_out, None, REACTOR_ENTRY));
    let (megabinary, manifest) = load(&layout_out);
    run_all_cases(&megabinary, &manifest, tmp.path());

    // The same image as an OCI archive and as a docker-archive tar: the same
    // megabinary, byte for byte, and the same executables.
    let archive = image.to_oci_archive(&tmp.path().join("image.tar"));
    let docker = image.to_docker_archive(&tmp.path().join("docker.tar"), "recompiler/test:latest");
    for (name, reference) in [("archive", archive), ("docker", docker)] {
        let out = tmp.path().join(name);
        assert_ok(&build(&reference, &out, None, REACTOR_ENTRY));
        let (wasm, m) = load(&out);
        assert!(
            wasm == megabinary,
            "{name}: megabinary differs from the layout's"
        );
        assert_eq!(
            m.executables, manifest.executables,
            "{name}: executables differ"
        );
        assert_eq!(
            m.rootfs.sha256, manifest.rootfs.sha256,
            "{name}: image files differ"
        );
    }
}

#[test]
fn manifest_records_kinds_symlinks_and_the_deleted_file_is_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let (_image, out) = built_standard(tmp.path());
    let (_, m) = load(&out);
    let upper = m.lookup("/usr/bin/upper").unwrap();
    assert_eq!(upper.target.as_deref(), Some("/usr/bin/stdio_filter"));
    assert_eq!(
        m.lookup("/usr/bin/native-tool").unwrap().status.as_deref(),
        Some("needs-lifting")
    );
    let script = m.lookup("/usr/bin/hello.sh").unwrap();
    assert_eq!(script.interpreter.as_deref(), Some("/bin/sh"));
    assert_eq!(script.interpreter_arg.as_deref(), Some("-e"));
    assert_eq!(
        m.lookup("/usr/lib/reactor.wasm").unwrap().entry.as_deref(),
        Some("run")
    );
    // The whiteout of the second layer removed /etc/scratch from the image files.
    let tar = std::fs::read(out.join("rootfs.tar")).unwrap();
    let rootfs = recompiler_oci::Rootfs::from_tar(&tar[..]).unwrap();
    assert!(rootfs.get("/etc/scratch").is_none());
    assert!(rootfs.get("/usr/share/data/words.txt").is_some());
}

#[test]
fn unknown_hash_id_runs_nothing_and_one_instance_runs_one_program() {
    let tmp = tempfile::tempdir().unwrap();
    let (_image, out) = built_standard(tmp.path());
    let (wasm, m) = load(&out);
    let unknown = run_dispatched(&wasm, 0x0123_4567_89ab_cdef, &RunOptions::new(["x"])).unwrap();
    assert_eq!(unknown.returned, Some(-1));
    assert!(unknown.output.stdout.is_empty() && unknown.output.stderr.is_empty());

    // Dispatch twice on one instance: the second call is refused.
    let id = m
        .lookup("/usr/bin/simd")
        .unwrap()
        .dispatch_id_value()
        .unwrap();
    let pre = recompiler_testkit::dispatch::dispatch_pre(
        &recompiler_testkit::run::compile(&wasm).unwrap(),
    )
    .unwrap();
    let opts = RunOptions::new(["simd"]);
    let mut inst = recompiler_testkit::dispatch::instantiate_dispatched(&pre, &opts).unwrap();
    let _ = recompiler_testkit::dispatch::dispatch(
        &mut inst.store,
        &inst.instance,
        &inst.output,
        id,
        &opts.args,
    )
    .unwrap();
    let second = recompiler_testkit::dispatch::dispatch(
        &mut inst.store,
        &inst.instance,
        &inst.output,
        id,
        &opts.args,
    )
    .unwrap();
    assert_eq!(second.returned, Some(-2));
}

#[test]
fn building_twice_gives_identical_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let image = standard_image(&tmp.path().join("img"));
    let (key, _) = crate::image::keygen(tmp.path(), "k");
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    for dir in [&a, &b] {
        assert_ok(&build(&image.oci(), dir, Some(&key), REACTOR_ENTRY));
    }
    for f in [
        "container.wasm",
        "mapping.json",
        "rootfs.tar",
        "mapping.json.sig",
    ] {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs between two builds"
        );
    }
}
