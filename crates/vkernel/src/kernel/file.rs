//! Open file descriptions (`struct file` in Linux): what an fd refers to, shared by `dup`
//! and `fork`.
//!
//! A [`FileDescription`] holds its [`Target`] (a regular file, directory, device, `O_PATH`
//! reference, pipe end or host stream), the file offset (a directory's `getdents` cookie)
//! and the status flags. It owns the I/O syscalls that work through a description: read,
//! write, their vectored and positioned forms, `lseek`, `getdents`, `fstat`, `ftruncate`,
//! `futimens`, `fchmod`, `fchown` and `fcntl(F_GETFL/F_SETFL)`. Path-based calls are the
//! VFS's ([`super::Vfs`]); fd numbers are the fd table's ([`super::FdTable`]).
//!
//! The offset lock is taken before any inode lock (see the lock order in [`super::vfs`]);
//! an `O_APPEND` write holds the file's data lock from finding the end to writing there,
//! so appends from several descriptions never overwrite each other.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use super::errno::{Errno, KResult};
use super::flags::{OFlags, SetTime, Whence};
use super::interrupt::{Interrupt, Waker, Watch, lock};
use super::pipe::{FifoOpen, PipeReader, PipeWriter};
use super::stat::{FileType, Stat};
use super::stream::HostStream;
use super::vfs::device::Driver;
use super::vfs::inode::{Body, MAX_FILE_SIZE, WritePos};
use super::vfs::path::Loc;
use super::vfs::{Dirent, Inode};

/// Entries fetched from a directory per round of `getdents` (the directory's lock is not
/// held while the caller's callback runs, so a round is a batch).
const GETDENTS_BATCH: usize = 64;

/// What `poll` would report for a description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Readiness {
    /// `POLLIN`: a read would not block (data, or end of file).
    pub readable: bool,
    /// `POLLOUT`: a write would not block.
    pub writable: bool,
    /// `POLLHUP`: the other side is gone (a pipe's last writer closed).
    pub hangup: bool,
    /// `POLLERR`: writing would fail (a pipe with no reader).
    pub error: bool,
}

/// What an open file description refers to.
pub enum Target {
    /// A regular file.
    Regular(Arc<Inode>),
    /// A directory, opened for listing.
    Directory(Arc<Inode>),
    /// A device file with a driver (`/dev/null`, ...).
    Device(Arc<Inode>),
    /// An `O_PATH` description: names a file (for `*at` calls and `fstat`) without I/O.
    Path(Arc<Inode>),
    PipeRead(PipeReader),
    PipeWrite(PipeWriter),
    /// An open fifo (named pipe): its inode and its ends of the fifo's pipe.
    Fifo(FifoOpen),
    /// A stream on the host's side (a client's stdin, stdout, stderr).
    Host(Arc<dyn HostStream>),
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Regular(i) => write!(f, "Regular({})", i.ino()),
            Target::Directory(i) => write!(f, "Directory({})", i.ino()),
            Target::Device(i) => write!(f, "Device({})", i.ino()),
            Target::Path(i) => write!(f, "Path({})", i.ino()),
            Target::PipeRead(_) => f.write_str("PipeRead"),
            Target::PipeWrite(_) => f.write_str("PipeWrite"),
            Target::Fifo(_) => f.write_str("Fifo"),
            Target::Host(_) => f.write_str("Host"),
        }
    }
}

/// An open file description.
pub struct FileDescription {
    target: Target,
    /// The access mode and status flags (`F_GETFL`); only [`OFlags::SETFL_MASK`] bits
    /// change after open.
    flags: AtomicU32,
    /// The file offset (a directory's `getdents` cookie). Taken before inode locks.
    pos: Mutex<u64>,
    /// Where a file (not a directory) of the filesystem was opened: the name
    /// `/proc/<pid>/fd/<n>` shows.
    loc: Option<Loc>,
}

impl std::fmt::Debug for FileDescription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDescription")
            .field("target", &self.target)
            .field("flags", &self.status_flags())
            .finish()
    }
}

/// The flags a description keeps from `open` (what `F_GETFL` reports).
const KEPT_FLAGS: OFlags = OFlags::from_bits_retain(
    OFlags::ACCMODE.bits()
        | OFlags::APPEND.bits()
        | OFlags::NONBLOCK.bits()
        | OFlags::SYNC.bits()
        | OFlags::ASYNC.bits()
        | OFlags::DIRECT.bits()
        | OFlags::LARGEFILE.bits()
        | OFlags::NOATIME.bits()
        | OFlags::PATH.bits(),
);

