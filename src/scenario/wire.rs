//! IP/UDP/TCP/ICMP encoding with checksums, fragmentation, tunnels and
//! link-layer framing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{Body, Packet};

const PROTO_ICMP: u8 = 1;
const PROTO_IPIP: u8 = 4;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_IPV6_IN_IP: u8 = 41;
const PROTO_FRAG6: u8 = 44;
const PROTO_GRE: u8 = 47;
const PROTO_ICMPV6: u8 = 58;
const TTL: u8 = 64;
/// Bytes of the offending datagram quoted in ICMP errors (IP header included).
const ICMP_QUOTE_MAX: usize = 128;

/// Link-layer encapsulation of a capture interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// DLT 1, Ethernet II.
    Ethernet,
    /// DLT 1 with one 802.1Q tag (VLAN id).
    Vlan(u16),
    /// DLT 1 with an 802.1ad outer tag and an 802.1Q inner tag.
    QinQ(u16, u16),
    /// DLT 113, Linux cooked capture v1 (`tcpdump -i any`).
    Sll,
    /// DLT 276, Linux cooked capture v2.
    Sll2,
    /// DLT 101, raw IP (version from the first nibble).
    Raw,
    /// DLT 228, raw IPv4.
    RawIpv4,
    /// DLT 229, raw IPv6.
    RawIpv6,
    /// DLT 0, BSD loopback with a 4-byte AF value in the writer's byte order.
    Null,
}

impl Link {
    /// The pcap LINKTYPE number.
    pub fn dlt(&self) -> u32 {
        match self {
            Link::Ethernet | Link::Vlan(_) | Link::QinQ(..) => 1,
            Link::Sll => 113,
            Link::Sll2 => 276,
            Link::Raw => 101,
            Link::RawIpv4 => 228,
            Link::RawIpv6 => 229,
            Link::Null => 0,
        }
    }

    /// Prefix `ip` with this link's header. `big_endian` is the byte order of
    /// the file (used by [`Link::Null`]'s host-endian AF value).
    pub fn frame(&self, ip: &[u8], src: IpAddr, dst: IpAddr, big_endian: bool) -> Vec<u8> {
        let v6 = ip.first().is_some_and(|b| b >> 4 == 6);
        let ethertype: u16 = if v6 { 0x86DD } else { 0x0800 };
        let mut out = Vec::with_capacity(ip.len() + 24);
        match *self {
            Link::Ethernet => {
                ethernet_macs(&mut out, src, dst);
                out.extend_from_slice(&ethertype.to_be_bytes());
            }
            Link::Vlan(id) => {
                ethernet_macs(&mut out, src, dst);
                push_tag(&mut out, 0x8100, id);
                out.extend_from_slice(&ethertype.to_be_bytes());
            }
            Link::QinQ(outer, inner) => {
                ethernet_macs(&mut out, src, dst);
                push_tag(&mut out, 0x88A8, outer);
                push_tag(&mut out, 0x8100, inner);
                out.extend_from_slice(&ethertype.to_be_bytes());
            }
            Link::Sll => {
                out.extend_from_slice(&packet_type(src).to_be_bytes());
                out.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
                out.extend_from_slice(&6u16.to_be_bytes());
                out.extend_from_slice(&mac_for(src));
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&ethertype.to_be_bytes());
            }
            Link::Sll2 => {
                out.extend_from_slice(&ethertype.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&2u32.to_be_bytes()); // ifindex
                out.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
                out.push(packet_type(src) as u8);
                out.push(6);
                out.extend_from_slice(&mac_for(src));
                out.extend_from_slice(&[0, 0]);
            }
            Link::Raw | Link::RawIpv4 | Link::RawIpv6 => {}
            Link::Null => {
                // AF_INET = 2; AF_INET6 = 24 (the BSD value Wireshark accepts).
                let af: u32 = if v6 { 24 } else { 2 };
                if big_endian {
                    out.extend_from_slice(&af.to_be_bytes());
                } else {
                    out.extend_from_slice(&af.to_le_bytes());
                }
            }
        }
        out.extend_from_slice(ip);
        out
    }
}

