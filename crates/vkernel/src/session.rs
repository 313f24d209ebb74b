//! Shell sessions: one long-lived shell (bash) in a container that takes commands one
//! at a time and answers each with its stdout, stderr and exit status, keeping the
//! working directory, the environment and shell variables from one command to the next
//! — what agent frameworks call a terminal tool.
//!
//! The shell is an ordinary process of the container, started through the exec gate:
//! `bash --noprofile --norc --noediting -i`. Interactive, so that an interrupt (SIGINT)
//! abandons the command that runs and brings the shell back to its prompt, as ^C does
//! in a terminal; without a terminal, job control stays off, and every process the
//! shell starts is in the shell's process group. Its fds:
//!
//! - 0: the command channel ([`FeedStream`]): one line per command, written by
//!   [`Session::run`], `eval $'<the command, quoted>' <&IN >&OUT 2>&ERR`;
//! - IN, OUT, ERR (the four highest fds the container's limit allows, at most
//!   240..=243): installed afresh for each command, close-on-exec, so that only the
//!   command's own fds 0, 1 and 2 name them: its stdin (the bytes given, then end of
//!   file) and two captures;
//! - STATUS: `PROMPT_COMMAND` writes `$?` there before each prompt: the command is over,
//!   with that status, and the shell waits for the next one;
//! - 1 and 2: the shell's own output outside commands (its start-up notices, the
//!   `exit` it prints), kept in a small log.
//!
//! A command that outlives its time limit gets what ^C gives in a terminal: SIGINT to
//! the shell's process group (the shell abandons the command; a background job, which
//! ignores SIGINT, keeps running). If the shell has not come back a second later, the
//! processes the command started are killed with SIGKILL and the shell is interrupted
//! again; a shell that still does not come back is ended and the session with it.
//! Processes the command left running (in the shell's group, started during the
//! command) are killed once the shell is back: the command's process tree ends, the
//! session goes on.
//!
//! What a command writes after it ended (a background job's output) is dropped.
//! The reserved fds, `PROMPT_COMMAND`, `PS1`/`PS2`/`PS0` and fd 0 belong to the
//! session: a command that changes them breaks it (the next command then fails, and
//! [`Session::run`] says so).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::container::{Container, ExecRequest, RuntimeError};
use crate::kernel::interrupt::lock;
use crate::kernel::{
    BytesStream, CaptureStream, Errno, Fd, FeedStream, FileDescription, HostStream, Interrupt,
    KResult, OFlags, Pid, ProcState, Process, Readiness,
};

/// The shell a session runs when none is named.
pub const DEFAULT_SHELL: &str = "/bin/bash";

/// The environment a session's shell starts with when none is given.
pub const DEFAULT_ENV: &[(&str, &str)] = &[
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("HOME", "/root"),
    ("TERM", "dumb"),
];

/// How long a new shell may take to show its first prompt.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the shell gets to come back after each step of a timeout's escalation.
const GRACE: Duration = Duration::from_secs(1);

/// The most output of the shell itself (outside commands) kept.
const LOG_CAP: usize = 64 << 10;

/// The highest fd a session reserves (the status channel); the per-command fds are
/// the three below it.
const TOP_FD: Fd = 243;

/// What a session starts.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// The shell's path in the container (bash: the session drives its prompt).
    pub shell: String,
    /// The shell's environment; [`DEFAULT_ENV`] if empty.
    pub env: Vec<(String, String)>,
    /// The starting directory; `/` if `None`.
    pub cwd: Option<String>,
    /// Cap on each command's captured stdout and stderr.
    pub output_cap: usize,
}

impl Default for SessionSpec {
    fn default() -> SessionSpec {
        SessionSpec {
            shell: DEFAULT_SHELL.into(),
            env: Vec::new(),
            cwd: None,
            output_cap: crate::container::DEFAULT_OUTPUT_CAP,
        }
    }
}

