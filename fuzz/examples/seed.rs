//! Builds seed corpora for every fuzz target from capture files:
//! `cargo run --release --example seed -- OUT_DIR CAPTURE...`
//! writes OUT_DIR/<target>/<hash> files (small pieces of the captures: whole captures cut to 64 KiB,
//! re-written pcaps of 40-frame windows, single frames, SIP messages, SDP bodies, RTCP payloads and
//! TCP segment scripts). Nothing here is committed: run it on the repository's fixtures and any local
//! captures.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use voipdx::capture::CaptureReader;
use voipdx::classify::{Event, EventKind};
use voipdx::pipeline::{self, Config, Input, Stage};
use voipdx::problems::Problems;
use voipdx::sip::scan;

const LINK_TYPES: [u32; 14] = [1, 0, 108, 101, 12, 14, 228, 229, 113, 276, 197, 9, 105, 127];
const MAX_SEED: usize = 64 * 1024;
const WINDOW_FRAMES: usize = 40;
const MAX_WINDOWS: usize = 30;
const MAX_FRAMES: usize = 300;
const MAX_PER_KIND: usize = 300;

struct Out {
    dir: PathBuf,
    written: HashMap<&'static str, usize>,
}

impl Out {
    fn put(&mut self, target: &'static str, bytes: &[u8]) {
        let n = self.written.entry(target).or_default();
        if bytes.is_empty() || bytes.len() > MAX_SEED {
            return;
        }
        let mut h = DefaultHasher::new();
        bytes.hash(&mut h);
        let dir = self.dir.join(target);
        std::fs::create_dir_all(&dir).expect("create corpus dir");
        let path = dir.join(format!("{:016x}", h.finish()));
        if !path.exists() {
            std::fs::write(path, bytes).expect("write seed");
            *n += 1;
        }
    }
}

/// TCP segments of one flow direction: (sequence number, flags, payload).
type Segments = Vec<(u32, u8, Vec<u8>)>;

/// Collects what the per-protocol targets want, per capture.
#[derive(Default)]
struct Collect {
    sip: Vec<Vec<u8>>,
    rtcp: Vec<Vec<u8>>,
    tcp: HashMap<(SocketAddr, SocketAddr), Segments>,
}

impl Stage for Collect {
    fn event(&mut self, ev: &Event) {
        match &ev.kind {
            EventKind::Sip { payload, .. } if self.sip.len() < MAX_PER_KIND => {
                self.sip.push(payload.clone())
            }
            EventKind::Rtcp { payload } if self.rtcp.len() < MAX_PER_KIND => {
                self.rtcp.push(payload.clone())
            }
            EventKind::Tcp {
                seq,
                flags,
                payload,
            } => {
                let flow = self.tcp.entry((ev.src, ev.dst)).or_default();
                if flow.len() < MAX_PER_KIND {
                    flow.push((*seq, *flags, payload.clone()));
                }
            }
            _ => {}
        }
    }
}

fn pcap_header(link_type: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&65535u32.to_le_bytes());
    v.extend_from_slice(&link_type.to_le_bytes());
    v
}

fn pcap_record(v: &mut Vec<u8>, time_ns: i64, orig_len: u32, bytes: &[u8]) {
    let secs = time_ns.div_euclid(1_000_000_000) as u32;
    let micros = (time_ns.rem_euclid(1_000_000_000) / 1000) as u32;
    v.extend_from_slice(&secs.to_le_bytes());
    v.extend_from_slice(&micros.to_le_bytes());
    v.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    v.extend_from_slice(&orig_len.max(bytes.len() as u32).to_le_bytes());
    v.extend_from_slice(bytes);
}

