//! The functions of `recompiler_process_v1` on the kernel core, in [`FUNCS`] order.
//!
//! Each reads its arguments out of the caller's memory, checks them, and acts on the
//! caller's kernel process; `spawn` and `kill` hand the starting and stopping of guests
//! to the [`Spawner`]. Where a call does something that cannot be undone (reaping a
//! child, creating a pipe or a process), its out-pointers are checked first, so a bad
//! pointer fails with `FAULT` and changes nothing.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::memory::Memory;
use super::{
    FUNCS, MAX_ARG_BYTES, MAX_ARG_STRINGS, MAX_FDMAP, SPAWN_FLAGS, SPAWN_INHERIT_ENV, SpawnRequest,
    Spawner, WNOHANG, signal,
};
use crate::abi::wasi_p1::{HostExit, WasiErrno};
use crate::kernel::vfs::PATH_MAX;
use crate::kernel::{Errno, Fd, KResult, Kernel, OFlags, ProcState, Process, WaitFor};

/// The caller of an extension function: its kernel process and what spawns for it.
pub(crate) struct ProcessCall<'a> {
    pub kernel: &'a Arc<Kernel>,
    pub process: &'a Arc<Process>,
    /// `None`: `spawn` is `NOSYS` (a host that starts no programs).
    pub spawner: Option<&'a Arc<dyn Spawner>>,
}

/// One function's arguments, as the engine widened them to `i64`.
#[derive(Clone, Copy)]
struct Args<'a>(&'a [i64]);

impl Args<'_> {
    fn i32(&self, i: usize) -> i32 {
        self.0.get(i).copied().unwrap_or(0) as i32
    }

    /// Pointers, lengths and counts: an `i32` read as `u32`, as wiggle does.
    fn u32(&self, i: usize) -> u32 {
        self.i32(i) as u32
    }
}

