//! Host streams: byte streams on the daemon's side that a process's fds can name (its
//! stdin, stdout and stderr connected to a client).
//!
//! [`HostStream`] is the seam; three implementations come with the kernel:
//! [`BytesStream`] (input given up front, end of file after it), [`FeedStream`] (input the
//! host pushes as it arrives, for example from a socket; reads block until then) and
//! [`CaptureStream`] (output collected up to a cap).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::errno::{Errno, KResult};
use super::file::Readiness;
use super::interrupt::{Interrupt, WaitCell, Waker, Watch, lock};

/// A byte stream on the host side of a file descriptor.
pub trait HostStream: Send + Sync {
    /// Reads into `buf`: at least one byte, or 0 at end of file. Blocks until then unless
    /// `nonblocking` (then `EAGAIN`). A blocking read must return `EINTR` promptly once
    /// `intr` is set: register a [`super::Waker`] with it, or wait in slices and check it.
    /// Streams that cannot be read fail with `EBADF` (the default).
    fn read(&self, buf: &mut [u8], nonblocking: bool, intr: &Interrupt) -> KResult<usize> {
        let _ = (buf, nonblocking, intr);
        Err(Errno::EBADF)
    }

    /// Writes from `buf`, returning how much was taken. Streams that cannot be written
    /// fail with `EBADF` (the default).
    fn write(&self, buf: &[u8], intr: &Interrupt) -> KResult<usize> {
        let _ = (buf, intr);
        Err(Errno::EBADF)
    }

    /// Whether a read or a write would not block now (for `poll`).
    fn readiness(&self) -> Readiness;

    /// Wakes `waker` whenever [`HostStream::readiness`] may have changed, until the guard
    /// is dropped, so that `poll` can sleep until then. `None` (the default) means the
    /// stream cannot say: a `poll` waiting for it re-checks its readiness now and then.
    /// (Added for the WASI ABI's `poll_oneoff`.)
    fn watch(&self, waker: Arc<dyn Waker>) -> Option<Watch> {
        let _ = waker;
        None
    }
}

/// Input given up front: reads return it, then end of file.
pub struct BytesStream {
    /// (data, read position).
    state: Mutex<(Vec<u8>, usize)>,
}

impl BytesStream {
    pub fn new(data: impl Into<Vec<u8>>) -> Arc<BytesStream> {
        Arc::new(BytesStream {
            state: Mutex::new((data.into(), 0)),
        })
    }
}

impl HostStream for BytesStream {
    fn read(&self, buf: &mut [u8], _nonblocking: bool, _intr: &Interrupt) -> KResult<usize> {
        let mut st = lock(&self.state);
        let (data, pos) = &mut *st;
        let rest = &data[*pos..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        *pos += n;
        Ok(n)
    }

    fn readiness(&self) -> Readiness {
        Readiness {
            readable: true,
            ..Readiness::default()
        }
    }
}

#[derive(Default)]
struct FeedState {
    buf: VecDeque<u8>,
    closed: bool,
}

/// Input the host pushes as it arrives; reads block until there is some or the host
/// closes the stream (end of file). The host bounds what it pushes.
pub struct FeedStream {
    state: Arc<WaitCell<FeedState>>,
}

impl FeedStream {
    pub fn new() -> Arc<FeedStream> {
        Arc::new(FeedStream {
            state: Arc::new(WaitCell::new(FeedState::default())),
        })
    }

    /// Appends `data` for readers. Ignored once closed.
    pub fn push(&self, data: &[u8]) {
        let mut st = self.state.lock();
        if !st.closed {
            st.buf.extend(data);
        }
        drop(st);
        self.state.notify();
    }

    /// Ends the stream: readers get what is left, then end of file.
    pub fn close(&self) {
        self.state.lock().closed = true;
        self.state.notify();
    }
}

impl HostStream for FeedStream {
    fn read(&self, buf: &mut [u8], nonblocking: bool, intr: &Interrupt) -> KResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.state.wait_until(intr, |st| {
            if !st.buf.is_empty() {
                let n = buf.len().min(st.buf.len());
                for (dst, src) in buf.iter_mut().zip(st.buf.drain(..n)) {
                    *dst = src;
                }
                Some(Ok(n))
            } else if st.closed {
                Some(Ok(0))
            } else if nonblocking {
                Some(Err(Errno::EAGAIN))
            } else {
                None
            }
        })?
    }

    fn readiness(&self) -> Readiness {
        let st = self.state.lock();
        Readiness {
            readable: !st.buf.is_empty() || st.closed,
            hangup: st.closed,
            ..Readiness::default()
        }
    }

    fn watch(&self, waker: Arc<dyn Waker>) -> Option<Watch> {
        Some(self.state.watch(waker))
    }
}

struct CaptureState {
    data: Vec<u8>,
    truncated: bool,
    /// Writes are dropped (see [`CaptureStream::seal`]).
    sealed: bool,
}

