//! The task boards of JS-function pools, exposed to the pool's thread (submit, take, cancel)
//! and to its worker isolates (claim, complete).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use ferropool_core::tasks::{board, boards, ChunkOutcome, Settled, SharedRegion, TaskBoard};
use ferropool_core::JobError;
use napi::bindgen_prelude::BufferSlice;
use napi::{sys, Env, Result, Unknown};
use napi_derive::napi;

use crate::buffers::{invalid, ElementKind, Float, Kind, TypedView};

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

fn region<K: Kind>(view: &TypedView<K>) -> SharedRegion {
    SharedRegion {
        addr: view.data as usize,
        len: view.len,
        kind: view.element.element(),
    }
}

/// Queues job `job` of pool `pool`: one chunk per payload, `spec` telling workers what
/// to run. With `input` and `output` (typed arrays of one length: both Float64Array, both
/// Float32Array, or an Int32Array in and a Float64Array out), workers read and write those
/// in place; the caller must keep both alive and attached until the job
/// is released (its JobDone, or the Released settle after a drop). With `parts` and
/// `part_counts` (one count per payload), payload `i` travels with the next
/// `part_counts[i]` buffers of `parts` (the bytes of large typed-array arguments, given as
/// views of the caller's arrays): each is copied once, here, and handed to the worker as a
/// buffer of its own (see [`ClaimedChunk::parts`]).
#[napi(catch_unwind)]
// A JS function's positional arguments, called from one place (workers.ts).
#[allow(clippy::too_many_arguments)]
pub fn board_submit<'env>(
    env: &'env Env,
    pool: u32,
    job: u32,
    spec: String,
    payloads: Vec<BufferSlice<'env>>,
    input: Option<Unknown<'env>>,
    output: Option<Unknown<'env>>,
    independent: Option<bool>,
    parts: Option<Vec<BufferSlice<'env>>>,
    part_counts: Option<Vec<u32>>,
) -> Result<()> {
    if payloads.is_empty() {
        return Err(invalid("a job needs at least one chunk".into()));
    }
    let shared = match (input, output) {
        (Some(input), Some(output)) => {
            let src = TypedView::<ElementKind>::read(env, &input, "input")?;
            let dst = TypedView::<Float>::read(env, &output, "output")?;
            src.check_output(&dst, "output")?;
            Some([region(&src), region(&dst)])
        }
        _ => None,
    };
    // Borrowed views (no napi reference per payload): copied here, while the call lasts.
    let payloads = match (parts, part_counts) {
        (Some(parts), Some(counts)) => {
            if counts.len() != payloads.len()
                || counts.iter().map(|&c| c as usize).sum::<usize>() != parts.len()
            {
                return Err(invalid(
                    "part counts do not match the payloads and parts".into(),
                ));
            }
            let mut rest = &parts[..];
            let mut framed = Vec::with_capacity(payloads.len());
            for (payload, &count) in payloads.iter().zip(&counts) {
                let (mine, next) = rest.split_at(count as usize);
                rest = next;
                framed.push(frame(payload, mine)?);
            }
            framed
        }
        _ => payloads.iter().map(|b| b.to_vec()).collect(),
    };
    let task = find(pool)?.submit(u64::from(job), spec, payloads, shared);
    if independent.unwrap_or(false) {
        task.set_independent();
    }
    Ok(())
}

/// A typed array over memory this isolate does not own (no finalizer frees it).
///
/// # Safety
/// `region` must stay valid for as long as the returned view may be used.
unsafe fn view_of(env: &Env, region: SharedRegion) -> Result<sys::napi_value> {
    let napi_type = match region.kind {
        ElementKind::F64 => sys::TypedarrayType::float64_array,
        ElementKind::F32 => sys::TypedarrayType::float32_array,
        ElementKind::I32 => sys::TypedarrayType::int32_array,
    };
    let mut buffer = std::ptr::null_mut();
    let mut view = std::ptr::null_mut();
    // A zero-length region may have a dangling address: give V8 no pointer at all.
    let len = region.len * region.kind.size();
    // SAFETY: the caller vouches for the region; no finalizer, so V8 never frees it.
    let status = unsafe {
        if len == 0 {
            sys::napi_create_arraybuffer(env.raw(), 0, std::ptr::null_mut(), &mut buffer)
        } else {
            sys::napi_create_external_arraybuffer(
                env.raw(),
                region.addr as *mut std::ffi::c_void,
                len,
                None,
                std::ptr::null_mut(),
                &mut buffer,
            )
        }
    };
    if status != sys::Status::napi_ok {
        return Err(invalid(
            "could not map the caller's typed array into this worker".into(),
        ));
    }
    // SAFETY: buffer is the ArrayBuffer just created, of `len` bytes.
    let status = unsafe {
        sys::napi_create_typedarray(env.raw(), napi_type, region.len, buffer, 0, &mut view)
    };
    if status != sys::Status::napi_ok {
        return Err(invalid(
            "could not view the caller's typed array in this worker".into(),
        ));
    }
    Ok(view)
}

