//! Lifting static x86-64 Linux programs so they run inside the megabinary.
//!
//! This crate is shared by the builder (host) and the guest runtime (compiled
//! to `wasm32-wasip1`, `crates/lift-runtime`). It owns:
//! - [`cpu`]: the guest's architectural state, kept in linear memory;
//! - [`mem`]: how the semantics reach guest memory ([`mem::GuestMem`]);
//! - [`sem`]: **the one description of instruction semantics**. Each
//!   instruction is written once, generically over the [`sem::Sem`] trait,
//!   whose operations (register and memory access, ALU operations, flag
//!   updates, conditions, control transfer, and calls to *helpers* for complex
//!   instructions) are the IR. The interpreter ([`interp`]) implements `Sem`
//!   with concrete values; an ahead-of-time translator will implement it by
//!   emitting WASM (QEMU's TCG/TCI split, with QEMU's helper functions for
//!   string, division, SSE and x87 instructions);
//! - [`interp`]: the execution loop, which returns to its caller at every
//!   `syscall` with the guest state in memory (so a process can be forked
//!   there), on a fault, or on an instruction it does not cover (SIGILL,
//!   never a silent wrong result);
//! - [`layout`]: where the guest's address space sits in the runtime's linear
//!   memory.
//!
//! With the `build` feature (host only, for the builder) it also owns
//! [`elf`], reading a static ELF program into a [`image::LiftedImage`], and
//! [`discover`], finding and checking its code at build time.
//!
//! It does not own the Linux syscall ABI (the vkernel).

pub mod cpu;
pub mod decode;
#[cfg(feature = "build")]
pub mod discover;
#[cfg(feature = "build")]
pub mod elf;
pub mod image;
pub mod interp;
pub mod layout;
pub mod mem;
pub mod sem;

pub use cpu::Cpu;
pub use interp::{Exit, run};
pub use mem::{Fault, FaultKind, GuestMem};
