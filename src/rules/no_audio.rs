//! no_audio: an answered call where no media flowed in either negotiated direction.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::model::{Call, Finding, Severity};

use super::kb::{KB_LOGS, KB_VOICE};
use super::one_way_audio::{
    Dir, answered_window, directions, media_evidence, private_announcement, side_steps,
};
use super::{Context, Draft, MAX_EVIDENCE, Rule, clip, ip_of};

pub(super) fn rule() -> Rule {
    Rule {
        id: "no_audio",
        summary: "answered call with no media in any negotiated direction",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks every answered call that lasted at least min_answered_s: every \
negotiated direction carried fewer than silent_max_packets RTP packets. A call put on hold from the start \
(inactive) is not a fault.\n\nWhy: both parties hear nothing. On trunk calls the causes are those of one-way \
audio on both sides: private SDP addresses (trunk option \"Use the private IP address to communicate with \
this trunk\"), the trunk requiring the PBX IP whitelisted for RTP, the cloud security group blocking the \
PBX RTP port range. When the capture holds no RTP at all, the capture itself may have been filtered \
(e.g. `tcpdump port 5060`).\n\nWhat to do: check the SDP addresses of the call, then firewalls and \
whitelists; recapture with `tcpdump -i any -w x.pcap` on the PBX (no port filter) and keep the call 5-10 s \
after the issue.";

fn run(ctx: &Context) -> Vec<Finding> {
    let t = ctx.thresholds;
    let no_rtp_at_all = ctx.analysis.streams.is_empty() && ctx.analysis.stats.rtp_packets == 0;
    let mut silent_calls = Vec::new();
    for call in &ctx.analysis.calls {
        let Some((start, end)) = answered_window(ctx, call) else {
            continue;
        };
        if (end.saturating_sub(start) as f64) < t.min_answered_s * 1e9 {
            continue;
        }
        let dirs = directions(ctx, call);
        let negotiated: Vec<&Dir> = dirs.iter().filter(|d| d.negotiated).collect();
        if negotiated.is_empty() || negotiated.iter().any(|d| d.packets >= t.silent_max_packets) {
            continue;
        }
        silent_calls.push((call, start, end, dirs));
    }
    if no_rtp_at_all {
        // A SIP-only capture (filtered, or a signalling test): one note, not one warning per call.
        return sip_only(&silent_calls).into_iter().collect();
    }
    let hosts = capture_hosts(ctx);
    silent_calls
        .iter()
        .map(|(call, start, end, dirs)| per_call(ctx, call, (*start, *end), dirs, &hosts))
        .collect()
}

type Silent<'a> = (&'a Call, i64, i64, Vec<Dir>);

/// The capture holds no RTP at all although calls were answered: info, once.
fn sip_only(calls: &[Silent]) -> Option<Finding> {
    let (_, start, _, _) = calls.first()?;
    let ids: Vec<String> = calls.iter().take(5).map(|c| clip(&c.0.call_id)).collect();
    let more = calls.len().saturating_sub(ids.len());
    let frames = calls
        .iter()
        .take(MAX_EVIDENCE)
        .filter_map(|c| super::final_response(c.0).map(|m| m.frame));
    Some(
        Draft::new(
            "no_audio",
            Severity::Info,
            format!(
                "{} answered call(s) but no RTP at all in the capture: media not checked",
                calls.len()
            ),
        )
        .detail(format!(
            "The capture holds SIP only: it was filtered (e.g. `tcpdump port 5060`), taken where media does not \
             pass, or the media used a transport voipdx does not see. Whether audio flowed cannot be told. \
             Calls: {}{}.",
            ids.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        ))
        .frames(frames)
        .step("To check audio, recapture on the PBX without a port filter: `tcpdump -i any -w x.pcap`, reproduce, keep the call 5-10 s, then stop.")
        .kb(KB_LOGS)
        .at(*start)
        .build(),
    )
}

fn per_call(
    ctx: &Context,
    call: &Call,
    (start, end): (i64, i64),
    dirs: &[Dir],
    hosts: &BTreeSet<IpAddr>,
) -> Finding {
    let negotiated: Vec<&Dir> = dirs.iter().filter(|d| d.negotiated).collect();
    let total: u64 = negotiated.iter().map(|d| d.packets).sum();
    let answered_s = end.saturating_sub(start) as f64 / 1e9;
    let (caller, callee) = (ctx.party(&call.caller_addr), ctx.party(&call.callee_addr));
    let counts = negotiated
        .iter()
        .map(|d| format!("{}: {} packets", d.name, d.packets))
        .collect::<Vec<_>>()
        .join(", ");
    let mut detail;
    let (severity, title) = if total > 0 {
        let last = negotiated
            .iter()
            .filter_map(|d| d.last_ns)
            .max()
            .unwrap_or(start);
        let stopped = last.saturating_sub(start).max(0) as f64 / 1e9;
        detail = format!(
            "Answered for {answered_s:.1} s between {caller} and {callee}; media flowed only {stopped:.1} s \
             after the answer and then stopped in every negotiated direction ({counts})."
        );
        (
            Severity::Error,
            format!(
                "Media stopped in both directions {stopped:.1} s into the call ({caller} <-> {callee})"
            ),
        )
    } else if media_bypasses(call, hosts) {
        detail = format!(
            "Answered for {answered_s:.1} s between {caller} and {callee}, but no RTP of this call is in the \
             capture ({counts}). The capture seems taken on {}, and the SDP sent the media elsewhere (direct \
             media between the endpoints): the media path does not cross the capture point.",
            hosts
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        (
            Severity::Info,
            format!(
                "No RTP of this call in the capture: its media bypasses the capture point ({caller} <-> {callee})"
            ),
        )
    } else {
        detail = format!(
            "Answered for {answered_s:.1} s between {caller} and {callee}, but no RTP of this call was seen in \
             any negotiated direction ({counts}), although the capture holds RTP of other calls. Either no \
             media flowed at all, or it took a path the capture does not see."
        );
        (
            Severity::Warning,
            format!("No RTP seen for an answered call ({caller} <-> {callee})"),
        )
    };
    for d in &negotiated {
        if let Some(cause) = private_announcement(ctx, call, d) {
            detail.push_str(&format!(" {cause} (see private_ip_in_sdp)."));
        }
    }
    let mut d = Draft::new("no_audio", severity, title)
        .call(&call.call_id)
        .detail(detail)
        .frames(media_evidence(call, dirs))
        .kb(if severity == Severity::Info {
            KB_LOGS
        } else {
            KB_VOICE
        })
        .at(start);
    if severity == Severity::Info {
        return d
            .step("To check this call's audio, capture where the media flows (on one of the endpoints, or a port mirror of their link).")
            .build();
    }
    if total == 0 {
        d = d.step("Capture on the PBX without a port filter (`tcpdump -i any -w x.pcap`) so that the media of every call is in the file.");
    }
    d = d.step(
        "In the trunk Options, \"Use the private IP address to communicate with this trunk\" must be OFF for a trunk on the public Internet.",
    );
    d.steps(side_steps(ctx, &call.callee_addr, &call.caller_addr))
        .build()
}

/// Where the capture seems taken: the IPs present in every SIP message of the capture (one host's own
/// capture), empty for a capture of a link or a mirror.
fn capture_hosts(ctx: &Context) -> BTreeSet<IpAddr> {
    let a = ctx.analysis;
    let mut pairs = a
        .calls
        .iter()
        .flat_map(|c| c.messages.iter().map(|m| (m.src.as_str(), m.dst.as_str())))
        .chain(
            a.registrations
                .iter()
                .map(|r| (r.src.as_str(), r.dst.as_str())),
        )
        .chain(
            a.transactions
                .iter()
                .map(|t| (t.src.as_str(), t.dst.as_str())),
        );
    let Some((s, d)) = pairs.next() else {
        return BTreeSet::new();
    };
    let mut common: BTreeSet<IpAddr> = [ip_of(s), ip_of(d)].into_iter().flatten().collect();
    for (s, d) in pairs {
        let here: BTreeSet<IpAddr> = [ip_of(s), ip_of(d)].into_iter().flatten().collect();
        common.retain(|ip| here.contains(ip));
        if common.is_empty() {
            break;
        }
    }
    common
}

/// The capture is one host's and neither media endpoint of the call is that host.
fn media_bypasses(call: &Call, hosts: &BTreeSet<IpAddr>) -> bool {
    if hosts.is_empty() || hosts.len() > 1 {
        return false;
    }
    let media: Vec<IpAddr> = call
        .media
        .iter()
        .filter_map(|m| m.sdp_dst.as_deref().and_then(ip_of))
        .collect();
    !media.is_empty() && !media.iter().any(|ip| hosts.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn go(c: crate::model::Call, rtp_elsewhere: bool) -> Vec<Finding> {
        let mut a = analysis();
        a.calls.push(c);
        if !rtp_elsewhere {
            a.stats.rtp_packets = 0;
        }
        run_one(&a)
    }

    fn run_one(a: &crate::model::Analysis) -> Vec<Finding> {
        check(super::run, a)
    }

    #[test]
    fn fires_when_both_directions_silent() {
        let c = call("n", "192.0.2.10:5060", "203.0.113.5:5060")
            .packets(0, 0)
            .packets(1, 2)
            .build();
        let f = go(c, true);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
    }

    #[test]
    fn one_note_when_capture_has_no_rtp_at_all() {
        let mut a = analysis();
        a.stats.rtp_packets = 0;
        for id in ["n1", "n2", "n3"] {
            a.calls.push(
                call(id, "192.0.2.10:5060", "203.0.113.5:5060")
                    .packets(0, 0)
                    .packets(1, 0)
                    .build(),
            );
        }
        let f = run_one(&a);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].severity, Severity::Info);
        assert!(f[0].call_id.is_none());
        assert!(
            f[0].title.starts_with("3 answered call(s)"),
            "{}",
            f[0].title
        );
        assert!(f[0].detail.contains("filtered"));
    }

    #[test]
    fn no_packet_at_all_is_a_warning_or_info_when_media_bypasses_the_capture() {
        let c = call("z", "192.0.2.10:5060", "203.0.113.5:5060")
            .packets(0, 0)
            .packets(1, 0)
            .build();
        let f = go(c.clone(), true);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].title.starts_with("No RTP seen"), "{}", f[0].title);
        // Every SIP message involves 192.0.2.10 (the capture host) and the SDP sends media elsewhere.
        let mut direct = c;
        direct.media[0].sdp_dst = Some("203.0.113.9:30000".into());
        direct.media[1].sdp_dst = Some("203.0.113.8:40000".into());
        let mut a = analysis();
        a.calls.push(direct);
        a.transactions.push(transaction(
            "OPTIONS",
            "192.0.2.10:5060",
            "10.0.0.5:5060",
            &[500],
            &[T0],
        ));
        let f = run_one(&a);
        assert_eq!(f[0].severity, Severity::Info, "{f:#?}");
        assert!(f[0].detail.contains("192.0.2.10"), "{}", f[0].detail);
    }

    #[test]
    fn few_packets_then_nothing_says_media_stopped() {
        let c = call("s", "192.0.2.10:5060", "203.0.113.5:5060")
            .packets(0, 4)
            .packets(1, 4)
            .build();
        let f = go(c, true);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].title.starts_with("Media stopped"), "{}", f[0].title);
    }

    #[test]
    fn silent_on_inactive_hold_one_way_and_healthy() {
        let hold = call("h", "192.0.2.10:5060", "203.0.113.5:5060")
            .packets(0, 0)
            .packets(1, 0)
            .media(0, |m| m.negotiated = false)
            .media(1, |m| m.negotiated = false)
            .build();
        assert!(go(hold, true).is_empty());
        let one = call("o", "192.0.2.10:5060", "203.0.113.5:5060")
            .packets(1, 0)
            .build();
        assert!(go(one, true).is_empty());
        assert!(run_one(&healthy_analysis()).is_empty());
    }
}
