//! Processes of one container: pids, parents and children, exit statuses and `wait`.
//!
//! A [`Process`] carries what Linux keeps per task that the kernel core needs: its fd
//! table, cwd, umask, argv and environment, and its [`Interrupt`] (the engine sets it to
//! stop the process's blocking waits). The [`ProcessTable`] numbers processes from 1,
//! tracks who is whose child, keeps exited processes as zombies until their parent reaps
//! them, and lets a parent wait (blocking, interruptible) for a child.
//!
//! The host (the daemon) is the parent of the processes it starts, as pid [`HOST_PID`]
//! (0): it waits for and reaps them like any parent. When a process exits, its children
//! go to pid 1 if pid 1 is still running, else to the host, which is what an init-less
//! PID namespace would need.
//!
//! This module does not run anything: the engine runs each process on its own thread and
//! calls [`ProcessTable::exit`] when it ends.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::errno::{Errno, KResult};
use super::fdtable::{Fd, FdTable};
use super::file::{FileDescription, Target};
use super::flags::AT_FDCWD;
use super::interrupt::{Interrupt, WaitCell, lock};
use super::vfs::Inode;

/// A process id.
pub type Pid = i32;

/// The pid of the host as a parent: processes the daemon starts are its children.
pub const HOST_PID: Pid = 0;

/// Pids wrap around after this, as Linux's default `pid_max` on 64-bit machines.
pub const PID_MAX: Pid = 4_194_304;

/// Where pid allocation resumes after wrapping, as Linux's `RESERVED_PIDS`.
const FIRST_PID_AFTER_WRAP: Pid = 300;

