//! Calls on fds: `read`/`write` and their vectored and positioned forms, `lseek`,
//! `close`, `dup*`, `pipe*`, `fcntl`, `ioctl`, `getdents*`, `sendfile`,
//! `copy_file_range`, sync and advice calls, `memfd_create`.
//!
//! Every fd is the kernel core's, shared with the process's WASI host and with other
//! processes through pipes and inheritance. A write that finds a pipe without readers
//! fails with `EPIPE` and raises `SIGPIPE` at the writer, as on Linux (its default
//! action ends the process, which is how `yes | head` ends).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::memory::{MAX_BOUNCE, MAX_RW_COUNT, Mem};
use super::{Args, LinuxProcess, SysResult, signal, structs};
use crate::kernel::fdtable::FD_CLOEXEC;
use crate::kernel::{Errno, FileDescription, KResult, OFlags, PIPE_CAPACITY, Target, Whence};

/// One piece of a `sendfile` or `copy_file_range` copy through the host.
const COPY_CHUNK: usize = 64 * 1024;

/// The largest `getdents` buffer filled per call (a bigger `count` is a short read).
const MAX_DENTS: u64 = 1 << 20;

/// `statfs` magic numbers.
const TMPFS_MAGIC: i64 = 0x0102_1994;
const PIPEFS_MAGIC: i64 = 0x5049_5045;

impl LinuxProcess {
    /// The description `fd` names (`EBADF`).
    pub(super) fn file(&self, fd: i32) -> KResult<Arc<FileDescription>> {
        self.process.file(fd)
    }

    /// `r` with `SIGPIPE` raised at this process for `EPIPE`.
    fn sigpipe<T>(&self, r: KResult<T>) -> KResult<T> {
        if r.as_ref().err() == Some(&Errno::EPIPE) {
            let me = Arc::clone(&self.process);
            self.send_signal(&me, signal::SIGPIPE);
        }
        r
    }

    /// What `statfs` says about the filesystem a file is on.
    pub(super) fn statfs_answer(&self, pipe: bool) -> structs::StatFs {
        const BSIZE: u64 = 4096;
        let max = self.kernel.limits().max_writable_bytes;
        let used = self.kernel.vfs().writable_bytes().min(max);
        let files = max / 256;
        structs::StatFs {
            fs_type: if pipe { PIPEFS_MAGIC } else { TMPFS_MAGIC },
            bsize: BSIZE as i64,
            blocks: max / BSIZE,
            bfree: (max - used) / BSIZE,
            files,
            ffree: files.saturating_sub(used / 256),
            namelen: 255,
            // ST_VALID | ST_RELATIME, as a container's root shows.
            flags: 0x1020,
        }
    }
}

fn is_pipe(file: &FileDescription) -> bool {
    matches!(
        file.target(),
        Target::PipeRead(_) | Target::PipeWrite(_) | Target::Fifo(_) | Target::Host(_)
    )
}

fn ok(v: impl TryInto<i64>) -> SysResult {
    Ok(v.try_into().unwrap_or(i64::MAX))
}

/// Read implements Linux syscall read(2).
pub(super) fn read(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let file = lp.file(a.fd(0))?;
    let buf = mem.bytes_mut_upto(a.ptr(1), a.u64(2).min(MAX_RW_COUNT))?;
    ok(file.read(buf, lp.intr())?)
}

/// Write implements Linux syscall write(2).
pub(super) fn write(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let file = lp.file(a.fd(0))?;
    let buf = mem.bytes(a.ptr(1), a.u64(2).min(MAX_RW_COUNT))?;
    ok(lp.sigpipe(file.write(buf, lp.intr()))?)
}

/// Readv implements Linux syscall readv(2). Several buffers are filled from one read
/// into a bounce buffer (so a pipe is read once, as Linux does).
pub(super) fn readv(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let file = lp.file(a.fd(0))?;
    let iovs = mem.iovecs(a.ptr(1), iov_count(a)?)?;
    let total = mem.check_iovecs(&iovs)?;
    let nonempty: Vec<_> = iovs.iter().filter(|v| v.len > 0).collect();
    if let [one] = nonempty[..] {
        let buf = mem.bytes_mut(one.base, one.len.min(MAX_RW_COUNT))?;
        return ok(file.read(buf, lp.intr())?);
    }
    let mut tmp = vec![0u8; total.min(MAX_BOUNCE) as usize];
    let n = file.read(&mut tmp, lp.intr())?;
    mem.scatter(&iovs, &tmp[..n])?;
    ok(n)
}

