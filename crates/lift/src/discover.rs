//! Code discovery at build time: which bytes of a static ELF program are
//! code, and whether the executors cover every instruction found.
//!
//! Recursive descent over the executable segments, from the roots
//! ([`crate::elf::Roots`]): the entry point, `.init`/`.fini` and the init/fini
//! arrays, the IRELATIVE resolvers, and every `.eh_frame` function start (an
//! IFUNC resolver's return value and a function pointer's target cannot be
//! known statically; `.eh_frame` names nearly every compiled function). From
//! each, instructions are decoded (iced-x86) and followed through
//! fall-through, direct jumps, conditional branches and direct calls; a run
//! stops at `ret`, an indirect jump, `ud2`, `hlt`, `int3`, an invalid
//! encoding, or the end of the segment. Switch jump tables of the two shapes
//! gcc emits (`jmp [table + idx*8]` and `lea; movsxd; add; jmp reg`) are read
//! while their targets stay inside the enclosing `.eh_frame` function. Other
//! indirect transfers are counted, not followed.
//!
//! Every discovered instruction is checked with [`crate::sem::supported`]; an
//! uncovered one is listed with its address, bytes, Intel-syntax text and
//! enclosing function. The guest runtime decodes lazily, so discovery decides
//! nothing at run time: it is the build report, and the code index
//! ([`LiftedImage::code`]) a translator will start from.
//!
//! It does not read ELF structures ([`crate::elf`]).

use std::collections::HashMap;

use iced_x86::{
    CpuidFeature, Decoder, DecoderOptions, EncodingKind, FlowControl, Formatter, Instruction,
    IntelFormatter, Mnemonic, OpKind, Register,
};

use crate::elf::{self, ElfKind, ElfProgram, LiftError};
use crate::image::{LiftedImage, PF_X};

/// Uncovered instructions listed one by one (the per-mnemonic summary counts
/// all of them): enough to find where each family is used, while a program
/// the executors barely cover does not give a report of hundreds of thousands
/// of lines.
pub const MAX_LISTED: usize = 1000;

/// Entries read from one jump table at most (the largest switch in glibc and
/// busybox has a few hundred cases).
const MAX_TABLE: u64 = 4096;

/// An instruction the executors do not cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub addr: u64,
    /// The instruction's bytes, in hex.
    pub bytes: String,
    /// Intel syntax (`(bad)` for an invalid encoding).
    pub text: String,
    /// The enclosing function: the nearest `.eh_frame` function start at or
    /// below `addr`.
    pub function: Option<u64>,
    /// It needs a CPU feature beyond the baseline the guest is told of (SSE3
    /// and later, AVX, BMI, ...): glibc's IFUNCs never select such code.
    pub beyond_baseline: bool,
}

/// Uncovered instructions of one mnemonic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnemonicCount {
    pub mnemonic: String,
    pub count: usize,
    /// How many of them need a CPU feature beyond the baseline.
    pub beyond_baseline: usize,
}

/// What code discovery found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Distinct function starts reached (roots and direct call targets).
    pub functions: usize,
    /// Function starts named by `.eh_frame`.
    pub eh_frame_functions: usize,
    /// Distinct instructions decoded.
    pub instructions: usize,
    /// Bytes those instructions cover.
    pub code_bytes: u64,
    /// Indirect jumps and calls (their targets are found at run time), and
    /// jump tables read.
    pub indirect_jumps: usize,
    pub indirect_calls: usize,
    pub jump_tables: usize,
    /// Direct targets and roots outside the executable segments (not
    /// followed).
    pub outside: usize,
    /// Uncovered instructions: how many, how many of them beyond the
    /// baseline CPU, the first [`MAX_LISTED`] by address, and all by
    /// mnemonic (most frequent first).
    pub unsupported_count: usize,
    pub unsupported_beyond_baseline: usize,
    pub unsupported: Vec<Unsupported>,
    pub by_mnemonic: Vec<MnemonicCount>,
    /// Function starts and branch targets, sorted (the image's code index).
    pub code: Vec<u64>,
}

/// A lifted program: what the builder stores and reports.
#[derive(Debug, Clone)]
pub struct Lifted {
    pub kind: ElfKind,
    pub entry: u64,
    /// The encoded [`LiftedImage`], code index included.
    pub image: Vec<u8>,
    pub discovery: Discovery,
}

/// Reads, discovers and encodes a static ELF program.
pub fn lift(data: &[u8]) -> Result<Lifted, LiftError> {
    let mut program = elf::parse(data)?;
    let discovery = discover(&program);
    program.image.code = discovery.code.clone();
    Ok(Lifted {
        kind: program.kind,
        entry: program.image.entry,
        image: program.image.encode(),
        discovery,
    })
}

