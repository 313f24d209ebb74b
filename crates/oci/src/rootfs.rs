//! The in-memory root filesystem tree: one [`Node`] per absolute normalized path in a
//! `BTreeMap`, so iteration (and [`Rootfs::write_tar`]) is deterministic.
//!
//! Paths are chroot-like: absolute symlink targets are relative to this root, and following a
//! symlink that climbs above `/` is an error (not clamped at `/` as the kernel would), so a
//! hostile image cannot make us name anything outside its tree. This module owns the tree and
//! path resolution; applying tar entries (layers, whiteouts) lives in [`crate::apply`].

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::sync::Arc;

use crate::OciError;
use crate::error::PathError;

/// Symlink hops allowed while resolving one path; Linux's limit (`MAXSYMLINKS`).
pub const MAX_SYMLINK_HOPS: usize = 40;

/// Metadata every node carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Meta {
    /// Permission bits including setuid, setgid and sticky (`0o7777`), no file type bits.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Seconds since the Unix epoch.
    pub mtime: u64,
}

impl Meta {
    /// What implicitly created parent directories get: `0755`, root-owned, epoch mtime.
    pub const IMPLICIT_DIR: Meta = Meta {
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime: 0,
    };
}

/// The kinds of node without content that we only keep as metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OtherKind {
    CharDevice { major: u32, minor: u32 },
    BlockDevice { major: u32, minor: u32 },
    Fifo,
}

/// One entry of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir(Meta),
    /// A regular file. Paths that are hard links of each other share `inode` (and `data`).
    File {
        meta: Meta,
        data: Arc<[u8]>,
        inode: u64,
    },
    Symlink {
        meta: Meta,
        target: String,
    },
    Other {
        meta: Meta,
        kind: OtherKind,
    },
}

impl Node {
    pub fn meta(&self) -> &Meta {
        match self {
            Node::Dir(meta)
            | Node::File { meta, .. }
            | Node::Symlink { meta, .. }
            | Node::Other { meta, .. } => meta,
        }
    }

    pub fn is_dir(&self) -> bool {
        matches!(self, Node::Dir(_))
    }
}

/// A root filesystem: `"/"` plus everything below it, keyed by absolute normalized path.
#[derive(Debug, Clone)]
pub struct Rootfs {
    nodes: BTreeMap<String, Node>,
    next_inode: u64,
}

impl Default for Rootfs {
    fn default() -> Self {
        Rootfs::new()
    }
}

