//! Classifying the files of an image: which are programs, and of which kind.
//!
//! Every regular file with an execute bit, and every symlink that resolves to one,
//! is an *executable*. Its bytes decide its kind: a WASM core module (a command,
//! or a reactor whose entry is named with `--entry`), a static x86-64 ELF
//! program (lifted here: its image and code discovery, see
//! `recompiler_lift::discover`), another ELF file (dynamically linked, another
//! machine, a shared library: reported, not lifted), a script (`#!`, with its
//! interpreter), or other. It also shapes what the build report says of lifted
//! programs ([`LiftedReport`]).

use std::collections::BTreeMap;

use recompiler_lift::discover::{Discovery, Lifted};
use recompiler_lift::elf::{ElfKind, LiftError};
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
    /// A static x86-64 ELF program, lifted: its image (for the megabinary)
    /// and what code discovery found (for the report).
    Lifted(Box<Lifted>),
    /// An ELF program that is not lifted (dynamically linked, another
    /// machine, malformed): `note` describes the file, `reason` says why.
    Elf { note: String, reason: String },
    /// An ELF shared library (position-independent, needs a loader): not a
    /// program, nothing to run.
    ElfLibrary { note: String, reason: String },
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
        Sniff::NotWasm if data.starts_with(b"\x7fELF") => Ok(elf(data)),
        Sniff::NotWasm if data.starts_with(b"#!") => Ok(script(data)),
        Sniff::NotWasm => Ok(Kind::Other),
    }
}

/// Lifts a static ELF program; says why another ELF file is not lifted.
fn elf(data: &[u8]) -> Kind {
    match recompiler_lift::discover::lift(data) {
        Ok(lifted) => Kind::Lifted(Box::new(lifted)),
        Err(e @ LiftError::SharedObject(_)) => Kind::ElfLibrary {
            note: elf_note(data),
            reason: e.to_string(),
        },
        Err(e) => Kind::Elf {
            note: elf_note(data),
            reason: e.to_string(),
        },
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

/// What the build report says of one lifted program (one per distinct
/// content, with every path holding it). Addresses are hex strings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiftedReport {
    pub paths: Vec<String>,
    /// `static` or `static-pie`.
    pub kind: &'static str,
    pub entry: String,
    /// Where a static-pie is placed (its addresses below are rebased).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// The ELF file, and its lifted image.
    pub size: u64,
    pub image_size: u64,
    pub functions: usize,
    pub eh_frame_functions: usize,
    pub instructions: usize,
    pub code_bytes: u64,
    pub indirect_jumps: usize,
    pub indirect_calls: usize,
    pub jump_tables: usize,
    /// Discovered instructions the executors do not cover; how many of them
    /// need CPU features beyond the baseline the guest is told of (code its
    /// IFUNCs never select).
    pub unsupported_count: usize,
    pub unsupported_beyond_baseline: usize,
    /// The first of them (at most `recompiler_lift::discover::MAX_LISTED`):
    /// those within the baseline first, each group by address.
    pub unsupported: Vec<UnsupportedReport>,
    /// All of them by mnemonic, most frequent within the baseline first.
    pub unsupported_by_mnemonic: Vec<MnemonicReport>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct UnsupportedReport {
    pub addr: String,
    pub bytes: String,
    pub text: String,
    /// The enclosing function (nearest `.eh_frame` start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    pub beyond_baseline: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MnemonicReport {
    pub mnemonic: String,
    pub count: usize,
    pub beyond_baseline: usize,
}

impl LiftedReport {
    fn new(paths: Vec<String>, size: u64, lifted: &Lifted) -> Self {
        let d: &Discovery = &lifted.discovery;
        LiftedReport {
            paths,
            kind: lifted.kind.name(),
            entry: hex_addr(lifted.entry),
            base: match lifted.kind {
                ElfKind::Static => None,
                ElfKind::StaticPie { base } => Some(hex_addr(base)),
            },
            size,
            image_size: lifted.image.len() as u64,
            functions: d.functions,
            eh_frame_functions: d.eh_frame_functions,
            instructions: d.instructions,
            code_bytes: d.code_bytes,
            indirect_jumps: d.indirect_jumps,
            indirect_calls: d.indirect_calls,
            jump_tables: d.jump_tables,
            unsupported_count: d.unsupported_count,
            unsupported_beyond_baseline: d.unsupported_beyond_baseline,
            unsupported: d
                .unsupported
                .iter()
                .map(|u| UnsupportedReport {
                    addr: hex_addr(u.addr),
                    bytes: u.bytes.clone(),
                    text: u.text.clone(),
                    function: u.function.map(hex_addr),
                    beyond_baseline: u.beyond_baseline,
                })
                .collect(),
            unsupported_by_mnemonic: d
                .by_mnemonic
                .iter()
                .map(|m| MnemonicReport {
                    mnemonic: m.mnemonic.clone(),
                    count: m.count,
                    beyond_baseline: m.beyond_baseline,
                })
                .collect(),
        }
    }
}

fn hex_addr(a: u64) -> String {
    format!("{a:#x}")
}

/// The lifted programs of a scan, one per distinct content (paths sorted, the
/// programs in the order of their first path).
pub fn lifted_reports(scan: &Scan) -> Vec<LiftedReport> {
    let mut by_hash: BTreeMap<[u8; 32], LiftedReport> = BTreeMap::new();
    for exe in scan.files.values() {
        if let Kind::Lifted(lifted) = &exe.kind {
            by_hash
                .entry(exe.blake3)
                .or_insert_with(|| LiftedReport::new(Vec::new(), exe.size, lifted))
                .paths
                .push(exe.path.clone());
        }
    }
    let mut out: Vec<LiftedReport> = by_hash.into_values().collect();
    out.sort_by(|a, b| a.paths.cmp(&b.paths));
    out
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
    fn static_elf_programs_are_lifted_and_dynamic_ones_say_why_not() {
        let busybox = std::fs::read("/bin/busybox")
            .expect("/bin/busybox (Debian's busybox-static; ./scripts/test installs it)");
        match classify("/bin/busybox", &busybox, None).unwrap() {
            Kind::Lifted(l) => {
                assert_eq!(l.kind, ElfKind::Static);
                assert_eq!(l.entry, 0x40ebf0);
                assert!(l.discovery.functions > 1000);
            }
            k => panic!("{k:?}"),
        }
        let ls = std::fs::read("/bin/ls").unwrap();
        match classify("/bin/ls", &ls, None).unwrap() {
            Kind::Elf { reason, note } => {
                assert!(
                    reason.starts_with("dynamically linked (interpreter /lib64/"),
                    "{reason}"
                );
                assert!(note.ends_with("dynamically linked"), "{note}");
            }
            k => panic!("{k:?}"),
        }
        let libm = std::fs::read("/lib/x86_64-linux-gnu/libm.so.6").unwrap();
        assert!(matches!(
            classify("/lib/libm.so.6", &libm, None).unwrap(),
            Kind::ElfLibrary { .. }
        ));
        match classify("/bin/cut", &busybox[..5000], None).unwrap() {
            Kind::Elf { reason, .. } => assert!(reason.starts_with("malformed ELF"), "{reason}"),
            k => panic!("{k:?}"),
        }
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
