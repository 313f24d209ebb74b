//! Builds the lifted programs' guest runtime for wasm32-wasip1 with a nested
//! `cargo build --release --locked --offline -p recompiler-lift-runtime` into
//! `OUT_DIR/target`, and exports the module's path as `LIFT_RUNTIME_WASM`
//! (read by `src/lib.rs`).
//!
//! The nested cargo is cleared of the outer build's `CARGO_*`, `RUSTFLAGS`
//! and wrapper variables (as crates/testkit/build.rs does for its Rust
//! guests), then given the profile overrides of `BUILD_PROFILE` in lib.rs.
//! A missing wasm32-wasip1 target fails the build with a hint.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

// The profile table, shared with the library so it is written down once.
include!("src/profile.rs");

const SETUP_HINT: &str = "run ./scripts/test, which installs the wasm toolchain \
     (`rustup target add wasm32-wasip1`)";

fn main() {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env_var("OUT_DIR"));
    let workspace = manifest_dir.join("../..");
    let runtime = workspace.join("crates/lift-runtime");
    let lift = workspace.join("crates/lift");

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/profile.rs");
    for p in [
        runtime.join("src"),
        runtime.join("Cargo.toml"),
        runtime.join("build.rs"),
        lift.join("src"),
        lift.join("Cargo.toml"),
        workspace.join("Cargo.toml"),
        workspace.join("Cargo.lock"),
    ] {
        println!("cargo:rerun-if-changed={}", p.display());
    }

    let target_dir = out_dir.join("target");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    clear_outer_build_env(&mut cmd);
    for (key, value) in BUILD_PROFILE {
        cmd.env(format!("CARGO_PROFILE_RELEASE_{key}"), value);
    }
    cmd.args([
        "build",
        "--release",
        "--locked",
        "--offline",
        "--target",
        "wasm32-wasip1",
        "-p",
        "recompiler-lift-runtime",
        "--bin",
        "lift-runtime",
    ])
    .arg("--manifest-path")
    .arg(workspace.join("Cargo.toml"))
    .arg("--target-dir")
    .arg(&target_dir);
    let out = cmd
        .output()
        .unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", Path::new(&cargo).display())));
    if !out.status.success() {
        fail(&format!(
            "cannot build the lift runtime for wasm32-wasip1 ({SETUP_HINT}): {cmd:?} exited with {}\n\
             --- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let wasm = target_dir.join("wasm32-wasip1/release/lift-runtime.wasm");
    if !wasm.is_file() {
        fail(&format!("cargo built no {}", wasm.display()));
    }
    let wasm = wasm
        .canonicalize()
        .unwrap_or_else(|e| fail(&format!("{}: {e}", wasm.display())));
    let wasm = wasm
        .to_str()
        .unwrap_or_else(|| fail(&format!("{}: path is not UTF-8", wasm.display())));
    println!("cargo:rustc-env=LIFT_RUNTIME_WASM={wasm}");
}

/// Removes what the outer cargo build exports to build scripts so that it
/// does not leak into the nested build: profile and target settings,
/// rustflags (e.g. coverage instrumentation) and rustc wrappers (e.g.
/// clippy-driver). `CARGO_HOME` and the jobserver (`CARGO_MAKEFLAGS`) are kept.
fn clear_outer_build_env(cmd: &mut Command) {
    for (key, _) in env::vars_os() {
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

fn env_var(name: &str) -> std::ffi::OsString {
    env::var_os(name).unwrap_or_else(|| fail(&format!("cargo did not set {name}")))
}

fn fail(message: &str) -> ! {
    eprintln!("error: recompiler-lift-runtime-wasm: {message}");
    std::process::exit(1);
}
