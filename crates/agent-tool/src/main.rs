//! `agent-tool`: the file operations a coding agent calls most (read,
//! search, edit, write, apply, tree), JSON in and JSON out, for
//! wasm32-wasip1 and natively. See docs/agent-tool.md.
//!
//! This file only parses the command line, runs one subcommand and prints
//! its result; the subcommands live in [`ops`]. Start-up does nothing but
//! parse argv: no global state, no regex or glob compiled unless `search`
//! runs, since the tool is started anew for every call.

mod cli;
mod error;
mod fsutil;
mod ops;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser as _;
use clap::error::ErrorKind;
use serde::Serialize;

use cli::{Cli, Command};
use error::{ErrorCode, ToolError};
use ops::Report;

fn main() -> ExitCode {
    if is_version_probe() {
        println!("agent-tool {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    enter_pwd();
    let mut stdout = io::stdout().lock();
    let code = run(cli.command, cli.text, &mut io::stdin().lock(), &mut stdout);
    // A closed stdout (`| head`) is not worth a panic; the exit code stands.
    let _ = stdout.flush();
    ExitCode::from(code)
}

/// Under WASI, moves to `$PWD`: wasi-libc starts every program in `/` (preview1
/// has no way to pass a working directory), so the vkernel tells a program
/// started elsewhere its directory in PWD, as a shell would, and relative paths
/// then mean what the caller meant. Natively the process already is where it
/// was started, and PWD may be stale: it is left alone.
fn enter_pwd() {
    if cfg!(target_os = "wasi")
        && let Some(pwd) =
            std::env::var_os("PWD").filter(|p| p.as_encoded_bytes().starts_with(b"/"))
    {
        // A PWD that does not exist leaves us in `/`: paths then fail by name.
        let _ = std::env::set_current_dir(pwd);
    }
}

/// Whether argv is exactly `--version` (or `-V`).
///
/// Answered before clap, which first builds its whole command tree: under
/// wasmtime that is over a third of this probe's run (benches/startup.rs:
/// 33 us on this path, 54 us through clap), and the probe is what callers
/// run to check that the tool is there. Any other spelling
/// (`--text --version`) goes through clap, which prints the same line.
fn is_version_probe() -> bool {
    let mut args = std::env::args_os().skip(1);
    args.next().is_some_and(|a| a == "--version" || a == "-V") && args.next().is_none()
}

/// `--help` and `--version` print and exit 0; in JSON mode any other argv
/// error is `{"ok":false,"error":{"code":"usage",...}}` on stdout, exit 2.
fn usage_error(e: &clap::Error) -> ExitCode {
    let text_mode = std::env::args().skip(1).any(|a| a == "--text" || a == "-t");
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) || text_mode {
        // Prints to stdout or stderr as clap decides.
        let _ = e.print();
        return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
    }
    let message = e.render().to_string();
    let err = ToolError::new(ErrorCode::Usage, message.trim_end());
    let mut stdout = io::stdout().lock();
    let _ = print_json(&mut stdout, &Failure::from(&err));
    ExitCode::from(2)
}

/// Runs `command` and prints its report; returns the exit code.
fn run(command: Command, text: bool, stdin: &mut dyn io::Read, out: &mut dyn Write) -> u8 {
    let result = match command {
        Command::Call => read_request(stdin).and_then(|c| match c {
            Command::Write(w) if w.content.is_none() => {
                Err(ToolError::bad_request("a write request needs `content`"))
            }
            c => dispatch(c, text, &mut io::empty(), out),
        }),
        c => dispatch(c, text, stdin, out),
    };
    match result {
        Ok(()) => 0,
        Err(err) => {
            if text {
                eprintln!("agent-tool: {}: {}", code_name(err.code), err.message);
            } else {
                let _ = print_json(out, &Failure::from(&err));
            }
            u8::try_from(err.exit_code()).unwrap_or(1)
        }
    }
}

fn dispatch(
    command: Command,
    text: bool,
    stdin: &mut dyn io::Read,
    out: &mut dyn Write,
) -> Result<(), ToolError> {
    match command {
        Command::Read(a) => emit(out, text, ops::read::run(&a)?),
        Command::Search(a) => emit(out, text, ops::search::run(&a)?),
        Command::Edit(a) => emit(out, text, ops::edit::run(&a)?),
        Command::Write(a) => emit(out, text, ops::write::run(&a, stdin)?),
        Command::Apply(a) => {
            let diff = match &a.patch {
                Some(p) => p.clone().into_bytes(),
                None => fsutil::read_stdin(stdin)?,
            };
            emit(out, text, ops::apply::run(&a, &diff)?)
        }
        Command::Tree(a) => emit(out, text, ops::tree::run(&a)?),
        Command::Call => Err(ToolError::bad_request("a request cannot be `call`")),
    }
}

fn read_request(stdin: &mut dyn io::Read) -> Result<Command, ToolError> {
    let bytes = fsutil::read_stdin(stdin)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ToolError::bad_request(format!("bad JSON request: {e}")))
}

/// Prints a report: `{"ok":true,...fields}` or its text form.
fn emit<R: Report>(out: &mut dyn Write, text: bool, report: R) -> Result<(), ToolError> {
    let written = if text {
        report.write_text(out)
    } else {
        print_json(out, &Success { ok: true, report })
    };
    // The work is done; failing to print it (a closed pipe) changes nothing.
    let _ = written;
    Ok(())
}

#[derive(Serialize)]
struct Success<R: Serialize> {
    ok: bool,
    #[serde(flatten)]
    report: R,
}

#[derive(Serialize)]
struct Failure<'a> {
    ok: bool,
    error: &'a ToolError,
}

impl<'a> From<&'a ToolError> for Failure<'a> {
    fn from(error: &'a ToolError) -> Self {
        Self { ok: false, error }
    }
}

fn print_json(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
