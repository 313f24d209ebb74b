//! Signal delivery to the lifted program's handlers, as Linux x86-64 does it.
//!
//! The vkernel keeps the dispositions, the mask and the pending set
//! (`abi/linux/signal.rs`); this module owns the guest's side: after every syscall and
//! every [`CHECK_EVERY`] instructions it asks the vkernel for the next signal to run a
//! handler for (`recompiler_linux_v1.signal_next`, one atomic load on the host when
//! none is pending), builds Linux's `struct rt_sigframe` on the guest stack (below the
//! 128-byte red zone, or on the alternate stack for `SA_ONSTACK`) with the `fxsave`
//! image of the FPU state, and enters the handler with `rdi` = signal, `rsi` =
//! `&siginfo`, `rdx` = `&ucontext`, returning to `sa_restorer` (glibc's
//! `__restore_rt`, which calls `rt_sigreturn`). [`sigreturn`] undoes it: registers,
//! FPU state, mask (through the vkernel) and a disarmed alternate stack come back from
//! the `ucontext` at `rsp`.
//!
//! A blocking syscall a signal interrupted returns `-ERESTARTSYS` from the vkernel:
//! the handler's `SA_RESTART` decides between re-executing the `syscall` (`rip -= 2`,
//! `rax` = the number, as Linux) and `EINTR`; with no handler to run, it restarts.
//! CPU faults (SIGSEGV, SIGFPE, SIGILL, SIGTRAP) the interpreter stops at go to the
//! program's handler through the same frames with `si_addr` and the trap number;
//! without one, the process ends with the signal as before. A frame that cannot be
//! written (a bad stack) ends the process with SIGSEGV, as Linux's `force_sigsegv`.

use recompiler_lift::GuestMem;
use recompiler_lift::cpu::{Cpu, X87, flags, gpr};
use recompiler_lift::interp::Exit;
use recompiler_lift::mem::{Access, Fault, FaultKind};
use recompiler_lift::sem::x87::{fxrstor_image, fxsave_image};

use crate::host;
use crate::process::Process;

/// Instructions run between two looks for a signal when the program makes no syscall
/// (a handler for a signal another process sent to a computing loop).
pub const CHECK_EVERY: u64 = 1 << 18;

/// Linux x86-64 syscall numbers used here.
mod nr {
    pub const RT_SIGPROCMASK: u64 = 14;
    pub const RT_SIGRETURN: u64 = 15;
    pub const GETPID: u64 = 39;
    pub const KILL: u64 = 62;
    pub const RT_SIGACTION: u64 = 13;
    pub const SIGALTSTACK: u64 = 131;
    pub const EXIT_GROUP: u64 = 231;
}

/// Signal numbers of CPU faults.
pub const SIGILL: u8 = 4;
pub const SIGTRAP: u8 = 5;
pub const SIGFPE: u8 = 8;
pub const SIGSEGV: u8 = 11;

/// `sa_flags`.
pub const SA_SIGINFO: u64 = 0x4;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_RESTORER: u64 = 0x0400_0000;

/// `ss_flags`.
pub const SS_ONSTACK: u32 = 1;
pub const SS_DISABLE: u32 = 2;
pub const SS_AUTODISARM: u32 = 1 << 31;

/// What the vkernel returns in `rax` for an interrupted call Linux would restart.
pub const ERESTARTSYS: i64 = 512;
const EINTR: i64 = 4;

/// The layout of Linux's x86-64 `struct rt_sigframe` (arch/x86/include/asm/sigframe.h)
/// and `struct ucontext` / `struct sigcontext` (uapi asm/sigcontext.h), in bytes.
pub mod frame {
    /// `pretcode`: the return address the handler's `ret` pops (`sa_restorer`).
    pub const PRETCODE: u64 = 0;
    /// `uc`: the `struct ucontext`.
    pub const UC: u64 = 8;
    /// `info`: the `siginfo_t`.
    pub const INFO: u64 = UC + UC_SIZE;
    /// `sizeof(struct rt_sigframe)`.
    pub const SIZE: u64 = INFO + 128;

    /// Offsets in the `ucontext`.
    pub const UC_FLAGS: u64 = 0;
    pub const UC_LINK: u64 = 8;
    pub const UC_STACK: u64 = 16;
    pub const UC_MCONTEXT: u64 = 40;
    pub const UC_SIGMASK: u64 = UC_MCONTEXT + MCONTEXT_SIZE;
    /// The kernel's `ucontext` (an 8-byte `sigset_t`).
    pub const UC_SIZE: u64 = UC_SIGMASK + 8;
    /// `sizeof(struct sigcontext)`.
    pub const MCONTEXT_SIZE: u64 = 256;

