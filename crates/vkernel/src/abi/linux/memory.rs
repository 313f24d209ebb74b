//! The calling program's linear memory as the Linux ABI sees it: bounds-checked
//! little-endian loads and stores at 64-bit guest addresses, C strings and `iovec`
//! lists.
//!
//! A guest address is a byte offset into the memory the engine hands over (the lifted
//! program's guest window lies inside it). Every access is checked: one that leaves
//! memory, or touches the null page, fails with `EFAULT`. Nothing here panics.

use std::ops::Range;

use crate::kernel::vfs::PATH_MAX;
use crate::kernel::{Errno, KResult};

/// Addresses below this fault: the null page, which Linux never maps, so that a NULL
/// (or NULL-plus-a-field) pointer is `EFAULT` as on Linux rather than a write into the
/// runtime's own data at the bottom of linear memory.
pub const NULL_GUARD: u64 = 0x1000;

/// The most `iovec`s one call takes (Linux's `UIO_MAXIOV`): `EINVAL` beyond.
pub const MAX_IOVECS: u64 = 1024;

/// Linux's `MAX_RW_COUNT`: one read or write transfers at most this many bytes.
pub const MAX_RW_COUNT: u64 = 0x7fff_f000;

/// The largest bounce buffer one vectored read allocates on the host (the read is
/// short beyond it, which `readv` callers handle): it bounds what a guest makes the
/// host allocate per call.
pub const MAX_BOUNCE: u64 = 16 << 20;

/// One buffer of an `iovec` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Iovec {
    pub base: u64,
    pub len: u64,
}

/// A guest memory, borrowed for one syscall.
pub struct Mem<'a> {
    bytes: &'a mut [u8],
}

