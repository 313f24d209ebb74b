//! The builder's test images (made with umoci, see `umoci.rs`) and running the
//! `recompiler-build` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use crate::umoci::{Image, put, sh, symlink};

/// The guests every test image holds, at these paths.
pub const PROGRAMS: &[(&str, &str)] = &[
    ("/usr/bin/stdio_filter", "stdio_filter"),
    ("/usr/bin/files_args", "files_args"),
    ("/usr/bin/bigdata", "bigdata"),
    ("/usr/bin/rust_echo", "rust_echo"),
    ("/usr/bin/exceptions", "exceptions"),
    ("/usr/bin/tailcall", "tailcall"),
    ("/usr/bin/simd", "simd"),
    ("/usr/bin/multivalue", "multivalue"),
    ("/usr/bin/bulk", "bulk"),
    ("/usr/bin/start_section", "start_section"),
    ("/usr/bin/multi_memory", "multi_memory"),
];

/// A two-layer image with every guest, a symlinked name, a reactor, a script, an
/// ELF program, data files, and a file deleted in the second layer (a whiteout).
pub fn standard_image(dir: &Path) -> Image {
    let mut image = Image::new(dir, "test");
    image.layer(|root| {
        for (path, guest) in PROGRAMS.iter().take(6) {
            put(root, path, &recompiler_testkit::guests::wasm(guest), 0o755);
        }
        put(root, "/etc/scratch", b"to be deleted\n", 0o644);
        put(root, "/usr/share/data/words.txt", b"alpha\nbeta\n", 0o644);
    });
    image.layer(|root| {
        for (path, guest) in PROGRAMS.iter().skip(6) {
            put(root, path, &recompiler_testkit::guests::wasm(guest), 0o755);
        }
        put(
            root,
            "/usr/lib/reactor.wasm",
            &recompiler_testkit::guests::wasm("reactor"),
            0o755,
        );
        symlink(root, "/usr/bin/upper", "stdio_filter");
        symlink(root, "/bin", "usr/bin");
        put(
            root,
            "/usr/bin/hello.sh",
            b"#!/bin/sh -e\necho hello\n",
            0o755,
        );
        put(
            root,
            "/usr/bin/native-tool",
            // A dynamically linked ELF program: recorded, not lifted, not runnable.
            &std::fs::read("/bin/ls").unwrap_or_else(|_| b"\x7fELF\x02\x01\x01".to_vec()),
            0o755,
        );
        std::fs::remove_file(root.join("etc/scratch")).unwrap();
    });
    image
}

/// The `recompiler-build` binary.
pub fn recompiler_build() -> Command {
    Command::new(env!("CARGO_BIN_EXE_recompiler-build"))
}

/// Runs a build of `image` into `out` (a directory), with a key if given.
pub fn build(image: &str, out: &Path, key: Option<&Path>, extra: &[&str]) -> Output {
    std::fs::create_dir_all(out).unwrap();
    let mut cmd = recompiler_build();
    cmd.arg("--image")
        .arg(image)
        .arg("--output")
        .arg(out.join("container.wasm"))
        .arg("--manifest")
        .arg(out.join("mapping.json"));
    if let Some(k) = key {
        cmd.arg("--key").arg(k);
    }
    cmd.args(extra);
    cmd.output().unwrap()
}

pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "recompiler-build failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(name);
    sh(recompiler_build().arg("keygen").arg("--out").arg(&key));
    let public = PathBuf::from(format!("{}.pub", key.display()));
    (key, public)
}

