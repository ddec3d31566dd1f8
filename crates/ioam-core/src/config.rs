//! A node's IOAM configuration, with the names Linux users know, validated once.
//!
//! | here | Linux |
//! |---|---|
//! | `ioam6_id`, `ioam6_id_wide` | `sysctl net.ipv6.ioam6_id`, `net.ipv6.ioam6_id_wide` |
//! | `interfaces[i].ioam6_enabled/ioam6_id/ioam6_id_wide` | `net.ipv6.conf.<if>.ioam6_*` |
//! | `namespaces[j]` (`id`, `data`, `wide`, `schema`) | `ip ioam namespace add ID [data D] [wide W]`, `ip ioam namespace set ID schema S` |
//! | `schemas[k]` (`id`, `data`) | `ip ioam schema add ID DATA` |
//!
//! Interfaces are referred to by their index in `interfaces` (the dataplane's `ingress_if` /
//! `egress_if`); [`IF_NONE`] means "no device" (locally generated packet on ingress, local
//! delivery on egress), which Linux reports with the all-ones ids.
//! Defaults equal Linux's, which are also the all-ones "unavailable" encodings.
//!
//! With the `serde` feature the configuration deserialises from the JSON the TypeScript library
//! writes (`src/config.ts` `toNativeConfig`): these field names, `profile`/`mode` in lower case,
//! 64-bit values as numbers or decimal/`0x` strings, addresses as IPv6 text, schema data as
//! `data_hex`; absent fields take the defaults below; unknown fields are errors. Deserialising
//! checks types and widths only: [`NodeConfig::validate`] (run by `dataplane::Node::new`) is the
//! one place that checks Linux's ranges and the cross-field rules.

use crate::error::{Error, ErrorCode, Layer, Result};

/// Interface index meaning "none": locally generated (ingress) or local delivery (egress).
pub const IF_NONE: u32 = u32::MAX;

pub const IOAM6_ID_DEFAULT: u32 = 0x00FF_FFFF;
pub const IOAM6_ID_WIDE_DEFAULT: u64 = 0x00FF_FFFF_FFFF_FFFF;
pub const IF_ID_DEFAULT: u16 = 0xFFFF;
pub const IF_ID_WIDE_DEFAULT: u32 = 0xFFFF_FFFF;
/// `IOAM6_MAX_SCHEMA_DATA_LEN`
pub const SCHEMA_DATA_MAX: usize = 1020;

/// Which behaviour a node follows where the RFCs leave room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize), serde(rename_all = "lowercase"))]
pub enum Profile {
    /// Byte-identical to Linux 6.18, including what Linux ignores or reports as unavailable.
    #[default]
    Linux,
    /// What the RFCs allow beyond Linux: Incremental traces, transit delay and buffer occupancy
    /// from the inputs, Loopback (RFC 9322) and Direct Export (RFC 9326) reported to the caller.
    Rfc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize), serde(default, deny_unknown_fields))]
pub struct InterfaceConfig {
    pub name: String,
    pub ioam6_enabled: bool,
    pub ioam6_id: u16,
    pub ioam6_id_wide: u32,
}

impl Default for InterfaceConfig {
    fn default() -> Self {
        InterfaceConfig { name: String::new(), ioam6_enabled: false, ioam6_id: IF_ID_DEFAULT, ioam6_id_wide: IF_ID_WIDE_DEFAULT }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize), serde(default, deny_unknown_fields))]
pub struct NamespaceConfig {
    /// Namespace-ID (0 is an ordinary namespace: it must be configured like any other, as in Linux).
    pub id: u16,
    /// `data`: absent → 0xFFFFFFFF.
    pub data: Option<u32>,
    /// `wide`: absent → 0xFFFFFFFFFFFFFFFF.
    #[cfg_attr(feature = "serde", serde(deserialize_with = "json::opt_u64"))]
    pub wide: Option<u64>,
    /// Bound schema id (`ip ioam namespace set ID schema S`).
    pub schema: Option<u32>,
    /// This node is CLT-patched for this namespace: it expects the legacy CLT layout (a 16-byte
    /// trace ID and an 8-byte span ID right after the trace header) and fills node data after it.
    pub clt_legacy: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize), serde(default, deny_unknown_fields))]
