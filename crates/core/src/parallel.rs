//! Kernel calls as chunked work: built once, then run inline on the caller or as a [`Job`]
//! on the [`Registry`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use crossbeam_utils::Backoff;

use crate::chunking::{
    choose_mode, chunk_count, chunk_range, default_chunk_len, Mode, STREAM_BYTES,
};
use crate::job::{panic_message, ChunkFn, Job, JobError};
use crate::kernels::{map_raw, map_raw_streaming, reduce_slice, Element, ReduceOp, UnaryOp};
use crate::registry::Registry;

/// A pointer that may cross threads. Closures capture it whole (through [`SharedPtr::get`]),
/// never its field, so the `Send`/`Sync` below apply.
#[derive(Debug)]
struct SharedPtr<T>(*mut T);

impl<T> Clone for SharedPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SharedPtr<T> {}

impl<T> SharedPtr<T> {
    fn get(self) -> *mut T {
        self.0
    }
}

// SAFETY: a SharedPtr is only built by `map_kernel`/`reduce_kernel`, whose callers promise
// that the memory outlives the call and that chunks touch disjoint ranges of it.
unsafe impl<T> Send for SharedPtr<T> {}
// SAFETY: as above; shared access only ever reads, or writes disjoint chunk ranges.
unsafe impl<T> Sync for SharedPtr<T> {}

/// An element-wise kernel call: `dst[i] = op(src[i])`.
#[derive(Debug, Clone, Copy)]
pub struct MapArgs<T> {
    /// The operation.
    pub op: UnaryOp,
    /// The input, `len` elements.
    pub src: *const T,
    /// The output, `len` elements; equal to `src` for in place, otherwise disjoint from it.
    pub dst: *mut T,
    /// The number of elements.
    pub len: usize,
    /// Elements per chunk; `None` for [`default_chunk_len`].
    pub chunk_len: Option<usize>,
    /// The most threads that may work on the call at once.
    pub max_workers: usize,
    /// `dst` was just allocated and has never been written: the call faults its pages in,
    /// and the OS zero-fills each one first, leaving it in the cache. Plain stores then hit
    /// the cache, where streaming ones would first have to evict those lines, so such an
    /// output is never streamed (see [`STREAM_BYTES`]). Only speed depends on it.
    pub fresh_output: bool,
}

/// A reduction kernel call over `src`, each element first mapped by `pre` when given.
#[derive(Debug, Clone, Copy)]
pub struct ReduceArgs<T> {
    /// The reduction.
    pub op: ReduceOp,
    /// An element-wise operation applied before reducing (fused, no temporary array).
    pub pre: Option<UnaryOp>,
    /// The input, `len` elements.
    pub src: *const T,
    /// The number of elements.
    pub len: usize,
    /// The value the reduction starts from, instead of the operation's identity.
    pub initial: Option<f64>,
    /// Elements per chunk; `None` for [`default_chunk_len`].
    pub chunk_len: Option<usize>,
    /// The most threads that may work on the call at once.
    pub max_workers: usize,
}

/// A kernel call cut into chunks, ready to run inline or on the pool.
pub struct KernelCall<R> {
    pub(crate) chunks: usize,
    pub(crate) max_workers: usize,
    pub(crate) mode: Mode,
    pub(crate) body: ChunkFn,
    pub(crate) finish: Box<dyn FnOnce() -> R + Send>,
}

impl<R> std::fmt::Debug for KernelCall<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelCall")
            .field("chunks", &self.chunks)
            .field("mode", &self.mode)
            .finish()
    }
}

impl<R: Send + 'static> KernelCall<R> {
    /// Where the call should run, from its size and thread cap.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The number of chunks.
    pub fn chunks(&self) -> usize {
        self.chunks
    }

    /// Runs every chunk on the calling thread, in order. A panic becomes an error.
    pub fn run_inline(self) -> Result<R, JobError> {
        for index in 0..self.chunks {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.body)(index)))
                .unwrap_or_else(|payload| Err(JobError::Panicked(panic_message(&*payload))))?;
        }
        Ok((self.finish)())
    }

    /// Submits the call to `registry`; `on_done` runs on a pool thread when it completes.
    /// The returned job can be cancelled. A call of no chunks completes at once.
    pub fn spawn(
        self,
        registry: &'static Registry,
        on_done: impl FnOnce(Result<R, JobError>) + Send + 'static,
    ) -> Option<Arc<Job>> {
        if self.chunks == 0 {
            on_done(Ok((self.finish)()));
            return None;
        }
        let finish = self.finish;
        let job = Arc::new(Job::new(
            self.chunks,
            self.max_workers,
            self.body,
            Box::new(move |result| on_done(result.map(|()| finish()))),
        ));
        registry.submit(job.clone());
        Some(job)
    }

    /// Runs the call on the calling thread with up to `max_workers - 1` threads of
    /// `registry` helping, and waits for it. Helpers that are awake join within a
    /// microsecond; the caller never waits for a sleeping one to wake, since it claims
    /// chunks itself from the start.
    pub fn run_assisted(self, registry: &'static Registry) -> Result<R, JobError> {
        if self.chunks <= 1 || self.max_workers <= 1 {
            return self.run_inline();
        }
        let outcome = Arc::new(Mutex::new(None));
        let done = Arc::new(AtomicBool::new(false));
        let (slot, flag) = (outcome.clone(), done.clone());
        let job = Arc::new(Job::new(
            self.chunks,
            self.max_workers - 1,
            self.body,
            Box::new(move |result| {
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                flag.store(true, Ordering::Release);
            }),
        ));
        registry.submit(job.clone());
        job.work();
        let backoff = Backoff::new();
        while !done.load(Ordering::Acquire) {
            backoff.snooze();
        }
        let result = outcome.lock().unwrap_or_else(|e| e.into_inner()).take();
        result.unwrap_or(Ok(())).map(|()| (self.finish)())
    }

    /// Runs the call to completion where [`KernelCall::mode`] says, blocking the caller.
    pub fn run_blocking(self) -> Result<R, JobError> {
        match self.mode {
            Mode::Inline => return self.run_inline(),
            Mode::Assisted => return self.run_assisted(Registry::global()),
            Mode::Pooled => {}
        }
        let (sender, receiver) = mpsc::sync_channel(1);
        self.spawn(Registry::global(), move |result| {
            let _ = sender.send(result);
        });
        receiver
            .recv()
            .unwrap_or(Err(JobError::Failed("the job was dropped".into())))
    }
}

