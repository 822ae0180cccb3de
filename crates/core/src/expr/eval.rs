//! Running a [`Program`] over cache-sized blocks: each instruction is one tight loop over
//! a block (the `match` on the operation is outside the loop, so LLVM vectorises the
//! arithmetic), registers are block-sized arrays reused from call to call, and no array
//! of the input's size is ever allocated.

use std::cell::RefCell;
use std::ops::Range;

use super::compile::{Instr, MulAddForm, Operand, Program};
use super::ops::*;
use crate::kernels::ReduceOp;

/// Elements per block: a register is 4 KiB, so a program's registers and the block's
/// inputs stay in L1/L2 while its instructions run one after another.
pub const BLOCK: usize = 512;

/// An input array's memory.
#[derive(Debug, Clone, Copy)]
pub enum InputPtr {
    /// `Float64Array` data.
    F64(*const f64),
    /// `Float32Array` data, widened to `f64` as it is read.
    F32(*const f32),
}

/// The output array's memory.
#[derive(Debug, Clone, Copy)]
pub enum OutputPtr {
    /// `Float64Array` data.
    F64(*mut f64),
    /// `Float32Array` data: each result rounded once to `f32`, as `Math.fround` would.
    F32(*mut f32),
}

/// A borrowed input column, for the safe entry points.
#[derive(Debug, Clone, Copy)]
pub enum Column<'a> {
    /// Doubles.
    F64(&'a [f64]),
    /// Floats.
    F32(&'a [f32]),
}

impl Column<'_> {
    fn len(&self) -> usize {
        match self {
            Column::F64(s) => s.len(),
            Column::F32(s) => s.len(),
        }
    }
    fn ptr(&self) -> InputPtr {
        match self {
            Column::F64(s) => InputPtr::F64(s.as_ptr()),
            Column::F32(s) => InputPtr::F32(s.as_ptr()),
        }
    }
}

/// A mutable output column, for the safe entry points.
#[derive(Debug)]
pub enum ColumnMut<'a> {
    /// Doubles.
    F64(&'a mut [f64]),
    /// Floats.
    F32(&'a mut [f32]),
}

/// A thread's block-sized arrays: registers, widened `f32` inputs, and a copy of the result.
#[derive(Debug, Default)]
struct Scratch {
    registers: Vec<Box<[f64]>>,
    widened: Vec<Box<[f64]>>,
    result: Box<[f64]>,
}

fn block() -> Box<[f64]> {
    vec![0.0; BLOCK].into_boxed_slice()
}

impl Scratch {
    fn fit(&mut self, program: &Program, inputs: usize) {
        while self.registers.len() < program.registers {
            self.registers.push(block());
        }
        while self.widened.len() < inputs {
            self.widened.push(block());
        }
        if self.result.len() < BLOCK {
            self.result = block();
        }
    }
}

thread_local! {
    /// Reused by every call on this thread: a 1,000-element call allocates nothing.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch arrays (or fresh ones, if they are in use).
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => f(&mut scratch),
        Err(_) => f(&mut Scratch::default()),
    })
}

/// An argument of one instruction over one block.
#[derive(Clone, Copy)]
enum Src<'a> {
    Slice(&'a [f64]),
    Scalar(f64),
}

impl Src<'_> {
    #[inline(always)]
    fn at(self, i: usize) -> f64 {
        match self {
            Src::Slice(s) => s[i],
            Src::Scalar(x) => x,
        }
    }
}

#[inline(always)]
fn unary(dst: &mut [f64], a: Src<'_>, f: impl Fn(f64) -> f64) {
    match a {
        Src::Slice(a) => {
            let n = dst.len();
            for (d, &x) in dst.iter_mut().zip(&a[..n]) {
                *d = f(x);
            }
        }
        Src::Scalar(x) => dst.fill(f(x)),
    }
}

#[inline(always)]
fn binary(dst: &mut [f64], a: Src<'_>, b: Src<'_>, f: impl Fn(f64, f64) -> f64) {
    let n = dst.len();
    match (a, b) {
        (Src::Slice(a), Src::Slice(b)) => {
            for ((d, &x), &y) in dst.iter_mut().zip(&a[..n]).zip(&b[..n]) {
                *d = f(x, y);
            }
        }
        (Src::Slice(a), Src::Scalar(y)) => {
            for (d, &x) in dst.iter_mut().zip(&a[..n]) {
                *d = f(x, y);
            }
        }
        (Src::Scalar(x), Src::Slice(b)) => {
            for (d, &y) in dst.iter_mut().zip(&b[..n]) {
                *d = f(x, y);
            }
        }
        (Src::Scalar(x), Src::Scalar(y)) => dst.fill(f(x, y)),
    }
}

