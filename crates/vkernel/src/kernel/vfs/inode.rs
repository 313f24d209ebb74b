//! Inodes of one container's view, and the `Layer` that owns the container's writable
//! state (space accounting, inode numbers, the clock, the image it overlays).
//!
//! An inode is materialized from the image the first time a lookup or a listing reaches
//! its directory (`Inode::dir` fills a directory's children then, all at once). A regular
//! file materialized from the image holds the image's `Arc<[u8]>` until the first write
//! copies it (`FileData`): copy-on-write at file granularity. Image hard links materialize
//! to one shared inode, whichever path is reached first.
//!
//! Space: every byte the container adds (file data it owns, symlink targets, directory
//! entries it creates) is charged to the layer's limit and to the inode holding it, and
//! given back when that inode is dropped or the data shrinks; `ENOSPC` when the limit would
//! be passed. Bytes shared with the image cost nothing.
//!
//! Locks here follow the order in [`super`]'s module docs: a directory's `DirState`, then
//! a file's data, then the inode's metadata; the layer's hard-link map is a leaf.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use super::device::DeviceSpec;
use super::image::{Image, ImageKind};
use super::procfs::ProcInode;
use crate::kernel::clock::Clock;
use crate::kernel::errno::{Errno, KResult};
use crate::kernel::flags::SetTime;
use crate::kernel::interrupt::lock;
use crate::kernel::iov;
use crate::kernel::pipe::FifoPipe;
use crate::kernel::stat::{FileType, PERM_MASK, Stat};

/// The largest file size, as Linux's `MAX_LFS_FILESIZE` (offsets are `loff_t`, an `i64`).
/// In practice the writable layer's limit is met long before.
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// The most links one inode may have (`EMLINK` beyond): ext4's `EXT4_LINK_MAX`. It also
/// bounds what one inode's names can cost.
pub const MAX_LINKS: u32 = 65_000;

/// What one directory entry the container creates is charged to the writable layer, on top
/// of its name: an estimate of the inode and map nodes behind it, so that a guest creating
/// empty files or links in a loop still meets the limit.
pub const ENTRY_COST: u64 = 256;

/// The device number every file of a container's filesystem reports (`st_dev`): an
/// anonymous device, as tmpfs and overlayfs get on Linux (`makedev(0, 42)`).
pub const VFS_DEV: u64 = 42;

/// `st_blksize`: the page size, which is what tmpfs reports.
pub const BLOCK_SIZE: u64 = 4096;

/// `st_size` of a directory (what ext4 reports for a small one).
const DIR_SIZE: u64 = 4096;

/// Directory positions of `.` and `..`; entries are numbered from 2 (see [`DirState`]).
const FIRST_ENTRY_POS: u64 = 2;

/// The writable state of one container's filesystem, shared by all its inodes.
pub(crate) struct Layer {
    pub(crate) image: Arc<Image>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Most bytes the container may add (`ENOSPC` beyond).
    limit: u64,
    /// Bytes added so far: the sum of every live inode's `charged`.
    used: AtomicU64,
    next_ino: AtomicU64,
    /// Inodes made so far (from the image or new), for stats and tests.
    materialized: AtomicU64,
    /// Image files with several paths, by inode number, once one path was reached, so every
    /// path reaches the same inode. An entry leaves when its link count drops to zero; the
    /// [`super::Vfs`] clears the map when dropped (these `Arc`s point back at the layer).
    hard_links: Mutex<HashMap<u64, Arc<Inode>>>,
}

impl Layer {
    pub(crate) fn new(image: Arc<Image>, clock: Arc<dyn Clock>, limit: u64) -> Layer {
        Layer {
            next_ino: AtomicU64::new(image.first_free_ino()),
            image,
            clock,
            limit,
            used: AtomicU64::new(0),
            materialized: AtomicU64::new(0),
            hard_links: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }

    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }

    pub(crate) fn materialized(&self) -> u64 {
        self.materialized.load(Ordering::Relaxed)
    }

