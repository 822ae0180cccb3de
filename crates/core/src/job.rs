//! A job: work split into a fixed number of chunks that any number of threads claim, one at
//! a time, from an atomic cursor.
//!
//! The job counts settled chunks (run or skipped), keeps the first error, and once the last
//! chunk settles calls its completion callback exactly once, on whichever thread settled it.
//! Cancelling makes every chunk not yet started a no-op, so a cancelled job still completes
//! (with the error) as soon as the chunks already running return.
//!
//! # Memory ordering
//! `settled` is only ever changed by `fetch_add(AcqRel)`, so its modifications form one
//! release sequence: the thread whose increment reaches `chunks` acquires every other
//! thread's chunk writes before it runs the completion callback. The completion callback
//! therefore sees all results. `cancelled` is a hint read with `Acquire`; a chunk that misses
//! a concurrent cancel just runs, which is harmless.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crossbeam_utils::Backoff;

/// Why a job did not complete normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// The job was cancelled before all of its chunks ran.
    Cancelled,
    /// A chunk panicked; the message of the panic.
    Panicked(String),
    /// A chunk reported an error.
    Failed(String),
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Cancelled => f.write_str("the job was cancelled"),
            JobError::Panicked(msg) => write!(f, "a native chunk panicked: {msg}"),
            JobError::Failed(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for JobError {}

/// The outcome of a chunk or of a whole job.
pub type JobResult = Result<(), JobError>;

/// The work of one chunk, given the chunk's index.
pub type ChunkFn = Box<dyn Fn(usize) -> JobResult + Send + Sync>;

/// Called once when every chunk has settled.
pub type CompleteFn = Box<dyn FnOnce(JobResult) + Send>;

/// Work split into chunks, claimed by threads from an atomic cursor.
pub struct Job {
    chunks: usize,
    max_workers: usize,
    /// The next chunk index to hand out; may run past `chunks`.
    cursor: AtomicUsize,
    /// Chunks run or skipped; the job is complete when this reaches `chunks`.
    settled: AtomicUsize,
    /// Threads currently attached to the job (bounded by `max_workers`).
    workers: AtomicUsize,
    cancelled: AtomicBool,
    first_error: Mutex<Option<JobError>>,
    /// The native work of a chunk; `None` for a job whose chunks run elsewhere (in a JS
    /// worker isolate) and are reported with [`Job::finish_chunk`].
    body: Option<ChunkFn>,
    on_complete: Mutex<Option<CompleteFn>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("chunks", &self.chunks)
            .field("settled", &self.settled.load(Ordering::Relaxed))
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Job {
    /// A job of `chunks` chunks (at least one) that at most `max_workers` threads work on at
    /// once. `on_complete` runs exactly once, after every chunk has settled.
    pub fn new(chunks: usize, max_workers: usize, body: ChunkFn, on_complete: CompleteFn) -> Self {
        Self::build(chunks, max_workers, Some(body), Some(on_complete))
    }

    /// A job whose chunks are claimed with [`Job::claim_chunk`] and run outside this crate
    /// (by JS worker isolates), each reported with [`Job::finish_chunk`].
    pub fn external(chunks: usize) -> Self {
        Self::build(chunks, usize::MAX, None, None)
    }

    fn build(
        chunks: usize,
        max_workers: usize,
        body: Option<ChunkFn>,
        on_complete: Option<CompleteFn>,
    ) -> Self {
        assert!(chunks > 0, "a job needs at least one chunk");
        Job {
            chunks,
            max_workers: max_workers.max(1),
            cursor: AtomicUsize::new(0),
            settled: AtomicUsize::new(0),
            workers: AtomicUsize::new(0),
            cancelled: AtomicBool::new(false),
            first_error: Mutex::new(None),
            body,
            on_complete: Mutex::new(on_complete),
        }
    }

    /// The number of chunks.
    pub fn chunks(&self) -> usize {
        self.chunks
    }

    /// The fraction of chunks settled so far, in `[0, 1]`: the call's progress.
    pub fn progress(&self) -> f64 {
        self.settled.load(Ordering::Relaxed) as f64 / self.chunks as f64
    }

    /// Whether some chunk has not been claimed yet.
    pub fn has_unclaimed(&self) -> bool {
        self.cursor.load(Ordering::Relaxed) < self.chunks
    }

    /// Whether every chunk has settled (and the completion callback has run or is running).
    pub fn is_complete(&self) -> bool {
        self.settled.load(Ordering::Acquire) == self.chunks
    }

    /// Whether the job was cancelled or a chunk failed.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Claims the next chunk, or `None` when all are claimed.
    pub fn claim_chunk(&self) -> Option<usize> {
        // The load keeps the cursor from creeping upwards forever when many threads poll an
        // exhausted job.
        if self.cursor.load(Ordering::Relaxed) >= self.chunks {
            return None;
        }
        let index = self.cursor.fetch_add(1, Ordering::Relaxed);
        (index < self.chunks).then_some(index)
    }

    /// Tries to attach the calling thread as one of the job's workers; `false` when
    /// `max_workers` threads already are. Pair a success with [`Job::detach`].
    pub fn try_attach(&self) -> bool {
        if self.workers.fetch_add(1, Ordering::AcqRel) < self.max_workers {
            true
        } else {
            self.workers.fetch_sub(1, Ordering::AcqRel);
            false
        }
    }

    /// Undoes a successful [`Job::try_attach`].
    pub fn detach(&self) {
        self.workers.fetch_sub(1, Ordering::AcqRel);
    }

    /// Stops the job: chunks not yet started are skipped and the job completes with `reason`
    /// unless an earlier error was recorded.
    pub fn cancel(&self, reason: JobError) {
        self.record_error(reason);
        self.cancelled.store(true, Ordering::Release);
    }

    /// Runs (or, once cancelled, skips) chunk `index`, which the caller has claimed.
    /// A job made with [`Job::external`] has no native body: its chunks settle as skipped.
    pub fn run_chunk(&self, index: usize) {
        let outcome = match &self.body {
            Some(body) if !self.is_cancelled() => catch_unwind(AssertUnwindSafe(|| body(index)))
                .unwrap_or_else(|payload| Err(JobError::Panicked(panic_message(&*payload)))),
            _ => Ok(()),
        };
        self.finish_chunk(outcome);
    }

    /// Settles a claimed chunk with its outcome (an error cancels the rest of the job).
    /// Returns `true` when this was the last chunk to settle: the job is complete.
    pub fn finish_chunk(&self, outcome: JobResult) -> bool {
        if let Err(err) = outcome {
            self.cancel(err);
        }
        self.settle_one()
    }

    /// The first error recorded, if any (the job's outcome so far).
    pub fn error(&self) -> Option<JobError> {
        self.first_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Claims and runs chunks until none is left unclaimed.
    pub fn work(&self) {
        while let Some(index) = self.claim_chunk() {
            self.run_chunk(index);
        }
    }

    /// Cancels the job, skips what is unclaimed on this thread, and waits until the chunks
    /// other threads are running have returned. Afterwards no thread touches the job's data.
    pub fn cancel_and_drain(&self) {
        self.cancel(JobError::Cancelled);
        self.work();
        let backoff = Backoff::new();
        while !self.is_complete() {
            if backoff.is_completed() {
                std::thread::yield_now();
            } else {
                backoff.snooze();
            }
        }
    }

    fn record_error(&self, err: JobError) {
        let mut slot = self.first_error.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(err);
        }
    }

    fn settle_one(&self) -> bool {
        if self.settled.fetch_add(1, Ordering::AcqRel) + 1 != self.chunks {
            return false;
        }
        let callback = self
            .on_complete
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(callback) = callback {
            let result = self.error().map_or(Ok(()), Err);
            // A panicking callback must not unwind through a pool thread's loop.
            let _ = catch_unwind(AssertUnwindSafe(move || callback(result)));
        }
        true
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

#[cfg(test)]
mod test;