impl FileDescription {
    pub(crate) fn new(target: Target, flags: OFlags) -> Arc<FileDescription> {
        FileDescription::at(target, flags, None)
    }

    /// A description of a file opened under the name `loc` says.
    pub(crate) fn at(target: Target, flags: OFlags, loc: Option<Loc>) -> Arc<FileDescription> {
        Arc::new(FileDescription {
            target,
            flags: AtomicU32::new((flags & KEPT_FLAGS).bits()),
            pos: Mutex::new(0),
            loc,
        })
    }

    /// Where the file was opened (see [`FileDescription::at`]).
    pub(crate) fn loc(&self) -> Option<&Loc> {
        self.loc.as_ref()
    }

    /// A description of a host stream, with `flags`' access mode and `O_NONBLOCK`.
    pub fn host(stream: Arc<dyn HostStream>, flags: OFlags) -> Arc<FileDescription> {
        FileDescription::new(Target::Host(stream), flags)
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The inode, for descriptions of files of the filesystem.
    pub fn inode(&self) -> Option<&Arc<Inode>> {
        match &self.target {
            Target::Regular(i) | Target::Directory(i) | Target::Device(i) | Target::Path(i) => {
                Some(i)
            }
            Target::Fifo(f) => Some(f.inode()),
            _ => None,
        }
    }

    /// The type `fstat` reports.
    pub fn file_type(&self) -> FileType {
        match &self.target {
            Target::Regular(i) | Target::Directory(i) | Target::Device(i) | Target::Path(i) => {
                i.file_type()
            }
            Target::PipeRead(_) | Target::PipeWrite(_) | Target::Fifo(_) | Target::Host(_) => {
                FileType::Fifo
            }
        }
    }

    /// A blocking open of a fifo waits for the other side (see `FifoOpen::wait_peer`):
    /// the Linux ABI's `open` calls this before it installs the fd. Nothing to wait for
    /// with `O_NONBLOCK`, or for any other file.
    pub fn wait_fifo_peer(&self, intr: &Interrupt) -> KResult<()> {
        match &self.target {
            Target::Fifo(f) if !self.nonblocking() => f.wait_peer(intr),
            _ => Ok(()),
        }
    }

    /// `fcntl(F_GETFL)`: access mode and status flags.
    pub fn status_flags(&self) -> OFlags {
        OFlags::from_bits_retain(self.flags.load(Ordering::SeqCst))
    }

    /// `fcntl(F_SETFL)`: sets the changeable status flags (`O_APPEND`, `O_NONBLOCK`, ...)
    /// to those in `flags`; the access mode and other bits are ignored, as on Linux.
    pub fn set_status_flags(&self, flags: OFlags) {
        let mask = OFlags::SETFL_MASK.bits();
        let _ = self
            .flags
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |old| {
                Some((old & !mask) | (flags.bits() & mask))
            });
    }

    fn is_path(&self) -> bool {
        matches!(self.target, Target::Path(_))
    }

    fn nonblocking(&self) -> bool {
        self.status_flags().contains(OFlags::NONBLOCK)
    }

    fn check_readable(&self) -> KResult<()> {
        if self.status_flags().readable() && !self.is_path() {
            Ok(())
        } else {
            Err(Errno::EBADF)
        }
    }

    fn check_writable(&self) -> KResult<()> {
        if self.status_flags().writable() && !self.is_path() {
            Ok(())
        } else {
            Err(Errno::EBADF)
        }
    }

    fn driver(inode: &Inode) -> KResult<Driver> {
        match &inode.body {
            Body::Device(d) => d.driver().ok_or(Errno::ENXIO),
            _ => Err(Errno::ENXIO),
        }
    }

    /// Read implements Linux syscall read(2).
    pub fn read(&self, buf: &mut [u8], intr: &Interrupt) -> KResult<usize> {
        self.readv(&mut [buf], intr)
    }

