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
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
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

/// The element type of a typed array whose memory the native side reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElementKind {
    /// `Float64Array`
    F64,
    /// `Float32Array`
    F32,
    /// `Int32Array` (JS-function pools map its integers into their workers; kernels take
    /// floats only)
    I32,
}

impl ElementKind {
    /// The size of one element, in bytes.
    pub fn size(self) -> usize {
        match self {
            ElementKind::F64 => 8,
            ElementKind::F32 | ElementKind::I32 => 4,
        }
    }
}

/// Memory a job's workers read and write in place: the caller's typed arrays, by address.
/// The board never dereferences them; it only hands them to the workers' views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedRegion {
    /// The address of the first element.
    pub addr: usize,
    /// The number of elements.
    pub len: usize,
    /// What the elements are.
    pub kind: ElementKind,
}

/// What settling a chunk did to its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Other chunks are still open.
    Pending,
    /// That was the job's last chunk; its caller wants the outcomes.
    JobDone,
    /// That was the last chunk of a job its caller had already dropped: nothing uses the
    /// job's memory any more, and the caller may let it go.
    Released,
    /// The job is not on the board.
    Gone,
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
    shared: Option<[SharedRegion; 2]>,
    /// The caller dropped the job while chunks were running; it leaves the board when they
    /// have settled.
    dropped: AtomicBool,
    /// Its chunks are separate calls (batched applies): a dead worker fails only its own
    /// chunk, and the others still run.
    independent: AtomicBool,
}

