//! pcap and pcapng containers, plus gzip.

use std::io::Write;

use super::Packet;
use super::wire::{IpEncoder, Link};

/// Capture file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// Classic libpcap file (magic a1b2c3d4 or a1b23c4d for nanoseconds).
    Pcap { big_endian: bool, nanos: bool },
    /// pcapng with one section and one interface; `tsresol` is the raw
    /// `if_tsresol` byte (6 = 10^-6, 9 = 10^-9, 0x80|20 = 2^-20).
    Pcapng { big_endian: bool, tsresol: u8 },
}

/// A pcapng interface description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub link: Link,
    /// Raw `if_tsresol` byte.
    pub tsresol: u8,
    pub snaplen: u32,
    pub name: String,
}

impl Interface {
    /// Interface with a 262144-byte snaplen.
    pub fn new(name: &str, link: Link, tsresol: u8) -> Interface {
        Interface {
            link,
            tsresol,
            snaplen: 262_144,
            name: name.to_string(),
        }
    }
}

/// One pcapng section: its own interfaces, and packets whose
/// `interface` indexes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub interfaces: Vec<Interface>,
    pub packets: Vec<Packet>,
}

/// Serialise `packets` with one link type; frames longer than `snaplen` are
/// cut (caplen < origlen).
pub fn write_capture(
    packets: &[Packet],
    link: Link,
    container: Container,
    snaplen: u32,
) -> Vec<u8> {
    match container {
        Container::Pcap { big_endian, nanos } => {
            write_pcap(packets, link, big_endian, nanos, snaplen)
        }
        Container::Pcapng {
            big_endian,
            tsresol,
        } => {
            let iface = Interface {
                link,
                tsresol,
                snaplen,
                name: "any".to_string(),
            };
            let packets: Vec<Packet> = packets.iter().cloned().map(|p| p.on(0)).collect();
            write_pcapng_multi(&packets, &[iface], big_endian)
        }
    }
}

/// One-section pcapng where each packet's `interface` indexes `interfaces`.
/// Packets with an out-of-range interface are skipped.
pub fn write_pcapng_multi(
    packets: &[Packet],
    interfaces: &[Interface],
    big_endian: bool,
) -> Vec<u8> {
    let section = Section {
        interfaces: interfaces.to_vec(),
        packets: packets.to_vec(),
    };
    write_pcapng_sections(&[section], big_endian)
}

/// Multi-section pcapng: each section repeats the SHB and its own IDBs.
pub fn write_pcapng_sections(sections: &[Section], big_endian: bool) -> Vec<u8> {
    let mut w = Out {
        big_endian,
        buf: Vec::new(),
    };
    let mut enc = IpEncoder::default();
    for section in sections {
        w.shb();
        for iface in &section.interfaces {
            w.idb(iface);
        }
        for p in &section.packets {
            let Some(iface) = section.interfaces.get(p.interface as usize) else {
                continue;
            };
            let ip = enc.encode(p);
            let frame = iface.link.frame(&ip, p.src.ip(), p.dst.ip(), big_endian);
            let units = ts_units(p.time_ns, iface.tsresol);
            w.epb(p.interface, units, &frame, iface.snaplen);
        }
    }
    w.buf
}

/// Timestamp in `tsresol` units (negative times clamp to 0).
pub fn ts_units(time_ns: i64, tsresol: u8) -> u64 {
    let ns = i128::from(time_ns.max(0));
    let exp = u32::from(tsresol & 0x7F);
    let units = if tsresol & 0x80 != 0 {
        (ns << exp.min(64)) / 1_000_000_000
    } else if exp >= 9 {
        ns * 10i128.pow((exp - 9).min(20))
    } else {
        ns / 10i128.pow(9 - exp)
    };
    u64::try_from(units).unwrap_or(u64::MAX)
}

struct Out {
    big_endian: bool,
    buf: Vec<u8>,
}

impl Out {
    fn u16(&mut self, v: u16) {
        let b = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.buf.extend_from_slice(&b);
    }

    fn u32(&mut self, v: u32) {
        let b = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.buf.extend_from_slice(&b);
    }

