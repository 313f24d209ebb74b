//! Running one program of a megabinary through `_dispatch`, as the vkernel
//! will, under plain wasmtime with the memory-redirecting preview1 linker.
//!
//! The megabinary ABI (see `crates/megabinary`): `__dispatch_buffer(size)`
//! gives an offset in the export `memory` where the host writes argv (`argc`
//! little-endian u32 offsets, then the NUL-terminated strings); then
//! `_dispatch(id, argc, argv)` runs the program and returns its status
//! (>= 0), -1 for an unknown id, -2 if the instance already ran a program.
//! The megabinary answers `args_get` itself; every other WASI call uses the
//! memory of the dispatched program, exported as `prog.<16 hex>.memory`.

use anyhow::{Context as _, bail};
use wasmtime::{Instance, InstancePre, Linker, Memory, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::redirect::{self, RedirectedWasi};
use crate::run::{self, CapturedOutput, Instantiated, RunOptions, RunOutput};

/// Store data of a megabinary instance: the WASI state and the memory of the
/// program being run (set by [`dispatch`] just before it calls `_dispatch`).
pub struct DispatchState {
    /// Descriptors, environment, stdio (its args are not used by a megabinary).
    pub wasi: WasiP1Ctx,
    /// The memory WASI pointers refer to; `None` until a program is chosen.
    pub program_memory: Option<Memory>,
}

impl RedirectedWasi for DispatchState {
    fn wasi(&mut self) -> &mut WasiP1Ctx {
        &mut self.wasi
    }

    fn wasi_memory(&self) -> Option<Memory> {
        self.program_memory
    }
}

/// The name of the export holding the memory of the program `id`.
pub fn program_memory_export(id: u64) -> String {
    format!("prog.{id:016x}.memory")
}

/// A linker with the memory-redirecting preview1 functions.
pub fn dispatch_linker() -> anyhow::Result<Linker<DispatchState>> {
    let mut linker = Linker::new(&run::engine());
    redirect::add_to_linker(&mut linker)
        .map_err(anyhow::Error::from)
        .context("cannot define the redirecting WASI preview1")?;
    Ok(linker)
}

/// `megabinary` linked against [`dispatch_linker`], ready to instantiate many times.
pub fn dispatch_pre(megabinary: &Module) -> anyhow::Result<InstancePre<DispatchState>> {
    dispatch_linker()?
        .instantiate_pre(megabinary)
        .map_err(anyhow::Error::from)
        .context("cannot link the megabinary against WASI preview1")
}

/// Instantiates `pre` in a new store with the context `opts` describe (its
/// args are not used: they are passed to [`dispatch`]).
pub fn instantiate_dispatched(
    pre: &InstancePre<DispatchState>,
    opts: &RunOptions,
) -> anyhow::Result<Instantiated<DispatchState>> {
    let (wasi, output) = run::wasi_ctx(opts)?;
    let mut store = Store::new(
        pre.module().engine(),
        DispatchState {
            wasi,
            program_memory: None,
        },
    );
    let instance = pre
        .instantiate(&mut store)
        .map_err(anyhow::Error::from)
        .context("cannot instantiate the megabinary")?;
    Ok(Instantiated {
        store,
        instance,
        output,
    })
}

/// The result of one `_dispatch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchOutput {
    /// What the program printed so far, and how the call ended: for a
    /// normal return, `Exit::Code` of the returned value (-1 and -2 included).
    pub output: RunOutput,
    /// What `_dispatch` returned; `None` after `proc_exit` or a trap.
    pub returned: Option<i32>,
}

/// Runs the program `dispatch_id` of `megabinary` in a fresh instance with
/// `opts` (argv\[0\] included in `opts.args`).
pub fn run_dispatched(
    megabinary: &[u8],
    dispatch_id: u64,
    opts: &RunOptions,
) -> anyhow::Result<DispatchOutput> {
    run_dispatched_pre(
        &dispatch_pre(&run::compile(megabinary)?)?,
        dispatch_id,
        opts,
    )
}

/// [`run_dispatched`] for a megabinary already compiled and linked.
pub fn run_dispatched_pre(
    pre: &InstancePre<DispatchState>,
    dispatch_id: u64,
    opts: &RunOptions,
) -> anyhow::Result<DispatchOutput> {
    let (wasi, output) = run::wasi_ctx(opts)?;
    let mut store = Store::new(
        pre.module().engine(),
        DispatchState {
            wasi,
            program_memory: None,
        },
    );
    let instance = match pre.instantiate(&mut store) {
        Ok(instance) => instance,
        Err(e) => {
            let exit = run::exit_of(Err(e))?;
            return Ok(DispatchOutput {
                output: output.finish(exit),
                returned: None,
            });
        }
    };
    dispatch(&mut store, &instance, &output, dispatch_id, &opts.args)
}

