//! Per-stream RTP accumulator reproducing Wireshark 4.0's RTP stream analysis
//! (`tshark -z rtp,streams`, Telephony > RTP > Stream Analysis).
//!
//! A stream is whatever the caller groups (Wireshark: source address and port,
//! destination address and port, SSRC). Packets are pushed in capture order;
//! nothing per packet is kept, only a fixed-size state plus a capped
//! per-second series.
//!
//! How Wireshark 4.0 computes the numbers, restated:
//!
//! * The first packet only initialises the state (start sequence number,
//!   first RTP timestamp, start time) and never contributes a delta or jitter.
//! * A later packet is *in time sequence* unless its RTP timestamp is before
//!   the stream's first timestamp by 2^31 ticks or more (modulo 2^32). A late,
//!   reordered packet is still "in time sequence" (it is compared with the
//!   first packet, not the previous one), so it gets a delta and a jitter
//!   sample against the previous packet like any other.
//! * Sequence cycles: an in-time packet with a sequence number below the
//!   first one (or 0 right after 65535) starts a new cycle once; a number
//!   above the first one ends that state. Expected = last packet's sequence
//!   number + 65536 * cycles - first sequence number + 1 (32-bit arithmetic),
//!   lost = expected - packets (signed 32-bit, negative with duplicates).
//! * Sequence errors: an in-time jump forward (or a backward step of more than
//!   0xFF00) counts one error and moves on; a number not above the last
//!   accepted one counts one error (late or duplicate) and is not accepted.
//! * Delta is the arrival time since the previous in-time packet; it is
//!   recomputed only for in-time packets.
//! * With a known clock rate, for in-time packets: nominal time = (timestamp -
//!   first timestamp) / (clock / 1000, integer division) ms; diff = |arrival
//!   delta - nominal delta| measured against the previous packet that had a
//!   clock; jitter = jitter + (diff - jitter) / 16; skew = nominal time - time
//!   since start; the skew of largest magnitude is kept, and least-squares
//!   sums feed the clock drift.
//! * Only "regular" packets update min/mean/max delta and jitter: not marked,
//!   not comfort noise (PT 13 or 19), not right after comfort noise, and in
//!   time sequence. Means are running means divided by the count of packets
//!   seen before (Wireshark's formula), so skipped packets still weigh in.
//!
//! Our own additions (not in Wireshark): duplicates and out-of-order counts
//! from a 512-entry window of recently seen sequence numbers, payload types
//! seen, marker count, and the per-second series.

/// One RTP packet as the stream accumulator needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket {
    pub frame: u64,
    pub time_ns: i64,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload_type: u8,
    pub marker: bool,
    pub payload_len: u16,
}

pub use super::series::{IntervalPoint, MAX_SERIES_POINTS, Series};

/// Finished numbers of a stream, named as in Wireshark where they exist.
/// `min_delta_ms` and `min_jitter_ms` are -1 when nothing was measured
/// (Wireshark prints -1.000 too).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamMetrics {
    pub packets: u64,
    pub expected: u64,
    pub lost: i64,
    pub lost_percent: f64,
    pub sequence_errors: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub min_delta_ms: f64,
    pub mean_delta_ms: f64,
    pub max_delta_ms: f64,
    pub max_delta_frame: u64,
    pub min_jitter_ms: f64,
    pub mean_jitter_ms: f64,
    pub max_jitter_ms: f64,
    pub max_skew_ms: f64,
    pub clock_drift_ms: f64,
    pub first_frame: u64,
    pub last_frame: u64,
    pub start_ns: i64,
    pub end_ns: i64,
    pub payload_types: Vec<u8>,
    pub marker_packets: u64,
}

const CN: u8 = 13;
const CN_OLD: u8 = 19;
const WINDOW_BITS: u32 = 512;