/// The `iovcnt` argument (`EINVAL` if negative).
fn iov_count(a: Args) -> KResult<u64> {
    u64::try_from(a.int(2)).map_err(|_| Errno::EINVAL)
}

/// Writev implements Linux syscall writev(2).
pub(super) fn writev(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let file = lp.file(a.fd(0))?;
    let iovs = mem.iovecs(a.ptr(1), iov_count(a)?)?;
    let bufs = mem.gather(&iovs)?;
    ok(lp.sigpipe(file.writev(&bufs, lp.intr()))?)
}

/// An offset argument (`EINVAL` if negative).
fn offset(raw: i64) -> KResult<u64> {
    u64::try_from(raw).map_err(|_| Errno::EINVAL)
}

/// Pread64 implements Linux syscall pread64(2).
pub(super) fn pread64(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let file = lp.file(a.fd(0))?;
    let off = offset(a.raw(3))?;
    let buf = mem.bytes_mut_upto(a.ptr(1), a.u64(2).min(MAX_RW_COUNT))?;
    ok(file.pread(buf, off)?)
}

/// Pwrite64 implements Linux syscall pwrite64(2).
pub(super) fn pwrite64(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let file = lp.file(a.fd(0))?;
    let off = offset(a.raw(3))?;
    let buf = mem.bytes(a.ptr(1), a.u64(2).min(MAX_RW_COUNT))?;
    ok(file.pwrite(buf, off)?)
}

/// Reads at `off` into the `iovs` of `a` (through a bounce buffer).
fn preadv_at(lp: &LinuxProcess, mem: &mut Mem<'_>, a: Args, off: Option<u64>) -> SysResult {
    let file = lp.file(a.fd(0))?;
    let iovs = mem.iovecs(a.ptr(1), iov_count(a)?)?;
    let total = mem.check_iovecs(&iovs)?;
    let mut tmp = vec![0u8; total.min(MAX_BOUNCE) as usize];
    let n = match off {
        Some(off) => file.pread(&mut tmp, off)?,
        None => file.read(&mut tmp, lp.intr())?,
    };
    mem.scatter(&iovs, &tmp[..n])?;
    ok(n)
}

/// Writes the `iovs` of `a` at `off`, buffer by buffer, stopping at a short write.
fn pwritev_at(lp: &LinuxProcess, mem: &mut Mem<'_>, a: Args, off: Option<u64>) -> SysResult {
    let file = lp.file(a.fd(0))?;
    let iovs = mem.iovecs(a.ptr(1), iov_count(a)?)?;
    let bufs = mem.gather(&iovs)?;
    let Some(mut off) = off else {
        return ok(lp.sigpipe(file.writev(&bufs, lp.intr()))?);
    };
    let mut done = 0usize;
    for b in bufs {
        let n = match file.pwrite(b, off) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e.into()),
            Err(_) => break,
        };
        done += n;
        off += n as u64;
        if n < b.len() {
            break;
        }
    }
    ok(done)
}

/// Preadv implements Linux syscall preadv(2): `preadv(fd, iov, iovcnt, pos_l, pos_h)`
/// (on x86-64 `pos_l` holds the whole offset).
pub(super) fn preadv(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let off = offset(a.raw(3))?;
    preadv_at(lp, mem, a, Some(off))
}

/// Pwritev implements Linux syscall pwritev(2).
pub(super) fn pwritev(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let off = offset(a.raw(3))?;
    pwritev_at(lp, mem, a, Some(off))
}

/// `RWF_*` flags preadv2/pwritev2 know.
const RWF_ALL: u32 = 0x3f;

/// Preadv2 implements Linux syscall preadv2(2): offset -1 reads at the file position.
pub(super) fn preadv2(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    if a.uint(5) & !RWF_ALL != 0 {
        return Err(Errno::EOPNOTSUPP.into());
    }
    let off = match a.raw(3) {
        -1 => None,
        o => Some(offset(o)?),
    };
    preadv_at(lp, mem, a, off)
}

