//! Decoding guest instructions (iced-x86) and caching them by address.
//!
//! Code pages are never writable in the runtime (W^X on the program's own
//! segments), so a decoded instruction stays valid for the life of the
//! process; a harness whose memory can change calls [`CodeCache::clear`].

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use iced_x86::{Decoder, DecoderOptions, Instruction};

use crate::mem::{Fault, GuestMem};

/// Decodes one instruction at `addr` from `bytes` (the bytes at `addr`).
/// An invalid or truncated encoding gives an instruction whose `is_invalid()`
/// is true.
pub fn decode_at(addr: u64, bytes: &[u8]) -> Instruction {
    let mut decoder = Decoder::with_ip(64, bytes, addr, DecoderOptions::NONE);
    decoder.decode()
}

/// A hasher for guest addresses: they are already well spread in the low bits
/// that matter, and SipHash would cost more than the decode it saves.
#[derive(Default)]
pub struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(20);
    }
}

/// Decoded instructions by address.
#[derive(Default)]
pub struct CodeCache {
    map: HashMap<u64, Instruction, BuildHasherDefault<AddrHasher>>,
}

impl std::fmt::Debug for CodeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeCache")
            .field("instructions", &self.map.len())
            .finish()
    }
}

impl CodeCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an instruction decoded elsewhere (the builder's pre-decoded form).
    pub fn insert(&mut self, insn: Instruction) {
        self.map.insert(insn.ip(), insn);
    }

    /// Number of cached instructions.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Forgets every decoded instruction.
    pub fn clear(&mut self) {
        self.map.clear();
    }

    /// The instruction at `addr`, decoded from executable memory on first use.
    pub fn get<M: GuestMem + ?Sized>(
        &mut self,
        mem: &mut M,
        addr: u64,
    ) -> Result<Instruction, Fault> {
        if let Some(insn) = self.map.get(&addr) {
            return Ok(*insn);
        }
        let mut buf = [0u8; 16];
        let n = mem.fetch(addr, &mut buf)?;
        let insn = decode_at(addr, &buf[..n.min(15)]);
        self.map.insert(addr, insn);
        Ok(insn)
    }
}
