//! Clocks and waiting: `clock_res_get`, `clock_time_get`, `poll_oneoff`, `sched_yield`.
//!
//! Clocks: `REALTIME` is the kernel's clock (so a container's time can be fixed or
//! offset); `MONOTONIC` counts nanoseconds from the first time any host asked (one origin
//! for every process, so they can compare readings); the cputime clocks count the
//! monotonic time since this process's host was made (an approximation: processes are not
//! charged CPU time).
//!
//! `poll_oneoff` blocks its thread until a subscription is ready, without spinning: it
//! registers one [`Waiter`] with every pipe end and host stream it waits for (see
//! [`crate::kernel::Watch`]) and with the process's interrupt, then sleeps until one wakes
//! it or the earliest clock deadline passes. Files are always ready. A host stream that
//! cannot be watched is re-checked every [`UNWATCHED_RECHECK`].

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::errno::{Fail, WResult, WasiErrno};
use super::host::{Args, WasiProcess};
use super::memory::GuestMemory;
use super::types::{
    EVENT_SIZE, FD_READWRITE_HANGUP, SUBSCRIPTION_CLOCK_ABSTIME, SUBSCRIPTION_SIZE, check_flags,
    clockid, eventtype,
};
use crate::kernel::interrupt::Waiter;
use crate::kernel::{FileDescription, Target, Waker, Watch, Whence};

/// The most subscriptions one `poll_oneoff` takes (`NOMEM` beyond, wasmtime-wasi's answer
/// when a call would copy too much): it bounds the host memory of one call.
pub const MAX_SUBSCRIPTIONS: u32 = 1 << 16;

/// How often a wait re-checks a host stream that cannot wake it (see
/// [`crate::kernel::HostStream::watch`]).
pub const UNWATCHED_RECHECK: Duration = Duration::from_millis(10);

/// The origin of `MONOTONIC`.
fn monotonic_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A subscription as read from guest memory.
#[derive(Debug, Clone, Copy)]
enum RawSub {
    Clock {
        id: u32,
        timeout: u64,
        abstime: bool,
    },
    FdRead(i32),
    FdWrite(i32),
}

/// Reads the 48-byte subscription at `ptr`: (userdata, contents).
fn read_subscription(mem: &GuestMemory<'_>, ptr: u32) -> WResult<(u64, RawSub)> {
    mem.check(ptr, u64::from(SUBSCRIPTION_SIZE))?;
    let at = |off: u32| ptr.wrapping_add(off);
    let userdata = mem.read_u64(ptr)?;
    let sub = match mem.read_u8(at(8))? {
        eventtype::CLOCK => {
            let id = mem.read_u32(at(16))?;
            if id > clockid::THREAD_CPUTIME_ID {
                return Err(Fail::Wasi(WasiErrno::INVAL));
            }
            let flags = check_flags(mem.read_u16(at(40))?, SUBSCRIPTION_CLOCK_ABSTIME)?;
            RawSub::Clock {
                id,
                timeout: mem.read_u64(at(24))?,
                abstime: flags & SUBSCRIPTION_CLOCK_ABSTIME != 0,
            }
        }
        eventtype::FD_READ => RawSub::FdRead(mem.read_u32(at(16))? as i32),
        eventtype::FD_WRITE => RawSub::FdWrite(mem.read_u32(at(16))? as i32),
        _ => return Err(Fail::Wasi(WasiErrno::INVAL)),
    };
    Ok((userdata, sub))
}

/// What a subscription waits for.
enum Sub {
    /// A deadline; `None` if it is too far to represent (never fires).
    Clock(Option<Instant>),
    Read(Arc<FileDescription>),
    Write(Arc<FileDescription>),
}

/// An event to report.
#[derive(Debug, Clone, Copy, Default)]
struct Event {
    error: u16,
    nbytes: u64,
    flags: u16,
}

/// Writes the 32-byte event for subscription `userdata` of type `kind` at `ptr`.
fn write_event(
    mem: &mut GuestMemory<'_>,
    ptr: u32,
    userdata: u64,
    kind: u8,
    e: Event,
) -> WResult<()> {
    mem.check(ptr, u64::from(EVENT_SIZE))?;
    let at = |off: u32| ptr.wrapping_add(off);
    mem.write_u64(ptr, userdata)?;
    mem.write_u16(at(8), e.error)?;
    mem.write_u8(at(10), kind)?;
    mem.write_u64(at(16), e.nbytes)?;
    mem.write_u16(at(24), e.flags)
}

