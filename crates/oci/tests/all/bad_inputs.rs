//! Broken images: truncated archives, blobs that do not match their digest or size, missing
//! blobs, malformed JSON, wrong diff_ids. Each error must name the file and the blob.

use std::fs;
use std::io::{Read, Write};

use recompiler_oci::{ImageRef, OciError, OpenOptions, open};
use serde_json::json;

use crate::sample::{TAG, sample_image};
use crate::support::{Layout, sha256_hex};

fn open_path(r: &str) -> Result<recompiler_oci::Image, OciError> {
    open(&ImageRef::parse(r).unwrap(), &OpenOptions::default())
}

fn flip_middle_byte(path: &std::path::Path) {
    let mut bytes = fs::read(path).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x55;
    fs::write(path, bytes).unwrap();
}

fn assert_mentions(err: &OciError, parts: &[&str]) {
    let msg = err.to_string();
    for p in parts {
        assert!(msg.contains(p), "error {msg:?} should mention {p:?}");
    }
}

/// Where the member `name` of a tar file starts and how long it is.
fn member_span(archive: &std::path::Path, name: &str) -> (u64, u64) {
    let mut a = tar::Archive::new(fs::File::open(archive).unwrap());
    for e in a.entries().unwrap() {
        let e = e.unwrap();
        if e.path().unwrap().to_str() == Some(name) {
            return (e.raw_file_position(), e.size());
        }
    }
    panic!("no member {name}");
}

#[test]
fn truncated_archive() {
    let l = sample_image();
    let image = l.open(TAG).unwrap();
    let archive = l.scratch("sample.tar");
    l.skopeo_copy(
        TAG,
        &format!("oci-archive:{}:{TAG}", archive.display()),
        &[],
    );
    let full = fs::read(&archive).unwrap();
    let shown = archive.display().to_string();

    // Cut inside the biggest layer blob.
    let layer = image.layers.iter().max_by_key(|l| l.size).unwrap();
    let member = format!(
        "blobs/sha256/{}",
        layer.digest.trim_start_matches("sha256:")
    );
    let (offset, size) = member_span(&archive, &member);
    let (index_offset, index_size) = member_span(&archive, "index.json");
    fs::write(&archive, &full[..(offset + size / 2) as usize]).unwrap();
    let err = open_path(archive.to_str().unwrap()).unwrap_err();
    assert!(matches!(err, OciError::BadArchive { .. }), "{err}");
    assert_mentions(&err, &[&shown, &member]);

    // Cut in the middle of the file, inside a header, and exactly at a member boundary (only
    // the missing end-of-archive marker tells).
    let boundary = (index_offset + index_size).div_ceil(512) * 512;
    for cut in [full.len() / 2, 700, boundary as usize] {
        fs::write(&archive, &full[..cut]).unwrap();
        for r in [shown.clone(), format!("oci-archive:{shown}")] {
            let err = open_path(&r).unwrap_err();
            assert!(
                matches!(err, OciError::BadArchive { .. }),
                "cut at {cut}: {err}"
            );
            assert_mentions(&err, &[&shown, "truncated"]);
        }
    }
}

#[test]
fn layer_blob_digest_mismatch() {
    let l = sample_image();
    let image = l.open(TAG).unwrap();
    let layer = &image.layers[0];
    flip_middle_byte(&l.blob_path(&layer.digest));
    // Sizes still match, so opening works; unpacking finds the corruption.
    let image = l.open(TAG).unwrap();
    let err = image.rootfs(&mut |_| {}).unwrap_err();
    assert!(matches!(err, OciError::DigestMismatch { .. }), "{err}");
    assert_mentions(&err, &[&l.path.display().to_string(), &layer.digest]);
}

