//! Unit tests of the VFS operations, written from Linux's documented behaviour (the
//! differential tests in `differential.rs` check the doubtful cases against the host).

use std::sync::Arc;
use std::thread;

use super::*;
use crate::kernel::clock::{FixedClock, NANOS_PER_SEC};
use crate::kernel::file::Target;
use crate::kernel::flags::{UTIME_NOW, Whence};
use crate::kernel::interrupt::Interrupt;
use crate::kernel::stat::{FileType, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG};
use crate::kernel::testutil::{E, image};

const T0: i64 = 1_000 * NANOS_PER_SEC;

struct T {
    vfs: Vfs,
    clock: Arc<FixedClock>,
    intr: Interrupt,
}

fn standard_image() -> Arc<Image> {
    image(&[
        E::Dir("/bin", 0o755),
        E::File("/bin/sh", 0o755, b"#!shell"),
        E::File("/bin/ln1", 0o644, b"shared"),
        E::Link("/bin/ln2", "/bin/ln1"),
        E::Dir("/etc", 0o755),
        E::File("/etc/passwd", 0o644, b"root:x:0:0::/root:/bin/sh\n"),
        E::Symlink("/etc/link", "passwd"),
        E::Symlink("/etc/dangling", "nothere"),
        E::Symlink("/etc/loop", "loop"),
        E::Dir("/usr/share/doc", 0o755),
        E::File("/usr/share/doc/readme", 0o600, b"read me"),
        E::Char("/dev/tty9", 4, 9),
        E::Fifo("/run/fifo"),
    ])
}

impl T {
    fn new() -> T {
        T::with_limit(1 << 30)
    }

    fn with_limit(limit: u64) -> T {
        let clock = Arc::new(FixedClock::new(T0));
        T {
            vfs: Vfs::new(standard_image(), clock.clone(), limit),
            clock,
            intr: Interrupt::new(),
        }
    }

    fn root(&self) -> &Arc<Inode> {
        self.vfs.root()
    }

    fn open(&self, path: &str, flags: OFlags) -> KResult<Arc<FileDescription>> {
        self.vfs.openat(self.root(), path.as_bytes(), flags, 0o644)
    }

    fn write_file(&self, path: &str, data: &[u8]) {
        let f = self
            .open(path, OFlags::WRONLY | OFlags::CREAT | OFlags::TRUNC)
            .unwrap();
        assert_eq!(f.write(data, &self.intr), Ok(data.len()));
    }

    fn read_file(&self, path: &str) -> KResult<Vec<u8>> {
        let f = self.open(path, OFlags::RDONLY)?;
        read_all(&f, &self.intr)
    }

    fn stat(&self, path: &str) -> KResult<Stat> {
        self.vfs.fstatat(self.root(), path.as_bytes(), 0)
    }

    fn lstat(&self, path: &str) -> KResult<Stat> {
        self.vfs
            .fstatat(self.root(), path.as_bytes(), AT_SYMLINK_NOFOLLOW)
    }

    fn mkdir(&self, path: &str) -> KResult<()> {
        self.vfs.mkdirat(self.root(), path.as_bytes(), 0o755)
    }

    fn unlink(&self, path: &str) -> KResult<()> {
        self.vfs.unlinkat(self.root(), path.as_bytes(), 0)
    }

    fn rmdir(&self, path: &str) -> KResult<()> {
        self.vfs
            .unlinkat(self.root(), path.as_bytes(), AT_REMOVEDIR)
    }

    fn rename(&self, from: &str, to: &str) -> KResult<()> {
        self.vfs
            .renameat(self.root(), from.as_bytes(), self.root(), to.as_bytes())
    }

    fn link(&self, from: &str, to: &str) -> KResult<()> {
        self.vfs
            .linkat(self.root(), from.as_bytes(), self.root(), to.as_bytes(), 0)
    }

    fn symlink(&self, target: &str, path: &str) -> KResult<()> {
        self.vfs
            .symlinkat(target.as_bytes(), self.root(), path.as_bytes())
    }

    fn readlink(&self, path: &str) -> KResult<Vec<u8>> {
        self.vfs.readlinkat(self.root(), path.as_bytes())
    }

    fn ls(&self, path: &str) -> Vec<String> {
        let dir = self.open(path, OFlags::DIRECTORY).unwrap();
        let mut names = Vec::new();
        dir.getdents(|d| {
            names.push(String::from_utf8_lossy(&d.name).into_owned());
            true
        })
        .unwrap();
        names
    }

    fn getcwd(&self, path: &str) -> KResult<String> {
        let dir = self.vfs.lookup(self.root(), path.as_bytes(), true)?;
        self.vfs
            .getcwd(&dir)
            .map(|p| String::from_utf8_lossy(&p).into_owned())
    }
}