    /// Reserves `n` bytes of the limit, or fails with `ENOSPC`.
    fn reserve(&self, n: u64) -> KResult<()> {
        if n == 0 {
            return Ok(());
        }
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_add(n).filter(|&total| total <= self.limit)
            })
            .map(drop)
            .map_err(|_| Errno::ENOSPC)
    }

    fn release(&self, n: u64) {
        if n != 0 {
            self.used.fetch_sub(n, Ordering::SeqCst);
        }
    }

    /// Drops the map's reference to a hard-linked image file whose last link is gone.
    pub(crate) fn forget_hard_link(&self, ino: u64) {
        let gone = lock(&self.hard_links).remove(&ino);
        drop(gone);
    }

    /// Empties the hard-link map (it holds inodes, which hold the layer: a cycle).
    pub(crate) fn clear_hard_links(&self) {
        let gone: Vec<Arc<Inode>> = lock(&self.hard_links).drain().map(|(_, i)| i).collect();
        drop(gone);
    }

    fn new_inode(
        self: &Arc<Self>,
        ino: u64,
        body: Body,
        meta: Meta,
        shared_link: bool,
    ) -> Arc<Inode> {
        self.materialized.fetch_add(1, Ordering::Relaxed);
        Arc::new(Inode {
            ino,
            layer: Arc::clone(self),
            body,
            meta: Mutex::new(meta),
            charged: AtomicU64::new(0),
            shared_link,
        })
    }

    /// The root directory of a fresh view of the image.
    pub(crate) fn root(self: &Arc<Self>) -> Arc<Inode> {
        self.materialize(0, &Weak::new(), b"")
    }

    /// The inode for image node `idx`, named `name` in directory `parent`.
    fn materialize(self: &Arc<Self>, idx: u32, parent: &Weak<Inode>, name: &[u8]) -> Arc<Inode> {
        let node = self.image.node(idx);
        let m = &node.meta;
        let meta = Meta {
            mode: m.mode,
            uid: m.uid,
            gid: m.gid,
            nlink: 1,
            atime: m.mtime,
            mtime: m.mtime,
            ctime: m.mtime,
        };
        let body = match &node.kind {
            ImageKind::Dir { .. } => Body::Dir(Mutex::new(DirState::new(
                Some(idx),
                parent.clone(),
                name.into(),
            ))),
            ImageKind::File { data, nlink } if *nlink > 1 => {
                let mut links = lock(&self.hard_links);
                if let Some(inode) = links.get(&node.ino) {
                    return Arc::clone(inode);
                }
                let body = Body::Regular(Mutex::new(FileData::Image(Arc::clone(data))));
                let inode = self.new_inode(
                    node.ino,
                    body,
                    Meta {
                        nlink: *nlink,
                        ..meta
                    },
                    true,
                );
                links.insert(node.ino, Arc::clone(&inode));
                return inode;
            }
            ImageKind::File { data, .. } => {
                Body::Regular(Mutex::new(FileData::Image(Arc::clone(data))))
            }
            ImageKind::Symlink(target) => Body::Symlink(target.clone()),
            &ImageKind::Device {
                block,
                major,
                minor,
            } => Body::Device(DeviceSpec {
                block,
                major,
                minor,
            }),
            ImageKind::Fifo => Body::Fifo(FifoPipe::default()),
        };
        self.new_inode(node.ino, body, meta, false)
    }

    fn fresh_meta(&self, mode: u32) -> Meta {
        let now = self.now();
        Meta {
            mode: mode & PERM_MASK,
            uid: 0,
            gid: 0,
            nlink: 1,
            atime: now,
            mtime: now,
            ctime: now,
        }
    }

    fn alloc_ino(&self) -> u64 {
        self.next_ino.fetch_add(1, Ordering::Relaxed)
    }

    /// A new empty regular file.
    pub(crate) fn new_file(self: &Arc<Self>, mode: u32) -> Arc<Inode> {
        let body = Body::Regular(Mutex::new(FileData::Owned(Vec::new())));
        self.new_inode(self.alloc_ino(), body, self.fresh_meta(mode), false)
    }

    /// A new fifo (`mknod(S_IFIFO)`).
    pub(crate) fn new_fifo(self: &Arc<Self>, mode: u32) -> Arc<Inode> {
        let body = Body::Fifo(FifoPipe::default());
        self.new_inode(self.alloc_ino(), body, self.fresh_meta(mode), false)
    }

    /// A new empty directory named `name` in `parent`.
    pub(crate) fn new_dir(
        self: &Arc<Self>,
        mode: u32,
        parent: &Arc<Inode>,
        name: &[u8],
    ) -> Arc<Inode> {
        let body = Body::Dir(Mutex::new(DirState::new(
            None,
            Arc::downgrade(parent),
            name.into(),
        )));
        self.new_inode(self.alloc_ino(), body, self.fresh_meta(mode), false)
    }

    /// An inode of `/proc`: not counted as materialized (every lookup makes one), owned
    /// by root, with permission bits `mode` and the current time.
    pub(crate) fn new_proc(self: &Arc<Self>, ino: u64, node: ProcInode, mode: u32) -> Arc<Inode> {
        Arc::new(Inode {
            ino,
            layer: Arc::clone(self),
            body: Body::Proc(node),
            meta: Mutex::new(self.fresh_meta(mode)),
            charged: AtomicU64::new(0),
            shared_link: false,
        })
    }

    /// A new symlink; its target is charged to the layer.
    pub(crate) fn new_symlink(self: &Arc<Self>, target: &[u8]) -> KResult<Arc<Inode>> {
        let body = Body::Symlink(target.into());
        let inode = self.new_inode(self.alloc_ino(), body, self.fresh_meta(0o777), false);
        inode.charge(target.len() as u64)?;
        Ok(inode)
    }
}

