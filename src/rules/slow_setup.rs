//! slow_setup: long post-dial delay (INVITE to first 18x).

use crate::model::{Call, Finding, Severity};

use super::{Context, Draft, Rule, message_frames};

pub(super) fn rule() -> Rule {
    Rule {
        id: "slow_setup",
        summary: "post-dial delay above setup_delay_warning_s",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks the post-dial delay of every call (first INVITE to the first 18x, \
or to the final response when no 18x came), measured from the INVITE that got that answer (a 401/407 \
challenge and the time the caller took to send credentials are not part of it): above \
setup_delay_warning_s (8 s) is a warning. Delays over 10 minutes are a clock jump in the capture, not a \
delay, and are ignored.\n\nWhy: \
callers hang up on silence. Causes: INVITE retransmissions (lost packets, a slow or overloaded far end), \
slow DNS resolution of the trunk, slow routing at the trunk, or the PBX ringing unregistered devices \
first.\n\nWhat to do: look at the INVITE retransmissions and at which hop answered late; check DNS \
(dns_failure) and the trunk's response times.";

/// Longer than any INVITE transaction may last (Timer C is 3 minutes, proxies seldom wait longer): the
/// capture's clock jumped, this is not a post-dial delay.
const IMPLAUSIBLE_MS: f64 = 600_000.0;

/// Status code of a response label ("180 Ringing" -> 180).
fn status_of(label: &str) -> Option<u16> {
    label.split(' ').next()?.parse().ok()
}

/// Post-dial delay of the INVITE that got the first ringing or final answer: an authentication
/// challenge (401/407) and the time the caller took to send credentials are not part of it.
fn post_dial_delay_ms(call: &Call) -> Option<f64> {
    let reply = call.messages.iter().find(|m| {
        m.cseq_method == "INVITE"
            && status_of(&m.label).is_some_and(|c| c >= 180 && c != 401 && c != 407)
    });
    let Some(reply) = reply else {
        return call.setup_delay_ms;
    };
    let sent = call
        .messages
        .iter()
        .find(|m| m.label == "INVITE" && m.cseq == reply.cseq)
        .map_or(call.start_ns, |m| m.time_ns);
    Some(reply.time_ns.saturating_sub(sent) as f64 / 1e6)
}

fn run(ctx: &Context) -> Vec<Finding> {
    let limit_ms = ctx.thresholds.setup_delay_warning_s * 1000.0;
    let mut out = Vec::new();
    for call in &ctx.analysis.calls {
        let Some(ms) = post_dial_delay_ms(call).filter(|ms| *ms > limit_ms && *ms < IMPLAUSIBLE_MS)
        else {
            continue;
        };
        let retrans = if call.invite_transmissions > 1 {
            format!(" The INVITE was sent {} times.", call.invite_transmissions)
        } else {
            String::new()
        };
        out.push(
            Draft::new("slow_setup", Severity::Warning, format!("Slow call setup: {:.1} s before ringing or a final response from {}", ms / 1000.0, ctx.party(&call.callee_addr)))
                .call(&call.call_id)
                .detail(format!("{} -> {}: {:.1} s between the INVITE and the first ringing (or final) response.{retrans}", ctx.party(&call.caller_addr), ctx.party(&call.callee_addr), ms / 1000.0))
                .frames(message_frames(call, &["INVITE", "18", "2", "3", "4", "5", "6"]).into_iter().take(6))
                .step("See which hop answered late: INVITE retransmissions point to loss or an overloaded far end; a late 18x from the trunk is the provider's routing.")
                .step("Check the DNS resolution of the trunk domain on the PBX (slow or failing lookups delay every call).")
                .kb("RFC 6076 §4.1 (post-dial delay)")
                .at(call.start_ns)
                .build(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn slow_is_warning() {
        let mut a = analysis();
        let late = |dt: i64| {
            move |c: &mut crate::model::Call| {
                let t0 = c.start_ns;
                for m in c.messages.iter_mut().filter(|m| m.label == "180 Ringing") {
                    m.time_ns = t0 + dt;
                }
            }
        };
        a.calls.push(
            call("s", "192.0.2.10:5060", "203.0.113.5:5060")
                .edit(late(9500 * MS))
                .build(),
        );
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(check(super::run, &healthy_analysis()).is_empty());
        // A clock jump of years is not a delay.
        a.calls[0] = call("j", "192.0.2.10:5060", "203.0.113.5:5060")
            .edit(late(200_000_000 * SEC))
            .build();
        assert!(check(super::run, &a).is_empty());
    }

    #[test]
    fn the_time_to_answer_a_challenge_is_not_post_dial_delay() {
        let mut a = analysis();
        a.calls.push(
            call("c", "192.0.2.10:5060", "203.0.113.5:5060")
                .edit(|c| {
                    let t0 = c.start_ns;
                    // INVITE (cseq 1) -> 407, the caller retries 17 s later (cseq 2), rings at once.
                    c.messages = vec![
                        msg(
                            1,
                            t0,
                            "192.0.2.10:5060",
                            "203.0.113.5:5060",
                            "INVITE",
                            "INVITE",
                            true,
                        ),
                        msg(
                            2,
                            t0 + 150 * MS,
                            "203.0.113.5:5060",
                            "192.0.2.10:5060",
                            "407 Proxy Authentication Required",
                            "INVITE",
                            false,
                        ),
                        msg(
                            4,
                            t0 + 17 * SEC,
                            "192.0.2.10:5060",
                            "203.0.113.5:5060",
                            "INVITE",
                            "INVITE",
                            true,
                        ),
                        msg(
                            5,
                            t0 + 17 * SEC + 300 * MS,
                            "203.0.113.5:5060",
                            "192.0.2.10:5060",
                            "180 Ringing",
                            "INVITE",
                            false,
                        ),
                    ];
                    c.messages[2].cseq = 2;
                    c.messages[3].cseq = 2;
                    c.setup_delay_ms = Some(17_300.0);
                })
                .build(),
        );
        assert!(check(super::run, &a).is_empty());
    }
}
