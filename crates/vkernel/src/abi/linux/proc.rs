//! Process calls: ids and credentials, process groups and sessions, `exit`, `wait4` and
//! `waitid`, resource limits and usage, scheduling answers for a one-CPU machine,
//! `uname`, `sysinfo`, `getrandom`, `prctl`, capabilities.
//!
//! Credentials are root's (the kernel core checks no permissions): the `get*id` calls
//! say 0, and the `set*id` calls accept 0 (a no-op) and refuse anything else with
//! `EPERM`: the vkernel cannot become another user, and saying it did would be a lie a
//! program could act on.

use std::sync::Arc;
use std::time::Duration;

use super::memory::Mem;
use super::{Args, Fail, LinuxProcess, SysResult, signal, structs, time};
use crate::abi::wasi_p1::{ExecTarget, HostExit};
use crate::kernel::vfs::{Inode, View};
use crate::kernel::{Errno, ExitStatus, KResult, Kernel, Pid, ProcState, WaitFor};

/// The number of resource limits (`RLIM_NLIMITS`).
pub const RLIM_NLIMITS: usize = 16;
/// `RLIM_INFINITY`.
pub const RLIM_INFINITY: u64 = u64::MAX;
pub const RLIMIT_NOFILE: usize = 7;

/// One resource limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    pub cur: u64,
    pub max: u64,
}

/// Linux's defaults for a process started by a container runtime, with the kernel
/// core's own fd and process limits for `RLIMIT_NOFILE` and `RLIMIT_NPROC`.
pub fn default_rlimits(kernel: &Kernel) -> [Rlimit; RLIM_NLIMITS] {
    const INF: Rlimit = Rlimit {
        cur: RLIM_INFINITY,
        max: RLIM_INFINITY,
    };
    let fixed = |v: u64| Rlimit { cur: v, max: v };
    let limits = kernel.limits();
    [
        INF, // CPU
        INF, // FSIZE
        INF, // DATA
        Rlimit {
            cur: 8 << 20,
            max: RLIM_INFINITY,
        }, // STACK
        Rlimit {
            cur: 0,
            max: RLIM_INFINITY,
        }, // CORE
        INF, // RSS
        fixed(limits.max_processes as u64), // NPROC
        fixed(limits.max_open_files as u64), // NOFILE
        fixed(8 << 20), // MEMLOCK
        INF, // AS
        INF, // LOCKS
        fixed(63_704), // SIGPENDING
        fixed(819_200), // MSGQUEUE
        fixed(0), // NICE
        fixed(0), // RTPRIO
        INF, // RTTIME
    ]
}

/// What `prctl` records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prctl {
    pub pdeathsig: i32,
    pub not_dumpable: bool,
    pub no_new_privs: bool,
    pub subreaper: bool,
}

/// The RAM `sysinfo` reports: the vkernel does not know the container's memory limit
/// here, and 1 GiB is what a small container has.
const SYSINFO_RAM: u64 = 1 << 30;

/// Docker's default capability set (`CapEff` 0xa80425fb): CHOWN, DAC_OVERRIDE, FOWNER,
/// FSETID, KILL, SETGID, SETUID, SETPCAP, NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD,
/// AUDIT_WRITE, SETFCAP.
pub const CAPS: u32 = 0xa804_25fb;

impl LinuxProcess {
    /// The soft `RLIMIT_NOFILE`.
    pub(super) fn rlimit_nofile(&self) -> u64 {
        self.rlimits[RLIMIT_NOFILE].cur
    }

    /// The resource index of argument `i` (`EINVAL` out of range).
    fn resource(a: Args, i: usize) -> KResult<usize> {
        usize::try_from(a.uint(i))
            .ok()
            .filter(|&r| r < RLIM_NLIMITS)
            .ok_or(Errno::EINVAL)
    }

    /// Sets a limit (`EINVAL` for cur > max; `EPERM` for an fd limit above what the core
    /// gives a process). The soft fd limit is the fd table's.
    fn set_rlimit(&mut self, resource: usize, new: Rlimit) -> KResult<()> {
        if new.cur > new.max {
            return Err(Errno::EINVAL);
        }
        if resource == RLIMIT_NOFILE && new.max > self.kernel.limits().max_open_files as u64 {
            return Err(Errno::EPERM);
        }
        if let Some(slot) = self.rlimits.get_mut(resource) {
            *slot = new;
        }
        if resource == RLIMIT_NOFILE {
            // The fd table enforces the soft limit (open, dup2, F_DUPFD ...). It is at
            // most the core's limit, checked above.
            let soft = usize::try_from(new.cur).unwrap_or(usize::MAX);
            self.process.fds().set_limit(soft);
        }
        Ok(())
    }

    /// The pid argument of a call about "a process, 0 for the caller": checked to exist.
    fn pid_arg(&self, pid: i32) -> KResult<Pid> {
        match pid {
            0 => Ok(self.process.pid()),
            p if p < 0 => Err(Errno::EINVAL),
            p if self.kernel.processes().get(p).is_some() => Ok(p),
            _ => Err(Errno::ESRCH),
        }
    }