    /// Readv implements Linux syscall readv(2): one read, scattered over `bufs`.
    pub fn readv(&self, bufs: &mut [&mut [u8]], intr: &Interrupt) -> KResult<usize> {
        self.check_readable()?;
        match &self.target {
            Target::Regular(inode) => {
                let mut pos = lock(&self.pos);
                let n = inode.read_at(*pos, bufs)?;
                *pos += n as u64;
                Ok(n)
            }
            Target::Directory(_) => Err(Errno::EISDIR),
            Target::Device(inode) => Self::driver(inode)?.read(bufs),
            Target::PipeRead(r) => r.read(bufs, self.nonblocking(), intr),
            Target::Fifo(f) => match f.reader() {
                Some(r) => r.read(bufs, self.nonblocking(), intr),
                None => Err(Errno::EBADF),
            },
            Target::Host(s) => match bufs.iter_mut().find(|b| !b.is_empty()) {
                Some(buf) => s.read(buf, self.nonblocking(), intr),
                None => Ok(0),
            },
            Target::Path(_) | Target::PipeWrite(_) => Err(Errno::EBADF),
        }
    }

    /// Write implements Linux syscall write(2).
    pub fn write(&self, buf: &[u8], intr: &Interrupt) -> KResult<usize> {
        self.writev(&[buf], intr)
    }

    /// Writev implements Linux syscall writev(2): one write, gathered from `bufs`. With
    /// `O_APPEND`, the data goes at the end of the file, atomically.
    pub fn writev(&self, bufs: &[&[u8]], intr: &Interrupt) -> KResult<usize> {
        self.check_writable()?;
        match &self.target {
            Target::Regular(inode) => {
                let mut pos = lock(&self.pos);
                let at = if self.status_flags().contains(OFlags::APPEND) {
                    WritePos::Append
                } else {
                    WritePos::At(*pos)
                };
                let (n, end) = inode.write(at, bufs)?;
                if n > 0 {
                    *pos = end;
                }
                Ok(n)
            }
            Target::Device(inode) => Self::driver(inode)?.write(bufs),
            Target::PipeWrite(w) => w.write(bufs, self.nonblocking(), intr),
            Target::Fifo(f) => match f.writer() {
                Some(w) => w.write(bufs, self.nonblocking(), intr),
                None => Err(Errno::EBADF),
            },
            Target::Host(s) => {
                let mut done = 0;
                for buf in bufs.iter().filter(|b| !b.is_empty()) {
                    let n = match s.write(buf, intr) {
                        Ok(n) => n,
                        Err(e) if done == 0 => return Err(e),
                        Err(_) => break,
                    };
                    done += n;
                    if n < buf.len() {
                        break;
                    }
                }
                Ok(done)
            }
            Target::Directory(_) | Target::Path(_) | Target::PipeRead(_) => Err(Errno::EBADF),
        }
    }

    /// Pread implements Linux syscall pread64(2): reads at `offset`, leaving the file
    /// offset alone. (The ABI layer rejects negative offsets with `EINVAL`.)
    pub fn pread(&self, buf: &mut [u8], offset: u64) -> KResult<usize> {
        self.check_readable()?;
        match &self.target {
            Target::Regular(inode) => inode.read_at(offset, &mut [buf]),
            Target::Directory(_) => Err(Errno::EISDIR),
            Target::Device(inode) => Self::driver(inode)?.read(&mut [buf]),
            Target::PipeRead(_) | Target::PipeWrite(_) | Target::Fifo(_) | Target::Host(_) => {
                Err(Errno::ESPIPE)
            }
            Target::Path(_) => Err(Errno::EBADF),
        }
    }

    /// Pwrite implements Linux syscall pwrite64(2): writes at `offset`, leaving the file
    /// offset alone. As on Linux (see its BUGS section), a description opened with
    /// `O_APPEND` appends whatever `offset` says.
    pub fn pwrite(&self, buf: &[u8], offset: u64) -> KResult<usize> {
        self.check_writable()?;
        match &self.target {
            Target::Regular(inode) => {
                let at = if self.status_flags().contains(OFlags::APPEND) {
                    WritePos::Append
                } else {
                    WritePos::At(offset)
                };
                Ok(inode.write(at, &[buf])?.0)
            }
            Target::Device(inode) => Self::driver(inode)?.write(&[buf]),
            Target::PipeRead(_) | Target::PipeWrite(_) | Target::Fifo(_) | Target::Host(_) => {
                Err(Errno::ESPIPE)
            }
            Target::Directory(_) | Target::Path(_) => Err(Errno::EBADF),
        }
    }