/// Replaces the top layer of `image` by a hand-made gzip tar holding `entries`
/// (names written raw, so they may be hostile), and rewrites the config, the
/// manifest and the index with correct digests, as a malicious but well-formed
/// image would be.
pub fn replace_top_layer_with(image: &Image, entries: &[(&str, &[u8])]) {
    use sha2::Digest;
    let blobs = image.layout.join("blobs/sha256");
    let write_blob = |data: &[u8]| -> (String, usize) {
        let hex = hex::encode(sha2::Sha256::digest(data));
        std::fs::write(blobs.join(&hex), data).unwrap();
        (format!("sha256:{hex}"), data.len())
    };
    let read_blob =
        |digest: &str| std::fs::read(blobs.join(digest.trim_start_matches("sha256:"))).unwrap();

    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut header = tar::Header::new_gnu();
        let raw = &mut header.as_gnu_mut().unwrap().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append(&header, *data).unwrap();
    }
    let layer_tar = tar.into_inner().unwrap();
    let diff_id = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&layer_tar)));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &layer_tar).unwrap();
    let (layer_digest, layer_size) = write_blob(&gz.finish().unwrap());

    let index_path = image.layout.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    let manifest_desc = &mut index["manifests"][0];
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&read_blob(manifest_desc["digest"].as_str().unwrap())).unwrap();
    let mut config: serde_json::Value =
        serde_json::from_slice(&read_blob(manifest["config"]["digest"].as_str().unwrap())).unwrap();
    let diff_ids = config["rootfs"]["diff_ids"].as_array_mut().unwrap();
    *diff_ids.last_mut().unwrap() = diff_id.into();
    let (config_digest, config_size) = write_blob(&serde_json::to_vec(&config).unwrap());
    manifest["config"]["digest"] = config_digest.into();
    manifest["config"]["size"] = config_size.into();
    let layers = manifest["layers"].as_array_mut().unwrap();
    let top = layers.last_mut().unwrap();
    top["digest"] = layer_digest.into();
    top["size"] = layer_size.into();
    top["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip".into();
    let (manifest_digest, manifest_size) = write_blob(&serde_json::to_vec(&manifest).unwrap());
    manifest_desc["digest"] = manifest_digest.into();
    manifest_desc["size"] = manifest_size.into();
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
}

/// The flag that names the reactor's entry in [`standard_image`].
pub const REACTOR_ENTRY: &[&str] = &["--entry", "/usr/lib/reactor.wasm=run"];

/// [`standard_image`] in `tmp/img`, built (unsigned) into `tmp/out`.
pub fn built_standard(tmp: &Path) -> (Image, PathBuf) {
    let image = standard_image(&tmp.join("img"));
    let out = tmp.join("out");
    assert_ok(&build(&image.oci(), &out, None, REACTOR_ENTRY));
    (image, out)
}

/// A bundle built and signed once per test binary, kept for the other tests of the
/// binary that use it.
pub struct BuiltOnce {
    dir: PathBuf,
    bundle: PathBuf,
    public: PathBuf,
}

/// The bundle of `cell`, built by `make(dir)` (returning the bundle directory and the
/// public key) the first time, under `CARGO_TARGET_TMPDIR/name` (made afresh by each
/// run of the tests: a static is never dropped, so a temporary directory would be left
/// behind); and a runtime with it loaded (the compiled code is cached on disk beside
/// the bundle, so only the first load compiles).
pub fn load_once(
    cell: &'static std::sync::OnceLock<BuiltOnce>,
    name: &str,
    make: impl FnOnce(&Path) -> (PathBuf, PathBuf),
) -> (
    recompiler_vkernel::container::Runtime,
    std::sync::Arc<recompiler_vkernel::container::LoadedBundle>,
) {
    let built = cell.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (bundle, public) = make(&dir);
        BuiltOnce {
            dir,
            bundle,
            public,
        }
    });
    let runtime = recompiler_vkernel::container::Runtime::new(
        &built.dir.join("state"),
        recompiler_vkernel::engine::EngineLimits::default(),
        true,
    )
    .unwrap();
    let key = recompiler_vkernel::bundle::load_trusted_key(&built.public).unwrap();
    let loaded = runtime
        .load_bundle(
            &built.bundle,
            &[key],
            recompiler_vkernel::gate::CopyPolicy::ExactPath,
        )
        .unwrap();
    (runtime, loaded)
}

/// The environment of a lifted run: `env`, plus `LIFT_STRACE` when the test's own
/// environment sets it (the lifted runs' syscalls, for debugging).
pub fn lifted_env(env: &[(&str, &str)]) -> Vec<(String, String)> {
    env.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain(
            std::env::var("LIFT_STRACE")
                .ok()
                .map(|v| ("LIFT_STRACE".into(), v)),
        )
        .collect()
}
