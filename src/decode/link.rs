//! Link layers: find the network-layer bytes inside a frame.

/// What the link layer carried.
pub enum Payload<'a> {
    /// An IPv4 or IPv6 packet (the version nibble says which).
    Ip(&'a [u8]),
    /// Ethernet frame inside something else (GRE transparent bridging, ERSPAN).
    Ethernet(&'a [u8]),
    /// A protocol we do not analyse (ARP, LLDP, ...): normal traffic, not an error.
    NotIp(u16),
}

pub enum LinkError {
    Unsupported(u32),
    Truncated(&'static str),
}

pub const ETHERNET: u32 = 1;
pub const NULL: u32 = 0;
pub const LOOP: u32 = 108;
pub const RAW: u32 = 101;
pub const RAW_ALT_12: u32 = 12;
pub const RAW_ALT_14: u32 = 14;
pub const IPV4: u32 = 228;
pub const IPV6: u32 = 229;
pub const SLL: u32 = 113;
pub const SLL2: u32 = 276;
pub const ERF: u32 = 197;

/// Name of a link type as Wireshark's capinfos prints it (short form).
pub fn name(link_type: u32) -> String {
    match link_type {
        ETHERNET => "Ethernet".into(),
        NULL => "BSD loopback (NULL)".into(),
        LOOP => "OpenBSD loopback".into(),
        RAW | RAW_ALT_12 | RAW_ALT_14 => "Raw IP".into(),
        IPV4 => "Raw IPv4".into(),
        IPV6 => "Raw IPv6".into(),
        SLL => "Linux cooked-mode capture v1 (SLL)".into(),
        SLL2 => "Linux cooked-mode capture v2 (SLL2)".into(),
        ERF => "Extensible Record Format (ERF)".into(),
        other => format!("link type {other}"),
    }
}

pub fn is_supported(link_type: u32) -> bool {
    matches!(
        link_type,
        ETHERNET | NULL | LOOP | RAW | RAW_ALT_12 | RAW_ALT_14 | IPV4 | IPV6 | SLL | SLL2 | ERF
    )
}

fn be16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(off)?, *b.get(off + 1)?]))
}

pub fn strip(link_type: u32, frame: &[u8]) -> Result<Payload<'_>, LinkError> {
    match link_type {
        ETHERNET => ethernet(frame),
        SLL => {
            let proto = be16(frame, 14).ok_or(LinkError::Truncated("Linux cooked (SLL) header"))?;
            by_ethertype(proto, &frame[16..])
        }
        SLL2 => {
            let proto =
                be16(frame, 0).ok_or(LinkError::Truncated("Linux cooked v2 (SLL2) header"))?;
            if frame.len() < 20 {
                return Err(LinkError::Truncated("Linux cooked v2 (SLL2) header"));
            }
            by_ethertype(proto, &frame[20..])
        }
        NULL | LOOP => {
            let b = frame
                .get(..4)
                .ok_or(LinkError::Truncated("loopback header"))?;
            // The address family is in the capturing host's byte order (NULL) or network order (LOOP):
            // accept both, as Wireshark does.
            let le = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let be = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            let family = if le < 256 { le } else { be };
            match family {
                2 => Ok(Payload::Ip(&frame[4..])),
                24 | 28 | 30 => Ok(Payload::Ip(&frame[4..])),
                other => Ok(Payload::NotIp(other as u16)),
            }
        }
        RAW | RAW_ALT_12 | RAW_ALT_14 | IPV4 | IPV6 => Ok(Payload::Ip(frame)),
        ERF => erf(frame),
        other => Err(LinkError::Unsupported(other)),
    }
}

/// Endace ERF record: 16-byte header, optional 8-byte extension headers, then the payload; Ethernet
/// records carry 2 bytes of padding first. Other ERF payloads (HDLC, ATM...) are not IP for us.
fn erf(frame: &[u8]) -> Result<Payload<'_>, LinkError> {
    let rtype = *frame.get(8).ok_or(LinkError::Truncated("ERF header"))?;
    let mut off = 16;
    let mut more = rtype & 0x80 != 0;
    while more {
        let ext = *frame
            .get(off)
            .ok_or(LinkError::Truncated("ERF extension header"))?;
        more = ext & 0x80 != 0;
        off += 8;
    }
    match rtype & 0x7f {
        2 | 16 | 19 | 22 => {
            let eth = frame
                .get(off + 2..)
                .ok_or(LinkError::Truncated("ERF Ethernet padding"))?;
            ethernet(eth)
        }
        t => Ok(Payload::NotIp(u16::from(t))),
    }
}

pub fn ethernet(frame: &[u8]) -> Result<Payload<'_>, LinkError> {
    let proto = be16(frame, 12).ok_or(LinkError::Truncated("Ethernet header"))?;
    by_ethertype(proto, &frame[14..])
}

/// Follows VLAN/QinQ tags, PPPoE and MPLS to the IP packet.
pub fn by_ethertype(mut proto: u16, mut rest: &[u8]) -> Result<Payload<'_>, LinkError> {
    for _ in 0..8 {
        match proto {
            0x0800 | 0x86dd => return Ok(Payload::Ip(rest)),
            0x8100 | 0x88a8 | 0x9100 | 0x9200 => {
                proto = be16(rest, 2).ok_or(LinkError::Truncated("VLAN tag"))?;
                rest = &rest[4..];
            }
            0x8864 => {
                // PPPoE session: 6-byte header, then the PPP protocol.
                let ppp = be16(rest, 6).ok_or(LinkError::Truncated("PPPoE header"))?;
                rest = &rest[8..];
                match ppp {
                    0x0021 | 0x0057 => return Ok(Payload::Ip(rest)),
                    other => return Ok(Payload::NotIp(other)),
                }
            }
            0x8847 | 0x8848 => {
                // MPLS: pop labels until bottom of stack, then guess IPv4/IPv6 by the version nibble.
                loop {
                    let label = rest.get(..4).ok_or(LinkError::Truncated("MPLS label"))?;
                    let bottom = label[2] & 1 == 1;
                    rest = &rest[4..];
                    if bottom {
                        break;
                    }
                }
                return match rest.first().map(|b| b >> 4) {
                    Some(4) | Some(6) => Ok(Payload::Ip(rest)),
                    _ => Ok(Payload::NotIp(proto)),
                };
            }
            0x6558 => return Ok(Payload::Ethernet(rest)),
            other => return Ok(Payload::NotIp(other)),
        }
    }
    Ok(Payload::NotIp(proto))
}
