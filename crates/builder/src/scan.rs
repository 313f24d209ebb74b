//! Classifying the files of an image: which are programs, and of which kind.
//!
//! Every regular file with an execute bit, and every symlink that resolves to one,
//! is an *executable*. Its bytes decide its kind: a WASM core module (a command,
//! or a reactor whose entry is named with `--entry`), an ELF program (recorded as
//! needing lifting), a script (`#!`, with its interpreter), or other.

use std::collections::BTreeMap;

use recompiler_megabinary::{Entry, Sniff, WasmKind};
use recompiler_oci::{Node, Rootfs};

/// What one executable path is.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A WASM module that will be merged, with its entry.
    Wasm {
        entry: Entry,
        features: Vec<&'static str>,
    },
    /// A WASM file that will not be merged, and why (a reactor without `--entry`, a component).
    WasmSkipped { reason: String },
    /// An ELF program: not merged until lifting exists.
    Elf { note: String },
    /// `#!interpreter [arg]`.
    Script {
        interpreter: String,
        arg: Option<String>,
    },
    /// Anything else with an execute bit.
    Other,
}

/// One executable file (symlinks are listed separately).
#[derive(Debug, Clone)]
pub struct Executable {
    pub path: String,
    pub kind: Kind,
    pub size: u64,
    pub mode: u32,
    pub blake3: [u8; 32],
    pub sha256: [u8; 32],
}

/// The result of scanning a rootfs.
#[derive(Debug, Default)]
pub struct Scan {
    /// Executable regular files, by path.
    pub files: BTreeMap<String, Executable>,
    /// Symlinks that resolve to an executable file: path -> resolved target.
    pub symlinks: BTreeMap<String, String>,
}

/// Errors that stop a build: a WASM file that does not validate, say.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Wasm(#[from] recompiler_megabinary::MergeError),
}

