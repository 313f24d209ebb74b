//! The compatibility list `docs/recompiler-container-plan/linux-syscalls.md`, rendered
//! from the syscall table so the two cannot drift apart. A test compares the committed
//! file with the rendering; regenerate it with
//! `UPDATE_LINUX_SYSCALLS_DOC=1 cargo test -p recompiler-vkernel --lib linux_syscalls_doc`.

use std::fmt::Write;

use super::table::{SYSCALLS, Support};

/// The compatibility list as markdown.
pub fn render_markdown() -> String {
    let mut out = String::new();
    let count = |f: fn(&Support) -> bool| SYSCALLS.iter().filter(|s| f(&s.support)).count();
    out.push_str("# Linux syscalls of lifted programs\n\n");
    out.push_str(
        "<!-- Generated from crates/vkernel/src/abi/linux/table.rs: do not edit. Regenerate with\n     \
         UPDATE_LINUX_SYSCALLS_DOC=1 cargo test -p recompiler-vkernel --lib linux_syscalls_doc -->\n\n",
    );
    out.push_str(
        "Lifted x86-64 programs (the guest runtime in the megabinary) forward every `syscall` \
         instruction to the vkernel through the `recompiler_linux_v1` import module \
         (`syscall(nr, a0..a5) -> i64`, `program_id() -> i64`, `log(ptr, len)`). The vkernel \
         answers on the same kernel core as WASI: fds, files, pipes and processes are shared with \
         WASM programs. Pointer arguments are guest addresses (offsets into the program's linear \
         memory); a bad one is `EFAULT`.\n\n",
    );
    out.push_str("Support levels:\n\n");
    out.push_str("- **Full**: as Linux documents it, for the files, pipes and processes of the kernel core.\n");
    out.push_str("- **Partial**: implemented, with the limits the note names.\n");
    out.push_str("- **Stub**: answers without doing what Linux would, as the note says.\n");
    out.push_str(
        "- **Runtime**: handled inside the guest runtime, never forwarded (`ENOSYS` if it is).\n",
    );
    out.push_str(
        "- **Unsupported**: `ENOSYS`, logged once per process image with its number and name.\n\n",
    );
    let _ = writeln!(
        out,
        "{} syscalls: {} full, {} partial, {} stub, {} in the runtime, {} unsupported. \
         Numbers not listed are `ENOSYS` too.\n",
        SYSCALLS.len(),
        count(|s| matches!(s, Support::Full)),
        count(|s| matches!(s, Support::Partial(_))),
        count(|s| matches!(s, Support::Stub(_))),
        count(|s| matches!(s, Support::Runtime(_))),
        count(|s| matches!(s, Support::Unsupported(_))),
    );
    out.push_str("| Nr | Name | Support | Note |\n|---:|---|---|---|\n");
    for s in SYSCALLS {
        let note = s.support.note().unwrap_or("").replace('|', "\\|");
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} |",
            s.nr,
            s.name,
            s.support.label(),
            note
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed compatibility list is the table's rendering.
    #[test]
    fn linux_syscalls_doc() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/recompiler-container-plan/linux-syscalls.md"
        );
        let want = render_markdown();
        if std::env::var_os("UPDATE_LINUX_SYSCALLS_DOC").is_some() {
            std::fs::write(path, &want).expect("writing linux-syscalls.md");
            return;
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "{path} is not the rendering of the syscall table; regenerate it with \
             UPDATE_LINUX_SYSCALLS_DOC=1 cargo test -p recompiler-vkernel --lib linux_syscalls_doc"
        );
    }
}
