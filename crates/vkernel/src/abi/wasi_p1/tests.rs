//! Tests of the preview1 host: [`WasiProcess::call`] driven directly with a byte-vector
//! memory, on a kernel made from a small image.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::types::{
    EVENT_SIZE, FD_READWRITE_HANGUP, SUBSCRIPTION_SIZE, clockid, eventtype, fdflags, filetype,
    lookupflags, oflags, rights,
};
use super::{FUNCS, HostExit, WasiErrno, WasiHost, WasiProcess, func_index};
use crate::kernel::testutil::{E, image};
use crate::kernel::{
    BytesStream, CaptureStream, FdSource, FileDescription, FixedClock, Kernel, Limits, OFlags,
    Process, SpawnSpec,
};

/// Fixed wall-clock time of the test kernels: 2023-11-14T22:13:20Z.
const NOW: i64 = 1_700_000_000_000_000_000;
const MEM: usize = 64 * 1024;
/// Where tests put their scratch data in guest memory.
const OUT: u32 = 0; // results (up to 256 bytes)
const IOV: u32 = 256; // iovec arrays
const STR: u32 = 1024; // strings
const STR2: u32 = 2048;
const DATA: u32 = 4096; // buffers
const ALL_RW: i64 = (rights::FD_READ | rights::FD_WRITE | rights::FD_SEEK) as i64;

struct Guest {
    host: WasiProcess,
    mem: Vec<u8>,
    kernel: Arc<Kernel>,
    process: Arc<Process>,
    stdout: Arc<CaptureStream>,
}

fn entries() -> Vec<E<'static>> {
    vec![
        E::Dir("/etc", 0o755),
        E::File("/etc/hostname", 0o644, b"box\n"),
        E::File("/f", 0o644, b"hello"),
        E::Symlink("/l", "f"),
        E::Symlink("/abs", "/etc/hostname"),
        E::Symlink("/up", "../etc"),
        E::Dir("/d", 0o755),
        E::File("/d/x", 0o644, b"x"),
        E::Dir("/tmp", 0o777),
        E::Dir("/dev", 0o755),
        E::Char("/dev/null", 1, 3),
    ]
}

impl Guest {
    fn new() -> Guest {
        Guest::with(&entries())
    }

