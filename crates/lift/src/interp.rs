//! The interpreter: [`Sem`] with concrete values, and the execution loop.
//!
//! Flags are computed eagerly after each flag-setting operation. The loop
//! returns at every `syscall` (with `rip` past it), so the caller (the guest
//! runtime) forwards the call and resumes with the state in memory; on any
//! other stop `rip` is the address of the instruction that stopped.

use iced_x86::{ConditionCode, Instruction, Register};

use crate::cpu::{Cpu, flags};
use crate::decode::CodeCache;
use crate::mem::{Fault, GuestMem};
use crate::sem::{self, BinOp, FlagOp, Helper, Sem, UnOp, mask};

/// Why the loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// A `syscall` instruction: `rip` is past it; the caller does the call,
    /// sets `rax` (and `rcx` = `rip`, `r11` = `rflags`, as Linux does).
    Syscall,
    /// A memory access the guest may not make (SIGSEGV).
    Fault(Fault),
    /// An instruction that is invalid or not covered (SIGILL).
    Illegal,
    /// Division by zero or a quotient that does not fit (SIGFPE).
    Divide,
    /// `int3` (SIGTRAP).
    Breakpoint,
    /// A privileged instruction (`hlt`, `in`, `out`, ...): SIGSEGV, as Linux
    /// delivers a general protection fault in user mode.
    Privileged,
    /// The step budget given to [`run`] ran out.
    Limit,
}

impl From<Fault> for Exit {
    fn from(f: Fault) -> Self {
        Exit::Fault(f)
    }
}

/// The interpreter's [`Sem`]: one instruction in flight.
pub struct Interp<'a, M: GuestMem + ?Sized> {
    pub cpu: &'a mut Cpu,
    pub mem: &'a mut M,
    insn: Instruction,
}

impl<'a, M: GuestMem + ?Sized> Interp<'a, M> {
    pub fn new(cpu: &'a mut Cpu, mem: &'a mut M, insn: Instruction) -> Self {
        Interp { cpu, mem, insn }
    }
}

/// Index of a general-purpose register in [`Cpu::gpr`], and whether it is one
/// of `ah`, `ch`, `dh`, `bh`.
fn gpr_index(r: Register) -> Option<(usize, bool)> {
    match r {
        Register::AH => Some((0, true)),
        Register::CH => Some((1, true)),
        Register::DH => Some((2, true)),
        Register::BH => Some((3, true)),
        _ if r.is_gpr() => Some((r.full_register() as usize - Register::RAX as usize, false)),
        _ => None,
    }
}

fn sign_bit(size: u32) -> u64 {
    1u64 << (size * 8 - 1)
}

fn parity(v: u64) -> bool {
    (v as u8).count_ones().is_multiple_of(2)
}