thread_local! {
    /// This isolate's views of callers' arrays, by region, most recently used last. Reusing
    /// them matters: every new external view of N bytes counts as N bytes of external memory
    /// for V8, and a hot loop over a 80 MB array would otherwise force a GC in every worker
    /// on every call. A view is only handed out for a job whose region it matches exactly,
    /// that is while that memory is the job's.
    static VIEWS: std::cell::RefCell<Vec<(SharedRegion, sys::napi_ref)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// How many views an isolate keeps.
const CACHED_VIEWS: usize = 8;

/// A cached or new view of `region` in this isolate.
///
/// # Safety
/// As for [`view_of`].
unsafe fn cached_view(env: &Env, region: SharedRegion) -> Result<sys::napi_value> {
    let hit = VIEWS.with(|v| {
        let mut v = v.borrow_mut();
        let at = v.iter().position(|(r, _)| *r == region)?;
        let entry = v.remove(at);
        v.push(entry);
        Some(entry.1)
    });
    if let Some(reference) = hit {
        let mut value = std::ptr::null_mut();
        // SAFETY: the reference is a live strong reference of this env.
        if unsafe { sys::napi_get_reference_value(env.raw(), reference, &mut value) }
            == sys::Status::napi_ok
            && !value.is_null()
        {
            return Ok(value);
        }
    }
    // SAFETY: forwarded from the caller.
    let view = unsafe { view_of(env, region)? };
    let mut reference = std::ptr::null_mut();
    // SAFETY: view is a live value of this env.
    if unsafe { sys::napi_create_reference(env.raw(), view, 1, &mut reference) }
        == sys::Status::napi_ok
    {
        let evicted = VIEWS.with(|v| {
            let mut v = v.borrow_mut();
            v.push((region, reference));
            (v.len() > CACHED_VIEWS).then(|| v.remove(0).1)
        });
        if let Some(old) = evicted {
            // SAFETY: a reference of this env, deleted once (it left the cache).
            unsafe { sys::napi_delete_reference(env.raw(), old) };
        }
    }
    Ok(view)
}

/// `[input, output]`: views, in this (worker) isolate, of the caller's typed arrays of job
/// `job`, or null when the job has none or is gone.
#[napi(
    catch_unwind,
    ts_return_type = "[Float64Array | Float32Array | Int32Array, Float64Array | Float32Array] | null"
)]
pub fn board_views<'env>(
    env: &'env Env,
    pool: u32,
    job: u32,
) -> Result<Option<Vec<Unknown<'env>>>> {
    let Some([input, output]) = board(pool)
        .and_then(|b| b.get(u64::from(job)))
        .and_then(|j| j.shared())
    else {
        return Ok(None);
    };
    // SAFETY: the job is on the board, so its caller still holds both arrays (the contract of
    // board_submit); the worker drops its views when the job is done.
    let views = unsafe { [cached_view(env, input)?, cached_view(env, output)?] };
    // SAFETY: both are live values of this env's current scope.
    Ok(Some(
        views
            .into_iter()
            .map(|v| unsafe { Unknown::from_raw_unchecked(env.raw(), v) })
            .collect(),
    ))
}

/// The first byte of a payload stored with parts (JS payloads start with a tag below 16, or
/// with V8's 0xFF).
const PARTS: u8 = 0xFE;

