//! Tests of the process extension's functions, driven through [`call`] with a
//! byte-vector memory on a small kernel, and a [`Spawner`] that records what it is asked.

use std::sync::{Arc, Mutex};

use super::{
    FUNCS, ProcessCall, SPAWN_INHERIT_ENV, SpawnRequest, Spawner, WNOHANG, call, func_index,
};
use crate::abi::wasi_p1::{HostExit, WasiErrno};
use crate::kernel::testutil::{E, image};
use crate::kernel::{
    Errno, ExitStatus, FdSource, KResult, Kernel, Limits, OFlags, Pid, Process, SpawnSpec,
};

const MEM: usize = 64 * 1024;
const OUT: u32 = 0; // results
const LIST: u32 = 256; // {ptr, len} arrays and fd maps
const STR: u32 = 4096; // strings

/// Records spawns and kills; spawns create a kernel child running nothing.
struct Recorder {
    kernel: Arc<Kernel>,
    spawned: Mutex<Vec<SpawnRequest>>,
    killed: Mutex<Vec<(Pid, u8)>>,
}

impl Spawner for Recorder {
    fn spawn(&self, parent: &Arc<Process>, req: SpawnRequest) -> KResult<Pid> {
        if req.path == b"/denied" {
            return Err(Errno::EACCES);
        }
        let child = self.kernel.spawn(
            Some(parent),
            SpawnSpec {
                argv: req.argv.clone(),
                env: req.env.clone(),
                cwd: None,
                umask: None,
                fds: req
                    .fds
                    .iter()
                    .map(|&(c, p)| (c, FdSource::Inherit(p)))
                    .collect(),
            },
        )?;
        self.spawned.lock().unwrap().push(req);
        Ok(child.pid())
    }

    fn terminate(&self, target: &Arc<Process>, sig: u8) {
        self.killed.lock().unwrap().push((target.pid(), sig));
        target.interrupt().interrupt();
    }
}

struct Guest {
    kernel: Arc<Kernel>,
    process: Arc<Process>,
    spawner: Arc<Recorder>,
    mem: Vec<u8>,
    /// Strings placed so far, from [`STR`].
    next_str: u32,
}

impl Guest {
    fn new() -> Guest {
        let kernel = Arc::new(Kernel::new(
            image(&[E::Dir("/tmp", 0o777)]),
            Limits {
                max_processes: 4,
                ..Limits::default()
            },
        ));
        let (r, w) = crate::kernel::pipe2(OFlags::empty()).unwrap();
        let process = kernel
            .spawn(
                None,
                SpawnSpec {
                    argv: vec![b"sh".to_vec()],
                    env: vec![(b"HOME".to_vec(), b"/root".to_vec())],
                    cwd: None,
                    umask: None,
                    fds: vec![(0, FdSource::File(r)), (1, FdSource::File(w))],
                },
            )
            .unwrap();
        let spawner = Arc::new(Recorder {
            kernel: Arc::clone(&kernel),
            spawned: Mutex::default(),
            killed: Mutex::default(),
        });
        Guest {
            kernel,
            process,
            spawner,
            mem: vec![0; MEM],
            next_str: STR,
        }
    }

    fn call_with(&mut self, with_spawner: bool, name: &str, args: &[i64]) -> Result<i32, HostExit> {
        let func = func_index(name).unwrap();
        let spawner: Arc<dyn Spawner> = self.spawner.clone();
        let cx = ProcessCall {
            kernel: &self.kernel,
            process: &self.process,
            spawner: with_spawner.then_some(&spawner),
        };
        call(&cx, func, &mut self.mem, args)
    }

    fn call(&mut self, name: &str, args: &[i64]) -> WasiErrno {
        WasiErrno(self.call_with(true, name, args).unwrap() as u16)
    }

    fn u32_at(&self, at: u32) -> u32 {
        let at = at as usize;
        u32::from_le_bytes(self.mem[at..at + 4].try_into().unwrap())
    }

