//! RTCP compound packets (RFC 3550 section 6, RFC 3611 XR VoIP metrics).
//!
//! [`parse_compound`] accepts a UDP payload only when every packet header is
//! version 2 with an RTCP packet type and the length fields tile the buffer
//! exactly (1 to 3 trailing zero bytes are tolerated, as some phones send
//! them and Wireshark accepts them); inner structures (report blocks, SDES items, XR blocks) must fit
//! their packet. Anything inconsistent yields `None`, never a panic.

/// Most packets accepted in one compound.
pub const MAX_PACKETS: usize = 64;
/// Most XR block types remembered per XR packet.
pub const MAX_XR_BLOCKS: usize = 16;
/// Longest CNAME / BYE reason kept (bytes).
pub const MAX_TEXT: usize = 255;

/// One reception report block (SR and RR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative number of packets lost (signed 24-bit).
    pub cumulative_lost: i32,
    pub ext_highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    pub lsr: u32,
    pub dlsr: u32,
}

impl ReportBlock {
    /// Fraction lost as a percentage.
    pub fn fraction_lost_percent(&self) -> f64 {
        f64::from(self.fraction_lost) * 100.0 / 256.0
    }

    /// Jitter in milliseconds for a given RTP clock rate.
    pub fn jitter_ms(&self, clock_rate: u32) -> Option<f64> {
        (clock_rate > 0).then(|| f64::from(self.jitter) * 1000.0 / f64::from(clock_rate))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderReport {
    pub ssrc: u32,
    pub ntp_seconds: u32,
    pub ntp_fraction: u32,
    pub rtp_timestamp: u32,
    pub packet_count: u32,
    pub octet_count: u32,
    pub reports: Vec<ReportBlock>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverReport {
    pub ssrc: u32,
    pub reports: Vec<ReportBlock>,
}

/// One SDES chunk; only the CNAME item is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesChunk {
    pub ssrc: u32,
    pub cname: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bye {
    pub sources: Vec<u32>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct App {
    pub subtype: u8,
    pub ssrc: u32,
    pub name: [u8; 4],
    pub data_len: usize,
}

/// RFC 3611 VoIP Metrics Report Block (block type 7), raw fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoipMetrics {
    pub ssrc: u32,
    /// Loss rate in 1/256.
    pub loss_rate: u8,
    /// Discard rate in 1/256.
    pub discard_rate: u8,
    pub burst_density: u8,
    pub gap_density: u8,
    pub burst_duration_ms: u16,
    pub gap_duration_ms: u16,
    pub round_trip_delay_ms: u16,
    pub end_system_delay_ms: u16,
    pub signal_level_db: i8,
    pub noise_level_db: i8,
    pub rerl_db: u8,
    pub gmin: u8,
    /// R factor, 127 when unavailable.
    pub r_factor: u8,
    pub ext_r_factor: u8,
    /// MOS-LQ times 10, 127 when unavailable.
    pub mos_lq: u8,
    /// MOS-CQ times 10, 127 when unavailable.
    pub mos_cq: u8,
    pub rx_config: u8,
    pub jb_nominal_ms: u16,
    pub jb_maximum_ms: u16,
    pub jb_abs_max_ms: u16,
}

impl VoipMetrics {
    pub fn loss_rate_percent(&self) -> f64 {
        f64::from(self.loss_rate) * 100.0 / 256.0
    }

    pub fn discard_rate_percent(&self) -> f64 {
        f64::from(self.discard_rate) * 100.0 / 256.0
    }

    /// R factor, `None` when reported as unavailable (127).
    pub fn r(&self) -> Option<u8> {
        (self.r_factor != 127).then_some(self.r_factor)
    }

    /// MOS-LQ, `None` when unavailable (127).
    pub fn mos_lq_value(&self) -> Option<f64> {
        (self.mos_lq != 127).then(|| f64::from(self.mos_lq) / 10.0)
    }

    /// MOS-CQ, `None` when unavailable (127).
    pub fn mos_cq_value(&self) -> Option<f64> {
        (self.mos_cq != 127).then(|| f64::from(self.mos_cq) / 10.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedReport {
    pub ssrc: u32,
    /// Block types in order (at most [`MAX_XR_BLOCKS`]).
    pub block_types: Vec<u8>,
    pub voip_metrics: Option<VoipMetrics>,
}

/// One packet of a compound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    SenderReport(SenderReport),
    ReceiverReport(ReceiverReport),
    Sdes(Vec<SdesChunk>),
    Bye(Bye),
    App(App),
    ExtendedReport(ExtendedReport),
    /// Feedback (205, 206) and other RTCP types: type and length only.
    Other {
        packet_type: u8,
        length: usize,
    },
}

const SR: u8 = 200;
const RR: u8 = 201;
const SDES: u8 = 202;
const BYE: u8 = 203;
const APP: u8 = 204;
const XR: u8 = 207;

fn be16(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn be32(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Splits a compound into (count field, packet type, whole packet) triples,
/// checking versions, types and that the lengths tile the buffer.
fn split(buf: &[u8]) -> Option<Vec<(u8, u8, &[u8])>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let rest = buf.get(at..)?;
        if rest.len() < 4 && !out.is_empty() && rest.iter().all(|b| *b == 0) {
            break; // a few zero bytes after the compound (seen in the wild)
        }
        let first = *buf.get(at)?;
        let packet_type = *buf.get(at + 1)?;
        if first >> 6 != 2 || !(192..=223).contains(&packet_type) || out.len() >= MAX_PACKETS {
            return None;
        }
        let words = usize::from(be16(buf, at + 2)?);
        let end = at + 4 * (words + 1);
        let packet = buf.get(at..end)?;
        let padded = first & 0x20 != 0;
        if padded && end != buf.len() {
            return None; // only the last packet may carry padding
        }
        out.push((first & 0x1f, packet_type, packet));
        at = end;
    }
    (!out.is_empty()).then_some(out)
}

/// True for a plausible RTCP compound: version 2, first type in 200..=207,
/// and length fields consistent across the whole buffer.
pub fn looks_like_rtcp(buf: &[u8]) -> bool {
    match buf.get(1) {
        Some(pt) if (SR..=XR).contains(pt) => split(buf).is_some(),
        _ => false,
    }
}

/// Parses an RTCP compound packet; `None` when it is not consistent.
pub fn parse_compound(buf: &[u8]) -> Option<Vec<RtcpPacket>> {
    if !looks_like_rtcp(buf) {
        return None;
    }
    split(buf)?
        .into_iter()
        .map(|(count, packet_type, packet)| parse_packet(count, packet_type, packet))
        .collect()
}

/// The packet body without trailing padding (when the P bit is set).
fn unpadded(packet: &[u8]) -> Option<&[u8]> {
    if packet.first()? & 0x20 == 0 {
        return Some(packet);
    }
    let pad = usize::from(*packet.last()?);
    if pad == 0 || pad + 4 > packet.len() {
        return None;
    }
    packet.get(..packet.len() - pad)
}

fn parse_packet(count: u8, packet_type: u8, packet: &[u8]) -> Option<RtcpPacket> {
    let body = unpadded(packet)?;
    Some(match packet_type {
        SR => RtcpPacket::SenderReport(parse_sr(count, body)?),
        RR => RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: be32(body, 4)?,
            reports: parse_blocks(count, body, 8)?,
        }),
        SDES => RtcpPacket::Sdes(parse_sdes(count, body)?),
        BYE => RtcpPacket::Bye(parse_bye(count, body)?),
        APP => RtcpPacket::App(App {
            subtype: count,
            ssrc: be32(body, 4)?,
            name: body.get(8..12)?.try_into().ok()?,
            data_len: body.len().saturating_sub(12),
        }),
        XR => RtcpPacket::ExtendedReport(parse_xr(body)?),
        _ => RtcpPacket::Other {
            packet_type,
            length: packet.len(),
        },
    })
}

fn parse_sr(count: u8, body: &[u8]) -> Option<SenderReport> {
    Some(SenderReport {
        ssrc: be32(body, 4)?,
        ntp_seconds: be32(body, 8)?,
        ntp_fraction: be32(body, 12)?,
        rtp_timestamp: be32(body, 16)?,
        packet_count: be32(body, 20)?,
        octet_count: be32(body, 24)?,
        reports: parse_blocks(count, body, 28)?,
    })
}

fn parse_blocks(count: u8, body: &[u8], start: usize) -> Option<Vec<ReportBlock>> {
    let mut blocks = Vec::with_capacity(usize::from(count));
    for i in 0..usize::from(count) {
        let at = start + 24 * i;
        let word = be32(body, at + 4)?;
        let raw_lost = word & 0x00ff_ffff;
        let cumulative_lost = ((raw_lost << 8) as i32) >> 8; // sign-extend 24 bits
        blocks.push(ReportBlock {
            ssrc: be32(body, at)?,
            fraction_lost: (word >> 24) as u8,
            cumulative_lost,
            ext_highest_seq: be32(body, at + 8)?,
            jitter: be32(body, at + 12)?,
            lsr: be32(body, at + 16)?,
            dlsr: be32(body, at + 20)?,
        });
    }
    Some(blocks)
}

fn text(bytes: &[u8]) -> String {
    let end = bytes.len().min(MAX_TEXT);
    String::from_utf8_lossy(bytes.get(..end).unwrap_or(&[])).into_owned()
}

fn parse_sdes(count: u8, body: &[u8]) -> Option<Vec<SdesChunk>> {
    let mut chunks = Vec::with_capacity(usize::from(count));
    let mut at = 4;
    for _ in 0..count {
        let ssrc = be32(body, at)?;
        at += 4;
        let mut cname = None;
        loop {
            let item = *body.get(at)?;
            if item == 0 {
                at += 1;
                break;
            }
            let len = usize::from(*body.get(at + 1)?);
            let value = body.get(at + 2..at + 2 + len)?;
            if item == 1 && cname.is_none() {
                cname = Some(text(value));
            }
            at += 2 + len;
        }
        at = at.div_ceil(4) * 4; // chunks end on a 32-bit boundary
        chunks.push(SdesChunk { ssrc, cname });
    }
    Some(chunks)
}

fn parse_bye(count: u8, body: &[u8]) -> Option<Bye> {
    let mut sources = Vec::with_capacity(usize::from(count));
    for i in 0..usize::from(count) {
        sources.push(be32(body, 4 + 4 * i)?);
    }
    let at = 4 + 4 * usize::from(count);
    let reason = match body.get(at) {
        Some(len) => Some(text(body.get(at + 1..at + 1 + usize::from(*len))?)),
        None => None,
    };
    Some(Bye { sources, reason })
}

fn parse_xr(body: &[u8]) -> Option<ExtendedReport> {
    let mut report = ExtendedReport {
        ssrc: be32(body, 4)?,
        block_types: Vec::new(),
        voip_metrics: None,
    };
    let mut at = 8;
    while at < body.len() {
        let block_type = *body.get(at)?;
        let words = usize::from(be16(body, at + 2)?);
        let block = body.get(at..at + 4 + 4 * words)?;
        if report.block_types.len() < MAX_XR_BLOCKS {
            report.block_types.push(block_type);
        }
        if block_type == 7 && report.voip_metrics.is_none() {
            report.voip_metrics = Some(parse_voip_metrics(block)?);
        }
        at += block.len();
    }
    Some(report)
}

fn parse_voip_metrics(b: &[u8]) -> Option<VoipMetrics> {
    let byte = |i: usize| b.get(i).copied();
    Some(VoipMetrics {
        ssrc: be32(b, 4)?,
        loss_rate: byte(8)?,
        discard_rate: byte(9)?,
        burst_density: byte(10)?,
        gap_density: byte(11)?,
        burst_duration_ms: be16(b, 12)?,
        gap_duration_ms: be16(b, 14)?,
        round_trip_delay_ms: be16(b, 16)?,
        end_system_delay_ms: be16(b, 18)?,
        signal_level_db: byte(20)? as i8,
        noise_level_db: byte(21)? as i8,
        rerl_db: byte(22)?,
        gmin: byte(23)?,
        r_factor: byte(24)?,
        ext_r_factor: byte(25)?,
        mos_lq: byte(26)?,
        mos_cq: byte(27)?,
        rx_config: byte(28)?,
        jb_nominal_ms: be16(b, 30)?,
        jb_maximum_ms: be16(b, 32)?,
        jb_abs_max_ms: be16(b, 34)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sr_with_block() -> Vec<u8> {
        let mut p = vec![0x81, 200, 0, 12];
        p.extend_from_slice(&0x1111_1111u32.to_be_bytes()); // SSRC
        p.extend_from_slice(&[0xc5, 0x8f, 0x1a, 0x2b, 0x80, 0, 0, 0]); // NTP
        p.extend_from_slice(&160u32.to_be_bytes());
        p.extend_from_slice(&50u32.to_be_bytes());
        p.extend_from_slice(&8000u32.to_be_bytes());
        p.extend_from_slice(&0x2222_2222u32.to_be_bytes()); // block SSRC
        p.extend_from_slice(&[0x40, 0xff, 0xff, 0xfe]); // 25%, cumulative -2
        p.extend_from_slice(&0x0001_0005u32.to_be_bytes());
        p.extend_from_slice(&80u32.to_be_bytes()); // jitter 80 ticks
        p.extend_from_slice(&0x1a2b_8000u32.to_be_bytes());
        p.extend_from_slice(&0x0000_8000u32.to_be_bytes());
        p
    }

    fn sdes_cname() -> Vec<u8> {
        let mut p = vec![0x81, 202, 0, 3];
        p.extend_from_slice(&0x1111_1111u32.to_be_bytes());
        p.extend_from_slice(&[1, 5, b'a', b'@', b'h', b'o', b's', 0]);
        p
    }

    #[test]
    fn sender_report_and_sdes() {
        let mut buf = sr_with_block();
        buf.extend(sdes_cname());
        assert!(looks_like_rtcp(&buf));
        let packets = parse_compound(&buf).expect("valid compound");
        assert_eq!(packets.len(), 2);
        let RtcpPacket::SenderReport(sr) = &packets[0] else {
            panic!("not SR")
        };
        assert_eq!(sr.ssrc, 0x1111_1111);
        assert_eq!(sr.packet_count, 50);
        let block = sr.reports[0];
        assert_eq!(block.ssrc, 0x2222_2222);
        assert_eq!(block.fraction_lost, 0x40);
        assert_eq!(block.fraction_lost_percent(), 25.0);
        assert_eq!(block.cumulative_lost, -2);
        assert_eq!(block.ext_highest_seq, 0x0001_0005);
        assert_eq!(block.jitter_ms(8000), Some(10.0));
        assert_eq!(block.dlsr, 0x8000);
        let RtcpPacket::Sdes(chunks) = &packets[1] else {
            panic!("not SDES")
        };
        assert_eq!(chunks[0].cname.as_deref(), Some("a@hos"));
    }

    #[test]
    fn receiver_report_bye_app() {
        let mut buf = vec![0x80, 201, 0, 1, 0, 0, 0, 9];
        buf.extend_from_slice(&[
            0x81, 203, 0, 3, 0, 0, 0, 9, 4, b'd', b'o', b'n', b'e', 0, 0, 0,
        ]);
        buf.extend_from_slice(&[
            0x82, 204, 0, 3, 0, 0, 0, 9, b'T', b'E', b'S', b'T', 1, 2, 3, 4,
        ]);
        let packets = parse_compound(&buf).expect("valid");
        assert_eq!(
            packets[0],
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: 9,
                reports: vec![]
            })
        );
        assert_eq!(
            packets[1],
            RtcpPacket::Bye(Bye {
                sources: vec![9],
                reason: Some("done".into())
            })
        );
        assert_eq!(
            packets[2],
            RtcpPacket::App(App {
                subtype: 2,
                ssrc: 9,
                name: *b"TEST",
                data_len: 4
            })
        );
    }

    #[test]
    fn xr_voip_metrics() {
        let mut buf = vec![0x80, 207, 0, 10, 0, 0, 0, 7];
        let mut block = vec![7, 0, 0, 8];
        block.extend_from_slice(&0x2222_2222u32.to_be_bytes());
        block.extend_from_slice(&[13, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 10]);
        block.extend_from_slice(&[0xec, 0xb0, 127, 16, 88, 127, 41, 38]);
        block.extend_from_slice(&[0, 0, 0, 40, 0, 80, 0, 200]);
        buf.extend(block);
        let packets = parse_compound(&buf).expect("valid");
        let RtcpPacket::ExtendedReport(xr) = &packets[0] else {
            panic!("not XR")
        };
        let m = xr.voip_metrics.expect("metrics");
        assert_eq!(xr.block_types, vec![7]);
        assert!((m.loss_rate_percent() - 5.078).abs() < 0.001);
        assert_eq!(m.round_trip_delay_ms, 20);
        assert_eq!(m.signal_level_db, -20);
        assert_eq!(m.r(), Some(88));
        assert_eq!(m.mos_lq_value(), Some(4.1));
        assert_eq!(m.mos_cq_value(), Some(3.8));
        assert_eq!(m.jb_abs_max_ms, 200);
    }

    #[test]
    fn rejects_inconsistent() {
        let buf = sr_with_block();
        assert!(parse_compound(&buf[..buf.len() - 1]).is_none());
        let mut long = buf.clone();
        long.extend_from_slice(&[0, 0]);
        assert!(looks_like_rtcp(&long)); // trailing zero bytes tolerated
        long.push(1);
        assert!(!looks_like_rtcp(&long));
        long.extend_from_slice(&[0, 0]);
        assert!(!looks_like_rtcp(&long));
        let mut bad_count = buf.clone();
        bad_count[0] = 0x82; // two blocks declared, one present
        assert!(parse_compound(&bad_count).is_none());
        let rtp = [0x80, 0x08, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        assert!(!looks_like_rtcp(&rtp));
        assert!(parse_compound(&[]).is_none());
        let mut sdes = sdes_cname();
        sdes[9] = 40; // CNAME longer than the packet
        assert!(parse_compound(&sdes).is_none());
    }

    #[test]
    fn never_panics_on_prefixes_and_noise() {
        let mut buf = sr_with_block();
        buf.extend(sdes_cname());
        for end in 0..buf.len() {
            let _ = parse_compound(&buf[..end]);
        }
        let mut x: u32 = 0x1234_5678;
        for _ in 0..2000 {
            let mut junk = vec![0x81, 200];
            for _ in 0..40 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                junk.push(x as u8);
            }
            junk[2] = 0;
            junk[3] = (x % 12) as u8;
            let _ = parse_compound(&junk);
        }
    }
}