/// Fixed-size accumulator of one RTP stream.
#[derive(Debug, Clone)]
pub struct StreamStats {
    packets: u64,
    first_frame: u64,
    last_frame: u64,
    start_ns: i64,
    end_ns: i64,
    // Wireshark state.
    start_seq: u16,
    stop_seq: u16,
    last_seq: u16,
    seq_cycles: u32,
    under: bool,
    first_timestamp: u32,
    last_in_time_ns: i64,
    last_nominal_ms: f64,
    last_pt: u8,
    clock_rate: u32,
    delta_ms: f64,
    jitter_ms: f64,
    min_delta_ms: f64,
    mean_delta_ms: f64,
    max_delta_ms: f64,
    max_delta_frame: u64,
    min_jitter_ms: f64,
    mean_jitter_ms: f64,
    max_jitter_ms: f64,
    max_skew_ms: f64,
    sum_t: f64,
    sum_ts: f64,
    sum_t2: f64,
    sum_t_ts: f64,
    sequence_errors: u64,
    // Our additions.
    duplicates: u64,
    out_of_order: u64,
    marker_packets: u64,
    payload_types: [u64; 4],
    highest_ext_seq: i64,
    seen: [u64; (WINDOW_BITS / 64) as usize],
    series: Series,
}

impl Default for StreamStats {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamStats {
    pub fn new() -> Self {
        StreamStats {
            packets: 0,
            first_frame: 0,
            last_frame: 0,
            start_ns: 0,
            end_ns: 0,
            start_seq: 0,
            stop_seq: 0,
            last_seq: 0,
            seq_cycles: 0,
            under: false,
            first_timestamp: 0,
            last_in_time_ns: 0,
            last_nominal_ms: 0.0,
            last_pt: 0,
            clock_rate: 0,
            delta_ms: 0.0,
            jitter_ms: 0.0,
            min_delta_ms: -1.0,
            mean_delta_ms: 0.0,
            max_delta_ms: 0.0,
            max_delta_frame: 0,
            min_jitter_ms: -1.0,
            mean_jitter_ms: 0.0,
            max_jitter_ms: 0.0,
            max_skew_ms: 0.0,
            sum_t: 0.0,
            sum_ts: 0.0,
            sum_t2: 0.0,
            sum_t_ts: 0.0,
            sequence_errors: 0,
            duplicates: 0,
            out_of_order: 0,
            marker_packets: 0,
            payload_types: [0; 4],
            highest_ext_seq: 0,
            seen: [0; (WINDOW_BITS / 64) as usize],
            series: Series::default(),
        }
    }

    /// Folds one packet in. `clock_rate` is the RTP clock Wireshark would use
    /// for this packet (see `codec::wireshark_clock_rate`); `None` or 0 means
    /// no jitter, skew or drift for it, as in Wireshark.
    pub fn push(&mut self, p: &RtpPacket, clock_rate: Option<u32>) {
        let clock = clock_rate.unwrap_or(0);
        self.note_payload_type(p);
        if self.packets == 0 {
            self.first_packet(p);
            self.track_order(p);
            self.add_to_series(p, 0);
            return;
        }
        let in_time = self.in_time_sequence(p.timestamp);
        self.update_cycles(p.seq, in_time);
        self.update_sequence(p.seq, in_time);
        let cn = p.payload_type == CN || p.payload_type == CN_OLD;
        let follows_cn = self.last_pt == CN || self.last_pt == CN_OLD;
        self.last_pt = p.payload_type;
        if in_time {
            self.update_timing(p, clock);
        }
        let regular = !p.marker && !cn && !follows_cn && in_time;
        if regular {
            self.update_extremes(p.frame, clock);
        }
        if in_time {
            self.last_in_time_ns = p.time_ns;
        }
        self.stop_seq = p.seq;
        self.packets += 1;
        self.last_frame = p.frame;
        self.end_ns = p.time_ns;
        let gap = self.track_order(p);
        self.add_to_series(p, gap);
    }

    fn note_payload_type(&mut self, p: &RtpPacket) {
        let pt = usize::from(p.payload_type & 0x7f);
        if let Some(word) = self.payload_types.get_mut(pt / 64) {
            *word |= 1 << (pt % 64);
        }
        if p.marker {
            self.marker_packets += 1;
        }
    }

    fn first_packet(&mut self, p: &RtpPacket) {
        self.packets = 1;
        self.first_frame = p.frame;
        self.last_frame = p.frame;
        self.start_ns = p.time_ns;
        self.end_ns = p.time_ns;
        self.start_seq = p.seq;
        self.stop_seq = p.seq;
        self.last_seq = p.seq;
        self.first_timestamp = p.timestamp;
        self.last_in_time_ns = p.time_ns;
        self.last_pt = p.payload_type;
        self.highest_ext_seq = i64::from(p.seq);
    }