/// SLL packet type: 4 (outgoing) for our "capturing host" addresses, else 0.
fn packet_type(src: IpAddr) -> u16 {
    let local: [IpAddr; 2] = [
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 10)),
    ];
    if local.contains(&src) { 4 } else { 0 }
}

fn push_tag(out: &mut Vec<u8>, tpid: u16, id: u16) {
    out.extend_from_slice(&tpid.to_be_bytes());
    out.extend_from_slice(&(id & 0x0FFF).to_be_bytes());
}

fn ethernet_macs(out: &mut Vec<u8>, src: IpAddr, dst: IpAddr) {
    out.extend_from_slice(&mac_for(dst));
    out.extend_from_slice(&mac_for(src));
}

/// Deterministic locally administered MAC derived from an IP address.
pub fn mac_for(ip: IpAddr) -> [u8; 6] {
    let tail = match ip {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(a) => {
            let o = a.octets();
            [o[12], o[13], o[14], o[15]]
        }
    };
    [0x02, 0x00, tail[0], tail[1], tail[2], tail[3]]
}

/// RFC 1071 one's-complement sum folded to 16 bits (not inverted).
fn sum16(data: &[u8], mut acc: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc = acc.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
    }
    if let [last] = chunks.remainder() {
        acc = acc.wrapping_add(u32::from(*last) << 8);
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xFFFF {
        acc = (acc & 0xFFFF) + (acc >> 16);
    }
    acc as u16
}

/// Internet checksum of `data` (the value to store in a header).
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum16(data, 0))
}

/// Transport checksum over the IPv4/IPv6 pseudo-header plus `segment`.
pub fn transport_checksum(src: IpAddr, dst: IpAddr, proto: u8, segment: &[u8]) -> u16 {
    let mut acc = 0u32;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            acc = sum16(&s.octets(), acc);
            acc = sum16(&d.octets(), acc);
            acc = acc.wrapping_add(u32::from(proto));
            acc = acc.wrapping_add(segment.len() as u32);
        }
        _ => {
            acc = sum16(&v6_of(src).octets(), acc);
            acc = sum16(&v6_of(dst).octets(), acc);
            let len = segment.len() as u32;
            acc = acc.wrapping_add(len >> 16).wrapping_add(len & 0xFFFF);
            acc = acc.wrapping_add(u32::from(proto));
        }
    }
    !fold(sum16(segment, acc))
}

fn v6_of(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V6(a) => a,
        IpAddr::V4(a) => a.to_ipv6_mapped(),
    }
}

fn v4_of(ip: IpAddr) -> Ipv4Addr {
    match ip {
        IpAddr::V4(a) => a,
        IpAddr::V6(a) => a.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED),
    }
}

/// UDP header + payload with a valid checksum.
pub fn udp_segment(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let len = (8 + payload.len()).min(0xFFFF) as u16;
    let mut seg = Vec::with_capacity(8 + payload.len());
    seg.extend_from_slice(&src.port().to_be_bytes());
    seg.extend_from_slice(&dst.port().to_be_bytes());
    seg.extend_from_slice(&len.to_be_bytes());
    seg.extend_from_slice(&[0, 0]);
    seg.extend_from_slice(payload);
    let mut sum = transport_checksum(src.ip(), dst.ip(), PROTO_UDP, &seg);
    if sum == 0 {
        sum = 0xFFFF;
    }
    seg[6..8].copy_from_slice(&sum.to_be_bytes());
    seg
}

/// TCP header (with an MSS option on SYN) + payload with a valid checksum.
pub fn tcp_segment(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let syn = flags & super::tcp_flags::SYN != 0;
    let header_len: usize = if syn { 24 } else { 20 };
    let mut seg = Vec::with_capacity(header_len + payload.len());
    seg.extend_from_slice(&src.port().to_be_bytes());
    seg.extend_from_slice(&dst.port().to_be_bytes());
    seg.extend_from_slice(&seq.to_be_bytes());
    seg.extend_from_slice(&ack.to_be_bytes());
    seg.push(((header_len / 4) as u8) << 4);
    seg.push(flags);
    seg.extend_from_slice(&65535u16.to_be_bytes());
    seg.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    if syn {
        seg.extend_from_slice(&[2, 4, 0x05, 0xB4]); // MSS 1460
    }
    seg.extend_from_slice(payload);
    let sum = transport_checksum(src.ip(), dst.ip(), PROTO_TCP, &seg);
    seg[16..18].copy_from_slice(&sum.to_be_bytes());
    seg
}

