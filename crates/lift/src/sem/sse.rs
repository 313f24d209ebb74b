//! SSE and SSE2, as glibc and busybox use them: helpers over the XMM registers.
//!
//! Every instruction of the family is one helper, [`exec`], which dispatches
//! on the mnemonic (and on [`Code`] where one mnemonic has several operand
//! forms). It owns the 128-bit moves, packed integer operations, shuffles and
//! shifts, scalar and packed single/double floating point with IEEE-exact
//! results, MXCSR (rounding control, DAZ/FTZ, sticky exception flags, and
//! SIGFPE for an unmasked exception), and `ldmxcsr`/`stmxcsr`. It does not own
//! MMX (`mm` register forms are [`Exit::Illegal`]: the guest state has no MMX
//! registers), SSE3 and later (the CPU reported to the guest lacks them), nor
//! the string instructions that share the `movsd`/`cmpsd` mnemonics
//! (`string.rs`; [`super::handler`] routes the forms with an XMM operand here).
//!
//! Floating point does not rely on the host's NaN behaviour (WASM
//! canonicalises NaNs): x86's NaN rules (the first source NaN wins, quietened;
//! invalid operations give the negative "default NaN") are applied
//! explicitly, and inexactness and directed rounding are derived from the
//! exact residual of each operation, so results and MXCSR flags are those of
//! the hardware in every rounding mode. Known approximation: overflow and
//! underflow are detected on the rounded result, which differs from the
//! hardware only for values within half an ulp of the format's limits in the
//! directed rounding modes.

use core::cmp::Ordering;

use iced_x86::{Code, Instruction, Mnemonic, OpKind, Register};

use super::{Handler, Helper, M, Sem};
use crate::cpu::{Cpu, flags};
use crate::interp::Exit;
use crate::mem::GuestMem;

pub fn handler<S: Sem>(m: Mnemonic) -> Option<Handler<S>> {
    op(m).map(|_| (|s: &mut S| s.helper(exec)) as Handler<S>)
}

/// Executes one SSE/SSE2 instruction (the helper every executor calls).
pub fn exec(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> Result<(), Exit> {
    match op(insn.mnemonic()) {
        Some(f) => f(cpu, mem, insn),
        None => Err(Exit::Illegal),
    }
}

type R = Result<(), Exit>;

// ---- MXCSR ----

/// MXCSR exception flags (the masks are the same bits shifted left by 7).
pub mod mxcsr {
    pub const IE: u32 = 1 << 0;
    pub const DE: u32 = 1 << 1;
    pub const ZE: u32 = 1 << 2;
    pub const OE: u32 = 1 << 3;
    pub const UE: u32 = 1 << 4;
    pub const PE: u32 = 1 << 5;
    pub const DAZ: u32 = 1 << 6;
    pub const MASK_SHIFT: u32 = 7;
    pub const RC_SHIFT: u32 = 13;
    pub const FTZ: u32 = 1 << 15;
    /// The bits `ldmxcsr` accepts (MXCSR_MASK as `fxsave` reports it).
    pub const WRITABLE: u32 = 0xffff;
}

/// A rounding mode, as MXCSR.RC and the x87 control word's RC encode it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    Nearest = 0,
    Down = 1,
    Up = 2,
    Zero = 3,
}

impl Round {
    pub fn from_bits(rc: u32) -> Round {
        match rc & 3 {
            0 => Round::Nearest,
            1 => Round::Down,
            2 => Round::Up,
            _ => Round::Zero,
        }
    }
}

/// The floating-point environment of one SSE instruction: the controls read
/// from MXCSR and the exception flags it raises.
#[derive(Debug, Clone, Copy)]
pub struct Env {
    pub round: Round,
    pub daz: bool,
    pub ftz: bool,
    /// Exception flags raised (`mxcsr::IE` ... `mxcsr::PE`).
    pub raised: u32,
}

impl Env {
    pub fn new(mxcsr: u32) -> Env {
        Env {
            round: Round::from_bits(mxcsr >> mxcsr::RC_SHIFT),
            daz: mxcsr & mxcsr::DAZ != 0,
            ftz: mxcsr & mxcsr::FTZ != 0,
            raised: 0,
        }
    }

    /// An environment with round-to-nearest and no DAZ/FTZ (the x87 helpers
    /// use it with the control word's rounding).
    pub fn with_round(round: Round) -> Env {
        Env {
            round,
            daz: false,
            ftz: false,
            raised: 0,
        }
    }
}

/// Records `env`'s flags in MXCSR; an unmasked one is SIGFPE, and then the
/// destination must not be written.
fn commit(cpu: &mut Cpu, env: &Env) -> R {
    cpu.mxcsr |= env.raised;
    let masks = (cpu.mxcsr >> mxcsr::MASK_SHIFT) & 0x3f;
    if env.raised & !masks != 0 {
        return Err(Exit::Divide);
    }
    Ok(())
}

// ---- Floating-point formats ----

/// The operations the arithmetic needs from `f32` and `f64`.
pub trait Float: Copy + PartialOrd + core::fmt::Debug {
    const BITS: u32;
    const FRAC: u32;
    const MIN_POSITIVE: Self;
    fn to_bits64(self) -> u64;
    fn from_bits64(b: u64) -> Self;
    fn to_f64(self) -> f64;
    /// Nearest value of `x` (ties to even).
    fn from_f64(x: f64) -> Self;
    fn next_up(self) -> Self;
    fn next_down(self) -> Self;
    fn is_infinite(self) -> bool;
    fn abs(self) -> Self;
    fn zero(neg: bool) -> Self;
}

