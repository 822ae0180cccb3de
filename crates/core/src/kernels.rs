//! The built-in numeric kernels: element-wise maps and reductions over `f64` and `f32`.
//!
//! Every kernel computes in `f64`; `f32` data is widened on load and, for maps, rounded once
//! on store, so a `Float32Array` result equals `Math.fround(f(x))` of the same JS function.
//! Each operation has its own monomorphic loop (the `match` is outside the loop), which lets
//! LLVM vectorise the cheap ones.

/// A number type the kernels run over: `f64` or `f32`.
pub trait Element: Copy + Send + Sync + 'static {
    /// Widens to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Narrows from `f64`, rounding to nearest.
    fn from_f64(value: f64) -> Self;
}

impl Element for f64 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_f64(value: f64) -> Self {
        value
    }
}

impl Element for f32 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn from_f64(value: f64) -> Self {
        value as f32
    }
}

/// An element-wise operation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnaryOp {
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
    /// `a * x + b` (two roundings, no fused multiply-add, as in JS)
    Affine {
        /// The factor.
        a: f64,
        /// The offset.
        b: f64,
    },
    /// `x ** p`
    Pow {
        /// The exponent.
        p: f64,
    },
    /// `Math.min(Math.max(x, lo), hi)` (NaN stays NaN, signed zeros as in JS); requires `lo <= hi`.
    Clamp {
        /// The lower bound.
        lo: f64,
        /// The upper bound.
        hi: f64,
    },
}

impl UnaryOp {
    /// The operation applied to one value.
    #[inline(always)]
    pub fn apply(self, x: f64) -> f64 {
        match self {
            UnaryOp::Square => x * x,
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Abs => x.abs(),
            UnaryOp::Neg => -x,
            UnaryOp::Exp => x.exp(),
            UnaryOp::Log => x.ln(),
            UnaryOp::Sin => x.sin(),
            UnaryOp::Cos => x.cos(),
            UnaryOp::Affine { a, b } => a * x + b,
            UnaryOp::Pow { p } => pow_js(x, p),
            UnaryOp::Clamp { lo, hi } => clamp(x, lo, hi),
        }
    }

    /// Relative cost of one element, in units of a memory-bound operation such as `square`.
    /// Used to decide whether a call is worth running in parallel.
    pub fn cost(self) -> usize {
        match self {
            UnaryOp::Exp | UnaryOp::Log | UnaryOp::Sin | UnaryOp::Cos | UnaryOp::Pow { .. } => 16,
            _ => 1,
        }
    }
}

/// `x ** p` as JS defines it: C's `pow` (which Rust's `powf` is) except that `x ** NaN` is
/// NaN for every `x` and `(±1) ** ±Infinity` is NaN, where C gives 1.
#[inline(always)]
pub(crate) fn pow_js(x: f64, p: f64) -> f64 {
    if p.is_nan() || (p.is_infinite() && x.abs() == 1.0) {
        f64::NAN
    } else {
        x.powf(p)
    }
}

/// `Math.max` of two numbers: NaN if either is, and +0 over -0.
#[inline(always)]
pub(crate) fn max_js(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if b > a || (b == a && a.is_sign_negative()) {
        b
    } else {
        a
    }
}

/// `Math.min` of two numbers: NaN if either is, and -0 over +0.
#[inline(always)]
pub(crate) fn min_js(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if b < a || (b == a && b.is_sign_negative()) {
        b
    } else {
        a
    }
}

/// `Math.min(Math.max(x, lo), hi)`, signed zeros and NaN included.
#[inline(always)]
fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    min_js(max_js(x, lo), hi)
}

