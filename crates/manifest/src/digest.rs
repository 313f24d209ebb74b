//! Digests of file contents: SHA-256 and BLAKE3, always computed together in
//! one pass, and the dispatch id derived from a BLAKE3 hash.
//!
//! Owns the hex spelling of digests (lower case, no `sha256:` prefix) and the
//! [`FileRef`] record that names a file of the bundle with its size and digests.
//! It does not read files: callers hand in bytes they already hold, so what is
//! hashed is exactly what they will use.

use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

/// Length of a SHA-256 or BLAKE3 digest in bytes.
pub const DIGEST_LEN: usize = 32;
/// Length of a SHA-256 or BLAKE3 digest in hex digits.
pub const DIGEST_HEX_LEN: usize = 2 * DIGEST_LEN;
/// Length of a dispatch id in hex digits (a big-endian `u64`).
pub const DISPATCH_ID_HEX_LEN: usize = 16;

/// Bytes handed to both hashers at a time. Large enough for BLAKE3's SIMD
/// paths (which work on up to 16 KiB at once), small enough to stay in cache
/// between the two hashers: this is what makes it one pass over the data.
const CHUNK: usize = 64 * 1024;

/// Errors of the digest spellings: hex digests and dispatch ids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("digest {value:?}: expected {expected} lower-case hex digits")]
    BadHex { value: String, expected: usize },
    #[error("dispatch id {value:?}: expected 16 lower-case hex digits")]
    BadDispatchId { value: String },
}

/// The SHA-256 and BLAKE3 digests of some bytes, as lower-case hex without prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Digests {
    pub sha256: String,
    pub blake3: String,
}

impl Digests {
    /// Both digests of `data`, in one pass over it.
    pub fn of(data: &[u8]) -> Digests {
        RawDigests::of(data).to_hex()
    }
}

/// The SHA-256 and BLAKE3 digests of some bytes, as raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawDigests {
    pub sha256: [u8; DIGEST_LEN],
    pub blake3: [u8; DIGEST_LEN],
}

impl RawDigests {
    /// Both digests of `data`: in one pass over it, or, past
    /// [`PARALLEL_FROM`] bytes, SHA-256 on a second thread while BLAKE3 runs
    /// on this one (a bundle's files are verified at every container start:
    /// 260 MB of the CPython image took 280 ms in one pass, 180 ms so).
    pub fn of(data: &[u8]) -> RawDigests {
        if data.len() < PARALLEL_FROM {
            let mut hasher = DualHasher::new();
            hasher.update(data);
            return hasher.finalize();
        }
        std::thread::scope(|scope| {
            let sha = scope.spawn(|| -> [u8; DIGEST_LEN] { sha2::Sha256::digest(data).into() });
            let blake3 = *blake3::hash(data).as_bytes();
            let sha256 = match sha.join() {
                Ok(d) => d,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            RawDigests { sha256, blake3 }
        })
    }

    /// The hex spelling.
    pub fn to_hex(&self) -> Digests {
        Digests {
            sha256: hex::encode(self.sha256),
            blake3: hex::encode(self.blake3),
        }
    }

    /// The dispatch id of these contents (see [`dispatch_id`]).
    pub fn dispatch_id(&self) -> u64 {
        dispatch_id(&self.blake3)
    }
}

/// Inputs at least this large are hashed on two threads by [`RawDigests::of`].
pub const PARALLEL_FROM: usize = 4 << 20;

/// Incremental SHA-256 + BLAKE3, for data that arrives in pieces (it is also
/// an [`io::Write`], so `io::copy` can feed it). Single-threaded: BLAKE3's
/// plain `update`, no rayon.
#[derive(Clone)]
pub struct DualHasher {
    sha256: sha2::Sha256,
    blake3: blake3::Hasher,
}

impl fmt::Debug for DualHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DualHasher").finish_non_exhaustive()
    }
}

impl Default for DualHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl DualHasher {
    pub fn new() -> DualHasher {
        DualHasher {
            sha256: sha2::Sha256::new(),
            blake3: blake3::Hasher::new(),
        }
    }

