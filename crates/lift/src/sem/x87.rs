//! The x87 subset that glibc's `printf` and `strtod` paths need: helpers.

use iced_x86::Mnemonic;

use super::{Handler, Sem};

pub fn handler<S: Sem>(m: Mnemonic) -> Option<Handler<S>> {
    let _ = m;
    None
}