/// Metadata of an inode. Guarded by the inode's `meta` mutex (a leaf lock).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta {
    /// Permission bits (`0o7777`); the type comes from the body.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Link count of a non-directory (a directory's is computed from its state).
    pub nlink: u32,
    pub atime: i64,
    pub mtime: i64,
    pub ctime: i64,
}

/// Contents of a regular file: still the image's bytes, or the container's own copy.
pub(crate) enum FileData {
    Image(Arc<[u8]>),
    Owned(Vec<u8>),
}

impl FileData {
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            FileData::Image(d) => d,
            FileData::Owned(v) => v,
        }
    }
}

/// One name in a directory.
pub(crate) struct Entry {
    pub(crate) inode: Arc<Inode>,
    /// Position for `getdents` (see [`DirState`]).
    pos: u64,
    /// Bytes charged to the directory inode for this entry (0 for the image's entries).
    pub(crate) charge: u64,
}

/// A directory's entries and place in the tree. Guarded by the directory's `DirState`
/// mutex.
///
/// Each entry gets a position when it is inserted, from a counter that only grows; `.`
/// is at 0, `..` at 1. A `getdents` cookie is "the next position to return", so entries
/// added or removed while a listing is in progress never make it skip or repeat the
/// others (an entry added behind the cursor is not returned, one added ahead is, which
/// POSIX leaves open). A renamed entry gets a new position, as it gets a new name.
pub(crate) struct DirState {
    /// The image directory whose children have not been materialized yet.
    pending: Option<u32>,
    entries: HashMap<Box<[u8]>, Entry>,
    /// Position to name, for listing in a stable order.
    order: BTreeMap<u64, Box<[u8]>>,
    next_pos: u64,
    /// How many entries are directories (a directory's link count is 2 + this).
    subdirs: u32,
    /// The directory this one is an entry of (none for the root), for `..` and getcwd.
    pub(crate) parent: Weak<Inode>,
    /// This directory's name in its parent.
    pub(crate) name: Box<[u8]>,
    /// Set by rmdir (and by rename over it): lookups and creations inside fail (`ENOENT`).
    pub(crate) removed: bool,
}

impl DirState {
    fn new(pending: Option<u32>, parent: Weak<Inode>, name: Box<[u8]>) -> DirState {
        DirState {
            pending,
            entries: HashMap::new(),
            order: BTreeMap::new(),
            next_pos: FIRST_ENTRY_POS,
            subdirs: 0,
            parent,
            name,
            removed: false,
        }
    }

    pub(crate) fn get(&self, name: &[u8]) -> Option<&Entry> {
        self.entries.get(name)
    }

    pub(crate) fn lookup(&self, name: &[u8]) -> KResult<Arc<Inode>> {
        if self.removed {
            return Err(Errno::ENOENT);
        }
        self.entries
            .get(name)
            .map(|e| Arc::clone(&e.inode))
            .ok_or(Errno::ENOENT)
    }

