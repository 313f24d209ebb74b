//! The exec gate (the execution controller): may these bytes run as this path?
//!
//! Every exec, whoever asks (the socket, a guest's spawn, a lifted program's
//! execve), ends here with the resolved path and the BLAKE3 of the bytes that
//! will run, computed once from the file's content. The decision only depends
//! on the signed manifest:
//! - the path must be in the manifest as a dispatchable program (a WASM program
//!   merged into the megabinary), and the hash must equal the manifest's;
//! - policy for *copies*: the bytes of a listed program at an unlisted path (a
//!   `cp /usr/bin/tool /tmp/x`) are denied by default
//!   ([`CopyPolicy::ExactPath`]); [`CopyPolicy::KnownContent`] lets them run as
//!   that program, since the code is the signed code either way. The default is
//!   the stricter one so that "what may run where" is exactly what was signed.
//!
//! The gate does not read files or resolve paths; the caller does, once, and
//! dispatches the same bytes it hashed.

use std::sync::Arc;

use recompiler_manifest::{ExecKind, Manifest};

/// What may run at a path the manifest does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CopyPolicy {
    /// Only listed paths run (the default).
    #[default]
    ExactPath,
    /// Any path whose bytes equal a listed program's run as that program.
    KnownContent,
}

/// A program the gate let through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// The manifest path whose entry is dispatched (the exec path itself, or
    /// under [`CopyPolicy::KnownContent`] the listed path with the same bytes).
    pub manifest_path: String,
    pub dispatch_id: u64,
    pub entry: String,
    /// The megabinary export of the program's memory.
    pub memory: String,
}

/// Why an exec was denied. The guest sees EACCES; the socket the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("{path}: not in the signed manifest (blake3 {blake3}){}", same_as.as_ref().map(|l| format!("; its content is that of {l}, and copies may not run (copy policy: exact path)")).unwrap_or_default())]
    NotListed {
        path: String,
        blake3: String,
        /// A listed program with the same bytes, when there is one: the file is
        /// a copy, refused by [`CopyPolicy::ExactPath`].
        same_as: Option<String>,
    },
    #[error(
        "{path}: content does not match the signed manifest (blake3 {actual}, signed {expected})"
    )]
    HashMismatch {
        path: String,
        expected: String,
        actual: String,
    },
    #[error("{path}: listed as {kind}{}, which cannot run", status.as_ref().map(|s| format!(" ({s})")).unwrap_or_default())]
    NotRunnable {
        path: String,
        kind: &'static str,
        status: Option<String>,
    },
}

/// The gate of one bundle.
#[derive(Debug, Clone)]
pub struct Gate {
    manifest: Arc<Manifest>,
    policy: CopyPolicy,
}

impl Gate {
    pub fn new(manifest: Arc<Manifest>, policy: CopyPolicy) -> Gate {
        Gate { manifest, policy }
    }

    pub fn policy(&self) -> CopyPolicy {
        self.policy
    }

    /// Decides whether the bytes with BLAKE3 `blake3` may run as `path` (the
    /// path after symlink resolution in the container).
    pub fn check(&self, path: &str, blake3: &[u8; 32]) -> Result<Allowed, Denied> {
        let actual = hex(blake3);
        let listed = self
            .manifest
            .executables
            .get(path)
            .filter(|e| e.kind != ExecKind::Symlink);
        match listed {
            Some(entry) => {
                let expected = entry.blake3.clone().unwrap_or_default();
                if expected != actual {
                    return Err(Denied::HashMismatch {
                        path: path.into(),
                        expected,
                        actual,
                    });
                }
                allowed(path, entry)
            }
            None => {
                if self.policy == CopyPolicy::KnownContent
                    && let Some((listed_path, entry)) = self
                        .manifest
                        .find_by_blake3(&actual)
                        .into_iter()
                        .find(|(_, e)| e.is_dispatchable())
                {
                    return allowed(listed_path, entry);
                }
                let same_as = self
                    .manifest
                    .find_by_blake3(&actual)
                    .into_iter()
                    .map(|(listed_path, _)| listed_path.to_string())
                    .next();
                Err(Denied::NotListed {
                    path: path.into(),
                    blake3: actual,
                    same_as,
                })
            }
        }
    }
}

