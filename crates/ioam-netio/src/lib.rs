//! Raw packet I/O for the kernel check (app/kernel, through the napi binding's `netio`):
//! AF_PACKET sockets bound to one interface inside a named
//! network namespace (`ip netns add NAME` → `/var/run/netns/NAME`).
//!
//! A socket belongs to the network namespace it was created in, for its whole life, whatever the
//! namespace of the thread that later uses it (socket(7), `sock_net()`). So [`PacketSocket::open`]
//! creates the socket in a short-lived thread that first `setns(2)`s into the namespace, and the
//! main thread then sends and receives on the returned descriptor. The Node.js threads never
//! change namespace.
//!
//! Receiving: `SOCK_RAW` frames (Ethernet header included) with the kernel's receive timestamp
//! (`SO_TIMESTAMPNS`, the same `skb->tstamp` Linux's IOAM fill uses when timestamps are enabled)
//! and the `sll_pkttype` (packet(7): 0 host, 4 outgoing, ...). Counts and sizes are bounded.
//!
//! Raw libc calls, each checked, errors carrying the errno text. No napi here: the binding
//! (crates/ioam-napi/src/netio.rs) only converts arguments and results.
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// An I/O error: what failed, with the errno text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub reason: String,
}

impl Error {
    pub fn from_reason(reason: impl Into<String>) -> Error {
        Error { reason: reason.into() }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// `ETH_P_ALL` in network byte order, as `socket(2)`/`sockaddr_ll` want it.
const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();
/// Largest frame we read (veth MTU is 1500; leave room for GSO-less jumbo tests).
const FRAME_MAX: usize = 65_536;
/// Upper bound on frames returned by one `recv` call.
const RECV_MAX_FRAMES: u32 = 4096;
/// Upper bound on one `recv` timeout (ms).
const RECV_MAX_TIMEOUT_MS: u32 = 60_000;

fn os_err(what: &str) -> Error {
    let e = io::Error::last_os_error();
    Error::from_reason(format!("{what}: {e}"))
}

/// Opens the AF_PACKET socket in the calling thread's current namespace and binds it to `ifname`.
fn open_bound(ifname: &CString) -> std::result::Result<(OwnedFd, u32), String> {
    let last = |what: &str| format!("{what}: {}", io::Error::last_os_error());
    // SAFETY: plain FFI with a valid NUL-terminated string.
    let ifindex = unsafe { libc::if_nametoindex(ifname.as_ptr()) };
    if ifindex == 0 {
        return Err(last(&format!("if_nametoindex({})", ifname.to_string_lossy())));
    }
    // Protocol 0: the socket receives nothing until bound to one interface with ETH_P_ALL, so no
    // frame of another interface gets queued in between.
    // SAFETY: plain FFI.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(last("socket(AF_PACKET, SOCK_RAW)"));
    }
    // SAFETY: fd is a fresh, owned descriptor.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    // SAFETY: option value points to a live c_int of the given size.
    let rc = unsafe {
        libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, &one as *const _ as *const libc::c_void, std::mem::size_of::<libc::c_int>() as libc::socklen_t)
    };
    if rc < 0 {
        return Err(last("setsockopt(SO_TIMESTAMPNS)"));
    }
    let rcvbuf: libc::c_int = 4 << 20;
    // SAFETY: as above. A smaller buffer than asked is not an error (capped by rmem_max).
    unsafe {
        libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &rcvbuf as *const _ as *const libc::c_void, std::mem::size_of::<libc::c_int>() as libc::socklen_t);
    }
    // SAFETY: zeroed sockaddr_ll is a valid value; we fill the fields bind needs.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = ETH_P_ALL_BE;
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: sll is a valid sockaddr_ll of the given size.
    let rc = unsafe { libc::bind(fd, &sll as *const _ as *const libc::sockaddr, std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t) };
    if rc < 0 {
        return Err(last(&format!("bind(AF_PACKET, {})", ifname.to_string_lossy())));
    }
    Ok((owned, ifindex))
}

