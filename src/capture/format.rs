//! Record framing for legacy pcap and pcapng, over a byte slice.
//!
//! `Framer::next` looks at `buf[pos..]` and returns the next record or tells the caller it needs more bytes.
//! It never panics: every length is checked before it is used. Block parsing for pcapng uses `pcap-parser`;
//! time stamps are converted here, because pcap-parser rejects binary `if_tsresol` values (2^-n).

use pcap_parser::pcapng::{Block, parse_block_be, parse_block_le};

/// Largest record we accept. Wireshark's own limit for most link types is 262144; pcapng blocks may be
/// larger, but a record above this is a lie in a corrupt file, not a packet.
pub const MAX_RECORD: usize = 16 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct Interface {
    pub link_type: u32,
    pub snaplen: u32,
    /// Time stamp units per second (10^n or 2^n).
    pub units_per_sec: u64,
    /// Seconds added to every time stamp (`if_tsoffset`).
    pub offset_sec: i64,
}

/// One packet record: where its bytes are (relative to the buffer given to `next`) and its metadata.
#[derive(Clone, Copy, Debug)]
pub struct Record {
    pub interface: u32,
    pub time_ns: i64,
    pub orig_len: u32,
    pub start: usize,
    pub len: usize,
}

pub enum Step {
    Record(Record, usize),
    /// A block that is not a packet (or a packet we must skip), with the position after it.
    Skip(usize),
    /// The buffer ends inside a record.
    NeedMore,
    /// The bytes at `pos` cannot be a record; framing cannot continue.
    Corrupt(String),
    /// A packet on an interface we do not know (counted by the caller) or otherwise unusable, skipped.
    Problem(String, usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Pcap { big_endian: bool, nanos: bool },
    Pcapng,
}

impl Format {
    pub fn name(&self) -> &'static str {
        match self {
            Format::Pcap { nanos: false, .. } => "pcap",
            Format::Pcap { nanos: true, .. } => "pcap (nanosecond)",
            Format::Pcapng => "pcapng",
        }
    }
}

#[derive(Debug)]
pub struct Framer {
    pub format: Format,
    /// Interfaces of the current pcapng section (legacy pcap: exactly one).
    pub interfaces: Vec<Interface>,
    /// Interface number offset of the current section, so interfaces of all sections are numbered globally.
    pub section_base: u32,
    /// All interfaces seen in the file, across sections.
    pub all_interfaces: Vec<Interface>,
    big_endian: bool,
    pub sections: u32,
    /// Offset in the file of the buffer passed to `next` (a streamed input is framed chunk by chunk), so
    /// that messages give absolute byte positions.
    pub buf_base: u64,
}

const PCAP_US: u32 = 0xa1b2_c3d4;
const PCAP_NS: u32 = 0xa1b2_3c4d;
const PCAPNG_SHB: u32 = 0x0a0d_0d0a;

/// Sniffs the container from its first bytes. Returns the framer and the header length to skip.
pub fn sniff(buf: &[u8]) -> Result<(Framer, usize), String> {
    if buf.len() < 4 {
        return Err(if buf.is_empty() {
            "empty file (0 bytes)".to_string()
        } else {
            format!("file too short to be a capture ({} bytes)", buf.len())
        });
    }
    let magic_le = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let magic_be = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let legacy = match (magic_le, magic_be) {
        (PCAP_US, _) => Some((false, false)),
        (PCAP_NS, _) => Some((false, true)),
        (_, PCAP_US) => Some((true, false)),
        (_, PCAP_NS) => Some((true, true)),
        _ => None,
    };
    if let Some((big_endian, nanos)) = legacy {
        if buf.len() < 24 {
            return Err("pcap file header cut short (less than 24 bytes)".to_string());
        }
        let rd = |o: usize| read_u32(buf, o, big_endian).unwrap_or(0);
        let snaplen = rd(16);
        // The upper bits of the link type field carry FCS information (pcap-linktype spec).
        let link_type = rd(20) & 0x0fff_ffff;
        let iface = Interface {
            link_type,
            snaplen,
            units_per_sec: if nanos { 1_000_000_000 } else { 1_000_000 },
            offset_sec: 0,
        };
        let framer = Framer {
            format: Format::Pcap { big_endian, nanos },
            interfaces: vec![iface.clone()],
            section_base: 0,
            all_interfaces: vec![iface],
            big_endian,
            sections: 1,
            buf_base: 0,
        };
        return Ok((framer, 24));
    }
    if magic_le == PCAPNG_SHB {
        let framer = Framer {
            format: Format::Pcapng,
            interfaces: Vec::new(),
            section_base: 0,
            all_interfaces: Vec::new(),
            big_endian: false,
            sections: 0,
            buf_base: 0,
        };
        return Ok((framer, 0));
    }
    if buf.len() >= 2 && buf[0] == 0x1f && buf[1] == 0x8b {
        return Err("gzip data inside gzip (nested compression) is not supported".to_string());
    }
    Err(format!(
        "not a pcap or pcapng capture (first bytes {:02x} {:02x} {:02x} {:02x})",
        buf[0], buf[1], buf[2], buf[3]
    ))
}

