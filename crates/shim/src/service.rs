//! The task service: containerd's shim v2 API over one container's vkernel.
//!
//! containerd starts one shim process per container. The shim mounts the
//! container's rootfs (the unpacked image), finds the signed bundle in it under
//! [`BUNDLE_DIR`], verifies it against the node's trusted keys, and loads its
//! megabinary's compiled code from the node's code cache (compiling it once per
//! node, for the first container of that bundle). The container's processes are
//! guests of an in-process vkernel: the init process runs the spec's `args`, and
//! each `exec` is a second process of the same kernel (the same files, its
//! writable layer included). Every process passes the exec gate: a path whose
//! file is not in the signed manifest is refused before anything runs.
//!
//! Processes run on threads of the shim, so the pid containerd sees for each of
//! them is the shim's own: it is the host process that holds them. Signals have
//! no handlers in a WASM guest: any signal but 0 ends the process, which then
//! exits with 128 + the signal, as a shell would report it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use containerd_shim::api;
use containerd_shim::protos::events::task::{
    TaskCreate, TaskDelete, TaskExecAdded, TaskExecStarted, TaskExit, TaskIO, TaskStart,
};
use containerd_shim::protos::protobuf::well_known_types::timestamp::Timestamp;
use containerd_shim::protos::protobuf::{MessageDyn, MessageField};
use containerd_shim::protos::topics;
use containerd_shim::protos::ttrpc;
use containerd_shim::publisher::RemotePublisher;
use containerd_shim::{DeleteResponse, ExitSignal, Flags, TtrpcContext, TtrpcResult};
use log::{info, warn};
use recompiler_vkernel::container::{Container, ExecRequest, Runtime, RuntimeError};
use recompiler_vkernel::engine::{EngineLimits, RunEnd};
use recompiler_vkernel::kernel::{Errno, Limits};

use crate::config::NodeConfig;
use crate::stdio::{Input, open_input, open_output};

/// Where a bundle image keeps the bundle, in the container's rootfs.
pub const BUNDLE_DIR: &str = "recompiler";

/// The exit status of a process that could not start (a shell's 126).
const CANNOT_EXECUTE: u32 = 126;

/// The runtime the shim runs containers with: compiled code under
/// `state/code`, shared by every shim of the node (and by tests that warm it).
pub fn runtime(state: &Path) -> Result<Runtime, RuntimeError> {
    // One container per shim: the pooling allocator's reservations for
    // thousands of instances would cost more than they save here.
    Runtime::new(state, EngineLimits::default(), false)
}

/// The shim: a handle on the service shared by the ttrpc server.
#[derive(Clone)]
pub struct Service {
    exit: Arc<ExitSignal>,
    inner: Arc<Inner>,
}

struct Inner {
    namespace: String,
    publisher: Option<RemotePublisher>,
    task: Mutex<Option<Task>>,
}

/// The container: its kernel and its processes.
struct Task {
    id: String,
    bundle: PathBuf,
    /// The mounted rootfs (unmounted at delete), if containerd gave mounts.
    mounted: Option<PathBuf>,
    container: Arc<Container>,
    /// The engine the container's code lives in; outlives the container.
    _runtime: Arc<Runtime>,
    processes: HashMap<String, Arc<Proc>>,
}

/// One process: the init (exec id "") or an exec.
struct Proc {
    exec_id: String,
    req: ExecRequest,
    stdin_path: String,
    stdout_path: String,
    stderr_path: String,
    state: Mutex<ProcState>,
    ended: Condvar,
}

struct ProcState {
    status: Status,
    /// Set between create and start; taken by start.
    stdio: Option<(Input, [Arc<recompiler_vkernel::kernel::FileDescription>; 2])>,
    /// The input's handle once running (for CloseIO and the end).
    input: Option<Input>,
    /// The vkernel pid once the process exists.
    vpid: Option<u32>,
    /// The signal a kill asked for, which the exit status reports.
    signal: Option<u32>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Created,
    Running,
    Stopped { code: u32, at: SystemTime },
}

