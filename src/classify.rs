//! Classify each decoded packet by content (SIP on any port, RTP, RTCP, STUN, DNS, TLS, ICMP errors) and
//! turn it into an owned, compact `Event` for the sequential stages. This runs in parallel over batches;
//! everything here is a pure function of one frame.

use std::net::{IpAddr, SocketAddr};

use crate::capture::{Batch, FrameMeta};
use crate::decode::{self, Decoded, IcmpError, Transport};
use crate::problems::Problems;

/// Protocol classes counted in the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    Sip,
    SipTls,
    Rtp,
    Rtcp,
    Stun,
    Dns,
    IcmpError,
    Fragment,
    OtherUdp,
    OtherTcp,
    OtherIp,
    NotIp,
    Undecodable,
}

impl Class {
    pub const ALL: [Class; 13] = [
        Class::Sip,
        Class::SipTls,
        Class::Rtp,
        Class::Rtcp,
        Class::Stun,
        Class::Dns,
        Class::IcmpError,
        Class::Fragment,
        Class::OtherUdp,
        Class::OtherTcp,
        Class::OtherIp,
        Class::NotIp,
        Class::Undecodable,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::Sip => "sip",
            Class::SipTls => "sip_tls",
            Class::Rtp => "rtp",
            Class::Rtcp => "rtcp",
            Class::Stun => "stun",
            Class::Dns => "dns",
            Class::IcmpError => "icmp_error",
            Class::Fragment => "ip_fragment",
            Class::OtherUdp => "other_udp",
            Class::OtherTcp => "other_tcp",
            Class::OtherIp => "other_ip",
            Class::NotIp => "not_ip",
            Class::Undecodable => "undecodable",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Udp,
    Tcp,
    Sctp,
}

/// What the sequential stages need from one frame. Owned and small.
#[derive(Debug)]
pub enum EventKind {
    /// A UDP/SCTP payload that looks like SIP (parsed later, or already parsed).
    Sip {
        proto: Proto,
        payload: Vec<u8>,
    },
    /// A TCP segment (with or without payload) for stream reassembly: SIP over TCP and WebSocket, TLS.
    Tcp {
        seq: u32,
        flags: u8,
        payload: Vec<u8>,
    },
    /// One fragment of a message split over several SCTP DATA chunks (B = 0x02 first, E = 0x01 last).
    SctpFragment {
        flags: u8,
        stream: u16,
        payload: Vec<u8>,
    },
    Rtp {
        header: RtpFields,
    },
    Rtcp {
        payload: Vec<u8>,
    },
    Dns {
        payload: Vec<u8>,
    },
    /// Boxed: rare, and large enough to double the size of every event otherwise.
    IcmpError(Box<IcmpError>),
    Fragment {
        v6: bool,
        id: u32,
        offset: u32,
        more: bool,
        protocol: u8,
        payload: Vec<u8>,
    },
}

/// The RTP header fields and the first payload bytes (enough for RFC 4733 events).
#[derive(Clone, Copy, Debug, Default)]
pub struct RtpFields {
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload_type: u8,
    pub marker: bool,
    pub payload_len: u16,
    pub head: [u8; 4],
}

#[derive(Debug)]
pub struct Event {
    pub frame: u64,
    pub time_ns: i64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub truncated: bool,
    pub kind: EventKind,
}

/// Per-batch tallies, summed in order.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub packets: u64,
    pub bytes_captured: u64,
    pub bytes_original: u64,
    pub first_ns: Option<i64>,
    pub last_ns: Option<i64>,
    pub classes: [u64; 13],
    pub truncated_frames: u64,
    pub first_truncated_frame: Option<u64>,
    pub tunnelled: u64,
    pub out_of_order_times: u64,
}

