//! Builds agent-tool for wasm32-wasip1 with a nested `cargo build --release
//! --locked --offline -p agent-tool` into `OUT_DIR/target`, and exports the
//! module's path as `AGENT_TOOL_WASM` (read by `src/lib.rs`). The nested
//! build is `build-support/nested_wasm.rs`, shared with lift-runtime-wasm.

// The profile table, shared with the library so it is written down once.
include!("src/profile.rs");
include!("../../build-support/clean_env.rs");
include!("../../build-support/nested_wasm.rs");

fn main() {
    build_wasm_bin(&WasmBin {
        this: "agent-tool-wasm",
        package: "agent-tool",
        bin: "agent-tool",
        watch: &["crates/agent-tool/src", "crates/agent-tool/Cargo.toml"],
        env_name: "AGENT_TOOL_WASM",
    });
}
