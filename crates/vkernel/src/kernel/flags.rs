//! Flag words of the file syscalls, with Linux's x86-64 values: [`OFlags`] for `open(2)`,
//! the `AT_*` flags of the `*at` calls, `lseek` whences and `utimensat` times.
//!
//! The ABI layers pass the guest's numbers through unchanged; this module only names them.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign, Not};

use super::clock::NANOS_PER_SEC;
use super::errno::{Errno, KResult};

/// `open(2)` flags (`O_*`), with Linux's x86-64 values. Unknown bits are kept: Linux
/// ignores unknown open flags, and so do we.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OFlags(u32);

impl OFlags {
    pub const RDONLY: OFlags = OFlags(0);
    pub const WRONLY: OFlags = OFlags(0o1);
    pub const RDWR: OFlags = OFlags(0o2);
    /// Mask of the access mode (`O_RDONLY`, `O_WRONLY`, `O_RDWR`).
    pub const ACCMODE: OFlags = OFlags(0o3);
    pub const CREAT: OFlags = OFlags(0o100);
    pub const EXCL: OFlags = OFlags(0o200);
    pub const NOCTTY: OFlags = OFlags(0o400);
    pub const TRUNC: OFlags = OFlags(0o1000);
    pub const APPEND: OFlags = OFlags(0o2000);
    pub const NONBLOCK: OFlags = OFlags(0o4000);
    pub const DSYNC: OFlags = OFlags(0o10000);
    pub const ASYNC: OFlags = OFlags(0o20000);
    pub const DIRECT: OFlags = OFlags(0o40000);
    pub const LARGEFILE: OFlags = OFlags(0o100000);
    pub const DIRECTORY: OFlags = OFlags(0o200000);
    pub const NOFOLLOW: OFlags = OFlags(0o400000);
    pub const NOATIME: OFlags = OFlags(0o1000000);
    pub const CLOEXEC: OFlags = OFlags(0o2000000);
    pub const SYNC: OFlags = OFlags(0o4010000);
    pub const PATH: OFlags = OFlags(0o10000000);
    /// `O_TMPFILE` includes `O_DIRECTORY`'s bit, as on Linux.
    pub const TMPFILE: OFlags = OFlags(0o20200000);

    /// The status flags `fcntl(F_SETFL)` may change (Linux also lets `O_ASYNC`, `O_DIRECT`
    /// and `O_NOATIME` through; they mean nothing here).
    pub const SETFL_MASK: OFlags = OFlags(0o2000 | 0o4000 | 0o20000 | 0o40000 | 0o1000000);

    /// No flags (`O_RDONLY`).
    pub const fn empty() -> OFlags {
        OFlags(0)
    }