/// Writes `op(src[i])` to `dst[i]` for `i < len`, widening and narrowing through `f64`.
///
/// # Safety
/// [1] `src` is valid for `len` reads and `dst` for `len` writes of `T`, both aligned.
/// [2] `dst` either equals `src` (in place) or does not overlap `src[..len]`.
/// [3] No other thread writes `src[..len]` or touches `dst[..len]` during the call.
pub unsafe fn map_raw<T: Element>(op: UnaryOp, src: *const T, dst: *mut T, len: usize) {
    macro_rules! each {
        ($f:expr) => {{
            let f = $f;
            for i in 0..len {
                // SAFETY: i < len, in bounds by [1]; element i is read before it is written,
                // so the in-place case of [2] is sound; [3] rules out data races.
                unsafe { *dst.add(i) = T::from_f64(f((*src.add(i)).to_f64())) };
            }
        }};
    }
    match op {
        UnaryOp::Square => each!(|x: f64| x * x),
        UnaryOp::Sqrt => each!(f64::sqrt),
        UnaryOp::Abs => each!(f64::abs),
        UnaryOp::Neg => each!(|x: f64| -x),
        UnaryOp::Exp => each!(f64::exp),
        UnaryOp::Log => each!(f64::ln),
        UnaryOp::Sin => each!(f64::sin),
        UnaryOp::Cos => each!(f64::cos),
        UnaryOp::Affine { a, b } => each!(move |x: f64| a * x + b),
        UnaryOp::Pow { p } => each!(move |x: f64| pow_js(x, p)),
        UnaryOp::Clamp { lo, hi } => each!(move |x: f64| clamp(x, lo, hi)),
    }
}

/// As [`map_raw`] for a `dst` that does not overlap `src`, but written with non-temporal
/// (streaming) stores where the target has them (x86-64): the output's cache lines are
/// written to memory whole, without first being read in (a plain store reads each line
/// before it overwrites it) and without evicting cached data. That cuts a memory-bound
/// map's memory traffic by a third when the output is far larger than the caches, and
/// slows it down when the output would have stayed cached: callers choose (see
/// [`crate::chunking::STREAM_BYTES`]). The values written are those of [`map_raw`].
///
/// Elements are mapped into a small buffer on the stack with [`map_raw`]'s loops, then
/// streamed from there to `dst` a cache line at a time; the unaligned ends of `dst` are
/// written with plain stores. The stores are fenced before it returns, so a thread that
/// synchronises with this one afterwards (a job's completion count) sees them.
///
/// # Safety
/// As [`map_raw`], except that `dst` must not overlap `src[..len]` at all.
pub unsafe fn map_raw_streaming<T: Element>(op: UnaryOp, src: *const T, dst: *mut T, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m128i, _mm_load_si128, _mm_sfence, _mm_stream_si128};
        use std::mem::{align_of, size_of, MaybeUninit};

        // The line arithmetic below needs elements that tile a line, aligned to their size
        // (f64 and f32 are); any other Element takes the plain path.
        if size_of::<T>() == 0 || 64 % size_of::<T>() != 0 || align_of::<T>() != size_of::<T>() {
            // SAFETY: forwarded: the caller's guarantees are stronger than map_raw's.
            return unsafe { map_raw(op, src, dst, len) };
        }

        /// Elements are mapped into this at a time: a multiple of a cache line, aligned
        /// to one, small enough to stay in L1.
        #[repr(C, align(64))]
        struct Block([u8; 2048]);
        const LINE: usize = 64;
        let size = size_of::<T>();
        let per_line = LINE / size;
        let per_block = size_of::<Block>() / size;
        // Plain stores up to the first cache-line boundary of `dst`.
        let head = ((dst as usize).wrapping_neg() % LINE / size).min(len);
        let body = (len - head) / per_line * per_line;
        let mut block = MaybeUninit::<Block>::uninit();
        let staged = block.as_mut_ptr().cast::<T>();
        // SAFETY: head <= len, so both ranges lie within [1]; plain stores, as map_raw.
        unsafe { map_raw(op, src, dst, head) };
        let mut done = 0;
        while done < body {
            let n = per_block.min(body - done);
            // SAFETY: head + done + n <= len: within `src[..len]` and `dst[..len]` ([1]).
            let (from, to) = unsafe { (src.add(head + done), dst.add(head + done)) };
            // SAFETY: `from` as above; `staged` is this call's own buffer, aligned for T,
            // and n <= per_block elements fit in it.
            unsafe { map_raw(op, from, staged, n) };
            for part in 0..n * size / 16 {
                // SAFETY: the buffer's first `n * size` bytes were just written, and it is
                // 64-byte aligned; `to` is 64-byte aligned (past the head) with `n * size`
                // bytes of `dst[..len]` after it, which nothing else touches ([3]).
                unsafe {
                    let value = _mm_load_si128(staged.cast::<__m128i>().add(part));
                    _mm_stream_si128(to.cast::<__m128i>().add(part), value);
                }
            }
            done += n;
        }
        // SAFETY: the rest of both ranges, within [1]; plain stores as map_raw.
        unsafe {
            map_raw(
                op,
                src.add(head + body),
                dst.add(head + body),
                len - head - body,
            )
        };
        // SAFETY: SSE2 (baseline on x86-64); orders the streaming stores before any later
        // store of this thread, such as the release that settles the chunk.
        unsafe { _mm_sfence() };
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: forwarded: the caller's guarantees are stronger than map_raw's.
    unsafe {
        map_raw(op, src, dst, len)
    }
}