    /// `uc_flags`: `UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS` (no `UC_FP_XSTATE`: the
    /// FPU state is a plain `fxsave` image, as on a CPU without XSAVE).
    pub const UC_FLAGS_VALUE: u64 = 0x2 | 0x4;

    /// Register slots of `uc_mcontext.gregs` (glibc's `REG_*`), 8 bytes each.
    pub const REG_R8: u64 = 0;
    pub const REG_RDI: u64 = 8;
    pub const REG_RSI: u64 = 9;
    pub const REG_RBP: u64 = 10;
    pub const REG_RBX: u64 = 11;
    pub const REG_RDX: u64 = 12;
    pub const REG_RAX: u64 = 13;
    pub const REG_RCX: u64 = 14;
    pub const REG_RSP: u64 = 15;
    pub const REG_RIP: u64 = 16;
    pub const REG_EFL: u64 = 17;
    pub const REG_CSGSFS: u64 = 18;
    pub const REG_ERR: u64 = 19;
    pub const REG_TRAPNO: u64 = 20;
    pub const REG_OLDMASK: u64 = 21;
    pub const REG_CR2: u64 = 22;
    /// The `fpstate` pointer after the 23 registers.
    pub const FPSTATE_PTR: u64 = 23 * 8;

    /// The `fxsave` image: 512 bytes, 64-byte aligned (`fpu__alloc_mathframe`).
    pub const FPSTATE_SIZE: u64 = 512;
    /// The user-mode `cs` and `ss` Linux reports.
    pub const USER_CS: u64 = 0x33;
    pub const USER_SS: u64 = 0x2b;
    /// The red zone below `rsp` a frame must not touch.
    pub const RED_ZONE: u64 = 128;
}

/// `rflags` bits `rt_sigreturn` takes from the frame (Linux's `FIX_EFLAGS`).
const FIX_EFLAGS: u64 = flags::AC
    | flags::OF
    | flags::DF
    | flags::TF
    | flags::SF
    | flags::ZF
    | flags::AF
    | flags::PF
    | flags::CF
    | RF;
const RF: u64 = 1 << 16;

/// The vkernel's `signal_next` record (see `abi/linux/signal.rs`'s `NEXT_RECORD`).
const RECORD: usize = 192;

/// A signal the vkernel handed over for delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    pub sig: u8,
    pub info: [u8; 128],
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    /// The mask to restore at `rt_sigreturn` (the frame's `uc_sigmask`).
    pub restore_mask: u64,
    pub alt: AltStack,
}

/// The alternate signal stack as the vkernel had it when the signal was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AltStack {
    pub sp: u64,
    pub flags: u32,
    pub size: u64,
}

impl AltStack {
    /// Linux's `on_sig_stack(sp)`.
    fn on(&self, sp: u64) -> bool {
        self.size != 0 && sp > self.sp && sp - self.sp <= self.size
    }

    /// Linux's `sas_ss_flags(sp)` (plus the `SS_AUTODISARM` bit, as `__save_altstack`).
    fn flags_at(&self, sp: u64) -> u32 {
        let mode = if self.size == 0 || self.flags & SS_DISABLE != 0 {
            SS_DISABLE
        } else if self.on(sp) {
            SS_ONSTACK
        } else {
            0
        };
        mode | (self.flags & SS_AUTODISARM)
    }
}

impl Taken {
    fn parse(sig: u8, r: &[u8; RECORD]) -> Taken {
        let w = |i: usize| {
            let o = 128 + 8 * i;
            u64::from_le_bytes(r[o..o + 8].try_into().unwrap_or([0; 8]))
        };
        let mut info = [0u8; 128];
        info.copy_from_slice(&r[..128]);
        Taken {
            sig,
            info,
            handler: w(0),
            flags: w(1),
            restorer: w(2),
            restore_mask: w(4),
            alt: AltStack {
                sp: w(5),
                flags: w(6) as u32,
                size: w(7),
            },
        }
    }
}

/// What a CPU fault adds to the frame: `si_code`, `si_addr` and the trap registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultInfo {
    pub code: i32,
    pub addr: u64,
    pub trapno: u64,
    pub err: u64,
}

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "recompiler_linux_v1")]
    unsafe extern "C" {
        #[link_name = "signal_next"]
        pub fn host_signal_next(forced: i32, out: i32) -> i32;
    }
}

