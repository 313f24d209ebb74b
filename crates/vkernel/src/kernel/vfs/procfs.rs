//! `/proc`: the container's processes as files, the way Linux's procfs shows them to a
//! process of a container (its own pid namespace: the container's pids, nothing of the
//! host's).
//!
//! ```text
//! /proc/                    dr-xr-xr-x  self, and one directory per process (zombies too)
//! /proc/self             -> <pid>       the caller's pid (only in a process's View)
//! /proc/<pid>/              dr-xr-xr-x
//!     cmdline               -r--r--r--  argv, each argument NUL-terminated
//!     comm                  -r--r--r--  the name, and a newline
//!     cwd                -> (magic)     the cwd
//!     environ               -r--------  the environment, NUL-terminated
//!     exe                -> path        the file the process runs
//!     fd/                   dr-x------  one link per open fd
//!         <n>            -> (magic)     the open file
//!     root               -> (magic)     the container's root
//!     stat                  -r--r--r--  pid (comm) state ppid pgrp session ..., 52 fields
//!     status                -r--r--r--  Name, Umask, State, Pid, PPid, ... as lines
//! ```
//!
//! Everything is made when asked: a lookup makes an [`Inode`] for the name (never linked
//! into a directory of the layer), a listing reads the process table, a file's contents
//! are made when it is opened (a snapshot, as a read of Linux's `seq_file` files is).
//! Nothing here is writable: opening a file for writing or truncating one is `EACCES`,
//! creating a name `EACCES`, changing the namespace or attributes `EPERM` (a directory
//! without such operations), and renaming or linking across the mount `EXDEV`.
//!
//! The "magic" links (`fd/<n>`, `cwd`, `root`) read as a path (`pipe:[<ino>]` for a
//! pipe; `... (deleted)` for an unlinked file), but following one reaches the open file
//! or directory itself, as on Linux: opening `/proc/self/fd/<n>` of a file makes a new
//! open description of the same inode with the flags asked for; of a pipe, a new end of
//! the same pipe; of a host stream, a new description of that stream. `exe` is a plain
//! link to the path the exec gate resolved, so an exec through it is gated like any
//! path ([`super::View::exec_lookup`] and the launcher resolve links by their text).
//!
//! What the kernel does not keep is not shown: no `/proc/meminfo` or `/proc/cpuinfo`
//! (the container's memory and CPU are the engine's, not known here), no task
//! directories, and the counters of `stat` the kernel has no figures for (CPU times,
//! faults, memory) are 0. A process's state is `R` for the caller, `S` for the others
//! (the kernel does not track which are blocked), `Z` for zombies.

use std::sync::{Arc, Weak};

use super::Vfs;
use super::inode::{Dirent, Inode, Layer, Meta};
use super::path::Loc;
use crate::kernel::errno::{Errno, KResult};
use crate::kernel::fdtable::Fd;
use crate::kernel::file::{FileDescription, Target};
use crate::kernel::flags::OFlags;
use crate::kernel::pipe;
use crate::kernel::process::{Pid, ProcState, Process, ProcessTable};
use crate::kernel::stat::{FileType, Stat};

/// `st_dev` of `/proc`'s files: an anonymous device of its own, as procfs has on Linux.
pub const PROC_DEV: u64 = 43;

/// `st_blksize` of `/proc`'s files (what Linux reports).
const PROC_BLKSIZE: u64 = 1024;

/// Where `/proc` is mounted.
const MOUNT_PATH: &[u8] = b"/proc";

/// Directory positions of `.` and `..`; entries are numbered from 2.
const FIRST_POS: u64 = 2;

/// The `/proc` of one container.
pub(crate) struct ProcFs {
    layer: Arc<Layer>,
    /// Weak: a process can hold a file of `/proc` (an fd, its cwd), and the table holds
    /// the process.
    processes: Weak<ProcessTable>,
    /// The container's root: what `root` links lead to, and `..` of `/proc`.
    root: Arc<Inode>,
}

/// A file of a process's directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PidFile {
    Cmdline,
    Comm,
    Environ,
    Stat,
    Status,
}

/// A link of a process's directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PidLink {
    Cwd,
    Exe,
    Root,
}

/// What a file of `/proc` is.
#[derive(Clone)]
pub(crate) enum Node {
    Root,
    SelfLink,
    Pid(Pid),
    File(Pid, PidFile),
    Link(Pid, PidLink),
    Fds(Pid),
    Fd(Pid, Fd),
    /// An open file with no inode of the filesystem (a pipe end, a host stream), reached
    /// by following its `fd/<n>` link.
    Open(Arc<FileDescription>),
}

