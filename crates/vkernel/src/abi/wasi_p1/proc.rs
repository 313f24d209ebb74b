//! The process functions: arguments and environment, exit, signals, randomness, and the
//! socket functions (no preview1 fd is a socket here, as in wasmtime-wasi).

use super::HostExit;
use super::errno::{Fail, WResult, WasiErrno};
use super::host::{Args, WasiProcess};
use super::memory::GuestMemory;
use super::types::{RIFLAGS_ALL, SDFLAGS_ALL, SIGNAL_MAX, check_flags, fdflags};

fn overflow() -> Fail {
    Fail::Wasi(WasiErrno::OVERFLOW)
}

fn fault() -> Fail {
    Fail::Wasi(WasiErrno::FAULT)
}

/// `(count, total bytes)` of a list of NUL-terminated strings, as `u32`s.
fn sizes(strings: impl Iterator<Item = usize>) -> WResult<(u32, u32)> {
    let mut count = 0u32;
    let mut bytes = 0u32;
    for len in strings {
        count = count.checked_add(1).ok_or_else(overflow)?;
        let with_nul = u32::try_from(len).ok().and_then(|l| l.checked_add(1));
        bytes = with_nul
            .and_then(|l| bytes.checked_add(l))
            .ok_or_else(overflow)?;
    }
    Ok((count, bytes))
}

/// Writes `strings` (each made of the given pieces, then a NUL) into the buffer at `buf`
/// and a pointer to each into the array at `ptrs`.
fn write_strings(
    mem: &mut GuestMemory<'_>,
    ptrs: u32,
    buf: u32,
    strings: &[Vec<&[u8]>],
) -> WResult<()> {
    let mut ptr_at = ptrs;
    let mut buf_at = buf;
    for pieces in strings {
        mem.write_u32(ptr_at, buf_at)?;
        ptr_at = ptr_at.checked_add(4).ok_or_else(fault)?;
        for piece in pieces.iter().chain([&&b"\0"[..]]) {
            mem.write_bytes(buf_at, piece)?;
            let len = u32::try_from(piece.len()).map_err(|_| fault())?;
            buf_at = buf_at.checked_add(len).ok_or_else(fault)?;
        }
    }
    Ok(())
}

impl WasiProcess {
    /// Args_get implements preview1 `args_get(argv, argv_buf)`.
    pub(super) fn args_get(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let argv = self.process.argv();
        let strings: Vec<Vec<&[u8]>> = argv.iter().map(|s| vec![s.as_slice()]).collect();
        write_strings(mem, a.u32(0), a.u32(1), &strings)
    }

    /// Args_sizes_get implements preview1 `args_sizes_get(*argc, *argv_buf_size)`.
    pub(super) fn args_sizes_get(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let argv = self.process.argv();
        let (count, bytes) = sizes(argv.iter().map(Vec::len))?;
        mem.write_u32(a.u32(0), count)?;
        mem.write_u32(a.u32(1), bytes)
    }

    /// Environ_get implements preview1 `environ_get(environ, environ_buf)`: `KEY=value`
    /// strings.
    pub(super) fn environ_get(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let env = self.process.env();
        let strings: Vec<Vec<&[u8]>> = env
            .iter()
            .map(|(k, v)| vec![k.as_slice(), b"=", v.as_slice()])
            .collect();
        write_strings(mem, a.u32(0), a.u32(1), &strings)
    }

    /// Environ_sizes_get implements preview1 `environ_sizes_get(*count, *buf_size)`.
    pub(super) fn environ_sizes_get(
        &mut self,
        mem: &mut GuestMemory<'_>,
        a: Args<'_>,
    ) -> WResult<()> {
        let env = self.process.env();
        let (count, bytes) = sizes(env.iter().map(|(k, v)| k.len().saturating_add(1 + v.len())))?;
        mem.write_u32(a.u32(0), count)?;
        mem.write_u32(a.u32(1), bytes)
    }

    /// Proc_exit implements preview1 `proc_exit(status)`: the process ends with `status`.
    pub(super) fn proc_exit(&mut self, _mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        Err(Fail::Exit(HostExit::Exit(a.i32(0))))
    }

    /// Proc_raise implements preview1 `proc_raise(signal)`: `NOTSUP`, as in wasmtime-wasi.
    pub(super) fn proc_raise(&mut self, _mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        a.enum_u8(0, SIGNAL_MAX)?;
        Err(Fail::Wasi(WasiErrno::NOTSUP))
    }

    /// Random_get implements preview1 `random_get(buf, buf_len)`: the host's CSPRNG.
    pub(super) fn random_get(&mut self, mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        let buf = mem.bytes_mut(a.u32(0), a.u32(1))?;
        getrandom::getrandom(buf).map_err(|_| Fail::Wasi(WasiErrno::IO))
    }

    /// Sock_accept implements preview1 `sock_accept(fd, flags, *fd)`: `NOTSOCK` for any
    /// open fd.
    pub(super) fn sock_accept(&mut self, _mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        check_flags(a.u16(1)?, fdflags::ALL)?;
        self.file(a.fd(0))?;
        Err(Fail::Wasi(WasiErrno::NOTSOCK))
    }

    /// Sock_recv implements preview1 `sock_recv(fd, ri_data, ri_flags, *len, *flags)`:
    /// `NOTSOCK` for any open fd.
    pub(super) fn sock_recv(&mut self, _mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        check_flags(a.u16(3)?, RIFLAGS_ALL)?;
        self.file(a.fd(0))?;
        Err(Fail::Wasi(WasiErrno::NOTSOCK))
    }

    /// Sock_send implements preview1 `sock_send(fd, si_data, si_flags, *len)`: `NOTSOCK`
    /// for any open fd.
    pub(super) fn sock_send(&mut self, _mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        a.u16(3)?;
        self.file(a.fd(0))?;
        Err(Fail::Wasi(WasiErrno::NOTSOCK))
    }

    /// Sock_shutdown implements preview1 `sock_shutdown(fd, how)`: `NOTSOCK` for any open
    /// fd.
    pub(super) fn sock_shutdown(&mut self, _mem: &mut GuestMemory<'_>, a: Args<'_>) -> WResult<()> {
        check_flags(a.u8(1)?, SDFLAGS_ALL)?;
        self.file(a.fd(0))?;
        Err(Fail::Wasi(WasiErrno::NOTSOCK))
    }
}
