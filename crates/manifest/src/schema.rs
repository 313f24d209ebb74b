//! The manifest (`mapping.json`): which image a bundle was built from, which
//! files make up the bundle, and for every executable path of the image what it
//! is and how it runs.
//!
//! Owns the schema, its canonical encoding and its consistency rules
//! ([`Manifest::validate`]). It does not check the manifest against the files
//! it names nor against a signature: that is [`crate::sign::verify_bundle`].
//! The field-by-field description is `docs/recompiler-container-plan/manifest.md`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::digest::{self, FileRef};

/// The value of `schema` this crate writes and reads.
pub const SCHEMA: &str = "recompiler.manifest/v1";

/// Symlinks [`Manifest::resolve`] follows before giving up: Linux's limit
/// (`MAXSYMLINKS`), so a chain the kernel accepts is accepted here too.
const MAX_SYMLINK_HOPS: usize = 40;

/// Errors reading or checking a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is not valid JSON of the manifest schema: {0}")]
    Json(#[source] serde_json::Error),
    #[error("manifest has schema {found:?}; this build reads only {SCHEMA:?}")]
    UnknownSchema { found: String },
    #[error("manifest has no \"schema\" field (expected {SCHEMA:?})")]
    MissingSchema,
    #[error("manifest {field}: {reason}")]
    Invalid { field: String, reason: String },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ManifestError {
    ManifestError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The manifest. Field order is the key order of the canonical encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`SCHEMA`].
    pub schema: String,
    pub image: ImageInfo,
    /// The megabinary (`container.wasm`).
    pub megabinary: FileRef,
    /// The image's files (`rootfs.tar`).
    pub rootfs: FileRef,
    /// Every executable path of the image, by absolute path.
    pub executables: BTreeMap<String, Executable>,
}

/// The image a bundle was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// The image as it was named to the builder (`oci:DIR:TAG`, ...).
    pub reference: String,
    /// The image manifest's digest, `sha256:<hex>`.
    pub digest: String,
    /// The image config's digest, `sha256:<hex>`.
    pub config_digest: String,
    /// `os/arch[/variant]`, e.g. `linux/amd64`.
    pub platform: String,
}

/// What an executable path is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ExecKind {
    /// A WASM program; runnable through the megabinary unless `status` says otherwise.
    Wasm,
    /// A symlink to another executable path (`target`).
    Symlink,
    /// A `#!` script, run by its `interpreter`.
    Script,
    /// An ELF program (`status` says whether it can run).
    Elf,
    /// Anything else with an execute bit.
    #[default]
    Other,
}

impl ExecKind {
    /// The manifest spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecKind::Wasm => "wasm",
            ExecKind::Symlink => "symlink",
            ExecKind::Script => "script",
            ExecKind::Elf => "elf",
            ExecKind::Other => "other",
        }
    }
}

/// One executable path. Flat: which fields are present depends on `kind`
/// (see [`Manifest::validate`]). Field order is the key order of the
/// canonical encoding; absent fields are omitted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Executable {
    pub kind: ExecKind,
    /// File size in bytes (every kind but `symlink`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Permission bits as 4 octal digits, e.g. `"0755"` (every kind but `symlink`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Lower-case hex SHA-256 of the file (every kind but `symlink`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Lower-case hex BLAKE3 of the file (every kind but `symlink`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
    /// `symlink`: the absolute, resolved path it points to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `wasm`: the export that starts the program (`_start` for commands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// `wasm`: the program's id in the megabinary's `_dispatch`, 16 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch_id: Option<String>,
    /// `wasm`: the megabinary export of the program's memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// `script`: the absolute path of the `#!` interpreter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<String>,
    /// `script`: the one optional argument of the `#!` line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter_arg: Option<String>,
    /// Why the file cannot run as it is (`needs-lifting`, `not-merged`);
    /// absent when it can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Free text for people, e.g. what kind of ELF file it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Executable {
    /// Whether the megabinary can run this entry: a `wasm` entry, or an `elf`
    /// entry that was lifted, with no `status`.
    pub fn is_dispatchable(&self) -> bool {
        matches!(self.kind, ExecKind::Wasm | ExecKind::Elf) && self.status.is_none()
    }

    /// The dispatch id as a number, when present and well-formed.
    pub fn dispatch_id_value(&self) -> Option<u64> {
        self.dispatch_id
            .as_deref()
            .and_then(|s| digest::parse_dispatch_id(s).ok())
    }
}

