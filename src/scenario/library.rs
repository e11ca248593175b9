//! Named fixtures. Every fixture states what it contains; [`Expected`] holds
//! the same facts in machine-readable form, derived from the scenario
//! parameters (never from an analyzer).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use super::net::{self, DnsAnswer, TcpFlow};
use super::rtp::{self, Dtmf, Rtcp, RtpStream};
use super::sip::{self, Call, Outcome, Party, Timed};
use super::wire::{self, IpEncoder, Link, Tunnel};
use super::writer::{self, Container, Interface, Section};
use super::{MS, Packet, SEC, XorShift, sa};

/// One fixture file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fixture {
    /// File name, e.g. `sll2.pcap`.
    pub name: &'static str,
    /// What the file contains, in words (counts, statuses, frame numbers).
    pub description: &'static str,
    pub bytes: Vec<u8>,
    pub expected: Expected,
}

/// Machine-readable facts about a fixture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    /// Frames in the file (all sections).
    pub packets: usize,
    /// LINKTYPE of each interface (pcap: one; pcapng: per IDB, all sections).
    pub links: Vec<u32>,
    /// Distinct Call-IDs with an INVITE.
    pub calls: usize,
    /// Final INVITE status per Call-ID (0 = no final response), in start order.
    pub statuses: Vec<(String, u16)>,
    /// RTP streams (src, dst, SSRC) with packets and Wireshark-style lost.
    pub rtp: Vec<StreamFact>,
}

/// One RTP stream: lost = (highest ext seq - first ext seq + 1) - packets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamFact {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub ssrc: u32,
    pub packets: usize,
    pub lost: i64,
}

/// Epoch of every fixture: 2023-11-14T22:13:20Z.
const T0: i64 = 1_700_000_000 * SEC;
const PBX_UA: &str = "PortSIP PBX 22.1";
const TRUNK_UA: &str = "Sonus SBC 5110 V09.02";

/// Packets plus the facts they carry.
#[derive(Default)]
struct Scene {
    packets: Vec<Packet>,
    calls: Vec<(String, u16)>,
    rtp: Vec<Packet>,
}

impl Scene {
    fn call(&mut self, c: &Call) -> &mut Self {
        self.sip(c);
        for st in c.rtp_streams() {
            self.stream(&st);
        }
        self
    }

    fn sip(&mut self, c: &Call) -> &mut Self {
        self.note_call(c);
        self.packets.extend(c.sip_packets());
        self
    }

    fn note_call(&mut self, c: &Call) {
        self.calls.push((c.call_id.clone(), c.final_status()));
    }

    fn stream(&mut self, st: &RtpStream) -> &mut Self {
        let p = st.packets();
        self.rtp
            .extend(p.iter().filter(|x| x.dst.port() == st.dst.port()).cloned());
        self.packets.extend(p);
        self
    }

    fn add(&mut self, p: Vec<Packet>) -> &mut Self {
        self.packets.extend(p);
        self
    }

    fn facts(&self) -> Vec<StreamFact> {
        let mut rtp = self.rtp.clone();
        rtp.sort_by_key(|p| p.time_ns);
        let mut groups: BTreeMap<(SocketAddr, SocketAddr), Vec<(u32, u16)>> = BTreeMap::new();
        let mut order = Vec::new();
        for p in &rtp {
            let Some((ssrc, seq, _)) = rtp::udp_payload(p).and_then(rtp::parse_rtp) else {
                continue;
            };
            let key = (p.src, p.dst);
            if !groups.contains_key(&key) {
                order.push(key);
            }
            groups.entry(key).or_default().push((ssrc, seq));
        }
        let mut out = Vec::new();
        for key in order {
            let Some(list) = groups.get(&key) else {
                continue;
            };
            for f in rtp::facts_of(list.iter().copied()) {
                out.push(StreamFact {
                    src: key.0,
                    dst: key.1,
                    ssrc: f.ssrc,
                    packets: f.packets,
                    lost: f.lost,
                });
            }
        }
        out
    }

    fn sorted(&self) -> Vec<Packet> {
        let mut p = self.packets.clone();
        p.sort_by_key(|x| x.time_ns);
        p
    }

    fn expected(&self, packets: usize, links: Vec<u32>) -> Expected {
        Expected {
            packets,
            links,
            calls: self.calls.len(),
            statuses: self.calls.clone(),
            rtp: self.facts(),
        }
    }

    fn capture(&self, link: Link, container: Container, snaplen: u32) -> (Vec<u8>, Expected) {
        let p = self.sorted();
        let bytes = writer::write_capture(&p, link, container, snaplen);
        (bytes, self.expected(p.len(), vec![link.dlt()]))
    }
}

const LE_US: Container = Container::Pcap {
    big_endian: false,
    nanos: false,
};

fn fixture(name: &'static str, description: &'static str, made: (Vec<u8>, Expected)) -> Fixture {
    Fixture {
        name,
        description,
        bytes: made.0,
        expected: made.1,
    }
}

fn phone(ip: &str, user: &str, ua: &str, rtp_port: u16) -> Party {
    Party::new(&format!("{ip}:5060"), user, ua, &format!("{ip}:{rtp_port}"))
}

/// Phone 10.0.0.21 (1001) calls phone 10.0.0.22 (2002), answered, RTP for
/// `talk_ms - 60` ms each way (talk 2060 ms = 100 packets per direction).
fn basic_call(call_id: &str, t0: i64, talk_ms: i64) -> Call {
    let a = phone("10.0.0.21", "1001", "Yealink SIP-T46S 66.86.0.15", 12000);
    let b = phone("10.0.0.22", "2002", "Grandstream GXP2170 1.0.11.23", 14000);
    Call::new(
        call_id,
        a,
        b,
        t0,
        Outcome::Answered {
            duration_ms: talk_ms,
        },
    )
}

fn basic_scene(call_id: &str) -> Scene {
    let mut s = Scene::default();
    s.call(&basic_call(call_id, T0, 2060));
    s
}

const BASIC: &str = "One answered UDP call 10.0.0.21:5060 (1001, Yealink) -> 10.0.0.22:5060 (2002, Grandstream): \
INVITE, 100, 180, 200, ACK, BYE, 200 (7 SIP frames, final 200) and 100 PCMU RTP packets each way \
(12000 <-> 14000, 0 lost): 207 frames.";

fn ipv6_call(call_id: &str) -> Call {
    let a = Party::new(
        "[2001:db8::21]:5060",
        "1001",
        "Linphone/5.2.0",
        "[2001:db8::21]:7078",
    );
    let b = Party::new(
        "[2001:db8::22]:5060",
        "2002",
        "Obi202 3.2.2",
        "[2001:db8::22]:7080",
    );
    Call::new(call_id, a, b, T0, Outcome::Answered { duration_ms: 1060 })
}

/// All fixtures, in a stable order.
pub fn all() -> Vec<Fixture> {
    let mut out = vec![demo()];
    out.extend(containers());
    out.extend(network_quirks());
    out.extend(sip_quirks());
    out.extend(media_quirks());
    out
}

/// The named fixture, if any.
pub fn by_name(name: &str) -> Option<Fixture> {
    all().into_iter().find(|f| f.name == name)
}

/// Expected facts of the named fixture.
pub fn expected(name: &str) -> Option<Expected> {
    by_name(name).map(|f| f.expected)
}

