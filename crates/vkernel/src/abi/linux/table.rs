//! The syscall table: every x86-64 Linux syscall number, its name, how far it is
//! supported and, where it is, its handler (gVisor's `linux64.go` is the model).
//!
//! The table is the one place that says what lifted programs can call: the dispatcher
//! looks numbers up here, and `docs/recompiler-container-plan/linux-syscalls.md` is
//! rendered from it (`doc`). A number missing from the table, or one marked
//! [`Support::Unsupported`] or [`Support::Runtime`], is `-ENOSYS`, logged once per
//! process image.

use super::{Handler, fs, io, poll, proc, signal, time};

/// How far a syscall is supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// As Linux documents it, for the files, pipes and processes of the kernel core.
    Full,
    /// Implemented, with the limits the note names.
    Partial(&'static str),
    /// Answers without doing what Linux would (accepted, or a fixed answer), as the
    /// note says: harmless for the programs we run.
    Stub(&'static str),
    /// Handled inside the guest runtime (the address space, TLS, signal return): never
    /// forwarded here; if it is, `ENOSYS`.
    Runtime(&'static str),
    /// `ENOSYS`, for the reason in the note.
    Unsupported(&'static str),
}

impl Support {
    /// The level's name in the compatibility list.
    pub fn label(self) -> &'static str {
        match self {
            Support::Full => "Full",
            Support::Partial(_) => "Partial",
            Support::Stub(_) => "Stub",
            Support::Runtime(_) => "Runtime",
            Support::Unsupported(_) => "Unsupported",
        }
    }

    /// The note, if the level has one.
    pub fn note(self) -> Option<&'static str> {
        match self {
            Support::Full => None,
            Support::Partial(n)
            | Support::Stub(n)
            | Support::Runtime(n)
            | Support::Unsupported(n) => Some(n),
        }
    }
}

/// One syscall of the table.
#[derive(Clone, Copy)]
pub struct Syscall {
    pub nr: u32,
    pub name: &'static str,
    pub support: Support,
    /// `None` for `Runtime` and `Unsupported`.
    pub(crate) handler: Option<Handler>,
}

impl std::fmt::Debug for Syscall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syscall")
            .field("nr", &self.nr)
            .field("name", &self.name)
            .field("support", &self.support)
            .finish()
    }
}

const fn full(nr: u32, name: &'static str, h: Handler) -> Syscall {
    Syscall {
        nr,
        name,
        support: Support::Full,
        handler: Some(h),
    }
}

const fn partial(nr: u32, name: &'static str, h: Handler, note: &'static str) -> Syscall {
    Syscall {
        nr,
        name,
        support: Support::Partial(note),
        handler: Some(h),
    }
}

const fn stub(nr: u32, name: &'static str, h: Handler, note: &'static str) -> Syscall {
    Syscall {
        nr,
        name,
        support: Support::Stub(note),
        handler: Some(h),
    }
}

const fn runtime(nr: u32, name: &'static str, note: &'static str) -> Syscall {
    Syscall {
        nr,
        name,
        support: Support::Runtime(note),
        handler: None,
    }
}

const fn no(nr: u32, name: &'static str, note: &'static str) -> Syscall {
    Syscall {
        nr,
        name,
        support: Support::Unsupported(note),
        handler: None,
    }
}

const MM: &str = "the guest runtime owns the address space";
const NET: &str = "no network in the vkernel yet";
const NO_SOCKET: &str = "no sockets exist (socket is ENOSYS): EBADF for a closed fd, ENOTSOCK for an open one, as Linux answers for a file that is not a socket";
const SYSV: &str = "no System V IPC";
const MQ: &str = "no POSIX message queues";
const AIO: &str = "no asynchronous I/O";
const XATTR: &str = "no extended attributes";
const PRIV: &str = "a container may not do this (EPERM-class operation; not offered)";
const FORK: &str = "in the runtime: it asks recompiler_linux_v1.fork to copy the process (guest pages and runtime state) into a new instance, which resumes with rax = 0; clone with CLONE_VM (threads) is ENOSYS";
const DELIVERY: &str =
    "TODO: needs timers or queues that raise signals (delivery to handlers exists)";
