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
no later registration of the same AOR from the same address fixed; the outcome is the last \
transaction's (a challenge answered by a retry that succeeded is normal; a challenge at the very end of \
the capture, with no time left for the retry, proves nothing). Repeated failures of one AOR from one \
address are one finding. Repeated 401/403 means bad credentials. Credential loops are left to auth_loop; unanswered REGISTERs to no_response.\n\nWhy: an \
unregistered phone or app cannot receive calls (480 to its callers) and often cannot call.\n\nWhat to do \
(PrivateGSM connection issues, first level): check the device reaches the Internet, force a manual \
reconnection, read the exact error, check the application configuration (PBX address, port, username, \
password, domain) and that the user's account exists on the server. If all is right, escalate to the \
second level (network, server services, client logs).";

/// A challenge with no retry this close to the end of the capture leaves the outcome unknown.
const CHALLENGE_GRACE_NS: i64 = 5_000_000_000;

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
    // The same failure repeated (a device retrying with new Call-IDs) is one finding.
    let mut failures: BTreeMap<(&str, Option<IpAddr>, u16), Vec<&Registration>> = BTreeMap::new();
    for r in regs {
        let Some(status) = outcome(ctx, r) else {
            continue;
        };
        if looped(&r.transactions).len() >= ctx.thresholds.auth_repeats as usize {
            continue;
        }
        let fixed_later = last_ok
            .get(&(r.aor.as_str(), ip_of(&r.src)))
            .is_some_and(|t| *t > r.start_ns);
        if !fixed_later {
            failures
                .entry((r.aor.as_str(), ip_of(&r.src), status))
                .or_default()
                .push(r);
        }
    }
    let mut out: Vec<Finding> = failures
        .into_iter()
        .map(|((_, _, status), rs)| finding(ctx, &rs, status))
        .collect();
    out.extend(orphans(ctx, &last_ok));
    out
}

/// REGISTER failures whose request is not in the capture (it began later): the response alone says
/// the registration was refused. Challenges are left out (a retry normally follows).
fn orphans(ctx: &Context, last_ok: &BTreeMap<(&str, Option<IpAddr>), i64>) -> Vec<Finding> {
    let mut by_key: BTreeMap<(&str, &str, u16), Vec<&crate::model::Transaction>> = BTreeMap::new();
    for t in ctx.analysis.transactions.iter().filter(|t| {
        t.method == "REGISTER" && t.request_frames.is_empty() && t.final_status.is_some()
    }) {
        let Some(status) = t
            .final_status
            .filter(|s| *s >= 300 && !matches!(s, 401 | 407))
        else {
            continue;
        };
        // The first message seen was the response: its destination is the registering device.
        let fixed_later = last_ok
            .get(&(t.to.as_str(), ip_of(&t.dst)))
            .is_some_and(|ok| *ok > t.start_ns);
        if !fixed_later {
            by_key
                .entry((t.to.as_str(), t.dst.as_str(), status))
                .or_default()
                .push(t);
        }
    }
    by_key
        .into_iter()
        .map(|((aor, device, status), ts)| {
            let info = status_info(status);
            let reason = ts
                .iter()
                .find_map(|t| t.final_reason.as_deref())
                .unwrap_or("");
            Draft::new(
                "registration_failed",
                Severity::Error,
                format!("Registration of {} failed: {status}", clip(aor)),
            )
            .detail(format!(
                "{} answered {status} {} to {} registering {} ({} time(s)); the REGISTER itself is not in \
                 the capture (it was sent before the capture started). {}",
                ctx.party(ts.first().map_or("", |t| t.src.as_str())),
                clip(reason),
                ctx.party(device),
                clip(aor),
                ts.len(),
                info.meaning
            ))
            .frames(ts.iter().flat_map(|t| t.final_frame))
            .steps(info.causes.iter().map(|c| c.to_string()))
            .kb(KB_CONNECTION)
            .at(ts.first().map_or(0, |t| t.start_ns))
            .build()
        })
        .collect()
}

/// The failure status the capture shows for a registration: the final error of its last
/// transaction. None when it succeeded, when the last request is still unanswered (no_response
/// judges timeouts), or when its last response is a challenge the capture ended too soon to see
/// answered.
fn outcome(ctx: &Context, r: &Registration) -> Option<u16> {
    let last = r
        .transactions
        .iter()
        .max_by_key(|t| (t.start_ns, t.first_frame))?;
    let status = last.final_status.filter(|s| *s >= 300)?;
    if matches!(status, 401 | 407) && !last.has_credentials {
        let at = last.final_time_ns.unwrap_or(last.start_ns);
        if ctx.capture_end(at).saturating_sub(at) < CHALLENGE_GRACE_NS {
            return None;
        }
    }
    Some(status)
}

