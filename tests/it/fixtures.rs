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
