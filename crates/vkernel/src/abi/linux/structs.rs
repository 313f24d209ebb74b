//! The x86-64 layouts of the Linux structs syscalls read and write: `struct stat`
//! (144 bytes), `struct statx` (256), `linux_dirent64` and `linux_dirent`, `timespec`
//! and `timeval`, `struct utsname` (6 x 65), `rlimit`, `rusage` (144), `sysinfo` (112),
//! `tms` (32), `statfs` (120), `flock` (32).
//!
//! Each encoder builds the struct's bytes (offsets from the kernel's `uapi` headers, as
//! glibc's `bits/` headers mirror them); the caller writes them to guest memory in one
//! checked store, so a bad pointer changes nothing.

use crate::kernel::clock::NANOS_PER_SEC;
use crate::kernel::{Errno, KResult, Stat};

/// `sizeof(struct stat)` on x86-64.
pub const STAT_SIZE: usize = 144;
/// `sizeof(struct statx)`.
pub const STATX_SIZE: usize = 256;
/// `sizeof(struct utsname)`: six fields of 65 bytes.
pub const UTSNAME_SIZE: usize = 6 * UTS_FIELD;
/// One `utsname` field, its NUL included.
pub const UTS_FIELD: usize = 65;
/// `sizeof(struct rusage)`.
pub const RUSAGE_SIZE: usize = 144;
/// `sizeof(struct sysinfo)`.
pub const SYSINFO_SIZE: usize = 112;
/// `sizeof(struct statfs)`.
pub const STATFS_SIZE: usize = 120;
/// `sizeof(struct flock)`.
pub const FLOCK_SIZE: usize = 32;

/// `statx` mask bits.
pub mod statx_mask {
    pub const TYPE: u32 = 0x1;
    pub const MODE: u32 = 0x2;
    pub const NLINK: u32 = 0x4;
    pub const UID: u32 = 0x8;
    pub const GID: u32 = 0x10;
    pub const ATIME: u32 = 0x20;
    pub const MTIME: u32 = 0x40;
    pub const CTIME: u32 = 0x80;
    pub const INO: u32 = 0x100;
    pub const SIZE: u32 = 0x200;
    pub const BLOCKS: u32 = 0x400;
    /// Everything `stat` has.
    pub const BASIC_STATS: u32 = 0x7ff;
    /// Reserved for a future struct extension: `EINVAL` if asked.
    pub const RESERVED: u32 = 0x8000_0000;
}

/// Little-endian stores into a struct's bytes at fixed offsets.
struct Out<const N: usize>([u8; N]);

impl<const N: usize> Out<N> {
    fn new() -> Self {
        Out([0; N])
    }

