//! The guest's linear memory as the ABI sees it: bounds-checked little-endian loads and
//! stores, strings, and `iovec` lists.
//!
//! A guest passes arbitrary pointers and lengths: every access here is checked, and one
//! that leaves memory fails with `FAULT` (wasmtime-wasi traps instead; see the differences
//! listed in [`super`]). Pointers need no alignment. Nothing here panics.

use super::errno::{Fail, WResult, WasiErrno};
use super::types::IOVEC_SIZE;

/// The most `iovec`s one call uses. A longer list is bounds-checked whole, but the call
/// transfers only what the first ones describe: a short read or write, which callers
/// handle anyway (Linux's `IOV_MAX`; it bounds what the host allocates per call).
pub const MAX_IOVECS: usize = 1024;

/// A bounce buffer's largest size, for reads into `iovec`s that overlap (the transfer is
/// short beyond it). Overlapping read buffers are pathological; this bounds their cost.
const MAX_BOUNCE: usize = 1 << 20;

fn fault() -> Fail {
    Fail::Wasi(WasiErrno::FAULT)
}

/// One buffer of an `iovec` list (`buf`, `buf_len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Iovec {
    pub ptr: u32,
    pub len: u32,
}

impl Iovec {
    fn end(self) -> u64 {
        u64::from(self.ptr) + u64::from(self.len)
    }
}

/// A guest memory, borrowed for one host call.
pub struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

