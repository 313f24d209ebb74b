//! One lifted process: its CPU, memory, decoded code, heap and mappings, and
//! the syscalls the runtime answers itself (the address space and the CPU's
//! own state); every other syscall goes to the vkernel.

use recompiler_lift::cpu::{Cpu, gpr};
use recompiler_lift::decode::CodeCache;
use recompiler_lift::interp::{self, Exit};
use recompiler_lift::layout::{GUEST_MIN, PAGE, STACK_SIZE, STACK_TOP, page_up};

use crate::host::{self, errno::*};
use crate::window::{PROT_EXEC, PROT_READ, PROT_WRITE, Window};

/// Linux x86-64 syscall numbers the runtime handles.
mod nr {
    pub const MMAP: u64 = 9;
    pub const MPROTECT: u64 = 10;
    pub const MUNMAP: u64 = 11;
    pub const BRK: u64 = 12;
    pub const RT_SIGRETURN: u64 = 15;
    pub const MREMAP: u64 = 25;
    pub const MADVISE: u64 = 28;
    pub const GETPID: u64 = 39;
    pub const EXIT: u64 = 60;
    pub const KILL: u64 = 62;
    pub const ARCH_PRCTL: u64 = 158;
    pub const EXIT_GROUP: u64 = 231;
    pub const PREAD64: u64 = 17;
    pub const CLONE: u64 = 56;
    pub const FORK: u64 = 57;
    pub const VFORK: u64 = 58;
}

/// `clone` flags the runtime looks at.
mod clone {
    pub const VM: u64 = 0x100;
    pub const VFORK: u64 = 0x4000;
    pub const THREAD: u64 = 0x1_0000;
    pub const SETTLS: u64 = 0x8_0000;
    pub const PARENT_SETTID: u64 = 0x10_0000;
    pub const CHILD_SETTID: u64 = 0x100_0000;
}

/// What a fork child must change in the state it inherits, recorded in the
/// parent before its memory is copied and applied by the child on resume.
#[derive(Debug, Clone, Copy)]
pub struct ForkFixup {
    pub flags: u64,
    pub stack: u64,
    pub child_tid: u64,
    pub tls: u64,
}

/// The largest heap (brk) a process may grow.
const BRK_MAX: u64 = 256 << 20;

/// Signals the runtime raises for CPU exceptions.
pub const SIGILL: u64 = 4;
pub const SIGTRAP: u64 = 5;
pub const SIGFPE: u64 = 8;
pub const SIGSEGV: u64 = 11;

/// Whether to print every syscall (`LIFT_STRACE=1` in the environment the
/// program starts with), for debugging lifted programs.
pub static STRACE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A running lifted program.
pub struct Process {
    pub cpu: Cpu,
    pub win: Window,
    pub code: CodeCache,
    pub brk_start: u64,
    pub brk: u64,
    /// The highest address mmap may hand out (below the stack).
    pub mmap_top: u64,
    /// Set while a fork copies this process (see [`ForkFixup`]).
    pub fork_fixup: Option<ForkFixup>,
}

impl Process {
    pub fn new(win: Window, cpu: Cpu, brk_start: u64) -> Self {
        Process {
            cpu,
            win,
            code: CodeCache::new(),
            brk_start,
            brk: brk_start,
            mmap_top: STACK_TOP - STACK_SIZE - PAGE,
            fork_fixup: None,
        }
    }

    /// Forks: records what the child changes, has the vkernel copy this
    /// process (the guest window's mapped pages and the runtime's own data,
    /// which holds this struct) into a new instance, and answers the parent.
    fn fork(&mut self, flags: u64, stack: u64, parent_tid: u64, child_tid: u64, tls: u64) -> i64 {
        if flags & (clone::VM | clone::THREAD) != 0 && flags & clone::VFORK == 0 {
            // Threads share memory: one instance cannot share its memory with another.
            host::log("clone of a thread (CLONE_VM/CLONE_THREAD) is not supported");
            return -ENOSYS;
        }
        self.fork_fixup = Some(ForkFixup {
            flags,
            stack,
            child_tid,
            tls,
        });
        let mut regions: Vec<(u32, u32)> = self
            .win
            .mapped_runs()
            .into_iter()
            .map(|(s, l)| (s as u32, l as u32))
            .collect();
        let end = memory_end();
        regions.push((RUNTIME_DATA as u32, (end - RUNTIME_DATA) as u32));
        let pid = host::fork(&regions);
        self.fork_fixup = None;
        if pid > 0 && flags & clone::PARENT_SETTID != 0 {
            let _ = recompiler_lift::GuestMem::write(
                &mut self.win,
                parent_tid,
                &(pid as u32).to_le_bytes(),
            );
        }
        pid
    }