impl<M: GuestMem + AsDynMem + ?Sized> Sem for Interp<'_, M> {
    type V = u64;

    fn insn(&self) -> &Instruction {
        &self.insn
    }

    fn imm(&mut self, v: u64) -> u64 {
        v
    }

    fn get(&mut self, r: Register) -> u64 {
        match gpr_index(r) {
            Some((i, true)) => (self.cpu.gpr[i] >> 8) & 0xff,
            Some((i, false)) => self.cpu.gpr[i] & mask(r.size() as u32),
            None => match r {
                Register::FS
                | Register::GS
                | Register::CS
                | Register::DS
                | Register::ES
                | Register::SS => 0,
                _ => 0,
            },
        }
    }

    fn set(&mut self, r: Register, v: u64) {
        match gpr_index(r) {
            Some((i, true)) => {
                self.cpu.gpr[i] = (self.cpu.gpr[i] & !0xff00) | ((v & 0xff) << 8);
            }
            Some((i, false)) => {
                let g = &mut self.cpu.gpr[i];
                *g = match r.size() {
                    8 => v,
                    4 => v & 0xffff_ffff,
                    2 => (*g & !0xffff) | (v & 0xffff),
                    _ => (*g & !0xff) | (v & 0xff),
                };
            }
            None => {}
        }
    }

    fn seg_base(&mut self, seg: Register) -> u64 {
        match seg {
            Register::FS => self.cpu.fs_base,
            Register::GS => self.cpu.gs_base,
            _ => 0,
        }
    }

    fn load(&mut self, addr: u64, size: u32) -> Result<u64, Exit> {
        if size > 8 {
            // Not a scalar: a handler was given an operand it does not cover.
            return Err(Exit::Illegal);
        }
        let mut b = [0u8; 8];
        self.mem.read(addr, &mut b[..size as usize])?;
        Ok(u64::from_le_bytes(b))
    }

    fn store(&mut self, addr: u64, size: u32, v: u64) -> Result<(), Exit> {
        if size > 8 {
            return Err(Exit::Illegal);
        }
        let b = v.to_le_bytes();
        self.mem.write(addr, &b[..size as usize])?;
        Ok(())
    }

    fn bin(&mut self, op: BinOp, size: u32, a: u64, b: u64) -> u64 {
        let m = mask(size);
        let bits = size * 8;
        let cf = self.cpu.flag(flags::CF) as u64;
        let r = match op {
            BinOp::Add => a.wrapping_add(b),
            BinOp::Adc => a.wrapping_add(b).wrapping_add(cf),
            BinOp::Sub => a.wrapping_sub(b),
            BinOp::Sbb => a.wrapping_sub(b).wrapping_sub(cf),
            BinOp::And => a & b,
            BinOp::Or => a | b,
            BinOp::Xor => a ^ b,
            BinOp::Shl => {
                if b >= 64 {
                    0
                } else {
                    a << b
                }
            }
            BinOp::Shr => {
                if b >= 64 {
                    0
                } else {
                    (a & m) >> b
                }
            }
            BinOp::Sar => {
                let s = sext(a, size) as i64;
                (s >> b.min(63)) as u64
            }
            BinOp::Rol => {
                let c = (b % bits as u64) as u32;
                let a = a & m;
                if c == 0 {
                    a
                } else {
                    (a << c) | (a >> (bits - c))
                }
            }
            BinOp::Ror => {
                let c = (b % bits as u64) as u32;
                let a = a & m;
                if c == 0 {
                    a
                } else {
                    (a >> c) | (a << (bits - c))
                }
            }
            BinOp::Rcl => {
                // Rotate the (bits + 1)-bit value CF:a left by b.
                let n = bits + 1;
                let c = (b % n as u64) as u32;
                let wide = ((cf as u128) << bits) | (a & m) as u128;
                let rot = if c == 0 {
                    wide
                } else {
                    (wide << c | wide >> (n - c)) & ((1u128 << n) - 1)
                };
                rot as u64
            }
            BinOp::Rcr => {
                let n = bits + 1;
                let c = (b % n as u64) as u32;
                let wide = ((cf as u128) << bits) | (a & m) as u128;
                let rot = if c == 0 {
                    wide
                } else {
                    (wide >> c | wide << (n - c)) & ((1u128 << n) - 1)
                };
                rot as u64
            }
            BinOp::Mul => a.wrapping_mul(b),
            BinOp::MulHu => {
                let p = (a & m) as u128 * (b & m) as u128;
                (p >> bits) as u64
            }
            BinOp::MulHs => {
                let p = sext(a, size) as i64 as i128 * sext(b, size) as i64 as i128;
                (p >> bits) as u64
            }
            BinOp::Eq => ((a & m) == (b & m)) as u64,
        };
        r & m
    }

    fn un(&mut self, op: UnOp, size: u32, a: u64) -> u64 {
        let m = mask(size);
        let a = a & m;
        let bits = size * 8;
        match op {
            UnOp::Not => !a & m,
            UnOp::Neg => a.wrapping_neg() & m,
            UnOp::Sext => sext(a, size),
            UnOp::Bswap => match size {
                8 => a.swap_bytes(),
                4 => (a as u32).swap_bytes() as u64,
                // bswap of a 16-bit register is undefined; hardware gives 0.
                _ => 0,
            },
            UnOp::Popcnt => a.count_ones() as u64,
            // Total: 0 for a zero source, which the handlers do not use.
            UnOp::Bsf => {
                if a == 0 {
                    0
                } else {
                    a.trailing_zeros() as u64
                }
            }
            UnOp::Bsr => {
                if a == 0 {
                    0
                } else {
                    63 - a.leading_zeros() as u64
                }
            }
            UnOp::Tzcnt => {
                if a == 0 {
                    bits as u64
                } else {
                    a.trailing_zeros() as u64
                }
            }
            UnOp::Lzcnt => {
                if a == 0 {
                    bits as u64
                } else {
                    (a.leading_zeros() - (64 - bits)) as u64
                }
            }
        }
    }

    fn flags(&mut self, op: FlagOp, size: u32, a: u64, b: u64, r: u64) {
        set_flags(self.cpu, op, size, a, b, r);
    }

    fn cond(&mut self, cc: ConditionCode) -> u64 {
        let f = |b| self.cpu.flag(b);
        let v = match cc {
            ConditionCode::None => true,
            ConditionCode::o => f(flags::OF),
            ConditionCode::no => !f(flags::OF),
            ConditionCode::b => f(flags::CF),
            ConditionCode::ae => !f(flags::CF),
            ConditionCode::e => f(flags::ZF),
            ConditionCode::ne => !f(flags::ZF),
            ConditionCode::be => f(flags::CF) || f(flags::ZF),
            ConditionCode::a => !f(flags::CF) && !f(flags::ZF),
            ConditionCode::s => f(flags::SF),
            ConditionCode::ns => !f(flags::SF),
            ConditionCode::p => f(flags::PF),
            ConditionCode::np => !f(flags::PF),
            ConditionCode::l => f(flags::SF) != f(flags::OF),
            ConditionCode::ge => f(flags::SF) == f(flags::OF),
            ConditionCode::le => f(flags::ZF) || f(flags::SF) != f(flags::OF),
            ConditionCode::g => !f(flags::ZF) && f(flags::SF) == f(flags::OF),
        };
        v as u64
    }

    fn get_flag(&mut self, f: u64) -> u64 {
        self.cpu.flag(f) as u64
    }

    fn set_flag(&mut self, f: u64, v: u64) {
        self.cpu.set_flag(f, v != 0);
    }

    fn select(&mut self, c: u64, t: u64, f: u64) -> u64 {
        if c != 0 { t } else { f }
    }

    fn jump(&mut self, target: u64) {
        self.cpu.rip = target;
    }

    fn helper(&mut self, h: Helper) -> Result<(), Exit> {
        let insn = self.insn;
        h(self.cpu, self.mem.as_dyn(), &insn)
    }
}

