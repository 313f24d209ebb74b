;; bulk: bulk memory and table operations: a passive data segment copied in
;; with memory.init then dropped, memory.copy (also overlapping), memory.fill,
;; and a passive element segment put into a table with table.init, used by
;; call_indirect, then dropped, plus table.copy.
;;
;; Prints:
;;   init: Hello, bulk memory!
;;   copy: Hello, bulk memory!
;;   overlap: HeHello, bulk memory!
;;   fill: ********
;;   table: 10 20 30 30
;;   data.drop then empty init: ok
;; and exits with 15 (1 if a check fails).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)

  (data (i32.const 1024) "init: \00")
  (data (i32.const 1056) "copy: \00")
  (data (i32.const 1088) "overlap: \00")
  (data (i32.const 1120) "fill: \00")
  (data (i32.const 1152) "table:\00")
  (data (i32.const 1184) "data.drop then empty init: ok\0a\00")
  (data (i32.const 1216) "FAIL\0a\00")

  ;; 19 bytes, in no memory until memory.init puts them there.
  (data $greeting "Hello, bulk memory!")

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

  (type $get (func (result i32)))
  (table $t 4 funcref)
  (elem $fns func $ten $twenty $thirty)
  (func $ten (result i32) (i32.const 10))
  (func $twenty (result i32) (i32.const 20))
  (func $thirty (result i32) (i32.const 30))

  (func (export "_start")
    (local $i i32)
    ;; memory.init: greeting -> 2048
    (memory.init $greeting (i32.const 2048) (i32.const 0) (i32.const 19))
    (data.drop $greeting)
    (call $puts (i32.const 1024))
    (call $print (i32.const 2048) (i32.const 19)) (call $nl)
    (call $check (i32.eq (i32.load8_u (i32.const 2066)) (i32.const 33)))

    ;; memory.copy: 2048 -> 3072
    (memory.copy (i32.const 3072) (i32.const 2048) (i32.const 19))
    (call $puts (i32.const 1056))
    (call $print (i32.const 3072) (i32.const 19)) (call $nl)
    (call $check (i32.eq (i32.load (i32.const 3072)) (i32.load (i32.const 2048))))

    ;; Overlapping copy moves the text two bytes to the right, as memmove does.
    (memory.copy (i32.const 3074) (i32.const 3072) (i32.const 19))
    (call $puts (i32.const 1088))
    (call $print (i32.const 3072) (i32.const 21)) (call $nl)
    (call $check (i32.eq (i32.load8_u (i32.const 3092)) (i32.const 33)))

    (memory.fill (i32.const 4096) (i32.const 42) (i32.const 8))
    (call $puts (i32.const 1120))
    (call $print (i32.const 4096) (i32.const 8)) (call $nl)
    (call $check (i64.eq (i64.load (i32.const 4096)) (i64.const 0x2a2a2a2a2a2a2a2a)))

    ;; table.init the three functions at 0, table.copy slot 2 to slot 3.
    (table.init $t $fns (i32.const 0) (i32.const 0) (i32.const 3))
    (elem.drop $fns)
    (table.copy $t $t (i32.const 3) (i32.const 2) (i32.const 1))
    (call $puts (i32.const 1152))
    (loop $each
      (call $space)
      (call $print_i32 (call_indirect $t (type $get) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (i32.const 4))))
    (call $nl)
    (call $check (i32.eq (call_indirect $t (type $get) (i32.const 3)) (i32.const 30)))

    ;; After data.drop a zero-length init at offset 0 is still allowed.
    (memory.init $greeting (i32.const 0) (i32.const 0) (i32.const 0))
    (call $puts (i32.const 1184))

    (if (i32.eqz (global.get $ok))
      (then (call $puts (i32.const 1216)) (call $proc_exit (i32.const 1))))
    (call $proc_exit (i32.const 15)))
)