/// Enters `/var/run/netns/<netns>` (this thread only) unless `netns` is empty.
fn enter_netns(netns: &str) -> std::result::Result<(), String> {
    if netns.is_empty() {
        return Ok(());
    }
    if netns.contains('/') || netns == "." || netns == ".." {
        return Err(format!("invalid network namespace name {netns:?}"));
    }
    let path = format!("/var/run/netns/{netns}");
    let cpath = CString::new(path.clone()).map_err(|_| format!("invalid network namespace name {netns:?}"))?;
    // SAFETY: plain FFI with a valid path.
    let fd = unsafe { libc::open(cpath.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(format!("open({path}): {}", io::Error::last_os_error()));
    }
    // SAFETY: fd is fresh and owned; closed when `nsfd` drops.
    let nsfd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: setns on a namespace fd; affects only the calling thread.
    let rc = unsafe { libc::setns(nsfd.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc < 0 {
        return Err(format!("setns({path}, CLONE_NEWNET): {}", io::Error::last_os_error()));
    }
    Ok(())
}

/// One captured frame.
pub struct CapturedFrame {
    /// The frame, Ethernet header included (truncated to 65536 bytes; see `origLen`).
    pub data: Vec<u8>,
    /// Length on the wire (> data.length when truncated).
    pub orig_len: u32,
    /// Kernel receive timestamp (`SO_TIMESTAMPNS`), nanoseconds since the Unix epoch; 0 if absent.
    pub ts_ns: u64,
    /// `sll_pkttype` (packet(7)): 0 host, 1 broadcast, 2 multicast, 3 other host, 4 outgoing.
    pub pkt_type: u32,
}

/// An AF_PACKET raw socket bound to one interface of one network namespace.
pub struct PacketSocket {
    fd: Option<OwnedFd>,
    ifindex: u32,
}

impl PacketSocket {
    fn raw(&self) -> Result<RawFd> {
        self.fd.as_ref().map(|f| f.as_raw_fd()).ok_or_else(|| Error::from_reason("PacketSocket is closed"))
    }
}
impl PacketSocket {
    /// Opens a raw socket on interface `ifname` inside network namespace `netns` (a name under
    /// /var/run/netns; empty = the current namespace). Needs CAP_NET_RAW and CAP_SYS_ADMIN.
    pub fn open(netns: String, ifname: String) -> Result<PacketSocket> {
        let cif = CString::new(ifname.clone()).map_err(|_| Error::from_reason(format!("invalid interface name {ifname:?}")))?;
        if ifname.is_empty() || ifname.len() >= libc::IF_NAMESIZE {
            return Err(Error::from_reason(format!("invalid interface name {ifname:?}")));
        }
        let (fd, ifindex) = in_netns(&netns, move || open_bound(&cif)).map_err(|e| Error::from_reason(format!("{} (interface {ifname:?})", e.reason)))?;
        Ok(PacketSocket { fd: Some(fd), ifindex })
    }

    /// Interface index of the bound interface (in its namespace).
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Sends one raw Ethernet frame (destination MAC first) out of the bound interface.
    /// Returns the number of bytes sent.
    pub fn send(&self, frame: &[u8]) -> Result<u32> {
        let fd = self.raw()?;
        if frame.len() < 14 {
            return Err(Error::from_reason(format!("frame of {} bytes is shorter than an Ethernet header", frame.len())));
        }
        // SAFETY: buffer pointer/length come from a live slice.
        let n = unsafe { libc::send(fd, frame.as_ptr() as *const libc::c_void, frame.len(), 0) };
        if n < 0 {
            return Err(os_err("send(AF_PACKET)"));
        }
        Ok(n as u32)
    }

    /// Waits up to `timeoutMs` for a first frame, then returns it together with every frame
    /// already queued, at most `maxFrames` (≤ 4096). Returns an empty list on timeout.
    pub fn recv(&self, timeout_ms: u32, max_frames: u32) -> Result<Vec<CapturedFrame>> {
        let fd = self.raw()?;
        let max = max_frames.clamp(1, RECV_MAX_FRAMES) as usize;
        let deadline = Instant::now() + Duration::from_millis(u64::from(timeout_ms.min(RECV_MAX_TIMEOUT_MS)));
        let mut out = Vec::new();
        let mut buf = vec![0u8; FRAME_MAX];
        // Wait for readability (EINTR-safe, against the deadline).
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as libc::c_int) };
            if rc < 0 {
                if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(os_err("poll(AF_PACKET)"));
            }
            if rc == 0 {
                return Ok(out);
            }
            break;
        }
        while out.len() < max {
            match recv_one(fd, &mut buf)? {
                Some(f) => out.push(f),
                None => break,
            }
        }
        Ok(out)
    }

    /// Discards every queued frame; returns how many.
    pub fn drain(&self) -> Result<u32> {
        let fd = self.raw()?;
        let mut buf = vec![0u8; FRAME_MAX];
        let mut n = 0u32;
        while recv_one(fd, &mut buf)?.is_some() {
            n = n.saturating_add(1);
        }
        Ok(n)
    }

    /// Closes the socket (also done when the object is garbage-collected).
    pub fn close(&mut self) {
        self.fd = None;
    }
}

