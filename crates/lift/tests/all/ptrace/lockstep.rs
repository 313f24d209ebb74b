//! The lock-step loop: one instruction on the real CPU (ptrace single-step),
//! the same instruction in the interpreter, then every register, the defined
//! flags and the bytes the interpreter wrote are compared.
//!
//! Instructions whose result is not a function of the state are handled
//! apart: `cpuid` runs only in the interpreter (the guest must see the
//! baseline CPU, not this host's AVX) and its answer is written into the
//! native process; `rdtsc`/`rdtscp` run only natively and their result is
//! copied; `syscall` runs natively (the kernel does the call), its results
//! are copied into the interpreter and the interpreter's memory is re-synced
//! from the process, after a full compare of writable memory.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use iced_x86::{
    Formatter, Instruction, InstructionInfoFactory, IntelFormatter, Mnemonic, OpAccess, Register,
};
use recompiler_lift::cpu::{flags, gpr};
use recompiler_lift::decode::CodeCache;
use recompiler_lift::{Cpu, Exit, FaultKind, interp, sem};

use super::flags as undef;
use super::mem::{MemDiff, PageMem};
use super::native::{FpRegs, Regs, SpawnError, Stop, Tracee};

/// How many executed instructions a divergence report shows.
const HISTORY: usize = 12;

/// The auxv entry that points at the vDSO, and the type that hides it. The
/// vDSO's clock functions read the kernel's `vvar` page, which cannot be
/// copied into the interpreter's memory (and the guest runtime has no vDSO):
/// hiding it makes glibc use the `clock_gettime` etc. system calls.
const AT_SYSINFO_EHDR: u64 = 33;
const AT_IGNORE: u64 = 1;

/// One program run.
#[derive(Debug, Clone)]
pub struct Job {
    /// A short name for reports.
    pub name: String,
    /// argv, argv[0] included.
    pub argv: Vec<String>,
    /// At most this many instructions are compared; the process is then killed.
    pub cap: u64,
    /// A fault injected into the interpreter's state, to test the harness.
    pub perturb: Option<Perturb>,
}

/// A deliberate error in the interpreter's state after a given instruction:
/// the harness must report a divergence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perturb {
    /// Flips bit 3 of rsp after instruction #n.
    Rsp(u64),
    /// Flips a byte that no instruction writes (the last byte of the
    /// initial stack, above the strings of the environment) after
    /// instruction #n: only the compare of writable memory before the next
    /// system call can see it.
    StackTop(u64),
}

/// How the loop treats an instruction the interpreter does not cover or gets
/// wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Stop at the first difference (the test).
    Strict,
    /// Count it, take the native state, and go on to the end (the survey of
    /// what the semantics still lack).
    Survey,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    Exited(i32),
    /// The instruction cap was reached.
    Cap,
    /// Strict mode stopped at a difference.
    Diverged,
    /// The native process got a signal (or was killed by one).
    Signal(i32),
}

/// A count and the report of the first occurrence.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub count: u64,
    pub first: String,
}

/// How an undefined flag came out.
#[derive(Debug, Default, Clone, Copy)]
pub struct UndefinedFlag {
    /// Instructions executed with this flag undefined.
    pub executed: u64,
    /// Of those, how often the CPU set it and the interpreter did not.
    pub cpu_set: u64,
    /// And how often the CPU cleared it and the interpreter set it.
    pub cpu_clear: u64,
}

/// What a run found.
#[derive(Debug)]
pub struct Outcome {
    pub job: Job,
    pub steps: u64,
    pub syscalls: u64,
    pub elapsed: Duration,
    pub end: End,
    /// The first divergence, in full.
    pub divergence: Option<String>,
    /// Survey: divergences of covered instructions, by mnemonic.
    pub wrong: BTreeMap<String, Tally>,
    /// Instructions executed that `sem::supported` rejects, by mnemonic.
    pub unsupported: BTreeMap<String, Tally>,
    /// Instructions run in the interpreter only, their result given to the
    /// native process (cpuid, tzcnt, lzcnt), by mnemonic.
    pub interp_only: BTreeMap<String, u64>,
    /// Undefined flags: (mnemonic, flag) -> how often and how the
    /// interpreter differed from this CPU.
    pub undefined_seen: BTreeMap<(String, String), UndefinedFlag>,
}