    /// The flags with these bits, unknown ones included.
    pub const fn from_bits_retain(bits: u32) -> OFlags {
        OFlags(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `other` is set (for `O_SYNC` and `O_TMPFILE`, all their bits).
    pub const fn contains(self, other: OFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set.
    pub const fn intersects(self, other: OFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// The access mode bits alone.
    pub const fn access_mode(self) -> OFlags {
        OFlags(self.0 & 0o3)
    }

    /// Whether the access mode allows reading (`O_RDONLY` or `O_RDWR`).
    pub const fn readable(self) -> bool {
        matches!(self.0 & 0o3, 0 | 2)
    }

    /// Whether the access mode allows writing (`O_WRONLY` or `O_RDWR`).
    pub const fn writable(self) -> bool {
        matches!(self.0 & 0o3, 1 | 2)
    }

    /// These flags without `other`'s bits.
    pub const fn without(self, other: OFlags) -> OFlags {
        OFlags(self.0 & !other.0)
    }
}

impl BitOr for OFlags {
    type Output = OFlags;
    fn bitor(self, rhs: OFlags) -> OFlags {
        OFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for OFlags {
    fn bitor_assign(&mut self, rhs: OFlags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for OFlags {
    type Output = OFlags;
    fn bitand(self, rhs: OFlags) -> OFlags {
        OFlags(self.0 & rhs.0)
    }
}

impl Not for OFlags {
    type Output = OFlags;
    fn not(self) -> OFlags {
        OFlags(!self.0)
    }
}

impl fmt::Debug for OFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: &[(OFlags, &str)] = &[
            (OFlags::CREAT, "O_CREAT"),
            (OFlags::EXCL, "O_EXCL"),
            (OFlags::NOCTTY, "O_NOCTTY"),
            (OFlags::TRUNC, "O_TRUNC"),
            (OFlags::APPEND, "O_APPEND"),
            (OFlags::NONBLOCK, "O_NONBLOCK"),
            (OFlags::DIRECTORY, "O_DIRECTORY"),
            (OFlags::NOFOLLOW, "O_NOFOLLOW"),
            (OFlags::CLOEXEC, "O_CLOEXEC"),
            (OFlags::PATH, "O_PATH"),
        ];
        let mut s = match self.0 & 0o3 {
            0 => "O_RDONLY",
            1 => "O_WRONLY",
            2 => "O_RDWR",
            _ => "O_ACCMODE",
        }
        .to_string();
        let mut rest = self.0 & !0o3;
        for (flag, name) in NAMES {
            if rest & flag.0 != 0 {
                s.push('|');
                s.push_str(name);
                rest &= !flag.0;
            }
        }
        if rest != 0 {
            s.push_str(&format!("|{rest:#o}"));
        }
        f.write_str(&s)
    }
}

/// The `dirfd` meaning "the current working directory".
pub const AT_FDCWD: i32 = -100;
/// Do not follow a symlink named by the last component (`fstatat`, `utimensat`, ...).
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
/// `unlinkat`: remove a directory (as `rmdir`).
pub const AT_REMOVEDIR: u32 = 0x200;
/// `linkat`: follow a symlink named by the old path's last component.
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
/// `fstatat`: accepted and ignored (there are no automounts).
pub const AT_NO_AUTOMOUNT: u32 = 0x800;
/// An empty path names `dirfd` itself.
pub const AT_EMPTY_PATH: u32 = 0x1000;

/// `renameat2`: fail with `EEXIST` rather than replace the new path.
pub const RENAME_NOREPLACE: u32 = 1;

/// Where `lseek` counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whence {
    /// `SEEK_SET` (0): from the start.
    Set,
    /// `SEEK_CUR` (1): from the current offset.
    Cur,
    /// `SEEK_END` (2): from the end.
    End,
    /// `SEEK_DATA` (3): the next offset holding data at or after the given one.
    Data,
    /// `SEEK_HOLE` (4): the next hole at or after the given one.
    Hole,
}

impl Whence {
    /// The whence for `lseek`'s argument; `EINVAL` for an unknown one.
    pub fn from_raw(raw: u32) -> KResult<Whence> {
        Ok(match raw {
            0 => Whence::Set,
            1 => Whence::Cur,
            2 => Whence::End,
            3 => Whence::Data,
            4 => Whence::Hole,
            _ => return Err(Errno::EINVAL),
        })
    }
}

/// `tv_nsec` value asking `utimensat` for the current time.
pub const UTIME_NOW: i64 = (1 << 30) - 1;
/// `tv_nsec` value asking `utimensat` to leave a time as it is.
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

/// What `utimensat` does with one timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetTime {
    /// Set it to the kernel clock's now.
    Now,
    /// Leave it.
    Omit,
    /// Set it to this many nanoseconds since the epoch.
    At(i64),
}

impl SetTime {
    /// Decodes a `struct timespec` as `utimensat` reads it: `UTIME_NOW`/`UTIME_OMIT` in
    /// `tv_nsec` (whatever `tv_sec` holds), otherwise `tv_nsec` must be below one second.
    pub fn from_timespec(sec: i64, nsec: i64) -> KResult<SetTime> {
        match nsec {
            UTIME_NOW => Ok(SetTime::Now),
            UTIME_OMIT => Ok(SetTime::Omit),
            0..NANOS_PER_SEC => sec
                .checked_mul(NANOS_PER_SEC)
                .and_then(|s| s.checked_add(nsec))
                .map(SetTime::At)
                .ok_or(Errno::EINVAL),
            _ => Err(Errno::EINVAL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_modes() {
        assert!(OFlags::RDONLY.readable() && !OFlags::RDONLY.writable());
        assert!(!OFlags::WRONLY.readable() && OFlags::WRONLY.writable());
        assert!(OFlags::RDWR.readable() && OFlags::RDWR.writable());
        assert!(!OFlags::ACCMODE.readable() && !OFlags::ACCMODE.writable());
        let f = OFlags::WRONLY | OFlags::CREAT | OFlags::TRUNC;
        assert_eq!(f.bits(), 0o1101);
        assert_eq!(f.access_mode(), OFlags::WRONLY);
        assert!(f.contains(OFlags::CREAT | OFlags::TRUNC));
        assert!(!OFlags::DIRECTORY.contains(OFlags::TMPFILE));
        assert!(OFlags::SYNC.contains(OFlags::DSYNC));
        assert_eq!(format!("{f:?}"), "O_WRONLY|O_CREAT|O_TRUNC");
        assert_eq!(
            format!("{:?}", OFlags::from_bits_retain(0o40000000 | 2)),
            "O_RDWR|0o40000000"
        );
    }

    #[test]
    fn timespecs() {
        assert_eq!(SetTime::from_timespec(5, UTIME_NOW), Ok(SetTime::Now));
        assert_eq!(SetTime::from_timespec(0, UTIME_OMIT), Ok(SetTime::Omit));
        assert_eq!(
            SetTime::from_timespec(2, 3),
            Ok(SetTime::At(2 * NANOS_PER_SEC + 3))
        );
        assert_eq!(
            SetTime::from_timespec(-1, 0),
            Ok(SetTime::At(-NANOS_PER_SEC))
        );
        assert_eq!(SetTime::from_timespec(0, NANOS_PER_SEC), Err(Errno::EINVAL));
        assert_eq!(SetTime::from_timespec(0, -1), Err(Errno::EINVAL));
        assert_eq!(SetTime::from_timespec(i64::MAX, 0), Err(Errno::EINVAL));
        assert_eq!(Whence::from_raw(2), Ok(Whence::End));
        assert_eq!(Whence::from_raw(9), Err(Errno::EINVAL));
    }
}
