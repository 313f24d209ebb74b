//! Path calls: `open*`, the `stat` family, `access`, `readlink`, `mkdir`, `rmdir`,
//! `unlink`, `rename`, `link`, `symlink`, `chmod`, `chown`, the time setters,
//! `truncate`, `getcwd`, `chdir`, `statfs`.
//!
//! Each decodes its arguments (paths are C strings shorter than `PATH_MAX`, `ENOENT`
//! when empty unless `AT_EMPTY_PATH` allows it), resolves the starting directory of a
//! `*at` call with the kernel process's [`crate::kernel::Process::at`], and calls the
//! VFS: the semantics (errnos, symlinks, `O_CREAT` rules) are the core's.

use std::sync::Arc;

use super::memory::Mem;
use super::{Args, LinuxProcess, SysResult, structs};
use crate::kernel::flags::{
    AT_EMPTY_PATH, AT_FDCWD, AT_NO_AUTOMOUNT, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW,
};
use crate::kernel::stat::{FileType, PERM_MASK};
use crate::kernel::{Errno, Fd, Inode, KResult, OFlags, SetTime, Stat, Target, View};

/// `faccessat2` flag: check with the effective ids (the same ids here).
const AT_EACCESS: u32 = 0x200;
/// `statx`'s sync-type bits (`AT_STATX_FORCE_SYNC`, `AT_STATX_DONT_SYNC`).
const AT_STATX_SYNC_TYPE: u32 = 0x6000;

impl LinuxProcess {
    /// The filesystem as this process sees it (`/proc/self` is this process).
    fn vfs(&self) -> View<'_> {
        self.kernel.vfs().view(self.process.pid())
    }

    /// The starting directory of a `*at` call.
    fn at(&self, dirfd: Fd, path: &[u8]) -> KResult<Arc<Inode>> {
        self.process.at(dirfd, path)
    }

    /// The `stat` of `path` from `dirfd`, or of `dirfd` itself for an empty path with
    /// `AT_EMPTY_PATH` (any fd: a pipe's too).
    fn stat_at(&self, dirfd: Fd, path: &[u8], flags: u32) -> KResult<Stat> {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT) != 0 {
            return Err(Errno::EINVAL);
        }
        if path.is_empty() {
            if flags & AT_EMPTY_PATH == 0 {
                return Err(Errno::ENOENT);
            }
            return Ok(if dirfd == AT_FDCWD {
                self.process.cwd().stat()
            } else {
                self.file(dirfd)?.fstat()
            });
        }
        self.vfs().fstatat(&self.at(dirfd, path)?, path, flags)
    }

    /// The inode a path call acts on: `path` from `dirfd` (following a final symlink if
    /// `follow`), or `dirfd`'s own for an empty path with `AT_EMPTY_PATH`.
    fn inode_at(&self, dirfd: Fd, path: &[u8], follow: bool, flags: u32) -> KResult<Arc<Inode>> {
        if path.is_empty() {
            if flags & AT_EMPTY_PATH == 0 {
                return Err(Errno::ENOENT);
            }
            if dirfd == AT_FDCWD {
                return Ok(self.process.cwd());
            }
            return self.file(dirfd)?.inode().cloned().ok_or(Errno::EBADF);
        }
        self.vfs().lookup(&self.at(dirfd, path)?, path, follow)
    }

    /// A path argument that may be empty when `flags` has `AT_EMPTY_PATH`.
    fn path_arg(mem: &Mem<'_>, ptr: u64, flags: u32) -> KResult<Vec<u8>> {
        if flags & AT_EMPTY_PATH != 0 {
            mem.path_or_empty(ptr)
        } else {
            mem.path(ptr)
        }
    }
}

fn ok(v: impl Into<i64>) -> SysResult {
    Ok(v.into())
}

