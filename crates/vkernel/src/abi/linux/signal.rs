//! Signals: dispositions (`rt_sigaction`), the mask (`rt_sigprocmask`), the pending set,
//! the alternate stack, process groups and sessions, and `kill`/`tkill`/`tgkill` with
//! Linux's default actions.
//!
//! A signal whose action is to end the process ends it, through the container's
//! [`Spawner::terminate`] so its parent's `wait` sees the signal; ignored ones are
//! dropped; stop signals do nothing (no job control). One with a handler, or one that is
//! blocked, is made pending (with its `siginfo_t`). Delivery to a handler is shared with
//! the guest runtime, which builds the frame on the guest stack: whenever a pending
//! signal can be delivered (has a handler, is not blocked), the process's *wake* token is
//! set. The runtime looks at it after every syscall and every so many instructions
//! (`recompiler_linux_v1.signal_next`, [`LinuxProcess::signal_next`]: one atomic load
//! when nothing is pending) and takes the signal: it leaves the pending set, the
//! handler's mask is applied, `SA_RESETHAND` honoured, and the runtime gets what it needs
//! for the frame ([`NEXT_RECORD`]). The same token is what the ABI's blocking waits
//! (pipe reads, `wait4`, `nanosleep`, `poll`, `pause`, ...) are interrupted by (the
//! process's own stop token is forwarded to it), so a signal ends a wait with `EINTR`,
//! or with [`ERESTARTSYS`] for the calls Linux restarts under `SA_RESTART` (the runtime
//! re-executes the `syscall` or answers `EINTR`, as Linux's signal return path does).
//! CPU faults (SIGSEGV, SIGFPE, ...) the runtime raises go through the same call, forced.
//!
//! Another process's `kill` must see the target's dispositions, so each process's
//! [`Shared`] state is registered in a registry keyed by its kernel process (a WASM
//! process, which has none, takes every default action and is its own process group).
//!
//! [`Spawner::terminate`]: crate::abi::process::Spawner::terminate

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::memory::Mem;
use super::{Args, LinuxProcess, SysResult, poll, structs};
use crate::kernel::interrupt::{Forward, lock};
use crate::kernel::{
    Errno, ExecSignals, ExitStatus, Interrupt, KResult, Kernel, Pid, ProcState, Process,
};

/// The highest signal number (`SIGRTMAX`).
pub const NSIG: u8 = 64;
/// `sizeof(sigset_t)` as the kernel takes it.
pub const SIGSET_SIZE: u64 = 8;
pub const SIGHUP: u8 = 1;
pub const SIGINT: u8 = 2;
pub const SIGQUIT: u8 = 3;
pub const SIGABRT: u8 = 6;
pub const SIGKILL: u8 = 9;
pub const SIGUSR1: u8 = 10;
pub const SIGSEGV: u8 = 11;
pub const SIGPIPE: u8 = 13;
pub const SIGTERM: u8 = 15;
pub const SIGCHLD: u8 = 17;
pub const SIGCONT: u8 = 18;
pub const SIGSTOP: u8 = 19;
pub const SIGTSTP: u8 = 20;
pub const SIGTTIN: u8 = 21;
pub const SIGTTOU: u8 = 22;
pub const SIGURG: u8 = 23;
pub const SIGWINCH: u8 = 28;

/// `sa_flags` the delivery looks at.
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

/// `si_code` values.
const SI_USER: i32 = 0;
const SI_KERNEL: i32 = 0x80;

/// The kernel-internal errno a blocking call interrupted by a signal returns to the
/// runtime when Linux would restart it under `SA_RESTART` (`-ERESTARTSYS` in `rax`):
/// the runtime turns it into `EINTR` (a handler without `SA_RESTART`) or re-executes
/// the `syscall` (`SA_RESTART`, or no handler ran). Never seen by the guest.
pub const ERESTARTSYS: i64 = 512;

/// The size of the record [`LinuxProcess::signal_next`] writes: `siginfo_t` (128
/// bytes), then the handler, `sa_flags`, `sa_restorer`, `sa_mask`, the mask to restore
/// at `rt_sigreturn`, and the alternate stack's `ss_sp`, `ss_flags` (i32, then 4 bytes
/// of padding) and `ss_size`, each a little-endian u64.
pub const NEXT_RECORD: usize = 192;

/// Syscalls Linux never restarts after a handler ran, even under `SA_RESTART` (they
/// return `EINTR`; signal(7)): waits with a timeout or for a signal.
const NEVER_RESTARTED: &[i64] = &[
    7,   // poll
    23,  // select
    34,  // pause
    35,  // nanosleep
    128, // rt_sigtimedwait
    130, // rt_sigsuspend
    202, // futex (FUTEX_WAIT with a timeout is not; the others restart: close enough)
    230, // clock_nanosleep
    232, // epoll_wait
    270, // pselect6
    271, // ppoll
    281, // epoll_pwait
    441, // epoll_pwait2
];

