//! no_audio: an answered call where no media flowed in either negotiated direction.

use crate::model::{Finding, Severity};

use super::kb::{KB_LOGS, KB_VOICE};
use super::one_way_audio::{
    answered_window, directions, media_evidence, private_announcement, side_steps,
};
use super::{Context, Draft, Rule};

pub(super) fn rule() -> Rule {
    Rule {
        id: "no_audio",
        summary: "answered call with no media in any negotiated direction",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks every answered call that lasted at least min_answered_s: every \
negotiated direction carried fewer than silent_max_packets RTP packets. A call put on hold from the start \
(inactive) is not a fault.\n\nWhy: both parties hear nothing. On trunk calls the causes are those of one-way \
audio on both sides: private SDP addresses (trunk option \"Use the private IP address to communicate with \
this trunk\"), the trunk requiring the PBX IP whitelisted for RTP, the cloud security group blocking the \
PBX RTP port range. When the capture holds no RTP at all, the capture itself may have been filtered \
(e.g. `tcpdump port 5060`).\n\nWhat to do: check the SDP addresses of the call, then firewalls and \
whitelists; recapture with `tcpdump -i any -w x.pcap` on the PBX (no port filter) and keep the call 5-10 s \
after the issue.";

fn run(ctx: &Context) -> Vec<Finding> {
    let t = ctx.thresholds;
    let no_rtp_at_all = ctx.analysis.streams.is_empty() && ctx.analysis.stats.rtp_packets == 0;
    let mut out = Vec::new();
    for call in &ctx.analysis.calls {
        let Some((start, end)) = answered_window(ctx, call) else {
            continue;
        };
        if (end.saturating_sub(start) as f64) < t.min_answered_s * 1e9 {
            continue;
        }
        let dirs = directions(ctx, call);
        let negotiated: Vec<_> = dirs.iter().filter(|d| d.negotiated).collect();
        if negotiated.is_empty() || negotiated.iter().any(|d| d.packets >= t.silent_max_packets) {
            continue;
        }
        let (caller, callee) = (ctx.party(&call.caller_addr), ctx.party(&call.callee_addr));
        let mut detail = format!(
            "Answered for {:.1} s between {caller} and {callee}, but no RTP was seen in any negotiated \
             direction ({}).",
            end.saturating_sub(start) as f64 / 1e9,
            negotiated
                .iter()
                .map(|d| format!("{}: {} packets", d.name, d.packets))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for d in &negotiated {
            if let Some(cause) = private_announcement(ctx, call, d) {
                detail.push_str(&format!(" {cause} (see private_ip_in_sdp)."));
            }
        }
        let (severity, title, kb) = if no_rtp_at_all {
            detail.push_str(
                " The capture holds no RTP at all: either no media flowed, or the capture was filtered to SIP only.",
            );
            (
                Severity::Warning,
                format!(
                    "No audio seen on an answered call ({caller} -> {callee}); no RTP in the capture"
                ),
                KB_LOGS,
            )
        } else {
            (
                Severity::Error,
                format!("No audio in either direction ({caller} <-> {callee})"),
                KB_VOICE,
            )
        };
        let mut d = Draft::new("no_audio", severity, title)
            .call(&call.call_id)
            .detail(detail)
            .frames(media_evidence(call, &dirs))
            .kb(kb)
            .at(start);
        if no_rtp_at_all {
            d = d.step("Recapture on the PBX without a port filter: `tcpdump -i any -w x.pcap`, reproduce, keep the call 5-10 s, then stop.");
        }
        d = d.step(
            "In the trunk Options, \"Use the private IP address to communicate with this trunk\" must be OFF for a trunk on the public Internet.",
        );
        d = d.steps(side_steps(ctx, &call.callee_addr, &call.caller_addr));
        out.push(d.build());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn go(c: crate::model::Call, rtp_elsewhere: bool) -> Vec<Finding> {
        let mut a = analysis();
        a.calls.push(c);
        if !rtp_elsewhere {
            a.stats.rtp_packets = 0;
        }
        run_one(&a)
    }

    fn run_one(a: &crate::model::Analysis) -> Vec<Finding> {
        check(super::run, a)
    }

    #[test]
    fn fires_when_both_directions_silent() {
        let c = call("n", "192.0.2.10:5060", "203.0.113.5:5060")
            .packets(0, 0)
            .packets(1, 2)
            .build();
        let f = go(c, true);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
    }

    #[test]
    fn warns_when_capture_has_no_rtp_at_all() {
        let c = call("n", "192.0.2.10:5060", "203.0.113.5:5060")
            .packets(0, 0)
            .packets(1, 0)
            .build();
        let f = go(c, false);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].detail.contains("filtered"));
    }

    #[test]
    fn silent_on_inactive_hold_one_way_and_healthy() {
        let hold = call("h", "192.0.2.10:5060", "203.0.113.5:5060")
            .packets(0, 0)
            .packets(1, 0)
            .media(0, |m| m.negotiated = false)
            .media(1, |m| m.negotiated = false)
            .build();
        assert!(go(hold, true).is_empty());
        let one = call("o", "192.0.2.10:5060", "203.0.113.5:5060")
            .packets(1, 0)
            .build();
        assert!(go(one, true).is_empty());
        assert!(run_one(&healthy_analysis()).is_empty());
    }
}
