//! Writes a long capture with a steady number of calls going at once (N calls with RTP, one every
//! SPACING ms: about 2.4 s each, so SPACING 100 keeps ~25 calls going), for the memory-follows-live-calls
//! measurement: `cargo run --release --example long_capture -- 40000 100 /tmp/long.pcap` (~1.9 GB), then
//! `/usr/bin/time -v target/release/voipdx analyze --format json -o /dev/null /tmp/long.pcap`.
//! Written block by block, so the example itself stays small. Write it outside the repository.

use std::io::Write;

use voipdx::scenario::library::{LONG_BLOCK, long_capture_packets};
use voipdx::scenario::{Container, Link, write_capture};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let spacing: i64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let out = args.next().unwrap_or_else(|| "/tmp/long.pcap".to_string());
    let file = std::fs::File::create(&out).unwrap_or_else(|e| {
        eprintln!("cannot write {out}: {e}");
        std::process::exit(2);
    });
    let mut w = std::io::BufWriter::new(file);
    let mut total = 0usize;
    let mut first = 0;
    while first < n {
        let count = LONG_BLOCK.min(n - first);
        let bytes = write_capture(
            &long_capture_packets(first, count, spacing),
            Link::Ethernet,
            Container::Pcap {
                big_endian: false,
                nanos: false,
            },
            65535,
        );
        // Every block after the first goes without its 24-byte file header.
        let body = if first == 0 { &bytes[..] } else { &bytes[24..] };
        if let Err(e) = w.write_all(body) {
            eprintln!("cannot write {out}: {e}");
            std::process::exit(2);
        }
        total += body.len();
        first += count;
    }
    if let Err(e) = w.flush() {
        eprintln!("cannot write {out}: {e}");
        std::process::exit(2);
    }
    println!("{out}: {n} calls, {total} bytes");
}