/// Write every fixture into `dir` plus `FIXTURES.md`; returns the file names.
pub fn write_all(dir: &Path) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut names = Vec::new();
    let mut doc = String::from(
        "# Fixtures\n\nGenerated by `voipdx make-fixtures` (src/scenario/library.rs). Do not edit by hand.\n\n",
    );
    for f in all() {
        std::fs::write(dir.join(f.name), &f.bytes)?;
        doc.push_str(&format!(
            "## {}\n\n{}\n\nframes: {}, links: {:?}, calls: {}, statuses: {:?}, rtp streams: {}\n\n",
            f.name,
            f.description,
            f.expected.packets,
            f.expected.links,
            f.expected.calls,
            f.expected.statuses,
            f.expected.rtp.len()
        ));
        names.push(f.name.to_string());
    }
    std::fs::write(dir.join("FIXTURES.md"), doc)?;
    names.push("FIXTURES.md".to_string());
    Ok(names)
}

// ---------------------------------------------------------------- demo

fn pbx(user: &str, rtp_port: u16) -> Party {
    Party::new(
        "192.0.2.10:5060",
        user,
        PBX_UA,
        &format!("192.0.2.10:{rtp_port}"),
    )
}

fn trunk(ip: &str, user: &str, rtp_port: u16) -> Party {
    Party::new(
        &format!("{ip}:5060"),
        user,
        TRUNK_UA,
        &format!("{ip}:{rtp_port}"),
    )
}

const DEMO: &str = "PortSIP PBX 192.0.2.10 captured with `tcpdump -i any` (pcapng, SLL, µs). 7 INVITE Call-IDs: \
(a) demo-a-healthy: PBX -> trunk 203.0.113.5, 200, 500 PCMU RTP packets each way (40000 <-> 30000), BYE; \
(b) demo-b-oneway: PBX -> 203.0.113.5, 200, SDP from the PBX advertises c=10.0.0.10 port 40002, only 300 RTP packets PBX -> trunk, none back; \
(c) demo-c-noanswer: INVITE to 203.0.113.7 sent 7 times (0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s) with no response (status 0), \
while 203.0.113.7 answers 2 OPTIONS from 192.0.2.11 (Asterisk) with 200; \
(d) demo-d-inbound407: INVITE from trunk 198.51.100.20 for +33620012861, PBX answers 407 Proxy-Authenticate, ACK, no retry; \
(e) demo-e-403: PBX -> 203.0.113.5 rejected 403 with Reason: Q.850;cause=21; \
(f) REGISTER from 10.0.0.21 to 10.0.0.10 challenged 401 then 200 (not a call); \
(g) demo-g-cancel: phone 10.0.0.22 -> PBX 10.0.0.10, 180 then CANCEL, 200 (CANCEL), 487, ACK; \
(h) demo-h-icmp: INVITE to 203.0.113.9 answered by an ICMP port unreachable (status 0). \
Statuses: a 200, b 200, c 0, d 407, e 403, g 487, h 0. RTP streams: 3, 0 lost. 1345 frames.";

fn demo() -> Fixture {
    let mut s = Scene::default();
    let reg = Party::new(
        "10.0.0.21:5060",
        "1001",
        "Yealink SIP-T46S 66.86.0.15",
        "10.0.0.21:12000",
    );
    s.add(sip::register_flow(
        &reg,
        sa("10.0.0.10:5060"),
        "pbx.example.com",
        "demo-f-register",
        T0,
    ));

    let mut a = Call::new(
        "demo-a-healthy",
        pbx("1001", 40000),
        trunk("203.0.113.5", "+33145551234", 30000),
        T0 + SEC,
        Outcome::Answered { duration_ms: 10060 },
    );
    a.domain = "203.0.113.5".into();
    s.call(&a);

    let mut b = Call::new(
        "demo-b-oneway",
        pbx("1002", 40002),
        trunk("203.0.113.5", "+33145559876", 30002),
        T0 + 2 * SEC,
        Outcome::Answered { duration_ms: 6060 },
    );
    b.caller_sdp_ip = Some("10.0.0.10".parse().unwrap_or(Ipv4Addr::UNSPECIFIED.into()));
    b.callee_rtp = false;
    s.call(&b);

    let c = Call::new(
        "demo-c-noanswer",
        pbx("1003", 40004),
        trunk("203.0.113.7", "+33145550000", 30004),
        T0 + 3 * SEC,
        Outcome::NoResponse,
    );
    s.call(&c);
    let other = Party::new(
        "192.0.2.11:5060",
        "ping",
        "Asterisk PBX 18.20.0",
        "192.0.2.11:10000",
    );
    s.add(sip::options_ping(
        &other,
        sa("203.0.113.7:5060"),
        Some(TRUNK_UA),
        "demo-opt-1",
        T0 + 4 * SEC,
    ));
    s.add(sip::options_ping(
        &other,
        sa("203.0.113.7:5060"),
        Some(TRUNK_UA),
        "demo-opt-2",
        T0 + 34 * SEC,
    ));

    let mut d = Call::new(
        "demo-d-inbound407",
        trunk("198.51.100.20", "+33170000001", 31000),
        pbx("+33620012861", 40006),
        T0 + 5 * SEC,
        Outcome::Challenged { retry: false },
    );
    d.domain = "192.0.2.10".into();
    s.call(&d);

    let mut e = Call::new(
        "demo-e-403",
        pbx("1004", 40008),
        trunk("203.0.113.5", "+33145557777", 30008),
        T0 + 6 * SEC,
        Outcome::Failed {
            code: 403,
            reason: Some("Q.850;cause=21;text=\"Call Rejected\"".into()),
        },
    );
    e.ring_ms = 120;
    s.call(&e);

    let mut g = Call::new(
        "demo-g-cancel",
        phone("10.0.0.22", "1002", "Grandstream GXP2170 1.0.11.23", 14000),
        Party::new("10.0.0.10:5060", "1005", PBX_UA, "10.0.0.10:40010"),
        T0 + 8 * SEC,
        Outcome::Cancelled,
    );
    g.ring_ms = 3000;
    s.call(&g);

    let h = Call::new(
        "demo-h-icmp",
        pbx("1006", 40012),
        trunk("203.0.113.9", "+33145558888", 30012),
        T0 + 9 * SEC,
        Outcome::NoResponse,
    );
    s.note_call(&h);
    let inv = Packet::udp(
        h.start_ns,
        h.caller.sip,
        h.callee.sip,
        h.invite().to_bytes(),
    );
    let icmp =
        Packet::icmp_port_unreachable(h.start_ns + 25 * MS, sa("203.0.113.9:0"), inv.clone());
    s.add(vec![inv, icmp]);

    let made = s.capture(
        Link::Sll,
        Container::Pcapng {
            big_endian: false,
            tsresol: 6,
        },
        262_144,
    );
    fixture("demo.pcapng", DEMO, made)
}

// ---------------------------------------------------------------- containers

