//! `/proc` through a kernel's processes: what a process sees, what the host sees, and
//! what cannot be done.

use std::sync::Arc;

use crate::kernel::flags::{AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW};
use crate::kernel::stat::FileType;
use crate::kernel::testutil::{E, rootfs};
use crate::kernel::{
    Errno, ExitStatus, FdSource, FileDescription, Image, Interrupt, Kernel, Limits, OFlags,
    Process, SpawnSpec, View, pipe2,
};

use super::PROC_DEV;

fn kernel() -> Kernel {
    let fs = rootfs(&[
        E::File("/etc/passwd", 0o644, b"root:x:0:0\n"),
        E::File("/bin/sh", 0o755, b"#!sh"),
        E::Dir("/tmp", 0o1777),
    ]);
    Kernel::new(Arc::new(Image::from_rootfs(&fs)), Limits::default())
}

fn spawn(k: &Kernel, parent: Option<&Arc<Process>>, argv: &[&str]) -> Arc<Process> {
    let spec = SpawnSpec {
        argv: argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
        env: vec![(b"HOME".to_vec(), b"/".to_vec())],
        cwd: None,
        umask: None,
        fds: Vec::new(),
    };
    k.spawn(parent, spec).unwrap()
}

fn read(f: &FileDescription) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        let n = f.read(&mut buf, &Interrupt::new()).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn cat(v: &View<'_>, path: &str) -> KResultBytes {
    let f = v.openat(v.root(), path.as_bytes(), OFlags::RDONLY, 0)?;
    Ok(read(&f))
}

type KResultBytes = Result<Vec<u8>, Errno>;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ls(v: &View<'_>, path: &str) -> Vec<String> {
    let dir = v
        .openat(v.root(), path.as_bytes(), OFlags::DIRECTORY, 0)
        .unwrap();
    let mut names = Vec::new();
    dir.getdents(|d| {
        names.push(text(&d.name));
        true
    })
    .unwrap();
    names
}

fn readlink(v: &View<'_>, path: &str) -> Result<String, Errno> {
    v.readlinkat(v.root(), path.as_bytes()).map(|t| text(&t))
}

#[test]
fn self_is_the_caller_and_the_host_has_none() {
    let k = kernel();
    let init = spawn(&k, None, &["/bin/sh", "-c", "x"]);
    let child = spawn(&k, Some(&init), &["/bin/sh"]);
    let (vi, vc, host) = (
        k.vfs().view(init.pid()),
        k.vfs().view(child.pid()),
        k.vfs().host_view(),
    );
    assert_eq!(readlink(&vi, "/proc/self").unwrap(), "1");
    assert_eq!(readlink(&vc, "/proc/self").unwrap(), "2");
    assert_eq!(
        host.lookup(host.root(), b"/proc/self", false).err(),
        Some(Errno::ENOENT)
    );
    assert!(host.lookup(host.root(), b"/proc/2/status", true).is_ok());
    assert_eq!(ls(&vi, "/proc"), vec![".", "..", "self", "1", "2"]);
    assert_eq!(
        ls(&vi, "/proc/self"),
        vec![
            ".", "..", "cmdline", "comm", "cwd", "environ", "exe", "fd", "root", "stat", "status"
        ]
    );
    // `..` of /proc is the root; /proc is its own device.
    let root_ino = k.vfs().root().ino();
    assert_eq!(
        vi.lookup(vi.root(), b"/proc/self/..", true).unwrap().ino(),
        1
    );
    assert_eq!(
        vi.lookup(vi.root(), b"/proc/..", true).unwrap().ino(),
        root_ino
    );
    let st = vi.fstatat(vi.root(), b"/proc", 0).unwrap();
    assert_eq!(
        (st.dev, st.ino, st.mode, st.nlink),
        (PROC_DEV, 1, 0o040555, 4)
    );
    let st = vi
        .fstatat(vi.root(), b"/proc/self", AT_SYMLINK_NOFOLLOW)
        .unwrap();
    assert_eq!(st.file_type(), Some(FileType::Symlink));
    // No pid that does not exist, no leading zeros.
    assert_eq!(
        vi.lookup(vi.root(), b"/proc/3", true).err(),
        Some(Errno::ENOENT)
    );
    assert_eq!(
        vi.lookup(vi.root(), b"/proc/01", true).err(),
        Some(Errno::ENOENT)
    );
    // getcwd and chdir inside /proc.
    k.chdir(&child, b"/proc/self/fd").unwrap();
    assert_eq!(k.getcwd(&child).unwrap(), b"/proc/2/fd");
    k.chdir(&child, b"..").unwrap();
    assert_eq!(k.getcwd(&child).unwrap(), b"/proc/2");
}

