//! Every guest program run alone under plain wasmtime-wasi, with its output
//! asserted; C guests are also compared with their native build.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use recompiler_testkit::guests;
use recompiler_testkit::{Exit, RunOptions, RunOutput, run_alone};

/// Every guest in `tests/guests` must have a test function of its name here.
macro_rules! assert_test_exists {
    ($($name:ident),* $(,)?) => {
        $(
            #[allow(unused_imports, reason = "only checks that the test exists")]
            use self::$name as _;
        )*
    };
}
recompiler_testkit::foreach_guest!(assert_test_exists);

fn run(name: &str, opts: &RunOptions) -> RunOutput {
    let guest = guests::get(name);
    let mut opts = opts.clone();
    if guest.is_reactor() && opts.entry.is_none() {
        opts.entry = Some(guest.entry.to_owned());
    }
    run_alone(&guest.wasm(), &opts).unwrap_or_else(|e| panic!("{name}: {e:?}"))
}

fn assert_output(out: &RunOutput, stdout: &str, stderr: &str, exit: i32) {
    assert_eq!(out.stdout_text(), stdout, "stdout");
    assert_eq!(out.stderr_text(), stderr, "stderr");
    assert_eq!(out.exit, Exit::Code(exit), "exit");
}

/// Runs the native build of a C guest: same argv (argv[0] included), env and stdin.
fn run_native(name: &str, opts: &RunOptions) -> RunOutput {
    use std::os::unix::process::CommandExt as _;
    let native = guests::get(name)
        .native()
        .expect("a C guest has a native build");
    let mut cmd = Command::new(native);
    cmd.arg0(&opts.args[0])
        .args(&opts.args[1..])
        .env_clear()
        .envs(opts.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the native guest starts");
    child.stdin.take().unwrap().write_all(&opts.stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    RunOutput {
        stdout: out.stdout,
        stderr: out.stderr,
        exit: Exit::Code(out.status.code().expect("the native guest exits normally")),
    }
}

#[test]
fn stdio_filter() {
    let opts = RunOptions::new(["stdio_filter"]).stdin("hello\nWorld 2\nfoo");
    let out = run("stdio_filter", &opts);
    assert_output(
        &out,
        "   1: HELLO\n   2: WORLD 2\n   3: FOO\n",
        "lines=3 bytes=17\n",
        3,
    );
    assert_eq!(run_native("stdio_filter", &opts), out);

    let out = run("stdio_filter", &RunOptions::new(["stdio_filter"]));
    assert_output(&out, "", "lines=0 bytes=0\n", 0);

    let opts = RunOptions::new(["stdio_filter"]).stdin("a\nfail\nb\nc\n");
    let out = run("stdio_filter", &opts);
    assert_output(
        &out,
        "   1: A\n   2: FAIL\n   3: B\n   4: C\n",
        "lines=4 bytes=11\n",
        3,
    );
    assert_eq!(run_native("stdio_filter", &opts), out);

    // 300 lines: the status is the count modulo 256.
    let opts = RunOptions::new(["stdio_filter"]).stdin("x\n".repeat(300));
    let out = run("stdio_filter", &opts);
    assert_eq!(out.exit, Exit::Code(300 % 256));
    assert!(out.stdout_text().ends_with(" 300: X\n"));
}

/// spawner imports the vkernel's process extension (`recompiler_process_v1`),
/// which plain wasmtime-wasi cannot link; the vkernel's tests run it
/// (crates/vkernel/tests/all/process.rs). Its native build only prints a note.
#[test]
fn spawner() {
    let opts = RunOptions::new(["spawner"]);
    let err = run_alone(&guests::wasm("spawner"), &opts).unwrap_err();
    assert!(
        format!("{err:?}").contains("recompiler_process_v1"),
        "{err:?}"
    );
    let native = run_native("spawner", &opts);
    assert_output(
        &native,
        "spawner: needs the vkernel's recompiler_process_v1\n",
        "",
        0,
    );
}

#[test]
fn files_args() {
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions::new(["files_args", "/data", "note.txt", "hello", "world"])
        .preopen(dir.path(), "/data");
    let out = run("files_args", &opts);
    let expected = "argc=5\n\
                    argv[0]=files_args\n\
                    argv[1]=/data\n\
                    argv[2]=note.txt\n\
                    argv[3]=hello\n\
                    argv[4]=world\n\
                    read 24 bytes:\n\
                    hello world\n\
                    second line\n\
                    dir: 1 entries\n  sub/\n\
                    sub: 1 entries\n  note.txt 24\n\
                    cleaned up\n";
    assert_output(&out, expected, "", 0);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "files_args cleans up"
    );

    // argv[0] is passed through exactly, whatever it is.
    let opts = RunOptions::new(["/bin/odd name", "/data"]).preopen(dir.path(), "/data");
    let out = run("files_args", &opts);
    assert_output(
        &out,
        "argc=2\nargv[0]=/bin/odd name\nargv[1]=/data\n",
        "usage: /bin/odd name DIR NAME TEXT...\n",
        2,
    );

    let out = run(
        "files_args",
        &RunOptions::new(["files_args", "/nowhere", "f", "x"]),
    );
    assert_eq!(out.exit, Exit::Code(1));
    assert!(
        out.stderr_text()
            .starts_with("files_args: create /nowhere/f: "),
        "{}",
        out.stderr_text()
    );
}

#[test]
fn files_args_matches_native() {
    // The sandbox sees the directory at the same path as the host, so that
    // the argv and thus the whole output are the same.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_owned();
    let opts =
        RunOptions::new(["files_args", &path, "f", "a", "b", "c"]).preopen(dir.path(), &path);
    let wasm = run("files_args", &opts);
    let native = run_native("files_args", &opts);
    assert_eq!(wasm.exit, Exit::Code(0));
    assert_eq!(wasm, native);
    assert!(Path::new(&path).read_dir().unwrap().next().is_none());
}

#[test]
fn bigdata() {
    let opts = RunOptions::new(["bigdata", "a", "b"]);
    let out = run("bigdata", &opts);
    assert_output(
        &out,
        "table: 2129920 bytes fnv1a=c882cbf5d9fec4d8\n\
         scratch: 1310720 bytes fnv1a=c2800a78c3358008\n\
         scratch after 2 words: fnv1a=8266d4faf39c0ec7\n\
         table[1000000]=100 scratch[1000000]=109\n",
        "",
        0,
    );
    assert_eq!(run_native("bigdata", &opts), out);

    // No words: the scratch checksum does not change.
    let out = run("bigdata", &RunOptions::new(["bigdata"]));
    assert!(
        out.stdout_text()
            .contains("scratch after 0 words: fnv1a=c2800a78c3358008\n")
    );
}

#[test]
fn rust_echo() {
    let opts = RunOptions::new(["rust_echo", "--exit", "7", "x y"])
        .env("RUST_ECHO_B", "2")
        .env("OTHER", "3")
        .env("RUST_ECHO_A", "1")
        .stdin("abc\nhello world\n");
    let out = run("rust_echo", &opts);
    assert_output(
        &out,
        "arg[0]=rust_echo\narg[1]=--exit\narg[2]=7\narg[3]=x y\n\
         env RUST_ECHO_A=1\nenv RUST_ECHO_B=2\n\
         cba\ndlrow olleh\n",
        "rust_echo: 4 args, 2 env, 2 lines\n",
        7,
    );

    let out = run("rust_echo", &RunOptions::new(["echo"]));
    assert_output(
        &out,
        "arg[0]=echo\n",
        "rust_echo: 1 args, 0 env, 0 lines\n",
        0,
    );

    let out = run("rust_echo", &RunOptions::new(["rust_echo", "--panic"]));
    assert!(out.trap().is_some(), "a panic traps: {:?}", out.exit);
    assert!(
        out.stderr_text().contains("panicking as asked"),
        "{}",
        out.stderr_text()
    );
    assert_eq!(out.stdout_text(), "arg[0]=rust_echo\narg[1]=--panic\n");
}

/// The C half of the WASI conformance suite; the suite itself (with its fixture
/// tree, against the vkernel) is crates/vkernel/tests/all/conformance.rs.
#[test]
fn wasi_conf() {
    let out = run("wasi_conf", &RunOptions::new(["wasi_conf", "random"]));
    assert_output(
        &out,
        "random: random_get 64 bytes -> ok\n\
         random: not all zero -> ok yes\n\
         random: random_get 0 bytes -> ok\n\
         random: random_get 70000 bytes -> ok\n",
        "",
        0,
    );
    let out = run("wasi_conf", &RunOptions::new(["wasi_conf", "bad"]));
    assert_output(&out, "11\n", "", 0);
    let opts = RunOptions::new(["wasi_conf", "nope"]);
    let out = run("wasi_conf", &opts);
    assert!(
        out.stdout_text()
            .starts_with("usage: wasi_conf all|bad [N]|prestat|open|")
    );
    assert_eq!(out.stderr_text(), "wasi_conf: no case named nope\n");
    assert_eq!(out.exit, Exit::Code(2));
    // Natively it only says that it is a WASI program.
    let native = run_native("wasi_conf", &opts);
    assert_eq!(native.exit, Exit::Code(0));
    assert!(native.stdout.is_empty());
}

/// The Rust half of the WASI conformance suite (see `wasi_conf`).
#[test]
fn wasi_conf_rs() {
    let opts = RunOptions::new(["wasi_conf_rs", "args", "x y"]).env("K", "v");
    let out = run("wasi_conf_rs", &opts);
    assert_output(
        &out,
        "args: std::env::args -> ok 3 args: [\"args\", \"x y\"]\n\
         args: args_sizes_get -> ok\n\
         args: sizes -> ok argc 3 bytes 22\n\
         args: args_get -> ok\n\
         args: last arg -> ok x y\n\
         args: std::env::vars -> ok [(\"K\", \"v\")]\n\
         args: env::var missing -> ok None\n\
         args: environ_sizes_get -> ok\n\
         args: sizes -> ok count 1 bytes 4\n\
         args: environ_get -> ok\n\
         args: ends with NUL -> ok true\n",
        "",
        0,
    );
    let out = run("wasi_conf_rs", &RunOptions::new(["wasi_conf_rs", "exit"]));
    assert_output(&out, "exit: proc_exit(7)\n", "", 7);
}

#[test]
fn exceptions() {
    let out = run("exceptions", &RunOptions::new(["exceptions"]));
    assert_output(
        &out,
        "catch i32: 42\n\
         catch pair: 7 -9000000000\n\
         rethrown with throw_ref: 99\n\
         catch_all: 1\n\
         outer catch after inner miss: 5 6\n\
         sum of 1000 caught: 499500\n",
        "",
        11,
    );
}

#[test]
fn tailcall() {
    let out = run("tailcall", &RunOptions::new(["tailcall"]));
    assert_output(
        &out,
        "is_even(1000000)=1\nis_odd(1000001)=1\nsum_to(1000000)=500000500000\n",
        "",
        12,
    );
}

#[test]
fn simd() {
    let out = run("simd", &RunOptions::new(["simd"]));
    assert_output(
        &out,
        "i32x4.add: 11 22 33 44\n\
         i32x4.mul: 10 40 90 160\n\
         shuffle reverse: 4 3 2 1\n\
         i16x8.add_sat_s lane 0: 32767\n\
         f32x4 *2 trunc: 3 5 -6 8\n\
         lanes: extract=30 replaced: 1 2 -7 4\n\
         swizzle: 1 0 3 2\n\
         relaxed_swizzle: 4 3 2 1\n\
         bitmask: 5\n\
         dot: 11 0 0 0\n\
         memory roundtrip i64 lanes: 4294967297 12884901891\n",
        "",
        13,
    );
}

#[test]
fn multivalue() {
    let out = run("multivalue", &RunOptions::new(["multivalue"]));
    assert_output(
        &out,
        "divmod(47,5)=9 2\n\
         rotate3(1,2,3)=2 3 1\n\
         block with params: 7\n\
         if with params: 12\n\
         fib(90) by loop params: 2880067194370816120\n\
         indirect minmax(8,3)=3 8\n",
        "",
        14,
    );
}

#[test]
fn bulk() {
    let out = run("bulk", &RunOptions::new(["bulk"]));
    assert_output(
        &out,
        "init: Hello, bulk memory!\n\
         copy: Hello, bulk memory!\n\
         overlap: HeHello, bulk memory!\n\
         fill: ********\n\
         table: 10 20 30 30\n\
         data.drop then empty init: ok\n",
        "",
        15,
    );
}

#[test]
fn reactor() {
    let out = run("reactor", &RunOptions::new(["reactor"]));
    assert_output(
        &out,
        "initialized: state=1000\nrun: state=1000 initialized=1 runs=1\n",
        "",
        16,
    );

    // Without `_initialize` the reactor notices.
    let wasm = guests::wasm("reactor");
    let module = recompiler_testkit::run::compile(&wasm).unwrap();
    let pre = recompiler_testkit::run::alone_pre(&module).unwrap();
    let mut inst =
        recompiler_testkit::run::instantiate_alone(&pre, &RunOptions::default()).unwrap();
    let run = inst
        .instance
        .get_typed_func::<(), i32>(&mut inst.store, "run")
        .unwrap();
    assert_eq!(run.call(&mut inst.store, ()).unwrap(), 1);
}

#[test]
fn start_section() {
    let out = run(
        "start_section",
        &RunOptions::new(["start_section", "x", "y"]),
    );
    assert_output(&out, "start ran 1 time(s), value=123\nargc=3\n", "", 17);
}

#[test]
fn multi_memory() {
    let out = run("multi_memory", &RunOptions::new(["multi_memory"]));
    assert_output(
        &out,
        "from scratch: text kept in the second memory\n\
         round trip: TEXT KEPT IN THE SECOND MEMORY\n\
         sizes: main=1 scratch=3\n",
        "",
        18,
    );
}

#[test]
fn the_engine_rejects_features_a_megabinary_may_not_use() {
    for (feature, wat) in [
        ("threads", r#"(module (memory 1 1 shared))"#),
        ("memory64", r#"(module (memory i64 1))"#),
        ("gc", r#"(module (type (struct (field i32))))"#),
    ] {
        assert!(
            recompiler_testkit::run::compile(wat.as_bytes()).is_err(),
            "{feature} is accepted"
        );
    }
}

#[test]
fn traps_are_reported_apart_from_exit_codes() {
    let out = run_alone(
        br#"(module (func (export "_start") unreachable))"#,
        &RunOptions::default(),
    )
    .unwrap();
    assert_eq!(out.exit_code(), None);
    assert!(
        out.trap().unwrap().contains("unreachable"),
        "{:?}",
        out.exit
    );

    let out = run_alone(
        br#"(module (tag $t) (func (export "_start") (throw $t)))"#,
        &RunOptions::default(),
    )
    .unwrap();
    assert!(
        out.trap().is_some(),
        "an uncaught exception ends the run: {:?}",
        out.exit
    );

    let out = run_alone(
        br#"(module (func (export "_start")))"#,
        &RunOptions::default(),
    )
    .unwrap();
    assert_eq!(out.exit, Exit::Code(0));
}

#[test]
fn misbehave() {
    let out = run("misbehave", &RunOptions::new(["misbehave"]));
    assert_output(&out, "misbehave: ok\n", "", 0);
    let out = run("misbehave", &RunOptions::new(["misbehave", "other"]));
    assert_output(&out, "misbehave: ok\n", "", 0);
    let out = run("misbehave", &RunOptions::new(["misbehave", "trap"]));
    assert!(out.trap().is_some(), "{out:?}");
    // `spin` never ends and `hog` needs a memory limit: the vkernel's tests
    // cover both (tests/all/daemon.rs).
}
