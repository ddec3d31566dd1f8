//! Thin napi-rs binding of ioam-core: converts arguments, makes one call into the core, converts
//! the result. No protocol logic here.
use napi_derive::napi;

mod netio;

/// Version of the native core.
#[napi]
pub fn core_version() -> String {
    ioam_core::version().to_string()
}