/// Opens `path` from `dirfd` (`O_LARGEFILE` is implied on x86-64, as Linux does).
fn open_at(
    lp: &LinuxProcess,
    mem: &Mem<'_>,
    dirfd: Fd,
    path: u64,
    flags: u32,
    mode: u32,
) -> SysResult {
    let path = mem.path(path)?;
    let flags = OFlags::from_bits_retain(flags) | OFlags::LARGEFILE;
    ok(lp.kernel.openat_waiting(
        &lp.process,
        dirfd,
        &path,
        flags,
        mode & PERM_MASK,
        lp.intr(),
    )?)
}

/// Open implements Linux syscall open(2).
pub(super) fn open(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    open_at(lp, mem, AT_FDCWD, a.ptr(0), a.uint(1), a.uint(2))
}

/// Openat implements Linux syscall openat(2).
pub(super) fn openat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    open_at(lp, mem, a.fd(0), a.ptr(1), a.uint(2), a.uint(3))
}

/// Creat implements Linux syscall creat(2): `open(path, O_CREAT|O_WRONLY|O_TRUNC,
/// mode)`.
pub(super) fn creat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let flags = OFlags::CREAT | OFlags::WRONLY | OFlags::TRUNC;
    open_at(lp, mem, AT_FDCWD, a.ptr(0), flags.bits(), a.uint(1))
}

fn put_stat(mem: &mut Mem<'_>, at: u64, st: &Stat) -> SysResult {
    mem.write(at, &structs::stat(st))?;
    ok(0)
}

/// Stat implements Linux syscall stat(2).
pub(super) fn stat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let path = mem.path(a.ptr(0))?;
    let st = lp.stat_at(AT_FDCWD, &path, 0)?;
    put_stat(mem, a.ptr(1), &st)
}

/// Lstat implements Linux syscall lstat(2).
pub(super) fn lstat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let path = mem.path(a.ptr(0))?;
    let st = lp.stat_at(AT_FDCWD, &path, AT_SYMLINK_NOFOLLOW)?;
    put_stat(mem, a.ptr(1), &st)
}

/// Fstat implements Linux syscall fstat(2).
pub(super) fn fstat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let st = lp.file(a.fd(0))?.fstat();
    put_stat(mem, a.ptr(1), &st)
}

/// The calls on a socket fd (getsockname(2), getpeername(2), connect(2), ...): no
/// socket can exist here (`socket` is not offered), so an open fd is not one
/// (`ENOTSOCK`) and a closed one is `EBADF`, as Linux answers. Bash asks getpeername(0)
/// at start to tell whether its input is a network connection.
pub(super) fn not_a_socket(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    lp.file(a.fd(0))?;
    Err(Errno::ENOTSOCK.into())
}

/// Newfstatat implements Linux syscall newfstatat(2): `newfstatat(dirfd, path, buf,
/// flags)`.
pub(super) fn newfstatat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let flags = a.uint(3);
    let path = LinuxProcess::path_arg(mem, a.ptr(1), flags)?;
    let st = lp.stat_at(a.fd(0), &path, flags)?;
    put_stat(mem, a.ptr(2), &st)
}

/// Statx implements Linux syscall statx(2): `statx(dirfd, path, flags, mask, buf)`;
/// the basic fields whatever the mask asks.
pub(super) fn statx(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let flags = a.uint(2);
    if a.uint(3) & structs::statx_mask::RESERVED != 0
        || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
    {
        return Err(Errno::EINVAL.into());
    }
    let flags = flags & !AT_STATX_SYNC_TYPE;
    let path = if a.ptr(1) == 0 && flags & AT_EMPTY_PATH != 0 {
        Vec::new()
    } else {
        LinuxProcess::path_arg(mem, a.ptr(1), flags)?
    };
    let st = lp.stat_at(a.fd(0), &path, flags)?;
    mem.write(a.ptr(4), &structs::statx(&st))?;
    ok(0)
}

