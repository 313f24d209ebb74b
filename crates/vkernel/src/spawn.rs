//! Starting processes: the exec gate, a kernel process, its WASI host, a run.
//!
//! A `Launcher` is shared by a container's host execs (`Container::run` and friends,
//! which run the process on the caller's thread) and its guests' spawns (the process
//! extension's [`Spawner`], which runs each child on a thread of its own). Both paths
//! go through `Launcher::check_exec` before a process exists, so a guest cannot reach
//! a program the host could not.
//!
//! Children's lifetimes:
//! - when a child's run ends, the kernel `exit`s it: its fds close (pipe readers see end
//!   of file) and its parent's `wait` sees the status ([`child_status`]);
//! - a child whose parent exits first goes to pid 1 or to the host (the kernel's rule);
//!   the host does not wait for such orphans, so after every exit the launcher reaps
//!   the host's zombies among the processes guests spawned (`Launcher::reap_orphans`);
//! - finished threads are joined at the next spawn; `Launcher::shutdown` (when the
//!   container is dropped) stops and joins the rest.
//!
//! Lock order: `Launcher::children` before the process table's lock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::abi::linux::LinuxProcess;
use crate::abi::process::{ExecAllowed, ForkImage, SpawnRequest, Spawner, signal};
use crate::abi::wasi_p1::WasiProcess;
use crate::container::{LoadedBundle, RuntimeError};
use crate::engine::{RunEnd, RunRequest};
use crate::gate::Allowed;
use crate::kernel::{
    Errno, ExitStatus, Fd, FdSource, HOST_PID, Inode, Interrupt, KResult, Kernel, Pid, ProcState,
    Process, SpawnSpec, View, WaitFor,
};

/// Symlinks followed while resolving an exec path, as Linux's MAXSYMLINKS.
const MAX_SYMLINKS: usize = 40;

/// The exit status of a child that could not start after its spawn succeeded (the
/// instance pool was full, `_dispatch` refused): what `posix_spawn` gives a child that
/// failed between fork and exec.
pub const START_FAILED_STATUS: u8 = 127;

/// What a new process runs and with what.
pub(crate) struct LaunchSpec {
    pub path: Vec<u8>,
    /// argv, argv[0] included.
    pub argv: Vec<Vec<u8>>,
    pub env: Vec<(Vec<u8>, Vec<u8>)>,
    pub cwd: Arc<Inode>,
    pub fds: Vec<(Fd, FdSource)>,
    pub timeout: Option<Duration>,
}

/// A process created and gated, not yet running.
pub(crate) struct Launch {
    pub process: Arc<Process>,
    pub allowed: Allowed,
    pub request: RunRequest,
}

/// Processes guests spawned, and their threads.
#[derive(Default)]
struct Children {
    /// Threads of spawned processes: joined once finished (at the next spawn), or at
    /// shutdown.
    threads: Vec<JoinHandle<()>>,
    /// Spawned processes not known to be reaped: the ones the host inherits are reaped
    /// by [`Launcher::reap_orphans`]. Weak, to tell a reused pid from its old process.
    unreaped: BTreeMap<Pid, Weak<Process>>,
    /// The signal a running process was killed with (its wait status), until it exits.
    signals: BTreeMap<Pid, u8>,
}

/// Starts the processes of one container (see the module docs).
pub(crate) struct Launcher {
    id: String,
    bundle: Arc<LoadedBundle>,
    kernel: Arc<Kernel>,
    /// This launcher, for the children's WASI hosts and threads.
    me: Weak<Launcher>,
    children: Mutex<Children>,
}

impl Launcher {
    pub fn new(id: String, bundle: Arc<LoadedBundle>, kernel: Arc<Kernel>) -> Arc<Launcher> {
        Arc::new_cyclic(|me| Launcher {
            id,
            bundle,
            kernel,
            me: me.clone(),
            children: Mutex::default(),
        })
    }

    fn children(&self) -> MutexGuard<'_, Children> {
        self.children.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The exec gate for `path`, relative to `cwd`: resolves it in the container, reads
    /// the bytes once, hashes them (or takes the cached hash of untouched image bytes),
    /// and asks the gate. Returns the decision and the canonical path. A denial is
    /// logged with the path and the hash.
    pub fn check_exec(
        &self,
        cwd: &Arc<Inode>,
        path: &[u8],
    ) -> Result<(Allowed, String), RuntimeError> {
        self.check_exec_for(None, cwd, path)
    }

