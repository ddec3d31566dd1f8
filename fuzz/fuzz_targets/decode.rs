//! decode_packet on arbitrary bytes, both trace layouts: never panics, every error offset is
//! inside the packet, every reported offset/length stays inside the packet.
#![no_main]
use ioam_core::wire::{decode_packet, DecodeOptions, TraceLayout};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, pkt)) = data.split_first() else { return };
    let clt = if flags & 1 != 0 { TraceLayout::CltLegacy } else { TraceLayout::Standard };
    match decode_packet(pkt, &DecodeOptions { clt }) {
        Err(e) => {
            assert!(e.offset <= pkt.len(), "error offset {} beyond {} bytes: {e}", e.offset, pkt.len());
        }
        Ok(p) => {
            let end = 40 + usize::from(p.ipv6.payload_len);
            assert!(end <= pkt.len());
            for h in &p.ext_headers {
                assert!(h.offset + h.length <= end, "header beyond the payload");
                for o in &h.options {
                    assert!(o.offset >= h.offset + 2 && o.offset < h.offset + h.length);
                    if let Some(e) = &o.error {
                        assert!(e.offset <= end, "option error offset {} beyond {end}", e.offset);
                    }
                }
            }
            assert!(p.upper_layer.offset <= end);
            assert_eq!(p.upper_layer.offset + p.upper_layer.payload.len(), end);
        }
    }
});
