//! Choosing one image: among tags of a layout, and among platforms of a hand-built
//! multi-platform index made from two real umoci manifests.

use std::fs;

use recompiler_oci::{ImageRef, OciError, OpenOptions, Platform, open};
use serde_json::json;

use crate::support::{Layout, rootfs_of};

/// A layout with one image per `(tag, os, arch)`, each holding `/which` = its tag.
fn layout_with(images: &[(&str, &str, &str)]) -> Layout {
    let l = Layout::new();
    for (tag, os, arch) in images {
        l.new_image(tag);
        let b = l.unpack(tag);
        fs::write(b.rootfs().join("which"), tag).unwrap();
        l.repack(tag, &b);
        // After the layer: umoci cannot unpack an image whose OS is not Linux.
        l.set_platform(tag, os, arch);
    }
    l
}

fn open_with(r: &str, platform: Option<&str>) -> Result<recompiler_oci::Image, OciError> {
    let opts = OpenOptions {
        platform: platform.map(|p| p.parse::<Platform>().unwrap()),
    };
    open(&ImageRef::parse(r).unwrap(), &opts)
}

fn which(image: &recompiler_oci::Image) -> String {
    String::from_utf8(rootfs_of(image).read_file("/which").unwrap().to_vec()).unwrap()
}

#[test]
fn picks_each_tag() {
    let l = layout_with(&[("one", "linux", "amd64"), ("two", "linux", "amd64")]);
    let p = l.path.display();
    assert_eq!(
        which(&open_with(&format!("oci:{p}:one"), None).unwrap()),
        "one"
    );
    assert_eq!(
        which(&open_with(&format!("oci:{p}:two"), None).unwrap()),
        "two"
    );
    assert_eq!(which(&open_with(&format!("{p}:two"), None).unwrap()), "two");

    let err = open_with(&format!("oci:{p}"), None).unwrap_err();
    assert!(matches!(err, OciError::Ambiguous { .. }), "{err}");
    assert!(err.to_string().contains("one, two"), "{err}");

    let err = open_with(&format!("oci:{p}:three"), None).unwrap_err();
    assert!(matches!(err, OciError::TagNotFound { .. }), "{err}");
    assert!(
        err.to_string().contains("\"three\"") && err.to_string().contains("one, two"),
        "{err}"
    );

    // A digest picks the manifest too.
    let d = l.manifest_digest("two");
    assert_eq!(
        which(&open_with(&format!("oci:{p}:{d}"), None).unwrap()),
        "two"
    );
}

/// Turns the layout's tags `amd` and `wasm` into one nested index tagged `multi`.
fn make_multi_platform(l: &Layout) -> String {
    let entry = |tag: &str, os: &str, arch: &str| {
        let d = l.descriptor(tag);
        json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": d["digest"],
            "size": d["size"],
            "platform": {"os": os, "architecture": arch},
        })
    };
    let nested = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [entry("amd", "linux", "amd64"), entry("wasm", "wasi", "wasm")],
    });
    let (digest, size) = l.write_json_blob(&nested);
    l.write_index(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": digest,
            "size": size,
            "annotations": {"org.opencontainers.image.ref.name": "multi"},
        }],
    }));
    digest
}

#[test]
fn multi_platform_index() {
    let l = layout_with(&[("amd", "linux", "amd64"), ("wasm", "wasi", "wasm")]);
    let amd_digest = l.manifest_digest("amd");
    let index_digest = make_multi_platform(&l);
    let r = format!("oci:{}:multi", l.path.display());

    let image = open_with(&r, None).unwrap();
    assert_eq!(image.platform.to_string(), "wasi/wasm");
    assert_eq!(which(&image), "wasm");

    let image = open_with(&r, Some("linux/amd64")).unwrap();
    assert_eq!(image.digest, amd_digest);
    assert_eq!(which(&image), "amd");

    let err = open_with(&r, Some("linux/arm64")).unwrap_err();
    assert!(matches!(err, OciError::PlatformNotFound { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("linux/arm64") && msg.contains("linux/amd64, wasi/wasm"),
        "{msg}"
    );

    // skopeo accepts the hand-made index and copies every platform into an archive.
    let archive = l.scratch("multi.tar");
    l.skopeo_copy(
        "multi",
        &format!("oci-archive:{}:multi", archive.display()),
        &["--all"],
    );
    let image = open_with(archive.to_str().unwrap(), None).unwrap();
    assert_eq!(which(&image), "wasm");
    let image = open_with(archive.to_str().unwrap(), Some("linux/amd64")).unwrap();
    assert_eq!(which(&image), "amd");

    // The nested index is verified like any blob.
    let path = l.blob_path(&index_digest);
    let mut bytes = fs::read(&path).unwrap();
    let i = bytes.iter().position(|&b| b == b'w').unwrap();
    bytes[i] = b'W';
    fs::write(&path, bytes).unwrap();
    let err = open_with(&r, None).unwrap_err();
    assert!(matches!(err, OciError::DigestMismatch { .. }), "{err}");
    assert!(err.to_string().contains(&index_digest), "{err}");
}

#[test]
fn untagged_platform_manifests_in_index_json() {
    let l = layout_with(&[("amd", "linux", "amd64"), ("wasm", "wasi", "wasm")]);
    let mut index = l.index();
    for d in index["manifests"].as_array_mut().unwrap() {
        let tag = d["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .unwrap()
            .to_string();
        d.as_object_mut().unwrap().remove("annotations");
        d["platform"] = if tag == "amd" {
            json!({"os": "linux", "architecture": "amd64"})
        } else {
            json!({"os": "wasi", "architecture": "wasm"})
        };
    }
    l.write_index(&index);
    let r = format!("oci:{}", l.path.display());
    assert_eq!(which(&open_with(&r, None).unwrap()), "wasm");
    assert_eq!(which(&open_with(&r, Some("linux/amd64")).unwrap()), "amd");
}

#[test]
fn explicit_platform_must_match_single_image() {
    let l = layout_with(&[("amd", "linux", "amd64")]);
    let r = format!("oci:{}:amd", l.path.display());
    let err = open_with(&r, Some("wasi/wasm")).unwrap_err();
    assert!(matches!(err, OciError::PlatformNotFound { .. }), "{err}");
    assert!(err.to_string().contains("linux/amd64"), "{err}");
    assert!(open_with(&r, Some("linux/amd64")).is_ok());
    // Without a reference, the only image is taken.
    assert!(open_with(&format!("oci:{}", l.path.display()), None).is_ok());
}
