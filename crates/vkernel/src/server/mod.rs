//! The daemon: bundles, containers and the UNIX-socket API.
//!
//! [`Daemon`] holds the runtime (engine, code cache), the loaded bundles and the
//! containers; [`Daemon::handle`] answers one parsed request. [`serve`] accepts
//! connections on a socket made by [`bind`] (mode 0600 unless told otherwise,
//! created under a temporary name and renamed into place, so it is never
//! reachable with looser permissions), checks each peer's uid (`SO_PEERCRED`)
//! against the allow list, and gives each connection a thread. Requests on one
//! connection are answered in order; connections run in parallel. No request,
//! however malformed, ends the daemon or the connection: it gets an error reply.
//! The protocol is in [`protocol`] and `docs/recompiler-container-plan/protocol.md`.

pub mod protocol;
pub mod syscall;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use recompiler_manifest::sign::VerifyingKey;
use serde_json::{Value, json};

use crate::container::{Container, ExecOutput, ExecRequest, LoadedBundle, Runtime, RuntimeError};
use crate::engine::{CompileSource, EngineLimits, RunEnd};
use crate::gate::{CopyPolicy, Denied};
use crate::kernel::{
    BytesStream, Errno, FeedStream, FileDescription, HOST_PID, HostStream, Interrupt, KResult,
    Limits, OFlags, Process, Readiness, WaitFor,
};
use crate::session::{self, Session, SessionError, SessionSpec};
use protocol::{
    Envelope, ErrorCode, ProtocolError, Request, encode_base64, error_reply, event, reply,
};

/// How the daemon is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Compiled code cache (`state/code`).
    pub state: PathBuf,
    pub trusted: Vec<VerifyingKey>,
    /// Peer uids that may connect.
    pub allow_uids: Vec<u32>,
    pub engine: EngineLimits,
    /// Limits of a container created without its own.
    pub container_limits: Limits,
    pub max_containers: usize,
    pub max_connections: usize,
    /// Wall-clock limit of a run that asks for none.
    pub default_timeout: Option<Duration>,
}

impl Config {
    pub fn new(state: PathBuf, trusted: Vec<VerifyingKey>) -> Config {
        Config {
            state,
            trusted,
            allow_uids: vec![rustix::process::geteuid().as_raw()],
            engine: EngineLimits::default(),
            container_limits: Limits::default(),
            max_containers: 1024,
            max_connections: 1024,
            default_timeout: None,
        }
    }
}

/// A loaded bundle and its id.
struct BundleEntry {
    id: String,
    loaded: Arc<LoadedBundle>,
}

/// A container and who made it.
struct ContainerEntry {
    container: Arc<Container>,
    /// The container's shell session, once opened (`session.open`, or the first
    /// `session.run`).
    session: Mutex<Option<Arc<Session>>>,
    owner: u32,
    bundle: String,
    created: std::time::SystemTime,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    errors: AtomicU64,
    execs: AtomicU64,
    denied: AtomicU64,
    trapped: AtomicU64,
    timed_out: AtomicU64,
    killed: AtomicU64,
    connections_total: AtomicU64,
    connections_open: AtomicUsize,
}

/// The daemon's state.
pub struct Daemon {
    runtime: Runtime,
    config: Config,
    bundles: RwLock<Vec<BundleEntry>>,
    containers: RwLock<BTreeMap<String, Arc<ContainerEntry>>>,
    counters: Counters,
    started: Instant,
    next_cid: AtomicU64,
}

/// What one connection holds between requests.
pub struct Connection {
    /// The peer's uid.
    pub uid: u32,
    out: Arc<Mutex<Box<dyn Write + Send>>>,
    /// RPC processes, by container id.
    rpc: HashMap<String, (Arc<ContainerEntry>, Arc<Process>)>,
    /// The streaming run in progress, if any.
    stream: Option<StreamRun>,
}

struct StreamRun {
    entry: Arc<ContainerEntry>,
    /// Set once the process exists.
    pid: Arc<Mutex<Option<u32>>>,
    stdin: Option<Arc<FeedStream>>,
    done: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Connection {
    /// A connection for peer `uid` whose replies go to `out`.
    pub fn new(uid: u32, out: Box<dyn Write + Send>) -> Connection {
        Connection {
            uid,
            out: Arc::new(Mutex::new(out)),
            rpc: HashMap::new(),
            stream: None,
        }
    }

    fn send(&self, bytes: &[u8]) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        // A peer that went away is noticed by the reading side.
        let _ = out.write_all(bytes).and_then(|()| out.flush());
    }

    fn stream_active(&self) -> bool {
        self.stream
            .as_ref()
            .is_some_and(|s| !s.done.load(Ordering::SeqCst))
    }
}

impl Daemon {
    /// Opens the runtime (engine, code cache) for `config`.
    pub fn new(config: Config) -> Result<Arc<Daemon>, RuntimeError> {
        let runtime = Runtime::new(&config.state, config.engine.clone(), true)?;
        Ok(Arc::new(Daemon {
            runtime,
            config,
            bundles: RwLock::default(),
            containers: RwLock::default(),
            counters: Counters::default(),
            started: Instant::now(),
            next_cid: AtomicU64::new(1),
        }))
    }

    /// Loads (verifies, compiles or takes from the cache) the bundle in `dir`.
    /// Loading the same bundle again returns the loaded one. Returns its id and
    /// whether its code was compiled or cached.
    pub fn load_bundle(
        &self,
        dir: &Path,
        allow_copies: bool,
    ) -> Result<(String, Arc<LoadedBundle>), RuntimeError> {
        let policy = if allow_copies {
            CopyPolicy::KnownContent
        } else {
            CopyPolicy::ExactPath
        };
        let loaded = self
            .runtime
            .load_bundle(dir, &self.config.trusted, policy)?;
        let digest = blake3::hash(&loaded.bundle.manifest.to_canonical_json());
        let mut id = String::from("b-");
        id.push_str(&digest.to_hex()[..16]);
        if allow_copies {
            id.push_str("-copies");
        }
        let mut bundles = self.bundles.write().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = bundles.iter().find(|b| b.id == id) {
            return Ok((id, Arc::clone(&existing.loaded)));
        }
        tracing::info!(bundle = %id, dir = %dir.display(), code = loaded.compile_label(), "bundle loaded");
        bundles.push(BundleEntry {
            id: id.clone(),
            loaded: Arc::clone(&loaded),
        });
        Ok((id, loaded))
    }