/// Asks the vkernel for the next signal to deliver (`forced` 0), or whether fault
/// `forced` goes to a handler.
fn next(forced: u8) -> Option<Taken> {
    let mut record = [0u8; RECORD];
    #[cfg(target_arch = "wasm32")]
    // SAFETY: a host import; it writes at most `RECORD` bytes at `out`, a buffer of
    // this instance's memory that lives across the call.
    let sig = unsafe {
        imports::host_signal_next(i32::from(forced), record.as_mut_ptr() as usize as i32)
    };
    #[cfg(not(target_arch = "wasm32"))]
    let sig = {
        let _ = (forced, &mut record);
        0
    };
    let sig = u8::try_from(sig).ok().filter(|s| (1..=64).contains(s))?;
    Some(Taken::parse(sig, &record))
}

/// After a syscall whose number was `nr` (the result is in `rax`): restarts or fails an
/// interrupted call and delivers what is pending.
pub fn after_syscall(p: &mut Process, nr: u64) {
    if nr != nr::RT_SIGRETURN && p.cpu.gpr[gpr::RAX] as i64 == -ERESTARTSYS {
        match next(0) {
            Some(t) => {
                if t.flags & SA_RESTART != 0 {
                    restart(&mut p.cpu, nr);
                } else {
                    p.cpu.gpr[gpr::RAX] = (-EINTR) as u64;
                }
                if !deliver(p, &t, None) {
                    return;
                }
            }
            None => restart(&mut p.cpu, nr),
        }
    }
    deliver_pending(p);
}

/// Between instructions (the interpreter's budget ran out): delivers what is pending.
pub fn poll(p: &mut Process) {
    deliver_pending(p);
}

/// Re-executes the `syscall` instruction just run, as Linux's restart does.
fn restart(cpu: &mut Cpu, nr: u64) {
    cpu.gpr[gpr::RAX] = nr;
    cpu.rip = cpu.rip.wrapping_sub(2);
}

fn deliver_pending(p: &mut Process) {
    // Each delivery blocks its signal (unless SA_NODEFER), so this ends; the bound
    // keeps an SA_NODEFER signal raised over and over from looping here.
    for _ in 0..64 {
        let Some(t) = next(0) else {
            return;
        };
        if !deliver(p, &t, None) {
            return;
        }
    }
}

/// A CPU fault the interpreter stopped at: delivered to the program's handler (true),
/// or false when it has none (the vkernel then reset it to its default action and the
/// caller ends the process with it).
pub fn caught(p: &mut Process, stop: &Exit) -> bool {
    let rip = p.cpu.rip;
    let (sig, fault) = match stop {
        Exit::Fault(f) => {
            const SEGV_MAPERR: i32 = 1;
            const SEGV_ACCERR: i32 = 2;
            let prot = f.kind == FaultKind::Protection;
            let mut err = 4; // user mode
            if prot {
                err |= 1;
            }
            match f.access {
                Access::Write => err |= 2,
                Access::Exec => err |= 16,
                Access::Read => {}
            }
            let code = if prot { SEGV_ACCERR } else { SEGV_MAPERR };
            (
                SIGSEGV,
                FaultInfo {
                    code,
                    addr: f.addr,
                    trapno: 14,
                    err,
                },
            )
        }
        // FPE_INTDIV at the division.
        Exit::Divide => (
            SIGFPE,
            FaultInfo {
                code: 1,
                addr: rip,
                trapno: 0,
                err: 0,
            },
        ),
        // ILL_ILLOPN at the instruction.
        Exit::Illegal => (
            SIGILL,
            FaultInfo {
                code: 2,
                addr: rip,
                trapno: 6,
                err: 0,
            },
        ),
        // SI_KERNEL, past the int3 (a trap).
        Exit::Breakpoint => (
            SIGTRAP,
            FaultInfo {
                code: 0x80,
                addr: 0,
                trapno: 3,
                err: 0,
            },
        ),
        // A general protection fault: SI_KERNEL, no address.
        Exit::Privileged => (
            SIGSEGV,
            FaultInfo {
                code: 0x80,
                addr: 0,
                trapno: 13,
                err: 0,
            },
        ),
        Exit::Syscall | Exit::Limit => return false,
    };
    let Some(t) = next(sig) else {
        return false;
    };
    if matches!(stop, Exit::Breakpoint) {
        let mut bytes = [0u8; 16];
        let n = GuestMem::fetch(&mut p.win, rip, &mut bytes).unwrap_or(0);
        let len = recompiler_lift::decode::decode_at(rip, &bytes[..n.min(15)]).len() as u64;
        p.cpu.rip = rip + len.max(1);
    }
    if matches!(stop, Exit::Illegal) {
        host::log(&format!(
            "SIGILL at {rip:#x} (an instruction not covered?) delivered to the program's handler"
        ));
    }
    deliver(p, &t, Some(fault));
    true
}