    /// In a fork child: applies the fixup the parent recorded; the child sees
    /// the fork return 0.
    pub fn resume_child(&mut self) {
        let Some(f) = self.fork_fixup.take() else {
            return;
        };
        if f.stack != 0 {
            self.cpu.gpr[gpr::RSP] = f.stack;
        }
        if f.flags & clone::SETTLS != 0 {
            self.cpu.fs_base = f.tls;
        }
        if f.flags & clone::CHILD_SETTID != 0 {
            let pid = host::syscall(nr::GETPID, [0; 6]);
            let _ = recompiler_lift::GuestMem::write(
                &mut self.win,
                f.child_tid,
                &(pid as u32).to_le_bytes(),
            );
        }
        self.cpu.gpr[gpr::RAX] = 0;
        self.cpu.gpr[gpr::RCX] = self.cpu.rip;
        self.cpu.gpr[gpr::R11] = self.cpu.rflags;
    }

    /// Runs until the program exits (the vkernel ends the instance) or a
    /// signal the runtime cannot deliver ends it. Returns the status to leave
    /// with if the vkernel's exit call ever returns.
    pub fn run(&mut self) -> i32 {
        loop {
            let stop = interp::run(
                &mut self.cpu,
                &mut self.win,
                &mut self.code,
                crate::signal::CHECK_EVERY,
            );
            if crate::signal::caught(self, &stop) {
                continue; // a fault the program has a handler for
            }
            match stop {
                Exit::Syscall => {
                    let nr = self.cpu.gpr[gpr::RAX];
                    self.syscall();
                    crate::signal::after_syscall(self, nr);
                }
                Exit::Limit => crate::signal::poll(self),
                Exit::Fault(f) => {
                    host::log(&format!(
                        "SIGSEGV: {:?} access to {:#x} ({:?}) at rip {:#x}",
                        f.access, f.addr, f.kind, self.cpu.rip
                    ));
                    return self.raise(SIGSEGV);
                }
                Exit::Illegal => {
                    let mut bytes = [0u8; 16];
                    let n =
                        recompiler_lift::GuestMem::fetch(&mut self.win, self.cpu.rip, &mut bytes)
                            .unwrap_or(0);
                    let hex: Vec<String> = bytes[..n.min(15)]
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect();
                    let insn =
                        recompiler_lift::decode::decode_at(self.cpu.rip, &bytes[..n.min(15)]);
                    host::log(&format!(
                        "SIGILL: instruction not covered at {:#x}: {:?} [{}]",
                        self.cpu.rip,
                        insn.mnemonic(),
                        hex.join(" ")
                    ));
                    return self.raise(SIGILL);
                }
                Exit::Divide => return self.raise(SIGFPE),
                Exit::Breakpoint => return self.raise(SIGTRAP),
                Exit::Privileged => return self.raise(SIGSEGV),
            }
        }
    }

    /// Ends the process with signal `sig` (its default action): asks the
    /// vkernel to deliver it to ourselves; if that returns, exits with
    /// 128 + sig as a shell would report it.
    fn raise(&mut self, sig: u64) -> i32 {
        let pid = host::syscall(nr::GETPID, [0; 6]);
        if pid > 0 {
            host::syscall(nr::KILL, [pid as u64, sig, 0, 0, 0, 0]);
        }
        host::syscall(nr::EXIT_GROUP, [128 + sig, 0, 0, 0, 0, 0]);
        (128 + sig) as i32
    }

