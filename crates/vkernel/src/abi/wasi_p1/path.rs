//! The `path_*` functions: the namespace, relative to a directory fd.
//!
//! Each resolves its path arguments beneath the directory ([`super::resolve`]) and hands
//! the last component to the kernel's `*at` operation. The directory fd must name a
//! directory (`BADF` otherwise, `NOTDIR` for a file in `path_open`), as in wasmtime-wasi.

use std::sync::Arc;

use super::errno::{Fail, WResult, WasiErrno};
use super::fd::set_times;
use super::host::{Args, Rights, WasiProcess, description_fdstat};
use super::memory::GuestMemory;
use super::resolve::{Resolved, resolve};
use super::types::{Filestat, check_flags, fdflags, lookupflags, oflags, rights};
use crate::kernel::flags::{AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW};
use crate::kernel::vfs::PATH_MAX;
use crate::kernel::{Inode, OFlags, Target, View};

/// The mode of files `path_open` creates, before the umask (what the host's `open` gives
/// wasmtime-wasi: `0o666`).
const FILE_MODE: u32 = 0o666;
/// The mode of directories `path_create_directory` creates, before the umask.
const DIR_MODE: u32 = 0o777;

impl WasiProcess {
    /// The filesystem as this process sees it (`/proc/self` is this process).
    fn vfs(&self) -> View<'_> {
        self.kernel.vfs().view(self.process.pid())
    }

    /// A path argument (`ptr`, `len`).
    fn path_arg(&self, mem: &GuestMemory<'_>, ptr: u32, len: u32) -> WResult<Vec<u8>> {
        mem.string(ptr, len, PATH_MAX)
    }

    /// Resolves `path` beneath `dir`.
    fn beneath(&self, dir: &Arc<Inode>, path: &[u8], follow: bool) -> WResult<Resolved> {
        Ok(resolve(&self.vfs(), dir, path, follow)?)
    }

    /// Path_create_directory implements preview1 `path_create_directory(fd, path)`.
    pub(super) fn path_create_directory(
        &mut self,
        mem: &mut GuestMemory<'_>,
        a: Args<'_>,
    ) -> WResult<()> {
        let dir = self.dir(a.fd(0), rights::PATH_CREATE_DIRECTORY)?;
        let path = self.path_arg(mem, a.u32(1), a.u32(2))?;
        let r = self.beneath(&dir, &path, false)?;
        let mode = DIR_MODE & !self.process.umask();
        Ok(self.vfs().mkdirat(&r.dir, &r.kernel_path(), mode)?)
    }

    /// Path_filestat_get implements preview1 `path_filestat_get(fd, lookupflags, path,
    /// *filestat)`.
    pub(super) fn path_filestat_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        a: Args<'_>,
    ) -> WResult<()> {
        let follow = check_flags(a.u32(1), lookupflags::ALL)? & lookupflags::SYMLINK_FOLLOW != 0;
        let dir = self.dir(a.fd(0), rights::PATH_FILESTAT_GET)?;
        let path = self.path_arg(mem, a.u32(2), a.u32(3))?;
        let r = self.beneath(&dir, &path, follow)?;
        let flags = if follow { 0 } else { AT_SYMLINK_NOFOLLOW };
        let st = self.vfs().fstatat(&r.dir, &r.kernel_path(), flags)?;
        Filestat::from_stat(&st).write(mem, a.u32(4))
    }

    /// Path_filestat_set_times implements preview1 `path_filestat_set_times(fd,
    /// lookupflags, path, atim, mtim, fst_flags)`.
    pub(super) fn path_filestat_set_times(
        &mut self,
        mem: &mut GuestMemory<'_>,
        a: Args<'_>,
    ) -> WResult<()> {
        let follow = check_flags(a.u32(1), lookupflags::ALL)? & lookupflags::SYMLINK_FOLLOW != 0;
        let times = set_times(a.u64(4), a.u64(5), a.u16(6)?)?;
        let dir = self.dir(a.fd(0), rights::PATH_FILESTAT_SET_TIMES)?;
        let path = self.path_arg(mem, a.u32(2), a.u32(3))?;
        let r = self.beneath(&dir, &path, follow)?;
        let flags = if follow { 0 } else { AT_SYMLINK_NOFOLLOW };
        Ok(self
            .vfs()
            .utimensat(&r.dir, &r.kernel_path(), times, flags)?)
    }

    /// Path_link implements preview1 `path_link(old_fd, old_flags, old_path, new_fd,
    /// new_path)`. Following a symlink in the old path is `INVAL`, as in wasmtime-wasi.
    pub(super) fn path_link(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let flags = check_flags(a.u32(1), lookupflags::ALL)?;
        let old_dir = self.dir(a.fd(0), rights::PATH_LINK_SOURCE)?;
        let new_dir = self.dir(a.fd(4), rights::PATH_LINK_TARGET)?;
        let old_path = self.path_arg(mem, a.u32(2), a.u32(3))?;
        let new_path = self.path_arg(mem, a.u32(5), a.u32(6))?;
        if flags & lookupflags::SYMLINK_FOLLOW != 0 {
            return Err(Fail::Wasi(WasiErrno::INVAL));
        }
        let old = self.beneath(&old_dir, &old_path, false)?;
        let new = self.beneath(&new_dir, &new_path, false)?;
        Ok(self.vfs().linkat(
            &old.dir,
            &old.kernel_path(),
            &new.dir,
            &new.kernel_path(),
            0,
        )?)
    }

    /// Path_open implements preview1 `path_open(fd, dirflags, path, oflags, rights_base,
    /// rights_inheriting, fdflags, *fd)`, translated as wasmtime-wasi does: the file is
    /// opened for writing if `FD_WRITE` is asked or it is created or truncated, for
    /// reading if `FD_READ` is asked or `FD_WRITE` is not; the sync flags are `NOTSUP`;
    /// `DIRECTORY` with `CREAT`, `EXCL` or `TRUNC` is `INVAL`. A directory opens as one
    /// whether `DIRECTORY` is given or not.
    pub(super) fn path_open(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let dirflags = check_flags(a.u32(1), lookupflags::ALL)?;
        let oflags = check_flags(a.u16(4)?, oflags::ALL)?;
        let base = check_flags(a.u64(5), rights::ALL)?;
        check_flags(a.u64(6), rights::ALL)?;
        let fdflags = check_flags(a.u16(7)?, fdflags::ALL)?;
        let path = self.path_arg(mem, a.u32(2), a.u32(3))?;
        let dirfd = a.fd(0);
        let dirfile = self.file(dirfd)?;
        let dir = match dirfile.target() {
            Target::Directory(i) => Arc::clone(i),
            Target::Path(i) if i.is_dir() => Arc::clone(i),
            Target::Regular(_) | Target::Device(_) | Target::Path(_) => {
                return Err(Fail::Wasi(WasiErrno::NOTDIR));
            }
            _ => return Err(Fail::Wasi(WasiErrno::BADF)),
        };
        self.require(dirfd, &dirfile, rights::PATH_OPEN)?;
        let limit = self.shrunk_rights(dirfd, &dirfile);
        if limit.is_some_and(|l| base & !l.inheriting != 0) {
            return Err(Fail::Wasi(WasiErrno::NOTCAPABLE));
        }
        if fdflags & (fdflags::SYNC | fdflags::DSYNC | fdflags::RSYNC) != 0 {
            return Err(Fail::Wasi(WasiErrno::NOTSUP));
        }
        let has = |f: u16| oflags & f != 0;
        if has(oflags::DIRECTORY) && (has(oflags::CREAT) || has(oflags::EXCL) || has(oflags::TRUNC))
        {
            return Err(Fail::Wasi(WasiErrno::INVAL));
        }
        let write = base & rights::FD_WRITE != 0 || has(oflags::CREAT) || has(oflags::TRUNC);
        let read = base & rights::FD_READ != 0 || base & rights::FD_WRITE == 0;
        let mut flags = match (read, write) {
            (true, true) => OFlags::RDWR,
            (false, true) => OFlags::WRONLY,
            _ => OFlags::RDONLY,
        };
        if has(oflags::CREAT) {
            flags |= OFlags::CREAT;
            if has(oflags::EXCL) {
                flags |= OFlags::EXCL;
            }
        }
        if has(oflags::TRUNC) {
            flags |= OFlags::TRUNC;
        }
        if has(oflags::DIRECTORY) {
            flags |= OFlags::DIRECTORY;
        }
        if fdflags & fdflags::APPEND != 0 {
            flags |= OFlags::APPEND;
        }
        if fdflags & fdflags::NONBLOCK != 0 {
            flags |= OFlags::NONBLOCK;
        }
        // O_CREAT | O_EXCL never follows a symlink in the last component.
        let follow = dirflags & lookupflags::SYMLINK_FOLLOW != 0
            && !(has(oflags::CREAT) && has(oflags::EXCL));
        if !follow {
            flags |= OFlags::NOFOLLOW;
        }
        let r = self.beneath(&dir, &path, follow)?;
        let mode = FILE_MODE & !self.process.umask();
        let file = self.vfs().openat(&r.dir, &r.kernel_path(), flags, mode)?;
        let fd = self.process.install(Arc::clone(&file), false)?;
        let rights = limit.map(|limit| {
            let own = description_fdstat(&file);
            Rights {
                base: own.rights_base & limit.inheriting,
                inheriting: own.rights_inheriting & limit.inheriting,
            }
        });
        self.set_info(fd, &file, None, rights);
        // fd < the fd limit, which fits an i32.
        mem.write_u32(a.u32(8), fd as u32)
    }

    /// Path_readlink implements preview1 `path_readlink(fd, path, buf, buf_len,
    /// *bufused)`: the target, cut to the buffer, without a NUL.
    pub(super) fn path_readlink(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let dir = self.dir(a.fd(0), rights::PATH_READLINK)?;
        let path = self.path_arg(mem, a.u32(1), a.u32(2))?;
        let r = self.beneath(&dir, &path, false)?;
        let target = self.vfs().readlinkat(&r.dir, &r.kernel_path())?;
        let n = target.len().min(a.u32(4) as usize);
        mem.write_bytes(a.u32(3), target.get(..n).unwrap_or_default())?;
        // n <= buf_len, a u32.
        mem.write_u32(a.u32(5), n as u32)
    }

    /// Path_remove_directory implements preview1 `path_remove_directory(fd, path)`.
    pub(super) fn path_remove_directory(
        &mut self,
        mem: &mut GuestMemory<'_>,
        a: Args<'_>,
    ) -> WResult<()> {
        let dir = self.dir(a.fd(0), rights::PATH_REMOVE_DIRECTORY)?;
        let path = self.path_arg(mem, a.u32(1), a.u32(2))?;
        let r = self.beneath(&dir, &path, false)?;
        Ok(self
            .vfs()
            .unlinkat(&r.dir, &r.kernel_path(), AT_REMOVEDIR)?)
    }

    /// Path_rename implements preview1 `path_rename(fd, old_path, new_fd, new_path)`.
    pub(super) fn path_rename(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let old_dir = self.dir(a.fd(0), rights::PATH_RENAME_SOURCE)?;
        let new_dir = self.dir(a.fd(3), rights::PATH_RENAME_TARGET)?;
        let old_path = self.path_arg(mem, a.u32(1), a.u32(2))?;
        let new_path = self.path_arg(mem, a.u32(4), a.u32(5))?;
        let old = self.beneath(&old_dir, &old_path, false)?;
        let new = self.beneath(&new_dir, &new_path, false)?;
        Ok(self
            .vfs()
            .renameat(&old.dir, &old.kernel_path(), &new.dir, &new.kernel_path())?)
    }

    /// Path_symlink implements preview1 `path_symlink(old_path, fd, new_path)`: the
    /// target is stored as given (an absolute one is kept: see [`super::host`]).
    pub(super) fn path_symlink(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let dir = self.dir(a.fd(2), rights::PATH_SYMLINK)?;
        let target = self.path_arg(mem, a.u32(0), a.u32(1))?;
        let path = self.path_arg(mem, a.u32(3), a.u32(4))?;
        let r = self.beneath(&dir, &path, false)?;
        Ok(self.vfs().symlinkat(&target, &r.dir, &r.kernel_path())?)
    }

    /// Path_unlink_file implements preview1 `path_unlink_file(fd, path)`.
    pub(super) fn path_unlink_file(
        &mut self,
        mem: &mut GuestMemory<'_>,
        a: Args<'_>,
    ) -> WResult<()> {
        let dir = self.dir(a.fd(0), rights::PATH_UNLINK_FILE)?;
        let path = self.path_arg(mem, a.u32(1), a.u32(2))?;
        let r = self.beneath(&dir, &path, false)?;
        Ok(self.vfs().unlinkat(&r.dir, &r.kernel_path(), 0)?)
    }
}
