//! The merger: many core modules in, one core module out.
//!
//! Module 0 is the dispatcher (rendered from the template), modules 1..=n are the
//! programs in input order. Every index space (types, functions, tables,
//! memories, globals, tags, element and data segments) of the output is the
//! concatenation of the modules' spaces, after one shared block of imports; each
//! module's code is re-encoded with `wasm_encoder::reencode`, its indices shifted
//! into its slice. Imports are bound by name where another module provides them
//! (the dispatcher's `@program<K>` imports, the programs' `args_*` imports);
//! everything else stays an import of the megabinary, one per `(module, name)`.
//!
//! Each program gets one extra function, the *entry wrapper*
//! `__recompiler_entry: () -> i32`: it calls the program's `start` function (the
//! megabinary itself has no start section, so nothing of a program runs unless it
//! is dispatched), then `_initialize` for a reactor, then the entry, and returns
//! the exit status (0 if the entry returns nothing).
//!
//! **Shared program memories.** Creating a memory is most of what instantiating
//! a program costs, and only one program runs per instance; so programs whose
//! memory 0 is an ordinary 32-bit memory with at most [`LAZY_DATA_LIMIT`] bytes
//! of active data share one memory per maximum size (a *lazy* memory, declared
//! with 0 pages). Their active data segments for memory 0 become passive, and
//! the entry wrapper, before anything of the program runs, grows the shared
//! memory to the program's minimum and copies those segments in with
//! `memory.init` (then `data.drop`s them): exactly the state instantiation would
//! have made. A program with more data keeps a memory of its own, whose
//! copy-on-write image maps its data without copying. Instantiating a
//! megabinary then costs about the same whatever number of small programs it
//! holds.

use std::collections::HashMap;

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    CodeSection, CustomSection, DataCountSection, DataSection, ElementSection, Encode, EntityType,
    ExportKind, ExportSection, Function, FunctionSection, GlobalSection, ImportSection,
    Instruction, MemorySection, MemoryType, Module, TableSection, TagSection, TypeSection, ValType,
};
use wasmparser::{ExternalKind, FuncType, Parser, Payload, TypeRef, Validator, WasmFeatures};

use crate::template::render_dispatcher_with_aliases;
use crate::{MergeError, export_prefix, memory_export};

/// Which export starts a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A WASI command: `_start`.
    Start,
    /// A reactor: `_initialize` (if exported) runs first, then this export.
    Export(String),
}

impl Entry {
    /// The export name the entry calls.
    pub fn export_name(&self) -> &str {
        match self {
            Entry::Start => "_start",
            Entry::Export(name) => name,
        }
    }
}

/// One program to merge.
#[derive(Debug, Clone)]
pub struct MergeInput<'a> {
    /// The hash id `_dispatch` selects it by (the BLAKE3 prefix; see the manifest).
    pub id: u64,
    /// A name for messages (an image path).
    pub name: String,
    pub wasm: &'a [u8],
    pub entry: Entry,
}

/// One program as it sits in the megabinary.
#[derive(Debug, Clone)]
pub struct MergedProgram {
    pub id: u64,
    pub name: String,
    /// The export naming the program's WASI memory.
    pub memory_export: String,
    pub entry: Entry,
}

/// The merged module.
#[derive(Debug, Clone)]
pub struct Megabinary {
    pub wasm: Vec<u8>,
    pub programs: Vec<MergedProgram>,
    /// The features the merged module was validated with.
    pub features: WasmFeatures,
}

const WASI: &str = "wasi_snapshot_preview1";
const ENTRY_EXPORT: &str = "__recompiler_entry";
const LINK_PREFIX: &str = "@program";

/// Programs with at most this many bytes of active data in memory 0 use a shared,
/// lazily initialised memory (see the module docs). Copying that much at start
/// costs less than creating a memory; larger data is better mapped from the
/// memory image.
pub const LAZY_DATA_LIMIT: u64 = 1 << 20;

