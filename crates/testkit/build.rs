//! Builds the guest programs under `tests/guests` into `OUT_DIR` and writes
//! `OUT_DIR/guests.rs`, the list `recompiler_testkit::guests` exposes.
//!
//! - `tests/guests/c/*.c`: `clang --target=wasm32-wasi -O2` (override the
//!   compiler with `WASI_CC`, add `--sysroot` with `WASI_SYSROOT`), and the same
//!   source natively with the host `cc` (override with `NATIVE_CC`) for
//!   native-versus-sandbox differential tests.
//! - `tests/guests/rust/<name>/`: a nested `cargo build --release --target
//!   wasm32-wasip1` with its own target directory, cleared of the outer build's
//!   `CARGO_*`/`RUSTFLAGS` environment (as wasmtime's test-programs-artifacts does).
//! - `tests/guests/wat/*.wat`: not built here; the library compiles them with
//!   the `wat` crate when a test asks for them. A WAT guest that is a reactor
//!   names its entry with a line `;; testkit-entry: NAME` (default `_start`).
//!
//! A missing toolchain fails the build with a hint: the guests are part of the
//! test suite and are never skipped silently.

use std::env;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SETUP_HINT: &str = "run ./scripts/test, which installs the wasm toolchain \
     (clang with wasm32-wasi and wasi-libc, and `rustup target add wasm32-wasip1`)";

/// One built guest, as written into `guests.rs`.
struct Built {
    name: String,
    lang: &'static str,
    source: PathBuf,
    wasm: PathBuf,
    native: Option<PathBuf>,
    entry: String,
}

fn main() {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env_var("OUT_DIR"));
    let guests_dir = manifest_dir.join("../../tests/guests");
    let guests_dir = fs::canonicalize(&guests_dir)
        .unwrap_or_else(|e| fail(&format!("cannot find {}: {e}", guests_dir.display())));

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../../build-support/clean_env.rs");
    for var in ["WASI_CC", "WASI_SYSROOT", "NATIVE_CC"] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let mut built = Vec::new();
    built.extend(build_c(&guests_dir.join("c"), &out_dir));
    built.extend(build_rust(&guests_dir.join("rust"), &out_dir));
    built.extend(list_wat(&guests_dir.join("wat")));
    write_list(&out_dir.join("guests.rs"), &built);
}

/// Compiles every `*.c` to wasm32-wasi and natively.
fn build_c(dir: &Path, out_dir: &Path) -> Vec<Built> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let sources = files_with_extension(dir, "c");
    let wasm_dir = out_dir.join("c-wasm");
    let native_dir = out_dir.join("c-native");
    for d in [&wasm_dir, &native_dir] {
        fs::create_dir_all(d).unwrap_or_else(|e| fail(&format!("create {}: {e}", d.display())));
    }

    let wasi_cc = command_from_env("WASI_CC", "clang");
    check_runs(&wasi_cc, "--version", "the WebAssembly C compiler");
    let sysroot = env::var_os("WASI_SYSROOT");
    let native_cc = command_from_env("NATIVE_CC", "cc");
    check_runs(&native_cc, "--version", "the native C compiler");

    let mut built = Vec::new();
    for source in sources {
        let name = stem(&source);
        let wasm = wasm_dir.join(format!("{name}.wasm"));
        let mut cmd = wasi_cc.command();
        cmd.args(["--target=wasm32-wasi", "-O2", "-Wall", "-Wextra", "-o"])
            .arg(&wasm)
            .arg(&source);
        if let Some(sysroot) = &sysroot {
            let mut flag = OsString::from("--sysroot=");
            flag.push(sysroot);
            cmd.arg(flag);
        }
        run(
            cmd,
            &format!(
                "compile {} for wasm32-wasi ({SETUP_HINT})",
                source.display()
            ),
        );

        let native = native_dir.join(&name);
        let mut cmd = native_cc.command();
        cmd.args(["-O2", "-Wall", "-Wextra", "-o"])
            .arg(&native)
            .arg(&source);
        run(cmd, &format!("compile {} natively", source.display()));

        built.push(Built {
            name,
            lang: "C",
            source,
            wasm,
            native: Some(native),
            entry: "_start".into(),
        });
    }
    built
}

/// Builds every Cargo project `rust/<name>/` (binary `<name>`) for wasm32-wasip1.
fn build_rust(dir: &Path, out_dir: &Path) -> Vec<Built> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut projects: Vec<PathBuf> = read_dir(dir)
        .into_iter()
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    projects.sort();
    if projects.is_empty() {
        return Vec::new();
    }
    check_wasip1_target();

    let target_dir = out_dir.join("rust-target");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut built = Vec::new();
    for project in projects {
        let name = project
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_else(|| fail(&format!("{}: name is not UTF-8", project.display())))
            .to_owned();
        let mut cmd = Command::new(&cargo);
        clear_outer_build_env(&mut cmd);
        cmd.args([
            "build",
            "--release",
            "--locked",
            "--offline",
            "--target",
            "wasm32-wasip1",
        ])
        .arg("--manifest-path")
        .arg(project.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
        run(
            cmd,
            &format!(
                "build {} for wasm32-wasip1 ({SETUP_HINT})",
                project.display()
            ),
        );
        let wasm = target_dir
            .join("wasm32-wasip1/release")
            .join(format!("{name}.wasm"));
        if !wasm.is_file() {
            fail(&format!(
                "{}: cargo built no {}; the binary must be named after its directory",
                project.display(),
                wasm.display()
            ));
        }
        built.push(Built {
            name,
            lang: "Rust",
            source: project.join("src/main.rs"),
            wasm,
            native: None,
            entry: "_start".into(),
        });
    }
    built
}

