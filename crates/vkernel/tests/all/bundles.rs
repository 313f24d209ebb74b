//! Making signed bundles of guest programs for the tests.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use recompiler_manifest::digest::{FileRef, dispatch_id, format_dispatch_id};
use recompiler_manifest::sign::{BundleFiles, SigningKey, sign_bundle};
use recompiler_manifest::{ExecKind, Executable, ImageInfo, Manifest};
use recompiler_megabinary::{Entry, MergeInput, memory_export, merge};
use recompiler_oci::{Meta, Rootfs};
use recompiler_vkernel::container::{LoadedBundle, Runtime};
use recompiler_vkernel::engine::EngineLimits;
use recompiler_vkernel::gate::CopyPolicy;

/// The programs of the test bundle: (path in the image, guest name).
pub const PROGRAMS: &[(&str, &str)] = &[
    ("/usr/bin/stdio_filter", "stdio_filter"),
    ("/usr/bin/files_args", "files_args"),
    ("/usr/bin/bigdata", "bigdata"),
    ("/usr/bin/rust_echo", "rust_echo"),
];

/// Image file metadata: root-owned, a fixed mtime.
pub fn meta(mode: u32) -> Meta {
    Meta {
        mode,
        uid: 0,
        gid: 0,
        mtime: 1_700_000_000,
    }
}

/// Writes a signed bundle of the guests into `dir` (as `recompiler-build`
/// would, without an OCI image): the programs in /usr/bin and a data file in
/// /workspace.
pub fn write(dir: &Path, key: &SigningKey) {
    let mut rootfs = Rootfs::new();
    rootfs
        .insert_file(
            "/workspace/readme.txt",
            b"hello from the image\n".to_vec(),
            meta(0o644),
        )
        .unwrap();
    write_programs(dir, key, PROGRAMS, rootfs);
}

/// Writes a signed bundle into `dir` whose image is `rootfs` plus `programs`
/// ((path in the image, guest name)), each merged into the megabinary.
pub fn write_programs(dir: &Path, key: &SigningKey, programs: &[(&str, &str)], rootfs: Rootfs) {
    let programs: Vec<(&str, Vec<u8>, Entry)> = programs
        .iter()
        .map(|(path, guest)| (*path, recompiler_testkit::guests::wasm(guest), Entry::Start))
        .collect();
    write_wasm_programs(dir, key, &programs, rootfs);
}

/// Writes a signed bundle into `dir` whose image is `rootfs` plus `programs`
/// ((path in the image, its WASM, its entry)), each merged into the megabinary.
pub fn write_wasm_programs(
    dir: &Path,
    key: &SigningKey,
    programs: &[(&str, Vec<u8>, Entry)],
    mut rootfs: Rootfs,
) {
    let mut wasms = Vec::new();
    for (path, wasm, entry) in programs {
        rootfs.insert_file(path, wasm.clone(), meta(0o755)).unwrap();
        wasms.push((*path, wasm, entry));
    }
    let hashes: Vec<[u8; 32]> = wasms
        .iter()
        .map(|(_, w, _)| *blake3::hash(w).as_bytes())
        .collect();
    let inputs: Vec<MergeInput<'_>> = wasms
        .iter()
        .zip(&hashes)
        .map(|((path, wasm, entry), h)| MergeInput {
            id: dispatch_id(h),
            name: path.to_string(),
            wasm,
            entry: (*entry).clone(),
        })
        .collect();
    let megabinary = merge(&inputs, &mut |_, _| {}).unwrap().wasm;
    let mut rootfs_tar = Vec::new();
    rootfs.write_tar(&mut rootfs_tar).unwrap();

    let mut executables = BTreeMap::new();
    for ((path, wasm, entry), h) in wasms.iter().zip(&hashes) {
        let id = dispatch_id(h);
        let digests = recompiler_manifest::Digests::of(wasm);
        executables.insert(
            path.to_string(),
            Executable {
                kind: ExecKind::Wasm,
                size: Some(wasm.len() as u64),
                mode: Some("0755".into()),
                sha256: Some(digests.sha256),
                blake3: Some(digests.blake3),
                entry: Some(entry.export_name().into()),
                dispatch_id: Some(format_dispatch_id(id)),
                memory: Some(memory_export(id)),
                ..Executable::default()
            },
        );
    }
    let manifest = Manifest {
        schema: recompiler_manifest::schema::SCHEMA.into(),
        image: ImageInfo {
            reference: "test".into(),
            digest: format!("sha256:{}", "a".repeat(64)),
            config_digest: format!("sha256:{}", "b".repeat(64)),
            platform: "wasi/wasm".into(),
        },
        megabinary: FileRef::of("container.wasm", &megabinary),
        rootfs: FileRef::of("rootfs.tar", &rootfs_tar),
        executables,
    };
    let manifest_bytes = manifest.to_canonical_json();
    let files = BundleFiles {
        megabinary: ("container.wasm", &megabinary),
        manifest: ("mapping.json", &manifest_bytes),
        rootfs: ("rootfs.tar", &rootfs_tar),
    };
    let signature = sign_bundle(key, &files, "test", &manifest.image.digest);
    std::fs::write(dir.join("container.wasm"), &megabinary).unwrap();
    std::fs::write(dir.join("rootfs.tar"), &rootfs_tar).unwrap();
    std::fs::write(dir.join("mapping.json"), &manifest_bytes).unwrap();
    std::fs::write(dir.join("mapping.json.sig"), signature).unwrap();
}

/// A runtime (on-demand allocation: tests run in parallel) and the test bundle, loaded.
pub fn load(tmp: &Path, policy: CopyPolicy) -> (Runtime, Arc<LoadedBundle>) {
    load_with(tmp, policy, &|dir, key| write(dir, key))
}

/// A runtime and the bundle `write` puts into the directory it is given, signed
/// with the key it is given, loaded.
pub fn load_with(
    tmp: &Path,
    policy: CopyPolicy,
    write: &dyn Fn(&Path, &SigningKey),
) -> (Runtime, Arc<LoadedBundle>) {
    let key = recompiler_manifest::sign::generate_signing_key().unwrap();
    let dir = tmp.join("bundle");
    std::fs::create_dir_all(&dir).unwrap();
    write(&dir, &key);
    let runtime = Runtime::new(&tmp.join("state"), EngineLimits::default(), false).unwrap();
    let loaded = runtime
        .load_bundle(&dir, &[key.verifying_key()], policy)
        .unwrap();
    (runtime, loaded)
}

/// A writer into a shared buffer (log output, replies), for tests that read
/// back what was written.
#[derive(Clone, Default)]
pub struct SharedBuffer(pub Arc<std::sync::Mutex<Vec<u8>>>);

impl SharedBuffer {
    pub fn contents(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

impl std::io::Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
