//! The virtual filesystem of one container: the image's files (read-only, shared) overlaid
//! by the container's own writable layer, with Linux's path and directory semantics.
//!
//! [`Vfs`] owns the namespace calls (`openat`, `mkdirat`, `unlinkat`, `renameat2`,
//! `linkat`, `symlinkat`, `readlinkat`, `fstatat`, `utimensat`, `fchmodat`, `fchownat`,
//! `truncate`) and getcwd. I/O through an open description is [`super::FileDescription`]'s;
//! the lower layer is [`Image`]; inodes and the writable layer's accounting are
//! [`inode`]'s; path walking is [`path`]'s.
//!
//! Copy-on-write is per inode and lazy: creating a `Vfs` makes one inode (the root); a
//! directory's children become inodes when a lookup or a listing first reaches it; a file
//! keeps the image's bytes (`Arc<[u8]>`) until its first write. Dropping the `Vfs` (and the
//! descriptions that still hold inodes) drops the layer.
//!
//! Credentials are root's: no permission is checked (see [`super::stat::is_executable`]
//! for the one exception, exec).
//!
//! `/proc` is mounted over the image's `/proc` directory when the kernel has processes
//! ([`Vfs::mount_proc`]; see [`procfs`]). What `/proc/self` is depends on who asks, so
//! the namespace calls are a [`View`]'s: [`Vfs::view`] is a process's, and the calls on
//! [`Vfs`] itself are the host's view, where `/proc/self` does not exist.
//!
//! # Lock order
//!
//! Take locks in this order; never take an earlier one while holding a later one.
//!
//! 1. `Vfs::rename_lock`: renames only. While it is held, which directory is inside which
//!    cannot change, so a rename can check that it does not move a directory into itself.
//! 2. A [`FileDescription`]'s offset lock.
//! 3. Directory states (`DirState`). A thread holds at most one, with two exceptions:
//!    `rmdir` (and rename over a directory) holds the parent, then the child; a rename,
//!    under `rename_lock`, holds the two parents (ascending inode number), then the moved
//!    directory and the replaced one. Walking up the tree (getcwd, the rename checks)
//!    takes one at a time.
//! 4. A regular file's data.
//! 5. An inode's metadata.
//! 6. Leaves, never held while taking another lock: the layer's hard-link map, an
//!    [`super::Interrupt`]'s waker list, a wait cell's watcher list ([`super::Watch`]),
//!    pipe, host-stream and process-table states (their waits register with an interrupt
//!    before locking, and wakers run after these locks are released).

pub(crate) mod device;
pub mod image;
pub mod inode;
pub mod path;
pub mod procfs;

use std::ops::Deref;
use std::sync::{Arc, Mutex, Weak};

pub use image::Image;
pub use inode::{Dirent, FileContents, Inode};
pub use path::{MAX_SYMLINK_HOPS, NAME_MAX, PATH_MAX};

use self::inode::{Body, ENTRY_COST, Layer, MAX_LINKS};
use self::path::{Last, Loc, Parent, check_path};
use self::procfs::ProcFs;
use super::clock::Clock;
use super::errno::{Errno, KResult};
use super::file::{FileDescription, Target};
use super::flags::{
    AT_EMPTY_PATH, AT_NO_AUTOMOUNT, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW, OFlags,
    RENAME_NOREPLACE, SetTime,
};
use super::interrupt::lock;
use super::pipe::FifoOpen;
use super::process::{Pid, ProcessTable};
use super::stat::{
    PERM_MASK, S_IFBLK, S_IFCHR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK, Stat, is_executable,
};

/// The root's entry `/proc` is mounted on.
const MOUNT_POINT: &[u8] = b"proc";

/// What a new directory entry named `name` costs the writable layer.
fn entry_charge(name: &[u8]) -> u64 {
    ENTRY_COST + name.len() as u64
}

/// One container's filesystem.
pub struct Vfs {
    layer: Arc<Layer>,
    root: Arc<Inode>,
    /// See the lock order in the module docs.
    rename_lock: Mutex<()>,
    /// `/proc`, once mounted on the root's `proc` directory (the mount point).
    proc: Option<Arc<ProcFs>>,
}

/// The filesystem as one caller sees it: `/proc/self` is the calling process. The
/// namespace calls (lookups, `openat`, `mkdirat`, ...) are a view's; [`Vfs`]'s own are
/// the host's view ([`Vfs::host_view`]), which has no `/proc/self`.
#[derive(Clone, Copy)]
pub struct View<'a> {
    vfs: &'a Vfs,
    caller: Option<Pid>,
}

