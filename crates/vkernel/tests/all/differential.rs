//! The same programs alone under plain wasmtime-wasi (the oracle) and through
//! the vkernel: same stdout, stderr and exit code.

use recompiler_testkit::{Exit, RunOptions, run_alone};
use recompiler_vkernel::container::{Container, ExecRequest};
use recompiler_vkernel::engine::RunEnd;
use recompiler_vkernel::gate::CopyPolicy;
use recompiler_vkernel::kernel::{Interrupt, Limits, OFlags};

use crate::bundles;

struct Case {
    path: &'static str,
    guest: &'static str,
    args: &'static [&'static str],
    stdin: &'static [u8],
}

const CASES: &[Case] = &[
    Case {
        path: "/usr/bin/stdio_filter",
        guest: "stdio_filter",
        args: &[],
        stdin: b"one\ntwo\n",
    },
    Case {
        path: "/usr/bin/stdio_filter",
        guest: "stdio_filter",
        args: &[],
        stdin: b"x\nfail\n",
    },
    Case {
        path: "/usr/bin/bigdata",
        guest: "bigdata",
        args: &["a", "b"],
        stdin: b"",
    },
    Case {
        path: "/usr/bin/rust_echo",
        guest: "rust_echo",
        args: &["x y", "--exit", "5"],
        stdin: b"abc\n",
    },
    Case {
        path: "/usr/bin/files_args",
        guest: "files_args",
        args: &[],
        stdin: b"",
    },
];

#[test]
fn programs_behave_as_under_plain_wasmtime() {
    let tmp = tempfile::tempdir().unwrap();
    let (_runtime, loaded) = bundles::load(tmp.path(), CopyPolicy::ExactPath);
    for case in CASES {
        let argv0 = case.path.rsplit('/').next().unwrap();
        let argv: Vec<String> = std::iter::once(argv0)
            .chain(case.args.iter().copied())
            .map(String::from)
            .collect();
        let alone = run_alone(
            &recompiler_testkit::guests::wasm(case.guest),
            &RunOptions::new(argv.clone())
                .env("RUST_ECHO_X", "1")
                .stdin(case.stdin.to_vec()),
        )
        .unwrap();
        // A fresh container per run, as the oracle's fresh instance.
        let container = Container::new("t", loaded.clone(), Limits::default());
        let out = container
            .run(&ExecRequest {
                path: case.path.into(),
                argv,
                env: vec![("RUST_ECHO_X".into(), "1".into())],
                stdin: case.stdin.to_vec(),
                ..ExecRequest::default()
            })
            .unwrap();
        let what = format!("{} {:?}", case.path, case.args);
        assert_eq!(
            String::from_utf8_lossy(&alone.stdout),
            String::from_utf8_lossy(&out.stdout),
            "{what}: stdout"
        );
        assert_eq!(
            String::from_utf8_lossy(&alone.stderr),
            String::from_utf8_lossy(&out.stderr),
            "{what}: stderr"
        );
        match (&alone.exit, &out.end) {
            (Exit::Code(a), RunEnd::Exited(b)) => assert_eq!(a, b, "{what}: exit"),
            (a, b) => panic!("{what}: ended differently: {a:?} vs {b:?}"),
        }
    }
}

#[test]
fn a_process_sees_its_containers_files_and_not_another_containers() {
    let tmp = tempfile::tempdir().unwrap();
    let (_runtime, loaded) = bundles::load(tmp.path(), CopyPolicy::ExactPath);
    let a = Container::new("a", loaded.clone(), Limits::default());
    let b = Container::new("b", loaded, Limits::default());
    let run = |c: &Container| {
        let out = c
            .run(&ExecRequest {
                path: "/usr/bin/files_args".into(),
                argv: ["files_args", "/workspace", "n.txt", "hello"]
                    .map(String::from)
                    .to_vec(),
                ..ExecRequest::default()
            })
            .unwrap();
        assert_eq!(
            out.end,
            RunEnd::Exited(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // A file created in container a (by the host, as the syscall API will).
    let vfs = a.kernel.vfs();
    let f = vfs
        .openat(
            vfs.root(),
            b"/workspace/extra",
            OFlags::WRONLY | OFlags::CREAT,
            0o644,
        )
        .unwrap();
    f.write(b"x", &Interrupt::new()).unwrap();
    // files_args lists /workspace: readme.txt, sub/ and, in a only, extra.
    let in_a = run(&a);
    let in_b = run(&b);
    assert!(
        in_a.contains("dir: 3 entries") && in_a.contains("extra"),
        "{in_a}"
    );
    assert!(
        in_b.contains("dir: 2 entries") && !in_b.contains("extra"),
        "{in_b}"
    );
}

#[test]
fn a_pipeline_streams_through_kernel_pipes_as_the_programs_would_in_sequence() {
    let tmp = tempfile::tempdir().unwrap();
    let (_runtime, loaded) = bundles::load(tmp.path(), CopyPolicy::ExactPath);
    let container = Container::new("p", loaded, Limits::default());
    // About 1 MiB of input: far more than a pipe holds, so the stages must
    // run at the same time for it to finish.
    let input: Vec<u8> = (0..40_000)
        .flat_map(|i| format!("line {i} of the input\n").into_bytes())
        .collect();
    let stage = |stdin: Vec<u8>| ExecRequest {
        path: "/usr/bin/stdio_filter".into(),
        argv: vec!["stdio_filter".into()],
        stdin,
        ..ExecRequest::default()
    };
    let outs = container
        .run_pipeline(&[stage(input.clone()), stage(Vec::new()), stage(Vec::new())])
        .unwrap();

    // The oracle: the same program three times in sequence under plain wasmtime.
    let wasm = recompiler_testkit::guests::wasm("stdio_filter");
    let mut data = input;
    let mut alone = Vec::new();
    for _ in 0..3 {
        let out = run_alone(&wasm, &RunOptions::new(["stdio_filter"]).stdin(data)).unwrap();
        data = out.stdout.clone();
        alone.push(out);
    }
    assert_eq!(outs.len(), 3);
    assert!(
        outs[2].stdout == alone[2].stdout,
        "the pipeline's output differs from the sequential run"
    );
    for (i, (p, a)) in outs.iter().zip(&alone).enumerate() {
        assert_eq!(
            String::from_utf8_lossy(&p.stderr),
            String::from_utf8_lossy(&a.stderr),
            "stage {i} stderr"
        );
        match (&a.exit, &p.end) {
            (Exit::Code(x), RunEnd::Exited(y)) => assert_eq!(x, y, "stage {i} exit"),
            (x, y) => panic!("stage {i}: {x:?} vs {y:?}"),
        }
    }
    // Nothing is left behind in the container's process table.
    assert_eq!(container.kernel.summary().processes, 0);
}
