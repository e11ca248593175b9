//! SIP-heavy captures: many short calls without RTP, built in memory by the project's scenario builder.
//! Measures the SIP path (scanner, transactions, dialogs) and shows memory per call in the notes
//! (`/usr/bin/time -v` on the `sip_heavy` example run, see issue notes). Run: `cargo bench --bench sip_heavy`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use voipdx::pipeline::{Config, Input};
use voipdx::scenario::library::sip_only_capture;

fn bench(c: &mut Criterion) {
    let n: usize = std::env::var("VOIPDX_BENCH_CALLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let data = sip_only_capture(n);
    let mut g = c.benchmark_group(format!("sip_only_{n}_calls"));
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    for threads in [1, 2] {
        let cfg = Config {
            threads,
            ..Config::default()
        };
        g.bench_function(format!("analyze/{threads}t"), |b| {
            b.iter(|| {
                voipdx::analyze_inputs(
                    vec![Input::Bytes {
                        name: "sip".into(),
                        data: data.clone(),
                    }],
                    &cfg,
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
