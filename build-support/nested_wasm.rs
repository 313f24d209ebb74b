// Included by the build scripts of crates/agent-tool-wasm and
// crates/lift-runtime-wasm: a nested `cargo build --release --locked --offline
// --target wasm32-wasip1 -p PACKAGE --bin BIN` into `OUT_DIR/target`, with the
// outer build's environment cleared and the profile overrides of the including
// crate's `BUILD_PROFILE`, and the module's path exported to the crate as an
// environment variable. A missing wasm32-wasip1 target fails with a hint.
// (The including script defines `BUILD_PROFILE` by including its src/profile.rs,
// and includes build-support/clean_env.rs.)

const SETUP_HINT: &str = "run ./scripts/test, which installs the wasm toolchain \
     (`rustup target add wasm32-wasip1`)";

/// What to build and where to say it is.
struct WasmBin<'a> {
    /// The including crate's name, for error messages.
    this: &'a str,
    package: &'a str,
    bin: &'a str,
    /// Workspace-relative paths whose changes rebuild the module.
    watch: &'a [&'a str],
    /// The `rustc-env` variable that receives the module's absolute path.
    env_name: &'a str,
}

fn build_wasm_bin(spec: &WasmBin<'_>) {
    let manifest_dir = std::path::PathBuf::from(env_var(spec, "CARGO_MANIFEST_DIR"));
    let out_dir = std::path::PathBuf::from(env_var(spec, "OUT_DIR"));
    let workspace = manifest_dir.join("../..");

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/profile.rs");
    println!("cargo:rerun-if-changed=../../build-support/nested_wasm.rs");
    println!("cargo:rerun-if-changed=../../build-support/clean_env.rs");
    for p in spec
        .watch
        .iter()
        .map(|p| workspace.join(p))
        .chain([workspace.join("Cargo.toml"), workspace.join("Cargo.lock")])
    {
        println!("cargo:rerun-if-changed={}", p.display());
    }

    let target_dir = out_dir.join("target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = std::process::Command::new(&cargo);
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
        spec.package,
        "--bin",
        spec.bin,
    ])
    .arg("--manifest-path")
    .arg(workspace.join("Cargo.toml"))
    .arg("--target-dir")
    .arg(&target_dir);
    let out = cmd.output().unwrap_or_else(|e| {
        fail(
            spec,
            &format!("cannot run {}: {e}", std::path::Path::new(&cargo).display()),
        )
    });
    if !out.status.success() {
        fail(
            spec,
            &format!(
                "cannot build {} for wasm32-wasip1 ({SETUP_HINT}): {cmd:?} exited with {}\n\
                 --- stderr\n{}",
                spec.package,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ),
        );
    }
    let wasm = target_dir.join(format!("wasm32-wasip1/release/{}.wasm", spec.bin));
    if !wasm.is_file() {
        fail(spec, &format!("cargo built no {}", wasm.display()));
    }
    let wasm = wasm
        .canonicalize()
        .unwrap_or_else(|e| fail(spec, &format!("{}: {e}", wasm.display())));
    let wasm = wasm
        .to_str()
        .unwrap_or_else(|| fail(spec, &format!("{}: path is not UTF-8", wasm.display())));
    println!("cargo:rustc-env={}={wasm}", spec.env_name);
}

fn env_var(spec: &WasmBin<'_>, name: &str) -> std::ffi::OsString {
    std::env::var_os(name).unwrap_or_else(|| fail(spec, &format!("cargo did not set {name}")))
}

fn fail(spec: &WasmBin<'_>, message: &str) -> ! {
    eprintln!("error: {}: {message}", spec.this);
    std::process::exit(1);
}
