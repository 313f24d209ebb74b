//! Running one program of a megabinary: one instance per process.
//!
//! A [`LoadedMegabinary`] is made once per bundle: the compiled module and an
//! `InstancePre` with every preview1 and process-extension function defined, so
//! starting a process is only an instantiation (a pool slot, copy-on-write memory
//! images) and a call to `_dispatch`. WASI calls (and the process extension's) go to the process's
//! [`WasiHost`] with the memory of the program that was dispatched.

use std::time::{Duration, Instant};

use wasmtime::{
    Caller, Engine, FuncType, InstancePre, Linker, Memory, Module, Store, StoreLimits,
    StoreLimitsBuilder, Val, ValType,
};

use super::EngineError;
use crate::abi::linux;
use crate::abi::wasi_p1::{ExecTarget, HostExit, Ty, WasiHost};
use crate::abi::{HOST_MODULES, MAX_PARAMS, returns_nothing};
use crate::kernel::Interrupt;

/// What a store holds for one process.
pub struct GuestState {
    host: Box<dyn WasiHost>,
    /// The dispatched program's WASI memory.
    memory: Option<Memory>,
    limits: StoreLimits,
    /// The id `_dispatch` is called with (`recompiler_linux_v1.program_id`).
    dispatch_id: u64,
    /// The export of the dispatched program's memory (a fork child gets the same).
    memory_export: String,
    /// Whether this instance is a fork child (`recompiler_linux_v1.resume`).
    resumed: bool,
}

/// `proc_exit` unwinding out of the guest.
#[derive(Debug)]
struct ProcExit(i32);

impl std::fmt::Display for ProcExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "proc_exit({})", self.0)
    }
}

impl std::error::Error for ProcExit {}

/// The process was killed from the host side.
#[derive(Debug)]
struct Killed(String);

impl std::fmt::Display for Killed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "killed: {}", self.0)
    }
}

impl std::error::Error for Killed {}

/// A megabinary compiled and linked, ready to start processes.
pub struct LoadedMegabinary {
    pre: InstancePre<GuestState>,
}

/// What to run.
pub struct RunRequest {
    /// The process's WASI implementation (its kernel process, fds, ...).
    pub host: Box<dyn WasiHost>,
    pub dispatch_id: u64,
    /// The export of the program's memory (from the manifest).
    pub memory_export: String,
    /// argv, `argv[0]` included.
    pub argv: Vec<Vec<u8>>,
    /// Wall-clock limit, in epoch ticks of the engine's ticker.
    pub deadline_ticks: Option<u64>,
    /// Largest size any one memory of the instance may grow to.
    pub max_memory_bytes: usize,
    /// The process's cancel token: once set, the guest is stopped at its next
    /// host call or epoch tick (so a loop that never calls the host stops too)
    /// and the run ends [`RunEnd::Killed`].
    pub stop: Option<Interrupt>,
    /// When the run must end, by the wall clock, even if the guest is blocked in a host
    /// call (the epoch deadline only reaches a guest running WASM code): the stop token
    /// is interrupted then and the run ends [`RunEnd::TimedOut`]. Needs `stop`.
    pub wall_deadline: Option<Instant>,
    /// A fork child's memory: written into the program's memory after instantiation,
    /// before `_dispatch` (see `recompiler_linux_v1.fork`).
    pub resume: Option<crate::abi::process::ForkImage>,
}

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    /// Its entry returned this status, or it called `proc_exit`.
    Exited(i32),
    /// It trapped (the message is wasmtime's).
    Trapped(String),
    /// It ran past its wall-clock limit.
    TimedOut,
    /// The host stopped it.
    Killed(String),
    /// `_dispatch` refused: -1 unknown id, -2 already dispatched.
    DispatchRefused(i32),
    /// It could not start (instantiation failed: pool exhausted, ...).
    StartFailed(String),
}

/// The end and how long the phases took.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub end: RunEnd,
    pub instantiate: Duration,
    pub run: Duration,
}