/// An executable segment's file bytes and which of them start a discovered
/// instruction.
struct Text<'a> {
    vaddr: u64,
    bytes: &'a [u8],
    starts: Vec<u64>,
}

impl Text<'_> {
    fn contains(&self, addr: u64) -> bool {
        addr >= self.vaddr && addr - self.vaddr < self.bytes.len() as u64
    }
    /// Marks `addr` (in the segment) as an instruction start; false if it
    /// already was.
    fn mark(&mut self, addr: u64) -> bool {
        let i = (addr - self.vaddr) as usize;
        let (w, b) = (i / 64, 1u64 << (i % 64));
        let fresh = self.starts[w] & b == 0;
        self.starts[w] |= b;
        fresh
    }
}

/// What a function start or target was found as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Found {
    Function,
    Branch,
}

/// Runs code discovery over `program`.
pub fn discover(program: &ElfProgram<'_>) -> Discovery {
    let image = &program.image;
    let mut texts: Vec<Text<'_>> = image
        .segments
        .iter()
        .filter(|s| s.flags & PF_X != 0)
        .map(|s| Text {
            vaddr: s.vaddr,
            bytes: s.data,
            starts: vec![0; s.data.len().div_ceil(64)],
        })
        .collect();

    let fdes = program
        .roots
        .eh_frame
        .as_ref()
        .map(|(addr, bytes)| eh_frame_functions(*addr, bytes))
        .unwrap_or_default();
    let mut out = Discovery {
        eh_frame_functions: fdes.len(),
        ..Discovery::default()
    };

    let mut found: HashMap<u64, Found> = HashMap::new();
    let mut work: Vec<u64> = Vec::new();
    let roots = std::iter::once(program.roots.entry)
        .chain(program.roots.init_fini.iter().copied())
        .chain(program.roots.irelative.iter().copied())
        .chain(fdes.iter().map(|f| f.0));
    for r in roots {
        if found.insert(r, Found::Function).is_none() {
            work.push(r);
        }
    }

    let mut unsupported: Vec<Instruction> = Vec::new();
    let mut by_mnemonic: HashMap<Mnemonic, (usize, usize)> = HashMap::new();
    let add = |found: &mut HashMap<u64, Found>, work: &mut Vec<u64>, a: u64, how: Found| match found
        .get(&a)
    {
        None => {
            found.insert(a, how);
            work.push(a);
        }
        Some(Found::Branch) if how == Found::Function => {
            found.insert(a, how);
        }
        Some(_) => {}
    };

    while let Some(start) = work.pop() {
        let Some(ti) = texts.iter().position(|t| t.contains(start)) else {
            out.outside += 1;
            continue;
        };
        let text = &mut texts[ti];
        let mut decoder = Decoder::with_ip(
            64,
            &text.bytes[(start - text.vaddr) as usize..],
            start,
            DecoderOptions::NONE,
        );
        let mut insn = Instruction::default();
        // Registers holding `lea reg, [rip+T]` values, and those holding
        // `movsxd reg, [T + idx*4]` loads, within this run (for jump tables).
        let mut lea: [u64; 16] = [0; 16];
        let mut rel_load: [u64; 16] = [0; 16];
        while decoder.can_decode() {
            let addr = decoder.ip();
            if !text.mark(addr) {
                break;
            }
            decoder.decode_out(&mut insn);
            out.instructions += 1;
            out.code_bytes += insn.len() as u64;
            if !crate::sem::supported(&insn) {
                let beyond = beyond_baseline(&insn);
                let e = by_mnemonic.entry(insn.mnemonic()).or_default();
                e.0 += 1;
                e.1 += usize::from(beyond);
                unsupported.push(insn);
            }
            if insn.is_invalid() {
                break;
            }
            match insn.flow_control() {
                FlowControl::Next => {
                    if insn.mnemonic() == Mnemonic::Hlt {
                        break;
                    }
                    track_table_registers(&insn, &mut lea, &mut rel_load);
                }
                FlowControl::ConditionalBranch => {
                    add(
                        &mut found,
                        &mut work,
                        insn.near_branch_target(),
                        Found::Branch,
                    );
                }
                FlowControl::UnconditionalBranch => {
                    if is_near_branch(&insn) {
                        add(
                            &mut found,
                            &mut work,
                            insn.near_branch_target(),
                            Found::Branch,
                        );
                    }
                    break;
                }
                FlowControl::Call => {
                    if is_near_branch(&insn) {
                        add(
                            &mut found,
                            &mut work,
                            insn.near_branch_target(),
                            Found::Function,
                        );
                    }
                }
                FlowControl::IndirectCall => out.indirect_calls += 1,
                FlowControl::IndirectBranch => {
                    out.indirect_jumps += 1;
                    let targets = jump_table(&insn, &lea, &rel_load, &fdes, image);
                    if !targets.is_empty() {
                        out.jump_tables += 1;
                    }
                    for t in targets {
                        add(&mut found, &mut work, t, Found::Branch);
                    }
                    break;
                }
                FlowControl::Interrupt => {
                    if matches!(insn.mnemonic(), Mnemonic::Int3 | Mnemonic::Int1) {
                        break;
                    }
                }
                // ret, ud2 and other exceptions, xbegin (not covered).
                FlowControl::Return | FlowControl::Exception | FlowControl::XbeginXabortXend => {
                    break;
                }
            }
        }
    }

    let mut code: Vec<u64> = found
        .iter()
        .filter(|(a, _)| texts.iter().any(|t| t.contains(**a)))
        .map(|(a, _)| *a)
        .collect();
    code.sort_unstable();
    out.functions = found
        .iter()
        .filter(|(a, how)| **how == Found::Function && texts.iter().any(|t| t.contains(**a)))
        .count();
    out.code = code;

    unsupported.sort_unstable_by_key(|i| i.ip());
    out.unsupported_count = unsupported.len();
    out.unsupported_beyond_baseline = by_mnemonic.values().map(|c| c.1).sum();
    let mut formatter = IntelFormatter::new();
    out.unsupported = unsupported
        .iter()
        .take(MAX_LISTED)
        .map(|insn| {
            let addr = insn.ip();
            let bytes = texts
                .iter()
                .find(|t| t.contains(addr))
                .and_then(|t| {
                    let at = (addr - t.vaddr) as usize;
                    t.bytes.get(at..at + insn.len())
                })
                .unwrap_or_default();
            let mut text = String::new();
            if insn.is_invalid() {
                text.push_str("(bad)");
            } else {
                formatter.format(insn, &mut text);
            }
            Unsupported {
                addr,
                bytes: bytes.iter().map(|b| format!("{b:02x}")).collect(),
                text,
                function: enclosing(&fdes, addr).map(|f| f.0),
                beyond_baseline: beyond_baseline(insn),
            }
        })
        .collect();
    let mut counts: Vec<MnemonicCount> = by_mnemonic
        .into_iter()
        .map(|(m, (count, beyond))| MnemonicCount {
            mnemonic: mnemonic_name(m),
            count,
            beyond_baseline: beyond,
        })
        .collect();
    counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.mnemonic.cmp(&b.mnemonic)));
    out.by_mnemonic = counts;
    out
}

