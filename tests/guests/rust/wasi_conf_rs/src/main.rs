//! wasi_conf_rs [CASE|all]: the Rust half of the WASI preview1 conformance suite.
//!
//! Goes through Rust's std (which calls preview1 through wasi-libc) on the fixture
//! tree that crates/vkernel/tests/all/conformance.rs builds under /fixture, and calls
//! directly, through the raw imports of [`raw`], what std does not reach (rights,
//! renumbering, signals, polling, sockets, the cputime clocks). Prints one line per
//! check, `CASE: WHAT -> ok ...` or `CASE: WHAT -> errno N NAME`, and only what both
//! runtimes must agree on (no inode numbers, timestamps of the fixture, random bytes).
//!
//! Writes only under /fixture/scratch. Exit status: 0 after the cases ran; `exit`
//! ends the process with `proc_exit(7)`; 2 for an unknown case (with the usage on stdout).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime};

/// The preview1 functions std does not expose, imported as they are.
mod raw {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        pub fn args_sizes_get(argc: *mut u32, buf_size: *mut u32) -> i32;
        pub fn args_get(argv: *mut *mut u8, buf: *mut u8) -> i32;
        pub fn environ_sizes_get(count: *mut u32, buf_size: *mut u32) -> i32;
        pub fn environ_get(environ: *mut *mut u8, buf: *mut u8) -> i32;
        pub fn clock_res_get(id: u32, res: *mut u64) -> i32;
        pub fn clock_time_get(id: u32, precision: u64, time: *mut u64) -> i32;
        pub fn fd_fdstat_get(fd: u32, stat: *mut u8) -> i32;
        pub fn fd_fdstat_set_flags(fd: u32, flags: u32) -> i32;
        pub fn fd_fdstat_set_rights(fd: u32, base: u64, inheriting: u64) -> i32;
        pub fn fd_renumber(from: u32, to: u32) -> i32;
        pub fn fd_advise(fd: u32, offset: u64, len: u64, advice: u32) -> i32;
        pub fn fd_allocate(fd: u32, offset: u64, len: u64) -> i32;
        pub fn poll_oneoff(subs: *const u8, events: *mut u8, n: u32, nevents: *mut u32) -> i32;
        pub fn proc_raise(signal: u32) -> i32;
        pub fn sched_yield() -> i32;
        pub fn random_get(buf: *mut u8, len: u32) -> i32;
        pub fn sock_accept(fd: u32, flags: u32, out: *mut u32) -> i32;
        pub fn sock_recv(
            fd: u32,
            iovs: *const u8,
            n: u32,
            flags: u32,
            len: *mut u32,
            oflags: *mut u32,
        ) -> i32;
        pub fn sock_send(fd: u32, iovs: *const u8, n: u32, flags: u32, len: *mut u32) -> i32;
        pub fn sock_shutdown(fd: u32, how: u32) -> i32;
        pub fn proc_exit(status: u32) -> !;
    }
}

/// The preview1 errno names, by number.
#[rustfmt::skip]
const ERRNO_NAMES: &[&str] = &[
    "SUCCESS", "2BIG", "ACCES", "ADDRINUSE", "ADDRNOTAVAIL", "AFNOSUPPORT", "AGAIN",
    "ALREADY", "BADF", "BADMSG", "BUSY", "CANCELED", "CHILD", "CONNABORTED",
    "CONNREFUSED", "CONNRESET", "DEADLK", "DESTADDRREQ", "DOM", "DQUOT", "EXIST",
    "FAULT", "FBIG", "HOSTUNREACH", "IDRM", "ILSEQ", "INPROGRESS", "INTR", "INVAL", "IO",
    "ISCONN", "ISDIR", "LOOP", "MFILE", "MLINK", "MSGSIZE", "MULTIHOP", "NAMETOOLONG",
    "NETDOWN", "NETRESET", "NETUNREACH", "NFILE", "NOBUFS", "NODEV", "NOENT", "NOEXEC",
    "NOLCK", "NOLINK", "NOMEM", "NOMSG", "NOPROTOOPT", "NOSPC", "NOSYS", "NOTCONN",
    "NOTDIR", "NOTEMPTY", "NOTRECOVERABLE", "NOTSOCK", "NOTSUP", "NOTTY", "NXIO",
    "OVERFLOW", "OWNERDEAD", "PERM", "PIPE", "PROTO", "PROTONOSUPPORT", "PROTOTYPE",
    "RANGE", "ROFS", "SPIPE", "SRCH", "STALE", "TIMEDOUT", "TXTBSY", "XDEV", "NOTCAPABLE",
];