/// `dst[i] = f(a[i] * b[i], c[i])`, one loop per kind of argument (array or number), so
/// each one vectorises.
#[inline(always)]
fn mul_add(dst: &mut [f64], a: Src<'_>, b: Src<'_>, c: Src<'_>, f: impl Fn(f64, f64) -> f64) {
    let n = dst.len();
    macro_rules! each {
        ($x:expr, $y:expr, $z:expr) => {
            for (i, d) in dst.iter_mut().enumerate() {
                *d = f($x(i) * $y(i), $z(i));
            }
        };
    }
    match (a, b, c) {
        (Src::Slice(a), Src::Slice(b), Src::Slice(c)) => {
            let (a, b, c) = (&a[..n], &b[..n], &c[..n]);
            each!(|i| a[i], |i| b[i], |i| c[i])
        }
        (Src::Slice(a), Src::Slice(b), Src::Scalar(c)) => {
            let (a, b) = (&a[..n], &b[..n]);
            each!(|i| a[i], |i| b[i], |_| c)
        }
        (Src::Slice(a), Src::Scalar(b), Src::Slice(c)) => {
            let (a, c) = (&a[..n], &c[..n]);
            each!(|i| a[i], |_| b, |i| c[i])
        }
        (Src::Scalar(a), Src::Slice(b), Src::Slice(c)) => {
            let (b, c) = (&b[..n], &c[..n]);
            each!(|_| a, |i| b[i], |i| c[i])
        }
        (Src::Slice(a), Src::Scalar(b), Src::Scalar(c)) => {
            let a = &a[..n];
            each!(|i| a[i], |_| b, |_| c)
        }
        (Src::Scalar(a), Src::Slice(b), Src::Scalar(c)) => {
            let b = &b[..n];
            each!(|_| a, |i| b[i], |_| c)
        }
        (Src::Scalar(a), Src::Scalar(b), Src::Slice(c)) => {
            let c = &c[..n];
            each!(|_| a, |_| b, |i| c[i])
        }
        (Src::Scalar(a), Src::Scalar(b), Src::Scalar(c)) => dst.fill(f(a * b, c)),
    }
}

#[inline(always)]
fn ternary(dst: &mut [f64], c: Src<'_>, a: Src<'_>, b: Src<'_>) {
    match c {
        Src::Slice(c) => {
            for (i, (d, &k)) in dst.iter_mut().zip(c).enumerate() {
                *d = select(k, a.at(i), b.at(i));
            }
        }
        Src::Scalar(k) => {
            for (i, d) in dst.iter_mut().enumerate() {
                *d = select(k, a.at(i), b.at(i));
            }
        }
    }
}

macro_rules! unary_dispatch {
    ($($v:ident, $name:literal, $f:path, $cost:literal;)*) => {
        #[inline(always)]
        fn run_unary(op: Op1, dst: &mut [f64], a: Src<'_>) {
            match op { $(Op1::$v => unary(dst, a, $f),)* }
        }
    };
}
macro_rules! binary_dispatch {
    ($($v:ident, $name:literal, $f:path, $cost:literal;)*) => {
        #[inline(always)]
        fn run_binary(op: Op2, dst: &mut [f64], a: Src<'_>, b: Src<'_>) {
            match op { $(Op2::$v => binary(dst, a, b, $f),)* }
        }
    };
}
unary_ops!(unary_dispatch);
binary_ops!(binary_dispatch);

/// One argument of an instruction over the block `start..start + n`.
///
/// # Safety
/// As [`eval_block`]'s: the input's block is valid and unwritten while the result lives.
#[inline(always)]
unsafe fn argument<'a>(
    registers: &'a [Box<[f64]>],
    widened: &'a [Box<[f64]>],
    inputs: &[InputPtr],
    start: usize,
    n: usize,
    operand: Operand,
) -> Src<'a> {
    match operand {
        Operand::Const(x) => Src::Scalar(x),
        Operand::Reg(r) => Src::Slice(&registers[r as usize][..n]),
        Operand::Input(i) => match inputs[i as usize] {
            // SAFETY: in bounds and unwritten, by the caller's contract.
            InputPtr::F64(p) => Src::Slice(unsafe { std::slice::from_raw_parts(p.add(start), n) }),
            InputPtr::F32(_) => Src::Slice(&widened[i as usize][..n]),
        },
    }
}

