;; multi_memory: a command with two memories. The first is exported as
;; "memory" (the WASI one); the second is private and only reached with
;; memory.copy between the two, loads/stores naming it, and memory.grow.
;;
;; Prints:
;;   from scratch: text kept in the second memory
;;   round trip: TEXT KEPT IN THE SECOND MEMORY
;;   sizes: main=1 scratch=3
;; and exits with 18 (1 if a check fails).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory $main (export "memory") 1)
  (memory $scratch 1)

  (data (memory $main) (i32.const 1024) "from scratch: \00")
  (data (memory $main) (i32.const 1056) "round trip: \00")
  (data (memory $main) (i32.const 1088) "sizes: main=\00")
  (data (memory $main) (i32.const 1120) " scratch=\00")
  (data (memory $main) (i32.const 1216) "FAIL\0a\00")
  ;; 30 bytes and a NUL, only in the second memory.
  (data (memory $scratch) (i32.const 100) "text kept in the second memory\00")

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

  (func (export "_start")
    (local $i i32) (local $c i32)
    ;; The text is not in main memory until it is copied over.
    (call $check (i32.eqz (i32.load8_u $main (i32.const 2048))))
    (memory.copy $main $scratch (i32.const 2048) (i32.const 100) (i32.const 30))
    (call $puts (i32.const 1024))
    (call $print (i32.const 2048) (i32.const 30)) (call $nl)

    ;; Upper-case it in scratch (at 200) and copy it back to main (at 3072).
    (memory.copy $scratch $main (i32.const 200) (i32.const 2048) (i32.const 30))
    (loop $each
      (local.set $c (i32.load8_u $scratch (i32.add (i32.const 200) (local.get $i))))
      (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
        (then
          (i32.store8 $scratch (i32.add (i32.const 200) (local.get $i))
            (i32.sub (local.get $c) (i32.const 32)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (i32.const 30))))
    (memory.copy $main $scratch (i32.const 3072) (i32.const 200) (i32.const 30))
    (call $puts (i32.const 1056))
    (call $print (i32.const 3072) (i32.const 30)) (call $nl)
    (call $check (i32.eq (i32.load8_u $main (i32.const 3072)) (i32.const 84)))
    ;; The original in scratch is untouched.
    (call $check (i32.eq (i32.load8_u $scratch (i32.const 100)) (i32.const 116)))

    (drop (memory.grow $scratch (i32.const 2)))
    (call $puts (i32.const 1088))
    (call $print_i32 (memory.size $main))
    (call $puts (i32.const 1120))
    (call $print_i32 (memory.size $scratch)) (call $nl)
    (call $check (i32.eq (memory.size $scratch) (i32.const 3)))

    (if (i32.eqz (global.get $ok))
      (then (call $puts (i32.const 1216)) (call $proc_exit (i32.const 1))))
    (call $proc_exit (i32.const 18)))
)
