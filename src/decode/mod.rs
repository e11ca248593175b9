//! Frames -> packet views: link layer, IPv4/IPv6 (lax, so snaplen-cut packets still yield headers),
//! tunnels (IP-in-IP, GRE, ERSPAN, GTP-U), UDP, TCP, SCTP, ICMP errors. Zero-copy: a `Packet` borrows the
//! frame. Reassembly of IP fragments is stateful and lives in `defrag`.

pub mod defrag;
pub mod link;

use std::net::{IpAddr, SocketAddr};

use etherparse::LaxIpSlice;

/// A decoded packet, borrowing the frame bytes.
#[derive(Debug)]
pub struct Packet<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub transport: Transport<'a>,
    /// The IP packet claims more bytes than were captured (snaplen).
    pub truncated: bool,
    /// Found inside a tunnel (IP-in-IP, GRE, ERSPAN, GTP-U).
    pub tunnelled: bool,
}

#[derive(Debug)]
pub enum Transport<'a> {
    Udp {
        sport: u16,
        dport: u16,
        payload: &'a [u8],
    },
    Tcp {
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &'a [u8],
    },
    Sctp {
        sport: u16,
        dport: u16,
        /// User data of the first DATA chunk (SIP over SCTP sends one message per chunk, or one message
        /// fragmented over several chunks).
        payload: &'a [u8],
        /// That chunk's B (0x02, first fragment) and E (0x01, last fragment) flags, and its stream.
        flags: u8,
        stream: u16,
    },
    /// ICMP/ICMPv6 error quoting the packet that caused it.
    IcmpError(IcmpError),
    /// Other ICMP (echo...): normal traffic.
    Icmp,
    /// One IP fragment, to be reassembled by `defrag`.
    Fragment(Fragment<'a>),
    /// Another IP protocol.
    Other(u8),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IcmpError {
    pub v6: bool,
    pub icmp_type: u8,
    pub code: u8,
    /// The quoted packet's protocol and addresses, when the quote is long enough.
    pub quoted: Option<Quoted>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quoted {
    pub protocol: u8,
    pub src: SocketAddr,
    pub dst: SocketAddr,
}

impl IcmpError {
    /// "port unreachable" and friends, in words.
    pub fn describe(&self) -> String {
        let what = match (self.v6, self.icmp_type, self.code) {
            (false, 3, 0) => "network unreachable",
            (false, 3, 1) => "host unreachable",
            (false, 3, 2) => "protocol unreachable",
            (false, 3, 3) => "port unreachable",
            (false, 3, 4) => "fragmentation needed",
            (false, 3, 9 | 10 | 13) => "administratively prohibited",
            (false, 3, _) => "destination unreachable",
            (false, 11, _) => "time exceeded",
            (false, 12, _) => "parameter problem",
            (true, 1, 1) => "administratively prohibited",
            (true, 1, 3) => "address unreachable",
            (true, 1, 4) => "port unreachable",
            (true, 1, _) => "destination unreachable",
            (true, 2, _) => "packet too big",
            (true, 3, _) => "time exceeded",
            (true, 4, _) => "parameter problem",
            _ => "ICMP error",
        };
        what.to_string()
    }
}

#[derive(Debug)]
pub struct Fragment<'a> {
    pub v6: bool,
    pub id: u32,
    /// Byte offset of this fragment's data in the original payload.
    pub offset: u32,
    pub more: bool,
    pub protocol: u8,
    pub payload: &'a [u8],
}

#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    UnsupportedLink(u32),
    /// A link/IP header cut short; the name says which.
    Truncated(&'static str),
    Malformed(&'static str),
}

impl DecodeError {
    pub fn message(&self) -> String {
        match self {
            DecodeError::UnsupportedLink(n) => format!("unsupported link type {n}"),
            DecodeError::Truncated(what) => format!("{what} cut short"),
            DecodeError::Malformed(what) => format!("malformed {what}"),
        }
    }
}

/// Result of looking at one frame.
pub enum Decoded<'a> {
    Packet(Packet<'a>),
    /// Not IP (ARP, LLDP, ...): counted, not a problem.
    NotIp,
}

const MAX_TUNNEL_DEPTH: u32 = 4;

pub fn decode(link_type: u32, frame: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    match link::strip(link_type, frame) {
        Ok(link::Payload::Ip(ip)) => ip_packet(ip, 0),
        Ok(link::Payload::Ethernet(eth)) => ethernet_in_tunnel(eth, 0),
        Ok(link::Payload::NotIp(_)) => Ok(Decoded::NotIp),
        Err(link::LinkError::Unsupported(n)) => Err(DecodeError::UnsupportedLink(n)),
        Err(link::LinkError::Truncated(what)) => Err(DecodeError::Truncated(what)),
    }
}

fn ethernet_in_tunnel(eth: &[u8], depth: u32) -> Result<Decoded<'_>, DecodeError> {
    match link::ethernet(eth) {
        Ok(link::Payload::Ip(ip)) => ip_packet(ip, depth),
        Ok(_) => Ok(Decoded::NotIp),
        Err(_) => Err(DecodeError::Truncated("tunnelled Ethernet header")),
    }
}

fn mark_tunnelled(d: Decoded<'_>) -> Decoded<'_> {
    match d {
        Decoded::Packet(mut p) => {
            p.tunnelled = true;
            Decoded::Packet(p)
        }
        other => other,
    }
}

fn ip_packet(bytes: &[u8], depth: u32) -> Result<Decoded<'_>, DecodeError> {
    let (ip, _ext_err) = LaxIpSlice::from_slice(bytes).map_err(|e| match e {
        etherparse::err::ip::LaxHeaderSliceError::Len(_) => DecodeError::Truncated("IP header"),
        etherparse::err::ip::LaxHeaderSliceError::Content(_) => DecodeError::Malformed("IP header"),
    })?;
    let src = ip.source_addr();
    let dst = ip.destination_addr();
    let pl = ip.payload();
    let protocol = pl.ip_number.0;
    let truncated = pl.incomplete;
    let payload = pl.payload;
    if pl.fragmented {
        let frag = match &ip {
            LaxIpSlice::Ipv4(v4) => {
                let h = v4.header();
                Some(Fragment {
                    v6: false,
                    id: u32::from(h.identification()),
                    offset: u32::from(h.fragments_offset().value()) * 8,
                    more: h.more_fragments(),
                    protocol,
                    payload,
                })
            }
            LaxIpSlice::Ipv6(v6) => ipv6_fragment(v6, protocol, payload),
        };
        if let Some(frag) = frag {
            return Ok(Decoded::Packet(Packet {
                src,
                dst,
                transport: Transport::Fragment(frag),
                truncated,
                tunnelled: false,
            }));
        }
    }
    transport(src, dst, protocol, payload, truncated, depth)
}

/// Finds the IPv6 Fragment extension header among the extension headers.
fn ipv6_fragment<'a>(
    v6: &etherparse::LaxIpv6Slice<'a>,
    protocol: u8,
    payload: &'a [u8],
) -> Option<Fragment<'a>> {
    let mut next = v6.header().next_header().0;
    let mut ext = v6.extensions().slice();
    for _ in 0..16 {
        let len = match next {
            0 | 43 | 60 | 135 | 139 | 140 => (usize::from(*ext.get(1)?) + 1) * 8,
            51 => (usize::from(*ext.get(1)?) + 2) * 4,
            44 => {
                let f = ext.get(..8)?;
                let off_flags = u16::from_be_bytes([f[2], f[3]]);
                return Some(Fragment {
                    v6: true,
                    id: u32::from_be_bytes([f[4], f[5], f[6], f[7]]),
                    offset: u32::from(off_flags >> 3) * 8,
                    more: off_flags & 1 == 1,
                    protocol,
                    payload,
                });
            }
            _ => return None,
        };
        next = *ext.first()?;
        ext = ext.get(len..)?;
    }
    None
}

