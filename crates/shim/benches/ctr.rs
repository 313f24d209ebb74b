//! `ctr run --rm` of `agent-tool --version`: the recompiler runtime on the
//! agent bundle image against containerd's default runtime (runc) on an
//! equivalent native image, in the same run, on the same private containerd.
//!
//! Needs root, containerd and runc (as the shim's test), and the native
//! agent-tool: `cargo build --release -p agent-tool` first. Run:
//!
//!     cargo build --release -p agent-tool
//!     cargo bench -p recompiler-shim --bench ctr
//!
//! The two runtimes alternate run by run, so the machine's noise falls on both;
//! the figures are medians of 50 runs each after 3 warm-up runs, and the ratio
//! is what to compare across machines. The agent bundle's code is compiled
//! once into the bench's code cache before containerd starts (about a minute
//! and a half for CPython the first time), as a node's first container would.

#[path = "../../builder/tests/all/umoci.rs"]
#[allow(
    dead_code,
    reason = "the builder's helper; the benchmark uses part of it"
)]
mod umoci;

#[path = "../../builder/tests/all/agent_image.rs"]
#[allow(
    dead_code,
    reason = "the builder's helper; the benchmark uses part of it"
)]
mod agent_image;

#[path = "../tests/all/containerd.rs"]
#[allow(
    dead_code,
    reason = "the test's harness; the benchmark uses part of it"
)]
mod containerd;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use recompiler_vkernel::gate::CopyPolicy;

use containerd::{Containerd, PYTHON_ENTRY, RUNTIME, bundle_image, require_root_and_containerd};
use umoci::{Image, put, sh};

const RUNS: usize = 50;
const WARMUP: usize = 3;
const WASM_IMAGE: &str = "recompiler.local/agent:bench";
const NATIVE_IMAGE: &str = "recompiler.local/agent-native:bench";
const SMALL_IMAGE: &str = "recompiler.local/agent-without-python:bench";

