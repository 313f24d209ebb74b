//! The native side: a busybox process started under ptrace and single-stepped
//! on the real CPU. All the unsafe code of the test lives here.
#![allow(
    unsafe_code,
    reason = "fork, ptrace, waitpid and process_vm_readv are libc calls; each has its SAFETY comment"
)]

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub use libc::{user_fpregs_struct as FpRegs, user_regs_struct as Regs};

/// Exit codes of the child before `execve`, to tell why it did not start.
const CHILD_PTRACE_FAILED: i32 = 125;
const CHILD_EXEC_FAILED: i32 = 127;

/// What a single step ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The instruction ran; the process is stopped at the next one.
    Stepped,
    /// The process exited with this code (`exit_group`).
    Exited(i32),
    /// The process was killed by this signal.
    Killed(i32),
    /// A signal other than the step's SIGTRAP is about to be delivered.
    Signal(i32),
}

/// Why a tracee could not be started.
#[derive(Debug)]
pub enum SpawnError {
    /// `ptrace(PTRACE_TRACEME)` was refused (a restricted container): the
    /// test cannot run here.
    PtraceRefused,
    Other(String),
}

/// One memory mapping of the tracee, from `/proc/<pid>/maps`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub read: bool,
    pub write: bool,
    pub exec: bool,
    pub offset: u64,
    pub inode: u64,
    pub name: String,
}

/// A traced child process, stopped.
#[derive(Debug)]
pub struct Tracee {
    pid: libc::pid_t,
    /// Set once the process has exited (nothing left to kill or reap).
    gone: bool,
}

fn errno() -> std::io::Error {
    std::io::Error::last_os_error()
}

impl Tracee {
    /// Forks, and in the child asks to be traced, turns off address
    /// randomisation (so reports are the same from run to run), redirects
    /// stdin from `/dev/null` and stdout/stderr to files, and execs `prog`.
    /// Returns once the child is stopped at its first instruction.
    pub fn spawn(
        prog: &Path,
        argv: &[String],
        env: &[String],
        cwd: &Path,
        stdout: &Path,
        stderr: &Path,
    ) -> Result<Tracee, SpawnError> {
        let cstr = |s: &[u8]| CString::new(s).map_err(|e| SpawnError::Other(e.to_string()));
        let prog_c = cstr(prog.as_os_str().as_bytes())?;
        let cwd_c = cstr(cwd.as_os_str().as_bytes())?;
        let argv_c = argv
            .iter()
            .map(|a| cstr(a.as_bytes()))
            .collect::<Result<Vec<_>, _>>()?;
        let env_c = env
            .iter()
            .map(|a| cstr(a.as_bytes()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut argv_p: Vec<*const libc::c_char> = argv_c.iter().map(|c| c.as_ptr()).collect();
        argv_p.push(std::ptr::null());
        let mut env_p: Vec<*const libc::c_char> = env_c.iter().map(|c| c.as_ptr()).collect();
        env_p.push(std::ptr::null());
        let open = |p: &Path, write: bool| -> Result<fs::File, SpawnError> {
            let r = if write {
                fs::File::create(p)
            } else {
                fs::File::open(p)
            };
            r.map_err(|e| SpawnError::Other(format!("{}: {e}", p.display())))
        };
        // std opens files close-on-exec; dup2 below clears that on 0, 1, 2.
        let fin = open(Path::new("/dev/null"), false)?;
        let fout = open(stdout, true)?;
        let ferr = open(stderr, true)?;
        use std::os::fd::AsRawFd;
        let (i, o, e) = (fin.as_raw_fd(), fout.as_raw_fd(), ferr.as_raw_fd());

        // SAFETY: the child calls only async-signal-safe functions (ptrace,
        // personality, dup2, chdir, execve, _exit) on data prepared before the
        // fork, as a child of a multi-threaded process must.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(SpawnError::Other(format!("fork: {}", errno())));
        }
        if pid == 0 {
            // SAFETY: see above; every pointer is to memory owned by this
            // (copied) address space and NUL-terminated.
            unsafe {
                if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                    libc::_exit(CHILD_PTRACE_FAILED);
                }
                libc::personality(libc::ADDR_NO_RANDOMIZE as libc::c_ulong);
                if libc::dup2(i, 0) < 0 || libc::dup2(o, 1) < 0 || libc::dup2(e, 2) < 0 {
                    libc::_exit(CHILD_EXEC_FAILED);
                }
                if libc::chdir(cwd_c.as_ptr()) != 0 {
                    libc::_exit(CHILD_EXEC_FAILED);
                }
                libc::execve(prog_c.as_ptr(), argv_p.as_ptr(), env_p.as_ptr());
                libc::_exit(CHILD_EXEC_FAILED);
            }
        }
        let mut t = Tracee { pid, gone: false };
        match t.wait() {
            Stop::Signal(libc::SIGTRAP) => {}
            Stop::Exited(CHILD_PTRACE_FAILED) => {
                t.gone = true;
                return Err(SpawnError::PtraceRefused);
            }
            other => {
                return Err(SpawnError::Other(format!(
                    "the child did not stop at its exec ({other:?}); `{}` could not be run",
                    prog.display()
                )));
            }
        }
        // SAFETY: pid is our stopped tracee; the option is a plain flag.
        let r = unsafe {
            libc::ptrace(
                libc::PTRACE_SETOPTIONS,
                pid,
                0,
                libc::PTRACE_O_EXITKILL as libc::c_ulong,
            )
        };
        if r != 0 {
            return Err(SpawnError::Other(format!("PTRACE_SETOPTIONS: {}", errno())));
        }
        Ok(t)
    }

