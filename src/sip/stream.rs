//! SIP over TCP and WebSocket framing. Pure: no sockets, no flow tables.

use super::scan;

/// Most bytes of future (out-of-order) segments held per direction.
pub const MAX_FUTURE_BYTES: usize = 64 * 1024;
/// Most future segments held per direction.
pub const MAX_FUTURE_SEGMENTS: usize = 64;
/// Largest message (header + body) framed; bigger ones are counted as oversize.
pub const MAX_PENDING: usize = 256 * 1024;
/// Most complete messages queued before `take_messages` is called.
pub const MAX_READY: usize = 1024;
/// Longest incomplete first line kept while waiting for more bytes.
const MAX_LINE: usize = 8 * 1024;
/// Largest WebSocket message payload kept.
pub const MAX_WS_PAYLOAD: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Sip,
    WebSocket,
}

#[derive(Debug, Clone)]
struct Segment {
    seq: u32,
    data: Vec<u8>,
    frame: u64,
}

/// Reassembles ONE direction of one TCP flow and frames SIP messages
/// (Content-Length framing, or WebSocket frames after an HTTP Upgrade).
#[derive(Debug, Clone)]
pub struct TcpReassembler {
    next_seq: Option<u32>,
    pending: Vec<u8>,
    future: Vec<Segment>,
    future_bytes: usize,
    ready: Vec<(Vec<u8>, u64)>,
    mode: Mode,
    /// Bytes of an oversize WebSocket frame still to discard.
    ws_skip: u64,
    last_frame: u64,
    /// Holes in the sequence space that were skipped.
    pub gaps: u64,
    /// Bytes lost: junk skipped on resync, partial messages lost at gaps, overflow.
    pub dropped_bytes: u64,
    /// Messages (or WebSocket frames) larger than [`MAX_PENDING`].
    pub oversize_messages: u64,
    /// Retransmitted bytes that were already received.
    pub duplicate_bytes: u64,
    /// CRLF keep-alive runs skipped between messages.
    pub keepalives: u64,
    /// Times the framer skipped junk to find a start line.
    pub resyncs: u64,
}

impl TcpReassembler {
    /// `isn`: sequence number of the SYN, if seen (first data byte is isn+1).
    /// Without it, the first pushed segment defines the stream start.
    pub fn new(isn: Option<u32>) -> Self {
        TcpReassembler {
            next_seq: isn.map(|s| s.wrapping_add(1)),
            pending: Vec::new(),
            future: Vec::new(),
            future_bytes: 0,
            ready: Vec::new(),
            mode: Mode::Sip,
            ws_skip: 0,
            last_frame: 0,
            gaps: 0,
            dropped_bytes: 0,
            oversize_messages: 0,
            duplicate_bytes: 0,
            keepalives: 0,
            resyncs: 0,
        }
    }

    /// True once an HTTP Upgrade to WebSocket was seen on this direction.
    pub fn is_websocket(&self) -> bool {
        self.mode == Mode::WebSocket
    }

    /// Bytes currently held (pending partial message + future segments).
    pub fn buffered_bytes(&self) -> usize {
        self.pending.len() + self.future_bytes
    }

    /// Adds one TCP segment's payload.
    pub fn push(&mut self, seq: u32, payload: &[u8], frame: u64) {
        if payload.is_empty() {
            return;
        }
        self.last_frame = self.last_frame.max(frame);
        let next = *self.next_seq.get_or_insert(seq);
        let offset = seq.wrapping_sub(next) as i32;
        if offset <= 0 {
            let skip = offset.unsigned_abs() as usize;
            let Some(fresh) = payload.get(skip..).filter(|f| !f.is_empty()) else {
                self.duplicate_bytes += payload.len() as u64;
                return;
            };
            self.duplicate_bytes += skip as u64;
            self.append(fresh, frame);
            self.drain_future(frame);
        } else {
            self.hold(seq, payload, frame);
        }
    }

    /// Complete messages framed so far, each with the frame number of the
    /// segment that completed it.
    pub fn take_messages(&mut self) -> Vec<(Vec<u8>, u64)> {
        std::mem::take(&mut self.ready)
    }

