//! Test helpers shared by the kernel's unit tests: images built from a list of entries.
//!
//! `Rootfs` only lets its own crate add links and devices, so images with symlinks, hard
//! links and device nodes are made the way real ones are: from a tar stream.

use std::sync::Arc;

use recompiler_oci::Rootfs;

use super::vfs::Image;

/// One entry of a test image.
pub(crate) enum E<'a> {
    Dir(&'a str, u32),
    File(&'a str, u32, &'a [u8]),
    Symlink(&'a str, &'a str),
    /// A hard link: (new path, existing path).
    Link(&'a str, &'a str),
    Char(&'a str, u32, u32),
    Fifo(&'a str),
}

fn octal(field: &mut [u8], value: u64) {
    let s = format!("{:0width$o}", value, width = field.len() - 1);
    field[..s.len()].copy_from_slice(s.as_bytes());
}

fn header(out: &mut Vec<u8>, name: &str, mode: u32, size: usize, ty: u8, link: &str) {
    header_dev(out, name, mode, size, ty, link, (0, 0));
}

fn header_dev(
    out: &mut Vec<u8>,
    name: &str,
    mode: u32,
    size: usize,
    ty: u8,
    link: &str,
    (major, minor): (u32, u32),
) {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut h[100..108], u64::from(mode));
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size as u64);
    octal(&mut h[136..148], 1_000);
    h[156] = ty;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    octal(&mut h[329..337], u64::from(major));
    octal(&mut h[337..345], u64::from(minor));
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    out.extend_from_slice(&h);
}

/// A rootfs holding `entries` (paths without a leading slash are fine either way).
pub(crate) fn rootfs(entries: &[E<'_>]) -> Rootfs {
    let mut tar = Vec::new();
    for e in entries {
        match *e {
            E::Dir(p, mode) => header(&mut tar, p.trim_start_matches('/'), mode, 0, b'5', ""),
            E::File(p, mode, data) => {
                header(
                    &mut tar,
                    p.trim_start_matches('/'),
                    mode,
                    data.len(),
                    b'0',
                    "",
                );
                tar.extend_from_slice(data);
                tar.resize(tar.len().next_multiple_of(512), 0);
            }
            E::Symlink(p, target) => {
                header(&mut tar, p.trim_start_matches('/'), 0o777, 0, b'2', target)
            }
            E::Link(p, existing) => header(
                &mut tar,
                p.trim_start_matches('/'),
                0o644,
                0,
                b'1',
                existing.trim_start_matches('/'),
            ),
            E::Char(p, major, minor) => header_dev(
                &mut tar,
                p.trim_start_matches('/'),
                0o666,
                0,
                b'3',
                "",
                (major, minor),
            ),
            E::Fifo(p) => header(&mut tar, p.trim_start_matches('/'), 0o644, 0, b'6', ""),
        }
    }
    tar.extend_from_slice(&[0u8; 1024]);
    match Rootfs::from_tar(&tar[..]) {
        Ok(fs) => fs,
        Err(e) => panic!("test image: {e}"),
    }
}

/// An image holding `entries`.
pub(crate) fn image(entries: &[E<'_>]) -> Arc<Image> {
    Arc::new(Image::from_rootfs(&rootfs(entries)))
}
