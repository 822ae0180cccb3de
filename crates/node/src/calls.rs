//! The exported functions: kernel calls, their cancellation, and the pool's size.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use ferropool_core::chunking::Mode;
use ferropool_core::registry::{cpu_count as core_cpu_count, Registry};
use ferropool_core::{
    map_kernel as core_map, reduce_kernel as core_reduce, Job, JobError, KernelCall, MapArgs,
    ReduceArgs, ReduceOp, UnaryOp,
};
use napi::bindgen_prelude::{Either, Object};
use napi::{Env, Error, Result, Status, Unknown};
use napi_derive::napi;

use crate::buffers::{invalid, Float, Pinned, TypedView};

/// Evaluates `$body` with `$T` standing for the Rust type of a typed array's elements.
macro_rules! by_element {
    ($element:expr, $T:ident => $body:expr) => {
        match $element {
            Float::F64 => {
                type $T = f64;
                $body
            }
            Float::F32 => {
                type $T = f32;
                $body
            }
        }
    };
}

thread_local! {
    /// This isolate's kernel calls that run on the pool, by the call id the facade chose.
    static IN_FLIGHT: RefCell<HashMap<u32, Arc<Job>>> = RefCell::new(HashMap::new());
    /// Whether this isolate's env has the teardown hook that drains its jobs.
    static HOOKED: RefCell<bool> = const { RefCell::new(false) };
}

/// The number of CPUs the process may use (`os.availableParallelism()`, or the
/// `FERROPOOL_THREADS` environment variable when set).
#[napi(catch_unwind)]
pub fn cpu_count() -> u32 {
    core_cpu_count() as u32
}

/// The number of threads in the process-wide native pool.
#[napi(catch_unwind)]
pub fn native_threads() -> u32 {
    Registry::global().threads() as u32
}

/// A built-in element-wise kernel, as `kernels.*` names it. The parameters of `Affine`,
/// `Pow` and `Clamp` travel beside it (`p0`, `p1`).
#[napi]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKernelOp {
    /// `x * x`
    Square,
    /// `Math.sqrt(x)`
    Sqrt,
    /// `Math.abs(x)`
    Abs,
    /// `-x`
    Neg,
    /// `Math.exp(x)`
    Exp,
    /// `Math.log(x)`
    Log,
    /// `Math.sin(x)`
    Sin,
    /// `Math.cos(x)`
    Cos,
    /// `p0 * x + p1`
    Affine,
    /// `x ** p0`
    Pow,
    /// `Math.min(Math.max(x, p0), p1)`; needs `p0 <= p1`.
    Clamp,
}

/// A built-in reduction kernel, as `kernels.*` names it.
#[napi]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceKernelOp {
    /// The sum.
    Sum,
    /// The smallest element.
    Min,
    /// The largest element.
    Max,
    /// The arithmetic mean.
    Mean,
}

fn unary_op(op: MapKernelOp, p0: f64, p1: f64) -> Result<UnaryOp> {
    Ok(match op {
        MapKernelOp::Square => UnaryOp::Square,
        MapKernelOp::Sqrt => UnaryOp::Sqrt,
        MapKernelOp::Abs => UnaryOp::Abs,
        MapKernelOp::Neg => UnaryOp::Neg,
        MapKernelOp::Exp => UnaryOp::Exp,
        MapKernelOp::Log => UnaryOp::Log,
        MapKernelOp::Sin => UnaryOp::Sin,
        MapKernelOp::Cos => UnaryOp::Cos,
        MapKernelOp::Affine => UnaryOp::Affine { a: p0, b: p1 },
        MapKernelOp::Pow => UnaryOp::Pow { p: p0 },
        MapKernelOp::Clamp if p0 <= p1 => UnaryOp::Clamp { lo: p0, hi: p1 },
        MapKernelOp::Clamp => {
            return Err(invalid(format!("clamp needs lo <= hi, got {p0} > {p1}")))
        }
    })
}