/// IPv4 header with checksum. `frag` holds the flags + fragment offset field.
pub fn ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    id: u16,
    payload_len: usize,
    frag: u16,
) -> [u8; 20] {
    let total = (20 + payload_len).min(0xFFFF) as u16;
    let mut h = [0u8; 20];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[6..8].copy_from_slice(&frag.to_be_bytes());
    h[8] = TTL;
    h[9] = proto;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    let sum = checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h
}

/// IPv6 fixed header.
pub fn ipv6_header(src: Ipv6Addr, dst: Ipv6Addr, next: u8, payload_len: usize) -> [u8; 40] {
    let mut h = [0u8; 40];
    h[0] = 0x60;
    h[4..6].copy_from_slice(&(payload_len.min(0xFFFF) as u16).to_be_bytes());
    h[6] = next;
    h[7] = TTL;
    h[8..24].copy_from_slice(&src.octets());
    h[24..40].copy_from_slice(&dst.octets());
    h
}

/// Wrap a transport payload in an IPv4 or IPv6 header chosen by `src`'s family.
pub fn ip_packet(src: IpAddr, dst: IpAddr, proto: u8, id: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 40);
    if src.is_ipv4() {
        out.extend_from_slice(&ipv4_header(
            v4_of(src),
            v4_of(dst),
            proto,
            id,
            payload.len(),
            0x4000,
        ));
    } else {
        out.extend_from_slice(&ipv6_header(v6_of(src), v6_of(dst), proto, payload.len()));
    }
    out.extend_from_slice(payload);
    out
}

/// Encodes packets to IP bytes, numbering IPv4 identification fields.
#[derive(Clone, Debug)]
pub struct IpEncoder {
    next_id: u16,
}

impl Default for IpEncoder {
    fn default() -> Self {
        IpEncoder::new(0x1000)
    }
}

impl IpEncoder {
    /// Encoder whose first IPv4 identification is `first_id`.
    pub fn new(first_id: u16) -> IpEncoder {
        IpEncoder { next_id: first_id }
    }

    fn take_id(&mut self) -> u16 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    /// The complete IP packet for `p`.
    pub fn encode(&mut self, p: &Packet) -> Vec<u8> {
        match &p.body {
            Body::Raw(bytes) => bytes.clone(),
            Body::Udp(payload) => {
                let seg = udp_segment(p.src, p.dst, payload);
                let id = self.take_id();
                ip_packet(p.src.ip(), p.dst.ip(), PROTO_UDP, id, &seg)
            }
            Body::Tcp {
                seq,
                ack,
                flags,
                payload,
            } => {
                let seg = tcp_segment(p.src, p.dst, *seq, *ack, *flags, payload);
                let id = self.take_id();
                ip_packet(p.src.ip(), p.dst.ip(), PROTO_TCP, id, &seg)
            }
            Body::IcmpPortUnreachable { quoted } => {
                let inner = self.encode(quoted);
                let take = inner.len().min(ICMP_QUOTE_MAX);
                let quote = inner.get(..take).unwrap_or(&inner);
                let id = self.take_id();
                icmp_unreachable(p.src.ip(), p.dst.ip(), id, quote)
            }
        }
    }
}

fn icmp_unreachable(src: IpAddr, dst: IpAddr, id: u16, quote: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(8 + quote.len());
    if src.is_ipv4() {
        msg.extend_from_slice(&[3, 3, 0, 0, 0, 0, 0, 0]);
        msg.extend_from_slice(quote);
        let sum = checksum(&msg);
        msg[2..4].copy_from_slice(&sum.to_be_bytes());
        ip_packet(src, dst, PROTO_ICMP, id, &msg)
    } else {
        msg.extend_from_slice(&[1, 4, 0, 0, 0, 0, 0, 0]);
        msg.extend_from_slice(quote);
        let sum = transport_checksum(src, dst, PROTO_ICMPV6, &msg);
        msg[2..4].copy_from_slice(&sum.to_be_bytes());
        ip_packet(src, dst, PROTO_ICMPV6, id, &msg)
    }
}

