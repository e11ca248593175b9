//! SIP over TCP / WebSocket framing. The input is a script of segments:
//! byte 0 = flags (bit 0: the SYN was seen), bytes 1..5 = initial sequence number (big-endian), then
//! chunks of [delta: i8][len: u8][len payload bytes]. Each segment starts at `next + delta`, where `next`
//! is the sequence number right after the previous segment, so the fuzzer makes overlaps
//! (retransmissions), holes and reordering by choosing small deltas; delta -128 jumps by 2^31.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voipdx::sip::stream::{self, TcpReassembler};

fn check(r: &TcpReassembler, msgs: &[(Vec<u8>, u64)]) {
    // Bounded memory: pending message + future segments + one line of slack.
    assert!(
        r.buffered_bytes() <= stream::MAX_PENDING + stream::MAX_FUTURE_BYTES + 64 * 1024,
        "buffered {}",
        r.buffered_bytes()
    );
    assert!(msgs.len() <= stream::MAX_READY + 1);
}

fuzz_target!(|data: &[u8]| {
    let Some(head) = data.get(..5) else {
        return;
    };
    let isn = u32::from_be_bytes([head[1], head[2], head[3], head[4]]);
    let mut r = TcpReassembler::new((head[0] & 1 == 1).then_some(isn));
    let mut next = isn.wrapping_add(1);
    let mut rest = &data[5..];
    let mut frame = 1u64;
    while let [delta, len, tail @ ..] = rest {
        let take = usize::from(*len).min(tail.len());
        let (payload, after) = tail.split_at(take);
        let seq = if *delta as i8 == -128 {
            next.wrapping_add(1 << 31)
        } else {
            next.wrapping_add_signed(i32::from(*delta as i8))
        };
        r.push(seq, payload, frame);
        next = seq.wrapping_add(payload.len() as u32);
        let msgs = r.take_messages();
        check(&r, &msgs);
        for (m, f) in &msgs {
            assert!(*f <= frame);
            let _ = voipdx::sip::scan::parse(m);
        }
        frame += 1;
        rest = after;
    }
    let _ = stream::is_ws_upgrade(data);
    let _ = stream::ws_frames(data);
    let msgs = r.finish();
    check(&r, &msgs);
});