    /// Wireshark 4.0: less than 2^31 ticks after the stream's first
    /// timestamp, across a 32-bit wrap too (for a wrapped timestamp Wireshark
    /// adds `0xFFFFFFFF - first` and `timestamp`, one tick short of the
    /// modular distance).
    fn in_time_sequence(&self, timestamp: u32) -> bool {
        let first = u64::from(self.first_timestamp);
        let ts = u64::from(timestamp);
        if ts >= first {
            ts - first < 0x8000_0000
        } else {
            (0xffff_ffff - first) + ts < 0x8000_0000
        }
    }

    fn update_cycles(&mut self, seq: u16, in_time: bool) {
        if !in_time {
            return;
        }
        if !self.under && (seq < self.start_seq || (seq == 0 && self.stop_seq == 65535)) {
            self.seq_cycles = self.seq_cycles.wrapping_add(1);
            self.under = true;
        } else if self.under && seq > self.start_seq {
            self.under = false;
        }
    }

    fn update_sequence(&mut self, seq: u16, in_time: bool) {
        let last = u32::from(self.last_seq);
        let cur = u32::from(seq);
        if in_time && (last + 1 == cur || (last == 65535 && cur == 0)) {
            self.last_seq = seq;
        } else if in_time && (last + 1 < cur || last > cur + 0xff00) {
            self.last_seq = seq;
            self.sequence_errors += 1;
        } else if cur <= last {
            self.sequence_errors += 1;
        }
    }

    /// Delta, jitter and skew for an in-time packet.
    fn update_timing(&mut self, p: &RtpPacket, clock: u32) {
        let since_last_ms = ns_to_ms(p.time_ns.wrapping_sub(self.last_in_time_ns));
        self.delta_ms = since_last_ms;
        let divisor = clock / 1000;
        if divisor == 0 {
            return;
        }
        self.clock_rate = clock;
        let ticks = p.timestamp.wrapping_sub(self.first_timestamp);
        let nominal_ms = f64::from(ticks) / f64::from(divisor);
        let diff = (since_last_ms - (nominal_ms - self.last_nominal_ms)).abs();
        self.jitter_ms = (15.0 * self.jitter_ms + diff) / 16.0;
        self.last_nominal_ms = nominal_ms;
        let arrival_ms = ns_to_ms(p.time_ns.wrapping_sub(self.start_ns));
        let skew = nominal_ms - arrival_ms;
        if skew.abs() > self.max_skew_ms.abs() {
            self.max_skew_ms = skew;
        }
        self.sum_t += arrival_ms;
        self.sum_ts += nominal_ms;
        self.sum_t2 += arrival_ms * arrival_ms;
        self.sum_t_ts += arrival_ms * nominal_ms;
    }

    fn update_extremes(&mut self, frame: u64, clock: u32) {
        let n = self.packets as f64; // packets before this one
        if self.delta_ms > self.max_delta_ms {
            self.max_delta_ms = self.delta_ms;
            self.max_delta_frame = frame;
        }
        if self.min_delta_ms == -1.0 || self.delta_ms < self.min_delta_ms {
            self.min_delta_ms = self.delta_ms;
        }
        self.mean_delta_ms = (self.mean_delta_ms * (n - 1.0) + self.delta_ms) / n;
        if clock / 1000 == 0 {
            return;
        }
        if self.jitter_ms > self.max_jitter_ms {
            self.max_jitter_ms = self.jitter_ms;
        }
        self.mean_jitter_ms = (self.mean_jitter_ms * (n - 1.0) + self.jitter_ms) / n;
        if self.min_jitter_ms == -1.0 || self.jitter_ms < self.min_jitter_ms {
            self.min_jitter_ms = self.jitter_ms;
        }
    }