    /// Answers one request on `conn` (writing the reply, and for a streaming run
    /// its events, to the connection).
    pub fn handle(self: &Arc<Self>, conn: &mut Connection, envelope: Envelope) {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let Envelope { id, request } = envelope;
        let streaming_ok = matches!(request, Request::Stdin(_) | Request::Kill(_));
        if conn.stream_active() && !streaming_ok {
            self.fail(
                conn,
                &id,
                ProtocolError::new(
                    ErrorCode::Busy,
                    "a streaming run is in progress on this connection: only `stdin` and `kill` until it ends",
                ),
            );
            return;
        }
        if let Some(s) = conn.stream.take_if(|s| s.done.load(Ordering::SeqCst)) {
            let _ = s.thread.join();
        }
        let result = match request {
            Request::Hello => Ok(json!({
                "protocol": protocol::PROTOCOL_VERSION,
                "server": concat!("vkernel ", env!("CARGO_PKG_VERSION")),
                "uid": conn.uid,
                "types": protocol::REQUEST_TYPES,
            })),
            Request::Health => {
                Ok(json!({"healthy": true, "uptime_ms": self.started.elapsed().as_millis() as u64}))
            }
            Request::Stats => Ok(self.stats()),
            Request::BundleLoad(b) => self.bundle_load(&b),
            Request::BundleList => Ok(self.bundle_list()),
            Request::ContainerCreate(c) => self.container_create(conn.uid, &c),
            Request::ContainerDelete(c) => self.container_delete(conn, &c.cid),
            Request::ContainerList => Ok(self.container_list(conn.uid)),
            Request::Exec(e) => match self.exec_check(conn.uid, &e) {
                Ok(Ok(fields)) => Ok(fields),
                Ok(Err(denied)) => {
                    conn.send(&reply(&id, "denied", denied));
                    return;
                }
                Err(e) => Err(e),
            },
            Request::Run(r) if r.stream => match self.run_stream(conn, &id, r) {
                Ok(()) => return,
                Err(e) => Err(e),
            },
            Request::Run(r) => match self.run(conn.uid, &r) {
                Ok(Ok(fields)) => Ok(fields),
                Ok(Err(denied)) => {
                    conn.send(&reply(&id, "denied", denied));
                    return;
                }
                Err(e) => Err(e),
            },
            Request::Pipeline(p) => match self.pipeline(conn.uid, &p) {
                Ok(Ok(fields)) => Ok(fields),
                Ok(Err(denied)) => {
                    conn.send(&reply(&id, "denied", denied));
                    return;
                }
                Err(e) => Err(e),
            },
            Request::Stdin(s) => self.stdin(conn, &s),
            Request::Kill(_) => self.kill(conn),
            Request::Syscall(s) => self.syscall(conn, &s),
            Request::SessionOpen(o) => self.session_open(conn.uid, &o),
            Request::SessionRun(r) => self.session_run(conn.uid, &r),
            Request::SessionClose(c) => self.session_close(conn.uid, &c.cid),
        };
        match result {
            Ok(fields) => conn.send(&reply(&id, "ok", fields)),
            Err(e) => self.fail(conn, &id, e),
        }
    }

    fn fail(&self, conn: &Connection, id: &Option<Value>, e: ProtocolError) {
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        conn.send(&error_reply(id, &e));
    }

    /// The connection ended: stop its streaming run, close its RPC processes.
    pub fn disconnect(&self, conn: &mut Connection) {
        if let Some(s) = conn.stream.take() {
            if let Some(pid) = *s.pid.lock().unwrap_or_else(|e| e.into_inner()) {
                s.entry.container.kill(pid);
            }
            if let Some(stdin) = &s.stdin {
                stdin.close();
            }
            let _ = s.thread.join();
        }
        for (_, (entry, process)) in conn.rpc.drain() {
            reap(&entry.container, &process);
        }
    }

    fn stats(&self) -> Value {
        let containers = self.containers.read().unwrap_or_else(|e| e.into_inner());
        let (mut processes, mut zombies, mut open_files, mut writable) = (0, 0, 0, 0);
        for entry in containers.values() {
            let s = entry.container.kernel.summary();
            processes += s.processes;
            zombies += s.zombies;
            open_files += s.open_files;
            writable += s.writable_bytes;
        }
        let c = &self.counters;
        json!({
            "uptime_ms": self.started.elapsed().as_millis() as u64,
            "bundles": self.bundles.read().unwrap_or_else(|e| e.into_inner()).len(),
            "containers": containers.len(),
            "processes": processes,
            "zombies": zombies,
            "guest_open_files": open_files,
            "writable_bytes": writable,
            "requests": c.requests.load(Ordering::Relaxed),
            "errors": c.errors.load(Ordering::Relaxed),
            "execs": c.execs.load(Ordering::Relaxed),
            "denied": c.denied.load(Ordering::Relaxed),
            "trapped": c.trapped.load(Ordering::Relaxed),
            "timed_out": c.timed_out.load(Ordering::Relaxed),
            "killed": c.killed.load(Ordering::Relaxed),
            "connections_open": c.connections_open.load(Ordering::Relaxed),
            "connections_total": c.connections_total.load(Ordering::Relaxed),
            "host": host_stats(),
        })
    }

    fn bundle_load(&self, b: &protocol::BundleLoad) -> Result<Value, ProtocolError> {
        let (id, loaded) = self
            .load_bundle(Path::new(&b.path), b.allow_copies)
            .map_err(|e| ProtocolError::new(ErrorCode::Bundle, format!("{e}")))?;
        Ok(bundle_json(&id, &loaded))
    }

    fn bundle_list(&self) -> Value {
        let bundles = self.bundles.read().unwrap_or_else(|e| e.into_inner());
        let list: Vec<Value> = bundles
            .iter()
            .map(|b| bundle_json(&b.id, &b.loaded))
            .collect();
        json!({ "bundles": list })
    }