/// Whether syscall `nr`, interrupted by a signal, is restarted under `SA_RESTART`.
pub fn restarts(nr: i64) -> bool {
    !NEVER_RESTARTED.contains(&nr)
}

/// `SIG_DFL` and `SIG_IGN` as handler values.
pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

/// `sigaltstack` flags.
const SS_ONSTACK: i32 = 1;
pub const SS_DISABLE: i32 = 2;
const SS_AUTODISARM: i32 = 1 << 31;
/// The smallest alternate stack Linux accepts (`MINSIGSTKSZ`).
const MINSIGSTKSZ: u64 = 2048;

/// How often a wait for a signal (`rt_sigtimedwait`) looks at the pending set: `kill`
/// does not wake it.
const SIGWAIT_RECHECK: Duration = Duration::from_millis(20);

/// The bit of signal `sig` in a `sigset_t`.
pub fn bit(sig: u8) -> u64 {
    1u64 << (sig.wrapping_sub(1) & 63)
}

/// Signals that can be neither caught, blocked nor ignored.
const UNBLOCKABLE: u64 = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));

/// What a signal does when its disposition is `SIG_DFL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    Ignore,
    Stop,
}

/// Linux's default action of `sig` (signal(7)); core dumps are terminations here.
pub fn default_action(sig: u8) -> DefaultAction {
    match sig {
        SIGCHLD | SIGCONT | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        _ => DefaultAction::Terminate,
    }
}

/// One `struct sigaction` as the kernel takes it (x86-64: handler, flags, restorer,
/// mask; 32 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// `stack_t` of `sigaltstack`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AltStack {
    pub sp: u64,
    pub flags: i32,
    pub size: u64,
}

/// What a pending signal's `siginfo_t` says beyond its number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SigInfo {
    pub code: i32,
    /// The sender (`SI_USER`), or the child (`SIGCHLD`).
    pub pid: Pid,
    pub uid: u32,
    /// `SIGCHLD`: the exit code or the signal.
    pub status: i32,
}

impl SigInfo {
    /// The 128-byte `siginfo_t` of signal `sig`.
    pub fn bytes(&self, sig: u8) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&i32::from(sig).to_le_bytes());
        b[8..12].copy_from_slice(&self.code.to_le_bytes());
        b[16..20].copy_from_slice(&self.pid.to_le_bytes());
        b[20..24].copy_from_slice(&self.uid.to_le_bytes());
        if sig == SIGCHLD {
            b[24..28].copy_from_slice(&self.status.to_le_bytes());
        }
        b
    }
}

/// Whether `handler` is a function (not `SIG_DFL`, not `SIG_IGN`).
fn is_handler(handler: u64) -> bool {
    handler != SIG_DFL && handler != SIG_IGN
}

/// A process image's signal state (its process group and session are the kernel
/// process's: [`Process::pgid`]).
#[derive(Debug, Clone)]
pub struct SigState {
    /// By signal number - 1.
    pub actions: [SigAction; NSIG as usize],
    /// Blocked signals.
    pub mask: u64,
    /// Raised, not delivered (blocked, or waiting for a handler to be run).
    pub pending: u64,
    /// The `siginfo_t` of each pending signal, by signal number - 1 (standard signals do
    /// not queue: a second raise while pending keeps the first's).
    pub info: [SigInfo; NSIG as usize],
    /// The mask `rt_sigsuspend` replaced, put back when the next signal is taken (saved
    /// in its frame, so restored at `rt_sigreturn`).
    pub saved_mask: Option<u64>,
    pub altstack: AltStack,
}

impl SigState {
    /// The pending signals a handler can be run for now.
    fn deliverable(&self) -> u64 {
        let ready = self.pending & !self.mask;
        if ready == 0 {
            return 0;
        }
        (1..=NSIG)
            .filter(|&s| {
                ready & bit(s) != 0 && is_handler(self.actions[usize::from(s - 1)].handler)
            })
            .fold(0, |m, s| m | bit(s))
    }

