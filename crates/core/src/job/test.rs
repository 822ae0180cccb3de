//! Job semantics: each chunk once, one completion after every chunk, errors and panics kept,
//! cancellation, the worker cap.
use super::*;
use std::sync::atomic::AtomicUsize;
use std::sync::{mpsc, Arc, Barrier};

fn job_of(
    chunks: usize,
    body: impl Fn(usize) -> JobResult + Send + Sync + 'static,
) -> (Arc<Job>, mpsc::Receiver<JobResult>) {
    let (tx, rx) = mpsc::channel();
    let job = Arc::new(Job::new(
        chunks,
        usize::MAX,
        Box::new(body),
        Box::new(move |r| tx.send(r).unwrap()),
    ));
    (job, rx)
}

#[test]
fn every_chunk_runs_exactly_once_across_threads() {
    let hits: Arc<Vec<AtomicUsize>> = Arc::new((0..5000).map(|_| AtomicUsize::new(0)).collect());
    let seen = hits.clone();
    let (job, rx) = job_of(5000, move |i| {
        seen[i].fetch_add(1, Ordering::Relaxed);
        Ok(())
    });
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let j = job.clone();
            std::thread::spawn(move || j.work())
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(rx.recv().unwrap(), Ok(()));
    assert!(rx.try_recv().is_err(), "completion runs once");
    assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
}

#[test]
fn completion_sees_every_chunk_write() {
    let data: Arc<Vec<AtomicUsize>> = Arc::new((0..64).map(|_| AtomicUsize::new(0)).collect());
    let (w, r) = (data.clone(), data.clone());
    let (tx, rx) = mpsc::channel();
    let job = Arc::new(Job::new(
        64,
        4,
        Box::new(move |i| {
            w[i].store(i + 1, Ordering::Relaxed);
            Ok(())
        }),
        Box::new(move |_| {
            tx.send(r.iter().map(|x| x.load(Ordering::Relaxed)).sum::<usize>())
                .unwrap()
        }),
    ));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let j = job.clone();
            std::thread::spawn(move || j.work())
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(rx.recv().unwrap(), (1..=64).sum::<usize>());
}

#[test]
fn the_first_error_is_kept_and_the_rest_skipped() {
    let ran = Arc::new(AtomicUsize::new(0));
    let count = ran.clone();
    let (job, rx) = job_of(100, move |i| {
        count.fetch_add(1, Ordering::Relaxed);
        if i == 3 {
            Err(JobError::Failed("three".into()))
        } else {
            Ok(())
        }
    });
    job.work();
    assert_eq!(rx.recv().unwrap(), Err(JobError::Failed("three".into())));
    assert_eq!(
        ran.load(Ordering::Relaxed),
        4,
        "chunks after the failure are skipped"
    );
}

#[test]
fn a_panic_becomes_an_error_with_its_message() {
    let (job, rx) = job_of(3, |i| {
        if i == 1 {
            panic!("boom at {i}")
        } else {
            Ok(())
        }
    });
    job.work();
    assert_eq!(
        rx.recv().unwrap(),
        Err(JobError::Panicked("boom at 1".into()))
    );
}

#[test]
fn cancel_before_start_skips_every_chunk() {
    let ran = Arc::new(AtomicUsize::new(0));
    let count = ran.clone();
    let (job, rx) = job_of(10, move |_| {
        count.fetch_add(1, Ordering::Relaxed);
        Ok(())
    });
    job.cancel(JobError::Cancelled);
    job.work();
    assert_eq!(rx.recv().unwrap(), Err(JobError::Cancelled));
    assert_eq!(ran.load(Ordering::Relaxed), 0);
}

#[test]
fn cancel_and_drain_waits_for_running_chunks() {
    let inside = Arc::new(Barrier::new(2));
    let release = Arc::new(Barrier::new(2));
    let finished = Arc::new(AtomicUsize::new(0));
    let (a, b, f) = (inside.clone(), release.clone(), finished.clone());
    let (job, _rx) = job_of(2, move |i| {
        if i == 0 {
            a.wait();
            b.wait();
            f.store(1, Ordering::SeqCst);
        }
        Ok(())
    });
    let worker = {
        let j = job.clone();
        std::thread::spawn(move || {
            let i = j.claim_chunk().unwrap();
            j.run_chunk(i)
        })
    };
    inside.wait(); // chunk 0 is running
    let drainer = {
        let j = job.clone();
        std::thread::spawn(move || j.cancel_and_drain())
    };
    release.wait();
    drainer.join().unwrap();
    assert_eq!(
        finished.load(Ordering::SeqCst),
        1,
        "drain returned only after the running chunk"
    );
    worker.join().unwrap();
    assert!(job.is_complete());
}

#[test]
fn attach_respects_the_worker_cap() {
    let job = Job::new(4, 2, Box::new(|_| Ok(())), Box::new(|_| {}));
    assert!(job.try_attach());
    assert!(job.try_attach());
    assert!(!job.try_attach());
    job.detach();
    assert!(job.try_attach());
}

#[test]
fn external_jobs_complete_through_finish_chunk() {
    let job = Job::external(2);
    assert_eq!(job.claim_chunk(), Some(0));
    assert_eq!(job.claim_chunk(), Some(1));
    assert_eq!(job.claim_chunk(), None);
    assert!(!job.finish_chunk(Ok(())));
    assert!(job.finish_chunk(Err(JobError::Failed("x".into()))));
    assert_eq!(job.error(), Some(JobError::Failed("x".into())));
}
