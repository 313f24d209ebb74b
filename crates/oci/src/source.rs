//! Where an image's files come from: a layout directory, or a tar file (OCI archive or
//! docker-archive) whose members are indexed once (name → offset and size) and then read by
//! seeking into the file, so an archive is never loaded into memory whole.
//!
//! This module knows file names, not digests or JSON: verification is the caller's.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::OciError;

/// Manifests, indexes, configs and `manifest.json` are small documents; one over this size is
/// malformed or hostile, and reading it whole would let an image make us allocate without bound.
pub(crate) const MAX_JSON_SIZE: u64 = 16 << 20;

/// How many archive symlinks one lookup may follow (docker save links layers between dirs).
const MAX_MEMBER_LINKS: usize = 8;

#[derive(Debug, Clone)]
pub(crate) enum Member {
    File {
        offset: u64,
        size: u64,
    },
    /// A symlink or hard link to another member, as a normalized member name.
    Link {
        target: String,
    },
}

#[derive(Debug, Clone)]
pub(crate) enum Source {
    Layout {
        dir: PathBuf,
    },
    Tar {
        path: PathBuf,
        members: HashMap<String, Member>,
    },
}

/// Normalizes a member name: no leading `./` or `/`, no trailing `/`, `.` and `..` resolved
/// lexically (a `..` above the top is dropped: it can only name a missing member).
fn normalize_member(name: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.join("/")
}

impl Source {
    pub(crate) fn layout(dir: &Path) -> Source {
        Source::Layout {
            dir: dir.to_path_buf(),
        }
    }

