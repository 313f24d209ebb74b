//! How instruction semantics reach guest memory.
//!
//! The guest runtime implements [`GuestMem`] over its linear memory with a
//! page-permission map; the host test harnesses implement it over a host
//! mapping. Code is fetched only from pages mapped executable, which in the
//! runtime are exactly the pages of the program's own (hashed, signed)
//! executable segments.

/// Why an access failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Not mapped, or outside the guest window.
    Unmapped,
    /// Mapped without the permission the access needs.
    Protection,
}

/// What the access was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Exec,
}

/// A memory access that the guest may not make: delivered as SIGSEGV with
/// `si_addr` = `addr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub addr: u64,
    pub access: Access,
    pub kind: FaultKind,
}

/// Guest memory as the semantics see it. Addresses are guest virtual
/// addresses; an access that wraps or leaves the mapped pages is a [`Fault`].
pub trait GuestMem {
    /// Reads `buf.len()` bytes at `addr`.
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Fault>;
    /// Writes `data` at `addr`. Either all of it is written or nothing.
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Fault>;
    /// Copies the instruction bytes at `addr` from executable memory into
    /// `buf` and returns how many were available (fewer than 16 at the end of
    /// an executable mapping, at least 1). A fault if `addr` itself is not in
    /// executable memory.
    fn fetch(&mut self, addr: u64, buf: &mut [u8; 16]) -> Result<usize, Fault>;
}
