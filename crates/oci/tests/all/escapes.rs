//! Hostile layers (added verbatim with `umoci raw add-layer`): entries that would land outside
//! the root are refused with an error naming the layer and the entry.

use recompiler_oci::{OciError, Transport};

use crate::support::{Layout, TarMaker, rootfs_of};

/// A base image holding `/etc/passwd` and `usr/lib`, and a symlink `lib -> usr/lib`.
fn base() -> Layout {
    let l = Layout::new();
    l.new_image("base");
    l.add_raw_layer(
        "base",
        "base",
        &TarMaker::default()
            .dir("etc/")
            .file("etc/passwd", "root:x:0:0")
            .dir("usr/lib/")
            .symlink("lib", "usr/lib")
            .finish(),
    );
    l
}

fn assert_refused(l: &Layout, tag: &str, layer: Vec<u8>, bad_entry: &str) {
    l.add_raw_layer("base", tag, &layer);
    let image = l.open(tag).unwrap();
    let digest = image.layers.last().unwrap().digest.clone();
    let err = image.rootfs(&mut |_| {}).unwrap_err();
    match &err {
        OciError::Entry { origin, entry, .. } => {
            assert_eq!(entry, bad_entry, "{err}");
            assert!(origin.contains(&digest), "{err}");
        }
        other => panic!("{tag}: expected an entry error, got {other}"),
    }
    let msg = err.to_string();
    assert!(msg.contains(bad_entry) && msg.contains(&digest), "{msg}");
}

#[test]
fn dot_dot_entry() {
    let l = base();
    assert_refused(
        &l,
        "dotdot",
        TarMaker::default().file("../x", "x").finish(),
        "../x",
    );
    assert_refused(
        &l,
        "dotdot2",
        TarMaker::default().file("a/../../x", "x").finish(),
        "a/../../x",
    );
}

#[test]
fn absolute_entry() {
    let l = base();
    assert_refused(
        &l,
        "abs",
        TarMaker::default().file("/abs", "x").finish(),
        "/abs",
    );
}

#[test]
fn through_escaping_symlink() {
    let l = base();
    let layer = TarMaker::default()
        .symlink("evil", "../../..")
        .file("evil/x", "x")
        .finish();
    assert_refused(&l, "evil", layer, "evil/x");
    // An absolute target climbing above the root is no better.
    let layer = TarMaker::default()
        .symlink("evil", "/../..")
        .file("evil/x", "x")
        .finish();
    assert_refused(&l, "evil-abs", layer, "evil/x");
    // Nor is a whiteout placed through it.
    let layer = TarMaker::default()
        .symlink("evil", "../..")
        .file("evil/.wh.x", "")
        .finish();
    assert_refused(&l, "evil-wh", layer, "evil/.wh.x");
}

#[test]
fn escaping_hard_links() {
    let l = base();
    let layer = TarMaker::default()
        .hardlink("pw", "../../etc/passwd")
        .finish();
    assert_refused(&l, "hl", layer, "pw");
    let layer = TarMaker::default().hardlink("pw", "/etc/passwd").finish();
    assert_refused(&l, "hl-abs", layer, "pw");
    let layer = TarMaker::default()
        .symlink("up", "../..")
        .hardlink("pw", "up/etc/passwd")
        .finish();
    assert_refused(&l, "hl-sym", layer, "pw");
}

#[test]
fn escape_refused_in_docker_archive_too() {
    let l = base();
    l.add_raw_layer(
        "base",
        "evil",
        &TarMaker::default().file("../x", "x").finish(),
    );
    let archive = l.scratch("evil-docker.tar");
    l.skopeo_copy(
        "evil",
        &format!("docker-archive:{}:evil:1", archive.display()),
        &[],
    );
    let r = recompiler_oci::ImageRef::parse(archive.to_str().unwrap()).unwrap();
    let image = recompiler_oci::open(&r, &Default::default()).unwrap();
    assert_eq!(image.transport, Transport::DockerArchive);
    let err = image.rootfs(&mut |_| {}).unwrap_err();
    assert!(
        matches!(&err, OciError::Entry { entry, .. } if entry == "../x"),
        "{err}"
    );
    assert!(
        err.to_string().contains(&archive.display().to_string()),
        "{err}"
    );
}

#[test]
fn inside_symlinks_are_followed() {
    let l = base();
    l.add_raw_layer(
        "base",
        "ok",
        &TarMaker::default()
            .file("lib/libc.so", "c")
            .symlink("etc/alt", "/usr/lib/libc.so")
            .hardlink("hl", "lib/libc.so")
            .finish(),
    );
    let fs = rootfs_of(&l.open("ok").unwrap());
    assert!(fs.get("/usr/lib/libc.so").is_some());
    assert!(
        fs.get("/lib/libc.so").is_none(),
        "get must not follow the symlink"
    );
    assert_eq!(&**fs.read_file("/lib/libc.so").unwrap(), b"c");
    assert_eq!(&**fs.read_file("/etc/alt").unwrap(), b"c");
    assert_eq!(&**fs.read_file("/hl").unwrap(), b"c");
}
