// Included by the build scripts that run a nested cargo (crates/testkit,
// build-support/nested_wasm.rs's users).

/// Removes what the outer cargo build exports to build scripts so that it
/// does not leak into the nested build: profile and target settings,
/// rustflags (e.g. coverage instrumentation) and rustc wrappers (e.g.
/// clippy-driver). `CARGO_HOME` and the jobserver (`CARGO_MAKEFLAGS`) are kept.
fn clear_outer_build_env(cmd: &mut std::process::Command) {
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let leaks = (key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_MAKEFLAGS")
            || matches!(
                key,
                "RUSTFLAGS"
                    | "RUSTDOCFLAGS"
                    | "RUSTC_WRAPPER"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "RUSTC_LINKER"
                    | "TARGET"
                    | "HOST"
                    | "PROFILE"
                    | "OPT_LEVEL"
                    | "DEBUG"
                    | "NUM_JOBS"
                    | "OUT_DIR"
            );
        if leaks {
            cmd.env_remove(key);
        }
    }
}
