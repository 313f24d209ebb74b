//! `verify_bundle`: a good bundle passes, and each way of breaking one is
//! caught by the check meant for it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer as _;
use recompiler_manifest::digest::Digests;
use recompiler_manifest::sign::{
    BundleFiles, PAYLOAD_TYPE, SigningKey, VerifyError, key_id, pae, sign_bundle, verify_bundle,
};
use serde_json::{Value, json};

use crate::support::{Build, IMAGE_REF, key};

fn envelope_value(env: &[u8]) -> Value {
    serde_json::from_slice(env).unwrap()
}

fn statement_of(env: &[u8]) -> Value {
    let v = envelope_value(env);
    serde_json::from_slice(&STANDARD.decode(v["payload"].as_str().unwrap()).unwrap()).unwrap()
}

/// An envelope around `payload`, signed by `signer` (labelled `keyid`).
fn envelope(payload_type: &str, payload: &[u8], signer: &SigningKey, keyid: &str) -> Vec<u8> {
    let sig = signer.sign(&pae(payload_type, payload));
    serde_json::to_vec(&json!({
        "payloadType": payload_type,
        "payload": STANDARD.encode(payload),
        "signatures": [{"keyid": keyid, "sig": STANDARD.encode(sig.to_bytes())}],
    }))
    .unwrap()
}

/// Re-signs an edited statement with the trusted key.
fn resign(statement: &Value, signer: &SigningKey) -> Vec<u8> {
    let payload = serde_json::to_vec(statement).unwrap();
    envelope(
        PAYLOAD_TYPE,
        &payload,
        signer,
        &key_id(&signer.verifying_key()),
    )
}

fn flip(data: &[u8], at: usize) -> Vec<u8> {
    let mut out = data.to_vec();
    out[at] ^= 0x01;
    out
}

#[test]
fn good_bundle_is_accepted() {
    let b = Build::new("a");
    let k = key(1);
    let env = b.sign(&k);
    let v = verify_bundle(&k.verifying_key(), &env, &b.files()).unwrap();
    assert_eq!(v.key_id, key_id(&k.verifying_key()));
    assert_eq!(v.image_reference, IMAGE_REF);
    assert_eq!(v.image_digest, b.image_digest);
    assert_eq!(v.megabinary.name, "container.wasm");
    assert_eq!(v.megabinary.size, b.megabinary.len() as u64);
    assert_eq!(v.megabinary.blake3, Digests::of(&b.megabinary).blake3);
    assert_eq!(v.manifest_file.name, "mapping.json");
    assert_eq!(v.manifest_file.sha256, Digests::of(&b.manifest).sha256);
    assert_eq!(v.rootfs.name, "rootfs.tar");
    assert_eq!(
        v.manifest.lookup("/usr/bin/prog").unwrap().entry.as_deref(),
        Some("_start")
    );
    // Signing is deterministic.
    assert_eq!(env, b.sign(&k));
}

#[test]
fn statement_names_subjects_and_roles() {
    let b = Build::new("a");
    let s = statement_of(&b.sign(&key(1)));
    assert_eq!(s["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(s["predicateType"], "https://recompiler.dev/bundle/v1");
    let names: Vec<&str> = s["subject"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["container.wasm", "mapping.json", "rootfs.tar"]);
    let d = Digests::of(&b.rootfs);
    assert_eq!(
        s["subject"][2]["digest"],
        json!({"sha256": d.sha256, "blake3": d.blake3})
    );
    assert_eq!(
        s["predicate"],
        json!({
            "roles": {"megabinary": "container.wasm", "manifest": "mapping.json", "rootfs": "rootfs.tar"},
            "image": {"reference": IMAGE_REF, "digest": b.image_digest},
        })
    );
}

#[test]
fn one_flipped_byte_in_each_file_is_caught() {
    let b = Build::new("a");
    let k = key(1);
    let env = b.sign(&k);
    let vk = k.verifying_key();
    for (role, at) in [
        ("megabinary", 0),
        ("megabinary", b.megabinary.len() - 1),
        ("manifest", 10),
        ("rootfs", 5000),
    ] {
        let mega = if role == "megabinary" {
            flip(&b.megabinary, at)
        } else {
            b.megabinary.clone()
        };
        let man = if role == "manifest" {
            flip(&b.manifest, at)
        } else {
            b.manifest.clone()
        };
        let root = if role == "rootfs" {
            flip(&b.rootfs, at)
        } else {
            b.rootfs.clone()
        };
        let files = BundleFiles {
            megabinary: ("container.wasm", &mega),
            manifest: ("mapping.json", &man),
            rootfs: ("rootfs.tar", &root),
        };
        match verify_bundle(&vk, &env, &files) {
            Err(VerifyError::DigestMismatch {
                role: r,
                algorithm: "sha256",
                expected,
                actual,
                ..
            }) => {
                assert_eq!(r, role);
                assert_ne!(expected, actual);
            }
            other => panic!("{role} byte {at}: expected a sha256 mismatch, got {other:?}"),
        }
    }
    let mega = flip(&b.megabinary, 3);
    let files = BundleFiles {
        megabinary: ("container.wasm", &mega),
        ..b.files()
    };
    let err = verify_bundle(&vk, &env, &files).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "megabinary container.wasm: sha256 does not match the signed statement (signed "
        ),
        "{err}"
    );
    assert!(
        err.contains(&format!(", file {})", Digests::of(&mega).sha256)),
        "{err}"
    );
}