    fn pad4(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn option(&mut self, code: u16, value: &[u8]) {
        self.u16(code);
        self.u16(value.len() as u16);
        self.buf.extend_from_slice(value);
        self.pad4();
    }

    /// Start a block; returns its start offset for `end_block`.
    fn begin_block(&mut self, block_type: u32) -> usize {
        let start = self.buf.len();
        self.u32(block_type);
        self.u32(0);
        start
    }

    fn end_block(&mut self, start: usize) {
        let len = (self.buf.len() - start + 4) as u32;
        let b = if self.big_endian {
            len.to_be_bytes()
        } else {
            len.to_le_bytes()
        };
        if let Some(slot) = self.buf.get_mut(start + 4..start + 8) {
            slot.copy_from_slice(&b);
        }
        self.u32(len);
    }

    fn shb(&mut self) {
        let start = self.begin_block(0x0A0D_0D0A);
        self.u32(0x1A2B_3C4D);
        self.u16(1);
        self.u16(0);
        self.u32(0xFFFF_FFFF);
        self.u32(0xFFFF_FFFF);
        self.option(4, b"voipdx scenario builder");
        self.option(0, &[]);
        self.end_block(start);
    }

    fn idb(&mut self, iface: &Interface) {
        let start = self.begin_block(1);
        self.u16(iface.link.dlt() as u16);
        self.u16(0);
        self.u32(iface.snaplen);
        self.option(2, iface.name.as_bytes());
        self.option(9, &[iface.tsresol]);
        self.option(0, &[]);
        self.end_block(start);
    }

    fn epb(&mut self, interface: u32, units: u64, frame: &[u8], snaplen: u32) {
        let cap = frame.len().min(snaplen as usize);
        let start = self.begin_block(6);
        self.u32(interface);
        self.u32((units >> 32) as u32);
        self.u32(units as u32);
        self.u32(cap as u32);
        self.u32(frame.len() as u32);
        self.buf
            .extend_from_slice(frame.get(..cap).unwrap_or(frame));
        self.pad4();
        self.end_block(start);
    }
}

fn write_pcap(
    packets: &[Packet],
    link: Link,
    big_endian: bool,
    nanos: bool,
    snaplen: u32,
) -> Vec<u8> {
    let mut w = Out {
        big_endian,
        buf: Vec::new(),
    };
    w.u32(if nanos { 0xA1B2_3C4D } else { 0xA1B2_C3D4 });
    w.u16(2);
    w.u16(4);
    w.u32(0);
    w.u32(0);
    w.u32(snaplen);
    w.u32(link.dlt());
    let mut enc = IpEncoder::default();
    for p in packets {
        let ip = enc.encode(p);
        let frame = link.frame(&ip, p.src.ip(), p.dst.ip(), big_endian);
        let cap = frame.len().min(snaplen as usize);
        let t = p.time_ns.max(0);
        let frac = t % 1_000_000_000;
        w.u32((t / 1_000_000_000) as u32);
        w.u32(if nanos {
            frac as u32
        } else {
            (frac / 1000) as u32
        });
        w.u32(cap as u32);
        w.u32(frame.len() as u32);
        w.buf.extend_from_slice(frame.get(..cap).unwrap_or(&frame));
    }
    w.buf
}

/// gzip-compress `bytes` (deterministic: no name, zero mtime).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::{SEC, sa};
    use super::*;

    fn sample() -> Vec<Packet> {
        (0..5)
            .map(|i| {
                Packet::udp(
                    1_700_000_000 * SEC + i * 20_000_123,
                    sa("10.0.0.1:4000"),
                    sa("10.0.0.2:4002"),
                    vec![i as u8; 100 + i as usize],
                )
            })
            .collect()
    }

