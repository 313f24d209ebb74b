//! The instruction-level differential test: Debian's busybox single-stepped
//! on the real CPU under ptrace and, in lock-step, in the interpreter;
//! registers, defined flags, x87/SSE state and written memory compared after
//! every instruction (issue 6). Eight applets, 1.39M instructions; the first
//! difference of each is reported with the instruction, its bytes, every
//! differing register and the instructions before it.
//!
//! `cargo test -p recompiler-lift --test all ptrace -- --nocapture` runs it.
//! Environment knobs:
//! - `LIFT_PTRACE_SURVEY=1`: do not stop at a difference; run every applet to
//!   its end (at most 5M instructions each), taking the native state over
//!   each instruction the interpreter does not cover (or gets wrong), and
//!   print counts per mnemonic and the undefined flags met: what the
//!   semantics still lack. Passes whatever it finds.
//! - `LIFT_PTRACE_APPLET=<name>`: only the jobs whose name contains it.
//! - `LIFT_PTRACE_CAP=<n>`: instructions per job (default per job below).
//! - `LIFT_PTRACE_ARGV=<applet and arguments>`: run this instead of the
//!   jobs (cwd = the fixture directory, which holds text.txt, short.txt,
//!   blob.bin, small.bin, tree/); arguments are the lines of the value if it
//!   has several, else its words. E.g. `LIFT_PTRACE_ARGV='seq 1 0.5 9'`.
//!
//! What is not compared, and why: the x87 status word's condition bits
//! (undefined after most x87 instructions), x87 register values beyond one
//! f64 ulp (the interpreter keeps f64, cpu.rs), and flags the architecture
//! leaves undefined (`flags.rs`; they are copied from the CPU after each
//! compare so they cannot propagate).

mod fixture;
mod flags;
mod lockstep;
mod mem;
mod native;

use std::collections::BTreeMap;
use std::time::Instant;

use lockstep::{End, Job, Mode, Outcome, Perturb, Tally};

/// The whole test must compare at least this many instructions (the issue's
/// "Done when").
const MIN_TOTAL: u64 = 1_000_000;