impl<'a> GuestMemory<'a> {
    pub fn new(bytes: &'a mut [u8]) -> GuestMemory<'a> {
        GuestMemory { bytes }
    }

    /// The range `[ptr, ptr + len)`, if it lies in memory.
    fn range(&self, ptr: u32, len: u64) -> WResult<std::ops::Range<usize>> {
        let start = u64::from(ptr);
        let end = start.checked_add(len).ok_or_else(fault)?;
        if end > self.bytes.len() as u64 {
            return Err(fault());
        }
        // end <= bytes.len(), which is a usize.
        Ok(start as usize..end as usize)
    }

    /// Checks that `[ptr, ptr + len)` lies in memory.
    pub fn check(&self, ptr: u32, len: u64) -> WResult<()> {
        self.range(ptr, len).map(|_| ())
    }

    /// The bytes at `[ptr, ptr + len)`.
    pub fn bytes(&self, ptr: u32, len: u32) -> WResult<&[u8]> {
        let r = self.range(ptr, u64::from(len))?;
        self.bytes.get(r).ok_or_else(fault)
    }

    /// The bytes at `[ptr, ptr + len)`, writable.
    pub fn bytes_mut(&mut self, ptr: u32, len: u32) -> WResult<&mut [u8]> {
        let r = self.range(ptr, u64::from(len))?;
        self.bytes.get_mut(r).ok_or_else(fault)
    }

    fn array<const N: usize>(&self, ptr: u32) -> WResult<[u8; N]> {
        let r = self.range(ptr, N as u64)?;
        self.bytes
            .get(r)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(fault)
    }

    pub fn read_u8(&self, ptr: u32) -> WResult<u8> {
        Ok(self.array::<1>(ptr)?[0])
    }

    pub fn read_u16(&self, ptr: u32) -> WResult<u16> {
        self.array(ptr).map(u16::from_le_bytes)
    }

    pub fn read_u32(&self, ptr: u32) -> WResult<u32> {
        self.array(ptr).map(u32::from_le_bytes)
    }

    pub fn read_u64(&self, ptr: u32) -> WResult<u64> {
        self.array(ptr).map(u64::from_le_bytes)
    }

    /// Copies `data` to `ptr`.
    pub fn write_bytes(&mut self, ptr: u32, data: &[u8]) -> WResult<()> {
        let r = self.range(ptr, data.len() as u64)?;
        self.bytes
            .get_mut(r)
            .ok_or_else(fault)?
            .copy_from_slice(data);
        Ok(())
    }

    pub fn write_u8(&mut self, ptr: u32, v: u8) -> WResult<()> {
        self.write_bytes(ptr, &[v])
    }

    pub fn write_u16(&mut self, ptr: u32, v: u16) -> WResult<()> {
        self.write_bytes(ptr, &v.to_le_bytes())
    }

    pub fn write_u32(&mut self, ptr: u32, v: u32) -> WResult<()> {
        self.write_bytes(ptr, &v.to_le_bytes())
    }

    pub fn write_u64(&mut self, ptr: u32, v: u64) -> WResult<()> {
        self.write_bytes(ptr, &v.to_le_bytes())
    }

    /// A path or other string argument (`ptr`, `len`), copied out. Preview1 strings are
    /// UTF-8: anything else is `ILSEQ`, as in wasmtime-wasi. Strings of `max` bytes or more
    /// fail with `NAMETOOLONG` before anything is copied.
    pub fn string(&self, ptr: u32, len: u32, max: usize) -> WResult<Vec<u8>> {
        let bytes = self.bytes(ptr, len)?;
        if bytes.len() >= max {
            return Err(Fail::Wasi(WasiErrno::NAMETOOLONG));
        }
        if std::str::from_utf8(bytes).is_err() {
            return Err(Fail::Wasi(WasiErrno::ILSEQ));
        }
        Ok(bytes.to_vec())
    }

    /// The `iovec` list of `count` entries at `ptr`: the whole array must lie in memory,
    /// and so must every non-empty buffer among the first [`MAX_IOVECS`], which are
    /// returned (empty ones dropped: they transfer nothing, wherever they point).
    pub fn iovecs(&self, ptr: u32, count: u32) -> WResult<Vec<Iovec>> {
        self.check(ptr, u64::from(count) * u64::from(IOVEC_SIZE))?;
        let used = (count as usize).min(MAX_IOVECS);
        let mut out = Vec::with_capacity(used);
        for i in 0..used {
            // i < count, and the array lies in memory, so this stays below 2^32.
            let at = ptr.wrapping_add((i as u32).wrapping_mul(IOVEC_SIZE));
            let iov = Iovec {
                ptr: self.read_u32(at)?,
                len: self.read_u32(at.wrapping_add(4))?,
            };
            if iov.len == 0 {
                continue;
            }
            self.check(iov.ptr, u64::from(iov.len))?;
            out.push(iov);
        }
        Ok(out)
    }

    /// The buffers of `iovs` (from [`GuestMemory::iovecs`]) to write from.
    pub fn gather(&self, iovs: &[Iovec]) -> WResult<Vec<&[u8]>> {
        iovs.iter().map(|v| self.bytes(v.ptr, v.len)).collect()
    }

    /// The buffers of `iovs` to read into, as disjoint slices in list order; `None` if
    /// some overlap (then see [`GuestMemory::read_into`]).
    pub fn scatter(&mut self, iovs: &[Iovec]) -> WResult<Option<Vec<&mut [u8]>>> {
        let mut order: Vec<usize> = (0..iovs.len()).collect();
        order.sort_by_key(|&i| iovs[i].ptr);
        for w in order.windows(2) {
            if iovs[w[0]].end() > u64::from(iovs[w[1]].ptr) {
                return Ok(None);
            }
        }
        let mut rest: &mut [u8] = &mut *self.bytes;
        let mut offset = 0usize;
        let mut carved: Vec<(usize, &mut [u8])> = Vec::with_capacity(iovs.len());
        for i in order {
            let iov = iovs[i];
            let skip = (iov.ptr as usize).checked_sub(offset).ok_or_else(fault)?;
            let (_, tail) = std::mem::take(&mut rest)
                .split_at_mut_checked(skip)
                .ok_or_else(fault)?;
            let (buf, tail) = tail
                .split_at_mut_checked(iov.len as usize)
                .ok_or_else(fault)?;
            carved.push((i, buf));
            rest = tail;
            offset = iov.ptr as usize + iov.len as usize;
        }
        carved.sort_by_key(|(i, _)| *i);
        Ok(Some(carved.into_iter().map(|(_, b)| b).collect()))
    }

    /// Runs the read `read` into the buffers of `iovs`: directly when they are disjoint,
    /// else through a bounce buffer (of at most 1 MiB) copied out in list order. Returns
    /// what `read` returned.
    pub fn read_into<E>(
        &mut self,
        iovs: &[Iovec],
        read: impl FnOnce(&mut [&mut [u8]]) -> Result<usize, E>,
    ) -> WResult<Result<usize, E>> {
        if let Some(mut bufs) = self.scatter(iovs)? {
            return Ok(read(&mut bufs));
        }
        let total = iovs
            .iter()
            .fold(0usize, |acc, v| acc.saturating_add(v.len as usize))
            .min(MAX_BOUNCE);
        let mut bounce = vec![0u8; total];
        let n = match read(&mut [&mut bounce[..]]) {
            Ok(n) => n.min(total),
            Err(e) => return Ok(Err(e)),
        };
        let mut src = bounce.get(..n).unwrap_or_default();
        for v in iovs {
            if src.is_empty() {
                break;
            }
            let k = (v.len as usize).min(src.len());
            let (piece, rest) = src.split_at(k);
            self.write_bytes(v.ptr, piece)?;
            src = rest;
        }
        Ok(Ok(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_and_stores_are_checked() {
        let mut bytes = vec![0u8; 16];
        let mut m = GuestMemory::new(&mut bytes);
        m.write_u32(12, 0x0403_0201).unwrap();
        assert_eq!(m.read_u32(12), Ok(0x0403_0201));
        assert_eq!(m.read_u8(15), Ok(4));
        assert_eq!(m.read_u32(13), Err(fault()));
        assert_eq!(m.write_u64(9, 1), Err(fault()));
        assert_eq!(m.read_u16(u32::MAX), Err(fault()));
        assert_eq!(m.bytes(16, 0).map(<[u8]>::len), Ok(0));
        assert_eq!(m.bytes(17, 0).err(), Some(fault()));
        assert_eq!(m.bytes(u32::MAX, u32::MAX).err(), Some(fault()));
        assert!(m.check(0, 16).is_ok());
        assert!(m.check(0, 17).is_err());
    }

    #[test]
    fn strings_are_utf8() {
        let mut bytes = b"h\xffllo/world".to_vec();
        let m = GuestMemory::new(&mut bytes);
        assert_eq!(m.string(2, 3, 4096), Ok(b"llo".to_vec()));
        assert_eq!(m.string(0, 3, 4096), Err(Fail::Wasi(WasiErrno::ILSEQ)));
        assert_eq!(m.string(2, 3, 3), Err(Fail::Wasi(WasiErrno::NAMETOOLONG)));
        assert_eq!(m.string(8, 10, 4096), Err(fault()));
    }

    fn put_iovecs(bytes: &mut [u8], at: usize, iovs: &[(u32, u32)]) {
        for (i, (p, l)) in iovs.iter().enumerate() {
            bytes[at + 8 * i..at + 8 * i + 4].copy_from_slice(&p.to_le_bytes());
            bytes[at + 8 * i + 4..at + 8 * i + 8].copy_from_slice(&l.to_le_bytes());
        }
    }

    #[test]
    fn iovecs_scatter_in_list_order() {
        let mut bytes = vec![0u8; 64];
        // Out of address order, one empty with a wild pointer.
        put_iovecs(&mut bytes, 0, &[(40, 2), (u32::MAX, 0), (32, 3)]);
        let mut m = GuestMemory::new(&mut bytes);
        let iovs = m.iovecs(0, 3).unwrap();
        assert_eq!(iovs.len(), 2);
        let r: WResult<Result<usize, ()>> = m.read_into(&iovs, |bufs| {
            assert_eq!(bufs.len(), 2);
            assert_eq!(bufs[0].len(), 2);
            bufs[0].copy_from_slice(b"ab");
            bufs[1].copy_from_slice(b"cde");
            Ok(5)
        });
        assert_eq!(r, Ok(Ok(5)));
        assert_eq!(&bytes[32..35], b"cde");
        assert_eq!(&bytes[40..42], b"ab");
        let m = GuestMemory::new(&mut bytes);
        assert_eq!(m.iovecs(60, 1), Err(fault()), "array past the end");
        put_iovecs(&mut bytes, 0, &[(60, 8)]);
        let m = GuestMemory::new(&mut bytes);
        assert_eq!(m.iovecs(0, 1), Err(fault()), "buffer past the end");
    }

    #[test]
    fn overlapping_iovecs_use_a_bounce_buffer() {
        let mut bytes = vec![0u8; 64];
        put_iovecs(&mut bytes, 0, &[(32, 4), (34, 4)]);
        let mut m = GuestMemory::new(&mut bytes);
        let iovs = m.iovecs(0, 2).unwrap();
        assert!(m.scatter(&iovs).unwrap().is_none());
        let r: WResult<Result<usize, ()>> = m.read_into(&iovs, |bufs| {
            assert_eq!(bufs.len(), 1);
            bufs[0][..6].copy_from_slice(b"abcdef");
            Ok(6)
        });
        assert_eq!(r, Ok(Ok(6)));
        // "abcd" at 32, then "ef" at 34.
        assert_eq!(&bytes[32..38], b"abef\0\0");
    }
}
