//! Every kernel against a sequential reference, over seeded random data and edge cases.
//!
//! Maps are compared bit for bit (any NaN equals any NaN) with `op.apply` of the element
//! widened to `f64`, rounded once to `f32` for `f32` data: the documented contract. Sums and
//! means differ from a left-to-right sum only by rounding, and are checked against the
//! worst-case bound of any summation order (see [`sum_bound`]); minima and maxima are exact.
use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Every operation, the parameterised ones with several parameters.
const OPS: [UnaryOp; 20] = [
    UnaryOp::Square,
    UnaryOp::Sqrt,
    UnaryOp::Abs,
    UnaryOp::Neg,
    UnaryOp::Exp,
    UnaryOp::Log,
    UnaryOp::Sin,
    UnaryOp::Cos,
    UnaryOp::Affine { a: 2.5, b: -1.0 },
    UnaryOp::Affine { a: -0.1, b: 0.3 },
    UnaryOp::Affine { a: 0.0, b: 0.0 },
    UnaryOp::Pow { p: 1.5 },
    UnaryOp::Pow { p: 2.0 },
    UnaryOp::Pow { p: -1.0 },
    UnaryOp::Pow { p: 0.0 },
    UnaryOp::Pow { p: f64::NAN },
    UnaryOp::Clamp { lo: -1.0, hi: 2.0 },
    UnaryOp::Clamp { lo: 0.0, hi: 0.0 },
    UnaryOp::Clamp {
        lo: f64::NEG_INFINITY,
        hi: 0.5,
    },
    UnaryOp::Clamp {
        lo: -1e300,
        hi: f64::INFINITY,
    },
];

/// Values where IEEE 754 arithmetic and the math functions have their special cases.
const EDGES_F64: [f64; 26] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    2.0,
    f64::NAN,
    -f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::MIN_POSITIVE,
    f64::MIN_POSITIVE / 4.0, // subnormal
    -f64::MIN_POSITIVE / 3.0,
    5e-324, // the smallest subnormal
    -5e-324,
    f64::MAX,
    f64::MIN,
    1e154,
    1.5e154, // squares to +Infinity
    709.78,  // the largest finite exp
    710.0,
    -745.2,
    16_777_217.0, // 2^24 + 1: not an f32
    0.1,
    std::f64::consts::PI,
    1e22,
];

/// The same for `f32`: its own subnormals, overflow and rounding boundaries.
const EDGES_F32: [f32; 24] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::MIN_POSITIVE,
    f32::MIN_POSITIVE / 4.0, // subnormal
    -f32::MIN_POSITIVE / 8.0,
    1e-45, // the smallest subnormal
    1e-22, // squares to an f32 subnormal
    1e-30, // squares to zero in f32, not in f64
    f32::MAX,
    f32::MIN,
    1e20, // squares past f32::MAX
    88.0,
    89.0, // exp is finite in f64 but not in f32
    -104.0,
    4097.0, // squares to 16785409, not an f32
    16_777_215.0,
    16_777_216.0,
    0.1,
];

/// Lengths around the kernels' 8-lane blocks, and longer ones.
const LENGTHS: [usize; 16] = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 63, 64, 65, 1000, 4099];

/// Seeded data of every kind: small and large magnitudes of both signs, arbitrary bit
/// patterns (NaNs, infinities, subnormals) and the edge values.
fn mixed_f64(seed: u64, len: usize) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..len)
        .map(|_| match rng.random_range(0..8u32) {
            0 => rng.random_range(-1e6..1e6),
            1 => rng.random_range(-1.0..1.0),
            2 => rng.random_range(0.0..100.0),
            3 => rng.random_range(-800.0..800.0),
            4 => f64::from_bits(rng.random::<u64>()),
            5 => EDGES_F64[rng.random_range(0..EDGES_F64.len())],
            6 => rng.random_range(-1e-300..1e-300),
            _ => rng.random::<f64>(),
        })
        .collect()
}

