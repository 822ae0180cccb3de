//! Jobs of JS tasks: chunks of serialised items that worker isolates claim and run.
//!
//! Each `Pool` of JS workers owns a [`TaskBoard`]. The pool's thread submits [`TaskJob`]s —
//! a [`Job`] (the same chunk cursor, completion count, first error and cancel flag as the
//! native kernels use) plus one opaque payload per chunk — and its workers claim chunks from
//! the board, run them, and store each chunk's opaque result back. The board also remembers
//! which worker holds which chunk, so that when a worker dies the pool knows exactly which
//! call (and which chunk) it takes down with it.
//!
//! Payloads and results are bytes: this crate does not know what they mean (the facade uses
//! V8's structured-clone serialisation).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::job::{Job, JobError};

/// Nobody holds the chunk.
const NO_HOLDER: u32 = 0;

/// What a worker stored for a chunk: its serialised results, or its serialised error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// The chunk ran; its results.
    Done(Vec<u8>),
    /// The chunk threw; the error.
    Failed(Vec<u8>),
}

/// A job of JS tasks: chunk payloads in, chunk outcomes out.
#[derive(Debug)]
pub struct TaskJob {
    id: u64,
    job: Job,
    spec: String,
    payloads: Vec<Mutex<Option<Vec<u8>>>>,
    outcomes: Vec<Mutex<Option<ChunkOutcome>>>,
    holders: Vec<AtomicU32>,
}

/// A chunk a worker has claimed.
#[derive(Debug)]
pub struct Claim {
    /// The job.
    pub job: Arc<TaskJob>,
    /// The chunk's index in the job.
    pub index: usize,
    /// The chunk's payload.
    pub payload: Vec<u8>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl TaskJob {
    /// The job's id, unique within its board.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// What to run, as the submitter described it (opaque to the board).
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// The chunk bookkeeping.
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// Stores chunk `index`'s outcome and settles it. Returns `true` when the job is now
    /// complete. A failed chunk cancels the chunks not yet claimed.
    pub fn complete(&self, index: usize, outcome: ChunkOutcome) -> bool {
        let failed = matches!(outcome, ChunkOutcome::Failed(_));
        *lock(&self.outcomes[index]) = Some(outcome);
        self.holders[index].store(NO_HOLDER, Ordering::Release);
        self.job.finish_chunk(if failed {
            Err(JobError::Failed(format!("chunk {index} failed")))
        } else {
            Ok(())
        })
    }

    /// Takes chunk `index`'s outcome, if it has one.
    pub fn take_outcome(&self, index: usize) -> Option<ChunkOutcome> {
        lock(&self.outcomes[index]).take()
    }
}

/// The jobs of one pool of JS workers.
#[derive(Debug, Default)]
pub struct TaskBoard {
    queue: Mutex<VecDeque<Arc<TaskJob>>>,
    jobs: Mutex<HashMap<u64, Arc<TaskJob>>>,
}

impl TaskBoard {
    /// Queues a job of one chunk per payload (at least one) and returns it.
    pub fn submit(&self, id: u64, spec: String, payloads: Vec<Vec<u8>>) -> Arc<TaskJob> {
        let chunks = payloads.len();
        let job = Arc::new(TaskJob {
            id,
            job: Job::external(chunks),
            spec,
            payloads: payloads.into_iter().map(|p| Mutex::new(Some(p))).collect(),
            outcomes: (0..chunks).map(|_| Mutex::new(None)).collect(),
            holders: (0..chunks).map(|_| AtomicU32::new(NO_HOLDER)).collect(),
        });
        lock(&self.jobs).insert(id, job.clone());
        lock(&self.queue).push_back(job.clone());
        job
    }

    /// The job `id`, while it is on the board.
    pub fn get(&self, id: u64) -> Option<Arc<TaskJob>> {
        lock(&self.jobs).get(&id).cloned()
    }

