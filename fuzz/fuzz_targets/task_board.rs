//! Random sequences on a task board (the JS pools' queue in the core): submit jobs, claim,
//! complete, cancel, remove, and workers dying, in any order. Invariants: a chunk is
//! handed out at most once; every claimed chunk is settled exactly once (by its worker or
//! by its worker's death); a job is complete when all its chunks settled; `remove` on a
//! job with nothing running releases it at once.
#![no_main]

use arbitrary::Arbitrary;
use ferropool_core::tasks::{ChunkOutcome, Settled, TaskBoard};
use ferropool_core::JobError;
use libfuzzer_sys::fuzz_target;
use std::collections::{HashMap, HashSet};

#[derive(Arbitrary, Debug)]
enum Step {
    Submit { chunks: u8, independent: bool },
    Claim { worker: u8 },
    Complete { pick: u8, ok: bool },
    Cancel { job: u8 },
    Remove { job: u8 },
    Die { worker: u8 },
}

fuzz_target!(|steps: Vec<Step>| {
    let board = TaskBoard::default();
    let mut next = 1u64;
    // Claimed and not yet settled: (job, chunk) -> worker.
    let mut running: HashMap<(u64, usize), u32> = HashMap::new();
    let mut handed: HashSet<(u64, usize)> = HashSet::new();
    let mut jobs: Vec<u64> = Vec::new();
    for step in steps.into_iter().take(200) {
        match step {
            Step::Submit {
                chunks,
                independent,
            } => {
                let n = chunks as usize % 6 + 1;
                let job = board.submit(next, String::new(), vec![vec![0]; n], None);
                if independent {
                    job.set_independent();
                }
                jobs.push(next);
                next += 1;
            }
            Step::Claim { worker } => {
                let worker = u32::from(worker % 4) + 1;
                if let Some(c) = board.claim(worker) {
                    let key = (c.job.id(), c.index);
                    assert!(handed.insert(key), "chunk {key:?} handed out twice");
                    running.insert(key, worker);
                }
            }
            Step::Complete { pick, ok } => {
                let mut keys: Vec<_> = running.keys().copied().collect();
                keys.sort_unstable();
                if let Some(&key) = keys.get(pick as usize % keys.len().max(1)) {
                    running.remove(&key);
                    let outcome = if ok {
                        ChunkOutcome::Done(vec![1])
                    } else {
                        ChunkOutcome::Failed(vec![2])
                    };
                    let settled = board.complete(key.0, key.1, outcome);
                    assert_ne!(
                        settled,
                        Settled::Gone,
                        "a running chunk's job left the board"
                    );
                }
            }
            Step::Cancel { job } => {
                if let Some(&id) = jobs.get(job as usize % jobs.len().max(1)) {
                    let holders = board.cancel(id, JobError::Cancelled);
                    for w in holders {
                        assert!(
                            running.iter().any(|(k, &h)| k.0 == id && h == w),
                            "cancel named worker {w}, which holds nothing of job {id}"
                        );
                    }
                }
            }
            Step::Remove { job } => {
                if let Some(&id) = jobs.get(job as usize % jobs.len().max(1)) {
                    let released = board.remove(id);
                    let busy = running.keys().any(|k| k.0 == id);
                    assert_eq!(
                        released, !busy,
                        "remove of job {id}: released {released}, chunks running {busy}"
                    );
                }
            }
            Step::Die { worker } => {
                let worker = u32::from(worker % 4) + 1;
                let loss = board.worker_died(worker);
                let held: HashSet<_> = running
                    .iter()
                    .filter(|(_, &w)| w == worker)
                    .map(|(&k, _)| k)
                    .collect();
                let lost: HashSet<_> = loss.lost.iter().copied().collect();
                assert_eq!(
                    lost, held,
                    "worker {worker}'s death gave back the wrong chunks"
                );
                running.retain(|_, w| *w != worker);
            }
        }
    }
});