const ROOT: u32 = 3;
const NOFD: u32 = 77;
const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;
const CLOCK_PROCESS_CPUTIME: u32 = 2;
const CLOCK_THREAD_CPUTIME: u32 = 3;
const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_SEEK: u64 = 1 << 2;
const RIGHT_FD_WRITE: u64 = 1 << 6;
const FDFLAG_APPEND: u32 = 1;
const FDFLAG_NONBLOCK: u32 = 4;

/// The case running, for the line prefix.
struct Out {
    case: &'static str,
}

impl Out {
    /// `CASE: WHAT -> ok` or `CASE: WHAT -> errno N NAME` for a raw errno; true on success.
    fn errno(&self, what: &str, e: i32) -> bool {
        if e == 0 {
            println!("{}: {what} -> ok", self.case);
        } else {
            let name = usize::try_from(e)
                .ok()
                .and_then(|i| ERRNO_NAMES.get(i))
                .unwrap_or(&"?");
            println!("{}: {what} -> errno {e} {name}", self.case);
        }
        e == 0
    }

    /// `CASE: WHAT -> ok DETAIL`.
    fn ok(&self, what: &str, detail: impl std::fmt::Display) {
        println!("{}: {what} -> ok {detail}", self.case);
    }

    /// A std result: `ok DETAIL`, or the error as its kind and preview1 errno.
    fn io<T>(
        &self,
        what: &str,
        r: std::io::Result<T>,
        detail: impl FnOnce(&T) -> String,
    ) -> Option<T> {
        match r {
            Ok(v) => {
                let d = detail(&v);
                if d.is_empty() {
                    println!("{}: {what} -> ok", self.case);
                } else {
                    println!("{}: {what} -> ok {d}", self.case);
                }
                Some(v)
            }
            Err(e) => {
                self.io_err(what, &e);
                None
            }
        }
    }

    fn io_err(&self, what: &str, e: &std::io::Error) {
        let code = e.raw_os_error().unwrap_or(-1);
        let name = usize::try_from(code)
            .ok()
            .and_then(|i| ERRNO_NAMES.get(i))
            .unwrap_or(&"?");
        println!(
            "{}: {what} -> error {:?} errno {code} {name}",
            self.case,
            e.kind()
        );
    }
}

fn nothing<T>(_: &T) -> String {
    String::new()
}

/// (filetype, flags, rights_base, rights_inheriting) of `fd`, or the errno.
fn fdstat(fd: u32) -> Result<(u8, u16, u64, u64), i32> {
    let mut buf = [0u8; 24];
    // SAFETY: `buf` is the 24 bytes of a preview1 fdstat.
    let e = unsafe { raw::fd_fdstat_get(fd, buf.as_mut_ptr()) };
    if e != 0 {
        return Err(e);
    }
    let u64_at = |i: usize| u64::from_le_bytes(buf[i..i + 8].try_into().expect("8 bytes"));
    Ok((
        buf[0],
        u16::from_le_bytes([buf[2], buf[3]]),
        u64_at(8),
        u64_at(16),
    ))
}

