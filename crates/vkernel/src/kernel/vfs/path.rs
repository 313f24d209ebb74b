//! Path resolution ("namei"): from a starting directory and a byte path to an inode, the
//! way Linux walks it.
//!
//! - A path starting with `/` starts at the container's root; any other at the given
//!   directory (a dirfd's, or the cwd), which must be a directory (`ENOTDIR`).
//! - Empty components vanish (`a//b` is `a/b`); `.` stays; `..` goes to the parent, and
//!   `..` of the root is the root.
//! - Symlinks are followed in every component but the last, and in the last one unless
//!   the caller says not to; a relative target is resolved from the symlink's directory,
//!   an absolute one from the root. More than [`MAX_SYMLINK_HOPS`] in one resolution is
//!   `ELOOP`; an empty target is `ENOENT`.
//! - A trailing slash makes the last component follow symlinks and requires a directory
//!   (`ENOTDIR`).
//! - Limits: an empty path is `ENOENT`; a path of [`PATH_MAX`] bytes or more, or a component
//!   longer than [`NAME_MAX`], is `ENAMETOOLONG`; a NUL byte is `EINVAL` (C callers cannot
//!   pass one; other ABIs might).
//! - `/proc` (see [`super::procfs`]): the walk enters it at the mount point, `self` there is
//!   the [`View`]'s caller, and its "magic" links (`/proc/<pid>/fd/<n>`, `cwd`, `root`)
//!   lead to the open file or directory itself, whatever their text says.

use std::sync::Arc;

use super::View;
use super::inode::Inode;
use super::procfs::Link;
use crate::kernel::errno::{Errno, KResult};

/// Longest path, terminating NUL included, as Linux's `PATH_MAX`: a path has at most
/// 4095 bytes.
pub const PATH_MAX: usize = 4096;

/// Longest name of one component, as Linux's `NAME_MAX`.
pub const NAME_MAX: usize = 255;

/// Symlinks one resolution may follow, as Linux's `MAXSYMLINKS`.
pub const MAX_SYMLINK_HOPS: u32 = 40;

/// The last component of a path, as creating and removing calls see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Last {
    Name(Vec<u8>),
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// The path was only slashes.
    Root,
}

/// Where a non-directory was reached: the directory and the name it was found under
/// (what `/proc/<pid>/fd/<n>` shows for a file opened there).
#[derive(Clone)]
pub(crate) struct Loc {
    pub dir: Arc<Inode>,
    pub name: Box<[u8]>,
}

/// A path resolved up to its last component.
pub(crate) struct Parent {
    /// The directory the last component is (or would be) in.
    pub dir: Arc<Inode>,
    pub last: Last,
    /// Whether the path ended with a slash.
    pub trailing_slash: bool,
}

/// Checks a path's length and bytes before any lookup.
pub(crate) fn check_path(path: &[u8]) -> KResult<()> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if path.contains(&0) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

fn check_name(name: &[u8]) -> KResult<()> {
    if name.len() > NAME_MAX {
        Err(Errno::ENAMETOOLONG)
    } else {
        Ok(())
    }
}

