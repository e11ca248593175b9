//! duplicate_registration: the same AOR bound by two different devices at the same time.

use std::collections::BTreeMap;

use crate::model::{Finding, Registration, Severity};

use super::kb::KB_CANT_RECEIVE;
use super::{Context, Draft, Rule, clip, ip_of, uri_host, uri_user};

pub(super) fn rule() -> Rule {
    Rule {
        id: "duplicate_registration",
        summary: "same AOR registered by two devices/contacts at the same time",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Groups successful registrations by address of record and reports two \
different contacts (different source address or device) whose bindings were valid at the same time. The \
same device re-registering from a new port (NAT rebinding) is only info.\n\nWhy: this is the \"virtual \
number duplication\" of the PrivateGSM workflows: another user or device holds the same number, so calls \
go to the wrong device or fork, and the user cannot receive calls (or its callers reach someone \
else).\n\nWhat to do (second level): check the user's account on the server: is the virtual number \
assigned to another user as well? Remove the duplicate entry or the stale device, then test a call to \
the user.";

fn key(aor: &str) -> String {
    format!("{}@{}", uri_user(aor), uri_host(aor)).to_ascii_lowercase()
}

/// The contact URI without display name, brackets and parameters: "sip:1001@10.0.0.21:5060".
fn contact_key(r: &Registration) -> String {
    let Some(c) = r.contact.as_deref() else {
        return r.src.clone();
    };
    let inner = match (c.find('<'), c.find('>')) {
        (Some(a), Some(b)) if a < b => c.get(a + 1..b).unwrap_or(c),
        _ => c,
    };
    inner
        .split(';')
        .next()
        .unwrap_or(inner)
        .trim()
        .to_ascii_lowercase()
}

fn valid_until(r: &Registration) -> i64 {
    r.start_ns
        .saturating_add(i64::from(r.expires.unwrap_or(3600)).saturating_mul(1_000_000_000))
}

fn run(ctx: &Context) -> Vec<Finding> {
    let mut by_aor: BTreeMap<String, Vec<&Registration>> = BTreeMap::new();
    for r in ctx
        .analysis
        .registrations
        .iter()
        .filter(|r| r.success && r.expires != Some(0))
    {
        by_aor.entry(key(&r.aor)).or_default().push(r);
    }
    let mut out = Vec::new();
    for regs in by_aor.values() {
        if let Some((a, b)) = overlapping_pair(regs) {
            out.push(finding(ctx, a, b));
        }
    }
    out
}

/// Most registrations of one AOR compared pairwise (refreshes beyond are not needed to prove it).
const MAX_PER_AOR: usize = 500;

/// The first two registrations with different contacts whose validity overlaps.
fn overlapping_pair<'a>(regs: &[&'a Registration]) -> Option<(&'a Registration, &'a Registration)> {
    let regs = regs.get(..regs.len().min(MAX_PER_AOR)).unwrap_or(regs);
    for (i, a) in regs.iter().enumerate() {
        for b in regs.iter().skip(i + 1) {
            let overlap = a.start_ns < valid_until(b) && b.start_ns < valid_until(a);
            let differ = contact_key(a) != contact_key(b) || ip_of(&a.src) != ip_of(&b.src);
            if overlap && differ {
                return Some((a, b));
            }
        }
    }
    None
}

fn finding(ctx: &Context, a: &Registration, b: &Registration) -> Finding {
    let same_device = ip_of(&a.src) == ip_of(&b.src) && a.user_agent == b.user_agent;
    let who = |r: &Registration| {
        format!(
            "{} ({}{})",
            clip(r.contact.as_deref().unwrap_or("?")),
            ctx.party(&r.src),
            r.user_agent
                .as_deref()
                .map(|u| format!(", \"{}\"", clip(u)))
                .unwrap_or_default()
        )
    };
    let (sev, title) = if same_device {
        (
            Severity::Info,
            format!(
                "{} re-registered from a new contact while the old binding was still valid",
                clip(&a.aor)
            ),
        )
    } else {
        (
            Severity::Warning,
            format!(
                "{} is registered by two devices at once (virtual number duplication)",
                clip(&a.aor)
            ),
        )
    };
    let mut frames: Vec<u64> = a.frames.clone();
    frames.extend(&b.frames);
    Draft::new("duplicate_registration", sev, title)
        .detail(format!(
            "{} is bound to {} and to {} at the same time; incoming calls may reach the wrong device or fork.",
            clip(&a.aor),
            who(a),
            who(b)
        ))
        .frames(frames)
        .step("Second level: check the user's account on the server: is the virtual number also assigned to another user? Remove the duplicate entry or the stale device.")
        .step("Then test one call to the user; if it still fails, check the server services and the client logs, then escalate.")
        .kb(KB_CANT_RECEIVE)
        .at(b.start_ns)
        .build()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn reg(src: &str, contact: &str, t: i64) -> Registration {
        registration(
            "sip:1001@pbx.example.com",
            src,
            "10.0.0.10:5060",
            contact,
            t,
            200,
        )
    }

    #[test]
    fn two_devices_overlap() {
        let mut a = analysis();
        a.registrations
            .push(reg("10.0.0.21:5060", "<sip:1001@10.0.0.21:5060>", T0));
        a.registrations.push(reg(
            "10.0.0.55:5060",
            "<sip:1001@10.0.0.55:5060>",
            T0 + 10 * SEC,
        ));
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].detail.contains("10.0.0.55"));
    }

    #[test]
    fn refresh_expired_and_nat_rebinding() {
        let mut a = analysis();
        a.registrations
            .push(reg("10.0.0.21:5060", "<sip:1001@10.0.0.21:5060>", T0));
        a.registrations.push(reg(
            "10.0.0.21:5060",
            "<sip:1001@10.0.0.21:5060;x=1>",
            T0 + 10 * SEC,
        ));
        assert!(
            check(super::run, &a).is_empty(),
            "refresh of the same contact"
        );
        let mut late = reg(
            "10.0.0.55:5060",
            "<sip:1001@10.0.0.55:5060>",
            T0 + 4000 * SEC,
        );
        late.expires = Some(60);
        a.registrations.push(late);
        assert!(check(super::run, &a).is_empty(), "first binding expired");
        a.registrations.push(reg(
            "10.0.0.21:6000",
            "<sip:1001@10.0.0.21:6000>",
            T0 + 20 * SEC,
        ));
        assert_eq!(check(super::run, &a)[0].severity, Severity::Info);
    }
}
