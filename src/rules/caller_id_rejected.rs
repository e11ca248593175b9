//! caller_id_rejected: a trunk refuses a call whose From carries no usable outbound caller ID.

use crate::model::{Call, CallState, Finding, Severity};

use super::kb::KB_OTHER;
use super::{Context, Draft, Rule, clip, final_response, message_frames, same_endpoint, uri_user};

pub(super) fn rule() -> Rule {
    Rule {
        id: "caller_id_rejected",
        summary: "trunk refuses a call whose From has no usable outbound caller ID",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks calls refused by the trunk (403, 404, 433, 484, 603 sent by the \
callee side, a trunk) whose From user is not a usable caller ID: an internal extension (like 101), a name, \
anonymous, or (weaker, warning) an E.164 number without the leading '+'. A P-Asserted-Identity with a \
full number is taken as a usable caller ID.\n\nWhy: trunks usually require the Outbound Caller ID (CLI) \
in the From header of the INVITE; some require it to start with '+'.\n\nWhat to do: configure the \
Outbound Caller ID on the extension, or at the tenant level; confirm with the trunk provider whether it \
must start with '+'.";

const REFUSALS: &[u16] = &[403, 404, 433, 484, 603];

/// Why the caller ID is unusable, and whether it is clear-cut (true) or only the missing '+' (false).
pub(super) fn verdict(ctx: &Context, call: &Call) -> Option<(String, bool)> {
    if call.state != CallState::Failed || !call.final_status.is_some_and(|s| REFUSALS.contains(&s))
    {
        return None;
    }
    let resp = final_response(call)?;
    if !same_endpoint(&resp.src, &call.callee_addr) || !ctx.is_trunk(&call.callee_addr) {
        return None;
    }
    let user = uri_user(&call.from);
    if call
        .p_asserted_identity
        .as_deref()
        .is_some_and(|p| e164_like(uri_user(p)))
    {
        return None;
    }
    let digits = user.trim_start_matches('+');
    if user.is_empty()
        || user.eq_ignore_ascii_case("anonymous")
        || !digits.chars().all(|c| c.is_ascii_digit())
    {
        return Some((
            format!("the From user \"{}\" is not a phone number", clip(user)),
            true,
        ));
    }
    if digits.len() <= 6 {
        return Some((
            format!(
                "the From user {} looks like an internal extension, not an outbound caller ID",
                clip(user)
            ),
            true,
        ));
    }
    if !user.starts_with('+') {
        return Some((
            format!("the From number {} has no leading '+'", clip(user)),
            false,
        ));
    }
    None
}

fn e164_like(user: &str) -> bool {
    let d = user.trim_start_matches('+');
    d.len() >= 8 && d.chars().all(|c| c.is_ascii_digit())
}

fn run(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for call in &ctx.analysis.calls {
        let Some((why, clear)) = verdict(ctx, call) else {
            continue;
        };
        let status = call.final_status.unwrap_or(0);
        let trunk = ctx.party(&call.callee_addr);
        let sev = if clear {
            Severity::Error
        } else {
            Severity::Warning
        };
        let title = if clear {
            format!("{trunk} refused the call ({status}): no usable outbound caller ID")
        } else {
            format!("{trunk} refused the call ({status}); the caller ID lacks '+'")
        };
        let mut d = Draft::new("caller_id_rejected", sev, title)
            .call(&call.call_id)
            .detail(format!(
                "{trunk} answered {status} {}; {why} (From: {}).",
                clip(call.final_reason.as_deref().unwrap_or("")),
                clip(&call.from)
            ))
            .frames(message_frames(call, &["INVITE", &status.to_string()]))
            .kb(KB_OTHER)
            .at(call.start_ns);
        d = if clear {
            d.step("Configure the Outbound Caller ID on the caller's extension, or an Outbound Caller ID at the tenant level, so the From header of the INVITE to the trunk carries the DID.")
                .step("Some trunks require the Outbound Caller ID to start with '+': confirm with the trunk provider.")
        } else {
            d.step("Some trunks require the Outbound Caller ID to start with '+': confirm with the trunk provider and set it as +<country code><number>.")
        };
        out.push(d.build());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn go(from: &str, code: u16) -> Vec<Finding> {
        let mut a = analysis();
        a.calls.push(
            call("e", "192.0.2.10:5060", "203.0.113.5:5060")
                .failed(code, "Forbidden")
                .numbers(from, "+33145557777")
                .build(),
        );
        check(super::run, &a)
    }

    #[test]
    fn extension_in_from_is_error() {
        let f = go("101", 403);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].next_steps[0].contains("Outbound Caller ID"));
    }

    #[test]
    fn missing_plus_is_warning_and_e164_is_fine() {
        assert_eq!(go("33145550001", 403)[0].severity, Severity::Warning);
        assert!(go("+33145550001", 403).is_empty());
        assert!(go("101", 486).is_empty());
    }

    #[test]
    fn silent_when_pbx_refuses_a_phone() {
        let mut a = analysis();
        a.calls.push(
            call("p", "10.0.0.21:5060", "10.0.0.10:5060")
                .ua(PHONE_UA, PBX_UA)
                .failed(403, "Forbidden")
                .numbers("101", "0044")
                .build(),
        );
        assert!(check(super::run, &a).is_empty());
    }
}
