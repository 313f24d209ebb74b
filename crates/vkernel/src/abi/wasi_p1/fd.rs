//! The `fd_*` functions: I/O and attributes through a file descriptor.
//!
//! Which descriptions a function accepts follows wasmtime-wasi, where a descriptor is a
//! file, a directory or stdio: here files are regular files and devices, directories are
//! directories, and pipes and host streams play stdio's part (`BADF` or `SPIPE` where
//! stdio gets them).

use std::sync::Arc;

use super::errno::{Fail, WResult, WasiErrno};
use super::host::{Args, Rights, WasiProcess};
use super::memory::GuestMemory;
use super::types::{
    ADVICE_MAX, DIRENT_SIZE, Fdstat, Filestat, PREOPENTYPE_DIR, WHENCE_MAX, check_flags, fdflags,
    filetype, filetype_of, fstflags, rights,
};
use crate::kernel::{Fd, FileDescription, OFlags, SetTime, Target, Whence};

/// Directory entries fetched from the kernel per round of `fd_readdir`.
const READDIR_BATCH: usize = 64;

fn badf() -> Fail {
    Fail::Wasi(WasiErrno::BADF)
}

/// Whether `file` is what wasmtime-wasi calls a file (a regular file or a device).
fn is_file(file: &FileDescription) -> bool {
    matches!(file.target(), Target::Regular(_) | Target::Device(_))
}

/// Whether `file` is stream-like (wasmtime-wasi's stdio): a pipe end or a host stream.
fn is_stream(file: &FileDescription) -> bool {
    matches!(
        file.target(),
        Target::Host(_) | Target::PipeRead(_) | Target::PipeWrite(_) | Target::Fifo(_)
    )
}

/// `fd_filestat_set_times`' and `path_filestat_set_times`' decoding of one timestamp:
/// both "set" and "now" is `INVAL`.
pub(super) fn set_time(set: bool, now: bool, ts: u64) -> WResult<SetTime> {
    match (set, now) {
        (true, true) => Err(Fail::Wasi(WasiErrno::INVAL)),
        (true, false) => i64::try_from(ts)
            .map(SetTime::At)
            .map_err(|_| Fail::Wasi(WasiErrno::INVAL)),
        (false, true) => Ok(SetTime::Now),
        (false, false) => Ok(SetTime::Omit),
    }
}