fn is_near_branch(insn: &Instruction) -> bool {
    matches!(
        insn.op0_kind(),
        OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64
    )
}

/// The mnemonic as reports spell it: lower case, `(bad)` for invalid.
pub fn mnemonic_name(m: Mnemonic) -> String {
    if m == Mnemonic::INVALID {
        "(bad)".into()
    } else {
        format!("{m:?}").to_lowercase()
    }
}

/// CPU features of the baseline x86-64 the guest's `cpuid` reports (see
/// `sem::system`): code needing anything else is behind an IFUNC or a
/// `cpuid` check that the baseline makes it skip.
fn beyond_baseline(insn: &Instruction) -> bool {
    use CpuidFeature as F;
    if insn.is_invalid() {
        return false;
    }
    if insn.encoding() != EncodingKind::Legacy {
        return true;
    }
    insn.cpuid_features().iter().any(|f| {
        !matches!(
            f,
            F::INTEL8086
                | F::INTEL186
                | F::INTEL286
                | F::INTEL386
                | F::INTEL486
                | F::X64
                | F::CPUID
                | F::CMOV
                | F::CX8
                | F::FPU
                | F::FPU287
                | F::FPU387
                | F::FXSR
                | F::MMX
                | F::SSE
                | F::SSE2
                | F::SYSCALL
                | F::TSC
                | F::MULTIBYTENOP
                | F::PAUSE
                | F::CLFSH
        )
    })
}