/// The default umask of a process started by the host (Linux's default).
pub const DEFAULT_UMASK: u32 = 0o022;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit(code)`; only the low 8 bits are kept, as on Linux.
    Exited(u8),
    /// Killed by this signal number (the engine kills with `SIGKILL`, 9).
    Signaled(u8),
}

impl ExitStatus {
    /// The `wstatus` that `wait4` stores (`WIFEXITED`/`WEXITSTATUS`, `WIFSIGNALED`/`WTERMSIG`).
    pub fn wait_status(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => i32::from(code) << 8,
            ExitStatus::Signaled(sig) => i32::from(sig & 0x7f),
        }
    }

    /// `exit(code)`: the low 8 bits of `code`.
    pub fn from_code(code: i32) -> ExitStatus {
        ExitStatus::Exited((code & 0xff) as u8)
    }

    /// A shell's view: the code, or 128 + the signal.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => i32::from(code),
            ExitStatus::Signaled(sig) => 128 + i32::from(sig),
        }
    }
}

/// Whether a process is running or waiting to be reaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcState {
    Running,
    Zombie(ExitStatus),
}

/// The filesystem context of a process.
struct FsContext {
    cwd: Arc<Inode>,
    umask: u32,
}

/// The program a process runs, as execve set it.
#[derive(Clone)]
struct ExecContext {
    argv: Vec<Vec<u8>>,
    env: Vec<(Vec<u8>, Vec<u8>)>,
    /// The file it runs, as an absolute path in the container (`/proc/<pid>/exe`); `None`
    /// until the launcher or an execve records it.
    exe: Option<Vec<u8>>,
    /// Its name (`comm`): the exec'd path's last component, at most [`COMM_LEN`] bytes.
    comm: Vec<u8>,
}

/// The longest process name (`comm`), as Linux's `TASK_COMM_LEN` less its NUL.
pub const COMM_LEN: usize = 15;

/// The name Linux gives a process exec'd through `path`: its last component, cut to
/// [`COMM_LEN`] bytes.
pub fn comm_of(path: &[u8]) -> Vec<u8> {
    let base = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    base[..base.len().min(COMM_LEN)].to_vec()
}

/// The signal state that survives `execve` (Linux keeps the mask, the pending set and
/// the ignored signals; caught signals go back to their default): kept on the kernel's
/// process because each program image has an ABI state of its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecSignals {
    /// Blocked signals (bit `sig - 1`).
    pub mask: u64,
    /// Signals pending at the exec.
    pub pending: u64,
    /// Signals set to `SIG_IGN`.
    pub ignored: u64,
}

/// One process of a container.
pub struct Process {
    pid: Pid,
    /// The parent's pid (changes when the parent exits first).
    parent: AtomicI32,
    /// Process group and session: inherited at fork and spawn, kept across execve,
    /// seen by every ABI (a WASI program exec'd by a shell stays in the shell's group).
    pgid: AtomicI32,
    sid: AtomicI32,
    exec_signals: Mutex<ExecSignals>,
    interrupt: Interrupt,
    fds: Mutex<FdTable>,
    fs: Mutex<FsContext>,
    exec: Mutex<ExecContext>,
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("pid", &self.pid)
            .field("ppid", &self.ppid())
            .finish()
    }
}

impl Process {
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Getppid implements Linux syscall getppid(2) ([`HOST_PID`] for the host's children).
    pub fn ppid(&self) -> Pid {
        self.parent.load(Ordering::SeqCst)
    }

    /// The process group.
    pub fn pgid(&self) -> Pid {
        self.pgid.load(Ordering::SeqCst)
    }

    /// The session.
    pub fn sid(&self) -> Pid {
        self.sid.load(Ordering::SeqCst)
    }

    /// Moves the process to group `pgid` (the ABI checks the rules of setpgid(2)).
    pub fn set_pgid(&self, pgid: Pid) {
        self.pgid.store(pgid, Ordering::SeqCst);
    }

    /// Makes the process the leader of a new session and group (setsid(2)).
    pub fn set_sid(&self) {
        self.sid.store(self.pid, Ordering::SeqCst);
        self.pgid.store(self.pid, Ordering::SeqCst);
    }

    /// The signal state the next program image starts with (see [`ExecSignals`]).
    pub fn exec_signals(&self) -> ExecSignals {
        *lock(&self.exec_signals)
    }

    /// Records the signal state an `execve` carries into the next image.
    pub fn set_exec_signals(&self, signals: ExecSignals) {
        *lock(&self.exec_signals) = signals;
    }

    /// The cancel token of this process's blocking waits.
    pub fn interrupt(&self) -> &Interrupt {
        &self.interrupt
    }

    /// The fd table, locked. Drop descriptions it returns after releasing the guard.
    pub fn fds(&self) -> MutexGuard<'_, FdTable> {
        lock(&self.fds)
    }

    /// The description `fd` refers to.
    pub fn file(&self, fd: Fd) -> KResult<Arc<FileDescription>> {
        self.fds().get(fd)
    }

    /// Installs `file` at the lowest free fd.
    pub fn install(&self, file: Arc<FileDescription>, cloexec: bool) -> KResult<Fd> {
        self.fds().insert(file, cloexec)
    }

    /// Close implements Linux syscall close(2). The description is dropped after the
    /// table's lock is released (closing a pipe end wakes its peers).
    pub fn close(&self, fd: Fd) -> KResult<()> {
        let file = self.fds().close(fd)?;
        drop(file);
        Ok(())
    }

    /// Dup2 implements Linux syscall dup2(2), closing what `newfd` held.
    pub fn dup2(&self, oldfd: Fd, newfd: Fd) -> KResult<Fd> {
        let (fd, closed) = self.fds().dup2(oldfd, newfd)?;
        drop(closed);
        Ok(fd)
    }

    /// Dup3 implements Linux syscall dup3(2), closing what `newfd` held.
    pub fn dup3(&self, oldfd: Fd, newfd: Fd, cloexec: bool) -> KResult<Fd> {
        let (fd, closed) = self.fds().dup3(oldfd, newfd, cloexec)?;
        drop(closed);
        Ok(fd)
    }

    /// The cwd.
    pub fn cwd(&self) -> Arc<Inode> {
        Arc::clone(&lock(&self.fs).cwd)
    }

    /// Chdir implements Linux syscall chdir(2) once the path is resolved: `dir` becomes
    /// the cwd (`ENOTDIR` if it is not a directory).
    pub fn chdir(&self, dir: Arc<Inode>) -> KResult<()> {
        if !dir.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        lock(&self.fs).cwd = dir;
        Ok(())
    }

    /// The umask.
    pub fn umask(&self) -> u32 {
        lock(&self.fs).umask
    }

    /// Umask implements Linux syscall umask(2): sets it (`& 0o777`), returns the old one.
    pub fn set_umask(&self, mask: u32) -> u32 {
        std::mem::replace(&mut lock(&self.fs).umask, mask & 0o777)
    }

    /// The arguments of the program it runs.
    pub fn argv(&self) -> Vec<Vec<u8>> {
        lock(&self.exec).argv.clone()
    }

    /// The environment of the program it runs.
    pub fn env(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        lock(&self.exec).env.clone()
    }

    /// The file the process runs (`/proc/<pid>/exe`), if known.
    pub fn exe(&self) -> Option<Vec<u8>> {
        lock(&self.exec).exe.clone()
    }

    /// Its name (`comm`, `/proc/<pid>/comm`).
    pub fn comm(&self) -> Vec<u8> {
        lock(&self.exec).comm.clone()
    }

    /// Prctl(`PR_SET_NAME`): renames the process (cut to [`COMM_LEN`] bytes).
    pub fn set_comm(&self, name: &[u8]) {
        lock(&self.exec).comm = name[..name.len().min(COMM_LEN)].to_vec();
    }

    /// Records the program image the exec gate allowed: `path` as the program asked for
    /// it (the name is its last component, as Linux names a process) and `exe`, the file
    /// it resolved to (an absolute path in the container).
    pub fn set_image(&self, path: &[u8], exe: Vec<u8>) {
        let mut exec = lock(&self.exec);
        exec.comm = comm_of(path);
        exec.exe = Some(exe);
    }

    /// The kernel's part of execve(2), once the exec gate has allowed it: the new argv and
    /// environment, and every `FD_CLOEXEC` fd closed.
    pub fn execve(&self, argv: Vec<Vec<u8>>, env: Vec<(Vec<u8>, Vec<u8>)>) {
        let closed = self.fds().close_on_exec();
        drop(closed);
        let mut exec = lock(&self.exec);
        exec.argv = argv;
        exec.env = env;
    }

    /// The starting directory of a `*at` call: the cwd for `AT_FDCWD` or an absolute path
    /// (whose dirfd Linux does not look at), else the inode `dirfd` refers to (`EBADF` if
    /// none; `ENOTDIR` if it is not a file of the filesystem and `path` is not empty). The
    /// VFS checks that a relative path starts at a directory.
    pub fn at(&self, dirfd: Fd, path: &[u8]) -> KResult<Arc<Inode>> {
        if dirfd == AT_FDCWD || path.first() == Some(&b'/') {
            return Ok(self.cwd());
        }
        let file = self.file(dirfd)?;
        match file.target() {
            Target::Regular(i) | Target::Directory(i) | Target::Device(i) | Target::Path(i) => {
                Ok(Arc::clone(i))
            }
            _ => Err(Errno::ENOTDIR),
        }
    }
}

/// Where a spawned process's fd comes from.
pub enum FdSource {
    /// The parent's fd of this number (`EBADF` if it has none, or if the host spawns).
    Inherit(Fd),
    /// This description (for example a host stream).
    File(Arc<FileDescription>),
}

/// What a new process starts with.
pub struct SpawnSpec {
    pub argv: Vec<Vec<u8>>,
    pub env: Vec<(Vec<u8>, Vec<u8>)>,
    /// The cwd; by default the parent's, or the root when the host spawns.
    pub cwd: Option<Arc<Inode>>,
    /// The umask; by default the parent's, or [`DEFAULT_UMASK`].
    pub umask: Option<u32>,
    /// The child's fds (without `FD_CLOEXEC`); nothing else is inherited.
    pub fds: Vec<(Fd, FdSource)>,
}

/// Which children `wait` looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    /// Any child (`pid` -1).
    Any,
    /// This child.
    Pid(Pid),
}

struct Slot {
    process: Arc<Process>,
    state: ProcState,
    children: BTreeSet<Pid>,
}

struct Procs {
    slots: BTreeMap<Pid, Slot>,
    /// The host's children.
    host_children: BTreeSet<Pid>,
    next_pid: Pid,
}

impl Procs {
    fn children_of(&self, pid: Pid) -> Option<&BTreeSet<Pid>> {
        if pid == HOST_PID {
            Some(&self.host_children)
        } else {
            self.slots.get(&pid).map(|s| &s.children)
        }
    }

    fn children_of_mut(&mut self, pid: Pid) -> Option<&mut BTreeSet<Pid>> {
        if pid == HOST_PID {
            Some(&mut self.host_children)
        } else {
            self.slots.get_mut(&pid).map(|s| &mut s.children)
        }
    }

    fn alloc_pid(&mut self) -> Pid {
        loop {
            let pid = self.next_pid;
            self.next_pid = if pid >= PID_MAX {
                FIRST_PID_AFTER_WRAP
            } else {
                pid + 1
            };
            if !self.slots.contains_key(&pid) {
                return pid;
            }
        }
    }
}

/// The processes of one container.
pub struct ProcessTable {
    procs: Arc<WaitCell<Procs>>,
    max_processes: usize,
    max_open_files: usize,
}

impl std::fmt::Debug for ProcessTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessTable")
            .field("pids", &self.pids())
            .finish()
    }
}

impl ProcessTable {
    /// A table of at most `max_processes` processes (zombies count, as on Linux), each
    /// with at most `max_open_files` fds.
    pub fn new(max_processes: usize, max_open_files: usize) -> ProcessTable {
        ProcessTable {
            procs: Arc::new(WaitCell::new(Procs {
                slots: BTreeMap::new(),
                host_children: BTreeSet::new(),
                next_pid: 1,
            })),
            max_processes,
            max_open_files,
        }
    }

    /// Adds a process with a new pid as a child of `parent`. `EAGAIN` at the limit.
    fn add(&self, parent: Pid, make: impl FnOnce(Pid) -> Process) -> KResult<Arc<Process>> {
        let mut procs = self.procs.lock();
        if procs.slots.len() >= self.max_processes {
            return Err(Errno::EAGAIN);
        }
        let pid = procs.alloc_pid();
        let process = Arc::new(make(pid));
        procs
            .children_of_mut(parent)
            .ok_or(Errno::ESRCH)?
            .insert(pid);
        procs.slots.insert(
            pid,
            Slot {
                process: Arc::clone(&process),
                state: ProcState::Running,
                children: BTreeSet::new(),
            },
        );
        Ok(process)
    }

    /// Spawns a process: a child of `parent` (or of the host), running nothing yet, with
    /// the fds `spec.fds` lists. `root` is the cwd when neither the spec nor a parent
    /// gives one.
    pub fn spawn(
        &self,
        parent: Option<&Arc<Process>>,
        root: &Arc<Inode>,
        spec: SpawnSpec,
    ) -> KResult<Arc<Process>> {
        let mut fds = FdTable::new(self.max_open_files);
        for (fd, source) in spec.fds {
            let file = match source {
                FdSource::File(file) => file,
                FdSource::Inherit(pfd) => parent.ok_or(Errno::EBADF)?.file(pfd)?,
            };
            fds.insert_at(fd, file, false)?;
        }
        let cwd = match (spec.cwd, parent) {
            (Some(cwd), _) => cwd,
            (None, Some(p)) => p.cwd(),
            (None, None) => Arc::clone(root),
        };
        if !cwd.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let umask = spec
            .umask
            .or(parent.map(|p| p.umask()))
            .unwrap_or(DEFAULT_UMASK)
            & 0o777;
        let ppid = parent.map_or(HOST_PID, |p| p.pid);
        // The host's children lead a session and group of their own; a guest's
        // children join their parent's.
        let group = parent.map(|p| (p.pgid(), p.sid()));
        self.add(ppid, |pid| Process {
            pid,
            parent: AtomicI32::new(ppid),
            pgid: AtomicI32::new(group.map_or(pid, |g| g.0)),
            sid: AtomicI32::new(group.map_or(pid, |g| g.1)),
            exec_signals: Mutex::new(ExecSignals::default()),
            interrupt: Interrupt::new(),
            fds: Mutex::new(fds),
            fs: Mutex::new(FsContext { cwd, umask }),
            exec: Mutex::new(ExecContext {
                comm: spec.argv.first().map(|a| comm_of(a)).unwrap_or_default(),
                exe: None,
                argv: spec.argv,
                env: spec.env,
            }),
        })
    }

    /// Fork implements Linux syscall fork(2) for the kernel's state: a child of `parent`
    /// with a copy of its fd table (sharing descriptions), cwd, umask, argv, environment
    /// and program (exe, name), and its own interrupt.
    pub fn fork(&self, parent: &Arc<Process>) -> KResult<Arc<Process>> {
        let fds = parent.fds().fork();
        let (cwd, umask) = {
            let fs = lock(&parent.fs);
            (Arc::clone(&fs.cwd), fs.umask)
        };
        let exec = lock(&parent.exec).clone();
        let exec_signals = parent.exec_signals();
        self.add(parent.pid, |pid| Process {
            pid,
            parent: AtomicI32::new(parent.pid),
            pgid: AtomicI32::new(parent.pgid()),
            sid: AtomicI32::new(parent.sid()),
            exec_signals: Mutex::new(exec_signals),
            interrupt: Interrupt::new(),
            fds: Mutex::new(fds),
            fs: Mutex::new(FsContext { cwd, umask }),
            exec: Mutex::new(exec),
        })
    }

    /// The process `pid`, running or zombie.
    pub fn get(&self, pid: Pid) -> Option<Arc<Process>> {
        self.procs
            .lock()
            .slots
            .get(&pid)
            .map(|s| Arc::clone(&s.process))
    }

    /// Whether `pid` runs or awaits reaping; `None` if there is no such process.
    pub fn state(&self, pid: Pid) -> Option<ProcState> {
        self.procs.lock().slots.get(&pid).map(|s| s.state)
    }

    /// Every pid, zombies included, ascending.
    pub fn pids(&self) -> Vec<Pid> {
        self.procs.lock().slots.keys().copied().collect()
    }

    /// (running, zombie) counts.
    pub fn counts(&self) -> (usize, usize) {
        let procs = self.procs.lock();
        let zombies = procs
            .slots
            .values()
            .filter(|s| matches!(s.state, ProcState::Zombie(_)))
            .count();
        (procs.slots.len() - zombies, zombies)
    }

    /// Open fds over all processes.
    pub fn open_files(&self) -> usize {
        let processes: Vec<Arc<Process>> = self
            .procs
            .lock()
            .slots
            .values()
            .map(|s| Arc::clone(&s.process))
            .collect();
        processes.iter().map(|p| p.fds().len()).sum()
    }

    /// Sets every process's interrupt (stopping the container).
    pub fn interrupt_all(&self) {
        let processes: Vec<Arc<Process>> = self
            .procs
            .lock()
            .slots
            .values()
            .map(|s| Arc::clone(&s.process))
            .collect();
        for p in processes {
            p.interrupt().interrupt();
        }
    }

    /// Exit implements Linux syscall exit(2) for the kernel's state: closes every fd of
    /// `pid` (so pipe readers see end of file), makes it a zombie holding `status`, gives
    /// its children to pid 1 (or the host), and wakes its parent's waits. `ESRCH` if `pid`
    /// is not running.
    pub fn exit(&self, pid: Pid, status: ExitStatus) -> KResult<()> {
        self.exit_with(pid, status, || {})
    }

    /// [`Self::exit`], running `before_wake` once the process is a zombie and before
    /// its waiters wake: how the Linux ABI makes `SIGCHLD` pending before the parent's
    /// `wait` returns, while a `wait` that looks already sees the zombie (Linux's order).
    pub fn exit_with(
        &self,
        pid: Pid,
        status: ExitStatus,
        before_wake: impl FnOnce(),
    ) -> KResult<()> {
        let process = match self.procs.lock().slots.get(&pid) {
            Some(s) if s.state == ProcState::Running => Arc::clone(&s.process),
            _ => return Err(Errno::ESRCH),
        };
        let closed = process.fds().close_all();
        drop(closed);
        let mut procs = self.procs.lock();
        let Some(slot) = procs.slots.get_mut(&pid) else {
            return Err(Errno::ESRCH);
        };
        if slot.state != ProcState::Running {
            return Err(Errno::ESRCH);
        }
        slot.state = ProcState::Zombie(status);
        let orphans = std::mem::take(&mut slot.children);
        let init_runs =
            pid != 1 && matches!(procs.slots.get(&1), Some(s) if s.state == ProcState::Running);
        let heir = if init_runs { 1 } else { HOST_PID };
        for child in orphans {
            if let Some(s) = procs.slots.get(&child) {
                s.process.parent.store(heir, Ordering::SeqCst);
            }
            if let Some(set) = procs.children_of_mut(heir) {
                set.insert(child);
            }
        }
        drop(procs);
        before_wake();
        self.procs.notify();
        Ok(())
    }

    /// Wait4 implements Linux syscall wait4(2) for the kernel's state: `waiter` (a pid, or
    /// [`HOST_PID`]) reaps an exited child (`which`), blocking until one exits unless
    /// `nohang` (then `Ok(None)` if none has). `ECHILD` if `waiter` has no such child;
    /// `EINTR` if `intr` is set while blocked.
    pub fn wait(
        &self,
        waiter: Pid,
        which: WaitFor,
        nohang: bool,
        intr: &Interrupt,
    ) -> KResult<Option<(Pid, ExitStatus)>> {
        self.procs.wait_until(intr, |procs| {
            let Some(children) = procs.children_of(waiter) else {
                return Some(Err(Errno::ECHILD));
            };
            let candidates: Vec<Pid> = match which {
                WaitFor::Any => children.iter().copied().collect(),
                WaitFor::Pid(p) if children.contains(&p) => vec![p],
                WaitFor::Pid(_) => Vec::new(),
            };
            if candidates.is_empty() {
                return Some(Err(Errno::ECHILD));
            }
            let exited = candidates
                .into_iter()
                .find_map(|p| match procs.slots.get(&p) {
                    Some(Slot {
                        state: ProcState::Zombie(status),
                        ..
                    }) => Some((p, *status)),
                    _ => None,
                });
            if let Some((pid, status)) = exited {
                procs.slots.remove(&pid);
                if let Some(set) = procs.children_of_mut(waiter) {
                    set.remove(&pid);
                }
                return Some(Ok(Some((pid, status))));
            }
            if nohang { Some(Ok(None)) } else { None }
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::clock::FixedClock;
    use crate::kernel::flags::OFlags;
    use crate::kernel::pipe::pipe2;
    use crate::kernel::vfs::{Image, Vfs};
    use std::thread;
    use std::time::Duration;

    fn setup(max: usize) -> (Vfs, ProcessTable) {
        let vfs = Vfs::new(
            Arc::new(Image::empty()),
            Arc::new(FixedClock::new(0)),
            1 << 20,
        );
        (vfs, ProcessTable::new(max, 64))
    }

    fn spec() -> SpawnSpec {
        SpawnSpec {
            argv: vec![b"init".to_vec()],
            env: vec![(b"PATH".to_vec(), b"/bin".to_vec())],
            cwd: None,
            umask: None,
            fds: Vec::new(),
        }
    }

    #[test]
    fn pids_parents_and_fork() {
        let (vfs, t) = setup(16);
        let init = t.spawn(None, vfs.root(), spec()).unwrap();
        assert_eq!(init.pid(), 1);
        assert_eq!(init.ppid(), HOST_PID);
        assert_eq!(init.umask(), DEFAULT_UMASK);
        let (r, w) = pipe2(OFlags::empty()).unwrap();
        init.install(r, true).unwrap();
        init.install(w, false).unwrap();
        let child = t.fork(&init).unwrap();
        assert_eq!(child.pid(), 2);
        assert_eq!(child.ppid(), 1);
        assert_eq!(child.argv(), init.argv());
        assert_eq!(child.env(), init.env());
        assert!(Arc::ptr_eq(&child.file(0).unwrap(), &init.file(0).unwrap()));
        assert_eq!(child.fds().cloexec(0), Ok(true));
        assert!(Arc::ptr_eq(&child.cwd(), &init.cwd()));
        assert_eq!(t.pids(), vec![1, 2]);
        child.execve(vec![b"sh".to_vec()], Vec::new());
        assert_eq!(
            child.file(0).err(),
            Some(Errno::EBADF),
            "cloexec closed at exec"
        );
        assert_eq!(child.argv(), vec![b"sh".to_vec()]);
        assert!(child.file(1).is_ok());
    }

    #[test]
    fn spawn_maps_fds() {
        let (vfs, t) = setup(16);
        let init = t.spawn(None, vfs.root(), spec()).unwrap();
        let (r, w) = pipe2(OFlags::empty()).unwrap();
        init.install(Arc::clone(&r), false).unwrap();
        init.install(Arc::clone(&w), true).unwrap();
        let child = t
            .spawn(
                Some(&init),
                vfs.root(),
                SpawnSpec {
                    fds: vec![(0, FdSource::Inherit(1)), (5, FdSource::File(r))],
                    umask: Some(0o077),
                    ..spec()
                },
            )
            .unwrap();
        assert!(Arc::ptr_eq(&child.file(0).unwrap(), &w));
        assert_eq!(child.fds().cloexec(0), Ok(false));
        assert!(child.file(1).is_err());
        assert!(child.file(5).is_ok());
        assert_eq!(child.umask(), 0o077);
        assert_eq!(child.ppid(), 1);
        let bad = SpawnSpec {
            fds: vec![(0, FdSource::Inherit(9))],
            ..spec()
        };
        assert_eq!(
            t.spawn(Some(&init), vfs.root(), bad).err(),
            Some(Errno::EBADF)
        );
        let bad = SpawnSpec {
            fds: vec![(0, FdSource::Inherit(0))],
            ..spec()
        };
        assert_eq!(t.spawn(None, vfs.root(), bad).err(), Some(Errno::EBADF));
    }

    #[test]
    fn wait_zombie_reap_echild() {
        let (vfs, t) = setup(16);
        let i = Interrupt::new();
        let init = t.spawn(None, vfs.root(), spec()).unwrap();
        assert_eq!(t.wait(1, WaitFor::Any, false, &i), Err(Errno::ECHILD));
        let a = t.fork(&init).unwrap();
        let b = t.fork(&init).unwrap();
        assert_eq!(t.wait(1, WaitFor::Any, true, &i), Ok(None));
        assert_eq!(
            t.wait(1, WaitFor::Pid(1), true, &i),
            Err(Errno::ECHILD),
            "not a child of itself"
        );
        t.exit(b.pid(), ExitStatus::Exited(3)).unwrap();
        assert_eq!(
            t.state(b.pid()),
            Some(ProcState::Zombie(ExitStatus::Exited(3)))
        );
        assert_eq!(t.exit(b.pid(), ExitStatus::Exited(4)), Err(Errno::ESRCH));
        assert_eq!(t.counts(), (2, 1));
        assert_eq!(
            t.wait(1, WaitFor::Pid(a.pid()), true, &i),
            Ok(None),
            "a still runs"
        );
        assert_eq!(
            t.wait(1, WaitFor::Any, false, &i),
            Ok(Some((b.pid(), ExitStatus::Exited(3))))
        );
        assert_eq!(t.state(b.pid()), None, "reaped");
        assert_eq!(
            t.wait(1, WaitFor::Pid(b.pid()), false, &i),
            Err(Errno::ECHILD)
        );
        t.exit(a.pid(), ExitStatus::Signaled(9)).unwrap();
        assert_eq!(
            t.wait(1, WaitFor::Pid(a.pid()), false, &i),
            Ok(Some((a.pid(), ExitStatus::Signaled(9))))
        );
        assert_eq!(t.wait(1, WaitFor::Any, false, &i), Err(Errno::ECHILD));
        // The host reaps what it started.
        t.exit(1, ExitStatus::Exited(0)).unwrap();
        assert_eq!(
            t.wait(HOST_PID, WaitFor::Any, false, &i),
            Ok(Some((1, ExitStatus::Exited(0))))
        );
        assert!(t.pids().is_empty());
        assert_eq!(t.wait(77, WaitFor::Any, false, &i), Err(Errno::ECHILD));
    }

    #[test]
    fn blocking_wait_wakes_on_exit_and_on_interrupt() {
        let (vfs, t) = setup(16);
        let t = Arc::new(t);
        let init = t.spawn(None, vfs.root(), spec()).unwrap();
        let child = t.fork(&init).unwrap();
        let (t2, i2) = (Arc::clone(&t), init.interrupt().clone());
        let waiter = thread::spawn(move || t2.wait(1, WaitFor::Any, false, &i2));
        thread::sleep(Duration::from_millis(30));
        t.exit(child.pid(), ExitStatus::Exited(7)).unwrap();
        assert_eq!(
            waiter.join().unwrap(),
            Ok(Some((child.pid(), ExitStatus::Exited(7))))
        );
        let _other = t.fork(&init).unwrap();
        let (t2, i2) = (Arc::clone(&t), init.interrupt().clone());
        let waiter = thread::spawn(move || t2.wait(1, WaitFor::Any, false, &i2));
        thread::sleep(Duration::from_millis(30));
        init.interrupt().interrupt();
        assert_eq!(waiter.join().unwrap(), Err(Errno::EINTR));
    }

    #[test]
    fn exit_closes_fds_so_readers_see_eof() {
        let (vfs, t) = setup(16);
        let init = t.spawn(None, vfs.root(), spec()).unwrap();
        let (r, w) = pipe2(OFlags::empty()).unwrap();
        let child = t
            .spawn(
                Some(&init),
                vfs.root(),
                SpawnSpec {
                    fds: vec![(1, FdSource::File(w))],
                    ..spec()
                },
            )
            .unwrap();
        let i = Interrupt::new();
        let reader = thread::spawn(move || {
            let mut buf = [0u8; 8];
            r.read(&mut buf, &i)
        });
        thread::sleep(Duration::from_millis(30));
        t.exit(child.pid(), ExitStatus::Exited(0)).unwrap();
        assert_eq!(reader.join().unwrap(), Ok(0));
        assert_eq!(child.fds().len(), 0);
    }

    #[test]
    fn orphans_go_to_init_or_the_host() {
        let (vfs, t) = setup(16);
        let i = Interrupt::new();
        let init = t.spawn(None, vfs.root(), spec()).unwrap();
        let mid = t.fork(&init).unwrap();
        let leaf = t.fork(&mid).unwrap();
        let leaf2 = t.fork(&mid).unwrap();
        t.exit(leaf2.pid(), ExitStatus::Exited(2)).unwrap();
        t.exit(mid.pid(), ExitStatus::Exited(0)).unwrap();
        assert_eq!(leaf.ppid(), 1);
        assert_eq!(leaf2.ppid(), 1);
        // init reaps mid, then the zombie it inherited.
        let mut reaped = vec![
            t.wait(1, WaitFor::Any, true, &i).unwrap().unwrap().0,
            t.wait(1, WaitFor::Any, true, &i).unwrap().unwrap().0,
        ];
        reaped.sort();
        assert_eq!(reaped, vec![mid.pid(), leaf2.pid()]);
        t.exit(1, ExitStatus::Exited(0)).unwrap();
        assert_eq!(leaf.ppid(), HOST_PID);
        t.exit(leaf.pid(), ExitStatus::Exited(5)).unwrap();
        let mut reaped = vec![
            t.wait(HOST_PID, WaitFor::Any, false, &i).unwrap().unwrap(),
            t.wait(HOST_PID, WaitFor::Any, false, &i).unwrap().unwrap(),
        ];
        reaped.sort_by_key(|r| r.0);
        assert_eq!(
            reaped,
            vec![
                (1, ExitStatus::Exited(0)),
                (leaf.pid(), ExitStatus::Exited(5))
            ]
        );
    }

    #[test]
    fn process_limit_counts_zombies() {
        let (vfs, t) = setup(2);
        let init = t.spawn(None, vfs.root(), spec()).unwrap();
        let child = t.fork(&init).unwrap();
        assert_eq!(t.fork(&init).err(), Some(Errno::EAGAIN));
        t.exit(child.pid(), ExitStatus::Exited(0)).unwrap();
        assert_eq!(t.fork(&init).err(), Some(Errno::EAGAIN));
        t.wait(1, WaitFor::Any, false, &Interrupt::new()).unwrap();
        assert!(t.fork(&init).is_ok());
    }

    #[test]
    fn exit_statuses() {
        assert_eq!(ExitStatus::from_code(256 + 3), ExitStatus::Exited(3));
        assert_eq!(ExitStatus::from_code(-1), ExitStatus::Exited(255));
        assert_eq!(ExitStatus::Exited(3).wait_status(), 0x300);
        assert_eq!(ExitStatus::Signaled(9).wait_status(), 9);
        assert_eq!(ExitStatus::Signaled(9).shell_code(), 137);
    }

    #[test]
    fn cwd_umask_and_at() {
        let (vfs, t) = setup(16);
        let init = t.spawn(None, vfs.root(), spec()).unwrap();
        vfs.mkdirat(vfs.root(), b"/d", 0o755).unwrap();
        let d = vfs.lookup(vfs.root(), b"/d", true).unwrap();
        init.chdir(Arc::clone(&d)).unwrap();
        assert_eq!(vfs.getcwd(&init.cwd()).unwrap(), b"/d");
        let null = vfs.lookup(vfs.root(), b"/dev/null", true).unwrap();
        assert_eq!(init.chdir(null), Err(Errno::ENOTDIR));
        assert_eq!(init.set_umask(0o7777), DEFAULT_UMASK);
        assert_eq!(init.umask(), 0o777);
        assert!(Arc::ptr_eq(&init.at(AT_FDCWD, b"x").unwrap(), &d));
        assert_eq!(init.at(3, b"x").err(), Some(Errno::EBADF));
        assert!(init.at(3, b"/abs").is_ok(), "absolute paths ignore dirfd");
        let (r, _w) = pipe2(OFlags::empty()).unwrap();
        let fd = init.install(r, false).unwrap();
        assert_eq!(init.at(fd, b"x").err(), Some(Errno::ENOTDIR));
        let root = vfs.openat(vfs.root(), b"/", OFlags::DIRECTORY, 0).unwrap();
        let fd = init.install(root, false).unwrap();
        assert!(Arc::ptr_eq(&init.at(fd, b"x").unwrap(), vfs.root()));
        assert_eq!(init.dup2(fd, 10), Ok(10));
        assert_eq!(init.dup3(fd, 10, true), Ok(10));
        assert_eq!(init.fds().cloexec(10), Ok(true));
        assert_eq!(init.close(10), Ok(()));
        assert_eq!(init.close(10), Err(Errno::EBADF));
    }
}