    fn put_u32(&mut self, at: u32, v: u32) {
        let at = at as usize;
        self.mem[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// Places `s` in memory; returns (ptr, len).
    fn string(&mut self, s: &[u8]) -> (i64, i64) {
        let at = self.next_str;
        self.mem[at as usize..at as usize + s.len()].copy_from_slice(s);
        self.next_str += s.len() as u32 + 1;
        (i64::from(at), s.len() as i64)
    }

    /// Places a `{ptr, len}` list of `strings` at `at`; returns (ptr, count).
    fn list(&mut self, at: u32, strings: &[&[u8]]) -> (i64, i64) {
        for (i, s) in strings.iter().enumerate() {
            let (p, l) = self.string(s);
            self.put_u32(at + 8 * i as u32, p as u32);
            self.put_u32(at + 8 * i as u32 + 4, l as u32);
        }
        (i64::from(at), strings.len() as i64)
    }

    /// spawn with the given lists (`None` env: inherit) and fd map.
    fn spawn(
        &mut self,
        path: &[u8],
        argv: &[&[u8]],
        env: Option<&[&[u8]]>,
        cwd: &[u8],
        fdmap: &[(u32, u32)],
    ) -> WasiErrno {
        let (path, path_len) = self.string(path);
        let (argv, argc) = self.list(LIST, argv);
        let (env, envc, flags) = match env {
            Some(env) => {
                let (p, n) = self.list(LIST + 512, env);
                (p, n, 0)
            }
            None => (0, 0, i64::from(SPAWN_INHERIT_ENV)),
        };
        let (cwd, cwd_len) = if cwd.is_empty() {
            (0, 0)
        } else {
            self.string(cwd)
        };
        let map = LIST + 1024;
        for (i, (c, p)) in fdmap.iter().enumerate() {
            self.put_u32(map + 8 * i as u32, *c);
            self.put_u32(map + 8 * i as u32 + 4, *p);
        }
        self.call(
            "spawn",
            &[
                path,
                path_len,
                argv,
                argc,
                env,
                envc,
                cwd,
                cwd_len,
                i64::from(map),
                fdmap.len() as i64,
                flags,
                i64::from(OUT),
            ],
        )
    }

    fn last_spawn(&self) -> SpawnRequest {
        self.spawner
            .spawned
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap()
    }
}

#[test]
fn handler_table_covers_funcs() {
    assert_eq!(FUNCS.len(), 8);
    for (name, params) in FUNCS {
        assert!(func_index(name).is_some(), "{name}");
        assert!(params.len() <= 12, "{name}");
    }
}

#[test]
fn spawn_reads_argv_env_cwd_and_the_fd_map() {
    let mut g = Guest::new();
    let e = g.spawn(
        b"/bin/tool",
        &[b"tool", b"a b", b""],
        Some(&[b"K=v=w", b"EMPTY="]),
        b"/tmp",
        &[(0, 1), (5, 0)],
    );
    assert_eq!(e, WasiErrno::SUCCESS);
    let pid = g.u32_at(OUT);
    assert_eq!(pid, 2);
    let req = g.last_spawn();
    assert_eq!(req.path, b"/bin/tool");
    assert_eq!(req.argv, [&b"tool"[..], b"a b", b""]);
    assert_eq!(
        req.env,
        [
            (b"K".to_vec(), b"v=w".to_vec()),
            (b"EMPTY".to_vec(), Vec::new())
        ]
    );
    assert_eq!(req.cwd.as_deref(), Some(&b"/tmp"[..]));
    assert_eq!(req.fds, [(0, 1), (5, 0)]);

    // Defaults: argv [path], the caller's open fds among 0-2, its cwd; inherited env.
    assert_eq!(g.spawn(b"x", &[], None, b"", &[]), WasiErrno::SUCCESS);
    let req = g.last_spawn();
    assert_eq!(req.argv, [b"x".to_vec()]);
    assert_eq!(req.fds, [(0, 0), (1, 1)]);
    assert_eq!(req.cwd, None);
    assert_eq!(req.env, [(b"HOME".to_vec(), b"/root".to_vec())]);
}

#[test]
fn spawn_refuses_bad_arguments_before_spawning() {
    let mut g = Guest::new();
    assert_eq!(g.spawn(b"", &[], None, b"", &[]), WasiErrno::NOENT);
    assert_eq!(g.spawn(b"a\0b", &[], None, b"", &[]), WasiErrno::INVAL);
    assert_eq!(g.spawn(b"x", &[b"a\0"], None, b"", &[]), WasiErrno::INVAL);
    assert_eq!(
        g.spawn(b"x", &[], Some(&[b"NOEQUALS"]), b"", &[]),
        WasiErrno::INVAL
    );
    assert_eq!(
        g.spawn(b"x", &[], None, b"", &[(0, 0), (0, 1)]),
        WasiErrno::INVAL,
        "a child fd twice"
    );
    assert_eq!(g.spawn(b"x", &[], None, b"", &[(0, 7)]), WasiErrno::BADF);
    assert_eq!(
        g.spawn(b"x", &[], None, b"", &[(u32::MAX, 0)]),
        WasiErrno::INVAL
    );
    assert_eq!(
        g.spawn(&[b'a'; 5000], &[], None, b"", &[]),
        WasiErrno::NAMETOOLONG
    );
    assert_eq!(g.spawn(b"/denied", &[], None, b"", &[]), WasiErrno::ACCES);
    assert!(g.spawner.spawned.lock().unwrap().is_empty());

    let (p, l) = g.string(b"x");
    let base = [p, l, 0, 0, 0, 0, 0, 0, 0, 0];
    let with = |flags: i64, out: i64| {
        let mut a = base.to_vec();
        a.extend([flags, out]);
        a
    };
    assert_eq!(
        g.call("spawn", &with(2, 0)),
        WasiErrno::INVAL,
        "unknown flag"
    );
    assert_eq!(
        g.call("spawn", &with(0, MEM as i64 - 2)),
        WasiErrno::FAULT,
        "pid_out outside memory"
    );
    let mut huge = with(0, 0);
    huge[3] = i64::from(u32::MAX);
    assert_eq!(g.call("spawn", &huge), WasiErrno::TOOBIG);
    huge[3] = 10_000;
    assert_eq!(
        g.call("spawn", &huge),
        WasiErrno::FAULT,
        "argv array past the end"
    );
    assert!(g.spawner.spawned.lock().unwrap().is_empty());

    // Without a spawner, nothing starts.
    let args = with(0, 0);
    let e = g.call_with(false, "spawn", &args).unwrap();
    assert_eq!(e, i32::from(WasiErrno::NOSYS.0));
}

#[test]
fn spawn_at_the_process_limit_is_eagain() {
    let mut g = Guest::new();
    for _ in 0..3 {
        assert_eq!(g.spawn(b"x", &[], None, b"", &[]), WasiErrno::SUCCESS);
    }
    assert_eq!(g.spawn(b"x", &[], None, b"", &[]), WasiErrno::AGAIN);
}

#[test]
fn wait_reaps_children_with_linux_statuses() {
    let mut g = Guest::new();
    let wait = |g: &mut Guest, pid: i64, options: i64| {
        g.call("wait", &[pid, options, i64::from(OUT), i64::from(OUT + 4)])
    };
    assert_eq!(wait(&mut g, -1, 0), WasiErrno::CHILD);
    assert_eq!(g.spawn(b"x", &[], None, b"", &[]), WasiErrno::SUCCESS);
    let a = g.u32_at(OUT) as Pid;
    assert_eq!(g.spawn(b"x", &[], None, b"", &[]), WasiErrno::SUCCESS);
    let b = g.u32_at(OUT) as Pid;
    assert_eq!(wait(&mut g, -1, i64::from(WNOHANG)), WasiErrno::SUCCESS);
    assert_eq!((g.u32_at(OUT), g.u32_at(OUT + 4)), (0, 0), "none exited");
    let processes = g.kernel.processes();
    processes.exit(b, ExitStatus::Exited(3)).unwrap();
    processes.exit(a, ExitStatus::Signaled(15)).unwrap();
    // A bad out-pointer reaps nothing.
    assert_eq!(
        g.call("wait", &[i64::from(b), 0, MEM as i64, 0]),
        WasiErrno::FAULT
    );
    assert_eq!(wait(&mut g, i64::from(b), 0), WasiErrno::SUCCESS);
    assert_eq!((g.u32_at(OUT), g.u32_at(OUT + 4)), (3 << 8, b as u32));
    assert_eq!(wait(&mut g, -1, 0), WasiErrno::SUCCESS);
    assert_eq!((g.u32_at(OUT), g.u32_at(OUT + 4)), (15, a as u32));
    assert_eq!(wait(&mut g, -1, 0), WasiErrno::CHILD);
    assert_eq!(wait(&mut g, 0, 0), WasiErrno::INVAL, "no process groups");
    assert_eq!(wait(&mut g, -1, 4), WasiErrno::INVAL, "unknown option");
    assert_eq!(g.kernel.processes().pids(), vec![1]);
}

#[test]
fn a_stopped_waiter_is_killed() {
    let mut g = Guest::new();
    assert_eq!(g.spawn(b"x", &[], None, b"", &[]), WasiErrno::SUCCESS);
    let process = Arc::clone(&g.process);
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(30));
        process.interrupt().interrupt();
    });
    let r = g.call_with(true, "wait", &[-1, 0, i64::from(OUT), i64::from(OUT + 4)]);
    stopper.join().unwrap();
    assert!(matches!(r, Err(HostExit::Kill(_))), "{r:?}");
}

