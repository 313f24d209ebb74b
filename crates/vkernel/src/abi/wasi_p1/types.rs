//! The preview1 vocabulary: flag words, enums and record layouts of `typenames.witx`, and
//! the encoding of the records the ABI writes ([`Filestat`], [`Fdstat`]).
//!
//! Record layouts are the C ABI of wasm32 (what wasi-libc's `<wasi/api.h>` asserts): each
//! field at its natural alignment, little-endian. This module owns only names and layouts;
//! what a value means for the kernel is decided by the functions that use it.

use super::errno::{Fail, WResult, WasiErrno};
use super::memory::GuestMemory;
use crate::kernel::{FileType, Stat};

/// `$rights` bits.
pub mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    pub const SOCK_ACCEPT: u64 = 1 << 29;
    /// Every right.
    pub const ALL: u64 = (1 << 30) - 1;

    /// What wasmtime-wasi reports for a preopened directory ("a hard-coded set of rights
    /// expected by many userlands").
    pub const PREOPEN_BASE: u64 = PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES;

    /// The inheriting rights wasmtime-wasi reports for a preopened directory.
    pub const PREOPEN_INHERITING: u64 = PREOPEN_BASE
        | FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;
}

/// `$fdflags` bits.
pub mod fdflags {
    pub const APPEND: u16 = 1 << 0;
    pub const DSYNC: u16 = 1 << 1;
    pub const NONBLOCK: u16 = 1 << 2;
    pub const RSYNC: u16 = 1 << 3;
    pub const SYNC: u16 = 1 << 4;
    pub const ALL: u16 = (1 << 5) - 1;
}

/// `$oflags` bits.
pub mod oflags {
    pub const CREAT: u16 = 1 << 0;
    pub const DIRECTORY: u16 = 1 << 1;
    pub const EXCL: u16 = 1 << 2;
    pub const TRUNC: u16 = 1 << 3;
    pub const ALL: u16 = (1 << 4) - 1;
}

/// `$lookupflags` bits.
pub mod lookupflags {
    pub const SYMLINK_FOLLOW: u32 = 1 << 0;
    pub const ALL: u32 = 1;
}

/// `$fstflags` bits.
pub mod fstflags {
    pub const ATIM: u16 = 1 << 0;
    pub const ATIM_NOW: u16 = 1 << 1;
    pub const MTIM: u16 = 1 << 2;
    pub const MTIM_NOW: u16 = 1 << 3;
    pub const ALL: u16 = (1 << 4) - 1;
}

/// `$filetype` values.
pub mod filetype {
    pub const UNKNOWN: u8 = 0;
    pub const BLOCK_DEVICE: u8 = 1;
    pub const CHARACTER_DEVICE: u8 = 2;
    pub const DIRECTORY: u8 = 3;
    pub const REGULAR_FILE: u8 = 4;
    pub const SOCKET_DGRAM: u8 = 5;
    pub const SOCKET_STREAM: u8 = 6;
    pub const SYMBOLIC_LINK: u8 = 7;
}

/// `$clockid` values.
pub mod clockid {
    pub const REALTIME: u32 = 0;
    pub const MONOTONIC: u32 = 1;
    pub const PROCESS_CPUTIME_ID: u32 = 2;
    pub const THREAD_CPUTIME_ID: u32 = 3;
}

/// `$eventtype` values.
pub mod eventtype {
    pub const CLOCK: u8 = 0;
    pub const FD_READ: u8 = 1;
    pub const FD_WRITE: u8 = 2;
}

/// `$subclockflags`: the timeout is absolute.
pub const SUBSCRIPTION_CLOCK_ABSTIME: u16 = 1;
/// `$eventrwflags`: the peer hung up.
pub const FD_READWRITE_HANGUP: u16 = 1;
/// `$riflags` (`RECV_PEEK | RECV_WAITALL`).
pub const RIFLAGS_ALL: u16 = 3;
/// `$sdflags` (`RD | WR`).
pub const SDFLAGS_ALL: u8 = 3;
/// `$whence` values above this are invalid (`SET`, `CUR`, `END`).
pub const WHENCE_MAX: u8 = 2;
/// `$advice` values above this are invalid (`NORMAL` .. `NOREUSE`).
pub const ADVICE_MAX: u8 = 5;
/// `$signal` values above this are invalid (`NONE` .. `SYS`).
pub const SIGNAL_MAX: u8 = 30;
/// `$preopentype::dir`.
pub const PREOPENTYPE_DIR: u8 = 0;

/// Sizes of the records in guest memory.
pub const FILESTAT_SIZE: u32 = 64;
pub const FDSTAT_SIZE: u32 = 24;
pub const DIRENT_SIZE: u32 = 24;
pub const SUBSCRIPTION_SIZE: u32 = 48;
pub const EVENT_SIZE: u32 = 32;
pub const IOVEC_SIZE: u32 = 8;

/// Fails with `INVAL` if `value` has bits outside `all`, as wiggle does for a flags
/// argument.
pub(crate) fn check_flags<T>(value: T, all: T) -> WResult<T>
where
    T: Copy + std::ops::BitAnd<Output = T> + std::ops::Not<Output = T> + PartialEq + Default,
{
    if value & !all == T::default() {
        Ok(value)
    } else {
        Err(Fail::Wasi(WasiErrno::INVAL))
    }
}