    /// Adds `name`; the caller made sure it is free.
    pub(crate) fn insert(&mut self, name: &[u8], inode: Arc<Inode>, charge: u64) {
        let pos = self.next_pos;
        self.next_pos += 1;
        if inode.is_dir() {
            self.subdirs += 1;
        }
        let name: Box<[u8]> = name.into();
        self.order.insert(pos, name.clone());
        if let Some(old) = self.entries.insert(name, Entry { inode, pos, charge }) {
            // Callers remove first; keep the index consistent regardless.
            self.order.remove(&old.pos);
            if old.inode.is_dir() {
                self.subdirs -= 1;
            }
        }
    }

    pub(crate) fn remove(&mut self, name: &[u8]) -> Option<Entry> {
        let entry = self.entries.remove(name)?;
        self.order.remove(&entry.pos);
        if entry.inode.is_dir() {
            self.subdirs -= 1;
        }
        Some(entry)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What an inode is. The variant never changes.
pub(crate) enum Body {
    Regular(Mutex<FileData>),
    Dir(Mutex<DirState>),
    Symlink(Box<[u8]>),
    Device(DeviceSpec),
    /// A fifo (named pipe): its opens share a pipe.
    Fifo(FifoPipe),
    /// A file of `/proc` (see [`super::procfs`]): made by each lookup, never linked into
    /// a directory of the layer.
    Proc(ProcInode),
}

/// One directory entry as `getdents` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirent {
    pub ino: u64,
    pub file_type: FileType,
    pub name: Vec<u8>,
    /// The cookie of the entry after this one (`d_off`): seek the directory there to
    /// resume after this entry.
    pub next: u64,
}

/// A regular file's bytes, as the exec gate reads them.
#[derive(Debug, Clone)]
pub struct FileContents {
    pub bytes: Arc<[u8]>,
    /// True while the file is the image's, never written by this container: a hash
    /// computed when the image was sealed still holds.
    pub from_image: bool,
}

/// Where a write goes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WritePos {
    At(u64),
    /// At the end, read and written under one lock (`O_APPEND`).
    Append,
}

/// A file of a container's filesystem: a regular file, directory, symlink, device or fifo.
pub struct Inode {
    ino: u64,
    pub(crate) layer: Arc<Layer>,
    pub(crate) body: Body,
    pub(crate) meta: Mutex<Meta>,
    /// Bytes of the layer's limit this inode holds (its own data, its entries' charges),
    /// given back when it is dropped.
    charged: AtomicU64,
    /// Whether the layer's hard-link map holds this inode.
    shared_link: bool,
}

impl std::fmt::Debug for Inode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inode")
            .field("ino", &self.ino)
            .field("type", &self.file_type())
            .finish()
    }
}

impl Drop for Inode {
    fn drop(&mut self) {
        self.layer.release(*self.charged.get_mut());
        // Free a directory tree without recursing once per level: a guest can nest
        // directories far deeper than the host stack could unwind. Children whose last
        // reference is ours give up their own children to the loop before they drop.
        let Body::Dir(state) = &mut self.body else {
            return;
        };
        let st = state.get_mut().unwrap_or_else(PoisonError::into_inner);
        let mut doomed: Vec<Arc<Inode>> = st.entries.drain().map(|(_, e)| e.inode).collect();
        while let Some(inode) = doomed.pop() {
            if let Ok(mut inode) = Arc::try_unwrap(inode)
                && let Body::Dir(state) = &mut inode.body
            {
                let st = state.get_mut().unwrap_or_else(PoisonError::into_inner);
                doomed.extend(st.entries.drain().map(|(_, e)| e.inode));
            }
        }
    }
}

impl Inode {
    /// The inode number (`st_ino`).
    pub fn ino(&self) -> u64 {
        self.ino
    }

    pub fn file_type(&self) -> FileType {
        match &self.body {
            Body::Regular(_) => FileType::Regular,
            Body::Dir(_) => FileType::Directory,
            Body::Symlink(_) => FileType::Symlink,
            Body::Device(d) if d.block => FileType::BlockDevice,
            Body::Device(_) => FileType::CharDevice,
            Body::Fifo(_) => FileType::Fifo,
            Body::Proc(p) => p.file_type(),
        }
    }

    pub fn is_dir(&self) -> bool {
        match &self.body {
            Body::Dir(_) => true,
            Body::Proc(p) => p.is_dir(),
            _ => false,
        }
    }

