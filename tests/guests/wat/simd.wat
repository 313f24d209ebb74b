;; simd: 128-bit SIMD (v128 arithmetic, shuffles, swizzles, lanes, saturating
;; and float lanes, bitmask, dot product) plus one relaxed-SIMD instruction
;; used where its result is fully determined.
;;
;; Prints:
;;   i32x4.add: 11 22 33 44
;;   i32x4.mul: 10 40 90 160
;;   shuffle reverse: 4 3 2 1
;;   i16x8.add_sat_s lane 0: 32767
;;   f32x4 *2 trunc: 3 5 -6 8
;;   lanes: extract=30 replaced: 1 2 -7 4
;;   swizzle: 1 0 3 2
;;   relaxed_swizzle: 4 3 2 1
;;   bitmask: 5
;;   dot: 11 0 0 0
;;   memory roundtrip i64 lanes: 4294967297 12884901891
;; and exits with 13 (1 if a check fails).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)

  (data (i32.const 1024) "i32x4.add:\00")
  (data (i32.const 1056) "i32x4.mul:\00")
  (data (i32.const 1088) "shuffle reverse:\00")
  (data (i32.const 1120) "i16x8.add_sat_s lane 0: \00")
  (data (i32.const 1152) "f32x4 *2 trunc:\00")
  (data (i32.const 1184) "lanes: extract=\00")
  (data (i32.const 1216) "FAIL\0a\00")
  (data (i32.const 1248) " replaced:\00")
  (data (i32.const 1280) "swizzle:\00")
  (data (i32.const 1312) "relaxed_swizzle:\00")
  (data (i32.const 1344) "bitmask: \00")
  (data (i32.const 1376) "dot:\00")
  (data (i32.const 1408) "memory roundtrip i64 lanes: \00")

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

  ;; Prints the four i32 lanes, each preceded by a space, then a newline.
  (func $print_i32x4 (param $v v128)
    (call $space) (call $print_i32 (i32x4.extract_lane 0 (local.get $v)))
    (call $space) (call $print_i32 (i32x4.extract_lane 1 (local.get $v)))
    (call $space) (call $print_i32 (i32x4.extract_lane 2 (local.get $v)))
    (call $space) (call $print_i32 (i32x4.extract_lane 3 (local.get $v)))
    (call $nl))
  (func $check_i32x4 (param $v v128) (param $expected v128)
    (call $check (i32x4.all_true (i32x4.eq (local.get $v) (local.get $expected)))))

  (func (export "_start")
    (local $a v128) (local $b v128) (local $r v128) (local $x i32)
    (local.set $a (v128.const i32x4 1 2 3 4))
    (local.set $b (v128.const i32x4 10 20 30 40))

    (call $puts (i32.const 1024))
    (local.set $r (i32x4.add (local.get $a) (local.get $b)))
    (call $print_i32x4 (local.get $r))
    (call $check_i32x4 (local.get $r) (v128.const i32x4 11 22 33 44))

    (call $puts (i32.const 1056))
    (local.set $r (i32x4.mul (local.get $a) (local.get $b)))
    (call $print_i32x4 (local.get $r))
    (call $check_i32x4 (local.get $r) (v128.const i32x4 10 40 90 160))

    (call $puts (i32.const 1088))
    (local.set $r (i8x16.shuffle 12 13 14 15 8 9 10 11 4 5 6 7 0 1 2 3
                    (local.get $a) (local.get $b)))
    (call $print_i32x4 (local.get $r))
    (call $check_i32x4 (local.get $r) (v128.const i32x4 4 3 2 1))

    (call $puts (i32.const 1120))
    (local.set $x (i16x8.extract_lane_s 0
                    (i16x8.add_sat_s (i16x8.splat (i32.const 32000)) (i16x8.splat (i32.const 1000)))))
    (call $print_i32 (local.get $x)) (call $nl)
    (call $check (i32.eq (local.get $x) (i32.const 32767)))

    (call $puts (i32.const 1152))
    (local.set $r (i32x4.trunc_sat_f32x4_s
                    (f32x4.mul (v128.const f32x4 1.5 2.5 -3.0 4.0) (f32x4.splat (f32.const 2)))))
    (call $print_i32x4 (local.get $r))
    (call $check_i32x4 (local.get $r) (v128.const i32x4 3 5 -6 8))

    (call $puts (i32.const 1184))
    (local.set $x (i32x4.extract_lane 2 (local.get $b)))
    (call $print_i32 (local.get $x))
    (call $puts (i32.const 1248))
    (local.set $r (i32x4.replace_lane 2 (local.get $a) (i32.const -7)))
    (call $check (i32.eq (local.get $x) (i32.const 30)))
    (call $print_i32x4 (local.get $r))
    (call $check_i32x4 (local.get $r) (v128.const i32x4 1 2 -7 4))

    ;; Swap neighbouring i32 lanes: byte indices 4..7 0..3 12..15 8..11.
    (call $puts (i32.const 1280))
    (local.set $r (i8x16.swizzle (v128.const i32x4 0 1 2 3)
                    (v128.const i8x16 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11)))
    (call $print_i32x4 (local.get $r))
    (call $check_i32x4 (local.get $r) (v128.const i32x4 1 0 3 2))

    ;; Relaxed swizzle is deterministic when every index is below 16.
    (call $puts (i32.const 1312))
    (local.set $r (i8x16.relaxed_swizzle (local.get $a)
                    (v128.const i8x16 12 13 14 15 8 9 10 11 4 5 6 7 0 1 2 3)))
    (call $print_i32x4 (local.get $r))
    (call $check_i32x4 (local.get $r) (v128.const i32x4 4 3 2 1))

    (call $puts (i32.const 1344))
    (local.set $x (i32x4.bitmask (v128.const i32x4 -1 0 -1 0)))
    (call $print_i32 (local.get $x)) (call $nl)
    (call $check (i32.eq (local.get $x) (i32.const 5)))

    ;; (1*1 + 2*5) in lane 0, zeros elsewhere.
    (call $puts (i32.const 1376))
    (local.set $r (i32x4.dot_i16x8_s (v128.const i16x8 1 2 0 0 0 0 0 0)
                                     (v128.const i16x8 1 5 0 0 0 0 0 0)))
    (call $print_i32x4 (local.get $r))
    (call $check_i32x4 (local.get $r) (v128.const i32x4 11 0 0 0))

    ;; Store (1 1 3 3) as i32 lanes, read back as two i64 lanes.
    (call $puts (i32.const 1408))
    (v128.store (i32.const 512) (v128.const i32x4 1 1 3 3))
    (local.set $r (v128.load (i32.const 512)))
    (call $print_i64 (i64x2.extract_lane 0 (local.get $r))) (call $space)
    (call $print_i64 (i64x2.extract_lane 1 (local.get $r))) (call $nl)
    (call $check (i64.eq (i64x2.extract_lane 1 (local.get $r)) (i64.const 12884901891)))

    (if (i32.eqz (global.get $ok))
      (then (call $puts (i32.const 1216)) (call $proc_exit (i32.const 1))))
    (call $proc_exit (i32.const 13)))
)
