;; tailcall: the tail-call proposal. `return_call` between two mutually
;; recursive functions and `return_call_indirect` through a table, each
;; 1,000,000 calls deep: without tail calls this overflows the wasm stack.
;;
;; Prints:
;;   is_even(1000000)=1
;;   is_odd(1000001)=1
;;   sum_to(1000000)=500000500000
;; and exits with 12 (1 if a check fails).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)

  (data (i32.const 1024) "is_even(1000000)=\00")
  (data (i32.const 1056) "is_odd(1000001)=\00")
  (data (i32.const 1088) "sum_to(1000000)=\00")
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

  (func $is_even (param $n i32) (result i32)
    (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
    (return_call $is_odd (i32.sub (local.get $n) (i32.const 1))))
  (func $is_odd (param $n i32) (result i32)
    (if (i32.eqz (local.get $n)) (then (return (i32.const 0))))
    (return_call $is_even (i32.sub (local.get $n) (i32.const 1))))

  ;; sum_to(n, acc): acc + n + (n-1) + ... + 1, one indirect tail call per step.
  (type $step (func (param i64 i64) (result i64)))
  (table $steps 2 funcref)
  (elem (table $steps) (i32.const 0) func $sum_done $sum_step)
  (func $sum_done (type $step) (local.get 1))
  (func $sum_step (type $step)
    (return_call_indirect $steps (type $step)
      (i64.sub (local.get 0) (i64.const 1))
      (i64.add (local.get 1) (local.get 0))
      ;; index 1 (keep going) while n - 1 > 0, index 0 (done) after
      (i64.gt_s (i64.sub (local.get 0) (i64.const 1)) (i64.const 0))))
  (func $sum_to (param $n i64) (result i64)
    (return_call $sum_step (local.get $n) (i64.const 0)))

  (func (export "_start")
    (local $r i32) (local $s i64)
    (call $puts (i32.const 1024))
    (local.set $r (call $is_even (i32.const 1000000)))
    (call $print_i32 (local.get $r)) (call $nl)
    (call $check (i32.eq (local.get $r) (i32.const 1)))

    (call $puts (i32.const 1056))
    (local.set $r (call $is_odd (i32.const 1000001)))
    (call $print_i32 (local.get $r)) (call $nl)
    (call $check (i32.eq (local.get $r) (i32.const 1)))

    (call $puts (i32.const 1088))
    (local.set $s (call $sum_to (i64.const 1000000)))
    (call $print_i64 (local.get $s)) (call $nl)
    (call $check (i64.eq (local.get $s) (i64.const 500000500000)))

    (if (i32.eqz (global.get $ok))
      (then (call $puts (i32.const 1216)) (call $proc_exit (i32.const 1))))
    (call $proc_exit (i32.const 12)))
)