fn case_args(o: &Out) {
    let args: Vec<String> = std::env::args().collect();
    o.ok(
        "std::env::args",
        format!("{} args: {:?}", args.len(), &args[1..]),
    );
    let (mut argc, mut size) = (0u32, 0u32);
    // SAFETY: two valid u32 out-pointers.
    if o.errno("args_sizes_get", unsafe {
        raw::args_sizes_get(&mut argc, &mut size)
    }) {
        o.ok("sizes", format!("argc {argc} bytes {size}"));
        let mut ptrs = vec![std::ptr::null_mut::<u8>(); argc as usize];
        let mut buf = vec![0u8; size as usize];
        // SAFETY: room for argc pointers and size bytes, as args_sizes_get said.
        let e = unsafe { raw::args_get(ptrs.as_mut_ptr(), buf.as_mut_ptr()) };
        if o.errno("args_get", e) {
            let last = buf.split(|&b| b == 0).nth(argc as usize - 1).unwrap_or(&[]);
            o.ok("last arg", String::from_utf8_lossy(last));
        }
    }
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.sort();
    o.ok("std::env::vars", format!("{vars:?}"));
    o.ok(
        "env::var missing",
        format!("{:?}", std::env::var("CONF_MISSING").ok()),
    );
    let (mut count, mut size) = (0u32, 0u32);
    // SAFETY: two valid u32 out-pointers.
    if o.errno("environ_sizes_get", unsafe {
        raw::environ_sizes_get(&mut count, &mut size)
    }) {
        o.ok("sizes", format!("count {count} bytes {size}"));
        let mut ptrs = vec![std::ptr::null_mut::<u8>(); count as usize];
        let mut buf = vec![0u8; size as usize];
        // SAFETY: room for count pointers and size bytes, as environ_sizes_get said.
        let e = unsafe { raw::environ_get(ptrs.as_mut_ptr(), buf.as_mut_ptr()) };
        if o.errno("environ_get", e) {
            o.ok("ends with NUL", buf.last() == Some(&0));
        }
    }
}

fn case_stdin(o: &Out) {
    let mut s = String::new();
    o.io("read stdin", std::io::stdin().read_to_string(&mut s), |n| {
        format!("{n} bytes {s:?}")
    });
    let mut more = [0u8; 4];
    o.io("read stdin at end", std::io::stdin().read(&mut more), |n| {
        format!("{n}")
    });
}

