//! The capture reader (pcap / pcapng / gzip detection, record framing) and the decode/classify stage,
//! with no analysis stage behind it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voipdx::pipeline::{self, Config, Input, NoStage};

fuzz_target!(|data: &[u8]| {
    let cfg = Config {
        threads: 1,
        ..Config::default()
    };
    let input = Input::Bytes {
        name: "fuzz.pcap".to_string(),
        data: data.to_vec(),
    };
    let summaries = pipeline::run_inputs(vec![input], &cfg, &mut NoStage);
    assert_eq!(summaries.len(), 1);
});
