//! Kernel calls inline, assisted and pooled give the sequential answer; reductions are
//! bit-identical across thread counts and modes for a given chunking.
use super::*;
use crate::chunking::{ASSISTED_WORK, INLINE_WORK};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn random(seed: u64, len: usize) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-100.0..100.0)).collect()
}

fn map(
    op: UnaryOp,
    src: &[f64],
    dst: &mut [f64],
    chunk_len: Option<usize>,
    max_workers: usize,
) -> KernelCall<()> {
    // SAFETY: both slices outlive the call (it runs to completion below) and do not overlap.
    unsafe {
        map_kernel(MapArgs {
            op,
            src: src.as_ptr(),
            dst: dst.as_mut_ptr(),
            len: src.len(),
            chunk_len,
            max_workers,
        })
    }
}

fn reduce(
    op: ReduceOp,
    data: &[f64],
    chunk_len: Option<usize>,
    max_workers: usize,
    initial: Option<f64>,
) -> KernelCall<f64> {
    // SAFETY: `data` outlives the call, which runs to completion in each test.
    unsafe {
        reduce_kernel(ReduceArgs {
            op,
            pre: None,
            src: data.as_ptr(),
            len: data.len(),
            initial,
            chunk_len,
            max_workers,
        })
    }
}

#[test]
fn the_mode_follows_the_size() {
    let small = random(1, INLINE_WORK);
    let medium = random(2, INLINE_WORK * 2);
    let large = random(3, ASSISTED_WORK + 1);
    let mut out = vec![0.0; large.len()];
    assert_eq!(
        map(UnaryOp::Abs, &small, &mut out[..small.len()], None, 4).mode(),
        Mode::Inline
    );
    assert_eq!(
        map(UnaryOp::Abs, &medium, &mut out[..medium.len()], None, 4).mode(),
        Mode::Assisted
    );
    assert_eq!(
        map(UnaryOp::Abs, &large, &mut out, None, 4).mode(),
        Mode::Pooled
    );
    assert_eq!(
        map(UnaryOp::Abs, &medium, &mut out[..medium.len()], None, 1).mode(),
        Mode::Inline
    );
    assert_eq!(
        map(UnaryOp::Abs, &large, &mut out, Some(large.len()), 4).mode(),
        Mode::Pooled
    );
}

#[test]
fn maps_equal_the_sequential_answer_in_every_mode() {
    for len in [0usize, 1, 1000, 300_000, 1_100_003] {
        let data = random(len as u64, len);
        let want: Vec<f64> = data.iter().map(|&x| UnaryOp::Square.apply(x)).collect();
        for chunk_len in [None, Some(1000), Some(len.max(1) + 5)] {
            for workers in [1, 2, 8] {
                let mut out = vec![f64::NAN; len];
                map(UnaryOp::Square, &data, &mut out, chunk_len, workers)
                    .run_blocking()
                    .unwrap();
                assert_eq!(out, want, "len {len} chunk {chunk_len:?} workers {workers}");
            }
        }
    }
}

#[test]
fn in_place_on_the_pool() {
    let mut data = random(4, 1_100_003);
    let want: Vec<f64> = data.iter().map(|&x| -x).collect();
    let ptr = data.as_mut_ptr();
    // SAFETY: src == dst is the in-place case; the vector outlives the blocking run.
    let call = unsafe {
        map_kernel(MapArgs {
            op: UnaryOp::Neg,
            src: ptr,
            dst: ptr,
            len: data.len(),
            chunk_len: None,
            max_workers: 4,
        })
    };
    call.run_blocking().unwrap();
    assert_eq!(data, want);
}

#[test]
fn reductions_are_identical_across_thread_counts_and_modes() {
    let data = random(5, 1_500_007);
    let chunk = Some(10_000);
    let inline = reduce(ReduceOp::Sum, &data, chunk, 1, None)
        .run_inline()
        .unwrap();
    for workers in [1, 2, 3, 8] {
        let pooled = reduce(ReduceOp::Sum, &data, chunk, workers, None)
            .run_blocking()
            .unwrap();
        assert_eq!(pooled.to_bits(), inline.to_bits(), "workers {workers}");
    }
    let assisted = reduce(ReduceOp::Sum, &data[..300_000], chunk, 2, None)
        .run_assisted(Registry::global())
        .unwrap();
    let alone = reduce(ReduceOp::Sum, &data[..300_000], chunk, 1, None)
        .run_inline()
        .unwrap();
    assert_eq!(assisted.to_bits(), alone.to_bits());
}

#[test]
fn initial_and_empty_inputs() {
    let data = [3.0, -2.0, 8.0];
    assert_eq!(
        reduce(ReduceOp::Sum, &data, None, 2, Some(10.0)).run_blocking(),
        Ok(19.0)
    );
    assert_eq!(
        reduce(ReduceOp::Min, &data, None, 2, Some(-5.0)).run_blocking(),
        Ok(-5.0)
    );
    assert_eq!(
        reduce(ReduceOp::Max, &[], None, 2, None).run_blocking(),
        Ok(f64::NEG_INFINITY)
    );
    assert_eq!(
        reduce(ReduceOp::Sum, &[], None, 2, Some(4.0)).run_blocking(),
        Ok(4.0)
    );
    assert!(reduce(ReduceOp::Mean, &[], None, 2, None)
        .run_blocking()
        .unwrap()
        .is_nan());
    let big = random(6, 2_000_000);
    let mean = reduce(ReduceOp::Mean, &big, None, 4, None)
        .run_blocking()
        .unwrap();
    let want = big.iter().sum::<f64>() / big.len() as f64;
    assert!((mean - want).abs() < 1e-9, "{mean} vs {want}");
}

#[test]
fn a_cancelled_pooled_call_reports_cancelled() {
    let data = random(7, 4_000_000);
    let mut out = vec![0.0; data.len()];
    let (tx, rx) = mpsc::channel();
    let job = map(UnaryOp::Exp, &data, &mut out, Some(1024), 2)
        .spawn(Registry::global(), move |r| tx.send(r).unwrap())
        .unwrap();
    job.cancel(JobError::Cancelled);
    assert_eq!(rx.recv().unwrap(), Err(JobError::Cancelled));
    job.cancel_and_drain();
    assert!(job.is_complete());
}