impl Proc {
    fn lock(&self) -> MutexGuard<'_, ProcState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn api_status(&self) -> api::Status {
        match self.lock().status {
            Status::Created => api::Status::CREATED,
            Status::Running => api::Status::RUNNING,
            Status::Stopped { .. } => api::Status::STOPPED,
        }
    }

    /// Blocks until the process has ended.
    fn wait(&self) -> (u32, SystemTime) {
        let mut st = self.lock();
        loop {
            if let Status::Stopped { code, at } = st.status {
                return (code, at);
            }
            st = self.ended.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }
}

fn timestamp(at: SystemTime) -> MessageField<Timestamp> {
    let d = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    MessageField::some(Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
        ..Default::default()
    })
}

fn shim_pid() -> u32 {
    std::process::id()
}

// ---- errors as containerd understands them ----

fn not_found(what: impl std::fmt::Display) -> ttrpc::Error {
    containerd_shim::Error::NotFoundError(what.to_string()).into()
}

fn precondition(what: impl std::fmt::Display) -> ttrpc::Error {
    containerd_shim::Error::FailedPreconditionError(what.to_string()).into()
}

fn invalid(what: impl std::fmt::Display) -> ttrpc::Error {
    containerd_shim::Error::InvalidArgument(what.to_string()).into()
}

fn other(what: impl std::fmt::Display) -> ttrpc::Error {
    ttrpc::Error::Others(what.to_string())
}

fn already_exists(what: impl std::fmt::Display) -> ttrpc::Error {
    ttrpc::Error::RpcStatus(ttrpc::get_status(
        ttrpc::Code::ALREADY_EXISTS,
        what.to_string(),
    ))
}

impl Service {
    fn task(&self) -> MutexGuard<'_, Option<Task>> {
        self.inner.task.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish(&self, topic: &str, event: Box<dyn MessageDyn>) {
        if let Some(p) = &self.inner.publisher {
            let ctx = ttrpc::context::Context::default();
            if let Err(e) = p.publish(ctx, topic, &self.inner.namespace, event) {
                warn!("publishing {topic}: {e}");
            }
        }
    }

    /// The process `exec_id` of container `id`.
    fn process(&self, id: &str, exec_id: &str) -> TtrpcResult<(Arc<Container>, Arc<Proc>)> {
        let guard = self.task();
        let task = guard
            .as_ref()
            .filter(|t| t.id == id)
            .ok_or_else(|| not_found(format!("container {id}")))?;
        let proc = task
            .processes
            .get(exec_id)
            .ok_or_else(|| not_found(format!("process {exec_id} of container {id}")))?;
        Ok((Arc::clone(&task.container), Arc::clone(proc)))
    }

    fn create_task(&self, req: &api::CreateTaskRequest) -> Result<Task, String> {
        if req.terminal {
            return Err(
                "a terminal (-t) is not supported by the recompiler runtime: \
                        run without it (stdin still works with -i)"
                    .into(),
            );
        }
        if !req.checkpoint.is_empty() {
            return Err("checkpoint/restore is not supported by the recompiler runtime".into());
        }
        let node = NodeConfig::from_env().map_err(|e| e.to_string())?;
        let bundle = PathBuf::from(&req.bundle);
        let spec = oci_spec::runtime::Spec::load(bundle.join("config.json"))
            .map_err(|e| format!("{}/config.json: {e}", bundle.display()))?;
        let rootfs = bundle.join("rootfs");
        let mut mounted = None;
        for m in &req.rootfs {
            std::fs::create_dir_all(&rootfs)
                .map_err(|e| format!("creating {}: {e}", rootfs.display()))?;
            containerd_shim::mount::mount_rootfs(
                Some(m.type_.as_str()).filter(|t| !t.is_empty()),
                Some(m.source.as_str()).filter(|s| !s.is_empty()),
                &m.options,
                &rootfs,
            )
            .map_err(|e| {
                format!(
                    "mounting the rootfs ({}) at {}: {e}",
                    m.type_,
                    rootfs.display()
                )
            })?;
            mounted = Some(rootfs.clone());
        }
        let made = self.load(req, &node, &spec, &rootfs);
        if made.is_err()
            && let Some(dir) = &mounted
        {
            unmount(dir);
        }
        let (container, runtime, init) = made?;
        let mut processes = HashMap::new();
        processes.insert(String::new(), init);
        Ok(Task {
            id: req.id.clone(),
            bundle,
            mounted,
            container,
            _runtime: runtime,
            processes,
        })
    }

