//! The batch functions with arbitrary descriptor/meta/outcome tables (up to 8 packets, raw u32
//! descriptors, overlapping and out-of-range slots): never panics, never writes outside the
//! sane slots, and with sane disjoint slots equals the per-packet functions.
#![no_main]
use ioam_core::dataplane::{
    batch::{decap_batch, encap_batch, transit_batch},
    decap::decap,
    encap::{encap, CltIds, EncapState},
    transit::transit,
    Meta, Reason, DESC_STRIDE, META_STRIDE, OUT_STRIDE,
};
use ioam_core_fuzz::*;
use libfuzzer_sys::fuzz_target;

fn w(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fuzz_target!(|data: &[u8]| {
    let mut d = data;
    let [op] = take::<1>(&mut d);
    let c = take::<CONFIG_LEN>(&mut d);
    let [n] = take::<1>(&mut d);
    let n = usize::from(n % 9);
    let mut rows = Vec::new();
    for _ in 0..n {
        rows.push((take::<16>(&mut d), take::<META_LEN>(&mut d)));
    }
    let mut buf = d.to_vec();
    let blen = buf.len() as u64;
    let node = node(&c);
    // Descriptors: high bit of the first byte → raw words; else words reduced into the buffer.
    let mut desc = Vec::with_capacity(n * DESC_STRIDE);
    let mut meta_t = Vec::with_capacity(n * META_STRIDE);
    for (db, mb) in &rows {
        let raw = db[0] & 0x80 != 0;
        for k in 0..4 {
            let x = w(db, 4 * k);
            desc.push(if raw { x } else { (u64::from(x) % (blen + 1)) as u32 });
        }
        let mt = meta(mb);
        meta_t.extend_from_slice(&[
            mt.ingress_if,
            mt.egress_if,
            mt.ts_sec,
            mt.ts_nsec,
            mt.queue_depth,
            mt.transit_delay_ns,
            mt.buffer_occupancy,
            mt.flags,
        ]);
    }
    // Sane descriptors (what the core must accept) and their slots.
    let sane: Vec<Option<(usize, usize, usize, usize)>> = desc
        .chunks_exact(4)
        .map(|q| {
            let (ss, se, off, len) = (q[0] as usize, q[1] as usize, q[2] as usize, q[3] as usize);
            (ss <= se && se <= buf.len() && off >= ss && off.checked_add(len).is_some_and(|e| e <= se))
                .then_some((ss, se, off, len))
        })
        .collect();
    let disjoint = {
        let mut v: Vec<(usize, usize)> = sane.iter().flatten().map(|s| (s.0, s.1)).collect();
        v.sort();
        sane.iter().all(Option::is_some) && v.windows(2).all(|p| p[0].1 <= p[1].0)
    };
    let before = buf.clone();
    let mut out = vec![0xAAAA_AAAAu32; n * OUT_STRIDE];
    let mut desc2 = desc.clone();
    let clt: Vec<u8> = if op & 0x10 != 0 { (0..n * 24).map(|i| i as u8).collect() } else { Vec::new() };
    let mut arena = vec![0u8; usize::from(op >> 2) * 16];
    let mut tdesc = vec![0u32; n * 2];
    let res = match op % 3 {
        0 => transit_batch(&node, &mut buf, &mut desc2, &meta_t, &mut out),
        1 => encap_batch(&node, &mut EncapState::default(), &mut buf, &mut desc2, &meta_t, &clt, &mut out),
        _ => decap_batch(&node, &mut buf, &mut desc2, &meta_t, &mut out, &mut arena, &mut tdesc),
    };
    assert_eq!(res.expect("tables are consistent"), n);
    // Outside every sane slot nothing changed.
    let mut inside = vec![false; buf.len()];
    for s in sane.iter().flatten() {
        inside[s.0..s.1].iter_mut().for_each(|x| *x = true);
    }
    for (i, (a, b)) in before.iter().zip(&buf).enumerate() {
        assert!(inside[i] || a == b, "byte {i} outside every slot was written");
    }
    for (i, s) in sane.iter().enumerate() {
        let o = &out[i * 4..i * 4 + 4];
        match s {
            None => {
                assert_eq!(o[1], Reason::DropBadDescriptor as u32);
                assert_eq!(&desc2[i * 4..i * 4 + 4], &desc[i * 4..i * 4 + 4]);
            }
            Some((ss, se, _, _)) => {
                let (no, nl) = (desc2[i * 4 + 2] as usize, desc2[i * 4 + 3] as usize);
                assert!(no >= *ss && no + nl <= *se, "packet {i} left its slot");
            }
        }
    }
    // Disjoint sane slots: the batch equals the per-packet functions.
    if !disjoint {
        return;
    }
    let mut buf3 = before.clone();
    let mut st = EncapState::default();
    let mut cursor = 0usize;
    for (i, s) in sane.iter().enumerate() {
        let (ss, se, off, len) = s.unwrap();
        let m = Meta::from_words(meta_t[i * 8..i * 8 + 8].try_into().unwrap());
        let slot = &mut buf3[ss..se];
        let r = match op % 3 {
            0 => transit(&node, slot, off - ss, len, &m),
            1 => {
                let ids = clt.get(i * 24..i * 24 + 24).and_then(CltIds::from_bytes);
                encap(&node, &mut st, slot, off - ss, len, &m, ids.as_ref())
            }
            _ => {
                let a = arena.get_mut(cursor..).unwrap_or(&mut []);
                let mut tmp = a.to_vec();
                let r = decap(&node, slot, off - ss, len, &m, &mut tmp);
                cursor += r.aux as usize;
                r
            }
        };
        assert_eq!(out[i * 4 + 1], r.reason as u32, "packet {i}: batch {:?} vs single {:?}", out[i * 4 + 1], r.reason);
        assert_eq!((out[i * 4 + 2], out[i * 4 + 3]), (r.offset, r.aux));
        assert_eq!((desc2[i * 4 + 2] as usize, desc2[i * 4 + 3] as usize), (ss + r.off, r.len));
    }
    assert_eq!(buf, buf3, "batch and per-packet results differ");
});