/// `.eh_frame` function ranges (start, length), sorted by start. A malformed
/// entry ends the walk (the ones read so far are kept).
fn eh_frame_functions(addr: u64, bytes: &[u8]) -> Vec<(u64, u64)> {
    use gimli::{BaseAddresses, CieOrFde, EhFrame, UnwindSection};
    let mut eh = EhFrame::new(bytes, gimli::LittleEndian);
    eh.set_address_size(8);
    let bases = BaseAddresses::default().set_eh_frame(addr);
    let mut entries = eh.entries(&bases);
    let mut out = Vec::new();
    while let Ok(Some(entry)) = entries.next() {
        if let CieOrFde::Fde(partial) = entry
            && let Ok(fde) = partial.parse(|s, b, o| s.cie_from_offset(b, o))
            && fde.len() > 0
        {
            out.push((fde.initial_address(), fde.len()));
        }
    }
    out.sort_unstable();
    out.dedup_by_key(|f| f.0);
    out
}

/// The function (from `.eh_frame`) at or below `addr`.
fn enclosing(fdes: &[(u64, u64)], addr: u64) -> Option<(u64, u64)> {
    let i = fdes.partition_point(|f| f.0 <= addr);
    i.checked_sub(1).map(|i| fdes[i])
}

fn gpr(r: Register) -> Option<usize> {
    let full = r.full_register();
    if full.is_gpr64() {
        Some(full as usize - Register::RAX as usize)
    } else {
        None
    }
}

/// Follows the registers of a `lea base, [rip+T]; movsxd r, [base+idx*4];
/// add r, base` sequence.
fn track_table_registers(insn: &Instruction, lea: &mut [u64; 16], rel_load: &mut [u64; 16]) {
    let Some(dst) = (insn.op_count() > 0 && insn.op0_kind() == OpKind::Register)
        .then(|| gpr(insn.op0_register()))
        .flatten()
    else {
        return;
    };
    match insn.mnemonic() {
        Mnemonic::Lea if insn.memory_base() == Register::RIP => {
            lea[dst] = insn.memory_displacement64();
            rel_load[dst] = 0;
        }
        Mnemonic::Movsxd
            if insn.op1_kind() == OpKind::Memory
                && insn.memory_index_scale() == 4
                && insn.memory_displacement64() == 0 =>
        {
            let table = gpr(insn.memory_base()).map(|b| lea[b]).unwrap_or(0);
            lea[dst] = 0;
            rel_load[dst] = table;
        }
        Mnemonic::Add if insn.op1_kind() == OpKind::Register => {
            let src = gpr(insn.op1_register());
            // `add r, base` or `add base, r`: r then holds the target.
            let table = match src {
                Some(s) if rel_load[dst] != 0 && lea[s] == rel_load[dst] => rel_load[dst],
                Some(s) if rel_load[s] != 0 && lea[dst] == rel_load[s] => rel_load[s],
                _ => 0,
            };
            lea[dst] = 0;
            rel_load[dst] = 0;
            if table != 0 {
                // Marked as "the target of table T": jump_table reads it.
                lea[dst] = table | 1 << 63;
            }
        }
        _ => {
            lea[dst] = 0;
            rel_load[dst] = 0;
        }
    }
}

