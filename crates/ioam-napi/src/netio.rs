//! The kernel check's raw sockets (crates/ioam-netio), forwarded to JS: argument and result
//! conversion only. The JS names are those app/kernel/native.ts declares.
use ioam_netio as io;
use napi::bindgen_prelude::{BigInt, Buffer};
use napi::{Error, Result};
use napi_derive::napi;

fn err(e: io::Error) -> Error {
    Error::from_reason(e.reason)
}

/// One captured frame.
#[napi(object)]
pub struct CapturedFrame {
    /// The frame, Ethernet header included (truncated to 65536 bytes; see `origLen`).
    pub data: Buffer,
    /// Length on the wire (> data.length when truncated).
    pub orig_len: u32,
    /// Kernel receive timestamp (`SO_TIMESTAMPNS`), nanoseconds since the Unix epoch; 0 if absent.
    pub ts_ns: BigInt,
    /// `sll_pkttype` (packet(7)): 0 host, 1 broadcast, 2 multicast, 3 other host, 4 outgoing.
    pub pkt_type: u32,
}

/// An AF_PACKET raw socket bound to one interface of one network namespace (`ioam_netio::PacketSocket`).
#[napi]
pub struct PacketSocket {
    inner: io::PacketSocket,
}

#[napi]
impl PacketSocket {
    /// Opens a raw socket on interface `ifname` inside network namespace `netns` (empty = current).
    #[napi(factory)]
    pub fn open(netns: String, ifname: String) -> Result<PacketSocket> {
        io::PacketSocket::open(netns, ifname).map(|inner| PacketSocket { inner }).map_err(err)
    }

    /// Interface index of the bound interface (in its namespace).
    #[napi(getter)]
    pub fn ifindex(&self) -> u32 {
        self.inner.ifindex()
    }

    /// Sends one raw Ethernet frame out of the bound interface; returns the bytes sent.
    #[napi]
    pub fn send(&self, frame: &[u8]) -> Result<u32> {
        self.inner.send(frame).map_err(err)
    }

    /// Waits up to `timeoutMs` for a first frame, then returns it with every frame already
    /// queued, at most `maxFrames` (≤ 4096). Empty on timeout.
    #[napi]
    pub fn recv(&self, timeout_ms: u32, max_frames: u32) -> Result<Vec<CapturedFrame>> {
        let frames = self.inner.recv(timeout_ms, max_frames).map_err(err)?;
        Ok(frames
            .into_iter()
            .map(|f| CapturedFrame { data: f.data.into(), orig_len: f.orig_len, ts_ns: BigInt::from(f.ts_ns), pkt_type: f.pkt_type })
            .collect())
    }

    /// Discards every queued frame; returns how many.
    #[napi]
    pub fn drain(&self) -> Result<u32> {
        self.inner.drain().map_err(err)
    }

    /// Closes the socket (also done when the object is garbage-collected).
    #[napi]
    pub fn close(&mut self) {
        self.inner.close();
    }
}

/// Writes `values[i]` to `paths[i]` (under /proc/sys/net/ or /proc/thread-self/net/) inside `netns`.
#[napi]
pub fn netns_write_files(netns: String, paths: Vec<String>, values: Vec<String>) -> Result<()> {
    io::netns_write_files(netns, paths, values).map_err(err)
}

/// Reads a file under /proc/sys/net/ or /proc/thread-self/net/ inside `netns`.
#[napi]
pub fn netns_read_file(netns: String, path: String) -> Result<String> {
    io::netns_read_file(netns, path).map_err(err)
}

/// One datagram received on a [`UdpSocket`], with the IPv6 ancillary data Linux hands back.
#[napi(object)]
pub struct UdpDatagram {
    pub payload: Buffer,
    /// Source address and port.
    pub from: String,
    pub from_port: u32,
    /// The Hop-by-Hop Options header as the socket saw it (`IPV6_HOPOPTS` cmsg), or null.
    pub hop_opts: Option<Buffer>,
    /// The Destination Options header (`IPV6_DSTOPTS` cmsg), or null.
    pub dst_opts: Option<Buffer>,
    /// Hop limit as received (`IPV6_HOPLIMIT` cmsg); -1 if absent.
    pub hop_limit: i32,
    /// Kernel receive timestamp, ns since the epoch; 0 if absent.
    pub ts_ns: BigInt,
}

/// A UDP/IPv6 socket bound to `[::]:port` inside a network namespace (`ioam_netio::UdpSocket`).
#[napi]
pub struct UdpSocket {
    inner: io::UdpSocket,
}

#[napi]
impl UdpSocket {
    /// Opens the socket inside `netns` (empty = current) bound to `[::]:port`.
    #[napi(factory)]
    pub fn open(netns: String, port: u32) -> Result<UdpSocket> {
        io::UdpSocket::open(netns, port).map(|inner| UdpSocket { inner }).map_err(err)
    }

    /// Waits up to `timeoutMs` for a first datagram, then returns it with every datagram already
    /// queued, at most `maxDatagrams` (≤ 4096).
    #[napi]
    pub fn recv(&self, timeout_ms: u32, max_datagrams: u32) -> Result<Vec<UdpDatagram>> {
        let ds = self.inner.recv(timeout_ms, max_datagrams).map_err(err)?;
        Ok(ds
            .into_iter()
            .map(|d| UdpDatagram {
                payload: d.payload.into(),
                from: d.from,
                from_port: d.from_port,
                hop_opts: d.hop_opts.map(Buffer::from),
                dst_opts: d.dst_opts.map(Buffer::from),
                hop_limit: d.hop_limit,
                ts_ns: BigInt::from(d.ts_ns),
            })
            .collect())
    }

    /// Closes the socket.
    #[napi]
    pub fn close(&mut self) {
        self.inner.close();
    }
}
