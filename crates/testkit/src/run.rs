//! Running one WASI program alone under plain wasmtime and wasmtime-wasi
//! preview1: the oracle the recompiler's results are compared with.
//!
//! Owns the shared [`engine`] (the features a megabinary may use), the options
//! and captured output of a run, and how an entry's end is read (return,
//! `proc_exit`, trap). Running a megabinary is [`crate::dispatch`]'s job; it
//! reuses the pieces here.

use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::Context as _;
use wasmtime::{Config, Engine, Instance, InstancePre, Linker, Module, Store, WasmFeatures};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

/// The WebAssembly features a megabinary (and so each program in it) may use:
/// WebAssembly 2.0 (bulk memory, reference types, multi-value, SIMD, ...) plus
/// tail calls, extended constant expressions, multi-memory, relaxed SIMD and
/// exception handling. Kept equal to `recompiler_megabinary::SUPPORTED_FEATURES`
/// by hand (this crate does not depend on the one it tests).
pub const FEATURES: WasmFeatures = WasmFeatures::WASM2
    .union(WasmFeatures::TAIL_CALL)
    .union(WasmFeatures::EXTENDED_CONST)
    .union(WasmFeatures::MULTI_MEMORY)
    .union(WasmFeatures::RELAXED_SIMD)
    .union(WasmFeatures::EXCEPTIONS);

/// Most output a guest may write to stdout or to stderr in one run; more is an
/// error in the guest's write. Tests print kilobytes; this only stops a runaway.
pub const MAX_CAPTURED_OUTPUT: usize = 64 << 20;

/// The shared engine: exactly [`FEATURES`] enabled, everything else (threads,
/// GC, memory64, ...) disabled, so that tests and benchmarks agree with what
/// the megabinary accepts.
///
/// # Panics
///
/// If wasmtime rejects the configuration, which is a bug in this function.
pub fn engine() -> Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let mut config = Config::new();
            config.wasm_features(WasmFeatures::all(), false);
            config.wasm_features(FEATURES, true);
            config.wasm_multi_memory(true);
            config.wasm_exceptions(true);
            config.wasm_tail_call(true);
            config.wasm_simd(true);
            config.wasm_relaxed_simd(true);
            config.wasm_bulk_memory(true);
            config.wasm_reference_types(true);
            config.wasm_multi_value(true);
            config.wasm_extended_const(true);
            Engine::new(&config).expect("the testkit engine configuration is valid")
        })
        .clone()
}

/// Compiles `wasm` (binary or text) with [`engine`].
pub fn compile(wasm: &[u8]) -> anyhow::Result<Module> {
    Module::new(&engine(), wasm)
        .map_err(anyhow::Error::from)
        .context("cannot compile the module")
}

/// How to run a program.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// argv, argv\[0\] included.
    pub args: Vec<String>,
    /// Environment variables, in order.
    pub env: Vec<(String, String)>,
    /// All of stdin; the guest sees end-of-file after it.
    pub stdin: Vec<u8>,
    /// A host directory and the guest path it appears at, with all permissions.
    pub preopen: Option<(PathBuf, String)>,
    /// The export to call; `None` means `_start`. For any other entry the
    /// module's `_initialize` (if exported) runs first, as for a reactor.
    pub entry: Option<String>,
}

impl RunOptions {
    /// Options with this argv and nothing else.
    pub fn new<S: Into<String>>(args: impl IntoIterator<Item = S>) -> Self {
        Self {
            args: args.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Adds an environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Sets stdin.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = bytes.into();
        self
    }

    /// Makes host directory `host` visible at `guest`.
    pub fn preopen(mut self, host: impl Into<PathBuf>, guest: impl Into<String>) -> Self {
        self.preopen = Some((host.into(), guest.into()));
        self
    }

    /// Calls `entry` instead of `_start`.
    pub fn entry(mut self, entry: impl Into<String>) -> Self {
        self.entry = Some(entry.into());
        self
    }

    /// The export to call.
    pub fn entry_name(&self) -> &str {
        self.entry.as_deref().unwrap_or("_start")
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// The status given to `proc_exit`, the `i32` an entry of type
    /// `() -> i32` returned, or 0 when an entry of type `() -> ()` returned.
    Code(i32),
    /// The guest trapped (`unreachable`, out-of-bounds access, stack
    /// overflow, uncaught exception, ...); the message is wasmtime's.
    Trap(String),
}

/// What a run printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    /// Everything written to fd 1.
    pub stdout: Vec<u8>,
    /// Everything written to fd 2.
    pub stderr: Vec<u8>,
    /// How the run ended.
    pub exit: Exit,
}

impl RunOutput {
    /// The exit status, unless the guest trapped.
    pub fn exit_code(&self) -> Option<i32> {
        match self.exit {
            Exit::Code(code) => Some(code),
            Exit::Trap(_) => None,
        }
    }

    /// The trap message, if the guest trapped.
    pub fn trap(&self) -> Option<&str> {
        match &self.exit {
            Exit::Code(_) => None,
            Exit::Trap(message) => Some(message),
        }
    }

