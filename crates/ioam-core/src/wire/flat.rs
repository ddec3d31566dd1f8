//! Flat decode of the IOAM trace options of a removed Hop-by-Hop header (what a decapsulating
//! node hands back) into caller-provided u32 words, without allocating: the record layout is in
//! [`crate::abi`] (`trace_rec`, `trace_opt`, `trace_hop`), rendered for TypeScript by `gen-abi`.
//!
//! It reports exactly what [`super::decode_packet`] reports for the header behind a minimal IPv6
//! header (Next Header 0, Payload Length = the header's length), restricted to its IOAM
//! Pre-allocated / Incremental trace options: the same options (a trace option whose header or
//! CLT block is missing is `malformed` there and absent here), header fields, nodes before a
//! problem, and the problem (code, layer, `what`, offset). The `flat_matches_structured` tests
//! hold the two decoders to that on mutated headers.
use super::clt::{TraceLayout, CLT_LEN};
use super::exthdr::{ExtHeaderKind, ExtHeaderView};
use super::ioam::{IoamOptionType, IoamView, HEADER_LEN as IOAM_HEADER_LEN};
use super::options::{OptionsIter, OPT_IOAM};
use super::trace::{bits, nodelen_for_type, NodeElement, NodeIter, TraceHeaderView, FLAG_ACTIVE, FLAG_BIT3, FLAG_LOOPBACK, FLAG_OVERFLOW, HEADER_LEN};
use super::{rd_u24, rd_u32, rd_u64, rd_u8};
use crate::abi::{self, trace_hop as hop, trace_opt as opt, trace_rec as rec, TRACE_ERRORS};
use crate::error::{Error, ErrorCode, Layer};

/// Words of `out` a record may need at most ([`abi::TRACE_REC_MAX_WORDS`]).
pub const REC_MAX_WORDS: usize = abi::TRACE_REC_MAX_WORDS;

/// Decodes the trace options of `hbh` (a whole Hop-by-Hop header: Next Header, Hdr Ext Len,
/// options) for `layout` into `out` (see [`crate::abi::trace_rec`]). Returns the words written,
/// or `None` when `out` is too short (nothing meaningful written then). A header that cannot be
/// located (shorter than 8 octets or than its Hdr Ext Len says) gives a record with no options.
pub fn decode_hbh_traces(hbh: &[u8], layout: TraceLayout, out: &mut [u32]) -> Option<usize> {
    let mut w = Words { out, pos: rec::WORDS };
    w.set(rec::OPTIONS, 0)?;
    let mut n_opts = 0u32;
    if hbh.len() >= 8 && hbh.len() <= 0xffff {
        if let Ok(h) = ExtHeaderView::new_checked(hbh, ExtHeaderKind::HopByHop) {
            for r in OptionsIter::new(h.body(), 2) {
                let Ok(o) = r else { break };
                if o.option_type != OPT_IOAM {
                    continue;
                }
                if trace_option(o.data, o.offset + 2, layout, &mut w)? {
                    n_opts += 1;
                }
            }
        }
    }
    w.set(rec::OPTIONS, n_opts)?;
    let used = w.pos;
    w.set(rec::WORDS_USED, used as u32)?;
    Some(used)
}

/// Decodes every packet `j < count` with `layouts[j]` standard or legacy: its header is
/// `arena[desc[2j] .. desc[2j] + desc[2j+1]]` (the decap `traceDesc` table). Records go back to
/// back into `out`; `index[j]` is where packet j's record starts (`u32::MAX` for a skipped
/// packet). Returns how many packets are done: fewer than `count` when `out` ran short (call
/// again from there with more room). A descriptor outside the arena gives an empty record.
pub fn decode_trace_batch(arena: &[u8], desc: &[u32], layouts: &[u8], count: usize, out: &mut [u32], index: &mut [u32]) -> usize {
    let mut pos = 0usize;
    for j in 0..count {
        let Some(ix) = index.get_mut(j) else { return j };
        let layout = match layouts.get(j) {
            Some(&abi::TRACE_LAYOUT_STANDARD) => TraceLayout::Standard,
            Some(&abi::TRACE_LAYOUT_LEGACY) => TraceLayout::CltLegacy,
            _ => {
                *ix = u32::MAX;
                continue;
            }
        };
        let at = desc.get(2 * j).map_or(usize::MAX, |&v| v as usize);
        let len = desc.get(2 * j + 1).map_or(0, |&v| v as usize);
        let hbh = at.checked_add(len).and_then(|end| arena.get(at..end)).unwrap_or(&[]);
        let Some(dst) = out.get_mut(pos..) else { return j };
        let Some(n) = decode_hbh_traces(hbh, layout, dst) else { return j };
        *ix = pos as u32;
        pos += n;
    }
    count
}