#[test]
fn a_different_size_is_caught_too() {
    let b = Build::new("a");
    let k = key(1);
    let env = b.sign(&k);
    let short = &b.rootfs[..b.rootfs.len() - 1];
    let files = BundleFiles {
        rootfs: ("rootfs.tar", short),
        ..b.files()
    };
    assert!(matches!(
        verify_bundle(&k.verifying_key(), &env, &files),
        Err(VerifyError::DigestMismatch { role: "rootfs", .. })
    ));
}

#[test]
fn a_manifest_from_another_build_is_rejected() {
    let a = Build::new("a");
    let other = Build::new("b");
    let k = key(1);
    let vk = k.verifying_key();
    // A's signature with B's manifest.
    let files = BundleFiles {
        manifest: ("mapping.json", &other.manifest),
        ..a.files()
    };
    assert!(matches!(
        verify_bundle(&vk, &a.sign(&k), &files),
        Err(VerifyError::DigestMismatch {
            role: "manifest",
            ..
        })
    ));
    // B's signature and manifest with A's megabinary.
    let files = BundleFiles {
        megabinary: ("container.wasm", &a.megabinary),
        ..other.files()
    };
    assert!(matches!(
        verify_bundle(&vk, &other.sign(&k), &files),
        Err(VerifyError::DigestMismatch {
            role: "megabinary",
            ..
        })
    ));
    // Even when the trusted key signed that mix: the manifest must describe
    // the megabinary and rootfs it is signed with.
    let mixed = BundleFiles {
        manifest: ("mapping.json", &other.manifest),
        ..a.files()
    };
    let env = sign_bundle(&k, &mixed, IMAGE_REF, &other.image_digest);
    match verify_bundle(&vk, &env, &mixed) {
        Err(VerifyError::ManifestMismatch {
            role: "megabinary",
            field,
            ..
        }) => assert_eq!(field, "sha256"),
        other => panic!("expected a manifest mismatch, got {other:?}"),
    }
    let mixed_rootfs = BundleFiles {
        rootfs: ("rootfs.tar", &other.rootfs),
        ..a.files()
    };
    let env = sign_bundle(&k, &mixed_rootfs, IMAGE_REF, &a.image_digest);
    assert!(matches!(
        verify_bundle(&vk, &env, &mixed_rootfs),
        Err(VerifyError::ManifestMismatch { role: "rootfs", .. })
    ));
    // And it must be of the image the statement names.
    let env = sign_bundle(&k, &a.files(), IMAGE_REF, &other.image_digest);
    let err = verify_bundle(&vk, &env, &a.files()).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::ManifestMismatch {
                role: "image",
                field: "digest",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_signature_by_another_key_is_rejected() {
    let b = Build::new("a");
    let trusted = key(1);
    let other = key(2);
    let env = b.sign(&other);
    match verify_bundle(&trusted.verifying_key(), &env, &b.files()) {
        Err(e @ VerifyError::KeyMismatch { .. }) => {
            let VerifyError::KeyMismatch { expected, found } = &e else {
                unreachable!()
            };
            assert_eq!(expected, &key_id(&trusted.verifying_key()));
            assert_eq!(found, &[key_id(&other.verifying_key())]);
            assert_eq!(
                e.to_string(),
                format!(
                    "signed by key {}, not by the trusted key {}",
                    key_id(&other.verifying_key()),
                    key_id(&trusted.verifying_key())
                )
            );
        }
        other => panic!("expected a key mismatch, got {other:?}"),
    }
}

#[test]
fn another_key_claiming_our_key_id_is_rejected() {
    let b = Build::new("a");
    let trusted = key(1);
    let payload = STANDARD
        .decode(
            envelope_value(&b.sign(&trusted))["payload"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let forged = envelope(
        PAYLOAD_TYPE,
        &payload,
        &key(2),
        &key_id(&trusted.verifying_key()),
    );
    assert!(matches!(
        verify_bundle(&trusted.verifying_key(), &forged, &b.files()),
        Err(VerifyError::BadSignature { .. })
    ));
}

#[test]
fn a_corrupted_signature_is_rejected() {
    let b = Build::new("a");
    let k = key(1);
    let mut v = envelope_value(&b.sign(&k));
    let mut sig = STANDARD
        .decode(v["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    sig[10] ^= 0x80;
    v["signatures"][0]["sig"] = json!(STANDARD.encode(&sig));
    let err = verify_bundle(
        &k.verifying_key(),
        &serde_json::to_vec(&v).unwrap(),
        &b.files(),
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::BadSignature { .. }), "{err}");
    assert!(
        err.to_string()
            .ends_with("does not verify: the signature does not match the signed payload"),
        "{err}"
    );

    // Truncated, and not base64 at all.
    for bad in [STANDARD.encode(&sig[..63]), "!!!".to_string()] {
        v["signatures"][0]["sig"] = json!(bad);
        let err = verify_bundle(
            &k.verifying_key(),
            &serde_json::to_vec(&v).unwrap(),
            &b.files(),
        )
        .unwrap_err();
        assert!(matches!(err, VerifyError::BadSignature { .. }), "{err}");
    }
}

#[test]
fn an_edited_payload_is_rejected() {
    let b = Build::new("a");
    let k = key(1);
    let mut v = envelope_value(&b.sign(&k));
    let mut statement = statement_of(&b.sign(&k));
    statement["predicate"]["image"]["reference"] = json!("oci:evil:latest");
    v["payload"] = json!(STANDARD.encode(serde_json::to_vec(&statement).unwrap()));
    assert!(matches!(
        verify_bundle(
            &k.verifying_key(),
            &serde_json::to_vec(&v).unwrap(),
            &b.files()
        ),
        Err(VerifyError::BadSignature { .. })
    ));
}

#[test]
fn a_truncated_envelope_is_rejected() {
    let b = Build::new("a");
    let k = key(1);
    let env = b.sign(&k);
    for len in [0, 1, env.len() / 2, env.len() - 3] {
        let err = verify_bundle(&k.verifying_key(), &env[..len], &b.files()).unwrap_err();
        assert!(
            matches!(err, VerifyError::Envelope(_)),
            "length {len}: {err}"
        );
    }
    let err = verify_bundle(&k.verifying_key(), b"{\"payloadType\":1}", &b.files()).unwrap_err();
    assert!(matches!(err, VerifyError::Envelope(_)), "{err}");
}

#[test]
fn a_wrong_payload_type_is_rejected() {
    let b = Build::new("a");
    let k = key(1);
    let mut v = envelope_value(&b.sign(&k));
    v["payloadType"] = json!("application/json");
    let err = verify_bundle(
        &k.verifying_key(),
        &serde_json::to_vec(&v).unwrap(),
        &b.files(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, VerifyError::PayloadType { found } if found == "application/json"),
        "{err}"
    );
    // Signing over another payload type does not help either.
    let payload = STANDARD.decode(v["payload"].as_str().unwrap()).unwrap();
    let env = envelope(
        "application/json",
        &payload,
        &k,
        &key_id(&k.verifying_key()),
    );
    assert!(matches!(
        verify_bundle(&k.verifying_key(), &env, &b.files()),
        Err(VerifyError::PayloadType { .. })
    ));
}

#[test]
fn no_signatures() {
    let b = Build::new("a");
    let k = key(1);
    let mut v = envelope_value(&b.sign(&k));
    v["signatures"] = json!([]);
    let err = verify_bundle(
        &k.verifying_key(),
        &serde_json::to_vec(&v).unwrap(),
        &b.files(),
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::Unsigned), "{err}");
}

#[test]
fn a_second_signature_by_another_key_is_ignored() {
    let b = Build::new("a");
    let k = key(1);
    let mut v = envelope_value(&b.sign(&k));
    let theirs = envelope_value(&b.sign(&key(2)));
    v["signatures"]
        .as_array_mut()
        .unwrap()
        .insert(0, theirs["signatures"][0].clone());
    verify_bundle(
        &k.verifying_key(),
        &serde_json::to_vec(&v).unwrap(),
        &b.files(),
    )
    .unwrap();
}

#[test]
fn statements_of_another_kind_are_rejected() {
    let b = Build::new("a");
    let k = key(1);
    let good = statement_of(&b.sign(&k));
    let vk = k.verifying_key();

    let mut s = good.clone();
    s["_type"] = json!("https://in-toto.io/Statement/v0.1");
    assert!(matches!(
        verify_bundle(&vk, &resign(&s, &k), &b.files()),
        Err(VerifyError::StatementType { .. })
    ));

    let mut s = good.clone();
    s["predicateType"] = json!("https://slsa.dev/provenance/v1");
    let err = verify_bundle(&vk, &resign(&s, &k), &b.files()).unwrap_err();
    assert!(matches!(err, VerifyError::PredicateType { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("\"https://slsa.dev/provenance/v1\""),
        "{err}"
    );

    let mut s = good.clone();
    s["predicate"]["roles"]["rootfs"] = json!("elsewhere.tar");
    assert!(matches!(
        verify_bundle(&vk, &resign(&s, &k), &b.files()),
        Err(VerifyError::MissingSubject { role: "rootfs", .. })
    ));

    let mut s = good.clone();
    s["subject"][0]["digest"]
        .as_object_mut()
        .unwrap()
        .remove("blake3");
    assert!(matches!(
        verify_bundle(&vk, &resign(&s, &k), &b.files()),
        Err(VerifyError::MissingDigest {
            role: "megabinary",
            algorithm: "blake3",
            ..
        })
    ));

    // Roles swapped: the rootfs bytes are checked against the megabinary's subject.
    let mut s = good.clone();
    s["predicate"]["roles"]["megabinary"] = json!("rootfs.tar");
    s["predicate"]["roles"]["rootfs"] = json!("container.wasm");
    assert!(matches!(
        verify_bundle(&vk, &resign(&s, &k), &b.files()),
        Err(VerifyError::DigestMismatch {
            role: "megabinary",
            ..
        })
    ));

    let mut s = good.clone();
    let dup = s["subject"][0].clone();
    s["subject"].as_array_mut().unwrap().push(dup);
    assert!(matches!(
        verify_bundle(&vk, &resign(&s, &k), &b.files()),
        Err(VerifyError::Statement(_))
    ));

    let mut s = good;
    s.as_object_mut().unwrap().remove("predicate");
    assert!(matches!(
        verify_bundle(&vk, &resign(&s, &k), &b.files()),
        Err(VerifyError::Statement(_))
    ));

    let env = envelope(PAYLOAD_TYPE, b"not json", &k, &key_id(&vk));
    assert!(matches!(
        verify_bundle(&vk, &env, &b.files()),
        Err(VerifyError::Statement(_))
    ));
}

#[test]
fn a_signed_manifest_must_parse_and_validate() {
    let b = Build::new("a");
    let k = key(1);
    let vk = k.verifying_key();
    let garbage = b"{\"schema\":\"recompiler.manifest/v0\"}".to_vec();
    let files = BundleFiles {
        manifest: ("mapping.json", &garbage),
        ..b.files()
    };
    let env = sign_bundle(&k, &files, IMAGE_REF, &b.image_digest);
    let err = verify_bundle(&vk, &env, &files).unwrap_err();
    assert!(matches!(err, VerifyError::Manifest(_)), "{err}");
    assert!(
        err.to_string()
            .starts_with("signed manifest has schema \"recompiler.manifest/v0\""),
        "{err}"
    );

    let mut m: Value = serde_json::from_slice(&b.manifest).unwrap();
    m["executables"]["/bin/prog"]["target"] = json!("prog");
    let invalid = serde_json::to_vec(&m).unwrap();
    let files = BundleFiles {
        manifest: ("mapping.json", &invalid),
        ..b.files()
    };
    let env = sign_bundle(&k, &files, IMAGE_REF, &b.image_digest);
    assert!(matches!(
        verify_bundle(&vk, &env, &files),
        Err(VerifyError::Manifest(_))
    ));
}

#[test]
fn names_given_to_verify_do_not_decide_roles() {
    // Files renamed on disk (e.g. stored by digest) still verify: the signed
    // roles say which subject is which.
    let b = Build::new("a");
    let k = key(1);
    let files = BundleFiles {
        megabinary: ("x", &b.megabinary),
        manifest: ("y", &b.manifest),
        rootfs: ("z", &b.rootfs),
    };
    verify_bundle(&k.verifying_key(), &b.sign(&k), &files).unwrap();
}
