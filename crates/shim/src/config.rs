//! The node's configuration: which keys it trusts, where compiled code lives.
//!
//! containerd starts the shim with its own environment, so the settings are
//! environment variables (set in containerd's systemd unit, or by whoever starts
//! containerd), each with a default that suits a node:
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `RECOMPILER_TRUST` | `/etc/recompiler/trust` | a public key file, or a directory whose `*.pub` files are the trusted keys |
//! | `RECOMPILER_STATE` | `/var/lib/recompiler` | state: compiled code under `code/`, shared by every container |
//! | `RECOMPILER_ALLOW_COPIES` | unset | `1`: a byte-exact copy of a listed program may run (the vkernel's `known-content` copy policy) |

use std::path::{Path, PathBuf};

use recompiler_manifest::sign::VerifyingKey;
use recompiler_vkernel::gate::CopyPolicy;

pub const TRUST_ENV: &str = "RECOMPILER_TRUST";
pub const STATE_ENV: &str = "RECOMPILER_STATE";
pub const ALLOW_COPIES_ENV: &str = "RECOMPILER_ALLOW_COPIES";
pub const DEFAULT_TRUST: &str = "/etc/recompiler/trust";
pub const DEFAULT_STATE: &str = "/var/lib/recompiler";

/// Why the node's configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("trusted keys ({TRUST_ENV}={}): {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("trusted key {}: {source}", path.display())]
    Key {
        path: PathBuf,
        source: recompiler_manifest::SignError,
    },
    #[error(
        "no trusted key in {} ({TRUST_ENV}): the recompiler runtime runs only bundles signed by a key the node trusts",
        path.display()
    )]
    NoKey { path: PathBuf },
}

/// What the shim needs to know about the node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Where the keys were read from, for messages.
    pub trust_path: PathBuf,
    pub trusted: Vec<VerifyingKey>,
    pub state: PathBuf,
    pub policy: CopyPolicy,
}

impl NodeConfig {
    /// Reads the configuration from the environment (see the module docs).
    pub fn from_env() -> Result<NodeConfig, ConfigError> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let trust_path = var(TRUST_ENV).map_or_else(|| PathBuf::from(DEFAULT_TRUST), PathBuf::from);
        let state = var(STATE_ENV).map_or_else(|| PathBuf::from(DEFAULT_STATE), PathBuf::from);
        let policy = match var(ALLOW_COPIES_ENV) {
            Some(v) if v == "1" => CopyPolicy::KnownContent,
            _ => CopyPolicy::ExactPath,
        };
        let trusted = load_keys(&trust_path)?;
        Ok(NodeConfig {
            trust_path,
            trusted,
            state,
            policy,
        })
    }
}

/// The keys at `path`: the file itself, or every `*.pub` file of the directory
/// (in name order).
pub fn load_keys(path: &Path) -> Result<Vec<VerifyingKey>, ConfigError> {
    let read_err = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(read_err)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "pub"))
            .collect();
        files.sort();
        files
    } else {
        std::fs::metadata(path).map_err(read_err)?;
        vec![path.to_path_buf()]
    };
    let keys = files
        .iter()
        .map(|f| {
            recompiler_vkernel::bundle::load_trusted_key(f).map_err(|source| ConfigError::Key {
                path: f.clone(),
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(ConfigError::NoKey {
            path: path.to_path_buf(),
        });
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_empty_trust_paths_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        let e = load_keys(&missing).unwrap_err().to_string();
        assert!(e.contains("nope"), "{e}");
        let e = load_keys(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("no trusted key"), "{e}");
        std::fs::write(tmp.path().join("bad.pub"), "not a key").unwrap();
        let e = load_keys(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("bad.pub"), "{e}");
    }
}
