//! Writes a SIP-only capture of N calls (default 100 000) for scale measurements:
//! `cargo run --release --example sip_heavy -- 100000 /tmp/sip100k.pcap`, then
//! `/usr/bin/time -v target/release/voipdx calls /tmp/sip100k.pcap`. Write it outside the repository.

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let out = args
        .next()
        .unwrap_or_else(|| "/tmp/sip-heavy.pcap".to_string());
    let bytes = voipdx::scenario::library::sip_only_capture(n);
    if let Err(e) = std::fs::write(&out, &bytes) {
        eprintln!("cannot write {out}: {e}");
        std::process::exit(2);
    }
    println!("{out}: {n} calls, {} bytes", bytes.len());
}
