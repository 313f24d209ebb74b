//! The kernel core: Linux semantics for one container, in memory, with no WebAssembly.
//!
//! gVisor's Sentry is the model: one core, several ABIs in front of it (WASI preview 1,
//! the process extension, the Linux syscall ABI of lifted programs, the socket's syscall
//! RPC). The ABIs decode arguments and encode results; the core owns the state and the
//! semantics, and answers with a value or an [`Errno`].
//!
//! - [`Kernel`]: one per container; owns the [`Vfs`], the [`ProcessTable`] and the
//!   [`Limits`].
//! - [`vfs`]: the filesystem (the image's files overlaid by the container's writable
//!   layer), path resolution, and the lock order of the whole core.
//! - [`mod@file`]: open file descriptions and their I/O; [`fdtable`]: fd numbers;
//!   [`pipe`]: pipes; [`stream`]: host streams (a client's stdin/stdout/stderr).
//! - [`process`]: pids, parents, exit and wait; [`interrupt`]: the cancel token every
//!   blocking wait honours.
//! - [`errno`], [`flags`], [`stat`], [`clock`]: the vocabulary.
//!
//! Thread safety: each guest process runs on its own OS thread and calls into the core
//! through shared references (`Arc<Kernel>`, `Arc<Process>`); blocking calls block that
//! thread, and return `EINTR` once the process's [`Interrupt`] is set. Credentials are
//! root's: nothing is permission-checked except exec's execute bit ([`is_executable`]).

pub mod clock;
pub mod errno;
pub mod fdtable;
pub mod file;
pub mod flags;
pub mod interrupt;
pub mod iov;
pub mod pipe;
pub mod process;
pub mod stat;
pub mod stream;
pub mod vfs;

// pub(crate): the ABI layers' tests build their kernels from the same test images.
#[cfg(test)]
pub(crate) mod testutil;

use std::sync::Arc;

pub use clock::{Clock, FixedClock, SystemClock};
pub use errno::{Errno, KResult};
pub use fdtable::{Fd, FdTable};
pub use file::{FileDescription, Readiness, Target};
pub use flags::{OFlags, SetTime, Whence};
pub use interrupt::{Interrupt, Waker, Watch};
pub use pipe::{PIPE_BUF, PIPE_CAPACITY, pipe2};
pub use process::{
    ExecSignals, ExitStatus, FdSource, HOST_PID, Pid, ProcState, Process, ProcessTable, SpawnSpec,
    WaitFor,
};
pub use stat::{FileType, Stat, is_executable};
pub use stream::{BytesStream, CaptureStream, FeedStream, HostStream};
pub use vfs::{Dirent, FileContents, Image, Inode, Vfs, View};

/// Per-container limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fds per process (`RLIMIT_NOFILE`): `EMFILE` beyond.
    pub max_open_files: usize,
    /// Processes, zombies included (`RLIMIT_NPROC`-like): `EAGAIN` from fork/spawn beyond.
    pub max_processes: usize,
    /// Bytes the container's writable layer may hold (file data it wrote, symlinks and
    /// entries it made): `ENOSPC` beyond. This is the filesystem's share of the
    /// container's memory limit.
    pub max_writable_bytes: u64,
}

impl Limits {
    /// Linux's default soft `RLIMIT_NOFILE`.
    pub const DEFAULT_MAX_OPEN_FILES: usize = 1024;
    /// Generous for a container's process tree, small enough that a fork bomb stops early
    /// (every process is an OS thread and a wasm instance).
    pub const DEFAULT_MAX_PROCESSES: usize = 512;
    /// 256 MiB: room for builds and package installs, small enough for many containers
    /// per host.
    pub const DEFAULT_MAX_WRITABLE_BYTES: u64 = 256 << 20;
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_open_files: Limits::DEFAULT_MAX_OPEN_FILES,
            max_processes: Limits::DEFAULT_MAX_PROCESSES,
            max_writable_bytes: Limits::DEFAULT_MAX_WRITABLE_BYTES,
        }
    }
}

/// A container's kernel state at a glance (for stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelSummary {
    /// Processes running.
    pub processes: usize,
    /// Exited processes not reaped yet.
    pub zombies: usize,
    /// Open fds over all processes.
    pub open_files: usize,
    /// Bytes the writable layer holds.
    pub writable_bytes: u64,
    /// Inodes materialized so far.
    pub materialized_inodes: u64,
}

/// The kernel of one container.
pub struct Kernel {
    vfs: Vfs,
    /// Shared with `/proc`, which holds it weakly.
    processes: Arc<ProcessTable>,
    limits: Limits,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("limits", &self.limits)
            .field("summary", &self.summary())
            .finish()
    }
}

impl Kernel {
    /// A container's kernel over `image` (shared with other containers), with the host's
    /// real time. Cheap: nothing of the image is copied or even indexed again.
    pub fn new(image: Arc<Image>, limits: Limits) -> Kernel {
        Kernel::with_clock(image, limits, Arc::new(SystemClock))
    }

