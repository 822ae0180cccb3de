//! The napi-rs layer of ferropool: converts JS values to `ferropool-core` calls and back,
//! and nothing more. Every function is `catch_unwind`, so a Rust panic becomes a JS error.
//!
//! Per-isolate state (the table of in-flight jobs, the references that keep their buffers
//! alive, the deferred promises) lives in thread-locals: each isolate runs on its own thread,
//! while the core's thread pool is process-wide.

/// The addon's own allocations (chunk payloads and results on the task boards) use
/// mimalloc: with the system allocator, a job's freed payloads at the top of the heap were
/// trimmed back to the OS and faulted in again by the next job, which made a submit many
/// times slower (seen with the board micro-benchmark). Its 2.x line (the crate's `v2`
/// feature): mimalloc 3 keeps its process state with the first thread that allocated, and
/// when that thread is a worker that exits (ferropool loaded only by worker threads, as a
/// test runner or another pool's workers load it), the next thread's first allocation
/// crashed with SIGSEGV (`__test__/fixtures/workers-only.mjs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod buffers;
mod calls;
mod expr;
mod outputs;
mod tasks;

pub use calls::*;
pub use expr::*;
pub use outputs::*;
pub use tasks::*;

/// Keeps the addon's image mapped for the rest of the process once any isolate loads it.
///
/// Node unloads an addon loaded only by worker threads when the last of them exits, but
/// code of the addon outlives any one isolate: the core's thread pool, and the per-thread
/// destructors that mimalloc and Rust's thread-locals register on every thread that ran
/// the addon. Unloaded under them, the next thread exit would jump into unmapped memory.
/// napi-rs pins the image with the loader (`dlopen` with `RTLD_NOLOAD` of
/// itself on Unix, `GetModuleHandleEx` with `PIN` on Windows), once per process.
#[napi_derive::napi(module_exports)]
pub fn pin_image(_exports: napi::bindgen_prelude::Object<'_>) {
    napi::bindgen_prelude::retain_current_module_for_unload_safety();
}

/// Hands the C allocator's free memory back to the OS (glibc's `malloc_trim`); true if any
/// was released. Called after a pool worker or a `Process` thread ends: every thread start
/// and exit (Node's own, with or without ferropool) leaves freed memory in glibc's
/// per-thread arenas, and without a trim a process that keeps starting threads (worker
/// replacement, `Process`, pools made and dropped) grows by about a kilobyte a thread.
/// Elsewhere (musl, macOS, Windows) it does nothing and returns false.
#[napi_derive::napi(catch_unwind)]
pub fn trim_native_heap() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only walks and trims the allocator's own arenas, under their locks.
        unsafe { libc::malloc_trim(0) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