/// The access check: root may read and write anything, and execute a file with an x
/// bit (any directory may be searched).
fn access_check(
    lp: &LinuxProcess,
    mem: &Mem<'_>,
    dirfd: Fd,
    ptr: u64,
    mode: u32,
    flags: u32,
) -> SysResult {
    if mode & !7 != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL.into());
    }
    let path = LinuxProcess::path_arg(mem, ptr, flags)?;
    let st = if path.is_empty() {
        lp.stat_at(dirfd, &path, AT_EMPTY_PATH)?
    } else {
        lp.inode_at(dirfd, &path, flags & AT_SYMLINK_NOFOLLOW == 0, flags)?
            .stat()
    };
    if mode & 1 != 0 && st.file_type() != Some(FileType::Directory) && st.mode & 0o111 == 0 {
        return Err(Errno::EACCES.into());
    }
    ok(0)
}

/// Access implements Linux syscall access(2).
pub(super) fn access(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    access_check(lp, mem, AT_FDCWD, a.ptr(0), a.uint(1), 0)
}

/// Faccessat implements Linux syscall faccessat(2) (the syscall has no flags).
pub(super) fn faccessat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    access_check(lp, mem, a.fd(0), a.ptr(1), a.uint(2), 0)
}

/// Faccessat2 implements Linux syscall faccessat2(2).
pub(super) fn faccessat2(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    access_check(lp, mem, a.fd(0), a.ptr(1), a.uint(2), a.uint(3))
}

/// Reads the link `path` names from `dirfd` into `buf` (at most `size` bytes, no NUL).
fn readlink_at(
    lp: &LinuxProcess,
    mem: &mut Mem<'_>,
    dirfd: Fd,
    ptr: u64,
    buf: u64,
    size: i32,
) -> SysResult {
    if size <= 0 {
        return Err(Errno::EINVAL.into());
    }
    let path = mem.path_or_empty(ptr)?;
    let target = lp.vfs().readlinkat(&lp.at(dirfd, &path)?, &path)?;
    let n = target.len().min(size as usize);
    mem.write(buf, &target[..n])?;
    ok(n as i64)
}

/// Readlink implements Linux syscall readlink(2).
pub(super) fn readlink(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    mem.path(a.ptr(0))?;
    readlink_at(lp, mem, AT_FDCWD, a.ptr(0), a.ptr(1), a.int(2))
}

/// Readlinkat implements Linux syscall readlinkat(2) (an empty path reads the symlink
/// `dirfd` names, opened with `O_PATH|O_NOFOLLOW`).
pub(super) fn readlinkat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    readlink_at(lp, mem, a.fd(0), a.ptr(1), a.ptr(2), a.int(3))
}

/// Mkdir implements Linux syscall mkdir(2).
pub(super) fn mkdir(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let path = mem.path(a.ptr(0))?;
    lp.kernel.mkdirat(&lp.process, AT_FDCWD, &path, a.uint(1))?;
    ok(0)
}

/// Mknod implements Linux syscall mknod(2) (see [`mknodat`]).
pub(super) fn mknod(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let path = mem.path(a.ptr(0))?;
    lp.kernel.mknodat(&lp.process, AT_FDCWD, &path, a.uint(1))?;
    ok(0)
}

/// Mknodat implements Linux syscall mknodat(2): fifos (`mkfifo`) and regular files; the
/// device number is not looked at, as device nodes are `EPERM`.
pub(super) fn mknodat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let path = mem.path(a.ptr(1))?;
    lp.kernel.mknodat(&lp.process, a.fd(0), &path, a.uint(2))?;
    ok(0)
}

/// Mkdirat implements Linux syscall mkdirat(2).
pub(super) fn mkdirat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let path = mem.path(a.ptr(1))?;
    lp.kernel.mkdirat(&lp.process, a.fd(0), &path, a.uint(2))?;
    ok(0)
}

fn unlink_at(lp: &LinuxProcess, mem: &Mem<'_>, dirfd: Fd, ptr: u64, flags: u32) -> SysResult {
    let path = mem.path(ptr)?;
    lp.vfs().unlinkat(&lp.at(dirfd, &path)?, &path, flags)?;
    ok(0)
}

/// Rmdir implements Linux syscall rmdir(2).
pub(super) fn rmdir(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    unlink_at(lp, mem, AT_FDCWD, a.ptr(0), AT_REMOVEDIR)
}