#[test]
fn layer_blob_digest_mismatch_in_archive() {
    let l = sample_image();
    let image = l.open(TAG).unwrap();
    let archive = l.scratch("sample.tar");
    l.skopeo_copy(
        TAG,
        &format!("oci-archive:{}:{TAG}", archive.display()),
        &[],
    );
    let layer = &image.layers[2];
    let member = format!(
        "blobs/sha256/{}",
        layer.digest.trim_start_matches("sha256:")
    );
    let (offset, size) = member_span(&archive, &member);
    let mut bytes = fs::read(&archive).unwrap();
    bytes[(offset + size / 2) as usize] ^= 0x55;
    fs::write(&archive, bytes).unwrap();
    let image = open_path(&format!("oci-archive:{}", archive.display())).unwrap();
    let err = image.rootfs(&mut |_| {}).unwrap_err();
    assert!(matches!(err, OciError::DigestMismatch { .. }), "{err}");
    assert_mentions(&err, &[&archive.display().to_string(), &layer.digest]);
}

#[test]
fn config_and_manifest_digest_mismatch() {
    let l = sample_image();
    let manifest_digest = l.manifest_digest(TAG);
    let config_digest = l.manifest(TAG)["config"]["digest"]
        .as_str()
        .unwrap()
        .to_string();

    flip_middle_byte(&l.blob_path(&config_digest));
    let err = l.open(TAG).unwrap_err();
    assert!(matches!(err, OciError::DigestMismatch { .. }), "{err}");
    assert_mentions(&err, &[&config_digest, "config"]);

    flip_middle_byte(&l.blob_path(&manifest_digest));
    let err = l.open(TAG).unwrap_err();
    assert!(matches!(err, OciError::DigestMismatch { .. }), "{err}");
    assert_mentions(&err, &[&manifest_digest, "manifest"]);
}

#[test]
fn missing_blobs() {
    let l = sample_image();
    let image = l.open(TAG).unwrap();
    fs::remove_file(l.blob_path(&image.layers[1].digest)).unwrap();
    let err = l.open(TAG).unwrap_err();
    assert!(matches!(err, OciError::Missing { .. }), "{err}");
    assert_mentions(&err, &[&image.layers[1].digest, "missing"]);

    fs::remove_file(l.blob_path(&image.digest)).unwrap();
    let err = l.open(TAG).unwrap_err();
    assert!(matches!(err, OciError::Missing { .. }), "{err}");
    assert_mentions(&err, &[&image.digest, &l.path.display().to_string()]);
}

#[test]
fn size_mismatch_in_descriptor() {
    let l = sample_image();
    let mut index = l.index();
    let size = index["manifests"][0]["size"].as_u64().unwrap();
    index["manifests"][0]["size"] = json!(size + 1);
    l.write_index(&index);
    let err = l.open(TAG).unwrap_err();
    assert!(matches!(err, OciError::SizeMismatch { .. }), "{err}");
    assert_mentions(&err, &[&l.manifest_digest(TAG)]);
}

#[test]
fn malformed_json() {
    let l = sample_image();
    let good = fs::read(l.path.join("index.json")).unwrap();
    fs::write(
        l.path.join("index.json"),
        b"{\"schemaVersion\": 2, \"manifests\": [",
    )
    .unwrap();
    let err = l.open(TAG).unwrap_err();
    assert!(matches!(err, OciError::BadJson { .. }), "{err}");
    assert_mentions(&err, &["index.json", &l.path.display().to_string()]);
    fs::write(l.path.join("index.json"), good).unwrap();

    // Valid JSON, wrong schema, correct digest.
    l.edit_config(TAG, |c| c["rootfs"] = json!(5));
    let err = l.open(TAG).unwrap_err();
    assert!(matches!(err, OciError::BadJson { .. }), "{err}");
    assert_mentions(&err, &["config blob sha256:"]);

    fs::write(l.path.join("oci-layout"), b"not json").unwrap();
    let err = l.open(TAG).unwrap_err();
    assert_mentions(&err, &["oci-layout"]);
}

