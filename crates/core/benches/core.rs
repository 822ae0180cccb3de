//! Benchmarks of the Rust layer alone (no Node), so a regression in the kernels or the
//! scheduler shows without the JS facade: `cargo bench -p ferropool-core`.
//!
//! - `map_square`: a kernel call on 10^3 … 10^7 doubles into a preallocated output, run
//!   where the call's mode says (inline, caller-assisted, or on the pool), with every thread.
//! - `map_square_serial`: the same loop on one thread, the baseline.
//! - `reduce_sum_sqrt`: the fused `sum(sqrt(x))` reduction (deterministic 8-lane fold).
//! - `board_round_trip`: one JS-function chunk through a task board — submit, claim,
//!   complete, take, remove — the fixed cost of a shipped call in the core.

use ferropool_core::kernels::map_slice;
use ferropool_core::tasks::{ChunkOutcome, TaskBoard};
use ferropool_core::{map_kernel, reduce_kernel, MapArgs, ReduceArgs, ReduceOp, UnaryOp};

fn main() {
    divan::main();
}

const SIZES: [usize; 5] = [1_000, 10_000, 100_000, 1_000_000, 10_000_000];

fn data(len: usize) -> Vec<f64> {
    (0..len).map(|i| (i % 1000) as f64).collect()
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[divan::bench(args = SIZES)]
fn map_square(bencher: divan::Bencher, len: usize) {
    let src = data(len);
    let mut dst = vec![0.0; len];
    let workers = threads();
    bencher
        .counter(divan::counter::ItemsCount::new(len))
        .bench_local(|| {
            // SAFETY: both vectors outlive the call, which run_blocking runs to completion, and
            // they do not overlap.
            let call = unsafe {
                map_kernel(MapArgs {
                    op: UnaryOp::Square,
                    src: src.as_ptr(),
                    dst: dst.as_mut_ptr(),
                    len,
                    chunk_len: None,
                    max_workers: workers,
                    fresh_output: false,
                })
            };
            call.run_blocking().expect("the map runs");
        });
}

#[divan::bench(args = SIZES)]
fn map_square_serial(bencher: divan::Bencher, len: usize) {
    let src = data(len);
    let mut dst = vec![0.0; len];
    bencher
        .counter(divan::counter::ItemsCount::new(len))
        .bench_local(|| map_slice(UnaryOp::Square, &src, &mut dst));
}

#[divan::bench(args = SIZES)]
fn reduce_sum_sqrt(bencher: divan::Bencher, len: usize) {
    let src = data(len);
    let workers = threads();
    bencher
        .counter(divan::counter::ItemsCount::new(len))
        .bench_local(|| {
            // SAFETY: the vector outlives the call, which run_blocking runs to completion.
            let call = unsafe {
                reduce_kernel(ReduceArgs {
                    op: ReduceOp::Sum,
                    pre: Some(UnaryOp::Sqrt),
                    src: src.as_ptr(),
                    len,
                    initial: None,
                    chunk_len: None,
                    max_workers: workers,
                })
            };
            divan::black_box(call.run_blocking().expect("the reduction runs"))
        });
}

#[divan::bench(args = [16, 8_192])]
fn board_round_trip(bencher: divan::Bencher, payload: usize) {
    let board = TaskBoard::default();
    let bytes = vec![7u8; payload];
    let mut id = 0u64;
    bencher.bench_local(|| {
        id += 1;
        board.submit(id, String::from("{}"), vec![bytes.clone()], None);
        let claim = board.claim(1).expect("a chunk to claim");
        board.complete(id, claim.index, ChunkOutcome::Done(claim.payload));
        divan::black_box(claim.job.take_outcome(0));
        board.remove(id);
    });
}
