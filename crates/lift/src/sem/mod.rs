//! The one description of instruction semantics.
//!
//! Every covered instruction is a function generic over [`Sem`]: it reads its
//! operands, computes, writes results and flags, and transfers control only
//! through `Sem`'s operations. Those operations are the IR: a small, closed
//! vocabulary ([`BinOp`], [`UnOp`], [`FlagOp`], condition codes, loads and
//! stores, jumps, and [`Helper`] calls). The interpreter
//! ([`crate::interp::Interp`]) gives them concrete values; a translator will
//! give them WASM code. Instructions whose work is a loop or a table (string
//! instructions with `rep`, division, `cpuid`, SSE, x87) call a helper, a
//! plain function over the concrete [`Cpu`] that both executors call, as QEMU
//! does for the same instructions.
//!
//! [`handler`] maps a mnemonic to its function; [`supported`] is what the
//! builder checks for every discovered instruction. An instruction that has no
//! handler, or an operand form a handler does not cover, is
//! [`Exit::Illegal`] (SIGILL in the guest, with the address and bytes logged).

use iced_x86::{ConditionCode, EncodingKind, Instruction, Mnemonic, OpKind, Register};

use crate::cpu::Cpu;
use crate::interp::Exit;
use crate::mem::GuestMem;

pub mod int;
pub mod sse;
pub mod string;
pub mod system;
pub mod x87;

/// A helper: complex semantics over the concrete state, called by every
/// executor. It may read and write any state; control transfer is through
/// `cpu.rip` (already the next instruction's address when it is called).
pub type Helper = fn(&mut Cpu, &mut dyn GuestMem, &Instruction) -> Result<(), Exit>;

/// Two-operand operations. Operands are zero-extended values of `size` bytes;
/// the result is truncated to `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    /// a + b + CF.
    Adc,
    Sub,
    /// a - b - CF.
    Sbb,
    And,
    Or,
    Xor,
    /// Shifts and rotates: b is the count, already masked as x86 masks it.
    Shl,
    Shr,
    Sar,
    Rol,
    Ror,
    /// Rotates through CF.
    Rcl,
    Rcr,
    /// Low half of the product.
    Mul,
    /// High half of the unsigned / signed product of two `size`-byte values
    /// (`mul`/`imul`): bits `size*8 .. size*16` of the full product.
    MulHu,
    MulHs,
    /// 1 if a == b, else 0.
    Eq,
}

/// One-operand operations on a value of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Not,
    Neg,
    /// Sign-extends from `size` bytes to 64 bits.
    Sext,
    Bswap,
    Popcnt,
    /// Index of the lowest / highest set bit (the operand is not zero).
    Bsf,
    Bsr,
    /// Count of trailing / leading zero bits (`size` * 8 for zero).
    Tzcnt,
    Lzcnt,
}

/// How an instruction sets the arithmetic flags from (a, b, result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    Add,
    /// With the carry in: CF before the instruction.
    Adc,
    Sub,
    Sbb,
    /// and/or/xor/test: CF = OF = 0, AF undefined (cleared).
    Logic,
    /// inc/dec: CF unchanged.
    Inc,
    Dec,
    /// neg: a = operand, r = -a.
    Neg,
    /// Shifts: b = masked count; no flag changes when it is 0.
    Shl,
    Shr,
    Sar,
    /// Rotates: only CF and OF (OF defined for count 1); none for count 0.
    /// For `Rcl`/`Rcr`, a = operand before, b = masked count, and the carry
    /// in is CF, still unchanged when `flags` is called.
    Rol,
    Ror,
    Rcl,
    Rcr,
    /// Multiplies: CF = OF = b (1 when the high half is significant);
    /// a = high half, r = low half (or the truncated product); the flags
    /// Intel leaves undefined are set as the interpreter documents.
    Mul,
    /// `shld`/`shrd`: a = destination before, b = masked count, r = result;
    /// no flag changes when the count is 0.
    Shld,
    Shrd,
    /// `bsf`/`bsr` (and `tzcnt`/`lzcnt` on the baseline CPU, which runs them
    /// as `bsf`/`bsr`): a = source; ZF = (a == 0), the other status flags as
    /// the interpreter documents (undefined in the manuals).
    Bsf,
    Bsr,
    /// `bt`/`bts`/`btr`/`btc`: CF = b (the bit tested), the others as the
    /// interpreter documents.
    Bt,
}

/// The operations instruction semantics are written in.
pub trait Sem {
    /// A value of up to 64 bits.
    type V: Copy;

