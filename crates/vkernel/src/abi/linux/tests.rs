//! Tests of the Linux syscall ABI: [`LinuxProcess::syscall`] driven directly with a
//! byte-vector memory, on a kernel made from a small image, results and errnos checked
//! against Linux's documented behaviour (and struct layouts against the host's libc).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::structs::{self, STAT_SIZE};
use super::table::{SYSCALLS, Support};
use super::{HostExit, LinuxProcess};
use crate::kernel::testutil::{E, image};
use crate::kernel::{
    BytesStream, CaptureStream, Errno, ExitStatus, FdSource, FileDescription, FixedClock, Kernel,
    Limits, OFlags, Process, SpawnSpec,
};

/// Fixed wall-clock time of the test kernels: 2023-11-14T22:13:20Z.
const NOW: i64 = 1_700_000_000_000_000_000;
const MEM: usize = 1 << 20;
/// Scratch areas in guest memory (above the null guard).
const P1: u64 = 0x1_0000;
const P2: u64 = 0x1_1000;
const BUF: u64 = 0x2_0000;
const OUT: u64 = 0x3_0000;

const AT_FDCWD: i64 = -100;

mod nr {
    pub const READ: i64 = 0;
    pub const WRITE: i64 = 1;
    pub const OPEN: i64 = 2;
    pub const CLOSE: i64 = 3;
    pub const STAT: i64 = 4;
    pub const FSTAT: i64 = 5;
    pub const LSTAT: i64 = 6;
    pub const POLL: i64 = 7;
    pub const LSEEK: i64 = 8;
    pub const MMAP: i64 = 9;
    pub const RT_SIGACTION: i64 = 13;
    pub const RT_SIGPROCMASK: i64 = 14;
    pub const IOCTL: i64 = 16;
    pub const PREAD64: i64 = 17;
    pub const PWRITE64: i64 = 18;
    pub const READV: i64 = 19;
    pub const WRITEV: i64 = 20;
    pub const ACCESS: i64 = 21;
    pub const PIPE: i64 = 22;
    pub const SELECT: i64 = 23;
    pub const DUP: i64 = 32;
    pub const DUP2: i64 = 33;
    pub const PAUSE: i64 = 34;
    pub const NANOSLEEP: i64 = 35;
    pub const GETPID: i64 = 39;
    pub const SENDFILE: i64 = 40;
    pub const SOCKET: i64 = 41;
    pub const FORK: i64 = 57;
    pub const WAIT4: i64 = 61;
    pub const KILL: i64 = 62;
    pub const UNAME: i64 = 63;
    pub const FCNTL: i64 = 72;
    pub const FTRUNCATE: i64 = 77;
    pub const GETCWD: i64 = 79;
    pub const CHDIR: i64 = 80;
    pub const FCHDIR: i64 = 81;
    pub const RENAME: i64 = 82;
    pub const MKDIR: i64 = 83;
    pub const RMDIR: i64 = 84;
    pub const CREAT: i64 = 85;
    pub const LINK: i64 = 86;
    pub const UNLINK: i64 = 87;
    pub const SYMLINK: i64 = 88;
    pub const READLINK: i64 = 89;
    pub const CHMOD: i64 = 90;
    pub const CHOWN: i64 = 92;
    pub const UMASK: i64 = 95;
    pub const GETTIMEOFDAY: i64 = 96;
    pub const GETRLIMIT: i64 = 97;
    pub const GETRUSAGE: i64 = 98;
    pub const SYSINFO: i64 = 99;
    pub const TIMES: i64 = 100;
    pub const GETUID: i64 = 102;
    pub const SETUID: i64 = 105;
    pub const SETPGID: i64 = 109;
    pub const GETPPID: i64 = 110;
    pub const GETPGRP: i64 = 111;
    pub const SETSID: i64 = 112;
    pub const GETGROUPS: i64 = 115;
    pub const CAPGET: i64 = 125;
    pub const RT_SIGPENDING: i64 = 127;
    pub const RT_SIGSUSPEND: i64 = 130;
    pub const SIGALTSTACK: i64 = 131;
    pub const MKNOD: i64 = 133;
    pub const PERSONALITY: i64 = 135;
    pub const STATFS: i64 = 137;
    pub const PRCTL: i64 = 157;
    pub const SETHOSTNAME: i64 = 170;
    pub const GETTID: i64 = 186;
    pub const TIME: i64 = 201;
    pub const FUTEX: i64 = 202;
    pub const SCHED_GETAFFINITY: i64 = 204;
    pub const GETDENTS64: i64 = 217;
    pub const SET_TID_ADDRESS: i64 = 218;
    pub const CLOCK_GETTIME: i64 = 228;
    pub const CLOCK_GETRES: i64 = 229;
    pub const EXIT_GROUP: i64 = 231;
    pub const TGKILL: i64 = 234;
    pub const WAITID: i64 = 247;
    pub const OPENAT: i64 = 257;
    pub const MKDIRAT: i64 = 258;
    pub const NEWFSTATAT: i64 = 262;
    pub const UNLINKAT: i64 = 263;
    pub const READLINKAT: i64 = 267;
    pub const FACCESSAT2: i64 = 439;
    pub const PPOLL: i64 = 271;
    pub const SET_ROBUST_LIST: i64 = 273;
    pub const UTIMENSAT: i64 = 280;
    pub const DUP3: i64 = 292;
    pub const PIPE2: i64 = 293;
    pub const PRLIMIT64: i64 = 302;
    pub const RENAMEAT2: i64 = 316;
    pub const GETRANDOM: i64 = 318;
    pub const MEMFD_CREATE: i64 = 319;
    pub const COPY_FILE_RANGE: i64 = 326;
    pub const STATX: i64 = 332;
    pub const RSEQ: i64 = 334;
    pub const CLOSE_RANGE: i64 = 436;
}

struct Guest {
    lp: LinuxProcess,
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
        E::Dir("/d", 0o755),
        E::File("/d/x", 0o644, b"x"),
        E::Dir("/bin", 0o755),
        E::File("/bin/prog", 0o755, b"\x7fELF"),
        E::Dir("/tmp", 0o1777),
        E::Dir("/dev", 0o755),
        E::Char("/dev/null", 1, 3),
    ]
}