    /// End of flow: skip any remaining gaps, frame what is held, and drop the
    /// incomplete tail (a tail with a complete SIP header block is returned as-is,
    /// so the scanner will report its body as truncated).
    pub fn finish(&mut self) -> Vec<(Vec<u8>, u64)> {
        while !self.future.is_empty() {
            self.skip_gap();
        }
        let rest = std::mem::take(&mut self.pending);
        let start = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let tail = rest.get(start..).unwrap_or(&[]);
        if self.mode == Mode::Sip
            && scan::looks_like_sip(tail)
            && scan::header_block(tail).is_some()
        {
            self.emit(tail.to_vec(), self.last_frame);
        } else {
            self.dropped_bytes += tail.len() as u64;
        }
        self.take_messages()
    }

    fn hold(&mut self, seq: u32, payload: &[u8], frame: u64) {
        if let Some(existing) = self.future.iter_mut().find(|s| s.seq == seq) {
            let shorter = existing.data.len().min(payload.len());
            self.duplicate_bytes += shorter as u64;
            if payload.len() > existing.data.len() {
                self.future_bytes += payload.len() - existing.data.len();
                existing.data = payload.to_vec();
                existing.frame = frame;
            }
            self.enforce_future_bound();
            return;
        }
        if payload.len() > MAX_FUTURE_BYTES {
            // Cannot be held: declare everything before it lost.
            while !self.future.is_empty() {
                self.skip_gap();
            }
            self.jump_to(seq);
            self.append(payload, frame);
            return;
        }
        self.future.push(Segment {
            seq,
            data: payload.to_vec(),
            frame,
        });
        self.future_bytes += payload.len();
        self.enforce_future_bound();
    }

    fn enforce_future_bound(&mut self) {
        while !self.future.is_empty()
            && (self.future_bytes > MAX_FUTURE_BYTES || self.future.len() > MAX_FUTURE_SEGMENTS)
        {
            self.skip_gap();
        }
    }

    /// Gives up on the hole before the earliest held segment.
    fn skip_gap(&mut self) {
        let Some(next) = self.next_seq else {
            return;
        };
        let earliest = self
            .future
            .iter()
            .min_by_key(|s| s.seq.wrapping_sub(next))
            .map(|s| s.seq);
        if let Some(seq) = earliest {
            self.jump_to(seq);
            self.drain_future(0);
        }
    }

    /// Records a gap, drops the partial message it corrupted, moves to `seq`.
    fn jump_to(&mut self, seq: u32) {
        self.gaps += 1;
        self.dropped_bytes += self.pending.len() as u64;
        self.pending.clear();
        self.ws_skip = 0;
        self.next_seq = Some(seq);
    }

    /// Appends held segments that have become contiguous.
    fn drain_future(&mut self, trigger: u64) {
        loop {
            let Some(next) = self.next_seq else {
                return;
            };
            let Some(idx) = self
                .future
                .iter()
                .position(|s| s.seq.wrapping_sub(next) as i32 <= 0)
            else {
                return;
            };
            let seg = self.future.swap_remove(idx);
            self.future_bytes -= seg.data.len();
            let skip = (seg.seq.wrapping_sub(next) as i32).unsigned_abs() as usize;
            match seg.data.get(skip..).filter(|f| !f.is_empty()) {
                Some(fresh) => {
                    self.duplicate_bytes += skip as u64;
                    self.append(fresh, trigger.max(seg.frame));
                }
                None => self.duplicate_bytes += seg.data.len() as u64,
            }
        }
    }

    fn append(&mut self, data: &[u8], frame: u64) {
        if let Some(next) = self.next_seq {
            self.next_seq = Some(next.wrapping_add(data.len() as u32));
        }
        let data = self.skip_ws_remainder(data);
        self.pending.extend_from_slice(data);
        match self.mode {
            Mode::Sip => self.frame_sip(frame),
            Mode::WebSocket => self.frame_ws(frame),
        }
    }