fn case_fs(o: &Out) {
    o.io(
        "read_to_string hello",
        fs::read_to_string("/fixture/hello.txt"),
        |s| format!("{s:?}"),
    );
    o.io(
        "read_to_string via link",
        fs::read_to_string("/fixture/link"),
        |s| format!("{s:?}"),
    );
    o.io("read missing", fs::read("/fixture/missing"), nothing);
    o.io("read directory", fs::read("/fixture/dir"), nothing);
    o.io("metadata hello", fs::metadata("/fixture/hello.txt"), |m| {
        format!(
            "len {} file {} dir {} readonly {}",
            m.len(),
            m.is_file(),
            m.is_dir(),
            m.permissions().readonly()
        )
    });
    o.io("metadata exec.sh", fs::metadata("/fixture/exec.sh"), |m| {
        format!("len {} file {}", m.len(), m.is_file())
    });
    o.io(
        "symlink_metadata link",
        fs::symlink_metadata("/fixture/link"),
        |m| format!("symlink {} len {}", m.file_type().is_symlink(), m.len()),
    );
    o.io("metadata dirlink", fs::metadata("/fixture/dirlink"), |m| {
        format!("dir {}", m.is_dir())
    });
    o.io(
        "metadata dangling",
        fs::metadata("/fixture/dangling"),
        nothing,
    );
    o.io("read_link link", fs::read_link("/fixture/link"), |p| {
        format!("{}", p.display())
    });
    o.io(
        "read_link file",
        fs::read_link("/fixture/hello.txt"),
        nothing,
    );
    match fs::read_dir("/fixture/dir") {
        Ok(rd) => {
            let mut names: Vec<String> = rd
                .map(|e| {
                    e.map(|e| {
                        let t = e.file_type().map(|t| {
                            if t.is_dir() {
                                "dir"
                            } else if t.is_symlink() {
                                "symlink"
                            } else {
                                "file"
                            }
                        });
                        format!("{}({})", e.file_name().to_string_lossy(), t.unwrap_or("?"))
                    })
                    .unwrap_or_else(|e| format!("error {e}"))
                })
                .collect();
            names.sort();
            o.ok("read_dir dir", names.join(" "));
        }
        Err(e) => o.io_err("read_dir dir", &e),
    }
    o.io(
        "read_dir missing",
        fs::read_dir("/fixture/missing").map(|_| ()),
        nothing,
    );
    o.io(
        "read_dir file",
        fs::read_dir("/fixture/hello.txt").map(|_| ()),
        nothing,
    );

    let s = "/fixture/scratch";
    o.io(
        "create_dir_all",
        fs::create_dir_all(format!("{s}/a/b/c")),
        nothing,
    );
    o.io(
        "create_dir existing",
        fs::create_dir(format!("{s}/a")),
        nothing,
    );
    o.io(
        "create_dir missing parent",
        fs::create_dir(format!("{s}/x/y")),
        nothing,
    );
    o.io("write", fs::write(format!("{s}/a/f.txt"), "one\n"), nothing);
    let opened = OpenOptions::new().append(true).open(format!("{s}/a/f.txt"));
    if let Some(mut f) = o.io("open append", opened, nothing) {
        o.io("append", f.write_all(b"two\n"), nothing);
    }
    o.io(
        "read back",
        fs::read_to_string(format!("{s}/a/f.txt")),
        |s| format!("{s:?}"),
    );
    let new = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(format!("{s}/a/f.txt"));
    o.io("create_new existing", new, nothing);
    let opened = OpenOptions::new()
        .read(true)
        .write(true)
        .open(format!("{s}/a/f.txt"));
    if let Some(mut f) = o.io("open read-write", opened, nothing) {
        o.io("seek end", f.seek(SeekFrom::End(-4)), |p| format!("{p}"));
        let mut buf = String::new();
        o.io("read from there", f.read_to_string(&mut buf), |_| {
            format!("{buf:?}")
        });
        o.io("seek start", f.seek(SeekFrom::Start(1)), |p| format!("{p}"));
        o.io("stream_position", f.stream_position(), |p| format!("{p}"));
        o.io("seek before start", f.seek(SeekFrom::Current(-10)), nothing);
        o.io("set_len", f.set_len(2), nothing);
        o.io("metadata len", f.metadata().map(|m| m.len()), |l| {
            format!("{l}")
        });
        o.io("sync_all", f.sync_all(), nothing);
        o.io("sync_data", f.sync_data(), nothing);
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_234_567_890, 5);
        let times = fs::FileTimes::new().set_accessed(t).set_modified(t);
        o.io("set_times", f.set_times(times), nothing);
        o.io("modified", f.metadata().and_then(|m| m.modified()), |m| {
            format!("{:?}", m.duration_since(SystemTime::UNIX_EPOCH).ok())
        });
        let fd = f.as_raw_fd() as u32;
        // SAFETY: plain integers.
        o.errno("fd_advise willneed", unsafe { raw::fd_advise(fd, 0, 2, 3) });
        // SAFETY: plain integers.
        o.errno("fd_allocate", unsafe { raw::fd_allocate(fd, 0, 10) });
    }
    let mut ro = File::open("/fixture/hello.txt").expect("the fixture has hello.txt");
    o.io("write to read-only file", ro.write(b"x"), nothing);
    o.io("set_len read-only file", ro.set_len(0), nothing);
    o.io(
        "copy",
        fs::copy("/fixture/hello.txt", format!("{s}/copy.txt")),
        |n| format!("{n}"),
    );
    o.io(
        "hard_link",
        fs::hard_link(format!("{s}/copy.txt"), format!("{s}/hard.txt")),
        nothing,
    );
    o.io(
        "rename",
        fs::rename(format!("{s}/hard.txt"), format!("{s}/a/b/moved.txt")),
        nothing,
    );
    o.io(
        "rename missing",
        fs::rename(format!("{s}/none"), format!("{s}/x")),
        nothing,
    );
    o.io(
        "remove_file directory",
        fs::remove_file(format!("{s}/a")),
        nothing,
    );
    o.io(
        "remove_dir non-empty",
        fs::remove_dir(format!("{s}/a")),
        nothing,
    );
    o.io(
        "remove_dir file",
        fs::remove_dir(format!("{s}/copy.txt")),
        nothing,
    );
    o.io(
        "remove_dir_all",
        fs::remove_dir_all(format!("{s}/a")),
        nothing,
    );
    o.io(
        "exists after remove_dir_all",
        fs::exists(format!("{s}/a")),
        |b| format!("{b}"),
    );
    o.io(
        "remove_file",
        fs::remove_file(format!("{s}/copy.txt")),
        nothing,
    );
    o.io(
        "remove_file missing",
        fs::remove_file(format!("{s}/copy.txt")),
        nothing,
    );
    match fs::read_dir(s) {
        Ok(rd) => {
            let mut names: Vec<String> = rd
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            o.ok("scratch left", names.join(" "));
        }
        Err(e) => o.io_err("scratch left", &e),
    }
    o.io(
        "set_permissions",
        fs::set_permissions(
            "/fixture/exec.sh",
            fs::metadata("/fixture/exec.sh")
                .expect("exec.sh")
                .permissions(),
        ),
        nothing,
    );
    o.io("canonicalize", fs::canonicalize("/fixture/link"), |p| {
        format!("{}", p.display())
    });
    o.io("current_dir", std::env::current_dir(), |p| {
        format!("{}", p.display())
    });
    o.io(
        "set_current_dir",
        std::env::set_current_dir("/fixture/dir"),
        nothing,
    );
    o.io(
        "relative read after chdir",
        fs::read_to_string("a.txt"),
        |s| format!("{s:?}"),
    );
    o.io(
        "set_current_dir back",
        std::env::set_current_dir("/"),
        nothing,
    );
}

