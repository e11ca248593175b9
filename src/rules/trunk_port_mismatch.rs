//! trunk_port_mismatch: a trunk sends from a port other than the configured one and gets 407.

use std::collections::BTreeMap;

use crate::model::{Call, Finding, Severity};

use super::kb::KB_TRUNK_IP;
use super::trunk_407_inbound::is_rejected_inbound;
use super::{Context, Draft, Rule, clip, ip_of, message_frames, port_of};

pub(super) fn rule() -> Rule {
    Rule {
        id: "trunk_port_mismatch",
        summary: "trunk sends from another port than configured; port verification answers 407",
        run,
    }
}

pub(super) const EXPLAIN: &str = "With a site profile: inbound requests from a trunk's address whose source \
port differs from the trunk's configured sip_port (error when the PBX answered 407, info otherwise). \
Without a profile: the same trunk IP gets 407 from one source port and is accepted from another.\n\nWhy: \
when the trunk option \"Verify the port when receiving SIP messages from the trunk\" is enabled, the PBX \
answers 407 to SIP messages whose source port does not match the configured port. Many trunks send from \
a pool of ports or an ephemeral port.\n\nWhat to do: keep \"Verify the port when receiving SIP messages \
from the trunk\" disabled (the default) unless required, or configure the port the trunk really sends \
from.";

fn run(ctx: &Context) -> Vec<Finding> {
    if ctx.has_trunk_profile() {
        with_profile(ctx)
    } else {
        heuristic(ctx)
    }
}

fn inbound_calls<'a>(ctx: &Context<'a>) -> impl Iterator<Item = &'a Call> {
    let a = ctx.analysis;
    a.calls
        .iter()
        .filter(|c| ctx.is_pbx(&c.callee_addr) || !ctx.pbx_known())
}

fn with_profile(ctx: &Context) -> Vec<Finding> {
    let mut groups: BTreeMap<(String, String), Vec<&Call>> = BTreeMap::new();
    for c in inbound_calls(ctx) {
        let Some(t) = ctx.trunk_of(&c.caller_addr) else {
            continue;
        };
        let (Some(want), Some(got)) = (t.sip_port, port_of(&c.caller_addr)) else {
            continue;
        };
        if want != got {
            groups
                .entry((t.name.clone(), c.caller_addr.clone()))
                .or_default()
                .push(c);
        }
    }
    groups
        .into_iter()
        .map(|((name, src), calls)| {
            let want = ctx.trunk_of(&src).and_then(|t| t.sip_port).unwrap_or(0);
            let rejected: Vec<&&Call> = calls.iter().filter(|c| is_rejected_inbound(ctx, c)).collect();
            let sev = if rejected.is_empty() { Severity::Info } else { Severity::Error };
            let outcome = if rejected.is_empty() {
                "the PBX accepted them (port verification is off): fine, but enabling it would reject them".to_string()
            } else {
                format!("{} were answered 407 by the PBX", rejected.len())
            };
            finding(ctx, sev, &src, &calls, format!(
                "Trunk {} is configured with port {want} but {} INVITE(s) came from {}: {outcome}.",
                clip(&name),
                calls.len(),
                clip(&src)
            ))
        })
        .collect()
}

fn heuristic(ctx: &Context) -> Vec<Finding> {
    // trunk IP -> (rejected calls, accepted source ports)
    let mut by_ip: BTreeMap<String, (Vec<&Call>, Vec<u16>)> = BTreeMap::new();
    for c in inbound_calls(ctx).filter(|c| ctx.is_trunk(&c.caller_addr)) {
        let ip = ip_of(&c.caller_addr)
            .map(|i| i.to_string())
            .unwrap_or_default();
        let e = by_ip.entry(ip).or_default();
        if is_rejected_inbound(ctx, c) {
            e.0.push(c);
        } else if c.final_status.is_some_and(|s| s < 300) {
            e.1.extend(port_of(&c.caller_addr));
        }
    }
    let mut out = Vec::new();
    for (ip, (rejected, ok_ports)) in by_ip {
        let bad: Vec<&Call> = rejected
            .into_iter()
            .filter(|c| port_of(&c.caller_addr).is_some_and(|p| !ok_ports.contains(&p)))
            .collect();
        if bad.is_empty() || ok_ports.is_empty() {
            continue;
        }
        let src = bad
            .first()
            .map(|c| c.caller_addr.clone())
            .unwrap_or_default();
        out.push(finding(ctx, Severity::Warning, &src, &bad, format!(
            "{ip} is accepted from port(s) {ok_ports:?} but {} INVITE(s) from {} were answered 407: port verification is likely enabled. A site profile with the trunk's sip_port would make this firm.",
            bad.len(),
            clip(&src)
        )));
    }
    out
}

fn finding(ctx: &Context, sev: Severity, src: &str, calls: &[&Call], detail: String) -> Finding {
    let frames: Vec<u64> = calls
        .iter()
        .flat_map(|c| message_frames(c, &["INVITE", "407"]))
        .collect();
    let mut d = Draft::new("trunk_port_mismatch", sev, format!("{} sends SIP from an unexpected port", ctx.party(src)))
        .detail(detail)
        .frames(frames)
        .kb(KB_TRUNK_IP)
        .at(calls.iter().map(|c| c.start_ns).min().unwrap_or(0))
        .step("Keep \"Verify the port when receiving SIP messages from the trunk\" disabled (the default) unless required, or set the trunk's port to the one it sends from.");
    if let [c] = calls {
        d = d.call(&c.call_id);
    }
    d.build()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn inbound(id: &str, src: &str, rejected: bool) -> crate::model::Call {
        inbound_at(id, src, rejected, 0)
    }

    fn inbound_at(id: &str, src: &str, rejected: bool, dt: i64) -> crate::model::Call {
        let b = call(id, src, "192.0.2.10:5060")
            .ua(TRUNK_UA, PBX_UA)
            .numbers("+331", "+33620012861")
            .shift(dt, dt as u64 / MS as u64);
        if rejected {
            b.challenged(407, false).build()
        } else {
            b.build()
        }
    }

    #[test]
    fn profile_port_mismatch_with_407_is_error() {
        let mut a = analysis();
        a.calls.push(inbound("p", "203.0.113.5:5080", true));
        let s = crate::site::parse("[[trunk]]\nname = \"T\"\naddresses = [\"203.0.113.5\"]\nsip_port = 5060\nverify_port = true").unwrap();
        let f = check_site(super::run, &a, &s);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].detail.contains("port 5060"));
        let mut ok = analysis();
        ok.calls.push(inbound("q", "203.0.113.5:5060", true));
        assert!(check_site(super::run, &ok, &s).is_empty());
    }

    #[test]
    fn heuristic_needs_a_contrast() {
        let mut a = analysis();
        a.calls.push(inbound("bad", "203.0.113.5:5080", true));
        assert!(check(super::run, &a).is_empty());
        a.calls
            .push(inbound_at("good", "203.0.113.5:5060", false, 5 * SEC));
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
    }
}