/// Copies `len` doubles from `src` to `dst` with non-temporal (streaming) stores where the
/// target has them (x86-64), plain stores for `dst`'s unaligned first element: for outputs
/// far larger than the caches (see [`crate::chunking::STREAM_BYTES`]). The stores are not
/// fenced: the caller runs [`stream_fence`] before anything that publishes the output.
///
/// # Safety
/// `src` is valid for reads and `dst` for writes of `len` doubles, aligned to 8 bytes; the
/// two do not overlap, and no other thread touches `dst[..len]` meanwhile.
pub unsafe fn stream_copy_f64(src: *const f64, dst: *mut f64, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_loadu_pd, _mm_stream_pd};
        // Up to the first 16-byte boundary of `dst` (what a streaming store needs).
        let head = (((dst as usize).wrapping_neg() % 16) / 8).min(len);
        // SAFETY: head <= len, within both ranges; they do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(src, dst, head) };
        let pairs = (len - head) / 2;
        for i in 0..pairs {
            let at = head + 2 * i;
            // SAFETY: at + 2 <= len; `dst.add(at)` is 16-byte aligned (past the head);
            // SSE2 is baseline on x86-64.
            unsafe { _mm_stream_pd(dst.add(at), _mm_loadu_pd(src.add(at))) };
        }
        let done = head + 2 * pairs;
        // SAFETY: the rest of both ranges.
        unsafe { std::ptr::copy_nonoverlapping(src.add(done), dst.add(done), len - done) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: forwarded from the caller.
    unsafe {
        std::ptr::copy_nonoverlapping(src, dst, len)
    }
}

/// Orders the streaming stores of [`stream_copy_f64`] before this thread's later stores (the
/// release that settles a chunk), so that a thread that synchronises with it sees them.
pub fn stream_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is baseline on x86-64.
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
}

/// Maps `src` into `dst` (equal lengths). Safe wrapper of [`map_raw`] for distinct slices.
pub fn map_slice<T: Element>(op: UnaryOp, src: &[T], dst: &mut [T]) {
    assert_eq!(src.len(), dst.len(), "map_slice needs equal lengths");
    // SAFETY: two live slices of equal length, one shared and one exclusive, so they are
    // valid, aligned and disjoint, and nothing else can touch them.
    unsafe { map_raw(op, src.as_ptr(), dst.as_mut_ptr(), src.len()) }
}

/// Maps `data` in place. Safe wrapper of [`map_raw`].
pub fn map_in_place<T: Element>(op: UnaryOp, data: &mut [T]) {
    let ptr = data.as_mut_ptr();
    // SAFETY: the exclusive slice is valid and aligned; src == dst is allowed by [2].
    unsafe { map_raw(op, ptr, ptr, data.len()) }
}