    /// The container's hostname: the first line of the image's `/etc/hostname`.
    pub(super) fn hostname(&self) -> Vec<u8> {
        let vfs = self.kernel.vfs();
        let name = vfs
            .lookup(vfs.root(), b"/etc/hostname", true)
            .and_then(|i| i.read_contents())
            .ok()
            .and_then(|c| {
                let line = c.bytes.split(|&b| b == b'\n').next()?.trim_ascii().to_vec();
                (!line.is_empty()).then_some(line)
            });
        name.unwrap_or_else(|| b"localhost".to_vec())
    }
}

fn ok(v: impl Into<i64>) -> SysResult {
    Ok(v.into())
}

/// Getpid implements Linux syscalls getpid(2) and gettid(2) (one thread: tid = pid).
pub(super) fn getpid(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, _a: Args) -> SysResult {
    ok(lp.process.pid())
}

/// Getppid implements Linux syscall getppid(2) (0 for a process the host started).
pub(super) fn getppid(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, _a: Args) -> SysResult {
    ok(lp.process.ppid())
}

/// Getuid implements getuid(2) and geteuid(2): root.
pub(super) fn getuid(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, _a: Args) -> SysResult {
    ok(0)
}

/// Getgid implements getgid(2) and getegid(2): root.
pub(super) fn getgid(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, _a: Args) -> SysResult {
    ok(0)
}

/// An id argument of the set*id calls: 0 or -1 (unchanged) succeed.
fn same_id(raw: u32) -> KResult<()> {
    if raw == 0 || raw == u32::MAX {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

/// Setuid implements setuid(2) (and setgid(2)): only to root.
pub(super) fn setuid(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    if a.uint(0) == u32::MAX {
        return Err(Errno::EINVAL.into());
    }
    same_id(a.uint(0))?;
    ok(0)
}

/// Setgid implements setgid(2): only to root's group.
pub(super) fn setgid(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    setuid(lp, mem, a)
}

/// Setreuid implements setreuid(2) and setregid(2).
pub(super) fn setreuid(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    same_id(a.uint(0))?;
    same_id(a.uint(1))?;
    ok(0)
}

/// Setresuid implements setresuid(2) and setresgid(2).
pub(super) fn setresuid(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    for i in 0..3 {
        same_id(a.uint(i))?;
    }
    ok(0)
}

/// Getresuid implements getresuid(2) and getresgid(2): three zeros.
pub(super) fn getresuid(_lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    for i in 0..3 {
        mem.check(a.ptr(i), 4)?;
    }
    for i in 0..3 {
        mem.put_u32(a.ptr(i), 0)?;
    }
    ok(0)
}

/// Setfsuid implements setfsuid(2) and setfsgid(2): the previous id, root's.
pub(super) fn setfsuid(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, _a: Args) -> SysResult {
    ok(0)
}

/// Getgroups implements getgroups(2): root in a container has no supplementary groups.
pub(super) fn getgroups(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    if a.int(0) < 0 {
        return Err(Errno::EINVAL.into());
    }
    ok(0)
}

/// Setgroups implements setgroups(2): only root's own groups (none, or 0).
pub(super) fn setgroups(_lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let n = a.u64(0);
    if n > 65_536 {
        return Err(Errno::EINVAL.into());
    }
    if n > 0 {
        let list = mem.bytes(a.ptr(1), 4 * n)?;
        if list.iter().any(|&b| b != 0) {
            return Err(Errno::EPERM.into());
        }
    }
    ok(0)
}

/// Getpgrp implements getpgrp(2).
pub(super) fn getpgrp(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, _a: Args) -> SysResult {
    ok(lp.process.pgid())
}

/// Getpgid implements getpgid(2).
pub(super) fn getpgid(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    if a.int(0) < 0 {
        return Err(Errno::ESRCH.into());
    }
    ok(lp.pgid(a.int(0))?)
}

/// Setpgid implements setpgid(2).
pub(super) fn setpgid(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    if a.int(0) < 0 {
        return Err(Errno::EINVAL.into());
    }
    lp.set_pgid(a.int(0), a.int(1))?;
    ok(0)
}

/// Getsid implements getsid(2).
pub(super) fn getsid(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    if a.int(0) < 0 {
        return Err(Errno::ESRCH.into());
    }
    ok(lp.sid(a.int(0))?)
}

/// Setsid implements setsid(2): `EPERM` for a process-group leader.
pub(super) fn setsid(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, _a: Args) -> SysResult {
    let pid = lp.process.pid();
    if lp.process.pgid() == pid {
        return Err(Errno::EPERM.into());
    }
    lp.process.set_sid();
    ok(pid)
}

/// Exit implements Linux syscalls exit(2) and exit_group(2) (one thread: both end the
/// process) with the status's low 8 bits.
pub(super) fn exit(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    Err(Fail::Exit(HostExit::Exit(a.int(0) & 0xff)))
}

/// The most bytes of argv and environment strings (with their pointers) an `execve`
/// takes, as Linux's default `ARG_MAX` (a quarter of an 8 MiB stack).
const ARG_MAX: usize = 2 << 20;

/// Reads a NULL-terminated array of string pointers (`argv`, `envp`) at `addr` (NULL:
/// empty); `E2BIG` past [`ARG_MAX`] bytes in all.
fn string_array(mem: &Mem<'_>, addr: u64, budget: &mut usize) -> Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    for i in 0.. {
        let ptr = mem.u64(addr + 8 * i)?;
        if ptr == 0 {
            break;
        }
        let s = mem.cstr(ptr, *budget)?;
        let cost = s.len() + 1 + 8;
        if cost > *budget {
            return Err(Errno::E2BIG);
        }
        *budget -= cost;
        out.push(s);
    }
    Ok(out)
}

/// Execve implements Linux syscall execve(2) (and execveat(2) with a path): the exec
/// gate (through the container's launcher, as a spawn) decides what may run; the kernel
/// process takes the new argv and environment and closes its close-on-exec fds; caught
/// signals go back to their default action (ignored ones stay ignored); and the
/// process goes on in a new instance of the allowed program (the engine's part). A
/// denied program is `EACCES`, as Linux answers a file without execute permission. A
/// `#!` script runs its interpreter ([`interpreted`]).
pub(super) fn execve(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    exec_common(lp, mem, a.ptr(0), a.ptr(1), a.ptr(2))
}

/// Execveat implements Linux syscall execveat(2) for an absolute path, or a path
/// relative to `AT_FDCWD`; a directory fd or `AT_EMPTY_PATH` is `ENOSYS`.
pub(super) fn execveat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    const AT_FDCWD: i32 = -100;
    let path = mem.path(a.ptr(1))?;
    if a.int(0) != AT_FDCWD && path.first() != Some(&b'/') {
        return Err(Errno::ENOSYS.into());
    }
    exec_common(lp, mem, a.ptr(1), a.ptr(2), a.ptr(3))
}

