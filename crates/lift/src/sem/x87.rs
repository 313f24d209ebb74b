//! The x87 subset that glibc's `printf`/`strtod` paths, its `long double`
//! copies and libm's environment functions use: helpers.
//!
//! Owns loads and stores (`fld`/`fst`/`fstp` of m32/m64/m80 and ST(i),
//! `fild`/`fist`/`fistp`/`fisttp`, constants), the four operations with their
//! reversed, popping and integer forms, `fchs`/`fabs`/`fsqrt`/`frndint`/
//! `fscale`/`fprem`/`fprem1`, comparisons (`fcom`/`fucom` families setting
//! C0/C2/C3, `fcomi`/`fucomi` setting RFLAGS, `ftst`, `fxam`), `fcmovcc`, the
//! control and environment instructions (`fldcw`, `fnstcw`, `fnstsw`,
//! `fninit`, `fnclex`, `fnstenv`, `fldenv`, `ffree`, `fincstp`, `fdecstp`,
//! `fwait`) and `fxsave`/`fxrstor` (which also hold MXCSR and the XMM
//! registers). Transcendentals (`fsin`, `fpatan`, `fyl2x`, ...) and BCD are
//! not covered ([`Exit::Illegal`]).
//!
//! Registers hold `f64` ([`crate::cpu::X87`]), so:
//! - arithmetic rounds to double precision (53 bits) in the control word's
//!   rounding mode, whatever its precision control says; with precision
//!   control set to double it is bit-identical to the hardware;
//! - an 80-bit load (`fld m80`) converts exactly when the value is a double,
//!   else rounds to nearest (values beyond double's range become infinities
//!   or denormals); an 80-bit store (`fstp m80`) is always exact, as every
//!   double is an extended value. A `long double` copied through the stack
//!   (`fld m80`; `fstp m80`) therefore keeps only 53 significant bits;
//! - exceptions: the status word records invalid (IE, with SF for stack
//!   faults), zero-divide and precision; denormal, overflow and underflow
//!   are not tracked (their conditions are those of the 80-bit format, which
//!   double values rarely meet). C1 is set for stack overflow and by `fxam`,
//!   `fprem`; not for "rounded up". An unmasked exception is recorded (ES, B)
//!   but never delivered as SIGFPE: glibc and busybox keep them masked.

use iced_x86::{Code, Instruction, MemorySize, Mnemonic, OpKind, Register};

use super::sse::{self, Arith, Env, Round};
use super::{Handler, Helper, M, Sem};
use crate::cpu::{Cpu, flags};
use crate::interp::Exit;
use crate::mem::GuestMem;

pub fn handler<S: Sem>(m: Mnemonic) -> Option<Handler<S>> {
    op(m).map(|_| (|s: &mut S| s.helper(exec)) as Handler<S>)
}

