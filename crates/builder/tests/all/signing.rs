//! `keygen`, signed builds, `verify` and `inspect`: the good bundle verifies, and
//! each kind of tampering is rejected with the check that failed named.

use std::path::Path;
use std::process::Output;

use crate::image::{assert_ok, build, keygen, recompiler_build, standard_image};

fn verify(dir: &Path, public: &Path, extra: &[&str]) -> Output {
    recompiler_build()
        .arg("verify")
        .arg("--manifest")
        .arg(dir.join("mapping.json"))
        .arg("--key")
        .arg(public)
        .args(extra)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn flip_byte(path: &Path, at: usize) {
    let mut data = std::fs::read(path).unwrap();
    let at = at.min(data.len() - 1);
    data[at] ^= 0x01;
    std::fs::write(path, data).unwrap();
}

#[test]
fn verify_accepts_the_good_bundle_and_rejects_each_tampering() {
    let tmp = tempfile::tempdir().unwrap();
    let image = standard_image(&tmp.path().join("img"));
    let (key, public) = keygen(tmp.path(), "build.key");
    let (_other_key, other_public) = keygen(tmp.path(), "other.key");
    let good = tmp.path().join("good");
    assert_ok(&build(
        &image.oci(),
        &good,
        Some(&key),
        &["--entry", "/usr/lib/reactor.wasm=run"],
    ));
    assert!(good.join("mapping.json.sig").exists());
    assert!(good.join("rootfs.tar").exists());

    let ok = verify(&good, &public, &[]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("OK: signature by sha256:"));

    // Another key.
    let out = verify(&good, &other_public, &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("key"), "{}", stderr(&out));

    // One flipped byte in the megabinary, the manifest, the image files.
    for (file, role) in [
        ("container.wasm", "megabinary"),
        ("mapping.json", "manifest"),
        ("rootfs.tar", "rootfs"),
    ] {
        let dir = tmp.path().join(format!("flip-{file}"));
        copy_bundle(&good, &dir);
        flip_byte(&dir.join(file), 200);
        let out = verify(&dir, &public, &[]);
        assert!(!out.status.success(), "{file} flipped but verify passed");
        let err = stderr(&out);
        assert!(err.contains(role) || err.contains(file), "{file}: {err}");
    }

    // A manifest from another build (same image, one more program added).
    let other = tmp.path().join("other");
    let extra = tmp.path().join("extra.wasm");
    std::fs::write(&extra, recompiler_testkit::guests::wasm("simd")).unwrap();
    assert_ok(&build(
        &image.oci(),
        &other,
        Some(&key),
        &[
            "--entry",
            "/usr/lib/reactor.wasm=run",
            "--add",
            &format!("/opt/simd={}", extra.display()),
        ],
    ));
    let mixed = tmp.path().join("mixed");
    copy_bundle(&good, &mixed);
    std::fs::copy(other.join("mapping.json"), mixed.join("mapping.json")).unwrap();
    let out = verify(&mixed, &public, &[]);
    assert!(
        !out.status.success(),
        "a manifest from another build verified"
    );
    assert!(stderr(&out).contains("manifest"), "{}", stderr(&out));

    // A signature by another key over the same files.
    let resigned = tmp.path().join("resigned");
    let (other_key, _) = keygen(tmp.path(), "third.key");
    assert_ok(&build(
        &image.oci(),
        &resigned,
        Some(&other_key),
        &["--entry", "/usr/lib/reactor.wasm=run"],
    ));
    let out = verify(&resigned, &public, &[]);
    assert!(
        !out.status.success(),
        "a bundle signed by another key verified"
    );

    // inspect shows the verdict.
    let out = recompiler_build()
        .args(["inspect", "--json", "--manifest"])
        .arg(good.join("mapping.json"))
        .arg("--key")
        .arg(&public)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["signature"]["status"], "verified");
    assert!(json["megabinary_programs"].as_array().unwrap().len() >= 11);
    let text = recompiler_build()
        .arg("inspect")
        .arg("--bundle")
        .arg(&good)
        .output()
        .unwrap();
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("/usr/bin/upper") && text.contains("-> /usr/bin/stdio_filter"),
        "{text}"
    );
}

fn copy_bundle(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in [
        "container.wasm",
        "mapping.json",
        "rootfs.tar",
        "mapping.json.sig",
    ] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
}

#[test]
fn keygen_refuses_to_overwrite_and_writes_a_private_file() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let (key, public) = keygen(tmp.path(), "k");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        std::fs::read_to_string(&public)
            .unwrap()
            .contains("BEGIN PUBLIC KEY")
    );
    let again = recompiler_build()
        .arg("keygen")
        .arg("--out")
        .arg(&key)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains(&key.display().to_string()),
        "{}",
        stderr(&again)
    );
}
