//! `syscall`, `cpuid`, `rdtsc`, hints and no-ops (fences, `pause`,
//! prefetches, `endbr64`, the CET shadow-stack reads), traps (`int3`, `ud2`),
//! and the instructions a user program may not run (`hlt`, `in`, `out`,
//! `cli`, `sti`, ...), which are [`Exit::Privileged`].
//!
//! The CPU reported by [`cpuid`] is a baseline x86-64 (Intel family 6):
//! FPU, TSC, CX8, CMOV, MMX, FXSR, SSE, SSE2, SYSCALL, NX, LM, LAHF in
//! 64-bit mode; no SSE3 and later, no AVX, no OSXSAVE, no BMI, POPCNT,
//! LZCNT, MOVBE, RDRAND, RTM or CET. Instructions of the features not
//! reported are not covered ([`Exit::Illegal`], the #UD such a processor
//! raises), except where such a processor runs the encoding as something
//! else (`tzcnt`/`lzcnt` as `bsf`/`bsr`, see [`super::int`]; `rdssp` as a
//! no-op).

use std::sync::atomic::{AtomicU64, Ordering};

use iced_x86::{Instruction, Mnemonic};

use super::{Handler, M, Sem};
use crate::cpu::{Cpu, gpr};
use crate::interp::Exit;
use crate::mem::GuestMem;

pub fn handler<S: Sem>(m: Mnemonic) -> Option<Handler<S>> {
    Some(match m {
        M::Syscall => |_| Err(Exit::Syscall),
        M::Cpuid => |s| s.helper(cpuid_op),
        M::Rdtsc => |s| s.helper(rdtsc_op),
        // Hints and no-ops. `rdssp` is in the hint space: without shadow
        // stacks enabled it does nothing (glibc's setjmp relies on it
        // leaving its zeroed destination zero).
        M::Endbr64
        | M::Endbr32
        | M::Lfence
        | M::Mfence
        | M::Sfence
        | M::Pause
        | M::Prefetchnta
        | M::Prefetcht0
        | M::Prefetcht1
        | M::Prefetcht2
        | M::Prefetchw
        | M::Prefetch
        | M::Reservednop
        | M::Rdsspd
        | M::Rdsspq => |_| Ok(()),
        M::Int3 => |_| Err(Exit::Breakpoint),
        M::Ud0 | M::Ud1 | M::Ud2 => |_| Err(Exit::Illegal),
        M::Hlt
        | M::In
        | M::Out
        | M::Insb
        | M::Insw
        | M::Insd
        | M::Outsb
        | M::Outsw
        | M::Outsd
        | M::Cli
        | M::Sti
        | M::Clts
        | M::Invd
        | M::Wbinvd
        | M::Invlpg
        | M::Rdmsr
        | M::Wrmsr
        | M::Rdpmc
        | M::Lgdt
        | M::Lidt
        | M::Lldt
        | M::Ltr
        | M::Lmsw
        | M::Swapgs
        | M::Sysret
        | M::Sysexit
        | M::Iret
        | M::Iretd
        | M::Iretq => |_| Err(Exit::Privileged),
        _ => return None,
    })
}

/// The highest basic leaf reported.
const MAX_BASIC: u32 = 0xd;
/// The highest extended leaf reported.
const MAX_EXT: u32 = 0x8000_0008;

/// Leaf 1 EDX: FPU, DE, PSE, TSC, MSR, PAE, MCE, CX8, APIC, SEP, MTRR, PGE,
/// MCA, CMOV, PAT, PSE36, MMX, FXSR, SSE, SSE2.
const LEAF1_EDX: u32 = (1 << 0)
    | (1 << 2)
    | (1 << 3)
    | (1 << 4)
    | (1 << 5)
    | (1 << 6)
    | (1 << 7)
    | (1 << 8)
    | (1 << 9)
    | (1 << 11)
    | (1 << 12)
    | (1 << 13)
    | (1 << 14)
    | (1 << 15)
    | (1 << 16)
    | (1 << 17)
    | (1 << 23)
    | (1 << 24)
    | (1 << 25)
    | (1 << 26);

/// Leaf 1 EAX: family 6, model 0x0f (a Core 2: x86-64 with SSE2 and no
/// model-specific tuning in glibc), stepping 11.
const SIGNATURE: u32 = 0x0000_06fb;

