//! registration_failed: a REGISTER that ended in an error and was not followed by a success.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::model::{Finding, Registration, Severity};

use super::auth_loop::looped;
use super::kb::{KB_CONNECTION, status_info};
use super::{Context, Draft, Rule, clip, ip_of};

pub(super) fn rule() -> Rule {
    Rule {
        id: "registration_failed",
        summary: "REGISTER ended with an error and no later success",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks registrations whose final response is an error (>= 300) and that \
no later registration of the same AOR from the same address fixed. Repeated 401/403 means bad \
credentials. Credential loops are left to auth_loop; unanswered REGISTERs to no_response.\n\nWhy: an \
unregistered phone or app cannot receive calls (480 to its callers) and often cannot call.\n\nWhat to do \
(PrivateGSM connection issues, first level): check the device reaches the Internet, force a manual \
reconnection, read the exact error, check the application configuration (PBX address, port, username, \
password, domain) and that the user's account exists on the server. If all is right, escalate to the \
second level (network, server services, client logs).";

fn run(ctx: &Context) -> Vec<Finding> {
    let regs = &ctx.analysis.registrations;
    // (AOR, source IP) -> start of the latest successful registration.
    let mut last_ok: BTreeMap<(&str, Option<IpAddr>), i64> = BTreeMap::new();
    for o in regs.iter().filter(|o| o.success) {
        let e = last_ok
            .entry((o.aor.as_str(), ip_of(&o.src)))
            .or_insert(o.start_ns);
        *e = (*e).max(o.start_ns);
    }
    regs.iter()
        .filter(|r| !r.success && r.final_status.is_some_and(|s| s >= 300))
        .filter(|r| looped(&r.transactions).len() < ctx.thresholds.auth_repeats as usize)
        .filter(|r| {
            last_ok
                .get(&(r.aor.as_str(), ip_of(&r.src)))
                .is_none_or(|t| *t <= r.start_ns)
        })
        .map(|r| finding(ctx, r))
        .collect()
}

fn finding(ctx: &Context, r: &Registration) -> Finding {
    let status = r.final_status.unwrap_or(0);
    let refusals = r
        .transactions
        .iter()
        .filter(|t| matches!(t.final_status, Some(401 | 403 | 407)))
        .count();
    let (why, steps): (String, Vec<String>) = match status {
        401 | 407 | 403 if refusals >= 2 || r.challenges >= 2 => (
            "the credentials were refused repeatedly: wrong username, authentication ID or password".into(),
            vec!["Check the username, authentication ID and password in the app or phone against the account on the PBX.".into()],
        ),
        403 => (
            "the server refuses this account: wrong credentials, disabled account, or the source IP is blocked".into(),
            vec![
                "Check the credentials and that the account exists and is enabled on the PBX.".into(),
                "Check whether the device's IP was blocked after too many wrong passwords (remove it from the IP Blacklist once fixed).".into(),
            ],
        ),
        404 => (
            "the user or SIP domain does not exist on the server".into(),
            vec!["Check the SIP domain and username configured in the app: the account must exist on the server.".into()],
        ),
        401 | 407 => (
            "the challenge was never answered with credentials".into(),
            vec!["Configure the password / authentication ID in the device.".into()],
        ),
        s => (status_info(s).meaning.to_string(), status_info(s).causes.iter().map(|c| c.to_string()).collect()),
    };
    Draft::new("registration_failed", Severity::Error, format!("Registration of {} failed: {status}", clip(&r.aor)))
        .detail(format!(
            "{} registering {} to {} got {status} {}: {why}. The user cannot receive calls while unregistered.{}",
            ctx.party(&r.src),
            clip(&r.aor),
            ctx.party(&r.dst),
            clip(r.final_reason.as_deref().unwrap_or("")),
            r.user_agent.as_deref().map(|u| format!(" User-Agent \"{}\".", clip(u))).unwrap_or_default()
        ))
        .frames(r.frames.iter().copied())
        .steps(steps)
        .step("Force a manual reconnection on the app and note the exact error; if the configuration is right and it still fails, escalate to the second level (network and server services check).")
        .kb(KB_CONNECTION)
        .at(r.start_ns)
        .build()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    #[test]
    fn fires_on_403_and_names_the_aor() {
        let mut a = analysis();
        a.registrations.push(registration(
            "sip:1001@pbx",
            "10.0.0.21:5060",
            "10.0.0.10:5060",
            "<sip:1001@10.0.0.21>",
            T0,
            403,
        ));
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert!(f[0].title.contains("sip:1001@pbx"));
        assert!(f[0].next_steps.iter().any(|s| s.contains("IP Blacklist")));
    }

    #[test]
    fn silent_when_a_later_registration_succeeds() {
        let mut a = analysis();
        a.registrations.push(registration(
            "sip:1001@pbx",
            "10.0.0.21:5060",
            "10.0.0.10:5060",
            "<sip:1001@10.0.0.21>",
            T0,
            403,
        ));
        a.registrations.push(registration(
            "sip:1001@pbx",
            "10.0.0.21:5060",
            "10.0.0.10:5060",
            "<sip:1001@10.0.0.21>",
            T0 + SEC,
            200,
        ));
        assert!(check(super::run, &a).is_empty());
        assert!(check(super::run, &healthy_analysis()).is_empty());
    }
}
