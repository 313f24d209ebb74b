//! `--oci-archive`: the signed bundle as an OCI image archive for containerd.
//! skopeo reads the archive; the layer, unpacked here, holds the bundle's four
//! files byte for byte and verifies; the same build gives the same archive; and
//! the flag's misuses fail before anything is written.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output};

use sha2::Digest;

use crate::image::{REACTOR_ENTRY, assert_ok, build, keygen, recompiler_build, sh, standard_image};

const NAME: &str = "recompiler.local/test:v1";

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The archive's members, by path.
fn members(archive: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut tar = tar::Archive::new(std::fs::File::open(archive).unwrap());
    let mut out = BTreeMap::new();
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.insert(entry.path().unwrap().display().to_string(), data);
    }
    out
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn signed_build_writes_an_archive_skopeo_reads_and_the_bundle_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let image = standard_image(&tmp.path().join("img"));
    sh(Command::new("umoci")
        .arg("config")
        .arg("--image")
        .arg(image.reference())
        .args(["--config.entrypoint", "/usr/bin/rust_echo"])
        .args(["--config.cmd", "hello", "--config.cmd", "world"])
        .args(["--config.env", "GREETING=hi"])
        .args(["--config.workingdir", "/usr/share/data"])
        .args(["--config.label", "org.example.team=wasm"]));
    let (key, public) = keygen(tmp.path(), "build.key");

    let mut archives = Vec::new();
    for run in ["a", "b"] {
        let out = tmp.path().join(run);
        let archive = tmp.path().join(format!("{run}-oci.tar"));
        let report = tmp.path().join(format!("{run}-report.json"));
        let mut extra = REACTOR_ENTRY.to_vec();
        let (archive_arg, report_arg) = (archive.to_str().unwrap(), report.to_str().unwrap());
        extra.extend(["--oci-archive", archive_arg, "--oci-name", NAME]);
        extra.extend(["--report", report_arg]);
        let result = build(&image.oci(), &out, Some(&key), &extra);
        assert_ok(&result);
        assert!(
            String::from_utf8_lossy(&result.stdout).contains(&format!("image {NAME} manifest")),
            "{}",
            String::from_utf8_lossy(&result.stdout)
        );
        archives.push((out, archive, report));
    }
    let (out, archive, report) = &archives[0];
    let bytes = std::fs::read(archive).unwrap();
    assert_eq!(
        bytes,
        std::fs::read(&archives[1].1).unwrap(),
        "two builds of the same image gave different archives"
    );
    // No temporary file is left beside the archive.
    assert!(
        !files_in(tmp.path()).iter().any(|n| n.ends_with(".tmp")),
        "{:?}",
        files_in(tmp.path())
    );

    let oci = format!("oci-archive:{}", archive.display());
    let raw = sh(Command::new("skopeo").args(["inspect", "--raw"]).arg(&oci));
    let manifest = json(&raw);
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.image.config.v1+json"
    );
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "{manifest}");
    assert_eq!(
        layers[0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    assert_eq!(
        manifest["annotations"]["dev.recompiler.bundle.version"],
        "1"
    );
    assert_eq!(
        manifest["annotations"]["dev.recompiler.bundle.path"],
        "/recompiler"
    );
    let manifest_digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&raw.stdout)));

    let config = json(&sh(Command::new("skopeo")
        .args(["inspect", "--config"])
        .arg(&oci)));
    assert_eq!(config["os"], "wasi");
    assert_eq!(config["architecture"], "wasm");
    let c = &config["config"];
    assert_eq!(c["Entrypoint"], serde_json::json!(["/usr/bin/rust_echo"]));
    assert_eq!(c["Cmd"], serde_json::json!(["hello", "world"]));
    assert_eq!(c["WorkingDir"], "/usr/share/data");
    assert!(c["Env"].as_array().unwrap().contains(&"GREETING=hi".into()));
    assert_eq!(c["Labels"]["org.example.team"], "wasm");
    assert_eq!(c["Labels"]["dev.recompiler.bundle"], "v1");
    assert_eq!(config["history"][0]["created_by"], "recompiler-build");
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 1);

    // index.json names the image for containerd, for wasi/wasm.
    let members = members(archive);
    let index: serde_json::Value = serde_json::from_slice(&members["index.json"]).unwrap();
    let desc = &index["manifests"][0];
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(desc["digest"], manifest_digest.as_str());
    assert_eq!(
        desc["platform"],
        serde_json::json!({"architecture": "wasm", "os": "wasi"})
    );
    assert_eq!(desc["annotations"]["io.containerd.image.name"], NAME);
    assert_eq!(
        desc["annotations"]["org.opencontainers.image.ref.name"],
        "v1"
    );
    assert!(members.contains_key("oci-layout"));

    // The report lists the archive with its size, sha256 and manifest digest.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    let listed = report["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["path"] == archive.display().to_string())
        .expect("the archive is in the report's outputs");
    assert_eq!(listed["size"], bytes.len());
    assert_eq!(
        listed["sha256"],
        hex::encode(sha2::Sha256::digest(&bytes)).as_str()
    );
    assert_eq!(listed["oci_image"]["name"], NAME);
    assert_eq!(
        listed["oci_image"]["manifest_digest"],
        manifest_digest.as_str()
    );

    // The layer: recompiler/ and the four bundle files, byte for byte.
    let layer_digest = layers[0]["digest"].as_str().unwrap();
    let blob = &members[&format!(
        "blobs/sha256/{}",
        layer_digest.trim_start_matches("sha256:")
    )];
    let unpacked = tmp.path().join("unpacked");
    let mut layer = tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]));
    let mut listing = Vec::new();
    for entry in layer.entries().unwrap() {
        let entry = entry.unwrap();
        let h = entry.header();
        listing.push((
            entry.path().unwrap().display().to_string(),
            h.mode().unwrap(),
            h.uid().unwrap(),
            h.gid().unwrap(),
        ));
    }
    assert_eq!(
        listing,
        [
            ("recompiler/".to_string(), 0o755, 0, 0),
            ("recompiler/mapping.json".to_string(), 0o644, 0, 0),
            ("recompiler/mapping.json.sig".to_string(), 0o644, 0, 0),
            ("recompiler/container.wasm".to_string(), 0o644, 0, 0),
            ("recompiler/rootfs.tar".to_string(), 0o644, 0, 0),
        ]
    );
    tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]))
        .unpack(&unpacked)
        .unwrap();
    let bundle = unpacked.join("recompiler");
    for name in [
        "mapping.json",
        "mapping.json.sig",
        "container.wasm",
        "rootfs.tar",
    ] {
        assert!(
            std::fs::read(bundle.join(name)).unwrap() == std::fs::read(out.join(name)).unwrap(),
            "{name} in the layer differs from the bundle's"
        );
    }
    let verified = recompiler_build()
        .arg("verify")
        .arg("--bundle")
        .arg(&bundle)
        .arg("--key")
        .arg(&public)
        .output()
        .unwrap();
    assert!(verified.status.success(), "{}", stderr(&verified));
}

