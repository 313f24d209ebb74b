//! `vkernel`: the command line. Argument parsing only; see the library.
//!
//! Built so far: the embedded mode, `vkernel run --bundle DIR -- /bin/tool args`,
//! which verifies the bundle, compiles it (or loads its cached code), creates a
//! container and runs one program through the exec gate, without a daemon.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use recompiler_vkernel::container::{Container, ExecRequest, Runtime, RuntimeError};
use recompiler_vkernel::engine::{EngineLimits, RunEnd};
use recompiler_vkernel::gate::CopyPolicy;
use recompiler_vkernel::kernel::Limits;

/// The vkernel: runs the programs of a signed megabinary bundle behind a hash-gated exec.
#[derive(Parser, Debug)]
#[command(name = "vkernel", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one program of a bundle in a fresh container, without a daemon.
    Run {
        /// The bundle directory (container.wasm, mapping.json, mapping.json.sig, rootfs.tar).
        #[arg(long, value_name = "DIR")]
        bundle: PathBuf,
        /// A trusted public key (from `recompiler-build keygen`); repeatable.
        #[arg(long = "trust", value_name = "KEY.pub", required = true)]
        trust: Vec<PathBuf>,
        /// Where compiled code is cached [default: $XDG_CACHE_HOME/recompiler or ~/.cache/recompiler].
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
        /// Working directory inside the container.
        #[arg(long, value_name = "PATH")]
        cwd: Option<String>,
        /// Environment variable for the program (NAME=VALUE); repeatable.
        #[arg(long = "env", short = 'e', value_name = "NAME=VALUE")]
        env: Vec<String>,
        /// Wall-clock limit in seconds.
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<f64>,
        /// Let a listed program's bytes run from an unlisted path (copies).
        #[arg(long)]
        allow_copies: bool,
        /// Print timings and the gate's decision to stderr.
        #[arg(long, short)]
        verbose: bool,
        /// The program's path in the container, then its arguments.
        #[arg(required = true, last = true, value_name = "PATH [ARGS]...")]
        command: Vec<String>,
    },
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

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Run {
            bundle,
            trust,
            state,
            cwd,
            env,
            timeout,
            allow_copies,
            verbose,
            command,
        } => {
            let keys = trust
                .iter()
                .map(|k| {
                    recompiler_vkernel::bundle::load_trusted_key(k)
                        .with_context(|| format!("--trust {}", k.display()))
                })
                .collect::<Result<Vec<_>>>()?;
            let state = state.unwrap_or_else(default_state);
            let runtime = Runtime::new(&state, EngineLimits::default(), false)
                .with_context(|| format!("state directory {}", state.display()))?;
            let policy = if allow_copies {
                CopyPolicy::KnownContent
            } else {
                CopyPolicy::ExactPath
            };
            let loaded = runtime.load_bundle(&bundle, &keys, policy)?;
            let container = Container::new("embedded", loaded, Limits::default());
            let mut envs = Vec::new();
            for e in &env {
                let Some((k, v)) = e.split_once('=') else {
                    bail!("--env {e}: expected NAME=VALUE")
                };
                envs.push((k.to_string(), v.to_string()));
            }
            let mut stdin = Vec::new();
            if !std::io::stdin().is_terminal() {
                std::io::stdin()
                    .read_to_end(&mut stdin)
                    .context("reading stdin")?;
            }
            let path = command[0].clone();
            let argv0 = path.rsplit('/').next().unwrap_or(&path).to_string();
            let argv = std::iter::once(argv0)
                .chain(command[1..].iter().cloned())
                .collect();
            let req = ExecRequest {
                path,
                argv,
                env: envs,
                cwd,
                stdin,
                timeout: timeout.map(Duration::from_secs_f64),
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
            if verbose {
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
                RunEnd::StartFailed(why) => {
                    eprintln!("vkernel: the program could not start: {why}")
                }
                RunEnd::DispatchRefused(code) => eprintln!("vkernel: _dispatch refused ({code})"),
                RunEnd::Exited(_) => {}
            }
            Ok(out.exit_code())
        }
    }
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