fn containers() -> Vec<Fixture> {
    let mut out = Vec::new();
    let simple: [(&'static str, &'static str, Link, Container); 7] = [
        (
            "ether_pcap_le_us.pcap",
            "pcap little-endian µs, Ethernet (DLT 1).",
            Link::Ethernet,
            LE_US,
        ),
        (
            "ether_pcap_be_ns.pcap",
            "pcap big-endian nanosecond magic (a1b23c4d), Ethernet (DLT 1).",
            Link::Ethernet,
            Container::Pcap {
                big_endian: true,
                nanos: true,
            },
        ),
        (
            "sll.pcap",
            "pcap LE µs, Linux cooked v1 (DLT 113).",
            Link::Sll,
            LE_US,
        ),
        (
            "sll2.pcap",
            "pcap LE µs, Linux cooked v2 (DLT 276).",
            Link::Sll2,
            LE_US,
        ),
        (
            "raw101.pcap",
            "pcap LE µs, raw IP (DLT 101).",
            Link::Raw,
            LE_US,
        ),
        (
            "raw228.pcap",
            "pcap LE µs, raw IPv4 (DLT 228).",
            Link::RawIpv4,
            LE_US,
        ),
        (
            "null_loopback.pcap",
            "pcap LE µs, BSD loopback (DLT 0) with AF_INET=2 in little-endian.",
            Link::Null,
            LE_US,
        ),
    ];
    for (name, what, link, container) in simple {
        let s = basic_scene(&format!("{}@10.0.0.21", name.replace('.', "-")));
        let desc: &'static str = Box::leak(format!("{what} {BASIC}").into_boxed_str());
        out.push(fixture(name, desc, s.capture(link, container, 65535)));
    }

    let s = Scene::default()
        .call(&ipv6_call("raw229@2001:db8::21"))
        .take();
    out.push(fixture(
        "raw229_ipv6.pcap",
        "pcap LE µs, raw IPv6 (DLT 229). One answered IPv6 call [2001:db8::21]:5060 -> [2001:db8::22]:5060, \
         7 SIP frames (final 200), 50 RTP packets each way (7078 <-> 7080): 107 frames.",
        s.capture(Link::RawIpv6, LE_US, 65535),
    ));

    out.push(vlan_qinq());
    out.push(multi_iface());
    out.push(two_sections());

    let s = basic_scene("gzip@10.0.0.21");
    let (bytes, exp) = s.capture(Link::Ethernet, LE_US, 65535);
    out.push(fixture(
        "gzip.pcap.gz",
        "gzip-compressed pcap (LE µs, Ethernet). One answered call, 7 SIP + 200 RTP = 207 frames.",
        (writer::gzip(&bytes), exp),
    ));

    let s = basic_scene("snaplen@10.0.0.21");
    out.push(fixture(
        "snaplen_cut.pcap",
        "pcap LE µs, Ethernet, snaplen 96: every frame longer than 96 bytes is cut to caplen 96 \
         (all 207 frames: SIP and 214-byte RTP frames), so SIP bodies and RTP payloads are truncated. \
         One call (final 200 visible only as the first 54 bytes of UDP payload).",
        s.capture(Link::Ethernet, LE_US, 96),
    ));
    out
}

impl Scene {
    fn take(&mut self) -> Scene {
        std::mem::take(self)
    }
}

fn vlan_qinq() -> Fixture {
    let mut s = Scene::default();
    let c1 = basic_call("vlan10@10.0.0.21", T0, 1060);
    let mut c2 = basic_call("qinq@10.0.0.21", T0 + 500 * MS, 1060);
    c2.caller.media = sa("10.0.0.21:12002");
    c2.callee.media = sa("10.0.0.22:14002");
    s.call(&c1);
    let first = s.packets.len();
    s.call(&c2);
    for p in s.packets.iter_mut().skip(first) {
        p.interface = 1;
    }
    let p = s.sorted();
    let ifs = [
        Interface::new("eth0.10", Link::Vlan(10), 6),
        Interface::new("eth1.100.200", Link::QinQ(100, 200), 9),
    ];
    let bytes = writer::write_pcapng_multi(&p, &ifs, false);
    let exp = s.expected(p.len(), vec![1, 1]);
    fixture(
        "vlan_qinq.pcapng",
        "pcapng, two Ethernet interfaces: if 0 802.1Q VLAN 10 (tsresol 10^-6) carries call vlan10@10.0.0.21, \
         if 1 802.1ad/802.1Q QinQ outer 100 inner 200 (10^-9) carries call qinq@10.0.0.21. Both answered (200), \
         each 7 SIP + 50 RTP each way: 214 frames.",
        (bytes, exp),
    )
}

fn multi_iface() -> Fixture {
    let mut s = Scene::default();
    let c = basic_call("multi@10.0.0.21", T0, 2060);
    s.call(&c);
    for p in &mut s.packets {
        let sip = p.src.port() == 5060 || p.dst.port() == 5060;
        p.interface = u32::from(!sip);
    }
    let p = s.sorted();
    let ifs = [
        Interface::new("eth0", Link::Ethernet, 6),
        Interface::new("tun0", Link::Raw, 0x80 | 20),
    ];
    let bytes = writer::write_pcapng_multi(&p, &ifs, false);
    let exp = s.expected(p.len(), vec![1, 101]);
    fixture(
        "pcapng_multi_iface.pcapng",
        "pcapng, two interfaces: if 0 eth0 Ethernet tsresol 10^-6 carries the 7 SIP frames of call \
         multi@10.0.0.21 (final 200); if 1 tun0 raw IP (DLT 101) with binary tsresol 2^-20 carries its \
         200 RTP packets (100 each way). 207 frames, one call crossing both interfaces.",
        (bytes, exp),
    )
}

fn two_sections() -> Fixture {
    let mut s1 = Scene::default();
    s1.call(&basic_call("section1@10.0.0.21", T0, 1060));
    let mut s2 = Scene::default();
    let mut c2 = basic_call("section2@10.0.0.21", T0 + 3 * SEC, 0);
    c2.outcome = Outcome::Failed {
        code: 486,
        reason: None,
    };
    s2.call(&c2);
    let p1 = s1.sorted();
    let p2: Vec<Packet> = s2.sorted().into_iter().map(|p| p.on(1)).collect();
    let n = p1.len() + p2.len();
    let sections = [
        Section {
            interfaces: vec![Interface::new("eth0", Link::Ethernet, 6)],
            packets: p1,
        },
        Section {
            interfaces: vec![
                Interface::new("any", Link::Sll, 6),
                Interface::new("raw", Link::RawIpv4, 9),
            ],
            packets: p2,
        },
    ];
    let bytes = writer::write_pcapng_sections(&sections, false);
    let all = Scene {
        calls: s1.calls.iter().chain(&s2.calls).cloned().collect(),
        rtp: s1.rtp.clone(),
        ..Scene::default()
    };
    fixture(
        "pcapng_two_sections.pcapng",
        "pcapng with two sections. Section 1: SHB + IDB Ethernet, call section1@10.0.0.21 answered \
         (7 SIP + 50 RTP each way = 107 frames). Section 2: SHB + IDB 0 SLL + IDB 1 raw IPv4 (10^-9); \
         call section2@10.0.0.21 rejected 486 Busy Here (INVITE, 100, 486, ACK = 4 frames) on section 2's \
         interface 1. 111 frames.",
        (bytes, all.expected(n, vec![1, 113, 228])),
    )
}

// ---------------------------------------------------------------- network quirks

fn network_quirks() -> Vec<Fixture> {
    let mut out = Vec::new();
    let s = Scene::default()
        .call(&ipv6_call("ipv6@2001:db8::21"))
        .take();
    out.push(fixture(
        "ipv6_call.pcap",
        "pcap LE µs, Ethernet, IPv6 only. One answered call [2001:db8::21]:5060 (Linphone) -> \
         [2001:db8::22]:5060, 7 SIP frames (final 200), 50 PCMU RTP packets each way (7078 <-> 7080): 107 frames.",
        s.capture(Link::Ethernet, LE_US, 65535),
    ));
    out.push(fragmented(false));
    out.push(fragmented(true));
    out.push(tunnels());
    out.push(dns());
    out
}

fn padded_invite(mut c: Call) -> Call {
    for i in 0..24 {
        c.invite_headers
            .push((format!("X-Padding-{i:02}"), "x".repeat(100)));
    }
    c
}