    /// Whether this is a symlink: a stored one, or one of `/proc`'s (whose target is
    /// computed when it is read or followed).
    pub(crate) fn is_symlink(&self) -> bool {
        match &self.body {
            Body::Symlink(_) => true,
            Body::Proc(p) => p.is_link(),
            _ => false,
        }
    }

    /// Whether this is one of `/proc`'s "magic" links (`/proc/<pid>/fd/<n>`, `cwd`,
    /// `root`): following one reaches the open file or directory itself, not the path
    /// its text names.
    pub fn is_magic_link(&self) -> bool {
        matches!(&self.body, Body::Proc(p) if p.is_magic_link())
    }

    /// Whether this is a file of `/proc`.
    pub fn is_proc(&self) -> bool {
        matches!(self.body, Body::Proc(_))
    }

    /// The `/proc` part of this inode, if it is one of `/proc`'s.
    pub(crate) fn proc(&self) -> Option<&ProcInode> {
        match &self.body {
            Body::Proc(p) => Some(p),
            _ => None,
        }
    }

    pub(crate) fn symlink_target(&self) -> Option<&[u8]> {
        match &self.body {
            Body::Symlink(t) => Some(t),
            _ => None,
        }
    }

    pub(crate) fn is_shared_link(&self) -> bool {
        self.shared_link
    }

    /// Charges `n` bytes to this inode, or fails with `ENOSPC`.
    pub(crate) fn charge(&self, n: u64) -> KResult<()> {
        self.layer.reserve(n)?;
        self.charged.fetch_add(n, Ordering::SeqCst);
        Ok(())
    }

    pub(crate) fn uncharge(&self, n: u64) {
        self.charged.fetch_sub(n, Ordering::SeqCst);
        self.layer.release(n);
    }

    /// Moves `n` charged bytes from `self` to `to` (an entry moving between directories).
    pub(crate) fn transfer_charge(&self, to: &Inode, n: u64) {
        self.charged.fetch_sub(n, Ordering::SeqCst);
        to.charged.fetch_add(n, Ordering::SeqCst);
    }

