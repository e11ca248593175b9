//! The public captures as a conformance suite: packet counts and link types agree with capinfos.

use crate::common::{shared_files, summarize_path};

/// (packets, link type numbers) from the capinfos part of `ref/<file>.txt`.
fn capinfos(reference: &str) -> (u64, Vec<u32>) {
    let mut packets = 0;
    let mut links = Vec::new();
    for line in reference.lines() {
        let line = line.trim();
        if let Some(n) = line.strip_prefix("Number of packets = ") {
            packets += n.trim().parse::<u64>().expect("packet count");
        }
        if let Some(enc) = line.strip_prefix("Encapsulation = ") {
            // "Ethernet (1 - ether)": the number after the last '(' is the pcap link type... for
            // capinfos it is Wireshark's encapsulation number, so map by name instead.
            links.push(wtap_to_linktype(enc));
        }
    }
    (packets, links)
}

fn wtap_to_linktype(enc: &str) -> u32 {
    let short = enc.rsplit(" - ").next().unwrap_or("").trim_end_matches(')');
    match short {
        "ether" => 1,
        "linux-sll" => 113,
        "linux-sll2" => 276,
        "rawip" => 101,
        "rawip4" => 228,
        "rawip6" => 229,
        "null" => 0,
        "erf" => 197,
        other => panic!("unmapped encapsulation {other}"),
    }
}

#[test]
fn packet_counts_and_link_types_match_capinfos() {
    let files = shared_files();
    let mut checked = 0;
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        let reference = std::fs::read_to_string(f.with_file_name(format!("ref/{name}.txt")))
            .expect("reference output");
        let (packets, mut links) = capinfos(&reference);
        let s = summarize_path(f.to_str().unwrap(), 0);
        assert_eq!(s.error, None, "{name}");
        assert_eq!(s.packets, packets, "{name}: packet count");
        let mut ours: Vec<u32> = s.interfaces.iter().map(|i| i.link_type).collect();
        ours.sort();
        ours.dedup();
        links.sort();
        links.dedup();
        assert_eq!(ours, links, "{name}: link types");
        assert!(s.interfaces.iter().all(|i| i.supported), "{name}");
        assert_eq!(
            s.classes.get("undecodable").copied().unwrap_or(0) > 0,
            name.contains("wifi-tcp-to-3g"),
            "{name}: only the 3G capture has undecodable frames (4 frames with malformed IP headers)"
        );
        checked += 1;
    }
    if !files.is_empty() {
        assert!(checked >= 60, "expected the whole suite, checked {checked}");
    }
}

#[test]
fn thread_count_does_not_change_the_summary() {
    for f in shared_files().iter().filter(|f| {
        std::fs::metadata(f)
            .map(|m| m.len() > 1_000_000)
            .unwrap_or(false)
    }) {
        let p = f.to_str().unwrap();
        let one = serde_json::to_string(&summarize_path(p, 1)).unwrap();
        let two = serde_json::to_string(&summarize_path(p, 2)).unwrap();
        let four = serde_json::to_string(&summarize_path(p, 4)).unwrap();
        assert_eq!(one, two, "{p}");
        assert_eq!(one, four, "{p}");
    }
}

#[test]
fn thread_count_does_not_change_the_analysis() {
    use voipdx::pipeline::Config;
    let mut paths: Vec<String> = shared_files()
        .iter()
        .filter(|f| {
            std::fs::metadata(f)
                .map(|m| m.len() > 200_000)
                .unwrap_or(false)
        })
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    paths.push(format!(
        "{}/fixtures/demo.pcapng",
        env!("CARGO_MANIFEST_DIR")
    ));
    for p in &paths {
        let run = |threads| {
            let cfg = Config {
                threads,
                batch_bytes: 64 * 1024,
                ..Config::default()
            };
            let mut a = voipdx::analyze(std::slice::from_ref(p), &cfg);
            a.findings = voipdx::rules::diagnose(&mut a, None, &Default::default());
            serde_json::to_string(&a).unwrap()
        };
        let one = run(1);
        assert_eq!(one, run(2), "{p}");
        assert_eq!(one, run(3), "{p}");
    }
}