fn fragmented(v6: bool) -> Fixture {
    let c = if v6 {
        padded_invite(ipv6_call("frag6@2001:db8::21"))
    } else {
        padded_invite(basic_call("frag4@10.0.0.21", T0, 1060))
    };
    let mut s = Scene::default();
    s.call(&c);
    let mtu = if v6 { 1280 } else { 1500 };
    let mut packets = Vec::new();
    for p in s.packets.drain(..) {
        if p.payload().starts_with(b"INVITE ") {
            packets.extend(wire::fragment(&p, mtu, 0x0000_BEEF, !v6));
        } else {
            packets.push(p);
        }
    }
    s.packets = packets;
    if v6 {
        fixture(
            "ipv6_fragmented_invite.pcap",
            "pcap LE µs, Ethernet, IPv6. The ~3.2 kB INVITE of call frag6@2001:db8::21 is split at MTU 1280 into \
             3 fragments (Fragment header, id 0xBEEF, in order: frames 1-3); then 100, 180, 200, ACK, BYE, 200 and \
             50 RTP packets each way. 109 frames, final 200.",
            s.capture(Link::Ethernet, LE_US, 65535),
        )
    } else {
        fixture(
            "ip_fragmented_invite.pcap",
            "pcap LE µs, Ethernet, IPv4. The ~3.2 kB INVITE of call frag4@10.0.0.21 is split at MTU 1500 into \
             3 fragments (IP id 0xBEEF) written last-fragment-first (frames 1-3, offsets descending); then 100, \
             180, 200, ACK, BYE, 200 and 50 RTP packets each way. 109 frames, final 200.",
            s.capture(Link::Ethernet, LE_US, 65535),
        )
    }
}

fn tunnels() -> Fixture {
    let mut s = Scene::default();
    let c = basic_call("tunnel@10.0.0.21", T0, 1060);
    s.call(&c);
    let mut enc = IpEncoder::new(0x7000);
    let a = Ipv4Addr::new(198, 51, 100, 1);
    let b = Ipv4Addr::new(198, 51, 100, 2);
    let packets: Vec<Packet> = s
        .sorted()
        .iter()
        .map(|p| {
            let from_a = p.src.ip() == c.caller.sip.ip();
            let (os, od) = if from_a { (a, b) } else { (b, a) };
            let kind = if p.src.port() == 5060 {
                Tunnel::IpIp
            } else {
                Tunnel::Gre
            };
            wire::tunnel(&mut enc, p, kind, os, od)
        })
        .collect();
    s.packets = packets;
    fixture(
        "ipip_gre_tunnel.pcap",
        "pcap LE µs, Ethernet. Call tunnel@10.0.0.21 (final 200) between 10.0.0.21 and 10.0.0.22 carried \
         between 198.51.100.1 and 198.51.100.2: the 7 SIP frames in IP-in-IP (protocol 4), the 100 RTP packets \
         (50 each way) in GRE (protocol 47, type 0x0800). 107 frames.",
        s.capture(Link::Ethernet, LE_US, 65535),
    )
}

fn dns() -> Fixture {
    let mut s = Scene::default();
    let client = sa("192.0.2.10:53001");
    let server = sa("192.0.2.53:53");
    let q = |s: &mut Scene, i: u16, name: &str, qt: u16, rcode: u8, ans: Vec<DnsAnswer>| {
        let t = T0 + i64::from(i) * 10 * MS;
        let c = SocketAddr::new(client.ip(), client.port() + i);
        s.add(vec![
            Packet::udp(t, c, server, net::dns_query(0x5100 + i, name, qt)),
            Packet::udp(
                t + 3 * MS,
                server,
                c,
                net::dns_response(0x5100 + i, name, qt, rcode, &ans),
            ),
        ]);
    };
    q(
        &mut s,
        0,
        "example.com",
        net::TYPE_NAPTR,
        0,
        vec![DnsAnswer::Naptr {
            order: 10,
            preference: 100,
            flags: "S".into(),
            service: "SIP+D2U".into(),
            replacement: "_sip._udp.example.com".into(),
        }],
    );
    q(
        &mut s,
        1,
        "_sip._udp.example.com",
        net::TYPE_SRV,
        0,
        vec![DnsAnswer::Srv {
            priority: 10,
            weight: 60,
            port: 5060,
            target: "sip.example.com".into(),
        }],
    );
    q(
        &mut s,
        2,
        "sip.example.com",
        net::TYPE_A,
        0,
        vec![DnsAnswer::A(Ipv4Addr::new(203, 0, 113, 5))],
    );
    q(
        &mut s,
        3,
        "sip.nonexistent.example",
        net::TYPE_A,
        net::RCODE_NXDOMAIN,
        vec![],
    );
    q(
        &mut s,
        4,
        "_sip._udp.broken.example",
        net::TYPE_SRV,
        net::RCODE_SERVFAIL,
        vec![],
    );
    let mut c = Call::new(
        "dns@192.0.2.10",
        pbx("1001", 40000),
        trunk("203.0.113.5", "+33145551234", 30000),
        T0 + SEC,
        Outcome::Answered { duration_ms: 1060 },
    );
    c.domain = "example.com".into();
    s.call(&c);
    fixture(
        "dns_nxdomain.pcap",
        "pcap LE µs, Ethernet. 10 DNS frames (192.0.2.10 -> 192.0.2.53): NAPTR example.com (1 answer SIP+D2U), \
         SRV _sip._udp.example.com (10 60 5060 sip.example.com), A sip.example.com = 203.0.113.5, \
         A sip.nonexistent.example -> NXDOMAIN (rcode 3, frame 8), SRV _sip._udp.broken.example -> SERVFAIL \
         (rcode 2, frame 10); then call dns@192.0.2.10 to sip:+33145551234@example.com via 203.0.113.5, \
         final 200, 50 RTP each way. 117 frames.",
        s.capture(Link::Ethernet, LE_US, 65535),
    )
}

// ---------------------------------------------------------------- SIP quirks

fn sip_quirks() -> Vec<Fixture> {
    vec![
        tcp_quirks(),
        compact_folded_lf(),
        nonstandard_ports(),
        hold_resume(),
        redirect(),
        early_media_cancel(),
        tcp_rst(),
    ]
}

fn tcp_call(call_id: &str, port: u16, outcome: Outcome) -> Call {
    let mut c = basic_call(call_id, T0, 0);
    c.caller.sip = sa("10.0.0.21:49152");
    c.callee.sip = SocketAddr::new(c.callee.sip.ip(), port);
    c.domain = format!("10.0.0.22:{port}");
    c.transport = "TCP".into();
    c.outcome = outcome;
    c
}

fn msg_bytes(m: &Timed) -> Vec<u8> {
    m.msg.to_bytes()
}

fn tcp_quirks() -> Fixture {
    let c = tcp_call(
        "tcpquirks@10.0.0.21",
        5060,
        Outcome::Answered { duration_ms: 1060 },
    );
    let m = c.messages();
    let mut f = TcpFlow::new(
        c.caller.sip,
        c.callee.sip,
        T0 - 5 * MS,
        0x1000_0000,
        0x2000_0000,
    );
    f.handshake();
    // m: INVITE, 100, 180, 200, ACK, BYE, 200
    let (Some(inv), Some(t100), Some(t180), Some(ok), Some(ack), Some(bye), Some(ok2)) = (
        m.first(),
        m.get(1),
        m.get(2),
        m.get(3),
        m.get(4),
        m.get(5),
        m.get(6),
    ) else {
        return fixture(
            "sip_tcp_quirks.pcap",
            "empty",
            (Vec::new(), Expected::default()),
        );
    };
    f.at(inv.time_ns)
        .send_split(true, &msg_bytes(inv), 3)
        .ack(false);
    let mut both = msg_bytes(t100);
    both.extend_from_slice(&msg_bytes(t180));
    f.at(t180.time_ns).send(false, &both).ack(true);
    f.at(ok.time_ns)
        .send_out_of_order(false, &msg_bytes(ok))
        .ack(true);
    f.at(ack.time_ns)
        .send(true, &msg_bytes(ack))
        .retransmit_last()
        .ack(false);
    f.at(bye.time_ns).send(true, &msg_bytes(bye));
    f.at(ok2.time_ns).send(false, &msg_bytes(ok2)).ack(true);
    f.close(true);
    let mut s = Scene::default();
    s.note_call(&c);
    s.add(f.packets());
    for st in c.rtp_streams() {
        s.stream(&st);
    }
    fixture(
        "sip_tcp_quirks.pcap",
        "pcap LE µs, Ethernet. Call tcpquirks@10.0.0.21 over TCP 10.0.0.21:49152 -> 10.0.0.22:5060 (final 200): \
         frames 1-3 handshake; INVITE split over 3 segments (frames 4-6) + ACK; 100 Trying and 180 Ringing \
         coalesced in one segment (frame 8); 200 OK sent in 2 segments out of order (second half first); \
         the SIP ACK segment is retransmitted once (identical seq) 200 ms later; BYE, 200, FIN/FIN/ACK. \
         7 SIP messages, 50 UDP RTP packets each way. 121 frames. (tshark decodes the 200 only with \
         -o tcp.reassemble_out_of_order:TRUE.)",
        s.capture(Link::Ethernet, LE_US, 65535),
    )
}

