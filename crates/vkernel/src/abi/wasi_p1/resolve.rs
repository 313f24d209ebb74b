//! Path arguments resolved beneath a directory fd, the way wasmtime-wasi (cap-std) does:
//! a preview1 path never leaves the directory it is relative to.
//!
//! The rules (cap-std's, except the one marked):
//! - An absolute path is refused with `EPERM` (wasmtime-wasi answers `PERM`).
//! - `.` stays; `..` goes back to the directory the walk came from, and `..` at the
//!   starting directory is an escape: `EPERM`.
//! - Symlinks are expanded in place, in every component but the last, and in the last one
//!   if the caller follows it (or the path ends with a slash). A relative target is walked
//!   from the symlink's directory under the same rules, so it cannot escape either. More
//!   than [`MAX_SYMLINK_HOPS`] expansions is `ELOOP`; an empty target is `ENOENT`.
//! - Different on purpose: an absolute symlink target is walked from the container's root
//!   (cap-std refuses it). The container's root is the real sandbox, and images are full of
//!   absolute symlinks; `..` at the root is still an escape.
//! - `/proc`'s magic links (`/proc/<pid>/fd/<n>`, `cwd`, `root`) lead to the open file or
//!   directory itself, as in the kernel's own walk: in the middle of a path the walk goes on
//!   in the directory one leads to (like an absolute symlink); as the last component it is
//!   handed to the kernel operation, which follows it. `/proc/self` is the view's caller.
//!
//! Resolution stops at the last component, which it returns with its directory: the caller
//! hands that single name to the kernel operation (open, mkdir, unlink, ...), whose Linux
//! semantics then apply to it and cannot reach outside. This module does not own those
//! semantics; it only decides which directory and name a WASI path means.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::kernel::vfs::{MAX_SYMLINK_HOPS, NAME_MAX, PATH_MAX};
use crate::kernel::{Errno, FileType, Inode, KResult, View};

/// A path resolved beneath a directory up to its last component.
#[derive(Debug)]
pub struct Resolved {
    /// The directory the last component is (or would be) in.
    pub dir: Arc<Inode>,
    /// The last component; `None` when the path names `dir` itself (it ended with `.` or
    /// `..`).
    pub name: Option<Vec<u8>>,
    /// The path (or the last symlink expanded) ended with a slash: the last component must
    /// be a directory.
    pub trailing_slash: bool,
}

impl Resolved {
    /// The path to hand the kernel, relative to [`Resolved::dir`]: the last component (with
    /// its trailing slash), or `.`.
    pub fn kernel_path(&self) -> Vec<u8> {
        match &self.name {
            Some(name) => {
                let mut p = name.clone();
                if self.trailing_slash {
                    p.push(b'/');
                }
                p
            }
            None => b".".to_vec(),
        }
    }
}

/// The non-empty components of `path`, in order.
fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

