//! The sample image read from its OCI layout: compared with umoci's own unpack, checked entry by
//! entry, written as a rootfs tar (deterministic, readable by GNU tar) and read back.

use std::io::Read;
use std::process::Command;

use recompiler_oci::{Node, OtherKind, Rootfs, Transport};

use crate::sample::{TAG, sample_image};
use crate::support::{assert_same, rootfs_of, run, snapshot_dir, snapshot_rootfs, tar_bytes};

#[test]
fn matches_umoci_unpack() {
    let l = sample_image();
    let image = l.open(TAG).unwrap();
    let ours = snapshot_rootfs(&rootfs_of(&image));
    let bundle = l.unpack(TAG);
    assert_same(
        &ours,
        &snapshot_dir(&bundle.rootfs()),
        "sample image vs umoci unpack",
    );
}

#[test]
fn image_metadata() {
    let l = sample_image();
    let image = l.open(TAG).unwrap();
    assert_eq!(image.transport, Transport::Layout);
    assert_eq!(image.reference, format!("oci:{}:{TAG}", l.path.display()));
    assert_eq!(image.digest, l.manifest_digest(TAG));
    let manifest = l.manifest(TAG);
    assert_eq!(image.config_digest, manifest["config"]["digest"]);
    assert_eq!(image.platform.to_string(), "linux/amd64");
    assert_eq!(image.layers.len(), 3);
    for (layer, desc) in image
        .layers
        .iter()
        .zip(manifest["layers"].as_array().unwrap())
    {
        assert_eq!(layer.digest, desc["digest"]);
        assert_eq!(layer.size, desc["size"].as_u64().unwrap());
        assert_eq!(
            layer.media_type,
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
        assert!(layer.diff_id.starts_with("sha256:"));
    }
}

#[test]
fn entries_are_applied() {
    let l = sample_image();
    let fs = rootfs_of(&l.open(TAG).unwrap());
    let meta = |p: &str| *fs.get(p).unwrap_or_else(|| panic!("{p} missing")).meta();

    // Deleted by whiteouts in layers 2 and 3.
    for gone in ["/e/gone", "/d/sub", "/d/sub/f", "/d/g", "/d/new"] {
        assert!(fs.get(gone).is_none(), "{gone} should be gone");
    }
    assert_eq!(&**fs.read_file("/e/keep").unwrap(), b"keep");
    assert_eq!(&**fs.read_file("/d/fresh").unwrap(), b"fresh");

    // The symlink replaced by a directory; the absolute symlink resolves inside the tree.
    assert!(fs.get("/lib").unwrap().is_dir());
    assert!(
        matches!(fs.get("/etc/alt"), Some(Node::Symlink { target, .. }) if target == "/usr/lib/libfoo.so")
    );
    assert_eq!(fs.resolve("/etc/alt").unwrap(), "/usr/lib/libfoo.so");
    assert_eq!(&**fs.read_file("/etc/alt").unwrap(), b"foo v2");

    // Modes with the special bits, owners, mtime.
    assert_eq!(meta("/bin/suid").mode, 0o4755);
    assert_eq!(meta("/bin/sgid").mode, 0o2711);
    assert_eq!(meta("/tmp").mode, 0o1777);
    assert_eq!(meta("/bin/tool").mode, 0o700);
    let secret = meta("/etc/secret");
    assert_eq!(
        (secret.mode, secret.uid, secret.gid, secret.mtime),
        (0o640, 1000, 1001, 1234567890)
    );

    // Hard links share an inode and data.
    match (
        fs.get("/bin/tool").unwrap(),
        fs.get("/bin/tool-link").unwrap(),
    ) {
        (
            Node::File {
                inode: a, data: x, ..
            },
            Node::File {
                inode: b, data: y, ..
            },
        ) => {
            assert_eq!(a, b);
            assert_eq!(x, y);
        }
        other => panic!("{other:?}"),
    }

    // Devices and fifos as metadata.
    assert!(matches!(
        fs.get("/dev/null"),
        Some(Node::Other {
            kind: OtherKind::CharDevice { major: 1, minor: 3 },
            ..
        })
    ));
    assert!(matches!(
        fs.get("/run/fifo"),
        Some(Node::Other {
            kind: OtherKind::Fifo,
            ..
        })
    ));
}

/// Proves the sample really exercises whiteouts: umoci wrote `.wh.` entries in layer 2.
#[test]
fn umoci_wrote_whiteouts() {
    let l = sample_image();
    let image = l.open(TAG).unwrap();
    let blob = std::fs::read(l.blob_path(&image.layers[1].digest)).unwrap();
    let mut names = Vec::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]));
    for e in archive.entries().unwrap() {
        names.push(e.unwrap().path().unwrap().display().to_string());
    }
    assert!(names.iter().any(|n| n.ends_with("e/.wh.gone")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with("d/.wh.sub")), "{names:?}");
}