fn lf_message(lines: &[String], body: &str) -> Vec<u8> {
    let mut text = lines.join("\n");
    text.push_str(&format!("\nl: {}\n\n", body.len()));
    text.push_str(body);
    text.into_bytes()
}

fn compact_folded_lf() -> Fixture {
    let a = sa("10.0.0.21:5060");
    let b = sa("10.0.0.22:5060");
    let cid = "compact-folded-lf@10.0.0.21";
    let via = "v: SIP/2.0/UDP 10.0.0.21:5060;branch=z9hG4bKcmp1;rport".to_string();
    let from = "f: \"1001\" <sip:1001@10.0.0.21>;tag=cf1".to_string();
    let to = "t: <sip:2002@10.0.0.22>".to_string();
    let to_tag = "t: <sip:2002@10.0.0.22>;tag=cf2".to_string();
    let callid = format!("i: {cid}");
    let sdp_a = "v=0\no=- 1 1 IN IP4 10.0.0.21\ns=-\nc=IN IP4 10.0.0.21\nt=0 0\nm=audio 12000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n";
    let sdp_b = "v=0\no=- 2 1 IN IP4 10.0.0.22\ns=-\nc=IN IP4 10.0.0.22\nt=0 0\nm=audio 14000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n";
    let l = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let invite = lf_message(
        &[
            l(&["INVITE sip:2002@10.0.0.22 SIP/2.0"]),
            vec![via.clone(), from.clone(), to.clone(), callid.clone()],
            l(&[
                "CSeq: 1 INVITE",
                "m: <sip:1001@10.0.0.21:5060>",
                "Subject: folded header",
                "  continued on a second line",
                "User-Agent: Linphone/5.2.0",
                "\t(folded with a tab)",
                "c: application/sdp",
            ]),
        ]
        .concat(),
        sdp_a,
    );
    let resp = |status: &str, cseq: &str, tag: bool, extra: &[&str]| {
        let mut v = vec![
            status.to_string(),
            via.clone(),
            from.clone(),
            if tag { to_tag.clone() } else { to.clone() },
        ];
        v.push(callid.clone());
        v.push(format!("CSeq: {cseq}"));
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };
    let t = |ms: i64| T0 + ms * MS;
    let mut s = Scene::default();
    s.calls.push((cid.to_string(), 200));
    s.add(vec![
        Packet::udp(t(0), a, b, invite),
        Packet::udp(
            t(10),
            b,
            a,
            lf_message(&resp("SIP/2.0 100 Trying", "1 INVITE", false, &[]), ""),
        ),
        Packet::udp(
            t(200),
            b,
            a,
            lf_message(
                &resp(
                    "SIP/2.0 180 Ringing",
                    "1 INVITE",
                    true,
                    &["m: <sip:2002@10.0.0.22>", "Server: Obi202", " 3.2.2"],
                ),
                "",
            ),
        ),
        Packet::udp(
            t(2000),
            b,
            a,
            lf_message(
                &resp(
                    "SIP/2.0 200 OK",
                    "1 INVITE",
                    true,
                    &["m: <sip:2002@10.0.0.22>", "c: application/sdp"],
                ),
                sdp_b,
            ),
        ),
    ]);
    let req = |method: &str, cseq: &str| {
        let mut v = vec![format!("{method} sip:2002@10.0.0.22 SIP/2.0")];
        v.push(via.replace("cmp1", &format!("cmp{cseq}")));
        v.extend([
            from.clone(),
            to_tag.clone(),
            callid.clone(),
            format!("CSeq: {cseq} {method}"),
        ]);
        v
    };
    s.add(vec![
        Packet::udp(t(2030), a, b, lf_message(&req("ACK", "1"), "")),
        Packet::udp(t(3060), a, b, lf_message(&req("BYE", "2"), "")),
        Packet::udp(
            t(3080),
            b,
            a,
            lf_message(&resp("SIP/2.0 200 OK", "2 BYE", true, &[]), ""),
        ),
    ]);
    let st1 = RtpStream::new(
        sa("10.0.0.21:12000"),
        sa("10.0.0.22:14000"),
        0,
        0x0C0F_1001,
        t(2040),
        50,
    );
    let st2 = RtpStream::new(
        sa("10.0.0.22:14000"),
        sa("10.0.0.21:12000"),
        0,
        0x0C0F_2002,
        t(2043),
        50,
    );
    s.stream(&st1).stream(&st2);
    fixture(
        "sip_compact_folded_lf.pcap",
        "pcap LE µs, Ethernet. Call compact-folded-lf@10.0.0.21 written with bare LF line ends, compact \
         header names (v f t i m c l), and folded headers (Subject continued with spaces, User-Agent with a tab, \
         Server in the 180 folded). INVITE, 100, 180, 200 (SDP), ACK, BYE, 200: 7 SIP frames, final 200; \
         50 RTP packets each way (SSRC 0x0C0F1001 / 0x0C0F2002). 107 frames.",
        s.capture(Link::Ethernet, LE_US, 65535),
    )
}

fn nonstandard_ports() -> Fixture {
    let mut s = Scene::default();
    let mut c1 = basic_call("port5080@10.0.0.21", T0, 1060);
    c1.caller.sip = sa("10.0.0.21:5080");
    c1.callee.sip = sa("10.0.0.22:5080");
    c1.domain = "10.0.0.22:5080".into();
    s.call(&c1);
    let mut c2 = tcp_call(
        "port6060@10.0.0.21",
        6060,
        Outcome::Failed {
            code: 486,
            reason: None,
        },
    );
    c2.start_ns = T0 + 3 * SEC;
    c2.ring_ms = 1000;
    let m = c2.messages();
    let mut f = TcpFlow::new(
        c2.caller.sip,
        c2.callee.sip,
        c2.start_ns - 5 * MS,
        0x3000_0000,
        0x4000_0000,
    );
    f.handshake();
    for msg in &m {
        f.at(msg.time_ns).send(msg.from_caller, &msg_bytes(msg));
    }
    f.close(true);
    s.note_call(&c2);
    s.add(f.packets());
    fixture(
        "sip_nonstandard_port.pcap",
        "pcap LE µs, Ethernet. Call port5080@10.0.0.21 over UDP 5080 <-> 5080 answered (7 SIP frames, 50 RTP \
         each way) and call port6060@10.0.0.21 over TCP 10.0.0.21:49152 -> 10.0.0.22:6060 rejected 486 Busy \
         Here (handshake, INVITE, 100, 486, ACK, FIN/FIN/ACK = 10 frames). 117 frames.",
        s.capture(Link::Ethernet, LE_US, 65535),
    )
}