/// Resolves `path` beneath `base` (see the module docs), following a symlink in the last
/// component if `follow_last`.
pub fn resolve(
    vfs: &View<'_>,
    base: &Arc<Inode>,
    path: &[u8],
    follow_last: bool,
) -> KResult<Resolved> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if path.contains(&0) {
        return Err(Errno::EINVAL);
    }
    if path[0] == b'/' {
        return Err(Errno::EPERM);
    }
    if !base.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let mut queue: VecDeque<Vec<u8>> = components(path).map(<[u8]>::to_vec).collect();
    let mut trailing_slash = path.ends_with(b"/");
    let mut stack: Vec<Arc<Inode>> = vec![Arc::clone(base)];
    let mut hops = 0u32;
    loop {
        // The stack is never empty: it starts with one entry, `..` never pops the last,
        // and an absolute symlink replaces it with the root.
        let Some(top) = stack.last().cloned() else {
            return Err(Errno::ENOENT);
        };
        let Some(comp) = queue.pop_front() else {
            // Only after an absolute symlink to "/" (or "//"...).
            return Ok(Resolved {
                dir: top,
                name: None,
                trailing_slash,
            });
        };
        let last = queue.is_empty();
        match comp.as_slice() {
            b"." => {}
            b".." => {
                if stack.len() == 1 {
                    return Err(Errno::EPERM);
                }
                stack.pop();
            }
            name => {
                if name.len() > NAME_MAX {
                    return Err(Errno::ENAMETOOLONG);
                }
                let follow = !last || follow_last || trailing_slash;
                if last && !follow {
                    return Ok(Resolved {
                        dir: top,
                        name: Some(comp),
                        trailing_slash,
                    });
                }
                let child = match vfs.lookup(&top, name, false) {
                    Ok(child) => child,
                    // The last component may be about to be created.
                    Err(Errno::ENOENT) if last => {
                        return Ok(Resolved {
                            dir: top,
                            name: Some(comp),
                            trailing_slash,
                        });
                    }
                    Err(e) => return Err(e),
                };
                if child.is_magic_link() {
                    if last {
                        return Ok(Resolved {
                            dir: top,
                            name: Some(comp),
                            trailing_slash,
                        });
                    }
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(Errno::ELOOP);
                    }
                    let to = vfs.lookup(&top, name, true)?;
                    if !to.is_dir() {
                        return Err(Errno::ENOTDIR);
                    }
                    stack.push(to);
                    continue;
                }
                if child.file_type() == FileType::Symlink {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(Errno::ELOOP);
                    }
                    let target = vfs.readlinkat(&child, b"")?;
                    if target.is_empty() {
                        return Err(Errno::ENOENT);
                    }
                    if target[0] == b'/' {
                        stack = vec![Arc::clone(vfs.root())];
                    }
                    if last && target.ends_with(b"/") {
                        trailing_slash = true;
                    }
                    for c in components(&target).rev() {
                        queue.push_front(c.to_vec());
                    }
                    continue;
                }
                if last {
                    return Ok(Resolved {
                        dir: top,
                        name: Some(comp),
                        trailing_slash,
                    });
                }
                if !child.is_dir() {
                    return Err(Errno::ENOTDIR);
                }
                stack.push(child);
                continue;
            }
        }
        if last {
            let dir = stack.last().cloned().ok_or(Errno::ENOENT)?;
            return Ok(Resolved {
                dir,
                name: None,
                trailing_slash,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::testutil::{E, image};
    use crate::kernel::{FixedClock, Vfs};

    fn vfs() -> Vfs {
        let img = image(&[
            E::Dir("/usr/lib", 0o755),
            E::File("/usr/lib/libc.so", 0o644, b"c"),
            E::Symlink("/lib", "usr/lib"),
            E::Symlink("/usr/lib/abs", "/usr/lib/libc.so"),
            E::Symlink("/usr/lib/rel", "../lib/./libc.so"),
            E::Symlink("/usr/lib/out", "../../../etc"),
            E::Symlink("/usr/lib/dirlink", "."),
            E::Symlink("/loop1", "loop2"),
            E::Symlink("/loop2", "loop1"),
            E::Symlink("/dangling", "newfile"),
            E::File("/f", 0o644, b""),
        ]);
        Vfs::new(img, Arc::new(FixedClock::new(0)), 1 << 20)
    }

    fn name_of(r: &Resolved) -> Option<&[u8]> {
        r.name.as_deref()
    }

    #[test]
    fn stops_at_the_last_component() {
        let v = vfs();
        let root = Arc::clone(v.root());
        let usr_lib = v.lookup(&root, b"/usr/lib", true).unwrap();
        let r = resolve(&v.host_view(), &root, b"usr/lib/libc.so", true).unwrap();
        assert!(Arc::ptr_eq(&r.dir, &usr_lib));
        assert_eq!(name_of(&r), Some(&b"libc.so"[..]));
        assert_eq!(r.kernel_path(), b"libc.so");
        // Through a symlinked directory, and following a relative symlink at the end.
        let r = resolve(&v.host_view(), &root, b"lib/rel", true).unwrap();
        assert!(Arc::ptr_eq(&r.dir, &usr_lib));
        assert_eq!(name_of(&r), Some(&b"libc.so"[..]));
        // Not following the last one.
        let r = resolve(&v.host_view(), &root, b"lib/rel", false).unwrap();
        assert_eq!(name_of(&r), Some(&b"rel"[..]));
        // An absolute target starts at the container's root.
        let r = resolve(&v.host_view(), &root, b"usr/lib/abs", true).unwrap();
        assert!(Arc::ptr_eq(&r.dir, &usr_lib));
        // `.` and `..` name a directory.
        let r = resolve(&v.host_view(), &root, b"usr/lib/..", true).unwrap();
        assert!(r.name.is_none());
        assert_eq!(r.kernel_path(), b".");
        assert_eq!(r.dir.ino(), v.lookup(&root, b"/usr", true).unwrap().ino());
        let r = resolve(&v.host_view(), &root, b"./", true).unwrap();
        assert!(Arc::ptr_eq(&r.dir, &root));
        // A missing last component is fine (it may be created), a dangling link too.
        let r = resolve(&v.host_view(), &root, b"usr/new/", false).unwrap();
        assert_eq!(r.kernel_path(), b"new/");
        let r = resolve(&v.host_view(), &root, b"dangling", true).unwrap();
        assert_eq!(name_of(&r), Some(&b"newfile"[..]));
    }

    #[test]
    fn escapes_are_refused() {
        let v = vfs();
        let root = Arc::clone(v.root());
        let usr = v.lookup(&root, b"/usr", true).unwrap();
        assert_eq!(
            resolve(&v.host_view(), &root, b"/usr", true).err(),
            Some(Errno::EPERM)
        );
        assert_eq!(
            resolve(&v.host_view(), &root, b"..", true).err(),
            Some(Errno::EPERM)
        );
        assert_eq!(
            resolve(&v.host_view(), &root, b"usr/../..", true).err(),
            Some(Errno::EPERM)
        );
        assert_eq!(
            resolve(&v.host_view(), &usr, b"../usr", true).err(),
            Some(Errno::EPERM)
        );
        assert!(resolve(&v.host_view(), &usr, b"lib/../lib", true).is_ok());
        // A relative symlink climbing out of the base.
        assert_eq!(
            resolve(&v.host_view(), &usr, b"lib/out", true).err(),
            Some(Errno::EPERM)
        );
        assert!(
            resolve(&v.host_view(), &usr, b"lib/out", false).is_ok(),
            "not followed"
        );
        // `..` after a symlink goes back where the walk came from.
        let r = resolve(&v.host_view(), &usr, b"lib/dirlink/../lib", true).unwrap();
        assert_eq!(name_of(&r), Some(&b"lib"[..]));
        assert!(Arc::ptr_eq(&r.dir, &usr));
    }

    #[test]
    fn errors() {
        let v = vfs();
        let root = Arc::clone(v.root());
        assert_eq!(
            resolve(&v.host_view(), &root, b"", true).err(),
            Some(Errno::ENOENT)
        );
        assert_eq!(
            resolve(&v.host_view(), &root, b"loop1", true).err(),
            Some(Errno::ELOOP)
        );
        assert!(resolve(&v.host_view(), &root, b"loop1", false).is_ok());
        assert_eq!(
            resolve(&v.host_view(), &root, b"f/x", true).err(),
            Some(Errno::ENOTDIR)
        );
        assert_eq!(
            resolve(&v.host_view(), &root, b"nope/x", true).err(),
            Some(Errno::ENOENT)
        );
        assert_eq!(
            resolve(&v.host_view(), &root, b"a\0b", true).err(),
            Some(Errno::EINVAL)
        );
        let long = "a".repeat(256);
        assert_eq!(
            resolve(&v.host_view(), &root, long.as_bytes(), true).err(),
            Some(Errno::ENAMETOOLONG)
        );
        let deep = "./".repeat(2048);
        assert_eq!(
            resolve(&v.host_view(), &root, deep.as_bytes(), true).err(),
            Some(Errno::ENAMETOOLONG)
        );
        let f = v.lookup(&root, b"/f", true).unwrap();
        assert_eq!(
            resolve(&v.host_view(), &f, b"x", true).err(),
            Some(Errno::ENOTDIR)
        );
    }
}
