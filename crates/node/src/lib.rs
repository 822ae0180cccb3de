//! The napi-rs layer of ferropool: converts JS values to `ferropool-core` calls and back,
//! and nothing more. Every function is `catch_unwind`, so a Rust panic becomes a JS error.
//!
//! Per-isolate state (the table of in-flight jobs, the references that keep their buffers
//! alive, the deferred promises) lives in thread-locals: each isolate runs on its own thread,
//! while the core's thread pool is process-wide.

/// The addon's own allocations (chunk payloads and results on the task boards) use
/// mimalloc: with the system allocator, a job's freed payloads at the top of the heap were
/// trimmed back to the OS and faulted in again by the next job (a 16 KiB submit cost 59 µs
/// instead of 1; measured with the board micro-benchmark).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod buffers;
mod calls;
mod outputs;
mod tasks;

pub use calls::*;
pub use outputs::*;
pub use tasks::*;