#[test]
fn status_stat_cmdline_environ_comm() {
    let k = kernel();
    let init = spawn(&k, None, &["/bin/sh", "-c", "x"]);
    let child = spawn(&k, Some(&init), &["/usr/bin/some-long-program-name"]);
    init.set_image(b"/bin/sh", b"/bin/sh".to_vec());
    let v = k.vfs().view(init.pid());
    assert_eq!(cat(&v, "/proc/self/cmdline").unwrap(), b"/bin/sh\0-c\0x\0");
    assert_eq!(cat(&v, "/proc/1/environ").unwrap(), b"HOME=/\0");
    assert_eq!(cat(&v, "/proc/self/comm").unwrap(), b"sh\n");
    assert_eq!(cat(&v, "/proc/2/comm").unwrap(), b"some-long-progr\n");
    let status = text(&cat(&v, "/proc/self/status").unwrap());
    for line in [
        "Name:\tsh\n",
        "Umask:\t0022\n",
        "State:\tR (running)\n",
        "Pid:\t1\n",
        "PPid:\t0\n",
        "NSpgid:\t1\n",
        "Threads:\t1\n",
    ] {
        assert!(status.contains(line), "{line:?} in {status}");
    }
    let other = text(&cat(&v, "/proc/2/status").unwrap());
    assert!(other.contains("State:\tS (sleeping)\n") && other.contains("PPid:\t1\n"));
    let stat = text(&cat(&v, "/proc/2/stat").unwrap());
    let fields: Vec<&str> = stat.split_whitespace().collect();
    assert_eq!(fields.len(), 52, "{stat}");
    assert_eq!(&fields[..6], ["2", "(some-long-progr)", "S", "1", "1", "1"]);
    // A file of /proc reports size 0 and is read-only; its contents are a snapshot.
    let st = v.fstatat(v.root(), b"/proc/self/status", 0).unwrap();
    assert_eq!((st.mode, st.size, st.dev), (0o100444, 0, PROC_DEV));
    let f = v
        .openat(v.root(), b"/proc/self/comm", OFlags::RDONLY, 0)
        .unwrap();
    init.set_comm(b"renamed");
    assert_eq!(read(&f), b"sh\n");
    assert_eq!(cat(&v, "/proc/self/comm").unwrap(), b"renamed\n");
    assert_eq!(f.fstat().mode, 0o100444);
    // A zombie.
    k.processes()
        .exit(child.pid(), ExitStatus::Exited(3))
        .unwrap();
    let stat = text(&cat(&v, "/proc/2/stat").unwrap());
    assert!(stat.starts_with("2 (some-long-progr) Z "), "{stat}");
    assert!(stat.ends_with(" 768\n"), "the wait status: {stat}");
    assert_eq!(cat(&v, "/proc/2/cmdline").unwrap(), b"");
    assert_eq!(readlink(&v, "/proc/2/cwd").err(), Some(Errno::ENOENT));
}

