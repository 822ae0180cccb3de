//! Reading a JS typed array's memory without copying it.

use std::ptr;

use napi::{sys, Env, Error, JsValue, Result, Status, Unknown};

/// The element type of a typed array the addon reads: the kernels accept `F64` and `F32`;
/// JS-function pools also map `I32` inputs (arrays of small integers) into their workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ElementType {
    F64,
    F32,
    I32,
}

impl ElementType {
    fn size(self) -> usize {
        match self {
            ElementType::F64 => 8,
            ElementType::F32 | ElementType::I32 => 4,
        }
    }
}

/// A typed array's memory, borrowed from its `ArrayBuffer`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TypedView {
    pub(crate) element: ElementType,
    pub(crate) data: *mut u8,
    pub(crate) len: usize,
    pub(crate) raw: sys::napi_value,
}

impl TypedView {
    /// Reads `value` as a `Float64Array` or `Float32Array`; `name` is the argument's name
    /// for error messages.
    pub(crate) fn read(env: &Env, value: &Unknown<'_>, name: &str) -> Result<TypedView> {
        Self::read_as(env, value, name, false)
    }

    /// As [`TypedView::read`], also accepting an `Int32Array` when `int32` is set.
    pub(crate) fn read_as(
        env: &Env,
        value: &Unknown<'_>,
        name: &str,
        int32: bool,
    ) -> Result<TypedView> {
        let env = env.raw();
        let raw = value.raw();
        let mut is_typed = false;
        // SAFETY: env and raw are valid; the out-pointer is a live local.
        check(unsafe { sys::napi_is_typedarray(env, raw, &mut is_typed) })?;
        if !is_typed {
            return Err(invalid(format!(
                "{name} must be a Float64Array or Float32Array"
            )));
        }
        let mut kind = 0;
        let mut len = 0usize;
        let mut data: *mut std::ffi::c_void = ptr::null_mut();
        let mut buffer: sys::napi_value = ptr::null_mut();
        let mut offset = 0usize;
        // SAFETY: raw is a typed array (checked above); all out-pointers are live locals.
        check(unsafe {
            sys::napi_get_typedarray_info(
                env,
                raw,
                &mut kind,
                &mut len,
                &mut data,
                &mut buffer,
                &mut offset,
            )
        })?;
        let element = match kind {
            sys::TypedarrayType::float64_array => ElementType::F64,
            sys::TypedarrayType::float32_array => ElementType::F32,
            sys::TypedarrayType::int32_array if int32 => ElementType::I32,
            _ => {
                return Err(invalid(format!(
                    "{name} must be a Float64Array or Float32Array"
                )))
            }
        };
        let mut detached = false;
        // SAFETY: buffer is the typed array's ArrayBuffer handle returned just above.
        check(unsafe { sys::napi_is_detached_arraybuffer(env, buffer, &mut detached) })?;
        if detached {
            return Err(invalid(format!("{name}'s ArrayBuffer is detached")));
        }
        if len > 0 && (data.is_null() || data as usize % element.size() != 0) {
            return Err(invalid(format!("{name}'s memory is not aligned")));
        }
        Ok(TypedView {
            element,
            data: data.cast(),
            len,
            raw,
        })
    }

    fn byte_range(&self) -> std::ops::Range<usize> {
        let start = self.data as usize;
        start..start + self.len * self.element.size()
    }

    /// Checks that `out` can receive an element-wise map of `self`: the same element type,
    /// or a `Float64Array` for an `Int32Array` (integers in, numbers out).
    pub(crate) fn check_output(&self, out: &TypedView) -> Result<()> {
        let widened = self.element == ElementType::I32 && out.element == ElementType::F64;
        if out.element != self.element && !widened {
            return Err(invalid(
                "opts.out must have the input's element type".to_string(),
            ));
        }
        if out.len != self.len {
            return Err(invalid(format!(
                "opts.out has length {} but the input has length {}",
                out.len, self.len
            )));
        }
        let (a, b) = (self.byte_range(), out.byte_range());
        let overlaps = a.start < b.end && b.start < a.end;
        if overlaps && a.start != b.start {
            return Err(invalid(
                "opts.out overlaps the input without being the same view; pass the input itself to work in place".to_string(),
            ));
        }
        Ok(())
    }
}

/// A strong reference that keeps a JS value (and so its buffer) alive while pool threads
/// use its memory. Deleted on the JS thread by [`Pinned::release`].
#[derive(Debug)]
pub(crate) struct Pinned(sys::napi_ref);

// SAFETY: the reference is only created and deleted on its env's thread; in between it
// merely travels inside a job's completion closure.
unsafe impl Send for Pinned {}

impl Pinned {
    pub(crate) fn new(env: &Env, value: sys::napi_value) -> Result<Pinned> {
        let mut reference = ptr::null_mut();
        // SAFETY: value is a live handle of env's current scope.
        check(unsafe { sys::napi_create_reference(env.raw(), value, 1, &mut reference) })?;
        Ok(Pinned(reference))
    }

    /// Drops the reference; must run on the env's thread.
    pub(crate) fn release(self, env: &Env) {
        // SAFETY: the reference was created in this env and is deleted exactly once.
        unsafe { sys::napi_delete_reference(env.raw(), self.0) };
    }
}

pub(crate) fn invalid(message: String) -> Error {
    Error::new(Status::InvalidArg, message)
}

fn check(status: sys::napi_status) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(
            Status::from(status),
            "a napi call failed while reading a typed array".to_string(),
        ))
    }
}
