//! Several files as one capture: a rotated set (given in any order) reads as the whole; overlapping files
//! have their repeated frames detected, reported and counted once.

use voipdx::pipeline::{Config, Input};

/// Splits a little-endian legacy pcap into its header and records.
fn records(pcap: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let header = pcap[..24].to_vec();
    let mut out = Vec::new();
    let mut pos = 24;
    while pos + 16 <= pcap.len() {
        let caplen = u32::from_le_bytes(pcap[pos + 8..pos + 12].try_into().unwrap()) as usize;
        out.push(pcap[pos..pos + 16 + caplen].to_vec());
        pos += 16 + caplen;
    }
    (header, out)
}

fn file(dir: &std::path::Path, name: &str, header: &[u8], recs: &[Vec<u8>]) -> String {
    let mut v = header.to_vec();
    for r in recs {
        v.extend_from_slice(r);
    }
    let p = dir.join(name);
    std::fs::write(&p, v).unwrap();
    p.to_string_lossy().into_owned()
}

fn outcome(a: &voipdx::model::Analysis) -> Vec<(String, Option<u16>, u32, usize)> {
    let mut v: Vec<_> = a
        .calls
        .iter()
        .map(|c| {
            (
                c.call_id.clone(),
                c.final_status,
                c.invite_transmissions,
                c.messages.len(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn rotated_and_overlapping_files_read_as_one_capture() {
    let whole = voipdx::scenario::library::by_name("sll.pcap")
        .unwrap()
        .bytes;
    let (header, recs) = records(&whole);
    let n = recs.len();
    assert!(n > 30);
    let dir = std::env::temp_dir().join(format!("voipdx-multi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let reference = voipdx::analyze_inputs(
        vec![Input::Bytes {
            name: "whole".into(),
            data: whole.clone(),
        }],
        &Config::default(),
    );
    // Rotated: three parts, given out of order (as a -W ring's names can be).
    let a = file(&dir, "ring-2.pcap", &header, &recs[2 * n / 3..]);
    let b = file(&dir, "ring-0.pcap", &header, &recs[..n / 3]);
    let c = file(&dir, "ring-1.pcap", &header, &recs[n / 3..2 * n / 3]);
    let rotated = voipdx::analyze(&[a, b, c], &Config::default());
    assert_eq!(outcome(&rotated), outcome(&reference));
    assert_eq!(rotated.streams.len(), reference.streams.len());
    for (x, y) in rotated.streams.iter().zip(&reference.streams) {
        assert_eq!(
            (x.packets, x.lost, x.first_frame),
            (y.packets, y.lost, y.first_frame)
        );
    }
    let packets: u64 = rotated.captures.iter().map(|c| c.packets).sum();
    assert_eq!(packets as usize, n);
    assert!(
        rotated.captures[0]
            .problems
            .iter()
            .any(|p| p.message.contains("order of their first packet"))
    );
    // Overlapping: the middle third is in both files.
    let early = file(&dir, "early.pcap", &header, &recs[..2 * n / 3]);
    let late = file(&dir, "late.pcap", &header, &recs[n / 3..]);
    let merged = voipdx::analyze(&[early, late], &Config::default());
    assert_eq!(outcome(&merged), outcome(&reference));
    let dup = merged.captures[1]
        .problems
        .iter()
        .find(|p| p.message.contains("repeat frames of an earlier file"))
        .expect("duplicates reported");
    assert_eq!(dup.count as usize, 2 * n / 3 - n / 3);
    for (x, y) in merged.streams.iter().zip(&reference.streams) {
        assert_eq!((x.packets, x.lost), (y.packets, y.lost));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