#[test]
fn oci_archive_without_a_key_is_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    // No image is needed: the flags are checked first.
    let out = tmp.path().join("out");
    let archive = tmp.path().join("oci.tar");
    let result = build(
        "oci:/nonexistent/layout:latest",
        &out,
        None,
        &["--oci-archive", archive.to_str().unwrap()],
    );
    assert!(!result.status.success());
    assert!(
        stderr(&result)
            .contains("--oci-archive needs --key: the recompiler runtime runs only signed bundles"),
        "{}",
        stderr(&result)
    );
    assert!(!archive.exists());
    assert!(files_in(&out).is_empty(), "{:?}", files_in(&out));
}

#[test]
fn oci_archive_in_a_missing_directory_names_the_path_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let image = standard_image(&tmp.path().join("img"));
    let (key, _public) = keygen(tmp.path(), "build.key");
    let out = tmp.path().join("out");
    let archive = tmp.path().join("no/such/dir/oci.tar");
    let result = build(
        &image.oci(),
        &out,
        Some(&key),
        &[REACTOR_ENTRY, &["--oci-archive", archive.to_str().unwrap()]].concat(),
    );
    assert!(!result.status.success());
    let err = stderr(&result);
    assert!(
        err.contains(&archive.display().to_string()) && err.contains("does not exist"),
        "{err}"
    );
    assert!(files_in(&out).is_empty(), "{:?}", files_in(&out));
    assert!(!tmp.path().join("no").exists());
}