impl LoadedMegabinary {
    /// Links `module` against the host's import modules (preview1 and the process
    /// extension, [`crate::abi::HOST_MODULES`]), once. A program that does not import
    /// the extension is not affected by its being defined.
    pub fn new(engine: &Engine, module: &Module) -> Result<Self, EngineError> {
        let mut linker: Linker<GuestState> = Linker::new(engine);
        let mut index = 0;
        for (module_name, funcs) in HOST_MODULES {
            for (name, params) in *funcs {
                let params = params.iter().map(|t| match t {
                    Ty::I32 => ValType::I32,
                    Ty::I64 => ValType::I64,
                });
                let results: &[ValType] = if returns_nothing(module_name, name) {
                    &[]
                } else {
                    &[ValType::I32]
                };
                let ty = FuncType::new(engine, params, results.iter().cloned());
                let func = index;
                linker
                    .func_new(module_name, name, ty, move |caller, args, results| {
                        host_call(caller, func, args, results)
                    })
                    .map_err(|e| {
                        EngineError::Config(format!("defining {module_name}.{name}: {e:#}"))
                    })?;
                index += 1;
            }
        }
        define_linux(&mut linker)?;
        let pre = linker
            .instantiate_pre(module)
            .map_err(|e| EngineError::Compile {
                what: "linking the megabinary".into(),
                reason: format!("{e:#}"),
            })?;
        Ok(LoadedMegabinary { pre })
    }

    /// Starts and runs one process to its end, on the calling thread.
    pub fn run(&self, mut req: RunRequest) -> RunResult {
        // A process that execs ends its instance and goes on in a new one, of the
        // program the gate allowed, with the same host (pid, fds, ...).
        let mut instantiate = Duration::ZERO;
        let mut run = Duration::ZERO;
        loop {
            let (result, exec) = self.run_image(req);
            instantiate += result.instantiate;
            run += result.run;
            let Some((target, mut host)) = exec else {
                return RunResult {
                    end: result.end,
                    instantiate,
                    run,
                };
            };
            host.exec_image();
            req = RunRequest {
                host,
                dispatch_id: target.dispatch_id,
                memory_export: target.memory_export,
                argv: target.argv,
                // The limit starts again for the new image (the host can still stop it).
                deadline_ticks: target.deadline_ticks,
                max_memory_bytes: target.max_memory_bytes,
                stop: target.stop,
                wall_deadline: target.wall_deadline,
                resume: None,
            };
        }
    }