fn mixed_f32(seed: u64, len: usize) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..len)
        .map(|_| match rng.random_range(0..6u32) {
            0 => rng.random_range(-1e4f32..1e4),
            1 => rng.random_range(-1.0f32..1.0),
            2 => rng.random_range(-120.0f32..120.0),
            3 => f32::from_bits(rng.random::<u32>()),
            4 => EDGES_F32[rng.random_range(0..EDGES_F32.len())],
            _ => rng.random::<f32>(),
        })
        .collect()
}

/// Finite seeded data in `lo..hi`.
fn uniform(seed: u64, len: usize, lo: f64, hi: f64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(lo..hi)).collect()
}

/// Equal bits, except that every NaN equals every NaN.
fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// Bitwise equality of two slices (widening is exact and injective, so comparing the widened
/// bits of `f32` values compares their own bits), naming the first difference.
fn assert_same<T: Element + std::fmt::Debug>(got: &[T], want: &[T], input: &[T], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if let Some(i) = (0..got.len()).find(|&i| !same(got[i].to_f64(), want[i].to_f64())) {
        panic!(
            "{what}: at {i} of {}, input {:?} gave {:?}, want {:?}",
            got.len(),
            input[i],
            got[i],
            want[i]
        );
    }
}

/// The documented contract of a map: compute in `f64`, round once on the store.
fn reference_map<T: Element>(op: UnaryOp, data: &[T]) -> Vec<T> {
    data.iter()
        .map(|&x| T::from_f64(op.apply(x.to_f64())))
        .collect()
}

/// Maps `data` out of place and in place, and compares both with the reference.
fn check_map<T: Element + std::fmt::Debug>(op: UnaryOp, data: &[T], what: &str) {
    let want = reference_map(op, data);
    let mut out = vec![T::from_f64(-12_345.5); data.len()];
    map_slice(op, data, &mut out);
    assert_same(&out, &want, data, &format!("{op:?} {what} out of place"));
    let mut inplace = data.to_vec();
    map_in_place(op, &mut inplace);
    assert_same(&inplace, &want, data, &format!("{op:?} {what} in place"));
}

#[test]
fn every_op_maps_f64_exactly_like_its_scalar_definition() {
    for (seed, len) in LENGTHS.into_iter().enumerate() {
        let data = mixed_f64(seed as u64, len);
        for op in OPS {
            check_map(op, &data, &format!("f64 len {len}"));
        }
    }
}

#[test]
fn every_op_maps_f32_by_computing_in_f64_and_rounding_once() {
    for (seed, len) in LENGTHS.into_iter().enumerate() {
        let data = mixed_f32(100 + seed as u64, len);
        for op in OPS {
            check_map(op, &data, &format!("f32 len {len}"));
        }
    }
}

#[test]
fn every_edge_value_maps_alone_and_among_others() {
    for op in OPS {
        check_map::<f64>(op, &[], "f64 empty");
        check_map::<f32>(op, &[], "f32 empty");
        for x in EDGES_F64 {
            check_map(op, &[x], "f64 single");
        }
        for x in EDGES_F32 {
            check_map(op, &[x], "f32 single");
        }
        check_map(op, &EDGES_F64, "f64 edges");
        check_map(op, &EDGES_F32, "f32 edges");
        // Every edge widened from f32 to f64 too.
        let widened: Vec<f64> = EDGES_F32.iter().map(|&x| f64::from(x)).collect();
        check_map(op, &widened, "f64 of f32 edges");
    }
}