    fn wait(&mut self) -> Stop {
        let mut status = 0;
        loop {
            // SAFETY: waits for our own child; status is a valid out pointer.
            let r = unsafe { libc::waitpid(self.pid, &mut status, libc::__WALL) };
            if r == self.pid {
                break;
            }
            let err = errno();
            assert!(
                err.kind() == std::io::ErrorKind::Interrupted,
                "waitpid({}): {err}",
                self.pid
            );
        }
        if libc::WIFEXITED(status) {
            self.gone = true;
            Stop::Exited(libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            self.gone = true;
            Stop::Killed(libc::WTERMSIG(status))
        } else {
            Stop::Signal(libc::WSTOPSIG(status))
        }
    }

    /// Executes one instruction on the real CPU.
    pub fn step(&mut self) -> Stop {
        // SAFETY: pid is our stopped tracee.
        let r = unsafe { libc::ptrace(libc::PTRACE_SINGLESTEP, self.pid, 0, 0) };
        assert!(r == 0, "PTRACE_SINGLESTEP: {}", errno());
        match self.wait() {
            Stop::Signal(libc::SIGTRAP) => Stop::Stepped,
            other => other,
        }
    }

    /// Runs until `addr` (the next instruction of a repeated string
    /// instruction, which single-stepping would trap after each iteration):
    /// a breakpoint there, `PTRACE_CONT`, and the original bytes put back.
    pub fn run_to(&mut self, addr: u64) -> Stop {
        let mut orig = [0u8; 8];
        assert_eq!(self.read(addr, &mut orig), 8, "read the code at {addr:#x}");
        let word = u64::from_le_bytes(orig);
        self.poke(addr, (word & !0xff) | 0xcc);
        // SAFETY: pid is our stopped tracee.
        let r = unsafe { libc::ptrace(libc::PTRACE_CONT, self.pid, 0, 0) };
        assert!(r == 0, "PTRACE_CONT: {}", errno());
        let stop = self.wait();
        if self.gone {
            return stop;
        }
        self.poke(addr, word);
        if stop != Stop::Signal(libc::SIGTRAP) {
            return stop;
        }
        let mut r = self.regs();
        assert_eq!(
            r.rip,
            addr + 1,
            "stopped at the breakpoint after the string instruction"
        );
        r.rip = addr;
        self.set_regs(&r);
        Stop::Stepped
    }

    pub fn regs(&self) -> Regs {
        // SAFETY: an all-zero user_regs_struct is a valid value (plain integers).
        let mut r: Regs = unsafe { std::mem::zeroed() };
        // SAFETY: pid is our stopped tracee; r is a valid out pointer of the
        // type PTRACE_GETREGS fills.
        let e = unsafe { libc::ptrace(libc::PTRACE_GETREGS, self.pid, 0, &mut r as *mut Regs) };
        assert!(e == 0, "PTRACE_GETREGS: {}", errno());
        r
    }

    pub fn set_regs(&self, r: &Regs) {
        // SAFETY: pid is our stopped tracee; r points to a whole user_regs_struct.
        let e = unsafe { libc::ptrace(libc::PTRACE_SETREGS, self.pid, 0, r as *const Regs) };
        assert!(e == 0, "PTRACE_SETREGS: {}", errno());
    }

    pub fn fpregs(&self) -> FpRegs {
        // SAFETY: an all-zero user_fpregs_struct is a valid value (plain integers).
        let mut r: FpRegs = unsafe { std::mem::zeroed() };
        // SAFETY: pid is our stopped tracee; r is a valid out pointer of the
        // type PTRACE_GETFPREGS fills (the 512-byte FXSAVE area).
        let e = unsafe { libc::ptrace(libc::PTRACE_GETFPREGS, self.pid, 0, &mut r as *mut FpRegs) };
        assert!(e == 0, "PTRACE_GETFPREGS: {}", errno());
        r
    }

    /// Reads the tracee's memory at `addr` into `buf`; the number of bytes
    /// read (fewer at an unreadable page).
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> usize {
        let local = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let remote = libc::iovec {
            iov_base: addr as *mut libc::c_void,
            iov_len: buf.len(),
        };
        // SAFETY: local describes `buf`, which we own mutably; the remote side
        // is checked by the kernel.
        let n = unsafe { libc::process_vm_readv(self.pid, &local, 1, &remote, 1, 0) };
        n.max(0) as usize
    }

    /// Writes one 8-byte word into the tracee's memory.
    pub fn poke(&self, addr: u64, word: u64) {
        // SAFETY: pid is our stopped tracee; POKEDATA takes the word by value.
        let e = unsafe { libc::ptrace(libc::PTRACE_POKEDATA, self.pid, addr, word) };
        assert!(e == 0, "PTRACE_POKEDATA at {addr:#x}: {}", errno());
    }

    /// The tracee's mappings.
    pub fn maps(&self) -> Vec<Mapping> {
        let text = fs::read_to_string(format!("/proc/{}/maps", self.pid))
            .unwrap_or_else(|e| panic!("read /proc/{}/maps: {e}", self.pid));
        text.lines().filter_map(parse_map_line).collect()
    }
}

fn parse_map_line(line: &str) -> Option<Mapping> {
    let mut f = line.split_ascii_whitespace();
    let (start, end) = f.next()?.split_once('-')?;
    let perms = f.next()?.as_bytes();
    let offset = u64::from_str_radix(f.next()?, 16).ok()?;
    let _dev = f.next()?;
    let inode = f.next()?.parse().ok()?;
    let name = f.collect::<Vec<_>>().join(" ");
    Some(Mapping {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        read: perms.first() == Some(&b'r'),
        write: perms.get(1) == Some(&b'w'),
        exec: perms.get(2) == Some(&b'x'),
        offset,
        inode,
        name,
    })
}

impl Drop for Tracee {
    fn drop(&mut self) {
        if !self.gone {
            // SAFETY: kills and reaps our own child, by its pid.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
                let mut status = 0;
                libc::waitpid(self.pid, &mut status, libc::__WALL);
            }
        }
    }
}