fn exec_common(
    lp: &mut LinuxProcess,
    mem: &mut Mem<'_>,
    path: u64,
    argv: u64,
    envp: u64,
) -> SysResult {
    let path = mem.path(path)?;
    if path.is_empty() {
        return Err(Errno::ENOENT.into());
    }
    let mut budget = ARG_MAX;
    let argv = string_array(mem, argv, &mut budget)?;
    let envp = string_array(mem, envp, &mut budget)?;
    let Some(spawner) = lp.spawner.clone() else {
        return Err(Errno::ENOSYS.into());
    };
    let Interpreted { script, path, argv } = interpreted(
        &lp.kernel.vfs().view(lp.process.pid()),
        &lp.process.cwd(),
        path,
        argv,
        &mut budget,
    )?;
    let allowed = spawner.check_exec(&lp.process, &path)?;
    let env: Vec<(Vec<u8>, Vec<u8>)> = envp
        .into_iter()
        .map(|kv| match kv.iter().position(|&b| b == b'=') {
            Some(i) => (kv[..i].to_vec(), kv[i + 1..].to_vec()),
            None => (kv, Vec::new()),
        })
        .collect();
    lp.process.execve(argv.clone(), env);
    // A script's process is named for the script, as Linux names it (its exe is the
    // interpreter).
    lp.process
        .set_image(script.as_deref().unwrap_or(&path), allowed.path);
    lp.exec_image();
    Err(Fail::Exit(HostExit::Exec(Box::new(ExecTarget {
        dispatch_id: allowed.dispatch_id,
        memory_export: allowed.memory_export,
        argv,
    }))))
}

/// The most `#!` interpreters one exec goes through before `ELOOP` (Linux's
/// `BINPRM_MAX_RECURSION`, counted as binfmt_script counts it).
const MAX_INTERPRETERS: usize = 4;

/// How much of a file's start an exec reads for its `#!` line (Linux's
/// `BINPRM_BUF_SIZE`): a longer line is cut there.
const SHEBANG_MAX: usize = 256;