    /// Takes signal `sig` for delivery to `action`'s handler (see the module docs):
    /// applies the handler's mask and `SA_RESETHAND`, disarms an `SS_AUTODISARM`
    /// alternate stack, and returns the runtime's record.
    fn deliver(&mut self, sig: u8, action: SigAction, info: SigInfo) -> [u8; NEXT_RECORD] {
        let restore = self.saved_mask.take().unwrap_or(self.mask);
        let mut add = action.mask;
        if action.flags & SA_NODEFER == 0 {
            add |= bit(sig);
        }
        self.mask = (self.mask | add) & !UNBLOCKABLE;
        if action.flags & SA_RESETHAND != 0 {
            self.actions[usize::from(sig - 1)] = SigAction::default();
        }
        let alt = self.altstack;
        if alt.flags & SS_AUTODISARM != 0 {
            self.altstack = AltStack {
                sp: 0,
                flags: SS_DISABLE,
                size: 0,
            };
        }
        let mut r = [0u8; NEXT_RECORD];
        r[..128].copy_from_slice(&info.bytes(sig));
        let words = [
            action.handler,
            action.flags,
            action.restorer,
            action.mask,
            restore,
            alt.sp,
            alt.flags as u32 as u64,
            alt.size,
        ];
        for (i, w) in words.iter().enumerate() {
            r[128 + 8 * i..136 + 8 * i].copy_from_slice(&w.to_le_bytes());
        }
        r
    }
}

/// The part of a process's Linux state other processes look at (see the module docs).
#[derive(Debug)]
pub struct Shared {
    process: Weak<Process>,
    state: Mutex<SigState>,
    /// Set while a signal can be delivered, or once the process is being stopped (its
    /// stop token is forwarded here): what the runtime polls and the ABI's waits are
    /// interrupted by.
    wake: Interrupt,
    _stop: Forward,
}

/// Every live [`Shared`], by the address of its kernel process. A leaf lock.
static REGISTRY: Mutex<BTreeMap<usize, Weak<Shared>>> = Mutex::new(BTreeMap::new());

fn key(process: &Arc<Process>) -> usize {
    Arc::as_ptr(process) as usize
}

impl Shared {
    /// The state `process` starts a program image with, registered: what an `execve`
    /// carried over (mask, pending and ignored signals; see [`ExecSignals`]), every
    /// other disposition the default.
    pub(super) fn register(process: &Arc<Process>) -> Arc<Shared> {
        let carried = process.exec_signals();
        let mut actions = [SigAction::default(); NSIG as usize];
        for sig in 1..=NSIG {
            if carried.ignored & bit(sig) != 0 {
                actions[usize::from(sig - 1)].handler = SIG_IGN;
            }
        }
        Shared::install(
            process,
            SigState {
                actions,
                mask: carried.mask & !UNBLOCKABLE,
                pending: carried.pending,
                info: [SigInfo::default(); NSIG as usize],
                saved_mask: None,
                altstack: AltStack {
                    sp: 0,
                    flags: SS_DISABLE,
                    size: 0,
                },
            },
        )
    }

    /// What of this state an `execve` keeps (see [`ExecSignals`]).
    pub(super) fn exec_signals(&self) -> ExecSignals {
        let st = self.state();
        let ignored = (1..=NSIG)
            .filter(|&sig| st.actions[usize::from(sig - 1)].handler == SIG_IGN)
            .fold(0, |acc, sig| acc | bit(sig));
        ExecSignals {
            mask: st.mask,
            pending: st.pending,
            ignored,
        }
    }

    fn install(process: &Arc<Process>, state: SigState) -> Arc<Shared> {
        let wake = Interrupt::new();
        let stop = process.interrupt().forward(&wake);
        let shared = Arc::new(Shared {
            process: Arc::downgrade(process),
            state: Mutex::new(state),
            wake,
            _stop: stop,
        });
        lock(&REGISTRY).insert(key(process), Arc::downgrade(&shared));
        shared
    }

    /// A copy for a forked child (nothing pending), registered for `child`.
    pub(super) fn fork_into(&self, child: &Arc<Process>) -> Arc<Shared> {
        let mut state = self.state().clone();
        state.pending = 0;
        state.saved_mask = None;
        Shared::install(child, state)
    }