/// The `$filetype` of a kernel file type. Fifos have no preview1 type (wasmtime-wasi says
/// `UNKNOWN` too); sockets are byte streams.
pub fn filetype_of(t: FileType) -> u8 {
    match t {
        FileType::Regular => filetype::REGULAR_FILE,
        FileType::Directory => filetype::DIRECTORY,
        FileType::Symlink => filetype::SYMBOLIC_LINK,
        FileType::CharDevice => filetype::CHARACTER_DEVICE,
        FileType::BlockDevice => filetype::BLOCK_DEVICE,
        FileType::Fifo => filetype::UNKNOWN,
        FileType::Socket => filetype::SOCKET_STREAM,
    }
}

/// A `$filestat` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Filestat {
    pub dev: u64,
    pub ino: u64,
    pub filetype: u8,
    pub nlink: u64,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
}

/// Kernel times are signed nanoseconds since the epoch; WASI's are unsigned. A time before
/// 1970 reads as the epoch.
fn timestamp(ns: i64) -> u64 {
    u64::try_from(ns).unwrap_or(0)
}

impl Filestat {
    /// The record for a kernel `stat`.
    pub fn from_stat(st: &Stat) -> Filestat {
        Filestat {
            dev: st.dev,
            ino: st.ino,
            filetype: st.file_type().map_or(filetype::UNKNOWN, filetype_of),
            nlink: st.nlink,
            size: st.size,
            atim: timestamp(st.atime),
            mtim: timestamp(st.mtime),
            ctim: timestamp(st.ctime),
        }
    }

    /// Writes the 64-byte record at `ptr` (padding zeroed).
    pub(crate) fn write(&self, mem: &mut GuestMemory<'_>, ptr: u32) -> WResult<()> {
        let mut rec = [0u8; FILESTAT_SIZE as usize];
        rec[0..8].copy_from_slice(&self.dev.to_le_bytes());
        rec[8..16].copy_from_slice(&self.ino.to_le_bytes());
        rec[16] = self.filetype;
        rec[24..32].copy_from_slice(&self.nlink.to_le_bytes());
        rec[32..40].copy_from_slice(&self.size.to_le_bytes());
        rec[40..48].copy_from_slice(&self.atim.to_le_bytes());
        rec[48..56].copy_from_slice(&self.mtim.to_le_bytes());
        rec[56..64].copy_from_slice(&self.ctim.to_le_bytes());
        mem.write_bytes(ptr, &rec)
    }
}

/// An `$fdstat` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fdstat {
    pub filetype: u8,
    pub flags: u16,
    pub rights_base: u64,
    pub rights_inheriting: u64,
}

impl Fdstat {
    /// Writes the 24-byte record at `ptr` (padding zeroed).
    pub(crate) fn write(&self, mem: &mut GuestMemory<'_>, ptr: u32) -> WResult<()> {
        let mut rec = [0u8; FDSTAT_SIZE as usize];
        rec[0] = self.filetype;
        rec[2..4].copy_from_slice(&self.flags.to_le_bytes());
        rec[8..16].copy_from_slice(&self.rights_base.to_le_bytes());
        rec[16..24].copy_from_slice(&self.rights_inheriting.to_le_bytes());
        mem.write_bytes(ptr, &rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_checks() {
        assert_eq!(
            check_flags(oflags::CREAT | oflags::TRUNC, oflags::ALL),
            Ok(9)
        );
        assert_eq!(
            check_flags(0x10u16, oflags::ALL),
            Err(Fail::Wasi(WasiErrno::INVAL))
        );
        assert_eq!(check_flags(rights::ALL, rights::ALL), Ok(rights::ALL));
        assert!(check_flags(1u64 << 30, rights::ALL).is_err());
        assert_eq!(
            rights::PREOPEN_INHERITING & rights::FD_READ,
            rights::FD_READ
        );
    }

    #[test]
    fn records_have_the_c_layout() {
        let mut bytes = vec![0xaau8; 128];
        let mut mem = GuestMemory::new(&mut bytes);
        Filestat {
            dev: 1,
            ino: 2,
            filetype: 3,
            nlink: 4,
            size: 5,
            atim: 6,
            mtim: 7,
            ctim: 8,
        }
        .write(&mut mem, 0)
        .unwrap();
        assert_eq!(bytes[0], 1);
        assert_eq!(bytes[8], 2);
        assert_eq!(&bytes[16..24], &[3, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bytes[24], 4);
        assert_eq!(bytes[56], 8);
        assert_eq!(bytes[64], 0xaa, "nothing past the record");
        let mut mem = GuestMemory::new(&mut bytes);
        Fdstat {
            filetype: 4,
            flags: 0x0102,
            rights_base: 9,
            rights_inheriting: 10,
        }
        .write(&mut mem, 110)
        .unwrap_err();
        let mut mem = GuestMemory::new(&mut bytes);
        Fdstat {
            filetype: 4,
            flags: 0x0102,
            rights_base: 9,
            rights_inheriting: 10,
        }
        .write(&mut mem, 64)
        .unwrap();
        assert_eq!(&bytes[64..68], &[4, 0, 2, 1]);
        assert_eq!(bytes[72], 9);
        assert_eq!(bytes[80], 10);
    }
}
