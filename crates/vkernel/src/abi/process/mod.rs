//! The process extension (`recompiler_process_v1`): WASM programs that start others.
//!
//! preview1 has no way to start a program. This import module adds what a shell or a
//! Python `subprocess` layer needs: `spawn` (path, argv, env, cwd and an fd map), `wait`,
//! `pipe`, `dup`, `dup2`, `getpid`, `getppid` and `kill`, on the same kernel process as
//! the caller's preview1 host (a WASI fd is the kernel fd of the same number, so the fds
//! `pipe` and `dup` make are usable by `fd_read`, `fd_write`, `fd_close` and
//! `poll_oneoff`). `docs/recompiler-container-plan/process-extension.md` is the
//! reference for guests: signatures, memory layouts, errnos.
//!
//! This module owns the table ([`FUNCS`]) and the functions on the kernel (`host`); it
//! does not start anything itself: [`Spawner`] does (the container implements it with
//! the exec gate and a thread per process), so the ABI stays free of wasmtime and of
//! the gate. Every function returns a WASI errno (the numbers wasi-libc's `errno.h`
//! uses), 0 for success.

mod host;
mod memory;
#[cfg(test)]
mod tests;

use std::sync::Arc;

pub(crate) use host::{ProcessCall, call};

use super::wasi_p1::Ty;
use crate::kernel::{Fd, KResult, Pid, Process};

/// The import module's name.
pub const MODULE: &str = "recompiler_process_v1";

use Ty::I32;

/// Every function of [`MODULE`]: name and parameter types. All return one `i32`, a
/// WASI errno.
pub const FUNCS: &[(&str, &[Ty])] = &[
    // spawn(path, path_len, argv, argv_count, env, env_count, cwd, cwd_len,
    //       fdmap, fdmap_count, flags, pid_out)
    ("spawn", &[I32; 12]),
    // wait(pid, options, status_out, pid_out)
    ("wait", &[I32; 4]),
    // pipe(fds_out)
    ("pipe", &[I32]),
    // dup(fd, newfd_out)
    ("dup", &[I32; 2]),
    // dup2(fd, newfd)
    ("dup2", &[I32; 2]),
    // getpid(pid_out)
    ("getpid", &[I32]),
    // getppid(pid_out)
    ("getppid", &[I32]),
    // kill(pid, sig)
    ("kill", &[I32; 2]),
];

/// The index of `name` in [`FUNCS`].
pub fn func_index(name: &str) -> Option<usize> {
    FUNCS.iter().position(|(n, _)| *n == name)
}

/// `spawn` flag: the child gets the caller's environment as the kernel holds it (what it
/// was started with); `env`/`env_count` are then ignored.
pub const SPAWN_INHERIT_ENV: u32 = 1;

/// Every `spawn` flag.
pub const SPAWN_FLAGS: u32 = SPAWN_INHERIT_ENV;

/// `wait` option: return at once (pid 0) if no child has exited (Linux's value).
pub const WNOHANG: u32 = 1;

/// Signal numbers (Linux's) the extension gives meaning to.
pub mod signal {
    pub const SIGHUP: u8 = 1;
    pub const SIGINT: u8 = 2;
    /// The status of a child that trapped (wasi-libc's `abort` is a trap).
    pub const SIGABRT: u8 = 6;
    /// The status of a child stopped by the host, or past its time limit.
    pub const SIGKILL: u8 = 9;
    pub const SIGTERM: u8 = 15;
    pub const SIGCHLD: u8 = 17;
    pub const SIGCONT: u8 = 18;
    pub const SIGSTOP: u8 = 19;
    pub const SIGTSTP: u8 = 20;
    pub const SIGTTIN: u8 = 21;
    pub const SIGTTOU: u8 = 22;
    pub const SIGURG: u8 = 23;
    pub const SIGWINCH: u8 = 28;
    /// The highest signal number (Linux's `SIGRTMAX`).
    pub const MAX: u8 = 64;
}