/// Builds the frame for `t` and enters its handler; false if the frame could not be
/// written (the process then ends with SIGSEGV and this does not return on wasm).
fn deliver(p: &mut Process, t: &Taken, fault: Option<FaultInfo>) -> bool {
    match setup_frame(&mut p.cpu, &mut p.win, t, fault) {
        Ok(()) => true,
        Err(f) => {
            host::log(&format!(
                "cannot deliver signal {}: its frame faults at {:#x} (rsp {:#x}): SIGSEGV",
                t.sig,
                f.addr,
                p.cpu.gpr[gpr::RSP]
            ));
            die(SIGSEGV);
            false
        }
    }
}

/// Writes Linux's `rt_sigframe` for `t` below `cpu`'s stack (or on the alternate
/// stack) and sets the registers to enter the handler. On a fault nothing of `cpu`
/// changed.
pub fn setup_frame(
    cpu: &mut Cpu,
    mem: &mut dyn GuestMem,
    t: &Taken,
    fault: Option<FaultInfo>,
) -> Result<(), Fault> {
    use frame::*;
    let user_sp = cpu.gpr[gpr::RSP];
    let mut sp = user_sp.wrapping_sub(RED_ZONE);
    if t.flags & SA_ONSTACK != 0 && t.alt.flags_at(sp) & !SS_AUTODISARM == 0 {
        sp = t.alt.sp.wrapping_add(t.alt.size);
    }
    let fpstate = sp.wrapping_sub(FPSTATE_SIZE) & !63;
    let base = (fpstate.wrapping_sub(SIZE) & !15).wrapping_sub(8);
    if t.flags & SA_RESTORER == 0 {
        // x86-64 Linux needs a restorer: without one the frame is refused (SIGSEGV).
        return Err(Fault {
            addr: base,
            access: Access::Write,
            kind: FaultKind::Protection,
        });
    }
    let span = (fpstate + FPSTATE_SIZE - base) as usize;
    let mut buf = vec![0u8; span];
    let put = |buf: &mut [u8], off: u64, v: u64| {
        let o = off as usize;
        buf[o..o + 8].copy_from_slice(&v.to_le_bytes());
    };
    put(&mut buf, PRETCODE, t.restorer);
    let uc = UC;
    put(&mut buf, uc + UC_FLAGS, UC_FLAGS_VALUE);
    put(&mut buf, uc + UC_LINK, 0);
    put(&mut buf, uc + UC_STACK, t.alt.sp);
    put(
        &mut buf,
        uc + UC_STACK + 8,
        u64::from(t.alt.flags_at(user_sp)),
    );
    put(&mut buf, uc + UC_STACK + 16, t.alt.size);
    let mc = uc + UC_MCONTEXT;
    let g = &cpu.gpr;
    for (i, r) in (gpr::R8..=gpr::R15).enumerate() {
        put(&mut buf, mc + 8 * (REG_R8 + i as u64), g[r]);
    }
    let f = fault.unwrap_or_default();
    for (slot, v) in [
        (REG_RDI, g[gpr::RDI]),
        (REG_RSI, g[gpr::RSI]),
        (REG_RBP, g[gpr::RBP]),
        (REG_RBX, g[gpr::RBX]),
        (REG_RDX, g[gpr::RDX]),
        (REG_RAX, g[gpr::RAX]),
        (REG_RCX, g[gpr::RCX]),
        (REG_RSP, user_sp),
        (REG_RIP, cpu.rip),
        (REG_EFL, cpu.rflags),
        (REG_CSGSFS, USER_CS | (USER_SS << 48)),
        (REG_ERR, f.err),
        (REG_TRAPNO, f.trapno),
        (REG_OLDMASK, t.restore_mask),
        (REG_CR2, if f.trapno == 14 { f.addr } else { 0 }),
    ] {
        put(&mut buf, mc + 8 * slot, v);
    }
    put(&mut buf, mc + FPSTATE_PTR, fpstate);
    put(&mut buf, uc + UC_SIGMASK, t.restore_mask);
    if t.flags & SA_SIGINFO != 0 {
        let mut info = t.info;
        if let Some(f) = fault {
            info[8..12].copy_from_slice(&f.code.to_le_bytes());
            info[16..24].copy_from_slice(&f.addr.to_le_bytes());
        }
        let o = INFO as usize;
        buf[o..o + 128].copy_from_slice(&info);
    }
    let o = (fpstate - base) as usize;
    buf[o..o + FPSTATE_SIZE as usize].copy_from_slice(&fxsave_image(cpu));
    mem.write(base, &buf)?;

    // Enter the handler: a fresh FPU state, DF/TF/RF clear (Linux's handle_signal).
    cpu.gpr[gpr::RDI] = u64::from(t.sig);
    cpu.gpr[gpr::RSI] = base + INFO;
    cpu.gpr[gpr::RDX] = base + UC;
    cpu.gpr[gpr::RAX] = 0;
    cpu.gpr[gpr::RSP] = base;
    cpu.rip = t.handler;
    cpu.rflags &= !(flags::DF | flags::TF | RF);
    cpu.x87 = X87::default();
    cpu.mxcsr = 0x1f80;
    cpu.xmm = [[0; 2]; 16];
    Ok(())
}

