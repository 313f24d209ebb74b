;; reactor: a WASI reactor, no `_start`. `_initialize` sets up state (and
;; prints); `run` uses it and returns a status. The host must call
;; `_initialize` first, then `run`.
;;
;; Prints (from _initialize, then run):
;;   initialized: state=1000
;;   run: state=1000 initialized=1 runs=1
;; `run` returns 16 (1 if `_initialize` did not run first).
;; testkit-entry: run
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)

  (data (i32.const 1024) "initialized: state=\00")
  (data (i32.const 1056) "run: state=\00")
  (data (i32.const 1088) " initialized=\00")
  (data (i32.const 1120) " runs=\00")

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

  (global $state (mut i32) (i32.const 0))
  (global $initialized (mut i32) (i32.const 0))
  (global $runs (mut i32) (i32.const 0))

  (func (export "_initialize")
    (global.set $state (i32.const 1000))
    (global.set $initialized (i32.add (global.get $initialized) (i32.const 1)))
    (call $puts (i32.const 1024))
    (call $print_i32 (global.get $state)) (call $nl))

  (func (export "run") (result i32)
    (global.set $runs (i32.add (global.get $runs) (i32.const 1)))
    (call $puts (i32.const 1056))
    (call $print_i32 (global.get $state))
    (call $puts (i32.const 1088))
    (call $print_i32 (global.get $initialized))
    (call $puts (i32.const 1120))
    (call $print_i32 (global.get $runs))
    (call $nl)
    (if (result i32) (i32.and (i32.eq (global.get $initialized) (i32.const 1))
                              (i32.eq (global.get $state) (i32.const 1000)))
      (then (i32.const 16))
      (else (i32.const 1))))
)
