//! RTP stream generator with impairments, RFC 4733 DTMF, comfort noise,
//! RTCP (SR/RR/SDES, XR VoIP metrics) and STUN packets.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::{Body, MS, Packet};

/// An RFC 4733 telephone-event occupying `slots` packet times from `slot`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dtmf {
    pub slot: usize,
    /// Event code: 0-9 digits, 10 = '*', 11 = '#'.
    pub event: u8,
    /// Packet times covered; the last 3 are end packets (E bit). Minimum 4.
    pub slots: usize,
}

/// Periodic RTCP for a stream (sent from/to the RTP ports + 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rtcp {
    pub interval_ms: i64,
    /// SSRC reported on in the report block (the other direction).
    pub remote_ssrc: u32,
    pub cname: String,
    /// Append an RTCP-XR VoIP metrics block (RFC 3611 BT=7).
    pub xr: bool,
}

/// A generated RTP stream. Build with [`RtpStream::new`], adjust fields, then
/// call [`RtpStream::packets`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpStream {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub pt: u8,
    pub clock: u32,
    pub ptime_ms: u32,
    pub ssrc: u32,
    pub seq0: u16,
    pub ts0: u32,
    pub start_ns: i64,
    /// Number of packet times (slots) covered.
    pub count: usize,
    pub payload_len: usize,
    /// Sequence numbers never sent.
    pub drop_seq: Vec<u16>,
    /// Sequence numbers sent twice (copy 1 ms later).
    pub dup_seq: Vec<u16>,
    /// Sequence numbers swapped with the packet following them on the wire.
    pub swap_seq: Vec<u16>,
    /// Extra delay in ns for given sequence numbers (deterministic jitter).
    pub delays_ns: Vec<(u16, i64)>,
    /// From this slot on: new SSRC, new first sequence number, new timestamp base.
    pub ssrc_change: Option<(usize, u32, u16, u32)>,
    pub dtmf: Vec<Dtmf>,
    pub dtmf_pt: u8,
    /// Silent periods (slot, slots): one comfort-noise packet (PT 13) at the
    /// start, then nothing; the next audio packet has the marker bit.
    pub silence: Vec<(usize, usize)>,
    pub rtcp: Option<Rtcp>,
}

/// What a stream puts on the wire, per SSRC (Wireshark RTP-streams style:
/// lost = (highest ext seq - first ext seq + 1) - packets received).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpFacts {
    pub ssrc: u32,
    pub packets: usize,
    pub lost: i64,
}

struct Emitted {
    time_ns: i64,
    ssrc: u32,
    seq: u16,
    bytes: Vec<u8>,
}

impl RtpStream {
    /// 8 kHz, 20 ms, 160-byte payload stream; seq/ts bases derived from `ssrc`.
    pub fn new(
        src: SocketAddr,
        dst: SocketAddr,
        pt: u8,
        ssrc: u32,
        start_ns: i64,
        count: usize,
    ) -> Self {
        RtpStream {
            src,
            dst,
            pt,
            clock: 8000,
            ptime_ms: 20,
            ssrc,
            seq0: (ssrc >> 3) as u16 & 0x7FFF,
            ts0: ssrc.rotate_left(7) & 0x7FFF_FFFF,
            start_ns,
            count,
            payload_len: 160,
            drop_seq: Vec::new(),
            dup_seq: Vec::new(),
            swap_seq: Vec::new(),
            delays_ns: Vec::new(),
            ssrc_change: None,
            dtmf: Vec::new(),
            dtmf_pt: 101,
            silence: Vec::new(),
            rtcp: None,
        }
    }

    fn samples_per_packet(&self) -> u32 {
        self.clock / 1000 * self.ptime_ms
    }

    fn slot_ns(&self) -> i64 {
        i64::from(self.ptime_ms) * MS
    }

    fn audio_payload(&self, slot: usize) -> Vec<u8> {
        let silence = if self.pt == 8 { 0xD5 } else { 0xFF };
        (0..self.payload_len)
            .map(|i| silence ^ (((i + slot * 7) % 16) as u8))
            .collect()
    }

    fn dtmf_at(&self, slot: usize) -> Option<(&Dtmf, usize)> {
        self.dtmf
            .iter()
            .find(|d| slot >= d.slot && slot < d.slot + d.slots.max(4))
            .map(|d| (d, slot - d.slot))
    }