/// One non-blocking `recvmsg`; `None` when nothing is queued.
fn recv_one(fd: RawFd, buf: &mut [u8]) -> Result<Option<CapturedFrame>> {
    // SAFETY: zeroed sockaddr_ll / msghdr are valid; every pointer below refers to live locals
    // whose sizes are given alongside.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    let mut cbuf = [0u64; 16]; // 128 bytes, 8-aligned, room for a timespec cmsg
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr() as *mut libc::c_void, iov_len: buf.len() };
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = &mut sll as *mut _ as *mut libc::c_void;
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = std::mem::size_of_val(&cbuf) as _;
    let n = loop {
        // SAFETY: msg is fully initialised above.
        let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT | libc::MSG_TRUNC) };
        if n >= 0 {
            break n as usize;
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Ok(None),
            _ => return Err(Error::from_reason(format!("recvmsg(AF_PACKET): {e}"))),
        }
    };
    let mut ts_ns: u64 = 0;
    // SAFETY: CMSG_* walk the control buffer the kernel filled, bounded by msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const libc::timespec);
                ts_ns = (ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    let caplen = n.min(buf.len());
    Ok(Some(CapturedFrame {
        data: buf[..caplen].to_vec(),
        orig_len: n.min(u32::MAX as usize) as u32,
        ts_ns: ts_ns,
        pkt_type: u32::from(sll.sll_pkttype),
    }))
}

/// Runs `f` in a fresh thread that has entered network namespace `netns` (empty = current).
fn in_netns<T: Send + 'static>(netns: &str, f: impl FnOnce() -> std::result::Result<T, String> + Send + 'static) -> Result<T> {
    let ns = netns.to_string();
    let handle = std::thread::Builder::new()
        .name("ioamsim-netns".into())
        .spawn(move || -> std::result::Result<T, String> {
            enter_netns(&ns)?;
            f()
        })
        .map_err(|e| Error::from_reason(format!("spawn netns thread: {e}")))?;
    let res = handle.join().map_err(|_| Error::from_reason("netns thread panicked"))?;
    res.map_err(|e| Error::from_reason(format!("netns {netns:?}: {e}")))
}

/// Only per-namespace networking files may be touched through the helpers below.
fn check_net_path(path: &str) -> std::result::Result<(), String> {
    let ok = (path.starts_with("/proc/sys/net/") || path.starts_with("/proc/thread-self/net/")) && !path.contains("..");
    if ok { Ok(()) } else { Err(format!("path {path:?} is not under /proc/sys/net/ or /proc/thread-self/net/")) }
}

