//! The engine: the only module of the vkernel that imports wasmtime.
//!
//! It owns the wasmtime `Engine` (pooling allocator, copy-on-write memory images,
//! epoch interruption), compiling each megabinary once and caching the compiled
//! code on disk by content hash, and loading it back with `Module::deserialize_file`
//! (mmap), so every container and every process of a bundle shares one copy of the
//! code. It does not decide *what* may run (that is the gate's job) and does not
//! implement system calls (the ABIs do, on the kernel core).

mod cache;
pub mod preinit;
mod run;
mod watchdog;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use cache::{CodeCache, CompileSource};
pub use run::{LoadedMegabinary, RunEnd, RunRequest, RunResult};
/// The wasmtime engine type, for modules that hold one without importing wasmtime.
pub use wasmtime::Engine as WasmEngine;
/// A compiled module, for the same reason.
pub use wasmtime::Module as WasmModule;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// What went wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("engine configuration: {0}")]
    Config(String),
    #[error("compiling {what}: {reason}")]
    Compile { what: String, reason: String },
    #[error("code cache {path}: {reason}")]
    Cache { path: PathBuf, reason: String },
}

/// Limits of the engine as a whole and of each instance. The defaults fit the
/// project's 2-core, 24 GiB machines with room for hundreds of processes.
#[derive(Debug, Clone)]
pub struct EngineLimits {
    /// Instances alive at once across all containers (pool slots).
    pub max_instances: u32,
    /// Memories per module: a megabinary has one per merged program, plus one.
    pub max_memories_per_module: u32,
    /// Linear memories alive at once across all instances.
    pub total_memories: u32,
    /// Bytes one linear memory may grow to (the per-process memory limit).
    pub max_memory_bytes: usize,
    /// Tables per module and elements per table.
    pub max_tables_per_module: u32,
    pub max_table_elements: usize,
    /// How often the epoch ticks: the granularity of wall-clock limits.
    pub epoch_tick: Duration,
}

impl Default for EngineLimits {
    fn default() -> Self {
        EngineLimits {
            max_instances: 1000,
            // Enough for an image of ~250 WASM programs; lifted ELF programs
            // share one memory, so this bounds WASM programs only.
            max_memories_per_module: 256,
            total_memories: 4096,
            // 1 GiB per program memory: CPython with numpy fits; a runaway does not.
            max_memory_bytes: 1 << 30,
            max_tables_per_module: 256,
            max_table_elements: 1 << 20,
            epoch_tick: Duration::from_millis(10),
        }
    }
}

/// The WebAssembly features the engine accepts: exactly what a megabinary may
/// contain.
pub fn wasm_features() -> wasmparser::WasmFeatures {
    recompiler_megabinary::SUPPORTED_FEATURES
}

/// Largest VMContext (per-instance metadata, not linear memory) the pool holds: 8 MiB
/// fits CPython's megabinary (1.5 MB) with room for a few more large programs.
const MAX_CORE_INSTANCE_SIZE: usize = 8 << 20;

/// Builds the wasmtime configuration for `limits`; `pooling` selects the pooling
/// allocator (the daemon) or on-demand allocation (tools and small tests).
pub fn config(limits: &EngineLimits, pooling: bool) -> Config {
    let mut config = Config::new();
    config.wasm_features(wasmparser::WasmFeatures::all(), false);
    config.wasm_features(wasm_features(), true);
    config.epoch_interruption(true);
    config.memory_init_cow(true);
    // `VKERNEL_PROFILER=perfmap` (or `jitdump`) names guest functions for `perf`:
    // how a program's time inside the guest is profiled (docs/benchmarks.md).
    match std::env::var("VKERNEL_PROFILER").as_deref() {
        Ok("perfmap") => {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        Ok("jitdump") => {
            config.profiler(wasmtime::ProfilingStrategy::JitDump);
        }
        _ => {}
    }
    if pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(limits.max_instances)
            .total_memories(limits.total_memories)
            .max_memories_per_module(limits.max_memories_per_module)
            .max_memory_size(limits.max_memory_bytes)
            .total_tables(limits.total_memories)
            .max_tables_per_module(limits.max_tables_per_module)
            // An instance's VMContext grows with its functions and imports:
            // CPython's megabinary needs 1.5 MB, over the 1 MiB default.
            .max_core_instance_size(MAX_CORE_INSTANCE_SIZE)
            .table_elements(limits.max_table_elements)
            // Keep the first pages of reused slots resident: the stack and data
            // a small program touches first are then already mapped.
            .linear_memory_keep_resident(64 << 10)
            .table_keep_resident(64 << 10);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// Creates an engine.
pub fn engine(limits: &EngineLimits, pooling: bool) -> Result<Engine, EngineError> {
    Engine::new(&config(limits, pooling)).map_err(|e| EngineError::Config(format!("{e:#}")))
}

/// Advances an engine's epoch every `tick`, on a thread of its own, until dropped:
/// the clock behind wall-clock limits (`RunRequest::deadline_ticks`).
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    pub fn start(engine: &Engine, tick: Duration) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("vkernel-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })
            .ok();
        EpochTicker { stop, thread }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_and_on_demand_engines_start() {
        let limits = EngineLimits {
            max_instances: 4,
            total_memories: 16,
            ..EngineLimits::default()
        };
        engine(&limits, true).unwrap();
        engine(&limits, false).unwrap();
    }
}
