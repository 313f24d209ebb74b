//! `recompiler-build verify`: checks a bundle against a public key.

use std::path::Path;

use anyhow::{Context, Result};

use crate::bundle::{BundlePaths, file_name};

/// Verifies the bundle at `paths` with the public key at `key`. Every failure
/// names the check that failed; success lists what was checked.
pub fn run(paths: &BundlePaths, key: &Path) -> Result<()> {
    let key = recompiler_manifest::sign::load_verifying_key(key)
        .with_context(|| format!("public key {}", key.display()))?;
    let read =
        |p: &Path, what: &str| std::fs::read(p).with_context(|| format!("{what} {}", p.display()));
    let megabinary = read(&paths.megabinary, "megabinary")?;
    let manifest = read(&paths.manifest, "manifest")?;
    let rootfs = read(&paths.rootfs, "image files")?;
    let envelope = read(&paths.signature, "signature")?;
    let files = recompiler_manifest::sign::BundleFiles {
        megabinary: (&file_name(&paths.megabinary), &megabinary),
        manifest: (&file_name(&paths.manifest), &manifest),
        rootfs: (&file_name(&paths.rootfs), &rootfs),
    };
    recompiler_manifest::sign::verify_bundle(&key, &envelope, &files)
        .with_context(|| format!("bundle {} does not verify", paths.manifest.display()))?;
    println!(
        "OK: signature by {} over:",
        recompiler_manifest::sign::key_id(&key)
    );
    for (role, path, len) in [
        ("megabinary", &paths.megabinary, megabinary.len()),
        ("manifest", &paths.manifest, manifest.len()),
        ("image files", &paths.rootfs, rootfs.len()),
    ] {
        println!(
            "  {role:<12} {} ({len} bytes, sha256 and blake3 match)",
            path.display()
        );
    }
    Ok(())
}