/// Largest total size of one spawn's argv and environment strings, as Linux's
/// `ARG_MAX` default (a quarter of an 8 MiB stack): it bounds what one call copies out of
/// the guest.
pub const MAX_ARG_BYTES: usize = 2 << 20;

/// Most argv or environment strings one spawn takes (each list); beyond, `TOOBIG`.
pub const MAX_ARG_STRINGS: u32 = 1 << 16;

/// Most fds one spawn maps (the fd map's entries); beyond, `INVAL`.
pub const MAX_FDMAP: u32 = 1024;

/// What a guest asked `spawn` to start, read out of its memory and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpawnRequest {
    /// The program's path, relative to the child's cwd unless absolute.
    pub path: Vec<u8>,
    /// argv, `argv[0]` included (`[path]` if the guest passed none).
    pub argv: Vec<Vec<u8>>,
    pub env: Vec<(Vec<u8>, Vec<u8>)>,
    /// The child's cwd, relative to the caller's unless absolute; `None`: the caller's.
    pub cwd: Option<Vec<u8>>,
    /// `(child fd, caller fd)`: the child's only fds (besides the preopen its WASI host
    /// adds). Each caller fd is open (checked).
    pub fds: Vec<(Fd, Fd)>,
}

/// What starts processes for the extension: the container, with the exec gate.
pub trait Spawner: Send + Sync + 'static {
    /// Gates `req.path` exactly as a host exec (resolved in the container from the
    /// child's cwd, read once, hashed, looked up in the manifest), creates the child of
    /// `parent` and starts it running; returns its pid. A denial is `EACCES` (and is
    /// logged), a missing file `ENOENT`, a full process table `EAGAIN`.
    fn spawn(&self, parent: &Arc<Process>, req: SpawnRequest) -> KResult<Pid>;

    /// Ends `target` as if by the terminating signal `sig`: its blocking calls return, its
    /// guest stops at the next host call or epoch tick, and its wait status says `sig`.
    fn terminate(&self, target: &Arc<Process>, sig: u8);

    /// Forks `parent` (a lifted program calling fork/vfork/clone): a child process with
    /// a copy of the parent's kernel state (`kernel::Kernel::fork`), its Linux state
    /// `linux`, and a new instance of the same program whose memory gets `image`'s
    /// regions before it is dispatched; the child's runtime then resumes from that
    /// state. Returns the child's pid. No gate: the child runs the code the parent was
    /// allowed to run.
    /// The exec gate for `path` (relative to `process`'s cwd), exactly as for a spawn:
    /// what may run, or `EACCES` (denied, logged), `ENOENT`, `ENOTDIR`, ...
    fn check_exec(&self, process: &Arc<Process>, path: &[u8]) -> KResult<ExecAllowed> {
        let _ = (process, path);
        Err(crate::kernel::Errno::ENOSYS)
    }

    fn fork(
        &self,
        parent: &Arc<Process>,
        child: Arc<Process>,
        image: ForkImage,
        linux: Box<crate::abi::linux::LinuxProcess>,
    ) -> KResult<Pid> {
        let _ = (parent, child, image, linux);
        Err(crate::kernel::Errno::ENOSYS)
    }
}

/// What the exec gate allowed for an `execve`: the program and its memory export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecAllowed {
    pub dispatch_id: u64,
    pub memory_export: String,
    /// The file allowed, as an absolute path in the container (`/proc/<pid>/exe`).
    pub path: Vec<u8>,
}

/// A forked instance's memory: what the parent's runtime asked to copy.
#[derive(Debug, Clone, Default)]
pub struct ForkImage {
    /// The program to dispatch in the child (the parent's).
    pub dispatch_id: u64,
    /// Its memory's export name.
    pub memory_export: String,
    /// The export the child's instance is started with instead of `_dispatch`
    /// (the runtime's `lift_resume`, under the program's prefix).
    pub entry_export: String,
    /// The size the child's memory is grown to before the copy.
    pub memory_size: usize,
    /// `(offset, bytes)` to write into the child's memory.
    pub regions: Vec<(u32, Vec<u8>)>,
}