impl Deref for View<'_> {
    type Target = Vfs;

    fn deref(&self) -> &Vfs {
        self.vfs
    }
}

impl std::fmt::Debug for Vfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vfs")
            .field("writable_bytes", &self.writable_bytes())
            .field("materialized_inodes", &self.materialized_inodes())
            .finish()
    }
}

impl Drop for Vfs {
    fn drop(&mut self) {
        self.layer.clear_hard_links();
    }
}

impl Vfs {
    /// A fresh view of `image` whose writable layer may grow to `max_writable_bytes`.
    pub fn new(image: Arc<Image>, clock: Arc<dyn Clock>, max_writable_bytes: u64) -> Vfs {
        let layer = Arc::new(Layer::new(image, clock, max_writable_bytes));
        let root = layer.root();
        Vfs {
            layer,
            root,
            rename_lock: Mutex::new(()),
            proc: None,
        }
    }

    /// Mounts `/proc` on the image's `/proc` directory (an image has one unless its
    /// `/proc` is something else; see [`Image`]), showing `processes`. Nothing is
    /// materialized: lookups of `proc` in the root find `/proc` from then on.
    pub fn mount_proc(&mut self, processes: Weak<ProcessTable>) {
        if !self.layer.image.root_has_dir(MOUNT_POINT) {
            return;
        }
        let fs = ProcFs::new(Arc::clone(&self.layer), processes, Arc::clone(&self.root));
        self.proc = Some(fs);
    }

    /// The filesystem as process `caller` sees it.
    pub fn view(&self, caller: Pid) -> View<'_> {
        View {
            vfs: self,
            caller: Some(caller),
        }
    }

    /// The filesystem as the host sees it: no `/proc/self`.
    pub fn host_view(&self) -> View<'_> {
        View {
            vfs: self,
            caller: None,
        }
    }

    /// What the entry `name` of `dir` (the inode `inode`) shows: `/proc` for the mount
    /// point, else `inode`.
    pub(crate) fn covered(&self, dir: &Arc<Inode>, name: &[u8], inode: Arc<Inode>) -> Arc<Inode> {
        match &self.proc {
            Some(fs) if self.is_mount_point(dir, name, &inode) => fs.root_inode(),
            _ => inode,
        }
    }

    /// Whether the entry `name` of `dir` (the inode `inode`) has something mounted on it:
    /// it cannot be removed or renamed (`EBUSY`). The mount point stays the root's
    /// `proc` directory, since it cannot be.
    fn is_mount_point(&self, dir: &Arc<Inode>, name: &[u8], inode: &Arc<Inode>) -> bool {
        self.proc.is_some() && name == MOUNT_POINT && inode.is_dir() && Arc::ptr_eq(dir, &self.root)
    }

    /// The root directory.
    pub fn root(&self) -> &Arc<Inode> {
        &self.root
    }

    /// The image this view overlays.
    pub fn image(&self) -> &Arc<Image> {
        &self.layer.image
    }

    /// Bytes the writable layer holds (charged against its limit).
    pub fn writable_bytes(&self) -> u64 {
        self.layer.used()
    }

    /// Inodes made so far in this view (from the image or new).
    pub fn materialized_inodes(&self) -> u64 {
        self.layer.materialized()
    }
}

