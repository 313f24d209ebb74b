//! `recompiler-build keygen`: writes an ed25519 key pair.

use std::path::Path;

use anyhow::{Context, Result};

/// Writes `out` (PKCS#8 PEM, mode 0600) and `out.pub` (SPKI PEM).
pub fn run(out: &Path, force: bool) -> Result<()> {
    let public = recompiler_manifest::sign::write_key_pair(out, force)
        .with_context(|| format!("keygen {}", out.display()))?;
    let key = recompiler_manifest::sign::load_verifying_key(&public)?;
    println!("private key: {} (keep it secret)", out.display());
    println!("public key:  {}", public.display());
    println!("key id:      {}", recompiler_manifest::sign::key_id(&key));
    Ok(())
}