impl Guest {
    fn new() -> Guest {
        let kernel = Arc::new(Kernel::with_clock(
            image(&entries()),
            Limits::default(),
            Arc::new(FixedClock::new(NOW)),
        ));
        let stdout = CaptureStream::new(1 << 20);
        let spec = SpawnSpec {
            argv: vec![b"/bin/prog".to_vec()],
            env: Vec::new(),
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
        let lp = LinuxProcess::new(Arc::clone(&kernel), Arc::clone(&process), None);
        Guest {
            lp,
            mem: vec![0; MEM],
            kernel,
            process,
            stdout,
        }
    }

    fn call(&mut self, nr: i64, args: &[i64]) -> Result<i64, HostExit> {
        let mut a = [0i64; 6];
        a[..args.len()].copy_from_slice(args);
        self.lp.syscall(&mut self.mem, nr, a)
    }

    /// The result of a call that must return to the guest.
    fn sys(&mut self, nr: i64, args: &[i64]) -> i64 {
        match self.call(nr, args) {
            Ok(v) => v,
            Err(x) => panic!("syscall {nr}{args:?}: {x:?}"),
        }
    }

    /// A call that must fail with `e`.
    fn err(&mut self, nr: i64, args: &[i64], e: Errno) {
        assert_eq!(
            self.sys(nr, args),
            -i64::from(e.as_i32()),
            "syscall {nr}{args:?}"
        );
    }

    fn put(&mut self, at: u64, bytes: &[u8]) {
        self.mem[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
    }

    /// Puts a NUL-terminated string at `at`; returns `at` as an argument.
    fn s(&mut self, at: u64, s: &str) -> i64 {
        self.put(at, s.as_bytes());
        self.mem[at as usize + s.len()] = 0;
        at as i64
    }

    fn get(&self, at: u64, len: usize) -> &[u8] {
        &self.mem[at as usize..at as usize + len]
    }

    fn u16(&self, at: u64) -> u16 {
        u16::from_le_bytes(self.get(at, 2).try_into().unwrap())
    }

    fn u32(&self, at: u64) -> u32 {
        u32::from_le_bytes(self.get(at, 4).try_into().unwrap())
    }

    fn i32(&self, at: u64) -> i32 {
        self.u32(at) as i32
    }

    fn u64(&self, at: u64) -> u64 {
        u64::from_le_bytes(self.get(at, 8).try_into().unwrap())
    }

    fn put_u64(&mut self, at: u64, v: u64) {
        self.put(at, &v.to_le_bytes());
    }

    fn open(&mut self, path: &str, flags: OFlags, mode: i64) -> i64 {
        let p = self.s(P1, path);
        let fd = self.sys(nr::OPEN, &[p, i64::from(flags.bits()), mode]);
        assert!(fd >= 0, "open {path}: {fd}");
        fd
    }

    /// `stat(path)`: (mode, size, nlink, ino).
    fn stat(&mut self, path: &str) -> (u32, u64, u64, u64) {
        let p = self.s(P1, path);
        assert_eq!(self.sys(nr::STAT, &[p, OUT as i64]), 0, "stat {path}");
        (
            self.u32(OUT + 24),
            self.u64(OUT + 48),
            self.u64(OUT + 16),
            self.u64(OUT + 8),
        )
    }
}

#[test]
fn read_write_seek_and_positioned_io() {
    let mut g = Guest::new();
    let fd = g.open("/f", OFlags::RDWR, 0);
    assert_eq!(fd, 3, "the lowest free fd");
    assert_eq!(g.sys(nr::READ, &[fd, BUF as i64, 100]), 5);
    assert_eq!(g.get(BUF, 5), b"hello");
    assert_eq!(g.sys(nr::READ, &[fd, BUF as i64, 100]), 0, "end of file");
    assert_eq!(g.sys(nr::LSEEK, &[fd, 1, 0]), 1);
    g.put(BUF, b"EL");
    assert_eq!(g.sys(nr::WRITE, &[fd, BUF as i64, 2]), 2);
    assert_eq!(g.sys(nr::LSEEK, &[fd, 0, 2]), 5, "SEEK_END");
    g.err(nr::LSEEK, &[fd, -10, 1], Errno::EINVAL);
    g.err(nr::LSEEK, &[fd, 0, 9], Errno::EINVAL);
    assert_eq!(g.sys(nr::PREAD64, &[fd, BUF as i64, 5, 0]), 5);
    assert_eq!(g.get(BUF, 5), b"hELlo");
    g.err(nr::PREAD64, &[fd, BUF as i64, 5, -1], Errno::EINVAL);
    g.put(BUF, b"!");
    assert_eq!(g.sys(nr::PWRITE64, &[fd, BUF as i64, 1, 7]), 1);
    assert_eq!(g.stat("/f").1, 8, "pwrite past the end grows the file");
    // Vectored: two buffers in, three out.
    g.put(BUF, b"ab");
    g.put(BUF + 100, b"cd");
    g.put_u64(OUT, BUF);
    g.put_u64(OUT + 8, 2);
    g.put_u64(OUT + 16, BUF + 100);
    g.put_u64(OUT + 24, 2);
    assert_eq!(g.sys(nr::LSEEK, &[fd, 0, 0]), 0);
    assert_eq!(g.sys(nr::WRITEV, &[fd, OUT as i64, 2]), 4);
    assert_eq!(g.sys(nr::LSEEK, &[fd, 0, 0]), 0);
    for (i, (at, len)) in [(BUF + 200, 1u64), (BUF + 300, 0), (BUF + 400, 10)]
        .iter()
        .enumerate()
    {
        g.put_u64(OUT + 16 * i as u64, *at);
        g.put_u64(OUT + 16 * i as u64 + 8, *len);
    }
    assert_eq!(g.sys(nr::READV, &[fd, OUT as i64, 3]), 8);
    assert_eq!(g.get(BUF + 200, 1), b"a");
    assert_eq!(g.get(BUF + 400, 7), b"bcdo\0\0!");
    g.err(nr::READV, &[fd, OUT as i64, -1], Errno::EINVAL);
    g.err(nr::READV, &[fd, OUT as i64, 1025], Errno::EINVAL);
    // Bad pointers are EFAULT, never a panic.
    g.err(nr::READ, &[fd, 0, 10], Errno::EFAULT);
    g.err(nr::WRITE, &[fd, (MEM - 2) as i64, 10], Errno::EFAULT);
    g.err(nr::WRITE, &[fd, -1, 10], Errno::EFAULT);
    // stdout is the kernel's stream.
    g.put(BUF, b"out\n");
    assert_eq!(g.sys(nr::WRITE, &[1, BUF as i64, 4]), 4);
    assert_eq!(g.stdout.contents(), b"out\n");
    assert_eq!(g.sys(nr::READ, &[0, BUF as i64, 10]), 5);
    g.err(nr::READ, &[1, BUF as i64, 1], Errno::EBADF);
    g.err(nr::WRITE, &[99, BUF as i64, 1], Errno::EBADF);
    g.err(nr::LSEEK, &[1, 0, 0], Errno::ESPIPE);
    assert_eq!(g.sys(nr::CLOSE, &[fd]), 0);
    g.err(nr::CLOSE, &[fd], Errno::EBADF);
}

#[test]
fn open_flags_and_errors() {
    let mut g = Guest::new();
    let p = g.s(P1, "/tmp/new");
    let flags = (OFlags::WRONLY | OFlags::CREAT | OFlags::EXCL).bits();
    let fd = g.sys(nr::OPEN, &[p, i64::from(flags), 0o666]);
    assert!(fd >= 0);
    assert_eq!(g.stat("/tmp/new").0, 0o100644, "the umask applies");
    let p = g.s(P1, "/tmp/new");
    g.err(nr::OPEN, &[p, i64::from(flags), 0o666], Errno::EEXIST);
    // O_LARGEFILE is implied on x86-64, as F_GETFL shows on Linux.
    assert_eq!(
        g.sys(nr::FCNTL, &[fd, 3]),
        i64::from((OFlags::WRONLY | OFlags::LARGEFILE).bits())
    );
    let p = g.s(P1, "/nope");
    g.err(nr::OPEN, &[p, 0, 0], Errno::ENOENT);
    let p = g.s(P1, "");
    g.err(nr::OPEN, &[p, 0, 0], Errno::ENOENT);
    let p = g.s(P1, "/f/x");
    g.err(nr::OPEN, &[p, 0, 0], Errno::ENOTDIR);
    let p = g.s(P1, "/d");
    g.err(
        nr::OPEN,
        &[p, i64::from(OFlags::WRONLY.bits()), 0],
        Errno::EISDIR,
    );
    let p = g.s(P1, "/f");
    g.err(
        nr::OPEN,
        &[p, i64::from(OFlags::DIRECTORY.bits()), 0],
        Errno::ENOTDIR,
    );
    g.err(nr::OPEN, &[0, 0, 0], Errno::EFAULT);
    // A path with no NUL within PATH_MAX.
    let long = "a".repeat(5000);
    let p = g.s(P1, &long);
    g.err(nr::OPEN, &[p, 0, 0], Errno::ENAMETOOLONG);
    // openat from a directory fd; creat.
    let d = g.open("/d", OFlags::DIRECTORY, 0);
    let p = g.s(P2, "x");
    let x = g.sys(nr::OPENAT, &[d, p, 0, 0]);
    assert!(x >= 0);
    assert_eq!(g.sys(nr::READ, &[x, BUF as i64, 10]), 1);
    let p = g.s(P2, "x");
    g.err(nr::OPENAT, &[1, p, 0, 0], Errno::ENOTDIR);
    g.err(nr::OPENAT, &[77, p, 0, 0], Errno::EBADF);
    let p = g.s(P1, "/tmp/c");
    let c = g.sys(nr::CREAT, &[p, 0o600]);
    assert!(c >= 0);
    g.err(nr::READ, &[c, BUF as i64, 1], Errno::EBADF);
    assert_eq!(g.stat("/tmp/c").0, 0o100600);
}

/// `struct stat` fields as Linux fills them, and the layouts as the host's libc has them.
#[test]
fn stat_family() {
    let mut g = Guest::new();
    let (mode, size, nlink, ino) = g.stat("/d");
    assert_eq!(mode, 0o040755);
    assert!(nlink >= 2, "a directory has . and its entry");
    assert!(size > 0 && ino > 0);
    assert_eq!(g.u64(OUT + 56), 4096, "st_blksize");
    let (mode, size, nlink, _) = g.stat("/f");
    assert_eq!((mode, size, nlink), (0o100644, 5, 1));
    assert_eq!(g.u64(OUT + 64), 8, "st_blocks in 512-byte units");
    assert_eq!(
        g.u64(OUT + 88) as i64 * 1_000_000_000 + g.u64(OUT + 96) as i64,
        1_000 * 1_000_000_000,
        "st_mtime, st_mtime_nsec: the test image's 1000 s"
    );
    assert_eq!(g.stat("/l").0, 0o100644, "stat follows");
    let p = g.s(P1, "/l");
    assert_eq!(g.sys(nr::LSTAT, &[p, OUT as i64]), 0);
    assert_eq!(g.u32(OUT + 24) & 0o170000, 0o120000);
    assert_eq!(
        g.u64(OUT + 48),
        1,
        "a symlink's size is its target's length"
    );
    let (_, _, _, dev_null_ino) = g.stat("/dev/null");
    assert!(dev_null_ino > 0);
    assert_eq!(g.u32(OUT + 24) & 0o170000, 0o020000);
    assert_eq!(g.u64(OUT + 40), 0x103, "st_rdev = makedev(1, 3)");
    // newfstatat: AT_EMPTY_PATH on a pipe, AT_SYMLINK_NOFOLLOW, bad flags.
    assert_eq!(g.sys(nr::PIPE, &[BUF as i64]), 0);
    let r = i64::from(g.i32(BUF));
    let empty = g.s(P1, "");
    assert_eq!(g.sys(nr::NEWFSTATAT, &[r, empty, OUT as i64, 0x1000]), 0);
    assert_eq!(g.u32(OUT + 24) & 0o170000, 0o010000, "a pipe is a fifo");
    g.err(nr::NEWFSTATAT, &[r, empty, OUT as i64, 0], Errno::ENOENT);
    let p = g.s(P1, "l");
    assert_eq!(g.sys(nr::NEWFSTATAT, &[AT_FDCWD, p, OUT as i64, 0x100]), 0);
    assert_eq!(g.u32(OUT + 24) & 0o170000, 0o120000);
    g.err(
        nr::NEWFSTATAT,
        &[AT_FDCWD, p, OUT as i64, 0x4],
        Errno::EINVAL,
    );
    let fd = g.open("/f", OFlags::RDONLY, 0);
    assert_eq!(g.sys(nr::FSTAT, &[fd, OUT as i64]), 0);
    assert_eq!(g.u64(OUT + 48), 5);
    g.err(nr::FSTAT, &[fd, 8], Errno::EFAULT);
    // statx: the basic fields.
    let p = g.s(P1, "/f");
    assert_eq!(g.sys(nr::STATX, &[AT_FDCWD, p, 0, 0x7ff, OUT as i64]), 0);
    assert_eq!(g.u32(OUT) & 0x7ff, 0x7ff, "stx_mask");
    assert_eq!(g.u16(OUT + 28), 0o100644);
    assert_eq!(g.u64(OUT + 40), 5);
    assert_eq!(g.u32(OUT + 16), 1);
    g.err(
        nr::STATX,
        &[AT_FDCWD, p, 0, 0x8000_0000, OUT as i64],
        Errno::EINVAL,
    );
    g.err(
        nr::STATX,
        &[AT_FDCWD, p, 0x6000, 0x7ff, OUT as i64],
        Errno::EINVAL,
    );
    // The host's libc agrees on the layouts.
    assert_eq!(std::mem::size_of::<libc::stat>(), STAT_SIZE);
    assert_eq!(std::mem::offset_of!(libc::stat, st_mode), 24);
    assert_eq!(std::mem::offset_of!(libc::stat, st_size), 48);
    assert_eq!(std::mem::offset_of!(libc::stat, st_mtime), 88);
    assert_eq!(std::mem::offset_of!(libc::stat, st_ctime_nsec), 112);
    assert_eq!(std::mem::size_of::<libc::statx>(), structs::STATX_SIZE);
    assert_eq!(std::mem::offset_of!(libc::statx, stx_mode), 28);
    assert_eq!(std::mem::offset_of!(libc::statx, stx_mtime), 112);
    assert_eq!(std::mem::offset_of!(libc::statx, stx_dev_minor), 140);
    assert_eq!(std::mem::size_of::<libc::utsname>(), structs::UTSNAME_SIZE);
    assert_eq!(std::mem::size_of::<libc::rusage>(), structs::RUSAGE_SIZE);
    assert_eq!(std::mem::size_of::<libc::sysinfo>(), structs::SYSINFO_SIZE);
    assert_eq!(std::mem::offset_of!(libc::sysinfo, procs), 80);
    assert_eq!(std::mem::offset_of!(libc::sysinfo, mem_unit), 104);
    assert_eq!(std::mem::size_of::<libc::statfs>(), structs::STATFS_SIZE);
    assert_eq!(std::mem::offset_of!(libc::statfs, f_namelen), 64);
    assert_eq!(std::mem::offset_of!(libc::statfs, f_frsize), 72);
    assert_eq!(std::mem::size_of::<libc::flock>(), structs::FLOCK_SIZE);
    assert_eq!(std::mem::offset_of!(libc::flock, l_pid), 24);
    assert_eq!(std::mem::size_of::<libc::tms>(), 32);
    assert_eq!(std::mem::size_of::<libc::pollfd>(), 8);
    assert_eq!(std::mem::size_of::<libc::stack_t>(), 24);
    assert_eq!(std::mem::offset_of!(libc::dirent64, d_name), 19);
    assert_eq!(std::mem::size_of::<libc::siginfo_t>(), 128);
}

/// A directory as the host's Linux reports it and as the vkernel does: the same
/// field semantics (type bits, link count of an empty directory, block size unit).
#[test]
fn stat_of_a_directory_matches_the_host() {
    let host = std::env::temp_dir().join(format!("linux-abi-stat-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&host);
    std::fs::create_dir(&host).unwrap();
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    std::fs::set_permissions(&host, std::fs::Permissions::from_mode(0o755)).unwrap();
    let m = std::fs::metadata(&host).unwrap();
    let _ = std::fs::remove_dir_all(&host);
    let mut g = Guest::new();
    let p = g.s(P1, "/e");
    assert_eq!(g.sys(nr::MKDIR, &[p, 0o755]), 0);
    let (mode, _, nlink, _) = g.stat("/e");
    assert_eq!(mode, m.mode(), "S_IFDIR|0755");
    assert_eq!(nlink, m.nlink(), "an empty directory has 2 links");
    assert_eq!(g.u32(OUT + 28), m.uid());
}

#[test]
fn getdents64_lists_a_directory() {
    let mut g = Guest::new();
    let d = g.open("/d", OFlags::DIRECTORY, 0);
    let n = g.sys(nr::GETDENTS64, &[d, BUF as i64, 4096]);
    assert!(n > 0);
    let mut names = Vec::new();
    let mut at = 0u64;
    while at < n as u64 {
        let reclen = u64::from(g.u16(BUF + at + 16));
        assert_eq!(reclen % 8, 0);
        let name = g.get(BUF + at + 19, (reclen - 19) as usize);
        let name = name.split(|&b| b == 0).next().unwrap().to_vec();
        names.push((String::from_utf8(name).unwrap(), g.get(BUF + at + 18, 1)[0]));
        at += reclen;
    }
    names.sort();
    assert_eq!(
        names,
        vec![(".".into(), 4), ("..".into(), 4), ("x".into(), 8)]
    );
    assert_eq!(g.sys(nr::GETDENTS64, &[d, BUF as i64, 4096]), 0, "the end");
    assert_eq!(g.sys(nr::LSEEK, &[d, 0, 0]), 0);
    g.err(nr::GETDENTS64, &[d, BUF as i64, 10], Errno::EINVAL);
    // One record at a time.
    assert_eq!(g.sys(nr::GETDENTS64, &[d, BUF as i64, 24]), 24);
    let f = g.open("/f", OFlags::RDONLY, 0);
    g.err(nr::GETDENTS64, &[f, BUF as i64, 4096], Errno::ENOTDIR);
    g.err(nr::GETDENTS64, &[d, 0, 4096], Errno::EFAULT);
}

#[test]
fn namespace_calls() {
    let mut g = Guest::new();
    let (a, b) = (g.s(P1, "/tmp/a"), g.s(P2, "/tmp/b"));
    assert_eq!(g.sys(nr::MKDIR, &[a, 0o700]), 0);
    g.err(nr::MKDIR, &[a, 0o700], Errno::EEXIST);
    assert_eq!(g.sys(nr::RENAME, &[a, b]), 0);
    g.err(nr::RMDIR, &[a], Errno::ENOENT);
    let p = g.s(P1, "/d");
    g.err(nr::RMDIR, &[p], Errno::ENOTEMPTY);
    let b = g.s(P2, "/tmp/b");
    assert_eq!(g.sys(nr::RMDIR, &[b]), 0);
    // mkdirat/unlinkat relative to a directory fd.
    let tmp = g.open("/tmp", OFlags::DIRECTORY, 0);
    let p = g.s(P1, "sub");
    assert_eq!(g.sys(nr::MKDIRAT, &[tmp, p, 0o755]), 0);
    g.err(nr::UNLINKAT, &[tmp, p, 0], Errno::EISDIR);
    assert_eq!(g.sys(nr::UNLINKAT, &[tmp, p, 0x200]), 0);
    // mknod: a fifo (its mode under the umask), opened without waiting when
    // non-blocking; devices are EPERM.
    let fifo = g.s(P1, "/tmp/fifo");
    assert_eq!(g.sys(nr::MKNOD, &[fifo, 0o010_666, 0]), 0);
    assert_eq!(g.stat("/tmp/fifo").0, 0o010_644);
    let r = g.open("/tmp/fifo", OFlags::RDONLY | OFlags::NONBLOCK, 0);
    let w = g.open("/tmp/fifo", OFlags::WRONLY, 0);
    assert_eq!(g.sys(nr::WRITE, &[w, P2 as i64, 3]), 3);
    assert_eq!(g.sys(nr::READ, &[r, OUT as i64, 16]), 3);
    assert_eq!(g.sys(nr::CLOSE, &[w]), 0);
    assert_eq!(g.sys(nr::CLOSE, &[r]), 0);
    let dev = g.s(P1, "/tmp/dev");
    g.err(nr::MKNOD, &[dev, 0o020_600, 0x0103], Errno::EPERM);
    // Links.
    let (f, h) = (g.s(P1, "/f"), g.s(P2, "/tmp/h"));
    assert_eq!(g.sys(nr::LINK, &[f, h]), 0);
    assert_eq!(g.stat("/f").2, 2);
    let h = g.s(P2, "/tmp/h");
    assert_eq!(g.sys(nr::UNLINK, &[h]), 0);
    assert_eq!(g.stat("/f").2, 1);
    let (t, s) = (g.s(P1, "../f"), g.s(P2, "/tmp/s"));
    assert_eq!(g.sys(nr::SYMLINK, &[t, s]), 0);
    assert_eq!(g.sys(nr::READLINK, &[s, BUF as i64, 100]), 4);
    assert_eq!(g.get(BUF, 4), b"../f");
    assert_eq!(
        g.sys(nr::READLINK, &[s, BUF as i64, 2]),
        2,
        "cut to the buffer"
    );
    g.err(nr::READLINK, &[s, BUF as i64, 0], Errno::EINVAL);
    let f = g.s(P1, "/f");
    g.err(nr::READLINK, &[f, BUF as i64, 10], Errno::EINVAL);
    let p = g.s(P1, "l");
    assert_eq!(g.sys(nr::READLINKAT, &[AT_FDCWD, p, BUF as i64, 10]), 1);
    // renameat2: NOREPLACE and an unknown flag.
    let (x, y) = (g.s(P1, "/f"), g.s(P2, "/d/x"));
    g.err(nr::RENAMEAT2, &[AT_FDCWD, x, AT_FDCWD, y, 1], Errno::EEXIST);
    g.err(nr::RENAMEAT2, &[AT_FDCWD, x, AT_FDCWD, y, 2], Errno::EINVAL);
    let z = g.s(P2, "/tmp/z");
    assert_eq!(g.sys(nr::RENAMEAT2, &[AT_FDCWD, x, AT_FDCWD, z, 1]), 0);
    assert_eq!(g.stat("/tmp/z").1, 5);
    // access: root may read anything and execute what has an x bit.
    let p = g.s(P1, "/tmp/z");
    assert_eq!(g.sys(nr::ACCESS, &[p, 4 | 2]), 0);
    g.err(nr::ACCESS, &[p, 1], Errno::EACCES);
    g.err(nr::ACCESS, &[p, 8], Errno::EINVAL);
    let p = g.s(P1, "/bin/prog");
    assert_eq!(g.sys(nr::ACCESS, &[p, 1]), 0);
    let p = g.s(P1, "/nope");
    g.err(nr::ACCESS, &[p, 0], Errno::ENOENT);
    let p = g.s(P1, "/d");
    assert_eq!(g.sys(nr::FACCESSAT2, &[AT_FDCWD, p, 1, 0x200]), 0);
    g.err(nr::FACCESSAT2, &[AT_FDCWD, p, 0, 0x2], Errno::EINVAL);
    // chmod, chown (recorded), utimensat, truncate/ftruncate.
    let p = g.s(P1, "/tmp/z");
    assert_eq!(g.sys(nr::CHMOD, &[p, 0o4711]), 0);
    assert_eq!(g.stat("/tmp/z").0, 0o104711);
    let p = g.s(P1, "/tmp/z");
    assert_eq!(g.sys(nr::CHOWN, &[p, 1000, -1]), 0);
    g.stat("/tmp/z");
    assert_eq!((g.u32(OUT + 28), g.u32(OUT + 32)), (1000, 0));
    let p = g.s(P1, "/tmp/z");
    g.put(BUF, &structs::timespec(1_000, 5));
    g.put(BUF + 16, &structs::timespec(2_000, 7));
    assert_eq!(g.sys(nr::UTIMENSAT, &[AT_FDCWD, p, BUF as i64, 0]), 0);
    g.stat("/tmp/z");
    assert_eq!((g.u64(OUT + 72), g.u64(OUT + 80)), (1_000, 5), "atime");
    assert_eq!((g.u64(OUT + 88), g.u64(OUT + 96)), (2_000, 7), "mtime");
    g.put(BUF + 8, &(1_000_000_000i64).to_le_bytes());
    g.err(nr::UTIMENSAT, &[AT_FDCWD, p, BUF as i64, 0], Errno::EINVAL);
    let fd = g.open("/tmp/z", OFlags::RDWR, 0);
    assert_eq!(g.sys(nr::FTRUNCATE, &[fd, 2]), 0);
    assert_eq!(g.stat("/tmp/z").1, 2);
    g.err(nr::FTRUNCATE, &[fd, -1], Errno::EINVAL);
    let ro = g.open("/tmp/z", OFlags::RDONLY, 0);
    g.err(nr::FTRUNCATE, &[ro, 0], Errno::EINVAL);
}

#[test]
fn cwd_and_umask() {
    let mut g = Guest::new();
    assert_eq!(g.sys(nr::GETCWD, &[BUF as i64, 100]), 2);
    assert_eq!(g.get(BUF, 2), b"/\0");
    let p = g.s(P1, "/d");
    assert_eq!(g.sys(nr::CHDIR, &[p]), 0);
    assert_eq!(g.sys(nr::GETCWD, &[BUF as i64, 100]), 3);
    assert_eq!(g.get(BUF, 3), b"/d\0");
    g.err(nr::GETCWD, &[BUF as i64, 2], Errno::ERANGE);
    assert_eq!(g.stat("x").1, 1, "relative paths start at the cwd");
    let p = g.s(P1, "/f");
    g.err(nr::CHDIR, &[p], Errno::ENOTDIR);
    let root = g.open("/", OFlags::DIRECTORY, 0);
    assert_eq!(g.sys(nr::FCHDIR, &[root]), 0);
    assert_eq!(g.sys(nr::GETCWD, &[BUF as i64, 100]), 2);
    g.err(nr::FCHDIR, &[1], Errno::ENOTDIR);
    assert_eq!(g.sys(nr::UMASK, &[0o077]), 0o022);
    assert_eq!(g.sys(nr::UMASK, &[0o7777]), 0o077);
    assert_eq!(g.process.umask(), 0o777);
}

#[test]
fn fd_calls() {
    let mut g = Guest::new();
    let fd = g.open("/f", OFlags::RDONLY, 0);
    assert_eq!(g.sys(nr::DUP, &[fd]), 4);
    assert_eq!(g.sys(nr::DUP2, &[fd, 10]), 10);
    assert_eq!(g.sys(nr::DUP2, &[fd, fd]), fd);
    g.err(nr::DUP2, &[99, 99], Errno::EBADF);
    g.err(nr::DUP3, &[fd, fd, 0], Errno::EINVAL);
    g.err(nr::DUP3, &[fd, 11, 1], Errno::EINVAL);
    assert_eq!(g.sys(nr::DUP3, &[fd, 11, 0o2000000]), 11);
    assert_eq!(g.sys(nr::FCNTL, &[11, 1]), 1, "FD_CLOEXEC");
    assert_eq!(g.sys(nr::FCNTL, &[11, 2, 0]), 0);
    assert_eq!(g.sys(nr::FCNTL, &[11, 1]), 0);
    assert_eq!(
        g.sys(nr::FCNTL, &[fd, 0, 20]),
        20,
        "F_DUPFD takes the lowest at or above"
    );
    assert_eq!(g.sys(nr::FCNTL, &[fd, 1030, 20]), 21, "F_DUPFD_CLOEXEC");
    assert_eq!(g.sys(nr::FCNTL, &[21, 1]), 1);
    g.err(nr::FCNTL, &[fd, 0, -1], Errno::EINVAL);
    g.err(nr::FCNTL, &[fd, 0, 1 << 20], Errno::EINVAL);
    g.err(nr::FCNTL, &[fd, 9999], Errno::EINVAL);
    g.err(nr::FCNTL, &[77, 1], Errno::EBADF);
    // Record locks: unlocked, and locks that fit the access mode succeed.
    let mut lock = [0u8; 32];
    lock[0..2].copy_from_slice(&1i16.to_le_bytes());
    g.put(OUT, &lock);
    assert_eq!(g.sys(nr::FCNTL, &[fd, 5, OUT as i64]), 0);
    assert_eq!(g.u16(OUT), 2, "F_UNLCK");
    g.put(OUT, &lock);
    g.err(nr::FCNTL, &[fd, 6, OUT as i64], Errno::EBADF);
    lock[0] = 0;
    g.put(OUT, &lock);
    assert_eq!(g.sys(nr::FCNTL, &[fd, 7, OUT as i64]), 0);
    lock[0] = 9;
    g.put(OUT, &lock);
    g.err(nr::FCNTL, &[fd, 6, OUT as i64], Errno::EINVAL);
    // ioctl: no terminals.
    for req in [0x5401, 0x5413, 0x540f, 0x1234] {
        g.err(nr::IOCTL, &[1, req, OUT as i64], Errno::ENOTTY);
    }
    g.err(nr::IOCTL, &[77, 0x5401, OUT as i64], Errno::EBADF);
    assert_eq!(g.sys(nr::IOCTL, &[fd, 0x5451]), 0, "FIOCLEX");
    assert_eq!(g.sys(nr::FCNTL, &[fd, 1]), 1);
    assert_eq!(g.sys(nr::IOCTL, &[fd, 0x5450]), 0, "FIONCLEX");
    assert_eq!(g.sys(nr::FCNTL, &[fd, 1]), 0);
    assert_eq!(g.sys(nr::IOCTL, &[fd, 0x541b, OUT as i64]), 0);
    assert_eq!(g.i32(OUT), 5, "FIONREAD of a file: the bytes left");
    // close_range with CLOEXEC, then closing.
    assert_eq!(g.sys(nr::CLOSE_RANGE, &[20, 21, 4]), 0);
    assert_eq!(g.sys(nr::FCNTL, &[20, 1]), 1);
    assert_eq!(g.sys(nr::CLOSE_RANGE, &[10, u32::MAX as i64, 0]), 0);
    g.err(nr::FCNTL, &[20, 1], Errno::EBADF);
    g.err(nr::CLOSE_RANGE, &[5, 4, 0], Errno::EINVAL);
    assert!(g.process.file(fd as i32).is_ok());
}

#[test]
fn pipes_poll_and_sigpipe() {
    let mut g = Guest::new();
    g.err(nr::PIPE2, &[BUF as i64, 1], Errno::EINVAL);
    g.err(nr::PIPE, &[8], Errno::EFAULT);
    assert_eq!(g.sys(nr::PIPE2, &[BUF as i64, 0o2004000]), 0);
    let (r, w) = (i64::from(g.i32(BUF)), i64::from(g.i32(BUF + 4)));
    assert_eq!(g.sys(nr::FCNTL, &[r, 1]), 1, "O_CLOEXEC");
    assert_eq!(g.sys(nr::FCNTL, &[r, 3]) & 0o4000, 0o4000, "O_NONBLOCK");
    g.err(nr::READ, &[r, OUT as i64, 10], Errno::EAGAIN);
    // poll with timeout 0: nothing to read, writable.
    let pollfd = |g: &mut Guest, at: u64, fd: i64, events: i16| {
        g.put(at, &(fd as i32).to_le_bytes());
        g.put(at + 4, &events.to_le_bytes());
        g.put(at + 6, &[0, 0]);
    };
    pollfd(&mut g, OUT, r, 1);
    pollfd(&mut g, OUT + 8, w, 4);
    pollfd(&mut g, OUT + 16, 99, 1);
    pollfd(&mut g, OUT + 24, -1, 1);
    assert_eq!(g.sys(nr::POLL, &[OUT as i64, 4, 0]), 2);
    assert_eq!(g.u16(OUT + 6), 0);
    assert_eq!(g.u16(OUT + 14), 4, "POLLOUT");
    assert_eq!(g.u16(OUT + 22), 0x20, "POLLNVAL");
    assert_eq!(g.u16(OUT + 30), 0, "negative fds are skipped");
    g.put(BUF + 8, b"data");
    assert_eq!(g.sys(nr::WRITE, &[w, BUF as i64 + 8, 4]), 4);
    assert_eq!(g.sys(nr::POLL, &[OUT as i64, 1, -1]), 1);
    assert_eq!(g.u16(OUT + 6), 1, "POLLIN");
    assert_eq!(g.sys(nr::IOCTL, &[r, 0x541b, BUF as i64 + 64]), 0);
    assert_eq!(g.i32(BUF + 64), 4, "FIONREAD of a pipe");
    // ppoll with a timespec timeout, select with fd_sets.
    g.put(BUF + 128, &structs::timespec(0, 1_000_000));
    assert_eq!(
        g.sys(nr::PPOLL, &[OUT as i64, 1, BUF as i64 + 128, 0, 8]),
        1
    );
    let mut set = [0u8; 16];
    set[(r / 8) as usize] |= 1 << (r % 8);
    g.put(BUF + 256, &set);
    g.put(BUF + 384, &[0u8; 16]);
    assert_eq!(
        g.sys(
            nr::SELECT,
            &[r + 1, BUF as i64 + 256, 0, 0, BUF as i64 + 384]
        ),
        1
    );
    assert_eq!(g.get(BUF + 256, 16), &set);
    g.err(
        nr::SELECT,
        &[r + 1, BUF as i64 + 256, 0, 0, 8],
        Errno::EFAULT,
    );
    // A blocking poll wakes when another thread writes.
    assert_eq!(g.sys(nr::READ, &[r, OUT as i64 + 100, 10]), 4);
    let writer = g.process.file(w as i32).unwrap();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        writer.write(b"z", &crate::kernel::Interrupt::new())
    });
    pollfd(&mut g, OUT, r, 1);
    let started = Instant::now();
    assert_eq!(g.sys(nr::POLL, &[OUT as i64, 1, 5_000]), 1);
    assert!(started.elapsed() < Duration::from_secs(4));
    t.join().unwrap().unwrap();
    // Writing with no reader: EPIPE, and SIGPIPE ends the writer...
    assert_eq!(g.sys(nr::CLOSE, &[r]), 0);
    g.put(OUT, &1u64.to_le_bytes());
    let mut act = [0u8; 32];
    act[0..8].copy_from_slice(&1u64.to_le_bytes()); // SIG_IGN
    g.put(OUT + 64, &act);
    // ...unless it is ignored.
    assert_eq!(g.sys(nr::RT_SIGACTION, &[13, OUT as i64 + 64, 0, 8]), 0);
    g.err(nr::WRITE, &[w, BUF as i64, 1], Errno::EPIPE);
    act[0..8].copy_from_slice(&0u64.to_le_bytes()); // SIG_DFL
    g.put(OUT + 64, &act);
    assert_eq!(g.sys(nr::RT_SIGACTION, &[13, OUT as i64 + 64, 0, 8]), 0);
    assert!(matches!(
        g.call(nr::WRITE, &[w, BUF as i64, 1]),
        Err(HostExit::Kill(_))
    ));
    assert!(g.process.interrupt().is_interrupted());
}

#[test]
fn sendfile_and_copy_file_range() {
    let mut g = Guest::new();
    let src = g.open("/f", OFlags::RDONLY, 0);
    let p = g.s(P1, "/tmp/dst");
    let dst = g.sys(
        nr::OPEN,
        &[p, i64::from((OFlags::RDWR | OFlags::CREAT).bits()), 0o644],
    );
    g.put_u64(OUT, 1);
    assert_eq!(g.sys(nr::SENDFILE, &[dst, src, OUT as i64, 100]), 4);
    assert_eq!(g.u64(OUT), 5, "the offset moves, not the file position");
    assert_eq!(g.sys(nr::LSEEK, &[src, 0, 1]), 0);
    assert_eq!(g.sys(nr::SENDFILE, &[1, src, 0, 2]), 2);
    assert_eq!(g.stdout.contents(), b"he");
    assert_eq!(g.sys(nr::LSEEK, &[src, 0, 1]), 2);
    assert_eq!(g.sys(nr::COPY_FILE_RANGE, &[src, 0, dst, 0, 100, 0]), 3);
    assert_eq!(g.stat("/tmp/dst").1, 7);
    g.err(
        nr::COPY_FILE_RANGE,
        &[src, 0, dst, 0, 100, 1],
        Errno::EINVAL,
    );
    g.err(nr::COPY_FILE_RANGE, &[src, 0, 1, 0, 100, 0], Errno::EINVAL);
    // memfd: an fd on an unlinked file.
    let name = g.s(P1, "buf");
    let m = g.sys(nr::MEMFD_CREATE, &[name, 1]);
    assert!(m >= 0);
    assert_eq!(g.sys(nr::WRITE, &[m, BUF as i64, 3]), 3);
    assert_eq!(g.sys(nr::FSTAT, &[m, OUT as i64]), 0);
    assert_eq!(g.u64(OUT + 48), 3);
    assert_eq!(g.u64(OUT + 16), 0, "unlinked");
    g.err(nr::MEMFD_CREATE, &[name, 0x100], Errno::EINVAL);
}

#[test]
fn ids_uname_limits_and_clocks() {
    let mut g = Guest::new();
    let pid = i64::from(g.process.pid());
    assert_eq!(g.sys(nr::GETPID, &[]), pid);
    assert_eq!(g.sys(nr::GETTID, &[]), pid);
    assert_eq!(g.sys(nr::SET_TID_ADDRESS, &[BUF as i64]), pid);
    assert_eq!(g.sys(nr::GETPPID, &[]), 0, "started by the host");
    assert_eq!(g.sys(nr::GETUID, &[]), 0);
    assert_eq!(g.sys(nr::SETUID, &[0]), 0);
    g.err(nr::SETUID, &[1000], Errno::EPERM);
    assert_eq!(g.sys(nr::GETGROUPS, &[0, 0]), 0);
    assert_eq!(g.sys(nr::GETPGRP, &[]), pid);
    g.err(nr::SETSID, &[], Errno::EPERM);
    g.err(nr::SETPGID, &[0, 0], Errno::EPERM);
    assert_eq!(g.sys(nr::SET_ROBUST_LIST, &[BUF as i64, 24]), 0);
    g.err(nr::SET_ROBUST_LIST, &[BUF as i64, 23], Errno::EINVAL);
    g.err(nr::RSEQ, &[BUF as i64, 32, 0, 0], Errno::ENOSYS);
    assert_eq!(g.sys(nr::PERSONALITY, &[0xffff_ffff]), 0);
    // uname
    assert_eq!(g.sys(nr::UNAME, &[OUT as i64]), 0);
    let field = |g: &Guest, i: u64| {
        let f = g.get(OUT + 65 * i, 65);
        String::from_utf8(f.split(|&b| b == 0).next().unwrap().to_vec()).unwrap()
    };
    assert_eq!(field(&g, 0), "Linux");
    assert_eq!(field(&g, 1), "box", "the image's /etc/hostname");
    assert!(field(&g, 2).starts_with("6.1.0"));
    assert_eq!(field(&g, 4), "x86_64");
    g.err(nr::SETHOSTNAME, &[P1 as i64, 3], Errno::EPERM);
    // rlimits
    assert_eq!(g.sys(nr::GETRLIMIT, &[7, OUT as i64]), 0);
    assert_eq!(g.u64(OUT), 1024, "RLIMIT_NOFILE is the core's fd limit");
    assert_eq!(g.sys(nr::GETRLIMIT, &[3, OUT as i64]), 0);
    assert_eq!(
        (g.u64(OUT), g.u64(OUT + 8)),
        (8 << 20, u64::MAX),
        "RLIMIT_STACK"
    );
    g.err(nr::GETRLIMIT, &[16, OUT as i64], Errno::EINVAL);
    g.put(BUF, &structs::rlimit(256, 512));
    assert_eq!(g.sys(nr::PRLIMIT64, &[0, 7, BUF as i64, OUT as i64]), 0);
    assert_eq!(g.u64(OUT), 1024, "the old value");
    assert_eq!(g.sys(nr::PRLIMIT64, &[pid, 7, 0, OUT as i64]), 0);
    assert_eq!((g.u64(OUT), g.u64(OUT + 8)), (256, 512));
    // The soft limit bounds new fds: dup2 past it is EBADF, F_DUPFD at it EINVAL.
    assert_eq!(g.sys(nr::DUP2, &[1, 255]), 255);
    g.err(nr::DUP2, &[1, 256], Errno::EBADF);
    g.err(nr::FCNTL, &[1, 0, 256], Errno::EINVAL);
    assert_eq!(g.sys(nr::CLOSE, &[255]), 0);
    g.put(BUF, &structs::rlimit(600, 512));
    g.err(nr::PRLIMIT64, &[0, 7, BUF as i64, 0], Errno::EINVAL);
    g.put(BUF, &structs::rlimit(1, 1 << 30));
    g.err(nr::PRLIMIT64, &[0, 7, BUF as i64, 0], Errno::EPERM);
    g.err(nr::PRLIMIT64, &[9999, 7, 0, OUT as i64], Errno::ESRCH);
    // clocks: the kernel's fixed realtime.
    assert_eq!(g.sys(nr::CLOCK_GETTIME, &[0, OUT as i64]), 0);
    assert_eq!(g.u64(OUT) as i64, NOW / 1_000_000_000);
    assert_eq!(g.sys(nr::CLOCK_GETTIME, &[1, OUT as i64]), 0);
    let mono = g.u64(OUT) * 1_000_000_000 + g.u64(OUT + 8);
    assert_eq!(g.sys(nr::CLOCK_GETTIME, &[1, OUT as i64]), 0);
    assert!(
        g.u64(OUT) * 1_000_000_000 + g.u64(OUT + 8) >= mono,
        "monotonic"
    );
    g.err(nr::CLOCK_GETTIME, &[99, OUT as i64], Errno::EINVAL);
    g.err(nr::CLOCK_GETTIME, &[0, 0], Errno::EFAULT);
    assert_eq!(g.sys(nr::CLOCK_GETRES, &[1, OUT as i64]), 0);
    assert_eq!((g.u64(OUT), g.u64(OUT + 8)), (0, 1));
    assert_eq!(g.sys(nr::GETTIMEOFDAY, &[OUT as i64, 0]), 0);
    assert_eq!(g.u64(OUT) as i64, NOW / 1_000_000_000);
    assert_eq!(g.sys(nr::TIME, &[0]), NOW / 1_000_000_000);
    g.put(BUF, &structs::timespec(0, 20_000_000));
    let t = Instant::now();
    assert_eq!(g.sys(nr::NANOSLEEP, &[BUF as i64, 0]), 0);
    assert!(t.elapsed() >= Duration::from_millis(20));
    g.put(BUF, &structs::timespec(0, 1_000_000_000));
    g.err(nr::NANOSLEEP, &[BUF as i64, 0], Errno::EINVAL);
    // sysinfo, times, getrusage, statfs, affinity, getrandom, capget, prctl.
    assert_eq!(g.sys(nr::SYSINFO, &[OUT as i64]), 0);
    assert_eq!(g.u64(OUT + 32), 1 << 30);
    assert_eq!(g.u16(OUT + 80), 1, "one process");
    assert_eq!(g.u32(OUT + 104), 1, "mem_unit");
    assert!(g.sys(nr::TIMES, &[OUT as i64]) >= 0);
    assert!(g.sys(nr::TIMES, &[0]) >= 0);
    assert_eq!(g.sys(nr::GETRUSAGE, &[0, OUT as i64]), 0);
    g.err(nr::GETRUSAGE, &[5, OUT as i64], Errno::EINVAL);
    let p = g.s(P1, "/");
    assert_eq!(g.sys(nr::STATFS, &[p, OUT as i64]), 0);
    assert_eq!(g.u64(OUT), 0x0102_1994, "TMPFS_MAGIC");
    assert_eq!(g.u64(OUT + 64), 255);
    assert_eq!(g.sys(nr::SCHED_GETAFFINITY, &[0, 128, OUT as i64]), 8);
    assert_eq!(g.u64(OUT), 1);
    g.err(nr::SCHED_GETAFFINITY, &[0, 4, OUT as i64], Errno::EINVAL);
    g.put(OUT, &[0u8; 64]);
    assert_eq!(g.sys(nr::GETRANDOM, &[OUT as i64, 64, 0]), 64);
    assert!(g.get(OUT, 64).iter().any(|&b| b != 0));
    g.err(nr::GETRANDOM, &[OUT as i64, 8, 6], Errno::EINVAL);
    g.put(OUT, &0x2008_0522u32.to_le_bytes());
    g.put(OUT + 4, &0i32.to_le_bytes());
    assert_eq!(g.sys(nr::CAPGET, &[OUT as i64, BUF as i64]), 0);
    assert_eq!(g.u32(BUF), super::proc::CAPS);
    g.put(OUT, &7u32.to_le_bytes());
    g.err(nr::CAPGET, &[OUT as i64, BUF as i64], Errno::EINVAL);
    assert_eq!(
        g.u32(OUT),
        0x2008_0522,
        "the preferred version is written back"
    );
    assert_eq!(g.sys(nr::PRCTL, &[16, OUT as i64]), 0);
    assert_eq!(g.get(OUT, 5), b"prog\0", "PR_GET_NAME: argv[0]'s basename");
    let n = g.s(P1, "renamed");
    assert_eq!(g.sys(nr::PRCTL, &[15, n]), 0);
    assert_eq!(g.sys(nr::PRCTL, &[16, OUT as i64]), 0);
    assert_eq!(g.get(OUT, 8), b"renamed\0");
}

#[test]
fn signals_and_kill() {
    let mut g = Guest::new();
    let pid = i64::from(g.process.pid());
    // rt_sigaction round trip; SIGKILL cannot be caught.
    let mut act = [0u8; 32];
    act[0..8].copy_from_slice(&0x401000u64.to_le_bytes());
    act[8..16].copy_from_slice(&0x0400_0000u64.to_le_bytes());
    act[24..32].copy_from_slice(&(1u64 << 8 | 1 << 1).to_le_bytes());
    g.put(BUF, &act);
    assert_eq!(g.sys(nr::RT_SIGACTION, &[10, BUF as i64, 0, 8]), 0);
    assert_eq!(g.sys(nr::RT_SIGACTION, &[10, 0, OUT as i64, 8]), 0);
    assert_eq!(g.u64(OUT), 0x401000);
    assert_eq!(
        g.u64(OUT + 24),
        1 << 1,
        "SIGKILL cannot be in a handler's mask"
    );
    g.err(nr::RT_SIGACTION, &[9, BUF as i64, 0, 8], Errno::EINVAL);
    g.err(nr::RT_SIGACTION, &[65, 0, OUT as i64, 8], Errno::EINVAL);
    g.err(nr::RT_SIGACTION, &[10, 0, OUT as i64, 4], Errno::EINVAL);
    // A caught signal stays pending (no delivery yet); kill 0 checks; ignored defaults.
    assert_eq!(g.sys(nr::KILL, &[pid, 10]), 0);
    assert_eq!(g.sys(nr::KILL, &[pid, 0]), 0);
    assert_eq!(
        g.sys(nr::KILL, &[pid, 17]),
        0,
        "SIGCHLD is ignored by default"
    );
    g.err(nr::KILL, &[9999, 15], Errno::ESRCH);
    g.err(nr::KILL, &[pid, 65], Errno::EINVAL);
    // Block SIGTERM: it waits, visible in rt_sigpending; unblocking it ends the process.
    g.put_u64(BUF, 1 << 14);
    assert_eq!(
        g.sys(nr::RT_SIGPROCMASK, &[0, BUF as i64, OUT as i64, 8]),
        0
    );
    assert_eq!(g.u64(OUT), 0, "nothing was blocked");
    assert_eq!(g.sys(nr::TGKILL, &[pid, pid, 15]), 0);
    g.err(nr::TGKILL, &[pid, pid + 1, 15], Errno::ESRCH);
    assert!(!g.process.interrupt().is_interrupted());
    assert_eq!(g.sys(nr::RT_SIGPENDING, &[OUT as i64, 8]), 0);
    assert_eq!(g.u64(OUT), 1 << 14);
    // sigaltstack round trip.
    let mut ss = [0u8; 24];
    ss[0..8].copy_from_slice(&0x50_0000u64.to_le_bytes());
    ss[16..24].copy_from_slice(&8192u64.to_le_bytes());
    g.put(BUF + 64, &ss);
    assert_eq!(g.sys(nr::SIGALTSTACK, &[BUF as i64 + 64, OUT as i64]), 0);
    assert_eq!(g.i32(OUT + 8), 2, "SS_DISABLE before");
    assert_eq!(g.sys(nr::SIGALTSTACK, &[0, OUT as i64]), 0);
    assert_eq!((g.u64(OUT), g.u64(OUT + 16)), (0x50_0000, 8192));
    ss[16..24].copy_from_slice(&100u64.to_le_bytes());
    g.put(BUF + 64, &ss);
    g.err(nr::SIGALTSTACK, &[BUF as i64 + 64, 0], Errno::ENOMEM);
    g.put_u64(BUF, 1 << 14);
    assert!(matches!(
        g.call(nr::RT_SIGPROCMASK, &[1, BUF as i64, 0, 8]),
        Err(HostExit::Kill(_))
    ));
}

#[test]
fn kill_ends_another_process_with_its_default_action() {
    let mut g = Guest::new();
    let child = g.kernel.fork(&g.process).unwrap();
    let other = LinuxProcess::new(Arc::clone(&g.kernel), Arc::clone(&child), None);
    // The child ignores SIGTERM: a kill does nothing to it.
    other.sig().actions[14].handler = super::signal::SIG_IGN;
    assert_eq!(g.sys(nr::KILL, &[i64::from(child.pid()), 15]), 0);
    assert!(!child.interrupt().is_interrupted());
    assert_eq!(g.sys(nr::KILL, &[i64::from(child.pid()), 2]), 0);
    assert!(child.interrupt().is_interrupted(), "SIGINT ends it");
    drop(other);
    assert!(super::signal::lookup(&child).is_none(), "unregistered");
}

#[test]
fn wait_for_children() {
    let mut g = Guest::new();
    g.err(nr::WAIT4, &[-1, OUT as i64, 0, 0], Errno::ECHILD);
    let a = g.kernel.fork(&g.process).unwrap();
    let b = g.kernel.fork(&g.process).unwrap();
    assert_eq!(
        g.sys(nr::WAIT4, &[-1, OUT as i64, 1, 0]),
        0,
        "WNOHANG, none exited"
    );
    g.err(nr::WAIT4, &[-1, OUT as i64, 0x100, 0], Errno::EINVAL);
    g.kernel
        .processes()
        .exit(a.pid(), ExitStatus::Exited(3))
        .unwrap();
    assert_eq!(
        g.sys(nr::WAIT4, &[-1, OUT as i64, 0, BUF as i64]),
        i64::from(a.pid())
    );
    assert_eq!(g.i32(OUT), 3 << 8, "WIFEXITED, WEXITSTATUS 3");
    g.kernel
        .processes()
        .exit(b.pid(), ExitStatus::Signaled(15))
        .unwrap();
    // waitid with WNOWAIT leaves it; then it is reaped.
    assert_eq!(
        g.sys(
            nr::WAITID,
            &[1, i64::from(b.pid()), OUT as i64, 4 | 0x0100_0000, 0]
        ),
        0
    );
    assert_eq!(g.i32(OUT), 17, "si_signo SIGCHLD");
    assert_eq!(g.i32(OUT + 8), 2, "CLD_KILLED");
    assert_eq!(g.i32(OUT + 16), b.pid());
    assert_eq!(g.i32(OUT + 24), 15);
    assert_eq!(g.sys(nr::WAITID, &[0, 0, OUT as i64, 4, 0]), 0);
    assert_eq!(g.i32(OUT + 16), b.pid());
    g.err(nr::WAITID, &[0, 0, OUT as i64, 4, 0], Errno::ECHILD);
    g.err(nr::WAITID, &[0, 0, OUT as i64, 1, 0], Errno::EINVAL);
    // A blocked wait4 wakes at the child's exit.
    let c = g.kernel.fork(&g.process).unwrap();
    let (kernel, cpid) = (Arc::clone(&g.kernel), c.pid());
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        kernel
            .processes()
            .exit(cpid, ExitStatus::Exited(0))
            .unwrap();
    });
    assert_eq!(
        g.sys(nr::WAIT4, &[i64::from(cpid), 0, 0, 0]),
        i64::from(cpid)
    );
    t.join().unwrap();
}