    /// Runs one program image of a process: to its end, or to an `execve`, which
    /// returns the new image with the process's host.
    fn run_image(&self, req: RunRequest) -> (RunResult, Option<ExecNext>) {
        let started = Instant::now();
        let deadline_ticks = req.deadline_ticks;
        let max_memory_bytes = req.max_memory_bytes;
        let stop_token = req.stop.clone();
        let wall_deadline = req.wall_deadline;
        let watch = match (req.wall_deadline, &req.stop) {
            (Some(deadline), Some(stop)) => Some(super::watchdog::watch(deadline, stop.clone())),
            _ => None,
        };
        let timed_out = |end: RunEnd| match (&watch, end) {
            (Some(w), RunEnd::Killed(_)) if w.fired() => RunEnd::TimedOut,
            (_, end) => end,
        };
        let engine = self.pre.module().engine();
        let limits = StoreLimitsBuilder::new()
            .memory_size(req.max_memory_bytes)
            .instances(1)
            .build();
        let mut store = Store::new(
            engine,
            GuestState {
                host: req.host,
                memory: None,
                limits,
                dispatch_id: req.dispatch_id,
                memory_export: req.memory_export.clone(),
                resumed: req.resume.is_some(),
            },
        );
        store.limiter(|s| &mut s.limits);
        match req.stop {
            // Wake up every tick to look at the stop token; the wall-clock limit is
            // counted down here instead of by the deadline itself.
            Some(stop) => {
                let mut left = req.deadline_ticks;
                store.set_epoch_deadline(1);
                store.epoch_deadline_callback(move |_| {
                    if stop.is_interrupted() {
                        return Err(Killed("stopped by the host".into()).into());
                    }
                    match left.as_mut() {
                        Some(0) => Err(wasmtime::Trap::Interrupt.into()),
                        Some(n) => {
                            *n -= 1;
                            Ok(wasmtime::UpdateDeadline::Continue(1))
                        }
                        None => Ok(wasmtime::UpdateDeadline::Continue(1)),
                    }
                });
            }
            None => {
                match req.deadline_ticks {
                    Some(ticks) => store.set_epoch_deadline(ticks.max(1)),
                    // wasmtime adds the delta to the current epoch: keep clear of overflow.
                    None => store.set_epoch_deadline(u64::MAX / 2),
                }
                store.epoch_deadline_trap();
            }
        }
        let result = |end, instantiate, run| RunResult {
            end,
            instantiate,
            run,
        };
        let instance = match self.pre.instantiate(&mut store) {
            Ok(i) => i,
            Err(e) => {
                // Instantiation runs code (start functions, data set-up): a
                // stop or a deadline that lands there ends the process as it
                // would a moment later, killed or timed out, not as a program
                // that could not start (a loaded machine hit this race).
                let stopped = e.downcast_ref::<Killed>().is_some()
                    || matches!(
                        e.downcast_ref::<wasmtime::Trap>(),
                        Some(wasmtime::Trap::Interrupt)
                    );
                let end = if stopped {
                    classify(e)
                } else {
                    RunEnd::StartFailed(format!("{e:#}"))
                };
                return (result(end, started.elapsed(), Duration::ZERO), None);
            }
        };
        let instantiate = started.elapsed();
        let run_started = Instant::now();
        let end = (|| {
            let memory = instance
                .get_memory(&mut store, "memory")
                .ok_or("the megabinary exports no `memory`")?;
            let buffer = instance
                .get_typed_func::<i32, i32>(&mut store, "__dispatch_buffer")
                .map_err(|_| "the megabinary has no `__dispatch_buffer`")?;
            let dispatch = instance
                .get_typed_func::<(i64, i32, i32), i32>(&mut store, "_dispatch")
                .map_err(|_| "the megabinary has no `_dispatch`")?;
            store.data_mut().memory = instance.get_memory(&mut store, &req.memory_export);
            if let Some(image) = &req.resume {
                // A fork child: the parent's regions, in a memory as large as its.
                let program = store
                    .data()
                    .memory
                    .ok_or("a fork child's program has no memory export")?;
                let have = program.data_size(&store);
                if image.memory_size > have {
                    let pages = (image.memory_size - have).div_ceil(65536) as u64;
                    program
                        .grow(&mut store, pages)
                        .map_err(|_| "a fork child's memory cannot grow to its parent's size")?;
                }
                let data = program.data_mut(&mut store);
                for (start, bytes) in &image.regions {
                    let start = *start as usize;
                    let Some(dst) = data.get_mut(start..start + bytes.len()) else {
                        return Err("a fork region lies outside the child's memory");
                    };
                    dst.copy_from_slice(bytes);
                }
            }
            let size: usize = req.argv.iter().map(|a| 4 + a.len() + 1).sum();
            let size = i32::try_from(size).map_err(|_| "argv too large")?;
            let base = match buffer.call(&mut store, size) {
                Ok(b) if b >= 0 => b as u32,
                Ok(_) => return Err("no room for argv in the dispatcher's memory"),
                // Stopped (or out of time) before `_dispatch`: the same end as after.
                Err(e) => return Ok(Err(e)),
            };
            let mut bytes = Vec::with_capacity(size as usize);
            let mut next = base as usize + 4 * req.argv.len();
            for arg in &req.argv {
                bytes.extend_from_slice(&(next as u32).to_le_bytes());
                next += arg.len() + 1;
            }
            for arg in &req.argv {
                bytes.extend_from_slice(arg);
                bytes.push(0);
            }
            memory
                .write(&mut store, base as usize, &bytes)
                .map_err(|_| "argv outside the dispatcher's memory")?;
            if let Some(image) = &req.resume {
                // A fork child continues its parent's state: its own entry, not
                // `_dispatch` (which would start the program afresh).
                let resume = instance
                    .get_typed_func::<(), i32>(&mut store, &image.entry_export)
                    .map_err(|_| "a fork child's program has no resume entry")?;
                return Ok(resume.call(&mut store, ()));
            }
            Ok(dispatch.call(
                &mut store,
                (req.dispatch_id as i64, req.argv.len() as i32, base as i32),
            ))
        })();
        let end = match end {
            Err(reason) => RunEnd::StartFailed(reason.to_string()),
            Ok(Ok(status)) if status >= 0 => RunEnd::Exited(status),
            Ok(Ok(refused)) => RunEnd::DispatchRefused(refused),
            Ok(Err(e)) => match e.downcast::<ExecRequested>() {
                Ok(ExecRequested(target)) => {
                    let done = result(RunEnd::Exited(0), instantiate, run_started.elapsed());
                    let host = store.into_data().host;
                    let next = ExecContinue {
                        dispatch_id: target.dispatch_id,
                        memory_export: target.memory_export,
                        argv: target.argv,
                        max_memory_bytes,
                        stop: stop_token,
                        deadline_ticks,
                        wall_deadline,
                    };
                    return (done, Some((next, host)));
                }
                Err(e) => classify(e),
            },
        };
        (
            result(timed_out(end), instantiate, run_started.elapsed()),
            None,
        )
    }
}

