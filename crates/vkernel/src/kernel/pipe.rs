//! Pipes: a bounded byte queue with a read end and a write end (`pipe2(2)`).
//!
//! Linux semantics: 64 KiB of capacity; a read blocks until there is data or every write
//! end is closed (then it returns 0, end of file); a write blocks until there is room, and
//! one of at most [`PIPE_BUF`] bytes is never interleaved with other writes; writing with
//! no read end open fails with `EPIPE` (whether a `SIGPIPE` goes with it is the ABI
//! layer's decision); `O_NONBLOCK` turns every wait into `EAGAIN`. Every wait is
//! interruptible ([`Interrupt`]): it returns `EINTR`, or the count already transferred.
//!
//! A fifo (named pipe) is the same queue, joined by every open of the fifo's inode
//! (`FifoPipe`, [`FifoOpen`]): a blocking open waits for the other side.
//!
//! This module owns the queue and its two ends; [`FileDescription`] wraps them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use super::errno::{Errno, KResult};
use super::file::{FileDescription, Readiness, Target};
use super::flags::OFlags;
use super::interrupt::{Interrupt, WaitCell, Waker, Watch};
use super::iov;
use super::stat::{FileType, Stat};
use super::vfs::Inode;

/// Bytes a pipe holds: Linux's default (16 pages).
pub const PIPE_CAPACITY: usize = 64 * 1024;

/// Writes of at most this many bytes are atomic (POSIX `PIPE_BUF`, 4096 on Linux).
pub const PIPE_BUF: usize = 4096;

/// `st_dev` of pipes (Linux's pipefs is an anonymous device too).
const PIPEFS_DEV: u64 = 12;

/// Pipe inode numbers, unique for the life of the process.
static NEXT_PIPE_INO: AtomicU64 = AtomicU64::new(1);

#[derive(Default)]
struct PipeState {
    buf: VecDeque<u8>,
    readers: usize,
    writers: usize,
    /// Opens of a fifo's read and write ends so far (Linux's `r_counter`, `w_counter`): an
    /// open waiting for the other side wakes on a change even if that side has closed
    /// again meanwhile.
    read_opens: u64,
    write_opens: u64,
}

struct Pipe {
    ino: u64,
    state: Arc<WaitCell<PipeState>>,
}

impl Pipe {
    fn stat(&self) -> Stat {
        Stat {
            dev: PIPEFS_DEV,
            ino: self.ino,
            mode: FileType::Fifo.mode_bits() | 0o600,
            nlink: 1,
            uid: 0,
            gid: 0,
            rdev: 0,
            size: 0,
            blksize: PIPE_BUF as u64,
            blocks: 0,
            atime: 0,
            mtime: 0,
            ctime: 0,
        }
    }
}

/// The read end of a pipe. Dropping it closes it.
pub struct PipeReader(Pipe);

/// The write end of a pipe. Dropping it closes it: once every write end is closed, readers
/// see end of file.
pub struct PipeWriter(Pipe);

/// A new pipe's two ends.
pub(crate) fn new_pipe() -> (PipeReader, PipeWriter) {
    let ino = NEXT_PIPE_INO.fetch_add(1, Ordering::Relaxed);
    let state = Arc::new(WaitCell::new(PipeState {
        readers: 1,
        writers: 1,
        ..PipeState::default()
    }));
    (
        PipeReader(Pipe {
            ino,
            state: Arc::clone(&state),
        }),
        PipeWriter(Pipe { ino, state }),
    )
}

/// Pipe2 implements Linux syscall pipe2(2) up to the fd table: a new pipe as two open file
/// descriptions, (read end, write end). `flags` may hold `O_NONBLOCK` (both ends),
/// `O_CLOEXEC` (for the caller's fd table) and `O_DIRECT` (accepted; packet mode is not
/// implemented, writes stay a byte stream); anything else is `EINVAL`.
pub fn pipe2(flags: OFlags) -> KResult<(Arc<FileDescription>, Arc<FileDescription>)> {
    let allowed = OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::DIRECT;
    if flags.without(allowed) != OFlags::empty() {
        return Err(Errno::EINVAL);
    }
    let nonblock = flags & OFlags::NONBLOCK;
    let (r, w) = new_pipe();
    Ok((
        FileDescription::new(Target::PipeRead(r), OFlags::RDONLY | nonblock),
        FileDescription::new(Target::PipeWrite(w), OFlags::WRONLY | nonblock),
    ))
}

