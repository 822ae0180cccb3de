//! Kernel calls give the sequential answer however they run (inline, assisted, blocking on the
//! pool, spawned), for every chunking and thread cap; reductions are bit-identical to the
//! chunk-ordered sequential reduction whatever the thread count or timing.
use super::*;
use crate::chunking::{chunk_count, ASSISTED_WORK, INLINE_WORK};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::{Barrier, MutexGuard};
use std::time::Duration;

/// A pooled call that has not completed after this long is taken to be lost.
const WAIT: Duration = Duration::from_secs(60);

/// Written to outputs beforehand, to tell elements never written.
const UNTOUCHED: f64 = -12_345.5;

/// Above the inline threshold for a cheap operation (assisted) and far above it for a
/// costly one (pooled); odd lengths, so the last chunk is short. Debug-build kernels are
/// slow, so the full matrices use `MEDIUM`, and a few runs the larger ones.
const MEDIUM: usize = 140_001;
const BIG: usize = 300_000;
const LARGE: usize = 1_000_003;

/// Seeded data, uniform in `[-100, 100)`. `StdRng` (ChaCha12) takes most of a second per
/// million values in a debug build, so it only seeds a SplitMix64 stream that makes the bulk.
fn random(seed: u64, len: usize) -> Vec<f64> {
    let mut state: u64 = StdRng::seed_from_u64(seed).random();
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64 * 200.0 - 100.0
        })
        .collect()
}

/// Equal bits, except that every NaN equals every NaN.
fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn assert_same<T: Element + std::fmt::Debug>(got: &[T], want: &[T], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if let Some(i) = (0..got.len()).find(|&i| !same(got[i].to_f64(), want[i].to_f64())) {
        panic!("{what}: element {i} is {:?}, want {:?}", got[i], want[i]);
    }
}

fn reference_map<T: Element>(op: UnaryOp, data: &[T]) -> Vec<T> {
    data.iter()
        .map(|&x| T::from_f64(op.apply(x.to_f64())))
        .collect()
}

/// The ways to run a call.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Run {
    /// [`KernelCall::run_blocking`]: where [`KernelCall::mode`] says.
    Blocking,
    /// [`KernelCall::run_inline`].
    Inline,
    /// [`KernelCall::run_assisted`] on the global registry.
    Assisted,
    /// [`KernelCall::spawn`] on the global registry, waited for on a channel.
    Spawned,
}

const RUNS: [Run; 4] = [Run::Blocking, Run::Inline, Run::Assisted, Run::Spawned];

fn run<R: Send + 'static>(call: KernelCall<R>, how: Run) -> Result<R, JobError> {
    match how {
        Run::Blocking => call.run_blocking(),
        Run::Inline => call.run_inline(),
        Run::Assisted => call.run_assisted(Registry::global()),
        Run::Spawned => {
            let (tx, rx) = mpsc::channel();
            let job = call.spawn(Registry::global(), move |r| {
                let _ = tx.send(r);
            });
            rx.recv_timeout(WAIT).unwrap_or_else(|_| {
                // Skip what is left here, so that nothing touches the caller's buffers once
                // the panic frees them.
                job.inspect(|job| job.cancel_and_drain());
                panic!("a spawned call did not complete")
            })
        }
    }
}

fn map<T: Element>(
    op: UnaryOp,
    src: &[T],
    dst: &mut [T],
    chunk_len: Option<usize>,
    max_workers: usize,
) -> KernelCall<()> {
    assert_eq!(src.len(), dst.len());
    // SAFETY: both slices outlive the call, which every test runs to completion (or drains)
    // before it touches them again, and they do not overlap (two live borrows).
    unsafe {
        map_kernel(MapArgs {
            op,
            src: src.as_ptr(),
            dst: dst.as_mut_ptr(),
            len: src.len(),
            chunk_len,
            max_workers,
            fresh_output: false,
        })
    }
}