    pub(crate) fn meta(&self) -> MutexGuard<'_, Meta> {
        lock(&self.meta)
    }

    /// A directory's state as it is, children not materialized (for walking up the tree).
    pub(crate) fn dir_state(&self) -> Option<MutexGuard<'_, DirState>> {
        match &self.body {
            Body::Dir(state) => Some(lock(state)),
            _ => None,
        }
    }

    /// A directory's parent (none for the root and for non-directories).
    pub(crate) fn parent(&self) -> Option<Arc<Inode>> {
        self.dir_state()?.parent.upgrade()
    }

    /// The directory's state, its children materialized from the image on first use.
    /// `EPERM` for a directory of `/proc` (it has no entries to add or remove: what
    /// Linux answers for a directory without such operations), `ENOTDIR` for anything
    /// else.
    pub(crate) fn dir(self: &Arc<Self>) -> KResult<MutexGuard<'_, DirState>> {
        let Body::Dir(state) = &self.body else {
            return Err(if self.is_dir() {
                Errno::EPERM
            } else {
                Errno::ENOTDIR
            });
        };
        let mut st = lock(state);
        if let Some(idx) = st.pending.take() {
            let layer = &self.layer;
            if let ImageKind::Dir { children, .. } = &layer.image.node(idx).kind {
                let me = Arc::downgrade(self);
                for (name, child) in children {
                    let inode = layer.materialize(*child, &me, name);
                    st.insert(name, inode, 0);
                }
            }
        }
        Ok(st)
    }

    /// The link count.
    pub fn nlink(&self) -> u64 {
        match &self.body {
            Body::Dir(state) => {
                let st = lock(state);
                if st.removed {
                    0
                } else if let Some(idx) = st.pending {
                    match self.layer.image.node(idx).kind {
                        ImageKind::Dir { subdirs, .. } => 2 + u64::from(subdirs),
                        _ => 2,
                    }
                } else {
                    2 + u64::from(st.subdirs)
                }
            }
            Body::Proc(p) => p.nlink(),
            _ => u64::from(self.meta().nlink),
        }
    }

    /// The file's size (`st_size`).
    pub fn size(&self) -> u64 {
        match &self.body {
            Body::Regular(data) => lock(data).as_slice().len() as u64,
            Body::Dir(_) => DIR_SIZE,
            Body::Symlink(t) => t.len() as u64,
            Body::Device(_) | Body::Fifo(_) => 0,
            Body::Proc(p) => p.size(),
        }
    }

    /// `fstat(2)` of this inode.
    pub fn stat(&self) -> Stat {
        if let Body::Proc(p) = &self.body {
            // Not under the meta lock: a directory's link count reads the process table.
            let meta = *self.meta();
            return p.stat(self.ino, &meta);
        }
        let size = self.size();
        let nlink = self.nlink();
        let rdev = match &self.body {
            Body::Device(d) => d.rdev(),
            _ => 0,
        };
        let m = *self.meta();
        Stat {
            dev: VFS_DEV,
            ino: self.ino,
            mode: self.file_type().mode_bits() | m.mode,
            nlink,
            uid: m.uid,
            gid: m.gid,
            rdev,
            size,
            blksize: BLOCK_SIZE,
            blocks: size.div_ceil(BLOCK_SIZE) * (BLOCK_SIZE / 512),
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
        }
    }

    /// Sets mtime and ctime to now (contents changed).
    pub(crate) fn touch_modified(&self) {
        let now = self.layer.now();
        let mut m = self.meta();
        m.mtime = now;
        m.ctime = now;
    }

    /// Sets ctime to now (attributes changed).
    pub(crate) fn touch_changed(&self) {
        let now = self.layer.now();
        self.meta().ctime = now;
    }

    /// `EPERM` for a file of `/proc`, whose attributes cannot be changed.
    fn check_settable(&self) -> KResult<()> {
        if self.is_proc() {
            Err(Errno::EPERM)
        } else {
            Ok(())
        }
    }

    /// `utimensat(2)` on this inode: atime and mtime as asked, ctime to now unless both
    /// are omitted.
    pub(crate) fn set_times(&self, atime: SetTime, mtime: SetTime) -> KResult<()> {
        self.check_settable()?;
        if atime == SetTime::Omit && mtime == SetTime::Omit {
            return Ok(());
        }
        let now = self.layer.now();
        let mut m = self.meta();
        let pick = |t: SetTime, old: i64| match t {
            SetTime::Now => now,
            SetTime::Omit => old,
            SetTime::At(t) => t,
        };
        m.atime = pick(atime, m.atime);
        m.mtime = pick(mtime, m.mtime);
        m.ctime = now;
        Ok(())
    }

    pub(crate) fn chmod(&self, mode: u32) -> KResult<()> {
        self.check_settable()?;
        let now = self.layer.now();
        let mut m = self.meta();
        m.mode = mode & PERM_MASK;
        m.ctime = now;
        Ok(())
    }

    pub(crate) fn chown(&self, uid: Option<u32>, gid: Option<u32>) -> KResult<()> {
        self.check_settable()?;
        let now = self.layer.now();
        let mut m = self.meta();
        if let Some(uid) = uid {
            m.uid = uid;
        }
        if let Some(gid) = gid {
            m.gid = gid;
        }
        // Linux clears setuid (and setgid with group-exec) on chown of a regular file.
        if matches!(self.body, Body::Regular(_)) {
            m.mode &= !0o4000;
            if m.mode & 0o010 != 0 {
                m.mode &= !0o2000;
            }
        }
        m.ctime = now;
        Ok(())
    }

    fn data(&self) -> KResult<&Mutex<FileData>> {
        match &self.body {
            Body::Regular(data) => Ok(data),
            _ if self.is_dir() => Err(Errno::EISDIR),
            // `/proc` is read-only.
            Body::Proc(_) => Err(Errno::EACCES),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Makes the data the container's own, at least `min_len` bytes long (zero-filled),
    /// charging what it adds.
    fn make_owned<'a>(&self, data: &'a mut FileData, min_len: u64) -> KResult<&'a mut Vec<u8>> {
        let cur = data.as_slice().len() as u64;
        let new_len = cur.max(min_len);
        let new_len_usize = usize::try_from(new_len).map_err(|_| Errno::EFBIG)?;
        let added = match data {
            FileData::Image(_) => new_len,
            FileData::Owned(_) => new_len - cur,
        };
        self.charge(added)?;
        if let Err(e) = Self::grow(data, new_len_usize) {
            self.uncharge(added);
            return Err(e);
        }
        match data {
            FileData::Owned(v) => Ok(v),
            // grow made it owned.
            FileData::Image(_) => Err(Errno::EIO),
        }
    }

    /// Copies image data into an owned vector and zero-extends it to `len`; `ENOMEM` if the
    /// host cannot allocate it (never an abort).
    fn grow(data: &mut FileData, len: usize) -> KResult<()> {
        if let FileData::Image(shared) = data {
            let mut own = Vec::new();
            own.try_reserve_exact(len.max(shared.len()))
                .map_err(|_| Errno::ENOMEM)?;
            own.extend_from_slice(shared);
            *data = FileData::Owned(own);
        }
        if let FileData::Owned(v) = data
            && len > v.len()
        {
            v.try_reserve(len - v.len()).map_err(|_| Errno::ENOMEM)?;
            v.resize(len, 0);
        }
        Ok(())
    }

    /// Reads from `offset` into `bufs`; 0 at or past the end.
    pub(crate) fn read_at(&self, offset: u64, bufs: &mut [&mut [u8]]) -> KResult<usize> {
        if let Body::Proc(p) = &self.body {
            return Ok(read_slice(p.contents()?, offset, bufs));
        }
        let data = lock(self.data()?);
        Ok(read_slice(data.as_slice(), offset, bufs))
    }

    /// Writes `bufs` at `pos`, growing the file (a gap becomes zeros). Returns the bytes
    /// written and the offset just past them.
    pub(crate) fn write(&self, pos: WritePos, bufs: &[&[u8]]) -> KResult<(usize, u64)> {
        let mut data = lock(self.data()?);
        let start = match pos {
            WritePos::At(offset) => offset,
            WritePos::Append => data.as_slice().len() as u64,
        };
        let total = iov::total(bufs);
        if total == 0 {
            return Ok((0, start));
        }
        if start >= MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let total = (total as u64).min(MAX_FILE_SIZE - start) as usize;
        let end = start + total as u64;
        let v = self.make_owned(&mut data, end)?;
        // make_owned made the file at least `end` bytes long, and `end` fits a usize.
        let mut at = start as usize;
        iov::gather(bufs, 0, total, |piece| {
            v[at..at + piece.len()].copy_from_slice(piece);
            at += piece.len();
        });
        drop(data);
        self.touch_modified();
        Ok((total, end))
    }

    /// `truncate(2)` to `len`: shrinks, or grows with zeros.
    pub(crate) fn set_size(&self, len: u64) -> KResult<()> {
        if len > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let mut data = lock(self.data()?);
        let cur = data.as_slice().len() as u64;
        match &mut *data {
            FileData::Image(_) if len == cur => {}
            FileData::Image(shared) if len < cur => {
                // len < cur <= usize::MAX.
                let keep = shared[..len as usize].to_vec();
                self.charge(len)?;
                *data = FileData::Owned(keep);
            }
            FileData::Owned(v) if len <= cur => {
                v.truncate(len as usize);
                if v.capacity() > 2 * v.len() + BLOCK_SIZE as usize {
                    v.shrink_to_fit();
                }
                self.uncharge(cur - len);
            }
            _ => {
                self.make_owned(&mut data, len)?;
            }
        }
        drop(data);
        self.touch_modified();
        Ok(())
    }

    /// The whole contents of a regular file (for the exec gate): the image's own bytes,
    /// shared, while the container has not written the file.
    pub fn read_contents(&self) -> KResult<FileContents> {
        let data = lock(self.data()?);
        Ok(match &*data {
            FileData::Image(shared) => FileContents {
                bytes: Arc::clone(shared),
                from_image: true,
            },
            FileData::Owned(v) => FileContents {
                bytes: v.as_slice().into(),
                from_image: false,
            },
        })
    }

    /// Up to `max` entries from position `from` (see [`DirState`]), `.` and `..` first.
    pub(crate) fn read_dir(self: &Arc<Self>, from: u64, max: usize) -> KResult<Vec<Dirent>> {
        if let Body::Proc(p) = &self.body {
            return p.read_dir(self.ino, from, max);
        }
        let st = self.dir()?;
        let mut out = Vec::new();
        let mut pos = from;
        if pos == 0 && out.len() < max {
            out.push(Dirent {
                ino: self.ino,
                file_type: FileType::Directory,
                name: b".".to_vec(),
                next: 1,
            });
            pos = 1;
        }
        if pos == 1 && out.len() < max {
            let parent = st.parent.upgrade().map_or(self.ino, |p| p.ino);
            out.push(Dirent {
                ino: parent,
                file_type: FileType::Directory,
                name: b"..".to_vec(),
                next: FIRST_ENTRY_POS,
            });
            pos = FIRST_ENTRY_POS;
        }
        let room = max.saturating_sub(out.len());
        for (&p, name) in st.order.range(pos.max(FIRST_ENTRY_POS)..).take(room) {
            if let Some(e) = st.entries.get(name) {
                out.push(Dirent {
                    ino: e.inode.ino,
                    file_type: e.inode.file_type(),
                    name: name.to_vec(),
                    next: p + 1,
                });
            }
        }
        Ok(out)
    }
}