fn read_u32(buf: &[u8], off: usize, big_endian: bool) -> Option<u32> {
    let b = buf.get(off..off.checked_add(4)?)?;
    let a = [b[0], b[1], b[2], b[3]];
    Some(if big_endian {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    })
}

/// Converts a time stamp in `units` per second to nanoseconds, exactly for decimal resolutions up to 10^9.
pub fn to_ns(ticks: u64, units_per_sec: u64, offset_sec: i64) -> i64 {
    let units = units_per_sec.max(1) as u128;
    let ns =
        (ticks as u128 / units) * 1_000_000_000 + (ticks as u128 % units) * 1_000_000_000 / units;
    let ns = i64::try_from(ns).unwrap_or(i64::MAX);
    ns.saturating_add(offset_sec.saturating_mul(1_000_000_000))
}

/// Units per second for a raw `if_tsresol` byte: high bit clear = 10^n, set = 2^n.
pub fn resolution(tsresol: u8) -> Option<u64> {
    let n = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(n)
    } else {
        2u64.checked_pow(n)
    }
}

impl Framer {
    /// Position in the file of `pos` in the current buffer.
    pub fn at(&self, pos: usize) -> u64 {
        self.buf_base.saturating_add(pos as u64)
    }

    pub fn next(&mut self, buf: &[u8], pos: usize) -> Step {
        match self.format {
            Format::Pcap { .. } => self.next_pcap(buf, pos),
            Format::Pcapng => self.next_pcapng(buf, pos),
        }
    }

    fn next_pcap(&mut self, buf: &[u8], pos: usize) -> Step {
        let be = self.big_endian;
        let Some(hdr) = buf.get(pos..pos.saturating_add(16)) else {
            return Step::NeedMore;
        };
        let rd = |o: usize| read_u32(hdr, o, be).unwrap_or(0);
        let (sec, frac, caplen, origlen) = (rd(0), rd(4), rd(8) as usize, rd(12));
        if caplen > MAX_RECORD {
            return Step::Corrupt(format!(
                "corrupt record header at byte {}: captured length {caplen} exceeds the {MAX_RECORD}-byte limit",
                self.at(pos)
            ));
        }
        let iface = &self.interfaces[0];
        let start = pos + 16;
        if buf.len() < start + caplen {
            return Step::NeedMore;
        }
        let frac_ns = if iface.units_per_sec == 1_000_000_000 {
            u64::from(frac)
        } else {
            u64::from(frac) * 1000
        };
        let time_ns = i64::from(sec) * 1_000_000_000 + frac_ns as i64;
        Step::Record(
            Record {
                interface: 0,
                time_ns,
                orig_len: origlen,
                start,
                len: caplen,
            },
            start + caplen,
        )
    }

