//! Builds the lifted programs' guest runtime for wasm32-wasip1 with a nested
//! `cargo build --release --locked --offline -p recompiler-lift-runtime` into
//! `OUT_DIR/target`, and exports the module's path as `LIFT_RUNTIME_WASM`
//! (read by `src/lib.rs`). The nested build is
//! `build-support/nested_wasm.rs`, shared with agent-tool-wasm.

// The profile table, shared with the library so it is written down once.
include!("src/profile.rs");
include!("../../build-support/clean_env.rs");
include!("../../build-support/nested_wasm.rs");

fn main() {
    build_wasm_bin(&WasmBin {
        this: "recompiler-lift-runtime-wasm",
        package: "recompiler-lift-runtime",
        bin: "lift-runtime",
        watch: &[
            "crates/lift-runtime/src",
            "crates/lift-runtime/Cargo.toml",
            "crates/lift-runtime/build.rs",
            "crates/lift/src",
            "crates/lift/Cargo.toml",
        ],
        env_name: "LIFT_RUNTIME_WASM",
    });
}