#[test]
fn pipe_dup_and_dup2_share_descriptions() {
    let mut g = Guest::new();
    assert_eq!(g.call("pipe", &[i64::from(OUT)]), WasiErrno::SUCCESS);
    let (r, w) = (g.u32_at(OUT) as i32, g.u32_at(OUT + 4) as i32);
    assert_eq!((r, w), (2, 3), "lowest free fds");
    assert_eq!(
        g.call("dup", &[i64::from(w), i64::from(OUT)]),
        WasiErrno::SUCCESS
    );
    let w2 = g.u32_at(OUT) as i32;
    assert_eq!(w2, 4);
    assert!(Arc::ptr_eq(
        &g.process.file(w).unwrap(),
        &g.process.file(w2).unwrap()
    ));
    assert_eq!(g.call("dup2", &[i64::from(r), 9]), WasiErrno::SUCCESS);
    assert!(Arc::ptr_eq(
        &g.process.file(9).unwrap(),
        &g.process.file(r).unwrap()
    ));
    assert_eq!(g.call("dup2", &[9, 9]), WasiErrno::SUCCESS);
    assert_eq!(g.call("dup2", &[42, 9]), WasiErrno::BADF);
    assert_eq!(g.call("dup2", &[9, -1]), WasiErrno::BADF);
    assert_eq!(g.call("dup", &[42, i64::from(OUT)]), WasiErrno::BADF);
    assert_eq!(g.call("pipe", &[MEM as i64 - 4]), WasiErrno::FAULT);
    assert_eq!(g.process.file(10).err(), Some(Errno::EBADF), "no pipe made");
}

