//! Merge speed and instantiation cost of megabinaries, against a baseline run
//! in the same process: instantiating (and running) one of the programs alone.
//!
//! `cargo bench -p recompiler-megabinary --bench merge`
//!
//! Prints, for megabinaries of 3 and 30 programs: the merge throughput (MB/s of
//! input WASM), and the median and p99 time to instantiate the megabinary and to
//! instantiate + run one small program through `_dispatch`, each as a ratio to
//! the same program compiled and instantiated alone. Timings are wall-clock
//! medians over many repetitions; only ratios are meaningful across machines.

use std::hint::black_box;
use std::time::{Duration, Instant};

use recompiler_megabinary::{Entry, MergeInput, merge};
use recompiler_testkit::{RunOptions, dispatch, guests, run};

fn stats(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (p(0.5), p(0.99))
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn time<T>(iterations: usize, mut f: impl FnMut() -> T) -> Vec<Duration> {
    for _ in 0..iterations / 10 {
        black_box(f()); // warm-up
    }
    (0..iterations)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .collect()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let iterations = if quick { 50 } else { 1000 };
    println!(
        "megabinary benchmark ({iterations} iterations per figure; medians, p99 in brackets)\n"
    );

    // Baseline: stdio_filter alone.
    let small = guests::wasm("stdio_filter");
    let alone_module = run::compile(&small).unwrap();
    let alone_pre = run::alone_pre(&alone_module).unwrap();
    let opts = RunOptions::new(["stdio_filter"]).stdin(b"hello\n".to_vec());
    let (alone_inst, alone_inst_p99) = stats(time(iterations, || {
        run::instantiate_alone(&alone_pre, &opts).unwrap()
    }));
    let (alone_run, alone_run_p99) = stats(time(iterations, || {
        run::run_alone_pre(&alone_pre, &opts).unwrap()
    }));
    println!(
        "baseline: stdio_filter alone ({} bytes): instantiate {:.1} us [{:.1}], instantiate+run {:.1} us [{:.1}]\n",
        small.len(),
        us(alone_inst),
        us(alone_inst_p99),
        us(alone_run),
        us(alone_run_p99)
    );

    println!(
        "{:>8} {:>10} {:>10} {:>12} {:>22} {:>22}",
        "programs", "input MB", "merge ms", "merge MB/s", "instantiate (ratio)", "inst+run (ratio)"
    );
    for n in [3usize, 30] {
        let progs = guests::distinct_commands(n);
        let inputs: Vec<MergeInput<'_>> = progs
            .iter()
            .enumerate()
            .map(|(i, (id, wasm))| MergeInput {
                id: *id,
                name: format!("p{i}"),
                wasm,
                entry: Entry::Start,
            })
            .collect();
        let bytes: usize = progs.iter().map(|(_, w)| w.len()).sum();
        let merge_runs = if quick { 2 } else { 10 };
        let (merge_time, _) = stats(time(merge_runs, || merge(&inputs, &mut |_, _| {}).unwrap()));
        let mb = merge(&inputs, &mut |_, _| {}).unwrap();
        let module = run::compile(&mb.wasm).unwrap();
        let pre = dispatch::dispatch_pre(&module).unwrap();
        let id = progs[0].0; // stdio_filter
        let (inst, inst_p99) = stats(time(iterations, || {
            dispatch::instantiate_dispatched(&pre, &opts).unwrap()
        }));
        let (runs, runs_p99) = stats(time(iterations, || {
            dispatch::run_dispatched_pre(&pre, id, &opts).unwrap()
        }));
        println!(
            "{:>8} {:>10.2} {:>10.1} {:>12.1} {:>9.1} us [{:.1}] x{:<4.2} {:>7.1} us [{:.1}] x{:.2}",
            n,
            bytes as f64 / 1e6,
            merge_time.as_secs_f64() * 1e3,
            bytes as f64 / 1e6 / merge_time.as_secs_f64(),
            us(inst),
            us(inst_p99),
            inst.as_secs_f64() / alone_inst.as_secs_f64(),
            us(runs),
            us(runs_p99),
            runs.as_secs_f64() / alone_run.as_secs_f64(),
        );
    }
}