/// Pwritev2 implements Linux syscall pwritev2(2): offset -1 writes at the file position.
pub(super) fn pwritev2(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    if a.uint(5) & !RWF_ALL != 0 {
        return Err(Errno::EOPNOTSUPP.into());
    }
    let off = match a.raw(3) {
        -1 => None,
        o => Some(offset(o)?),
    };
    pwritev_at(lp, mem, a, off)
}

/// Lseek implements Linux syscall lseek(2).
pub(super) fn lseek(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    let file = lp.file(a.fd(0))?;
    let whence = Whence::from_raw(a.uint(2))?;
    ok(file.lseek(a.raw(1), whence)?)
}

/// Close implements Linux syscall close(2).
pub(super) fn close(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    lp.process.close(a.fd(0))?;
    ok(0)
}

/// Close_range implements Linux syscall close_range(2): `close_range(first, last,
/// flags)` with `CLOSE_RANGE_CLOEXEC` (and `CLOSE_RANGE_UNSHARE`, a no-op: fd tables
/// are not shared).
pub(super) fn close_range(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    const UNSHARE: u32 = 2;
    const CLOEXEC: u32 = 4;
    let (first, last, flags) = (a.uint(0), a.uint(1), a.uint(2));
    if flags & !(UNSHARE | CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL.into());
    }
    let mut closed = Vec::new();
    {
        let mut table = lp.process.fds();
        let fds: Vec<i32> = table
            .iter()
            .map(|(fd, _, _)| fd)
            .filter(|&fd| (first..=last).contains(&(fd as u32)))
            .collect();
        for fd in fds {
            if flags & CLOEXEC != 0 {
                table.set_cloexec(fd, true)?;
            } else if let Ok(f) = table.close(fd) {
                closed.push(f);
            }
        }
    }
    drop(closed);
    ok(0)
}

/// Dup implements Linux syscall dup(2).
pub(super) fn dup(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    let fd = lp.process.fds().dup(a.fd(0))?;
    ok(fd)
}

/// Dup2 implements Linux syscall dup2(2).
pub(super) fn dup2(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    let (old, new) = (a.fd(0), a.fd(1));
    if old == new {
        lp.file(old)?;
        return ok(new);
    }
    ok(lp.process.dup2(old, new)?)
}

/// Dup3 implements Linux syscall dup3(2) (`O_CLOEXEC` only).
pub(super) fn dup3(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    let flags = a.uint(2);
    if flags & !OFlags::CLOEXEC.bits() != 0 {
        return Err(Errno::EINVAL.into());
    }
    ok(lp.process.dup3(a.fd(0), a.fd(1), flags != 0)?)
}

/// Makes a pipe and stores its fds at `out` (checked first, so a bad pointer makes
/// no fds).
fn make_pipe(lp: &LinuxProcess, mem: &mut Mem<'_>, out: u64, flags: OFlags) -> SysResult {
    mem.check(out, 8)?;
    let [r, w] = lp.kernel.pipe2(&lp.process, flags)?;
    mem.put_i32(out, r)?;
    mem.put_i32(out + 4, w)?;
    ok(0)
}

/// Pipe implements Linux syscall pipe(2).
pub(super) fn pipe(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    make_pipe(lp, mem, a.ptr(0), OFlags::empty())
}

/// Pipe2 implements Linux syscall pipe2(2) (`O_CLOEXEC`, `O_NONBLOCK`, `O_DIRECT`).
pub(super) fn pipe2(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let allowed = OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::DIRECT;
    let flags = OFlags::from_bits_retain(a.uint(1));
    if flags.without(allowed) != OFlags::empty() {
        return Err(Errno::EINVAL.into());
    }
    make_pipe(lp, mem, a.ptr(0), flags)
}