/// The reference above is `op.apply` itself; these pin `apply` to IEEE 754 and JS.
#[test]
fn special_values_follow_ieee_754() {
    let map1 = |op: UnaryOp, x: f64| {
        let mut out = [0.0];
        map_slice(op, &[x], &mut out);
        out[0]
    };
    let bits = |x: f64| x.to_bits();
    assert_eq!(bits(map1(UnaryOp::Square, -0.0)), bits(0.0));
    assert_eq!(bits(map1(UnaryOp::Sqrt, -0.0)), bits(-0.0));
    assert_eq!(bits(map1(UnaryOp::Abs, -0.0)), bits(0.0));
    assert_eq!(bits(map1(UnaryOp::Neg, 0.0)), bits(-0.0));
    assert_eq!(map1(UnaryOp::Square, 1.5e154), f64::INFINITY);
    assert_eq!(map1(UnaryOp::Square, 5e-324), 0.0);
    assert_eq!(map1(UnaryOp::Sqrt, 4.0), 2.0);
    assert!(map1(UnaryOp::Sqrt, -1.0).is_nan());
    assert_eq!(map1(UnaryOp::Sqrt, f64::INFINITY), f64::INFINITY);
    assert_eq!(map1(UnaryOp::Exp, f64::NEG_INFINITY), 0.0);
    assert_eq!(map1(UnaryOp::Exp, 710.0), f64::INFINITY);
    assert_eq!(map1(UnaryOp::Exp, 0.0), 1.0);
    assert_eq!(map1(UnaryOp::Log, 0.0), f64::NEG_INFINITY);
    assert_eq!(map1(UnaryOp::Log, -0.0), f64::NEG_INFINITY);
    assert!(map1(UnaryOp::Log, -1.0).is_nan());
    assert_eq!(map1(UnaryOp::Log, 1.0), 0.0);
    assert!(map1(UnaryOp::Sin, f64::INFINITY).is_nan());
    assert!(map1(UnaryOp::Cos, f64::NEG_INFINITY).is_nan());
    assert_eq!(bits(map1(UnaryOp::Sin, -0.0)), bits(-0.0));
    assert_eq!(map1(UnaryOp::Cos, 0.0), 1.0);
    // a * x + b with two roundings: 0 * Infinity is NaN; 0.1 * 3 + 0 is not 0.3.
    assert!(map1(UnaryOp::Affine { a: 0.0, b: 1.0 }, f64::INFINITY).is_nan());
    assert_eq!(
        map1(UnaryOp::Affine { a: 0.1, b: 0.0 }, 3.0),
        0.300_000_000_000_000_04
    );
    // x ** 0 is 1 even for NaN, as in JS (`NaN ** 0 === 1`).
    assert_eq!(map1(UnaryOp::Pow { p: 0.0 }, f64::NAN), 1.0);
    assert_eq!(map1(UnaryOp::Pow { p: 0.5 }, 16.0), 4.0);
    assert!(map1(UnaryOp::Pow { p: 0.5 }, -16.0).is_nan());
    assert_eq!(map1(UnaryOp::Pow { p: -1.0 }, 0.0), f64::INFINITY);
    // Clamp keeps NaN and clamps the infinities.
    let clamp = UnaryOp::Clamp { lo: -1.0, hi: 2.0 };
    assert!(map1(clamp, f64::NAN).is_nan());
    assert_eq!(map1(clamp, f64::INFINITY), 2.0);
    assert_eq!(map1(clamp, f64::NEG_INFINITY), -1.0);
    assert_eq!(map1(clamp, 0.25), 0.25);
    assert_eq!(map1(UnaryOp::Clamp { lo: 3.0, hi: 3.0 }, -7.0), 3.0);
}

#[test]
fn f32_results_are_rounded_once_not_twice() {
    let map1 = |op: UnaryOp, x: f32| {
        let mut out = [0.0f32];
        map_slice(op, &[x], &mut out);
        out[0]
    };
    // 4097² = 16785409 is not an f32 (it rounds to even, 16785408), but 4097² + 1 is:
    // rounding the product first, as f32 arithmetic would, gives 16785408 instead.
    let affine = UnaryOp::Affine { a: 4097.0, b: 1.0 };
    assert_eq!(map1(affine, 4097.0), 16_785_410.0);
    assert_eq!(4097.0f32 * 4097.0f32 + 1.0f32, 16_785_408.0);
    assert_eq!(map1(UnaryOp::Square, 4097.0), 16_785_408.0);
    // (2^24 - 1)² = 2^48 - 2^25 + 1 rounds down to 2^48 - 2^25.
    assert_eq!(map1(UnaryOp::Square, 16_777_215.0), 281_474_943_156_224.0);
    // 0.1f32 is 0.100000001490116...; its square in f64, rounded once.
    let tenth = f64::from(0.1f32);
    assert_eq!(map1(UnaryOp::Square, 0.1), (tenth * tenth) as f32);
    // f32 overflow and underflow happen on the store, not before.
    assert_eq!(map1(UnaryOp::Square, 1e20), f32::INFINITY);
    assert_eq!(map1(UnaryOp::Exp, 89.0), f32::INFINITY);
    assert_eq!(map1(UnaryOp::Square, 1e-30), 0.0);
    let sub = map1(UnaryOp::Square, 1e-22);
    assert!(
        sub > 0.0 && !sub.is_normal(),
        "1e-22² is an f32 subnormal, got {sub}"
    );
    assert_eq!(sub, (f64::from(1e-22f32) * f64::from(1e-22f32)) as f32);
    // A value between two f32s rounds to nearest, ties to even.
    assert_eq!(f32::from_f64(16_777_217.0), 16_777_216.0);
    assert_eq!(f32::from_f64(16_777_219.0), 16_777_220.0);
    assert_eq!(
        map1(UnaryOp::Affine { a: 1.0, b: 1.0 }, 16_777_216.0),
        16_777_216.0
    );
    assert_eq!(
        map1(UnaryOp::Affine { a: 1.0, b: 1.5 }, 16_777_216.0),
        16_777_218.0
    );
}