/// The brand string of leaves 0x80000002..4 (48 bytes, NUL-padded).
const BRAND: &[u8; 48] = b"recompiler baseline x86-64 (SSE2)\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// Leaf 4: deterministic cache parameters (type | level << 5 | self-init,
/// ways-1 << 22 | partitions-1 << 12 | line-1, sets-1, flags): 32 KiB L1d
/// and L1i (8-way), 1 MiB L2 (16-way), 8 MiB inclusive L3 (16-way), 64-byte
/// lines. glibc sizes its memcpy/memset thresholds from these.
const CACHES: [[u32; 4]; 4] = [
    [1 | (1 << 5) | (1 << 8), (7 << 22) | 63, 63, 0],
    [2 | (1 << 5) | (1 << 8), (7 << 22) | 63, 63, 0],
    [3 | (2 << 5) | (1 << 8), (15 << 22) | 63, 1023, 0],
    [3 | (3 << 5) | (1 << 8), (15 << 22) | 63, 8191, 2],
];

/// What `cpuid` returns for `leaf` (eax) and `subleaf` (ecx), as
/// `[eax, ebx, ecx, edx]`. A pure function, so the differential harness can
/// make a native run see the same CPU (with CPUID faulting).
///
/// Leaves above the highest basic or extended leaf return the highest basic
/// leaf (0xd, all zero without XSAVE), as Intel processors do.
pub fn cpuid(leaf: u32, subleaf: u32) -> [u32; 4] {
    let brand = |i: usize| {
        let mut r = [0u32; 4];
        for (k, w) in r.iter_mut().enumerate() {
            let o = i * 16 + k * 4;
            *w = u32::from_le_bytes([BRAND[o], BRAND[o + 1], BRAND[o + 2], BRAND[o + 3]]);
        }
        r
    };
    match leaf {
        // "GenuineIntel" in ebx, edx, ecx.
        0 => [MAX_BASIC, 0x756e_6547, 0x6c65_746e, 0x4965_6e69],
        // ebx: one logical processor, APIC id 0; ecx: nothing past SSE2.
        1 => [SIGNATURE, 0, 0, LEAF1_EDX],
        // One round of descriptors: 0xff says "see leaf 4".
        2 => [0x00ff_0001, 0, 0, 0],
        4 => CACHES.get(subleaf as usize).copied().unwrap_or([0; 4]),
        0x8000_0000 => [MAX_EXT, 0, 0, 0],
        // ecx: LAHF/SAHF in 64-bit mode; edx: SYSCALL, NX, LM.
        0x8000_0001 => [0, 0, 1, (1 << 11) | (1 << 20) | (1 << 29)],
        0x8000_0002 => brand(0),
        0x8000_0003 => brand(1),
        0x8000_0004 => brand(2),
        // 48-bit virtual, 40-bit physical addresses.
        0x8000_0008 => [0x3028, 0, 0, 0],
        _ => [0; 4],
    }
}

/// `cpuid` (helper): eax, ebx, ecx, edx from [`cpuid`] (32-bit writes, so
/// the upper halves are cleared).
pub fn cpuid_op(cpu: &mut Cpu, _: &mut dyn GuestMem, _: &Instruction) -> Result<(), Exit> {
    let r = cpuid(cpu.gpr[gpr::RAX] as u32, cpu.gpr[gpr::RCX] as u32);
    cpu.gpr[gpr::RAX] = r[0] as u64;
    cpu.gpr[gpr::RBX] = r[1] as u64;
    cpu.gpr[gpr::RCX] = r[2] as u64;
    cpu.gpr[gpr::RDX] = r[3] as u64;
    Ok(())
}

/// The time-stamp counter `rdtsc` reads: the guest runtime cannot read the
/// host's, so it is a counter that advances by [`TSC_STEP`] at each read
/// (strictly increasing, as programs assume). Per process (per instance in
/// the runtime); not part of [`Cpu`], so a fork does not copy it, which keeps
/// it increasing in the child too.
static TSC: AtomicU64 = AtomicU64::new(1 << 32);

/// Cycles one `rdtsc` advances the counter by: roughly the cost of the
/// instructions between two reads in a timing loop.
const TSC_STEP: u64 = 1000;