/// Joins a normalized directory path and one name.
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The parent of a normalized absolute path (`"/"` for top-level entries and for the root).
pub(crate) fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// Splits a path into components lexically: `.` and empty components vanish, `..` removes the
/// previous one. A leading `/` is refused when `allow_absolute` is false (tar entry names).
pub(crate) fn lexical_components(path: &str, allow_absolute: bool) -> Result<Vec<&str>, PathError> {
    if path.starts_with('/') && !allow_absolute {
        return Err(PathError::Absolute);
    }
    if path.contains('\0') {
        return Err(PathError::BadName);
    }
    let mut out: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if out.pop().is_none() {
                    return Err(PathError::ClimbsAboveRoot);
                }
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

fn path_of(components: &[&str]) -> String {
    if components.is_empty() {
        "/".to_string()
    } else {
        let mut s = String::new();
        for c in components {
            s.push('/');
            s.push_str(c);
        }
        s
    }
}

impl Rootfs {
    /// A tree holding only `/` (mode 0755, root-owned, mtime 0).
    pub fn new() -> Rootfs {
        let mut nodes = BTreeMap::new();
        nodes.insert("/".to_string(), Node::Dir(Meta::IMPLICIT_DIR));
        Rootfs {
            nodes,
            next_inode: 1,
        }
    }

    /// Every node, sorted by path (a directory always comes before what is inside it).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// How many nodes, the root included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Never true: the root is always there. Present for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node at `path` (normalized lexically, no symlink following).
    pub fn get(&self, path: &str) -> Option<&Node> {
        let comps = lexical_components(path, true).ok()?;
        self.nodes.get(&path_of(&comps))
    }

    /// Follows symlinks in every component of `path`, the last one included, and returns the
    /// normalized path of the node it names. Errors on a missing component, a loop (more than
    /// [`MAX_SYMLINK_HOPS`] hops), a non-directory used as a directory, or a climb above `/`.
    pub fn resolve(&self, path: &str) -> Result<String, OciError> {
        self.walk(path, true).map_err(|source| OciError::Path {
            path: path.to_string(),
            source,
        })
    }

    /// The contents of the regular file `path` names, after following symlinks.
    pub fn read_file(&self, path: &str) -> Option<&Arc<[u8]>> {
        let resolved = self.resolve(path).ok()?;
        match self.nodes.get(&resolved)? {
            Node::File { data, .. } => Some(data),
            _ => None,
        }
    }

    /// Puts a regular file at `path`, creating missing parent directories (mode 0755) and
    /// replacing whatever was there (a directory with all its contents). Parent symlinks are
    /// followed, with the same escape checks as layer entries.
    pub fn insert_file(&mut self, path: &str, data: Vec<u8>, meta: Meta) -> Result<(), OciError> {
        let err = |source| OciError::Path {
            path: path.to_string(),
            source,
        };
        let comps = lexical_components(path, true).map_err(err)?;
        let Some((name, parents)) = comps.split_last() else {
            return Err(err(PathError::IsRoot));
        };
        let parent = self
            .make_parents(&path_of(parents), &mut |_| {})
            .map_err(err)?;
        let full = join(&parent, name);
        let inode = self.alloc_inode();
        self.put(
            full,
            Node::File {
                meta: Meta {
                    mode: meta.mode & 0o7777,
                    ..meta
                },
                data: data.into(),
                inode,
            },
        );
        Ok(())
    }

    /// Writes the tree as a tar stream. Deterministic: the same tree gives the same bytes.
    ///
    /// Format: GNU headers (GNU long-name entries for paths over 100 bytes), entries in path
    /// order, names without a leading `/` (the root is written as `./` so its metadata is kept),
    /// numeric uid/gid with empty user/group names, the tree's mtimes, permission bits as kept.
    /// Regular files sharing an inode are written once, then as hard-link entries naming the
    /// first path. Devices and fifos are written with their major/minor numbers.
    pub fn write_tar<W: Write>(&self, w: W) -> Result<(), OciError> {
        let mut builder = tar::Builder::new(w);
        let mut first_path_of_inode: HashMap<u64, String> = HashMap::new();
        for (path, node) in &self.nodes {
            let name = if path == "/" {
                "./".to_string()
            } else {
                path[1..].to_string()
            };
            let werr = |source| OciError::WriteTar {
                entry: name.clone(),
                source,
            };
            let meta = node.meta();
            let mut header = tar::Header::new_gnu();
            header.set_mode(meta.mode & 0o7777);
            header.set_uid(meta.uid);
            header.set_gid(meta.gid);
            header.set_mtime(meta.mtime);
            header.set_size(0);
            match node {
                Node::Dir(_) => {
                    header.set_entry_type(tar::EntryType::Directory);
                    builder
                        .append_data(&mut header, &name, std::io::empty())
                        .map_err(werr)?;
                }
                Node::File { data, inode, .. } => {
                    if let Some(first) = first_path_of_inode.get(inode) {
                        header.set_entry_type(tar::EntryType::Link);
                        builder
                            .append_link(&mut header, &name, first)
                            .map_err(werr)?;
                    } else {
                        first_path_of_inode.insert(*inode, name.clone());
                        header.set_entry_type(tar::EntryType::Regular);
                        header.set_size(data.len() as u64);
                        builder
                            .append_data(&mut header, &name, &data[..])
                            .map_err(werr)?;
                    }
                }
                Node::Symlink { target, .. } => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    builder
                        .append_link(&mut header, &name, target)
                        .map_err(werr)?;
                }
                Node::Other { kind, .. } => {
                    let (ty, dev) = match *kind {
                        OtherKind::CharDevice { major, minor } => {
                            (tar::EntryType::Char, Some((major, minor)))
                        }
                        OtherKind::BlockDevice { major, minor } => {
                            (tar::EntryType::Block, Some((major, minor)))
                        }
                        OtherKind::Fifo => (tar::EntryType::Fifo, None),
                    };
                    header.set_entry_type(ty);
                    if let Some((major, minor)) = dev {
                        header.set_device_major(major).map_err(werr)?;
                        header.set_device_minor(minor).map_err(werr)?;
                    }
                    builder
                        .append_data(&mut header, &name, std::io::empty())
                        .map_err(werr)?;
                }
            }
        }
        builder
            .into_inner()
            .and_then(|mut w| w.flush())
            .map_err(|source| OciError::WriteTar {
                entry: "end of archive".to_string(),
                source,
            })
    }

    /// Reads a tar written by [`Rootfs::write_tar`] (or any plain tar) back into a tree, with
    /// the same checks as layers (no absolute or escaping names, no escaping hard links). Names
    /// starting with `.wh.` are ordinary files here: a rootfs tar has no layers to white out.
    pub fn from_tar<R: Read>(reader: R) -> Result<Rootfs, OciError> {
        let mut rootfs = Rootfs::new();
        crate::apply::apply_tar(&mut rootfs, reader, "rootfs tar", false)?;
        Ok(rootfs)
    }

    /// [`Rootfs::from_tar`] of a tar held in memory: each file is read into a
    /// buffer of its final size (no file can claim more than the tar's length),
    /// which halves the time for a tar of large files.
    pub fn from_tar_bytes(tar: &[u8]) -> Result<Rootfs, OciError> {
        let mut rootfs = Rootfs::new();
        crate::apply::apply_tar_with(&mut rootfs, tar, "rootfs tar", false, tar.len() as u64)?;
        Ok(rootfs)
    }

    // ---- crate-internal tree operations, used by `apply` ----

    pub(crate) fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    pub(crate) fn alloc_inode(&mut self) -> u64 {
        let i = self.next_inode;
        self.next_inode += 1;
        i
    }

    /// Sets `path` to `node`. A non-directory replaces a directory with all its contents; a
    /// directory over a directory only changes the metadata, keeping the contents.
    pub(crate) fn put(&mut self, path: String, node: Node) {
        let existing_is_dir = self.nodes.get(&path).is_some_and(Node::is_dir);
        if existing_is_dir && !node.is_dir() {
            self.remove_descendants(&path, &|_| false);
        }
        self.nodes.insert(path, node);
    }

    /// Removes `path` and everything below it, except the paths `keep` says to keep.
    pub(crate) fn remove_tree(&mut self, path: &str, keep: &dyn Fn(&str) -> bool) {
        if path != "/" && !keep(path) {
            self.nodes.remove(path);
        }
        self.remove_descendants(path, keep);
    }

    /// Removes everything strictly below `path`, except the paths `keep` says to keep.
    pub(crate) fn remove_descendants(&mut self, path: &str, keep: &dyn Fn(&str) -> bool) {
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        // All keys sharing a prefix are contiguous in a sorted map, starting at the prefix.
        let doomed: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| !keep(k))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            self.nodes.remove(&k);
        }
    }

    /// Resolves `path` (a directory that should exist), creating missing directories on the
    /// way with [`Meta::IMPLICIT_DIR`]; `created` is told each one. Returns its normalized path.
    pub(crate) fn make_parents(
        &mut self,
        path: &str,
        created: &mut dyn FnMut(&str),
    ) -> Result<String, PathError> {
        // Each round creates one directory; a path can need at most its own components plus
        // those of the symlinks it follows, so this bound is never reached by a sane tree.
        for _ in 0..4096 {
            match self.walk(path, true) {
                Ok(p) => {
                    return match self.nodes.get(&p) {
                        Some(Node::Dir(_)) => Ok(p),
                        _ => Err(PathError::NotADirectory { path: p }),
                    };
                }
                Err(PathError::Missing { path: missing }) => {
                    self.nodes
                        .insert(missing.clone(), Node::Dir(Meta::IMPLICIT_DIR));
                    created(&missing);
                }
                Err(e) => return Err(e),
            }
        }
        Err(PathError::TooManyLinks)
    }

    /// Path walk with chroot semantics. With `follow_final` false the last component is not
    /// followed and may be missing (the path where something would be created); every other
    /// component must exist and be a directory or a symlink to one.
    pub(crate) fn walk(&self, path: &str, follow_final: bool) -> Result<String, PathError> {
        // Components still to walk, in reverse order (a stack).
        let mut todo: Vec<String> = path
            .split('/')
            .rev()
            .filter(|c| !c.is_empty() && *c != ".")
            .map(str::to_string)
            .collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut hops = 0usize;
        let mut last_link: Option<String> = None;
        while let Some(c) = todo.pop() {
            if c == ".." {
                if resolved.pop().is_none() {
                    return Err(match last_link {
                        Some(link) => PathError::SymlinkEscapes { link },
                        None => PathError::ClimbsAboveRoot,
                    });
                }
                continue;
            }
            let here = path_of(&resolved.iter().map(String::as_str).collect::<Vec<_>>());
            let candidate = join(&here, &c);
            let is_final = todo.is_empty();
            match self.nodes.get(&candidate) {
                None => {
                    if is_final && !follow_final {
                        resolved.push(c);
                    } else {
                        return Err(PathError::Missing { path: candidate });
                    }
                }
                Some(Node::Symlink { target, .. }) if !is_final || follow_final => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(PathError::TooManyLinks);
                    }
                    if target.starts_with('/') {
                        resolved.clear();
                    }
                    todo.extend(
                        target
                            .split('/')
                            .rev()
                            .filter(|t| !t.is_empty() && *t != ".")
                            .map(str::to_string),
                    );
                    last_link = Some(candidate);
                }
                Some(Node::Dir(_)) => resolved.push(c),
                Some(_) if is_final => resolved.push(c),
                Some(_) => return Err(PathError::NotADirectory { path: candidate }),
            }
        }
        Ok(path_of(
            &resolved.iter().map(String::as_str).collect::<Vec<_>>(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(mode: u32) -> Meta {
        Meta {
            mode,
            uid: 0,
            gid: 0,
            mtime: 0,
        }
    }

    fn symlink(fs: &mut Rootfs, path: &str, target: &str) {
        fs.put(
            path.to_string(),
            Node::Symlink {
                meta: meta(0o777),
                target: target.to_string(),
            },
        );
    }

    #[test]
    fn new_has_root() {
        let fs = Rootfs::new();
        assert_eq!(fs.iter().map(|(p, _)| p).collect::<Vec<_>>(), vec!["/"]);
        assert!(fs.get("/").unwrap().is_dir());
    }

    #[test]
    fn insert_creates_parents_and_replaces() {
        let mut fs = Rootfs::new();
        fs.insert_file("/usr/bin/x", b"hi".to_vec(), meta(0o4755))
            .unwrap();
        assert_eq!(fs.get("/usr").unwrap(), &Node::Dir(Meta::IMPLICIT_DIR));
        assert_eq!(&**fs.read_file("usr/bin/x").unwrap(), b"hi");
        assert_eq!(fs.get("/usr/bin/x").unwrap().meta().mode, 0o4755);
        // A file replaces a directory with its contents.
        fs.insert_file("/usr", b"f".to_vec(), meta(0o644)).unwrap();
        assert!(fs.get("/usr/bin").is_none());
        assert!(fs.insert_file("/", vec![], meta(0o644)).is_err());
        assert!(fs.insert_file("/../x", vec![], meta(0o644)).is_err());
    }

    #[test]
    fn resolve_follows_links() {
        let mut fs = Rootfs::new();
        fs.insert_file("/usr/lib/libc.so", b"c".to_vec(), meta(0o644))
            .unwrap();
        symlink(&mut fs, "/lib", "usr/lib");
        symlink(&mut fs, "/usr/lib/libc.so.6", "/lib/libc.so");
        symlink(&mut fs, "/usr/lib/rel", "../lib/./libc.so");
        assert_eq!(fs.resolve("/lib/libc.so.6").unwrap(), "/usr/lib/libc.so");
        assert_eq!(fs.resolve("/lib/rel").unwrap(), "/usr/lib/libc.so");
        assert_eq!(fs.resolve("/lib/..").unwrap(), "/usr");
        assert_eq!(fs.resolve("/").unwrap(), "/");
        assert_eq!(&**fs.read_file("/lib/libc.so.6").unwrap(), b"c");
        assert!(fs.read_file("/lib").is_none());
        // get does not follow.
        assert!(matches!(fs.get("/lib"), Some(Node::Symlink { .. })));
        assert!(fs.get("/lib/libc.so").is_none());
    }

    #[test]
    fn resolve_errors() {
        let mut fs = Rootfs::new();
        symlink(&mut fs, "/evil", "../../..");
        symlink(&mut fs, "/a", "b");
        symlink(&mut fs, "/b", "a");
        fs.insert_file("/f", vec![], meta(0o644)).unwrap();
        let e = |p: &str| match fs.resolve(p) {
            Err(OciError::Path { source, .. }) => source,
            other => panic!("{p}: {other:?}"),
        };
        assert_eq!(
            e("/evil/x"),
            PathError::SymlinkEscapes {
                link: "/evil".into()
            }
        );
        assert_eq!(e("/.."), PathError::ClimbsAboveRoot);
        assert_eq!(e("/a"), PathError::TooManyLinks);
        assert_eq!(
            e("/nope/x"),
            PathError::Missing {
                path: "/nope".into()
            }
        );
        assert_eq!(e("/f/x"), PathError::NotADirectory { path: "/f".into() });
    }

    #[test]
    fn remove_tree_is_prefix_exact() {
        let mut fs = Rootfs::new();
        for p in ["/a/x", "/a-b", "/a.c/y", "/ab"] {
            fs.insert_file(p, vec![], meta(0o644)).unwrap();
        }
        fs.remove_tree("/a", &|_| false);
        let paths: Vec<_> = fs.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(paths, vec!["/", "/a-b", "/a.c", "/a.c/y", "/ab"]);
    }

    #[test]
    fn tar_roundtrip_is_deterministic() {
        let mut fs = Rootfs::new();
        fs.insert_file("/bin/sh", b"#!".to_vec(), meta(0o755))
            .unwrap();
        let long = format!("/{}/file", "d".repeat(150));
        fs.insert_file(&long, b"long".to_vec(), meta(0o600))
            .unwrap();
        symlink(&mut fs, "/lib", "usr/lib");
        let inode = match fs.get("/bin/sh").unwrap() {
            Node::File { inode, .. } => *inode,
            _ => unreachable!(),
        };
        let sh = fs.get("/bin/sh").unwrap().clone();
        fs.put("/bin/ash".to_string(), sh);
        fs.put("/dev".to_string(), Node::Dir(meta(0o755)));
        fs.put(
            "/dev/null".to_string(),
            Node::Other {
                meta: meta(0o666),
                kind: OtherKind::CharDevice { major: 1, minor: 3 },
            },
        );
        let mut a = Vec::new();
        fs.write_tar(&mut a).unwrap();
        let back = Rootfs::from_tar(&a[..]).unwrap();
        let mut b = Vec::new();
        back.write_tar(&mut b).unwrap();
        assert!(
            a == b,
            "write_tar(from_tar(write_tar(x))) differs from write_tar(x)"
        );
        assert_eq!(&**back.read_file(&long).unwrap(), b"long");
        // /bin/ash is written first, /bin/sh becomes a hard link to it.
        match (back.get("/bin/ash").unwrap(), back.get("/bin/sh").unwrap()) {
            (Node::File { inode: x, .. }, Node::File { inode: y, .. }) => assert_eq!(x, y),
            other => panic!("{other:?}"),
        }
        let _ = inode;
    }
}
