//! The per-packet calls (`transit`, `encap`, `decap` of `NativeNode.inPlaceFunctions()`): plain
//! N-API functions bound to one node, working in place on the caller's packet bytes.
//!
//! Where the time goes in a napi call (measured on the dev machine, CPU ns): the call itself with
//! `napi_get_cb_info` ~35, each typed-array argument ~30-50, a napi-rs class method's receiver
//! unwrap + type-tag check ~350. So these functions
//! - are not `#[napi]` methods: each carries its node in the function's `data` pointer (an `Rc`
//!   released by the function's finalizer);
//! - take only the packet as a typed array: the per-packet meta (8 words), the outcome (5
//!   words) and the CLT IDs live in a small *scratch* block the node owns, which JS sees as an
//!   external `ArrayBuffer` (`scratch`), so they cross without a napi call;
//! - return the reason as a small integer (a V8 Smi: nothing is allocated per call).
//!
//! Scratch layout (u32 words, `ioam_core::abi::SCRATCH_*`): `[meta 8 | out 5 | clt_len 1 | clt 24 bytes]`
//! where out = `[reason, offset, aux, newStart, newLen]` and clt_len is 0 (no IDs) or 24.
//!
//! Arguments: `transit(buf, start, len)`, `encap(buf, start, len)`, `decap(buf, start, len, trace)`
//! with `buf`/`trace` `Uint8Array`s. The packet is `buf[start..start + len]`; the bytes before
//! `start` are headroom (encap inserts there; without enough the outcome is `DropNoRoom`, the
//! packet untouched), those after the packet tailroom. A packet outside `buf` is the outcome
//! `DropBadDescriptor`. Wrong argument types, a `buf` sharing memory with the scratch block or
//! `trace`, or a clt_len other than 0/24 throw the structured error of `jserr`.
use crate::jserr::{throw, Fault};
use ioam_core::abi::{CLT_STRIDE, PKT_OUT_WORDS, SCRATCH_CLT, SCRATCH_CLT_LEN, SCRATCH_META, SCRATCH_OUT, SCRATCH_WORDS};
use ioam_core::dataplane::{self, encap::CltIds, encap::EncapState, Meta, Outcome, META_STRIDE};
use ioam_core::{ErrorCode, Layer};
use napi::sys;
use std::cell::{Cell, UnsafeCell};
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;

/// What a node's functions share with the `NativeNode` object: the compiled node, the k-of-n
/// counter and the scratch block. Everything runs on the one JS thread that owns the node
/// (`Cell`/`UnsafeCell`, no locks).
pub struct Shared {
    pub node: dataplane::Node,
    pub count: Cell<u64>,
    scratch: Box<UnsafeCell<[u32; SCRATCH_WORDS]>>,
}

impl Shared {
    pub fn new(node: dataplane::Node) -> Shared {
        Shared { node, count: Cell::new(0), scratch: Box::new(UnsafeCell::new([0; SCRATCH_WORDS])) }
    }

    /// Runs `f` with the encap state, writing the advanced counter back.
    pub fn with_state<R>(&self, f: impl FnOnce(&dataplane::Node, &mut EncapState) -> R) -> R {
        let mut st = EncapState { count: self.count.get() };
        let r = f(&self.node, &mut st);
        self.count.set(st.count);
        r
    }

    fn scratch_span(&self) -> (usize, usize) {
        let p = self.scratch.get() as usize;
        (p, p + SCRATCH_WORDS * 4)
    }
}

#[derive(Clone, Copy)]
enum Op {
    Transit,
    Encap,
    Decap,
    Step,
}

/// A `Uint8Array`'s memory as `(ptr, len)`, or `None` if `v` is not one.
unsafe fn bytes(env: sys::napi_env, v: sys::napi_value) -> Option<(*mut u8, usize)> {
    let (mut t, mut len, mut data) = (0, 0usize, ptr::null_mut());
    let mut off = 0usize;
    let s = unsafe { sys::napi_get_typedarray_info(env, v, &mut t, &mut len, &mut data, ptr::null_mut(), &mut off) };
    if s != sys::Status::napi_ok || t != sys::TypedarrayType::uint8_array {
        return None;
    }
    Some((if len == 0 { ptr::NonNull::<u8>::dangling().as_ptr() } else { data.cast() }, len))
}