/// Output collected in memory, up to a cap. Past the cap, writes still succeed (the
/// process is not disturbed: no `EFBIG`, no `SIGPIPE`) but their bytes are dropped and
/// [`CaptureStream::truncated`] turns true, so the client learns that output was cut.
pub struct CaptureStream {
    cap: usize,
    state: Mutex<CaptureState>,
}

impl CaptureStream {
    /// A capture keeping at most `cap` bytes.
    pub fn new(cap: usize) -> Arc<CaptureStream> {
        Arc::new(CaptureStream {
            cap,
            state: Mutex::new(CaptureState {
                data: Vec::new(),
                truncated: false,
                sealed: false,
            }),
        })
    }

    /// What was kept so far.
    pub fn contents(&self) -> Vec<u8> {
        lock(&self.state).data.clone()
    }

    /// Takes what was kept so far, leaving the capture empty (the cap then applies
    /// afresh, for streaming output in pieces).
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut lock(&self.state).data)
    }

    /// Takes what was kept and drops whatever is written from now on (the writes
    /// still succeed): the output of a command that is over, still held by a
    /// process that outlived it.
    pub fn seal(&self) -> Vec<u8> {
        let mut st = lock(&self.state);
        st.sealed = true;
        std::mem::take(&mut st.data)
    }

    /// Whether bytes were dropped because of the cap.
    pub fn truncated(&self) -> bool {
        lock(&self.state).truncated
    }

    pub fn len(&self) -> usize {
        lock(&self.state).data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl HostStream for CaptureStream {
    fn write(&self, buf: &[u8], _intr: &Interrupt) -> KResult<usize> {
        let mut st = lock(&self.state);
        if st.sealed {
            return Ok(buf.len());
        }
        let room = self.cap.saturating_sub(st.data.len());
        let keep = room.min(buf.len());
        st.data.extend_from_slice(&buf[..keep]);
        if keep < buf.len() {
            st.truncated = true;
        }
        Ok(buf.len())
    }

    fn readiness(&self) -> Readiness {
        Readiness {
            writable: true,
            ..Readiness::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;
    use std::time::Duration;

    #[test]
    fn bytes_stream_reads_then_eof() {
        let s = BytesStream::new(b"abc".to_vec());
        let i = Interrupt::new();
        let mut buf = [0u8; 2];
        assert_eq!(s.read(&mut buf, false, &i), Ok(2));
        assert_eq!(s.read(&mut buf, false, &i), Ok(1));
        assert_eq!(buf[0], b'c');
        assert_eq!(s.read(&mut buf, false, &i), Ok(0));
        assert_eq!(s.write(b"x", &i), Err(Errno::EBADF));
    }

    #[test]
    fn a_sealed_capture_drops_later_writes() {
        let c = CaptureStream::new(100);
        let intr = Interrupt::new();
        assert_eq!(c.write(b"before", &intr), Ok(6));
        assert_eq!(c.seal(), b"before");
        assert_eq!(
            c.write(b"after", &intr),
            Ok(5),
            "the writer is not disturbed"
        );
        assert!(c.is_empty());
        assert!(!c.truncated());
    }

    #[test]
    fn capture_drops_past_the_cap() {
        let s = CaptureStream::new(4);
        let i = Interrupt::new();
        assert_eq!(s.write(b"abc", &i), Ok(3));
        assert!(!s.truncated());
        assert_eq!(s.write(b"def", &i), Ok(3));
        assert_eq!(s.contents(), b"abcd");
        assert!(s.truncated());
        assert_eq!(s.take(), b"abcd");
        assert!(s.is_empty());
        assert_eq!(s.read(&mut [0u8; 1], false, &i), Err(Errno::EBADF));
    }

    #[test]
    fn feed_stream_blocks_until_pushed_or_interrupted() {
        let s = FeedStream::new();
        let i = Interrupt::new();
        assert_eq!(s.read(&mut [0u8; 4], true, &i), Err(Errno::EAGAIN));
        let (s2, i2) = (Arc::clone(&s), i.clone());
        let t = thread::spawn(move || {
            let mut buf = [0u8; 4];
            let n = s2.read(&mut buf, false, &i2)?;
            Ok::<_, Errno>(buf[..n].to_vec())
        });
        thread::sleep(Duration::from_millis(30));
        s.push(b"hi");
        assert_eq!(t.join().unwrap(), Ok(b"hi".to_vec()));
        let (s2, i2) = (Arc::clone(&s), i.clone());
        let t = thread::spawn(move || s2.read(&mut [0u8; 4], false, &i2));
        thread::sleep(Duration::from_millis(30));
        i.interrupt();
        assert_eq!(t.join().unwrap(), Err(Errno::EINTR));
        i.clear();
        s.push(b"z");
        s.close();
        assert!(s.readiness().readable);
        let mut buf = [0u8; 4];
        assert_eq!(s.read(&mut buf, false, &i), Ok(1));
        assert_eq!(s.read(&mut buf, false, &i), Ok(0));
    }
}