#[test]
fn exit_group_and_futex() {
    let mut g = Guest::new();
    assert_eq!(g.call(nr::EXIT_GROUP, &[256 + 7]), Err(HostExit::Exit(7)));
    assert_eq!(g.call(60, &[-1]), Err(HostExit::Exit(255)));
    g.put(BUF, &5u32.to_le_bytes());
    g.err(nr::FUTEX, &[BUF as i64, 128, 4, 0], Errno::EAGAIN);
    g.put(OUT, &structs::timespec(0, 10_000_000));
    let t = Instant::now();
    g.err(
        nr::FUTEX,
        &[BUF as i64, 128, 5, OUT as i64],
        Errno::ETIMEDOUT,
    );
    assert!(t.elapsed() >= Duration::from_millis(10));
    assert_eq!(
        g.sys(nr::FUTEX, &[BUF as i64, 129, 1]),
        0,
        "FUTEX_WAKE wakes nobody"
    );
    g.err(nr::FUTEX, &[8, 128, 5, 0], Errno::EFAULT);
    g.err(nr::FUTEX, &[BUF as i64 + 1, 128, 5, 0], Errno::EINVAL);
    g.err(nr::FUTEX, &[BUF as i64, 6, 0, 0], Errno::ENOSYS);
    // WAKE_OP: *uaddr2 += 3.
    g.put(BUF + 8, &10u32.to_le_bytes());
    let val3 = (1 << 28) | (3 << 12);
    assert_eq!(
        g.sys(nr::FUTEX, &[BUF as i64, 5, 1, 1, BUF as i64 + 8, val3]),
        0
    );
    assert_eq!(g.u32(BUF + 8), 13);
}