impl View<'_> {
    /// Resolves `path` from `dir` (see [`path`] for the rules), following a symlink in the
    /// last component if `follow`.
    pub fn lookup(&self, dir: &Arc<Inode>, path: &[u8], follow: bool) -> KResult<Arc<Inode>> {
        self.walk(dir, path, follow, &mut 0)
    }

    /// The inode `path` names, or `dir` itself for an empty path with `AT_EMPTY_PATH`.
    fn lookup_at(&self, dir: &Arc<Inode>, path: &[u8], flags: u32) -> KResult<Arc<Inode>> {
        if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
            return Ok(Arc::clone(dir));
        }
        self.lookup(dir, path, flags & AT_SYMLINK_NOFOLLOW == 0)
    }

    /// Openat implements Linux syscall openat(2). `mode` (for `O_CREAT`) is used as given:
    /// the caller applies its umask. `O_TMPFILE` is not supported (`EOPNOTSUPP`);
    /// `O_CLOEXEC` is for the caller's fd table. A fifo opens without waiting for the
    /// other side: a blocking open's wait is the caller's ([`FileDescription::wait_fifo_peer`]).
    pub fn openat(
        &self,
        dir: &Arc<Inode>,
        path: &[u8],
        flags: OFlags,
        mode: u32,
    ) -> KResult<Arc<FileDescription>> {
        if flags.contains(OFlags::TMPFILE) {
            return Err(Errno::EOPNOTSUPP);
        }
        let follow = !flags.contains(OFlags::NOFOLLOW);
        if flags.contains(OFlags::PATH) {
            // O_PATH ignores every flag but O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC.
            let (inode, loc) = self.walk_loc(dir, path, follow, &mut 0)?;
            if flags.contains(OFlags::DIRECTORY) && !inode.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            let loc = loc.filter(|_| !inode.is_dir());
            return Ok(FileDescription::at(Target::Path(inode), OFlags::PATH, loc));
        }
        let (inode, loc) = if flags.contains(OFlags::CREAT) {
            if flags.contains(OFlags::DIRECTORY) {
                // Linux 6.4 and later.
                return Err(Errno::EINVAL);
            }
            let (inode, loc) = self.open_create(dir, path, flags, mode)?;
            if inode.is_dir() {
                return Err(Errno::EISDIR);
            }
            (inode, loc)
        } else {
            self.walk_loc(dir, path, follow, &mut 0)?
        };
        if flags.contains(OFlags::DIRECTORY) && !inode.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let loc = loc.filter(|_| !inode.is_dir());
        let target = match &inode.body {
            Body::Proc(p) => return p.open(&inode, flags, self.caller),
            Body::Symlink(_) => return Err(Errno::ELOOP),
            // O_TRUNC asks for write access, as on Linux.
            Body::Dir(_) if flags.writable() || flags.contains(OFlags::TRUNC) => {
                return Err(Errno::EISDIR);
            }
            Body::Dir(_) => Target::Directory(inode),
            Body::Regular(_) => {
                // Linux truncates even with O_RDONLY.
                if flags.contains(OFlags::TRUNC) {
                    inode.set_size(0)?;
                }
                Target::Regular(inode)
            }
            Body::Device(d) => match d.driver() {
                Some(_) => Target::Device(inode),
                None => return Err(Errno::ENXIO),
            },
            Body::Fifo(fifo) => Target::Fifo(FifoOpen::open(
                Arc::clone(&inode),
                fifo,
                flags.readable(),
                flags.writable(),
                flags.contains(OFlags::NONBLOCK),
            )?),
        };
        Ok(FileDescription::at(target, flags, loc))
    }

    /// The `O_CREAT` lookup: the existing file (following symlinks in the last component
    /// unless `O_NOFOLLOW`, even dangling ones, whose target is created), or a new regular
    /// file, with where it is named. `O_EXCL` fails on any existing name, a symlink
    /// included. Nothing can be created in `/proc` (`EACCES`, as Linux answers for a
    /// directory without a create operation), but its files open.
    fn open_create(
        &self,
        dir: &Arc<Inode>,
        path: &[u8],
        flags: OFlags,
        mode: u32,
    ) -> KResult<(Arc<Inode>, Option<Loc>)> {
        let mut hops = 0;
        let mut p = self.walk_parent(dir, path, &mut hops)?;
        loop {
            let Last::Name(name) = &p.last else {
                return Err(Errno::EISDIR);
            };
            if p.trailing_slash {
                return Err(Errno::EISDIR);
            }
            let here = || Loc {
                dir: Arc::clone(&p.dir),
                name: name.as_slice().into(),
            };
            if p.dir.is_proc() {
                let existing = match self.child(&p.dir, name) {
                    Err(Errno::ENOENT) => return Err(Errno::EACCES),
                    found => found?,
                };
                if flags.contains(OFlags::EXCL) {
                    return Err(Errno::EEXIST);
                }
                if flags.contains(OFlags::NOFOLLOW) || !existing.is_symlink() {
                    return Ok((existing, Some(here())));
                }
                return self.follow_loc(&p.dir, existing, &mut hops);
            }
            let existing = {
                let mut st = p.dir.dir()?;
                match st.get(name) {
                    Some(e) => self.covered(&p.dir, name, Arc::clone(&e.inode)),
                    None => {
                        if st.removed {
                            return Err(Errno::ENOENT);
                        }
                        let charge = entry_charge(name);
                        p.dir.charge(charge)?;
                        let inode = self.layer.new_file(mode);
                        st.insert(name, Arc::clone(&inode), charge);
                        drop(st);
                        p.dir.touch_modified();
                        return Ok((inode, Some(here())));
                    }
                }
            };
            if flags.contains(OFlags::EXCL) {
                return Err(Errno::EEXIST);
            }
            let Some(target) = existing
                .symlink_target()
                .filter(|_| !flags.contains(OFlags::NOFOLLOW))
            else {
                return Ok((existing, Some(here())));
            };
            hops += 1;
            if hops > MAX_SYMLINK_HOPS {
                return Err(Errno::ELOOP);
            }
            p = self.walk_parent(&p.dir, target, &mut hops)?;
        }
    }

    /// Mkdirat implements Linux syscall mkdirat(2). `mode` is used as given (the caller
    /// applies its umask).
    pub fn mkdirat(&self, dir: &Arc<Inode>, path: &[u8], mode: u32) -> KResult<()> {
        // `mkdir dir/` names a directory: the trailing slash is fine.
        self.new_entry(dir, path, true, |parent, name| {
            Ok(self.layer.new_dir(mode, parent, name))
        })
    }

    /// Adds an entry for `path`'s last component: `EEXIST` if the name exists (or is
    /// `.`, `..` or the root), `ENOENT` in a removed directory or, unless `slash_ok`, for a
    /// trailing slash; then the directory is charged for the entry and `make(parent,
    /// name)` gives the inode (its failure undoes the charge).
    fn new_entry(
        &self,
        dir: &Arc<Inode>,
        path: &[u8],
        slash_ok: bool,
        make: impl FnOnce(&Arc<Inode>, &[u8]) -> KResult<Arc<Inode>>,
    ) -> KResult<()> {
        let p = self.walk_parent(dir, path, &mut 0)?;
        let Last::Name(name) = &p.last else {
            return Err(Errno::EEXIST);
        };
        let mut st = p.dir.dir()?;
        if st.get(name).is_some() {
            return Err(Errno::EEXIST);
        }
        if (p.trailing_slash && !slash_ok) || st.removed {
            return Err(Errno::ENOENT);
        }
        let charge = entry_charge(name);
        p.dir.charge(charge)?;
        let inode = match make(&p.dir, name) {
            Ok(inode) => inode,
            Err(e) => {
                p.dir.uncharge(charge);
                return Err(e);
            }
        };
        st.insert(name, inode, charge);
        drop(st);
        p.dir.touch_modified();
        Ok(())
    }

    /// Mknodat implements Linux syscall mknodat(2) for what a container may make: a fifo
    /// (`S_IFIFO`) or an empty regular file (`S_IFREG`, or no type). Device nodes and
    /// sockets are `EPERM` (a container's devices are its image's). `mode`'s permission
    /// bits are used as given (the caller applies its umask).
    pub fn mknodat(&self, dir: &Arc<Inode>, path: &[u8], mode: u32) -> KResult<()> {
        let fifo = match mode & S_IFMT {
            S_IFIFO => true,
            0 | S_IFREG => false,
            S_IFCHR | S_IFBLK | S_IFSOCK => return Err(Errno::EPERM),
            _ => return Err(Errno::EINVAL),
        };
        let perm = mode & PERM_MASK;
        self.new_entry(dir, path, false, |_, _| {
            Ok(if fifo {
                self.layer.new_fifo(perm)
            } else {
                self.layer.new_file(perm)
            })
        })
    }

    /// One link fewer to a non-directory: nlink and ctime.
    fn drop_link(&self, inode: &Inode) {
        let now = self.layer.now();
        let nlink = {
            let mut m = inode.meta();
            m.nlink = m.nlink.saturating_sub(1);
            m.ctime = now;
            m.nlink
        };
        if nlink == 0 && inode.is_shared_link() {
            self.layer.forget_hard_link(inode.ino());
        }
    }

    /// Unlinkat implements Linux syscall unlinkat(2): `unlink`, or `rmdir` with
    /// `AT_REMOVEDIR`. Open descriptions of an unlinked file keep it (and its data) until
    /// the last one is closed.
    pub fn unlinkat(&self, dir: &Arc<Inode>, path: &[u8], flags: u32) -> KResult<()> {
        if flags & !AT_REMOVEDIR != 0 {
            return Err(Errno::EINVAL);
        }
        let p = self.walk_parent(dir, path, &mut 0)?;
        if flags & AT_REMOVEDIR != 0 {
            return self.rmdir(p);
        }
        let Last::Name(name) = &p.last else {
            return Err(Errno::EISDIR);
        };
        let mut st = p.dir.dir()?;
        let inode = st.lookup(name)?;
        if inode.is_dir() {
            return Err(Errno::EISDIR);
        }
        if p.trailing_slash {
            return Err(Errno::ENOTDIR);
        }
        if let Some(entry) = st.remove(name) {
            p.dir.uncharge(entry.charge);
        }
        drop(st);
        self.drop_link(&inode);
        p.dir.touch_modified();
        Ok(())
    }

    fn rmdir(&self, p: Parent) -> KResult<()> {
        let name = match &p.last {
            Last::Name(name) => name,
            Last::Dot => return Err(Errno::EINVAL),
            Last::DotDot => return Err(Errno::ENOTEMPTY),
            Last::Root => return Err(Errno::EBUSY),
        };
        let mut st = p.dir.dir()?;
        let child = st.lookup(name)?;
        if !child.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if self.is_mount_point(&p.dir, name, &child) {
            return Err(Errno::EBUSY);
        }
        {
            let mut cst = child.dir()?;
            if !cst.is_empty() {
                return Err(Errno::ENOTEMPTY);
            }
            cst.removed = true;
        }
        if let Some(entry) = st.remove(name) {
            p.dir.uncharge(entry.charge);
        }
        drop(st);
        child.touch_changed();
        p.dir.touch_modified();
        Ok(())
    }

    /// Linkat implements Linux syscall linkat(2): `AT_SYMLINK_FOLLOW` follows a symlink
    /// named by `oldpath`; `AT_EMPTY_PATH` with an empty `oldpath` links `olddir` itself.
    pub fn linkat(
        &self,
        olddir: &Arc<Inode>,
        oldpath: &[u8],
        newdir: &Arc<Inode>,
        newpath: &[u8],
        flags: u32,
    ) -> KResult<()> {
        if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        let src = if oldpath.is_empty() && flags & AT_EMPTY_PATH != 0 {
            Arc::clone(olddir)
        } else {
            self.lookup(olddir, oldpath, flags & AT_SYMLINK_FOLLOW != 0)?
        };
        let p = self.walk_parent(newdir, newpath, &mut 0)?;
        if src.is_proc() != p.dir.is_proc() {
            // Across mounts.
            return Err(Errno::EXDEV);
        }
        let Last::Name(name) = &p.last else {
            return Err(Errno::EEXIST);
        };
        let mut st = p.dir.dir()?;
        if st.get(name).is_some() {
            return Err(Errno::EEXIST);
        }
        if p.trailing_slash || st.removed {
            return Err(Errno::ENOENT);
        }
        if src.is_dir() {
            return Err(Errno::EPERM);
        }
        let charge = entry_charge(name);
        {
            let mut m = src.meta();
            if m.nlink == 0 {
                return Err(Errno::ENOENT);
            }
            if m.nlink >= MAX_LINKS {
                return Err(Errno::EMLINK);
            }
            p.dir.charge(charge)?;
            m.nlink += 1;
            m.ctime = self.layer.now();
        }
        st.insert(name, src, charge);
        drop(st);
        p.dir.touch_modified();
        Ok(())
    }

    /// Symlinkat implements Linux syscall symlinkat(2). The target is stored as given,
    /// not resolved.
    pub fn symlinkat(&self, target: &[u8], dir: &Arc<Inode>, path: &[u8]) -> KResult<()> {
        check_path(target)?;
        self.new_entry(dir, path, false, |_, _| self.layer.new_symlink(target))
    }

    /// Readlinkat implements Linux syscall readlinkat(2): the whole target (the ABI layer
    /// truncates it to the caller's buffer). An empty path reads `dir` itself, which must
    /// be a symlink (opened with `O_PATH | O_NOFOLLOW`). A link of `/proc` reads as what
    /// it leads to now.
    pub fn readlinkat(&self, dir: &Arc<Inode>, path: &[u8]) -> KResult<Vec<u8>> {
        let inode = if path.is_empty() {
            if !dir.is_symlink() {
                return Err(Errno::ENOENT);
            }
            Arc::clone(dir)
        } else {
            self.lookup(dir, path, false)?
        };
        if let Some(p) = inode.proc() {
            return p.readlink(self.vfs, self.caller);
        }
        inode
            .symlink_target()
            .map(<[u8]>::to_vec)
            .ok_or(Errno::EINVAL)
    }

    /// Fstatat implements Linux syscall newfstatat(2) with `AT_SYMLINK_NOFOLLOW`,
    /// `AT_EMPTY_PATH` (`dir` itself; for an fd that is not a file of this filesystem, the
    /// ABI layer calls [`FileDescription::fstat`]) and `AT_NO_AUTOMOUNT` (ignored).
    pub fn fstatat(&self, dir: &Arc<Inode>, path: &[u8], flags: u32) -> KResult<Stat> {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT) != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(self.lookup_at(dir, path, flags)?.stat())
    }

    /// Utimensat implements Linux syscall utimensat(2) with a path: sets atime and mtime
    /// (`times`), and ctime to now unless both are [`SetTime::Omit`]. A NULL `times` is
    /// `[SetTime::Now; 2]`; a NULL path is [`FileDescription::futimens`].
    pub fn utimensat(
        &self,
        dir: &Arc<Inode>,
        path: &[u8],
        times: [SetTime; 2],
        flags: u32,
    ) -> KResult<()> {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        self.lookup_at(dir, path, flags)?
            .set_times(times[0], times[1])
    }

    /// Fchmodat implements Linux syscall fchmodat2(2) (`fchmodat` is `flags` 0). A symlink
    /// itself (`AT_SYMLINK_NOFOLLOW`) cannot be changed: `EOPNOTSUPP`, as on Linux.
    pub fn fchmodat(&self, dir: &Arc<Inode>, path: &[u8], mode: u32, flags: u32) -> KResult<()> {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        let inode = self.lookup_at(dir, path, flags)?;
        if inode.is_symlink() {
            return Err(Errno::EOPNOTSUPP);
        }
        inode.chmod(mode)
    }

    /// Fchownat implements Linux syscall fchownat(2); `None` leaves an id as it is (-1).
    pub fn fchownat(
        &self,
        dir: &Arc<Inode>,
        path: &[u8],
        uid: Option<u32>,
        gid: Option<u32>,
        flags: u32,
    ) -> KResult<()> {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        self.lookup_at(dir, path, flags)?.chown(uid, gid)
    }

    /// Truncate implements Linux syscall truncate(2): shrinks or grows (with zeros) the
    /// regular file `path` names.
    pub fn truncate(&self, dir: &Arc<Inode>, path: &[u8], len: i64) -> KResult<()> {
        let inode = self.lookup(dir, path, true)?;
        let len = u64::try_from(len).map_err(|_| Errno::EINVAL)?;
        match inode.body {
            Body::Regular(_) | Body::Proc(_) => inode.set_size(len),
            Body::Dir(_) => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Renameat implements Linux syscall renameat(2).
    pub fn renameat(
        &self,
        olddir: &Arc<Inode>,
        oldpath: &[u8],
        newdir: &Arc<Inode>,
        newpath: &[u8],
    ) -> KResult<()> {
        self.renameat2(olddir, oldpath, newdir, newpath, 0)
    }

    /// Renameat2 implements Linux syscall renameat2(2) with `RENAME_NOREPLACE` (other
    /// flags: `EINVAL`). rename(2)'s rules: a file replaces a file, a directory replaces
    /// an empty directory (`ENOTEMPTY` otherwise), a file cannot replace a directory
    /// (`EISDIR`) nor a directory a file (`ENOTDIR`), a directory cannot move into itself
    /// (`EINVAL`), `.` and `..` cannot be renamed (`EBUSY`), and renaming a name onto
    /// another name of the same file does nothing.
    pub fn renameat2(
        &self,
        olddir: &Arc<Inode>,
        oldpath: &[u8],
        newdir: &Arc<Inode>,
        newpath: &[u8],
        flags: u32,
    ) -> KResult<()> {
        if flags & !RENAME_NOREPLACE != 0 {
            return Err(Errno::EINVAL);
        }
        let noreplace = flags & RENAME_NOREPLACE != 0;
        let _rename = lock(&self.rename_lock);
        let op = self.walk_parent(olddir, oldpath, &mut 0)?;
        let np = self.walk_parent(newdir, newpath, &mut 0)?;
        if op.dir.is_proc() != np.dir.is_proc() {
            // Across mounts.
            return Err(Errno::EXDEV);
        }
        let Last::Name(oname) = &op.last else {
            return Err(Errno::EBUSY);
        };
        let Last::Name(nname) = &np.last else {
            return Err(if noreplace {
                Errno::EEXIST
            } else {
                Errno::EBUSY
            });
        };
        // Each round looks the names up without locks, checks, then locks both parents
        // and starts over if either name changed meanwhile (only creations and removals
        // can race with us: other renames wait for rename_lock).
        loop {
            let src = op.dir.dir()?.lookup(oname)?;
            if self.is_mount_point(&op.dir, oname, &src) {
                return Err(Errno::EBUSY);
            }
            if !src.is_dir() && (op.trailing_slash || np.trailing_slash) {
                return Err(Errno::ENOTDIR);
            }
            if src.is_dir() && self.is_ancestor(&src, &np.dir) {
                return Err(Errno::EINVAL);
            }
            let dst = match np.dir.dir()?.lookup(nname) {
                Ok(inode) => Some(inode),
                Err(Errno::ENOENT) => None,
                Err(e) => return Err(e),
            };
            if let Some(d) = &dst {
                if self.is_mount_point(&np.dir, nname, d) {
                    return Err(Errno::EBUSY);
                }
                if d.is_dir() && self.is_ancestor(d, &op.dir) {
                    return Err(Errno::ENOTEMPTY);
                }
                if noreplace {
                    return Err(Errno::EEXIST);
                }
                if Arc::ptr_eq(d, &src) {
                    return Ok(());
                }
                if src.is_dir() && !d.is_dir() {
                    return Err(Errno::ENOTDIR);
                }
                if !src.is_dir() && d.is_dir() {
                    return Err(Errno::EISDIR);
                }
            }
            let same_dir = Arc::ptr_eq(&op.dir, &np.dir);
            let (mut ost, mut nst) = if same_dir {
                (op.dir.dir()?, None)
            } else if op.dir.ino() < np.dir.ino() {
                let o = op.dir.dir()?;
                (o, Some(np.dir.dir()?))
            } else {
                let n = np.dir.dir()?;
                (op.dir.dir()?, Some(n))
            };
            let src_now = ost.get(oname).map(|e| Arc::clone(&e.inode));
            let new_st = nst.as_deref_mut().unwrap_or(&mut *ost);
            let dst_now = new_st.get(nname).map(|e| Arc::clone(&e.inode));
            let unchanged = src_now.is_some_and(|s| Arc::ptr_eq(&s, &src))
                && match (&dst, &dst_now) {
                    (None, None) => true,
                    (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                    _ => false,
                };
            if !unchanged {
                continue;
            }
            if new_st.removed {
                return Err(Errno::ENOENT);
            }
            // A directory being replaced must be empty; it is gone once we commit.
            let mut dst_state = match &dst {
                Some(d) if d.is_dir() => {
                    let ds = d.dir()?;
                    if !ds.is_empty() {
                        return Err(Errno::ENOTEMPTY);
                    }
                    Some(ds)
                }
                _ => None,
            };
            // Commit: nothing below fails.
            let new_dir_inode = &np.dir;
            if let Some(replaced) = new_st.remove(nname) {
                new_dir_inode.uncharge(replaced.charge);
            }
            let Some(moved) = ost.remove(oname) else {
                return Err(Errno::ENOENT);
            };
            if !same_dir {
                op.dir.transfer_charge(new_dir_inode, moved.charge);
            }
            let new_st = nst.as_deref_mut().unwrap_or(&mut *ost);
            new_st.insert(nname, Arc::clone(&src), moved.charge);
            if let Some(ds) = dst_state.as_mut() {
                ds.removed = true;
            }
            drop(dst_state);
            if let Some(mut ss) = src.dir_state() {
                ss.parent = Arc::downgrade(new_dir_inode);
                ss.name = nname.as_slice().into();
            }
            drop(nst);
            drop(ost);
            if let Some(d) = &dst {
                if d.is_dir() {
                    d.touch_changed();
                } else {
                    self.drop_link(d);
                }
            }
            src.touch_changed();
            op.dir.touch_modified();
            if !same_dir {
                np.dir.touch_modified();
            }
            return Ok(());
        }
    }
}

impl Vfs {
    /// Whether `dir` is `node` or one of its ancestors (walking up from `node`).
    fn is_ancestor(&self, dir: &Arc<Inode>, node: &Arc<Inode>) -> bool {
        let mut cur = Arc::clone(node);
        loop {
            if Arc::ptr_eq(&cur, dir) {
                return true;
            }
            match cur.parent() {
                Some(p) => cur = p,
                None => return false,
            }
        }
    }

    /// Getcwd implements Linux syscall getcwd(2) for the directory `dir`: its absolute
    /// path, from the names it is linked under now (so it follows renames). `ENOENT` if it
    /// was removed.
    pub fn getcwd(&self, dir: &Arc<Inode>) -> KResult<Vec<u8>> {
        if let Some(p) = dir.proc() {
            return p.dir_path();
        }
        let mut names: Vec<Box<[u8]>> = Vec::new();
        let mut len = 0usize;
        let mut cur = Arc::clone(dir);
        while !Arc::ptr_eq(&cur, &self.root) {
            let (parent, name) = {
                let st = cur.dir_state().ok_or(Errno::ENOTDIR)?;
                if st.removed {
                    return Err(Errno::ENOENT);
                }
                (st.parent.upgrade(), st.name.clone())
            };
            len += name.len() + 1;
            if len >= PATH_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            names.push(name);
            cur = parent.ok_or(Errno::ENOENT)?;
        }
        if names.is_empty() {
            return Ok(b"/".to_vec());
        }
        let mut out = Vec::with_capacity(len);
        for name in names.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(name);
        }
        Ok(out)
    }
}

impl View<'_> {
    /// What execve(2) may run at `path`: the file, following symlinks, if it is a regular
    /// file with an execute bit ([`is_executable`]); `EACCES` otherwise.
    pub fn exec_lookup(&self, dir: &Arc<Inode>, path: &[u8]) -> KResult<Arc<Inode>> {
        let inode = self.lookup(dir, path, true)?;
        if is_executable(&inode.stat()) {
            Ok(inode)
        } else {
            Err(Errno::EACCES)
        }
    }
}

