//! Reading a static x86-64 ELF program: what the guest runtime needs to load
//! it (a [`LiftedImage`] without its code index) and where code discovery
//! starts ([`Roots`]).
//!
//! Two kinds are lifted:
//! - **static** (`ET_EXEC`, no `PT_INTERP`): loaded at its link addresses;
//! - **static-pie** (`ET_DYN`, no `PT_INTERP`, a `PT_DYNAMIC` holding only
//!   relative relocations): stored *rebased* to [`PIE_BASE`] (every segment
//!   address, the entry, `AT_PHDR` and the code index move by the base), so
//!   the runtime loads both kinds the same way. The segments' bytes are not
//!   relocated: glibc's `_dl_relocate_static_pie` applies the
//!   `R_X86_64_RELATIVE`/`IRELATIVE` relocations itself, reading `.rela.dyn`
//!   through `_DYNAMIC` from the mapped segments (both lie inside a
//!   `PT_LOAD`, checked on a `gcc -static-pie` program), and finds its load
//!   base from where it runs. Nothing beyond the segments is stored.
//!
//! A program with an interpreter is [`LiftError::Dynamic`]; a position-
//! independent file that needs a loader (`DT_NEEDED`, symbolic relocations)
//! is [`LiftError::SharedObject`]. Every offset, size and count read from the
//! file is checked: a corrupt file is an error naming the problem, never a
//! panic. This module does not decode instructions ([`crate::discover`]).

use object::LittleEndian;
use object::elf;
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};

use crate::image::{LiftedImage, Segment};
use crate::layout::{GUEST_MIN, PAGE, STACK_SIZE, STACK_TOP};

type Header = elf::FileHeader64<LittleEndian>;
const LE: LittleEndian = LittleEndian;

/// Where a static-pie program is placed: the classic link address of
/// non-PIE x86-64 executables, inside the guest window with room above for
/// the program and its heap.
pub const PIE_BASE: u64 = 0x40_0000;

/// The lowest address a program may occupy, and the first above it: the
/// guest window minus the stack at its top (see [`crate::layout`]).
const LOW: u64 = GUEST_MIN;
const HIGH: u64 = STACK_TOP - STACK_SIZE;

/// Relocation types a static-pie may hold.
const R_X86_64_NONE: u32 = 0;
const R_X86_64_RELATIVE: u32 = 8;
const R_X86_64_IRELATIVE: u32 = 37;

/// Why an ELF file is not lifted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiftError {
    #[error("not an ELF file")]
    NotElf,
    #[error("a 32-bit ELF file: only x86-64 (64-bit) programs are lifted")]
    Class32,
    #[error("a big-endian ELF file: only x86-64 programs are lifted")]
    BigEndian,
    #[error("an ELF program for {0}: only x86-64 programs are lifted")]
    Machine(String),
    #[error("an ELF {0}, not an executable program")]
    NotExecutable(&'static str),
    #[error("dynamically linked (interpreter {interp}): not yet supported")]
    Dynamic { interp: String },
    #[error("position-independent and needs a loader ({0}): a shared library, not a program")]
    SharedObject(String),
    #[error("malformed ELF: {0}")]
    Malformed(String),
    #[error("{0}")]
    Unloadable(String),
}

fn malformed(what: impl std::fmt::Display) -> LiftError {
    LiftError::Malformed(what.to_string())
}

/// How the program is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfKind {
    /// `ET_EXEC`: at its link addresses.
    Static,
    /// `ET_DYN` without an interpreter: rebased by `base`.
    StaticPie { base: u64 },
}

impl ElfKind {
    pub fn name(&self) -> &'static str {
        match self {
            ElfKind::Static => "static",
            ElfKind::StaticPie { .. } => "static-pie",
        }
    }
}

