//! Applying one tar stream (an image layer, or a rootfs tar read back) onto a [`Rootfs`].
//!
//! Layer semantics follow the OCI image spec's changeset rules:
//! - `.wh.<name>` removes `<name>` and everything below it that came from lower layers;
//! - `.wh..wh..opq` empties its directory of everything that came from lower layers;
//! - entries of the layer itself survive both, whatever their order in the tar: we remember
//!   every path the layer created or touched (and their ancestors) and whiteouts skip those;
//! - other `.wh..wh.*` names (aufs bookkeeping) are ignored.
//!
//! Security: names that are absolute or climb above `/`, parents that resolve through a symlink
//! leading above `/`, and hard links whose target does so, are refused with an error naming the
//! origin (layer) and the entry. Parent symlinks that stay inside are followed
//! (`lib -> usr/lib`), and missing parents are created with mode 0755. Decompression and digest
//! checks are not done here (see [`crate::layer`]).

use std::collections::HashSet;
use std::io::Read;
use std::sync::Arc;

use crate::OciError;
use crate::error::{EntryErrorKind, PathError};
use crate::rootfs::{Meta, Node, OtherKind, Rootfs, join, lexical_components, parent_of};

/// The most we reserve up front for a file's data, whatever its header claims: a lying header
/// in a truncated stream must not make us allocate gigabytes before we notice.
const MAX_PREALLOC: u64 = 1 << 20;

/// Applies every entry of the tar stream `reader` to `rootfs`. `origin` names the stream in
/// errors (`"<image>: layer sha256:..."`); `whiteouts` turns on `.wh.` handling.
pub(crate) fn apply_tar<R: Read>(
    rootfs: &mut Rootfs,
    reader: R,
    origin: &str,
    whiteouts: bool,
) -> Result<(), OciError> {
    apply_tar_with(rootfs, reader, origin, whiteouts, MAX_PREALLOC)
}

/// [`apply_tar`] where a file's buffer may be allocated up to `prealloc`
/// bytes at once from its header's size: a stream already in memory can
/// claim no more than its own length, so its files are read into buffers of
/// their final size instead of growing ones (a 90 MB file was copied four
/// times).
pub(crate) fn apply_tar_with<R: Read>(
    rootfs: &mut Rootfs,
    reader: R,
    origin: &str,
    whiteouts: bool,
    prealloc: u64,
) -> Result<(), OciError> {
    let bad_tar = |e: std::io::Error| OciError::BadLayer {
        origin: origin.to_string(),
        reason: format!("cannot read tar stream: {e}"),
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(bad_tar)?;
    let mut applier = Applier {
        rootfs,
        origin,
        whiteouts,
        prealloc,
        touched: HashSet::new(),
    };
    for entry in entries {
        applier.apply(entry.map_err(bad_tar)?)?;
    }
    Ok(())
}

struct Applier<'a> {
    rootfs: &'a mut Rootfs,
    origin: &'a str,
    whiteouts: bool,
    /// Largest buffer allocated for a file before its bytes arrive.
    prealloc: u64,
    /// Paths this stream created or wrote under (resolved, with all their ancestors).
    touched: HashSet<String>,
}