impl View<'_> {
    /// Resolves `path` from `start` up to its last component, which is not looked up.
    pub(crate) fn walk_parent(
        &self,
        start: &Arc<Inode>,
        path: &[u8],
        hops: &mut u32,
    ) -> KResult<Parent> {
        check_path(path)?;
        let mut dir = if path[0] == b'/' {
            Arc::clone(&self.root)
        } else {
            Arc::clone(start)
        };
        if !dir.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let trailing_slash = path.ends_with(b"/");
        let mut comps = path.split(|&b| b == b'/').filter(|c| !c.is_empty());
        let Some(mut cur) = comps.next() else {
            return Ok(Parent {
                dir,
                last: Last::Root,
                trailing_slash: false,
            });
        };
        for next in comps {
            dir = self.step(&dir, cur, hops)?;
            cur = next;
        }
        let last = match cur {
            b"." => Last::Dot,
            b".." => Last::DotDot,
            name => {
                check_name(name)?;
                Last::Name(name.to_vec())
            }
        };
        Ok(Parent {
            dir,
            last,
            trailing_slash,
        })
    }

    /// Resolves `path` from `start` to an inode, following a symlink in the last component
    /// if `follow_last` (or if the path ends with a slash).
    pub(crate) fn walk(
        &self,
        start: &Arc<Inode>,
        path: &[u8],
        follow_last: bool,
        hops: &mut u32,
    ) -> KResult<Arc<Inode>> {
        self.walk_loc(start, path, follow_last, hops)
            .map(|(inode, _)| inode)
    }

    /// [`Self::walk`], also saying where a non-directory it reached is named.
    pub(crate) fn walk_loc(
        &self,
        start: &Arc<Inode>,
        path: &[u8],
        follow_last: bool,
        hops: &mut u32,
    ) -> KResult<(Arc<Inode>, Option<Loc>)> {
        let p = self.walk_parent(start, path, hops)?;
        let (node, loc) = match p.last {
            Last::Root | Last::Dot => (p.dir, None),
            Last::DotDot => (self.parent_of(&p.dir)?, None),
            Last::Name(name) => {
                let child = self.child(&p.dir, &name)?;
                if (follow_last || p.trailing_slash) && child.is_symlink() {
                    self.follow_loc(&p.dir, child, hops)?
                } else {
                    let loc = Loc {
                        dir: p.dir,
                        name: name.into(),
                    };
                    (child, Some(loc))
                }
            }
        };
        if p.trailing_slash && !node.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok((node, loc))
    }

    /// The file `name` names in directory `dir`: an entry of the layer (the mount
    /// point's gives `/proc`), or one of `/proc`'s.
    pub(crate) fn child(&self, dir: &Arc<Inode>, name: &[u8]) -> KResult<Arc<Inode>> {
        if let Some(p) = dir.proc() {
            return p.lookup(name, self.caller);
        }
        let child = dir.dir()?.lookup(name)?;
        Ok(self.covered(dir, name, child))
    }

    /// One intermediate component: the directory `name` leads to from `dir`.
    fn step(&self, dir: &Arc<Inode>, name: &[u8], hops: &mut u32) -> KResult<Arc<Inode>> {
        let next = match name {
            b"." => return Ok(Arc::clone(dir)),
            b".." => return self.parent_of(dir),
            name => {
                check_name(name)?;
                let child = self.child(dir, name)?;
                self.follow(dir, child, hops)?
            }
        };
        if next.is_dir() {
            Ok(next)
        } else {
            Err(Errno::ENOTDIR)
        }
    }

    /// `inode` if it is not a symlink, else what its target resolves to (from `dir`, the
    /// directory holding the link), counting the hop.
    pub(crate) fn follow(
        &self,
        dir: &Arc<Inode>,
        inode: Arc<Inode>,
        hops: &mut u32,
    ) -> KResult<Arc<Inode>> {
        self.follow_loc(dir, inode, hops).map(|(inode, _)| inode)
    }

    /// [`Self::follow`], also saying where a non-directory it reached is named (`None`
    /// for `inode` itself when it is not a symlink).
    pub(crate) fn follow_loc(
        &self,
        dir: &Arc<Inode>,
        inode: Arc<Inode>,
        hops: &mut u32,
    ) -> KResult<(Arc<Inode>, Option<Loc>)> {
        if !inode.is_symlink() {
            return Ok((inode, None));
        }
        *hops += 1;
        if *hops > MAX_SYMLINK_HOPS {
            return Err(Errno::ELOOP);
        }
        if let Some(p) = inode.proc() {
            return match p.follow(self.caller)? {
                Link::Jump(to, loc) => Ok((to, loc)),
                Link::Path(target) => self.walk_loc(dir, &target, true, hops),
            };
        }
        let Some(target) = inode.symlink_target() else {
            return Ok((inode, None));
        };
        self.walk_loc(dir, target, true, hops)
    }

    /// `..` of a directory: its parent, or itself for the root. A directory whose parent
    /// is gone (removed, and the parent dropped) has none: `ENOENT`. `..` of `/proc` is
    /// the mount point's parent.
    pub(crate) fn parent_of(&self, dir: &Arc<Inode>) -> KResult<Arc<Inode>> {
        if Arc::ptr_eq(dir, &self.root) {
            return Ok(Arc::clone(dir));
        }
        if let Some(p) = dir.proc() {
            return p.parent();
        }
        dir.parent().ok_or(Errno::ENOENT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Vfs;
    use crate::kernel::clock::FixedClock;
    use crate::kernel::testutil::{E, image};

    fn vfs() -> Vfs {
        let img = image(&[
            E::Dir("/usr/lib", 0o755),
            E::File("/usr/lib/libc.so", 0o644, b"c"),
            E::Symlink("/lib", "usr/lib"),
            E::Symlink("/usr/lib/abs", "/usr/lib/libc.so"),
            E::Symlink("/usr/lib/rel", "../lib/./libc.so"),
            E::Symlink("/loop1", "loop2"),
            E::Symlink("/loop2", "loop1"),
            E::Symlink("/empty_dangling", "nowhere"),
            E::Symlink("/up", "../../.."),
            E::File("/f", 0o644, b""),
        ]);
        Vfs::new(img, Arc::new(FixedClock::new(0)), 1 << 20)
    }

    fn ino(v: &Vfs, path: &str, follow: bool) -> KResult<u64> {
        v.lookup(v.root(), path.as_bytes(), follow).map(|i| i.ino())
    }

    #[test]
    fn follows_symlinks_in_every_component() {
        let v = vfs();
        let libc = ino(&v, "/usr/lib/libc.so", true).unwrap();
        assert_eq!(ino(&v, "/lib/libc.so", true), Ok(libc));
        assert_eq!(ino(&v, "/lib/abs", true), Ok(libc));
        assert_eq!(ino(&v, "lib/rel", true), Ok(libc));
        assert_ne!(ino(&v, "/lib/abs", false), Ok(libc));
        assert_eq!(ino(&v, "//usr///lib/./libc.so", true), Ok(libc));
        // `..` is taken on the resolved directory, not lexically: /lib/.. is /usr.
        assert_eq!(ino(&v, "/lib/..", true), ino(&v, "/usr", true));
        assert_eq!(ino(&v, "/..", true), ino(&v, "/", true));
        assert_eq!(
            ino(&v, "/up", true),
            ino(&v, "/", true),
            "climbing stops at /"
        );
    }

    #[test]
    fn errors() {
        let v = vfs();
        assert_eq!(ino(&v, "", true), Err(Errno::ENOENT));
        assert_eq!(ino(&v, "/nope", true), Err(Errno::ENOENT));
        assert_eq!(ino(&v, "/loop1", true), Err(Errno::ELOOP));
        assert!(ino(&v, "/loop1", false).is_ok());
        assert_eq!(ino(&v, "/loop1/x", false), Err(Errno::ELOOP));
        assert_eq!(ino(&v, "/empty_dangling", true), Err(Errno::ENOENT));
        assert_eq!(ino(&v, "/f/x", true), Err(Errno::ENOTDIR));
        assert_eq!(ino(&v, "/f/", true), Err(Errno::ENOTDIR));
        assert_eq!(ino(&v, "/f/.", true), Err(Errno::ENOTDIR));
        assert!(ino(&v, "/lib/", false).is_ok(), "trailing slash follows");
        let long = format!("/{}", "a".repeat(256));
        assert_eq!(ino(&v, &long, true), Err(Errno::ENAMETOOLONG));
        assert_eq!(
            ino(&v, &format!("/{}", "a".repeat(255)), true),
            Err(Errno::ENOENT)
        );
        let deep = "/.".repeat(2048);
        assert_eq!(ino(&v, &deep, true), Err(Errno::ENAMETOOLONG));
        assert_eq!(ino(&v, &deep[..4094], true), ino(&v, "/", true));
        assert_eq!(ino(&v, "/a\0b", true), Err(Errno::EINVAL));
        let f = v.lookup(v.root(), b"/f", true).unwrap();
        assert_eq!(v.lookup(&f, b"x", true).err(), Some(Errno::ENOTDIR));
        assert!(
            v.lookup(&f, b"/usr", true).is_ok(),
            "absolute paths ignore the start"
        );
    }

    #[test]
    fn forty_hops_are_allowed_41_are_not() {
        let mut entries = vec![E::File("/t", 0o644, b"")];
        let names: Vec<String> = (0..=41).map(|i| format!("/l{i}")).collect();
        let targets: Vec<String> = (0..=41)
            .map(|i| {
                if i == 0 {
                    "t".to_string()
                } else {
                    format!("l{}", i - 1)
                }
            })
            .collect();
        for i in 0..=41 {
            entries.push(E::Symlink(&names[i], &targets[i]));
        }
        let v = Vfs::new(image(&entries), Arc::new(FixedClock::new(0)), 1 << 20);
        assert!(ino(&v, "/l39", true).is_ok(), "40 hops");
        assert_eq!(ino(&v, "/l40", true), Err(Errno::ELOOP), "41 hops");
    }
}