/// The state of one run in progress.
struct Lockstep {
    t: Tracee,
    cpu: Cpu,
    mem: PageMem,
    code: CodeCache,
    /// The native registers after the last step.
    regs: Regs,
    fp: FpRegs,
    history: VecDeque<Instruction>,
    mode: Mode,
    out: Outcome,
    info: InstructionInfoFactory,
}

/// The native GPRs in the interpreter's order.
fn native_gpr(r: &Regs) -> [u64; 16] {
    [
        r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi, r.r8, r.r9, r.r10, r.r11, r.r12,
        r.r13, r.r14, r.r15,
    ]
}

const GPR_NAMES: [&str; 16] = [
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15",
];

fn native_xmm(fp: &FpRegs, i: usize) -> [u64; 2] {
    let w = &fp.xmm_space[i * 4..i * 4 + 4];
    [
        w[0] as u64 | (w[1] as u64) << 32,
        w[2] as u64 | (w[3] as u64) << 32,
    ]
}

/// An 80-bit x87 value (as FXSAVE stores it) rounded to f64.
fn f80_to_f64(b: &[u8]) -> f64 {
    let mant = u64::from_le_bytes(b[0..8].try_into().expect("8 bytes"));
    let se = u16::from_le_bytes([b[8], b[9]]);
    let sign = if se & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = (se & 0x7fff) as i32;
    if exp == 0x7fff {
        return if mant << 1 == 0 {
            sign * f64::INFINITY
        } else {
            f64::NAN
        };
    }
    if exp == 0 || mant == 0 {
        return sign * 0.0;
    }
    let e = exp - 16383;
    if e > 1023 {
        return sign * f64::INFINITY;
    }
    if e < -1080 {
        return sign * 0.0;
    }
    let m = mant as f64 / 2f64.powi(63);
    let v = if e < -1000 {
        m * 2f64.powi(e + 100) * 2f64.powi(-100)
    } else {
        m * 2f64.powi(e)
    };
    sign * v
}

/// The interpreter state equal to the native one.
fn cpu_from_native(r: &Regs, fp: &FpRegs) -> Cpu {
    let mut cpu = Cpu {
        gpr: native_gpr(r),
        rip: r.rip,
        rflags: r.eflags,
        fs_base: r.fs_base,
        gs_base: r.gs_base,
        mxcsr: fp.mxcsr,
        ..Cpu::default()
    };
    for i in 0..16 {
        cpu.xmm[i] = native_xmm(fp, i);
    }
    let top = ((fp.swd >> 11) & 7) as u8;
    cpu.x87.top = top;
    cpu.x87.cw = fp.cwd;
    cpu.x87.sw = fp.swd & !(7 << 11);
    // FXSAVE's abridged tag: bit i set = physical register i holds a value.
    cpu.x87.empty = !(fp.ftw as u8);
    let st: Vec<u8> = fp.st_space.iter().flat_map(|w| w.to_le_bytes()).collect();
    for i in 0..8 {
        // FXSAVE stores ST(i), 16 bytes each; ST(i) is physical (top + i) % 8.
        let phys = (top as usize + i) % 8;
        cpu.x87.st[phys] = f80_to_f64(&st[i * 16..i * 16 + 10]);
    }
    cpu
}

