//! What the rules conclude, checked two ways:
//!
//! - over the public captures of `../shared/captures`: a compact listing of every finding
//!   (`file: severity rule call-id`) compared with `tests/snapshots/findings_public.txt`, which was
//!   reviewed by hand against `ref/<file>.features.json`. `UPDATE_SNAPSHOTS=1` rewrites it (its comment
//!   header is kept): review the diff before committing it.
//! - over captures of `../shared/tools/gen_voip_capture.py`: every expected problem of the truth file must
//!   be reported (warning or error) on its call by the rule that names it, and no warning or error may
//!   fire where the truth expects none: precision and recall of 100 %.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use voipdx::model::{Finding, Severity};

use crate::common::{analyze_path, shared_files};
use crate::generated::generate;

const SNAPSHOT: &str = "tests/snapshots/findings_public.txt";

const DEFAULT_HEADER: &str = "\
# Findings of `voipdx analyze` over ../shared/captures, one line per finding, sorted:
#   <file>: <severity> <rule> <call-id, or - for capture-level findings>
# Reviewed by hand against ref/<file>.features.json and the SIP ladders.
# Regenerate with UPDATE_SNAPSHOTS=1 cargo test --release --test it findings (this header is kept).
";

fn run_rules(path: &Path) -> Vec<Finding> {
    let mut a = analyze_path(path.to_str().expect("utf-8 path"));
    voipdx::rules::diagnose(&mut a, None, &Default::default())
}

/// The compact listing of one capture's findings, sorted; "file: none" when there is none.
fn listing(path: &Path) -> Vec<String> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("?")
        .to_string();
    let mut lines: Vec<String> = run_rules(path)
        .iter()
        .map(|f| {
            format!(
                "{name}: {} {} {}",
                f.severity.as_str(),
                f.rule,
                f.call_id.as_deref().unwrap_or("-")
            )
        })
        .collect();
    if lines.is_empty() {
        lines.push(format!("{name}: none"));
    }
    lines.sort();
    lines
}

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOT)
}

/// (comment header, listing lines) of the checked-in snapshot.
fn read_snapshot() -> (String, Vec<String>) {
    let text = std::fs::read_to_string(snapshot_path()).unwrap_or_default();
    let header: String = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    (header, lines)
}

#[test]
fn findings_over_public_captures_match_the_reviewed_snapshot() {
    let files = shared_files();
    if files.is_empty() {
        eprintln!("SKIP: no public capture in ../shared/captures: findings snapshot not checked");
        return;
    }
    let got: Vec<String> = files.iter().flat_map(|p| listing(p)).collect();
    let (header, want) = read_snapshot();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        let header = if header.is_empty() {
            DEFAULT_HEADER.to_string()
        } else {
            header
        };
        let body: String = got.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(snapshot_path(), format!("{header}{body}")).expect("write snapshot");
        eprintln!("UPDATED {SNAPSHOT}: {} lines", got.len());
        return;
    }
    if got != want {
        let missing: Vec<&String> = want.iter().filter(|l| !got.contains(l)).collect();
        let extra: Vec<&String> = got.iter().filter(|l| !want.contains(l)).collect();
        panic!(
            "findings differ from {SNAPSHOT} (review, then UPDATE_SNAPSHOTS=1):\n\
             expected but not produced ({}):\n  {}\nproduced but not expected ({}):\n  {}",
            missing.len(),
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n  "),
            extra.len(),
            extra
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }
}

#[test]
fn healthy_public_captures_show_no_warning_or_error() {
    // Captures of calls that worked (as the references show): nothing above info.
    let healthy = [
        "goffinet_rtp-protocol_prack.pcap",
        "goffinet_sip-call-with-proxy-server.pcap",
        "goffinet_sip-flow-private-2_stun_twoway.pcapng",
        "goffinet_test-voip_ipv6-rtcp_2.5MB.pcapng",
        "heplify_sip-websocket_invite407-183.pcap",
        "isa_i-was-called_b2bua-2legs_invite401_rtcp.pcap",
        "isa_real-sip-call_b2bua-2legs_invite401_reinvites_rtcp.pcap",
        "ndpi_sip-hello_register401.pcapng",
        "pkts_sipp-5calls_ethernet.pcap",
        "ws-sample_nb6-startup_register401.pcap",
        "ws-sample_sip-call-over-tcp_rtcp.pcap",
        "ws-sample_sip-rtp-g722_oneway.pcap",
        "ws-sample_sip-rtp-g726_8calls_oneway.pcap",
        "ws-sample_sip-rtp-opus_oneway.pcap",
        "ws-sample_sip-rtp-speex_3calls_oneway.pcap",
        "sipp_g711a_rtp-only.pcap",
    ];
    let files = shared_files();
    if files.is_empty() {
        eprintln!("SKIP: no public capture in ../shared/captures");
        return;
    }
    for name in healthy {
        let Some(path) = files.iter().find(|p| p.ends_with(name)) else {
            panic!("{name} missing from ../shared/captures");
        };
        let bad: Vec<String> = run_rules(path)
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .map(|f| format!("{} {} {}", f.severity.as_str(), f.rule, f.title))
            .collect();
        assert!(bad.is_empty(), "{name}: {bad:#?}");
    }
}