/// Split a UDP/TCP packet into IP fragments of at most `mtu` bytes each
/// (IPv4 flags/offset, or an IPv6 Fragment extension header). Fragments are
/// spaced 10 µs apart; `reverse` emits them last-fragment-first.
pub fn fragment(p: &Packet, mtu: usize, ident: u32, reverse: bool) -> Vec<Packet> {
    let (proto, transport) = match &p.body {
        Body::Udp(payload) => (PROTO_UDP, udp_segment(p.src, p.dst, payload)),
        Body::Tcp {
            seq,
            ack,
            flags,
            payload,
        } => (
            PROTO_TCP,
            tcp_segment(p.src, p.dst, *seq, *ack, *flags, payload),
        ),
        _ => return vec![p.clone()],
    };
    let v4 = p.src.is_ipv4();
    let overhead = if v4 { 20 } else { 48 };
    let chunk = (mtu.saturating_sub(overhead) / 8 * 8).max(8);
    let mut frags = Vec::new();
    let mut offset = 0usize;
    while offset < transport.len() {
        let end = (offset + chunk).min(transport.len());
        let more = end < transport.len();
        let part = transport.get(offset..end).unwrap_or(&[]);
        let ip = if v4 {
            let field = ((offset / 8) as u16 & 0x1FFF) | if more { 0x2000 } else { 0 };
            let mut out = ipv4_header(
                v4_of(p.src.ip()),
                v4_of(p.dst.ip()),
                proto,
                ident as u16,
                part.len(),
                field,
            )
            .to_vec();
            out.extend_from_slice(part);
            out
        } else {
            let mut ext = vec![proto, 0];
            let field = (((offset / 8) as u16) << 3) | u16::from(more);
            ext.extend_from_slice(&field.to_be_bytes());
            ext.extend_from_slice(&ident.to_be_bytes());
            ext.extend_from_slice(part);
            let mut out =
                ipv6_header(v6_of(p.src.ip()), v6_of(p.dst.ip()), PROTO_FRAG6, ext.len()).to_vec();
            out.extend_from_slice(&ext);
            out
        };
        frags.push(ip);
        offset = end;
    }
    if reverse {
        frags.reverse();
    }
    frags
        .into_iter()
        .enumerate()
        .map(|(i, ip)| Packet {
            time_ns: p.time_ns + i as i64 * 10_000,
            src: p.src,
            dst: p.dst,
            body: Body::Raw(ip),
            interface: p.interface,
        })
        .collect()
}

/// Tunnel flavours for [`tunnel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tunnel {
    /// IP-in-IP (protocol 4; 41 for an IPv6 inner packet).
    IpIp,
    /// GRE (protocol 47) with protocol type 0x0800 / 0x86DD.
    Gre,
}

/// Wrap `inner` (encoded with `enc`) in an outer IPv4 header from `outer_src`
/// to `outer_dst`. The result is a [`Body::Raw`] packet addressed to the
/// outer endpoints (port 0).
pub fn tunnel(
    enc: &mut IpEncoder,
    inner: &Packet,
    kind: Tunnel,
    outer_src: Ipv4Addr,
    outer_dst: Ipv4Addr,
) -> Packet {
    let inner_ip = enc.encode(inner);
    let inner_v6 = inner_ip.first().is_some_and(|b| b >> 4 == 6);
    let (proto, payload) = match kind {
        Tunnel::IpIp => (
            if inner_v6 {
                PROTO_IPV6_IN_IP
            } else {
                PROTO_IPIP
            },
            inner_ip,
        ),
        Tunnel::Gre => {
            let ethertype: u16 = if inner_v6 { 0x86DD } else { 0x0800 };
            let mut gre = vec![0, 0];
            gre.extend_from_slice(&ethertype.to_be_bytes());
            gre.extend_from_slice(&inner_ip);
            (PROTO_GRE, gre)
        }
    };
    let id = enc.take_id();
    let ip = ip_packet(
        IpAddr::V4(outer_src),
        IpAddr::V4(outer_dst),
        proto,
        id,
        &payload,
    );
    Packet {
        time_ns: inner.time_ns,
        src: SocketAddr::new(IpAddr::V4(outer_src), 0),
        dst: SocketAddr::new(IpAddr::V4(outer_dst), 0),
        body: Body::Raw(ip),
        interface: inner.interface,
    }
}

