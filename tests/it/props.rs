//! Property tests: the parsers never panic on arbitrary or near-valid bytes, the RTP loss/jitter
//! arithmetic is wrap-safe, and the analysis does not depend on the thread count or the batch size.
//! Case counts are kept small so that `cargo test` stays fast.

use proptest::prelude::*;
use proptest::sample::subsequence;

use voipdx::decode::{self, Decoded};
use voipdx::pipeline::{Config, Input};
use voipdx::rtp::stream::{RtpPacket, StreamStats};
use voipdx::sip::{scan, sdp};

/// Every link type the decoder knows, plus a few it does not.
const LINK_TYPES: [u32; 14] = [1, 0, 108, 101, 12, 14, 228, 229, 113, 276, 197, 9, 105, 127];

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn decode_all(link_type: u32, frame: &[u8]) {
    match decode::decode(link_type, frame) {
        Ok(Decoded::Packet(p)) => {
            let _ = format!("{:?}", p.transport);
        }
        Ok(Decoded::NotIp) => {}
        Err(e) => assert!(!e.message().is_empty()),
    }
}

/// Ethernet + IPv4 header (random fields, plausible version/IHL) + arbitrary payload, so that the
/// transport decoders (UDP, TCP, ICMP, GRE, IP-in-IP, IPv6-in-IPv4) are reached.
fn ethernet_ipv4() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![1u8, 4, 6, 17, 41, 47, 132, 0]),
        any::<[u8; 8]>(),
        any::<u16>(),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(proto, addrs, frag, payload)| {
            let mut f = vec![0u8; 12];
            f.extend_from_slice(&[0x08, 0x00]);
            let total = (20 + payload.len()) as u16;
            f.extend_from_slice(&[0x45, 0]);
            f.extend_from_slice(&total.to_be_bytes());
            f.extend_from_slice(&[0x12, 0x34]);
            f.extend_from_slice(&(frag & 0x3fff).to_be_bytes());
            f.extend_from_slice(&[64, proto, 0, 0]);
            f.extend_from_slice(&addrs);
            f.extend_from_slice(&payload);
            f
        })
}

/// Text made of SIP-looking lines and random bytes.
fn sip_like() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        Just(b"INVITE sip:bob@example.com SIP/2.0".to_vec()),
        Just(b"SIP/2.0 200 OK".to_vec()),
        Just(b"SIP/2.0 99999999999999999999 X".to_vec()),
        Just(b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1".to_vec()),
        Just(b"v: SIP/2.0/TCP [::1]:5060;rport".to_vec()),
        Just(b"From: \"A\" <sip:a@x>;tag=1".to_vec()),
        Just(b"t: <sip:b@y>".to_vec()),
        Just(b"Call-ID: abc".to_vec()),
        Just(b"CSeq: 1 INVITE".to_vec()),
        Just(b"CSeq: 4294967296999 BYE".to_vec()),
        Just(b"Content-Type: application/sdp".to_vec()),
        Just(b"Content-Length: 10".to_vec()),
        Just(b"l: 18446744073709551616".to_vec()),
        Just(b" folded continuation".to_vec()),
        Just(Vec::new()),
        proptest::collection::vec(any::<u8>(), 0..40),
    ];
    let eol = prop::sample::select(vec![&b"\r\n"[..], b"\n", b"\r", b""]);
    proptest::collection::vec((line, eol), 0..16).prop_map(|parts| {
        let mut v = Vec::new();
        for (l, e) in parts {
            v.extend_from_slice(&l);
            v.extend_from_slice(e);
        }
        v
    })
}