    fn silence_at(&self, slot: usize) -> Option<usize> {
        self.silence
            .iter()
            .find(|s| slot >= s.0 && slot < s.0 + s.1)
            .map(|s| slot - s.0)
    }

    /// Packets in send order before impairments.
    fn emit_clean(&self) -> Vec<Emitted> {
        let spp = self.samples_per_packet();
        let mut out = Vec::with_capacity(self.count);
        let (mut ssrc, mut seq, mut base_slot, mut ts_base) =
            (self.ssrc, self.seq0, 0usize, self.ts0);
        let mut marker_next = true;
        for slot in 0..self.count {
            if let Some((at, new_ssrc, new_seq, new_ts)) = self.ssrc_change
                && slot == at
            {
                (ssrc, seq, base_slot, ts_base) = (new_ssrc, new_seq, at, new_ts);
                marker_next = true;
            }
            let ts = ts_base.wrapping_add(spp.wrapping_mul((slot - base_slot) as u32));
            let time_ns = self.start_ns + slot as i64 * self.slot_ns();
            let (pt, marker, payload, ts) = if let Some(off) = self.silence_at(slot) {
                if off > 0 {
                    continue;
                }
                marker_next = true;
                (13u8, false, vec![0x40], ts)
            } else if let Some((d, off)) = self.dtmf_at(slot) {
                let n = d.slots.max(4);
                let end = off + 3 >= n;
                let dur_slots = if end { n - 2 } else { off + 1 };
                let duration = (spp as usize * dur_slots).min(0xFFFF) as u16;
                let ev_ts =
                    ts_base.wrapping_add(spp.wrapping_mul((d.slot - base_slot.min(d.slot)) as u32));
                let mut p = vec![d.event, if end { 0x80 | 10 } else { 10 }];
                p.extend_from_slice(&duration.to_be_bytes());
                if off + 1 == n {
                    marker_next = true;
                }
                (self.dtmf_pt, off == 0, p, ev_ts)
            } else {
                let m = marker_next;
                marker_next = false;
                (self.pt, m, self.audio_payload(slot), ts)
            };
            out.push(Emitted {
                time_ns,
                ssrc,
                seq,
                bytes: rtp_packet(pt, marker, seq, ts, ssrc, &payload),
            });
            seq = seq.wrapping_add(1);
        }
        out
    }

    fn impaired(&self) -> Vec<Emitted> {
        let mut list: Vec<Emitted> = Vec::new();
        for e in self.emit_clean() {
            if self.drop_seq.contains(&e.seq) {
                continue;
            }
            let delay = self
                .delays_ns
                .iter()
                .find(|d| d.0 == e.seq)
                .map_or(0, |d| d.1);
            let dup = self.dup_seq.contains(&e.seq);
            let e = Emitted {
                time_ns: e.time_ns + delay,
                ..e
            };
            if dup {
                list.push(Emitted {
                    time_ns: e.time_ns + MS,
                    ssrc: e.ssrc,
                    seq: e.seq,
                    bytes: e.bytes.clone(),
                });
            }
            list.push(e);
        }
        list.sort_by_key(|e| e.time_ns);
        for s in &self.swap_seq {
            if let Some(i) = list.iter().position(|e| e.seq == *s)
                && i + 1 < list.len()
            {
                let (t0, t1) = (list[i].time_ns, list[i + 1].time_ns);
                list.swap(i, i + 1);
                list[i].time_ns = t0;
                list[i + 1].time_ns = t1;
            }
        }
        list
    }

    /// RTP (and RTCP) packets sorted by time.
    pub fn packets(&self) -> Vec<Packet> {
        let list = self.impaired();
        let mut out: Vec<Packet> = list
            .iter()
            .map(|e| Packet::udp(e.time_ns, self.src, self.dst, e.bytes.clone()))
            .collect();
        if let Some(r) = &self.rtcp {
            out.extend(self.rtcp_packets(r, &list));
        }
        out.sort_by_key(|p| p.time_ns);
        out
    }