/// `fcntl` commands.
mod f {
    pub const DUPFD: i32 = 0;
    pub const GETFD: i32 = 1;
    pub const SETFD: i32 = 2;
    pub const GETFL: i32 = 3;
    pub const SETFL: i32 = 4;
    pub const GETLK: i32 = 5;
    pub const SETLK: i32 = 6;
    pub const SETLKW: i32 = 7;
    pub const SETOWN: i32 = 8;
    pub const GETOWN: i32 = 9;
    pub const SETSIG: i32 = 10;
    pub const GETSIG: i32 = 11;
    pub const OFD_GETLK: i32 = 36;
    pub const OFD_SETLK: i32 = 37;
    pub const OFD_SETLKW: i32 = 38;
    pub const GETLEASE: i32 = 1025;
    pub const DUPFD_CLOEXEC: i32 = 1030;
    pub const SETPIPE_SZ: i32 = 1031;
    pub const GETPIPE_SZ: i32 = 1032;
}

/// Fcntl implements Linux syscall fcntl(2) (the commands in the table's note).
pub(super) fn fcntl(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let fd = a.fd(0);
    let file = lp.file(fd)?;
    match a.int(1) {
        cmd @ (f::DUPFD | f::DUPFD_CLOEXEC) => {
            let min = a.int(2);
            if min < 0 || min as u64 >= lp.rlimit_nofile() {
                return Err(Errno::EINVAL.into());
            }
            let new = lp
                .process
                .fds()
                .insert_from(min, file, cmd == f::DUPFD_CLOEXEC)?;
            ok(new)
        }
        f::GETFD => {
            let cloexec = lp.process.fds().cloexec(fd)?;
            ok(if cloexec { FD_CLOEXEC } else { 0 })
        }
        f::SETFD => {
            lp.process
                .fds()
                .set_cloexec(fd, a.uint(2) & FD_CLOEXEC != 0)?;
            ok(0)
        }
        f::GETFL => ok(file.status_flags().bits()),
        f::SETFL => {
            if matches!(file.target(), Target::Path(_)) {
                return Err(Errno::EBADF.into());
            }
            file.set_status_flags(OFlags::from_bits_retain(a.uint(2)));
            ok(0)
        }
        cmd @ (f::GETLK | f::SETLK | f::SETLKW | f::OFD_GETLK | f::OFD_SETLK | f::OFD_SETLKW) => {
            let at = a.ptr(2);
            let mut raw = [0u8; structs::FLOCK_SIZE];
            raw.copy_from_slice(mem.bytes(at, structs::FLOCK_SIZE as u64)?);
            let l_type = i16::from_le_bytes([raw[0], raw[1]]);
            let ofd = matches!(cmd, f::OFD_GETLK | f::OFD_SETLK | f::OFD_SETLKW);
            if !(0..=2).contains(&l_type) || (ofd && raw[24..28] != [0; 4]) {
                return Err(Errno::EINVAL.into());
            }
            if matches!(file.target(), Target::Path(_)) {
                return Err(Errno::EBADF.into());
            }
            if matches!(cmd, f::GETLK | f::OFD_GETLK) {
                mem.write(at, &structs::flock_unlocked(raw))?;
                return ok(0);
            }
            let status = file.status_flags();
            if (l_type == 0 && !status.readable()) || (l_type == 1 && !status.writable()) {
                return Err(Errno::EBADF.into());
            }
            ok(0)
        }
        f::GETOWN | f::GETSIG => ok(0),
        f::SETOWN | f::SETSIG => ok(0),
        f::GETLEASE => ok(2),
        f::GETPIPE_SZ => match file.target() {
            Target::PipeRead(_) | Target::PipeWrite(_) | Target::Fifo(_) => ok(PIPE_CAPACITY),
            _ => Err(Errno::EBADF.into()),
        },
        f::SETPIPE_SZ => match file.target() {
            Target::PipeRead(_) | Target::PipeWrite(_) | Target::Fifo(_)
                if a.u64(2) <= PIPE_CAPACITY as u64 =>
            {
                ok(PIPE_CAPACITY)
            }
            Target::PipeRead(_) | Target::PipeWrite(_) | Target::Fifo(_) => {
                Err(Errno::EPERM.into())
            }
            _ => Err(Errno::EBADF.into()),
        },
        _ => Err(Errno::EINVAL.into()),
    }
}

/// `ioctl` requests this ABI answers.
mod req {
    pub const FIONREAD: u32 = 0x541b;
    pub const FIONBIO: u32 = 0x5421;
    pub const FIONCLEX: u32 = 0x5450;
    pub const FIOCLEX: u32 = 0x5451;
    pub const FIOASYNC: u32 = 0x5452;
}

