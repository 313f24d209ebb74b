//! Build keys and the bundle signature.
//!
//! A bundle (megabinary, manifest, rootfs tarball) is signed as a whole: the
//! signature is a DSSE envelope whose payload is an in-toto Statement v1 with
//! one subject per file (SHA-256 and BLAKE3) and a predicate saying which
//! subject plays which role. [`verify_bundle`] checks an envelope against the
//! exact bytes the caller will use and against a pinned public key, and tells
//! which check failed.
//!
//! Keys are ed25519: private keys as unencrypted PKCS#8 PEM (mode 0600),
//! public keys as SPKI PEM, the formats `openssl pkey` reads and writes.
//! This module does not decide which key is trusted: the caller passes it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes,
};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::atomic::{self, AtomicWriteError, WriteOptions};
use crate::digest::{Digests, FileRef};
use crate::schema::{Manifest, ManifestError};

pub use ed25519_dalek::{SigningKey, VerifyingKey};

/// DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The in-toto statement version we write and read.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// Our predicate: a recompiler bundle.
pub const PREDICATE_TYPE: &str = "https://recompiler.dev/bundle/v1";

/// Errors making, writing and reading keys.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("key {key}: already exists (pass --force to replace it)")]
    Exists { key: String },
    #[error("key {key}: cannot read it: {source}")]
    Read {
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("key {key}: {reason}")]
    NotAKey { key: String, reason: String },
    #[error("key {key} is a private key; pass the .pub file")]
    PrivateKeyGiven { key: String },
    #[error("key {key} is a public key; signing needs the private key")]
    PublicKeyGiven { key: String },
    #[error("key {key} is encrypted; recompiler reads unencrypted PKCS#8 keys")]
    Encrypted { key: String },
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    #[error("cannot encode the key: {0}")]
    Encode(String),
    #[error("key {0}")]
    Write(#[from] AtomicWriteError),
}

/// Why a bundle failed verification, one variant per check, in the order the
/// checks run.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("signature envelope is not a valid DSSE envelope: {0}")]
    Envelope(String),
    #[error("signature envelope has payload type {found:?}, expected {PAYLOAD_TYPE:?}")]
    PayloadType { found: String },
    #[error("signature envelope has no signatures")]
    Unsigned,
    #[error(
        "signed by key {}, not by the trusted key {expected}",
        display_keys(found)
    )]
    KeyMismatch {
        expected: String,
        found: Vec<String>,
    },
    #[error("signature by key {key_id} does not verify: {reason}")]
    BadSignature { key_id: String, reason: String },
    #[error("signed statement is not a valid in-toto statement of a recompiler bundle: {0}")]
    Statement(String),
    #[error("signed statement has _type {found}, expected {STATEMENT_TYPE:?}")]
    StatementType { found: String },
    #[error("signed statement has predicateType {found}, expected {PREDICATE_TYPE:?}")]
    PredicateType { found: String },
    #[error("signed statement names {name:?} as the {role} but has no subject of that name")]
    MissingSubject { role: &'static str, name: String },
    #[error("{role} {name}: the signed statement has no {algorithm} digest for it")]
    MissingDigest {
        role: &'static str,
        name: String,
        algorithm: &'static str,
    },
    #[error(
        "{role} {name}: {algorithm} does not match the signed statement (signed {expected}, file {actual})"
    )]
    DigestMismatch {
        role: &'static str,
        name: String,
        algorithm: &'static str,
        expected: String,
        actual: String,
    },
    #[error("signed {0}")]
    Manifest(#[source] ManifestError),
    #[error(
        "manifest does not describe this {role}: {field} is {expected} in the manifest and {actual} in the bundle"
    )]
    ManifestMismatch {
        role: &'static str,
        field: &'static str,
        expected: String,
        actual: String,
    },
}

