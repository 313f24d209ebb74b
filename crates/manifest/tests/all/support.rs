//! Building realistic bundles for the tests.

use std::collections::BTreeMap;

use recompiler_manifest::digest::{Digests, FileRef, RawDigests, format_dispatch_id};
use recompiler_manifest::schema::{ExecKind, Executable, ImageInfo, Manifest, SCHEMA};
use recompiler_manifest::sign::{BundleFiles, SigningKey, sign_bundle};

pub const IMAGE_REF: &str = "oci:img:latest";

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn image_digest(tag: &str) -> String {
    format!("sha256:{}", Digests::of(tag.as_bytes()).sha256)
}

/// The files of one build; `tag` makes builds differ.
pub struct Build {
    pub megabinary: Vec<u8>,
    pub manifest: Vec<u8>,
    pub rootfs: Vec<u8>,
    pub image_digest: String,
}

impl Build {
    pub fn new(tag: &str) -> Build {
        let program = format!("\0asm\x01\0\0\0 program {tag}").into_bytes();
        let megabinary = format!("\0asm\x01\0\0\0 megabinary of {tag}").into_bytes();
        let rootfs: Vec<u8> = format!("rootfs of {tag}")
            .bytes()
            .cycle()
            .take(10_000)
            .collect();
        let raw = RawDigests::of(&program);
        let hex = raw.to_hex();
        let id = format_dispatch_id(raw.dispatch_id());
        let mut executables = BTreeMap::new();
        executables.insert(
            "/usr/bin/prog".to_string(),
            Executable {
                kind: ExecKind::Wasm,
                size: Some(program.len() as u64),
                mode: Some("0755".into()),
                sha256: Some(hex.sha256),
                blake3: Some(hex.blake3),
                entry: Some("_start".into()),
                memory: Some(format!("prog.{id}.memory")),
                dispatch_id: Some(id),
                ..Executable::default()
            },
        );
        executables.insert(
            "/bin/prog".to_string(),
            Executable {
                kind: ExecKind::Symlink,
                target: Some("/usr/bin/prog".into()),
                ..Executable::default()
            },
        );
        let image_digest = image_digest(tag);
        let manifest = Manifest {
            schema: SCHEMA.to_string(),
            image: ImageInfo {
                reference: IMAGE_REF.into(),
                digest: image_digest.clone(),
                config_digest: format!("sha256:{}", Digests::of(b"config").sha256),
                platform: "linux/amd64".into(),
            },
            megabinary: FileRef::of("container.wasm", &megabinary),
            rootfs: FileRef::of("rootfs.tar", &rootfs),
            executables,
        };
        manifest.validate().expect("test manifest is valid");
        Build {
            megabinary,
            manifest: manifest.to_canonical_json(),
            rootfs,
            image_digest,
        }
    }

    pub fn files(&self) -> BundleFiles<'_> {
        BundleFiles {
            megabinary: ("container.wasm", &self.megabinary),
            manifest: ("mapping.json", &self.manifest),
            rootfs: ("rootfs.tar", &self.rootfs),
        }
    }

    pub fn sign(&self, key: &SigningKey) -> Vec<u8> {
        sign_bundle(key, &self.files(), IMAGE_REF, &self.image_digest)
    }
}
