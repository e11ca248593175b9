//! Throughput of the pipeline on generated captures (criterion).
//!
//! Captures come from `../shared/tools/gen_voip_capture.py`, written to `target/bench-data/` (outside the
//! source tree) the first time; set `VOIPDX_BENCH_SIZES=100,1000` to choose sizes in MB (default 100).
//! Without the generator the benches fall back to `fixtures/demo.pcapng`.
//! Run: `cargo bench --bench pipeline`. Figures are recorded in the issue notes, not asserted.

use std::path::PathBuf;
use std::process::Command;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use voipdx::pipeline::{self, Config, NoStage};

fn capture(mb: u64) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let gen_tool = root.join("../shared/tools/gen_voip_capture.py");
    let dir = root.join("target/bench-data");
    let out = dir.join(format!("gen-{mb}mb.pcap"));
    if out.is_file() {
        return out;
    }
    if gen_tool.is_file() {
        std::fs::create_dir_all(&dir).expect("bench-data dir");
        let calls = mb.to_string(); // ~1 MB per call at 120 s
        let ok = Command::new("python3")
            .arg(&gen_tool)
            .args([
                "--calls",
                &calls,
                "--seconds",
                "120",
                "--seed",
                "7",
                "--out",
            ])
            .arg(&out)
            .arg("--truth")
            .arg(dir.join(format!("gen-{mb}mb.json")))
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return out;
        }
    }
    root.join("fixtures/demo.pcapng")
}

fn sizes() -> Vec<u64> {
    std::env::var("VOIPDX_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100])
}

fn bench(c: &mut Criterion) {
    for mb in sizes() {
        let path = capture(mb);
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let p = path.to_string_lossy().to_string();
        let mut g = c.benchmark_group(format!("{mb}MB"));
        g.sample_size(10);
        g.throughput(Throughput::Bytes(bytes));
        for threads in [1, 2] {
            let cfg = Config {
                threads,
                ..Config::default()
            };
            g.bench_function(format!("decode+classify/{threads}t"), |b| {
                b.iter(|| pipeline::run(std::slice::from_ref(&p), &cfg, &mut NoStage))
            });
            g.bench_function(format!("analyze/{threads}t"), |b| {
                b.iter(|| voipdx::analyze(std::slice::from_ref(&p), &cfg))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
