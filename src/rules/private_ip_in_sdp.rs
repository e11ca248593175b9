//! private_ip_in_sdp: an SDP c= address in a private/special range sent across a public leg.

use std::collections::BTreeMap;

use crate::model::{Call, Finding, Severity};

use super::kb::KB_VOICE;
use super::one_way_audio::{answered_window, directions};
use super::{Context, Draft, Rule, clip, ip_of, is_loopback, sdp_from_caller};

pub(super) fn rule() -> Rule {
    Rule {
        id: "private_ip_in_sdp",
        summary: "SDP announces a private/special media address to or from a public address",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks every SDP body (offer and answer): its connection address (c=) is \
private or special (RFC 1918, CGNAT 100.64/10, link-local 169.254/16 and fe80::/10, ULA fc00::/7, \
loopback when the peer is not local) while the SIP packet that carried it came from or went to a public \
address. SDP exchanged between two private addresses (a LAN call) is normal and not reported.\n\nWhy: the \
far end sends its RTP to the address in the SDP; a private address is unreachable across the Internet, \
so that direction of audio is lost unless NAT traversal (symmetric RTP, a media relay) rescues it. \
Severity: error when the media towards that address is missing while the other direction flowed \
(one-way audio), warning when media flowed anyway, when no media of the call is in the capture, or when \
the call was not answered.\n\nWhat to do: when the PBX announces it to a trunk, the trunk Options setting \"Use \
the private IP address to communicate with this trunk\" must be OFF for a trunk on the public Internet \
(ON only for a LAN trunk); when a phone announces it, fix NAT on the phone side (STUN, disable SIP ALG); \
when the trunk announces it, it is the trunk provider's problem.";

fn run(ctx: &Context) -> Vec<Finding> {
    ctx.analysis
        .calls
        .iter()
        .flat_map(|c| per_call(ctx, c))
        .collect()
}

struct Seen {
    /// The SDP came from the caller's side (proxies forwarding it included).
    from_caller: bool,
    party: String,
    peer: String,
    frames: Vec<u64>,
    first_ns: i64,
}

fn per_call(ctx: &Context, call: &Call) -> Vec<Finding> {
    // (announcing party ip, address) -> where and when.
    let mut seen: BTreeMap<(String, String), Seen> = BTreeMap::new();
    for e in &call.sdp {
        if !(ctx.is_public(&e.src) || ctx.is_public(&e.dst)) {
            continue;
        }
        for m in e.media.iter().filter(|m| m.port != 0) {
            let Some(addr) = m.addr.as_deref().filter(|a| ctx.is_private(a)) else {
                continue;
            };
            if is_loopback(addr) && (is_loopback(&e.src) || is_loopback(&e.dst)) {
                continue;
            }
            let key = (
                ip_of(&e.src).map(|i| i.to_string()).unwrap_or_default(),
                addr.to_string(),
            );
            let s = seen.entry(key).or_insert_with(|| Seen {
                from_caller: sdp_from_caller(call, e),
                party: e.src.clone(),
                peer: e.dst.clone(),
                frames: Vec::new(),
                first_ns: e.time_ns,
            });
            s.frames.push(e.frame);
        }
    }
    seen.into_iter()
        .map(|((_, addr), s)| finding(ctx, call, &addr, &s))
        .collect()
}

fn finding(ctx: &Context, call: &Call, addr: &str, s: &Seen) -> Finding {
    let towards = if s.from_caller {
        "callee->caller"
    } else {
        "caller->callee"
    };
    let answered = answered_window(ctx, call).is_some();
    let dirs = directions(ctx, call);
    let silent = ctx.thresholds.silent_max_packets;
    let dir = dirs.iter().find(|d| d.name == towards && d.negotiated);
    // One-way audio proven: the direction towards the private address is silent while the other one
    // carried media. With no media of the call in the capture at all, the effect is unknown.
    let other_flowed = dirs
        .iter()
        .any(|d| d.name != towards && d.packets >= silent);
    let missing = answered && other_flowed && dir.is_some_and(|d| d.packets < silent);
    let no_media_seen = answered && dir.is_some_and(|d| d.packets < silent) && !other_flowed;
    let (severity, outcome) = match dir {
        _ if missing => (
            Severity::Error,
            format!("no media came back ({towards}): one-way audio"),
        ),
        _ if no_media_seen => (
            Severity::Warning,
            "no media of this call is in the capture, so the effect on audio is unknown"
                .to_string(),
        ),
        Some(d) if answered => (
            Severity::Warning,
            format!(
                "media flowed anyway ({} packets {towards}), thanks to NAT traversal or symmetric RTP",
                d.packets
            ),
        ),
        _ if answered => (
            Severity::Warning,
            "the media direction towards it was not negotiated".to_string(),
        ),
        _ => (
            Severity::Warning,
            "the call was not answered, so the effect on audio is unknown".to_string(),
        ),
    };
    let party = ctx.party(&s.party);
    let detail = format!(
        "{party} put the private address {} in its SDP sent to {} (frames {}); the far end cannot reach it \
         across the Internet: {outcome}.",
        clip(addr),
        ctx.party(&s.peer),
        s.frames
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    );
    Draft::new(
        "private_ip_in_sdp",
        severity,
        format!(
            "{party} announces private media address {} to a public peer",
            clip(addr)
        ),
    )
    .call(&call.call_id)
    .detail(detail)
    .frames(s.frames.iter().copied())
    .steps(steps(ctx, &s.party, &s.peer))
    .kb(KB_VOICE)
    .at(s.first_ns)
    .build()
}

fn steps(ctx: &Context, party: &str, peer: &str) -> Vec<String> {
    if ctx.is_pbx(party) {
        let mut v = vec![
            "PBX side: in the trunk Options, turn OFF \"Use the private IP address to communicate with this \
             trunk\": the PBX then puts its public IP in the SDP of INVITE and 200 OK. Keep it ON only for a \
             trunk inside the LAN."
                .to_string(),
        ];
        if !ctx.is_trunk(peer) {
            v.push(
                "If the peer is a remote phone, check the PBX's public IP / NAT settings."
                    .to_string(),
            );
        }
        if !ctx.has_trunk_profile() {
            v.push("With a site profile listing the PBX and trunk addresses, voipdx can tell the trunk leg from a remote phone for sure.".to_string());
        }
        return v;
    }
    if ctx.is_trunk(party) {
        return vec!["Trunk side: the provider announces a private media address; contact the trunk support team.".to_string()];
    }
    vec![
        "The device is behind NAT and announces its LAN address: enable STUN/ICE or NAT keep-alive on the \
         phone or app, and disable SIP ALG on its router."
            .to_string(),
        "On the PBX side, symmetric RTP / NAT traversal lets media reach the device anyway; if audio is one-way, \
         check the PBX RTP port range in its firewall."
            .to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn go(c: Call) -> Vec<Finding> {
        let mut a = analysis();
        a.calls.push(c);
        check(super::run, &a)
    }

    #[test]
    fn error_when_return_media_missing() {
        let c = call("b", "192.0.2.10:5060", "203.0.113.5:5060")
            .sdp_addr(0, "10.0.0.10")
            .packets(1, 0)
            .build();
        let f = go(c);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(
            f[0].title.contains("The PBX (192.0.2.10:5060)"),
            "{}",
            f[0].title
        );
        assert!(
            f[0].next_steps[0]
                .contains("Use the private IP address to communicate with this trunk")
        );
        assert_eq!(f[0].evidence_frames, vec![1]);
    }

    #[test]
    fn warning_when_media_flowed_anyway() {
        let c = call("w", "192.0.2.10:5060", "203.0.113.5:5060")
            .sdp_addr(0, "100.64.1.2")
            .build();
        let f = go(c);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].detail.contains("symmetric RTP"));
    }

    #[test]
    fn phone_behind_nat_and_trunk_side() {
        let c = call("p", "198.51.100.7:5060", "192.0.2.10:5060")
            .ua(PHONE_UA, PBX_UA)
            .sdp_addr(0, "192.168.1.20")
            .build();
        let f = go(c);
        assert!(f[0].next_steps[0].contains("STUN"), "{:?}", f[0].next_steps);
        let t = call("t", "192.0.2.10:5060", "203.0.113.5:5060")
            .sdp_addr(1, "172.16.5.5")
            .build();
        let f = go(t);
        assert!(f[0].next_steps[0].contains("Trunk side"));
    }

    #[test]
    fn silent_on_lan_only_call_and_loopback() {
        let lan = call("l", "10.0.0.21:5060", "10.0.0.10:5060").build();
        assert!(go(lan).is_empty());
        let lo = call("lo", "127.0.0.1:5060", "127.0.0.1:5080")
            .sdp_addr(0, "127.0.0.1")
            .build();
        assert!(go(lo).is_empty());
        assert!(check(super::run, &healthy_analysis()).is_empty());
    }
}