/// Opens the pipe `target` is an end of once more, as opening `/proc/<pid>/fd/<n>` does
/// (Linux opens the pipe as a fifo): a read end for `O_RDONLY`, a write end for
/// `O_WRONLY`, and for `O_RDWR` an end of the kind `target` is (a description here is one
/// end). `None` if `target` is no pipe end.
pub(crate) fn reopen(target: &Target, flags: OFlags) -> Option<Target> {
    let (pipe, is_reader) = match target {
        Target::PipeRead(r) => (&r.0, true),
        Target::PipeWrite(w) => (&w.0, false),
        _ => return None,
    };
    let read = match (flags.readable(), flags.writable()) {
        (true, false) => true,
        (false, true) => false,
        _ => is_reader,
    };
    {
        let mut st = pipe.state.lock();
        if read {
            st.readers += 1;
        } else {
            st.writers += 1;
        }
    }
    pipe.state.notify();
    let end = Pipe {
        ino: pipe.ino,
        state: Arc::clone(&pipe.state),
    };
    Some(if read {
        Target::PipeRead(PipeReader(end))
    } else {
        Target::PipeWrite(PipeWriter(end))
    })
}

impl PipeReader {
    /// Reads what is there (at least one byte), waiting for data unless `nonblocking`;
    /// 0 once the pipe is empty and every write end is closed.
    pub(crate) fn read(
        &self,
        bufs: &mut [&mut [u8]],
        nonblocking: bool,
        intr: &Interrupt,
    ) -> KResult<usize> {
        let want = iov::total_mut(bufs);
        if want == 0 {
            return Ok(0);
        }
        let cell = &self.0.state;
        let n = cell.wait_until(intr, |st| {
            if !st.buf.is_empty() {
                let n = want.min(st.buf.len());
                let (a, b) = st.buf.as_slices();
                let from_a = n.min(a.len());
                iov::scatter(&a[..from_a], bufs, 0);
                iov::scatter(&b[..n - from_a], bufs, from_a);
                st.buf.drain(..n);
                if st.buf.is_empty() {
                    // Give back the memory of a drained pipe.
                    st.buf.shrink_to(PIPE_BUF);
                }
                Some(Ok(n))
            } else if st.writers == 0 {
                Some(Ok(0))
            } else if nonblocking {
                Some(Err(Errno::EAGAIN))
            } else {
                None
            }
        })??;
        if n > 0 {
            cell.notify();
        }
        Ok(n)
    }

    /// Wakes `waker` on every change of the pipe until the guard is dropped (for `poll`;
    /// added for the WASI ABI's `poll_oneoff`).
    pub(crate) fn watch(&self, waker: Arc<dyn Waker>) -> Watch {
        self.0.state.watch(waker)
    }

    /// Bytes waiting to be read (`FIONREAD`).
    pub fn available(&self) -> usize {
        self.0.state.lock().buf.len()
    }

    pub fn readiness(&self) -> Readiness {
        let st = self.0.state.lock();
        Readiness {
            readable: !st.buf.is_empty() || st.writers == 0,
            writable: false,
            hangup: st.writers == 0,
            error: false,
        }
    }

    pub(crate) fn stat(&self) -> Stat {
        self.0.stat()
    }
}

impl PipeWriter {
    /// Writes all of `bufs`, waiting for room (unless `nonblocking`); a write of at most
    /// [`PIPE_BUF`] bytes goes in at once or not at all. Returns the count written, which
    /// is short only if non-blocking, interrupted, or the read ends closed part-way.
    pub(crate) fn write(
        &self,
        bufs: &[&[u8]],
        nonblocking: bool,
        intr: &Interrupt,
    ) -> KResult<usize> {
        let total = iov::total(bufs);
        if total == 0 {
            return Ok(0);
        }
        let cell = &self.0.state;
        let mut written = 0;
        while written < total {
            let step = cell.wait_until(intr, |st| {
                if st.readers == 0 {
                    return Some(Err(Errno::EPIPE));
                }
                let room = PIPE_CAPACITY.saturating_sub(st.buf.len());
                let left = total - written;
                let n = if total <= PIPE_BUF {
                    if room >= left { left } else { 0 }
                } else {
                    room.min(left)
                };
                if n > 0 {
                    let buf = &mut st.buf;
                    iov::gather(bufs, written, n, |piece| buf.extend(piece));
                    Some(Ok(n))
                } else if nonblocking {
                    Some(Err(Errno::EAGAIN))
                } else {
                    None
                }
            });
            match step {
                Ok(Ok(n)) => {
                    written += n;
                    cell.notify();
                }
                Ok(Err(e)) | Err(e) => {
                    return if written > 0 { Ok(written) } else { Err(e) };
                }
            }
        }
        Ok(written)
    }