/// Sets the arithmetic flags of `cpu` as `op` does (see [`FlagOp`]) from the
/// operands `a`, `b` and result `r` of `size` bytes. Shared by the
/// interpreter's [`Sem::flags`] and by helpers (string compares).
///
/// Flags the manuals leave undefined are set as the Intel processor the
/// differential tests run on (family 6 model 0xcf, a Xeon of 2023) sets them,
/// measured by the native-against-interpreter tests in `sem::int`:
/// - and/or/xor/test: AF cleared;
/// - shl/shr/sar/shld/shrd (count != 0): AF cleared; OF, for every count,
///   as the first one-bit shift sets it (shl: msb(a) ^ bit(n-2, a); shr:
///   msb(a); sar: 0; shld: as shl; shrd: msb(a) ^ lsb(source));
/// - rol/ror/rcl/rcr (count != 0): OF, for every count, as the first one-bit
///   rotate sets it; rcl/rcr of 8- and 16-bit operands by a multiple of 9 /
///   17 change no flag at all;
/// - mul/imul: SF and PF from the low half, ZF and AF cleared;
/// - bsf/bsr: ZF from the source; PF from the index (as if 0 for a zero
///   source); CF, OF, SF, AF cleared;
/// - bt/bts/btr/btc: only CF changes;
/// - div/idiv: no flag changes.
pub fn set_flags(cpu: &mut Cpu, op: FlagOp, size: u32, a: u64, b: u64, r: u64) {
    let m = mask(size);
    let bits = size * 8;
    let (a, b, r) = (a & m, b & m, r & m);
    let sb = sign_bit(size);
    let old_cf = cpu.flag(flags::CF);
    // The common case: CF, OF, AF given; ZF, SF, PF from r.
    let set = |cpu: &mut Cpu, cf: bool, of: bool, af: bool| {
        let mut f = cpu.rflags & !flags::STATUS;
        f |= cf as u64 * flags::CF;
        f |= of as u64 * flags::OF;
        f |= af as u64 * flags::AF;
        f |= (r == 0) as u64 * flags::ZF;
        f |= (r & sb != 0) as u64 * flags::SF;
        f |= parity(r) as u64 * flags::PF;
        cpu.rflags = f;
    };
    match op {
        FlagOp::Add | FlagOp::Adc => {
            let cin = op == FlagOp::Adc && old_cf;
            let cf = r < a || (cin && r == a);
            let of = (a ^ r) & (b ^ r) & sb != 0;
            set(cpu, cf, of, (a ^ b ^ r) & 0x10 != 0);
        }
        FlagOp::Sub | FlagOp::Sbb => {
            let cin = (op == FlagOp::Sbb && old_cf) as u128;
            let cf = (a as u128) < (b as u128) + cin;
            let of = (a ^ b) & (a ^ r) & sb != 0;
            set(cpu, cf, of, (a ^ b ^ r) & 0x10 != 0);
        }
        FlagOp::Logic => set(cpu, false, false, false),
        FlagOp::Inc => set(cpu, old_cf, r == sb, (a ^ 1 ^ r) & 0x10 != 0),
        FlagOp::Dec => set(cpu, old_cf, a == sb, (a ^ 1 ^ r) & 0x10 != 0),
        FlagOp::Neg => set(cpu, a != 0, a == sb, (a ^ r) & 0x10 != 0),
        FlagOp::Shl | FlagOp::Shr | FlagOp::Sar => {
            if b == 0 {
                return;
            }
            let bits = bits as u64;
            // The last bit shifted out (0 once the count passes the width,
            // the sign for sar), as the hardware's iterated shift gives it.
            let cf = match op {
                FlagOp::Shl => b <= bits && (a >> (bits - b)) & 1 != 0,
                FlagOp::Shr => b <= bits && (a >> (b - 1)) & 1 != 0,
                _ => (sext(a, size) as i64 >> (b - 1).min(63)) & 1 != 0,
            };
            // OF as the first one-bit step sets it, whatever the count.
            let of = match op {
                FlagOp::Shl => (a ^ (a << 1)) & sb != 0,
                FlagOp::Shr => a & sb != 0,
                _ => false,
            };
            set(cpu, cf, of, false);
        }
        FlagOp::Shld | FlagOp::Shrd => {
            if b == 0 {
                return;
            }
            let bits = bits as u64;
            let cf = match op {
                FlagOp::Shld => b <= bits && (a >> (bits - b)) & 1 != 0,
                _ => b <= bits && (a >> (b - 1)) & 1 != 0,
            };
            // OF as the first one-bit step sets it. For shrd that depends on
            // the source's low bit: the handler sets OF itself afterwards.
            let of = (a ^ (a << 1)) & sb != 0;
            set(cpu, cf, of, false);
        }
        FlagOp::Rol | FlagOp::Ror | FlagOp::Rcl | FlagOp::Rcr => {
            if b == 0 {
                return;
            }
            // OF as the first one-bit rotate sets it, whatever the count.
            let (cf, of) = match op {
                FlagOp::Rol => (r & 1 != 0, (a ^ (a << 1)) & sb != 0),
                FlagOp::Ror => (r & sb != 0, (a & 1 != 0) != (a & sb != 0)),
                _ => {
                    // Rotate the (bits + 1)-bit value CF:a; the new CF is
                    // its top bit. A rotation by a multiple of bits + 1
                    // (8- and 16-bit operands) changes no flag.
                    let n = bits + 1;
                    let c = (b % n as u64) as u32;
                    if c == 0 {
                        return;
                    }
                    let wide = ((old_cf as u128) << bits) | a as u128;
                    let rot = if op == FlagOp::Rcl {
                        (wide << c | wide >> (n - c)) & ((1u128 << n) - 1)
                    } else {
                        (wide >> c | wide << (n - c)) & ((1u128 << n) - 1)
                    };
                    let cf = (rot >> bits) & 1 != 0;
                    let of = if op == FlagOp::Rcl {
                        (a ^ (a << 1)) & sb != 0
                    } else {
                        (a & sb != 0) != old_cf
                    };
                    (cf, of)
                }
            };
            let keep = cpu.rflags & !(flags::CF | flags::OF);
            cpu.rflags = keep | (cf as u64 * flags::CF) | (of as u64 * flags::OF);
        }
        FlagOp::Mul => {
            // SF and PF from the low half, ZF and AF cleared.
            let hi = b != 0;
            set(cpu, hi, hi, false);
            cpu.rflags &= !flags::ZF;
        }
        FlagOp::Bsf | FlagOp::Bsr => {
            // ZF from the source; PF from the index (from 0 for a zero
            // source); CF, OF, SF, AF cleared.
            let idx = if a == 0 { 0 } else { r };
            let mut f = cpu.rflags & !flags::STATUS;
            f |= (a == 0) as u64 * flags::ZF;
            f |= parity(idx) as u64 * flags::PF;
            cpu.rflags = f;
        }
        FlagOp::Bt => cpu.set_flag(flags::CF, b != 0),
    }
}