    /// Verifies and loads the bundle in `rootfs`, makes the container and its
    /// init process (created, not started).
    #[allow(clippy::type_complexity)]
    fn load(
        &self,
        req: &api::CreateTaskRequest,
        node: &NodeConfig,
        spec: &oci_spec::runtime::Spec,
        rootfs: &Path,
    ) -> Result<(Arc<Container>, Arc<Runtime>, Arc<Proc>), String> {
        let dir = rootfs.join(BUNDLE_DIR);
        if !dir.join(recompiler_vkernel::bundle::MANIFEST).is_file() {
            return Err(format!(
                "the image is not a recompiler bundle image: no /{BUNDLE_DIR}/{} in its rootfs \
                 (make one with recompiler-build build --oci-archive)",
                recompiler_vkernel::bundle::MANIFEST
            ));
        }
        let started = Instant::now();
        let runtime = Arc::new(
            runtime(&node.state)
                .map_err(|e| format!("state directory {}: {e}", node.state.display()))?,
        );
        let loaded = runtime
            .load_bundle(&dir, &node.trusted, node.policy)
            .map_err(|e| format!("{e} (trusted keys: {})", node.trust_path.display()))?;
        info!(
            "bundle of {}: signed by {}, megabinary {} code {} in {} ms",
            req.id,
            loaded.bundle.key_id,
            loaded.bundle.megabinary_blake3,
            loaded.compile_label(),
            started.elapsed().as_millis()
        );
        let container = Arc::new(Container::new(req.id.clone(), loaded, Limits::default()));
        let process = spec
            .process()
            .as_ref()
            .ok_or("config.json has no process")?;
        let init = self.new_proc(
            &container,
            "",
            process,
            [&req.stdin, &req.stdout, &req.stderr],
        )?;
        Ok((container, runtime, init))
    }

