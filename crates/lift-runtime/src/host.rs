//! The vkernel's side: the `recompiler_linux_v1` import module.
//!
//! `syscall` has Linux x86-64 semantics (result or `-errno`); pointers are
//! guest addresses, which are addresses of this program's linear memory.
//! Off wasm32 (host builds of the workspace) the imports do not exist: calls
//! answer `-ENOSYS`, so the code compiles and its pure parts can be tested.

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "recompiler_linux_v1")]
    unsafe extern "C" {
        #[link_name = "syscall"]
        pub fn host_syscall(nr: i64, a0: i64, a1: i64, a2: i64, a3: i64, a4: i64, a5: i64) -> i64;
        #[link_name = "program_id"]
        pub fn host_program_id() -> i64;
        #[link_name = "log"]
        pub fn host_log(ptr: i32, len: i32);
        #[link_name = "fork"]
        pub fn host_fork(regions: i32, count: i32) -> i64;
        #[link_name = "resume"]
        pub fn host_resume() -> i32;
    }
}

/// Linux errno values the runtime answers itself.
pub mod errno {
    pub const ENOMEM: i64 = 12;
    pub const EACCES: i64 = 13;
    pub const EFAULT: i64 = 14;
    pub const EEXIST: i64 = 17;
    pub const EINVAL: i64 = 22;
    pub const ENODEV: i64 = 19;
    pub const ENOSYS: i64 = 38;
}

/// Forwards a syscall to the vkernel.
pub fn syscall(nr: u64, a: [u64; 6]) -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: a host import; it reads and writes only this instance's
        // memory, at guest addresses, with its own bounds checks.
        unsafe {
            imports::host_syscall(
                nr as i64,
                a[0] as i64,
                a[1] as i64,
                a[2] as i64,
                a[3] as i64,
                a[4] as i64,
                a[5] as i64,
            )
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (nr, a);
        -errno::ENOSYS
    }
}

/// The hash id this instance was dispatched as: which lifted program to run.
pub fn program_id() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: a host import without arguments.
        unsafe { imports::host_program_id() as u64 }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}

/// Forks this process: the vkernel creates a child process (a copy of the fd
/// table, cwd, ...) and a new instance whose memory gets a copy of `regions`
/// (`[start, start + len)` of this memory) before it is dispatched as this
/// program. Returns the child's pid, or `-errno`.
pub fn fork(regions: &[(u32, u32)]) -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: the host reads `count` pairs of u32 at `regions`, then the
        // memory ranges they name, all in this instance's memory.
        unsafe { imports::host_fork(regions.as_ptr() as usize as i32, regions.len() as i32) }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = regions;
        -errno::ENOSYS
    }
}

/// Whether this instance is the child of a [`fork`], whose memory holds its
/// parent's state.
pub fn resumed() -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: a host import without arguments.
        unsafe { imports::host_resume() == 1 }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        false
    }
}

/// Logs a line through the vkernel (not on the guest's stderr).
pub fn log(line: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: the host reads `len` bytes at `ptr` of this memory.
        unsafe { imports::host_log(line.as_ptr() as usize as i32, line.len() as i32) }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        eprintln!("lift-runtime: {line}");
    }
}