pub struct SchemaConfig {
    /// Schema ID. A u32 as in Linux; ids above 0xFFFFFF are accepted and, as in Linux, their high
    /// byte is ORed into the Length byte of the snapshot header.
    pub id: u32,
    #[cfg_attr(feature = "serde", serde(rename = "data_hex", deserialize_with = "json::hex"))]
    pub data: Vec<u8>,
}

/// Encapsulation mode (as `ip -6 route ... encap ioam6 mode ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize), serde(rename_all = "lowercase"))]
pub enum EncapMode {
    /// Insert the option after the packet's own IPv6 header.
    #[default]
    Inline,
    /// IPv6-in-IPv6: a new outer header (tunsrc → tundst) carries the option.
    Encap,
    /// Inline for locally generated packets, encap for forwarded ones.
    Auto,
}

/// Which option the encapsulating node inserts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize), serde(default, deny_unknown_fields))]
pub struct EncapConfig {
    pub mode: EncapMode,
    /// All zero: none (Linux picks a source address of the egress device).
    #[cfg_attr(feature = "serde", serde(deserialize_with = "json::ipv6"))]
    pub tunsrc: [u8; 16],
    #[cfg_attr(feature = "serde", serde(deserialize_with = "json::ipv6"))]
    pub tundst: [u8; 16],
    /// 24-bit Trace-Type (bit 0 = 0x800000).
    pub trace_type: u32,
    pub namespace: u16,
    /// Pre-allocated data space in bytes (4..=244, multiple of 4). For an Incremental trace the
    /// budget (RemainingLen×4) instead.
    pub size: u16,
    /// Insert an Incremental Trace (IOAM Option-Type 1) instead of Pre-allocated (rfc profile only).
    pub incremental: bool,
    /// Insert the option in k of every n packets (Linux `freq K/N`: when `count % n < k`).
    pub freq_k: u32,
    pub freq_n: u32,
    /// Write the CLT legacy block (trace ID + span ID, given per packet) after the trace header.
    pub clt_legacy: bool,
    /// Signalled CLT encoding: with Trace-Type bit 22, the encapsulating node writes its own
    /// Opaque State Snapshot (RFC 9197 §4.4.2.13) as `[Length 6][this Schema ID][trace ID 16]
    /// [span ID 8]` from the packet's CLT IDs instead of its namespace's static schema. Transit
    /// nodes are unchanged. `None`: off. ioamsim's CLT layer uses [`CLT_OSS_SCHEMA`].
    pub clt_oss_schema: Option<u32>,
}

/// The Schema ID ioamsim's CLT layer uses for the signalled encoding (operator-assigned, RFC
/// 9197 §4.4.2.13 leaves Schema IDs to the IOAM domain).
pub const CLT_OSS_SCHEMA: u32 = 0x0000_C17D;

impl Default for EncapConfig {
    fn default() -> Self {
        EncapConfig {
            mode: EncapMode::Inline,
            tunsrc: [0; 16],
            tundst: [0; 16],
            trace_type: 0,
            namespace: 0,
            size: 0,
            incremental: false,
            freq_k: 1,
            freq_n: 1,
            clt_legacy: false,
            clt_oss_schema: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize), serde(default, deny_unknown_fields))]
pub struct NodeConfig {
    pub profile: Profile,
    pub ioam6_id: u32,
    #[cfg_attr(feature = "serde", serde(deserialize_with = "json::u64_any"))]
    pub ioam6_id_wide: u64,
    pub interfaces: Vec<InterfaceConfig>,
    pub namespaces: Vec<NamespaceConfig>,
    pub schemas: Vec<SchemaConfig>,
    pub encap: Option<EncapConfig>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            profile: Profile::Linux,
            ioam6_id: IOAM6_ID_DEFAULT,
            ioam6_id_wide: IOAM6_ID_WIDE_DEFAULT,
            interfaces: Vec::new(),
            namespaces: Vec::new(),
            schemas: Vec::new(),
            encap: None,
        }
    }
}

/// Trace-Type bits Linux's encap rejects: 12-21 (undefined) and 23 (reserved).
pub const TRACE_TYPE_ENCAP_FORBIDDEN: u32 = 0x0000_0FFD;

fn cfg(what: &'static str) -> Error {
    Error::new(ErrorCode::Config, Layer::Config, 0, what)
}

