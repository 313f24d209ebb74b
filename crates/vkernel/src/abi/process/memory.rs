//! The caller's linear memory for the process extension: bounds-checked little-endian
//! loads and stores. An access outside memory is `EFAULT`; pointers need no alignment.
//! Nothing here panics.

use std::ops::Range;

use crate::kernel::{Errno, KResult};

/// A guest memory, borrowed for one call.
pub(super) struct Memory<'a> {
    bytes: &'a mut [u8],
}

impl<'a> Memory<'a> {
    pub fn new(bytes: &'a mut [u8]) -> Memory<'a> {
        Memory { bytes }
    }

    /// The range `[ptr, ptr + len)`, if it lies in memory.
    fn range(&self, ptr: u32, len: u64) -> KResult<Range<usize>> {
        let start = u64::from(ptr);
        let end = start.checked_add(len).ok_or(Errno::EFAULT)?;
        if end > self.bytes.len() as u64 {
            return Err(Errno::EFAULT);
        }
        // end <= bytes.len(), which is a usize.
        Ok(start as usize..end as usize)
    }

    /// Checks that `[ptr, ptr + len)` lies in memory (before a call whose effect cannot
    /// be undone, such as reaping a child, so that its result has somewhere to go).
    pub fn check(&self, ptr: u32, len: u64) -> KResult<()> {
        self.range(ptr, len).map(|_| ())
    }

    /// The bytes `[ptr, ptr + len)`.
    pub fn bytes(&self, ptr: u32, len: u32) -> KResult<&[u8]> {
        let r = self.range(ptr, u64::from(len))?;
        Ok(&self.bytes[r])
    }

    /// The `u32` at `ptr`.
    pub fn u32_at(&self, ptr: u32) -> KResult<u32> {
        let b = self.bytes(ptr, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Stores `v` at `ptr`.
    pub fn put_u32(&mut self, ptr: u32, v: u32) -> KResult<()> {
        let r = self.range(ptr, 4)?;
        self.bytes[r].copy_from_slice(&v.to_le_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accesses_outside_memory_fault() {
        let mut bytes = [0u8; 8];
        let mut m = Memory::new(&mut bytes);
        m.put_u32(4, 0x0102_0304).unwrap();
        assert_eq!(m.u32_at(4), Ok(0x0102_0304));
        assert_eq!(m.u32_at(5), Err(Errno::EFAULT));
        assert_eq!(m.put_u32(u32::MAX, 1), Err(Errno::EFAULT));
        assert_eq!(m.bytes(8, 0).map(<[u8]>::len), Ok(0));
        assert_eq!(m.bytes(0, 9).err(), Some(Errno::EFAULT));
        assert_eq!(m.check(u32::MAX, u64::MAX), Err(Errno::EFAULT));
    }
}