fn map_in_place<T: Element>(
    op: UnaryOp,
    data: &mut [T],
    chunk_len: Option<usize>,
    max_workers: usize,
) -> KernelCall<()> {
    let ptr = data.as_mut_ptr();
    // SAFETY: src == dst is the in-place case; the slice outlives the call, which each test
    // runs to completion before it reads the slice again.
    unsafe {
        map_kernel(MapArgs {
            op,
            src: ptr,
            dst: ptr,
            len: data.len(),
            chunk_len,
            max_workers,
            fresh_output: false,
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Reduction {
    op: ReduceOp,
    pre: Option<UnaryOp>,
    initial: Option<f64>,
    chunk_len: Option<usize>,
}

fn reduce<T: Element>(r: Reduction, data: &[T], max_workers: usize) -> KernelCall<f64> {
    // SAFETY: `data` outlives the call, which every test runs to completion, and nothing
    // writes it meanwhile (a shared borrow).
    unsafe {
        reduce_kernel(ReduceArgs {
            op: r.op,
            pre: r.pre,
            src: data.as_ptr(),
            len: data.len(),
            initial: r.initial,
            chunk_len: r.chunk_len,
            max_workers,
        })
    }
}

/// The documented answer, sequentially: each chunk reduced by [`reduce_slice`], the partials
/// combined in chunk order starting from `initial` (or the identity).
fn chunked_reference<T: Element>(r: Reduction, data: &[T]) -> f64 {
    let len = data.len();
    let chunk = r.chunk_len.unwrap_or_else(|| default_chunk_len(len)).max(1);
    let combined = (0..chunk_count(len, chunk))
        .map(|i| reduce_slice(r.op, r.pre, &data[chunk_range(i, chunk, len)]))
        .fold(r.initial.unwrap_or_else(|| r.op.identity()), |acc, p| {
            r.op.combine(acc, p)
        });
    r.op.finish(combined, len)
}

/// A plain left-to-right reduction, sharing no code with the kernels.
fn sequential(r: Reduction, data: &[f64]) -> f64 {
    let mut acc = r.initial.unwrap_or(match r.op {
        ReduceOp::Sum | ReduceOp::Mean => 0.0,
        ReduceOp::Min => f64::INFINITY,
        ReduceOp::Max => f64::NEG_INFINITY,
    });
    for &x in data {
        let x = r.pre.map_or(x, |p| p.apply(x));
        acc = match r.op {
            _ if acc.is_nan() || x.is_nan() => f64::NAN,
            ReduceOp::Sum | ReduceOp::Mean => acc + x,
            ReduceOp::Min => acc.min(x),
            ReduceOp::Max => acc.max(x),
        };
    }
    if r.op == ReduceOp::Mean {
        acc / data.len() as f64
    } else {
        acc
    }
}

/// Two summation orders of `n` terms differ by at most `2·γ_n·Σ|x|`, γ_n = n·u/(1 − n·u),
/// u = 2⁻⁵³ (Higham, *Accuracy and Stability of Numerical Algorithms*, §4.2); one more term
/// for `initial`, and one more rounding for a mean's division.
fn close_to_sequential(r: Reduction, data: &[f64], got: f64) -> bool {
    let want = sequential(r, data);
    match r.op {
        ReduceOp::Min | ReduceOp::Max => same(got, want) || (got == 0.0 && want == 0.0),
        ReduceOp::Sum | ReduceOp::Mean => {
            let n = data.len() + 2;
            let nu = n as f64 * f64::EPSILON / 2.0;
            let abs_sum = data
                .iter()
                .map(|&x| r.pre.map_or(x, |p| p.apply(x)).abs())
                .sum::<f64>()
                + r.initial.unwrap_or(0.0).abs();
            let scale = if r.op == ReduceOp::Mean {
                data.len() as f64
            } else {
                1.0
            };
            same(got, want) || (got - want).abs() <= 2.0 * nu / (1.0 - nu) * abs_sum / scale
        }
    }
}

/// While one of these lives, every pool thread is held inside a one-chunk job, so nothing
/// else runs on the pool: a spawned call stays exactly where the test leaves it. Dropping it
/// lets the threads go. A lock keeps two tests from each holding part of the pool.
struct OccupiedPool {
    release: Arc<Barrier>,
    _one_at_a_time: MutexGuard<'static, ()>,
}

static OCCUPY: Mutex<()> = Mutex::new(());

fn occupy_pool() -> OccupiedPool {
    let guard = OCCUPY.lock().unwrap_or_else(|e| e.into_inner());
    let registry = Registry::global();
    let threads = registry.threads();
    let entered = Arc::new(Barrier::new(threads + 1));
    let release = Arc::new(Barrier::new(threads + 1));
    for _ in 0..threads {
        let (entered, release) = (entered.clone(), release.clone());
        registry.submit(Arc::new(Job::new(
            1,
            1,
            Box::new(move |_| {
                entered.wait();
                release.wait();
                Ok(())
            }),
            Box::new(|_| {}),
        )));
    }
    // One chunk each: every thread is now inside one of them.
    entered.wait();
    OccupiedPool {
        release,
        _one_at_a_time: guard,
    }
}

impl Drop for OccupiedPool {
    fn drop(&mut self) {
        self.release.wait();
    }
}

#[test]
fn the_mode_follows_the_work_and_the_worker_cap() {
    let cases = [
        // (len, op, chunk_len, max_workers, mode)
        (0, UnaryOp::Square, None, 8, Mode::Inline),
        (1, UnaryOp::Exp, None, 8, Mode::Inline),
        (INLINE_WORK, UnaryOp::Square, None, 8, Mode::Inline),
        (INLINE_WORK + 1, UnaryOp::Square, None, 8, Mode::Assisted),
        (INLINE_WORK + 1, UnaryOp::Square, None, 1, Mode::Inline),
        (ASSISTED_WORK, UnaryOp::Square, None, 2, Mode::Assisted),
        (ASSISTED_WORK + 1, UnaryOp::Square, None, 2, Mode::Pooled),
        (ASSISTED_WORK + 1, UnaryOp::Square, None, 1, Mode::Pooled),
        // Sixteen times the cost per element: pooled at a sixteenth of the length.
        (INLINE_WORK / 16, UnaryOp::Exp, None, 8, Mode::Inline),
        (
            INLINE_WORK / 16 + 1,
            UnaryOp::Exp,
            Some(1000),
            8,
            Mode::Assisted,
        ),
        // ... unless it is one chunk.
        (INLINE_WORK / 16 + 1, UnaryOp::Exp, None, 8, Mode::Inline),
        (MEDIUM, UnaryOp::Exp, None, 8, Mode::Pooled),
        (MEDIUM, UnaryOp::Sin, None, 1, Mode::Pooled),
        // One chunk is not worth assisting, but a pooled call stays off the caller.
        (MEDIUM, UnaryOp::Square, Some(MEDIUM), 8, Mode::Inline),
        (MEDIUM, UnaryOp::Exp, Some(MEDIUM + 1), 8, Mode::Pooled),
    ];
    let data = vec![1.0; ASSISTED_WORK + 1];
    let mut out = vec![0.0; data.len()];
    for (len, op, chunk_len, workers, mode) in cases {
        let call = map(op, &data[..len], &mut out[..len], chunk_len, workers);
        assert_eq!(
            call.mode(),
            mode,
            "{op:?} len {len} chunk {chunk_len:?} workers {workers}"
        );
        let chunk = chunk_len.unwrap_or_else(|| default_chunk_len(len));
        assert_eq!(call.chunks(), chunk_count(len, chunk));
        let r = Reduction {
            op: ReduceOp::Sum,
            pre: Some(op),
            initial: None,
            chunk_len,
        };
        assert_eq!(reduce(r, &data[..len], workers).mode(), mode);
    }
    // A bare sum costs what a square does.
    let r = Reduction {
        op: ReduceOp::Max,
        pre: None,
        initial: None,
        chunk_len: None,
    };
    assert_eq!(reduce(r, &data[..MEDIUM], 8).mode(), Mode::Assisted);
}

/// The chunk lengths to try for `len` elements: the default, tiny ones, one larger than the
/// input (one chunk). A chunk of 1 on the larger inputs would only cost time.
fn chunkings(len: usize) -> Vec<Option<usize>> {
    let mut all = vec![None, Some(3), Some(1000), Some(len + 5)];
    if len <= 1000 {
        all.push(Some(1));
    }
    all
}

/// The runs to try, with their thread caps: every cap blocking, and each other way once.
const RUNS_AND_CAPS: [(Run, usize); 6] = [
    (Run::Blocking, 1),
    (Run::Blocking, 2),
    (Run::Blocking, 8),
    (Run::Inline, 8),
    (Run::Assisted, 8),
    (Run::Spawned, 2),
];

/// Fewer runs, for the larger inputs.
const FEW_RUNS: [(Run, usize); 3] = [(Run::Blocking, 8), (Run::Spawned, 2), (Run::Inline, 1)];

#[test]
fn maps_equal_the_sequential_answer_for_every_chunking_cap_and_mode() {
    let mut modes = Vec::new();
    let mut check = |len: usize, op: UnaryOp, chunk_len, runs: &[(Run, usize)]| {
        let data = random(len as u64, len);
        let want = reference_map(op, &data);
        for &(how, workers) in runs {
            let mut out = vec![UNTOUCHED; len];
            let call = map(op, &data, &mut out, chunk_len, workers);
            modes.push(call.mode());
            run(call, how).unwrap();
            let what = format!("{op:?} len {len} chunk {chunk_len:?} workers {workers} {how:?}");
            assert_same(&out, &want, &what);
        }
    };
    // Square is cheap (assisted above the inline threshold), Exp is not (pooled).
    for op in [UnaryOp::Square, UnaryOp::Exp] {
        for len in [0usize, 1, 7, 1000, MEDIUM] {
            for chunk_len in chunkings(len) {
                check(len, op, chunk_len, &RUNS_AND_CAPS);
            }
        }
        for chunk_len in [None, Some(1000)] {
            check(LARGE, op, chunk_len, &FEW_RUNS);
        }
    }
    for mode in [Mode::Inline, Mode::Assisted, Mode::Pooled] {
        assert!(modes.contains(&mode), "no call ran {mode:?}");
    }
}

#[test]
fn in_place_maps_equal_the_sequential_answer() {
    for len in [1usize, 1000, MEDIUM, BIG, LARGE] {
        let data = random(10 + len as u64, len);
        for op in [UnaryOp::Neg, UnaryOp::Sin] {
            let want = reference_map(op, &data);
            let chunkings = if len < BIG {
                &[None, Some(3), Some(1000)][..]
            } else {
                &[None][..]
            };
            for &chunk_len in chunkings {
                for (how, workers) in [
                    (Run::Blocking, 2),
                    (Run::Blocking, 8),
                    (Run::Spawned, 8),
                    (Run::Assisted, 3),
                ] {
                    let mut inout = data.clone();
                    run(map_in_place(op, &mut inout, chunk_len, workers), how).unwrap();
                    let what = format!("{op:?} len {len} chunk {chunk_len:?} {how:?} {workers}");
                    assert_same(&inout, &want, &what);
                }
            }
        }
    }
}

#[test]
fn f32_maps_on_the_pool_round_like_the_scalar_kernel() {
    let data: Vec<f32> = random(20, MEDIUM)
        .into_iter()
        .map(|x| (x * 1.7) as f32)
        .collect();
    for op in [
        UnaryOp::Square,
        UnaryOp::Exp,
        UnaryOp::Affine { a: 0.1, b: 3.0 },
    ] {
        let want = reference_map(op, &data);
        for chunk_len in [None, Some(1000)] {
            let mut out = vec![0.0f32; data.len()];
            run(map(op, &data, &mut out, chunk_len, 8), Run::Blocking).unwrap();
            assert_same(&out, &want, &format!("{op:?} chunk {chunk_len:?}"));
            let mut inout = data.clone();
            run(map_in_place(op, &mut inout, chunk_len, 8), Run::Spawned).unwrap();
            assert_same(
                &inout,
                &want,
                &format!("{op:?} chunk {chunk_len:?} in place"),
            );
        }
    }
}

/// The determinism claim: for a given input and chunk length, the answer is the same bits
/// whatever the thread cap and however the call runs, and equals the chunk-ordered
/// sequential reduction; it is within rounding of a plain left-to-right reduction.
#[test]
fn reductions_are_bit_identical_across_caps_and_modes() {
    let check = |len: usize, op, pre, chunk_len, runs: &[(Run, usize)]| {
        let data = random(30 + len as u64, len);
        let r = Reduction {
            op,
            pre,
            initial: None,
            chunk_len,
        };
        let want = chunked_reference(r, &data);
        assert!(close_to_sequential(r, &data, want), "{r:?} len {len}");
        for &(how, workers) in runs {
            let got = run(reduce(r, &data, workers), how).unwrap();
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "{r:?} len {len} workers {workers} {how:?}: {got} vs {want}"
            );
        }
    };
    // Without a costly pre-op a call of these sizes is assisted; with one it is pooled.
    let reductions = [
        (ReduceOp::Sum, None),
        (ReduceOp::Sum, Some(UnaryOp::Exp)),
        (ReduceOp::Mean, Some(UnaryOp::Sin)),
        (ReduceOp::Min, Some(UnaryOp::Cos)),
        (ReduceOp::Max, None),
    ];
    for (op, pre) in reductions {
        for len in [1usize, 7, 1000, MEDIUM] {
            for chunk_len in chunkings(len) {
                check(len, op, pre, chunk_len, &RUNS_AND_CAPS);
            }
        }
    }
    for (op, pre) in [(ReduceOp::Sum, None), (ReduceOp::Mean, Some(UnaryOp::Exp))] {
        for chunk_len in [None, Some(1000)] {
            check(LARGE, op, pre, chunk_len, &FEW_RUNS);
        }
    }
}

#[test]
fn f32_reductions_on_the_pool_equal_the_chunked_reference() {
    let data: Vec<f32> = random(40, BIG).into_iter().map(|x| x as f32).collect();
    let widened: Vec<f64> = data.iter().map(|&x| f64::from(x)).collect();
    for (op, pre) in [
        (ReduceOp::Sum, Some(UnaryOp::Square)),
        (ReduceOp::Mean, None),
        (ReduceOp::Min, Some(UnaryOp::Exp)),
        (ReduceOp::Max, Some(UnaryOp::Cos)),
    ] {
        let r = Reduction {
            op,
            pre,
            initial: None,
            chunk_len: None,
        };
        let want = chunked_reference(r, &data);
        // Widening is exact, so the f32 reduction is the f64 one of the widened data.
        assert_eq!(want.to_bits(), chunked_reference(r, &widened).to_bits());
        assert!(close_to_sequential(r, &widened, want), "{r:?}");
        for (how, workers) in FEW_RUNS {
            let got = run(reduce(r, &data, workers), how).unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{r:?} {how:?}");
        }
    }
}

#[test]
fn a_nan_anywhere_makes_a_parallel_min_max_or_sum_nan() {
    let mut data = random(50, BIG);
    let mut rng = StdRng::seed_from_u64(51);
    for _ in 0..3 {
        let at = rng.random_range(0..BIG);
        let before = data[at];
        data[at] = f64::NAN;
        for op in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max, ReduceOp::Mean] {
            let r = Reduction {
                op,
                pre: Some(UnaryOp::Sin),
                initial: None,
                chunk_len: Some(4096),
            };
            let call = reduce(r, &data, 8);
            assert_eq!(call.mode(), Mode::Pooled);
            let got = run(call, Run::Blocking).unwrap();
            assert!(got.is_nan(), "{op:?} with a NaN at {at}: {got}");
        }
        data[at] = before;
    }
}

#[test]
fn initial_is_the_first_operand() {
    let small = [3.0, -2.0, 8.0];
    // With a costly pre-op, the larger input is pooled.
    let big = random(60, MEDIUM);
    let cases = [
        (ReduceOp::Sum, Some(10.0)),
        (ReduceOp::Sum, Some(-1e9)),
        (ReduceOp::Min, Some(-1e3)),
        (ReduceOp::Min, Some(0.5)),
        (ReduceOp::Max, Some(1e3)),
        (ReduceOp::Max, Some(-0.5)),
        (ReduceOp::Sum, Some(f64::NAN)),
        (ReduceOp::Max, Some(f64::NAN)),
    ];
    for (op, initial) in cases {
        for (data, pre) in [(&small[..], None), (&big[..], Some(UnaryOp::Sin))] {
            let chunkings = if data.len() == small.len() {
                &[None, Some(1), Some(2)][..]
            } else {
                &[None, Some(5000)][..]
            };
            for &chunk_len in chunkings {
                let r = Reduction {
                    op,
                    pre,
                    initial,
                    chunk_len,
                };
                let want = chunked_reference(r, data);
                assert!(
                    close_to_sequential(r, data, want),
                    "{r:?} len {}",
                    data.len()
                );
                for (how, workers) in FEW_RUNS {
                    let got = run(reduce(r, data, workers), how).unwrap();
                    assert!(same(got, want), "{r:?} {how:?}: {got} vs {want}");
                }
            }
        }
    }
    // Hand-checked answers.
    let answer = |op, initial| {
        let r = Reduction {
            op,
            pre: None,
            initial,
            chunk_len: Some(1),
        };
        run(reduce(r, &small, 2), Run::Spawned).unwrap()
    };
    assert_eq!(answer(ReduceOp::Sum, Some(10.0)), 19.0);
    assert_eq!(answer(ReduceOp::Min, Some(-5.0)), -5.0);
    assert_eq!(answer(ReduceOp::Min, Some(5.0)), -2.0);
    assert_eq!(answer(ReduceOp::Max, Some(100.0)), 100.0);
    assert_eq!(answer(ReduceOp::Max, None), 8.0);
}

#[test]
fn empty_calls_complete_at_once_with_the_identity() {
    let empty: Vec<f64> = Vec::new();
    for workers in [1, 2, 8] {
        for chunk_len in [None, Some(1), Some(1000)] {
            for how in RUNS {
                let mut out: Vec<f64> = Vec::new();
                let call = map(UnaryOp::Exp, &empty, &mut out, chunk_len, workers);
                assert_eq!((call.chunks(), call.mode()), (0, Mode::Inline));
                run(call, how).unwrap();
                let mut inout: Vec<f32> = Vec::new();
                run(
                    map_in_place(UnaryOp::Sin, &mut inout, chunk_len, workers),
                    how,
                )
                .unwrap();

                let answer = |op, initial| {
                    let r = Reduction {
                        op,
                        pre: Some(UnaryOp::Log),
                        initial,
                        chunk_len,
                    };
                    run(reduce(r, &empty, workers), how).unwrap()
                };
                assert_eq!(answer(ReduceOp::Sum, None).to_bits(), 0.0f64.to_bits());
                assert_eq!(answer(ReduceOp::Min, None), f64::INFINITY);
                assert_eq!(answer(ReduceOp::Max, None), f64::NEG_INFINITY);
                assert!(answer(ReduceOp::Mean, None).is_nan());
                assert_eq!(answer(ReduceOp::Sum, Some(4.0)), 4.0);
                assert_eq!(answer(ReduceOp::Min, Some(-4.0)), -4.0);
                assert_eq!(answer(ReduceOp::Max, Some(4.0)), 4.0);
            }
        }
    }
    // A spawned call of no chunks reports before `spawn` returns, and gives no job.
    let r = Reduction {
        op: ReduceOp::Max,
        pre: None,
        initial: None,
        chunk_len: None,
    };
    let (tx, rx) = mpsc::channel();
    let job = reduce(r, &empty, 4).spawn(Registry::global(), move |r| tx.send(r).unwrap());
    assert!(job.is_none());
    assert_eq!(rx.try_recv(), Ok(Ok(f64::NEG_INFINITY)));
}

#[test]
fn a_spawned_call_cancelled_before_it_starts_writes_nothing() {
    let data = random(70, MEDIUM);
    let mut out = vec![UNTOUCHED; MEDIUM];
    let (tx, rx) = mpsc::channel();
    let pool = occupy_pool();
    let job = map(UnaryOp::Exp, &data, &mut out, Some(1000), 8)
        .spawn(Registry::global(), move |r| tx.send(r).unwrap())
        .expect("a job");
    job.cancel(JobError::Cancelled);
    drop(pool);
    assert_eq!(rx.recv_timeout(WAIT), Ok(Err(JobError::Cancelled)));
    job.cancel_and_drain();
    assert!(job.is_complete());
    assert!(out.iter().all(|&x| x == UNTOUCHED));
}

#[test]
fn a_spawned_call_cancelled_midway_keeps_whole_chunks_and_skips_the_rest() {
    const CHUNK: usize = 1000;
    const DONE: usize = 57;
    let data = random(80, MEDIUM);
    let want = reference_map(UnaryOp::Exp, &data);
    let mut out = vec![UNTOUCHED; MEDIUM];
    let (tx, rx) = mpsc::channel();
    let pool = occupy_pool();
    let job = map(UnaryOp::Exp, &data, &mut out, Some(CHUNK), 8)
        .spawn(Registry::global(), move |r| tx.send(r).unwrap())
        .expect("a job");
    assert_eq!(job.chunks(), chunk_count(MEDIUM, CHUNK));
    // No pool thread is free: the chunks run here, in order, until the cancel.
    for expected in 0..DONE {
        assert_eq!(job.claim_chunk(), Some(expected));
        job.run_chunk(expected);
    }
    assert_eq!(job.progress(), DONE as f64 / job.chunks() as f64);
    job.cancel(JobError::Cancelled);
    drop(pool);
    assert_eq!(rx.recv_timeout(WAIT), Ok(Err(JobError::Cancelled)));
    job.cancel_and_drain();
    let split = DONE * CHUNK;
    assert_same(
        &out[..split],
        &want[..split],
        "the chunks run before the cancel",
    );
    assert!(out[split..].iter().all(|&x| x == UNTOUCHED));
}

#[test]
fn a_reduction_cancelled_midway_reports_cancelled_not_a_partial_answer() {
    let data = random(90, MEDIUM);
    let r = Reduction {
        op: ReduceOp::Sum,
        pre: None,
        initial: None,
        chunk_len: Some(100),
    };
    let (tx, rx) = mpsc::channel();
    let pool = occupy_pool();
    let job = reduce(r, &data, 8)
        .spawn(Registry::global(), move |r| tx.send(r).unwrap())
        .expect("a job");
    for _ in 0..10 {
        let index = job.claim_chunk().unwrap();
        job.run_chunk(index);
    }
    // The drain skips every chunk left, here, while the pool is still held.
    job.cancel_and_drain();
    assert!(job.is_complete());
    assert_eq!(rx.try_recv(), Ok(Err(JobError::Cancelled)));
    drop(pool);
}

/// A map just past the streaming threshold, of an odd length, against its reference.
fn check_streamed_map<T: Element>(op: UnaryOp) {
    use crate::chunking::STREAM_BYTES;
    let len = STREAM_BYTES / std::mem::size_of::<T>() + 1001;
    let src: Vec<T> = (0..len)
        .map(|i| T::from_f64((i % 977) as f64 - 400.5))
        .collect();
    // The default chunks, and chunk boundaries inside cache lines.
    for (chunk_len, workers) in [(None, 4), (Some(100_003), 3)] {
        let mut dst = vec![T::from_f64(f64::NAN); len];
        run(map(op, &src, &mut dst, chunk_len, workers), Run::Blocking).unwrap();
        let wrong = (0..len).find(|&i| {
            dst[i].to_f64().to_bits() != T::from_f64(op.apply(src[i].to_f64())).to_f64().to_bits()
        });
        assert_eq!(wrong, None, "{op:?}, chunk_len {chunk_len:?}");
    }
}

#[test]
fn a_map_large_enough_to_stream_writes_every_element_once() {
    check_streamed_map::<f64>(UnaryOp::Affine { a: 1.5, b: -2.0 });
    check_streamed_map::<f32>(UnaryOp::Square);
}