impl Applier<'_> {
    fn err(&self, entry: &str, kind: impl Into<EntryErrorKind>) -> OciError {
        OciError::Entry {
            origin: self.origin.to_string(),
            entry: entry.to_string(),
            kind: kind.into(),
        }
    }

    fn apply<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), OciError> {
        let name = match String::from_utf8(entry.path_bytes().into_owned()) {
            Ok(n) => n,
            Err(e) => {
                let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
                return Err(self.err(&lossy, PathError::BadName));
            }
        };
        let ty = entry.header().entry_type();
        if ty.is_pax_global_extensions() {
            return Ok(());
        }
        let meta = self.meta(&name, &mut entry)?;
        let comps = lexical_components(&name, false).map_err(|e| self.err(&name, e))?;

        if self.whiteouts
            && let Some((last, parents)) = comps.split_last()
            && let Some(hidden) = last.strip_prefix(".wh.")
        {
            return self.whiteout(&name, parents, hidden);
        }

        let node = match ty {
            tar::EntryType::Directory => Node::Dir(meta),
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let expected = entry.size();
                let data = if expected <= self.prealloc {
                    // Read straight into the shared buffer: one allocation and
                    // one copy of the bytes (a Vec turned into an Arc is two).
                    let mut data: Arc<[u8]> = std::iter::repeat_n(0u8, expected as usize).collect();
                    let buf = Arc::get_mut(&mut data).unwrap_or_else(|| unreachable!("fresh Arc"));
                    let mut filled = 0;
                    while filled < buf.len() {
                        match entry.read(&mut buf[filled..]) {
                            Ok(0) => break,
                            Ok(n) => filled += n,
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(e) => return Err(self.err(&name, EntryErrorKind::Read(e))),
                        }
                    }
                    if filled as u64 != expected {
                        return Err(self.err(
                            &name,
                            EntryErrorKind::Truncated {
                                expected,
                                actual: filled as u64,
                            },
                        ));
                    }
                    data
                } else {
                    let mut data = Vec::with_capacity(expected.min(self.prealloc) as usize);
                    entry
                        .read_to_end(&mut data)
                        .map_err(|e| self.err(&name, EntryErrorKind::Read(e)))?;
                    if data.len() as u64 != expected {
                        return Err(self.err(
                            &name,
                            EntryErrorKind::Truncated {
                                expected,
                                actual: data.len() as u64,
                            },
                        ));
                    }
                    data.into()
                };
                Node::File {
                    meta,
                    data,
                    inode: self.rootfs.alloc_inode(),
                }
            }
            tar::EntryType::Symlink => Node::Symlink {
                meta,
                target: self.link_name(&name, &entry)?,
            },
            tar::EntryType::Link => {
                let target = self.link_name(&name, &entry)?;
                self.hard_link_source(&name, &target)?
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                let header = entry.header();
                let dev = |r: std::io::Result<Option<u32>>| {
                    r.map(Option::unwrap_or_default)
                        .map_err(|e| self.err(&name, EntryErrorKind::BadHeader(e.to_string())))
                };
                let major = dev(header.device_major())?;
                let minor = dev(header.device_minor())?;
                let kind = if ty == tar::EntryType::Char {
                    OtherKind::CharDevice { major, minor }
                } else {
                    OtherKind::BlockDevice { major, minor }
                };
                Node::Other { meta, kind }
            }
            tar::EntryType::Fifo => Node::Other {
                meta,
                kind: OtherKind::Fifo,
            },
            other => {
                return Err(self.err(&name, EntryErrorKind::Unsupported(format!("{other:?}"))));
            }
        };

        let Some((last, parents)) = comps.split_last() else {
            // The entry is the root itself (`./`): only its metadata can change.
            return match node {
                Node::Dir(meta) => {
                    self.rootfs.put("/".to_string(), Node::Dir(meta));
                    self.touched.insert("/".to_string());
                    Ok(())
                }
                _ => Err(self.err(&name, EntryErrorKind::RootNotDirectory)),
            };
        };
        let parent_path = format!("/{}", parents.join("/"));
        let touched = &mut self.touched;
        let parent = self
            .rootfs
            .make_parents(&parent_path, &mut |p| {
                touched.insert(p.to_string());
            })
            .map_err(|e| OciError::Entry {
                origin: self.origin.to_string(),
                entry: name.clone(),
                kind: e.into(),
            })?;
        let full = join(&parent, last);
        self.mark_touched(&full);
        self.rootfs.put(full, node);
        Ok(())
    }

    /// The entry's metadata, with a PAX `mtime` (which may carry a fraction) taking precedence
    /// over the header's; the tar crate already applies PAX `uid`, `gid` and `size`.
    fn meta<R: Read>(&self, name: &str, entry: &mut tar::Entry<'_, R>) -> Result<Meta, OciError> {
        let bad = |e: std::io::Error| self.err(name, EntryErrorKind::BadHeader(e.to_string()));
        let header = entry.header();
        let mut meta = Meta {
            mode: header.mode().map_err(bad)? & 0o7777,
            uid: header.uid().map_err(bad)?,
            gid: header.gid().map_err(bad)?,
            mtime: header.mtime().map_err(bad)?,
        };
        if let Some(exts) = entry.pax_extensions().map_err(bad)? {
            for ext in exts {
                let ext = ext.map_err(bad)?;
                if ext.key() == Ok("mtime")
                    && let Ok(v) = ext.value()
                {
                    let secs = v.split('.').next().unwrap_or("");
                    // Negative (pre-1970) times clamp to 0; garbage keeps the header's value.
                    if secs.starts_with('-') {
                        meta.mtime = 0;
                    } else if let Ok(s) = secs.parse::<u64>() {
                        meta.mtime = s;
                    }
                }
            }
        }
        Ok(meta)
    }

    fn link_name<R: Read>(
        &self,
        name: &str,
        entry: &tar::Entry<'_, R>,
    ) -> Result<String, OciError> {
        let raw = entry.link_name_bytes().ok_or_else(|| {
            self.err(
                name,
                EntryErrorKind::BadHeader("link entry without a target".into()),
            )
        })?;
        String::from_utf8(raw.into_owned()).map_err(|e| {
            self.err(
                name,
                EntryErrorKind::HardLink {
                    target: String::from_utf8_lossy(e.as_bytes()).into_owned(),
                    error: PathError::BadName,
                },
            )
        })
    }

    /// The node a hard link entry copies: the target must already exist (in a lower layer or
    /// earlier in this one), must not be a directory, and must not escape. Regular files keep
    /// their inode so the link is still a link when written out.
    fn hard_link_source(&self, name: &str, target: &str) -> Result<Node, OciError> {
        let link_err = |error| {
            self.err(
                name,
                EntryErrorKind::HardLink {
                    target: target.to_string(),
                    error,
                },
            )
        };
        let comps = lexical_components(target, false).map_err(link_err)?;
        let Some((last, parents)) = comps.split_last() else {
            return Err(self.err(
                name,
                EntryErrorKind::HardLinkToDirectory {
                    target: target.to_string(),
                },
            ));
        };
        let parent = self
            .rootfs
            .walk(&format!("/{}", parents.join("/")), true)
            .map_err(link_err)?;
        let full = join(&parent, last);
        match self.rootfs.node(&full) {
            None => Err(link_err(PathError::Missing { path: full })),
            Some(Node::Dir(_)) => Err(self.err(
                name,
                EntryErrorKind::HardLinkToDirectory {
                    target: target.to_string(),
                },
            )),
            Some(node) => Ok(node.clone()),
        }
    }

    fn whiteout(&mut self, name: &str, parents: &[&str], hidden: &str) -> Result<(), OciError> {
        let parent = match self.rootfs.walk(&format!("/{}", parents.join("/")), true) {
            Ok(p) => p,
            // Nothing below a missing directory (or a non-directory) to hide.
            Err(PathError::Missing { .. } | PathError::NotADirectory { .. }) => return Ok(()),
            Err(e) => return Err(self.err(name, e)),
        };
        if !matches!(self.rootfs.node(&parent), Some(Node::Dir(_))) {
            return Ok(());
        }
        let touched = &self.touched;
        if hidden == ".wh..opq" {
            self.rootfs
                .remove_descendants(&parent, &|p| touched.contains(p));
            self.mark_touched(&parent);
        } else if hidden.starts_with(".wh.") || matches!(hidden, "" | "." | "..") {
            // aufs bookkeeping (`.wh..wh.plnk`, ...) or nothing nameable: no effect.
        } else {
            self.rootfs
                .remove_tree(&join(&parent, hidden), &|p| touched.contains(p));
        }
        Ok(())
    }

    fn mark_touched(&mut self, path: &str) {
        let mut p = path;
        while self.touched.insert(p.to_string()) && p != "/" {
            p = parent_of(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar entry built by hand, name written raw so `..` and `/abs` are possible.
    fn entry(out: &mut Vec<u8>, name: &str, ty: tar::EntryType, data: &[u8], link: &str) {
        let mut h = tar::Header::new_gnu();
        h.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
        if !link.is_empty() {
            h.as_mut_bytes()[157..157 + link.len()].copy_from_slice(link.as_bytes());
        }
        h.set_entry_type(ty);
        h.set_mode(if ty == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_size(data.len() as u64);
        h.set_mtime(7);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }

    fn finish(mut out: Vec<u8>) -> Vec<u8> {
        out.extend_from_slice(&[0; 1024]);
        out
    }

    use tar::EntryType::{Directory as D, Link as H, Regular as F, Symlink as S};

    fn layer(entries: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, ty, x) in entries {
            match ty {
                S | H => entry(&mut out, name, *ty, b"", x),
                _ => entry(&mut out, name, *ty, x.as_bytes(), ""),
            }
        }
        finish(out)
    }

    fn apply(fs: &mut Rootfs, entries: &[(&str, tar::EntryType, &str)]) -> Result<(), OciError> {
        apply_tar(fs, &layer(entries)[..], "test layer", true)
    }

    fn paths(fs: &Rootfs) -> Vec<String> {
        fs.iter().map(|(p, _)| p.to_string()).collect()
    }

    #[test]
    fn files_dirs_links() {
        let mut fs = Rootfs::new();
        apply(
            &mut fs,
            &[
                ("./", D, ""),
                ("./usr/lib/", D, ""),
                ("lib", S, "usr/lib"),
                ("lib/a", F, "A"),
                ("b", H, "usr/lib/a"),
            ],
        )
        .unwrap();
        assert_eq!(
            paths(&fs),
            vec!["/", "/b", "/lib", "/usr", "/usr/lib", "/usr/lib/a"]
        );
        assert_eq!(&**fs.read_file("/b").unwrap(), b"A");
        assert_eq!(fs.get("/usr").unwrap().meta().mtime, 0, "implicit parent");
        assert_eq!(fs.get("/usr/lib").unwrap().meta().mtime, 7);
    }

    #[test]
    fn whiteouts_spare_same_layer() {
        let mut fs = Rootfs::new();
        apply(
            &mut fs,
            &[("d/old", F, "1"), ("d/sub/x", F, "2"), ("e/gone", F, "3")],
        )
        .unwrap();
        // Opaque after this layer's own entry, and a whiteout of a lower file.
        apply(
            &mut fs,
            &[
                ("d/new", F, "n"),
                ("d/sub/y", F, "y"),
                ("d/.wh..wh..opq", F, ""),
                ("e/.wh.gone", F, ""),
                ("e/.wh.never-was", F, ""),
            ],
        )
        .unwrap();
        assert_eq!(
            paths(&fs),
            vec!["/", "/d", "/d/new", "/d/sub", "/d/sub/y", "/e"]
        );
    }

    #[test]
    fn escapes_are_refused() {
        let cases: &[&[(&str, tar::EntryType, &str)]] = &[
            &[("../x", F, "")],
            &[("/abs", F, "")],
            &[("a/../../x", F, "")],
            &[("evil", S, "../../.."), ("evil/x", F, "")],
            &[("l", H, "../../etc/passwd")],
            &[("l", H, "/etc/passwd")],
            &[("evil", S, "/.."), ("evil/.wh.x", F, "")],
        ];
        for case in cases {
            let mut fs = Rootfs::new();
            let err = apply(&mut fs, case).unwrap_err();
            let bad = case.last().unwrap().0;
            assert!(
                matches!(&err, OciError::Entry { entry, .. } if entry == bad),
                "{case:?}: {err}"
            );
        }
    }

    #[test]
    fn from_tar_refuses_escapes_too() {
        for case in [
            layer(&[("../x", F, "")]),
            layer(&[("evil", S, "../.."), ("evil/x", F, "")]),
            layer(&[("l", H, "../etc/passwd")]),
        ] {
            let err = Rootfs::from_tar(&case[..]).unwrap_err();
            assert!(err.to_string().starts_with("rootfs tar: entry"), "{err}");
        }
    }

    #[test]
    fn hard_link_errors() {
        let mut fs = Rootfs::new();
        let err = apply(&mut fs, &[("l", H, "missing")]).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        let err = apply(&mut fs, &[("d/", D, ""), ("l", H, "d")]).unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }

    #[test]
    fn truncated_entry() {
        let mut out = Vec::new();
        entry(&mut out, "f", F, &[1; 600], "");
        out.truncate(512 + 100);
        let err = apply_tar(&mut Rootfs::new(), &out[..], "t", true).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn pax_mtime_and_uid() {
        let mut out = Vec::new();
        let pax = "22 mtime=1700000000.5\n18 uid=4294967296\n";
        entry(
            &mut out,
            "PaxHeaders/f",
            tar::EntryType::XHeader,
            pax.as_bytes(),
            "",
        );
        entry(&mut out, "f", F, b"x", "");
        let mut fs = Rootfs::new();
        apply_tar(&mut fs, &finish(out)[..], "t", true).unwrap();
        let meta = fs.get("/f").unwrap().meta();
        assert_eq!((meta.mtime, meta.uid), (1_700_000_000, 1 << 32));
        // A uid too big for octal survives the writer (GNU base-256) and the reader.
        let mut tar = Vec::new();
        fs.write_tar(&mut tar).unwrap();
        let back = Rootfs::from_tar(&tar[..]).unwrap();
        assert_eq!(back.get("/f").unwrap().meta(), meta);
    }

    #[test]
    fn rootfs_tar_keeps_wh_names() {
        let tar = layer(&[("a/.wh.b", F, "x")]);
        let fs = Rootfs::from_tar(&tar[..]).unwrap();
        assert!(fs.get("/a/.wh.b").is_some());
    }
}