    fn rtcp_packets(&self, r: &Rtcp, list: &[Emitted]) -> Vec<Packet> {
        let mut out = Vec::new();
        let interval = r.interval_ms.max(100) * MS;
        let end = self.start_ns + self.count as i64 * self.slot_ns();
        let src = SocketAddr::new(self.src.ip(), self.src.port().wrapping_add(1));
        let dst = SocketAddr::new(self.dst.ip(), self.dst.port().wrapping_add(1));
        let mut t = self.start_ns + interval;
        while t < end {
            let sent: Vec<&Emitted> = list.iter().filter(|e| e.time_ns < t).collect();
            let Some(last) = sent.last() else {
                t += interval;
                continue;
            };
            let octets: usize = sent.iter().map(|e| e.bytes.len().saturating_sub(12)).sum();
            let rtp_ts =
                u32::from_be_bytes([last.bytes[4], last.bytes[5], last.bytes[6], last.bytes[7]]);
            let sr = SenderReport {
                ssrc: last.ssrc,
                time_ns: t,
                rtp_ts,
                packets: sent.len() as u32,
                octets: octets as u32,
            };
            let mut bytes = sender_report(&sr, Some(r.remote_ssrc));
            bytes.extend_from_slice(&sdes_cname(last.ssrc, &r.cname));
            if r.xr {
                bytes.extend_from_slice(&xr_voip_metrics(last.ssrc, r.remote_ssrc));
            }
            out.push(Packet::udp(t + MS, src, dst, bytes));
            t += interval;
        }
        out
    }

    /// Per-SSRC facts of the packets this stream puts on the wire.
    pub fn facts(&self) -> Vec<RtpFacts> {
        facts_of(self.impaired().iter().map(|e| (e.ssrc, e.seq)))
    }
}

/// Wireshark-style per-SSRC counts over (ssrc, seq) in capture order.
pub fn facts_of(seqs: impl Iterator<Item = (u32, u16)>) -> Vec<RtpFacts> {
    // ssrc -> (first ext seq, highest ext seq, last raw seq, cycles, count)
    let mut map: BTreeMap<u32, (i64, i64, u16, i64, usize)> = BTreeMap::new();
    let mut order = Vec::new();
    for (ssrc, seq) in seqs {
        let entry = map.entry(ssrc).or_insert_with(|| {
            order.push(ssrc);
            (i64::from(seq), i64::from(seq), seq, 0, 0)
        });
        let (first, high, last, cycles, count) = entry;
        if *count > 0 && seq < *last && last.wrapping_sub(seq) > 0x8000 {
            *cycles += 0x10000;
        }
        if *count > 0 && seq > *last && seq.wrapping_sub(*last) > 0x8000 {
            // Late packet from before a wrap: belongs to the previous cycle.
            let ext = i64::from(seq) + *cycles - 0x10000;
            *first = (*first).min(ext);
        } else {
            let ext = i64::from(seq) + *cycles;
            *high = (*high).max(ext);
            *first = (*first).min(ext);
            *last = seq;
        }
        *count += 1;
    }
    order
        .iter()
        .filter_map(|s| map.get(s).map(|v| (s, v)))
        .map(|(ssrc, (first, high, _, _, count))| RtpFacts {
            ssrc: *ssrc,
            packets: *count,
            lost: (high - first + 1) - *count as i64,
        })
        .collect()
}

/// A 12-byte-header RTP packet.
pub fn rtp_packet(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + payload.len());
    out.push(0x80);
    out.push((pt & 0x7F) | if marker { 0x80 } else { 0 });
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&ts.to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Sender-info fields of an RTCP SR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderReport {
    pub ssrc: u32,
    pub time_ns: i64,
    pub rtp_ts: u32,
    pub packets: u32,
    pub octets: u32,
}

/// NTP 64-bit timestamp for a Unix time in ns.
pub fn ntp_timestamp(time_ns: i64) -> u64 {
    let t = time_ns.max(0) as u128;
    let secs = t / 1_000_000_000 + 2_208_988_800;
    let frac = ((t % 1_000_000_000) << 32) / 1_000_000_000;
    ((secs as u64) << 32) | frac as u64
}

/// RTCP SR, with one zero-loss report block on `remote` when given.
pub fn sender_report(sr: &SenderReport, remote: Option<u32>) -> Vec<u8> {
    let rc = u8::from(remote.is_some());
    let words = 6 + 6 * u16::from(rc);
    let mut out = vec![0x80 | rc, 200];
    out.extend_from_slice(&words.to_be_bytes());
    out.extend_from_slice(&sr.ssrc.to_be_bytes());
    out.extend_from_slice(&ntp_timestamp(sr.time_ns).to_be_bytes());
    out.extend_from_slice(&sr.rtp_ts.to_be_bytes());
    out.extend_from_slice(&sr.packets.to_be_bytes());
    out.extend_from_slice(&sr.octets.to_be_bytes());
    if let Some(r) = remote {
        out.extend_from_slice(&report_block(r, 0, 0, 0, 0));
    }
    out
}

