//! Places the runtime's own data above the guest window: on wasm32 the linker's
//! `--global-base` is `recompiler_lift::layout::RUNTIME_BASE` (checked by a unit
//! test in src/layout_check.rs), so guest addresses below it are free for the
//! guest and for the lifted images the builder adds.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("wasm32") {
        // 0x3400_0000: keep in step with layout::RUNTIME_BASE.
        println!("cargo:rustc-link-arg-bins=--global-base=872415232");
        // The runtime's own stack: 1 MiB (placed first, below the guest window).
        println!("cargo:rustc-link-arg-bins=-zstack-size=1048576");
        // A fork child's entry (src/main.rs).
        println!("cargo:rustc-link-arg-bins=--export=lift_resume");
    }
}