/// Where code discovery starts. Addresses are guest addresses (rebased for a
/// static-pie).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roots {
    pub entry: u64,
    /// `.preinit_array`, `.init_array`, `.fini_array` entries, and the starts
    /// of `.init`/`.fini` (`DT_INIT`/`DT_FINI`).
    pub init_fini: Vec<u64>,
    /// The resolvers of `R_X86_64_IRELATIVE` relocations (glibc's IFUNCs).
    pub irelative: Vec<u64>,
    /// Pointer values of a static-pie's `R_X86_64_RELATIVE` relocations (its
    /// data holds them only after it relocates itself): function pointers
    /// among them. Discovery keeps those that point into code.
    pub pointers: Vec<u64>,
    /// `.eh_frame`: its guest address and bytes (for a stripped file found
    /// through `.eh_frame_hdr`, the bytes run to the end of the segment; the
    /// reader stops at the zero terminator).
    pub eh_frame: Option<(u64, Vec<u8>)>,
}

/// A static ELF program, read.
#[derive(Debug, Clone)]
pub struct ElfProgram<'a> {
    pub kind: ElfKind,
    /// The loadable image; `code` is left empty (code discovery fills it).
    pub image: LiftedImage<'a>,
    pub roots: Roots,
}

/// Reads `data` as a static x86-64 ELF program.
pub fn parse(data: &[u8]) -> Result<ElfProgram<'_>, LiftError> {
    let ident = data.get(..16).ok_or_else(|| {
        if data.starts_with(b"\x7fELF") || data.len() < 4 {
            malformed("truncated ELF header")
        } else {
            LiftError::NotElf
        }
    })?;
    if &ident[..4] != b"\x7fELF" {
        return Err(LiftError::NotElf);
    }
    match ident[4] {
        elf::ELFCLASS64 => {}
        elf::ELFCLASS32 => return Err(LiftError::Class32),
        c => return Err(malformed(format!("unknown ELF class {c}"))),
    }
    if ident[5] == elf::ELFDATA2MSB {
        return Err(LiftError::BigEndian);
    }
    let header = Header::parse(data).map_err(malformed)?;
    let machine = header.e_machine(LE);
    if machine != elf::EM_X86_64 {
        return Err(LiftError::Machine(machine_name(machine)));
    }
    let e_type = header.e_type(LE);
    match e_type {
        elf::ET_EXEC | elf::ET_DYN => {}
        elf::ET_REL => return Err(LiftError::NotExecutable("relocatable object")),
        elf::ET_CORE => return Err(LiftError::NotExecutable("core dump")),
        t => return Err(malformed(format!("unknown ELF type {t:#x}"))),
    }
    let (phoff, phnum) = (header.e_phoff(LE), header.e_phnum(LE));
    let phend = u64::from(phnum)
        .checked_mul(size_of::<elf::ProgramHeader64<LittleEndian>>() as u64)
        .and_then(|n| phoff.checked_add(n));
    if phend.is_none_or(|end| end > data.len() as u64) {
        return Err(malformed(format!(
            "{phnum} program headers at offset {phoff:#x} run past the end of the file ({} bytes): truncated?",
            data.len()
        )));
    }
    let phdrs = header.program_headers(LE, data).map_err(malformed)?;
    if phdrs.is_empty() {
        return Err(malformed("no program headers"));
    }

    // An interpreter means a dynamic program, whatever else it holds.
    for ph in phdrs {
        if let Some(interp) = ph.interpreter(LE, data).map_err(malformed)? {
            let interp = String::from_utf8_lossy(interp)
                .trim_end_matches('\0')
                .to_string();
            return Err(LiftError::Dynamic { interp });
        }
    }
    let dynamic = match phdrs.iter().find(|p| p.p_type(LE) == elf::PT_DYNAMIC) {
        Some(ph) => Some(Dynamic::read(
            ph.data(LE, data)
                .map_err(|()| malformed("PT_DYNAMIC outside the file"))?,
        )?),
        None => None,
    };
    if let Some(d) = &dynamic
        && d.needed > 0
    {
        return Err(LiftError::SharedObject(format!(
            "{} DT_NEEDED libraries",
            d.needed
        )));
    }

    // Loadable segments, in the ELF's own addresses.
    let mut loads = Vec::new();
    for ph in phdrs.iter().filter(|p| p.p_type(LE) == elf::PT_LOAD) {
        let vaddr = ph.p_vaddr(LE);
        let memsz = ph.p_memsz(LE);
        let filesz = ph.p_filesz(LE);
        if filesz > memsz {
            return Err(malformed(format!(
                "segment at {vaddr:#x}: file size {filesz:#x} above its memory size {memsz:#x}"
            )));
        }
        let bytes = ph
            .data(LE, data)
            .map_err(|()| malformed(format!("segment at {vaddr:#x}: bytes outside the file")))?;
        let align = u32::try_from(ph.p_align(LE))
            .map_err(|_| malformed(format!("segment at {vaddr:#x}: alignment too large")))?;
        loads.push(Load {
            vaddr,
            memsz,
            offset: ph.p_offset(LE),
            flags: ph.p_flags(LE) & (elf::PF_R | elf::PF_W | elf::PF_X),
            align,
            bytes,
        });
    }
    if loads.is_empty() {
        return Err(malformed("no PT_LOAD segments"));
    }
    for w in loads.windows(2) {
        if w[0].vaddr.saturating_add(w[0].memsz) > w[1].vaddr {
            return Err(malformed(format!(
                "segments at {:#x} and {:#x} overlap or are out of order",
                w[0].vaddr, w[1].vaddr
            )));
        }
    }

    let kind = if e_type == elf::ET_EXEC {
        ElfKind::Static
    } else {
        if let Some(d) = &dynamic {
            d.check_relative_only(&loads)?;
        }
        let align = loads
            .iter()
            .map(|l| u64::from(l.align))
            .max()
            .unwrap_or(PAGE);
        let align = align.max(PAGE);
        if !align.is_power_of_two() {
            return Err(malformed(format!("segment alignment {align:#x}")));
        }
        let low = loads[0].vaddr & !(align - 1);
        ElfKind::StaticPie {
            base: PIE_BASE.next_multiple_of(align).wrapping_sub(low),
        }
    };
    let base = match kind {
        ElfKind::Static => 0,
        ElfKind::StaticPie { base } => base,
    };
    let reloc = |a: u64| a.wrapping_add(base);

    let mut segments = Vec::with_capacity(loads.len());
    for l in &loads {
        let start = reloc(l.vaddr);
        let end = start.checked_add(l.memsz);
        if start < LOW || end.is_none_or(|e| e > HIGH) {
            return Err(LiftError::Unloadable(format!(
                "segment at {start:#x} (+{:#x}) lies outside the guest window [{LOW:#x}, {HIGH:#x})",
                l.memsz
            )));
        }
        segments.push(Segment {
            vaddr: start,
            memsz: l.memsz,
            flags: l.flags,
            align: l.align,
            data: l.bytes,
        });
    }

    let entry = reloc(header.e_entry(LE));
    if !segments
        .iter()
        .any(|s| s.flags & elf::PF_X != 0 && (s.vaddr..s.vaddr + s.memsz).contains(&entry))
    {
        return Err(malformed(format!(
            "entry point {entry:#x} is not in an executable segment"
        )));
    }

    // AT_PHDR: PT_PHDR, else the load segment holding the headers' bytes.
    let phent = header.e_phentsize(LE);
    let phnum = u16::try_from(phdrs.len()).map_err(|_| malformed("too many program headers"))?;
    let phdr = match phdrs.iter().find(|p| p.p_type(LE) == elf::PT_PHDR) {
        Some(p) => reloc(p.p_vaddr(LE)),
        None => {
            let len = u64::from(phent) * u64::from(phnum);
            loads
                .iter()
                .find(|l| {
                    l.offset <= phoff
                        && phoff.saturating_add(len) <= l.offset + l.bytes.len() as u64
                })
                .map(|l| reloc(l.vaddr + (phoff - l.offset)))
                .unwrap_or(0)
        }
    };

    let mem = Memory {
        loads: &loads,
        base,
    };
    let roots = roots(header, data, phdrs, dynamic.as_ref(), &mem, entry)?;

    Ok(ElfProgram {
        kind,
        image: LiftedImage {
            entry,
            phdr,
            phent,
            phnum,
            segments,
            code: Vec::new(),
        },
        roots,
    })
}