/// Sign-extends the low `size` bytes of `v`.
pub fn sext(v: u64, size: u32) -> u64 {
    match size {
        1 => v as u8 as i8 as i64 as u64,
        2 => v as u16 as i16 as i64 as u64,
        4 => v as u32 as i32 as i64 as u64,
        _ => v,
    }
}

/// `&mut M` as `&mut dyn GuestMem`, for helpers, also when `M` is unsized.
pub trait AsDynMem {
    fn as_dyn(&mut self) -> &mut dyn GuestMem;
}

impl<T: GuestMem> AsDynMem for T {
    fn as_dyn(&mut self) -> &mut dyn GuestMem {
        self
    }
}

impl AsDynMem for dyn GuestMem + '_ {
    fn as_dyn(&mut self) -> &mut dyn GuestMem {
        self
    }
}

/// Executes one decoded instruction. `cpu.rip` must be its address; on
/// success `cpu.rip` is the next instruction's, on any error it is unchanged
/// (still this instruction), except for [`Exit::Syscall`], which is success
/// with `rip` past the `syscall`.
pub fn step<M: GuestMem + AsDynMem + ?Sized>(
    cpu: &mut Cpu,
    mem: &mut M,
    insn: &Instruction,
) -> Result<(), Exit> {
    let Some(h) = sem::handler::<Interp<'_, M>>(insn) else {
        return Err(Exit::Illegal);
    };
    let here = cpu.rip;
    cpu.rip = insn.next_ip();
    let mut s = Interp::new(cpu, mem, *insn);
    match h(&mut s) {
        Ok(()) => Ok(()),
        Err(Exit::Syscall) => Err(Exit::Syscall),
        Err(e) => {
            s.cpu.rip = here;
            Err(e)
        }
    }
}

