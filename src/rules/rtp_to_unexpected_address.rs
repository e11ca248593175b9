//! rtp_to_unexpected_address: RTP of a call sent to or coming from another address than the SDP said.

use crate::model::{Call, Finding, Severity};

use super::one_way_audio::media_evidence;
use super::{Context, Draft, Rule, clip, direction_parties, same_endpoint};

pub(super) fn rule() -> Rule {
    Rule {
        id: "rtp_to_unexpected_address",
        summary: "RTP sent to / coming from an address other than the SDP announced",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Compares, per media direction, where the SDP said to send (the receiver's \
announced address) with where the packets really went, and the sender's announced address with where \
they really came from.\n\nWhy: packets coming from another address than announced mean NAT in the path \
(info: symmetric RTP / latching copes with it; warning when the reverse direction is silent, because \
the other side keeps sending to the announced, unreachable address). Packets sent to another address \
than announced mean a relay or a misrouted stream (warning). A private or loopback announced address replaced \
by a routable one is NAT (or one machine) that private_ip_in_sdp already judges: info here.\n\nWhat to do: enable symmetric RTP / NAT \
traversal on the side receiving from the NAT'd party, or fix the announced address (trunk Options \"Use \
the private IP address to communicate with this trunk\", phone STUN).";

fn run(ctx: &Context) -> Vec<Finding> {
    ctx.analysis
        .calls
        .iter()
        .flat_map(|c| per_call(ctx, c))
        .collect()
}

fn per_call(ctx: &Context, call: &Call) -> Vec<Finding> {
    let mut out = Vec::new();
    for m in call.media.iter().filter(|m| m.packets > 0) {
        let reverse = call.media.iter().find(|o| o.direction != m.direction);
        let (sender, receiver) = direction_parties(call, &m.direction);
        let announced_src = reverse.and_then(|o| o.sdp_dst.as_deref());
        let evidence = || media_evidence(call, &[]);
        if let (Some(sdp), Some(obs)) = (m.sdp_dst.as_deref(), m.observed_dst.as_deref())
            && !same_endpoint(sdp, obs)
        {
            // A private announced address replaced by a public one: the sender latched onto the NAT
            // address (symmetric RTP). private_ip_in_sdp reports the cause.
            let latched = behind_nat(ctx, sdp, obs);
            let (sev, note) = if latched {
                (
                    Severity::Info,
                    " The announced address is private and the packets went to a public one: the sender answered to where the media came from (symmetric RTP), which rescues NAT; see private_ip_in_sdp.",
                )
            } else {
                (Severity::Warning, "")
            };
            out.push(
                    Draft::new("rtp_to_unexpected_address", sev, format!("RTP {} sent to {} instead of {}", m.direction, clip(obs), clip(sdp)))
                        .call(&call.call_id)
                        .detail(format!("SDP said send to {} (announced by {}), packets went to {} ({} packets).{note}", clip(sdp), ctx.party(receiver), clip(obs), m.packets))
                        .frames(evidence())
                        .step(format!("Check how {} picks the media destination (media relay, NAT, re-INVITE not applied).", ctx.party(sender)))
                        .kb("RFC 3264 §5 (SDP connection address)")
                        .at(m.first_ns.unwrap_or(call.start_ns))
                        .build(),
                );
        }
        if let (Some(sdp), Some(obs)) = (announced_src, m.observed_src.as_deref())
            && !same_endpoint(sdp, obs)
        {
            let reverse_silent = reverse
                .is_some_and(|o| o.negotiated && o.packets < ctx.thresholds.silent_max_packets);
            // A private announced source seen as a public one is the NAT that private_ip_in_sdp
            // reports (as an error when the reverse direction is silent): context here.
            let sev = if reverse_silent && !behind_nat(ctx, sdp, obs) {
                Severity::Warning
            } else {
                Severity::Info
            };
            out.push(
                    Draft::new("rtp_to_unexpected_address", sev, format!("RTP {} comes from {} although SDP said {}", m.direction, clip(obs), clip(sdp)))
                        .call(&call.call_id)
                        .detail(format!(
                            "SDP said {} would send from {}, packets came from {}.{}",
                            ctx.party(sender),
                            clip(sdp),
                            clip(obs),
                            if behind_nat(ctx, sdp, obs) {
                                " The announced address is private or loopback and the packets carry another one (NAT, or both ends on one machine): private_ip_in_sdp reports the risk."
                            } else if reverse_silent {
                                " NAT in the path; the reverse direction is silent: the other side keeps sending to the announced address."
                            } else {
                                " NAT in the path; media flowed both ways (symmetric RTP)."
                            }
                        ))
                        .frames(evidence())
                        .step(format!("Enable symmetric RTP / NAT traversal on {} so it answers to where packets come from, or fix the address {} announces.", ctx.party(receiver), ctx.party(sender)))
                        .kb(super::kb::KB_VOICE)
                        .at(m.first_ns.unwrap_or(call.start_ns))
                        .build(),
                );
        }
    }
    out
}

/// The announced address is private and the observed one is not (NAT in between), or the host
/// announced its loopback address and the packets carry its real one (both ends on one machine).
fn behind_nat(ctx: &Context, announced: &str, observed: &str) -> bool {
    (ctx.is_private(announced) && !ctx.is_private(observed))
        || (super::is_loopback(announced) && !super::is_loopback(observed))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn nat_source_is_info_and_wrong_destination_is_warning() {
        let mut a = analysis();
        a.calls.push(
            call("n", "198.51.100.7:5060", "192.0.2.10:5060")
                .media(0, |m| m.observed_src = Some("198.51.100.7:61000".into()))
                .build(),
        );
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
        let mut b = analysis();
        b.calls.push(
            call("d", "192.0.2.10:5060", "203.0.113.5:5060")
                .media(0, |m| m.observed_dst = Some("203.0.113.6:30000".into()))
                .build(),
        );
        let f = check(super::run, &b);
        assert_eq!(f[0].severity, Severity::Warning);
        // Private SDP address, packets sent to the public one: symmetric RTP, private_ip_in_sdp's case.
        let mut c = analysis();
        c.calls.push(
            call("l", "192.0.2.10:5060", "198.51.100.7:5060")
                .media(0, |m| {
                    m.sdp_dst = Some("10.0.0.7:30000".into());
                    m.observed_dst = Some("198.51.100.7:30000".into());
                })
                .build(),
        );
        assert!(
            f[0].detail.contains("SDP said send to 203.0.113.5:30000"),
            "{}",
            f[0].detail
        );
        let g = check(super::run, &c);
        assert_eq!(g[0].severity, Severity::Info, "{g:#?}");
        assert!(check(super::run, &healthy_analysis()).is_empty());
    }
}