    fn rd32(b: &[u8], at: usize, be: bool) -> u32 {
        let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if be {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }

    /// Parse pcap records by hand: (sec, frac, caplen, origlen).
    fn pcap_records(b: &[u8], be: bool) -> Vec<(u32, u32, u32, u32)> {
        let mut out = Vec::new();
        let mut at = 24;
        while at + 16 <= b.len() {
            let rec = (
                rd32(b, at, be),
                rd32(b, at + 4, be),
                rd32(b, at + 8, be),
                rd32(b, at + 12, be),
            );
            at += 16 + rec.2 as usize;
            out.push(rec);
        }
        assert_eq!(at, b.len());
        out
    }

    #[test]
    fn pcap_le_micro_round_trip() {
        let b = write_capture(
            &sample(),
            Link::Ethernet,
            Container::Pcap {
                big_endian: false,
                nanos: false,
            },
            65535,
        );
        assert_eq!(&b[..4], &[0xD4, 0xC3, 0xB2, 0xA1]);
        assert_eq!(rd32(&b, 20, false), 1);
        let recs = pcap_records(&b, false);
        assert_eq!(recs.len(), 5);
        assert_eq!(recs[1].0, 1_700_000_000);
        assert_eq!(recs[1].1, 20_000); // µs
        assert_eq!(recs[2].2, 14 + 20 + 8 + 102);
        assert_eq!(recs[2].2, recs[2].3);
    }

    #[test]
    fn pcap_be_nanos_snaplen_round_trip() {
        let b = write_capture(
            &sample(),
            Link::Sll,
            Container::Pcap {
                big_endian: true,
                nanos: true,
            },
            96,
        );
        assert_eq!(&b[..4], &[0xA1, 0xB2, 0x3C, 0x4D]);
        assert_eq!(rd32(&b, 20, true), 113);
        let recs = pcap_records(&b, true);
        assert_eq!(recs.len(), 5);
        assert_eq!(recs[1].1, 20_000_123);
        assert!(recs.iter().all(|r| r.2 == 96 && r.3 > 96));
        assert_eq!(recs[4].3, 16 + 20 + 8 + 104);
    }

    /// Parse pcapng blocks by hand: (type, body offset, total length).
    fn blocks(b: &[u8], be: bool) -> Vec<(u32, usize, usize)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at + 12 <= b.len() {
            let t = rd32(b, at, be);
            let len = rd32(b, at + 4, be) as usize;
            assert_eq!(rd32(b, at + len - 4, be) as usize, len);
            out.push((t, at + 8, len));
            at += len;
        }
        assert_eq!(at, b.len());
        out
    }

    #[test]
    fn pcapng_round_trip_binary_tsresol() {
        for be in [false, true] {
            let b = write_capture(
                &sample(),
                Link::Raw,
                Container::Pcapng {
                    big_endian: be,
                    tsresol: 0x80 | 20,
                },
                80,
            );
            let bl = blocks(&b, be);
            let types: Vec<u32> = bl.iter().map(|x| x.0).collect();
            assert_eq!(types, vec![0x0A0D0D0A, 1, 6, 6, 6, 6, 6]);
            let (_, body, _) = bl[3];
            let ts = (u64::from(rd32(&b, body + 4, be)) << 32) | u64::from(rd32(&b, body + 8, be));
            let expect = ((1_700_000_000u128 * 1_000_000_000 + 20_000_123) << 20) / 1_000_000_000;
            assert_eq!(u128::from(ts), expect);
            assert_eq!(rd32(&b, body + 12, be), 80);
            assert_eq!(rd32(&b, body + 16, be), 20 + 8 + 101);
        }
    }

    #[test]
    fn pcapng_sections_and_interfaces() {
        let p = sample();
        let s1 = Section {
            interfaces: vec![
                Interface::new("a", Link::Ethernet, 6),
                Interface::new("b", Link::Sll, 9),
            ],
            packets: vec![p[0].clone(), p[1].clone().on(1), p[2].clone().on(7)],
        };
        let s2 = Section {
            interfaces: vec![Interface::new("c", Link::RawIpv4, 9)],
            packets: vec![p[3].clone()],
        };
        let b = write_pcapng_sections(&[s1, s2], false);
        let types: Vec<u32> = blocks(&b, false).iter().map(|x| x.0).collect();
        assert_eq!(types, vec![0x0A0D0D0A, 1, 1, 6, 6, 0x0A0D0D0A, 1, 6]);
    }

    #[test]
    fn ts_unit_conversion() {
        assert_eq!(ts_units(1_500_000_000, 6), 1_500_000);
        assert_eq!(ts_units(1_500_000_000, 9), 1_500_000_000);
        assert_eq!(ts_units(1_500_000_000, 3), 1_500);
        assert_eq!(ts_units(SEC, 0x80 | 20), 1 << 20);
        assert_eq!(ts_units(-5, 9), 0);
    }

    #[test]
    fn gzip_round_trips() {
        use std::io::Read;
        let data = b"abcabcabc".repeat(100);
        let z = gzip(&data);
        assert_eq!(&z[..2], &[0x1F, 0x8B]);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&z[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
    }
}
