//! The lifted form of one ELF program, as the builder stores it in the
//! megabinary and the guest runtime loads it.
//!
//! Binary layout (little-endian), version 1:
//! ```text
//! magic     8 bytes  "RCLIFT\0\x01"
//! entry     u64      the ELF entry point
//! phdr      u64      guest address of the program headers (AT_PHDR; 0 if not loaded)
//! phent     u16      size of one program header (AT_PHENT)
//! phnum     u16      number of program headers (AT_PHNUM)
//! nseg      u32      number of segments
//! nfunc     u32      number of discovered code addresses
//! reserved  u32
//! segments  nseg x { vaddr u64, memsz u64, filesz u64, offset u64 (of its bytes
//!                    from the start of the image), flags u32 (PF_X=1, PF_W=2,
//!                    PF_R=4), align u32 }
//! code      nfunc x u64   discovered function and branch-target addresses, sorted
//! bytes     the segments' file bytes, each 8-aligned
//! ```
//! The decoder checks every count, offset and length against the buffer: a
//! corrupt image is an error, never an out-of-bounds read.

/// The first 8 bytes of an image.
pub const MAGIC: &[u8; 8] = b"RCLIFT\0\x01";

/// Segment permission bits (ELF `p_flags`).
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

const HEADER: usize = 8 + 8 + 8 + 2 + 2 + 4 + 4 + 4;
const SEGMENT: usize = 8 * 4 + 4 + 4;

/// A loadable segment (`PT_LOAD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    pub vaddr: u64,
    pub memsz: u64,
    /// Permissions, `PF_*`.
    pub flags: u32,
    pub align: u32,
    /// The first `filesz` bytes; the rest up to `memsz` are zero.
    pub data: &'a [u8],
}

/// A lifted program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiftedImage<'a> {
    pub entry: u64,
    pub phdr: u64,
    pub phent: u16,
    pub phnum: u16,
    pub segments: Vec<Segment<'a>>,
    /// Discovered code addresses (function starts and branch targets), sorted.
    pub code: Vec<u64>,
}

/// Why an image does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageError(pub &'static str);

impl std::fmt::Display for ImageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "corrupt lifted image: {}", self.0)
    }
}

impl std::error::Error for ImageError {}

impl<'a> LiftedImage<'a> {
    /// Encodes the image.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.entry.to_le_bytes());
        out.extend_from_slice(&self.phdr.to_le_bytes());
        out.extend_from_slice(&self.phent.to_le_bytes());
        out.extend_from_slice(&self.phnum.to_le_bytes());
        out.extend_from_slice(&(self.segments.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.code.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        let mut offset = HEADER + SEGMENT * self.segments.len() + 8 * self.code.len();
        let mut offsets = Vec::with_capacity(self.segments.len());
        for s in &self.segments {
            offset = offset.next_multiple_of(8);
            offsets.push(offset);
            offset += s.data.len();
        }
        for (s, off) in self.segments.iter().zip(&offsets) {
            out.extend_from_slice(&s.vaddr.to_le_bytes());
            out.extend_from_slice(&s.memsz.to_le_bytes());
            out.extend_from_slice(&(s.data.len() as u64).to_le_bytes());
            out.extend_from_slice(&(*off as u64).to_le_bytes());
            out.extend_from_slice(&s.flags.to_le_bytes());
            out.extend_from_slice(&s.align.to_le_bytes());
        }
        for c in &self.code {
            out.extend_from_slice(&c.to_le_bytes());
        }
        for (s, off) in self.segments.iter().zip(&offsets) {
            out.resize(*off, 0);
            out.extend_from_slice(s.data);
        }
        out
    }

    /// Decodes an image, borrowing the segments' bytes from `buf`.
    pub fn decode(buf: &'a [u8]) -> Result<Self, ImageError> {
        let mut r = Reader { buf, pos: 0 };
        if r.take(8)? != MAGIC {
            return Err(ImageError("bad magic"));
        }
        let entry = r.u64()?;
        let phdr = r.u64()?;
        let phent = r.u16()?;
        let phnum = r.u16()?;
        let nseg = r.u32()? as usize;
        let nfunc = r.u32()? as usize;
        let _ = r.u32()?;
        if nseg > (buf.len() / SEGMENT) || nfunc > buf.len() / 8 {
            return Err(ImageError("counts larger than the image"));
        }
        let mut segments = Vec::with_capacity(nseg);
        for _ in 0..nseg {
            let vaddr = r.u64()?;
            let memsz = r.u64()?;
            let filesz = r.u64()?;
            let offset = r.u64()?;
            let flags = r.u32()?;
            let align = r.u32()?;
            if filesz > memsz {
                return Err(ImageError("segment file size above its memory size"));
            }
            if vaddr.checked_add(memsz).is_none() {
                return Err(ImageError("segment wraps the address space"));
            }
            let start = usize::try_from(offset).map_err(|_| ImageError("segment offset"))?;
            let len = usize::try_from(filesz).map_err(|_| ImageError("segment size"))?;
            let data = start
                .checked_add(len)
                .and_then(|end| buf.get(start..end))
                .ok_or(ImageError("segment bytes outside the image"))?;
            segments.push(Segment {
                vaddr,
                memsz,
                flags,
                align,
                data,
            });
        }
        let mut code = Vec::with_capacity(nfunc);
        for _ in 0..nfunc {
            code.push(r.u64()?);
        }
        Ok(LiftedImage {
            entry,
            phdr,
            phent,
            phnum,
            segments,
            code,
        })
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ImageError> {
        let end = self.pos.checked_add(n).ok_or(ImageError("truncated"))?;
        let s = self.buf.get(self.pos..end).ok_or(ImageError("truncated"))?;
        self.pos = end;
        Ok(s)
    }
    fn u64(&mut self) -> Result<u64, ImageError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(
            b.try_into().map_err(|_| ImageError("truncated"))?,
        ))
    }
    fn u32(&mut self) -> Result<u32, ImageError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes(
            b.try_into().map_err(|_| ImageError("truncated"))?,
        ))
    }
    fn u16(&mut self) -> Result<u16, ImageError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes(
            b.try_into().map_err(|_| ImageError("truncated"))?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_round_trip_and_corruption_is_an_error() {
        let text = [0x90u8; 5];
        let data = [1u8, 2, 3];
        let img = LiftedImage {
            entry: 0x401000,
            phdr: 0x400040,
            phent: 56,
            phnum: 3,
            segments: vec![
                Segment {
                    vaddr: 0x401000,
                    memsz: 5,
                    flags: PF_R | PF_X,
                    align: 4096,
                    data: &text,
                },
                Segment {
                    vaddr: 0x402000,
                    memsz: 64,
                    flags: PF_R | PF_W,
                    align: 4096,
                    data: &data,
                },
            ],
            code: vec![0x401000, 0x401003],
        };
        let bytes = img.encode();
        assert_eq!(LiftedImage::decode(&bytes).unwrap(), img);
        for cut in 0..bytes.len() - 3 {
            assert!(LiftedImage::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = bytes.clone();
        bad[0] ^= 1;
        assert!(LiftedImage::decode(&bad).is_err());
    }
}
