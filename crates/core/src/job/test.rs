//! Job semantics: each chunk once however many threads claim, one completion after every
//! chunk that sees all their writes, the first error kept, panics caught, cancellation that
//! skips what has not started and drains what has, the worker cap.
//!
//! Threads are sequenced with barriers and flags, never with sleeps.
use super::*;
use std::sync::atomic::AtomicUsize;
use std::sync::{mpsc, Arc, Barrier};
use std::thread;

/// Counters shared between a job's body, its completion and the test.
struct Counts {
    /// Times each chunk's body ran.
    runs: Vec<AtomicUsize>,
    /// Times the completion callback ran.
    completions: AtomicUsize,
}

impl Counts {
    fn new(chunks: usize) -> Arc<Self> {
        Arc::new(Counts {
            runs: (0..chunks).map(|_| AtomicUsize::new(0)).collect(),
            completions: AtomicUsize::new(0),
        })
    }

    fn total_runs(&self) -> usize {
        self.runs.iter().map(|r| r.load(Ordering::Relaxed)).sum()
    }
}

/// A job whose body counts its runs and then calls `body`, and whose completion counts
/// itself and sends the outcome.
fn counted_job(
    chunks: usize,
    max_workers: usize,
    body: impl Fn(usize) -> JobResult + Send + Sync + 'static,
) -> (Arc<Job>, Arc<Counts>, mpsc::Receiver<JobResult>) {
    let counts = Counts::new(chunks);
    let (tx, rx) = mpsc::channel();
    let (in_body, in_completion) = (counts.clone(), counts.clone());
    let job = Arc::new(Job::new(
        chunks,
        max_workers,
        Box::new(move |i| {
            in_body.runs[i].fetch_add(1, Ordering::Relaxed);
            body(i)
        }),
        Box::new(move |r| {
            in_completion.completions.fetch_add(1, Ordering::Relaxed);
            tx.send(r).unwrap();
        }),
    ));
    (job, counts, rx)
}

/// Runs `work` on `threads` threads released together, and joins them.
fn on_threads(threads: usize, work: impl Fn(usize) + Send + Sync) {
    let start = Barrier::new(threads);
    thread::scope(|s| {
        for t in 0..threads {
            let (start, work) = (&start, &work);
            s.spawn(move || {
                start.wait();
                work(t);
            });
        }
    });
}

#[test]
fn every_chunk_runs_exactly_once_however_many_threads_claim() {
    for chunks in [1usize, 2, 3, 7, 64, 1000, 20_011] {
        for threads in [2usize, 8] {
            let (job, counts, rx) = counted_job(chunks, usize::MAX, |_| Ok(()));
            let claimed = AtomicUsize::new(0);
            on_threads(threads, |t| {
                if t % 2 == 0 {
                    job.work();
                } else {
                    // The other half claims and runs by hand, and keeps polling afterwards.
                    while let Some(i) = job.claim_chunk() {
                        claimed.fetch_add(1, Ordering::Relaxed);
                        job.run_chunk(i);
                    }
                    for _ in 0..100 {
                        assert_eq!(job.claim_chunk(), None);
                    }
                }
            });
            assert!(
                counts.runs.iter().all(|r| r.load(Ordering::Relaxed) == 1),
                "{chunks} chunks on {threads} threads: some chunk ran twice or never"
            );
            assert!(claimed.load(Ordering::Relaxed) <= chunks);
            assert_eq!(rx.try_recv(), Ok(Ok(())));
            assert_eq!(counts.completions.load(Ordering::Relaxed), 1);
            assert!(job.is_complete() && !job.has_unclaimed());
            assert_eq!(job.progress(), 1.0);
            assert_eq!(job.claim_chunk(), None);
        }
    }
}

