//! Expression kernels: compiling an expression once, and running it as a map or a fused
//! reduction over typed arrays. The compiled program travels to JS as an external value
//! that the kernel object holds, so it lives exactly as long as a kernel uses it.

use std::sync::Arc;

use ferropool_core::chunking::Mode;
use ferropool_core::expr::{
    compile_cached, map_expr as core_map_expr, reduce_expr as core_reduce_expr, ExprMapArgs,
    ExprReduceArgs, InputPtr, OutputPtr, Program,
};
use napi::bindgen_prelude::{Array, Either, External, JsObjectValue, Object};
use napi::{Env, JsValue, Result, Unknown, ValueType};
use napi_derive::napi;

use crate::buffers::{invalid, Float, Pinned, TypedView};
use crate::calls::{dispatch, parse_chunk_len, reduce_op, ReduceKernelOp};

/// A compiled expression (opaque to JS).
pub struct ExprProgram(Arc<Program>);

/// What compiling an expression gave: the program and its inputs' names, or the syntax
/// error, already formatted with the expression quoted and a caret under its position.
#[napi(object, object_from_js = false)]
pub struct ExprCompiled {
    /// The compiled program, absent on error.
    #[napi(ts_type = "object")]
    pub program: Option<External<ExprProgram>>,
    /// The inputs' names, in the order their arrays are passed.
    pub inputs: Vec<String>,
    /// The syntax error, if any.
    pub error: Option<String>,
}

/// Compiles `source`, with `constantNames[i]` standing for `constantValues[i]`. Parsed once
/// per process for each distinct source and constants (a bounded LRU cache).
#[napi(catch_unwind)]
pub fn compile_expr(
    source: String,
    constant_names: Vec<String>,
    constant_values: Vec<f64>,
) -> ExprCompiled {
    let constants: Vec<(String, f64)> = constant_names.into_iter().zip(constant_values).collect();
    match compile_cached(&source, &constants) {
        Ok(program) => ExprCompiled {
            inputs: program.inputs.clone(),
            program: Some(External::new(ExprProgram(program))),
            error: None,
        },
        Err(err) => ExprCompiled {
            program: None,
            inputs: Vec::new(),
            error: Some(err.render(&source)),
        },
    }
}

/// The input arrays: one typed array, or a JS array of them.
fn read_inputs(env: &Env, inputs: &Unknown<'_>) -> Result<Vec<TypedView>> {
    if inputs.get_type()? == ValueType::Object && inputs.is_array()? {
        // SAFETY: checked to be an array just above.
        let array: Array = unsafe { inputs.cast()? };
        (0..array.len())
            .map(|i| {
                let value: Unknown<'_> = array.get_element(i)?;
                TypedView::read(env, &value, &format!("input {i}"))
            })
            .collect()
    } else {
        Ok(vec![TypedView::read(env, inputs, "input")?])
    }
}

fn input_ptrs(program: &Program, views: &[TypedView], len: usize) -> Result<Vec<InputPtr>> {
    if views.len() != program.inputs.len() {
        return Err(invalid(format!(
            "the expression has {} inputs but {} arrays were passed",
            program.inputs.len(),
            views.len()
        )));
    }
    views
        .iter()
        .zip(&program.inputs)
        .map(|(view, name)| {
            if view.len != len {
                return Err(invalid(format!(
                    "input {name} has length {} but the call has length {len}",
                    view.len
                )));
            }
            Ok(match view.element {
                Float::F64 => InputPtr::F64(view.data.cast()),
                Float::F32 => InputPtr::F32(view.data.cast()),
            })
        })
        .collect()
}