/// Evaluates the block `start..start + n` (`n <= BLOCK`) and returns its results, which
/// live in `scratch`; or, with `direct`, has the last instruction write them straight into
/// that array at `start` (saving a copy) and returns `None`.
///
/// # Safety
/// [1] Every input pointer is valid for reads of elements `start..start + n`, aligned.
/// [2] Nothing writes those elements during the call (the output is written only after
///     it returns, so an output that is one of the inputs is fine).
/// [3] `direct`, if given, is valid for writes of `start..start + n`, overlaps no input,
///     and nothing else touches that range during the call.
unsafe fn eval_block<'s>(
    program: &Program,
    inputs: &[InputPtr],
    start: usize,
    n: usize,
    scratch: &'s mut Scratch,
    direct: Option<*mut f64>,
) -> Option<&'s [f64]> {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above); [1], [2] passed on.
        return unsafe { eval_block_avx2(program, inputs, start, n, scratch, direct) };
    }
    // SAFETY: [1], [2] passed on.
    unsafe { eval_block_generic(program, inputs, start, n, scratch, direct) }
}

/// [`eval_block`] compiled for AVX2: the release build targets baseline x86-64 (SSE2, two
/// doubles a vector), and the block loops are arithmetic-bound once a block is in L1. No
/// `fma` feature: a fused multiply-add would round once where JS rounds twice.
///
/// # Safety
/// The CPU supports AVX2, and [`eval_block`]'s contract holds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn eval_block_avx2<'s>(
    program: &Program,
    inputs: &[InputPtr],
    start: usize,
    n: usize,
    scratch: &'s mut Scratch,
    direct: Option<*mut f64>,
) -> Option<&'s [f64]> {
    // SAFETY: [`eval_block`]'s contract, passed on.
    unsafe { eval_block_generic(program, inputs, start, n, scratch, direct) }
}

/// The body of [`eval_block`], inlined into each of its CPU-specific versions.
///
/// # Safety
/// As [`eval_block`].
#[inline(always)]
unsafe fn eval_block_generic<'s>(
    program: &Program,
    inputs: &[InputPtr],
    start: usize,
    n: usize,
    scratch: &'s mut Scratch,
    direct: Option<*mut f64>,
) -> Option<&'s [f64]> {
    for (i, input) in inputs.iter().enumerate() {
        if let InputPtr::F32(p) = *input {
            // SAFETY: in bounds and unwritten by [1] and [2].
            let src = unsafe { std::slice::from_raw_parts(p.add(start), n) };
            for (d, &x) in scratch.widened[i].iter_mut().zip(src) {
                *d = f64::from(x);
            }
        }
    }
    let Scratch {
        registers,
        widened,
        result,
    } = scratch;
    let widened: &[Box<[f64]>] = widened;
    macro_rules! src {
        ($registers:expr, $operand:expr) => {
            // SAFETY: [1] and [2], passed on.
            unsafe { argument($registers, widened, inputs, start, n, $operand) }
        };
    }
    for instr in &program.instrs {
        let dst = match *instr {
            Instr::Unary { dst, .. }
            | Instr::Binary { dst, .. }
            | Instr::MulAdd { dst, .. }
            | Instr::Where { dst, .. } => dst,
        } as usize;
        // The compiler never gives an instruction a register it also reads.
        let mut out = std::mem::take(&mut registers[dst]);
        let last = std::ptr::eq(instr, program.instrs.last().expect("in the loop"));
        let d = match direct {
            // SAFETY: [3]: valid, exclusively ours, and disjoint from every input.
            Some(p) if last && program.result == Operand::Reg(dst as u16) => unsafe {
                std::slice::from_raw_parts_mut(p.add(start), n)
            },
            _ => &mut out[..n],
        };
        match *instr {
            Instr::Unary { op, a, .. } => run_unary(op, d, src!(registers, a)),
            Instr::Binary { op, a, b, .. } => {
                run_binary(op, d, src!(registers, a), src!(registers, b))
            }
            Instr::MulAdd { form, a, b, c, .. } => {
                let (a, b, c) = (src!(registers, a), src!(registers, b), src!(registers, c));
                match form {
                    MulAddForm::Add => mul_add(d, a, b, c, |p, c| p + c),
                    MulAddForm::Sub => mul_add(d, a, b, c, |p, c| p - c),
                    MulAddForm::SubFrom => mul_add(d, a, b, c, |p, c| c - p),
                }
            }
            Instr::Where { c, a, b, .. } => ternary(
                d,
                src!(registers, c),
                src!(registers, a),
                src!(registers, b),
            ),
        }
        registers[dst] = out;
    }
    match program.result {
        Operand::Reg(_) if direct.is_some() => None,
        Operand::Reg(r) => Some(&registers[r as usize][..n]),
        other => {
            let value = src!(registers, other);
            for (i, d) in result[..n].iter_mut().enumerate() {
                *d = value.at(i);
            }
            Some(&result[..n])
        }
    }
}

