//! `syscall`, `cpuid`, fences, `rdtsc`, `endbr64`, and the instructions a user
//! program may not run.

use iced_x86::Mnemonic;

use super::{Handler, M, Sem};
use crate::interp::Exit;

pub fn handler<S: Sem>(m: Mnemonic) -> Option<Handler<S>> {
    Some(match m {
        M::Syscall => |_| Err(Exit::Syscall),
        M::Endbr64 | M::Lfence | M::Mfence | M::Sfence | M::Pause => |_| Ok(()),
        M::Hlt => |_| Err(Exit::Privileged),
        M::Int3 => |_| Err(Exit::Breakpoint),
        _ => return None,
    })
}
