//! Regressions found by fuzzing (see fuzz/README.md). Each test rebuilds the shape of the failing input
//! with bytes made here, and names the fuzz target that found it.

use voipdx::model::CaptureSummary;
use voipdx::pipeline::{self, Config, Input, NoStage};

fn summary(data: &[u8], batch_bytes: usize) -> CaptureSummary {
    let cfg = Config {
        threads: 1,
        batch_bytes,
        ..Config::default()
    };
    let input = Input::Bytes {
        name: "regression.pcap".to_string(),
        data: data.to_vec(),
    };
    pipeline::run_inputs(vec![input], &cfg, &mut NoStage).remove(0)
}

/// Legacy pcap (little-endian, microseconds, Ethernet) with `records` 60-byte frames.
fn pcap_with_records(records: usize) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&65535u32.to_le_bytes());
    v.extend_from_slice(&1u32.to_le_bytes());
    for i in 0..records {
        v.extend_from_slice(&(1_700_000_000u32 + i as u32).to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&60u32.to_le_bytes());
        v.extend_from_slice(&60u32.to_le_bytes());
        v.extend_from_slice(&[0xab; 60]);
    }
    v
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

/// Found by `capture` (batch-size differential) on a gzip capture: an in-memory, stdin or gzip input is
/// read in chunks, and the byte offset in "corrupt record header at byte N" was counted from the start
/// of the current chunk instead of the start of the file, so it changed with the batch size.
#[test]
fn corrupt_record_offset_is_absolute_whatever_the_batch_size() {
    let mut data = pcap_with_records(2000);
    let at = data.len();
    // A record header whose captured length is far over the 16 MiB limit.
    data.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0xfc, 0xff, 0x72, 0x29, 0x3c, 0, 0, 0,
    ]);
    let expected = format!("corrupt record header at byte {at}:");
    for input in [data.clone(), gzip(&data)] {
        for batch in [Config::default().batch_bytes, 1024, 100] {
            let s = summary(&input, batch);
            let error = s.error.unwrap_or_default();
            assert!(error.starts_with(&expected), "batch {batch}: {error}");
            assert_eq!(s.packets, 2000, "batch {batch}");
        }
    }
}

/// Same cause, for the "capture cut short" message of a record cut by the end of the file.
#[test]
fn cut_short_record_offset_is_absolute_whatever_the_batch_size() {
    let mut data = pcap_with_records(2000);
    let at = data.len();
    let full = pcap_with_records(2001);
    data.extend_from_slice(&full[at..at + 30]);
    let expected = format!("the record at byte {at} is incomplete");
    for batch in [Config::default().batch_bytes, 1024] {
        let s = summary(&data, batch);
        let error = s.error.unwrap_or_default();
        assert!(error.contains(&expected), "batch {batch}: {error}");
        assert_eq!(s.packets, 2000, "batch {batch}");
    }
}

/// Same cause, for pcapng blocks with an invalid length.
#[test]
fn corrupt_pcapng_block_offset_is_absolute_whatever_the_batch_size() {
    let mut v = Vec::new();
    let block = |v: &mut Vec<u8>, kind: u32, body: &[u8]| {
        let len = (12 + body.len()) as u32;
        v.extend_from_slice(&kind.to_le_bytes());
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(body);
        v.extend_from_slice(&len.to_le_bytes());
    };
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut v, 0x0a0d_0d0a, &shb);
    let mut idb = vec![1, 0, 0, 0];
    idb.extend_from_slice(&65535u32.to_le_bytes());
    block(&mut v, 1, &idb);
    for i in 0..2000u32 {
        let mut epb = Vec::new();
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&i.to_le_bytes());
        epb.extend_from_slice(&60u32.to_le_bytes());
        epb.extend_from_slice(&60u32.to_le_bytes());
        epb.extend_from_slice(&[0xab; 60]);
        block(&mut v, 6, &epb);
    }
    let at = v.len();
    // Block length 13: not a multiple of 4.
    v.extend_from_slice(&6u32.to_le_bytes());
    v.extend_from_slice(&13u32.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    let expected = format!("corrupt pcapng block at byte {at}:");
    for batch in [Config::default().batch_bytes, 1024] {
        let s = summary(&v, batch);
        let error = s.error.unwrap_or_default();
        assert!(error.starts_with(&expected), "batch {batch}: {error}");
        assert_eq!(s.packets, 2000, "batch {batch}");
    }
}
