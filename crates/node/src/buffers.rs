//! Reading a JS typed array's memory without copying it.

use std::ptr;

use napi::{sys, Env, Error, JsValue, Result, Status, Unknown};

pub(crate) use ferropool_core::tasks::ElementKind;

/// The element types a [`TypedView`] may be read as: [`Float`] for the kernels, or any
/// [`ElementKind`] for the shared arrays of JS-function pools.
pub(crate) trait Kind: Copy + Eq {
    /// The typed array types accepted, for error messages.
    const EXPECTED: &'static str;
    /// The kind of a typed array of napi type `napi_type`, if it is one of these.
    fn from_napi(napi_type: sys::napi_typedarray_type) -> Option<Self>;
    /// The element type.
    fn element(self) -> ElementKind;
}

/// The element type of a kernel's array: floats only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Float {
    F64,
    F32,
}

impl Kind for Float {
    const EXPECTED: &'static str = "a Float64Array or Float32Array";
    fn from_napi(napi_type: sys::napi_typedarray_type) -> Option<Self> {
        match napi_type {
            sys::TypedarrayType::float64_array => Some(Float::F64),
            sys::TypedarrayType::float32_array => Some(Float::F32),
            _ => None,
        }
    }
    fn element(self) -> ElementKind {
        match self {
            Float::F64 => ElementKind::F64,
            Float::F32 => ElementKind::F32,
        }
    }
}

impl Kind for ElementKind {
    const EXPECTED: &'static str = "a Float64Array, Float32Array or Int32Array";
    fn from_napi(napi_type: sys::napi_typedarray_type) -> Option<Self> {
        match napi_type {
            sys::TypedarrayType::int32_array => Some(ElementKind::I32),
            other => Float::from_napi(other).map(Float::element),
        }
    }
    fn element(self) -> ElementKind {
        self
    }
}

/// A typed array's memory, borrowed from its `ArrayBuffer`; its elements are one of `K`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TypedView<K = Float> {
    pub(crate) element: K,
    pub(crate) data: *mut u8,
    pub(crate) len: usize,
    pub(crate) raw: sys::napi_value,
}

impl<K: Kind> TypedView<K> {
    /// Reads `value` as a typed array of one of the types `K` accepts; `name` is the
    /// argument's name for error messages.
    pub(crate) fn read(env: &Env, value: &Unknown<'_>, name: &str) -> Result<Self> {
        let env = env.raw();
        let raw = value.raw();
        let mut is_typed = false;
        // SAFETY: env and raw are valid; the out-pointer is a live local.
        check(unsafe { sys::napi_is_typedarray(env, raw, &mut is_typed) })?;
        if !is_typed {
            return Err(invalid(format!("{name} must be {}", K::EXPECTED)));
        }
        let mut napi_type = 0;
        let mut len = 0usize;
        let mut data: *mut std::ffi::c_void = ptr::null_mut();
        let mut buffer: sys::napi_value = ptr::null_mut();
        let mut offset = 0usize;
        // SAFETY: raw is a typed array (checked above); all out-pointers are live locals.
        check(unsafe {
            sys::napi_get_typedarray_info(
                env,
                raw,
                &mut napi_type,
                &mut len,
                &mut data,
                &mut buffer,
                &mut offset,
            )
        })?;
        let Some(element) = K::from_napi(napi_type) else {
            return Err(invalid(format!("{name} must be {}", K::EXPECTED)));
        };
        let mut detached = false;
        // SAFETY: buffer is the typed array's ArrayBuffer handle returned just above.
        check(unsafe { sys::napi_is_detached_arraybuffer(env, buffer, &mut detached) })?;
        if detached {
            return Err(invalid(format!("{name}'s ArrayBuffer is detached")));
        }
        if len > 0 && (data.is_null() || data as usize % element.element().size() != 0) {
            return Err(invalid(format!("{name}'s memory is not aligned")));
        }
        Ok(TypedView {
            element,
            data: data.cast(),
            len,
            raw,
        })
    }

    /// The size of the memory, in bytes.
    pub(crate) fn byte_len(&self) -> usize {
        self.len * self.element.element().size()
    }

    fn byte_range(&self) -> std::ops::Range<usize> {
        let start = self.data as usize;
        start..start + self.byte_len()
    }

    /// Checks that `out` (the argument named `out_name`) can receive an element-wise map of
    /// `self`: the same element type, or a `Float64Array` for an `Int32Array` (integers in,
    /// numbers out).
    pub(crate) fn check_output<O: Kind>(&self, out: &TypedView<O>, out_name: &str) -> Result<()> {
        let (from, to) = (self.element.element(), out.element.element());
        if from == ElementKind::I32 && to != ElementKind::F64 {
            return Err(invalid(format!(
                "{out_name} must be a Float64Array for an Int32Array input"
            )));
        }
        if from != ElementKind::I32 && to != from {
            return Err(invalid(format!(
                "{out_name} must have the input's element type"
            )));
        }
        if out.len != self.len {
            return Err(invalid(format!(
                "{out_name} has length {} but the input has length {}",
                out.len, self.len
            )));
        }
        let (a, b) = (self.byte_range(), out.byte_range());
        let overlaps = a.start < b.end && b.start < a.end;
        if overlaps && a.start != b.start {
            return Err(invalid(format!(
                "{out_name} overlaps the input without being the same view; pass the input itself to work in place"
            )));
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