    /// A process of `container` for `spec`: its path resolved and passed through
    /// the exec gate, its stdio opened. Nothing runs yet.
    fn new_proc(
        &self,
        container: &Container,
        exec_id: &str,
        spec: &oci_spec::runtime::Process,
        [stdin, stdout, stderr]: [&String; 3],
    ) -> Result<Arc<Proc>, String> {
        if spec.terminal().unwrap_or(false) {
            return Err("a terminal (-t) is not supported by the recompiler runtime".into());
        }
        let args = spec.args().clone().unwrap_or_default();
        let Some(arg0) = args.first() else {
            return Err("the process has no args (no entrypoint or command in the image)".into());
        };
        let env: Vec<(String, String)> = spec
            .env()
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (e.clone(), String::new()),
            })
            .collect();
        let cwd = spec.cwd().to_string_lossy().into_owned();
        let cwd = if cwd.is_empty() { "/".to_string() } else { cwd };
        let path = resolve(container, arg0, &env)?;
        let vfs = container.kernel.vfs();
        let cwd_inode = vfs
            .lookup(vfs.root(), cwd.as_bytes(), true)
            .map_err(|e| format!("working directory {cwd}: {e}"))?;
        match container.check_exec(&cwd_inode, &path) {
            Ok(_) => {}
            Err(RuntimeError::Denied(denied)) => return Err(format!("exec denied: {denied}")),
            Err(e) => return Err(format!("{arg0}: {e}")),
        }
        let input = open_input(stdin).map_err(|e| format!("stdin {stdin}: {e}"))?;
        let out = open_output(stdout).map_err(|e| format!("stdout {stdout}: {e}"))?;
        let err = open_output(stderr).map_err(|e| format!("stderr {stderr}: {e}"))?;
        Ok(Arc::new(Proc {
            exec_id: exec_id.to_string(),
            req: ExecRequest {
                path,
                argv: args,
                env,
                cwd: Some(cwd),
                ..ExecRequest::default()
            },
            stdin_path: stdin.clone(),
            stdout_path: stdout.clone(),
            stderr_path: stderr.clone(),
            state: Mutex::new(ProcState {
                status: Status::Created,
                stdio: Some((input, [out, err])),
                input: None,
                vpid: None,
                signal: None,
            }),
            ended: Condvar::new(),
        }))
    }

    /// Starts `proc` on a thread of its own; returns at once.
    fn start_proc(
        &self,
        id: &str,
        container: Arc<Container>,
        proc: Arc<Proc>,
    ) -> Result<(), String> {
        let (input, [out, err]) = {
            let mut st = proc.lock();
            if st.status != Status::Created {
                return Err(format!("process {:?} was started already", proc.exec_id));
            }
            let stdio = st.stdio.take().ok_or("process has no stdio")?;
            st.status = Status::Running;
            stdio
        };
        let stdin = Arc::clone(&input.fd);
        proc.lock().input = Some(input);
        let service = self.clone();
        let id = id.to_string();
        std::thread::Builder::new()
            .name(format!("proc-{}", proc.exec_id))
            .spawn(move || {
                let p = Arc::clone(&proc);
                let c = Arc::clone(&container);
                let result = container.run_with_stdio(&proc.req, [stdin, out, err], move |vpid| {
                    let mut st = p.lock();
                    st.vpid = Some(vpid);
                    // A kill that came before the process existed.
                    if st.signal.is_some() {
                        c.kill(vpid);
                    }
                });
                let code = {
                    let st = proc.lock();
                    exit_code(&result, st.signal)
                };
                if let Err(e) = &result {
                    warn!("{id} {:?}: {e}", proc.exec_id);
                }
                service.ended(&id, &container, &proc, code);
            })
            .map_err(|e| format!("starting a thread: {e}"))?;
        Ok(())
    }

    /// Records the end of `proc` and tells containerd.
    fn ended(&self, id: &str, container: &Container, proc: &Proc, code: u32) {
        let at = SystemTime::now();
        info!("{id} {:?} ended: exit status {code}", proc.exec_id);
        {
            let mut st = proc.lock();
            st.status = Status::Stopped { code, at };
            if let Some(input) = st.input.take() {
                input.stop();
            }
        }
        proc.ended.notify_all();
        if proc.exec_id.is_empty() {
            // The init's end is the container's: what else runs in it stops,
            // as a pid namespace's processes do when its init dies.
            container.stop_all();
        }
        self.publish(
            topics::TASK_EXIT_EVENT_TOPIC,
            Box::new(TaskExit {
                container_id: id.to_string(),
                id: if proc.exec_id.is_empty() {
                    id.to_string()
                } else {
                    proc.exec_id.clone()
                },
                pid: shim_pid(),
                exit_status: code,
                exited_at: timestamp(at),
                ..Default::default()
            }),
        );
    }
}

/// The exit status containerd reports for a run that ended so.
fn exit_code(
    result: &Result<recompiler_vkernel::container::ExecOutput, RuntimeError>,
    signal: Option<u32>,
) -> u32 {
    match result {
        Ok(out) => match (&out.end, signal) {
            (RunEnd::Killed(_), Some(sig)) => 128 + sig,
            _ => (out.exit_code() & 0xff) as u32,
        },
        Err(RuntimeError::Exec {
            errno: Errno::ENOENT,
            ..
        }) => 127,
        Err(_) => CANNOT_EXECUTE,
    }
}

/// `arg0` as a path in the container: as given if it has a slash, else looked
/// up in the process's `PATH` (as runc does for its init).
fn resolve(container: &Container, arg0: &str, env: &[(String, String)]) -> Result<String, String> {
    if arg0.contains('/') {
        return Ok(arg0.to_string());
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str())
        .unwrap_or("/usr/local/bin:/usr/bin:/bin");
    let vfs = container.kernel.vfs();
    for dir in path.split(':').filter(|d| d.starts_with('/')) {
        let candidate = format!("{}/{arg0}", dir.trim_end_matches('/'));
        if vfs.lookup(vfs.root(), candidate.as_bytes(), true).is_ok() {
            return Ok(candidate);
        }
    }
    Err(format!(
        "{arg0}: executable file not found in $PATH ({path})"
    ))
}

