//! The interpreter's side of memory: a sparse page map filled from the native
//! process, with per-page permissions from `/proc/<pid>/maps`, and a log of
//! the writes each step makes (checked against the native memory).

use std::collections::{HashMap, HashSet};

use recompiler_lift::mem::Access;
use recompiler_lift::{Fault, FaultKind, GuestMem};

use super::native::{Mapping, Tracee};

const PAGE: u64 = 4096;
const R: u8 = 1;
const W: u8 = 2;
const X: u8 = 4;

struct Page {
    perms: u8,
    data: Box<[u8; PAGE as usize]>,
}

/// Guest memory for the interpreter, mirroring the tracee's.
#[derive(Default)]
pub struct PageMem {
    pages: HashMap<u64, Page>,
    /// Mappings copied at the last sync: a read-only mapping seen before is
    /// not copied again.
    known: HashSet<Mapping>,
    /// (address, length) of every write since the log was last cleared.
    pub writes: Vec<(u64, usize)>,
}

impl std::fmt::Debug for PageMem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageMem")
            .field("pages", &self.pages.len())
            .finish()
    }
}

/// A byte range where the interpreter's memory and the native memory differ.
#[derive(Debug)]
pub struct MemDiff {
    pub addr: u64,
    pub native: Vec<u8>,
    pub interp: Vec<u8>,
}

impl PageMem {
    pub fn new() -> Self {
        Self::default()
    }

    fn fault(addr: u64, access: Access, kind: FaultKind) -> Fault {
        Fault { addr, access, kind }
    }

    /// Checks that `[addr, addr + len)` is mapped with permission `need`.
    fn check(&self, addr: u64, len: usize, need: u8, access: Access) -> Result<(), Fault> {
        let end =
            addr.checked_add(len as u64)
                .ok_or(Self::fault(addr, access, FaultKind::Unmapped))?;
        let mut p = addr / PAGE;
        while p * PAGE < end {
            let at = (p * PAGE).max(addr);
            match self.pages.get(&p) {
                None => return Err(Self::fault(at, access, FaultKind::Unmapped)),
                Some(pg) if pg.perms & need == 0 => {
                    return Err(Self::fault(at, access, FaultKind::Protection));
                }
                Some(_) => {}
            }
            p += 1;
        }
        Ok(())
    }

    /// Copies bytes out without a permission check (for reports and compares).
    pub fn peek(&self, addr: u64, buf: &mut [u8]) -> bool {
        for (i, b) in buf.iter_mut().enumerate() {
            let a = addr + i as u64;
            match self.pages.get(&(a / PAGE)) {
                Some(pg) => *b = pg.data[(a % PAGE) as usize],
                None => return false,
            }
        }
        true
    }

    /// Inverts the byte at `addr`, if mapped, without logging a write (for
    /// the harness's own tests).
    pub fn flip(&mut self, addr: u64) {
        if let Some(pg) = self.pages.get_mut(&(addr / PAGE)) {
            pg.data[(addr % PAGE) as usize] ^= 0xff;
        }
    }

    /// Brings the page map in line with the tracee's mappings: pages no
    /// longer mapped are dropped, permissions updated, and the contents of
    /// every writable mapping (and of any mapping not seen before) copied.
    /// With `all_writable == false` only new or changed mappings are copied.
    pub fn sync(&mut self, t: &Tracee, all_writable: bool) {
        let maps: Vec<Mapping> = t.maps().into_iter().filter(|m| m.read).collect();
        let mut live = HashSet::new();
        for m in &maps {
            let perms = R | if m.write { W } else { 0 } | if m.exec { X } else { 0 };
            let copy = (m.write && all_writable) || !self.known.contains(m);
            let mut p = m.start / PAGE;
            while p * PAGE < m.end {
                live.insert(p);
                let absent = !self.pages.contains_key(&p);
                let pg = self.pages.entry(p).or_insert_with(|| Page {
                    perms,
                    data: Box::new([0; PAGE as usize]),
                });
                pg.perms = perms;
                if copy || absent {
                    // A page the kernel cannot read (vvar, a file mapping past
                    // its end) stays zero: the native process could not read
                    // it either without a fault.
                    let n = t.read(p * PAGE, &mut pg.data[..]);
                    if n < PAGE as usize {
                        pg.data[n..].fill(0);
                    }
                }
                p += 1;
            }
        }
        self.pages.retain(|p, _| live.contains(p));
        self.known = maps.into_iter().collect();
    }

