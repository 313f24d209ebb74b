//! Lifted busybox (issue 6) against native busybox, in one run: start-up of
//! `busybox true`, and the slowdown of `sha256sum` and `gzip -c` of a 16 MiB
//! file and of `sort` of 200,000 lines.
//!
//! ```text
//! cargo bench -p recompiler-builder --bench busybox     # -- --quick: fewer runs, smaller files
//! ```
//!
//! The image (made with umoci, as in the busybox test) holds Debian's
//! busybox-static (`/bin/busybox`, the one installed on this machine, which is
//! also the native side) and the inputs under `/data`: `big.txt`, 16 MiB of
//! text (lines of words drawn by a small LCG: deterministic and compressible
//! about as prose is), and `lines.txt`, 200,000 such lines. The same files are
//! written to a host directory for the native runs. The image is built and
//! signed with `recompiler-build` and loaded into a `Runtime` in this process
//! (the pooling allocator, as the daemon; the code cache in a fresh temporary
//! directory, so the first load compiles: timed apart, with a second load from
//! the cache); the lifted runs are `Container::run` of `/bin/busybox`.
//!
//! Prints:
//! - start-up: `busybox true` lifted (the wall time of `Container::run`: the
//!   exec gate, process creation, instantiation, the guest runtime loading the
//!   ELF and busybox's run to `exit_group`, reaping; with the engine's own
//!   `instantiate` and `run` figures) against native (`std::process::Command`
//!   spawn + wait, stdout and stderr piped as the lifted side's are captured),
//!   alternated in blocks, median, p90 and p99, and the ratio;
//! - throughput: `busybox sha256sum big.txt`, `busybox gzip -c big.txt` and
//!   `busybox sort lines.txt`, lifted and native alternately (5 native runs;
//!   lifted runs until they have taken a minute, at least one), every output
//!   checked equal to the first native run's (stdout bytes, stderr, exit
//!   code), medians and the slowdown factor.
//!
//! The native busybox runs on the host's CPU with glibc's AVX2 string
//! functions; the lifted one sees the baseline CPU (SSE2) that the interpreter
//! reports through `cpuid`. busybox 1.35's hashes and gzip are plain C, with no
//! SHA-NI or vector paths, on both sides.

#[path = "../tests/all/image.rs"]
#[allow(
    dead_code,
    reason = "the tests' helper; the benchmark uses the image, keygen and build"
)]
mod image;

#[path = "../tests/all/umoci.rs"]
#[allow(
    dead_code,
    reason = "the tests' helper; the benchmark makes images only"
)]
mod umoci;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use recompiler_vkernel::container::{Container, ExecOutput, ExecRequest, Runtime};
use recompiler_vkernel::engine::EngineLimits;
use recompiler_vkernel::gate::CopyPolicy;
use recompiler_vkernel::kernel::Limits;

use crate::image::{Image, assert_ok, build, keygen, put, symlink};

/// The environment of both sides.
const ENV: &[(&str, &str)] = &[("PATH", "/bin:/usr/bin"), ("HOME", "/"), ("LC_ALL", "C")];

/// Where the inputs are in the container.
const DATA: &str = "/data";

/// Cap on the captured output of a lifted run: above any output here.
const OUTPUT_CAP: usize = 256 << 20;

/// How the run is sized.
struct Plan {
    /// Bytes of `big.txt`.
    big_bytes: usize,
    /// Lines of `lines.txt`.
    sort_lines: usize,
    /// `busybox true` runs per side, and warm-up runs per side before them.
    startups: usize,
    warmups: usize,
    /// Native runs of each throughput command; lifted runs of it too, except
    /// that the lifted side stops once its runs have taken [`LIFTED_BUDGET`].
    rounds: usize,
}

/// Lifted runs of a throughput command stop once they have taken this long
/// together (at least one runs): at the interpreter's speed one lifted
/// `gzip -c` of 16 MiB takes minutes. The shared machine's load moves one
/// lifted run by up to a third, which leaves the ratios' order unchanged.
const LIFTED_BUDGET: Duration = Duration::from_secs(60);

const FULL: Plan = Plan {
    big_bytes: 16 << 20,
    sort_lines: 200_000,
    startups: 200,
    warmups: 20,
    rounds: 5,
};

