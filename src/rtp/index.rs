//! Stream index: (source, destination, SSRC) to the slot of the stream's state.
//!
//! IPv4 keys (nearly all traffic) live in an open-addressing table with linear probing, so the analysis
//! thread can ask the CPU to load a key's bucket a few packets before it looks the key up (`prefetch`).
//! With thousands of streams going, a lookup otherwise waits for memory on almost every packet (10 GB
//! generated capture, 14 000 streams: `hashbrown` lookups were 13 % of all CPU samples). Other keys (IPv6)
//! go to an ordinary hash map.
//!
//! The hash is seeded per process, so crafted addresses, ports and SSRCs cannot be chosen to collide;
//! lookups give the same answer whatever the seed, so results do not depend on it.

use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;

use rustc_hash::FxHashMap;

/// Stream key. IPv4 pairs pack into two integers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// (source address, destination address), (source port, destination port, SSRC).
    V4(u64, u64),
    /// Boxed: keeps every key small.
    Other(Box<(SocketAddr, SocketAddr, u32)>),
}

impl Key {
    pub fn new(src: SocketAddr, dst: SocketAddr, ssrc: u32) -> Key {
        match packed_v4(src, dst, ssrc) {
            Some((a, b)) => Key::V4(a, b),
            None => Key::Other(Box::new((src, dst, ssrc))),
        }
    }
}

/// The two integers of an IPv4 key; `None` unless both addresses are IPv4.
#[inline(always)]
fn packed_v4(src: SocketAddr, dst: SocketAddr, ssrc: u32) -> Option<(u64, u64)> {
    match (src, dst) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => Some((
            u64::from(s.ip().to_bits()) << 32 | u64::from(d.ip().to_bits()),
            u64::from(s.port()) << 48 | u64::from(d.port()) << 32 | u64::from(ssrc),
        )),
        _ => None,
    }
}

/// Marks an empty bucket.
const EMPTY: u32 = u32::MAX;

/// One bucket: an IPv4 key and its slot (`EMPTY` when unused).
#[derive(Clone, Copy)]
struct Entry {
    a: u64,
    b: u64,
    slot: u32,
}

const VACANT: Entry = Entry {
    a: 0,
    b: 0,
    slot: EMPTY,
};

pub struct StreamIndex {
    /// Buckets, a power of two in number (or none yet).
    table: Vec<Entry>,
    /// IPv4 keys in `table`.
    len: usize,
    seed: u64,
    other: FxHashMap<Box<(SocketAddr, SocketAddr, u32)>, u32>,
}

impl Default for StreamIndex {
    fn default() -> Self {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x766f_6970_6478);
        StreamIndex {
            table: Vec::new(),
            len: 0,
            seed: h.finish(),
            other: FxHashMap::default(),
        }
    }
}

/// Multiplies and folds the 128-bit product (as foldhash does).
#[inline(always)]
fn fold_mul(x: u64, y: u64) -> u64 {
    let m = u128::from(x).wrapping_mul(u128::from(y));
    (m as u64) ^ ((m >> 64) as u64)
}

impl StreamIndex {
    #[inline(always)]
    fn bucket(&self, a: u64, b: u64) -> usize {
        let h = fold_mul(a ^ self.seed, 0x243f_6a88_85a3_08d3);
        let h = fold_mul(h ^ b, 0x1319_8a2e_0370_7344 ^ self.seed.rotate_left(17));
        h as usize & (self.table.len() - 1)
    }