    /// Removes this state from the registry (its process image ended).
    pub(super) fn unregister(self: &Arc<Self>, process: &Arc<Process>) {
        let mut reg = lock(&REGISTRY);
        if reg
            .get(&key(process))
            .is_some_and(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(self)))
        {
            reg.remove(&key(process));
        }
    }

    /// The state, locked.
    pub fn state(&self) -> MutexGuard<'_, SigState> {
        lock(&self.state)
    }

    /// Whether a signal may be waiting for delivery (or the process is being stopped):
    /// one atomic load.
    pub fn wake_set(&self) -> bool {
        self.wake.is_interrupted()
    }

    /// Makes `sig` pending with `info` and, if a handler can run for it now, sets the
    /// wake token (which ends the process's blocking waits).
    fn post(&self, sig: u8, info: SigInfo) {
        let deliver = {
            let mut st = self.state();
            if st.pending & bit(sig) == 0 {
                st.info[usize::from(sig - 1)] = info;
            }
            st.pending |= bit(sig);
            st.mask & bit(sig) == 0 && is_handler(st.actions[usize::from(sig - 1)].handler)
        };
        if deliver {
            self.wake.interrupt();
        }
    }

    /// Sets or clears the wake token from the state (after the mask, a disposition or
    /// the pending set changed). Cleared under the state's lock, so a [`Shared::post`]
    /// that follows is never lost; kept set while the process is being stopped.
    fn refresh(&self) {
        let set = {
            let st = self.state();
            let stopping = self
                .process
                .upgrade()
                .is_some_and(|p| p.interrupt().is_interrupted());
            let set = st.deliverable() != 0 || stopping;
            if !set {
                self.wake.clear();
            }
            set
        };
        if set {
            self.wake.interrupt();
        }
    }
}

/// The registered state of `process`, if it runs a lifted program.
pub fn lookup(process: &Arc<Process>) -> Option<Arc<Shared>> {
    let shared = lock(&REGISTRY).get(&key(process))?.upgrade()?;
    shared
        .process
        .upgrade()
        .filter(|p| Arc::ptr_eq(p, process))
        .map(|_| shared)
}

/// The process group of `process`.
fn pgid_of(process: &Arc<Process>) -> Pid {
    process.pgid()
}

/// The session of `process`.
fn sid_of(process: &Arc<Process>) -> Pid {
    process.sid()
}

/// A signal number argument: 1..=64, or 0 where `zero_ok` (`EINVAL` otherwise).
fn signal_arg(raw: i32, zero_ok: bool) -> KResult<u8> {
    match u8::try_from(raw) {
        Ok(0) if zero_ok => Ok(0),
        Ok(s) if (1..=NSIG).contains(&s) => Ok(s),
        _ => Err(Errno::EINVAL),
    }
}

