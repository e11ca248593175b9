//! RTP over the public captures: every stream of `tshark -z rtp,streams` (heuristic on) is found with the
//! same packets and lost, and max delta, mean and max jitter within 0.01 ms. The justified differences are
//! listed in `EXCEPTIONS` with the reason.

use crate::common::{analyze_path, ref_section, reference_for, shared_files};

struct RefStream {
    src: String,
    dst: String,
    ssrc: String,
    packets: u64,
    lost: i64,
    max_delta: f64,
    mean_jitter: f64,
    max_jitter: f64,
}

fn sa(ip: &str, port: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

fn streams(section: &str) -> Vec<RefStream> {
    let mut out = Vec::new();
    for line in section.lines() {
        let c: Vec<&str> = line.split_whitespace().collect();
        if c.len() < 16 || !c[6].starts_with("0x") {
            continue;
        }
        // Columns from the end: pkts lost (pct) mind meand maxd minj meanj maxj [problems]
        let lost_at = c
            .iter()
            .position(|x| x.starts_with('(') && x.ends_with("%)"))
            .expect("lost %")
            - 1;
        out.push(RefStream {
            src: sa(c[2], c[3]),
            dst: sa(c[4], c[5]),
            ssrc: format!("0x{}", c[6][2..].to_uppercase()),
            packets: c[lost_at - 1].parse().unwrap(),
            lost: c[lost_at].parse().unwrap(),
            max_delta: c[lost_at + 4].parse().unwrap(),
            mean_jitter: c[lost_at + 6].parse().unwrap(),
            max_jitter: c[lost_at + 7].parse().unwrap(),
        });
    }
    out
}

/// (file, ssrc, reason) of reference streams we do not report identically, each for a stated reason.
const EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "ndpi_fax-t38-ca-tdm-sip_488-declined.pcap",
        "0x0EAF0EAF",
        "the call switches to T.38 on the same port; Wireshark decodes the later packets as UDPTL, we keep them in the RTP stream",
    ),
    (
        "packetnet_ipv6-rtp_rawip101.pcap",
        "0x359F41E4",
        "a single packet: our heuristic needs 8 packets with a steady sequence before calling a flow RTP",
    ),
    (
        "srtp-decoder_wifi-tcp-to-3g_rawip101_turn.pcap",
        "0x3482B3A1",
        "RTP inside TURN ChannelData over TCP is not decoded",
    ),
    (
        "srtp-decoder_wifi-tcp-to-3g_rawip101_turn.pcap",
        "0x3482B39F",
        "RTP inside TURN ChannelData over TCP is not decoded",
    ),
    (
        "ws-sample_SIP_CALL_RTP_G711_rtcp.pcap",
        "0x00002E3D",
        "negotiated by MGCP (not SIP) and only 6 packets, below the heuristic's minimum",
    ),
];

#[test]
fn rtp_streams_match_tshark() {
    let mut exact = 0;
    for f in shared_files() {
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        let reference = reference_for(&f);
        let wanted = streams(ref_section(
            &reference,
            "-o rtp.heuristic_rtp:TRUE -z rtp,streams",
        ));
        let sdp_only = streams(ref_section(&reference, "(heuristic RTP OFF"));
        let a = analyze_path(f.to_str().unwrap());
        for w in &wanted {
            if EXCEPTIONS
                .iter()
                .any(|(file, ssrc, _)| *file == name && *ssrc == w.ssrc)
            {
                continue;
            }
            let s = a
                .streams
                .iter()
                .find(|s| s.src == w.src && s.dst == w.dst && s.ssrc == w.ssrc)
                .unwrap_or_else(|| {
                    panic!("{name}: stream {} -> {} {} not found", w.src, w.dst, w.ssrc)
                });
            let what = format!("{name}: {} -> {} {}", w.src, w.dst, w.ssrc);
            assert_eq!(s.packets, w.packets, "{what}: packets");
            assert_eq!(s.lost, w.lost, "{what}: lost");
            assert!(
                (s.max_delta_ms - w.max_delta).abs() <= 0.01,
                "{what}: max delta {} vs {}",
                s.max_delta_ms,
                w.max_delta
            );
            assert!(
                (s.mean_jitter_ms - w.mean_jitter).abs() <= 0.01,
                "{what}: mean jitter {} vs {}",
                s.mean_jitter_ms,
                w.mean_jitter
            );
            assert!(
                (s.max_jitter_ms - w.max_jitter).abs() <= 0.01,
                "{what}: max jitter {} vs {}",
                s.max_jitter_ms,
                w.max_jitter
            );
            // Streams Wireshark ties to an SDP are the ones we tie to a call's SDP too.
            let negotiated = sdp_only
                .iter()
                .any(|p| p.src == w.src && p.dst == w.dst && p.ssrc == w.ssrc);
            if negotiated {
                assert_eq!(s.found_by, "sdp", "{what}");
            }
            exact += 1;
        }
        // Nothing reported that Wireshark's heuristic does not also see as RTP.
        for s in &a.streams {
            assert!(
                wanted
                    .iter()
                    .any(|w| s.src == w.src && s.dst == w.dst && s.ssrc == w.ssrc),
                "{name}: we report {} -> {} {} which tshark does not",
                s.src,
                s.dst,
                s.ssrc
            );
        }
    }
    if !shared_files().is_empty() {
        assert!(exact >= 67, "only {exact} streams matched");
    }
}