impl Tally {
    pub fn add(&mut self, o: &Tally) {
        self.packets += o.packets;
        self.bytes_captured += o.bytes_captured;
        self.bytes_original += o.bytes_original;
        if let (Some(last), Some(first)) = (self.last_ns, o.first_ns)
            && first < last
        {
            self.out_of_order_times += 1;
        }
        self.first_ns = match (self.first_ns, o.first_ns) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_ns = match (self.last_ns, o.last_ns) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        for (a, b) in self.classes.iter_mut().zip(o.classes.iter()) {
            *a += b;
        }
        self.truncated_frames += o.truncated_frames;
        self.first_truncated_frame = match (self.first_truncated_frame, o.first_truncated_frame) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.tunnelled += o.tunnelled;
        self.out_of_order_times += o.out_of_order_times;
    }

    pub fn count(&mut self, c: Class) {
        self.classes[c as usize] += 1;
    }
}

pub struct BatchOut {
    pub events: Vec<Event>,
    pub tally: Tally,
    pub problems: Problems,
}

/// Decodes and classifies every frame of a batch.
pub fn classify_batch(batch: &Batch) -> BatchOut {
    classify_batch_into(batch, Vec::with_capacity(batch.frames.len()))
}

/// Like `classify_batch`, filling a recycled (empty) event vector, so that steady-state runs allocate
/// no new pages for events.
pub fn classify_batch_into(batch: &Batch, events: Vec<Event>) -> BatchOut {
    let mut out = BatchOut {
        events,
        tally: Tally::default(),
        problems: Problems::default(),
    };
    let mut prev_ns: Option<i64> = None;
    for f in &batch.frames {
        let bytes = batch.bytes(f);
        let t = &mut out.tally;
        t.packets += 1;
        t.bytes_captured += bytes.len() as u64;
        t.bytes_original += u64::from(f.orig_len);
        t.first_ns = Some(t.first_ns.map_or(f.time_ns, |v| v.min(f.time_ns)));
        t.last_ns = Some(t.last_ns.map_or(f.time_ns, |v| v.max(f.time_ns)));
        if prev_ns.is_some_and(|p| f.time_ns < p) {
            t.out_of_order_times += 1;
        }
        prev_ns = Some(f.time_ns);
        classify_frame(f, bytes, &mut out);
    }
    out
}

fn classify_frame(f: &FrameMeta, bytes: &[u8], out: &mut BatchOut) {
    let packet = match decode::decode(f.link_type, bytes) {
        Ok(Decoded::Packet(p)) => p,
        Ok(Decoded::NotIp) => {
            out.tally.count(Class::NotIp);
            return;
        }
        Err(e) => {
            out.tally.count(Class::Undecodable);
            out.problems.add_msg("decode", e.message(), f.number);
            return;
        }
    };
    if packet.truncated || (bytes.len() as u32) < f.orig_len {
        out.tally.truncated_frames += 1;
        if out.tally.first_truncated_frame.is_none() {
            out.tally.first_truncated_frame = Some(f.number);
        }
    }
    if packet.tunnelled {
        out.tally.tunnelled += 1;
    }
    let (src_ip, dst_ip) = (packet.src, packet.dst);
    let ev = |sport: u16, dport: u16, kind: EventKind| Event {
        frame: f.number,
        time_ns: f.time_ns,
        src: SocketAddr::new(src_ip, sport),
        dst: SocketAddr::new(dst_ip, dport),
        truncated: packet.truncated,
        kind,
    };
    match packet.transport {
        Transport::Udp {
            sport,
            dport,
            payload,
        } => {
            let (class, kind) = classify_udp(sport, dport, payload);
            out.tally.count(class);
            if let Some(kind) = kind {
                out.events.push(ev(sport, dport, kind));
            }
        }
        Transport::Tcp {
            sport,
            dport,
            seq,
            ack: _,
            flags,
            payload,
        } => {
            let class = if is_tls_port(sport, dport) && looks_like_tls(payload) {
                Class::SipTls
            } else if looks_like_sip(payload) {
                Class::Sip
            } else {
                Class::OtherTcp
            };
            out.tally.count(class);
            // Segments without payload still matter (SYN/FIN/RST); payload segments of any flow may
            // continue a SIP message, so the stream stage decides per flow.
            out.events.push(ev(
                sport,
                dport,
                EventKind::Tcp {
                    seq,
                    flags,
                    payload: payload.to_vec(),
                },
            ));
        }
        Transport::Sctp {
            sport,
            dport,
            payload,
            flags,
            stream,
        } => {
            if flags != 0x03 {
                // A fragment of a larger message: reassembled in order by the SIP stage.
                out.tally.count(Class::Sip);
                out.events.push(ev(
                    sport,
                    dport,
                    EventKind::SctpFragment {
                        flags,
                        stream,
                        payload: payload.to_vec(),
                    },
                ));
            } else if looks_like_sip(payload) {
                out.tally.count(Class::Sip);
                out.events.push(ev(
                    sport,
                    dport,
                    EventKind::Sip {
                        proto: Proto::Sctp,
                        payload: payload.to_vec(),
                    },
                ));
            } else {
                out.tally.count(Class::OtherIp);
            }
        }
        Transport::IcmpError(err) => {
            out.tally.count(Class::IcmpError);
            out.events
                .push(ev(0, 0, EventKind::IcmpError(Box::new(err))));
        }
        Transport::Icmp => out.tally.count(Class::OtherIp),
        Transport::Fragment(fr) => {
            out.tally.count(Class::Fragment);
            out.events.push(ev(
                0,
                0,
                EventKind::Fragment {
                    v6: fr.v6,
                    id: fr.id,
                    offset: fr.offset,
                    more: fr.more,
                    protocol: fr.protocol,
                    payload: fr.payload.to_vec(),
                },
            ));
        }
        Transport::Other(_) => out.tally.count(Class::OtherIp),
    }
}