impl LinuxProcess {
    /// The Linux state other processes see.
    pub(super) fn sig(&self) -> MutexGuard<'_, SigState> {
        self.shared.state()
    }

    /// Ends `target` with signal `sig`'s status.
    fn terminate(&self, target: &Arc<Process>, sig: u8) {
        match &self.spawner {
            Some(s) => s.terminate(target, sig),
            None => target.interrupt().interrupt(),
        }
    }

    /// Sends `sig` to `target` as `kill` does (see [`send`]).
    pub(super) fn send_signal(&self, target: &Arc<Process>, sig: u8) {
        send(&self.kernel, target, sig, self.user_info(), &|t, s| {
            self.terminate(t, s)
        });
    }

    /// The `siginfo_t` of a signal this process sends (`SI_USER`, its pid, uid 0).
    fn user_info(&self) -> SigInfo {
        SigInfo {
            code: SI_USER,
            pid: self.process.pid(),
            ..SigInfo::default()
        }
    }

    /// The token the ABI's blocking waits are interrupted by: set when a signal can be
    /// delivered to a handler, or when the process is being stopped.
    pub(super) fn intr(&self) -> &Interrupt {
        &self.shared.wake
    }

    /// Whether a signal may be waiting for delivery (one atomic load): the engine asks
    /// before [`LinuxProcess::signal_next`].
    pub fn signal_waiting(&self) -> bool {
        self.shared.wake_set()
    }

    /// Signal_next implements the runtime's `signal_next(forced, out)` import: takes
    /// the next signal to deliver to a handler and writes the runtime's record
    /// ([`NEXT_RECORD`] bytes at `out` in `memory`); returns its number, 0 if there is
    /// none, `-EFAULT` if the record does not fit in memory.
    ///
    /// With `forced` 0, the lowest-numbered deliverable pending signal; pending
    /// signals met on the way that are now ignored are dropped, and one whose default
    /// action ends the process ends it. With `forced` a signal number, a synchronous
    /// fault the runtime raised (SIGSEGV, SIGFPE, SIGILL, SIGBUS, SIGTRAP): delivered if
    /// it has a handler and is not blocked; otherwise, as Linux's `force_sig`, its
    /// disposition is reset to `SIG_DFL` and it is unblocked, and 0 tells the runtime to
    /// end the process with it.
    pub fn signal_next(&mut self, memory: &mut [u8], forced: i32, out: u32) -> i32 {
        if forced == 0 && !self.shared.wake_set() {
            return 0;
        }
        let out = out as usize;
        let Some(dst) = memory.get_mut(out..out.saturating_add(NEXT_RECORD)) else {
            return -Errno::EFAULT.as_i32();
        };
        let mut fatal = None;
        let taken = {
            let mut st = self.shared.state();
            if forced != 0 {
                match signal_arg(forced, false) {
                    Err(_) => None,
                    Ok(sig) => {
                        let action = st.actions[usize::from(sig - 1)];
                        if is_handler(action.handler) && st.mask & bit(sig) == 0 {
                            let info = SigInfo {
                                code: SI_KERNEL,
                                ..SigInfo::default()
                            };
                            Some((sig, st.deliver(sig, action, info)))
                        } else {
                            st.actions[usize::from(sig - 1)].handler = SIG_DFL;
                            st.mask &= !bit(sig);
                            None
                        }
                    }
                }
            } else {
                loop {
                    let ready = st.pending & !st.mask;
                    let Some(sig) = (1..=NSIG).find(|&s| ready & bit(s) != 0) else {
                        // Nothing (more) to run: the mask rt_sigsuspend replaced is back.
                        if let Some(m) = st.saved_mask.take() {
                            st.mask = m;
                        }
                        break None;
                    };
                    st.pending &= !bit(sig);
                    let action = st.actions[usize::from(sig - 1)];
                    if is_handler(action.handler) {
                        let info = st.info[usize::from(sig - 1)];
                        break Some((sig, st.deliver(sig, action, info)));
                    }
                    if action.handler == SIG_DFL && default_action(sig) == DefaultAction::Terminate
                    {
                        fatal = Some(sig);
                        break None;
                    }
                }
            }
        };
        if let Some(sig) = fatal {
            let me = Arc::clone(&self.process);
            self.terminate(&me, sig);
        }
        self.shared.refresh();
        match taken {
            Some((sig, record)) => {
                dst.copy_from_slice(&record);
                i32::from(sig)
            }
            None => 0,
        }
    }

    /// After the mask or a disposition changed: a pending signal now unblocked whose
    /// action ends the process ends it (the first, by number).
    fn deliver_unblocked(&mut self) {
        let fatal = {
            let st = self.sig();
            let ready = st.pending & !st.mask;
            (1..=NSIG).find(|&s| {
                ready & bit(s) != 0
                    && st.actions[usize::from(s - 1)].handler == SIG_DFL
                    && default_action(s) == DefaultAction::Terminate
            })
        };
        if let Some(sig) = fatal {
            self.sig().pending &= !bit(sig);
            let me = Arc::clone(&self.process);
            self.terminate(&me, sig);
        }
        self.shared.refresh();
    }

    /// The running processes of process group `pgid`.
    fn group(&self, pgid: Pid) -> Vec<Arc<Process>> {
        let table = self.kernel.processes();
        table
            .pids()
            .into_iter()
            .filter(|&p| table.state(p) == Some(ProcState::Running))
            .filter_map(|p| table.get(p))
            .filter(|p| pgid_of(p) == pgid)
            .collect()
    }

    /// The process group of `pid` (0: the caller).
    pub(super) fn pgid(&self, pid: Pid) -> KResult<Pid> {
        if pid == 0 || pid == self.process.pid() {
            return Ok(self.process.pgid());
        }
        let p = self.kernel.processes().get(pid).ok_or(Errno::ESRCH)?;
        Ok(pgid_of(&p))
    }

    /// The session of `pid` (0: the caller).
    pub(super) fn sid(&self, pid: Pid) -> KResult<Pid> {
        if pid == 0 || pid == self.process.pid() {
            return Ok(self.process.sid());
        }
        let p = self.kernel.processes().get(pid).ok_or(Errno::ESRCH)?;
        Ok(sid_of(&p))
    }

    /// Setpgid implements setpgid(2) for the caller or one of its children.
    pub(super) fn set_pgid(&self, pid: Pid, pgid: Pid) -> KResult<()> {
        if pgid < 0 {
            return Err(Errno::EINVAL);
        }
        let me = self.process.pid();
        let pid = if pid == 0 { me } else { pid };
        let pgid = if pgid == 0 { pid } else { pgid };
        let target = self.kernel.processes().get(pid).ok_or(Errno::ESRCH)?;
        if pid != me && target.ppid() != me {
            return Err(Errno::ESRCH);
        }
        let my_sid = self.process.sid();
        if sid_of(&target) != my_sid {
            return Err(Errno::EPERM);
        }
        if sid_of(&target) == pid {
            // A session leader cannot move.
            return Err(Errno::EPERM);
        }
        if pgid != pid && !self.group(pgid).iter().any(|p| sid_of(p) == my_sid) {
            return Err(Errno::EPERM);
        }
        target.set_pgid(pgid);
        Ok(())
    }
}