    fn find_bundle(&self, id: Option<&str>) -> Result<(String, Arc<LoadedBundle>), ProtocolError> {
        let bundles = self.bundles.read().unwrap_or_else(|e| e.into_inner());
        let found = match id {
            Some(id) => bundles.iter().find(|b| b.id == id),
            None if bundles.len() == 1 => bundles.first(),
            None if bundles.is_empty() => {
                return Err(ProtocolError::new(
                    ErrorCode::NotFound,
                    "no bundle is loaded (send `bundle.load` first)",
                ));
            }
            None => {
                return Err(ProtocolError::new(
                    ErrorCode::MissingField,
                    "several bundles are loaded: name one with `bundle`",
                ));
            }
        };
        found
            .map(|b| (b.id.clone(), Arc::clone(&b.loaded)))
            .ok_or_else(|| {
                ProtocolError::new(
                    ErrorCode::NotFound,
                    format!("no bundle {:?} is loaded", id.unwrap_or_default()),
                )
            })
    }

    fn container_create(
        &self,
        uid: u32,
        c: &protocol::ContainerCreate,
    ) -> Result<Value, ProtocolError> {
        let (bundle_id, loaded) = self.find_bundle(c.bundle.as_deref())?;
        let mut containers = self.containers.write().unwrap_or_else(|e| e.into_inner());
        if containers.len() >= self.config.max_containers {
            return Err(ProtocolError::new(
                ErrorCode::Busy,
                format!(
                    "the daemon holds its limit of {} containers",
                    self.config.max_containers
                ),
            ));
        }
        let cid = match &c.cid {
            Some(cid) => {
                check_cid(cid)?;
                if containers.contains_key(cid) {
                    return Err(ProtocolError::new(
                        ErrorCode::BadRequest,
                        format!("container {cid:?} exists"),
                    ));
                }
                cid.clone()
            }
            None => loop {
                let n = self.next_cid.fetch_add(1, Ordering::Relaxed);
                let cid = format!("c{n}");
                if !containers.contains_key(&cid) {
                    break cid;
                }
            },
        };
        let d = &self.config.container_limits;
        let limits = Limits {
            max_open_files: c.max_open_files.unwrap_or(d.max_open_files),
            max_processes: c.max_processes.unwrap_or(d.max_processes),
            max_writable_bytes: c.max_writable_bytes.unwrap_or(d.max_writable_bytes),
        };
        let container = Container::new(cid.clone(), loaded, limits);
        containers.insert(
            cid.clone(),
            Arc::new(ContainerEntry {
                container: Arc::new(container),
                session: Mutex::new(None),
                owner: uid,
                bundle: bundle_id.clone(),
                created: std::time::SystemTime::now(),
            }),
        );
        tracing::info!(%cid, bundle = %bundle_id, uid, "container created");
        Ok(json!({"cid": cid, "bundle": bundle_id}))
    }

    /// The container `cid`, if it exists and belongs to `uid`.
    fn container(&self, uid: u32, cid: &str) -> Result<Arc<ContainerEntry>, ProtocolError> {
        let containers = self.containers.read().unwrap_or_else(|e| e.into_inner());
        match containers.get(cid) {
            Some(e) if e.owner == uid => Ok(Arc::clone(e)),
            Some(_) => Err(ProtocolError::new(
                ErrorCode::Forbidden,
                format!("container {cid:?} belongs to another user"),
            )),
            None => Err(ProtocolError::new(
                ErrorCode::NotFound,
                format!("no container {cid:?}"),
            )),
        }
    }

    fn container_delete(&self, conn: &mut Connection, cid: &str) -> Result<Value, ProtocolError> {
        let entry = self.container(conn.uid, cid)?;
        self.containers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(cid);
        if let Some((entry, process)) = conn.rpc.remove(cid) {
            reap(&entry.container, &process);
        }
        // Runs still in progress (other connections) end now; their replies
        // still arrive. The writable layer goes with the last reference.
        let session = lock_session(&entry).take();
        if let Some(session) = session {
            session.close();
        }
        entry.container.stop_all();
        tracing::info!(%cid, "container deleted");
        Ok(json!({"cid": cid}))
    }

    fn container_list(&self, uid: u32) -> Value {
        let containers = self.containers.read().unwrap_or_else(|e| e.into_inner());
        let list: Vec<Value> = containers
            .iter()
            .filter(|(_, e)| e.owner == uid)
            .map(|(cid, e)| {
                let s = e.container.kernel.summary();
                json!({
                    "cid": cid,
                    "bundle": e.bundle,
                    "processes": s.processes,
                    "writable_bytes": s.writable_bytes,
                    "session": lock_session(e).as_ref().filter(|s| s.alive()).map(|s| session_json(cid, s, false)),
                    "created_unix": e.created.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
                })
            })
            .collect();
        json!({ "containers": list })
    }