fn allowed(path: &str, entry: &recompiler_manifest::Executable) -> Result<Allowed, Denied> {
    let not_runnable = || Denied::NotRunnable {
        path: path.into(),
        kind: entry.kind.as_str(),
        status: entry.status.clone(),
    };
    if !entry.is_dispatchable() {
        return Err(not_runnable());
    }
    match (entry.dispatch_id_value(), &entry.entry, &entry.memory) {
        (Some(dispatch_id), Some(e), Some(memory)) => Ok(Allowed {
            manifest_path: path.into(),
            dispatch_id,
            entry: e.clone(),
            memory: memory.clone(),
        }),
        _ => Err(not_runnable()),
    }
}

/// Lower-case hex of a BLAKE3 hash, as the manifest writes it.
pub fn hex(bytes: &[u8; 32]) -> String {
    blake3::Hash::from_bytes(*bytes).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use recompiler_manifest::digest::{FileRef, dispatch_id, format_dispatch_id};
    use recompiler_manifest::{Executable, ImageInfo};

    use super::*;

    fn manifest() -> (Manifest, [u8; 32]) {
        let tool = *blake3::hash(b"tool").as_bytes();
        let id = dispatch_id(&tool);
        let mut executables = BTreeMap::new();
        executables.insert(
            "/usr/bin/tool".to_string(),
            Executable {
                kind: ExecKind::Wasm,
                size: Some(4),
                mode: Some("0755".into()),
                blake3: Some(hex(&tool)),
                sha256: Some("0".repeat(64)),
                entry: Some("_start".into()),
                dispatch_id: Some(format_dispatch_id(id)),
                memory: Some(format!("prog.{}.memory", format_dispatch_id(id))),
                ..Executable::default()
            },
        );
        let elf = *blake3::hash(b"elf").as_bytes();
        executables.insert(
            "/usr/bin/native".to_string(),
            Executable {
                kind: ExecKind::Elf,
                blake3: Some(hex(&elf)),
                status: Some("needs-lifting".into()),
                ..Executable::default()
            },
        );
        let m = Manifest {
            schema: recompiler_manifest::schema::SCHEMA.into(),
            image: ImageInfo {
                reference: "x".into(),
                digest: format!("sha256:{}", "0".repeat(64)),
                config_digest: format!("sha256:{}", "0".repeat(64)),
                platform: "linux/amd64".into(),
            },
            megabinary: FileRef::of("container.wasm", b""),
            rootfs: FileRef::of("rootfs.tar", b""),
            executables,
        };
        (m, tool)
    }

    #[test]
    fn listed_path_with_its_hash_runs() {
        let (m, tool) = manifest();
        let gate = Gate::new(Arc::new(m), CopyPolicy::ExactPath);
        let ok = gate.check("/usr/bin/tool", &tool).unwrap();
        assert_eq!(ok.manifest_path, "/usr/bin/tool");
        assert_eq!(ok.entry, "_start");
        assert_eq!(ok.dispatch_id, dispatch_id(&tool));
    }

    #[test]
    fn modified_new_copied_and_unrunnable_files_are_denied() {
        let (m, tool) = manifest();
        let gate = Gate::new(Arc::new(m.clone()), CopyPolicy::ExactPath);
        let other = *blake3::hash(b"tool modified").as_bytes();
        assert!(matches!(
            gate.check("/usr/bin/tool", &other),
            Err(Denied::HashMismatch { .. })
        ));
        assert!(matches!(
            gate.check("/tmp/new", &other),
            Err(Denied::NotListed { same_as: None, .. })
        ));
        // A copy is refused, and the reason names the listed program it copies.
        let err = gate.check("/tmp/copy", &tool).unwrap_err();
        assert!(
            matches!(&err, Denied::NotListed { same_as: Some(p), .. } if p == "/usr/bin/tool"),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("its content is that of /usr/bin/tool, and copies may not run"),
            "{err}"
        );
        let elf = *blake3::hash(b"elf").as_bytes();
        let err = gate.check("/usr/bin/native", &elf).unwrap_err();
        assert!(err.to_string().contains("needs-lifting"), "{err}");

        let lenient = Gate::new(Arc::new(m), CopyPolicy::KnownContent);
        assert_eq!(
            lenient.check("/tmp/copy", &tool).unwrap().manifest_path,
            "/usr/bin/tool"
        );
        assert!(lenient.check("/tmp/new", &other).is_err());
    }
}