fn unmount(dir: &Path) {
    if let Err(e) = containerd_shim::mount::umount_recursive(dir.to_str(), 0) {
        warn!("unmounting {}: {e}", dir.display());
    }
}

impl containerd_shim::Shim for Service {
    type T = Service;

    fn new(_runtime_id: &str, args: &Flags, _config: &mut containerd_shim::Config) -> Self {
        Service {
            exit: Arc::new(ExitSignal::default()),
            inner: Arc::new(Inner {
                namespace: args.namespace.clone(),
                publisher: None,
                task: Mutex::new(None),
            }),
        }
    }

    fn start_shim(
        &mut self,
        opts: containerd_shim::StartOpts,
    ) -> Result<String, containerd_shim::Error> {
        // One shim per container: the grouping is the container's id.
        let grouping = opts.id.clone();
        let (_pid, address) = containerd_shim::spawn(opts, &grouping, Vec::new())?;
        Ok(address)
    }

    /// `containerd-shim-recompiler-v1 delete`: containerd cleans up after a
    /// shim that died. Its guests died with it; what is left is the mount.
    fn delete_shim(&mut self) -> Result<DeleteResponse, containerd_shim::Error> {
        if let Ok(cwd) = std::env::current_dir() {
            let rootfs = cwd.join("rootfs");
            if rootfs.is_dir() {
                unmount(&rootfs);
            }
        }
        Ok(DeleteResponse {
            exit_status: 128 + 9,
            exited_at: timestamp(SystemTime::now()),
            ..Default::default()
        })
    }

    fn wait(&mut self) {
        self.exit.wait();
    }

    fn create_task_service(&self, publisher: RemotePublisher) -> Self::T {
        Service {
            exit: Arc::clone(&self.exit),
            inner: Arc::new(Inner {
                namespace: self.inner.namespace.clone(),
                publisher: Some(publisher),
                task: Mutex::new(None),
            }),
        }
    }
}

impl containerd_shim::Task for Service {
    fn create(
        &self,
        _ctx: &TtrpcContext,
        req: api::CreateTaskRequest,
    ) -> TtrpcResult<api::CreateTaskResponse> {
        if self.task().is_some() {
            return Err(already_exists("this shim holds a container already"));
        }
        let task = self.create_task(&req).map_err(|e| {
            warn!("create {}: {e}", req.id);
            other(e)
        })?;
        *self.task() = Some(task);
        self.publish(
            topics::TASK_CREATE_EVENT_TOPIC,
            Box::new(TaskCreate {
                container_id: req.id.clone(),
                bundle: req.bundle.clone(),
                rootfs: req.rootfs.clone(),
                io: MessageField::some(TaskIO {
                    stdin: req.stdin.clone(),
                    stdout: req.stdout.clone(),
                    stderr: req.stderr.clone(),
                    terminal: req.terminal,
                    ..Default::default()
                }),
                pid: shim_pid(),
                ..Default::default()
            }),
        );
        Ok(api::CreateTaskResponse {
            pid: shim_pid(),
            ..Default::default()
        })
    }

    fn start(
        &self,
        _ctx: &TtrpcContext,
        req: api::StartRequest,
    ) -> TtrpcResult<api::StartResponse> {
        let (container, proc) = self.process(&req.id, &req.exec_id)?;
        self.start_proc(&req.id, container, Arc::clone(&proc))
            .map_err(precondition)?;
        if req.exec_id.is_empty() {
            self.publish(
                topics::TASK_START_EVENT_TOPIC,
                Box::new(TaskStart {
                    container_id: req.id.clone(),
                    pid: shim_pid(),
                    ..Default::default()
                }),
            );
        } else {
            self.publish(
                topics::TASK_EXEC_STARTED_EVENT_TOPIC,
                Box::new(TaskExecStarted {
                    container_id: req.id.clone(),
                    exec_id: req.exec_id.clone(),
                    pid: shim_pid(),
                    ..Default::default()
                }),
            );
        }
        Ok(api::StartResponse {
            pid: shim_pid(),
            ..Default::default()
        })
    }

