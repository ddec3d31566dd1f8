//! The flat trace decode (`wire::flat`) says exactly what the structured decoder (`decode_packet`
//! of the header behind a minimal IPv6 header) says about a removed Hop-by-Hop header's trace
//! options, on real Linux headers, generated traces (every Trace-Type field, OSS, CLT legacy,
//! Incremental) and thousands of mutations of them; it never panics and reports a short `out`.

#[allow(dead_code)]
mod wire_vectors;

use ioam_core::abi::{self, trace_hop as hop, trace_opt as opt, trace_rec as rec, TRACE_ERRORS};
use ioam_core::wire::flat::{decode_hbh_traces, decode_trace_batch, REC_MAX_WORDS};
use ioam_core::wire::{
    decode_packet, options_header_linux, CltRepr, DecodeOptions, IoamData, IoamRepr, NodeData, OptionRepr, OssRepr,
    TraceLayout, TraceRepr,
};
use wire_vectors::INJECTED;

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// The structured decoder's view, as sim/trace.ts asks for it: the header behind a minimal IPv6
/// header; `None` when that packet is undecodable (no options).
fn structured(hbh: &[u8], layout: TraceLayout) -> Vec<(IoamData, Option<ioam_core::wire::ErrorRepr>)> {
    if hbh.len() < 8 || hbh.len() > 0xffff {
        return vec![];
    }
    let mut p = vec![0u8; 40];
    p[0] = 0x60;
    p[4] = (hbh.len() >> 8) as u8;
    p[5] = hbh.len() as u8;
    p[7] = 64;
    p.extend_from_slice(hbh);
    p[40] = 59;
    let Ok(d) = decode_packet(&p, &DecodeOptions { clt: layout }) else { return vec![] };
    let mut out = vec![];
    for h in d.ext_headers {
        for o in h.options {
            if let OptionRepr::Ioam(IoamRepr { data: data @ (IoamData::PreallocatedTrace(_) | IoamData::IncrementalTrace(_)), .. }) = o.option {
                out.push((data, o.error));
            }
        }
    }
    out
}

/// Compares one header, both layouts.
fn same(hbh: &[u8]) {
    for layout in [TraceLayout::Standard, TraceLayout::CltLegacy] {
        let mut w = vec![0xdead_beef_u32; REC_MAX_WORDS];
        let used = decode_hbh_traces(hbh, layout, &mut w).expect("fits in REC_MAX_WORDS");
        assert_eq!(w[rec::WORDS_USED] as usize, used);
        let want = structured(hbh, layout);
        assert_eq!(w[rec::OPTIONS] as usize, want.len(), "{hbh:02x?}");
        let mut p = rec::WORDS;
        for (data, err) in &want {
            let (inc, t) = match data {
                IoamData::PreallocatedTrace(t) => (0, t),
                IoamData::IncrementalTrace(t) => (1, t),
                _ => unreachable!(),
            };
            let o = &w[p..p + opt::WORDS];
            let flag = |set: bool, bit: u32| if set { bit } else { 0 };
            let flags = flag(t.flags.overflow, abi::TRACE_FLAG_OVERFLOW)
                | flag(t.flags.loopback, abi::TRACE_FLAG_LOOPBACK)
                | flag(t.flags.active, abi::TRACE_FLAG_ACTIVE)
                | flag(t.flags.bit3, abi::TRACE_FLAG_BIT3);
            let head = [inc, u32::from(t.namespace_id), u32::from(t.node_len), flags, u32::from(t.remaining_len), t.trace_type];
            assert_eq!(o[..6], head, "{hbh:02x?}");
            assert_eq!(o[opt::HOPS] as usize, t.nodes.len(), "{hbh:02x?} {err:?}");
            match err {
                None => assert_eq!(o[opt::ERROR], 0),
                Some(e) => {
                    let i = o[opt::ERROR] as usize;
                    assert!(i >= 1 && i <= TRACE_ERRORS.len(), "unlisted error {e:?}");
                    let (c, l, what) = TRACE_ERRORS[i - 1];
                    assert_eq!((c.as_str(), l.as_str(), what), (e.code.as_str(), e.layer.as_str(), e.what.as_str()));
                    assert_eq!((o[opt::ERROR_OFFSET] as usize + 40, o[opt::ERROR_NEEDED] as usize, o[opt::ERROR_GOT] as usize), (e.offset, e.needed, e.got));
                }
            }
            p += opt::WORDS;
            for n in &t.nodes {
                check_hop(&w[p..p + hop::WORDS], n, t.trace_type, hbh);
                p += hop::WORDS;
            }
        }
        assert_eq!(p, used);
    }
}