const QUICK: Plan = Plan {
    big_bytes: 1 << 20,
    sort_lines: 20_000,
    startups: 40,
    warmups: 5,
    rounds: 2,
};

/// A small deterministic generator (Knuth's MMIX LCG, high bits used).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "had",
    "they",
    "you",
    "were",
    "their",
    "one",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "kernel",
    "process",
    "memory",
    "signal",
    "container",
    "binary",
    "lifted",
    "native",
    "interpreter",
    "register",
    "syscall",
    "pipeline",
    "busybox",
    "archive",
    "checksum",
    "sorting",
];

/// One line of text: 3 to 14 words, sometimes a number among them.
fn line(rng: &mut Lcg, out: &mut Vec<u8>) {
    let words = 3 + rng.next(12);
    for i in 0..words {
        if i > 0 {
            out.push(b' ');
        }
        if rng.next(8) == 0 {
            out.extend_from_slice(rng.next(100_000).to_string().as_bytes());
        } else {
            out.extend_from_slice(WORDS[rng.next(WORDS.len())].as_bytes());
        }
    }
    out.push(b'\n');
}

/// `big.txt`: whole lines up to exactly `bytes` bytes (the last one cut).
fn big_text(bytes: usize) -> Vec<u8> {
    let mut rng = Lcg(0x5eed_0001);
    let mut out = Vec::with_capacity(bytes + 256);
    while out.len() < bytes {
        line(&mut rng, &mut out);
    }
    out.truncate(bytes);
    out
}

/// `lines.txt`: `n` lines.
fn sort_text(n: usize) -> Vec<u8> {
    let mut rng = Lcg(0x5eed_0002);
    let mut out = Vec::new();
    for _ in 0..n {
        line(&mut rng, &mut out);
    }
    out
}

/// The image: busybox with a few applet links, the inputs under /data; built
/// and signed into `dir/bundle`. Returns the bundle and the public key.
fn busybox_bundle(dir: &Path, inputs: &[(&str, &[u8])]) -> (PathBuf, PathBuf) {
    let busybox = std::fs::read("/bin/busybox")
        .expect("/bin/busybox (Debian's busybox-static; ./scripts/test installs it)");
    let mut image = Image::new(&dir.join("img"), "busybox");
    image.layer(|root| {
        put(root, "/bin/busybox", &busybox, 0o755);
        for applet in ["sh", "ls", "cat", "echo"] {
            symlink(root, &format!("/bin/{applet}"), "busybox");
        }
        for (name, data) in inputs {
            put(root, &format!("{DATA}/{name}"), data, 0o644);
        }
    });
    let (key, public) = keygen(dir, "build.key");
    let bundle = dir.join("bundle");
    assert_ok(&build(&image.oci(), &bundle, Some(&key), &[]));
    (bundle, public)
}

/// What one run gave: stdout, stderr, exit code.
type Outcome = (Vec<u8>, Vec<u8>, i32);

/// `busybox args` natively in `dir`, stdin empty, stdout and stderr piped.
fn native(args: &[&str], dir: &Path) -> (Outcome, Duration) {
    let mut cmd = Command::new("/bin/busybox");
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in ENV {
        cmd.env(k, v);
    }
    let t = Instant::now();
    let out = cmd.output().expect("/bin/busybox (busybox-static)");
    let elapsed = t.elapsed();
    let code = out.status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        128 + out.status.signal().unwrap_or(0)
    });
    ((out.stdout, out.stderr, code), elapsed)
}

/// `busybox args` lifted in the container, in /data, stdin empty.
fn lifted(container: &Container, args: &[&str]) -> (Outcome, Duration, ExecOutput) {
    let mut argv = vec!["busybox".to_string()];
    argv.extend(args.iter().map(|s| s.to_string()));
    let req = ExecRequest {
        path: "/bin/busybox".into(),
        argv,
        env: ENV
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        cwd: Some(DATA.into()),
        stdin: Vec::new(),
        timeout: Some(Duration::from_secs(3600)),
        output_cap: Some(OUTPUT_CAP),
    };
    let t = Instant::now();
    let out = container.run(&req).expect("the exec is allowed");
    let elapsed = t.elapsed();
    assert!(
        !out.stdout_truncated && !out.stderr_truncated,
        "busybox {args:?}: output over the cap"
    );
    (
        (out.stdout.clone(), out.stderr.clone(), out.exit_code()),
        elapsed,
        out,
    )
}

