//! slow_setup: long post-dial delay (INVITE to first 18x).

use crate::model::{Finding, Severity};

use super::{Context, Draft, Rule, message_frames};

pub(super) fn rule() -> Rule {
    Rule {
        id: "slow_setup",
        summary: "post-dial delay above setup_delay_warning_s",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks the post-dial delay of every call (first INVITE to the first 18x, \
or to the final response when no 18x came): above setup_delay_warning_s (8 s) is a warning.\n\nWhy: \
callers hang up on silence. Causes: INVITE retransmissions (lost packets, a slow or overloaded far end), \
slow DNS resolution of the trunk, slow routing at the trunk, or the PBX ringing unregistered devices \
first.\n\nWhat to do: look at the INVITE retransmissions and at which hop answered late; check DNS \
(dns_failure) and the trunk's response times.";

fn run(ctx: &Context) -> Vec<Finding> {
    let limit_ms = ctx.thresholds.setup_delay_warning_s * 1000.0;
    let mut out = Vec::new();
    for call in &ctx.analysis.calls {
        let Some(ms) = call.setup_delay_ms.filter(|ms| *ms > limit_ms) else {
            continue;
        };
        let retrans = if call.invite_transmissions > 1 {
            format!(" The INVITE was sent {} times.", call.invite_transmissions)
        } else {
            String::new()
        };
        out.push(
            Draft::new("slow_setup", Severity::Warning, format!("Slow call setup: {:.1} s to the first response from {}", ms / 1000.0, ctx.party(&call.callee_addr)))
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
        a.calls.push(
            call("s", "192.0.2.10:5060", "203.0.113.5:5060")
                .edit(|c| c.setup_delay_ms = Some(9500.0))
                .build(),
        );
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(check(super::run, &healthy_analysis()).is_empty());
    }
}