#[test]
fn fd_links_read_as_paths_and_lead_to_the_open_file() {
    let k = kernel();
    let p = spawn(&k, None, &["/bin/sh"]);
    let v = k.vfs().view(p.pid());
    let fd = k
        .openat(&p, -100, b"/tmp/f", OFlags::CREAT | OFlags::RDWR, 0o644)
        .unwrap();
    let file = p.file(fd).unwrap();
    file.write(b"hello", &Interrupt::new()).unwrap();
    let (r, w) = pipe2(OFlags::empty()).unwrap();
    let rfd = p.install(Arc::clone(&r), false).unwrap();
    let wfd = p.install(w, false).unwrap();
    assert_eq!(ls(&v, "/proc/self/fd"), vec![".", "..", "0", "1", "2"]);
    assert_eq!(readlink(&v, "/proc/self/fd/0").unwrap(), "/tmp/f");
    let pipe_ino = r.fstat().ino;
    assert_eq!(
        readlink(&v, &format!("/proc/self/fd/{rfd}")).unwrap(),
        format!("pipe:[{pipe_ino}]")
    );
    assert_eq!(readlink(&v, "/proc/self/fd/9").err(), Some(Errno::ENOENT));
    // lstat: a link, its mode from the access mode; stat: the file.
    let st = v
        .fstatat(v.root(), b"/proc/self/fd/0", AT_SYMLINK_NOFOLLOW)
        .unwrap();
    assert_eq!(st.mode, 0o120700);
    let st = v.fstatat(v.root(), b"/dev/stdin", 0).unwrap();
    assert_eq!((st.ino, st.size), (file.fstat().ino, 5));
    let st = v
        .fstatat(v.root(), format!("/dev/fd/{rfd}").as_bytes(), 0)
        .unwrap();
    assert_eq!(st.file_type(), Some(FileType::Fifo));
    // Opening through the link: a new description of the same file, with its own flags
    // and offset; O_TRUNC applies.
    let again = v.openat(v.root(), b"/dev/fd/0", OFlags::RDONLY, 0).unwrap();
    assert!(!Arc::ptr_eq(&again, &file));
    assert_eq!(read(&again), b"hello");
    assert_eq!(readlink(&v, "/proc/self/fd/0").unwrap(), "/tmp/f");
    v.openat(
        v.root(),
        b"/dev/stdin",
        OFlags::WRONLY | OFlags::TRUNC | OFlags::CREAT,
        0,
    )
    .unwrap();
    assert_eq!(file.fstat().size, 0);
    assert_eq!(
        v.openat(v.root(), b"/dev/stdin", OFlags::CREAT | OFlags::EXCL, 0)
            .err(),
        Some(Errno::EEXIST)
    );
    assert_eq!(
        v.openat(v.root(), b"/dev/stdin", OFlags::NOFOLLOW, 0).err(),
        Some(Errno::ELOOP)
    );
    // A pipe: a new end of the same pipe, of the kind asked for.
    let writer = v
        .openat(
            v.root(),
            format!("/proc/self/fd/{rfd}").as_bytes(),
            OFlags::WRONLY,
            0,
        )
        .unwrap();
    writer.write(b"through /proc", &Interrupt::new()).unwrap();
    let reader = v
        .openat(
            v.root(),
            format!("/dev/fd/{wfd}").as_bytes(),
            OFlags::RDONLY,
            0,
        )
        .unwrap();
    let mut buf = [0u8; 32];
    let n = reader.read(&mut buf, &Interrupt::new()).unwrap();
    assert_eq!(&buf[..n], b"through /proc");
    // Unlinked: the link says so, and still leads to the file.
    v.unlinkat(v.root(), b"/tmp/f", 0).unwrap();
    assert_eq!(readlink(&v, "/proc/self/fd/0").unwrap(), "/tmp/f (deleted)");
    assert!(
        v.openat(v.root(), b"/proc/self/fd/0", OFlags::RDONLY, 0)
            .is_ok()
    );
    // A directory fd's link is its path; cwd and root lead to directories.
    let dfd = k.openat(&p, -100, b"/tmp", OFlags::DIRECTORY, 0).unwrap();
    assert_eq!(
        readlink(&v, &format!("/proc/self/fd/{dfd}")).unwrap(),
        "/tmp"
    );
    k.chdir(&p, b"/etc").unwrap();
    assert_eq!(readlink(&v, "/proc/self/cwd").unwrap(), "/etc");
    assert_eq!(cat(&v, "/proc/self/cwd/passwd").unwrap(), b"root:x:0:0\n");
    assert_eq!(readlink(&v, "/proc/self/root").unwrap(), "/");
    assert!(
        v.lookup(v.root(), b"/proc/self/root/proc/self/root/etc", true)
            .unwrap()
            .is_dir()
    );
}

#[test]
fn exe_is_a_link_to_the_program() {
    let k = kernel();
    let p = spawn(&k, None, &["sh"]);
    let v = k.vfs().view(p.pid());
    assert_eq!(readlink(&v, "/proc/self/exe").err(), Some(Errno::ENOENT));
    p.set_image(b"/proc/self/exe", b"/bin/sh".to_vec());
    assert_eq!(readlink(&v, "/proc/self/exe").unwrap(), "/bin/sh");
    assert_eq!(cat(&v, "/proc/self/comm").unwrap(), b"exe\n");
    let sh = v.lookup(v.root(), b"/bin/sh", true).unwrap();
    let exe = v.exec_lookup(v.root(), b"/proc/self/exe").unwrap();
    assert!(Arc::ptr_eq(&sh, &exe));
    // A fork keeps the program.
    let child = k.fork(&p).unwrap();
    assert_eq!(child.exe(), Some(b"/bin/sh".to_vec()));
}

