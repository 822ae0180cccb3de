//! How a call is cut into chunks, and when it is too small to leave the calling thread.
//!
//! The default chunk length depends only on the input's length, never on the thread count,
//! so a reduction's order of operations, and so its rounding, is the same on every machine
//! for a given input (and a given explicit `chunksize`).

use std::ops::Range;

/// The smallest default chunk, in elements: 16 Ki doubles (128 KiB) take far longer to map
/// than the one atomic increment it costs to claim a chunk.
pub const MIN_CHUNK_LEN: usize = 16 * 1024;

/// A default call is cut into about this many chunks, enough to balance 16 threads.
pub const CHUNKS_PER_CALL: usize = 64;

/// Calls whose work (elements × per-element cost) is at most this run inline on the calling
/// thread: a memory-bound kernel over this many elements takes less time than waking the
/// pool and collecting the answer would cost.
pub const INLINE_WORK: usize = 128 * 1024;

/// The default chunk length for an input of `len` elements.
pub fn default_chunk_len(len: usize) -> usize {
    len.div_ceil(CHUNKS_PER_CALL).max(MIN_CHUNK_LEN)
}

/// The number of chunks of `chunk_len` (at least 1) that cover `len` elements.
pub fn chunk_count(len: usize, chunk_len: usize) -> usize {
    len.div_ceil(chunk_len.max(1))
}

/// The element range of chunk `index`.
pub fn chunk_range(index: usize, chunk_len: usize, len: usize) -> Range<usize> {
    let start = index.saturating_mul(chunk_len).min(len);
    start..start.saturating_add(chunk_len).min(len)
}

/// Calls whose work is at most this (a short call of a memory-bound kernel on one core)
/// run on the calling thread with pool threads helping, and return synchronously: the
/// caller starts at once, and nobody pays the wake-up of a sleeping caller at the end.
pub const ASSISTED_WORK: usize = 1024 * 1024;

/// Maps whose output (in bytes) is at least this, and is not their input, write it with
/// streaming stores ([`crate::kernels::map_raw_streaming`]): an output this large does not
/// stay in a core's share of the caches anyway, so skipping the read of every line before
/// it is overwritten saves memory traffic and evicts nothing useful. Below it, plain stores
/// leave the output cached for whatever reads it next.
pub const STREAM_BYTES: usize = 16 << 20;

/// Where a call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// On the calling thread alone.
    Inline,
    /// On the calling thread with up to `processes - 1` pool threads; the caller waits.
    Assisted,
    /// On pool threads only; the caller is told when it is done.
    Pooled,
}

/// Where a call of `len` elements costing `cost` each, allowed `max_workers` threads, runs.
pub fn choose_mode(len: usize, cost: usize, max_workers: usize) -> Mode {
    let work = len.saturating_mul(cost);
    if work <= INLINE_WORK || max_workers <= 1 && work <= ASSISTED_WORK {
        Mode::Inline
    } else if work <= ASSISTED_WORK {
        Mode::Assisted
    } else {
        Mode::Pooled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_input_exactly_once() {
        for len in [0usize, 1, 7, 64, 1000, MIN_CHUNK_LEN + 1, 10_000_019] {
            for chunk_len in [1usize, 3, 64, default_chunk_len(len)] {
                let chunks = chunk_count(len, chunk_len);
                let mut next = 0;
                for i in 0..chunks {
                    let r = chunk_range(i, chunk_len, len);
                    assert_eq!(r.start, next);
                    assert!(!r.is_empty());
                    next = r.end;
                }
                assert_eq!(next, len);
            }
        }
    }

    #[test]
    fn default_chunk_is_independent_of_threads_and_bounded() {
        assert_eq!(default_chunk_len(10), MIN_CHUNK_LEN);
        assert_eq!(
            chunk_count(10_000_000, default_chunk_len(10_000_000)),
            CHUNKS_PER_CALL
        );
    }
}
