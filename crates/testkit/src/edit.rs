//! Small rewrites of WebAssembly binaries for tests, e.g. giving a program's
//! memory the export name it has inside a megabinary so that the redirecting
//! linker can be checked on a real program without the merger.

use anyhow::{Context as _, bail};
use wasm_encoder::{ExportKind, ExportSection, Module, RawSection};
use wasmparser::{Parser, Payload};

/// `wasm` with its export `from` renamed to `to`; every other byte of every
/// other section is kept as is.
pub fn rename_export(wasm: &[u8], from: &str, to: &str) -> anyhow::Result<Vec<u8>> {
    let mut module = Module::new();
    let mut renamed = false;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.context("cannot parse the module")?;
        match &payload {
            Payload::Version {
                encoding: wasmparser::Encoding::Component,
                ..
            } => {
                bail!("rename_export works on core modules, not components");
            }
            Payload::ExportSection(reader) => {
                let mut exports = ExportSection::new();
                for export in reader.clone() {
                    let export = export.context("cannot read an export")?;
                    let name = if export.name == from {
                        renamed = true;
                        to
                    } else {
                        export.name
                    };
                    exports.export(name, ExportKind::from(export.kind), export.index);
                }
                module.section(&exports);
            }
            _ => {
                if let Some((id, range)) = payload.as_section() {
                    module.section(&RawSection {
                        id,
                        data: &wasm[range],
                    });
                }
            }
        }
    }
    if !renamed {
        bail!("the module has no export named {from:?}");
    }
    Ok(module.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_one_export_and_keeps_the_rest() {
        let wasm = wat::parse_str(
            r#"(module (memory (export "memory") 1) (func (export "f")) (@custom "note" "x"))"#,
        )
        .unwrap();
        let out = rename_export(&wasm, "memory", "prog.0000000000000001.memory").unwrap();
        wasmparser::validate(&out).unwrap();
        let mut names = Vec::new();
        let mut custom = false;
        for payload in Parser::new(0).parse_all(&out) {
            match payload.unwrap() {
                Payload::ExportSection(r) => {
                    names.extend(r.into_iter().map(|e| e.unwrap().name.to_owned()))
                }
                Payload::CustomSection(c) => custom |= c.name() == "note",
                _ => {}
            }
        }
        assert_eq!(names, ["prog.0000000000000001.memory", "f"]);
        assert!(custom, "custom sections are kept");
        assert!(rename_export(&wasm, "nope", "x").is_err());
    }
}
