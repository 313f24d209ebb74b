//! Runtimes, loaded bundles and containers: where the parts meet.
//!
//! A [`Runtime`] owns the engine, the code cache and the epoch ticker (one per
//! daemon). [`Runtime::load_bundle`] verifies a bundle and compiles its
//! megabinary once (or loads the cached code), giving a [`LoadedBundle`] shared
//! by all its containers. A [`Container`] is a bundle plus a kernel of its own
//! (its writable layer over the image's files, its processes); dropping it drops
//! that layer. [`Container::run`] is an exec: the gate, then a process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use recompiler_manifest::sign::VerifyingKey;

use crate::bundle::{Bundle, BundleError};
use crate::engine::{
    CodeCache, CompileSource, EngineError, EngineLimits, EpochTicker, LoadedMegabinary, RunEnd,
    WasmEngine,
};
use crate::gate::{Allowed, CopyPolicy, Denied, Gate};
use crate::kernel::{
    BytesStream, CaptureStream, Errno, ExitStatus, Fd, FdSource, FileDescription, HOST_PID, Image,
    Inode, Interrupt, Kernel, Limits, OFlags, Pid, Process, WaitFor,
};
use crate::spawn::{Launch, LaunchSpec, Launcher};

/// Largest stdout or stderr kept for one run (more is dropped and reported as
/// truncated): a runaway program cannot exhaust the daemon's memory.
pub const DEFAULT_OUTPUT_CAP: usize = 16 << 20;

/// Failures of the runtime (not of guests).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("exec {path}: {errno}")]
    Exec { path: String, errno: Errno },
    #[error("exec denied")]
    Denied(#[from] Denied),
    #[error("spawning {path}: {errno}")]
    Spawn { path: String, errno: Errno },
}

/// The engine side of a daemon (or of one embedded run).
pub struct Runtime {
    engine: WasmEngine,
    cache: CodeCache,
    limits: EngineLimits,
    _ticker: EpochTicker,
}

/// A verified bundle with its compiled megabinary.
pub struct LoadedBundle {
    pub bundle: Bundle,
    pub image: Arc<Image>,
    pub megabinary: LoadedMegabinary,
    pub gate: Gate,
    /// Whether the megabinary was compiled now or its code came from the cache.
    pub compile: CompileSource,
    /// The engine's epoch tick and per-memory limit, for runs.
    pub(crate) epoch_tick: Duration,
    pub(crate) max_memory_bytes: usize,
    /// BLAKE3 of image file contents already hashed, keyed by the address of
    /// the image's shared bytes (stable while the image lives). Files written by
    /// a container are never looked up here: their bytes are not the image's.
    pub(crate) hashes: Mutex<HashMap<usize, [u8; 32]>>,
}

impl Runtime {
    /// A runtime whose compiled code lives under `state_dir/code`.
    pub fn new(
        state_dir: &Path,
        limits: EngineLimits,
        pooling: bool,
    ) -> Result<Runtime, RuntimeError> {
        let engine = crate::engine::engine(&limits, pooling)?;
        let cache = CodeCache::open(&state_dir.join("code"), &engine)?;
        let ticker = EpochTicker::start(&engine, limits.epoch_tick);
        Ok(Runtime {
            engine,
            cache,
            limits,
            _ticker: ticker,
        })
    }

    pub fn limits(&self) -> &EngineLimits {
        &self.limits
    }

    /// Verifies the bundle in `dir` against `trusted` and compiles it (once: a
    /// second load of the same megabinary, in this or a later daemon, compiles
    /// nothing).
    pub fn load_bundle(
        &self,
        dir: &Path,
        trusted: &[VerifyingKey],
        policy: CopyPolicy,
    ) -> Result<Arc<LoadedBundle>, RuntimeError> {
        let mut bundle = Bundle::load(dir, trusted)?;
        let (module, compile) = self.cache.load_or_compile(
            &self.engine,
            &bundle.megabinary,
            &bundle.megabinary_blake3,
        )?;
        // The compiled code is what runs: the WASM bytes (about 100 MB with
        // CPython) are not kept for the life of the bundle.
        bundle.megabinary = Arc::from(Vec::new());
        let megabinary = LoadedMegabinary::new(&self.engine, &module)?;
        let image = Arc::new(Image::from_rootfs(&bundle.rootfs));
        let gate = Gate::new(Arc::clone(&bundle.manifest), policy);
        Ok(Arc::new(LoadedBundle {
            bundle,
            image,
            megabinary,
            gate,
            compile,
            epoch_tick: self.limits.epoch_tick,
            max_memory_bytes: self.limits.max_memory_bytes,
            hashes: Mutex::default(),
        }))
    }
}