    /// The plan's exec request: may `path` (with the client's hash) run? `Ok(Err)`
    /// is a denial's fields.
    fn exec_check(
        &self,
        uid: u32,
        e: &protocol::ExecCheck,
    ) -> Result<Result<Value, Value>, ProtocolError> {
        let claim = e.hash.as_deref().map(parse_hash).transpose()?;
        let (loaded, allowed, cid) = match &e.cid {
            Some(cid) => {
                let entry = self.container(uid, cid)?;
                let root = Arc::clone(entry.container.kernel.vfs().root());
                match entry.container.check_exec(&root, &e.path) {
                    Ok((allowed, _)) => (
                        Arc::clone(&entry.container.bundle),
                        allowed,
                        Some(cid.clone()),
                    ),
                    Err(err) => return self.exec_failure(err, &e.path, Some(cid)),
                }
            }
            None => {
                let Some((algo, hex)) = &claim else {
                    return Err(ProtocolError::new(
                        ErrorCode::MissingField,
                        "exec: `hash` is required without `cid`",
                    ));
                };
                let (_, loaded) = self.find_bundle(e.bundle.as_deref())?;
                let manifest = &loaded.bundle.manifest;
                let resolved = manifest.resolve(&e.path);
                let blake3 = match resolved {
                    Some((_, exe)) => exe.blake3.clone(),
                    None => None,
                };
                let path = resolved
                    .map(|(p, _)| p.to_string())
                    .unwrap_or(e.path.clone());
                let blake3 = match (algo.as_str(), blake3) {
                    ("blake3", _) => hex.clone(),
                    (_, Some(b)) => b,
                    (_, None) => String::new(),
                };
                let bytes =
                    recompiler_manifest::digest::parse_digest_hex(&blake3).unwrap_or([0; 32]);
                match loaded.gate.check(&path, &bytes) {
                    Ok(allowed) => (Arc::clone(&loaded), allowed, None),
                    Err(denied) => {
                        self.counters.denied.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(path = %e.path, hash = e.hash.as_deref().unwrap_or(""), reason = %denied, "exec denied");
                        return Ok(Err(denied_json(&denied, &e.path, None)));
                    }
                }
            }
        };
        let exe = loaded.bundle.manifest.lookup(&allowed.manifest_path);
        if let (Some((algo, hex)), Some(exe)) = (&claim, exe) {
            let signed = if algo == "sha256" {
                &exe.sha256
            } else {
                &exe.blake3
            };
            if signed.as_deref() != Some(hex.as_str()) {
                self.counters.denied.fetch_add(1, Ordering::Relaxed);
                let reason = format!(
                    "{}: the given {algo} does not match the signed manifest ({algo} {})",
                    e.path,
                    signed.as_deref().unwrap_or("none")
                );
                tracing::warn!(path = %e.path, hash = e.hash.as_deref().unwrap_or(""), %reason, "exec denied");
                let mut v = json!({"path": e.path, "reason": reason, "kind": "hash_mismatch"});
                if let Some(cid) = cid {
                    v["cid"] = json!(cid);
                }
                return Ok(Err(v));
            }
        }
        let mut v = json!({
            "path": e.path,
            "manifest_path": allowed.manifest_path,
            "entry_point": allowed.entry,
            "dispatch_id": recompiler_manifest::digest::format_dispatch_id(allowed.dispatch_id),
        });
        if let Some(cid) = cid {
            v["cid"] = json!(cid);
        }
        Ok(Ok(v))
    }

    /// A runtime failure of an exec: a denial's fields, or an error.
    fn exec_failure(
        &self,
        err: RuntimeError,
        path: &str,
        cid: Option<&str>,
    ) -> Result<Result<Value, Value>, ProtocolError> {
        match err {
            RuntimeError::Denied(denied) => {
                self.counters.denied.fetch_add(1, Ordering::Relaxed);
                Ok(Err(denied_json(&denied, path, cid)))
            }
            RuntimeError::Exec { path, errno } | RuntimeError::Spawn { path, errno } => {
                Err(errno_error(ErrorCode::Exec, &format!("exec {path}"), errno))
            }
            other => Err(ProtocolError::new(ErrorCode::Internal, other.to_string())),
        }
    }

    fn exec_request(
        &self,
        p: &protocol::Program,
        stdin: Vec<u8>,
        timeout_ms: Option<u64>,
        cap: Option<usize>,
    ) -> Result<ExecRequest, ProtocolError> {
        let argv = match &p.argv {
            Some(a) => a.clone(),
            None => vec![p.path.rsplit('/').next().unwrap_or(&p.path).to_string()],
        };
        Ok(ExecRequest {
            path: p.path.clone(),
            argv,
            env: p.env.pairs()?,
            cwd: p.cwd.clone(),
            stdin,
            timeout: timeout_ms
                .map(Duration::from_millis)
                .or(self.config.default_timeout),
            output_cap: cap,
        })
    }