fn read_all(f: &FileDescription, intr: &Interrupt) -> KResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 7];
    loop {
        let n = f.read(&mut buf, intr)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn open_reads_image_files() {
    let t = T::new();
    assert_eq!(
        t.read_file("/etc/passwd").unwrap(),
        b"root:x:0:0::/root:/bin/sh\n"
    );
    assert_eq!(
        t.read_file("/etc/link").unwrap(),
        b"root:x:0:0::/root:/bin/sh\n"
    );
    assert_eq!(t.read_file("/etc/nope"), Err(Errno::ENOENT));
    assert_eq!(t.read_file("/etc/dangling"), Err(Errno::ENOENT));
    assert_eq!(t.read_file("/etc/loop"), Err(Errno::ELOOP));
    assert_eq!(t.read_file("/etc/passwd/"), Err(Errno::ENOTDIR));
    let s = t.stat("/usr/share/doc/readme").unwrap();
    assert_eq!(s.mode, S_IFREG | 0o600);
    assert_eq!(s.size, 7);
    assert_eq!(s.nlink, 1);
    assert_eq!(s.mtime, 1_000 * NANOS_PER_SEC, "the image's mtime");
}

#[test]
fn open_flag_rules() {
    let t = T::new();
    let f = t.open("/etc/passwd", OFlags::RDONLY).unwrap();
    assert_eq!(f.write(b"x", &t.intr), Err(Errno::EBADF));
    let f = t.open("/etc/passwd", OFlags::WRONLY).unwrap();
    assert_eq!(f.read(&mut [0u8; 4], &t.intr), Err(Errno::EBADF));
    assert_eq!(t.open("/etc", OFlags::WRONLY).err(), Some(Errno::EISDIR));
    assert_eq!(t.open("/etc", OFlags::RDWR).err(), Some(Errno::EISDIR));
    assert_eq!(
        t.open("/etc", OFlags::RDONLY)
            .unwrap()
            .read(&mut [0u8; 1], &t.intr),
        Err(Errno::EISDIR)
    );
    assert_eq!(
        t.open("/etc", OFlags::RDONLY | OFlags::TRUNC).err(),
        Some(Errno::EISDIR),
        "O_TRUNC asks for write access"
    );
    assert_eq!(
        t.open("/etc/passwd", OFlags::DIRECTORY).err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(t.open("/etc", OFlags::CREAT).err(), Some(Errno::EISDIR));
    assert_eq!(
        t.open("/etc/new/", OFlags::CREAT | OFlags::WRONLY).err(),
        Some(Errno::EISDIR)
    );
    assert_eq!(
        t.open("/etc/new", OFlags::CREAT | OFlags::DIRECTORY).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        t.open("/nodir/new", OFlags::CREAT | OFlags::WRONLY).err(),
        Some(Errno::ENOENT)
    );
    assert_eq!(
        t.open("/etc/passwd", OFlags::CREAT | OFlags::EXCL).err(),
        Some(Errno::EEXIST)
    );
    assert_eq!(
        t.open("/etc/dangling", OFlags::CREAT | OFlags::EXCL).err(),
        Some(Errno::EEXIST),
        "O_EXCL does not follow symlinks"
    );
    assert_eq!(
        t.open("/etc/link", OFlags::NOFOLLOW).err(),
        Some(Errno::ELOOP)
    );
    assert_eq!(
        t.open("/etc/link", OFlags::NOFOLLOW | OFlags::CREAT).err(),
        Some(Errno::ELOOP)
    );
    assert_eq!(
        t.open("/etc/link", OFlags::NOFOLLOW | OFlags::DIRECTORY)
            .err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(
        t.open("/", OFlags::TMPFILE | OFlags::RDWR).err(),
        Some(Errno::EOPNOTSUPP)
    );
    assert!(matches!(
        t.open("/run/fifo", OFlags::RDONLY).unwrap().target(),
        Target::Fifo(_)
    ));
    assert_eq!(t.open("/dev/tty9", OFlags::RDWR).err(), Some(Errno::ENXIO));
    assert_eq!(t.open("/dev/tty", OFlags::RDWR).err(), Some(Errno::ENOENT));
    assert_eq!(t.open("", OFlags::RDONLY).err(), Some(Errno::ENOENT));
}

/// Fifos: made by mknodat (as are empty files; devices are EPERM), their opens share
/// one pipe while any is open, a blocking open waits for the other side (interruptibly),
/// a non-blocking writer without a reader is ENXIO, and fstat is the fifo's.
#[test]
fn fifos_join_one_pipe() {
    let t = T::new();
    t.vfs.mknodat(t.root(), b"/f", S_IFIFO | 0o640).unwrap();
    t.vfs.mknodat(t.root(), b"/plain", 0o600).unwrap();
    assert_eq!(
        t.stat("/plain").unwrap().file_type(),
        Some(FileType::Regular)
    );
    assert_eq!(
        t.vfs.mknodat(t.root(), b"/f", S_IFIFO | 0o640),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        t.vfs.mknodat(t.root(), b"/dev0", S_IFCHR | 0o600),
        Err(Errno::EPERM)
    );
    assert_eq!(
        t.vfs.mknodat(t.root(), b"/no/f", S_IFIFO),
        Err(Errno::ENOENT)
    );
    let st = t.stat("/f").unwrap();
    assert_eq!(
        (st.file_type(), st.mode & 0o7777),
        (Some(FileType::Fifo), 0o640)
    );

    assert_eq!(
        t.open("/f", OFlags::WRONLY | OFlags::NONBLOCK).err(),
        Some(Errno::ENXIO),
        "no reader yet"
    );
    let r = t.open("/f", OFlags::RDONLY | OFlags::NONBLOCK).unwrap();
    assert_eq!(r.fstat().ino, st.ino, "fstat is the fifo's");
    // A blocking writer's open: the reader is there.
    let w = t.open("/f", OFlags::WRONLY).unwrap();
    w.wait_fifo_peer(&t.intr).unwrap();
    assert_eq!(w.write(b"through the fifo", &t.intr), Ok(16));
    assert_eq!(w.read(&mut [0; 4], &t.intr), Err(Errno::EBADF));
    drop(w);
    assert_eq!(read_all(&r, &t.intr).unwrap(), b"through the fifo");
    drop(r);

    // A blocking reader waits for a writer, on another thread.
    let r = t.open("/f", OFlags::RDONLY).unwrap();
    thread::scope(|s| {
        let writer = s.spawn(|| {
            thread::sleep(std::time::Duration::from_millis(50));
            let w = t.open("/f", OFlags::WRONLY).unwrap();
            w.wait_fifo_peer(&Interrupt::new()).unwrap();
            w.write(b"late", &Interrupt::new()).unwrap();
        });
        r.wait_fifo_peer(&t.intr).unwrap();
        writer.join().unwrap();
    });
    assert_eq!(read_all(&r, &t.intr).unwrap(), b"late");
    drop(r);

    // A writer that opens, writes and closes between a reader's open and its wait
    // still ends the wait, and its bytes are there.
    let r = t.open("/f", OFlags::RDONLY).unwrap();
    let w = t.open("/f", OFlags::WRONLY).unwrap();
    assert_eq!(w.write(b"quick", &t.intr), Ok(5));
    drop(w);
    r.wait_fifo_peer(&t.intr).unwrap();
    assert_eq!(read_all(&r, &t.intr).unwrap(), b"quick");
    drop(r);

    // A reader that joined while a writer had the fifo open does not wait, even if the
    // writer is gone by then.
    let w = t.open("/f", OFlags::WRONLY | OFlags::NONBLOCK).err();
    assert_eq!(w, Some(Errno::ENXIO));
    let keep = t.open("/f", OFlags::RDWR).unwrap();
    let w = t.open("/f", OFlags::WRONLY).unwrap();
    let r = t.open("/f", OFlags::RDONLY).unwrap();
    drop(w);
    drop(keep);
    r.wait_fifo_peer(&t.intr).unwrap();
    drop(r);

    // Bytes left when the last open closes are gone; O_RDWR never waits.
    let rw = t.open("/f", OFlags::RDWR).unwrap();
    rw.wait_fifo_peer(&t.intr).unwrap();
    assert_eq!(rw.write(b"lost", &t.intr), Ok(4));
    drop(rw);
    let rw = t.open("/f", OFlags::RDWR | OFlags::NONBLOCK).unwrap();
    assert_eq!(rw.read(&mut [0; 8], &t.intr), Err(Errno::EAGAIN));
    drop(rw);

    // An interrupted wait is EINTR.
    let w = t.open("/f", OFlags::WRONLY).unwrap();
    let intr = Interrupt::new();
    intr.interrupt();
    assert_eq!(w.wait_fifo_peer(&intr), Err(Errno::EINTR));
}

#[test]
fn o_creat_follows_a_dangling_symlink_and_creates_its_target() {
    let t = T::new();
    let f = t
        .open("/etc/dangling", OFlags::CREAT | OFlags::WRONLY)
        .unwrap();
    f.write(b"made", &t.intr).unwrap();
    assert_eq!(t.read_file("/etc/nothere").unwrap(), b"made");
    assert_eq!(t.lstat("/etc/dangling").unwrap().mode & 0o170000, S_IFLNK);
    assert_eq!(
        t.open("/etc/loop", OFlags::CREAT | OFlags::WRONLY).err(),
        Some(Errno::ELOOP)
    );
}

#[test]
fn o_path_names_without_io() {
    let t = T::new();
    let p = t
        .open("/etc/link", OFlags::PATH | OFlags::NOFOLLOW)
        .unwrap();
    assert_eq!(p.fstat().mode & 0o170000, S_IFLNK);
    assert_eq!(p.read(&mut [0u8; 1], &t.intr), Err(Errno::EBADF));
    assert_eq!(p.write(b"x", &t.intr), Err(Errno::EBADF));
    assert_eq!(p.lseek(0, Whence::Set), Err(Errno::EBADF));
    assert_eq!(p.getdents(|_| true), Err(Errno::EBADF));
    assert_eq!(p.status_flags(), OFlags::PATH);
    assert_eq!(
        t.vfs.readlinkat(p.inode().unwrap(), b""),
        Ok(b"passwd".to_vec())
    );
    // O_PATH ignores O_CREAT and O_TRUNC.
    let p = t
        .open("/etc/passwd", OFlags::PATH | OFlags::TRUNC | OFlags::CREAT)
        .unwrap();
    assert_eq!(p.fstat().size, 26);
    assert_eq!(
        t.open("/etc/passwd", OFlags::PATH | OFlags::DIRECTORY)
            .err(),
        Some(Errno::ENOTDIR)
    );
    let d = t.open("/etc", OFlags::PATH).unwrap();
    assert_eq!(
        t.vfs
            .fstatat(d.inode().unwrap(), b"passwd", 0)
            .unwrap()
            .size,
        26
    );
}

#[test]
fn truncate_on_open_and_after() {
    let t = T::new();
    let f = t
        .open("/etc/passwd", OFlags::RDONLY | OFlags::TRUNC)
        .unwrap();
    assert_eq!(f.fstat().size, 0, "Linux truncates even O_RDONLY");
    t.write_file("/f", b"0123456789");
    assert_eq!(t.vfs.truncate(t.root(), b"/f", 4), Ok(()));
    assert_eq!(t.read_file("/f").unwrap(), b"0123");
    assert_eq!(t.vfs.truncate(t.root(), b"/f", 6), Ok(()));
    assert_eq!(t.read_file("/f").unwrap(), b"0123\0\0");
    assert_eq!(t.vfs.truncate(t.root(), b"/f", -1), Err(Errno::EINVAL));
    assert_eq!(t.vfs.truncate(t.root(), b"/etc", 0), Err(Errno::EISDIR));
    assert_eq!(
        t.vfs.truncate(t.root(), b"/dev/null", 0),
        Err(Errno::EINVAL)
    );
    let ro = t.open("/f", OFlags::RDONLY).unwrap();
    assert_eq!(ro.ftruncate(0), Err(Errno::EINVAL));
    let rw = t.open("/f", OFlags::RDWR).unwrap();
    assert_eq!(rw.ftruncate(-5), Err(Errno::EINVAL));
    assert_eq!(rw.ftruncate(2), Ok(()));
    assert_eq!(rw.fstat().size, 2);
    let d = t.open("/etc", OFlags::RDONLY).unwrap();
    assert_eq!(d.ftruncate(0), Err(Errno::EINVAL));
}

#[test]
fn read_write_and_seek() {
    let t = T::new();
    let f = t.open("/f", OFlags::RDWR | OFlags::CREAT).unwrap();
    assert_eq!(f.write(b"hello", &t.intr), Ok(5));
    assert_eq!(f.lseek(0, Whence::Cur), Ok(5));
    assert_eq!(f.lseek(-2, Whence::End), Ok(3));
    let mut buf = [0u8; 10];
    assert_eq!(f.read(&mut buf, &t.intr), Ok(2));
    assert_eq!(&buf[..2], b"lo");
    assert_eq!(f.read(&mut buf, &t.intr), Ok(0), "end of file");
    assert_eq!(f.lseek(-1, Whence::Set), Err(Errno::EINVAL));
    assert_eq!(f.lseek(-6, Whence::End), Err(Errno::EINVAL));
    assert_eq!(
        f.lseek(0, Whence::Cur),
        Ok(5),
        "a failed seek leaves the offset"
    );
    // A hole.
    assert_eq!(f.lseek(10, Whence::Set), Ok(10));
    assert_eq!(f.write(b"!", &t.intr), Ok(1));
    assert_eq!(t.read_file("/f").unwrap(), b"hello\0\0\0\0\0!");
    assert_eq!(f.lseek(3, Whence::Data), Ok(3));
    assert_eq!(f.lseek(3, Whence::Hole), Ok(11));
    assert_eq!(f.lseek(11, Whence::Data), Err(Errno::ENXIO));
    assert_eq!(f.lseek(i64::MAX, Whence::Cur), Err(Errno::EINVAL));
    // pread/pwrite leave the offset alone.
    assert_eq!(f.lseek(1, Whence::Set), Ok(1));
    assert_eq!(f.pwrite(b"J", 0), Ok(1));
    assert_eq!(f.pread(&mut buf[..3], 0), Ok(3));
    assert_eq!(&buf[..3], b"Jel");
    assert_eq!(f.pread(&mut buf, 100), Ok(0));
    assert_eq!(f.lseek(0, Whence::Cur), Ok(1));
    // Vectored.
    assert_eq!(f.writev(&[b"AB", b"", b"C"], &t.intr), Ok(3));
    assert_eq!(f.lseek(0, Whence::Set), Ok(0));
    let (mut a, mut b) = ([0u8; 2], [0u8; 3]);
    assert_eq!(f.readv(&mut [&mut a, &mut b], &t.intr), Ok(5));
    assert_eq!((&a, &b), (b"JA", b"BCo"));
    assert_eq!(f.write(&[], &t.intr), Ok(0));
}

#[test]
fn append_goes_to_the_end_whatever_the_offset() {
    let t = T::new();
    t.write_file("/log", b"one\n");
    let a = t.open("/log", OFlags::WRONLY | OFlags::APPEND).unwrap();
    let b = t.open("/log", OFlags::RDWR).unwrap();
    assert_eq!(a.lseek(0, Whence::Set), Ok(0));
    assert_eq!(a.write(b"two\n", &t.intr), Ok(4));
    assert_eq!(a.lseek(0, Whence::Cur), Ok(8), "offset moved to the end");
    assert_eq!(
        b.write(b"ONE\n", &t.intr),
        Ok(4),
        "b writes at its offset 0"
    );
    assert_eq!(
        a.pwrite(b"3\n", 0),
        Ok(2),
        "Linux: pwrite with O_APPEND appends"
    );
    assert_eq!(t.read_file("/log").unwrap(), b"ONE\ntwo\n3\n");
    // F_SETFL can turn O_APPEND off.
    a.set_status_flags(OFlags::empty());
    assert_eq!(a.lseek(0, Whence::Set), Ok(0));
    assert_eq!(a.write(b"0", &t.intr), Ok(1));
    assert_eq!(t.read_file("/log").unwrap(), b"0NE\ntwo\n3\n");
}

#[test]
fn concurrent_appends_never_overwrite() {
    let t = Arc::new(T::new());
    t.write_file("/log", b"");
    let threads: Vec<_> = (0..4u8)
        .map(|id| {
            let t = Arc::clone(&t);
            thread::spawn(move || {
                let f = t.open("/log", OFlags::WRONLY | OFlags::APPEND).unwrap();
                for _ in 0..250 {
                    f.write(&[b'a' + id; 8], &t.intr).unwrap();
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    let data = t.read_file("/log").unwrap();
    assert_eq!(data.len(), 4 * 250 * 8);
    for chunk in data.chunks(8) {
        assert!(chunk.iter().all(|&c| c == chunk[0]));
    }
}

#[test]
fn unlinked_open_file_lives_until_closed() {
    let t = T::new();
    t.write_file("/tmpfile", &[7u8; 1000]);
    let used = t.vfs.writable_bytes();
    let f = t.open("/tmpfile", OFlags::RDWR).unwrap();
    assert_eq!(t.unlink("/tmpfile"), Ok(()));
    assert_eq!(t.stat("/tmpfile"), Err(Errno::ENOENT));
    assert_eq!(f.fstat().nlink, 0);
    assert_eq!(f.pwrite(b"still", 0), Ok(5));
    let mut buf = [0u8; 5];
    assert_eq!(f.pread(&mut buf, 0), Ok(5));
    assert_eq!(&buf, b"still");
    // A new file of the same name is another file.
    t.write_file("/tmpfile", b"new");
    assert_eq!(f.fstat().size, 1000);
    t.unlink("/tmpfile").unwrap();
    assert!(
        t.vfs.writable_bytes() >= 1000,
        "the open file still holds its data"
    );
    drop(f);
    assert!(
        t.vfs.writable_bytes() < used - 900,
        "closing the last fd frees it"
    );
}

#[test]
fn hard_links_share_an_inode() {
    let t = T::new();
    t.write_file("/a", b"data");
    assert_eq!(t.link("/a", "/b"), Ok(()));
    let (a, b) = (t.stat("/a").unwrap(), t.stat("/b").unwrap());
    assert_eq!(a.ino, b.ino);
    assert_eq!(a.nlink, 2);
    t.write_file("/b", b"changed");
    assert_eq!(t.read_file("/a").unwrap(), b"changed");
    assert_eq!(t.link("/a", "/b"), Err(Errno::EEXIST));
    assert_eq!(t.link("/etc", "/etc2"), Err(Errno::EPERM));
    assert_eq!(t.link("/nope", "/c"), Err(Errno::ENOENT));
    assert_eq!(t.link("/a", "/nodir/c"), Err(Errno::ENOENT));
    assert_eq!(t.link("/a", "/c/"), Err(Errno::ENOENT));
    assert_eq!(t.link("/a/", "/c"), Err(Errno::ENOTDIR));
    assert_eq!(t.link("/a", "/etc/.."), Err(Errno::EEXIST));
    t.unlink("/a").unwrap();
    assert_eq!(t.stat("/b").unwrap().nlink, 1);
    // Linking a symlink links the symlink, unless AT_SYMLINK_FOLLOW.
    t.link("/etc/link", "/l1").unwrap();
    assert_eq!(t.readlink("/l1").unwrap(), b"passwd");
    t.vfs
        .linkat(t.root(), b"/etc/link", t.root(), b"/l2", AT_SYMLINK_FOLLOW)
        .unwrap();
    assert_eq!(
        t.stat("/l2").unwrap().ino,
        t.stat("/etc/passwd").unwrap().ino
    );
    assert_eq!(t.stat("/etc/passwd").unwrap().nlink, 2);
    assert_eq!(
        t.vfs.linkat(t.root(), b"/b", t.root(), b"/x", 0x8000),
        Err(Errno::EINVAL)
    );
    // AT_EMPTY_PATH links an open file, unless it was unlinked.
    let f = t.open("/b", OFlags::RDONLY).unwrap();
    t.vfs
        .linkat(f.inode().unwrap(), b"", t.root(), b"/again", AT_EMPTY_PATH)
        .unwrap();
    assert_eq!(t.read_file("/again").unwrap(), b"changed");
    t.unlink("/b").unwrap();
    t.unlink("/again").unwrap();
    assert_eq!(
        t.vfs
            .linkat(f.inode().unwrap(), b"", t.root(), b"/back", AT_EMPTY_PATH),
        Err(Errno::ENOENT)
    );
}

#[test]
fn image_hard_links_stay_one_inode_across_copy_on_write() {
    let t = T::new();
    let s1 = t.stat("/bin/ln1").unwrap();
    assert_eq!(s1.nlink, 2);
    assert_eq!(s1.ino, t.stat("/bin/ln2").unwrap().ino);
    t.write_file("/bin/ln2", b"written");
    assert_eq!(t.read_file("/bin/ln1").unwrap(), b"written");
    t.unlink("/bin/ln1").unwrap();
    assert_eq!(t.stat("/bin/ln2").unwrap().nlink, 1);
}

#[test]
fn image_hard_link_nlink_survives_unlink_before_the_other_path_is_reached() {
    let t = T::new();
    // Materialize /bin (both names), unlink one: the other keeps the right count even
    // after its directory was listed again.
    t.unlink("/bin/ln1").unwrap();
    assert_eq!(t.stat("/bin/ln2").unwrap().nlink, 1);
    t.unlink("/bin/ln2").unwrap();
    assert_eq!(t.ls("/bin"), vec![".", "..", "sh"]);
}

#[test]
fn symlinks() {
    let t = T::new();
    assert_eq!(t.symlink("/etc/passwd", "/p"), Ok(()));
    assert_eq!(t.readlink("/p").unwrap(), b"/etc/passwd");
    assert_eq!(t.lstat("/p").unwrap().mode, S_IFLNK | 0o777);
    assert_eq!(t.lstat("/p").unwrap().size, 11);
    assert_eq!(t.stat("/p").unwrap().size, 26);
    assert_eq!(t.symlink("x", "/p"), Err(Errno::EEXIST));
    assert_eq!(t.symlink("", "/q"), Err(Errno::ENOENT));
    assert_eq!(t.symlink("x", "/q/"), Err(Errno::ENOENT));
    assert_eq!(t.symlink("x", "/etc/passwd/q"), Err(Errno::ENOTDIR));
    assert_eq!(t.symlink("x", "/etc/.."), Err(Errno::EEXIST));
    assert_eq!(t.readlink("/etc/passwd"), Err(Errno::EINVAL));
    assert_eq!(t.readlink("/etc/nope"), Err(Errno::ENOENT));
    assert_eq!(t.readlink("/etc/"), Err(Errno::EINVAL));
    assert_eq!(t.vfs.readlinkat(t.root(), b""), Err(Errno::ENOENT));
    // Relative targets resolve from the link's directory.
    t.mkdir("/d").unwrap();
    t.symlink("../etc/passwd", "/d/rel").unwrap();
    assert_eq!(t.stat("/d/rel").unwrap().size, 26);
    // A self loop and a two-link loop.
    t.symlink("/a2", "/a1").unwrap();
    t.symlink("/a1", "/a2").unwrap();
    assert_eq!(t.stat("/a1"), Err(Errno::ELOOP));
    assert!(t.lstat("/a1").is_ok());
    assert_eq!(t.stat("/a1/x"), Err(Errno::ELOOP));
    // Symlink to a directory, with and without trailing slash.
    t.symlink("/etc", "/e").unwrap();
    assert_eq!(t.lstat("/e").unwrap().mode & 0o170000, S_IFLNK);
    assert_eq!(t.lstat("/e/").unwrap().mode & 0o170000, S_IFDIR);
    assert!(t.stat("/e/passwd").is_ok());
}

#[test]
fn mkdir_and_rmdir() {
    let t = T::new();
    assert_eq!(t.mkdir("/d"), Ok(()));
    assert_eq!(t.stat("/d").unwrap().mode, S_IFDIR | 0o755);
    assert_eq!(t.stat("/d").unwrap().nlink, 2);
    assert_eq!(t.mkdir("/d"), Err(Errno::EEXIST));
    assert_eq!(t.mkdir("/d/"), Err(Errno::EEXIST));
    assert_eq!(t.mkdir("/etc/link"), Err(Errno::EEXIST));
    assert_eq!(t.mkdir("/"), Err(Errno::EEXIST));
    assert_eq!(t.mkdir("/d/."), Err(Errno::EEXIST));
    assert_eq!(t.mkdir("/x/y"), Err(Errno::ENOENT));
    assert_eq!(t.mkdir("/etc/passwd/y"), Err(Errno::ENOTDIR));
    assert_eq!(
        t.mkdir("/d/e/"),
        Ok(()),
        "a trailing slash is fine for mkdir"
    );
    assert_eq!(t.stat("/d").unwrap().nlink, 3);
    assert_eq!(t.rmdir("/d"), Err(Errno::ENOTEMPTY));
    assert_eq!(t.rmdir("/etc/passwd"), Err(Errno::ENOTDIR));
    assert_eq!(t.rmdir("/d/e/."), Err(Errno::EINVAL));
    assert_eq!(t.rmdir("/d/e/.."), Err(Errno::ENOTEMPTY));
    assert_eq!(t.rmdir("/"), Err(Errno::EBUSY));
    assert_eq!(t.rmdir("/d/nope"), Err(Errno::ENOENT));
    assert_eq!(t.unlink("/d"), Err(Errno::EISDIR));
    assert_eq!(t.unlink("/d/"), Err(Errno::EISDIR));
    assert_eq!(t.unlink("/etc/passwd/"), Err(Errno::ENOTDIR));
    assert_eq!(t.unlink("/nope/"), Err(Errno::ENOENT));
    assert_eq!(t.unlink("/"), Err(Errno::EISDIR));
    assert_eq!(t.rmdir("/d/e/"), Ok(()));
    assert_eq!(t.stat("/d").unwrap().nlink, 2);
    assert_eq!(
        t.vfs.unlinkat(t.root(), b"/d", 0x1),
        Err(Errno::EINVAL),
        "unknown unlinkat flag"
    );
    // A removed directory that is still open: empty, nothing can be made in it.
    let d = t.open("/d", OFlags::DIRECTORY).unwrap();
    t.rmdir("/d").unwrap();
    let inode = d.inode().unwrap();
    assert_eq!(d.fstat().nlink, 0);
    assert_eq!(t.vfs.mkdirat(inode, b"x", 0o755), Err(Errno::ENOENT));
    assert_eq!(
        t.vfs.openat(inode, b"x", OFlags::CREAT, 0o644).err(),
        Some(Errno::ENOENT)
    );
    assert_eq!(t.vfs.symlinkat(b"x", inode, b"x"), Err(Errno::ENOENT));
    let mut names = Vec::new();
    d.getdents(|e| {
        names.push(e.name.clone());
        true
    })
    .unwrap();
    assert_eq!(names, vec![b".".to_vec(), b"..".to_vec()]);
    assert_eq!(t.vfs.getcwd(inode), Err(Errno::ENOENT));
}

#[test]
fn rename_files() {
    let t = T::new();
    t.write_file("/a", b"A");
    t.write_file("/b", b"B");
    let b_open = t.open("/b", OFlags::RDONLY).unwrap();
    assert_eq!(t.rename("/a", "/b"), Ok(()), "a file replaces a file");
    assert_eq!(t.stat("/a"), Err(Errno::ENOENT));
    assert_eq!(t.read_file("/b").unwrap(), b"A");
    assert_eq!(b_open.fstat().nlink, 0, "the replaced file lost its name");
    assert_eq!(read_all(&b_open, &t.intr).unwrap(), b"B");
    assert_eq!(t.rename("/nope", "/c"), Err(Errno::ENOENT));
    assert_eq!(t.rename("/b", "/nodir/c"), Err(Errno::ENOENT));
    assert_eq!(t.rename("/b/", "/c"), Err(Errno::ENOTDIR));
    assert_eq!(t.rename("/b", "/c/"), Err(Errno::ENOTDIR));
    assert_eq!(t.rename("/b", "/etc"), Err(Errno::EISDIR));
    assert_eq!(t.rename("/b", "/b"), Ok(()));
    // Two names of one file: nothing happens, both stay.
    t.link("/b", "/b2").unwrap();
    assert_eq!(t.rename("/b", "/b2"), Ok(()));
    assert!(t.stat("/b").is_ok() && t.stat("/b2").is_ok());
    assert_eq!(t.stat("/b").unwrap().nlink, 2);
    // Across directories.
    t.rename("/b", "/etc/moved").unwrap();
    assert_eq!(t.read_file("/etc/moved").unwrap(), b"A");
    // Renaming a symlink moves the link, not its target.
    t.rename("/etc/link", "/l").unwrap();
    assert_eq!(t.readlink("/l").unwrap(), b"passwd");
    assert_eq!(
        t.stat("/l"),
        Err(Errno::ENOENT),
        "the relative target now misses"
    );
    assert_eq!(
        t.vfs
            .renameat2(t.root(), b"/b2", t.root(), b"/etc/moved", RENAME_NOREPLACE),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        t.vfs.renameat2(t.root(), b"/b2", t.root(), b"/z", 4),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        t.vfs
            .renameat2(t.root(), b"/b2", t.root(), b"/z", RENAME_NOREPLACE),
        Ok(())
    );
}

#[test]
fn rename_directories() {
    let t = T::new();
    t.mkdir("/a").unwrap();
    t.mkdir("/a/sub").unwrap();
    t.write_file("/a/sub/f", b"x");
    t.mkdir("/empty").unwrap();
    t.mkdir("/full").unwrap();
    t.write_file("/full/f", b"");
    assert_eq!(
        t.rename("/a", "/a/sub/x"),
        Err(Errno::EINVAL),
        "into itself"
    );
    assert_eq!(t.rename("/a", "/a/x"), Err(Errno::EINVAL));
    assert_eq!(
        t.rename("/a/sub", "/a"),
        Err(Errno::ENOTEMPTY),
        "over its ancestor"
    );
    assert_eq!(t.rename("/a", "/full"), Err(Errno::ENOTEMPTY));
    assert_eq!(t.rename("/a", "/etc/passwd"), Err(Errno::ENOTDIR));
    assert_eq!(t.rename("/a/.", "/b"), Err(Errno::EBUSY));
    assert_eq!(t.rename("/a", "/etc/.."), Err(Errno::EBUSY));
    assert_eq!(t.rename("/a", "/b/.."), Err(Errno::ENOENT));
    assert_eq!(t.rename("/", "/b"), Err(Errno::EBUSY));
    let empty_open = t.open("/empty", OFlags::DIRECTORY).unwrap();
    assert_eq!(
        t.rename("/a/", "/empty/"),
        Ok(()),
        "over an empty directory"
    );
    assert_eq!(
        empty_open.fstat().nlink,
        0,
        "the replaced directory is gone"
    );
    assert_eq!(t.read_file("/empty/sub/f").unwrap(), b"x");
    assert_eq!(t.getcwd("/empty/sub").unwrap(), "/empty/sub");
    assert_eq!(
        t.stat("/empty/sub/..").unwrap().ino,
        t.stat("/empty").unwrap().ino
    );
    // Move a directory to another parent: `..` and link counts follow.
    let root_links = t.stat("/").unwrap().nlink;
    t.rename("/empty/sub", "/full/sub").unwrap();
    assert_eq!(
        t.stat("/full/sub/..").unwrap().ino,
        t.stat("/full").unwrap().ino
    );
    assert_eq!(t.stat("/full").unwrap().nlink, 3);
    assert_eq!(t.stat("/empty").unwrap().nlink, 2);
    assert_eq!(t.stat("/").unwrap().nlink, root_links);
    assert_eq!(t.getcwd("/full/sub").unwrap(), "/full/sub");
    // An image directory, not materialized yet, moves with its contents.
    t.rename("/usr/share", "/share").unwrap();
    assert_eq!(t.read_file("/share/doc/readme").unwrap(), b"read me");
    assert_eq!(t.ls("/usr"), vec![".", ".."]);
}

#[test]
fn getdents_lists_dot_dotdot_then_a_stable_order() {
    let t = T::new();
    assert_eq!(
        t.ls("/etc"),
        vec![".", "..", "dangling", "link", "loop", "passwd"]
    );
    assert_eq!(
        t.ls("/dev"),
        vec![
            ".", "..", "fd", "full", "null", "random", "stderr", "stdin", "stdout", "tty9",
            "urandom", "zero"
        ]
    );
    t.mkdir("/d").unwrap();
    for name in ["c", "a", "b"] {
        t.write_file(&format!("/d/{name}"), b"");
    }
    assert_eq!(t.ls("/d"), vec![".", "..", "c", "a", "b"], "creation order");
    let dir = t.open("/d", OFlags::DIRECTORY).unwrap();
    let mut seen = Vec::new();
    dir.getdents(|e| {
        seen.push(e.clone());
        true
    })
    .unwrap();
    assert_eq!(seen[0].ino, t.stat("/d").unwrap().ino);
    assert_eq!(seen[1].ino, t.stat("/").unwrap().ino);
    assert_eq!(seen[2].ino, t.stat("/d/c").unwrap().ino);
    assert_eq!(seen[2].file_type, FileType::Regular);
    assert_eq!(seen[0].file_type, FileType::Directory);
    // Resuming at a cookie.
    assert_eq!(
        dir.lseek(seen[2].next as i64, Whence::Set),
        Ok(seen[2].next)
    );
    let mut rest = Vec::new();
    dir.getdents(|e| {
        rest.push(String::from_utf8_lossy(&e.name).into_owned());
        true
    })
    .unwrap();
    assert_eq!(rest, vec!["a", "b"]);
    assert_eq!(dir.getdents(|_| true), Ok(0), "at the end");
    assert_eq!(dir.lseek(0, Whence::End), Err(Errno::EINVAL));
    // The root's `..` is itself.
    let root = t.open("/", OFlags::DIRECTORY).unwrap();
    let mut inos = Vec::new();
    root.getdents(|e| {
        inos.push(e.ino);
        inos.len() < 2
    })
    .unwrap();
    assert_eq!(inos[0], inos[1]);
    let f = t.open("/etc/passwd", OFlags::RDONLY).unwrap();
    assert_eq!(f.getdents(|_| true), Err(Errno::ENOTDIR));
}

#[test]
fn getdents_resumes_where_the_caller_stopped() {
    let t = T::new();
    t.mkdir("/big").unwrap();
    for i in 0..200 {
        t.write_file(&format!("/big/f{i:03}"), b"");
    }
    let dir = t.open("/big", OFlags::DIRECTORY).unwrap();
    let mut names = Vec::new();
    // Take 7 entries per call, as a small buffer would.
    loop {
        let mut room = 7;
        let n = dir
            .getdents(|e| {
                if room == 0 {
                    return false;
                }
                room -= 1;
                names.push(String::from_utf8_lossy(&e.name).into_owned());
                true
            })
            .unwrap();
        if n == 0 {
            break;
        }
    }
    assert_eq!(names.len(), 202);
    let expected: Vec<String> = [".".to_string(), "..".to_string()]
        .into_iter()
        .chain((0..200).map(|i| format!("f{i:03}")))
        .collect();
    assert_eq!(names, expected);
}

#[test]
fn getdents_during_changes_neither_skips_nor_repeats() {
    let t = T::new();
    t.mkdir("/d").unwrap();
    for i in 0..100 {
        t.write_file(&format!("/d/{i}"), b"");
    }
    let dir = t.open("/d", OFlags::DIRECTORY).unwrap();
    let mut seen: Vec<String> = Vec::new();
    let mut round = 0;
    loop {
        let mut room = 10;
        let n = dir
            .getdents(|e| {
                if room == 0 {
                    return false;
                }
                room -= 1;
                seen.push(String::from_utf8_lossy(&e.name).into_owned());
                true
            })
            .unwrap();
        if n == 0 {
            break;
        }
        // Between calls: remove one entry already seen and one not yet seen, add one
        // (for a few rounds: each lands ahead of the cursor).
        let _ = t.unlink(&format!("/d/{}", round * 10));
        let _ = t.unlink(&format!("/d/{}", 99 - round));
        if round < 5 {
            t.write_file(&format!("/d/new{round}"), b"");
        }
        round += 1;
    }
    let mut counts = std::collections::HashMap::new();
    for name in &seen {
        *counts.entry(name.clone()).or_insert(0) += 1;
    }
    assert!(counts.values().all(|&c| c == 1), "repeated: {counts:?}");
    // Every entry present from start to end was seen.
    for i in 0..100 {
        let path = format!("/d/{i}");
        if t.stat(&path).is_ok() {
            assert!(counts.contains_key(&i.to_string()), "skipped {i}");
        }
    }
}

#[test]
fn timestamps_follow_the_clock() {
    let t = T::new();
    t.clock.set(2_000 * NANOS_PER_SEC);
    t.write_file("/f", b"x");
    let s = t.stat("/f").unwrap();
    assert_eq!(
        (s.atime, s.mtime, s.ctime),
        (
            2_000 * NANOS_PER_SEC,
            2_000 * NANOS_PER_SEC,
            2_000 * NANOS_PER_SEC
        )
    );
    assert_eq!(
        t.stat("/").unwrap().mtime,
        2_000 * NANOS_PER_SEC,
        "parent changed"
    );
    t.clock.set(3_000 * NANOS_PER_SEC);
    let f = t.open("/f", OFlags::WRONLY).unwrap();
    f.write(b"y", &t.intr).unwrap();
    let s = t.stat("/f").unwrap();
    assert_eq!(
        (s.atime, s.mtime, s.ctime),
        (
            2_000 * NANOS_PER_SEC,
            3_000 * NANOS_PER_SEC,
            3_000 * NANOS_PER_SEC
        )
    );
    t.clock.set(4_000 * NANOS_PER_SEC);
    t.vfs
        .utimensat(t.root(), b"/f", [SetTime::At(5), SetTime::Omit], 0)
        .unwrap();
    let s = t.stat("/f").unwrap();
    assert_eq!(
        (s.atime, s.mtime, s.ctime),
        (5, 3_000 * NANOS_PER_SEC, 4_000 * NANOS_PER_SEC)
    );
    t.clock.set(5_000 * NANOS_PER_SEC);
    t.vfs
        .utimensat(t.root(), b"/f", [SetTime::Omit, SetTime::Omit], 0)
        .unwrap();
    assert_eq!(
        t.stat("/f").unwrap().ctime,
        4_000 * NANOS_PER_SEC,
        "both omitted: no change"
    );
    f.futimens(SetTime::Now, SetTime::from_timespec(0, UTIME_NOW).unwrap())
        .unwrap();
    let s = t.stat("/f").unwrap();
    assert_eq!(
        (s.atime, s.mtime),
        (5_000 * NANOS_PER_SEC, 5_000 * NANOS_PER_SEC)
    );
    // On the symlink itself.
    t.vfs
        .utimensat(
            t.root(),
            b"/etc/link",
            [SetTime::At(1), SetTime::At(2)],
            AT_SYMLINK_NOFOLLOW,
        )
        .unwrap();
    assert_eq!(t.lstat("/etc/link").unwrap().mtime, 2);
    assert_ne!(t.stat("/etc/link").unwrap().mtime, 2);
    assert_eq!(
        t.vfs.utimensat(t.root(), b"/f", [SetTime::Now; 2], 0x2),
        Err(Errno::EINVAL)
    );
    // chmod and unlink touch ctime; unlink touches the parent's mtime.
    t.clock.set(6_000 * NANOS_PER_SEC);
    t.vfs.fchmodat(t.root(), b"/f", 0o4711, 0).unwrap();
    let s = t.stat("/f").unwrap();
    assert_eq!((s.mode, s.ctime), (S_IFREG | 0o4711, 6_000 * NANOS_PER_SEC));
    t.clock.set(7_000 * NANOS_PER_SEC);
    t.link("/f", "/g").unwrap();
    t.unlink("/f").unwrap();
    assert_eq!(t.stat("/g").unwrap().ctime, 7_000 * NANOS_PER_SEC);
    assert_eq!(t.stat("/").unwrap().mtime, 7_000 * NANOS_PER_SEC);
}

#[test]
fn chmod_and_chown() {
    let t = T::new();
    assert_eq!(
        t.vfs
            .fchmodat(t.root(), b"/etc/link", 0o600, AT_SYMLINK_NOFOLLOW),
        Err(Errno::EOPNOTSUPP)
    );
    t.vfs.fchmodat(t.root(), b"/etc/link", 0o600, 0).unwrap();
    assert_eq!(t.stat("/etc/passwd").unwrap().mode, S_IFREG | 0o600);
    t.vfs.fchmodat(t.root(), b"/bin/sh", 0o6755, 0).unwrap();
    t.vfs
        .fchownat(t.root(), b"/bin/sh", Some(1000), None, 0)
        .unwrap();
    let s = t.stat("/bin/sh").unwrap();
    assert_eq!((s.uid, s.gid), (1000, 0));
    assert_eq!(s.mode, S_IFREG | 0o755, "chown clears setuid and setgid");
    t.vfs
        .fchownat(
            t.root(),
            b"/etc/link",
            Some(5),
            Some(6),
            AT_SYMLINK_NOFOLLOW,
        )
        .unwrap();
    let l = t.lstat("/etc/link").unwrap();
    assert_eq!((l.uid, l.gid), (5, 6));
    let f = t.open("/bin/sh", OFlags::RDONLY).unwrap();
    f.fchmod(0o700).unwrap();
    f.fchown(None, Some(9)).unwrap();
    let s = t.stat("/bin/sh").unwrap();
    assert_eq!((s.mode, s.gid), (S_IFREG | 0o700, 9));
}

#[test]
fn fstatat_flags() {
    let t = T::new();
    assert_eq!(t.vfs.fstatat(t.root(), b"/etc", 0x4), Err(Errno::EINVAL));
    let etc = t.vfs.lookup(t.root(), b"/etc", true).unwrap();
    assert_eq!(
        t.vfs.fstatat(&etc, b"", AT_EMPTY_PATH).unwrap().ino,
        etc.ino()
    );
    assert_eq!(t.vfs.fstatat(&etc, b"", 0), Err(Errno::ENOENT));
    assert!(t.vfs.fstatat(&etc, b"passwd", AT_NO_AUTOMOUNT).is_ok());
    let passwd = t.vfs.lookup(&etc, b"passwd", true).unwrap();
    assert_eq!(t.vfs.fstatat(&passwd, b"x", 0), Err(Errno::ENOTDIR));
}

#[test]
fn devices() {
    let t = T::new();
    let null = t.open("/dev/null", OFlags::RDWR).unwrap();
    assert_eq!(null.write(b"gone", &t.intr), Ok(4));
    assert_eq!(null.read(&mut [0u8; 4], &t.intr), Ok(0));
    assert_eq!(null.lseek(100, Whence::Set), Ok(0));
    let s = null.fstat();
    assert_eq!(s.mode, S_IFCHR | 0o666);
    assert_eq!(s.rdev, 0x103);
    let zero = t.open("/dev/zero", OFlags::RDONLY).unwrap();
    let mut buf = [9u8; 100];
    assert_eq!(zero.read(&mut buf, &t.intr), Ok(100));
    assert!(buf.iter().all(|&b| b == 0));
    let full = t.open("/dev/full", OFlags::WRONLY).unwrap();
    assert_eq!(full.write(b"x", &t.intr), Err(Errno::ENOSPC));
    let ur = t.open("/dev/urandom", OFlags::RDONLY).unwrap();
    let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
    ur.read(&mut a, &t.intr).unwrap();
    ur.read(&mut b, &t.intr).unwrap();
    assert_ne!(a, b);
    assert_eq!(ur.pread(&mut a, 5), Ok(32));
    assert_eq!(t.stat("/dev/tty9").unwrap().rdev, 0x409);
}

#[test]
fn exec_needs_an_execute_bit() {
    let t = T::new();
    assert!(t.vfs.exec_lookup(t.root(), b"/bin/sh").is_ok());
    assert_eq!(
        t.vfs.exec_lookup(t.root(), b"/etc/passwd").err(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        t.vfs.exec_lookup(t.root(), b"/bin").err(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        t.vfs.exec_lookup(t.root(), b"/dev/null").err(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        t.vfs.exec_lookup(t.root(), b"/nope").err(),
        Some(Errno::ENOENT)
    );
    t.symlink("/bin/sh", "/sh").unwrap();
    let sh = t.vfs.exec_lookup(t.root(), b"/sh").unwrap();
    let contents = sh.read_contents().unwrap();
    assert_eq!(&*contents.bytes, b"#!shell");
    assert!(contents.from_image);
}

#[test]
fn getcwd_builds_the_path_from_the_tree() {
    let t = T::new();
    assert_eq!(t.getcwd("/").unwrap(), "/");
    assert_eq!(t.getcwd("/usr/share/doc").unwrap(), "/usr/share/doc");
    assert_eq!(t.getcwd("/usr/share/doc/..").unwrap(), "/usr/share");
    let doc = t.vfs.lookup(t.root(), b"/usr/share/doc", true).unwrap();
    t.rename("/usr", "/opt").unwrap();
    assert_eq!(t.vfs.getcwd(&doc).unwrap(), b"/opt/share/doc");
    let f = t.vfs.lookup(t.root(), b"/etc/passwd", true).unwrap();
    assert_eq!(t.vfs.getcwd(&f), Err(Errno::ENOTDIR));
}

#[test]
fn writable_layer_limit_is_enospc() {
    let t = T::with_limit(10_000);
    let f = t.open("/big", OFlags::WRONLY | OFlags::CREAT).unwrap();
    assert_eq!(f.write(&[1u8; 9_000], &t.intr), Ok(9_000));
    assert_eq!(f.write(&[1u8; 2_000], &t.intr), Err(Errno::ENOSPC));
    assert_eq!(
        f.pwrite(b"x", 1 << 40),
        Err(Errno::ENOSPC),
        "a far hole is not free"
    );
    assert_eq!(f.ftruncate(1 << 50), Err(Errno::ENOSPC));
    assert_eq!(f.fstat().size, 9_000);
    // Entries cost too: making directories in a loop stops.
    let mut made = 0;
    loop {
        match t.mkdir(&format!("/d{made}")) {
            Ok(()) => made += 1,
            Err(e) => {
                assert_eq!(e, Errno::ENOSPC);
                break;
            }
        }
    }
    assert!(made < 10, "made {made}");
    // Copying up an image file is charged in full (26 bytes here, 4 appended).
    let tiny = T::with_limit(20);
    assert_eq!(
        tiny.open("/etc/passwd", OFlags::WRONLY | OFlags::APPEND)
            .unwrap()
            .write(b"more", &tiny.intr),
        Err(Errno::ENOSPC)
    );
    assert_eq!(tiny.read_file("/etc/passwd").unwrap().len(), 26);
    assert_eq!(tiny.vfs.writable_bytes(), 0);
    // Freeing space lets writes through again.
    drop(f);
    t.unlink("/big").unwrap();
    assert!(t.vfs.writable_bytes() < 1_000);
    t.write_file("/small", &[0u8; 5_000]);
}

#[test]
fn lazy_materialization() {
    let t = T::new();
    assert_eq!(t.vfs.materialized_inodes(), 1, "only the root");
    t.stat("/etc/passwd").unwrap();
    // The root's children, then /etc's.
    let after = t.vfs.materialized_inodes();
    assert_eq!(after, 1 + 6 + 4);
    t.stat("/etc/link").unwrap();
    assert_eq!(t.vfs.materialized_inodes(), after, "already there");
    assert_eq!(t.vfs.writable_bytes(), 0, "looking costs nothing");
}

#[test]
fn concurrent_namespace_changes_stay_consistent() {
    let t = Arc::new(T::new());
    t.mkdir("/x").unwrap();
    t.mkdir("/y").unwrap();
    let workers: Vec<_> = (0..4)
        .map(|id| {
            let t = Arc::clone(&t);
            thread::spawn(move || {
                for i in 0..150 {
                    let name = format!("/x/{id}-{i}");
                    t.write_file(&name, b"");
                    if i % 3 == 0 {
                        t.unlink(&name).unwrap();
                    } else if i % 3 == 1 {
                        t.rename(&name, &format!("/y/{id}-{i}")).unwrap();
                    }
                    // Directory moves back and forth race with the creations above.
                    let d = format!("/x/dir{id}");
                    t.mkdir(&d).unwrap();
                    t.rename(&d, &format!("/y/dir{id}")).unwrap();
                    t.rmdir(&format!("/y/dir{id}")).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(t.ls("/x").len(), 2 + 4 * 50);
    assert_eq!(t.ls("/y").len(), 2 + 4 * 50);
    assert_eq!(t.stat("/x").unwrap().nlink, 2);
}

#[test]
fn dropping_the_vfs_frees_the_layer() {
    let img = standard_image();
    let data = {
        let v = Vfs::new(Arc::clone(&img), Arc::new(FixedClock::new(0)), 1 << 20);
        // Reach the image hard links (they sit in the layer's map), and write one.
        let f = v.openat(v.root(), b"/bin/ln1", OFlags::RDWR, 0).unwrap();
        f.write(b"x", &Interrupt::new()).unwrap();
        match f.target() {
            Target::Regular(i) => Arc::downgrade(i),
            _ => unreachable!(),
        }
    };
    assert!(
        data.upgrade().is_none(),
        "the inode was freed with the view"
    );
}

/// Directory moves between two parents (locked in inode order), removals under the moved
/// directory (parent then child), creations, getcwd walks (one lock at a time) and moves
/// of their common ancestor race; the lock order in the module docs keeps this free of
/// deadlocks. The workers use directory-relative paths, as processes holding dirfds do.
#[test]
fn renames_removals_and_walks_race_without_deadlock() {
    let t = Arc::new(T::new());
    for d in ["/top", "/top/p", "/top/q", "/top/p/x", "/top/q/y"] {
        t.mkdir(d).unwrap();
    }
    let p = t.vfs.lookup(t.root(), b"/top/p", true).unwrap();
    let q = t.vfs.lookup(t.root(), b"/top/q", true).unwrap();
    let mover = |a: &Arc<Inode>, b: &Arc<Inode>, name: &'static str| {
        let (t, a, b) = (Arc::clone(&t), Arc::clone(a), Arc::clone(b));
        thread::spawn(move || {
            for _ in 0..300 {
                t.vfs
                    .renameat(&a, name.as_bytes(), &b, name.as_bytes())
                    .unwrap();
                t.vfs
                    .renameat(&b, name.as_bytes(), &a, name.as_bytes())
                    .unwrap();
            }
        })
    };
    let movers = [mover(&p, &q, "x"), mover(&q, &p, "y")];
    let churn = {
        let (t, p, q) = (Arc::clone(&t), Arc::clone(&p), Arc::clone(&q));
        thread::spawn(move || {
            for i in 0..300 {
                // x is in p or q at any moment; whichever works.
                for parent in [&p, &q] {
                    if let Ok(x) = t.vfs.lookup(parent, b"x", true) {
                        let sub = format!("s{i}");
                        t.vfs.mkdirat(&x, sub.as_bytes(), 0o755).unwrap();
                        let cwd = t.vfs.getcwd(&x).unwrap();
                        assert!(cwd.ends_with(b"/x"), "{}", String::from_utf8_lossy(&cwd));
                        t.vfs.unlinkat(&x, sub.as_bytes(), AT_REMOVEDIR).unwrap();
                    }
                }
            }
        })
    };
    let outer = {
        let t = Arc::clone(&t);
        thread::spawn(move || {
            for _ in 0..300 {
                t.rename("/top", "/top2").unwrap();
                t.rename("/top2", "/top").unwrap();
            }
        })
    };
    for th in movers {
        th.join().unwrap();
    }
    churn.join().unwrap();
    outer.join().unwrap();
    assert_eq!(t.getcwd("/top/p/x").unwrap(), "/top/p/x");
    assert_eq!(t.getcwd("/top/q/y").unwrap(), "/top/q/y");
    assert_eq!(t.ls("/top/p/x"), vec![".", ".."]);
}

/// A guest may nest directories far deeper than the host stack: creating, walking and
/// dropping such a tree must not recurse once per level.
#[test]
fn very_deep_trees_drop_without_recursion() {
    let t = T::new();
    let mut cur = Arc::clone(t.root());
    for _ in 0..100_000 {
        t.vfs.mkdirat(&cur, b"d", 0o755).unwrap();
        cur = t.vfs.lookup(&cur, b"d", true).unwrap();
    }
    assert_eq!(t.vfs.getcwd(&cur), Err(Errno::ENAMETOOLONG));
    drop(cur);
    let layer_bytes = t.vfs.writable_bytes();
    assert!(layer_bytes > 100_000 * ENTRY_COST);
    drop(t);
}