/// What `rt_sigreturn` hands back to the vkernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    pub mask: u64,
    /// The frame's `uc_stack` (`stack_t`, 24 bytes).
    pub stack: [u8; 24],
}

/// Restores `cpu` from the `ucontext` at `rsp` (the handler's `ret` popped the
/// return address, so `rsp` is the frame's `uc`). On a fault nothing changed.
pub fn restore_frame(cpu: &mut Cpu, mem: &mut dyn GuestMem) -> Result<Restored, Fault> {
    use frame::*;
    let uc = cpu.gpr[gpr::RSP];
    let mut b = [0u8; UC_SIZE as usize];
    mem.read(uc, &mut b)?;
    let get = |off: u64| {
        let o = off as usize;
        u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]))
    };
    let mc = UC_MCONTEXT;
    let reg = |slot: u64| get(mc + 8 * slot);
    let mut next = *cpu;
    let fp = reg(FPSTATE_PTR / 8);
    if fp != 0 {
        let mut image = [0u8; FPSTATE_SIZE as usize];
        mem.read(fp, &mut image)?;
        if fxrstor_image(&mut next, &image).is_err() {
            // Reserved MXCSR bits: Linux refuses the frame (SIGSEGV).
            return Err(Fault {
                addr: fp,
                access: Access::Read,
                kind: FaultKind::Protection,
            });
        }
    } else {
        next.x87 = X87::default();
        next.mxcsr = 0x1f80;
        next.xmm = [[0; 2]; 16];
    }
    for (i, r) in (gpr::R8..=gpr::R15).enumerate() {
        next.gpr[r] = reg(REG_R8 + i as u64);
    }
    next.gpr[gpr::RDI] = reg(REG_RDI);
    next.gpr[gpr::RSI] = reg(REG_RSI);
    next.gpr[gpr::RBP] = reg(REG_RBP);
    next.gpr[gpr::RBX] = reg(REG_RBX);
    next.gpr[gpr::RDX] = reg(REG_RDX);
    next.gpr[gpr::RAX] = reg(REG_RAX);
    next.gpr[gpr::RCX] = reg(REG_RCX);
    next.gpr[gpr::RSP] = reg(REG_RSP);
    next.rip = reg(REG_RIP);
    next.rflags = (cpu.rflags & !FIX_EFLAGS) | (reg(REG_EFL) & FIX_EFLAGS) | flags::RESERVED1;
    let mut stack = [0u8; 24];
    stack.copy_from_slice(&b[UC_STACK as usize..UC_STACK as usize + 24]);
    *cpu = next;
    Ok(Restored {
        mask: get(UC_SIGMASK),
        stack,
    })
}

/// `rt_sigreturn`: restores the registers, the FPU state, the mask and a disarmed
/// alternate stack from the frame at `rsp`. `rax` is the interrupted code's (the
/// caller must not overwrite it as for other syscalls). A bad frame ends the process
/// with SIGSEGV.
pub fn sigreturn(p: &mut Process) {
    match restore_frame(&mut p.cpu, &mut p.win) {
        Ok(r) => {
            host::syscall(
                nr::RT_SIGPROCMASK,
                [2, &r.mask as *const u64 as usize as u64, 0, 8, 0, 0],
            );
            let flags = u32::from_le_bytes(r.stack[8..12].try_into().unwrap_or([0; 4]));
            if flags & SS_AUTODISARM != 0 {
                // Delivery disarmed it; Linux's restore_altstack puts it back.
                let mut ss = r.stack;
                let mode = if flags & SS_DISABLE != 0 {
                    SS_DISABLE
                } else {
                    0
                };
                ss[8..12].copy_from_slice(&(mode | SS_AUTODISARM).to_le_bytes());
                host::syscall(
                    nr::SIGALTSTACK,
                    [ss.as_ptr() as usize as u64, 0, 0, 0, 0, 0],
                );
            }
        }
        Err(f) => {
            host::log(&format!(
                "rt_sigreturn: bad frame at {:#x} (fault at {:#x}): SIGSEGV",
                p.cpu.gpr[gpr::RSP],
                f.addr
            ));
            die(SIGSEGV);
        }
    }
}

