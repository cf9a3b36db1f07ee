//! Live capture: what scapy's `sniff()` does underneath, on Linux.
//!
//! An `AF_PACKET` socket receives whole frames, link header included, from
//! one interface, before any TCP or UDP socket sees them. It can read every
//! host's traffic, so the kernel allows it only to root or to a program
//! holding `CAP_NET_RAW`: `sudo setcap cap_net_raw+ep target/debug/sniff`
//! grants that to one binary, without running it as root.
//!
//! On `lo` every frame is seen twice: once leaving (`PACKET_OUTGOING`) and
//! once arriving (`PACKET_HOST`), since loopback is both ends of the wire.
//! `recvfrom` says which in the address's `sll_pkttype`, and on a loopback
//! interface we skip the outgoing copy, so each packet is counted once. (On
//! an Ethernet interface an outgoing frame is seen only leaving, and kept.)
//!
//! socket2 creates and binds the socket; the address the kernel wants is a
//! `sockaddr_ll`, which socket2 does not build for us, and the `sll_pkttype`
//! of each frame comes back in one; the kernel's receive time of a frame
//! comes from an `ioctl`, and its count of dropped frames from a
//! `getsockopt`. Those four calls are the crate's only `unsafe` code, each
//! block with its `SAFETY` reasoning.
//!
//! A capture sees everything on the interface. [`PortFilter`] asks the
//! kernel to queue only some ports, as `tcpdump 'port 8080'` does: a small
//! classic BPF program runs on every frame before it is queued, so a busy
//! interface cannot crowd the wanted frames out of the socket's queue.

use std::fmt;
use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, Socket, Type};

use crate::{Frame, LinkType};

/// The largest frame read whole: loopback's MTU is 64 KiB, and the kernel
/// may hand over a segment-offloaded frame up to that size.
pub const MAX_FRAME: usize = 256 * 1024;
/// How long one wait for a frame lasts, so a caller can look at its stop
/// flag in between.
pub const POLL: Duration = Duration::from_millis(100);
/// `ARPHRD_LOOPBACK`, the device type of `lo`.
const ARPHRD_LOOPBACK: u32 = 772;
/// `ARPHRD_ETHER`.
const ARPHRD_ETHER: u32 = 1;
/// `ARPHRD_NONE`: tun devices, whose frames are bare IP packets.
const ARPHRD_NONE: u32 = 65534;