/// Executes one x87 instruction (the helper every executor calls).
pub fn exec(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> Result<(), Exit> {
    match op(insn.mnemonic()) {
        Some(f) => f(cpu, mem, insn),
        None => Err(Exit::Illegal),
    }
}

type R = Result<(), Exit>;

/// Status word bits.
pub mod sw {
    pub const IE: u16 = 1 << 0;
    pub const ZE: u16 = 1 << 2;
    pub const PE: u16 = 1 << 5;
    /// Stack fault (with IE).
    pub const SF: u16 = 1 << 6;
    pub const ES: u16 = 1 << 7;
    pub const C0: u16 = 1 << 8;
    pub const C1: u16 = 1 << 9;
    pub const C2: u16 = 1 << 10;
    pub const TOP: u16 = 7 << 11;
    pub const C3: u16 = 1 << 14;
    pub const B: u16 = 1 << 15;
    pub const CC: u16 = C0 | C1 | C2 | C3;
}

/// The indefinite QNaN (what invalid operations and stack faults produce).
const INDEFINITE: f64 = f64::from_bits(0xfff8_0000_0000_0000);

// ---- The register stack ----

fn phys(cpu: &Cpu, i: usize) -> usize {
    (cpu.x87.top as usize + i) & 7
}

fn is_empty(cpu: &Cpu, i: usize) -> bool {
    cpu.x87.empty & (1 << phys(cpu, i)) != 0
}

/// Raises exception bits (IE, ZE, PE...) in the status word.
fn raise(cpu: &mut Cpu, bits: u16) {
    cpu.x87.sw |= bits;
    let masks = cpu.x87.cw & 0x3f;
    if bits & 0x3f & !masks != 0 {
        cpu.x87.sw |= sw::ES | sw::B;
    }
}

/// ST(i); an empty register is a stack underflow (IE, SF, C1 = 0) and reads
/// as the indefinite NaN.
fn st(cpu: &mut Cpu, i: usize) -> f64 {
    if is_empty(cpu, i) {
        cpu.x87.sw &= !sw::C1;
        raise(cpu, sw::IE | sw::SF);
        return INDEFINITE;
    }
    cpu.x87.st[phys(cpu, i)]
}

/// Whether any of ST(`regs`) is empty: a stack underflow (IE, SF, C1 = 0),
/// whose result is the indefinite NaN whatever the other operands are.
fn underflow(cpu: &mut Cpu, regs: &[usize]) -> bool {
    if regs.iter().any(|&i| is_empty(cpu, i)) {
        cpu.x87.sw &= !sw::C1;
        raise(cpu, sw::IE | sw::SF);
        return true;
    }
    false
}

fn set_st(cpu: &mut Cpu, i: usize, v: f64) {
    let p = phys(cpu, i);
    cpu.x87.st[p] = v;
    cpu.x87.empty &= !(1 << p);
}

/// Pushes `v`; a full stack is an overflow (IE, SF, C1 = 1) and pushes the
/// indefinite NaN.
fn push(cpu: &mut Cpu, v: f64) {
    cpu.x87.top = (cpu.x87.top.wrapping_sub(1)) & 7;
    if is_empty(cpu, 0) {
        set_st(cpu, 0, v);
    } else {
        cpu.x87.sw |= sw::C1;
        raise(cpu, sw::IE | sw::SF);
        set_st(cpu, 0, INDEFINITE);
    }
}

fn pop(cpu: &mut Cpu) {
    let p = phys(cpu, 0);
    cpu.x87.empty |= 1 << p;
    cpu.x87.top = (cpu.x87.top + 1) & 7;
}

/// The index i of register ST(i).
fn sti(r: Register) -> Result<usize, Exit> {
    let n = r as usize;
    let st0 = Register::ST0 as usize;
    if (st0..st0 + 8).contains(&n) {
        Ok(n - st0)
    } else {
        Err(Exit::Illegal)
    }
}

/// The status word as `fnstsw` gives it (TOP included).
pub fn status_word(cpu: &Cpu) -> u16 {
    (cpu.x87.sw & !sw::TOP) | ((cpu.x87.top as u16 & 7) << 11)
}

fn rounding(cpu: &Cpu) -> Round {
    Round::from_bits((cpu.x87.cw >> 10) as u32)
}

/// Records the SSE-style exception flags of `env` (same bit positions) that
/// the x87 model tracks.
fn raise_env(cpu: &mut Cpu, env: &Env) {
    let bits = env.raised as u16 & (sw::IE | sw::ZE | sw::PE);
    raise(cpu, bits);
}

// ---- Memory formats ----

/// A double as the 80-bit extended format (always exact).
pub fn f64_to_m80(x: f64) -> [u8; 10] {
    let b = x.to_bits();
    let sign = ((b >> 63) as u16) << 15;
    let e = ((b >> 52) & 0x7ff) as i32;
    let f = b & ((1 << 52) - 1);
    let (exp, mant): (u16, u64) = if e == 0x7ff {
        (0x7fff, 1 << 63 | f << 11)
    } else if e == 0 {
        if f == 0 {
            (0, 0)
        } else {
            // A double denormal is a normal extended value.
            let lz = f.leading_zeros() as i32; // >= 12
            let mant = f << lz;
            let exp = -1022 - (lz - 11) + 16383;
            (exp as u16, mant)
        }
    } else {
        ((e - 1023 + 16383) as u16, 1 << 63 | f << 11)
    };
    let mut out = [0u8; 10];
    out[..8].copy_from_slice(&mant.to_le_bytes());
    out[8..].copy_from_slice(&(sign | exp).to_le_bytes());
    out
}

/// An 80-bit extended value as the nearest double; `None` for the
/// unsupported encodings (unnormals, pseudo-NaNs/infinities), which are
/// invalid operands.
pub fn m80_to_f64(b: &[u8; 10]) -> Option<f64> {
    let mut m = [0u8; 8];
    m.copy_from_slice(&b[..8]);
    let mant = u64::from_le_bytes(m);
    let se = u16::from_le_bytes([b[8], b[9]]);
    let neg = se & 0x8000 != 0;
    let exp = (se & 0x7fff) as i32;
    let int_bit = mant >> 63 != 0;
    let v = if exp == 0x7fff {
        if !int_bit {
            return None;
        }
        let frac = mant & !(1 << 63);
        if frac == 0 {
            f64::INFINITY
        } else {
            // Keep the quiet bit and the payload's top bits.
            let mut f = frac >> 11;
            if f == 0 {
                f = 1;
            }
            let nb = 0x7ff0_0000_0000_0000 | f;
            return Some(f64::from_bits(nb | (neg as u64) << 63));
        }
    } else if exp != 0 && !int_bit {
        return None;
    } else {
        // value = mant * 2^(e - 16383 - 63), with e = 1 for (pseudo)denormals.
        let e = if exp == 0 { 1 } else { exp } - 16383 - 63;
        scale(mant, e)
    };
    Some(if neg { -v } else { v })
}

/// `m * 2^e` rounded to the nearest double (once).
fn scale(m: u64, e: i32) -> f64 {
    if m == 0 {
        return 0.0;
    }
    let bits = 64 - m.leading_zeros() as i32;
    // The value's binary exponent: 2^(top) <= v < 2^(top+1).
    let top = bits - 1 + e;
    if top > 1023 {
        return f64::INFINITY;
    }
    // Keep the bits a double can hold at this exponent (53, fewer when
    // denormal), rounding the rest to nearest even, as an integer.
    let keep = if top >= -1022 { 53 } else { 53 - (-1022 - top) };
    if keep <= 0 {
        // Below half the smallest denormal (or exactly half: ties to even 0).
        let half = keep == 0 && (m & !(1u64 << (bits - 1))) != 0;
        return if half { f64::from_bits(1) } else { 0.0 };
    }
    let drop = bits - keep;
    let (q, e2) = if drop > 0 {
        let d = drop as u32;
        let q = m >> d;
        let rem = m & ((1u64 << d) - 1);
        let half = 1u64 << (d - 1);
        let q = if rem > half || (rem == half && q & 1 == 1) {
            q + 1
        } else {
            q
        };
        (q, e + drop)
    } else {
        (m, e)
    };
    // q * 2^e2 is exactly representable (or rounds to 2^(top+1), still
    // exact, or overflows to infinity): scale in two exact steps.
    let v = q as f64;
    let (h1, h2) = (e2 / 2, e2 - e2 / 2);
    v * 2f64.powi(h1) * 2f64.powi(h2)
}

/// A memory operand as a register value. `fld` (`quiet`) quietens an SNaN
/// and raises invalid; arithmetic gets it as it is, for [`nan_result`].
fn load_fp(
    cpu: &mut Cpu,
    mem: &mut dyn GuestMem,
    insn: &Instruction,
    quiet: bool,
) -> Result<f64, Exit> {
    let a = sse::ea(cpu, insn)?;
    let snan = |cpu: &mut Cpu, b: u64| {
        if quiet && sse::is_snan::<f64>(b) {
            raise(cpu, sw::IE);
            return f64::from_bits(b | 1 << 51);
        }
        f64::from_bits(b)
    };
    match insn.memory_size() {
        MemorySize::Float32 => {
            let b = sse::load(mem, a, 4)? as u32;
            let f = f32::from_bits(b);
            if f.is_nan() {
                // Widen the NaN by its bits (hosts may quieten on `as`).
                let w = ((b as u64 >> 31) << 63) | 0x7ff << 52 | ((b as u64 & 0x7f_ffff) << 29);
                return Ok(snan(cpu, w));
            }
            Ok(f as f64)
        }
        MemorySize::Float64 => {
            let b = sse::load(mem, a, 8)? as u64;
            Ok(snan(cpu, b))
        }
        MemorySize::Float80 => {
            let v = sse::load(mem, a, 10)?.to_le_bytes();
            let mut b = [0u8; 10];
            b.copy_from_slice(&v[..10]);
            match m80_to_f64(&b) {
                Some(x) => Ok(x),
                None => {
                    raise(cpu, sw::IE);
                    Ok(INDEFINITE)
                }
            }
        }
        MemorySize::Int16 | MemorySize::Int32 | MemorySize::Int64 => {
            let n = insn.memory_size().size();
            let v = sse::load(mem, a, n)? as u64;
            let i = crate::interp::sext(v, n as u32) as i64;
            let mut env = Env::with_round(Round::Nearest);
            Ok(f64::from_bits(sse::from_int::<f64>(i, &mut env)))
        }
        _ => Err(Exit::Illegal),
    }
}

fn store_fp(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction, v: f64) -> R {
    let a = sse::ea(cpu, insn)?;
    match insn.memory_size() {
        MemorySize::Float32 => {
            let mut env = Env::with_round(rounding(cpu));
            let b = sse::convert::<f64, f32>(v.to_bits(), &mut env);
            sse::store(mem, a, b as u128, 4)?;
            raise_env(cpu, &env);
            rounded_up(cpu, f32::from_bits(b as u32) as f64, v);
            Ok(())
        }
        MemorySize::Float64 => {
            if sse::is_snan::<f64>(v.to_bits()) {
                raise(cpu, sw::IE);
                return sse::store(mem, a, (v.to_bits() | 1 << 51) as u128, 8);
            }
            sse::store(mem, a, v.to_bits() as u128, 8)
        }
        MemorySize::Float80 => {
            let b = f64_to_m80(v);
            mem.write(a, &b)?;
            Ok(())
        }
        MemorySize::Int16 | MemorySize::Int32 | MemorySize::Int64 => {
            let n = insn.memory_size().size();
            let round = if insn.mnemonic() == M::Fisttp {
                Round::Zero
            } else {
                rounding(cpu)
            };
            let mut env = Env::with_round(round);
            let i = sse::to_int::<f64>(v.to_bits(), n as u32 * 8, round, &mut env);
            sse::store(mem, a, i as u128, n)?;
            raise_env(cpu, &env);
            if env.raised & sse::mxcsr::IE == 0 {
                let r = crate::interp::sext(i, n as u32) as i64 as f64;
                rounded_up(cpu, r, v);
            }
            Ok(())
        }
        _ => Err(Exit::Illegal),
    }
}

/// C1 = 1 when a rounded result `r` is larger in magnitude than the exact
/// `v` (the hardware's "rounded up").
fn rounded_up(cpu: &mut Cpu, r: f64, v: f64) {
    if r.abs() > v.abs() && !v.is_nan() {
        cpu.x87.sw |= sw::C1;
    }
}

// ---- Instructions ----

fn fld(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> R {
    let v = match insn.op0_kind() {
        OpKind::Register => st(cpu, sti(insn.op0_register())?),
        OpKind::Memory => load_fp(cpu, mem, insn, true)?,
        _ => return Err(Exit::Illegal),
    };
    cpu.x87.sw &= !sw::C1;
    push(cpu, v);
    Ok(())
}

fn fld_const(cpu: &mut Cpu, _: &mut dyn GuestMem, insn: &Instruction) -> R {
    let v = match insn.mnemonic() {
        M::Fldz => 0.0,
        M::Fld1 => 1.0,
        M::Fldl2e => core::f64::consts::LOG2_E,
        M::Fldl2t => core::f64::consts::LOG2_10,
        M::Fldlg2 => core::f64::consts::LOG10_2,
        M::Fldln2 => core::f64::consts::LN_2,
        M::Fldpi => core::f64::consts::PI,
        _ => return Err(Exit::Illegal),
    };
    cpu.x87.sw &= !sw::C1;
    push(cpu, v);
    Ok(())
}

/// `fst`/`fstp`/`fist`/`fistp`/`fisttp` (`pop` for the popping forms).
fn fst(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> R {
    let popping = matches!(insn.mnemonic(), M::Fstp | M::Fistp | M::Fisttp | M::Fstpnce);
    cpu.x87.sw &= !sw::C1;
    let v = st(cpu, 0);
    match insn.op0_kind() {
        OpKind::Register => set_st(cpu, sti(insn.op0_register())?, v),
        OpKind::Memory => store_fp(cpu, mem, insn, v)?,
        _ => return Err(Exit::Illegal),
    }
    if popping {
        pop(cpu);
    }
    Ok(())
}

fn fxch(cpu: &mut Cpu, _: &mut dyn GuestMem, insn: &Instruction) -> R {
    let i = match insn.op_count() {
        0 => 1,
        1 => sti(insn.op0_register())?,
        _ => sti(insn.op1_register())?,
    };
    let (a, b) = (st(cpu, 0), st(cpu, i));
    set_st(cpu, 0, b);
    set_st(cpu, i, a);
    cpu.x87.sw &= !sw::C1;
    Ok(())
}

/// x87's NaN rule for two operands: a QNaN beats an SNaN; between two of a
/// kind the larger significand wins; the result is quiet.
fn nan_result(cpu: &mut Cpu, a: f64, b: f64) -> Option<f64> {
    let (an, bn) = (a.is_nan(), b.is_nan());
    if !an && !bn {
        return None;
    }
    let (ab, bb) = (a.to_bits(), b.to_bits());
    if sse::is_snan::<f64>(ab) || sse::is_snan::<f64>(bb) {
        raise(cpu, sw::IE);
    }
    const Q: u64 = 1 << 51;
    const FRAC: u64 = (1 << 52) - 1;
    let pick = match (an, bn) {
        (true, false) => ab,
        (false, true) => bb,
        _ => {
            let (aq, bq) = (ab & Q != 0, bb & Q != 0);
            if aq != bq {
                if aq { ab } else { bb }
            } else if (ab & FRAC) >= (bb & FRAC) {
                ab
            } else {
                bb
            }
        }
    };
    Some(f64::from_bits(pick | Q))
}

/// One arithmetic operation in the control word's rounding mode.
fn arith(cpu: &mut Cpu, op: Arith, a: f64, b: f64) -> f64 {
    if let Some(n) = nan_result(cpu, a, b) {
        return n;
    }
    let mut env = Env::with_round(rounding(cpu));
    let r = f64::from_bits(sse::arith::<f64>(op, a.to_bits(), b.to_bits(), &mut env));
    raise_env(cpu, &env);
    r
}

/// `fadd`, `fsub`, `fsubr`, `fmul`, `fdiv`, `fdivr`, their `p` and `i`
/// forms.
fn farith(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> R {
    let m = insn.mnemonic();
    let (op, reverse, popping) = match m {
        M::Fadd | M::Fiadd => (Arith::Add, false, false),
        M::Faddp => (Arith::Add, false, true),
        M::Fsub | M::Fisub => (Arith::Sub, false, false),
        M::Fsubp => (Arith::Sub, false, true),
        M::Fsubr | M::Fisubr => (Arith::Sub, true, false),
        M::Fsubrp => (Arith::Sub, true, true),
        M::Fmul | M::Fimul => (Arith::Mul, false, false),
        M::Fmulp => (Arith::Mul, false, true),
        M::Fdiv | M::Fidiv => (Arith::Div, false, false),
        M::Fdivp => (Arith::Div, false, true),
        M::Fdivr | M::Fidivr => (Arith::Div, true, false),
        M::Fdivrp => (Arith::Div, true, true),
        _ => return Err(Exit::Illegal),
    };
    // Destination ST(d) and the other operand.
    let (d, other, other_empty) = if insn.op0_kind() == OpKind::Memory {
        (0, load_fp(cpu, mem, insn, false)?, false)
    } else {
        let (d, s) = match insn.op_count() {
            0 => (1, 0),
            1 => (sti(insn.op0_register())?, 0),
            _ => (sti(insn.op0_register())?, sti(insn.op1_register())?),
        };
        (d, cpu.x87.st[phys(cpu, s)], underflow(cpu, &[s]))
    };
    cpu.x87.sw &= !sw::C1;
    let r = if underflow(cpu, &[d]) || other_empty {
        INDEFINITE
    } else {
        let dv = st(cpu, d);
        let (a, b) = if reverse { (other, dv) } else { (dv, other) };
        arith(cpu, op, a, b)
    };
    set_st(cpu, d, r);
    if popping {
        pop(cpu);
    }
    Ok(())
}

fn unary(cpu: &mut Cpu, _: &mut dyn GuestMem, insn: &Instruction) -> R {
    if underflow(cpu, &[0]) {
        set_st(cpu, 0, INDEFINITE);
        return Ok(());
    }
    let x = st(cpu, 0);
    cpu.x87.sw &= !sw::C1;
    let r = match insn.mnemonic() {
        M::Fchs => -x,
        M::Fabs => x.abs(),
        M::Fsqrt => arith(cpu, Arith::Sqrt, 0.0, x),
        M::Frndint => {
            if let Some(n) = nan_result(cpu, x, x) {
                n
            } else {
                let r = sse::round_f64(x, rounding(cpu));
                if r != x {
                    raise(cpu, sw::PE);
                }
                r
            }
        }
        _ => return Err(Exit::Illegal),
    };
    set_st(cpu, 0, r);
    Ok(())
}

/// `x * 2^n` for any integer `n`, rounded once (to nearest).
fn ldexp(x: f64, n: i64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let n = n.clamp(-4000, 4000) as i32;
    let bits = x.to_bits();
    let neg = bits >> 63 != 0;
    let e = ((bits >> 52) & 0x7ff) as i32;
    let f = bits & ((1 << 52) - 1);
    let (m, ex) = if e == 0 {
        (f, -1074)
    } else {
        (f | 1 << 52, e - 1075)
    };
    let v = scale(m, ex + n);
    if neg { -v } else { v }
}

fn fscale(cpu: &mut Cpu, _: &mut dyn GuestMem, _: &Instruction) -> R {
    if underflow(cpu, &[0, 1]) {
        set_st(cpu, 0, INDEFINITE);
        return Ok(());
    }
    let (x, y) = (st(cpu, 0), st(cpu, 1));
    cpu.x87.sw &= !sw::C1;
    let r = if let Some(n) = nan_result(cpu, x, y) {
        n
    } else if y.is_infinite() {
        if (y > 0.0 && x == 0.0) || (y < 0.0 && x.is_infinite()) {
            raise(cpu, sw::IE);
            INDEFINITE
        } else if y > 0.0 {
            if x == 0.0 { x } else { x * f64::INFINITY }
        } else {
            x * 0.0
        }
    } else {
        let r = ldexp(x, y.trunc() as i64);
        if x.is_finite() && x != 0.0 && (r.is_infinite() || r == 0.0) {
            raise(cpu, sw::PE);
        }
        r
    };
    set_st(cpu, 0, r);
    Ok(())
}

/// `fprem` (truncating quotient) and `fprem1` (nearest): the remainder is
/// computed completely (C2 = 0) and C0, C3, C1 get the quotient's bits 2, 1
/// and 0.
fn fprem(cpu: &mut Cpu, _: &mut dyn GuestMem, insn: &Instruction) -> R {
    cpu.x87.sw &= !sw::CC;
    if underflow(cpu, &[0, 1]) {
        set_st(cpu, 0, INDEFINITE);
        return Ok(());
    }
    let (x, y) = (st(cpu, 0), st(cpu, 1));
    let r = if let Some(n) = nan_result(cpu, x, y) {
        n
    } else if x.is_infinite() || y == 0.0 {
        raise(cpu, sw::IE);
        INDEFINITE
    } else if y.is_infinite() || x == 0.0 {
        x
    } else if exponent(x) - exponent(y) >= 64 {
        // A partial remainder (C2 = 1), as the hardware computes it:
        // reduced by ST(1) * 2^(D - N) with N = 32 + D mod 32.
        let d = exponent(x) - exponent(y);
        let n = 32 + d % 32;
        let ys = ldexp(y.abs(), (d - n) as i64);
        cpu.x87.sw |= sw::C2;
        (x.abs() % ys).copysign(x)
    } else {
        let mut r = x % y; // exact, sign of x
        let ay = y.abs();
        // Low three bits of the truncated quotient: from the remainder
        // modulo 8|y| when 8|y| is finite.
        let big = ay * 8.0;
        let mut q = if big.is_finite() {
            let r8 = x.abs() % big;
            ((r8 - r.abs()) / ay).round() as u64 & 7
        } else {
            0
        };
        if insn.mnemonic() == M::Fprem1 {
            let twice = r.abs() * 2.0;
            if twice > ay || (twice == ay && q & 1 == 1) {
                r -= if r > 0.0 { ay } else { -ay };
                q = (q + 1) & 7;
            }
        }
        let mut c = 0;
        if q & 4 != 0 {
            c |= sw::C0;
        }
        if q & 2 != 0 {
            c |= sw::C3;
        }
        if q & 1 != 0 {
            c |= sw::C1;
        }
        cpu.x87.sw |= c;
        if r == 0.0 { 0.0f64.copysign(x) } else { r }
    };
    set_st(cpu, 0, r);
    Ok(())
}

/// The binary exponent of a finite non-zero `x` as an extended value
/// (2^e <= |x| < 2^(e+1); double denormals are normal extended values).
fn exponent(x: f64) -> i32 {
    let b = x.to_bits();
    let e = ((b >> 52) & 0x7ff) as i32;
    if e == 0 {
        let f = b & ((1 << 52) - 1);
        -1074 + 63 - f.leading_zeros() as i32
    } else {
        e - 1023
    }
}

/// Compares ST(0) with `b`: (C3, C2, C0) or (ZF, PF, CF) as a triple.
fn compare(cpu: &mut Cpu, a: f64, b: f64, signal_qnan: bool) -> (bool, bool, bool) {
    if a.is_nan() || b.is_nan() {
        if signal_qnan || sse::is_snan::<f64>(a.to_bits()) || sse::is_snan::<f64>(b.to_bits()) {
            raise(cpu, sw::IE);
        }
        return (true, true, true);
    }
    if a > b {
        (false, false, false)
    } else if a < b {
        (false, false, true)
    } else {
        (true, false, false)
    }
}

fn set_cc(cpu: &mut Cpu, (c3, c2, c0): (bool, bool, bool)) {
    let mut s = cpu.x87.sw & !sw::CC;
    if c3 {
        s |= sw::C3;
    }
    if c2 {
        s |= sw::C2;
    }
    if c0 {
        s |= sw::C0;
    }
    cpu.x87.sw = s;
}

/// `fcom`, `fcomp`, `fcompp`, `fucom*`, `ficom*`, `ftst`.
fn fcom(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> R {
    let m = insn.mnemonic();
    let unordered = matches!(m, M::Fucom | M::Fucomp | M::Fucompp);
    let pops = match m {
        M::Fcomp | M::Fucomp | M::Ficomp => 1,
        M::Fcompp | M::Fucompp => 2,
        _ => 0,
    };
    let b = if m == M::Ftst {
        0.0
    } else if insn.op_count() > 0 && insn.op0_kind() == OpKind::Memory {
        load_fp(cpu, mem, insn, false)?
    } else {
        let i = match insn.op_count() {
            0 => 1,
            1 => sti(insn.op0_register())?,
            _ => sti(insn.op1_register())?,
        };
        st(cpu, i)
    };
    let a = st(cpu, 0);
    let c = compare(cpu, a, b, !unordered);
    set_cc(cpu, c);
    for _ in 0..pops {
        pop(cpu);
    }
    Ok(())
}

/// `fcomi`, `fcomip`, `fucomi`, `fucomip`: ZF, PF, CF; OF, SF, AF cleared.
fn fcomi(cpu: &mut Cpu, _: &mut dyn GuestMem, insn: &Instruction) -> R {
    let m = insn.mnemonic();
    let i = match insn.op_count() {
        0 => 1,
        1 => sti(insn.op0_register())?,
        _ => sti(insn.op1_register())?,
    };
    let (a, b) = (st(cpu, 0), st(cpu, i));
    let (z, p, c) = compare(cpu, a, b, matches!(m, M::Fcomi | M::Fcomip));
    let mut f = cpu.rflags & !flags::STATUS;
    if z {
        f |= flags::ZF;
    }
    if p {
        f |= flags::PF;
    }
    if c {
        f |= flags::CF;
    }
    cpu.rflags = f;
    cpu.x87.sw &= !sw::C1;
    if matches!(m, M::Fcomip | M::Fucomip) {
        pop(cpu);
    }
    Ok(())
}

fn fxam(cpu: &mut Cpu, _: &mut dyn GuestMem, _: &Instruction) -> R {
    let x = cpu.x87.st[phys(cpu, 0)];
    let (c3, c2, c0) = if is_empty(cpu, 0) {
        (true, false, true)
    } else if x.is_nan() {
        (false, false, true)
    } else if x.is_infinite() {
        (false, true, true)
    } else if x == 0.0 {
        (true, false, false)
    } else {
        // Double denormals are normal extended values.
        (false, true, false)
    };
    set_cc(cpu, (c3, c2, c0));
    if x.is_sign_negative() {
        cpu.x87.sw |= sw::C1;
    }
    Ok(())
}

fn fcmov(cpu: &mut Cpu, _: &mut dyn GuestMem, insn: &Instruction) -> R {
    let f = |b| cpu.rflags & b != 0;
    let take = match insn.mnemonic() {
        M::Fcmovb => f(flags::CF),
        M::Fcmovnb => !f(flags::CF),
        M::Fcmove => f(flags::ZF),
        M::Fcmovne => !f(flags::ZF),
        M::Fcmovbe => f(flags::CF) || f(flags::ZF),
        M::Fcmovnbe => !f(flags::CF) && !f(flags::ZF),
        M::Fcmovu => f(flags::PF),
        M::Fcmovnu => !f(flags::PF),
        _ => return Err(Exit::Illegal),
    };
    let i = sti(insn.op1_register())?;
    cpu.x87.sw &= !sw::C1;
    if is_empty(cpu, 0) || is_empty(cpu, i) {
        // Stack underflow: ST(0) becomes the indefinite NaN either way.
        raise(cpu, sw::IE | sw::SF);
        set_st(cpu, 0, INDEFINITE);
        return Ok(());
    }
    if take {
        let v = st(cpu, i);
        set_st(cpu, 0, v);
    }
    Ok(())
}

/// The full tag word (2 bits per physical register: valid, zero, special,
/// empty).
fn tag_word(cpu: &Cpu) -> u16 {
    let mut t = 0u16;
    for p in 0..8 {
        let v = cpu.x87.st[p];
        let tag = if cpu.x87.empty & (1 << p) != 0 {
            3
        } else if v == 0.0 {
            1
        } else if !v.is_finite() {
            2
        } else {
            0
        };
        t |= tag << (2 * p);
    }
    t
}

fn control(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> R {
    let m = insn.mnemonic();
    match m {
        M::Fnstsw | M::Fstsw => {
            let v = status_word(cpu);
            if insn.op0_kind() == OpKind::Register {
                // ax
                cpu.gpr[0] = (cpu.gpr[0] & !0xffff) | v as u64;
                Ok(())
            } else {
                let a = sse::ea(cpu, insn)?;
                sse::store(mem, a, v as u128, 2)
            }
        }
        M::Fnstcw | M::Fstcw => {
            let a = sse::ea(cpu, insn)?;
            sse::store(mem, a, cpu.x87.cw as u128, 2)
        }
        M::Fldcw => {
            let a = sse::ea(cpu, insn)?;
            cpu.x87.cw = sse::load(mem, a, 2)? as u16;
            update_es(cpu);
            Ok(())
        }
        M::Fninit | M::Finit => {
            cpu.x87 = crate::cpu::X87::default();
            Ok(())
        }
        M::Fnclex | M::Fclex => {
            cpu.x87.sw &= !(0x3f | sw::SF | sw::ES | sw::B);
            Ok(())
        }
        M::Ffree | M::Ffreep => {
            let p = phys(cpu, sti(insn.op0_register())?);
            cpu.x87.empty |= 1 << p;
            if m == M::Ffreep {
                pop(cpu);
            }
            Ok(())
        }
        M::Fincstp => {
            cpu.x87.top = (cpu.x87.top + 1) & 7;
            cpu.x87.sw &= !sw::C1;
            Ok(())
        }
        M::Fdecstp => {
            cpu.x87.top = cpu.x87.top.wrapping_sub(1) & 7;
            cpu.x87.sw &= !sw::C1;
            Ok(())
        }
        M::Fnop | M::Wait => Ok(()),
        M::Fnstenv | M::Fstenv => {
            if insn.code() != Code::Fnstenv_m28byte && insn.code() != Code::Fstenv_m28byte {
                return Err(Exit::Illegal);
            }
            let a = sse::ea(cpu, insn)?;
            let mut b = [0u8; 28];
            b[0..2].copy_from_slice(&cpu.x87.cw.to_le_bytes());
            b[2..4].copy_from_slice(&0xffffu16.to_le_bytes());
            b[4..6].copy_from_slice(&status_word(cpu).to_le_bytes());
            b[6..8].copy_from_slice(&0xffffu16.to_le_bytes());
            b[8..10].copy_from_slice(&tag_word(cpu).to_le_bytes());
            b[10..12].copy_from_slice(&0xffffu16.to_le_bytes());
            mem.write(a, &b)?;
            // fnstenv then masks all exceptions.
            cpu.x87.cw |= 0x3f;
            update_es(cpu);
            Ok(())
        }
        M::Fldenv => {
            if insn.code() != Code::Fldenv_m28byte {
                return Err(Exit::Illegal);
            }
            let a = sse::ea(cpu, insn)?;
            let mut b = [0u8; 28];
            mem.read(a, &mut b)?;
            let w = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
            cpu.x87.cw = w(0);
            let s = w(4);
            cpu.x87.sw = s & !sw::TOP;
            cpu.x87.top = ((s >> 11) & 7) as u8;
            let tag = w(8);
            let mut empty = 0u8;
            for p in 0..8 {
                if (tag >> (2 * p)) & 3 == 3 {
                    empty |= 1 << p;
                }
            }
            cpu.x87.empty = empty;
            update_es(cpu);
            Ok(())
        }
        _ => Err(Exit::Illegal),
    }
}

/// ES and B follow the unmasked exceptions pending in the status word.
fn update_es(cpu: &mut Cpu) {
    let pending = cpu.x87.sw & 0x3f & !(cpu.x87.cw & 0x3f);
    if pending != 0 {
        cpu.x87.sw |= sw::ES | sw::B;
    } else {
        cpu.x87.sw &= !(sw::ES | sw::B);
    }
}

/// `fxsave`/`fxrstor` (and their REX.W forms): the 512-byte image of the
/// x87, MXCSR and XMM state. Instruction and data pointers are stored as 0.
fn fxsave(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> R {
    let a = sse::ea(cpu, insn)?;
    if !a.is_multiple_of(16) {
        return Err(Exit::Privileged);
    }
    if matches!(insn.mnemonic(), M::Fxsave | M::Fxsave64) {
        let b = fxsave_image(cpu);
        mem.write(a, &b)?;
        Ok(())
    } else {
        let mut b = [0u8; 512];
        mem.read(a, &mut b)?;
        fxrstor_image(cpu, &b)
    }
}

/// The `fxsave` image of `cpu`'s state.
pub fn fxsave_image(cpu: &Cpu) -> [u8; 512] {
    let mut b = [0u8; 512];
    b[0..2].copy_from_slice(&cpu.x87.cw.to_le_bytes());
    b[2..4].copy_from_slice(&status_word(cpu).to_le_bytes());
    b[4] = !cpu.x87.empty;
    b[24..28].copy_from_slice(&cpu.mxcsr.to_le_bytes());
    b[28..32].copy_from_slice(&sse::mxcsr::WRITABLE.to_le_bytes());
    for i in 0..8 {
        let v = cpu.x87.st[phys(cpu, i)];
        let o = 32 + 16 * i;
        b[o..o + 10].copy_from_slice(&f64_to_m80(v));
    }
    for (i, x) in cpu.xmm.iter().enumerate() {
        let o = 160 + 16 * i;
        b[o..o + 8].copy_from_slice(&x[0].to_le_bytes());
        b[o + 8..o + 16].copy_from_slice(&x[1].to_le_bytes());
    }
    b
}

/// Loads an `fxsave` image; reserved MXCSR bits set are #GP (SIGSEGV).
pub fn fxrstor_image(cpu: &mut Cpu, b: &[u8; 512]) -> R {
    let w = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let mxcsr = u32::from_le_bytes([b[24], b[25], b[26], b[27]]);
    if mxcsr & !sse::mxcsr::WRITABLE != 0 {
        return Err(Exit::Privileged);
    }
    cpu.mxcsr = mxcsr;
    cpu.x87.cw = w(0);
    let s = w(2);
    cpu.x87.sw = s & !sw::TOP;
    cpu.x87.top = ((s >> 11) & 7) as u8;
    cpu.x87.empty = !b[4];
    for i in 0..8 {
        let o = 32 + 16 * i;
        let mut r = [0u8; 10];
        r.copy_from_slice(&b[o..o + 10]);
        let p = phys(cpu, i);
        cpu.x87.st[p] = m80_to_f64(&r).unwrap_or(INDEFINITE);
    }
    for (i, x) in cpu.xmm.iter_mut().enumerate() {
        let o = 160 + 16 * i;
        let q = |k: usize| {
            let mut t = [0u8; 8];
            t.copy_from_slice(&b[k..k + 8]);
            u64::from_le_bytes(t)
        };
        *x = [q(o), q(o + 8)];
    }
    Ok(())
}

/// The helper of mnemonic `m`, if the subset covers it.
fn op(m: Mnemonic) -> Option<Helper> {
    let h: Helper = match m {
        M::Fld | M::Fild => fld,
        M::Fldz | M::Fld1 | M::Fldl2e | M::Fldl2t | M::Fldlg2 | M::Fldln2 | M::Fldpi => fld_const,
        M::Fst | M::Fstp | M::Fstpnce | M::Fist | M::Fistp | M::Fisttp => fst,
        M::Fxch => fxch,
        M::Fadd
        | M::Faddp
        | M::Fiadd
        | M::Fsub
        | M::Fsubp
        | M::Fisub
        | M::Fsubr
        | M::Fsubrp
        | M::Fisubr
        | M::Fmul
        | M::Fmulp
        | M::Fimul
        | M::Fdiv
        | M::Fdivp
        | M::Fidiv
        | M::Fdivr
        | M::Fdivrp
        | M::Fidivr => farith,
        M::Fchs | M::Fabs | M::Fsqrt | M::Frndint => unary,
        M::Fscale => fscale,
        M::Fprem | M::Fprem1 => fprem,
        M::Fcom
        | M::Fcomp
        | M::Fcompp
        | M::Fucom
        | M::Fucomp
        | M::Fucompp
        | M::Ficom
        | M::Ficomp
        | M::Ftst => fcom,
        M::Fcomi | M::Fcomip | M::Fucomi | M::Fucomip => fcomi,
        M::Fxam => fxam,
        M::Fcmovb
        | M::Fcmovnb
        | M::Fcmove
        | M::Fcmovne
        | M::Fcmovbe
        | M::Fcmovnbe
        | M::Fcmovu
        | M::Fcmovnu => fcmov,
        M::Fnstsw
        | M::Fstsw
        | M::Fnstcw
        | M::Fstcw
        | M::Fldcw
        | M::Fninit
        | M::Finit
        | M::Fnclex
        | M::Fclex
        | M::Ffree
        | M::Ffreep
        | M::Fincstp
        | M::Fdecstp
        | M::Fnop
        | M::Wait
        | M::Fnstenv
        | M::Fstenv
        | M::Fldenv => control,
        M::Fxsave | M::Fxsave64 | M::Fxrstor | M::Fxrstor64 => fxsave,
        _ => return None,
    };
    Some(h)
}

#[cfg(test)]
mod tests {
    //! Instructions run natively (state set and captured with
    //! `fxrstor`/`fxsave`) and in the interpreter from the same `fxsave`
    //! image; with the precision control set to double (53 bits) the
    //! results must be bit-identical.

    use iced_x86::{Decoder, DecoderOptions};

    use super::{f64_to_m80, fxrstor_image, fxsave_image, m80_to_f64};
    use crate::cpu::{Cpu, flags};
    use crate::sem::sse::tests::{MEM_BASE, Rng, TestMem};

    /// State around the instructions under test.
    #[repr(C, align(16))]
    #[derive(Clone, Copy)]
    pub struct XSt {
        input: [u8; 512],
        output: [u8; 512],
        host: [u8; 512],
        rax: u64,
        rflags: u64,
        pad: [u64; 2],
        mem: [u64; 6],
    }

    type Native = fn(&mut XSt) -> &'static [u8];

    macro_rules! native_x87 {
        ($($text:literal),+) => {{
            #[allow(unsafe_code, reason = "runs the instructions under test natively")]
            fn run(st: &mut XSt) -> &'static [u8] {
                let start: usize;
                let end: usize;
                // SAFETY: the block saves the host's x87/SSE state, loads the
                // test's, and restores the host's with fxrstor before it
                // ends; it touches only rax, rdi (declared) and the `XSt`
                // that rsi points to (valid, exclusively borrowed, 16-byte
                // aligned); RFLAGS gets only status flags. The bytes between
                // the labels are this function's code.
                unsafe {
                    core::arch::asm!(
                        "lea {start}, [rip + 20f]",
                        "lea {end}, [rip + 21f]",
                        "fxsave [rsi + 1024]",
                        "fxrstor [rsi]",
                        "mov rax, [rsi + 1536]",
                        "lea rdi, [rsi + 1568]",
                        "push qword ptr [rsi + 1544]",
                        "popfq",
                        "20:",
                        $($text, )+
                        "21:",
                        "pushfq",
                        "pop qword ptr [rsi + 1544]",
                        "mov [rsi + 1536], rax",
                        "fxsave [rsi + 512]",
                        "fxrstor [rsi + 1024]",
                        start = out(reg) start,
                        end = out(reg) end,
                        in("rsi") st as *mut XSt,
                        out("rdi") _,
                        out("rax") _,
                    );
                    core::slice::from_raw_parts(start as *const u8, end - start)
                }
            }
            run as Native
        }};
    }

    /// Runs the instructions in `bytes` in the interpreter from `st.input`.
    fn emulate(bytes: &[u8], st: &XSt) -> XSt {
        let mut cpu = Cpu::default();
        fxrstor_image(&mut cpu, &st.input).expect("valid image");
        cpu.gpr[0] = st.rax;
        cpu.gpr[7] = MEM_BASE;
        cpu.rflags = st.rflags;
        let mut mem = TestMem {
            base: MEM_BASE,
            data: st.mem.iter().flat_map(|q| q.to_le_bytes()).collect(),
        };
        let code = 0x40_0000;
        let mut d = Decoder::with_ip(64, bytes, code, DecoderOptions::NONE);
        while d.can_decode() {
            let insn = d.decode();
            cpu.rip = insn.ip();
            let r = crate::interp::step(&mut cpu, &mut mem, &insn);
            assert_eq!(r, Ok(()), "{insn:?}");
        }
        let mut out = *st;
        out.output = fxsave_image(&cpu);
        out.rax = cpu.gpr[0];
        out.rflags = cpu.rflags;
        for (i, q) in out.mem.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&mem.data[i * 8..i * 8 + 8]);
            *q = u64::from_le_bytes(b);
        }
        out
    }

    /// A double in a range where double-precision x87 arithmetic cannot
    /// leave the double range, or a special value.
    fn value(rng: &mut Rng) -> f64 {
        let r = rng.next();
        match r % 10 {
            0 => [
                0.0,
                -0.0,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NAN,
                1.0,
                -1.0,
                0.5,
            ][(r >> 8) as usize % 8],
            1..=3 => (((r >> 8) % 2000) as f64 - 1000.0) / 4.0,
            _ => {
                let e = (r >> 8) % 400;
                f64::from_bits((r & 0x800f_ffff_ffff_ffff) | (1023 - 200 + e) << 52)
            }
        }
    }

    /// What memory operands hold.
    #[derive(Clone, Copy)]
    enum Mem {
        /// Any bits (NaNs, extremes).
        Wild,
        /// Doubles (and a float) whose arithmetic stays in double's range.
        Values,
        /// Integers within 53 bits.
        Ints,
    }

    /// A random input: `depth` values on the stack, control word with double
    /// precision and a random rounding mode (or `cw`).
    fn input(rng: &mut Rng, cw: Option<u16>, mode: Mem) -> XSt {
        let mut cpu = Cpu::default();
        cpu.x87.cw = cw.unwrap_or(0x027f | ((rng.next() as u16 & 3) << 10));
        let depth = 2 + rng.next() % 6;
        for _ in 0..depth {
            cpu.x87.top = cpu.x87.top.wrapping_sub(1) & 7;
            let p = cpu.x87.top as usize;
            cpu.x87.st[p] = value(rng);
            cpu.x87.empty &= !(1 << p);
        }
        let m80 = f64_to_m80(value(rng));
        let mut m = [0u8; 48];
        for q in m.chunks_mut(8) {
            q.copy_from_slice(&rng.f64().to_le_bytes());
        }
        match mode {
            Mem::Wild => {
                if rng.next().is_multiple_of(2) {
                    m[..8].copy_from_slice(&value(rng).to_le_bytes());
                }
            }
            Mem::Values => {
                m[..8].copy_from_slice(&value(rng).to_le_bytes());
                m[8..16].copy_from_slice(&value(rng).to_le_bytes());
                // A float of the double's range at [rdi + 40].
                m[40..44].copy_from_slice(&(value(rng) as f32).to_le_bytes());
            }
            Mem::Ints => {
                // Integers a double holds exactly.
                let i = (rng.next() as i64) >> (11 + rng.next() % 50);
                m[..8].copy_from_slice(&i.to_le_bytes());
            }
        }
        m[16..26].copy_from_slice(&m80);
        let mut mem = [0u64; 6];
        for (i, q) in mem.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&m[i * 8..i * 8 + 8]);
            *q = u64::from_le_bytes(b);
        }
        XSt {
            input: fxsave_image(&cpu),
            output: [0; 512],
            host: [0; 512],
            rax: rng.next(),
            rflags: rng.flags(),
            pad: [0; 2],
            mem,
        }
    }

    /// Compares what the model keeps: control and status words (less the
    /// bits `sw_ignore`), tags, the valid registers, rax, flags, memory.
    fn same(a: &XSt, b: &XSt, sw_ignore: u16) -> bool {
        let w = |x: &XSt, i: usize| u16::from_le_bytes([x.output[i], x.output[i + 1]]);
        // Not modelled: DE, OE, UE.
        let ignore = sw_ignore | 0x1a;
        if w(a, 0) != w(b, 0) || (w(a, 2) ^ w(b, 2)) & !ignore != 0 || a.output[4] != b.output[4] {
            return false;
        }
        let top = (w(a, 2) >> 11) & 7;
        for i in 0..8 {
            let p = (top as usize + i) & 7;
            let o = 32 + 16 * i;
            if a.output[4] & (1 << p) != 0 && a.output[o..o + 10] != b.output[o..o + 10] {
                return false;
            }
        }
        a.rax == b.rax && a.rflags & flags::STATUS == b.rflags & flags::STATUS && a.mem == b.mem
    }

    fn show(x: &XSt) -> String {
        let w = |i: usize| u16::from_le_bytes([x.output[i], x.output[i + 1]]);
        let mut s = format!(
            "cw {:04x} sw {:04x} tag {:02x} st:",
            w(0),
            w(2),
            x.output[4]
        );
        for i in 0..8 {
            let mut r = [0u8; 10];
            r.copy_from_slice(&x.output[32 + 16 * i..42 + 16 * i]);
            s += &format!(" {:?}/{:x?}", m80_to_f64(&r), &r[6..]);
        }
        s + &format!(
            " rax {:x} fl {:x} mem {:x?}",
            x.rax,
            x.rflags & flags::STATUS,
            x.mem
        )
    }

    /// Whether every valid register of `x.output` holds a double (results
    /// beyond double's range or precision are outside the model).
    fn doubles_only(x: &XSt) -> bool {
        let top = (u16::from_le_bytes([x.output[2], x.output[3]]) >> 11) & 7;
        (0..8).all(|i| {
            let p = (top as usize + i) & 7;
            let mut r = [0u8; 10];
            r.copy_from_slice(&x.output[32 + 16 * i..42 + 16 * i]);
            x.output[4] & (1 << p) == 0
                || m80_to_f64(&r).is_some_and(|v| v.is_nan() || f64_to_m80(v) == r)
        })
    }

    fn check(name: &str, f: Native, n: usize, cw: Option<u16>, sw_ignore: u16, mode: Mem) {
        let mut rng = Rng(0x5851_f42d_4c95_7f2d ^ (name.len() as u64 * 0x9e37));
        let n = n * std::env::var("LIFT_FP_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        for case in 0..n {
            let mut st = input(&mut rng, cw, mode);
            if name == "fscale" {
                // Scales that keep results in double's range.
                let k = (rng.next() % 600) as f64 - 300.0;
                st.input[48..58].copy_from_slice(&f64_to_m80(k));
            }
            let mut native = st;
            let bytes = f(&mut native);
            if !doubles_only(&native) {
                continue;
            }
            let emu = emulate(bytes, &st);
            let mut inp = st;
            inp.output = st.input;
            assert!(
                same(&native, &emu, sw_ignore),
                "{name} case {case}\ninput    {}\nnative   {}\nemulated {}",
                show(&inp),
                show(&native),
                show(&emu)
            );
        }
    }

    macro_rules! cases {
        ($n:expr, $cw:expr, $ign:expr, $mode:ident; $($text:literal),+ $(,)?) => {
            $( check($text, native_x87!($text), $n, $cw, $ign, Mem::$mode); )+
        };
    }

    const C1: u16 = 1 << 9;

    #[test]
    fn loads_and_stores() {
        cases!(500, None, 0, Ints; "fild qword ptr [rdi]", "fild dword ptr [rdi]");
        cases!(500, None, 0, Wild;
            "fld qword ptr [rdi]", "fld dword ptr [rdi + 4]", "fld tbyte ptr [rdi + 16]",
            "fld st(0)", "fld st(3)", "fst qword ptr [rdi + 8]", "fstp qword ptr [rdi]",
            "fst dword ptr [rdi + 4]", "fstp dword ptr [rdi + 12]", "fstp tbyte ptr [rdi + 16]",
            "fst st(2)", "fstp st(1)", "fstp st(0)", "fild word ptr [rdi]", "fild dword ptr [rdi]",
            "fist word ptr [rdi]", "fist dword ptr [rdi + 4]",
            "fistp dword ptr [rdi]", "fistp qword ptr [rdi + 8]", "fisttp qword ptr [rdi]",
            "fisttp dword ptr [rdi]", "fisttp word ptr [rdi]", "fldz", "fld1", "fxch st(1)",
            "fxch st(3)", "fchs", "fabs",
        );
    }

    #[test]
    fn arithmetic() {
        cases!(1500, None, C1, Values;
            "fadd st(0), st(1)", "fadd st(2), st(0)", "faddp st(1), st(0)", "fadd qword ptr [rdi]",
            "fsub st(0), st(1)", "fsub st(1), st(0)", "fsubp st(2), st(0)", "fsub dword ptr [rdi]",
            "fsubr st(0), st(2)", "fsubr st(1), st(0)", "fsubrp st(1), st(0)", "fsubr qword ptr [rdi]",
            "fmul st(0), st(1)", "fmulp st(1), st(0)", "fmul dword ptr [rdi + 40]",
            "fdiv st(0), st(1)", "fdiv st(1), st(0)", "fdivp st(1), st(0)", "fdiv qword ptr [rdi]",
            "fdivr st(0), st(1)", "fdivrp st(2), st(0)", "fdivr qword ptr [rdi]",
            "fiadd dword ptr [rdi]", "fisub word ptr [rdi]", "fimul dword ptr [rdi]",
            "fidiv dword ptr [rdi + 4]", "fidivr word ptr [rdi]",
            "fsqrt", "frndint", "fscale", "fprem", "fprem1",
        );
    }

    #[test]
    fn comparisons() {
        cases!(500, None, 0, Wild;
            "fcom st(1)", "fcom qword ptr [rdi]", "fcomp st(2)", "fcomp dword ptr [rdi]", "fcompp",
            "fucom st(1)", "fucomp st(1)", "fucompp", "ficom dword ptr [rdi]",
            "ficomp word ptr [rdi]", "ftst", "fxam", "fcomi st(0), st(1)", "fcomip st(0), st(2)",
            "fucomi st(0), st(1)", "fucomip st(0), st(1)",
            "fcmovb st(0), st(1)", "fcmove st(0), st(2)", "fcmovbe st(0), st(1)",
            "fcmovu st(0), st(1)", "fcmovnb st(0), st(1)", "fcmovne st(0), st(1)",
            "fcmovnbe st(0), st(1)", "fcmovnu st(0), st(1)",
        );
    }

    #[test]
    fn control() {
        cases!(200, None, 0, Wild;
            "fnstsw ax", "fnstsw word ptr [rdi]", "fnstcw word ptr [rdi + 2]", "fninit", "fnclex",
            "fincstp", "fdecstp", "ffree st(1)", "fwait", "fnop",
        );
        // fldcw: a control word from memory (with exceptions masked).
        for (k, cw) in [0x037fu16, 0x0f7f, 0x027f, 0x0b7f, 0x077f]
            .into_iter()
            .enumerate()
        {
            let mut rng = Rng(k as u64 + 1);
            let mut st = input(&mut rng, None, Mem::Wild);
            st.mem[0] = cw as u64;
            let mut native = st;
            let bytes = native_x87!("fldcw word ptr [rdi]")(&mut native);
            let emu = emulate(bytes, &st);
            assert!(same(&native, &emu, 0), "fldcw {cw:x}");
        }
        // fnstenv: the first 12 bytes (control, status, tag words); the
        // instruction and data pointers are not modelled. Then fldenv.
        for k in 0..50 {
            let mut rng = Rng(k + 7);
            let st = input(&mut rng, None, Mem::Wild);
            let mut native = st;
            let bytes = native_x87!("fnstenv [rdi]", "fldenv [rdi]")(&mut native);
            let emu = emulate(bytes, &st);
            let mask = |x: &XSt| {
                let mut y = *x;
                y.mem[1] &= 0xffff_ffff;
                y.mem[2] = 0;
                y.mem[3] &= !0xffff_ffff;
                y
            };
            assert!(same(&mask(&native), &mask(&emu), 0), "fnstenv case {k}");
        }
    }

    #[test]
    fn long_double_loads_round() {
        // Random extended values (integer bit set, so no unnormals) loaded
        // and stored as doubles: the same double as the hardware's
        // conversion in round-to-nearest.
        let mut rng = Rng(42);
        for case in 0..5000 {
            let mut st = input(&mut rng, Some(0x037f), Mem::Wild);
            let mant = rng.next() | 1 << 63;
            let exp = match rng.next() % 4 {
                0 => 16383 - 1022 - (rng.next() % 70) as u16,
                1 => 16383 + 1023 - (rng.next() % 3) as u16 + (rng.next() % 3) as u16,
                _ => 16383 - 500 + (rng.next() % 1000) as u16,
            } | ((rng.next() as u16 & 1) << 15);
            st.mem[2] = mant;
            st.mem[3] = exp as u64;
            let mut native = st;
            let bytes =
                native_x87!("fld tbyte ptr [rdi + 16]", "fstp qword ptr [rdi]")(&mut native);
            let emu = emulate(bytes, &st);
            // The store's precision/underflow flags are not modelled here.
            assert_eq!(native.mem[0], emu.mem[0], "case {case}: {mant:x} {exp:x}");
        }
    }

    #[test]
    fn m80_round_trip() {
        let mut rng = Rng(3);
        for _ in 0..10000 {
            let x = f64::from_bits(rng.f64());
            let back = m80_to_f64(&f64_to_m80(x)).expect("supported");
            assert!(
                back.to_bits() == x.to_bits() || (x.is_nan() && back.is_nan()),
                "{x:e}"
            );
        }
    }

    #[test]
    fn fxsave_round_trip() {
        let mut rng = Rng(5);
        let mut cpu = Cpu::default();
        for x in cpu.xmm.iter_mut() {
            *x = [rng.next(), rng.next()];
        }
        cpu.x87.top = 5;
        cpu.x87.empty = 0x1f;
        for i in 5..8 {
            cpu.x87.st[i] = value(&mut rng);
        }
        cpu.x87.cw = 0x0b7f;
        cpu.mxcsr = 0x3fa0;
        let img = fxsave_image(&cpu);
        let mut back = Cpu::default();
        fxrstor_image(&mut back, &img).expect("valid");
        assert_eq!(back.xmm, cpu.xmm);
        assert_eq!(
            (back.x87.top, back.x87.empty, back.x87.cw),
            (5, 0x1f, 0x0b7f)
        );
        assert_eq!(back.mxcsr, 0x3fa0);
        for i in 5..8 {
            assert_eq!(back.x87.st[i].to_bits(), cpu.x87.st[i].to_bits());
        }
    }
}
