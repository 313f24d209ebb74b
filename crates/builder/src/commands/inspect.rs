//! `recompiler-build inspect`: what a bundle holds, for people or as JSON.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use recompiler_manifest::Manifest;
use serde_json::json;

use crate::bundle::{BundlePaths, file_name};

/// Prints what the bundle at `paths` holds. With `key`, also verifies it and
/// says so; without, reports whether a signature file is present.
pub fn run(paths: &BundlePaths, key: Option<&Path>, as_json: bool) -> Result<()> {
    let manifest_bytes = std::fs::read(&paths.manifest)
        .with_context(|| format!("manifest {}", paths.manifest.display()))?;
    let manifest = Manifest::from_json(&manifest_bytes)
        .with_context(|| format!("manifest {}", paths.manifest.display()))?;
    let megabinary = std::fs::read(&paths.megabinary).ok();
    let programs = megabinary
        .as_deref()
        .and_then(recompiler_megabinary::read_description);
    let signature = signature_status(paths, key, &manifest_bytes, megabinary.as_deref())?;

    if as_json {
        let value = json!({
            "manifest": serde_json::from_slice::<serde_json::Value>(&manifest_bytes)?,
            "megabinary_programs": programs.as_ref().map(|ps| ps.iter().map(|(id, memory, entry, name)| json!({
                "dispatch_id": format!("{id:016x}"), "memory": memory, "entry": entry, "first_path": name,
            })).collect::<Vec<_>>()),
            "signature": signature,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let mut s = String::new();
    let m = &manifest;
    let _ = writeln!(s, "bundle     {}", paths.manifest.display());
    let _ = writeln!(s, "schema     {}", m.schema);
    let _ = writeln!(s, "image      {} ({})", m.image.reference, m.image.platform);
    let _ = writeln!(s, "digest     {}", m.image.digest);
    let _ = writeln!(
        s,
        "megabinary {} {} bytes blake3:{}",
        m.megabinary.name, m.megabinary.size, m.megabinary.blake3
    );
    let _ = writeln!(
        s,
        "rootfs     {} {} bytes blake3:{}",
        m.rootfs.name, m.rootfs.size, m.rootfs.blake3
    );
    match &programs {
        Some(ps) => {
            let _ = writeln!(s, "programs   {} in the megabinary", ps.len());
        }
        None => {
            let _ = writeln!(
                s,
                "programs   (megabinary {} not readable)",
                paths.megabinary.display()
            );
        }
    }
    let _ = writeln!(
        s,
        "signature  {}",
        signature["status"].as_str().unwrap_or("?")
    );
    if let Some(detail) = signature.get("detail").and_then(|d| d.as_str()) {
        let _ = writeln!(s, "           {detail}");
    }
    let _ = writeln!(s, "executables ({}):", m.executables.len());
    for (path, e) in &m.executables {
        let kind = serde_json::to_value(e.kind)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let detail = match (&e.target, &e.dispatch_id, &e.interpreter, &e.status) {
            (Some(t), ..) => format!("-> {t}"),
            (_, Some(id), ..) => format!("id {id} entry {}", e.entry.as_deref().unwrap_or("?")),
            (_, _, Some(i), _) => format!("interpreter {i}"),
            (_, _, _, Some(st)) => st.clone(),
            _ => String::new(),
        };
        let size = e
            .size
            .map(|n| format!("{n:>10}"))
            .unwrap_or_else(|| format!("{:>10}", ""));
        let _ = writeln!(s, "  {kind:<7} {path:<32} {size}  {detail}");
    }
    print!("{s}");
    Ok(())
}

fn signature_status(
    paths: &BundlePaths,
    key: Option<&Path>,
    manifest: &[u8],
    megabinary: Option<&[u8]>,
) -> Result<serde_json::Value> {
    let Ok(envelope) = std::fs::read(&paths.signature) else {
        return Ok(
            json!({"status": "unsigned", "detail": format!("no {}", paths.signature.display())}),
        );
    };
    let Some(key_path) = key else {
        return Ok(
            json!({"status": "present (not verified: pass --key)", "file": paths.signature.display().to_string()}),
        );
    };
    let key = recompiler_manifest::sign::load_verifying_key(key_path)
        .with_context(|| format!("public key {}", key_path.display()))?;
    let rootfs = std::fs::read(&paths.rootfs).unwrap_or_default();
    let files = recompiler_manifest::sign::BundleFiles {
        megabinary: (
            &file_name(&paths.megabinary),
            megabinary.unwrap_or_default(),
        ),
        manifest: (&file_name(&paths.manifest), manifest),
        rootfs: (&file_name(&paths.rootfs), &rootfs),
    };
    Ok(
        match recompiler_manifest::sign::verify_bundle(&key, &envelope, &files) {
            Ok(_) => {
                json!({"status": "verified", "key_id": recompiler_manifest::sign::key_id(&key)})
            }
            Err(e) => json!({"status": "INVALID", "detail": e.to_string()}),
        },
    )
}
