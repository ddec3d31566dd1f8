//! Wire formats: zero-copy views and owned representations. (STUB: to be implemented by core-wire.)
//!
//! Contract (smoltcp's): after a view's `new_checked` succeeds, no accessor panics; `parse`
//! of a `Repr` never panics on any bytes and returns a typed [`crate::Error`].