/// Whether `sub` is ready at `now`, and its event if so.
fn ready(sub: &Sub, now: Instant) -> Option<Event> {
    match sub {
        Sub::Clock(deadline) => deadline.filter(|d| *d <= now).map(|_| Event::default()),
        Sub::Read(file) => match file.target() {
            Target::Regular(_) | Target::Device(_) => {
                // As wasmtime-wasi: ready, one byte, hung up at the end of the file.
                let pos = file.lseek(0, Whence::Cur).unwrap_or(0);
                let at_end = file.fstat().size <= pos;
                Some(Event {
                    nbytes: 1,
                    flags: if at_end { FD_READWRITE_HANGUP } else { 0 },
                    ..Event::default()
                })
            }
            target => {
                let r = file.readiness();
                r.readable.then(|| Event {
                    nbytes: match target {
                        Target::PipeRead(p) => p.available() as u64,
                        Target::Fifo(f) => f.reader().map_or(1, |r| r.available() as u64),
                        _ => 1,
                    },
                    flags: if r.hangup { FD_READWRITE_HANGUP } else { 0 },
                    ..Event::default()
                })
            }
        },
        Sub::Write(file) => match file.target() {
            Target::Regular(_) | Target::Device(_) => Some(Event {
                nbytes: 1,
                ..Event::default()
            }),
            _ => {
                let r = file.readiness();
                if r.error {
                    Some(Event {
                        error: WasiErrno::PIPE.0,
                        ..Event::default()
                    })
                } else {
                    r.writable.then_some(Event {
                        nbytes: 1,
                        ..Event::default()
                    })
                }
            }
        },
    }
}

impl WasiProcess {
    /// The time of clock `id` in nanoseconds (`INVAL` for an unknown clock).
    fn clock_now(&self, id: u32) -> WResult<u64> {
        match id {
            clockid::REALTIME => Ok(u64::try_from(self.kernel.clock().now()).unwrap_or(0)),
            clockid::MONOTONIC => Ok(nanos(monotonic_origin().elapsed())),
            clockid::PROCESS_CPUTIME_ID | clockid::THREAD_CPUTIME_ID => {
                Ok(nanos(self.started.elapsed()))
            }
            _ => Err(Fail::Wasi(WasiErrno::INVAL)),
        }
    }

    /// Clock_res_get implements preview1 `clock_res_get(id, *resolution)`: 1 ns for
    /// every clock (Linux's `clock_getres` on the clocks behind them).
    pub(super) fn clock_res_get(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        a.enum_u32(0, clockid::THREAD_CPUTIME_ID)?;
        mem.write_u64(a.u32(1), 1)
    }

    /// Clock_time_get implements preview1 `clock_time_get(id, precision, *time)`.
    pub(super) fn clock_time_get(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let id = a.enum_u32(0, clockid::THREAD_CPUTIME_ID)?;
        let now = self.clock_now(id)?;
        mem.write_u64(a.u32(2), now)
    }

    /// Sched_yield implements preview1 `sched_yield()`: the OS thread yields.
    pub(super) fn sched_yield(&mut self, _mem: &mut GuestMemory<'_>, _a: Args<'_>) -> WResult<()> {
        std::thread::yield_now();
        Ok(())
    }

    /// Sleeps until `deadline` (`None`: forever), waking early only to end the process
    /// when its interrupt is set (`EINTR`).
    fn sleep_until(&self, deadline: Option<Instant>) -> WResult<()> {
        let waiter = Arc::new(Waiter::default());
        let intr = self.process.interrupt();
        let _registration = intr.register(Arc::clone(&waiter) as Arc<dyn Waker>);
        loop {
            let seen = waiter.generation();
            if deadline.is_some_and(|d| d <= Instant::now()) {
                return Ok(());
            }
            intr.check()?;
            waiter.wait(seen, deadline);
        }
    }