fn display_keys(keys: &[String]) -> String {
    keys.iter()
        .map(|k| {
            if k.is_empty() {
                "(no key id)"
            } else {
                k.as_str()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A new signing key from the operating system's random number generator.
pub fn generate_signing_key() -> Result<SigningKey, SignError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| SignError::Random(e.to_string()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The public key's file: `private_path` with `.pub` appended.
pub fn public_key_path(private_path: &Path) -> PathBuf {
    let mut name = private_path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Generates a key pair and writes it: the private key to `private_path`
/// (PKCS#8 PEM, mode 0600), the public key beside it with `.pub` appended
/// (SPKI PEM, mode 0644). Returns the public key's path. Existing files are
/// an error unless `force`.
pub fn write_key_pair(private_path: &Path, force: bool) -> Result<PathBuf, SignError> {
    write_signing_key(&generate_signing_key()?, private_path, force)
}

/// Writes `key` as [`write_key_pair`] does.
pub fn write_signing_key(
    key: &SigningKey,
    private_path: &Path,
    force: bool,
) -> Result<PathBuf, SignError> {
    let public_path = public_key_path(private_path);
    if !force {
        for path in [private_path, &public_path] {
            if std::fs::symlink_metadata(path).is_ok() {
                return Err(SignError::Exists {
                    key: path.display().to_string(),
                });
            }
        }
    }
    let private_pem = private_key_pem(key)?;
    let public_pem = public_key_pem(&key.verifying_key())?;
    // Both are staged before either is renamed into place, so a failure
    // leaves neither behind.
    let private = atomic::stage(
        private_path,
        private_pem.as_bytes(),
        &WriteOptions {
            mode: 0o600,
            overwrite: force,
        },
    )?;
    let public = atomic::stage(
        &public_path,
        public_pem.as_bytes(),
        &WriteOptions {
            mode: 0o644,
            overwrite: force,
        },
    )?;
    private.commit()?;
    public.commit()?;
    Ok(public_path)
}

/// The private key as PKCS#8 v1 PEM (RFC 8410), as `openssl genpkey` writes it.
pub fn private_key_pem(key: &SigningKey) -> Result<String, SignError> {
    let bytes = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    let pem = bytes
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| SignError::Encode(e.to_string()))?;
    Ok(pem.to_string())
}

/// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
pub fn public_key_pem(key: &VerifyingKey) -> Result<String, SignError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| SignError::Encode(e.to_string()))
}

/// Reads a private key file (unencrypted PKCS#8 PEM).
pub fn load_signing_key(path: &Path) -> Result<SigningKey, SignError> {
    let key = path.display().to_string();
    signing_key_from_pem(&read_pem(path)?, &key)
}

/// Reads a public key file (SPKI PEM). A private key file is refused with a
/// message saying to pass the `.pub` file.
pub fn load_verifying_key(path: &Path) -> Result<VerifyingKey, SignError> {
    let key = path.display().to_string();
    verifying_key_from_pem(&read_pem(path)?, &key)
}

/// Parses a private key PEM; `key` names it in errors.
pub fn signing_key_from_pem(pem: &str, key: &str) -> Result<SigningKey, SignError> {
    let key = key.to_string();
    match pem_label(pem) {
        Some("PRIVATE KEY") => SigningKey::from_pkcs8_pem(pem).map_err(|e| SignError::NotAKey {
            key,
            reason: format!("not an ed25519 PKCS#8 private key ({e})"),
        }),
        Some("PUBLIC KEY") => Err(SignError::PublicKeyGiven { key }),
        Some("ENCRYPTED PRIVATE KEY") => Err(SignError::Encrypted { key }),
        Some(other) => Err(SignError::NotAKey {
            key,
            reason: format!("a PEM {other:?} block, expected \"PRIVATE KEY\" (ed25519, PKCS#8)"),
        }),
        None => Err(SignError::NotAKey {
            key,
            reason: "not a PEM file".into(),
        }),
    }
}

/// Parses a public key PEM; `key` names it in errors.
pub fn verifying_key_from_pem(pem: &str, key: &str) -> Result<VerifyingKey, SignError> {
    let key = key.to_string();
    match pem_label(pem) {
        Some("PUBLIC KEY") => {
            VerifyingKey::from_public_key_pem(pem).map_err(|e| SignError::NotAKey {
                key,
                reason: format!("not an ed25519 public key ({e})"),
            })
        }
        Some(label) if label.contains("PRIVATE KEY") => Err(SignError::PrivateKeyGiven { key }),
        Some(other) => Err(SignError::NotAKey {
            key,
            reason: format!("a PEM {other:?} block, expected \"PUBLIC KEY\" (ed25519, SPKI)"),
        }),
        None => Err(SignError::NotAKey {
            key,
            reason: "not a PEM file".into(),
        }),
    }
}

fn read_pem(path: &Path) -> Result<String, SignError> {
    let key = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| SignError::Read {
        key: key.clone(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| SignError::NotAKey {
        key,
        reason: "not a PEM file (not text)".into(),
    })
}

/// The label of the first PEM block: `PRIVATE KEY` for `-----BEGIN PRIVATE KEY-----`.
fn pem_label(pem: &str) -> Option<&str> {
    let start = pem.find("-----BEGIN ")? + "-----BEGIN ".len();
    let rest = pem.get(start..)?;
    let end = rest.find("-----")?;
    rest.get(..end)
}

/// The id of a public key: `sha256:` and the hex SHA-256 of its 32 raw bytes.
pub fn key_id(key: &VerifyingKey) -> String {
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(key.as_bytes()))
    )
}

/// DSSE's pre-authentication encoding, what is actually signed:
/// `"DSSEv1" SP len(type) SP type SP len(body) SP body`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(
        format!(
            "DSSEv1 {} {} {} ",
            payload_type.len(),
            payload_type,
            payload.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(payload);
    out
}

/// The three files of a bundle, each as (base name, bytes).
#[derive(Debug, Clone, Copy)]
pub struct BundleFiles<'a> {
    pub megabinary: (&'a str, &'a [u8]),
    pub manifest: (&'a str, &'a [u8]),
    pub rootfs: (&'a str, &'a [u8]),
}

impl<'a> BundleFiles<'a> {
    /// (role, name, bytes) in the order of the statement's subjects.
    fn roles(&self) -> [(&'static str, &'a str, &'a [u8]); 3] {
        [
            ("megabinary", self.megabinary.0, self.megabinary.1),
            ("manifest", self.manifest.0, self.manifest.1),
            ("rootfs", self.rootfs.0, self.rootfs.1),
        ]
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Serialize, Deserialize)]
struct EnvelopeSignature {
    #[serde(default)]
    keyid: String,
    sig: String,
}

/// The statement as we write it: subjects' digests in the order sha256, blake3.
#[derive(Serialize)]
struct StatementOut<'a> {
    #[serde(rename = "_type")]
    statement_type: &'a str,
    subject: Vec<SubjectOut<'a>>,
    #[serde(rename = "predicateType")]
    predicate_type: &'a str,
    predicate: Predicate,
}

#[derive(Serialize)]
struct SubjectOut<'a> {
    name: &'a str,
    digest: Digests,
}