#[test]
#[should_panic(expected = "equal lengths")]
fn map_slice_rejects_unequal_lengths() {
    let mut out = [0.0; 3];
    map_slice(UnaryOp::Neg, &[1.0, 2.0], &mut out);
}

// ---- Reductions ----

/// Higham's γ_n = n·u / (1 − n·u), with u = 2⁻⁵³ the unit roundoff.
fn gamma(n: usize) -> f64 {
    let nu = n as f64 * (f64::EPSILON / 2.0);
    assert!(nu < 0.5);
    nu / (1.0 - nu)
}

/// How far two sums of the same `n` terms, added in different orders, may be apart.
///
/// Any order of summing `n` terms is within γ_{n−1}·Σ|x| of the exact sum (Higham, *Accuracy
/// and Stability of Numerical Algorithms*, §4.2), so two orders are within
/// `2·γ_n·Σ|x|` of each other. This is a worst-case bound, never flaky.
fn sum_bound(n: usize, abs_sum: f64) -> f64 {
    2.0 * gamma(n) * abs_sum
}

/// For means, each sum divided by `n` adds one rounding of the quotient:
/// `|a/n − b/n| ≤ (|a − b| + u·|a| + u·|b|) / n ≤ 2·γ_{n+1}·Σ|x| / n`.
fn mean_bound(n: usize, abs_sum: f64) -> f64 {
    2.0 * gamma(n + 1) * abs_sum / n as f64
}

fn seq_sum(xs: impl Iterator<Item = f64>) -> f64 {
    let mut sum = 0.0;
    for x in xs {
        sum += x;
    }
    sum
}

fn seq_min(xs: impl Iterator<Item = f64>) -> f64 {
    let mut min = f64::INFINITY;
    for x in xs {
        if x.is_nan() {
            return f64::NAN;
        }
        if x < min {
            min = x;
        }
    }
    min
}

fn seq_max(xs: impl Iterator<Item = f64>) -> f64 {
    let mut max = f64::NEG_INFINITY;
    for x in xs {
        if x.is_nan() {
            return f64::NAN;
        }
        if x > max {
            max = x;
        }
    }
    max
}

/// The reduction as the caller sees it: the partial, finished.
fn reduce<T: Element>(op: ReduceOp, pre: Option<UnaryOp>, data: &[T]) -> f64 {
    op.finish(reduce_slice(op, pre, data), data.len())
}

/// Min and max are exact, but which zero the kernel's lanes keep of `+0` and `-0` (equal
/// under IEEE comparison) depends on their order; elsewhere the bits must match.
fn same_extreme(got: f64, want: f64) -> bool {
    same(got, want) || (got == 0.0 && want == 0.0)
}