    /// Like [`Kernel::new`], with the given clock (tests fix time). `/proc` shows the
    /// kernel's processes.
    pub fn with_clock(image: Arc<Image>, limits: Limits, clock: Arc<dyn Clock>) -> Kernel {
        let processes = Arc::new(ProcessTable::new(
            limits.max_processes,
            limits.max_open_files,
        ));
        let mut vfs = Vfs::new(image, Arc::clone(&clock), limits.max_writable_bytes);
        vfs.mount_proc(Arc::downgrade(&processes));
        Kernel {
            vfs,
            processes,
            limits,
            clock,
        }
    }

    pub fn vfs(&self) -> &Vfs {
        &self.vfs
    }

    pub fn processes(&self) -> &ProcessTable {
        &self.processes
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Starts a process (see [`ProcessTable::spawn`]): a child of `parent`, or of the host.
    pub fn spawn(&self, parent: Option<&Arc<Process>>, spec: SpawnSpec) -> KResult<Arc<Process>> {
        self.processes.spawn(parent, self.vfs.root(), spec)
    }

    /// Fork implements Linux syscall fork(2) for the kernel's state.
    pub fn fork(&self, parent: &Arc<Process>) -> KResult<Arc<Process>> {
        self.processes.fork(parent)
    }

    /// Openat implements Linux syscall openat(2) for a process: resolves `dirfd`, applies
    /// the umask to `mode`, opens, and installs the description at the lowest free fd
    /// (with `FD_CLOEXEC` for `O_CLOEXEC`). A fifo opens without waiting for the other
    /// side (see [`Kernel::openat_waiting`]).
    pub fn openat(
        &self,
        process: &Process,
        dirfd: Fd,
        path: &[u8],
        flags: OFlags,
        mode: u32,
    ) -> KResult<Fd> {
        let file = self.open_description(process, dirfd, path, flags, mode)?;
        process.install(file, flags.contains(OFlags::CLOEXEC))
    }

    /// [`Kernel::openat`] that waits as Linux's open does: a blocking open of a fifo waits
    /// for the other side, interruptibly (`intr`), before the fd exists.
    pub fn openat_waiting(
        &self,
        process: &Process,
        dirfd: Fd,
        path: &[u8],
        flags: OFlags,
        mode: u32,
        intr: &Interrupt,
    ) -> KResult<Fd> {
        let file = self.open_description(process, dirfd, path, flags, mode)?;
        file.wait_fifo_peer(intr)?;
        process.install(file, flags.contains(OFlags::CLOEXEC))
    }

    fn open_description(
        &self,
        process: &Process,
        dirfd: Fd,
        path: &[u8],
        flags: OFlags,
        mode: u32,
    ) -> KResult<Arc<FileDescription>> {
        let dir = process.at(dirfd, path)?;
        let mode = mode & !process.umask() & stat::PERM_MASK;
        self.vfs.view(process.pid()).openat(&dir, path, flags, mode)
    }

    /// Mknodat implements Linux syscall mknodat(2) for a process (dirfd and umask).
    pub fn mknodat(&self, process: &Process, dirfd: Fd, path: &[u8], mode: u32) -> KResult<()> {
        let dir = process.at(dirfd, path)?;
        let perm = mode & !process.umask() & stat::PERM_MASK;
        self.vfs
            .view(process.pid())
            .mknodat(&dir, path, (mode & stat::S_IFMT) | perm)
    }

    /// Mkdirat implements Linux syscall mkdirat(2) for a process (dirfd and umask).
    pub fn mkdirat(&self, process: &Process, dirfd: Fd, path: &[u8], mode: u32) -> KResult<()> {
        let dir = process.at(dirfd, path)?;
        self.vfs
            .view(process.pid())
            .mkdirat(&dir, path, mode & !process.umask() & stat::PERM_MASK)
    }

    /// Pipe2 implements Linux syscall pipe2(2) for a process: `[read fd, write fd]`.
    pub fn pipe2(&self, process: &Process, flags: OFlags) -> KResult<[Fd; 2]> {
        let (r, w) = pipe2(flags)?;
        let cloexec = flags.contains(OFlags::CLOEXEC);
        let mut fds = process.fds();
        let rfd = fds.insert(r, cloexec)?;
        match fds.insert(w, cloexec) {
            Ok(wfd) => Ok([rfd, wfd]),
            Err(e) => {
                let r = fds.close(rfd);
                drop(fds);
                drop(r);
                Err(e)
            }
        }
    }

    /// Chdir implements Linux syscall chdir(2) for a process.
    pub fn chdir(&self, process: &Process, path: &[u8]) -> KResult<()> {
        let dir = self
            .vfs
            .view(process.pid())
            .lookup(&process.cwd(), path, true)?;
        process.chdir(dir)
    }

    /// Getcwd implements Linux syscall getcwd(2) for a process.
    pub fn getcwd(&self, process: &Process) -> KResult<Vec<u8>> {
        self.vfs.getcwd(&process.cwd())
    }

    /// Counts for stats.
    pub fn summary(&self) -> KernelSummary {
        let (processes, zombies) = self.processes.counts();
        KernelSummary {
            processes,
            zombies,
            open_files: self.processes.open_files(),
            writable_bytes: self.vfs.writable_bytes(),
            materialized_inodes: self.vfs.materialized_inodes(),
        }
    }
}

#[cfg(test)]
mod tests;
