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