/// The two timestamps of a `*_set_times` call.
pub(super) fn set_times(atim: u64, mtim: u64, flags: u16) -> WResult<[SetTime; 2]> {
    let flags = check_flags(flags, fstflags::ALL)?;
    Ok([
        set_time(
            flags & fstflags::ATIM != 0,
            flags & fstflags::ATIM_NOW != 0,
            atim,
        )?,
        set_time(
            flags & fstflags::MTIM != 0,
            flags & fstflags::MTIM_NOW != 0,
            mtim,
        )?,
    ])
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl WasiProcess {
    /// Fd_advise implements preview1 `fd_advise(fd, offset, len, advice)`: accepted and
    /// ignored on files.
    pub(super) fn fd_advise(&mut self, _mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        a.enum_u8(3, ADVICE_MAX)?;
        let fd = a.fd(0);
        let file = self.file(fd)?;
        if !is_file(&file) {
            return Err(badf());
        }
        self.require(fd, &file, rights::FD_ADVISE)
    }

    /// Fd_allocate implements preview1 `fd_allocate(fd, offset, len)`: `NOTSUP` on files,
    /// as in wasmtime-wasi.
    pub(super) fn fd_allocate(&mut self, _mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let file = self.file(a.fd(0))?;
        if !is_file(&file) {
            return Err(badf());
        }
        Err(Fail::Wasi(WasiErrno::NOTSUP))
    }

    /// Fd_close implements preview1 `fd_close(fd)`. Preopens can be closed too.
    pub(super) fn fd_close(&mut self, _mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let fd = a.fd(0);
        self.process.close(fd)?;
        self.fds.remove(&fd);
        Ok(())
    }

    /// Fd_datasync implements preview1 `fd_datasync(fd)`: the kernel's files live in
    /// memory, so there is nothing to flush.
    pub(super) fn fd_datasync(&mut self, _mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        self.flush(a.fd(0), rights::FD_DATASYNC)
    }

    /// Fd_sync implements preview1 `fd_sync(fd)` (see [`WasiProcess::fd_datasync`]).
    pub(super) fn fd_sync(&mut self, _mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        self.flush(a.fd(0), rights::FD_SYNC)
    }

    /// What fd_sync and fd_datasync check before their (empty) flush: a regular
    /// file or directory with the `right`.
    fn flush(&mut self, fd: Fd, right: u64) -> WResult<()> {
        let file = self.file(fd)?;
        if !is_file(&file) {
            return Err(badf());
        }
        self.require(fd, &file, right)
    }

    /// Fd_fdstat_get implements preview1 `fd_fdstat_get(fd, *fdstat)`.
    pub(super) fn fd_fdstat_get(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let fd = a.fd(0);
        let file = self.file(fd)?;
        self.fdstat(fd, &file).write(mem, a.u32(1))
    }

    /// Fd_fdstat_set_flags implements preview1 `fd_fdstat_set_flags(fd, fdflags)`: only
    /// `APPEND` and `NONBLOCK` can change (the sync flags are `INVAL`), on anything but a
    /// directory.
    pub(super) fn fd_fdstat_set_flags(
        &mut self,
        _mem: &mut GuestMemory<'_>,
        a: Args<'_>,
    ) -> WResult<()> {
        let flags = check_flags(a.u16(1)?, fdflags::ALL)?;
        let fd = a.fd(0);
        let file = self.file(fd)?;
        if matches!(file.target(), Target::Directory(_) | Target::Path(_)) {
            return Err(badf());
        }
        if flags & (fdflags::DSYNC | fdflags::SYNC | fdflags::RSYNC) != 0 {
            return Err(Fail::Wasi(WasiErrno::INVAL));
        }
        self.require(fd, &file, rights::FD_FDSTAT_SET_FLAGS)?;
        let mut status = OFlags::empty();
        if flags & fdflags::APPEND != 0 {
            status |= OFlags::APPEND;
        }
        if flags & fdflags::NONBLOCK != 0 {
            status |= OFlags::NONBLOCK;
        }
        file.set_status_flags(status);
        Ok(())
    }

    /// Fd_fdstat_set_rights implements preview1 `fd_fdstat_set_rights(fd, base,
    /// inheriting)`: rights only shrink (`NOTCAPABLE` otherwise).
    pub(super) fn fd_fdstat_set_rights(
        &mut self,
        _mem: &mut GuestMemory<'_>,
        a: Args<'_>,
    ) -> WResult<()> {
        let base = check_flags(a.u64(1), rights::ALL)?;
        let inheriting = check_flags(a.u64(2), rights::ALL)?;
        let fd = a.fd(0);
        let file = self.file(fd)?;
        let now: Fdstat = self.fdstat(fd, &file);
        if base & !now.rights_base != 0 || inheriting & !now.rights_inheriting != 0 {
            return Err(Fail::Wasi(WasiErrno::NOTCAPABLE));
        }
        let preopen = self.preopen_name(fd, &file).map(<[u8]>::to_vec);
        self.set_info(fd, &file, preopen, Some(Rights { base, inheriting }));
        Ok(())
    }

    /// Fd_filestat_get implements preview1 `fd_filestat_get(fd, *filestat)`. Host streams
    /// report zeros, as wasmtime-wasi's stdio.
    pub(super) fn fd_filestat_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        a: Args<'_>,
    ) -> WResult<()> {
        let fd = a.fd(0);
        let file = self.file(fd)?;
        self.require(fd, &file, rights::FD_FILESTAT_GET)?;
        let st = match file.target() {
            Target::Host(_) => Filestat {
                filetype: filetype::UNKNOWN,
                ..Filestat::default()
            },
            _ => Filestat::from_stat(&file.fstat()),
        };
        st.write(mem, a.u32(1))
    }

    /// Fd_filestat_set_size implements preview1 `fd_filestat_set_size(fd, size)`.
    pub(super) fn fd_filestat_set_size(
        &mut self,
        _mem: &mut GuestMemory<'_>,
        a: Args<'_>,
    ) -> WResult<()> {
        let fd = a.fd(0);
        let file = self.file(fd)?;
        if !is_file(&file) {
            return Err(badf());
        }
        self.require(fd, &file, rights::FD_FILESTAT_SET_SIZE)?;
        let size = i64::try_from(a.u64(1)).map_err(|_| Fail::Wasi(WasiErrno::INVAL))?;
        Ok(file.ftruncate(size)?)
    }

    /// Fd_filestat_set_times implements preview1 `fd_filestat_set_times(fd, atim, mtim,
    /// fst_flags)`, on files and directories.
    pub(super) fn fd_filestat_set_times(
        &mut self,
        _mem: &mut GuestMemory<'_>,
        a: Args<'_>,
    ) -> WResult<()> {
        let [atime, mtime] = set_times(a.u64(1), a.u64(2), a.u16(3)?)?;
        let fd = a.fd(0);
        let file = self.file(fd)?;
        if is_stream(&file) {
            return Err(badf());
        }
        self.require(fd, &file, rights::FD_FILESTAT_SET_TIMES)?;
        Ok(file.futimens(atime, mtime)?)
    }

    /// Fd_pread implements preview1 `fd_pread(fd, iovs, iovs_len, offset, *nread)`.
    pub(super) fn fd_pread(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let iovs = mem.iovecs(a.u32(1), a.u32(2))?;
        let fd = a.fd(0);
        let file = self.file(fd)?;
        if is_stream(&file) && file.status_flags().readable() {
            return Err(Fail::Wasi(WasiErrno::SPIPE));
        }
        if !is_file(&file) {
            return Err(badf());
        }
        self.require(fd, &file, rights::FD_READ)?;
        let offset = a.u64(3);
        let n = mem.read_into(&iovs, |bufs| {
            let mut done = 0usize;
            for buf in bufs.iter_mut() {
                let Some(at) = offset.checked_add(done as u64) else {
                    break;
                };
                let want = buf.len();
                match file.pread(buf, at) {
                    Ok(n) => {
                        done += n;
                        if n < want {
                            break;
                        }
                    }
                    Err(e) if done == 0 => return Err(e),
                    Err(_) => break,
                }
            }
            Ok(done)
        })??;
        mem.write_u32(a.u32(4), count(n))
    }

    /// Fd_pwrite implements preview1 `fd_pwrite(fd, iovs, iovs_len, offset, *nwritten)`.
    /// With `APPEND` the data goes at the end, as on Linux.
    pub(super) fn fd_pwrite(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let iovs = mem.iovecs(a.u32(1), a.u32(2))?;
        let fd = a.fd(0);
        let file = self.file(fd)?;
        if is_stream(&file) && file.status_flags().writable() {
            return Err(Fail::Wasi(WasiErrno::SPIPE));
        }
        if !is_file(&file) {
            return Err(badf());
        }
        self.require(fd, &file, rights::FD_WRITE)?;
        let offset = a.u64(3);
        let mut done = 0usize;
        for buf in mem.gather(&iovs)? {
            let Some(at) = offset.checked_add(done as u64) else {
                break;
            };
            match file.pwrite(buf, at) {
                Ok(n) => {
                    done += n;
                    if n < buf.len() {
                        break;
                    }
                }
                Err(e) if done == 0 => return Err(e.into()),
                Err(_) => break,
            }
        }
        mem.write_u32(a.u32(4), count(done))
    }

    /// Fd_prestat_get implements preview1 `fd_prestat_get(fd, *prestat)`: `BADF` for
    /// anything but a preopen (wasi-libc scans fds from 3 until then).
    pub(super) fn fd_prestat_get(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let fd = a.fd(0);
        let file = self.file(fd)?;
        let name_len = self.preopen_name(fd, &file).ok_or_else(badf)?.len();
        let out = a.u32(1);
        mem.check(out, 8)?;
        mem.write_u8(out, PREOPENTYPE_DIR)?;
        mem.write_u32(out.wrapping_add(4), count(name_len))
    }

    /// Fd_prestat_dir_name implements preview1 `fd_prestat_dir_name(fd, path, path_len)`:
    /// the name, without a NUL; `NAMETOOLONG` if it does not fit, `NOTDIR` for an open fd
    /// that is not a preopen.
    pub(super) fn fd_prestat_dir_name(
        &mut self,
        mem: &mut GuestMemory<'_>,
        a: Args<'_>,
    ) -> WResult<()> {
        let fd = a.fd(0);
        let file = self.file(fd)?;
        let name = self
            .preopen_name(fd, &file)
            .ok_or(Fail::Wasi(WasiErrno::NOTDIR))?;
        if name.len() > a.u32(2) as usize {
            return Err(Fail::Wasi(WasiErrno::NAMETOOLONG));
        }
        mem.write_bytes(a.u32(1), name)
    }

    /// Fd_read implements preview1 `fd_read(fd, iovs, iovs_len, *nread)`: one read,
    /// scattered over the buffers; blocking on pipes and streams unless `NONBLOCK`.
    pub(super) fn fd_read(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let iovs = mem.iovecs(a.u32(1), a.u32(2))?;
        let fd = a.fd(0);
        let file = self.file(fd)?;
        if matches!(file.target(), Target::Directory(_) | Target::Path(_)) {
            return Err(badf());
        }
        self.require(fd, &file, rights::FD_READ)?;
        let intr = self.process.interrupt();
        let n = mem.read_into(&iovs, |bufs| file.readv(bufs, intr))??;
        mem.write_u32(a.u32(3), count(n))
    }

    /// Fd_write implements preview1 `fd_write(fd, iovs, iovs_len, *nwritten)`: one write,
    /// gathered from the buffers.
    pub(super) fn fd_write(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let iovs = mem.iovecs(a.u32(1), a.u32(2))?;
        let fd = a.fd(0);
        let file = self.file(fd)?;
        if matches!(file.target(), Target::Directory(_) | Target::Path(_)) {
            return Err(badf());
        }
        self.require(fd, &file, rights::FD_WRITE)?;
        let bufs = mem.gather(&iovs)?;
        let n = file.writev(&bufs, self.process.interrupt())?;
        mem.write_u32(a.u32(3), count(n))
    }

    /// Fd_readdir implements preview1 `fd_readdir(fd, buf, buf_len, cookie, *bufused)`:
    /// entries from `cookie` (0: the start, with `.` and `..`), each a 24-byte `dirent`
    /// and its name, packed until the buffer is full; the last one may be cut short, and
    /// then the whole buffer counts as used (the caller retries from that entry's cookie
    /// with a larger buffer, as wasi-libc does).
    pub(super) fn fd_readdir(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let fd = a.fd(0);
        let file = self.file(fd)?;
        if !matches!(file.target(), Target::Directory(_)) {
            return Err(badf());
        }
        self.require(fd, &file, rights::FD_READDIR)?;
        let (mut at, buf_len, mut cookie, used_ptr) = (a.u32(1), a.u32(2), a.u64(3), a.u32(4));
        if buf_len == 0 {
            return mem.write_u32(used_ptr, 0);
        }
        mem.check(at, u64::from(buf_len))?;
        let mut room = buf_len;
        loop {
            let batch = file.read_dir_at(cookie, READDIR_BATCH)?;
            if batch.is_empty() {
                break;
            }
            for d in &batch {
                let mut head = [0u8; DIRENT_SIZE as usize];
                head[0..8].copy_from_slice(&d.next.to_le_bytes());
                head[8..16].copy_from_slice(&d.ino.to_le_bytes());
                head[16..20].copy_from_slice(&count(d.name.len()).to_le_bytes());
                head[20] = filetype_of(d.file_type);
                for piece in [&head[..], &d.name[..]] {
                    let n = room.min(count(piece.len()));
                    mem.write_bytes(at, piece.get(..n as usize).unwrap_or_default())?;
                    at = at.wrapping_add(n);
                    room -= n;
                    if room == 0 {
                        return mem.write_u32(used_ptr, buf_len);
                    }
                }
                cookie = d.next;
            }
        }
        mem.write_u32(used_ptr, buf_len - room)
    }

    /// Fd_renumber implements preview1 `fd_renumber(from, to)`: `to` takes `from`'s
    /// description (and preopen name), `from` is closed. Both must be open.
    pub(super) fn fd_renumber(&mut self, _mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let (from, to) = (a.fd(0), a.fd(1));
        let file = self.file(from)?;
        self.file(to)?;
        if from == to {
            return Ok(());
        }
        let info = self.info(from, &file).cloned();
        self.process.dup2(from, to)?;
        self.process.close(from)?;
        self.fds.remove(&from);
        match info {
            Some(info) => self.set_info(to, &file, info.preopen, info.rights),
            None => self.set_info(to, &file, None, None),
        }
        Ok(())
    }

    /// Fd_seek implements preview1 `fd_seek(fd, offset, whence, *newoffset)`, on files
    /// (`SPIPE` on streams, `BADF` on directories, as in wasmtime-wasi).
    pub(super) fn fd_seek(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let whence = match a.enum_u8(2, WHENCE_MAX)? {
            0 => Whence::Set,
            1 => Whence::Cur,
            _ => Whence::End,
        };
        let offset = a.raw(1);
        let fd = a.fd(0);
        let file = self.seekable(fd)?;
        let right = if whence == Whence::Cur && offset == 0 {
            rights::FD_TELL
        } else {
            rights::FD_SEEK
        };
        self.require(fd, &file, right)?;
        let pos = file.lseek(offset, whence)?;
        mem.write_u64(a.u32(3), pos)
    }

    /// Fd_tell implements preview1 `fd_tell(fd, *offset)`.
    pub(super) fn fd_tell(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let fd = a.fd(0);
        let file = self.seekable(fd)?;
        self.require(fd, &file, rights::FD_TELL)?;
        let pos = file.lseek(0, Whence::Cur)?;
        mem.write_u64(a.u32(1), pos)
    }

    /// The file `fd` names, for seeking: `SPIPE` for streams, `BADF` for the rest.
    fn seekable(&self, fd: i32) -> WResult<Arc<FileDescription>> {
        let file = self.file(fd)?;
        if is_stream(&file) {
            return Err(Fail::Wasi(WasiErrno::SPIPE));
        }
        if !is_file(&file) {
            return Err(badf());
        }
        Ok(file)
    }
}
