//! Scenario-capture builder: synthesises deterministic VoIP captures (pcap,
//! pcapng, gzip) from a small packet model. Used to regenerate `fixtures/`
//! and by tests in-memory.
//!
//! Layers:
//! - [`Packet`]/[`Body`]: one IP datagram (UDP, TCP, ICMP port unreachable or raw IP).
//! - [`wire`]: IPv4/IPv6/UDP/TCP/ICMP encoding with checksums, fragmentation,
//!   IP-in-IP/GRE tunnels and link-layer framing ([`Link`]).
//! - [`writer`]: pcap / pcapng containers ([`Container`]) and gzip.
//! - [`sip`], [`rtp`], [`net`]: SIP/SDP text and call flows, RTP/RTCP/STUN,
//!   DNS and SIP-over-TCP helpers.
//! - [`library`]: the named fixtures with their stated expected facts.

use std::net::SocketAddr;

pub mod library;
pub mod net;
pub mod rtp;
pub mod sip;
pub mod wire;
pub mod writer;

pub use library::{Expected, Fixture, StreamFact, all, write_all};
pub use wire::Link;
pub use writer::{
    Container, Interface, Section, gzip, write_capture, write_pcapng_multi, write_pcapng_sections,
};

/// One captured IP datagram before link framing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Capture time in nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// Source address (the port is ignored for ICMP and raw bodies).
    pub src: SocketAddr,
    /// Destination address (the port is ignored for ICMP and raw bodies).
    pub dst: SocketAddr,
    /// Transport content.
    pub body: Body,
    /// Interface index (pcapng only; 0 otherwise).
    pub interface: u32,
}

/// Transport content of a [`Packet`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// UDP datagram payload.
    Udp(Vec<u8>),
    /// TCP segment.
    Tcp {
        seq: u32,
        ack: u32,
        flags: u8,
        payload: Vec<u8>,
    },
    /// ICMPv4 type 3 code 3 or ICMPv6 type 1 code 4 sent from `src` to `dst`,
    /// quoting the IP + UDP header and the first payload bytes of `quoted`.
    IcmpPortUnreachable { quoted: Box<Packet> },
    /// A complete IP packet written as is (fragments, tunnels, hand-made).
    Raw(Vec<u8>),
}

/// TCP flag bits for [`Body::Tcp`].
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// Nanoseconds in one millisecond.
pub const MS: i64 = 1_000_000;
/// Nanoseconds in one second.
pub const SEC: i64 = 1_000_000_000;

impl Packet {
    /// A UDP packet on interface 0.
    pub fn udp(time_ns: i64, src: SocketAddr, dst: SocketAddr, payload: Vec<u8>) -> Packet {
        Packet {
            time_ns,
            src,
            dst,
            body: Body::Udp(payload),
            interface: 0,
        }
    }

    /// A TCP segment on interface 0.
    pub fn tcp(
        time_ns: i64,
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: Vec<u8>,
    ) -> Packet {
        Packet {
            time_ns,
            src,
            dst,
            body: Body::Tcp {
                seq,
                ack,
                flags,
                payload,
            },
            interface: 0,
        }
    }

    /// An ICMP port unreachable sent by `reporter` back to the sender of `quoted`.
    pub fn icmp_port_unreachable(time_ns: i64, reporter: SocketAddr, quoted: Packet) -> Packet {
        Packet {
            time_ns,
            src: reporter,
            dst: quoted.src,
            body: Body::IcmpPortUnreachable {
                quoted: Box::new(quoted),
            },
            interface: 0,
        }
    }

    /// The same packet on another pcapng interface.
    pub fn on(mut self, interface: u32) -> Packet {
        self.interface = interface;
        self
    }

    /// Payload bytes for UDP/TCP bodies (empty otherwise).
    pub fn payload(&self) -> &[u8] {
        match &self.body {
            Body::Udp(p) => p,
            Body::Tcp { payload, .. } => payload,
            _ => &[],
        }
    }
}

/// Parse a socket address literal; panics only on a bad literal in our own code.
pub fn sa(text: &str) -> SocketAddr {
    match text.parse() {
        Ok(a) => a,
        Err(_) => panic!("bad socket address literal {text}"),
    }
}

/// Sort packets by time, keeping the original order for equal times.
pub fn sort_by_time(packets: &mut [Packet]) {
    packets.sort_by_key(|p| p.time_ns);
}

/// Tiny deterministic xorshift64* generator for reproducible variation.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// Seeded generator (seed 0 is replaced by a fixed constant).
    pub fn new(seed: u64) -> XorShift {
        XorShift(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// Next pseudo-random value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Value in `0..bound` (0 when bound is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }
}