/// Checks all four reductions of `pre(data)` against the sequential references.
fn check_reductions<T: Element>(pre: Option<UnaryOp>, data: &[T], what: &str) {
    let mapped: Vec<f64> = data
        .iter()
        .map(|&x| pre.map_or(x.to_f64(), |p| p.apply(x.to_f64())))
        .collect();
    assert!(
        mapped.iter().all(|x| x.is_finite()),
        "{what}: the test data must map to finite values"
    );
    let n = data.len();
    let abs_sum = seq_sum(mapped.iter().map(|x| x.abs()));

    let (got, want) = (
        reduce(ReduceOp::Sum, pre, data),
        seq_sum(mapped.iter().copied()),
    );
    let bound = sum_bound(n, abs_sum);
    assert!(
        (got - want).abs() <= bound,
        "{what} {pre:?} sum: {got} vs {want}, bound {bound}"
    );

    if n > 0 {
        let (got, want) = (reduce(ReduceOp::Mean, pre, data), want / n as f64);
        let bound = mean_bound(n, abs_sum);
        assert!(
            (got - want).abs() <= bound,
            "{what} {pre:?} mean: {got} vs {want}, bound {bound}"
        );
    }

    let (got, want) = (
        reduce(ReduceOp::Min, pre, data),
        seq_min(mapped.iter().copied()),
    );
    assert!(
        same_extreme(got, want),
        "{what} {pre:?} min: {got} vs {want}"
    );
    let (got, want) = (
        reduce(ReduceOp::Max, pre, data),
        seq_max(mapped.iter().copied()),
    );
    assert!(
        same_extreme(got, want),
        "{what} {pre:?} max: {got} vs {want}"
    );
}

/// Whether `pre` is finite over negative inputs too.
fn defined_for_negatives(pre: UnaryOp) -> bool {
    match pre {
        UnaryOp::Sqrt | UnaryOp::Log => false,
        UnaryOp::Pow { p } => p.fract() == 0.0,
        _ => true,
    }
}

#[test]
fn sums_and_means_are_within_rounding_of_a_sequential_sum_and_min_max_are_exact() {
    let lengths = [1usize, 2, 3, 7, 8, 9, 15, 16, 17, 100, 1001, 65_537];
    for (seed, len) in lengths.into_iter().enumerate() {
        let seed = 1000 + 10 * seed as u64;
        let signed = uniform(seed, len, -50.0, 50.0);
        let positive = uniform(seed + 1, len, 0.01, 50.0);
        let wide = uniform(seed + 2, len, -1e12, 1e12);
        check_reductions(None, &signed, &format!("f64 signed len {len}"));
        check_reductions(None, &wide, &format!("f64 wide len {len}"));
        for pre in OPS
            .into_iter()
            .filter(|p| !matches!(p, UnaryOp::Pow { p } if p.is_nan()))
        {
            check_reductions(Some(pre), &positive, &format!("f64 positive len {len}"));
            if defined_for_negatives(pre) {
                check_reductions(Some(pre), &signed, &format!("f64 signed len {len}"));
            }
        }
        let signed32: Vec<f32> = signed.iter().map(|&x| x as f32).collect();
        let positive32: Vec<f32> = positive.iter().map(|&x| x as f32).collect();
        check_reductions(None, &signed32, &format!("f32 signed len {len}"));
        for pre in [UnaryOp::Square, UnaryOp::Sqrt, UnaryOp::Log, UnaryOp::Exp] {
            check_reductions(Some(pre), &positive32, &format!("f32 positive len {len}"));
        }
    }
}

#[test]
fn f32_data_is_reduced_in_f64() {
    // Summed in f32, 2^24 + 1 + 1 would stay 2^24.
    let data = [16_777_216.0f32, 1.0, 1.0];
    assert_eq!(reduce_slice(ReduceOp::Sum, None, &data), 16_777_218.0);
    // The fused square is not rounded to f32 before it is added.
    let x = 4097.0f32;
    assert_eq!(
        reduce_slice(ReduceOp::Sum, Some(UnaryOp::Square), &[x]),
        16_785_409.0
    );
    // Nor is it overflowed to f32 infinity.
    let big = 1e20f32;
    let square = reduce_slice(ReduceOp::Max, Some(UnaryOp::Square), &[big]);
    assert_eq!(square, f64::from(big) * f64::from(big));
    assert!(square.is_finite());
}

