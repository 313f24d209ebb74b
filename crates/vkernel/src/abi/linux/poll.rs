//! Waiting: `poll`, `ppoll`, `select`, `pselect6`, `futex`, and the interruptible
//! sleep the time and signal calls share.
//!
//! A wait blocks the process's thread without spinning: one [`Waiter`] is registered
//! with every pipe end and host stream waited for ([`crate::kernel::Watch`]) and with
//! the process's interrupt, and the thread sleeps until one of them wakes it or the
//! deadline passes. Regular files, directories and devices are always ready. A host
//! stream that cannot be watched is re-checked every [`UNWATCHED_RECHECK`]. A wait
//! ends with `EINTR` once the process's [`LinuxProcess::intr`] is set (a signal is to be
//! delivered to a handler, or the process is being stopped).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::memory::Mem;
use super::{Args, LinuxProcess, SysResult, structs};
use crate::kernel::interrupt::Waiter;
use crate::kernel::{Errno, FileDescription, Interrupt, KResult, Target, Waker, Watch};

/// How often a wait re-checks a host stream that cannot wake it.
pub const UNWATCHED_RECHECK: Duration = Duration::from_millis(10);

/// `poll` events.
pub mod events {
    pub const POLLIN: i16 = 0x1;
    pub const POLLOUT: i16 = 0x4;
    pub const POLLERR: i16 = 0x8;
    pub const POLLHUP: i16 = 0x10;
    pub const POLLNVAL: i16 = 0x20;
    pub const POLLRDNORM: i16 = 0x40;
    pub const POLLWRNORM: i16 = 0x100;
}
use events::*;

/// Sleeps until `deadline` (`None`: until stopped); `EINTR` once `intr` is set (the
/// process's [`LinuxProcess::intr`]: a signal to deliver, or the process is stopped).
pub(super) fn sleep_until(intr: &Interrupt, deadline: Option<Instant>) -> KResult<()> {
    block_on(intr, &[], deadline, || None::<()>).map(|_| ())
}

/// Waits until `check` returns `Some` (re-run whenever a watched file changes), the
/// deadline passes (`Ok(None)`), or `intr` is set (`EINTR`). `check` runs at least
/// once, so a condition already met wins over a deadline already passed.
fn block_on<R>(
    intr: &Interrupt,
    files: &[Arc<FileDescription>],
    deadline: Option<Instant>,
    mut check: impl FnMut() -> Option<R>,
) -> KResult<Option<R>> {
    let waiter = Arc::new(Waiter::default());
    let _registration = intr.register(Arc::clone(&waiter) as Arc<dyn Waker>);
    let mut unwatched = false;
    let _watches: Vec<Watch> = files
        .iter()
        .filter_map(|f| {
            let w = f.watch(Arc::clone(&waiter) as Arc<dyn Waker>);
            if w.is_none() && matches!(f.target(), Target::Host(_)) {
                unwatched = true;
            }
            w
        })
        .collect();
    loop {
        let seen = waiter.generation();
        if let Some(r) = check() {
            return Ok(Some(r));
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| d <= now) {
            return Ok(None);
        }
        intr.check()?;
        let until = if unwatched {
            let recheck = now + UNWATCHED_RECHECK;
            Some(deadline.map_or(recheck, |d| d.min(recheck)))
        } else {
            deadline
        };
        waiter.wait(seen, until);
    }
}

/// The `revents` of `file` for the requested `events` (`POLLERR` and `POLLHUP` are
/// always reported).
fn revents(file: &FileDescription, events: i16) -> i16 {
    let r = file.readiness();
    let mut out = 0;
    if r.readable {
        out |= events & (POLLIN | POLLRDNORM);
    }
    if r.writable {
        out |= events & (POLLOUT | POLLWRNORM);
    }
    if r.hangup {
        out |= POLLHUP;
    }
    if r.error {
        out |= POLLERR;
    }
    out
}

/// A deadline `nanos` from now (`None` if it cannot be represented: never).
fn after(nanos: u64) -> Option<Instant> {
    Instant::now().checked_add(Duration::from_nanos(nanos))
}