/// Asks the CPU to start loading the next block, `next..end` (at most a block), of every
/// input, and of the output for writing, so that memory streams while the current block's
/// instructions run in cache: without it a multi-instruction program leaves memory idle
/// for all but its first and last instruction. A hint: no effect on any result.
#[inline(always)]
fn prefetch_next(inputs: &[InputPtr], out: Option<OutputPtr>, next: usize, end: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_ET0, _MM_HINT_T0};
        if next >= end {
            return;
        }
        let n = BLOCK.min(end - next);
        let lines = |p: *const u8, bytes: usize, write: bool| {
            let mut offset = 0;
            while offset < bytes {
                // wrapping_add: a hint needs no valid pointer (and this one is in bounds).
                let at = p.wrapping_add(offset).cast::<i8>();
                // SAFETY: a prefetch never faults and changes no memory.
                unsafe {
                    if write {
                        _mm_prefetch::<_MM_HINT_ET0>(at)
                    } else {
                        _mm_prefetch::<_MM_HINT_T0>(at)
                    }
                }
                offset += 64;
            }
        };
        for input in inputs {
            match *input {
                InputPtr::F64(p) => lines(p.wrapping_add(next).cast(), n * 8, false),
                InputPtr::F32(p) => lines(p.wrapping_add(next).cast(), n * 4, false),
            }
        }
        match out {
            Some(OutputPtr::F64(p)) => lines(p.wrapping_add(next).cast_const().cast(), n * 8, true),
            Some(OutputPtr::F32(p)) => lines(p.wrapping_add(next).cast_const().cast(), n * 4, true),
            None => {}
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (inputs, out, next, end);
}

/// Evaluates `program` over `range` of the inputs into the same range of `out`.
///
/// # Safety
/// [1] Every input pointer is valid for reads, and `out` for writes, of `range`, aligned.
/// [2] `out` is either one of the inputs (same address and element type) or overlaps
///     none of them in `range`.
/// [3] No other thread touches `out[range]`, or writes an input's `range`, meanwhile.
///
/// With `stream`, a double output that is no input is written with streaming stores (see
/// [`crate::kernels::stream_copy_f64`]): for outputs far larger than the caches.
pub unsafe fn eval_range(
    program: &Program,
    inputs: &[InputPtr],
    out: OutputPtr,
    range: Range<usize>,
    stream: bool,
) {
    with_scratch(|scratch| {
        scratch.fit(program, inputs.len());
        let aliased = |p: *mut f64| {
            inputs.iter().any(|i| match *i {
                InputPtr::F64(q) => std::ptr::eq(q, p),
                InputPtr::F32(q) => q.cast::<f64>() == p.cast_const(),
            })
        };
        let stream = stream && matches!(out, OutputPtr::F64(p) if !aliased(p));
        // A double output that is no input (not in place) takes the last instruction's
        // results directly: no copy out of the scratch registers (unless it is streamed
        // from them).
        let direct = match out {
            OutputPtr::F64(p)
                if !stream
                    && !program.instrs.is_empty()
                    && matches!(program.result, Operand::Reg(_)) =>
            {
                (!aliased(p)).then_some(p)
            }
            _ => None,
        };
        let mut start = range.start;
        while start < range.end {
            let n = BLOCK.min(range.end - start);
            // A streamed output is not prefetched: its lines are written whole, never read.
            prefetch_next(inputs, (!stream).then_some(out), start + n, range.end);
            // SAFETY: [1] and [3]; the block's inputs are all read before `out` is written
            // below, so the in-place case of [2] is sound; `direct` overlaps no input ([2]:
            // an output that is not one of the inputs overlaps none of them).
            let Some(values) = (unsafe { eval_block(program, inputs, start, n, scratch, direct) })
            else {
                start += n;
                continue;
            };
            match out {
                // SAFETY: in bounds by [1], exclusively ours by [3]; `values` is scratch
                // memory, never the output.
                OutputPtr::F64(p) if stream => unsafe {
                    crate::kernels::stream_copy_f64(values.as_ptr(), p.add(start), n)
                },
                // SAFETY: as above.
                OutputPtr::F64(p) => unsafe {
                    std::ptr::copy_nonoverlapping(values.as_ptr(), p.add(start), n)
                },
                OutputPtr::F32(p) => {
                    for (i, &v) in values.iter().enumerate() {
                        // SAFETY: in bounds by [1], exclusively ours by [3].
                        unsafe { *p.add(start + i) = v as f32 };
                    }
                }
            }
            start += n;
        }
        if stream {
            crate::kernels::stream_fence();
        }
    })
}