#[test]
fn unsupported_runtime_and_unknown_numbers_are_enosys() {
    let mut g = Guest::new();
    for n in [nr::SOCKET, nr::FORK, nr::MMAP, 999, -1, i64::MAX] {
        g.err(n, &[], Errno::ENOSYS);
    }
    g.err(nr::SOCKET, &[], Errno::ENOSYS);
    assert_eq!(g.lp.warned.len(), 6, "each logged once");
}

#[test]
fn table_entries_have_notes_where_needed() {
    for s in SYSCALLS {
        if let Some(n) = s.support.note() {
            assert!(!n.is_empty(), "{}", s.name);
        }
        if matches!(s.support, Support::Full) {
            assert!(s.support.note().is_none());
        }
    }
}

/// A small deterministic generator (xorshift64*).
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

/// 20,000 calls with random numbers and arguments: none panics, every result is a value
/// or `-errno` in Linux's range, or an end of the process.
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
            1 => rng.below(0x1100) as usize,
            _ => 0x1000 + rng.below(0x4000) as usize,
        };
        let mut mem: Vec<u8> = (0..size).map(|_| rng.next() as u8).collect();
        // Sometimes plant a valid path or iovec list to get past the first checks.
        if size >= 0x1100 && rng.below(2) == 0 {
            let path: &[u8] = [
                &b"/tmp/x\0"[..],
                b"f\0",
                b"d/../l\0",
                b"..\0",
                b"/tmp\0",
                b"\0",
            ][rng.below(6) as usize];
            mem[0x1020..0x1020 + path.len()].copy_from_slice(path);
            mem[0x1000..0x1008].copy_from_slice(&0x1040u64.to_le_bytes());
            mem[0x1008..0x1010].copy_from_slice(&8u64.to_le_bytes());
        }
        let nr = match rng.below(10) {
            0 => rng.next() as i64,
            _ => rng.below(470) as i64,
        };
        let mut args = [0i64; 6];
        for a in &mut args {
            *a = match rng.below(6) {
                0 => rng.below(8) as i64,
                1 => rng.below(size as u64 + 16) as i64,
                2 => 0x1000,
                3 => 0x1020,
                4 => rng.next() as i32 as i64,
                _ => rng.next() as i64,
            };
        }
        match g.lp.syscall(&mut mem, nr, args) {
            Ok(v) => assert!(v >= -4095, "{nr}{args:?} -> {v} (round {round})"),
            Err(HostExit::Exit(code)) => assert!((0..=255).contains(&code)),
            Err(HostExit::Kill(_)) => {}
            // The fixture has no spawner: execve cannot pass the gate.
            Err(HostExit::Exec(t)) => panic!("{nr}{args:?} exec'd {t:?} without a gate"),
        }
    }
}

