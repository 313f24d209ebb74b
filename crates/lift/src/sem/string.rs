//! String instructions (`movs`, `stos`, `lods`, `cmps`, `scas`, with `rep`,
//! `repe`, `repne`): helpers, since with a prefix each is a loop.

use iced_x86::Mnemonic;

use super::{Handler, Sem};

pub fn handler<S: Sem>(m: Mnemonic) -> Option<Handler<S>> {
    let _ = m;
    None
}