impl LoadedBundle {
    pub fn dir(&self) -> &PathBuf {
        &self.bundle.dir
    }

    /// "compiled" or "cached", for messages.
    pub fn compile_label(&self) -> &'static str {
        match self.compile {
            CompileSource::Compiled => "compiled",
            CompileSource::Cache => "from cache",
        }
    }
}

/// One exec: what to run and how.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    /// The path to execute, resolved in the container (symlinks followed).
    pub path: String,
    /// argv; empty means `[path]`. `argv[0]` is the name the program sees.
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Working directory; `/` if `None`.
    pub cwd: Option<String>,
    pub stdin: Vec<u8>,
    /// Wall-clock limit.
    pub timeout: Option<Duration>,
    /// Cap on captured stdout and stderr, each.
    pub output_cap: Option<usize>,
}

/// How an exec ended, with its output.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    pub end: RunEnd,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub pid: u32,
    /// What the gate allowed, for the reply.
    pub allowed: Allowed,
    pub instantiate: Duration,
    pub run: Duration,
    /// The signal that ended it, when a guest's `kill` did (its own included).
    pub signal: Option<u8>,
}

impl ExecOutput {
    /// The exit code a shell would report: the status, or 128+signal-like
    /// codes for abnormal ends (128 + the signal a guest killed it with, else 137
    /// killed or timed out, 134 trapped).
    pub fn exit_code(&self) -> i32 {
        match &self.end {
            RunEnd::Exited(code) => *code,
            RunEnd::Trapped(_) => 134,
            RunEnd::Killed(_) => 128 + i32::from(self.signal.unwrap_or(9)),
            RunEnd::TimedOut => 137,
            RunEnd::DispatchRefused(_) | RunEnd::StartFailed(_) => 126,
        }
    }
}

/// A container: a bundle and a kernel of its own.
///
/// Its guests may start processes of their own through the process extension
/// (`recompiler_process_v1`); those run on threads of their own and may outlive
/// the run that started them. Dropping the container stops them and joins their
/// threads.
pub struct Container {
    pub id: String,
    pub bundle: Arc<LoadedBundle>,
    pub kernel: Arc<Kernel>,
    /// Starts processes (the host's execs and the guests' spawns) through the gate.
    launcher: Arc<Launcher>,
}

impl Drop for Container {
    fn drop(&mut self) {
        self.launcher.shutdown();
    }
}

impl Container {
    pub fn new(id: impl Into<String>, bundle: Arc<LoadedBundle>, limits: Limits) -> Container {
        let id = id.into();
        let kernel = Arc::new(Kernel::new(Arc::clone(&bundle.image), limits));
        let launcher = Launcher::new(id.clone(), Arc::clone(&bundle), Arc::clone(&kernel));
        Container {
            id,
            bundle,
            kernel,
            launcher,
        }
    }

    /// The exec gate for `path`, relative to `cwd`: resolves it in the
    /// container, reads the bytes once, hashes them (or takes the cached hash
    /// of untouched image bytes), and asks the gate. Returns the decision and
    /// the canonical path.
    pub fn check_exec(
        &self,
        cwd: &Arc<Inode>,
        path: &str,
    ) -> Result<(Allowed, String), RuntimeError> {
        self.launcher.check_exec(cwd, path.as_bytes())
    }

    /// Runs `req` as a new process of this container (parentless: the host's
    /// child), to its end, on the calling thread.
    pub fn run(&self, req: &ExecRequest) -> Result<ExecOutput, RuntimeError> {
        let cap = req.output_cap.unwrap_or(DEFAULT_OUTPUT_CAP);
        let (stdout, stderr) = (CaptureStream::new(cap), CaptureStream::new(cap));
        let stdin = FileDescription::host(BytesStream::new(req.stdin.clone()), OFlags::RDONLY);
        let launch = self.launch(req, [stdin, host_output(&stdout), host_output(&stderr)])?;
        Ok(self.finish(launch, &stdout, &stderr))
    }