/// Installs `handler` for `sig` with `flags` (plus SA_RESTORER) and `mask`.
fn catch(g: &mut Guest, sig: i64, handler: u64, flags: u64, mask: u64) {
    let mut act = [0u8; 32];
    act[0..8].copy_from_slice(&handler.to_le_bytes());
    act[8..16].copy_from_slice(&(flags | 0x0400_0000).to_le_bytes());
    act[16..24].copy_from_slice(&0x40_2000u64.to_le_bytes());
    act[24..32].copy_from_slice(&mask.to_le_bytes());
    g.put(BUF, &act);
    assert_eq!(g.sys(nr::RT_SIGACTION, &[sig, BUF as i64, 0, 8]), 0);
}

/// Unblocks everything, as the handler's rt_sigreturn would.
fn unblock_all(g: &mut Guest) {
    g.put_u64(BUF + 1024, 0);
    assert_eq!(g.sys(nr::RT_SIGPROCMASK, &[2, BUF as i64 + 1024, 0, 8]), 0);
}

/// The mask, through rt_sigprocmask.
fn mask(g: &mut Guest) -> u64 {
    assert_eq!(g.sys(nr::RT_SIGPROCMASK, &[0, 0, OUT as i64 + 512, 8]), 0);
    g.u64(OUT + 512)
}

