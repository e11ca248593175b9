//! Bad input: cut, corrupt, empty, not a capture, unreadable. Never a panic, always a clear message and
//! the partial result before the damage.

use crate::common::{shared_captures, summarize_bytes, summarize_path};

fn cut_everywhere(name: &str) {
    let Some(dir) = shared_captures() else { return };
    let data = std::fs::read(dir.join(name)).expect("capture");
    let full = summarize_bytes(name, data.clone());
    assert!(full.error.is_none());
    let mut last_packets = 0;
    for cut in 0..data.len().min(4096) {
        let s = summarize_bytes(name, data[..cut].to_vec());
        assert!(s.packets <= full.packets);
        assert!(s.packets >= last_packets, "cut {cut}: packets went down");
        last_packets = s.packets;
        if cut == 0 {
            assert!(s.error.as_deref().unwrap().contains("empty"));
        } else if s.error.is_none() {
            // Only a cut exactly at a record boundary reads cleanly.
            assert!(
                s.packets > 0 || cut == 24 || name.ends_with("pcapng"),
                "cut {cut}"
            );
        } else {
            let e = s.error.unwrap();
            assert!(
                e.contains("cut short") || e.contains("too short") || e.contains("header"),
                "cut {cut}: {e}"
            );
        }
    }
}

#[test]
fn pcap_cut_at_every_byte_of_the_first_4k() {
    cut_everywhere("pkts_sipp-5calls_sll.pcap");
}

#[test]
fn pcapng_cut_at_every_byte_of_the_first_4k() {
    cut_everywhere("goffinet_sip-488-not-acceptable-here.pcapng");
}

#[test]
fn zero_length_and_garbage_and_missing() {
    let e = summarize_bytes("empty.pcap", vec![]);
    assert_eq!(e.packets, 0);
    assert!(e.error.unwrap().contains("empty"));
    let g = summarize_bytes("notes.txt", b"Dear support, the calls drop.".to_vec());
    assert!(g.error.unwrap().contains("not a pcap or pcapng"));
    let m = summarize_path("/nonexistent/dir/x.pcap", 1);
    assert!(m.error.unwrap().contains("cannot open"));
    let d = summarize_path("/tmp", 1);
    assert!(d.error.unwrap().contains("directory"));
}

/// A pcap header followed by records, built by hand: the expectations come from the bytes we wrote.
fn pcap_with(records: &[(u32, u32, &[u8])]) -> Vec<u8> {
    let mut v = vec![
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 101, 0, 0, 0,
    ];
    for (caplen, origlen, data) in records {
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&500_000u32.to_le_bytes());
        v.extend_from_slice(&caplen.to_le_bytes());
        v.extend_from_slice(&origlen.to_le_bytes());
        v.extend_from_slice(data);
    }
    v
}

#[test]
fn corrupt_record_length_keeps_what_came_before() {
    let pkt = [
        0x45u8, 0, 0, 20, 0, 0, 0, 0, 64, 59, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    let mut bytes = pcap_with(&[(20, 20, &pkt), (20, 20, &pkt)]);
    // Third record claims 1 GB.
    bytes.extend_from_slice(&pcap_with(&[(0x4000_0000, 20, &pkt)])[24..]);
    let s = summarize_bytes("corrupt.pcap", bytes);
    assert_eq!(s.packets, 2);
    let e = s.error.unwrap();
    assert!(e.contains("corrupt record header"), "{e}");
    assert_eq!(
        s.first_time.as_deref(),
        Some("1970-01-01T00:00:01.500000000Z")
    );
}

#[test]
fn capture_length_beyond_the_file() {
    let pkt = [
        0x45u8, 0, 0, 20, 0, 0, 0, 0, 64, 59, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    let mut bytes = pcap_with(&[(20, 20, &pkt)]);
    bytes.extend_from_slice(&pcap_with(&[(1000, 1000, &pkt)])[24..]);
    let s = summarize_bytes("short.pcap", bytes);
    assert_eq!(s.packets, 1);
    assert!(s.error.unwrap().contains("cut short"));
}

#[test]
fn gzip_is_detected_by_magic() {
    use std::io::Write;
    let pkt = [
        0x45u8, 0, 0, 20, 0, 0, 0, 0, 64, 59, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    let raw = pcap_with(&[(20, 20, &pkt), (20, 20, &pkt), (20, 20, &pkt)]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    let s = summarize_bytes("x.pcap.gz", gz.finish().unwrap());
    assert!(s.gzip);
    assert_eq!(s.packets, 3);
    assert_eq!(s.error, None);
}