/// Merges `inputs` (in this order) behind a dispatcher. `progress` is called with
/// (programs done, programs total) as code is re-encoded.
pub fn merge(
    inputs: &[MergeInput<'_>],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Megabinary, MergeError> {
    merge_with_aliases(inputs, &[], progress)
}

/// Like [`merge`], with `aliases`: extra hash ids, each selecting the program
/// at an index of `inputs` (`(alias id, input index)`). `_dispatch(alias)` runs
/// that program, and every export of that program is also exported under the
/// alias's prefix ([`memory_export`]`(alias)` among them), so a host finds the
/// memory and functions of an alias as of any program. Lifted ELF programs are aliases of the guest runtime.
pub fn merge_with_aliases(
    inputs: &[MergeInput<'_>],
    aliases: &[(u64, usize)],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Megabinary, MergeError> {
    let ids: Vec<u64> = inputs.iter().map(|p| p.id).collect();
    let alias_table: Vec<(u64, u32)> = aliases.iter().map(|(a, i)| (*a, *i as u32)).collect();
    let dispatcher_wat = render_dispatcher_with_aliases(&ids, &alias_table)?;
    let dispatcher = wat::parse_str(&dispatcher_wat)
        .map_err(|e| MergeError::Template(format!("rendered dispatcher does not parse: {e}")))?;

    let mut features = WasmFeatures::WASM2 | WasmFeatures::MULTI_MEMORY;
    let mut modules = Vec::with_capacity(inputs.len() + 1);
    modules.push(Parsed::parse("dispatcher", &dispatcher, None)?);
    for input in inputs {
        let info = crate::analyze(&input.name, input.wasm)?;
        features |= info.feature_set;
        modules.push(Parsed::parse(
            &input.name,
            input.wasm,
            Some(input.entry.clone()),
        )?);
    }

    let layout = Layout::new(&modules)?;
    let mut out = Sections::default();
    // Merged type 0 is the entry wrappers' `() -> i32`.
    out.types.ty().function([], [ValType::I32]);
    for (m, parsed) in modules.iter().enumerate() {
        layout.encode_module(m, parsed, &mut out)?;
        if m > 0 {
            progress(m, inputs.len());
        }
    }
    for maximum in &layout.shared {
        out.memories.memory(MemoryType {
            minimum: 0,
            maximum: *maximum,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
    }
    layout.encode_imports(&mut out.imports);
    let exported = layout.encode_exports(&modules, inputs, &mut out.exports);
    for (alias, index) in aliases {
        // The alias's exports: its program's, under the alias's prefix (its memory
        // among them).
        let input = inputs.get(*index).ok_or_else(|| {
            MergeError::Template(format!("alias {alias:016x} names no program ({index})"))
        })?;
        let program_prefix = export_prefix(input.id);
        let alias_prefix = export_prefix(*alias);
        let mut has_memory = false;
        for (name, kind, item) in &exported {
            if let Some(rest) = name.strip_prefix(&program_prefix) {
                let alias_name = format!("{alias_prefix}{rest}");
                has_memory |= alias_name == memory_export(*alias);
                out.exports.export(&alias_name, *kind, *item);
            }
        }
        if !has_memory {
            return Err(MergeError::Template(format!(
                "alias {alias:016x}: program {} has no memory export",
                input.name
            )));
        }
    }

    let programs: Vec<MergedProgram> = inputs
        .iter()
        .map(|p| MergedProgram {
            id: p.id,
            name: p.name.clone(),
            memory_export: memory_export(p.id),
            entry: p.entry.clone(),
        })
        .collect();
    let wasm = out.finish(&programs);
    Validator::new_with_features(features)
        .validate_all(&wasm)
        .map_err(|e| MergeError::InvalidOutput(e.to_string()))?;
    Ok(Megabinary {
        wasm,
        programs,
        features,
    })
}

/// The output sections, filled module by module.
#[derive(Default)]
struct Sections {
    types: TypeSection,
    imports: ImportSection,
    functions: FunctionSection,
    tables: TableSection,
    memories: MemorySection,
    tags: TagSection,
    globals: GlobalSection,
    exports: ExportSection,
    elements: ElementSection,
    code: CodeSection,
    data: DataSection,
}

impl Sections {
    fn finish(self, programs: &[MergedProgram]) -> Vec<u8> {
        let mut module = Module::new();
        module.section(&self.types);
        module.section(&self.imports);
        module.section(&self.functions);
        module.section(&self.tables);
        module.section(&self.memories);
        if !self.tags.is_empty() {
            module.section(&self.tags);
        }
        module.section(&self.globals);
        module.section(&self.exports);
        module.section(&self.elements);
        module.section(&DataCountSection {
            count: self.data.len(),
        });
        module.section(&self.code);
        module.section(&self.data);
        module.section(&CustomSection {
            name: "recompiler.megabinary".into(),
            data: describe(programs).into_bytes().into(),
        });
        module.finish()
    }
}

/// The `recompiler.megabinary` custom section: which programs the module holds,
/// so `inspect` can list them without the manifest. One line per program:
/// `<hash id> <memory export> <entry> <name>`.
fn describe(programs: &[MergedProgram]) -> String {
    let mut text = String::from("recompiler megabinary v1\n");
    for p in programs {
        text.push_str(&format!(
            "{:016x} {} {} {}\n",
            p.id,
            p.memory_export,
            p.entry.export_name(),
            p.name
        ));
    }
    text
}

/// Reads the `recompiler.megabinary` custom section back: (hash id, memory export,
/// entry, name) per program. `None` if the module has no such section.
pub fn read_description(wasm: &[u8]) -> Option<Vec<(u64, String, String, String)>> {
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(Payload::CustomSection(section)) = payload else {
            continue;
        };
        if section.name() != "recompiler.megabinary" {
            continue;
        }
        let text = std::str::from_utf8(section.data()).ok()?;
        let mut lines = text.lines();
        if lines.next()? != "recompiler megabinary v1" {
            return None;
        }
        return lines
            .map(|line| {
                let mut parts = line.splitn(4, ' ');
                let id = u64::from_str_radix(parts.next()?, 16).ok()?;
                Some((
                    id,
                    parts.next()?.into(),
                    parts.next()?.into(),
                    parts.next()?.into(),
                ))
            })
            .collect();
    }
    None
}

/// What pass 1 learns about one input module.
struct Parsed<'a> {
    name: String,
    wasm: &'a [u8],
    /// Function types by type index (`None` for non-function types).
    types: Vec<Option<FuncType>>,
    imports: Vec<wasmparser::Import<'a>>,
    /// Type index of each defined function.
    funcs: Vec<u32>,
    tables: u32,
    memories: u32,
    globals: u32,
    tags: u32,
    elements: u32,
    data: u32,
    exports: Vec<wasmparser::Export<'a>>,
    start: Option<u32>,
    /// `Some` for programs, `None` for the dispatcher.
    entry: Option<Entry>,
    /// The program exports no `memory`: it gets an empty one so the dispatcher
    /// (and a WASI host) always has a memory to address.
    synthetic_memory: bool,
    /// Memory 0 is shared and initialised by the entry wrapper (see the module docs).
    lazy: Option<LazyMemory>,
}

/// A program's memory 0, when it goes into a shared memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LazyMemory {
    /// Pages the program starts with.
    minimum: u64,
    /// The memory's maximum: programs share a memory only with equal maximums.
    maximum: Option<u64>,
}

impl<'a> Parsed<'a> {
    fn parse(name: &str, wasm: &'a [u8], entry: Option<Entry>) -> Result<Self, MergeError> {
        let invalid = |e: wasmparser::BinaryReaderError| MergeError::Invalid {
            name: name.into(),
            reason: e.to_string(),
        };
        let mut p = Parsed {
            name: name.into(),
            wasm,
            types: Vec::new(),
            imports: Vec::new(),
            funcs: Vec::new(),
            tables: 0,
            memories: 0,
            globals: 0,
            tags: 0,
            elements: 0,
            data: 0,
            exports: Vec::new(),
            start: None,
            entry,
            synthetic_memory: false,
            lazy: None,
        };
        let mut first_memory = None;
        let mut memory0_data = 0u64;
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.map_err(invalid)? {
                Payload::TypeSection(r) => {
                    for group in r {
                        for sub in group.map_err(invalid)?.into_types() {
                            p.types.push(match sub.composite_type.inner {
                                wasmparser::CompositeInnerType::Func(f) => Some(f),
                                _ => None,
                            });
                        }
                    }
                }
                Payload::ImportSection(r) => {
                    for import in r.into_imports() {
                        p.imports.push(import.map_err(invalid)?);
                    }
                }
                Payload::FunctionSection(r) => {
                    for ty in r {
                        p.funcs.push(ty.map_err(invalid)?);
                    }
                }
                Payload::TableSection(r) => p.tables = r.count(),
                Payload::MemorySection(r) => {
                    p.memories = r.count();
                    if let Some(m) = r.into_iter().next() {
                        first_memory = Some(m.map_err(invalid)?);
                    }
                }
                Payload::TagSection(r) => p.tags = r.count(),
                Payload::GlobalSection(r) => p.globals = r.count(),
                Payload::ElementSection(r) => p.elements = r.count(),
                Payload::DataSection(r) => {
                    p.data = r.count();
                    for d in r {
                        let d = d.map_err(invalid)?;
                        if let wasmparser::DataKind::Active {
                            memory_index: 0, ..
                        } = d.kind
                        {
                            memory0_data += d.data.len() as u64;
                        }
                    }
                }
                Payload::ExportSection(r) => {
                    for export in r {
                        p.exports.push(export.map_err(invalid)?);
                    }
                }
                Payload::StartSection { func, .. } => p.start = Some(func),
                Payload::Version { .. }
                | Payload::DataCountSection { .. }
                | Payload::CodeSectionStart { .. }
                | Payload::CodeSectionEntry(_)
                | Payload::CustomSection(_)
                | Payload::End(_) => {}
                other => {
                    return Err(MergeError::Unsupported {
                        name: name.into(),
                        reason: format!("unsupported section {:?}", other.as_section()),
                    });
                }
            }
        }
        if p.entry.is_some() {
            p.synthetic_memory = !p
                .exports
                .iter()
                .any(|e| e.name == "memory" && e.kind == ExternalKind::Memory);
            let own_memory0 = p.imported(|t| matches!(t, TypeRef::Memory(_))) == 0;
            p.lazy = first_memory
                .filter(|m| {
                    own_memory0
                        && !m.memory64
                        && !m.shared
                        && m.page_size_log2.is_none()
                        && memory0_data <= LAZY_DATA_LIMIT
                })
                .map(|m| LazyMemory {
                    minimum: m.initial,
                    maximum: m.maximum,
                });
        }
        Ok(p)
    }

    fn imported(&self, kind: fn(&TypeRef) -> bool) -> u32 {
        self.imports.iter().filter(|i| kind(&i.ty)).count() as u32
    }

    fn imported_funcs(&self) -> u32 {
        self.imported(|t| matches!(t, TypeRef::Func(_) | TypeRef::FuncExact(_)))
    }

    /// Defined functions, counting the entry wrapper of a program.
    fn defined_funcs(&self) -> u32 {
        self.funcs.len() as u32 + u32::from(self.entry.is_some())
    }

    fn defined_memories(&self) -> u32 {
        self.memories + u32::from(self.synthetic_memory)
    }

    /// The type of function `index` (in this module's function space).
    fn func_type(&self, index: u32) -> Option<&FuncType> {
        let imported = self.imported_funcs();
        let ty = if index < imported {
            self.imports
                .iter()
                .filter_map(|i| match i.ty {
                    TypeRef::Func(t) | TypeRef::FuncExact(t) => Some(t),
                    _ => None,
                })
                .nth(index as usize)?
        } else {
            *self.funcs.get((index - imported) as usize)?
        };
        self.types.get(ty as usize)?.as_ref()
    }

    fn export(&self, name: &str) -> Option<&wasmparser::Export<'a>> {
        self.exports.iter().find(|e| e.name == name)
    }
}