/// Only the `schema` field, read first so that a manifest of another version
/// is reported as such and not as a shape error.
#[derive(Deserialize)]
struct SchemaProbe {
    schema: Option<serde_json::Value>,
}

impl Manifest {
    /// The canonical encoding: pretty JSON with 2-space indent, keys in struct
    /// order, maps sorted, absent optional fields omitted, a final newline.
    /// The same manifest always gives the same bytes.
    pub fn to_canonical_json(&self) -> Vec<u8> {
        // Serializing these types cannot fail: every map key is a string and
        // every value is a string, an integer or a struct of them.
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Reads a manifest. Rejects other schema versions with a message naming
    /// the version found. Fields this version does not know are ignored (see
    /// the stability promise in the format doc); call [`Manifest::validate`]
    /// for the consistency rules.
    pub fn from_json(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let probe: SchemaProbe = serde_json::from_slice(bytes).map_err(ManifestError::Json)?;
        match probe.schema {
            None => return Err(ManifestError::MissingSchema),
            Some(serde_json::Value::String(s)) if s == SCHEMA => {}
            Some(serde_json::Value::String(s)) => {
                return Err(ManifestError::UnknownSchema { found: s });
            }
            Some(other) => {
                return Err(ManifestError::UnknownSchema {
                    found: other.to_string(),
                });
            }
        }
        serde_json::from_slice(bytes).map_err(ManifestError::Json)
    }

    /// Whether `bytes` are exactly the canonical encoding of a manifest.
    pub fn is_canonical(bytes: &[u8]) -> bool {
        Manifest::from_json(bytes).is_ok_and(|m| m.to_canonical_json() == bytes)
    }

    /// The entry recorded for `path` (no symlink is followed).
    pub fn lookup(&self, path: &str) -> Option<&Executable> {
        self.executables.get(path)
    }

    /// The entry for `path` after following `symlink` entries of the manifest,
    /// with the path it was found under; `None` when a path is missing or the
    /// chain is longer than 40 links (or loops).
    pub fn resolve<'a>(&'a self, path: &'a str) -> Option<(&'a str, &'a Executable)> {
        let mut path = path;
        for _ in 0..=MAX_SYMLINK_HOPS {
            let (key, exe) = self.executables.get_key_value(path)?;
            if exe.kind != ExecKind::Symlink {
                return Some((key.as_str(), exe));
            }
            path = exe.target.as_deref()?;
        }
        None
    }

    /// Every entry whose file has BLAKE3 `blake3` (lower-case hex), in path order.
    pub fn find_by_blake3(&self, blake3: &str) -> Vec<(&str, &Executable)> {
        self.executables
            .iter()
            .filter(|(_, e)| e.blake3.as_deref() == Some(blake3))
            .map(|(p, e)| (p.as_str(), e))
            .collect()
    }