/// What an image that called `execve` hands to the next one: the continuation and its
/// process host.
type ExecNext = (ExecContinue, Box<dyn WasiHost>);

/// The next image of a process that called `execve`.
struct ExecContinue {
    dispatch_id: u64,
    memory_export: String,
    argv: Vec<Vec<u8>>,
    max_memory_bytes: usize,
    stop: Option<Interrupt>,
    deadline_ticks: Option<u64>,
    wall_deadline: Option<Instant>,
}

/// `execve` unwinding out of the guest: the process goes on as `target`.
#[derive(Debug)]
struct ExecRequested(Box<ExecTarget>);

impl std::fmt::Display for ExecRequested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "execve of program {:016x}", self.0.dispatch_id)
    }
}

impl std::error::Error for ExecRequested {}

/// Defines `recompiler_linux_v1` (see [`crate::abi::linux`]) for every guest: its
/// `syscall` takes and returns `i64`s, unlike the numbered [`HOST_MODULES`], so its
/// functions are typed closures. `syscall`, `fork`, `signal_next` and `log` go to the process's
/// [`linux::LinuxProcess`] (through [`WasiHost::linux`]) with the dispatched program's
/// memory; `program_id` is answered here.
fn define_linux(linker: &mut Linker<GuestState>) -> Result<(), EngineError> {
    let module = linux::MODULE;
    let defining = |name: &'static str| {
        move |e: wasmtime::Error| EngineError::Config(format!("defining {module}.{name}: {e:#}"))
    };
    linker
        .func_wrap(
            module,
            "syscall",
            |mut caller: Caller<'_, GuestState>,
             nr: i64,
             a0: i64,
             a1: i64,
             a2: i64,
             a3: i64,
             a4: i64,
             a5: i64|
             -> wasmtime::Result<i64> {
                let Some(memory) = caller.data().memory else {
                    return Err(
                        Killed("Linux syscall before a program was dispatched".into()).into(),
                    );
                };
                let (bytes, state) = memory.data_and_store_mut(&mut caller);
                let Some(linux) = state.host.linux() else {
                    return Ok(-38); // ENOSYS: this host has no Linux ABI.
                };
                linux
                    .syscall(bytes, nr, [a0, a1, a2, a3, a4, a5])
                    .map_err(host_exit)
            },
        )
        .map_err(defining("syscall"))?;
    linker
        .func_wrap(
            module,
            "fork",
            |mut caller: Caller<'_, GuestState>,
             regions: i32,
             count: i32|
             -> wasmtime::Result<i64> {
                let Some(memory) = caller.data().memory else {
                    return Err(Killed("fork before a program was dispatched".into()).into());
                };
                let (bytes, state) = memory.data_and_store_mut(&mut caller);
                let (id, export) = (state.dispatch_id, state.memory_export.clone());
                let Some(linux) = state.host.linux() else {
                    return Ok(-38); // ENOSYS: this host has no Linux ABI.
                };
                Ok(linux.fork(bytes, regions as u32, count as u32, id, &export))
            },
        )
        .map_err(defining("fork"))?;
    linker
        .func_wrap(
            module,
            "signal_next",
            |mut caller: Caller<'_, GuestState>, forced: i32, out: i32| -> wasmtime::Result<i32> {
                let Some(memory) = caller.data().memory else {
                    return Err(Killed("signal_next before a program was dispatched".into()).into());
                };
                let (bytes, state) = memory.data_and_store_mut(&mut caller);
                let Some(linux) = state.host.linux() else {
                    return Ok(0); // No Linux ABI: no signals.
                };
                if forced == 0 && !linux.signal_waiting() {
                    return Ok(0);
                }
                Ok(linux.signal_next(bytes, forced, out as u32))
            },
        )
        .map_err(defining("signal_next"))?;
    linker
        .func_wrap(module, "resume", |caller: Caller<'_, GuestState>| -> i32 {
            caller.data().resumed as i32
        })
        .map_err(defining("resume"))?;
    linker
        .func_wrap(
            module,
            "program_id",
            |caller: Caller<'_, GuestState>| -> i64 { caller.data().dispatch_id as i64 },
        )
        .map_err(defining("program_id"))?;
    linker
        .func_wrap(
            module,
            "log",
            |mut caller: Caller<'_, GuestState>, ptr: i32, len: i32| {
                let Some(memory) = caller.data().memory else {
                    return;
                };
                let (bytes, state) = memory.data_and_store_mut(&mut caller);
                let start = (ptr as u32 as usize).min(bytes.len());
                let len = (len as u32 as usize).min(linux::MAX_LOG_LINE);
                let line = &bytes[start..start.saturating_add(len).min(bytes.len())];
                match state.host.linux() {
                    Some(l) => l.log(line),
                    None => tracing::warn!("lifted program: {}", String::from_utf8_lossy(line)),
                }
            },
        )
        .map_err(defining("log"))?;
    Ok(())
}

