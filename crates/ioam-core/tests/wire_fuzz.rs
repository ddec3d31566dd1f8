//! No-panic and round-trip properties over random and mutated packets, with a tiny deterministic
//! PRNG (xorshift64*, fixed seeds: failures reproduce). No external crates.
//!
//! Properties, for any bytes:
//! * `decode_packet` and every lower-level parser return, never panic (both trace layouts);
//! * every error offset lies inside the packet;
//! * when decoding succeeds and no PadN carried non-zero data, `encode(decode(b))` gives back the
//!   packet's bytes exactly (`40 + Payload Length` of them) and `decode(encode(d)) == d`.

mod wire_vectors;

use ioam_core::wire::exthdr::ExtHeaderIter;
use ioam_core::wire::trace::{NodeIter, TraceKind};
use ioam_core::wire::{
    decode_packet, encode_packet, DecodeOptions, DexRepr, E2eRepr, IoamRepr, Ipv6View, OptionRepr, OptionsIter,
    PacketRepr, PotRepr, TraceHeaderView, TraceLayout, TraceRepr,
};
use wire_vectors::{INJECTED, SOCKET_VIEW};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn corpus() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = INJECTED.iter().map(|(_, h)| hex(h)).collect();
    for (name, _, h) in SOCKET_VIEW {
        let mut p = hex(INJECTED.iter().find(|(n, _)| n == name).unwrap().1);
        let h = hex(h);
        p[40..40 + h.len()].copy_from_slice(&h);
        v.push(p);
    }
    v
}

fn has_padding_error(d: &PacketRepr) -> bool {
    d.ext_headers.iter().flat_map(|h| &h.options).any(|o| o.error.as_ref().is_some_and(|e| e.code == "ERR_IOAM_BAD_PADDING"))
}

/// Runs every property on one input; returns whether it decoded.
fn check(b: &[u8]) -> bool {
    let mut ok = false;
    for clt in [TraceLayout::Standard, TraceLayout::CltLegacy] {
        let opts = DecodeOptions { clt };
        match decode_packet(b, &opts) {
            Ok(d) => {
                ok = true;
                for h in &d.ext_headers {
                    assert!(h.offset + h.length <= b.len());
                    if let Some(e) = &h.error {
                        assert!(e.offset <= b.len(), "header error offset {} > {}", e.offset, b.len());
                    }
                    for o in &h.options {
                        assert!(o.offset < b.len());
                        if let Some(e) = &o.error {
                            assert!(e.offset <= b.len(), "option error offset {} > {}: {e:?}", e.offset, b.len());
                        }
                    }
                }
                let enc = encode_packet(&d).unwrap_or_else(|e| panic!("encode failed: {e} for {b:02x?}"));
                let d2 = decode_packet(&enc, &opts).unwrap_or_else(|e| panic!("re-decode failed: {e}"));
                if !has_padding_error(&d) {
                    let n = 40 + usize::from(d.ipv6.payload_len);
                    assert_eq!(enc, b[..n], "encode(decode(b)) != b");
                    assert_eq!(d2, d);
                }
            }
            Err(e) => assert!(e.offset <= b.len(), "fatal error offset {} > {}", e.offset, b.len()),
        }
    }
    ok
}

/// The lower-level parsers on an arbitrary slice.
fn check_parts(b: &[u8], r: &mut Rng) {
    for clt in [TraceLayout::Standard, TraceLayout::CltLegacy] {
        if let Ok((x, _)) = IoamRepr::parse_lax(b, clt) {
            let mut out = vec![0u8; x.buffer_len()];
            x.emit(&mut out).unwrap();
            assert_eq!(out, b, "IoamRepr emit(parse(b)) != b");
        }
        for kind in [TraceKind::Preallocated, TraceKind::Incremental] {
            if let Ok((t, _)) = TraceRepr::parse_lax(b, kind, clt) {
                let mut out = vec![0u8; t.buffer_len(kind)];
                t.emit(kind, &mut out).unwrap();
                assert_eq!(out, b, "TraceRepr emit(parse(b)) != b");
            }
        }
    }
    let _ = PotRepr::parse(b);
    let _ = E2eRepr::parse(b);
    let _ = DexRepr::parse(b);
    for o in OptionsIter::new(b, 0).flatten() {
        let _ = OptionRepr::parse_lax(&o, TraceLayout::Standard);
    }
    let _ = ExtHeaderIter::new(b, r.byte(), r.below(b.len() + 2)).count();
    let _ = NodeIter::new(b, r.next() as u32 & 0xff_ffff, r.byte() & 0x1f, 0).count();
    if let Ok(v) = TraceHeaderView::new_checked(b) {
        let _ = (v.namespace_id(), v.node_len(), v.flags(), v.remaining_len(), v.trace_type(), v.reserved(), v.data());
    }
    if let Ok(v) = Ipv6View::new_checked(b) {
        let _ = (v.traffic_class(), v.flow_label(), v.payload_len(), v.src_addr(), v.dst_addr(), v.payload());
    }
}