/// A `timespec` timeout argument: `None` for NULL (wait forever), else the deadline
/// (`Some(None)`: too far to represent).
fn timespec_deadline(mem: &Mem<'_>, ptr: u64) -> KResult<Option<Option<Instant>>> {
    if ptr == 0 {
        return Ok(None);
    }
    let ns = structs::timespec_duration(mem.i64(ptr)?, mem.i64(ptr + 8)?)?;
    Ok(Some(after(ns)))
}

impl LinuxProcess {
    /// The `poll` core: `nfds` `struct pollfd`s at `fds`, until `deadline` (`None`:
    /// forever; `Some(None)`: too far to represent).
    fn do_poll(
        &self,
        mem: &mut Mem<'_>,
        fds: u64,
        nfds: u64,
        deadline: Option<Option<Instant>>,
    ) -> SysResult {
        if nfds > self.rlimit_nofile() {
            return Err(Errno::EINVAL.into());
        }
        mem.check(fds, nfds * 8)?;
        let mut entries = Vec::with_capacity(nfds as usize);
        for i in 0..nfds {
            let at = fds + 8 * i;
            let fd = mem.i32(at)?;
            let events = mem.u16(at + 4)? as i16;
            let file = if fd < 0 {
                None
            } else {
                Some(self.process.file(fd).ok())
            };
            entries.push((file, events));
        }
        let files: Vec<Arc<FileDescription>> = entries
            .iter()
            .filter_map(|(f, _)| f.clone().flatten())
            .collect();
        let deadline = match deadline {
            None => None,
            Some(None) => None,
            Some(Some(d)) => Some(d),
        };
        let scan = || {
            let out: Vec<i16> = entries
                .iter()
                .map(|(f, ev)| match f {
                    None => 0,
                    Some(None) => POLLNVAL,
                    Some(Some(file)) => revents(file, *ev),
                })
                .collect();
            out.iter().any(|&r| r != 0).then_some(out)
        };
        let ready = block_on(self.intr(), &files, deadline, scan)?;
        let out = ready.unwrap_or_else(|| vec![0; entries.len()]);
        let mut count = 0;
        for (i, r) in out.iter().enumerate() {
            mem.put_u16(fds + 8 * i as u64 + 6, *r as u16)?;
            if *r != 0 {
                count += 1;
            }
        }
        Ok(count)
    }

    /// The `select` core: `nfds` bits of the three `fd_set`s, until `deadline`.
    fn do_select(
        &self,
        mem: &mut Mem<'_>,
        nfds: i32,
        sets: [u64; 3],
        deadline: Option<Option<Instant>>,
    ) -> SysResult {
        if nfds < 0 {
            return Err(Errno::EINVAL.into());
        }
        let nfds = (nfds as u64).min(self.rlimit_nofile().max(1024));
        let words = nfds.div_ceil(64);
        let mut input = [Vec::new(), Vec::new(), Vec::new()];
        for (k, &ptr) in sets.iter().enumerate() {
            if ptr != 0 {
                mem.check(ptr, words * 8)?;
                input[k] = (0..words)
                    .map(|w| mem.u64(ptr + 8 * w))
                    .collect::<KResult<Vec<u64>>>()?;
            }
        }
        // (fd, file, which sets ask for it)
        let mut wanted: Vec<(usize, Arc<FileDescription>, [bool; 3])> = Vec::new();
        for fd in 0..nfds as usize {
            let asked = [0, 1, 2].map(|k| {
                input[k]
                    .get(fd / 64)
                    .is_some_and(|w| w & (1 << (fd % 64)) != 0)
            });
            if asked.iter().any(|&b| b) {
                let file = self.process.file(fd as i32)?;
                wanted.push((fd, file, asked));
            }
        }
        let files: Vec<Arc<FileDescription>> = wanted.iter().map(|w| Arc::clone(&w.1)).collect();
        let deadline = deadline.flatten();
        let scan = || {
            let mut out = [
                vec![0u64; words as usize],
                vec![0u64; words as usize],
                vec![0u64; words as usize],
            ];
            let mut n = 0;
            for (fd, file, asked) in &wanted {
                let r = file.readiness();
                let hits = [
                    asked[0] && (r.readable || r.hangup || r.error),
                    asked[1] && (r.writable || r.error),
                    false,
                ];
                for k in 0..3 {
                    if hits[k] {
                        out[k][fd / 64] |= 1 << (fd % 64);
                        n += 1;
                    }
                }
            }
            (n > 0).then_some((n, out))
        };
        let (n, out) = block_on(self.intr(), &files, deadline, scan)?.unwrap_or_else(|| {
            (
                0,
                [
                    vec![0; words as usize],
                    vec![0; words as usize],
                    vec![0; words as usize],
                ],
            )
        });
        for (k, &ptr) in sets.iter().enumerate() {
            if ptr != 0 {
                for (w, v) in out[k].iter().enumerate() {
                    mem.put_u64(ptr + 8 * w as u64, *v)?;
                }
            }
        }
        Ok(n)
    }
}

