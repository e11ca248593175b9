//! missing_ack: a 2xx to INVITE retransmitted because no ACK arrived (classic NAT / Contact problem).

use crate::model::{Call, Finding, Severity};

use super::{Context, Draft, Rule, clip, message_frames, secs};

pub(super) fn rule() -> Rule {
    Rule {
        id: "missing_ack",
        summary: "200 OK to INVITE retransmitted without ACK; call torn down after ~32 s",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks answered calls whose 200 OK to the INVITE was retransmitted \
ok_retransmissions (3) times or more: the ACK never reached the callee (error), or arrived late \
(warning). The callee gives up after 32 s (64*T1) and sends BYE.\n\nWhy: the caller sends the ACK to \
the Contact of the 200 OK; when that Contact (or the Via / Record-Route) holds a private or wrong \
address, or a SIP ALG rewrites it, the ACK goes nowhere. Calls drop after ~32 s.\n\nWhat to do: check the \
Contact header of the 200 OK and the Via of the INVITE, disable SIP ALG on the routers, and check the NAT \
settings of the PBX (public IP) and of the phone (NAT keep-alive, STUN).";

fn ok_frames(call: &Call) -> Vec<u64> {
    call.messages
        .iter()
        .filter(|m| m.cseq_method == "INVITE" && m.label.starts_with('2'))
        .map(|m| m.frame)
        .collect()
}

/// Most times one 2xx to an INVITE was sent again on the same hop (same CSeq, source and destination).
/// The same response relayed by a proxy, seen on another hop of a multi-hop capture, or the 2xx of
/// a re-INVITE, is not a retransmission.
fn ok_retransmissions(call: &Call) -> usize {
    let mut counts: std::collections::BTreeMap<(u32, &str, &str), usize> = Default::default();
    for m in call
        .messages
        .iter()
        .filter(|m| m.cseq_method == "INVITE" && m.label.starts_with('2'))
    {
        *counts
            .entry((m.cseq, m.src.as_str(), m.dst.as_str()))
            .or_default() += 1;
    }
    counts.values().max().map_or(0, |n| n.saturating_sub(1))
}

fn run(ctx: &Context) -> Vec<Finding> {
    let min = ctx.thresholds.ok_retransmissions as usize;
    let mut out = Vec::new();
    for call in ctx.analysis.calls.iter().filter(|c| c.answer_ns.is_some()) {
        let oks = ok_frames(call);
        let retrans = ok_retransmissions(call);
        if retrans < min {
            continue;
        }
        out.push(finding(ctx, call, retrans, oks));
    }
    out
}

fn finding(ctx: &Context, call: &Call, retrans: usize, oks: Vec<u64>) -> Finding {
    let answer = call.answer_ns.unwrap_or(call.start_ns);
    let acked = call
        .messages
        .iter()
        .any(|m| m.label == "ACK" && m.time_ns >= answer);
    let bye = call.messages.iter().find(|m| m.label == "BYE");
    let mut detail = format!(
        "{} sent the 200 OK {} times{}.",
        ctx.party(&call.callee_addr),
        retrans + 1,
        if acked {
            "; the ACK came only after the retransmissions"
        } else {
            " and no ACK came back"
        }
    );
    if let Some(b) = bye {
        detail.push_str(&format!(
            " {} sent BYE {} after the answer.",
            ctx.party(&b.src),
            secs(b.time_ns.saturating_sub(answer))
        ));
    }
    let (sev, title) = if acked {
        (
            Severity::Warning,
            format!("Late ACK: 200 OK retransmitted {retrans} times"),
        )
    } else {
        (
            Severity::Error,
            format!(
                "No ACK for the 200 OK from {}: call drops after ~32 s",
                ctx.party(&call.callee_addr)
            ),
        )
    };
    let contact_hint = if ctx.is_private(&call.callee_addr) && ctx.is_public(&call.caller_addr) {
        format!(
            " The callee {} is on a private address: its Contact is probably unreachable from the caller.",
            clip(&call.callee_addr)
        )
    } else {
        String::new()
    };
    detail.push_str(&contact_hint);
    let mut frames = oks;
    frames.extend(message_frames(call, &["ACK", "BYE"]));
    Draft::new("missing_ack", sev, title)
        .call(&call.call_id)
        .detail(detail)
        .frames(frames)
        .step("Check the Contact header of the 200 OK and the Via/Record-Route of the INVITE: the caller sends the ACK there, so it must be reachable (public address for a trunk).")
        .step("Disable SIP ALG on the routers on the way; check the PBX NAT / public IP settings and the phone's NAT keep-alive / STUN.")
        .kb("RFC 3261 §13.3.1.4 (2xx retransmission until ACK)")
        .at(answer)
        .build()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn with_oks(n: usize, ack: bool) -> crate::model::Analysis {
        let mut a = analysis();
        let c = call("k", "203.0.113.5:5060", "192.0.2.10:5060")
            .ua(TRUNK_UA, PBX_UA)
            .edit(|c| {
                c.messages.retain(|m| ack || m.label != "ACK");
                let ok = c.messages.iter().find(|m| m.label == "200 OK").cloned();
                for i in 1..n {
                    if let Some(mut m) = ok.clone() {
                        m.frame = 100 + i as u64;
                        m.time_ns += (500 << i) * MS;
                        m.retransmission = true;
                        c.messages.push(m);
                    }
                }
            });
        a.calls.push(c.build());
        a
    }

    #[test]
    fn retransmitted_ok_without_ack_is_error() {
        let f = check(super::run, &with_oks(7, false));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].detail.contains("7 times"));
    }

    #[test]
    fn late_ack_is_warning_and_normal_is_silent() {
        assert_eq!(
            check(super::run, &with_oks(4, true))[0].severity,
            Severity::Warning
        );
        assert!(check(super::run, &with_oks(2, true)).is_empty());
        assert!(check(super::run, &healthy_analysis()).is_empty());
    }

    #[test]
    fn the_same_ok_on_other_hops_is_not_a_retransmission() {
        let mut a = analysis();
        let c = call("h", "10.0.0.1:5060", "10.0.0.2:5060").edit(|c| {
            let ok = c.messages.iter().find(|m| m.label == "200 OK").cloned();
            for (i, hop) in ["10.0.1.1:5060", "10.0.2.1:5060", "10.0.3.1:5060"]
                .iter()
                .enumerate()
            {
                if let Some(mut m) = ok.clone() {
                    m.frame = 200 + i as u64;
                    m.src = (*hop).into();
                    c.messages.push(m);
                }
            }
        });
        a.calls.push(c.build());
        assert!(check(super::run, &a).is_empty());
    }
}