/// A `PT_LOAD` in the ELF's own addresses.
struct Load<'a> {
    vaddr: u64,
    memsz: u64,
    offset: u64,
    flags: u32,
    align: u32,
    bytes: &'a [u8],
}

/// Reads the file's bytes by (un-rebased) address.
struct Memory<'m, 'a> {
    loads: &'m [Load<'a>],
    base: u64,
}

impl<'a> Memory<'_, 'a> {
    /// The file bytes at ELF address `addr`, to the end of its segment.
    fn at(&self, addr: u64) -> Option<&'a [u8]> {
        let l = self
            .loads
            .iter()
            .find(|l| addr >= l.vaddr && addr - l.vaddr < l.bytes.len() as u64)?;
        l.bytes.get(usize::try_from(addr - l.vaddr).ok()?..)
    }
    fn range(&self, addr: u64, len: u64) -> Option<&'a [u8]> {
        self.at(addr)?.get(..usize::try_from(len).ok()?)
    }
    fn u64(&self, addr: u64) -> Option<u64> {
        Some(u64::from_le_bytes(self.range(addr, 8)?.try_into().ok()?))
    }
}

/// What `PT_DYNAMIC` says (the tags discovery and classification use).
#[derive(Debug, Default)]
struct Dynamic {
    needed: usize,
    rela: Option<(u64, u64)>,
    jmprel: Option<(u64, u64)>,
    rel: bool,
    init: Option<u64>,
    fini: Option<u64>,
    arrays: Vec<(u64, u64)>,
}