    /// Checks the consistency rules; the first broken one is reported.
    ///
    /// - `schema` is [`SCHEMA`]; image digests are `sha256:<64 hex>`;
    ///   reference and platform are not empty;
    /// - `megabinary` and `rootfs` have plain file names and well-formed digests;
    /// - executable paths are absolute and normalized (no `.`, `..`, empty
    ///   component or trailing `/`);
    /// - `symlink` entries have an absolute, normalized `target`, and no
    ///   `size`, `mode`, digests or `status` (a `note` is allowed);
    /// - other kinds have `size`, `mode` (4 octal digits) and well-formed
    ///   `sha256` and `blake3`; no `target`;
    /// - `wasm` entries without `status` have `entry`, `dispatch_id` (equal to
    ///   the BLAKE3 prefix) and `memory`; other entries have none of the three;
    /// - one dispatch id never stands for two different BLAKE3 hashes;
    /// - `script` entries have an absolute `interpreter`; others have no
    ///   `interpreter` nor `interpreter_arg`.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.schema != SCHEMA {
            return Err(ManifestError::UnknownSchema {
                found: self.schema.clone(),
            });
        }
        non_empty("image.reference", &self.image.reference)?;
        non_empty("image.platform", &self.image.platform)?;
        oci_digest("image.digest", &self.image.digest)?;
        oci_digest("image.config_digest", &self.image.config_digest)?;
        file_ref("megabinary", &self.megabinary)?;
        file_ref("rootfs", &self.rootfs)?;

        let mut ids: HashMap<&str, (&str, &str)> = HashMap::new();
        for (path, exe) in &self.executables {
            let field = |name: &str| format!("executables[{path:?}].{name}");
            if let Err(reason) = check_path(path) {
                return Err(invalid(
                    format!("executables[{path:?}]"),
                    format!("path {reason}"),
                ));
            }
            let has = |present: bool, name: &str, rule: &str| {
                if present {
                    Err(invalid(field(name), rule.to_string()))
                } else {
                    Ok(())
                }
            };
            if exe.kind == ExecKind::Symlink {
                let target = exe.target.as_deref().ok_or_else(|| {
                    invalid(field("target"), "missing (a symlink needs its target)")
                })?;
                check_path(target)
                    .map_err(|reason| invalid(field("target"), format!("{target:?} {reason}")))?;
                let rule = "not allowed on a symlink (the target's entry has it)";
                has(exe.size.is_some(), "size", rule)?;
                has(exe.mode.is_some(), "mode", rule)?;
                has(exe.sha256.is_some(), "sha256", rule)?;
                has(exe.blake3.is_some(), "blake3", rule)?;
                has(exe.status.is_some(), "status", rule)?;
            } else {
                has(exe.target.is_some(), "target", "allowed only on a symlink")?;
                if exe.size.is_none() {
                    return Err(invalid(
                        field("size"),
                        format!("missing (required for kind {})", exe.kind.as_str()),
                    ));
                }
                let mode = exe.mode.as_deref().ok_or_else(|| {
                    invalid(
                        field("mode"),
                        format!("missing (required for kind {})", exe.kind.as_str()),
                    )
                })?;
                if mode.len() != 4 || !mode.bytes().all(|b| matches!(b, b'0'..=b'7')) {
                    return Err(invalid(
                        field("mode"),
                        format!("{mode:?} is not 4 octal digits"),
                    ));
                }
                for (name, value) in [("sha256", &exe.sha256), ("blake3", &exe.blake3)] {
                    match value.as_deref() {
                        None => {
                            return Err(invalid(
                                field(name),
                                format!("missing (required for kind {})", exe.kind.as_str()),
                            ));
                        }
                        Some(v) if !digest::is_digest_hex(v) => {
                            return Err(invalid(
                                field(name),
                                format!("{v:?} is not 64 lower-case hex digits"),
                            ));
                        }
                        Some(_) => {}
                    }
                }
            }

            if exe.is_dispatchable() {
                let entry = exe.entry.as_deref().unwrap_or_default();
                if entry.is_empty() {
                    return Err(invalid(
                        field("entry"),
                        "missing (a runnable entry needs its entry export)",
                    ));
                }
                if exe.memory.as_deref().unwrap_or_default().is_empty() {
                    return Err(invalid(
                        field("memory"),
                        "missing (a runnable entry needs its memory export)",
                    ));
                }
                let id = exe.dispatch_id.as_deref().ok_or_else(|| {
                    invalid(
                        field("dispatch_id"),
                        "missing (a runnable entry needs its dispatch id)",
                    )
                })?;
                digest::parse_dispatch_id(id)
                    .map_err(|e| invalid(field("dispatch_id"), e.to_string()))?;
                // Checked above: a non-symlink entry has a well-formed blake3.
                let blake3 = exe.blake3.as_deref().unwrap_or_default();
                if !blake3.starts_with(id) {
                    return Err(invalid(
                        field("dispatch_id"),
                        format!(
                            "{id} is not the first 16 hex digits of the file's blake3 {blake3}"
                        ),
                    ));
                }
                if let Some((other_path, other_blake3)) = ids.insert(id, (path, blake3))
                    && other_blake3 != blake3
                {
                    return Err(invalid(
                        field("dispatch_id"),
                        format!(
                            "{id} is also the dispatch id of {other_path:?}, whose blake3 differs"
                        ),
                    ));
                }
            } else {
                let rule = if exe.kind == ExecKind::Wasm {
                    "not allowed on a wasm entry with a status (it is not in the megabinary)"
                } else {
                    "allowed only on a runnable entry (wasm, or a lifted elf)"
                };
                has(exe.entry.is_some(), "entry", rule)?;
                has(exe.dispatch_id.is_some(), "dispatch_id", rule)?;
                has(exe.memory.is_some(), "memory", rule)?;
            }

            if exe.kind == ExecKind::Script {
                let interpreter = exe.interpreter.as_deref().ok_or_else(|| {
                    invalid(
                        field("interpreter"),
                        "missing (a script needs its interpreter)",
                    )
                })?;
                if !interpreter.starts_with('/') {
                    return Err(invalid(
                        field("interpreter"),
                        format!("{interpreter:?} is not an absolute path"),
                    ));
                }
            } else {
                has(
                    exe.interpreter.is_some(),
                    "interpreter",
                    "allowed only on a script",
                )?;
                has(
                    exe.interpreter_arg.is_some(),
                    "interpreter_arg",
                    "allowed only on a script",
                )?;
            }
        }
        Ok(())
    }
}