/// One command's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// `$?` after the command, as the shell reports it (130 after an interrupt), or the
    /// shell's exit code when the command ended the shell (`exit 3`).
    pub exit_code: i32,
    /// The command ran out of time and was interrupted.
    pub timed_out: bool,
    /// The shell is gone after this command (it ran `exit`, or did not come back from
    /// a timeout): the session is over.
    pub session_ended: bool,
    pub duration: Duration,
}

/// Why a session could not start or run a command.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("starting the session's shell: {0}")]
    Start(#[from] RuntimeError),
    #[error(
        "the session's shell {shell} did not show a prompt within {after:?} (is it bash?); its output: {log}"
    )]
    NoPrompt {
        shell: String,
        after: Duration,
        log: String,
    },
    #[error("the session is over: its shell exited with status {0}")]
    Ended(i32),
    #[error("the command contains a NUL byte, which a shell cannot take")]
    NulInCommand,
    #[error("the container's fd limit ({0}) is too low for a session (it needs at least 16)")]
    FdLimit(usize),
    #[error("setting up the command's fds: {0}")]
    Fds(Errno),
}

/// `PROMPT_COMMAND`'s channel: what the shell reports, one status per prompt.
struct StatusChannel {
    state: Mutex<StatusState>,
    changed: Condvar,
}

#[derive(Default)]
struct StatusState {
    data: Vec<u8>,
    /// The shell ended (with this status).
    ended: Option<i32>,
}

/// What waiting for the shell's next prompt gave.
enum Prompt {
    Status(i32),
    Ended(i32),
    TimedOut,
}

impl StatusChannel {
    fn new() -> Arc<StatusChannel> {
        Arc::new(StatusChannel {
            state: Mutex::new(StatusState::default()),
            changed: Condvar::new(),
        })
    }