/// The trap that ends a guest for a [`HostExit`].
fn host_exit(x: HostExit) -> wasmtime::Error {
    match x {
        HostExit::Exit(code) => ProcExit(code).into(),
        HostExit::Kill(why) => Killed(why).into(),
        HostExit::Exec(target) => ExecRequested(target).into(),
    }
}

fn classify(e: wasmtime::Error) -> RunEnd {
    if let Some(ProcExit(code)) = e.downcast_ref::<ProcExit>() {
        return RunEnd::Exited(*code);
    }
    if let Some(Killed(why)) = e.downcast_ref::<Killed>() {
        return RunEnd::Killed(why.clone());
    }
    if let Some(wasmtime::Trap::Interrupt) = e.downcast_ref::<wasmtime::Trap>() {
        return RunEnd::TimedOut;
    }
    RunEnd::Trapped(format!("{e:#}"))
}

fn host_call(
    mut caller: Caller<'_, GuestState>,
    func: usize,
    args: &[Val],
    results: &mut [Val],
) -> wasmtime::Result<()> {
    // The linker defined each function with its table's parameters, so `args` fits.
    let mut wide = [0i64; MAX_PARAMS];
    for (slot, v) in wide.iter_mut().zip(args) {
        *slot = match v {
            Val::I32(x) => i64::from(*x),
            Val::I64(x) => *x,
            _ => 0,
        };
    }
    let Some(memory) = caller.data().memory else {
        return Err(Killed("WASI call before a program was dispatched".into()).into());
    };
    let Some(wide) = wide.get(..args.len()) else {
        return Err(Killed(format!(
            "host function {func} called with {} arguments",
            args.len()
        ))
        .into());
    };
    let (bytes, state) = memory.data_and_store_mut(&mut caller);
    match state.host.call(func, bytes, wide) {
        Ok(errno) => {
            if let Some(r) = results.first_mut() {
                *r = Val::I32(errno);
            }
            Ok(())
        }
        Err(x) => Err(host_exit(x)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use recompiler_megabinary::{Entry, MergeInput, merge};

    use super::*;
    use crate::abi::wasi_p1::func_index;
    use crate::engine::{EngineLimits, EpochTicker, engine};

    /// A test host: fd_write appends to a shared buffer, proc_exit exits,
    /// everything else is ENOSYS (52).
    struct Recorder(Arc<Mutex<Vec<u8>>>);

    impl WasiHost for Recorder {
        fn call(&mut self, func: usize, memory: &mut [u8], args: &[i64]) -> Result<i32, HostExit> {
            if Some(func) == func_index("proc_exit") {
                return Err(HostExit::Exit(args[0] as i32));
            }
            if Some(func) != func_index("fd_write") {
                return Ok(52);
            }
            let (iovs, n, nwritten) = (args[1] as usize, args[2] as usize, args[3] as usize);
            let mut total = 0u32;
            for i in 0..n {
                let at = iovs + 8 * i;
                let ptr = u32::from_le_bytes(memory[at..at + 4].try_into().unwrap()) as usize;
                let len = u32::from_le_bytes(memory[at + 4..at + 8].try_into().unwrap()) as usize;
                self.0
                    .lock()
                    .unwrap()
                    .extend_from_slice(&memory[ptr..ptr + len]);
                total += len as u32;
            }
            memory[nwritten..nwritten + 4].copy_from_slice(&total.to_le_bytes());
            Ok(0)
        }
    }

    const PRINT: &str = r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "MSG")
        (func (export "_start")
          (i32.store (i32.const 0) (i32.const 16))
          (i32.store (i32.const 4) (i32.const 3))
          (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
          (call $exit (i32.const CODE))))"#;

    fn program(msg: &str, code: i32) -> Vec<u8> {
        wat::parse_str(PRINT.replace("MSG", msg).replace("CODE", &code.to_string())).unwrap()
    }

    fn load(programs: &[(u64, Vec<u8>)]) -> (Engine, LoadedMegabinary) {
        let inputs: Vec<MergeInput<'_>> = programs
            .iter()
            .map(|(id, wasm)| MergeInput {
                id: *id,
                name: format!("{id}"),
                wasm,
                entry: Entry::Start,
            })
            .collect();
        let mb = merge(&inputs, &mut |_, _| {}).unwrap();
        let engine = engine(
            &EngineLimits {
                max_instances: 8,
                total_memories: 64,
                ..EngineLimits::default()
            },
            true,
        )
        .unwrap();
        let module = Module::new(&engine, &mb.wasm).unwrap();
        let loaded = LoadedMegabinary::new(&engine, &module).unwrap();
        (engine, loaded)
    }

    fn request(id: u64, out: &Arc<Mutex<Vec<u8>>>) -> RunRequest {
        RunRequest {
            host: Box::new(Recorder(out.clone())),
            dispatch_id: id,
            memory_export: recompiler_megabinary::memory_export(id),
            argv: vec![b"prog".to_vec()],
            deadline_ticks: None,
            max_memory_bytes: 64 << 20,
            stop: None,
            wall_deadline: None,
            resume: None,
        }
    }

    #[test]
    fn each_program_writes_from_its_own_memory() {
        let (_engine, loaded) = load(&[(1, program("one", 3)), (2, program("two", 4))]);
        for (id, text, code) in [(1u64, "one", 3), (2, "two", 4), (1, "one", 3)] {
            let out = Arc::new(Mutex::new(Vec::new()));
            let r = loaded.run(request(id, &out));
            assert_eq!(r.end, RunEnd::Exited(code));
            assert_eq!(&out.lock().unwrap()[..], text.as_bytes());
        }
        let out = Arc::new(Mutex::new(Vec::new()));
        assert_eq!(
            loaded.run(request(99, &out)).end,
            RunEnd::DispatchRefused(-1)
        );
    }

    /// A program importing `recompiler_linux_v1` instantiates, its `syscall`s reach the
    /// process's Linux ABI on the kernel (a `write` to fd 1 lands in the process's
    /// stdout), `program_id` is the dispatch id, and `exit_group` ends the run.
    #[test]
    fn linux_syscalls_reach_the_process_host() {
        use crate::abi::wasi_p1::WasiProcess;
        use crate::kernel::{
            CaptureStream, FdSource, FileDescription, Image, Kernel, Limits, OFlags, SpawnSpec,
        };
        let wasm = wat::parse_str(
            r#"(module
            (import "recompiler_linux_v1" "syscall"
              (func $sys (param i64 i64 i64 i64 i64 i64 i64) (result i64)))
            (import "recompiler_linux_v1" "program_id" (func $id (result i64)))
            (import "recompiler_linux_v1" "log" (func $log (param i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 0x2000) "lifted")
            (func (export "_start")
              (call $log (i32.const 0x2000) (i32.const 6))
              (drop (call $sys (i64.const 1) (i64.const 1) (i64.const 0x2000) (i64.const 6)
                (i64.const 0) (i64.const 0) (i64.const 0)))
              (drop (call $sys (i64.const 231)
                (select (i64.const 42) (i64.const 1) (i64.eq (call $id) (i64.const 7)))
                (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0)))
              unreachable))"#,
        )
        .unwrap();
        let (_engine, loaded) = load(&[(7, wasm)]);
        let kernel = Arc::new(Kernel::new(Arc::new(Image::empty()), Limits::default()));
        let stdout = CaptureStream::new(1024);
        let process = kernel
            .spawn(
                None,
                SpawnSpec {
                    argv: vec![b"prog".to_vec()],
                    env: Vec::new(),
                    cwd: None,
                    umask: None,
                    fds: vec![(
                        1,
                        FdSource::File(FileDescription::host(stdout.clone(), OFlags::WRONLY)),
                    )],
                },
            )
            .unwrap();
        let host = WasiProcess::new(Arc::clone(&kernel), process).unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let mut req = request(7, &out);
        req.host = Box::new(host);
        assert_eq!(loaded.run(req).end, RunEnd::Exited(42));
        assert_eq!(stdout.contents(), b"lifted");
        // A host without a Linux ABI answers ENOSYS (the write does nothing), and the
        // program then traps at `unreachable` after exit_group is ENOSYS too.
        assert!(matches!(
            loaded.run(request(7, &out)).end,
            RunEnd::Trapped(_)
        ));
    }

    #[test]
    fn traps_loops_and_memory_hogs_end_with_a_status() {
        let trap = wat::parse_str(
            r#"(module (memory (export "memory") 1) (func (export "_start") unreachable))"#,
        )
        .unwrap();
        let spin = wat::parse_str(
            r#"(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))"#,
        )
        .unwrap();
        let hog = wat::parse_str(
            r#"(module (memory (export "memory") 1)
                 (func (export "_start") (if (i32.eq (memory.grow (i32.const 4096)) (i32.const -1)) (then unreachable))))"#,
        )
        .unwrap();
        let (engine, loaded) = load(&[(1, trap), (2, spin), (3, hog)]);
        let _ticker = EpochTicker::start(&engine, Duration::from_millis(5));
        let out = Arc::new(Mutex::new(Vec::new()));
        assert!(matches!(
            loaded.run(request(1, &out)).end,
            RunEnd::Trapped(_)
        ));
        let mut spin = request(2, &out);
        spin.deadline_ticks = Some(10);
        assert_eq!(loaded.run(spin).end, RunEnd::TimedOut);
        // 4096 pages = 256 MiB, over the 64 MiB limit: memory.grow fails, the
        // program traps on purpose.
        assert!(matches!(
            loaded.run(request(3, &out)).end,
            RunEnd::Trapped(_)
        ));
        // A loop that never calls the host is stopped by its token, and with a
        // token the deadline still holds.
        let stop = Interrupt::new();
        let mut spin = request(2, &out);
        spin.stop = Some(stop.clone());
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            stop.interrupt();
        });
        assert!(matches!(loaded.run(spin).end, RunEnd::Killed(_)));
        stopper.join().unwrap();
        let mut spin = request(2, &out);
        spin.stop = Some(Interrupt::new());
        spin.deadline_ticks = Some(10);
        assert_eq!(loaded.run(spin).end, RunEnd::TimedOut);
        // Stopped before it starts: killed (at its first epoch tick or host call),
        // never reported as a failure to start.
        let stop = Interrupt::new();
        stop.interrupt();
        let mut early = request(2, &out);
        early.stop = Some(stop);
        assert!(matches!(loaded.run(early).end, RunEnd::Killed(_)));
    }
}