    /// Our own duplicate / out-of-order bookkeeping on an RFC 3550-style
    /// extended sequence number. Returns the number of packets this one
    /// reveals as missing (negative when a late packet fills a gap).
    fn track_order(&mut self, p: &RtpPacket) -> i64 {
        let base = self.highest_ext_seq;
        let step = i64::from(p.seq.wrapping_sub(base as u16) as i16);
        let ext = base + step;
        if self.packets <= 1 && step == 0 {
            self.mark_seen(ext);
            return 0;
        }
        if step > 0 {
            self.advance_window(step);
            self.highest_ext_seq = ext;
            self.mark_seen(ext);
            return step - 1;
        }
        let behind = -step;
        if behind >= i64::from(WINDOW_BITS) {
            self.out_of_order += 1;
            return 0;
        }
        if self.is_seen(ext) {
            self.duplicates += 1;
            0
        } else {
            self.out_of_order += 1;
            self.mark_seen(ext);
            -1
        }
    }

    fn window_slot(&self, ext: i64) -> (usize, u64) {
        let bit = ext.rem_euclid(i64::from(WINDOW_BITS)) as usize;
        (bit / 64, 1u64 << (bit % 64))
    }

    fn mark_seen(&mut self, ext: i64) {
        let (word, mask) = self.window_slot(ext);
        if let Some(w) = self.seen.get_mut(word) {
            *w |= mask;
        }
    }

    fn is_seen(&self, ext: i64) -> bool {
        let (word, mask) = self.window_slot(ext);
        self.seen.get(word).is_some_and(|w| w & mask != 0)
    }

    /// Clears the slots of the `step` sequence numbers the window moves over.
    fn advance_window(&mut self, step: i64) {
        if step >= i64::from(WINDOW_BITS) {
            self.seen = [0; (WINDOW_BITS / 64) as usize];
            return;
        }
        for k in 1..=step {
            let (word, mask) = self.window_slot(self.highest_ext_seq + k);
            if let Some(w) = self.seen.get_mut(word) {
                *w &= !mask;
            }
        }
    }

    fn add_to_series(&mut self, p: &RtpPacket, gap: i64) {
        let offset = p.time_ns.saturating_sub(self.start_ns).max(0);
        let second = u32::try_from(offset / 1_000_000_000).unwrap_or(u32::MAX);
        let gap = i32::try_from(gap).unwrap_or(if gap < 0 { i32::MIN } else { i32::MAX });
        self.series.add(second, gap, self.jitter_ms as f32);
    }

    /// Per-second points (only seconds that had packets), at most [`MAX_SERIES_POINTS`].
    pub fn series(&self) -> &Series {
        &self.series
    }

    /// Packets that arrived after the series was full.
    pub fn series_dropped(&self) -> u64 {
        self.series.dropped()
    }

    /// Number of packets pushed so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// The finished numbers, as Wireshark 4.0 would print them.
    /// Frame of the first packet.
    pub fn first_frame(&self) -> u64 {
        self.first_frame
    }

    /// Frame of the last packet.
    pub fn last_frame(&self) -> u64 {
        self.last_frame
    }

    /// Time of the last packet.
    pub fn end_ns(&self) -> i64 {
        self.end_ns
    }

    pub fn metrics(&self) -> StreamMetrics {
        // Expected and lost follow RFC 3550 A.3 on the extended sequence number, where a packet that
        // arrives late across a 16-bit wrap is recognised as late. Wireshark 4.0 counts such a packet as a
        // second wrap and reports 65536 more "lost" packets per occurrence (e.g. 131072 lost, 99.3 %,
        // for a 975-packet stream with no loss); we report the true loss there and match it elsewhere.
        let expected = if self.packets > 0 {
            (self.highest_ext_seq - i64::from(self.start_seq) + 1).max(0)
        } else {
            0
        };
        let lost = expected - self.packets as i64;
        let lost_percent = if expected > 0 {
            lost as f64 * 100.0 / expected as f64
        } else {
            0.0
        };
        StreamMetrics {
            packets: self.packets,
            expected: expected as u64,
            lost,
            lost_percent,
            sequence_errors: self.sequence_errors,
            duplicates: self.duplicates,
            out_of_order: self.out_of_order,
            min_delta_ms: self.min_delta_ms,
            mean_delta_ms: self.mean_delta_ms,
            max_delta_ms: self.max_delta_ms,
            max_delta_frame: self.max_delta_frame,
            min_jitter_ms: self.min_jitter_ms,
            mean_jitter_ms: self.mean_jitter_ms,
            max_jitter_ms: self.max_jitter_ms,
            max_skew_ms: self.max_skew_ms,
            clock_drift_ms: self.clock_drift_ms(),
            first_frame: self.first_frame,
            last_frame: self.last_frame,
            start_ns: self.start_ns,
            end_ns: self.end_ns,
            payload_types: self.payload_type_list(),
            marker_packets: self.marker_packets,
        }
    }