    /// Claims the next chunk for `worker` (a non-zero id), in job order. Chunks of a
    /// cancelled job are settled as skipped instead of being handed out.
    pub fn claim(&self, worker: u32) -> Option<Claim> {
        let mut queue = lock(&self.queue);
        loop {
            let job = queue.front()?.clone();
            match job.job.claim_chunk() {
                Some(index) if job.job.is_cancelled() => {
                    job.job.finish_chunk(Ok(()));
                    let _ = index;
                }
                Some(index) => {
                    job.holders[index].store(worker, Ordering::Release);
                    let payload = lock(&job.payloads[index]).take().unwrap_or_default();
                    return Some(Claim {
                        job,
                        index,
                        payload,
                    });
                }
                None => {
                    queue.pop_front();
                }
            }
        }
    }

    /// Cancels job `id`: its unclaimed chunks are skipped. Returns the workers that hold
    /// its running chunks (to be stopped if the caller wants them stopped now).
    pub fn cancel(&self, id: u64, reason: JobError) -> Vec<u32> {
        let Some(job) = self.get(id) else {
            return Vec::new();
        };
        job.job.cancel(reason);
        job.holders
            .iter()
            .map(|h| h.load(Ordering::Acquire))
            .filter(|&w| w != NO_HOLDER)
            .collect()
    }

    /// Forgets job `id` (after its caller has taken what it needs).
    pub fn remove(&self, id: u64) {
        if let Some(job) = lock(&self.jobs).remove(&id) {
            job.job.cancel(JobError::Cancelled);
        }
    }

    /// The chunks `worker` was holding when it died, as `(job id, chunk index)`; they are
    /// settled as failed, so their jobs complete.
    pub fn worker_died(&self, worker: u32) -> Vec<(u64, usize)> {
        let jobs: Vec<Arc<TaskJob>> = lock(&self.jobs).values().cloned().collect();
        let mut lost = Vec::new();
        for job in jobs {
            for (index, holder) in job.holders.iter().enumerate() {
                if holder
                    .compare_exchange(worker, NO_HOLDER, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    job.job
                        .finish_chunk(Err(JobError::Failed(format!("worker {worker} died"))));
                    lost.push((job.id, index));
                }
            }
        }
        lost
    }
}

/// The process-wide table of boards, by pool id: worker isolates find their pool's board
/// here (statics are shared by every isolate of the process).
pub fn boards() -> &'static Mutex<HashMap<u32, Arc<TaskBoard>>> {
    static BOARDS: OnceLock<Mutex<HashMap<u32, Arc<TaskBoard>>>> = OnceLock::new();
    BOARDS.get_or_init(Default::default)
}

/// The board of pool `id`, if it exists.
pub fn board(id: u32) -> Option<Arc<TaskBoard>> {
    lock(boards()).get(&id).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_claimed_once_in_order_and_complete_the_job() {
        let board = TaskBoard::default();
        let job = board.submit(7, "spec".into(), vec![vec![1], vec![2], vec![3]]);
        let mut seen = Vec::new();
        while let Some(c) = board.claim(1) {
            seen.push((c.index, c.payload.clone()));
            let last = c.job.complete(c.index, ChunkOutcome::Done(c.payload));
            assert_eq!(last, seen.len() == 3);
        }
        assert_eq!(seen, vec![(0, vec![1]), (1, vec![2]), (2, vec![3])]);
        assert!(job.job().is_complete());
        assert_eq!(job.take_outcome(1), Some(ChunkOutcome::Done(vec![2])));
        assert_eq!(job.take_outcome(1), None);
    }

    #[test]
    fn a_dead_worker_gives_back_exactly_the_chunks_it_held() {
        let board = TaskBoard::default();
        board.submit(1, String::new(), vec![vec![], vec![]]);
        let a = board.claim(10).unwrap();
        let b = board.claim(11).unwrap();
        assert_eq!(board.worker_died(10), vec![(1, a.index)]);
        assert!(board.worker_died(10).is_empty());
        assert!(b.job.complete(b.index, ChunkOutcome::Done(vec![])));
        assert!(b.job.job().error().is_some());
    }

    #[test]
    fn cancel_skips_unclaimed_chunks_and_names_the_holders() {
        let board = TaskBoard::default();
        let job = board.submit(2, String::new(), vec![vec![]; 4]);
        let held = board.claim(5).unwrap();
        assert_eq!(board.cancel(2, JobError::Cancelled), vec![5]);
        assert!(board.claim(6).is_none());
        assert!(held.job.complete(held.index, ChunkOutcome::Done(vec![])));
        assert_eq!(job.job().error(), Some(JobError::Cancelled));
    }
}
