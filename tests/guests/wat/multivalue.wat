;; multivalue: functions returning several values, blocks, ifs and loops with
;; parameters, and an indirect call returning two values.
;;
;; Prints:
;;   divmod(47,5)=9 2
;;   rotate3(1,2,3)=2 3 1
;;   block with params: 7
;;   if with params: 12
;;   fib(90) by loop params: 2880067194370816120
;;   indirect minmax(8,3)=3 8
;; and exits with 14 (1 if a check fails).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)

  (data (i32.const 1024) "divmod(47,5)=\00")
  (data (i32.const 1056) "rotate3(1,2,3)=\00")
  (data (i32.const 1088) "block with params: \00")
  (data (i32.const 1120) "if with params: \00")
  (data (i32.const 1152) "fib(90) by loop params: \00")
  (data (i32.const 1184) "indirect minmax(8,3)=\00")
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

  (func $divmod (param $a i32) (param $b i32) (result i32 i32)
    (i32.div_u (local.get $a) (local.get $b))
    (i32.rem_u (local.get $a) (local.get $b)))

  (func $rotate3 (param i32 i32 i32) (result i32 i32 i32)
    (local.get 1) (local.get 2) (local.get 0))

  (type $pair (func (param i32 i32) (result i32 i32)))
  (table 1 funcref)
  (elem (i32.const 0) $minmax)
  ;; (x, y) -> (min, max); the `if` takes both operands as parameters.
  (func $minmax (type $pair)
    (local.get 0) (local.get 1)
    (if (param i32 i32) (result i32 i32) (i32.gt_s (local.get 0) (local.get 1))
      (then (drop) (drop) (local.get 1) (local.get 0))))

  ;; fib(n) with the loop carrying (a, b, i) as its parameters.
  (func $fib (param $n i64) (result i64)
    (i64.const 0) (i64.const 1) (i64.const 0)
    (loop $next (param i64 i64 i64) (result i64 i64 i64)
      (local.get $n)
      (call $fib_step)
      (br_if $next))
    ;; stack: a b i; fib(n) is a
    (drop) (drop))

  ;; (a b i n) -> (a' b' i' continue) where continue is i' < n.
  (func $fib_step (param $a i64) (param $b i64) (param $i i64) (param $n i64)
                  (result i64 i64 i64 i32)
    (if (result i64 i64 i64 i32) (i64.ge_u (local.get $i) (local.get $n))
      (then (local.get $a) (local.get $b) (local.get $i) (i32.const 0))
      (else
        (local.get $b)
        (i64.add (local.get $a) (local.get $b))
        (i64.add (local.get $i) (i64.const 1))
        (i32.const 1))))

  (func (export "_start")
    (local $x i32) (local $y i32) (local $z i32) (local $f i64)
    (call $puts (i32.const 1024))
    (call $divmod (i32.const 47) (i32.const 5))
    (local.set $y) (local.set $x)
    (call $print_i32 (local.get $x)) (call $space) (call $print_i32 (local.get $y)) (call $nl)
    (call $check (i32.and (i32.eq (local.get $x) (i32.const 9)) (i32.eq (local.get $y) (i32.const 2))))

    (call $puts (i32.const 1056))
    (call $rotate3 (i32.const 1) (i32.const 2) (i32.const 3))
    (local.set $z) (local.set $y) (local.set $x)
    (call $print_i32 (local.get $x)) (call $space)
    (call $print_i32 (local.get $y)) (call $space)
    (call $print_i32 (local.get $z)) (call $nl)
    (call $check (i32.and (i32.and (i32.eq (local.get $x) (i32.const 2))
                                   (i32.eq (local.get $y) (i32.const 3)))
                          (i32.eq (local.get $z) (i32.const 1))))

    (call $puts (i32.const 1088))
    (i32.const 3) (i32.const 4)
    (block (param i32 i32) (result i32)
      (i32.add))
    (local.set $x)
    (call $print_i32 (local.get $x)) (call $nl)
    (call $check (i32.eq (local.get $x) (i32.const 7)))

    (call $puts (i32.const 1120))
    (i32.const 3) (i32.const 4)
    (if (param i32 i32) (result i32) (i32.const 1)
      (then (i32.mul))
      (else (i32.sub)))
    (local.set $x)
    (call $print_i32 (local.get $x)) (call $nl)
    (call $check (i32.eq (local.get $x) (i32.const 12)))

    (call $puts (i32.const 1152))
    (local.set $f (call $fib (i64.const 90)))
    (call $print_i64 (local.get $f)) (call $nl)
    (call $check (i64.eq (local.get $f) (i64.const 2880067194370816120)))

    (call $puts (i32.const 1184))
    (call_indirect (type $pair) (i32.const 8) (i32.const 3) (i32.const 0))
    (local.set $y) (local.set $x)
    (call $print_i32 (local.get $x)) (call $space) (call $print_i32 (local.get $y)) (call $nl)
    (call $check (i32.and (i32.eq (local.get $x) (i32.const 3)) (i32.eq (local.get $y) (i32.const 8))))

    (if (i32.eqz (global.get $ok))
      (then (call $puts (i32.const 1216)) (call $proc_exit (i32.const 1))))
    (call $proc_exit (i32.const 14)))
)