    /// Feeds `data` to both hashers, a cache-sized chunk at a time.
    pub fn update(&mut self, data: &[u8]) {
        for chunk in data.chunks(CHUNK) {
            self.sha256.update(chunk);
            self.blake3.update(chunk);
        }
    }

    pub fn finalize(self) -> RawDigests {
        RawDigests {
            sha256: self.sha256.finalize().into(),
            blake3: *self.blake3.finalize().as_bytes(),
        }
    }
}

impl io::Write for DualHasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A file of the bundle: its base name, size and digests. The field order is
/// the order of its keys in the manifest and must not change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileRef {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub blake3: String,
}

impl FileRef {
    /// Describes `data`, to be known as `name`.
    pub fn of(name: impl Into<String>, data: &[u8]) -> FileRef {
        FileRef::with_digests(name, data.len() as u64, &Digests::of(data))
    }

    /// Describes a file whose digests are already known.
    pub fn with_digests(name: impl Into<String>, size: u64, digests: &Digests) -> FileRef {
        FileRef {
            name: name.into(),
            size,
            sha256: digests.sha256.clone(),
            blake3: digests.blake3.clone(),
        }
    }

    /// The first field in which this record and a file of `size` bytes with
    /// `digests` differ, as (field, recorded, actual); `None` when they agree.
    pub fn mismatch(&self, size: u64, digests: &Digests) -> Option<(&'static str, String, String)> {
        if self.size != size {
            return Some(("size", self.size.to_string(), size.to_string()));
        }
        if self.sha256 != digests.sha256 {
            return Some(("sha256", self.sha256.clone(), digests.sha256.clone()));
        }
        if self.blake3 != digests.blake3 {
            return Some(("blake3", self.blake3.clone(), digests.blake3.clone()));
        }
        None
    }
}

/// Whether `s` is a digest in our spelling: 64 lower-case hex digits.
pub fn is_digest_hex(s: &str) -> bool {
    is_lower_hex(s, DIGEST_HEX_LEN)
}

/// Parses a digest in our spelling (64 lower-case hex digits) into bytes.
pub fn parse_digest_hex(s: &str) -> Result<[u8; DIGEST_LEN], DigestError> {
    let bad = || DigestError::BadHex {
        value: s.to_string(),
        expected: DIGEST_HEX_LEN,
    };
    if !is_digest_hex(s) {
        return Err(bad());
    }
    let mut out = [0u8; DIGEST_LEN];
    hex::decode_to_slice(s, &mut out).map_err(|_| bad())?;
    Ok(out)
}

/// The dispatch id of a program: the first 8 bytes of its BLAKE3 hash read as
/// a big-endian `u64`. Its 16-digit hex form is therefore the first 16 hex
/// digits of the BLAKE3 hex digest.
pub fn dispatch_id(blake3: &[u8; DIGEST_LEN]) -> u64 {
    let mut prefix = [0u8; 8];
    prefix.copy_from_slice(&blake3[..8]);
    u64::from_be_bytes(prefix)
}

/// The manifest spelling of a dispatch id: 16 lower-case hex digits.
pub fn format_dispatch_id(id: u64) -> String {
    format!("{id:016x}")
}