#[test]
fn getpid_getppid_and_kill() {
    let mut g = Guest::new();
    assert_eq!(g.call("getpid", &[i64::from(OUT)]), WasiErrno::SUCCESS);
    assert_eq!(g.u32_at(OUT), 1);
    assert_eq!(g.call("getppid", &[i64::from(OUT)]), WasiErrno::SUCCESS);
    assert_eq!(g.u32_at(OUT), 0, "the host's child");
    assert_eq!(g.spawn(b"x", &[], None, b"", &[]), WasiErrno::SUCCESS);
    let child = g.u32_at(OUT) as i64;
    assert_eq!(g.call("kill", &[child, 0]), WasiErrno::SUCCESS);
    assert_eq!(
        g.call("kill", &[child, 17]),
        WasiErrno::SUCCESS,
        "SIGCHLD: ignored"
    );
    assert_eq!(g.call("kill", &[child, 19]), WasiErrno::NOTSUP, "SIGSTOP");
    assert_eq!(g.call("kill", &[child, 65]), WasiErrno::INVAL);
    assert_eq!(g.call("kill", &[0, 9]), WasiErrno::INVAL);
    assert_eq!(g.call("kill", &[99, 9]), WasiErrno::SRCH);
    assert!(g.spawner.killed.lock().unwrap().is_empty());
    assert_eq!(g.call("kill", &[child, 15]), WasiErrno::SUCCESS);
    assert_eq!(*g.spawner.killed.lock().unwrap(), [(child as Pid, 15)]);
    let target = g.kernel.processes().get(child as Pid).unwrap();
    assert!(target.interrupt().is_interrupted());
    // Killing itself ends the caller at once.
    let r = g.call_with(true, "kill", &[1, 9]);
    assert!(matches!(r, Err(HostExit::Kill(_))), "{r:?}");
}

#[test]
fn a_call_with_the_wrong_arity_kills() {
    let mut g = Guest::new();
    assert!(matches!(
        g.call_with(true, "getpid", &[]),
        Err(HostExit::Kill(_))
    ));
    let cx = ProcessCall {
        kernel: &g.kernel,
        process: &g.process,
        spawner: None,
    };
    assert!(matches!(
        call(&cx, FUNCS.len(), &mut g.mem, &[]),
        Err(HostExit::Kill(_))
    ));
}