/// Unlink implements Linux syscall unlink(2).
pub(super) fn unlink(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    unlink_at(lp, mem, AT_FDCWD, a.ptr(0), 0)
}

/// Unlinkat implements Linux syscall unlinkat(2).
pub(super) fn unlinkat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    unlink_at(lp, mem, a.fd(0), a.ptr(1), a.uint(2))
}

fn rename_at(lp: &LinuxProcess, mem: &Mem<'_>, a: [(Fd, u64); 2], flags: u32) -> SysResult {
    let old = mem.path(a[0].1)?;
    let new = mem.path(a[1].1)?;
    let (od, nd) = (lp.at(a[0].0, &old)?, lp.at(a[1].0, &new)?);
    lp.vfs().renameat2(&od, &old, &nd, &new, flags)?;
    ok(0)
}

/// Rename implements Linux syscall rename(2).
pub(super) fn rename(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    rename_at(lp, mem, [(AT_FDCWD, a.ptr(0)), (AT_FDCWD, a.ptr(1))], 0)
}

/// Renameat implements Linux syscall renameat(2).
pub(super) fn renameat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    rename_at(lp, mem, [(a.fd(0), a.ptr(1)), (a.fd(2), a.ptr(3))], 0)
}

/// Renameat2 implements Linux syscall renameat2(2) (flags 0 and `RENAME_NOREPLACE`;
/// `RENAME_EXCHANGE` and `RENAME_WHITEOUT` are `EINVAL`).
pub(super) fn renameat2(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    rename_at(
        lp,
        mem,
        [(a.fd(0), a.ptr(1)), (a.fd(2), a.ptr(3))],
        a.uint(4),
    )
}

fn symlink_at(lp: &LinuxProcess, mem: &Mem<'_>, target: u64, dirfd: Fd, ptr: u64) -> SysResult {
    let target = mem.path(target)?;
    let path = mem.path(ptr)?;
    lp.vfs().symlinkat(&target, &lp.at(dirfd, &path)?, &path)?;
    ok(0)
}

/// Symlink implements Linux syscall symlink(2).
pub(super) fn symlink(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    symlink_at(lp, mem, a.ptr(0), AT_FDCWD, a.ptr(1))
}

/// Symlinkat implements Linux syscall symlinkat(2).
pub(super) fn symlinkat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    symlink_at(lp, mem, a.ptr(0), a.fd(1), a.ptr(2))
}

fn link_at(lp: &LinuxProcess, mem: &Mem<'_>, a: [(Fd, u64); 2], flags: u32) -> SysResult {
    let old = LinuxProcess::path_arg(mem, a[0].1, flags)?;
    let new = mem.path(a[1].1)?;
    let (od, nd) = (lp.at(a[0].0, &old)?, lp.at(a[1].0, &new)?);
    lp.vfs().linkat(&od, &old, &nd, &new, flags)?;
    ok(0)
}

/// Link implements Linux syscall link(2).
pub(super) fn link(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    link_at(lp, mem, [(AT_FDCWD, a.ptr(0)), (AT_FDCWD, a.ptr(1))], 0)
}

/// Linkat implements Linux syscall linkat(2).
pub(super) fn linkat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    link_at(
        lp,
        mem,
        [(a.fd(0), a.ptr(1)), (a.fd(2), a.ptr(3))],
        a.uint(4),
    )
}

fn chmod_at(
    lp: &LinuxProcess,
    mem: &Mem<'_>,
    dirfd: Fd,
    ptr: u64,
    mode: u32,
    flags: u32,
) -> SysResult {
    let path = LinuxProcess::path_arg(mem, ptr, flags)?;
    if path.is_empty() && dirfd != AT_FDCWD {
        lp.file(dirfd)?.fchmod(mode & PERM_MASK)?;
        return ok(0);
    }
    let dir = if path.is_empty() {
        lp.process.cwd()
    } else {
        lp.at(dirfd, &path)?
    };
    lp.vfs().fchmodat(&dir, &path, mode & PERM_MASK, flags)?;
    ok(0)
}