    fn count_end(&self, end: &RunEnd) {
        let c = &self.counters;
        c.execs.fetch_add(1, Ordering::Relaxed);
        match end {
            RunEnd::Trapped(_) => c.trapped.fetch_add(1, Ordering::Relaxed),
            RunEnd::TimedOut => c.timed_out.fetch_add(1, Ordering::Relaxed),
            RunEnd::Killed(_) => c.killed.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }

    fn run(&self, uid: u32, r: &protocol::Run) -> Result<Result<Value, Value>, ProtocolError> {
        let entry = self.container(uid, &r.cid)?;
        let program = protocol::Program {
            path: r.path.clone(),
            argv: r.argv.clone(),
            env: r.env.clone(),
            cwd: r.cwd.clone(),
        };
        let stdin = protocol::stdin_bytes(&r.stdin, &r.stdin_text)?;
        let req = self.exec_request(&program, stdin, r.timeout_ms, r.output_cap)?;
        let started = Instant::now();
        match entry.container.run(&req) {
            Ok(out) => {
                self.count_end(&out.end);
                let mut v = output_json(&out, started.elapsed());
                v["cid"] = json!(r.cid);
                Ok(Ok(v))
            }
            Err(err) => self.exec_failure(err, &r.path, Some(&r.cid)),
        }
    }

    /// Starts the session of `o.cid` as `o` says (see [`protocol::IfExists`]).
    fn session_open(&self, uid: u32, o: &protocol::SessionOpen) -> Result<Value, ProtocolError> {
        let entry = self.container(uid, &o.cid)?;
        let spec = SessionSpec {
            shell: o
                .shell
                .clone()
                .unwrap_or_else(|| session::DEFAULT_SHELL.into()),
            env: o.env.pairs()?,
            cwd: o.cwd.clone(),
            output_cap: o.output_cap.unwrap_or(crate::container::DEFAULT_OUTPUT_CAP),
        };
        let mut slot = lock_session(&entry);
        if let Some(s) = slot.as_ref().filter(|s| s.alive()) {
            match o.if_exists {
                protocol::IfExists::Error => {
                    return Err(ProtocolError::new(
                        ErrorCode::Busy,
                        format!(
                            "container {:?} has a session (shell pid {}); give \"if_exists\": \"keep\" or \"replace\"",
                            o.cid,
                            s.pid()
                        ),
                    ));
                }
                protocol::IfExists::Keep => {
                    return Ok(session_json(&o.cid, s, false));
                }
                protocol::IfExists::Replace => {}
            }
        }
        if let Some(old) = slot.take() {
            old.close();
        }
        let session = self.start_session(&entry, &spec)?;
        let reply = session_json(&o.cid, &session, true);
        *slot = Some(session);
        Ok(reply)
    }

    fn start_session(
        &self,
        entry: &ContainerEntry,
        spec: &SessionSpec,
    ) -> Result<Arc<Session>, ProtocolError> {
        match Session::start(Arc::clone(&entry.container), spec) {
            Ok(s) => {
                tracing::info!(cid = %entry.container.id, pid = s.pid(), shell = %spec.shell, "session started");
                Ok(Arc::new(s))
            }
            Err(SessionError::Start(RuntimeError::Denied(d))) => {
                self.counters.denied.fetch_add(1, Ordering::Relaxed);
                Err(ProtocolError::new(
                    ErrorCode::Exec,
                    format!("the session's shell {}: exec denied: {d}", spec.shell),
                ))
            }
            Err(e) => Err(ProtocolError::new(ErrorCode::Exec, e.to_string())),
        }
    }

    /// One command in the session of `r.cid`, opening one with the defaults if needed.
    fn session_run(&self, uid: u32, r: &protocol::SessionRun) -> Result<Value, ProtocolError> {
        let entry = self.container(uid, &r.cid)?;
        let stdin = protocol::stdin_bytes(&r.stdin, &r.stdin_text)?;
        let session = {
            let mut slot = lock_session(&entry);
            match slot.as_ref() {
                Some(s) if s.alive() => Arc::clone(s),
                _ => {
                    let s = self.start_session(&entry, &SessionSpec::default())?;
                    *slot = Some(Arc::clone(&s));
                    s
                }
            }
        };
        let timeout = r
            .timeout_ms
            .map(Duration::from_millis)
            .or(self.config.default_timeout);
        let out = session
            .run(&r.command, &stdin, timeout)
            .map_err(|e| match e {
                SessionError::Ended(_) => ProtocolError::new(ErrorCode::NotFound, e.to_string()),
                SessionError::NulInCommand => {
                    ProtocolError::new(ErrorCode::BadRequest, e.to_string())
                }
                e => ProtocolError::new(ErrorCode::Internal, e.to_string()),
            })?;
        let c = &self.counters;
        c.execs.fetch_add(1, Ordering::Relaxed);
        if out.timed_out {
            c.timed_out.fetch_add(1, Ordering::Relaxed);
        }
        if out.session_ended {
            let mut slot = lock_session(&entry);
            if slot.as_ref().is_some_and(|s| Arc::ptr_eq(s, &session)) {
                slot.take();
            }
        }
        Ok(json!({
            "cid": r.cid,
            "exit_code": out.exit_code,
            "stdout": encode_base64(&out.stdout),
            "stderr": encode_base64(&out.stderr),
            "stdout_truncated": out.stdout_truncated,
            "stderr_truncated": out.stderr_truncated,
            "timed_out": out.timed_out,
            "session_ended": out.session_ended,
            "duration_ms": out.duration.as_secs_f64() * 1e3,
        }))
    }

    /// Ends the session of `cid`.
    fn session_close(&self, uid: u32, cid: &str) -> Result<Value, ProtocolError> {
        let entry = self.container(uid, cid)?;
        let session = lock_session(&entry).take().ok_or_else(|| {
            ProtocolError::new(
                ErrorCode::NotFound,
                format!("container {cid:?} has no session"),
            )
        })?;
        let code = session.close();
        Ok(json!({"cid": cid, "exit_code": code, "commands": session.commands_run()}))
    }

    fn pipeline(
        &self,
        uid: u32,
        p: &protocol::Pipeline,
    ) -> Result<Result<Value, Value>, ProtocolError> {
        let entry = self.container(uid, &p.cid)?;
        let stdin = protocol::stdin_bytes(&p.stdin, &p.stdin_text)?;
        let mut stages = Vec::with_capacity(p.stages.len());
        for (i, stage) in p.stages.iter().enumerate() {
            let input = if i == 0 { stdin.clone() } else { Vec::new() };
            stages.push(self.exec_request(stage, input, p.timeout_ms, p.output_cap)?);
        }
        let started = Instant::now();
        match entry.container.run_pipeline(&stages) {
            Ok(outs) => {
                let total = started.elapsed();
                let mut list = Vec::new();
                for (out, stage) in outs.iter().zip(&p.stages) {
                    self.count_end(&out.end);
                    list.push(json!({
                        "path": stage.path,
                        "pid": out.pid,
                        "exit_code": out.exit_code(),
                        "end": end_json(&out.end),
                        "stderr": encode_base64(&out.stderr),
                        "stderr_truncated": out.stderr_truncated,
                    }));
                }
                let last = outs.last();
                Ok(Ok(json!({
                    "cid": p.cid,
                    "exit_code": last.map(ExecOutput::exit_code),
                    "stdout": encode_base64(last.map(|o| &o.stdout[..]).unwrap_or_default()),
                    "stdout_truncated": last.is_some_and(|o| o.stdout_truncated),
                    "stages": list,
                    "timings": {"total_us": total.as_micros() as u64},
                })))
            }
            Err(err) => {
                let path = match &err {
                    RuntimeError::Denied(d) => denied_path(d),
                    _ => p.stages[0].path.clone(),
                };
                self.exec_failure(err, &path, Some(&p.cid))
            }
        }
    }

    /// The streaming form of `run`: events now, the reply when the process ends.
    fn run_stream(
        self: &Arc<Self>,
        conn: &mut Connection,
        id: &Option<Value>,
        r: protocol::Run,
    ) -> Result<(), ProtocolError> {
        let entry = self.container(conn.uid, &r.cid)?;
        let program = protocol::Program {
            path: r.path.clone(),
            argv: r.argv.clone(),
            env: r.env.clone(),
            cwd: r.cwd.clone(),
        };
        let initial = protocol::stdin_bytes(&r.stdin, &r.stdin_text)?;
        let req = self.exec_request(&program, Vec::new(), r.timeout_ms, None)?;
        let (stdin_file, feed) = if r.stdin_open {
            let feed = FeedStream::new();
            feed.push(&initial);
            (
                FileDescription::host(Arc::clone(&feed) as Arc<dyn HostStream>, OFlags::RDONLY),
                Some(feed),
            )
        } else {
            (
                FileDescription::host(BytesStream::new(initial), OFlags::RDONLY),
                None,
            )
        };
        let cap = r.output_cap.unwrap_or(crate::container::DEFAULT_OUTPUT_CAP);
        let output = |name: &'static str| {
            FileDescription::host(
                Arc::new(EventStream {
                    out: Arc::clone(&conn.out),
                    id: id.clone(),
                    name,
                    left: AtomicUsize::new(cap),
                }) as Arc<dyn HostStream>,
                OFlags::WRONLY,
            )
        };
        let stdio = [stdin_file, output("stdout"), output("stderr")];
        let pid = Arc::new(Mutex::new(None));
        let done = Arc::new(AtomicBool::new(false));
        let thread = {
            let (daemon, entry, out, id) = (
                Arc::clone(self),
                Arc::clone(&entry),
                Arc::clone(&conn.out),
                id.clone(),
            );
            let (pid, done) = (Arc::clone(&pid), Arc::clone(&done));
            std::thread::Builder::new()
                .name(format!("run {}", r.cid))
                .spawn(move || {
                    let started = Instant::now();
                    let send = |bytes: Vec<u8>| {
                        let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
                        let _ = out.write_all(&bytes).and_then(|()| out.flush());
                    };
                    let result = entry.container.run_with_stdio(&req, stdio, |p| {
                        *pid.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
                        send(event(&id, "started", json!({"pid": p})));
                    });
                    // Mark done before the reply so the next request on this
                    // connection is never refused as busy.
                    done.store(true, Ordering::SeqCst);
                    match result {
                        Ok(out) => {
                            daemon.count_end(&out.end);
                            let mut v = output_json(&out, started.elapsed());
                            v["cid"] = json!(r.cid);
                            if let Some(o) = v.as_object_mut() {
                                o.remove("stdout");
                                o.remove("stderr");
                            }
                            send(reply(&id, "ok", v));
                        }
                        Err(err) => match daemon.exec_failure(err, &r.path, Some(&r.cid)) {
                            Ok(Err(denied)) => send(reply(&id, "denied", denied)),
                            Ok(Ok(v)) => send(reply(&id, "ok", v)),
                            Err(e) => {
                                daemon.counters.errors.fetch_add(1, Ordering::Relaxed);
                                send(error_reply(&id, &e))
                            }
                        },
                    }
                })
                .map_err(|e| {
                    ProtocolError::new(ErrorCode::Internal, format!("starting a thread: {e}"))
                })?
        };
        conn.stream = Some(StreamRun {
            entry,
            pid,
            stdin: feed,
            done,
            thread,
        });
        Ok(())
    }

