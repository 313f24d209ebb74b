//! The lower layer: an image's files, indexed once per bundle and shared read-only by every
//! container of that image.
//!
//! [`Image`] turns a [`recompiler_oci::Rootfs`] (a map from path to node) into what lookups
//! need: a directory's children by name, stable inode numbers (image hard links share one),
//! link counts, and file contents as the rootfs's own `Arc<[u8]>` (never copied: a container
//! shares them until it writes). It also provides what a container runtime gives every
//! container when the image lacks it: `/dev` with the devices every Linux program expects
//! (`null`, `zero`, `full`, `random`, `urandom`) and the links into `/proc` (`fd`,
//! `stdin`, `stdout`, `stderr`), and an empty `/proc` to mount procfs on.
//!
//! This module owns the index; materializing inodes from it, per container, is
//! [`super::inode`]'s job.

use std::collections::HashMap;
use std::sync::Arc;

use recompiler_oci::{Node, OtherKind, Rootfs};

use crate::kernel::clock::NANOS_PER_SEC;

/// The uid/gid Linux shows for ids that do not fit (`/proc/sys/kernel/overflowuid`).
const OVERFLOW_ID: u32 = 65534;

/// The character devices `/dev` gets when the image has none of that name:
/// (name, major, minor), Linux's numbers for the `mem` driver.
const STANDARD_DEVICES: &[(&str, u32, u32)] = &[
    ("full", 1, 7),
    ("null", 1, 3),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("zero", 1, 5),
];

/// The symlinks `/dev` gets when the image has none of that name: (name, target), as
/// Docker and runc make them.
const STANDARD_LINKS: &[(&str, &str)] = &[
    ("fd", "/proc/self/fd"),
    ("stderr", "/proc/self/fd/2"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
];

/// Attributes of an image node, already in the kernel's units.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ImageMeta {
    /// Permission bits (`0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Nanoseconds since the epoch.
    pub mtime: i64,
}

#[derive(Debug)]
pub(crate) enum ImageKind {
    Dir {
        /// (name, node index), sorted by name.
        children: Vec<(Box<[u8]>, u32)>,
        /// How many children are directories (a directory's link count is 2 + this).
        subdirs: u32,
    },
    File {
        data: Arc<[u8]>,
        /// How many paths of the image name this file (hard links).
        nlink: u32,
    },
    Symlink(Box<[u8]>),
    Device {
        block: bool,
        major: u32,
        minor: u32,
    },
    Fifo,
}

#[derive(Debug)]
pub(crate) struct ImageNode {
    pub meta: ImageMeta,
    /// Inode number, the same in every container; hard links share it.
    pub ino: u64,
    pub kind: ImageKind,
}

/// An image's files as the VFS's lower layer. Build it once per bundle and share it
/// (`Arc<Image>`) between containers; it is never modified.
#[derive(Debug)]
pub struct Image {
    /// Index 0 is the root directory.
    nodes: Vec<ImageNode>,
    /// The first inode number not used by the image: containers number their own files
    /// from here.
    first_free_ino: u64,
    file_bytes: u64,
}

fn clamp_id(id: u64) -> u32 {
    u32::try_from(id).unwrap_or(OVERFLOW_ID)
}

fn meta_of(meta: &recompiler_oci::Meta) -> ImageMeta {
    ImageMeta {
        mode: meta.mode & 0o7777,
        uid: clamp_id(meta.uid),
        gid: clamp_id(meta.gid),
        mtime: i64::try_from(meta.mtime)
            .ok()
            .and_then(|s| s.checked_mul(NANOS_PER_SEC))
            .unwrap_or(i64::MAX),
    }
}

impl Image {
    /// An image holding only `/`, `/dev` with the standard devices and links, and `/proc`.
    pub fn empty() -> Image {
        Image::from_rootfs(&Rootfs::new())
    }

