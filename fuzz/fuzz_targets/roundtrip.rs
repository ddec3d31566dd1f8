//! encode(decode(bytes)): whatever decodes re-encodes to the same octets (decode keeps every
//! undecodable byte as `trailing` / `malformed` / unknown data), and decoding that again gives
//! the same representation. Both layouts.
//! One documented exception: non-zero PadN data is reported (`ERR_IOAM_BAD_PADDING`) but the PadN
//! repr keeps only its length, so it re-encodes as zeros; the expected octets are zeroed there.
#![no_main]
use ioam_core::wire::{decode_packet, encode_packet, DecodeOptions, OptionRepr, TraceLayout};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, pkt)) = data.split_first() else { return };
    let clt = if flags & 1 != 0 { TraceLayout::CltLegacy } else { TraceLayout::Standard };
    let opts = DecodeOptions { clt };
    let Ok(p) = decode_packet(pkt, &opts) else { return };
    let end = 40 + usize::from(p.ipv6.payload_len);
    let b = match encode_packet(&p) {
        Ok(b) => b,
        Err(e) => panic!("decoded packet does not re-encode: {e}"),
    };
    let mut want = pkt[..end].to_vec();
    for o in p.ext_headers.iter().flat_map(|h| &h.options) {
        if let (OptionRepr::PadN { len }, Some(e)) = (&o.option, &o.error) {
            if e.code == "ERR_IOAM_BAD_PADDING" {
                want[o.offset + 2..o.offset + 2 + usize::from(*len)].fill(0);
            }
        }
    }
    assert_eq!(&b[..], &want[..], "encode(decode(x)) != x");
    let mut q = decode_packet(&b, &opts).expect("re-decode");
    // The zeroed PadN data no longer has its BadPadding error.
    let mut p = p;
    for o in p.ext_headers.iter_mut().flat_map(|h| h.options.iter_mut()) {
        if o.error.as_ref().is_some_and(|e| e.code == "ERR_IOAM_BAD_PADDING") {
            o.error = None;
        }
    }
    for o in q.ext_headers.iter_mut().flat_map(|h| h.options.iter_mut()) {
        assert!(o.error.as_ref().is_none_or(|e| e.code != "ERR_IOAM_BAD_PADDING"));
    }
    assert_eq!(p, q, "decode(encode(decode(x))) != decode(x)");
});