    /// Wakes `waker` on every change of the pipe until the guard is dropped (for `poll`;
    /// added for the WASI ABI's `poll_oneoff`).
    pub(crate) fn watch(&self, waker: Arc<dyn Waker>) -> Watch {
        self.0.state.watch(waker)
    }

    pub fn readiness(&self) -> Readiness {
        let st = self.0.state.lock();
        Readiness {
            readable: false,
            writable: PIPE_CAPACITY - st.buf.len().min(PIPE_CAPACITY) >= PIPE_BUF,
            hangup: false,
            error: st.readers == 0,
        }
    }

    pub(crate) fn stat(&self) -> Stat {
        self.0.stat()
    }
}

/// A fifo's pipe (a named pipe, `mkfifo(3)`): every open of the fifo joins the pipe its
/// other opens hold; once none is open the pipe is gone, with any bytes left in it, and
/// the next open starts a new one (as Linux frees a fifo's buffer at its last close).
#[derive(Default)]
pub(crate) struct FifoPipe {
    current: Mutex<Weak<WaitCell<PipeState>>>,
}

/// One open of a fifo: the fifo's inode (for `fstat`) and the ends of its pipe this
/// description holds.
pub struct FifoOpen {
    inode: Arc<Inode>,
    ends: FifoEnds,
    /// For [`Self::wait_peer`], decided when this open joined (as Linux's `fifo_open`
    /// decides under the pipe's lock): `None` if the other side had the fifo open then
    /// (no wait), else the other side's open count then, which a later open changes
    /// (even one that closes again before the wait starts).
    peer_opens: Option<u64>,
}

enum FifoEnds {
    Read(PipeReader),
    Write(PipeWriter),
    /// `O_RDWR`: both.
    Both(PipeReader, PipeWriter),
}

impl FifoOpen {
    /// Joins `fifo`'s pipe (of `inode`) as a reader, a writer, or both. `ENXIO` for a
    /// non-blocking write-only open while no reader has it open, `EINVAL` for neither
    /// (Linux's answers). A blocking open then waits for the other side
    /// ([`Self::wait_peer`]).
    pub(crate) fn open(
        inode: Arc<Inode>,
        fifo: &FifoPipe,
        read: bool,
        write: bool,
        nonblocking: bool,
    ) -> KResult<FifoOpen> {
        if !read && !write {
            return Err(Errno::EINVAL);
        }
        let state = {
            let mut current = fifo.current.lock().unwrap_or_else(|e| e.into_inner());
            match current.upgrade() {
                Some(state) => state,
                None => {
                    let state = Arc::new(WaitCell::new(PipeState::default()));
                    *current = Arc::downgrade(&state);
                    state
                }
            }
        };
        let peer_opens = {
            let mut st = state.lock();
            if write && !read && nonblocking && st.readers == 0 {
                return Err(Errno::ENXIO);
            }
            if read {
                st.readers += 1;
                st.read_opens += 1;
            }
            if write {
                st.writers += 1;
                st.write_opens += 1;
            }
            let (present, opens) = if read {
                (st.writers, st.write_opens)
            } else {
                (st.readers, st.read_opens)
            };
            (present == 0).then_some(opens)
        };
        state.notify();
        let ino = inode.ino();
        let end = || Pipe {
            ino,
            state: Arc::clone(&state),
        };
        let ends = match (read, write) {
            (true, true) => FifoEnds::Both(PipeReader(end()), PipeWriter(end())),
            (true, false) => FifoEnds::Read(PipeReader(end())),
            _ => FifoEnds::Write(PipeWriter(end())),
        };
        Ok(FifoOpen {
            inode,
            ends,
            peer_opens,
        })
    }

    /// A blocking open's wait: a read-only open waits until a writer has opened the fifo
    /// (one open now, or one that came and went since this open), a write-only open until
    /// a reader has; an `O_RDWR` open does not wait. Interruptible (`EINTR`).
    pub(crate) fn wait_peer(&self, intr: &Interrupt) -> KResult<()> {
        let (state, reading) = match &self.ends {
            FifoEnds::Both(..) => return Ok(()),
            FifoEnds::Read(r) => (&r.0.state, true),
            FifoEnds::Write(w) => (&w.0.state, false),
        };
        let Some(seen) = self.peer_opens else {
            return Ok(());
        };
        state.wait_until(intr, |st| {
            let opens = if reading {
                st.write_opens
            } else {
                st.read_opens
            };
            (opens != seen).then_some(())
        })
    }

