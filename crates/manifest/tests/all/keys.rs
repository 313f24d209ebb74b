//! Key files: writing, reading, refusing to overwrite, and interoperating
//! with OpenSSL (skipped, with a note, where `openssl` is not installed).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use recompiler_manifest::sign::{
    SignError, key_id, load_signing_key, load_verifying_key, pae, public_key_path, write_key_pair,
    write_signing_key,
};

use crate::support::key;

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn openssl() -> Option<Command> {
    match Command::new("openssl").arg("version").output() {
        Ok(out) if out.status.success() => Some(Command::new("openssl")),
        _ => {
            eprintln!(
                "note: openssl is not installed; skipping the OpenSSL interoperability check"
            );
            None
        }
    }
}

fn run(mut cmd: Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn write_and_load_a_key_pair() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("build.key");
    let public = write_key_pair(&private, false).unwrap();
    assert_eq!(public, dir.path().join("build.key.pub"));
    assert_eq!(public, public_key_path(&private));
    assert_eq!(mode(&private), 0o600);
    assert_eq!(mode(&public), 0o644);
    let sk = load_signing_key(&private).unwrap();
    let vk = load_verifying_key(&public).unwrap();
    assert_eq!(sk.verifying_key(), vk);
    assert!(
        fs::read_to_string(&public)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----\n")
    );
    assert!(
        fs::read_to_string(&private)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
    // No temporary files left behind.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn existing_keys_are_not_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("build.key");
    write_key_pair(&private, false).unwrap();
    let before = fs::read(&private).unwrap();
    let err = write_key_pair(&private, false).unwrap_err();
    assert!(matches!(err, SignError::Exists { .. }), "{err}");
    assert!(
        err.to_string()
            .ends_with("build.key: already exists (pass --force to replace it)"),
        "{err}"
    );
    assert_eq!(fs::read(&private).unwrap(), before);

    // Only the public half exists: still refused, and nothing is written.
    let lone = dir.path().join("lone.key");
    fs::write(public_key_path(&lone), b"keep me").unwrap();
    assert!(matches!(
        write_key_pair(&lone, false),
        Err(SignError::Exists { .. })
    ));
    assert!(!lone.exists());
    assert_eq!(fs::read(public_key_path(&lone)).unwrap(), b"keep me");

    // With force, both are replaced by the new pair.
    let public = write_signing_key(&key(9), &private, true).unwrap();
    assert_eq!(
        load_signing_key(&private).unwrap().to_bytes(),
        key(9).to_bytes()
    );
    assert_eq!(load_verifying_key(&public).unwrap(), key(9).verifying_key());
    assert_eq!(mode(&private), 0o600);
}

#[test]
fn mixing_up_the_halves_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("build.key");
    let public = write_key_pair(&private, false).unwrap();
    let err = load_verifying_key(&private).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "key {} is a private key; pass the .pub file",
            private.display()
        )
    );
    let err = load_signing_key(&public).unwrap_err();
    assert!(matches!(err, SignError::PublicKeyGiven { .. }), "{err}");
    let err = load_signing_key(&dir.path().join("missing.key")).unwrap_err();
    assert!(matches!(err, SignError::Read { .. }), "{err}");
    assert!(
        err.to_string().contains("missing.key: cannot read it"),
        "{err}"
    );
    let not_text = dir.path().join("bin.key");
    fs::write(&not_text, [0xff, 0xfe, 0x00]).unwrap();
    assert!(matches!(
        load_signing_key(&not_text),
        Err(SignError::NotAKey { .. })
    ));
}

#[test]
fn openssl_derives_the_same_public_key() {
    let Some(mut cmd) = openssl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("build.key");
    let public = write_key_pair(&private, false).unwrap();
    cmd.arg("pkey").arg("-in").arg(&private).arg("-pubout");
    assert_eq!(
        String::from_utf8(run(cmd)).unwrap(),
        fs::read_to_string(&public).unwrap()
    );
}

#[test]
fn openssl_keys_load_and_openssl_verifies_our_signatures() {
    let Some(mut genpkey) = openssl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("ossl.key");
    let public = dir.path().join("ossl.key.pub");
    genpkey
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&private);
    run(genpkey);
    let mut pubout = Command::new("openssl");
    pubout
        .arg("pkey")
        .arg("-in")
        .arg(&private)
        .arg("-pubout")
        .arg("-out")
        .arg(&public);
    run(pubout);

    let sk = load_signing_key(&private).unwrap();
    let vk = load_verifying_key(&public).unwrap();
    assert_eq!(sk.verifying_key(), vk);
    assert!(key_id(&vk).starts_with("sha256:"));

    // A signature over a DSSE PAE made here verifies with `openssl pkeyutl`.
    use ed25519_dalek::Signer as _;
    let message = pae("application/vnd.in-toto+json", b"{\"hello\":\"world\"}");
    let msg_path = dir.path().join("msg");
    let sig_path = dir.path().join("sig");
    fs::write(&msg_path, &message).unwrap();
    fs::write(&sig_path, sk.sign(&message).to_bytes()).unwrap();
    let mut verify = Command::new("openssl");
    verify
        .args(["pkeyutl", "-verify", "-pubin", "-rawin", "-inkey"])
        .arg(&public)
        .arg("-in")
        .arg(&msg_path)
        .arg("-sigfile")
        .arg(&sig_path);
    let out = String::from_utf8(run(verify)).unwrap();
    assert!(out.contains("Signature Verified Successfully"), "{out}");
}
