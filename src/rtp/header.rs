//! Zero-copy view of an RTP fixed header (RFC 3550 section 5.1).
//!
//! [`RtpHeader::parse`] checks every length it relies on (CSRC list, header
//! extension, padding) and returns `None` instead of reading past the buffer.

/// Length of the fixed RTP header, without CSRCs or extension.
pub const FIXED_HEADER_LEN: usize = 12;

/// A parsed RTP header borrowing the packet bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader<'a> {
    bytes: &'a [u8],
    pub version: u8,
    pub padding: bool,
    pub extension: bool,
    pub csrc_count: u8,
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// Offset of the payload from the start of the RTP header.
    pub payload_offset: usize,
    /// Payload length, excluding padding.
    pub payload_len: usize,
    /// Number of padding bytes at the end (0 when the P bit is clear).
    pub padding_len: u8,
}

fn be16(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn be32(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl<'a> RtpHeader<'a> {
    /// Parses an RTP packet. Returns `None` when the version is not 2 or any
    /// length (CSRC list, extension, padding) does not fit in `buf`.
    pub fn parse(buf: &'a [u8]) -> Option<RtpHeader<'a>> {
        let first = *buf.first()?;
        let second = *buf.get(1)?;
        let version = first >> 6;
        if version != 2 || buf.len() < FIXED_HEADER_LEN {
            return None;
        }
        let padding = first & 0x20 != 0;
        let extension = first & 0x10 != 0;
        let csrc_count = first & 0x0f;
        let mut offset = FIXED_HEADER_LEN + 4 * usize::from(csrc_count);
        if offset > buf.len() {
            return None;
        }
        if extension {
            let words = be16(buf, offset + 2)?;
            offset += 4 + 4 * usize::from(words);
            if offset > buf.len() {
                return None;
            }
        }
        let padding_len = if padding {
            let count = *buf.last()?;
            if count == 0 || usize::from(count) > buf.len() - offset {
                return None;
            }
            count
        } else {
            0
        };
        Some(RtpHeader {
            bytes: buf,
            version,
            padding,
            extension,
            csrc_count,
            marker: second & 0x80 != 0,
            payload_type: second & 0x7f,
            sequence: be16(buf, 2)?,
            timestamp: be32(buf, 4)?,
            ssrc: be32(buf, 8)?,
            payload_offset: offset,
            payload_len: buf.len() - offset - usize::from(padding_len),
            padding_len,
        })
    }

    /// The payload bytes (padding excluded).
    pub fn payload(&self) -> &'a [u8] {
        let end = self.payload_offset + self.payload_len;
        self.bytes.get(self.payload_offset..end).unwrap_or(&[])
    }

    /// The `index`-th contributing source, if present.
    pub fn csrc(&self, index: usize) -> Option<u32> {
        if index >= usize::from(self.csrc_count) {
            return None;
        }
        be32(self.bytes, FIXED_HEADER_LEN + 4 * index)
    }

    /// The header extension as (profile-defined 16 bits, extension data).
    pub fn extension_data(&self) -> Option<(u16, &'a [u8])> {
        if !self.extension {
            return None;
        }
        let at = FIXED_HEADER_LEN + 4 * usize::from(self.csrc_count);
        let profile = be16(self.bytes, at)?;
        let data = self.bytes.get(at + 4..self.payload_offset)?;
        Some((profile, data))
    }
}

/// Strict content check for RTP: version 2, at least 12 bytes, a payload type
/// outside 64..=95 (where the second byte of RTCP packets 192..=223 would
/// fall), and a header whose lengths are consistent.
pub fn looks_like_rtp(buf: &[u8]) -> bool {
    match RtpHeader::parse(buf) {
        Some(h) => !(64..=95).contains(&h.payload_type),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PCMA packet: marker, PT 8, seq 0x1234, ts 0x00000140, SSRC 0xD2BD4E3E.
    const PCMA: [u8; 16] = [
        0x80, 0x88, 0x12, 0x34, 0x00, 0x00, 0x01, 0x40, 0xd2, 0xbd, 0x4e, 0x3e, 0xd5, 0xd5, 0xd5,
        0xd5,
    ];

    #[test]
    fn parses_fixed_header() {
        let h = RtpHeader::parse(&PCMA).expect("valid");
        assert_eq!(h.version, 2);
        assert!(h.marker);
        assert_eq!(h.payload_type, 8);
        assert_eq!(h.sequence, 0x1234);
        assert_eq!(h.timestamp, 0x140);
        assert_eq!(h.ssrc, 0xd2bd_4e3e);
        assert_eq!(h.payload_offset, 12);
        assert_eq!(h.payload_len, 4);
        assert_eq!(h.payload(), &[0xd5; 4]);
        assert!(looks_like_rtp(&PCMA));
    }

    #[test]
    fn csrc_extension_and_padding() {
        let mut p = vec![0xb1, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        p.extend_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd]); // CSRC
        p.extend_from_slice(&[0xbe, 0xde, 0x00, 0x01, 1, 2, 3, 4]); // extension, 1 word
        p.extend_from_slice(&[9, 9, 0, 2]); // payload 9 9, padding 2
        let h = RtpHeader::parse(&p).expect("valid");
        assert_eq!(h.csrc_count, 1);
        assert_eq!(h.csrc(0), Some(0xaabb_ccdd));
        assert_eq!(h.csrc(1), None);
        assert_eq!(h.extension_data(), Some((0xbede, &[1u8, 2, 3, 4][..])));
        assert_eq!(h.payload_offset, 24);
        assert_eq!(h.padding_len, 2);
        assert_eq!(h.payload(), &[9, 9]);
    }

    #[test]
    fn rejects_truncated_and_inconsistent() {
        assert!(RtpHeader::parse(&PCMA[..11]).is_none());
        assert!(RtpHeader::parse(&[]).is_none());
        let mut v1 = PCMA;
        v1[0] = 0x40;
        assert!(RtpHeader::parse(&v1).is_none());
        let mut cc = PCMA;
        cc[0] = 0x82; // two CSRCs need 8 bytes, only 4 remain
        assert!(RtpHeader::parse(&cc).is_none());
        let mut ext = PCMA;
        ext[0] = 0x90; // extension header needs 4 bytes + words
        assert!(RtpHeader::parse(&ext).is_none());
        let mut pad = PCMA;
        pad[0] = 0xa0;
        pad[15] = 5; // 5 padding bytes but only 4 after the header
        assert!(RtpHeader::parse(&pad).is_none());
        pad[15] = 0;
        assert!(RtpHeader::parse(&pad).is_none());
    }

    #[test]
    fn rtcp_is_not_rtp() {
        let rr = [0x80, 201, 0, 1, 0, 0, 0, 1];
        assert!(!looks_like_rtp(&rr));
        let sr = [
            0x80u8, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert!(!looks_like_rtp(&sr));
    }

    #[test]
    fn never_panics_on_noise() {
        let mut x: u32 = 0x9e37_79b9;
        for len in 0..200usize {
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                buf.push(x as u8);
            }
            if let Some(first) = buf.first_mut() {
                *first = 0x80 | (*first & 0x3f);
            }
            if let Some(h) = RtpHeader::parse(&buf) {
                assert!(h.payload_offset + h.payload_len <= buf.len());
                let _ = (h.payload(), h.extension_data(), h.csrc(3));
            }
            let _ = looks_like_rtp(&buf);
        }
    }
}