fn report_block(ssrc: u32, fraction: u8, cumulative: u32, highest: u32, jitter: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.push(fraction);
    out.extend_from_slice(&cumulative.to_be_bytes()[1..]);
    out.extend_from_slice(&highest.to_be_bytes());
    out.extend_from_slice(&jitter.to_be_bytes());
    out.extend_from_slice(&[0; 8]); // LSR, DLSR
    out
}

/// RTCP RR with one report block.
pub fn receiver_report(
    ssrc: u32,
    about: u32,
    fraction: u8,
    cumulative: u32,
    highest: u32,
    jitter: u32,
) -> Vec<u8> {
    let mut out = vec![0x81, 201, 0, 7];
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(&report_block(about, fraction, cumulative, highest, jitter));
    out
}

/// RTCP SDES with a single CNAME item, padded to 32 bits.
pub fn sdes_cname(ssrc: u32, cname: &str) -> Vec<u8> {
    let name = cname.as_bytes().get(..cname.len().min(255)).unwrap_or(&[]);
    let mut chunk = ssrc.to_be_bytes().to_vec();
    chunk.push(1);
    chunk.push(name.len() as u8);
    chunk.extend_from_slice(name);
    chunk.push(0);
    while !chunk.len().is_multiple_of(4) {
        chunk.push(0);
    }
    let mut out = vec![0x81, 202];
    out.extend_from_slice(&((chunk.len() / 4) as u16).to_be_bytes());
    out.extend_from_slice(&chunk);
    out
}

/// RTCP XR packet with one VoIP metrics block (RFC 3611 §4.7).
pub fn xr_voip_metrics(ssrc: u32, about: u32) -> Vec<u8> {
    let mut out = vec![0x80, 207, 0, 10];
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(&[7, 0, 0, 8]);
    out.extend_from_slice(&about.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]); // loss, discard, burst density, gap density
    out.extend_from_slice(&[0, 0, 0, 0]); // burst duration, gap duration
    out.extend_from_slice(&[0, 40, 0, 30]); // round trip 40 ms, end system 30 ms
    out.extend_from_slice(&[(-20i8) as u8, (-70i8) as u8, 127, 16]); // signal, noise, RERL, Gmin
    out.extend_from_slice(&[93, 127, 44, 45]); // R 93, ext R unavailable, MOS-LQ 4.4, MOS-CQ 4.5
    out.extend_from_slice(&[0, 0, 0, 40]); // rx config, reserved, JB nominal 40
    out.extend_from_slice(&[0, 80, 0, 120]); // JB max, JB abs max
    out
}

/// STUN (RFC 5389) Binding Request with a SOFTWARE attribute.
pub fn stun_binding_request(txid: [u8; 12]) -> Vec<u8> {
    let attr = stun_attr(0x8022, b"voipdx-test");
    stun_message(0x0001, txid, &attr)
}

/// STUN Binding Success Response with XOR-MAPPED-ADDRESS (IPv4 only; IPv6 omitted).
pub fn stun_binding_response(txid: [u8; 12], mapped: SocketAddr) -> Vec<u8> {
    let mut value = vec![0, 1];
    value.extend_from_slice(&(mapped.port() ^ 0x2112).to_be_bytes());
    if let std::net::IpAddr::V4(a) = mapped.ip() {
        let x = u32::from(a) ^ 0x2112_A442;
        value.extend_from_slice(&x.to_be_bytes());
    }
    stun_message(0x0101, txid, &stun_attr(0x0020, &value))
}

fn stun_attr(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut out = kind.to_be_bytes().to_vec();
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out
}

fn stun_message(kind: u16, txid: [u8; 12], attrs: &[u8]) -> Vec<u8> {
    let mut out = kind.to_be_bytes().to_vec();
    out.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    out.extend_from_slice(&0x2112_A442u32.to_be_bytes());
    out.extend_from_slice(&txid);
    out.extend_from_slice(attrs);
    out
}

/// (ssrc, seq, pt) of an RTP payload, for tests.
pub fn parse_rtp(b: &[u8]) -> Option<(u32, u16, u8)> {
    if b.len() < 12 || b[0] >> 6 != 2 {
        return None;
    }
    let seq = u16::from_be_bytes([b[2], b[3]]);
    let ssrc = u32::from_be_bytes([b[8], b[9], b[10], b[11]]);
    Some((ssrc, seq, b[1] & 0x7F))
}