/// Text made of SDP-looking lines and random bytes.
fn sdp_like() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        Just(b"v=0".to_vec()),
        Just(b"o=- 1 1 IN IP4 10.0.0.1".to_vec()),
        Just(b"c=IN IP4 10.0.0.1".to_vec()),
        Just(b"c=IN IP6 ::1".to_vec()),
        Just(b"c=IN IP4 999.1.1.1/127/3".to_vec()),
        Just(b"m=audio 4000 RTP/AVP 0 8 101".to_vec()),
        Just(b"m=audio 4000/2 RTP/AVP".to_vec()),
        Just(b"m=video 99999 RTP/AVP 96".to_vec()),
        Just(b"a=rtpmap:101 telephone-event/8000".to_vec()),
        Just(b"a=rtpmap:0 PCMU/".to_vec()),
        Just(b"a=sendonly".to_vec()),
        Just(b"a=inactive".to_vec()),
        Just(b"a=ptime:20".to_vec()),
        Just(b"a=rtcp:4001 IN IP4 10.0.0.2".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..40),
    ];
    let eol = prop::sample::select(vec![&b"\r\n"[..], b"\n", b""]);
    proptest::collection::vec((line, eol), 0..24).prop_map(|parts| {
        let mut v = Vec::new();
        for (l, e) in parts {
            v.extend_from_slice(&l);
            v.extend_from_slice(e);
        }
        v
    })
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(
        link in prop::sample::select(LINK_TYPES.to_vec()),
        frame in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        decode_all(link, &frame);
    }

    #[test]
    fn decode_never_panics_below_a_valid_ip_header(frame in ethernet_ipv4()) {
        decode_all(1, &frame);
        // The same IP packet on the raw-IP and cooked link types.
        if let Some(ip) = frame.get(14..) {
            decode_all(101, ip);
            decode_all(228, ip);
        }
    }

    #[test]
    fn sip_scanner_never_panics(buf in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        sip_like(),
    ]) {
        let _ = scan::looks_like_sip(&buf);
        let _ = scan::find_start(&buf);
        let _ = scan::header_block(&buf);
        if let Ok((msg, used)) = scan::parse(&buf) {
            prop_assert!(used <= buf.len());
            let _ = (msg.method(), msg.status(), msg.is_request());
        }
    }

    #[test]
    fn sdp_parser_never_panics(buf in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        sdp_like(),
    ]) {
        if let Some(s) = sdp::parse(&buf) {
            for m in &s.media {
                let _ = (s.media_addr(m), s.media_direction(m), s.effective_direction(m));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// RTP loss and jitter arithmetic.

const CLOCK: u32 = 8000;
/// 20 ms of 8 kHz audio.
const TICKS: u32 = 160;
const INTERVAL_NS: i64 = 20_000_000;
const INTERVAL_MS: f64 = 20.0;

/// Start values anywhere, or right below the 16/32-bit wrap.
fn start_seq() -> impl Strategy<Value = u16> {
    prop_oneof![any::<u16>(), 65_400u16..=65_535]
}

fn start_ts() -> impl Strategy<Value = u32> {
    prop_oneof![any::<u32>(), (u32::MAX - 100_000)..=u32::MAX]
}

/// Packet `i` of a clean 20 ms stream (arrival exactly on time).
fn packet(i: usize, seq0: u16, ts0: u32) -> RtpPacket {
    RtpPacket {
        frame: i as u64 + 1,
        time_ns: 1_700_000_000_000_000_000 + i as i64 * INTERVAL_NS,
        seq: seq0.wrapping_add(i as u16),
        timestamp: ts0.wrapping_add(TICKS.wrapping_mul(i as u32)),
        ssrc: 0x1234_5678,
        payload_type: 0,
        marker: false,
        payload_len: 160,
    }
}

/// Pushes packets in the given order; arrival times are the slots' times, in order.
fn run_stream(order: &[usize], seq0: u16, ts0: u32) -> voipdx::rtp::stream::StreamMetrics {
    let mut s = StreamStats::new();
    for (slot, &i) in order.iter().enumerate() {
        let mut p = packet(i, seq0, ts0);
        p.time_ns = packet(slot, seq0, ts0).time_ns;
        p.frame = slot as u64 + 1;
        s.push(&p, Some(CLOCK));
    }
    s.metrics()
}

/// A stream length and a set of interior packet indices (never the first or the last).
fn length_and_drops() -> impl Strategy<Value = (usize, Vec<usize>)> {
    (3usize..400).prop_flat_map(|n| {
        let interior: Vec<usize> = (1..n - 1).collect();
        let max = interior.len().min(40);
        (Just(n), subsequence(interior, 0..=max))
    })
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn clean_stream_has_no_loss_and_no_jitter(
        n in 1usize..600, seq0 in start_seq(), ts0 in start_ts(),
    ) {
        let order: Vec<usize> = (0..n).collect();
        let m = run_stream(&order, seq0, ts0);
        prop_assert_eq!(m.packets, n as u64);
        prop_assert_eq!(m.expected, n as u64);
        prop_assert_eq!(m.lost, 0);
        prop_assert_eq!(m.sequence_errors, 0);
        prop_assert_eq!(m.max_jitter_ms, 0.0);
        prop_assert_eq!(m.mean_jitter_ms, 0.0);
    }

    #[test]
    fn dropping_k_interior_packets_loses_k(
        (n, dropped) in length_and_drops(), seq0 in start_seq(), ts0 in start_ts(),
    ) {
        let order: Vec<usize> = (0..n).filter(|i| !dropped.contains(i)).collect();
        // Arrival times follow the packets' own slots (a dropped packet leaves its slot empty).
        let mut s = StreamStats::new();
        for &i in &order {
            s.push(&packet(i, seq0, ts0), Some(CLOCK));
        }
        let m = s.metrics();
        prop_assert_eq!(m.expected, n as u64);
        prop_assert_eq!(m.lost, dropped.len() as i64);
        prop_assert_eq!(m.max_jitter_ms, 0.0);
    }

    #[test]
    fn swapping_two_adjacent_packets_loses_nothing(
        (n, at) in (4usize..400).prop_flat_map(|n| (Just(n), 1..n - 2)),
        seq0 in start_seq(), ts0 in start_ts(),
    ) {
        let mut order: Vec<usize> = (0..n).collect();
        order.swap(at, at + 1);
        let m = run_stream(&order, seq0, ts0);
        prop_assert_eq!(m.packets, n as u64);
        prop_assert_eq!(m.expected, n as u64);
        prop_assert_eq!(m.lost, 0);
        prop_assert!(m.max_jitter_ms > 0.0);
        prop_assert!(m.max_jitter_ms < INTERVAL_MS, "max jitter {}", m.max_jitter_ms);
    }
}

// ---------------------------------------------------------------------------------------------
// Determinism: thread count and batch size.

/// Captures from the repository's fixtures (generated by voipdx itself).
const FIXTURES: [&str; 10] = [
    "demo.pcapng",
    "rtp_loss_jitter_reorder.pcap",
    "sip_tcp_quirks.pcap",
    "ip_fragmented_invite.pcap",
    "ipv6_fragmented_invite.pcap",
    "pcapng_multi_iface.pcapng",
    "hold_resume.pcap",
    "dtmf_rfc4733.pcap",
    "rtcp_xr.pcap",
    "gzip.pcap.gz",
];

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn analysis_json(data: &[u8], threads: usize, batch_bytes: usize) -> String {
    let input = Input::Bytes {
        name: "capture".to_string(),
        data: data.to_vec(),
    };
    let cfg = Config {
        threads,
        batch_bytes,
        ..Config::default()
    };
    let mut a = voipdx::analyze_inputs(vec![input], &cfg);
    a.findings = voipdx::rules::diagnose(&mut a, None, &Default::default());
    serde_json::to_string(&a).expect("analysis serialises")
}

/// A fixture, cut at a random length and with a few random bytes overwritten (so the property also
/// covers damaged captures), keeping the first 24 bytes so that the capture still opens.
fn damaged_fixture() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(FIXTURES.to_vec()),
        0.0f64..=1.0,
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    )
        .prop_map(|(name, keep, flips)| {
            let mut data = fixture(name);
            let len = 24 + ((data.len() - 24) as f64 * keep) as usize;
            data.truncate(len);
            for (at, byte) in flips {
                let i = 24 + at.index(data.len() - 24 + 1).min(data.len() - 24);
                if let Some(b) = data.get_mut(i) {
                    *b = byte;
                }
            }
            data
        })
}

proptest! {
    #![proptest_config(cases(24))]

    #[test]
    fn analysis_does_not_depend_on_threads_or_batch_size(data in damaged_fixture()) {
        let reference = analysis_json(&data, 1, Config::default().batch_bytes);
        for threads in [2, 4] {
            let other = analysis_json(&data, threads, Config::default().batch_bytes);
            prop_assert!(other == reference, "threads {} differ", threads);
        }
        for (threads, batch) in [(1, 1024), (2, 1024), (4, 4096)] {
            let other = analysis_json(&data, threads, batch);
            prop_assert!(other == reference, "threads {} batch {} differ", threads, batch);
        }
    }
}

#[test]
fn analysis_of_every_fixture_does_not_depend_on_threads_or_batch_size() {
    for name in FIXTURES {
        let data = fixture(name);
        let reference = analysis_json(&data, 1, Config::default().batch_bytes);
        assert!(
            reference.contains("\"packets\""),
            "{name}: analysis looks empty"
        );
        for (threads, batch) in [(2, Config::default().batch_bytes), (4, 1024), (1, 1024)] {
            let other = analysis_json(&data, threads, batch);
            assert!(
                other == reference,
                "{name}: threads {threads} batch {batch} differ"
            );
        }
    }
}