/// An entry of a process's directory.
#[derive(Clone, Copy)]
enum PidEntry {
    File(PidFile),
    Link(PidLink),
    Fds,
}

/// A process's directory, in listing order.
const PID_ENTRIES: &[(&[u8], PidEntry)] = &[
    (b"cmdline", PidEntry::File(PidFile::Cmdline)),
    (b"comm", PidEntry::File(PidFile::Comm)),
    (b"cwd", PidEntry::Link(PidLink::Cwd)),
    (b"environ", PidEntry::File(PidFile::Environ)),
    (b"exe", PidEntry::Link(PidLink::Exe)),
    (b"fd", PidEntry::Fds),
    (b"root", PidEntry::Link(PidLink::Root)),
    (b"stat", PidEntry::File(PidFile::Stat)),
    (b"status", PidEntry::File(PidFile::Status)),
];

impl PidEntry {
    fn node(self, pid: Pid) -> Node {
        match self {
            PidEntry::File(f) => Node::File(pid, f),
            PidEntry::Link(l) => Node::Link(pid, l),
            PidEntry::Fds => Node::Fds(pid),
        }
    }
}

/// What following a link of `/proc` leads to.
pub(crate) enum Link {
    /// A path, resolved from the link's directory (`self`, `exe`).
    Path(Vec<u8>),
    /// This file itself, named where `Loc` says (magic links).
    Jump(Arc<Inode>, Option<Loc>),
}

/// The body of an inode of `/proc`.
pub(crate) struct ProcInode {
    fs: Arc<ProcFs>,
    node: Node,
    /// An opened file's contents (see [`ProcInode::open`]).
    contents: Option<Arc<[u8]>>,
}

impl Node {
    /// The inode number: fixed per node, so that a file keeps its number across
    /// lookups. A process's files are numbered from its pid.
    fn ino(&self) -> u64 {
        let of_pid = |pid: Pid, kind: u64, n: u64| ((pid as u64) << 28) | (kind << 20) | n;
        match self {
            Node::Root => 1,
            Node::SelfLink => 2,
            Node::Pid(p) => of_pid(*p, 1, 0),
            Node::File(p, f) => of_pid(*p, 2, *f as u64),
            Node::Link(p, l) => of_pid(*p, 3, *l as u64),
            Node::Fds(p) => of_pid(*p, 4, 0),
            // fds are below MAX_FD_LIMIT (1 << 20).
            Node::Fd(p, fd) => of_pid(*p, 5, (*fd as u64) & 0xf_ffff),
            Node::Open(d) => d.fstat().ino,
        }
    }

    fn file_type(&self) -> FileType {
        match self {
            Node::Root | Node::Pid(_) | Node::Fds(_) => FileType::Directory,
            Node::SelfLink | Node::Link(..) | Node::Fd(..) => FileType::Symlink,
            Node::File(..) => FileType::Regular,
            Node::Open(d) => d.file_type(),
        }
    }
}

impl ProcFs {
    pub(crate) fn new(
        layer: Arc<Layer>,
        processes: Weak<ProcessTable>,
        root: Arc<Inode>,
    ) -> Arc<ProcFs> {
        Arc::new(ProcFs {
            layer,
            processes,
            root,
        })
    }

    /// `/proc` itself.
    pub(crate) fn root_inode(self: &Arc<Self>) -> Arc<Inode> {
        self.inode(Node::Root)
    }

    fn inode(self: &Arc<Self>, node: Node) -> Arc<Inode> {
        self.inode_with(node, None)
    }

    fn inode_with(self: &Arc<Self>, node: Node, contents: Option<Arc<[u8]>>) -> Arc<Inode> {
        let mode = self.mode(&node);
        let ino = node.ino();
        let body = ProcInode {
            fs: Arc::clone(self),
            node,
            contents,
        };
        self.layer.new_proc(ino, body, mode)
    }

    /// Permission bits (Linux's, less the write bits of files nothing can write).
    fn mode(&self, node: &Node) -> u32 {
        match node {
            Node::Root | Node::Pid(_) => 0o555,
            Node::Fds(_) => 0o500,
            Node::SelfLink | Node::Link(..) => 0o777,
            Node::File(_, PidFile::Environ) => 0o400,
            Node::File(..) => 0o444,
            Node::Fd(pid, fd) => {
                let Ok(file) = self.file(*pid, *fd) else {
                    return 0;
                };
                let flags = file.status_flags();
                if flags.contains(OFlags::PATH) {
                    return 0;
                }
                let r = if flags.readable() { 0o500 } else { 0 };
                let w = if flags.writable() { 0o300 } else { 0 };
                r | w
            }
            Node::Open(d) => d.fstat().mode & 0o7777,
        }
    }

