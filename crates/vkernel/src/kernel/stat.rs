//! File attributes as `stat(2)` reports them: [`Stat`], [`FileType`] and the mode bits.
//!
//! This module owns the encoding (Linux's `S_IF*` type bits, `DT_*` directory entry types)
//! and the one permission rule the kernel enforces. The kernel runs every process with
//! root-like credentials: no read, write or search permission is checked, as for root on
//! Linux, except that exec needs an execute bit ([`is_executable`]), which root needs too.

/// Mask of the file type bits of a mode.
pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;
/// Permission bits including setuid, setgid and sticky.
pub const PERM_MASK: u32 = 0o7777;

/// The type of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    Regular,
    Directory,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
}

impl FileType {
    /// The `S_IF*` bits of this type.
    pub fn mode_bits(self) -> u32 {
        match self {
            FileType::Regular => S_IFREG,
            FileType::Directory => S_IFDIR,
            FileType::Symlink => S_IFLNK,
            FileType::CharDevice => S_IFCHR,
            FileType::BlockDevice => S_IFBLK,
            FileType::Fifo => S_IFIFO,
            FileType::Socket => S_IFSOCK,
        }
    }

    /// The type named by the `S_IF*` bits of `mode`.
    pub fn from_mode(mode: u32) -> Option<FileType> {
        Some(match mode & S_IFMT {
            S_IFREG => FileType::Regular,
            S_IFDIR => FileType::Directory,
            S_IFLNK => FileType::Symlink,
            S_IFCHR => FileType::CharDevice,
            S_IFBLK => FileType::BlockDevice,
            S_IFIFO => FileType::Fifo,
            S_IFSOCK => FileType::Socket,
            _ => return None,
        })
    }

    /// The `d_type` of a `linux_dirent64` entry (`DT_REG`, `DT_DIR`, ...).
    pub fn dirent_type(self) -> u8 {
        match self {
            FileType::Fifo => 1,
            FileType::CharDevice => 2,
            FileType::Directory => 4,
            FileType::BlockDevice => 6,
            FileType::Regular => 8,
            FileType::Symlink => 10,
            FileType::Socket => 12,
        }
    }
}

/// Attributes of a file, as `struct stat` carries them. Times are nanoseconds since the
/// Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    /// `S_IF*` type bits | permission bits.
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    /// Device number of a device file (`makedev(major, minor)`), 0 otherwise.
    pub rdev: u64,
    pub size: u64,
    pub blksize: u64,
    /// Size in 512-byte blocks.
    pub blocks: u64,
    pub atime: i64,
    pub mtime: i64,
    pub ctime: i64,
}

impl Stat {
    /// The file's type, from the mode's type bits.
    pub fn file_type(&self) -> Option<FileType> {
        FileType::from_mode(self.mode)
    }

    /// The permission bits (`0o7777`).
    pub fn perm(&self) -> u32 {
        self.mode & PERM_MASK
    }
}

/// Whether a process may exec the file: a regular file with at least one execute bit.
/// This is root's rule on Linux (`CAP_DAC_OVERRIDE` grants exec only if some `x` bit is set)
/// and the only permission check the kernel makes; everything else is allowed.
pub fn is_executable(stat: &Stat) -> bool {
    stat.file_type() == Some(FileType::Regular) && stat.mode & 0o111 != 0
}

/// Linux's `makedev` (the glibc encoding of major and minor numbers).
pub fn makedev(major: u32, minor: u32) -> u64 {
    let (major, minor) = (u64::from(major), u64::from(minor));
    ((major & 0xfffff000) << 32)
        | ((major & 0xfff) << 8)
        | ((minor & 0xffffff00) << 12)
        | (minor & 0xff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(mode: u32) -> Stat {
        Stat {
            dev: 0,
            ino: 1,
            mode,
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
        }
    }

    #[test]
    fn exec_needs_a_regular_file_with_an_x_bit() {
        assert!(is_executable(&stat(S_IFREG | 0o755)));
        assert!(is_executable(&stat(S_IFREG | 0o001)));
        assert!(!is_executable(&stat(S_IFREG | 0o644)));
        assert!(!is_executable(&stat(S_IFDIR | 0o755)));
        assert!(!is_executable(&stat(S_IFCHR | 0o777)));
    }

    #[test]
    fn types_round_trip() {
        for t in [
            FileType::Regular,
            FileType::Directory,
            FileType::Symlink,
            FileType::CharDevice,
            FileType::BlockDevice,
            FileType::Fifo,
            FileType::Socket,
        ] {
            assert_eq!(FileType::from_mode(t.mode_bits() | 0o644), Some(t));
        }
        assert_eq!(FileType::from_mode(0o644), None);
        assert_eq!(stat(S_IFREG | 0o4755).perm(), 0o4755);
    }

    #[test]
    fn makedev_matches_glibc() {
        assert_eq!(makedev(1, 3), 0x103);
        assert_eq!(makedev(136, 0), 0x8800);
        assert_eq!(makedev(0x1234, 0x56789), 0x0000_1000_5672_3489);
    }
}
