//! packet_loss: RTP streams that lost packets (seen in the capture, or reported by the far end in RTCP).

use crate::model::{Finding, Severity, Stream};

use super::{Context, Draft, Rule, clip, stream_filter};

pub(super) fn rule() -> Rule {
    Rule {
        id: "packet_loss",
        summary: "RTP stream loss above loss_warning_percent / loss_error_percent",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks every RTP stream of at least min_stream_packets packets: lost \
packets (expected from the sequence numbers minus received, as Wireshark counts them) at or above \
loss_warning_percent (0.5 %) is a warning, at or above loss_error_percent (5 %) an error. RTCP receiver \
reports showing loss the capture did not see are reported too (the loss happened after the capture \
point).\n\nWhy: a healthy VoIP path loses well under 0.1 % (ITU-T Y.1541); from 0.5 % the network is \
degraded and concealment starts to be heard (around 1 % for G.711, less for compressed codecs); above \
5 % speech breaks up.\n\nWhat to do: the \
loss happened on the path before the capture point (for a stream from the trunk: the Internet link or the \
provider). Check the bandwidth and load of the Internet link, QoS (DSCP EF for RTP), Wi-Fi on the phone \
side; capture at the other end too to locate it.";

/// "RTP 203.0.113.5:30000 -> 192.0.2.10:40000 (SSRC 0x.., PCMU, 1000 packets)".
pub(super) fn describe(ctx: &Context, s: &Stream) -> String {
    format!(
        "RTP {} -> {} (SSRC {}, {}, {} packets)",
        ctx.party(&s.src),
        ctx.party(&s.dst),
        clip(&s.ssrc),
        clip(&s.codec),
        s.packets
    )
}

/// A stream quality finding with the common next steps.
pub(super) fn quality(
    ctx: &Context,
    s: &Stream,
    rule: &str,
    sev: Severity,
    title: String,
    detail: String,
    kb: &str,
) -> Finding {
    let mut d = Draft::new(rule, sev, title)
        .detail(detail)
        .frames([s.first_frame, s.max_delta_frame, s.last_frame])
        .filter(stream_filter(s))
        .kb(kb)
        .at(s.start_ns);
    if let Some(id) = &s.call_id {
        d = d.call(id);
    }
    let upstream = if ctx.is_trunk(&s.src) {
        "The stream comes from the trunk: the degradation happened on the Internet path or at the provider; check the PBX's Internet link load and ask the trunk provider."
    } else {
        "The degradation happened between the sender and the capture point: check the LAN/Wi-Fi and the uplink of the sending side."
    };
    d.step(upstream)
        .step("Check the bandwidth and load of the links on the way and QoS (DSCP EF for RTP); capture at the other end too to locate the fault.")
        .build()
}

fn run(ctx: &Context) -> Vec<Finding> {
    let t = ctx.thresholds;
    let mut out = Vec::new();
    for s in ctx
        .analysis
        .streams
        .iter()
        .filter(|s| s.expected.max(s.packets) >= t.min_stream_packets)
    {
        let seen = s.lost_percent;
        let reported = s
            .rtcp
            .as_ref()
            .map(|r| r.max_fraction_lost_percent)
            .unwrap_or(0.0);
        let worst = seen.max(reported);
        if worst.is_nan() || worst < t.loss_warning_percent {
            continue;
        }
        let sev = if worst >= t.loss_error_percent {
            Severity::Error
        } else {
            Severity::Warning
        };
        let mut detail = format!(
            "{}: {} of {} expected packets lost ({seen:.1} %) in the capture.",
            describe(ctx, s),
            s.lost.max(0),
            s.expected
        );
        if reported > seen && reported >= t.loss_warning_percent {
            detail.push_str(&format!(" The receiver reported up to {reported:.1} % loss in RTCP: packets were lost after the capture point too."));
        }
        let title = format!(
            "Packet loss {worst:.1} % on RTP {} -> {}",
            clip(&s.src),
            clip(&s.dst)
        );
        out.push(quality(
            ctx,
            s,
            "packet_loss",
            sev,
            title,
            detail,
            "RFC 3550 §6.4.1 (loss); ITU-T G.113",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn lossy(pct: f64, packets: u64) -> crate::model::Analysis {
        let mut a = analysis();
        let mut s = stream(3, "203.0.113.5:30000", "192.0.2.10:40000", packets);
        s.lost_percent = pct;
        s.expected = packets + (packets as f64 * pct / 100.0) as u64;
        s.lost = (s.expected - packets) as i64;
        s.call_id = Some("c".into());
        a.streams.push(s);
        a
    }

    #[test]
    fn thresholds_pick_the_severity() {
        assert_eq!(
            check(super::run, &lossy(7.4, 1000))[0].severity,
            Severity::Error
        );
        // A PBX in the capture makes the public source a trunk.
        let mut with_pbx = lossy(2.0, 1000);
        with_pbx
            .calls
            .push(call("c", "192.0.2.10:5060", "203.0.113.5:5060").build());
        let f = check(super::run, &with_pbx);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].wireshark_filter.contains("rtp.ssrc == 0x11223344"));
        assert!(f[0].next_steps[0].contains("trunk"));
        assert_eq!(
            check(super::run, &lossy(0.7, 1000))[0].severity,
            Severity::Warning
        );
        assert!(check(super::run, &lossy(0.3, 1000)).is_empty());
        assert!(
            check(super::run, &lossy(20.0, 10)).is_empty(),
            "too short to judge"
        );
    }

    #[test]
    fn rtcp_reported_loss() {
        let mut a = lossy(0.0, 1000);
        a.streams[0].rtcp = Some(crate::model::RtcpSummary {
            max_fraction_lost_percent: 3.0,
            ..Default::default()
        });
        let f = check(super::run, &a);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].detail.contains("RTCP"));
    }
}