    /// Poll_oneoff implements preview1 `poll_oneoff(in, out, nsubscriptions, *nevents)`:
    /// waits until at least one subscription is ready, then writes an event for each
    /// ready one, in subscription order. A bad fd fails the whole call with `BADF` (an fd
    /// that cannot be read, for `FD_READ`, or written, for `FD_WRITE`, too), as in
    /// wasmtime-wasi; so does a cputime clock (`INVAL`), except alone and relative, where
    /// (as there) it is a plain sleep.
    pub(super) fn poll_oneoff(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let (subs_ptr, events_ptr, nsubs, nevents_ptr) = (a.u32(0), a.u32(1), a.u32(2), a.u32(3));
        if nsubs == 0 {
            return Err(Fail::Wasi(WasiErrno::INVAL));
        }
        if nsubs > MAX_SUBSCRIPTIONS {
            return Err(Fail::Wasi(WasiErrno::NOMEM));
        }
        mem.check(subs_ptr, u64::from(nsubs) * u64::from(SUBSCRIPTION_SIZE))?;
        let raw: Vec<(u64, RawSub)> = (0..nsubs)
            .map(|i| read_subscription(mem, subs_ptr.wrapping_add(i * SUBSCRIPTION_SIZE)))
            .collect::<WResult<_>>()?;
        let start = Instant::now();
        // One relative clock alone: a sleep, as wasmtime-wasi special-cases it (whatever
        // the clock, and with 1 in `nbytes`).
        if let [
            (
                userdata,
                RawSub::Clock {
                    timeout,
                    abstime: false,
                    ..
                },
            ),
        ] = raw[..]
        {
            self.sleep_until(start.checked_add(Duration::from_nanos(timeout)))?;
            let event = Event {
                nbytes: 1,
                ..Event::default()
            };
            write_event(mem, events_ptr, userdata, eventtype::CLOCK, event)?;
            return mem.write_u32(nevents_ptr, 1);
        }
        let mut subs = Vec::with_capacity(raw.len());
        for &(_, sub) in &raw {
            subs.push(match sub {
                RawSub::Clock {
                    id,
                    timeout,
                    abstime,
                } => {
                    let after = match (id, abstime) {
                        (clockid::MONOTONIC, true) => {
                            let origin = monotonic_origin();
                            let ns = timeout.saturating_sub(nanos(start.duration_since(origin)));
                            Duration::from_nanos(ns)
                        }
                        (clockid::REALTIME, true) => {
                            Duration::from_nanos(timeout.saturating_sub(self.clock_now(id)?))
                        }
                        (clockid::MONOTONIC | clockid::REALTIME, false) => {
                            Duration::from_nanos(timeout)
                        }
                        _ => return Err(Fail::Wasi(WasiErrno::INVAL)),
                    };
                    Sub::Clock(start.checked_add(after))
                }
                RawSub::FdRead(fd) => {
                    let file = self.file(fd)?;
                    let ok = match file.target() {
                        Target::Regular(_) | Target::Device(_) | Target::PipeRead(_) => true,
                        Target::Host(_) | Target::Fifo(_) => file.status_flags().readable(),
                        _ => false,
                    };
                    if !ok {
                        return Err(Fail::Wasi(WasiErrno::BADF));
                    }
                    Sub::Read(file)
                }
                RawSub::FdWrite(fd) => {
                    let file = self.file(fd)?;
                    let ok = match file.target() {
                        Target::Regular(_) | Target::Device(_) | Target::PipeWrite(_) => true,
                        Target::Host(_) | Target::Fifo(_) => file.status_flags().writable(),
                        _ => false,
                    };
                    if !ok {
                        return Err(Fail::Wasi(WasiErrno::BADF));
                    }
                    Sub::Write(file)
                }
            });
        }
        let events = self.wait_ready(&subs)?;
        let mut count = 0u32;
        for ((userdata, raw), event) in raw.iter().zip(&events) {
            let Some(event) = event else { continue };
            let kind = match raw {
                RawSub::Clock { .. } => eventtype::CLOCK,
                RawSub::FdRead(_) => eventtype::FD_READ,
                RawSub::FdWrite(_) => eventtype::FD_WRITE,
            };
            let at = events_ptr.wrapping_add(count.wrapping_mul(EVENT_SIZE));
            write_event(mem, at, *userdata, kind, *event)?;
            count += 1;
        }
        mem.write_u32(nevents_ptr, count)
    }

    /// Blocks until at least one of `subs` is ready (or the process is interrupted:
    /// `EINTR`), and returns the event of each ready one.
    fn wait_ready(&self, subs: &[Sub]) -> WResult<Vec<Option<Event>>> {
        let waiter = Arc::new(Waiter::default());
        let intr = self.process.interrupt();
        let _registration = intr.register(Arc::clone(&waiter) as Arc<dyn Waker>);
        let mut unwatched = false;
        let _watches: Vec<Watch> = subs
            .iter()
            .filter_map(|s| match s {
                Sub::Read(f) | Sub::Write(f) => {
                    let w = f.watch(Arc::clone(&waiter) as Arc<dyn Waker>);
                    if w.is_none() && matches!(f.target(), Target::Host(_)) {
                        unwatched = true;
                    }
                    w
                }
                Sub::Clock(_) => None,
            })
            .collect();
        let first_deadline = subs
            .iter()
            .filter_map(|s| match s {
                Sub::Clock(d) => *d,
                _ => None,
            })
            .min();
        loop {
            let seen = waiter.generation();
            let now = Instant::now();
            let events: Vec<Option<Event>> = subs.iter().map(|s| ready(s, now)).collect();
            if events.iter().any(Option::is_some) {
                return Ok(events);
            }
            intr.check()?;
            let recheck = unwatched
                .then(|| now.checked_add(UNWATCHED_RECHECK))
                .flatten();
            let until = match (first_deadline, recheck) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            waiter.wait(seen, until);
        }
    }
}