    fn with(entries: &[E<'_>]) -> Guest {
        let kernel = Arc::new(Kernel::with_clock(
            image(entries),
            Limits::default(),
            Arc::new(FixedClock::new(NOW)),
        ));
        let stdout = CaptureStream::new(1 << 20);
        let spec = SpawnSpec {
            argv: vec![b"prog".to_vec(), b"-x".to_vec(), b"arg two".to_vec()],
            env: vec![
                (b"PATH".to_vec(), b"/bin".to_vec()),
                (b"EMPTY".to_vec(), b"".to_vec()),
            ],
            cwd: None,
            umask: None,
            fds: vec![
                (
                    0,
                    FdSource::File(FileDescription::host(
                        BytesStream::new(b"input".to_vec()),
                        OFlags::RDONLY,
                    )),
                ),
                (
                    1,
                    FdSource::File(FileDescription::host(stdout.clone(), OFlags::WRONLY)),
                ),
                (
                    2,
                    FdSource::File(FileDescription::host(
                        CaptureStream::new(1024),
                        OFlags::WRONLY,
                    )),
                ),
            ],
        };
        let process = kernel.spawn(None, spec).unwrap();
        let host = WasiProcess::new(Arc::clone(&kernel), Arc::clone(&process)).unwrap();
        Guest {
            host,
            mem: vec![0; MEM],
            kernel,
            process,
            stdout,
        }
    }

    fn call(&mut self, name: &str, args: &[i64]) -> Result<i32, HostExit> {
        let func = func_index(name).unwrap();
        self.host.call(func, &mut self.mem, args)
    }

    /// The WASI errno of a call that must return one.
    fn errno(&mut self, name: &str, args: &[i64]) -> WasiErrno {
        match self.call(name, args) {
            Ok(e) => WasiErrno(u16::try_from(e).unwrap()),
            Err(x) => panic!("{name}: {x:?}"),
        }
    }

    fn ok(&mut self, name: &str, args: &[i64]) {
        assert_eq!(self.errno(name, args), WasiErrno::SUCCESS, "{name}{args:?}");
    }

    fn put(&mut self, at: u32, bytes: &[u8]) {
        self.mem[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
    }

    fn get(&self, at: u32, len: usize) -> Vec<u8> {
        self.mem[at as usize..at as usize + len].to_vec()
    }

    fn u32_at(&self, at: u32) -> u32 {
        u32::from_le_bytes(self.get(at, 4).try_into().unwrap())
    }

    fn u64_at(&self, at: u32) -> u64 {
        u64::from_le_bytes(self.get(at, 8).try_into().unwrap())
    }

    fn put_u32(&mut self, at: u32, v: u32) {
        self.put(at, &v.to_le_bytes());
    }

    fn put_u64(&mut self, at: u32, v: u64) {
        self.put(at, &v.to_le_bytes());
    }

    /// Puts `s` at `at`: (ptr, len) arguments.
    fn s(&mut self, at: u32, s: &str) -> [i64; 2] {
        self.put(at, s.as_bytes());
        [i64::from(at), s.len() as i64]
    }

    /// path_open from the root preopen: the errno, and the fd on success.
    fn open_errno(
        &mut self,
        path: &str,
        oflags: u16,
        rights: i64,
        fdflags: u16,
    ) -> (WasiErrno, i32) {
        let [p, l] = self.s(STR, path);
        let e = self.errno(
            "path_open",
            &[
                3,
                1,
                p,
                l,
                i64::from(oflags),
                rights,
                rights,
                i64::from(fdflags),
                i64::from(OUT),
            ],
        );
        (e, self.u32_at(OUT) as i32)
    }

    fn open(&mut self, path: &str, oflags: u16, rights: i64, fdflags: u16) -> i32 {
        let (e, fd) = self.open_errno(path, oflags, rights, fdflags);
        assert_eq!(e, WasiErrno::SUCCESS, "open {path}");
        fd
    }

    /// fd_write of `chunks` as one iovec each: the errno and the count.
    fn write_errno(&mut self, fd: i32, chunks: &[&[u8]]) -> (WasiErrno, u32) {
        let mut at = DATA;
        for (i, c) in chunks.iter().enumerate() {
            self.put(at, c);
            self.put_u32(IOV + 8 * i as u32, at);
            self.put_u32(IOV + 8 * i as u32 + 4, c.len() as u32);
            at += c.len() as u32;
        }
        let e = self.errno(
            "fd_write",
            &[
                i64::from(fd),
                i64::from(IOV),
                chunks.len() as i64,
                i64::from(OUT),
            ],
        );
        (e, self.u32_at(OUT))
    }

    fn write(&mut self, fd: i32, chunks: &[&[u8]]) -> u32 {
        let (e, n) = self.write_errno(fd, chunks);
        assert_eq!(e, WasiErrno::SUCCESS);
        n
    }

    /// fd_read into buffers of the given sizes: the bytes read.
    fn read_errno(&mut self, fd: i32, sizes: &[u32]) -> (WasiErrno, Vec<u8>) {
        let mut at = DATA;
        for (i, &n) in sizes.iter().enumerate() {
            self.put_u32(IOV + 8 * i as u32, at);
            self.put_u32(IOV + 8 * i as u32 + 4, n);
            at += n;
        }
        let e = self.errno(
            "fd_read",
            &[
                i64::from(fd),
                i64::from(IOV),
                sizes.len() as i64,
                i64::from(OUT),
            ],
        );
        let n = self.u32_at(OUT) as usize;
        (
            e,
            if e == WasiErrno::SUCCESS {
                self.get(DATA, n)
            } else {
                Vec::new()
            },
        )
    }

    fn read(&mut self, fd: i32, sizes: &[u32]) -> Vec<u8> {
        let (e, data) = self.read_errno(fd, sizes);
        assert_eq!(e, WasiErrno::SUCCESS);
        data
    }

    fn seek(&mut self, fd: i32, offset: i64, whence: i64) -> (WasiErrno, u64) {
        let e = self.errno("fd_seek", &[i64::from(fd), offset, whence, i64::from(OUT)]);
        (e, self.u64_at(OUT))
    }

    /// path_filestat_get from the root preopen: (filetype, size, nlink).
    fn stat(&mut self, path: &str, follow: bool) -> Result<(u8, u64, u64), WasiErrno> {
        let [p, l] = self.s(STR, path);
        let flags = if follow {
            i64::from(lookupflags::SYMLINK_FOLLOW)
        } else {
            0
        };
        match self.errno("path_filestat_get", &[3, flags, p, l, i64::from(OUT)]) {
            WasiErrno::SUCCESS => Ok((self.mem[16], self.u64_at(32), self.u64_at(24))),
            e => Err(e),
        }
    }

    /// A path function taking (fd 3, path) only.
    fn path_op(&mut self, name: &str, path: &str) -> WasiErrno {
        let [p, l] = self.s(STR, path);
        self.errno(name, &[3, p, l])
    }

    fn rename(&mut self, from: &str, to: &str) -> WasiErrno {
        let [p, l] = self.s(STR, from);
        let [q, m] = self.s(STR2, to);
        self.errno("path_rename", &[3, p, l, 3, q, m])
    }
}

#[test]
fn preopen_is_the_root_at_fd_3() {
    let mut g = Guest::new();
    g.ok("fd_prestat_get", &[3, 16]);
    assert_eq!(g.mem[16], 0, "preopentype dir");
    assert_eq!(g.u32_at(20), 1);
    g.ok("fd_prestat_dir_name", &[3, 32, 1]);
    assert_eq!(g.mem[32], b'/');
    assert_eq!(
        g.errno("fd_prestat_dir_name", &[3, 32, 0]),
        WasiErrno::NAMETOOLONG
    );
    // wasi-libc scans from fd 3 until BADF.
    assert_eq!(g.errno("fd_prestat_get", &[4, 16]), WasiErrno::BADF);
    assert_eq!(g.errno("fd_prestat_get", &[0, 16]), WasiErrno::BADF);
    assert_eq!(
        g.errno("fd_prestat_dir_name", &[0, 32, 8]),
        WasiErrno::NOTDIR
    );
    assert_eq!(g.errno("fd_prestat_dir_name", &[9, 32, 8]), WasiErrno::BADF);
    g.ok("fd_fdstat_get", &[3, 64]);
    assert_eq!(g.mem[64], filetype::DIRECTORY);
    assert_eq!(g.u64_at(72), rights::PREOPEN_BASE);
    assert_eq!(g.u64_at(80), rights::PREOPEN_INHERITING);
    assert_eq!(g.host.preopens(), vec![(3, b"/".to_vec())]);
    // A child inheriting the root at fd 3 adopts it.
    let child = g.kernel.fork(&g.process).unwrap();
    let host = WasiProcess::new(Arc::clone(&g.kernel), Arc::clone(&child)).unwrap();
    assert_eq!(host.preopens(), vec![(3, b"/".to_vec())]);
    assert_eq!(child.fds().len(), 4);
    // Closing a preopen is allowed; it is no preopen afterwards.
    g.ok("fd_close", &[3]);
    assert_eq!(g.errno("fd_prestat_get", &[3, 16]), WasiErrno::BADF);
    assert!(g.host.preopens().is_empty());
}

/// If the spawner put something else at fd 3, the preopen goes above it (wasi-libc will
/// not find it there: it stops at the first fd that is not a preopen).
#[test]
fn preopen_moves_up_when_fd_3_is_taken() {
    let g = Guest::new();
    let p = g
        .kernel
        .spawn(
            Some(&g.process),
            SpawnSpec {
                argv: vec![b"child".to_vec()],
                env: Vec::new(),
                cwd: None,
                umask: None,
                fds: vec![(0, FdSource::Inherit(0)), (3, FdSource::Inherit(1))],
            },
        )
        .unwrap();
    let mut host = WasiProcess::new(Arc::clone(&g.kernel), p).unwrap();
    assert_eq!(host.preopens(), vec![(4, b"/".to_vec())]);
    let mut mem = vec![0u8; 64];
    let prestat = func_index("fd_prestat_get").unwrap();
    assert_eq!(host.call(prestat, &mut mem, &[3, 0]), Ok(8));
    assert_eq!(host.call(prestat, &mut mem, &[4, 0]), Ok(0));
}

/// A lifted program (the image's first Linux call) gives up the root preopen: closed if
/// the host opened it, kept as a plain fd if it was the program's own; the next image
/// after an execve gets one again; a fork child of a lifted program has none.
#[test]
fn lifted_images_give_up_the_root_preopen() {
    let mut g = Guest::new();
    assert!(g.process.file(3).is_ok());
    assert!(g.host.linux().is_some());
    assert!(g.process.file(3).is_err(), "the preopen is closed");
    assert!(g.host.preopens().is_empty());
    // execve: the next image is given the root again; a WASI one keeps it.
    g.host.exec_image();
    assert_eq!(g.host.preopens(), vec![(3, b"/".to_vec())]);
    g.ok("fd_prestat_get", &[3, 16]);
    // The Linux program's own open of `/` at fd 3 is adopted, then left open.
    g.host.linux();
    let root = g
        .kernel
        .vfs()
        .openat(g.kernel.vfs().root(), b"/", OFlags::RDONLY, 0)
        .unwrap();
    let _ = g
        .process
        .fds()
        .insert_at(3, Arc::clone(&root), false)
        .unwrap();
    g.host.exec_image();
    assert_eq!(g.host.preopens(), vec![(3, b"/".to_vec())]);
    g.host.linux();
    assert!(g.host.preopens().is_empty());
    assert!(Arc::ptr_eq(&g.process.file(3).unwrap(), &root), "kept open");
    // A fork child of a lifted program starts without one.
    g.process.fds().close(3).unwrap();
    let child = g.kernel.fork(&g.process).unwrap();
    let linux = Box::new(crate::abi::linux::LinuxProcess::new(
        Arc::clone(&g.kernel),
        Arc::clone(&child),
        None,
    ));
    let host = WasiProcess::new(Arc::clone(&g.kernel), Arc::clone(&child))
        .unwrap()
        .with_linux(linux);
    assert!(host.preopens().is_empty());
    assert!(child.file(3).is_err());
}

#[test]
fn open_write_seek_read() {
    let mut g = Guest::new();
    let fd = g.open("tmp/new", oflags::CREAT | oflags::EXCL, ALL_RW, 0);
    assert_eq!(fd, 4, "lowest free fd");
    assert_eq!(g.write(fd, &[b"hello ", b"", b"world"]), 11);
    assert_eq!(g.seek(fd, 0, 1), (WasiErrno::SUCCESS, 11));
    g.ok("fd_tell", &[i64::from(fd), 8]);
    assert_eq!(g.u64_at(8), 11);
    assert_eq!(g.seek(fd, 0, 0), (WasiErrno::SUCCESS, 0));
    assert_eq!(g.read(fd, &[3, 0, 4, 100]), b"hello world");
    assert_eq!(g.read(fd, &[10]), b"", "end of file");
    assert_eq!(g.seek(fd, -5, 2), (WasiErrno::SUCCESS, 6));
    assert_eq!(g.read(fd, &[2]), b"wo");
    assert_eq!(g.seek(fd, -1, 0).0, WasiErrno::INVAL);
    assert_eq!(g.seek(fd, 0, 3).0, WasiErrno::INVAL);
    assert_eq!(g.seek(fd, 0, 256).0, WasiErrno::OVERFLOW);
    // pread/pwrite leave the offset alone.
    g.put(DATA, b"HELLO");
    g.put_u32(IOV, DATA);
    g.put_u32(IOV + 4, 5);
    g.ok(
        "fd_pwrite",
        &[i64::from(fd), i64::from(IOV), 1, 0, i64::from(OUT)],
    );
    assert_eq!(g.u32_at(OUT), 5);
    g.put_u32(IOV + 4, 4);
    g.ok(
        "fd_pread",
        &[i64::from(fd), i64::from(IOV), 1, 7, i64::from(OUT)],
    );
    assert_eq!(g.u32_at(OUT), 4);
    assert_eq!(g.get(DATA, 4), b"orld");
    assert_eq!(g.seek(fd, 0, 1).1, 8);
    // Attributes and size.
    g.ok("fd_filestat_get", &[i64::from(fd), 64]);
    assert_eq!(g.mem[64 + 16], filetype::REGULAR_FILE);
    assert_eq!(g.u64_at(64 + 32), 11);
    assert_eq!(g.u64_at(64 + 24), 1, "nlink");
    assert_eq!(g.u64_at(64 + 48) as i64, NOW, "mtime from the kernel clock");
    g.ok("fd_filestat_set_size", &[i64::from(fd), 5]);
    assert_eq!(g.stat("tmp/new", true), Ok((filetype::REGULAR_FILE, 5, 1)));
    g.ok("fd_sync", &[i64::from(fd)]);
    g.ok("fd_datasync", &[i64::from(fd)]);
    g.ok("fd_advise", &[i64::from(fd), 0, 0, 1]);
    assert_eq!(
        g.errno("fd_advise", &[i64::from(fd), 0, 0, 6]),
        WasiErrno::INVAL
    );
    assert_eq!(
        g.errno("fd_allocate", &[i64::from(fd), 0, 10]),
        WasiErrno::NOTSUP
    );
    // fdstat of a read-write file: every right.
    g.ok("fd_fdstat_get", &[i64::from(fd), 64]);
    assert_eq!(g.mem[64], filetype::REGULAR_FILE);
    assert_eq!(g.u64_at(72), rights::ALL);
    g.ok("fd_close", &[i64::from(fd)]);
    assert_eq!(g.read_errno(fd, &[1]).0, WasiErrno::BADF);
    assert_eq!(g.errno("fd_close", &[i64::from(fd)]), WasiErrno::BADF);
    // Appending.
    let fd = g.open("tmp/new", 0, rights::FD_WRITE as i64, fdflags::APPEND);
    g.ok("fd_fdstat_get", &[i64::from(fd), 64]);
    assert_eq!(g.u16_flags(), fdflags::APPEND);
    assert_eq!(g.u64_at(72) & rights::FD_READ, 0, "write-only");
    assert_eq!(g.write(fd, &[b"!"]), 1);
    assert_eq!(
        g.read_errno(fd, &[1]).0,
        WasiErrno::BADF,
        "not open for reading"
    );
    let fd = g.open("tmp/new", 0, rights::FD_READ as i64, 0);
    assert_eq!(g.read(fd, &[100]), b"HELLO!");
    assert_eq!(g.write_errno(fd, &[b"x"]).0, WasiErrno::BADF);
}

impl Guest {
    fn u16_flags(&self) -> u16 {
        u16::from_le_bytes([self.mem[66], self.mem[67]])
    }
}

#[test]
fn path_open_translation_and_errors() {
    let mut g = Guest::new();
    assert_eq!(g.open_errno("nope", 0, ALL_RW, 0).0, WasiErrno::NOENT);
    assert_eq!(
        g.open_errno("f", oflags::CREAT | oflags::EXCL, ALL_RW, 0).0,
        WasiErrno::EXIST
    );
    assert_eq!(
        g.open_errno("f", oflags::DIRECTORY, ALL_RW, 0).0,
        WasiErrno::NOTDIR
    );
    assert_eq!(
        g.open_errno("d", oflags::DIRECTORY | oflags::CREAT, 0, 0).0,
        WasiErrno::INVAL
    );
    assert_eq!(
        g.open_errno("f", 0, ALL_RW, fdflags::SYNC).0,
        WasiErrno::NOTSUP
    );
    assert_eq!(g.open_errno("d", 0, ALL_RW, 0).0, WasiErrno::ISDIR);
    assert_eq!(g.open_errno("f", 0x10, ALL_RW, 0).0, WasiErrno::INVAL);
    assert_eq!(g.open_errno("f", 0, 1 << 40, 0).0, WasiErrno::INVAL);
    assert_eq!(
        g.open_errno("/f", 0, ALL_RW, 0).0,
        WasiErrno::PERM,
        "absolute"
    );
    assert_eq!(
        g.open_errno("../f", 0, ALL_RW, 0).0,
        WasiErrno::PERM,
        "escape"
    );
    assert_eq!(g.open_errno("d/../../f", 0, ALL_RW, 0).0, WasiErrno::PERM);
    assert_eq!(g.open_errno("f/", 0, ALL_RW, 0).0, WasiErrno::NOTDIR);
    assert_eq!(g.open_errno("", 0, ALL_RW, 0).0, WasiErrno::NOENT);
    // Symlinks: followed with SYMLINK_FOLLOW, ELOOP without.
    let fd = g.open("l", 0, rights::FD_READ as i64, 0);
    assert_eq!(g.read(fd, &[10]), b"hello");
    let [p, l] = g.s(STR, "l");
    let e = g.errno("path_open", &[3, 0, p, l, 0, ALL_RW, ALL_RW, 0, 0]);
    assert_eq!(e, WasiErrno::LOOP);
    // An absolute symlink resolves from the container's root.
    let fd = g.open("abs", 0, rights::FD_READ as i64, 0);
    assert_eq!(g.read(fd, &[10]), b"box\n");
    // A relative one climbing out of the base directory is refused.
    assert_eq!(g.open_errno("up/hostname", 0, ALL_RW, 0).0, WasiErrno::PERM);
    // Directories open as directories, and serve as dirfds.
    let dfd = g.open("d", oflags::DIRECTORY, rights::FD_READ as i64, 0);
    g.ok("fd_fdstat_get", &[i64::from(dfd), 64]);
    assert_eq!(g.mem[64], filetype::DIRECTORY);
    assert_eq!(g.u64_at(72) & rights::FD_SEEK, 0);
    assert_ne!(g.u64_at(72) & rights::FD_READDIR, 0);
    let [p, l] = g.s(STR, "x");
    let args = [
        i64::from(dfd),
        1,
        p,
        l,
        0,
        rights::FD_READ as i64,
        0,
        0,
        i64::from(OUT),
    ];
    g.ok("path_open", &args);
    let fd = g.u32_at(OUT) as i32;
    assert_eq!(g.read(fd, &[4]), b"x");
    let [p, l] = g.s(STR, "../f");
    let args = [i64::from(dfd), 1, p, l, 0, 0, 0, 0, i64::from(OUT)];
    assert_eq!(g.errno("path_open", &args), WasiErrno::PERM);
    // A file as dirfd: NOTDIR for path_open, BADF for the other path functions; stdio: BADF.
    let [p, l] = g.s(STR, "x");
    let args = [i64::from(fd), 1, p, l, 0, 0, 0, 0, i64::from(OUT)];
    assert_eq!(g.errno("path_open", &args), WasiErrno::NOTDIR);
    let args = [1, 1, p, l, 0, 0, 0, 0, i64::from(OUT)];
    assert_eq!(g.errno("path_open", &args), WasiErrno::BADF);
    assert_eq!(
        g.errno("path_create_directory", &[i64::from(fd), p, l]),
        WasiErrno::BADF
    );
    // Reading a directory, seeking it, seeking stdio.
    assert_eq!(g.read_errno(dfd, &[4]).0, WasiErrno::BADF);
    assert_eq!(g.seek(dfd, 0, 0).0, WasiErrno::BADF);
    assert_eq!(g.seek(1, 0, 0).0, WasiErrno::SPIPE);
    g.ok("fd_tell", &[i64::from(fd), 8]);
    assert_eq!(g.errno("fd_tell", &[0, 8]), WasiErrno::SPIPE);
    // Truncation on open; /dev/null is a character device.
    let fd = g.open("f", oflags::TRUNC, 0, 0);
    g.ok("fd_filestat_get", &[i64::from(fd), 64]);
    assert_eq!(g.u64_at(64 + 32), 0);
    let fd = g.open("dev/null", 0, ALL_RW, 0);
    g.ok("fd_fdstat_get", &[i64::from(fd), 64]);
    assert_eq!(g.mem[64], filetype::CHARACTER_DEVICE);
    assert_eq!(g.write(fd, &[b"gone"]), 4);
}

#[test]
fn readdir_with_cookies_and_a_small_buffer() {
    let mut g = Guest::new();
    let names: Vec<String> = (0..20)
        .map(|i| format!("entry-{i:02}-{}", "z".repeat(i)))
        .collect();
    assert_eq!(
        g.path_op("path_create_directory", "tmp/many"),
        WasiErrno::SUCCESS
    );
    for n in &names {
        let fd = g.open(&format!("tmp/many/{n}"), oflags::CREAT, ALL_RW, 0);
        g.ok("fd_close", &[i64::from(fd)]);
    }
    let dfd = g.open("tmp/many", oflags::DIRECTORY, rights::FD_READ as i64, 0);
    // Read with a 64-byte buffer, resuming from the last complete entry's cookie.
    let mut seen: Vec<String> = Vec::new();
    let mut cookie = 0u64;
    let buf_len = 64u32;
    for _round in 0..1000 {
        g.ok(
            "fd_readdir",
            &[
                i64::from(dfd),
                i64::from(DATA),
                i64::from(buf_len),
                cookie as i64,
                i64::from(OUT),
            ],
        );
        let used = g.u32_at(OUT);
        let buf = g.get(DATA, used as usize);
        let mut at = 0usize;
        let mut progressed = false;
        while at + 24 <= buf.len() {
            let next = u64::from_le_bytes(buf[at..at + 8].try_into().unwrap());
            let namlen = u32::from_le_bytes(buf[at + 16..at + 20].try_into().unwrap()) as usize;
            if at + 24 + namlen > buf.len() {
                break;
            }
            let name = String::from_utf8(buf[at + 24..at + 24 + namlen].to_vec()).unwrap();
            let ty = buf[at + 20];
            if name == "." || name == ".." {
                assert_eq!(ty, filetype::DIRECTORY);
            } else {
                assert_eq!(ty, filetype::REGULAR_FILE);
            }
            seen.push(name);
            cookie = next;
            progressed = true;
            at += 24 + namlen;
        }
        if used < buf_len {
            break;
        }
        assert!(progressed, "a 64-byte buffer holds each entry");
    }
    let mut want: Vec<String> = vec![".".into(), "..".into()];
    want.extend(names.iter().cloned());
    let mut sorted = seen.clone();
    sorted.sort();
    want.sort();
    assert_eq!(sorted, want);
    assert_eq!(&seen[..2], &[".".to_string(), "..".to_string()]);
    // A buffer too small for one entry: filled, and reported full.
    g.ok(
        "fd_readdir",
        &[i64::from(dfd), i64::from(DATA), 10, 0, i64::from(OUT)],
    );
    assert_eq!(g.u32_at(OUT), 10);
    // Past the end: nothing.
    g.ok(
        "fd_readdir",
        &[
            i64::from(dfd),
            i64::from(DATA),
            64,
            i64::MAX,
            i64::from(OUT),
        ],
    );
    assert_eq!(g.u32_at(OUT), 0);
    // Not a directory.
    assert_eq!(
        g.errno("fd_readdir", &[1, i64::from(DATA), 64, 0, i64::from(OUT)]),
        WasiErrno::BADF
    );
}

#[test]
fn filestat_of_a_symlink_with_and_without_follow() {
    let mut g = Guest::new();
    assert_eq!(g.stat("l", true), Ok((filetype::REGULAR_FILE, 5, 1)));
    assert_eq!(g.stat("l", false), Ok((filetype::SYMBOLIC_LINK, 1, 1)));
    assert_eq!(g.stat("abs", true), Ok((filetype::REGULAR_FILE, 4, 1)));
    assert_eq!(g.stat("d", true).map(|s| s.0), Ok(filetype::DIRECTORY));
    assert_eq!(g.stat(".", true).map(|s| s.0), Ok(filetype::DIRECTORY));
    assert_eq!(g.stat("nope", true), Err(WasiErrno::NOENT));
    assert_eq!(g.stat("f/x", true), Err(WasiErrno::NOTDIR));
    assert_eq!(g.stat("..", true), Err(WasiErrno::PERM));
    let [p, l] = g.s(STR, "f");
    assert_eq!(
        g.errno("path_filestat_get", &[3, 2, p, l, i64::from(OUT)]),
        WasiErrno::INVAL,
        "unknown lookup flag"
    );
    // Times: set explicitly, then "now" from the kernel clock.
    g.ok(
        "path_filestat_set_times",
        &[3, 1, p, l, 5_000_000_000, 7, 1 | 4],
    );
    g.ok("path_filestat_get", &[3, 1, p, l, 64]);
    assert_eq!(g.u64_at(64 + 40), 5_000_000_000);
    assert_eq!(g.u64_at(64 + 48), 7);
    assert_eq!(
        g.errno("path_filestat_set_times", &[3, 1, p, l, 0, 0, 1 | 2]),
        WasiErrno::INVAL
    );
    g.ok("path_filestat_set_times", &[3, 1, p, l, 0, 0, 8]);
    g.ok("path_filestat_get", &[3, 1, p, l, 64]);
    assert_eq!(g.u64_at(64 + 40), 5_000_000_000, "atime omitted");
    assert_eq!(g.u64_at(64 + 48) as i64, NOW);
}

#[test]
fn namespace_changes_and_their_errors() {
    let mut g = Guest::new();
    assert_eq!(
        g.path_op("path_create_directory", "tmp/a"),
        WasiErrno::SUCCESS
    );
    assert_eq!(
        g.path_op("path_create_directory", "tmp/a"),
        WasiErrno::EXIST
    );
    assert_eq!(
        g.path_op("path_create_directory", "tmp/a/b/c"),
        WasiErrno::NOENT
    );
    assert_eq!(
        g.path_op("path_create_directory", "/tmp/z"),
        WasiErrno::PERM
    );
    let fd = g.open("tmp/a/file", oflags::CREAT, ALL_RW, 0);
    g.ok("fd_close", &[i64::from(fd)]);
    assert_eq!(g.path_op("path_unlink_file", "tmp/a"), WasiErrno::ISDIR);
    assert_eq!(
        g.path_op("path_remove_directory", "tmp/a/file"),
        WasiErrno::NOTDIR
    );
    assert_eq!(
        g.path_op("path_remove_directory", "tmp/a"),
        WasiErrno::NOTEMPTY
    );
    assert_eq!(
        g.path_op("path_unlink_file", "tmp/a/nope"),
        WasiErrno::NOENT
    );
    assert_eq!(
        g.path_op("path_unlink_file", "tmp/a/file/"),
        WasiErrno::NOTDIR
    );
    assert_eq!(g.path_op("path_remove_directory", "."), WasiErrno::INVAL);
    // Renames.
    assert_eq!(g.rename("tmp/a/file", "d"), WasiErrno::ISDIR);
    // Onto its own parent: Linux's rename says ENOTEMPTY first.
    assert_eq!(g.rename("tmp/a/file", "tmp/a"), WasiErrno::NOTEMPTY);
    assert_eq!(g.rename("tmp/a", "f"), WasiErrno::NOTDIR);
    assert_eq!(g.rename("tmp/nope", "tmp/x"), WasiErrno::NOENT);
    assert_eq!(g.rename("tmp", "tmp/a/inside"), WasiErrno::INVAL);
    assert_eq!(g.rename("tmp/a/file", "/tmp/b"), WasiErrno::PERM);
    assert_eq!(g.rename("tmp/a/file", "tmp/moved"), WasiErrno::SUCCESS);
    assert_eq!(
        g.stat("tmp/moved", false).map(|s| s.0),
        Ok(filetype::REGULAR_FILE)
    );
    assert_eq!(
        g.path_op("path_remove_directory", "tmp/a"),
        WasiErrno::SUCCESS
    );
    assert_eq!(
        g.path_op("path_unlink_file", "tmp/moved"),
        WasiErrno::SUCCESS
    );
    assert_eq!(g.stat("tmp/moved", false), Err(WasiErrno::NOENT));
    // Symlinks and hard links.
    let [t, tl] = g.s(STR, "../f");
    let [p, pl] = g.s(STR2, "tmp/sl");
    g.ok("path_symlink", &[t, tl, 3, p, pl]);
    assert_eq!(
        g.errno("path_symlink", &[t, tl, 3, p, pl]),
        WasiErrno::EXIST
    );
    g.ok(
        "path_readlink",
        &[3, p, pl, i64::from(DATA), 64, i64::from(OUT)],
    );
    assert_eq!(g.u32_at(OUT), 4);
    assert_eq!(g.get(DATA, 4), b"../f");
    g.ok(
        "path_readlink",
        &[3, p, pl, i64::from(DATA), 2, i64::from(OUT)],
    );
    assert_eq!(g.u32_at(OUT), 2, "cut to the buffer");
    let [f, fl] = g.s(STR, "f");
    assert_eq!(
        g.errno(
            "path_readlink",
            &[3, f, fl, i64::from(DATA), 64, i64::from(OUT)]
        ),
        WasiErrno::INVAL
    );
    // tmp/sl -> ../f stays inside the root preopen.
    assert_eq!(g.stat("tmp/sl", true), Ok((filetype::REGULAR_FILE, 5, 1)));
    let [f, fl] = g.s(STR, "f");
    let [q, ql] = g.s(STR2, "tmp/hard");
    g.ok("path_link", &[3, 0, f, fl, 3, q, ql]);
    assert_eq!(g.stat("f", false), Ok((filetype::REGULAR_FILE, 5, 2)));
    let [f, fl] = g.s(STR, "f");
    assert_eq!(
        g.errno("path_link", &[3, 1, f, fl, 3, q, ql]),
        WasiErrno::INVAL
    );
    assert_eq!(
        g.errno("path_link", &[3, 0, f, fl, 3, q, ql]),
        WasiErrno::EXIST
    );
    // Not UTF-8.
    g.put(STR, b"\xff\xfe");
    assert_eq!(
        g.errno("path_unlink_file", &[3, i64::from(STR), 2]),
        WasiErrno::ILSEQ
    );
}

#[test]
fn args_and_environ() {
    let mut g = Guest::new();
    g.ok("args_sizes_get", &[0, 4]);
    assert_eq!(g.u32_at(0), 3);
    assert_eq!(g.u32_at(4), 5 + 3 + 8);
    g.ok("args_get", &[100, 200]);
    let ptrs: Vec<u32> = (0..3).map(|i| g.u32_at(100 + 4 * i)).collect();
    assert_eq!(ptrs, vec![200, 205, 208]);
    assert_eq!(g.get(200, 16), b"prog\0-x\0arg two\0");
    g.ok("environ_sizes_get", &[0, 4]);
    assert_eq!(g.u32_at(0), 2);
    assert_eq!(g.u32_at(4), 10 + 7);
    g.ok("environ_get", &[100, 200]);
    assert_eq!(g.u32_at(100), 200);
    assert_eq!(g.u32_at(104), 210);
    assert_eq!(g.get(200, 17), b"PATH=/bin\0EMPTY=\0");
    // Buffers running off the end of memory.
    let end = MEM as i64;
    assert_eq!(g.errno("args_get", &[100, end - 4]), WasiErrno::FAULT);
    assert_eq!(g.errno("args_get", &[end - 2, 200]), WasiErrno::FAULT);
    assert_eq!(g.errno("environ_sizes_get", &[end, 0]), WasiErrno::FAULT);
}

#[test]
fn bad_pointers_fault_and_bad_fds_are_badf() {
    let mut g = Guest::new();
    let end = MEM as i64;
    // iovec array and buffers out of bounds.
    assert_eq!(g.errno("fd_write", &[1, end - 4, 1, 0]), WasiErrno::FAULT);
    g.put_u32(IOV, (MEM - 2) as u32);
    g.put_u32(IOV + 4, 10);
    assert_eq!(
        g.errno("fd_write", &[1, i64::from(IOV), 1, 0]),
        WasiErrno::FAULT
    );
    assert_eq!(
        g.errno("fd_read", &[0, i64::from(IOV), 1, 0]),
        WasiErrno::FAULT
    );
    assert_eq!(
        g.errno("fd_write", &[1, i64::from(IOV), 1 << 29, 0]),
        WasiErrno::FAULT
    );
    // An empty iovec may point anywhere.
    g.put_u32(IOV + 4, 0);
    g.put_u32(IOV, u32::MAX);
    g.ok("fd_write", &[1, i64::from(IOV), 1, 0]);
    assert_eq!(g.u32_at(0), 0);
    // Result pointers.
    assert_eq!(g.errno("fd_fdstat_get", &[3, end - 8]), WasiErrno::FAULT);
    assert_eq!(g.errno("fd_filestat_get", &[3, -1]), WasiErrno::FAULT);
    assert_eq!(g.errno("clock_time_get", &[0, 0, end]), WasiErrno::FAULT);
    assert_eq!(g.errno("random_get", &[end - 4, 8]), WasiErrno::FAULT);
    assert_eq!(g.errno("fd_prestat_get", &[3, end - 1]), WasiErrno::FAULT);
    // Strings.
    assert_eq!(
        g.errno("path_open", &[3, 1, end - 1, 4, 0, 0, 0, 0, 0]),
        WasiErrno::FAULT
    );
    assert_eq!(g.errno("path_unlink_file", &[3, -1, -1]), WasiErrno::FAULT);
    assert_eq!(
        g.errno("poll_oneoff", &[end - 8, 0, 1, 0]),
        WasiErrno::FAULT
    );
    assert_eq!(
        g.errno("fd_readdir", &[3, end - 8, 64, 0, 0]),
        WasiErrno::FAULT
    );
    // Bad fds.
    for fd in [9i64, -1, 1 << 20, i64::from(i32::MAX)] {
        let fd_only = [
            ("fd_close", vec![fd]),
            ("fd_datasync", vec![fd]),
            ("fd_sync", vec![fd]),
            ("fd_fdstat_get", vec![fd, 0]),
            ("fd_fdstat_set_flags", vec![fd, 0]),
            ("fd_fdstat_set_rights", vec![fd, 0, 0]),
            ("fd_filestat_get", vec![fd, 0]),
            ("fd_filestat_set_size", vec![fd, 0]),
            ("fd_filestat_set_times", vec![fd, 0, 0, 0]),
            ("fd_prestat_get", vec![fd, 0]),
            ("fd_prestat_dir_name", vec![fd, 0, 0]),
            ("fd_read", vec![fd, 0, 0, 0]),
            ("fd_write", vec![fd, 0, 0, 0]),
            ("fd_pread", vec![fd, 0, 0, 0, 0]),
            ("fd_pwrite", vec![fd, 0, 0, 0, 0]),
            ("fd_readdir", vec![fd, 0, 0, 0, 0]),
            ("fd_renumber", vec![fd, 1]),
            ("fd_renumber", vec![1, fd]),
            ("fd_seek", vec![fd, 0, 0, 0]),
            ("fd_tell", vec![fd, 0]),
            ("fd_advise", vec![fd, 0, 0, 0]),
            ("fd_allocate", vec![fd, 0, 0]),
            ("path_create_directory", vec![fd, i64::from(STR), 1]),
            ("path_unlink_file", vec![fd, i64::from(STR), 1]),
            ("path_open", vec![fd, 0, i64::from(STR), 1, 0, 0, 0, 0, 0]),
            ("sock_accept", vec![fd, 0, 0]),
            ("sock_recv", vec![fd, 0, 0, 0, 0, 0]),
            ("sock_send", vec![fd, 0, 0, 0, 0]),
            ("sock_shutdown", vec![fd, 0]),
        ];
        for (name, args) in fd_only {
            assert_eq!(g.errno(name, &args), WasiErrno::BADF, "{name}({args:?})");
        }
    }
    // Sockets: not one of ours.
    assert_eq!(g.errno("sock_shutdown", &[1, 3]), WasiErrno::NOTSOCK);
    assert_eq!(g.errno("sock_shutdown", &[1, 4]), WasiErrno::INVAL);
    assert_eq!(g.errno("sock_send", &[1, 0, 0, 0, 0]), WasiErrno::NOTSOCK);
    assert_eq!(
        g.errno("sock_send", &[1, 0, 0, 1 << 16, 0]),
        WasiErrno::OVERFLOW
    );
}

#[test]
fn exit_raise_yield_random_clocks() {
    let mut g = Guest::new();
    assert_eq!(g.call("proc_exit", &[3]), Err(HostExit::Exit(3)));
    assert_eq!(g.call("proc_exit", &[-1]), Err(HostExit::Exit(-1)));
    assert_eq!(g.errno("proc_raise", &[9]), WasiErrno::NOTSUP);
    assert_eq!(g.errno("proc_raise", &[31]), WasiErrno::INVAL);
    g.ok("sched_yield", &[]);
    g.ok("random_get", &[100, 64]);
    assert!(g.get(100, 64).iter().any(|&b| b != 0));
    g.ok("random_get", &[i64::from(MEM as u32), 0]);
    g.ok("clock_time_get", &[i64::from(clockid::REALTIME), 0, 0]);
    assert_eq!(g.u64_at(0) as i64, NOW);
    g.ok("clock_time_get", &[i64::from(clockid::MONOTONIC), 0, 0]);
    let t0 = g.u64_at(0);
    thread::sleep(Duration::from_millis(2));
    g.ok("clock_time_get", &[i64::from(clockid::MONOTONIC), 0, 0]);
    assert!(g.u64_at(0) >= t0 + 2_000_000);
    g.ok(
        "clock_time_get",
        &[i64::from(clockid::PROCESS_CPUTIME_ID), 0, 0],
    );
    assert!(g.u64_at(0) > 0);
    g.ok("clock_res_get", &[i64::from(clockid::THREAD_CPUTIME_ID), 8]);
    assert_eq!(g.u64_at(8), 1);
    assert_eq!(g.errno("clock_time_get", &[4, 0, 0]), WasiErrno::INVAL);
    assert_eq!(g.errno("clock_res_get", &[-1, 0]), WasiErrno::OVERFLOW);
}

#[test]
fn stdio_fds() {
    let mut g = Guest::new();
    assert_eq!(g.write(1, &[b"out ", b"put\n"]), 8);
    assert_eq!(g.stdout.contents(), b"out put\n");
    assert_eq!(
        g.read(0, &[2, 10]),
        b"in",
        "a host stream reads into one buffer"
    );
    assert_eq!(g.read(0, &[10]), b"put");
    assert_eq!(g.read(0, &[10]), b"");
    g.ok("fd_fdstat_get", &[0, 64]);
    assert_eq!(g.mem[64], filetype::UNKNOWN);
    assert_eq!(g.u64_at(72), rights::FD_READ);
    g.ok("fd_fdstat_get", &[1, 64]);
    assert_eq!(g.u64_at(72), rights::FD_WRITE);
    g.ok("fd_filestat_get", &[1, 64]);
    assert!(g.get(64, 64).iter().all(|&b| b == 0));
    // pread/pwrite on streams: SPIPE where wasmtime-wasi's stdio has it, else BADF.
    assert_eq!(
        g.errno("fd_pread", &[0, i64::from(IOV), 0, 0, 0]),
        WasiErrno::SPIPE
    );
    assert_eq!(
        g.errno("fd_pwrite", &[1, i64::from(IOV), 0, 0, 0]),
        WasiErrno::SPIPE
    );
    assert_eq!(
        g.errno("fd_pread", &[1, i64::from(IOV), 0, 0, 0]),
        WasiErrno::BADF
    );
    assert_eq!(
        g.errno("fd_filestat_set_times", &[1, 0, 0, 2]),
        WasiErrno::BADF
    );
    assert_eq!(g.errno("fd_filestat_set_size", &[1, 0]), WasiErrno::BADF);
    // Flags.
    g.ok("fd_fdstat_set_flags", &[1, i64::from(fdflags::NONBLOCK)]);
    g.ok("fd_fdstat_get", &[1, 64]);
    assert_eq!(g.u16_flags(), fdflags::NONBLOCK);
    assert_eq!(
        g.errno("fd_fdstat_set_flags", &[1, i64::from(fdflags::SYNC)]),
        WasiErrno::INVAL
    );
    assert_eq!(g.errno("fd_fdstat_set_flags", &[3, 0]), WasiErrno::BADF);
    assert_eq!(g.errno("fd_fdstat_set_flags", &[1, 0x20]), WasiErrno::INVAL);
}

#[test]
fn renumber_moves_descriptions_and_preopens() {
    let mut g = Guest::new();
    let fd = g.open("f", 0, rights::FD_READ as i64, 0);
    g.ok("fd_renumber", &[i64::from(fd), 0]);
    assert_eq!(g.read(0, &[10]), b"hello");
    assert_eq!(g.errno("fd_close", &[i64::from(fd)]), WasiErrno::BADF);
    g.ok("fd_renumber", &[0, 0]);
    assert_eq!(
        g.errno("fd_renumber", &[0, 7]),
        WasiErrno::BADF,
        "to must be open"
    );
    // Moving the preopen moves its name.
    let other = g.open("d", 0, rights::FD_READ as i64, 0);
    g.ok("fd_renumber", &[3, i64::from(other)]);
    assert_eq!(g.errno("fd_prestat_get", &[3, 16]), WasiErrno::BADF);
    g.ok("fd_prestat_get", &[i64::from(other), 16]);
    assert_eq!(g.host.preopens(), vec![(other, b"/".to_vec())]);
}

#[test]
fn rights_only_shrink() {
    let mut g = Guest::new();
    let fd = g.open("tmp/r", oflags::CREAT, ALL_RW, 0) as i64;
    let keep = (rights::FD_READ | rights::FD_SEEK | rights::FD_TELL) as i64;
    g.ok("fd_fdstat_set_rights", &[fd, keep, keep]);
    g.ok("fd_fdstat_get", &[fd, 64]);
    assert_eq!(g.u64_at(72), keep as u64);
    assert_eq!(g.write_errno(fd as i32, &[b"x"]).0, WasiErrno::NOTCAPABLE);
    assert_eq!(g.read(fd as i32, &[4]), b"");
    let more = keep | rights::FD_WRITE as i64;
    assert_eq!(
        g.errno("fd_fdstat_set_rights", &[fd, more, keep]),
        WasiErrno::NOTCAPABLE
    );
    assert_eq!(
        g.errno("fd_fdstat_set_rights", &[fd, 1 << 31, 0]),
        WasiErrno::INVAL
    );
    // A directory fd's inheriting rights bound what is opened through it.
    let ro = (rights::PATH_OPEN | rights::FD_READDIR) as i64;
    g.ok("fd_fdstat_set_rights", &[3, ro, rights::FD_READ as i64]);
    let (e, _) = g.open_errno("f", 0, ALL_RW, 0);
    assert_eq!(e, WasiErrno::NOTCAPABLE);
    let fd = g.open("f", 0, rights::FD_READ as i64, 0);
    g.ok("fd_fdstat_get", &[i64::from(fd), 64]);
    assert_eq!(g.u64_at(72), rights::FD_READ);
    assert_eq!(
        g.path_op("path_create_directory", "tmp/no"),
        WasiErrno::NOTCAPABLE
    );
    // The preopen is still a preopen.
    g.ok("fd_prestat_get", &[3, 16]);
}

/// Puts a clock subscription at `at`.
fn clock_sub(g: &mut Guest, at: u32, userdata: u64, id: u32, timeout: u64, abstime: bool) {
    g.put(at, &[0u8; SUBSCRIPTION_SIZE as usize]);
    g.put_u64(at, userdata);
    g.mem[at as usize + 8] = eventtype::CLOCK;
    g.put_u32(at + 16, id);
    g.put_u64(at + 24, timeout);
    g.put(at + 40, &u16::from(abstime).to_le_bytes());
}

/// Puts an fd subscription at `at`.
fn fd_sub(g: &mut Guest, at: u32, userdata: u64, kind: u8, fd: i32) {
    g.put(at, &[0u8; SUBSCRIPTION_SIZE as usize]);
    g.put_u64(at, userdata);
    g.mem[at as usize + 8] = kind;
    g.put_u32(at + 16, fd as u32);
}

const SUBS: u32 = 8192;
const EVENTS: u32 = 16384;

/// The events of the last poll: (userdata, error, type, nbytes, flags).
fn events(g: &Guest) -> Vec<(u64, u16, u8, u64, u16)> {
    (0..g.u32_at(OUT))
        .map(|i| {
            let at = EVENTS + i * EVENT_SIZE;
            (
                g.u64_at(at),
                u16::from_le_bytes([g.mem[at as usize + 8], g.mem[at as usize + 9]]),
                g.mem[at as usize + 10],
                g.u64_at(at + 16),
                u16::from_le_bytes([g.mem[at as usize + 24], g.mem[at as usize + 25]]),
            )
        })
        .collect()
}

fn poll(g: &mut Guest, n: u32) -> WasiErrno {
    g.errno(
        "poll_oneoff",
        &[
            i64::from(SUBS),
            i64::from(EVENTS),
            i64::from(n),
            i64::from(OUT),
        ],
    )
}

#[test]
fn poll_on_clocks() {
    let mut g = Guest::new();
    // One relative clock: a sleep.
    clock_sub(&mut g, SUBS, 7, clockid::MONOTONIC, 20_000_000, false);
    let t = Instant::now();
    assert_eq!(poll(&mut g, 1), WasiErrno::SUCCESS);
    assert!(t.elapsed() >= Duration::from_millis(20));
    assert_eq!(events(&g), vec![(7, 0, eventtype::CLOCK, 1, 0)]);
    // Two clocks: the earlier fires first, alone.
    g.ok("clock_time_get", &[i64::from(clockid::MONOTONIC), 0, 0]);
    let now = g.u64_at(0);
    clock_sub(
        &mut g,
        SUBS,
        1,
        clockid::MONOTONIC,
        now + 10_000_000_000,
        true,
    );
    clock_sub(&mut g, SUBS + 48, 2, clockid::MONOTONIC, 15_000_000, false);
    let t = Instant::now();
    assert_eq!(poll(&mut g, 2), WasiErrno::SUCCESS);
    assert!(t.elapsed() >= Duration::from_millis(15));
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(events(&g), vec![(2, 0, eventtype::CLOCK, 0, 0)]);
    // Absolute realtime in the past (the fixed clock says NOW): at once.
    clock_sub(&mut g, SUBS, 3, clockid::REALTIME, NOW as u64 - 1, true);
    clock_sub(&mut g, SUBS + 48, 4, clockid::MONOTONIC, u64::MAX, false);
    assert_eq!(poll(&mut g, 2), WasiErrno::SUCCESS);
    assert_eq!(events(&g), vec![(3, 0, eventtype::CLOCK, 0, 0)]);
    // Errors.
    assert_eq!(poll(&mut g, 0), WasiErrno::INVAL);
    clock_sub(&mut g, SUBS + 48, 4, clockid::PROCESS_CPUTIME_ID, 0, false);
    assert_eq!(poll(&mut g, 2), WasiErrno::INVAL);
    clock_sub(&mut g, SUBS + 48, 4, 9, 0, false);
    assert_eq!(poll(&mut g, 2), WasiErrno::INVAL);
    g.mem[SUBS as usize + 48 + 8] = 3;
    assert_eq!(poll(&mut g, 2), WasiErrno::INVAL);
    fd_sub(&mut g, SUBS + 48, 4, eventtype::FD_READ, 42);
    assert_eq!(poll(&mut g, 2), WasiErrno::BADF);
    fd_sub(&mut g, SUBS + 48, 4, eventtype::FD_READ, 1);
    assert_eq!(poll(&mut g, 2), WasiErrno::BADF, "stdout cannot be read");
    fd_sub(&mut g, SUBS + 48, 4, eventtype::FD_WRITE, 3);
    assert_eq!(poll(&mut g, 2), WasiErrno::BADF, "a directory");
    assert_eq!(poll(&mut g, 1 << 20), WasiErrno::NOMEM);
}

#[test]
fn poll_on_files_and_stdio_is_immediate() {
    let mut g = Guest::new();
    let fd = g.open("f", 0, rights::FD_READ as i64, 0);
    fd_sub(&mut g, SUBS, 1, eventtype::FD_READ, fd);
    fd_sub(&mut g, SUBS + 48, 2, eventtype::FD_WRITE, 1);
    fd_sub(&mut g, SUBS + 96, 3, eventtype::FD_READ, 0);
    assert_eq!(poll(&mut g, 3), WasiErrno::SUCCESS);
    assert_eq!(
        events(&g),
        vec![
            (1, 0, eventtype::FD_READ, 1, 0),
            (2, 0, eventtype::FD_WRITE, 1, 0),
            (3, 0, eventtype::FD_READ, 1, 0),
        ]
    );
    // At the end of the file: hung up.
    g.read(fd, &[10]);
    assert_eq!(poll(&mut g, 1), WasiErrno::SUCCESS);
    assert_eq!(
        events(&g),
        vec![(1, 0, eventtype::FD_READ, 1, FD_READWRITE_HANGUP)]
    );
}

#[test]
fn poll_on_a_pipe_wakes_when_a_writer_writes() {
    let mut g = Guest::new();
    let [r, w] = g.kernel.pipe2(&g.process, OFlags::empty()).unwrap();
    let writer = g.process.file(w).unwrap();
    fd_sub(&mut g, SUBS, 10, eventtype::FD_READ, r);
    clock_sub(
        &mut g,
        SUBS + 48,
        11,
        clockid::MONOTONIC,
        10_000_000_000,
        false,
    );
    let intr = g.process.interrupt().clone();
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        writer.write(b"ping!", &intr).unwrap();
    });
    let start = Instant::now();
    assert_eq!(poll(&mut g, 2), WasiErrno::SUCCESS);
    t.join().unwrap();
    assert!(start.elapsed() >= Duration::from_millis(40));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "woken, not timed out"
    );
    assert_eq!(events(&g), vec![(10, 0, eventtype::FD_READ, 5, 0)]);
    // The write end is ready for writing.
    fd_sub(&mut g, SUBS, 12, eventtype::FD_WRITE, w);
    assert_eq!(poll(&mut g, 1), WasiErrno::SUCCESS);
    assert_eq!(events(&g), vec![(12, 0, eventtype::FD_WRITE, 1, 0)]);
    // Reading the wrong end is BADF.
    fd_sub(&mut g, SUBS, 12, eventtype::FD_READ, w);
    assert_eq!(poll(&mut g, 1), WasiErrno::BADF);
    // Closing the write end from another thread: readable, hung up.
    assert_eq!(g.read(r, &[16]), b"ping!");
    let process = Arc::clone(&g.process);
    fd_sub(&mut g, SUBS, 13, eventtype::FD_READ, r);
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        process.close(w).unwrap();
    });
    assert_eq!(poll(&mut g, 1), WasiErrno::SUCCESS);
    t.join().unwrap();
    assert_eq!(
        events(&g),
        vec![(13, 0, eventtype::FD_READ, 0, FD_READWRITE_HANGUP)]
    );
    // A write end whose reader is gone: an event with PIPE.
    let [r2, w2] = g.kernel.pipe2(&g.process, OFlags::empty()).unwrap();
    g.ok("fd_close", &[i64::from(r2)]);
    fd_sub(&mut g, SUBS, 14, eventtype::FD_WRITE, w2);
    assert_eq!(poll(&mut g, 1), WasiErrno::SUCCESS);
    assert_eq!(
        events(&g),
        vec![(14, WasiErrno::PIPE.0, eventtype::FD_WRITE, 0, 0)]
    );
    assert_eq!(g.write_errno(w2, &[b"x"]).0, WasiErrno::PIPE);
}