/// Maps the compiled expression over `inputs` (one typed array, or an array of them in the
/// program's input order) into `out`, a `Float64Array` or `Float32Array` of their length
/// that may be one of them. Returns `undefined` when it ran inline, else a Promise.
#[napi(catch_unwind, ts_return_type = "Promise<void> | void")]
pub fn map_expr<'env>(
    env: &'env Env,
    call_id: u32,
    #[napi(ts_arg_type = "object")] program: &External<ExprProgram>,
    inputs: Unknown<'env>,
    out: Unknown<'env>,
    chunk_len: i64,
    max_workers: u32,
) -> Result<Either<(), Object<'env>>> {
    let program = program.0.clone();
    let views = read_inputs(env, &inputs)?;
    let dst = TypedView::read(env, &out, "opts.out")?;
    let len = dst.len;
    let inputs_ptrs = input_ptrs(&program, &views, len)?;
    let out_start = dst.data as usize;
    let out_end = out_start + dst.byte_len();
    for (view, name) in views.iter().zip(&program.inputs) {
        let start = view.data as usize;
        let end = start + view.byte_len();
        let same = start == out_start && view.element == dst.element;
        if !same && start < out_end && out_start < end && len > 0 {
            return Err(invalid(format!(
                "opts.out overlaps input {name} without being the same array; pass the input itself to work in place"
            )));
        }
    }
    let fresh_output = crate::outputs::is_fresh(dst.data, dst.byte_len());
    let out_ptr = match dst.element {
        Float::F64 => OutputPtr::F64(dst.data.cast()),
        Float::F32 => OutputPtr::F32(dst.data.cast()),
    };
    // SAFETY: every view is a live typed array of `len` aligned elements, and `out` is one
    // of them or overlaps none (checked above). Inline, they outlive the call; on the pool,
    // `pins` keep them alive until the promise settles, and the teardown hook drains the
    // job before the isolate frees them.
    let call = unsafe {
        core_map_expr(ExprMapArgs {
            program,
            inputs: inputs_ptrs,
            out: out_ptr,
            len,
            chunk_len: parse_chunk_len(chunk_len)?,
            max_workers: max_workers.max(1) as usize,
            fresh_output,
        })
    };
    if call.mode() != Mode::Pooled {
        return dispatch(env, call_id, call, Vec::new());
    }
    let mut pins = vec![Pinned::new(env, dst.raw)?];
    for view in &views {
        pins.push(Pinned::new(env, view.raw)?);
    }
    dispatch(env, call_id, call, pins)
}

/// Reduces the compiled expression's values over `inputs` (as in `mapExpr`, `len` elements;
/// `len` matters only for an expression without inputs) with `op`, fused: no array of the
/// values is made. Returns the number when it ran inline, else a Promise of it.
#[napi(catch_unwind, ts_return_type = "Promise<number> | number")]
#[allow(clippy::too_many_arguments)]
pub fn reduce_expr<'env>(
    env: &'env Env,
    call_id: u32,
    op: ReduceKernelOp,
    #[napi(ts_arg_type = "object")] program: &External<ExprProgram>,
    inputs: Unknown<'env>,
    len: u32,
    initial: Option<f64>,
    chunk_len: i64,
    max_workers: u32,
) -> Result<Either<f64, Object<'env>>> {
    let program = program.0.clone();
    let views = read_inputs(env, &inputs)?;
    let len = views.first().map_or(len as usize, |v| v.len);
    let inputs_ptrs = input_ptrs(&program, &views, len)?;
    // SAFETY: live typed arrays of `len` aligned elements, kept alive as in map_expr.
    let call = unsafe {
        core_reduce_expr(ExprReduceArgs {
            program,
            inputs: inputs_ptrs,
            op: reduce_op(op),
            len,
            initial,
            chunk_len: parse_chunk_len(chunk_len)?,
            max_workers: max_workers.max(1) as usize,
        })
    };
    if call.mode() != Mode::Pooled {
        return dispatch(env, call_id, call, Vec::new());
    }
    let pins = views
        .iter()
        .map(|v| Pinned::new(env, v.raw))
        .collect::<Result<Vec<_>>>()?;
    dispatch(env, call_id, call, pins)
}
