//! The per-second series of a stream, packed: thousands of streams go at once in a carrier capture and
//! each keeps a point per second, so the finished points are stored as varints (about 7 bytes each
//! instead of 16, and a buffer that grows by half rather than doubling). The point being filled is kept
//! as is. Decoding gives back exactly what was added (the jitter's f32 bits are stored whole).

/// One second of a stream (seconds since the stream's first packet).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntervalPoint {
    pub second: u32,
    pub packets: u32,
    /// Sequence gaps opened in this second minus late packets that filled one.
    pub lost: i32,
    pub max_jitter_ms: f32,
}

/// Maximum number of per-second points kept (4 hours).
pub const MAX_SERIES_POINTS: usize = 14_400;

#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Finished points: second (difference to the previous point), packets, lost (zigzag) as varints,
    /// then the jitter's f32 bits, little-endian.
    packed: Vec<u8>,
    /// The point being filled.
    current: Option<IntervalPoint>,
    /// Points, the current one included.
    len: usize,
    /// Second of the last finished point.
    last_packed_second: u32,
    dropped: u64,
}

fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &[u8], pos: &mut usize) -> Option<u32> {
    let mut v: u32 = 0;
    for shift in [0u32, 7, 14, 21, 28] {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        v |= u32::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

fn unzigzag(v: u32) -> i32 {
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

impl Series {
    /// Counts a packet at `second` (from the stream's start) that opened `gap` sequence gaps (negative
    /// when it filled one) with the running jitter `jitter_ms`. A second earlier than the current
    /// point's (time stamps that step back) counts in the current point.
    pub fn add(&mut self, second: u32, gap: i32, jitter_ms: f32) {
        if let Some(cur) = self.current.as_mut()
            && second <= cur.second
        {
            cur.packets = cur.packets.saturating_add(1);
            cur.lost = cur.lost.saturating_add(gap);
            cur.max_jitter_ms = cur.max_jitter_ms.max(jitter_ms);
            return;
        }
        if self.len >= MAX_SERIES_POINTS {
            self.dropped += 1;
            return;
        }
        if let Some(done) = self.current.take() {
            self.pack(done);
        }
        self.current = Some(IntervalPoint {
            second,
            packets: 1,
            lost: gap,
            max_jitter_ms: jitter_ms,
        });
        self.len += 1;
    }

    fn pack(&mut self, p: IntervalPoint) {
        const MAX_POINT_BYTES: usize = 3 * 5 + 4;
        if self.packed.capacity() - self.packed.len() < MAX_POINT_BYTES {
            let grow = (self.packed.capacity() / 2).max(64);
            self.packed.reserve_exact(grow);
        }
        put_varint(
            &mut self.packed,
            p.second.wrapping_sub(self.last_packed_second),
        );
        put_varint(&mut self.packed, p.packets);
        put_varint(&mut self.packed, zigzag(p.lost));
        self.packed
            .extend_from_slice(&p.max_jitter_ms.to_bits().to_le_bytes());
        self.last_packed_second = p.second;
    }

    /// Number of points (seconds that had packets), at most [`MAX_SERIES_POINTS`].
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Packets that arrived after the series was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The points in order.
    pub fn iter(&self) -> impl Iterator<Item = IntervalPoint> + '_ {
        let mut pos = 0;
        let mut second = 0u32;
        let packed = std::iter::from_fn(move || {
            let delta = get_varint(&self.packed, &mut pos)?;
            let packets = get_varint(&self.packed, &mut pos)?;
            let lost = unzigzag(get_varint(&self.packed, &mut pos)?);
            let bits = self.packed.get(pos..pos + 4)?;
            pos += 4;
            second = second.wrapping_add(delta);
            Some(IntervalPoint {
                second,
                packets,
                lost,
                max_jitter_ms: f32::from_bits(u32::from_le_bytes([
                    bits[0], bits[1], bits[2], bits[3],
                ])),
            })
        });
        packed.chain(self.current)
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.packed.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(s: &Series) -> Vec<(u32, u32, i32, u32)> {
        s.iter()
            .map(|p| (p.second, p.packets, p.lost, p.max_jitter_ms.to_bits()))
            .collect()
    }

    #[test]
    fn round_trips_extreme_values() {
        let mut s = Series::default();
        let mut want = Vec::new();
        let seconds = [0u32, 1, 2, 200, 70_000, 1 << 28, u32::MAX - 1, u32::MAX];
        let gaps = [0i32, -1, 1, i32::MIN, i32::MAX, -70_000, 5, 0];
        let jit = [
            0.0f32,
            0.013,
            f32::NAN,
            f32::INFINITY,
            -0.0,
            1e30,
            3.5,
            42.25,
        ];
        for i in 0..seconds.len() {
            s.add(seconds[i], gaps[i], jit[i]);
            want.push((seconds[i], 1, gaps[i], jit[i].to_bits()));
        }
        assert_eq!(s.len(), seconds.len());
        assert_eq!(collect(&s), want);
    }

    #[test]
    fn packets_of_a_second_are_summed_and_earlier_seconds_join_the_current_point() {
        let mut s = Series::default();
        s.add(3, 0, 1.0);
        s.add(3, 2, 0.5);
        s.add(2, -1, 4.0); // time stepped back
        s.add(5, 0, 0.25);
        assert_eq!(
            collect(&s),
            vec![(3, 3, 1, 4.0f32.to_bits()), (5, 1, 0, 0.25f32.to_bits())]
        );
    }

    #[test]
    fn capped_and_compact() {
        let mut s = Series::default();
        for k in 0..(MAX_SERIES_POINTS as u32 + 7) {
            s.add(k, 0, 0.125);
        }
        assert_eq!(s.len(), MAX_SERIES_POINTS);
        assert_eq!(s.dropped(), 7);
        assert_eq!(s.iter().count(), MAX_SERIES_POINTS);
        assert_eq!(
            s.iter().last().map(|p| p.second),
            Some(MAX_SERIES_POINTS as u32 - 1)
        );
        // 1 + 1 + 1 + 4 bytes per finished point, the buffer at most half empty.
        assert!(
            s.heap_bytes() <= 7 * MAX_SERIES_POINTS * 3 / 2 + 64,
            "{}",
            s.heap_bytes()
        );
    }
}