fn be16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(off)?, *b.get(off + 1)?]))
}

fn be32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Decodes the transport layer of an IP payload (also used for reassembled fragments).
pub fn transport<'a>(
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    payload: &'a [u8],
    truncated: bool,
    depth: u32,
) -> Result<Decoded<'a>, DecodeError> {
    let packet = |transport| {
        Ok(Decoded::Packet(Packet {
            src,
            dst,
            transport,
            truncated,
            tunnelled: false,
        }))
    };
    match protocol {
        17 => {
            let (Some(sport), Some(dport), Some(ulen)) =
                (be16(payload, 0), be16(payload, 2), be16(payload, 4))
            else {
                return Err(DecodeError::Truncated("UDP header"));
            };
            let end = usize::from(ulen).clamp(8, payload.len().max(8));
            let data = payload.get(8..end.min(payload.len())).unwrap_or(&[]);
            let truncated = truncated || usize::from(ulen) > payload.len();
            if depth < MAX_TUNNEL_DEPTH
                && (sport == 2152 || dport == 2152)
                && let Some(inner) = gtp_u(data)
                && let Ok(d) = ip_packet(inner, depth + 1)
            {
                return Ok(mark_tunnelled(d));
            }
            Ok(Decoded::Packet(Packet {
                src,
                dst,
                transport: Transport::Udp {
                    sport,
                    dport,
                    payload: data,
                },
                truncated,
                tunnelled: false,
            }))
        }
        6 => {
            let (Some(sport), Some(dport), Some(seq), Some(ack), Some(off)) = (
                be16(payload, 0),
                be16(payload, 2),
                be32(payload, 4),
                be32(payload, 8),
                payload.get(12),
            ) else {
                return Err(DecodeError::Truncated("TCP header"));
            };
            let hlen = usize::from(off >> 4) * 4;
            if hlen < 20 {
                return Err(DecodeError::Malformed("TCP header length"));
            }
            let flags = payload.get(13).copied().unwrap_or(0);
            let data = payload.get(hlen..).unwrap_or(&[]);
            packet(Transport::Tcp {
                sport,
                dport,
                seq,
                ack,
                flags,
                payload: data,
            })
        }
        132 => {
            let (Some(sport), Some(dport)) = (be16(payload, 0), be16(payload, 2)) else {
                return Err(DecodeError::Truncated("SCTP header"));
            };
            let (data, flags, stream) = sctp_data(payload).unwrap_or((&[], 0x03, 0));
            packet(Transport::Sctp {
                sport,
                dport,
                payload: data,
                flags,
                stream,
            })
        }
        1 | 58 => {
            let v6 = protocol == 58;
            let (Some(&t), Some(&code)) = (payload.first(), payload.get(1)) else {
                return Err(DecodeError::Truncated("ICMP header"));
            };
            let is_error = if v6 {
                (1..=4).contains(&t)
            } else {
                matches!(t, 3 | 4 | 5 | 11 | 12)
            };
            if !is_error {
                return packet(Transport::Icmp);
            }
            let quoted = payload.get(8..).and_then(quoted_packet);
            packet(Transport::IcmpError(IcmpError {
                v6,
                icmp_type: t,
                code,
                quoted,
            }))
        }
        4 | 41 if depth < MAX_TUNNEL_DEPTH => ip_packet(payload, depth + 1).map(mark_tunnelled),
        47 if depth < MAX_TUNNEL_DEPTH => gre(payload, depth + 1).map(mark_tunnelled),
        other => packet(Transport::Other(other)),
    }
}