    fn skip_ws_remainder<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        if self.ws_skip == 0 {
            return data;
        }
        let n = usize::try_from(self.ws_skip)
            .unwrap_or(usize::MAX)
            .min(data.len());
        self.ws_skip -= n as u64;
        self.dropped_bytes += n as u64;
        &data[n..]
    }

    fn emit(&mut self, msg: Vec<u8>, frame: u64) {
        if self.ready.len() < MAX_READY {
            self.ready.push((msg, frame));
        } else {
            self.dropped_bytes += msg.len() as u64;
        }
    }

    /// Splits `pending` into SIP messages.
    fn frame_sip(&mut self, frame: u64) {
        let mut off = 0;
        while off < self.pending.len() {
            let rest = &self.pending[off..];
            let crlf = rest
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            if crlf > 0 {
                self.keepalives += 1;
                off += crlf;
                continue;
            }
            match self.sip_step(off, frame) {
                Some(used) => off += used,
                None => break,
            }
            if self.mode == Mode::WebSocket {
                self.pending.drain(..off);
                self.frame_ws(frame);
                return;
            }
        }
        self.pending.drain(..off);
        if self.pending.len() > MAX_PENDING {
            self.oversize_messages += 1;
            self.dropped_bytes += self.pending.len() as u64;
            self.pending.clear();
        }
    }

    /// One framing step at `off`: returns bytes used, or None to wait for more.
    fn sip_step(&mut self, off: usize, frame: u64) -> Option<usize> {
        let rest = &self.pending[off..];
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            if rest.len() > MAX_LINE {
                self.resyncs += 1;
                self.dropped_bytes += rest.len() as u64;
                return Some(rest.len());
            }
            return None;
        };
        if is_ws_upgrade(rest) {
            let block = scan::header_block(rest)?;
            self.mode = Mode::WebSocket;
            return Some(block.header_len);
        }
        if !scan::looks_like_sip(rest) {
            // Resync: skip to the first plausible start line among complete lines.
            let last_nl = rest.iter().rposition(|&b| b == b'\n').unwrap_or(nl);
            let complete = &rest[..=last_nl];
            let skip = scan::find_start(complete)
                .filter(|&k| k > 0)
                .unwrap_or(complete.len());
            self.resyncs += 1;
            self.dropped_bytes += skip as u64;
            return Some(skip);
        }
        let block = scan::header_block(rest)?;
        let cl = block.content_length.unwrap_or(0);
        let total = (block.header_len as u64).saturating_add(cl);
        if total > MAX_PENDING as u64 {
            // Claimed body too large: emit the header block alone and resync after it.
            self.oversize_messages += 1;
            let head = rest[..block.header_len].to_vec();
            self.emit(head, frame);
            return Some(block.header_len);
        }
        let total = total as usize;
        let msg = rest.get(..total)?.to_vec();
        self.emit(msg, frame);
        Some(total)
    }

    fn frame_ws(&mut self, frame: u64) {
        let parsed = parse_ws(&self.pending);
        for payload in parsed.payloads {
            self.emit(payload, frame);
        }
        self.oversize_messages += parsed.oversize;
        self.dropped_bytes += parsed.dropped;
        let consumed = parsed.consumed.min(self.pending.len());
        self.pending.drain(..consumed);
        if parsed.skip_after > 0 {
            self.ws_skip = parsed.skip_after;
            // The rest of the buffer belongs to the oversize frame.
            let n = usize::try_from(self.ws_skip)
                .unwrap_or(usize::MAX)
                .min(self.pending.len());
            self.ws_skip -= n as u64;
            self.dropped_bytes += n as u64;
            self.pending.drain(..n);
        }
        if self.pending.len() > MAX_PENDING {
            self.oversize_messages += 1;
            self.dropped_bytes += self.pending.len() as u64;
            self.pending.clear();
        }
    }
}

// ---------------------------------------------------------------------------
// WebSocket (RFC 6455)
// ---------------------------------------------------------------------------

/// True if `buf` begins with an HTTP request or 101 response that upgrades to WebSocket.
pub fn is_ws_upgrade(buf: &[u8]) -> bool {
    let head = &buf[..buf.len().min(4096)];
    let is_http = head.starts_with(b"GET ") || head.starts_with(b"HTTP/1.");
    if !is_http {
        return false;
    }
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.trim_ascii();
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if line[..colon].trim_ascii().eq_ignore_ascii_case(b"Upgrade") {
            let value = line[colon + 1..].trim_ascii();
            return value
                .windows(9)
                .any(|w| w.eq_ignore_ascii_case(b"websocket"));
        }
    }
    false
}

