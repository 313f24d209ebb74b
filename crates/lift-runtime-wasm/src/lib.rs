//! The guest runtime of lifted ELF programs (`crates/lift-runtime`) built for
//! `wasm32-wasip1` in release mode by this crate's build script, with its own
//! target directory under `OUT_DIR`.
//!
//! The builder merges [`wasm_bytes`] into every megabinary that holds lifted
//! programs, after placing their images below the runtime's data
//! (`recompiler_lift::layout`). The build uses the workspace's `Cargo.lock`
//! (`--locked --offline`) and the release profile with the overrides in
//! [`BUILD_PROFILE`]; cargo rebuilds it when the runtime's or the lift crate's
//! sources change.

/// Absolute path of `lift-runtime.wasm`, as built by `build.rs`.
pub const WASM_PATH: &str = env!("LIFT_RUNTIME_WASM");

include!("profile.rs");

/// The contents of [`WASM_PATH`].
pub fn wasm_bytes() -> std::io::Result<Vec<u8>> {
    std::fs::read(WASM_PATH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_module_is_wasm() {
        let bytes = wasm_bytes().expect("build.rs built lift-runtime.wasm");
        assert_eq!(&bytes[..4], b"\0asm", "{WASM_PATH}");
    }
}
