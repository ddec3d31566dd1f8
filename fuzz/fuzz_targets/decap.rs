//! decap with fuzzed configurations, metadata, slots and trace-arena sizes: never panics, stays
//! in the slot, only shrinks the packet, hands back at most the arena, deterministic.
#![no_main]
use ioam_core::dataplane::{decap::decap, Reason};
use ioam_core_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut d = data;
    let c = take::<CONFIG_LEN>(&mut d);
    let mb = take::<META_LEN>(&mut d);
    let m = meta(&mb);
    let room = take::<ROOM_LEN>(&mut d);
    let node = node(&c);
    let (mut s, off, len) = slot(room, d);
    let before = s.clone();
    let mut arena = vec![0u8; usize::from(mb[31])];
    let r = decap(&node, &mut s, off, len, &m, &mut arena);
    assert!(r.off.checked_add(r.len).is_some_and(|e| e <= s.len()), "outcome outside the slot: {r:?}");
    assert!(r.aux as usize <= arena.len() || r.reason != Reason::Decapsulated);
    let mut s2 = before.clone();
    let mut a2 = vec![0u8; arena.len()];
    assert_eq!(decap(&node, &mut s2, off, len, &m, &mut a2), r);
    assert_eq!((s, arena), (s2, a2));
    if r.reason == Reason::Decapsulated {
        assert!(r.off >= off && r.off + r.len <= off + len, "decap grew the packet: {r:?}");
    }
});
