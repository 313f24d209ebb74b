//! The megabinary harness: `run_dispatched` on a hand-written module that
//! follows the megabinary ABI, and the memory-redirecting linker on every real
//! guest program with its memory export renamed.

use recompiler_testkit::dispatch::{self, program_memory_export, run_redirected};
use recompiler_testkit::edit::rename_export;
use recompiler_testkit::guests;
use recompiler_testkit::run::{self, RunOptions};
use recompiler_testkit::{Exit, run_alone, run_dispatched};

/// A tiny "megabinary": the dispatcher's memory is `memory` (index 0), program
/// 1's memory is index 1 and program 2's index 2, exported under their
/// megabinary names. Program 1 prints "hello <argv[1]>\n" with one fd_write
/// whose pointers are in its own memory and returns 7; program 2 prints "bye\n"
/// from its memory and calls proc_exit(5). Nothing valid is at those offsets
/// in the other memories, so a linker that used `memory` would print garbage.
const MINI_MEGABINARY: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory $dispatch (export "memory") 1)
  (memory $p1 (export "prog.0000000000000001.memory") 1)
  (memory $p2 (export "prog.0000000000000002.memory") 1)
  (data (memory $p1) (i32.const 200) "hello ")
  (data (memory $p2) (i32.const 300) "bye\n")
  (global $dispatched (mut i32) (i32.const 0))

  (func (export "__dispatch_buffer") (param $size i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $size) (i32.const 60000))
      (then (i32.const -1))
      (else (i32.const 1024))))

  (func $strlen (param $s i32) (result i32)
    (local $p i32)
    (local.set $p (local.get $s))
    (block $end
      (loop $scan
        (br_if $end (i32.eqz (i32.load8_u $dispatch (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $scan)))
    (i32.sub (local.get $p) (local.get $s)))

  (func (export "_dispatch") (param $id i64) (param $argc i32) (param $argv i32) (result i32)
    (local $arg i32) (local $len i32)
    (if (global.get $dispatched) (then (return (i32.const -2))))
    (if (i64.eq (local.get $id) (i64.const 1))
      (then
        (global.set $dispatched (i32.const 1))
        ;; argv[1] from the dispatcher's memory to program 1's, after "hello ".
        (local.set $arg (i32.load $dispatch offset=4 (local.get $argv)))
        (local.set $len (call $strlen (local.get $arg)))
        (memory.copy $p1 $dispatch (i32.const 206) (local.get $arg) (local.get $len))
        (i32.store8 $p1 (i32.add (i32.const 206) (local.get $len)) (i32.const 10))
        ;; one iovec at 16 in program 1's memory
        (i32.store $p1 (i32.const 16) (i32.const 200))
        (i32.store $p1 (i32.const 20) (i32.add (local.get $len) (i32.const 7)))
        (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 32)))
        (return (i32.const 7))))
    (if (i64.eq (local.get $id) (i64.const 2))
      (then
        (global.set $dispatched (i32.const 1))
        (i32.store $p2 (i32.const 48) (i32.const 300))
        (i32.store $p2 (i32.const 52) (i32.const 4))
        (drop (call $fd_write (i32.const 1) (i32.const 48) (i32.const 1) (i32.const 64)))
        (call $proc_exit (i32.const 5))
        (unreachable)))
    (i32.const -1))
)
"#;

/// The command program 1 stands for.
const HELLO_COMMAND: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 200) "hello ")
  (func $strlen (param $s i32) (result i32)
    (local $p i32)
    (local.set $p (local.get $s))
    (block $end
      (loop $scan
        (br_if $end (i32.eqz (i32.load8_u (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $scan)))
    (i32.sub (local.get $p) (local.get $s)))
  (func (export "_start")
    (local $len i32)
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (drop (call $args_get (i32.const 1000) (i32.const 2000)))
    (local.set $len (call $strlen (i32.load (i32.const 1004))))
    (memory.copy (i32.const 206) (i32.load (i32.const 1004)) (local.get $len))
    (i32.store8 (i32.add (i32.const 206) (local.get $len)) (i32.const 10))
    (i32.store (i32.const 16) (i32.const 200))
    (i32.store (i32.const 20) (i32.add (local.get $len) (i32.const 7)))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 32)))
    (call $proc_exit (i32.const 7)))
)
"#;