/// Index maps for every module: pass 1's result.
struct Layout {
    /// Distinct external function imports, in order: (module, name, merged type).
    external: Vec<(String, String, u32)>,
    type_base: Vec<u32>,
    funcs: Vec<Vec<u32>>,
    tables: Vec<Vec<u32>>,
    memories: Vec<Vec<u32>>,
    globals: Vec<Vec<u32>>,
    tags: Vec<Vec<u32>>,
    element_base: Vec<u32>,
    data_base: Vec<u32>,
    /// The shared memories, by maximum, after every module's own memories.
    shared: Vec<Option<u64>>,
}

impl Layout {
    fn new(modules: &[Parsed<'_>]) -> Result<Self, MergeError> {
        let n = modules.len();
        // Merged type 0 is the entry wrapper type; module types follow.
        let mut type_base = Vec::with_capacity(n);
        let mut next_type = 1u32;
        for m in modules {
            type_base.push(next_type);
            next_type += m.types.len() as u32;
        }

        // External function imports, deduplicated by (module, name).
        let mut external: Vec<(String, String, u32)> = Vec::new();
        let mut external_index: HashMap<(&str, &str), (u32, usize)> = HashMap::new();
        // Per import: `Some(merged import number)` for external imports, `None` for
        // imports linked to another module of the megabinary.
        let mut bindings: Vec<Vec<Option<u32>>> = Vec::with_capacity(n);
        for (m, module) in modules.iter().enumerate() {
            let mut b = Vec::with_capacity(module.imports.len());
            for import in &module.imports {
                if link_target(m, module, import).is_some() {
                    b.push(None); // bound once every module's layout is known
                    continue;
                }
                let ty = match import.ty {
                    TypeRef::Func(t) | TypeRef::FuncExact(t) => t,
                    _ => {
                        return Err(MergeError::Unsupported {
                            name: module.name.clone(),
                            reason: format!(
                                "imports {} {}.{}; a merged program may import functions only",
                                kind_name(&import.ty),
                                import.module,
                                import.name
                            ),
                        });
                    }
                };
                let key = (import.module, import.name);
                let index = match external_index.get(&key) {
                    Some(&(index, first)) => {
                        let theirs = modules[first]
                            .types
                            .get(external_type_local(&modules[first], key));
                        let ours = module.types.get(ty as usize);
                        if theirs != ours || ours.is_none() {
                            return Err(MergeError::ImportConflict {
                                module: import.module.into(),
                                field: import.name.into(),
                                first: modules[first].name.clone(),
                                second: module.name.clone(),
                            });
                        }
                        index
                    }
                    None => {
                        let index = external.len() as u32;
                        external.push((
                            import.module.into(),
                            import.name.into(),
                            type_base[m] + ty,
                        ));
                        external_index.insert(key, (index, m));
                        index
                    }
                };
                b.push(Some(index));
            }
            bindings.push(b);
        }

        // Defined items: each module's slice of each index space.
        let mut layout = Layout {
            external,
            type_base,
            funcs: Vec::with_capacity(n),
            tables: Vec::with_capacity(n),
            memories: Vec::with_capacity(n),
            globals: Vec::with_capacity(n),
            tags: Vec::with_capacity(n),
            element_base: Vec::with_capacity(n),
            data_base: Vec::with_capacity(n),
            shared: Vec::new(),
        };
        let imported = layout.external.len() as u32;
        let (mut func, mut table, mut memory, mut global, mut tag, mut elem, mut data) =
            (imported, 0u32, 0u32, 0u32, 0u32, 0u32, 0u32);
        for module in modules {
            // Placeholders (u32::MAX) for imports; filled below.
            let slice = |imported: u32, base: &mut u32, defined: u32| {
                let mut v = vec![u32::MAX; imported as usize];
                v.extend(*base..*base + defined);
                *base += defined;
                v
            };
            let is_func = |t: &TypeRef| matches!(t, TypeRef::Func(_) | TypeRef::FuncExact(_));
            layout.funcs.push(slice(
                module.imported(is_func),
                &mut func,
                module.defined_funcs(),
            ));
            layout.tables.push(slice(
                module.imported(|t| matches!(t, TypeRef::Table(_))),
                &mut table,
                module.tables,
            ));
            let imported_memories = module.imported(|t| matches!(t, TypeRef::Memory(_)));
            layout.memories.push(match module.lazy {
                // Memory 0 is a shared one (filled in below); the others are its own.
                Some(_) => {
                    let mut v = slice(imported_memories, &mut memory, 0);
                    v.push(u32::MAX);
                    v.extend(slice(0, &mut memory, module.defined_memories() - 1));
                    v
                }
                None => slice(imported_memories, &mut memory, module.defined_memories()),
            });
            layout.globals.push(slice(
                module.imported(|t| matches!(t, TypeRef::Global(_))),
                &mut global,
                module.globals,
            ));
            layout.tags.push(slice(
                module.imported(|t| matches!(t, TypeRef::Tag(_))),
                &mut tag,
                module.tags,
            ));
            layout.element_base.push(elem);
            elem += module.elements;
            layout.data_base.push(data);
            data += module.data;
        }

        // Shared memories follow every module's own ones, one per maximum.
        for (m, module) in modules.iter().enumerate() {
            if let Some(lazy) = module.lazy {
                let group = match layout.shared.iter().position(|max| *max == lazy.maximum) {
                    Some(g) => g,
                    None => {
                        layout.shared.push(lazy.maximum);
                        layout.shared.len() - 1
                    }
                };
                layout.memories[m][0] = memory + group as u32;
            }
        }

        // Bind imports: external ones to their import number, linked ones to the
        // providing module's item.
        for (m, module) in modules.iter().enumerate() {
            let (mut f, mut mem) = (0usize, 0usize);
            for (i, import) in module.imports.iter().enumerate() {
                let merged = match bindings[m][i] {
                    Some(index) => index,
                    None => {
                        // `link_target` returned Some for exactly these.
                        let Some((target, field)) = link_target(m, module, import) else {
                            continue;
                        };
                        layout.resolve_link(modules, m, import, target, &field)?
                    }
                };
                match import.ty {
                    TypeRef::Func(_) | TypeRef::FuncExact(_) => {
                        layout.funcs[m][f] = merged;
                        f += 1;
                    }
                    TypeRef::Memory(_) => {
                        layout.memories[m][mem] = merged;
                        mem += 1;
                    }
                    _ => {} // refused above unless linked; linked kinds are funcs and memories
                }
            }
        }
        Ok(layout)
    }

    /// The merged index of export `field` of module `target`, checked against the
    /// import that asks for it.
    fn resolve_link(
        &self,
        modules: &[Parsed<'_>],
        m: usize,
        import: &wasmparser::Import<'_>,
        target: usize,
        field: &str,
    ) -> Result<u32, MergeError> {
        let provider = &modules[target];
        let missing = || MergeError::Unsupported {
            name: modules[m].name.clone(),
            reason: format!(
                "import {}.{} has no provider in {}",
                import.module, import.name, provider.name
            ),
        };
        match import.ty {
            TypeRef::Func(ty) | TypeRef::FuncExact(ty) => {
                let local = if field == ENTRY_EXPORT {
                    provider.imported_funcs() + provider.funcs.len() as u32
                } else {
                    let export = provider.export(field).ok_or_else(missing)?;
                    if !matches!(export.kind, ExternalKind::Func | ExternalKind::FuncExact) {
                        return Err(missing());
                    }
                    let want = modules[m].types.get(ty as usize).and_then(Option::as_ref);
                    if want.is_none() || provider.func_type(export.index) != want {
                        return Err(MergeError::Unsupported {
                            name: modules[m].name.clone(),
                            reason: format!(
                                "import {}.{} has type {:?}; the megabinary provides {:?}",
                                import.module,
                                import.name,
                                want,
                                provider.func_type(export.index)
                            ),
                        });
                    }
                    export.index
                };
                self.funcs[target]
                    .get(local as usize)
                    .copied()
                    .filter(|i| *i != u32::MAX)
                    .ok_or_else(missing)
            }
            TypeRef::Memory(_) => {
                let local = match provider.export(field) {
                    Some(e) if e.kind == ExternalKind::Memory => e.index,
                    None if field == "memory" && provider.synthetic_memory => {
                        provider.memories + provider.imported(|t| matches!(t, TypeRef::Memory(_)))
                    }
                    _ => return Err(missing()),
                };
                self.memories[target]
                    .get(local as usize)
                    .copied()
                    .filter(|i| *i != u32::MAX)
                    .ok_or_else(missing)
            }
            _ => Err(missing()),
        }
    }

    fn encode_imports(&self, imports: &mut ImportSection) {
        for (module, name, ty) in &self.external {
            imports.import(module, name, EntityType::Function(*ty));
        }
    }

    fn encode_exports(
        &self,
        modules: &[Parsed<'_>],
        inputs: &[MergeInput<'_>],
        exports: &mut ExportSection,
    ) -> Vec<(String, ExportKind, u32)> {
        // Every export, by name: aliases re-export their program's.
        let mut memories = Vec::new();
        for (m, module) in modules.iter().enumerate() {
            let prefix = if m == 0 {
                String::new()
            } else {
                export_prefix(inputs[m - 1].id)
            };
            for export in &module.exports {
                if m == 0 && export.name.starts_with('@') {
                    continue; // link-only
                }
                let (kind, index) = match export.kind {
                    ExternalKind::Func | ExternalKind::FuncExact => {
                        (ExportKind::Func, self.funcs[m][export.index as usize])
                    }
                    ExternalKind::Table => {
                        (ExportKind::Table, self.tables[m][export.index as usize])
                    }
                    ExternalKind::Memory => {
                        (ExportKind::Memory, self.memories[m][export.index as usize])
                    }
                    ExternalKind::Global => {
                        (ExportKind::Global, self.globals[m][export.index as usize])
                    }
                    ExternalKind::Tag => (ExportKind::Tag, self.tags[m][export.index as usize]),
                };
                let name = format!("{prefix}{}", export.name);
                memories.push((name.clone(), kind, index));
                exports.export(&name, kind, index);
            }
            if m > 0 && module.synthetic_memory {
                let local = module.memories + module.imported(|t| matches!(t, TypeRef::Memory(_)));
                let name = memory_export(inputs[m - 1].id);
                memories.push((
                    name.clone(),
                    ExportKind::Memory,
                    self.memories[m][local as usize],
                ));
                exports.export(&name, ExportKind::Memory, self.memories[m][local as usize]);
            }
        }
        memories
    }

    /// Pass 2 for module `m`: re-encode its sections into `out`.
    fn encode_module(
        &self,
        m: usize,
        module: &Parsed<'_>,
        out: &mut Sections,
    ) -> Result<(), MergeError> {
        let mut remap = Remap { layout: self, m };
        let fail = |e: reencode::Error<String>| MergeError::Invalid {
            name: module.name.clone(),
            reason: e.to_string(),
        };
        for payload in Parser::new(0).parse_all(module.wasm) {
            let invalid = |e: wasmparser::BinaryReaderError| MergeError::Invalid {
                name: module.name.clone(),
                reason: e.to_string(),
            };
            match payload.map_err(invalid)? {
                Payload::TypeSection(r) => {
                    remap.parse_type_section(&mut out.types, r).map_err(fail)?
                }
                Payload::FunctionSection(r) => remap
                    .parse_function_section(&mut out.functions, r)
                    .map_err(fail)?,
                Payload::TableSection(r) => remap
                    .parse_table_section(&mut out.tables, r)
                    .map_err(fail)?,
                Payload::MemorySection(r) => {
                    // A shared memory 0 is emitted once, after every module.
                    let skip = usize::from(module.lazy.is_some());
                    for memory in r.into_iter().skip(skip) {
                        let ty = remap.memory_type(memory.map_err(invalid)?).map_err(fail)?;
                        out.memories.memory(ty);
                    }
                }
                Payload::TagSection(r) => {
                    remap.parse_tag_section(&mut out.tags, r).map_err(fail)?
                }
                Payload::GlobalSection(r) => remap
                    .parse_global_section(&mut out.globals, r)
                    .map_err(fail)?,
                Payload::ElementSection(r) => remap
                    .parse_element_section(&mut out.elements, r)
                    .map_err(fail)?,
                Payload::DataSection(r) => {
                    for datum in r {
                        let datum = datum.map_err(invalid)?;
                        match datum.kind {
                            // Copied in by the entry wrapper.
                            wasmparser::DataKind::Active {
                                memory_index: 0, ..
                            } if module.lazy.is_some() => {
                                out.data.passive(datum.data.iter().copied());
                            }
                            _ => remap.parse_data(&mut out.data, datum).map_err(fail)?,
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => remap
                    .parse_function_body(&mut out.code, body)
                    .map_err(fail)?,
                _ => {}
            }
        }
        if module.synthetic_memory {
            out.memories.memory(MemoryType {
                minimum: 0,
                maximum: None,
                memory64: false,
                shared: false,
                page_size_log2: None,
            });
        }
        if let Some(entry) = &module.entry {
            out.functions.function(0);
            out.code.function(&self.entry_wrapper(m, module, entry)?);
        }
        Ok(())
    }

    /// The body of program `m`'s `__recompiler_entry`.
    fn entry_wrapper(
        &self,
        m: usize,
        module: &Parsed<'_>,
        entry: &Entry,
    ) -> Result<Function, MergeError> {
        let bad = |reason: &str| MergeError::BadEntry {
            name: module.name.clone(),
            entry: entry.export_name().into(),
            reason: reason.into(),
        };
        let export = module.export(entry.export_name()).ok_or_else(|| {
            bad(match entry {
                Entry::Start => "not exported (a reactor? name its entry export)",
                Entry::Export(_) => "not exported",
            })
        })?;
        if !matches!(export.kind, ExternalKind::Func | ExternalKind::FuncExact) {
            return Err(bad("not a function"));
        }
        let ty = module
            .func_type(export.index)
            .ok_or_else(|| bad("has no function type"))?;
        let returns_status = match (ty.params(), ty.results()) {
            ([], []) => false,
            ([], [wasmparser::ValType::I32]) => true,
            _ => {
                return Err(bad(
                    "must take no parameters and return nothing or an i32 exit status",
                ));
            }
        };
        let mut f = Function::new([]);
        if let Some(lazy) = module.lazy {
            self.initialize_lazy_memory(m, module, lazy, &mut f)?;
        }
        if let Some(start) = module.start {
            f.instruction(&Instruction::Call(self.funcs[m][start as usize]));
        }
        if let Entry::Export(name) = entry
            && let Some(init) = module
                .export("_initialize")
                .filter(|_| name != "_initialize")
        {
            let init_ty = module.func_type(init.index);
            if init_ty.is_none_or(|t| !t.params().is_empty() || !t.results().is_empty()) {
                return Err(bad("`_initialize` must be () -> ()"));
            }
            f.instruction(&Instruction::Call(self.funcs[m][init.index as usize]));
        }
        f.instruction(&Instruction::Call(self.funcs[m][export.index as usize]));
        if !returns_status {
            f.instruction(&Instruction::I32Const(0));
        }
        f.instruction(&Instruction::End);
        Ok(f)
    }
}

impl Layout {
    /// Entry-wrapper code that gives program `m` its memory 0 as instantiation
    /// would have: grow the shared memory (0 pages so far: nothing else ran in
    /// this instance) to the program's minimum, trapping if it cannot, then copy
    /// each of its active data segments to its offset and drop it.
    fn initialize_lazy_memory(
        &self,
        m: usize,
        module: &Parsed<'_>,
        lazy: LazyMemory,
        f: &mut Function,
    ) -> Result<(), MergeError> {
        let memory = self.memories[m][0];
        let fail = |reason: String| MergeError::Invalid {
            name: module.name.clone(),
            reason,
        };
        let pages = i32::try_from(lazy.minimum)
            .map_err(|_| fail(format!("memory of {} pages", lazy.minimum)))?;
        f.instruction(&Instruction::I32Const(pages));
        f.instruction(&Instruction::MemoryGrow(memory));
        f.instruction(&Instruction::I32Const(-1));
        f.instruction(&Instruction::I32Eq);
        f.instruction(&Instruction::If(wasm_encoder::BlockType::Empty));
        f.instruction(&Instruction::Unreachable);
        f.instruction(&Instruction::End);
        let mut remap = Remap { layout: self, m };
        for payload in Parser::new(0).parse_all(module.wasm) {
            let Ok(Payload::DataSection(r)) = payload else {
                continue;
            };
            for (index, datum) in r.into_iter().enumerate() {
                let datum = datum.map_err(|e| fail(e.to_string()))?;
                let wasmparser::DataKind::Active {
                    memory_index: 0,
                    offset_expr,
                } = datum.kind
                else {
                    continue;
                };
                // The offset expression, as instructions (without its `end`).
                let mut ops = offset_expr.get_operators_reader();
                let mut code = Vec::new();
                while !ops.is_end_then_eof() {
                    remap
                        .parse_instruction(&mut ops)
                        .map_err(|e| fail(e.to_string()))?
                        .encode(&mut code);
                }
                f.raw(code);
                let len = i32::try_from(datum.data.len())
                    .map_err(|_| fail("a data segment over 2 GiB".into()))?;
                let data_index = self.data_base[m] + index as u32;
                f.instruction(&Instruction::I32Const(0));
                f.instruction(&Instruction::I32Const(len));
                f.instruction(&Instruction::MemoryInit {
                    mem: memory,
                    data_index,
                });
                f.instruction(&Instruction::DataDrop(data_index));
            }
        }
        Ok(())
    }
}

/// For an import of module `m`, the module and export that provide it inside
/// the megabinary, if any.
fn link_target(
    m: usize,
    module: &Parsed<'_>,
    import: &wasmparser::Import<'_>,
) -> Option<(usize, String)> {
    if m == 0 {
        let k: usize = import.module.strip_prefix(LINK_PREFIX)?.parse().ok()?;
        return Some((k + 1, import.name.to_string()));
    }
    module.entry.as_ref()?;
    if import.module == WASI && matches!(import.name, "args_get" | "args_sizes_get") {
        return Some((0, format!("@{}{}", import.name, m - 1)));
    }
    None
}

/// The local type index module `first` declared external import `key` with.
fn external_type_local(module: &Parsed<'_>, key: (&str, &str)) -> usize {
    module
        .imports
        .iter()
        .find_map(|i| match i.ty {
            TypeRef::Func(t) | TypeRef::FuncExact(t) if (i.module, i.name) == key => {
                Some(t as usize)
            }
            _ => None,
        })
        .unwrap_or(usize::MAX)
}

fn kind_name(ty: &TypeRef) -> &'static str {
    match ty {
        TypeRef::Func(_) | TypeRef::FuncExact(_) => "function",
        TypeRef::Table(_) => "table",
        TypeRef::Memory(_) => "memory",
        TypeRef::Global(_) => "global",
        TypeRef::Tag(_) => "tag",
    }
}

/// Shifts one module's indices into its slice of the merged module.
struct Remap<'l> {
    layout: &'l Layout,
    m: usize,
}

fn lookup(map: &[u32], index: u32, what: &str) -> Result<u32, reencode::Error<String>> {
    match map.get(index as usize) {
        Some(&i) if i != u32::MAX => Ok(i),
        _ => Err(reencode::Error::UserError(format!(
            "{what} index {index} out of range"
        ))),
    }
}

impl Reencode for Remap<'_> {
    type Error = String;

    fn type_index(&mut self, ty: u32) -> Result<u32, reencode::Error<String>> {
        Ok(self.layout.type_base[self.m] + ty)
    }
    fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<String>> {
        lookup(&self.layout.funcs[self.m], func, "function")
    }
    fn table_index(&mut self, table: u32) -> Result<u32, reencode::Error<String>> {
        lookup(&self.layout.tables[self.m], table, "table")
    }
    fn memory_index(&mut self, memory: u32) -> Result<u32, reencode::Error<String>> {
        lookup(&self.layout.memories[self.m], memory, "memory")
    }
    fn global_index(&mut self, global: u32) -> Result<u32, reencode::Error<String>> {
        lookup(&self.layout.globals[self.m], global, "global")
    }
    fn tag_index(&mut self, tag: u32) -> Result<u32, reencode::Error<String>> {
        lookup(&self.layout.tags[self.m], tag, "tag")
    }
    fn data_index(&mut self, data: u32) -> Result<u32, reencode::Error<String>> {
        Ok(self.layout.data_base[self.m] + data)
    }
    fn element_index(&mut self, element: u32) -> Result<u32, reencode::Error<String>> {
        Ok(self.layout.element_base[self.m] + element)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(wat: &str) -> Vec<u8> {
        wat::parse_str(wat).unwrap()
    }

    const HELLO: &str = r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "hello\n")
        (func (export "_start")
          (i32.store (i32.const 0) (i32.const 16))
          (i32.store (i32.const 4) (i32.const 6))
          (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

    #[test]
    fn merges_two_programs_sharing_imports() {
        let a = program(HELLO);
        let b = program(HELLO);
        let inputs = [
            MergeInput {
                id: 2,
                name: "a".into(),
                wasm: &a,
                entry: Entry::Start,
            },
            MergeInput {
                id: 1,
                name: "b".into(),
                wasm: &b,
                entry: Entry::Start,
            },
        ];
        let mb = merge(&inputs, &mut |_, _| {}).unwrap();
        let mut imports = 0;
        let mut exports = Vec::new();
        for payload in Parser::new(0).parse_all(&mb.wasm) {
            match payload.unwrap() {
                Payload::ImportSection(r) => imports = r.into_imports().count(),
                Payload::ExportSection(r) => {
                    exports = r.into_iter().map(|e| e.unwrap().name.to_string()).collect()
                }
                _ => {}
            }
        }
        assert_eq!(imports, 1, "fd_write is imported once");
        for name in [
            "_dispatch",
            "memory",
            "__dispatch_buffer",
            "prog.0000000000000002.memory",
            "prog.0000000000000001._start",
        ] {
            assert!(
                exports.iter().any(|e| e == name),
                "missing export {name}: {exports:?}"
            );
        }
        assert!(!exports.iter().any(|e| e.starts_with('@')));
        let described = read_description(&mb.wasm).unwrap();
        assert_eq!(described[0].0, 2);
        assert_eq!(described[1].3, "b");
    }

    #[test]
    fn aliases_dispatch_to_their_program_and_export_its_memory() {
        let a = program(HELLO);
        let inputs = [MergeInput {
            id: 5,
            name: "runtime".into(),
            wasm: &a,
            entry: Entry::Start,
        }];
        let mb = merge_with_aliases(&inputs, &[(9, 0), (3, 0)], &mut |_, _| {}).unwrap();
        let (_, exports) = memories_of(&mb.wasm);
        let index_of = |name: &str| {
            exports
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, i)| *i)
                .unwrap_or_else(|| panic!("{name} not exported: {exports:?}"))
        };
        let own = index_of("prog.0000000000000005.memory");
        assert_eq!(index_of("prog.0000000000000009.memory"), own);
        assert_eq!(index_of("prog.0000000000000003.memory"), own);
        // The dispatch table holds three records, sorted, all for program 0.
        let wat = render_dispatcher_with_aliases(&[5], &[(9, 0), (3, 0)]).unwrap();
        assert!(wat.contains("(global $count i32 (i32.const 3))"), "{wat}");
        assert!(render_dispatcher_with_aliases(&[5], &[(9, 1)]).is_err());
        assert!(matches!(
            merge_with_aliases(&inputs, &[(5, 0)], &mut |_, _| {}),
            Err(MergeError::DuplicateId(5))
        ));
        assert!(merge_with_aliases(&inputs, &[(6, 2)], &mut |_, _| {}).is_err());
    }

    #[test]
    fn conflicting_import_types_are_refused() {
        let a = program(HELLO);
        let b = program(
            r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32)))
                 (func (export "_start")))"#,
        );
        let inputs = [
            MergeInput {
                id: 1,
                name: "a".into(),
                wasm: &a,
                entry: Entry::Start,
            },
            MergeInput {
                id: 2,
                name: "b".into(),
                wasm: &b,
                entry: Entry::Start,
            },
        ];
        let err = merge(&inputs, &mut |_, _| {}).unwrap_err().to_string();
        assert!(
            err.contains("fd_write") && err.contains("a") && err.contains("b"),
            "{err}"
        );
    }