macro_rules! float_impl {
    ($t:ty, $u:ty, $frac:expr) => {
        impl Float for $t {
            const BITS: u32 = <$u>::BITS;
            const FRAC: u32 = $frac;
            const MIN_POSITIVE: Self = <$t>::MIN_POSITIVE;
            fn to_bits64(self) -> u64 {
                self.to_bits() as u64
            }
            fn from_bits64(b: u64) -> Self {
                <$t>::from_bits(b as $u)
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            fn next_up(self) -> Self {
                <$t>::next_up(self)
            }
            fn next_down(self) -> Self {
                <$t>::next_down(self)
            }
            fn is_infinite(self) -> bool {
                <$t>::is_infinite(self)
            }
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            fn zero(neg: bool) -> Self {
                if neg { -0.0 } else { 0.0 }
            }
        }
    };
}
float_impl!(f32, u32, 23);
float_impl!(f64, u64, 52);

/// Bit-level classification of a value of format `T` held in the low bits.
fn exp_mask<T: Float>() -> u64 {
    ((1u64 << (T::BITS - 1 - T::FRAC)) - 1) << T::FRAC
}
fn frac_mask<T: Float>() -> u64 {
    (1u64 << T::FRAC) - 1
}
fn sign_bit<T: Float>() -> u64 {
    1u64 << (T::BITS - 1)
}
fn quiet_bit<T: Float>() -> u64 {
    1u64 << (T::FRAC - 1)
}
pub fn is_nan<T: Float>(x: u64) -> bool {
    x & exp_mask::<T>() == exp_mask::<T>() && x & frac_mask::<T>() != 0
}
pub fn is_snan<T: Float>(x: u64) -> bool {
    is_nan::<T>(x) && x & quiet_bit::<T>() == 0
}
fn quiet<T: Float>(x: u64) -> u64 {
    x | quiet_bit::<T>()
}
/// The "real indefinite" QNaN that invalid operations return.
pub fn default_nan<T: Float>() -> u64 {
    sign_bit::<T>() | exp_mask::<T>() | quiet_bit::<T>()
}
fn is_denormal<T: Float>(x: u64) -> bool {
    x & exp_mask::<T>() == 0 && x & frac_mask::<T>() != 0
}
fn is_neg<T: Float>(x: u64) -> bool {
    x & sign_bit::<T>() != 0
}

/// Applies DAZ to an operand, or notes a denormal operand.
fn operand<T: Float>(x: u64, env: &mut Env, de: &mut bool) -> u64 {
    if is_denormal::<T>(x) {
        if env.daz {
            return x & sign_bit::<T>();
        }
        *de = true;
    }
    x
}

/// Sign of `v` as -1, 0 or 1.
fn sgn(v: f64) -> i8 {
    if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

fn ord_sign(o: Ordering) -> i8 {
    match o {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

/// A finite non-zero `f64` as `m * 2^e` with an integer `m`.
fn decompose(x: f64) -> (u128, i32) {
    let b = x.to_bits();
    let e = ((b >> 52) & 0x7ff) as i32;
    let f = b & ((1 << 52) - 1);
    if e == 0 {
        (f as u128, -1074)
    } else {
        ((f | 1 << 52) as u128, e - 1075)
    }
}

/// Compares `m1 * 2^e1` with `m2 * 2^e2` (non-negative, exactly).
fn cmp_scaled(m1: u128, e1: i32, m2: u128, e2: i32) -> Ordering {
    match (m1 == 0, m2 == 0) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    let t1 = (128 - m1.leading_zeros()) as i32 + e1;
    let t2 = (128 - m2.leading_zeros()) as i32 + e2;
    if t1 != t2 {
        return t1.cmp(&t2);
    }
    // Same magnitude: the exponent difference is below 128 bits.
    if e1 >= e2 {
        (m1 << (e1 - e2) as u32).cmp(&m2)
    } else {
        m1.cmp(&(m2 << (e2 - e1) as u32))
    }
}

/// Compares `|a * b|` with `|c|` exactly (all finite).
fn cmp_product(a: f64, b: f64, c: f64) -> Ordering {
    if a == 0.0 || b == 0.0 {
        return if c == 0.0 {
            Ordering::Equal
        } else {
            Ordering::Less
        };
    }
    let (ma, ea) = decompose(a);
    let (mb, eb) = decompose(b);
    if c == 0.0 {
        return Ordering::Greater;
    }
    let (mc, ec) = decompose(c);
    cmp_scaled(ma * mb, ea + eb, mc, ec)
}

/// The arithmetic operations with a rounded result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    /// Of the second operand.
    Sqrt,
}

/// Rounds `(r, s)`, the nearest `T` to an exact value and the sign of
/// (exact - r), to `env`'s rounding mode, raising overflow, underflow and
/// precision. `beyond`: the exact value's magnitude is at least 2^(emax+1),
/// where rounding toward zero overflows too.
pub fn finish<T: Float>(r: T, s: i8, beyond: bool, env: &mut Env) -> T {
    let mut out = r;
    if s != 0 {
        let pos = r.to_bits64() >> (T::BITS - 1) == 0;
        out = match env.round {
            Round::Nearest => r,
            Round::Down if s < 0 => r.next_down(),
            Round::Up if s > 0 => r.next_up(),
            Round::Zero if pos && s < 0 => r.next_down(),
            Round::Zero if !pos && s > 0 => r.next_up(),
            _ => r,
        };
        env.raised |= mxcsr::PE;
        let away = match env.round {
            Round::Nearest => true,
            Round::Up => pos,
            Round::Down => !pos,
            Round::Zero => false,
        };
        let overflow = if away {
            r.is_infinite() || out.is_infinite()
        } else {
            beyond
        };
        if overflow {
            env.raised |= mxcsr::OE;
        }
        if out.abs() < T::MIN_POSITIVE {
            env.raised |= mxcsr::UE;
        }
    }
    if env.ftz && out.abs() < T::MIN_POSITIVE && (s != 0 || out.to_f64() != 0.0) {
        // Flush to zero (underflow is masked whenever FTZ is used).
        let neg = r.to_bits64() >> (T::BITS - 1) != 0;
        env.raised |= mxcsr::UE | mxcsr::PE;
        out = T::zero(neg);
    }
    out
}

/// From a nearest `f64` and its residual sign to the nearest `T` and its
/// residual sign (exact for +, -, *, /, sqrt of `f32` operands: 53 >= 2*24+2).
fn narrow<T: Float>(r: f64, s: i8) -> (T, i8) {
    let n = T::from_f64(r);
    let back = n.to_f64();
    if back == r || (r.is_nan()) {
        (n, s)
    } else if r > back {
        (n, 1)
    } else {
        (n, -1)
    }
}

/// `a op b` in format `T` with x86's NaN, exception and rounding rules.
/// Operands and result are bit patterns in the low bits.
pub fn arith<T: Float>(op: Arith, a: u64, b: u64, env: &mut Env) -> u64 {
    let unary = op == Arith::Sqrt;
    // NaN operands: the first NaN wins (quietened); an SNaN is invalid.
    let a_nan = !unary && is_nan::<T>(a);
    if a_nan || is_nan::<T>(b) {
        if (!unary && is_snan::<T>(a)) || is_snan::<T>(b) {
            env.raised |= mxcsr::IE;
        }
        return quiet::<T>(if a_nan { a } else { b });
    }
    let mut de = false;
    let a = if unary {
        a
    } else {
        operand::<T>(a, env, &mut de)
    };
    let b = operand::<T>(b, env, &mut de);
    let x = T::from_bits64(a).to_f64();
    let y = T::from_bits64(b).to_f64();
    let invalid = |env: &mut Env| {
        env.raised |= mxcsr::IE;
        default_nan::<T>()
    };
    match op {
        Arith::Add | Arith::Sub => {
            let y = if op == Arith::Sub { -y } else { y };
            if x.is_infinite() && y.is_infinite() && (x > 0.0) != (y > 0.0) {
                return invalid(env);
            }
        }
        Arith::Mul => {
            if (x == 0.0 && y.is_infinite()) || (x.is_infinite() && y == 0.0) {
                return invalid(env);
            }
        }
        Arith::Div => {
            if (x == 0.0 && y == 0.0) || (x.is_infinite() && y.is_infinite()) {
                return invalid(env);
            }
            if y == 0.0 && !x.is_infinite() {
                env.raised |= mxcsr::ZE;
                let neg = is_neg::<T>(a) != is_neg::<T>(b);
                return T::from_f64(if neg {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                })
                .to_bits64();
            }
        }
        Arith::Sqrt => {
            if y < 0.0 {
                return invalid(env);
            }
        }
    }
    // A denormal operand is reported unless the operation was invalid or a
    // division by zero (those return above).
    if de {
        env.raised |= mxcsr::DE;
    }
    let (r, s) = nearest(op, x, y, env.round == Round::Down);
    let beyond = if T::BITS == 32 {
        let lim = 2f64.powi(128);
        r.abs() > lim || (r.abs() == lim && s * sgn(r) >= 0)
    } else if r.is_infinite() && s != 0 {
        // Overflowed to infinity: whether the exact result reaches 2^1024
        // (then rounding toward zero overflows too), from the halved
        // operation, which does not overflow.
        let (h, hs) = match op {
            Arith::Add | Arith::Sub => nearest(op, x * 0.5, y * 0.5, false),
            _ => nearest(op, x * 0.5, y, false),
        };
        let lim = 2f64.powi(1023);
        h.abs() > lim || (h.abs() == lim && hs * sgn(h) >= 0)
    } else {
        false
    };
    let (n, s) = narrow::<T>(r, s);
    finish::<T>(n, s, beyond, env).to_bits64()
}

/// The nearest `f64` to `x op y` and the sign of (exact - it), for operands
/// that are not NaNs and an operation that is valid (no 0/0, inf-inf, ...).
/// `down`: an exact zero sum is -0 (rounding toward negative infinity).
fn nearest(op: Arith, x: f64, y: f64, down: bool) -> (f64, i8) {
    let neg = x.is_sign_negative() != y.is_sign_negative();
    let sign = if neg { -1 } else { 1 };
    match op {
        Arith::Add | Arith::Sub => {
            let y = if op == Arith::Sub { -y } else { y };
            let r = x + y;
            if x.is_infinite() || y.is_infinite() {
                (r, 0)
            } else if r.is_infinite() {
                (r, -sgn(r))
            } else {
                // Two-sum: the rounding error of r, exactly.
                let bb = r - x;
                let e = (x - (r - bb)) + (y - bb);
                if r == 0.0 && e == 0.0 && down {
                    // An exact zero sum is -0 when rounding down, unless
                    // both operands are +0.
                    let both_pos = x.is_sign_positive() && y.is_sign_positive();
                    (if both_pos { 0.0 } else { -0.0 }, 0)
                } else {
                    (r, sgn(e))
                }
            }
        }
        Arith::Mul => {
            let r = x * y;
            if x == 0.0 || y == 0.0 || x.is_infinite() || y.is_infinite() {
                (r, 0)
            } else if r.is_infinite() {
                (r, -sign)
            } else {
                (r, ord_sign(cmp_product(x, y, r)) * sign)
            }
        }
        Arith::Div => {
            let r = x / y;
            if x == 0.0 || x.is_infinite() || y.is_infinite() {
                (r, 0)
            } else if r.is_infinite() {
                (r, -sign)
            } else {
                // |exact| vs |r|  <=>  |x| vs |r * y|.
                (r, ord_sign(cmp_product(r, y, x).reverse()) * sign)
            }
        }
        Arith::Sqrt => {
            let r = y.sqrt();
            if y == 0.0 || y.is_infinite() {
                (r, 0)
            } else {
                (r, ord_sign(cmp_product(r, r, y).reverse()))
            }
        }
    }
}

/// `minss`/`maxss`...: the second operand when either is a NaN or both are
/// zeros; NaNs of both kinds are invalid.
pub fn minmax<T: Float>(max: bool, a: u64, b: u64, env: &mut Env) -> u64 {
    let mut de = false;
    let a = operand::<T>(a, env, &mut de);
    let b = operand::<T>(b, env, &mut de);
    if is_nan::<T>(a) || is_nan::<T>(b) {
        env.raised |= mxcsr::IE;
        return b;
    }
    if de {
        env.raised |= mxcsr::DE;
    }
    let (x, y) = (T::from_bits64(a).to_f64(), T::from_bits64(b).to_f64());
    let first = if max { x > y } else { x < y };
    if first { a } else { b }
}

/// The `cmpss` ... predicates 0..7: the result and the exceptions.
pub fn compare<T: Float>(pred: u8, a: u64, b: u64, env: &mut Env) -> bool {
    let signaling = matches!(pred & 7, 1 | 2 | 5 | 6);
    if is_nan::<T>(a) || is_nan::<T>(b) {
        if signaling || is_snan::<T>(a) || is_snan::<T>(b) {
            env.raised |= mxcsr::IE;
        }
        return matches!(pred & 7, 3..=6);
    }
    let mut de = false;
    let a = operand::<T>(a, env, &mut de);
    let b = operand::<T>(b, env, &mut de);
    if de {
        env.raised |= mxcsr::DE;
    }
    let (x, y) = (T::from_bits64(a).to_f64(), T::from_bits64(b).to_f64());
    match pred & 7 {
        0 => x == y,
        1 => x < y,
        2 => x <= y,
        3 => false,
        4 => x != y,
        5 => x >= y,
        6 => x > y,
        _ => true,
    }
}

/// `comiss`/`ucomiss`...: ZF, PF, CF as the comparison sets them; OF, SF, AF
/// cleared.
pub fn comi<T: Float>(signal_qnan: bool, a: u64, b: u64, env: &mut Env, rflags: u64) -> u64 {
    let f = rflags & !flags::STATUS;
    if is_nan::<T>(a) || is_nan::<T>(b) {
        if signal_qnan || is_snan::<T>(a) || is_snan::<T>(b) {
            env.raised |= mxcsr::IE;
        }
        return f | flags::ZF | flags::PF | flags::CF;
    }
    let mut de = false;
    let a = operand::<T>(a, env, &mut de);
    let b = operand::<T>(b, env, &mut de);
    if de {
        env.raised |= mxcsr::DE;
    }
    let (x, y) = (T::from_bits64(a).to_f64(), T::from_bits64(b).to_f64());
    if x > y {
        f
    } else if x < y {
        f | flags::CF
    } else {
        f | flags::ZF
    }
}

/// Float to float conversion (`cvtss2sd`, `cvtsd2ss`, ...).
pub fn convert<F: Float, T: Float>(a: u64, env: &mut Env) -> u64 {
    if is_nan::<F>(a) {
        if is_snan::<F>(a) {
            env.raised |= mxcsr::IE;
        }
        let q = quiet::<F>(a);
        let sign = if is_neg::<F>(q) { sign_bit::<T>() } else { 0 };
        let payload = q & frac_mask::<F>();
        let payload = if F::FRAC > T::FRAC {
            payload >> (F::FRAC - T::FRAC)
        } else {
            payload << (T::FRAC - F::FRAC)
        };
        return sign | exp_mask::<T>() | payload | quiet_bit::<T>();
    }
    let mut de = false;
    let a = operand::<F>(a, env, &mut de);
    if de {
        env.raised |= mxcsr::DE;
    }
    let x = F::from_bits64(a).to_f64();
    let n = T::from_f64(x);
    let back = n.to_f64();
    let s = if back == x || x.is_infinite() {
        0
    } else if x > back {
        1
    } else {
        -1
    };
    let beyond = x.abs() >= 2f64.powi(128) && T::BITS == 32;
    finish::<T>(n, s, beyond, env).to_bits64()
}

/// Integer to float conversion (`cvtsi2sd` ...), rounded per `env`.
pub fn from_int<T: Float>(i: i64, env: &mut Env) -> u64 {
    // i64 -> f32 directly (a single rounding), then the residual exactly.
    let n = if T::BITS == 32 {
        T::from_bits64((i as f32).to_bits() as u64)
    } else {
        T::from_f64(i as f64)
    };
    let back = n.to_f64() as i128;
    let s = ord_sign((i as i128).cmp(&back));
    finish::<T>(n, s, false, env).to_bits64()
}

/// Float to integer conversion of `bits`-bit width (`cvtsd2si`,
/// `cvttsd2si`...): the integer indefinite (sign bit only) for a NaN or a
/// value out of range.
pub fn to_int<T: Float>(a: u64, bits: u32, round: Round, env: &mut Env) -> u64 {
    let indefinite = 1u64 << (bits - 1);
    if is_nan::<T>(a) {
        env.raised |= mxcsr::IE;
        return indefinite;
    }
    let a = if env.daz && is_denormal::<T>(a) {
        a & sign_bit::<T>()
    } else {
        a
    };
    let x = T::from_bits64(a).to_f64();
    let r = round_f64(x, round);
    let lim = 2f64.powi(bits as i32 - 1);
    if !(r >= -lim && r < lim) {
        env.raised |= mxcsr::IE;
        return indefinite;
    }
    if r != x {
        env.raised |= mxcsr::PE;
    }
    (r as i64 as u64) & super::mask(bits / 8)
}

/// `x` rounded to an integer in mode `round`.
pub fn round_f64(x: f64, round: Round) -> f64 {
    match round {
        Round::Nearest => x.round_ties_even(),
        Round::Down => x.floor(),
        Round::Up => x.ceil(),
        Round::Zero => x.trunc(),
    }
}

// ---- Operand access ----

/// The effective address of the memory operand, segment base included.
pub fn ea(cpu: &Cpu, insn: &Instruction) -> Result<u64, Exit> {
    let base = insn.memory_base();
    let mut a = insn.memory_displacement64();
    if base == Register::EIP {
        return Err(Exit::Illegal);
    }
    if base != Register::RIP {
        let index = insn.memory_index();
        if base != Register::None {
            a = a.wrapping_add(gpr(cpu, base)?);
        }
        if index != Register::None {
            let scale = insn.memory_index_scale() as u64;
            a = a.wrapping_add(gpr(cpu, index)?.wrapping_mul(scale));
        }
        if base.size() == 4 || index.size() == 4 {
            a &= 0xffff_ffff;
        }
    }
    Ok(match insn.segment_prefix() {
        Register::FS => a.wrapping_add(cpu.fs_base),
        Register::GS => a.wrapping_add(cpu.gs_base),
        _ => a,
    })
}

/// A general-purpose register's value, zero-extended (32- and 64-bit ones,
/// and 16-bit for `pinsrw`).
pub fn gpr(cpu: &Cpu, r: Register) -> Result<u64, Exit> {
    if !r.is_gpr() || matches!(r, Register::AH | Register::CH | Register::DH | Register::BH) {
        return Err(Exit::Illegal);
    }
    let v = cpu.gpr[r.full_register() as usize - Register::RAX as usize];
    Ok(v & super::mask(r.size() as u32))
}

/// Writes a 32- or 64-bit general-purpose register (a 32-bit write clears
/// the high half).
pub fn set_gpr(cpu: &mut Cpu, r: Register, v: u64) -> R {
    if !(r.is_gpr32() || r.is_gpr64()) {
        return Err(Exit::Illegal);
    }
    cpu.gpr[r.full_register() as usize - Register::RAX as usize] = v & super::mask(r.size() as u32);
    Ok(())
}

fn xi(r: Register) -> Result<usize, Exit> {
    if r.is_xmm() && r.number() < 16 {
        Ok(r.number())
    } else {
        Err(Exit::Illegal)
    }
}

pub fn get_xmm(cpu: &Cpu, r: Register) -> Result<u128, Exit> {
    let [lo, hi] = cpu.xmm[xi(r)?];
    Ok(lo as u128 | (hi as u128) << 64)
}

pub fn set_xmm(cpu: &mut Cpu, r: Register, v: u128) -> R {
    cpu.xmm[xi(r)?] = [v as u64, (v >> 64) as u64];
    Ok(())
}

/// Loads `n` (<= 16) bytes, zero-extended.
pub fn load(mem: &mut dyn GuestMem, addr: u64, n: usize) -> Result<u128, Exit> {
    let mut b = [0u8; 16];
    mem.read(addr, &mut b[..n])?;
    Ok(u128::from_le_bytes(b))
}

pub fn store(mem: &mut dyn GuestMem, addr: u64, v: u128, n: usize) -> R {
    mem.write(addr, &v.to_le_bytes()[..n])?;
    Ok(())
}

/// Legacy SSE instructions fault on a 16-byte operand that is not 16-byte
/// aligned (#GP, which Linux delivers as SIGSEGV), except the unaligned moves.
fn check_align(insn: &Instruction, addr: u64, n: usize) -> R {
    let unaligned_ok = matches!(
        insn.mnemonic(),
        M::Movups | M::Movupd | M::Movdqu | M::Fxsave | M::Fxsave64 | M::Fxrstor | M::Fxrstor64
    );
    if n == 16 && !unaligned_ok && !addr.is_multiple_of(16) {
        return Err(Exit::Privileged);
    }
    Ok(())
}

/// Operand `n` as a value: an XMM register (all 128 bits), a general
/// register, or memory of the instruction's memory size (zero-extended).
fn src(cpu: &Cpu, mem: &mut dyn GuestMem, insn: &Instruction, n: u32) -> Result<u128, Exit> {
    match insn.op_kind(n) {
        OpKind::Register => {
            let r = insn.op_register(n);
            if r.is_xmm() {
                get_xmm(cpu, r)
            } else {
                Ok(gpr(cpu, r)? as u128)
            }
        }
        OpKind::Memory => {
            let a = ea(cpu, insn)?;
            let size = insn.memory_size().size();
            if size == 0 || size > 16 {
                return Err(Exit::Illegal);
            }
            check_align(insn, a, size)?;
            load(mem, a, size)
        }
        _ => Err(Exit::Illegal),
    }
}

/// Writes operand `n`: an XMM register (all 128 bits), a 32/64-bit general
/// register, or memory of the instruction's memory size.
fn dst(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction, n: u32, v: u128) -> R {
    match insn.op_kind(n) {
        OpKind::Register => {
            let r = insn.op_register(n);
            if r.is_xmm() {
                set_xmm(cpu, r, v)
            } else {
                set_gpr(cpu, r, v as u64)
            }
        }
        OpKind::Memory => {
            let a = ea(cpu, insn)?;
            let size = insn.memory_size().size();
            if size == 0 || size > 16 {
                return Err(Exit::Illegal);
            }
            check_align(insn, a, size)?;
            store(mem, a, v, size)
        }
        _ => Err(Exit::Illegal),
    }
}

fn imm8(insn: &Instruction) -> u32 {
    insn.immediate8() as u32
}

/// Whether operand `n` is a register of the XMM file (not MMX, not a GPR).
fn is_xmm_op(insn: &Instruction, n: u32) -> bool {
    insn.op_kind(n) == OpKind::Register && insn.op_register(n).is_xmm()
}

// ---- Lanes ----

fn lane_mask(w: u32) -> u128 {
    if w >= 128 {
        u128::MAX
    } else {
        (1u128 << w) - 1
    }
}

/// Applies `f` to each `w`-bit lane of `a` and `b`.
fn lanes(w: u32, a: u128, b: u128, f: impl Fn(u64, u64) -> u64) -> u128 {
    let m = lane_mask(w);
    let mut r = 0u128;
    let mut i = 0;
    while i < 128 {
        let x = ((a >> i) & m) as u64;
        let y = ((b >> i) & m) as u64;
        r |= (f(x, y) as u128 & m) << i;
        i += w;
    }
    r
}

fn lane(v: u128, w: u32, i: u32) -> u64 {
    ((v >> (i * w)) & lane_mask(w)) as u64
}

fn sx(v: u64, w: u32) -> i64 {
    ((v << (64 - w)) as i64) >> (64 - w)
}

/// Interleaves the low (or high) halves of `a` and `b` in `w`-bit lanes.
fn unpack(w: u32, a: u128, b: u128, high: bool) -> u128 {
    let n = 128 / w / 2;
    let base = if high { n } else { 0 };
    let mut r = 0u128;
    for i in 0..n {
        r |= (lane(a, w, base + i) as u128) << (2 * i * w);
        r |= (lane(b, w, base + i) as u128) << ((2 * i + 1) * w);
    }
    r
}

/// Packs the `2w`-bit lanes of `a` then `b` into `w`-bit lanes, saturating
/// signed (or to unsigned).
fn pack(w: u32, a: u128, b: u128, unsigned: bool) -> u128 {
    let n = 64 / w;
    let (lo, hi) = if unsigned {
        (0i64, (1i64 << w) - 1)
    } else {
        (-(1i64 << (w - 1)), (1i64 << (w - 1)) - 1)
    };
    let mut r = 0u128;
    for (k, v) in [a, b].into_iter().enumerate() {
        for i in 0..n {
            let x = sx(lane(v, 2 * w, i), 2 * w).clamp(lo, hi) as u64 & ((1u64 << w) - 1);
            r |= (x as u128) << ((k as u32 * n + i) * w);
        }
    }
    r
}

/// Logical/arithmetic shift of each `w`-bit lane by `count`.
fn shift(w: u32, a: u128, count: u64, kind: u8) -> u128 {
    lanes(w, a, 0, |x, _| match kind {
        0 if count < w as u64 => x << count,
        1 if count < w as u64 => x >> count,
        2 => (sx(x, w) >> count.min(w as u64 - 1)) as u64,
        _ => 0,
    })
}

// ---- Instruction helpers ----

/// `op xmm, xmm/m128` with a pure function of both.
fn p2(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction, f: fn(u128, u128) -> u128) -> R {
    if !is_xmm_op(insn, 0) {
        return Err(Exit::Illegal);
    }
    let a = get_xmm(cpu, insn.op0_register())?;
    let b = src(cpu, mem, insn, 1)?;
    set_xmm(cpu, insn.op0_register(), f(a, b))
}

/// Like [`p2`] with the immediate as a third input.
fn p2i(
    cpu: &mut Cpu,
    mem: &mut dyn GuestMem,
    insn: &Instruction,
    f: fn(u128, u128, u32) -> u128,
) -> R {
    if !is_xmm_op(insn, 0) {
        return Err(Exit::Illegal);
    }
    let a = get_xmm(cpu, insn.op0_register())?;
    let b = src(cpu, mem, insn, 1)?;
    set_xmm(cpu, insn.op0_register(), f(a, b, imm8(insn)))
}

/// Plain moves: `movdqa`, `movups`, ... in either direction (and the
/// non-temporal stores, which are plain stores here).
fn mov128(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> R {
    if !(is_xmm_op(insn, 0) || is_xmm_op(insn, 1)) {
        return Err(Exit::Illegal);
    }
    let v = src(cpu, mem, insn, 1)?;
    dst(cpu, mem, insn, 0, v)
}

/// Shift of lanes by an immediate or by the low quadword of xmm/m128.
fn pshift(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction, w: u32, kind: u8) -> R {
    if !is_xmm_op(insn, 0) {
        return Err(Exit::Illegal);
    }
    let count = if insn.op_kind(1) == OpKind::Immediate8 {
        imm8(insn) as u64
    } else {
        src(cpu, mem, insn, 1)? as u64
    };
    let a = get_xmm(cpu, insn.op0_register())?;
    set_xmm(cpu, insn.op0_register(), shift(w, a, count, kind))
}

/// `movss`/`movsd`: a register-register move merges the low element, a load
/// zeroes the rest, a store writes the low element.
fn movs_scalar(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction, w: u32) -> R {
    if !(is_xmm_op(insn, 0) || is_xmm_op(insn, 1)) {
        return Err(Exit::Illegal);
    }
    let v = src(cpu, mem, insn, 1)? & lane_mask(w);
    if is_xmm_op(insn, 0) && is_xmm_op(insn, 1) {
        let d = get_xmm(cpu, insn.op0_register())?;
        return set_xmm(cpu, insn.op0_register(), (d & !lane_mask(w)) | v);
    }
    dst(cpu, mem, insn, 0, v)
}

/// `movd`/`movq`: to an XMM register zero-extended, from one the low part.
fn movdq(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> R {
    match insn.code() {
        Code::Movd_xmm_rm32 | Code::Movq_xmm_rm64 | Code::Movq_xmm_xmmm64 => {
            let w = if insn.code() == Code::Movd_xmm_rm32 {
                32
            } else {
                64
            };
            let v = src(cpu, mem, insn, 1)? & lane_mask(w);
            set_xmm(cpu, insn.op0_register(), v)
        }
        Code::Movd_rm32_xmm | Code::Movq_rm64_xmm | Code::Movq_xmmm64_xmm => {
            let w = if insn.code() == Code::Movd_rm32_xmm {
                32
            } else {
                64
            };
            let v = get_xmm(cpu, insn.op1_register())? & lane_mask(w);
            dst(cpu, mem, insn, 0, v)
        }
        _ => Err(Exit::Illegal),
    }
}

/// `movlps`/`movlpd`/`movhps`/`movhpd` (memory forms), `movhlps`, `movlhps`.
fn movhl(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> R {
    const LO: u128 = u64::MAX as u128;
    match insn.code() {
        Code::Movlps_xmm_m64 | Code::Movlpd_xmm_m64 => {
            let d = get_xmm(cpu, insn.op0_register())?;
            let v = src(cpu, mem, insn, 1)?;
            set_xmm(cpu, insn.op0_register(), (d & !LO) | v)
        }
        Code::Movhps_xmm_m64 | Code::Movhpd_xmm_m64 => {
            let d = get_xmm(cpu, insn.op0_register())?;
            let v = src(cpu, mem, insn, 1)?;
            set_xmm(cpu, insn.op0_register(), (d & LO) | v << 64)
        }
        Code::Movlps_m64_xmm | Code::Movlpd_m64_xmm => {
            let v = get_xmm(cpu, insn.op1_register())?;
            dst(cpu, mem, insn, 0, v & LO)
        }
        Code::Movhps_m64_xmm | Code::Movhpd_m64_xmm => {
            let v = get_xmm(cpu, insn.op1_register())?;
            dst(cpu, mem, insn, 0, v >> 64)
        }
        Code::Movhlps_xmm_xmm => {
            let d = get_xmm(cpu, insn.op0_register())?;
            let v = get_xmm(cpu, insn.op1_register())?;
            set_xmm(cpu, insn.op0_register(), (d & !LO) | v >> 64)
        }
        Code::Movlhps_xmm_xmm => {
            let d = get_xmm(cpu, insn.op0_register())?;
            let v = get_xmm(cpu, insn.op1_register())?;
            set_xmm(cpu, insn.op0_register(), (d & LO) | v << 64)
        }
        _ => Err(Exit::Illegal),
    }
}

/// `pmovmskb`, `movmskps`, `movmskpd`: the sign bits of the lanes into a GPR.
fn movmsk(cpu: &mut Cpu, insn: &Instruction, w: u32) -> R {
    if !is_xmm_op(insn, 1) {
        return Err(Exit::Illegal);
    }
    let v = get_xmm(cpu, insn.op1_register())?;
    let mut r = 0u64;
    for i in 0..128 / w {
        r |= ((lane(v, w, i) >> (w - 1)) & 1) << i;
    }
    set_gpr(cpu, insn.op0_register(), r)
}

/// The element width and count of a floating-point instruction's operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Ss,
    Sd,
    Ps,
    Pd,
}

impl Shape {
    fn of(m: Mnemonic) -> Shape {
        match m {
            M::Addss
            | M::Subss
            | M::Mulss
            | M::Divss
            | M::Sqrtss
            | M::Minss
            | M::Maxss
            | M::Cmpss => Shape::Ss,
            M::Addsd
            | M::Subsd
            | M::Mulsd
            | M::Divsd
            | M::Sqrtsd
            | M::Minsd
            | M::Maxsd
            | M::Cmpsd => Shape::Sd,
            M::Addps
            | M::Subps
            | M::Mulps
            | M::Divps
            | M::Sqrtps
            | M::Minps
            | M::Maxps
            | M::Cmpps => Shape::Ps,
            _ => Shape::Pd,
        }
    }
    fn width(self) -> u32 {
        match self {
            Shape::Ss | Shape::Ps => 32,
            _ => 64,
        }
    }
    fn count(self) -> u32 {
        match self {
            Shape::Ss | Shape::Sd => 1,
            Shape::Ps => 4,
            Shape::Pd => 2,
        }
    }
}

/// Lane `i` (of width `w`) of `v` replaced by `x`.
fn with_lane(v: u128, w: u32, i: u32, x: u64) -> u128 {
    let m = lane_mask(w) << (i * w);
    (v & !m) | ((x as u128) << (i * w) & m)
}

/// A floating-point operation lane by lane: scalar forms keep the
/// destination's other lanes.
fn fp(
    cpu: &mut Cpu,
    mem: &mut dyn GuestMem,
    insn: &Instruction,
    f: fn(Shape, u64, u64, &mut Env) -> u64,
) -> R {
    if !is_xmm_op(insn, 0) {
        return Err(Exit::Illegal);
    }
    let shape = Shape::of(insn.mnemonic());
    let a = get_xmm(cpu, insn.op0_register())?;
    let b = src(cpu, mem, insn, 1)?;
    let mut env = Env::new(cpu.mxcsr);
    let w = shape.width();
    let mut r = a;
    for i in 0..shape.count() {
        r = with_lane(r, w, i, f(shape, lane(a, w, i), lane(b, w, i), &mut env));
    }
    commit(cpu, &env)?;
    set_xmm(cpu, insn.op0_register(), r)
}

fn arith_shape(op: Arith, shape: Shape, a: u64, b: u64, env: &mut Env) -> u64 {
    if shape.width() == 32 {
        arith::<f32>(op, a, b, env)
    } else {
        arith::<f64>(op, a, b, env)
    }
}

fn minmax_shape(max: bool, shape: Shape, a: u64, b: u64, env: &mut Env) -> u64 {
    if shape.width() == 32 {
        minmax::<f32>(max, a, b, env)
    } else {
        minmax::<f64>(max, a, b, env)
    }
}

fn cmp_shape(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> R {
    if !is_xmm_op(insn, 0) {
        return Err(Exit::Illegal);
    }
    let pred = imm8(insn);
    if pred > 7 {
        // Predicates 8..31 are AVX only.
        return Err(Exit::Illegal);
    }
    let shape = Shape::of(insn.mnemonic());
    let a = get_xmm(cpu, insn.op0_register())?;
    let b = src(cpu, mem, insn, 1)?;
    let mut env = Env::new(cpu.mxcsr);
    let w = shape.width();
    let mut r = a;
    for i in 0..shape.count() {
        let (x, y) = (lane(a, w, i), lane(b, w, i));
        let t = if w == 32 {
            compare::<f32>(pred as u8, x, y, &mut env)
        } else {
            compare::<f64>(pred as u8, x, y, &mut env)
        };
        r = with_lane(r, w, i, if t { u64::MAX } else { 0 });
    }
    commit(cpu, &env)?;
    set_xmm(cpu, insn.op0_register(), r)
}

fn comis(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> R {
    if !is_xmm_op(insn, 0) {
        return Err(Exit::Illegal);
    }
    let signal = matches!(insn.mnemonic(), M::Comiss | M::Comisd);
    let single = matches!(insn.mnemonic(), M::Comiss | M::Ucomiss);
    let a = get_xmm(cpu, insn.op0_register())? as u64;
    let b = src(cpu, mem, insn, 1)? as u64;
    let mut env = Env::new(cpu.mxcsr);
    let f = if single {
        comi::<f32>(
            signal,
            a & 0xffff_ffff,
            b & 0xffff_ffff,
            &mut env,
            cpu.rflags,
        )
    } else {
        comi::<f64>(signal, a, b, &mut env, cpu.rflags)
    };
    commit(cpu, &env)?;
    cpu.rflags = f;
    Ok(())
}

/// The conversions.
fn cvt(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> R {
    let mut env = Env::new(cpu.mxcsr);
    let rc = env.round;
    let m = insn.mnemonic();
    match m {
        M::Cvtsi2sd | M::Cvtsi2ss => {
            let v = src(cpu, mem, insn, 1)? as u64;
            let i = if insn.op_kind(1) == OpKind::Memory {
                crate::interp::sext(v, insn.memory_size().size() as u32)
            } else {
                crate::interp::sext(v, insn.op1_register().size() as u32)
            } as i64;
            let (w, r) = if m == M::Cvtsi2sd {
                (64, from_int::<f64>(i, &mut env))
            } else {
                (32, from_int::<f32>(i, &mut env))
            };
            commit(cpu, &env)?;
            let d = get_xmm(cpu, insn.op0_register())?;
            set_xmm(cpu, insn.op0_register(), with_lane(d, w, 0, r))
        }
        M::Cvttsd2si | M::Cvtsd2si | M::Cvttss2si | M::Cvtss2si => {
            let v = src(cpu, mem, insn, 1)? as u64;
            let bits = insn.op0_register().size() as u32 * 8;
            let round = if matches!(m, M::Cvttsd2si | M::Cvttss2si) {
                Round::Zero
            } else {
                rc
            };
            let r = if matches!(m, M::Cvttsd2si | M::Cvtsd2si) {
                to_int::<f64>(v, bits, round, &mut env)
            } else {
                to_int::<f32>(v & 0xffff_ffff, bits, round, &mut env)
            };
            commit(cpu, &env)?;
            set_gpr(cpu, insn.op0_register(), r)
        }
        M::Cvtsd2ss | M::Cvtss2sd => {
            let v = src(cpu, mem, insn, 1)? as u64;
            let (w, r) = if m == M::Cvtsd2ss {
                (32, convert::<f64, f32>(v, &mut env))
            } else {
                (64, convert::<f32, f64>(v & 0xffff_ffff, &mut env))
            };
            commit(cpu, &env)?;
            let d = get_xmm(cpu, insn.op0_register())?;
            set_xmm(cpu, insn.op0_register(), with_lane(d, w, 0, r))
        }
        M::Cvtps2pd | M::Cvtpd2ps | M::Cvtdq2pd | M::Cvtdq2ps => {
            if !is_xmm_op(insn, 0) {
                return Err(Exit::Illegal);
            }
            let v = src(cpu, mem, insn, 1)?;
            let mut r = 0u128;
            match m {
                M::Cvtps2pd => {
                    for i in 0..2 {
                        r = with_lane(r, 64, i, convert::<f32, f64>(lane(v, 32, i), &mut env));
                    }
                }
                M::Cvtpd2ps => {
                    for i in 0..2 {
                        r = with_lane(r, 32, i, convert::<f64, f32>(lane(v, 64, i), &mut env));
                    }
                }
                M::Cvtdq2pd => {
                    for i in 0..2 {
                        let x = lane(v, 32, i) as u32 as i32 as i64;
                        r = with_lane(r, 64, i, from_int::<f64>(x, &mut env));
                    }
                }
                _ => {
                    for i in 0..4 {
                        let x = lane(v, 32, i) as u32 as i32 as i64;
                        r = with_lane(r, 32, i, from_int::<f32>(x, &mut env));
                    }
                }
            }
            commit(cpu, &env)?;
            set_xmm(cpu, insn.op0_register(), r)
        }
        M::Cvtps2dq | M::Cvttps2dq | M::Cvtpd2dq | M::Cvttpd2dq => {
            if !is_xmm_op(insn, 0) {
                return Err(Exit::Illegal);
            }
            let v = src(cpu, mem, insn, 1)?;
            let round = if matches!(m, M::Cvttps2dq | M::Cvttpd2dq) {
                Round::Zero
            } else {
                rc
            };
            let mut r = 0u128;
            if matches!(m, M::Cvtps2dq | M::Cvttps2dq) {
                for i in 0..4 {
                    r = with_lane(r, 32, i, to_int::<f32>(lane(v, 32, i), 32, round, &mut env));
                }
            } else {
                for i in 0..2 {
                    r = with_lane(r, 32, i, to_int::<f64>(lane(v, 64, i), 32, round, &mut env));
                }
            }
            commit(cpu, &env)?;
            set_xmm(cpu, insn.op0_register(), r)
        }
        _ => Err(Exit::Illegal),
    }
}

fn pshufd(a: u128, b: u128, imm: u32) -> u128 {
    let _ = a;
    let mut r = 0u128;
    for i in 0..4 {
        r |= (lane(b, 32, (imm >> (2 * i)) & 3) as u128) << (32 * i);
    }
    r
}

/// `pshuflw` (`high` false) / `pshufhw`: shuffles the words of one half,
/// copies the other.
fn pshufw(b: u128, imm: u32, high: bool) -> u128 {
    let base = if high { 4 } else { 0 };
    let mut r = b;
    for i in 0..4 {
        let x = lane(b, 16, base + ((imm >> (2 * i)) & 3));
        r = with_lane(r, 16, base + i, x);
    }
    r
}

fn shufps(a: u128, b: u128, imm: u32) -> u128 {
    let sel = |v: u128, k: u32| lane(v, 32, (imm >> (2 * k)) & 3) as u128;
    sel(a, 0) | sel(a, 1) << 32 | sel(b, 2) << 64 | sel(b, 3) << 96
}

fn shufpd(a: u128, b: u128, imm: u32) -> u128 {
    lane(a, 64, imm & 1) as u128 | (lane(b, 64, (imm >> 1) & 1) as u128) << 64
}

fn psadbw(a: u128, b: u128) -> u128 {
    let mut r = 0u128;
    for half in 0..2 {
        let mut s = 0u64;
        for i in 0..8 {
            let (x, y) = (lane(a, 8, half * 8 + i), lane(b, 8, half * 8 + i));
            s += x.abs_diff(y);
        }
        r |= (s as u128) << (64 * half);
    }
    r
}

fn pmaddwd(a: u128, b: u128) -> u128 {
    let mut r = 0u128;
    for i in 0..4 {
        let p0 = sx(lane(a, 16, 2 * i), 16) * sx(lane(b, 16, 2 * i), 16);
        let p1 = sx(lane(a, 16, 2 * i + 1), 16) * sx(lane(b, 16, 2 * i + 1), 16);
        r |= ((p0.wrapping_add(p1) as u32) as u128) << (32 * i);
    }
    r
}

fn sat(v: i64, w: u32, unsigned: bool) -> u64 {
    let (lo, hi) = if unsigned {
        (0, (1i64 << w) - 1)
    } else {
        (-(1i64 << (w - 1)), (1i64 << (w - 1)) - 1)
    };
    v.clamp(lo, hi) as u64
}

fn ldst_mxcsr(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> R {
    if insn.op_kind(0) != OpKind::Memory {
        return Err(Exit::Illegal);
    }
    let a = ea(cpu, insn)?;
    if insn.mnemonic() == M::Stmxcsr {
        store(mem, a, cpu.mxcsr as u128, 4)
    } else {
        let v = load(mem, a, 4)? as u32;
        if v & !mxcsr::WRITABLE != 0 {
            return Err(Exit::Privileged);
        }
        cpu.mxcsr = v;
        Ok(())
    }
}

fn pextrw(cpu: &mut Cpu, _: &mut dyn GuestMem, insn: &Instruction) -> R {
    if !matches!(
        insn.code(),
        Code::Pextrw_r32_xmm_imm8 | Code::Pextrw_r64_xmm_imm8
    ) {
        return Err(Exit::Illegal);
    }
    let v = get_xmm(cpu, insn.op1_register())?;
    set_gpr(cpu, insn.op0_register(), lane(v, 16, imm8(insn) & 7))
}

fn pinsrw(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> R {
    if !is_xmm_op(insn, 0) {
        return Err(Exit::Illegal);
    }
    let x = src(cpu, mem, insn, 1)? as u64 & 0xffff;
    let d = get_xmm(cpu, insn.op0_register())?;
    set_xmm(
        cpu,
        insn.op0_register(),
        with_lane(d, 16, imm8(insn) & 7, x),
    )
}

fn movnti(cpu: &mut Cpu, mem: &mut dyn GuestMem, insn: &Instruction) -> R {
    if insn.op_kind(0) != OpKind::Memory {
        return Err(Exit::Illegal);
    }
    let v = gpr(cpu, insn.op1_register())?;
    let a = ea(cpu, insn)?;
    store(mem, a, v as u128, insn.op1_register().size())
}

/// The helper of mnemonic `m`, if the family covers it.
fn op(m: Mnemonic) -> Option<Helper> {
    let h: Helper = match m {
        // Moves.
        M::Movdqa
        | M::Movdqu
        | M::Movaps
        | M::Movups
        | M::Movapd
        | M::Movupd
        | M::Movntdq
        | M::Movntps
        | M::Movntpd => mov128,
        M::Movd | M::Movq => movdq,
        M::Movss => |c, m, i| movs_scalar(c, m, i, 32),
        M::Movsd => |c, m, i| {
            // The string `movsd` (no XMM operand) belongs to string.rs.
            movs_scalar(c, m, i, 64)
        },
        M::Movlps | M::Movlpd | M::Movhps | M::Movhpd | M::Movhlps | M::Movlhps => movhl,
        M::Movnti => movnti,
        M::Pmovmskb => |c, _, i| movmsk(c, i, 8),
        M::Movmskps => |c, _, i| movmsk(c, i, 32),
        M::Movmskpd => |c, _, i| movmsk(c, i, 64),
        // Logic.
        M::Pxor | M::Xorps | M::Xorpd => |c, m, i| p2(c, m, i, |a, b| a ^ b),
        M::Por | M::Orps | M::Orpd => |c, m, i| p2(c, m, i, |a, b| a | b),
        M::Pand | M::Andps | M::Andpd => |c, m, i| p2(c, m, i, |a, b| a & b),
        M::Pandn | M::Andnps | M::Andnpd => |c, m, i| p2(c, m, i, |a, b| !a & b),
        // Packed integer arithmetic and comparisons.
        M::Paddb => |c, m, i| p2(c, m, i, |a, b| lanes(8, a, b, u64::wrapping_add)),
        M::Paddw => |c, m, i| p2(c, m, i, |a, b| lanes(16, a, b, u64::wrapping_add)),
        M::Paddd => |c, m, i| p2(c, m, i, |a, b| lanes(32, a, b, u64::wrapping_add)),
        M::Paddq => |c, m, i| p2(c, m, i, |a, b| lanes(64, a, b, u64::wrapping_add)),
        M::Psubb => |c, m, i| p2(c, m, i, |a, b| lanes(8, a, b, u64::wrapping_sub)),
        M::Psubw => |c, m, i| p2(c, m, i, |a, b| lanes(16, a, b, u64::wrapping_sub)),
        M::Psubd => |c, m, i| p2(c, m, i, |a, b| lanes(32, a, b, u64::wrapping_sub)),
        M::Psubq => |c, m, i| p2(c, m, i, |a, b| lanes(64, a, b, u64::wrapping_sub)),
        M::Paddusb => |c, m, i| {
            p2(c, m, i, |a, b| {
                lanes(8, a, b, |x, y| sat((x + y) as i64, 8, true))
            })
        },
        M::Paddusw => |c, m, i| {
            p2(c, m, i, |a, b| {
                lanes(16, a, b, |x, y| sat((x + y) as i64, 16, true))
            })
        },
        M::Psubusb => |c, m, i| p2(c, m, i, |a, b| lanes(8, a, b, |x, y| x.saturating_sub(y))),
        M::Psubusw => |c, m, i| p2(c, m, i, |a, b| lanes(16, a, b, |x, y| x.saturating_sub(y))),
        M::Paddsb => |c, m, i| {
            p2(c, m, i, |a, b| {
                lanes(8, a, b, |x, y| sat(sx(x, 8) + sx(y, 8), 8, false))
            })
        },
        M::Paddsw => |c, m, i| {
            p2(c, m, i, |a, b| {
                lanes(16, a, b, |x, y| sat(sx(x, 16) + sx(y, 16), 16, false))
            })
        },
        M::Psubsb => |c, m, i| {
            p2(c, m, i, |a, b| {
                lanes(8, a, b, |x, y| sat(sx(x, 8) - sx(y, 8), 8, false))
            })
        },
        M::Psubsw => |c, m, i| {
            p2(c, m, i, |a, b| {
                lanes(16, a, b, |x, y| sat(sx(x, 16) - sx(y, 16), 16, false))
            })
        },
        M::Pcmpeqb => |c, m, i| {
            p2(c, m, i, |a, b| {
                lanes(8, a, b, |x, y| if x == y { !0 } else { 0 })
            })
        },
        M::Pcmpeqw => |c, m, i| {
            p2(c, m, i, |a, b| {
                lanes(16, a, b, |x, y| if x == y { !0 } else { 0 })
            })
        },
        M::Pcmpeqd => |c, m, i| {
            p2(c, m, i, |a, b| {
                lanes(32, a, b, |x, y| if x == y { !0 } else { 0 })
            })
        },
        M::Pcmpgtb => |c, m, i| {
            p2(c, m, i, |a, b| {
                lanes(8, a, b, |x, y| if sx(x, 8) > sx(y, 8) { !0 } else { 0 })
            })
        },
        M::Pcmpgtw => |c, m, i| {
            p2(c, m, i, |a, b| {
                lanes(16, a, b, |x, y| if sx(x, 16) > sx(y, 16) { !0 } else { 0 })
            })
        },
        M::Pcmpgtd => |c, m, i| {
            p2(c, m, i, |a, b| {
                lanes(32, a, b, |x, y| if sx(x, 32) > sx(y, 32) { !0 } else { 0 })
            })
        },
        M::Pminub => |c, m, i| p2(c, m, i, |a, b| lanes(8, a, b, u64::min)),
        M::Pmaxub => |c, m, i| p2(c, m, i, |a, b| lanes(8, a, b, u64::max)),
        M::Pminsw => |c, m, i| {
            p2(c, m, i, |a, b| {
                lanes(16, a, b, |x, y| if sx(x, 16) < sx(y, 16) { x } else { y })
            })
        },
        M::Pmaxsw => |c, m, i| {
            p2(c, m, i, |a, b| {
                lanes(16, a, b, |x, y| if sx(x, 16) > sx(y, 16) { x } else { y })
            })
        },
        M::Pavgb => |c, m, i| p2(c, m, i, |a, b| lanes(8, a, b, |x, y| (x + y + 1) >> 1)),
        M::Pavgw => |c, m, i| p2(c, m, i, |a, b| lanes(16, a, b, |x, y| (x + y + 1) >> 1)),
        M::Pmullw => |c, m, i| p2(c, m, i, |a, b| lanes(16, a, b, |x, y| x.wrapping_mul(y))),
        M::Pmulhw => |c, m, i| {
            p2(c, m, i, |a, b| {
                lanes(16, a, b, |x, y| ((sx(x, 16) * sx(y, 16)) >> 16) as u64)
            })
        },
        M::Pmulhuw => |c, m, i| p2(c, m, i, |a, b| lanes(16, a, b, |x, y| (x * y) >> 16)),
        M::Pmuludq => |c, m, i| {
            p2(c, m, i, |a, b| {
                lanes(64, a, b, |x, y| (x & 0xffff_ffff) * (y & 0xffff_ffff))
            })
        },
        M::Pmaddwd => |c, m, i| p2(c, m, i, pmaddwd),
        M::Psadbw => |c, m, i| p2(c, m, i, psadbw),
        // Unpacks, packs, shuffles.
        M::Punpcklbw => |c, m, i| p2(c, m, i, |a, b| unpack(8, a, b, false)),
        M::Punpcklwd => |c, m, i| p2(c, m, i, |a, b| unpack(16, a, b, false)),
        M::Punpckldq | M::Unpcklps => |c, m, i| p2(c, m, i, |a, b| unpack(32, a, b, false)),
        M::Punpcklqdq | M::Unpcklpd => |c, m, i| p2(c, m, i, |a, b| unpack(64, a, b, false)),
        M::Punpckhbw => |c, m, i| p2(c, m, i, |a, b| unpack(8, a, b, true)),
        M::Punpckhwd => |c, m, i| p2(c, m, i, |a, b| unpack(16, a, b, true)),
        M::Punpckhdq | M::Unpckhps => |c, m, i| p2(c, m, i, |a, b| unpack(32, a, b, true)),
        M::Punpckhqdq | M::Unpckhpd => |c, m, i| p2(c, m, i, |a, b| unpack(64, a, b, true)),
        M::Packsswb => |c, m, i| p2(c, m, i, |a, b| pack(8, a, b, false)),
        M::Packuswb => |c, m, i| p2(c, m, i, |a, b| pack(8, a, b, true)),
        M::Packssdw => |c, m, i| p2(c, m, i, |a, b| pack(16, a, b, false)),
        M::Pshufd => |c, m, i| p2i(c, m, i, pshufd),
        M::Pshuflw => |c, m, i| p2i(c, m, i, |_, b, k| pshufw(b, k, false)),
        M::Pshufhw => |c, m, i| p2i(c, m, i, |_, b, k| pshufw(b, k, true)),
        M::Shufps => |c, m, i| p2i(c, m, i, shufps),
        M::Shufpd => |c, m, i| p2i(c, m, i, shufpd),
        M::Pextrw => pextrw,
        M::Pinsrw => pinsrw,
        // Shifts.
        M::Psllw => |c, m, i| pshift(c, m, i, 16, 0),
        M::Pslld => |c, m, i| pshift(c, m, i, 32, 0),
        M::Psllq => |c, m, i| pshift(c, m, i, 64, 0),
        M::Psrlw => |c, m, i| pshift(c, m, i, 16, 1),
        M::Psrld => |c, m, i| pshift(c, m, i, 32, 1),
        M::Psrlq => |c, m, i| pshift(c, m, i, 64, 1),
        M::Psraw => |c, m, i| pshift(c, m, i, 16, 2),
        M::Psrad => |c, m, i| pshift(c, m, i, 32, 2),
        M::Pslldq => |c, _, i| {
            let n = imm8(i).min(16) * 8;
            let a = get_xmm(c, i.op0_register())?;
            set_xmm(c, i.op0_register(), if n >= 128 { 0 } else { a << n })
        },
        M::Psrldq => |c, _, i| {
            let n = imm8(i).min(16) * 8;
            let a = get_xmm(c, i.op0_register())?;
            set_xmm(c, i.op0_register(), if n >= 128 { 0 } else { a >> n })
        },
        // Floating point.
        M::Addss | M::Addsd | M::Addps | M::Addpd => {
            |c, m, i| fp(c, m, i, |s, a, b, e| arith_shape(Arith::Add, s, a, b, e))
        }
        M::Subss | M::Subsd | M::Subps | M::Subpd => {
            |c, m, i| fp(c, m, i, |s, a, b, e| arith_shape(Arith::Sub, s, a, b, e))
        }
        M::Mulss | M::Mulsd | M::Mulps | M::Mulpd => {
            |c, m, i| fp(c, m, i, |s, a, b, e| arith_shape(Arith::Mul, s, a, b, e))
        }
        M::Divss | M::Divsd | M::Divps | M::Divpd => {
            |c, m, i| fp(c, m, i, |s, a, b, e| arith_shape(Arith::Div, s, a, b, e))
        }
        M::Sqrtss | M::Sqrtsd | M::Sqrtps | M::Sqrtpd => {
            |c, m, i| fp(c, m, i, |s, a, b, e| arith_shape(Arith::Sqrt, s, a, b, e))
        }
        M::Minss | M::Minsd | M::Minps | M::Minpd => {
            |c, m, i| fp(c, m, i, |s, a, b, e| minmax_shape(false, s, a, b, e))
        }
        M::Maxss | M::Maxsd | M::Maxps | M::Maxpd => {
            |c, m, i| fp(c, m, i, |s, a, b, e| minmax_shape(true, s, a, b, e))
        }
        M::Cmpss | M::Cmpsd | M::Cmpps | M::Cmppd => cmp_shape,
        M::Ucomiss | M::Ucomisd | M::Comiss | M::Comisd => comis,
        M::Cvtsi2sd
        | M::Cvtsi2ss
        | M::Cvttsd2si
        | M::Cvtsd2si
        | M::Cvttss2si
        | M::Cvtss2si
        | M::Cvtsd2ss
        | M::Cvtss2sd
        | M::Cvtps2pd
        | M::Cvtpd2ps
        | M::Cvtdq2pd
        | M::Cvtdq2ps
        | M::Cvtps2dq
        | M::Cvttps2dq
        | M::Cvtpd2dq
        | M::Cvttpd2dq => cvt,
        // Control and ordering.
        M::Ldmxcsr | M::Stmxcsr => ldst_mxcsr,
        M::Sfence | M::Lfence | M::Mfence => |_, _, _| Ok(()),
        _ => return None,
    };
    Some(h)
}

#[cfg(test)]
pub(crate) mod tests {
    //! Each instruction runs natively (inline assembly, on this x86-64 host)
    //! and in the interpreter on the same inputs; registers, flags, MXCSR and
    //! memory must be bit-identical. The interpreter decodes the very bytes
    //! the assembler produced for the native run.

    use core::arch::asm;

    use iced_x86::{Decoder, DecoderOptions};

    use crate::cpu::{Cpu, flags};
    use crate::mem::{Access, Fault, FaultKind, GuestMem};

    /// Register and memory state around one instruction.
    #[repr(C, align(16))]
    #[derive(Debug, Clone, Copy, Default, PartialEq)]
    pub struct St {
        pub x: [[u64; 2]; 3],
        pub rax: u64,
        pub rflags: u64,
        pub mxcsr: u32,
        pub host_mxcsr: u32,
        pub pad: u64,
        pub mem: [u64; 6],
    }

    /// Guest memory for the tests: `data` at `base`.
    pub struct TestMem {
        pub base: u64,
        pub data: Vec<u8>,
    }

    impl TestMem {
        fn range(&self, addr: u64, n: usize, access: Access) -> Result<usize, Fault> {
            let off = addr.wrapping_sub(self.base) as usize;
            if addr < self.base || off + n > self.data.len() {
                return Err(Fault {
                    addr,
                    access,
                    kind: FaultKind::Unmapped,
                });
            }
            Ok(off)
        }
    }

    impl GuestMem for TestMem {
        fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
            let o = self.range(addr, buf.len(), Access::Read)?;
            buf.copy_from_slice(&self.data[o..o + buf.len()]);
            Ok(())
        }
        fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Fault> {
            let o = self.range(addr, data.len(), Access::Write)?;
            self.data[o..o + data.len()].copy_from_slice(data);
            Ok(())
        }
        fn fetch(&mut self, addr: u64, _: &mut [u8; 16]) -> Result<usize, Fault> {
            Err(Fault {
                addr,
                access: Access::Exec,
                kind: FaultKind::Unmapped,
            })
        }
    }

    pub const MEM_BASE: u64 = 0x10000;
    const CODE: u64 = 0x40_0000;

    /// Runs `st` through the interpreter executing `bytes` (one instruction):
    /// xmm0..2, rax, rflags and MXCSR from `st`, rdi pointing at `st.mem`.
    pub fn emulate(bytes: &[u8], st: &St) -> (St, Cpu) {
        let mut d = Decoder::with_ip(64, bytes, CODE, DecoderOptions::NONE);
        let insn = d.decode();
        assert_eq!(insn.len(), bytes.len(), "one instruction: {bytes:x?}");
        let mut cpu = Cpu::default();
        cpu.xmm[..3].copy_from_slice(&st.x);
        cpu.gpr[0] = st.rax;
        cpu.gpr[7] = MEM_BASE;
        cpu.rflags = st.rflags;
        cpu.mxcsr = st.mxcsr;
        cpu.rip = CODE;
        let mut mem = TestMem {
            base: MEM_BASE,
            data: st.mem.iter().flat_map(|q| q.to_le_bytes()).collect(),
        };
        let r = crate::interp::step(&mut cpu, &mut mem, &insn);
        assert_eq!(r, Ok(()), "{insn:?} {bytes:x?}");
        assert_eq!(cpu.rip, CODE + bytes.len() as u64);
        let mut out = *st;
        out.x.copy_from_slice(&cpu.xmm[..3]);
        out.rax = cpu.gpr[0];
        out.rflags = cpu.rflags;
        out.mxcsr = cpu.mxcsr;
        for (i, q) in out.mem.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&mem.data[i * 8..i * 8 + 8]);
            *q = u64::from_le_bytes(b);
        }
        (out, cpu)
    }

    /// A function running one instruction natively on an [`St`], returning
    /// the instruction's bytes.
    pub type Native = fn(&mut St) -> &'static [u8];

    /// Defines a [`Native`] for an instruction over xmm0..xmm2, rax and
    /// `[rdi]` (= `St::mem`).
    #[macro_export]
    macro_rules! native_sse {
        ($text:literal) => {{
            #[allow(unsafe_code, reason = "runs the instruction under test natively")]
            fn run(st: &mut $crate::sem::sse::tests::St) -> &'static [u8] {
                let start: usize;
                let end: usize;
                // SAFETY: the block only touches the registers it declares
                // clobbered and the `St` that `rsi` points to (valid and
                // exclusively borrowed); it restores the host's MXCSR and
                // sets only the status flags in RFLAGS. The instruction
                // bytes between the two labels are in this function's code,
                // readable for its whole lifetime.
                unsafe {
                    core::arch::asm!(
                        "lea {start}, [rip + 20f]",
                        "lea {end}, [rip + 21f]",
                        "stmxcsr [rsi + 68]",
                        "ldmxcsr [rsi + 64]",
                        "movdqu xmm0, [rsi]",
                        "movdqu xmm1, [rsi + 16]",
                        "movdqu xmm2, [rsi + 32]",
                        "mov rax, [rsi + 48]",
                        "lea rdi, [rsi + 80]",
                        "push qword ptr [rsi + 56]",
                        "popfq",
                        "20:",
                        $text,
                        "21:",
                        "pushfq",
                        "pop qword ptr [rsi + 56]",
                        "stmxcsr [rsi + 64]",
                        "ldmxcsr [rsi + 68]",
                        "movdqu [rsi], xmm0",
                        "movdqu [rsi + 16], xmm1",
                        "movdqu [rsi + 32], xmm2",
                        "mov [rsi + 48], rax",
                        start = out(reg) start,
                        end = out(reg) end,
                        in("rsi") st as *mut $crate::sem::sse::tests::St,
                        out("rdi") _,
                        out("rax") _,
                        out("xmm0") _,
                        out("xmm1") _,
                        out("xmm2") _,
                    );
                    core::slice::from_raw_parts(start as *const u8, end - start)
                }
            }
            run as $crate::sem::sse::tests::Native
        }};
    }

    /// A small deterministic generator (xorshift64*).
    pub struct Rng(pub u64);

    impl Rng {
        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        /// A double chosen to hit special cases often.
        pub fn f64(&mut self) -> u64 {
            const SPECIAL: [u64; 14] = [
                0,
                1 << 63,
                0x7ff0_0000_0000_0000,
                0xfff0_0000_0000_0000,
                0x7ff8_0000_0000_0001,
                0x7ff0_0000_0000_0005,
                0xfff4_0000_0000_0000,
                0x0000_0000_0000_0001,
                0x000f_ffff_ffff_ffff,
                0x8010_0000_0000_0000,
                0x3ff0_0000_0000_0000,
                0x7fef_ffff_ffff_ffff,
                0x4340_0000_0000_0000,
                0xc1e0_0000_0000_0000,
            ];
            let r = self.next();
            match r % 8 {
                0 => SPECIAL[(r >> 8) as usize % SPECIAL.len()],
                // Exponents near the limits and near 1.
                1 => (r & 0x800f_ffff_ffff_ffff) | ((r >> 20) % 60) << 52,
                2 => (r & 0x800f_ffff_ffff_ffff) | (0x7ff - 1 - (r >> 20) % 60) << 52,
                3 => (r & 0x800f_ffff_ffff_ffff) | (0x3e0 + (r >> 20) % 64) << 52,
                // Few significant bits: exact results and ties.
                4 => (r & 0x800f_0000_0000_0000) | (0x3f0 + (r >> 20) % 32) << 52,
                // Integers and halves.
                5 => ((((r >> 3) % 2000) as f64 - 1000.0) / 2.0).to_bits(),
                _ => r,
            }
        }

        /// A float, likewise.
        pub fn f32(&mut self) -> u64 {
            const SPECIAL: [u32; 12] = [
                0,
                1 << 31,
                0x7f80_0000,
                0xff80_0000,
                0x7fc0_0001,
                0x7f80_0005,
                0x0000_0001,
                0x007f_ffff,
                0x3f80_0000,
                0x7f7f_ffff,
                0x4f00_0000,
                0xdf00_0000,
            ];
            let r = self.next();
            (match r % 7 {
                0 => SPECIAL[(r >> 8) as usize % SPECIAL.len()],
                1 => (r as u32 & 0x807f_ffff) | (((r >> 40) % 30) as u32) << 23,
                2 => (r as u32 & 0x807f_ffff) | (0xff - 1 - ((r >> 40) % 30) as u32) << 23,
                3 => (r as u32 & 0x807f_ffff) | (0x70 + ((r >> 40) % 30) as u32) << 23,
                4 => (r as u32 & 0x807f_0000) | (0x78 + ((r >> 40) % 8) as u32) << 23,
                5 => (((((r >> 3) % 2000) as f32) - 1000.0) / 2.0).to_bits(),
                _ => r as u32,
            }) as u64
        }

        /// An MXCSR with all exceptions masked: any rounding mode, sometimes
        /// DAZ/FTZ, sometimes sticky flags already set.
        pub fn mxcsr(&mut self) -> u32 {
            let r = self.next();
            let mut m = 0x1f80 | ((r as u32 & 3) << 13);
            if r & 0x30 == 0x30 {
                m |= 0x8040;
            }
            if r & 0x300 == 0x300 {
                m |= (r >> 16) as u32 & 0x3f;
            }
            m
        }

        pub fn flags(&mut self) -> u64 {
            flags::RESERVED1 | flags::IF | (self.next() & flags::STATUS)
        }
    }

    /// What a value generator for a lane kind produces.
    #[derive(Clone, Copy, Debug)]
    pub enum Kind {
        Bits,
        F64,
        F32,
        /// Small integers in lanes of 32 bits (for conversions).
        I32,
    }

    fn fill(rng: &mut Rng, kind: Kind) -> [u64; 2] {
        let mut q = || match kind {
            Kind::Bits => rng.next(),
            Kind::F64 => rng.f64(),
            Kind::F32 => rng.f32() | rng.f32() << 32,
            Kind::I32 => {
                let r = rng.next();
                if r & 1 == 0 {
                    r
                } else {
                    ((r >> 8) % 5000) | (((r >> 24) % 5000).wrapping_neg() << 32)
                }
            }
        };
        [q(), q()]
    }

    /// Runs `n` random cases of `f` natively and emulated, comparing.
    pub fn check(name: &str, f: Native, kind: Kind, n: usize) {
        // LIFT_FP_CASES=k multiplies the case counts (a longer soak run).
        let n = n * std::env::var("LIFT_FP_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (name.len() as u64 * 0x1234_5678));
        for case in 0..n {
            let mut st = St {
                x: [
                    fill(&mut rng, kind),
                    fill(&mut rng, kind),
                    fill(&mut rng, kind),
                ],
                rax: match kind {
                    Kind::Bits => rng.next(),
                    Kind::F64 | Kind::F32 => rng.next() >> (rng.next() % 64),
                    Kind::I32 => rng.next() % 70000,
                },
                rflags: rng.flags(),
                mxcsr: rng.mxcsr(),
                ..St::default()
            };
            let m = fill(&mut rng, kind);
            let m2 = fill(&mut rng, kind);
            st.mem = [m[0], m[1], m2[0], m2[1], rng.next(), rng.next()];
            let mut native = st;
            let bytes = f(&mut native);
            native.host_mxcsr = st.host_mxcsr;
            let (emu, _) = emulate(bytes, &st);
            assert!(
                native.x == emu.x
                    && native.rax == emu.rax
                    && native.rflags & flags::STATUS == emu.rflags & flags::STATUS
                    && native.mxcsr == emu.mxcsr
                    && native.mem == emu.mem,
                "{name} case {case}: input {st:x?}\nnative {native:x?}\nemulated {emu:x?}"
            );
        }
    }

    macro_rules! cases {
        ($n:expr, $kind:ident: $($text:literal),+ $(,)?) => {
            $( check($text, native_sse!($text), Kind::$kind, $n); )+
        };
    }

    const N: usize = 3000;

    #[test]
    fn moves() {
        cases!(200, Bits:
            "movdqa xmm0, xmm1", "movdqa xmm0, [rdi]", "movdqa [rdi], xmm1",
            "movdqu xmm0, [rdi + 3]", "movdqu [rdi + 5], xmm2", "movaps xmm2, xmm0",
            "movups xmm1, [rdi + 1]", "movapd xmm0, [rdi + 16]", "movupd [rdi + 7], xmm1",
            "movntdq [rdi + 16], xmm0", "movntps [rdi], xmm1", "movnti [rdi + 4], rax",
            "movnti [rdi + 4], eax",
            "movd xmm0, eax", "movd xmm1, [rdi + 4]", "movd eax, xmm2", "movd [rdi + 2], xmm0",
            "movq xmm0, rax", "movq rax, xmm1", "movq xmm2, [rdi + 8]", "movq [rdi + 8], xmm0",
            "movq xmm0, xmm1",
            "movss xmm0, xmm1", "movss xmm0, [rdi]", "movss [rdi + 4], xmm1",
            "movsd xmm0, xmm1", "movsd xmm2, [rdi + 8]", "movsd [rdi + 8], xmm1",
            "movhps xmm0, [rdi]", "movhps [rdi + 8], xmm1", "movlps xmm0, [rdi + 4]",
            "movlps [rdi], xmm2", "movhpd xmm1, [rdi]", "movhpd [rdi], xmm1",
            "movlpd xmm1, [rdi]", "movlpd [rdi + 16], xmm0", "movhlps xmm0, xmm1",
            "movlhps xmm0, xmm2",
            "pmovmskb eax, xmm1", "pmovmskb rax, xmm0", "movmskps eax, xmm1", "movmskpd eax, xmm2",
            "pextrw eax, xmm1, 5", "pinsrw xmm0, eax, 3", "pinsrw xmm0, [rdi + 2], 7",
        );
    }

    #[test]
    fn packed_integer() {
        cases!(300, Bits:
            "pxor xmm0, xmm1", "por xmm0, [rdi]", "pand xmm1, xmm2", "pandn xmm0, xmm1",
            "xorps xmm0, xmm1", "xorpd xmm1, xmm0", "andps xmm0, xmm1", "andpd xmm0, [rdi + 16]",
            "andnps xmm0, xmm1", "andnpd xmm0, xmm1", "orps xmm0, xmm1", "orpd xmm2, xmm1",
            "paddb xmm0, xmm1", "paddw xmm0, xmm1", "paddd xmm0, xmm1", "paddq xmm0, [rdi]",
            "psubb xmm0, xmm1", "psubw xmm0, xmm1", "psubd xmm0, xmm1", "psubq xmm0, xmm1",
            "paddusb xmm0, xmm1", "paddusw xmm0, xmm1", "psubusb xmm0, xmm1", "psubusw xmm0, xmm1",
            "paddsb xmm0, xmm1", "paddsw xmm0, xmm1", "psubsb xmm0, xmm1", "psubsw xmm0, xmm1",
            "pcmpeqb xmm0, xmm1", "pcmpeqw xmm0, xmm1", "pcmpeqd xmm0, [rdi]",
            "pcmpgtb xmm0, xmm1", "pcmpgtw xmm0, xmm1", "pcmpgtd xmm0, xmm1",
            "pminub xmm0, xmm1", "pmaxub xmm0, xmm1", "pminsw xmm0, xmm1", "pmaxsw xmm0, xmm1",
            "pavgb xmm0, xmm1", "pavgw xmm0, xmm1", "pmullw xmm0, xmm1", "pmulhw xmm0, xmm1",
            "pmulhuw xmm0, xmm1", "pmuludq xmm0, xmm1", "pmaddwd xmm0, xmm1", "psadbw xmm0, xmm1",
            "punpcklbw xmm0, xmm1", "punpcklwd xmm0, xmm1", "punpckldq xmm0, xmm1",
            "punpcklqdq xmm0, xmm1", "punpckhbw xmm0, xmm1", "punpckhwd xmm0, xmm1",
            "punpckhdq xmm0, xmm1", "punpckhqdq xmm0, [rdi + 16]",
            "unpcklps xmm0, xmm1", "unpckhps xmm0, xmm1", "unpcklpd xmm0, xmm1", "unpckhpd xmm0, xmm1",
            "packsswb xmm0, xmm1", "packuswb xmm0, xmm1", "packssdw xmm0, xmm1",
            "pshufd xmm0, xmm1, 0x1b", "pshufd xmm0, [rdi], 0xe4", "pshuflw xmm0, xmm1, 0x72",
            "pshufhw xmm0, xmm1, 0xc5", "shufps xmm0, xmm1, 0x9d", "shufpd xmm0, xmm1, 2",
            "shufpd xmm0, xmm1, 1",
            "psllw xmm0, 3", "pslld xmm0, 31", "psllq xmm0, 63", "psrlw xmm0, 17", "psrld xmm0, 1",
            "psrlq xmm0, 40", "psraw xmm0, 5", "psrad xmm0, 40", "psllw xmm0, xmm1",
            "psrlq xmm0, xmm1", "psrad xmm0, xmm1", "pslldq xmm0, 5", "psrldq xmm0, 11",
            "pslldq xmm0, 16", "psrldq xmm0, 200",
        );
    }

    #[test]
    fn shift_counts() {
        // Small counts through a register operand.
        for n in 0..70u64 {
            let f = native_sse!("psrlw xmm0, xmm1");
            let g = native_sse!("psraw xmm0, xmm1");
            let h = native_sse!("psllq xmm0, xmm1");
            for f in [f, g, h] {
                let st = St {
                    x: [
                        [0x8123_4567_89ab_cdef, 0xfedc_ba98_7654_3210],
                        [n, 0],
                        [0, 0],
                    ],
                    rflags: 0x202,
                    mxcsr: 0x1f80,
                    ..St::default()
                };
                let mut native = st;
                let bytes = f(&mut native);
                let (emu, _) = emulate(bytes, &st);
                assert_eq!(native.x, emu.x, "count {n}");
            }
        }
    }

    #[test]
    fn scalar_double() {
        cases!(N, F64:
            "addsd xmm0, xmm1", "subsd xmm0, xmm1", "mulsd xmm0, xmm1", "divsd xmm0, xmm1",
            "sqrtsd xmm0, xmm1", "minsd xmm0, xmm1", "maxsd xmm0, xmm1", "addsd xmm1, [rdi]",
            "mulsd xmm2, [rdi + 8]", "divsd xmm0, [rdi]",
            "ucomisd xmm0, xmm1", "comisd xmm0, xmm1", "ucomisd xmm0, [rdi]",
            "cmpsd xmm0, xmm1, 0", "cmpsd xmm0, xmm1, 1", "cmpsd xmm0, xmm1, 2",
            "cmpsd xmm0, xmm1, 3", "cmpsd xmm0, xmm1, 4", "cmpsd xmm0, xmm1, 5",
            "cmpsd xmm0, xmm1, 6", "cmpsd xmm0, xmm1, 7",
        );
    }

    #[test]
    fn scalar_single() {
        cases!(N, F32:
            "addss xmm0, xmm1", "subss xmm0, xmm1", "mulss xmm0, xmm1", "divss xmm0, xmm1",
            "sqrtss xmm0, xmm1", "minss xmm0, xmm1", "maxss xmm0, xmm1", "addss xmm1, [rdi + 4]",
            "ucomiss xmm0, xmm1", "comiss xmm0, xmm1", "cmpss xmm0, xmm1, 1",
            "cmpss xmm0, xmm1, 4", "cmpss xmm0, xmm1, 7",
        );
    }

    #[test]
    fn packed_float() {
        cases!(N / 2, F32:
            "addps xmm0, xmm1", "subps xmm0, xmm1", "mulps xmm0, xmm1", "divps xmm0, xmm1",
            "sqrtps xmm0, xmm1", "minps xmm0, xmm1", "maxps xmm0, [rdi]", "cmpps xmm0, xmm1, 2",
            "cmpps xmm0, xmm1, 3",
        );
        cases!(N / 2, F64:
            "addpd xmm0, xmm1", "subpd xmm0, xmm1", "mulpd xmm0, xmm1", "divpd xmm0, xmm1",
            "sqrtpd xmm0, xmm1", "minpd xmm0, xmm1", "maxpd xmm0, xmm1", "cmppd xmm0, xmm1, 5",
            "cmppd xmm0, [rdi + 16], 0",
        );
    }

    #[test]
    fn conversions() {
        cases!(N, F64:
            "cvtsi2sd xmm0, eax", "cvtsi2sd xmm0, rax", "cvtsi2ss xmm0, rax", "cvtsi2ss xmm1, eax",
            "cvtsi2sd xmm0, dword ptr [rdi]", "cvtsi2sd xmm0, qword ptr [rdi + 8]",
            "cvttsd2si eax, xmm1", "cvttsd2si rax, xmm1", "cvtsd2si eax, xmm1", "cvtsd2si rax, xmm0",
            "cvttsd2si rax, [rdi]", "cvtsd2ss xmm0, xmm1", "cvtsd2ss xmm0, [rdi + 8]",
            "cvtpd2ps xmm0, xmm1", "cvtpd2dq xmm0, xmm1", "cvttpd2dq xmm0, xmm1",
        );
        cases!(N, F32:
            "cvtss2sd xmm0, xmm1", "cvtss2sd xmm0, [rdi + 4]", "cvttss2si eax, xmm1",
            "cvttss2si rax, xmm1", "cvtss2si eax, xmm1", "cvtss2si rax, xmm2", "cvtps2pd xmm0, xmm1",
            "cvtps2dq xmm0, xmm1", "cvttps2dq xmm0, xmm1",
        );
        cases!(N, I32: "cvtdq2pd xmm0, xmm1", "cvtdq2ps xmm0, xmm1", "cvtdq2ps xmm0, [rdi]");
    }

    #[test]
    fn mxcsr_access() {
        cases!(100, Bits: "stmxcsr [rdi + 4]");
        let st = St {
            mxcsr: 0x1f80,
            rflags: 0x202,
            mem: [0x0000_7fa0_0000_0000, 0, 0, 0, 0, 0],
            ..St::default()
        };
        let mut native = st;
        let bytes = native_sse!("ldmxcsr [rdi + 4]")(&mut native);
        let (emu, _) = emulate(bytes, &st);
        assert_eq!(native.mxcsr, emu.mxcsr);
    }

    #[test]
    fn misaligned_movdqa_faults() {
        let bytes = native_sse!("movdqa xmm0, [rdi]")(&mut St {
            mxcsr: 0x1f80,
            rflags: 0x202,
            ..St::default()
        });
        let mut d = Decoder::with_ip(64, bytes, CODE, DecoderOptions::NONE);
        let insn = d.decode();
        let mut cpu = Cpu::default();
        cpu.gpr[7] = MEM_BASE + 8;
        cpu.rip = CODE;
        let mut mem = TestMem {
            base: MEM_BASE,
            data: vec![0; 64],
        };
        let r = crate::interp::step(&mut cpu, &mut mem, &insn);
        assert_eq!(r, Err(crate::interp::Exit::Privileged));
        assert_eq!(cpu.rip, CODE);
    }

    #[test]
    fn unmasked_exception_is_sigfpe() {
        let bytes = native_sse!("divsd xmm0, xmm1")(&mut St {
            mxcsr: 0x1f80,
            rflags: 0x202,
            ..St::default()
        });
        let mut d = Decoder::with_ip(64, bytes, CODE, DecoderOptions::NONE);
        let insn = d.decode();
        let mut cpu = Cpu::default();
        cpu.xmm[0] = [1f64.to_bits(), 0];
        cpu.mxcsr = 0x1f80 & !(mxcsr_zm());
        cpu.rip = CODE;
        let mut mem = TestMem {
            base: MEM_BASE,
            data: vec![0; 64],
        };
        let r = crate::interp::step(&mut cpu, &mut mem, &insn);
        assert_eq!(r, Err(crate::interp::Exit::Divide));
        assert_eq!(cpu.xmm[0], [1f64.to_bits(), 0]);
    }

    fn mxcsr_zm() -> u32 {
        super::mxcsr::ZE << super::mxcsr::MASK_SHIFT
    }

    #[test]
    fn string_movsd_is_not_sse() {
        // a5 = movsd (string): the SSE helper refuses it.
        let mut d = Decoder::with_ip(64, &[0xa5], CODE, DecoderOptions::NONE);
        let insn = d.decode();
        let mut cpu = Cpu::default();
        let mut mem = TestMem {
            base: MEM_BASE,
            data: vec![0; 64],
        };
        assert_eq!(
            super::exec(&mut cpu, &mut mem, &insn),
            Err(crate::interp::Exit::Illegal)
        );
        let _ = asm_unused;
    }

    #[allow(dead_code, reason = "keeps the asm import used in every configuration")]
    fn asm_unused() {
        let _ = || {
            #[allow(unsafe_code, reason = "a no-op")]
            // SAFETY: an empty asm block has no effect.
            unsafe {
                asm!("")
            }
        };
    }
}