/// Sends `sig` to `target` as `kill` does (see the module docs): a handler's signal
/// or a blocked one is made pending with `info`, an ignored one dropped, a default
/// termination done through `terminate` (which records the signal as the exit
/// status). Signal 0 only checks. A zombie takes any signal and ignores it.
fn send(
    kernel: &Kernel,
    target: &Arc<Process>,
    sig: u8,
    info: SigInfo,
    terminate: &dyn Fn(&Arc<Process>, u8),
) {
    if sig == 0 || kernel.processes().state(target.pid()) != Some(ProcState::Running) {
        return;
    }
    if sig == SIGKILL {
        terminate(target, sig);
        return;
    }
    let shared = lookup(target);
    let (handler, blocked) = match &shared {
        Some(s) => {
            let st = s.state();
            (
                st.actions[usize::from(sig - 1)].handler,
                st.mask & bit(sig) != 0,
            )
        }
        // A program without a Linux state (WASI) keeps what its exec carried: a
        // shell's background job ignores SIGINT whatever it runs.
        None => {
            let carried = target.exec_signals();
            let handler = if carried.ignored & bit(sig) != 0 {
                SIG_IGN
            } else {
                SIG_DFL
            };
            (handler, carried.mask & bit(sig) != 0)
        }
    };
    match handler {
        SIG_IGN => {}
        SIG_DFL => match default_action(sig) {
            DefaultAction::Ignore | DefaultAction::Stop => {}
            DefaultAction::Terminate if blocked => {
                if let Some(s) = &shared {
                    s.post(sig, info);
                }
            }
            DefaultAction::Terminate => terminate(target, sig),
        },
        _ => {
            if let Some(s) = &shared {
                s.post(sig, info);
            }
        }
    }
}

/// Sends `sig` (1..=64) from the host, as a `kill` from outside the container: to
/// process `pid`, or with `group` to every running process of process group `pid`
/// (as a terminal's ^C reaches its foreground group). `terminate` ends a process
/// whose default action is to terminate (the launcher's, so the signal becomes its
/// exit status). Returns how many processes it was sent to.
pub fn host_kill(
    kernel: &Kernel,
    pid: Pid,
    group: bool,
    sig: u8,
    terminate: &dyn Fn(&Arc<Process>, u8),
) -> usize {
    if !(1..=NSIG).contains(&sig) {
        return 0;
    }
    let table = kernel.processes();
    let targets: Vec<Arc<Process>> = table
        .pids()
        .into_iter()
        .filter(|&p| table.state(p) == Some(ProcState::Running))
        .filter_map(|p| table.get(p))
        .filter(|p| {
            if group {
                p.pgid() == pid
            } else {
                p.pid() == pid
            }
        })
        .collect();
    // The sender is the host: pid 0, as for a signal from the kernel.
    let info = SigInfo {
        code: SI_USER,
        ..SigInfo::default()
    };
    for t in &targets {
        send(kernel, t, sig, info, terminate);
    }
    targets.len()
}

/// Rt_sigaction implements Linux syscall rt_sigaction(2):
/// `rt_sigaction(sig, act, oldact, sigsetsize)`.
pub(super) fn rt_sigaction(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    if a.u64(3) != SIGSET_SIZE {
        return Err(Errno::EINVAL.into());
    }
    let sig = signal_arg(a.int(0), false)?;
    let (act, oldact) = (a.ptr(1), a.ptr(2));
    let new = if act != 0 {
        if bit(sig) & UNBLOCKABLE != 0 {
            return Err(Errno::EINVAL.into());
        }
        Some(SigAction {
            handler: mem.u64(act)?,
            flags: mem.u64(act + 8)?,
            restorer: mem.u64(act + 16)?,
            mask: mem.u64(act + 24)? & !UNBLOCKABLE,
        })
    } else {
        None
    };
    if oldact != 0 {
        mem.check(oldact, 32)?;
    }
    let old = {
        let mut st = lp.sig();
        let slot = &mut st.actions[usize::from(sig - 1)];
        let old = *slot;
        if let Some(new) = new {
            *slot = new;
            let discard = new.handler == SIG_IGN
                || (new.handler == SIG_DFL && default_action(sig) != DefaultAction::Terminate);
            if discard {
                st.pending &= !bit(sig);
            }
        }
        old
    };
    if oldact != 0 {
        let mut out = [0u8; 32];
        out[0..8].copy_from_slice(&old.handler.to_le_bytes());
        out[8..16].copy_from_slice(&old.flags.to_le_bytes());
        out[16..24].copy_from_slice(&old.restorer.to_le_bytes());
        out[24..32].copy_from_slice(&old.mask.to_le_bytes());
        mem.write(oldact, &out)?;
    }
    lp.deliver_unblocked();
    Ok(0)
}