#[test]
fn fused_pre_ops_equal_mapping_then_reducing() {
    for (seed, len) in [0usize, 1, 9, 17, 1000, 3001].into_iter().enumerate() {
        let data = mixed_f64(200 + seed as u64, len);
        let data32 = mixed_f32(300 + seed as u64, len);
        for pre in OPS {
            let mapped: Vec<f64> = data.iter().map(|&x| pre.apply(x)).collect();
            // f32 elements are widened and mapped in f64, with no rounding in between.
            let mapped32: Vec<f64> = data32.iter().map(|&x| pre.apply(f64::from(x))).collect();
            for op in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max, ReduceOp::Mean] {
                let (got, want) = (
                    reduce_slice(op, Some(pre), &data),
                    reduce_slice(op, None, &mapped),
                );
                assert!(
                    same(got, want),
                    "{op:?} of {pre:?}, len {len}: {got} vs {want}"
                );
                let (got, want) = (
                    reduce_slice(op, Some(pre), &data32),
                    reduce_slice(op, None, &mapped32),
                );
                assert!(
                    same(got, want),
                    "f32 {op:?} of {pre:?}, len {len}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn a_nan_anywhere_makes_every_reduction_nan() {
    for len in [1usize, 2, 7, 8, 9, 16, 17, 40] {
        let clean = uniform(len as u64, len, -10.0, 10.0);
        for at in 0..len {
            let mut data = clean.clone();
            data[at] = f64::NAN;
            let data32: Vec<f32> = data.iter().map(|&x| x as f32).collect();
            for op in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max, ReduceOp::Mean] {
                assert!(
                    reduce(op, None, &data).is_nan(),
                    "{op:?} len {len} NaN at {at}"
                );
                assert!(
                    reduce(op, None, &data32).is_nan(),
                    "f32 {op:?} len {len} NaN at {at}"
                );
                assert!(
                    reduce(op, Some(UnaryOp::Square), &data).is_nan(),
                    "{op:?} of squares, len {len} NaN at {at}"
                );
            }
            // A NaN made by the fused op propagates the same way.
            let mut negative = clean.iter().map(|x| x.abs() + 1.0).collect::<Vec<_>>();
            negative[at] = -1.0;
            for pre in [UnaryOp::Sqrt, UnaryOp::Log] {
                for op in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max] {
                    assert!(
                        reduce(op, Some(pre), &negative).is_nan(),
                        "{op:?} of {pre:?}, len {len} negative at {at}"
                    );
                }
            }
        }
    }
}

#[test]
fn infinities_reduce_as_in_ieee_754() {
    let inf = f64::INFINITY;
    assert_eq!(reduce(ReduceOp::Sum, None, &[1.0, inf, 2.0]), inf);
    assert!(reduce(ReduceOp::Sum, None, &[inf, 1.0, -inf]).is_nan());
    assert_eq!(reduce(ReduceOp::Min, None, &[1.0, -inf, 2.0]), -inf);
    assert_eq!(reduce(ReduceOp::Max, None, &[1.0, inf, 2.0]), inf);
    assert_eq!(reduce(ReduceOp::Min, None, &[inf, inf]), inf);
    assert_eq!(reduce(ReduceOp::Max, None, &[-inf]), -inf);
    assert_eq!(reduce(ReduceOp::Mean, None, &[inf, 1.0]), inf);
    // Overflow of a finite sum.
    assert_eq!(reduce(ReduceOp::Sum, None, &[f64::MAX; 16]), inf);
    assert_eq!(
        reduce(ReduceOp::Sum, Some(UnaryOp::Exp), &[710.0, 0.0]),
        inf
    );
}

#[test]
fn an_empty_input_gives_the_identity() {
    let empty: [f64; 0] = [];
    let empty32: [f32; 0] = [];
    for pre in [
        None,
        Some(UnaryOp::Square),
        Some(UnaryOp::Log),
        Some(UnaryOp::Exp),
    ] {
        // +0, not -0.
        assert_eq!(reduce_slice(ReduceOp::Sum, pre, &empty).to_bits(), 0);
        assert_eq!(reduce_slice(ReduceOp::Sum, pre, &empty32).to_bits(), 0);
        assert_eq!(reduce_slice(ReduceOp::Min, pre, &empty), f64::INFINITY);
        assert_eq!(reduce_slice(ReduceOp::Min, pre, &empty32), f64::INFINITY);
        assert_eq!(reduce_slice(ReduceOp::Max, pre, &empty), f64::NEG_INFINITY);
        assert_eq!(
            reduce_slice(ReduceOp::Max, pre, &empty32),
            f64::NEG_INFINITY
        );
        assert!(reduce(ReduceOp::Mean, pre, &empty).is_nan());
        assert!(reduce(ReduceOp::Mean, pre, &empty32).is_nan());
    }
    assert_eq!(ReduceOp::Sum.identity(), 0.0);
    assert_eq!(ReduceOp::Mean.identity(), 0.0);
    assert_eq!(ReduceOp::Min.identity(), f64::INFINITY);
    assert_eq!(ReduceOp::Max.identity(), f64::NEG_INFINITY);
    // The identity is neutral for `combine`.
    for op in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max] {
        for x in [-3.5, 0.0, 7.0, f64::MAX] {
            assert_eq!(op.combine(op.identity(), x), x, "{op:?}");
            assert_eq!(op.combine(x, op.identity()), x, "{op:?}");
        }
        assert!(op.combine(op.identity(), f64::NAN).is_nan());
        assert!(op.combine(f64::NAN, 1.0).is_nan());
    }
}