fn finding(ctx: &Context, rs: &[&Registration], status: u16) -> Finding {
    let Some(r) = rs.first().copied() else {
        return Draft::new(
            "registration_failed",
            Severity::Error,
            "Registration failed",
        )
        .build();
    };
    let refusals = rs
        .iter()
        .flat_map(|r| r.transactions.iter())
        .filter(|t| t.has_credentials && matches!(t.final_status, Some(401 | 403 | 407)))
        .count();
    let stale = rs
        .iter()
        .flat_map(|r| r.transactions.iter())
        .filter(|t| t.has_credentials)
        .filter_map(|t| t.final_reason.as_deref())
        .any(|r| {
            let r = r.to_ascii_lowercase();
            r.contains("nonce") || r.contains("stale")
        });
    let (why, steps): (String, Vec<String>) = match status {
        401 | 407 if stale && refusals >= 1 => (
            "the server refused the credentials because they were computed with an old nonce: the device does not answer the latest challenge".into(),
            vec!["Update the phone or app firmware (it reuses a stale nonce), or lower the registration interval; check the server's nonce lifetime.".into()],
        ),
        401 | 407 | 403 if refusals >= 2 => (
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
        401 | 407 if refusals == 1 => (
            "the server refused the credentials".into(),
            vec!["Check the username, authentication ID and password in the app or phone against the account on the PBX.".into()],
        ),
        401 | 407 => (
            "the challenge was never answered with credentials".into(),
            vec!["Configure the password / authentication ID in the device.".into()],
        ),
        s => (status_info(s).meaning.to_string(), status_info(s).causes.iter().map(|c| c.to_string()).collect()),
    };
    let repeated = if rs.len() > 1 {
        format!(
            " The device tried {} times (separate registrations), always with this result.",
            rs.len()
        )
    } else {
        String::new()
    };
    let reason = rs
        .iter()
        .rev()
        .find_map(|r| r.final_reason.as_deref())
        .unwrap_or("");
    Draft::new("registration_failed", Severity::Error, format!("Registration of {} failed: {status}", clip(&r.aor)))
        .detail(format!(
            "{} registering {} to {} got {status} {}: {}. The user cannot receive calls while unregistered.{repeated}{}",
            ctx.party(&r.src),
            clip(&r.aor),
            ctx.party(&r.dst),
            clip(reason),
            why.trim_end_matches('.'),
            r.user_agent.as_deref().map(|u| format!(" User-Agent \"{}\".", clip(u))).unwrap_or_default()
        ))
        .frames(rs.iter().flat_map(|r| r.frames.iter().copied()))
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

    #[test]
    fn challenge_at_capture_end_or_pending_retry_proves_nothing() {
        let mut a = analysis();
        let end = a.captures[0].last_time_ns.unwrap_or(T0);
        // 401 two seconds before the capture stops: the retry could not be captured.
        a.registrations.push(registration(
            "sip:1001@pbx",
            "10.0.0.21:5060",
            "10.0.0.10:5060",
            "<sip:1001@10.0.0.21>",
            end - 2 * SEC,
            401,
        ));
        assert!(check(super::run, &a).is_empty());
        // 401 answered by a retry with credentials whose response is not in the capture.
        let mut r = registration(
            "sip:1002@pbx",
            "10.0.0.22:5060",
            "10.0.0.10:5060",
            "<sip:1002@10.0.0.22>",
            T0,
            401,
        );
        let mut retry = transaction(
            "REGISTER",
            "10.0.0.22:5060",
            "10.0.0.10:5060",
            &[900],
            &[T0 + SEC],
        );
        retry.has_credentials = true;
        r.transactions.push(retry);
        a.registrations.push(r);
        assert!(check(super::run, &a).is_empty());
        // The same 401 long before the end, never answered: the device has no credentials.
        a.registrations[0].start_ns = T0;
        if let Some(t) = a.registrations[0].transactions.first_mut() {
            t.start_ns = T0;
            t.final_time_ns = Some(T0 + 20 * MS);
        }
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert!(f[0].detail.contains("never answered"), "{}", f[0].detail);
    }

    #[test]
    fn repeated_failures_of_one_aor_are_one_finding() {
        let mut a = analysis();
        for i in 0..5 {
            let mut r = registration(
                "sip:1001@example.com",
                "10.0.0.21:5060",
                "10.0.0.10:5060",
                "<sip:1001@10.0.0.21>",
                T0 + i * 10 * SEC,
                480,
            );
            r.call_id = format!("reg-{i}");
            a.registrations.push(r);
        }
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert!(f[0].detail.contains("tried 5 times"), "{}", f[0].detail);
    }

    #[test]
    fn refusal_of_a_register_sent_before_the_capture() {
        let mut a = analysis();
        let mut t = transaction("REGISTER", "10.0.0.10:5060", "10.0.0.21:5060", &[], &[T0]);
        t = answered(t, 503, 7, T0);
        t.to = "sip:1001@pbx".into();
        a.transactions.push(t.clone());
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert!(f[0].title.contains("503"), "{}", f[0].title);
        // A challenge alone is not a failure.
        a.transactions[0] = answered(
            transaction("REGISTER", "10.0.0.10:5060", "10.0.0.21:5060", &[], &[T0]),
            401,
            7,
            T0,
        );
        assert!(check(super::run, &a).is_empty());
    }
}
