//! The exec gate, end to end: each test fails if the gate is bypassed.

use std::sync::Arc;

use recompiler_vkernel::container::{Container, ExecRequest, RuntimeError};
use recompiler_vkernel::engine::RunEnd;
use recompiler_vkernel::gate::{CopyPolicy, Denied};
use recompiler_vkernel::kernel::{Interrupt, Limits, OFlags};

use crate::bundles::{self, SharedBuffer};

fn exec(c: &Container, path: &str) -> Result<RunEnd, RuntimeError> {
    c.run(&ExecRequest {
        path: path.into(),
        stdin: b"x\n".to_vec(),
        ..ExecRequest::default()
    })
    .map(|o| o.end)
}

/// Writes `data` to `path` in the container (creating or truncating it), mode 0755.
fn write_file(c: &Container, path: &str, data: &[u8]) {
    let vfs = c.kernel.vfs();
    let file = vfs
        .openat(
            vfs.root(),
            path.as_bytes(),
            OFlags::WRONLY | OFlags::CREAT | OFlags::TRUNC,
            0o755,
        )
        .unwrap();
    file.write(data, &Interrupt::new()).unwrap();
}

fn read_file(c: &Container, path: &str) -> Vec<u8> {
    let vfs = c.kernel.vfs();
    vfs.lookup(vfs.root(), path.as_bytes(), true)
        .unwrap()
        .read_contents()
        .unwrap()
        .bytes
        .to_vec()
}

#[test]
fn a_new_file_written_into_the_container_is_denied() {
    let tmp = tempfile::tempdir().unwrap();
    let (_rt, loaded) = bundles::load(tmp.path(), CopyPolicy::ExactPath);
    let c = Container::new("c", loaded, Limits::default());
    let wasm = recompiler_testkit::guests::wasm("simd");
    write_file(&c, "/workspace/new-tool", &wasm);
    assert!(matches!(
        exec(&c, "/workspace/new-tool"),
        Err(RuntimeError::Denied(Denied::NotListed { .. }))
    ));
}

#[test]
fn an_image_binary_modified_in_place_is_denied() {
    let tmp = tempfile::tempdir().unwrap();
    let (_rt, loaded) = bundles::load(tmp.path(), CopyPolicy::ExactPath);
    let c = Container::new("c", loaded, Limits::default());
    assert_eq!(
        exec(&c, "/usr/bin/stdio_filter").unwrap(),
        RunEnd::Exited(1)
    );
    let mut bytes = read_file(&c, "/usr/bin/stdio_filter");
    let n = bytes.len();
    bytes[n - 1] ^= 1; // same size, one byte changed (in a custom section: still valid wasm)
    write_file(&c, "/usr/bin/stdio_filter", &bytes);
    assert!(matches!(
        exec(&c, "/usr/bin/stdio_filter"),
        Err(RuntimeError::Denied(Denied::HashMismatch { .. }))
    ));
}

#[test]
fn a_binary_replaced_by_rename_or_symlink_is_denied() {
    let tmp = tempfile::tempdir().unwrap();
    let (_rt, loaded) = bundles::load(tmp.path(), CopyPolicy::ExactPath);
    let c = Container::new("c", loaded, Limits::default());
    let vfs = c.kernel.vfs();
    let root = Arc::clone(vfs.root());
    // Rename another listed program over it: listed bytes, wrong path.
    vfs.renameat(&root, b"/usr/bin/bigdata", &root, b"/usr/bin/stdio_filter")
        .unwrap();
    assert!(matches!(
        exec(&c, "/usr/bin/stdio_filter"),
        Err(RuntimeError::Denied(Denied::HashMismatch { .. }))
    ));
    // A symlink at a listed path resolves to its target, which is checked as
    // itself: an unlisted file is denied.
    write_file(&c, "/workspace/evil", b"\0asm\x01\0\0\0");
    vfs.unlinkat(&root, b"/usr/bin/files_args", 0).unwrap();
    vfs.symlinkat(b"/workspace/evil", &root, b"/usr/bin/files_args")
        .unwrap();
    assert!(matches!(
        exec(&c, "/usr/bin/files_args"),
        Err(RuntimeError::Denied(Denied::NotListed { .. }))
    ));
}

#[test]
fn listed_bytes_at_an_unlisted_path_follow_the_copy_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let (_rt, strict) = bundles::load(&tmp.path().join("strict"), CopyPolicy::ExactPath);
    let c = Container::new("c", strict, Limits::default());
    let bytes = read_file(&c, "/usr/bin/stdio_filter");
    write_file(&c, "/workspace/copy", &bytes);
    assert!(matches!(
        exec(&c, "/workspace/copy"),
        Err(RuntimeError::Denied(Denied::NotListed { .. }))
    ));

    let (_rt2, lenient) = bundles::load(&tmp.path().join("lenient"), CopyPolicy::KnownContent);
    let c = Container::new("c", lenient, Limits::default());
    write_file(&c, "/workspace/copy", &bytes);
    assert_eq!(exec(&c, "/workspace/copy").unwrap(), RunEnd::Exited(1));
}

#[test]
fn a_bundle_whose_signature_fails_runs_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let key = recompiler_manifest::sign::generate_signing_key().unwrap();
    let dir = tmp.path().join("bundle");
    std::fs::create_dir_all(&dir).unwrap();
    bundles::write(&dir, &key);
    let mut wasm = std::fs::read(dir.join("container.wasm")).unwrap();
    let n = wasm.len();
    wasm[n / 2] ^= 1;
    std::fs::write(dir.join("container.wasm"), wasm).unwrap();
    let runtime = recompiler_vkernel::container::Runtime::new(
        &tmp.path().join("state"),
        recompiler_vkernel::engine::EngineLimits::default(),
        false,
    )
    .unwrap();
    let err = runtime
        .load_bundle(&dir, &[key.verifying_key()], CopyPolicy::ExactPath)
        .err()
        .unwrap();
    assert!(err.to_string().contains("signature check failed"), "{err}");
    // Nothing was compiled either: the code cache is empty.
    let cached = walk_files(&tmp.path().join("state"));
    assert!(cached.is_empty(), "compiled before verifying: {cached:?}");
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk_files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn every_denial_is_logged_with_path_and_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let (_rt, loaded) = bundles::load(tmp.path(), CopyPolicy::ExactPath);
    let c = Container::new("logged", loaded, Limits::default());
    let wasm = recompiler_testkit::guests::wasm("simd");
    write_file(&c, "/workspace/new-tool", &wasm);
    let logs = SharedBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        assert!(exec(&c, "/workspace/new-tool").is_err());
        assert!(exec(&c, "/usr/bin/stdio_filter").is_ok());
    });
    let text = String::from_utf8(logs.contents()).unwrap();
    let blake3 = blake3::hash(&wasm).to_hex().to_string();
    let denials: Vec<&str> = text.lines().filter(|l| l.contains("exec denied")).collect();
    assert_eq!(denials.len(), 1, "{text}");
    assert!(denials[0].contains("/workspace/new-tool"), "{text}");
    assert!(denials[0].contains(&blake3), "{text}");
    assert!(denials[0].contains("logged"), "the container id: {text}");
}
