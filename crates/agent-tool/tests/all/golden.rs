//! The native binary on the fixture tree, compared with tests/expected.

use std::fs;

use crate::support::{check_expected, fixture, run, snapshot};

const GOOD_DIFF: &str = include_str!("../fixtures/patches/good.diff");
const BAD_DIFF: &str = include_str!("../fixtures/patches/bad.diff");

/// One run on a fresh fixture copy: expected file name, argv, stdin, exit code.
pub struct Case {
    pub name: &'static str,
    pub args: &'static [&'static str],
    pub stdin: &'static str,
    pub code: i32,
}

const fn case(
    name: &'static str,
    args: &'static [&'static str],
    stdin: &'static str,
    code: i32,
) -> Case {
    Case {
        name,
        args,
        stdin,
        code,
    }
}

/// Every golden case. The wasm test runs these too.
pub const CASES: &[Case] = &[
    case(
        "read_range",
        &["read", "src/lib.rs", "--start", "3", "--end", "5"],
        "",
        0,
    ),
    case("read_no_newline", &["read", "docs/no-newline.txt"], "", 0),
    case("read_lossy", &["read", "data/latin1.txt"], "", 0),
    case(
        "read_past_end",
        &["read", "src/main.rs", "--start", "50"],
        "",
        0,
    ),
    case("read_binary", &["read", "data/blob.bin"], "", 1),
    case("read_missing", &["read", "nope.txt"], "", 1),
    case("read_dir", &["read", "src"], "", 1),
    case(
        "read_bad_range",
        &["read", "src/lib.rs", "--start", "5", "--end", "4"],
        "",
        1,
    ),
    case("search_greet", &["search", "greet"], "", 0),
    case("search_in_dir", &["search", "fn \\w+", "src"], "", 0),
    case(
        "search_globs",
        &[
            "search",
            "greet",
            "--glob",
            "*.rs",
            "--glob",
            "*.md",
            "--exclude",
            "src/util/**",
        ],
        "",
        0,
    ),
    case(
        "search_ignore_case_max",
        &["search", "-i", "todo", "--max", "2"],
        "",
        0,
    ),
    case("search_bad_regex", &["search", "("], "", 1),
    case("search_missing_dir", &["search", "x", "nope"], "", 1),
    case(
        "edit_ok",
        &[
            "edit",
            "src/lib.rs",
            "--old",
            "Says hello.",
            "--new",
            "Says hello to NAME.",
        ],
        "",
        0,
    ),
    case(
        "edit_not_unique",
        &["edit", "docs/notes.txt", "--old", "TODO", "--new", "DONE"],
        "",
        1,
    ),
    case(
        "edit_not_found",
        &["edit", "docs/notes.txt", "--old", "FIXME", "--new", "DONE"],
        "",
        1,
    ),
    case(
        "edit_empty_old",
        &["edit", "docs/notes.txt", "--old", "", "--new", "x"],
        "",
        1,
    ),
    case(
        "write_new",
        &["write", "docs/new.txt", "--content", "new\n"],
        "",
        0,
    ),
    case("write_stdin", &["write", "README.md"], "replaced\n", 0),
    case(
        "write_no_parent",
        &["write", "a/b/c.txt", "--content", "x"],
        "",
        1,
    ),
    case(
        "write_parents",
        &["write", "a/b/c.txt", "--content", "x", "--parents"],
        "",
        0,
    ),
    case("apply_good", &["apply"], GOOD_DIFF, 0),
    case("apply_bad", &["apply"], BAD_DIFF, 1),
    case("apply_empty", &["apply"], "not a diff\n", 1),
    case("tree", &["tree"], "", 0),
    case("tree_depth", &["tree", "src", "--depth", "1"], "", 0),
    case(
        "call_edit",
        &["call"],
        r#"{"cmd":"edit","path":"src/main.rs","old":"\"world\"","new":"\"there\""}"#,
        0,
    ),
    case(
        "call_search",
        &["call"],
        r#"{"cmd":"search","pattern":"TODO","dir":"docs","max":1}"#,
        0,
    ),
    case("call_bad_json", &["call"], r#"{"cmd":"read"}"#, 1),
    case(
        "call_unknown_field",
        &["call"],
        r#"{"cmd":"read","path":"README.md","lines":3}"#,
        1,
    ),
    case("usage", &["search"], "", 2),
    case(
        "usage_unknown_flag",
        &["read", "README.md", "--bogus"],
        "",
        2,
    ),
];

#[test]
fn golden_cases() {
    for c in CASES {
        let dir = fixture();
        let out = run(dir.path(), c.args, c.stdin);
        assert_eq!(
            out.code, c.code,
            "{}: exit code; stdout {}",
            c.name, out.stdout
        );
        check_expected(c.name, &out.stdout);
    }
}

/// Each expected file belongs to a case: a renamed case leaves no stale file.
#[test]
fn every_expected_file_has_a_case() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/expected");
    for entry in fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let stem = name.strip_suffix(".json").unwrap_or(&name);
        assert!(
            CASES.iter().any(|c| c.name == stem),
            "tests/expected/{name} has no case in golden.rs"
        );
    }
}