/// `rdtsc` (helper): edx:eax = the counter.
pub fn rdtsc_op(cpu: &mut Cpu, _: &mut dyn GuestMem, _: &Instruction) -> Result<(), Exit> {
    let t = TSC.fetch_add(TSC_STEP, Ordering::Relaxed);
    cpu.gpr[gpr::RAX] = t & 0xffff_ffff;
    cpu.gpr[gpr::RDX] = t >> 32;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::testing::{Regs, VecMem, run_bytes};

    fn run_cpuid(leaf: u32, sub: u32) -> [u64; 4] {
        let mut mem = VecMem::default();
        let mut cpu = Regs {
            rax: 0xffff_ffff_0000_0000 | leaf as u64,
            rcx: sub as u64,
            ..Regs::default()
        }
        .to_cpu();
        cpu.gpr[gpr::RBX] = u64::MAX;
        run_bytes(&[0x0f, 0xa2], 0x1000, &mut cpu, &mut mem).unwrap();
        [
            cpu.gpr[gpr::RAX],
            cpu.gpr[gpr::RBX],
            cpu.gpr[gpr::RCX],
            cpu.gpr[gpr::RDX],
        ]
    }

    #[test]
    fn cpuid_reports_the_baseline() {
        let v = run_cpuid(0, 0);
        let mut vendor = Vec::new();
        for r in [v[1], v[3], v[2]] {
            vendor.extend_from_slice(&(r as u32).to_le_bytes());
        }
        assert_eq!(&vendor, b"GenuineIntel");
        assert_eq!(v[0], MAX_BASIC as u64);
        let l1 = run_cpuid(1, 0);
        let (ecx, edx) = (l1[2] as u32, l1[3] as u32);
        // SSE2, CMOV, CX8, FXSR; no SSE3, SSSE3, SSE4, POPCNT, OSXSAVE, AVX.
        for bit in [26, 25, 24, 23, 15, 8, 4, 0] {
            assert!(edx & (1 << bit) != 0, "edx bit {bit}");
        }
        assert_eq!(ecx, 0);
        assert_eq!(run_cpuid(7, 0), [0; 4]);
        assert_eq!(run_cpuid(0xd, 0), [0; 4]);
        // Above the highest leaf: the highest basic leaf's (zero) data.
        assert_eq!(run_cpuid(0x4000_0000, 0), [0; 4]);
        let ext = run_cpuid(0x8000_0001, 0);
        assert_eq!(ext[3] as u32 & (1 << 29), 1 << 29);
        let mut brand = Vec::new();
        for leaf in 0x8000_0002..=0x8000_0004 {
            for r in run_cpuid(leaf, 0) {
                brand.extend_from_slice(&(r as u32).to_le_bytes());
            }
        }
        assert!(brand.starts_with(b"recompiler baseline"));
        // Cache leaf: the L1d is 32 KiB, and the list ends.
        let c = run_cpuid(4, 0);
        let size = ((c[1] >> 22) + 1) * (((c[1] >> 12) & 0x3ff) + 1) * ((c[1] & 0xfff) + 1) * (c[2] + 1);
        assert_eq!(size, 32 * 1024);
        assert_eq!(run_cpuid(4, 4)[0] & 0x1f, 0);
    }

    #[test]
    fn rdtsc_increases() {
        let mut mem = VecMem::default();
        let mut cpu = Regs::default().to_cpu();
        let mut last = 0;
        for _ in 0..10 {
            run_bytes(&[0x0f, 0x31], 0x1000, &mut cpu, &mut mem).unwrap();
            let t = cpu.gpr[gpr::RDX] << 32 | cpu.gpr[gpr::RAX];
            assert!(t > last);
            assert!(cpu.gpr[gpr::RDX] >> 32 == 0 && cpu.gpr[gpr::RAX] >> 32 == 0);
            last = t;
        }
    }

    #[test]
    fn hints_and_privileged() {
        let mut mem = VecMem::default();
        let mut cpu = Regs {
            rax: 0,
            ..Regs::default()
        }
        .to_cpu();
        for bytes in [
            &[0xf3, 0x0f, 0x1e, 0xfa][..],       // endbr64
            &[0xf3, 0x48, 0x0f, 0x1e, 0xc8][..], // rdsspq rax
            &[0x0f, 0x18, 0x0e][..],             // prefetcht0 [rsi]
            &[0x0f, 0xae, 0xf0][..],             // mfence
            &[0xf3, 0x90][..],                   // pause
            &[0x0f, 0x1f, 0x44, 0x00, 0x00][..], // nop dword [rax+rax]
        ] {
            let before = cpu;
            run_bytes(bytes, 0x1000, &mut cpu, &mut mem).unwrap();
            assert_eq!(cpu.gpr, before.gpr, "{bytes:02x?}");
        }
        for bytes in [&[0xfa][..], &[0xfb][..], &[0xe4, 0x60][..], &[0xee][..]] {
            assert_eq!(run_bytes(bytes, 0x1000, &mut cpu, &mut mem), Err(Exit::Privileged));
        }
    }
}