#[test]
fn blocking_calls_end_the_process_when_it_is_interrupted() {
    let mut g = Guest::new();
    let [r, _w] = g.kernel.pipe2(&g.process, OFlags::empty()).unwrap();
    let intr = g.process.interrupt().clone();
    let stop = |intr: crate::kernel::Interrupt| {
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(30));
            intr.interrupt();
        })
    };
    // A read of an empty pipe.
    let t = stop(intr.clone());
    g.put_u32(IOV, DATA);
    g.put_u32(IOV + 4, 8);
    let end = g.call("fd_read", &[i64::from(r), i64::from(IOV), 1, 0]);
    t.join().unwrap();
    assert!(matches!(end, Err(HostExit::Kill(_))), "{end:?}");
    intr.clear();
    // A poll on it.
    fd_sub(&mut g, SUBS, 1, eventtype::FD_READ, r);
    let t = stop(intr.clone());
    let end = g.call("poll_oneoff", &[i64::from(SUBS), i64::from(EVENTS), 1, 0]);
    t.join().unwrap();
    assert!(matches!(end, Err(HostExit::Kill(_))), "{end:?}");
    intr.clear();
    // A long sleep.
    clock_sub(&mut g, SUBS, 1, clockid::MONOTONIC, 60_000_000_000, false);
    let t = stop(intr.clone());
    let end = g.call("poll_oneoff", &[i64::from(SUBS), i64::from(EVENTS), 1, 0]);
    t.join().unwrap();
    assert!(matches!(end, Err(HostExit::Kill(_))), "{end:?}");
    intr.clear();
    // Non-blocking: AGAIN instead of blocking.
    g.ok(
        "fd_fdstat_set_flags",
        &[i64::from(r), i64::from(fdflags::NONBLOCK)],
    );
    assert_eq!(g.read_errno(r, &[8]).0, WasiErrno::AGAIN);
}

