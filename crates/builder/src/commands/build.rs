//! `recompiler-build [build]`: runs a build and prints its report.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use crate::pipeline::{BuildOptions, BuildReport, build};

/// Runs the build; prints the human report unless `quiet`; writes the JSON
/// report to `report` if given.
pub fn run(opts: &BuildOptions, quiet: bool, report: Option<&Path>) -> Result<()> {
    let result = build(opts)?;
    if let Some(path) = report {
        let json = serde_json::to_vec_pretty(&result).context("serializing the report")?;
        recompiler_manifest::atomic::write(path, &json)
            .with_context(|| format!("report {}", path.display()))?;
    }
    if !quiet {
        print!("{}", render(&result));
    }
    Ok(())
}

/// Uncovered instructions listed per program in the text report (the JSON
/// report has them all, up to `recompiler_lift::discover::MAX_LISTED`).
const LISTED: usize = 10;

/// Mnemonics named in the text report's summary line.
const MNEMONICS: usize = 8;

/// The human-readable build report.
pub fn render(r: &BuildReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "image     {} ({}, {} layers)",
        r.image, r.platform, r.layers
    );
    let _ = writeln!(s, "digest    {}", r.image_digest);
    let _ = writeln!(
        s,
        "merged    {} programs, {} bytes of WASM in {} ms",
        r.merged.len(),
        r.input_wasm_bytes,
        r.timings_ms.get("merge").copied().unwrap_or(0)
    );
    for p in &r.merged {
        let features = if p.features.is_empty() {
            String::new()
        } else {
            format!(" [{}]", p.features.join(", "))
        };
        let _ = writeln!(
            s,
            "  {} {:<28} {:>10} bytes  entry {}{}",
            p.dispatch_id, p.paths[0], p.size, p.entry, features
        );
        for other in &p.paths[1..] {
            let _ = writeln!(s, "  {:16} {other} (same file)", "");
        }
    }
    render_lifted(&mut s, r);
    if !r.symlinks.is_empty() {
        let _ = writeln!(s, "symlinks  {}", r.symlinks.len());
        for (from, to) in &r.symlinks {
            let _ = writeln!(s, "  {from} -> {to}");
        }
    }
    if r.skipped.is_empty() {
        let _ = writeln!(s, "skipped   none");
    } else {
        let _ = writeln!(
            s,
            "skipped   {} executables (not in the megabinary; the gate will deny them)",
            r.skipped.len()
        );
        for k in &r.skipped {
            let _ = writeln!(s, "  {:<7} {:<28} {}", k.kind, k.path, k.reason);
        }
    }
    let _ = writeln!(s, "wrote");
    for o in &r.outputs {
        let _ = writeln!(
            s,
            "  {:<40} {:>10} bytes  sha256:{}",
            o.path, o.size, o.sha256
        );
        if let Some(image) = &o.oci_image {
            let _ = writeln!(
                s,
                "  {:<40} image {} manifest {}",
                "", image.name, image.manifest_digest
            );
        }
    }
    let times: Vec<String> = r
        .timings_ms
        .iter()
        .map(|(k, v)| format!("{k} {v} ms"))
        .collect();
    let _ = writeln!(s, "time      {}", times.join(", "));
    s
}

/// The lifted programs: per program its kind, entry, the code found, and the
/// instructions not covered (a summary by mnemonic and the first few).
fn render_lifted(s: &mut String, r: &BuildReport) {
    if r.lifted.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "lifted    {} x86-64 programs",
        r.lifted.len()
    );
    for p in &r.lifted {
        let base = p
            .base
            .as_ref()
            .map(|b| format!(" at base {b}"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {:<28} {}{base}, entry {}: {} functions, {} instructions, {} bytes of code",
            p.paths[0], p.kind, p.entry, p.functions, p.instructions, p.code_bytes
        );
        for other in &p.paths[1..] {
            let _ = writeln!(s, "  {other} (same file)");
        }
        if p.unsupported_count == 0 {
            let _ = writeln!(s, "    every instruction found is covered");
            continue;
        }
        let summary: Vec<String> = p
            .unsupported_by_mnemonic
            .iter()
            .take(MNEMONICS)
            .map(|m| format!("{} {}", m.mnemonic, m.count))
            .collect();
        let more = if p.unsupported_by_mnemonic.len() > MNEMONICS {
            format!(", … ({} mnemonics)", p.unsupported_by_mnemonic.len())
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "    unsupported {} instructions ({} need CPU features beyond the baseline): {}{more}",
            p.unsupported_count,
            p.unsupported_beyond_baseline,
            summary.join(", ")
        );
        for u in p.unsupported.iter().take(LISTED) {
            let function = u
                .function
                .as_ref()
                .map(|f| format!("  (in {f})"))
                .unwrap_or_default();
            let _ = writeln!(s, "    {:<10} {:<30} {}{function}", u.addr, u.bytes, u.text);
        }
        if p.unsupported_count > LISTED {
            let _ = writeln!(
                s,
                "    … {} more (--report FILE lists the first {})",
                p.unsupported_count - LISTED,
                p.unsupported.len()
            );
        }
    }
}
