//! SSE and SSE2, as glibc and busybox use them: helpers over the XMM registers.

use iced_x86::Mnemonic;

use super::{Handler, Sem};

pub fn handler<S: Sem>(m: Mnemonic) -> Option<Handler<S>> {
    let _ = m;
    None
}