    pub(crate) fn inode(&self) -> &Arc<Inode> {
        &self.inode
    }

    pub(crate) fn reader(&self) -> Option<&PipeReader> {
        match &self.ends {
            FifoEnds::Read(r) | FifoEnds::Both(r, _) => Some(r),
            FifoEnds::Write(_) => None,
        }
    }

    pub(crate) fn writer(&self) -> Option<&PipeWriter> {
        match &self.ends {
            FifoEnds::Write(w) | FifoEnds::Both(_, w) => Some(w),
            FifoEnds::Read(_) => None,
        }
    }

    /// Wakes `waker` on every change of the pipe until the guard is dropped.
    pub(crate) fn watch(&self, waker: Arc<dyn Waker>) -> Watch {
        match &self.ends {
            FifoEnds::Read(r) | FifoEnds::Both(r, _) => r.watch(waker),
            FifoEnds::Write(w) => w.watch(waker),
        }
    }

    pub fn readiness(&self) -> Readiness {
        let r = self.reader().map(PipeReader::readiness);
        let w = self.writer().map(PipeWriter::readiness);
        Readiness {
            readable: r.is_some_and(|r| r.readable),
            writable: w.is_some_and(|w| w.writable),
            hangup: r.is_some_and(|r| r.hangup),
            error: w.is_some_and(|w| w.error),
        }
    }