    /// [`Self::check_exec`] for process `caller` (`None`: the host), whose view of the
    /// filesystem resolves `/proc/self`: `/proc/self/exe` and the other links of `/proc`
    /// are followed by their text like any symlink, so what is gated is the file they
    /// name, by its path and hash.
    pub fn check_exec_for(
        &self,
        caller: Option<Pid>,
        cwd: &Arc<Inode>,
        path: &[u8],
    ) -> Result<(Allowed, String), RuntimeError> {
        let exec_err = |errno| RuntimeError::Exec {
            path: String::from_utf8_lossy(path).into_owned(),
            errno,
        };
        let vfs = match caller {
            Some(pid) => self.kernel.vfs().view(pid),
            None => self.kernel.vfs().host_view(),
        };
        let (canonical, inode) = Self::resolve(&vfs, cwd, path).map_err(exec_err)?;
        // exec_lookup checks it is a regular file with an execute bit.
        let _ = vfs.exec_lookup(vfs.root(), &canonical).map_err(exec_err)?;
        let contents = inode.read_contents().map_err(exec_err)?;
        let hash = if contents.from_image {
            let key = contents.bytes.as_ptr() as usize;
            let mut cache = self.bundle.hashes.lock().unwrap_or_else(|e| e.into_inner());
            *cache
                .entry(key)
                .or_insert_with(|| *blake3::hash(&contents.bytes).as_bytes())
        } else {
            *blake3::hash(&contents.bytes).as_bytes()
        };
        let canonical = String::from_utf8_lossy(&canonical).into_owned();
        match self.bundle.gate.check(&canonical, &hash) {
            Ok(allowed) => Ok((allowed, canonical)),
            Err(denied) => {
                let blake3 = crate::gate::hex(&hash);
                tracing::warn!(container = %self.id, path = %canonical, %blake3, reason = %denied, "exec denied");
                Err(RuntimeError::Denied(denied))
            }
        }
    }

    /// Resolves `path` to its canonical absolute path, following symlinks in every
    /// component including the last.
    fn resolve(
        vfs: &View<'_>,
        cwd: &Arc<Inode>,
        path: &[u8],
    ) -> Result<(Vec<u8>, Arc<Inode>), Errno> {
        let mut dir = Arc::clone(cwd);
        let mut path = path.to_vec();
        for _ in 0..MAX_SYMLINKS {
            let (parent, name) = match path.iter().rposition(|&b| b == b'/') {
                Some(0) => (b"/".to_vec(), path[1..].to_vec()),
                Some(i) => (path[..i].to_vec(), path[i + 1..].to_vec()),
                None => (b".".to_vec(), path.clone()),
            };
            let parent_inode = vfs.lookup(&dir, &parent, true)?;
            let parent_path = vfs.getcwd(&parent_inode)?;
            let inode = vfs.lookup(&parent_inode, &name, false)?;
            if !inode.is_symlink() {
                let mut full = parent_path;
                if full != b"/" {
                    full.push(b'/');
                }
                full.extend_from_slice(&name);
                return Ok((full, inode));
            }
            // A link of /proc too: by its text, even a magic one, so the file gated is
            // the one a path names (an unreadable link fails the exec).
            path = vfs.readlinkat(&parent_inode, &name)?;
            dir = parent_inode;
        }
        Err(Errno::ELOOP)
    }