unsafe fn u32_arg(env: sys::napi_env, v: sys::napi_value) -> Option<u32> {
    let mut n = 0u32;
    (unsafe { sys::napi_get_value_uint32(env, v, &mut n) } == sys::Status::napi_ok).then_some(n)
}

fn overlap(a: (usize, usize), b: (usize, usize)) -> bool {
    a.1 > a.0 && b.1 > b.0 && a.0 < b.1 && b.0 < a.1
}

fn bad_arg(what: &'static str) -> Fault {
    Fault::new(ErrorCode::BadValue, Layer::Batch, what)
}

/// The call proper; `Err` is thrown by the caller.
unsafe fn call(env: sys::napi_env, info: sys::napi_callback_info, op: Op) -> Result<u32, Fault> {
    let mut argv = [ptr::null_mut(); 4];
    let mut argc = argv.len();
    let mut data = ptr::null_mut();
    if unsafe { sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), &mut data) } != sys::Status::napi_ok
        || data.is_null()
    {
        return Err(bad_arg("in-place call without its node"));
    }
    // SAFETY: `data` is the `Rc<Shared>` this function was created with (alive until its finalizer).
    let shared = unsafe { &*(data as *const Shared) };
    if let Op::Step = op {
        return unsafe { call_step(env, shared, argv) };
    }
    let [a_buf, a_start, a_len, a_trace] = argv;
    let buf = unsafe { bytes(env, a_buf) }.ok_or(bad_arg("buf must be a Uint8Array"))?;
    let start = unsafe { u32_arg(env, a_start) }.ok_or(bad_arg("start must be a number"))? as usize;
    let len = unsafe { u32_arg(env, a_len) }.ok_or(bad_arg("len must be a number"))? as usize;
    let trace = match op {
        Op::Decap => unsafe { bytes(env, a_trace) }.ok_or(bad_arg("trace must be a Uint8Array"))?,
        _ => (ptr::NonNull::<u8>::dangling().as_ptr(), 0),
    };
    let (b, t, s) = ((buf.0 as usize, buf.0 as usize + buf.1), (trace.0 as usize, trace.0 as usize + trace.1), shared.scratch_span());
    if overlap(b, s) || overlap(b, t) || overlap(t, s) {
        return Err(Fault::new(ErrorCode::BadDescriptor, Layer::Batch, "buf, trace and the node's scratch block overlap in memory"));
    }
    // SAFETY: `buf`/`trace` are live typed arrays of this call and the scratch block is the
    // node's; the JS thread is inside this call so nothing else touches them, and the three are
    // pairwise disjoint (checked above).
    let (buf, trace, scratch) = unsafe {
        (std::slice::from_raw_parts_mut(buf.0, buf.1), std::slice::from_raw_parts_mut(trace.0, trace.1), &mut *shared.scratch.get())
    };
    let meta_words: &[u32; META_STRIDE] = scratch[SCRATCH_META..].first_chunk().ok_or(bad_arg("scratch layout"))?;
    let m = Meta::from_words(meta_words);
    let o = match op {
        Op::Transit => dataplane::transit::transit(&shared.node, buf, start, len, &m),
        Op::Decap => dataplane::decap::decap(&shared.node, buf, start, len, &m, trace),
        Op::Step => return Err(bad_arg("step call")),
        Op::Encap => {
            let ids = match scratch[SCRATCH_CLT_LEN] as usize {
                0 => None,
                CLT_STRIDE => {
                    let mut b = [0u8; CLT_STRIDE];
                    for (d, w) in b.chunks_exact_mut(4).zip(&scratch[SCRATCH_CLT..]) {
                        d.copy_from_slice(&w.to_ne_bytes());
                    }
                    CltIds::from_bytes(&b)
                }
                _ => return Err(Fault::new(ErrorCode::BadLength, Layer::Clt, "clt must be empty or 24 bytes (trace ID 16, span ID 8)")),
            };
            shared.with_state(|node, st| dataplane::encap::encap(node, st, buf, start, len, &m, ids.as_ref()))
        }
    };
    Ok(write_out(&mut scratch[SCRATCH_OUT..], &o))
}

