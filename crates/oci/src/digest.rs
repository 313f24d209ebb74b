//! Content digests (`sha256:<hex>`, `sha384:<hex>`, `sha512:<hex>`): parsing with strict
//! validation (a digest becomes a file name, so it must never hold `/` or `..`), hashing, and a
//! reader that hashes and counts what flows through it.
//!
//! It does not decide what to do on a mismatch: callers compare and build the error.

use std::fmt;
use std::io::{self, Read};

use sha2::{Digest as _, Sha256, Sha384, Sha512};

/// The digest algorithms the OCI image spec registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    /// The name used in digest strings and blob paths.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha384 => 96,
            Algorithm::Sha512 => 128,
        }
    }
}

/// A validated digest: known algorithm, lower-case hex of the right length.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobDigest {
    algorithm: Algorithm,
    hex: String,
}

impl BlobDigest {
    /// Parses `alg:hex`; the error says what is wrong.
    pub fn parse(s: &str) -> Result<BlobDigest, String> {
        let (alg, hex) = s
            .split_once(':')
            .ok_or_else(|| "expected algorithm:hex".to_string())?;
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha384" => Algorithm::Sha384,
            "sha512" => Algorithm::Sha512,
            other => return Err(format!("unsupported digest algorithm {other:?}")),
        };
        if hex.len() != algorithm.hex_len() {
            return Err(format!(
                "{alg} digest must have {} hex digits, has {}",
                algorithm.hex_len(),
                hex.len()
            ));
        }
        if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err("digest must be lower-case hex".to_string());
        }
        Ok(BlobDigest {
            algorithm,
            hex: hex.to_string(),
        })
    }

    /// The digest of `data` under `algorithm`.
    pub fn of(algorithm: Algorithm, data: &[u8]) -> BlobDigest {
        let mut h = Hasher::new(algorithm);
        h.update(data);
        h.finish()
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    #[cfg(test)]
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Where an OCI layout keeps this blob, relative to the layout root.
    pub fn blob_path(&self) -> String {
        format!("blobs/{}/{}", self.algorithm.name(), self.hex)
    }
}

impl fmt::Display for BlobDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

/// An incremental hasher for any [`Algorithm`].
#[derive(Clone)]
pub enum Hasher {
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl Hasher {
    pub fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha384 => Hasher::Sha384(Sha384::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    pub fn finish(self) -> BlobDigest {
        let (algorithm, hex) = match self {
            Hasher::Sha256(h) => (Algorithm::Sha256, hex::encode(h.finalize())),
            Hasher::Sha384(h) => (Algorithm::Sha384, hex::encode(h.finalize())),
            Hasher::Sha512(h) => (Algorithm::Sha512, hex::encode(h.finalize())),
        };
        BlobDigest { algorithm, hex }
    }
}

/// A reader that feeds everything read through it into a [`Hasher`], counts the bytes and
/// reports the running count to a callback.
pub struct HashingReader<'a, R> {
    inner: R,
    hasher: &'a mut Hasher,
    count: &'a mut u64,
    on_read: &'a mut dyn FnMut(u64),
}

impl<'a, R: Read> HashingReader<'a, R> {
    pub fn new(
        inner: R,
        hasher: &'a mut Hasher,
        count: &'a mut u64,
        on_read: &'a mut dyn FnMut(u64),
    ) -> Self {
        HashingReader {
            inner,
            hasher,
            count,
            on_read,
        }
    }
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        // `n <= buf.len()` by the `Read` contract; `get` keeps a broken reader from panicking us.
        if let Some(done) = buf.get(..n) {
            self.hasher.update(done);
        }
        *self.count += n as u64;
        if n > 0 {
            (self.on_read)(*self.count);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays() {
        let hex = "a".repeat(64);
        let d = BlobDigest::parse(&format!("sha256:{hex}")).unwrap();
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert_eq!(d.to_string(), format!("sha256:{hex}"));
        assert_eq!(d.blob_path(), format!("blobs/sha256/{hex}"));
        assert!(BlobDigest::parse(&format!("sha512:{}", "0".repeat(128))).is_ok());
    }

    #[test]
    fn rejects_bad_digests() {
        assert!(BlobDigest::parse("sha256").is_err());
        assert!(BlobDigest::parse("md5:abcd").is_err());
        assert!(BlobDigest::parse("sha256:abc").is_err());
        assert!(BlobDigest::parse(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(BlobDigest::parse(&format!("sha256:../../{}", "a".repeat(58))).is_err());
    }

    #[test]
    fn hashes_known_values() {
        assert_eq!(
            BlobDigest::of(Algorithm::Sha256, b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut h = Hasher::new(Algorithm::Sha256);
        let mut count = 0;
        let mut seen = Vec::new();
        let mut cb = |n| seen.push(n);
        let mut r = HashingReader::new(&b"abc"[..], &mut h, &mut count, &mut cb);
        io::copy(&mut r, &mut io::sink()).unwrap();
        assert_eq!(count, 3);
        assert_eq!(seen, vec![3]);
        assert_eq!(
            h.finish().hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
