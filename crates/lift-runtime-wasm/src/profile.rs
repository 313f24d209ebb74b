// Included by lib.rs and build.rs: the one list of profile overrides.

/// The release-profile settings the build script sets on top of the
/// workspace's `[profile.release]`, as `CARGO_PROFILE_RELEASE_*` variables.
pub const BUILD_PROFILE: &[(&str, &str)] = &[
    // No DWARF: it is most of the file and the sandbox has no debugger.
    // Function names stay (the `name` section) for readable traps.
    ("DEBUG", "false"),
    ("STRIP", "debuginfo"),
    // A panic is a bug; abort (a trap) instead of unwinding machinery.
    ("PANIC", "abort"),
    // One codegen unit and LTO: the smallest and fastest module, worth the
    // longer build of one small binary.
    ("LTO", "true"),
    ("CODEGEN_UNITS", "1"),
];
