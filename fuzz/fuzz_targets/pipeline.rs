//! The whole pipeline on one capture: analysis, rules, HTML and Markdown reports. Differential: the
//! analysis read in 1 KiB batches must equal the one read in default batches (JSON compared).
#![no_main]

use libfuzzer_sys::fuzz_target;
use voipdx::model::Analysis;
use voipdx::pipeline::{Config, Input};

fn analyze(data: &[u8], batch_bytes: usize) -> Analysis {
    let cfg = Config {
        threads: 1,
        batch_bytes,
        ..Config::default()
    };
    let input = Input::Bytes {
        name: "fuzz.pcap".to_string(),
        data: data.to_vec(),
    };
    let mut a = voipdx::analyze_inputs(vec![input], &cfg);
    a.findings = voipdx::rules::run_all(&a, None, &Default::default());
    a
}

fuzz_target!(|data: &[u8]| {
    let a = analyze(data, Config::default().batch_bytes);
    let html = voipdx::report::html(&a, &Default::default());
    assert!(!html.is_empty());
    let md = voipdx::report::markdown(&a, &Default::default());
    assert!(!md.is_empty());
    let small = analyze(data, 1024);
    let json = |a: &Analysis| serde_json::to_string(a).expect("analysis serialises");
    assert!(
        json(&a) == json(&small),
        "analysis depends on the batch size"
    );
});