/// Ioctl implements Linux syscall ioctl(2): no fd is a terminal (`TCGETS`,
/// `TIOCGWINSZ`, `TIOCGPGRP` and every other request: `ENOTTY`), `FIONREAD` counts what
/// a read would get, `FIONBIO`/`FIOASYNC` set flags, `FIOCLEX`/`FIONCLEX` the fd's
/// close-on-exec flag.
pub(super) fn ioctl(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let fd = a.fd(0);
    let file = lp.file(fd)?;
    if matches!(file.target(), Target::Path(_)) {
        return Err(Errno::EBADF.into());
    }
    match a.uint(1) {
        req::FIOCLEX | req::FIONCLEX => {
            lp.process
                .fds()
                .set_cloexec(fd, a.uint(1) == req::FIOCLEX)?;
            ok(0)
        }
        req::FIONBIO => {
            let on = mem.i32(a.ptr(2))? != 0;
            let flags = file.status_flags();
            file.set_status_flags(if on {
                flags | OFlags::NONBLOCK
            } else {
                flags.without(OFlags::NONBLOCK)
            });
            ok(0)
        }
        req::FIOASYNC => {
            mem.i32(a.ptr(2))?;
            ok(0)
        }
        req::FIONREAD => {
            let n: u64 = match file.target() {
                Target::PipeRead(p) => p.available() as u64,
                Target::Fifo(f) => f.reader().map_or(0, |r| r.available() as u64),
                Target::PipeWrite(_) => 0,
                Target::Regular(i) => {
                    let pos = file.lseek(0, Whence::Cur).unwrap_or(0);
                    i.size().saturating_sub(pos)
                }
                Target::Host(_) => u64::from(file.readiness().readable),
                _ => return Err(Errno::ENOTTY.into()),
            };
            mem.put_i32(a.ptr(2), n.min(i32::MAX as u64) as i32)?;
            ok(0)
        }
        _ => Err(Errno::ENOTTY.into()),
    }
}

/// Flock implements flock(2): a valid request succeeds without locking.
pub(super) fn flock(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    let file = lp.file(a.fd(0))?;
    if matches!(file.target(), Target::Path(_)) {
        return Err(Errno::EBADF.into());
    }
    match a.int(1) & !4 {
        1 | 2 | 8 => ok(0),
        _ => Err(Errno::EINVAL.into()),
    }
}

/// Fsync implements fsync(2) and fdatasync(2): files are in memory; a pipe is
/// `EINVAL`, as on Linux.
pub(super) fn fsync(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    let file = lp.file(a.fd(0))?;
    if is_pipe(&file) {
        return Err(Errno::EINVAL.into());
    }
    ok(0)
}

/// Syncfs implements syncfs(2).
pub(super) fn syncfs(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    lp.file(a.fd(0))?;
    ok(0)
}

/// Sync implements sync(2).
pub(super) fn sync(_lp: &mut LinuxProcess, _mem: &mut Mem<'_>, _a: Args) -> SysResult {
    ok(0)
}

/// Ftruncate implements Linux syscall ftruncate(2).
pub(super) fn ftruncate(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    lp.file(a.fd(0))?.ftruncate(a.raw(1))?;
    ok(0)
}

/// Appends one directory record (`out`, room, ino, next offset, type, name) if it fits.
type DirentEncoder = fn(&mut Vec<u8>, usize, u64, u64, u8, &[u8]) -> bool;

/// Fills the caller's buffer with directory records made by `record`.
fn dents(lp: &LinuxProcess, mem: &mut Mem<'_>, a: Args, record: DirentEncoder) -> SysResult {
    let file = lp.file(a.fd(0))?;
    let at = a.ptr(1);
    mem.check(at, 1)?;
    let room = a
        .u64(2)
        .min(u64::from(a.uint(2)))
        .min(MAX_DENTS)
        .min(mem.len().saturating_sub(at)) as usize;
    let mut out = Vec::new();
    let mut too_small = false;
    file.getdents(|d| {
        let fits = record(
            &mut out,
            room,
            d.ino,
            d.next,
            d.file_type.dirent_type(),
            &d.name,
        );
        if !fits && out.is_empty() {
            too_small = true;
        }
        fits
    })?;
    if too_small {
        return Err(Errno::EINVAL.into());
    }
    mem.write(at, &out)?;
    ok(out.len())
}

