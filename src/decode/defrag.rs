//! IPv4/IPv6 reassembly with bounded memory.
//!
//! Fragments are kept per (family, source, destination, protocol, id). A datagram is complete when the
//! fragment without "more fragments" has arrived and the byte ranges leave no hole. Stale datagrams
//! (no fragment for `TIMEOUT_NS` of capture time) and datagrams over the limits are dropped and counted.

use std::collections::HashMap;
use std::net::IpAddr;

use super::Fragment;

pub const TIMEOUT_NS: i64 = 30_000_000_000;
pub const MAX_PENDING: usize = 4096;
pub const MAX_DATAGRAM: usize = 65_535 + 8;
pub const MAX_TOTAL_BYTES: usize = 16 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    id: u32,
}

struct Pending {
    /// (offset, bytes) pieces, in arrival order.
    pieces: Vec<(u32, Vec<u8>)>,
    total_len: Option<u32>,
    bytes: usize,
    last_ns: i64,
    first_frame: u64,
}

/// A reassembled datagram.
pub struct Datagram {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: u8,
    pub payload: Vec<u8>,
    pub first_frame: u64,
    pub fragments: u32,
}

#[derive(Default)]
pub struct Defragmenter {
    pending: HashMap<Key, Pending>,
    total_bytes: usize,
    /// Datagrams dropped because they never completed (timeout or end of capture).
    pub incomplete: u64,
    /// Datagrams dropped at a memory bound.
    pub dropped_at_bound: u64,
    /// First frame of a dropped datagram, for the problem report.
    pub first_dropped_frame: Option<u64>,
    /// Fragments seen.
    pub fragments: u64,
}

impl Defragmenter {
    pub fn push(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        frag: &Fragment<'_>,
        frame: u64,
        time_ns: i64,
    ) -> Option<Datagram> {
        self.fragments += 1;
        self.expire(time_ns);
        let key = Key {
            src,
            dst,
            protocol: frag.protocol,
            id: frag.id,
        };
        let end = frag.offset as usize + frag.payload.len();
        if end > MAX_DATAGRAM {
            self.note_drop(frame, true);
            return None;
        }
        if !self.pending.contains_key(&key)
            && (self.pending.len() >= MAX_PENDING
                || self.total_bytes + frag.payload.len() > MAX_TOTAL_BYTES)
        {
            self.note_drop(frame, true);
            return None;
        }
        let p = self.pending.entry(key).or_insert_with(|| Pending {
            pieces: Vec::new(),
            total_len: None,
            bytes: 0,
            last_ns: time_ns,
            first_frame: frame,
        });
        p.last_ns = time_ns;
        p.first_frame = p.first_frame.min(frame);
        if !frag.more {
            p.total_len = Some(end as u32);
        }
        p.pieces.push((frag.offset, frag.payload.to_vec()));
        p.bytes += frag.payload.len();
        self.total_bytes += frag.payload.len();
        let total = p.total_len? as usize;
        // Check coverage of [0, total).
        let mut ranges: Vec<(usize, usize)> = p
            .pieces
            .iter()
            .map(|(o, b)| (*o as usize, *o as usize + b.len()))
            .collect();
        ranges.sort_unstable();
        let mut covered = 0;
        for (s, e) in ranges {
            if s > covered {
                return None;
            }
            covered = covered.max(e);
        }
        if covered < total {
            return None;
        }
        let p = self.pending.remove(&key)?;
        self.total_bytes -= p.bytes;
        let mut payload = vec![0u8; total];
        for (off, bytes) in &p.pieces {
            let off = *off as usize;
            let n = bytes.len().min(total.saturating_sub(off));
            payload[off..off + n].copy_from_slice(&bytes[..n]);
        }
        Some(Datagram {
            src,
            dst,
            protocol: frag.protocol,
            payload,
            first_frame: p.first_frame,
            fragments: p.pieces.len() as u32,
        })
    }

    fn note_drop(&mut self, frame: u64, bound: bool) {
        if bound {
            self.dropped_at_bound += 1;
        } else {
            self.incomplete += 1;
        }
        self.first_dropped_frame = Some(self.first_dropped_frame.map_or(frame, |f| f.min(frame)));
    }

    fn expire(&mut self, now_ns: i64) {
        if self.pending.is_empty() {
            return;
        }
        let stale: Vec<(Key, u64)> = self
            .pending
            .iter()
            .filter(|(_, p)| now_ns - p.last_ns > TIMEOUT_NS)
            .map(|(k, p)| (*k, p.first_frame))
            .collect();
        for (k, frame) in stale {
            if let Some(p) = self.pending.remove(&k) {
                self.total_bytes -= p.bytes;
            }
            self.note_drop(frame, false);
        }
    }

    /// At the end of the capture: everything still pending never completed.
    pub fn finish(&mut self) {
        let left: Vec<u64> = self.pending.values().map(|p| p.first_frame).collect();
        self.pending.clear();
        self.total_bytes = 0;
        for f in left {
            self.note_drop(f, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(offset: u32, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            v6: false,
            id: 7,
            offset,
            more,
            protocol: 17,
            payload: data,
        }
    }

    #[test]
    fn reassembles_out_of_order() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let mut d = Defragmenter::default();
        assert!(d.push(a, b, &frag(8, false, b"world!!!"), 2, 0).is_none());
        let dg = d
            .push(a, b, &frag(0, true, b"hello, w"), 1, 1)
            .expect("complete");
        assert_eq!(dg.payload, b"hello, wworld!!!");
        assert_eq!(dg.first_frame, 1);
        assert_eq!(dg.fragments, 2);
    }

    #[test]
    fn stale_fragments_are_counted() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let mut d = Defragmenter::default();
        d.push(a, a, &frag(0, true, b"12345678"), 1, 0);
        let mut f2 = frag(0, true, b"x");
        f2.id = 9;
        d.push(a, a, &f2, 2, TIMEOUT_NS + 1);
        assert_eq!(d.incomplete, 1);
        d.finish();
        assert_eq!(d.incomplete, 2);
    }

    #[test]
    fn flood_is_bounded() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let mut d = Defragmenter::default();
        for i in 0..(MAX_PENDING as u32 + 100) {
            let mut f = frag(0, true, b"12345678");
            f.id = i;
            d.push(a, a, &f, u64::from(i), 0);
        }
        assert_eq!(d.dropped_at_bound, 100);
    }
}