    /// Compares every writable page with the native memory; at most `limit`
    /// differing ranges.
    pub fn diff_writable(&self, t: &Tracee, limit: usize) -> Vec<MemDiff> {
        let mut out = Vec::new();
        let mut keys: Vec<u64> = self
            .pages
            .iter()
            .filter(|(_, pg)| pg.perms & W != 0)
            .map(|(k, _)| *k)
            .collect();
        keys.sort_unstable();
        let mut native = [0u8; PAGE as usize];
        for p in keys {
            let pg = &self.pages[&p];
            let n = t.read(p * PAGE, &mut native);
            if n < PAGE as usize {
                // The native page went away: the next sync notices.
                continue;
            }
            diff_ranges(p * PAGE, &native, &pg.data[..], &mut out, limit);
            if out.len() >= limit {
                break;
            }
        }
        out
    }

    /// Compares the bytes the interpreter wrote since the log was cleared
    /// with the native memory at the same addresses.
    pub fn diff_writes(&self, t: &Tracee) -> Vec<MemDiff> {
        let mut out = Vec::new();
        for &(addr, len) in &self.writes {
            let mut native = vec![0u8; len];
            let mut interp = vec![0u8; len];
            let n = t.read(addr, &mut native);
            self.peek(addr, &mut interp);
            if n < len {
                out.push(MemDiff {
                    addr,
                    native: native[..n].to_vec(),
                    interp,
                });
                continue;
            }
            diff_ranges(addr, &native, &interp, &mut out, 8);
        }
        out
    }
}

/// Appends the runs of differing bytes between `a` (native) and `b` (interp).
fn diff_ranges(base: u64, a: &[u8], b: &[u8], out: &mut Vec<MemDiff>, limit: usize) {
    if a == b {
        return;
    }
    let mut i = 0;
    while i < a.len() && out.len() < limit {
        if a[i] == b[i] {
            i += 1;
            continue;
        }
        let start = i;
        // Extend while bytes differ or the gap to the next difference is short.
        let mut end = i + 1;
        while end < a.len() && end - start < 32 {
            let near = a.len().min(end + 4);
            if a[end..near] == b[end..near] {
                break;
            }
            end += 1;
        }
        out.push(MemDiff {
            addr: base + start as u64,
            native: a[start..end].to_vec(),
            interp: b[start..end].to_vec(),
        });
        i = end;
    }
}

/// The page of `addr` and the offset in it, when `[addr, addr + len)` lies
/// within one page (the common case, served without a loop).
fn one_page(addr: u64, len: usize) -> Option<(u64, usize)> {
    let off = (addr % PAGE) as usize;
    (off + len <= PAGE as usize).then_some((addr / PAGE, off))
}

impl GuestMem for PageMem {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        if let Some((p, off)) = one_page(addr, buf.len())
            && let Some(pg) = self.pages.get(&p).filter(|pg| pg.perms & R != 0)
        {
            buf.copy_from_slice(&pg.data[off..off + buf.len()]);
            return Ok(());
        }
        self.check(addr, buf.len(), R, Access::Read)?;
        self.peek(addr, buf);
        Ok(())
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Fault> {
        if let Some((p, off)) = one_page(addr, data.len())
            && let Some(pg) = self.pages.get_mut(&p).filter(|pg| pg.perms & W != 0)
        {
            pg.data[off..off + data.len()].copy_from_slice(data);
            if !data.is_empty() {
                self.writes.push((addr, data.len()));
            }
            return Ok(());
        }
        self.check(addr, data.len(), W, Access::Write)?;
        for (i, b) in data.iter().enumerate() {
            let a = addr + i as u64;
            if let Some(pg) = self.pages.get_mut(&(a / PAGE)) {
                pg.data[(a % PAGE) as usize] = *b;
            }
        }
        if !data.is_empty() {
            self.writes.push((addr, data.len()));
        }
        Ok(())
    }

    fn fetch(&mut self, addr: u64, buf: &mut [u8; 16]) -> Result<usize, Fault> {
        if let Some((p, off)) = one_page(addr, 16)
            && let Some(pg) = self.pages.get(&p).filter(|pg| pg.perms & X != 0)
        {
            buf.copy_from_slice(&pg.data[off..off + 16]);
            return Ok(16);
        }
        self.check(addr, 1, X, Access::Exec)?;
        let mut n = 0;
        while n < 16 && self.check(addr + n as u64, 1, X, Access::Exec).is_ok() {
            self.peek(addr + n as u64, &mut buf[n..n + 1]);
            n += 1;
        }
        Ok(n)
    }
}