/// Why a live capture could not start.
#[derive(Debug)]
pub enum LiveError {
    /// Neither root nor `CAP_NET_RAW`.
    Permission,
    /// No interface of that name.
    NoInterface(String),
    /// An interface whose frames we do not decode.
    LinkType(String, u32),
    /// Anything else the OS said.
    Io(io::Error),
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveError::Permission => write!(
                f,
                "live capture needs root or CAP_NET_RAW: run it with sudo, grant it once with \
                 `sudo setcap cap_net_raw+ep target/debug/sniff`, or read a capture with --pcap FILE"
            ),
            LiveError::NoInterface(name) => {
                write!(
                    f,
                    "no interface named {name:?} (see `ip link`; try --interface lo)"
                )
            }
            LiveError::LinkType(name, t) => write!(
                f,
                "{name} has device type {t}, not Ethernet or loopback: capture it with tcpdump \
                 and read the file with --pcap"
            ),
            LiveError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// A capture on one interface.
pub struct LiveCapture {
    socket: Socket,
    link: LinkType,
    skip_outgoing: bool,
    buf: Vec<u8>,
    /// Outgoing copies skipped so far (loopback only).
    pub skipped_outgoing: u64,
}

// ANCHOR: open
impl LiveCapture {
    /// Opens an `AF_PACKET` socket bound to `interface`, receiving every
    /// protocol (`ETH_P_ALL`).
    pub fn open(interface: &str) -> Result<Self, LiveError> {
        let (index, device_type) = interface_info(interface)?;
        let link = match device_type {
            ARPHRD_ETHER | ARPHRD_LOOPBACK => LinkType::Ethernet,
            ARPHRD_NONE => LinkType::RawIp,
            other => return Err(LiveError::LinkType(interface.into(), other)),
        };
        // The protocol travels in network byte order, here and in the address.
        let all = (libc::ETH_P_ALL as u16).to_be();
        let socket = Socket::new(
            Domain::PACKET,
            Type::RAW,
            Some(Protocol::from(i32::from(all))),
        )
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EPERM | libc::EACCES) => LiveError::Permission,
            _ => LiveError::Io(e),
        })?;
        // Every frame on the interface queues here until we read it: a burst
        // of loopback traffic (a benchmark next door) would overflow the
        // default ~200 KiB and drop frames. Best effort: the kernel caps it
        // at net.core.rmem_max.
        let _ = socket.set_recv_buffer_size(8 << 20);
        let link_address = libc::sockaddr_ll {
            sll_family: libc::AF_PACKET as u16,
            sll_protocol: all,
            sll_ifindex: index,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 0,
            sll_addr: [0; 8],
        };
        #[allow(unsafe_code)]
        // SAFETY: `sockaddr_ll` is one of this platform's `sockaddr_*` types,
        // which is what `view_as` requires (it asserts the size fits), and
        // the length given to `SockAddr::new` is exactly the size of the
        // `sockaddr_ll` just written into the storage.
        let address = unsafe {
            let mut storage = SockAddrStorage::zeroed();
            *storage.view_as::<libc::sockaddr_ll>() = link_address;
            SockAddr::new(storage, size_of::<libc::sockaddr_ll>() as libc::socklen_t)
        };
        socket.bind(&address).map_err(LiveError::Io)?;
        socket.set_read_timeout(Some(POLL)).map_err(LiveError::Io)?;
        let capture = Self {
            socket,
            link,
            skip_outgoing: device_type == ARPHRD_LOOPBACK,
            buf: vec![0; MAX_FRAME],
            skipped_outgoing: 0,
        };
        // Asking once turns on the kernel's stamping of every frame.
        let _ = capture.kernel_timestamp();
        Ok(capture)
    }
    // ANCHOR_END: open

    // ANCHOR: next_frame
    /// Waits up to [`POLL`] for the next frame; `None` when none came.
    pub fn next_frame(&mut self) -> io::Result<Option<Frame<'_>>> {
        loop {
            let mut from = libc::sockaddr_ll {
                sll_family: 0,
                sll_protocol: 0,
                sll_ifindex: 0,
                sll_hatype: 0,
                sll_pkttype: 0,
                sll_halen: 0,
                sll_addr: [0; 8],
            };
            let mut from_len = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            #[allow(unsafe_code)]
            // SAFETY: the buffer pointer and length describe `self.buf`,
            // writable and alive for the call; `from` is a `sockaddr_ll` and
            // `from_len` its size, so the kernel writes at most that much;
            // the descriptor belongs to `self.socket`, open for the call.
            // MSG_TRUNC makes the result the frame's real length, which may
            // exceed the buffer: only `min(n, len)` bytes were written.
            let n = unsafe {
                libc::recvfrom(
                    self.socket.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    libc::MSG_TRUNC,
                    (&raw mut from).cast(),
                    &mut from_len,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                return match e.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Ok(None),
                    io::ErrorKind::Interrupted => continue,
                    _ => Err(e),
                };
            }
            if self.skip_outgoing && from.sll_pkttype == libc::PACKET_OUTGOING {
                self.skipped_outgoing += 1;
                continue;
            }
            let orig_len = n as usize;
            let at = self.kernel_timestamp().unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
            });
            return Ok(Some(Frame {
                link: self.link,
                data: &self.buf[..orig_len.min(self.buf.len())],
                orig_len,
                at,
            }));
        }
    }
    // ANCHOR_END: next_frame

    /// When the kernel received the frame just read, as tcpdump stamps it.
    /// Reading the clock after `recvfrom` instead would stamp the moment
    /// this thread got round to it, which under load is later than the
    /// reply to that frame: a trace would draw the answer before the
    /// question. The first call turns the kernel's stamping on and may find
    /// no stamp; `None` then.
    fn kernel_timestamp(&self) -> Option<Duration> {
        let mut stamp = libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        };
        #[allow(unsafe_code)]
        // SAFETY: SIOCGSTAMP writes one `timeval` through its argument,
        // which points to `stamp`, a live and writable `timeval`; the
        // descriptor belongs to `self.socket`, open for the call.
        let result =
            unsafe { libc::ioctl(self.socket.as_raw_fd(), SIOCGSTAMP as _, &raw mut stamp) };
        let (secs, micros) = (u64::try_from(stamp.tv_sec), u32::try_from(stamp.tv_usec));
        match (result, secs, micros) {
            (0, Ok(secs), Ok(micros)) if secs > 0 => {
                Some(Duration::new(secs, micros.saturating_mul(1000)))
            }
            _ => None,
        }
    }
}