pub(crate) fn reduce_op(op: ReduceKernelOp) -> ReduceOp {
    match op {
        ReduceKernelOp::Sum => ReduceOp::Sum,
        ReduceKernelOp::Min => ReduceOp::Min,
        ReduceKernelOp::Max => ReduceOp::Max,
        ReduceKernelOp::Mean => ReduceOp::Mean,
    }
}

pub(crate) fn parse_chunk_len(value: i64) -> Result<Option<usize>> {
    match value {
        0 => Ok(None),
        n if n > 0 => Ok(Some(n as usize)),
        n => Err(invalid(format!(
            "chunksize must be a positive integer, got {n}"
        ))),
    }
}

fn job_error(err: JobError) -> Error {
    let status = match err {
        JobError::Cancelled => "Cancelled",
        JobError::Panicked(_) => "Panicked",
        JobError::Failed(_) => "Failed",
    };
    Error::new(Status::GenericFailure, format!("{status}: {err}"))
}

/// Registers, once per env, the teardown hook that cancels this isolate's jobs and waits for
/// their running chunks, so no pool thread writes into a buffer the isolate is freeing.
fn hook_teardown(env: &Env) -> Result<()> {
    if HOOKED.with(|h| h.replace(true)) {
        return Ok(());
    }
    env.add_env_cleanup_hook((), |()| {
        let jobs: Vec<Arc<Job>> =
            IN_FLIGHT.with(|t| t.borrow_mut().drain().map(|(_, j)| j).collect());
        for job in jobs {
            job.cancel_and_drain();
        }
        HOOKED.with(|h| h.replace(false));
    })?;
    Ok(())
}

/// Runs `call` on this thread (alone or with pool threads helping) and returns its value,
/// or starts it on the pool and returns a Promise of it. `pins` keep the JS buffers alive
/// until the promise settles.
pub(crate) fn dispatch<'env, R>(
    env: &'env Env,
    call_id: u32,
    call: KernelCall<R>,
    pins: Vec<Pinned>,
) -> Result<Either<R, Object<'env>>>
where
    R: napi::bindgen_prelude::ToNapiValue + Send + 'static,
{
    match call.mode() {
        Mode::Inline => return call.run_inline().map(Either::A).map_err(job_error),
        Mode::Assisted => {
            return call
                .run_assisted(Registry::global())
                .map(Either::A)
                .map_err(job_error)
        }
        Mode::Pooled => {}
    }
    hook_teardown(env)?;
    let (deferred, promise) = env.create_deferred::<R, _>()?;
    let job = call.spawn(Registry::global(), move |result| {
        // Runs on the JS thread: forget the job, unpin the buffers, settle the promise.
        deferred.resolve(move |env| {
            IN_FLIGHT.with(|t| t.borrow_mut().remove(&call_id));
            pins.into_iter().for_each(|p| p.release(&env));
            result.map_err(job_error)
        })
    });
    if let Some(job) = job {
        IN_FLIGHT.with(|t| t.borrow_mut().insert(call_id, job));
    }
    Ok(Either::B(promise))
}

