//! late_media: the first RTP of a direction arrived long after the call was answered.

use crate::model::{Finding, Severity};

use super::one_way_audio::{directions, media_evidence};
use super::{Context, Draft, Rule, direction_parties, secs};

pub(super) fn rule() -> Rule {
    Rule {
        id: "late_media",
        summary: "first RTP of a direction more than late_media_s after answer",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks every answered call: in a negotiated direction that carried media, \
the first RTP packet came more than late_media_s (2 s) after the 200 OK. Early media (before answer) is \
fine.\n\nWhy: the first words are lost (\"hello?\"). Common causes: a NAT or firewall that opens the media \
path only after the other side sends (symmetric RTP latching), a media server or trunk slow to start \
the stream, ICE checks.\n\nWhat to do: check NAT traversal settings on the side that started late, \
that the SDP addresses are reachable (private_ip_in_sdp), and ask the trunk provider if the trunk is \
the late side.";

fn run(ctx: &Context) -> Vec<Finding> {
    let limit = (ctx.thresholds.late_media_s * 1e9) as i64;
    let mut out = Vec::new();
    for call in &ctx.analysis.calls {
        let Some(answer) = call.answer_ns else {
            continue;
        };
        let dirs = directions(ctx, call);
        for d in dirs
            .iter()
            .filter(|d| d.negotiated && d.packets >= ctx.thresholds.silent_max_packets)
        {
            let Some(first) = d.first_ns else { continue };
            if first.saturating_sub(answer) <= limit {
                continue;
            }
            let (sender, receiver) = direction_parties(call, &d.name);
            out.push(
                Draft::new("late_media", Severity::Warning, format!("Media {} started {} after answer", d.name, secs(first.saturating_sub(answer))))
                    .call(&call.call_id)
                    .detail(format!(
                        "The call was answered, but the first RTP from {} to {} came {} later: the first words are lost.",
                        ctx.party(sender),
                        ctx.party(receiver),
                        secs(first.saturating_sub(answer))
                    ))
                    .frames(media_evidence(call, std::slice::from_ref(d)))
                    .step(format!("Check NAT traversal on the side of {}: media that starts only after the other side sends points to NAT latching or a firewall.", ctx.party(sender)))
                    .step("If the trunk is the late side, report it to the trunk provider with the Call-ID and time.")
                    .kb("RFC 3264 (media after answer)")
                    .at(first)
                    .build(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    #[test]
    fn late_direction_only() {
        let mut a = analysis();
        a.calls.push(
            call("l", "192.0.2.10:5060", "203.0.113.5:5060")
                .media(1, |m| m.first_ns = m.first_ns.map(|t| t + 3 * SEC))
                .build(),
        );
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert!(f[0].title.contains("callee->caller"));
        assert!(check(super::run, &healthy_analysis()).is_empty());
    }
}
