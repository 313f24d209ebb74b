//! The build: image -> rootfs -> scan -> merge -> manifest -> sign -> files.
//!
//! Everything is computed in memory first and written at the very end, each file
//! to a temporary name in its directory and renamed into place, so a failed build
//! leaves no partial output. The same image and options give byte-identical files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use recompiler_manifest as manifest;
use recompiler_megabinary::{Entry, MergeInput};
use recompiler_oci::{ImageRef, Meta, OpenOptions};

use crate::bundle::{BundlePaths, file_name};
use crate::oci_archive::{self, OciArchive};
use crate::scan::{self, Kind, Scan};

/// What `recompiler-build` was asked to do.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The image, as given: `[oci:|oci-archive:|docker-archive:]PATH[:REF]`.
    pub image: String,
    /// `os/arch[/variant]` to pick from a multi-platform index.
    pub platform: Option<String>,
    pub paths: BundlePaths,
    /// The ed25519 private key to sign with.
    pub key: Option<PathBuf>,
    /// `--add DEST=SRC`: files from outside the image, put at DEST (mode 0755).
    pub adds: Vec<(String, PathBuf)>,
    /// `--entry PATH=EXPORT`: the entry of a reactor.
    pub entries: BTreeMap<String, String>,
    /// ELF programs that are not lifted (dynamically linked, another machine,
    /// malformed) and unmergeable WASM files are errors, not report lines.
    pub strict: bool,
    /// Draw progress bars (on a terminal).
    pub progress: bool,
    /// `--oci-archive`: also package the signed bundle as an OCI image archive
    /// (needs `key`); see [`crate::oci_archive`].
    pub oci_archive: Option<OciArchive>,
}

/// One program to merge: a distinct file content and every path that holds it.
struct Program {
    paths: Vec<String>,
    entry: Entry,
    features: Vec<&'static str>,
}

/// What a build did, for the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildReport {
    pub image: String,
    pub image_digest: String,
    pub platform: String,
    pub layers: usize,
    /// Merged programs: one per distinct file content.
    pub merged: Vec<MergedReport>,
    /// Static x86-64 ELF programs lifted (one per distinct file content):
    /// the code found and the instructions not covered.
    pub lifted: Vec<scan::LiftedReport>,
    /// Executables not merged, with the reason.
    pub skipped: Vec<SkippedReport>,
    /// Symlinks to executables (busybox-style names), path -> target.
    pub symlinks: BTreeMap<String, String>,
    pub outputs: Vec<OutputReport>,
    pub input_wasm_bytes: u64,
    pub timings_ms: BTreeMap<&'static str, u128>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MergedReport {
    pub paths: Vec<String>,
    pub dispatch_id: String,
    pub entry: String,
    pub size: u64,
    pub features: Vec<&'static str>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SkippedReport {
    pub path: String,
    pub kind: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OutputReport {
    pub path: String,
    pub size: u64,
    pub sha256: String,
    /// For the `--oci-archive` output: the image's name and manifest digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oci_image: Option<OciImageReport>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OciImageReport {
    /// The full name containerd imports it as (`io.containerd.image.name`).
    pub name: String,
    /// `sha256:<hex>` of the image manifest.
    pub manifest_digest: String,
}

