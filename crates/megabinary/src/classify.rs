//! Recognising WebAssembly files: core module or component, command or reactor,
//! and which optional features a module uses. Used by the builder to classify
//! image files and by the merger to check its inputs.

use wasmparser::{ExternalKind, Parser, Payload, Validator, WasmFeatures};

use crate::{MergeError, OPTIONAL_FEATURES, SUPPORTED_FEATURES};

/// What the first eight bytes of a file say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    /// Not `\0asm`.
    NotWasm,
    /// `\0asm` with version 1: a core module.
    CoreModule,
    /// `\0asm` with the component-model layer: a component (not supported yet).
    Component,
    /// `\0asm` with a version this tool does not know.
    UnknownVersion(u32),
}

/// Looks at the header only.
pub fn sniff(bytes: &[u8]) -> Sniff {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Sniff::NotWasm;
    }
    let version = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    match version {
        1 => Sniff::CoreModule,
        // Components encode version 0x0d and layer 1 in these four bytes.
        v if v & 0xffff == 0x000d => Sniff::Component,
        v => Sniff::UnknownVersion(v),
    }
}

/// Whether a core module is a WASI command or a reactor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WasmKind {
    /// Exports `_start: () -> ()`.
    Command,
    /// No `_start`; `has_initialize` says whether it exports `_initialize`.
    Reactor { has_initialize: bool },
}

/// What the builder needs to know about a valid core module.
#[derive(Debug, Clone)]
pub struct WasmInfo {
    pub kind: WasmKind,
    /// Exported functions with their signature as `(params, results)` counts of
    /// i32 — enough to check entry points. Names in export order.
    pub exported_funcs: Vec<String>,
    /// Optional features (beyond WebAssembly 2.0) the module uses, by name.
    pub features: Vec<&'static str>,
    /// The same, as a feature set.
    pub feature_set: WasmFeatures,
    /// Every `(module, name)` the module imports.
    pub imports: Vec<(String, String)>,
}

/// Validates a core module against [`SUPPORTED_FEATURES`] and describes it.
/// `name` is used in error messages (an image path, say).
pub fn analyze(name: &str, bytes: &[u8]) -> Result<WasmInfo, MergeError> {
    match sniff(bytes) {
        Sniff::CoreModule => {}
        Sniff::NotWasm => {
            return Err(MergeError::Invalid {
                name: name.into(),
                reason: "no \\0asm header".into(),
            });
        }
        Sniff::Component => {
            return Err(MergeError::Unsupported {
                name: name.into(),
                reason: "a WebAssembly component; only core modules (WASI preview1) are supported"
                    .into(),
            });
        }
        Sniff::UnknownVersion(v) => {
            return Err(MergeError::Invalid {
                name: name.into(),
                reason: format!("unknown WebAssembly version {v:#x}"),
            });
        }
    }
    let feature_set = features_in_use(name, bytes)?;
    let invalid = |e: wasmparser::BinaryReaderError| MergeError::Invalid {
        name: name.into(),
        reason: e.to_string(),
    };
    let mut exported_funcs = Vec::new();
    let mut imports = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(invalid)? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(invalid)?;
                    imports.push((import.module.to_string(), import.name.to_string()));
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(invalid)?;
                    if matches!(export.kind, ExternalKind::Func | ExternalKind::FuncExact) {
                        exported_funcs.push(export.name.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    let has = |n: &str| exported_funcs.iter().any(|e| e == n);
    let kind = if has("_start") {
        WasmKind::Command
    } else {
        WasmKind::Reactor {
            has_initialize: has("_initialize"),
        }
    };
    let features = OPTIONAL_FEATURES
        .iter()
        .filter(|(f, _)| feature_set.contains(*f))
        .map(|(_, n)| *n)
        .collect();
    Ok(WasmInfo {
        kind,
        exported_funcs,
        features,
        feature_set,
        imports,
    })
}

/// The smallest feature set, among WebAssembly 2.0 plus subsets of the optional
/// features, that validates `bytes`. Most programs validate as plain 2.0 and cost
/// one validation; others one more per optional feature.
fn features_in_use(name: &str, bytes: &[u8]) -> Result<WasmFeatures, MergeError> {
    let validates =
        |features: WasmFeatures| Validator::new_with_features(features).validate_all(bytes);
    if validates(WasmFeatures::WASM2).is_ok() {
        return Ok(WasmFeatures::WASM2);
    }
    validates(SUPPORTED_FEATURES).map_err(|e| MergeError::Invalid {
        name: name.into(),
        reason: e.to_string(),
    })?;
    let mut used = WasmFeatures::WASM2;
    for (feature, _) in OPTIONAL_FEATURES {
        if validates(SUPPORTED_FEATURES.difference(*feature)).is_err() {
            used |= *feature;
        }
    }
    Ok(used)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_headers() {
        assert_eq!(sniff(b"\0asm\x01\0\0\0"), Sniff::CoreModule);
        assert_eq!(sniff(b"\0asm\x0d\0\x01\0"), Sniff::Component);
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\0"), Sniff::NotWasm);
        assert_eq!(sniff(b"\0as"), Sniff::NotWasm);
    }

    #[test]
    fn tells_commands_from_reactors() {
        let cmd = wat::parse_str(r#"(module (func (export "_start")))"#).unwrap();
        assert_eq!(analyze("cmd", &cmd).unwrap().kind, WasmKind::Command);
        let reactor =
            wat::parse_str(r#"(module (func (export "_initialize")) (func (export "run")))"#)
                .unwrap();
        assert_eq!(
            analyze("r", &reactor).unwrap().kind,
            WasmKind::Reactor {
                has_initialize: true
            }
        );
    }

    #[test]
    fn finds_the_optional_features_in_use() {
        let tail = wat::parse_str(
            r#"(module (func $f (result i32) (return_call $g)) (func $g (result i32) (i32.const 1)))"#,
        )
        .unwrap();
        assert_eq!(analyze("t", &tail).unwrap().features, vec!["tail-call"]);
        let plain = wat::parse_str(r#"(module (func (export "_start")))"#).unwrap();
        assert!(analyze("p", &plain).unwrap().features.is_empty());
    }

    #[test]
    fn invalid_modules_name_the_file() {
        let mut bad =
            wat::parse_str(r#"(module (func (export "_start") (drop (i32.const 1))))"#).unwrap();
        let n = bad.len();
        bad[n - 2] = 0x6a; // i32.add with one operand
        let err = analyze("/usr/bin/broken", &bad).unwrap_err().to_string();
        assert!(
            err.starts_with("/usr/bin/broken: not a valid WebAssembly module"),
            "{err}"
        );
    }
}