#[test]
fn edit_changes_exactly_the_old_string() {
    let dir = fixture();
    let before = fs::read_to_string(dir.path().join("src/main.rs")).unwrap();
    let out = run(
        dir.path(),
        &[
            "edit",
            "src/main.rs",
            "--old",
            "\"world\"",
            "--new",
            "\"you\"",
        ],
        "",
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    let after = fs::read_to_string(dir.path().join("src/main.rs")).unwrap();
    assert_eq!(after, before.replace("\"world\"", "\"you\""));
}

#[test]
fn failed_edits_leave_every_file_as_it_was() {
    let dir = fixture();
    let before = snapshot(dir.path());
    for args in [
        &["edit", "docs/notes.txt", "--old", "TODO", "--new", "x"][..],
        &["edit", "docs/notes.txt", "--old", "absent", "--new", "x"],
        &["edit", "data/missing", "--old", "a", "--new", "x"],
    ] {
        assert_eq!(run(dir.path(), args, "").code, 1, "{args:?}");
    }
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn a_failed_apply_changes_nothing() {
    let dir = fixture();
    let before = snapshot(dir.path());
    let out = run(dir.path(), &["apply"], BAD_DIFF);
    assert!(
        out.stdout.contains(r#""code":"patch_failed""#),
        "{}",
        out.stdout
    );
    // Neither the first file's good hunk nor the new file nor its directory,
    // nor a temp file, is left behind.
    assert_eq!(snapshot(dir.path()), before);

    // A diff that creates a file that exists fails whole too.
    let creates_readme = "--- /dev/null\n+++ README.md\n@@ -0,0 +1 @@\n+x\n";
    let out = run(
        dir.path(),
        &["apply"],
        &format!("{GOOD_DIFF}{creates_readme}"),
    );
    assert!(out.stdout.contains(r#""code":"exists""#), "{}", out.stdout);
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn a_good_apply_writes_every_file() {
    let dir = fixture();
    let out = run(dir.path(), &["apply"], GOOD_DIFF);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let p = dir.path();
    assert!(!p.join("docs/no-newline.txt").exists());
    assert_eq!(
        fs::read_to_string(p.join("docs/changes/0.2.md")).unwrap(),
        "# 0.2\nTitles keep the rest of the name.\n"
    );
    let strings = fs::read_to_string(p.join("src/util/strings.rs")).unwrap();
    assert!(strings.starts_with("/// Upper-cases the first letter; the rest is kept.\n"));
    // The same diff again no longer applies, and changes nothing.
    let before = snapshot(p);
    assert_eq!(run(p, &["apply"], GOOD_DIFF).code, 1);
    assert_eq!(snapshot(p), before);
}

#[test]
fn apply_takes_paths_relative_to_dir_and_refuses_escapes() {
    let dir = fixture();
    let diff = "--- util/mod.rs\n+++ util/mod.rs\n@@ -1 +1 @@\n-pub mod strings;\n+pub mod strings; // titles\n";
    let out = run(dir.path(), &["apply", "--dir", "src"], diff);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(
        fs::read_to_string(dir.path().join("src/util/mod.rs")).unwrap(),
        "pub mod strings; // titles\n"
    );
    let escape = "--- /dev/null\n+++ ../escaped.txt\n@@ -0,0 +1 @@\n+x\n";
    let out = run(dir.path(), &["apply", "--dir", "src"], escape);
    assert!(
        out.stdout.contains(r#""code":"bad_request""#),
        "{}",
        out.stdout
    );
    assert!(!dir.path().join("escaped.txt").exists());
}

#[test]
fn text_mode_prints_for_people() {
    let dir = fixture();
    let p = dir.path();
    let read = run(p, &["--text", "read", "src/util/mod.rs"], "");
    assert_eq!(read.stdout, "     1\tpub mod strings;\n");
    let search = run(p, &["-t", "search", "TODO", "docs", "--max", "1"], "");
    assert_eq!(
        search.stdout,
        "docs/notes.txt:1:TODO: handle empty names\n(stopped after 1 matches)\n"
    );
    let tree = run(p, &["tree", "-t", "src"], "");
    assert_eq!(
        tree.stdout,
        "src\n├── lib.rs\n├── main.rs\n└── util/\n    ├── mod.rs\n    └── strings.rs\n\n1 directories, 4 files\n"
    );
    // Errors go to stderr in text mode; stdout stays empty.
    let missing = run(p, &["-t", "read", "nope"], "");
    assert_eq!((missing.stdout.as_str(), missing.code), ("", 1));
}

#[test]
fn version_and_help() {
    let dir = fixture();
    let version = run(dir.path(), &["--version"], "");
    assert_eq!(
        version,
        crate::support::Outcome {
            stdout: "agent-tool 0.1.0\n".into(),
            code: 0
        }
    );
    // The fast path and clap say the same.
    let through_clap = run(dir.path(), &["--text", "--version"], "");
    assert_eq!(through_clap, version);
    let help = run(dir.path(), &["--help"], "");
    assert_eq!(help.code, 0);
    for word in [
        "read", "search", "edit", "write", "apply", "tree", "call", "--text",
    ] {
        assert!(help.stdout.contains(word), "--help lacks {word}");
    }
}