#[test]
fn calls_with_the_wrong_shape_end_the_process() {
    let mut g = Guest::new();
    assert!(matches!(
        g.host.call(FUNCS.len(), &mut g.mem, &[]),
        Err(HostExit::Kill(_))
    ));
    let f = func_index("fd_close").unwrap();
    assert!(matches!(
        g.host.call(f, &mut g.mem, &[1, 2]),
        Err(HostExit::Kill(_))
    ));
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Random (seeded) arguments for every function, against small random memories: no call
/// panics, and each returns an errno or ends the process.
#[test]
fn random_calls_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut g = Guest::new();
    // Anything that would block fails at once instead (and ends the process).
    g.process.interrupt().interrupt();
    let [_r, _w] = g.kernel.pipe2(&g.process, OFlags::empty()).unwrap();
    for round in 0..20_000u32 {
        let size = match rng.below(4) {
            0 => 0,
            1 => rng.below(64) as usize,
            _ => rng.below(4096) as usize,
        };
        let mut mem: Vec<u8> = (0..size).map(|_| rng.next() as u8).collect();
        // Sometimes plant a valid path or iovec list to get past the first checks.
        if size >= 64 && rng.below(2) == 0 {
            let path: &[u8] =
                [&b"tmp/x"[..], b"f", b"d/../l", b"..", b"tmp"][rng.below(5) as usize];
            mem[32..32 + path.len()].copy_from_slice(path);
            mem[0..4].copy_from_slice(&40u32.to_le_bytes());
            mem[4..8].copy_from_slice(&8u32.to_le_bytes());
        }
        let func = rng.below(FUNCS.len() as u64) as usize;
        let (name, params) = FUNCS[func];
        let args: Vec<i64> = params
            .iter()
            .map(|_| match rng.below(5) {
                0 => rng.below(8) as i64,
                1 => rng.below(size as u64 + 16) as i64,
                2 => 32,
                3 => rng.next() as i32 as i64,
                _ => rng.next() as i64,
            })
            .collect();
        // i32 parameters arrive sign-extended from an i32.
        let args: Vec<i64> = args
            .iter()
            .zip(params.iter())
            .map(|(&v, t)| match t {
                super::Ty::I32 => v as i32 as i64,
                super::Ty::I64 => v,
            })
            .collect();
        match g.host.call(func, &mut mem, &args) {
            Ok(e) => assert!(
                (0..=76).contains(&e),
                "{name}{args:?} -> {e} (round {round})"
            ),
            Err(HostExit::Exit(_)) => assert_eq!(name, "proc_exit"),
            Err(HostExit::Kill(_)) => {}
            Err(HostExit::Exec(t)) => panic!("{name} is not an exec: {t:?}"),
        }
    }
    // The kernel is still consistent: the root preopen may have been closed or moved,
    // but the process's table works.
    g.process.interrupt().clear();
    let _ = g.process.fds().len();
}

