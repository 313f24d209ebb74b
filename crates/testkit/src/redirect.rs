//! A WASI preview1 linker whose calls use a memory the host chooses.
//!
//! wasmtime-wasi's own preview1 linker reads and writes guest pointers in the
//! calling instance's export named `memory`. In a megabinary that export is the
//! dispatcher's memory, while every WASI call comes from the dispatched program
//! and its pointers are relative to that program's memory, exported as
//! `prog.<16 hex digits>.memory`. This module defines every preview1 function
//! again, as the wiggle-generated glue does (`wiggle-generate`'s
//! `wasmtime.rs`), except that the memory comes from
//! [`RedirectedWasi::wasi_memory`]. The implementations are wasmtime-wasi's:
//! the functions of `wasmtime_wasi::p1::wasi_snapshot_preview1` called with a
//! [`WasiP1Ctx`].
//!
//! This module does not decide which memory to use; [`crate::dispatch`] does.

use wasmtime::{AsContextMut, Caller, Linker, Memory};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p1::wasi_snapshot_preview1 as p1;
use wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1 as _;
use wiggle::GuestMemory;

/// The import module of every function defined here.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// Store data that can run WASI preview1 calls against a chosen memory.
pub trait RedirectedWasi: 'static {
    /// The WASI state: descriptors, args, environment, stdio.
    fn wasi(&mut self) -> &mut WasiP1Ctx;

    /// The memory WASI pointers refer to, or `None` if none is chosen yet
    /// (every WASI call then fails with an error, not a guest errno).
    fn wasi_memory(&self) -> Option<Memory>;
}

/// Runs `call` with the WASI context and the chosen memory, the way wiggle's
/// generated glue runs it with the `memory` export: the hostcall fuel of the
/// store is handed to the context before each call.
fn with_wasi_memory<T: RedirectedWasi, R>(
    caller: &mut Caller<'_, T>,
    function: &str,
    call: impl FnOnce(&mut WasiP1Ctx, &mut GuestMemory<'_>) -> wasmtime::Result<R>,
) -> wasmtime::Result<R> {
    let fuel = caller.as_context_mut().hostcall_fuel();
    let Some(memory) = caller.data().wasi_memory() else {
        wasmtime::bail!("{MODULE}.{function} called while no program memory is selected");
    };
    let (bytes, data) = memory.data_and_store_mut(caller);
    let ctx = data.wasi();
    ctx.set_hostcall_fuel(fuel);
    call(ctx, &mut GuestMemory::Unshared(bytes))
}

/// Defines [`FUNCTIONS`] and [`add_to_linker`] from one table. `sync` functions
/// are plain calls; `blocking` ones are async in wasmtime-wasi and run to
/// completion with `wasmtime_wasi::runtime::in_tokio`, as its sync linker does.
macro_rules! preview1_functions {
    (@call sync $name:ident($($arg:expr),*)) => {
        p1::$name($($arg),*)
    };
    (@call blocking $name:ident($($arg:expr),*)) => {
        wasmtime_wasi::runtime::in_tokio(p1::$name($($arg),*))
    };
    ($( $mode:ident fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty; )*) => {
        /// Every WASI preview1 function [`add_to_linker`] defines.
        pub const FUNCTIONS: &[&str] = &[$(stringify!($name)),*];

        /// Defines every WASI preview1 function in `linker`, reading and
        /// writing guest memory through [`RedirectedWasi::wasi_memory`].
        pub fn add_to_linker<T: RedirectedWasi>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
            $(
                linker.func_wrap(
                    MODULE,
                    stringify!($name),
                    |mut caller: Caller<'_, T>, $($arg: $ty),*| -> wasmtime::Result<$ret> {
                        with_wasi_memory(&mut caller, stringify!($name), |ctx, memory| {
                            preview1_functions!(@call $mode $name(ctx, memory $(, $arg)*))
                        })
                    },
                )?;
            )*
            Ok(())
        }
    };
}