    /// The fifo's own `stat` (Linux's `fstat` of a fifo is its inode's).
    pub(crate) fn stat(&self) -> Stat {
        self.inode.stat()
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        self.0.state.lock().readers -= 1;
        self.0.state.notify();
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.0.state.lock().writers -= 1;
        self.0.state.notify();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;
    use std::time::Duration;

    fn intr() -> Interrupt {
        Interrupt::new()
    }

    #[test]
    fn read_what_was_written_then_eof() {
        let (r, w) = pipe2(OFlags::empty()).unwrap();
        assert_eq!(w.write(b"hello", &intr()), Ok(5));
        let mut buf = [0u8; 3];
        assert_eq!(r.read(&mut buf, &intr()), Ok(3));
        assert_eq!(&buf, b"hel");
        assert_eq!(r.read(&mut buf, &intr()), Ok(2));
        assert_eq!(&buf[..2], b"lo");
        drop(w);
        assert_eq!(r.read(&mut buf, &intr()), Ok(0));
        assert!(r.readiness().hangup);
    }

    #[test]
    fn nonblocking_and_zero_length() {
        let (r, w) = pipe2(OFlags::NONBLOCK).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf, &intr()), Err(Errno::EAGAIN));
        assert_eq!(r.read(&mut [], &intr()), Ok(0));
        assert_eq!(w.write(&[], &intr()), Ok(0));
        // Fill it: a large non-blocking write is short, then EAGAIN.
        let big = vec![1u8; PIPE_CAPACITY + 10];
        assert_eq!(w.write(&big, &intr()), Ok(PIPE_CAPACITY));
        assert_eq!(w.write(b"x", &intr()), Err(Errno::EAGAIN));
        assert!(!w.readiness().writable);
        assert_eq!(r.read(&mut buf, &intr()), Ok(8));
        // 8 bytes of room: a 9-byte write (<= PIPE_BUF) is atomic, so it does not fit.
        assert_eq!(w.write(&[2u8; 9], &intr()), Err(Errno::EAGAIN));
        assert_eq!(w.write(&[2u8; 8], &intr()), Ok(8));
        if let Target::PipeRead(pr) = r.target() {
            assert_eq!(pr.available(), PIPE_CAPACITY);
        }
    }

    #[test]
    fn epipe_without_readers() {
        let (r, w) = pipe2(OFlags::empty()).unwrap();
        drop(r);
        assert_eq!(w.write(b"x", &intr()), Err(Errno::EPIPE));
        assert!(w.readiness().error);
        assert_eq!(pipe2(OFlags::APPEND).err(), Some(Errno::EINVAL));
    }

    #[test]
    fn ends_are_one_way() {
        let (r, w) = pipe2(OFlags::empty()).unwrap();
        assert_eq!(r.write(b"x", &intr()), Err(Errno::EBADF));
        assert_eq!(w.read(&mut [0u8; 1], &intr()), Err(Errno::EBADF));
        assert_eq!(r.fstat().file_type(), Some(FileType::Fifo));
        assert_eq!(r.fstat().ino, w.fstat().ino);
    }

    #[test]
    fn blocked_reader_is_interrupted() {
        let (r, _w) = pipe2(OFlags::empty()).unwrap();
        let i = intr();
        let i2 = i.clone();
        let t = thread::spawn(move || r.read(&mut [0u8; 4], &i2));
        thread::sleep(Duration::from_millis(50));
        i.interrupt();
        assert_eq!(t.join().unwrap(), Err(Errno::EINTR));
    }

    #[test]
    fn blocked_writer_is_interrupted_with_partial_count() {
        let (_r, w) = pipe2(OFlags::empty()).unwrap();
        let i = intr();
        let i2 = i.clone();
        let t = thread::spawn(move || w.write(&vec![0u8; PIPE_CAPACITY + 100], &i2));
        thread::sleep(Duration::from_millis(50));
        i.interrupt();
        assert_eq!(t.join().unwrap(), Ok(PIPE_CAPACITY));
    }

    #[test]
    fn blocked_writer_sees_epipe_when_reader_closes() {
        let (r, w) = pipe2(OFlags::empty()).unwrap();
        assert_eq!(
            w.write(&vec![0u8; PIPE_CAPACITY], &intr()),
            Ok(PIPE_CAPACITY)
        );
        let t = thread::spawn(move || w.write(b"more", &intr()));
        thread::sleep(Duration::from_millis(50));
        drop(r);
        assert_eq!(t.join().unwrap(), Err(Errno::EPIPE));
    }

    #[test]
    fn small_writes_are_not_interleaved() {
        let (r, w) = pipe2(OFlags::empty()).unwrap();
        let writers: Vec<_> = (0..4u8)
            .map(|id| {
                let w = Arc::clone(&w);
                thread::spawn(move || {
                    for _ in 0..200 {
                        assert_eq!(w.write(&[id; PIPE_BUF], &intr()), Ok(PIPE_BUF));
                    }
                })
            })
            .collect();
        drop(w);
        let reader = thread::spawn(move || {
            let mut all = Vec::new();
            let mut buf = vec![0u8; 10_000];
            loop {
                match r.read(&mut buf, &intr()) {
                    Ok(0) => break all,
                    Ok(n) => all.extend_from_slice(&buf[..n]),
                    Err(e) => panic!("{e}"),
                }
            }
        });
        for t in writers {
            t.join().unwrap();
        }
        let all = reader.join().unwrap();
        assert_eq!(all.len(), 4 * 200 * PIPE_BUF);
        for chunk in all.chunks(PIPE_BUF) {
            assert!(chunk.iter().all(|&b| b == chunk[0]), "interleaved write");
        }
    }

    /// Three stages (producer | relay | consumer) stream 10 MB without deadlock, in
    /// reads and writes of odd sizes.
    #[test]
    fn three_stage_pipeline_streams_10mb() {
        const TOTAL: usize = 10 * 1024 * 1024;
        let (r1, w1) = pipe2(OFlags::empty()).unwrap();
        let (r2, w2) = pipe2(OFlags::empty()).unwrap();
        let producer = thread::spawn(move || {
            let chunk: Vec<u8> = (0..7001u32).map(|i| (i % 251) as u8).collect();
            let mut sent = 0;
            while sent < TOTAL {
                let n = chunk.len().min(TOTAL - sent);
                let mut off = 0;
                while off < n {
                    off += w1.write(&chunk[off..n], &intr()).unwrap();
                }
                sent += n;
            }
        });
        let relay = thread::spawn(move || {
            let mut buf = vec![0u8; 3000];
            loop {
                let n = r1.read(&mut buf, &intr()).unwrap();
                if n == 0 {
                    break;
                }
                assert_eq!(w2.write(&buf[..n], &intr()), Ok(n));
            }
        });
        let consumer = thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            let mut got = 0usize;
            let mut sum = 0u64;
            loop {
                let n = r2.read(&mut buf, &intr()).unwrap();
                if n == 0 {
                    break (got, sum);
                }
                got += n;
                sum += buf[..n].iter().map(|&b| u64::from(b)).sum::<u64>();
            }
        });
        producer.join().unwrap();
        relay.join().unwrap();
        let (got, sum) = consumer.join().unwrap();
        assert_eq!(got, TOTAL);
        let expected: u64 = (0..TOTAL).map(|i| ((i % 7001) % 251) as u64).sum();
        assert_eq!(sum, expected);
    }
}