    /// Where `(a, b)` is, or the empty bucket where it would go. The table must not be empty.
    #[inline(always)]
    fn position(&self, a: u64, b: u64) -> usize {
        let mask = self.table.len() - 1;
        let mut i = self.bucket(a, b);
        loop {
            let e = &self.table[i];
            if e.slot == EMPTY || (e.a == a && e.b == b) {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    pub fn get(&self, key: &Key) -> Option<usize> {
        match key {
            Key::V4(a, b) => {
                if self.table.is_empty() {
                    return None;
                }
                let e = &self.table[self.position(*a, *b)];
                (e.slot != EMPTY).then_some(e.slot as usize)
            }
            Key::Other(k) => self.other.get(k).map(|s| *s as usize),
        }
    }

    /// Maps `key` to `slot` (below `u32::MAX`), replacing any earlier slot.
    pub fn insert(&mut self, key: Key, slot: usize) {
        let slot = u32::try_from(slot).unwrap_or(EMPTY - 1).min(EMPTY - 1);
        match key {
            Key::V4(a, b) => {
                // At most half the buckets are used (short probe runs); the table doubles beyond.
                if (self.len + 1) * 2 > self.table.len() {
                    self.grow();
                }
                let i = self.position(a, b);
                if self.table[i].slot == EMPTY {
                    self.len += 1;
                }
                self.table[i] = Entry { a, b, slot };
            }
            Key::Other(k) => {
                self.other.insert(k, slot);
            }
        }
    }

    pub fn remove(&mut self, key: &Key) {
        let (a, b) = match key {
            Key::V4(a, b) => (*a, *b),
            Key::Other(k) => {
                self.other.remove(k);
                return;
            }
        };
        if self.table.is_empty() {
            return;
        }
        let mask = self.table.len() - 1;
        let mut hole = self.position(a, b);
        if self.table[hole].slot == EMPTY {
            return;
        }
        self.len -= 1;
        // Backward shift: move later entries of the run into the hole when their home bucket allows it,
        // so every key stays reachable from its home bucket without tombstones.
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let e = self.table[j];
            if e.slot == EMPTY {
                break;
            }
            let home = self.bucket(e.a, e.b);
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.table[hole] = e;
                hole = j;
            }
        }
        self.table[hole] = VACANT;
    }

    /// Asks the CPU to start loading the bucket of the stream `(src, dst, ssrc)` (IPv4 only; builds no
    /// key). A hint only.
    #[inline(always)]
    pub fn prefetch(&self, src: SocketAddr, dst: SocketAddr, ssrc: u32) {
        let Some((a, b)) = packed_v4(src, dst, ssrc) else {
            return;
        };
        if self.table.is_empty() {
            return;
        }
        crate::memory::prefetch(&self.table[self.bucket(a, b)]);
    }

    fn grow(&mut self) {
        let buckets = (self.table.len() * 2).max(64);
        let old = std::mem::replace(&mut self.table, vec![VACANT; buckets]);
        for e in old.into_iter().filter(|e| e.slot != EMPTY) {
            let i = self.position(e.a, e.b);
            self.table[i] = e;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(i: u32) -> Key {
        let src = SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8], 10_000 + (i % 7) as u16));
        let dst = SocketAddr::from(([192, 0, 2, 1], 20_000));
        Key::new(src, dst, i.wrapping_mul(2_654_435_761))
    }

    /// Inserts, lookups and removals in a mixed order agree with a standard map at every step, through
    /// table growth and long probe runs (a tiny key space makes runs collide).
    #[test]
    fn agrees_with_a_standard_map() {
        let mut index = StreamIndex::default();
        let mut model = std::collections::HashMap::new();
        let mut x: u32 = 12345;
        for step in 0..60_000usize {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let k = if x.is_multiple_of(11) {
                Key::new(
                    SocketAddr::from(([0x20, 1, 0, 0, 0, 0, 0, (x % 300) as u16], 5004)),
                    SocketAddr::from(([10, 1, 1, 1], 5004)),
                    7,
                )
            } else {
                v4(x % 3000)
            };
            match x % 3 {
                0 => {
                    model.insert(k.clone(), step);
                    index.insert(k.clone(), step);
                }
                1 => {
                    model.remove(&k);
                    index.remove(&k);
                }
                _ => {}
            }
            assert_eq!(index.get(&k), model.get(&k).copied(), "step {step}");
        }
        for (k, v) in &model {
            assert_eq!(index.get(k), Some(*v));
        }
        assert_eq!(index.len + index.other.len(), model.len());
    }

    #[test]
    fn lookups_tell_every_field_apart() {
        let base = (
            SocketAddr::from(([10, 0, 0, 1], 4000)),
            SocketAddr::from(([10, 0, 0, 2], 5000)),
            77u32,
        );
        let mut index = StreamIndex::default();
        index.insert(Key::new(base.0, base.1, base.2), 1);
        let others = [
            Key::new(SocketAddr::from(([10, 0, 0, 3], 4000)), base.1, base.2),
            Key::new(SocketAddr::from(([10, 0, 0, 1], 4001)), base.1, base.2),
            Key::new(base.0, SocketAddr::from(([10, 0, 0, 4], 5000)), base.2),
            Key::new(base.0, SocketAddr::from(([10, 0, 0, 2], 5001)), base.2),
            Key::new(base.0, base.1, 78),
            Key::new(base.1, base.0, base.2),
        ];
        for k in &others {
            assert_eq!(index.get(k), None, "{k:?}");
        }
        assert_eq!(index.get(&Key::new(base.0, base.1, base.2)), Some(1));
    }

    #[test]
    fn stream_keys_are_small_and_tell_every_field_apart() {
        assert_eq!(std::mem::size_of::<Key>(), 24);
        let a: SocketAddr = "192.0.2.1:10000".parse().unwrap();
        let b: SocketAddr = "198.51.100.2:20000".parse().unwrap();
        let c: SocketAddr = "192.0.2.1:10002".parse().unwrap();
        let k = Key::new(a, b, 7);
        assert_eq!(k, Key::new(a, b, 7));
        assert_ne!(k, Key::new(b, a, 7));
        assert_ne!(k, Key::new(c, b, 7));
        assert_ne!(k, Key::new(a, b, 8));
        let v6: SocketAddr = "[2001:db8::1]:10000".parse().unwrap();
        assert_eq!(Key::new(v6, b, 7), Key::new(v6, b, 7));
        assert_ne!(Key::new(v6, b, 7), Key::new(v6, b, 9));
    }
}