/// Chmod implements Linux syscall chmod(2).
pub(super) fn chmod(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    chmod_at(lp, mem, AT_FDCWD, a.ptr(0), a.uint(1), 0)
}

/// Fchmod implements Linux syscall fchmod(2).
pub(super) fn fchmod(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    lp.file(a.fd(0))?.fchmod(a.uint(1) & PERM_MASK)?;
    ok(0)
}

/// Fchmodat implements Linux syscall fchmodat(2) (no flags argument).
pub(super) fn fchmodat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    chmod_at(lp, mem, a.fd(0), a.ptr(1), a.uint(2), 0)
}

/// Fchmodat2 implements Linux syscall fchmodat2(2).
pub(super) fn fchmodat2(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    chmod_at(lp, mem, a.fd(0), a.ptr(1), a.uint(2), a.uint(3))
}

/// An owner argument: -1 leaves it.
fn id(raw: u32) -> Option<u32> {
    (raw != u32::MAX).then_some(raw)
}

fn chown_at(
    lp: &LinuxProcess,
    mem: &Mem<'_>,
    dirfd: Fd,
    ptr: u64,
    ids: (u32, u32),
    flags: u32,
) -> SysResult {
    let path = LinuxProcess::path_arg(mem, ptr, flags)?;
    let (uid, gid) = (id(ids.0), id(ids.1));
    if path.is_empty() && dirfd != AT_FDCWD {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL.into());
        }
        lp.file(dirfd)?.fchown(uid, gid)?;
        return ok(0);
    }
    let dir = if path.is_empty() {
        lp.process.cwd()
    } else {
        lp.at(dirfd, &path)?
    };
    lp.vfs().fchownat(&dir, &path, uid, gid, flags)?;
    ok(0)
}

/// Chown implements Linux syscall chown(2): owners are recorded (credentials are root's,
/// so any owner may be set).
pub(super) fn chown(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    chown_at(lp, mem, AT_FDCWD, a.ptr(0), (a.uint(1), a.uint(2)), 0)
}

/// Lchown implements Linux syscall lchown(2).
pub(super) fn lchown(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    chown_at(
        lp,
        mem,
        AT_FDCWD,
        a.ptr(0),
        (a.uint(1), a.uint(2)),
        AT_SYMLINK_NOFOLLOW,
    )
}

/// Fchown implements Linux syscall fchown(2).
pub(super) fn fchown(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    lp.file(a.fd(0))?.fchown(id(a.uint(1)), id(a.uint(2)))?;
    ok(0)
}

/// Fchownat implements Linux syscall fchownat(2).
pub(super) fn fchownat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    chown_at(
        lp,
        mem,
        a.fd(0),
        a.ptr(1),
        (a.uint(2), a.uint(3)),
        a.uint(4),
    )
}

/// Sets the times of `path` from `dirfd` (a NULL `path`: `dirfd` itself).
fn set_times(
    lp: &LinuxProcess,
    mem: &Mem<'_>,
    dirfd: Fd,
    ptr: u64,
    times: [SetTime; 2],
    flags: u32,
) -> SysResult {
    if ptr == 0 {
        if dirfd == AT_FDCWD {
            return Err(Errno::EFAULT.into());
        }
        lp.file(dirfd)?.futimens(times[0], times[1])?;
        return ok(0);
    }
    let path = LinuxProcess::path_arg(mem, ptr, flags)?;
    if path.is_empty() && dirfd != AT_FDCWD {
        lp.file(dirfd)?.futimens(times[0], times[1])?;
        return ok(0);
    }
    let dir = if path.is_empty() {
        lp.process.cwd()
    } else {
        lp.at(dirfd, &path)?
    };
    lp.vfs().utimensat(&dir, &path, times, flags)?;
    ok(0)
}