/// Parses the manifest spelling of a dispatch id (exactly 16 lower-case hex
/// digits; no prefix, sign or upper case, so each id has one spelling).
pub fn parse_dispatch_id(s: &str) -> Result<u64, DigestError> {
    let bad = || DigestError::BadDispatchId {
        value: s.to_string(),
    };
    if !is_lower_hex(s, DISPATCH_ID_HEX_LEN) {
        return Err(bad());
    }
    u64::from_str_radix(s, 16).map_err(|_| bad())
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answers for the empty input.
    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const EMPTY_BLAKE3: &str = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";

    #[test]
    fn known_answers() {
        let d = Digests::of(b"");
        assert_eq!(d.sha256, EMPTY_SHA256);
        assert_eq!(d.blake3, EMPTY_BLAKE3);
        let abc = Digests::of(b"abc");
        assert_eq!(
            abc.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            abc.blake3,
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
    }

    #[test]
    fn two_threads_give_the_one_pass_digests() {
        let data: Vec<u8> = (0..PARALLEL_FROM + 12_345)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let mut one_pass = DualHasher::new();
        one_pass.update(&data);
        assert_eq!(RawDigests::of(&data), one_pass.finalize());
    }

    #[test]
    fn one_pass_equals_separate_hashers_across_chunk_boundaries() {
        for len in [
            0,
            1,
            1023,
            1024,
            1025,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            3 * CHUNK + 17,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let d = RawDigests::of(&data);
            assert_eq!(
                d.sha256,
                <[u8; 32]>::from(sha2::Sha256::digest(&data)),
                "len {len}"
            );
            assert_eq!(d.blake3, *blake3::hash(&data).as_bytes(), "len {len}");
        }
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let mut h = DualHasher::new();
        for piece in data.chunks(7777) {
            io::Write::write_all(&mut h, piece).unwrap();
        }
        assert_eq!(h.finalize(), RawDigests::of(&data));
    }

    #[test]
    fn file_ref() {
        let f = FileRef::of("container.wasm", b"abc");
        assert_eq!(f.name, "container.wasm");
        assert_eq!(f.size, 3);
        assert_eq!(f.sha256, Digests::of(b"abc").sha256);
        assert_eq!(f.mismatch(3, &Digests::of(b"abc")), None);
        assert_eq!(
            f.mismatch(3, &Digests::of(b"abd")).map(|m| m.0),
            Some("sha256")
        );
        assert_eq!(
            f.mismatch(4, &Digests::of(b"abcd")).map(|m| m.0),
            Some("size")
        );
        let json = serde_json::to_string(&f).unwrap();
        assert!(
            json.starts_with(r#"{"name":"container.wasm","size":3,"sha256":""#),
            "{json}"
        );
    }

    #[test]
    fn dispatch_id_is_the_blake3_hex_prefix() {
        let raw = RawDigests::of(b"hello");
        let id = dispatch_id(&raw.blake3);
        assert_eq!(id, raw.dispatch_id());
        let hexed = format_dispatch_id(id);
        assert_eq!(hexed.len(), 16);
        assert!(raw.to_hex().blake3.starts_with(&hexed));
        assert_eq!(parse_dispatch_id(&hexed), Ok(id));

        let mut b = [0u8; 32];
        b[..8].copy_from_slice(&[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
        assert_eq!(dispatch_id(&b), 0x0123_4567_89ab_cdef);
        assert_eq!(
            format_dispatch_id(0x0123_4567_89ab_cdef),
            "0123456789abcdef"
        );
        assert_eq!(format_dispatch_id(1), "0000000000000001");
    }

    #[test]
    fn dispatch_id_parse_rejects_other_spellings() {
        for bad in [
            "",
            "0123",
            "0123456789ABCDEF",
            "+123456789abcdef",
            "0x23456789abcdef",
            "0123456789abcdef0",
            "012345678 abcdef",
            "ééééééééé",
        ] {
            assert_eq!(
                parse_dispatch_id(bad),
                Err(DigestError::BadDispatchId {
                    value: bad.to_string()
                }),
                "{bad:?}"
            );
        }
        assert_eq!(parse_dispatch_id("ffffffffffffffff"), Ok(u64::MAX));
    }

    #[test]
    fn digest_hex_parse() {
        let raw = RawDigests::of(b"x");
        assert_eq!(parse_digest_hex(&hex::encode(raw.blake3)), Ok(raw.blake3));
        assert!(parse_digest_hex(&hex::encode(raw.blake3).to_uppercase()).is_err());
        assert!(parse_digest_hex(&EMPTY_SHA256[1..]).is_err());
        let err = parse_digest_hex("zz").unwrap_err().to_string();
        assert_eq!(err, "digest \"zz\": expected 64 lower-case hex digits");
    }
}
