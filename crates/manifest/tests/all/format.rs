//! The byte-exact formats other programs depend on: pinned here so that a
//! change to them is a deliberate one (see the stability promise in
//! docs/recompiler-container-plan/manifest.md).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use recompiler_manifest::digest::FileRef;
use recompiler_manifest::schema::{ExecKind, Executable, ImageInfo, Manifest, SCHEMA};
use recompiler_manifest::sign::{BundleFiles, sign_bundle, verify_bundle};

use crate::support::key;

const H1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const H2: &str = "0123456789abcdef222222222222222222222222222222222222222222222222";

fn golden_manifest() -> Manifest {
    let file = |kind| Executable {
        kind,
        size: Some(20),
        mode: Some("0755".into()),
        sha256: Some(H1.into()),
        blake3: Some(H1.into()),
        ..Executable::default()
    };
    let mut executables = BTreeMap::new();
    executables.insert(
        "/usr/bin/cat".to_string(),
        Executable {
            blake3: Some(H2.into()),
            entry: Some("_start".into()),
            dispatch_id: Some("0123456789abcdef".into()),
            memory: Some("prog.0123456789abcdef.memory".into()),
            ..file(ExecKind::Wasm)
        },
    );
    executables.insert(
        "/bin/ls".to_string(),
        Executable {
            kind: ExecKind::Symlink,
            target: Some("/bin/busybox".into()),
            ..Executable::default()
        },
    );
    executables.insert(
        "/usr/bin/run.sh".to_string(),
        Executable {
            interpreter: Some("/bin/sh".into()),
            interpreter_arg: Some("-e".into()),
            ..file(ExecKind::Script)
        },
    );
    executables.insert(
        "/usr/bin/gcc".to_string(),
        Executable {
            status: Some("needs-lifting".into()),
            note: Some("static x86-64".into()),
            ..file(ExecKind::Elf)
        },
    );
    executables.insert("/usr/bin/blob".to_string(), file(ExecKind::Other));
    Manifest {
        schema: SCHEMA.into(),
        image: ImageInfo {
            reference: "oci:img:latest".into(),
            digest: format!("sha256:{H1}"),
            config_digest: format!("sha256:{H1}"),
            platform: "linux/amd64".into(),
        },
        megabinary: FileRef {
            name: "container.wasm".into(),
            size: 123,
            sha256: H1.into(),
            blake3: H1.into(),
        },
        rootfs: FileRef {
            name: "rootfs.tar".into(),
            size: 456,
            sha256: H1.into(),
            blake3: H1.into(),
        },
        executables,
    }
}

const GOLDEN: &str = r#"{
  "schema": "recompiler.manifest/v1",
  "image": {
    "reference": "oci:img:latest",
    "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
    "config_digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
    "platform": "linux/amd64"
  },
  "megabinary": {
    "name": "container.wasm",
    "size": 123,
    "sha256": "1111111111111111111111111111111111111111111111111111111111111111",
    "blake3": "1111111111111111111111111111111111111111111111111111111111111111"
  },
  "rootfs": {
    "name": "rootfs.tar",
    "size": 456,
    "sha256": "1111111111111111111111111111111111111111111111111111111111111111",
    "blake3": "1111111111111111111111111111111111111111111111111111111111111111"
  },
  "executables": {
    "/bin/ls": {
      "kind": "symlink",
      "target": "/bin/busybox"
    },
    "/usr/bin/blob": {
      "kind": "other",
      "size": 20,
      "mode": "0755",
      "sha256": "1111111111111111111111111111111111111111111111111111111111111111",
      "blake3": "1111111111111111111111111111111111111111111111111111111111111111"
    },
    "/usr/bin/cat": {
      "kind": "wasm",
      "size": 20,
      "mode": "0755",
      "sha256": "1111111111111111111111111111111111111111111111111111111111111111",
      "blake3": "0123456789abcdef222222222222222222222222222222222222222222222222",
      "entry": "_start",
      "dispatch_id": "0123456789abcdef",
      "memory": "prog.0123456789abcdef.memory"
    },
    "/usr/bin/gcc": {
      "kind": "elf",
      "size": 20,
      "mode": "0755",
      "sha256": "1111111111111111111111111111111111111111111111111111111111111111",
      "blake3": "1111111111111111111111111111111111111111111111111111111111111111",
      "status": "needs-lifting",
      "note": "static x86-64"
    },
    "/usr/bin/run.sh": {
      "kind": "script",
      "size": 20,
      "mode": "0755",
      "sha256": "1111111111111111111111111111111111111111111111111111111111111111",
      "blake3": "1111111111111111111111111111111111111111111111111111111111111111",
      "interpreter": "/bin/sh",
      "interpreter_arg": "-e"
    }
  }
}
"#;