#[test]
fn completion_runs_once_after_every_chunk_and_sees_all_their_writes() {
    const CHUNKS: usize = 4096;
    for round in 0..20 {
        // Relaxed writes: only the job's own ordering makes them visible to the completion.
        let slots: Arc<Vec<AtomicUsize>> =
            Arc::new((0..CHUNKS).map(|_| AtomicUsize::new(0)).collect());
        let finished = Arc::new(AtomicUsize::new(0));
        let completions = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel();
        let job = {
            let (w, f) = (slots.clone(), finished.clone());
            let (r, g, c) = (slots.clone(), finished.clone(), completions.clone());
            Job::new(
                CHUNKS,
                usize::MAX,
                Box::new(move |i| {
                    w[i].store(i * 3 + round, Ordering::Relaxed);
                    f.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }),
                Box::new(move |outcome| {
                    c.fetch_add(1, Ordering::Relaxed);
                    let seen: Vec<usize> = r.iter().map(|x| x.load(Ordering::Relaxed)).collect();
                    tx.send((outcome, g.load(Ordering::Relaxed), seen)).unwrap();
                }),
            )
        };
        on_threads(6, |_| job.work());
        let (outcome, finished_before, seen) = rx.try_recv().expect("the job completed");
        assert_eq!(outcome, Ok(()));
        assert_eq!(
            finished_before, CHUNKS,
            "completion ran before every chunk finished"
        );
        for (i, x) in seen.into_iter().enumerate() {
            assert_eq!(x, i * 3 + round, "completion missed the write of chunk {i}");
        }
        assert_eq!(completions.load(Ordering::Relaxed), 1);
        assert!(rx.try_recv().is_err());
    }
}

#[test]
fn the_first_error_is_kept_and_later_chunks_are_skipped() {
    let (job, counts, rx) = counted_job(100, usize::MAX, |i| match i {
        3 => Err(JobError::Failed("three".into())),
        5 => Err(JobError::Failed("five".into())),
        _ => Ok(()),
    });
    job.work();
    assert_eq!(rx.try_recv(), Ok(Err(JobError::Failed("three".into()))));
    assert_eq!(
        counts.total_runs(),
        4,
        "chunks after the failure are skipped"
    );
    assert!((0..4).all(|i| counts.runs[i].load(Ordering::Relaxed) == 1));
    assert!(job.is_cancelled() && job.is_complete());
    assert_eq!(job.error(), Some(JobError::Failed("three".into())));
    // A later cancel does not replace the error.
    job.cancel(JobError::Cancelled);
    assert_eq!(job.error(), Some(JobError::Failed("three".into())));
}

#[test]
fn concurrent_failures_complete_with_one_of_them() {
    for _ in 0..20 {
        // Every chunk fails with its own index; some may be skipped once one has failed.
        let (job, counts, rx) =
            counted_job(500, usize::MAX, |i| Err(JobError::Failed(i.to_string())));
        on_threads(4, |_| job.work());
        let outcome = rx.try_recv().expect("the job completed");
        let Err(JobError::Failed(index)) = &outcome else {
            panic!("{outcome:?}")
        };
        let index: usize = index.parse().unwrap();
        assert_eq!(
            counts.runs[index].load(Ordering::Relaxed),
            1,
            "that chunk ran"
        );
        assert_eq!(job.error(), outcome.err());
        assert_eq!(counts.completions.load(Ordering::Relaxed), 1);
        assert!(counts.runs.iter().all(|r| r.load(Ordering::Relaxed) <= 1));
    }
}

#[test]
fn a_panicking_chunk_becomes_panicked_with_its_message_and_the_rest_are_skipped() {
    let (job, counts, rx) = counted_job(10, usize::MAX, |i| {
        if i == 2 {
            panic!("boom at {i}")
        }
        Ok(())
    });
    // The panic does not reach the thread running the chunks.
    job.work();
    assert_eq!(
        rx.try_recv(),
        Ok(Err(JobError::Panicked("boom at 2".into())))
    );
    assert_eq!(counts.total_runs(), 3, "chunks after the panic are skipped");
    assert!(job.is_complete());

    let (job, _, rx) = counted_job(1, 1, |_| panic!("a static message"));
    job.work();
    assert_eq!(
        rx.try_recv(),
        Ok(Err(JobError::Panicked("a static message".into())))
    );
    let (job, _, rx) = counted_job(1, 1, |_| std::panic::panic_any(42u8));
    job.work();
    assert_eq!(
        rx.try_recv(),
        Ok(Err(JobError::Panicked("unknown panic payload".into())))
    );
}