/// The addresses and ports of the packet quoted in an ICMP error.
fn quoted_packet(q: &[u8]) -> Option<Quoted> {
    let (ip, _) = LaxIpSlice::from_slice(q).ok()?;
    let pl = ip.payload();
    let sport = be16(pl.payload, 0)?;
    let dport = be16(pl.payload, 2)?;
    Some(Quoted {
        protocol: pl.ip_number.0,
        src: SocketAddr::new(ip.source_addr(), sport),
        dst: SocketAddr::new(ip.destination_addr(), dport),
    })
}

/// The first DATA chunk: (user data, B/E flags, stream identifier).
fn sctp_data(p: &[u8]) -> Option<(&[u8], u8, u16)> {
    let mut off = 12;
    while off + 4 <= p.len() {
        let ctype = p[off];
        let clen = usize::from(be16(p, off + 2)?);
        if clen < 4 {
            return None;
        }
        if ctype == 0 && clen >= 16 {
            let data = p.get(off + 16..(off + clen).min(p.len()))?;
            return Some((data, p[off + 1] & 0x03, be16(p, off + 8)?));
        }
        off += clen.div_ceil(4) * 4;
    }
    None
}

fn gre(p: &[u8], depth: u32) -> Result<Decoded<'_>, DecodeError> {
    let (Some(flags), Some(proto)) = (be16(p, 0), be16(p, 2)) else {
        return Err(DecodeError::Truncated("GRE header"));
    };
    let mut off = 4;
    if flags & 0x8000 != 0 {
        off += 4;
    }
    if flags & 0x2000 != 0 {
        off += 4;
    }
    let seq_present = flags & 0x1000 != 0;
    if seq_present {
        off += 4;
    }
    if flags & 0x0007 == 1 {
        // GRE version 1 (PPTP) also carries an acknowledgment number when the A bit is set.
        if flags & 0x0080 != 0 {
            off += 4;
        }
    }
    let rest = p.get(off..).ok_or(DecodeError::Truncated("GRE header"))?;
    match proto {
        0x0800 | 0x86dd => ip_packet(rest, depth),
        0x6558 => ethernet_in_tunnel(rest, depth),
        // ERSPAN type I has no header; type II (with sequence bit) has 8 bytes.
        0x88be => {
            let skip = if seq_present { 8 } else { 0 };
            ethernet_in_tunnel(rest.get(skip..).unwrap_or(&[]), depth)
        }
        0x22eb => {
            // ERSPAN type III: 12 bytes, plus an 8-byte platform subheader when the O bit is set.
            let o = rest.get(11).is_some_and(|b| b & 1 == 1);
            ethernet_in_tunnel(rest.get(if o { 20 } else { 12 }..).unwrap_or(&[]), depth)
        }
        0x880b => {
            // PPP in GRE (PPTP): optional address/control ff 03, then a 1- or 2-byte protocol.
            let r = if rest.starts_with(&[0xff, 0x03]) {
                &rest[2..]
            } else {
                rest
            };
            let (proto, body) = match r.first() {
                Some(b) if b & 1 == 1 => (u16::from(*b), &r[1..]),
                _ => (be16(r, 0).unwrap_or(0), r.get(2..).unwrap_or(&[])),
            };
            match proto {
                0x21 | 0x57 => ip_packet(body, depth),
                _ => Ok(Decoded::NotIp),
            }
        }
        _ => Ok(Decoded::NotIp),
    }
}