/// Runs a build.
pub fn build(opts: &BuildOptions) -> Result<BuildReport> {
    let mut timings = BTreeMap::new();
    let started = Instant::now();

    // The archive's name and place are checked first too.
    if let Some(archive) = &opts.oci_archive {
        if opts.key.is_none() {
            bail!("--oci-archive needs --key: the recompiler runtime runs only signed bundles");
        }
        oci_archive::split_name(&archive.name)?;
        oci_archive::check_destination(&archive.path)?;
    }

    // The signing key is read first: a wrong key path should not cost a build.
    let key = match &opts.key {
        Some(path) => Some(
            manifest::sign::load_signing_key(path)
                .with_context(|| format!("signing key {}", path.display()))?,
        ),
        None => None,
    };

    let image_ref =
        ImageRef::parse(&opts.image).with_context(|| format!("image {}", opts.image))?;
    let platform = match &opts.platform {
        Some(p) => Some(p.parse().with_context(|| format!("--platform {p}"))?),
        None => None,
    };
    let image = recompiler_oci::open(&image_ref, &OpenOptions { platform })
        .with_context(|| format!("image {}", opts.image))?;

    let bar = progress_bar(opts.progress, image.layers.len() as u64, "layers");
    let mut rootfs = image
        .rootfs(&mut |p| {
            bar.set_position(p.index as u64);
            bar.set_message(p.digest.chars().take(19).collect::<String>());
        })
        .with_context(|| format!("image {}", opts.image))?;
    bar.finish_and_clear();
    lap(&mut timings, "unpack", started);

    for (dest, src) in &opts.adds {
        let data = std::fs::read(src).with_context(|| format!("--add {dest}={}", src.display()))?;
        let meta = Meta {
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: 0,
        };
        rootfs
            .insert_file(dest, data, meta)
            .with_context(|| format!("--add {dest}={}", src.display()))?;
    }
    for path in opts.entries.keys() {
        if rootfs.get(path).is_none() {
            bail!("--entry {path}: no such file in the image");
        }
    }

    let t = Instant::now();
    let scanned = scan::scan(&rootfs, &opts.entries)?;
    lap(&mut timings, "scan", t);
    let mut skipped = skipped(&scanned);
    if opts.strict {
        // Scripts and other files are fine: they are not programs to merge.
        if let Some(s) = skipped.iter().find(|s| matches!(s.kind, "elf" | "wasm")) {
            bail!("--strict: {} ({}): {}", s.path, s.kind, s.reason);
        }
    }
    if scanned.files.is_empty() {
        bail!(
            "image {} has no executables (no file with an execute bit)",
            opts.image
        );
    }

    // One program per distinct content; paths in sorted order, so the first
    // path of each program (and the program order) is deterministic.
    let mut programs: BTreeMap<[u8; 32], Program> = BTreeMap::new();
    for exe in scanned.files.values() {
        if let Kind::Wasm { entry, features } = &exe.kind {
            let program = programs.entry(exe.blake3).or_insert_with(|| Program {
                paths: Vec::new(),
                entry: entry.clone(),
                features: features.clone(),
            });
            if &program.entry != entry {
                bail!(
                    "{} and {} are the same file with different entries ({} and {})",
                    program.paths[0],
                    exe.path,
                    program.entry.export_name(),
                    entry.export_name()
                );
            }
            program.paths.push(exe.path.clone());
        }
    }
    // Lifted ELF programs, one per distinct content: their images go into the
    // guest runtime, which is merged once; each program's id is an alias of it.
    let mut lifted_images: BTreeMap<[u8; 32], &[u8]> = BTreeMap::new();
    for exe in scanned.files.values() {
        if let Kind::Lifted(l) = &exe.kind {
            lifted_images.entry(exe.blake3).or_insert(&l.image);
        }
    }
    let runtime = if lifted_images.is_empty() {
        None
    } else {
        let t = Instant::now();
        let base = recompiler_lift_runtime_wasm::wasm_bytes().with_context(|| {
            format!(
                "reading the lift runtime built with recompiler-build ({})",
                recompiler_lift_runtime_wasm::WASM_PATH
            )
        })?;
        let images: Vec<(u64, &[u8])> = lifted_images
            .iter()
            .map(|(h, img)| (manifest::digest::dispatch_id(h), *img))
            .collect();
        let packed = crate::lifted::pack_runtime(&base, &images)?;
        lap(&mut timings, "lift", t);
        Some(packed)
    };
    if programs.is_empty() && runtime.is_none() {
        bail!(
            "image {} has no WASM programs to merge ({} executables, none of them mergeable; see the report: {})",
            opts.image,
            scanned.files.len(),
            skipped
                .iter()
                .map(|s| format!("{} {}", s.path, s.kind))
                .take(5)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut ordered: Vec<([u8; 32], &Program)> = programs.iter().map(|(h, p)| (*h, p)).collect();
    ordered.sort_by(|a, b| a.1.paths[0].cmp(&b.1.paths[0]));

    let files: Vec<&[u8]> = ordered
        .iter()
        .map(|(_, p)| {
            rootfs
                .read_file(&p.paths[0])
                .map(|d| &d[..])
                .unwrap_or_default()
        })
        .collect();
    let inputs: Vec<MergeInput<'_>> = ordered
        .iter()
        .zip(&files)
        .map(|((hash, p), wasm)| MergeInput {
            id: manifest::digest::dispatch_id(hash),
            name: p.paths[0].clone(),
            wasm,
            entry: p.entry.clone(),
        })
        .collect();
    let mut inputs = inputs;
    let mut aliases = Vec::new();
    if let Some(runtime) = &runtime {
        let index = inputs.len();
        inputs.push(MergeInput {
            id: manifest::digest::dispatch_id(blake3::hash(runtime).as_bytes()),
            name: "(lift runtime)".into(),
            wasm: runtime,
            entry: Entry::Start,
        });
        for hash in lifted_images.keys() {
            aliases.push((manifest::digest::dispatch_id(hash), index));
        }
    }
    let input_wasm_bytes: u64 = inputs.iter().map(|f| f.wasm.len() as u64).sum();
    let t = Instant::now();
    let bar = progress_bar(opts.progress, inputs.len() as u64, "merging");
    let megabinary =
        recompiler_megabinary::merge_with_aliases(&inputs, &aliases, &mut |done, _| {
            bar.set_position(done as u64)
        })?;
    bar.finish_and_clear();
    lap(&mut timings, "merge", t);

    let t = Instant::now();
    let mut rootfs_tar = Vec::new();
    rootfs
        .write_tar(&mut rootfs_tar)
        .context("writing the image files (rootfs.tar)")?;
    lap(&mut timings, "rootfs", t);

    let megabinary_name = file_name(&opts.paths.megabinary);
    let rootfs_name = file_name(&opts.paths.rootfs);
    let manifest = build_manifest(
        &image,
        &opts.image,
        &scanned,
        &megabinary_name,
        &megabinary.wasm,
        &rootfs_name,
        &rootfs_tar,
    );
    manifest
        .validate()
        .context("the manifest this build made is inconsistent (a bug)")?;
    let manifest_bytes = manifest.to_canonical_json();

    let signature = match &key {
        Some(key) => {
            let files = manifest::sign::BundleFiles {
                megabinary: (&megabinary_name, &megabinary.wasm),
                manifest: (&file_name(&opts.paths.manifest), &manifest_bytes),
                rootfs: (&rootfs_name, &rootfs_tar),
            };
            Some(manifest::sign::sign_bundle(
                key,
                &files,
                &opts.image,
                &image.digest,
            ))
        }
        None => None,
    };

    let t = Instant::now();
    let mut staged = Staged::default();
    staged.add(&opts.paths.megabinary, &megabinary.wasm)?;
    staged.add(&opts.paths.manifest, &manifest_bytes)?;
    staged.add(&opts.paths.rootfs, &rootfs_tar)?;
    if let Some(sig) = &signature {
        staged.add(&opts.paths.signature, sig)?;
    }
    // The archive is staged with the bundle files and renamed into place after
    // them, so a failure while writing it leaves no output at all.
    let archive = match (&opts.oci_archive, &signature) {
        (Some(archive), Some(sig)) => {
            let files = oci_archive::LayerFiles {
                manifest: &manifest_bytes,
                signature: sig,
                megabinary: (&megabinary_name, &megabinary.wasm),
                rootfs: (&rootfs_name, &rootfs_tar),
            };
            let source_config = serde_json::to_value(&image.config)
                .with_context(|| format!("image {}: reading its config", opts.image))?;
            let t = Instant::now();
            let staged = oci_archive::stage(archive, &files, &source_config)?;
            lap(&mut timings, "oci-archive", t);
            Some(staged)
        }
        _ => None,
    };
    let mut outputs = staged.commit()?;
    if let Some(archive) = archive {
        let r = archive.commit()?;
        outputs.push(OutputReport {
            path: r.path,
            size: r.size,
            sha256: r.sha256,
            oci_image: Some(OciImageReport {
                name: r.name,
                manifest_digest: r.manifest_digest,
            }),
        });
    }
    lap(&mut timings, "write", t);
    lap(&mut timings, "total", started);

    let merged = ordered
        .iter()
        .zip(&files)
        .map(|((hash, p), wasm)| MergedReport {
            paths: p.paths.clone(),
            dispatch_id: manifest::digest::format_dispatch_id(manifest::digest::dispatch_id(hash)),
            entry: p.entry.export_name().to_string(),
            size: wasm.len() as u64,
            features: p.features.clone(),
        })
        .collect();
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(BuildReport {
        image: opts.image.clone(),
        image_digest: image.digest.clone(),
        platform: image.platform.to_string(),
        layers: image.layers.len(),
        merged,
        lifted: scan::lifted_reports(&scanned),
        skipped,
        symlinks: scanned.symlinks.clone(),
        outputs,
        input_wasm_bytes,
        timings_ms: timings,
    })
}

fn lap(timings: &mut BTreeMap<&'static str, u128>, name: &'static str, since: Instant) {
    timings.insert(name, since.elapsed().as_millis());
}

fn progress_bar(enabled: bool, len: u64, what: &'static str) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(what);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Executables that will not be merged, for the report (and `--strict`).
fn skipped(scan: &Scan) -> Vec<SkippedReport> {
    scan.files
        .values()
        .filter_map(|exe| {
            let (kind, reason) = match &exe.kind {
                // Lifted programs have their own section of the report.
                Kind::Wasm { .. } | Kind::Lifted(_) => return None,
                Kind::WasmSkipped { reason } => ("wasm", reason.clone()),
                Kind::Elf { note, reason } => ("elf", format!("{reason} ({note})")),
                Kind::ElfLibrary { note, reason } => ("library", format!("{reason} ({note})")),
                Kind::Script { interpreter, .. } => (
                    "script",
                    format!("runs through its interpreter {interpreter}"),
                ),
                Kind::Other => ("other", "not a program format recompiler knows".to_string()),
            };
            Some(SkippedReport {
                path: exe.path.clone(),
                kind,
                reason,
            })
        })
        .collect()
}

fn build_manifest(
    image: &recompiler_oci::Image,
    reference: &str,
    scan: &Scan,
    megabinary_name: &str,
    megabinary: &[u8],
    rootfs_name: &str,
    rootfs_tar: &[u8],
) -> manifest::Manifest {
    use manifest::schema::{ExecKind, Executable};
    let mut executables = BTreeMap::new();
    for exe in scan.files.values() {
        let mut e = Executable {
            kind: ExecKind::Other,
            size: Some(exe.size),
            mode: Some(format!("{:04o}", exe.mode)),
            sha256: Some(hex::encode(exe.sha256)),
            blake3: Some(hex::encode(exe.blake3)),
            ..Executable::default()
        };
        match &exe.kind {
            Kind::Wasm { entry, .. } => {
                let id = manifest::digest::dispatch_id(&exe.blake3);
                e.kind = ExecKind::Wasm;
                e.entry = Some(entry.export_name().to_string());
                e.dispatch_id = Some(manifest::digest::format_dispatch_id(id));
                e.memory = Some(recompiler_megabinary::memory_export(id));
            }
            Kind::WasmSkipped { reason } => {
                e.kind = ExecKind::Wasm;
                e.status = Some("not-merged".into());
                e.note = Some(reason.clone());
            }
            // Lifted: an alias of the guest runtime in the megabinary.
            Kind::Lifted(lifted) => {
                let id = manifest::digest::dispatch_id(&exe.blake3);
                e.kind = ExecKind::Elf;
                e.entry = Some("_start".into());
                e.dispatch_id = Some(manifest::digest::format_dispatch_id(id));
                e.memory = Some(recompiler_megabinary::memory_export(id));
                e.note = Some(format!(
                    "{} x86-64 program, lifted: runs in the guest runtime",
                    lifted.kind.name()
                ));
            }
            Kind::Elf { reason, .. } | Kind::ElfLibrary { reason, .. } => {
                e.kind = ExecKind::Elf;
                e.status = Some("needs-lifting".into());
                e.note = Some(reason.clone());
            }
            Kind::Script { interpreter, arg } => {
                e.kind = ExecKind::Script;
                e.interpreter = Some(interpreter.clone());
                e.interpreter_arg = arg.clone();
            }
            Kind::Other => {}
        }
        executables.insert(exe.path.clone(), e);
    }
    for (path, target) in &scan.symlinks {
        executables.insert(
            path.clone(),
            Executable {
                kind: ExecKind::Symlink,
                target: Some(target.clone()),
                ..Executable::default()
            },
        );
    }
    manifest::Manifest {
        schema: manifest::schema::SCHEMA.to_string(),
        image: manifest::schema::ImageInfo {
            reference: reference.to_string(),
            digest: image.digest.clone(),
            config_digest: image.config_digest.clone(),
            platform: image.platform.to_string(),
        },
        megabinary: manifest::digest::FileRef::of(megabinary_name, megabinary),
        rootfs: manifest::digest::FileRef::of(rootfs_name, rootfs_tar),
        executables,
    }
}

/// Output files staged under temporary names (`recompiler_manifest::atomic`),
/// renamed into place together at the end. Dropping a `Staged` without
/// `commit` removes the temporaries.
#[derive(Default)]
struct Staged {
    files: Vec<(manifest::atomic::StagedFile, OutputReport)>,
}

impl Staged {
    fn add(&mut self, path: &Path, data: &[u8]) -> Result<()> {
        let staged =
            manifest::atomic::stage(path, data, &manifest::atomic::WriteOptions::default())
                .with_context(|| format!("output {}", path.display()))?;
        let report = OutputReport {
            path: path.display().to_string(),
            size: data.len() as u64,
            sha256: manifest::digest::Digests::of(data).sha256,
            oci_image: None,
        };
        self.files.push((staged, report));
        Ok(())
    }

    fn commit(self) -> Result<Vec<OutputReport>> {
        let mut out = Vec::new();
        for (staged, report) in self.files {
            staged
                .commit()
                .with_context(|| format!("output {}", report.path))?;
            out.push(report);
        }
        Ok(out)
    }
}