#[test]
fn panics_on_many_threads_complete_the_job_once() {
    let (job, counts, rx) = counted_job(2000, usize::MAX, |i| {
        if i % 7 == 3 {
            panic!("chunk {i}")
        }
        Ok(())
    });
    on_threads(4, |_| job.work());
    match rx.try_recv() {
        Ok(Err(JobError::Panicked(msg))) => {
            let i: usize = msg.strip_prefix("chunk ").unwrap().parse().unwrap();
            assert_eq!(i % 7, 3);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(counts.completions.load(Ordering::Relaxed), 1);
    assert!(counts.runs.iter().all(|r| r.load(Ordering::Relaxed) <= 1));
}

#[test]
fn a_panicking_completion_does_not_unwind_into_the_worker() {
    let job = Job::new(
        3,
        2,
        Box::new(|_| Ok(())),
        Box::new(|_| panic!("in completion")),
    );
    job.work();
    assert!(job.is_complete());
}

#[test]
fn cancel_before_start_completes_with_the_reason_and_never_runs_the_body() {
    for reason in [JobError::Cancelled, JobError::Failed("stopped".into())] {
        let (job, counts, rx) = counted_job(1000, usize::MAX, |_| Ok(()));
        job.cancel(reason.clone());
        assert!(job.is_cancelled());
        assert!(!job.is_complete(), "cancelling alone settles nothing");
        on_threads(4, |_| job.work());
        assert_eq!(rx.try_recv(), Ok(Err(reason)));
        assert_eq!(counts.total_runs(), 0);
        assert_eq!(counts.completions.load(Ordering::Relaxed), 1);
        assert!(job.is_complete());
    }
}

#[test]
fn cancel_and_drain_returns_only_after_the_running_chunks_finish() {
    const CHUNKS: usize = 10;
    let entered = Arc::new(Barrier::new(2));
    let release = Arc::new(Barrier::new(2));
    let finished = Arc::new(AtomicBool::new(false));
    let drained = Arc::new(AtomicBool::new(false));
    let (job, counts, rx) = {
        let (entered, release) = (entered.clone(), release.clone());
        let (finished, drained) = (finished.clone(), drained.clone());
        counted_job(CHUNKS, usize::MAX, move |i| {
            if i == 0 {
                entered.wait();
                release.wait();
                // The drain is still waiting for this chunk.
                assert!(!drained.load(Ordering::SeqCst));
                finished.store(true, Ordering::SeqCst);
            }
            Ok(())
        })
    };
    let worker = {
        let job = job.clone();
        thread::spawn(move || {
            assert_eq!(job.claim_chunk(), Some(0));
            job.run_chunk(0);
        })
    };
    entered.wait(); // chunk 0 is running
    let drainer = {
        let (job, finished, drained) = (job.clone(), finished.clone(), drained.clone());
        thread::spawn(move || {
            job.cancel_and_drain();
            assert!(
                finished.load(Ordering::SeqCst),
                "the drain returned while a chunk was running"
            );
            drained.store(true, Ordering::SeqCst);
        })
    };
    // The drain has cancelled the job and skipped every other chunk: it can only wait now.
    while job.progress() < (CHUNKS - 1) as f64 / CHUNKS as f64 {
        thread::yield_now();
    }
    assert!(job.is_cancelled() && !job.has_unclaimed());
    // Give an early return every chance to show itself.
    for _ in 0..1000 {
        thread::yield_now();
    }
    assert!(!drained.load(Ordering::SeqCst));
    assert!(!job.is_complete());
    release.wait();
    drainer.join().unwrap();
    worker.join().unwrap();
    assert!(drained.load(Ordering::SeqCst));
    assert_eq!(counts.total_runs(), 1, "only the chunk already running ran");
    assert_eq!(rx.try_recv(), Ok(Err(JobError::Cancelled)));
}

#[test]
fn cancel_and_drain_of_a_finished_job_returns_at_once() {
    let (job, counts, rx) = counted_job(5, usize::MAX, |_| Ok(()));
    job.work();
    job.cancel_and_drain();
    assert_eq!(rx.try_recv(), Ok(Ok(())));
    assert_eq!(counts.total_runs(), 5);
    assert_eq!(counts.completions.load(Ordering::Relaxed), 1);
}

#[test]
fn try_attach_admits_at_most_max_workers() {
    let job = Job::new(4, 2, Box::new(|_| Ok(())), Box::new(|_| {}));
    assert!(job.try_attach());
    assert!(job.try_attach());
    assert!(!job.try_attach());
    assert!(!job.try_attach(), "a refusal leaves no trace");
    job.detach();
    assert!(job.try_attach());
    assert!(!job.try_attach());

    // A cap of 0 means 1.
    let job = Job::new(1, 0, Box::new(|_| Ok(())), Box::new(|_| {}));
    assert!(job.try_attach());
    assert!(!job.try_attach());
}

#[test]
fn concurrent_attaches_admit_exactly_max_workers() {
    for cap in [1usize, 2, 3, 7] {
        for _ in 0..10 {
            let job = Job::new(1, cap, Box::new(|_| Ok(())), Box::new(|_| {}));
            let admitted = AtomicUsize::new(0);
            on_threads(8, |_| {
                if job.try_attach() {
                    admitted.fetch_add(1, Ordering::Relaxed);
                }
            });
            assert_eq!(admitted.load(Ordering::Relaxed), cap.min(8), "cap {cap}");
        }
    }
}

#[test]
fn attached_workers_never_exceed_the_cap() {
    for cap in [1usize, 3] {
        let job = Job::new(1, cap, Box::new(|_| Ok(())), Box::new(|_| {}));
        let inside = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        on_threads(6, |_| {
            for _ in 0..5000 {
                if job.try_attach() {
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::Relaxed);
                    assert!(now <= cap, "{now} workers attached, cap {cap}");
                    inside.fetch_sub(1, Ordering::SeqCst);
                    job.detach();
                }
            }
        });
        assert!((1..=cap).contains(&peak.load(Ordering::Relaxed)));
    }
}

#[test]
fn progress_counts_settled_chunks() {
    let (job, _, rx) = counted_job(4, 1, |_| Ok(()));
    assert_eq!(job.chunks(), 4);
    assert_eq!(job.progress(), 0.0);
    for i in 0..4 {
        assert!(job.has_unclaimed());
        assert_eq!(job.claim_chunk(), Some(i));
        assert_eq!(job.progress(), i as f64 / 4.0, "claiming is not settling");
        assert!(!job.is_complete());
        job.run_chunk(i);
        assert_eq!(job.progress(), (i + 1) as f64 / 4.0);
    }
    assert!(!job.has_unclaimed() && job.is_complete());
    assert_eq!(rx.try_recv(), Ok(Ok(())));
}

#[test]
fn chunks_may_settle_out_of_order() {
    let (job, counts, rx) = counted_job(3, usize::MAX, |_| Ok(()));
    let claims: Vec<usize> = (0..3).map(|_| job.claim_chunk().unwrap()).collect();
    assert_eq!(claims, [0, 1, 2]);
    for i in [2, 0, 1] {
        assert!(rx.try_recv().is_err(), "completed early");
        job.run_chunk(i);
    }
    assert_eq!(rx.try_recv(), Ok(Ok(())));
    assert_eq!(counts.total_runs(), 3);
}

#[test]
fn an_external_job_completes_through_finish_chunk() {
    let job = Job::external(3);
    assert_eq!(job.claim_chunk(), Some(0));
    assert_eq!(job.claim_chunk(), Some(1));
    assert_eq!(job.claim_chunk(), Some(2));
    assert_eq!(job.claim_chunk(), None);
    assert!(!job.finish_chunk(Ok(())));
    assert!(!job.finish_chunk(Err(JobError::Failed("x".into()))));
    assert!(job.is_cancelled(), "an error cancels the rest");
    assert!(!job.is_complete());
    assert!(job.finish_chunk(Err(JobError::Failed("y".into()))));
    assert!(job.is_complete());
    assert_eq!(job.error(), Some(JobError::Failed("x".into())));

    // With no native body, running a chunk settles it as skipped.
    let job = Job::external(2);
    job.work();
    assert!(job.is_complete());
    assert_eq!(job.error(), None);
    // No thread cap.
    assert!((0..100).all(|_| job.try_attach()));
}

#[test]
#[should_panic(expected = "at least one chunk")]
fn a_job_needs_at_least_one_chunk() {
    let _ = Job::new(0, 1, Box::new(|_| Ok(())), Box::new(|_| {}));
}

#[test]
fn errors_read_as_sentences() {
    assert_eq!(JobError::Cancelled.to_string(), "the job was cancelled");
    assert_eq!(
        JobError::Panicked("oops".into()).to_string(),
        "a native chunk panicked: oops"
    );
    assert_eq!(
        JobError::Failed("bad input".into()).to_string(),
        "bad input"
    );
    let owned: Box<dyn Any + Send> = Box::new(String::from("owned"));
    assert_eq!(panic_message(&*owned), "owned");
    let borrowed: Box<dyn Any + Send> = Box::new("borrowed");
    assert_eq!(panic_message(&*borrowed), "borrowed");
    let other: Box<dyn Any + Send> = Box::new(1.5f64);
    assert_eq!(panic_message(&*other), "unknown panic payload");
}