fn mutate(r: &mut Rng, src: &[u8]) -> Vec<u8> {
    let mut b = src.to_vec();
    let edits = 1 + r.below(4);
    for _ in 0..edits {
        if b.is_empty() {
            break;
        }
        let i = r.below(b.len());
        match r.below(6) {
            0 => b[i] = r.byte(),
            1 => b[i] ^= 1 << r.below(8),
            2 => b[i] = 0,
            3 => b[i] = 0xff,
            4 => {
                let n = r.below(b.len() + 1);
                b.truncate(n);
            }
            _ => {
                let n = r.below(16);
                for _ in 0..n {
                    let v = r.byte();
                    b.insert(i.min(b.len()), v);
                }
            }
        }
    }
    // Usually keep Payload Length consistent so the mutation reaches the options.
    if b.len() >= 40 && r.below(10) < 8 {
        let pl = (b.len() - 40).min(0xffff) as u16;
        b[4..6].copy_from_slice(&pl.to_be_bytes());
    }
    if !b.is_empty() && r.below(10) < 9 {
        b[0] = (b[0] & 0x0f) | 0x60;
    }
    b
}

#[test]
fn mutated_captures_never_panic_and_round_trip() {
    let corpus = corpus();
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut decoded = 0;
    for _ in 0..30_000 {
        let src = &corpus[r.below(corpus.len())];
        let b = mutate(&mut r, src);
        if check(&b) {
            decoded += 1;
        }
        if b.len() > 42 {
            let s = r.below(b.len() - 40) + 40;
            let e = s + r.below(b.len() - s + 1);
            check_parts(&b[s..e], &mut r);
        }
    }
    // The properties must have been exercised, not just the IPv6 length check.
    assert!(decoded > 10_000, "only {decoded} mutated packets decoded");
}

#[test]
fn random_bytes_never_panic() {
    let mut r = Rng(0x0123_4567_89ab_cdef);
    let mut decoded = 0;
    for _ in 0..15_000 {
        let n = r.below(400);
        let mut b: Vec<u8> = (0..n).map(|_| r.byte()).collect();
        if n >= 40 {
            b[0] = 0x60;
            let pl = (n - 40) as u16;
            b[4..6].copy_from_slice(&pl.to_be_bytes());
            // Bias the chain towards option headers.
            b[6] = [0u8, 60, 43, 44, 51, 17, 59][r.below(7)];
            if n > 42 {
                b[40] = [0u8, 60, 17][r.below(3)];
                b[41] = r.below(((n - 40) / 8).max(1)) as u8;
            }
        }
        if check(&b) {
            decoded += 1;
        }
        check_parts(&b, &mut r);
    }
    assert!(decoded > 500, "only {decoded} random packets decoded");
}

/// Every single-byte value at every position of a real trace packet.
#[test]
fn every_byte_value_at_every_position_of_a2() {
    let base = {
        let (name, _, h) = SOCKET_VIEW.iter().find(|(n, _, _)| *n == "a2_basic_bits0_1").unwrap();
        let mut p = hex(INJECTED.iter().find(|(n, _)| n == name).unwrap().1);
        let h = hex(h);
        p[40..40 + h.len()].copy_from_slice(&h);
        p
    };
    let mut r = Rng(7);
    for i in 0..base.len() {
        for v in 0..=255u8 {
            let mut b = base.clone();
            b[i] = v;
            check(&b);
            if i >= 40 {
                check_parts(&b[40..], &mut r);
            }
        }
    }
}
