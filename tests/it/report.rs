//! The escalation report on the demo fixture: a Markdown snapshot (reviewed by hand; `UPDATE_SNAPSHOTS=1`
//! rewrites it), the HTML is self-contained, and it renders in headless Chromium without a network request
//! or console error where Chromium is installed.

use voipdx::report::{self, ReportOptions};

fn demo() -> voipdx::model::Analysis {
    let f = voipdx::scenario::library::by_name("demo.pcapng").unwrap();
    let mut a = crate::common::analyze_bytes("demo.pcapng", f.bytes);
    a.findings = voipdx::rules::diagnose(&mut a, None, &Default::default());
    a
}

fn opts() -> ReportOptions {
    ReportOptions {
        generated_at: "2026-01-01T00:00:00Z".into(),
        ..ReportOptions::default()
    }
}

#[test]
fn demo_markdown_matches_the_reviewed_snapshot() {
    let md = report::markdown(&demo(), &opts());
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/demo.md");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &md).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .expect("tests/snapshots/demo.md (UPDATE_SNAPSHOTS=1 writes it)");
    assert!(
        md == expected,
        "Markdown report changed; review and run with UPDATE_SNAPSHOTS=1"
    );
    // The facts an escalation reader needs are there.
    for needle in [
        "one_way_audio",
        "private_ip_in_sdp",
        "trunk_407_inbound",
        "no_response",
        "frame.number in {",
    ] {
        assert!(md.contains(needle), "{needle}");
    }
}

#[test]
fn demo_html_is_self_contained() {
    let html = report::html(&demo(), &opts());
    assert!(html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"));
    for forbidden in ["<link", "src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!html.contains(forbidden), "{forbidden}");
    }
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("<svg"), "ladder and plots are inline SVG");
}

#[test]
fn demo_html_renders_in_headless_chromium() {
    if !std::path::Path::new("/usr/bin/chromium").exists() {
        eprintln!("SKIP: /usr/bin/chromium absent (apt-get install chromium to run this check)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("voipdx-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let html = dir.join("demo.html");
    std::fs::write(&html, report::html(&demo(), &opts())).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/render_chromium.sh");
    let out = std::process::Command::new("sh")
        .arg(script)
        .arg(&html)
        .arg(dir.join("demo.png"))
        .output()
        .expect("run render_chromium.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("OK:"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