/// Scans `rootfs`. `entries` names reactor entries by path (`--entry PATH=EXPORT`).
pub fn scan(rootfs: &Rootfs, entries: &BTreeMap<String, String>) -> Result<Scan, ScanError> {
    let mut out = Scan::default();
    for (path, node) in rootfs.iter() {
        match node {
            Node::File { meta, data, .. } if meta.mode & 0o111 != 0 => {
                let kind = classify(path, data, entries.get(path))?;
                out.files.insert(
                    path.to_string(),
                    Executable {
                        path: path.to_string(),
                        kind,
                        size: data.len() as u64,
                        mode: meta.mode,
                        blake3: *blake3::hash(data).as_bytes(),
                        sha256: sha256(data),
                    },
                );
            }
            Node::Symlink { .. } => {
                // A symlink counts when it resolves, inside the root, to an
                // executable regular file.
                let Ok(target) = rootfs.resolve(path) else {
                    continue;
                };
                if let Some(Node::File { meta, .. }) = rootfs.get(&target)
                    && meta.mode & 0o111 != 0
                {
                    out.symlinks.insert(path.to_string(), target);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// Decides the kind of one executable file.
pub fn classify(path: &str, data: &[u8], entry: Option<&String>) -> Result<Kind, ScanError> {
    match recompiler_megabinary::sniff(data) {
        Sniff::CoreModule => {
            let info = recompiler_megabinary::analyze(path, data)?;
            let entry = match (&info.kind, entry) {
                (_, Some(name)) => Entry::Export(name.clone()),
                (WasmKind::Command, None) => Entry::Start,
                (WasmKind::Reactor { .. }, None) => {
                    return Ok(Kind::WasmSkipped {
                        reason: format!(
                            "a reactor (no _start); name its entry with --entry {path}=EXPORT (exports: {})",
                            preview(&info.exported_funcs)
                        ),
                    });
                }
            };
            Ok(Kind::Wasm {
                entry,
                features: info.features,
            })
        }
        Sniff::Component => Ok(Kind::WasmSkipped {
            reason: "a WebAssembly component; only core modules (WASI preview1) are merged".into(),
        }),
        Sniff::UnknownVersion(v) => Ok(Kind::WasmSkipped {
            reason: format!("unknown WebAssembly version {v:#x}"),
        }),
        Sniff::NotWasm if data.starts_with(b"\x7fELF") => Ok(Kind::Elf {
            note: elf_note(data),
        }),
        Sniff::NotWasm if data.starts_with(b"#!") => Ok(script(data)),
        Sniff::NotWasm => Ok(Kind::Other),
    }
}

fn preview(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(6).map(String::as_str).collect();
    let more = if names.len() > shown.len() {
        ", …"
    } else {
        ""
    };
    if shown.is_empty() {
        "none".into()
    } else {
        format!("{}{more}", shown.join(", "))
    }
}

/// `#!interp arg` as the kernel reads it: the first line, up to 255 bytes, the
/// interpreter up to the first blank, the rest (trimmed) as one argument.
fn script(data: &[u8]) -> Kind {
    let line_end = data
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(data.len())
        .min(256);
    let line = String::from_utf8_lossy(&data[2..line_end]);
    let line = line.trim();
    let (interpreter, arg) = match line.split_once([' ', '\t']) {
        Some((i, a)) => (
            i.to_string(),
            Some(a.trim().to_string()).filter(|a| !a.is_empty()),
        ),
        None => (line.to_string(), None),
    };
    Kind::Script { interpreter, arg }
}

/// A one-line description of an ELF file from its header: class, machine, and
/// whether it is statically linked. Never fails: a malformed header says so.
pub fn elf_note(data: &[u8]) -> String {
    let Some(header) = data.get(..64) else {
        return "truncated ELF header".into();
    };
    let class = match header[4] {
        1 => "32-bit",
        2 => "64-bit",
        _ => return "ELF with an unknown class".into(),
    };
    let little = header[5] == 1;
    let u16_at = |o: usize| {
        let b = [header[o], header[o + 1]];
        if little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        }
    };
    let machine = match u16_at(18) {
        0x3e => "x86-64".to_string(),
        0xb7 => "aarch64".to_string(),
        0x03 => "i386".to_string(),
        0xf3 => "riscv".to_string(),
        m => format!("machine {m:#x}"),
    };
    let kind = match u16_at(16) {
        2 => "executable",
        3 => "position-independent",
        1 => "relocatable object",
        4 => "core dump",
        _ => "unknown type",
    };
    let linking = if class == "64-bit" && little {
        match has_interpreter(data) {
            Some(true) => "dynamically linked",
            Some(false) => "statically linked",
            None => "unreadable program headers",
        }
    } else {
        "linking not checked"
    };
    format!("{class} {machine} {kind}, {linking}")
}

/// Whether a 64-bit little-endian ELF has a PT_INTERP program header.
fn has_interpreter(data: &[u8]) -> Option<bool> {
    let u16_at = |o: usize| Some(u16::from_le_bytes(data.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(data.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(data.get(o..o + 8)?.try_into().ok()?));
    let phoff = usize::try_from(u64_at(32)?).ok()?;
    let phentsize = usize::from(u16_at(54)?);
    let phnum = usize::from(u16_at(56)?);
    for i in 0..phnum {
        let at = phoff.checked_add(i.checked_mul(phentsize)?)?;
        if u32_at(at)? == 3 {
            return Some(true);
        }
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_keep_interpreter_and_one_argument() {
        match script(b"#!/bin/sh -e -x\necho hi\n") {
            Kind::Script { interpreter, arg } => {
                assert_eq!(interpreter, "/bin/sh");
                assert_eq!(arg.as_deref(), Some("-e -x"));
            }
            k => panic!("{k:?}"),
        }
        match script(b"#! /usr/bin/env\n") {
            Kind::Script { interpreter, arg } => {
                assert_eq!(interpreter, "/usr/bin/env");
                assert_eq!(arg, None);
            }
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn elf_notes_say_static_or_dynamic() {
        let busybox = std::fs::read("/bin/busybox").ok();
        if let Some(b) = busybox {
            let note = elf_note(&b);
            assert!(note.starts_with("64-bit x86-64"), "{note}");
        }
        assert_eq!(elf_note(b"\x7fELF"), "truncated ELF header");
        let ls = std::fs::read("/bin/ls").unwrap();
        assert!(
            elf_note(&ls).ends_with("dynamically linked"),
            "{}",
            elf_note(&ls)
        );
    }

    #[test]
    fn reactors_without_entry_are_skipped_with_a_hint() {
        let wasm = wat::parse_str(r#"(module (func (export "run")))"#).unwrap();
        match classify("/usr/bin/r", &wasm, None).unwrap() {
            Kind::WasmSkipped { reason } => {
                assert!(reason.contains("--entry /usr/bin/r=EXPORT"), "{reason}")
            }
            k => panic!("{k:?}"),
        }
        let named = classify("/usr/bin/r", &wasm, Some(&"run".to_string())).unwrap();
        assert!(matches!(named, Kind::Wasm { entry: Entry::Export(ref e), .. } if e == "run"));
    }

    #[test]
    fn invalid_wasm_is_an_error_naming_the_path() {
        let err = classify("/usr/bin/bad", b"\0asm\x01\0\0\0\x01\xff", None).unwrap_err();
        assert!(err.to_string().starts_with("/usr/bin/bad: "), "{err}");
    }
}