// ------------------------------------------------------------------------------- generated captures

/// Rules that report a truth problem. `no_response` may come with `user_agent_blocked` when the
/// unanswered requests' User-Agent contains "PortSIP" and the far end answers others: that rule names
/// the documented cause (some trunks drop PortSIP User-Agents) of the same silence, on the same call.
/// A failed call may be reported by the sharper rule that explains its status (a 488 by
/// codec_mismatch, a caller-ID refusal by caller_id_rejected) instead of call_failed.
fn accepted_rules(problem: &str, call: &Value) -> &'static [&'static str] {
    let portsip = call["uac_user_agent"]
        .as_str()
        .is_some_and(|u| u.to_ascii_lowercase().contains("portsip"));
    match problem {
        "rtp_loss" => &["packet_loss"],
        "rtp_jitter" => &["high_jitter"],
        "one_way_audio" => &["one_way_audio"],
        "sdp_private_ip" => &["private_ip_in_sdp"],
        "no_response" if portsip => &["no_response", "user_agent_blocked"],
        "no_response" => &["no_response"],
        "call_failed" => &["call_failed", "codec_mismatch", "caller_id_rejected"],
        "proxy_auth_407" => &["trunk_407_inbound", "call_failed"],
        _ => &[],
    }
}

/// The rule that must be present for the problem to count as found.
fn primary_rules(problem: &str) -> &'static [&'static str] {
    match problem {
        "rtp_loss" => &["packet_loss"],
        "rtp_jitter" => &["high_jitter"],
        "one_way_audio" => &["one_way_audio"],
        "sdp_private_ip" => &["private_ip_in_sdp"],
        "no_response" => &["no_response"],
        "call_failed" => &["call_failed", "codec_mismatch", "caller_id_rejected"],
        "proxy_auth_407" => &["trunk_407_inbound", "call_failed"],
        _ => &[],
    }
}

#[derive(Default)]
struct Score {
    expected: usize,
    found: usize,
    reported: usize,
    correct: usize,
    misses: Vec<String>,
    false_alarms: Vec<String>,
}

fn score(findings: &[Finding], truth: &Value) -> Score {
    let calls: BTreeMap<&str, &Value> = truth["calls"]
        .as_array()
        .expect("truth calls")
        .iter()
        .filter_map(|c| Some((c["call_id"].as_str()?, c)))
        .collect();
    let serious: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .collect();
    let mut s = Score::default();
    for (id, c) in &calls {
        for p in c["expected_problems"].as_array().into_iter().flatten() {
            let p = p.as_str().unwrap_or("");
            s.expected += 1;
            let hit = serious.iter().any(|f| {
                f.call_id.as_deref() == Some(*id) && primary_rules(p).contains(&f.rule.as_str())
            });
            if hit {
                s.found += 1;
            } else {
                s.misses.push(format!("{id} ({}): {p}", c["scenario"]));
            }
        }
    }
    for f in &serious {
        s.reported += 1;
        let call = f.call_id.as_deref().and_then(|id| calls.get(id));
        let ok = call.is_some_and(|c| {
            c["expected_problems"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| accepted_rules(p.as_str().unwrap_or(""), c).contains(&f.rule.as_str()))
        });
        if ok {
            s.correct += 1;
        } else {
            s.false_alarms.push(format!(
                "{} {} {}: {}",
                f.severity.as_str(),
                f.rule,
                f.call_id.as_deref().unwrap_or("-"),
                f.title
            ));
        }
    }
    s
}

fn precision_recall(args: &[&str], tag: &str) {
    let Some((cap, truth)) = generate(args, tag) else {
        return;
    };
    let findings = run_rules(&cap);
    let _ = std::fs::remove_dir_all(cap.parent().expect("temp dir"));
    let s = score(&findings, &truth);
    let pct = |a: usize, b: usize| {
        if b == 0 {
            100.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    println!(
        "generated {tag} ({}): recall {}/{} = {:.1} %, precision {}/{} = {:.1} % (warning/error findings)",
        args.join(" "),
        s.found,
        s.expected,
        pct(s.found, s.expected),
        s.correct,
        s.reported,
        pct(s.correct, s.reported)
    );
    assert!(
        s.expected > 0,
        "the truth lists no problem: generator changed?"
    );
    assert!(s.misses.is_empty(), "missed: {:#?}", s.misses);
    assert!(
        s.false_alarms.is_empty(),
        "false alarms: {:#?}",
        s.false_alarms
    );
}

#[test]
fn findings_on_generated_ethernet_capture_have_full_precision_and_recall() {
    precision_recall(
        &["--calls", "120", "--seconds", "60", "--seed", "5"],
        "findings-eth",
    );
}

#[test]
fn findings_on_generated_sll_rtcp_capture_have_full_precision_and_recall() {
    precision_recall(
        &[
            "--calls",
            "120",
            "--seconds",
            "60",
            "--seed",
            "7",
            "--linktype",
            "sll",
            "--rtcp",
        ],
        "findings-sll",
    );
}