    /// Indexes `rootfs`. File contents are shared with it, not copied.
    pub fn from_rootfs(rootfs: &Rootfs) -> Image {
        // Link counts of regular files, by the rootfs's inode numbers.
        let mut links: HashMap<u64, u32> = HashMap::new();
        for (_, node) in rootfs.iter() {
            if let Node::File { inode, .. } = node {
                *links.entry(*inode).or_default() += 1;
            }
        }
        let mut nodes: Vec<ImageNode> = Vec::with_capacity(rootfs.len() + 8);
        let mut index: HashMap<&str, u32> = HashMap::with_capacity(rootfs.len());
        // The kernel's inode number of each rootfs hard-link group, by rootfs inode.
        let mut ino_of_link: HashMap<u64, u64> = HashMap::new();
        let mut file_bytes = 0u64;
        for (path, node) in rootfs.iter() {
            let meta = meta_of(node.meta());
            let idx = u32::try_from(nodes.len()).unwrap_or(u32::MAX);
            let mut ino = u64::from(idx) + 1;
            let kind = match node {
                Node::Dir(_) => ImageKind::Dir {
                    children: Vec::new(),
                    subdirs: 0,
                },
                Node::File { data, inode, .. } => {
                    let nlink = links.get(inode).copied().unwrap_or(1);
                    ino = *ino_of_link.entry(*inode).or_insert(ino);
                    file_bytes += data.len() as u64;
                    ImageKind::File {
                        data: Arc::clone(data),
                        nlink,
                    }
                }
                Node::Symlink { target, .. } => {
                    ImageKind::Symlink(target.as_bytes().to_vec().into_boxed_slice())
                }
                Node::Other { kind, .. } => match *kind {
                    OtherKind::CharDevice { major, minor } => ImageKind::Device {
                        block: false,
                        major,
                        minor,
                    },
                    OtherKind::BlockDevice { major, minor } => ImageKind::Device {
                        block: true,
                        major,
                        minor,
                    },
                    OtherKind::Fifo => ImageKind::Fifo,
                },
            };
            if path == "/" {
                if !nodes.is_empty() || !node.is_dir() {
                    continue;
                }
            } else {
                // The rootfs lists a directory before its contents, so the parent is indexed.
                let (parent, name) = match path.rfind('/') {
                    Some(0) => ("/", &path[1..]),
                    Some(i) => (&path[..i], &path[i + 1..]),
                    None => continue,
                };
                let Some(&pidx) = index.get(parent) else {
                    continue;
                };
                let is_dir = node.is_dir();
                if let ImageKind::Dir { children, subdirs } = &mut nodes[pidx as usize].kind {
                    children.push((name.as_bytes().into(), idx));
                    *subdirs += u32::from(is_dir);
                } else {
                    continue;
                }
            }
            index.insert(path, idx);
            nodes.push(ImageNode { meta, ino, kind });
        }
        if nodes.is_empty() {
            nodes.push(ImageNode {
                meta: ImageMeta {
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                    mtime: 0,
                },
                ino: 1,
                kind: ImageKind::Dir {
                    children: Vec::new(),
                    subdirs: 0,
                },
            });
        }
        let mut image = Image {
            first_free_ino: 0,
            nodes,
            file_bytes,
        };
        image.add_devices();
        image.add_proc();
        for node in &mut image.nodes {
            if let ImageKind::Dir { children, .. } = &mut node.kind {
                children.sort_by(|a, b| a.0.cmp(&b.0));
            }
        }
        image.first_free_ino = image.nodes.len() as u64 + 1;
        image
    }

    /// Gives the image a `/dev` holding the standard devices, unless `/dev` is something
    /// other than a directory (then the image's choice stands).
    fn add_devices(&mut self) {
        let dev_meta = ImageMeta {
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: 0,
        };
        let dev = match self.child(0, b"dev") {
            Some(idx) => idx,
            None => {
                let idx = self.push(ImageNode {
                    meta: dev_meta,
                    ino: 0,
                    kind: ImageKind::Dir {
                        children: Vec::new(),
                        subdirs: 0,
                    },
                });
                if let ImageKind::Dir { children, subdirs } = &mut self.nodes[0].kind {
                    children.push((b"dev".as_slice().into(), idx));
                    *subdirs += 1;
                }
                idx
            }
        };
        if !matches!(self.nodes[dev as usize].kind, ImageKind::Dir { .. }) {
            return;
        }
        for &(name, major, minor) in STANDARD_DEVICES {
            if self.child(dev, name.as_bytes()).is_some() {
                continue;
            }
            let idx = self.push(ImageNode {
                meta: ImageMeta {
                    mode: 0o666,
                    ..dev_meta
                },
                ino: 0,
                kind: ImageKind::Device {
                    block: false,
                    major,
                    minor,
                },
            });
            if let ImageKind::Dir { children, .. } = &mut self.nodes[dev as usize].kind {
                children.push((name.as_bytes().into(), idx));
            }
        }
        for &(name, target) in STANDARD_LINKS {
            if self.child(dev, name.as_bytes()).is_some() {
                continue;
            }
            let idx = self.push(ImageNode {
                meta: ImageMeta {
                    mode: 0o777,
                    ..dev_meta
                },
                ino: 0,
                kind: ImageKind::Symlink(target.as_bytes().into()),
            });
            if let ImageKind::Dir { children, .. } = &mut self.nodes[dev as usize].kind {
                children.push((name.as_bytes().into(), idx));
            }
        }
    }