    /// Runs `req` with the given open file descriptions as its fds 0, 1 and 2
    /// (a pipe fed by a client, a stream that forwards output as it comes, ...),
    /// to its end, on the calling thread. Nothing is captured: the returned
    /// output's `stdout` and `stderr` are empty. `started` is called once the
    /// process exists (with its pid), before it runs: a caller that may need to
    /// stop it keeps the pid for [`Container::kill`].
    pub fn run_with_stdio(
        &self,
        req: &ExecRequest,
        stdio: [Arc<FileDescription>; 3],
        started: impl FnOnce(u32),
    ) -> Result<ExecOutput, RuntimeError> {
        self.run_with_fds(req, stdio, Vec::new(), |p| started(p.pid() as u32))
    }

    /// As [`Container::run_with_stdio`], with more open file descriptions at given fd
    /// numbers (a channel a session's shell reports on, for example); `started` gets
    /// the process before it runs.
    pub fn run_with_fds(
        &self,
        req: &ExecRequest,
        stdio: [Arc<FileDescription>; 3],
        extra: Vec<(Fd, Arc<FileDescription>)>,
        started: impl FnOnce(&Arc<Process>),
    ) -> Result<ExecOutput, RuntimeError> {
        let launch = self.launch_with(req, stdio, extra)?;
        started(&launch.process);
        let none = CaptureStream::new(0);
        Ok(self.finish(launch, &none, &none))
    }

    /// Sends Linux signal `sig` from the host to process `pid`, or with `group` to every
    /// process of process group `pid`, as `kill` does (a handler runs, an ignored
    /// signal does nothing, a default termination ends the process with 128 + `sig`).
    /// Returns how many processes it reached.
    pub fn signal(&self, pid: u32, group: bool, sig: u8) -> usize {
        let Ok(pid) = Pid::try_from(pid) else {
            return 0;
        };
        crate::abi::linux::signal::host_kill(&self.kernel, pid, group, sig, &|target, sig| {
            crate::abi::process::Spawner::terminate(&*self.launcher, target, sig)
        })
    }

    /// Stops process `pid`: blocking calls return at once and a running guest
    /// stops at its next epoch tick; its run ends `Killed`. False if no such
    /// process runs.
    pub fn kill(&self, pid: u32) -> bool {
        match self.kernel.processes().get(pid as _) {
            Some(p) => {
                p.interrupt().interrupt();
                true
            }
            None => false,
        }
    }

    /// Stops every process of the container (see [`Container::kill`]), those
    /// guests spawned included, even one whose spawn is under way.
    pub fn stop_all(&self) {
        self.kernel.processes().interrupt_all();
        self.launcher.interrupt_spawned();
    }

    /// Waits until every process that guests of this container spawned has
    /// ended (an orphan left running by a program that exited, for example) and
    /// reaps those nobody waits for. Returns at once if none runs.
    pub fn wait_spawned(&self) {
        self.launcher.join_spawned();
    }

    /// Runs `stages` as a pipeline, `a | b | c`: each stage's stdout is a kernel
    /// pipe to the next one's stdin; all stages run at once, each on a thread
    /// of its own. The first stage reads its request's `stdin`; the last
    /// stage's stdout is captured. Every stage passes the exec gate before any
    /// of them starts.
    pub fn run_pipeline(&self, stages: &[ExecRequest]) -> Result<Vec<ExecOutput>, RuntimeError> {
        let Some(first) = stages.first() else {
            return Ok(Vec::new());
        };
        let cap = first.output_cap.unwrap_or(DEFAULT_OUTPUT_CAP);
        let last_stdout = CaptureStream::new(cap);
        let stderrs: Vec<_> = stages.iter().map(|_| CaptureStream::new(cap)).collect();
        let empty = CaptureStream::new(0);
        let mut input = Some(FileDescription::host(
            BytesStream::new(first.stdin.clone()),
            OFlags::RDONLY,
        ));
        let mut launches = Vec::with_capacity(stages.len());
        for (i, stage) in stages.iter().enumerate() {
            let (output, next) = if i + 1 == stages.len() {
                (host_output(&last_stdout), None)
            } else {
                let (read, write) =
                    crate::kernel::pipe2(OFlags::empty()).map_err(|errno| RuntimeError::Spawn {
                        path: stage.path.clone(),
                        errno,
                    })?;
                (write, Some(read))
            };
            let stdin = input.take().unwrap_or_else(|| host_output(&empty));
            launches.push(self.launch(stage, [stdin, output, host_output(&stderrs[i])])?);
            input = next;
        }
        // Only the processes hold the pipe ends now: a stage's exit closes its
        // write end, and the next stage sees end of file.
        let outputs = std::thread::scope(|scope| {
            let handles: Vec<_> = launches
                .into_iter()
                .enumerate()
                .map(|(i, launch)| {
                    let stdout = if i + 1 == stages.len() {
                        &last_stdout
                    } else {
                        &empty
                    };
                    let stderr = &stderrs[i];
                    scope.spawn(move || self.finish(launch, stdout, stderr))
                })
                .collect();
            handles.into_iter().map(|h| h.join()).collect::<Vec<_>>()
        });
        outputs
            .into_iter()
            .zip(stages)
            .map(|(out, stage)| {
                out.map_err(|_| RuntimeError::Spawn {
                    path: stage.path.clone(),
                    errno: Errno::EIO,
                })
            })
            .collect()
    }