    /// Passes the gate and creates the process for `spec`, a child of `parent` (or of
    /// the host), with a WASI host that can spawn through this launcher. Nothing runs
    /// yet.
    pub fn launch(
        &self,
        parent: Option<&Arc<Process>>,
        spec: LaunchSpec,
    ) -> Result<Launch, RuntimeError> {
        let spawn_err = |errno| RuntimeError::Spawn {
            path: String::from_utf8_lossy(&spec.path).into_owned(),
            errno,
        };
        let (allowed, canonical) =
            self.check_exec_for(parent.map(|p| p.pid()), &spec.cwd, &spec.path)?;
        let me = self.me.upgrade().ok_or_else(|| spawn_err(Errno::EAGAIN))?;
        let mut env = spec.env;
        // wasi-libc starts every program with cwd `/` (preview1 cannot tell it
        // otherwise), so a process started elsewhere is told its directory in
        // PWD, as a shell does; programs that honour PWD (agent-tool, Go's wasip1
        // runtime) `chdir` there. Left alone when the caller set PWD, and not
        // added for the root, where wasi-libc already is.
        if !Arc::ptr_eq(&spec.cwd, self.kernel.vfs().root())
            && !env.iter().any(|(k, _)| k == b"PWD")
            && let Ok(dir) = self.kernel.vfs().getcwd(&spec.cwd)
        {
            env.push((b"PWD".to_vec(), dir));
        }
        let process = self
            .kernel
            .spawn(
                parent,
                SpawnSpec {
                    argv: spec.argv.clone(),
                    env,
                    cwd: Some(spec.cwd),
                    umask: None,
                    fds: spec.fds,
                },
            )
            .map_err(spawn_err)?;
        process.set_image(&spec.path, canonical.into_bytes());
        let host = match WasiProcess::new(Arc::clone(&self.kernel), Arc::clone(&process)) {
            Ok(host) => host.with_spawner(me),
            Err(errno) => {
                self.abandon(parent, &process);
                return Err(spawn_err(errno));
            }
        };
        let tick = self.bundle.epoch_tick;
        let request = RunRequest {
            host: Box::new(host),
            dispatch_id: allowed.dispatch_id,
            memory_export: allowed.memory.clone(),
            argv: spec.argv,
            deadline_ticks: spec
                .timeout
                .map(|t| (t.as_nanos() / tick.as_nanos().max(1)) as u64 + 1),
            max_memory_bytes: self.bundle.max_memory_bytes,
            stop: Some(process.interrupt().clone()),
            wall_deadline: spec.timeout.map(|t| std::time::Instant::now() + t),
            resume: None,
        };
        Ok(Launch {
            process,
            allowed,
            request,
        })
    }

    /// Ends a process that never ran and reaps it (its parent never saw it).
    fn abandon(&self, parent: Option<&Arc<Process>>, process: &Arc<Process>) {
        let processes = self.kernel.processes();
        let _ = processes.exit(process.pid(), ExitStatus::Signaled(signal::SIGKILL));
        let waiter = parent.map_or(HOST_PID, |p| p.pid());
        let _ = processes.wait(waiter, WaitFor::Pid(process.pid()), true, &Interrupt::new());
    }

    /// Runs a spawned child to its end (on its own thread), then exits it.
    fn run_child(&self, launch: Launch) {
        self.run_request(launch.process.pid(), launch.request);
    }

    /// Runs process `pid`'s request to its end, then exits the process.
    fn run_request(&self, pid: Pid, request: RunRequest) {
        let result = self.bundle.megabinary.run(request);
        let signal = self.children().signals.remove(&pid);
        if let RunEnd::StartFailed(why) | RunEnd::Killed(why) = &result.end {
            tracing::debug!(container = %self.id, pid, reason = %why, "spawned process ended");
        }
        let status = child_status(&result.end, signal);
        // As on Linux: the zombie first (a parent that reaps on SIGCHLD finds it), then
        // SIGCHLD pending, then the parent's blocked wait wakes (a shell's CHLD trap
        // runs before the command after the one that ended).
        let kernel = &self.kernel;
        let _ = kernel.processes().exit_with(pid, status, || {
            crate::abi::linux::signal::child_exited(kernel, pid, status)
        });
        self.reap_orphans();
    }

    /// The signal a guest's `kill` ended process `pid` with, if one did (taken: asked
    /// once, when the process's run ended).
    pub fn killed_by(&self, pid: Pid) -> Option<u8> {
        self.children().signals.remove(&pid)
    }

