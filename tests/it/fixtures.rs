//! Scenario fixtures: every container and link type decodes to the facts the builder states.

use crate::common::summarize_bytes;
use voipdx::scenario;

#[test]
fn every_fixture_decodes_to_its_stated_packets_and_links() {
    for f in scenario::all() {
        let s = summarize_bytes(f.name, f.bytes.clone());
        assert_eq!(s.error, None, "{}", f.name);
        assert_eq!(
            s.packets as usize, f.expected.packets,
            "{}: packets",
            f.name
        );
        let links: Vec<u32> = s.interfaces.iter().map(|i| i.link_type).collect();
        assert_eq!(links, f.expected.links, "{}: link types", f.name);
        assert_eq!(
            s.classes.get("undecodable"),
            None,
            "{}: undecodable frames",
            f.name
        );
        if f.name.ends_with(".gz") {
            assert!(s.gzip);
        }
    }
}

#[test]
fn checked_in_fixtures_are_what_the_builder_writes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for f in scenario::all() {
        let on_disk = std::fs::read(dir.join(f.name)).unwrap_or_else(|e| {
            panic!(
                "fixtures/{}: {e} (run `cargo run -- make-fixtures`)",
                f.name
            )
        });
        assert!(
            on_disk == f.bytes,
            "fixtures/{} is stale: run `cargo run -- make-fixtures`",
            f.name
        );
    }
}

#[test]
fn every_fixture_has_its_stated_calls_statuses_and_streams() {
    for f in scenario::all() {
        let a = crate::common::analyze_bytes(f.name, f.bytes.clone());
        let e = &f.expected;
        if f.name == "snaplen_cut.pcap" {
            // Every SIP message is cut to 54 bytes, before its Call-ID: nothing to build a call from.
            // The tool must say so instead of inventing a call.
            assert!(a.calls.is_empty());
            assert_eq!(a.stats.sip_unparsable, 7);
            assert!(
                a.captures[0]
                    .problems
                    .iter()
                    .any(|p| p.message.contains("snapshot length"))
            );
        } else {
            assert_eq!(a.calls.len(), e.calls, "{}: calls", f.name);
        }
        for (cid, status) in e.statuses.iter().filter(|_| f.name != "snaplen_cut.pcap") {
            let c = a
                .calls
                .iter()
                .find(|c| c.call_id == *cid)
                .unwrap_or_else(|| panic!("{}: call {cid} missing", f.name));
            let want = (*status != 0).then_some(*status);
            assert_eq!(c.final_status, want, "{}: final status of {cid}", f.name);
        }
        for s in &e.rtp {
            let ssrc = format!("0x{:08X}", s.ssrc);
            let got = a
                .streams
                .iter()
                .find(|x| {
                    x.src == s.src.to_string() && x.dst == s.dst.to_string() && x.ssrc == ssrc
                })
                .unwrap_or_else(|| {
                    panic!("{}: stream {} -> {} {ssrc} missing", f.name, s.src, s.dst)
                });
            assert_eq!(
                got.packets as usize, s.packets,
                "{}: packets of {ssrc}",
                f.name
            );
            assert_eq!(got.lost, s.lost, "{}: lost of {ssrc}", f.name);
        }
    }
}

/// What each scenario contains, as the builder states it, and therefore which warnings and errors must
/// fire; every other fixture is a look-alike that must stay below warning (negotiated hold, a caller's
/// CANCEL during early media, a redirect that was followed, STUN on a media port, an SSRC change...).
const EXPECTED_FINDINGS: &[(&str, &[&str])] = &[
    (
        "demo.pcapng",
        &[
            "error caller_id_rejected",
            "error destination_unreachable",
            "error no_response",
            "error one_way_audio",
            "error private_ip_in_sdp",
            "error trunk_407_inbound",
            "warning user_agent_blocked",
        ],
    ),
    ("dns_nxdomain.pcap", &["error dns_failure"]),
    ("rtp_loss_jitter_reorder.pcap", &["warning packet_loss"]),
    ("tcp_rst_sip.pcap", &["error connection_refused"]),
    ("snaplen_cut.pcap", &["warning capture_incomplete"]),
    ("pcapng_two_sections.pcapng", &["error call_failed"]),
    ("sip_nonstandard_port.pcap", &["error call_failed"]),
];

#[test]
fn every_fixture_raises_exactly_its_stated_problems() {
    for f in scenario::all() {
        let mut a = crate::common::analyze_bytes(f.name, f.bytes.clone());
        a.findings = voipdx::rules::diagnose(&mut a, None, &Default::default());
        let mut got: Vec<String> = a
            .findings
            .iter()
            .filter(|x| x.severity != voipdx::model::Severity::Info)
            .map(|x| format!("{} {}", x.severity.as_str(), x.rule))
            .collect();
        got.sort();
        got.dedup();
        let want: Vec<String> = EXPECTED_FINDINGS
            .iter()
            .find(|(n, _)| *n == f.name)
            .map(|(_, w)| w.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default();
        assert_eq!(got, want, "{}", f.name);
        for x in &a.findings {
            assert!(
                !x.evidence_frames.is_empty() || x.rule == "capture_incomplete",
                "{}: {} has no evidence",
                f.name,
                x.rule
            );
            assert!(
                !x.next_steps.is_empty() || x.severity == voipdx::model::Severity::Info,
                "{}: {} has no next step",
                f.name,
                x.rule
            );
        }
    }
}
