//! Payload type tables and codec parameters.
//!
//! * [`static_codec`]: the RFC 3551 / IANA static payload types (name, RTP clock).
//! * [`wireshark_clock_rate`]: the clock rate Wireshark 4.0's RTP stream analysis
//!   uses for a packet, which decides whether (and how) jitter is computed.
//! * [`codec_impairment`]: E-model equipment impairment `Ie` and packet-loss
//!   robustness `Bpl` (ITU-T G.113 Appendix I planning values where they exist).

/// Static payload types of RFC 3551 (plus the reserved 1, 2 and 19 that
/// Wireshark still maps). G.722 keeps its historic 8000 Hz RTP clock.
const STATIC: &[(u8, &str, u32)] = &[
    (0, "PCMU", 8000),
    (1, "1016", 8000),
    (2, "G721", 8000),
    (3, "GSM", 8000),
    (4, "G723", 8000),
    (5, "DVI4", 8000),
    (6, "DVI4", 16000),
    (7, "LPC", 8000),
    (8, "PCMA", 8000),
    (9, "G722", 8000),
    (10, "L16", 44100),
    (11, "L16", 44100),
    (12, "QCELP", 8000),
    (13, "CN", 8000),
    (14, "MPA", 90000),
    (15, "G728", 8000),
    (16, "DVI4", 11025),
    (17, "DVI4", 22050),
    (18, "G729", 8000),
    (19, "CN", 8000),
    (25, "CelB", 90000),
    (26, "JPEG", 90000),
    (28, "nv", 90000),
    (31, "H261", 90000),
    (32, "MPV", 90000),
    (33, "MP2T", 90000),
    (34, "H263", 90000),
];

/// Name and RTP clock rate of a static payload type, `None` for unassigned
/// and dynamic (96..=127) types.
pub fn static_codec(pt: u8) -> Option<(&'static str, u32)> {
    STATIC
        .iter()
        .find(|(n, _, _)| *n == pt)
        .map(|(_, name, rate)| (*name, *rate))
}

/// Clock rates Wireshark 4.0 assumes for dynamic payloads whose SDP name is
/// known but whose rtpmap gave no rate. Matched as a case-insensitive prefix,
/// longest table entry tried first (Wireshark scans its sorted table backwards).
const DYNAMIC_BY_NAME: &[(&str, u32)] = &[
    ("AMR", 8000),
    ("AMR-WB", 16000),
    ("BMPEG", 90000),
    ("BT656", 90000),
    ("DV", 90000),
    ("EVRC", 8000),
    ("EVRC0", 8000),
    ("EVRC1", 8000),
    ("EVRCB", 8000),
    ("EVRCB0", 8000),
    ("EVRCB1", 8000),
    ("EVRCWB", 16000),
    ("EVRCWB0", 16000),
    ("EVRCWB1", 16000),
    ("EVS", 16000),
    ("G7221", 16000),
    ("G726-16", 8000),
    ("G726-24", 8000),
    ("G726-32", 8000),
    ("G726-40", 8000),
    ("G729D", 8000),
    ("G729E", 8000),
    ("GSM-EFR", 8000),
    ("H263-1998", 90000),
    ("H263-2000", 90000),
    ("H264", 90000),
    ("MP1S", 90000),
    ("MP2P", 90000),
    ("MP4V-ES", 90000),
    ("mpa-robust", 90000),
    ("pointer", 90000),
    ("raw", 90000),
    ("red", 1000),
    ("SMV", 8000),
    ("SMV0", 8000),
    ("t140", 1000),
    ("telephone-event", 8000),
];

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Wireshark's fallback clock for a dynamic payload known only by name.
pub fn dynamic_clock_by_name(name: &str) -> Option<u32> {
    DYNAMIC_BY_NAME
        .iter()
        .rev()
        .find(|(prefix, _)| starts_with_ignore_case(name, prefix))
        .map(|(_, rate)| *rate)
}

/// True for RFC 4733 telephone-event payload names.
pub fn is_telephone_event(name: &str) -> bool {
    starts_with_ignore_case(name, "telephone-event")
}