    /// Least-squares slope of nominal time against arrival time, scaled to
    /// the stream duration (Wireshark's "clock drift", ms).
    fn clock_drift_ms(&self) -> f64 {
        let n = self.packets as f64;
        if self.packets == 0 || self.sum_t2 <= 0.0 {
            return 0.0;
        }
        let slope = (n * self.sum_t_ts - self.sum_t * self.sum_ts)
            / (n * self.sum_t2 - self.sum_t * self.sum_t);
        let duration = ns_to_ms(self.last_in_time_ns.wrapping_sub(self.start_ns));
        let drift = duration * (slope - 1.0);
        if drift.is_finite() { drift } else { 0.0 }
    }

    fn payload_type_list(&self) -> Vec<u8> {
        (0u8..128)
            .filter(|pt| {
                let i = usize::from(*pt);
                self.payload_types
                    .get(i / 64)
                    .is_some_and(|w| w & (1 << (i % 64)) != 0)
            })
            .collect()
    }
}

fn ns_to_ms(ns: i64) -> f64 {
    ns as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    /// Packet `seq` sent on a 20 ms / 160-tick grid (seq 1 at t = 0, ts = 0
    /// plus `ts0`), arriving at `t_ms`.
    fn pkt(frame: u64, t_ms: f64, seq: u16, ts: u32) -> RtpPacket {
        RtpPacket {
            frame,
            time_ns: (t_ms * 1e6).round() as i64,
            seq,
            timestamp: ts,
            ssrc: 0x1234,
            payload_type: 0,
            marker: false,
            payload_len: 160,
        }
    }

    /// Feeds packets given as (arrival ms, sequence offset) on the grid.
    fn run(seq0: u16, ts0: u32, arrivals: &[(f64, u16)]) -> StreamMetrics {
        let mut s = StreamStats::new();
        for (i, (t, k)) in arrivals.iter().enumerate() {
            let seq = seq0.wrapping_add(*k);
            let ts = ts0.wrapping_add(160 * u32::from(*k));
            s.push(&pkt(i as u64 + 1, *t, seq, ts), Some(8000));
        }
        s.metrics()
    }

    fn grid(n: u16) -> Vec<(f64, u16)> {
        (0..n).map(|k| (20.0 * f64::from(k), k)).collect()
    }

    #[test]
    fn clean_stream_has_no_jitter() {
        let m = run(1000, 5000, &grid(50));
        assert_eq!((m.packets, m.expected, m.lost), (50, 50, 0));
        assert_eq!((m.sequence_errors, m.duplicates, m.out_of_order), (0, 0, 0));
        assert_eq!(
            (m.min_delta_ms, m.mean_delta_ms, m.max_delta_ms),
            (20.0, 20.0, 20.0)
        );
        assert_eq!(
            (m.min_jitter_ms, m.mean_jitter_ms, m.max_jitter_ms),
            (0.0, 0.0, 0.0)
        );
        assert_eq!((m.max_skew_ms, m.clock_drift_ms), (0.0, 0.0));
        assert_eq!((m.first_frame, m.last_frame, m.max_delta_frame), (1, 50, 2));
        assert_eq!((m.start_ns, m.end_ns), (0, 980 * MS));
        assert_eq!(m.payload_types, vec![0]);
    }

    #[test]
    fn single_loss() {
        let mut a = grid(50);
        a.remove(20);
        let m = run(1, 0, &a);
        assert_eq!((m.packets, m.expected, m.lost), (49, 50, 1));
        assert_eq!(m.lost_percent, 2.0);
        assert_eq!((m.sequence_errors, m.duplicates, m.out_of_order), (1, 0, 0));
        assert_eq!(m.max_delta_ms, 40.0);
        // The gap is in both arrival and timestamp: no jitter.
        assert_eq!(m.max_jitter_ms, 0.0);
    }

    #[test]
    fn duplicate_makes_loss_negative() {
        let mut a = grid(30);
        a.insert(11, (201.0, 10));
        let m = run(7, 0, &a);
        assert_eq!((m.packets, m.expected, m.lost), (31, 30, -1));
        assert_eq!((m.sequence_errors, m.duplicates, m.out_of_order), (1, 1, 0));
        assert!((m.lost_percent - (-100.0 / 30.0)).abs() < 1e-12);
    }

    #[test]
    fn two_swapped_packets_match_wireshark() {
        // seq offsets 4 and 5 arrive swapped (offset 5 at 80 ms, 4 at 100 ms).
        let mut a = grid(10);
        a[4].1 = 5;
        a[5].1 = 4;
        let m = run(1, 0, &a);
        assert_eq!((m.packets, m.lost), (10, 0));
        assert_eq!(m.sequence_errors, 2); // the jump and the late one
        assert_eq!((m.duplicates, m.out_of_order), (0, 1));
        // diffs 20, 40, 20 ms: jitter 1.25, 3.671875, then 4.6923828125.
        assert!((m.max_jitter_ms - 4.692_382_812_5).abs() < 1e-9);
        assert_eq!(m.max_delta_ms, 20.0);
    }

    #[test]
    fn sequence_wrap() {
        let m = run(65530, 0, &grid(12));
        assert_eq!(
            (m.packets, m.expected, m.lost, m.sequence_errors),
            (12, 12, 0, 0)
        );
        let m = run(65535, 0, &grid(3));
        assert_eq!((m.expected, m.lost, m.sequence_errors), (3, 0, 0));
    }

    #[test]
    fn timestamp_wrap_is_not_jitter() {
        let m = run(1, 0xffff_ff00, &grid(20));
        assert_eq!((m.lost, m.sequence_errors), (0, 0));
        assert_eq!(m.max_jitter_ms, 0.0);
        assert_eq!((m.min_delta_ms, m.max_delta_ms), (20.0, 20.0));
        assert_eq!(m.max_skew_ms, 0.0);
    }

    #[test]
    fn reorder_across_wrap_is_not_loss() {
        // 65534, 0, 65535, 1, 2: Wireshark 4.0.17 counts a second cycle and prints lost = 65536; the
        // late 65535 is late, not a wrap, so nothing is lost (RFC 3550 A.1).
        let a = [(0.0, 0), (20.0, 2), (40.0, 1), (60.0, 3), (80.0, 4)];
        let m = run(65534, 0, &a);
        assert_eq!((m.packets, m.expected, m.lost), (5, 5, 0));
        assert_eq!(m.sequence_errors, 3);
        assert_eq!(m.out_of_order, 1);
        assert!(m.max_jitter_ms < 10.0, "bounded jitter {}", m.max_jitter_ms);
    }

    #[test]
    fn very_late_and_pre_start_packets_stay_bounded() {
        let mut a = grid(40);
        let late = a.remove(3);
        a.insert(30, (a[29].0 + 1.0, late.1));
        let m = run(100, 0, &a);
        assert_eq!(m.lost, 0);
        assert!(m.max_jitter_ms < 100.0, "jitter {}", m.max_jitter_ms);
        // A packet stamped before the first one: out of time sequence, so no
        // delta or jitter sample, but it counts as a packet.
        let mut s = StreamStats::new();
        for k in 0..10u16 {
            s.push(
                &pkt(
                    u64::from(k) + 1,
                    20.0 * f64::from(k),
                    500 + k,
                    8000 + 160 * u32::from(k),
                ),
                Some(8000),
            );
        }
        s.push(&pkt(11, 181.0, 497, 8000 - 480), Some(8000));
        let m = s.metrics();
        assert_eq!(
            (m.packets, m.sequence_errors, m.max_jitter_ms),
            (11, 1, 0.0)
        );
        assert_eq!(m.max_delta_ms, 20.0);
    }

    #[test]
    fn unknown_clock_gives_no_jitter() {
        let mut s = StreamStats::new();
        for k in 0..5u16 {
            s.push(
                &pkt(
                    u64::from(k),
                    20.0 * f64::from(k) + f64::from(k % 2),
                    k,
                    160 * u32::from(k),
                ),
                None,
            );
        }
        let m = s.metrics();
        assert_eq!(
            (m.min_jitter_ms, m.mean_jitter_ms, m.max_jitter_ms),
            (-1.0, 0.0, 0.0)
        );
        assert_eq!((m.min_delta_ms, m.max_delta_ms), (19.0, 21.0));
    }

    #[test]
    fn marker_and_comfort_noise_are_not_regular() {
        let mut s = StreamStats::new();
        let mut p = pkt(1, 0.0, 1, 0);
        s.push(&p, Some(8000));
        p = pkt(2, 20.0, 2, 160);
        s.push(&p, Some(8000));
        p = pkt(3, 100.0, 3, 320);
        p.payload_type = 13; // CN after a pause
        s.push(&p, Some(8000));
        p = pkt(4, 120.0, 4, 480); // follows CN
        s.push(&p, Some(8000));
        p = pkt(5, 400.0, 5, 640);
        p.marker = true; // talkspurt start
        s.push(&p, Some(8000));
        p = pkt(6, 420.0, 6, 800);
        s.push(&p, Some(8000));
        let m = s.metrics();
        assert_eq!(m.max_delta_ms, 20.0);
        assert_eq!(m.min_delta_ms, 20.0);
        assert_eq!(m.marker_packets, 1);
        assert_eq!(m.payload_types, vec![0, 13]);
        assert!(m.max_jitter_ms > 0.0);
    }

    #[test]
    fn fast_clock_shows_skew_and_drift() {
        // Timestamps advance 1% faster than arrival.
        let mut s = StreamStats::new();
        for k in 0..500u16 {
            s.push(
                &pkt(
                    u64::from(k),
                    20.0 * f64::from(k),
                    k,
                    (1616 * u32::from(k)) / 10,
                ),
                Some(8000),
            );
        }
        let m = s.metrics();
        assert!(m.max_skew_ms > 90.0, "skew {}", m.max_skew_ms);
        assert!(m.clock_drift_ms > 90.0, "drift {}", m.clock_drift_ms);
    }

    #[test]
    fn series_counts_per_second_and_is_capped() {
        let mut a = grid(150); // 3 seconds
        a.remove(60);
        let mut s = StreamStats::new();
        for (i, (t, k)) in a.iter().enumerate() {
            s.push(&pkt(i as u64, *t, *k, 160 * u32::from(*k)), Some(8000));
        }
        let series: Vec<_> = s.series().iter().collect();
        assert_eq!(series.len(), 3);
        assert_eq!(
            (series[0].second, series[0].packets, series[0].lost),
            (0, 50, 0)
        );
        assert_eq!(
            (series[1].second, series[1].packets, series[1].lost),
            (1, 49, 1)
        );
        let mut s = StreamStats::new();
        for k in 0..(MAX_SERIES_POINTS as i64 + 5) {
            let mut p = pkt(0, 0.0, k as u16, (k as u32).wrapping_mul(8000));
            p.time_ns = k * 1_000_000_000;
            s.push(&p, Some(8000));
        }
        assert_eq!(s.series().len(), MAX_SERIES_POINTS);
        assert_eq!(s.series_dropped(), 5);
    }

    #[test]
    fn hostile_values_do_not_panic() {
        let mut s = StreamStats::new();
        let mut x: u64 = 88_172_645_463_325_252;
        for i in 0..5000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let p = RtpPacket {
                frame: i,
                time_ns: (x as i64) >> (x % 40),
                seq: x as u16,
                timestamp: (x >> 16) as u32,
                ssrc: 1,
                payload_type: (x >> 50) as u8 & 0x7f,
                marker: x & 1 == 1,
                payload_len: 0,
            };
            s.push(
                &p,
                if x & 2 == 0 {
                    Some((x >> 8) as u32 % 100_000)
                } else {
                    None
                },
            );
        }
        let m = s.metrics();
        assert_eq!(m.packets, 5000);
        assert!(s.series().len() <= MAX_SERIES_POINTS);
    }

    #[test]
    fn empty_stream() {
        let m = StreamStats::new().metrics();
        assert_eq!(
            (m.packets, m.expected, m.lost, m.lost_percent),
            (0, 0, 0, 0.0)
        );
    }
}