    fn stdin(&self, conn: &mut Connection, s: &protocol::Stdin) -> Result<Value, ProtocolError> {
        let feed = match &conn.stream {
            Some(run) if !run.done.load(Ordering::SeqCst) => {
                run.stdin.as_ref().ok_or_else(|| {
                    ProtocolError::new(
                        ErrorCode::BadRequest,
                        "the running process's stdin is not open (`stdin_open` was not set)",
                    )
                })?
            }
            _ => {
                return Err(ProtocolError::new(
                    ErrorCode::BadRequest,
                    "no streaming run in progress on this connection",
                ));
            }
        };
        let data = match (&s.data, &s.text) {
            (Some(_), Some(_)) => {
                return Err(ProtocolError::new(
                    ErrorCode::BadRequest,
                    "stdin: give `data` or `text`, not both",
                ));
            }
            (Some(d), None) => protocol::decode_base64("data", d)?,
            (None, Some(t)) => t.clone().into_bytes(),
            (None, None) => Vec::new(),
        };
        feed.push(&data);
        if s.eof {
            feed.close();
        }
        Ok(json!({"written": data.len()}))
    }

    fn kill(&self, conn: &mut Connection) -> Result<Value, ProtocolError> {
        match &conn.stream {
            Some(run) if !run.done.load(Ordering::SeqCst) => {
                let pid = *run.pid.lock().unwrap_or_else(|e| e.into_inner());
                let killed = pid.is_some_and(|p| run.entry.container.kill(p));
                if let Some(stdin) = &run.stdin {
                    stdin.close();
                }
                Ok(json!({"killed": killed, "pid": pid}))
            }
            _ => Err(ProtocolError::new(
                ErrorCode::BadRequest,
                "no streaming run in progress on this connection",
            )),
        }
    }

    fn syscall(
        &self,
        conn: &mut Connection,
        s: &protocol::Syscall,
    ) -> Result<Value, ProtocolError> {
        let entry = self.container(conn.uid, &s.cid)?;
        let process = match conn.rpc.get(&s.cid) {
            // A container deleted and made again under the same name is a new one.
            Some((e, p)) if Arc::ptr_eq(e, &entry) => Arc::clone(p),
            _ => {
                let p = syscall::rpc_process(&entry.container.kernel)
                    .map_err(|e| errno_error(ErrorCode::Errno, "creating the RPC process", e))?;
                if let Some((old, process)) = conn
                    .rpc
                    .insert(s.cid.clone(), (Arc::clone(&entry), Arc::clone(&p)))
                {
                    reap(&old.container, &process);
                }
                p
            }
        };
        match syscall::call(&entry.container.kernel, &process, &s.name, &s.args) {
            Ok(v) => Ok(v),
            Err(syscall::CallError::Errno(e)) => Err(errno_error(ErrorCode::Errno, &s.name, e)),
            Err(syscall::CallError::Request(e)) => Err(e),
        }
    }
}

/// An error carrying a Linux errno: `{"code":..,"message":..}` plus `errno` and `errno_num`,
/// spelled into the message as `name: ENOENT (no such file or directory)`.
fn errno_error(code: ErrorCode, what: &str, errno: Errno) -> ProtocolError {
    ProtocolError::new(
        code,
        format!("{what}: {} ({})", errno.name(), errno.description()),
    )
}

