//! The whole pipeline on one capture: analysis, rules, HTML and Markdown reports. Differential: the
//! analysis read in 1 KiB batches must equal the one read in default batches (JSON compared). Both runs
//! retire calls into segments of 2 after 50 quiet frames, so the archive, the segment-by-segment rules
//! and the report view are fuzzed too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voipdx::model::Analysis;
use voipdx::pipeline::{Config, Input};

fn analyze(data: &[u8], batch_bytes: usize) -> Analysis {
    let cfg = Config {
        threads: 1,
        batch_bytes,
        segment_calls: 2,
        quiet_frames: 50,
        ..Config::default()
    };
    let input = Input::Bytes {
        name: "fuzz.pcap".to_string(),
        data: data.to_vec(),
    };
    let mut a = voipdx::analyze_inputs(vec![input], &cfg);
    a.findings = voipdx::rules::diagnose(&mut a, None, &Default::default());
    a
}

fuzz_target!(|data: &[u8]| {
    let a = analyze(data, Config::default().batch_bytes);
    let view = voipdx::report::view_first(&a, 3);
    let html = voipdx::report::html(&view, &Default::default());
    assert!(!html.is_empty());
    let md = voipdx::report::markdown(&view, &Default::default());
    assert!(!md.is_empty());
    let small = analyze(data, 1024);
    let json = |a: &Analysis| serde_json::to_string(a).expect("analysis serialises");
    assert!(
        json(&a) == json(&small),
        "analysis depends on the batch size"
    );
});