struct WsParse {
    payloads: Vec<Vec<u8>>,
    consumed: usize,
    /// Bytes of an oversize frame that lie beyond the buffer.
    skip_after: u64,
    oversize: u64,
    dropped: u64,
}

struct WsHeader {
    fin: bool,
    opcode: u8,
    mask: Option<[u8; 4]>,
    header_len: usize,
    payload_len: u64,
}

fn ws_header(buf: &[u8]) -> Option<WsHeader> {
    let b0 = *buf.first()?;
    let b1 = *buf.get(1)?;
    let (payload_len, mut len) = match b1 & 0x7f {
        126 => (
            u64::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?])),
            4,
        ),
        127 => {
            let bytes: [u8; 8] = buf.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(bytes), 10)
        }
        n => (u64::from(n), 2),
    };
    let mask = if b1 & 0x80 != 0 {
        let key: [u8; 4] = buf.get(len..len + 4)?.try_into().ok()?;
        len += 4;
        Some(key)
    } else {
        None
    };
    Some(WsHeader {
        fin: b0 & 0x80 != 0,
        opcode: b0 & 0x0f,
        mask,
        header_len: len,
        payload_len,
    })
}

fn unmask(data: &[u8], mask: Option<[u8; 4]>, out: &mut Vec<u8>) {
    match mask {
        Some(key) => out.extend(data.iter().zip(key.iter().cycle()).map(|(b, k)| b ^ k)),
        None => out.extend_from_slice(data),
    }
}

fn parse_ws(buf: &[u8]) -> WsParse {
    let mut result = WsParse {
        payloads: Vec::new(),
        consumed: 0,
        skip_after: 0,
        oversize: 0,
        dropped: 0,
    };
    // A fragmented message being assembled: (start offset, payload so far, too big).
    let mut partial: Option<(usize, Vec<u8>, bool)> = None;
    let mut pos = 0;
    while pos < buf.len() {
        let Some(h) = ws_header(&buf[pos..]) else {
            break;
        };
        let reserved = buf[pos] & 0x70 != 0 || matches!(h.opcode, 3..=7 | 11..=15);
        if reserved {
            // Not a frame boundary we understand: drop the rest of the buffer.
            result.dropped += (buf.len() - pos) as u64;
            result.consumed = buf.len();
            return result;
        }
        let start = pos + h.header_len;
        let available = (buf.len() - start) as u64;
        if h.payload_len > MAX_WS_PAYLOAD as u64 {
            result.oversize += 1;
            let here = h.payload_len.min(available);
            result.dropped += here + h.header_len as u64;
            result.skip_after = h.payload_len - here;
            result.consumed = start + here as usize;
            return result;
        }
        if h.payload_len > available {
            break;
        }
        let end = start + h.payload_len as usize;
        let data = &buf[start..end];
        pos = end;
        match h.opcode {
            1 | 2 => {
                let mut payload = Vec::with_capacity(data.len());
                unmask(data, h.mask, &mut payload);
                if h.fin {
                    result.payloads.push(payload);
                } else {
                    partial = Some((start - h.header_len, payload, false));
                }
            }
            0 => {
                if let Some((_, payload, too_big)) = partial.as_mut() {
                    if payload.len() + data.len() > MAX_WS_PAYLOAD {
                        *too_big = true;
                    } else {
                        unmask(data, h.mask, payload);
                    }
                }
                if h.fin
                    && let Some((_, payload, too_big)) = partial.take()
                {
                    if too_big {
                        result.oversize += 1;
                    } else {
                        result.payloads.push(payload);
                    }
                }
            }
            _ => {} // close / ping / pong
        }
        if partial.is_none() {
            result.consumed = pos;
        }
    }
    result
}

