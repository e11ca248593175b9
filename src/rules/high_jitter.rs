//! high_jitter: RTP streams whose interarrival jitter exceeds the thresholds.

use crate::model::{Finding, Severity};

use super::packet_loss::{describe, quality};
use super::{Context, Rule, clip};

pub(super) fn rule() -> Rule {
    Rule {
        id: "high_jitter",
        summary: "RTP mean or max jitter above the thresholds",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks the RFC 3550 interarrival jitter of every RTP stream of at least \
min_stream_packets packets: mean jitter at or above jitter_warning_ms (30 ms) or max jitter at or above \
max_jitter_warning_ms (100 ms) is a warning; mean at or above jitter_error_ms (50 ms) or max at or above \
max_jitter_error_ms (250 ms) an error.\n\nWhy: jitter beyond the receiver's jitter buffer turns into \
late (discarded) packets: choppy or robotic audio.\n\nWhat to do: look for congestion on the path \
(uplink saturation, Wi-Fi), enable QoS (DSCP EF) for RTP, and capture at the other end to locate it.";

fn run(ctx: &Context) -> Vec<Finding> {
    let t = ctx.thresholds;
    let mut out = Vec::new();
    for s in ctx
        .analysis
        .streams
        .iter()
        .filter(|s| s.packets >= t.min_stream_packets)
    {
        let (mean, max) = (s.mean_jitter_ms, s.max_jitter_ms);
        if !(mean >= t.jitter_warning_ms || max >= t.max_jitter_warning_ms) {
            continue;
        }
        let sev = if mean >= t.jitter_error_ms || max >= t.max_jitter_error_ms {
            Severity::Error
        } else {
            Severity::Warning
        };
        let detail = format!(
            "{}: mean jitter {mean:.1} ms, max {max:.1} ms (warning at {} / {} ms); largest gap between packets {:.1} ms at frame {}.",
            describe(ctx, s),
            t.jitter_warning_ms,
            t.max_jitter_warning_ms,
            s.max_delta_ms,
            s.max_delta_frame
        );
        let title = format!(
            "High jitter on RTP {} -> {} (mean {mean:.0} ms, max {max:.0} ms)",
            clip(&s.src),
            clip(&s.dst)
        );
        out.push(quality(
            ctx,
            s,
            "high_jitter",
            sev,
            title,
            detail,
            "RFC 3550 §6.4.1 (interarrival jitter)",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn jittery(mean: f64, max: f64) -> Vec<Finding> {
        let mut a = analysis();
        let mut s = stream(1, "10.0.0.21:12000", "10.0.0.10:40000", 500);
        s.mean_jitter_ms = mean;
        s.max_jitter_ms = max;
        a.streams.push(s);
        check(super::run, &a)
    }

    #[test]
    fn severities() {
        assert_eq!(jittery(55.0, 90.0)[0].severity, Severity::Error);
        assert_eq!(jittery(35.0, 90.0)[0].severity, Severity::Warning);
        assert_eq!(jittery(5.0, 120.0)[0].severity, Severity::Warning);
        assert_eq!(jittery(5.0, 300.0)[0].severity, Severity::Error);
        assert!(jittery(5.0, 40.0).is_empty());
        assert!(check(super::run, &healthy_analysis()).is_empty());
    }
}