/// Ends the process with `sig`'s default action, whatever its disposition and the mask
/// (Linux's `force_sigsegv`): resets it, unblocks it, sends it to itself; if that
/// returns, exits with 128 + `sig`.
fn die(sig: u8) {
    let act = [0u64; 4]; // SIG_DFL, no flags, no restorer, empty mask
    host::syscall(
        nr::RT_SIGACTION,
        [u64::from(sig), act.as_ptr() as usize as u64, 0, 8, 0, 0],
    );
    let set: u64 = 1 << (sig - 1);
    host::syscall(
        nr::RT_SIGPROCMASK,
        [1, &set as *const u64 as usize as u64, 0, 8, 0, 0],
    );
    let pid = host::syscall(nr::GETPID, [0; 6]);
    if pid > 0 {
        host::syscall(nr::KILL, [pid as u64, u64::from(sig), 0, 0, 0, 0]);
    }
    host::syscall(nr::EXIT_GROUP, [128 + u64::from(sig), 0, 0, 0, 0, 0]);
}

#[cfg(test)]
mod tests {
    use super::frame::*;
    use super::*;
    use std::mem::offset_of;

    /// Guest memory of one region.
    struct Region {
        base: u64,
        bytes: Vec<u8>,
    }

    impl Region {
        fn at(&self, addr: u64, len: usize) -> Result<std::ops::Range<usize>, Fault> {
            let fault = Fault {
                addr,
                access: Access::Read,
                kind: FaultKind::Unmapped,
            };
            let o = addr.checked_sub(self.base).ok_or(fault)? as usize;
            if o + len > self.bytes.len() {
                return Err(fault);
            }
            Ok(o..o + len)
        }

        fn u64(&self, addr: u64) -> u64 {
            let r = self.at(addr, 8).unwrap();
            u64::from_le_bytes(self.bytes[r].try_into().unwrap())
        }
    }