/// Getdents64 implements Linux syscall getdents64(2).
pub(super) fn getdents64(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    dents(lp, mem, a, structs::dirent64)
}

/// Getdents implements Linux syscall getdents(2) (the old `linux_dirent` records).
pub(super) fn getdents(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    dents(lp, mem, a, structs::dirent)
}

/// Fstatfs implements fstatfs(2).
pub(super) fn fstatfs(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let file = lp.file(a.fd(0))?;
    let answer = lp.statfs_answer(is_pipe(&file));
    mem.write(a.ptr(1), &structs::statfs(&answer))?;
    ok(0)
}

/// Copies up to `count` bytes from `input` (at `*in_off` if given) to `output` (at
/// `*out_off` if given), in pieces through the host; stops at end of file or a short
/// write. Returns the bytes copied; an error only if nothing was.
fn copy(
    lp: &LinuxProcess,
    input: &FileDescription,
    mut in_off: Option<&mut u64>,
    output: &FileDescription,
    mut out_off: Option<&mut u64>,
    count: u64,
) -> KResult<u64> {
    let intr = lp.intr();
    let mut buf = vec![0u8; COPY_CHUNK.min(count as usize)];
    let mut done = 0u64;
    while done < count {
        let want = ((count - done) as usize).min(buf.len());
        let read = match in_off.as_deref() {
            Some(&off) => input.pread(&mut buf[..want], off),
            None => input.read(&mut buf[..want], intr),
        };
        let n = match read {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        let written = match out_off.as_deref() {
            Some(&off) => output.pwrite(&buf[..n], off),
            None => lp.sigpipe(output.write(&buf[..n], intr)),
        };
        let w = match written {
            Ok(w) => w,
            Err(e) => {
                if in_off.is_none() {
                    // Give back what was read and not written.
                    let _ = input.lseek(-(n as i64), Whence::Cur);
                }
                if done == 0 {
                    return Err(e);
                }
                break;
            }
        };
        if let Some(off) = in_off.as_deref_mut() {
            *off += w as u64;
        } else if w < n {
            let _ = input.lseek(-((n - w) as i64), Whence::Cur);
        }
        if let Some(off) = out_off.as_deref_mut() {
            *off += w as u64;
        }
        done += w as u64;
        if w < n {
            break;
        }
    }
    Ok(done)
}

/// Sendfile implements Linux syscall sendfile(2): `sendfile(out_fd, in_fd, offset,
/// count)`.
pub(super) fn sendfile(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let output = lp.file(a.fd(0))?;
    let input = lp.file(a.fd(1))?;
    if !input.status_flags().readable() || !output.status_flags().writable() {
        return Err(Errno::EBADF.into());
    }
    if output.status_flags().contains(OFlags::APPEND) {
        return Err(Errno::EINVAL.into());
    }
    let count = a.u64(3).min(MAX_RW_COUNT);
    let at = a.ptr(2);
    let mut off = match at {
        0 => None,
        p => Some(offset(mem.i64(p)?)?),
    };
    let n = copy(lp, &input, off.as_mut(), &output, None, count)?;
    if let Some(off) = off {
        mem.put_u64(at, off)?;
    }
    ok(n)
}

/// Copy_file_range implements Linux syscall copy_file_range(2) between regular files:
/// `copy_file_range(fd_in, off_in, fd_out, off_out, len, flags)`.
pub(super) fn copy_file_range(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    if a.uint(5) != 0 {
        return Err(Errno::EINVAL.into());
    }
    let input = lp.file(a.fd(0))?;
    let output = lp.file(a.fd(2))?;
    if !input.status_flags().readable() || !output.status_flags().writable() {
        return Err(Errno::EBADF.into());
    }
    if output.status_flags().contains(OFlags::APPEND) {
        return Err(Errno::EBADF.into());
    }
    let (Target::Regular(ii), Target::Regular(oi)) = (input.target(), output.target()) else {
        return match (input.target(), output.target()) {
            (Target::Directory(_), _) | (_, Target::Directory(_)) => Err(Errno::EISDIR.into()),
            _ => Err(Errno::EINVAL.into()),
        };
    };
    let (pin, pout) = (a.ptr(1), a.ptr(3));
    let mut in_off = match pin {
        0 => None,
        p => Some(offset(mem.i64(p)?)?),
    };
    let mut out_off = match pout {
        0 => None,
        p => Some(offset(mem.i64(p)?)?),
    };
    let len = a.u64(4).min(MAX_RW_COUNT);
    if Arc::ptr_eq(ii, oi) {
        let start_in = match in_off {
            Some(o) => o,
            None => input.lseek(0, Whence::Cur)?,
        };
        let start_out = match out_off {
            Some(o) => o,
            None => output.lseek(0, Whence::Cur)?,
        };
        let overlap =
            start_in < start_out.saturating_add(len) && start_out < start_in.saturating_add(len);
        if overlap {
            return Err(Errno::EINVAL.into());
        }
    }
    let n = copy(lp, &input, in_off.as_mut(), &output, out_off.as_mut(), len)?;
    if let Some(o) = in_off {
        mem.put_u64(pin, o)?;
    }
    if let Some(o) = out_off {
        mem.put_u64(pout, o)?;
    }
    ok(n)
}

/// Fadvise64 implements fadvise64(2): checked, then nothing to do (files are in
/// memory).
pub(super) fn fadvise64(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    let file = lp.file(a.fd(0))?;
    if is_pipe(&file) {
        return Err(Errno::ESPIPE.into());
    }
    if a.raw(2) < 0 || !(0..=5).contains(&a.int(3)) {
        return Err(Errno::EINVAL.into());
    }
    ok(0)
}

/// Readahead implements readahead(2): a regular file succeeds at once.
pub(super) fn readahead(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    match lp.file(a.fd(0))?.target() {
        Target::Regular(_) => ok(0),
        _ => Err(Errno::EINVAL.into()),
    }
}

/// Fallocate implements fallocate(2) mode 0: the file grows to `offset + len` if
/// shorter.
pub(super) fn fallocate(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    let file = lp.file(a.fd(0))?;
    let (mode, off, len) = (a.int(1), a.raw(2), a.raw(3));
    if off < 0 || len <= 0 {
        return Err(Errno::EINVAL.into());
    }
    if mode != 0 {
        return Err(Errno::EOPNOTSUPP.into());
    }
    if !file.status_flags().writable() {
        return Err(Errno::EBADF.into());
    }
    let inode = match file.target() {
        Target::Regular(i) => i,
        Target::Directory(_) => return Err(Errno::EISDIR.into()),
        Target::PipeRead(_) | Target::PipeWrite(_) | Target::Fifo(_) | Target::Host(_) => {
            return Err(Errno::ESPIPE.into());
        }
        _ => return Err(Errno::ENODEV.into()),
    };
    let end = off.checked_add(len).ok_or(Errno::EFBIG)?;
    if inode.size() < end as u64 {
        file.ftruncate(end)?;
    }
    ok(0)
}

/// Memfd_create implements memfd_create(2) as an unlinked file of the writable layer.
pub(super) fn memfd_create(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    const MFD_CLOEXEC: u32 = 1;
    const MFD_ALLOW_SEALING: u32 = 2;
    const MFD_NOEXEC_SEAL: u32 = 8;
    const MFD_EXEC: u32 = 0x10;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let flags = a.uint(1);
    if flags & !(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL | MFD_EXEC) != 0 {
        return Err(Errno::EINVAL.into());
    }
    match mem.cstr(a.ptr(0), 249) {
        Ok(_) => {}
        Err(Errno::ENAMETOOLONG) => return Err(Errno::EINVAL.into()),
        Err(e) => return Err(e.into()),
    }
    let vfs = lp.kernel.vfs();
    let name = format!(
        "/.memfd-{}-{}",
        lp.process.pid(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let file = vfs.openat(
        vfs.root(),
        name.as_bytes(),
        OFlags::RDWR | OFlags::CREAT | OFlags::EXCL | OFlags::LARGEFILE,
        0o777,
    )?;
    vfs.unlinkat(vfs.root(), name.as_bytes(), 0)?;
    ok(lp.process.install(file, flags & MFD_CLOEXEC != 0)?)
}