#[test]
fn dispatched_program_writes_through_its_own_memory() {
    let opts = RunOptions::new(["hello", "megabinary"]);
    let dispatched = run_dispatched(MINI_MEGABINARY.as_bytes(), 1, &opts).unwrap();
    assert_eq!(dispatched.returned, Some(7));
    assert_eq!(dispatched.output.stdout_text(), "hello megabinary\n");
    assert_eq!(dispatched.output.exit, Exit::Code(7));

    let alone = run_alone(HELLO_COMMAND.as_bytes(), &opts).unwrap();
    assert_eq!(
        alone, dispatched.output,
        "the dispatched program behaves as the command alone"
    );
}

#[test]
fn proc_exit_leaves_through_the_host() {
    let out = run_dispatched(MINI_MEGABINARY.as_bytes(), 2, &RunOptions::new(["bye"])).unwrap();
    assert_eq!(out.returned, None);
    assert_eq!(out.output.exit, Exit::Code(5));
    assert_eq!(out.output.stdout_text(), "bye\n");
}

#[test]
fn unknown_id_and_second_dispatch() {
    let out = run_dispatched(
        MINI_MEGABINARY.as_bytes(),
        0xdead_beef,
        &RunOptions::new(["x"]),
    )
    .unwrap();
    assert_eq!(out.returned, Some(-1));
    assert!(out.output.stdout.is_empty());

    let module = run::compile(MINI_MEGABINARY.as_bytes()).unwrap();
    let pre = dispatch::dispatch_pre(&module).unwrap();
    let opts = RunOptions::default();
    let mut inst = dispatch::instantiate_dispatched(&pre, &opts).unwrap();
    let args = ["hello".to_owned(), "once".to_owned()];
    let first =
        dispatch::dispatch(&mut inst.store, &inst.instance, &inst.output, 1, &args).unwrap();
    assert_eq!(first.returned, Some(7));
    let second =
        dispatch::dispatch(&mut inst.store, &inst.instance, &inst.output, 1, &args).unwrap();
    assert_eq!(second.returned, Some(-2));
    assert_eq!(
        second.output.stdout_text(),
        "hello once\n",
        "nothing more ran"
    );
}

#[test]
fn a_wasi_call_without_a_program_memory_is_a_harness_error() {
    // Dispatching an id without a memory export leaves no memory selected.
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "sched_yield" (func $y (result i32)))
      (memory (export "memory") 1)
      (func (export "__dispatch_buffer") (param i32) (result i32) (i32.const 0))
      (func (export "_dispatch") (param i64 i32 i32) (result i32) (call $y)))"#;
    let err = run_dispatched(wat.as_bytes(), 1, &RunOptions::new(["x"])).unwrap_err();
    assert!(
        format!("{err:?}").contains("no program memory is selected"),
        "{err:?}"
    );
}

/// Every guest, with its `memory` export renamed as in a megabinary, behaves
/// under the redirecting linker exactly as under wasmtime-wasi's own linker.
#[test]
fn every_guest_behaves_the_same_under_the_redirecting_linker() {
    let export = program_memory_export(0x0123_4567_89ab_cdef);
    for guest in guests::all() {
        if guest.name == "spawner" {
            // Needs the vkernel's process extension: run by the vkernel's tests.
            continue;
        }
        let original = guest.wasm();
        let renamed = rename_export(&original, "memory", &export)
            .unwrap_or_else(|e| panic!("{}: {e:?}", guest.name));
        for opts in sample_options(guest) {
            let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let alone_opts = with_preopen(&opts, dir_a.path());
            let redirected_opts = with_preopen(&opts, dir_b.path());
            let alone = run_alone(&original, &alone_opts).unwrap();
            let redirected = run_redirected(&renamed, &export, &redirected_opts)
                .unwrap_or_else(|e| panic!("{}: {e:?}", guest.name));
            assert_eq!(redirected, alone, "{} with {:?}", guest.name, opts.args);
            assert!(!alone.stdout.is_empty(), "{} printed nothing", guest.name);
        }
    }
}

fn sample_options(guest: &guests::Guest) -> Vec<RunOptions> {
    let name = guest.name;
    match name {
        "stdio_filter" => vec![
            RunOptions::new([name]).stdin("one\ntwo\n"),
            RunOptions::new([name]).stdin("fail\n"),
        ],
        "files_args" => vec![
            RunOptions::new([name, "/data", "f.txt", "some", "words"]),
            RunOptions::new([name]),
        ],
        "rust_echo" => vec![
            RunOptions::new([name, "--exit", "3"])
                .env("RUST_ECHO_X", "y")
                .stdin("abc\n"),
            RunOptions::new([name, "--panic"]),
        ],
        _ => vec![guest.options([name, "arg"])],
    }
}

fn with_preopen(opts: &RunOptions, dir: &std::path::Path) -> RunOptions {
    opts.clone().preopen(dir, "/data")
}