/// Classifies a UDP payload by content. Also used for reassembled fragments.
pub fn classify_udp(sport: u16, dport: u16, payload: &[u8]) -> (Class, Option<EventKind>) {
    if let Some(&b0) = payload.first()
        && b0 >> 6 == 2
        && payload.len() >= 8
    {
        let pt = payload[1];
        if (200..=207).contains(&pt) || (72..=76).contains(&(pt & 0x7f)) {
            if looks_like_rtcp(payload) {
                return (
                    Class::Rtcp,
                    Some(EventKind::Rtcp {
                        payload: payload.to_vec(),
                    }),
                );
            }
        } else if let Some(header) = rtp_fields(payload) {
            return (Class::Rtp, Some(EventKind::Rtp { header }));
        }
    }
    if looks_like_stun(payload) {
        return (Class::Stun, None);
    }
    if sport == 53 || dport == 53 || sport == 5353 || dport == 5353 {
        return (
            Class::Dns,
            Some(EventKind::Dns {
                payload: payload
                    .get(..payload.len().min(1500))
                    .unwrap_or(&[])
                    .to_vec(),
            }),
        );
    }
    if looks_like_sip(payload) {
        return (
            Class::Sip,
            Some(EventKind::Sip {
                proto: Proto::Udp,
                payload: payload.to_vec(),
            }),
        );
    }
    (Class::OtherUdp, None)
}

pub fn rtp_fields(p: &[u8]) -> Option<RtpFields> {
    if p.len() < 12 || p[0] >> 6 != 2 {
        return None;
    }
    let cc = usize::from(p[0] & 0x0f);
    let mut off = 12 + 4 * cc;
    if p[0] & 0x10 != 0 {
        let ext = p.get(off + 2..off + 4)?;
        off += 4 + 4 * usize::from(u16::from_be_bytes([ext[0], ext[1]]));
    }
    if off > p.len() {
        return None;
    }
    let mut len = p.len() - off;
    if p[0] & 0x20 != 0 {
        let pad = usize::from(*p.last()?);
        len = len.checked_sub(pad)?;
    }
    let mut head = [0u8; 4];
    for (i, b) in p[off..].iter().take(4).enumerate() {
        head[i] = *b;
    }
    Some(RtpFields {
        seq: u16::from_be_bytes([p[2], p[3]]),
        timestamp: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
        ssrc: u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
        payload_type: p[1] & 0x7f,
        marker: p[1] & 0x80 != 0,
        payload_len: len.min(usize::from(u16::MAX)) as u16,
        head,
    })
}