#[test]
fn nothing_in_proc_can_be_changed() {
    let k = kernel();
    let p = spawn(&k, None, &["sh"]);
    let v = k.vfs().view(p.pid());
    let root = Arc::clone(v.root());
    let open = |path: &str, flags| v.openat(&root, path.as_bytes(), flags, 0o644).err();
    assert_eq!(
        open("/proc/self/status", OFlags::WRONLY),
        Some(Errno::EACCES)
    );
    assert_eq!(
        open("/proc/self/status", OFlags::RDONLY | OFlags::TRUNC),
        Some(Errno::EACCES)
    );
    assert_eq!(
        open("/proc/new", OFlags::CREAT | OFlags::WRONLY),
        Some(Errno::EACCES)
    );
    assert_eq!(open("/proc/self", OFlags::RDWR), Some(Errno::EISDIR));
    assert_eq!(v.mkdirat(&root, b"/proc/d", 0o755), Err(Errno::EPERM));
    assert_eq!(
        v.unlinkat(&root, b"/proc/self/status", 0),
        Err(Errno::EPERM)
    );
    assert_eq!(
        v.unlinkat(&root, b"/proc/self/fd", AT_REMOVEDIR),
        Err(Errno::EPERM)
    );
    assert_eq!(v.symlinkat(b"x", &root, b"/proc/l"), Err(Errno::EPERM));
    assert_eq!(
        v.fchmodat(&root, b"/proc/self/status", 0o777, 0),
        Err(Errno::EPERM)
    );
    assert_eq!(
        v.fchownat(&root, b"/proc/self", Some(1), None, 0),
        Err(Errno::EPERM)
    );
    assert_eq!(
        v.truncate(&root, b"/proc/self/status", 0),
        Err(Errno::EACCES)
    );
    assert_eq!(
        v.renameat(&root, b"/proc/self/status", &root, b"/tmp/s"),
        Err(Errno::EXDEV)
    );
    assert_eq!(
        v.renameat(&root, b"/etc/passwd", &root, b"/proc/p"),
        Err(Errno::EXDEV)
    );
    assert_eq!(
        v.linkat(&root, b"/etc/passwd", &root, b"/proc/p", 0),
        Err(Errno::EXDEV)
    );
    // The mount point stays.
    assert_eq!(v.unlinkat(&root, b"/proc", AT_REMOVEDIR), Err(Errno::EBUSY));
    assert_eq!(v.renameat(&root, b"/proc", &root, b"/p"), Err(Errno::EBUSY));
    v.mkdirat(&root, b"/d", 0o755).unwrap();
    assert_eq!(v.renameat(&root, b"/d", &root, b"/proc"), Err(Errno::EBUSY));
    // Writing the file an fd link leads to is writing that file.
    let fd = k
        .openat(&p, -100, b"/tmp/w", OFlags::CREAT | OFlags::WRONLY, 0o644)
        .unwrap();
    let w = v
        .openat(
            &root,
            format!("/proc/self/fd/{fd}").as_bytes(),
            OFlags::WRONLY,
            0,
        )
        .unwrap();
    w.write(b"ok", &Interrupt::new()).unwrap();
    assert_eq!(cat(&v, "/tmp/w").unwrap(), b"ok");
    assert!(
        v.fchmodat(&root, format!("/proc/self/fd/{fd}").as_bytes(), 0o600, 0)
            .is_ok()
    );
}

#[test]
fn host_streams_reopen_as_the_same_stream() {
    let k = kernel();
    let out = crate::kernel::CaptureStream::new(64);
    let p = k
        .spawn(
            None,
            SpawnSpec {
                argv: vec![b"sh".to_vec()],
                env: Vec::new(),
                cwd: None,
                umask: None,
                fds: vec![(
                    1,
                    FdSource::File(FileDescription::host(out.clone(), OFlags::WRONLY)),
                )],
            },
        )
        .unwrap();
    let v = k.vfs().view(p.pid());
    let f = v
        .openat(
            v.root(),
            b"/dev/stdout",
            OFlags::WRONLY | OFlags::CREAT | OFlags::TRUNC,
            0o666,
        )
        .unwrap();
    f.write(b"to the client", &Interrupt::new()).unwrap();
    assert_eq!(out.contents(), b"to the client");
    assert_eq!(readlink(&v, "/dev/fd/1").unwrap(), "pipe:[0]");
}
