//! Starting a lifted program: finding its image, mapping its segments, and
//! building the initial stack (argv, envp, auxv) as Linux's `execve` does.

use recompiler_lift::cpu::{Cpu, gpr};
use recompiler_lift::image::{LiftedImage, PF_W, PF_X};
use recompiler_lift::layout::{
    self, DIRECTORY, DIRECTORY_MAGIC, MAX_IMAGES, PAGE, STACK_SIZE, STACK_TOP, page_down, page_up,
};

use crate::window::{PROT_EXEC, PROT_READ, PROT_WRITE, Window};

/// Finds the image of the program with hash id `id` in the directory the
/// builder wrote below the runtime's data.
pub fn find_image(id: u64) -> Result<&'static [u8], String> {
    let dir = directory();
    if dir.len() < 16 || &dir[..8] != DIRECTORY_MAGIC {
        return Err("this megabinary holds no lifted programs (no image directory)".into());
    }
    let count = u32::from_le_bytes([dir[8], dir[9], dir[10], dir[11]]) as usize;
    if count > MAX_IMAGES {
        return Err(format!("image directory claims {count} entries"));
    }
    for i in 0..count {
        let e = &dir[16 + 16 * i..32 + 16 * i];
        let eid = u64::from_le_bytes(e[..8].try_into().unwrap_or_default());
        if eid != id {
            continue;
        }
        let offset = u32::from_le_bytes(e[8..12].try_into().unwrap_or_default()) as u64;
        let len = u32::from_le_bytes(e[12..16].try_into().unwrap_or_default()) as u64;
        if offset < layout::IMAGES_MIN || offset + len > DIRECTORY {
            return Err(format!("image of {id:016x} lies outside the image area"));
        }
        return Ok(image_bytes(offset, len));
    }
    Err(format!("no lifted image for hash id {id:016x}"))
}

#[cfg(target_arch = "wasm32")]
fn directory() -> &'static [u8] {
    // SAFETY: the directory page is part of this module's data (the builder
    // wrote it as an active data segment); nothing writes it.
    unsafe {
        std::slice::from_raw_parts(
            std::ptr::with_exposed_provenance(DIRECTORY as usize),
            PAGE as usize,
        )
    }
}

#[cfg(target_arch = "wasm32")]
fn image_bytes(offset: u64, len: u64) -> &'static [u8] {
    // SAFETY: checked by the caller to lie in the image area, which is data
    // of this module between the guest window and the directory; read-only.
    unsafe {
        std::slice::from_raw_parts(
            std::ptr::with_exposed_provenance(offset as usize),
            len as usize,
        )
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn directory() -> &'static [u8] {
    &[]
}

#[cfg(not(target_arch = "wasm32"))]
fn image_bytes(_: u64, _: u64) -> &'static [u8] {
    &[]
}

/// Linux auxiliary vector keys.
mod at {
    pub const NULL: u64 = 0;
    pub const PHDR: u64 = 3;
    pub const PHENT: u64 = 4;
    pub const PHNUM: u64 = 5;
    pub const PAGESZ: u64 = 6;
    pub const BASE: u64 = 7;
    pub const FLAGS: u64 = 8;
    pub const ENTRY: u64 = 9;
    pub const UID: u64 = 11;
    pub const EUID: u64 = 12;
    pub const GID: u64 = 13;
    pub const EGID: u64 = 14;
    pub const PLATFORM: u64 = 15;
    pub const HWCAP: u64 = 16;
    pub const CLKTCK: u64 = 17;
    pub const SECURE: u64 = 23;
    pub const RANDOM: u64 = 25;
    pub const HWCAP2: u64 = 26;
    pub const EXECFN: u64 = 31;
}

/// CPUID.1:EDX of the baseline CPU (what Linux reports as AT_HWCAP): FPU, VME,
/// DE, PSE, TSC, MSR, PAE, MCE, CX8, APIC, SEP, MTRR, PGE, MCA, CMOV, PAT,
/// PSE36, CLFSH, MMX, FXSR, SSE, SSE2.
pub const HWCAP: u64 = 0x0789_fbff;

/// Where the program's heap (brk) starts.
#[derive(Debug, Clone, Copy)]
pub struct Loaded {
    pub brk_start: u64,
}