const FDKINDS: &str = "no such kind of file in the kernel core yet";
const NUMA: &str = "one CPU, one memory node";
const OBSOLETE: &str = "removed from Linux";

/// Every syscall, by number (a test checks the order and that the names are Linux's).
pub static SYSCALLS: &[Syscall] = &[
    full(0, "read", io::read),
    full(1, "write", io::write),
    full(2, "open", fs::open),
    full(3, "close", io::close),
    full(4, "stat", fs::stat),
    full(5, "fstat", fs::fstat),
    full(6, "lstat", fs::lstat),
    full(7, "poll", poll::poll),
    full(8, "lseek", io::lseek),
    runtime(
        9,
        "mmap",
        "anonymous and file mappings; a file is read with pread64",
    ),
    runtime(10, "mprotect", MM),
    runtime(11, "munmap", MM),
    runtime(12, "brk", MM),
    partial(
        13,
        "rt_sigaction",
        signal::rt_sigaction,
        "handlers run on frames the runtime builds on the guest stack (SA_SIGINFO, SA_RESTART, SA_NODEFER, SA_RESETHAND, SA_ONSTACK); siginfo is SI_USER from kill, CLD_* for SIGCHLD, the fault address for CPU faults",
    ),
    full(14, "rt_sigprocmask", signal::rt_sigprocmask),
    runtime(
        15,
        "rt_sigreturn",
        "the runtime restores the registers, FPU state and mask from its own signal frame",
    ),
    partial(
        16,
        "ioctl",
        io::ioctl,
        "no fd is a terminal: terminal requests are ENOTTY; FIONREAD, FIONBIO, FIOCLEX, FIONCLEX, FIOASYNC work",
    ),
    full(17, "pread64", io::pread64),
    full(18, "pwrite64", io::pwrite64),
    full(19, "readv", io::readv),
    full(20, "writev", io::writev),
    full(21, "access", fs::access),
    full(22, "pipe", io::pipe),
    full(23, "select", poll::select),
    full(24, "sched_yield", proc::sched_yield),
    runtime(25, "mremap", MM),
    runtime(26, "msync", MM),
    no(27, "mincore", MM),
    runtime(28, "madvise", MM),
    no(29, "shmget", SYSV),
    no(30, "shmat", SYSV),
    no(31, "shmctl", SYSV),
    full(32, "dup", io::dup),
    full(33, "dup2", io::dup2),
    partial(
        34,
        "pause",
        signal::pause,
        "EINTR once a signal is delivered to a handler",
    ),
    full(35, "nanosleep", time::nanosleep),
    no(36, "getitimer", DELIVERY),
    no(37, "alarm", DELIVERY),
    no(38, "setitimer", DELIVERY),
    full(39, "getpid", proc::getpid),
    partial(
        40,
        "sendfile",
        io::sendfile,
        "copied through the host in 64 KiB pieces",
    ),
    no(41, "socket", NET),
    partial(42, "connect", fs::not_a_socket, NO_SOCKET),
    partial(43, "accept", fs::not_a_socket, NO_SOCKET),
    partial(44, "sendto", fs::not_a_socket, NO_SOCKET),
    partial(45, "recvfrom", fs::not_a_socket, NO_SOCKET),
    partial(46, "sendmsg", fs::not_a_socket, NO_SOCKET),
    partial(47, "recvmsg", fs::not_a_socket, NO_SOCKET),
    partial(48, "shutdown", fs::not_a_socket, NO_SOCKET),
    partial(49, "bind", fs::not_a_socket, NO_SOCKET),
    partial(50, "listen", fs::not_a_socket, NO_SOCKET),
    partial(51, "getsockname", fs::not_a_socket, NO_SOCKET),
    partial(52, "getpeername", fs::not_a_socket, NO_SOCKET),
    no(53, "socketpair", NET),
    partial(54, "setsockopt", fs::not_a_socket, NO_SOCKET),
    partial(55, "getsockopt", fs::not_a_socket, NO_SOCKET),
    runtime(56, "clone", FORK),
    runtime(57, "fork", FORK),
    runtime(58, "vfork", FORK),
    partial(
        59,
        "execve",
        proc::execve,
        "through the exec gate; the process goes on in a new instance of the allowed program (lifted or WASM); denied is EACCES",
    ),
    full(60, "exit", proc::exit),
    partial(
        61,
        "wait4",
        proc::wait4,
        "process-group waits (pid 0, pid < -1) wait for any child; the rusage is zeros",
    ),
    partial(
        62,
        "kill",
        signal::kill,
        "default actions (terminate, ignore), SIG_IGN and handlers are honoured; stop signals do nothing (no job control)",
    ),
    partial(
        63,
        "uname",
        proc::uname,
        "release 6.1.0-recompiler, machine x86_64, nodename from /etc/hostname",
    ),
    no(64, "semget", SYSV),
    no(65, "semop", SYSV),
    no(66, "semctl", SYSV),
    no(67, "shmdt", SYSV),
    no(68, "msgget", SYSV),
    no(69, "msgsnd", SYSV),
    no(70, "msgrcv", SYSV),
    no(71, "msgctl", SYSV),
    partial(
        72,
        "fcntl",
        io::fcntl,
        "record locks: F_GETLK says unlocked, F_SETLK/F_SETLKW succeed (one writer per container in practice); no leases, no owner signals, no seals",
    ),
    stub(73, "flock", io::flock, "succeeds without locking"),
    full(74, "fsync", io::fsync),
    full(75, "fdatasync", io::fsync),
    full(76, "truncate", fs::truncate),
    full(77, "ftruncate", io::ftruncate),
    full(78, "getdents", io::getdents),
    full(79, "getcwd", fs::getcwd),
    full(80, "chdir", fs::chdir),
    full(81, "fchdir", fs::fchdir),
    full(82, "rename", fs::rename),
    full(83, "mkdir", fs::mkdir),
    full(84, "rmdir", fs::rmdir),
    full(85, "creat", fs::creat),
    full(86, "link", fs::link),
    full(87, "unlink", fs::unlink),
    full(88, "symlink", fs::symlink),
    full(89, "readlink", fs::readlink),
    full(90, "chmod", fs::chmod),
    full(91, "fchmod", fs::fchmod),
    full(92, "chown", fs::chown),
    full(93, "fchown", fs::fchown),
    full(94, "lchown", fs::lchown),
    full(95, "umask", proc::umask),
    full(96, "gettimeofday", time::gettimeofday),
    full(97, "getrlimit", proc::getrlimit),
    partial(
        98,
        "getrusage",
        proc::getrusage,
        "user time is the process's wall time since it started; children and memory figures are zeros",
    ),
    partial(
        99,
        "sysinfo",
        proc::sysinfo,
        "1 GiB of RAM, no swap, load 0; uptime from the vkernel's start",
    ),
    partial(
        100,
        "times",
        proc::times,
        "user time is the process's wall time since it started; children's are zeros",
    ),
    no(101, "ptrace", PRIV),
    full(102, "getuid", proc::getuid),
    no(103, "syslog", "no kernel log"),
    full(104, "getgid", proc::getgid),
    partial(
        105,
        "setuid",
        proc::setuid,
        "credentials are root's: setting them to 0 succeeds, anything else is EPERM",
    ),
    partial(
        106,
        "setgid",
        proc::setgid,
        "credentials are root's: setting them to 0 succeeds, anything else is EPERM",
    ),
    full(107, "geteuid", proc::getuid),
    full(108, "getegid", proc::getgid),
    partial(
        109,
        "setpgid",
        proc::setpgid,
        "process groups are recorded for lifted processes (kill and getpgid see them); WASM processes are each their own group",
    ),
    full(110, "getppid", proc::getppid),
    full(111, "getpgrp", proc::getpgrp),
    full(112, "setsid", proc::setsid),
    partial(
        113,
        "setreuid",
        proc::setreuid,
        "credentials are root's: setting them to 0 succeeds, anything else is EPERM",
    ),
    partial(
        114,
        "setregid",
        proc::setreuid,
        "credentials are root's: setting them to 0 succeeds, anything else is EPERM",
    ),
    full(115, "getgroups", proc::getgroups),
    partial(
        116,
        "setgroups",
        proc::setgroups,
        "only the groups root has (none or 0)",
    ),
    partial(
        117,
        "setresuid",
        proc::setresuid,
        "credentials are root's: setting them to 0 succeeds, anything else is EPERM",
    ),
    full(118, "getresuid", proc::getresuid),
    partial(
        119,
        "setresgid",
        proc::setresuid,
        "credentials are root's: setting them to 0 succeeds, anything else is EPERM",
    ),
    full(120, "getresgid", proc::getresuid),
    full(121, "getpgid", proc::getpgid),
    stub(
        122,
        "setfsuid",
        proc::setfsuid,
        "returns 0 (root) and changes nothing",
    ),
    stub(
        123,
        "setfsgid",
        proc::setfsuid,
        "returns 0 (root) and changes nothing",
    ),
    full(124, "getsid", proc::getsid),
    partial(
        125,
        "capget",
        proc::capget,
        "Docker's default capability set, for every process",
    ),
    stub(126, "capset", proc::capset, "EPERM: capabilities are fixed"),
    full(127, "rt_sigpending", signal::rt_sigpending),
    partial(
        128,
        "rt_sigtimedwait",
        signal::rt_sigtimedwait,
        "takes a pending signal of the set; otherwise waits for the timeout (EAGAIN) or until the process is stopped",
    ),
    no(129, "rt_sigqueueinfo", DELIVERY),
    partial(
        130,
        "rt_sigsuspend",
        signal::rt_sigsuspend,
        "the mask is replaced until a signal is delivered to a handler; its frame restores the old one",
    ),
    partial(
        131,
        "sigaltstack",
        signal::sigaltstack,
        "handlers with SA_ONSTACK run on it; SS_AUTODISARM honoured",
    ),
    full(132, "utime", fs::utime),
    partial(
        133,
        "mknod",
        fs::mknod,
        "fifos and regular files; device nodes and sockets are EPERM",
    ),
    no(134, "uselib", OBSOLETE),
    partial(
        135,
        "personality",
        proc::personality,
        "PER_LINUX only: queries and setting PER_LINUX succeed",
    ),
    no(136, "ustat", OBSOLETE),
    partial(
        137,
        "statfs",
        fs::statfs,
        "a tmpfs-like answer sized by the container's writable-layer limit",
    ),
    partial(
        138,
        "fstatfs",
        io::fstatfs,
        "a tmpfs-like answer sized by the container's writable-layer limit",
    ),
    no(139, "sysfs", OBSOLETE),
    stub(
        140,
        "getpriority",
        proc::getpriority,
        "every process has nice 0",
    ),
    stub(
        141,
        "setpriority",
        proc::setpriority,
        "accepted, nothing changes",
    ),
    stub(
        142,
        "sched_setparam",
        proc::sched_setparam,
        "SCHED_OTHER priority 0 only",
    ),
    stub(
        143,
        "sched_getparam",
        proc::sched_getparam,
        "SCHED_OTHER priority 0",
    ),
    stub(
        144,
        "sched_setscheduler",
        proc::sched_setscheduler,
        "SCHED_OTHER (and BATCH, IDLE) accepted, real-time policies EPERM",
    ),
    stub(
        145,
        "sched_getscheduler",
        proc::sched_getscheduler,
        "SCHED_OTHER",
    ),
    full(146, "sched_get_priority_max", proc::sched_get_priority_max),
    full(147, "sched_get_priority_min", proc::sched_get_priority_min),
    stub(
        148,
        "sched_rr_get_interval",
        proc::sched_rr_get_interval,
        "100 ms",
    ),
    runtime(149, "mlock", MM),
    runtime(150, "munlock", MM),
    runtime(151, "mlockall", MM),
    runtime(152, "munlockall", MM),
    no(153, "vhangup", PRIV),
    no(
        154,
        "modify_ldt",
        "no LDT: the runtime emulates 64-bit code only",
    ),
    no(155, "pivot_root", PRIV),
    no(156, "_sysctl", OBSOLETE),
    partial(
        157,
        "prctl",
        proc::prctl,
        "PR_SET_NAME/PR_GET_NAME, PR_SET/GET_DUMPABLE, PR_SET/GET_PDEATHSIG, PR_SET/GET_NO_NEW_PRIVS, PR_SET/GET_CHILD_SUBREAPER (recorded, not acted on); others EINVAL",
    ),
    runtime(
        158,
        "arch_prctl",
        "FS/GS bases are registers of the runtime's CPU",
    ),
    no(159, "adjtimex", PRIV),
    partial(
        160,
        "setrlimit",
        proc::setrlimit,
        "stored per process and reported; the core enforces its own fd and process limits",
    ),
    no(161, "chroot", PRIV),
    full(162, "sync", io::sync),
    no(163, "acct", PRIV),
    stub(
        164,
        "settimeofday",
        time::settime,
        "EPERM: the container's clock is the host's",
    ),
    no(165, "mount", PRIV),
    no(166, "umount2", PRIV),
    no(167, "swapon", PRIV),
    no(168, "swapoff", PRIV),
    no(169, "reboot", PRIV),
    stub(
        170,
        "sethostname",
        proc::sethostname,
        "EPERM: the hostname is the image's /etc/hostname",
    ),
    stub(171, "setdomainname", proc::sethostname, "EPERM"),
    no(172, "iopl", PRIV),
    no(173, "ioperm", PRIV),
    no(174, "create_module", OBSOLETE),
    no(175, "init_module", PRIV),
    no(176, "delete_module", PRIV),
    no(177, "get_kernel_syms", OBSOLETE),
    no(178, "query_module", OBSOLETE),
    no(179, "quotactl", PRIV),
    no(180, "nfsservctl", OBSOLETE),
    no(181, "getpmsg", OBSOLETE),
    no(182, "putpmsg", OBSOLETE),
    no(183, "afs_syscall", OBSOLETE),
    no(184, "tuxcall", OBSOLETE),
    no(185, "security", OBSOLETE),
    full(186, "gettid", proc::getpid),
    stub(
        187,
        "readahead",
        io::readahead,
        "succeeds (files are in memory)",
    ),
    no(188, "setxattr", XATTR),
    no(189, "lsetxattr", XATTR),
    no(190, "fsetxattr", XATTR),
    no(191, "getxattr", XATTR),
    no(192, "lgetxattr", XATTR),
    no(193, "fgetxattr", XATTR),
    no(194, "listxattr", XATTR),
    no(195, "llistxattr", XATTR),
    no(196, "flistxattr", XATTR),
    no(197, "removexattr", XATTR),
    no(198, "lremovexattr", XATTR),
    no(199, "fremovexattr", XATTR),
    partial(
        200,
        "tkill",
        signal::tkill,
        "one thread per process: as kill of the process",
    ),
    full(201, "time", time::time),
    partial(
        202,
        "futex",
        poll::futex,
        "one thread per process: WAIT compares (EAGAIN on a mismatch), then sleeps for its timeout (ETIMEDOUT), without one until the process is stopped (nothing could wake it, as on Linux); WAKE and REQUEUE wake nobody; WAKE_OP does its operation; PI futexes ENOSYS",
    ),
    stub(
        203,
        "sched_setaffinity",
        proc::sched_setaffinity,
        "one CPU: a mask with CPU 0 succeeds",
    ),
    full(204, "sched_getaffinity", proc::sched_getaffinity),
    no(
        205,
        "set_thread_area",
        "32-bit TLS; the runtime runs 64-bit code only",
    ),
    no(206, "io_setup", AIO),
    no(207, "io_destroy", AIO),
    no(208, "io_getevents", AIO),
    no(209, "io_submit", AIO),
    no(210, "io_cancel", AIO),
    no(
        211,
        "get_thread_area",
        "32-bit TLS; the runtime runs 64-bit code only",
    ),
    no(212, "lookup_dcookie", OBSOLETE),
    no(213, "epoll_create", FDKINDS),
    no(214, "epoll_ctl_old", OBSOLETE),
    no(215, "epoll_wait_old", OBSOLETE),
    no(216, "remap_file_pages", MM),
    full(217, "getdents64", io::getdents64),
    partial(
        218,
        "set_tid_address",
        proc::set_tid_address,
        "returns the tid (the pid); the address is not cleared at exit (no threads)",
    ),
    no(219, "restart_syscall", DELIVERY),
    no(220, "semtimedop", SYSV),
    full(221, "fadvise64", io::fadvise64),
    no(222, "timer_create", DELIVERY),
    no(223, "timer_settime", DELIVERY),
    no(224, "timer_gettime", DELIVERY),
    no(225, "timer_getoverrun", DELIVERY),
    no(226, "timer_delete", DELIVERY),
    stub(
        227,
        "clock_settime",
        time::settime,
        "EPERM: the container's clock is the host's",
    ),
    partial(
        228,
        "clock_gettime",
        time::clock_gettime,
        "CPU-time clocks count the process's wall time since it started",
    ),
    full(229, "clock_getres", time::clock_getres),
    partial(
        230,
        "clock_nanosleep",
        time::clock_nanosleep,
        "CPU-time clocks are EINVAL",
    ),
    full(231, "exit_group", proc::exit),
    no(232, "epoll_wait", FDKINDS),
    no(233, "epoll_ctl", FDKINDS),
    partial(
        234,
        "tgkill",
        signal::tgkill,
        "one thread per process: as kill of the process",
    ),
    full(235, "utimes", fs::utimes),
    no(236, "vserver", OBSOLETE),
    no(237, "mbind", NUMA),
    no(238, "set_mempolicy", NUMA),
    no(239, "get_mempolicy", NUMA),
    no(240, "mq_open", MQ),
    no(241, "mq_unlink", MQ),
    no(242, "mq_timedsend", MQ),
    no(243, "mq_timedreceive", MQ),
    no(244, "mq_notify", MQ),
    no(245, "mq_getsetattr", MQ),
    no(246, "kexec_load", PRIV),
    partial(
        247,
        "waitid",
        proc::waitid,
        "P_PGID waits for any child; WSTOPPED/WCONTINUED never report (no job control); the rusage is zeros",
    ),
    no(248, "add_key", "no keyrings"),
    no(249, "request_key", "no keyrings"),
    no(250, "keyctl", "no keyrings"),
    stub(
        251,
        "ioprio_set",
        proc::setpriority,
        "accepted, nothing changes",
    ),
    stub(
        252,
        "ioprio_get",
        proc::ioprio_get,
        "IOPRIO_CLASS_BE level 4",
    ),
    no(253, "inotify_init", FDKINDS),
    no(254, "inotify_add_watch", FDKINDS),
    no(255, "inotify_rm_watch", FDKINDS),
    no(256, "migrate_pages", NUMA),
    full(257, "openat", fs::openat),
    full(258, "mkdirat", fs::mkdirat),
    partial(
        259,
        "mknodat",
        fs::mknodat,
        "fifos and regular files; device nodes and sockets are EPERM",
    ),
    full(260, "fchownat", fs::fchownat),
    full(261, "futimesat", fs::futimesat),
    full(262, "newfstatat", fs::newfstatat),
    full(263, "unlinkat", fs::unlinkat),
    full(264, "renameat", fs::renameat),
    full(265, "linkat", fs::linkat),
    full(266, "symlinkat", fs::symlinkat),
    full(267, "readlinkat", fs::readlinkat),
    full(268, "fchmodat", fs::fchmodat),
    full(269, "faccessat", fs::faccessat),
    partial(
        270,
        "pselect6",
        poll::pselect6,
        "the signal mask argument is accepted and not applied (no delivery yet)",
    ),
    partial(
        271,
        "ppoll",
        poll::ppoll,
        "the signal mask argument is accepted and not applied (no delivery yet)",
    ),
    no(272, "unshare", PRIV),
    stub(
        273,
        "set_robust_list",
        proc::set_robust_list,
        "recorded nowhere: one thread per process, no robust futexes to clean up",
    ),
    no(274, "get_robust_list", "robust lists are not kept"),
    no(275, "splice", FDKINDS),
    no(276, "tee", FDKINDS),
    stub(
        277,
        "sync_file_range",
        io::fsync,
        "succeeds (files are in memory)",
    ),
    no(278, "vmsplice", FDKINDS),
    no(279, "move_pages", NUMA),
    full(280, "utimensat", fs::utimensat),
    no(281, "epoll_pwait", FDKINDS),
    no(282, "signalfd", FDKINDS),
    no(283, "timerfd_create", FDKINDS),
    no(284, "eventfd", FDKINDS),
    partial(
        285,
        "fallocate",
        io::fallocate,
        "mode 0 (extend) only; other modes EOPNOTSUPP",
    ),
    no(286, "timerfd_settime", FDKINDS),
    no(287, "timerfd_gettime", FDKINDS),
    partial(288, "accept4", fs::not_a_socket, NO_SOCKET),
    no(289, "signalfd4", FDKINDS),
    no(290, "eventfd2", FDKINDS),
    no(291, "epoll_create1", FDKINDS),
    full(292, "dup3", io::dup3),
    full(293, "pipe2", io::pipe2),
    no(294, "inotify_init1", FDKINDS),
    full(295, "preadv", io::preadv),
    full(296, "pwritev", io::pwritev),
    no(297, "rt_tgsigqueueinfo", DELIVERY),
    no(298, "perf_event_open", PRIV),
    partial(299, "recvmmsg", fs::not_a_socket, NO_SOCKET),
    no(300, "fanotify_init", FDKINDS),
    no(301, "fanotify_mark", FDKINDS),
    partial(
        302,
        "prlimit64",
        proc::prlimit64,
        "the caller's own limits only (another pid: EPERM); stored and reported, the core enforces its own fd and process limits",
    ),
    no(303, "name_to_handle_at", "no file handles"),
    no(304, "open_by_handle_at", "no file handles"),
    no(305, "clock_adjtime", PRIV),
    full(306, "syncfs", io::syncfs),
    partial(307, "sendmmsg", fs::not_a_socket, NO_SOCKET),
    no(308, "setns", PRIV),
    full(309, "getcpu", proc::getcpu),
    no(310, "process_vm_readv", PRIV),
    no(311, "process_vm_writev", PRIV),
    no(312, "kcmp", PRIV),
    no(313, "finit_module", PRIV),
    no(
        314,
        "sched_setattr",
        "SCHED_OTHER only; use sched_setscheduler",
    ),
    no(
        315,
        "sched_getattr",
        "SCHED_OTHER only; use sched_getscheduler",
    ),
    full(316, "renameat2", fs::renameat2),
    no(317, "seccomp", PRIV),
    full(318, "getrandom", proc::getrandom),
    partial(
        319,
        "memfd_create",
        io::memfd_create,
        "an unlinked file of the container's writable layer (charged to it); no seals, no huge pages",
    ),
    no(320, "kexec_file_load", PRIV),
    no(321, "bpf", PRIV),
    partial(
        322,
        "execveat",
        proc::execveat,
        "an absolute path or AT_FDCWD only; a directory fd or AT_EMPTY_PATH is ENOSYS",
    ),
    no(323, "userfaultfd", MM),
    no(
        324,
        "membarrier",
        "one thread per process: glibc does not need it",
    ),
    runtime(325, "mlock2", MM),
    partial(
        326,
        "copy_file_range",
        io::copy_file_range,
        "regular files, copied through the host",
    ),
    partial(
        327,
        "preadv2",
        io::preadv2,
        "flags are accepted and ignored",
    ),
    partial(
        328,
        "pwritev2",
        io::pwritev2,
        "flags other than RWF_APPEND are accepted and ignored",
    ),
    runtime(329, "pkey_mprotect", MM),
    no(330, "pkey_alloc", MM),
    no(331, "pkey_free", MM),
    partial(
        332,
        "statx",
        fs::statx,
        "the basic fields (STATX_BASIC_STATS); no birth time, no attributes",
    ),
    no(333, "io_pgetevents", AIO),
    no(
        334,
        "rseq",
        "glibc runs without restartable sequences when this is ENOSYS",
    ),
    no(424, "pidfd_send_signal", FDKINDS),
    no(425, "io_uring_setup", AIO),
    no(426, "io_uring_enter", AIO),
    no(427, "io_uring_register", AIO),
    no(428, "open_tree", PRIV),
    no(429, "move_mount", PRIV),
    no(430, "fsopen", PRIV),
    no(431, "fsconfig", PRIV),
    no(432, "fsmount", PRIV),
    no(433, "fspick", PRIV),
    no(434, "pidfd_open", FDKINDS),
    no(
        435,
        "clone3",
        "threads and clone3-based spawning are not supported; glibc falls back to clone",
    ),
    full(436, "close_range", io::close_range),
    no(
        437,
        "openat2",
        "RESOLVE_* path restrictions are not implemented; glibc falls back to openat",
    ),
    no(438, "pidfd_getfd", FDKINDS),
    full(439, "faccessat2", fs::faccessat2),
    no(440, "process_madvise", MM),
    no(441, "epoll_pwait2", FDKINDS),
    no(442, "mount_setattr", PRIV),
    no(443, "quotactl_fd", PRIV),
    no(444, "landlock_create_ruleset", PRIV),
    no(445, "landlock_add_rule", PRIV),
    no(446, "landlock_restrict_self", PRIV),
    no(447, "memfd_secret", MM),
    no(448, "process_mrelease", PRIV),
    no(
        449,
        "futex_waitv",
        "futex2 is not implemented; glibc uses futex",
    ),
    no(450, "set_mempolicy_home_node", NUMA),
    no(451, "cachestat", MM),
    full(452, "fchmodat2", fs::fchmodat2),
    no(453, "map_shadow_stack", MM),
    no(
        454,
        "futex_wake",
        "futex2 is not implemented; glibc uses futex",
    ),
    no(
        455,
        "futex_wait",
        "futex2 is not implemented; glibc uses futex",
    ),
    no(
        456,
        "futex_requeue",
        "futex2 is not implemented; glibc uses futex",
    ),
    no(457, "statmount", PRIV),
    no(458, "listmount", PRIV),
    no(459, "lsm_get_self_attr", "no Linux security modules"),
    no(460, "lsm_set_self_attr", "no Linux security modules"),
    no(461, "lsm_list_modules", "no Linux security modules"),
    no(462, "mseal", MM),
];

