//! Output arrays for maps: large ones are allocated without zero-filling, since the map
//! overwrites every element anyway (`new Float64Array(n)` zeroes its memory first, a whole
//! extra pass over it for a memory-bound kernel).
//!
//! The memory is V8's own (an ordinary `ArrayBuffer` from Node's allocator), so users can
//! transfer the array to another thread (`postMessage(y, [y.buffer])`) on every Node
//! version. Outputs used to be external `ArrayBuffer`s over addon-owned, recycled memory;
//! Node marks every `ArrayBuffer` with a free callback as untransferable (see
//! `node_buffer.cc`, `Buffer::New` with a callback), and since Node 21
//! (nodejs/node#47604) `postMessage` throws `DataCloneError` for one in a transfer list
//! instead of quietly copying it. What recycling saved (the page faults of fresh memory)
//! is partly won back for very large outputs by asking for huge pages.

use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;

use napi::{sys, Env, Result, Unknown};
use napi_derive::napi;

/// Outputs smaller than this come from `new Float64Array(n)` in JS (cheaper than a napi
/// call while zeroing costs little).
const MIN_BYTES: usize = 1 << 20;

thread_local! {
    /// The memory of the output this isolate allocated last, as `(address, bytes)`, until a
    /// map takes it with [`is_fresh`].
    static FRESH: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// Whether `bytes` at `data` are the output [`alloc_output`] made last, never written yet
/// (the facade allocates an output just before the map that fills it). Forgets it: a map
/// asks once. A wrong answer only costs speed: see `MapArgs::fresh_output`.
pub(crate) fn is_fresh(data: *mut u8, bytes: usize) -> bool {
    bytes > 0 && FRESH.with(|f| f.take()) == (data as usize, bytes)
}

/// The element type of a map's output array.
#[napi]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatArrayKind {
    /// A `Float64Array`.
    Float64,
    /// A `Float32Array`.
    Float32,
}

/// A new typed array of `kind` and `len` elements for a map to fill entirely, or null
/// when it is small enough for V8's own allocator (or could not be had this way). Its
/// memory is not initialized (it may hold numbers freed earlier in this process) until the
/// map overwrites it, so only a call that writes every element before returning the array
/// may use it. It is an ordinary, transferable `ArrayBuffer`.
#[napi(catch_unwind, ts_return_type = "Float64Array | Float32Array | null")]
pub fn alloc_output<'env>(
    env: &'env Env,
    kind: FloatArrayKind,
    len: f64,
) -> Result<Option<Unknown<'env>>> {
    let (size, array_type) = match kind {
        FloatArrayKind::Float64 => (8usize, sys::TypedarrayType::float64_array),
        FloatArrayKind::Float32 => (4, sys::TypedarrayType::float32_array),
    };
    if !len.is_finite() || len < 0.0 {
        return Ok(None);
    }
    let bytes = (len as usize).saturating_mul(size);
    if bytes < MIN_BYTES {
        return Ok(None);
    }
    let env = env.raw();
    // napi_create_buffer is Node's `Buffer::New(isolate, size)`: memory from the isolate's
    // ArrayBuffer allocator, not zero-filled, in an ArrayBuffer of its own (never the
    // pool `Buffer.allocUnsafe` slices). napi_create_arraybuffer would zero it.
    let mut data: *mut c_void = ptr::null_mut();
    let mut node_buffer = ptr::null_mut();
    // SAFETY: env is this call's env; the out-pointers are live locals.
    if unsafe { sys::napi_create_buffer(env, bytes, &mut data, &mut node_buffer) }
        != sys::Status::napi_ok
    {
        // Out of memory, or over Buffer's size limit: let JS allocate (or throw) as usual.
        return Ok(None);
    }
    let mut buffer = ptr::null_mut();
    let mut offset = 0usize;
    let mut buffer_kind = 0;
    let mut buffer_len = 0usize;
    // SAFETY: node_buffer is the Uint8Array just created; all out-pointers are live locals.
    let status = unsafe {
        sys::napi_get_typedarray_info(
            env,
            node_buffer,
            &mut buffer_kind,
            &mut buffer_len,
            ptr::null_mut(),
            &mut buffer,
            &mut offset,
        )
    };
    let mut whole_len = 0usize;
    // SAFETY: buffer is that Uint8Array's ArrayBuffer; the out-pointer is a live local.
    let whole = status == sys::Status::napi_ok
        && unsafe { sys::napi_get_arraybuffer_info(env, buffer, ptr::null_mut(), &mut whole_len) }
            == sys::Status::napi_ok;
    // Only an ArrayBuffer that is exactly this output will do: transferring the array must
    // move nothing else, and the elements must be aligned.
    if !whole
        || offset != 0
        || whole_len != bytes
        || buffer_len != bytes
        || data as usize % size != 0
    {
        return Ok(None);
    }
    advise_huge_pages(data, bytes);
    FRESH.with(|f| f.set((data as usize, bytes)));
    let mut view = ptr::null_mut();
    // SAFETY: buffer is an ArrayBuffer of `len * size` bytes.
    let status =
        unsafe { sys::napi_create_typedarray(env, array_type, len as usize, buffer, 0, &mut view) };
    if status != sys::Status::napi_ok {
        return Ok(None);
    }
    // SAFETY: view is a live value of this env's current scope.
    Ok(Some(unsafe { Unknown::from_raw_unchecked(env, view) }))
}

/// Outputs this large come from their own `mmap` (glibc maps every allocation over 32 MiB
/// on its own; smaller ones it reuses from its heap once freed, already faulted in).
#[cfg(target_os = "linux")]
const HUGE_PAGE_BYTES: usize = 32 << 20;

/// Asks Linux to back a large fresh output with transparent huge pages: its first write
/// then takes one page fault per 2 MiB instead of one per 4 KiB, and faulting in a new
/// 80 MB array otherwise costs several times the work of a memory-bound kernel. Only
/// whole 2 MiB ranges inside the output are advised, so no other allocation's memory is
/// touched; the advice changes no contents, and without THP (`never`) it does nothing.
#[cfg(target_os = "linux")]
fn advise_huge_pages(data: *mut c_void, bytes: usize) {
    const HUGE: usize = 2 << 20;
    if bytes < HUGE_PAGE_BYTES {
        return;
    }
    let start = (data as usize).next_multiple_of(HUGE);
    let end = (data as usize + bytes) / HUGE * HUGE;
    if end > start {
        // SAFETY: [start, end) lies inside the output's own allocation, which is mapped;
        // MADV_HUGEPAGE is advice only (a failure changes nothing, so it is ignored).
        unsafe { libc::madvise(start as *mut c_void, end - start, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_data: *mut c_void, _bytes: usize) {}
