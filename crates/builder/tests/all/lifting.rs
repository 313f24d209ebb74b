//! Static x86-64 ELF programs are lifted at build time (Debian's
//! busybox-static, installed by `scripts/test`): the report lists what code
//! discovery found; a dynamically linked program is reported as not yet
//! supported, and is an error under `--strict`.

use crate::image::{Image, assert_ok, build, put, symlink};

/// An image with a WASM program (a build needs one), busybox with two applet
/// names, and a dynamically linked program.
fn busybox_image(dir: &std::path::Path, with_dynamic: bool) -> Image {
    let busybox = std::fs::read("/bin/busybox")
        .expect("/bin/busybox (Debian's busybox-static; ./scripts/test installs it)");
    let mut image = Image::new(dir, "lift");
    image.layer(|root| {
        put(
            root,
            "/usr/bin/stdio_filter",
            &recompiler_testkit::guests::wasm("stdio_filter"),
            0o755,
        );
        put(root, "/bin/busybox", &busybox, 0o755);
        put(root, "/usr/local/bin/busybox-copy", &busybox, 0o755);
        symlink(root, "/bin/sh", "busybox");
        symlink(root, "/bin/ls", "busybox");
        if with_dynamic {
            put(
                root,
                "/usr/bin/dynamic-ls",
                &std::fs::read("/bin/ls").unwrap(),
                0o755,
            );
        }
    });
    image
}

#[test]
fn busybox_is_lifted_and_reported_and_a_dynamic_program_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    let image = busybox_image(&tmp.path().join("img"), true);
    let out_dir = tmp.path().join("out");
    let report_path = tmp.path().join("report.json");
    let out = build(
        &image.oci(),
        &out_dir,
        None,
        &["--report", report_path.to_str().unwrap()],
    );
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);

    // The text report: one lifted program (two paths), with its figures.
    assert!(text.contains("lifted    1 x86-64 programs"), "{text}");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("/bin/busybox "))
        .unwrap_or_else(|| panic!("no busybox line in:\n{text}"));
    assert!(line.contains("static, entry 0x40ebf0"), "{line}");
    assert!(
        text.contains("/usr/local/bin/busybox-copy (same file)"),
        "{text}"
    );
    // A dynamically linked program: one clear line, not lifted.
    let dynamic = text
        .lines()
        .find(|l| l.contains("/usr/bin/dynamic-ls"))
        .unwrap_or_else(|| panic!("no dynamic-ls line in:\n{text}"));
    assert!(
        dynamic.contains(
            "dynamically linked (interpreter /lib64/ld-linux-x86-64.so.2): not yet supported"
        ),
        "{dynamic}"
    );

    // The JSON report carries the discovery.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    let lifted = report["lifted"].as_array().unwrap();
    assert_eq!(lifted.len(), 1);
    let b = &lifted[0];
    assert_eq!(
        b["paths"],
        serde_json::json!(["/bin/busybox", "/usr/local/bin/busybox-copy"])
    );
    assert_eq!(b["kind"], "static");
    assert_eq!(b["entry"], "0x40ebf0");
    assert!(b["functions"].as_u64().unwrap() > 3000, "{b}");
    assert!(b["instructions"].as_u64().unwrap() > 200_000);
    assert!(b["code_bytes"].as_u64().unwrap() > 1_000_000);
    let count = b["unsupported_count"].as_u64().unwrap();
    let by_mnemonic: u64 = b["unsupported_by_mnemonic"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["count"].as_u64().unwrap())
        .sum();
    assert_eq!(by_mnemonic, count);
    // glibc's AVX variants are in busybox and never covered.
    assert!(count > 0);
    let first = &b["unsupported"][0];
    for key in ["addr", "bytes", "text"] {
        assert!(
            first[key].as_str().is_some_and(|v| !v.is_empty()),
            "{first}"
        );
    }
    let skipped = report["skipped"].as_array().unwrap();
    assert!(
        skipped
            .iter()
            .any(|s| s["path"] == "/usr/bin/dynamic-ls" && s["kind"] == "elf"),
        "{skipped:?}"
    );
    assert!(!skipped.iter().any(|s| s["path"] == "/bin/busybox"));
}

#[test]
fn strict_accepts_a_static_program_and_refuses_a_dynamic_one() {
    let tmp = tempfile::tempdir().unwrap();
    let image = busybox_image(&tmp.path().join("img"), false);
    let out = build(&image.oci(), &tmp.path().join("out"), None, &["--strict"]);
    assert_ok(&out);

    let image = busybox_image(&tmp.path().join("img2"), true);
    let out_dir = tmp.path().join("out2");
    let out = build(&image.oci(), &out_dir, None, &["--strict"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("/usr/bin/dynamic-ls") && err.contains("dynamically linked"),
        "{err}"
    );
}