fn check_hop(h: &[u32], n: &NodeData, ty: u32, hbh: &[u8]) {
    let opt32 = |v: Option<u32>, slot: usize| assert_eq!(v.map(|_| h[slot]), v, "slot {slot}");
    opt32(n.hop_limit.map(u32::from).filter(|_| ty & 0x800000 != 0 && ty & 0x8000 == 0), hop::HOP_LIMIT);
    opt32(n.node_id, hop::NODE_ID);
    opt32(n.ingress_if_id.map(u32::from), hop::INGRESS_IF);
    opt32(n.egress_if_id.map(u32::from), hop::EGRESS_IF);
    opt32(n.timestamp_secs, hop::TS_SEC);
    opt32(n.timestamp_frac, hop::TS_FRAC);
    opt32(n.transit_delay, hop::TRANSIT_DELAY);
    opt32(n.namespace_data, hop::NS_DATA);
    opt32(n.queue_depth, hop::QUEUE_DEPTH);
    opt32(n.checksum_complement, hop::CHECKSUM_COMPLEMENT);
    opt32(n.hop_limit_wide.map(u32::from), hop::HOP_LIMIT_WIDE);
    opt32(n.node_id_wide.map(|v| (v >> 32) as u32), hop::NODE_ID_WIDE_HI);
    opt32(n.node_id_wide.map(|v| v as u32), hop::NODE_ID_WIDE_LO);
    opt32(n.ingress_if_id_wide, hop::INGRESS_IF_WIDE);
    opt32(n.egress_if_id_wide, hop::EGRESS_IF_WIDE);
    opt32(n.namespace_data_wide.map(|v| (v >> 32) as u32), hop::NS_DATA_WIDE_HI);
    opt32(n.namespace_data_wide.map(|v| v as u32), hop::NS_DATA_WIDE_LO);
    opt32(n.buffer_occupancy, hop::BUFFER_OCCUPANCY);
    assert_eq!(h[hop::UNDEF_COUNT] as usize, n.undefined.len());
    assert_eq!(&h[hop::UNDEF0..hop::UNDEF0 + n.undefined.len()], &n.undefined[..]);
    match &n.oss {
        None => assert_eq!(ty & 2, 0),
        Some(o) => {
            assert_eq!((h[hop::OSS_LEN], h[hop::OSS_SCHEMA]), (u32::from(o.length), o.schema_id));
            let (at, len) = (h[hop::OSS_DATA_OFF] as usize, h[hop::OSS_DATA_LEN] as usize);
            assert_eq!(&hbh[at..at + len], &o.data[..]);
        }
    }
    // Fields whose bit is clear are 0.
    if ty & 0x800000 == 0 && ty & 0x8000 == 0 {
        assert_eq!(h[hop::HOP_LIMIT], 0);
    }
    if ty & 0x400000 == 0 {
        assert_eq!((h[hop::INGRESS_IF], h[hop::EGRESS_IF]), (0, 0));
    }
}