impl<'a> Mem<'a> {
    pub fn new(bytes: &'a mut [u8]) -> Mem<'a> {
        Mem { bytes }
    }

    /// The size of the memory.
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The range `[addr, addr + len)`, if it lies in memory above the null page.
    fn range(&self, addr: u64, len: u64) -> KResult<Range<usize>> {
        let end = addr.checked_add(len).ok_or(Errno::EFAULT)?;
        if addr < NULL_GUARD || end > self.len() {
            return Err(Errno::EFAULT);
        }
        // end <= bytes.len(), a usize.
        Ok(addr as usize..end as usize)
    }

    /// Checks that `[addr, addr + len)` lies in memory.
    pub fn check(&self, addr: u64, len: u64) -> KResult<()> {
        self.range(addr, len).map(|_| ())
    }

    /// The bytes at `[addr, addr + len)`.
    pub fn bytes(&self, addr: u64, len: u64) -> KResult<&[u8]> {
        let r = self.range(addr, len)?;
        Ok(&self.bytes[r])
    }

    /// The bytes at `[addr, addr + len)`, writable.
    pub fn bytes_mut(&mut self, addr: u64, len: u64) -> KResult<&mut [u8]> {
        let r = self.range(addr, len)?;
        Ok(&mut self.bytes[r])
    }

    /// Up to `len` bytes from `addr`, cut at the end of memory: what a read into a
    /// buffer would fill before it faulted (`EFAULT` if not even the first byte is
    /// memory, for `len` > 0).
    pub fn bytes_mut_upto(&mut self, addr: u64, len: u64) -> KResult<&mut [u8]> {
        if len == 0 {
            return Ok(&mut []);
        }
        let room = self.len().checked_sub(addr).filter(|&r| r > 0);
        let room = room.ok_or(Errno::EFAULT)?;
        self.bytes_mut(addr, len.min(room))
    }

    /// Writes `data` at `addr`.
    pub fn write(&mut self, addr: u64, data: &[u8]) -> KResult<()> {
        self.bytes_mut(addr, data.len() as u64)?
            .copy_from_slice(data);
        Ok(())
    }

    fn array<const N: usize>(&self, addr: u64) -> KResult<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(addr, N as u64)?);
        Ok(out)
    }

    pub fn u16(&self, addr: u64) -> KResult<u16> {
        self.array(addr).map(u16::from_le_bytes)
    }

    pub fn u32(&self, addr: u64) -> KResult<u32> {
        self.array(addr).map(u32::from_le_bytes)
    }

    pub fn i32(&self, addr: u64) -> KResult<i32> {
        self.array(addr).map(i32::from_le_bytes)
    }

    pub fn u64(&self, addr: u64) -> KResult<u64> {
        self.array(addr).map(u64::from_le_bytes)
    }

    pub fn i64(&self, addr: u64) -> KResult<i64> {
        self.array(addr).map(i64::from_le_bytes)
    }

    pub fn put_u16(&mut self, addr: u64, v: u16) -> KResult<()> {
        self.write(addr, &v.to_le_bytes())
    }

    pub fn put_u32(&mut self, addr: u64, v: u32) -> KResult<()> {
        self.write(addr, &v.to_le_bytes())
    }

    pub fn put_i32(&mut self, addr: u64, v: i32) -> KResult<()> {
        self.write(addr, &v.to_le_bytes())
    }

    pub fn put_u64(&mut self, addr: u64, v: u64) -> KResult<()> {
        self.write(addr, &v.to_le_bytes())
    }

    pub fn put_i64(&mut self, addr: u64, v: i64) -> KResult<()> {
        self.write(addr, &v.to_le_bytes())
    }

    /// A NUL-terminated string of at most `max` bytes before its NUL
    /// (`ENAMETOOLONG` beyond, `EFAULT` if memory ends first).
    pub fn cstr(&self, addr: u64, max: usize) -> KResult<Vec<u8>> {
        let start = self.range(addr, 0)?.start;
        let rest = &self.bytes[start..];
        let window = &rest[..rest.len().min(max + 1)];
        match window.iter().position(|&b| b == 0) {
            Some(n) => Ok(window[..n].to_vec()),
            None if window.len() > max => Err(Errno::ENAMETOOLONG),
            None => Err(Errno::EFAULT),
        }
    }

    /// A path argument: a C string shorter than `PATH_MAX` with its NUL (Linux's
    /// `getname`), `ENOENT` if empty.
    pub fn path(&self, addr: u64) -> KResult<Vec<u8>> {
        let p = self.cstr(addr, PATH_MAX - 1)?;
        if p.is_empty() {
            return Err(Errno::ENOENT);
        }
        Ok(p)
    }

    /// A path argument that may be empty (for `AT_EMPTY_PATH`).
    pub fn path_or_empty(&self, addr: u64) -> KResult<Vec<u8>> {
        self.cstr(addr, PATH_MAX - 1)
    }

    /// The `count` `struct iovec`s at `addr` (`EINVAL` past [`MAX_IOVECS`] or for a
    /// total that overflows `ssize_t`; `EFAULT` for the array itself out of memory).
    pub fn iovecs(&self, addr: u64, count: u64) -> KResult<Vec<Iovec>> {
        if count > MAX_IOVECS {
            return Err(Errno::EINVAL);
        }
        if count == 0 {
            return Ok(Vec::new());
        }
        self.check(addr, 16 * count)?;
        let mut total: u64 = 0;
        let mut out = Vec::with_capacity(count as usize);
        for i in 0..count {
            let at = addr + 16 * i;
            let v = Iovec {
                base: self.u64(at)?,
                len: self.u64(at + 8)?,
            };
            total = total.checked_add(v.len).ok_or(Errno::EINVAL)?;
            if total > i64::MAX as u64 {
                return Err(Errno::EINVAL);
            }
            out.push(v);
        }
        Ok(out)
    }

    /// The buffers of `iovs` as slices, for a write (they may overlap); capped at
    /// [`MAX_RW_COUNT`] bytes in all.
    pub fn gather(&self, iovs: &[Iovec]) -> KResult<Vec<&[u8]>> {
        let mut left = MAX_RW_COUNT;
        let mut out = Vec::with_capacity(iovs.len());
        for v in iovs {
            let len = v.len.min(left);
            if len == 0 {
                continue;
            }
            out.push(self.bytes(v.base, len)?);
            left -= len;
        }
        Ok(out)
    }

    /// Copies `data` into the buffers of `iovs` in order (after checking they are all
    /// memory), stopping when `data` runs out.
    pub fn scatter(&mut self, iovs: &[Iovec], mut data: &[u8]) -> KResult<()> {
        for v in iovs {
            if data.is_empty() {
                break;
            }
            let n = (v.len.min(data.len() as u64)) as usize;
            self.write(v.base, &data[..n])?;
            data = &data[n..];
        }
        Ok(())
    }

    /// Checks every buffer of `iovs` is memory (for a read, before anything is
    /// consumed) and returns their total length, capped at [`MAX_RW_COUNT`].
    pub fn check_iovecs(&self, iovs: &[Iovec]) -> KResult<u64> {
        let mut total = 0u64;
        for v in iovs {
            if v.len > 0 {
                self.check(v.base, v.len)?;
            }
            total = total.saturating_add(v.len);
        }
        Ok(total.min(MAX_RW_COUNT))
    }
}