    /// Passes the gate and creates the process for `req`, with `stdio` as its
    /// fds 0, 1 and 2. Nothing runs yet.
    fn launch(
        &self,
        req: &ExecRequest,
        stdio: [Arc<FileDescription>; 3],
    ) -> Result<Launch, RuntimeError> {
        self.launch_with(req, stdio, Vec::new())
    }

    fn launch_with(
        &self,
        req: &ExecRequest,
        stdio: [Arc<FileDescription>; 3],
        extra: Vec<(Fd, Arc<FileDescription>)>,
    ) -> Result<Launch, RuntimeError> {
        let vfs = self.kernel.vfs();
        let spawn_err = |errno| RuntimeError::Spawn {
            path: req.path.clone(),
            errno,
        };
        let cwd = match &req.cwd {
            Some(c) => vfs
                .lookup(vfs.root(), c.as_bytes(), true)
                .map_err(spawn_err)?,
            None => Arc::clone(vfs.root()),
        };
        let argv: Vec<Vec<u8>> = if req.argv.is_empty() {
            vec![req.path.clone().into_bytes()]
        } else {
            req.argv.iter().map(|a| a.clone().into_bytes()).collect()
        };
        let [stdin, stdout, stderr] = stdio;
        let spec = LaunchSpec {
            path: req.path.clone().into_bytes(),
            argv,
            env: req
                .env
                .iter()
                .map(|(k, v)| (k.clone().into_bytes(), v.clone().into_bytes()))
                .collect(),
            cwd,
            fds: [(0, stdin), (1, stdout), (2, stderr)]
                .into_iter()
                .chain(extra)
                .map(|(fd, file)| (fd, FdSource::File(file)))
                .collect(),
            timeout: req.timeout,
        };
        self.launcher.launch(None, spec)
    }

    /// Runs a launched process to its end, then exits and reaps it.
    fn finish(&self, launch: Launch, stdout: &CaptureStream, stderr: &CaptureStream) -> ExecOutput {
        let Launch {
            process,
            allowed,
            request,
        } = launch;
        let result = self.bundle.megabinary.run(request);
        let signal = match &result.end {
            RunEnd::Killed(_) => self.launcher.killed_by(process.pid()),
            _ => None,
        };
        let status = match (&result.end, signal) {
            (RunEnd::Exited(code), _) => ExitStatus::from_code(*code),
            (RunEnd::Killed(_), Some(sig)) => ExitStatus::Signaled(sig),
            _ => ExitStatus::from_code(128 + 9),
        };
        // Exit closes the process's fds (pipe readers see EOF) and reaps it:
        // the host is its parent and is not waiting.
        let processes = self.kernel.processes();
        let _ = processes.exit(process.pid(), status);
        let _ = processes.wait(
            HOST_PID,
            WaitFor::Pid(process.pid()),
            true,
            &Interrupt::new(),
        );
        // Children it spawned that already ended are now the host's to reap.
        self.launcher.reap_orphans();
        ExecOutput {
            end: result.end,
            stdout: stdout.take(),
            stderr: stderr.take(),
            stdout_truncated: stdout.truncated(),
            stderr_truncated: stderr.truncated(),
            pid: process.pid() as u32,
            allowed,
            instantiate: result.instantiate,
            run: result.run,
            signal,
        }
    }
}

fn host_output(stream: &Arc<CaptureStream>) -> Arc<FileDescription> {
    FileDescription::host(
        Arc::clone(stream) as Arc<dyn crate::kernel::HostStream>,
        OFlags::WRONLY,
    )
}
