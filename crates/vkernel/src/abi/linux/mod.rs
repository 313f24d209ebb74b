//! The Linux x86-64 syscall ABI (`recompiler_linux_v1`) for lifted ELF programs, on the
//! kernel core.
//!
//! A lifted program runs inside the guest runtime (an x86-64 interpreter compiled to
//! WASM, `crates/lift-runtime`); at every `syscall` instruction the runtime calls this
//! module's `syscall` import with the guest's `rax` and six argument registers, and puts
//! the result (a value, or `-errno`) back in `rax`. Pointer arguments are guest
//! addresses: byte offsets into the calling program's linear memory, the same memory its
//! WASI calls use. Everything a syscall touches is the kernel core's (the fds, files,
//! pipes and processes WASM programs and the socket's syscall RPC see), so a lifted
//! program and a WASM program share pipes and files as two Linux processes would.
//!
//! The contract with the runtime (the import module, [`MODULE`], [`FUNCS`]):
//!
//! ```text
//! syscall(nr: i64, a0..a5: i64) -> i64   Linux semantics: result or -errno
//! program_id() -> i64                    the hash id `_dispatch` was called with
//! log(ptr: i32, len: i32)                a UTF-8 line from the runtime, logged here
//! fork(regions: i32, count: i32) -> i64  fork this process; the child's instance gets
//!                                        a copy of the regions ({start, len: u32} pairs)
//! resume() -> i32                        1 in a fork child's instance (its memory holds
//!                                        the parent's state), else 0
//! signal_next(forced: i32, out: i32) -> i32
//!                                        the next signal to run a handler for (0: none;
//!                                        one atomic load when none is pending), its
//!                                        record at `out`; `forced`: a CPU fault's signal
//!                                        (see [`signal`])
//! ```
//!
//! The engine answers `program_id` itself and hands `syscall` and `log` to the
//! process's [`LinuxProcess`] (made on the first call, by the process's WASI host).
//!
//! This module owns the syscall table ([`table`]: every x86-64 syscall number with its
//! support level and a note, gVisor's `linux64.go` being the model), the dispatcher,
//! the Linux struct layouts ([`structs`]) and the per-process state Linux has and the
//! core does not (signal dispositions and mask, rlimits, process group and session:
//! [`signal`], `proc`). The handlers live by family: `fs` (paths), `io` (fds),
//! `poll` (waiting, futex), `proc` (ids, exit, wait, limits, system information),
//! `signal`, `time`. The compatibility list `docs/recompiler-container-plan/
//! linux-syscalls.md` is generated from the table (`doc`).
//!
//! Not here: `brk`, `mmap` and the rest of the address space, `arch_prctl`,
//! `rt_sigreturn` and the signal frames (the runtime's: the table says so); `fork` is
//! the runtime's `fork` import (the engine copies the instance).

mod doc;
mod fs;
mod io;
pub mod memory;
mod poll;
mod proc;
pub mod signal;
pub mod structs;
pub mod table;
#[cfg(test)]
mod tests;
mod time;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

pub use doc::render_markdown;
use memory::Mem;
pub use table::{SYSCALLS, Support, Syscall};

use super::process::Spawner;
use super::wasi_p1::{HostExit, Ty};
use crate::kernel::{Errno, Fd, Kernel, Pid, Process};

/// The import module's name.
pub const MODULE: &str = "recompiler_linux_v1";

use Ty::{I32, I64};

/// The functions of [`MODULE`]: name, parameter types, result type (`None`: nothing).
/// The engine defines them with these exact types (a test checks the engine's).
pub const FUNCS: &[(&str, &[Ty], Option<Ty>)] = &[
    ("syscall", &[I64; 7], Some(I64)),
    ("program_id", &[], Some(I64)),
    ("log", &[I32, I32], None),
    ("fork", &[I32, I32], Some(I64)),
    ("resume", &[], Some(I32)),
    ("signal_next", &[I32, I32], Some(I32)),
];

/// Distinct unsupported syscall numbers logged per process image; past this, no more
/// are (a guest calling every number cannot grow the set without bound).
const MAX_WARNED: usize = 512;

/// Most regions one fork copies (the runtime sends the runs of mapped guest pages
/// and its own data): bounds the table read from guest memory.
pub const MAX_FORK_REGIONS: u32 = 1 << 16;

/// The longest line `log` takes from the runtime; the rest is cut.
pub const MAX_LOG_LINE: usize = 4096;

/// How a syscall ends other than with a value for `rax`.
#[derive(Debug)]
pub(crate) enum Fail {
    /// `-errno` to the guest.
    Errno(Errno),
    /// The process ends (`exit_group`, or killed).
    Exit(HostExit),
}

impl From<Errno> for Fail {
    fn from(e: Errno) -> Fail {
        Fail::Errno(e)
    }
}

/// What a handler returns: the value of `rax`, or how it failed.
pub(crate) type SysResult = Result<i64, Fail>;

/// A syscall's six argument registers (`rdi`, `rsi`, `rdx`, `r10`, `r8`, `r9`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Args(pub [i64; 6]);