    fn exec(&self, _ctx: &TtrpcContext, req: api::ExecProcessRequest) -> TtrpcResult<api::Empty> {
        if req.terminal {
            return Err(invalid(
                "a terminal (-t) is not supported by the recompiler runtime",
            ));
        }
        let container = {
            let guard = self.task();
            let task = guard
                .as_ref()
                .filter(|t| t.id == req.id)
                .ok_or_else(|| not_found(format!("container {}", req.id)))?;
            if task.processes.contains_key(&req.exec_id) {
                return Err(already_exists(format!("exec id {}", req.exec_id)));
            }
            let init = &task.processes[""];
            if matches!(init.lock().status, Status::Stopped { .. }) {
                return Err(precondition("the container's init process has ended"));
            }
            Arc::clone(&task.container)
        };
        let spec = req
            .spec
            .as_ref()
            .ok_or_else(|| invalid("exec without a process spec"))?;
        let process: oci_spec::runtime::Process = serde_json::from_slice(&spec.value)
            .map_err(|e| invalid(format!("exec process spec: {e}")))?;
        let proc = self
            .new_proc(
                &container,
                &req.exec_id,
                &process,
                [&req.stdin, &req.stdout, &req.stderr],
            )
            .map_err(|e| {
                warn!("exec {} in {}: {e}", req.exec_id, req.id);
                other(e)
            })?;
        {
            let mut guard = self.task();
            let task = guard
                .as_mut()
                .ok_or_else(|| not_found(format!("container {}", req.id)))?;
            task.processes.insert(req.exec_id.clone(), proc);
        }
        self.publish(
            topics::TASK_EXEC_ADDED_EVENT_TOPIC,
            Box::new(TaskExecAdded {
                container_id: req.id.clone(),
                exec_id: req.exec_id.clone(),
                ..Default::default()
            }),
        );
        Ok(api::Empty::new())
    }

    fn kill(&self, _ctx: &TtrpcContext, req: api::KillRequest) -> TtrpcResult<api::Empty> {
        let (container, proc) = self.process(&req.id, &req.exec_id)?;
        let mut st = proc.lock();
        match st.status {
            Status::Stopped { .. } => return Err(not_found("process already finished")),
            _ if req.signal == 0 => return Ok(api::Empty::new()),
            Status::Created => {
                // Never started: it ends now, killed.
                drop(st);
                let id = req.id.clone();
                proc.lock().stdio = None;
                self.ended(&id, &container, &proc, 128 + req.signal);
                return Ok(api::Empty::new());
            }
            Status::Running => {
                info!(
                    "kill {} {:?}: signal {} (vkernel pid {:?})",
                    req.id, req.exec_id, req.signal, st.vpid
                );
                st.signal.get_or_insert(req.signal);
                if let Some(vpid) = st.vpid {
                    container.kill(vpid);
                }
            }
        }
        drop(st);
        if req.all && req.exec_id.is_empty() {
            container.stop_all();
        }
        Ok(api::Empty::new())
    }

    fn wait(&self, _ctx: &TtrpcContext, req: api::WaitRequest) -> TtrpcResult<api::WaitResponse> {
        let (_, proc) = self.process(&req.id, &req.exec_id)?;
        let (code, at) = proc.wait();
        Ok(api::WaitResponse {
            exit_status: code,
            exited_at: timestamp(at),
            ..Default::default()
        })
    }