fn non_empty(field: &str, value: &str) -> Result<(), ManifestError> {
    if value.is_empty() {
        Err(invalid(field, "is empty"))
    } else {
        Ok(())
    }
}

fn oci_digest(field: &str, value: &str) -> Result<(), ManifestError> {
    match value.strip_prefix("sha256:") {
        Some(hex) if digest::is_digest_hex(hex) => Ok(()),
        _ => Err(invalid(
            field,
            format!("{value:?} is not sha256: and 64 lower-case hex digits"),
        )),
    }
}

fn file_ref(field: &str, f: &FileRef) -> Result<(), ManifestError> {
    if f.name.is_empty() || f.name == "." || f.name == ".." || f.name.contains(['/', '\0']) {
        return Err(invalid(
            format!("{field}.name"),
            format!("{:?} is not a plain file name", f.name),
        ));
    }
    for (name, value) in [("sha256", &f.sha256), ("blake3", &f.blake3)] {
        if !digest::is_digest_hex(value) {
            return Err(invalid(
                format!("{field}.{name}"),
                format!("{value:?} is not 64 lower-case hex digits"),
            ));
        }
    }
    Ok(())
}

/// Checks that `path` is absolute and normalized; the error completes
/// "path ... ".
fn check_path(path: &str) -> Result<(), &'static str> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err("is not absolute");
    };
    if rest.is_empty() {
        return Err("is the root directory");
    }
    if path.contains('\0') {
        return Err("contains a NUL byte");
    }
    if rest
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err("is not normalized (empty, . or .. component, or trailing /)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::{Digests, RawDigests, format_dispatch_id};

    fn wasm(data: &[u8]) -> Executable {
        let raw = RawDigests::of(data);
        let hex = raw.to_hex();
        let id = format_dispatch_id(raw.dispatch_id());
        Executable {
            kind: ExecKind::Wasm,
            size: Some(data.len() as u64),
            mode: Some("0755".into()),
            sha256: Some(hex.sha256),
            blake3: Some(hex.blake3),
            entry: Some("_start".into()),
            memory: Some(format!("prog.{id}.memory")),
            dispatch_id: Some(id),
            ..Executable::default()
        }
    }

    fn file(kind: ExecKind, data: &[u8]) -> Executable {
        let d = Digests::of(data);
        Executable {
            kind,
            size: Some(data.len() as u64),
            mode: Some("0755".into()),
            sha256: Some(d.sha256),
            blake3: Some(d.blake3),
            ..Executable::default()
        }
    }

    fn sample() -> Manifest {
        let mut executables = BTreeMap::new();
        executables.insert("/usr/bin/cat".to_string(), wasm(b"\0asm cat"));
        executables.insert(
            "/bin/ls".to_string(),
            Executable {
                kind: ExecKind::Symlink,
                target: Some("/usr/bin/cat".into()),
                ..Executable::default()
            },
        );
        executables.insert(
            "/usr/bin/run.sh".to_string(),
            Executable {
                interpreter: Some("/bin/sh".into()),
                interpreter_arg: Some("-e".into()),
                ..file(ExecKind::Script, b"#!/bin/sh -e\necho hi\n")
            },
        );
        executables.insert(
            "/usr/bin/gcc".to_string(),
            Executable {
                status: Some("needs-lifting".into()),
                note: Some("static x86-64".into()),
                ..file(ExecKind::Elf, b"\x7fELF")
            },
        );
        executables.insert("/usr/bin/blob".to_string(), file(ExecKind::Other, b"blob"));
        Manifest {
            schema: SCHEMA.to_string(),
            image: ImageInfo {
                reference: "oci:img:latest".into(),
                digest: format!("sha256:{}", Digests::of(b"manifest").sha256),
                config_digest: format!("sha256:{}", Digests::of(b"config").sha256),
                platform: "linux/amd64".into(),
            },
            megabinary: FileRef::of("container.wasm", b"mega"),
            rootfs: FileRef::of("rootfs.tar", b"tar"),
            executables,
        }
    }

    fn assert_invalid(m: &Manifest, field_part: &str) {
        match m.validate() {
            Err(ManifestError::Invalid { field, .. }) if field.contains(field_part) => {}
            other => panic!("expected an error about {field_part}, got {other:?}"),
        }
    }

    #[test]
    fn canonical_round_trip_is_byte_identical() {
        let m = sample();
        m.validate().unwrap();
        let bytes = m.to_canonical_json();
        let back = Manifest::from_json(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.to_canonical_json(), bytes);
        assert!(Manifest::is_canonical(&bytes));
        assert!(bytes.ends_with(b"}\n"));
    }

    #[test]
    fn canonical_layout() {
        let text = String::from_utf8(sample().to_canonical_json()).unwrap();
        // Top-level key order and 2-space indent.
        let keys: Vec<&str> = text.lines().filter(|l| l.starts_with("  \"")).collect();
        assert_eq!(
            keys.iter()
                .map(|l| l.split('"').nth(1).unwrap())
                .collect::<Vec<_>>(),
            ["schema", "image", "megabinary", "rootfs", "executables"]
        );
        assert!(text.starts_with(
            "{\n  \"schema\": \"recompiler.manifest/v1\",\n  \"image\": {\n    \"reference\""
        ));
        // Executables sorted by path; a symlink entry has only kind and target.
        let ls = text.find("\"/bin/ls\"").unwrap();
        let blob = text.find("\"/usr/bin/blob\"").unwrap();
        assert!(ls < blob);
        assert!(text.contains("\"/bin/ls\": {\n      \"kind\": \"symlink\",\n      \"target\": \"/usr/bin/cat\"\n    }"));
        // Keys of a wasm entry in struct order.
        let cat = &text[text.find("\"/usr/bin/cat\": {").unwrap()..];
        let cat = &cat[..cat.find('}').unwrap()];
        let order: Vec<&str> = cat
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().split('"').nth(1).unwrap())
            .collect();
        assert_eq!(
            order,
            [
                "kind",
                "size",
                "mode",
                "sha256",
                "blake3",
                "entry",
                "dispatch_id",
                "memory"
            ]
        );
    }

    #[test]
    fn non_canonical_input_parses_but_is_not_canonical() {
        let compact = serde_json::to_vec(&sample()).unwrap();
        assert_eq!(Manifest::from_json(&compact).unwrap(), sample());
        assert!(!Manifest::is_canonical(&compact));
    }

    #[test]
    fn schema_versions() {
        let text = String::from_utf8(sample().to_canonical_json()).unwrap();
        let v2 = text.replace("recompiler.manifest/v1", "recompiler.manifest/v2");
        let err = Manifest::from_json(v2.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "manifest has schema \"recompiler.manifest/v2\"; this build reads only \"recompiler.manifest/v1\""
        );
        // Reported as a schema problem even when the rest has another shape.
        let err = Manifest::from_json(br#"{"schema":"other/v9","files":[]}"#).unwrap_err();
        assert!(matches!(err, ManifestError::UnknownSchema { .. }), "{err}");
        let err = Manifest::from_json(br#"{"schema":3}"#).unwrap_err();
        assert!(matches!(err, ManifestError::UnknownSchema { .. }), "{err}");
        let err = Manifest::from_json(br#"{"image":{}}"#).unwrap_err();
        assert!(matches!(err, ManifestError::MissingSchema), "{err}");
        assert!(matches!(
            Manifest::from_json(b"[1,2"),
            Err(ManifestError::Json(_))
        ));
        assert!(matches!(
            Manifest::from_json(b""),
            Err(ManifestError::Json(_))
        ));
    }

    #[test]
    fn unknown_fields_are_ignored_for_additive_changes() {
        let mut value: serde_json::Value =
            serde_json::from_slice(&sample().to_canonical_json()).unwrap();
        value["future"] = serde_json::json!({"x": 1});
        value["executables"]["/usr/bin/cat"]["future_hint"] = serde_json::json!("y");
        let m = Manifest::from_json(&serde_json::to_vec(&value).unwrap()).unwrap();
        assert_eq!(m, sample());
    }

    #[test]
    fn wrong_kind_value_is_a_json_error() {
        let text = String::from_utf8(sample().to_canonical_json()).unwrap();
        let bad = text.replace("\"kind\": \"other\"", "\"kind\": \"martian\"");
        let err = Manifest::from_json(bad.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("martian"), "{err}");
    }

    #[test]
    fn lookup_resolve_and_find() {
        let m = sample();
        assert_eq!(
            m.lookup("/usr/bin/cat").map(|e| e.kind),
            Some(ExecKind::Wasm)
        );
        assert_eq!(m.lookup("/bin/ls").map(|e| e.kind), Some(ExecKind::Symlink));
        assert!(m.lookup("/usr/bin/nope").is_none());
        assert_eq!(m.resolve("/bin/ls").map(|(p, _)| p), Some("/usr/bin/cat"));
        assert_eq!(
            m.resolve("/usr/bin/cat").map(|(p, _)| p),
            Some("/usr/bin/cat")
        );

        let cat_blake3 = m.lookup("/usr/bin/cat").unwrap().blake3.clone().unwrap();
        let mut m2 = m.clone();
        m2.executables
            .insert("/bin/cat".into(), m.lookup("/usr/bin/cat").unwrap().clone());
        let found: Vec<&str> = m2
            .find_by_blake3(&cat_blake3)
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(found, ["/bin/cat", "/usr/bin/cat"]);
        assert!(m2.find_by_blake3(&"0".repeat(64)).is_empty());
        m2.validate().unwrap();
    }

    #[test]
    fn resolve_stops_on_loops_and_dangling_links() {
        let mut m = sample();
        let link = |t: &str| Executable {
            kind: ExecKind::Symlink,
            target: Some(t.into()),
            ..Executable::default()
        };
        m.executables.insert("/a".into(), link("/b"));
        m.executables.insert("/b".into(), link("/a"));
        m.executables.insert("/c".into(), link("/missing"));
        assert!(m.resolve("/a").is_none());
        assert!(m.resolve("/c").is_none());
        // 40 links resolve, 41 do not.
        for i in 0..41 {
            m.executables
                .insert(format!("/l{i}"), link(&format!("/l{}", i + 1)));
        }
        m.executables.insert("/l41".into(), link("/usr/bin/cat"));
        assert!(m.resolve("/l2").is_some());
        assert!(m.resolve("/l1").is_none());
    }

    #[test]
    fn validate_paths() {
        for bad in [
            "usr/bin/x",
            "/",
            "/usr//x",
            "/usr/./x",
            "/usr/../x",
            "/usr/bin/",
            "/a\0b",
        ] {
            let mut m = sample();
            m.executables
                .insert(bad.into(), file(ExecKind::Other, b"x"));
            assert_invalid(&m, "executables[");
        }
        let mut m = sample();
        m.executables.get_mut("/bin/ls").unwrap().target = Some("usr/bin/cat".into());
        assert_invalid(&m, ".target");
        m.executables.get_mut("/bin/ls").unwrap().target = None;
        assert_invalid(&m, ".target");
    }

    #[test]
    fn validate_digests() {
        let mut m = sample();
        m.megabinary.sha256 = m.megabinary.sha256.to_uppercase();
        assert_invalid(&m, "megabinary.sha256");
        let mut m = sample();
        m.rootfs.blake3.pop();
        assert_invalid(&m, "rootfs.blake3");
        let mut m = sample();
        m.rootfs.name = "out/rootfs.tar".into();
        assert_invalid(&m, "rootfs.name");
        let mut m = sample();
        m.image.digest = m.image.digest.trim_start_matches("sha256:").to_string();
        assert_invalid(&m, "image.digest");
        let mut m = sample();
        m.executables.get_mut("/usr/bin/blob").unwrap().blake3 = Some("xyz".into());
        assert_invalid(&m, ".blake3");
        let mut m = sample();
        m.executables.get_mut("/usr/bin/blob").unwrap().sha256 = None;
        assert_invalid(&m, ".sha256");
        let mut m = sample();
        m.executables.get_mut("/usr/bin/blob").unwrap().mode = Some("755".into());
        assert_invalid(&m, ".mode");
        let mut m = sample();
        m.executables.get_mut("/usr/bin/blob").unwrap().size = None;
        assert_invalid(&m, ".size");
    }

    #[test]
    fn validate_wasm_entries() {
        for field in ["entry", "dispatch_id", "memory"] {
            let mut m = sample();
            let cat = m.executables.get_mut("/usr/bin/cat").unwrap();
            match field {
                "entry" => cat.entry = None,
                "dispatch_id" => cat.dispatch_id = None,
                _ => cat.memory = None,
            }
            assert_invalid(&m, field);
        }
        // The dispatch id must be the blake3 prefix.
        let mut m = sample();
        m.executables.get_mut("/usr/bin/cat").unwrap().dispatch_id =
            Some("0123456789abcdef".into());
        assert_invalid(&m, ".dispatch_id");
        // A wasm file that was not merged has a status and no dispatch fields.
        let mut m = sample();
        let mut skipped = file(ExecKind::Wasm, b"\0asm odd");
        skipped.status = Some("not-merged".into());
        m.executables.insert("/usr/bin/odd".into(), skipped.clone());
        m.validate().unwrap();
        skipped.dispatch_id = Some("0000000000000000".into());
        m.executables.insert("/usr/bin/odd".into(), skipped);
        assert_invalid(&m, "odd\"].dispatch_id");
        // Fields of other kinds.
        let mut m = sample();
        m.executables.get_mut("/usr/bin/blob").unwrap().entry = Some("_start".into());
        assert_invalid(&m, ".entry");
        let mut m = sample();
        m.executables.get_mut("/usr/bin/blob").unwrap().target = Some("/x".into());
        assert_invalid(&m, ".target");
        let mut m = sample();
        m.executables.get_mut("/bin/ls").unwrap().size = Some(1);
        assert_invalid(&m, ".size");
        let mut m = sample();
        m.executables.get_mut("/bin/ls").unwrap().status = Some("broken".into());
        assert_invalid(&m, ".status");
        let mut m = sample();
        m.executables
            .get_mut("/usr/bin/run.sh")
            .unwrap()
            .interpreter = Some("sh".into());
        assert_invalid(&m, ".interpreter");
        let mut m = sample();
        m.executables
            .get_mut("/usr/bin/blob")
            .unwrap()
            .interpreter_arg = Some("-e".into());
        assert_invalid(&m, ".interpreter_arg");
    }

    #[test]
    fn validate_dispatch_ids_unique_per_blake3() {
        // Two paths, same content: one id, fine.
        let mut m = sample();
        m.executables
            .insert("/bin/cat".into(), m.lookup("/usr/bin/cat").unwrap().clone());
        m.validate().unwrap();
        // Same 64-bit prefix, different hashes (a prefix collision): rejected.
        let mut other = m.lookup("/usr/bin/cat").unwrap().clone();
        let mut b3 = other.blake3.clone().unwrap();
        let last = if b3.ends_with('0') { "1" } else { "0" };
        b3.replace_range(63.., last);
        other.blake3 = Some(b3);
        m.executables.insert("/bin/zz".into(), other);
        let err = m.validate().unwrap_err().to_string();
        assert!(
            err.contains("is also the dispatch id of \"/bin/cat\""),
            "{err}"
        );
    }

    #[test]
    fn error_messages_name_the_field() {
        let mut m = sample();
        m.executables.get_mut("/usr/bin/cat").unwrap().entry = None;
        assert_eq!(
            m.validate().unwrap_err().to_string(),
            "manifest executables[\"/usr/bin/cat\"].entry: missing (a runnable entry needs its entry export)"
        );
    }
}
