;; exceptions: the exception-handling proposal (tags, throw, try_table with
;; catch / catch_ref / catch_all, throw_ref, exnref), with exceptions that
;; carry values and cross function frames.
;;
;; Prints:
;;   catch i32: 42
;;   catch pair: 7 -9000000000
;;   rethrown with throw_ref: 99
;;   catch_all: 1
;;   outer catch after inner miss: 5 6
;;   sum of 1000 caught: 499500
;; and exits with 11 (1 if a check fails).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)

  ;; Scratch: 0 iovec, 16 nwritten, 32..64 digits. Strings: 32-byte slots from 1024.
  (data (i32.const 1024) "catch i32: \00")
  (data (i32.const 1056) "catch pair: \00")
  (data (i32.const 1088) "rethrown with throw_ref: \00")
  (data (i32.const 1120) "catch_all: \00")
  (data (i32.const 1152) "outer catch after inner miss: \00")
  (data (i32.const 1184) "sum of 1000 caught: \00")
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

  (tag $e_i32 (param i32))
  (tag $e_pair (param i32 i64))
  (tag $e_empty)

  ;; Throws from a few frames down.
  (func $throw_i32 (param $v i32) (call $deeper (local.get $v)))
  (func $deeper (param $v i32) (throw $e_i32 (local.get $v)))

  (func $catch_i32 (result i32)
    (block $h (result i32)
      (try_table (catch $e_i32 $h)
        (call $throw_i32 (i32.const 42)))
      (i32.const -1)))

  (func $catch_pair (result i32 i64)
    (block $h (result i32 i64)
      (try_table (catch $e_pair $h)
        (throw $e_pair (i32.const 7) (i64.const -9000000000)))
      (i32.const -1) (i64.const -1)))

  ;; catch_ref keeps the exception as an exnref; throw_ref rethrows it as is.
  (func $rethrow (result i32)
    (local $ex exnref)
    (block $outer (result i32)
      (try_table (catch $e_i32 $outer)
        (block $inner (result i32 exnref)
          (try_table (catch_ref $e_i32 $inner)
            (call $throw_i32 (i32.const 99)))
          (unreachable))
        (local.set $ex)
        (drop)
        (throw_ref (local.get $ex)))
      (i32.const -1)))

  (func $catch_all (result i32)
    (block $h
      (try_table (catch_all $h)
        (throw $e_empty))
      (return (i32.const 0)))
    (i32.const 1))

  ;; The inner handler does not match $e_pair; the outer one does.
  (func $outer_handler (result i32 i64)
    (block $h (result i32 i64)
      (try_table (catch $e_pair $h)
        (block $wrong (result i32)
          (try_table (catch $e_i32 $wrong)
            (throw $e_pair (i32.const 5) (i64.const 6)))
          (i32.const -2))
        (drop))
      (i32.const -1) (i64.const -1)))

  (func $sum_caught (result i64)
    (local $i i32) (local $sum i64)
    (loop $again
      (local.set $sum
        (i64.add (local.get $sum)
          (i64.extend_i32_s
            (block $h (result i32)
              (try_table (catch $e_i32 $h)
                (call $throw_i32 (local.get $i)))
              (i32.const 0)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 1000))))
    (local.get $sum))

  (func (export "_start")
    (local $a i32) (local $b i64)
    (call $puts (i32.const 1024))
    (local.set $a (call $catch_i32))
    (call $print_i32 (local.get $a)) (call $nl)
    (call $check (i32.eq (local.get $a) (i32.const 42)))

    (call $puts (i32.const 1056))
    (call $catch_pair)
    (local.set $b) (local.set $a)
    (call $print_i32 (local.get $a)) (call $space) (call $print_i64 (local.get $b)) (call $nl)
    (call $check (i32.and (i32.eq (local.get $a) (i32.const 7))
                          (i64.eq (local.get $b) (i64.const -9000000000))))

    (call $puts (i32.const 1088))
    (local.set $a (call $rethrow))
    (call $print_i32 (local.get $a)) (call $nl)
    (call $check (i32.eq (local.get $a) (i32.const 99)))

    (call $puts (i32.const 1120))
    (local.set $a (call $catch_all))
    (call $print_i32 (local.get $a)) (call $nl)
    (call $check (i32.eq (local.get $a) (i32.const 1)))

    (call $puts (i32.const 1152))
    (call $outer_handler)
    (local.set $b) (local.set $a)
    (call $print_i32 (local.get $a)) (call $space) (call $print_i64 (local.get $b)) (call $nl)
    (call $check (i32.and (i32.eq (local.get $a) (i32.const 5))
                          (i64.eq (local.get $b) (i64.const 6))))

    (call $puts (i32.const 1184))
    (local.set $b (call $sum_caught))
    (call $print_i64 (local.get $b)) (call $nl)
    (call $check (i64.eq (local.get $b) (i64.const 499500)))

    (if (i32.eqz (global.get $ok))
      (then (call $puts (i32.const 1216)) (call $proc_exit (i32.const 1))))
    (call $proc_exit (i32.const 11)))
)
