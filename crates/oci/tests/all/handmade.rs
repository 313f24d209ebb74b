//! Hand-made layers on top of a umoci image: opaque whiteouts (before and after the layer's own
//! entries), whiteouts of directories, hard links to lower-layer files, devices and fifos.

use recompiler_oci::{Node, OtherKind};

use crate::support::{Layout, TarMaker, assert_same, rootfs_of, snapshot_dir, snapshot_rootfs};

/// `base`: a umoci layer with /d/a, /d/sub/b and /keep/x.
fn base() -> Layout {
    let l = Layout::new();
    l.new_image("base");
    let b = l.unpack("base");
    let r = b.rootfs();
    std::fs::create_dir_all(r.join("d/sub")).unwrap();
    std::fs::create_dir_all(r.join("keep")).unwrap();
    std::fs::write(r.join("d/a"), "a").unwrap();
    std::fs::write(r.join("d/sub/b"), "b").unwrap();
    std::fs::write(r.join("keep/x"), "x").unwrap();
    l.repack("base", &b);
    l
}

fn paths(l: &Layout, tag: &str) -> Vec<String> {
    let fs = rootfs_of(&l.open(tag).unwrap());
    fs.iter().map(|(p, _)| p.to_string()).collect()
}

#[test]
fn opaque_whiteout_first_matches_umoci() {
    let l = base();
    let layer = TarMaker::default()
        .dir("d/")
        .file("d/.wh..wh..opq", "")
        .file("d/new", "n")
        .finish();
    l.add_raw_layer("base", "opq", &layer);
    let image = l.open("opq").unwrap();
    let fs = rootfs_of(&image);
    assert_eq!(
        fs.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        vec!["/", "/d", "/d/new", "/keep", "/keep/x"]
    );
    let bundle = l.unpack("opq");
    assert_same(
        &snapshot_rootfs(&fs),
        &snapshot_dir(&bundle.rootfs()),
        "opaque vs umoci",
    );
}

#[test]
fn opaque_whiteout_last_spares_same_layer() {
    let l = base();
    let layer = TarMaker::default()
        .dir("d/")
        .file("d/new", "n")
        .file("d/sub/c", "c")
        .file("d/.wh..wh..opq", "")
        .finish();
    l.add_raw_layer("base", "opq-last", &layer);
    assert_eq!(
        paths(&l, "opq-last"),
        vec![
            "/", "/d", "/d/new", "/d/sub", "/d/sub/c", "/keep", "/keep/x"
        ]
    );
}

#[test]
fn whiteout_of_directory() {
    let l = base();
    let layer = TarMaker::default()
        .file(".wh.d", "")
        .file("keep/.wh.x", "")
        .finish();
    l.add_raw_layer("base", "wh", &layer);
    assert_eq!(paths(&l, "wh"), vec!["/", "/keep"]);
    let bundle = l.unpack("wh");
    let fs = rootfs_of(&l.open("wh").unwrap());
    assert_same(
        &snapshot_rootfs(&fs),
        &snapshot_dir(&bundle.rootfs()),
        "whiteouts vs umoci",
    );
}

#[test]
fn hard_link_to_lower_layer_file() {
    let l = base();
    l.add_raw_layer(
        "base",
        "hl",
        &TarMaker::default().hardlink("alink", "d/a").finish(),
    );
    let fs = rootfs_of(&l.open("hl").unwrap());
    let inode = |p: &str| match fs.get(p).unwrap() {
        Node::File { inode, .. } => *inode,
        other => panic!("{p}: {other:?}"),
    };
    assert_eq!(inode("/alink"), inode("/d/a"));
    assert_eq!(&**fs.read_file("/alink").unwrap(), b"a");

    // Written out: the first path in order holds the data, the second links to it.
    let mut tar = Vec::new();
    fs.write_tar(&mut tar).unwrap();
    let mut archive = tar::Archive::new(&tar[..]);
    let da = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.path().unwrap().to_str() == Some("d/a"))
        .unwrap()
        .header()
        .clone();
    assert_eq!(da.entry_type(), tar::EntryType::Link);
    assert_eq!(da.link_name().unwrap().unwrap().to_str(), Some("alink"));
}

#[test]
fn devices_and_fifos() {
    let l = base();
    let layer = TarMaker::default()
        .dir("dev/")
        .device("dev/null", tar::EntryType::Char, 1, 3)
        .device("dev/loop0", tar::EntryType::Block, 7, 0)
        .device("dev/pipe", tar::EntryType::Fifo, 0, 0)
        .finish();
    l.add_raw_layer("base", "dev", &layer);
    let fs = rootfs_of(&l.open("dev").unwrap());
    let kind = |p: &str| match fs.get(p).unwrap() {
        Node::Other { kind, meta } => {
            assert_eq!(meta.mode, 0o600);
            *kind
        }
        other => panic!("{p}: {other:?}"),
    };
    assert_eq!(
        kind("/dev/null"),
        OtherKind::CharDevice { major: 1, minor: 3 }
    );
    assert_eq!(
        kind("/dev/loop0"),
        OtherKind::BlockDevice { major: 7, minor: 0 }
    );
    assert_eq!(kind("/dev/pipe"), OtherKind::Fifo);
    let mut tar = Vec::new();
    fs.write_tar(&mut tar).unwrap();
    let back = recompiler_oci::Rootfs::from_tar(&tar[..]).unwrap();
    assert_same(
        &snapshot_rootfs(&back),
        &snapshot_rootfs(&fs),
        "devices round trip",
    );
}
