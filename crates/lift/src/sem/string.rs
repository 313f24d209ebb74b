//! String instructions (`movs`, `stos`, `lods`, `cmps`, `scas` in byte, word,
//! doubleword and quadword sizes, with `rep`, `repe`, `repne` and either
//! direction): one helper, [`string_op`], since with a prefix each is a loop.
//!
//! Only 64-bit addressing (rsi/rdi/rcx) is covered; the 0x67 forms (esi/edi/
//! ecx) are [`Exit::Illegal`]. A source segment override (`fs:`/`gs:`) adds
//! its base. A fault in the middle of a `rep` leaves rsi, rdi and rcx at the
//! element that faulted, with rip at the instruction, so it restarts as on
//! the processor.

use iced_x86::{Instruction, Mnemonic, OpKind, Register};

use super::{Handler, M, Sem, mask};
use crate::cpu::{Cpu, flags, gpr};
use crate::interp::{Exit, set_flags};
use crate::mem::GuestMem;
use crate::sem::FlagOp;

/// Whether `insn` is a string instruction form (`movsd` and `cmpsd` are also
/// SSE mnemonics; their string forms have string operands).
fn is_string_form(insn: &Instruction) -> bool {
    (0..insn.op_count()).any(|n| {
        matches!(
            insn.op_kind(n),
            OpKind::MemorySegSI
                | OpKind::MemorySegESI
                | OpKind::MemorySegRSI
                | OpKind::MemoryESDI
                | OpKind::MemoryESEDI
                | OpKind::MemoryESRDI
        )
    })
}

