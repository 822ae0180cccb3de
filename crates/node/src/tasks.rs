//! The task boards of JS-function pools, exposed to the pool's thread (submit, take, cancel)
//! and to its worker isolates (claim, complete).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use ferropool_core::tasks::{board, boards, ChunkOutcome, TaskBoard};
use ferropool_core::JobError;
use napi::bindgen_prelude::Buffer;
use napi::Result;
use napi_derive::napi;

use crate::buffers::invalid;

fn find(pool: u32) -> Result<Arc<TaskBoard>> {
    board(pool).ok_or_else(|| invalid(format!("pool {pool} has no task board (closed?)")))
}

/// Opens a new task board and returns its pool id (unique in the process).
#[napi(catch_unwind)]
pub fn board_open() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    boards()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, Arc::new(TaskBoard::default()));
    id
}

/// Drops pool `pool`'s board; its workers' claims return nothing from then on.
#[napi(catch_unwind)]
pub fn board_close(pool: u32) {
    boards()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&pool);
}

/// Queues job `job` of pool `pool`: one chunk per payload, `spec` telling workers what
/// to run.
#[napi(catch_unwind)]
pub fn board_submit(pool: u32, job: u32, spec: String, payloads: Vec<Buffer>) -> Result<()> {
    if payloads.is_empty() {
        return Err(invalid("a job needs at least one chunk".into()));
    }
    let payloads = payloads.into_iter().map(|b| b.to_vec()).collect();
    find(pool)?.submit(u64::from(job), spec, payloads);
    Ok(())
}

/// A chunk a worker claimed.
#[napi(object)]
pub struct ClaimedChunk {
    /// The job id.
    pub job: u32,
    /// The chunk's index in the job.
    pub index: u32,
    /// The chunk's payload.
    pub payload: Buffer,
}

/// Claims the next chunk of pool `pool` for worker `worker`, or returns null.
#[napi(catch_unwind)]
pub fn board_claim(pool: u32, worker: u32) -> Option<ClaimedChunk> {
    let claim = board(pool)?.claim(worker)?;
    Some(ClaimedChunk {
        job: claim.job.id() as u32,
        index: claim.index as u32,
        payload: claim.payload.into(),
    })
}

/// The spec job `job` was submitted with, or null once it is gone.
#[napi(catch_unwind)]
pub fn board_spec(pool: u32, job: u32) -> Option<String> {
    Some(board(pool)?.get(u64::from(job))?.spec().to_string())
}

/// Stores a chunk's serialised results (`ok`) or error. Returns true when the job is
/// complete; false otherwise, or when the job is gone (cancelled and removed).
#[napi(catch_unwind)]
pub fn board_complete(pool: u32, job: u32, index: u32, ok: bool, bytes: Buffer) -> bool {
    let Some(job) = board(pool).and_then(|b| b.get(u64::from(job))) else {
        return false;
    };
    let bytes = bytes.to_vec();
    job.complete(
        index as usize,
        if ok {
            ChunkOutcome::Done(bytes)
        } else {
            ChunkOutcome::Failed(bytes)
        },
    )
}

/// A chunk's outcome as the pool's thread takes it.
#[napi(object)]
pub struct ChunkResult {
    /// Whether the chunk ran (else `bytes` is its serialised error).
    pub ok: bool,
    /// The serialised results or error.
    pub bytes: Buffer,
}

/// Takes chunk `index` of job `job`'s outcome, or null when it has none (yet).
#[napi(catch_unwind)]
pub fn board_take(pool: u32, job: u32, index: u32) -> Option<ChunkResult> {
    let outcome = board(pool)?.get(u64::from(job))?.take_outcome(index as usize)?;
    Some(match outcome {
        ChunkOutcome::Done(bytes) => ChunkResult {
            ok: true,
            bytes: bytes.into(),
        },
        ChunkOutcome::Failed(bytes) => ChunkResult {
            ok: false,
            bytes: bytes.into(),
        },
    })
}

/// Cancels job `job`: unclaimed chunks are skipped. Returns the ids of the workers
/// running its chunks.
#[napi(catch_unwind)]
pub fn board_cancel(pool: u32, job: u32) -> Vec<u32> {
    board(pool).map_or_else(Vec::new, |b| b.cancel(u64::from(job), JobError::Cancelled))
}

/// Forgets job `job` (its results are taken, or no longer wanted).
#[napi(catch_unwind)]
pub fn board_remove(pool: u32, job: u32) {
    if let Some(b) = board(pool) {
        b.remove(u64::from(job));
    }
}

/// The fraction of job `job`'s chunks settled, or -1 when it is gone.
#[napi(catch_unwind)]
pub fn board_progress(pool: u32, job: u32) -> f64 {
    board(pool)
        .and_then(|b| b.get(u64::from(job)))
        .map_or(-1.0, |j| j.job().progress())
}

/// Worker `worker` died: settles the chunks it held as failed and returns them as
/// `[job, index]` pairs.
#[napi(catch_unwind)]
pub fn board_worker_died(pool: u32, worker: u32) -> Vec<Vec<u32>> {
    board(pool).map_or_else(Vec::new, |b| {
        b.worker_died(worker)
            .into_iter()
            .map(|(job, index)| vec![job as u32, index as u32])
            .collect()
    })
}