    /// The instruction being executed.
    fn insn(&self) -> &Instruction;
    /// A constant.
    fn imm(&mut self, v: u64) -> Self::V;
    /// A register's value, zero-extended (any width, `ah`..`bh` included).
    fn get(&mut self, r: Register) -> Self::V;
    /// Writes a register with x86's rules: a 32-bit write clears bits 32..63,
    /// 8- and 16-bit writes keep the other bits.
    fn set(&mut self, r: Register, v: Self::V);
    /// The base of segment `seg` (`fs`/`gs`; 0 for the others).
    fn seg_base(&mut self, seg: Register) -> Self::V;
    /// Loads `size` bytes (1, 2, 4 or 8), zero-extended.
    fn load(&mut self, addr: Self::V, size: u32) -> Result<Self::V, Exit>;
    /// Stores the low `size` bytes of `v`.
    fn store(&mut self, addr: Self::V, size: u32, v: Self::V) -> Result<(), Exit>;
    fn bin(&mut self, op: BinOp, size: u32, a: Self::V, b: Self::V) -> Self::V;
    fn un(&mut self, op: UnOp, size: u32, a: Self::V) -> Self::V;
    /// Sets the arithmetic flags as `op` does.
    fn flags(&mut self, op: FlagOp, size: u32, a: Self::V, b: Self::V, r: Self::V);
    /// 1 if condition `cc` holds on the current flags, else 0.
    fn cond(&mut self, cc: ConditionCode) -> Self::V;
    /// Reads flag bit `f` (one of [`crate::cpu::flags`]) as 0 or 1.
    fn get_flag(&mut self, f: u64) -> Self::V;
    /// Sets flag bit `f` to `v` (0 or 1).
    fn set_flag(&mut self, f: u64, v: Self::V);
    /// `c != 0 ? t : f`.
    fn select(&mut self, c: Self::V, t: Self::V, f: Self::V) -> Self::V;
    /// Continues at `target` instead of the next instruction.
    fn jump(&mut self, target: Self::V);
    /// Calls a helper.
    fn helper(&mut self, h: Helper) -> Result<(), Exit>;
}

/// The function that executes instructions with mnemonic `m`, if covered.
pub type Handler<S> = fn(&mut S) -> Result<(), Exit>;

/// The handler of `insn`, or `None` if it is not covered.
pub fn handler<S: Sem>(insn: &Instruction) -> Option<Handler<S>> {
    // Only legacy (non-VEX/EVEX/XOP/3DNow!) encodings: the CPU reported to the
    // guest has no AVX, so glibc never selects code that uses them.
    if insn.encoding() != EncodingKind::Legacy {
        return None;
    }
    // String forms first: `movsd`/`cmpsd` are also SSE mnemonics, told apart
    // by their operands.
    string::handler::<S>(insn)
        .or_else(|| int::handler::<S>(insn.mnemonic()))
        .or_else(|| system::handler::<S>(insn.mnemonic()))
        .or_else(|| sse::handler::<S>(insn.mnemonic()))
        .or_else(|| x87::handler::<S>(insn.mnemonic()))
}

/// Whether the executors cover `insn` (what the builder reports on).
pub fn supported(insn: &Instruction) -> bool {
    !insn.is_invalid() && handler::<crate::interp::Interp<'_, NoMem>>(insn).is_some()
}

/// A memory that is never used: only names a `Sem` type for [`supported`].
#[derive(Debug)]
pub struct NoMem;

impl GuestMem for NoMem {
    fn read(&mut self, addr: u64, _: &mut [u8]) -> Result<(), crate::Fault> {
        Err(crate::Fault {
            addr,
            access: crate::mem::Access::Read,
            kind: crate::FaultKind::Unmapped,
        })
    }
    fn write(&mut self, addr: u64, _: &[u8]) -> Result<(), crate::Fault> {
        Err(crate::Fault {
            addr,
            access: crate::mem::Access::Write,
            kind: crate::FaultKind::Unmapped,
        })
    }
    fn fetch(&mut self, addr: u64, _: &mut [u8; 16]) -> Result<usize, crate::Fault> {
        Err(crate::Fault {
            addr,
            access: crate::mem::Access::Exec,
            kind: crate::FaultKind::Unmapped,
        })
    }
}

// ---- Operand access, shared by the instruction families ----

/// Size in bytes of operand `n`.
pub fn op_size(insn: &Instruction, n: u32) -> u32 {
    match insn.op_kind(n) {
        OpKind::Register => insn.op_register(n).size() as u32,
        OpKind::Memory => insn.memory_size().size() as u32,
        OpKind::Immediate8 | OpKind::Immediate8_2nd => 1,
        OpKind::Immediate16 => 2,
        OpKind::Immediate32 => 4,
        OpKind::Immediate64
        | OpKind::Immediate8to64
        | OpKind::Immediate32to64
        | OpKind::NearBranch64 => 8,
        OpKind::Immediate8to16 => 2,
        OpKind::Immediate8to32 => 4,
        _ => 8,
    }
}