/// `payload` and `parts` as one stored payload: [`PARTS`], three zero bytes, the number of
/// pieces (a u32), each piece's length (u32s), then the pieces one after the other (all
/// little-endian). A payload without parts is stored as it is.
fn frame(payload: &[u8], parts: &[BufferSlice<'_>]) -> Result<Vec<u8>> {
    if parts.is_empty() {
        return Ok(payload.to_vec());
    }
    let pieces = parts.len() + 1;
    let data: usize = payload.len() + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut out = spare::take(8 + 4 * pieces + data);
    out.extend_from_slice(&[PARTS, 0, 0, 0]);
    let len32 =
        |n: usize| u32::try_from(n).map_err(|_| invalid("a payload part over 4 GiB".into()));
    out.extend_from_slice(&len32(pieces)?.to_le_bytes());
    out.extend_from_slice(&len32(payload.len())?.to_le_bytes());
    for part in parts {
        out.extend_from_slice(&len32(part.len())?.to_le_bytes());
    }
    out.extend_from_slice(payload);
    for part in parts {
        out.extend_from_slice(part);
    }
    Ok(out)
}

/// The memory of framed payloads, kept for the next ones. A payload is allocated on the
/// pool's thread and freed on a worker's: a fresh allocation of megabytes each time had the
/// pool's thread fault in every page again.
mod spare {
    use std::sync::Mutex;

    /// At most this many buffers are kept…
    const KEEP: usize = 4;
    /// …of at most this many bytes in all.
    const KEEP_BYTES: usize = 16 << 20;

    static SPARE: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

    /// An empty buffer with room for `size` bytes: a kept one that fits (not twice as
    /// large), else a new one.
    pub(super) fn take(size: usize) -> Vec<u8> {
        let mut spare = SPARE.lock().unwrap_or_else(|e| e.into_inner());
        let fit = spare
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= size && b.capacity() / 2 <= size)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        match fit {
            Some(i) => spare.swap_remove(i),
            None => Vec::with_capacity(size),
        }
    }

    /// Keeps `buffer` for a later payload, if there is room.
    pub(super) fn give(mut buffer: Vec<u8>) {
        buffer.clear();
        let mut spare = SPARE.lock().unwrap_or_else(|e| e.into_inner());
        let kept: usize = spare.iter().map(Vec::capacity).sum();
        if spare.len() < KEEP && kept + buffer.capacity() <= KEEP_BYTES {
            spare.push(buffer);
        }
    }
}

/// The pieces of a payload [`frame`] wrote: the payload, then its parts; None for a payload
/// stored as it is.
fn unframe(stored: &[u8]) -> Option<Vec<&[u8]>> {
    if stored.first() != Some(&PARTS) || stored.len() < 8 {
        return None;
    }
    let word = |at: usize| -> Option<usize> {
        Some(u32::from_le_bytes(stored.get(at..at + 4)?.try_into().ok()?) as usize)
    };
    let pieces = word(4)?;
    let mut at = 8 + 4 * pieces;
    let mut out = Vec::with_capacity(pieces);
    for i in 0..pieces {
        let len = word(8 + 4 * i)?;
        out.push(stored.get(at..at + len)?);
        at += len;
    }
    Some(out)
}

/// A chunk a worker claimed.
#[napi(object, object_from_js = false)]
pub struct ClaimedChunk<'env> {
    /// The job id.
    pub job: u32,
    /// The chunk's index in the job.
    pub index: u32,
    /// The chunk's payload (a copy in this isolate's heap: see [`owned_bytes`]).
    pub payload: BufferSlice<'env>,
    /// The parts it was submitted with (see [`board_submit`]), each a copy of its own: a
    /// Buffer over the whole of a fresh ArrayBuffer.
    pub parts: Option<Vec<BufferSlice<'env>>>,
}

/// `bytes` as a Buffer whose memory V8 owns.
///
/// Not an external buffer over the `Vec`: Node frees an external buffer's memory in a
/// finalizer that it defers to `setImmediate`, and a worker isolate that runs chunks and
/// parks in `Atomics.wait` never turns its event loop, so every claimed payload (with its
/// finalizer record) stayed allocated, native memory growing with every call. A copy is freed by
/// the garbage collector itself.
fn owned_bytes<'env>(env: &'env Env, bytes: &[u8]) -> Result<BufferSlice<'env>> {
    BufferSlice::copy_from(env, bytes)
}

/// Claims the next chunk of pool `pool` for worker `worker`, or returns null.
#[napi(catch_unwind)]
pub fn board_claim<'env>(
    env: &'env Env,
    pool: u32,
    worker: u32,
) -> Result<Option<ClaimedChunk<'env>>> {
    let Some(claim) = board(pool).and_then(|b| b.claim(worker)) else {
        return Ok(None);
    };
    let job = claim.job.id() as u32;
    let index = claim.index as u32;
    if let Some(pieces) = unframe(&claim.payload) {
        let mut pieces = pieces.into_iter();
        let payload = owned_bytes(env, pieces.next().unwrap_or_default())?;
        let parts = pieces
            .map(|p| owned_bytes(env, p))
            .collect::<Result<Vec<_>>>()?;
        spare::give(claim.payload);
        return Ok(Some(ClaimedChunk {
            job,
            index,
            payload,
            parts: Some(parts),
        }));
    }
    Ok(Some(ClaimedChunk {
        job,
        index,
        payload: owned_bytes(env, &claim.payload)?,
        parts: None,
    }))
}