    /// Lseek implements Linux syscall lseek(2). A regular file may be sought past its end
    /// (a later write leaves a hole of zeros); `SEEK_DATA`/`SEEK_HOLE` see the whole file
    /// as data. A directory takes `SEEK_SET` and `SEEK_CUR` to a `getdents` cookie.
    /// Devices stay at 0; pipes and host streams cannot seek (`ESPIPE`).
    pub fn lseek(&self, offset: i64, whence: Whence) -> KResult<u64> {
        let (inode, is_dir) = match &self.target {
            Target::Regular(i) => (i, false),
            Target::Directory(i) => (i, true),
            Target::Device(_) => return Ok(0),
            Target::Path(_) => return Err(Errno::EBADF),
            Target::PipeRead(_) | Target::PipeWrite(_) | Target::Fifo(_) | Target::Host(_) => {
                return Err(Errno::ESPIPE);
            }
        };
        let mut pos = lock(&self.pos);
        let offset = i128::from(offset);
        let new = if is_dir {
            match whence {
                Whence::Set => offset,
                Whence::Cur => i128::from(*pos) + offset,
                _ => return Err(Errno::EINVAL),
            }
        } else {
            let size = i128::from(inode.size());
            match whence {
                Whence::Set => offset,
                Whence::Cur => i128::from(*pos) + offset,
                Whence::End => size + offset,
                Whence::Data if offset < 0 || offset >= size => return Err(Errno::ENXIO),
                Whence::Data => offset,
                Whence::Hole if offset < 0 || offset >= size => return Err(Errno::ENXIO),
                Whence::Hole => size,
            }
        };
        if new < 0 || new > i128::from(MAX_FILE_SIZE) {
            return Err(Errno::EINVAL);
        }
        // 0 <= new <= MAX_FILE_SIZE < u64::MAX.
        *pos = new as u64;
        Ok(*pos)
    }

    /// Getdents implements Linux syscall getdents64(2) without the encoding: hands entries
    /// from the cursor to `accept` until it returns false (the entry did not fit and stays
    /// next) or the directory ends, and returns how many were accepted. `.` and `..` come
    /// first, then the entries in a stable order; see [`super::vfs`] for what happens to
    /// entries added or removed meanwhile. `accept` must not call back into this
    /// description.
    pub fn getdents(&self, mut accept: impl FnMut(&Dirent) -> bool) -> KResult<usize> {
        let inode = match &self.target {
            Target::Directory(i) => i,
            Target::Path(_) => return Err(Errno::EBADF),
            _ => return Err(Errno::ENOTDIR),
        };
        let mut pos = lock(&self.pos);
        let mut count = 0;
        loop {
            let batch = inode.read_dir(*pos, GETDENTS_BATCH)?;
            if batch.is_empty() {
                return Ok(count);
            }
            for d in &batch {
                if !accept(d) {
                    return Ok(count);
                }
                *pos = d.next;
                count += 1;
            }
        }
    }