    /// Indexes the members of the tar file at `path`.
    pub(crate) fn tar(path: &Path) -> Result<Source, OciError> {
        let image = path.display().to_string();
        let io_err = |source| OciError::Io {
            image: image.clone(),
            what: "archive".to_string(),
            source,
        };
        let mut file = File::open(path).map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        let mut magic = [0u8; 4];
        let n = file.read(&mut magic).map_err(io_err)?;
        if n >= 2 && magic[..2] == [0x1f, 0x8b] || n == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
            return Err(OciError::NotAnImage {
                path: path.to_path_buf(),
                reason: "compressed archives are not supported; decompress it first".to_string(),
            });
        }
        file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        let bad = |reason: String| OciError::BadArchive {
            image: image.clone(),
            reason,
        };
        let mut archive = tar::Archive::new(file);
        let entries = archive
            .entries_with_seek()
            .map_err(|e| bad(e.to_string()))?;
        let mut members = HashMap::new();
        // Where the last entry's data ends, padded to a block: the end-of-archive marker (a
        // zero block) must follow, or the file was cut at a block boundary.
        let mut end = 0u64;
        for entry in entries {
            let entry = entry.map_err(|e| bad(e.to_string()))?;
            end = entry
                .raw_file_position()
                .saturating_add(entry.size())
                .div_ceil(512)
                .saturating_mul(512);
            let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let name = normalize_member(&raw_name);
            let header = entry.header();
            match header.entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let offset = entry.raw_file_position();
                    let size = entry.size();
                    if offset.checked_add(size).is_none_or(|end| end > len) {
                        return Err(bad(format!(
                            "member {raw_name} needs {size} bytes at offset {offset} \
                             but the file has {len}"
                        )));
                    }
                    members.insert(name, Member::File { offset, size });
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let target = entry
                        .link_name_bytes()
                        .map(|t| String::from_utf8_lossy(&t).into_owned())
                        .unwrap_or_default();
                    let target = if header.entry_type() == tar::EntryType::Symlink {
                        // Relative to the link's directory.
                        let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
                        normalize_member(&format!("{dir}/{target}"))
                    } else {
                        normalize_member(&target)
                    };
                    members.insert(name, Member::Link { target });
                }
                _ => {}
            }
        }
        let mut file = archive.into_inner();
        let mut marker = [0u8; 512];
        let has_marker = file.seek(SeekFrom::Start(end)).is_ok()
            && file.read_exact(&mut marker).is_ok()
            && marker.iter().all(|&b| b == 0);
        if !has_marker {
            return Err(bad(format!(
                "no end-of-archive marker after the last member (at byte {end} of {len})"
            )));
        }
        Ok(Source::Tar {
            path: path.to_path_buf(),
            members,
        })
    }

    /// The image's location, for error messages.
    pub(crate) fn display(&self) -> String {
        match self {
            Source::Layout { dir } => dir.display().to_string(),
            Source::Tar { path, .. } => path.display().to_string(),
        }
    }

    fn member(&self, name: &str) -> Option<(u64, u64)> {
        let Source::Tar { members, .. } = self else {
            return None;
        };
        let mut name = normalize_member(name);
        for _ in 0..=MAX_MEMBER_LINKS {
            match members.get(&name)? {
                Member::File { offset, size } => return Some((*offset, *size)),
                Member::Link { target } => name = target.clone(),
            }
        }
        None
    }

    /// The size of file `name`, or `None` when it is missing.
    pub(crate) fn size(&self, name: &str) -> Result<Option<u64>, OciError> {
        match self {
            Source::Layout { dir } => match std::fs::metadata(dir.join(name)) {
                Ok(m) if m.is_file() => Ok(Some(m.len())),
                Ok(_) => Ok(None),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(OciError::Io {
                    image: self.display(),
                    what: name.to_string(),
                    source,
                }),
            },
            Source::Tar { .. } => Ok(self.member(name).map(|(_, size)| size)),
        }
    }

    /// Opens file `name` for reading; `what` describes it in the "missing" error.
    pub(crate) fn open(&self, name: &str, what: &str) -> Result<(Box<dyn Read>, u64), OciError> {
        let missing = || OciError::Missing {
            image: self.display(),
            what: what.to_string(),
        };
        let io_err = |source| OciError::Io {
            image: self.display(),
            what: what.to_string(),
            source,
        };
        match self {
            Source::Layout { dir } => {
                let file = match File::open(dir.join(name)) {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(missing()),
                    Err(e) => return Err(io_err(e)),
                };
                let meta = file.metadata().map_err(io_err)?;
                if !meta.is_file() {
                    return Err(missing());
                }
                Ok((Box::new(file), meta.len()))
            }
            Source::Tar { path, .. } => {
                let (offset, size) = self.member(name).ok_or_else(missing)?;
                let mut file = File::open(path).map_err(io_err)?;
                file.seek(SeekFrom::Start(offset)).map_err(io_err)?;
                Ok((Box::new(file.take(size)), size))
            }
        }
    }

    /// Reads a small file (a JSON document) whole, refusing ones over [`MAX_JSON_SIZE`].
    pub(crate) fn read_small(&self, name: &str, what: &str) -> Result<Vec<u8>, OciError> {
        let (reader, size) = self.open(name, what)?;
        if size > MAX_JSON_SIZE {
            return Err(OciError::BadImage {
                image: self.display(),
                reason: format!("{what} is {size} bytes, more than the {MAX_JSON_SIZE} allowed"),
            });
        }
        let mut data = Vec::with_capacity(size as usize);
        reader
            .take(MAX_JSON_SIZE)
            .read_to_end(&mut data)
            .map_err(|source| OciError::Io {
                image: self.display(),
                what: what.to_string(),
                source,
            })?;
        if data.len() as u64 != size {
            return Err(OciError::BadArchive {
                image: self.display(),
                reason: format!("{what} ends after {} of {size} bytes", data.len()),
            });
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names() {
        assert_eq!(normalize_member("./blobs/sha256/x"), "blobs/sha256/x");
        assert_eq!(normalize_member("/a//b/"), "a/b");
        assert_eq!(normalize_member("a/../b.tar"), "b.tar");
        assert_eq!(normalize_member("../../b"), "b");
    }
}
