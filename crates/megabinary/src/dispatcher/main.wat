;; The megabinary's dispatcher: the template the merger fills in.
;;
;; This is the readable form of `_dispatch`. At build time `template.rs` repeats
;; each "programs" block once per merged program (with its index) and fills in
;; the double-braced values; the result is parsed as WAT and merged, as module 0,
;; with the programs. Nothing else in the megabinary is generated code except one
;; small entry function per program (see `merge.rs`, "entry wrapper").
;;
;; How it links (done by the merger, like wasm-merge does):
;; - `(import "@program<K>" "<name>" ...)` is bound to program K's export <name>.
;;   Every program exports `__recompiler_entry: () -> i32` (added by the merger:
;;   it runs the program's start function, `_initialize` for reactors, then its
;;   entry, and returns the exit status) and `memory` (its WASI memory).
;; - Program K's imports of `wasi_snapshot_preview1.args_sizes_get` / `args_get`
;;   are bound to this module's `@args_sizes_get<K>` / `@args_get<K>`, so
;;   programs read the argv given to `_dispatch`. Exports whose name starts with
;;   `@` are for linking only and do not appear in the megabinary.
;;
;; The host's side of the ABI (see docs/recompiler-container-plan/megabinary.md):
;;   ptr = __dispatch_buffer(size)          ; room for argv in `memory`
;;   write argv[0..argc] (u32 LE offsets in `memory`) and NUL-terminated strings
;;   status = _dispatch(hash_id, argc, ptr)
;; `status` >= 0: the program's entry returned this exit status.
;; `status` = -1: no program has this hash id; nothing ran.
;; `status` = -2: this instance already ran a program (one program per instance).
;; A program that calls WASI `proc_exit` leaves through the host, as it would alone.
(module $dispatcher
  (type $entry (func (result i32)))

  {{#programs}}
  (import "@program{{index}}" "__recompiler_entry" (func $entry{{index}} (type $entry)))
  (import "@program{{index}}" "memory" (memory $mem{{index}} 0))
  {{/programs}}

  ;; The dispatcher's own memory: the dispatch table, then the argv buffer.
  (memory $dispatch (export "memory") {{memory_pages}})

  ;; Program entries, by program index.
  (table $entries {{count}} {{count}} funcref)
  (elem (table $entries) (i32.const 0) func {{#programs}} $entry{{index}}{{/programs}})

  ;; The dispatch table: {{records}} records of 16 bytes, sorted by hash id (unsigned):
  ;;   +0 hash id (i64 LE: the first 8 bytes of the program's BLAKE3, big-endian)
  ;;   +8 program index (i32 LE)   +12 reserved
  (data (memory $dispatch) (i32.const 0) "{{dispatch_table}}")

  ;; Records in the dispatch table: one per program, plus aliases (hash ids
  ;; that select an existing program, e.g. lifted ELF programs and their runtime).
  (global $count i32 (i32.const {{records}}))
  ;; First byte after the table, 16-aligned: where argv goes.
  (global $buffer i32 (i32.const {{buffer_offset}}))
  (global $argc (mut i32) (i32.const 0))
  (global $argv (mut i32) (i32.const 0))
  (global $dispatched (mut i32) (i32.const 0))

  ;; _dispatch(hash_id, argc, argv) -> status
  (func (export "_dispatch") (param $id i64) (param $argc i32) (param $argv i32) (result i32)
    (local $lo i32) (local $hi i32) (local $mid i32) (local $record i32) (local $key i64)
    ;; One program per instance: its globals and memory start fresh only once.
    (if (global.get $dispatched) (then (return (i32.const -2))))
    ;; Binary search for $id in [lo, hi).
    (local.set $hi (global.get $count))
    (block $not_found
      (loop $search
        (br_if $not_found (i32.ge_u (local.get $lo) (local.get $hi)))
        (local.set $mid (i32.shr_u (i32.add (local.get $lo) (local.get $hi)) (i32.const 1)))
        (local.set $record (i32.shl (local.get $mid) (i32.const 4)))
        (local.set $key (i64.load $dispatch (local.get $record)))
        (if (i64.eq (local.get $key) (local.get $id))
          (then
            (global.set $dispatched (i32.const 1))
            (global.set $argc (local.get $argc))
            (global.set $argv (local.get $argv))
            (return
              (call_indirect $entries (type $entry)
                (i32.load $dispatch offset=8 (local.get $record))))))
        (if (i64.lt_u (local.get $key) (local.get $id))
          (then (local.set $lo (i32.add (local.get $mid) (i32.const 1))))
          (else (local.set $hi (local.get $mid))))
        (br $search)))
    (i32.const -1))

  ;; __dispatch_buffer(size) -> offset in `memory` with at least `size` bytes free.
  ;; Returns -1 if the memory cannot grow that far.
  (func (export "__dispatch_buffer") (param $size i32) (result i32)
    (local $end i64) (local $have i64)
    (local.set $end (i64.add (i64.extend_i32_u (global.get $buffer))
                             (i64.extend_i32_u (local.get $size))))
    (local.set $have (i64.shl (i64.extend_i32_u (memory.size $dispatch)) (i64.const 16)))
    (if (i64.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow $dispatch
                (i32.wrap_i64
                  (i64.shr_u (i64.add (i64.sub (local.get $end) (local.get $have)) (i64.const 65535))
                             (i64.const 16))))
              (i32.const -1))
          (then (return (i32.const -1))))))
    (global.get $buffer))

  ;; strlen of a NUL-terminated string in the dispatcher's memory.
  (func $strlen (param $s i32) (result i32)
    (local $p i32)
    (local.set $p (local.get $s))
    (block $end
      (loop $scan
        (br_if $end (i32.eqz (i32.load8_u $dispatch (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $scan)))
    (i32.sub (local.get $p) (local.get $s)))

  ;; Total bytes of the argv strings, NULs included (what args_sizes_get reports).
  (func $args_bytes (result i32)
    (local $i i32) (local $total i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (global.get $argc)))
        (local.set $total
          (i32.add (local.get $total)
            (i32.add (i32.const 1)
              (call $strlen
                (i32.load $dispatch
                  (i32.add (global.get $argv) (i32.shl (local.get $i) (i32.const 2))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $total))

  {{#programs}}
  ;; WASI args_sizes_get for program {{index}}: answers in that program's memory.
  (func (export "@args_sizes_get{{index}}") (param $argc_out i32) (param $size_out i32) (result i32)
    (i32.store $mem{{index}} (local.get $argc_out) (global.get $argc))
    (i32.store $mem{{index}} (local.get $size_out) (call $args_bytes))
    (i32.const 0))

  ;; WASI args_get for program {{index}}: copies argv into that program's memory.
  (func (export "@args_get{{index}}") (param $argv_out i32) (param $buf i32) (result i32)
    (local $i i32) (local $s i32) (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (global.get $argc)))
        (local.set $s
          (i32.load $dispatch
            (i32.add (global.get $argv) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $n (i32.add (call $strlen (local.get $s)) (i32.const 1)))
        (i32.store $mem{{index}}
          (i32.add (local.get $argv_out) (i32.shl (local.get $i) (i32.const 2)))
          (local.get $buf))
        (memory.copy $mem{{index}} $dispatch (local.get $buf) (local.get $s) (local.get $n))
        (local.set $buf (i32.add (local.get $buf) (local.get $n)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 0))
  {{/programs}}
)