impl Dynamic {
    fn read(bytes: &[u8]) -> Result<Dynamic, LiftError> {
        let mut d = Dynamic::default();
        let (mut rela, mut relasz, mut jmprel, mut pltrelsz) = (None, None, None, None);
        let (mut arrays, mut sizes) = ([None; 3], [None; 3]);
        for e in bytes.chunks_exact(16) {
            let tag = i64::from_le_bytes(e[..8].try_into().map_err(|_| malformed("dynamic"))?);
            let val = u64::from_le_bytes(e[8..].try_into().map_err(|_| malformed("dynamic"))?);
            match tag {
                elf::DT_NULL => break,
                elf::DT_NEEDED => d.needed += 1,
                elf::DT_RELA => rela = Some(val),
                elf::DT_RELASZ => relasz = Some(val),
                elf::DT_JMPREL => jmprel = Some(val),
                elf::DT_PLTRELSZ => pltrelsz = Some(val),
                elf::DT_REL => d.rel = true,
                elf::DT_INIT => d.init = Some(val),
                elf::DT_FINI => d.fini = Some(val),
                elf::DT_PREINIT_ARRAY => arrays[0] = Some(val),
                elf::DT_PREINIT_ARRAYSZ => sizes[0] = Some(val),
                elf::DT_INIT_ARRAY => arrays[1] = Some(val),
                elf::DT_INIT_ARRAYSZ => sizes[1] = Some(val),
                elf::DT_FINI_ARRAY => arrays[2] = Some(val),
                elf::DT_FINI_ARRAYSZ => sizes[2] = Some(val),
                _ => {}
            }
        }
        d.rela = rela.zip(relasz);
        d.jmprel = jmprel.zip(pltrelsz);
        d.arrays = arrays
            .into_iter()
            .zip(sizes)
            .filter_map(|(a, s)| a.zip(s))
            .collect();
        Ok(d)
    }

