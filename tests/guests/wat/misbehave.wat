;; misbehave: a command that fails on request, for tests of how the vkernel
;; survives its guests. argv[1] picks the failure by its first letter:
;;   trap  - executes `unreachable`
;;   spin  - loops forever without calling the host
;;   hog   - grows its memory until memory.grow fails, then traps
;; Anything else (or no argument): prints "misbehave: ok" and exits 0.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  (data (i32.const 1024) "misbehave: ok\0a")

  ;; argc at 0, argv buffer size at 4, argv pointers at 64, strings at 256.
  (func (export "_start")
    (local $c i32)
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (if (i32.and
          (i32.ge_u (i32.load (i32.const 0)) (i32.const 2))
          (i32.and
            (i32.le_u (i32.load (i32.const 0)) (i32.const 32))
            (i32.le_u (i32.load (i32.const 4)) (i32.const 512))))
      (then
        (drop (call $args_get (i32.const 64) (i32.const 256)))
        (local.set $c (i32.load8_u (i32.load (i32.const 68))))
        (if (i32.eq (local.get $c) (i32.const 116)) ;; 't'
          (then unreachable))
        (if (i32.eq (local.get $c) (i32.const 115)) ;; 's'
          (then (loop $forever (br $forever))))
        (if (i32.eq (local.get $c) (i32.const 104)) ;; 'h'
          (then
            (loop $grow
              (br_if $grow (i32.ne (memory.grow (i32.const 256)) (i32.const -1))))
            unreachable))))
    ;; iovec {1024, 14} at 16; bytes written at 24.
    (i32.store (i32.const 16) (i32.const 1024))
    (i32.store (i32.const 20) (i32.const 14))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))
