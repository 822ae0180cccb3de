//! The engine of ferropool, free of any Node.js binding.
//!
//! Work is split into chunks ([`chunking`]), wrapped in a [`job::Job`] whose chunks threads
//! claim one at a time, and run on the process-wide [`registry::Registry`] of native threads,
//! which spin briefly and then park when idle ([`sleep`]). The numeric [`kernels`] are the
//! first kind of work; [`parallel`] turns a kernel call into a job, or runs it inline on the
//! calling thread when it is too small to be worth a wake-up.
#![deny(missing_docs)]

pub mod chunking;
pub mod expr;
pub mod job;
pub mod kernels;
pub mod parallel;
pub mod registry;
pub mod sleep;
pub mod tasks;

pub use job::{Job, JobError, JobResult};
pub use kernels::{Element, ReduceOp, UnaryOp};
pub use parallel::{map_kernel, reduce_kernel, KernelCall, MapArgs, ReduceArgs};
pub use registry::Registry;
