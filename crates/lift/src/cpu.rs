//! The guest's architectural state.
//!
//! `#[repr(C)]` and plain data: it lives in the runtime's linear memory, is
//! copied whole when a process forks, and the translator will address its
//! fields by offset.

/// Bits of RFLAGS the semantics maintain.
pub mod flags {
    pub const CF: u64 = 1 << 0;
    /// Always set on x86.
    pub const RESERVED1: u64 = 1 << 1;
    pub const PF: u64 = 1 << 2;
    pub const AF: u64 = 1 << 4;
    pub const ZF: u64 = 1 << 6;
    pub const SF: u64 = 1 << 7;
    pub const TF: u64 = 1 << 8;
    pub const IF: u64 = 1 << 9;
    pub const DF: u64 = 1 << 10;
    pub const OF: u64 = 1 << 11;
    pub const AC: u64 = 1 << 18;
    pub const ID: u64 = 1 << 21;
    /// The arithmetic flags.
    pub const STATUS: u64 = CF | PF | AF | ZF | SF | OF;
}

/// General-purpose registers in encoding order (`rax` = 0 ... `r15` = 15).
pub mod gpr {
    pub const RAX: usize = 0;
    pub const RCX: usize = 1;
    pub const RDX: usize = 2;
    pub const RBX: usize = 3;
    pub const RSP: usize = 4;
    pub const RBP: usize = 5;
    pub const RSI: usize = 6;
    pub const RDI: usize = 7;
    pub const R8: usize = 8;
    pub const R9: usize = 9;
    pub const R10: usize = 10;
    pub const R11: usize = 11;
    pub const R12: usize = 12;
    pub const R13: usize = 13;
    pub const R14: usize = 14;
    pub const R15: usize = 15;
}

/// The x87 FPU state. Registers are kept as `f64` (53-bit mantissa), not the
/// 80-bit extended format: the x87 subset covered is what glibc's
/// `printf`/`strtod` paths and busybox use on doubles; `long double`
/// arithmetic is therefore rounded to double (documented in lifting.md).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct X87 {
    /// Physical registers R0..R7; ST(i) is `st[(top + i) % 8]`.
    pub st: [f64; 8],
    /// Top-of-stack index (status word bits 11..13).
    pub top: u8,
    /// Tag: bit i set = physical register i is empty.
    pub empty: u8,
    /// Control word (reset value 0x037f).
    pub cw: u16,
    /// Status word, without TOP (kept in `top`).
    pub sw: u16,
}

impl Default for X87 {
    fn default() -> Self {
        X87 {
            st: [0.0; 8],
            top: 0,
            empty: 0xff,
            cw: 0x037f,
            sw: 0,
        }
    }
}

/// The guest CPU.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cpu {
    /// rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15.
    pub gpr: [u64; 16],
    pub rip: u64,
    /// Architectural RFLAGS (bit 1 always set).
    pub rflags: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    /// xmm0..xmm15 as (low, high) quadwords.
    pub xmm: [[u64; 2]; 16],
    /// SSE control and status (reset value 0x1f80).
    pub mxcsr: u32,
    pub x87: X87,
}

impl Default for Cpu {
    fn default() -> Self {
        Cpu {
            gpr: [0; 16],
            rip: 0,
            rflags: flags::RESERVED1 | flags::IF,
            fs_base: 0,
            gs_base: 0,
            xmm: [[0; 2]; 16],
            mxcsr: 0x1f80,
            x87: X87::default(),
        }
    }
}

impl Cpu {
    /// Whether flag bit(s) `f` are set.
    pub fn flag(&self, f: u64) -> bool {
        self.rflags & f != 0
    }

    /// Sets or clears flag bit(s) `f`.
    pub fn set_flag(&mut self, f: u64, on: bool) {
        if on {
            self.rflags |= f;
        } else {
            self.rflags &= !f;
        }
    }
}
