//! The process-wide pool under load: concurrent callers, and a job after the threads parked.
use ferropool_core::sleep::SPIN_FOR;
use ferropool_core::{map_kernel, reduce_kernel, MapArgs, ReduceArgs, ReduceOp, UnaryOp};

fn pooled_square(data: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; data.len()];
    // SAFETY: both buffers outlive the blocking run and do not overlap.
    let call = unsafe {
        map_kernel(MapArgs {
            op: UnaryOp::Square,
            src: data.as_ptr(),
            dst: out.as_mut_ptr(),
            len: data.len(),
            chunk_len: Some(4096),
            max_workers: 8,
        })
    };
    call.run_blocking().expect("the call completes");
    out
}

#[test]
fn concurrent_callers_all_get_their_own_right_answers() {
    let callers: Vec<_> = (0..6)
        .map(|t| {
            std::thread::spawn(move || {
                for round in 0..40 {
                    let data: Vec<f64> = (0..1_200_000 + round)
                        .map(|i| (i % 1000) as f64 + t as f64)
                        .collect();
                    let out = pooled_square(&data);
                    assert!(
                        out.iter().zip(&data).all(|(y, x)| *y == x * x),
                        "caller {t} round {round}"
                    );
                }
            })
        })
        .collect();
    for c in callers {
        c.join().unwrap();
    }
}

#[test]
fn a_job_after_the_threads_parked_still_runs() {
    let data: Vec<f64> = (0..2_000_000).map(f64::from).collect();
    for _ in 0..3 {
        // Long enough for every pool thread to stop spinning and park: the next submit
        // must wake them (a lost wake-up would hang here).
        std::thread::sleep(SPIN_FOR * 20);
        // SAFETY: `data` outlives the blocking run.
        let sum = unsafe {
            reduce_kernel(ReduceArgs {
                op: ReduceOp::Sum,
                pre: None,
                src: data.as_ptr(),
                len: data.len(),
                initial: None,
                chunk_len: None,
                max_workers: 4,
            })
        }
        .run_blocking()
        .unwrap();
        assert_eq!(sum, 1_999_999.0 * 2_000_000.0 / 2.0);
    }
}