/// Lanes of a reduction, as [`crate::kernels::reduce_slice`] keeps them: element `i` of a
/// chunk goes to lane `i % 8`, so a fused expression reduction adds in the same order as
/// the built-in kernels.
const LANES: usize = 8;

/// The partial reduction `op` over the program's values on `range`, in the order
/// [`crate::kernels::reduce_slice`] would reduce them had they been stored in an array.
///
/// # Safety
/// [1] Every input pointer is valid for reads of `range`, aligned.
/// [2] Nothing writes the inputs' `range` during the call.
pub unsafe fn reduce_range(
    program: &Program,
    inputs: &[InputPtr],
    op: ReduceOp,
    range: Range<usize>,
) -> f64 {
    with_scratch(|scratch| {
        scratch.fit(program, inputs.len());
        let mut acc = [op.identity(); LANES];
        let mut start = range.start;
        while start < range.end {
            let n = BLOCK.min(range.end - start);
            prefetch_next(inputs, None, start + n, range.end);
            // SAFETY: [1], [2]; no direct output.
            let values = unsafe { eval_block(program, inputs, start, n, scratch, None) }
                .expect("without a direct output the values are returned");
            // BLOCK is a multiple of LANES, so lane = index within the chunk % LANES.
            match op {
                ReduceOp::Sum | ReduceOp::Mean => fold(&mut acc, values, |a, b| a + b),
                ReduceOp::Min => fold(&mut acc, values, |a, b| ReduceOp::Min.combine(a, b)),
                ReduceOp::Max => fold(&mut acc, values, |a, b| ReduceOp::Max.combine(a, b)),
            }
            start += n;
        }
        let mut width = LANES;
        while width > 1 {
            width /= 2;
            for lane in 0..width {
                acc[lane] = op.combine(acc[lane], acc[lane + width]);
            }
        }
        acc[0]
    })
}

#[inline(always)]
fn fold(acc: &mut [f64; LANES], values: &[f64], step: impl Fn(f64, f64) -> f64) {
    let mut blocks = values.chunks_exact(LANES);
    for block in &mut blocks {
        for lane in 0..LANES {
            acc[lane] = step(acc[lane], block[lane]);
        }
    }
    for (lane, &x) in blocks.remainder().iter().enumerate() {
        acc[lane] = step(acc[lane], x);
    }
}

const _: () = assert!(BLOCK % LANES == 0);

/// Evaluates `program` over whole columns on this thread: the safe entry point (tests,
/// fuzzing). Panics unless every column, and `out`, has the same length and one column
/// is given per input.
pub fn eval_columns(program: &Program, inputs: &[Column<'_>], out: ColumnMut<'_>) {
    let (ptr, len) = match out {
        ColumnMut::F64(s) => (OutputPtr::F64(s.as_mut_ptr()), s.len()),
        ColumnMut::F32(s) => (OutputPtr::F32(s.as_mut_ptr()), s.len()),
    };
    assert_eq!(inputs.len(), program.inputs.len(), "one column per input");
    assert!(
        inputs.iter().all(|c| c.len() == len),
        "columns of one length"
    );
    let ptrs: Vec<InputPtr> = inputs.iter().map(Column::ptr).collect();
    // SAFETY: live slices of `len` elements; `out` is exclusively borrowed, so it overlaps
    // no input, and nothing else can touch any of them during the call.
    unsafe { eval_range(program, &ptrs, ptr, 0..len, false) }
}

/// The reduction `op` over `program`'s values on whole columns, in one chunk.
pub fn reduce_columns(program: &Program, inputs: &[Column<'_>], op: ReduceOp) -> f64 {
    assert_eq!(inputs.len(), program.inputs.len(), "one column per input");
    let len = inputs.first().map_or(0, Column::len);
    assert!(
        inputs.iter().all(|c| c.len() == len),
        "columns of one length"
    );
    let ptrs: Vec<InputPtr> = inputs.iter().map(Column::ptr).collect();
    // SAFETY: live shared slices of `len` elements.
    unsafe { reduce_range(program, &ptrs, op, 0..len) }
}
