//! Image references in skopeo's syntax: `oci:PATH[:TAG]`, `oci-archive:PATH[:TAG]`,
//! `docker-archive:PATH[:NAME[:TAG]|:@INDEX]`, or a bare `PATH[:TAG]` whose transport is found
//! when the image is opened.
//!
//! Parsing only looks at the string (and, for bare paths, whether the whole string exists); it
//! does not open anything.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::OciError;

/// How an image is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/`).
    Layout,
    /// An OCI image layout packed in a tar file (skopeo's `oci-archive:`).
    Archive,
    /// A `docker save` tar (`manifest.json`, config and layer tars).
    DockerArchive,
}

impl Transport {
    /// The transport's prefix in skopeo's syntax, without the colon.
    pub fn prefix(self) -> &'static str {
        match self {
            Transport::Layout => "oci",
            Transport::Archive => "oci-archive",
            Transport::DockerArchive => "docker-archive",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix())
    }
}

/// Transports skopeo knows that name something other than a local file: refused with a hint.
const UNSUPPORTED_TRANSPORTS: &[&str] = &[
    "docker",
    "docker-daemon",
    "containers-storage",
    "dir",
    "ostree",
    "sif",
];

/// Where an image is and which image inside it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// `None`: detect when opening.
    pub transport: Option<Transport>,
    pub path: PathBuf,
    /// A tag (`latest`), a name (`example.com/app:1`), or for docker-archive `@N` (N-th image).
    pub reference: Option<String>,
}

impl ImageRef {
    /// Parses skopeo's syntax (see the module docs).
    pub fn parse(s: &str) -> Result<ImageRef, OciError> {
        let invalid = |reason: &str| OciError::InvalidReference {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        if s.is_empty() {
            return Err(invalid("empty reference"));
        }
        let transported = [
            Transport::Layout,
            Transport::Archive,
            Transport::DockerArchive,
        ]
        .into_iter()
        .find_map(|t| {
            s.strip_prefix(t.prefix())
                .and_then(|rest| rest.strip_prefix(':'))
                .map(|rest| (t, rest))
        });
        if let Some((transport, rest)) = transported {
            // skopeo splits PATH from the reference at the first colon.
            let (path, reference) = match rest.split_once(':') {
                Some((p, r)) => (p, Some(r)),
                None => (rest, None),
            };
            if path.is_empty() {
                return Err(invalid("empty path"));
            }
            if reference == Some("") {
                return Err(invalid("empty tag after ':'"));
            }
            return Ok(ImageRef {
                transport: Some(transport),
                path: PathBuf::from(path),
                reference: reference.map(str::to_string),
            });
        }
        if Path::new(s).exists() {
            return Ok(ImageRef {
                transport: None,
                path: PathBuf::from(s),
                reference: None,
            });
        }
        if let Some((scheme, _)) = s.split_once(':')
            && UNSUPPORTED_TRANSPORTS.contains(&scheme)
        {
            return Err(invalid(&format!(
                "transport {scheme:?} is not supported; use oci:, oci-archive: or docker-archive:"
            )));
        }
        match s.rsplit_once(':') {
            // A colon inside the last path component only: `dir/img:tag`.
            Some((path, tag)) if !tag.contains('/') => {
                if path.is_empty() {
                    return Err(invalid("empty path"));
                }
                if tag.is_empty() {
                    return Err(invalid("empty tag after ':'"));
                }
                Ok(ImageRef {
                    transport: None,
                    path: PathBuf::from(path),
                    reference: Some(tag.to_string()),
                })
            }
            _ => Ok(ImageRef {
                transport: None,
                path: PathBuf::from(s),
                reference: None,
            }),
        }
    }
}

impl FromStr for ImageRef {
    type Err = OciError;

    fn from_str(s: &str) -> Result<ImageRef, OciError> {
        ImageRef::parse(s)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(t) = self.transport {
            write!(f, "{}:", t.prefix())?;
        }
        write!(f, "{}", self.path.display())?;
        if let Some(r) = &self.reference {
            write!(f, ":{r}")?;
        }
        Ok(())
    }
}

/// Normalizes a docker-style image name the way the docker CLI does: `alpine` →
/// `docker.io/library/alpine:latest`. Used to match `io.containerd.image.name` annotations and
/// docker-archive `RepoTags` against what a user typed.
pub(crate) fn normalize_docker_name(name: &str) -> String {
    let (name, digest) = match name.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (name, None),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    let (domain, path) = match repo.split_once('/') {
        Some((d, p)) if d.contains('.') || d.contains(':') || d == "localhost" => {
            (d, p.to_string())
        }
        _ => ("docker.io", repo.to_string()),
    };
    let domain = if domain == "index.docker.io" {
        "docker.io"
    } else {
        domain
    };
    let path = if domain == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    let mut out = format!("{domain}/{path}");
    match (tag, digest) {
        (Some(t), _) => {
            out.push(':');
            out.push_str(t);
        }
        (None, None) => out.push_str(":latest"),
        (None, Some(_)) => {}
    }
    if let Some(d) = digest {
        out.push('@');
        out.push_str(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap()
    }

    #[test]
    fn transports() {
        assert_eq!(
            p("oci:/tmp/l:t1"),
            ImageRef {
                transport: Some(Transport::Layout),
                path: "/tmp/l".into(),
                reference: Some("t1".into())
            }
        );
        assert_eq!(p("oci-archive:a.tar").reference, None);
        assert_eq!(p("oci-archive:a.tar").transport, Some(Transport::Archive));
        let d = p("docker-archive:d.tar:example.com/foo:1");
        assert_eq!(d.transport, Some(Transport::DockerArchive));
        assert_eq!(d.path, PathBuf::from("d.tar"));
        assert_eq!(d.reference.as_deref(), Some("example.com/foo:1"));
        assert_eq!(d.to_string(), "docker-archive:d.tar:example.com/foo:1");
    }

    #[test]
    fn bare_paths() {
        let r = p("/nonexistent/dir/img:tag");
        assert_eq!(r.transport, None);
        assert_eq!(r.path, PathBuf::from("/nonexistent/dir/img"));
        assert_eq!(r.reference.as_deref(), Some("tag"));
        assert_eq!(r.to_string(), "/nonexistent/dir/img:tag");
        // A colon before the last slash is part of the path.
        assert_eq!(p("/non:existent/x").path, PathBuf::from("/non:existent/x"));
        // An existing path wins even when it has a colon.
        let dir = std::env::temp_dir().join(format!("oci-ref-test:{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let r = p(dir.to_str().unwrap());
        assert_eq!(r.path, dir);
        assert_eq!(r.reference, None);
        std::fs::remove_dir(&dir).unwrap();
    }

    #[test]
    fn errors() {
        assert!(ImageRef::parse("").is_err());
        assert!(ImageRef::parse("oci:").is_err());
        assert!(ImageRef::parse("oci:x:").is_err());
        let e = ImageRef::parse("docker://alpine").unwrap_err().to_string();
        assert!(e.contains("not supported"), "{e}");
    }

    #[test]
    fn docker_names() {
        assert_eq!(
            normalize_docker_name("alpine"),
            "docker.io/library/alpine:latest"
        );
        assert_eq!(
            normalize_docker_name("docker.io/library/alpine:3.19"),
            "docker.io/library/alpine:3.19"
        );
        assert_eq!(
            normalize_docker_name("localhost:5000/a/b"),
            "localhost:5000/a/b:latest"
        );
        assert_eq!(normalize_docker_name("user/app:1"), "docker.io/user/app:1");
    }
}