/// The spec job `job` was submitted with, or null once it is gone.
#[napi(catch_unwind)]
pub fn board_spec(pool: u32, job: u32) -> Option<String> {
    Some(board(pool)?.get(u64::from(job))?.spec().to_string())
}

/// What storing a chunk's outcome left its job as.
#[napi]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Other chunks of the job are still open.
    Open,
    /// That was the job's last open chunk: the job is complete.
    Complete,
    /// The job had been dropped, and no worker runs it any more: it is released now.
    Released,
    /// The job (or its pool's board) is gone: nobody wants the chunk.
    Gone,
}

/// Stores a chunk's serialised results (`ok`) or error, and says what that left its job as.
#[napi(catch_unwind)]
pub fn board_complete(
    pool: u32,
    job: u32,
    index: u32,
    ok: bool,
    bytes: BufferSlice<'_>,
) -> JobState {
    let Some(board) = board(pool) else {
        return JobState::Gone;
    };
    let bytes = bytes.to_vec();
    let outcome = if ok {
        ChunkOutcome::Done(bytes)
    } else {
        ChunkOutcome::Failed(bytes)
    };
    match board.complete(u64::from(job), index as usize, outcome) {
        Settled::Pending => JobState::Open,
        Settled::JobDone => JobState::Complete,
        Settled::Released => JobState::Released,
        Settled::Gone => JobState::Gone,
    }
}

/// A chunk's outcome as the pool's thread takes it.
#[napi(object, object_from_js = false)]
pub struct ChunkResult<'env> {
    /// Whether the chunk ran (else `bytes` is its serialised error).
    pub ok: bool,
    /// The serialised results or error.
    pub bytes: BufferSlice<'env>,
}

/// Takes chunk `index` of job `job`'s outcome, or null when it has none (yet).
#[napi(catch_unwind)]
pub fn board_take<'env>(
    env: &'env Env,
    pool: u32,
    job: u32,
    index: u32,
) -> Result<Option<ChunkResult<'env>>> {
    let Some(outcome) = board(pool)
        .and_then(|b| b.get(u64::from(job)))
        .and_then(|j| j.take_outcome(index as usize))
    else {
        return Ok(None);
    };
    let (ok, bytes) = match outcome {
        ChunkOutcome::Done(bytes) => (true, bytes),
        ChunkOutcome::Failed(bytes) => (false, bytes),
    };
    Ok(Some(ChunkResult {
        ok,
        bytes: owned_bytes(env, &bytes)?,
    }))
}

/// Cancels job `job`: unclaimed chunks are skipped. Returns the ids of the workers
/// running its chunks.
#[napi(catch_unwind)]
pub fn board_cancel(pool: u32, job: u32) -> Vec<u32> {
    board(pool).map_or_else(Vec::new, |b| b.cancel(u64::from(job), JobError::Cancelled))
}

/// Drops job `job` (its results are taken, or no longer wanted). Returns true when no
/// worker runs it any more; else a later settle reports it released.
#[napi(catch_unwind)]
pub fn board_remove(pool: u32, job: u32) -> bool {
    board(pool).is_none_or(|b| b.remove(u64::from(job)))
}

/// What a worker's death did to the board.
#[napi(object)]
pub struct WorkerLoss {
    /// The chunks it held, as `[job, index]` pairs (now settled as failed).
    pub lost: Vec<Vec<u32>>,
    /// Dropped jobs that this released.
    pub released: Vec<u32>,
    /// Jobs whose last open chunk was one it held (their callers settle them now).
    pub completed: Vec<u32>,
}

/// Worker `worker` died: settles the chunks it held as failed.
#[napi(catch_unwind)]
pub fn board_worker_died(pool: u32, worker: u32) -> WorkerLoss {
    let loss = board(pool).map_or_else(Default::default, |b| b.worker_died(worker));
    WorkerLoss {
        lost: loss
            .lost
            .into_iter()
            .map(|(job, index)| vec![job as u32, index as u32])
            .collect(),
        released: loss.released.into_iter().map(|j| j as u32).collect(),
        completed: loss.completed.into_iter().map(|j| j as u32).collect(),
    }
}