/// The clock rate Wireshark 4.0 uses for one packet in its stream analysis;
/// `None` means "unknown", for which Wireshark computes no jitter.
///
/// * PT below 96: the static table only (an SDP rtpmap is ignored).
/// * PT 96 and above: nothing without an SDP mapping (`rtpmap` = name and
///   rate from `a=rtpmap`, rate 0 when absent); `telephone-event` has no clock
///   on purpose (its timestamp does not advance during an event); otherwise
///   the rtpmap rate, else the name table.
///
/// Rates below 1000 Hz are reported as unknown: Wireshark divides by
/// `rate / 1000` in integer arithmetic and would divide by zero.
pub fn wireshark_clock_rate(pt: u8, rtpmap: Option<(&str, u32)>) -> Option<u32> {
    let rate = if pt < 96 {
        static_codec(pt).map(|(_, rate)| rate)
    } else {
        let (name, rate) = rtpmap?;
        if is_telephone_event(name) {
            None
        } else if rate != 0 {
            Some(rate)
        } else {
            dynamic_clock_by_name(name)
        }
    };
    rate.filter(|r| *r >= 1000)
}

/// E-model parameters of G.711 when the receiver has no packet loss
/// concealment (G.113 Appendix I: Ie = 0, Bpl = 4.3).
pub const G711_WITHOUT_PLC: (f64, f64) = (0.0, 4.3);

/// Equipment impairment `Ie` and packet-loss robustness `Bpl` for a codec
/// name (SDP encoding name or static name, case-insensitive), assuming the
/// usual packet loss concealment.
///
/// Values from ITU-T G.113 Appendix I (narrowband E-model): G.711 with PLC
/// (0, 25.1); G.729A + VAD (11, 19.0); G.723.1 6.3k + VAD (15, 16.1);
/// GSM-EFR (5, 10.0). The others are not in G.113's table and are common
/// planning estimates: GSM full rate (20, 10.0), iLBC (11, 32.0), AMR 12.2
/// (5, 10.0), G.726-32 (7, 20.0), Speex (11, 20.0); wideband codecs judged on the narrowband scale
/// (G.722, Opus, AMR-WB, EVS, L16) are treated as transparent (0, 25.1).
/// Unknown codecs get the G.711 figures.
pub fn codec_impairment(name: &str) -> (f64, f64) {
    let upper = name.to_ascii_uppercase();
    let n = upper.as_str();
    if n.starts_with("G729") {
        (11.0, 19.0)
    } else if n.starts_with("G723") {
        (15.0, 16.1)
    } else if n.starts_with("GSM-EFR") || n == "AMR" || n.starts_with("AMR/") {
        (5.0, 10.0)
    } else if n.starts_with("GSM") {
        (20.0, 10.0)
    } else if n.starts_with("ILBC") {
        (11.0, 32.0)
    } else if n.starts_with("G726") || n.starts_with("AAL2-G726") {
        (7.0, 20.0)
    } else if n.starts_with("SPEEX") {
        (11.0, 20.0)
    } else {
        (0.0, 25.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_table() {
        assert_eq!(static_codec(0), Some(("PCMU", 8000)));
        assert_eq!(static_codec(8), Some(("PCMA", 8000)));
        assert_eq!(static_codec(9), Some(("G722", 8000)));
        assert_eq!(static_codec(18), Some(("G729", 8000)));
        assert_eq!(static_codec(34), Some(("H263", 90000)));
        assert_eq!(static_codec(10), Some(("L16", 44100)));
        assert_eq!(static_codec(20), None);
        assert_eq!(static_codec(96), None);
    }

    #[test]
    fn wireshark_clock_rules() {
        assert_eq!(wireshark_clock_rate(0, None), Some(8000));
        // Static PT ignores SDP.
        assert_eq!(wireshark_clock_rate(9, Some(("G722", 16000))), Some(8000));
        assert_eq!(wireshark_clock_rate(20, None), None);
        assert_eq!(wireshark_clock_rate(96, None), None);
        assert_eq!(
            wireshark_clock_rate(96, Some(("speex", 16000))),
            Some(16000)
        );
        assert_eq!(
            wireshark_clock_rate(101, Some(("telephone-event", 8000))),
            None
        );
        assert_eq!(wireshark_clock_rate(97, Some(("AMR-WB", 0))), Some(16000));
        assert_eq!(wireshark_clock_rate(97, Some(("amr", 0))), Some(8000));
        assert_eq!(wireshark_clock_rate(97, Some(("opus", 0))), None);
        assert_eq!(wireshark_clock_rate(97, Some(("x", 500))), None);
    }

    #[test]
    fn impairments() {
        assert_eq!(codec_impairment("PCMU"), (0.0, 25.1));
        assert_eq!(codec_impairment("g729"), (11.0, 19.0));
        assert_eq!(codec_impairment("G723"), (15.0, 16.1));
        assert_eq!(codec_impairment("GSM"), (20.0, 10.0));
        assert_eq!(codec_impairment("GSM-EFR"), (5.0, 10.0));
        assert_eq!(codec_impairment("iLBC"), (11.0, 32.0));
        assert_eq!(codec_impairment("opus"), (0.0, 25.1));
    }
}