/// Shortcut for the payload of a UDP packet.
pub fn udp_payload(p: &Packet) -> Option<&[u8]> {
    match &p.body {
        Body::Udp(b) => Some(b),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{SEC, sa};
    use super::*;

    fn stream() -> RtpStream {
        RtpStream::new(
            sa("10.0.0.1:4000"),
            sa("10.0.0.2:5000"),
            0,
            0xABCD,
            SEC,
            100,
        )
    }

    #[test]
    fn clean_stream_counts() {
        let s = stream();
        let p = s.packets();
        assert_eq!(p.len(), 100);
        assert_eq!(p[1].time_ns - p[0].time_ns, 20 * MS);
        assert_eq!(
            s.facts(),
            vec![RtpFacts {
                ssrc: 0xABCD,
                packets: 100,
                lost: 0
            }]
        );
        let (ssrc, seq, pt) = parse_rtp(udp_payload(&p[0]).unwrap()).unwrap();
        assert_eq!((ssrc, seq, pt), (0xABCD, s.seq0, 0));
        assert_eq!(
            udp_payload(&p[0]).unwrap()[1] & 0x80,
            0x80,
            "marker on first"
        );
    }

    #[test]
    fn impairments_with_wrap() {
        let mut s = stream();
        s.seq0 = 65500;
        s.drop_seq = vec![65510, 2];
        s.dup_seq = vec![65520];
        s.swap_seq = vec![65530];
        s.delays_ns = vec![(10, 30 * MS)];
        let p = s.packets();
        assert_eq!(p.len(), 99);
        let seqs: Vec<u16> = p
            .iter()
            .map(|x| parse_rtp(udp_payload(x).unwrap()).unwrap().1)
            .collect();
        let i = seqs.iter().position(|s| *s == 65530).unwrap();
        assert_eq!(seqs[i - 1], 65531);
        assert!(p.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));
        let f = s.facts();
        assert_eq!(f[0].packets, 99);
        assert_eq!(f[0].lost, 1, "2 lost, 1 duplicate");
    }

    #[test]
    fn dtmf_cn_ssrc_change_rtcp() {
        let mut s = stream();
        s.count = 300;
        s.dtmf = vec![Dtmf {
            slot: 10,
            event: 5,
            slots: 8,
        }];
        s.silence = vec![(50, 20)];
        s.ssrc_change = Some((200, 0x5555, 100, 1000));
        s.rtcp = Some(Rtcp {
            interval_ms: 5000,
            remote_ssrc: 1,
            cname: "a@b".into(),
            xr: true,
        });
        let p = s.packets();
        let rtp: Vec<(u32, u16, u8)> = p
            .iter()
            .filter_map(|x| parse_rtp(udp_payload(x).unwrap()))
            .collect();
        let dtmf: Vec<&[u8]> = p
            .iter()
            .map(|x| udp_payload(x).unwrap())
            .filter(|b| b.len() == 16 && b[1] & 0x7F == 101)
            .collect();
        assert_eq!(dtmf.len(), 8);
        assert_eq!(dtmf.iter().filter(|b| b[13] & 0x80 != 0).count(), 3);
        assert_eq!(rtp.iter().filter(|r| r.2 == 13).count(), 1);
        assert_eq!(rtp.iter().filter(|r| r.0 == 0x5555).count(), 100);
        assert_eq!(rtp.iter().filter(|r| r.0 == 0xABCD).count(), 200 - 19);
        let rtcp: Vec<&Packet> = p.iter().filter(|x| x.dst.port() == 5001).collect();
        assert_eq!(rtcp.len(), 1);
        let b = udp_payload(rtcp[0]).unwrap();
        assert_eq!(b[1], 200);
        assert_eq!(b[b.len() - 44 + 1], 207);
        let f = s.facts();
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|x| x.lost == 0));
    }

    #[test]
    fn stun_has_magic_cookie() {
        let b = stun_binding_request([7; 12]);
        assert_eq!(&b[4..8], &[0x21, 0x12, 0xA4, 0x42]);
        assert_eq!(usize::from(u16::from_be_bytes([b[2], b[3]])), b.len() - 20);
        assert!(parse_rtp(&b).is_none());
    }
}