    fn delete(
        &self,
        _ctx: &TtrpcContext,
        req: api::DeleteRequest,
    ) -> TtrpcResult<api::DeleteResponse> {
        let (_, proc) = self.process(&req.id, &req.exec_id)?;
        let (code, at) = match proc.lock().status {
            Status::Running => return Err(precondition("cannot delete a running process")),
            Status::Stopped { code, at } => (code, at),
            Status::Created => (0, SystemTime::now()),
        };
        let mut guard = self.task();
        if req.exec_id.is_empty() {
            // The container goes: its kernel (writable layer, processes), then
            // the mount. What containerd made of the bundle directory is its own.
            if let Some(task) = guard.take() {
                drop(guard);
                task.container.stop_all();
                task.container.wait_spawned();
                if let Some(dir) = &task.mounted {
                    unmount(dir);
                }
                info!("deleted {} ({})", task.id, task.bundle.display());
                drop(task);
            }
            self.publish(
                topics::TASK_DELETE_EVENT_TOPIC,
                Box::new(TaskDelete {
                    container_id: req.id.clone(),
                    id: req.id.clone(),
                    pid: shim_pid(),
                    exit_status: code,
                    exited_at: timestamp(at),
                    ..Default::default()
                }),
            );
        } else if let Some(task) = guard.as_mut() {
            task.processes.remove(&req.exec_id);
        }
        Ok(api::DeleteResponse {
            pid: shim_pid(),
            exit_status: code,
            exited_at: timestamp(at),
            ..Default::default()
        })
    }

    fn state(
        &self,
        _ctx: &TtrpcContext,
        req: api::StateRequest,
    ) -> TtrpcResult<api::StateResponse> {
        let (_, proc) = self.process(&req.id, &req.exec_id)?;
        let bundle = self
            .task()
            .as_ref()
            .map(|t| t.bundle.display().to_string())
            .unwrap_or_default();
        let status = proc.api_status();
        let (exit_status, exited_at) = match proc.lock().status {
            Status::Stopped { code, at } => (code, timestamp(at)),
            _ => (0, MessageField::none()),
        };
        Ok(api::StateResponse {
            id: if req.exec_id.is_empty() {
                req.id.clone()
            } else {
                req.exec_id.clone()
            },
            bundle,
            pid: shim_pid(),
            status: status.into(),
            stdin: proc.stdin_path.clone(),
            stdout: proc.stdout_path.clone(),
            stderr: proc.stderr_path.clone(),
            terminal: false,
            exit_status,
            exited_at,
            exec_id: req.exec_id.clone(),
            ..Default::default()
        })
    }

    fn pids(&self, _ctx: &TtrpcContext, req: api::PidsRequest) -> TtrpcResult<api::PidsResponse> {
        let guard = self.task();
        let task = guard
            .as_ref()
            .filter(|t| t.id == req.id)
            .ok_or_else(|| not_found(format!("container {}", req.id)))?;
        let running = task
            .processes
            .values()
            .any(|p| p.lock().status == Status::Running);
        // One host process holds every guest of the container: the shim.
        let processes = if running {
            vec![containerd_shim::protos::api::ProcessInfo {
                pid: shim_pid(),
                ..Default::default()
            }]
        } else {
            Vec::new()
        };
        Ok(api::PidsResponse {
            processes,
            ..Default::default()
        })
    }

    fn close_io(&self, _ctx: &TtrpcContext, req: api::CloseIORequest) -> TtrpcResult<api::Empty> {
        let (_, proc) = self.process(&req.id, &req.exec_id)?;
        if req.stdin {
            let st = proc.lock();
            if let Some(input) = &st.input {
                input.close();
            } else if let Some((input, _)) = &st.stdio {
                input.close();
            }
        }
        Ok(api::Empty::new())
    }

    fn connect(
        &self,
        _ctx: &TtrpcContext,
        _req: api::ConnectRequest,
    ) -> TtrpcResult<api::ConnectResponse> {
        Ok(api::ConnectResponse {
            shim_pid: shim_pid(),
            task_pid: shim_pid(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            ..Default::default()
        })
    }

    fn shutdown(&self, _ctx: &TtrpcContext, _req: api::ShutdownRequest) -> TtrpcResult<api::Empty> {
        if self.task().is_some() {
            // containerd asks after every delete; a container still here stays.
            return Ok(api::Empty::new());
        }
        self.exit.signal();
        Ok(api::Empty::new())
    }
}