/// A call's chunk length, chunk count and mode (shared with [`crate::expr`]).
pub(crate) fn plan(
    len: usize,
    chunk_len: Option<usize>,
    cost: usize,
    max_workers: usize,
) -> (usize, usize, Mode) {
    let chunk_len = chunk_len.unwrap_or_else(|| default_chunk_len(len)).max(1);
    let chunks = chunk_count(len, chunk_len);
    let mode = match choose_mode(len, cost, max_workers) {
        _ if chunks == 0 => Mode::Inline,
        Mode::Assisted if chunks == 1 => Mode::Inline,
        mode => mode,
    };
    (chunk_len, chunks, mode)
}

/// Prepares `dst[i] = op(src[i])`.
///
/// # Safety
/// [1] `src` is valid for `len` reads and `dst` for `len` writes, aligned, until the call has
///     completed (inline: returned; spawned: `on_done` ran or the job was drained).
/// [2] `dst` equals `src` or does not overlap `src[..len]`.
/// [3] Nothing else writes `src` or touches `dst` until then.
pub unsafe fn map_kernel<T: Element>(args: MapArgs<T>) -> KernelCall<()> {
    let (chunk_len, chunks, mode) =
        plan(args.len, args.chunk_len, args.op.cost(), args.max_workers);
    let src = SharedPtr(args.src.cast_mut());
    let dst = SharedPtr(args.dst);
    let (op, len) = (args.op, args.len);
    // Out of place only: in place, the line was just read anyway. A large output that does
    // not overlap the input ([2]) is streamed (see STREAM_BYTES), unless it is fresh memory.
    let stream = !args.fresh_output
        && args.src != args.dst.cast_const()
        && len.saturating_mul(std::mem::size_of::<T>()) >= STREAM_BYTES;
    KernelCall {
        chunks,
        max_workers: args.max_workers,
        mode,
        body: Box::new(move |index| {
            let range = chunk_range(index, chunk_len, len);
            // SAFETY: the range lies within `len` ([1]); chunks are disjoint, so no two
            // threads write the same element; aliasing follows [2] (disjoint when `stream`,
            // as map_raw_streaming needs); [3] excludes others.
            unsafe {
                let (from, to) = (src.get().add(range.start), dst.get().add(range.start));
                if stream {
                    map_raw_streaming(op, from.cast_const(), to, range.len());
                } else {
                    map_raw(op, from, to, range.len());
                }
            }
            Ok(())
        }),
        finish: Box::new(|| ()),
    }
}

/// Prepares the reduction `op` over `pre(src[i])`. Chunk partials are combined in chunk
/// order, so the result depends on the chunking but never on thread timing.
///
/// # Safety
/// [1] `src` is valid for `len` reads, aligned, until the call has completed.
/// [2] Nothing writes `src[..len]` until then.
pub unsafe fn reduce_kernel<T: Element>(args: ReduceArgs<T>) -> KernelCall<f64> {
    let cost = args.pre.map_or(1, UnaryOp::cost);
    let (chunk_len, chunks, mode) = plan(args.len, args.chunk_len, cost, args.max_workers);
    let partials: Arc<Vec<AtomicU64>> = Arc::new((0..chunks).map(|_| AtomicU64::new(0)).collect());
    let src = SharedPtr(args.src.cast_mut());
    let (op, pre, len) = (args.op, args.pre, args.len);
    let written = partials.clone();
    let start = args.initial.unwrap_or_else(|| op.identity());
    KernelCall {
        chunks,
        max_workers: args.max_workers,
        mode,
        body: Box::new(move |index| {
            let range = chunk_range(index, chunk_len, len);
            // SAFETY: the range lies within `len`, valid and unwritten by [1] and [2].
            let data = unsafe {
                std::slice::from_raw_parts(src.get().add(range.start).cast_const(), range.len())
            };
            let partial = reduce_slice(op, pre, data);
            // Relaxed: the job's completion count orders this before `finish` reads it.
            written[index].store(partial.to_bits(), Ordering::Relaxed);
            Ok(())
        }),
        finish: Box::new(move || {
            let combined = partials
                .iter()
                .map(|p| f64::from_bits(p.load(Ordering::Relaxed)))
                .fold(start, |acc, p| op.combine(acc, p));
            op.finish(combined, len)
        }),
    }
}

#[cfg(test)]
mod test;
