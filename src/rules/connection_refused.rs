//! connection_refused: TCP resets on SIP flows, TLS alerts on SIP/TLS, ICMP port unreachable on SIP ports.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::model::{Finding, IcmpEvidence, Severity, TcpReset};

use super::destination_unreachable::icmp_matches;
use super::kb::KB_CONNECTION;
use super::{Context, Draft, Rule, clip, ip_of, port_of};

pub(super) fn rule() -> Rule {
    Rule {
        id: "connection_refused",
        summary: "TCP RST on SIP flows, TLS alerts on SIP/TLS, ICMP port unreachable on SIP ports",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Reports TCP resets on flows that carried SIP or went to a SIP port, TLS \
alerts on SIP over TLS (5061), and ICMP port unreachable errors for SIP ports that no request explains \
(e.g. responses sent back to a closed Via port).\n\nWhy: a reset or port unreachable means the other end \
refused the connection: the SIP service does not listen on that transport/port (TCP vs UDP, 5060 vs \
5061), a firewall rejects it, or an idle connection was closed. TLS alerts mean a certificate, hostname \
or cipher/version mismatch.\n\nWhat to do: check the transport and port configured on both sides (trunk \
or app), the firewall, and for TLS the certificate chain and name; for apps follow the connection-issues \
workflow and escalate if the configuration is right.";

fn run(ctx: &Context) -> Vec<Finding> {
    let mut out = resets(ctx);
    out.extend(tls_alerts(ctx));
    out.extend(stray_icmp(ctx));
    out
}

fn resets(ctx: &Context) -> Vec<Finding> {
    let mut by_pair: BTreeMap<(String, String), Vec<&TcpReset>> = BTreeMap::new();
    for r in ctx.analysis.tcp_resets.iter().filter(|r| r.sip_flow) {
        by_pair
            .entry((r.from.clone(), r.to.clone()))
            .or_default()
            .push(r);
    }
    if by_pair.is_empty() {
        return Vec::new();
    }
    // (src ip, dst ip) of requests that never got a final response.
    let unanswered: BTreeSet<(Option<IpAddr>, Option<IpAddr>)> = ctx
        .all_transactions()
        .iter()
        .filter(|t| t.tx.final_status.is_none())
        .map(|t| (ip_of(&t.tx.src), ip_of(&t.tx.dst)))
        .collect();
    by_pair
        .into_iter()
        .map(|((from, to), rs)| {
            // A request from the reset's receiver to its sender that never got a response.
            let blocked = unanswered.contains(&(ip_of(&to), ip_of(&from)));
            let sev = if blocked { Severity::Error } else { Severity::Warning };
            Draft::new("connection_refused", sev, format!("{} reset the SIP/TCP connection from {}", ctx.party(&from), ctx.party(&to)))
                .detail(format!(
                    "{} TCP reset(s) from {} to {}{}: nothing accepts SIP/TCP there, a firewall rejects it, or an idle connection was closed.",
                    rs.len(),
                    clip(&from),
                    clip(&to),
                    if blocked { "; a request on that path got no response" } else { "" }
                ))
                .frames(rs.iter().map(|r| r.frame))
                .step(format!("Check that {} listens for SIP over TCP on port {} (or configure UDP / the right port on the other side).", ctx.party(&from), port_of(&from).map(|p| p.to_string()).unwrap_or_else(|| "?".into())))
                .step("Check the firewall between the two; for an app, check the PBX address, port and transport in its configuration.")
                .kb(KB_CONNECTION)
                .at(rs.first().map(|r| r.time_ns).unwrap_or(0))
                .build()
        })
        .collect()
}

fn tls_alerts(ctx: &Context) -> Vec<Finding> {
    ctx.analysis
        .encrypted_sip
        .iter()
        .filter(|f| f.alerts > 0)
        .map(|f| {
            Draft::new("connection_refused", Severity::Warning, format!("TLS alerts on SIP/TLS from {} to {}", ctx.party(&f.client), ctx.party(&f.server)))
                .detail(format!("{} TLS alert(s) on a SIP over TLS flow of {} packets: the handshake or session was refused (certificate not trusted, hostname mismatch, no common TLS version or cipher).", f.alerts, f.packets))
                .frames([f.first_frame])
                .step("Check the server certificate (chain, expiry, name matching the domain the client uses) and the TLS versions/ciphers allowed on both sides.")
                .kb(KB_CONNECTION)
                .build()
        })
        .collect()
}

fn sip_port(addr: &str) -> bool {
    matches!(port_of(addr), Some(5060 | 5061))
}

/// ICMP port unreachable on a SIP port that no SIP request explains (e.g. a response to a closed port).
fn stray_icmp(ctx: &Context) -> Vec<Finding> {
    let explained: BTreeSet<u64> = ctx
        .all_transactions()
        .iter()
        .flat_map(|t| icmp_matches(ctx, t.tx))
        .map(|i| i.frame)
        .collect();
    let endpoints: BTreeSet<(Option<IpAddr>, Option<u16>)> = ctx
        .analysis
        .calls
        .iter()
        .flat_map(|c| [&c.caller_addr, &c.callee_addr])
        .map(|a| (ip_of(a), port_of(a)))
        .collect();
    let mut by_dst: BTreeMap<String, Vec<&IcmpEvidence>> = BTreeMap::new();
    for i in &ctx.analysis.icmp_errors {
        let Some(q) = i.quoted_dst.as_deref() else {
            continue;
        };
        let port = i.description.to_ascii_lowercase().contains("port");
        let sip = sip_port(q) || endpoints.contains(&(ip_of(q), port_of(q)));
        if port && sip && !explained.contains(&i.frame) {
            by_dst.entry(q.to_string()).or_default().push(i);
        }
    }
    by_dst
        .into_iter()
        .map(|(dst, is)| {
            Draft::new("connection_refused", Severity::Warning, format!("SIP to {} bounced: port unreachable", clip(&dst)))
                .detail(format!("{} ICMP port unreachable for SIP packets to {}: nothing listens there. When these are responses, the requester's Via/rport points to a closed port (NAT).", is.len(), clip(&dst)))
                .frames(is.iter().map(|i| i.frame))
                .step("Check the Via and Contact ports of the requests and NAT keep-alive on the device; disable SIP ALG on its router.")
                .kb(KB_CONNECTION)
                .at(is.first().map(|i| i.time_ns).unwrap_or(0))
                .build()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn reset_and_tls_alert() {
        let mut a = analysis();
        a.tcp_resets.push(TcpReset {
            frame: 7,
            time_ns: T0,
            from: "203.0.113.5:5060".into(),
            to: "192.0.2.10:40123".into(),
            sip_flow: true,
        });
        a.tcp_resets.push(TcpReset {
            frame: 9,
            time_ns: T0,
            from: "10.0.0.1:80".into(),
            to: "10.0.0.2:4000".into(),
            sip_flow: false,
        });
        a.encrypted_sip.push(crate::model::EncryptedFlow {
            client: "10.0.0.21:50000".into(),
            server: "10.0.0.10:5061".into(),
            first_frame: 20,
            packets: 6,
            alerts: 1,
        });
        let f = check(super::run, &a);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].evidence_frames, vec![7]);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[1].title.contains("TLS"));
    }

    #[test]
    fn icmp_explained_by_a_request_is_left_to_destination_unreachable() {
        let mut a = analysis();
        let c = call("h", "192.0.2.10:5060", "203.0.113.9:5060")
            .no_response(1)
            .build();
        let icmp = IcmpEvidence {
            frame: 2,
            time_ns: c.start_ns + MS,
            from: "203.0.113.9".into(),
            description: "Destination unreachable (Port unreachable)".into(),
            quoted_src: Some("192.0.2.10:5060".into()),
            quoted_dst: Some("203.0.113.9:5060".into()),
            quoted_protocol: Some(17),
        };
        let mut stray = icmp.clone();
        stray.frame = 50;
        stray.time_ns += 60 * SEC;
        a.icmp_errors = vec![icmp, stray];
        a.calls.push(c);
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence_frames, vec![50]);
    }
}