/// `step(buf, tables, cap, n)`: the node's whole step over `n` packets
/// (`ioam_core::dataplane::batch::node_step`), `tables` a `Uint8Array` over the step tables of
/// `cap` packets (layout `ioam_core::abi::STEP_U32_REGIONS` then `STEP_U8_REGIONS`, 4-byte aligned).
/// Returns `n`.
unsafe fn call_step(env: sys::napi_env, shared: &Shared, argv: [sys::napi_value; 4]) -> Result<u32, Fault> {
    use ioam_core::abi::{step_bytes_per_packet, step_words_per_packet, STEP_U32_REGIONS, STEP_U8_REGIONS};
    use ioam_core::dataplane::batch::{node_step, StepTables};
    let [a_buf, a_tables, a_cap, a_n] = argv;
    let buf = unsafe { bytes(env, a_buf) }.ok_or(bad_arg("buf must be a Uint8Array"))?;
    let tables = unsafe { bytes(env, a_tables) }.ok_or(bad_arg("tables must be a Uint8Array"))?;
    let cap = unsafe { u32_arg(env, a_cap) }.ok_or(bad_arg("cap must be a number"))? as usize;
    let n = unsafe { u32_arg(env, a_n) }.ok_or(bad_arg("n must be a number"))? as usize;
    let words = cap * step_words_per_packet();
    if n > cap || tables.1 < words * 4 + cap * step_bytes_per_packet() || !(tables.0 as usize).is_multiple_of(4) {
        return Err(Fault::new(ErrorCode::BadDescriptor, Layer::Batch, "step tables: n > cap, too short for cap packets, or not 4-byte aligned"));
    }
    if overlap((buf.0 as usize, buf.0 as usize + buf.1), (tables.0 as usize, tables.0 as usize + tables.1)) {
        return Err(Fault::new(ErrorCode::BadDescriptor, Layer::Batch, "buf and the step tables overlap in memory"));
    }
    // SAFETY: both are live typed arrays of this call, disjoint (checked), touched by nothing
    // else while the JS thread is in this call; `tables` is 4-byte aligned and holds `words` u32
    // then the byte regions (checked), split below into disjoint regions.
    let (buf, w, b) = unsafe {
        (
            std::slice::from_raw_parts_mut(buf.0, buf.1),
            std::slice::from_raw_parts_mut(tables.0.cast::<u32>(), words),
            std::slice::from_raw_parts_mut(tables.0.add(words * 4), tables.1 - words * 4),
        )
    };
    let mut u32s: [&mut [u32]; 7] = Default::default();
    let mut rest = w;
    for (slot, (_, k)) in u32s.iter_mut().zip(STEP_U32_REGIONS) {
        let (head, tail) = rest.split_at_mut(cap * k);
        *slot = head;
        rest = tail;
    }
    let mut u8s: [&mut [u8]; 3] = Default::default();
    let mut rest = b;
    for (slot, (_, k)) in u8s.iter_mut().zip(STEP_U8_REGIONS) {
        let (head, tail) = rest.split_at_mut(cap * k);
        *slot = head;
        rest = tail;
    }
    let [desc, meta, meta2, out1, out2, flags, trace_desc] = u32s;
    let [clt, status, trace_arena] = u8s;
    let t = StepTables { desc, meta, meta2, out1, out2, flags, trace_desc, clt, status, trace_arena };
    shared
        .with_state(|node, st| node_step(node, st, buf, t, n))
        .map(|n| n as u32)
        .map_err(Fault::from)
}

/// Writes `[reason, offset, aux, newStart, newLen]`; returns the reason.
#[inline]
fn write_out(out: &mut [u32], o: &Outcome) -> u32 {
    if let Some([reason, offset, aux, start, len]) = out.first_chunk_mut::<PKT_OUT_WORDS>() {
        *reason = o.reason as u32;
        *offset = o.offset;
        *aux = o.aux;
        *start = o.off as u32;
        *len = o.len as u32;
    }
    o.reason as u32
}

