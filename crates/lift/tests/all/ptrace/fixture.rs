//! Test material: Debian's `busybox-static`, fetched once into the target's
//! temporary directory, and deterministic input files for the applets.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The path of Debian's static busybox, downloaded with `apt-get download
/// busybox-static` and unpacked with `dpkg-deb -x` on first use.
pub fn busybox() -> PathBuf {
    // Once per test process: the tests run on parallel threads, which share the
    // process id that names the download directory.
    static BUSYBOX: OnceLock<PathBuf> = OnceLock::new();
    BUSYBOX.get_or_init(fetch_busybox).clone()
}

fn fetch_busybox() -> PathBuf {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("busybox-static");
    let bin = cache.join("bin/busybox");
    if bin.is_file() {
        return bin;
    }
    // Unpack next to the cache and rename into place, so a concurrent run
    // never sees half a tree.
    let work = cache.with_extension(format!("partial-{}", std::process::id()));
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).expect("create the busybox download directory");
    run(
        Command::new("apt-get")
            .args(["download", "busybox-static"])
            .current_dir(&work),
        "apt-get download busybox-static",
    );
    let deb = fs::read_dir(&work)
        .expect("list the download directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .unwrap_or_else(|| {
            panic!(
                "`apt-get download busybox-static` left no .deb in {}",
                work.display()
            )
        });
    let root = work.join("root");
    run(
        Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root),
        "dpkg-deb -x busybox-static_*.deb",
    );
    if fs::rename(&root, &cache).is_err() && !bin.is_file() {
        panic!(
            "could not move the unpacked busybox-static to {}",
            cache.display()
        );
    }
    let _ = fs::remove_dir_all(&work);
    assert!(bin.is_file(), "busybox-static has no bin/busybox");
    bin
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("`{what}` could not be started: {e}"));
    assert!(
        out.status.success(),
        "`{what}` failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A small deterministic generator (xorshift64*), so every run feeds the
/// applets the same bytes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The input files, in a directory of their own.
pub struct Fixtures {
    pub dir: PathBuf,
    /// 400 lines of a number and words: for `sort`.
    pub text: PathBuf,
    /// Its first 25 lines: for `awk` and `sed` to run to their end.
    pub short: PathBuf,
    /// 200 KB of half text, half noise: for `gzip` (capped).
    pub blob: PathBuf,
    /// Its first 4 KB: for `sha256sum` to run to its end.
    pub small: PathBuf,
    /// A directory of a few files and a subdirectory: for `ls -la`.
    pub tree: PathBuf,
}

const WORDS: &[&str] = &[
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
];

/// The fixtures, written once per test process (the tests of this module
/// run in parallel and read them).
pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(write_fixtures)
}

/// Writes `data` to `path` unless the file already holds it, so a file
/// another test process is reading is never truncated under it.
fn write(path: &Path, data: &[u8]) {
    if fs::read(path).is_ok_and(|old| old == data) {
        return;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    fs::write(&tmp, data).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
    fs::rename(&tmp, path).unwrap_or_else(|e| panic!("rename to {}: {e}", path.display()));
}

/// Writes the fixtures (same bytes every time) under the target's temporary
/// directory.
fn write_fixtures() -> Fixtures {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ptrace-fixtures");
    fs::create_dir_all(&dir).expect("create the fixture directory");
    let mut rng = Rng::new(0x5eed_1234);

    let mut text = String::new();
    for _ in 0..400 {
        let n = rng.below(1_000_000) as f64 / 1000.0 - 250.0;
        text.push_str(&format!("{n:.3}"));
        for _ in 0..1 + rng.below(5) {
            text.push(' ');
            text.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        }
        text.push('\n');
    }
    let text_path = dir.join("text.txt");
    write(&text_path, text.as_bytes());
    let short: String = text.lines().take(25).flat_map(|l| [l, "\n"]).collect();
    let short_path = dir.join("short.txt");
    write(&short_path, short.as_bytes());

    let mut blob = Vec::with_capacity(200 * 1024);
    while blob.len() < 200 * 1024 {
        if rng.below(2) == 0 {
            let w = WORDS[rng.below(WORDS.len() as u64) as usize];
            blob.extend_from_slice(w.as_bytes());
            blob.push(b' ');
        } else {
            blob.extend_from_slice(&rng.next().to_le_bytes());
        }
    }
    blob.truncate(200 * 1024);
    let blob_path = dir.join("blob.bin");
    write(&blob_path, &blob);
    let small_path = dir.join("small.bin");
    write(&small_path, &blob[..4096]);

    let tree = dir.join("tree");
    fs::create_dir_all(tree.join("sub")).expect("create tree/sub");
    for (i, w) in WORDS.iter().take(8).enumerate() {
        write(
            &tree.join(format!("{w}.txt")),
            w.repeat(i * 37 + 1).as_bytes(),
        );
    }
    write(&tree.join("sub/inner"), b"inner\n");

    Fixtures {
        dir,
        text: text_path,
        short: short_path,
        blob: blob_path,
        small: small_path,
        tree,
    }
}