/// Maps kernel `op` (with parameters `p0`, `p1`) over `input` into `out`, which may be
/// `input` itself. Returns `undefined` when it ran inline, else a Promise that settles when
/// the pool is done. `chunkLen` 0 picks the default; `maxWorkers` caps the threads.
#[napi(catch_unwind, ts_return_type = "Promise<void> | void")]
// Positional on purpose: an options object (`#[napi(object)]`) for the call id, chunk length
// and thread cap costs its allocation and property reads on every call, a noticeable share
// of a 1,000-element kernel call in a hot loop (W4).
#[allow(clippy::too_many_arguments)]
pub fn map_kernel<'env>(
    env: &'env Env,
    call_id: u32,
    op: MapKernelOp,
    p0: f64,
    p1: f64,
    input: Unknown<'env>,
    out: Unknown<'env>,
    chunk_len: i64,
    max_workers: u32,
) -> Result<Either<(), Object<'env>>> {
    let op = unary_op(op, p0, p1)?;
    let src = TypedView::<Float>::read(env, &input, "input")?;
    let dst = TypedView::<Float>::read(env, &out, "opts.out")?;
    src.check_output(&dst, "opts.out")?;
    let chunk_len = parse_chunk_len(chunk_len)?;
    let max_workers = max_workers.max(1) as usize;
    let len = src.len;
    let fresh_output = crate::outputs::is_fresh(dst.data, dst.byte_len());
    // SAFETY: both views are live typed arrays of `len` aligned elements, checked above to be
    // the same view or disjoint. Inline, they outlive the call; on the pool, `pins` keep them
    // alive until the promise settles and the teardown hook drains the job before the isolate
    // frees them. The documented contract forbids detaching them while a call runs.
    let call = unsafe {
        by_element!(src.element, T => core_map(MapArgs::<T> {
            op,
            src: src.data.cast(),
            dst: dst.data.cast(),
            len,
            chunk_len,
            max_workers,
            fresh_output,
        }))
    };
    if call.mode() != Mode::Pooled {
        return dispatch(env, call_id, call, Vec::new());
    }
    let pins = vec![Pinned::new(env, src.raw)?, Pinned::new(env, dst.raw)?];
    dispatch(env, call_id, call, pins)
}

/// Reduces `input` with kernel `op`, each element first mapped by the map kernel `preOp`
/// (with `p0`, `p1`) when one is given. `initial`, when given, replaces the reduction's
/// identity. Returns the number when it ran inline, else a Promise of it.
#[napi(catch_unwind, ts_return_type = "Promise<number> | number")]
// Positional on purpose, as map_kernel's.
#[allow(clippy::too_many_arguments)]
pub fn reduce_kernel<'env>(
    env: &'env Env,
    call_id: u32,
    op: ReduceKernelOp,
    pre_op: Option<MapKernelOp>,
    p0: f64,
    p1: f64,
    input: Unknown<'env>,
    initial: Option<f64>,
    chunk_len: i64,
    max_workers: u32,
) -> Result<Either<f64, Object<'env>>> {
    let op = reduce_op(op);
    let pre = pre_op.map(|pre| unary_op(pre, p0, p1)).transpose()?;
    let src = TypedView::<Float>::read(env, &input, "input")?;
    let chunk_len = parse_chunk_len(chunk_len)?;
    let max_workers = max_workers.max(1) as usize;
    // SAFETY: a live typed array of `src.len` aligned elements, kept alive as in map_kernel.
    let call = unsafe {
        by_element!(src.element, T => core_reduce(ReduceArgs::<T> {
            op,
            pre,
            src: src.data.cast(),
            len: src.len,
            initial,
            chunk_len,
            max_workers,
        }))
    };
    if call.mode() != Mode::Pooled {
        return dispatch(env, call_id, call, Vec::new());
    }
    let pins = vec![Pinned::new(env, src.raw)?];
    dispatch(env, call_id, call, pins)
}

/// The fraction of call `callId`'s chunks done so far, or -1 when it is not running on the pool.
#[napi(catch_unwind)]
pub fn kernel_progress(call_id: u32) -> f64 {
    IN_FLIGHT.with(|t| t.borrow().get(&call_id).map_or(-1.0, |job| job.progress()))
}

/// Cancels call `callId` of this isolate, if it is still running: chunks not yet started
/// are skipped and its promise rejects with a `Cancelled:` error.
#[napi(catch_unwind)]
pub fn cancel_kernel(call_id: u32) -> bool {
    IN_FLIGHT.with(|t| match t.borrow().get(&call_id) {
        Some(job) => {
            job.cancel(JobError::Cancelled);
            true
        }
        None => false,
    })
}
