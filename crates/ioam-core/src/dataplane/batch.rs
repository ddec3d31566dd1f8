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

/// One table row: checks the descriptor, runs `f(slot, off_in_slot, len, meta)` and writes the
/// outcome; a bad descriptor gives `DropBadDescriptor` and no call (`None`).
#[inline]
fn one(buf: &mut [u8], d: &mut [u32], m: &[u32], o: &mut [u32], f: impl FnOnce(&mut [u8], usize, usize, &Meta) -> Outcome) -> Option<Outcome> {
    let buf_len = buf.len();
    let Some((ss, se, off, len)) = check(d, buf_len) else {
        bad(o);
        return None;
    };
    let Some(slot) = buf.get_mut(ss..se) else {
        bad(o);
        return None;
    };
    let r = f(slot, off, len, &meta_of(m));
    write_out(o, d, ss, &r);
    Some(r)
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
    let rows = desc.chunks_exact_mut(DESC_STRIDE).zip(meta.chunks_exact(META_STRIDE)).zip(out.chunks_exact_mut(OUT_STRIDE));
    for (i, ((d, m), o)) in rows.enumerate() {
        one(buf, d, m, o, |slot, off, len, m| f(slot, off, len, m, i));
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

/// Step plan flag: Hop-by-Hop processing on input ([`transit`]).
pub const STEP_F_TRANSIT: u32 = 1;
/// Step plan flag: the domain's decapsulating node ([`decap`]: fill, then remove); wins over transit.
pub const STEP_F_DECAP: u32 = 2;
/// Step plan flag: forwarded: the hop limit is checked and decremented after the input processing.
pub const STEP_F_HOPLIMIT: u32 = 4;
/// Step plan flag: encapsulate on output ([`encap`], with the `meta2` row).
pub const STEP_F_ENCAP: u32 = 8;
/// Step plan flag: the packet's `clt` row carries CLT IDs.
pub const STEP_F_CLT: u32 = 16;
/// Step status: the packet goes on.
pub const STEP_S_ALIVE: u8 = 0;
/// Step status: dropped by the input processing (`out1` says why).
pub const STEP_S_DROP_INPUT: u8 = 1;
/// Step status: dropped by the forwarding hop-limit check (ICMPv6 Time Exceeded in Linux).
pub const STEP_S_DROP_HOPLIMIT: u8 = 2;
/// Step status: dropped by the encapsulation (`out2` says why).
pub const STEP_S_DROP_ENCAP: u8 = 3;

/// The tables of one [`node_step`], `n` rows each (strides as in the batch calls; `flags` and
/// `status` one word / byte per packet, `clt` 24 bytes per packet).
pub struct StepTables<'a> {
    pub desc: &'a mut [u32],
    /// Meta of the input processing and of the encapsulation.
    pub meta: &'a [u32],
    pub meta2: &'a [u32],
    /// Outcomes of the input processing and of the encapsulation.
    pub out1: &'a mut [u32],
    pub out2: &'a mut [u32],
    pub flags: &'a [u32],
    pub trace_desc: &'a mut [u32],
    pub clt: &'a [u8],
    pub status: &'a mut [u8],
    pub trace_arena: &'a mut [u8],
}

/// A node's whole dataplane step over `n` packets, in one call. Per packet, as Linux: Hop-by-Hop
/// processing on input (`STEP_F_DECAP`: [`decap`], else `STEP_F_TRANSIT`: [`transit`]; outcome in
/// `out1`, a drop → `STEP_S_DROP_INPUT`), then for `STEP_F_HOPLIMIT` the forwarding hop-limit check
/// (`ip6_forward`: HL ≤ 1 → `STEP_S_DROP_HOPLIMIT`, else HL − 1), then for `STEP_F_ENCAP`
/// [`encap`] with the `meta2` row (outcome in `out2`, a drop → `STEP_S_DROP_ENCAP`). Encapsulation
/// runs in packet order (the k-of-n counter); when any packet reaching it has `STEP_F_CLT`, every
/// encapsulated packet of the step takes its `clt` row as IDs (as one [`encap_batch`] call with a
/// `clt` table would). Removed Hop-by-Hop headers go to `trace_arena` one after the other
/// (`trace_desc` as in [`decap_batch`]). Rows past `n` are not touched; tables shorter than `n`
/// rows are an `Err`.
pub fn node_step(node: &Node, state: &mut EncapState, buf: &mut [u8], t: StepTables<'_>, n: usize) -> Result<usize> {
    let StepTables { desc, meta, meta2, out1, out2, flags, trace_desc, clt, status, trace_arena } = t;
    let rows_ok = desc.len() >= n * DESC_STRIDE
        && meta.len() >= n * META_STRIDE
        && meta2.len() >= n * META_STRIDE
        && out1.len() >= n * OUT_STRIDE
        && out2.len() >= n * OUT_STRIDE
        && flags.len() >= n
        && trace_desc.len() >= n * 2
        && clt.len() >= n * 24
        && status.len() >= n;
    if !rows_ok {
        return Err(Error::new(ErrorCode::BadDescriptor, Layer::Batch, 0, "step tables have fewer rows than the packet count"));
    }
    let (desc, out1, out2) = (&mut desc[..n * DESC_STRIDE], &mut out1[..n * OUT_STRIDE], &mut out2[..n * OUT_STRIDE]);
    let (flags, trace_desc, status) = (&flags[..n], &mut trace_desc[..n * 2], &mut status[..n]);
    status.fill(STEP_S_ALIVE);
    out1.fill(0);
    out2.fill(0);
    trace_desc.fill(0);
    // Input processing.
    let mut cursor = 0usize;
    let rows = desc.chunks_exact_mut(DESC_STRIDE).zip(meta.chunks_exact(META_STRIDE)).zip(out1.chunks_exact_mut(OUT_STRIDE));
    for ((((d, m), o), &f), td) in rows.zip(flags).zip(trace_desc.chunks_exact_mut(2)) {
        if f & STEP_F_DECAP != 0 {
            let arena = trace_arena.get_mut(cursor..).unwrap_or(&mut []);
            if let Some(r) = one(buf, d, m, o, |slot, off, len, m| decap(node, slot, off, len, m, arena)) {
                td[0] = cursor as u32;
                td[1] = r.aux;
                cursor += r.aux as usize;
            }
        } else if f & STEP_F_TRANSIT != 0 {
            one(buf, d, m, o, |slot, off, len, m| transit(node, slot, off, len, m));
        }
    }
    // Drops on input, then the forwarding hop limit.
    let mut any_clt = false;
    let rows = desc.chunks_exact(DESC_STRIDE).zip(out1.chunks_exact(OUT_STRIDE)).zip(flags).zip(status.iter_mut());
    for (((d, o), &f), s) in rows {
        if f & (STEP_F_TRANSIT | STEP_F_DECAP) != 0 && o.first() != Some(&0) {
            *s = STEP_S_DROP_INPUT;
            continue;
        }
        if f & STEP_F_HOPLIMIT != 0 {
            if let Some(hl) = d.get(2).and_then(|&off| buf.get_mut(off as usize + 7)) {
                if *hl <= 1 {
                    *s = STEP_S_DROP_HOPLIMIT;
                    continue;
                }
                *hl -= 1;
            }
        }
        if f & STEP_F_ENCAP != 0 && f & STEP_F_CLT != 0 {
            any_clt = true;
        }
    }
    // Output encapsulation, in packet order.
    let rows = desc.chunks_exact_mut(DESC_STRIDE).zip(meta2.chunks_exact(META_STRIDE)).zip(out2.chunks_exact_mut(OUT_STRIDE));
    for ((((d, m), o), (&f, s)), ids) in rows.zip(flags.iter().zip(status.iter_mut())).zip(clt.chunks_exact(24)) {
        if f & STEP_F_ENCAP == 0 || *s != STEP_S_ALIVE {
            continue;
        }
        let ids = if any_clt { CltIds::from_bytes(ids) } else { None };
        let dropped = one(buf, d, m, o, |slot, off, len, m| encap(node, state, slot, off, len, m, ids.as_ref())).is_none_or(|r| r.verdict() as u32 != 0);
        if dropped {
            *s = STEP_S_DROP_ENCAP;
        }
    }
    Ok(n)
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

    /// `node_step` = the separate batch calls (transit, decap, hop limit, encap) over the same packets.
    #[test]
    fn node_step_matches_the_separate_calls() {
        let n = node();
        let meta: Vec<u32> = (0..8).flat_map(|_| [0u32, 0, 5, 6, u32::MAX, u32::MAX, u32::MAX, 0]).collect();
        // Packets 0..4 carry IOAM (encapsulated first), 4..8 do not; packet 2 has hop limit 1.
        let (mut buf, mut desc) = buf_with_udp(8, 256, 128);
        let mut out = vec![0u32; 8 * 4];
        encap_batch(&n, &mut EncapState::default(), &mut buf, &mut desc[..16], &meta[..32], &[], &mut out[..16]).unwrap();
        buf[desc[2 * 4 + 2] as usize + 7] = 1;
        let flags = [
            STEP_F_TRANSIT | STEP_F_HOPLIMIT,
            STEP_F_DECAP | STEP_F_HOPLIMIT,
            STEP_F_TRANSIT | STEP_F_HOPLIMIT | STEP_F_ENCAP,
            STEP_F_DECAP,
            STEP_F_ENCAP,
            STEP_F_TRANSIT | STEP_F_HOPLIMIT | STEP_F_ENCAP | STEP_F_CLT,
            0,
            STEP_F_ENCAP,
        ];
        let mut clt = vec![0u8; 8 * 24];
        clt[5 * 24..6 * 24].fill(0xab);
        // The step.
        let (mut b1, mut d1) = (buf.clone(), desc.clone());
        let (mut o1, mut o2, mut td, mut st, mut arena) = (vec![9u32; 32], vec![9u32; 32], vec![9u32; 16], vec![9u8; 8], vec![0u8; 8 * 64]);
        let mut s1 = EncapState::default();
        let t = StepTables { desc: &mut d1, meta: &meta, meta2: &meta, out1: &mut o1, out2: &mut o2, flags: &flags, trace_desc: &mut td, clt: &clt, status: &mut st, trace_arena: &mut arena };
        assert_eq!(node_step(&n, &mut s1, &mut b1, t, 8).unwrap(), 8);
        // The same by hand, stage by stage on the packets each applies to.
        let (mut b2, mut d2) = (buf.clone(), desc.clone());
        let rows = |d: &[u32], idx: &[usize]| idx.iter().flat_map(|&i| d[i * 4..i * 4 + 4].to_vec()).collect::<Vec<u32>>();
        let put = |d: &mut [u32], idx: &[usize], r: &[u32]| {
            for (j, &i) in idx.iter().enumerate() {
                d[i * 4..i * 4 + 4].copy_from_slice(&r[j * 4..j * 4 + 4]);
            }
        };
        let (transits, decaps, encaps) = ([0usize, 2, 5], [1usize, 3], [4usize, 5, 7]);
        let mut dt = rows(&d2, &transits);
        let mut ot = vec![0u32; 12];
        transit_batch(&n, &mut b2, &mut dt, &meta[..24], &mut ot).unwrap();
        put(&mut d2, &transits, &dt);
        let mut dd = rows(&d2, &decaps);
        let (mut od, mut arena2, mut td2) = (vec![0u32; 8], vec![0u8; 8 * 64], vec![0u32; 4]);
        decap_batch(&n, &mut b2, &mut dd, &meta[..16], &mut od, &mut arena2, &mut td2).unwrap();
        put(&mut d2, &decaps, &dd);
        for i in [0usize, 1, 5] {
            b2[d2[i * 4 + 2] as usize + 7] -= 1;
        }
        let mut de = rows(&d2, &encaps);
        let mut oe = vec![0u32; 12];
        let mut s2 = EncapState::default();
        let clt2: Vec<u8> = encaps.iter().flat_map(|&i| clt[i * 24..i * 24 + 24].to_vec()).collect();
        encap_batch(&n, &mut s2, &mut b2, &mut de, &meta[..24], &clt2, &mut oe).unwrap();
        put(&mut d2, &encaps, &de);
        assert_eq!(b1, b2);
        assert_eq!(d1, d2);
        assert_eq!(st, [STEP_S_ALIVE, STEP_S_ALIVE, STEP_S_DROP_HOPLIMIT, STEP_S_ALIVE, STEP_S_ALIVE, STEP_S_ALIVE, STEP_S_ALIVE, STEP_S_ALIVE]);
        assert_eq!(rows(&o1, &transits), ot);
        assert_eq!(rows(&o1, &decaps), od);
        assert_eq!(rows(&o2, &encaps), oe);
        assert_eq!(&o2[2 * 4..3 * 4], &[0, 0, 0, 0], "a packet dropped by its hop limit is not encapsulated");
        assert_eq!((td[2], td[3], td[6], td[7]), (td2[0], td2[1], td2[2], td2[3]));
        assert_eq!(arena, arena2);
        assert!(td[3] > 0 && o1[1 * 4 + 1] == Reason::Decapsulated as u32, "the decap removed a header");
        assert!(s1.count == 3 && o2[5 * 4 + 1] == Reason::Encapsulated as u32);
        // Too few rows is an error, not a panic.
        let t = StepTables { desc: &mut d1, meta: &meta, meta2: &meta, out1: &mut o1, out2: &mut o2, flags: &flags[..7], trace_desc: &mut td, clt: &clt, status: &mut st, trace_arena: &mut arena };
        assert!(node_step(&n, &mut s1, &mut b1, t, 8).is_err());
    }
}