/// Poll implements Linux syscall poll(2): `poll(fds, nfds, timeout_ms)`.
pub(super) fn poll(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let timeout = a.int(2);
    let deadline = if timeout < 0 {
        None
    } else {
        Some(after(timeout as u64 * 1_000_000))
    };
    lp.do_poll(mem, a.ptr(0), a.u64(1), deadline)
}

/// Ppoll implements Linux syscall ppoll(2): `ppoll(fds, nfds, timeout_ts, sigmask,
/// sigsetsize)`; the mask is checked, not applied.
pub(super) fn ppoll(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let deadline = timespec_deadline(mem, a.ptr(2))?;
    if a.ptr(3) != 0 {
        if a.u64(4) != super::signal::SIGSET_SIZE {
            return Err(Errno::EINVAL.into());
        }
        mem.u64(a.ptr(3))?;
    }
    lp.do_poll(mem, a.ptr(0), a.u64(1), deadline)
}

/// Select implements Linux syscall select(2): `select(nfds, readfds, writefds,
/// exceptfds, timeout)`; the timeout is a `timeval`, not updated.
pub(super) fn select(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let deadline = match a.ptr(4) {
        0 => None,
        t => {
            let (sec, usec) = (mem.i64(t)?, mem.i64(t + 8)?);
            if sec < 0 || !(0..1_000_000).contains(&usec) {
                return Err(Errno::EINVAL.into());
            }
            Some(after(
                (sec as u64)
                    .saturating_mul(1_000_000_000)
                    .saturating_add(usec as u64 * 1000),
            ))
        }
    };
    lp.do_select(mem, a.int(0), [a.ptr(1), a.ptr(2), a.ptr(3)], deadline)
}

/// Pselect6 implements Linux syscall pselect6(2): `pselect6(nfds, readfds, writefds,
/// exceptfds, timeout_ts, {sigmask, sigsetsize})`; the mask is not applied.
pub(super) fn pselect6(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let deadline = timespec_deadline(mem, a.ptr(4))?;
    if a.ptr(5) != 0 {
        let (mask, size) = (mem.u64(a.ptr(5))?, mem.u64(a.ptr(5) + 8)?);
        if mask != 0 {
            if size != super::signal::SIGSET_SIZE {
                return Err(Errno::EINVAL.into());
            }
            mem.u64(mask)?;
        }
    }
    lp.do_select(mem, a.int(0), [a.ptr(1), a.ptr(2), a.ptr(3)], deadline)
}

/// Futex operations (the low bits of `op`).
mod futex_op {
    pub const WAIT: i32 = 0;
    pub const WAKE: i32 = 1;
    pub const REQUEUE: i32 = 3;
    pub const CMP_REQUEUE: i32 = 4;
    pub const WAKE_OP: i32 = 5;
    pub const WAIT_BITSET: i32 = 9;
    pub const WAKE_BITSET: i32 = 10;
    pub const PRIVATE: i32 = 128;
    pub const CLOCK_REALTIME: i32 = 256;
}