    fn syscall(&mut self) {
        let c = &self.cpu;
        let n = c.gpr[gpr::RAX];
        let a = [
            c.gpr[gpr::RDI],
            c.gpr[gpr::RSI],
            c.gpr[gpr::RDX],
            c.gpr[gpr::R10],
            c.gpr[gpr::R8],
            c.gpr[gpr::R9],
        ];
        let ret = match n {
            nr::BRK => self.brk(a[0]) as i64,
            nr::MMAP => self.mmap(a),
            nr::MUNMAP => self.munmap(a[0], a[1]),
            nr::MPROTECT => self.mprotect(a[0], a[1], a[2]),
            nr::MREMAP => self.mremap(a),
            nr::MADVISE => self.madvise(a[0], a[1], a[2]),
            nr::ARCH_PRCTL => self.arch_prctl(a[0], a[1]),
            nr::RT_SIGRETURN => {
                // Restores rax (and everything else) from the signal frame.
                crate::signal::sigreturn(self);
                return;
            }
            nr::FORK | nr::VFORK => self.fork(0, 0, 0, 0, 0),
            nr::CLONE => self.fork(a[0], a[1], a[2], a[3], a[4]),
            nr::EXIT | nr::EXIT_GROUP => {
                host::syscall(n, a);
                // Not reached: the vkernel ends the instance.
                host::syscall(nr::EXIT_GROUP, a)
            }
            _ => host::syscall(n, a),
        };
        if STRACE.load(std::sync::atomic::Ordering::Relaxed) {
            // LIFT_STRACE=1 in the program's environment: every syscall on its stderr.
            eprintln!(
                "[lift] {n}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x}) = {ret}",
                a[0], a[1], a[2], a[3], a[4], a[5]
            );
        }
        // Linux's syscall instruction: rcx = return address, r11 = rflags.
        self.cpu.gpr[gpr::RAX] = ret as u64;
        self.cpu.gpr[gpr::RCX] = self.cpu.rip;
        self.cpu.gpr[gpr::R11] = self.cpu.rflags;
    }

    /// brk(2): grows or shrinks the heap; answers the current break on failure.
    fn brk(&mut self, want: u64) -> u64 {
        if want < self.brk_start || want > self.brk_start + BRK_MAX {
            return self.brk;
        }
        let old_end = page_up(self.brk);
        let new_end = page_up(want);
        if new_end > old_end {
            if !self.win.is_free(old_end, new_end - old_end) {
                return self.brk;
            }
            self.win
                .map(old_end, new_end - old_end, PROT_READ | PROT_WRITE, false);
        } else if new_end < old_end {
            self.win.unmap(new_end, old_end - new_end);
        }
        self.brk = want;
        want
    }

    /// Finds `len` free bytes below `mmap_top` (top-down, like Linux).
    fn find_free(&self, len: u64) -> Option<u64> {
        let floor = page_up(self.brk_start + BRK_MAX).max(GUEST_MIN);
        let mut top = self.mmap_top;
        while top >= floor + len {
            let start = top - len;
            // Scan down for an unmapped run of `len` bytes ending at `top`.
            let mut p = top;
            while p > start && self.win.page_bits(p - PAGE) == 0 {
                p -= PAGE;
            }
            if p == start {
                return Some(start);
            }
            top = p - PAGE;
            while top > floor && self.win.page_bits(top - PAGE) != 0 {
                top -= PAGE;
            }
        }
        None
    }

    fn mmap(&mut self, a: [u64; 6]) -> i64 {
        const MAP_SHARED: u64 = 0x01;
        const MAP_PRIVATE: u64 = 0x02;
        const MAP_FIXED: u64 = 0x10;
        const MAP_ANONYMOUS: u64 = 0x20;
        const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
        let [addr, len, prot, flags, fd, off] = a;
        if len == 0 || flags & (MAP_SHARED | MAP_PRIVATE) == 0 || off % PAGE != 0 {
            return -EINVAL;
        }
        let len = page_up(len);
        if prot & PROT_EXEC != 0 {
            // Nothing but the program's own segments may run.
            host::log("mmap with PROT_EXEC refused: only the signed program's code may run");
            return -EACCES;
        }
        let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
        let start = if fixed {
            if addr % PAGE != 0 || !Window::in_window(addr, len) {
                return -EINVAL;
            }
            if flags & MAP_FIXED_NOREPLACE != 0 && !self.win.is_free(addr, len) {
                return -EEXIST;
            }
            self.win.unmap(addr, len);
            addr
        } else {
            match self.find_free(len) {
                Some(s) => s,
                None => return -ENOMEM,
            }
        };
        if flags & MAP_ANONYMOUS == 0 {
            // A file mapping: a private copy read through the vkernel.
            if flags & MAP_SHARED != 0 && prot & PROT_WRITE != 0 {
                return -ENODEV;
            }
            self.win.map(start, len, PROT_READ | PROT_WRITE, false);
            let mut done = 0u64;
            while done < len {
                let r = host::syscall(
                    nr::PREAD64,
                    [fd, start + done, len - done, off + done, 0, 0],
                );
                if r < 0 {
                    self.win.unmap(start, len);
                    return r;
                }
                if r == 0 {
                    break; // past the end of the file: zeros (Linux gives SIGBUS there)
                }
                done += r as u64;
            }
        } else {
            self.win.map(start, len, PROT_READ | PROT_WRITE, false);
        }
        // Set the asked permissions (the file read needed write access).
        let _ = self.win.protect(start, len, prot);
        if prot == 0 {
            // PROT_NONE: mapped, no access.
            let _ = self.win.protect(start, len, 0);
        }
        start as i64
    }