/// A cursor over `out`; every write is checked (`None` = no room).
struct Words<'a> {
    out: &'a mut [u32],
    pos: usize,
}

impl Words<'_> {
    fn set(&mut self, at: usize, v: u32) -> Option<()> {
        *self.out.get_mut(at)? = v;
        Some(())
    }
    /// Reserves `n` zeroed words; returns their start.
    fn take(&mut self, n: usize) -> Option<usize> {
        let at = self.pos;
        self.out.get_mut(at..at.checked_add(n)?)?.fill(0);
        self.pos += n;
        Some(at)
    }
}

fn set_error(w: &mut Words<'_>, o: usize, e: &Error, base: usize) -> Option<()> {
    w.set(o + opt::ERROR, abi::trace_error_code(e))?;
    w.set(o + opt::ERROR_OFFSET, (e.offset + base) as u32)?;
    w.set(o + opt::ERROR_NEEDED, e.needed as u32)?;
    w.set(o + opt::ERROR_GOT, e.got as u32)
}

/// One IOAM option's data (from Reserved) at `at` in the header. `Some(true)`: a trace option was
/// written; `Some(false)`: not a trace option (or undecodable as one: nothing written).
fn trace_option(data: &[u8], at: usize, layout: TraceLayout, w: &mut Words<'_>) -> Option<bool> {
    let Ok(v) = IoamView::new_checked(data) else { return Some(false) };
    let kind = v.option_type();
    if kind != IoamOptionType::PreallocatedTrace && kind != IoamOptionType::IncrementalTrace {
        return Some(false);
    }
    let body = v.body();
    let base = at + IOAM_HEADER_LEN; // header offset of the trace body
    let Ok(h) = TraceHeaderView::new_checked(body) else { return Some(false) };
    let prealloc = kind == IoamOptionType::PreallocatedTrace;
    let mut data_at = HEADER_LEN;
    if prealloc && layout == TraceLayout::CltLegacy {
        if h.data().len() < CLT_LEN {
            return Some(false);
        }
        data_at += CLT_LEN;
    }
    let o = w.take(opt::WORDS)?;
    let b2 = body.get(2).copied().unwrap_or(0);
    let b3 = body.get(3).copied().unwrap_or(0);
    let flag = |set: bool, bit: u32| if set { bit } else { 0 };
    let flags = flag(b2 & FLAG_OVERFLOW != 0, abi::TRACE_FLAG_OVERFLOW)
        | flag(b2 & FLAG_LOOPBACK != 0, abi::TRACE_FLAG_LOOPBACK)
        | flag(b2 & FLAG_ACTIVE != 0, abi::TRACE_FLAG_ACTIVE)
        | flag(b3 & FLAG_BIT3 != 0, abi::TRACE_FLAG_BIT3);
    let trace_type = h.trace_type();
    w.set(o + opt::OPTION_TYPE, u32::from(!prealloc))?;
    w.set(o + opt::NS, u32::from(h.namespace_id()))?;
    w.set(o + opt::NODE_LEN, u32::from(h.node_len()))?;
    w.set(o + opt::FLAGS, flags)?;
    w.set(o + opt::REMAINING_LEN, u32::from(h.remaining_len()))?;
    w.set(o + opt::TRACE_TYPE, trace_type)?;
    let rest = body.get(data_at..).unwrap_or(&[]);
    let area = if prealloc {
        let free = usize::from(h.remaining_len()) * 4;
        if free > rest.len() {
            let e = Error {
                code: ErrorCode::BadRemainingLen,
                layer: Layer::Trace,
                offset: 3,
                needed: free,
                got: rest.len(),
                what: TRACE_ERRORS[0].2,
            };
            set_error(w, o, &e, base)?;
            return Some(true);
        }
        data_at += free;
        rest.get(free..).unwrap_or(&[])
    } else {
        rest
    };
    let computed = nodelen_for_type(trace_type);
    if h.node_len() != computed {
        let e = Error {
            code: ErrorCode::BadNodeLen,
            layer: Layer::Trace,
            offset: 2,
            needed: usize::from(computed),
            got: usize::from(h.node_len()),
            what: TRACE_ERRORS[1].2,
        };
        set_error(w, o, &e, base)?;
        return Some(true);
    }
    let mut hops = 0u32;
    for r in NodeIter::new(area, trace_type, h.node_len(), data_at) {
        let el = match r {
            Ok(el) => el,
            Err(e) => {
                set_error(w, o, &e, base)?;
                break;
            }
        };
        let p = w.take(hop::WORDS)?;
        if let Err(e) = node_fields(&el, trace_type, base, w, p) {
            w.pos = p; // the structured decoder keeps no partial node
            set_error(w, o, &e.at(el.offset), base)?;
            break;
        }
        hops += 1;
    }
    w.set(o + opt::HOPS, hops)?;
    Some(true)
}

