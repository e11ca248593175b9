//! call_failed: every failed call, with the documented causes of its status and who produced it.

use crate::model::{Call, CallState, Finding, Severity};

use super::caller_id_rejected::verdict as caller_id_verdict;
use super::codec_mismatch::MEDIA_REFUSALS;
use super::kb::{KB_OUTBOUND, q850, status_info};
use super::trunk_407_inbound::is_rejected_inbound;
use super::{Context, Draft, Rule, clip, final_response, message_frames, same_endpoint};

pub(super) fn rule() -> Rule {
    Rule {
        id: "call_failed",
        summary: "failed call: status, who produced it (PBX or trunk), documented causes",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Reports every call that ended with a final error (3xx-6xx) with the \
documented causes of its status (480, 408, 503, 403, 402, 404, 486, 487, 488, other 4xx, 5xx, 6xx), who \
sent the final response (the trunk, when it came from the called trunk; the PBX, when the PBX sent it to \
the phone), and its Reason, Warning and Q.850 cause. A call the caller cancelled before answer is info, \
not an error. Cases with a sharper rule are left to it: inbound 407 from a trunk (trunk_407_inbound), \
media refusals (codec_mismatch), a missing caller ID (caller_id_rejected).\n\nWhy: the status code and \
its origin tell which side to fix. On the PBX, Call Statistics > CDR tells the same: no record means the \
PBX never received the call; a record without details means it failed inside the PBX (e.g. no outbound \
rule matched); a record with a Destination means the trunk returned the error.\n\nWhat to do: follow the \
causes listed for the status; when the trunk produced it, contact the trunk support team with the \
Call-ID and time.";

fn run(ctx: &Context) -> Vec<Finding> {
    let mut out: Vec<Finding> = ctx
        .analysis
        .calls
        .iter()
        .filter_map(|c| per_call(ctx, c))
        .collect();
    out.extend(
        ctx.analysis
            .transactions
            .iter()
            .filter_map(|t| orphan(ctx, t)),
    );
    out
}

/// A failure response to an INVITE sent before the capture started: the call is not in the capture,
/// so neither its parties nor why it was placed are known: info.
fn orphan(ctx: &Context, t: &crate::model::Transaction) -> Option<Finding> {
    let status = t.final_status?;
    if t.method != "INVITE" || !t.request_frames.is_empty() || status < 300 {
        return None;
    }
    if matches!(status, 401 | 407 | 487) {
        return None;
    }
    let info = status_info(status);
    let sent = t.responses.iter().filter(|(c, _)| *c == status).count();
    let again = if sent > 1 {
        format!(" It was sent {sent} times: the ACK did not come back.")
    } else {
        String::new()
    };
    Some(
        Draft::new(
            "call_failed",
            Severity::Info,
            format!(
                "A call set up before the capture failed: {status} {} from {}",
                clip(t.final_reason.as_deref().unwrap_or(info.name)),
                ctx.party(&t.src)
            ),
        )
        .call(&t.call_id)
        .detail(format!(
            "{} answered {status} to an INVITE from {} that is not in the capture (sent before it started). {}{again}",
            ctx.party(&t.src),
            ctx.party(&t.dst),
            info.meaning
        ))
        .frames(t.responses.iter().map(|(_, f)| *f))
        .kb(info.kb)
        .at(t.start_ns)
        .build(),
    )
}

fn caller_cancelled(call: &Call) -> bool {
    call.state == CallState::Cancelled
        || (call.final_status == Some(487)
            && call
                .messages
                .iter()
                .any(|m| m.label == "CANCEL" && same_endpoint(&m.src, &call.caller_addr)))
}

fn per_call(ctx: &Context, call: &Call) -> Option<Finding> {
    if caller_cancelled(call) {
        return Some(cancelled(ctx, call));
    }
    let status = call.final_status.filter(|s| *s >= 300)?;
    if call.state != CallState::Failed
        || is_rejected_inbound(ctx, call)
        || MEDIA_REFUSALS.contains(&status)
        || caller_id_verdict(ctx, call).is_some_and(|(_, clear)| clear)
    {
        return None;
    }
    if (300..400).contains(&status) {
        return Some(redirected(ctx, call, status));
    }
    Some(failed(ctx, call, status))
}

/// A 3xx asks the caller to try the Contact it names. Followed (the same caller sends a new INVITE within
/// 10 s), it is normal call forwarding: info. Not followed, the call did not complete: a warning, since the
/// redirect itself is not a fault of either side.
fn redirected(ctx: &Context, call: &Call, status: u16) -> Finding {
    let end = call.end_ns.unwrap_or(call.start_ns);
    let followed = ctx.analysis.calls.iter().find(|c| {
        c.call_id != call.call_id
            && c.caller == call.caller
            && c.start_ns >= end
            && c.start_ns - end <= 10_000_000_000
    });
    let reason = clip(call.final_reason.as_deref().unwrap_or("Redirect"));
    let (severity, detail) = match followed {
        Some(next) => (
            Severity::Info,
            format!(
                "{} answered {status} {reason}; the caller followed it with a new call to {} ({}).",
                ctx.party(&call.callee_addr),
                clip(&next.callee),
                next.state.as_str()
            ),
        ),
        None => (
            Severity::Warning,
            format!(
                "{} answered {status} {reason} and the capture shows no new INVITE from the caller: the \
                 redirect was not followed, so the call did not complete.",
                ctx.party(&call.callee_addr)
            ),
        ),
    };
    Draft::new(
        "call_failed",
        severity,
        format!("Call redirected: {status} {reason} from {}", ctx.party(&call.callee_addr)),
    )
    .call(&call.call_id)
    .detail(detail)
    .step("If the redirect should have been followed, check that the caller (phone or PBX) accepts 3xx responses and can reach the Contact it names.")
    .frames(message_frames(call, &["INVITE", &status.to_string()]))
    .kb("RFC 3261 §21.3 (Redirection 3xx)")
    .at(call.start_ns)
    .build()
}

fn cancelled(ctx: &Context, call: &Call) -> Finding {
    let rang = call
        .ring_ns
        .map(|r| {
            format!(
                " after ringing {:.1} s",
                call.end_ns.unwrap_or(r).saturating_sub(r) as f64 / 1e9
            )
        })
        .unwrap_or_default();
    let end = match call.final_status {
        Some(487) => {
            "the 487 Request Terminated that followed is the normal end of a cancelled call"
                .to_string()
        }
        None => "no final response to the INVITE is in the capture".to_string(),
        Some(code) => format!(
            "the far end then ended the INVITE with {code} {} instead of 487 Request Terminated",
            clip(call.final_reason.as_deref().unwrap_or(""))
        ),
    };
    let code = call
        .final_status
        .map_or_else(|| "487".to_string(), |c| c.to_string());
    Draft::new(
        "call_failed",
        Severity::Info,
        format!(
            "Caller hung up before answer ({} -> {})",
            ctx.party(&call.caller_addr),
            ctx.party(&call.callee_addr)
        ),
    )
    .call(&call.call_id)
    .detail(format!("The caller sent CANCEL{rang}; {end}."))
    .frames(message_frames(call, &["CANCEL", "487", &code]))
    .kb("RFC 3261 §9 (CANCEL)")
    .at(call.start_ns)
    .build()
}

/// "the trunk ..." / "the PBX ..." / the address: who produced the final response, and which side to fix.
fn origin(ctx: &Context, call: &Call) -> (String, Side) {
    let Some(m) = final_response(call) else {
        return (ctx.party(&call.callee_addr), Side::Unknown);
    };
    let who = ctx.party(&m.src);
    if same_endpoint(&m.src, &call.callee_addr) && ctx.is_trunk(&m.src) {
        (who, Side::Trunk)
    } else if ctx.is_pbx(&m.src) {
        (who, Side::Pbx)
    } else {
        (who, Side::Unknown)
    }
}

#[derive(PartialEq)]
enum Side {
    Trunk,
    Pbx,
    Unknown,
}

fn failed(ctx: &Context, call: &Call, status: u16) -> Finding {
    let info = status_info(status);
    let (who, side) = origin(ctx, call);
    let mut detail = format!(
        "{} -> {} failed: {who} answered {status} {}. {}",
        ctx.party(&call.caller_addr),
        ctx.party(&call.callee_addr),
        clip(call.final_reason.as_deref().unwrap_or("")),
        info.meaning
    );
    for r in call.reasons.iter().take(3) {
        detail.push_str(&format!(" Reason: {}.", clip(r)));
    }
    if let Some(c) = call.q850_cause {
        detail.push_str(&format!(
            " Q.850 cause {c}: {}.",
            q850(c).unwrap_or("unknown")
        ));
    }
    for w in call.warnings.iter().take(3) {
        detail.push_str(&format!(" Warning: {}.", clip(w)));
    }
    let mut d = Draft::new(
        "call_failed",
        Severity::Error,
        format!(
            "Call failed: {status} {} from {who}",
            clip(call.final_reason.as_deref().unwrap_or(info.name))
        ),
    )
    .call(&call.call_id)
    .frames(message_frames(call, &["INVITE", &status.to_string()]))
    .kb(info.kb)
    .at(call.start_ns);
    let side_causes: Vec<&str> = match side {
        Side::Trunk => {
            d = d.step(format!("Trunk side: the trunk returned {status}; contact the trunk support team with the Call-ID and time (the PBX CDR shows a Destination for this call)."));
            info.causes
                .iter()
                .copied()
                .filter(|c| !c.contains("(PBX side)") && !c.contains("(phone side)"))
                .collect()
        }
        Side::Pbx => {
            d = d.step(format!("PBX side: the PBX itself rejected the call with {status}; check the settings below (Call Statistics > CDR shows whether it reached a trunk)."));
            info.causes
                .iter()
                .copied()
                .filter(|c| !c.contains("(trunk side)"))
                .collect()
        }
        Side::Unknown => {
            detail.push_str(" A site profile listing the PBX and trunk addresses would tell which side produced it.");
            info.causes.to_vec()
        }
    };
    if call.state == CallState::Failed && status == 487 {
        detail.push_str(" No CANCEL from the caller was seen: the call was ended by the far side, not by the caller.");
    }
    d = d.steps(side_causes.iter().map(|c| c.to_string()));
    if side_causes.is_empty() {
        d = d.kb(KB_OUTBOUND);
    }
    d.detail(detail).build()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn go(c: Call) -> Vec<Finding> {
        let mut a = analysis();
        a.calls.push(c);
        check(super::run, &a)
    }

    #[test]
    fn trunk_403_with_q850() {
        let c = call("e", "192.0.2.10:5060", "203.0.113.5:5060")
            .failed(403, "Forbidden")
            .numbers("+33145550001", "+33145557777")
            .edit(|c| {
                c.q850_cause = Some(21);
                c.reasons
                    .push("Q.850;cause=21;text=\"Call Rejected\"".into());
            })
            .build();
        let f = go(c);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].detail.contains("call rejected"), "{}", f[0].detail);
        assert!(f[0].next_steps[0].starts_with("Trunk side"));
        assert!(f[0].next_steps.iter().all(|s| !s.contains("(PBX side)")));
        assert!(f[0].kb.contains("403 - Forbidden"));
    }

    #[test]
    fn pbx_403_to_phone_lists_pbx_causes() {
        let c = call("p", "10.0.0.21:5060", "10.0.0.10:5060")
            .ua(PHONE_UA, PBX_UA)
            .failed(403, "Forbidden")
            .build();
        let f = go(c);
        assert!(f[0].next_steps[0].starts_with("PBX side"));
        assert!(
            f[0].next_steps
                .iter()
                .any(|s| s.contains("Number Blacklist"))
        );
        assert!(
            f[0].next_steps
                .iter()
                .any(|s| s.contains("ALLOWED COUNTRY CODE"))
        );
    }

    #[test]
    fn cancel_is_info_but_487_without_cancel_is_error() {
        let f = go(call("g", "10.0.0.22:5060", "10.0.0.10:5060")
            .ua(PHONE_UA, PBX_UA)
            .cancelled()
            .build());
        assert_eq!(f[0].severity, Severity::Info);
        let f = go(call("x", "192.0.2.10:5060", "203.0.113.5:5060")
            .failed(487, "Request Terminated")
            .build());
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].detail.contains("No CANCEL"));
    }

    #[test]
    fn leaves_sharper_rules_alone() {
        assert!(
            go(call("m", "192.0.2.10:5060", "203.0.113.5:5060")
                .failed(488, "Not Acceptable Here")
                .build())
            .is_empty()
        );
        assert!(
            go(call("c", "192.0.2.10:5060", "203.0.113.5:5060")
                .failed(403, "Forbidden")
                .numbers("101", "+331")
                .build())
            .is_empty()
        );
        assert!(go(call("ok", "192.0.2.10:5060", "203.0.113.5:5060").build()).is_empty());
    }

    #[test]
    fn failure_of_an_invite_sent_before_the_capture_is_info() {
        let mut a = analysis();
        let mut t = transaction("INVITE", "10.0.0.10:5060", "10.0.0.21:5060", &[], &[T0]);
        t.responses = vec![(408, 5), (408, 6)];
        t.final_status = Some(408);
        t.final_frame = Some(5);
        a.transactions.push(t);
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
        assert!(f[0].detail.contains("2 times"), "{}", f[0].detail);
    }
}