unsafe fn entry(env: sys::napi_env, info: sys::napi_callback_info, op: Op) -> sys::napi_value {
    let r = std::panic::catch_unwind(|| unsafe { call(env, info, op) })
        .unwrap_or_else(|_| Err(Fault { code: crate::jserr::INTERNAL, ..bad_arg("panic in the native core") }));
    match r {
        Ok(reason) => {
            let mut v = ptr::null_mut();
            unsafe { sys::napi_create_uint32(env, reason, &mut v) };
            v
        }
        Err(f) => {
            unsafe { throw(env, &f) };
            ptr::null_mut()
        }
    }
}

unsafe extern "C" fn transit_cb(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    unsafe { entry(env, info, Op::Transit) }
}
unsafe extern "C" fn encap_cb(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    unsafe { entry(env, info, Op::Encap) }
}
unsafe extern "C" fn decap_cb(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    unsafe { entry(env, info, Op::Decap) }
}
unsafe extern "C" fn step_cb(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    unsafe { entry(env, info, Op::Step) }
}

unsafe extern "C" fn release(_env: sys::napi_env, data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the `Rc::into_raw` given with this finalizer, released exactly once here
    // (`data` is the scratch pointer for the ArrayBuffer, the same Rc for the functions).
    let _ = data;
    drop(unsafe { Rc::from_raw(hint as *const Shared) });
}

fn failed() -> napi::Error {
    napi::Error::from_reason("cannot create the in-place functions")
}

/// `{ transit, encap, decap, scratch }` bound to `shared` (see the module doc).
pub fn functions(env: &napi::Env, shared: &Rc<Shared>) -> napi::Result<Raw> {
    let env = env.raw();
    // SAFETY: raw N-API calls in the current call's `env`; each Rc clone handed to a finalizer
    // is released by it, or here if the finalizer could not be attached.
    unsafe {
        let mut obj = ptr::null_mut();
        if sys::napi_create_object(env, &mut obj) != sys::Status::napi_ok {
            return Err(failed());
        }
        for (name, cb) in
            [(c"transit", transit_cb as unsafe extern "C" fn(_, _) -> _), (c"encap", encap_cb), (c"decap", decap_cb), (c"step", step_cb)]
        {
            let rc = Rc::into_raw(shared.clone()) as *mut c_void;
            let mut f = ptr::null_mut();
            if sys::napi_create_function(env, name.as_ptr(), -1, Some(cb), rc, &mut f) != sys::Status::napi_ok
                || sys::napi_add_finalizer(env, f, rc, Some(release), rc, ptr::null_mut()) != sys::Status::napi_ok
            {
                drop(Rc::from_raw(rc as *const Shared));
                return Err(failed());
            }
            sys::napi_set_named_property(env, obj, name.as_ptr(), f);
        }
        let rc = Rc::into_raw(shared.clone()) as *mut c_void;
        let mut ab = ptr::null_mut();
        let data = shared.scratch.get() as *mut c_void;
        if sys::napi_create_external_arraybuffer(env, data, SCRATCH_WORDS * 4, Some(release), rc, &mut ab) != sys::Status::napi_ok {
            drop(Rc::from_raw(rc as *const Shared));
            return Err(failed());
        }
        sys::napi_set_named_property(env, obj, c"scratch".as_ptr(), ab);
        Ok(Raw(obj))
    }
}

/// A JS value built with raw N-API calls, returned as is.
pub struct Raw(sys::napi_value);

impl napi::bindgen_prelude::ToNapiValue for Raw {
    unsafe fn to_napi_value(_env: sys::napi_env, v: Self) -> napi::Result<sys::napi_value> {
        Ok(v.0)
    }
}

impl napi::bindgen_prelude::TypeName for Raw {
    fn type_name() -> &'static str {
        "Object"
    }
    fn value_type() -> napi::ValueType {
        napi::ValueType::Object
    }
}
