//! One module per subcommand of `recompiler-build`.

pub mod build;
pub mod inspect;
pub mod keygen;
pub mod verify;