pub fn handler<S: Sem>(insn: &Instruction) -> Option<Handler<S>> {
    let m = insn.mnemonic();
    let covered = matches!(
        m,
        M::Movsb
            | M::Movsw
            | M::Movsd
            | M::Movsq
            | M::Stosb
            | M::Stosw
            | M::Stosd
            | M::Stosq
            | M::Lodsb
            | M::Lodsw
            | M::Lodsd
            | M::Lodsq
            | M::Cmpsb
            | M::Cmpsw
            | M::Cmpsd
            | M::Cmpsq
            | M::Scasb
            | M::Scasw
            | M::Scasd
            | M::Scasq
    );
    if covered && is_string_form(insn) {
        Some(|s: &mut S| s.helper(string_op))
    } else {
        None
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Movs,
    Stos,
    Lods,
    Cmps,
    Scas,
}

fn kind_and_size(m: Mnemonic) -> Option<(Kind, u32)> {
    Some(match m {
        M::Movsb => (Kind::Movs, 1),
        M::Movsw => (Kind::Movs, 2),
        M::Movsd => (Kind::Movs, 4),
        M::Movsq => (Kind::Movs, 8),
        M::Stosb => (Kind::Stos, 1),
        M::Stosw => (Kind::Stos, 2),
        M::Stosd => (Kind::Stos, 4),
        M::Stosq => (Kind::Stos, 8),
        M::Lodsb => (Kind::Lods, 1),
        M::Lodsw => (Kind::Lods, 2),
        M::Lodsd => (Kind::Lods, 4),
        M::Lodsq => (Kind::Lods, 8),
        M::Cmpsb => (Kind::Cmps, 1),
        M::Cmpsw => (Kind::Cmps, 2),
        M::Cmpsd => (Kind::Cmps, 4),
        M::Cmpsq => (Kind::Cmps, 8),
        M::Scasb => (Kind::Scas, 1),
        M::Scasw => (Kind::Scas, 2),
        M::Scasd => (Kind::Scas, 4),
        M::Scasq => (Kind::Scas, 8),
        _ => return None,
    })
}

/// Bytes moved per block by the fast paths of `rep movs`/`rep stos`.
const BLOCK: usize = 512;

/// The string instruction helper: one element, or the whole `rep` loop.
pub fn string_op(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> Result<(), Exit> {
    let Some((kind, size)) = kind_and_size(insn.mnemonic()) else {
        return Err(Exit::Illegal);
    };
    let addr64 = (0..insn.op_count()).all(|n| {
        !matches!(
            insn.op_kind(n),
            OpKind::MemorySegSI | OpKind::MemorySegESI | OpKind::MemoryESDI | OpKind::MemoryESEDI
        )
    });
    if !addr64 {
        return Err(Exit::Illegal);
    }
    let src_base = match insn.segment_prefix() {
        Register::FS => cpu.fs_base,
        Register::GS => cpu.gs_base,
        _ => 0,
    };
    // F2 on movs/stos/lods acts as rep on the processors; on cmps/scas F3
    // is repe and F2 repne.
    let rep = insn.has_rep_prefix() || insn.has_repne_prefix();
    let until_zf = match kind {
        Kind::Cmps | Kind::Scas if insn.has_repe_prefix() => Some(false),
        Kind::Cmps | Kind::Scas if insn.has_repne_prefix() => Some(true),
        _ => None,
    };
    let back = cpu.flag(flags::DF);
    if rep && !back && matches!(kind, Kind::Movs | Kind::Stos) {
        fast_forward(cpu, mem, kind, size, src_base)?;
    }
    loop {
        if rep && cpu.gpr[gpr::RCX] == 0 {
            return Ok(());
        }
        one(cpu, mem, kind, size, src_base, back)?;
        if !rep {
            return Ok(());
        }
        cpu.gpr[gpr::RCX] = cpu.gpr[gpr::RCX].wrapping_sub(1);
        if let Some(stop_on) = until_zf
            && cpu.flag(flags::ZF) == stop_on
        {
            return Ok(());
        }
    }
}

fn load(mem: &mut dyn GuestMem, addr: u64, size: u32) -> Result<u64, Exit> {
    let mut b = [0u8; 8];
    mem.read(addr, &mut b[..size as usize])?;
    Ok(u64::from_le_bytes(b))
}

fn store(mem: &mut dyn GuestMem, addr: u64, size: u32, v: u64) -> Result<(), Exit> {
    mem.write(addr, &v.to_le_bytes()[..size as usize])?;
    Ok(())
}

/// One element, registers advanced after it completes.
fn one(
    cpu: &mut Cpu,
    mem: &mut dyn GuestMem,
    kind: Kind,
    size: u32,
    src_base: u64,
    back: bool,
) -> Result<(), Exit> {
    let rsi = cpu.gpr[gpr::RSI];
    let rdi = cpu.gpr[gpr::RDI];
    let m = mask(size);
    let (src, dst) = (rsi.wrapping_add(src_base), rdi);
    let (adv_si, adv_di) = match kind {
        Kind::Movs => {
            let v = load(mem, src, size)?;
            store(mem, dst, size, v)?;
            (true, true)
        }
        Kind::Stos => {
            store(mem, dst, size, cpu.gpr[gpr::RAX])?;
            (false, true)
        }
        Kind::Lods => {
            let v = load(mem, src, size)?;
            let g = &mut cpu.gpr[gpr::RAX];
            *g = match size {
                4 | 8 => v,
                _ => (*g & !m) | v,
            };
            (true, false)
        }
        Kind::Cmps => {
            let a = load(mem, src, size)?;
            let b = load(mem, dst, size)?;
            set_flags(cpu, FlagOp::Sub, size, a, b, a.wrapping_sub(b) & m);
            (true, true)
        }
        Kind::Scas => {
            let a = cpu.gpr[gpr::RAX] & m;
            let b = load(mem, dst, size)?;
            set_flags(cpu, FlagOp::Sub, size, a, b, a.wrapping_sub(b) & m);
            (false, true)
        }
    };
    let step = if back {
        (size as u64).wrapping_neg()
    } else {
        size as u64
    };
    if adv_si {
        cpu.gpr[gpr::RSI] = rsi.wrapping_add(step);
    }
    if adv_di {
        cpu.gpr[gpr::RDI] = rdi.wrapping_add(step);
    }
    Ok(())
}

/// `rep movs`/`rep stos` upwards in blocks. Stops early (leaving the rest to
/// the element loop) at a block that would fault, so a fault is reported at
/// its exact element; a block of `movs` never reads bytes an earlier element
/// of the same block writes.
fn fast_forward(
    cpu: &mut Cpu,
    mem: &mut dyn GuestMem,
    kind: Kind,
    size: u32,
    src_base: u64,
) -> Result<(), Exit> {
    let mut buf = [0u8; BLOCK];
    let per = BLOCK / size as usize;
    if kind == Kind::Stos {
        let v = cpu.gpr[gpr::RAX].to_le_bytes();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = v[i % size as usize];
        }
    }
    while cpu.gpr[gpr::RCX] > 1 {
        let rcx = cpu.gpr[gpr::RCX];
        let mut n = (rcx.min(per as u64)) as usize;
        let src = cpu.gpr[gpr::RSI].wrapping_add(src_base);
        let dst = cpu.gpr[gpr::RDI];
        if kind == Kind::Movs {
            let gap = dst.wrapping_sub(src);
            if gap != 0 && gap < (n * size as usize) as u64 {
                // dst overlaps ahead of src: elements must see earlier
                // elements' writes; a block may hold at most `gap` bytes.
                n = n.min((gap / size as u64) as usize);
                if n < 2 {
                    return Ok(());
                }
            }
        }
        let len = n * size as usize;
        if kind == Kind::Movs && mem.read(src, &mut buf[..len]).is_err() {
            return Ok(());
        }
        if mem.write(dst, &buf[..len]).is_err() {
            return Ok(());
        }
        let bytes = len as u64;
        if kind == Kind::Movs {
            cpu.gpr[gpr::RSI] = cpu.gpr[gpr::RSI].wrapping_add(bytes);
        }
        cpu.gpr[gpr::RDI] = dst.wrapping_add(bytes);
        cpu.gpr[gpr::RCX] = rcx - n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! String instructions natively and in the interpreter, on a shared
    //! buffer, with random counts, overlapping pointers and both directions.

    use super::*;
    use crate::interp::testing::{Regs, Rng, VecMem, check, native, run_bytes};

    const N: usize = 2000;

    fn prep(rng: &mut Rng, r: &mut Regs, base: u64) {
        r.rsi = base + 400 + rng.next() % 64;
        r.rdi = base + 400 + rng.next() % 64;
        r.rcx = rng.next() % 40;
        if rng.next().is_multiple_of(2) {
            r.flags |= flags::DF;
        }
        if rng.next().is_multiple_of(4) {
            // Often a value that occurs in the buffer, for scas.
            r.rax = 0;
        }
    }

    fn diff(name: &str, f: crate::interp::testing::Native) {
        check(name, f, flags::STATUS | flags::DF, N, 0xabc, 1024, &prep);
    }

    #[test]
    fn moves_and_stores() {
        diff("movsb", native!("movsb"));
        diff("movsq", native!("movsq"));
        diff("rep movsb", native!("rep movsb"));
        diff("rep movsw", native!("rep movsw"));
        diff("rep movsd", native!("rep movsd"));
        diff("rep movsq", native!("rep movsq"));
        diff("stosb", native!("stosb"));
        diff("rep stosb", native!("rep stosb"));
        diff("rep stosd", native!("rep stosd"));
        diff("rep stosq", native!("rep stosq"));
        diff("lodsb", native!("lodsb"));
        diff("lodsd", native!("lodsd"));
        diff("rep lodsw", native!("rep lodsw"));
    }

    #[test]
    fn compares_and_scans() {
        diff("cmpsb", native!("cmpsb"));
        diff("cmpsq", native!("cmpsq"));
        diff("repe cmpsb", native!("repe cmpsb"));
        diff("repne cmpsb", native!("repne cmpsb"));
        diff("repe cmpsd", native!("repe cmpsd"));
        diff("scasb", native!("scasb"));
        diff("repne scasb", native!("repne scasb"));
        diff("repe scasb", native!("repe scasb"));
        diff("repne scasw", native!("repne scasw"));
        diff("repe scasq", native!("repe scasq"));
    }

    /// A long copy whose source is equal to the destination plus a little
    /// (and the other way): the block path must act element by element.
    #[test]
    fn overlapping_long_copies() {
        let long = |rng: &mut Rng, r: &mut Regs, base: u64| {
            r.rsi = base + 8 + rng.next() % 40;
            r.rdi = base + 8 + rng.next() % 40;
            r.rcx = 1500 + rng.next() % 500;
            r.flags &= !flags::DF;
        };
        let f = flags::STATUS | flags::DF;
        check("long movsb", native!("rep movsb"), f, 300, 7, 4096, &long);
        check("long movsd", native!("rep movsd"), f, 300, 7, 8192, &long);
        check("long stosq", native!("rep stosq"), f, 300, 7, 16384, &long);
    }

    /// A fault in the middle of `rep movsb` stops at the faulting element
    /// with the registers there and rip at the instruction.
    #[test]
    fn fault_stops_at_the_element() {
        let mut mem = VecMem::default();
        mem.map(0x10000, vec![7; 2000]);
        mem.map(0x20000, vec![0; 600]);
        let mut cpu = Regs {
            rsi: 0x10000,
            rdi: 0x20000,
            rcx: 1000,
            ..Regs::default()
        }
        .to_cpu();
        let res = run_bytes(&[0xf3, 0xa4], 0x1000, &mut cpu, &mut mem);
        assert!(matches!(res, Err(Exit::Fault(f)) if f.addr == 0x20000 + 600));
        assert_eq!(cpu.gpr[gpr::RCX], 400);
        assert_eq!(cpu.gpr[gpr::RSI], 0x10000 + 600);
        assert_eq!(cpu.gpr[gpr::RDI], 0x20000 + 600);
        assert_eq!(cpu.rip, 0x1000);
        assert_eq!(mem.bytes(0x20000, 600), vec![7; 600]);
    }

    /// The SSE `movsd`/`cmpsd` are not string instructions.
    #[test]
    fn sse_forms_are_not_claimed() {
        let movsd = crate::decode::decode_at(0, &[0xf2, 0x0f, 0x10, 0xc1]);
        assert!(handler::<crate::interp::Interp<'_, VecMem>>(&movsd).is_none());
        let movsd = crate::decode::decode_at(0, &[0xa5]);
        assert!(handler::<crate::interp::Interp<'_, VecMem>>(&movsd).is_some());
    }

    /// 32-bit addressing (0x67) is not covered.
    #[test]
    fn address_size_prefix_is_illegal() {
        let mut mem = VecMem::default();
        let mut cpu = Regs::default().to_cpu();
        let res = run_bytes(&[0x67, 0xf3, 0xa4], 0x1000, &mut cpu, &mut mem);
        assert_eq!(res, Err(Exit::Illegal));
    }
}