/// Writes `args` into the megabinary's buffer and calls `_dispatch` on an
/// instance made by [`instantiate_dispatched`]. Calling it twice on one
/// instance exercises the "already ran" answer (-2).
pub fn dispatch(
    store: &mut Store<DispatchState>,
    instance: &Instance,
    output: &CapturedOutput,
    dispatch_id: u64,
    args: &[String],
) -> anyhow::Result<DispatchOutput> {
    let memory = instance
        .get_memory(&mut *store, "memory")
        .context("the megabinary exports no memory named \"memory\"")?;
    let buffer = instance
        .get_typed_func::<i32, i32>(&mut *store, "__dispatch_buffer")
        .map_err(anyhow::Error::from)
        .context("the megabinary has no `__dispatch_buffer: (i32) -> i32`")?;
    let entry = instance
        .get_typed_func::<(i64, i32, i32), i32>(&mut *store, "_dispatch")
        .map_err(anyhow::Error::from)
        .context("the megabinary has no `_dispatch: (i64, i32, i32) -> i32`")?;

    let argc = i32::try_from(args.len()).context("too many arguments")?;
    let size = argv_size(args)?;
    let base = buffer
        .call(&mut *store, size)
        .map_err(anyhow::Error::from)
        .context("__dispatch_buffer failed")?;
    let Ok(offset) = u32::try_from(base) else {
        bail!("__dispatch_buffer({size}) returned {base}: the megabinary has no room for argv");
    };
    let argv = encode_argv(args, offset)?;
    memory
        .write(&mut *store, offset as usize, &argv)
        .context("__dispatch_buffer returned a buffer outside memory")?;

    store.data_mut().program_memory =
        instance.get_memory(&mut *store, &program_memory_export(dispatch_id));
    // The dispatch id travels as the i64 with the same 64 bits.
    let result = entry.call(&mut *store, (dispatch_id as i64, argc, base));
    let returned = result.as_ref().ok().copied();
    let exit = run::exit_of(result)?;
    Ok(DispatchOutput {
        output: output.finish(exit),
        returned,
    })
}

/// Runs a plain WASI program (not a megabinary) under the redirecting linker,
/// with WASI pointers in its memory export `memory_export`: `opts.entry` (or
/// `_start`) is called directly and args come from the WASI context. With a
/// program whose `memory` export was renamed (see [`crate::edit::rename_export`])
/// this must behave exactly as [`crate::run::run_alone`] on the original.
pub fn run_redirected(
    wasm: &[u8],
    memory_export: &str,
    opts: &RunOptions,
) -> anyhow::Result<RunOutput> {
    let pre = dispatch_pre(&run::compile(wasm)?)?;
    let (wasi, output) = run::wasi_ctx(opts)?;
    let mut store = Store::new(
        pre.module().engine(),
        DispatchState {
            wasi,
            program_memory: None,
        },
    );
    let instance = match pre.instantiate(&mut store) {
        Ok(instance) => instance,
        Err(e) => return Ok(output.finish(run::exit_of(Err(e))?)),
    };
    let memory = instance
        .get_memory(&mut store, memory_export)
        .with_context(|| format!("the module exports no memory named {memory_export:?}"))?;
    store.data_mut().program_memory = Some(memory);
    let result = run::call_entry(&mut store, &instance, opts.entry_name());
    Ok(output.finish(run::exit_of(result)?))
}

/// Bytes argv takes in the buffer: one u32 per argument, then the strings.
fn argv_size(args: &[String]) -> anyhow::Result<i32> {
    let total: usize = args.iter().map(|a| 4 + a.len() + 1).sum();
    i32::try_from(total).context("the arguments do not fit in a 32-bit memory")
}

/// argv as the megabinary reads it, for a buffer at offset `base` in `memory`.
fn encode_argv(args: &[String], base: u32) -> anyhow::Result<Vec<u8>> {
    let mut pointers = Vec::with_capacity(args.len() * 4);
    let mut strings = Vec::new();
    let mut next = base as usize + args.len() * 4;
    for (i, arg) in args.iter().enumerate() {
        if arg.as_bytes().contains(&0) {
            bail!("argument {i} ({arg:?}) contains a NUL byte");
        }
        let at = u32::try_from(next).context("the arguments do not fit in a 32-bit memory")?;
        pointers.extend_from_slice(&at.to_le_bytes());
        strings.extend_from_slice(arg.as_bytes());
        strings.push(0);
        next += arg.len() + 1;
    }
    pointers.extend_from_slice(&strings);
    Ok(pointers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_layout_is_pointers_then_strings() {
        let args = vec!["ab".to_owned(), String::new(), "c".to_owned()];
        assert_eq!(argv_size(&args).unwrap(), 12 + 3 + 1 + 2);
        let bytes = encode_argv(&args, 100).unwrap();
        assert_eq!(&bytes[0..4], &112u32.to_le_bytes());
        assert_eq!(&bytes[4..8], &115u32.to_le_bytes());
        assert_eq!(&bytes[8..12], &116u32.to_le_bytes());
        assert_eq!(&bytes[12..], b"ab\0\0c\0");
        assert!(encode_argv(&["a\0b".to_owned()], 0).is_err());
    }

    #[test]
    fn memory_export_names_have_sixteen_hex_digits() {
        assert_eq!(program_memory_export(1), "prog.0000000000000001.memory");
        assert_eq!(
            program_memory_export(u64::MAX),
            "prog.ffffffffffffffff.memory"
        );
    }
}