fn node(r: &mut Rng, ty: u32) -> NodeData {
    let mut v = || r.next() as u32;
    let mut n = NodeData::default();
    let b = |i: u32| ty & (0x800000 >> i) != 0;
    if b(0) {
        n.hop_limit = Some(v() as u8);
        n.node_id = Some(v() & 0xffffff);
    }
    if b(1) {
        n.ingress_if_id = Some(v() as u16);
        n.egress_if_id = Some(v() as u16);
    }
    if b(2) {
        n.timestamp_secs = Some(v());
    }
    if b(3) {
        n.timestamp_frac = Some(v());
    }
    if b(4) {
        n.transit_delay = Some(v());
    }
    if b(5) {
        n.namespace_data = Some(v());
    }
    if b(6) {
        n.queue_depth = Some(v());
    }
    if b(7) {
        n.checksum_complement = Some(v());
    }
    if b(8) {
        n.hop_limit_wide = Some(v() as u8);
        n.node_id_wide = Some((u64::from(v()) << 32 | u64::from(v())) & 0x00ff_ffff_ffff_ffff);
    }
    if b(9) {
        n.ingress_if_id_wide = Some(v());
        n.egress_if_id_wide = Some(v());
    }
    if b(10) {
        n.namespace_data_wide = Some(u64::from(v()) << 32 | u64::from(v()));
    }
    if b(11) {
        n.buffer_occupancy = Some(v());
    }
    n.undefined = (12..22).filter(|&i| b(i)).map(|_| v()).collect();
    if b(22) {
        let len = (v() % 3) as u8;
        let data = (0..usize::from(len) * 4).map(|_| v() as u8).collect();
        n.oss = Some(OssRepr { length: len, schema_id: v() & 0xffffff, data });
    }
    n
}

/// A random Hop-by-Hop header with 1-2 trace options (Linux padding), maybe a CLT block.
fn generated(r: &mut Rng) -> (Vec<u8>, TraceLayout) {
    let legacy = r.pick(4) == 0;
    let mut opts = vec![];
    for _ in 0..1 + r.pick(2) {
        let ty = match r.pick(4) {
            0 => 0xc00000,
            1 => 0xf00000,
            2 => (r.next() as u32) & 0xfffffe,
            _ => 0x800000 | (r.next() as u32 & 0x7f0002),
        };
        let hops = r.pick(5);
        let nodes: Vec<NodeData> = (0..hops).map(|_| node(r, ty)).collect();
        let t = TraceRepr {
            namespace_id: r.next() as u16,
            node_len: ioam_core::wire::nodelen_for_type(ty),
            remaining_len: r.pick(4) as u8,
            trace_type: ty,
            clt: legacy.then_some(CltRepr { trace_id: [7; 16], span_id: [9; 8] }),
            nodes,
            ..TraceRepr::default()
        };
        let data = if r.pick(3) == 0 || legacy { IoamData::PreallocatedTrace(t) } else { IoamData::IncrementalTrace(TraceRepr { clt: None, ..t }) };
        let io = IoamRepr { reserved: 0, data };
        if io.buffer_len() > 253 {
            continue;
        }
        opts.push(OptionRepr::Ioam(io));
    }
    let h = options_header_linux(59, &opts).unwrap_or_else(|_| vec![59, 0, 1, 4, 0, 0, 0, 0]);
    (h, if legacy { TraceLayout::CltLegacy } else { TraceLayout::Standard })
}

fn mutate(r: &mut Rng, b: &[u8]) -> Vec<u8> {
    let mut m = b.to_vec();
    for _ in 0..1 + r.pick(3) {
        match r.pick(6) {
            0 if !m.is_empty() => {
                let i = r.pick(m.len());
                m[i] ^= 1 << r.pick(8);
            }
            1 if !m.is_empty() => {
                let i = r.pick(m.len());
                m[i] = r.next() as u8;
            }
            2 => m.truncate(r.pick(m.len() + 1)),
            3 if m.len() > 8 => {
                // a length-ish byte: Hdr Ext Len, Opt Data Len, NodeLen/flags, RemainingLen
                let i = [1, 3, 6, 7].get(r.pick(4)).copied().unwrap_or(1).min(m.len() - 1);
                m[i] = r.next() as u8;
            }
            4 => m.extend((0..r.pick(9)).map(|_| r.next() as u8)),
            _ if m.len() > 1 => {
                m[1] = ((m.len() / 8) as u8).saturating_sub(1);
            }
            _ => {}
        }
    }
    m
}

fn corpus() -> Vec<Vec<u8>> {
    let mut v = vec![];
    for (_, h) in INJECTED {
        let p = hex(h);
        if p.len() > 48 && p[6] == 0 {
            let n = (usize::from(p[41]) + 1) * 8;
            v.push(p[40..(40 + n).min(p.len())].to_vec());
        }
    }
    v
}