/// GTP-U G-PDU: returns the inner IP packet.
fn gtp_u(p: &[u8]) -> Option<&[u8]> {
    let flags = *p.first()?;
    if flags >> 5 != 1 || *p.get(1)? != 0xff {
        return None;
    }
    let mut off = 8;
    if flags & 0x07 != 0 {
        off += 4;
        if flags & 0x04 != 0 {
            // Extension headers: length in 4-byte units, next type in the last byte.
            let mut next = *p.get(off - 1)?;
            while next != 0 {
                let len = usize::from(*p.get(off)?) * 4;
                if len == 0 {
                    return None;
                }
                next = *p.get(off + len - 1)?;
                off += len;
            }
        }
    }
    let inner = p.get(off..)?;
    matches!(inner.first().map(|b| b >> 4), Some(4 | 6)).then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_udp(payload: &[u8]) -> Vec<u8> {
        let total = 20 + 8 + payload.len();
        let mut v = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0,
            0,
            64,
            17,
            0,
            0,
            192,
            0,
            2,
            1,
            203,
            0,
            113,
            5,
        ];
        let ulen = 8 + payload.len();
        v.extend_from_slice(&[0x13, 0xc4, 0x13, 0xc4, (ulen >> 8) as u8, ulen as u8, 0, 0]);
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn raw_ipv4_udp() {
        let bytes = ipv4_udp(b"hello");
        let Ok(Decoded::Packet(p)) = decode(link::RAW, &bytes) else {
            panic!("not decoded")
        };
        assert_eq!(p.src.to_string(), "192.0.2.1");
        assert_eq!(p.dst.to_string(), "203.0.113.5");
        match p.transport {
            Transport::Udp {
                sport,
                dport,
                payload,
            } => {
                assert_eq!((sport, dport, payload), (5060, 5060, &b"hello"[..]));
            }
            other => panic!("{other:?}"),
        }
        assert!(!p.truncated);
    }

    #[test]
    fn vlan_qinq_ethernet() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, 0x08, 0x00]);
        f.extend_from_slice(&ipv4_udp(b"x"));
        assert!(matches!(decode(link::ETHERNET, &f), Ok(Decoded::Packet(_))));
    }

    #[test]
    fn snaplen_cut_udp_is_marked_truncated() {
        let bytes = ipv4_udp(&[0u8; 100]);
        let Ok(Decoded::Packet(p)) = decode(link::RAW, &bytes[..60]) else {
            panic!("not decoded")
        };
        assert!(p.truncated);
        assert!(matches!(p.transport, Transport::Udp { payload, .. } if payload.len() == 32));
    }

    #[test]
    fn unsupported_link_is_an_error_not_a_panic() {
        assert_eq!(
            decode(147, &[1, 2, 3]).err(),
            Some(DecodeError::UnsupportedLink(147))
        );
    }

    #[test]
    fn never_panics_on_prefixes() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&ipv4_udp(b"INVITE sip:x SIP/2.0\r\n"));
        for link in [0, 1, 101, 113, 276, 228, 229] {
            for n in 0..f.len() {
                let _ = decode(link, &f[..n]);
            }
        }
    }
}