/// Parses `sha256:<hex>` / `blake3:<hex>` into (algorithm, lower-case hex).
fn parse_hash(s: &str) -> Result<(String, String), ProtocolError> {
    let bad = || {
        ProtocolError::new(
            ErrorCode::BadRequest,
            format!("hash {s:?}: expected sha256:<64 hex digits> or blake3:<64 hex digits>"),
        )
    };
    let (algo, hex) = s.split_once(':').ok_or_else(bad)?;
    if !matches!(algo, "sha256" | "blake3") {
        return Err(bad());
    }
    let hex = hex.to_ascii_lowercase();
    if !recompiler_manifest::digest::is_digest_hex(&hex) {
        return Err(bad());
    }
    Ok((algo.to_string(), hex))
}

fn check_cid(cid: &str) -> Result<(), ProtocolError> {
    let ok = !cid.is_empty()
        && cid.len() <= 128
        && cid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ProtocolError::new(
            ErrorCode::BadRequest,
            format!("container id {cid:?}: use 1 to 128 of [A-Za-z0-9._-]"),
        ))
    }
}

fn bundle_json(id: &str, loaded: &LoadedBundle) -> Value {
    let m = &loaded.bundle.manifest;
    let programs: Vec<&String> = m
        .executables
        .iter()
        .filter(|(_, e)| e.is_dispatchable())
        .map(|(p, _)| p)
        .collect();
    json!({
        "bundle": id,
        "dir": loaded.dir().display().to_string(),
        "image": m.image.reference,
        "key_id": loaded.bundle.key_id,
        "megabinary_blake3": loaded.bundle.megabinary_blake3,
        "code": match loaded.compile { CompileSource::Compiled => "compiled", CompileSource::Cache => "cached" },
        "programs": programs,
    })
}

fn denied_path(d: &Denied) -> String {
    match d {
        Denied::NotListed { path, .. }
        | Denied::HashMismatch { path, .. }
        | Denied::NotRunnable { path, .. } => path.clone(),
    }
}

fn denied_json(d: &Denied, path: &str, cid: Option<&str>) -> Value {
    let kind = match d {
        Denied::NotListed { .. } => "not_listed",
        Denied::HashMismatch { .. } => "hash_mismatch",
        Denied::NotRunnable { .. } => "not_runnable",
    };
    let mut v =
        json!({"path": path, "resolved": denied_path(d), "reason": d.to_string(), "kind": kind});
    if let Some(cid) = cid {
        v["cid"] = json!(cid);
    }
    v
}

fn end_json(end: &RunEnd) -> Value {
    match end {
        RunEnd::Exited(code) => json!({"kind": "exited", "code": code}),
        RunEnd::Trapped(msg) => json!({"kind": "trapped", "message": msg}),
        RunEnd::TimedOut => json!({"kind": "timed_out"}),
        RunEnd::Killed(why) => json!({"kind": "killed", "message": why}),
        RunEnd::DispatchRefused(code) => json!({"kind": "dispatch_refused", "code": code}),
        RunEnd::StartFailed(why) => json!({"kind": "start_failed", "message": why}),
    }
}

fn output_json(out: &ExecOutput, total: Duration) -> Value {
    json!({
        "pid": out.pid,
        "path": out.allowed.manifest_path,
        "exit_code": out.exit_code(),
        "end": end_json(&out.end),
        "stdout": encode_base64(&out.stdout),
        "stderr": encode_base64(&out.stderr),
        "stdout_truncated": out.stdout_truncated,
        "stderr_truncated": out.stderr_truncated,
        "timings": {
            "instantiate_us": out.instantiate.as_micros() as u64,
            "run_us": out.run.as_micros() as u64,
            "total_us": total.as_micros() as u64,
        },
    })
}

fn lock_session(entry: &ContainerEntry) -> std::sync::MutexGuard<'_, Option<Arc<Session>>> {
    entry.session.lock().unwrap_or_else(|e| e.into_inner())
}

fn session_json(cid: &str, s: &Session, started: bool) -> Value {
    json!({"cid": cid, "pid": s.pid(), "started": started, "commands": s.commands_run(),
        "age_ms": s.age().as_millis() as u64})
}

/// Exits and reaps an RPC process.
fn reap(container: &Container, process: &Arc<Process>) {
    let processes = container.kernel.processes();
    let _ = processes.exit(process.pid(), crate::kernel::ExitStatus::from_code(0));
    let _ = processes.wait(
        HOST_PID,
        WaitFor::Pid(process.pid()),
        true,
        &Interrupt::new(),
    );
}

/// A process's resident memory in bytes and its thread count, from
/// `/proc/<pid>/status` (`"self"` for this process); `None` for a field that
/// cannot be read. The daemon reports its own in `stats`; the benchmarks read a
/// daemon child's.
pub fn process_memory(pid: &str) -> (Option<u64>, Option<u64>) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    };
    (field("VmRSS:").map(|kb| kb * 1024), field("Threads:"))
}

/// The daemon process's resident memory, threads and open fds (Linux `/proc`).
pub fn host_stats() -> Value {
    let (rss_bytes, threads) = process_memory("self");
    let fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count()).ok();
    json!({
        "rss_bytes": rss_bytes,
        "threads": threads,
        "fds": fds,
    })
}

/// A stream whose writes become `stdout`/`stderr` events on the connection.
struct EventStream {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
    id: Option<Value>,
    name: &'static str,
    /// Bytes still sent before output is dropped (the output cap).
    left: AtomicUsize,
}

impl HostStream for EventStream {
    fn write(&self, buf: &[u8], _intr: &Interrupt) -> KResult<usize> {
        let left = self.left.load(Ordering::Relaxed);
        let take = buf.len().min(left);
        if take > 0 {
            self.left.store(left - take, Ordering::Relaxed);
            let line = event(
                &self.id,
                self.name,
                json!({"data": encode_base64(&buf[..take])}),
            );
            let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
            out.write_all(&line)
                .and_then(|()| out.flush())
                .map_err(|_| Errno::EPIPE)?;
        }
        // Past the cap, output is taken and dropped, as a capture would.
        Ok(buf.len())
    }

