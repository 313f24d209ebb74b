//! The syscall RPC: Linux file syscalls, by name, against a container's kernel.
//!
//! Each connection gets one kernel process per container it makes calls in (its
//! "RPC process", created at its first call), so fds are the connection's own and
//! close when it does. Its fds 0, 1 and 2 are an empty stdin and two sinks, so
//! the first `openat` returns 3 as in a fresh Linux process. Arguments are JSON:
//! integers, paths as strings, file data as base64, flags as integers or as
//! names joined by `|` (`"O_WRONLY|O_CREAT"`, `"AT_REMOVEDIR"`, `"AT_FDCWD"`,
//! `"SEEK_END"`). Failures carry the Linux errno name.

use std::sync::Arc;

use serde_json::{Value, json};

use super::protocol::{ErrorCode, ProtocolError, decode_base64, encode_base64};
use crate::kernel::{
    BytesStream, CaptureStream, Errno, Fd, FdSource, FileDescription, Kernel, OFlags, Process,
    SpawnSpec, Stat, Whence,
};

/// The syscalls of the RPC, for errors and docs.
pub const SYSCALLS: &[&str] = &[
    "openat",
    "read",
    "write",
    "pread",
    "pwrite",
    "lseek",
    "close",
    "fstat",
    "newfstatat",
    "getdents64",
    "mkdirat",
    "unlinkat",
    "renameat",
    "symlinkat",
    "readlinkat",
    "ftruncate",
    "getcwd",
    "chdir",
];

/// Largest `count` of one read or getdents64 (as Linux's MAX_RW_COUNT, smaller).
pub const MAX_COUNT: usize = 8 << 20;

/// A failed call: an errno (the call ran and failed) or a malformed request.
#[derive(Debug)]
pub enum CallError {
    Errno(Errno),
    Request(ProtocolError),
}

impl From<Errno> for CallError {
    fn from(e: Errno) -> CallError {
        CallError::Errno(e)
    }
}

impl From<ProtocolError> for CallError {
    fn from(e: ProtocolError) -> CallError {
        CallError::Request(e)
    }
}

/// Creates an RPC process in `kernel`.
pub fn rpc_process(kernel: &Kernel) -> Result<Arc<Process>, Errno> {
    let sink = || {
        FileDescription::host(
            CaptureStream::new(0) as Arc<dyn crate::kernel::HostStream>,
            OFlags::WRONLY,
        )
    };
    let spec = SpawnSpec {
        argv: vec![b"syscall-rpc".to_vec()],
        env: Vec::new(),
        cwd: None,
        umask: None,
        fds: vec![
            (
                0,
                FdSource::File(FileDescription::host(
                    BytesStream::new(Vec::new()),
                    OFlags::RDONLY,
                )),
            ),
            (1, FdSource::File(sink())),
            (2, FdSource::File(sink())),
        ],
    };
    kernel.spawn(None, spec)
}

