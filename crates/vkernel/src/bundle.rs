//! Bundles: what `recompiler-build` wrote, checked before anything of it runs.
//!
//! A bundle directory holds `mapping.json`, its signature `mapping.json.sig`, and
//! the megabinary and image files under the names the manifest records. Loading
//! reads each file once, verifies the signature over those exact bytes with a
//! trusted key, and keeps the bytes: the megabinary that is compiled is the one
//! that was verified, never a second read of the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use recompiler_manifest::sign::{BundleFiles, VerifyingKey, key_id, verify_bundle};
use recompiler_manifest::{Manifest, VerifyError};
use recompiler_oci::{OciError, Rootfs};

/// The manifest's file name in a bundle directory.
pub const MANIFEST: &str = "mapping.json";
/// The signature's file name in a bundle directory.
pub const SIGNATURE: &str = "mapping.json.sig";

/// A bundle whose signature verified.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub dir: PathBuf,
    /// The trusted key that signed it.
    pub key_id: String,
    pub manifest: Arc<Manifest>,
    /// The verified bytes of the megabinary (emptied by
    /// [`crate::container::Runtime::load_bundle`] once its code is loaded).
    pub megabinary: Arc<[u8]>,
    /// Its BLAKE3, lower-case hex (the code cache key).
    pub megabinary_blake3: String,
    /// The image's files, the read-only lower layer of every container.
    pub rootfs: Arc<Rootfs>,
}

/// Why a bundle was refused.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("bundle {}: cannot read {file}: {source}", dir.display())]
    Read {
        dir: PathBuf,
        file: String,
        source: std::io::Error,
    },
    #[error("bundle {}: the manifest names {file:?}, which is not a plain file name", dir.display())]
    BadName { dir: PathBuf, file: String },
    #[error("bundle {}: manifest: {source}", dir.display())]
    Manifest {
        dir: PathBuf,
        #[source]
        source: recompiler_manifest::ManifestError,
    },
    #[error("bundle {}: no trusted key is configured", dir.display())]
    NoTrustedKey { dir: PathBuf },
    #[error("bundle {}: signature check failed: {source}", dir.display())]
    Verify {
        dir: PathBuf,
        #[source]
        source: Box<VerifyError>,
    },
    #[error("bundle {}: image files: {source}", dir.display())]
    Rootfs {
        dir: PathBuf,
        #[source]
        source: Box<OciError>,
    },
}

