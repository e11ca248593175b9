//! no_response: a request retransmitted until timeout without any response.

use std::collections::BTreeMap;

use crate::model::{Finding, Severity};

use super::destination_unreachable::icmp_matches;
use super::kb::{KB_CONNECTION, KB_NO_RESPONSE};
use super::{Context, Draft, Rule, TxRef, clip, secs};

pub(super) fn rule() -> Rule {
    Rule {
        id: "no_response",
        summary: "request retransmitted until timeout with no response at all",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks every SIP request (INVITE, REGISTER, OPTIONS, ...): no response at \
all, not even 100 Trying, although it was sent at least no_response_transmissions times, or twice (once \
over TCP/TLS) with the capture going on for transaction_timeout_s (32 s, RFC 3261 timer B/F) after the \
first. Requests answered by an ICMP error are left to destination_unreachable. Error, except for BYE \
and CANCEL (the call was being ended anyway): warning.\n\nWhy: a silent far end \
means the requests are dropped. For a trunk, the KB documents two causes: the trunk provider requires \
the PBX IP to be whitelisted, or the trunk silently discards messages whose User-Agent contains \
\"PortSIP\" (see user_agent_blocked). For a phone or app that gets no answer from the PBX, it is a \
connection issue: wrong PBX address or port in the app, or the network in between.\n\nWhat to do: ask the \
trunk provider to whitelist the PBX IP; change the User-Agent in Advanced > Settings; check the \
destination address and port and the firewalls on the way. For apps, follow the connection-issues \
workflow (force a manual reconnection, check the app configuration) and escalate if the configuration is \
right.";

/// The request got no response and was retried long or often enough to call it a timeout.
pub(super) fn timed_out(ctx: &Context, r: &TxRef) -> bool {
    let t = r.tx;
    if t.method == "ACK" || !t.responses.is_empty() || t.final_status.is_some() {
        return false;
    }
    let sent = t.request_frames.len().max(1);
    let waited = ctx.capture_end(t.start_ns).saturating_sub(t.start_ns);
    let long = waited as f64 >= ctx.thresholds.transaction_timeout_s * 1e9;
    sent >= ctx.thresholds.no_response_transmissions as usize
        || (sent >= 2 && long)
        || (r.reliable() && long)
}

/// Unanswered requests (no ICMP explanation), grouped by (method, src, dst, Call-ID of INVITEs).
pub(super) fn groups<'a>(
    ctx: &Context<'a>,
) -> BTreeMap<(String, String, String, String), Vec<TxRef<'a>>> {
    let mut g: BTreeMap<_, Vec<TxRef>> = BTreeMap::new();
    for r in ctx.all_transactions() {
        if !timed_out(ctx, &r) || !icmp_matches(ctx, r.tx).is_empty() {
            continue;
        }
        let t = r.tx;
        // Requests of a call (INVITE, BYE, CANCEL...) stay with their call; out-of-dialog ones
        // (OPTIONS pings, REGISTER) are grouped by method and path.
        let id = r.call.map(|c| c.call_id.clone()).unwrap_or_default();
        g.entry((t.method.clone(), t.src.clone(), t.dst.clone(), id))
            .or_default()
            .push(r);
    }
    g
}

fn run(ctx: &Context) -> Vec<Finding> {
    groups(ctx)
        .into_iter()
        .map(|((method, src, dst, id), txs)| finding(ctx, &method, &src, &dst, &id, &txs))
        .collect()
}

