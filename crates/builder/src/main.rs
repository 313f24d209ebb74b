//! `recompiler-build`: the command line. Argument parsing only; see the library.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::{Args, Parser, Subcommand};
use recompiler_builder::bundle::{BundlePaths, MANIFEST};
use recompiler_builder::commands;
use recompiler_builder::oci_archive::{self, OciArchive};
use recompiler_builder::pipeline::BuildOptions;

/// Turns an OCI image into a WebAssembly megabinary and a signed hash manifest.
///
/// The plan's form builds:
///   recompiler-build --image <oci-image> --output container.wasm --manifest mapping.json [--key build.key]
///
/// With --oci-archive FILE (and --key), the signed bundle is also packaged as an OCI
/// image archive for containerd: `ctr images import --platform wasi/wasm FILE`.
#[derive(Parser, Debug)]
#[command(
    name = "recompiler-build",
    version,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    build: BuildArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Build a bundle from an image (the default when no subcommand is given).
    Build(BuildArgs),
    /// Write an ed25519 key pair: FILE (private, mode 0600) and FILE.pub.
    Keygen {
        /// Where to write the private key; the public key goes to FILE.pub.
        #[arg(long, short, value_name = "FILE", default_value = "build.key")]
        out: PathBuf,
        /// Overwrite existing key files.
        #[arg(long)]
        force: bool,
    },
    /// Check a bundle's signature and digests against a public key.
    Verify {
        #[command(flatten)]
        bundle: BundleArgs,
        /// The trusted public key (FILE.pub from keygen).
        #[arg(long, value_name = "PUB")]
        key: PathBuf,
    },
    /// Show what a bundle holds.
    Inspect {
        #[command(flatten)]
        bundle: BundleArgs,
        /// Also verify the signature with this public key.
        #[arg(long, value_name = "PUB")]
        key: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug, Default)]
struct BuildArgs {
    /// The image: an OCI layout directory, an OCI archive, or a docker-archive tar,
    /// optionally with a transport and a tag: `oci:DIR:TAG`, `oci-archive:FILE:TAG`,
    /// `docker-archive:FILE:NAME:TAG`.
    #[arg(long, value_name = "IMAGE")]
    image: Option<String>,
    /// Where to write the megabinary.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Where to write the manifest.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Where to write the image files tarball [default: rootfs.tar beside --output].
    #[arg(long, value_name = "FILE")]
    rootfs: Option<PathBuf>,
    /// Where to write the signature [default: the manifest path + .sig].
    #[arg(long, value_name = "FILE")]
    signature: Option<PathBuf>,
    /// Write all four files into DIR under their default names.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["output", "manifest"])]
    bundle: Option<PathBuf>,
    /// Sign with this ed25519 private key (from `keygen`).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Platform to pick from a multi-platform index [default: wasi/wasm, then linux/amd64].
    #[arg(long, value_name = "OS/ARCH")]
    platform: Option<String>,
    /// Add a program from outside the image: DEST=SRC puts file SRC at DEST (mode 0755).
    #[arg(long = "add", value_name = "DEST=SRC")]
    adds: Vec<String>,
    /// The entry export of a reactor module: PATH=EXPORT.
    #[arg(long = "entry", value_name = "PATH=EXPORT")]
    entries: Vec<String>,
    /// Fail on any executable that cannot be merged or lifted (dynamically linked ELF,
    /// components, reactors without --entry).
    #[arg(long)]
    strict: bool,
    /// Also write the signed bundle as an OCI image archive (wasi/wasm, one layer
    /// holding /recompiler/) for `ctr images import --platform wasi/wasm FILE`. Needs --key.
    #[arg(long, value_name = "FILE")]
    oci_archive: Option<PathBuf>,
    /// The image name in the --oci-archive [default: recompiler.local/<last component
    /// of the --image path, without extension>:latest]; a name without a tag gets :latest.
    #[arg(long, value_name = "NAME", requires = "oci_archive")]
    oci_name: Option<String>,
    /// Write the build report as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct BundleArgs {
    /// A bundle directory (container.wasm, mapping.json, rootfs.tar, mapping.json.sig).
    #[arg(long, value_name = "DIR", conflicts_with = "manifest")]
    bundle: Option<PathBuf>,
    /// The manifest; the other files are found by the names it records, beside it.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// The megabinary [default: as recorded in the manifest, beside it].
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The image files tarball [default: as recorded in the manifest, beside it].
    #[arg(long, value_name = "FILE")]
    rootfs: Option<PathBuf>,
    /// The signature [default: the manifest path + .sig].
    #[arg(long, value_name = "FILE")]
    signature: Option<PathBuf>,
}