impl Bundle {
    /// Loads and verifies the bundle in `dir` against `trusted` keys.
    pub fn load(dir: &Path, trusted: &[VerifyingKey]) -> Result<Bundle, BundleError> {
        let d = || dir.to_path_buf();
        let read = |file: &str| {
            std::fs::read(dir.join(file)).map_err(|source| BundleError::Read {
                dir: dir.to_path_buf(),
                file: file.to_string(),
                source,
            })
        };
        let manifest_bytes = read(MANIFEST)?;
        let signature = read(SIGNATURE)?;
        // Only the file names are taken from the manifest before verification;
        // the signature then binds every byte of every file.
        let unverified = Manifest::from_json(&manifest_bytes)
            .map_err(|source| BundleError::Manifest { dir: d(), source })?;
        let megabinary_name = plain_name(dir, &unverified.megabinary.name)?;
        let rootfs_name = plain_name(dir, &unverified.rootfs.name)?;
        let megabinary = read(&megabinary_name)?;
        let rootfs_tar = read(&rootfs_name)?;
        let files = BundleFiles {
            megabinary: (&megabinary_name, &megabinary),
            manifest: (MANIFEST, &manifest_bytes),
            rootfs: (&rootfs_name, &rootfs_tar),
        };
        let mut first_error = None;
        let mut verified = None;
        for key in trusted {
            match verify_bundle(key, &signature, &files) {
                Ok(statement) => {
                    verified = Some((key_id(key), statement));
                    break;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let (key_id, statement) = match (verified, first_error) {
            (Some(v), _) => v,
            (None, Some(source)) => {
                return Err(BundleError::Verify {
                    dir: d(),
                    source: Box::new(source),
                });
            }
            (None, None) => return Err(BundleError::NoTrustedKey { dir: d() }),
        };
        let rootfs = Rootfs::from_tar_bytes(&rootfs_tar).map_err(|source| BundleError::Rootfs {
            dir: d(),
            source: Box::new(source),
        })?;
        Ok(Bundle {
            dir: d(),
            key_id,
            manifest: Arc::new(statement.manifest),
            megabinary_blake3: statement.megabinary.blake3.clone(),
            megabinary: megabinary.into(),
            rootfs: Arc::new(rootfs),
        })
    }
}

fn plain_name(dir: &Path, name: &str) -> Result<String, BundleError> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(BundleError::BadName {
            dir: dir.to_path_buf(),
            file: name.to_string(),
        });
    }
    Ok(name.to_string())
}

/// Loads a public key file for `--trust`.
pub fn load_trusted_key(path: &Path) -> Result<VerifyingKey, recompiler_manifest::SignError> {
    recompiler_manifest::sign::load_verifying_key(path)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use recompiler_manifest::digest::FileRef;
    use recompiler_manifest::sign::{SigningKey, sign_bundle};
    use recompiler_manifest::{ImageInfo, schema::SCHEMA};

    use super::*;

    /// Writes a signed bundle of an empty image into `dir`.
    fn write_bundle(dir: &Path, key: &SigningKey) {
        let megabinary = wat::parse_str("(module)").unwrap();
        let mut rootfs = Vec::new();
        Rootfs::new().write_tar(&mut rootfs).unwrap();
        let manifest = Manifest {
            schema: SCHEMA.into(),
            image: ImageInfo {
                reference: "test".into(),
                digest: format!("sha256:{}", "1".repeat(64)),
                config_digest: format!("sha256:{}", "2".repeat(64)),
                platform: "wasi/wasm".into(),
            },
            megabinary: FileRef::of("container.wasm", &megabinary),
            rootfs: FileRef::of("rootfs.tar", &rootfs),
            executables: BTreeMap::new(),
        };
        let manifest_bytes = manifest.to_canonical_json();
        let files = BundleFiles {
            megabinary: ("container.wasm", &megabinary),
            manifest: (MANIFEST, &manifest_bytes),
            rootfs: ("rootfs.tar", &rootfs),
        };
        let sig = sign_bundle(key, &files, "test", &manifest.image.digest);
        std::fs::write(dir.join("container.wasm"), &megabinary).unwrap();
        std::fs::write(dir.join("rootfs.tar"), &rootfs).unwrap();
        std::fs::write(dir.join(MANIFEST), &manifest_bytes).unwrap();
        std::fs::write(dir.join(SIGNATURE), sig).unwrap();
    }

    #[test]
    fn a_signed_bundle_loads_and_a_tampered_one_does_not() {
        let tmp = tempfile::tempdir().unwrap();
        let key = recompiler_manifest::sign::generate_signing_key().unwrap();
        let other = recompiler_manifest::sign::generate_signing_key().unwrap();
        write_bundle(tmp.path(), &key);
        let bundle =
            Bundle::load(tmp.path(), &[other.verifying_key(), key.verifying_key()]).unwrap();
        assert_eq!(bundle.key_id, key_id(&key.verifying_key()));
        assert_eq!(
            &bundle.megabinary[..],
            &std::fs::read(tmp.path().join("container.wasm")).unwrap()[..]
        );

        let err = Bundle::load(tmp.path(), &[other.verifying_key()]).unwrap_err();
        assert!(matches!(err, BundleError::Verify { .. }), "{err}");
        assert!(matches!(
            Bundle::load(tmp.path(), &[]),
            Err(BundleError::NoTrustedKey { .. })
        ));

        let mut wasm = std::fs::read(tmp.path().join("container.wasm")).unwrap();
        wasm.push(0);
        std::fs::write(tmp.path().join("container.wasm"), wasm).unwrap();
        let err = Bundle::load(tmp.path(), &[key.verifying_key()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("signature check failed") && err.contains("megabinary"),
            "{err}"
        );
    }
}