/// Runs from `cpu.rip` until a syscall, a fault, an instruction not covered,
/// or `budget` instructions.
pub fn run<M: GuestMem + AsDynMem + ?Sized>(
    cpu: &mut Cpu,
    mem: &mut M,
    code: &mut CodeCache,
    budget: u64,
) -> Exit {
    for _ in 0..budget {
        let insn = match code.get(mem, cpu.rip) {
            Ok(i) => i,
            Err(f) => return Exit::Fault(f),
        };
        if let Err(e) = step(cpu, mem, &insn) {
            return e;
        }
    }
    Exit::Limit
}

/// Test support shared by the semantics' unit tests: a region-backed guest
/// memory, and a differential harness that runs an instruction natively
/// (inline assembly, x86-64 hosts) and in the interpreter from the same
/// bytes, and compares registers, flags and memory.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::decode::decode_at;
    use crate::mem::{Access, FaultKind};

    /// Guest memory made of regions at fixed addresses.
    #[derive(Debug, Default, Clone)]
    pub struct VecMem {
        pub regions: Vec<(u64, Vec<u8>)>,
    }

    impl VecMem {
        pub fn map(&mut self, base: u64, data: Vec<u8>) {
            self.regions.push((base, data));
        }

        fn find(&mut self, addr: u64, len: usize, access: Access) -> Result<&mut [u8], Fault> {
            for (base, data) in &mut self.regions {
                if addr >= *base && addr - *base + len as u64 <= data.len() as u64 {
                    let o = (addr - *base) as usize;
                    return Ok(&mut data[o..o + len]);
                }
            }
            Err(Fault {
                addr,
                access,
                kind: FaultKind::Unmapped,
            })
        }

        pub fn bytes(&mut self, addr: u64, len: usize) -> Vec<u8> {
            self.find(addr, len, Access::Read).expect("mapped").to_vec()
        }
    }

    impl GuestMem for VecMem {
        fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
            let src = self.find(addr, buf.len(), Access::Read)?;
            buf.copy_from_slice(src);
            Ok(())
        }
        fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Fault> {
            self.find(addr, data.len(), Access::Write)?
                .copy_from_slice(data);
            Ok(())
        }
        fn fetch(&mut self, addr: u64, _: &mut [u8; 16]) -> Result<usize, Fault> {
            // Tests decode their bytes themselves.
            Err(Fault {
                addr,
                access: Access::Exec,
                kind: FaultKind::Unmapped,
            })
        }
    }

    /// Where the interpreter's stack is in tests.
    pub const STACK_TOP: u64 = 0x7000_0000;

    /// The registers the native harness passes in and out.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct Regs {
        pub rax: u64,
        pub rcx: u64,
        pub rdx: u64,
        pub rsi: u64,
        pub rdi: u64,
        pub r8: u64,
        pub r9: u64,
        pub flags: u64,
    }

    impl Regs {
        pub fn to_cpu(self) -> Cpu {
            let mut cpu = Cpu::default();
            cpu.gpr[0] = self.rax;
            cpu.gpr[1] = self.rcx;
            cpu.gpr[2] = self.rdx;
            cpu.gpr[6] = self.rsi;
            cpu.gpr[7] = self.rdi;
            cpu.gpr[8] = self.r8;
            cpu.gpr[9] = self.r9;
            cpu.gpr[4] = STACK_TOP - 0x100;
            cpu.rflags = self.flags | flags::RESERVED1 | flags::IF;
            cpu
        }

        pub fn from_cpu(cpu: &Cpu) -> Regs {
            Regs {
                rax: cpu.gpr[0],
                rcx: cpu.gpr[1],
                rdx: cpu.gpr[2],
                rsi: cpu.gpr[6],
                rdi: cpu.gpr[7],
                r8: cpu.gpr[8],
                r9: cpu.gpr[9],
                flags: cpu.rflags,
            }
        }
    }

    /// Runs the instructions in `bytes` (at address `ip`) in the interpreter.
    pub fn run_bytes(bytes: &[u8], ip: u64, cpu: &mut Cpu, mem: &mut VecMem) -> Result<(), Exit> {
        let mut off = 0;
        while off < bytes.len() {
            let insn = decode_at(ip + off as u64, &bytes[off..]);
            assert!(
                !insn.is_invalid(),
                "invalid encoding {:02x?}",
                &bytes[off..]
            );
            cpu.rip = insn.ip();
            step(cpu, mem, &insn)?;
            off += insn.len();
        }
        Ok(())
    }

    /// A small xorshift generator with a bias to boundary values.
    pub struct Rng(pub u64);

    impl Rng {
        pub fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        /// A value likely to hit edge cases of any operand width.
        pub fn value(&mut self) -> u64 {
            const EDGES: [u64; 16] = [
                0,
                1,
                2,
                u64::MAX,
                0x7f,
                0x80,
                0xff,
                0x7fff,
                0x8000,
                0xffff,
                0x7fff_ffff,
                0x8000_0000,
                0xffff_ffff,
                i64::MAX as u64,
                i64::MIN as u64,
                0x1_0000_0000,
            ];
            let r = self.next();
            let hi = self.next() & 0xffff_ffff_0000_0000;
            match r % 8 {
                0 => EDGES[(r >> 8) as usize % 16],
                1 => EDGES[(r >> 8) as usize % 16] | hi,
                2 => (r >> 8) % 80,
                3 => ((r >> 8) % 80) | hi,
                4 => (r >> 32).wrapping_neg(),
                _ => self.next(),
            }
        }

        pub fn regs(&mut self) -> Regs {
            Regs {
                rax: self.value(),
                rcx: self.value(),
                rdx: self.value(),
                rsi: self.value(),
                rdi: self.value(),
                r8: self.value(),
                r9: self.value(),
                flags: self.next() & flags::STATUS,
            }
        }
    }

    /// A function running an instruction natively: takes and returns the
    /// registers, and gives the address range of the instruction's bytes.
    pub type Native = fn(&mut Regs) -> (u64, u64);

    /// Runs `f` natively and in the interpreter on `n` random register sets
    /// (adjusted by `prep`), with `buf` (if non-empty) mapped at its host
    /// address in both, and compares registers, flags under `fmask`, and the
    /// buffer. Panics with the first differences.
    pub fn check(
        name: &str,
        f: Native,
        fmask: u64,
        n: usize,
        seed: u64,
        buf_len: usize,
        prep: &dyn Fn(&mut Rng, &mut Regs, u64),
    ) {
        let mut rng = Rng(seed | 1);
        let mut fails = Vec::new();
        for _ in 0..n {
            let mut buf: Vec<u8> = (0..buf_len.max(8)).map(|_| rng.next() as u8).collect();
            let base = buf.as_ptr() as u64;
            let mut r = rng.regs();
            prep(&mut rng, &mut r, base);
            let input = r;
            let mut mem = VecMem::default();
            mem.map(base, buf.clone());
            mem.map(STACK_TOP - 0x1000, vec![0; 0x1000]);
            // Native run on the real buffer.
            let (start, end) = f(&mut r);
            let len = (end - start) as usize;
            // SAFETY: [start, end) are the bytes of the instruction(s) just
            // run, in this test binary's mapped, readable text.
            #[allow(unsafe_code, reason = "reads the test's own code bytes")]
            let bytes = unsafe { std::slice::from_raw_parts(start as *const u8, len) }.to_vec();
            let native_buf = buf.clone();
            let mut cpu = input.to_cpu();
            let res = run_bytes(&bytes, start, &mut cpu, &mut mem);
            let got = Regs::from_cpu(&cpu);
            let want = r;
            let got_buf = mem.bytes(base, buf.len());
            let same = res.is_ok()
                && Regs { flags: 0, ..got } == Regs { flags: 0, ..want }
                && got.flags & fmask == want.flags & fmask
                && got_buf == native_buf;
            if !same && fails.len() < 8 {
                fails.push(format!(
                    "in   {input:x?}\nwant {want:x?}\ngot  {got:x?} ({res:?})\nflags differ {:#x}{}",
                    (got.flags ^ want.flags) & fmask,
                    if got_buf != native_buf { " and memory" } else { "" },
                ));
            }
            buf.clear();
        }
        assert!(
            fails.is_empty(),
            "{name}: {} differences:\n{}",
            fails.len(),
            fails.join("\n\n")
        );
    }

    /// Defines a [`Native`] function running the given instruction text
    /// (Intel syntax, using only rax, rcx, rdx, rsi, rdi, r8, r9 and memory
    /// they address) with the status flags and DF taken from `Regs::flags`.
    macro_rules! native {
        ($($insn:literal),+ $(,)?) => {{
            #[allow(unsafe_code, reason = "runs the instruction under test natively")]
            fn run(r: &mut $crate::interp::testing::Regs) -> (u64, u64) {
                let start: u64;
                let end: u64;
                // SAFETY: the instruction text only touches the registers
                // declared here and memory the test maps at rsi/rdi; flags
                // are restored to a cleared DF before leaving.
                unsafe {
                    core::arch::asm!(
                        "lea {s}, [rip + 20f]",
                        "lea {e}, [rip + 21f]",
                        "push {f}",
                        "popfq",
                        "20:",
                        $($insn,)+
                        "21:",
                        "pushfq",
                        "pop {f}",
                        "cld",
                        s = out(reg) start,
                        e = out(reg) end,
                        f = inout(reg) r.flags,
                        inout("rax") r.rax,
                        inout("rcx") r.rcx,
                        inout("rdx") r.rdx,
                        inout("rsi") r.rsi,
                        inout("rdi") r.rdi,
                        inout("r8") r.r8,
                        inout("r9") r.r9,
                    );
                }
                (start, end)
            }
            run as $crate::interp::testing::Native
        }};
    }
    pub(crate) use native;
}