    /// The relocations of `DT_RELA` and `DT_JMPREL`.
    fn relocations(&self, mem: &Memory<'_, '_>) -> Result<Vec<Rela>, LiftError> {
        let mut out = Vec::new();
        for (addr, size) in self.rela.into_iter().chain(self.jmprel) {
            let bytes = mem.range(addr, size).ok_or_else(|| {
                malformed(format!(
                    "relocations at {addr:#x} (+{size:#x}) outside the loaded segments"
                ))
            })?;
            out.extend(Rela::all(bytes));
        }
        Ok(out)
    }

    /// A static-pie may hold only relocations it applies to itself.
    fn check_relative_only(&self, loads: &[Load<'_>]) -> Result<(), LiftError> {
        if self.rel {
            return Err(LiftError::SharedObject("DT_REL relocations".into()));
        }
        let mem = Memory { loads, base: 0 };
        let relocs = self.relocations(&mem)?;
        let symbolic = relocs
            .iter()
            .filter(|r| {
                !matches!(
                    r.kind,
                    R_X86_64_NONE | R_X86_64_RELATIVE | R_X86_64_IRELATIVE
                )
            })
            .count();
        if symbolic > 0 {
            return Err(LiftError::SharedObject(format!(
                "{symbolic} symbolic relocations"
            )));
        }
        Ok(())
    }
}

/// One `Elf64_Rela`.
#[derive(Debug, Clone, Copy)]
struct Rela {
    offset: u64,
    kind: u32,
    addend: u64,
}

impl Rela {
    fn all(bytes: &[u8]) -> impl Iterator<Item = Rela> + '_ {
        bytes.chunks_exact(24).map(|e| {
            let word = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&e[i * 8..i * 8 + 8]);
                u64::from_le_bytes(b)
            };
            Rela {
                offset: word(0),
                kind: word(1) as u32,
                addend: word(2),
            }
        })
    }
}