/// The effective address of the memory operand (segment base included).
pub fn ea<S: Sem>(s: &mut S) -> Result<S::V, Exit> {
    let insn = *s.insn();
    let a = ea_offset(s)?;
    Ok(with_segment(s, &insn, a))
}

/// The offset of the memory operand within its segment (what `lea` gives).
pub fn ea_offset<S: Sem>(s: &mut S) -> Result<S::V, Exit> {
    let insn = *s.insn();
    let base = insn.memory_base();
    if base == Register::RIP {
        // iced has already added the next instruction's address.
        return Ok(s.imm(insn.memory_displacement64()));
    }
    if insn.memory_displ_size() > 0 && base == Register::EIP {
        return Err(Exit::Illegal);
    }
    let mut a = s.imm(insn.memory_displacement64());
    if base != Register::None {
        let b = s.get(base);
        a = s.bin(BinOp::Add, 8, a, b);
    }
    let index = insn.memory_index();
    if index != Register::None {
        let i = s.get(index);
        let scale = insn.memory_index_scale() as u64;
        let k = s.imm(scale);
        let scaled = s.bin(BinOp::Mul, 8, i, k);
        a = s.bin(BinOp::Add, 8, a, scaled);
    }
    if base.size() == 4 || index.size() == 4 {
        // 32-bit address size (0x67 prefix): the address wraps at 4 GiB.
        let mask = s.imm(0xffff_ffff);
        a = s.bin(BinOp::And, 8, a, mask);
    }
    Ok(a)
}

fn with_segment<S: Sem>(s: &mut S, insn: &Instruction, a: S::V) -> S::V {
    match insn.segment_prefix() {
        Register::FS | Register::GS => {
            let b = s.seg_base(insn.segment_prefix());
            s.bin(BinOp::Add, 8, a, b)
        }
        _ => a,
    }
}

/// Reads operand `n` (register, memory or immediate), zero-extended from its
/// size. Immediates come sign-extended to the operand size, as iced gives them.
pub fn read<S: Sem>(s: &mut S, n: u32) -> Result<S::V, Exit> {
    let insn = *s.insn();
    match insn.op_kind(n) {
        OpKind::Register => Ok(s.get(insn.op_register(n))),
        OpKind::Memory => {
            let a = ea(s)?;
            s.load(a, op_size(&insn, n))
        }
        OpKind::Immediate8
        | OpKind::Immediate8_2nd
        | OpKind::Immediate16
        | OpKind::Immediate32
        | OpKind::Immediate64
        | OpKind::Immediate8to16
        | OpKind::Immediate8to32
        | OpKind::Immediate8to64
        | OpKind::Immediate32to64 => {
            let size = op_size(&insn, n);
            let v = insn.immediate(n) & mask(size);
            Ok(s.imm(v))
        }
        OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64 => {
            Ok(s.imm(insn.near_branch_target()))
        }
        _ => Err(Exit::Illegal),
    }
}

/// Writes `v` to operand `n` (register or memory).
pub fn write<S: Sem>(s: &mut S, n: u32, v: S::V) -> Result<(), Exit> {
    let insn = *s.insn();
    match insn.op_kind(n) {
        OpKind::Register => {
            s.set(insn.op_register(n), v);
            Ok(())
        }
        OpKind::Memory => {
            let a = ea(s)?;
            s.store(a, op_size(&insn, n), v)
        }
        _ => Err(Exit::Illegal),
    }
}

/// All-ones mask of `size` bytes.
pub const fn mask(size: u32) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (size * 8)) - 1
    }
}

/// Pushes `v` (`size` bytes) on the stack.
pub fn push<S: Sem>(s: &mut S, size: u32, v: S::V) -> Result<(), Exit> {
    let sp = s.get(Register::RSP);
    let k = s.imm(size as u64);
    let nsp = s.bin(BinOp::Sub, 8, sp, k);
    s.store(nsp, size, v)?;
    s.set(Register::RSP, nsp);
    Ok(())
}

/// Pops `size` bytes from the stack.
pub fn pop<S: Sem>(s: &mut S, size: u32) -> Result<S::V, Exit> {
    let sp = s.get(Register::RSP);
    let v = s.load(sp, size)?;
    let k = s.imm(size as u64);
    let nsp = s.bin(BinOp::Add, 8, sp, k);
    s.set(Register::RSP, nsp);
    Ok(v)
}

/// `Mnemonic` is re-exported for the families' tables.
pub type M = Mnemonic;