/// Runs syscall `name` with `args` as `process`; the reply's fields on success.
pub fn call(
    kernel: &Kernel,
    process: &Process,
    name: &str,
    args: &[Value],
) -> Result<Value, CallError> {
    let a = Args { name, args };
    let vfs = kernel.vfs();
    match name {
        "openat" => {
            a.count(3, 4)?;
            let (dirfd, path) = (a.fd(0)?, a.path(1)?);
            let flags = a.flags(2, OPEN_FLAGS)?;
            let mode = if args.len() > 3 { a.int(3)? as u32 } else { 0 };
            let fd = kernel.openat(process, dirfd, &path, OFlags::from_bits_retain(flags), mode)?;
            Ok(json!({"ret": fd}))
        }
        "read" => {
            a.count(2, 2)?;
            let file = process.file(a.fd(0)?)?;
            let mut buf = vec![0; a.size(1)?];
            let n = file.read(&mut buf, process.interrupt())?;
            Ok(json!({"ret": n, "data": encode_base64(&buf[..n])}))
        }
        "pread" => {
            a.count(3, 3)?;
            let file = process.file(a.fd(0)?)?;
            let mut buf = vec![0; a.size(1)?];
            let n = file.pread(&mut buf, a.offset(2)?)?;
            Ok(json!({"ret": n, "data": encode_base64(&buf[..n])}))
        }
        "write" => {
            a.count(2, 2)?;
            let file = process.file(a.fd(0)?)?;
            let n = file.write(&a.data(1)?, process.interrupt())?;
            Ok(json!({"ret": n}))
        }
        "pwrite" => {
            a.count(3, 3)?;
            let file = process.file(a.fd(0)?)?;
            let n = file.pwrite(&a.data(1)?, a.offset(2)?)?;
            Ok(json!({"ret": n}))
        }
        "lseek" => {
            a.count(3, 3)?;
            let file = process.file(a.fd(0)?)?;
            let whence = Whence::from_raw(a.flags(2, SEEK_NAMES)?)?;
            Ok(json!({"ret": file.lseek(a.int(1)?, whence)?}))
        }
        "close" => {
            a.count(1, 1)?;
            process.close(a.fd(0)?)?;
            Ok(json!({"ret": 0}))
        }
        "fstat" => {
            a.count(1, 1)?;
            Ok(json!({"ret": 0, "stat": stat_json(&process.file(a.fd(0)?)?.fstat())}))
        }
        "newfstatat" => {
            a.count(2, 3)?;
            let path = a.path(1)?;
            let dir = process.at(a.fd(0)?, &path)?;
            let flags = if args.len() > 2 {
                a.flags(2, AT_NAMES)?
            } else {
                0
            };
            Ok(json!({"ret": 0, "stat": stat_json(&vfs.fstatat(&dir, &path, flags)?)}))
        }
        "getdents64" => {
            a.count(2, 2)?;
            let file = process.file(a.fd(0)?)?;
            let count = a.size(1)?;
            let mut used = 0usize;
            let mut too_small = false;
            let mut entries = Vec::new();
            file.getdents(|d| {
                // struct linux_dirent64: 19 bytes of header, the name, a NUL, 8-aligned.
                let reclen = (19 + d.name.len() + 1).div_ceil(8) * 8;
                if used + reclen > count {
                    too_small = used == 0;
                    return false;
                }
                used += reclen;
                entries.push(json!({
                    "ino": d.ino,
                    "off": d.next,
                    "type": dirent_type(d.file_type),
                    "name": String::from_utf8_lossy(&d.name),
                }));
                true
            })?;
            if too_small {
                // Not even the next record fits: Linux says EINVAL.
                return Err(Errno::EINVAL.into());
            }
            Ok(json!({"ret": used, "entries": entries}))
        }
        "mkdirat" => {
            a.count(2, 3)?;
            let path = a.path(1)?;
            let mode = if args.len() > 2 {
                a.int(2)? as u32
            } else {
                0o777
            };
            kernel.mkdirat(process, a.fd(0)?, &path, mode)?;
            Ok(json!({"ret": 0}))
        }
        "unlinkat" => {
            a.count(2, 3)?;
            let path = a.path(1)?;
            let dir = process.at(a.fd(0)?, &path)?;
            let flags = if args.len() > 2 {
                a.flags(2, AT_NAMES)?
            } else {
                0
            };
            vfs.unlinkat(&dir, &path, flags)?;
            Ok(json!({"ret": 0}))
        }
        "renameat" => {
            a.count(4, 4)?;
            let (old, new) = (a.path(1)?, a.path(3)?);
            let olddir = process.at(a.fd(0)?, &old)?;
            let newdir = process.at(a.fd(2)?, &new)?;
            vfs.renameat(&olddir, &old, &newdir, &new)?;
            Ok(json!({"ret": 0}))
        }
        "symlinkat" => {
            a.count(3, 3)?;
            let (target, path) = (a.path(0)?, a.path(2)?);
            let dir = process.at(a.fd(1)?, &path)?;
            vfs.symlinkat(&target, &dir, &path)?;
            Ok(json!({"ret": 0}))
        }
        "readlinkat" => {
            a.count(2, 3)?;
            let path = a.path(1)?;
            let dir = process.at(a.fd(0)?, &path)?;
            let mut target = vfs.readlinkat(&dir, &path)?;
            if args.len() > 2 {
                target.truncate(a.size(2)?);
            }
            Ok(json!({
                "ret": target.len(),
                "target": String::from_utf8_lossy(&target),
                "data": encode_base64(&target),
            }))
        }
        "ftruncate" => {
            a.count(2, 2)?;
            process.file(a.fd(0)?)?.ftruncate(a.int(1)?)?;
            Ok(json!({"ret": 0}))
        }
        "getcwd" => {
            a.count(0, 0)?;
            let cwd = kernel.getcwd(process)?;
            Ok(json!({"ret": cwd.len() + 1, "cwd": String::from_utf8_lossy(&cwd)}))
        }
        "chdir" => {
            a.count(1, 1)?;
            kernel.chdir(process, &a.path(0)?)?;
            Ok(json!({"ret": 0}))
        }
        other => Err(CallError::Request(ProtocolError::new(
            ErrorCode::BadRequest,
            format!(
                "unknown syscall {other:?}; the RPC has: {}",
                SYSCALLS.join(", ")
            ),
        ))),
    }
}

/// `stat` as JSON, with Linux's field names.
pub fn stat_json(st: &Stat) -> Value {
    json!({
        "st_dev": st.dev,
        "st_ino": st.ino,
        "st_mode": st.mode,
        "st_nlink": st.nlink,
        "st_uid": st.uid,
        "st_gid": st.gid,
        "st_rdev": st.rdev,
        "st_size": st.size,
        "st_blksize": st.blksize,
        "st_blocks": st.blocks,
        "st_atime": st.atime,
        "st_mtime": st.mtime,
        "st_ctime": st.ctime,
    })
}

