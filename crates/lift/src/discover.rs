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
    /// Pointers into code taken from data or instructions (function pointer
    /// candidates), and those rejected because they landed inside a known
    /// instruction or decoded to an invalid one.
    pub pointer_candidates: usize,
    pub pointers_rejected: usize,
    /// Uncovered instructions: how many, how many of them beyond the
    /// baseline CPU, the first [`MAX_LISTED`] (those within the baseline
    /// first, each group by address), and all by mnemonic (most frequent
    /// within the baseline first).
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
    /// Bytes inside (not at the start of) a discovered instruction.
    inside: Vec<u64>,
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
    /// Marks the bytes after `addr` up to `len` as inside an instruction.
    fn mark_inside(&mut self, addr: u64, len: usize) {
        let i = (addr - self.vaddr) as usize;
        for j in i + 1..(i + len).min(self.bytes.len()) {
            self.inside[j / 64] |= 1 << (j % 64);
        }
    }
    fn is_inside(&self, addr: u64) -> bool {
        let i = (addr - self.vaddr) as usize;
        self.inside[i / 64] & (1 << (i % 64)) != 0
    }
}

/// The work of a discovery: what was found, what is left to decode (with
/// whether it came from a pointer candidate), and the candidates.
#[derive(Default)]
struct Walk {
    found: HashMap<u64, Found>,
    work: Vec<(u64, bool)>,
    weak: Vec<u64>,
}

impl Walk {
    fn add(&mut self, a: u64, how: Found, weak: bool) {
        match self.found.get(&a) {
            None => {
                self.found.insert(a, how);
                self.work.push((a, weak));
            }
            Some(Found::Branch) if how == Found::Function => {
                self.found.insert(a, how);
            }
            Some(_) => {}
        }
    }
}