#[cfg(test)]
mod tests {
    use super::super::sa;
    use super::*;

    fn verify_ipv4_header(ip: &[u8]) -> bool {
        ip.get(..20).is_some_and(|h| checksum(h) == 0)
    }

    #[test]
    fn ipv4_udp_checksums_verify() {
        let p = Packet::udp(
            0,
            sa("10.0.0.1:5060"),
            sa("10.0.0.2:5060"),
            b"hello!!".to_vec(),
        );
        let ip = IpEncoder::new(7).encode(&p);
        assert_eq!(ip.len(), 20 + 8 + 7);
        assert!(verify_ipv4_header(&ip));
        assert_eq!(&ip[4..6], &[0, 7]);
        // Recomputing over a segment whose checksum is filled must give 0.
        let seg = &ip[20..];
        let acc = transport_checksum(p.src.ip(), p.dst.ip(), PROTO_UDP, seg);
        assert_eq!(acc, 0);
    }

    #[test]
    fn known_ipv4_header_checksum() {
        // Classic example: 4500 0073 0000 4000 4011 .... c0a8 0001 c0a8 00c7 -> b861
        let h = ipv4_header(
            Ipv4Addr::new(192, 168, 0, 1),
            Ipv4Addr::new(192, 168, 0, 199),
            17,
            0,
            0x73 - 20,
            0x4000,
        );
        assert_eq!(&h[10..12], &[0xB8, 0x61]);
    }

    #[test]
    fn ipv6_udp_and_tcp_checksums_verify() {
        let p = Packet::udp(
            0,
            sa("[2001:db8::1]:5060"),
            sa("[2001:db8::2]:5062"),
            vec![1, 2, 3],
        );
        let ip = IpEncoder::default().encode(&p);
        assert_eq!(ip[0] >> 4, 6);
        assert_eq!(ip[6], PROTO_UDP);
        assert_eq!(
            transport_checksum(p.src.ip(), p.dst.ip(), PROTO_UDP, &ip[40..]),
            0
        );
        let t = Packet::tcp(0, p.src, p.dst, 1, 0, super::super::tcp_flags::SYN, vec![]);
        let ip = IpEncoder::default().encode(&t);
        assert_eq!(ip.len(), 40 + 24);
        assert_eq!(
            transport_checksum(t.src.ip(), t.dst.ip(), PROTO_TCP, &ip[40..]),
            0
        );
    }

    #[test]
    fn icmp_quotes_and_checksums() {
        let inner = Packet::udp(
            0,
            sa("192.0.2.10:5060"),
            sa("203.0.113.9:5060"),
            vec![b'x'; 300],
        );
        let p = Packet::icmp_port_unreachable(1, sa("203.0.113.9:0"), inner);
        let ip = IpEncoder::default().encode(&p);
        assert!(verify_ipv4_header(&ip));
        assert_eq!(&ip[20..22], &[3, 3]);
        assert_eq!(checksum(&ip[20..]), 0);
        assert_eq!(ip.len(), 20 + 8 + ICMP_QUOTE_MAX);
        let inner6 = Packet::udp(
            0,
            sa("[2001:db8::1]:5060"),
            sa("[2001:db8::9]:5060"),
            vec![0; 10],
        );
        let p6 = Packet::icmp_port_unreachable(1, sa("[2001:db8::9]:0"), inner6);
        let ip6 = IpEncoder::default().encode(&p6);
        assert_eq!(&ip6[40..42], &[1, 4]);
        assert_eq!(
            transport_checksum(p6.src.ip(), p6.dst.ip(), PROTO_ICMPV6, &ip6[40..]),
            0
        );
    }