impl NodeConfig {
    /// Checks every range Linux checks (sysctl limits, schema size, encap route validation)
    /// plus consistency (unique ids, bound schemas exist). The error's `offset` is the index of
    /// the offending list entry where there is one.
    pub fn validate(&self) -> Result<()> {
        if self.ioam6_id > IOAM6_ID_DEFAULT {
            return Err(cfg("ioam6_id must be <= 0xFFFFFF"));
        }
        if self.ioam6_id_wide > IOAM6_ID_WIDE_DEFAULT {
            return Err(cfg("ioam6_id_wide must be <= 0x00FFFFFFFFFFFFFF"));
        }
        if self.interfaces.len() >= IF_NONE as usize {
            return Err(cfg("too many interfaces"));
        }
        for (i, itf) in self.interfaces.iter().enumerate() {
            if itf.name.is_empty() {
                return Err(cfg("interface name must not be empty").at(i));
            }
            if self.interfaces[..i].iter().any(|o| o.name == itf.name) {
                return Err(cfg("duplicate interface name").at(i));
            }
        }
        for (i, ns) in self.namespaces.iter().enumerate() {
            if self.namespaces[..i].iter().any(|o| o.id == ns.id) {
                return Err(cfg("duplicate namespace id").at(i));
            }
            if let Some(s) = ns.schema {
                if !self.schemas.iter().any(|sc| sc.id == s) {
                    return Err(cfg("namespace is bound to a schema that is not configured").at(i));
                }
                if self.namespaces[..i].iter().any(|o| o.schema == Some(s)) {
                    return Err(cfg("schema is bound to two namespaces (Linux binds 1:1)").at(i));
                }
            }
        }
        for (i, sc) in self.schemas.iter().enumerate() {
            if sc.data.len() > SCHEMA_DATA_MAX {
                return Err(cfg("schema data longer than 1020 bytes").at(i));
            }
            if self.schemas[..i].iter().any(|o| o.id == sc.id) {
                return Err(cfg("duplicate schema id").at(i));
            }
        }
        if let Some(e) = &self.encap {
            if e.trace_type == 0 || e.trace_type > 0x00FF_FFFF {
                return Err(cfg("encap trace type must be a non-zero 24-bit value"));
            }
            if e.trace_type & 0x0000_0FFD != 0 && !(e.incremental && self.profile == Profile::Rfc) {
                // bits 12-21 (0x000FFC) and 23 (0x000001): Linux's encap refuses them.
                return Err(cfg("encap trace type sets undefined bits 12-21 or reserved bit 23"));
            }
            if e.size == 0 || e.size > 244 || e.size % 4 != 0 {
                return Err(cfg("encap size must be a multiple of 4 in 4..=244"));
            }
            if e.freq_n == 0 || e.freq_n > 1_000_000 || e.freq_k == 0 || e.freq_k > e.freq_n {
                return Err(cfg("encap freq must satisfy 1 <= k <= n <= 1000000"));
            }
            if e.incremental && self.profile != Profile::Rfc {
                return Err(cfg("incremental traces need the rfc profile (Linux does not implement them)"));
            }
            if let Some(sid) = e.clt_oss_schema {
                if sid > 0x00FF_FFFF {
                    return Err(cfg("encap clt_oss_schema must be a 24-bit Schema ID"));
                }
                if e.clt_legacy || e.incremental {
                    return Err(cfg("encap clt_oss_schema excludes clt_legacy and incremental (Pre-allocated traces only)"));
                }
            }
            if e.mode != EncapMode::Inline && e.tundst == [0; 16] {
                return Err(cfg("encap/auto mode needs tundst (not the unspecified address ::)"));
            }
        }
        Ok(())
    }

    pub fn namespace(&self, id: u16) -> Option<&NamespaceConfig> {
        self.namespaces.iter().find(|n| n.id == id)
    }

    pub fn schema(&self, id: u32) -> Option<&SchemaConfig> {
        self.schemas.iter().find(|s| s.id == id)
    }
}

/// The JSON forms of the fields serde's derive cannot read as is.
#[cfg(feature = "serde")]
mod json {
    use serde::de::{Deserializer, Error};
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum U64Text {
        Num(u64),
        Text(String),
    }