/// Futex implements Linux syscall futex(2) for a process of one thread:
/// `futex(uaddr, op, val, timeout|val2, uaddr2, val3)`. Nobody else can wake a wait, so a
/// `FUTEX_WAIT` whose value matches sleeps for its timeout (`ETIMEDOUT`) or, without one,
/// until the process is stopped, which is what Linux does to a single-threaded process
/// that waits on itself; a glibc that got `EINTR` or `ETIMEDOUT` for an untimed wait would
/// spin in its lock loop instead, so the vkernel hangs as Linux would and the container's
/// time limit ends it.
pub(super) fn futex(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    use futex_op::*;
    let uaddr = a.ptr(0);
    let op = a.int(1);
    let cmd = op & !(PRIVATE | CLOCK_REALTIME);
    if op & CLOCK_REALTIME != 0 && cmd != WAIT_BITSET {
        return Err(Errno::ENOSYS.into());
    }
    if !uaddr.is_multiple_of(4) {
        return Err(Errno::EINVAL.into());
    }
    match cmd {
        WAIT | WAIT_BITSET => {
            if cmd == WAIT_BITSET && a.uint(5) == 0 {
                return Err(Errno::EINVAL.into());
            }
            let deadline = match a.ptr(3) {
                0 => None,
                t => {
                    let ns = structs::timespec_duration(mem.i64(t)?, mem.i64(t + 8)?)?;
                    if cmd == WAIT {
                        Some(after(ns))
                    } else {
                        // An absolute time on CLOCK_MONOTONIC or CLOCK_REALTIME.
                        let now = if op & CLOCK_REALTIME != 0 {
                            lp.kernel.clock().now().max(0) as u64
                        } else {
                            super::time::monotonic_nanos()
                        };
                        Some(after(ns.saturating_sub(now)))
                    }
                }
            };
            if mem.u32(uaddr)? != a.uint(2) {
                return Err(Errno::EAGAIN.into());
            }
            match deadline {
                Some(Some(d)) => {
                    sleep_until(lp.intr(), Some(d))?;
                    Err(Errno::ETIMEDOUT.into())
                }
                _ => {
                    tracing::warn!(
                        pid = lp.process.pid(),
                        uaddr,
                        "futex wait with nobody to wake it: the process sleeps until it is stopped"
                    );
                    sleep_until(lp.intr(), None)?;
                    Err(Errno::EINTR.into())
                }
            }
        }
        WAKE | WAKE_BITSET => {
            if cmd == WAKE_BITSET && a.uint(5) == 0 {
                return Err(Errno::EINVAL.into());
            }
            Ok(0)
        }
        REQUEUE => Ok(0),
        CMP_REQUEUE => {
            if mem.u32(uaddr)? != a.uint(5) {
                return Err(Errno::EAGAIN.into());
            }
            Ok(0)
        }
        WAKE_OP => {
            let uaddr2 = a.ptr(4);
            if !uaddr2.is_multiple_of(4) {
                return Err(Errno::EINVAL.into());
            }
            let val3 = a.uint(5);
            // The comparison (and its argument, the low 12 bits) only decides whether
            // waiters on uaddr2 are woken: there are none.
            let (opcode, cmp) = ((val3 >> 28) & 0xf, (val3 >> 24) & 0xf);
            let mut oparg = ((val3 << 8) as i32) >> 20;
            if opcode & 8 != 0 {
                oparg = 1i32.wrapping_shl(oparg as u32 & 31);
            }
            let old = mem.u32(uaddr2)? as i32;
            let new = match opcode & 7 {
                0 => oparg,
                1 => old.wrapping_add(oparg),
                2 => old | oparg,
                3 => old & !oparg,
                4 => old ^ oparg,
                _ => return Err(Errno::ENOSYS.into()),
            };
            if cmp > 5 {
                return Err(Errno::ENOSYS.into());
            }
            mem.put_i32(uaddr2, new)?;
            // Nobody waits on either address: zero woken whatever the comparison says.
            Ok(0)
        }
        _ => Err(Errno::ENOSYS.into()),
    }
}