    fn munmap(&mut self, addr: u64, len: u64) -> i64 {
        if addr % PAGE != 0 || len == 0 || !Window::in_window(addr, page_up(len)) {
            return -EINVAL;
        }
        if addr < page_up(self.brk) && addr + len > self.brk_start {
            return -EINVAL; // the heap is brk's
        }
        self.win.unmap(addr, page_up(len));
        0
    }

    fn mprotect(&mut self, addr: u64, len: u64, prot: u64) -> i64 {
        if addr % PAGE != 0 || !Window::in_window(addr, page_up(len)) {
            return -EINVAL;
        }
        if len == 0 {
            return 0;
        }
        match self.win.protect(addr, page_up(len), prot) {
            Ok(()) => 0,
            Err(e) => -e,
        }
    }

    fn mremap(&mut self, a: [u64; 6]) -> i64 {
        const MREMAP_MAYMOVE: u64 = 1;
        let [old, old_len, new_len, flags, _, _] = a;
        if old % PAGE != 0 || new_len == 0 || flags & !MREMAP_MAYMOVE != 0 {
            return -EINVAL;
        }
        let (old_len, new_len) = (page_up(old_len), page_up(new_len));
        if !Window::in_window(old, old_len) || self.win.page_bits(old) == 0 {
            return -EFAULT;
        }
        let bits = self.win.page_bits(old);
        let prot = prot_of(bits);
        if new_len <= old_len {
            self.win.unmap(old + new_len, old_len - new_len);
            return old as i64;
        }
        if Window::in_window(old + old_len, new_len - old_len)
            && self.win.is_free(old + old_len, new_len - old_len)
            && old + new_len <= self.mmap_top
        {
            self.win.map(old + old_len, new_len - old_len, prot, false);
            return old as i64;
        }
        if flags & MREMAP_MAYMOVE == 0 {
            return -ENOMEM;
        }
        let Some(new) = self.find_free(new_len) else {
            return -ENOMEM;
        };
        self.win.map(new, new_len, prot, false);
        self.win.copy_within(old, new, old_len);
        self.win.unmap(old, old_len);
        new as i64
    }

    fn madvise(&mut self, addr: u64, len: u64, advice: u64) -> i64 {
        const MADV_DONTNEED: u64 = 4;
        if addr % PAGE != 0 {
            return -EINVAL;
        }
        if advice == MADV_DONTNEED && Window::in_window(addr, page_up(len)) {
            // Private anonymous memory reads back as zeros.
            let mut p = addr;
            while p < addr + page_up(len) {
                if self.win.page_bits(p) & crate::window::W != 0 {
                    self.win.zero(p, PAGE);
                }
                p += PAGE;
            }
        }
        0
    }

    fn arch_prctl(&mut self, code: u64, arg: u64) -> i64 {
        const ARCH_SET_GS: u64 = 0x1001;
        const ARCH_SET_FS: u64 = 0x1002;
        const ARCH_GET_FS: u64 = 0x1003;
        const ARCH_GET_GS: u64 = 0x1004;
        match code {
            ARCH_SET_FS => {
                self.cpu.fs_base = arg;
                0
            }
            ARCH_SET_GS => {
                self.cpu.gs_base = arg;
                0
            }
            ARCH_GET_FS | ARCH_GET_GS => {
                let v = if code == ARCH_GET_FS {
                    self.cpu.fs_base
                } else {
                    self.cpu.gs_base
                };
                match recompiler_lift::GuestMem::write(&mut self.win, arg, &v.to_le_bytes()) {
                    Ok(()) => 0,
                    Err(_) => -EFAULT,
                }
            }
            _ => -EINVAL,
        }
    }
}

/// Where the runtime's own data starts: everything from here to the end of
/// memory is copied by a fork.
const RUNTIME_DATA: u64 = recompiler_lift::layout::RUNTIME_BASE;

/// The end of this instance's linear memory.
fn memory_end() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_size(0) as u64 * 65536
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        RUNTIME_DATA
    }
}

fn prot_of(bits: u8) -> u64 {
    let mut p = 0;
    if bits & crate::window::R != 0 {
        p |= PROT_READ;
    }
    if bits & crate::window::W != 0 {
        p |= PROT_WRITE;
    }
    p
}