/// Rt_sigprocmask implements Linux syscall rt_sigprocmask(2):
/// `rt_sigprocmask(how, set, oldset, sigsetsize)`.
pub(super) fn rt_sigprocmask(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    if a.u64(3) != SIGSET_SIZE {
        return Err(Errno::EINVAL.into());
    }
    let (set, oldset) = (a.ptr(1), a.ptr(2));
    let new = if set != 0 {
        let how = a.int(0);
        if !(0..=2).contains(&how) {
            return Err(Errno::EINVAL.into());
        }
        Some((how, mem.u64(set)?))
    } else {
        None
    };
    if oldset != 0 {
        mem.check(oldset, 8)?;
    }
    let old = {
        let mut st = lp.sig();
        let old = st.mask;
        if let Some((how, set)) = new {
            st.mask = match how {
                0 => old | set,
                1 => old & !set,
                _ => set,
            } & !UNBLOCKABLE;
        }
        old
    };
    if oldset != 0 {
        mem.put_u64(oldset, old)?;
    }
    lp.deliver_unblocked();
    Ok(0)
}

/// Rt_sigpending implements Linux syscall rt_sigpending(2): the pending signals that
/// are blocked.
pub(super) fn rt_sigpending(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    if a.u64(1) > SIGSET_SIZE {
        return Err(Errno::EINVAL.into());
    }
    let set = {
        let st = lp.sig();
        st.pending & st.mask
    };
    let bytes = set.to_le_bytes();
    mem.write(a.ptr(0), &bytes[..a.u64(1) as usize])?;
    Ok(0)
}

/// Rt_sigtimedwait implements Linux syscall rt_sigtimedwait(2):
/// `rt_sigtimedwait(set, info, timeout, sigsetsize)` takes a pending signal of `set`.
pub(super) fn rt_sigtimedwait(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    if a.u64(3) != SIGSET_SIZE {
        return Err(Errno::EINVAL.into());
    }
    let set = mem.u64(a.ptr(0))? & !UNBLOCKABLE;
    let deadline = match a.ptr(2) {
        0 => None,
        t => {
            let ns = structs::timespec_duration(mem.i64(t)?, mem.i64(t + 8)?)?;
            Some(Instant::now().checked_add(Duration::from_nanos(ns)))
        }
    };
    loop {
        let taken = {
            let mut st = lp.sig();
            let ready = st.pending & set;
            let sig = (1..=NSIG).find(|&s| ready & bit(s) != 0);
            if let Some(s) = sig {
                st.pending &= !bit(s);
            }
            sig
        };
        if let Some(sig) = taken {
            if a.ptr(1) != 0 {
                let mut info = [0u8; 128];
                info[0..4].copy_from_slice(&i32::from(sig).to_le_bytes());
                mem.write(a.ptr(1), &info)?;
            }
            return Ok(i64::from(sig));
        }
        let now = Instant::now();
        let slice = now + SIGWAIT_RECHECK;
        let until = match deadline {
            Some(Some(d)) if d <= now => return Err(Errno::EAGAIN.into()),
            Some(Some(d)) => d.min(slice),
            // Beyond representable time, or no timeout: re-check every slice.
            _ => slice,
        };
        poll::sleep_until(lp.intr(), Some(until))?;
    }
}

/// Pause implements Linux syscall pause(2): waits until a signal is delivered to a
/// handler (`EINTR`) or the process ends.
pub(super) fn pause(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, _a: Args) -> SysResult {
    poll::sleep_until(lp.intr(), None)?;
    Err(Errno::EINTR.into())
}

/// Rt_sigsuspend implements Linux syscall rt_sigsuspend(2): `rt_sigsuspend(mask,
/// sigsetsize)` replaces the mask until a signal is delivered to a handler (the old
/// mask is saved in that signal's frame, so `rt_sigreturn` restores it); always `EINTR`.
pub(super) fn rt_sigsuspend(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    if a.u64(1) != SIGSET_SIZE {
        return Err(Errno::EINVAL.into());
    }
    let set = mem.u64(a.ptr(0))? & !UNBLOCKABLE;
    {
        let mut st = lp.sig();
        if st.saved_mask.is_none() {
            st.saved_mask = Some(st.mask);
        }
        st.mask = set;
    }
    lp.deliver_unblocked();
    poll::sleep_until(lp.intr(), None)?;
    Err(Errno::EINTR.into())
}