    impl GuestMem for Region {
        fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
            let r = self.at(addr, buf.len())?;
            buf.copy_from_slice(&self.bytes[r]);
            Ok(())
        }
        fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Fault> {
            let r = self.at(addr, data.len())?;
            self.bytes[r].copy_from_slice(data);
            Ok(())
        }
        fn fetch(&mut self, addr: u64, _: &mut [u8; 16]) -> Result<usize, Fault> {
            Err(Fault {
                addr,
                access: Access::Exec,
                kind: FaultKind::Unmapped,
            })
        }
    }

    /// The frame's offsets are glibc's view of the same structures.
    #[test]
    fn layout_matches_the_hosts_libc() {
        assert_eq!(offset_of!(libc::ucontext_t, uc_flags) as u64, UC_FLAGS);
        assert_eq!(offset_of!(libc::ucontext_t, uc_link) as u64, UC_LINK);
        assert_eq!(offset_of!(libc::ucontext_t, uc_stack) as u64, UC_STACK);
        assert_eq!(
            offset_of!(libc::ucontext_t, uc_mcontext) as u64,
            UC_MCONTEXT
        );
        assert_eq!(offset_of!(libc::ucontext_t, uc_sigmask) as u64, UC_SIGMASK);
        assert_eq!(size_of::<libc::mcontext_t>() as u64, MCONTEXT_SIZE);
        assert_eq!(offset_of!(libc::mcontext_t, fpregs) as u64, FPSTATE_PTR);
        assert_eq!(offset_of!(libc::stack_t, ss_flags), 8);
        assert_eq!(offset_of!(libc::stack_t, ss_size), 16);
        assert_eq!(size_of::<libc::siginfo_t>(), 128);
        assert_eq!(size_of::<libc::_libc_fpstate>() as u64, FPSTATE_SIZE);
        assert_eq!(offset_of!(libc::_libc_fpstate, mxcsr), 24);
        assert_eq!(offset_of!(libc::_libc_fpstate, _st), 32);
        assert_eq!(offset_of!(libc::_libc_fpstate, _xmm), 160);
        for (ours, theirs) in [
            (REG_R8, libc::REG_R8),
            (REG_RDI, libc::REG_RDI),
            (REG_RSI, libc::REG_RSI),
            (REG_RBP, libc::REG_RBP),
            (REG_RBX, libc::REG_RBX),
            (REG_RDX, libc::REG_RDX),
            (REG_RAX, libc::REG_RAX),
            (REG_RCX, libc::REG_RCX),
            (REG_RSP, libc::REG_RSP),
            (REG_RIP, libc::REG_RIP),
            (REG_EFL, libc::REG_EFL),
            (REG_CSGSFS, libc::REG_CSGSFS),
            (REG_ERR, libc::REG_ERR),
            (REG_TRAPNO, libc::REG_TRAPNO),
            (REG_OLDMASK, libc::REG_OLDMASK),
            (REG_CR2, libc::REG_CR2),
        ] {
            assert_eq!(ours, theirs as u64);
        }
        assert_eq!(libc::REG_R15 - libc::REG_R8, 7);
        // struct rt_sigframe: pretcode, the kernel's ucontext (8-byte sigset), siginfo.
        assert_eq!((UC, INFO, SIZE), (8, 312, 440));
    }

    fn taken(flags: u64) -> Taken {
        let mut info = [0u8; 128];
        info[0..4].copy_from_slice(&10i32.to_le_bytes());
        info[16..20].copy_from_slice(&77i32.to_le_bytes());
        Taken {
            sig: 10,
            info,
            handler: 0x40_1000,
            flags: flags | SA_RESTORER,
            restorer: 0x40_2000,
            restore_mask: 0x1234,
            alt: AltStack {
                sp: 0,
                flags: SS_DISABLE,
                size: 0,
            },
        }
    }

    fn cpu() -> Cpu {
        let mut c = Cpu::default();
        for (i, r) in c.gpr.iter_mut().enumerate() {
            *r = 0x1000 + i as u64;
        }
        c.gpr[gpr::RSP] = 0x8_0f13;
        c.rip = 0x40_5555;
        c.rflags |= flags::DF | flags::CF;
        c.xmm[3] = [7, 8];
        c.mxcsr = 0x1f80 | (1 << 13);
        c.x87.cw = 0x027f;
        c
    }

    /// Where Linux puts the frame, what it holds, and the handler's registers; then
    /// rt_sigreturn gives the interrupted state back.
    #[test]
    fn frame_round_trip() {
        let mut mem = Region {
            base: 0x7_0000,
            bytes: vec![0xaa; 0x2_0000],
        };
        let before = cpu();
        let mut c = before;
        let t = taken(SA_SIGINFO);
        setup_frame(&mut c, &mut mem, &t, None).unwrap();
        let sp = before.gpr[gpr::RSP];
        let fpstate = (sp - 128 - 512) & !63;
        let base = ((fpstate - SIZE) & !15) - 8;
        assert_eq!(c.gpr[gpr::RSP], base);
        assert_eq!(base % 16, 8, "as after a call");
        assert_eq!(c.rip, 0x40_1000);
        assert_eq!(c.gpr[gpr::RDI], 10);
        assert_eq!(c.gpr[gpr::RSI], base + INFO);
        assert_eq!(c.gpr[gpr::RDX], base + UC);
        assert_eq!(c.gpr[gpr::RAX], 0);
        assert!(!c.flag(flags::DF));
        assert_eq!(c.xmm[3], [0, 0]);
        assert_eq!(c.mxcsr, 0x1f80);
        assert_eq!(mem.u64(base), 0x40_2000, "returns to sa_restorer");
        let mc = base + UC + UC_MCONTEXT;
        assert_eq!(mem.u64(mc + 8 * REG_RIP), 0x40_5555);
        assert_eq!(mem.u64(mc + 8 * REG_RSP), sp);
        assert_eq!(mem.u64(mc + 8 * REG_R8), before.gpr[gpr::R8]);
        assert_eq!(mem.u64(mc + 8 * (REG_R8 + 7)), before.gpr[gpr::R15]);
        assert_eq!(mem.u64(mc + 8 * REG_RCX), before.gpr[gpr::RCX]);
        assert_eq!(mem.u64(mc + 8 * REG_CSGSFS), 0x002b_0000_0000_0033);
        assert_eq!(mem.u64(mc + FPSTATE_PTR), fpstate);
        assert_eq!(mem.u64(base + UC + UC_SIGMASK), 0x1234);
        assert_eq!(mem.u64(base + UC + UC_STACK + 8), u64::from(SS_DISABLE));
        // The siginfo, read through the host's libc.
        let mut info = [0u8; 128];
        mem.read(base + INFO, &mut info).unwrap();
        // SAFETY: siginfo_t is 128 bytes of plain data (checked above).
        let si: libc::siginfo_t = unsafe { std::mem::transmute(info) };
        assert_eq!(si.si_signo, 10);
        // SAFETY: a kill's siginfo has the pid in its union.
        assert_eq!(unsafe { si.si_pid() }, 77);
        // The FPU image: mxcsr and xmm3 where fxsave puts them.
        assert_eq!(mem.u64(fpstate + 160 + 16 * 3), 7);
        assert_eq!(mem.u64(fpstate + 24) as u32, before.mxcsr);

        // The handler's ret pops pretcode; rt_sigreturn restores.
        let mut after = c;
        after.gpr[gpr::RSP] = base + 8;
        after.gpr[gpr::RBX] = 0xdead;
        let r = restore_frame(&mut after, &mut mem).unwrap();
        assert_eq!(r.mask, 0x1234);
        assert_eq!(after, before);
    }

    /// A fault's frame: si_addr, trap number, error code and cr2; the alternate stack
    /// for SA_ONSTACK, reported in uc_stack.
    #[test]
    fn fault_frame_on_the_alternate_stack() {
        let mut mem = Region {
            base: 0x7_0000,
            bytes: vec![0; 0x2_0000],
        };
        let mut c = cpu();
        let mut t = taken(SA_SIGINFO | SA_ONSTACK);
        t.sig = SIGSEGV;
        t.alt = AltStack {
            sp: 0x7_0000,
            flags: 0,
            size: 0x4000,
        };
        let f = FaultInfo {
            code: 1,
            addr: 0xdead_0000,
            trapno: 14,
            err: 6,
        };
        setup_frame(&mut c, &mut mem, &t, Some(f)).unwrap();
        let base = c.gpr[gpr::RSP];
        assert!(base < 0x7_4000 && base > 0x7_0000, "on the alternate stack");
        let mc = base + UC + UC_MCONTEXT;
        assert_eq!(mem.u64(mc + 8 * REG_TRAPNO), 14);
        assert_eq!(mem.u64(mc + 8 * REG_ERR), 6);
        assert_eq!(mem.u64(mc + 8 * REG_CR2), 0xdead_0000);
        let mut info = [0u8; 128];
        mem.read(base + INFO, &mut info).unwrap();
        // SAFETY: as above.
        let si: libc::siginfo_t = unsafe { std::mem::transmute(info) };
        assert_eq!(si.si_code, 1);
        // SAFETY: a fault's siginfo has the address in its union.
        assert_eq!(unsafe { si.si_addr() } as u64, 0xdead_0000);
        assert_eq!(mem.u64(base + UC + UC_STACK), 0x7_0000);
        assert_eq!(
            mem.u64(base + UC + UC_STACK + 8),
            0,
            "not on it when interrupted"
        );
        // A second signal while on it stays on it (below the first frame), and says so.
        let mut t2 = t;
        t2.flags = SA_RESTORER | SA_ONSTACK;
        let mut c2 = c;
        setup_frame(&mut c2, &mut mem, &t2, None).unwrap();
        let base2 = c2.gpr[gpr::RSP];
        assert!(base2 < base - 128 && base2 > 0x7_0000);
        assert_eq!(mem.u64(base2 + UC + UC_STACK + 8), u64::from(SS_ONSTACK));
    }

    /// A stack that cannot take the frame, or no restorer: refused, the CPU unchanged.
    #[test]
    fn bad_stack_is_refused() {
        let mut mem = Region {
            base: 0x7_0000,
            bytes: vec![0; 0x100],
        };
        let before = cpu();
        let mut c = before;
        assert!(setup_frame(&mut c, &mut mem, &taken(0), None).is_err());
        assert_eq!(c, before);
        let mut t = taken(0);
        t.flags = 0;
        assert!(setup_frame(&mut c, &mut mem, &t, None).is_err());
        assert_eq!(c, before);
    }

    #[test]
    fn record_parses() {
        let mut r = [0u8; RECORD];
        r[0] = 17;
        for (i, v) in [
            0x401000u64,
            SA_RESTART | SA_RESTORER,
            0x402000,
            0x10,
            0x20,
            0x7000,
            2,
            0x800,
        ]
        .iter()
        .enumerate()
        {
            r[128 + 8 * i..136 + 8 * i].copy_from_slice(&v.to_le_bytes());
        }
        let t = Taken::parse(17, &r);
        assert_eq!(t.info[0], 17);
        assert_eq!(
            (t.handler, t.restorer, t.restore_mask),
            (0x401000, 0x402000, 0x20)
        );
        assert_eq!(t.flags, SA_RESTART | SA_RESTORER);
        assert_eq!(
            t.alt,
            AltStack {
                sp: 0x7000,
                flags: 2,
                size: 0x800
            }
        );
    }
}