fn hold_resume() -> Fixture {
    let mut s = Scene::default();
    let mut c = basic_call("hold@10.0.0.21", T0, 8060);
    c.hold = Some((2000, 5000));
    s.call(&c);
    fixture(
        "hold_resume.pcap",
        "pcap LE µs, Ethernet. Call hold@10.0.0.21 answered (200), at +2 s the caller re-INVITEs with \
         a=sendonly (200 with a=recvonly, ACK), at +5 s re-INVITEs with a=sendrecv (200, ACK), BYE at +8.06 s. \
         13 SIP frames. Caller RTP: 400 packets continuous. Callee RTP (one SSRC): 99 packets, none \
         while held, 151 more after resume with contiguous sequence numbers (0 lost) = 250. 663 frames.",
        s.capture(Link::Ethernet, LE_US, 65535),
    )
}

fn redirect() -> Fixture {
    let mut s = Scene::default();
    let mut c1 = basic_call("redirect-1@10.0.0.21", T0, 0);
    c1.outcome = Outcome::Failed {
        code: 302,
        reason: None,
    };
    c1.ring_ms = 50;
    c1.final_headers = vec![("Contact".into(), "<sip:2003@10.0.0.23:5060>".into())];
    s.call(&c1);
    let mut c2 = basic_call("redirect-2@10.0.0.21", T0 + 200 * MS, 1060);
    c2.callee = phone("10.0.0.23", "2003", "Cisco-CP8845/12.8.1", 16000);
    s.call(&c2);
    fixture(
        "redirect_3xx.pcap",
        "pcap LE µs, Ethernet. Call redirect-1@10.0.0.21 to 2002@10.0.0.22: INVITE, 100, 302 Moved Temporarily \
         (Contact <sip:2003@10.0.0.23:5060>), ACK. Then call redirect-2@10.0.0.21 to 2003@10.0.0.23: answered \
         (7 SIP frames), 50 RTP each way. Statuses: 302, 200. 111 frames.",
        s.capture(Link::Ethernet, LE_US, 65535),
    )
}

fn early_media_cancel() -> Fixture {
    let mut s = Scene::default();
    let mut c = basic_call("early@10.0.0.21", T0, 0);
    c.outcome = Outcome::Cancelled;
    c.early_media = true;
    c.ring_ms = 4000;
    s.call(&c);
    fixture(
        "early_media_cancel.pcap",
        "pcap LE µs, Ethernet. Call early@10.0.0.21: INVITE, 100, 183 Session Progress with SDP (frame 3), \
         callee RTP (early media) 189 packets 10.0.0.22:14000 -> 10.0.0.21:12000 from +220 ms, no caller RTP, \
         CANCEL at +4 s, 200 (CANCEL), 487 Request Terminated, ACK. Final 487. 196 frames.",
        s.capture(Link::Ethernet, LE_US, 65535),
    )
}

fn tcp_rst() -> Fixture {
    let c = tcp_call("tcprst@10.0.0.21", 5060, Outcome::NoResponse);
    let inv = c.invite().to_bytes();
    let trying = c.response_to(&c.invite(), 100).to_bytes();
    let mut f = TcpFlow::new(c.caller.sip, c.callee.sip, T0, 0x5000_0000, 0x6000_0000);
    f.handshake()
        .send(true, &inv)
        .send(false, &trying)
        .rst(false);
    let mut s = Scene::default();
    s.note_call(&c);
    s.add(f.packets());
    fixture(
        "tcp_rst_sip.pcap",
        "pcap LE µs, Ethernet. SIP over TCP 10.0.0.21:49152 -> 10.0.0.22:5060: SYN, SYN/ACK, ACK, INVITE \
         (call tcprst@10.0.0.21), 100 Trying, then RST/ACK from the server (frame 6). No final response \
         (status 0). 6 frames.",
        s.capture(Link::Ethernet, LE_US, 65535),
    )
}

// ---------------------------------------------------------------- media quirks

fn media_quirks() -> Vec<Fixture> {
    vec![ssrc_change(), rtcp_xr(), dtmf(), loss_jitter(), stun()]
}

/// The basic call's signalling with custom streams.
fn with_streams(call_id: &str, talk_ms: i64, edit: impl Fn(&mut RtpStream, usize)) -> Scene {
    let c = basic_call(call_id, T0, talk_ms);
    let mut s = Scene::default();
    s.sip(&c);
    for (i, mut st) in c.rtp_streams().into_iter().enumerate() {
        edit(&mut st, i);
        s.stream(&st);
    }
    s
}

fn ssrc_change() -> Fixture {
    let s = with_streams("ssrc@10.0.0.21", 4060, |st, i| {
        if i == 0 {
            st.ssrc = 0x1111_0001;
            st.seq0 = 1000;
            st.ssrc_change = Some((100, 0x2222_0002, 30000, 123_456));
        }
    });
    fixture(
        "ssrc_change.pcap",
        "pcap LE µs, Ethernet. Call ssrc@10.0.0.21 answered. Caller RTP 10.0.0.21:12000 -> 10.0.0.22:14000: \
         100 packets SSRC 0x11110001 (seq 1000-1099) then 100 packets SSRC 0x22220002 (seq 30000-30099, marker \
         set) on the same 5-tuple; callee RTP 200 packets one SSRC. 0 lost. 407 frames.",
        s.capture(Link::Ethernet, LE_US, 65535),
    )
}

fn rtcp_xr() -> Fixture {
    let s = with_streams("rtcpxr@10.0.0.21", 11060, |st, i| {
        st.rtcp = Some(Rtcp {
            interval_ms: 5000,
            remote_ssrc: if i == 0 { 0xB0B0_0002 } else { 0xA0A0_0001 },
            cname: format!("user{i}@10.0.0.2{}", i + 1),
            xr: true,
        });
        st.ssrc = if i == 0 { 0xA0A0_0001 } else { 0xB0B0_0002 };
    });
    fixture(
        "rtcp_xr.pcap",
        "pcap LE µs, Ethernet. Call rtcpxr@10.0.0.21 answered, 550 RTP packets each way (SSRC 0xA0A00001 \
         caller, 0xB0B00002 callee). Each side sends RTCP to port+1 (12001/14001) every 5 s: 2 compound \
         packets each = SR (1 report block) + SDES CNAME + XR VoIP Metrics (BT 7). 4 RTCP frames; \
         7 SIP + 1100 RTP + 4 RTCP = 1111 frames.",
        s.capture(Link::Ethernet, LE_US, 65535),
    )
}

fn dtmf() -> Fixture {
    let s = with_streams("dtmf@10.0.0.21", 4060, |st, i| {
        if i == 0 {
            st.dtmf = vec![
                Dtmf {
                    slot: 50,
                    event: 1,
                    slots: 8,
                },
                Dtmf {
                    slot: 80,
                    event: 2,
                    slots: 8,
                },
                Dtmf {
                    slot: 110,
                    event: 11,
                    slots: 8,
                },
            ];
        } else {
            st.silence = vec![(60, 50)];
        }
    });
    fixture(
        "dtmf_rfc4733.pcap",
        "pcap LE µs, Ethernet. Call dtmf@10.0.0.21 answered. Caller RTP 200 packets, of which 24 are RFC 4733 \
         telephone-event PT 101 (digits '1', '2', '#', 8 packets each: 5 progress + 3 end packets with the E bit, \
         same timestamp per event, marker on the first). Callee RTP: silence from slot 60 for 50 slots: one \
         comfort-noise packet (PT 13) then nothing, audio resumes with marker; 151 packets, contiguous seq. \
         0 lost. 358 frames.",
        s.capture(Link::Ethernet, LE_US, 65535),
    )
}