/// RTCP: version 2, packet type 200..=207 in the first packet, and the length fields of the compound
/// add up to the datagram (SRTCP may append an index and tag, so allow a trailer).
pub fn looks_like_rtcp(p: &[u8]) -> bool {
    let mut off = 0;
    let mut n = 0;
    while off + 4 <= p.len() {
        if p[off] >> 6 != 2 || !(192..=223).contains(&p[off + 1]) {
            return n > 0;
        }
        let words = usize::from(u16::from_be_bytes([p[off + 2], p[off + 3]]));
        off += 4 * (words + 1);
        n += 1;
    }
    n > 0 && off <= p.len() && (200..=207).contains(&p[1])
}

pub fn looks_like_stun(p: &[u8]) -> bool {
    p.len() >= 20
        && p[0] >> 6 == 0
        && p[4..8] == [0x21, 0x12, 0xa4, 0x42]
        && usize::from(u16::from_be_bytes([p[2], p[3]])) + 20 <= p.len()
}

fn is_tls_port(a: u16, b: u16) -> bool {
    a == 5061 || b == 5061
}

fn looks_like_tls(p: &[u8]) -> bool {
    p.len() >= 5 && (20..=23).contains(&p[0]) && p[1] == 3
}

/// Cheap content test for a SIP start line anywhere in the first bytes (junk before a request is allowed).
pub fn looks_like_sip(p: &[u8]) -> bool {
    match p.first() {
        Some(b) if b.is_ascii_graphic() || *b == b'\r' || *b == b'\n' => {}
        _ => return false,
    }
    let head = &p[..p.len().min(512)];
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    // Responses start with SIP/2.0; requests end their first line with it. Allow a junk line first.
    if head.starts_with(b"SIP/2.0 ") {
        return true;
    }
    let first = &head[..line_end];
    if contains(first, b" SIP/2.0") {
        return true;
    }
    contains(head, b"SIP/2.0")
        && (contains(head, b"\nCall-ID") || contains(head, b"\ni:") || contains(head, b"\nCALL-ID"))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The endpoint pair an ICMP error or flow refers to, for printing.
pub fn endpoint(ip: IpAddr, port: u16) -> String {
    SocketAddr::new(ip, port).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_by_content() {
        assert!(looks_like_sip(b"INVITE sip:1@x SIP/2.0\r\nCall-ID: a\r\n"));
        assert!(looks_like_sip(b"SIP/2.0 200 OK\r\n"));
        assert!(looks_like_sip(
            b"garbage\r\nOPTIONS sip:x SIP/2.0\r\nCall-ID: 1\r\n"
        ));
        assert!(!looks_like_sip(b"GET / HTTP/1.1\r\n"));
        assert!(!looks_like_sip(&[0x80, 0, 1, 2]));
    }

    #[test]
    fn rtp_and_rtcp() {
        let mut rtp = vec![0x80, 0x08, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4];
        rtp.extend_from_slice(&[0xd5; 160]);
        let (c, k) = classify_udp(10000, 20000, &rtp);
        assert_eq!(c, Class::Rtp);
        assert!(
            matches!(k, Some(EventKind::Rtp { header }) if header.payload_len == 160 && header.payload_type == 8)
        );
        // RR with no report blocks: length 1 word + header
        let rr = [0x80, 201, 0, 1, 1, 2, 3, 4];
        assert_eq!(classify_udp(10001, 20001, &rr).0, Class::Rtcp);
    }

    #[test]
    fn stun_is_not_rtp() {
        let mut stun = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        stun.extend_from_slice(&[7; 12]);
        assert_eq!(classify_udp(10000, 20000, &stun).0, Class::Stun);
    }
}
