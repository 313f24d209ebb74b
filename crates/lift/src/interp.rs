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
    (v as u8).count_ones() % 2 == 0
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
        let mut b = [0u8; 8];
        self.mem.read(addr, &mut b[..size as usize])?;
        Ok(u64::from_le_bytes(b))
    }

    fn store(&mut self, addr: u64, size: u32, v: u64) -> Result<(), Exit> {
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
            UnOp::Bsf => a.trailing_zeros() as u64,
            UnOp::Bsr => 63 - a.leading_zeros() as u64,
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
        let m = mask(size);
        let (a, b, r) = (a & m, b & m, r & m);
        let sb = sign_bit(size);
        let old_cf = self.cpu.flag(flags::CF);
        let set = |cpu: &mut Cpu, cf: Option<bool>, of: bool, af: bool| {
            let mut f = cpu.rflags & !flags::STATUS;
            if let Some(cf) = cf {
                f |= cf as u64 * flags::CF;
            } else {
                f |= old_cf as u64 * flags::CF;
            }
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
                set(self.cpu, Some(cf), of, (a ^ b ^ r) & 0x10 != 0);
            }
            FlagOp::Sub | FlagOp::Sbb => {
                let cin = (op == FlagOp::Sbb && old_cf) as u128;
                let cf = (a as u128) < (b as u128) + cin;
                let of = (a ^ b) & (a ^ r) & sb != 0;
                set(self.cpu, Some(cf), of, (a ^ b ^ r) & 0x10 != 0);
            }
            FlagOp::Logic => set(self.cpu, Some(false), false, false),
            FlagOp::Inc => {
                let of = r == sb;
                set(self.cpu, None, of, (a ^ 1 ^ r) & 0x10 != 0);
            }
            FlagOp::Dec => {
                let of = a == sb;
                set(self.cpu, None, of, (a ^ 1 ^ r) & 0x10 != 0);
            }
            FlagOp::Neg => {
                set(self.cpu, Some(a != 0), a == sb, (a ^ r) & 0x10 != 0);
            }
            FlagOp::Shl | FlagOp::Shr | FlagOp::Sar => {
                if b == 0 {
                    return;
                }
                let bits = (size * 8) as u64;
                let cf = match op {
                    FlagOp::Shl => b <= bits && (a >> (bits - b)) & 1 != 0,
                    FlagOp::Shr => b <= bits && (a >> (b - 1)) & 1 != 0,
                    _ => (sext(a, size) as i64 >> (b - 1).min(63)) & 1 != 0,
                };
                let of = match op {
                    FlagOp::Shl => ((r & sb != 0) as u64 ^ cf as u64) != 0,
                    FlagOp::Shr => a & sb != 0,
                    _ => false,
                };
                set(self.cpu, Some(cf), of, false);
            }
            FlagOp::Rol | FlagOp::Ror | FlagOp::Rcl | FlagOp::Rcr => {
                if b == 0 {
                    return;
                }
                let (cf, of) = match op {
                    FlagOp::Rol => {
                        let cf = r & 1 != 0;
                        (cf, (r & sb != 0) != cf)
                    }
                    FlagOp::Ror => (r & sb != 0, ((r ^ (r << 1)) & sb) != 0),
                    // For rcl/rcr the caller passes r with the new CF in bit `size*8`.
                    FlagOp::Rcl => {
                        let cf = (r >> (size * 8)) & 1 != 0;
                        (cf, (r & sb != 0) != cf)
                    }
                    _ => {
                        let cf = (r >> (size * 8)) & 1 != 0;
                        (cf, ((r ^ (r << 1)) & sb) != 0)
                    }
                };
                let keep = self.cpu.rflags & !(flags::CF | flags::OF);
                self.cpu.rflags = keep | cf as u64 * flags::CF | of as u64 * flags::OF;
            }
            FlagOp::Mul => {
                let hi = b != 0;
                set(self.cpu, Some(hi), hi, false);
            }
        }
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