/// The table's entry for `nr`.
pub fn lookup(nr: u32) -> Option<&'static Syscall> {
    SYSCALLS
        .binary_search_by_key(&nr, |s| s.nr)
        .ok()
        .map(|i| &SYSCALLS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_and_complete() {
        for w in SYSCALLS.windows(2) {
            assert!(w[0].nr < w[1].nr, "{:?} then {:?}", w[0], w[1]);
        }
        // Every number from 0 to 334 and from 424 to 462: the x86-64 table has no gaps there.
        let nrs: Vec<u32> = SYSCALLS.iter().map(|s| s.nr).collect();
        let want: Vec<u32> = (0..=334).chain(424..=462).collect();
        assert_eq!(nrs, want);
        for s in SYSCALLS {
            let has = s.handler.is_some();
            let should = matches!(
                s.support,
                Support::Full | Support::Partial(_) | Support::Stub(_)
            );
            assert_eq!(has, should, "{}", s.name);
        }
    }

    /// The names agree with the host's `<asm/unistd_64.h>` where it is installed.
    #[test]
    fn names_match_the_host_headers() {
        let Ok(h) = std::fs::read_to_string("/usr/include/x86_64-linux-gnu/asm/unistd_64.h") else {
            return;
        };
        let mut checked = 0;
        for line in h.lines() {
            let mut w = line.split_whitespace();
            if let (Some("#define"), Some(name), Some(nr)) = (w.next(), w.next(), w.next())
                && let (Some(name), Ok(nr)) = (name.strip_prefix("__NR_"), nr.parse::<u32>())
            {
                let entry = lookup(nr).unwrap_or_else(|| panic!("{nr} {name} missing"));
                assert_eq!(entry.name, name, "syscall {nr}");
                checked += 1;
            }
        }
        assert!(checked > 300);
    }
}