/// A code address an instruction takes as a value: `lea r, [rip+X]`, and in
/// a program at fixed addresses `mov r, imm` and `push imm`.
fn code_pointer(insn: &Instruction, absolute: bool) -> Option<u64> {
    match insn.mnemonic() {
        Mnemonic::Lea if insn.memory_base() == Register::RIP => Some(insn.memory_displacement64()),
        Mnemonic::Mov | Mnemonic::Push if absolute => (0..insn.op_count())
            .find(|&i| {
                matches!(
                    insn.op_kind(i),
                    OpKind::Immediate32 | OpKind::Immediate32to64 | OpKind::Immediate64
                )
            })
            .map(|i| insn.immediate(i)),
        _ => None,
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
            inside: vec![0; s.data.len().div_ceil(64)],
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

    let mut walk = Walk::default();
    let roots = std::iter::once(program.roots.entry)
        .chain(program.roots.init_fini.iter().copied())
        .chain(program.roots.irelative.iter().copied())
        .chain(fdes.iter().map(|f| f.0));
    for r in roots {
        walk.add(r, Found::Function, false);
    }
    // Pointers into code seen in data: a static-pie's relocations; a static
    // program's data words (8-aligned) whose value lies in an executable
    // segment.
    let in_text = |a: u64| {
        image
            .segments
            .iter()
            .any(|s| s.flags & PF_X != 0 && a >= s.vaddr && a - s.vaddr < s.data.len() as u64)
    };
    walk.weak.extend(
        program
            .roots
            .pointers
            .iter()
            .copied()
            .filter(|a| in_text(*a)),
    );
    let absolute = program.kind == ElfKind::Static;
    if absolute {
        for seg in image.segments.iter().filter(|s| s.flags & PF_X == 0) {
            let skip = (seg.vaddr.next_multiple_of(8) - seg.vaddr) as usize;
            for w in seg.data.get(skip..).unwrap_or_default().chunks_exact(8) {
                let mut b = [0u8; 8];
                b.copy_from_slice(w);
                let v = u64::from_le_bytes(b);
                if in_text(v) {
                    walk.weak.push(v);
                }
            }
        }
    }

    let mut unsupported: Vec<Instruction> = Vec::new();
    let mut by_mnemonic: HashMap<Mnemonic, (usize, usize)> = HashMap::new();
    let mut weak_seen = 0usize;
    loop {
        let (start, weak) = match walk.work.pop() {
            Some(w) => w,
            None => {
                // Strong code first; then the pointer candidates, each
                // accepted only where it does not land inside an
                // instruction already found.
                let Some(a) = walk.weak.pop() else { break };
                weak_seen += 1;
                if walk.found.contains_key(&a) {
                    continue;
                }
                match texts.iter().find(|t| t.contains(a)) {
                    Some(t) if !t.is_inside(a) => {}
                    _ => {
                        out.pointers_rejected += 1;
                        continue;
                    }
                }
                walk.found.insert(a, Found::Function);
                (a, true)
            }
        };
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
        let mut tables = Tables::default();
        while decoder.can_decode() {
            let addr = decoder.ip();
            if weak && text.is_inside(addr) {
                break;
            }
            if !text.mark(addr) {
                break;
            }
            decoder.decode_out(&mut insn);
            if insn.is_invalid() && weak {
                // A pointer candidate that was not code after all.
                out.pointers_rejected += 1;
                break;
            }
            text.mark_inside(addr, insn.len());
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
                    tables.track(&insn, absolute);
                    if let Some(p) = code_pointer(&insn, absolute)
                        && in_text(p)
                    {
                        walk.weak.push(p);
                    }
                }
                FlowControl::ConditionalBranch => {
                    tables.bound_from(&insn);
                    walk.add(insn.near_branch_target(), Found::Branch, weak);
                }
                FlowControl::UnconditionalBranch => {
                    if is_near_branch(&insn) {
                        walk.add(insn.near_branch_target(), Found::Branch, weak);
                    }
                    break;
                }
                FlowControl::Call => {
                    if is_near_branch(&insn) {
                        walk.add(insn.near_branch_target(), Found::Function, weak);
                    }
                }
                FlowControl::IndirectCall => out.indirect_calls += 1,
                FlowControl::IndirectBranch => {
                    out.indirect_jumps += 1;
                    let targets = tables.targets(&insn, &fdes, image, &in_text);
                    if !targets.is_empty() {
                        out.jump_tables += 1;
                    }
                    for t in targets {
                        walk.add(t, Found::Branch, weak);
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
    out.pointer_candidates = weak_seen;
    let found = walk.found;

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

    // Those within the baseline first: they are the ones a run can reach.
    unsupported.sort_unstable_by_key(|i| (beyond_baseline(i), i.ip()));
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
    counts.sort_by(|a, b| {
        let within = |m: &MnemonicCount| m.count - m.beyond_baseline;
        within(b)
            .cmp(&within(a))
            .then(b.count.cmp(&a.count))
            .then(a.mnemonic.cmp(&b.mnemonic))
    });
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

/// What a run of instructions has shown about a coming switch jump: the
/// registers holding a table's address (`lea reg, [rip+T]`, or `mov reg, T`
/// at fixed addresses), those holding `movsxd reg, [T + idx*4]` loads or
/// their sum with T, and the bound of the index (`cmp idx, N; ja default`).
#[derive(Default)]
struct Tables {
    table: [u64; 16],
    rel_load: [u64; 16],
    target_of: [u64; 16],
    last_cmp: Option<u64>,
    bound: Option<u64>,
}

impl Tables {
    /// Follows one straight-line instruction.
    fn track(&mut self, insn: &Instruction, absolute: bool) {
        self.last_cmp = None;
        let Some(dst) = (insn.op_count() > 0 && insn.op0_kind() == OpKind::Register)
            .then(|| gpr(insn.op0_register()))
            .flatten()
        else {
            return;
        };
        let (table, rel_load, target_of) = match insn.mnemonic() {
            Mnemonic::Cmp if insn.op_count() == 2 && insn.op1_kind() != OpKind::Register => {
                if insn.op1_kind() != OpKind::Memory {
                    self.last_cmp = Some(insn.immediate(1));
                }
                return;
            }
            Mnemonic::Cmp | Mnemonic::Test => return,
            Mnemonic::Lea if insn.memory_base() == Register::RIP => {
                (insn.memory_displacement64(), 0, 0)
            }
            Mnemonic::Mov
                if absolute
                    && matches!(
                        insn.op1_kind(),
                        OpKind::Immediate32 | OpKind::Immediate32to64 | OpKind::Immediate64
                    ) =>
            {
                (insn.immediate(1), 0, 0)
            }
            Mnemonic::Movsxd
                if insn.op1_kind() == OpKind::Memory
                    && insn.memory_index_scale() == 4
                    && insn.memory_displacement64() == 0 =>
            {
                let t = gpr(insn.memory_base()).map(|b| self.table[b]).unwrap_or(0);
                (0, t, 0)
            }
            Mnemonic::Add if insn.op1_kind() == OpKind::Register => {
                // `add r, base` or `add base, r`: r then holds the target.
                let t = match gpr(insn.op1_register()) {
                    Some(s) if self.rel_load[dst] != 0 && self.table[s] == self.rel_load[dst] => {
                        self.rel_load[dst]
                    }
                    Some(s) if self.rel_load[s] != 0 && self.table[dst] == self.rel_load[s] => {
                        self.rel_load[s]
                    }
                    _ => 0,
                };
                (0, 0, t)
            }
            _ => (0, 0, 0),
        };
        self.table[dst] = table;
        self.rel_load[dst] = rel_load;
        self.target_of[dst] = target_of;
    }

    /// `ja`/`jae` after `cmp idx, N`: the table has N+1 / N entries.
    fn bound_from(&mut self, insn: &Instruction) {
        if let Some(n) = self.last_cmp.take() {
            match insn.mnemonic() {
                Mnemonic::Ja => self.bound = Some(n.saturating_add(1)),
                Mnemonic::Jae => self.bound = Some(n),
                _ => {}
            }
        }
    }

    /// The targets of an indirect jump through a switch table, if it is one:
    /// entries are read up to the index bound, while they stay in the
    /// enclosing `.eh_frame` function (or, for code without one, in the code
    /// when the bound is known).
    fn targets(
        &self,
        insn: &Instruction,
        fdes: &[(u64, u64)],
        image: &LiftedImage<'_>,
        in_text: &dyn Fn(u64) -> bool,
    ) -> Vec<u64> {
        let function = enclosing(fdes, insn.ip()).filter(|(s, l)| insn.ip() - s < *l);
        let valid = |t: u64| match function {
            Some((s, l)) => t >= s && t - s < l,
            None => in_text(t),
        };
        if function.is_none() && self.bound.is_none() {
            return Vec::new();
        }
        let count = self.bound.unwrap_or(MAX_TABLE).min(MAX_TABLE);
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
        let absolute_table = |table: u64| {
            let mut out = Vec::new();
            for i in 0..count {
                match read(table.wrapping_add(8 * i), 8) {
                    Some(t) if valid(t) => out.push(t),
                    _ => break,
                }
            }
            out
        };
        let mut out = match insn.op0_kind() {
            // jmp [T + idx*8] or jmp [base + idx*8], base = T: absolute entries.
            OpKind::Memory
                if insn.memory_index_scale() == 8 && insn.memory_index() != Register::None =>
            {
                match insn.memory_base() {
                    Register::None => absolute_table(insn.memory_displacement64()),
                    b => match gpr(b).map(|b| self.table[b]) {
                        Some(t) if t != 0 && insn.memory_displacement64() == 0 => absolute_table(t),
                        _ => Vec::new(),
                    },
                }
            }
            // jmp reg, reg = T + sext([T + idx*4]).
            OpKind::Register => {
                let table = gpr(insn.op0_register()).map_or(0, |r| self.target_of[r]);
                let mut out = Vec::new();
                if table != 0 {
                    for i in 0..count {
                        match read(table.wrapping_add(4 * i), 4) {
                            Some(e) => {
                                let t = table.wrapping_add(e as u32 as i32 as i64 as u64);
                                if !valid(t) {
                                    break;
                                }
                                out.push(t);
                            }
                            None => break,
                        }
                    }
                }
                out
            }
            _ => Vec::new(),
        };
        out.sort_unstable();
        out.dedup();
        out
    }
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
            "busybox: {} functions ({} from .eh_frame), {} instructions, {} bytes, {} indirect jumps, {} jump tables, {} pointers ({} rejected), {} outside, {} unsupported ({} beyond baseline), in {took:?}",
            d.functions,
            d.eh_frame_functions,
            d.instructions,
            d.code_bytes,
            d.indirect_jumps,
            d.jump_tables,
            d.pointer_candidates,
            d.pointers_rejected,
            d.outside,
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
        assert!(d.outside < 10, "{}", d.outside);
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
        // Calls to undefined weak functions (guarded, never made) go to
        // address 0 of the program, that is the base.
        assert!(d.outside < 10, "{}", d.outside);
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