/// The namespace calls in the host's view ([`Vfs::host_view`]): the host, which is no
/// process of the container, has no `/proc/self`. See [`View`]'s for each call.
impl Vfs {
    pub fn lookup(&self, dir: &Arc<Inode>, path: &[u8], follow: bool) -> KResult<Arc<Inode>> {
        self.host_view().lookup(dir, path, follow)
    }

    pub fn openat(
        &self,
        dir: &Arc<Inode>,
        path: &[u8],
        flags: OFlags,
        mode: u32,
    ) -> KResult<Arc<FileDescription>> {
        self.host_view().openat(dir, path, flags, mode)
    }

    pub fn mkdirat(&self, dir: &Arc<Inode>, path: &[u8], mode: u32) -> KResult<()> {
        self.host_view().mkdirat(dir, path, mode)
    }

    pub fn unlinkat(&self, dir: &Arc<Inode>, path: &[u8], flags: u32) -> KResult<()> {
        self.host_view().unlinkat(dir, path, flags)
    }

    pub fn linkat(
        &self,
        olddir: &Arc<Inode>,
        oldpath: &[u8],
        newdir: &Arc<Inode>,
        newpath: &[u8],
        flags: u32,
    ) -> KResult<()> {
        self.host_view()
            .linkat(olddir, oldpath, newdir, newpath, flags)
    }