/// Lists `*.wat` guests; the library compiles them on first use.
fn list_wat(dir: &Path) -> Vec<Built> {
    println!("cargo:rerun-if-changed={}", dir.display());
    files_with_extension(dir, "wat")
        .into_iter()
        .map(|source| {
            let text = fs::read_to_string(&source)
                .unwrap_or_else(|e| fail(&format!("read {}: {e}", source.display())));
            let entry = text
                .lines()
                .find_map(|l| l.trim().strip_prefix(";; testkit-entry:"))
                .map_or("_start", str::trim)
                .to_owned();
            Built {
                name: stem(&source),
                lang: "Wat",
                wasm: source.clone(),
                source,
                native: None,
                entry,
            }
        })
        .collect()
}

// clear_outer_build_env, shared with the other nested builds.
include!("../../build-support/clean_env.rs");

/// Fails the build unless the Rust standard library for wasm32-wasip1 is installed.
fn check_wasip1_target() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", "wasm32-wasip1"])
        .output();
    let libdir = match output {
        Ok(out) if out.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        }
        Ok(out) => fail(&format!(
            "rustc does not know the wasm32-wasip1 target: {}; {SETUP_HINT}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => fail(&format!("cannot run {}: {e}", Path::new(&rustc).display())),
    };
    let has_std = read_dir(&libdir).iter().any(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("libstd-") && n.ends_with(".rlib"))
    });
    if !has_std {
        fail(&format!(
            "the Rust standard library for wasm32-wasip1 is not installed (no libstd in {}); \
             {SETUP_HINT}",
            libdir.display()
        ));
    }
}

/// A compiler given as an environment variable: a program and leading arguments
/// separated by spaces (e.g. `WASI_CC="clang-18 -v"`).
struct Tool {
    words: Vec<String>,
    var: &'static str,
}

impl Tool {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.words[0]);
        cmd.args(&self.words[1..]);
        cmd
    }
}

fn command_from_env(var: &'static str, default: &str) -> Tool {
    let value = env::var(var).ok().filter(|v| !v.trim().is_empty());
    let words: Vec<String> = value
        .as_deref()
        .unwrap_or(default)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Tool { words, var }
}

/// Fails the build with the setup hint if `tool` cannot be started.
fn check_runs(tool: &Tool, arg: &str, what: &str) {
    match tool.command().arg(arg).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => fail(&format!(
            "{what} `{}` (set {} to override) failed: {}; {SETUP_HINT}",
            tool.words.join(" "),
            tool.var,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => fail(&format!(
            "{what} `{}` (set {} to override) cannot be run: {e}; {SETUP_HINT}",
            tool.words.join(" "),
            tool.var
        )),
    }
}

/// Runs `cmd`, failing the build with its output if it does not succeed.
fn run(mut cmd: Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| fail(&format!("cannot {what}: {e}: {cmd:?}")));
    if !out.status.success() {
        fail(&format!(
            "cannot {what}: {cmd:?} exited with {}\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // Compiler warnings are worth seeing in `cargo build -vv`.
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn write_list(path: &Path, built: &[Built]) {
    let mut src = String::from(
        "// Generated by crates/testkit/build.rs: the guest programs, C then Rust then WAT.\n\
         static GUESTS: &[Guest] = &[\n",
    );
    for g in built {
        let native = match &g.native {
            Some(p) => format!("Some({:?})", utf8(p)),
            None => "None".into(),
        };
        writeln!(
            src,
            "    Guest {{ name: {:?}, lang: Lang::{}, source_path: {:?}, wasm_path: {:?}, \
             native_path: {native}, entry: {:?} }},",
            g.name,
            g.lang,
            utf8(&g.source),
            utf8(&g.wasm),
            g.entry
        )
        .expect("writing to a String cannot fail");
    }
    src.push_str("];\n\n");
    let names: Vec<&str> = built.iter().map(|g| g.name.as_str()).collect();
    writeln!(
        src,
        "/// Calls `$mac!` with the names of all guest programs, as identifiers\n\
         /// separated by commas. Test suites use it to make sure that every guest\n\
         /// has a test (see wasmtime's `assert_test_exists`).\n\
         #[macro_export]\n\
         macro_rules! foreach_guest {{\n    ($mac:ident) => {{\n        $mac!({});\n    }};\n}}",
        names.join(", ")
    )
    .expect("writing to a String cannot fail");
    fs::write(path, src).unwrap_or_else(|e| fail(&format!("write {}: {e}", path.display())));
}

fn files_with_extension(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = read_dir(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == ext) && p.is_file())
        .collect();
    files.sort();
    files
}

fn read_dir(dir: &Path) -> Vec<PathBuf> {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| fail(&format!("read {}: {e}", dir.display())));
    entries
        .map(|e| {
            e.unwrap_or_else(|e| fail(&format!("read {}: {e}", dir.display())))
                .path()
        })
        .collect()
}

fn stem(path: &Path) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str());
    match stem {
        Some(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            s.to_owned()
        }
        _ => fail(&format!(
            "{}: guest file names must be Rust identifiers (letters, digits, `_`)",
            path.display()
        )),
    }
}

fn utf8(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| fail(&format!("{}: path is not UTF-8", path.display())))
}

fn env_var(name: &str) -> OsString {
    env::var_os(name).unwrap_or_else(|| fail(&format!("cargo did not set {name}")))
}

fn fail(message: &str) -> ! {
    eprintln!("error: recompiler-testkit guests: {message}");
    std::process::exit(1);
}
