//! Scatter/gather helpers: copying between one contiguous buffer and a list of buffers
//! (the `iovec`s of `readv`/`writev`), counted as Linux counts them.

/// The most bytes one read or write transfers, as on Linux (`MAX_RW_COUNT`,
/// `INT_MAX & PAGE_MASK`): larger requests are short, so a count always fits an `int`.
pub const MAX_RW_COUNT: usize = 0x7fff_f000;

/// Total length of `bufs`, capped at [`MAX_RW_COUNT`].
pub(crate) fn total(bufs: &[&[u8]]) -> usize {
    bufs.iter()
        .fold(0usize, |acc, b| acc.saturating_add(b.len()))
        .min(MAX_RW_COUNT)
}

/// Total length of `bufs`, capped at [`MAX_RW_COUNT`].
pub(crate) fn total_mut(bufs: &[&mut [u8]]) -> usize {
    bufs.iter()
        .fold(0usize, |acc, b| acc.saturating_add(b.len()))
        .min(MAX_RW_COUNT)
}

/// Copies `src` into `bufs` as if they were one buffer, starting `skip` bytes into it.
/// Returns how many bytes were copied.
pub(crate) fn scatter(mut src: &[u8], bufs: &mut [&mut [u8]], mut skip: usize) -> usize {
    let mut copied = 0;
    for buf in bufs.iter_mut() {
        if src.is_empty() {
            break;
        }
        if skip >= buf.len() {
            skip -= buf.len();
            continue;
        }
        let room = &mut buf[skip..];
        skip = 0;
        let n = room.len().min(src.len());
        room[..n].copy_from_slice(&src[..n]);
        src = &src[n..];
        copied += n;
    }
    copied
}

/// Calls `f` on the pieces of `bufs` (seen as one buffer) from `skip` for `len` bytes.
pub(crate) fn gather(bufs: &[&[u8]], mut skip: usize, mut len: usize, mut f: impl FnMut(&[u8])) {
    for buf in bufs {
        if len == 0 {
            break;
        }
        if skip >= buf.len() {
            skip -= buf.len();
            continue;
        }
        let piece = &buf[skip..];
        skip = 0;
        let n = piece.len().min(len);
        f(&piece[..n]);
        len -= n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scatter_and_gather() {
        let mut a = [0u8; 2];
        let mut b = [0u8; 3];
        let mut bufs: [&mut [u8]; 2] = [&mut a, &mut b];
        assert_eq!(total_mut(&bufs), 5);
        assert_eq!(scatter(b"xyz", &mut bufs, 1), 3);
        assert_eq!(a, [0, b'x']);
        assert_eq!(b, [b'y', b'z', 0]);
        let src: [&[u8]; 3] = [b"ab", b"", b"cde"];
        assert_eq!(total(&src), 5);
        let mut out = Vec::new();
        gather(&src, 1, 3, |p| out.extend_from_slice(p));
        assert_eq!(out, b"bcd");
        out.clear();
        gather(&src, 4, 10, |p| out.extend_from_slice(p));
        assert_eq!(out, b"e");
    }
}