/// The statement as we read it; `_type` and `predicateType` are checked
/// before this is parsed, and fields we do not use are ignored.
#[derive(Deserialize)]
struct StatementIn {
    subject: Vec<SubjectIn>,
    predicate: Predicate,
}

#[derive(Deserialize)]
struct SubjectIn {
    name: String,
    /// Algorithm -> lower-case hex.
    digest: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct Predicate {
    roles: Roles,
    image: PredicateImage,
}

#[derive(Serialize, Deserialize)]
struct Roles {
    megabinary: String,
    manifest: String,
    rootfs: String,
}

#[derive(Serialize, Deserialize)]
struct PredicateImage {
    reference: String,
    digest: String,
}

/// Signs a bundle: returns the DSSE envelope (compact JSON and a newline).
/// Deterministic: the same key and files give the same bytes. The three
/// names must differ (they are the subjects' names); the builder's file
/// names always do.
pub fn sign_bundle(
    key: &SigningKey,
    files: &BundleFiles<'_>,
    image_reference: &str,
    image_digest: &str,
) -> Vec<u8> {
    let subject = files
        .roles()
        .iter()
        .map(|(_, name, data)| SubjectOut {
            name,
            digest: Digests::of(data),
        })
        .collect();
    let statement = StatementOut {
        statement_type: STATEMENT_TYPE,
        subject,
        predicate_type: PREDICATE_TYPE,
        predicate: Predicate {
            roles: Roles {
                megabinary: files.megabinary.0.to_string(),
                manifest: files.manifest.0.to_string(),
                rootfs: files.rootfs.0.to_string(),
            },
            image: PredicateImage {
                reference: image_reference.to_string(),
                digest: image_digest.to_string(),
            },
        },
    };
    // Serializing these types cannot fail: only strings, lists and string-keyed maps.
    let payload = serde_json::to_vec(&statement).unwrap_or_default();
    let sig = key.sign(&pae(PAYLOAD_TYPE, &payload));
    let envelope = Envelope {
        payload_type: PAYLOAD_TYPE.to_string(),
        payload: STANDARD.encode(&payload),
        signatures: vec![EnvelopeSignature {
            keyid: key_id(&key.verifying_key()),
            sig: STANDARD.encode(sig.to_bytes()),
        }],
    };
    let mut out = serde_json::to_vec(&envelope).unwrap_or_default();
    out.push(b'\n');
    out
}

/// What a verified bundle's signature says, and the manifest it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedStatement {
    /// The id of the key that signed ([`key_id`] of the trusted key).
    pub key_id: String,
    pub image_reference: String,
    pub image_digest: String,
    /// Each file as signed: the subject's name, and the size and digests of
    /// the bytes that were checked.
    pub megabinary: FileRef,
    pub manifest_file: FileRef,
    pub rootfs: FileRef,
    /// The manifest, parsed and validated.
    pub manifest: Manifest,
}

