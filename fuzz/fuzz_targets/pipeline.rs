//! The whole pipeline on one capture: analysis, rules, HTML and Markdown reports.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voipdx::pipeline::{Config, Input};

fuzz_target!(|data: &[u8]| {
    let cfg = Config {
        threads: 1,
        ..Config::default()
    };
    let input = Input::Bytes {
        name: "fuzz.pcap".to_string(),
        data: data.to_vec(),
    };
    let mut a = voipdx::analyze_inputs(vec![input], &cfg);
    a.findings = voipdx::rules::run_all(&a, None, &Default::default());
    let html = voipdx::report::html(&a, &Default::default());
    assert!(!html.is_empty());
    let md = voipdx::report::markdown(&a, &Default::default());
    assert!(!md.is_empty());
});