    /// The next status line, waiting until `deadline`.
    fn next(&self, deadline: Instant) -> Prompt {
        let mut st = lock(&self.state);
        loop {
            if let Some(end) = st.data.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = st.data.drain(..=end).collect();
                let status = std::str::from_utf8(&line[..end])
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(-1);
                return Prompt::Status(status);
            }
            if let Some(code) = st.ended {
                return Prompt::Ended(code);
            }
            let now = Instant::now();
            if now >= deadline {
                return Prompt::TimedOut;
            }
            st = self
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits until the shell ended (its status), or `deadline` (`None`); status lines
    /// are left for [`StatusChannel::next`].
    fn wait_end(&self, deadline: Instant) -> Option<i32> {
        let mut st = lock(&self.state);
        loop {
            if let Some(code) = st.ended {
                return Some(code);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            st = self
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn end(&self, code: i32) {
        lock(&self.state).ended = Some(code);
        self.changed.notify_all();
    }

    fn ended(&self) -> Option<i32> {
        lock(&self.state).ended
    }
}

impl HostStream for StatusChannel {
    fn write(&self, buf: &[u8], _intr: &Interrupt) -> KResult<usize> {
        let mut st = lock(&self.state);
        // A shell does not write megabytes of statuses; one that does is not ours.
        if st.data.len() < 1 << 16 {
            st.data.extend_from_slice(buf);
        }
        drop(st);
        self.changed.notify_all();
        Ok(buf.len())
    }

    fn readiness(&self) -> Readiness {
        Readiness {
            writable: true,
            ..Readiness::default()
        }
    }
}

/// A live shell session. Commands run one at a time ([`Session::run`] serialises
/// callers); dropping the session ends its shell.
pub struct Session {
    container: Arc<Container>,
    shell: Arc<Process>,
    commands: Arc<FeedStream>,
    status: Arc<StatusChannel>,
    log: Arc<CaptureStream>,
    /// fds IN, OUT, ERR, STATUS.
    fds: [Fd; 4],
    output_cap: usize,
    /// Held while a command runs.
    turn: Mutex<()>,
    thread: Mutex<Option<JoinHandle<()>>>,
    commands_run: AtomicU64,
    started: Instant,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("container", &self.container.id)
            .field("pid", &self.shell.pid())
            .finish()
    }
}

impl Session {
    /// Starts `spec.shell` in `container` (through the exec gate) and waits for its first
    /// prompt.
    pub fn start(container: Arc<Container>, spec: &SessionSpec) -> Result<Session, SessionError> {
        let limit = container.kernel.limits().max_open_files;
        if limit < 16 {
            return Err(SessionError::FdLimit(limit));
        }
        let top = TOP_FD.min(limit as Fd - 1);
        let fds = [top - 3, top - 2, top - 1, top];
        let commands = FeedStream::new();
        let status = StatusChannel::new();
        let log = CaptureStream::new(LOG_CAP);
        let env = if spec.env.is_empty() {
            DEFAULT_ENV
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        } else {
            spec.env.clone()
        };
        let req = ExecRequest {
            path: spec.shell.clone(),
            argv: ["bash", "--noprofile", "--norc", "--noediting", "-i"]
                .map(String::from)
                .to_vec(),
            // The session's variables are set by its first command line, not exported:
            // the programs it runs do not see them.
            env: env
                .into_iter()
                .filter(|(k, _)| !matches!(k.as_str(), "PROMPT_COMMAND" | "PS0" | "PS1" | "PS2"))
                .collect(),
            cwd: spec.cwd.clone(),
            stdin: Vec::new(),
            timeout: None,
            output_cap: None,
        };
        let stdio = [
            FileDescription::host(Arc::clone(&commands) as Arc<dyn HostStream>, OFlags::RDONLY),
            FileDescription::host(Arc::clone(&log) as Arc<dyn HostStream>, OFlags::WRONLY),
            FileDescription::host(Arc::clone(&log) as Arc<dyn HostStream>, OFlags::WRONLY),
        ];
        let extra = vec![(
            fds[3],
            FileDescription::host(Arc::clone(&status) as Arc<dyn HostStream>, OFlags::WRONLY),
        )];
        let (tx, rx) = std::sync::mpsc::channel::<Result<Arc<Process>, RuntimeError>>();
        let thread = {
            let container = Arc::clone(&container);
            let status = Arc::clone(&status);
            let commands = Arc::clone(&commands);
            std::thread::Builder::new()
                .name(format!("session-{}", container.id))
                .spawn(move || {
                    let started_tx = tx.clone();
                    let result = container.run_with_fds(&req, stdio, extra, move |p| {
                        let _ = started_tx.send(Ok(Arc::clone(p)));
                    });
                    let code = match result {
                        Ok(out) => out.exit_code(),
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            127
                        }
                    };
                    commands.close();
                    status.end(code);
                })
                .expect("spawning a session thread")
        };
        let shell = match rx.recv() {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(SessionError::Start(e));
            }
            Err(_) => {
                let _ = thread.join();
                return Err(SessionError::Ended(status.ended().unwrap_or(-1)));
            }
        };
        // The status channel is the session's: programs the shell runs do not inherit it.
        let _ = shell.fds().set_cloexec(fds[3], true);
        let session = Session {
            container,
            shell,
            commands,
            status,
            log,
            fds,
            output_cap: spec.output_cap,
            turn: Mutex::new(()),
            thread: Mutex::new(Some(thread)),
            commands_run: AtomicU64::new(0),
            started: Instant::now(),
        };
        // The first line sets the prompt up; its status is the first prompt's.
        session.commands.push(
            format!(
                "PS1= PS2= PS0=; set +H +m +o history; unset MAILCHECK HISTFILE; \
                 PROMPT_COMMAND='builtin printf \"%d\\n\" \"$?\" >&{}'\n",
                fds[3]
            )
            .as_bytes(),
        );
        match session.status.next(Instant::now() + START_TIMEOUT) {
            Prompt::Status(_) => Ok(session),
            Prompt::Ended(code) => Err(SessionError::NoPrompt {
                shell: spec.shell.clone(),
                after: session.started.elapsed(),
                log: format!(
                    "{} (exit status {code})",
                    String::from_utf8_lossy(&session.log.contents()).trim_end()
                ),
            }),
            Prompt::TimedOut => Err(SessionError::NoPrompt {
                shell: spec.shell.clone(),
                after: START_TIMEOUT,
                log: String::from_utf8_lossy(&session.log.contents())
                    .trim_end()
                    .to_string(),
            }),
        }
    }

    /// The shell's pid in the container.
    pub fn pid(&self) -> u32 {
        self.shell.pid() as u32
    }

    /// How many commands ran.
    pub fn commands_run(&self) -> u64 {
        self.commands_run.load(Ordering::Relaxed)
    }

    /// The session's age.
    pub fn age(&self) -> Duration {
        self.started.elapsed()
    }

    /// Whether the shell is still there.
    pub fn alive(&self) -> bool {
        self.status.ended().is_none()
    }

    /// Runs `command` (any bash text: several lines, a here-document, a function
    /// definition) with `stdin` as its standard input, and returns its output and status.
    /// With `timeout`, a command still running then is interrupted (see the module
    /// docs).
    pub fn run(
        &self,
        command: &str,
        stdin: &[u8],
        timeout: Option<Duration>,
    ) -> Result<CommandOutput, SessionError> {
        if command.contains('\0') {
            return Err(SessionError::NulInCommand);
        }
        let _turn = lock(&self.turn);
        if let Some(code) = self.status.ended() {
            return Err(SessionError::Ended(code));
        }
        let started = Instant::now();
        let stdout = CaptureStream::new(self.output_cap);
        let stderr = CaptureStream::new(self.output_cap);
        let [fd_in, fd_out, fd_err, _] = self.fds;
        {
            let files = [
                (
                    fd_in,
                    FileDescription::host(
                        BytesStream::new(stdin.to_vec()) as Arc<dyn HostStream>,
                        OFlags::RDONLY,
                    ),
                ),
                (fd_out, host_output(&stdout)),
                (fd_err, host_output(&stderr)),
            ];
            let mut table = self.shell.fds();
            for (fd, file) in files {
                table.insert_at(fd, file, true).map_err(SessionError::Fds)?;
            }
        }
        let before = self.group_pids();
        self.commands.push(
            format!(
                "eval {} <&{fd_in} >&{fd_out} 2>&{fd_err}\n",
                ansi_c_quote(command)
            )
            .as_bytes(),
        );
        let deadline = timeout.map(|t| started + t);
        let (mut prompt, mut timed_out) =
            (self.status.next(deadline.unwrap_or(far_future())), false);
        if matches!(prompt, Prompt::TimedOut) {
            timed_out = true;
            prompt = self.interrupt(&before);
        }
        // The command's processes still running (background jobs it started, a child
        // that ignored SIGINT) end with it when it timed out.
        if timed_out {
            self.kill_new(&before);
        }
        let session_ended;
        let exit_code = match prompt {
            Prompt::Status(code) => {
                session_ended = false;
                // The command is over: its fds leave the shell, and output still arriving
                // (from a background job) is dropped.
                let mut table = self.shell.fds();
                for fd in [fd_in, fd_out, fd_err] {
                    let _ = table.close(fd);
                }
                code
            }
            Prompt::Ended(code) => {
                session_ended = true;
                code
            }
            Prompt::TimedOut => {
                // The shell did not come back: the session ends.
                session_ended = true;
                self.container
                    .signal(self.pid(), false, crate::abi::linux::signal::SIGKILL);
                match self.status.next(Instant::now() + GRACE * 5) {
                    Prompt::Ended(code) | Prompt::Status(code) => code,
                    Prompt::TimedOut => 137,
                }
            }
        };
        self.commands_run.fetch_add(1, Ordering::Relaxed);
        Ok(CommandOutput {
            stdout_truncated: stdout.truncated(),
            stderr_truncated: stderr.truncated(),
            stdout: stdout.seal(),
            stderr: stderr.seal(),
            exit_code,
            timed_out,
            session_ended,
            duration: started.elapsed(),
        })
    }

    /// A command ran out of time: ^C to the shell's group, then SIGKILL to what the
    /// command started and ^C again; what the shell then reports, or `TimedOut` if it
    /// never comes back.
    fn interrupt(&self, before: &BTreeSet<Pid>) -> Prompt {
        use crate::abi::linux::signal::SIGINT;
        let pgid = self.shell.pgid() as u32;
        self.container.signal(pgid, true, SIGINT);
        let prompt = self.status.next(Instant::now() + GRACE);
        if !matches!(prompt, Prompt::TimedOut) {
            return prompt;
        }
        self.kill_new(before);
        self.container.signal(self.pid(), false, SIGINT);
        self.status.next(Instant::now() + GRACE)
    }

    /// The running processes of the shell's group, but the shell.
    fn group_pids(&self) -> BTreeSet<Pid> {
        let table = self.container.kernel.processes();
        let pgid = self.shell.pgid();
        table
            .pids()
            .into_iter()
            .filter(|&p| p != self.shell.pid() && table.state(p) == Some(ProcState::Running))
            .filter(|&p| table.get(p).is_some_and(|p| p.pgid() == pgid))
            .collect()
    }

    /// SIGKILL to the processes of the shell's group that were not there before the
    /// command.
    fn kill_new(&self, before: &BTreeSet<Pid>) {
        for pid in self.group_pids().difference(before) {
            self.container
                .signal(*pid as u32, false, crate::abi::linux::signal::SIGKILL);
        }
    }

    /// Ends the shell (and the processes of its group) and returns its exit code.
    pub fn close(&self) -> i32 {
        use crate::abi::linux::signal::SIGKILL;
        if self.status.ended().is_none() {
            match self.turn.try_lock() {
                // Idle: the shell reads end of file at its prompt and exits.
                Ok(_idle) => {
                    self.commands.close();
                    if self.status.wait_end(Instant::now() + GRACE).is_none() {
                        self.container.signal(self.pid(), false, SIGKILL);
                    }
                }
                // A command runs (its caller waits for it): the shell is killed, and
                // that caller gets `session_ended`.
                Err(_) => {
                    self.commands.close();
                    self.container.signal(self.pid(), false, SIGKILL);
                }
            }
        }
        for pid in self.group_pids() {
            self.container.signal(pid as u32, false, SIGKILL);
        }
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
        self.status.ended().unwrap_or(137)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close();
    }
}

fn host_output(stream: &Arc<CaptureStream>) -> Arc<FileDescription> {
    FileDescription::host(Arc::clone(stream) as Arc<dyn HostStream>, OFlags::WRONLY)
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

/// `text` as a bash ANSI-C quoted word (`$'...'`): every byte comes back exactly,
/// whatever it is (quotes, backslashes, newlines, non-ASCII bytes).
pub fn ansi_c_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 3);
    out.push_str("$'");
    for &b in text.as_bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\'' => out.push_str("\\'"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_every_byte() {
        assert_eq!(ansi_c_quote("echo hi"), "$'echo hi'");
        assert_eq!(ansi_c_quote("a'b\\c\nd"), "$'a\\'b\\\\c\\nd'");
        assert_eq!(ansi_c_quote("é\t"), "$'\\xc3\\xa9\\x09'");
    }

    #[test]
    fn quoted_words_round_trip_through_bash() {
        // The host's bash (or bash-static) reads the quoted word back byte for byte.
        let Some(bash) = ["/bin/bash-static", "/bin/bash"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
        else {
            return;
        };
        let text = "it's a \"test\" \\ with\nlines, $HOME, `x`, !bang, é, \x01\x7f\t";
        let out = std::process::Command::new(bash)
            .arg("-c")
            .arg(format!("printf %s {}", ansi_c_quote(text)))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), text);
    }
}