    pub fn mknodat(&self, dir: &Arc<Inode>, path: &[u8], mode: u32) -> KResult<()> {
        self.host_view().mknodat(dir, path, mode)
    }

    pub fn symlinkat(&self, target: &[u8], dir: &Arc<Inode>, path: &[u8]) -> KResult<()> {
        self.host_view().symlinkat(target, dir, path)
    }

    pub fn readlinkat(&self, dir: &Arc<Inode>, path: &[u8]) -> KResult<Vec<u8>> {
        self.host_view().readlinkat(dir, path)
    }

    pub fn fstatat(&self, dir: &Arc<Inode>, path: &[u8], flags: u32) -> KResult<Stat> {
        self.host_view().fstatat(dir, path, flags)
    }

    pub fn utimensat(
        &self,
        dir: &Arc<Inode>,
        path: &[u8],
        times: [SetTime; 2],
        flags: u32,
    ) -> KResult<()> {
        self.host_view().utimensat(dir, path, times, flags)
    }

    pub fn fchmodat(&self, dir: &Arc<Inode>, path: &[u8], mode: u32, flags: u32) -> KResult<()> {
        self.host_view().fchmodat(dir, path, mode, flags)
    }

    pub fn fchownat(
        &self,
        dir: &Arc<Inode>,
        path: &[u8],
        uid: Option<u32>,
        gid: Option<u32>,
        flags: u32,
    ) -> KResult<()> {
        self.host_view().fchownat(dir, path, uid, gid, flags)
    }

    pub fn truncate(&self, dir: &Arc<Inode>, path: &[u8], len: i64) -> KResult<()> {
        self.host_view().truncate(dir, path, len)
    }

    pub fn renameat(
        &self,
        olddir: &Arc<Inode>,
        oldpath: &[u8],
        newdir: &Arc<Inode>,
        newpath: &[u8],
    ) -> KResult<()> {
        self.host_view().renameat(olddir, oldpath, newdir, newpath)
    }

    pub fn renameat2(
        &self,
        olddir: &Arc<Inode>,
        oldpath: &[u8],
        newdir: &Arc<Inode>,
        newpath: &[u8],
        flags: u32,
    ) -> KResult<()> {
        self.host_view()
            .renameat2(olddir, oldpath, newdir, newpath, flags)
    }

    pub fn exec_lookup(&self, dir: &Arc<Inode>, path: &[u8]) -> KResult<Arc<Inode>> {
        self.host_view().exec_lookup(dir, path)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod differential;
#[cfg(test)]
mod tests;