fn dirent_type(t: crate::kernel::FileType) -> u8 {
    use crate::kernel::FileType as T;
    match t {
        T::Fifo => 1,
        T::CharDevice => 2,
        T::Directory => 4,
        T::BlockDevice => 6,
        T::Regular => 8,
        T::Symlink => 10,
        T::Socket => 12,
    }
}

const AT_FDCWD: i64 = -100;

const OPEN_FLAGS: &[(&str, u32)] = &[
    ("O_RDONLY", 0),
    ("O_WRONLY", 0o1),
    ("O_RDWR", 0o2),
    ("O_CREAT", 0o100),
    ("O_EXCL", 0o200),
    ("O_NOCTTY", 0o400),
    ("O_TRUNC", 0o1000),
    ("O_APPEND", 0o2000),
    ("O_NONBLOCK", 0o4000),
    ("O_DSYNC", 0o10000),
    ("O_DIRECTORY", 0o200000),
    ("O_NOFOLLOW", 0o400000),
    ("O_CLOEXEC", 0o2000000),
    ("O_SYNC", 0o4010000),
    ("O_PATH", 0o10000000),
];

const AT_NAMES: &[(&str, u32)] = &[
    ("AT_SYMLINK_NOFOLLOW", 0x100),
    ("AT_REMOVEDIR", 0x200),
    ("AT_EMPTY_PATH", 0x1000),
];

const SEEK_NAMES: &[(&str, u32)] = &[
    ("SEEK_SET", 0),
    ("SEEK_CUR", 1),
    ("SEEK_END", 2),
    ("SEEK_DATA", 3),
    ("SEEK_HOLE", 4),
];

struct Args<'a> {
    name: &'a str,
    args: &'a [Value],
}

impl Args<'_> {
    fn bad(&self, msg: String) -> ProtocolError {
        ProtocolError::new(ErrorCode::BadRequest, format!("{}: {msg}", self.name))
    }

    fn count(&self, min: usize, max: usize) -> Result<(), ProtocolError> {
        let n = self.args.len();
        if n < min || n > max {
            let want = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(self.bad(format!("takes {want} arguments, got {n}")));
        }
        Ok(())
    }

    fn int(&self, i: usize) -> Result<i64, ProtocolError> {
        self.args[i].as_i64().ok_or_else(|| {
            self.bad(format!(
                "argument {i} must be an integer, not {}",
                self.args[i]
            ))
        })
    }

    fn fd(&self, i: usize) -> Result<Fd, ProtocolError> {
        let v = match &self.args[i] {
            Value::String(s) if s == "AT_FDCWD" => AT_FDCWD,
            _ => self.int(i)?,
        };
        Fd::try_from(v).map_err(|_| self.bad(format!("argument {i}: fd {v} out of range")))
    }

    fn size(&self, i: usize) -> Result<usize, ProtocolError> {
        let v = self.int(i)?;
        usize::try_from(v)
            .ok()
            .filter(|&n| n <= MAX_COUNT)
            .ok_or_else(|| self.bad(format!("argument {i}: count {v} not in 0..={MAX_COUNT}")))
    }

    fn offset(&self, i: usize) -> Result<u64, CallError> {
        let v = self.int(i)?;
        u64::try_from(v).map_err(|_| CallError::Errno(Errno::EINVAL))
    }

    fn path(&self, i: usize) -> Result<Vec<u8>, ProtocolError> {
        match &self.args[i] {
            Value::String(s) => Ok(s.clone().into_bytes()),
            other => Err(self.bad(format!("argument {i} must be a path string, not {other}"))),
        }
    }

    fn data(&self, i: usize) -> Result<Vec<u8>, ProtocolError> {
        match &self.args[i] {
            Value::String(s) => decode_base64(&format!("{} argument {i}", self.name), s),
            other => Err(self.bad(format!("argument {i} must be base64 data, not {other}"))),
        }
    }

    /// An integer, or flag names joined by `|`.
    fn flags(&self, i: usize, names: &[(&str, u32)]) -> Result<u32, ProtocolError> {
        match &self.args[i] {
            Value::String(s) => {
                let mut bits = 0;
                for part in s.split('|').map(str::trim) {
                    let Some((_, v)) = names.iter().find(|(n, _)| *n == part) else {
                        let known: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
                        return Err(self.bad(format!(
                            "argument {i}: unknown flag {part:?} (known: {})",
                            known.join(", ")
                        )));
                    };
                    bits |= v;
                }
                Ok(bits)
            }
            _ => {
                let v = self.int(i)?;
                u32::try_from(v)
                    .map_err(|_| self.bad(format!("argument {i}: flags {v} out of range")))
            }
        }
    }
}
