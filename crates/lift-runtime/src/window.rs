//! The guest window: the guest's address space inside this program's linear
//! memory, with Linux-like page permissions.
//!
//! Guest address == linear address. Every access the interpreter makes goes
//! through [`GuestMem`] here and is checked against the window and the page's
//! permissions, so a guest can never touch the runtime's state above the
//! window. Pages are executable only if they belong to the lifted program's
//! own executable segments (`exec_ok`): no other bytes can ever run, whatever
//! the guest maps or writes (W^X is kept: an executable page is never
//! writable). Invariant: a page that is not mapped holds zeros.

use recompiler_lift::layout::{GUEST_MAX, GUEST_MIN, PAGE, page_up};
use recompiler_lift::mem::Access;
use recompiler_lift::{Fault, FaultKind, GuestMem};

/// Page bits.
pub const R: u8 = 1;
pub const W: u8 = 2;
pub const X: u8 = 4;
pub const MAPPED: u8 = 8;
/// The page holds the program's own code: it may be executable.
pub const EXEC_OK: u8 = 16;

/// Linux `PROT_*`.
pub const PROT_READ: u64 = 1;
pub const PROT_WRITE: u64 = 2;
pub const PROT_EXEC: u64 = 4;

const PAGES: usize = (GUEST_MAX / PAGE) as usize;

/// The guest's memory.
pub struct Window {
    perms: Vec<u8>,
    #[cfg(not(target_arch = "wasm32"))]
    backing: Vec<u8>,
}

impl Window {
    pub fn new() -> Self {
        Window {
            perms: vec![0; PAGES],
            // Host builds (tests): a zeroed allocation the size of the window
            // (calloc'd: untouched pages cost nothing).
            #[cfg(not(target_arch = "wasm32"))]
            backing: vec![0; GUEST_MAX as usize],
        }
    }

    fn ptr(&mut self, addr: u64) -> *mut u8 {
        #[cfg(target_arch = "wasm32")]
        {
            std::ptr::with_exposed_provenance_mut(addr as usize)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            self.backing.as_mut_ptr().wrapping_add(addr as usize)
        }
    }

    /// Whether `[addr, addr + len)` lies inside the window.
    pub fn in_window(addr: u64, len: u64) -> bool {
        addr >= GUEST_MIN && addr.checked_add(len).is_some_and(|end| end <= GUEST_MAX)
    }

    /// Checks that every page of `[addr, addr + len)` has all of `need`.
    fn check(&self, addr: u64, len: usize, need: u8, access: Access) -> Result<(), Fault> {
        if len == 0 {
            return Ok(());
        }
        if !Self::in_window(addr, len as u64) {
            return Err(Fault {
                addr,
                access,
                kind: FaultKind::Unmapped,
            });
        }
        let first = (addr / PAGE) as usize;
        let last = ((addr + len as u64 - 1) / PAGE) as usize;
        for p in first..=last {
            let bits = self.perms[p];
            if bits & MAPPED == 0 || bits & need != need {
                let fault_addr = if p == first { addr } else { p as u64 * PAGE };
                return Err(Fault {
                    addr: fault_addr,
                    access,
                    kind: if bits & MAPPED == 0 {
                        FaultKind::Unmapped
                    } else {
                        FaultKind::Protection
                    },
                });
            }
        }
        Ok(())
    }

    /// The permission bits of the page holding `addr`.
    pub fn page_bits(&self, addr: u64) -> u8 {
        self.perms.get((addr / PAGE) as usize).copied().unwrap_or(0)
    }

    /// Whether every page of the page-aligned range is unmapped.
    pub fn is_free(&self, start: u64, len: u64) -> bool {
        Self::in_window(start, len)
            && (start / PAGE..(start + len) / PAGE).all(|p| self.perms[p as usize] & MAPPED == 0)
    }

    /// The runs of mapped pages, as (start, length): what a fork copies.
    pub fn mapped_runs(&self) -> Vec<(u64, u64)> {
        let mut runs = Vec::new();
        let mut p = 0;
        while p < self.perms.len() {
            if self.perms[p] & MAPPED == 0 {
                p += 1;
                continue;
            }
            let start = p;
            while p < self.perms.len() && self.perms[p] & MAPPED != 0 {
                p += 1;
            }
            runs.push((start as u64 * PAGE, (p - start) as u64 * PAGE));
        }
        runs
    }

    /// Maps the page-aligned range with `prot` (`PROT_*`); `exec_ok` marks the
    /// program's own code. The pages keep their contents (zero if they were
    /// unmapped).
    pub fn map(&mut self, start: u64, len: u64, prot: u64, exec_ok: bool) {
        for p in start / PAGE..page_up(start + len) / PAGE {
            let mut bits = MAPPED | if exec_ok { EXEC_OK } else { 0 };
            bits |= prot_bits(prot, exec_ok);
            self.perms[p as usize] = bits;
        }
    }

    /// Changes the permissions of mapped pages; `Err` if a page is unmapped
    /// (ENOMEM) or asks for execution of bytes that are not the program's
    /// code (EACCES).
    pub fn protect(&mut self, start: u64, len: u64, prot: u64) -> Result<(), i64> {
        let (first, end) = (start / PAGE, page_up(start + len) / PAGE);
        for p in first..end {
            let bits = self.perms[p as usize];
            if bits & MAPPED == 0 {
                return Err(crate::host::errno::ENOMEM);
            }
            if prot & PROT_EXEC != 0 && bits & EXEC_OK == 0 {
                return Err(crate::host::errno::EACCES);
            }
        }
        for p in first..end {
            let bits = self.perms[p as usize];
            let exec_ok = bits & EXEC_OK != 0;
            self.perms[p as usize] = (bits & (MAPPED | EXEC_OK)) | prot_bits(prot, exec_ok);
        }
        Ok(())
    }