    #[test]
    fn ipv4_fragments_reassemble() {
        let payload: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        let p = Packet::udp(0, sa("10.0.0.1:5060"), sa("10.0.0.2:5060"), payload.clone());
        let frags = fragment(&p, 1500, 0x4242, true);
        assert_eq!(frags.len(), 3);
        let mut parts: Vec<(usize, Vec<u8>, bool)> = Vec::new();
        for f in &frags {
            let Body::Raw(ip) = &f.body else { panic!() };
            assert!(verify_ipv4_header(ip));
            assert!(ip.len() <= 1500);
            let field = u16::from_be_bytes([ip[6], ip[7]]);
            parts.push((
                usize::from(field & 0x1FFF) * 8,
                ip[20..].to_vec(),
                field & 0x2000 != 0,
            ));
        }
        assert!(!parts[0].2, "reversed: last fragment first");
        parts.sort_by_key(|x| x.0);
        let whole: Vec<u8> = parts.iter().flat_map(|x| x.1.clone()).collect();
        assert_eq!(&whole[8..], &payload[..]);
        assert_eq!(
            transport_checksum(p.src.ip(), p.dst.ip(), PROTO_UDP, &whole),
            0
        );
    }

    #[test]
    fn ipv6_fragments_have_extension_header() {
        let p = Packet::udp(
            0,
            sa("[2001:db8::1]:5060"),
            sa("[2001:db8::2]:5060"),
            vec![7; 2000],
        );
        let frags = fragment(&p, 1280, 99, false);
        assert_eq!(frags.len(), 2);
        let Body::Raw(ip) = &frags[0].body else {
            panic!()
        };
        assert_eq!(ip[6], PROTO_FRAG6);
        assert_eq!(ip[40], PROTO_UDP);
        assert_eq!(ip[43] & 1, 1, "more fragments");
        assert_eq!(&ip[44..48], &99u32.to_be_bytes());
        assert_eq!((ip.len() - 48) % 8, 0);
    }

    #[test]
    fn gre_and_ipip_wrap() {
        let mut enc = IpEncoder::default();
        let inner = Packet::udp(0, sa("10.0.0.1:5060"), sa("10.0.0.2:5060"), vec![1]);
        let o = Ipv4Addr::new(198, 51, 100, 1);
        let d = Ipv4Addr::new(198, 51, 100, 2);
        let Body::Raw(gre) = tunnel(&mut enc, &inner, Tunnel::Gre, o, d).body else {
            panic!()
        };
        assert_eq!(gre[9], PROTO_GRE);
        assert_eq!(&gre[20..24], &[0, 0, 8, 0]);
        assert_eq!(gre[24], 0x45);
        let Body::Raw(ipip) = tunnel(&mut enc, &inner, Tunnel::IpIp, o, d).body else {
            panic!()
        };
        assert_eq!(ipip[9], PROTO_IPIP);
        assert!(verify_ipv4_header(&ipip) && verify_ipv4_header(&ipip[20..]));
    }

    #[test]
    fn link_headers_and_dlts() {
        let ip = [0x45u8; 20];
        let s: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(Link::Ethernet.frame(&ip, s, s, false).len(), 34);
        assert_eq!(
            Link::Vlan(5).frame(&ip, s, s, false)[12..16],
            [0x81, 0, 0, 5]
        );
        assert_eq!(Link::QinQ(1, 2).frame(&ip, s, s, false).len(), 42);
        assert_eq!(Link::Sll.frame(&ip, s, s, false).len(), 36);
        assert_eq!(Link::Sll2.frame(&ip, s, s, false).len(), 40);
        assert_eq!(Link::Null.frame(&ip, s, s, false)[..4], [2, 0, 0, 0]);
        assert_eq!(Link::Null.frame(&ip, s, s, true)[..4], [0, 0, 0, 2]);
        let dlts: Vec<u32> = [
            Link::Sll,
            Link::Sll2,
            Link::Raw,
            Link::RawIpv4,
            Link::RawIpv6,
            Link::Null,
        ]
        .iter()
        .map(Link::dlt)
        .collect();
        assert_eq!(dlts, vec![113, 276, 101, 228, 229, 0]);
    }
}