/// Panics, showing both sides, if the outcomes differ.
fn check(args: &[&str], native: &Outcome, lifted: &Outcome) {
    let show = |o: &Outcome| {
        let head = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(200)]).into_owned();
        format!(
            "exit {}, stdout {} bytes {:?}, stderr {:?}",
            o.2,
            o.0.len(),
            head(&o.0),
            head(&o.1)
        )
    };
    assert!(
        native == lifted,
        "busybox {args:?} differs:\n  native: {}\n  lifted: {}",
        show(native),
        show(lifted)
    );
    assert_eq!(native.2, 0, "busybox {args:?} failed: {}", show(native));
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

/// Median, p90, p99.
fn stats(mut samples: Vec<Duration>) -> [Duration; 3] {
    samples.sort();
    [0.5, 0.9, 0.99].map(|q| percentile(&samples, q))
}

/// The median; of an even count, the mean of the middle two.
fn median(samples: &[Duration]) -> Duration {
    let mut s = samples.to_vec();
    s.sort();
    let n = s.len();
    if n.is_multiple_of(2) {
        (s[n / 2 - 1] + s[n / 2]) / 2
    } else {
        s[n / 2]
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// A size for the table: bytes, or MiB from 1 MiB.
fn size(bytes: usize) -> String {
    if bytes < 1 << 20 {
        format!("{bytes} B")
    } else {
        format!("{:.2} MiB", mib(bytes))
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let plan = if quick { QUICK } else { FULL };
    let tmp = tempfile::tempdir().unwrap();

    // The inputs, on the host and in the image.
    let big = big_text(plan.big_bytes);
    let lines = sort_text(plan.sort_lines);
    let host_data = tmp.path().join("native-data");
    std::fs::create_dir_all(&host_data).unwrap();
    std::fs::write(host_data.join("big.txt"), &big).unwrap();
    std::fs::write(host_data.join("lines.txt"), &lines).unwrap();

    let t = Instant::now();
    let (bundle, public) = busybox_bundle(
        tmp.path(),
        &[("big.txt", &big[..]), ("lines.txt", &lines[..])],
    );
    let image_time = t.elapsed();
    let megabinary = std::fs::metadata(bundle.join("container.wasm"))
        .map(|m| m.len())
        .unwrap_or(0);

    let state = tmp.path().join("state");
    let key = recompiler_vkernel::bundle::load_trusted_key(&public).unwrap();
    let t = Instant::now();
    let runtime = Runtime::new(&state, EngineLimits::default(), true).unwrap();
    let loaded = runtime
        .load_bundle(&bundle, std::slice::from_ref(&key), CopyPolicy::ExactPath)
        .unwrap();
    let first_load = t.elapsed();
    let first_label = loaded.compile_label();
    // A second load of the same bundle: the code comes from the cache.
    let t = Instant::now();
    let again = runtime
        .load_bundle(&bundle, std::slice::from_ref(&key), CopyPolicy::ExactPath)
        .unwrap();
    let cached_load = t.elapsed();
    let cached_label = again.compile_label();
    drop(again);
    let container = Container::new("bench", Arc::clone(&loaded), Limits::default());

    println!(
        "busybox benchmark ({}): /bin/busybox {:.2} MiB, megabinary {:.2} MiB",
        if quick { "--quick" } else { "full" },
        mib(std::fs::metadata("/bin/busybox").unwrap().len() as usize),
        mib(megabinary as usize)
    );
    println!(
        "image made and built (umoci + recompiler-build): {:.1} s",
        image_time.as_secs_f64()
    );
    println!(
        "bundle load: first {:.2} s ({first_label}), second {:.3} s ({cached_label})\n",
        first_load.as_secs_f64(),
        cached_load.as_secs_f64()
    );

    // Start-up: `busybox true`, sides alternating in blocks so drift in the
    // machine's load falls on both.
    let args = ["true"];
    let (n, _) = native(&args, &host_data);
    let (l, _, _) = lifted(&container, &args);
    check(&args, &n, &l);
    for _ in 0..plan.warmups {
        native(&args, &host_data);
        lifted(&container, &args);
    }
    let block = 20.min(plan.startups);
    let (mut lift_wall, mut lift_inst, mut lift_run, mut native_wall) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for b in 0..plan.startups / block {
        for side in [b % 2, 1 - b % 2] {
            for _ in 0..block {
                if side == 0 {
                    let (o, wall, out) = lifted(&container, &args);
                    assert_eq!(o.2, 0, "lifted busybox true: {:?}", out.end);
                    lift_wall.push(wall);
                    lift_inst.push(out.instantiate);
                    lift_run.push(out.run);
                } else {
                    let (o, wall) = native(&args, &host_data);
                    assert_eq!(o.2, 0, "native busybox true");
                    native_wall.push(wall);
                }
            }
        }
    }
    let runs = lift_wall.len();
    let [lm, l90, l99] = stats(lift_wall);
    let [nm, n90, n99] = stats(native_wall);
    println!("start-up: busybox true, {runs} runs per side (median [p90, p99])");
    println!(
        "  lifted, Container::run            {:>9.1} us [{:.1}, {:.1}]",
        us(lm),
        us(l90),
        us(l99)
    );
    for (name, samples) in [("instantiate", lift_inst), ("run", lift_run)] {
        let [m, p90, p99] = stats(samples);
        println!(
            "    of which {name:<22} {:>9.1} us [{:.1}, {:.1}]",
            us(m),
            us(p90),
            us(p99)
        );
    }
    println!(
        "  native, spawn + wait              {:>9.1} us [{:.1}, {:.1}]",
        us(nm),
        us(n90),
        us(n99)
    );
    println!(
        "  ratio lifted / native: median x{:.2}, p90 x{:.2}, p99 x{:.2}\n",
        lm.as_secs_f64() / nm.as_secs_f64(),
        l90.as_secs_f64() / n90.as_secs_f64(),
        l99.as_secs_f64() / n99.as_secs_f64()
    );

    // Throughput: each command lifted and native, alternating, outputs checked.
    let jobs: [(&str, &[&str], usize); 3] = [
        ("sha256sum big.txt", &["sha256sum", "big.txt"], big.len()),
        ("gzip -c big.txt", &["gzip", "-c", "big.txt"], big.len()),
        ("sort lines.txt", &["sort", "lines.txt"], lines.len()),
    ];
    println!(
        "throughput: {} run(s) per side, medians; inputs big.txt {:.2} MiB, lines.txt {} lines ({:.2} MiB)",
        plan.rounds,
        mib(big.len()),
        plan.sort_lines,
        mib(lines.len())
    );
    println!(
        "  {:<20} {:>12} {:>12} {:>12} {:>10} {:>12} {:>11} {:>8}",
        "command",
        "native",
        "lifted",
        "lifted run",
        "slowdown",
        "lifted MB/s",
        "output",
        "runs n/l"
    );
    for (name, args, input) in jobs {
        // The page cache warm for the native side; the lifted side reads the
        // image from memory.
        let (reference, _) = native(args, &host_data);
        let (mut nat, mut lif, mut lif_run) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..plan.rounds {
            let mut sides = [0, 1];
            if round % 2 == 1 {
                sides.reverse();
            }
            for side in sides {
                if side == 0 {
                    let (o, wall) = native(args, &host_data);
                    check(args, &reference, &o);
                    nat.push(wall);
                } else if lif.iter().sum::<Duration>() < LIFTED_BUDGET {
                    let (o, wall, out) = lifted(&container, args);
                    check(args, &reference, &o);
                    eprintln!("  (lifted {name}: {:.1} s)", wall.as_secs_f64());
                    lif.push(wall);
                    lif_run.push(out.run);
                }
            }
        }
        let (n, l, r) = (median(&nat), median(&lif), median(&lif_run));
        println!(
            "  {:<20} {:>9.1} ms {:>9.1} ms {:>9.1} ms {:>9.1}x {:>12.3} {:>11} {:>5}/{}",
            name,
            ms(n),
            ms(l),
            ms(r),
            l.as_secs_f64() / n.as_secs_f64(),
            input as f64 / 1e6 / l.as_secs_f64(),
            size(reference.0.len()),
            nat.len(),
            lif.len()
        );
    }
}
