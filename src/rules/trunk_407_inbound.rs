//! trunk_407_inbound: an inbound INVITE from a trunk answered 407 by the PBX and never retried.

use crate::model::{Call, Finding, Severity};
use crate::site::{Trunk, digits};

use super::kb::{KB_DID, KB_TRUNK_IP};
use super::{Context, Draft, Rule, clip, message_frames, port_of, uri_user};

pub(super) fn rule() -> Rule {
    Rule {
        id: "trunk_407_inbound",
        summary: "inbound INVITE from a trunk answered 407 by the PBX and never retried",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks INVITEs from a public peer (a trunk) to the PBX answered 407 \
Proxy Authentication Required and never sent again with credentials. A 407 followed by an authenticated \
retry is normal (info).\n\nWhy: a PortSIP PBX answers 407 to a trunk's INVITE when it does not recognise \
the call: (1) the source IP is neither the trunk host nor one of its Trunk Associated IP Addresses (or, \
with \"Verify the port when receiving SIP messages from the trunk\" enabled, the source port differs \
from the configured one); (2) the dialled number is outside the tenant's DID pool for that trunk, \
typically because the trunk sends the country code (33620012861 or +33620012861) and the pool was \
configured without it (620012861). Trunks do not answer 407 with credentials, so the call just fails: \
calls to the DID are not received.\n\nWhat to do: (1) ask the trunk provider for every IP they send \
INVITEs from and add them to the Trunk Associated IP Addresses; keep port verification disabled unless \
required; (2) configure the DID pool as the trunk sends it, with the country code (no '+' needed). With \
a site profile listing the trunk addresses and DID pools, voipdx tells which cause applies.";

/// The call is an inbound trunk INVITE rejected with 407 and not retried.
pub(super) fn is_rejected_inbound(ctx: &Context, call: &Call) -> bool {
    let got_407 = call.final_status == Some(407)
        || (call.challenged == Some(407) && !call.challenge_answered);
    got_407 && !call.challenge_answered && is_inbound_from_trunk(ctx, call)
}

fn is_inbound_from_trunk(ctx: &Context, call: &Call) -> bool {
    let from = &call.caller_addr;
    let trunkish = ctx.trunk_of(from).is_some()
        || (ctx.is_public(from) && !ctx.is_pbx(from) && !ctx.is_device(from));
    trunkish && ctx.is_pbx(&call.callee_addr)
}

fn run(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for call in &ctx.analysis.calls {
        if is_rejected_inbound(ctx, call) {
            out.push(rejected(ctx, call));
        } else if call.challenged == Some(407)
            && call.challenge_answered
            && is_inbound_from_trunk(ctx, call)
        {
            out.push(
                Draft::new("trunk_407_inbound", Severity::Info, format!("Inbound call from {} authenticated after a 407", ctx.party(&call.caller_addr)))
                    .call(&call.call_id)
                    .detail("The PBX challenged the trunk's INVITE with 407 and the trunk sent it again with credentials: normal for a trunk that registers or authenticates.")
                    .frames(message_frames(call, &["INVITE", "407"]))
                    .kb(KB_TRUNK_IP)
                    .at(call.start_ns)
                    .build(),
            );
        }
    }
    out
}

/// Which documented cause applies, from the profile: (explanation, next step, kb).
fn diagnose(ctx: &Context, call: &Call, number: &str) -> Option<(String, String, &'static str)> {
    let site = ctx.site?;
    if site.trunks.is_empty() {
        return None;
    }
    let src = &call.caller_addr;
    let Some(trunk) = ctx.trunk_of(src) else {
        return Some((
            format!(
                "Cause 1: the source {} is not the host nor an Associated IP Address of any trunk in the site profile.",
                clip(src)
            ),
            format!(
                "Confirm with the trunk provider that they send INVITEs from {}, then add it to the Trunk Associated IP Addresses.",
                clip(src)
            ),
            KB_TRUNK_IP,
        ));
    };
    if let (true, Some(want), Some(got)) = (trunk.verify_port, trunk.sip_port, port_of(src))
        && want != got
    {
        return Some((
                format!("Cause 1 (port): trunk {} is set to verify the port; it sent from port {got}, configured {want}.", clip(&trunk.name)),
                "Disable \"Verify the port when receiving SIP messages from the trunk\" (recommended), or set the trunk's port to the one it sends from.".into(),
                KB_TRUNK_IP,
            ));
    }
    did_cause(trunk, number, site.country_code.as_deref())
}

fn did_cause(
    trunk: &Trunk,
    number: &str,
    cc: Option<&str>,
) -> Option<(String, String, &'static str)> {
    if trunk.did_pool.is_empty() || number.is_empty() {
        return None;
    }
    let pool: Vec<String> = trunk.did_pool.iter().map(|r| r.to_string()).collect();
    let pool = pool.join(", ");
    if trunk.did_contains(number) {
        return Some((
            format!("The source matches trunk {} and {number} is inside its DID pool ({pool}): neither documented cause applies per the profile.", clip(&trunk.name)),
            "Check that the site profile matches the PBX configuration (trunk assigned to the tenant, DID pool), then the inbound rules.".into(),
            KB_DID,
        ));
    }
    let national = cc
        .and_then(|c| number.strip_prefix(c))
        .filter(|n| trunk.did_contains(n));
    if let Some(n) = national {
        return Some((
            format!(
                "Cause 2: the trunk sends {number} with the country code, the DID pool ({pool}) holds {n} without it."
            ),
            format!(
                "Configure the DID pool with the country code, e.g. {number} (the '+' is not needed)."
            ),
            KB_DID,
        ));
    }
    if let Some(c) = cc.filter(|c| trunk.did_contains(&format!("{c}{number}"))) {
        return Some((
            format!(
                "Cause 2: the trunk sends {number} without the country code, the DID pool ({pool}) holds {c}{number}."
            ),
            format!("Add the number as the trunk sends it ({number}) to the DID pool."),
            KB_DID,
        ));
    }
    Some((
        format!(
            "Cause 2: {number} is outside the DID pool of trunk {} ({pool}).",
            clip(&trunk.name)
        ),
        format!(
            "Add {number} to the tenant's DID pool for this trunk, exactly as the trunk sends it."
        ),
        KB_DID,
    ))
}

fn rejected(ctx: &Context, call: &Call) -> Finding {
    let raw = uri_user(&call.request_uri);
    let raw = if raw.is_empty() {
        call.callee.as_str()
    } else {
        raw
    };
    let number = digits(raw);
    let src = ctx.party(&call.caller_addr);
    let mut detail = format!(
        "{src} sent an INVITE for {} to {}; the PBX answered 407 Proxy Authentication Required and the trunk \
         never retried: the call to the DID is not received.",
        clip(raw),
        ctx.party(&call.callee_addr)
    );
    let mut d = Draft::new(
        "trunk_407_inbound",
        Severity::Error,
        format!("Inbound call from {src} rejected with 407 by the PBX"),
    )
    .call(&call.call_id)
    .frames(message_frames(call, &["INVITE", "407", "ACK"]))
    .at(call.start_ns);
    match diagnose(ctx, call, &number) {
        Some((why, step, kb)) => {
            detail.push(' ');
            detail.push_str(&why);
            d = d.step(step).kb(kb);
        }
        None => {
            detail.push_str(" Two documented causes: (1) the source IP is not among the trunk's addresses; (2) the dialled number is outside the DID pool.");
            if raw.starts_with('+') || number.len() >= 11 {
                detail.push_str(&format!(
                    " The number arrives in international form ({}): if the DID pool was configured without the country code, that is cause 2.",
                    clip(raw)
                ));
            }
            d = d
                .step(format!(
                    "Cause 1: ask the trunk provider for the IPs they send INVITEs from and add {} to the Trunk Associated IP Addresses; keep \"Verify the port when receiving SIP messages from the trunk\" disabled unless required.",
                    super::ip_of(&call.caller_addr).map(|i| i.to_string()).unwrap_or_else(|| clip(&call.caller_addr))
                ))
                .step(format!(
                    "Cause 2: configure the tenant's DID pool exactly as the trunk sends the number, with the country code (e.g. {number}, no '+' needed)."
                ))
                .step("With a site profile (--site) listing the trunk's addresses and DID pool, voipdx could tell which of the two causes applies.")
                .kb(KB_TRUNK_IP);
        }
    }
    d.detail(detail).build()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::site::parse;

    fn inbound(retried: bool) -> crate::model::Analysis {
        let mut a = analysis();
        a.calls.push(
            call("d", "198.51.100.20:5060", "192.0.2.10:5060")
                .ua(TRUNK_UA, PBX_UA)
                .numbers("+33170000001", "+33620012861")
                .challenged(407, retried)
                .build(),
        );
        a
    }

    #[test]
    fn not_retried_is_error_with_both_causes() {
        let f = check(super::run, &inbound(false));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].detail.contains("+33620012861"));
        assert!(
            f[0].next_steps
                .iter()
                .any(|s| s.contains("Trunk Associated IP Addresses"))
        );
        assert!(f[0].next_steps.iter().any(|s| s.contains("33620012861")));
        assert!(f[0].next_steps.iter().any(|s| s.contains("site profile")));
    }

    #[test]
    fn retried_is_info() {
        let f = check(super::run, &inbound(true));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
    }

    #[test]
    fn profile_tells_the_cause() {
        let a = inbound(false);
        let base =
            "country_code = \"33\"\n[pbx]\naddresses = [\"192.0.2.10\"]\n[[trunk]]\nname = \"T\"\n";
        let s = parse(&format!(
            "{base}addresses = [\"203.0.113.5\"]\ndid_pool = [\"33620012861\"]"
        ))
        .unwrap();
        let f = check_site(super::run, &a, &s);
        assert!(f[0].detail.contains("Cause 1"), "{}", f[0].detail);
        assert_eq!(f[0].kb, KB_TRUNK_IP);
        let s = parse(&format!(
            "{base}addresses = [\"198.51.100.0/24\"]\ndid_pool = [\"620012861-620012869\"]"
        ))
        .unwrap();
        let f = check_site(super::run, &a, &s);
        assert!(f[0].detail.contains("country code"), "{}", f[0].detail);
        assert!(f[0].next_steps[0].contains("33620012861"));
        assert_eq!(f[0].kb, KB_DID);
        let s = parse(&format!(
            "{base}addresses = [\"198.51.100.20\"]\ndid_pool = [\"33145550000\"]"
        ))
        .unwrap();
        assert!(
            check_site(super::run, &a, &s)[0]
                .detail
                .contains("outside the DID pool")
        );
    }

    #[test]
    fn silent_on_outbound_and_phone_challenges() {
        let mut a = analysis();
        a.calls.push(
            call("o", "10.0.0.21:5060", "10.0.0.10:5060")
                .ua(PHONE_UA, PBX_UA)
                .challenged(407, false)
                .build(),
        );
        assert!(check(super::run, &a).is_empty());
        assert!(check(super::run, &healthy_analysis()).is_empty());
    }
}
