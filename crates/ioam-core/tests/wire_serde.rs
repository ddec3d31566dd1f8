//! The JSON schema of `decode_packet` / `encode_packet` (crates/ioam-core/src/wire/SCHEMA.md):
//! names, types and encodings checked on real packets, JSON round trips, and a packet built
//! from hand-written JSON (what the TypeScript side sends) equal to a real injected packet.
#![cfg(feature = "serde")]

mod wire_vectors;

use ioam_core::wire::{decode_packet, encode_packet, DecodeOptions, PacketRepr, TraceLayout};
use serde_json::{json, Value};
use wire_vectors::{INJECTED, SOCKET_VIEW};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn injected(case: &str) -> Vec<u8> {
    hex(INJECTED.iter().find(|(n, _)| *n == case).unwrap().1)
}

fn socket_view(case: &str) -> Vec<u8> {
    let mut p = injected(case);
    let h = hex(SOCKET_VIEW.iter().find(|(n, _, _)| *n == case).unwrap().2);
    p[40..40 + h.len()].copy_from_slice(&h);
    p
}

fn json_of(b: &[u8], clt: TraceLayout) -> Value {
    serde_json::to_value(decode_packet(b, &DecodeOptions { clt }).unwrap()).unwrap()
}

/// The IOAM option data object of the first header's first IOAM option.
fn ioam_data(v: &Value) -> &Value {
    let opts = v["extHeaders"][0]["options"].as_array().unwrap();
    &opts.iter().find(|o| o["option"]["kind"] == "ioam").unwrap()["option"]["data"]
}

#[test]
fn json_round_trips_for_every_capture() {
    let all = INJECTED.iter().map(|(n, h)| (n.to_string(), hex(h))).chain(SOCKET_VIEW.iter().map(|(n, _, _)| (format!("{n}/h2"), socket_view(n))));
    for (name, b) in all {
        for clt in [TraceLayout::Standard, TraceLayout::CltLegacy] {
            let d = decode_packet(&b, &DecodeOptions { clt }).unwrap();
            let s = serde_json::to_string(&d).unwrap();
            let back: PacketRepr = serde_json::from_str(&s).unwrap_or_else(|e| panic!("{name}: {e}\n{s}"));
            assert_eq!(back, d, "{name}");
            assert_eq!(encode_packet(&back).unwrap(), b, "{name}");
        }
    }
}

#[test]
fn full_trace_field_names_and_encodings() {
    let v = json_of(&socket_view("a_full_trace"), TraceLayout::Standard);
    assert_eq!(v["ipv6"], json!({"trafficClass": 0, "flowLabel": 0, "payloadLen": 276, "nextHeader": 0, "hopLimit": 64, "src": "fd00:aa:1::1", "dst": "fd00:aa:2::2"}));
    let h = &v["extHeaders"][0];
    assert_eq!((&h["kind"], &h["offset"], &h["length"], &h["nextHeader"]), (&json!("hop-by-hop"), &json!(40), &json!(256), &json!(17)));
    assert_eq!(h["options"][0], json!({"offset": 42, "option": {"kind": "padn", "len": 0}}));
    assert_eq!(h["options"][1]["offset"], 44);
    assert_eq!(h["options"][1]["option"]["kind"], "ioam");
    assert_eq!(h["options"][1]["option"]["reserved"], 0);
    assert!(h["options"][1].get("error").is_none());
    let t = ioam_data(&v);
    assert_eq!(t["type"], "preallocated-trace");
    assert_eq!((&t["namespaceId"], &t["nodeLen"], &t["remainingLen"], &t["traceType"]), (&json!(123), &json!(15), &json!(0), &json!(0xfff002)));
    assert_eq!(t["flags"], json!({"overflow": false, "loopback": false, "active": false, "bit3": false}));
    assert_eq!(t["freeSpace"], "");
    assert!(t.get("clt").is_none() && t.get("trailing").is_none());
    let n = &t["nodes"];
    assert_eq!(
        n[0],
        json!({
            "hopLimit": 61, "nodeId": 3, "ingressIfId": 301, "egressIfId": 65535,
            "timestampSecs": 0x6b08883bu32, "timestampFrac": 0x00090042, "transitDelay": 4294967295u32,
            "namespaceData": 0x33333333, "queueDepth": 4294967295u32, "checksumComplement": 4294967295u32,
            "hopLimitWide": 61, "nodeIdWide": "14411518807585587", "ingressIfIdWide": 301301,
            "egressIfIdWide": 4294967295u32, "namespaceDataWide": "3689348814741910323",
            "bufferOccupancy": 4294967295u32,
            "oss": {"length": 2, "schemaId": 888, "data": "4142434445000000"}
        })
    );
    assert_eq!(n[1]["namespaceDataWide"], "18446744073709551615");
    assert_eq!(n[1]["oss"], json!({"length": 0, "schemaId": 0xffffff, "data": ""}));
    assert_eq!(n[2]["nodeIdWide"], "4803839602528529");
    assert_eq!(n[2]["namespaceDataWide"], "14627340617589309662");
    assert_eq!(n[2]["oss"]["schemaId"], 777);
    assert_eq!(n[2]["oss"]["data"], "736f6d657468696e6720746861742077696c6c20626520346e2d616c69676e6564000000");
    assert_eq!(v["upperLayer"]["protocol"], 17);
    assert_eq!(v["upperLayer"]["offset"], 296);
    assert!(v["upperLayer"]["payload"].as_str().unwrap().ends_with(&"a_full_trace".bytes().map(|b| format!("{b:02x}")).collect::<String>()));
}

