//! The guest programs of `tests/guests`, built by `build.rs`.
//!
//! One list holds every guest: the C and Rust ones are compiled at build time
//! (C also natively, for differential tests against the host), the WAT ones are
//! compiled from their text on each call to [`wasm`] or [`Guest::wasm`].
//! This module only finds and loads guests; running them is [`crate::run`]'s job.

use std::path::Path;

use crate::run::RunOptions;

/// The language a guest is written in, which decides how it was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// `tests/guests/c/NAME.c`, clang for wasm32-wasi; also built natively.
    C,
    /// `tests/guests/rust/NAME/`, cargo for wasm32-wasip1.
    Rust,
    /// `tests/guests/wat/NAME.wat`, the `wat` crate at first use.
    Wat,
}

/// One guest program.
#[derive(Debug)]
pub struct Guest {
    /// File or directory name without extension, e.g. `stdio_filter`.
    pub name: &'static str,
    /// How it was built.
    pub lang: Lang,
    /// Its main source file.
    pub source_path: &'static str,
    /// A file `wat::parse_file` accepts: the built `.wasm` binary, or the `.wat`
    /// text itself for WAT guests. Use [`Guest::wasm`] to get the binary.
    pub wasm_path: &'static str,
    /// The same program built for the host, for C guests.
    pub native_path: Option<&'static str>,
    /// The export to run: `_start` for commands, e.g. `run` for a reactor
    /// (whose `_initialize` runs first).
    pub entry: &'static str,
}

impl Guest {
    /// The guest's WebAssembly binary (WAT guests are compiled here).
    ///
    /// # Panics
    ///
    /// If the file cannot be read or the WAT does not parse: a broken guest is
    /// a broken test suite.
    pub fn wasm(&self) -> Vec<u8> {
        wat::parse_file(self.wasm_path)
            .unwrap_or_else(|e| panic!("guest {}: cannot load {}: {e}", self.name, self.wasm_path))
    }

    /// Options with this argv and, for a reactor, its entry.
    pub fn options<S: Into<String>>(&self, args: impl IntoIterator<Item = S>) -> RunOptions {
        let opts = RunOptions::new(args);
        if self.is_reactor() {
            opts.entry(self.entry)
        } else {
            opts
        }
    }

    /// Whether this guest is a reactor (its entry is not `_start`).
    pub fn is_reactor(&self) -> bool {
        self.entry != "_start"
    }

    /// The native build of a C guest, as a path.
    pub fn native(&self) -> Option<&'static Path> {
        self.native_path.map(Path::new)
    }
}

include!(concat!(env!("OUT_DIR"), "/guests.rs"));

/// Every guest program: C, then Rust, then WAT, each sorted by name.
pub fn all() -> &'static [Guest] {
    GUESTS
}

/// The guest called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Guest> {
    GUESTS.iter().find(|g| g.name == name)
}

/// The guest called `name`.
///
/// # Panics
///
/// If there is no such guest (a typo in a test).
pub fn get(name: &str) -> &'static Guest {
    find(name).unwrap_or_else(|| {
        let names: Vec<&str> = GUESTS.iter().map(|g| g.name).collect();
        panic!("no guest program named {name:?}; the guests are {names:?}")
    })
}

/// The WebAssembly binary of the guest called `name`.
///
/// # Panics
///
/// As [`get`] and [`Guest::wasm`].
pub fn wasm(name: &str) -> Vec<u8> {
    get(name).wasm()
}

/// `n` distinct command programs for megabinary-size benchmarks, as
/// (dispatch id, wasm): every command guest in turn, `stdio_filter` first (the
/// one the benchmarks start), copies made distinct by a custom section so that
/// each has its own hash and id, as in a real image. Reactors (which need an
/// entry name) and `spawner` (which imports the vkernel's process extension)
/// are left out. The id is the BLAKE3 prefix, as the manifest's.
pub fn distinct_commands(n: usize) -> Vec<(u64, Vec<u8>)> {
    use wasm_encoder::Section as _;
    let mut names: Vec<&str> = all()
        .iter()
        .filter(|g| !g.is_reactor() && g.name != "spawner")
        .map(|g| g.name)
        .collect();
    names.sort_by_key(|n| *n != "stdio_filter");
    (0..n)
        .map(|i| {
            let mut wasm = self::wasm(names[i % names.len()]);
            if i >= names.len() {
                wasm_encoder::CustomSection {
                    name: "copy".into(),
                    data: i.to_le_bytes().to_vec().into(),
                }
                .append_to(&mut wasm);
            }
            let hash = blake3::hash(&wasm);
            let id = u64::from_be_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"));
            (id, wasm)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_guest_is_built_and_valid() {
        let mut validator = wasmparser::Validator::new_with_features(crate::run::FEATURES);
        for guest in all() {
            let wasm = guest.wasm();
            validator
                .validate_all(&wasm)
                .unwrap_or_else(|e| panic!("guest {} is not valid wasm: {e}", guest.name));
            validator.reset();
            if let Some(native) = guest.native() {
                assert!(
                    native.is_file(),
                    "guest {}: no native build at {}",
                    guest.name,
                    native.display()
                );
            }
        }
    }

    #[test]
    fn the_list_has_every_kind_of_guest() {
        for name in [
            "stdio_filter",
            "files_args",
            "bigdata",
            "rust_echo",
            "exceptions",
            "tailcall",
            "simd",
            "multivalue",
            "bulk",
            "reactor",
            "start_section",
            "multi_memory",
        ] {
            assert!(find(name).is_some(), "guest {name} is missing");
        }
        assert_eq!(get("reactor").entry, "run");
        assert!(get("files_args").native().is_some());
        assert_eq!(get("rust_echo").lang, Lang::Rust);
    }

    #[test]
    fn bigdata_has_big_data_segments() {
        let wasm = wasm("bigdata");
        let mut data_bytes = 0;
        for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
            if let wasmparser::Payload::DataSection(reader) = payload.expect("bigdata parses") {
                data_bytes = reader.range().len();
            }
        }
        assert!(
            data_bytes >= 3 << 20,
            "bigdata's data section is only {data_bytes} bytes"
        );
    }
}
