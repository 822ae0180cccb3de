//! Output arrays for maps, recycled: memory a collected output array leaves behind is
//! already faulted in, and reusing it spares the next call the page faults, which cost more
//! than the work itself for a memory-bound kernel (10M doubles: ~25 ms of faults against
//! ~5 ms of squaring on our 2-core VM). Small outputs are left to V8's allocator.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::ffi::c_void;
use std::sync::Mutex;

use napi::{sys, Env, Error, Result, Status, Unknown};
use napi_derive::napi;

/// Outputs smaller than this come from V8 as usual.
const MIN_BYTES: usize = 1 << 20;
/// At most this much freed output memory is kept for reuse.
const MAX_CACHED_BYTES: usize = 256 << 20;
const ALIGN: usize = 64;

/// A block of output memory: address and size.
struct Block(usize, usize);

static CACHE: Mutex<Vec<Block>> = Mutex::new(Vec::new());

fn layout(bytes: usize) -> Layout {
    Layout::from_size_align(bytes, ALIGN).expect("an output size fits a Layout")
}

/// A cached block of exactly `bytes`, or a new zeroed one.
fn take(bytes: usize) -> Option<usize> {
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(at) = cache.iter().position(|b| b.1 == bytes) {
        return Some(cache.swap_remove(at).0);
    }
    drop(cache);
    // SAFETY: a non-zero size with a valid alignment.
    let ptr = unsafe { alloc_zeroed(layout(bytes)) };
    (!ptr.is_null()).then_some(ptr as usize)
}

/// Called by V8 when an output array is collected: keep its memory if there is room.
unsafe extern "C" fn give_back(_env: sys::napi_env, data: *mut c_void, hint: *mut c_void) {
    let bytes = hint as usize;
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let cached: usize = cache.iter().map(|b| b.1).sum();
    if cached + bytes <= MAX_CACHED_BYTES {
        cache.push(Block(data as usize, bytes));
    } else {
        drop(cache);
        // SAFETY: `data` came from `take` with this very size, and V8 is done with it.
        unsafe { dealloc(data.cast(), layout(bytes)) };
    }
}

/// A new `Float64Array` (`kind` 1) or `Float32Array` (`kind` 2) of `len` elements for a
/// map to fill entirely, or null when it is small enough for V8's own allocator. Its
/// memory may hold an earlier output's numbers until the map overwrites them, so only a
/// call that writes every element before returning the array may use it.
#[napi(catch_unwind, ts_return_type = "Float64Array | Float32Array | null")]
pub fn alloc_output<'env>(env: &'env Env, kind: u32, len: f64) -> Result<Option<Unknown<'env>>> {
    let (size, array_type) = match kind {
        1 => (8usize, sys::TypedarrayType::float64_array),
        2 => (4, sys::TypedarrayType::float32_array),
        _ => {
            return Err(Error::new(
                Status::InvalidArg,
                format!("unknown output kind {kind}"),
            ))
        }
    };
    let bytes = (len as usize).saturating_mul(size);
    if bytes < MIN_BYTES || !len.is_finite() || len < 0.0 {
        return Ok(None);
    }
    let Some(data) = take(bytes) else {
        return Ok(None);
    };
    let mut buffer = std::ptr::null_mut();
    // SAFETY: `data` is `bytes` of memory we own; V8 owns it from here and hands it back
    // through `give_back` (with the size as hint) when the array is collected.
    let status = unsafe {
        sys::napi_create_external_arraybuffer(
            env.raw(),
            data as *mut c_void,
            bytes,
            Some(give_back),
            bytes as *mut c_void,
            &mut buffer,
        )
    };
    if status != sys::Status::napi_ok {
        // SAFETY: V8 did not take it.
        unsafe { dealloc(data as *mut u8, layout(bytes)) };
        return Ok(None);
    }
    let mut view = std::ptr::null_mut();
    // SAFETY: buffer is the ArrayBuffer just made, `len * size` bytes long.
    let status = unsafe {
        sys::napi_create_typedarray(env.raw(), array_type, len as usize, buffer, 0, &mut view)
    };
    if status != sys::Status::napi_ok {
        return Ok(None);
    }
    // SAFETY: view is a live value of this env's current scope.
    Ok(Some(unsafe {
        Unknown::from_raw_unchecked(env.raw(), view)
    }))
}
