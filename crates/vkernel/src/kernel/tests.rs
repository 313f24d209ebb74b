//! Tests of the [`Kernel`] as a whole: containers sharing an image, per-process calls,
//! limits and stats.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::*;
use crate::kernel::flags::AT_FDCWD;
use crate::kernel::testutil::{E, rootfs};

fn image_and_data() -> (Arc<Image>, Arc<[u8]>) {
    let fs = rootfs(&[
        E::File("/etc/passwd", 0o644, b"root:x:0:0\n"),
        E::File("/bin/sh", 0o755, b"#!sh"),
        E::Dir("/tmp", 0o1777),
    ]);
    let data = Arc::clone(fs.read_file("/etc/passwd").unwrap());
    (Arc::new(Image::from_rootfs(&fs)), data)
}

fn spec() -> SpawnSpec {
    SpawnSpec {
        argv: vec![b"/bin/sh".to_vec()],
        env: Vec::new(),
        cwd: None,
        umask: None,
        fds: Vec::new(),
    }
}

fn read_all(k: &Kernel, path: &[u8]) -> Vec<u8> {
    let f = k
        .vfs()
        .openat(k.vfs().root(), path, OFlags::RDONLY, 0)
        .unwrap();
    let mut buf = vec![0u8; 256];
    let n = f.read(&mut buf, &Interrupt::new()).unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn writes_are_private_to_a_container_and_the_image_is_untouched() {
    let (image, data) = image_and_data();
    let a = Kernel::new(Arc::clone(&image), Limits::default());
    let b = Kernel::new(Arc::clone(&image), Limits::default());
    let f = a
        .vfs()
        .openat(
            a.vfs().root(),
            b"/etc/passwd",
            OFlags::WRONLY | OFlags::APPEND,
            0,
        )
        .unwrap();
    f.write(b"guest:x:1:1\n", &Interrupt::new()).unwrap();
    a.vfs().unlinkat(a.vfs().root(), b"/bin/sh", 0).unwrap();
    assert_eq!(read_all(&a, b"/etc/passwd"), b"root:x:0:0\nguest:x:1:1\n");
    assert_eq!(read_all(&b, b"/etc/passwd"), b"root:x:0:0\n");
    assert!(b.vfs().lookup(b.vfs().root(), b"/bin/sh", true).is_ok());
    assert_eq!(&*data, b"root:x:0:0\n", "the image's bytes are unchanged");
    // A third container made afterwards sees the image, not a's changes.
    let c = Kernel::new(image, Limits::default());
    assert_eq!(read_all(&c, b"/etc/passwd"), b"root:x:0:0\n");
}

#[test]
fn a_thousand_containers_copy_nothing() {
    let (image, data) = image_and_data();
    let before = Arc::strong_count(&data);
    let kernels: Vec<Kernel> = (0..1000)
        .map(|_| Kernel::new(Arc::clone(&image), Limits::default()))
        .collect();
    assert_eq!(
        Arc::strong_count(&data),
        before,
        "no file data referenced, let alone copied"
    );
    for k in &kernels {
        let s = k.summary();
        assert_eq!(s.materialized_inodes, 1, "only the root");
        assert_eq!(s.writable_bytes, 0);
    }
    // Reading a file in every container shares the image's bytes.
    for k in &kernels {
        assert_eq!(read_all(k, b"/etc/passwd"), b"root:x:0:0\n");
    }
    assert_eq!(
        Arc::strong_count(&data),
        before + 1000,
        "one shared reference each"
    );
    assert!(kernels.iter().all(|k| k.vfs().writable_bytes() == 0));
    drop(kernels);
    assert_eq!(
        Arc::strong_count(&data),
        before,
        "dropping a container drops its layer"
    );
}

#[test]
fn process_calls_apply_umask_dirfd_and_cloexec() {
    let (image, _) = image_and_data();
    let k = Kernel::new(image, Limits::default());
    let p = k.spawn(None, spec()).unwrap();
    p.set_umask(0o027);
    let fd = k
        .openat(
            &p,
            AT_FDCWD,
            b"/tmp/f",
            OFlags::CREAT | OFlags::WRONLY | OFlags::CLOEXEC,
            0o666,
        )
        .unwrap();
    assert_eq!(fd, 0);
    assert_eq!(p.fds().cloexec(fd), Ok(true));
    assert_eq!(p.file(fd).unwrap().fstat().mode & 0o7777, 0o640);
    k.mkdirat(&p, AT_FDCWD, b"/tmp/d", 0o777).unwrap();
    let d = k.vfs().fstatat(k.vfs().root(), b"/tmp/d", 0).unwrap();
    assert_eq!(d.mode & 0o7777, 0o750);
    // Relative to a dirfd.
    let tmp = k
        .openat(&p, AT_FDCWD, b"/tmp", OFlags::DIRECTORY, 0)
        .unwrap();
    let g = k
        .openat(&p, tmp, b"g", OFlags::CREAT | OFlags::RDWR, 0o600)
        .unwrap();
    assert_eq!(g, 2);
    assert!(k.vfs().lookup(k.vfs().root(), b"/tmp/g", true).is_ok());
    assert_eq!(
        k.openat(&p, fd, b"x", OFlags::RDONLY, 0).err(),
        Some(Errno::ENOTDIR),
        "a file as dirfd"
    );
    assert_eq!(
        k.openat(&p, 99, b"x", OFlags::RDONLY, 0).err(),
        Some(Errno::EBADF)
    );
    // cwd
    k.chdir(&p, b"/tmp/d").unwrap();
    assert_eq!(k.getcwd(&p).unwrap(), b"/tmp/d");
    k.chdir(&p, b"..").unwrap();
    assert_eq!(k.getcwd(&p).unwrap(), b"/tmp");
    assert_eq!(k.chdir(&p, b"f"), Err(Errno::ENOTDIR));
    let [r, w] = k.pipe2(&p, OFlags::CLOEXEC).unwrap();
    assert_eq!((r, w), (3, 4));
    assert_eq!(p.fds().cloexec(r), Ok(true));
    assert_eq!(k.pipe2(&p, OFlags::TRUNC).err(), Some(Errno::EINVAL));
}

#[test]
fn open_file_limit_is_emfile() {
    let (image, _) = image_and_data();
    let k = Kernel::new(
        image,
        Limits {
            max_open_files: 4,
            ..Limits::default()
        },
    );
    let p = k.spawn(None, spec()).unwrap();
    for want in 0..4 {
        assert_eq!(
            k.openat(&p, AT_FDCWD, b"/dev/null", OFlags::RDONLY, 0),
            Ok(want)
        );
    }
    assert_eq!(
        k.openat(&p, AT_FDCWD, b"/dev/null", OFlags::RDONLY, 0),
        Err(Errno::EMFILE)
    );
    p.close(3).unwrap();
    assert_eq!(k.pipe2(&p, OFlags::empty()), Err(Errno::EMFILE));
    assert_eq!(p.fds().len(), 3, "a failed pipe2 leaves no fd behind");
}

#[test]
fn host_streams_as_stdio_and_summary() {
    let (image, _) = image_and_data();
    let k = Kernel::new(image, Limits::default());
    let out = CaptureStream::new(1 << 10);
    let p = k
        .spawn(
            None,
            SpawnSpec {
                fds: vec![
                    (
                        0,
                        FdSource::File(FileDescription::host(
                            BytesStream::new(b"ping".to_vec()),
                            OFlags::RDONLY,
                        )),
                    ),
                    (
                        1,
                        FdSource::File(FileDescription::host(out.clone(), OFlags::WRONLY)),
                    ),
                    (2, FdSource::Inherit(1)),
                ],
                ..spec()
            },
        )
        .err();
    assert_eq!(p, Some(Errno::EBADF), "the host has no fds to inherit");
    let stdout = FileDescription::host(out.clone(), OFlags::WRONLY);
    let p = k
        .spawn(
            None,
            SpawnSpec {
                fds: vec![
                    (
                        0,
                        FdSource::File(FileDescription::host(
                            BytesStream::new(b"ping".to_vec()),
                            OFlags::RDONLY,
                        )),
                    ),
                    (1, FdSource::File(Arc::clone(&stdout))),
                    (2, FdSource::File(stdout)),
                ],
                ..spec()
            },
        )
        .unwrap();
    // The "program": cat stdin to stdout, then a child that writes to stderr.
    let mut buf = [0u8; 16];
    let n = p.file(0).unwrap().read(&mut buf, p.interrupt()).unwrap();
    p.file(1).unwrap().write(&buf[..n], p.interrupt()).unwrap();
    let child = k.fork(&p).unwrap();
    child
        .file(2)
        .unwrap()
        .write(b"!", child.interrupt())
        .unwrap();
    let s = k.summary();
    assert_eq!((s.processes, s.zombies, s.open_files), (2, 0, 6));
    k.processes()
        .exit(child.pid(), ExitStatus::Exited(0))
        .unwrap();
    let s = k.summary();
    assert_eq!((s.processes, s.zombies, s.open_files), (1, 1, 3));
    assert_eq!(out.contents(), b"ping!");
    assert_eq!(
        k.processes()
            .wait(p.pid(), WaitFor::Any, false, p.interrupt()),
        Ok(Some((child.pid(), ExitStatus::Exited(0))))
    );
    assert_eq!(k.summary().zombies, 0);
}

#[test]
fn killing_a_process_interrupts_its_blocked_read() {
    let (image, _) = image_and_data();
    let k = Arc::new(Kernel::new(image, Limits::default()));
    let init = k.spawn(None, spec()).unwrap();
    let [r, _w] = k.pipe2(&init, OFlags::empty()).unwrap();
    let child = k.fork(&init).unwrap();
    let (k2, c2) = (Arc::clone(&k), Arc::clone(&child));
    let runner = thread::spawn(move || {
        let result = c2.file(r).unwrap().read(&mut [0u8; 8], c2.interrupt());
        // The engine's part: the process ends, killed.
        k2.processes()
            .exit(c2.pid(), ExitStatus::Signaled(9))
            .unwrap();
        result
    });
    thread::sleep(Duration::from_millis(50));
    child.interrupt().interrupt();
    assert_eq!(runner.join().unwrap(), Err(Errno::EINTR));
    assert_eq!(
        k.processes().wait(
            init.pid(),
            WaitFor::Pid(child.pid()),
            false,
            init.interrupt()
        ),
        Ok(Some((child.pid(), ExitStatus::Signaled(9))))
    );
}

#[test]
fn interrupt_all_stops_every_wait() {
    let (image, _) = image_and_data();
    let k = Arc::new(Kernel::new(image, Limits::default()));
    let init = k.spawn(None, spec()).unwrap();
    let _child = k.fork(&init).unwrap();
    let (k2, i2) = (Arc::clone(&k), Arc::clone(&init));
    let waiter = thread::spawn(move || {
        k2.processes()
            .wait(i2.pid(), WaitFor::Any, false, i2.interrupt())
    });
    thread::sleep(Duration::from_millis(50));
    k.processes().interrupt_all();
    assert_eq!(waiter.join().unwrap(), Err(Errno::EINTR));
}

#[test]
fn limits_defaults() {
    let l = Limits::default();
    assert_eq!(l.max_open_files, 1024);
    assert_eq!(l.max_processes, 512);
    assert_eq!(l.max_writable_bytes, 256 << 20);
    let k = Kernel::with_clock(Arc::new(Image::empty()), l, Arc::new(FixedClock::new(42)));
    assert_eq!(k.clock().now(), 42);
    assert_eq!(k.limits(), &l);
    assert!(format!("{k:?}").contains("summary"));
}

#[test]
fn shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Kernel>();
    send_sync::<Process>();
    send_sync::<FileDescription>();
    send_sync::<Inode>();
    send_sync::<Interrupt>();
}
