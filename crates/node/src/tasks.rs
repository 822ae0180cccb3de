//! The task boards of JS-function pools, exposed to the pool's thread (submit, take, cancel)
//! and to its worker isolates (claim, complete).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use ferropool_core::tasks::{board, boards, ChunkOutcome, Settled, SharedRegion, TaskBoard};
use ferropool_core::JobError;
use napi::bindgen_prelude::{BufferSlice, FromNapiValue};
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
/// views of the caller's arrays): each is copied once, into a buffer the worker gets as its
/// own (see [`ClaimedChunk::parts`]). That copy is made by whoever comes first: a worker
/// that claims the chunk copies straight from the caller's array, and the caller, in
/// [`board_settle_parts`], copies the chunks no worker has claimed into the board. The
/// caller must call [`board_settle_parts`] before any JS of its user runs (which could
/// change or detach those arrays).
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
    let board = find(pool)?;
    // Borrowed views (no napi reference per payload): copied or lent here, while the call lasts.
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
            let mut lent = Vec::with_capacity(payloads.len());
            for &count in &counts {
                let (mine, next) = rest.split_at(count as usize);
                rest = next;
                lent.push(mine.iter().map(|p| &p[..]).collect::<Vec<&[u8]>>());
            }
            let payloads: Vec<&[u8]> = payloads.iter().map(|p| &p[..]).collect();
            borrow::open(pool, u64::from(job), &payloads, lent)?
        }
        _ => payloads.iter().map(|b| b.to_vec()).collect(),
    };
    let task = board.submit(u64::from(job), spec, payloads, shared);
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
fn frame(payload: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>> {
    if parts.is_empty() {
        return Ok(payload.to_vec());
    }
    let pieces = parts.len() + 1;
    let data: usize = payload.len() + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut out = spare::take(8 + 4 * pieces + data);
    out.extend_from_slice(&[PARTS, 0, 0, 0]);
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

fn len32(n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| invalid("a payload part over 4 GiB".into()))
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

/// Ends the loan of job `job`'s large typed-array arguments (see [`board_submit`]): copies
/// the parts of the chunks no worker has claimed, last chunk first (the workers claim from
/// the first), and waits only for workers that are copying theirs right now. From then on
/// nothing reads the caller's arrays.
#[napi(catch_unwind)]
pub fn board_settle_parts(pool: u32, job: u32) {
    let job = u64::from(job);
    let Some(loan) = borrow::close(pool, job) else {
        return;
    };
    let task = board(pool).and_then(|b| b.get(job));
    for index in (0..loan.chunks()).rev() {
        // A chunk still on the board gets an ordinary framed payload in place of its loan.
        let on_board = task
            .as_ref()
            .is_some_and(|t| t.rewrite_payload(index, |stored| loan.own(index, stored)));
        if !on_board {
            loan.settle(index);
        }
    }
}

/// Payloads whose large parts are still the caller's arrays, lent to the board from
/// [`board_submit`] to [`board_settle_parts`]: a worker that claims such a chunk in time
/// copies its parts once, straight from the caller's arrays into buffers of its own, where
/// the caller would have copied them into the board first.
///
/// Each lent chunk has a state. A worker that claimed it allocates its buffers first (which
/// may take a garbage collection), then moves it from `LENT` to `COPYING`, copies, and sets
/// `DONE`. The caller, settling, moves a claimed chunk still `LENT` to `TAKEN`, copies its
/// parts itself and sets `OWNED`; a worker that finds it so copies from that copy. The
/// caller thus waits only for copies in progress, never for a worker's allocation.
mod borrow {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU8, Ordering};
    use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

    use napi::Result;

    use super::{frame, len32};

    /// The first byte of a lent payload (see [`super::PARTS`]): three zero bytes, the
    /// payload's length (u32), the address of its [`Loan`] (u64, a strong reference the
    /// frame holds), then the payload's bytes (all little-endian).
    const LENT_FRAME: u8 = 0xFD;
    const HEADER: usize = 16;

    const LENT: u8 = 0;
    const COPYING: u8 = 1;
    const DONE: u8 = 2;
    const TAKEN: u8 = 3;
    const OWNED: u8 = 4;

    /// One chunk's loan.
    struct Slot {
        state: AtomicU8,
        /// Address and length of each part: the caller's arrays.
        parts: Vec<(usize, usize)>,
        /// The parts, one after the other, once the caller copied them (`OWNED`).
        owned: Mutex<Vec<u8>>,
    }

    /// A job's loans, one slot per chunk.
    pub(super) struct Loan {
        slots: Vec<Slot>,
    }

    fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loans not settled yet, by pool and job.
    type Loans = HashMap<(u32, u64), Arc<Loan>>;

    /// The loans not settled yet (only the caller looks here: a worker finds a chunk's loan
    /// through its frame).
    fn open_loans() -> MutexGuard<'static, Loans> {
        static LOANS: OnceLock<Mutex<Loans>> = OnceLock::new();
        lock(LOANS.get_or_init(Default::default))
    }

    /// Opens job `job`'s loan over `parts`, each chunk's (none for a chunk that is not lent),
    /// and returns each chunk's payload: a lent frame, or the payload as it is.
    pub(super) fn open(
        pool: u32,
        job: u64,
        payloads: &[&[u8]],
        parts: Vec<Vec<&[u8]>>,
    ) -> Result<Vec<Vec<u8>>> {
        let loan = Arc::new(Loan {
            slots: parts
                .iter()
                .map(|mine| Slot {
                    state: AtomicU8::new(if mine.is_empty() { DONE } else { LENT }),
                    parts: mine
                        .iter()
                        .map(|p| (p.as_ptr() as usize, p.len()))
                        .collect(),
                    owned: Mutex::new(Vec::new()),
                })
                .collect(),
        });
        let mut out = Vec::with_capacity(payloads.len());
        for (payload, mine) in payloads.iter().zip(&parts) {
            if mine.is_empty() {
                out.push(payload.to_vec());
                continue;
            }
            for part in mine {
                // Checked as the owned frame checks them (see `own`).
                len32(part.len())?;
            }
            let mut f = Vec::with_capacity(HEADER + payload.len());
            f.extend_from_slice(&[LENT_FRAME, 0, 0, 0]);
            f.extend_from_slice(&len32(payload.len())?.to_le_bytes());
            f.extend_from_slice(&(Arc::into_raw(loan.clone()) as usize as u64).to_le_bytes());
            f.extend_from_slice(payload);
            out.push(f);
        }
        open_loans().insert((pool, job), loan);
        Ok(out)
    }

    /// Takes job `job`'s loan out of the open ones, to settle it.
    pub(super) fn close(pool: u32, job: u64) -> Option<Arc<Loan>> {
        open_loans().remove(&(pool, job))
    }

    /// The payload of a lent frame, and the loan the frame held (now the caller's to drop).
    fn unlend(stored: &[u8]) -> Option<(&[u8], Arc<Loan>)> {
        if stored.first() != Some(&LENT_FRAME) || stored.len() < HEADER {
            return None;
        }
        let len = u32::from_le_bytes(stored[4..8].try_into().ok()?) as usize;
        let addr = u64::from_le_bytes(stored[8..16].try_into().ok()?) as usize;
        // SAFETY: `open` wrote this address from `Arc::into_raw`, and every lent frame is
        // unlent once: by the worker that claims it or by the caller that replaces it.
        let loan = unsafe { Arc::from_raw(addr as *const Loan) };
        Some((stored.get(HEADER..HEADER + len)?, loan))
    }

    impl Loan {
        pub(super) fn chunks(&self) -> usize {
            self.slots.len()
        }

        /// The caller's arrays of chunk `index`.
        ///
        /// # Safety
        /// Only while the loan lasts.
        unsafe fn lent(&self, index: usize) -> Vec<&[u8]> {
            self.slots[index]
                .parts
                .iter()
                // SAFETY: the caller's arrays, alive and unchanged while the loan lasts.
                .map(|&(addr, len)| unsafe { std::slice::from_raw_parts(addr as *const u8, len) })
                .collect()
        }

        /// For the caller: the owned frame (see [`frame`]) of chunk `index`'s lent payload
        /// `stored`, still on the board (so no worker has claimed it, and none will see its
        /// slot: the board hands out the owned frame instead); None when it is not lent.
        pub(super) fn own(&self, index: usize, stored: &[u8]) -> Option<Vec<u8>> {
            let (payload, _held) = unlend(stored)?;
            // SAFETY: the caller, settling: the loan lasts.
            let parts = unsafe { self.lent(index) };
            // Cannot fail: `open` checked every length as `frame` does.
            Some(frame(payload, &parts).unwrap_or_default())
        }

        /// For the caller: settles chunk `index`, which a worker has claimed (or which was
        /// not lent).
        pub(super) fn settle(&self, index: usize) {
            let slot = &self.slots[index];
            if slot
                .state
                .compare_exchange(LENT, TAKEN, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                // SAFETY: the caller, settling: the loan lasts.
                let parts = unsafe { self.lent(index) };
                *lock(&slot.owned) = parts.concat();
                slot.state.store(OWNED, Ordering::Release);
                return;
            }
            // A worker copying: a memcpy, with no JS and no allocation in between.
            wait_while(slot, COPYING);
        }
    }

    fn wait_while(slot: &Slot, state: u8) {
        let mut spins = 0u32;
        while slot.state.load(Ordering::Acquire) == state {
            if spins < 4096 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
            spins = spins.saturating_add(1);
        }
    }

    /// A lent chunk a worker claimed.
    pub(super) struct Claimed<'a> {
        payload: &'a [u8],
        loan: Arc<Loan>,
        index: usize,
    }

    /// For a worker: chunk `index`'s claimed payload `stored`, if it is lent.
    pub(super) fn claimed(stored: &[u8], index: usize) -> Option<Claimed<'_>> {
        let (payload, loan) = unlend(stored)?;
        Some(Claimed {
            payload,
            loan,
            index,
        })
    }

    impl Claimed<'_> {
        /// The payload (the board's copy).
        pub(super) fn payload(&self) -> &[u8] {
            self.payload
        }

        /// Each part's length.
        pub(super) fn lengths(&self) -> impl Iterator<Item = usize> + '_ {
            self.loan.slots[self.index]
                .parts
                .iter()
                .map(|&(_, len)| len)
        }

        /// Copies the parts into `into` (one buffer per part, each of its part's length):
        /// from the caller's arrays while the loan lasts, else from the caller's copy.
        pub(super) fn copy_into(self, into: &mut [&mut [u8]]) {
            let slot = &self.loan.slots[self.index];
            if slot
                .state
                .compare_exchange(LENT, COPYING, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                // SAFETY: COPYING: the caller waits for DONE before it ends the loan.
                let parts = unsafe { self.loan.lent(self.index) };
                for (dst, src) in into.iter_mut().zip(parts) {
                    dst.copy_from_slice(src);
                }
                slot.state.store(DONE, Ordering::Release);
                return;
            }
            wait_while(slot, TAKEN);
            let owned = lock(&slot.owned);
            let mut at = 0;
            for dst in into.iter_mut() {
                dst.copy_from_slice(&owned[at..at + dst.len()]);
                at += dst.len();
            }
        }
    }
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

/// A Buffer of `len` bytes whose memory V8 owns (see [`owned_bytes`]), not yet written.
fn uninit_bytes<'env>(env: &'env Env, len: usize) -> Result<BufferSlice<'env>> {
    let mut data = std::ptr::null_mut();
    let mut value = std::ptr::null_mut();
    // SAFETY: a new Buffer of this env; its bytes are all written before JS sees it.
    napi::check_status!(unsafe { sys::napi_create_buffer(env.raw(), len, &mut data, &mut value) })?;
    // SAFETY: `value` is the Buffer just made.
    unsafe { BufferSlice::from_napi_value(env.raw(), value) }
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
    if let Some(lent) = borrow::claimed(&claim.payload, claim.index) {
        let payload = owned_bytes(env, lent.payload())?;
        let mut parts = lent
            .lengths()
            .map(|len| uninit_bytes(env, len))
            .collect::<Result<Vec<_>>>()?;
        lent.copy_into(&mut parts.iter_mut().map(|p| &mut p[..]).collect::<Vec<_>>());
        return Ok(Some(ClaimedChunk {
            job,
            index,
            payload,
            parts: Some(parts),
        }));
    }
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