    fn put(&mut self, at: usize, bytes: &[u8]) {
        // Every offset below is a constant inside the struct.
        if let Some(dst) = self.0.get_mut(at..at + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }

    fn u16(&mut self, at: usize, v: u16) {
        self.put(at, &v.to_le_bytes());
    }

    fn u32(&mut self, at: usize, v: u32) {
        self.put(at, &v.to_le_bytes());
    }

    fn u64(&mut self, at: usize, v: u64) {
        self.put(at, &v.to_le_bytes());
    }

    fn i64(&mut self, at: usize, v: i64) {
        self.put(at, &v.to_le_bytes());
    }
}

/// Seconds and nanoseconds of a time in nanoseconds since the epoch (floor division, so
/// the nanoseconds are always in `0..1e9`, as `timespec` needs).
pub fn split_nanos(t: i64) -> (i64, i64) {
    (t.div_euclid(NANOS_PER_SEC), t.rem_euclid(NANOS_PER_SEC))
}

/// Linux's `MAJOR` of a `dev_t`.
pub fn major(dev: u64) -> u32 {
    (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as u32
}

/// Linux's `MINOR` of a `dev_t`.
pub fn minor(dev: u64) -> u32 {
    ((dev & 0xff) | ((dev >> 12) & !0xff)) as u32
}

/// `struct stat` (x86-64).
pub fn stat(st: &Stat) -> [u8; STAT_SIZE] {
    let mut o = Out::<STAT_SIZE>::new();
    o.u64(0, st.dev);
    o.u64(8, st.ino);
    o.u64(16, st.nlink);
    o.u32(24, st.mode);
    o.u32(28, st.uid);
    o.u32(32, st.gid);
    o.u64(40, st.rdev);
    o.u64(48, st.size);
    o.u64(56, st.blksize);
    o.u64(64, st.blocks);
    for (at, t) in [(72, st.atime), (88, st.mtime), (104, st.ctime)] {
        let (s, ns) = split_nanos(t);
        o.i64(at, s);
        o.i64(at + 8, ns);
    }
    o.0
}

/// `struct statx` with the basic fields (the mask says which: all of them).
pub fn statx(st: &Stat) -> [u8; STATX_SIZE] {
    let mut o = Out::<STATX_SIZE>::new();
    o.u32(0, statx_mask::BASIC_STATS);
    o.u32(4, st.blksize as u32);
    o.u32(16, st.nlink.min(u64::from(u32::MAX)) as u32);
    o.u32(20, st.uid);
    o.u32(24, st.gid);
    o.u16(28, st.mode as u16);
    o.u64(32, st.ino);
    o.u64(40, st.size);
    o.u64(48, st.blocks);
    // stx_atime 64, stx_btime 80 (not reported), stx_ctime 96, stx_mtime 112.
    for (at, t) in [(64, st.atime), (96, st.ctime), (112, st.mtime)] {
        let (s, ns) = split_nanos(t);
        o.i64(at, s);
        o.u32(at + 8, ns as u32);
    }
    o.u32(128, major(st.rdev));
    o.u32(132, minor(st.rdev));
    o.u32(136, major(st.dev));
    o.u32(140, minor(st.dev));
    o.0
}

/// `struct timespec`.
pub fn timespec(sec: i64, nsec: i64) -> [u8; 16] {
    let mut o = Out::<16>::new();
    o.i64(0, sec);
    o.i64(8, nsec);
    o.0
}

/// A `timespec` for `nanos` nanoseconds.
pub fn timespec_nanos(nanos: i64) -> [u8; 16] {
    let (s, ns) = split_nanos(nanos);
    timespec(s, ns)
}

/// A `struct timeval` for `nanos` nanoseconds.
pub fn timeval_nanos(nanos: i64) -> [u8; 16] {
    let (s, ns) = split_nanos(nanos);
    timespec(s, ns / 1000)
}

/// Decodes a `timespec` as a duration in nanoseconds: `EINVAL` for a negative time or
/// nanoseconds out of `0..1e9` (what nanosleep and the timeouts check); saturates
/// far-future times.
pub fn timespec_duration(sec: i64, nsec: i64) -> KResult<u64> {
    if sec < 0 || !(0..NANOS_PER_SEC).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((sec as u64)
        .saturating_mul(NANOS_PER_SEC as u64)
        .saturating_add(nsec as u64))
}

/// `struct utsname` from its six fields (each cut to 64 bytes, NUL-padded).
pub fn utsname(fields: [&[u8]; 6]) -> [u8; UTSNAME_SIZE] {
    let mut o = Out::<UTSNAME_SIZE>::new();
    for (i, f) in fields.iter().enumerate() {
        o.put(i * UTS_FIELD, &f[..f.len().min(UTS_FIELD - 1)]);
    }
    o.0
}

/// `struct rlimit` (`rlim_cur`, `rlim_max`).
pub fn rlimit(cur: u64, max: u64) -> [u8; 16] {
    let mut o = Out::<16>::new();
    o.u64(0, cur);
    o.u64(8, max);
    o.0
}

/// `struct rusage` with the user time `utime_nanos` and everything else zero.
pub fn rusage(utime_nanos: i64) -> [u8; RUSAGE_SIZE] {
    let mut o = Out::<RUSAGE_SIZE>::new();
    o.put(0, &timeval_nanos(utime_nanos));
    o.0
}

/// What `sysinfo` reports.
#[derive(Debug, Clone, Copy)]
pub struct SysInfo {
    pub uptime: i64,
    pub totalram: u64,
    pub freeram: u64,
    pub procs: u16,
}

/// `struct sysinfo` (`mem_unit` 1).
pub fn sysinfo(s: &SysInfo) -> [u8; SYSINFO_SIZE] {
    let mut o = Out::<SYSINFO_SIZE>::new();
    o.i64(0, s.uptime);
    // loads[3] at 8: zero.
    o.u64(32, s.totalram);
    o.u64(40, s.freeram);
    // sharedram 48, bufferram 56, totalswap 64, freeswap 72: zero.
    o.u16(80, s.procs);
    // totalhigh 88, freehigh 96: zero.
    o.u32(104, 1);
    o.0
}

/// `struct tms` (four `clock_t`s, in clock ticks).
pub fn tms(utime: i64, stime: i64, cutime: i64, cstime: i64) -> [u8; 32] {
    let mut o = Out::<32>::new();
    o.i64(0, utime);
    o.i64(8, stime);
    o.i64(16, cutime);
    o.i64(24, cstime);
    o.0
}

/// What `statfs` reports.
#[derive(Debug, Clone, Copy)]
pub struct StatFs {
    pub fs_type: i64,
    pub bsize: i64,
    pub blocks: u64,
    pub bfree: u64,
    pub files: u64,
    pub ffree: u64,
    pub namelen: i64,
    pub flags: i64,
}

/// `struct statfs` (x86-64).
pub fn statfs(s: &StatFs) -> [u8; STATFS_SIZE] {
    let mut o = Out::<STATFS_SIZE>::new();
    o.i64(0, s.fs_type);
    o.i64(8, s.bsize);
    o.u64(16, s.blocks);
    o.u64(24, s.bfree);
    o.u64(32, s.bfree);
    o.u64(40, s.files);
    o.u64(48, s.ffree);
    // f_fsid at 56: zero.
    o.i64(64, s.namelen);
    o.i64(72, s.bsize);
    o.i64(80, s.flags);
    o.0
}

/// Appends a `linux_dirent64` record (`d_ino`, `d_off`, `d_reclen`, `d_type`, the
/// NUL-terminated name, padded to 8 bytes) if it fits in `room` bytes; returns whether
/// it did.
pub fn dirent64(
    out: &mut Vec<u8>,
    room: usize,
    ino: u64,
    off: u64,
    d_type: u8,
    name: &[u8],
) -> bool {
    let reclen = (19 + name.len() + 1).next_multiple_of(8);
    if out.len() + reclen > room || reclen > usize::from(u16::MAX) {
        return false;
    }
    let start = out.len();
    out.extend_from_slice(&ino.to_le_bytes());
    out.extend_from_slice(&off.to_le_bytes());
    out.extend_from_slice(&(reclen as u16).to_le_bytes());
    out.push(d_type);
    out.extend_from_slice(name);
    out.resize(start + reclen, 0);
    true
}

/// Appends an old `linux_dirent` record (`d_ino`, `d_off`, `d_reclen`, the name and its
/// NUL, padding, `d_type` in the last byte) if it fits in `room` bytes.
pub fn dirent(out: &mut Vec<u8>, room: usize, ino: u64, off: u64, d_type: u8, name: &[u8]) -> bool {
    let reclen = (18 + name.len() + 2).next_multiple_of(8);
    if out.len() + reclen > room || reclen > usize::from(u16::MAX) {
        return false;
    }
    let start = out.len();
    out.extend_from_slice(&ino.to_le_bytes());
    out.extend_from_slice(&off.to_le_bytes());
    out.extend_from_slice(&(reclen as u16).to_le_bytes());
    out.extend_from_slice(name);
    out.resize(start + reclen, 0);
    out[start + reclen - 1] = d_type;
    true
}

/// `struct flock` saying "unlocked" (`l_type` `F_UNLCK`, the rest as given).
pub fn flock_unlocked(mut raw: [u8; FLOCK_SIZE]) -> [u8; FLOCK_SIZE] {
    raw[0..2].copy_from_slice(&2u16.to_le_bytes());
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_numbers() {
        let dev = crate::kernel::stat::makedev(0x1234, 0x56789);
        assert_eq!((major(dev), minor(dev)), (0x1234, 0x56789));
        assert_eq!((major(0x103), minor(0x103)), (1, 3));
    }

    #[test]
    fn dirent_records() {
        let mut out = Vec::new();
        assert!(dirent64(&mut out, 64, 7, 1, 4, b"."));
        assert_eq!(out.len(), 24);
        assert_eq!(u16::from_le_bytes([out[16], out[17]]), 24);
        assert_eq!(out[18], 4);
        assert_eq!(&out[19..21], b".\0");
        assert!(!dirent64(&mut out, 40, 8, 2, 8, b"toolong"));
        let mut out = Vec::new();
        assert!(dirent(&mut out, 64, 7, 1, 8, b"abc"));
        assert_eq!(out.len(), 24);
        assert_eq!(out[23], 8);
        assert_eq!(&out[18..22], b"abc\0");
    }

    #[test]
    fn times_split_toward_minus_infinity() {
        assert_eq!(split_nanos(-1), (-1, NANOS_PER_SEC - 1));
        assert_eq!(split_nanos(1_500_000_000), (1, 500_000_000));
        assert_eq!(timespec_duration(1, 5), Ok(1_000_000_005));
        assert_eq!(timespec_duration(-1, 0), Err(Errno::EINVAL));
        assert_eq!(timespec_duration(0, NANOS_PER_SEC), Err(Errno::EINVAL));
        assert_eq!(timespec_duration(i64::MAX, 0), Ok(u64::MAX));
    }
}
