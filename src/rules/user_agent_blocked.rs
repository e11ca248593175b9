//! user_agent_blocked: a trunk silently drops requests, probably because the User-Agent says "PortSIP".

use std::collections::BTreeMap;

use crate::model::{Finding, Severity};

use super::kb::KB_USER_AGENT;
use super::no_response::groups;
use super::{Context, Draft, Rule, TxRef, clip, ip_of};

pub(super) fn rule() -> Rule {
    Rule {
        id: "user_agent_blocked",
        summary: "far end silently drops requests whose User-Agent contains PortSIP",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Looks at requests that timed out without any response (as no_response) \
whose User-Agent contains \"PortSIP\" (or the PBX User-Agent of the site profile). The suspicion is \
stronger (warning) when the same destination answers other requests in the capture, especially from \
other User-Agents; otherwise it stays a possibility (info).\n\nWhy: some trunk providers run on platforms \
of PortSIP competitors and silently discard SIP messages whose User-Agent includes \"PortSIP\": no \
response at all, as if the trunk were down. The other documented cause of silence is a missing \
whitelist of the PBX IP on the trunk side; an ICMP error instead of silence points to \
destination_unreachable.\n\nWhat to do: sign in to the PBX web portal as System Administrator, go to \
Advanced > Settings, change the User-Agent (e.g. to a neutral product name), save and try again. If it \
still gets no answer, ask the provider about the IP whitelist.";

fn run(ctx: &Context) -> Vec<Finding> {
    let mut by_ip: BTreeMap<String, Vec<TxRef>> = BTreeMap::new();
    for (_, txs) in groups(ctx) {
        for r in txs {
            if r.user_agent().is_some_and(|u| blocked_ua(ctx, u)) {
                let ip = ip_of(&r.tx.dst)
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| r.tx.dst.clone());
                by_ip.entry(ip).or_default().push(r);
            }
        }
    }
    if by_ip.is_empty() {
        return Vec::new();
    }
    // Requests that did get a response, by destination IP.
    let mut answered: BTreeMap<String, Vec<TxRef>> = BTreeMap::new();
    for r in ctx.all_transactions() {
        let ip = ip_of(&r.tx.dst).map(|i| i.to_string()).unwrap_or_default();
        if !r.tx.responses.is_empty() && by_ip.contains_key(&ip) {
            answered.entry(ip).or_default().push(r);
        }
    }
    by_ip
        .into_iter()
        .map(|(ip, txs)| {
            let ok = answered.get(&ip).map(Vec::as_slice).unwrap_or(&[]);
            finding(ctx, &ip, &txs, ok)
        })
        .collect()
}

fn blocked_ua(ctx: &Context, ua: &str) -> bool {
    ua.to_ascii_lowercase().contains("portsip") || ctx.is_pbx_user_agent(ua)
}

fn finding(ctx: &Context, ip: &str, txs: &[TxRef], answered: &[TxRef]) -> Finding {
    let ua = txs
        .iter()
        .find_map(|r| r.user_agent())
        .map(clip)
        .unwrap_or_default();
    // Other requests to the same IP that did get a response, and their User-Agents.
    let mut other_uas: Vec<String> = answered
        .iter()
        .filter_map(|r| r.user_agent())
        .filter(|u| !blocked_ua(ctx, u))
        .map(clip)
        .collect();
    other_uas.sort();
    other_uas.dedup();
    let mut frames: Vec<u64> = txs
        .iter()
        .flat_map(|r| r.tx.request_frames.iter().copied())
        .collect();
    let dst = txs.first().map(|r| r.tx.dst.as_str()).unwrap_or(ip);
    let (severity, why) = if !other_uas.is_empty() {
        frames.extend(
            answered
                .iter()
                .filter(|r| r.user_agent().is_some_and(|u| !blocked_ua(ctx, u)))
                .flat_map(|r| {
                    r.tx.request_frames
                        .first()
                        .copied()
                        .into_iter()
                        .chain(r.tx.final_frame)
                }),
        );
        (
            Severity::Warning,
            format!(
                "yet it answers requests from other User-Agents ({})",
                other_uas.join(", ")
            ),
        )
    } else if !answered.is_empty() {
        frames.extend(answered.iter().flat_map(|r| r.tx.final_frame));
        (
            Severity::Warning,
            format!("yet it answered {} other requests", answered.len()),
        )
    } else {
        (
            Severity::Info,
            "and answers nothing else in the capture, so a whitelist or an outage is as likely"
                .to_string(),
        )
    };
    let first = txs.iter().map(|r| r.tx.start_ns).min().unwrap_or(0);
    let mut d = Draft::new(
        "user_agent_blocked",
        severity,
        format!("{} may be dropping requests with User-Agent \"{ua}\"", ctx.party(dst)),
    )
    .detail(format!(
        "{} request(s) with User-Agent \"{ua}\" to {} got no response at all, {why}.",
        txs.len(),
        ctx.party(dst)
    ))
    .frames(frames)
    .kb(KB_USER_AGENT)
    .at(first)
    .step("As System Administrator, open Advanced > Settings in the PBX web portal, change the User-Agent so it no longer contains \"PortSIP\", save and try again.")
    .step("If requests are still unanswered, ask the trunk provider to whitelist the PBX IP address (the other documented cause).");
    if let Some(c) = txs.iter().find_map(|r| r.call) {
        d = d.call(&c.call_id);
    }
    d.build()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn warning_when_other_user_agents_are_answered() {
        let mut a = analysis();
        a.calls.push(
            call("c", "192.0.2.10:5060", "203.0.113.7:5060")
                .no_response(7)
                .build(),
        );
        let mut opt = transaction(
            "OPTIONS",
            "192.0.2.11:5060",
            "203.0.113.7:5060",
            &[500],
            &[T0 + 4 * SEC],
        );
        opt.user_agent = Some("Asterisk PBX 18.20.0".into());
        a.transactions
            .push(answered(opt, 200, 501, T0 + 4 * SEC + 20 * MS));
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].detail.contains("Asterisk"), "{}", f[0].detail);
        assert!(f[0].evidence_frames.contains(&500) && f[0].evidence_frames.contains(&501));
    }

    #[test]
    fn info_without_contrast_and_silent_for_other_user_agents() {
        let mut a = analysis();
        a.calls.push(
            call("c", "192.0.2.10:5060", "203.0.113.7:5060")
                .no_response(7)
                .build(),
        );
        assert_eq!(check(super::run, &a)[0].severity, Severity::Info);
        let mut b = analysis();
        b.calls.push(
            call("c", "192.0.2.10:5060", "203.0.113.7:5060")
                .ua("Asterisk", "")
                .no_response(7)
                .build(),
        );
        assert!(check(super::run, &b).is_empty());
    }
}
