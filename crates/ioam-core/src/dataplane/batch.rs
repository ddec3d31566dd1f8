//! The batch ABI: one buffer, a descriptor table, a meta table and an outcome table per call.
//!
//! - `buf`: all packets' slots.
//! - `desc`: [`DESC_STRIDE`] u32 per packet: `[slot_start, slot_end, off, len]` (absolute in
//!   `buf`); `off`/`len` are updated in place.
//! - `meta`: [`META_STRIDE`] u32 per packet (see [`Meta`]).
//! - `out`: [`OUT_STRIDE`] u32 per packet: `[verdict, reason, offset, aux]`.
//!
//! Table-level misuse (tables of different packet counts) is an `Err`; per-packet problems are
//! outcomes: a descriptor whose slot is not inside `buf` (`slot_start <= slot_end <= buf.len()`)
//! or whose packet is not inside its slot (`slot_start <= off`, `off + len <= slot_end`) gives
//! `DropBadDescriptor` and leaves the packet and its descriptor alone.
//! The loops zip the tables with `chunks_exact`: no allocation, no indexing that can panic.
use super::encap::{encap, CltIds, EncapState};
use super::{decap::decap, transit::transit};
use super::{Meta, Node, Outcome, Reason, DESC_STRIDE, META_STRIDE, OUT_STRIDE};
use crate::error::{Error, ErrorCode, Layer, Result};

fn count(desc: &[u32], meta: &[u32], out: &[u32]) -> Result<usize> {
    let n = desc.len() / DESC_STRIDE;
    if !desc.len().is_multiple_of(DESC_STRIDE) || meta.len() < n * META_STRIDE || out.len() < n * OUT_STRIDE {
        return Err(Error::new(ErrorCode::BadDescriptor, Layer::Batch, 0, "desc/meta/out tables disagree on the packet count"));
    }
    Ok(n)
}

/// The slot `[slot_start, slot_end)` and the packet offset inside it, if the descriptor is sane.
#[inline]
fn check(d: &[u32], buf_len: usize) -> Option<(usize, usize, usize, usize)> {
    let (ss, se, off, len) = (*d.first()? as usize, *d.get(1)? as usize, *d.get(2)? as usize, *d.get(3)? as usize);
    if ss > se || se > buf_len || off < ss || off.checked_add(len)? > se {
        return None;
    }
    Some((ss, se, off - ss, len))
}

#[inline]
fn write_out(o: &mut [u32], d: &mut [u32], ss: usize, r: &Outcome) {
    if let [v, reason, offset, aux] = o {
        *v = r.verdict() as u32;
        *reason = r.reason as u32;
        *offset = r.offset;
        *aux = r.aux;
    }
    if let Some(x) = d.get_mut(2) {
        *x = (ss + r.off) as u32;
    }
    if let Some(x) = d.get_mut(3) {
        *x = r.len as u32;
    }
}

#[inline]
fn bad(o: &mut [u32]) {
    if let [v, reason, offset, aux] = o {
        *v = Reason::DropBadDescriptor.verdict() as u32;
        *reason = Reason::DropBadDescriptor as u32;
        *offset = 0;
        *aux = 0;
    }
}

#[inline]
fn meta_of(m: &[u32]) -> Meta {
    match <&[u32; META_STRIDE]>::try_from(m) {
        Ok(w) => Meta::from_words(w),
        Err(_) => Meta::default(),
    }
}

/// Runs `f(slot, off_in_slot, len, meta, index)` for each packet; returns the packet count.
fn run(
    buf: &mut [u8],
    desc: &mut [u32],
    meta: &[u32],
    out: &mut [u32],
    mut f: impl FnMut(&mut [u8], usize, usize, &Meta, usize) -> Outcome,
) -> Result<usize> {
    let n = count(desc, meta, out)?;
    let buf_len = buf.len();
    let rows = desc.chunks_exact_mut(DESC_STRIDE).zip(meta.chunks_exact(META_STRIDE)).zip(out.chunks_exact_mut(OUT_STRIDE));
    for (i, ((d, m), o)) in rows.enumerate() {
        let Some((ss, se, off, len)) = check(d, buf_len) else {
            bad(o);
            continue;
        };
        let Some(slot) = buf.get_mut(ss..se) else {
            bad(o);
            continue;
        };
        let r = f(slot, off, len, &meta_of(m), i);
        write_out(o, d, ss, &r);
    }
    Ok(n)
}

/// [`transit`] over a batch; aux = IOAM options processed | loopback flag.
pub fn transit_batch(node: &Node, buf: &mut [u8], desc: &mut [u32], meta: &[u32], out: &mut [u32]) -> Result<usize> {
    run(buf, desc, meta, out, |slot, off, len, m, _| transit(node, slot, off, len, m))
}

/// `clt`: empty, or 24 bytes per packet (16-byte trace ID, 8-byte span ID).
/// Packets are processed in table order, so the k-of-n counter advances deterministically.
pub fn encap_batch(node: &Node, state: &mut EncapState, buf: &mut [u8], desc: &mut [u32], meta: &[u32], clt: &[u8], out: &mut [u32]) -> Result<usize> {
    let n = count(desc, meta, out)?;
    if !clt.is_empty() && clt.len() != n * 24 {
        return Err(Error::new(ErrorCode::BadDescriptor, Layer::Batch, 0, "clt must be empty or 24 bytes per packet"));
    }
    run(buf, desc, meta, out, |slot, off, len, m, i| {
        let ids = clt.get(i * 24..i * 24 + 24).and_then(CltIds::from_bytes);
        encap(node, state, slot, off, len, m, ids.as_ref())
    })
}