fn native_agent_tool() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/agent-tool");
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --release -p agent-tool` first",
        path.display()
    );
    path
}

/// The native image: agent-tool and the shared libraries it loads, at their
/// paths, with the same entrypoint.
fn native_image(dir: &Path) -> Image {
    let tool = native_agent_tool();
    let ldd = sh(Command::new("ldd").arg(&tool));
    let libs: Vec<String> = String::from_utf8_lossy(&ldd.stdout)
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with('/'))
                .map(str::to_string)
        })
        .collect();
    let mut image = Image::new(dir, "native");
    image.layer(|root| {
        put(
            root,
            "/usr/bin/agent-tool",
            &std::fs::read(&tool).unwrap(),
            0o755,
        );
        for lib in &libs {
            put(root, lib, &std::fs::read(lib).unwrap(), 0o755);
        }
    });
    image
}

fn archive(image: &Image, path: &Path, name: &str) {
    sh(Command::new("skopeo")
        .args(["copy", "-q"])
        .arg(image.oci())
        .arg(format!("oci-archive:{}:{name}", path.display())));
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// One `ctr run --rm`, timed from spawn to exit.
fn run_once(c: &Containerd, runtime: Option<&str>, image: &str, platform: &str, id: &str) -> f64 {
    let mut cmd = c.ctr();
    cmd.args(["run", "--rm", "--platform", platform]);
    if let Some(r) = runtime {
        cmd.args(["--runtime", r]);
    }
    cmd.args([image, id, "/usr/bin/agent-tool", "--version"]);
    let t = Instant::now();
    let out = cmd.output().unwrap();
    let took = t.elapsed();
    assert!(
        out.status.success() && out.stdout == b"agent-tool 0.1.0\n",
        "{id}: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    took.as_secs_f64() * 1e3
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    require_root_and_containerd();
    let tmp = tempfile::Builder::new().prefix("rcb").tempdir().unwrap();
    let t = Instant::now();

    let image = agent_image::agent_image(&tmp.path().join("img"));
    let key = tmp.path().join("build.key");
    let public = recompiler_manifest::sign::write_key_pair(&key, false).unwrap();
    let (bundle, wasm_archive) = bundle_image(
        &image.oci(),
        &key,
        &tmp.path().join("agent"),
        WASM_IMAGE,
        &[PYTHON_ENTRY],
    );
    // The same image without CPython: how the create cost scales with the bundle.
    let small = agent_image::agent_image_without_python(&tmp.path().join("small"));
    let (small_bundle, small_archive) = bundle_image(
        &small.oci(),
        &key,
        &tmp.path().join("small"),
        SMALL_IMAGE,
        &[],
    );
    let native = native_image(&tmp.path().join("native"));
    let native_archive = tmp.path().join("native-oci.tar");
    archive(&native, &native_archive, NATIVE_IMAGE);
    eprintln!("images made in {:.1?}", t.elapsed());

    let state = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("shim-bench-state");
    let trusted = recompiler_vkernel::bundle::load_trusted_key(&public).unwrap();
    let t = Instant::now();
    let runtime = recompiler_shim::runtime(&state).unwrap();
    for dir in [&bundle, &small_bundle] {
        let loaded = runtime
            .load_bundle(dir, std::slice::from_ref(&trusted), CopyPolicy::ExactPath)
            .unwrap();
        eprintln!(
            "code cache for {}: {} in {:.1?}",
            dir.display(),
            loaded.compile_label(),
            t.elapsed()
        );
    }
    drop(runtime);

    let c = Containerd::start(
        &tmp.path().join("ctd"),
        &[("RECOMPILER_TRUST", &public), ("RECOMPILER_STATE", &state)],
    );
    c.import(&wasm_archive, "wasi/wasm");
    c.import(&small_archive, "wasi/wasm");
    c.import(&native_archive, "linux/amd64");

    let sizes = [
        ("agent bundle image", &wasm_archive),
        ("agent bundle image without CPython", &small_archive),
        ("native image", &native_archive),
    ];
    for (what, p) in sizes {
        eprintln!(
            "{what}: {:.1} MB archive",
            std::fs::metadata(p).unwrap().len() as f64 / 1e6
        );
    }

    let mut wasm = Vec::with_capacity(RUNS);
    let mut small_runs = Vec::with_capacity(RUNS);
    let mut runc = Vec::with_capacity(RUNS);
    for i in 0..WARMUP + RUNS {
        let w = run_once(&c, Some(RUNTIME), WASM_IMAGE, "wasi/wasm", &format!("w{i}"));
        let s = run_once(
            &c,
            Some(RUNTIME),
            SMALL_IMAGE,
            "wasi/wasm",
            &format!("s{i}"),
        );
        let n = run_once(&c, None, NATIVE_IMAGE, "linux/amd64", &format!("n{i}"));
        if i >= WARMUP {
            wasm.push(w);
            small_runs.push(s);
            runc.push(n);
        }
    }
    // The shim's own account of each create: verify + load cached code.
    let log = c.log();
    let loads = |prefix: char| -> Vec<f64> {
        log.lines()
            .filter(|l| {
                l.split("bundle of ")
                    .nth(1)
                    .is_some_and(|r| r.starts_with(prefix))
            })
            .filter_map(|l| {
                let rest = l.split("code from cache in ").nth(1)?;
                rest.split(' ').next()?.parse::<f64>().ok()
            })
            .collect()
    };
    let (mut w_loads, mut s_loads) = (loads('w'), loads('s'));
    let compiled = log.matches("code compiled").count();
    drop(c);

    let (wm, rm) = (median(&mut wasm), median(&mut runc));
    println!("ctr run --rm /usr/bin/agent-tool --version, {RUNS} runs each, alternating (ms):");
    println!("| runtime | median | p90 | min |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| io.containerd.recompiler.v1 (agent bundle image, CPython inside) | {wm:.1} | {:.1} | {:.1} |",
        pct(&mut wasm, 0.9),
        pct(&mut wasm, 0.0)
    );
    println!(
        "| io.containerd.runc.v2 (native agent-tool image) | {rm:.1} | {:.1} | {:.1} |",
        pct(&mut runc, 0.9),
        pct(&mut runc, 0.0)
    );
    let sm = median(&mut small_runs);
    println!(
        "| io.containerd.recompiler.v1 (the same image without CPython) | {sm:.1} | {:.1} | {:.1} |",
        pct(&mut small_runs, 0.9),
        pct(&mut small_runs, 0.0)
    );
    println!(
        "recompiler / runc: x{:.2} (agent image), x{:.2} (without CPython)",
        wm / rm,
        sm / rm
    );
    if !w_loads.is_empty() && !s_loads.is_empty() {
        println!(
            "shim create (verify the bundle, load cached code), median: {:.0} ms (agent image), {:.0} ms (without CPython); containers that compiled: {compiled}",
            median(&mut w_loads),
            median(&mut s_loads)
        );
    }
}
