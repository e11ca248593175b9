//! poor_mos: RTP streams whose estimated MOS falls below the G.107 satisfaction bands.

use crate::model::{Finding, Severity};

use super::packet_loss::{describe, quality};
use super::{Context, Rule, clip};

pub(super) fn rule() -> Rule {
    Rule {
        id: "poor_mos",
        summary: "RTP stream MOS below mos_warning (3.6) / mos_error (3.1)",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks the MOS estimated for every RTP stream of at least \
min_stream_packets packets (E-model, ITU-T G.107, from codec, loss and jitter): below mos_warning (3.6, \
\"many users dissatisfied\") is a warning, below mos_error (3.1, \"nearly all users dissatisfied\") an \
error.\n\nWhy: the MOS sums up what the user hears; it falls with loss, jitter and low-rate codecs.\n\n\
What to do: see packet_loss and high_jitter for the contributors; with a good network and a low MOS, \
prefer G.711 or a wideband codec. A stream whose loss or jitter is already reported by packet_loss or \
high_jitter is not reported again here: the low MOS is their consequence.";

fn run(ctx: &Context) -> Vec<Finding> {
    let t = ctx.thresholds;
    let mut out = Vec::new();
    for s in ctx
        .analysis
        .streams
        .iter()
        .filter(|s| s.packets >= t.min_stream_packets)
    {
        let Some(mos) = s.mos.filter(|m| m.is_finite() && *m < t.mos_warning) else {
            continue;
        };
        if explained(t, s) {
            continue;
        }
        let sev = if mos < t.mos_error {
            Severity::Error
        } else {
            Severity::Warning
        };
        let detail = format!(
            "{}: estimated MOS {mos:.2}{} (loss {:.1} %, mean jitter {:.1} ms); below {} many users are dissatisfied, below {} nearly all.",
            describe(ctx, s),
            s.r_factor
                .map(|r| format!(", R-factor {r:.0}"))
                .unwrap_or_default(),
            s.lost_percent,
            s.mean_jitter_ms,
            t.mos_warning,
            t.mos_error
        );
        let title = format!(
            "Poor voice quality (MOS {mos:.2}) on RTP {} -> {}",
            clip(&s.src),
            clip(&s.dst)
        );
        out.push(quality(
            ctx,
            s,
            "poor_mos",
            sev,
            title,
            detail,
            "ITU-T G.107 (E-model) user-satisfaction bands",
        ));
    }
    out
}

/// The low MOS follows from loss or jitter that packet_loss or high_jitter already report on this
/// stream: one finding per cause, not two.
fn explained(t: &super::Thresholds, s: &crate::model::Stream) -> bool {
    let reported_loss = s
        .rtcp
        .as_ref()
        .map(|r| r.max_fraction_lost_percent)
        .unwrap_or(0.0);
    s.lost_percent.max(reported_loss) >= t.loss_warning_percent
        || s.mean_jitter_ms >= t.jitter_warning_ms
        || s.max_jitter_ms >= t.max_jitter_warning_ms
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn bands() {
        let go = |mos: f64| {
            let mut a = analysis();
            let mut s = stream(1, "10.0.0.21:12000", "10.0.0.10:40000", 500);
            s.mos = Some(mos);
            a.streams.push(s);
            check(super::run, &a)
        };
        assert_eq!(go(2.9)[0].severity, Severity::Error);
        assert_eq!(go(3.4)[0].severity, Severity::Warning);
        assert!(go(4.1).is_empty());
    }

    #[test]
    fn silent_when_loss_or_jitter_already_reported() {
        let mut a = analysis();
        let mut s = stream(1, "10.0.0.21:12000", "10.0.0.10:40000", 500);
        s.mos = Some(2.5);
        s.lost_percent = 6.0;
        a.streams.push(s);
        assert!(check(super::run, &a).is_empty());
        a.streams[0].lost_percent = 0.0;
        a.streams[0].mean_jitter_ms = 35.0;
        assert!(check(super::run, &a).is_empty());
    }
}