#[test]
fn reductions_are_deterministic_and_independent_of_alignment() {
    let data = mixed_f64(77, 100_003);
    let finite = uniform(78, 100_003, -1e3, 1e3);
    for op in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max, ReduceOp::Mean] {
        for pre in [
            None,
            Some(UnaryOp::Sqrt),
            Some(UnaryOp::Sin),
            Some(UnaryOp::Square),
        ] {
            for input in [&data, &finite] {
                let first = reduce(op, pre, input);
                let again = reduce(op, pre, input);
                assert_eq!(first.to_bits(), again.to_bits(), "{op:?} {pre:?}");
                // The same values at another address (shifted by one element) reduce the same:
                // the order of operations depends only on the length.
                let mut shifted = vec![0.0; input.len() + 1];
                shifted[1..].copy_from_slice(input);
                let moved = reduce(op, pre, &shifted[1..]);
                assert_eq!(first.to_bits(), moved.to_bits(), "{op:?} {pre:?} shifted");
            }
        }
    }
}

/// Streams `data[skip..]` into `out[shift..]` and compares it with the plain map.
fn check_streaming<T: Element + std::fmt::Debug>(op: UnaryOp, data: &[T], shift: usize) {
    let want = reference_map(op, data);
    let mut out = vec![T::from_f64(-12_345.5); data.len() + shift + 1];
    let sentinel = out.clone();
    let dst = &mut out[shift..shift + data.len()];
    // SAFETY: two live slices of equal length, disjoint (one shared, one exclusive).
    unsafe { map_raw_streaming(op, data.as_ptr(), dst.as_mut_ptr(), data.len()) };
    let what = format!("{op:?} streamed, len {}, shift {shift}", data.len());
    assert_same(&out[shift..shift + data.len()], &want, data, &what);
    assert_same(&out[..shift], &sentinel[..shift], &sentinel, &what);
    assert_same(
        &out[shift + data.len()..],
        &sentinel[shift + data.len()..],
        &sentinel,
        &what,
    );
}

#[test]
fn streaming_maps_write_exactly_what_plain_maps_do_at_any_alignment() {
    let lengths = LENGTHS.into_iter().chain([256, 257, 511, 512, 513, 3000]);
    for (seed, len) in lengths.enumerate() {
        let f64s = mixed_f64(200 + seed as u64, len);
        let f32s = mixed_f32(300 + seed as u64, len);
        for op in OPS {
            // Every position of the output within a cache line.
            for shift in 0..16 {
                check_streaming(op, &f64s, shift % 8);
                check_streaming(op, &f32s, shift);
            }
        }
    }
}