/// Taking a signal for its handler: the record, the handler's mask, SA_RESETHAND, the
/// wake flag, blocked signals waiting for their unblocking.
#[test]
fn signal_next_takes_a_pending_signal_for_its_handler() {
    use super::signal::{NEXT_RECORD, SA_RESETHAND, SA_RESTART};
    let mut g = Guest::new();
    let pid = i64::from(g.process.pid());
    assert!(!g.lp.signal_waiting());
    assert_eq!(g.lp.signal_next(&mut g.mem, 0, OUT as u32), 0);
    catch(&mut g, 10, 0x40_1000, SA_RESTART, 1 << 11);
    assert_eq!(g.sys(nr::KILL, &[pid, 10]), 0);
    assert!(g.lp.signal_waiting());
    assert_eq!(g.lp.signal_next(&mut g.mem, 0, OUT as u32), 10);
    assert_eq!(g.i32(OUT), 10, "si_signo");
    assert_eq!(g.i32(OUT + 8), 0, "SI_USER");
    assert_eq!(g.i32(OUT + 16), pid as i32, "si_pid");
    assert_eq!(g.u64(OUT + 128), 0x40_1000);
    assert_eq!(g.u64(OUT + 136), SA_RESTART | 0x0400_0000);
    assert_eq!(g.u64(OUT + 144), 0x40_2000);
    assert_eq!(g.u64(OUT + 152), 1 << 11);
    assert_eq!(g.u64(OUT + 160), 0, "the mask to restore");
    assert_eq!(g.i32(OUT + 176), 2, "no alternate stack");
    assert!(!g.lp.signal_waiting());
    assert_eq!(
        mask(&mut g),
        1 << 9 | 1 << 11,
        "the signal and sa_mask blocked"
    );
    // Blocked now: it waits until the handler's rt_sigreturn restores the mask.
    assert_eq!(g.sys(nr::KILL, &[pid, 10]), 0);
    assert!(!g.lp.signal_waiting());
    g.put_u64(BUF, 0);
    assert_eq!(g.sys(nr::RT_SIGPROCMASK, &[2, BUF as i64, 0, 8]), 0);
    assert!(g.lp.signal_waiting());
    assert_eq!(g.lp.signal_next(&mut g.mem, 0, OUT as u32), 10);
    unblock_all(&mut g);
    // SA_RESETHAND: the disposition is back to SIG_DFL once taken.
    catch(&mut g, 12, 0x40_1100, SA_RESETHAND, 0);
    assert_eq!(g.sys(nr::KILL, &[pid, 12]), 0);
    assert_eq!(g.lp.signal_next(&mut g.mem, 0, OUT as u32), 12);
    assert_eq!(g.sys(nr::RT_SIGACTION, &[12, 0, OUT as i64, 8]), 0);
    assert_eq!(g.u64(OUT), 0, "SIG_DFL");
    // The record must fit in memory.
    catch(&mut g, 10, 0x40_1000, 0, 0);
    g.put_u64(BUF, 0);
    assert_eq!(g.sys(nr::RT_SIGPROCMASK, &[2, BUF as i64, 0, 8]), 0);
    assert_eq!(g.sys(nr::KILL, &[pid, 10]), 0);
    let end = (MEM - NEXT_RECORD + 1) as u32;
    assert_eq!(g.lp.signal_next(&mut g.mem, 0, end), -14);
    assert_eq!(
        g.lp.signal_next(&mut g.mem, 0, OUT as u32),
        10,
        "still pending"
    );
}