#[test]
fn progress_reports_every_layer() {
    let l = sample_image();
    let image = l.open(TAG).unwrap();
    let mut events = Vec::new();
    image.rootfs(&mut |p| events.push(p)).unwrap();
    for (i, layer) in image.layers.iter().enumerate() {
        let mine: Vec<_> = events.iter().filter(|e| e.index == i).collect();
        assert!(
            mine.iter()
                .all(|e| e.count == 3 && e.digest == layer.digest)
        );
        assert_eq!(mine.first().unwrap().bytes_done, 0);
        assert_eq!(mine.last().unwrap().bytes_done, layer.size);
        assert_eq!(mine.last().unwrap().bytes_total, layer.size);
    }
    let indexes: Vec<usize> = events.iter().map(|e| e.index).collect();
    assert!(indexes.windows(2).all(|w| w[0] <= w[1]), "{indexes:?}");
}

#[test]
fn rootfs_tar_roundtrip() {
    let l = sample_image();
    let image = l.open(TAG).unwrap();
    let fs = rootfs_of(&image);
    let tar = tar_bytes(&fs);

    // Deterministic: a second unpack of the same image writes the same bytes.
    assert!(
        tar == tar_bytes(&rootfs_of(&image)),
        "rootfs tar is not deterministic"
    );

    // Read back: same tree, same bytes.
    let back = Rootfs::from_tar(&tar[..]).unwrap();
    assert_same(
        &snapshot_rootfs(&back),
        &snapshot_rootfs(&fs),
        "from_tar(write_tar)",
    );
    assert!(tar == tar_bytes(&back), "write_tar(from_tar(t)) != t");

    // GNU tar extracts it to the same tree.
    let file = l.scratch("rootfs.tar");
    std::fs::write(&file, &tar).unwrap();
    let dir = l.scratch("extracted");
    std::fs::create_dir(&dir).unwrap();
    run(Command::new("tar")
        .args(["--numeric-owner", "--same-owner", "-xpf"])
        .arg(&file)
        .arg("-C")
        .arg(&dir));
    assert_same(
        &snapshot_rootfs(&fs),
        &snapshot_dir(&dir),
        "write_tar vs GNU tar -x",
    );

    // Entries are sorted, relative, and the second path of an inode is a hard link.
    let mut archive = tar::Archive::new(&tar[..]);
    let mut names = Vec::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let name = String::from_utf8(e.path_bytes().into_owned()).unwrap();
        assert!(e.header().username_bytes().is_none_or(|u| u.is_empty()));
        if name == "bin/tool-link" {
            assert_eq!(e.header().entry_type(), tar::EntryType::Link);
            assert_eq!(e.link_name().unwrap().unwrap().to_str(), Some("bin/tool"));
        }
        let mut sink = Vec::new();
        e.read_to_end(&mut sink).unwrap();
        names.push(name);
    }
    assert_eq!(names[0], "./");
    assert!(names.iter().all(|n| !n.starts_with('/')));
    let mut sorted = names[1..].to_vec();
    sorted.sort();
    assert_eq!(names[1..], sorted[..]);
}