// The wasm signatures of `witx/p1/wasi_snapshot_preview1.witx`, in its order;
// pointers and enums are i32, 64-bit integers (file sizes, timestamps, rights,
// offsets) are i64. A test checks them against wasmtime-wasi's own linker.
preview1_functions! {
    sync fn args_get(argv: i32, argv_buf: i32) -> i32;
    sync fn args_sizes_get(argc: i32, argv_buf_size: i32) -> i32;
    sync fn environ_get(environ: i32, environ_buf: i32) -> i32;
    sync fn environ_sizes_get(count: i32, buf_size: i32) -> i32;
    sync fn clock_res_get(id: i32, resolution: i32) -> i32;
    sync fn clock_time_get(id: i32, precision: i64, time: i32) -> i32;
    blocking fn fd_advise(fd: i32, offset: i64, len: i64, advice: i32) -> i32;
    sync fn fd_allocate(fd: i32, offset: i64, len: i64) -> i32;
    blocking fn fd_close(fd: i32) -> i32;
    blocking fn fd_datasync(fd: i32) -> i32;
    blocking fn fd_fdstat_get(fd: i32, stat: i32) -> i32;
    sync fn fd_fdstat_set_flags(fd: i32, flags: i32) -> i32;
    sync fn fd_fdstat_set_rights(fd: i32, base: i64, inheriting: i64) -> i32;
    blocking fn fd_filestat_get(fd: i32, stat: i32) -> i32;
    blocking fn fd_filestat_set_size(fd: i32, size: i64) -> i32;
    blocking fn fd_filestat_set_times(fd: i32, atim: i64, mtim: i64, flags: i32) -> i32;
    blocking fn fd_pread(fd: i32, iovs: i32, iovs_len: i32, offset: i64, nread: i32) -> i32;
    sync fn fd_prestat_get(fd: i32, prestat: i32) -> i32;
    sync fn fd_prestat_dir_name(fd: i32, path: i32, path_len: i32) -> i32;
    blocking fn fd_pwrite(fd: i32, iovs: i32, iovs_len: i32, offset: i64, nwritten: i32) -> i32;
    blocking fn fd_read(fd: i32, iovs: i32, iovs_len: i32, nread: i32) -> i32;
    blocking fn fd_readdir(fd: i32, buf: i32, buf_len: i32, cookie: i64, bufused: i32) -> i32;
    blocking fn fd_renumber(fd: i32, to: i32) -> i32;
    blocking fn fd_seek(fd: i32, offset: i64, whence: i32, newoffset: i32) -> i32;
    blocking fn fd_sync(fd: i32) -> i32;
    sync fn fd_tell(fd: i32, offset: i32) -> i32;
    blocking fn fd_write(fd: i32, iovs: i32, iovs_len: i32, nwritten: i32) -> i32;
    blocking fn path_create_directory(fd: i32, path: i32, path_len: i32) -> i32;
    blocking fn path_filestat_get(
        fd: i32, flags: i32, path: i32, path_len: i32, stat: i32
    ) -> i32;
    blocking fn path_filestat_set_times(
        fd: i32, flags: i32, path: i32, path_len: i32, atim: i64, mtim: i64, fst_flags: i32
    ) -> i32;
    blocking fn path_link(
        old_fd: i32, old_flags: i32, old_path: i32, old_path_len: i32,
        new_fd: i32, new_path: i32, new_path_len: i32
    ) -> i32;
    blocking fn path_open(
        fd: i32, dirflags: i32, path: i32, path_len: i32, oflags: i32,
        rights_base: i64, rights_inheriting: i64, fdflags: i32, opened_fd: i32
    ) -> i32;
    blocking fn path_readlink(
        fd: i32, path: i32, path_len: i32, buf: i32, buf_len: i32, bufused: i32
    ) -> i32;
    blocking fn path_remove_directory(fd: i32, path: i32, path_len: i32) -> i32;
    blocking fn path_rename(
        fd: i32, old_path: i32, old_path_len: i32, new_fd: i32, new_path: i32, new_path_len: i32
    ) -> i32;
    blocking fn path_symlink(
        old_path: i32, old_path_len: i32, fd: i32, new_path: i32, new_path_len: i32
    ) -> i32;
    blocking fn path_unlink_file(fd: i32, path: i32, path_len: i32) -> i32;
    blocking fn poll_oneoff(subs: i32, events: i32, nsubs: i32, nevents: i32) -> i32;
    sync fn proc_exit(code: i32) -> ();
    sync fn proc_raise(signal: i32) -> i32;
    sync fn sched_yield() -> i32;
    sync fn random_get(buf: i32, buf_len: i32) -> i32;
    sync fn sock_accept(fd: i32, flags: i32, new_fd: i32) -> i32;
    sync fn sock_recv(
        fd: i32, ri_data: i32, ri_data_len: i32, ri_flags: i32, ro_datalen: i32, ro_flags: i32
    ) -> i32;
    sync fn sock_send(fd: i32, si_data: i32, si_data_len: i32, si_flags: i32, so_datalen: i32) -> i32;
    sync fn sock_shutdown(fd: i32, how: i32) -> i32;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use wasmtime::{Extern, Store};

    struct NoMemory(WasiP1Ctx);

    impl RedirectedWasi for NoMemory {
        fn wasi(&mut self) -> &mut WasiP1Ctx {
            &mut self.0
        }
        fn wasi_memory(&self) -> Option<Memory> {
            None
        }
    }

    fn signatures<T>(linker: &Linker<T>, store: &mut Store<T>) -> BTreeMap<String, String> {
        let items: Vec<(String, Extern)> = linker
            .iter(&mut *store)
            .filter(|(module, _, _)| *module == MODULE)
            .map(|(_, name, item)| (name.to_owned(), item))
            .collect();
        items
            .into_iter()
            .map(|(name, item)| match item {
                Extern::Func(f) => {
                    let ty = f.ty(&*store);
                    let params: Vec<String> = ty.params().map(|p| p.to_string()).collect();
                    let results: Vec<String> = ty.results().map(|r| r.to_string()).collect();
                    (name, format!("{params:?} -> {results:?}"))
                }
                other => panic!("{name} is not a function: {other:?}"),
            })
            .collect()
    }

    /// Same names and types as wasmtime-wasi's own preview1 linker: all of
    /// preview1 is covered and no signature in the table is wrong.
    #[test]
    fn defines_exactly_what_wasmtime_wasi_defines() {
        let engine = crate::run::engine();
        let mut standard: Linker<WasiP1Ctx> = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut standard, |cx| cx).expect("standard linker");
        let mut store = Store::new(&engine, wasmtime_wasi::WasiCtxBuilder::new().build_p1());
        let expected = signatures(&standard, &mut store);

        let mut redirected: Linker<NoMemory> = Linker::new(&engine);
        add_to_linker(&mut redirected).expect("redirecting linker");
        let mut store = Store::new(
            &engine,
            NoMemory(wasmtime_wasi::WasiCtxBuilder::new().build_p1()),
        );
        let actual = signatures(&redirected, &mut store);

        assert_eq!(actual, expected);
        assert_eq!(FUNCTIONS.len(), expected.len());
    }
}