/// Maps `image` into `win` and sets up `cpu` to start it with `args` and `env`.
pub fn load(
    win: &mut Window,
    cpu: &mut Cpu,
    image: &LiftedImage<'_>,
    args: &[Vec<u8>],
    env: &[Vec<u8>],
    random: [u8; 16],
) -> Result<Loaded, String> {
    let mut end = 0u64;
    for s in &image.segments {
        if s.memsz == 0 {
            continue;
        }
        let start = page_down(s.vaddr);
        let stop = page_up(s.vaddr + s.memsz);
        if !Window::in_window(start, stop - start) || stop > STACK_TOP - STACK_SIZE {
            return Err(format!(
                "segment at {:#x} (+{:#x}) does not fit the guest window",
                s.vaddr, s.memsz
            ));
        }
        let exec = s.flags & PF_X != 0;
        let mut prot = PROT_READ;
        if exec {
            prot |= PROT_EXEC;
        }
        if s.flags & PF_W != 0 {
            prot |= PROT_WRITE;
        }
        // Then copy the file bytes (the rest stays zero). Segments of static
        // binaries are page-separated; a page shared by two segments gets the
        // permissions of the later one.
        win.map(start, stop - start, prot, exec);
        win.copy_in(s.vaddr, s.data);
        end = end.max(stop);
    }
    if end == 0 {
        return Err("the image has no loadable segment".into());
    }

    // The stack.
    let stack_low = STACK_TOP - STACK_SIZE;
    win.map(stack_low, STACK_SIZE, PROT_READ | PROT_WRITE, false);
    let mut sp = STACK_TOP;
    let put = |win: &mut Window, sp: &mut u64, bytes: &[u8]| -> u64 {
        *sp -= bytes.len() as u64;
        win.copy_in(*sp, bytes);
        *sp
    };
    let random_at = put(win, &mut sp, &random);
    let platform_at = put(win, &mut sp, b"x86_64\0");
    let execfn = args.first().cloned().unwrap_or_default();
    let mut execfn_z = execfn.clone();
    execfn_z.push(0);
    let execfn_at = put(win, &mut sp, &execfn_z);
    let strings = |list: &[Vec<u8>], win: &mut Window, sp: &mut u64| -> Vec<u64> {
        list.iter()
            .map(|s| {
                let mut z = s.clone();
                z.push(0);
                put(win, sp, &z)
            })
            .collect()
    };
    let env_at = strings(env, win, &mut sp);
    let arg_at = strings(args, win, &mut sp);
    let total = (env_at.len() + arg_at.len() + 3) * 8 + 2 * 8 * 20;
    if STACK_TOP - sp + total as u64 > STACK_SIZE / 4 {
        return Err("arguments and environment are too large (E2BIG)".into());
    }
    let auxv: [(u64, u64); 19] = [
        (at::PHDR, image.phdr),
        (at::PHENT, image.phent as u64),
        (at::PHNUM, image.phnum as u64),
        (at::PAGESZ, PAGE),
        (at::BASE, 0),
        (at::FLAGS, 0),
        (at::ENTRY, image.entry),
        (at::UID, 0),
        (at::EUID, 0),
        (at::GID, 0),
        (at::EGID, 0),
        (at::SECURE, 0),
        (at::CLKTCK, 100),
        (at::HWCAP, HWCAP),
        (at::HWCAP2, 0),
        (at::RANDOM, random_at),
        (at::PLATFORM, platform_at),
        (at::EXECFN, execfn_at),
        (at::NULL, 0),
    ];
    let mut words: Vec<u64> = Vec::with_capacity(total / 8);
    words.push(args.len() as u64);
    words.extend(&arg_at);
    words.push(0);
    words.extend(&env_at);
    words.push(0);
    for (k, v) in auxv {
        words.push(k);
        words.push(v);
    }
    sp &= !15;
    if words.len() % 2 == 1 {
        sp -= 8; // rsp is 16-aligned at the entry point
    }
    sp -= words.len() as u64 * 8;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    win.copy_in(sp, &bytes);

    *cpu = Cpu::default();
    cpu.gpr[gpr::RSP] = sp;
    cpu.rip = image.entry;
    Ok(Loaded { brk_start: end })
}
