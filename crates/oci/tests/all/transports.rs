//! The sample image converted by skopeo to an OCI archive, a docker-archive, zstd layers and
//! uncompressed layers: each opens (explicitly and by autodetection) to the same tree.

use recompiler_oci::{ImageRef, OciError, OpenOptions, Transport, open};

use crate::sample::{TAG, sample_image};
use crate::support::{rootfs_of, tar_bytes};

fn open_str(s: &str) -> Result<recompiler_oci::Image, OciError> {
    open(&ImageRef::parse(s).unwrap(), &OpenOptions::default())
}

#[test]
fn oci_archive() {
    let l = sample_image();
    let want = tar_bytes(&rootfs_of(&l.open(TAG).unwrap()));
    let archive = l.scratch("sample.tar");
    l.skopeo_copy(
        TAG,
        &format!("oci-archive:{}:{TAG}", archive.display()),
        &[],
    );

    for r in [
        format!("oci-archive:{}:{TAG}", archive.display()),
        format!("oci-archive:{}", archive.display()),
        format!("{}:{TAG}", archive.display()),
        archive.display().to_string(),
    ] {
        let image = open_str(&r).unwrap_or_else(|e| panic!("{r}: {e}"));
        assert_eq!(image.transport, Transport::Archive, "{r}");
        assert_eq!(image.layers.len(), 3);
        assert!(
            tar_bytes(&rootfs_of(&image)) == want,
            "{r}: tree differs from the layout's"
        );
    }
}

#[test]
fn docker_archive() {
    let l = sample_image();
    let layout_image = l.open(TAG).unwrap();
    let want = tar_bytes(&rootfs_of(&layout_image));
    let archive = l.scratch("docker.tar");
    l.skopeo_copy(
        TAG,
        &format!("docker-archive:{}:example.com/sample:1", archive.display()),
        &[],
    );

    for r in [
        format!("docker-archive:{}", archive.display()),
        format!("docker-archive:{}:example.com/sample:1", archive.display()),
        format!("docker-archive:{}:@0", archive.display()),
        archive.display().to_string(),
    ] {
        let image = open_str(&r).unwrap_or_else(|e| panic!("{r}: {e}"));
        assert_eq!(image.transport, Transport::DockerArchive, "{r}");
        assert_eq!(image.digest, image.config_digest);
        assert_eq!(image.config_digest, layout_image.config_digest);
        for (d, o) in image.layers.iter().zip(&layout_image.layers) {
            assert_eq!(d.diff_id, o.diff_id);
        }
        assert!(
            tar_bytes(&rootfs_of(&image)) == want,
            "{r}: tree differs from the layout's"
        );
    }

    let err = open_str(&format!(
        "docker-archive:{}:example.com/other:1",
        archive.display()
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("example.com/sample:1"), "{err}");
}

#[test]
fn zstd_layers() {
    let l = sample_image();
    let want = tar_bytes(&rootfs_of(&l.open(TAG).unwrap()));
    let z = l.scratch("zstd");
    l.skopeo_copy(
        TAG,
        &format!("oci:{}:{TAG}", z.display()),
        &["--dest-compress-format", "zstd"],
    );
    let image = open_str(&format!("oci:{}:{TAG}", z.display())).unwrap();
    for layer in &image.layers {
        assert!(layer.media_type.ends_with("+zstd"), "{}", layer.media_type);
        let (alg, hex) = layer.digest.split_once(':').unwrap();
        let blob = std::fs::read(z.join("blobs").join(alg).join(hex)).unwrap();
        assert_eq!(blob[..4], [0x28, 0xb5, 0x2f, 0xfd], "not zstd");
    }
    assert!(tar_bytes(&rootfs_of(&image)) == want, "zstd tree differs");
    // Bare directory path: detected as a layout.
    let image = open_str(&format!("{}:{TAG}", z.display())).unwrap();
    assert_eq!(image.transport, Transport::Layout);
}

#[test]
fn uncompressed_layers() {
    let l = sample_image();
    let want = tar_bytes(&rootfs_of(&l.open(TAG).unwrap()));
    // skopeo 1.9 recompresses layers for oci destinations whatever the flags, so decompress
    // the umoci layers by hand: blob = uncompressed tar, digest = diff_id.
    let mut manifest = l.manifest(TAG);
    for layer in manifest["layers"].as_array_mut().unwrap() {
        let blob = std::fs::read(l.blob_path(layer["digest"].as_str().unwrap())).unwrap();
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&blob[..]), &mut plain)
            .unwrap();
        let digest = format!("sha256:{}", crate::support::sha256_hex(&plain));
        std::fs::write(l.blob_path(&digest), &plain).unwrap();
        layer["digest"] = digest.into();
        layer["size"] = plain.len().into();
        layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar".into();
    }
    let (digest, size) = l.write_json_blob(&manifest);
    let mut index = l.index();
    index["manifests"][0]["digest"] = digest.into();
    index["manifests"][0]["size"] = size.into();
    l.write_index(&index);
    let u = l.scratch("plain");
    // And let skopeo check the result is a valid image by copying it as it is.
    l.skopeo_copy(
        TAG,
        &format!("oci:{}:{TAG}", u.display()),
        &["--dest-oci-accept-uncompressed-layers"],
    );
    let image = open_str(&format!("oci:{}:{TAG}", u.display())).unwrap();
    for layer in &image.layers {
        assert_eq!(layer.media_type, "application/vnd.oci.image.layer.v1.tar");
        assert_eq!(layer.digest, layer.diff_id);
    }
    assert!(
        tar_bytes(&rootfs_of(&image)) == want,
        "uncompressed tree differs"
    );
}

#[test]
fn not_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let err = open_str(dir.path().to_str().unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no oci-layout"), "{err}");
    let file = dir.path().join("x.tar");
    std::fs::write(&file, [0u8; 1024]).unwrap();
    let err = open_str(file.to_str().unwrap()).unwrap_err().to_string();
    assert!(
        err.contains("neither oci-layout nor manifest.json"),
        "{err}"
    );
    let err = open_str(&format!("oci:{}", file.display()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("must be a directory"), "{err}");
    let err = open_str("/nonexistent/image").unwrap_err().to_string();
    assert!(err.contains("/nonexistent/image"), "{err}");
}