/// `trace_arena`/`trace_desc` (2 u32 per packet: offset, length in the arena) receive the removed
/// Hop-by-Hop headers, packed one after the other; a trace that does not fit in the rest of the
/// arena gets length 0 (and aux 0).
pub fn decap_batch(node: &Node, buf: &mut [u8], desc: &mut [u32], meta: &[u32], out: &mut [u32], trace_arena: &mut [u8], trace_desc: &mut [u32]) -> Result<usize> {
    let n = count(desc, meta, out)?;
    if trace_desc.len() < n * 2 {
        return Err(Error::new(ErrorCode::BadDescriptor, Layer::Batch, 0, "trace_desc needs 2 words per packet"));
    }
    let mut cursor = 0usize;
    for td in trace_desc.chunks_exact_mut(2).take(n) {
        td.fill(0);
    }
    run(buf, desc, meta, out, |slot, off, len, m, i| {
        let arena = trace_arena.get_mut(cursor..).unwrap_or(&mut []);
        let r = decap(node, slot, off, len, m, arena);
        if let Some(td) = trace_desc.get_mut(i * 2..i * 2 + 2) {
            td[0] = cursor as u32;
            td[1] = r.aux;
        }
        cursor += r.aux as usize;
        r
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::*;

    fn node() -> Node {
        Node::new(NodeConfig {
            ioam6_id: 7,
            interfaces: vec![InterfaceConfig { name: "a".into(), ioam6_enabled: true, ..Default::default() }],
            namespaces: vec![NamespaceConfig { id: 1, ..Default::default() }],
            encap: Some(EncapConfig { trace_type: 0x800000, namespace: 1, size: 8, ..Default::default() }),
            ..Default::default()
        })
        .unwrap()
    }

    fn buf_with_udp(slots: usize, slot_size: usize, headroom: usize) -> (Vec<u8>, Vec<u32>) {
        let mut buf = vec![0u8; slots * slot_size];
        let mut desc = Vec::new();
        for i in 0..slots {
            let s = i * slot_size;
            let p = &mut buf[s + headroom..s + headroom + 48];
            p[0] = 0x60;
            p[5] = 8;
            p[6] = 17;
            p[7] = 64;
            desc.extend_from_slice(&[s as u32, (s + slot_size) as u32, (s + headroom) as u32, 48]);
        }
        (buf, desc)
    }

    #[test]
    fn encap_transit_decap_batch() {
        let n = node();
        let (mut buf, mut desc) = buf_with_udp(3, 256, 128);
        desc[4 + 3] = 300; // packet 1 overruns its slot
        let meta: Vec<u32> = (0..3).flat_map(|_| [0u32, u32::MAX, 0, 0, u32::MAX, u32::MAX, u32::MAX, 0]).collect();
        let mut out = vec![0u32; 12];
        let mut st = EncapState::default();
        assert_eq!(encap_batch(&n, &mut st, &mut buf, &mut desc, &meta, &[], &mut out).unwrap(), 3);
        assert_eq!(&out[..4], &[0, Reason::Encapsulated as u32, 0, 24]);
        assert_eq!(&out[4..8], &[1, Reason::DropBadDescriptor as u32, 0, 0]);
        assert_eq!(&desc[..4], &[0, 256, 128 - 24, 48 + 24]);
        desc[4 + 3] = 48;
        assert_eq!(transit_batch(&n, &mut buf, &mut desc, &meta, &mut out).unwrap(), 3);
        assert_eq!(&out[..4], &[0, Reason::Written as u32, 44, 1]);
        assert_eq!(out[5], Reason::NoIoam as u32);
        let mut arena = vec![0u8; 100];
        let mut td = vec![9u32; 6];
        assert_eq!(decap_batch(&n, &mut buf, &mut desc, &meta, &mut out, &mut arena, &mut td).unwrap(), 3);
        assert_eq!(&out[..4], &[0, Reason::Decapsulated as u32, 0, 24]);
        assert_eq!(&td, &[0, 24, 24, 0, 24, 24]);
        assert_eq!(&desc[..4], &[0, 256, 128, 48]);
        assert_eq!(&arena[..4], &[17, 2, 1, 0]);
        assert_eq!(&arena[24..28], &[17, 2, 1, 0]);
    }

    #[test]
    fn table_misuse_is_an_error() {
        let n = node();
        let (mut buf, mut desc) = buf_with_udp(2, 128, 64);
        let mut out = vec![0u32; 8];
        assert!(transit_batch(&n, &mut buf, &mut desc, &[0; 8], &mut out).is_err());
        assert!(transit_batch(&n, &mut buf, &mut desc[..7], &[0; 16], &mut out).is_err());
        assert!(encap_batch(&n, &mut EncapState::default(), &mut buf, &mut desc, &[0; 16], &[0; 10], &mut out).is_err());
        // slot beyond buf, slot_start > off
        let mut d2 = vec![0, 999, 0, 48, 64, 128, 10, 48];
        assert_eq!(transit_batch(&n, &mut buf, &mut d2, &[0; 16], &mut out).unwrap(), 2);
        assert_eq!((out[1], out[5]), (Reason::DropBadDescriptor as u32, Reason::DropBadDescriptor as u32));
    }
}