/// Parses RFC 6455 frames at the start of `buf`; returns the unmasked payloads
/// of complete text/binary messages (fragments joined) and the bytes consumed.
/// Control frames are skipped. An oversize frame (> [`MAX_WS_PAYLOAD`]) is
/// dropped together with the rest of the buffer; reserved opcodes or RSV bits
/// make the rest of the buffer count as consumed (desynchronised stream).
pub fn ws_frames(buf: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let parsed = parse_ws(buf);
    let consumed = if parsed.skip_after > 0 {
        buf.len()
    } else {
        parsed.consumed
    };
    (parsed.payloads, consumed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTER: &[u8] = b"REGISTER sip:example.com SIP/2.0\r\n\
Via: SIP/2.0/TCP 10.0.0.5:49152;branch=z9hG4bK-reg-1\r\n\
From: <sip:200@example.com>;tag=a1\r\n\
To: <sip:200@example.com>\r\n\
Call-ID: tcp-reg-1\r\n\
CSeq: 1 REGISTER\r\n\
Contact: <sip:200@10.0.0.5:49152;transport=tcp>\r\n\
Content-Length: 0\r\n\r\n";

    const RESPONSE: &[u8] = b"SIP/2.0 401 Unauthorized\r\n\
Via: SIP/2.0/TCP 10.0.0.5:49152;branch=z9hG4bK-reg-1\r\n\
From: <sip:200@example.com>;tag=a1\r\n\
To: <sip:200@example.com>;tag=srv\r\n\
Call-ID: tcp-reg-1\r\n\
CSeq: 1 REGISTER\r\n\
Content-Type: text/plain\r\n\
Content-Length: 5\r\n\r\nhello";

    fn call_ids(msgs: &[(Vec<u8>, u64)]) -> Vec<String> {
        msgs.iter()
            .map(|(m, _)| match scan::parse(m) {
                Ok((msg, used)) => {
                    assert_eq!(used, m.len());
                    msg.call_id
                }
                Err(e) => panic!("unparsable framed message: {e}"),
            })
            .collect()
    }

    #[test]
    fn two_messages_coalesced_with_keepalive() {
        let mut data = b"\r\n\r\n".to_vec();
        data.extend_from_slice(REGISTER);
        data.extend_from_slice(b"\r\n\r\n");
        data.extend_from_slice(RESPONSE);
        let mut r = TcpReassembler::new(Some(999));
        r.push(1000, &data, 7);
        let msgs = r.take_messages();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].0, REGISTER);
        assert_eq!(msgs[1].0, RESPONSE);
        assert_eq!(msgs[1].1, 7);
        assert_eq!(r.keepalives, 2);
        assert_eq!(r.gaps, 0);
        assert_eq!(r.buffered_bytes(), 0);
    }

    #[test]
    fn split_retransmitted_and_out_of_order() {
        // One message split into three segments A B C; arrival: A, C (early), A again, B.
        let (a, rest) = RESPONSE.split_at(60);
        let (b, c) = rest.split_at(100);
        let base = 0xffff_ff80u32; // wraps around during the message
        let seq_b = base.wrapping_add(a.len() as u32);
        let seq_c = seq_b.wrapping_add(b.len() as u32);
        let mut r = TcpReassembler::new(None);
        r.push(base, a, 1);
        r.push(seq_c, c, 2);
        assert!(r.take_messages().is_empty());
        r.push(base, a, 3); // retransmission
        assert_eq!(r.duplicate_bytes, a.len() as u64);
        r.push(seq_b, b, 4);
        let msgs = r.take_messages();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].0, RESPONSE);
        assert_eq!(msgs[0].1, 4, "frame of the segment that completed it");
        assert_eq!(r.gaps, 0);
        assert_eq!(r.dropped_bytes, 0);
        assert_eq!(call_ids(&msgs), vec!["tcp-reg-1".to_string()]);
    }

    #[test]
    fn overlapping_segments() {
        let mut r = TcpReassembler::new(Some(0));
        r.push(1, &REGISTER[..50], 1);
        r.push(31, &REGISTER[30..120], 2); // overlaps 20 bytes
        r.push(101, &REGISTER[100..], 3); // overlaps 20 bytes
        let msgs = r.take_messages();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].0, REGISTER);
        assert_eq!(r.duplicate_bytes, 40);
    }

    #[test]
    fn huge_content_length_resyncs() {
        let mut data = b"INVITE sip:x@y SIP/2.0\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: huge\r\nCSeq: 1 INVITE\r\nContent-Length: 4294967295\r\n\r\nv=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n".to_vec();
        data.extend_from_slice(REGISTER);
        let mut r = TcpReassembler::new(None);
        r.push(5000, &data, 9);
        let msgs = r.take_messages();
        assert_eq!(r.oversize_messages, 1);
        assert_eq!(
            call_ids(&msgs),
            vec!["huge".to_string(), "tcp-reg-1".to_string()]
        );
        assert_eq!(
            r.dropped_bytes,
            b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n".len() as u64
        );
        assert_eq!(r.buffered_bytes(), 0);
    }

    #[test]
    fn junk_in_stream_resyncs() {
        let junk = b"\x16\x03\x01 some tls-ish junk\r\nmore\r\n";
        let mut data = junk.to_vec();
        data.extend_from_slice(REGISTER);
        let mut r = TcpReassembler::new(None);
        r.push(1, &data, 1);
        assert_eq!(call_ids(&r.take_messages()), vec!["tcp-reg-1".to_string()]);
        assert!(r.resyncs >= 1);
        assert_eq!(r.dropped_bytes, junk.len() as u64);
    }

    #[test]
    fn gap_is_skipped_when_future_overflows() {
        let mut r = TcpReassembler::new(Some(0));
        r.push(1, &RESPONSE[..40], 1); // partial message, then a hole
        let mut seq = 1 + 40 + 500u32;
        let mut frame = 2;
        // Fill the future buffer with complete messages beyond the hole.
        while r.gaps == 0 {
            r.push(seq, REGISTER, frame);
            seq = seq.wrapping_add(REGISTER.len() as u32);
            frame += 1;
        }
        assert_eq!(r.gaps, 1);
        assert!(r.dropped_bytes >= 40);
        let msgs = r.take_messages();
        assert!(!msgs.is_empty());
        assert!(call_ids(&msgs).iter().all(|c| c == "tcp-reg-1"));
        assert!(r.buffered_bytes() <= MAX_FUTURE_BYTES + MAX_PENDING);
    }

    #[test]
    fn finish_flushes_held_segments() {
        let mut r = TcpReassembler::new(Some(10));
        r.push(11 + 100, REGISTER, 5); // hole of 100 bytes before it
        assert!(r.take_messages().is_empty());
        let msgs = r.finish();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].1, 5);
        assert_eq!(r.gaps, 1);
    }

    #[test]
    fn pending_is_bounded() {
        let mut r = TcpReassembler::new(None);
        let mut seq = 1u32;
        let head = b"INVITE sip:x@y SIP/2.0\r\nX-Long: ";
        r.push(seq, head, 1);
        seq += head.len() as u32;
        let chunk = vec![b'a'; 1400];
        for i in 0..400 {
            r.push(seq, &chunk, 2 + i);
            seq = seq.wrapping_add(chunk.len() as u32);
            assert!(r.buffered_bytes() <= MAX_PENDING + chunk.len());
        }
        assert!(r.oversize_messages >= 1);
    }

    fn ws_frame(payload: &[u8], opcode: u8, fin: bool, mask: Option<[u8; 4]>) -> Vec<u8> {
        let mut f = vec![(u8::from(fin) << 7) | opcode];
        let m = if mask.is_some() { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => f.push(m | n as u8),
            n if n <= 0xffff => {
                f.push(m | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(m | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        match mask {
            Some(key) => {
                f.extend_from_slice(&key);
                f.extend(payload.iter().zip(key.iter().cycle()).map(|(b, k)| b ^ k));
            }
            None => f.extend_from_slice(payload),
        }
        f
    }

    #[test]
    fn ws_frames_masked_unmasked_fragmented() {
        let big = vec![b'z'; 70_000];
        let mut buf = ws_frame(REGISTER, 1, true, Some([1, 2, 3, 4]));
        buf.extend(ws_frame(b"", 9, true, None)); // ping
        buf.extend(ws_frame(&RESPONSE[..10], 1, false, None));
        buf.extend(ws_frame(b"", 10, true, Some([9, 9, 9, 9]))); // pong inside a fragmented message
        buf.extend(ws_frame(&RESPONSE[10..], 0, true, Some([5, 6, 7, 8])));
        buf.extend(ws_frame(&big, 2, true, None));
        let partial = ws_frame(REGISTER, 1, true, None);
        buf.extend_from_slice(&partial[..20]);
        let (payloads, used) = ws_frames(&buf);
        assert_eq!(payloads.len(), 3);
        assert_eq!(payloads[0], REGISTER);
        assert_eq!(payloads[1], RESPONSE);
        assert_eq!(payloads[2].len(), 70_000);
        assert_eq!(used, buf.len() - 20);
        // Incomplete fragmented message: nothing consumed past its start.
        let frag = ws_frame(&RESPONSE[..10], 1, false, None);
        assert_eq!(ws_frames(&frag), (Vec::new(), 0));
        // Reserved opcode: desynchronised, everything consumed.
        assert_eq!(ws_frames(&[0x83, 0x00, 1, 2]).1, 4);
        // Absurd 64-bit length: dropped, never allocated.
        let mut absurd = vec![0x81, 127];
        absurd.extend_from_slice(&u64::MAX.to_be_bytes());
        absurd.extend_from_slice(b"abc");
        assert_eq!(ws_frames(&absurd), (Vec::new(), absurd.len()));
        for n in 0..buf.len().min(300) {
            let _ = ws_frames(&buf[..n]);
        }
    }

    #[test]
    fn ws_upgrade_then_sip_over_tcp() {
        let upgrade = b"GET /ws HTTP/1.1\r\nHost: sip.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n";
        assert!(is_ws_upgrade(upgrade));
        assert!(is_ws_upgrade(
            b"HTTP/1.1 101 Switching Protocols\r\nUPGRADE: WebSocket\r\n\r\n"
        ));
        assert!(!is_ws_upgrade(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(!is_ws_upgrade(REGISTER));
        let mut data = upgrade.to_vec();
        data.extend(ws_frame(REGISTER, 1, true, Some([0xde, 0xad, 0xbe, 0xef])));
        data.extend(ws_frame(RESPONSE, 1, true, Some([1, 1, 1, 1])));
        let mut r = TcpReassembler::new(None);
        let (first, second) = data.split_at(upgrade.len() + 30);
        r.push(100, first, 1);
        assert!(r.is_websocket());
        r.push(100 + first.len() as u32, second, 2);
        let msgs = r.take_messages();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0], (REGISTER.to_vec(), 2));
        assert_eq!(call_ids(&msgs).len(), 2);
    }

    #[test]
    fn ws_oversize_frame_skipped_across_segments() {
        let mut r = TcpReassembler::new(None);
        let mut data = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n".to_vec();
        let big = vec![b'q'; MAX_WS_PAYLOAD + 10];
        data.extend(ws_frame(&big, 2, true, None));
        data.extend(ws_frame(REGISTER, 1, true, None));
        let mut seq = 1u32;
        for (i, chunk) in data.chunks(1460).enumerate() {
            r.push(seq, chunk, i as u64);
            seq = seq.wrapping_add(chunk.len() as u32);
        }
        let msgs = r.take_messages();
        assert_eq!(r.oversize_messages, 1);
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].0, REGISTER);
    }

    #[test]
    fn never_panics_on_random_segments() {
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut stream = REGISTER.to_vec();
        stream.extend_from_slice(RESPONSE);
        for _ in 0..2000 {
            let mut r = TcpReassembler::new(None);
            for _ in 0..8 {
                let start = (next() % stream.len() as u64) as usize;
                let len = (next() % 200) as usize;
                let end = (start + len).min(stream.len());
                let mut seg = stream[start..end].to_vec();
                if let Some(b) = seg.first_mut() {
                    *b ^= (next() % 3) as u8;
                }
                r.push(1000u32.wrapping_add(start as u32), &seg, next() % 100);
            }
            let _ = r.take_messages();
            let _ = r.finish();
            let _ = ws_frames(&stream[(next() % 50) as usize..]);
        }
    }
}