/// Writes `values[i]` to `paths[i]` (sysctl files under /proc/sys/net/) as seen from inside network
/// namespace `netns`: one thread, one `setns`, no `ip netns exec` per sysctl. Stops at the first
/// failure, naming the file and the errno text (EINVAL for out-of-range sysctl values).
pub fn netns_write_files(netns: String, paths: Vec<String>, values: Vec<String>) -> Result<()> {
    if paths.len() != values.len() {
        return Err(Error::from_reason(format!("netnsWriteFiles: {} paths but {} values", paths.len(), values.len())));
    }
    for p in &paths {
        check_net_path(p).map_err(Error::from_reason)?;
    }
    in_netns(&netns, move || {
        for (p, v) in paths.iter().zip(values.iter()) {
            std::fs::write(p, v.as_bytes()).map_err(|e| format!("write {v:?} to {p}: {e}"))?;
        }
        Ok(())
    })
}

/// Reads a file under /proc/sys/net/ or /proc/thread-self/net/ (e.g. `snmp6`) from inside
/// network namespace `netns`.
pub fn netns_read_file(netns: String, path: String) -> Result<String> {
    check_net_path(&path).map_err(Error::from_reason)?;
    in_netns(&netns, move || std::fs::read_to_string(&path).map_err(|e| format!("read {path}: {e}")))
}

/// One datagram received on a [`UdpSocket`], with the IPv6 ancillary data Linux hands back.
pub struct UdpDatagram {
    pub payload: Vec<u8>,
    /// Source address and port.
    pub from: String,
    pub from_port: u32,
    /// The Hop-by-Hop Options header as the socket saw it (`IPV6_HOPOPTS` cmsg: after this node's
    /// own IOAM processing), or null.
    pub hop_opts: Option<Vec<u8>>,
    /// The Destination Options header (`IPV6_DSTOPTS` cmsg), or null.
    pub dst_opts: Option<Vec<u8>>,
    /// Hop limit as received (`IPV6_HOPLIMIT` cmsg); -1 if absent.
    pub hop_limit: i32,
    /// Kernel receive timestamp, ns since the epoch; 0 if absent.
    pub ts_ns: u64,
}

/// A UDP/IPv6 socket bound to `[::]:port` inside a network namespace, asking for the Hop-by-Hop
/// and Destination Options headers and the hop limit of every datagram (RFC 3542 §6).
pub struct UdpSocket {
    fd: Option<OwnedFd>,
}

fn setopt_int(fd: RawFd, level: libc::c_int, name: libc::c_int, what: &str) -> std::result::Result<(), String> {
    let one: libc::c_int = 1;
    // SAFETY: option value points to a live c_int of the given size.
    let rc = unsafe { libc::setsockopt(fd, level, name, &one as *const _ as *const libc::c_void, std::mem::size_of::<libc::c_int>() as libc::socklen_t) };
    if rc < 0 { Err(format!("setsockopt({what}): {}", io::Error::last_os_error())) } else { Ok(()) }
}
impl UdpSocket {
    /// Opens the socket inside `netns` (empty = current) bound to `[::]:port`.
    pub fn open(netns: String, port: u32) -> Result<UdpSocket> {
        let port = u16::try_from(port).map_err(|_| Error::from_reason(format!("port {port} out of range")))?;
        let fd = in_netns(&netns, move || {
            // SAFETY: plain FFI.
            let fd = unsafe { libc::socket(libc::AF_INET6, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
            if fd < 0 {
                return Err(format!("socket(AF_INET6, SOCK_DGRAM): {}", io::Error::last_os_error()));
            }
            // SAFETY: fresh owned descriptor.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            setopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPOPTS, "IPV6_RECVHOPOPTS")?;
            setopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVDSTOPTS, "IPV6_RECVDSTOPTS")?;
            setopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, "IPV6_RECVHOPLIMIT")?;
            setopt_int(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, "SO_TIMESTAMPNS")?;
            // SAFETY: zeroed sockaddr_in6 is valid ([::]:0); we set family and port.
            let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sa.sin6_family = libc::AF_INET6 as u16;
            sa.sin6_port = port.to_be();
            // SAFETY: sa is a valid sockaddr_in6 of the given size.
            let rc = unsafe { libc::bind(fd, &sa as *const _ as *const libc::sockaddr, std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t) };
            if rc < 0 {
                return Err(format!("bind([::]:{port}): {}", io::Error::last_os_error()));
            }
            Ok(owned)
        })?;
        Ok(UdpSocket { fd: Some(fd) })
    }

