//! Compiled code, cached on disk by content hash.
//!
//! Key: the BLAKE3 of the module's bytes (already verified against the signed
//! manifest by the caller) and wasmtime's compatibility hash of the engine, so a
//! different wasmtime or configuration never loads stale code. Files are written
//! atomically into a directory only the daemon's user can write (mode 0700), and
//! loaded with `Module::deserialize_file`, which maps them: every `Module` made
//! from one file shares its pages.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::{Engine, Module};

use super::EngineError;

/// Where a module's code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompileSource {
    /// Compiled now (and written to the cache).
    Compiled,
    /// Loaded from the cache: nothing was compiled.
    Cache,
}

/// The on-disk cache of compiled modules.
#[derive(Debug, Clone)]
pub struct CodeCache {
    dir: PathBuf,
}

impl CodeCache {
    /// A cache in `root/<engine hash>/`, created (mode 0700) if missing.
    pub fn open(root: &Path, engine: &Engine) -> Result<CodeCache, EngineError> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let dir = root.join(format!("engine-{:016x}", hasher.finish()));
        create_private_dir(&dir)?;
        Ok(CodeCache { dir })
    }

    /// The cache file for module bytes whose BLAKE3 is `blake3_hex`.
    pub fn path_for(&self, blake3_hex: &str) -> PathBuf {
        self.dir.join(format!("{blake3_hex}.cwasm"))
    }

    /// The compiled form of `wasm` (whose BLAKE3 is `blake3_hex`): from the cache
    /// if present, else compiled now and stored.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
        blake3_hex: &str,
    ) -> Result<(Module, CompileSource), EngineError> {
        let path = self.path_for(blake3_hex);
        if path.exists() {
            match deserialize(engine, &path) {
                Ok(module) => return Ok((module, CompileSource::Cache)),
                // A file from an interrupted write or another build of the
                // engine: compile again and replace it.
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "ignoring unusable cached code")
                }
            }
        }
        let code = engine
            .precompile_module(wasm)
            .map_err(|e| EngineError::Compile {
                what: format!("module {blake3_hex}"),
                reason: format!("{e:#}"),
            })?;
        recompiler_manifest::atomic::write_with(
            &path,
            &code,
            &recompiler_manifest::atomic::WriteOptions {
                mode: 0o600,
                overwrite: true,
            },
        )
        .map_err(|e| EngineError::Cache {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        drop(code);
        release_freed_heap();
        let module = deserialize(engine, &path)?;
        Ok((module, CompileSource::Compiled))
    }
}

/// Gives the heap the compiler freed back to the system. Compiling CPython's
/// megabinary peaks at about 1.5 GB on the compiler threads' malloc arenas, and
/// glibc keeps freed arena memory mapped: without this a daemon that compiled
/// the agent bundle stayed at 1.8 GB resident instead of 0.3 GB.
fn release_freed_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code, reason = "a plain libc call; see the SAFETY comment")]
    // SAFETY: malloc_trim only returns free pages of malloc's own arenas to the
    // kernel; it takes no pointers and is thread-safe (it locks each arena).
    unsafe {
        libc::malloc_trim(0);
    }
}

fn create_private_dir(dir: &Path) -> Result<(), EngineError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let err = |e: std::io::Error| EngineError::Cache {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(err)?;
    let meta = std::fs::metadata(dir).map_err(err)?;
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(EngineError::Cache {
            path: dir.to_path_buf(),
            reason: "is writable by other users; compiled code there could be replaced".into(),
        });
    }
    Ok(())
}

#[allow(
    unsafe_code,
    reason = "loading precompiled code is unsafe by nature; see the SAFETY comment"
)]
fn deserialize(engine: &Engine, path: &Path) -> Result<Module, EngineError> {
    // SAFETY: `deserialize_file` trusts the file to be code produced by
    // `Engine::precompile_module` of a compatible engine. The file lives in a
    // directory created with mode 0700 and checked not to be group/other
    // writable (`create_private_dir`), it is only ever written by
    // `load_or_compile` above (atomically, from `precompile_module` output), and
    // its name carries the engine's compatibility hash, which wasmtime also
    // checks in the file header. Only the daemon's own user can replace it, and
    // that user can already run anything.
    unsafe { Module::deserialize_file(engine, path) }.map_err(|e| EngineError::Cache {
        path: path.to_path_buf(),
        reason: format!("{e:#}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EngineLimits, engine};

    #[test]
    fn second_load_comes_from_the_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let engine = engine(&EngineLimits::default(), false).unwrap();
        let wasm =
            wat::parse_str(r#"(module (func (export "f") (result i32) i32.const 7))"#).unwrap();
        let hash = blake3::hash(&wasm).to_hex().to_string();
        let cache = CodeCache::open(tmp.path(), &engine).unwrap();
        let (_, first) = cache.load_or_compile(&engine, &wasm, &hash).unwrap();
        assert_eq!(first, CompileSource::Compiled);
        // A second cache object (a daemon restart) compiles nothing.
        let again = CodeCache::open(tmp.path(), &engine).unwrap();
        let (module, second) = again.load_or_compile(&engine, &wasm, &hash).unwrap();
        assert_eq!(second, CompileSource::Cache);
        assert!(module.get_export("f").is_some());
    }

    #[test]
    fn a_corrupt_cache_file_is_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let engine = engine(&EngineLimits::default(), false).unwrap();
        let wasm = wat::parse_str(r#"(module)"#).unwrap();
        let hash = blake3::hash(&wasm).to_hex().to_string();
        let cache = CodeCache::open(tmp.path(), &engine).unwrap();
        std::fs::write(cache.path_for(&hash), b"not code").unwrap();
        let (_, source) = cache.load_or_compile(&engine, &wasm, &hash).unwrap();
        assert_eq!(source, CompileSource::Compiled);
    }
}