/// What a worker's death did to the board.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WorkerLoss {
    /// `(job, chunk)`: the chunks it held, now settled as failed.
    pub lost: Vec<(u64, usize)>,
    /// Jobs their callers had dropped that nothing runs any more.
    pub released: Vec<u64>,
    /// Jobs whose last open chunk was one of those: complete, with no worker left to say so.
    pub completed: Vec<u64>,
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

    /// The input and output regions workers map in place, if the job has them.
    pub fn shared(&self) -> Option<[SharedRegion; 2]> {
        self.shared
    }

    /// Stores chunk `index`'s outcome and settles it. Returns `true` when the job is now
    /// complete. A failed chunk cancels the chunks not yet claimed.
    fn settle(&self, index: usize, outcome: ChunkOutcome) -> bool {
        let failed = matches!(outcome, ChunkOutcome::Failed(_));
        *lock(&self.outcomes[index]) = Some(outcome);
        self.holders[index].store(NO_HOLDER, Ordering::Release);
        self.job.finish_chunk(if failed {
            Err(JobError::Failed(format!("chunk {index} failed")))
        } else {
            Ok(())
        })
    }

    /// Marks the chunks as separate calls (see [`TaskBoard::worker_died`]).
    pub fn set_independent(&self) {
        self.independent.store(true, Ordering::Release);
    }

    /// How many chunks the job has.
    pub fn chunks(&self) -> usize {
        self.payloads.len()
    }

    /// Rewrites chunk `index`'s payload while no worker has claimed it: `f` gets it and
    /// returns its replacement, or None to keep it. Runs under the payload's lock, so a
    /// worker claiming the chunk meanwhile waits and gets the replacement. Returns whether
    /// the payload was still there.
    pub fn rewrite_payload(&self, index: usize, f: impl FnOnce(&[u8]) -> Option<Vec<u8>>) -> bool {
        let mut slot = lock(&self.payloads[index]);
        let Some(payload) = slot.as_mut() else {
            return false;
        };
        if let Some(new) = f(payload) {
            *payload = new;
        }
        true
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
    /// Queues a job of one chunk per payload (at least one) and returns it. `shared` names
    /// the caller's memory that the workers read and write in place, if any.
    pub fn submit(
        &self,
        id: u64,
        spec: String,
        payloads: Vec<Vec<u8>>,
        shared: Option<[SharedRegion; 2]>,
    ) -> Arc<TaskJob> {
        let chunks = payloads.len();
        let job = Arc::new(TaskJob {
            id,
            job: Job::external(chunks),
            spec,
            payloads: payloads.into_iter().map(|p| Mutex::new(Some(p))).collect(),
            outcomes: (0..chunks).map(|_| Mutex::new(None)).collect(),
            holders: (0..chunks).map(|_| AtomicU32::new(NO_HOLDER)).collect(),
            shared,
            dropped: AtomicBool::new(false),
            independent: AtomicBool::new(false),
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
                Some(_) if job.job.is_cancelled() => {
                    job.job.finish_chunk(Ok(()));
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

    /// Stores chunk `index` of job `id`'s outcome and settles it.
    pub fn complete(&self, id: u64, index: usize, outcome: ChunkOutcome) -> Settled {
        let Some(job) = self.get(id) else {
            return Settled::Gone;
        };
        if !job.settle(index, outcome) {
            Settled::Pending
        } else if job.dropped.load(Ordering::Acquire) {
            lock(&self.jobs).remove(&id);
            Settled::Released
        } else {
            Settled::JobDone
        }
    }

    /// Drops job `id` (its caller has what it needs, or gave up): unclaimed chunks are
    /// skipped. Returns `true` when nothing runs the job any more; otherwise the job stays
    /// until its running chunks settle, and that settle reports [`Settled::Released`].
    pub fn remove(&self, id: u64) -> bool {
        let mut jobs = lock(&self.jobs);
        let Some(job) = jobs.get(&id).cloned() else {
            return true;
        };
        job.job.cancel(JobError::Cancelled);
        // Skip what nobody claimed yet, so only running chunks keep the job alive.
        while job.job.claim_chunk().is_some() {
            job.job.finish_chunk(Ok(()));
        }
        job.dropped.store(true, Ordering::Release);
        if job.job.is_complete() {
            jobs.remove(&id);
            true
        } else {
            false
        }
    }

    /// The chunks `worker` was holding when it died, as `(job id, chunk index)`, and the
    /// dropped jobs that this released; the chunks are settled as failed.
    pub fn worker_died(&self, worker: u32) -> WorkerLoss {
        let jobs: Vec<Arc<TaskJob>> = lock(&self.jobs).values().cloned().collect();
        let mut loss = WorkerLoss::default();
        for job in jobs {
            for (index, holder) in job.holders.iter().enumerate() {
                if holder
                    .compare_exchange(worker, NO_HOLDER, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    loss.lost.push((job.id, index));
                    // A job of separate calls goes on without this one (its caller fails
                    // just that call); any other job fails, and its unclaimed chunks are
                    // skipped.
                    let result = if job.independent.load(Ordering::Acquire) {
                        Ok(())
                    } else {
                        Err(JobError::Failed(format!("worker {worker} died")))
                    };
                    if job.job.finish_chunk(result) {
                        if job.dropped.load(Ordering::Acquire) {
                            lock(&self.jobs).remove(&job.id);
                            loss.released.push(job.id);
                        } else {
                            loss.completed.push(job.id);
                        }
                    }
                }
            }
        }
        loss
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
        let job = board.submit(7, "spec".into(), vec![vec![1], vec![2], vec![3]], None);
        let mut seen = Vec::new();
        while let Some(c) = board.claim(1) {
            seen.push((c.index, c.payload.clone()));
            let settled = board.complete(7, c.index, ChunkOutcome::Done(c.payload));
            let expected = if seen.len() == 3 {
                Settled::JobDone
            } else {
                Settled::Pending
            };
            assert_eq!(settled, expected);
        }
        assert_eq!(seen, vec![(0, vec![1]), (1, vec![2]), (2, vec![3])]);
        assert!(job.job().is_complete());
        assert_eq!(job.take_outcome(1), Some(ChunkOutcome::Done(vec![2])));
        assert_eq!(job.take_outcome(1), None);
    }

    #[test]
    fn a_payload_is_rewritten_only_while_no_worker_has_claimed_it() {
        let board = TaskBoard::default();
        let job = board.submit(3, String::new(), vec![vec![1], vec![2]], None);
        assert_eq!(job.chunks(), 2);
        let first = board.claim(1).unwrap();
        assert_eq!(first.payload, vec![1]);
        assert!(!job.rewrite_payload(0, |_| unreachable!("claimed already")));
        assert!(job.rewrite_payload(1, |p| Some([p, &[9]].concat())));
        assert!(job.rewrite_payload(1, |_| None), "None keeps it");
        assert_eq!(board.claim(2).unwrap().payload, vec![2, 9]);
    }

    #[test]
    fn a_dead_worker_gives_back_exactly_the_chunks_it_held() {
        let board = TaskBoard::default();
        board.submit(1, String::new(), vec![vec![], vec![]], None);
        let a = board.claim(10).unwrap();
        let b = board.claim(11).unwrap();
        assert_eq!(board.worker_died(10).lost, vec![(1, a.index)]);
        assert!(board.worker_died(10).lost.is_empty());
        assert_eq!(
            board.complete(1, b.index, ChunkOutcome::Done(vec![])),
            Settled::JobDone
        );
        assert!(b.job.job().error().is_some());
    }

    #[test]
    fn a_dead_worker_fails_one_call_of_an_independent_job_and_the_rest_still_run() {
        let board = TaskBoard::default();
        let job = board.submit(6, String::new(), vec![vec![], vec![], vec![]], None);
        job.set_independent();
        let a = board.claim(1).unwrap();
        let loss = board.worker_died(1);
        assert_eq!(loss.lost, vec![(6, a.index)]);
        assert!(loss.completed.is_empty());
        assert!(
            job.job().error().is_none(),
            "the other calls are not cancelled"
        );
        let b = board.claim(2).unwrap();
        assert_eq!(
            board.complete(6, b.index, ChunkOutcome::Done(vec![])),
            Settled::Pending
        );
        let c = board.claim(3).unwrap();
        let loss = board.worker_died(3);
        assert_eq!(loss.lost, vec![(6, c.index)]);
        assert_eq!(
            loss.completed,
            vec![6],
            "the last chunk died: complete, nobody to say so"
        );
    }

    #[test]
    fn cancel_skips_unclaimed_chunks_and_names_the_holders() {
        let board = TaskBoard::default();
        let job = board.submit(2, String::new(), vec![vec![]; 4], None);
        let held = board.claim(5).unwrap();
        assert_eq!(board.cancel(2, JobError::Cancelled), vec![5]);
        assert!(board.claim(6).is_none());
        assert_eq!(
            board.complete(2, held.index, ChunkOutcome::Done(vec![])),
            Settled::JobDone
        );
        assert_eq!(job.job().error(), Some(JobError::Cancelled));
    }

    #[test]
    fn a_dropped_job_stays_until_its_running_chunks_settle() {
        let board = TaskBoard::default();
        board.submit(3, String::new(), vec![vec![]; 3], None);
        let running = board.claim(1).unwrap();
        assert!(!board.remove(3), "a chunk is still running");
        assert!(board.claim(2).is_none(), "the rest was skipped");
        assert_eq!(
            board.complete(3, running.index, ChunkOutcome::Done(vec![])),
            Settled::Released
        );
        assert!(board.get(3).is_none());
        board.submit(4, String::new(), vec![vec![]], None);
        let held = board.claim(9).unwrap();
        assert!(!board.remove(4));
        let loss = board.worker_died(9);
        assert_eq!((loss.lost, loss.released), (vec![(4, held.index)], vec![4]));
        board.submit(5, String::new(), vec![vec![]], None);
        assert!(board.remove(5), "nothing ran: released at once");
    }
}