impl BundleArgs {
    fn paths(&self) -> Result<BundlePaths> {
        let manifest = match (&self.bundle, &self.manifest) {
            (Some(dir), _) => dir.join(MANIFEST),
            (None, Some(m)) => m.clone(),
            (None, None) => bail!("name the bundle: --bundle DIR or --manifest FILE"),
        };
        let dir = manifest.parent().map(PathBuf::from).unwrap_or_default();
        // The manifest records the other files' names; fall back to the defaults
        // when it cannot be read (the command then reports that clearly).
        let recorded = std::fs::read(&manifest)
            .ok()
            .and_then(|b| recompiler_manifest::Manifest::from_json(&b).ok());
        let (wasm_name, rootfs_name) = match &recorded {
            Some(m) => (m.megabinary.name.clone(), m.rootfs.name.clone()),
            None => ("container.wasm".to_string(), "rootfs.tar".to_string()),
        };
        Ok(BundlePaths::new(
            self.output.clone().unwrap_or_else(|| dir.join(wasm_name)),
            manifest,
            Some(self.rootfs.clone().unwrap_or_else(|| dir.join(rootfs_name))),
            self.signature.clone(),
        ))
    }
}

fn split_pair(flag: &str, value: &str) -> Result<(String, String)> {
    match value.split_once('=') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a.to_string(), b.to_string())),
        _ => bail!(
            "{flag} {value}: expected {}",
            if flag == "--add" {
                "DEST=SRC"
            } else {
                "PATH=EXPORT"
            }
        ),
    }
}

fn build_options(args: &BuildArgs) -> Result<BuildOptions> {
    let Some(image) = &args.image else {
        bail!("--image is required (try --help)");
    };
    // Checked before anything is created (--bundle makes its directory below).
    let oci_archive = match &args.oci_archive {
        Some(_) if args.key.is_none() => {
            bail!("--oci-archive needs --key: the recompiler runtime runs only signed bundles")
        }
        Some(path) => {
            let name = args
                .oci_name
                .clone()
                .unwrap_or_else(|| oci_archive::default_name(image));
            let (name, _tag) = oci_archive::split_name(&name)?;
            oci_archive::check_destination(path)?;
            Some(OciArchive {
                path: path.clone(),
                name,
            })
        }
        None => None,
    };
    let paths = match (&args.bundle, &args.output, &args.manifest) {
        (Some(dir), _, _) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("--bundle {}: {e}", dir.display()))?;
            let mut p = BundlePaths::in_dir(dir);
            if let Some(r) = &args.rootfs {
                p.rootfs = r.clone();
            }
            if let Some(s) = &args.signature {
                p.signature = s.clone();
            }
            p
        }
        (None, Some(out), Some(manifest)) => BundlePaths::new(
            out.clone(),
            manifest.clone(),
            args.rootfs.clone(),
            args.signature.clone(),
        ),
        _ => bail!("name the outputs: --output FILE --manifest FILE, or --bundle DIR"),
    };
    let mut adds = Vec::new();
    for a in &args.adds {
        let (dest, src) = split_pair("--add", a)?;
        if !dest.starts_with('/') {
            bail!("--add {a}: DEST must be an absolute path in the image");
        }
        adds.push((dest, PathBuf::from(src)));
    }
    let mut entries = BTreeMap::new();
    for e in &args.entries {
        let (path, export) = split_pair("--entry", e)?;
        entries.insert(path, export);
    }
    Ok(BuildOptions {
        image: image.clone(),
        platform: args.platform.clone(),
        paths,
        key: args.key.clone(),
        adds,
        entries,
        strict: args.strict,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        oci_archive,
    })
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => {
            let opts = build_options(&cli.build)?;
            commands::build::run(&opts, cli.build.quiet, cli.build.report.as_deref())
        }
        Some(Command::Build(args)) => {
            let opts = build_options(&args)?;
            commands::build::run(&opts, args.quiet, args.report.as_deref())
        }
        Some(Command::Keygen { out, force }) => commands::keygen::run(&out, force),
        Some(Command::Verify { bundle, key }) => commands::verify::run(&bundle.paths()?, &key),
        Some(Command::Inspect { bundle, key, json }) => {
            commands::inspect::run(&bundle.paths()?, key.as_deref(), json)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("recompiler-build: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
