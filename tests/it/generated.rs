//! Captures from `../shared/tools/gen_voip_capture.py` with their exact truth files: every call's final
//! status and INVITE transmissions, every stream's packets, lost and max jitter, and its call.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::common::analyze_path;

fn generator() -> Option<PathBuf> {
    let g = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/gen_voip_capture.py");
    if g.is_file() && Command::new("python3").arg("--version").output().is_ok() {
        Some(g)
    } else {
        eprintln!("SKIP: ../shared/tools/gen_voip_capture.py or python3 absent");
        None
    }
}

/// Generates a capture into a temporary folder; returns (capture, truth).
pub fn generate(args: &[&str], tag: &str) -> Option<(PathBuf, Value)> {
    let g = generator()?;
    let dir = std::env::temp_dir().join(format!("voipdx-gen-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("g.cap");
    let truth = dir.join("g.json");
    let status = Command::new("python3")
        .arg(g)
        .args(args)
        .arg("--out")
        .arg(&out)
        .arg("--truth")
        .arg(&truth)
        .status()
        .expect("run generator");
    assert!(status.success());
    let t: Value = serde_json::from_slice(&std::fs::read(&truth).unwrap()).unwrap();
    Some((out, t))
}

fn check(args: &[&str], tag: &str) {
    let Some((cap, truth)) = generate(args, tag) else {
        return;
    };
    let a = analyze_path(cap.to_str().unwrap());
    let calls = truth["calls"].as_array().unwrap();
    assert_eq!(a.calls.len(), calls.len());
    let mut streams = 0;
    for tc in calls {
        let cid = tc["call_id"].as_str().unwrap();
        let c = a.calls.iter().find(|c| c.call_id == cid).expect(cid);
        assert_eq!(
            c.final_status.map(u64::from),
            tc["final_status"].as_u64(),
            "{cid}"
        );
        assert_eq!(
            u64::from(c.invite_transmissions),
            tc["invite_transmissions"].as_u64().unwrap(),
            "{cid}"
        );
        for ts in tc["rtp_streams"].as_array().into_iter().flatten() {
            let ssrc = format!(
                "0x{:08X}",
                u32::from_str_radix(&ts["ssrc"].as_str().unwrap()[2..], 16).unwrap()
            );
            let s = a
                .streams
                .iter()
                .find(|s| {
                    s.src == ts["src"].as_str().unwrap()
                        && s.dst == ts["dst"].as_str().unwrap()
                        && s.ssrc == ssrc
                })
                .unwrap_or_else(|| panic!("{cid}: stream {ssrc} missing"));
            assert_eq!(
                s.packets,
                ts["packets_in_capture"].as_u64().unwrap(),
                "{cid} {ssrc}"
            );
            assert_eq!(s.lost, ts["packets_lost"].as_i64().unwrap(), "{cid} {ssrc}");
            let mj = ts["max_jitter_ms"].as_f64().unwrap();
            assert!(
                (s.max_jitter_ms - mj).abs() <= 0.01,
                "{cid} {ssrc}: max jitter {} vs {mj}",
                s.max_jitter_ms
            );
            assert_eq!(s.call_id.as_deref(), Some(cid), "{ssrc} tied to its call");
            streams += 1;
        }
    }
    assert_eq!(a.streams.len(), streams, "no stream beyond the truth's");
    let _ = std::fs::remove_dir_all(cap.parent().unwrap());
}

#[test]
fn generated_ethernet_pcap_matches_truth() {
    check(&["--calls", "30", "--seconds", "50", "--seed", "3"], "eth");
}

#[test]
fn generated_sll2_pcapng_nanosecond_with_rtcp_matches_truth() {
    check(
        &[
            "--calls",
            "26",
            "--seconds",
            "45",
            "--seed",
            "11",
            "--linktype",
            "sll2",
            "--format",
            "pcapng",
            "--nanosec",
            "--rtcp",
        ],
        "sll2",
    );
}