impl Args {
    pub fn raw(&self, i: usize) -> i64 {
        self.0.get(i).copied().unwrap_or(0)
    }

    /// An `int` argument (the register's low 32 bits, as the kernel reads it).
    pub fn int(&self, i: usize) -> i32 {
        self.raw(i) as i32
    }

    /// An `unsigned int` argument (flags, modes).
    pub fn uint(&self, i: usize) -> u32 {
        self.raw(i) as u32
    }

    /// An fd argument.
    pub fn fd(&self, i: usize) -> Fd {
        self.int(i)
    }

    /// A pointer or `size_t` argument.
    pub fn u64(&self, i: usize) -> u64 {
        self.raw(i) as u64
    }

    /// A pointer argument.
    pub fn ptr(&self, i: usize) -> u64 {
        self.u64(i)
    }
}

/// One handler of the table.
pub(crate) type Handler = fn(&mut LinuxProcess, &mut Mem<'_>, Args) -> SysResult;

/// One process's Linux syscall ABI: the kernel process it acts as, and what Linux keeps
/// per process beyond the core's state.
pub struct LinuxProcess {
    kernel: Arc<Kernel>,
    process: Arc<Process>,
    /// What ends other processes with a signal (the container's launcher); `None`:
    /// their interrupt is set instead (they end killed, status `SIGKILL`).
    spawner: Option<Arc<dyn Spawner>>,
    /// Signal dispositions, mask, pending set, process group: what other processes'
    /// `kill` looks at (registered in [`signal`]'s registry).
    shared: Arc<signal::Shared>,
    /// `getrlimit`/`setrlimit` values, by resource.
    rlimits: [proc::Rlimit; proc::RLIM_NLIMITS],
    /// When this process image started: the origin of its CPU-time clocks.
    started: Instant,
    /// Unsupported syscall numbers already logged.
    warned: BTreeSet<u64>,
    /// What the other `prctl` options recorded.
    prctl: proc::Prctl,
}

impl std::fmt::Debug for LinuxProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinuxProcess")
            .field("pid", &self.process.pid())
            .finish()
    }
}

impl LinuxProcess {
    /// The Linux ABI of `process` (a process image starting now): the signal state an
    /// `execve` carried over (see [`crate::kernel::ExecSignals`]; a new process's is empty), Linux's default
    /// rlimits (`RLIMIT_NOFILE` and `RLIMIT_NPROC` from the kernel's limits).
    pub fn new(
        kernel: Arc<Kernel>,
        process: Arc<Process>,
        spawner: Option<Arc<dyn Spawner>>,
    ) -> LinuxProcess {
        let shared = signal::Shared::register(&process);
        let rlimits = proc::default_rlimits(&kernel);
        LinuxProcess {
            kernel,
            process,
            spawner,
            shared,
            rlimits,
            started: Instant::now(),
            warned: BTreeSet::new(),
            prctl: proc::Prctl::default(),
        }
    }

    /// The state a child made by `fork` starts with, as Linux copies it: dispositions,
    /// mask, alternate stack, rlimits, process group and session (nothing pending).
    /// For the engine's fork, once it exists.
    pub fn forked(&self, child: Arc<Process>) -> LinuxProcess {
        let shared = self.shared.fork_into(&child);
        LinuxProcess {
            kernel: Arc::clone(&self.kernel),
            process: child,
            spawner: self.spawner.clone(),
            shared,
            rlimits: self.rlimits,
            started: Instant::now(),
            warned: self.warned.clone(),
            prctl: proc::Prctl {
                // Linux clears the parent-death signal in a fork's child.
                pdeathsig: 0,
                ..self.prctl
            },
        }
    }

    pub fn pid(&self) -> Pid {
        self.process.pid()
    }

    /// What Linux resets when a process execs: caught signals go back to their default
    /// action (ignored ones stay ignored, the mask and pending set stay), the alternate
    /// stack is dropped, the CPU clocks and the unsupported-call log start again (the
    /// kernel process takes the new name, [`Process::set_image`]).
    fn exec_image(&mut self) {
        {
            let mut st = self.sig();
            for action in st.actions.iter_mut() {
                if action.handler != signal::SIG_IGN {
                    *action = signal::SigAction::default();
                }
            }
            st.altstack = signal::AltStack {
                sp: 0,
                flags: signal::SS_DISABLE,
                size: 0,
            };
        }
        self.started = Instant::now();
        self.warned.clear();
    }

