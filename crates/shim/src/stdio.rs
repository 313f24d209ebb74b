//! A process's stdio: the FIFOs containerd creates, as the vkernel's host streams.
//!
//! containerd (or `ctr`) opens its ends of the FIFOs before it asks for a task,
//! and passes their paths; an empty path means no such stream. Output FIFOs are
//! written as the guest writes (a full FIFO blocks the guest, as a pipe would).
//! Input is pumped by a thread into a [`FeedStream`], so a guest blocked reading
//! stdin can still be killed, and `CloseIO` ends its input.
//!
//! Input is read only after `poll` reports it: Linux reports a FIFO's hang-up only
//! once a writer has come and gone after we opened it, so a reader that comes
//! before containerd's writer does not see a premature end of file.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use recompiler_vkernel::kernel::{
    BytesStream, Errno, FeedStream, FileDescription, HostStream, Interrupt, KResult, OFlags,
    Readiness,
};
use rustix::event::{PollFd, PollFlags, Timespec};

/// How often the stdin pump looks whether it should stop.
const PUMP_SLICE: Duration = Duration::from_millis(100);

/// An output FIFO as a host stream.
pub struct FifoOutput {
    file: Mutex<File>,
}

impl HostStream for FifoOutput {
    fn write(&self, buf: &[u8], _intr: &Interrupt) -> KResult<usize> {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match file.write(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(rustix::io::Errno::PIPE.raw_os_error()) => {
                    return Err(Errno::EPIPE);
                }
                Err(_) => return Err(Errno::EIO),
            }
        }
    }

    fn readiness(&self) -> Readiness {
        Readiness {
            writable: true,
            ..Readiness::default()
        }
    }
}

/// Opens the output FIFO at `path` for writing; `None` for an empty path (the
/// guest's writes then go nowhere, as to /dev/null).
pub fn open_output(path: &str) -> std::io::Result<Arc<FileDescription>> {
    if path.is_empty() {
        return Ok(discard());
    }
    // containerd holds the read end open already; if it does not (yet), opening
    // read-write never blocks and keeps writes from failing until it comes.
    let file = match OpenOptions::new()
        .write(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NXIO.raw_os_error()) => {
            OpenOptions::new().read(true).write(true).open(path)?
        }
        Err(e) => return Err(e),
    };
    rustix::fs::fcntl_setfl(&file, rustix::fs::OFlags::empty())?;
    Ok(FileDescription::host(
        Arc::new(FifoOutput {
            file: Mutex::new(file),
        }),
        OFlags::WRONLY,
    ))
}

/// A sink: writes succeed and are dropped.
fn discard() -> Arc<FileDescription> {
    struct Discard;
    impl HostStream for Discard {
        fn write(&self, buf: &[u8], _intr: &Interrupt) -> KResult<usize> {
            Ok(buf.len())
        }
        fn readiness(&self) -> Readiness {
            Readiness {
                writable: true,
                ..Readiness::default()
            }
        }
    }
    FileDescription::host(Arc::new(Discard), OFlags::WRONLY)
}

/// A process's stdin: what the guest reads, and the handle that ends it.
pub struct Input {
    pub fd: Arc<FileDescription>,
    feed: Option<Arc<FeedStream>>,
    stop: Arc<AtomicBool>,
}

impl Input {
    /// Ends the guest's input (`CloseIO`): it reads what is left, then end of file.
    pub fn close(&self) {
        if let Some(feed) = &self.feed {
            feed.close();
        }
    }

    /// Stops the pump (the process ended).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.close();
    }
}

/// Opens the input FIFO at `path` and starts pumping it; an empty path gives an
/// input that is at end of file.
pub fn open_input(path: &str) -> std::io::Result<Input> {
    let stop = Arc::new(AtomicBool::new(false));
    if path.is_empty() {
        return Ok(Input {
            fd: FileDescription::host(BytesStream::new(Vec::new()), OFlags::RDONLY),
            feed: None,
            stop,
        });
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    let feed = FeedStream::new();
    let (pump_feed, pump_stop) = (Arc::clone(&feed), Arc::clone(&stop));
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || pump(file, &pump_feed, &pump_stop))?;
    Ok(Input {
        fd: FileDescription::host(Arc::clone(&feed) as Arc<dyn HostStream>, OFlags::RDONLY),
        feed: Some(feed),
        stop,
    })
}

fn pump(mut file: File, feed: &FeedStream, stop: &AtomicBool) {
    let slice = Timespec {
        tv_sec: 0,
        tv_nsec: PUMP_SLICE.as_nanos() as _,
    };
    let mut buf = vec![0u8; 64 << 10];
    while !stop.load(Ordering::Relaxed) {
        let mut fds = [PollFd::new(&file, PollFlags::IN)];
        match rustix::event::poll(&mut fds, Some(&slice)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => break,
        }
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => feed.push(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(_) => break,
        }
    }
    feed.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fifo(dir: &std::path::Path, name: &str) -> String {
        let path = dir.join(name);
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        path.to_str().unwrap().to_string()
    }

    fn read_all(fd: &FileDescription) -> Vec<u8> {
        let intr = Interrupt::new();
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = fd.read(&mut buf, &intr).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn input_waits_for_a_late_writer_then_reads_to_its_end() {
        let tmp = tempfile::tempdir().unwrap();
        let path = fifo(tmp.path(), "stdin");
        let input = open_input(&path).unwrap();
        // The writer comes after the reader, as containerd's may.
        std::thread::sleep(Duration::from_millis(250));
        let mut w = OpenOptions::new().write(true).open(&path).unwrap();
        w.write_all(b"hello, stdin\n").unwrap();
        drop(w);
        assert_eq!(read_all(&input.fd), b"hello, stdin\n");
    }

    #[test]
    fn close_ends_input_without_a_writer() {
        let tmp = tempfile::tempdir().unwrap();
        let input = open_input(&fifo(tmp.path(), "stdin")).unwrap();
        input.close();
        assert_eq!(read_all(&input.fd), b"");
        input.stop();
    }

    #[test]
    fn output_reaches_the_reader() {
        let tmp = tempfile::tempdir().unwrap();
        let path = fifo(tmp.path(), "stdout");
        let mut reader = OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(&path)
            .unwrap();
        let out = open_output(&path).unwrap();
        let intr = Interrupt::new();
        assert_eq!(out.write(b"abc", &intr), Ok(3));
        drop(out);
        let mut got = Vec::new();
        reader.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"abc");
        assert_eq!(open_output("").unwrap().write(b"xy", &intr), Ok(2));
    }
}