    /// Getdents from a cookie, leaving the description's offset alone: at most `max`
    /// entries from `cookie` (0 for the start; otherwise a [`Dirent::next`] this directory
    /// returned). For ABIs whose directory reads pass the cookie in each call (WASI's
    /// `fd_readdir`; added for it). `ENOTDIR` unless this is a directory opened for
    /// listing, `EBADF` for an `O_PATH` description.
    pub fn read_dir_at(&self, cookie: u64, max: usize) -> KResult<Vec<Dirent>> {
        match &self.target {
            Target::Directory(inode) => inode.read_dir(cookie, max),
            Target::Path(_) => Err(Errno::EBADF),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// Wakes `waker` whenever [`FileDescription::readiness`] may have changed, until the
    /// guard is dropped (for `poll`; added for the WASI ABI's `poll_oneoff`). `None` for
    /// descriptions whose readiness never changes (files, directories, devices) and for
    /// host streams that cannot say (see [`HostStream::watch`]).
    pub fn watch(&self, waker: Arc<dyn Waker>) -> Option<Watch> {
        match &self.target {
            Target::PipeRead(r) => Some(r.watch(waker)),
            Target::PipeWrite(w) => Some(w.watch(waker)),
            Target::Fifo(f) => Some(f.watch(waker)),
            Target::Host(s) => s.watch(waker),
            Target::Regular(_) | Target::Directory(_) | Target::Device(_) | Target::Path(_) => None,
        }
    }

    /// What `poll` would report. Files, directories and devices are always ready, as on
    /// Linux.
    pub fn readiness(&self) -> Readiness {
        match &self.target {
            Target::Regular(_) | Target::Directory(_) | Target::Device(_) => Readiness {
                readable: true,
                writable: true,
                ..Readiness::default()
            },
            Target::Path(_) => Readiness::default(),
            Target::PipeRead(r) => r.readiness(),
            Target::PipeWrite(w) => w.readiness(),
            Target::Fifo(f) => f.readiness(),
            Target::Host(s) => s.readiness(),
        }
    }

    /// Fstat implements Linux syscall fstat(2). Pipes and host streams report a fifo
    /// (`S_IFIFO`, size 0, times 0).
    pub fn fstat(&self) -> Stat {
        match &self.target {
            Target::Regular(i) | Target::Directory(i) | Target::Device(i) | Target::Path(i) => {
                i.stat()
            }
            Target::PipeRead(r) => r.stat(),
            Target::PipeWrite(w) => w.stat(),
            Target::Fifo(f) => f.stat(),
            Target::Host(_) => Stat {
                dev: 0,
                ino: 0,
                mode: FileType::Fifo.mode_bits() | 0o600,
                nlink: 1,
                uid: 0,
                gid: 0,
                rdev: 0,
                size: 0,
                blksize: 4096,
                blocks: 0,
                atime: 0,
                mtime: 0,
                ctime: 0,
            },
        }
    }

    /// Ftruncate implements Linux syscall ftruncate(2): `EINVAL` unless this is a regular
    /// file open for writing and `len` is not negative.
    pub fn ftruncate(&self, len: i64) -> KResult<()> {
        match &self.target {
            Target::Path(_) => Err(Errno::EBADF),
            Target::Regular(inode) if self.status_flags().writable() => {
                let len = u64::try_from(len).map_err(|_| Errno::EINVAL)?;
                inode.set_size(len)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// Futimens implements Linux syscall utimensat(2) on a descriptor (`path` NULL).
    /// Pipes and host streams accept and ignore it.
    pub fn futimens(&self, atime: SetTime, mtime: SetTime) -> KResult<()> {
        match &self.target {
            Target::Path(_) => Err(Errno::EBADF),
            Target::Regular(i) | Target::Directory(i) | Target::Device(i) => {
                i.set_times(atime, mtime)
            }
            _ => Ok(()),
        }
    }

    /// Fchmod implements Linux syscall fchmod(2). Pipes and host streams accept and ignore
    /// it.
    pub fn fchmod(&self, mode: u32) -> KResult<()> {
        match &self.target {
            Target::Path(_) => Err(Errno::EBADF),
            Target::Regular(i) | Target::Directory(i) | Target::Device(i) => i.chmod(mode),
            _ => Ok(()),
        }
    }

    /// Fchown implements Linux syscall fchown(2); `None` leaves an id as it is.
    pub fn fchown(&self, uid: Option<u32>, gid: Option<u32>) -> KResult<()> {
        match &self.target {
            Target::Path(_) => Err(Errno::EBADF),
            Target::Regular(i) | Target::Directory(i) | Target::Device(i) => i.chown(uid, gid),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::stream::{BytesStream, CaptureStream};

    #[test]
    fn host_streams_through_descriptions() {
        let i = Interrupt::new();
        let input = FileDescription::host(BytesStream::new(b"in".to_vec()), OFlags::RDONLY);
        let cap = CaptureStream::new(100);
        let output = FileDescription::host(cap.clone(), OFlags::WRONLY);
        let mut buf = [0u8; 8];
        assert_eq!(input.readv(&mut [&mut [], &mut buf], &i), Ok(2));
        assert_eq!(input.write(b"x", &i), Err(Errno::EBADF));
        assert_eq!(output.writev(&[b"a", b"", b"bc"], &i), Ok(3));
        assert_eq!(cap.contents(), b"abc");
        assert_eq!(output.read(&mut buf, &i), Err(Errno::EBADF));
        assert_eq!(output.lseek(0, Whence::Set), Err(Errno::ESPIPE));
        assert_eq!(output.pwrite(b"a", 0), Err(Errno::ESPIPE));
        assert_eq!(output.fstat().file_type(), Some(FileType::Fifo));
        assert!(output.readiness().writable);
        assert_eq!(output.ftruncate(0), Err(Errno::EINVAL));
    }

    #[test]
    fn setfl_changes_only_status_flags() {
        let fd = FileDescription::host(BytesStream::new(Vec::new()), OFlags::RDONLY);
        fd.set_status_flags(OFlags::RDWR | OFlags::NONBLOCK | OFlags::APPEND | OFlags::CREAT);
        assert_eq!(
            fd.status_flags(),
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::APPEND
        );
        fd.set_status_flags(OFlags::empty());
        assert_eq!(fd.status_flags(), OFlags::RDONLY);
    }
}
