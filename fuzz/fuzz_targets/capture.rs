//! The capture reader (pcap / pcapng / gzip detection, record framing) and the decode/classify stage,
//! with no analysis stage behind it. Differential: reading in 1 KiB batches (records straddling batch
//! and read boundaries) must give the same summary as the default 4 MiB batches.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voipdx::pipeline::{self, Config, Input, NoStage};

fn summary_json(data: &[u8], batch_bytes: usize) -> String {
    let cfg = Config {
        threads: 1,
        batch_bytes,
        ..Config::default()
    };
    let input = Input::Bytes {
        name: "fuzz.pcap".to_string(),
        data: data.to_vec(),
    };
    let summaries = pipeline::run_inputs(vec![input], &cfg, &mut NoStage);
    assert_eq!(summaries.len(), 1);
    serde_json::to_string(&summaries).expect("summary serialises")
}

fuzz_target!(|data: &[u8]| {
    let whole = summary_json(data, Config::default().batch_bytes);
    let small = summary_json(data, 1024);
    assert_eq!(whole, small, "summary depends on the batch size");
});