    /// Reaps the zombies the host inherited among the processes guests spawned (their
    /// parent exited before them, and no pid 1 took them): nobody else waits for them.
    pub fn reap_orphans(&self) {
        let processes = self.kernel.processes();
        let mut children = self.children();
        children.unreaped.retain(|&pid, weak| {
            let Some(process) = processes.get(pid) else {
                return false;
            };
            if !std::ptr::eq(Arc::as_ptr(&process), weak.as_ptr()) {
                // Reaped by its parent; the pid names a newer process.
                return false;
            }
            if process.ppid() != HOST_PID {
                return true;
            }
            !matches!(
                processes.wait(HOST_PID, WaitFor::Pid(pid), true, &Interrupt::new()),
                Ok(Some(_)) | Err(_)
            )
        });
        children
            .signals
            .retain(|&pid, _| processes.state(pid) == Some(ProcState::Running));
    }

    /// Interrupts every process guests spawned that is not reaped yet (after the process
    /// table's `interrupt_all`, this reaches a child whose spawn was under way).
    pub fn interrupt_spawned(&self) {
        let children = self.children();
        for weak in children.unreaped.values() {
            if let Some(p) = weak.upgrade() {
                p.interrupt().interrupt();
            }
        }
    }

    /// Waits for every spawned process's thread to end (including children they spawn
    /// meanwhile), then reaps the orphans.
    pub fn join_spawned(&self) {
        loop {
            let threads = std::mem::take(&mut self.children().threads);
            if threads.is_empty() {
                break;
            }
            for t in threads {
                let _ = t.join();
            }
        }
        self.reap_orphans();
    }

    /// Stops every process of the container and joins the spawned ones' threads.
    pub fn shutdown(&self) {
        self.kernel.processes().interrupt_all();
        self.interrupt_spawned();
        self.join_spawned();
    }
}

impl Spawner for Launcher {
    fn spawn(&self, parent: &Arc<Process>, req: SpawnRequest) -> KResult<Pid> {
        let vfs = self.kernel.vfs();
        let cwd = match &req.cwd {
            Some(path) => vfs.lookup(&parent.cwd(), path, true)?,
            None => parent.cwd(),
        };
        if !cwd.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let spec = LaunchSpec {
            path: req.path,
            argv: req.argv,
            env: req.env,
            cwd,
            fds: req
                .fds
                .into_iter()
                .map(|(child, from)| (child, FdSource::Inherit(from)))
                .collect(),
            timeout: None,
        };
        let launch = self.launch(Some(parent), spec).map_err(|e| match e {
            RuntimeError::Exec { errno, .. } | RuntimeError::Spawn { errno, .. } => errno,
            // Logged by the gate.
            RuntimeError::Denied(_) => Errno::EACCES,
            _ => Errno::EIO,
        })?;
        let child = Arc::clone(&launch.process);
        self.start(parent, &child, move |me| me.run_child(launch))?;
        tracing::debug!(container = %self.id, parent = parent.pid(), pid = child.pid(), "spawned");
        Ok(child.pid())
    }

    fn terminate(&self, target: &Arc<Process>, sig: u8) {
        let mut children = self.children();
        if self.kernel.processes().state(target.pid()) == Some(ProcState::Running) {
            children.signals.entry(target.pid()).or_insert(sig);
        }
        drop(children);
        target.interrupt().interrupt();
    }

    fn check_exec(&self, process: &Arc<Process>, path: &[u8]) -> KResult<ExecAllowed> {
        match self.check_exec_for(Some(process.pid()), &process.cwd(), path) {
            Ok((allowed, canonical)) => Ok(ExecAllowed {
                dispatch_id: allowed.dispatch_id,
                memory_export: allowed.memory,
                path: canonical.into_bytes(),
            }),
            Err(RuntimeError::Exec { errno, .. } | RuntimeError::Spawn { errno, .. }) => Err(errno),
            // Logged by the gate.
            Err(RuntimeError::Denied(_)) => Err(Errno::EACCES),
            Err(_) => Err(Errno::EIO),
        }
    }