    fn table(&self) -> KResult<Arc<ProcessTable>> {
        self.processes.upgrade().ok_or(Errno::ENOENT)
    }

    /// Process `pid`, running or zombie (`ENOENT` if there is none).
    fn process(&self, pid: Pid) -> KResult<Arc<Process>> {
        self.table()?.get(pid).ok_or(Errno::ENOENT)
    }

    /// Process `pid` if it runs (a zombie has no files, cwd or program any more).
    fn running(&self, pid: Pid) -> KResult<Arc<Process>> {
        let table = self.table()?;
        match table.state(pid) {
            Some(ProcState::Running) => table.get(pid).ok_or(Errno::ENOENT),
            _ => Err(Errno::ENOENT),
        }
    }

    /// Fd `fd` of process `pid` (`ENOENT` if it is not open).
    fn file(&self, pid: Pid, fd: Fd) -> KResult<Arc<FileDescription>> {
        self.running(pid)?.file(fd).map_err(|_| Errno::ENOENT)
    }
}

/// A decimal number as `/proc` names it: digits only, no leading zero.
fn parse_number(name: &[u8]) -> Option<i32> {
    if name.is_empty()
        || !name.iter().all(u8::is_ascii_digit)
        || (name.len() > 1 && name[0] == b'0')
    {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

impl ProcInode {
    pub(crate) fn is_dir(&self) -> bool {
        self.node.file_type() == FileType::Directory && !matches!(self.node, Node::Open(_))
    }

    pub(crate) fn is_link(&self) -> bool {
        matches!(self.node, Node::SelfLink | Node::Link(..) | Node::Fd(..))
    }

    pub(crate) fn is_magic_link(&self) -> bool {
        matches!(
            self.node,
            Node::Link(_, PidLink::Cwd | PidLink::Root) | Node::Fd(..)
        )
    }

    pub(crate) fn file_type(&self) -> FileType {
        self.node.file_type()
    }

    pub(crate) fn nlink(&self) -> u64 {
        match &self.node {
            // `.`, `..` of each process directory, and each process's `fd`.
            Node::Root => 2 + self.fs.table().map_or(0, |t| t.pids().len() as u64),
            Node::Pid(_) => 3,
            Node::Fds(_) => 2,
            Node::Open(d) => d.fstat().nlink,
            _ => 1,
        }
    }

    pub(crate) fn size(&self) -> u64 {
        match &self.node {
            Node::Open(d) => d.fstat().size,
            // Linux reports 0 for procfs files: their contents are made when read.
            _ => 0,
        }
    }

    pub(crate) fn stat(&self, ino: u64, meta: &Meta) -> Stat {
        if let Node::Open(d) = &self.node {
            return d.fstat();
        }
        Stat {
            dev: PROC_DEV,
            ino,
            mode: self.file_type().mode_bits() | meta.mode,
            nlink: self.nlink(),
            uid: 0,
            gid: 0,
            rdev: 0,
            size: 0,
            blksize: PROC_BLKSIZE,
            blocks: 0,
            atime: meta.atime,
            mtime: meta.mtime,
            ctime: meta.ctime,
        }
    }

    /// The file `name` names in this directory; `self` is `caller`'s (none in the host's
    /// view). `ENOTDIR` if this is no directory.
    pub(crate) fn lookup(&self, name: &[u8], caller: Option<Pid>) -> KResult<Arc<Inode>> {
        let fs = &self.fs;
        let node = match &self.node {
            Node::Root if name == b"self" => {
                caller.ok_or(Errno::ENOENT)?;
                Node::SelfLink
            }
            Node::Root => {
                let pid = parse_number(name).ok_or(Errno::ENOENT)?;
                fs.process(pid)?;
                Node::Pid(pid)
            }
            Node::Pid(pid) => {
                fs.process(*pid)?;
                let (_, entry) = PID_ENTRIES
                    .iter()
                    .find(|(n, _)| *n == name)
                    .ok_or(Errno::ENOENT)?;
                entry.node(*pid)
            }
            Node::Fds(pid) => {
                let fd = parse_number(name).ok_or(Errno::ENOENT)?;
                fs.file(*pid, fd)?;
                Node::Fd(*pid, fd)
            }
            _ => return Err(Errno::ENOTDIR),
        };
        Ok(fs.inode(node))
    }

    /// Up to `max` entries of this directory from position `from` (`.` and `..` first;
    /// then `self` and the processes by pid, a process's files, or its fds by number).
    pub(crate) fn read_dir(&self, ino: u64, from: u64, max: usize) -> KResult<Vec<Dirent>> {
        let parent_ino = match &self.node {
            Node::Root => self.fs.root.ino(),
            Node::Pid(_) => Node::Root.ino(),
            Node::Fds(pid) => Node::Pid(*pid).ino(),
            _ => return Err(Errno::ENOTDIR),
        };
        // (position, name, node) from `from` on.
        let entries: Vec<(u64, Vec<u8>, Node)> = match &self.node {
            Node::Root => {
                let mut v = vec![(FIRST_POS, b"self".to_vec(), Node::SelfLink)];
                // A process's position is FIRST_POS + 1 + pid.
                let pids = self.fs.table()?.pids();
                v.extend(pids.into_iter().map(|p| {
                    (
                        FIRST_POS + 1 + p as u64,
                        p.to_string().into_bytes(),
                        Node::Pid(p),
                    )
                }));
                v
            }
            Node::Pid(pid) => {
                self.fs.process(*pid)?;
                PID_ENTRIES
                    .iter()
                    .enumerate()
                    .map(|(i, (name, e))| (FIRST_POS + i as u64, name.to_vec(), e.node(*pid)))
                    .collect()
            }
            Node::Fds(pid) => {
                let fds: Vec<Fd> = match self.fs.running(*pid) {
                    Ok(p) => p.fds().iter().map(|(fd, _, _)| fd).collect(),
                    Err(_) => Vec::new(),
                };
                fds.into_iter()
                    .map(|fd| {
                        (
                            FIRST_POS + fd as u64,
                            fd.to_string().into_bytes(),
                            Node::Fd(*pid, fd),
                        )
                    })
                    .collect()
            }
            _ => return Err(Errno::ENOTDIR),
        };
        let mut out = Vec::new();
        let dots = [(0, b".".to_vec(), ino), (1, b"..".to_vec(), parent_ino)];
        for (pos, name, ino) in dots {
            if from <= pos && out.len() < max {
                out.push(Dirent {
                    ino,
                    file_type: FileType::Directory,
                    name,
                    next: pos + 1,
                });
            }
        }
        for (pos, name, node) in entries {
            if pos < from.max(FIRST_POS) {
                continue;
            }
            if out.len() >= max {
                break;
            }
            out.push(Dirent {
                ino: node.ino(),
                file_type: node.file_type(),
                name,
                next: pos + 1,
            });
        }
        Ok(out)
    }

    /// `..` of this directory.
    pub(crate) fn parent(&self) -> KResult<Arc<Inode>> {
        match &self.node {
            Node::Root => Ok(Arc::clone(&self.fs.root)),
            Node::Pid(_) => Ok(self.fs.root_inode()),
            Node::Fds(pid) => Ok(self.fs.inode(Node::Pid(*pid))),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// The absolute path of this directory (getcwd in `/proc`).
    pub(crate) fn dir_path(&self) -> KResult<Vec<u8>> {
        match &self.node {
            Node::Root | Node::Pid(_) | Node::Fds(_) => Ok(self.path()),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// The absolute path of this file of `/proc`.
    fn path(&self) -> Vec<u8> {
        let mut p = MOUNT_PATH.to_vec();
        let pid_path = |p: &mut Vec<u8>, pid: Pid| {
            p.push(b'/');
            p.extend_from_slice(pid.to_string().as_bytes());
        };
        match &self.node {
            Node::Root | Node::Open(_) => {}
            Node::SelfLink => p.extend_from_slice(b"/self"),
            Node::Pid(pid) => pid_path(&mut p, *pid),
            Node::File(pid, _) | Node::Link(pid, _) => {
                pid_path(&mut p, *pid);
                let name = PID_ENTRIES
                    .iter()
                    .find(|(_, e)| match (e, &self.node) {
                        (PidEntry::File(a), Node::File(_, b)) => a == b,
                        (PidEntry::Link(a), Node::Link(_, b)) => a == b,
                        _ => false,
                    })
                    .map_or(&b""[..], |(n, _)| n);
                p.push(b'/');
                p.extend_from_slice(name);
            }
            Node::Fds(pid) => {
                pid_path(&mut p, *pid);
                p.extend_from_slice(b"/fd");
            }
            Node::Fd(pid, fd) => {
                pid_path(&mut p, *pid);
                p.extend_from_slice(format!("/fd/{fd}").as_bytes());
            }
        }
        p
    }

    /// Where this link leads (`EINVAL` if it is none; `ENOENT` if what it named is gone).
    pub(crate) fn follow(&self, caller: Option<Pid>) -> KResult<Link> {
        let fs = &self.fs;
        match &self.node {
            Node::SelfLink => {
                let pid = caller.ok_or(Errno::ENOENT)?;
                Ok(Link::Path(pid.to_string().into_bytes()))
            }
            Node::Link(pid, PidLink::Exe) => {
                Ok(Link::Path(fs.running(*pid)?.exe().ok_or(Errno::ENOENT)?))
            }
            Node::Link(pid, PidLink::Cwd) => Ok(Link::Jump(fs.running(*pid)?.cwd(), None)),
            Node::Link(pid, PidLink::Root) => {
                fs.running(*pid)?;
                Ok(Link::Jump(Arc::clone(&fs.root), None))
            }
            Node::Fd(pid, fd) => {
                let file = fs.file(*pid, *fd)?;
                Ok(match file.target() {
                    Target::Regular(i)
                    | Target::Directory(i)
                    | Target::Device(i)
                    | Target::Path(i) => Link::Jump(Arc::clone(i), file.loc().cloned()),
                    Target::Fifo(f) => Link::Jump(Arc::clone(f.inode()), file.loc().cloned()),
                    Target::PipeRead(_) | Target::PipeWrite(_) | Target::Host(_) => {
                        Link::Jump(fs.inode(Node::Open(file)), None)
                    }
                })
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// The text of this link (`EINVAL` if it is none).
    pub(crate) fn readlink(&self, vfs: &Vfs, caller: Option<Pid>) -> KResult<Vec<u8>> {
        match &self.node {
            Node::SelfLink | Node::Link(_, PidLink::Exe) => match self.follow(caller)? {
                Link::Path(p) => Ok(p),
                Link::Jump(..) => Err(Errno::EINVAL),
            },
            Node::Link(pid, PidLink::Cwd) => vfs.getcwd(&self.fs.running(*pid)?.cwd()),
            Node::Link(pid, PidLink::Root) => {
                self.fs.running(*pid)?;
                Ok(b"/".to_vec())
            }
            Node::Fd(pid, fd) => describe(vfs, &*self.fs.file(*pid, *fd)?),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Opens this file of `/proc` (`inode` is this one's inode): a directory for
    /// listing; a file read-only, with its contents made now; an open file reached
    /// through its fd link, again (see the module docs).
    pub(crate) fn open(
        &self,
        inode: &Arc<Inode>,
        flags: OFlags,
        caller: Option<Pid>,
    ) -> KResult<Arc<FileDescription>> {
        let target = match &self.node {
            _ if self.is_link() => return Err(Errno::ELOOP),
            _ if self.is_dir() => {
                if flags.writable() || flags.contains(OFlags::TRUNC) {
                    return Err(Errno::EISDIR);
                }
                Target::Directory(Arc::clone(inode))
            }
            Node::File(pid, file) => {
                if flags.writable() || flags.contains(OFlags::TRUNC) {
                    return Err(Errno::EACCES);
                }
                let contents = self.generate(*pid, *file, caller)?;
                let opened = self.fs.inode_with(self.node.clone(), Some(contents.into()));
                Target::Regular(opened)
            }
            Node::Open(d) => match d.target() {
                Target::Host(s) => Target::Host(Arc::clone(s)),
                t => pipe::reopen(t, flags).ok_or(Errno::ENXIO)?,
            },
            _ => return Err(Errno::ENXIO),
        };
        Ok(FileDescription::new(target, flags))
    }

    /// An opened file's contents.
    pub(crate) fn contents(&self) -> KResult<&[u8]> {
        match &self.contents {
            Some(c) => Ok(c),
            None if self.is_dir() => Err(Errno::EISDIR),
            None => Err(Errno::EINVAL),
        }
    }

    /// The contents of `file` of process `pid`, now.
    fn generate(&self, pid: Pid, file: PidFile, caller: Option<Pid>) -> KResult<Vec<u8>> {
        let table = self.fs.table()?;
        let p = table.get(pid).ok_or(Errno::ENOENT)?;
        let zombie = match table.state(pid) {
            Some(ProcState::Zombie(status)) => Some(status),
            _ => None,
        };
        let comm = p.comm();
        let (state, state_name) = match zombie {
            Some(_) => ("Z", "zombie"),
            None if caller == Some(pid) => ("R", "running"),
            None => ("S", "sleeping"),
        };
        let mut out = Vec::new();
        match file {
            PidFile::Cmdline if zombie.is_none() => {
                for arg in p.argv() {
                    out.extend_from_slice(&arg);
                    out.push(0);
                }
            }
            PidFile::Environ if zombie.is_none() => {
                for (k, v) in p.env() {
                    out.extend_from_slice(&k);
                    out.push(b'=');
                    out.extend_from_slice(&v);
                    out.push(0);
                }
            }
            PidFile::Cmdline | PidFile::Environ => {}
            PidFile::Comm => {
                out.extend_from_slice(&comm);
                out.push(b'\n');
            }
            PidFile::Stat => {
                out.extend_from_slice(format!("{pid} (").as_bytes());
                out.extend_from_slice(&comm);
                let exit_code = zombie.map_or(0, |s| s.wait_status());
                // Fields 3 to 52 of proc_pid_stat(5): state, ppid, pgrp, session,
                // tty_nr 0 (no terminal), tpgid -1, flags, fault counts, CPU times,
                // priority 20, nice 0, 1 thread, itrealvalue, starttime, vsize, rss,
                // rsslim unlimited, the addresses and signal words, exit_signal SIGCHLD
                // (17), processor, rt_priority, policy, I/O delay, guest times, the
                // data/brk/arg/env addresses, exit_code.
                let fields = format!(
                    ") {state} {ppid} {pgrp} {sid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 0 0 0 \
                     18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 \
                     {exit_code}\n",
                    ppid = p.ppid(),
                    pgrp = p.pgid(),
                    sid = p.sid(),
                );
                out.extend_from_slice(fields.as_bytes());
            }
            PidFile::Status => {
                out.extend_from_slice(b"Name:\t");
                out.extend_from_slice(&comm);
                let fds = if zombie.is_none() { p.fds().limit() } else { 0 };
                let rest = format!(
                    "\nUmask:\t{umask:04o}\nState:\t{state} ({state_name})\nTgid:\t{pid}\n\
                     Ngid:\t0\nPid:\t{pid}\nPPid:\t{ppid}\nTracerPid:\t0\n\
                     Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t{fds}\nGroups:\t\n\
                     NStgid:\t{pid}\nNSpid:\t{pid}\nNSpgid:\t{pgrp}\nNSsid:\t{sid}\n\
                     Threads:\t1\n",
                    umask = p.umask(),
                    ppid = p.ppid(),
                    pgrp = p.pgid(),
                    sid = p.sid(),
                );
                out.extend_from_slice(rest.as_bytes());
            }
        }
        Ok(out)
    }
}

/// What `/proc/<pid>/fd/<n>` reads as for the open description `file`: the file's path
/// (` (deleted)` once it has no name), `pipe:[<ino>]` for a pipe or a host stream (which
/// `fstat` shows as a fifo).
pub(crate) fn describe(vfs: &Vfs, file: &FileDescription) -> KResult<Vec<u8>> {
    let inode = match file.target() {
        Target::Regular(i) | Target::Directory(i) | Target::Device(i) | Target::Path(i) => i,
        // A fifo by its path, as Linux shows it.
        Target::Fifo(f) => f.inode(),
        Target::PipeRead(_) | Target::PipeWrite(_) | Target::Host(_) => {
            return Ok(format!("pipe:[{}]", file.fstat().ino).into_bytes());
        }
    };
    if let Some(p) = inode.proc() {
        return Ok(match &p.node {
            Node::Open(d) => describe(vfs, d)?,
            _ => p.path(),
        });
    }
    if inode.is_dir() {
        return vfs.getcwd(inode);
    }
    let loc = file.loc().ok_or(Errno::ENOENT)?;
    let mut path = vfs.getcwd(&loc.dir)?;
    if path != b"/" {
        path.push(b'/');
    }
    path.extend_from_slice(&loc.name);
    if inode.nlink() == 0 {
        path.extend_from_slice(b" (deleted)");
    }
    Ok(path)
}

#[cfg(test)]
mod tests;