/// Intel-syntax text of an instruction.
pub fn format(insn: &Instruction) -> String {
    let mut f = IntelFormatter::new();
    let mut s = String::new();
    f.format(insn, &mut s);
    s
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The baseline answer of `cpuid` the harness uses in survey mode only, while
/// the interpreter has no `cpuid` yet: SSE2, no AVX (the baseline).
fn fallback_cpuid(leaf: u32) -> [u32; 4] {
    match leaf {
        // Max leaf 1, "GenuineIntel".
        0 => [1, 0x756e_6547, 0x6c65_746e, 0x4965_6e69],
        // Family 6; fpu tsc cx8 cmov mmx fxsr sse sse2 in edx, nothing in ecx.
        1 => [0x0000_0663, 0, 0, 0x0780_8111],
        0x8000_0000 => [0x8000_0001, 0, 0, 0],
        // lahf in ecx; syscall, nx, lm in edx.
        0x8000_0001 => [0, 0, 1, (1 << 11) | (1 << 20) | (1 << 29)],
        _ => [0; 4],
    }
}

impl Lockstep {
    fn name(&self) -> String {
        self.out.job.argv.join(" ")
    }

    fn bytes_at(&self, insn: &Instruction) -> Vec<u8> {
        let mut b = vec![0u8; insn.len()];
        self.mem.peek(insn.ip(), &mut b);
        b
    }

    fn line(&self, insn: &Instruction) -> String {
        format!(
            "{:#014x}  {:<30} {}",
            insn.ip(),
            hex(&self.bytes_at(insn)),
            format(insn)
        )
    }

    /// The full report of a difference at `insn`.
    fn report(&self, insn: &Instruction, pre: &Regs, what: &[String], mem: &[MemDiff]) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "divergence in `{}` at instruction #{}:",
            self.name(),
            self.out.steps
        );
        let _ = writeln!(s, "  {}", self.line(insn));
        for w in what {
            let _ = writeln!(s, "    {w}");
        }
        for d in mem.iter().take(8) {
            let _ = writeln!(
                s,
                "    memory {:#x}: native [{}] interpreter [{}]",
                d.addr,
                hex(&d.native),
                hex(&d.interp)
            );
        }
        if insn.op_count() > 0
            && (0..insn.op_count()).any(|i| insn.op_kind(i) == iced_x86::OpKind::Memory)
        {
            let g = native_gpr(pre);
            let ea = insn.virtual_address(0, 0, |r, _, _| reg_value(r, &g, pre));
            if let Some(ea) = ea {
                let mut b = vec![0u8; insn.memory_size().size().clamp(1, 16)];
                let ok = self.mem.peek(ea, &mut b);
                let _ = writeln!(
                    s,
                    "    memory operand at {ea:#x} (interpreter, after the step): {}",
                    if ok { hex(&b) } else { "unmapped".into() }
                );
            }
        }
        let _ = writeln!(s, "  previous instructions (oldest first):");
        for h in self.history.iter() {
            let _ = writeln!(s, "    {}", self.line(h));
        }
        let _ = writeln!(s, "  native registers before the instruction:");
        let g = native_gpr(pre);
        for row in 0..4 {
            let _ = write!(s, "   ");
            for i in row * 4..row * 4 + 4 {
                let _ = write!(s, " {:>3}={:#018x}", GPR_NAMES[i], g[i]);
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(
            s,
            "    rflags={:#x} ({})  fs_base={:#x}",
            pre.eflags,
            undef::names(pre.eflags),
            pre.fs_base
        );
        s
    }

    /// Compares the interpreter's state with the native state after `insn`;
    /// the list of differences.
    fn compare(&mut self, insn: &Instruction, pre: &Regs) -> Vec<String> {
        let mut d = Vec::new();
        let n = native_gpr(&self.regs);
        for i in 0..16 {
            if n[i] != self.cpu.gpr[i] {
                d.push(format!(
                    "{}: native {:#018x} interpreter {:#018x}",
                    GPR_NAMES[i], n[i], self.cpu.gpr[i]
                ));
            }
        }
        if self.regs.rip != self.cpu.rip {
            d.push(format!(
                "rip: native {:#x} interpreter {:#x}",
                self.regs.rip, self.cpu.rip
            ));
        }
        let pg = native_gpr(pre);
        let undefined = undef::undefined(insn, |r| reg_value(r, &pg, pre).unwrap_or(0));
        let checked = (flags::STATUS | flags::DF) & !undefined;
        let diff = (self.regs.eflags ^ self.cpu.rflags) & checked;
        if diff != 0 {
            d.push(format!(
                "flags: native {} | interpreter {} | differ: {}",
                undef::names(self.regs.eflags),
                undef::names(self.cpu.rflags),
                undef::names(diff)
            ));
        }
        if undefined != 0 {
            let m = format!("{:?}", insn.mnemonic()).to_lowercase();
            for bit in [
                flags::CF,
                flags::PF,
                flags::AF,
                flags::ZF,
                flags::SF,
                flags::OF,
            ] {
                if undefined & bit == 0 {
                    continue;
                }
                let e = self
                    .out
                    .undefined_seen
                    .entry((m.clone(), undef::names(bit)))
                    .or_default();
                e.executed += 1;
                if (self.regs.eflags ^ self.cpu.rflags) & bit != 0 {
                    if self.regs.eflags & bit != 0 {
                        e.cpu_set += 1;
                    } else {
                        e.cpu_clear += 1;
                    }
                }
            }
        }
        if self.regs.fs_base != self.cpu.fs_base {
            d.push(format!(
                "fs_base: native {:#x} interpreter {:#x}",
                self.regs.fs_base, self.cpu.fs_base
            ));
        }
        if self.regs.gs_base != self.cpu.gs_base {
            d.push(format!(
                "gs_base: native {:#x} interpreter {:#x}",
                self.regs.gs_base, self.cpu.gs_base
            ));
        }
        for i in 0..16 {
            let x = native_xmm(&self.fp, i);
            if x != self.cpu.xmm[i] {
                d.push(format!(
                    "xmm{i}: native {:#018x}_{:016x} interpreter {:#018x}_{:016x}",
                    x[1], x[0], self.cpu.xmm[i][1], self.cpu.xmm[i][0]
                ));
            }
        }
        self.compare_x87(&mut d);
        if self.fp.mxcsr != self.cpu.mxcsr {
            d.push(format!(
                "mxcsr: native {:#06x} interpreter {:#06x}",
                self.fp.mxcsr, self.cpu.mxcsr
            ));
        }
        d
    }

    /// The x87 part of [`Lockstep::compare`]: control word, stack top, which
    /// registers are empty, and the values of the full ones. The interpreter
    /// keeps registers as f64 (cpu.rs): a value is equal when the native
    /// 80-bit value rounded to f64 is within one f64 ulp of it. The status
    /// word's condition bits are not compared (undefined after most x87
    /// instructions).
    fn compare_x87(&self, d: &mut Vec<String>) {
        let n = cpu_from_native(&self.regs, &self.fp).x87;
        let i = &self.cpu.x87;
        if n.cw != i.cw {
            d.push(format!(
                "x87 control word: native {:#06x} interpreter {:#06x}",
                n.cw, i.cw
            ));
        }
        if n.top != i.top || n.empty != i.empty {
            d.push(format!(
                "x87 stack: native top {} empty {:08b} | interpreter top {} empty {:08b}",
                n.top, n.empty, i.top, i.empty
            ));
            return;
        }
        for k in 0..8 {
            let phys = (n.top as usize + k) % 8;
            if n.empty & (1 << phys) != 0 {
                continue;
            }
            let (a, b) = (n.st[phys], i.st[phys]);
            let close = a == b
                || (a.is_nan() && b.is_nan())
                || (a.is_finite()
                    && b.is_finite()
                    && a.signum() == b.signum()
                    && a.to_bits().abs_diff(b.to_bits()) <= 1);
            if !close {
                d.push(format!("st({k}): native {a:e} interpreter {b:e}"));
            }
        }
    }

    /// Takes the whole native state (after an instruction the interpreter
    /// skipped or got wrong, in survey mode).
    fn adopt_native(&mut self, memory: bool) {
        self.cpu = cpu_from_native(&self.regs, &self.fp);
        if memory {
            self.mem.sync(&self.t, true);
        }
    }

    fn writes_memory(&mut self, insn: &Instruction) -> bool {
        if insn.has_rep_prefix() || insn.has_repne_prefix() {
            return true;
        }
        self.info.info(insn).used_memory().iter().any(|m| {
            matches!(
                m.access(),
                OpAccess::Write
                    | OpAccess::CondWrite
                    | OpAccess::ReadWrite
                    | OpAccess::ReadCondWrite
            )
        })
    }

    /// Records an instruction the interpreter does not cover.
    fn note_unsupported(&mut self, insn: &Instruction) {
        let key = format!("{:?}", insn.mnemonic()).to_lowercase();
        let line = self.line(insn);
        let t = self.out.unsupported.entry(key).or_default();
        if t.count == 0 {
            t.first = line;
        }
        t.count += 1;
    }

    /// A difference: in strict mode the end of the run, in survey mode a
    /// tally and the native state taken over.
    fn diverge(
        &mut self,
        insn: &Instruction,
        pre: &Regs,
        what: Vec<String>,
        mem: Vec<MemDiff>,
    ) -> Option<End> {
        let report = self.report(insn, pre, &what, &mem);
        if self.out.divergence.is_none() {
            self.out.divergence = Some(report.clone());
        }
        match self.mode {
            Mode::Strict => Some(End::Diverged),
            Mode::Survey => {
                let key = format!("{:?}", insn.mnemonic()).to_lowercase();
                let t = self.out.wrong.entry(key).or_default();
                if t.count == 0 {
                    t.first = report;
                }
                t.count += 1;
                self.adopt_native(true);
                None
            }
        }
    }

    /// Runs to the end, the cap, or (strict) the first difference.
    fn run(&mut self) -> End {
        loop {
            if self.out.steps >= self.out.job.cap {
                return End::Cap;
            }
            let rip = self.regs.rip;
            assert_eq!(rip, self.cpu.rip, "the states are in sync before each step");
            let insn = match self.code.get(&mut self.mem, rip) {
                Ok(i) => i,
                Err(f) => {
                    // Report with a made-up instruction at rip: nothing decoded.
                    let mut b = [0u8; 16];
                    let n = self.t.read(rip, &mut b);
                    let fake = recompiler_lift::decode::decode_at(rip, &b[..n]);
                    let pre = self.regs;
                    let what = vec![format!(
                        "the interpreter cannot fetch the instruction: {f:?}"
                    )];
                    if let Some(e) = self.diverge(&fake, &pre, what, vec![]) {
                        return e;
                    }
                    // Survey: let the CPU run it and take its state.
                    self.out.steps += 1;
                    if let Err(e) = self.native_step(&fake, &pre) {
                        return e;
                    }
                    self.adopt_native(true);
                    continue;
                }
            };
            self.out.steps += 1;
            if self.mode == Mode::Survey && self.out.steps.is_multiple_of(1_000_000) {
                eprintln!("  [{}] {} instructions", self.out.job.name, self.out.steps);
            }
            if !sem::supported(&insn) {
                self.note_unsupported(&insn);
            }
            let pre = self.regs;
            match self.one(&insn, &pre) {
                Ok(()) => {}
                Err(e) => return e,
            }
            if self.history.len() == HISTORY {
                self.history.pop_front();
            }
            self.history.push_back(insn);
            match self.out.job.perturb {
                Some(Perturb::Rsp(n)) if n == self.out.steps => self.cpu.gpr[gpr::RSP] ^= 8,
                Some(Perturb::StackTop(n)) if n == self.out.steps => {
                    let top = self.t.maps().into_iter().find(|m| m.name == "[stack]");
                    let top = top.expect("the process has a [stack] mapping").end - 1;
                    self.mem.flip(top);
                }
                _ => {}
            }
        }
    }

    /// One instruction in both; `Err` ends the run.
    fn one(&mut self, insn: &Instruction, pre: &Regs) -> Result<(), End> {
        match insn.mnemonic() {
            // Instructions whose answer is the CPU model's: the interpreter
            // models the baseline CPU its cpuid reports, so these run in the
            // interpreter only and the native process is given its result.
            // cpuid: this host would report AVX etc. tzcnt/lzcnt (F3-prefixed
            // bsf/bsr, which compilers emit to run either way): the baseline
            // CPU has no BMI1/LZCNT and runs them as bsf/bsr, this host does
            // not (a zero source gives 64 and CF here, dest unchanged there).
            Mnemonic::Cpuid | Mnemonic::Tzcnt | Mnemonic::Lzcnt => {
                let leaf = self.cpu.gpr[gpr::RAX] as u32;
                match interp::step(&mut self.cpu, &mut self.mem, insn) {
                    Ok(()) => {}
                    Err(_) if self.mode == Mode::Survey && insn.mnemonic() == Mnemonic::Cpuid => {
                        let r = fallback_cpuid(leaf);
                        for (i, g) in [gpr::RAX, gpr::RBX, gpr::RCX, gpr::RDX]
                            .into_iter()
                            .enumerate()
                        {
                            self.cpu.gpr[g] = r[i] as u64;
                        }
                        self.cpu.rip = insn.next_ip();
                    }
                    Err(e) => {
                        let what = vec![format!(
                            "the interpreter stopped with {e:?} (this instruction's result must come from the interpreter's CPU model)"
                        )];
                        return match self.diverge(insn, pre, what, vec![]) {
                            Some(e) => Err(e),
                            None => Ok(()),
                        };
                    }
                }
                *self
                    .out
                    .interp_only
                    .entry(format!("{:?}", insn.mnemonic()).to_lowercase())
                    .or_default() += 1;
                let g = &self.cpu.gpr;
                let mut r = self.regs;
                (r.rax, r.rcx, r.rdx, r.rbx) = (g[0], g[1], g[2], g[3]);
                (r.rsp, r.rbp, r.rsi, r.rdi) = (g[4], g[5], g[6], g[7]);
                (r.r8, r.r9, r.r10, r.r11) = (g[8], g[9], g[10], g[11]);
                (r.r12, r.r13, r.r14, r.r15) = (g[12], g[13], g[14], g[15]);
                r.eflags = (r.eflags & !flags::STATUS) | (self.cpu.rflags & flags::STATUS);
                r.rip = self.cpu.rip;
                self.t.set_regs(&r);
                self.regs = self.t.regs();
                return self.check(insn, pre);
            }
            Mnemonic::Rdtsc | Mnemonic::Rdtscp => {
                self.native_step(insn, pre)?;
                self.cpu.gpr[gpr::RAX] = self.regs.rax;
                self.cpu.gpr[gpr::RDX] = self.regs.rdx;
                if insn.mnemonic() == Mnemonic::Rdtscp {
                    self.cpu.gpr[gpr::RCX] = self.regs.rcx;
                }
                self.cpu.rip = insn.next_ip();
                return self.check(insn, pre);
            }
            Mnemonic::Syscall => {
                self.out.syscalls += 1;
                let diffs = self.mem.diff_writable(&self.t, 8);
                if !diffs.is_empty() {
                    let what = vec!["writable memory differs before this system call".to_string()];
                    if let Some(e) = self.diverge(insn, pre, what, diffs) {
                        return Err(e);
                    }
                }
                self.native_step(insn, pre)?;
                let r = interp::step(&mut self.cpu, &mut self.mem, insn);
                if r != Err(Exit::Syscall) {
                    let what = vec![format!(
                        "the interpreter gave {r:?} for a syscall, not Exit::Syscall"
                    )];
                    if let Some(e) = self.diverge(insn, pre, what, vec![]) {
                        return Err(e);
                    }
                    return Ok(());
                }
                self.cpu.gpr[gpr::RAX] = self.regs.rax;
                self.cpu.gpr[gpr::RCX] = self.regs.rcx;
                self.cpu.gpr[gpr::R11] = self.regs.r11;
                // arch_prctl(ARCH_SET_FS) sets the TLS base.
                self.cpu.fs_base = self.regs.fs_base;
                self.cpu.gs_base = self.regs.gs_base;
                self.mem.sync(&self.t, true);
                self.fp = self.t.fpregs();
                return self.check(insn, pre);
            }
            _ => {}
        }
        self.mem.writes.clear();
        self.native_step(insn, pre)?;
        let mut r = interp::step(&mut self.cpu, &mut self.mem, insn);
        if let Err(Exit::Fault(f)) = r
            && f.kind == FaultKind::Unmapped
        {
            // The native process may have grown its stack: take the new
            // mappings and try again.
            self.mem.sync(&self.t, false);
            r = interp::step(&mut self.cpu, &mut self.mem, insn);
        }
        match r {
            Ok(()) => self.check(insn, pre),
            Err(Exit::Illegal) if self.mode == Mode::Survey => {
                self.note_unsupported_once(insn);
                let w = self.writes_memory(insn);
                self.adopt_native(w);
                Ok(())
            }
            Err(e) => {
                let what = if e == Exit::Illegal {
                    vec!["not covered by the interpreter (Exit::Illegal)".to_string()]
                } else {
                    vec![format!(
                        "the interpreter stopped with {e:?}; the CPU ran it"
                    )]
                };
                match self.diverge(insn, pre, what, vec![]) {
                    Some(e) => Err(e),
                    None => Ok(()),
                }
            }
        }
    }

    /// `sem::supported` said yes but the handler refused the operand form:
    /// count it as unsupported too.
    fn note_unsupported_once(&mut self, insn: &Instruction) {
        if sem::supported(insn) {
            let key = format!("{:?} (operand form)", insn.mnemonic()).to_lowercase();
            let line = self.line(insn);
            let t = self.out.unsupported.entry(key).or_default();
            if t.count == 0 {
                t.first = line;
            }
            t.count += 1;
        }
    }

    /// Single-steps the native process and reads its registers.
    fn native_step(&mut self, insn: &Instruction, pre: &Regs) -> Result<(), End> {
        // A string instruction with a repeat prefix traps after every
        // iteration under single-stepping: step until it is done.
        let repeats =
            insn.is_string_instruction() && (insn.has_rep_prefix() || insn.has_repne_prefix());
        let stop = if repeats && self.regs.rcx > 2 {
            self.t.run_to(insn.next_ip())
        } else {
            let mut stop = self.t.step();
            while repeats && stop == Stop::Stepped && self.t.regs().rip == insn.ip() {
                stop = self.t.step();
            }
            stop
        };
        match stop {
            Stop::Stepped => {
                self.regs = self.t.regs();
                if may_touch_fp(insn) {
                    self.fp = self.t.fpregs();
                }
                Ok(())
            }
            Stop::Exited(c) if insn.mnemonic() == Mnemonic::Syscall => Err(End::Exited(c)),
            stop => {
                let what = vec![format!("the native process stopped: {stop:?}")];
                let _ = self.diverge(insn, pre, what, vec![]);
                Err(match stop {
                    Stop::Exited(c) => End::Exited(c),
                    Stop::Killed(s) | Stop::Signal(s) => End::Signal(s),
                    Stop::Stepped => End::Diverged,
                })
            }
        }
    }

    /// Compares after a step; on agreement copies the native flags (the
    /// undefined ones may differ) into the interpreter.
    fn check(&mut self, insn: &Instruction, pre: &Regs) -> Result<(), End> {
        let what = self.compare(insn, pre);
        let mem = self.mem.diff_writes(&self.t);
        if what.is_empty() && mem.is_empty() {
            let keep = flags::STATUS | flags::DF;
            self.cpu.rflags = (self.cpu.rflags & !keep) | (self.regs.eflags & keep);
            return Ok(());
        }
        match self.diverge(insn, pre, what, mem) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Whether `insn` may change the x87/SSE state. Reading it costs a system
/// call, so it is read only after such instructions (and after every system
/// call); after any other the last copy is still the native state, and the
/// interpreter's x87/SSE state is compared against it all the same.
fn may_touch_fp(insn: &Instruction) -> bool {
    use iced_x86::CpuidFeature as F;
    let integer = |f: &F| {
        matches!(
            f,
            F::INTEL8086
                | F::INTEL8086_ONLY
                | F::INTEL186
                | F::INTEL286
                | F::INTEL386
                | F::INTEL486
                | F::X64
                | F::CMOV
                | F::CX8
                | F::CMPXCHG16B
                | F::BMI1
                | F::BMI2
                | F::ADX
                | F::LZCNT
                | F::POPCNT
                | F::MOVBE
                | F::MULTIBYTENOP
                | F::PAUSE
                | F::CPUID
                | F::TSC
                | F::RDTSCP
                | F::SYSCALL
                | F::CET_IBT
        )
    };
    !insn.cpuid_features().iter().all(integer)
}

/// The value of register `r` (any width) from native registers.
fn reg_value(r: Register, g: &[u64; 16], regs: &Regs) -> Option<u64> {
    match r {
        Register::None => Some(0),
        Register::RIP => Some(regs.rip),
        Register::FS => Some(regs.fs_base),
        Register::GS => Some(regs.gs_base),
        Register::ES | Register::CS | Register::SS | Register::DS => Some(0),
        Register::AH | Register::CH | Register::DH | Register::BH => {
            Some((g[r as usize - Register::AH as usize] >> 8) & 0xff)
        }
        _ if r.is_gpr() => {
            let v = g[r.full_register() as usize - Register::RAX as usize];
            Some(match r.size() {
                8 => v,
                4 => v & 0xffff_ffff,
                2 => v & 0xffff,
                _ => v & 0xff,
            })
        }
        _ => None,
    }
}

/// Hides the vDSO from the process (see [`AT_SYSINFO_EHDR`]): at the exec
/// stop the auxiliary vector sits above argv and envp on the stack.
fn hide_vdso(t: &Tracee, rsp: u64) {
    let word = |a: u64| {
        let mut b = [0u8; 8];
        assert_eq!(t.read(a, &mut b), 8, "read the initial stack at {a:#x}");
        u64::from_le_bytes(b)
    };
    let argc = word(rsp);
    let mut p = rsp + 8 + (argc + 1) * 8;
    while word(p) != 0 {
        p += 8;
    }
    p += 8;
    loop {
        let ty = word(p);
        if ty == 0 {
            break;
        }
        if ty == AT_SYSINFO_EHDR {
            t.poke(p, AT_IGNORE);
        }
        p += 16;
    }
}

/// Runs `job` in lock-step. `Err` if the process cannot be traced here.
pub fn run(
    busybox: &Path,
    job: &Job,
    env: &[String],
    cwd: &Path,
    mode: Mode,
) -> Result<Outcome, SpawnError> {
    let stdout = cwd.join(format!("{}.stdout", job.name));
    let stderr = cwd.join(format!("{}.stderr", job.name));
    let t = Tracee::spawn(busybox, &job.argv, env, cwd, &stdout, &stderr)?;
    let start = Instant::now();
    let regs = t.regs();
    hide_vdso(&t, regs.rsp);
    let fp = t.fpregs();
    let mut mem = PageMem::new();
    mem.sync(&t, true);
    let mut ls = Lockstep {
        cpu: cpu_from_native(&regs, &fp),
        t,
        mem,
        code: CodeCache::new(),
        regs,
        fp,
        history: VecDeque::with_capacity(HISTORY),
        mode,
        out: Outcome {
            job: job.clone(),
            steps: 0,
            syscalls: 0,
            elapsed: Duration::ZERO,
            end: End::Cap,
            divergence: None,
            wrong: BTreeMap::new(),
            unsupported: BTreeMap::new(),
            undefined_seen: BTreeMap::new(),
            interp_only: BTreeMap::new(),
        },
        info: InstructionInfoFactory::new(),
    };
    let end = ls.run();
    ls.out.end = end;
    ls.out.elapsed = start.elapsed();
    Ok(ls.out)
}
