//! A pool that has been idle long enough for its threads to park still runs the next job:
//! no wake-up is lost. This is its own test binary, so no other test keeps the pool busy.
//!
//! The sleeps here are not synchronisation: they only let the pool reach the parked state
//! (or stop just short of it) before the next submit. Every wait has a timeout, so a lost
//! wake-up fails the test instead of hanging it.
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::Duration;

use ferropool_core::chunking::{chunk_count, chunk_range, Mode};
use ferropool_core::kernels::reduce_slice;
use ferropool_core::sleep::SPIN_FOR;
use ferropool_core::{map_kernel, reduce_kernel, MapArgs, ReduceArgs, ReduceOp, Registry, UnaryOp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const WAIT: Duration = Duration::from_secs(60);

fn random(seed: u64, len: usize) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-5.0..5.0)).collect()
}

/// A map spawned on the pool, waited for with a timeout, checked against the scalar op.
fn pooled_map(op: UnaryOp, data: &[f64], what: &str) {
    let mut out = vec![0.0; data.len()];
    // SAFETY: `data` and `out` outlive the call: this function waits for its completion, or
    // drains it before it panics.
    let call = unsafe {
        map_kernel(MapArgs {
            op,
            src: data.as_ptr(),
            dst: out.as_mut_ptr(),
            len: data.len(),
            chunk_len: Some(512),
            max_workers: 8,
            fresh_output: false,
        })
    };
    let (tx, rx) = mpsc::channel();
    let job = call
        .spawn(Registry::global(), move |r| {
            let _ = tx.send(r);
        })
        .expect("a job");
    match rx.recv_timeout(WAIT) {
        Ok(outcome) => outcome.unwrap(),
        Err(_) => {
            // No pool thread took the job. Skip its chunks here, so that no thread can touch
            // the buffers after they are freed, and fail.
            job.cancel_and_drain();
            panic!("{what}: the job never ran (lost wake-up)");
        }
    }
    assert!(
        data.iter()
            .zip(&out)
            .all(|(&x, &y)| y.to_bits() == op.apply(x).to_bits()),
        "{what}"
    );
}

#[test]
fn jobs_submitted_after_the_pool_parked_still_run() {
    let data = random(1, 20_000);
    // Starts the threads.
    pooled_map(UnaryOp::Square, &data, "first job");
    let pauses = [
        SPIN_FOR * 50, // well parked
        SPIN_FOR * 2,  // just parked
        SPIN_FOR,      // parking about now
        SPIN_FOR / 2,  // still spinning
        Duration::ZERO,
    ];
    for round in 0..40 {
        let pause = pauses[round % pauses.len()];
        thread::sleep(pause);
        pooled_map(
            UnaryOp::Sin,
            &data,
            &format!("round {round} after {pause:?}"),
        );
    }
}

#[test]
fn a_blocking_pooled_reduction_after_a_long_idle_completes() {
    let data = random(2, 100_000);
    for round in 0..3 {
        thread::sleep(SPIN_FOR * 100);
        // SAFETY: `data` outlives the blocking run.
        let call = unsafe {
            reduce_kernel(ReduceArgs {
                op: ReduceOp::Sum,
                pre: Some(UnaryOp::Exp),
                src: data.as_ptr(),
                len: data.len(),
                initial: None,
                chunk_len: Some(4096),
                max_workers: 8,
            })
        };
        assert_eq!(call.mode(), Mode::Pooled);
        let (tx, rx) = mpsc::channel();
        // Run where a JS caller's blocking call would, but under a watchdog.
        thread::spawn(move || {
            let _ = tx.send(call.run_blocking());
        });
        let got = rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("round {round}: lost wake-up"))
            .unwrap();
        let len = data.len();
        let want = (0..chunk_count(len, 4096))
            .map(|i| {
                reduce_slice(
                    ReduceOp::Sum,
                    Some(UnaryOp::Exp),
                    &data[chunk_range(i, 4096, len)],
                )
            })
            .fold(0.0, |a, p| a + p);
        assert_eq!(got.to_bits(), want.to_bits(), "round {round}");
    }
}

#[test]
fn several_threads_submitting_at_once_to_a_parked_pool_all_complete() {
    let data = Arc::new(random(3, 5000));
    for round in 0..5 {
        thread::sleep(SPIN_FOR * 30);
        let start = Arc::new(Barrier::new(4));
        let submitters: Vec<_> = (0..4)
            .map(|t| {
                let (data, start) = (data.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    pooled_map(UnaryOp::Exp, &data, &format!("round {round} thread {t}"));
                })
            })
            .collect();
        for s in submitters {
            s.join().unwrap();
        }
    }
}