/// A reduction over all elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    /// The sum; 0 for no elements.
    Sum,
    /// The smallest element (-0 below +0, as `Math.min`); NaN if any is NaN; +Infinity for
    /// no elements.
    Min,
    /// The largest element (+0 above -0, as `Math.max`); NaN if any is NaN; -Infinity for
    /// no elements.
    Max,
    /// The arithmetic mean; NaN for no elements.
    Mean,
}

impl ReduceOp {
    /// The value of the reduction over no elements, before `finish`.
    pub fn identity(self) -> f64 {
        match self {
            ReduceOp::Sum | ReduceOp::Mean => 0.0,
            ReduceOp::Min => f64::INFINITY,
            ReduceOp::Max => f64::NEG_INFINITY,
        }
    }

    /// Combines two partial results.
    #[inline]
    pub fn combine(self, a: f64, b: f64) -> f64 {
        match self {
            ReduceOp::Sum | ReduceOp::Mean => a + b,
            ReduceOp::Min => min_nan(a, b),
            ReduceOp::Max => max_nan(a, b),
        }
    }

    /// Turns the combined partial over `len` elements into the answer.
    pub fn finish(self, combined: f64, len: usize) -> f64 {
        match self {
            ReduceOp::Mean => combined / len as f64,
            _ => combined,
        }
    }
}

/// `min` that propagates NaN (once either side is NaN the result is NaN) and, like
/// `Math.min`, prefers -0 to +0. Branch-free enough to vectorise.
#[inline(always)]
fn min_nan(a: f64, b: f64) -> f64 {
    if b < a || b.is_nan() || (b == a && b.is_sign_negative()) {
        b
    } else {
        a
    }
}

/// `max` that propagates NaN and, like `Math.max`, prefers +0 to -0.
#[inline(always)]
fn max_nan(a: f64, b: f64) -> f64 {
    if b > a || b.is_nan() || (b == a && a.is_sign_negative()) {
        b
    } else {
        a
    }
}

/// Lanes of independent accumulators: they let the sum vectorise, and fix the order of
/// additions so a chunk's partial does not depend on the machine.
const LANES: usize = 8;

/// The partial reduction of `data`, each element first mapped by `pre` when given.
/// The order of operations depends only on `data.len()`: the result is deterministic.
pub fn reduce_slice<T: Element>(op: ReduceOp, pre: Option<UnaryOp>, data: &[T]) -> f64 {
    match pre {
        None => reduce_with(op, data, |x| x),
        Some(UnaryOp::Square) => reduce_with(op, data, |x| x * x),
        Some(UnaryOp::Sqrt) => reduce_with(op, data, f64::sqrt),
        Some(UnaryOp::Abs) => reduce_with(op, data, f64::abs),
        Some(other) => reduce_with(op, data, move |x| other.apply(x)),
    }
}

#[inline(always)]
fn reduce_with<T: Element>(op: ReduceOp, data: &[T], f: impl Fn(f64) -> f64 + Copy) -> f64 {
    match op {
        ReduceOp::Sum | ReduceOp::Mean => fold_lanes(data, 0.0, f, |a, b| a + b),
        ReduceOp::Min => fold_lanes(data, f64::INFINITY, f, min_nan),
        ReduceOp::Max => fold_lanes(data, f64::NEG_INFINITY, f, max_nan),
    }
}

#[inline(always)]
fn fold_lanes<T: Element>(
    data: &[T],
    init: f64,
    f: impl Fn(f64) -> f64 + Copy,
    step: impl Fn(f64, f64) -> f64 + Copy,
) -> f64 {
    let mut acc = [init; LANES];
    let mut blocks = data.chunks_exact(LANES);
    for block in &mut blocks {
        for lane in 0..LANES {
            acc[lane] = step(acc[lane], f(block[lane].to_f64()));
        }
    }
    for (lane, x) in blocks.remainder().iter().enumerate() {
        acc[lane] = step(acc[lane], f(x.to_f64()));
    }
    // Pairwise combination of the lanes, in a fixed order.
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for lane in 0..width {
            acc[lane] = step(acc[lane], acc[lane + width]);
        }
    }
    acc[0]
}

#[cfg(test)]
mod test;
