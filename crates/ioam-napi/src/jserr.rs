//! Structured errors across napi: a core [`ioam_core::Error`] (or a binding-level fault in the same
//! terms) becomes a JS `Error` whose properties carry the data — `code` (`ERR_IOAM_*`), `layer`,
//! `offset`, `needed`, `got`, `what` — so `src/errors.ts` maps it to an `IoamError` without
//! reading the message. The message is the core's `Display` text, for humans only.
use ioam_core::{Error as CoreError, ErrorCode, Layer};
use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, Error, Status};
use std::ptr;

/// The code of a native failure that is not a core error (a caught panic: a bug).
pub const INTERNAL: &str = "ERR_IOAM_INTERNAL";

/// An error in the core's terms, with an owned `what` (serde and address messages are dynamic).
pub struct Fault {
    pub code: &'static str,
    pub layer: &'static str,
    pub offset: usize,
    pub needed: usize,
    pub got: usize,
    pub what: String,
}

impl Fault {
    pub fn new(code: ErrorCode, layer: Layer, what: impl Into<String>) -> Fault {
        Fault { code: code.as_str(), layer: layer.as_str(), offset: 0, needed: 0, got: 0, what: what.into() }
    }

    /// The core's `Display` form (`ERR_IOAM_X in LAYER at offset N: what[ (needed A bytes, got B)]`).
    fn message(&self) -> String {
        let mut m = format!("{} in {} at offset {}: {}", self.code, self.layer, self.offset, self.what);
        if self.code == ErrorCode::Truncated.as_str() || self.needed != 0 || self.got != 0 {
            m.push_str(&format!(" (needed {} bytes, got {})", self.needed, self.got));
        }
        m
    }
}

impl From<CoreError> for Fault {
    fn from(e: CoreError) -> Fault {
        Fault { code: e.code.as_str(), layer: e.layer.as_str(), offset: e.offset, needed: e.needed, got: e.got, what: e.what.to_string() }
    }
}

unsafe fn string(env: sys::napi_env, s: &str) -> sys::napi_value {
    let mut v = ptr::null_mut();
    unsafe { sys::napi_create_string_utf8(env, s.as_ptr().cast(), s.len() as isize, &mut v) };
    v
}

unsafe fn set(env: sys::napi_env, obj: sys::napi_value, key: &std::ffi::CStr, v: sys::napi_value) {
    if !v.is_null() {
        unsafe { sys::napi_set_named_property(env, obj, key.as_ptr(), v) };
    }
}

unsafe fn number(env: sys::napi_env, n: usize) -> sys::napi_value {
    let mut v = ptr::null_mut();
    unsafe { sys::napi_create_double(env, n as f64, &mut v) };
    v
}

/// The JS `Error` for `f` (null if the environment cannot build one, e.g. while tearing down).
///
/// # Safety
/// `env` must be the current call's environment.
pub unsafe fn error_value(env: sys::napi_env, f: &Fault) -> sys::napi_value {
    unsafe {
        let (code, msg) = (string(env, f.code), string(env, &f.message()));
        let mut err = ptr::null_mut();
        if code.is_null() || msg.is_null() || sys::napi_create_error(env, code, msg, &mut err) != sys::Status::napi_ok {
            return ptr::null_mut();
        }
        set(env, err, c"layer", string(env, f.layer));
        set(env, err, c"offset", number(env, f.offset));
        set(env, err, c"needed", number(env, f.needed));
        set(env, err, c"got", number(env, f.got));
        set(env, err, c"what", string(env, &f.what));
        err
    }
}

/// Throws `f` (raw callbacks).
///
/// # Safety
/// `env` must be the current call's environment.
pub unsafe fn throw(env: sys::napi_env, f: &Fault) {
    unsafe {
        let err = error_value(env, f);
        if !err.is_null() {
            sys::napi_throw(env, err);
        }
    }
}

/// A napi-rs `Error` that throws the structured JS error of `f` verbatim.
pub fn to_napi(env: &Env, f: impl Into<Fault>) -> Error {
    let f = f.into();
    // SAFETY: `env` is the environment of the running call.
    let v = unsafe { error_value(env.raw(), &f) };
    if v.is_null() {
        return Error::new(Status::GenericFailure, f.message());
    }
    // SAFETY: `v` was just created in `env`.
    Error::from(unsafe { Unknown::from_raw_unchecked(env.raw(), v) })
}
