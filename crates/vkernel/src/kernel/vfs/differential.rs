//! Differential tests, gVisor's habit: the same sequence of file operations runs on the
//! host's filesystem (in a fresh temporary directory, through std, which makes the plain
//! syscalls) and on a [`Vfs`], and every outcome (value or errno) must match. The cases
//! are the edge cases where documentation is vague: rename and unlink corner cases,
//! trailing slashes, `O_CREAT` through symlinks, listing after unlink, `O_APPEND` after
//! a seek, truncation.
//!
//! Only relative paths and relative symlink targets are used, so the host's temporary
//! directory and the VFS root play the same part.

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, symlink};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use super::*;
use crate::kernel::clock::FixedClock;
use crate::kernel::flags::Whence;
use crate::kernel::interrupt::Interrupt;
use crate::kernel::stat::FileType;

#[derive(Debug, Clone, Copy)]
enum Op<'a> {
    Mkdir(&'a str),
    Rmdir(&'a str),
    Unlink(&'a str),
    Rename(&'a str, &'a str),
    Link(&'a str, &'a str),
    /// (target, path)
    Symlink(&'a str, &'a str),
    Readlink(&'a str),
    /// Open with raw `O_*` flags (mode 0644); reports what was opened.
    Open(&'a str, u32),
    Stat(&'a str),
    Lstat(&'a str),
    /// Create or truncate, then write.
    Write(&'a str, &'a str),
    Read(&'a str),
    /// Names, sorted (listing order differs between filesystems).
    List(&'a str),
    Truncate(&'a str, u64),
    /// Open `O_WRONLY|O_APPEND`, seek to 0, write; reports the offset after.
    AppendAfterSeek(&'a str, &'a str),
}

use Op::*;

/// A value rendered as text, or an errno.
type Outcome = Result<String, i32>;

const O_RDONLY: u32 = 0;
const O_WRONLY: u32 = 0o1;
const O_RDWR: u32 = 0o2;
const O_CREAT: u32 = 0o100;
const O_EXCL: u32 = 0o200;
const O_TRUNC: u32 = 0o1000;
const O_DIRECTORY: u32 = 0o200000;
const O_NOFOLLOW: u32 = 0o400000;

fn errno_of(e: std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(-1)
}

fn describe_host(m: &fs::Metadata) -> String {
    let ft = m.file_type();
    if ft.is_dir() {
        "dir".to_string()
    } else if ft.is_symlink() {
        format!("symlink size={}", m.len())
    } else if ft.is_file() {
        use std::os::unix::fs::MetadataExt;
        format!("file size={} nlink={}", m.len(), m.nlink())
    } else {
        "other".to_string()
    }
}

fn describe_ours(s: &crate::kernel::stat::Stat) -> String {
    match s.file_type() {
        Some(FileType::Directory) => "dir".to_string(),
        Some(FileType::Symlink) => format!("symlink size={}", s.size),
        Some(FileType::Regular) => format!("file size={} nlink={}", s.size, s.nlink),
        _ => "other".to_string(),
    }
}

fn run_host(base: &str, op: Op<'_>) -> Outcome {
    let p = |s: &str| format!("{base}/{s}");
    let ok = |r: std::io::Result<()>| r.map(|()| "ok".to_string()).map_err(errno_of);
    match op {
        Mkdir(a) => ok(fs::create_dir(p(a))),
        Rmdir(a) => ok(fs::remove_dir(p(a))),
        Unlink(a) => ok(fs::remove_file(p(a))),
        Rename(a, b) => ok(fs::rename(p(a), p(b))),
        Link(a, b) => ok(fs::hard_link(p(a), p(b))),
        Symlink(t, a) => ok(symlink(t, p(a))),
        Readlink(a) => fs::read_link(p(a))
            .map(|t| t.to_string_lossy().into_owned())
            .map_err(errno_of),
        Open(a, flags) => {
            let acc = flags & 3;
            fs::OpenOptions::new()
                .read(acc == O_RDONLY || acc == O_RDWR)
                .write(acc == O_WRONLY || acc == O_RDWR)
                .custom_flags((flags & !3) as i32)
                .mode(0o644)
                .open(p(a))
                .and_then(|f| f.metadata())
                .map(|m| describe_host(&m))
                .map_err(errno_of)
        }
        Stat(a) => fs::metadata(p(a))
            .map(|m| describe_host(&m))
            .map_err(errno_of),
        Lstat(a) => fs::symlink_metadata(p(a))
            .map(|m| describe_host(&m))
            .map_err(errno_of),
        Write(a, data) => ok(fs::write(p(a), data)),
        Read(a) => fs::read(p(a))
            .map(|d| String::from_utf8_lossy(&d).into_owned())
            .map_err(errno_of),
        List(a) => fs::read_dir(p(a))
            .and_then(|it| {
                let mut names = it
                    .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect::<std::io::Result<Vec<_>>>()?;
                names.sort();
                Ok(names.join(","))
            })
            .map_err(errno_of),
        Truncate(a, len) => ok(fs::OpenOptions::new()
            .write(true)
            .open(p(a))
            .and_then(|f| f.set_len(len))),
        AppendAfterSeek(a, data) => fs::OpenOptions::new()
            .append(true)
            .open(p(a))
            .and_then(|mut f| {
                f.seek(SeekFrom::Start(0))?;
                f.write_all(data.as_bytes())?;
                f.stream_position()
            })
            .map(|pos| format!("pos={pos}"))
            .map_err(errno_of),
    }
}

fn run_ours(vfs: &Vfs, root: &Arc<Inode>, op: Op<'_>) -> Outcome {
    let intr = Interrupt::new();
    let ok = |r: KResult<()>| r.map(|()| "ok".to_string()).map_err(Errno::as_i32);
    let r: KResult<String> = match op {
        Mkdir(a) => return ok(vfs.mkdirat(root, a.as_bytes(), 0o777)),
        Rmdir(a) => return ok(vfs.unlinkat(root, a.as_bytes(), AT_REMOVEDIR)),
        Unlink(a) => return ok(vfs.unlinkat(root, a.as_bytes(), 0)),
        Rename(a, b) => return ok(vfs.renameat(root, a.as_bytes(), root, b.as_bytes())),
        Link(a, b) => return ok(vfs.linkat(root, a.as_bytes(), root, b.as_bytes(), 0)),
        Symlink(t, a) => return ok(vfs.symlinkat(t.as_bytes(), root, a.as_bytes())),
        Readlink(a) => vfs
            .readlinkat(root, a.as_bytes())
            .map(|t| String::from_utf8_lossy(&t).into_owned()),
        Open(a, flags) => vfs
            .openat(root, a.as_bytes(), OFlags::from_bits_retain(flags), 0o644)
            .map(|f| describe_ours(&f.fstat())),
        Stat(a) => vfs
            .fstatat(root, a.as_bytes(), 0)
            .map(|s| describe_ours(&s)),
        Lstat(a) => vfs
            .fstatat(root, a.as_bytes(), AT_SYMLINK_NOFOLLOW)
            .map(|s| describe_ours(&s)),
        Write(a, data) => vfs
            .openat(
                root,
                a.as_bytes(),
                OFlags::WRONLY | OFlags::CREAT | OFlags::TRUNC,
                0o644,
            )
            .and_then(|f| f.write(data.as_bytes(), &intr))
            .map(|_| "ok".to_string()),
        Read(a) => vfs
            .openat(root, a.as_bytes(), OFlags::RDONLY, 0)
            .and_then(|f| {
                let mut out = Vec::new();
                let mut buf = [0u8; 64];
                loop {
                    let n = f.read(&mut buf, &intr)?;
                    if n == 0 {
                        break Ok(String::from_utf8_lossy(&out).into_owned());
                    }
                    out.extend_from_slice(&buf[..n]);
                }
            }),
        List(a) => vfs
            .openat(root, a.as_bytes(), OFlags::RDONLY, 0)
            .and_then(|f| {
                let mut names = Vec::new();
                f.getdents(|d| {
                    if d.name != b"." && d.name != b".." {
                        names.push(String::from_utf8_lossy(&d.name).into_owned());
                    }
                    true
                })?;
                names.sort();
                Ok(names.join(","))
            }),
        Truncate(a, len) => vfs
            .openat(root, a.as_bytes(), OFlags::WRONLY, 0)
            .and_then(|f| f.ftruncate(len as i64))
            .map(|()| "ok".to_string()),
        AppendAfterSeek(a, data) => vfs
            .openat(root, a.as_bytes(), OFlags::WRONLY | OFlags::APPEND, 0)
            .and_then(|f| {
                f.lseek(0, Whence::Set)?;
                f.write(data.as_bytes(), &intr)?;
                f.lseek(0, Whence::Cur)
            })
            .map(|pos| format!("pos={pos}")),
    };
    r.map_err(Errno::as_i32)
}

static CASE: AtomicU32 = AtomicU32::new(0);

/// Runs `ops` on both sides; returns the mismatches.
fn compare(name: &str, ops: &[Op<'_>]) -> Vec<String> {
    let base = std::env::temp_dir().join(format!(
        "vkernel-diff-{}-{}",
        std::process::id(),
        CASE.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir_all(&base).unwrap();
    let base_str = base.to_str().unwrap().to_string();
    let vfs = Vfs::new(
        Arc::new(Image::empty()),
        Arc::new(FixedClock::new(0)),
        1 << 30,
    );
    // A directory of its own, as on the host (the VFS root also holds /dev).
    vfs.mkdirat(vfs.root(), b"/base", 0o755).unwrap();
    let ours = vfs.lookup(vfs.root(), b"/base", true).unwrap();
    let mut mismatches = Vec::new();
    for (i, &op) in ops.iter().enumerate() {
        let want = run_host(&base_str, op);
        let got = run_ours(&vfs, &ours, op);
        if want != got {
            let name_of = |r: &Outcome| match r {
                Ok(v) => format!("Ok({v})"),
                Err(e) => {
                    Errno::from_i32(*e).map_or(format!("errno {e}"), |e| e.name().to_string())
                }
            };
            mismatches.push(format!(
                "{name} step {i} {op:?}: host {} vkernel {}",
                name_of(&want),
                name_of(&got)
            ));
        }
    }
    let _ = fs::remove_dir_all(&base);
    mismatches
}

fn check(cases: &[(&str, &[Op<'_>])]) {
    let mismatches: Vec<String> = cases
        .iter()
        .flat_map(|(name, ops)| compare(name, ops))
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn rename_edge_cases() {
    check(&[
        (
            "files",
            &[
                Write("f", "F"),
                Write("g", "G"),
                Rename("f", "g"),
                Read("g"),
                Stat("f"),
                Rename("missing", "x"),
                Rename("g/", "h"),
                Rename("g", "h/"),
                Rename("g", "g"),
                Link("g", "g2"),
                Rename("g", "g2"),
                Stat("g"),
                Stat("g2"),
                Rename("g", "nodir/x"),
            ],
        ),
        (
            "directories",
            &[
                Mkdir("d"),
                Mkdir("d/sub"),
                Write("d/sub/f", "x"),
                Mkdir("e"),
                Mkdir("full"),
                Write("full/f", ""),
                Write("file", ""),
                Rename("d", "d/sub/x"),
                Rename("d", "d/x"),
                Rename("d", "d"),
                Rename("d/sub", "d"),
                Rename("d", "full"),
                Rename("d", "file"),
                Rename("file", "e"),
                Rename("d/.", "x"),
                Rename("d/..", "x"),
                Rename("d", "e/."),
                Rename("d/", "e/"),
                Stat("d"),
                Read("e/sub/f"),
                Rename("e/sub", "sub2"),
                List("e"),
                List("."),
            ],
        ),
        (
            "symlinks",
            &[
                Write("t", "target"),
                Symlink("t", "l"),
                Mkdir("d"),
                Rename("l", "d/l"),
                Readlink("d/l"),
                Stat("d/l"),
                Symlink("d", "ld"),
                Rename("ld/", "x"),
                Rename("ld", "x"),
                Lstat("x"),
            ],
        ),
    ]);
}

#[test]
fn unlink_and_rmdir_edge_cases() {
    check(&[(
        "unlink",
        &[
            Mkdir("d"),
            Write("d/f", ""),
            Write("f", ""),
            Unlink("d"),
            Unlink("d/"),
            Unlink("f/"),
            Unlink("missing/"),
            Unlink("missing"),
            Rmdir("d"),
            Rmdir("f"),
            Rmdir("d/."),
            Rmdir("d/.."),
            Rmdir("."),
            Rmdir("missing"),
            Unlink("d/f"),
            Rmdir("d/"),
            Symlink("f", "l"),
            Unlink("l"),
            Stat("f"),
            Symlink("missing", "dangling"),
            Unlink("dangling"),
        ],
    )]);
}

#[test]
fn link_symlink_mkdir_edge_cases() {
    check(&[
        (
            "link",
            &[
                Write("f", "data"),
                Mkdir("d"),
                Link("d", "d2"),
                Link("f", "d"),
                Link("f", "new/"),
                Link("f/", "x"),
                Link("missing", "x"),
                Link("f", "d/f"),
                Stat("f"),
                Symlink("f", "l"),
                Link("l", "l2"),
                Lstat("l2"),
                Readlink("l2"),
            ],
        ),
        (
            "symlink",
            &[
                Write("f", ""),
                Symlink("", "e"),
                Symlink("x", "f"),
                Symlink("x", "new/"),
                Symlink("x", "f/new"),
                Symlink("self", "self"),
                Stat("self"),
                Lstat("self"),
                Readlink("f"),
                Readlink("missing"),
                Mkdir("d"),
                Symlink("d", "ld"),
                Lstat("ld/"),
                Stat("ld"),
            ],
        ),
        (
            "mkdir",
            &[
                Mkdir("d/"),
                Mkdir("d"),
                Mkdir("."),
                Mkdir("d/.."),
                Mkdir("missing/x"),
                Write("f", ""),
                Mkdir("f/x"),
                Symlink("nowhere", "dangling"),
                Mkdir("dangling"),
                Mkdir("dangling/"),
            ],
        ),
    ]);
}

#[test]
fn open_edge_cases() {
    check(&[(
        "open",
        &[
            Mkdir("d"),
            Write("f", "abc"),
            Symlink("f", "l"),
            Symlink("nothere", "dangling"),
            Symlink("loop", "loop"),
            Open("d", O_CREAT | O_WRONLY),
            Open("d", O_CREAT | O_RDONLY),
            Open("new/", O_CREAT | O_WRONLY),
            Open("new", O_CREAT | O_DIRECTORY),
            Open("f", O_DIRECTORY),
            Open("f/", O_RDONLY),
            Open("l", O_NOFOLLOW),
            Open("l", O_NOFOLLOW | O_DIRECTORY),
            Open("l", O_NOFOLLOW | O_CREAT | O_WRONLY),
            Open("dangling", O_CREAT | O_EXCL | O_WRONLY),
            Open("dangling", O_CREAT | O_WRONLY),
            Lstat("nothere"),
            Open("f", O_CREAT | O_EXCL | O_WRONLY),
            Open("d", O_WRONLY),
            Open("d", O_RDWR),
            Open("d", O_RDONLY | O_TRUNC),
            Open("loop", O_RDONLY),
            Open("loop", O_CREAT | O_WRONLY),
            Open("missing", O_RDONLY),
            Open("missing/x", O_CREAT | O_WRONLY),
            Open("l", O_RDONLY | O_TRUNC),
            Stat("f"),
        ],
    )]);
}

#[test]
fn data_edge_cases() {
    check(&[(
        "data",
        &[
            Write("f", "0123456789"),
            Truncate("f", 4),
            Read("f"),
            Truncate("f", 8),
            Stat("f"),
            AppendAfterSeek("f", "xy"),
            Read("f"),
            Link("f", "g"),
            Stat("g"),
            Unlink("f"),
            Stat("g"),
            Mkdir("d"),
            Write("d/a", ""),
            Write("d/b", ""),
            Write("d/c", ""),
            Unlink("d/b"),
            List("d"),
            Rename("d/a", "d/z"),
            List("d"),
        ],
    )]);
}

#[test]
fn name_limits_and_symlink_hops() {
    let name255 = "n".repeat(255);
    let name256 = "n".repeat(256);
    let nested = format!("{name255}/x");
    let names: Vec<String> = (0..=41).map(|i| format!("l{i}")).collect();
    let targets: Vec<String> = (0..=41)
        .map(|i| {
            if i == 0 {
                "t".to_string()
            } else {
                format!("l{}", i - 1)
            }
        })
        .collect();
    let mut chain = vec![Write("t", "x")];
    for i in 0..=41 {
        chain.push(Symlink(&targets[i], &names[i]));
    }
    chain.extend([
        Stat("l39"),
        Stat("l40"),
        Lstat("l40"),
        Open("l40", O_RDONLY),
    ]);
    check(&[
        (
            "names",
            &[
                Mkdir(&name256),
                Stat(&name256),
                Mkdir(&name255),
                Write(&nested, "deep"),
                Read(&nested),
                Rename(&name255, &name256),
                Symlink(&name256, "s"),
                Stat("s"),
            ],
        ),
        ("hops", &chain),
        (
            "loops",
            &[
                Symlink("b", "a"),
                Symlink("a", "b"),
                Stat("a"),
                Stat("a/x"),
                Mkdir("a/x"),
                Write("a", "x"),
                Lstat("a"),
                Mkdir("d"),
                Symlink("d", "ld"),
                Rmdir("ld"),
                Rmdir("ld/"),
                Unlink("ld/"),
                Stat("ld/."),
                Unlink("ld"),
                Stat("d"),
            ],
        ),
    ]);
}