fn loss_jitter() -> Fixture {
    let s = with_streams("loss@10.0.0.21", 6060, |st, i| {
        if i == 0 {
            st.ssrc = 0x0105_5000;
            st.seq0 = 65400;
            st.drop_seq = vec![65450, 65535, 10];
            st.dup_seq = vec![65500];
            st.swap_seq = vec![65520, 50];
            let mut rng = XorShift::new(42);
            st.delays_ns = (0..300u16)
                .map(|k| (65400u16.wrapping_add(k), (rng.below(8) as i64) * MS))
                .collect();
        }
    });
    fixture(
        "rtp_loss_jitter_reorder.pcap",
        "pcap LE µs, Ethernet. Call loss@10.0.0.21 answered. Caller RTP SSRC 0x01055000, 300 slots from seq \
         65400 wrapping through 0 to 163: seqs 65450, 65535 and 10 dropped, 65500 duplicated, 65520<->65521 and \
         50<->51 swapped on the wire, every packet delayed 0-7 ms (xorshift seed 42). 298 packets received, \
         lost = 300 - 298 = 2 (3 missing - 1 duplicate). Callee RTP 300 packets, 0 lost. 605 frames.",
        s.capture(Link::Ethernet, LE_US, 65535),
    )
}

fn stun() -> Fixture {
    let mut s = with_streams("stun@10.0.0.21", 2060, |_, _| {});
    let a = sa("10.0.0.21:12000");
    let b = sa("10.0.0.22:14000");
    let mut stun = Vec::new();
    for i in 0..3u8 {
        let t = T0 + 2000 * MS + i64::from(i) * 10 * MS + 5 * MS;
        let tx = [i, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        stun.push(Packet::udp(t, a, b, rtp::stun_binding_request(tx)));
        stun.push(Packet::udp(t + MS, b, a, rtp::stun_binding_response(tx, a)));
    }
    let tx = [9u8; 12];
    let mid = T0 + 3000 * MS + 7 * MS;
    stun.push(Packet::udp(mid, a, b, rtp::stun_binding_request(tx)));
    stun.push(Packet::udp(
        mid + MS,
        b,
        a,
        rtp::stun_binding_response(tx, a),
    ));
    s.add(stun);
    fixture(
        "stun_not_rtp.pcap",
        "pcap LE µs, Ethernet. Call stun@10.0.0.21 answered, 100 RTP each way on 12000 <-> 14000. On the same \
         ports: 3 STUN Binding Request/Success Response pairs (magic cookie 0x2112A442) just after the 200 OK \
         and 1 pair mid-call: 8 STUN frames that are not RTP (tshark shows them as RTP version 0 but keeps them out of RTP \
         streams). 215 frames.",
        s.capture(Link::Ethernet, LE_US, 65535),
    )
}

/// `n` calls from 100 phones to a trunk, one every 10 ms: a third answered (no RTP: the builder's RTP is
/// off), a third 403, a third 486.
pub fn sip_only_capture(n: usize) -> Vec<u8> {
    let mut packets = Vec::new();
    for i in 0..n {
        let caller = super::sip::Party::new(
            &format!("10.1.{}.{}:5060", i / 250 % 250, i % 250 + 1),
            &format!("{}", 1000 + i % 100),
            "Yealink SIP-T46S 66.86.0.15",
            &format!("10.1.{}.{}:20000", i / 250 % 250, i % 250 + 1),
        );
        let callee = super::sip::Party::new(
            "203.0.113.5:5060",
            "+33145550000",
            "Trunk SBC",
            "203.0.113.5:30000",
        );
        let outcome = match i % 3 {
            0 => super::sip::Outcome::Answered { duration_ms: 2000 },
            1 => super::sip::Outcome::Failed {
                code: 403,
                reason: None,
            },
            _ => super::sip::Outcome::Failed {
                code: 486,
                reason: None,
            },
        };
        let mut call = super::sip::Call::new(
            &format!("heavy-{i}@bench"),
            caller,
            callee,
            1_700_000_000_000_000_000 + i as i64 * 10_000_000,
            outcome,
        );
        call.caller_rtp = false;
        call.callee_rtp = false;
        packets.extend(call.sip_packets());
    }
    packets.sort_by_key(|p| p.time_ns);
    super::write_capture(
        &packets,
        super::Link::Ethernet,
        super::Container::Pcap {
            big_endian: false,
            nanos: false,
        },
        65535,
    )
}

/// `n` calls one after another, `spacing_ms` apart, each with its own phone and RTP ports: three of four
/// answered (2 s of PCMU each way), the fourth refused with 486. A long capture in which calls end
/// while others begin: what the retirement of finished calls into segments is tested on.
pub fn long_capture(n: usize, spacing_ms: i64) -> Vec<u8> {
    super::write_capture(
        &long_capture_packets(0, n, spacing_ms),
        super::Link::Ethernet,
        super::Container::Pcap {
            big_endian: false,
            nanos: false,
        },
        65535,
    )
}

/// Calls per block of `long_capture_packets`: blocks are 5 s apart, so they can be written one after
/// another without mixing their packets.
pub const LONG_BLOCK: usize = 1000;

/// The packets of calls `first..first + count` of the long capture, in time order.
pub fn long_capture_packets(first: usize, count: usize, spacing_ms: i64) -> Vec<super::Packet> {
    let mut packets = Vec::new();
    for i in first..first + count {
        let port = 20_000 + 2 * (i % 5_000) as u16;
        let ip = format!("10.2.{}.{}", i / 250 % 250, i % 250 + 1);
        let caller = super::sip::Party::new(
            &format!("{ip}:5060"),
            &format!("{}", 1000 + i % 100),
            "Yealink SIP-T46S 66.86.0.15",
            &format!("{ip}:{port}"),
        );
        let callee = super::sip::Party::new(
            "192.0.2.10:5060",
            &format!("{}", 2000 + i % 50),
            "PortSIP PBX 22.3",
            &format!("192.0.2.10:{}", port + 10_000),
        );
        let outcome = if i % 4 == 3 {
            super::sip::Outcome::Failed {
                code: 486,
                reason: None,
            }
        } else {
            super::sip::Outcome::Answered { duration_ms: 2060 }
        };
        let start_ms = i as i64 * spacing_ms + (i / LONG_BLOCK) as i64 * 5_000;
        let call = super::sip::Call::new(
            &format!("long-{i}@test"),
            caller,
            callee,
            1_700_000_000_000_000_000 + start_ms * 1_000_000,
            outcome,
        );
        packets.extend(call.packets());
    }
    packets.sort_by_key(|p| p.time_ns);
    packets
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minimal independent reader: (linktypes, frames as (iface, caplen, origlen, data)).
    type Frames = Vec<(u32, usize, usize, Vec<u8>)>;

    fn rd32(b: &[u8], at: usize, be: bool) -> u32 {
        let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if be {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }

    fn read(bytes: &[u8]) -> (Vec<u32>, Frames) {
        let mut raw = Vec::new();
        let b: &[u8] = if bytes.starts_with(&[0x1F, 0x8B]) {
            use std::io::Read;
            flate2::read::GzDecoder::new(bytes)
                .read_to_end(&mut raw)
                .unwrap();
            &raw
        } else {
            bytes
        };
        let mut frames = Vec::new();
        let mut links = Vec::new();
        if b[..4] == [0x0A, 0x0D, 0x0D, 0x0A] {
            let mut at = 0;
            let mut be = false;
            let mut base = 0;
            while at + 12 <= b.len() {
                if b[at..at + 4] == [0x0A, 0x0D, 0x0D, 0x0A] {
                    be = b[at + 8] == 0x1A;
                    base = links.len() as u32;
                }
                let t = rd32(b, at, be);
                let len = rd32(b, at + 4, be) as usize;
                if t == 1 {
                    let lt = if be {
                        u16::from_be_bytes([b[at + 8], b[at + 9]])
                    } else {
                        u16::from_le_bytes([b[at + 8], b[at + 9]])
                    };
                    links.push(u32::from(lt));
                }
                if t == 6 {
                    let cap = rd32(b, at + 20, be) as usize;
                    frames.push((
                        base + rd32(b, at + 8, be),
                        cap,
                        rd32(b, at + 24, be) as usize,
                        b[at + 28..at + 28 + cap].to_vec(),
                    ));
                }
                at += len;
            }
        } else {
            let be = b[0] == 0xA1;
            links.push(rd32(b, 20, be));
            let mut at = 24;
            while at + 16 <= b.len() {
                let cap = rd32(b, at + 8, be) as usize;
                frames.push((
                    0,
                    cap,
                    rd32(b, at + 12, be) as usize,
                    b[at + 16..at + 16 + cap].to_vec(),
                ));
                at += 16 + cap;
            }
        }
        (links, frames)
    }

    #[test]
    fn every_fixture_matches_its_stated_counts() {
        let all = all();
        assert!(all.len() >= 31);
        let mut total = 0;
        for f in &all {
            let (links, frames) = read(&f.bytes);
            assert_eq!(links, f.expected.links, "{}", f.name);
            assert_eq!(frames.len(), f.expected.packets, "{}", f.name);
            let stated = format!("{} frames", f.expected.packets);
            assert!(
                f.description.contains(&stated),
                "{}: description should state '{stated}'",
                f.name
            );
            assert_eq!(f.expected.calls, f.expected.statuses.len());
            total += f.bytes.len();
        }
        assert!(total < 3_000_000, "fixtures total {total} bytes");
    }

    #[test]
    fn demo_facts() {
        let e = expected("demo.pcapng").unwrap();
        let st: Vec<(&str, u16)> = e.statuses.iter().map(|(c, s)| (c.as_str(), *s)).collect();
        assert_eq!(
            st,
            vec![
                ("demo-a-healthy", 200),
                ("demo-b-oneway", 200),
                ("demo-c-noanswer", 0),
                ("demo-d-inbound407", 407),
                ("demo-e-403", 403),
                ("demo-g-cancel", 487),
                ("demo-h-icmp", 0)
            ]
        );
        let rtp: Vec<(u16, usize, i64)> = e
            .rtp
            .iter()
            .map(|s| (s.src.port(), s.packets, s.lost))
            .collect();
        assert_eq!(rtp, vec![(40000, 500, 0), (30000, 500, 0), (40002, 300, 0)]);
        assert_eq!(e.links, vec![113]);
    }

    #[test]
    fn media_facts() {
        let e = expected("rtp_loss_jitter_reorder.pcap").unwrap();
        assert_eq!(
            (e.rtp[0].ssrc, e.rtp[0].packets, e.rtp[0].lost),
            (0x0105_5000, 298, 2)
        );
        let e = expected("ssrc_change.pcap").unwrap();
        assert_eq!(e.rtp.len(), 3);
        assert_eq!((e.rtp[0].packets, e.rtp[1].packets), (100, 100));
        let e = expected("hold_resume.pcap").unwrap();
        let counts: Vec<(usize, i64)> = e.rtp.iter().map(|s| (s.packets, s.lost)).collect();
        assert_eq!(counts, vec![(400, 0), (250, 0)]);
        let e = expected("dtmf_rfc4733.pcap").unwrap();
        let counts: Vec<usize> = e.rtp.iter().map(|s| s.packets).collect();
        assert_eq!(counts, vec![200, 151]);
        let e = expected("early_media_cancel.pcap").unwrap();
        assert_eq!(e.rtp[0].packets, 189);
        assert_eq!(e.statuses[0].1, 487);
    }

    #[test]
    fn snaplen_fixture_is_truncated() {
        let f = by_name("snaplen_cut.pcap").unwrap();
        let (_, frames) = read(&f.bytes);
        assert!(frames.iter().all(|x| x.1 <= 96));
        assert!(frames.iter().filter(|x| x.1 < x.2).count() == frames.len());
    }

    fn tshark(args: &[&str]) -> String {
        let out = std::process::Command::new("tshark")
            .args([
                "-d",
                "udp.port==5080,sip",
                "-d",
                "tcp.port==6060,sip",
                "-o",
                "tcp.reassemble_out_of_order:TRUE",
            ])
            .args(args)
            .output()
            .expect("tshark");
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Dev-only: `cargo test -- --ignored tshark` with /usr/bin/tshark installed.
    /// Checks frame counts, final INVITE statuses and RTP streams (SSRC, packets, lost).
    #[test]
    #[ignore]
    fn tshark_agrees_with_expected() {
        let dir = std::env::temp_dir().join(format!("scenario-tshark-{}", std::process::id()));
        write_all(&dir).unwrap();
        let mut failures = Vec::new();
        for f in all() {
            let path = dir.join(f.name);
            let file = path.to_str().unwrap();
            let frames = tshark(&["-r", file, "-T", "fields", "-e", "frame.number"])
                .lines()
                .count();
            if frames != f.expected.packets {
                failures.push(format!(
                    "{}: frames {frames} != {}",
                    f.name, f.expected.packets
                ));
            }
            let mut finals: BTreeMap<String, u16> = BTreeMap::new();
            let filter = "sip.Status-Code >= 200 && sip.CSeq.method == \"INVITE\"";
            for line in tshark(&[
                "-r",
                file,
                "-Y",
                filter,
                "-T",
                "fields",
                "-e",
                "sip.Call-ID",
                "-e",
                "sip.Status-Code",
            ])
            .lines()
            {
                let mut it = line.split('\t');
                if let (Some(id), Some(code)) = (
                    it.next(),
                    it.next().and_then(|c| c.split(',').next()?.parse().ok()),
                ) {
                    finals.insert(id.to_string(), code);
                }
            }
            if f.name != "snaplen_cut.pcap" {
                for (id, status) in &f.expected.statuses {
                    let got = finals.get(id).copied().unwrap_or(0);
                    if got != *status {
                        failures.push(format!("{}: {id} status {got} != {status}", f.name));
                    }
                }
                let streams = tshark(&["-r", file, "-q", "-z", "rtp,streams"]);
                for st in &f.expected.rtp {
                    let key = format!("0x{:08X}", st.ssrc);
                    let line = streams.lines().find(|l| l.contains(&key)).unwrap_or("");
                    let cols: Vec<&str> = line.split_whitespace().collect();
                    let at = cols.iter().position(|c| *c == key).unwrap_or(0);
                    // columns after SSRC: payload (may contain spaces) ... Pkts Lost (pct)
                    let pct = cols
                        .iter()
                        .position(|c| c.starts_with('(') && c.ends_with("%)"))
                        .unwrap_or(0);
                    let got = (
                        cols.get(pct.saturating_sub(2)).copied(),
                        cols.get(pct.saturating_sub(1)).copied(),
                    );
                    let want = (Some(st.packets.to_string()), Some(st.lost.to_string()));
                    if at == 0 || (got.0.map(str::to_string), got.1.map(str::to_string)) != want {
                        failures.push(format!(
                            "{}: stream {key} got {got:?} want {want:?}",
                            f.name
                        ));
                    }
                }
            }
        }
        std::fs::remove_dir_all(&dir).ok();
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn generation_is_deterministic() {
        let a: Vec<Vec<u8>> = all().into_iter().map(|f| f.bytes).collect();
        let b: Vec<Vec<u8>> = all().into_iter().map(|f| f.bytes).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn write_all_writes_files() {
        let dir = std::env::temp_dir().join(format!("scenario-fixtures-{}", std::process::id()));
        let names = write_all(&dir).unwrap();
        assert!(names.contains(&"demo.pcapng".to_string()));
        for n in &names {
            assert!(dir.join(n).exists());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