/// The roots of code discovery: the entry, init/fini arrays, IRELATIVE
/// resolvers, `.eh_frame`. Sections are used when present; a file without
/// them falls back on `PT_DYNAMIC` (static-pie) and `PT_GNU_EH_FRAME`.
fn roots(
    header: &Header,
    data: &[u8],
    phdrs: &[elf::ProgramHeader64<LittleEndian>],
    dynamic: Option<&Dynamic>,
    mem: &Memory<'_, '_>,
    entry: u64,
) -> Result<Roots, LiftError> {
    let base = mem.base;
    let mut roots = Roots {
        entry,
        ..Roots::default()
    };
    // Relocations: RELATIVE ones give a static-pie's pointer values (its
    // init arrays hold zeros in the file), IRELATIVE ones the resolvers.
    let mut relocs = match dynamic {
        Some(d) => d.relocations(mem)?,
        None => Vec::new(),
    };
    // Sections, if the file has a readable table (a corrupt table is treated
    // as stripped: the program headers are what loads).
    let sections = header.sections(LE, data).ok();
    let mut arrays: Vec<(u64, u64)> = dynamic.map(|d| d.arrays.clone()).unwrap_or_default();
    let mut eh_frame = None;
    if let Some(table) = &sections {
        for sh in table.iter() {
            let name = table.section_name(LE, sh).unwrap_or_default();
            let addr = sh.sh_addr(LE);
            let size = sh.sh_size(LE);
            match sh.sh_type(LE) {
                elf::SHT_INIT_ARRAY | elf::SHT_FINI_ARRAY | elf::SHT_PREINIT_ARRAY => {
                    arrays.push((addr, size))
                }
                elf::SHT_RELA if sh.sh_flags(LE) & u64::from(elf::SHF_ALLOC) != 0 => {
                    // `.rela.plt`/`.rela.iplt` of a static program (between
                    // `__rela_iplt_start` and `__rela_iplt_end`).
                    if let Ok(bytes) = sh.data(LE, data) {
                        relocs.extend(Rela::all(bytes));
                    }
                }
                elf::SHT_PROGBITS if name == b".init" || name == b".fini" => {
                    roots.init_fini.push(addr.wrapping_add(base))
                }
                elf::SHT_PROGBITS if name == b".eh_frame" && size > 0 => {
                    if let Ok(bytes) = sh.data(LE, data) {
                        eh_frame = Some((addr.wrapping_add(base), bytes.to_vec()));
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(d) = dynamic {
        roots
            .init_fini
            .extend(d.init.iter().chain(&d.fini).map(|a| a.wrapping_add(base)));
    }
    if eh_frame.is_none() {
        eh_frame = eh_frame_from_hdr(phdrs, data, mem);
    }
    roots.eh_frame = eh_frame;

    relocs.sort_by_key(|r| r.offset);
    relocs.dedup_by_key(|r| r.offset);
    let relative_at = |slot: u64| {
        relocs
            .binary_search_by_key(&slot, |r| r.offset)
            .ok()
            .map(|i| relocs[i])
            .filter(|r| r.kind == R_X86_64_RELATIVE)
            .map(|r| r.addend)
    };
    arrays.sort_unstable();
    arrays.dedup();
    for (addr, size) in arrays {
        // Bounded by the file: a size larger than the segment is corrupt.
        let n = size / 8;
        if mem.range(addr, n * 8).is_none() {
            return Err(malformed(format!(
                "init/fini array at {addr:#x} (+{size:#x}) outside the loaded segments"
            )));
        }
        for i in 0..n {
            let slot = addr + 8 * i;
            let v = relative_at(slot).or_else(|| mem.u64(slot)).unwrap_or(0);
            // 0 and -1 are the old sentinels of `.ctors`-style arrays.
            if v != 0 && v != u64::MAX {
                roots.init_fini.push(v.wrapping_add(base));
            }
        }
    }
    roots.irelative = relocs
        .iter()
        .filter(|r| r.kind == R_X86_64_IRELATIVE)
        .map(|r| r.addend.wrapping_add(base))
        .collect();
    roots.pointers = relocs
        .iter()
        .filter(|r| r.kind == R_X86_64_RELATIVE)
        .map(|r| r.addend.wrapping_add(base))
        .collect();
    roots.pointers.sort_unstable();
    roots.pointers.dedup();
    roots.init_fini.sort_unstable();
    roots.init_fini.dedup();
    roots.irelative.sort_unstable();
    roots.irelative.dedup();
    Ok(roots)
}

/// `.eh_frame` through `PT_GNU_EH_FRAME` (`.eh_frame_hdr`), for a file
/// without section headers: the header's `eh_frame_ptr`.
fn eh_frame_from_hdr(
    phdrs: &[elf::ProgramHeader64<LittleEndian>],
    data: &[u8],
    mem: &Memory<'_, '_>,
) -> Option<(u64, Vec<u8>)> {
    let ph = phdrs
        .iter()
        .find(|p| p.p_type(LE) == elf::PT_GNU_EH_FRAME)?;
    let hdr = ph.data(LE, data).ok()?;
    let hdr_addr = ph.p_vaddr(LE);
    if hdr.len() < 4 || hdr[0] != 1 {
        return None;
    }
    let enc = hdr[1];
    let field = hdr_addr + 4;
    // The encodings linkers write: pcrel or absolute, sdata4/udata4/(s|u)data8.
    let value = match enc & 0x0f {
        0x03 => u64::from(u32::from_le_bytes(hdr.get(4..8)?.try_into().ok()?)),
        0x0b => i64::from(i32::from_le_bytes(hdr.get(4..8)?.try_into().ok()?)) as u64,
        0x04 | 0x0c => u64::from_le_bytes(hdr.get(4..12)?.try_into().ok()?),
        _ => return None,
    };
    let addr = match enc & 0x70 {
        0x00 => value,
        0x10 => field.wrapping_add(value),
        0x30 => hdr_addr.wrapping_add(value),
        _ => return None,
    };
    let bytes = mem.at(addr)?;
    Some((addr.wrapping_add(mem.base), bytes.to_vec()))
}

fn machine_name(m: u16) -> String {
    match m {
        elf::EM_386 => "i386".into(),
        elf::EM_AARCH64 => "aarch64".into(),
        elf::EM_ARM => "arm".into(),
        elf::EM_RISCV => "riscv".into(),
        elf::EM_PPC64 => "ppc64".into(),
        elf::EM_S390 => "s390".into(),
        m => format!("machine {m:#x}"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The real busybox-static (Debian's, installed by `scripts/test`).
    pub(crate) fn busybox() -> Vec<u8> {
        std::fs::read("/bin/busybox")
            .expect("/bin/busybox (Debian's busybox-static; ./scripts/test installs it)")
    }

    /// A C program built by gcc with `flags`, if gcc and static glibc exist.
    pub(crate) fn c_program(name: &str, flags: &[&str]) -> Option<Vec<u8>> {
        let dir = std::env::temp_dir().join(format!("lift-elf-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let src = dir.join("p.c");
        std::fs::write(
            &src,
            "#include <stdio.h>\n\
             static int ran;\n\
             __attribute__((constructor)) static void init(void) { ran = 1; }\n\
             int main(int argc, char **argv) { printf(\"%d %s\\n\", ran, argv[0]); return argc - 1; }\n",
        )
        .ok()?;
        let out = dir.join("p");
        let status = std::process::Command::new("gcc")
            .args(flags)
            .arg("-O2")
            .arg("-o")
            .arg(&out)
            .arg(&src)
            .status()
            .ok()?;
        let bytes = if status.success() {
            std::fs::read(&out).ok()
        } else {
            None
        };
        let _ = std::fs::remove_dir_all(&dir);
        if bytes.is_none() {
            eprintln!("gcc {flags:?} not available: test skipped in part");
        }
        bytes
    }

    #[test]
    fn busybox_is_static_with_its_segments_and_roots() {
        let data = busybox();
        let p = parse(&data).unwrap();
        assert_eq!(p.kind, ElfKind::Static);
        assert_eq!(p.image.entry, 0x40ebf0);
        assert_eq!(p.image.segments.len(), 4);
        assert_eq!(p.image.phdr, 0x400040);
        assert_eq!((p.image.phent, p.image.phnum), (56, 10));
        let text = &p.image.segments[1];
        assert_eq!(text.flags, elf::PF_R | elf::PF_X);
        assert_eq!(text.vaddr, 0x401000);
        let data_seg = &p.image.segments[3];
        assert!(data_seg.memsz > data_seg.data.len() as u64, "bss");
        // .init, .fini, one .init_array and one .fini_array entry.
        assert!(p.roots.init_fini.len() >= 3, "{:x?}", p.roots.init_fini);
        // .rela.plt holds the IRELATIVE relocations of glibc's IFUNCs.
        // (43 relocations; some resolvers serve several.)
        assert_eq!(p.roots.irelative.len(), 35);
        let (eh, bytes) = p.roots.eh_frame.as_ref().unwrap();
        assert_eq!(*eh, 0x5c3398);
        assert_eq!(bytes.len(), 0x16940);
        // The image encodes and decodes.
        let enc = p.image.encode();
        assert_eq!(crate::image::LiftedImage::decode(&enc).unwrap(), p.image);
    }

    #[test]
    fn a_dynamic_program_names_its_interpreter() {
        let ls = std::fs::read("/bin/ls").unwrap();
        match parse(&ls) {
            Err(LiftError::Dynamic { interp }) => {
                assert_eq!(interp, "/lib64/ld-linux-x86-64.so.2")
            }
            r => panic!("{:?}", r.map(|p| p.kind)),
        }
    }

    #[test]
    fn static_pie_is_rebased_and_its_arrays_come_from_relocations() {
        let Some(data) = c_program("spie", &["-static-pie"]) else {
            return;
        };
        let p = parse(&data).unwrap();
        let ElfKind::StaticPie { base } = p.kind else {
            panic!("{:?}", p.kind)
        };
        assert_eq!(base, PIE_BASE);
        assert_eq!(p.image.segments[0].vaddr, PIE_BASE);
        assert!(p.image.phdr >= PIE_BASE && p.image.phdr < PIE_BASE + 0x1000);
        // The constructor is in .init_array as a RELATIVE relocation only.
        let text = p
            .image
            .segments
            .iter()
            .find(|s| s.flags & elf::PF_X != 0)
            .unwrap();
        let in_text = |a: &u64| (text.vaddr..text.vaddr + text.memsz).contains(a);
        assert!(p.roots.init_fini.len() >= 3, "{:x?}", p.roots.init_fini);
        assert!(
            p.roots.init_fini.iter().all(in_text),
            "{:x?}",
            p.roots.init_fini
        );
        assert!(!p.roots.irelative.is_empty());
        assert!(p.roots.irelative.iter().all(in_text));
        assert!(in_text(&p.image.entry));
    }

    #[test]
    fn static_non_pie_c_program() {
        let Some(data) = c_program("static", &["-static"]) else {
            return;
        };
        let p = parse(&data).unwrap();
        assert_eq!(p.kind, ElfKind::Static);
        assert!(p.roots.eh_frame.is_some());
        assert!(!p.roots.irelative.is_empty());
    }

    #[test]
    fn a_file_without_section_headers_still_finds_eh_frame_through_its_header() {
        let Some(mut data) = c_program("stripped", &["-static-pie"]) else {
            return;
        };
        // Drop the section headers as `sstrip` would: e_shoff, e_shnum, e_shstrndx.
        data[0x28..0x30].fill(0);
        data[0x3c..0x40].fill(0);
        let p = parse(&data).unwrap();
        let (addr, bytes) = p.roots.eh_frame.unwrap();
        assert!(addr > PIE_BASE && !bytes.is_empty());
        // The arrays and resolvers come from PT_DYNAMIC.
        assert!(p.roots.init_fini.len() >= 3);
        assert!(!p.roots.irelative.is_empty());
    }

    #[test]
    fn corrupt_files_are_errors_never_panics() {
        let data = busybox();
        assert_eq!(parse(b"").unwrap_err(), malformed("truncated ELF header"));
        assert_eq!(
            parse(b"#!/bin/sh\n\n\n\n\n\n\n\n").unwrap_err(),
            LiftError::NotElf
        );
        let cut = parse(&data[..0x200]).unwrap_err();
        assert!(cut.to_string().contains("truncated?"), "{cut}");
        let cut = parse(&data[..0x1000]).unwrap_err();
        assert!(cut.to_string().contains("outside the file"), "{cut}");
        let mut bad = data.clone();
        bad[4] = 1;
        assert_eq!(parse(&bad).unwrap_err(), LiftError::Class32);
        let mut bad = data.clone();
        bad[18] = 0xb7;
        assert_eq!(
            parse(&bad).unwrap_err().to_string(),
            "an ELF program for aarch64: only x86-64 programs are lifted"
        );
        let mut bad = data.clone();
        bad[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes()); // e_phoff
        assert!(matches!(parse(&bad), Err(LiftError::Malformed(_))));
        // Every prefix, and bytes flipped all over the headers: errors or
        // programs, never a panic.
        for n in (0..4096).chain((4096..data.len()).step_by(4093)) {
            let _ = parse(&data[..n]);
        }
        for i in 0..0x300 {
            let mut bad = data.clone();
            bad[i] ^= 0xa5;
            let _ = parse(&bad);
        }
        let mut bad = data.clone();
        bad[0x18..0x20].copy_from_slice(&0x10u64.to_le_bytes()); // e_entry
        assert!(parse(&bad).unwrap_err().to_string().contains("entry point"));
    }
}
