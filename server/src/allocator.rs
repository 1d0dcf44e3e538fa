//! The process allocator: mimalloc, told to give freed memory back promptly.
//!
//! Many short-lived buffers per delivery (bodies, headers, rows) across the
//! runtime's threads: mimalloc's per-thread pages serve them with less
//! locking and less CPU than the system allocator. Its defaults, though,
//! commit a whole arena up front (so freed pages are only marked reusable,
//! and stay in RSS) and keep freed pages a second before returning them;
//! under a burst of deliveries that nearly doubled the server's peak RSS in
//! the benchmark (PostgreSQL fan-out 103 MB against 56 MB) for no CPU gain.

use libmimalloc_sys::{mi_option_get, mi_option_set};

/// `mi_option_e` numbers from mimalloc v3's `mimalloc.h`. The crate names
/// neither, so they are spelled here; `libmimalloc-sys` is pinned to the
/// release they were read from, and a test checks them against the linked
/// library's defaults.
const ARENA_EAGER_COMMIT: i32 = 4;
const PURGE_DELAY: i32 = 15;

/// Commit arena memory only as it is used and return freed pages at once.
///
/// mimalloc reads the commit option when it reserves its first arena, at
/// the first allocation, and Rust's runtime allocates before `main`: the
/// server binary runs this as a process constructor (see `main.rs`).
pub extern "C" fn return_memory_promptly() {
    // SAFETY: mi_option_set only stores an integer in mimalloc's option table.
    unsafe {
        mi_option_set(ARENA_EAGER_COMMIT, 0);
        mi_option_set(PURGE_DELAY, 0);
    }
}

/// Whether [`return_memory_promptly`] is in effect.
pub fn returns_memory_promptly() -> bool {
    option(ARENA_EAGER_COMMIT) == 0 && option(PURGE_DELAY) == 0
}

fn option(number: i32) -> std::ffi::c_long {
    // SAFETY: mi_option_get only reads mimalloc's option table.
    unsafe { mi_option_get(number) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_numbers_match_the_linked_mimalloc() {
        // This test binary has no constructor, so the documented defaults
        // show (arena_eager_commit 2: where the OS overcommits; purge_delay
        // 1000 ms) unless the environment set them. A renumbering shows here
        // before it could tune the wrong option.
        if std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_none() {
            assert_eq!(option(ARENA_EAGER_COMMIT), 2);
        }
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(option(PURGE_DELAY), 1000);
        }
        return_memory_promptly();
        assert!(returns_memory_promptly());
    }
}