    /// Unmaps the page-aligned range and zeroes the pages that were mapped.
    pub fn unmap(&mut self, start: u64, len: u64) {
        let mut p = start / PAGE;
        let end = page_up(start + len) / PAGE;
        while p < end {
            if self.perms[p as usize] & MAPPED == 0 {
                p += 1;
                continue;
            }
            // A run of mapped pages: zero it at once.
            let run = p;
            while p < end && self.perms[p as usize] & MAPPED != 0 {
                self.perms[p as usize] = 0;
                p += 1;
            }
            self.zero(run * PAGE, (p - run) * PAGE);
        }
    }

    /// Zeroes bytes of the window (no permission check: the runtime's own use).
    pub fn zero(&mut self, addr: u64, len: u64) {
        debug_assert!(Self::in_window(addr, len));
        let ptr = self.ptr(addr);
        // SAFETY: `[addr, addr + len)` is inside the guest window, which is
        // linear memory below the runtime's data (wasm32) or inside `backing`
        // (host); nothing else holds a reference into it.
        unsafe { std::ptr::write_bytes(ptr, 0, len as usize) };
    }

    /// Copies `data` to `addr` without a permission check (the loader's use).
    pub fn copy_in(&mut self, addr: u64, data: &[u8]) {
        debug_assert!(Self::in_window(addr, data.len() as u64));
        let ptr = self.ptr(addr);
        // SAFETY: as in `zero`; `data` is runtime memory outside the window
        // or the image, which never overlaps the destination range.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), ptr, data.len()) };
    }

    /// Copies between two ranges of the window (mremap's move).
    pub fn copy_within(&mut self, from: u64, to: u64, len: u64) {
        let src = self.ptr(from);
        let dst = self.ptr(to);
        // SAFETY: both ranges are inside the window; `copy` allows overlap.
        unsafe { std::ptr::copy(src, dst, len as usize) };
    }
}

fn prot_bits(prot: u64, exec_ok: bool) -> u8 {
    let mut bits = 0;
    if prot & (PROT_READ | PROT_WRITE | PROT_EXEC) != 0 {
        bits |= R; // x86 pages that are writable or executable are readable
    }
    if prot & PROT_WRITE != 0 && !exec_ok {
        bits |= W;
    }
    if prot & PROT_EXEC != 0 && exec_ok {
        bits |= X;
    }
    if prot & PROT_WRITE != 0 && exec_ok && prot & PROT_EXEC == 0 {
        // The program's code made writable (and not executable): allowed,
        // it just cannot run from there while writable.
        bits |= W;
    }
    bits
}

impl Default for Window {
    fn default() -> Self {
        Self::new()
    }
}

impl GuestMem for Window {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        self.check(addr, buf.len(), R, Access::Read)?;
        let ptr = self.ptr(addr);
        // SAFETY: checked to lie in readable pages of the window.
        unsafe { std::ptr::copy_nonoverlapping(ptr, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Fault> {
        self.check(addr, data.len(), W, Access::Write)?;
        let ptr = self.ptr(addr);
        // SAFETY: checked to lie in writable pages of the window.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), ptr, data.len()) };
        Ok(())
    }

    fn fetch(&mut self, addr: u64, buf: &mut [u8; 16]) -> Result<usize, Fault> {
        self.check(addr, 1, X, Access::Exec)?;
        // Up to 16 bytes, stopping where executable pages end.
        let mut n = 16usize;
        let next_page = (addr / PAGE + 1) * PAGE;
        if addr + 16 > next_page && self.check(next_page, 1, X, Access::Exec).is_err() {
            n = (next_page - addr) as usize;
        }
        let ptr = self.ptr(addr);
        // SAFETY: the first `n` bytes are in executable (hence mapped) pages.
        unsafe { std::ptr::copy_nonoverlapping(ptr, buf.as_mut_ptr(), n) };
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_are_enforced_and_unmapped_pages_are_zero() {
        let mut w = Window::new();
        let a = 0x40_0000;
        w.map(a, 2 * PAGE, PROT_READ | PROT_EXEC, true);
        w.copy_in(a, &[0x90; 20]);
        let mut b = [0u8; 16];
        assert_eq!(w.fetch(a, &mut b), Ok(16));
        assert!(w.write(a, &[1]).is_err(), "code is not writable");
        // Near the end of the code, fetch stops at the last executable byte.
        assert_eq!(w.fetch(a + 2 * PAGE - 3, &mut b), Ok(3));
        let d = 0x50_0000;
        w.map(d, PAGE, PROT_READ | PROT_WRITE, false);
        w.write(d + 8, &[7; 8]).unwrap();
        assert!(w.fetch(d, &mut b).is_err(), "data never runs");
        assert_eq!(
            w.protect(d, PAGE, PROT_READ | PROT_EXEC),
            Err(crate::host::errno::EACCES)
        );
        let mut r = [0u8; 8];
        // An access straddling into an unmapped page faults at that page.
        let f = w.read(d + PAGE - 4, &mut r).unwrap_err();
        assert_eq!(f.addr, d + PAGE);
        w.unmap(d, PAGE);
        w.map(d, PAGE, PROT_READ, false);
        w.read(d + 8, &mut r).unwrap();
        assert_eq!(r, [0; 8], "an unmapped page was zeroed");
        assert!(w.read(0x1000, &mut r).is_err(), "below the window");
        assert!(w.read(GUEST_MAX - 4, &mut r).is_err(), "above the window");
    }
}
