//! The sample image most tests share: three layers made with umoci, holding symlinks (relative
//! and absolute), hard links, setuid/setgid/sticky modes, owners, an old mtime, a fifo, a char
//! device, and deletions (whiteouts) in later layers.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use crate::support::{Layout, run};

pub const TAG: &str = "sample";

fn write(path: &Path, data: &str, mode: u32) {
    fs::write(path, data).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Makes the sample image in a new layout, tagged [`TAG`].
pub fn sample_image() -> Layout {
    let l = Layout::new();
    l.new_image(TAG);

    // Layer 1.
    let b = l.unpack(TAG);
    let r = b.rootfs();
    for d in ["usr/lib", "bin", "d/sub", "e", "tmp", "etc", "run", "dev"] {
        fs::create_dir_all(r.join(d)).unwrap();
    }
    write(&r.join("usr/lib/libfoo.so"), "foo v1", 0o644);
    symlink("usr/lib", r.join("lib")).unwrap();
    symlink("/usr/lib/libfoo.so", r.join("etc/alt")).unwrap();
    write(&r.join("bin/tool"), "#!tool", 0o755);
    fs::hard_link(r.join("bin/tool"), r.join("bin/tool-link")).unwrap();
    write(&r.join("bin/suid"), "suid", 0o4755);
    write(&r.join("bin/sgid"), "sgid", 0o2711);
    chmod(&r.join("tmp"), 0o1777);
    write(&r.join("etc/secret"), "s", 0o640);
    std::os::unix::fs::chown(r.join("etc/secret"), Some(1000), Some(1001)).unwrap();
    run(Command::new("touch")
        .args(["-h", "-d", "@1234567890"])
        .arg(r.join("etc/secret")));
    write(&r.join("d/sub/f"), "f", 0o644);
    write(&r.join("d/g"), "g", 0o644);
    write(&r.join("e/keep"), "keep", 0o644);
    write(&r.join("e/gone"), "gone", 0o644);
    run(Command::new("mkfifo").arg(r.join("run/fifo")));
    run(Command::new("mknod")
        .arg(r.join("dev/null"))
        .args(["c", "1", "3"]));
    chmod(&r.join("dev/null"), 0o666);
    l.repack(TAG, &b);

    // Layer 2: deletions (whiteouts), a changed file, a changed mode.
    fs::remove_file(r.join("e/gone")).unwrap();
    fs::remove_dir_all(r.join("d/sub")).unwrap();
    write(&r.join("d/new"), "new", 0o600);
    write(&r.join("usr/lib/libfoo.so"), "foo v2", 0o644);
    chmod(&r.join("bin/tool"), 0o700);
    l.repack(TAG, &b);

    // Layer 3: a directory emptied and refilled, a symlink replaced by a directory.
    fs::remove_dir_all(r.join("d")).unwrap();
    fs::create_dir(r.join("d")).unwrap();
    write(&r.join("d/fresh"), "fresh", 0o644);
    fs::remove_file(r.join("lib")).unwrap();
    fs::create_dir(r.join("lib")).unwrap();
    write(&r.join("lib/own"), "own", 0o644);
    l.repack(TAG, &b);
    l
}