    #[test]
    fn non_function_imports_are_refused() {
        let a = program(r#"(module (import "env" "memory" (memory 1)) (func (export "_start")))"#);
        let inputs = [MergeInput {
            id: 1,
            name: "/bin/x".into(),
            wasm: &a,
            entry: Entry::Start,
        }];
        let err = merge(&inputs, &mut |_, _| {}).unwrap_err().to_string();
        assert!(
            err.contains("/bin/x") && err.contains("env.memory"),
            "{err}"
        );
    }

    #[test]
    fn missing_or_ill_typed_entries_are_refused() {
        let reactor = program(r#"(module (func (export "run") (param i32)))"#);
        let start = [MergeInput {
            id: 1,
            name: "r".into(),
            wasm: &reactor,
            entry: Entry::Start,
        }];
        assert!(
            merge(&start, &mut |_, _| {})
                .unwrap_err()
                .to_string()
                .contains("reactor")
        );
        let run = [MergeInput {
            id: 1,
            name: "r".into(),
            wasm: &reactor,
            entry: Entry::Export("run".into()),
        }];
        assert!(
            merge(&run, &mut |_, _| {})
                .unwrap_err()
                .to_string()
                .contains("no parameters")
        );
    }

    #[test]
    fn programs_without_memory_get_one() {
        let a = program(r#"(module (func (export "_start")))"#);
        let inputs = [MergeInput {
            id: 9,
            name: "a".into(),
            wasm: &a,
            entry: Entry::Start,
        }];
        let mb = merge(&inputs, &mut |_, _| {}).unwrap();
        let has = Parser::new(0)
            .parse_all(&mb.wasm)
            .any(|p| match p.unwrap() {
                Payload::ExportSection(r) => r
                    .into_iter()
                    .any(|e| e.unwrap().name == "prog.0000000000000009.memory"),
                _ => false,
            });
        assert!(has);
    }

    /// (memory minimums and maximums, memory export name -> index) of a module.
    fn memories_of(wasm: &[u8]) -> (Vec<(u64, Option<u64>)>, Vec<(String, u32)>) {
        let (mut memories, mut exports) = (Vec::new(), Vec::new());
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.unwrap() {
                Payload::MemorySection(r) => memories.extend(r.into_iter().map(|m| {
                    let m = m.unwrap();
                    (m.initial, m.maximum)
                })),
                Payload::ExportSection(r) => exports.extend(
                    r.into_iter()
                        .map(|e| e.unwrap())
                        .filter(|e| e.kind == ExternalKind::Memory)
                        .map(|e| (e.name.to_string(), e.index)),
                ),
                _ => {}
            }
        }
        (memories, exports)
    }

    #[test]
    fn small_programs_share_a_lazy_memory_and_big_ones_keep_theirs() {
        let small = |max: &str| {
            program(&HELLO.replace(
                "(memory (export \"memory\") 1)",
                &format!("(memory (export \"memory\") 2 {max})"),
            ))
        };
        let (a, b, c) = (small(""), small(""), small("5"));
        let big = program(&format!(
            r#"(module (memory (export "memory") 17) (data (i32.const 0) "{}") (func (export "_start")))"#,
            "x".repeat(LAZY_DATA_LIMIT as usize + 1)
        ));
        let inputs: Vec<MergeInput<'_>> = [&a, &b, &c, &big]
            .iter()
            .enumerate()
            .map(|(i, w)| MergeInput {
                id: i as u64 + 1,
                name: format!("p{i}"),
                wasm: w,
                entry: Entry::Start,
            })
            .collect();
        let mb = merge(&inputs, &mut |_, _| {}).unwrap();
        let (memories, exports) = memories_of(&mb.wasm);
        let index = |id: u64| {
            exports
                .iter()
                .find(|(n, _)| *n == memory_export(id))
                .map(|(_, i)| *i)
                .unwrap()
        };
        // a and b (same maximum) share one memory, c (maximum 5) another; the
        // shared ones start empty (the entry wrapper grows them to 2 pages).
        assert_eq!(index(1), index(2));
        assert_ne!(index(1), index(3));
        assert_eq!(memories[index(1) as usize], (0, None));
        assert_eq!(memories[index(3) as usize], (0, Some(5)));
        // The big program keeps its memory with its minimum (and its data active).
        assert_eq!(memories[index(4) as usize], (17, None));
        // Dispatcher, big program, two shared memories.
        assert_eq!(memories.len(), 4);
    }
}