/// The host behind the engine: a WAT program of a megabinary opens a file through the
/// root preopen, copies it to stdout and exits with `proc_exit`.
#[test]
fn a_guest_runs_through_the_engine() {
    use crate::engine::{EngineLimits, LoadedMegabinary, RunEnd, RunRequest, engine};
    use recompiler_megabinary::{Entry, MergeInput, memory_export, merge};
    const CAT: &str = r#"(module
        (import "wasi_snapshot_preview1" "path_open"
          (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (data (i32.const 100) "etc/hostname")
        (func (export "_start")
          (if (call $open (i32.const 3) (i32.const 1) (i32.const 100) (i32.const 12)
                (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 0))
            (then (call $exit (i32.const 99))))
          ;; iovec at 16: 64 bytes at 200
          (i32.store (i32.const 16) (i32.const 200))
          (i32.store (i32.const 20) (i32.const 64))
          (drop (call $read (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 24)))
          (i32.store (i32.const 20) (i32.load (i32.const 24)))
          (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 28)))
          (call $exit (i32.const 7))))"#;
    let wasm = wat::parse_str(CAT).unwrap();
    let inputs = [MergeInput {
        id: 1,
        name: "cat".into(),
        wasm: &wasm,
        entry: Entry::Start,
    }];
    let mb = merge(&inputs, &mut |_, _| {}).unwrap();
    let limits = EngineLimits {
        max_instances: 2,
        total_memories: 8,
        ..EngineLimits::default()
    };
    let engine = engine(&limits, true).unwrap();
    let module = wasmtime::Module::new(&engine, &mb.wasm).unwrap();
    let loaded = LoadedMegabinary::new(&engine, &module).unwrap();
    let g = Guest::new();
    let host = WasiProcess::new(Arc::clone(&g.kernel), Arc::clone(&g.process)).unwrap();
    let run = loaded.run(RunRequest {
        host: Box::new(host),
        dispatch_id: 1,
        memory_export: memory_export(1),
        argv: vec![b"cat".to_vec()],
        deadline_ticks: None,
        max_memory_bytes: 16 << 20,
        stop: None,
        wall_deadline: None,
        resume: None,
    });
    assert_eq!(run.end, RunEnd::Exited(7));
    assert_eq!(g.stdout.contents(), b"box\n");
}