    /// Fork implements the runtime's `fork(regions, count)` import (Linux fork(2),
    /// vfork(2) and clone(2) without `CLONE_VM` for a lifted program): a kernel child of
    /// this process, this Linux state copied as Linux copies it ([`Self::forked`]), and
    /// a new instance of `dispatch_id` whose memory gets the `count` regions
    /// (`{start: u32, len: u32}` pairs at `regions` in `memory`) of this memory. Returns
    /// the child's pid or `-errno` (`EFAULT` for a region outside memory, `ENOSYS`
    /// without a spawner, `EAGAIN` when the process table is full).
    pub fn fork(
        &mut self,
        memory: &[u8],
        regions: u32,
        count: u32,
        dispatch_id: u64,
        memory_export: &str,
    ) -> i64 {
        let errno = |e: Errno| -i64::from(e.as_i32());
        let Some(spawner) = self.spawner.clone() else {
            return errno(Errno::ENOSYS);
        };
        if count > MAX_FORK_REGIONS {
            return errno(Errno::EINVAL);
        }
        let table = regions as usize;
        let Some(pairs) = memory.get(table..table.saturating_add(8 * count as usize)) else {
            return errno(Errno::EFAULT);
        };
        let mut copied = Vec::with_capacity(count as usize);
        for pair in pairs.chunks_exact(8) {
            let start = u32::from_le_bytes([pair[0], pair[1], pair[2], pair[3]]);
            let len = u32::from_le_bytes([pair[4], pair[5], pair[6], pair[7]]) as usize;
            let Some(bytes) = memory.get(start as usize..(start as usize).saturating_add(len))
            else {
                return errno(Errno::EFAULT);
            };
            copied.push((start, bytes.to_vec()));
        }
        let child = match self.kernel.fork(&self.process) {
            Ok(c) => c,
            Err(e) => return errno(e),
        };
        let linux = Box::new(self.forked(Arc::clone(&child)));
        // Exports of a program share its prefix (`prog.<id>.`): the memory's and the
        // runtime's fork entry.
        let prefix = memory_export.strip_suffix("memory").unwrap_or_default();
        let image = super::process::ForkImage {
            dispatch_id,
            memory_export: memory_export.to_string(),
            entry_export: format!("{prefix}lift_resume"),
            memory_size: memory.len(),
            regions: copied,
        };
        match spawner.fork(&self.process, child, image, linux) {
            Ok(pid) => i64::from(pid),
            Err(e) => errno(e),
        }
    }

    pub fn process(&self) -> &Arc<Process> {
        &self.process
    }

    pub fn kernel(&self) -> &Arc<Kernel> {
        &self.kernel
    }

    /// Runs syscall `nr` with `args` against the caller's memory: `Ok` with the value
    /// for `rax` (`-errno` on failure), or how the process ends (`exit_group`, killed,
    /// stopped while blocked). A number not in the table, or one the table does not
    /// support, is `-ENOSYS`, logged once per process image.
    pub fn syscall(&mut self, memory: &mut [u8], nr: i64, args: [i64; 6]) -> Result<i64, HostExit> {
        let entry = u32::try_from(nr).ok().and_then(table::lookup);
        let Some((entry, handler)) = entry.and_then(|e| e.handler.map(|h| (e, h))) else {
            self.warn_unsupported(nr, entry);
            return Ok(-i64::from(Errno::ENOSYS.as_i32()));
        };
        let mut mem = Mem::new(memory);
        let result = handler(self, &mut mem, Args(args));
        match result {
            Err(Fail::Exit(x)) => Err(x),
            _ if self.process.interrupt().is_interrupted() => Err(HostExit::Kill(format!(
                "{}: the process was stopped",
                entry.name
            ))),
            Ok(v) => Ok(v),
            // Interrupted by a signal to deliver: the runtime restarts the call or
            // answers EINTR once it knows the handler's SA_RESTART.
            Err(Fail::Errno(Errno::EINTR)) if self.signal_waiting() && signal::restarts(nr) => {
                Ok(-signal::ERESTARTSYS)
            }
            Err(Fail::Errno(e)) => Ok(-i64::from(e.as_i32())),
        }
    }

    /// Logs a line the runtime sent (`log`): a SIGILL report, a fault, a trace.
    pub fn log(&self, line: &[u8]) {
        let line = String::from_utf8_lossy(&line[..line.len().min(MAX_LOG_LINE)]);
        let line = line.trim_end();
        tracing::warn!(pid = self.process.pid(), comm = %String::from_utf8_lossy(&self.process.comm()), "lifted program: {line}");
    }

    fn warn_unsupported(&mut self, nr: i64, entry: Option<&'static Syscall>) {
        let key = nr as u64;
        if self.warned.contains(&key) || self.warned.len() >= MAX_WARNED {
            return;
        }
        self.warned.insert(key);
        let pid = self.process.pid();
        let comm = String::from_utf8_lossy(&self.process.comm()).into_owned();
        match entry {
            Some(e) => {
                let note = e.support.note().unwrap_or("");
                tracing::warn!(pid, %comm, nr, name = e.name, %note, "Linux syscall not supported: ENOSYS")
            }
            None => tracing::warn!(pid, %comm, nr, "unknown Linux syscall number: ENOSYS"),
        }
    }
}

impl Drop for LinuxProcess {
    fn drop(&mut self) {
        // An execve ends this image and the next one starts from this (an exit
        // leaves it unread).
        self.process.set_exec_signals(self.shared.exec_signals());
        self.shared.unregister(&self.process);
    }
}