/// The environment of every run: small and fixed. `rseq` is turned off
/// because the kernel writes the registered rseq area behind the program's
/// back (its CPU number), which the interpreter's memory cannot follow.
fn env() -> Vec<String> {
    [
        "PATH=/bin:/usr/bin",
        "HOME=/",
        "LANG=C",
        "TERM=dumb",
        "GLIBC_TUNABLES=glibc.pthread.rseq=0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn jobs(fx: &fixture::Fixtures) -> Vec<Job> {
    let p = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let job = |name: &str, cap: u64, args: &[&str]| Job {
        name: name.to_string(),
        argv: std::iter::once("busybox")
            .chain(args.iter().copied())
            .map(String::from)
            .collect(),
        cap,
        perturb: None,
    };
    let (text, short, blob, small, tree) = (
        p(&fx.text),
        p(&fx.short),
        p(&fx.blob),
        p(&fx.small),
        p(&fx.tree),
    );
    // Caps: the cheap runs go to their end (exit paths included), the
    // others stop after a share of the one-million-instruction total.
    vec![
        job("sha256sum", 400_000, &["sha256sum", &small]),
        job("ls", 250_000, &["ls", "-la", &tree]),
        job(
            "awk",
            400_000,
            &["awk", "{s+=$1} END {printf \"%.3f\\n\", s}", &short],
        ),
        job("sed", 400_000, &["sed", "s/a/b/g", &short]),
        // Doubles printed with printf's %e: glibc's printf_fp (and tzcnt).
        job("od", 300_000, &["od", "-t", "f8", "-N", "256", &small]),
        job("gzip", 120_000, &["gzip", "-c", &blob]),
        job("sort", 120_000, &["sort", &text]),
        job(
            "sh",
            120_000,
            &[
                "sh",
                "-c",
                "i=0; f() { echo \"$1:$((i * 7 % 13))\"; }; while [ $i -lt 40 ]; do f $i; i=$((i + 1)); done",
            ],
        ),
    ]
}

fn summary(o: &Outcome) -> String {
    let end = match &o.end {
        End::Exited(c) => format!("exited {c}"),
        End::Cap => "cap reached".to_string(),
        End::Diverged => "DIVERGED".to_string(),
        End::Signal(s) => format!("native signal {s}"),
    };
    format!(
        "{:<10} {:>9} instructions {:>6} syscalls {:>8.2?} ({:.1} µs/insn)  {end}",
        o.job.name,
        o.steps,
        o.syscalls,
        o.elapsed,
        o.elapsed.as_secs_f64() * 1e6 / o.steps.max(1) as f64
    )
}

fn merge(into: &mut BTreeMap<String, Tally>, from: &BTreeMap<String, Tally>, job: &str) {
    for (k, t) in from {
        let e = into.entry(k.clone()).or_default();
        if e.count == 0 {
            e.first = format!("[{job}] {}", t.first);
        }
        e.count += t.count;
    }
}

#[test]
fn busybox_lockstep_with_the_cpu() {
    let survey = std::env::var("LIFT_PTRACE_SURVEY").is_ok_and(|v| v == "1");
    let only = std::env::var("LIFT_PTRACE_APPLET").ok();
    let cap = std::env::var("LIFT_PTRACE_CAP").ok().map(|v| {
        v.parse::<u64>()
            .unwrap_or_else(|_| panic!("LIFT_PTRACE_CAP={v} is not a number"))
    });
    let mode = if survey { Mode::Survey } else { Mode::Strict };

    let busybox = fixture::busybox();
    let fx = fixture::fixtures();
    let mut jobs = jobs(fx);
    jobs.retain(|j| only.as_ref().is_none_or(|o| j.name.contains(o.as_str())));
    let adhoc = std::env::var("LIFT_PTRACE_ARGV").ok();
    if let Some(a) = &adhoc {
        // One argument a line if there are several lines, else words.
        let args: Vec<&str> = if a.contains('\n') {
            a.lines().collect()
        } else {
            a.split_whitespace().collect()
        };
        jobs = vec![Job {
            name: "adhoc".to_string(),
            argv: std::iter::once("busybox")
                .chain(args)
                .map(String::from)
                .collect(),
            cap: 5_000_000,
            perturb: None,
        }];
    }
    for j in &mut jobs {
        if let Some(c) = cap {
            j.cap = c;
        } else if survey {
            // Survey runs each applet to its end, or 5M instructions (a
            // few minutes: gzip of the 200 KB file is about 30M).
            j.cap = 5_000_000;
        }
    }
    let full = only.is_none() && cap.is_none() && adhoc.is_none();

    let started = Instant::now();
    let mut outcomes = Vec::new();
    for job in &jobs {
        match serial(|| lockstep::run(&busybox, job, &env(), &fx.dir, mode)) {
            Ok(o) => {
                println!("{}", summary(&o));
                outcomes.push(o);
            }
            Err(native::SpawnError::PtraceRefused) => {
                println!(
                    "SKIPPED: ptrace(PTRACE_TRACEME) is refused here (a restricted container); the lock-step test cannot run"
                );
                return;
            }
            Err(native::SpawnError::Other(e)) => {
                panic!("could not start `{}`: {e}", job.argv.join(" "))
            }
        }
    }
    let mut interp_only: BTreeMap<&str, u64> = BTreeMap::new();
    for o in &outcomes {
        for (m, n) in &o.interp_only {
            *interp_only.entry(m).or_default() += n;
        }
    }
    if !interp_only.is_empty() {
        let list: Vec<String> = interp_only
            .iter()
            .map(|(m, n)| format!("{m} {n}"))
            .collect();
        println!(
            "run in the interpreter only, the result given to the CPU (the baseline CPU model): {}",
            list.join(", ")
        );
    }
    let total: u64 = outcomes.iter().map(|o| o.steps).sum();
    println!("total: {total} instructions in {:.2?}", started.elapsed());

    let mut unsupported = BTreeMap::new();
    let mut wrong = BTreeMap::new();
    let mut undefined: BTreeMap<(String, String), lockstep::UndefinedFlag> = BTreeMap::new();
    for o in &outcomes {
        merge(&mut unsupported, &o.unsupported, &o.job.name);
        merge(&mut wrong, &o.wrong, &o.job.name);
        for (k, u) in &o.undefined_seen {
            let e = undefined.entry(k.clone()).or_default();
            e.executed += u.executed;
            e.cpu_set += u.cpu_set;
            e.cpu_clear += u.cpu_clear;
        }
    }
    // The survey shows every undefined flag met; the test only those on which
    // the interpreter differed.
    let shown: Vec<_> = undefined
        .iter()
        .filter(|(_, u)| survey || u.cpu_set + u.cpu_clear > 0)
        .collect();
    if !shown.is_empty() {
        println!(
            "\nundefined flags (masked in the compare, then copied from the CPU), and how often the interpreter differed:"
        );
        println!(
            "  {:<10} {:<4} {:>10} {:>18} {:>18}",
            "mnemonic", "flag", "undefined", "CPU 1, interp. 0", "CPU 0, interp. 1"
        );
        for ((m, f), u) in shown {
            println!(
                "  {m:<10} {f:<4} {:>10} {:>18} {:>18}",
                u.executed, u.cpu_set, u.cpu_clear
            );
        }
    }
    if !unsupported.is_empty() {
        println!(
            "\ninstructions executed that the interpreter does not cover (mnemonic, count, first seen):"
        );
        let mut v: Vec<_> = unsupported.iter().collect();
        v.sort_by_key(|(_, t)| std::cmp::Reverse(t.count));
        for (m, t) in v {
            println!("  {m:<22} {:>9}  {}", t.count, t.first);
        }
    }
    if survey {
        if !wrong.is_empty() {
            println!(
                "\ncovered instructions that gave a different result (mnemonic, count), first report of each:"
            );
            for (m, t) in &wrong {
                println!("  {m:<16} {:>9}", t.count);
            }
            for (m, t) in &wrong {
                println!("\n--- {m} ---\n{}", t.first);
            }
        }
        return;
    }

    let diverged: Vec<&Outcome> = outcomes.iter().filter(|o| o.divergence.is_some()).collect();
    if !diverged.is_empty() {
        let mut msg = String::new();
        for o in &diverged {
            msg.push_str(o.divergence.as_deref().unwrap_or_default());
            msg.push('\n');
        }
        panic!(
            "{} of {} runs diverged from the CPU; the first difference of each:\n\n{msg}",
            diverged.len(),
            outcomes.len()
        );
    }
    if full {
        assert!(
            total >= MIN_TOTAL,
            "only {total} instructions compared; the test must compare at least {MIN_TOTAL}"
        );
    }
}

/// Runs `ls -la` with a fault injected into the interpreter; the outcome.
fn perturbed(p: Perturb) -> Option<Outcome> {
    let busybox = fixture::busybox();
    let fx = fixture::fixtures();
    let mut job = jobs(fx)
        .into_iter()
        .find(|j| j.name == "ls")
        .expect("the ls job");
    job.name = format!("ls-{p:?}");
    job.cap = 50_000;
    job.perturb = Some(p);
    match serial(|| lockstep::run(&busybox, &job, &env(), &fx.dir, Mode::Strict)) {
        Ok(o) => Some(o),
        Err(native::SpawnError::PtraceRefused) => {
            println!("SKIPPED: ptrace(PTRACE_TRACEME) is refused here");
            None
        }
        Err(native::SpawnError::Other(e)) => panic!("could not start ls: {e}"),
    }
}

/// The harness is not vacuous: a wrong register is reported at once, at the
/// next instruction, naming the register.
#[test]
fn harness_reports_a_wrong_register() {
    let Some(o) = perturbed(Perturb::Rsp(1000)) else {
        return;
    };
    let report = o.divergence.unwrap_or_default();
    println!("{report}");
    assert_eq!(o.end, End::Diverged);
    assert_eq!(o.steps, 1001, "reported at the instruction after the fault");
    assert!(report.contains("rsp: native"), "the report names rsp");
}

/// Memory no instruction touches again is caught by the compare of writable
/// memory before the next system call.
#[test]
fn harness_reports_wrong_memory() {
    let Some(o) = perturbed(Perturb::StackTop(1000)) else {
        return;
    };
    let report = o.divergence.unwrap_or_default();
    println!("{report}");
    assert_eq!(o.end, End::Diverged);
    assert!(report.contains("writable memory differs before this system call"));
    assert!(report.contains("syscall"));
}

/// Runs one traced program at a time. The tests of this module run on parallel
/// threads; once, on a heavily loaded machine, both perturbed runs failed to
/// start ("could not start ls") while the other runs were being traced, and
/// did not fail alone. The runs are CPU-bound anyway, so nothing is lost.
fn serial<T>(f: impl FnOnce() -> T) -> T {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    f()
}