#[test]
fn flat_matches_structured_on_linux_headers() {
    let c = corpus();
    assert!(c.len() >= 15);
    for h in &c {
        same(h);
    }
}

#[test]
fn flat_matches_structured_on_generated_and_mutated_headers() {
    let mut r = Rng(0x5eed_f1a7);
    let mut seen_errors = [0usize; TRACE_ERRORS.len() + 1];
    let mut base = corpus();
    for _ in 0..400 {
        base.push(generated(&mut r).0);
    }
    // Trace-Type bit 23 only (empty elements) with 4 octets of node data.
    base.push(vec![59, 2, 0x31, 14, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 1, 4, 0, 0, 0, 0]);
    for h in &base {
        same(h);
    }
    for i in 0..40_000 {
        let b = &base[r.pick(base.len())];
        let m = mutate(&mut r, b);
        same(&m);
        if i % 8 == 0 {
            let mut w = vec![0u32; REC_MAX_WORDS];
            for layout in [TraceLayout::Standard, TraceLayout::CltLegacy] {
                let n = decode_hbh_traces(&m, layout, &mut w).unwrap();
                let mut p = rec::WORDS;
                for _ in 0..w[rec::OPTIONS] {
                    seen_errors[w[p + opt::ERROR] as usize] += 1;
                    p += opt::WORDS + w[p + opt::HOPS] as usize * hop::WORDS;
                }
                assert_eq!(p, n);
            }
        }
    }
    // The mutations reach the common trace problems (so the comparison covered them).
    for (i, (c, _, what)) in TRACE_ERRORS.iter().enumerate().take(6) {
        assert!(seen_errors[i + 1] > 0, "never saw {} {what}", c.as_str());
    }
}

#[test]
fn short_out_is_none_never_a_panic() {
    let mut r = Rng(7);
    for _ in 0..200 {
        let (h, layout) = generated(&mut r);
        let mut big = vec![0u32; REC_MAX_WORDS];
        let need = decode_hbh_traces(&h, layout, &mut big).unwrap();
        for n in 0..need {
            assert_eq!(decode_hbh_traces(&h, layout, &mut vec![0u32; n]), None);
        }
        assert_eq!(decode_hbh_traces(&h, layout, &mut vec![0u32; need]), Some(need));
    }
}

#[test]
fn batch_decodes_every_packet_and_resumes_when_out_is_short() {
    let mut r = Rng(99);
    let mut arena = vec![];
    let mut desc = vec![];
    let mut layouts = vec![];
    let mut singles = vec![];
    for j in 0..50 {
        let (h, layout) = generated(&mut r);
        desc.extend([arena.len() as u32, h.len() as u32]);
        arena.extend_from_slice(&h);
        let skip = j % 7 == 3;
        layouts.push(if skip { 255 } else if layout == TraceLayout::CltLegacy { abi::TRACE_LAYOUT_LEGACY } else { abi::TRACE_LAYOUT_STANDARD });
        let mut w = vec![0u32; REC_MAX_WORDS];
        let n = decode_hbh_traces(&h, layout, &mut w).unwrap();
        singles.push((!skip).then(|| w[..n].to_vec()));
    }
    // A bad descriptor: empty record, no panic.
    desc.extend([u32::MAX, 100]);
    layouts.push(0);
    singles.push(Some(vec![2, 0]));
    let count = layouts.len();
    let mut index = vec![0u32; count];
    let mut out = vec![0u32; 300];
    let mut done = 0;
    let mut all: Vec<Option<Vec<u32>>> = vec![];
    let mut calls = 0;
    while done < count {
        calls += 1;
        let k = decode_trace_batch(&arena, &desc[2 * done..], &layouts[done..], count - done, &mut out, &mut index);
        assert!(k > 0, "a 300-word out holds any generated record");
        for &i in &index[..k] {
            all.push((i != u32::MAX).then(|| {
                let n = out[i as usize] as usize;
                out[i as usize..i as usize + n].to_vec()
            }));
        }
        done += k;
    }
    assert!(calls > 1, "the short out made the batch resume");
    assert_eq!(all, singles);
}