#[test]
fn manifest_canonical_encoding_is_pinned() {
    let m = golden_manifest();
    m.validate().unwrap();
    assert_eq!(String::from_utf8(m.to_canonical_json()).unwrap(), GOLDEN);
    let back = Manifest::from_json(GOLDEN.as_bytes()).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.to_canonical_json(), GOLDEN.as_bytes());
}

#[test]
fn signed_statement_is_pinned() {
    let files = BundleFiles {
        megabinary: ("container.wasm", b"wasm"),
        manifest: ("mapping.json", GOLDEN.as_bytes()),
        rootfs: ("rootfs.tar", b"tar"),
    };
    let env = sign_bundle(&key(5), &files, "oci:img:latest", &format!("sha256:{H1}"));
    let v: serde_json::Value = serde_json::from_slice(&env).unwrap();
    let payload =
        String::from_utf8(STANDARD.decode(v["payload"].as_str().unwrap()).unwrap()).unwrap();
    let d = |data: &[u8]| recompiler_manifest::digest::Digests::of(data);
    let (w, m, r) = (d(b"wasm"), d(GOLDEN.as_bytes()), d(b"tar"));
    let expected = format!(
        concat!(
            r#"{{"_type":"https://in-toto.io/Statement/v1","subject":["#,
            r#"{{"name":"container.wasm","digest":{{"sha256":"{}","blake3":"{}"}}}},"#,
            r#"{{"name":"mapping.json","digest":{{"sha256":"{}","blake3":"{}"}}}},"#,
            r#"{{"name":"rootfs.tar","digest":{{"sha256":"{}","blake3":"{}"}}}}],"#,
            r#""predicateType":"https://recompiler.dev/bundle/v1","predicate":{{"roles":{{"megabinary":"container.wasm","manifest":"mapping.json","rootfs":"rootfs.tar"}},"#,
            r#""image":{{"reference":"oci:img:latest","digest":"sha256:{}"}}}}}}"#
        ),
        w.sha256, w.blake3, m.sha256, m.blake3, r.sha256, r.blake3, H1
    );
    assert_eq!(payload, expected);
    // The envelope's keys in DSSE order, compact, newline-terminated.
    let text = String::from_utf8(env.clone()).unwrap();
    let keyid = recompiler_manifest::sign::key_id(&key(5).verifying_key());
    assert!(
        text.starts_with(r#"{"payloadType":"application/vnd.in-toto+json","payload":""#),
        "{text}"
    );
    assert!(
        text.contains(&format!(r#""signatures":[{{"keyid":"{keyid}","sig":""#)),
        "{text}"
    );
    assert!(text.ends_with("\"}]}\n"), "{text}");
    // The golden manifest's megabinary and rootfs records do not describe
    // b"wasm" and b"tar": the signature holds, the manifest check does not.
    assert!(matches!(
        verify_bundle(&key(5).verifying_key(), &env, &files),
        Err(recompiler_manifest::sign::VerifyError::ManifestMismatch {
            role: "megabinary",
            ..
        })
    ));
}