    /// stdout as text (lossy).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (lossy).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// The guest's stdout and stderr, readable after the run.
#[derive(Debug, Clone)]
pub struct CapturedOutput {
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
}

impl CapturedOutput {
    /// What was written so far, with how the run ended.
    pub fn finish(&self, exit: Exit) -> RunOutput {
        RunOutput {
            stdout: self.stdout.contents().to_vec(),
            stderr: self.stderr.contents().to_vec(),
            exit,
        }
    }
}

/// A preview1 context for `opts`: args, environment, stdin, captured
/// stdout/stderr, the preopen. Also what the megabinary harness uses (where
/// the args are ignored: the megabinary answers `args_get` itself).
pub fn wasi_ctx(opts: &RunOptions) -> anyhow::Result<(WasiP1Ctx, CapturedOutput)> {
    let output = CapturedOutput {
        stdout: MemoryOutputPipe::new(MAX_CAPTURED_OUTPUT),
        stderr: MemoryOutputPipe::new(MAX_CAPTURED_OUTPUT),
    };
    let mut builder = WasiCtxBuilder::new();
    builder
        .args(&opts.args)
        .envs(&opts.env)
        .stdin(MemoryInputPipe::new(opts.stdin.clone()))
        .stdout(output.stdout.clone())
        .stderr(output.stderr.clone());
    if let Some((host, guest)) = &opts.preopen {
        builder
            .preopened_dir(host, guest, FsPerms::ReadWrite)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot preopen {} as {guest}", host.display()))?;
    }
    Ok((builder.build_p1(), output))
}

/// A linker with wasmtime-wasi's own preview1 functions (pointers into the
/// `memory` export).
pub fn alone_linker() -> anyhow::Result<Linker<WasiP1Ctx>> {
    let mut linker = Linker::new(&engine());
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx)
        .map_err(anyhow::Error::from)
        .context("cannot define WASI preview1")?;
    Ok(linker)
}

/// `module` linked against [`alone_linker`], ready to instantiate many times.
pub fn alone_pre(module: &Module) -> anyhow::Result<InstancePre<WasiP1Ctx>> {
    alone_linker()?
        .instantiate_pre(module)
        .map_err(anyhow::Error::from)
        .context("cannot link the module against WASI preview1")
}

/// A fresh store and instance, for benchmarks that time instantiation alone.
/// The module's start function has run; nothing else has.
pub struct Instantiated<T: 'static> {
    /// The store, holding the WASI context.
    pub store: Store<T>,
    /// The instance, start function done.
    pub instance: Instance,
    /// stdout and stderr written so far.
    pub output: CapturedOutput,
}

/// Instantiates `pre` in a new store with the context `opts` describe.
///
/// A trap or `proc_exit` in the start function is an error here; use
/// [`run_alone_pre`] to observe it as an [`Exit`].
pub fn instantiate_alone(
    pre: &InstancePre<WasiP1Ctx>,
    opts: &RunOptions,
) -> anyhow::Result<Instantiated<WasiP1Ctx>> {
    let (wasi, output) = wasi_ctx(opts)?;
    let mut store = Store::new(pre.module().engine(), wasi);
    let instance = pre
        .instantiate(&mut store)
        .map_err(anyhow::Error::from)
        .context("cannot instantiate the module")?;
    Ok(Instantiated {
        store,
        instance,
        output,
    })
}

/// Runs `wasm` (binary or text) alone: instantiate (start function
/// included), then `_initialize` and the entry for a reactor, or `_start`.
pub fn run_alone(wasm: &[u8], opts: &RunOptions) -> anyhow::Result<RunOutput> {
    run_alone_pre(&alone_pre(&compile(wasm)?)?, opts)
}

/// [`run_alone`] for a module already compiled and linked.
pub fn run_alone_pre(pre: &InstancePre<WasiP1Ctx>, opts: &RunOptions) -> anyhow::Result<RunOutput> {
    let (wasi, output) = wasi_ctx(opts)?;
    let mut store = Store::new(pre.module().engine(), wasi);
    let entry = opts.entry_name();
    let result = pre
        .instantiate(&mut store)
        .and_then(|instance| call_entry(&mut store, &instance, entry));
    Ok(output.finish(exit_of(result)?))
}

/// Calls `_initialize` (if exported and `entry` is not `_start`) and `entry`,
/// which must have type `() -> ()` or `() -> i32`.
pub(crate) fn call_entry<T>(
    store: &mut Store<T>,
    instance: &Instance,
    entry: &str,
) -> wasmtime::Result<i32> {
    if entry != "_start"
        && let Some(init) = instance.get_func(&mut *store, "_initialize")
    {
        init.typed::<(), ()>(&*store)?.call(&mut *store, ())?;
    }
    let Some(func) = instance.get_func(&mut *store, entry) else {
        wasmtime::bail!("the module exports no function {entry:?}");
    };
    if func.ty(&*store).results().len() == 0 {
        func.typed::<(), ()>(&*store)?.call(&mut *store, ())?;
        Ok(0)
    } else {
        func.typed::<(), i32>(&*store)?.call(&mut *store, ())
    }
}

/// Reads how a guest call ended: returned, `proc_exit`, or a trap. Any other
/// error (a link error, a host failure) is an error of the harness.
pub(crate) fn exit_of(result: wasmtime::Result<i32>) -> anyhow::Result<Exit> {
    match result {
        Ok(code) => Ok(Exit::Code(code)),
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<I32Exit>() {
                Ok(Exit::Code(exit.0))
            } else if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
                Ok(Exit::Trap(trap.to_string()))
            } else if e.is::<wasmtime::ThrownException>() {
                Ok(Exit::Trap("uncaught wasm exception".to_owned()))
            } else {
                Err(anyhow::Error::from(e).context("the guest run failed"))
            }
        }
    }
}
