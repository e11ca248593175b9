//! dns_failure: SIP-related DNS lookups that failed or went unanswered.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::model::{DnsLookup, Finding, Severity};

use super::{Context, Draft, Rule, clip, ip_of, uri_host};

pub(super) fn rule() -> Rule {
    Rule {
        id: "dns_failure",
        summary: "SIP-related DNS lookup answered NXDOMAIN/SERVFAIL or unanswered",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks DNS lookups related to SIP (NAPTR, _sip/_sips SRV, names containing \
\"sip\", or the domains seen in SIP URIs): answered NXDOMAIN, SERVFAIL or REFUSED, or never answered, \
and not resolved later. An SRV/NAPTR miss followed by a working A/AAAA lookup of the domain is the normal \
fallback and is not reported; a failed lookup of a domain that SIP requests reached and got answers from \
anyway is info.\n\nWhy: the KB lists DNS among the causes of 503 Service Unavailable: the \
app or IP phone failed to resolve the PBX domain, or the PBX failed to resolve the trunk domain. Calls \
and registrations fail before any SIP is sent.\n\nWhat to do: check the domain spelling in the trunk \
(or app) configuration, the DNS server used by the PBX or device, and that the provider's records \
exist; use the trunk's IP address if the provider allows it.";

/// Domains in the SIP URIs of the capture (not IP literals), lower case.
fn sip_domains(ctx: &Context) -> BTreeSet<String> {
    let a = ctx.analysis;
    let mut uris: Vec<&str> = Vec::new();
    for c in &a.calls {
        uris.extend([c.request_uri.as_str(), c.from.as_str(), c.to.as_str()]);
    }
    uris.extend(a.registrations.iter().map(|r| r.aor.as_str()));
    uris.extend(
        a.transactions
            .iter()
            .flat_map(|t| [t.from.as_str(), t.to.as_str()]),
    );
    uris.into_iter()
        .map(uri_host)
        .filter(|h| !h.is_empty() && ip_of(h).is_none())
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        .take(1000)
        .collect()
}

/// "_sip._udp.example.com." -> "example.com".
fn base(name: &str) -> String {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    let mut rest = n.as_str();
    while let Some(r) = rest
        .strip_prefix('_')
        .and_then(|r| r.split_once('.'))
        .map(|(_, r)| r)
    {
        rest = r;
    }
    rest.to_string()
}

fn sip_related(l: &DnsLookup, domains: &BTreeSet<String>) -> bool {
    let name = l.name.to_ascii_lowercase();
    l.qtype.eq_ignore_ascii_case("NAPTR")
        || name.starts_with("_sip")
        || name.contains("sip")
        || domains.contains(&base(&name))
}

fn failed(l: &DnsLookup) -> bool {
    match l.rcode.as_deref() {
        None => true,
        Some(r) => ["NXDOMAIN", "SERVFAIL", "REFUSED"]
            .iter()
            .any(|x| r.eq_ignore_ascii_case(x)),
    }
}

fn run(ctx: &Context) -> Vec<Finding> {
    let domains = sip_domains(ctx);
    let dns = &ctx.analysis.dns;
    let resolved: BTreeSet<String> = dns
        .iter()
        .filter(|l| l.answers > 0 && !failed(l))
        .map(|l| base(&l.name))
        .collect();
    let mut by_name: BTreeMap<String, Vec<&DnsLookup>> = BTreeMap::new();
    for l in dns.iter().filter(|l| failed(l) && sip_related(l, &domains)) {
        if resolved.contains(&base(&l.name)) {
            continue;
        }
        by_name
            .entry(l.name.trim_end_matches('.').to_ascii_lowercase())
            .or_default()
            .push(l);
    }
    let reached = reached_domains(ctx);
    by_name
        .into_iter()
        .map(|(name, ls)| {
            let client = ls.first().and_then(|l| ip_of(&l.client));
            let anyway = client.is_some_and(|ip| reached.contains(&(ip, base(&name))));
            let f = finding(ctx, &name, &ls, anyway);
            if anyway { reached_anyway(f, &name) } else { f }
        })
        .collect()
}

/// (client IP, domain) pairs: the client itself sent SIP requests for the domain (request URI of a
/// call, AOR of a registration) and got answers. Whatever DNS said, that client found the server.
fn reached_domains(ctx: &Context) -> BTreeSet<(IpAddr, String)> {
    let a = ctx.analysis;
    let mut out = BTreeSet::new();
    let mut add = |client: Option<IpAddr>, uri: &str| {
        let h = uri_host(uri);
        if let Some(ip) = client
            && !h.is_empty()
            && ip_of(h).is_none()
            && out.len() < 1000
        {
            out.insert((ip, h.trim_end_matches('.').to_ascii_lowercase()));
        }
    };
    for c in &a.calls {
        // Requests the client sent in this call that were answered (a response came back to it).
        for m in c.messages.iter().filter(|m| m.label == "INVITE") {
            let answered = c.messages.iter().any(|r| {
                r.cseq_method == "INVITE"
                    && r.label.starts_with(|ch: char| ch.is_ascii_digit())
                    && ip_of(&r.dst) == ip_of(&m.src)
            });
            if answered {
                add(ip_of(&m.src), &c.request_uri);
            }
        }
    }
    for r in &a.registrations {
        if r.transactions.iter().any(|t| !t.responses.is_empty()) {
            add(ip_of(&r.src), &r.aor);
        }
    }
    out
}

/// The lookup failed, but SIP to the domain went through (A record fallback, a cached answer or a
/// configured outbound proxy): worth knowing, not a fault.
fn reached_anyway(mut f: Finding, name: &str) -> Finding {
    f.severity = Severity::Info;
    f.title = format!(
        "DNS lookup of {} failed, but SIP reached the domain anyway",
        clip(name)
    );
    f.detail = format!(
        "{} SIP requests for {} were sent and answered all the same (fallback to the A record, a cached \
         answer, or a configured outbound proxy): the lookup failure did not block them.",
        f.detail.trim_end(),
        clip(&base(name))
    );
    f
}

fn finding(ctx: &Context, name: &str, ls: &[&DnsLookup], reached: bool) -> Finding {
    let first = ls.first().copied();
    let client = first.map(|l| l.client.as_str()).unwrap_or("");
    let server = first.map(|l| clip(&l.server)).unwrap_or_default();
    let outcomes: BTreeSet<String> = ls
        .iter()
        .map(|l| {
            format!(
                "{} {}",
                clip(&l.qtype),
                l.rcode
                    .as_deref()
                    .map(clip)
                    .unwrap_or_else(|| "unanswered".into())
            )
        })
        .collect();
    let who = if reached {
        ""
    } else if ctx.is_pbx(client) {
        "The PBX failed to resolve the trunk domain: calls sent to the trunk fail (often as 503 Service Unavailable)."
    } else {
        "The device failed to resolve the domain (for an app or IP phone: the PBX domain): it cannot register or call (503 Service Unavailable)."
    };
    let mut frames: Vec<u64> = ls.iter().map(|l| l.frame).collect();
    frames.extend(ls.iter().filter_map(|l| l.response_frame));
    Draft::new("dns_failure", Severity::Error, format!("DNS cannot resolve {}", clip(name)))
        .detail(format!(
            "{} asked {server} for {} {} time(s): {}; no later lookup resolved it. {who}",
            ctx.party(client),
            clip(name),
            ls.len(),
            outcomes.into_iter().collect::<Vec<_>>().join(", ")
        ))
        .frames(frames)
        .step(format!("Check the spelling of {} in the trunk (or app) configuration and that the provider's DNS records exist.", clip(name)))
        .step(format!("Check the DNS server {server} used by {}; use the trunk's IP address if the provider allows it.", ctx.party(client)))
        .kb("portsip-troubleshooting-call-issues.md §1 503 - Service Unavailable")
        .at(first.map(|l| l.time_ns).unwrap_or(0))
        .build()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn lookup(frame: u64, name: &str, qtype: &str, rcode: Option<&str>, answers: u16) -> DnsLookup {
        DnsLookup {
            frame,
            time_ns: T0 + frame as i64 * MS,
            client: "192.0.2.10:40001".into(),
            server: "192.0.2.53:53".into(),
            name: name.into(),
            qtype: qtype.into(),
            rcode: rcode.map(Into::into),
            answers,
            response_frame: rcode.map(|_| frame + 1),
        }
    }

    #[test]
    fn nxdomain_for_trunk_domain() {
        let mut a = analysis();
        a.calls
            .push(call("c", "192.0.2.10:5060", "203.0.113.5:5060").build());
        a.dns
            .push(lookup(1, "trunk.example.net", "A", Some("NXDOMAIN"), 0));
        a.dns
            .push(lookup(3, "_sip._udp.voip.example.org", "SRV", None, 0));
        a.dns
            .push(lookup(5, "www.example.com", "A", Some("NXDOMAIN"), 0));
        let f = check(super::run, &a);
        assert_eq!(f.len(), 2, "{f:#?}");
        assert!(
            f.iter()
                .any(|x| x.title.contains("trunk.example.net") && x.evidence_frames == vec![1, 2])
        );
    }

    #[test]
    fn srv_miss_with_a_fallback_is_silent() {
        let mut a = analysis();
        a.dns.push(lookup(
            1,
            "_sip._udp.sip.example.com",
            "SRV",
            Some("NXDOMAIN"),
            0,
        ));
        a.dns
            .push(lookup(3, "sip.example.com", "A", Some("NOERROR"), 1));
        assert!(check(super::run, &a).is_empty());
    }

    #[test]
    fn failed_lookup_of_a_domain_sip_reached_anyway_is_info() {
        let mut a = analysis();
        a.calls.push(
            call("c", "192.0.2.10:5060", "203.0.113.5:5060")
                .edit(|c| c.request_uri = "sip:100@voip.example.org".into())
                .build(),
        );
        a.dns
            .push(lookup(3, "_sip._udp.voip.example.org", "SRV", None, 0));
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
    }
}