/// Tells the parent of `child` (which is exiting with `status`) with `SIGCHLD`, if the
/// parent runs a lifted program that catches it (its default action is to ignore it).
/// Called by whoever ends a process, between its becoming a zombie and its parent's
/// wait waking (`ProcessTable::exit_with`), as on Linux.
pub fn child_exited(kernel: &Kernel, child: Pid, status: ExitStatus) {
    const CLD_EXITED: i32 = 1;
    const CLD_KILLED: i32 = 2;
    let table = kernel.processes();
    let Some(parent) = table.get(child).and_then(|c| table.get(c.ppid())) else {
        return;
    };
    let Some(shared) = lookup(&parent) else {
        return;
    };
    let handler = shared.state().actions[usize::from(SIGCHLD - 1)].handler;
    if !is_handler(handler) {
        return;
    }
    let (code, value) = match status {
        ExitStatus::Exited(c) => (CLD_EXITED, i32::from(c)),
        ExitStatus::Signaled(s) => (CLD_KILLED, i32::from(s)),
    };
    shared.post(
        SIGCHLD,
        SigInfo {
            code,
            pid: child,
            uid: 0,
            status: value,
        },
    );
}

/// Sigaltstack implements Linux syscall sigaltstack(2): `sigaltstack(ss, old_ss)`.
pub(super) fn sigaltstack(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let (ss, old) = (a.ptr(0), a.ptr(1));
    let new = if ss != 0 {
        let st = AltStack {
            sp: mem.u64(ss)?,
            flags: mem.i32(ss + 8)?,
            size: mem.u64(ss + 16)?,
        };
        let mode = st.flags & !SS_AUTODISARM;
        if mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK {
            return Err(Errno::EINVAL.into());
        }
        if mode != SS_DISABLE && st.size < MINSIGSTKSZ {
            return Err(Errno::ENOMEM.into());
        }
        Some(st)
    } else {
        None
    };
    if old != 0 {
        mem.check(old, 24)?;
    }
    let prev = {
        let mut st = lp.sig();
        let prev = st.altstack;
        if let Some(mut new) = new {
            if new.flags & !SS_AUTODISARM == SS_DISABLE {
                new = AltStack {
                    sp: 0,
                    flags: SS_DISABLE,
                    size: 0,
                };
            } else {
                new.flags &= SS_AUTODISARM;
            }
            st.altstack = new;
        }
        prev
    };
    if old != 0 {
        let mut out = [0u8; 24];
        out[0..8].copy_from_slice(&prev.sp.to_le_bytes());
        out[8..12].copy_from_slice(&prev.flags.to_le_bytes());
        out[16..24].copy_from_slice(&prev.size.to_le_bytes());
        mem.write(old, &out)?;
    }
    Ok(0)
}

/// Kill implements Linux syscall kill(2) for the container's processes: a pid, the
/// caller's group (0), every other process but pid 1 (-1), or a group (< -1).
pub(super) fn kill(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    let sig = signal_arg(a.int(1), true)?;
    let pid = a.int(0);
    let me = lp.process.pid();
    let targets: Vec<Arc<Process>> = match pid {
        p if p > 0 => vec![lp.kernel.processes().get(p).ok_or(Errno::ESRCH)?],
        0 => lp.group(lp.process.pgid()),
        -1 => {
            let table = lp.kernel.processes();
            table
                .pids()
                .into_iter()
                .filter(|&p| p != 1 && p != me && table.state(p) == Some(ProcState::Running))
                .filter_map(|p| table.get(p))
                .collect()
        }
        // i32::MIN has no group: -i32::MIN overflows, and Linux says ESRCH.
        p => lp.group(p.checked_neg().ok_or(Errno::ESRCH)?),
    };
    if targets.is_empty() {
        return Err(Errno::ESRCH.into());
    }
    // The caller last: signalling itself may end it.
    let (me_too, others): (Vec<_>, Vec<_>) = targets.into_iter().partition(|p| p.pid() == me);
    for t in others.iter().chain(&me_too) {
        lp.send_signal(t, sig);
    }
    Ok(0)
}

/// Tkill implements Linux syscall tkill(2): one thread per process, so the process.
pub(super) fn tkill(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    if a.int(0) <= 0 {
        return Err(Errno::EINVAL.into());
    }
    kill(lp, mem, Args([a.raw(0), a.raw(1), 0, 0, 0, 0]))
}

/// Tgkill implements Linux syscall tgkill(2): `tgkill(tgid, tid, sig)`; a process's only
/// thread has its pid as tid.
pub(super) fn tgkill(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let (tgid, tid) = (a.int(0), a.int(1));
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL.into());
    }
    signal_arg(a.int(2), true)?;
    if tgid != tid {
        return Err(Errno::ESRCH.into());
    }
    kill(lp, mem, Args([a.raw(1), a.raw(2), 0, 0, 0, 0]))
}