/// DSSE allows either base64 alphabet, padded or not.
const STANDARD_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const URL_SAFE_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn decode_base64(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    STANDARD_ANY_PADDING
        .decode(s)
        .or_else(|e| URL_SAFE_ANY_PADDING.decode(s).map_err(|_| e))
}

/// Verifies a bundle's signature `envelope` against the trusted key and the
/// exact bytes of the three files. Checks, in order, stopping at the first
/// failure: the envelope is DSSE JSON; its payload type is in-toto; a
/// signature carries the trusted key's id; it verifies (`verify_strict`) over
/// the PAE; the statement is an in-toto v1 statement with our predicate type;
/// each role's subject has SHA-256 and BLAKE3 equal to the file's; the
/// manifest parses, validates, and records the megabinary's and rootfs's
/// size and digests and the signed image digest.
///
/// The names in `files` are used only in messages: which subject is which
/// file is decided by the signed roles.
pub fn verify_bundle(
    key: &VerifyingKey,
    envelope: &[u8],
    files: &BundleFiles<'_>,
) -> Result<VerifiedStatement, VerifyError> {
    let envelope: Envelope =
        serde_json::from_slice(envelope).map_err(|e| VerifyError::Envelope(e.to_string()))?;
    let payload = decode_base64(&envelope.payload)
        .map_err(|e| VerifyError::Envelope(format!("payload is not base64: {e}")))?;
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(VerifyError::PayloadType {
            found: envelope.payload_type,
        });
    }

    let trusted = key_id(key);
    if envelope.signatures.is_empty() {
        return Err(VerifyError::Unsigned);
    }
    let ours: Vec<&EnvelopeSignature> = envelope
        .signatures
        .iter()
        .filter(|s| s.keyid == trusted)
        .collect();
    if ours.is_empty() {
        return Err(VerifyError::KeyMismatch {
            expected: trusted,
            found: envelope.signatures.into_iter().map(|s| s.keyid).collect(),
        });
    }
    let signed = pae(PAYLOAD_TYPE, &payload);
    let mut reason = String::new();
    let verified = ours.iter().any(|s| {
        let outcome = decode_base64(&s.sig)
            .map_err(|e| format!("signature is not base64: {e}"))
            .and_then(|bytes| {
                ed25519_dalek::Signature::from_slice(&bytes)
                    .map_err(|_| format!("signature is {} bytes, expected 64", bytes.len()))
            })
            .and_then(|sig| {
                key.verify_strict(&signed, &sig)
                    .map_err(|_| "the signature does not match the signed payload".to_string())
            });
        match outcome {
            Ok(()) => true,
            Err(r) => {
                reason = r;
                false
            }
        }
    });
    if !verified {
        return Err(VerifyError::BadSignature {
            key_id: trusted,
            reason,
        });
    }

    let statement = parse_statement(&payload)?;
    let roles = &statement.predicate.roles;
    let (megabinary, megabinary_digests) = check_subject(
        &statement,
        "megabinary",
        &roles.megabinary,
        files.megabinary,
    )?;
    let (manifest_file, _) =
        check_subject(&statement, "manifest", &roles.manifest, files.manifest)?;
    let (rootfs, rootfs_digests) =
        check_subject(&statement, "rootfs", &roles.rootfs, files.rootfs)?;

    let manifest = Manifest::from_json(files.manifest.1).map_err(VerifyError::Manifest)?;
    manifest.validate().map_err(VerifyError::Manifest)?;
    for (role, recorded, file, digests) in [
        (
            "megabinary",
            &manifest.megabinary,
            &megabinary,
            &megabinary_digests,
        ),
        ("rootfs", &manifest.rootfs, &rootfs, &rootfs_digests),
    ] {
        if let Some((field, expected, actual)) = recorded.mismatch(file.size, digests) {
            return Err(VerifyError::ManifestMismatch {
                role,
                field,
                expected,
                actual,
            });
        }
    }
    if manifest.image.digest != statement.predicate.image.digest {
        return Err(VerifyError::ManifestMismatch {
            role: "image",
            field: "digest",
            expected: manifest.image.digest.clone(),
            actual: statement.predicate.image.digest.clone(),
        });
    }

    Ok(VerifiedStatement {
        key_id: trusted,
        image_reference: statement.predicate.image.reference,
        image_digest: statement.predicate.image.digest,
        megabinary,
        manifest_file,
        rootfs,
        manifest,
    })
}

