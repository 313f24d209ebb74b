//! WASI preview1 (`wasi_snapshot_preview1`) on the kernel core.
//!
//! This file is the contract between the engine and the ABI: [`FUNCS`] lists
//! every preview1 function with its core-wasm signature, and [`WasiHost::call`]
//! is the one entry point the engine calls, with the guest's memory as a byte
//! slice and the arguments widened to `i64`. The engine defines each function of
//! the table in its linker; a test checks the table against the preview1
//! specification as wasmtime-wasi implements it (names and signatures).

pub mod errno;
mod fd;
pub mod host;
mod memory;
mod path;
mod poll;
mod proc;
mod resolve;
#[cfg(test)]
mod tests;
pub mod types;

pub use errno::WasiErrno;
pub use host::{ROOT_PREOPEN_FD, ROOT_PREOPEN_NAME, WasiProcess};

/// A core-wasm value type of a preview1 signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    I32,
    I64,
}

use Ty::{I32, I64};

/// Every function of `wasi_snapshot_preview1`: name and parameter types. All
/// return one `i32` (an errno), except `proc_exit`, which does not return.
pub const FUNCS: &[(&str, &[Ty])] = &[
    ("args_get", &[I32, I32]),
    ("args_sizes_get", &[I32, I32]),
    ("environ_get", &[I32, I32]),
    ("environ_sizes_get", &[I32, I32]),
    ("clock_res_get", &[I32, I32]),
    ("clock_time_get", &[I32, I64, I32]),
    ("fd_advise", &[I32, I64, I64, I32]),
    ("fd_allocate", &[I32, I64, I64]),
    ("fd_close", &[I32]),
    ("fd_datasync", &[I32]),
    ("fd_fdstat_get", &[I32, I32]),
    ("fd_fdstat_set_flags", &[I32, I32]),
    ("fd_fdstat_set_rights", &[I32, I64, I64]),
    ("fd_filestat_get", &[I32, I32]),
    ("fd_filestat_set_size", &[I32, I64]),
    ("fd_filestat_set_times", &[I32, I64, I64, I32]),
    ("fd_pread", &[I32, I32, I32, I64, I32]),
    ("fd_prestat_get", &[I32, I32]),
    ("fd_prestat_dir_name", &[I32, I32, I32]),
    ("fd_pwrite", &[I32, I32, I32, I64, I32]),
    ("fd_read", &[I32, I32, I32, I32]),
    ("fd_readdir", &[I32, I32, I32, I64, I32]),
    ("fd_renumber", &[I32, I32]),
    ("fd_seek", &[I32, I64, I32, I32]),
    ("fd_sync", &[I32]),
    ("fd_tell", &[I32, I32]),
    ("fd_write", &[I32, I32, I32, I32]),
    ("path_create_directory", &[I32, I32, I32]),
    ("path_filestat_get", &[I32, I32, I32, I32, I32]),
    (
        "path_filestat_set_times",
        &[I32, I32, I32, I32, I64, I64, I32],
    ),
    ("path_link", &[I32, I32, I32, I32, I32, I32, I32]),
    ("path_open", &[I32, I32, I32, I32, I32, I64, I64, I32, I32]),
    ("path_readlink", &[I32, I32, I32, I32, I32, I32]),
    ("path_remove_directory", &[I32, I32, I32]),
    ("path_rename", &[I32, I32, I32, I32, I32, I32]),
    ("path_symlink", &[I32, I32, I32, I32, I32]),
    ("path_unlink_file", &[I32, I32, I32]),
    ("poll_oneoff", &[I32, I32, I32, I32]),
    ("proc_exit", &[I32]),
    ("proc_raise", &[I32]),
    ("sched_yield", &[]),
    ("random_get", &[I32, I32]),
    ("sock_accept", &[I32, I32, I32]),
    ("sock_recv", &[I32, I32, I32, I32, I32, I32]),
    ("sock_send", &[I32, I32, I32, I32, I32]),
    ("sock_shutdown", &[I32, I32]),
];

/// The index of `name` in [`FUNCS`].
pub fn func_index(name: &str) -> Option<usize> {
    FUNCS.iter().position(|(n, _)| *n == name)
}

/// How a host call ends other than by returning an errno to the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostExit {
    /// `proc_exit(status)`: the process ends with this status.
    Exit(i32),
    /// The process must stop now (killed, or the host failed); the message says why.
    Kill(String),
    /// `execve` (a lifted program's): the gate allowed `target`; the process's kernel
    /// state is already the new image's (argv, environment, close-on-exec fds closed),
    /// and it goes on in a new instance of `target`'s program.
    Exec(Box<ExecTarget>),
}

/// The program a process goes on with after `execve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecTarget {
    pub dispatch_id: u64,
    /// The export of its memory.
    pub memory_export: String,
    /// argv, `argv[0]` included.
    pub argv: Vec<Vec<u8>>,
}

/// A process's WASI preview1 host: implemented on the kernel core.
pub trait WasiHost: Send + 'static {
    /// Runs preview1 function `FUNCS[func]` with `args` (each widened to i64, in
    /// order) against the guest memory `memory`; returns the WASI errno.
    fn call(&mut self, func: usize, memory: &mut [u8], args: &[i64]) -> Result<i32, HostExit>;

    /// The Linux syscall ABI (`recompiler_linux_v1`) of the same process, for a lifted
    /// program; `None` if this host has none (the engine then answers `ENOSYS`).
    fn linux(&mut self) -> Option<&mut crate::abi::linux::LinuxProcess> {
        None
    }

    /// The process has called `execve`: its next image is about to start (WASI's state
    /// for it, such as the root preopen, is set up again).
    fn exec_image(&mut self) {}
}