    /// Waits up to `timeoutMs` for a first datagram, then returns it with every datagram already
    /// queued, at most `maxDatagrams` (≤ 4096).
    pub fn recv(&self, timeout_ms: u32, max_datagrams: u32) -> Result<Vec<UdpDatagram>> {
        let fd = self.fd.as_ref().map(|f| f.as_raw_fd()).ok_or_else(|| Error::from_reason("UdpSocket is closed"))?;
        let max = max_datagrams.clamp(1, RECV_MAX_FRAMES) as usize;
        let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        let deadline = Instant::now() + Duration::from_millis(u64::from(timeout_ms.min(RECV_MAX_TIMEOUT_MS)));
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // SAFETY: one valid pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as libc::c_int) };
            if rc < 0 {
                if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(os_err("poll(UDP)"));
            }
            if rc == 0 {
                return Ok(Vec::new());
            }
            break;
        }
        let mut out = Vec::new();
        let mut buf = vec![0u8; FRAME_MAX];
        while out.len() < max {
            // SAFETY: as in `recv_one`: zeroed C structs, pointers to live locals with their sizes.
            let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            let mut cbuf = [0u64; 640]; // 5 KiB: an HbH and a DOH of up to 2 KiB each, plus small cmsgs
            let mut iov = libc::iovec { iov_base: buf.as_mut_ptr() as *mut libc::c_void, iov_len: buf.len() };
            let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
            msg.msg_name = &mut sa as *mut _ as *mut libc::c_void;
            msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = cbuf.as_mut_ptr() as *mut libc::c_void;
            msg.msg_controllen = std::mem::size_of_val(&cbuf) as _;
            // SAFETY: msg fully initialised.
            let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => break,
                    _ => return Err(Error::from_reason(format!("recvmsg(UDP): {e}"))),
                }
            }
            let (mut hop_opts, mut dst_opts, mut hop_limit, mut ts_ns) = (None, None, -1i32, 0u64);
            // SAFETY: CMSG_* walk the control buffer the kernel filled, bounded by msg_controllen;
            // each data slice is bounded by cmsg_len.
            unsafe {
                let mut c = libc::CMSG_FIRSTHDR(&msg);
                while !c.is_null() {
                    let data = libc::CMSG_DATA(c);
                    let dlen = ((*c).cmsg_len as usize).saturating_sub(libc::CMSG_LEN(0) as usize);
                    let bytes = std::slice::from_raw_parts(data, dlen);
                    match ((*c).cmsg_level, (*c).cmsg_type) {
                        (libc::IPPROTO_IPV6, libc::IPV6_HOPOPTS) => hop_opts = Some(bytes.to_vec()),
                        (libc::IPPROTO_IPV6, libc::IPV6_DSTOPTS) => dst_opts = Some(bytes.to_vec()),
                        (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) if dlen >= 4 => hop_limit = std::ptr::read_unaligned(data as *const i32),
                        (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) if dlen >= std::mem::size_of::<libc::timespec>() => {
                            let ts: libc::timespec = std::ptr::read_unaligned(data as *const libc::timespec);
                            ts_ns = (ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64);
                        }
                        _ => {}
                    }
                    c = libc::CMSG_NXTHDR(&msg, c);
                }
            }
            let from = std::net::Ipv6Addr::from(sa.sin6_addr.s6_addr).to_string();
            out.push(UdpDatagram {
                payload: buf[..(n as usize).min(buf.len())].to_vec(),
                from,
                from_port: u32::from(u16::from_be(sa.sin6_port)),
                hop_opts,
                dst_opts,
                hop_limit,
                ts_ns: ts_ns,
            });
        }
        Ok(out)
    }

    /// Closes the socket.
    pub fn close(&mut self) {
        self.fd = None;
    }
}