/// Checks one file against the subject that the signed roles give `role`:
/// both digests must be there and equal the file's. Returns the file as
/// signed (subject name, actual size and digests) and its digests.
fn check_subject(
    statement: &StatementIn,
    role: &'static str,
    signed_name: &str,
    (name, data): (&str, &[u8]),
) -> Result<(FileRef, Digests), VerifyError> {
    let subject = statement
        .subject
        .iter()
        .find(|s| s.name == signed_name)
        .ok_or_else(|| VerifyError::MissingSubject {
            role,
            name: signed_name.to_string(),
        })?;
    let actual = Digests::of(data);
    for (algorithm, actual) in [("sha256", &actual.sha256), ("blake3", &actual.blake3)] {
        let expected = subject
            .digest
            .get(algorithm)
            .ok_or_else(|| VerifyError::MissingDigest {
                role,
                name: name.to_string(),
                algorithm,
            })?;
        if expected != actual {
            return Err(VerifyError::DigestMismatch {
                role,
                name: name.to_string(),
                algorithm,
                expected: expected.clone(),
                actual: actual.clone(),
            });
        }
    }
    Ok((
        FileRef::with_digests(signed_name, data.len() as u64, &actual),
        actual,
    ))
}

/// Parses the signed payload: the type fields first, so that a statement of
/// another kind is reported as such rather than as a shape error.
fn parse_statement(payload: &[u8]) -> Result<StatementIn, VerifyError> {
    let value: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| VerifyError::Statement(e.to_string()))?;
    let type_of = |field: &str| match value.get(field) {
        Some(serde_json::Value::String(s)) => (s.clone(), format!("{s:?}")),
        Some(other) => (String::new(), other.to_string()),
        None => (String::new(), "(missing)".to_string()),
    };
    let (statement_type, shown) = type_of("_type");
    if statement_type != STATEMENT_TYPE {
        return Err(VerifyError::StatementType { found: shown });
    }
    let (predicate_type, shown) = type_of("predicateType");
    if predicate_type != PREDICATE_TYPE {
        return Err(VerifyError::PredicateType { found: shown });
    }
    let statement: StatementIn =
        serde_json::from_value(value).map_err(|e| VerifyError::Statement(e.to_string()))?;
    for (i, s) in statement.subject.iter().enumerate() {
        if statement
            .subject
            .iter()
            .skip(i + 1)
            .any(|t| t.name == s.name)
        {
            return Err(VerifyError::Statement(format!(
                "subject {:?} is listed more than once",
                s.name
            )));
        }
    }
    Ok(statement)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn key_id_is_sha256_of_raw_public_key() {
        let k = key(7).verifying_key();
        let id = key_id(&k);
        assert_eq!(id, format!("sha256:{}", Digests::of(k.as_bytes()).sha256));
        assert_eq!(id.len(), 7 + 64);
        assert_ne!(id, key_id(&key(8).verifying_key()));
    }

    #[test]
    fn pem_round_trip() {
        let k = key(1);
        let private = private_key_pem(&k).unwrap();
        assert!(
            private.starts_with("-----BEGIN PRIVATE KEY-----\n"),
            "{private}"
        );
        assert_eq!(
            signing_key_from_pem(&private, "k").unwrap().to_bytes(),
            k.to_bytes()
        );
        let public = public_key_pem(&k.verifying_key()).unwrap();
        assert!(
            public.starts_with("-----BEGIN PUBLIC KEY-----\n"),
            "{public}"
        );
        assert_eq!(
            verifying_key_from_pem(&public, "k.pub").unwrap(),
            k.verifying_key()
        );
    }

    #[test]
    fn pem_mixups_are_named() {
        let k = key(1);
        let private = private_key_pem(&k).unwrap();
        let public = public_key_pem(&k.verifying_key()).unwrap();
        let err = verifying_key_from_pem(&private, "build.key").unwrap_err();
        assert_eq!(
            err.to_string(),
            "key build.key is a private key; pass the .pub file"
        );
        let err = signing_key_from_pem(&public, "build.key.pub").unwrap_err();
        assert_eq!(
            err.to_string(),
            "key build.key.pub is a public key; signing needs the private key"
        );
        let enc =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(matches!(
            signing_key_from_pem(enc, "k"),
            Err(SignError::Encrypted { .. })
        ));
        assert!(matches!(
            verifying_key_from_pem(enc, "k"),
            Err(SignError::PrivateKeyGiven { .. })
        ));
        assert!(matches!(
            signing_key_from_pem("hello", "k"),
            Err(SignError::NotAKey { .. })
        ));
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = verifying_key_from_pem(cert, "k").unwrap_err().to_string();
        assert!(err.contains("\"CERTIFICATE\""), "{err}");
        let garbage = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        assert!(matches!(
            verifying_key_from_pem(garbage, "k"),
            Err(SignError::NotAKey { .. })
        ));
        assert_eq!(pem_label("-----BEGIN "), None);
    }

    #[test]
    fn generated_keys_differ() {
        let a = generate_signing_key().unwrap();
        let b = generate_signing_key().unwrap();
        assert_ne!(a.to_bytes(), b.to_bytes());
    }

    #[test]
    fn base64_either_alphabet() {
        let data = [0xfbu8, 0xff, 0x01];
        assert_eq!(decode_base64("+/8B").unwrap(), data);
        assert_eq!(decode_base64("-_8B").unwrap(), data);
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64("aGk").unwrap(), b"hi");
        assert!(decode_base64("a!b").is_err());
    }

    #[test]
    fn envelope_shape() {
        let k = key(3);
        let files = BundleFiles {
            megabinary: ("a.wasm", b"a"),
            manifest: ("m.json", b"m"),
            rootfs: ("r.tar", b"r"),
        };
        let env = sign_bundle(&k, &files, "oci:x", "sha256:00");
        assert_eq!(
            env,
            sign_bundle(&k, &files, "oci:x", "sha256:00"),
            "deterministic"
        );
        let text = std::str::from_utf8(&env).unwrap();
        assert!(
            text.starts_with(r#"{"payloadType":"application/vnd.in-toto+json","payload":""#),
            "{text}"
        );
        assert!(text.ends_with("}]}\n"));
        let parsed: Envelope = serde_json::from_slice(&env).unwrap();
        let payload = STANDARD.decode(parsed.payload).unwrap();
        let statement = std::str::from_utf8(&payload).unwrap();
        assert!(
            statement.starts_with(r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a.wasm","digest":{"sha256":""#),
            "{statement}"
        );
        assert!(statement.contains(
            r#""predicateType":"https://recompiler.dev/bundle/v1","predicate":{"roles":{"megabinary":"a.wasm","manifest":"m.json","rootfs":"r.tar"},"image":{"reference":"oci:x","digest":"sha256:00"}}}"#
        ), "{statement}");
    }
}