#[test]
fn diff_id_mismatch() {
    let l = sample_image();
    let layer = l.open(TAG).unwrap().layers[1].digest.clone();
    let wrong = format!("sha256:{}", sha256_hex(b"not the layer"));
    l.edit_config(TAG, |c| c["rootfs"]["diff_ids"][1] = json!(wrong.clone()));
    let image = l.open(TAG).unwrap();
    let err = image.rootfs(&mut |_| {}).unwrap_err();
    assert!(matches!(err, OciError::DiffIdMismatch { .. }), "{err}");
    assert_mentions(&err, &[&layer, &wrong]);

    l.edit_config(TAG, |c| {
        c["rootfs"]["diff_ids"].as_array_mut().unwrap().pop();
    });
    let err = l.open(TAG).unwrap_err();
    assert_mentions(&err, &["3 layers", "2 diff_ids"]);
}

#[test]
fn media_type_contradicting_magic() {
    let l = sample_image();
    let mut manifest = l.manifest(TAG);
    manifest["layers"][0]["mediaType"] = json!("application/vnd.oci.image.layer.v1.tar+zstd");
    let (digest, size) = l.write_json_blob(&manifest);
    let mut index = l.index();
    index["manifests"][0]["digest"] = json!(digest);
    index["manifests"][0]["size"] = json!(size);
    l.write_index(&index);
    let image = l.open(TAG).unwrap();
    let err = image.rootfs(&mut |_| {}).unwrap_err();
    assert_mentions(
        &err,
        &["says zstd but the blob is gzip", &image.layers[0].digest],
    );
}

/// Rewrites a docker-archive with one member's content replaced.
fn rewrite_member(src: &std::path::Path, dst: &std::path::Path, name: &str, data: &[u8]) {
    let mut a = tar::Archive::new(fs::File::open(src).unwrap());
    let mut b = tar::Builder::new(fs::File::create(dst).unwrap());
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let mut header = e.header().clone();
        let path = e.path().unwrap().into_owned();
        let mut content = Vec::new();
        e.read_to_end(&mut content).unwrap();
        if path.to_str() == Some(name) {
            content = data.to_vec();
        }
        header.set_size(content.len() as u64);
        header.set_cksum();
        b.append(&header, &content[..]).unwrap();
    }
    b.into_inner().unwrap().flush().unwrap();
}

#[test]
fn docker_archive_config_name_mismatch() {
    let l = sample_image();
    let archive = l.scratch("docker.tar");
    l.skopeo_copy(
        TAG,
        &format!("docker-archive:{}:sample:1", archive.display()),
        &[],
    );
    let mut a = tar::Archive::new(fs::File::open(&archive).unwrap());
    let mut manifest = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_str() == Some("manifest.json") {
            e.read_to_end(&mut manifest).unwrap();
        }
    }
    let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    let config_name = manifest[0]["Config"].as_str().unwrap().to_string();
    assert!(config_name.ends_with(".json"), "{config_name}");

    let bad = l.scratch("bad-docker.tar");
    rewrite_member(&archive, &bad, &config_name, b"{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
    let err = open_path(&format!("docker-archive:{}", bad.display())).unwrap_err();
    assert!(matches!(err, OciError::DigestMismatch { .. }), "{err}");
    assert_mentions(&err, &[&config_name, &bad.display().to_string()]);

    // A layer tar whose content changed: caught by the diff_id.
    let layer_name = manifest[0]["Layers"][1].as_str().unwrap().to_string();
    let bad = l.scratch("bad-layer-docker.tar");
    rewrite_member(&archive, &bad, &layer_name, &[0u8; 1024]);
    let image = open_path(&format!("docker-archive:{}", bad.display())).unwrap();
    let err = image.rootfs(&mut |_| {}).unwrap_err();
    assert!(matches!(err, OciError::DiffIdMismatch { .. }), "{err}");
    assert_mentions(
        &err,
        &[&bad.display().to_string(), &image.layers[1].diff_id],
    );
}

#[test]
fn empty_layout_index() {
    let l = Layout::new();
    let err = l.open("x").unwrap_err();
    assert!(matches!(err, OciError::TagNotFound { .. }), "{err}");
    assert_mentions(&err, &["(none)"]);
}
