//! Clocks and sleeps: `clock_gettime`, `clock_getres`, `gettimeofday`, `time`,
//! `nanosleep`, `clock_nanosleep`, and the refused `settimeofday`/`clock_settime`.
//!
//! `CLOCK_REALTIME` (and its coarse and TAI variants) is the kernel's clock, so a
//! container's time can be fixed or offset. `CLOCK_MONOTONIC` and `CLOCK_BOOTTIME`
//! count from the first time the vkernel was asked (the container's "boot", shared by
//! every process, so they can compare readings; `sysinfo`'s uptime agrees). The
//! CPU-time clocks count the process's wall time since its image started: processes
//! are not charged CPU time.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::memory::Mem;
use super::{Args, LinuxProcess, SysResult, poll, structs};
use crate::kernel::{Errno, KResult};

pub const CLOCK_REALTIME: i32 = 0;
pub const CLOCK_MONOTONIC: i32 = 1;
pub const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
pub const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
pub const CLOCK_MONOTONIC_RAW: i32 = 4;
pub const CLOCK_REALTIME_COARSE: i32 = 5;
pub const CLOCK_MONOTONIC_COARSE: i32 = 6;
pub const CLOCK_BOOTTIME: i32 = 7;
pub const CLOCK_REALTIME_ALARM: i32 = 8;
pub const CLOCK_BOOTTIME_ALARM: i32 = 9;
pub const CLOCK_TAI: i32 = 11;

/// `clock_nanosleep` flag: the time is absolute.
const TIMER_ABSTIME: i32 = 1;

/// The resolution of the coarse clocks: one tick of a 250 Hz kernel.
const COARSE_RES_NANOS: i64 = 4_000_000;

/// Clock ticks per second of `times` and `clock_t` (`sysconf(_SC_CLK_TCK)`).
pub const CLK_TCK: i64 = 100;

fn boot() -> Instant {
    static BOOT: OnceLock<Instant> = OnceLock::new();
    *BOOT.get_or_init(Instant::now)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Nanoseconds of `CLOCK_MONOTONIC`.
pub fn monotonic_nanos() -> u64 {
    nanos(boot().elapsed())
}

/// Which clock an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClockKind {
    Real,
    Monotonic,
    Cpu,
}

fn clock_kind(id: i32) -> KResult<ClockKind> {
    match id {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_REALTIME_ALARM | CLOCK_TAI => {
            Ok(ClockKind::Real)
        }
        CLOCK_MONOTONIC
        | CLOCK_MONOTONIC_RAW
        | CLOCK_MONOTONIC_COARSE
        | CLOCK_BOOTTIME
        | CLOCK_BOOTTIME_ALARM => Ok(ClockKind::Monotonic),
        CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => Ok(ClockKind::Cpu),
        _ => Err(Errno::EINVAL),
    }
}

impl LinuxProcess {
    /// The process's CPU time, as this ABI counts it (see the module docs).
    pub(super) fn cpu_nanos(&self) -> i64 {
        i64::try_from(nanos(self.started.elapsed())).unwrap_or(i64::MAX)
    }

    /// Now on clock `id`, in nanoseconds.
    fn clock_now(&self, id: i32) -> KResult<i64> {
        Ok(match clock_kind(id)? {
            ClockKind::Real => self.kernel.clock().now(),
            ClockKind::Monotonic => i64::try_from(monotonic_nanos()).unwrap_or(i64::MAX),
            ClockKind::Cpu => self.cpu_nanos(),
        })
    }
}

/// Clock_gettime implements Linux syscall clock_gettime(2): `clock_gettime(id, tp)`.
pub(super) fn clock_gettime(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let now = lp.clock_now(a.int(0))?;
    mem.write(a.ptr(1), &structs::timespec_nanos(now))?;
    Ok(0)
}

/// Clock_getres implements Linux syscall clock_getres(2): 1 ns, 4 ms for the coarse
/// clocks; a NULL `res` only checks the clock.
pub(super) fn clock_getres(_lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let id = a.int(0);
    clock_kind(id)?;
    let res = match id {
        CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => COARSE_RES_NANOS,
        _ => 1,
    };
    if a.ptr(1) != 0 {
        mem.write(a.ptr(1), &structs::timespec_nanos(res))?;
    }
    Ok(0)
}

/// Gettimeofday implements Linux syscall gettimeofday(2): `gettimeofday(tv, tz)`; the
/// time zone is UTC.
pub(super) fn gettimeofday(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    if a.ptr(0) != 0 {
        mem.write(a.ptr(0), &structs::timeval_nanos(lp.kernel.clock().now()))?;
    }
    if a.ptr(1) != 0 {
        mem.write(a.ptr(1), &[0u8; 8])?;
    }
    Ok(0)
}

/// Time implements Linux syscall time(2): the seconds, also stored at `tloc` if given.
pub(super) fn time(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let (sec, _) = structs::split_nanos(lp.kernel.clock().now());
    if a.ptr(0) != 0 {
        mem.put_i64(a.ptr(0), sec)?;
    }
    Ok(sec)
}

/// Settimeofday and clock_settime: the container may not set the clock.
pub(super) fn settime(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, _a: Args) -> SysResult {
    Err(Errno::EPERM.into())
}

/// Sleeps `ns` nanoseconds (interruptible only by the end of the process).
fn sleep_for(lp: &LinuxProcess, ns: u64) -> SysResult {
    let deadline = Instant::now().checked_add(Duration::from_nanos(ns));
    poll::sleep_until(lp.intr(), deadline)?;
    Ok(0)
}

/// Nanosleep implements Linux syscall nanosleep(2): `nanosleep(req, rem)`; `rem` is
/// never written (only a signal handler could end the sleep early).
pub(super) fn nanosleep(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let req = a.ptr(0);
    let ns = structs::timespec_duration(mem.i64(req)?, mem.i64(req + 8)?)?;
    sleep_for(lp, ns)
}

/// Clock_nanosleep implements Linux syscall clock_nanosleep(2):
/// `clock_nanosleep(id, flags, req, rem)`.
pub(super) fn clock_nanosleep(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let id = a.int(0);
    if clock_kind(id)? == ClockKind::Cpu {
        return Err(Errno::EINVAL.into());
    }
    let req = a.ptr(2);
    let (sec, nsec) = (mem.i64(req)?, mem.i64(req + 8)?);
    if a.int(1) & TIMER_ABSTIME != 0 {
        if !(0..1_000_000_000).contains(&nsec) {
            return Err(Errno::EINVAL.into());
        }
        let target = sec.saturating_mul(1_000_000_000).saturating_add(nsec);
        let now = lp.clock_now(id)?;
        return sleep_for(lp, target.saturating_sub(now).max(0) as u64);
    }
    let ns = structs::timespec_duration(sec, nsec)?;
    sleep_for(lp, ns)
}