    /// Gives the image an empty `/proc` (the mount point of procfs) unless it has one.
    fn add_proc(&mut self) {
        if self.child(0, b"proc").is_some() {
            return;
        }
        let idx = self.push(ImageNode {
            meta: ImageMeta {
                mode: 0o555,
                uid: 0,
                gid: 0,
                mtime: 0,
            },
            ino: 0,
            kind: ImageKind::Dir {
                children: Vec::new(),
                subdirs: 0,
            },
        });
        if let ImageKind::Dir { children, subdirs } = &mut self.nodes[0].kind {
            children.push((b"proc".as_slice().into(), idx));
            *subdirs += 1;
        }
    }

    fn push(&mut self, mut node: ImageNode) -> u32 {
        let idx = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        node.ino = u64::from(idx) + 1;
        self.nodes.push(node);
        idx
    }

    /// Whether the root has a directory `name`.
    pub(crate) fn root_has_dir(&self, name: &[u8]) -> bool {
        self.child(0, name)
            .is_some_and(|i| matches!(self.node(i).kind, ImageKind::Dir { .. }))
    }

    fn child(&self, dir: u32, name: &[u8]) -> Option<u32> {
        match &self.nodes.get(dir as usize)?.kind {
            ImageKind::Dir { children, .. } => {
                children.iter().find(|(n, _)| &**n == name).map(|&(_, i)| i)
            }
            _ => None,
        }
    }

    /// The node at `idx`. Indices come from this image only, so they are in range; an
    /// out-of-range one gets the root rather than a panic.
    pub(crate) fn node(&self, idx: u32) -> &ImageNode {
        self.nodes.get(idx as usize).unwrap_or(&self.nodes[0])
    }

    /// The first inode number containers may give their own files.
    pub(crate) fn first_free_ino(&self) -> u64 {
        self.first_free_ino
    }

    /// How many nodes the image has (the root and the added devices included).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Never true: the root is always there.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Total bytes of regular file contents (hard links counted once per path).
    pub fn file_bytes(&self) -> u64 {
        self.file_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recompiler_oci::Meta;

    fn meta(mode: u32) -> Meta {
        Meta {
            mode,
            uid: 0,
            gid: 0,
            mtime: 7,
        }
    }

    #[test]
    fn indexes_children_sorted_with_devices() {
        let mut fs = Rootfs::new();
        fs.insert_file("/usr/bin/b", b"b".to_vec(), meta(0o755))
            .unwrap();
        fs.insert_file("/usr/bin/a", b"a".to_vec(), meta(0o755))
            .unwrap();
        fs.insert_file("/etc/passwd", b"root".to_vec(), meta(0o644))
            .unwrap();
        let image = Image::from_rootfs(&fs);
        let names = |idx: u32| match &image.node(idx).kind {
            ImageKind::Dir { children, .. } => children
                .iter()
                .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(names(0), vec!["dev", "etc", "proc", "usr"]);
        let dev = image.child(0, b"dev").unwrap();
        assert_eq!(
            names(dev),
            vec![
                "fd", "full", "null", "random", "stderr", "stdin", "stdout", "urandom", "zero"
            ]
        );
        let stdin = image.child(dev, b"stdin").unwrap();
        assert!(
            matches!(&image.node(stdin).kind, ImageKind::Symlink(t) if &**t == b"/proc/self/fd/0")
        );
        assert!(image.root_has_dir(b"proc"));
        let bin = image
            .child(image.child(0, b"usr").unwrap(), b"bin")
            .unwrap();
        assert_eq!(names(bin), vec!["a", "b"]);
        match image.node(0).kind {
            ImageKind::Dir { subdirs, .. } => assert_eq!(subdirs, 4),
            _ => unreachable!(),
        }
        assert_eq!(image.file_bytes(), 6);
        assert_eq!(image.first_free_ino(), image.len() as u64 + 1);
        let a = image.child(bin, b"a").unwrap();
        assert_eq!(image.node(a).meta.mtime, 7 * NANOS_PER_SEC);
    }

    #[test]
    fn empty_image_has_root_dev_and_proc() {
        let image = Image::empty();
        // /, /dev and its 5 devices and 4 links, /proc.
        assert_eq!(image.len(), 12);
        assert!(image.child(0, b"dev").is_some());
        assert!(!image.is_empty());
    }

    #[test]
    fn dev_that_is_not_a_directory_is_left_alone() {
        let mut fs = Rootfs::new();
        fs.insert_file("/dev", vec![], meta(0o644)).unwrap();
        let image = Image::from_rootfs(&fs);
        let dev = image.child(0, b"dev").unwrap();
        assert!(matches!(image.node(dev).kind, ImageKind::File { .. }));
        assert_eq!(image.len(), 3, "/, the file /dev, /proc");
    }
}