#[test]
fn proc_and_dev_stdio_through_the_preopen() {
    let mut g = Guest::new();
    // proc/self is this process.
    let [p, pl] = g.s(STR, "proc/self");
    g.ok(
        "path_readlink",
        &[3, p, pl, i64::from(DATA), 64, i64::from(OUT)],
    );
    let pid = g.process.pid().to_string();
    assert_eq!(g.u32_at(OUT) as usize, pid.len());
    assert_eq!(g.get(DATA, pid.len()), pid.as_bytes());
    // dev/stdin, a link to /proc/self/fd/0, opens fd 0's stream; fd/1 is stdout's.
    let fd = g.open("dev/stdin", 0, rights::FD_READ as i64, 0);
    assert_eq!(g.read(fd, &[16]), b"input");
    let fd = g.open("proc/self/fd/1", 0, rights::FD_WRITE as i64, 0);
    assert_eq!(g.write(fd, &[b"via /proc"]), 9);
    assert_eq!(g.stdout.contents(), b"via /proc");
    // A magic link in the middle of a path: proc/self/cwd is the cwd (the root).
    assert_eq!(
        g.stat("proc/self/cwd/f", true),
        Ok((filetype::REGULAR_FILE, 5, 1))
    );
    assert_eq!(
        g.stat("proc/self/status", true).map(|s| s.0),
        Ok(filetype::REGULAR_FILE)
    );
    assert_eq!(
        g.stat("proc/self/fd/1", false).map(|s| s.0),
        Ok(filetype::SYMBOLIC_LINK)
    );
    // Nothing can be made in /proc.
    assert_eq!(
        g.path_op("path_create_directory", "proc/x"),
        WasiErrno::PERM
    );
}
