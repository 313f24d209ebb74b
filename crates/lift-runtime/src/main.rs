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

mod host;
mod loader;
mod process;
mod window;

#[cfg(unix)]
use std::os::unix::ffi::OsStringExt as _;
#[cfg(target_os = "wasi")]
use std::os::wasi::ffi::OsStringExt as _;

fn main() {
    std::process::exit(start());
}

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
    let mut proc = process::Process::new(win, cpu, loaded.brk_start);
    proc.run()
}
