//! DNS messages and a SIP-over-TCP conversation builder.

use std::net::{Ipv4Addr, SocketAddr};

use super::tcp_flags::{ACK, FIN, PSH, RST, SYN};
use super::{Body, MS, Packet};

/// DNS record types used by SIP resolution (RFC 3263).
pub const TYPE_A: u16 = 1;
pub const TYPE_SRV: u16 = 33;
pub const TYPE_NAPTR: u16 = 35;
/// DNS response codes.
pub const RCODE_NOERROR: u8 = 0;
pub const RCODE_SERVFAIL: u8 = 2;
pub const RCODE_NXDOMAIN: u8 = 3;

/// A DNS answer record for `name` of the question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsAnswer {
    A(Ipv4Addr),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    Naptr {
        order: u16,
        preference: u16,
        flags: String,
        service: String,
        replacement: String,
    },
}

fn push_name(out: &mut Vec<u8>, name: &str) {
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        let bytes = label.as_bytes();
        let len = bytes.len().min(63);
        out.push(len as u8);
        out.extend_from_slice(bytes.get(..len).unwrap_or(&[]));
    }
    out.push(0);
}

fn push_string(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let len = b.len().min(255);
    out.push(len as u8);
    out.extend_from_slice(b.get(..len).unwrap_or(&[]));
}

fn header(id: u16, flags: u16, qd: u16, an: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(12);
    for v in [id, flags, qd, an, 0, 0] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out
}

/// A recursive query for `name`/`qtype`.
pub fn dns_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut out = header(id, 0x0100, 1, 0);
    push_name(&mut out, name);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out
}

/// A response echoing the question, with `rcode` and answers (TTL 300).
pub fn dns_response(id: u16, name: &str, qtype: u16, rcode: u8, answers: &[DnsAnswer]) -> Vec<u8> {
    let flags = 0x8180 | u16::from(rcode & 0x0F);
    let mut out = header(id, flags, 1, answers.len() as u16);
    push_name(&mut out, name);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    for a in answers {
        out.extend_from_slice(&[0xC0, 0x0C]); // pointer to the question name
        let (rtype, data) = match a {
            DnsAnswer::A(ip) => (TYPE_A, ip.octets().to_vec()),
            DnsAnswer::Srv {
                priority,
                weight,
                port,
                target,
            } => {
                let mut d = Vec::new();
                for v in [priority, weight, port] {
                    d.extend_from_slice(&v.to_be_bytes());
                }
                push_name(&mut d, target);
                (TYPE_SRV, d)
            }
            DnsAnswer::Naptr {
                order,
                preference,
                flags,
                service,
                replacement,
            } => {
                let mut d = Vec::new();
                d.extend_from_slice(&order.to_be_bytes());
                d.extend_from_slice(&preference.to_be_bytes());
                push_string(&mut d, flags);
                push_string(&mut d, service);
                push_string(&mut d, "");
                push_name(&mut d, replacement);
                (TYPE_NAPTR, d)
            }
        };
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&300u32.to_be_bytes());
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(&data);
    }
    out
}

/// Builds a TCP conversation between a client and a server. Each call
/// appends segments at the running clock, which advances `step_ns` per segment.
#[derive(Clone, Debug)]
pub struct TcpFlow {
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Next sequence number of each side.
    client_seq: u32,
    server_seq: u32,
    pub time_ns: i64,
    pub step_ns: i64,
    packets: Vec<Packet>,
}

impl TcpFlow {
    pub fn new(
        client: SocketAddr,
        server: SocketAddr,
        t0: i64,
        client_isn: u32,
        server_isn: u32,
    ) -> TcpFlow {
        TcpFlow {
            client,
            server,
            client_seq: client_isn,
            server_seq: server_isn,
            time_ns: t0,
            step_ns: MS,
            packets: Vec::new(),
        }
    }

    fn push(&mut self, from_client: bool, seq: u32, flags: u8, payload: Vec<u8>) {
        let (src, dst, ack) = if from_client {
            (self.client, self.server, self.server_seq)
        } else {
            (self.server, self.client, self.client_seq)
        };
        let ack = if flags & ACK != 0 { ack } else { 0 };
        self.packets.push(Packet::tcp(
            self.time_ns,
            src,
            dst,
            seq,
            ack,
            flags,
            payload,
        ));
        self.time_ns += self.step_ns;
    }

    fn advance(&mut self, from_client: bool, n: u32) -> u32 {
        let slot = if from_client {
            &mut self.client_seq
        } else {
            &mut self.server_seq
        };
        let seq = *slot;
        *slot = slot.wrapping_add(n);
        seq
    }

    /// Jump the clock to `t` (never backwards).
    pub fn at(&mut self, t: i64) -> &mut Self {
        self.time_ns = self.time_ns.max(t);
        self
    }

    /// SYN, SYN-ACK, ACK.
    pub fn handshake(&mut self) -> &mut Self {
        let s = self.advance(true, 1);
        self.push(true, s, SYN, Vec::new());
        let s = self.advance(false, 1);
        self.push(false, s, SYN | ACK, Vec::new());
        let s = self.client_seq;
        self.push(true, s, ACK, Vec::new());
        self
    }