fn case_rights(o: &Out) {
    let f = File::open("/fixture/hello.txt").expect("the fixture has hello.txt");
    let fd = f.as_raw_fd() as u32;
    let Ok((t, flags, base, inh)) = fdstat(fd) else {
        o.ok("fdstat read-only file", "failed");
        return;
    };
    o.ok(
        "fdstat read-only file",
        format!("type {t} flags {flags} base {base:#x} inheriting {inh:#x}"),
    );
    // Setting or shrinking: an intended difference (wasmtime-wasi 48 answers NOTSUP).
    // SAFETY: plain integers.
    o.errno("fd_fdstat_set_rights same rights", unsafe {
        raw::fd_fdstat_set_rights(fd, base, inh)
    });
    // SAFETY: plain integers.
    o.errno("fd_fdstat_set_rights unused fd", unsafe {
        raw::fd_fdstat_set_rights(NOFD, 0, 0)
    });
    // SAFETY: plain integers.
    o.errno("fd_fdstat_set_rights shrink to read", unsafe {
        raw::fd_fdstat_set_rights(fd, RIGHT_FD_READ | RIGHT_FD_SEEK, 0)
    });
    // SAFETY: plain integers.
    o.errno("fd_fdstat_set_rights grow", unsafe {
        raw::fd_fdstat_set_rights(fd, RIGHT_FD_READ | RIGHT_FD_SEEK | RIGHT_FD_WRITE, 0)
    });
}

fn case_renumber(o: &Out) {
    let a = File::open("/fixture/hello.txt").expect("hello.txt");
    let b = File::open("/fixture/dir/b.txt").expect("dir/b.txt");
    let (fa, fb) = (a.as_raw_fd() as u32, b.as_raw_fd() as u32);
    std::mem::forget(a);
    // SAFETY: plain integers; `a`'s fd is forgotten, so nothing closes it twice.
    if o.errno("fd_renumber", unsafe { raw::fd_renumber(fa, fb) }) {
        let mut b = b;
        let mut s = String::new();
        o.io("read renumbered", b.read_to_string(&mut s), |_| {
            format!("{s:?}")
        });
        o.ok("old fd", format!("{:?}", fdstat(fa).err()));
    }
    // SAFETY: plain integers.
    o.errno("fd_renumber unused fd", unsafe {
        raw::fd_renumber(NOFD, 1)
    });
}