type Handler = fn(&ProcessCall<'_>, &mut Memory<'_>, Args<'_>) -> KResult<()>;

/// Every function of [`FUNCS`], in its order (a test checks the names).
const HANDLERS: &[(&str, Handler)] = &[
    ("spawn", spawn),
    ("wait", wait),
    ("pipe", pipe),
    ("dup", dup),
    ("dup2", dup2),
    ("getpid", getpid),
    ("getppid", getppid),
    ("kill", kill),
];

/// Runs extension function `FUNCS[func]` for `cx` with `args` against the caller's
/// memory; returns the WASI errno. A blocking call interrupted because the caller was
/// stopped ends the caller ([`HostExit::Kill`]), as in the preview1 host.
pub(crate) fn call(
    cx: &ProcessCall<'_>,
    func: usize,
    memory: &mut [u8],
    args: &[i64],
) -> Result<i32, HostExit> {
    let (Some((name, params)), Some((_, handler))) = (FUNCS.get(func), HANDLERS.get(func)) else {
        return Err(HostExit::Kill(format!(
            "no {} function number {func}",
            super::MODULE
        )));
    };
    if args.len() != params.len() {
        return Err(HostExit::Kill(format!(
            "{name} called with {} arguments instead of {}",
            args.len(),
            params.len()
        )));
    }
    let mut mem = Memory::new(memory);
    let result = handler(cx, &mut mem, Args(args));
    if cx.process.interrupt().is_interrupted() {
        // Killed while blocked, or by its own kill(getpid(), sig): stop now rather than
        // at the next epoch tick.
        return Err(HostExit::Kill(format!("{name}: the process was stopped")));
    }
    match result {
        Ok(()) => Ok(0),
        Err(e) => Ok(i32::from(WasiErrno::from_kernel(e).0)),
    }
}

/// A string argument (`ptr`, `len`): `NAMETOOLONG` at `PATH_MAX` bytes or more, `INVAL`
/// with a NUL inside (it could not reach the program as a C string).
fn string(mem: &Memory<'_>, ptr: u32, len: u32) -> KResult<Vec<u8>> {
    if len as usize >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let bytes = mem.bytes(ptr, len)?;
    if bytes.contains(&0) {
        return Err(Errno::EINVAL);
    }
    Ok(bytes.to_vec())
}

/// A list of `count` strings given as `{ptr: u32, len: u32}` pairs at `at`, charged to
/// `budget` (their bytes, each with its NUL): `TOOBIG` past it or past
/// [`MAX_ARG_STRINGS`], `INVAL` for a NUL inside one.
fn strings(mem: &Memory<'_>, at: u32, count: u32, budget: &mut usize) -> KResult<Vec<Vec<u8>>> {
    if count > MAX_ARG_STRINGS {
        return Err(Errno::E2BIG);
    }
    mem.check(at, 8 * u64::from(count))?;
    let mut out = Vec::with_capacity(count as usize);
    for i in 0..count {
        let pair = at + 8 * i;
        let (ptr, len) = (mem.u32_at(pair)?, mem.u32_at(pair + 4)?);
        *budget = budget.checked_sub(len as usize + 1).ok_or(Errno::E2BIG)?;
        let bytes = mem.bytes(ptr, len)?;
        if bytes.contains(&0) {
            return Err(Errno::EINVAL);
        }
        out.push(bytes.to_vec());
    }
    Ok(out)
}

/// Spawn starts a program as a child of the caller:
/// `spawn(path, path_len, argv, argv_count, env, env_count, cwd, cwd_len, fdmap,
/// fdmap_count, flags, pid_out)`.
fn spawn(cx: &ProcessCall<'_>, mem: &mut Memory<'_>, a: Args<'_>) -> KResult<()> {
    let flags = a.u32(10);
    if flags & !SPAWN_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let pid_out = a.u32(11);
    mem.check(pid_out, 4)?;
    let path = string(mem, a.u32(0), a.u32(1))?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let mut budget = MAX_ARG_BYTES;
    let mut argv = strings(mem, a.u32(2), a.u32(3), &mut budget)?;
    if argv.is_empty() {
        argv.push(path.clone());
    }
    let env = if flags & SPAWN_INHERIT_ENV != 0 {
        cx.process.env()
    } else {
        strings(mem, a.u32(4), a.u32(5), &mut budget)?
            .into_iter()
            .map(|entry| {
                let eq = entry.iter().position(|&b| b == b'=').ok_or(Errno::EINVAL)?;
                Ok((entry[..eq].to_vec(), entry[eq + 1..].to_vec()))
            })
            .collect::<KResult<_>>()?
    };
    let cwd = match a.u32(7) {
        0 => None,
        len => Some(string(mem, a.u32(6), len)?),
    };
    let fds = fd_map(cx.process, mem, a.u32(8), a.u32(9))?;
    let spawner = cx.spawner.ok_or(Errno::ENOSYS)?;
    let pid = spawner.spawn(
        cx.process,
        SpawnRequest {
            path,
            argv,
            env,
            cwd,
            fds,
        },
    )?;
    // Checked above; a pid is positive.
    mem.put_u32(pid_out, pid as u32)
}

/// The child's fds: the `count` `{child_fd: u32, parent_fd: u32}` pairs at `at`, or for
/// none, the caller's fds 0, 1 and 2 that are open. `INVAL` for a child fd given twice or
/// out of range, `BADF` for a caller fd that is not open.
fn fd_map(process: &Process, mem: &Memory<'_>, at: u32, count: u32) -> KResult<Vec<(Fd, Fd)>> {
    if count == 0 {
        return Ok((0..3)
            .filter(|&fd| process.file(fd).is_ok())
            .map(|fd| (fd, fd))
            .collect());
    }
    if count > MAX_FDMAP {
        return Err(Errno::EINVAL);
    }
    mem.check(at, 8 * u64::from(count))?;
    let mut seen = BTreeSet::new();
    let mut fds = Vec::with_capacity(count as usize);
    for i in 0..count {
        let pair = at + 8 * i;
        let child = Fd::try_from(mem.u32_at(pair)?).map_err(|_| Errno::EINVAL)?;
        let parent = Fd::try_from(mem.u32_at(pair + 4)?).map_err(|_| Errno::EBADF)?;
        if !seen.insert(child) {
            return Err(Errno::EINVAL);
        }
        process.file(parent)?;
        fds.push((child, parent));
    }
    Ok(fds)
}

/// Wait implements waitpid(2) for the caller's children: `wait(pid, options, status_out,
/// pid_out)`; `pid` -1 is any child; `options` [`WNOHANG`].
fn wait(cx: &ProcessCall<'_>, mem: &mut Memory<'_>, a: Args<'_>) -> KResult<()> {
    let options = a.u32(1);
    if options & !WNOHANG != 0 {
        return Err(Errno::EINVAL);
    }
    let which = match a.i32(0) {
        -1 => WaitFor::Any,
        pid if pid > 0 => WaitFor::Pid(pid),
        // No process groups: 0 and < -1 name none.
        _ => return Err(Errno::EINVAL),
    };
    let (status_out, pid_out) = (a.u32(2), a.u32(3));
    mem.check(status_out, 4)?;
    mem.check(pid_out, 4)?;
    let reaped = cx.kernel.processes().wait(
        cx.process.pid(),
        which,
        options & WNOHANG != 0,
        cx.process.interrupt(),
    )?;
    let (pid, status) = match reaped {
        Some((pid, status)) => (pid, status.wait_status()),
        None => (0, 0),
    };
    mem.put_u32(status_out, status as u32)?;
    mem.put_u32(pid_out, pid as u32)
}

/// Pipe implements pipe(2): `pipe(fds_out)` stores the read end's fd, then the write
/// end's.
fn pipe(cx: &ProcessCall<'_>, mem: &mut Memory<'_>, a: Args<'_>) -> KResult<()> {
    let out = a.u32(0);
    mem.check(out, 8)?;
    let [r, w] = cx.kernel.pipe2(cx.process, OFlags::empty())?;
    mem.put_u32(out, r as u32)?;
    mem.put_u32(out + 4, w as u32)
}

/// Dup implements dup(2): `dup(fd, newfd_out)`, the lowest free fd.
fn dup(cx: &ProcessCall<'_>, mem: &mut Memory<'_>, a: Args<'_>) -> KResult<()> {
    let out = a.u32(1);
    mem.check(out, 4)?;
    let fd = cx.process.fds().dup(a.i32(0))?;
    mem.put_u32(out, fd as u32)
}

/// Dup2 implements dup2(2): `dup2(fd, newfd)`, closing what `newfd` held.
fn dup2(cx: &ProcessCall<'_>, _mem: &mut Memory<'_>, a: Args<'_>) -> KResult<()> {
    cx.process.dup2(a.i32(0), a.i32(1)).map(|_| ())
}

/// Getpid implements getpid(2): `getpid(pid_out)`.
fn getpid(cx: &ProcessCall<'_>, mem: &mut Memory<'_>, a: Args<'_>) -> KResult<()> {
    mem.put_u32(a.u32(0), cx.process.pid() as u32)
}

/// Getppid implements getppid(2): `getppid(pid_out)`; 0 for a process the host started.
fn getppid(cx: &ProcessCall<'_>, mem: &mut Memory<'_>, a: Args<'_>) -> KResult<()> {
    mem.put_u32(a.u32(0), cx.process.ppid() as u32)
}

/// Kill implements kill(2) for one process of the container: `kill(pid, sig)`. Guests
/// install no signal handlers, so a signal does its default action: signal 0 checks
/// that `pid` exists; `SIGCHLD`, `SIGCONT`, `SIGURG` and `SIGWINCH` are ignored; the
/// stop signals are `NOTSUP` (no job control); every other one ends the process with
/// that signal as its status.
fn kill(cx: &ProcessCall<'_>, _mem: &mut Memory<'_>, a: Args<'_>) -> KResult<()> {
    let sig = u8::try_from(a.i32(1))
        .ok()
        .filter(|&s| s <= signal::MAX)
        .ok_or(Errno::EINVAL)?;
    let pid = a.i32(0);
    if pid <= 0 {
        // No process groups, and no broadcast.
        return Err(Errno::EINVAL);
    }
    let processes = cx.kernel.processes();
    let target = processes.get(pid).ok_or(Errno::ESRCH)?;
    match sig {
        0 | signal::SIGCHLD | signal::SIGCONT | signal::SIGURG | signal::SIGWINCH => Ok(()),
        signal::SIGSTOP | signal::SIGTSTP | signal::SIGTTIN | signal::SIGTTOU => {
            Err(Errno::EOPNOTSUPP)
        }
        _ => {
            if processes.state(pid) == Some(ProcState::Running) {
                match cx.spawner {
                    Some(s) => s.terminate(&target, sig),
                    None => target.interrupt().interrupt(),
                }
            }
            Ok(())
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