/// A CPU fault the runtime raises: to a handler when there is one and it is not
/// blocked; otherwise back to SIG_DFL and unblocked (the runtime then ends the process).
#[test]
fn forced_faults() {
    let mut g = Guest::new();
    assert_eq!(g.lp.signal_next(&mut g.mem, 11, OUT as u32), 0);
    catch(&mut g, 11, 0x40_1000, 0, 0);
    assert_eq!(g.lp.signal_next(&mut g.mem, 11, OUT as u32), 11);
    assert_eq!(
        g.i32(OUT + 8),
        0x80,
        "SI_KERNEL (the runtime sets the code and address)"
    );
    // Now blocked (in its handler): a second fault is not delivered, and resets it.
    assert_eq!(g.lp.signal_next(&mut g.mem, 11, OUT as u32), 0);
    assert_eq!(g.sys(nr::RT_SIGACTION, &[11, 0, OUT as i64, 8]), 0);
    assert_eq!(g.u64(OUT), 0, "SIG_DFL");
    assert_eq!(mask(&mut g) & 1 << 10, 0, "unblocked");
    assert_eq!(g.lp.signal_next(&mut g.mem, 99, OUT as u32), 0);
}

/// A blocking call a signal for a handler interrupts: -ERESTARTSYS for one Linux
/// restarts (read on a pipe), EINTR for one it never restarts (pause, nanosleep); a
/// blocked signal does not interrupt.
#[test]
fn a_signal_interrupts_blocking_calls() {
    use super::signal::ERESTARTSYS;
    let mut g = Guest::new();
    let pid = g.process.pid();
    catch(&mut g, 10, 0x40_1000, 0, 0);
    assert_eq!(g.sys(nr::PIPE2, &[BUF as i64 + 64, 0]), 0);
    let r = i64::from(g.i32(BUF + 64));
    let child = g.kernel.fork(&g.process).unwrap();
    let sender = LinuxProcess::new(Arc::clone(&g.kernel), child, None);
    let kill_later = |mut sender: LinuxProcess| {
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let mut mem = vec![0u8; 64];
            assert_eq!(
                sender
                    .syscall(&mut mem, nr::KILL, [i64::from(pid), 10, 0, 0, 0, 0])
                    .unwrap(),
                0
            );
            sender
        })
    };
    let t = kill_later(sender);
    assert_eq!(g.sys(nr::READ, &[r, OUT as i64, 10]), -ERESTARTSYS);
    let sender = t.join().unwrap();
    assert_eq!(g.lp.signal_next(&mut g.mem, 0, OUT as u32), 10);
    unblock_all(&mut g);
    let t = kill_later(sender);
    g.err(nr::PAUSE, &[], Errno::EINTR);
    let sender = t.join().unwrap();
    assert_eq!(g.lp.signal_next(&mut g.mem, 0, OUT as u32), 10);
    unblock_all(&mut g);
    g.put(BUF, &structs::timespec(5, 0));
    let t = kill_later(sender);
    let started = Instant::now();
    g.err(nr::NANOSLEEP, &[BUF as i64, 0], Errno::EINTR);
    assert!(started.elapsed() < Duration::from_secs(4));
    let sender = t.join().unwrap();
    assert_eq!(g.lp.signal_next(&mut g.mem, 0, OUT as u32), 10);
    unblock_all(&mut g);
    // rt_sigsuspend: a signal blocked before is taken under the temporary mask, and the
    // record's mask to restore is the one before the call.
    g.put_u64(BUF, 1 << 9);
    assert_eq!(g.sys(nr::RT_SIGPROCMASK, &[0, BUF as i64, 0, 8]), 0);
    let mut sender = sender;
    let mut mem = vec![0u8; 64];
    assert_eq!(
        sender
            .syscall(&mut mem, nr::KILL, [i64::from(pid), 10, 0, 0, 0, 0])
            .unwrap(),
        0
    );
    assert!(!g.lp.signal_waiting(), "blocked");
    g.put_u64(BUF, 0);
    g.err(nr::RT_SIGSUSPEND, &[BUF as i64, 8], Errno::EINTR);
    assert_eq!(g.lp.signal_next(&mut g.mem, 0, OUT as u32), 10);
    assert_eq!(g.u64(OUT + 160), 1 << 9, "the mask before rt_sigsuspend");
    // The process being stopped still ends a wait.
    g.process.interrupt().interrupt();
    assert!(g.lp.signal_waiting());
    assert!(matches!(g.call(nr::PAUSE, &[]), Err(HostExit::Kill(_))));
}

