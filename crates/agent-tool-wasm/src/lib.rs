//! agent-tool (crates/agent-tool) built for `wasm32-wasip1` in release mode,
//! by this crate's build script, with its own target directory under
//! `OUT_DIR`.
//!
//! Use it as a (dev-)dependency and read [`WASM_PATH`] (or [`wasm_bytes`]):
//! the tests of agent-tool run it under plain wasmtime-wasi, and an image
//! builder can pack the same file. The build uses the workspace's
//! `Cargo.lock` (`--locked --offline`) and the release profile with the
//! overrides in [`BUILD_PROFILE`].
//!
//! It does not build anything at run time, nor check that the file is still
//! there: cargo rebuilds it when agent-tool's sources or the lock file change.

/// Absolute path of `agent-tool.wasm`, as built by `build.rs`.
pub const WASM_PATH: &str = env!("AGENT_TOOL_WASM");

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
        let bytes = wasm_bytes().expect("build.rs built agent-tool.wasm");
        assert_eq!(&bytes[..4], b"\0asm", "{WASM_PATH}");
    }
}