impl LiveCapture {
    /// Frames the kernel dropped since the last call (or since the socket
    /// opened) because this socket's queue was full: a reader too slow for
    /// the traffic. Asking resets the count, as `PACKET_STATISTICS` does.
    pub fn dropped(&self) -> io::Result<u32> {
        // struct tpacket_stats { tp_packets, tp_drops }, both unsigned int.
        let mut stats = [0u32; 2];
        let mut len = size_of_val(&stats) as libc::socklen_t;
        #[allow(unsafe_code)]
        // SAFETY: the pointer and `len` describe `stats`, live and writable
        // for the call and the size of a `tpacket_stats`; the kernel writes
        // at most `len` bytes and updates `len`; the descriptor belongs to
        // `self.socket`, open for the call.
        let result = unsafe {
            libc::getsockopt(
                self.socket.as_raw_fd(),
                libc::SOL_PACKET,
                PACKET_STATISTICS,
                stats.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if result != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stats[1])
    }
}

/// A handle on a capture's socket that sets its kernel filter: a second
/// descriptor for the same socket, so it can be used while another thread
/// reads frames.
pub struct PortFilter {
    socket: Socket,
}

impl LiveCapture {
    /// A handle to narrow this capture to some ports from another thread.
    pub fn port_filter(&self) -> io::Result<PortFilter> {
        Ok(PortFilter {
            socket: self.socket.try_clone()?,
        })
    }
}

/// The most ports one filter compares: each costs four instructions (source
/// and destination, IPv4 and IPv6), and a jump in classic BPF reaches at
/// most 255 instructions ahead, which the ICMP test's jump to "keep" at the
/// very end must span.
pub const MAX_FILTER_PORTS: usize = 56;

impl PortFilter {
    /// From now on the kernel queues only TCP and UDP packets to or from
    /// one of `ports`, and ICMP errors (which may be about them); the rest
    /// of the interface's traffic never reaches this socket, however busy
    /// it is. This is what `tcpdump 'port 8080'` asks of the kernel: a
    /// classic BPF program, run on every frame before it is queued.
    /// Ethernet framing (what `lo` has) is assumed.
    pub fn keep_only(&self, ports: &[u16]) -> io::Result<()> {
        if ports.len() > MAX_FILTER_PORTS {
            return Err(io::Error::other(format!(
                "a filter compares at most {MAX_FILTER_PORTS} ports"
            )));
        }
        let program: Vec<socket2::SockFilter> = port_program(ports)
            .ok_or_else(|| io::Error::other("the port filter's jumps do not fit"))?
            .into_iter()
            .map(|(op, yes, no, k)| socket2::SockFilter::new(op, yes, no, k))
            .collect();
        self.socket.attach_filter(&program)
    }
}

/// Where a filter instruction jumps when its test holds or fails.
#[derive(Clone, Copy)]
enum Go {
    Next,
    Keep,
    Drop,
    /// The instruction at this index.
    To(usize),
}

/// The filter program for [`PortFilter::keep_only`]: `(opcode, jump if
/// true, jump if false, k)` per instruction, as `struct sock_filter` has
/// them. It is written with jumps that name their targets; offsets are
/// worked out once the whole program is laid out, and `None` says one does
/// not fit in its byte.
fn port_program(ports: &[u16]) -> Option<Vec<(u16, u8, u8, u32)>> {
    // Classic BPF opcodes, from linux/filter.h.
    const LDH_ABS: u16 = 0x28; // A = 16-bit word at [k]
    const LDB_ABS: u16 = 0x30; // A = byte at [k]
    const LDX_IP_LEN: u16 = 0xb1; // X = 4 * ([k] & 0xf): the IPv4 header length
    const LDH_IND: u16 = 0x48; // A = 16-bit word at [X + k]
    const JEQ: u16 = 0x15; // A == k ?
    const JSET: u16 = 0x45; // A & k != 0 ?
    const RET: u16 = 0x06;
    // Offsets in an Ethernet frame.
    const ETHERTYPE: u32 = 12;
    const IPV4: u32 = 14;
    const IPV4_PROTOCOL: u32 = IPV4 + 9;
    const IPV4_FRAGMENT: u32 = IPV4 + 6;
    const IPV6_NEXT: u32 = 14 + 6;
    const IPV6_PORTS: u32 = 14 + 40;
    let (tcp, udp, icmp, icmpv6) = (6, 17, 1, 58);

    // The dispatch on EtherType and protocol comes first (13
    // instructions), then a block per IP version comparing the source port,
    // then the destination port, with each of `ports`.
    let n = ports.len();
    let (fragment, ipv6, ipv4_ports) = (6, 8, 13);
    let ipv6_ports = ipv4_ports + 2 * n + 4;
    let mut code: Vec<(u16, u32, Go, Go)> = vec![
        (LDH_ABS, ETHERTYPE, Go::Next, Go::Next),
        (JEQ, 0x0800, Go::Next, Go::To(ipv6)),
        (LDB_ABS, IPV4_PROTOCOL, Go::Next, Go::Next),
        (JEQ, icmp, Go::Keep, Go::Next),
        (JEQ, tcp, Go::To(fragment), Go::Next),
        (JEQ, udp, Go::To(fragment), Go::Drop),
        // Only an IPv4 packet's first fragment holds the ports.
        (LDH_ABS, IPV4_FRAGMENT, Go::Next, Go::Next),
        (JSET, 0x1fff, Go::Drop, Go::To(ipv4_ports)),
        (JEQ, 0x86dd, Go::Next, Go::Drop),
        (LDB_ABS, IPV6_NEXT, Go::Next, Go::Next),
        (JEQ, icmpv6, Go::Keep, Go::Next),
        (JEQ, tcp, Go::To(ipv6_ports), Go::Next),
        (JEQ, udp, Go::To(ipv6_ports), Go::Drop),
    ];
    let compare = |code: &mut Vec<(u16, u32, Go, Go)>| {
        for &port in ports {
            code.push((JEQ, u32::from(port), Go::Keep, Go::Next));
        }
    };
    // IPv4: X = the header's length, then the ports just past it.
    code.push((LDX_IP_LEN, IPV4, Go::Next, Go::Next));
    code.push((LDH_IND, IPV4, Go::Next, Go::Next));
    compare(&mut code);
    code.push((LDH_IND, IPV4 + 2, Go::Next, Go::Next));
    compare(&mut code);
    code.push((RET, 0, Go::Next, Go::Next));
    debug_assert_eq!(code.len(), ipv6_ports);
    // IPv6: the ports right after the fixed header (extension headers are
    // rare on lo, and such packets are not kept).
    code.push((LDH_ABS, IPV6_PORTS, Go::Next, Go::Next));
    compare(&mut code);
    code.push((LDH_ABS, IPV6_PORTS + 2, Go::Next, Go::Next));
    compare(&mut code);
    code.push((RET, 0, Go::Next, Go::Next));
    let drop = code.len() - 1;
    code.push((RET, MAX_FRAME as u32, Go::Next, Go::Next));
    let keep = code.len() - 1;
    let offset = |from: usize, go: Go| -> Option<u8> {
        let to = match go {
            Go::Next => from + 1,
            Go::Keep => keep,
            Go::Drop => drop,
            Go::To(at) => at,
        };
        u8::try_from(to.checked_sub(from + 1)?).ok()
    };
    code.iter()
        .enumerate()
        .map(|(i, &(op, k, yes, no))| Some((op, offset(i, yes)?, offset(i, no)?, k)))
        .collect()
}

/// `PACKET_STATISTICS` from linux/if_packet.h.
const PACKET_STATISTICS: libc::c_int = 6;

/// `SIOCGSTAMP` (`SIOCGSTAMP_OLD` in linux/sockios.h, the same request on
/// 64-bit targets), which the libc crate does not name.
const SIOCGSTAMP: u32 = 0x8906;

/// The interface's index and device type, from sysfs.
fn interface_info(name: &str) -> Result<(i32, u32), LiveError> {
    let read = |file: &str| -> Result<String, LiveError> {
        if name.is_empty() || name.contains('/') {
            return Err(LiveError::NoInterface(name.into()));
        }
        fs::read_to_string(format!("/sys/class/net/{name}/{file}")).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => LiveError::NoInterface(name.into()),
            _ => LiveError::Io(e),
        })
    };
    let bad = |e: std::num::ParseIntError| LiveError::Io(io::Error::other(e));
    let index: i32 = read("ifindex")?.trim().parse().map_err(bad)?;
    let device_type: u32 = read("type")?.trim().parse().map_err(bad)?;
    Ok((index, device_type))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::craft;
    use crate::wire::flags;

    /// Runs a classic BPF program over `frame` as the kernel does, for the
    /// opcodes `port_program` uses: the length it keeps (0: dropped). A load
    /// past the end of the frame drops it, as in the kernel.
    fn run(program: &[(u16, u8, u8, u32)], frame: &[u8]) -> u32 {
        let byte = |at: u32| frame.get(at as usize).map(|&b| u32::from(b));
        let half = |at: u32| Some(byte(at)? << 8 | byte(at + 1)?);
        let step = || -> Option<u32> {
            let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
            loop {
                let (op, yes, no, k) = program[pc];
                let mut next = pc + 1;
                match op {
                    0x28 => a = half(k)?,
                    0x30 => a = byte(k)?,
                    0xb1 => x = 4 * (byte(k)? & 0xf),
                    0x48 => a = half(x + k)?,
                    0x15 | 0x45 => {
                        let taken = if op == 0x15 { a == k } else { a & k != 0 };
                        next += usize::from(if taken { yes } else { no });
                    }
                    0x06 => return Some(k),
                    other => panic!("opcode {other:#x} not in the program"),
                }
                pc = next;
            }
        };
        step().unwrap_or(0)
    }

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_port_filter_keeps_the_ports_and_icmp_and_nothing_else() {
        let program = port_program(&[8080, 9090]).unwrap();
        let (client, server) = (addr("127.0.0.1:40000"), addr("127.0.0.1:8080"));
        let (client6, other) = (addr("[::1]:40000"), addr("127.0.0.1:5353"));
        let kept = [
            craft::syn(client, server),
            craft::tcp(server, client, flags::ACK, b"Echo"),
            craft::udp(client, addr("127.0.0.1:9090"), b"hi"),
            craft::udp(client6, addr("[::1]:9090"), b"hi"),
            craft::tcp(addr("[::1]:8080"), client6, flags::ACK, b""),
            craft::port_unreachable(&craft::udp(client, other, b"hi")),
            craft::ping(client.ip(), server.ip()),
        ];
        for frame in &kept {
            assert_eq!(run(&program, frame), MAX_FRAME as u32, "{frame:02x?}");
        }
        let mut fragment = craft::udp(client, addr("127.0.0.1:9090"), b"hi");
        fragment[14 + 7] = 8; // a fragment offset: no ports in it
        let dropped = [
            craft::udp(client, other, b"hi"),
            craft::syn(client6, addr("[::1]:22")),
            craft::arp(),
            fragment,
            vec![0; 10],
        ];
        for frame in &dropped {
            assert_eq!(run(&program, frame), 0, "{frame:02x?}");
        }
    }

    #[test]
    fn every_jump_fits_up_to_the_most_ports() {
        for n in [0, 1, MAX_FILTER_PORTS] {
            let ports: Vec<u16> = (1..=n as u16).collect();
            let program = port_program(&ports).unwrap();
            assert_eq!(program.len(), 21 + 4 * n);
        }
        let too_many: Vec<u16> = (1..=80).collect();
        assert_eq!(port_program(&too_many), None);
    }
}