/// The targets of an indirect jump through a switch table, if it is one.
fn jump_table(
    insn: &Instruction,
    lea: &[u64; 16],
    _rel_load: &[u64; 16],
    fdes: &[(u64, u64)],
    image: &LiftedImage<'_>,
) -> Vec<u64> {
    let Some((fstart, flen)) = enclosing(fdes, insn.ip()) else {
        return Vec::new();
    };
    if insn.ip() - fstart >= flen {
        return Vec::new();
    }
    let in_function = |t: u64| t >= fstart && t - fstart < flen;
    let read = |addr: u64, size: usize| -> Option<u64> {
        let s = image
            .segments
            .iter()
            .find(|s| addr >= s.vaddr && addr - s.vaddr < s.data.len() as u64)?;
        let at = usize::try_from(addr - s.vaddr).ok()?;
        let b = s.data.get(at..at.checked_add(size)?)?;
        let mut w = [0u8; 8];
        w[..size].copy_from_slice(b);
        Some(u64::from_le_bytes(w))
    };
    let mut out = Vec::new();
    match insn.op0_kind() {
        // jmp [T + idx*8] (non-PIC code): absolute entries.
        OpKind::Memory
            if insn.memory_base() == Register::None
                && insn.memory_index_scale() == 8
                && insn.memory_index() != Register::None =>
        {
            let table = insn.memory_displacement64();
            for i in 0..MAX_TABLE {
                match read(table + 8 * i, 8) {
                    Some(t) if in_function(t) => out.push(t),
                    _ => break,
                }
            }
        }
        // jmp reg, reg = T + sext([T + idx*4]).
        OpKind::Register => {
            let Some(r) = gpr(insn.op0_register()) else {
                return out;
            };
            if lea[r] >> 63 == 0 {
                return out;
            }
            let table = lea[r] & !(1 << 63);
            for i in 0..MAX_TABLE {
                match read(table + 4 * i, 4) {
                    Some(e) => {
                        let t = table.wrapping_add(e as u32 as i32 as i64 as u64);
                        if !in_function(t) {
                            break;
                        }
                        out.push(t);
                    }
                    None => break,
                }
            }
        }
        _ => {}
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::tests::{busybox, c_program};

    #[test]
    fn busybox_code_is_found_fast_and_checked() {
        let data = busybox();
        let t = std::time::Instant::now();
        let lifted = lift(&data).unwrap();
        let took = t.elapsed();
        let d = &lifted.discovery;
        eprintln!(
            "busybox: {} functions ({} from .eh_frame), {} instructions, {} bytes, {} indirect jumps, {} jump tables, {} unsupported ({} beyond baseline), in {took:?}",
            d.functions,
            d.eh_frame_functions,
            d.instructions,
            d.code_bytes,
            d.indirect_jumps,
            d.jump_tables,
            d.unsupported_count,
            d.unsupported_beyond_baseline
        );
        assert!(d.functions > 3000, "{}", d.functions);
        assert!(d.eh_frame_functions > 2000);
        assert!(d.instructions > 200_000, "{}", d.instructions);
        // Most of the 1.5 MB of text is reached.
        assert!(d.code_bytes > 1_000_000, "{}", d.code_bytes);
        assert!(d.jump_tables > 50, "{}", d.jump_tables);
        assert!(d.code.windows(2).all(|w| w[0] < w[1]));
        assert!(d.code.binary_search(&0x40ebf0).is_ok());
        assert_eq!(d.outside, 0);
        assert!(d.unsupported.len() <= MAX_LISTED);
        assert_eq!(
            d.by_mnemonic.iter().map(|m| m.count).sum::<usize>(),
            d.unsupported_count
        );
        for u in &d.unsupported {
            assert!(!u.text.is_empty() && !u.bytes.is_empty() && u.bytes.len() % 2 == 0);
        }
        // AVX code (glibc's IFUNC variants) is never covered, and is found.
        let vex = d
            .by_mnemonic
            .iter()
            .find(|m| m.mnemonic == "vpcmpeqb")
            .unwrap();
        assert_eq!(vex.count, vex.beyond_baseline);
        // The stored image carries the code index.
        let img = LiftedImage::decode(&lifted.image).unwrap();
        assert_eq!(img.code, d.code);
        assert_eq!(img.entry, 0x40ebf0);
    }

    #[test]
    fn a_static_pie_is_discovered_at_its_base() {
        let Some(data) = c_program("discover-spie", &["-static-pie"]) else {
            return;
        };
        let lifted = lift(&data).unwrap();
        let d = &lifted.discovery;
        assert!(matches!(lifted.kind, ElfKind::StaticPie { .. }));
        assert!(d.functions > 100, "{}", d.functions);
        assert_eq!(d.outside, 0);
        assert!(d.code.iter().all(|a| *a >= elf::PIE_BASE));
    }

    #[test]
    fn unsupported_instructions_are_listed_with_function_and_text() {
        // A hand-made segment: `vzeroupper` (VEX, never covered); `ret`.
        let code = [0xc5u8, 0xf8, 0x77, 0xc3];
        let program = ElfProgram {
            kind: ElfKind::Static,
            image: LiftedImage {
                entry: 0x401000,
                phdr: 0,
                phent: 56,
                phnum: 0,
                segments: vec![crate::image::Segment {
                    vaddr: 0x401000,
                    memsz: 4,
                    flags: PF_X | crate::image::PF_R,
                    align: 4096,
                    data: &code,
                }],
                code: Vec::new(),
            },
            roots: crate::elf::Roots {
                entry: 0x401000,
                ..Default::default()
            },
        };
        let d = discover(&program);
        assert_eq!(d.instructions, 2);
        assert_eq!(d.code_bytes, 4);
        let u = &d.unsupported[0];
        assert_eq!(
            (u.addr, u.bytes.as_str(), u.text.as_str()),
            (0x401000, "c5f877", "vzeroupper")
        );
        assert!(u.beyond_baseline);
        assert_eq!(d.by_mnemonic[0].mnemonic, "vzeroupper");
    }
}
