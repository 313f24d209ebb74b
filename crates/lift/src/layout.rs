//! The guest address space inside the runtime's linear memory.
//!
//! A guest address *is* a linear-memory address of the runtime's memory (no
//! offset): the guest window is `[GUEST_MIN, GUEST_MAX)`, and the runtime's own
//! stack, data and heap live above it (the runtime is linked with
//! `--global-base` = [`GUEST_MAX`]). Every guest access is checked against the
//! window (and the page permissions) by the runtime's [`crate::GuestMem`], so
//! a guest can never reach the runtime's state. Identity mapping keeps the
//! translator's memory accesses free of address arithmetic and lets the
//! vkernel read syscall buffers at the pointer the guest passed.

/// The page size of the guest (and of Linux x86-64).
pub const PAGE: u64 = 4096;

/// Lowest guest address that may be mapped: below it, accesses fault (Linux's
/// default `vm.mmap_min_addr` is 64 KiB; the first MiB is kept free here).
pub const GUEST_MIN: u64 = 0x10_0000;

/// First address above the guest window: 768 MiB, so the window and the
/// runtime (256 MiB above it) fit the vkernel's 1 GiB per-memory limit.
pub const GUEST_MAX: u64 = 0x3000_0000;

/// The top of the initial stack (the stack grows down from here).
pub const STACK_TOP: u64 = GUEST_MAX - PAGE;

/// The stack's maximum size (Linux's default `ulimit -s`).
pub const STACK_SIZE: u64 = 8 << 20;

/// Rounds `v` down to a page boundary.
pub const fn page_down(v: u64) -> u64 {
    v & !(PAGE - 1)
}

/// Rounds `v` up to a page boundary (saturating at the top of `u64`).
pub const fn page_up(v: u64) -> u64 {
    match v.checked_add(PAGE - 1) {
        Some(x) => x & !(PAGE - 1),
        None => page_down(u64::MAX),
    }
}

/// Where the guest runtime's own data starts (its `--global-base`). Between
/// [`GUEST_MAX`] and here lie the lifted programs' images, placed by the
/// builder so that they end at [`DIRECTORY`].
pub const RUNTIME_BASE: u64 = 0x3400_0000;

/// The directory of lifted images, one page just below [`RUNTIME_BASE`]:
/// magic `RCLIFTD1` (8 bytes), count (u32), reserved (u32), then per image
/// { hash id (u64), offset (u32, absolute address of the image), length (u32) },
/// sorted by hash id. At most [`MAX_IMAGES`] entries.
pub const DIRECTORY: u64 = RUNTIME_BASE - PAGE;

/// Magic of the directory page.
pub const DIRECTORY_MAGIC: &[u8; 8] = b"RCLIFTD1";

/// Entries the directory page holds.
pub const MAX_IMAGES: usize = (PAGE as usize - 16) / 16;

/// Lowest address an image may start at.
pub const IMAGES_MIN: u64 = GUEST_MAX;