fn case_clocks(o: &Out) {
    let mut res = 0u64;
    for (name, id) in [("realtime", CLOCK_REALTIME), ("monotonic", CLOCK_MONOTONIC)] {
        // SAFETY: a valid u64 out-pointer.
        if o.errno(&format!("clock_res_get {name}"), unsafe {
            raw::clock_res_get(id, &mut res)
        }) {
            o.ok("positive", res > 0);
        }
    }
    // The cputime clocks: an intended difference (wasmtime-wasi answers BADF).
    for (name, id) in [
        ("process cputime", CLOCK_PROCESS_CPUTIME),
        ("thread cputime", CLOCK_THREAD_CPUTIME),
    ] {
        // SAFETY: a valid u64 out-pointer.
        o.errno(&format!("clock_res_get {name}"), unsafe {
            raw::clock_res_get(id, &mut res)
        });
        // SAFETY: a valid u64 out-pointer.
        o.errno(&format!("clock_time_get {name}"), unsafe {
            raw::clock_time_get(id, 0, &mut res)
        });
    }
    let t0 = std::time::Instant::now();
    std::thread::sleep(Duration::from_millis(2));
    o.ok(
        "sleep 2ms took at least 2ms",
        t0.elapsed() >= Duration::from_millis(2),
    );
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    o.ok("SystemTime after 2023", now.as_secs() > 1_700_000_000);
}

fn case_poll(o: &Out) {
    // One subscription: fd_read on stdin (which has data, then end of file).
    let mut sub = [0u8; 48];
    sub[0..8].copy_from_slice(&7u64.to_le_bytes());
    sub[8] = 1; // FD_READ
    sub[16..20].copy_from_slice(&0u32.to_le_bytes());
    let mut ev = [0u8; 32];
    let mut n = 0u32;
    // SAFETY: one 48-byte subscription in, room for one 32-byte event out.
    if o.errno("poll_oneoff stdin read", unsafe {
        raw::poll_oneoff(sub.as_ptr(), ev.as_mut_ptr(), 1, &mut n)
    }) {
        let userdata = u64::from_le_bytes(ev[0..8].try_into().expect("8 bytes"));
        let error = u16::from_le_bytes([ev[8], ev[9]]);
        o.ok(
            "event",
            format!("n {n} userdata {userdata} error {error} type {}", ev[10]),
        );
    }
    // A relative monotonic timeout of 1 ms.
    sub[8] = 0; // CLOCK
    sub[16..20].copy_from_slice(&CLOCK_MONOTONIC.to_le_bytes());
    sub[24..32].copy_from_slice(&1_000_000u64.to_le_bytes());
    // SAFETY: as above.
    if o.errno("poll_oneoff clock", unsafe {
        raw::poll_oneoff(sub.as_ptr(), ev.as_mut_ptr(), 1, &mut n)
    }) {
        o.ok("event", format!("n {n} type {}", ev[10]));
    }
    // A cputime clock is refused in a subscription...
    sub[16..20].copy_from_slice(&CLOCK_PROCESS_CPUTIME.to_le_bytes());
    sub[40..42].copy_from_slice(&1u16.to_le_bytes()); // ABSTIME
    // SAFETY: as above.
    let e = unsafe { raw::poll_oneoff(sub.as_ptr(), ev.as_mut_ptr(), 1, &mut n) };
    o.errno("poll_oneoff absolute cputime clock", e);
    // ...except alone and relative, which the vkernel (and wasmtime-wasi when it may
    // block the thread) takes as a plain sleep: an intended difference, one line.
    sub[40..42].copy_from_slice(&0u16.to_le_bytes());
    // SAFETY: as above.
    let e = unsafe { raw::poll_oneoff(sub.as_ptr(), ev.as_mut_ptr(), 1, &mut n) };
    if e == 0 {
        let error = u16::from_le_bytes([ev[8], ev[9]]);
        o.ok(
            "poll_oneoff relative cputime clock alone",
            format!("n {n} error {error} type {}", ev[10]),
        );
    } else {
        o.errno("poll_oneoff relative cputime clock alone", e);
    }
    // SAFETY: plain call.
    o.errno("sched_yield", unsafe { raw::sched_yield() });
}