fn finding(
    ctx: &Context,
    method: &str,
    src: &str,
    dst: &str,
    call_id: &str,
    txs: &[TxRef],
) -> Finding {
    let frames: Vec<u64> = txs
        .iter()
        .flat_map(|r| r.tx.request_frames.iter().copied())
        .collect();
    let first = txs.iter().map(|r| r.tx.start_ns).min().unwrap_or(0);
    let last = txs
        .iter()
        .flat_map(|r| r.tx.request_times_ns.iter().copied())
        .max()
        .unwrap_or(first);
    let ua = txs.iter().find_map(|r| r.user_agent()).map(clip);
    let what = if txs.len() > 1 {
        format!("{} {method} requests", txs.len())
    } else {
        method.to_string()
    };
    let detail = format!(
        "{what} from {} to {} sent {} times over {} got no response at all (not even 100 Trying){}.",
        ctx.party(src),
        ctx.party(dst),
        frames.len().max(txs.len()),
        secs(last.saturating_sub(first)),
        ua.as_ref()
            .map(|u| format!("; User-Agent \"{u}\""))
            .unwrap_or_default(),
    );
    // A teardown request the far end ignores leaves the call up on its side (billing, a busy line),
    // but the call itself worked: a warning.
    let teardown = matches!(method, "BYE" | "CANCEL");
    let severity = if teardown {
        Severity::Warning
    } else {
        Severity::Error
    };
    let detail = if teardown {
        format!(
            "{detail} The call was being ended: the far end may keep its side of it up (a hung channel, a busy line, a wrong CDR duration)."
        )
    } else {
        detail
    };
    let mut d = Draft::new(
        "no_response",
        severity,
        format!("No response to {method} from {}", ctx.party(dst)),
    )
    .detail(detail)
    .frames(frames)
    .at(first);
    if !call_id.is_empty() {
        d = d.call(call_id);
    }
    if ctx.is_pbx(dst) {
        return d
            .kb(KB_CONNECTION)
            .step("The PBX does not answer this device: check the PBX address and port configured in the app or phone, and force a manual reconnection.")
            .step("Check the network between the device and the PBX (firewall, NAT, VPN) and that the PBX services are running.")
            .step("If the configuration is right and the device still cannot connect, escalate to the second level (network and server services check).")
            .build();
    }
    let mut steps = vec![format!(
        "{}: some trunk providers require the PBX IP address to be whitelisted; contact the provider to confirm.",
        if ctx.is_trunk(dst) {
            "Trunk side"
        } else {
            "Far side"
        }
    )];
    if ua
        .as_deref()
        .is_some_and(|u| u.to_ascii_lowercase().contains("portsip"))
    {
        steps.push(
            "Some trunks silently discard messages whose User-Agent contains \"PortSIP\": as System Administrator \
             change the User-Agent in Advanced > Settings, save and try again (see user_agent_blocked)."
                .to_string(),
        );
    }
    steps.push(format!(
        "Check that {} is the right address and port, and that no firewall drops SIP on the way.",
        clip(dst)
    ));
    d.steps(steps).kb(KB_NO_RESPONSE).build()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    #[test]
    fn fires_on_invite_timeout_with_every_transmission() {
        let mut a = analysis();
        a.calls.push(
            call("c", "192.0.2.10:5060", "203.0.113.7:5060")
                .no_response(7)
                .build(),
        );
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence_frames.len(), 7);
        assert_eq!(f[0].call_id.as_deref(), Some("c"));
        assert!(f[0].next_steps.iter().any(|s| s.contains("whitelisted")));
        assert!(
            f[0].next_steps
                .iter()
                .any(|s| s.contains("Advanced > Settings"))
        );
    }

    #[test]
    fn options_pings_grouped_and_two_transmissions_need_32s() {
        let mut a = analysis();
        for i in 0..3 {
            let t0 = T0 + i * 10 * SEC;
            let mut t = transaction(
                "OPTIONS",
                "192.0.2.10:5060",
                "203.0.113.9:5060",
                &[10 + i as u64 * 2, 11 + i as u64 * 2],
                &[t0, t0 + SEC / 2],
            );
            t.user_agent = Some("Asterisk".into());
            a.transactions.push(t);
        }
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert!(f[0].detail.starts_with("3 OPTIONS requests"));
        // Same two transmissions, capture ends 5 s later: not proven.
        a.captures[0].last_time_ns = Some(T0 + 25 * SEC);
        assert!(check(super::run, &a).is_empty());
    }

    #[test]
    fn silent_when_answered_or_icmp() {
        let mut a = healthy_analysis();
        a.calls.push(
            call("r", "192.0.2.10:5060", "203.0.113.5:5060")
                .failed(480, "Temporarily Unavailable")
                .build(),
        );
        assert!(check(super::run, &a).is_empty());
        let mut b = analysis();
        b.calls.push(
            call("h", "192.0.2.10:5060", "203.0.113.9:5060")
                .no_response(3)
                .build(),
        );
        b.icmp_errors.push(crate::model::IcmpEvidence {
            frame: 3,
            time_ns: T0 + SEC + 20 * MS,
            from: "203.0.113.9".into(),
            description: "Destination unreachable (Port unreachable)".into(),
            quoted_src: Some("192.0.2.10:5060".into()),
            quoted_dst: Some("203.0.113.9:5060".into()),
            quoted_protocol: Some(17),
        });
        assert!(check(super::run, &b).is_empty());
    }

    #[test]
    fn unanswered_bye_is_a_warning() {
        let mut a = analysis();
        a.transactions.push(transaction(
            "BYE",
            "192.0.2.10:5060",
            "203.0.113.7:5060",
            &[10, 11, 12, 13],
            &[T0, T0 + SEC / 2, T0 + SEC, T0 + 2 * SEC],
        ));
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, crate::model::Severity::Warning);
    }
}