    fn fork(
        &self,
        parent: &Arc<Process>,
        child: Arc<Process>,
        image: ForkImage,
        linux: Box<LinuxProcess>,
    ) -> KResult<Pid> {
        let me = self.me.upgrade().ok_or(Errno::EAGAIN)?;
        let host = match WasiProcess::new(Arc::clone(&self.kernel), Arc::clone(&child)) {
            Ok(host) => host.with_spawner(me).with_linux(linux),
            Err(errno) => {
                self.abandon(Some(parent), &child);
                return Err(errno);
            }
        };
        let pid = child.pid();
        let request = RunRequest {
            host: Box::new(host),
            dispatch_id: image.dispatch_id,
            memory_export: image.memory_export.clone(),
            argv: child.argv(),
            deadline_ticks: None,
            max_memory_bytes: self.bundle.max_memory_bytes,
            stop: Some(child.interrupt().clone()),
            wall_deadline: None,
            resume: Some(image),
        };
        self.start(parent, &child, move |me| me.run_request(pid, request))?;
        tracing::debug!(container = %self.id, parent = parent.pid(), pid, "forked");
        Ok(pid)
    }
}

impl Launcher {
    /// Starts `child` (made for `parent`, not yet running) on a thread of its own that
    /// runs `body`, with the bookkeeping every spawned process needs.
    fn start(
        &self,
        parent: &Arc<Process>,
        child: &Arc<Process>,
        body: impl FnOnce(Arc<Launcher>) + Send + 'static,
    ) -> KResult<()> {
        let me = self.me.upgrade().ok_or(Errno::EAGAIN)?;
        let pid = child.pid();
        let mut children = self.children();
        children.unreaped.insert(pid, Arc::downgrade(child));
        // A parent being stopped (Container::stop_all, kill) starts nothing: checked
        // under the lock `interrupt_spawned` takes, so a stop either sees this child or
        // has already marked the parent.
        if parent.interrupt().is_interrupted() {
            drop(children);
            drop(body); // the child's host and fds, before it is reaped
            self.abandon(Some(parent), child);
            return Err(Errno::EINTR);
        }
        let (done, running): (Vec<_>, Vec<_>) = std::mem::take(&mut children.threads)
            .into_iter()
            .partition(|t| t.is_finished());
        children.threads = running;
        let started = std::thread::Builder::new()
            .name(format!("{} pid {pid}", self.id))
            .spawn(move || body(me));
        match started {
            Ok(handle) => children.threads.push(handle),
            Err(_) => {
                drop(children);
                self.abandon(Some(parent), child);
                return Err(Errno::EAGAIN);
            }
        }
        drop(children);
        for t in done {
            let _ = t.join();
        }
        Ok(())
    }
}

/// The status a spawned child's parent sees for how its run ended: its exit code; a
/// trap as `SIGABRT` (wasi-libc's `abort` traps); stopped past its time limit or by the
/// host as `SIGKILL`, or by `kill` as the signal sent (`killed_by`); a child that could
/// not start as exit status [`START_FAILED_STATUS`].
pub fn child_status(end: &RunEnd, killed_by: Option<u8>) -> ExitStatus {
    match end {
        RunEnd::Exited(code) => ExitStatus::from_code(*code),
        RunEnd::Trapped(_) => ExitStatus::Signaled(signal::SIGABRT),
        RunEnd::TimedOut => ExitStatus::Signaled(signal::SIGKILL),
        RunEnd::Killed(_) => ExitStatus::Signaled(killed_by.unwrap_or(signal::SIGKILL)),
        RunEnd::DispatchRefused(_) | RunEnd::StartFailed(_) => {
            ExitStatus::Exited(START_FAILED_STATUS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_of_run_ends() {
        assert_eq!(
            child_status(&RunEnd::Exited(259), None),
            ExitStatus::Exited(3)
        );
        assert_eq!(
            child_status(&RunEnd::Trapped("unreachable".into()), None).wait_status(),
            6
        );
        assert_eq!(
            child_status(&RunEnd::Killed("x".into()), Some(15)),
            ExitStatus::Signaled(15)
        );
        assert_eq!(
            child_status(&RunEnd::Killed("x".into()), None),
            ExitStatus::Signaled(9)
        );
        assert_eq!(
            child_status(&RunEnd::TimedOut, Some(15)),
            ExitStatus::Signaled(9)
        );
        assert_eq!(
            child_status(&RunEnd::StartFailed("pool".into()), None).wait_status(),
            127 << 8
        );
    }
}
