;; start_section: a command with a wasm `start` function. The start function
;; counts its runs and initialises a global; `_start` prints both (and argc,
;; read with args_sizes_get). The count must be exactly 1.
;;
;; Prints:
;;   start ran 1 time(s), value=123
;;   argc=N
;; and exits with 17 (1 if the start function did not run exactly once).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)

  (data (i32.const 1024) "start ran \00")
  (data (i32.const 1056) " time(s), value=\00")
  (data (i32.const 1088) "argc=\00")
  (data (i32.const 1216) "FAIL\0a\00")

  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))))
  (func $puts (param $s i32)
    (local $p i32)
    (local.set $p (local.get $s))
    (block $end
      (loop $scan
        (br_if $end (i32.eqz (i32.load8_u (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $scan)))
    (call $print (local.get $s) (i32.sub (local.get $p) (local.get $s))))
  (func $char (param $c i32)
    (i32.store8 (i32.const 64) (local.get $c))
    (call $print (i32.const 64) (i32.const 1)))
  (func $print_i64 (param $v i64)
    (local $p i32) (local $u i64) (local $neg i32)
    (local.set $p (i32.const 64))
    (local.set $neg (i64.lt_s (local.get $v) (i64.const 0)))
    (local.set $u (select (i64.sub (i64.const 0) (local.get $v)) (local.get $v) (local.get $neg)))
    (loop $digits
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $u) (i64.const 10)))))
      (local.set $u (i64.div_u (local.get $u) (i64.const 10)))
      (br_if $digits (i64.ne (local.get $u) (i64.const 0))))
    (if (local.get $neg)
      (then
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (i32.store8 (local.get $p) (i32.const 45))))
    (call $print (local.get $p) (i32.sub (i32.const 64) (local.get $p))))
  (func $print_i32 (param $v i32) (call $print_i64 (i64.extend_i32_s (local.get $v))))
  (func $nl (call $char (i32.const 10)))
  (func $space (call $char (i32.const 32)))

  (global $ok (mut i32) (i32.const 1))
  (func $check (param $cond i32)
    (if (i32.eqz (local.get $cond)) (then (global.set $ok (i32.const 0)))))

  (global $starts (mut i32) (i32.const 0))
  (global $value (mut i32) (i32.const 0))

  (func $init
    (global.set $starts (i32.add (global.get $starts) (i32.const 1)))
    (global.set $value (i32.add (global.get $value) (i32.const 123))))
  (start $init)

  (func (export "_start")
    (call $puts (i32.const 1024))
    (call $print_i32 (global.get $starts))
    (call $puts (i32.const 1056))
    (call $print_i32 (global.get $value)) (call $nl)
    (call $check (i32.eq (global.get $starts) (i32.const 1)))
    (call $check (i32.eq (global.get $value) (i32.const 123)))

    (call $check (i32.eqz (call $args_sizes_get (i32.const 512) (i32.const 516))))
    (call $puts (i32.const 1088))
    (call $print_i32 (i32.load (i32.const 512))) (call $nl)

    (if (i32.eqz (global.get $ok))
      (then (call $puts (i32.const 1216)) (call $proc_exit (i32.const 1))))
    (call $proc_exit (i32.const 17)))
)