/// Utimensat implements Linux syscall utimensat(2): `utimensat(dirfd, path, times,
/// flags)`.
pub(super) fn utimensat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let times = match a.ptr(2) {
        0 => [SetTime::Now; 2],
        t => [
            SetTime::from_timespec(mem.i64(t)?, mem.i64(t + 8)?)?,
            SetTime::from_timespec(mem.i64(t + 16)?, mem.i64(t + 24)?)?,
        ],
    };
    set_times(lp, mem, a.fd(0), a.ptr(1), times, a.uint(3))
}

/// Two `struct timeval`s at `ptr` as times (NULL: now).
fn timevals(mem: &Mem<'_>, ptr: u64) -> KResult<[SetTime; 2]> {
    if ptr == 0 {
        return Ok([SetTime::Now; 2]);
    }
    let one = |at: u64| -> KResult<SetTime> {
        let (sec, usec) = (mem.i64(at)?, mem.i64(at + 8)?);
        if !(0..1_000_000).contains(&usec) {
            return Err(Errno::EINVAL);
        }
        SetTime::from_timespec(sec, usec * 1000)
    };
    Ok([one(ptr)?, one(ptr + 16)?])
}

/// Utimes implements Linux syscall utimes(2).
pub(super) fn utimes(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    mem.path(a.ptr(0))?;
    let times = timevals(mem, a.ptr(1))?;
    set_times(lp, mem, AT_FDCWD, a.ptr(0), times, 0)
}

/// Futimesat implements Linux syscall futimesat(2).
pub(super) fn futimesat(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let times = timevals(mem, a.ptr(2))?;
    set_times(lp, mem, a.fd(0), a.ptr(1), times, 0)
}

/// Utime implements Linux syscall utime(2): `struct utimbuf` (access, modification
/// seconds) or NULL for now.
pub(super) fn utime(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    mem.path(a.ptr(0))?;
    let times = match a.ptr(1) {
        0 => [SetTime::Now; 2],
        t => [
            SetTime::from_timespec(mem.i64(t)?, 0)?,
            SetTime::from_timespec(mem.i64(t + 8)?, 0)?,
        ],
    };
    set_times(lp, mem, AT_FDCWD, a.ptr(0), times, 0)
}

/// Truncate implements Linux syscall truncate(2).
pub(super) fn truncate(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let path = mem.path(a.ptr(0))?;
    lp.vfs()
        .truncate(&lp.at(AT_FDCWD, &path)?, &path, a.raw(1))?;
    ok(0)
}

/// Getcwd implements Linux syscall getcwd(2): returns the length with the NUL
/// (`ERANGE` if the buffer is smaller).
pub(super) fn getcwd(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let mut cwd = lp.kernel.getcwd(&lp.process)?;
    cwd.push(0);
    if (a.u64(1)) < cwd.len() as u64 {
        return Err(Errno::ERANGE.into());
    }
    mem.write(a.ptr(0), &cwd)?;
    ok(cwd.len() as i64)
}

/// Chdir implements Linux syscall chdir(2).
pub(super) fn chdir(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let path = mem.path(a.ptr(0))?;
    lp.kernel.chdir(&lp.process, &path)?;
    ok(0)
}

/// Fchdir implements Linux syscall fchdir(2).
pub(super) fn fchdir(lp: &mut LinuxProcess, _mem: &mut Mem<'_>, a: Args) -> SysResult {
    let file = lp.file(a.fd(0))?;
    let dir = match file.target() {
        Target::Directory(i) | Target::Path(i) => Arc::clone(i),
        _ => return Err(Errno::ENOTDIR.into()),
    };
    lp.process.chdir(dir)?;
    ok(0)
}

/// Statfs implements statfs(2): see [`LinuxProcess::statfs_answer`].
pub(super) fn statfs(lp: &mut LinuxProcess, mem: &mut Mem<'_>, a: Args) -> SysResult {
    let path = mem.path(a.ptr(0))?;
    lp.vfs().lookup(&lp.at(AT_FDCWD, &path)?, &path, true)?;
    mem.write(a.ptr(1), &structs::statfs(&lp.statfs_answer(false)))?;
    ok(0)
}
