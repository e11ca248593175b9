//! destination_unreachable: ICMP errors came back for the destination of SIP requests.

use std::collections::BTreeMap;

use crate::model::{Finding, IcmpEvidence, Severity, Transaction};

use super::kb::KB_NO_RESPONSE;
use super::{Context, Draft, Rule, clip, same_endpoint};

pub(super) fn rule() -> Rule {
    Rule {
        id: "destination_unreachable",
        summary: "ICMP errors came back for the destination of SIP requests",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Matches every ICMP error (port, host or network unreachable, \
administratively prohibited) to the SIP requests whose destination it quotes.\n\nWhy: unlike a silent \
drop (no_response: the trunk's whitelist or User-Agent blocking), here the network answered: nothing \
listens on that address and port (service down, wrong port, e.g. 5060 vs 5080), the host is unreachable \
(routing, wrong address), or a firewall actively rejects the traffic.\n\nWhat to do: check the \
destination address and port configured for the trunk (or the PBX address in the phone or app), that \
the service runs there, and the firewall rules on the way.";

/// Most ICMP errors tied to one request (a flood is evidence enough).
const MAX_ICMP_PER_REQUEST: usize = 64;

/// ICMP errors that quote this request's destination (and source, when quoted), sent while it was tried.
pub(super) fn icmp_matches<'a>(ctx: &Context<'a>, t: &Transaction) -> Vec<&'a IcmpEvidence> {
    let last = t
        .request_times_ns
        .iter()
        .copied()
        .max()
        .unwrap_or(t.start_ns);
    let Some(ip) = super::ip_of(&t.dst) else {
        return Vec::new();
    };
    let (from, to) = (
        t.start_ns.saturating_sub(1_000_000),
        last.saturating_add(5_000_000_000),
    );
    ctx.icmp_towards(ip, from, to)
        .into_iter()
        .filter(|i| {
            i.quoted_dst
                .as_deref()
                .is_some_and(|q| same_endpoint(q, &t.dst))
        })
        .filter(|i| {
            i.quoted_src
                .as_deref()
                .is_none_or(|q| same_endpoint(q, &t.src))
        })
        .take(MAX_ICMP_PER_REQUEST)
        .collect()
}

/// Requests to one destination, the ICMP errors they drew, and the first call among them.
type Hits<'a> = (Vec<&'a Transaction>, Vec<&'a IcmpEvidence>, Option<String>);

fn run(ctx: &Context) -> Vec<Finding> {
    // destination -> (requests, icmp)
    let mut by_dst: BTreeMap<String, Hits> = BTreeMap::new();
    for r in ctx.all_transactions() {
        let hits = icmp_matches(ctx, r.tx);
        if hits.is_empty() {
            continue;
        }
        let e = by_dst.entry(r.tx.dst.clone()).or_default();
        e.0.push(r.tx);
        e.1.extend(hits);
        if e.2.is_none() {
            e.2 = r.call.map(|c| c.call_id.clone());
        }
    }
    by_dst
        .into_iter()
        .map(|(dst, (txs, icmp, call))| finding(ctx, &dst, &txs, &icmp, call))
        .collect()
}

fn finding(
    ctx: &Context,
    dst: &str,
    txs: &[&Transaction],
    icmp: &[&IcmpEvidence],
    call: Option<String>,
) -> Finding {
    let unanswered = txs.iter().any(|t| t.final_status.is_none());
    let desc = icmp
        .first()
        .map(|i| clip(&i.description))
        .unwrap_or_default();
    let from = icmp.first().map(|i| clip(&i.from)).unwrap_or_default();
    let methods: Vec<&str> = {
        let mut m: Vec<&str> = txs.iter().map(|t| t.method.as_str()).collect();
        m.sort_unstable();
        m.dedup();
        m
    };
    let low = desc.to_ascii_lowercase();
    let meaning = if low.contains("port") {
        "nothing listens on that port (SIP service down or wrong port) or a firewall rejects it"
    } else if low.contains("prohibited") || low.contains("filtered") {
        "a firewall actively rejects the traffic"
    } else {
        "the address cannot be reached (routing, wrong address, host down)"
    };
    let detail = format!(
        "{} {} to {} answered by ICMP \"{desc}\" from {from} ({} ICMP errors): {meaning}.{}",
        txs.len(),
        methods.join("/"),
        ctx.party(dst),
        icmp.len(),
        if unanswered {
            " No SIP response came."
        } else {
            " SIP responses came anyway (transient)."
        },
    );
    let mut frames: Vec<u64> = txs
        .iter()
        .flat_map(|t| t.request_frames.iter().copied())
        .collect();
    frames.extend(icmp.iter().map(|i| i.frame));
    let first = txs.iter().map(|t| t.start_ns).min().unwrap_or(0);
    let mut d = Draft::new(
        "destination_unreachable",
        if unanswered { Severity::Error } else { Severity::Warning },
        format!("{} unreachable: {desc}", ctx.party(dst)),
    )
    .detail(detail)
    .frames(frames)
    .kb(KB_NO_RESPONSE)
    .at(first)
    .step(format!("Check the address and port configured for {} (e.g. 5060 vs 5080, UDP vs TCP) and that its SIP service is running.", clip(dst)))
    .step("Check the firewall rules between the two hosts; this is an active rejection, not the silent drop of a trunk whitelist or User-Agent block.");
    if let Some(id) = call {
        d = d.call(&id);
    }
    d.build()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn icmp(frame: u64, t: i64, dst: &str) -> IcmpEvidence {
        IcmpEvidence {
            frame,
            time_ns: t,
            from: "203.0.113.9".into(),
            description: "Destination unreachable (Port unreachable)".into(),
            quoted_src: Some("192.0.2.10:5060".into()),
            quoted_dst: Some(dst.into()),
            quoted_protocol: Some(17),
        }
    }

    #[test]
    fn fires_on_port_unreachable_for_invite() {
        let mut a = analysis();
        let c = call("h", "192.0.2.10:5060", "203.0.113.9:5060")
            .no_response(1)
            .build();
        a.icmp_errors
            .push(icmp(2, c.start_ns + 25 * MS, "203.0.113.9:5060"));
        a.calls.push(c);
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(f[0].evidence_frames, vec![1, 2]);
        assert!(f[0].detail.contains("nothing listens"));
        assert_eq!(f[0].call_id.as_deref(), Some("h"));
    }

    #[test]
    fn silent_on_other_destination_or_time() {
        let mut a = analysis();
        let c = call("h", "192.0.2.10:5060", "203.0.113.9:5060")
            .no_response(1)
            .build();
        a.icmp_errors
            .push(icmp(2, c.start_ns + 25 * MS, "203.0.113.9:5070"));
        a.icmp_errors
            .push(icmp(3, c.start_ns + 60 * SEC, "203.0.113.9:5060"));
        a.calls.push(c);
        assert!(check(super::run, &a).is_empty());
    }
}
