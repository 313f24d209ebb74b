//! The guest runtime of lifted ELF programs.
//!
//! Built once for `wasm32-wasip1` (by `crates/lift-runtime-wasm`) and merged
//! into a megabinary by the builder, with every lifted program's image placed
//! below its data (`recompiler_lift::layout`). Every lifted program's hash id
//! is an alias of this program in the dispatcher: at start the runtime asks the
//! vkernel which id it was dispatched as (`recompiler_linux_v1.program_id`),
//! finds that image, maps it into the guest window, builds the Linux initial
//! stack from its WASI argv and environment, and interprets it
//! (`recompiler_lift::interp`). Syscalls go to the vkernel
//! (`recompiler_linux_v1.syscall`), except those that manage the address
//! space and the CPU's own state, which it answers itself (`process.rs`).
//! See docs/recompiler-container-plan/lifting.md.

#![allow(
    unsafe_code,
    reason = "the guest window is linear memory addressed by guest addresses"
)]
// No Rust runtime start-up (`lang_start`): wasi-libc's `_start` calls our C
// `main` directly. A fork child's memory is a copy of its parent's, Rust's
// start-up state included, and std's start-up refuses to run twice (it sets
// the main thread once); nothing of it is needed here.
#![cfg_attr(not(test), no_main)]
// Unit tests build without the entry points, so most of the runtime is unused there.
#![cfg_attr(
    test,
    allow(dead_code, reason = "the entry points are not in test builds")
)]

mod host;
mod loader;
mod process;
mod signal;
mod window;

use std::sync::atomic::{AtomicPtr, Ordering};

#[cfg(unix)]
use std::os::unix::ffi::OsStringExt as _;
#[cfg(target_os = "wasi")]
use std::os::wasi::ffi::OsStringExt as _;

/// The entry point wasi-libc's `_start` calls: `__main_void` (it overrides
/// libc's weak one, which would read argv and call a C `main`; argv comes from
/// std's own WASI calls instead).
#[cfg(all(not(test), target_os = "wasi"))]
#[unsafe(no_mangle)]
pub extern "C" fn __main_void() -> i32 {
    start()
}

/// A fork child's entry, called by the vkernel instead of `_dispatch` once it
/// has copied the parent's memory into this instance: the process continues
/// from the parent's state (its fork returning 0). Not through `_start`, whose
/// start-up state (wasi-libc's, std's) the copy already holds and which refuses
/// to run twice.
#[cfg(not(test))]
#[unsafe(no_mangle)]
pub extern "C" fn lift_resume() -> i32 {
    if !host::resumed() {
        host::log("lift runtime: lift_resume called in an instance that is not a fork child");
        return 127;
    }
    let p = PROCESS.load(Ordering::Relaxed);
    if p.is_null() {
        host::log("lift runtime: resumed after a fork, but the parent's state is missing");
        return 127;
    }
    // SAFETY: the parent stored a leaked `Box<Process>` here before forking and
    // the vkernel copied the runtime's whole data and heap into this instance,
    // so the pointer is valid and nothing else refers to it.
    let proc = unsafe { &mut *p };
    proc.resume_child();
    proc.run()
}

/// Host builds: the program does nothing useful off wasm, but links.
#[cfg(all(not(test), not(target_os = "wasi")))]
#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    start()
}

/// The process, for a fork child: its memory is a copy of the parent's, so
/// this points at the parent's [`process::Process`], now the child's.
static PROCESS: AtomicPtr<process::Process> = AtomicPtr::new(std::ptr::null_mut());

fn start() -> i32 {
    let id = host::program_id();
    let bytes = match loader::find_image(id) {
        Ok(b) => b,
        Err(e) => {
            host::log(&format!("lift runtime: {e}"));
            eprintln!("lift runtime: {e}");
            return 127;
        }
    };
    let image = match recompiler_lift::image::LiftedImage::decode(bytes) {
        Ok(i) => i,
        Err(e) => {
            host::log(&format!("lift runtime: {id:016x}: {e}"));
            eprintln!("lift runtime: {e}");
            return 127;
        }
    };
    let args: Vec<Vec<u8>> = std::env::args_os().map(|a| a.into_vec()).collect();
    let env: Vec<Vec<u8>> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend(v.into_vec());
            kv
        })
        .collect();
    if env.iter().any(|kv| kv == b"LIFT_STRACE=1") {
        process::STRACE.store(true, Ordering::Relaxed);
    }
    let mut random = [0u8; 16];
    // getrandom(2) through the vkernel, into runtime memory (not the window).
    let got = host::syscall(318, [random.as_mut_ptr() as usize as u64, 16, 0, 0, 0, 0]);
    if got != 16 {
        random = id.to_le_bytes().repeat(2).try_into().unwrap_or([0; 16]);
    }
    let mut win = window::Window::new();
    let mut cpu = recompiler_lift::Cpu::default();
    let loaded = match loader::load(&mut win, &mut cpu, &image, &args, &env, random) {
        Ok(l) => l,
        Err(e) => {
            host::log(&format!("lift runtime: {id:016x}: {e}"));
            eprintln!("lift runtime: cannot start the program: {e}");
            return 126;
        }
    };
    let proc: &'static mut process::Process =
        Box::leak(Box::new(process::Process::new(win, cpu, loaded.brk_start)));
    PROCESS.store(proc, Ordering::Relaxed);
    proc.run()
}
