//! Start-up of agent-tool.wasm under plain wasmtime-wasi (testkit's
//! `run_alone_pre`: a fresh store and instance per run, module compiled
//! once): `--version` on its fast path, `--version` through clap, and a small
//! `read`, against a baseline of the fast path. Prints times and ratios; it
//! asserts nothing.
//!
//! `cargo bench -p agent-tool --bench startup`

use std::time::{Duration, Instant};

use recompiler_testkit::RunOptions;
use recompiler_testkit::run::{alone_pre, compile, run_alone_pre};

const RUNS: u32 = 300;

fn main() {
    let wasm = agent_tool_wasm::wasm_bytes().expect("agent-tool-wasm built the module");
    let t = Instant::now();
    let pre = alone_pre(&compile(&wasm).expect("compile")).expect("link");
    println!(
        "agent-tool.wasm: {} bytes, compiled in {:.2?}",
        wasm.len(),
        t.elapsed()
    );
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tree");
    let cases: &[(&str, &[&str])] = &[
        ("--version (fast path)", &["--version"]),
        ("--version (through clap)", &["--text", "--version"]),
        ("read README.md", &["read", "README.md"]),
    ];
    let mut baseline = None;
    for (name, args) in cases {
        let argv = std::iter::once("agent-tool").chain(args.iter().copied());
        let opts = RunOptions::new(argv).preopen(fixture, "/");
        let mut best = Duration::MAX;
        let mut total = Duration::ZERO;
        for _ in 0..RUNS {
            let t = Instant::now();
            let out = run_alone_pre(&pre, &opts).expect("run");
            let elapsed = t.elapsed();
            assert_eq!(out.exit_code(), Some(0), "{name}: {}", out.stdout_text());
            best = best.min(elapsed);
            total += elapsed;
        }
        let base = *baseline.get_or_insert(best);
        println!(
            "{name:28} best {best:>9.1?}  mean {:>9.1?}  x{:.2} of the baseline",
            total / RUNS,
            best.as_secs_f64() / base.as_secs_f64()
        );
    }
}
