//! auth_loop: the same challenge repeated to requests that already carried credentials.

use crate::model::{Finding, Severity, Transaction};

use super::kb::KB_CONNECTION;
use super::{Context, Draft, Rule, clip};

pub(super) fn rule() -> Rule {
    Rule {
        id: "auth_loop",
        summary: "401/407 repeated to requests that already carried credentials",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Counts, per registration and per call, the 401/407 challenges answered to \
requests that already carried credentials, in a row (a success in between ends the run); auth_repeats \
(3) or more in a row is a loop. A refresh challenged once for a stale nonce and then accepted is normal.\n\nWhy: the server keeps \
refusing the credentials: wrong password, wrong authentication name, a realm the account does not \
belong to, or a client that reuses a stale nonce. The device retries forever and never registers or \
calls.\n\nWhat to do: check the username, authentication ID, password and SIP domain in the app or \
phone against the account on the PBX (PrivateGSM connection issues: check the application \
configuration, then that the account exists on the server); if they match, escalate.";

/// The longest run of challenges answered to credentialed requests with no success in between. A
/// refresh whose stale nonce is challenged once and then accepted (the usual nonce rotation) is a run of
/// one, not a loop.
pub(super) fn looped(txs: &[Transaction]) -> Vec<&Transaction> {
    let mut ordered: Vec<&Transaction> = txs.iter().collect();
    ordered.sort_by_key(|t| (t.start_ns, t.first_frame));
    let mut best: Vec<&Transaction> = Vec::new();
    let mut run: Vec<&Transaction> = Vec::new();
    for t in ordered {
        match t.final_status {
            Some(401 | 407) if t.has_credentials => run.push(t),
            Some(s) if (200..300).contains(&s) => {
                if run.len() > best.len() {
                    best = std::mem::take(&mut run);
                }
                run.clear();
            }
            _ => {}
        }
    }
    if run.len() > best.len() {
        best = run;
    }
    best
}

/// A request after the last refused one succeeded.
fn succeeded_after(txs: &[Transaction], l: &[&Transaction]) -> bool {
    let last = l.last().map_or(i64::MIN, |t| t.start_ns);
    txs.iter()
        .any(|t| t.start_ns > last && t.final_status.is_some_and(|s| (200..300).contains(&s)))
}

fn run(ctx: &Context) -> Vec<Finding> {
    let min = ctx.thresholds.auth_repeats as usize;
    let mut out = Vec::new();
    for r in &ctx.analysis.registrations {
        let l = looped(&r.transactions);
        if l.len() >= min {
            out.push(finding(
                ctx,
                &l,
                &format!("REGISTER of {}", clip(&r.aor)),
                &r.src,
                &r.dst,
                succeeded_after(&r.transactions, &l),
                None,
            ));
        }
    }
    for c in &ctx.analysis.calls {
        let l = looped(&c.transactions);
        if l.len() >= min {
            let ok = c.answer_ns.is_some();
            out.push(finding(
                ctx,
                &l,
                "INVITE",
                &c.caller_addr,
                &c.callee_addr,
                ok,
                Some(&c.call_id),
            ));
        }
    }
    out
}

fn finding(
    ctx: &Context,
    l: &[&Transaction],
    what: &str,
    src: &str,
    dst: &str,
    ok: bool,
    call_id: Option<&str>,
) -> Finding {
    let code = l.first().and_then(|t| t.final_status).unwrap_or(401);
    let realm = l
        .iter()
        .find_map(|t| t.realm.as_deref())
        .map(clip)
        .unwrap_or_else(|| "?".into());
    let user = l
        .iter()
        .find_map(|t| t.auth_username.as_deref())
        .map(clip)
        .unwrap_or_else(|| "?".into());
    let frames: Vec<u64> = l
        .iter()
        .flat_map(|t| {
            t.request_frames
                .first()
                .copied()
                .into_iter()
                .chain(t.final_frame)
        })
        .collect();
    let mut d = Draft::new(
        "auth_loop",
        if ok { Severity::Warning } else { Severity::Error },
        format!("{what} from {}: credentials refused {} times", ctx.party(src), l.len()),
    )
    .detail(format!(
        "{} answered {code} {} times to requests that already carried credentials (username \"{user}\", realm \"{realm}\"){}.",
        ctx.party(dst),
        l.len(),
        if ok { "; it succeeded in the end" } else { "; it never succeeded" }
    ))
    .frames(frames)
    .kb(KB_CONNECTION)
    .at(l.first().map(|t| t.start_ns).unwrap_or(0))
    .step(format!("Check the username/authentication ID (\"{user}\"), password and SIP domain configured in the device against the account on the PBX."))
    .step("If the configuration matches the account and the loop goes on, escalate (check the server services and the client logs).");
    if let Some(id) = call_id {
        d = d.call(id);
    }
    d.build()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn reg_with(n: usize, then_ok: bool) -> crate::model::Analysis {
        let mut a = analysis();
        let mut r = registration(
            "sip:1001@pbx",
            "10.0.0.21:5060",
            "10.0.0.10:5060",
            "<sip:1001@10.0.0.21>",
            T0,
            401,
        );
        r.transactions.clear();
        for i in 0..n as u64 {
            let mut t = answered(
                transaction(
                    "REGISTER",
                    "10.0.0.21:5060",
                    "10.0.0.10:5060",
                    &[10 + 2 * i],
                    &[T0 + i as i64 * SEC],
                ),
                401,
                11 + 2 * i,
                T0,
            );
            t.has_credentials = i > 0;
            t.auth_username = Some("1001".into());
            r.transactions.push(t);
        }
        r.success = then_ok;
        a.registrations.push(r);
        a
    }

    #[test]
    fn loop_of_three_is_error() {
        let f = check(super::run, &reg_with(4, false));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].detail.contains("3 times"));
        assert_eq!(f[0].evidence_frames.len(), 6);
    }

    #[test]
    fn single_challenge_is_silent() {
        assert!(check(super::run, &reg_with(2, true)).is_empty());
        assert!(check(super::run, &healthy_analysis()).is_empty());
    }

    #[test]
    fn stale_nonce_rotation_is_not_a_loop() {
        // Every refresh: credentials (stale nonce) -> 407, retry -> 200. Four times.
        let mut a = reg_with(0, true);
        let r = &mut a.registrations[0];
        for i in 0..8u64 {
            let status = if i % 2 == 0 { 407 } else { 200 };
            let mut t = answered(
                transaction(
                    "REGISTER",
                    "10.0.0.21:5060",
                    "10.0.0.10:5060",
                    &[10 + 2 * i],
                    &[T0 + i as i64 * 60 * SEC],
                ),
                status,
                11 + 2 * i,
                T0,
            );
            t.has_credentials = true;
            r.transactions.push(t);
        }
        assert!(check(super::run, &a).is_empty());
    }
}