    /// One PSH/ACK data segment.
    pub fn send(&mut self, from_client: bool, data: &[u8]) -> &mut Self {
        let s = self.advance(from_client, data.len() as u32);
        self.push(from_client, s, PSH | ACK, data.to_vec());
        self
    }

    /// `data` split into `parts` consecutive segments.
    pub fn send_split(&mut self, from_client: bool, data: &[u8], parts: usize) -> &mut Self {
        let size = data.len().div_ceil(parts.max(1)).max(1);
        for chunk in data.chunks(size) {
            let s = self.advance(from_client, chunk.len() as u32);
            self.push(
                from_client,
                s,
                ACK | if chunk.len() < size { PSH } else { 0 },
                chunk.to_vec(),
            );
        }
        self
    }

    /// `data` split into two segments sent second-half first.
    pub fn send_out_of_order(&mut self, from_client: bool, data: &[u8]) -> &mut Self {
        let mid = data.len() / 2;
        let (a, b) = data.split_at(mid);
        let s1 = self.advance(from_client, a.len() as u32);
        let s2 = self.advance(from_client, b.len() as u32);
        self.push(from_client, s2, PSH | ACK, b.to_vec());
        self.push(from_client, s1, ACK, a.to_vec());
        self
    }

    /// Re-send the last data segment unchanged (after 200 ms).
    pub fn retransmit_last(&mut self) -> &mut Self {
        let last = self
            .packets
            .iter()
            .rev()
            .find(|p| matches!(&p.body, Body::Tcp { payload, .. } if !payload.is_empty()))
            .cloned();
        if let Some(mut p) = last {
            self.time_ns += 200 * MS;
            p.time_ns = self.time_ns;
            self.packets.push(p);
            self.time_ns += self.step_ns;
        }
        self
    }

    /// A pure ACK.
    pub fn ack(&mut self, from_client: bool) -> &mut Self {
        let s = if from_client {
            self.client_seq
        } else {
            self.server_seq
        };
        self.push(from_client, s, ACK, Vec::new());
        self
    }

    /// RST/ACK from one side.
    pub fn rst(&mut self, from_client: bool) -> &mut Self {
        let s = if from_client {
            self.client_seq
        } else {
            self.server_seq
        };
        self.push(from_client, s, RST | ACK, Vec::new());
        self
    }

    /// FIN/ACK exchange started by one side, then the final ACK.
    pub fn close(&mut self, from_client: bool) -> &mut Self {
        let s = self.advance(from_client, 1);
        self.push(from_client, s, FIN | ACK, Vec::new());
        let s = self.advance(!from_client, 1);
        self.push(!from_client, s, FIN | ACK, Vec::new());
        self.ack(from_client)
    }

    /// Segments built so far.
    pub fn packets(&self) -> Vec<Packet> {
        self.packets.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::super::sa;
    use super::*;

    #[test]
    fn dns_query_and_nxdomain() {
        let q = dns_query(0x1234, "_sip._udp.example.com", TYPE_SRV);
        assert_eq!(&q[..4], &[0x12, 0x34, 0x01, 0x00]);
        assert_eq!(q[12], 4);
        assert_eq!(&q[13..17], b"_sip");
        let r = dns_response(0x1234, "nope.example.com", TYPE_A, RCODE_NXDOMAIN, &[]);
        assert_eq!(r[3] & 0x0F, 3);
        assert_eq!(&r[6..8], &[0, 0]);
        let a = dns_response(
            1,
            "sip.example.com",
            TYPE_A,
            0,
            &[DnsAnswer::A(Ipv4Addr::new(203, 0, 113, 5))],
        );
        assert_eq!(&a[a.len() - 4..], &[203, 0, 113, 5]);
    }

    #[test]
    fn tcp_flow_sequence_numbers() {
        let mut f = TcpFlow::new(sa("10.0.0.1:40000"), sa("10.0.0.2:5060"), 0, 1000, 5000);
        f.handshake()
            .send_split(true, b"0123456789", 3)
            .send_out_of_order(false, b"abcd")
            .retransmit_last();
        let p = f.packets();
        let segs: Vec<(u32, u32, usize)> = p
            .iter()
            .map(|x| match &x.body {
                Body::Tcp {
                    seq, ack, payload, ..
                } => (*seq, *ack, payload.len()),
                _ => panic!(),
            })
            .collect();
        assert_eq!(segs[0], (1000, 0, 0));
        assert_eq!(segs[1], (5000, 1001, 0));
        assert_eq!(segs[2], (1001, 5001, 0));
        assert_eq!(
            &segs[3..6],
            &[(1001, 5001, 4), (1005, 5001, 4), (1009, 5001, 2)]
        );
        assert_eq!(segs[6], (5003, 1011, 2));
        assert_eq!(segs[7], (5001, 1011, 2));
        assert_eq!(segs[8], segs[7]);
    }
}