fn case_misc(o: &Out) {
    let mut buf = [0u8; 32];
    // SAFETY: 32 writable bytes.
    if o.errno("random_get", unsafe {
        raw::random_get(buf.as_mut_ptr(), 32)
    }) {
        o.ok("not all zero", buf.iter().any(|&b| b != 0));
    }
    // SAFETY: plain integer.
    o.errno("proc_raise SIGTERM", unsafe { raw::proc_raise(15) });
    let mut out = 0u32;
    let iov = [0u8; 8];
    let (mut len, mut flags) = (0u32, 0u32);
    // SAFETY: valid out-pointers; the iovec list is empty.
    unsafe {
        o.errno("sock_accept stdin", raw::sock_accept(0, 0, &mut out));
        o.errno(
            "sock_recv stdout",
            raw::sock_recv(1, iov.as_ptr(), 0, 0, &mut len, &mut flags),
        );
        o.errno(
            "sock_send stdout",
            raw::sock_send(1, iov.as_ptr(), 0, 0, &mut len),
        );
        o.errno("sock_shutdown root", raw::sock_shutdown(ROOT, 3));
    }
    // Stdio flags: an intended difference (wasmtime-wasi answers BADF on its stdio).
    // SAFETY: plain integers.
    o.errno("fd_fdstat_set_flags stdout", unsafe {
        raw::fd_fdstat_set_flags(1, 0)
    });
    if let Ok((t, flags, base, inh)) = fdstat(1) {
        o.ok(
            "fdstat stdout",
            format!("type {t} flags {flags} base {base:#x} inheriting {inh:#x}"),
        );
    }
    let f = File::create("/fixture/scratch/flags.txt").expect("scratch is writable");
    let fd = f.as_raw_fd() as u32;
    // SAFETY: plain integers.
    o.errno("fd_fdstat_set_flags append", unsafe {
        raw::fd_fdstat_set_flags(fd, FDFLAG_APPEND)
    });
    // SAFETY: plain integers.
    o.errno("fd_fdstat_set_flags nonblock", unsafe {
        raw::fd_fdstat_set_flags(fd, FDFLAG_NONBLOCK)
    });
    if let Ok((_, flags, _, _)) = fdstat(fd) {
        o.ok("flags", flags);
    }
    eprintln!("wasi_conf_rs: a line on stderr");
}

const CASES: &[(&str, fn(&Out))] = &[
    ("args", case_args),
    ("stdin", case_stdin),
    ("fs", case_fs),
    ("rights", case_rights),
    ("renumber", case_renumber),
    ("clocks", case_clocks),
    ("poll", case_poll),
    ("misc", case_misc),
];

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    if which == "exit" {
        println!("exit: proc_exit(7)");
        std::io::stdout().flush().expect("stdout");
        // SAFETY: ends the process.
        unsafe { raw::proc_exit(7) }
    }
    let mut ran = 0;
    for (name, run) in CASES {
        if which == "all" || which == *name {
            run(&Out { case: name });
            ran += 1;
        }
    }
    if ran == 0 {
        // The usage on stdout, the complaint on stderr.
        let names: Vec<&str> = CASES.iter().map(|(name, _)| *name).collect();
        println!("usage: wasi_conf_rs all|exit|{}", names.join("|"));
        eprintln!("wasi_conf_rs: no case named {which}");
        std::process::exit(2);
    }
}
