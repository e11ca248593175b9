//! RFC 4733 telephone-event (RFC 2833 DTMF) decoding per stream.
//!
//! Payload: event (8 bits), E (end) bit, R bit, volume (6 bits, -dBm0),
//! duration (16 bits, RTP clock ticks). Every packet of one event carries the
//! same RTP timestamp (the event start) and a growing duration; the final
//! packet, with E set, is usually sent three times. So one digit is one RTP
//! timestamp: a packet whose timestamp was already seen updates that digit
//! (longer duration, end flag) instead of adding a new one.

/// Most digits kept per stream; later ones are counted in `dropped`.
pub const MAX_DIGITS: usize = 256;
/// Recent event timestamps remembered to recognise repeats of older events
/// that arrive late.
const RECENT: usize = 4;

/// One decoded event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DtmfDigit {
    /// '0'-'9', '*', '#', 'A'-'D', '!' for flash, '?' for other events.
    pub digit: char,
    pub start_frame: u64,
    pub start_ns: i64,
    /// Longest duration seen for the event, in ms.
    pub duration_ms: f64,
    /// Volume in -dBm0 (0..=63) from the first packet.
    pub volume: u8,
    /// True once a packet with the E bit was seen.
    pub ended: bool,
    /// RTP timestamp identifying the event.
    pub rtp_timestamp: u32,
}

/// Accumulates the DTMF digits of one RTP stream.
#[derive(Debug, Clone)]
pub struct DtmfTracker {
    clock_rate: u32,
    digits: Vec<DtmfDigit>,
    dropped: u64,
    malformed: u64,
    recent: [Option<(u32, usize)>; RECENT],
    next_recent: usize,
}

impl Default for DtmfTracker {
    fn default() -> Self {
        Self::new()
    }
}

/// Character for an RFC 4733 event code.
pub fn event_char(event: u8) -> char {
    match event {
        0..=9 => char::from(b'0' + event),
        10 => '*',
        11 => '#',
        12..=15 => char::from(b'A' + event - 12),
        16 => '!',
        _ => '?',
    }
}

impl DtmfTracker {
    /// A tracker for the usual 8000 Hz telephone-event clock.
    pub fn new() -> Self {
        Self::with_clock_rate(8000)
    }

    /// A tracker for another negotiated clock (`telephone-event/16000`, ...).
    pub fn with_clock_rate(clock_rate: u32) -> Self {
        DtmfTracker {
            clock_rate: clock_rate.max(1),
            digits: Vec::new(),
            dropped: 0,
            malformed: 0,
            recent: [None; RECENT],
            next_recent: 0,
        }
    }

    /// Folds in one telephone-event packet payload.
    pub fn push(&mut self, frame: u64, time_ns: i64, rtp_timestamp: u32, payload: &[u8]) {
        let (Some(&event), Some(&flags), Some(d)) =
            (payload.first(), payload.get(1), payload.get(2..4))
        else {
            self.malformed += 1;
            return;
        };
        let ended = flags & 0x80 != 0;
        let volume = flags & 0x3f;
        let duration_ms =
            f64::from(u16::from_be_bytes([d[0], d[1]])) * 1000.0 / f64::from(self.clock_rate);
        if let Some(index) = self.find_recent(rtp_timestamp) {
            if let Some(digit) = self.digits.get_mut(index) {
                digit.duration_ms = digit.duration_ms.max(duration_ms);
                digit.ended |= ended;
            }
            return;
        }
        if self.digits.len() >= MAX_DIGITS {
            self.dropped += 1;
            return;
        }
        self.digits.push(DtmfDigit {
            digit: event_char(event),
            start_frame: frame,
            start_ns: time_ns,
            duration_ms,
            volume,
            ended,
            rtp_timestamp,
        });
        self.remember(rtp_timestamp, self.digits.len() - 1);
    }

    fn find_recent(&self, timestamp: u32) -> Option<usize> {
        self.recent
            .iter()
            .flatten()
            .find(|(ts, _)| *ts == timestamp)
            .map(|(_, index)| *index)
    }

    fn remember(&mut self, timestamp: u32, index: usize) {
        if let Some(slot) = self.recent.get_mut(self.next_recent) {
            *slot = Some((timestamp, index));
        }
        self.next_recent = (self.next_recent + 1) % RECENT;
    }

    /// Digits in order of their first packet.
    pub fn digits(&self) -> &[DtmfDigit] {
        &self.digits
    }

    /// The digits as a string, e.g. "123#".
    pub fn digit_string(&self) -> String {
        self.digits.iter().map(|d| d.digit).collect()
    }

    /// Events not kept because [`MAX_DIGITS`] was reached.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Payloads shorter than 4 bytes.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(event: u8, end: bool, volume: u8, duration: u16) -> [u8; 4] {
        let d = duration.to_be_bytes();
        [event, if end { 0x80 } else { 0 } | volume, d[0], d[1]]
    }

    #[test]
    fn one_digit_per_event_with_repeated_end() {
        let mut t = DtmfTracker::new();
        let mut frame = 1;
        for (event, ts) in [(1u8, 1000u32), (11, 5000)] {
            for step in 1..=5u16 {
                t.push(
                    frame,
                    frame as i64 * 20_000_000,
                    ts,
                    &payload(event, false, 10, step * 160),
                );
                frame += 1;
            }
            for _ in 0..3 {
                t.push(
                    frame,
                    frame as i64 * 20_000_000,
                    ts,
                    &payload(event, true, 10, 960),
                );
                frame += 1;
            }
        }
        assert_eq!(t.digit_string(), "1#");
        let first = t.digits()[0];
        assert_eq!(first.start_frame, 1);
        assert_eq!(first.duration_ms, 120.0);
        assert_eq!(first.volume, 10);
        assert!(first.ended);
        assert_eq!(t.digits()[1].start_frame, 9);
    }

    #[test]
    fn same_digit_twice_is_two_events() {
        let mut t = DtmfTracker::new();
        t.push(1, 0, 100, &payload(5, true, 7, 800));
        t.push(2, 1, 100, &payload(5, true, 7, 800));
        t.push(3, 2, 2000, &payload(5, true, 7, 800));
        assert_eq!(t.digit_string(), "55");
        assert_eq!(t.digits()[0].duration_ms, 100.0);
    }

    #[test]
    fn late_repeat_of_older_event_is_not_new() {
        let mut t = DtmfTracker::new();
        t.push(1, 0, 100, &payload(2, false, 7, 160));
        t.push(2, 1, 900, &payload(3, false, 7, 160));
        t.push(3, 2, 100, &payload(2, true, 7, 640));
        assert_eq!(t.digit_string(), "23");
        assert!(t.digits()[0].ended);
        assert_eq!(t.digits()[0].duration_ms, 80.0);
    }

    #[test]
    fn bounded_and_malformed() {
        let mut t = DtmfTracker::with_clock_rate(16000);
        t.push(1, 0, 1, &[1, 2]);
        assert_eq!(t.malformed(), 1);
        for i in 0..(MAX_DIGITS as u32 + 10) {
            t.push(u64::from(i), 0, i * 1000, &payload(12, true, 0, 1600));
        }
        assert_eq!(t.digits().len(), MAX_DIGITS);
        assert_eq!(t.dropped(), 10);
        assert_eq!(t.digits()[0].digit, 'A');
        assert_eq!(t.digits()[0].duration_ms, 100.0);
        assert_eq!(event_char(16), '!');
        assert_eq!(event_char(40), '?');
    }
}