/// SIGCHLD reaches a parent that catches it, with the child's pid and status.
#[test]
fn sigchld_on_a_childs_exit() {
    let mut g = Guest::new();
    let a = g.kernel.fork(&g.process).unwrap();
    g.kernel
        .processes()
        .exit(a.pid(), ExitStatus::Exited(3))
        .unwrap();
    super::signal::child_exited(&g.kernel, a.pid(), ExitStatus::Exited(3));
    assert!(!g.lp.signal_waiting(), "ignored by default");
    catch(&mut g, 17, 0x40_1000, 0, 0);
    let b = g.kernel.fork(&g.process).unwrap();
    g.kernel
        .processes()
        .exit(b.pid(), ExitStatus::Signaled(15))
        .unwrap();
    super::signal::child_exited(&g.kernel, b.pid(), ExitStatus::Signaled(15));
    assert_eq!(g.lp.signal_next(&mut g.mem, 0, OUT as u32), 17);
    assert_eq!(g.i32(OUT + 8), 2, "CLD_KILLED");
    assert_eq!(g.i32(OUT + 16), b.pid());
    assert_eq!(g.i32(OUT + 24), 15);
}

#[test]
fn execve_keeps_the_group_the_mask_and_ignored_signals() {
    let mut g = Guest::new();
    let child = g.kernel.fork(&g.process).unwrap();
    assert_eq!(
        child.pgid(),
        g.process.pgid(),
        "a fork joins its parent's group"
    );
    let image = LinuxProcess::new(Arc::clone(&g.kernel), Arc::clone(&child), None);
    {
        let mut st = image.sig();
        st.actions[1].handler = super::signal::SIG_IGN; // SIGINT ignored
        st.actions[14].handler = 0x1234; // SIGTERM caught
        st.mask = super::signal::bit(10); // SIGUSR1 blocked
    }
    // execve: the image ends, the next one starts.
    drop(image);
    let next = LinuxProcess::new(Arc::clone(&g.kernel), Arc::clone(&child), None);
    {
        let st = next.sig();
        assert_eq!(st.actions[1].handler, super::signal::SIG_IGN);
        assert_eq!(
            st.actions[14].handler,
            super::signal::SIG_DFL,
            "a handler resets"
        );
        assert_eq!(st.mask, super::signal::bit(10));
    }
    assert_eq!(child.pgid(), g.process.pgid());
    // A program without a Linux state (as a WASI program exec'd by the shell) keeps the
    // ignored SIGINT: a group kill leaves it running, SIGTERM ends it.
    drop(next);
    assert_eq!(g.sys(nr::KILL, &[-i64::from(g.process.pgid()), 2]), 0);
    assert!(!child.interrupt().is_interrupted());
    assert_eq!(g.sys(nr::KILL, &[i64::from(child.pid()), 15]), 0);
    assert!(child.interrupt().is_interrupted());
}

#[test]
fn proc_self_and_dev_stdio_and_sockets() {
    const GETSOCKNAME: i64 = 51;
    const GETPEERNAME: i64 = 52;
    let mut g = Guest::new();
    // No socket exists: an open fd is not one, a closed one is no fd.
    g.err(GETPEERNAME, &[0, OUT as i64, P2 as i64], Errno::ENOTSOCK);
    g.err(GETSOCKNAME, &[99, OUT as i64, P2 as i64], Errno::EBADF);
    // /proc/self is the caller, through the ABI's view.
    let p = g.s(P1, "/proc/self");
    let pid = g.process.pid().to_string();
    assert_eq!(g.sys(nr::READLINK, &[p, BUF as i64, 64]), pid.len() as i64);
    assert_eq!(g.get(BUF, pid.len()), pid.as_bytes());
    let p = g.s(P1, "/proc/self/exe");
    g.err(nr::READLINK, &[p, BUF as i64, 64], Errno::ENOENT);
    g.process.set_image(b"/bin/prog", b"/bin/prog".to_vec());
    assert_eq!(g.sys(nr::READLINK, &[p, BUF as i64, 64]), 9);
    assert_eq!(g.get(BUF, 9), b"/bin/prog");
    // /dev/stdin is fd 0's stream; /dev/stdout fd 1's.
    let fd = g.open("/dev/stdin", OFlags::RDONLY, 0);
    assert_eq!(g.sys(nr::READ, &[fd, BUF as i64, 16]), 5);
    assert_eq!(g.get(BUF, 5), b"input");
    let fd = g.open(
        "/dev/stdout",
        OFlags::WRONLY | OFlags::CREAT | OFlags::TRUNC,
        0o666,
    );
    g.put(BUF, b"out");
    assert_eq!(g.sys(nr::WRITE, &[fd, BUF as i64, 3]), 3);
    assert_eq!(g.stdout.contents(), b"out");
    // prctl's name is the kernel process's, which /proc shows.
    const PR_SET_NAME: i64 = 15;
    let name = g.s(P2, "renamed");
    assert_eq!(g.sys(nr::PRCTL, &[PR_SET_NAME, name]), 0);
    assert_eq!(g.process.comm(), b"renamed");
}