    fn parse<E: Error>(v: U64Text) -> Result<u64, E> {
        match v {
            U64Text::Num(n) => Ok(n),
            U64Text::Text(s) => {
                let t = s.trim();
                let r = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                    Some(h) => u64::from_str_radix(h, 16),
                    None => t.parse::<u64>(),
                };
                r.map_err(|_| E::custom(format!("not a u64 (number, decimal or 0x string): {s:?}")))
            }
        }
    }

    /// A u64 given as a JSON number or a decimal / `0x` string (JS numbers lose precision above 2^53).
    pub fn u64_any<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        parse(U64Text::deserialize(d)?)
    }

    pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Option::<U64Text>::deserialize(d)?.map(parse).transpose()
    }

    /// IPv6 address text → 16 octets.
    pub fn ipv6<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 16], D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<std::net::Ipv6Addr>().map(|a| a.octets()).map_err(|_| D::Error::custom(format!("not an IPv6 address: {s:?}")))
    }

    /// Hex text → bytes.
    pub fn hex<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(D::Error::custom(format!("schema data_hex is not hex: {s:?}")));
        }
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(D::Error::custom)).collect()
    }
}

#[cfg(all(test, feature = "serde"))]
mod serde_tests {
    use super::*;

    fn parse(j: &str) -> std::result::Result<NodeConfig, String> {
        serde_json::from_str::<NodeConfig>(j).map_err(|e| e.to_string())
    }

    #[test]
    fn json_with_linux_names_and_defaults() {
        let c = parse(
            r#"{"profile":"rfc","ioam6_id":7,"ioam6_id_wide":"0x00ffffffffffff01",
                "interfaces":[{"name":"eth0","ioam6_enabled":true,"ioam6_id":1}],
                "namespaces":[{"id":123,"data":null,"wide":"18446744073709551615","schema":9}],
                "schemas":[{"id":9,"data_hex":"0a0b"}],
                "encap":{"mode":"encap","tundst":"fd00::2","trace_type":8388608,"namespace":123,"size":8}}"#,
        )
        .unwrap();
        assert_eq!(c.profile, Profile::Rfc);
        assert_eq!(c.ioam6_id_wide, 0x00ff_ffff_ffff_ff01);
        assert_eq!(c.interfaces[0].ioam6_id_wide, IF_ID_WIDE_DEFAULT);
        assert_eq!(c.namespaces[0].wide, Some(u64::MAX));
        assert_eq!(c.schemas[0].data, vec![10, 11]);
        let e = c.encap.as_ref().unwrap();
        assert_eq!((e.mode, e.tunsrc, e.tundst[15], e.freq_k, e.freq_n), (EncapMode::Encap, [0; 16], 2, 1, 1));
        assert!(c.validate().is_ok());
        assert_eq!(parse("{}").unwrap(), NodeConfig::default());
    }

    #[test]
    fn json_type_errors_name_the_field() {
        for (j, want) in [
            (r#"{"ioam6_id":-1}"#, "invalid value"),
            (r#"{"namespaces":[{"id":70000}]}"#, "u16"),
            (r#"{"profile":"bsd"}"#, "unknown variant"),
            (r#"{"bogus":1}"#, "unknown field `bogus`"),
            (r#"{"encap":{"tunsrc":"fd00::zz"}}"#, "not an IPv6 address"),
            (r#"{"schemas":[{"id":1,"data_hex":"abc"}]}"#, "not hex"),
            (r#"{"ioam6_id_wide":"12x"}"#, "not a u64"),
        ] {
            let e = parse(j).unwrap_err();
            assert!(e.contains(want), "{j}: {e}");
        }
    }

    #[test]
    fn validate_owns_the_linux_rules() {
        let bad = [
            r#"{"ioam6_id":16777216}"#,
            r#"{"interfaces":[{"name":"a"},{"name":"a"}]}"#,
            r#"{"namespaces":[{"id":1},{"id":1}]}"#,
            r#"{"namespaces":[{"id":1,"schema":5}]}"#,
            r#"{"encap":{"trace_type":8388608,"namespace":1,"size":6}}"#,
            r#"{"encap":{"trace_type":8388608,"namespace":1,"size":8,"freq_k":3,"freq_n":2}}"#,
            r#"{"encap":{"mode":"encap","trace_type":8388608,"namespace":1,"size":8}}"#,
            r#"{"encap":{"trace_type":8388608,"namespace":1,"size":8,"incremental":true}}"#,
        ];
        for j in bad {
            let e = parse(j).unwrap().validate().unwrap_err();
            assert_eq!(e.code, ErrorCode::Config, "{j}");
        }
    }
}