/// What an exec of `path` with `argv` runs, as Linux's binfmt_script rewrites it: a
/// file starting with `#!interpreter [arg]` runs `interpreter` with argv
/// `[interpreter, arg?, path, argv[1..]]` (and an interpreter may be a script in turn);
/// a program (ELF or WASM) runs as it is, through the exec gate; anything else is
/// `ENOEXEC`, on which a shell runs the file itself.
///
/// The gate still decides what runs: the interpreter, by its path and hash. A script is
/// data for it, as it is when a shell is handed the script as an argument.
fn interpreted(
    vfs: &View<'_>,
    cwd: &Arc<Inode>,
    mut path: Vec<u8>,
    mut argv: Vec<Vec<u8>>,
    budget: &mut usize,
) -> KResult<Interpreted> {
    let mut script = None;
    for _ in 0..=MAX_INTERPRETERS {
        // ENOENT, ENOTDIR, EACCES (no execute bit, not a regular file) come first.
        let inode = vfs.exec_lookup(cwd, &path)?;
        let contents = inode.read_contents()?;
        let head = &contents.bytes[..contents.bytes.len().min(SHEBANG_MAX)];
        let Some(line) = head.strip_prefix(b"#!") else {
            if head.starts_with(b"\x7fELF") || head.starts_with(b"\0asm") {
                return Ok(Interpreted { script, path, argv });
            }
            return Err(Errno::ENOEXEC);
        };
        let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
        let blank = |b: &u8| *b == b' ' || *b == b'\t';
        let line = trim(line, blank);
        let (interpreter, arg) = match line.iter().position(blank) {
            Some(i) => (
                &line[..i],
                Some(trim(&line[i..], blank)).filter(|a| !a.is_empty()),
            ),
            None => (line, None),
        };
        if interpreter.is_empty() {
            return Err(Errno::ENOEXEC);
        }
        let mut next = vec![interpreter.to_vec()];
        next.extend(arg.map(<[u8]>::to_vec));
        // The words added count against ARG_MAX as execve's own do.
        let added: usize = next.iter().map(|w| w.len() + 1 + 8).sum::<usize>() + path.len() + 1 + 8;
        let dropped = argv.first().map_or(0, |a0| a0.len() + 1 + 8);
        *budget = (*budget + dropped).checked_sub(added).ok_or(Errno::E2BIG)?;
        next.push(path.clone());
        next.extend(argv.into_iter().skip(1));
        script.get_or_insert(path);
        path = interpreter.to_vec();
        argv = next;
    }
    Err(Errno::ELOOP)
}

/// What an exec runs once `#!` lines are followed ([`interpreted`]).
#[derive(Debug, PartialEq, Eq)]
struct Interpreted {
    /// The script exec'd, if it was one (the process is named for it).
    script: Option<Vec<u8>>,
    /// The program to run, and its argv.
    path: Vec<u8>,
    argv: Vec<Vec<u8>>,
}