#[test]
fn other_types_errors_and_clt_in_json() {
    let v = json_of(&injected("i2_pot_type2"), TraceLayout::Standard);
    assert_eq!(ioam_data(&v), &json!({"type": "pot", "namespaceId": 123, "potType": 0, "flags": 0, "random": "283686952306183", "cumulative": "579005069656919567"}));
    let v = json_of(&injected("i3_e2e_type3"), TraceLayout::Standard);
    assert_eq!(ioam_data(&v), &json!({"type": "e2e", "namespaceId": 123, "e2eType": 0x8000, "seqNum64": "42"}));
    let v = json_of(&injected("i_dex_type4"), TraceLayout::Standard);
    assert_eq!(
        ioam_data(&v),
        &json!({"type": "dex", "namespaceId": 123, "flags": 0, "extensionFlags": 0xc0, "traceType": 0xc00000, "reserved": 0, "flowId": 0x01020304, "sequenceNumber": 7})
    );
    let v = json_of(&injected("h_incremental_type1"), TraceLayout::Standard);
    assert_eq!(ioam_data(&v)["type"], "incremental-trace");
    assert!(ioam_data(&v).get("freeSpace").is_none());
    let v = json_of(&injected("i4_code_0x11_in_hbh"), TraceLayout::Standard);
    assert_eq!(v["extHeaders"][0]["options"][1]["option"]["kind"], "unknown");
    assert_eq!(v["extHeaders"][0]["options"][1]["option"]["optionType"], 0x11);
    let v = json_of(&injected("j_in_dest_opts"), TraceLayout::Standard);
    assert_eq!(v["extHeaders"][0]["kind"], "destination-options");
    // Per-option error object.
    let v = json_of(&injected("k_remlen_exceeds_optlen"), TraceLayout::Standard);
    assert_eq!(
        v["extHeaders"][0]["options"][1]["error"],
        json!({"code": "ERR_IOAM_BAD_REMAININGLEN", "layer": "trace", "offset": 51, "needed": 20, "got": 8, "what": "RemainingLen × 4 beyond the option data"})
    );
    let v = json_of(&injected("k2_optlen_truncated_trace_hdr"), TraceLayout::Standard);
    assert_eq!(ioam_data(&v), &json!({"type": "malformed", "optionType": 0, "data": "007b0800"}));
    // CLT block as hex strings.
    let v = json_of(&injected("a_full_trace"), TraceLayout::CltLegacy);
    assert_eq!(ioam_data(&v)["clt"], json!({"traceId": "00000000000000000000000000000000", "spanId": "0000000000000000"}));
}

#[test]
fn packet_from_hand_written_json_equals_the_real_injected_packet() {
    // What a TypeScript caller writes: no offsets, lengths, next headers, payload length, free
    // space or padding; `withLinuxPadding` then `encode` give the kernel-test packet bytes.
    let j = json!({
        "ipv6": {"hopLimit": 64, "src": "fd00:aa:1::1", "dst": "fd00:aa:2::2"},
        "extHeaders": [{
            "kind": "hop-by-hop",
            "options": [{"option": {"kind": "ioam", "data": {
                "type": "preallocated-trace", "namespaceId": 123, "nodeLen": 2,
                "remainingLen": 6, "traceType": 0xc00000
            }}}]
        }],
        "upperLayer": {"protocol": 17, "payload": "0fa013880018ba9661325f62617369635f62697473305f31"}
    });
    let p: PacketRepr = serde_json::from_value(j).unwrap();
    let b = encode_packet(&p.with_linux_padding()).unwrap();
    assert_eq!(b, injected("a2_basic_bits0_1"));
    // u64 fields accept decimal or 0x-hex strings, and refuse numbers-as-strings garbage.
    let n: ioam_core::wire::NodeData = serde_json::from_value(json!({"nodeIdWide": "0x11111111111111"})).unwrap();
    assert_eq!(n.node_id_wide, Some(0x11111111111111));
    assert!(serde_json::from_value::<ioam_core::wire::NodeData>(json!({"nodeIdWide": "12x"})).is_err());
    assert!(serde_json::from_value::<ioam_core::wire::OssRepr>(json!({"length": 1, "schemaId": 1, "data": "abc"})).is_err());
}