/// An element's fields into the hop words at `p` (as `NodeData::parse` reads them). Errors have
/// element-relative offsets. Running out of words is reported as `NoRoom` (never a trace error:
/// the caller's record is abandoned by [`decode_hbh_traces`] first, since `take` checked room).
fn node_fields(el: &NodeElement<'_>, trace_type: u32, base: usize, w: &mut Words<'_>, p: usize) -> Result<(), Error> {
    let f = el.fixed;
    let room = || Error::new(ErrorCode::NoRoom, Layer::NodeData, 0, "flat record words");
    let mut set = |slot: usize, v: u32| w.set(p + slot, v).ok_or_else(room);
    let mut pos = 0usize;
    let mut undef = 0usize;
    for bit in 0..22u32 {
        if trace_type & bits::mask(bit) == 0 {
            continue;
        }
        let wide = matches!(bit, 8..=10);
        let n = if wide { 8 } else { 4 };
        let short = || Error::truncated(Layer::NodeData, pos, pos + n, f.len(), "node data field");
        let x = rd_u32(f, pos).ok_or_else(short)?;
        match bit {
            0 => {
                set(hop::HOP_LIMIT, x >> 24)?;
                set(hop::NODE_ID, x & 0xff_ffff)?;
            }
            1 => {
                set(hop::INGRESS_IF, x >> 16)?;
                set(hop::EGRESS_IF, x & 0xffff)?;
            }
            2 => set(hop::TS_SEC, x)?,
            3 => set(hop::TS_FRAC, x)?,
            4 => set(hop::TRANSIT_DELAY, x)?,
            5 => set(hop::NS_DATA, x)?,
            6 => set(hop::QUEUE_DEPTH, x)?,
            7 => set(hop::CHECKSUM_COMPLEMENT, x)?,
            8 => {
                let v = rd_u64(f, pos).ok_or_else(short)?;
                set(hop::HOP_LIMIT_WIDE, (v >> 56) as u32)?;
                set(hop::NODE_ID_WIDE_HI, ((v >> 32) & 0x00ff_ffff) as u32)?;
                set(hop::NODE_ID_WIDE_LO, v as u32)?;
            }
            9 => {
                set(hop::INGRESS_IF_WIDE, x)?;
                set(hop::EGRESS_IF_WIDE, rd_u32(f, pos + 4).ok_or_else(short)?)?;
            }
            10 => {
                let v = rd_u64(f, pos).ok_or_else(short)?;
                set(hop::NS_DATA_WIDE_HI, (v >> 32) as u32)?;
                set(hop::NS_DATA_WIDE_LO, v as u32)?;
            }
            11 => set(hop::BUFFER_OCCUPANCY, x)?,
            _ => {
                set(hop::UNDEF0 + undef, x)?;
                undef += 1;
            }
        }
        pos += n;
    }
    set(hop::UNDEF_COUNT, undef as u32)?;
    if let Some(o) = el.oss {
        let hdr = || Error::truncated(Layer::Oss, f.len(), 4, o.len(), "OSS header");
        let len = rd_u8(o, 0).ok_or_else(hdr)?;
        let schema = rd_u24(o, 1).ok_or_else(hdr)?;
        let need = 4 + usize::from(len) * 4;
        if o.len() < need {
            return Err(Error::truncated(Layer::Oss, f.len(), need, o.len(), "OSS data"));
        }
        set(hop::OSS_LEN, u32::from(len))?;
        set(hop::OSS_SCHEMA, schema)?;
        // The OSS follows the fixed part of the element: its data starts 4 octets in.
        set(hop::OSS_DATA_OFF, (base + el.offset + f.len() + 4) as u32)?;
        set(hop::OSS_DATA_LEN, (need - 4) as u32)?;
    }
    Ok(())
}