/// `s` without the leading and trailing bytes that match `strip`.
fn trim(s: &[u8], strip: impl Fn(&u8) -> bool) -> &[u8] {
    let start = s.iter().position(|b| !strip(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !strip(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

/// `wait4`/`waitid` option bits.
mod wopt {
    pub const WNOHANG: u32 = 1;
    pub const WUNTRACED: u32 = 2;
    pub const WEXITED: u32 = 4;
    pub const WCONTINUED: u32 = 8;
    pub const WNOWAIT: u32 = 0x0100_0000;
    pub const WNOTHREAD: u32 = 0x2000_0000;
    pub const WALL: u32 = 0x4000_0000;
    pub const WCLONE: u32 = 0x8000_0000;
}

/// Wait4 implements Linux syscall wait4(2): `wait4(pid, wstatus, options, rusage)`.
pub(super) fn wait4(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    use wopt::*;
    let options = a.uint(2);
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE) != 0 {
        return Err(Errno::EINVAL.into());
    }
    let which = match a.int(0) {
        p if p > 0 => WaitFor::Pid(p),
        // -1: any child; 0 and < -1 (process groups): any child too (see the table).
        _ => WaitFor::Any,
    };
    let (wstatus, rusage) = (a.ptr(1), a.ptr(3));
    if wstatus != 0 {
        mem.check(wstatus, 4)?;
    }
    if rusage != 0 {
        mem.check(rusage, structs::RUSAGE_SIZE as u64)?;
    }
    let reaped =
        lp.kernel
            .processes()
            .wait(lp.process.pid(), which, options & WNOHANG != 0, lp.intr())?;
    let Some((pid, status)) = reaped else {
        return ok(0);
    };
    if wstatus != 0 {
        mem.put_i32(wstatus, status.wait_status())?;
    }
    if rusage != 0 {
        mem.write(rusage, &structs::rusage(0))?;
    }
    ok(pid)
}

/// `siginfo_t` of a child's end, as waitid fills it (128 bytes).
fn child_siginfo(pid: Pid, status: ExitStatus) -> [u8; 128] {
    const CLD_EXITED: i32 = 1;
    const CLD_KILLED: i32 = 2;
    let (code, value) = match status {
        ExitStatus::Exited(c) => (CLD_EXITED, i32::from(c)),
        ExitStatus::Signaled(s) => (CLD_KILLED, i32::from(s)),
    };
    let mut info = [0u8; 128];
    info[0..4].copy_from_slice(&i32::from(signal::SIGCHLD).to_le_bytes());
    info[8..12].copy_from_slice(&code.to_le_bytes());
    info[16..20].copy_from_slice(&pid.to_le_bytes());
    info[24..28].copy_from_slice(&value.to_le_bytes());
    info
}

/// How often a `waitid(WNOWAIT)` looks again for an exited child (the process table
/// has no wait that leaves the zombie in place).
const WNOWAIT_RECHECK: Duration = Duration::from_millis(20);

/// Waitid implements Linux syscall waitid(2): `waitid(idtype, id, infop, options,
/// rusage)`.
pub(super) fn waitid(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    use wopt::*;
    const P_ALL: u32 = 0;
    const P_PID: u32 = 1;
    const P_PGID: u32 = 2;
    let options = a.uint(3);
    if options & !(WNOHANG | WUNTRACED | WEXITED | WCONTINUED | WNOWAIT | WNOTHREAD | WALL | WCLONE)
        != 0
        || options & (WEXITED | WUNTRACED | WCONTINUED) == 0
    {
        return Err(Errno::EINVAL.into());
    }
    let which = match a.uint(0) {
        P_ALL | P_PGID => WaitFor::Any,
        P_PID if a.int(1) > 0 => WaitFor::Pid(a.int(1)),
        _ => return Err(Errno::EINVAL.into()),
    };
    let (infop, rusage) = (a.ptr(2), a.ptr(4));
    if infop != 0 {
        mem.check(infop, 128)?;
    }
    if rusage != 0 {
        mem.check(rusage, structs::RUSAGE_SIZE as u64)?;
    }
    let me = lp.process.pid();
    let nohang = options & WNOHANG != 0 || options & WEXITED == 0;
    let found = if options & WNOWAIT != 0 {
        loop {
            let table = lp.kernel.processes();
            let children: Vec<Pid> = table
                .pids()
                .into_iter()
                .filter(|&p| table.get(p).is_some_and(|c| c.ppid() == me))
                .filter(|&p| which == WaitFor::Any || which == WaitFor::Pid(p))
                .collect();
            if children.is_empty() {
                return Err(Errno::ECHILD.into());
            }
            let zombie = children.iter().find_map(|&p| match table.state(p) {
                Some(ProcState::Zombie(s)) => Some((p, s)),
                _ => None,
            });
            if zombie.is_some() || nohang {
                break zombie;
            }
            super::poll::sleep_until(lp.intr(), Some(std::time::Instant::now() + WNOWAIT_RECHECK))?;
        }
    } else if options & WEXITED == 0 {
        // Only stopped or continued children asked for: none ever are (no job control).
        lp.kernel.processes().wait(me, which, true, lp.intr())?;
        None
    } else {
        lp.kernel.processes().wait(me, which, nohang, lp.intr())?
    };
    if infop != 0 {
        let info = match found {
            Some((pid, status)) => child_siginfo(pid, status),
            None => [0u8; 128],
        };
        mem.write(infop, &info)?;
    }
    if rusage != 0 {
        mem.write(rusage, &structs::rusage(0))?;
    }
    ok(0)
}

/// Umask implements Linux syscall umask(2): returns the previous mask.
pub(super) fn umask(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    ok(lp.process.set_umask(a.uint(0) & 0o777))
}

/// Uname implements Linux syscall uname(2).
pub(super) fn uname(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let host = lp.hostname();
    let uts = structs::utsname([
        b"Linux",
        &host,
        b"6.1.0-recompiler",
        b"#1 SMP PREEMPT_DYNAMIC recompiler",
        b"x86_64",
        b"(none)",
    ]);
    mem.write(a.ptr(0), &uts)?;
    ok(0)
}

/// Sethostname implements sethostname(2) and setdomainname(2): `EPERM`.
pub(super) fn sethostname(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, _a: Args) -> SysResult {
    Err(Errno::EPERM.into())
}

/// Sysinfo implements Linux syscall sysinfo(2).
pub(super) fn sysinfo(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let (running, _) = lp.kernel.processes().counts();
    let info = structs::SysInfo {
        uptime: (time::monotonic_nanos() / 1_000_000_000) as i64,
        totalram: SYSINFO_RAM,
        freeram: SYSINFO_RAM.saturating_sub(lp.kernel.vfs().writable_bytes()),
        procs: running.min(usize::from(u16::MAX)) as u16,
    };
    mem.write(a.ptr(0), &structs::sysinfo(&info))?;
    ok(0)
}

/// Times implements Linux syscall times(2): the process's times in clock ticks (the
/// buffer may be NULL); returns ticks since boot.
pub(super) fn times(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let tick = 1_000_000_000 / time::CLK_TCK;
    if a.ptr(0) != 0 {
        mem.write(a.ptr(0), &structs::tms(lp.cpu_nanos() / tick, 0, 0, 0))?;
    }
    ok((time::monotonic_nanos() / tick as u64) as i64)
}

/// Getrusage implements Linux syscall getrusage(2): `RUSAGE_SELF` (0), `RUSAGE_THREAD`
/// (1), `RUSAGE_CHILDREN` (-1).
pub(super) fn getrusage(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let utime = match a.int(0) {
        0 | 1 => lp.cpu_nanos(),
        -1 => 0,
        _ => return Err(Errno::EINVAL.into()),
    };
    mem.write(a.ptr(1), &structs::rusage(utime))?;
    ok(0)
}

/// Getrlimit implements Linux syscall getrlimit(2).
pub(super) fn getrlimit(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let r = lp.rlimits[LinuxProcess::resource(a, 0)?];
    mem.write(a.ptr(1), &structs::rlimit(r.cur, r.max))?;
    ok(0)
}

/// Setrlimit implements Linux syscall setrlimit(2).
pub(super) fn setrlimit(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let resource = LinuxProcess::resource(a, 0)?;
    let new = Rlimit {
        cur: mem.u64(a.ptr(1))?,
        max: mem.u64(a.ptr(1) + 8)?,
    };
    lp.set_rlimit(resource, new)?;
    ok(0)
}

/// Prlimit64 implements Linux syscall prlimit(2): `prlimit64(pid, resource, new, old)`
/// for the caller.
pub(super) fn prlimit64(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let pid = lp.pid_arg(a.int(0))?;
    if pid != lp.process.pid() {
        return Err(Errno::EPERM.into());
    }
    let resource = LinuxProcess::resource(a, 1)?;
    let new = match a.ptr(2) {
        0 => None,
        p => Some(Rlimit {
            cur: mem.u64(p)?,
            max: mem.u64(p + 8)?,
        }),
    };
    let old = lp.rlimits[resource];
    if a.ptr(3) != 0 {
        mem.check(a.ptr(3), 16)?;
    }
    if let Some(new) = new {
        lp.set_rlimit(resource, new)?;
    }
    if a.ptr(3) != 0 {
        mem.write(a.ptr(3), &structs::rlimit(old.cur, old.max))?;
    }
    ok(0)
}

/// Sched_yield implements Linux syscall sched_yield(2).
pub(super) fn sched_yield(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, _a: Args) -> SysResult {
    std::thread::yield_now();
    ok(0)
}

/// Sched_getaffinity implements sched_getaffinity(2): CPU 0 alone; returns the mask's
/// size (one `unsigned long`).
pub(super) fn sched_getaffinity(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    lp.pid_arg(a.int(0))?;
    let len = a.u64(1);
    if len < 8 || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL.into());
    }
    mem.write(a.ptr(2), &1u64.to_le_bytes())?;
    ok(8)
}

/// Sched_setaffinity implements sched_setaffinity(2): a mask with CPU 0 is accepted.
pub(super) fn sched_setaffinity(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    lp.pid_arg(a.int(0))?;
    let len = a.u64(1).min(8);
    let mask = mem.bytes(a.ptr(2), len)?;
    if mask.first().is_some_and(|b| b & 1 != 0) {
        ok(0)
    } else {
        Err(Errno::EINVAL.into())
    }
}

/// Getcpu implements getcpu(2): CPU 0, node 0.
pub(super) fn getcpu(_lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    for i in 0..2 {
        if a.ptr(i) != 0 {
            mem.put_u32(a.ptr(i), 0)?;
        }
    }
    ok(0)
}

/// `which` of getpriority/setpriority: PRIO_PROCESS, PRIO_PGRP, PRIO_USER.
fn prio_which(which: i32) -> KResult<()> {
    if (0..=2).contains(&which) {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// Getpriority implements getpriority(2): the raw syscall returns 20 - nice, so 20.
pub(super) fn getpriority(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    prio_which(a.int(0))?;
    ok(20)
}

/// Setpriority implements setpriority(2) (and ioprio_set): accepted.
pub(super) fn setpriority(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, _a: Args) -> SysResult {
    ok(0)
}

/// Ioprio_get implements ioprio_get(2): best effort, level 4.
pub(super) fn ioprio_get(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, _a: Args) -> SysResult {
    ok((2 << 13) | 4)
}

/// Scheduling policies.
const SCHED_OTHER: i32 = 0;
const SCHED_FIFO: i32 = 1;
const SCHED_RR: i32 = 2;
const SCHED_BATCH: i32 = 3;
const SCHED_IDLE: i32 = 5;

/// Sched_setparam implements sched_setparam(2): priority 0 only.
pub(super) fn sched_setparam(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    lp.pid_arg(a.int(0))?;
    if mem.i32(a.ptr(1))? != 0 {
        return Err(Errno::EINVAL.into());
    }
    ok(0)
}

/// Sched_getparam implements sched_getparam(2): priority 0.
pub(super) fn sched_getparam(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    lp.pid_arg(a.int(0))?;
    mem.put_i32(a.ptr(1), 0)?;
    ok(0)
}

/// Sched_setscheduler implements sched_setscheduler(2).
pub(super) fn sched_setscheduler(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    lp.pid_arg(a.int(0))?;
    let prio = mem.i32(a.ptr(2))?;
    match a.int(1) & !0x4000_0000 {
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE if prio == 0 => ok(0),
        SCHED_FIFO | SCHED_RR if (1..=99).contains(&prio) => Err(Errno::EPERM.into()),
        _ => Err(Errno::EINVAL.into()),
    }
}

/// Sched_getscheduler implements sched_getscheduler(2): `SCHED_OTHER`.
pub(super) fn sched_getscheduler(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    lp.pid_arg(a.int(0))?;
    ok(SCHED_OTHER)
}

/// Sched_get_priority_max implements sched_get_priority_max(2).
pub(super) fn sched_get_priority_max(
    _lp: &mut LinuxProcess,
    _mem: &mut Mem<'_>,
    a: Args,
) -> SysResult {
    match a.int(0) {
        SCHED_FIFO | SCHED_RR => ok(99),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE => ok(0),
        _ => Err(Errno::EINVAL.into()),
    }
}

/// Sched_get_priority_min implements sched_get_priority_min(2).
pub(super) fn sched_get_priority_min(
    _lp: &mut LinuxProcess,
    _mem: &mut Mem<'_>,
    a: Args,
) -> SysResult {
    match a.int(0) {
        SCHED_FIFO | SCHED_RR => ok(1),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE => ok(0),
        _ => Err(Errno::EINVAL.into()),
    }
}

/// Sched_rr_get_interval implements sched_rr_get_interval(2): 100 ms.
pub(super) fn sched_rr_get_interval(
    lp: &mut LinuxProcess,
    mem: &mut Mem<'_>,
    a: Args,
) -> SysResult {
    lp.pid_arg(a.int(0))?;
    mem.write(a.ptr(1), &structs::timespec(0, 100_000_000))?;
    ok(0)
}

/// Getrandom implements Linux syscall getrandom(2) from the host's CSPRNG.
pub(super) fn getrandom(_lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    const GRND_NONBLOCK: u32 = 1;
    const GRND_RANDOM: u32 = 2;
    const GRND_INSECURE: u32 = 4;
    /// Linux returns at most this much per call.
    const MAX: u64 = (1 << 25) - 1;
    let flags = a.uint(2);
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || flags & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE)
    {
        return Err(Errno::EINVAL.into());
    }
    let len = a.u64(1).min(MAX);
    let buf = mem.bytes_mut(a.ptr(0), len)?;
    getrandom::getrandom(buf).map_err(|_| Errno::EIO)?;
    ok(len as i64)
}

/// Set_tid_address implements set_tid_address(2): returns the tid.
pub(super) fn set_tid_address(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, _a: Args) -> SysResult {
    ok(lp.process.pid())
}

/// Set_robust_list implements set_robust_list(2): checks the size (24), keeps nothing.
pub(super) fn set_robust_list(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    if a.u64(1) != 24 {
        return Err(Errno::EINVAL.into());
    }
    ok(0)
}

/// Personality implements personality(2) for `PER_LINUX`: a query (0xffffffff) or
/// setting `PER_LINUX` returns it (0).
pub(super) fn personality(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    match a.uint(0) {
        0 | 0xffff_ffff => ok(0),
        _ => Err(Errno::EINVAL.into()),
    }
}

/// Capability header versions.
const CAP_V1: u32 = 0x1998_0330;
const CAP_V2: u32 = 0x2007_1026;
const CAP_V3: u32 = 0x2008_0522;

/// Capget implements capget(2): [`CAPS`] effective and permitted, none inheritable.
pub(super) fn capget(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let (hdr, data) = (a.ptr(0), a.ptr(1));
    let version = mem.u32(hdr)?;
    let words = match version {
        CAP_V1 => 1,
        CAP_V2 | CAP_V3 => 2,
        _ => {
            mem.put_u32(hdr, CAP_V3)?;
            return if data == 0 {
                ok(0)
            } else {
                Err(Errno::EINVAL.into())
            };
        }
    };
    let pid = mem.i32(hdr + 4)?;
    if pid < 0 {
        return Err(Errno::EINVAL.into());
    }
    lp.pid_arg(pid)?;
    if data == 0 {
        return ok(0);
    }
    let mut out = vec![0u8; 12 * words];
    out[0..4].copy_from_slice(&CAPS.to_le_bytes());
    out[4..8].copy_from_slice(&CAPS.to_le_bytes());
    mem.write(data, &out)?;
    ok(0)
}

/// Capset implements capset(2): `EPERM`, capabilities are fixed.
pub(super) fn capset(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, _a: Args) -> SysResult {
    Err(Errno::EPERM.into())
}

/// Prctl implements the prctl(2) options listed in the table.
pub(super) fn prctl(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    const PR_SET_PDEATHSIG: i32 = 1;
    const PR_GET_PDEATHSIG: i32 = 2;
    const PR_GET_DUMPABLE: i32 = 3;
    const PR_SET_DUMPABLE: i32 = 4;
    const PR_SET_NAME: i32 = 15;
    const PR_GET_NAME: i32 = 16;
    const PR_SET_CHILD_SUBREAPER: i32 = 36;
    const PR_GET_CHILD_SUBREAPER: i32 = 37;
    const PR_SET_NO_NEW_PRIVS: i32 = 38;
    const PR_GET_NO_NEW_PRIVS: i32 = 39;
    match a.int(0) {
        PR_SET_PDEATHSIG => {
            let sig = a.u64(1);
            if sig > u64::from(signal::NSIG) {
                return Err(Errno::EINVAL.into());
            }
            lp.prctl.pdeathsig = sig as i32;
            ok(0)
        }
        PR_GET_PDEATHSIG => {
            mem.put_i32(a.ptr(1), lp.prctl.pdeathsig)?;
            ok(0)
        }
        PR_GET_DUMPABLE => ok(i64::from(!lp.prctl.not_dumpable)),
        PR_SET_DUMPABLE => match a.u64(1) {
            v @ (0 | 1) => {
                lp.prctl.not_dumpable = v == 0;
                ok(0)
            }
            _ => Err(Errno::EINVAL.into()),
        },
        PR_SET_NAME => {
            let raw = mem.bytes_mut_upto(a.ptr(1), 16)?;
            let name = raw.split(|&b| b == 0).next().unwrap_or(&[]);
            lp.process.set_comm(name);
            ok(0)
        }
        PR_GET_NAME => {
            let mut out = [0u8; 16];
            let comm = lp.process.comm();
            out[..comm.len()].copy_from_slice(&comm);
            mem.write(a.ptr(1), &out)?;
            ok(0)
        }
        PR_SET_CHILD_SUBREAPER => {
            lp.prctl.subreaper = a.u64(1) != 0;
            ok(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            mem.put_i32(a.ptr(1), i32::from(lp.prctl.subreaper))?;
            ok(0)
        }
        PR_SET_NO_NEW_PRIVS => {
            if a.u64(1) != 1 || a.u64(2) != 0 || a.u64(3) != 0 || a.u64(4) != 0 {
                return Err(Errno::EINVAL.into());
            }
            lp.prctl.no_new_privs = true;
            ok(0)
        }
        PR_GET_NO_NEW_PRIVS => ok(i64::from(lp.prctl.no_new_privs)),
        _ => Err(Errno::EINVAL.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Limits;
    use crate::kernel::testutil::{E, image};

    fn words(ws: &[&str]) -> Vec<Vec<u8>> {
        ws.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    /// `#!` lines rewrite path and argv as Linux's binfmt_script does; programs run as
    /// they are; other files are `ENOEXEC`, and permissions and loops fail as on Linux.
    #[test]
    fn scripts_run_their_interpreter() {
        let kernel = Kernel::new(
            image(&[
                E::Dir("/bin", 0o755),
                E::File("/bin/sh", 0o755, b"\x7fELF\x02\x01\x01"),
                E::File("/bin/w", 0o755, b"\0asm\x01\0\0\0"),
                E::File("/s", 0o755, b"#!/bin/sh\necho hi\n"),
                E::File("/a", 0o755, b"#!  /bin/sh   -e -x  \t\nexit 1\n"),
                E::File("/nested", 0o755, b"#!/s one\n"),
                E::File("/loop", 0o755, b"#!/loop\n"),
                E::File("/text", 0o755, b"echo no shebang\n"),
                E::File("/empty", 0o755, b""),
                E::File("/blank", 0o755, b"#!   \n"),
                E::File("/noexec", 0o644, b"#!/bin/sh\n"),
                E::File("/badinterp", 0o755, b"#!/missing\n"),
            ]),
            Limits::default(),
        );
        let vfs = kernel.vfs().host_view();
        let root = kernel.vfs().root();
        let run = |path: &str, argv: &[&str]| {
            let mut budget = ARG_MAX;
            interpreted(&vfs, root, path.into(), words(argv), &mut budget)
        };
        let runs = |script: Option<&str>, path: &str, argv: &[&str]| Interpreted {
            script: script.map(|s| s.as_bytes().to_vec()),
            path: path.as_bytes().to_vec(),
            argv: words(argv),
        };
        assert_eq!(
            run("/bin/sh", &["sh", "-c", "x"]),
            Ok(runs(None, "/bin/sh", &["sh", "-c", "x"]))
        );
        assert_eq!(run("/bin/w", &["w"]), Ok(runs(None, "/bin/w", &["w"])));
        assert_eq!(
            run("/s", &["./s", "arg"]),
            Ok(runs(Some("/s"), "/bin/sh", &["/bin/sh", "/s", "arg"]))
        );
        // One argument: everything after the interpreter, trimmed, blanks kept inside.
        assert_eq!(
            run("/a", &["a"]).unwrap().argv,
            words(&["/bin/sh", "-e -x", "/a"])
        );
        // A script as an interpreter: both rewritten, the first script named.
        assert_eq!(
            run("/nested", &["n", "z"]),
            Ok(runs(
                Some("/nested"),
                "/bin/sh",
                &["/bin/sh", "/s", "one", "/nested", "z"]
            ))
        );
        assert_eq!(run("/loop", &["l"]).unwrap_err(), Errno::ELOOP);
        assert_eq!(run("/text", &["t"]).unwrap_err(), Errno::ENOEXEC);
        assert_eq!(run("/empty", &["e"]).unwrap_err(), Errno::ENOEXEC);
        assert_eq!(run("/blank", &["b"]).unwrap_err(), Errno::ENOEXEC);
        assert_eq!(run("/noexec", &["n"]).unwrap_err(), Errno::EACCES);
        assert_eq!(run("/missing", &["m"]).unwrap_err(), Errno::ENOENT);
        assert_eq!(run("/badinterp", &["b"]).unwrap_err(), Errno::ENOENT);
        assert_eq!(run("/bin", &["d"]).unwrap_err(), Errno::EACCES);
        // The added words count against ARG_MAX.
        let mut budget = 10;
        assert_eq!(
            interpreted(&vfs, root, b"/s".to_vec(), words(&["s"]), &mut budget).unwrap_err(),
            Errno::E2BIG
        );
    }
}