/// Whole-capture seeds (prefix and windows) and single-frame seeds.
fn frames(out: &mut Out, path: &Path) {
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    let prefix = &bytes[..bytes.len().min(MAX_SEED)];
    out.put("capture", prefix);
    out.put("pipeline", prefix);
    let Ok(mut reader) = CaptureReader::open(&path.to_string_lossy(), 1) else {
        return;
    };
    let mut problems = Problems::default();
    let mut windows = 0;
    let mut singles = 0;
    while let Some(batch) = reader.next_batch(1 << 20, &mut problems) {
        for chunk in batch.frames.chunks(WINDOW_FRAMES) {
            if windows < MAX_WINDOWS {
                let mut pcap = pcap_header(chunk[0].link_type);
                for f in chunk.iter().filter(|f| f.link_type == chunk[0].link_type) {
                    pcap_record(&mut pcap, f.time_ns, f.orig_len, batch.bytes(f));
                }
                out.put("pipeline", &pcap);
                out.put("capture", &pcap);
                windows += 1;
            }
            for f in chunk {
                let Some(pick) = LINK_TYPES.iter().position(|l| *l == f.link_type) else {
                    continue;
                };
                if singles < MAX_FRAMES {
                    let mut seed = vec![pick as u8];
                    seed.extend_from_slice(batch.bytes(f));
                    out.put("decode", &seed);
                    singles += 1;
                }
            }
        }
    }
}

fn tcp_script(segments: &[(u32, u8, Vec<u8>)]) -> Vec<u8> {
    let syn = segments.iter().find(|(_, flags, _)| flags & 0x02 != 0);
    let first = segments.iter().find(|(_, _, p)| !p.is_empty());
    let (flag, isn) = match (syn, first) {
        (Some((seq, _, _)), _) => (1u8, *seq),
        (None, Some((seq, _, _))) => (0, seq.wrapping_sub(1)),
        (None, None) => return Vec::new(),
    };
    let mut v = vec![flag];
    v.extend_from_slice(&isn.to_be_bytes());
    let mut next = isn.wrapping_add(1);
    for (seq, _, payload) in segments {
        let mut seq = *seq;
        for piece in payload.chunks(255) {
            let delta = seq.wrapping_sub(next) as i32;
            let delta = if (-127..=127).contains(&delta) {
                delta
            } else {
                0
            };
            v.push(delta as i8 as u8);
            v.push(piece.len() as u8);
            v.extend_from_slice(piece);
            next = next
                .wrapping_add_signed(delta)
                .wrapping_add(piece.len() as u32);
            seq = seq.wrapping_add(piece.len() as u32);
        }
        if v.len() > MAX_SEED {
            break;
        }
    }
    v
}

fn sdp_body(msg: &[u8]) -> Option<&[u8]> {
    let hb = scan::header_block(msg)?;
    msg.get(hb.header_len..).filter(|b| !b.is_empty())
}

fn protocols(out: &mut Out, path: &Path) {
    let mut c = Collect::default();
    let cfg = Config {
        threads: 1,
        ..Config::default()
    };
    pipeline::run_inputs(
        vec![Input::Path(path.to_string_lossy().into_owned())],
        &cfg,
        &mut c,
    );
    for m in &c.sip {
        out.put("sip_scan", m);
        if let Some(body) = sdp_body(m) {
            out.put("sdp", body);
        }
    }
    for p in &c.rtcp {
        out.put("rtcp", p);
    }
    for segments in c.tcp.values() {
        let script = tcp_script(segments);
        if script.len() > 5 {
            out.put("tcp_stream", &script);
        }
        for (_, _, p) in segments {
            if scan::looks_like_sip(p) {
                out.put("sip_scan", p);
                if let Some(body) = sdp_body(p) {
                    out.put("sdp", body);
                }
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((dir, captures)) = args.split_first() else {
        eprintln!("usage: seed OUT_DIR CAPTURE...");
        std::process::exit(2);
    };
    let mut out = Out {
        dir: PathBuf::from(dir),
        written: HashMap::new(),
    };
    for c in captures {
        let p = Path::new(c);
        frames(&mut out, p);
        protocols(&mut out, p);
    }
    let mut counts: Vec<_> = out.written.iter().collect();
    counts.sort();
    for (target, n) in counts {
        println!("{target}: {n} new seeds");
    }
}