/// Reads `bytes` from `offset` into `bufs`; 0 at or past the end.
fn read_slice(bytes: &[u8], offset: u64, bufs: &mut [&mut [u8]]) -> usize {
    let Ok(start) = usize::try_from(offset) else {
        return 0;
    };
    if start >= bytes.len() {
        return 0;
    }
    let want = iov::total_mut(bufs);
    let end = bytes.len().min(start.saturating_add(want));
    iov::scatter(&bytes[start..end], bufs, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::clock::FixedClock;
    use crate::kernel::stat::makedev;
    use crate::kernel::testutil::{E, image};

    fn layer(limit: u64) -> Arc<Layer> {
        let img = image(&[
            E::File("/a", 0o644, b"hello"),
            E::Link("/b", "/a"),
            E::Dir("/d", 0o755),
            E::Dir("/d/e", 0o700),
        ]);
        Arc::new(Layer::new(img, Arc::new(FixedClock::new(0)), limit))
    }

    #[test]
    fn makedev_of_dev() {
        assert_eq!(makedev(0, 42), VFS_DEV);
    }

    #[test]
    fn copy_on_write_and_accounting() {
        let layer = layer(1 << 20);
        let root = layer.root();
        let a = root.dir().unwrap().lookup(b"a").unwrap();
        let b = root.dir().unwrap().lookup(b"b").unwrap();
        assert!(Arc::ptr_eq(&a, &b), "hard links share one inode");
        assert_eq!(a.nlink(), 2);
        assert_eq!(layer.used(), 0);
        let (n, end) = a.write(WritePos::At(7), &[b"!"]).unwrap();
        assert_eq!((n, end), (1, 8));
        assert_eq!(layer.used(), 8);
        let mut buf = [0u8; 16];
        assert_eq!(b.read_at(0, &mut [&mut buf]).unwrap(), 8);
        assert_eq!(&buf[..8], b"hello\0\0!");
        assert!(!b.read_contents().unwrap().from_image);
        a.set_size(2).unwrap();
        assert_eq!(layer.used(), 2);
        drop((a, b, root));
        layer.clear_hard_links();
        assert_eq!(layer.used(), 0, "dropping the inodes gives the space back");
    }

    #[test]
    fn enospc_leaves_file_unchanged() {
        let layer = layer(4);
        let root = layer.root();
        let a = root.dir().unwrap().lookup(b"a").unwrap();
        assert_eq!(a.write(WritePos::Append, &[b"x"]), Err(Errno::ENOSPC));
        assert_eq!(a.set_size(100), Err(Errno::ENOSPC));
        assert!(a.read_contents().unwrap().from_image);
        assert_eq!(layer.used(), 0);
        assert_eq!(a.set_size(3), Ok(()));
        assert_eq!(layer.used(), 3);
        assert_eq!(a.set_size(0), Ok(()));
        assert_eq!(layer.used(), 0);
    }

    #[test]
    fn directory_link_counts() {
        let layer = layer(1 << 20);
        let root = layer.root();
        assert_eq!(root.nlink(), 5, "root holds dev, d and proc");
        let d = root.dir().unwrap().lookup(b"d").unwrap();
        assert_eq!(d.nlink(), 3, "from the image, before materializing");
        drop(d.dir().unwrap());
        assert_eq!(d.nlink(), 3, "after");
        assert_eq!(d.stat().mode, 0o040755);
    }
}
