//! Every kernel against a sequential reference, over seeded random data and edge cases.
use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const OPS: [UnaryOp; 11] = [
    UnaryOp::Square,
    UnaryOp::Sqrt,
    UnaryOp::Abs,
    UnaryOp::Neg,
    UnaryOp::Exp,
    UnaryOp::Log,
    UnaryOp::Sin,
    UnaryOp::Cos,
    UnaryOp::Affine { a: 2.5, b: -1.0 },
    UnaryOp::Pow { p: 1.5 },
    UnaryOp::Clamp { lo: -1.0, hi: 2.0 },
];

const EDGES: [f64; 10] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::MIN_POSITIVE / 4.0,
    16_777_217.0,
    0.1,
];

fn random(seed: u64, len: usize) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..len)
        .map(|i| match i % 5 {
            0 => rng.random_range(-1e6..1e6),
            1 => rng.random_range(-1.0..1.0),
            _ => rng.random_range(0.0..100.0),
        })
        .collect()
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

#[test]
fn every_map_kernel_matches_the_sequential_reference_in_f64() {
    for len in [0usize, 1, 7, 8, 9, 1000, 4099] {
        let mut data = random(len as u64, len);
        data.extend_from_slice(&EDGES);
        for op in OPS {
            let mut out = vec![0.0; data.len()];
            map_slice(op, &data, &mut out);
            for (x, y) in data.iter().zip(&out) {
                assert!(same(op.apply(*x), *y), "{op:?}({x}) gave {y}");
            }
        }
    }
}

#[test]
fn f32_results_are_the_f64_result_rounded_once() {
    let data: Vec<f32> = random(7, 2049)
        .into_iter()
        .chain(EDGES)
        .map(|x| x as f32)
        .collect();
    for op in OPS {
        let mut out = vec![0.0f32; data.len()];
        map_slice(op, &data, &mut out);
        for (x, y) in data.iter().zip(&out) {
            let expected = op.apply(f64::from(*x)) as f32;
            assert!(
                same(f64::from(expected), f64::from(*y)),
                "{op:?}({x}) gave {y}"
            );
        }
    }
    // 4097 squared is 16785409, which float32 cannot hold: it rounds to even.
    let mut out = [0.0f32];
    map_slice(UnaryOp::Square, &[4097.0f32], &mut out);
    assert_eq!(out[0], 16_785_408.0);
}

#[test]
fn in_place_equals_out_of_place() {
    let data = random(3, 5003);
    for op in OPS {
        let mut expected = vec![0.0; data.len()];
        map_slice(op, &data, &mut expected);
        let mut inplace = data.clone();
        map_in_place(op, &mut inplace);
        assert!(
            expected.iter().zip(&inplace).all(|(a, b)| same(*a, *b)),
            "{op:?}"
        );
    }
}

fn sequential(op: ReduceOp, data: &[f64]) -> f64 {
    let folded = data.iter().fold(op.identity(), |a, &x| op.combine(a, x));
    op.finish(folded, data.len())
}

#[test]
fn reductions_match_the_sequential_reference() {
    for len in [1usize, 2, 7, 9, 1000, 65_537] {
        let data = random(len as u64 + 11, len);
        let scale: f64 = data.iter().map(|x| x.abs()).sum();
        for op in [ReduceOp::Sum, ReduceOp::Mean] {
            let got = op.finish(reduce_slice(op, None, &data), len);
            let want = sequential(op, &data);
            // Different association orders: the error is bounded by n·ε·Σ|x|.
            let bound = len as f64 * f64::EPSILON * scale
                / if op == ReduceOp::Mean {
                    len as f64
                } else {
                    1.0
                };
            assert!(
                (got - want).abs() <= bound,
                "{op:?} len {len}: {got} vs {want}"
            );
        }
        for op in [ReduceOp::Min, ReduceOp::Max] {
            assert_eq!(
                reduce_slice(op, None, &data),
                sequential(op, &data),
                "{op:?}"
            );
        }
    }
}

#[test]
fn fused_map_then_reduce_equals_map_then_reduce() {
    let data = random(5, 3001);
    for pre in [UnaryOp::Square, UnaryOp::Sqrt, UnaryOp::Abs, UnaryOp::Exp] {
        let mapped: Vec<f64> = data.iter().map(|&x| pre.apply(x)).collect();
        for op in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max] {
            assert!(same(
                reduce_slice(op, Some(pre), &data),
                reduce_slice(op, None, &mapped)
            ));
        }
    }
}

#[test]
fn nan_propagates_and_empty_gives_the_identity() {
    let mut data = random(9, 100);
    data[57] = f64::NAN;
    for op in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max] {
        assert!(reduce_slice(op, None, &data).is_nan(), "{op:?}");
    }
    let empty: [f64; 0] = [];
    assert_eq!(reduce_slice(ReduceOp::Sum, None, &empty), 0.0);
    assert_eq!(reduce_slice(ReduceOp::Min, None, &empty), f64::INFINITY);
    assert_eq!(reduce_slice(ReduceOp::Max, None, &empty), f64::NEG_INFINITY);
    assert!(ReduceOp::Mean.finish(0.0, 0).is_nan());
}

#[test]
fn reductions_are_deterministic() {
    let data = random(13, 100_003);
    let a = reduce_slice(ReduceOp::Sum, Some(UnaryOp::Sqrt), &data);
    let b = reduce_slice(ReduceOp::Sum, Some(UnaryOp::Sqrt), &data);
    assert_eq!(a.to_bits(), b.to_bits());
}