    fn readiness(&self) -> Readiness {
        Readiness {
            readable: false,
            writable: true,
            ..Readiness::default()
        }
    }
}

/// Binds the daemon's socket at `path` with `mode`: made under a temporary name,
/// chmod-ed, then renamed into place. A stale socket (nobody listening) is
/// replaced; a live one is an error.
pub fn bind(path: &Path, mode: u32) -> std::io::Result<UnixListener> {
    if path.exists() {
        match UnixStream::connect(path) {
            Ok(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    format!("{}: a daemon is already listening there", path.display()),
                ));
            }
            Err(_) => {
                let meta = std::fs::symlink_metadata(path)?;
                use std::os::unix::fs::FileTypeExt;
                if !meta.file_type().is_socket() {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        format!("{}: exists and is not a socket", path.display()),
                    ));
                }
                std::fs::remove_file(path)?;
            }
        }
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    // The temporary name is only ever reachable with the final mode's subset:
    // it is created inside `dir`, then chmod-ed before the rename publishes it.
    let listener = UnixListener::bind(&tmp)?;
    let publish = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = publish {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(listener)
}

/// Accepts connections until `stop` is set (checked between connections).
pub fn serve(daemon: Arc<Daemon>, listener: UnixListener, stop: Arc<AtomicBool>) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("accept: {e}");
                // EMFILE and friends: back off instead of spinning.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let daemon = Arc::clone(&daemon);
        let spawned = std::thread::Builder::new()
            .name("vkernel-conn".into())
            .spawn(move || connection(daemon, stream));
        if let Err(e) = spawned {
            tracing::warn!("cannot start a connection thread: {e}");
        }
    }
}

/// One connection, to its end.
fn connection(daemon: Arc<Daemon>, stream: UnixStream) {
    let uid = match rustix::net::sockopt::socket_peercred(&stream) {
        Ok(cred) => cred.uid.as_raw(),
        Err(e) => {
            tracing::warn!("SO_PEERCRED: {e}");
            return;
        }
    };
    let Ok(out) = stream.try_clone() else { return };
    let mut conn = Connection::new(uid, Box::new(out));
    if !daemon.config.allow_uids.contains(&uid) {
        tracing::warn!(uid, "connection refused: uid not allowed");
        conn.send(&error_reply(
            &None,
            &ProtocolError::new(
                ErrorCode::Forbidden,
                format!("uid {uid} may not use this daemon"),
            ),
        ));
        return;
    }
    let c = &daemon.counters;
    let open = c.connections_open.fetch_add(1, Ordering::SeqCst) + 1;
    c.connections_total.fetch_add(1, Ordering::Relaxed);
    if open > daemon.config.max_connections {
        conn.send(&error_reply(
            &None,
            &ProtocolError::new(ErrorCode::Busy, "too many connections"),
        ));
    } else {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            match read_line(&mut reader, &mut line, protocol::MAX_REQUEST_BYTES) {
                Ok(Line::Eof) | Err(_) => break,
                Ok(Line::TooLong(n)) => daemon.fail(
                    &conn,
                    &None,
                    ProtocolError::new(
                        ErrorCode::TooLarge,
                        format!(
                            "request of more than {n} bytes; the limit is {}",
                            protocol::MAX_REQUEST_BYTES
                        ),
                    ),
                ),
                Ok(Line::Line) => {
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    match protocol::parse_request(&line) {
                        Ok(envelope) => daemon.handle(&mut conn, envelope),
                        Err((id, e)) => daemon.fail(&conn, &id, e),
                    }
                }
            }
        }
    }
    daemon.disconnect(&mut conn);
    c.connections_open.fetch_sub(1, Ordering::SeqCst);
}

/// What [`read_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line is in the buffer (without its newline).
    Line,
    /// A line longer than the limit was skipped (this many bytes, at least).
    TooLong(usize),
    Eof,
}

/// Reads one `\n`-terminated line of at most `max` bytes into `buf`. A longer
/// line is read to its end and dropped, so the next line is read correctly.
pub fn read_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    buf.clear();
    let mut skipped = 0usize;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(if skipped > 0 {
                Line::TooLong(skipped)
            } else if buf.is_empty() {
                Line::Eof
            } else {
                Line::Line
            });
        }
        let (take, end) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        if skipped > 0 || buf.len() + take > max {
            skipped += buf.len() + take;
            buf.clear();
        } else {
            buf.extend_from_slice(&chunk[..take]);
        }
        reader.consume(take + usize::from(end));
        if end {
            return Ok(if skipped > 0 {
                Line::TooLong(skipped)
            } else {
                Line::Line
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_skipped_and_the_next_one_read() {
        let data = b"short\nthis one is far too long\nok\n";
        let mut r = BufReader::with_capacity(4, &data[..]);
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut r, &mut buf, 10).unwrap(), Line::Line);
        assert_eq!(buf, b"short");
        assert!(matches!(read_line(&mut r, &mut buf, 10).unwrap(), Line::TooLong(n) if n >= 24));
        assert_eq!(read_line(&mut r, &mut buf, 10).unwrap(), Line::Line);
        assert_eq!(buf, b"ok");
        assert_eq!(read_line(&mut r, &mut buf, 10).unwrap(), Line::Eof);
        let mut r = BufReader::new(&b"tail"[..]);
        assert_eq!(read_line(&mut r, &mut buf, 10).unwrap(), Line::Line);
        assert_eq!(buf, b"tail");
    }

    #[test]
    fn hashes_and_cids_are_checked() {
        let hex = "ab".repeat(32);
        assert_eq!(parse_hash(&format!("sha256:{hex}")).unwrap().0, "sha256");
        assert_eq!(
            parse_hash(&format!("blake3:{}", hex.to_uppercase()))
                .unwrap()
                .1,
            hex
        );
        assert!(parse_hash("md5:00").is_err());
        assert!(parse_hash("sha256:xyz").is_err());
        assert!(parse_hash(&hex).is_err());
        assert!(check_cid("container-123").is_ok());
        assert!(check_cid("../x").is_err());
        assert!(check_cid("").is_err());
    }
}