    fn next_pcapng(&mut self, buf: &[u8], pos: usize) -> Step {
        let Some(head) = buf.get(pos..pos.saturating_add(12)) else {
            return Step::NeedMore;
        };
        let block_type_le = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if block_type_le == PCAPNG_SHB {
            // Byte order of this section comes from its byte-order magic.
            let bom = [head[8], head[9], head[10], head[11]];
            self.big_endian = match u32::from_le_bytes(bom) {
                0x1a2b_3c4d => false,
                0x4d3c_2b1a => true,
                _ => {
                    return Step::Corrupt(format!(
                        "pcapng section header at byte {} has an invalid byte-order magic",
                        self.at(pos)
                    ));
                }
            };
        }
        let Some(block_len) = read_u32(head, 4, self.big_endian).map(|v| v as usize) else {
            return Step::NeedMore;
        };
        if block_len < 12 || block_len % 4 != 0 || block_len > MAX_RECORD {
            return Step::Corrupt(format!(
                "corrupt pcapng block at byte {}: block length {block_len} is invalid",
                self.at(pos)
            ));
        }
        let Some(block) = buf.get(pos..pos + block_len) else {
            return Step::NeedMore;
        };
        let end = pos + block_len;
        if read_u32(block, block_len - 4, self.big_endian) != Some(block_len as u32) {
            return Step::Corrupt(format!(
                "corrupt pcapng block at byte {}: trailing length does not match {block_len}",
                self.at(pos)
            ));
        }
        let parsed = if self.big_endian {
            parse_block_be(block)
        } else {
            parse_block_le(block)
        };
        let block = match parsed {
            Ok((_, b)) => b,
            Err(e) => {
                // The framing is intact (both lengths agree), so skip just this block.
                return Step::Problem(format!("unparsable pcapng block ({e:?})"), end);
            }
        };
        match block {
            Block::SectionHeader(_) => {
                self.section_base = self.all_interfaces.len() as u32;
                self.interfaces.clear();
                self.sections += 1;
                Step::Skip(end)
            }
            Block::InterfaceDescription(idb) => {
                let tsresol = idb_tsresol(&idb);
                let iface = Interface {
                    link_type: idb.linktype.0 as u32,
                    snaplen: idb.snaplen,
                    units_per_sec: resolution(tsresol).unwrap_or(1_000_000),
                    offset_sec: idb.if_tsoffset,
                };
                self.interfaces.push(iface.clone());
                self.all_interfaces.push(iface);
                Step::Skip(end)
            }
            Block::EnhancedPacket(epb) => {
                let Some(iface) = self.interfaces.get(epb.if_id as usize) else {
                    return Step::Problem(
                        format!("packet refers to undeclared interface {}", epb.if_id),
                        end,
                    );
                };
                let caplen = (epb.caplen as usize).min(epb.data.len());
                let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                // Data starts 28 bytes into the block (type, len, if_id, ts_high, ts_low, caplen, origlen).
                let start = pos + 28;
                Step::Record(
                    Record {
                        interface: self.section_base + epb.if_id,
                        time_ns: to_ns(ticks, iface.units_per_sec, iface.offset_sec),
                        orig_len: epb.origlen,
                        start,
                        len: caplen,
                    },
                    end,
                )
            }
            Block::SimplePacket(spb) => {
                if self.interfaces.is_empty() {
                    return Step::Problem("simple packet block before any interface".into(), end);
                }
                let caplen = (spb.origlen as usize)
                    .min(spb.data.len())
                    .min(self.interfaces[0].snaplen.max(1) as usize);
                Step::Record(
                    Record {
                        interface: self.section_base,
                        time_ns: 0,
                        orig_len: spb.origlen,
                        start: pos + 12,
                        len: caplen,
                    },
                    end,
                )
            }
            _ => Step::Skip(end),
        }
    }
}

/// The raw `if_tsresol` byte (option code 9), default 6 (microseconds).
fn idb_tsresol(idb: &pcap_parser::pcapng::InterfaceDescriptionBlock) -> u8 {
    for opt in &idb.options {
        if opt.code == pcap_parser::pcapng::OptionCode::IfTsresol
            && let Some(&b) = opt.value.first()
        {
            return b;
        }
    }
    6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions() {
        assert_eq!(resolution(6), Some(1_000_000));
        assert_eq!(resolution(9), Some(1_000_000_000));
        assert_eq!(resolution(0x80 | 20), Some(1 << 20));
        assert_eq!(resolution(100), None);
    }

    #[test]
    fn binary_resolution_converts_exactly() {
        // 1.5 s in 2^-20 units
        let ticks = 3u64 << 19;
        assert_eq!(to_ns(ticks, 1 << 20, 0), 1_500_000_000);
        assert_eq!(to_ns(1_234_567_891, 1_000_000_000, 2), 3_234_567_891);
    }

    #[test]
    fn sniff_rejects_garbage() {
        assert!(sniff(b"").unwrap_err().contains("empty"));
        assert!(sniff(b"hello world").unwrap_err().contains("not a pcap"));
        assert!(
            sniff(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0])
                .unwrap_err()
                .contains("cut short")
        );
    }
}
