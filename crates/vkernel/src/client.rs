//! A client of the daemon's socket protocol (see [`crate::server::protocol`]):
//! one connection, requests answered in order.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The socket used when none is given: `$VKERNEL_SOCKET`, else
/// `$XDG_RUNTIME_DIR/recompiler/vkernel.sock`, else `/run/recompiler/vkernel.sock`.
pub fn default_socket() -> PathBuf {
    if let Some(s) = std::env::var_os("VKERNEL_SOCKET") {
        return PathBuf::from(s);
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR") {
        return PathBuf::from(d).join("recompiler/vkernel.sock");
    }
    PathBuf::from("/run/recompiler/vkernel.sock")
}

/// Failures talking to the daemon.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("connecting to {} (is `vkernel serve` running there?)", path.display())]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("talking to the daemon: {0}")]
    Io(#[from] std::io::Error),
    #[error("the daemon closed the connection")]
    Closed,
    #[error("the daemon sent a line that is not JSON: {0}")]
    BadReply(String),
}

/// One connection to the daemon.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    pub fn connect(path: &Path) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        let writer = stream.try_clone()?;
        Ok(Client {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// A second handle on the connection for sending (e.g. `stdin` messages
    /// from another thread while events are read here).
    pub fn sender(&self) -> Result<UnixStream, ClientError> {
        Ok(self.writer.try_clone()?)
    }

    /// Sends one request.
    pub fn send(&mut self, request: &Value) -> Result<(), ClientError> {
        let mut line =
            serde_json::to_vec(request).map_err(|e| ClientError::BadReply(e.to_string()))?;
        line.push(b'\n');
        self.writer.write_all(&line)?;
        Ok(())
    }

    /// Sends raw bytes (for tests of malformed input).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.writer.write_all(bytes)?;
        Ok(())
    }

    /// Reads the next line from the daemon (a reply or an event).
    pub fn recv(&mut self) -> Result<Value, ClientError> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(ClientError::Closed);
        }
        serde_json::from_str(&line).map_err(|_| ClientError::BadReply(line.trim_end().to_string()))
    }

    /// Sends a request and returns its reply (events of a streaming run are
    /// skipped: use [`Client::send`] and [`Client::recv`] for those).
    pub fn call(&mut self, request: &Value) -> Result<Value, ClientError> {
        self.send(request)?;
        loop {
            let v = self.recv()?;
            if v.get("event").is_none() {
                return Ok(v);
            }
        }
    }
}
