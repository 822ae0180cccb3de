//! The napi-rs layer of ferropool: converts JS values to `ferropool-core` calls and back,
//! and nothing more. Every function is `catch_unwind`, so a Rust panic becomes a JS error.
//!
//! Per-isolate state (the table of in-flight jobs, the references that keep their buffers
//! alive, the deferred promises) lives in thread-locals: each isolate runs on its own thread,
//! while the core's thread pool is process-wide.

mod buffers;
mod calls;
mod outputs;
mod tasks;

pub use calls::*;
pub use outputs::*;
pub use tasks::*;
