//! one_way_audio: an answered call where media flowed in one direction only, although both were negotiated.

use crate::model::{Call, Finding, Severity};

use super::kb::KB_VOICE;
use super::{
    Context, Draft, Rule, direction_parties, ip_of, message_frames, same_endpoint, sdp_frames,
};

pub(super) fn rule() -> Rule {
    Rule {
        id: "one_way_audio",
        summary: "answered call with media in one direction only although SDP negotiated both",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks every answered call: both directions were negotiated (sendrecv), \
one carried media, the other stayed silent (fewer than silent_max_packets packets while the other carried \
more than active_min_packets over at least min_answered_s of answered time). A negotiated hold \
(sendonly/recvonly/inactive) is not a fault, and a direction that went quiet just before the BYE is not \
one-way audio.\n\nWhy: one-way audio on trunk calls is almost always an address or firewall problem: the \
PBX announced its private IP in the SDP (trunk option \"Use the private IP address to communicate with \
this trunk\" must be OFF for a trunk on the public Internet), the trunk provider requires the PBX IP (and \
the Extended Media Server IP) whitelisted for RTP, or the cloud security group (AWS, Azure, GCE) does not \
open the PBX RTP port range. NAT and SIP ALG on the customer router cause the same on phone calls.\n\nWhat \
to do: look at the SDP c= address of the silent direction's receiver (rule private_ip_in_sdp), then the \
firewall and whitelists. If extension-to-extension calls work and trunk calls do not, follow the KB \
article's voice-issues section; if it persists, contact PortSIP support with the capture.";

/// Media of one direction, from `Call.media` or (fallback) from the call's streams.
pub(super) struct Dir {
    pub name: String,
    pub negotiated: bool,
    pub packets: u64,
    pub first_ns: Option<i64>,
    pub last_ns: Option<i64>,
    pub sdp_dst: Option<String>,
    pub frames: Vec<u64>,
}

/// The call's two media directions.
pub(super) fn directions(ctx: &Context, call: &Call) -> Vec<Dir> {
    if !call.media.is_empty() {
        return call
            .media
            .iter()
            .map(|m| Dir {
                name: m.direction.clone(),
                negotiated: m.negotiated,
                packets: m.packets,
                first_ns: m.first_ns,
                last_ns: m.last_ns,
                sdp_dst: m.sdp_dst.clone(),
                frames: stream_frames(ctx, &m.stream_ids),
            })
            .collect();
    }
    from_streams(ctx, call)
}

fn stream_frames(ctx: &Context, ids: &[usize]) -> Vec<u64> {
    ids.iter()
        .filter_map(|id| ctx.stream(*id))
        .flat_map(|s| [s.first_frame, s.last_frame])
        .collect()
}

/// Fallback: sort the call's streams into directions by the SDP addresses each party announced.
fn from_streams(ctx: &Context, call: &Call) -> Vec<Dir> {
    let (fwd, back) = negotiated_from_sdp(call);
    let announced = |party: &str| -> Vec<String> {
        call.sdp
            .iter()
            .filter(|e| ip_of(&e.src) == ip_of(party))
            .flat_map(|e| {
                e.media
                    .iter()
                    .filter_map(|m| m.addr.as_ref().map(|a| sock(a, m.port)))
            })
            .collect()
    };
    let (to_caller, to_callee) = (announced(&call.caller_addr), announced(&call.callee_addr));
    let mut dirs = [
        empty("caller->callee", fwd, to_callee.first().cloned()),
        empty("callee->caller", back, to_caller.first().cloned()),
    ];
    for s in ctx.streams_of(call) {
        let back_dir = to_caller.iter().any(|a| same_endpoint(a, &s.dst))
            || (!to_callee.iter().any(|a| same_endpoint(a, &s.dst))
                && ip_of(&s.src) == ip_of(&call.callee_addr));
        let d = &mut dirs[usize::from(back_dir)];
        d.packets += s.packets;
        d.first_ns = Some(d.first_ns.map_or(s.start_ns, |f| f.min(s.start_ns)));
        d.last_ns = Some(d.last_ns.map_or(s.end_ns, |l| l.max(s.end_ns)));
        d.frames.extend([s.first_frame, s.last_frame]);
    }
    dirs.into_iter().collect()
}

fn sock(addr: &str, port: u16) -> String {
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

fn empty(name: &str, negotiated: bool, sdp_dst: Option<String>) -> Dir {
    Dir {
        name: name.into(),
        negotiated,
        packets: 0,
        first_ns: None,
        last_ns: None,
        sdp_dst,
        frames: Vec::new(),
    }
}

/// (caller->callee, callee->caller) negotiated, from the last SDP answer's first audio stream.
fn negotiated_from_sdp(call: &Call) -> (bool, bool) {
    let answer = call.sdp.iter().rev().find(|e| e.role == "answer");
    let Some(m) = answer.and_then(|e| e.media.iter().find(|m| m.kind == "audio")) else {
        return (false, false);
    };
    if m.port == 0 {
        return (false, false);
    }
    match m.direction.as_str() {
        "sendonly" => (false, true),
        "recvonly" => (true, false),
        "inactive" => (false, false),
        _ => (true, true),
    }
}

/// Answered time window (answer to end of call or capture), if the call was answered.
pub(super) fn answered_window(ctx: &Context, call: &Call) -> Option<(i64, i64)> {
    let start = call.answer_ns?;
    let end = call.end_ns.unwrap_or_else(|| ctx.capture_end(start));
    Some((start, end.max(start)))
}

/// Evidence of a media finding: SDP bodies, 200 OK, ACK, BYE and the stream frames.
pub(super) fn media_evidence(call: &Call, dirs: &[Dir]) -> Vec<u64> {
    let mut v = sdp_frames(call);
    v.extend(message_frames(call, &["200", "ACK", "BYE"]));
    v.extend(dirs.iter().flat_map(|d| d.frames.iter().copied()));
    v
}

/// The receiver of `dir` announced a private address to a public peer: the likely cause.
pub(super) fn private_announcement(ctx: &Context, call: &Call, dir: &Dir) -> Option<String> {
    let (sender, receiver) = direction_parties(call, &dir.name);
    let e = call.sdp.iter().find(|e| {
        ip_of(&e.src) == ip_of(receiver)
            && e.media
                .iter()
                .any(|m| m.addr.as_deref().is_some_and(|a| ctx.is_private(a)))
    })?;
    if !ctx.is_public(sender) && !ctx.is_public(&e.dst) {
        return None;
    }
    let addr = e
        .media
        .iter()
        .find_map(|m| m.addr.as_deref().filter(|a| ctx.is_private(a)))?;
    Some(format!(
        "{} announced the private address {addr} in its SDP (frame {}), unreachable from {}",
        ctx.party(receiver),
        e.frame,
        ctx.party(sender)
    ))
}

fn run(ctx: &Context) -> Vec<Finding> {
    let t = ctx.thresholds;
    let mut out: Vec<Finding> = Vec::new();
    // Media endpoints already reported: a B2BUA that hands the media to the endpoints shows the same
    // silent direction in both of its legs; one finding names both.
    let mut reported: Vec<((String, String), usize)> = Vec::new();
    for call in &ctx.analysis.calls {
        let Some((start, end)) = answered_window(ctx, call) else {
            continue;
        };
        if (end.saturating_sub(start) as f64) < t.min_answered_s * 1e9 {
            continue;
        }
        let dirs = directions(ctx, call);
        let negotiated: Vec<&Dir> = dirs.iter().filter(|d| d.negotiated).collect();
        if negotiated.len() != 2 {
            continue;
        }
        let silent = negotiated.iter().find(|d| d.packets < t.silent_max_packets);
        let active = negotiated.iter().find(|d| d.packets > t.active_min_packets);
        if let (Some(s), Some(a)) = (silent, active) {
            let key = media_ends(call, s, a);
            if let Some((_, i)) = reported.iter().find(|(k, _)| *k == key)
                && let Some(f) = out.get_mut(*i)
            {
                f.detail.push_str(&format!(
                    " The same media is silent in call {} (another leg of this call through a B2BUA).",
                    super::clip(&call.call_id)
                ));
                continue;
            }
            reported.push((key, out.len()));
            out.push(finding(ctx, call, s, a, &dirs, end.saturating_sub(start)));
        }
    }
    out
}

/// (sender, receiver) of the silent direction: the media endpoints the SDP announced (the active
/// direction's destination is the silent sender's own address), else the SIP parties.
fn media_ends(call: &Call, silent: &Dir, active: &Dir) -> (String, String) {
    let (sip_sender, sip_receiver) = direction_parties(call, &silent.name);
    (
        active
            .sdp_dst
            .clone()
            .unwrap_or_else(|| sip_sender.to_string()),
        silent
            .sdp_dst
            .clone()
            .unwrap_or_else(|| sip_receiver.to_string()),
    )
}

fn finding(
    ctx: &Context,
    call: &Call,
    silent: &Dir,
    active: &Dir,
    dirs: &[Dir],
    answered_ns: i64,
) -> Finding {
    let (sender, receiver) = direction_parties(call, &silent.name);
    let (media_sender, media_receiver) = media_ends(call, silent, active);
    let hears_nothing = if silent.name.starts_with("callee") {
        "the caller"
    } else {
        "the callee"
    };
    let mut detail = format!(
        "Answered for {:.1} s; {} packets {} ({} to {}), but {} packets {} ({} to {}): {hears_nothing} \
         hears nothing. SDP said send to {}.",
        answered_ns as f64 / 1e9,
        active.packets,
        active.name,
        ctx.party(&media_receiver),
        ctx.party(&media_sender),
        silent.packets,
        silent.name,
        ctx.party(&media_sender),
        ctx.party(&media_receiver),
        silent.sdp_dst.as_deref().unwrap_or("(unknown)"),
    );
    let via_proxy = super::ip_of(&media_sender) != super::ip_of(sender)
        || super::ip_of(&media_receiver) != super::ip_of(receiver);
    if via_proxy {
        detail.push_str(&format!(
            " The signalling of this call runs {} -> {}; the media endpoints are the ones the SDP announced.",
            ctx.party(&call.caller_addr),
            ctx.party(&call.callee_addr)
        ));
    }
    let mut d = Draft::new(
        "one_way_audio",
        Severity::Error,
        format!(
            "One-way audio: no media {} ({} -> {})",
            silent.name,
            ctx.party(&media_sender),
            ctx.party(&media_receiver)
        ),
    );
    if let Some(cause) = private_announcement(ctx, call, silent) {
        detail.push_str(&format!(" Likely cause: {cause} (see private_ip_in_sdp)."));
        d = d.step(
            "If the PBX announced it: in the trunk Options, turn OFF \"Use the private IP address to \
             communicate with this trunk\" (keep it ON only for a trunk on the LAN).",
        );
    }
    d = d.steps(side_steps(ctx, sender, receiver));
    d.call(&call.call_id)
        .detail(detail)
        .frames(media_evidence(call, dirs))
        .kb(KB_VOICE)
        .at(call.answer_ns.unwrap_or(call.start_ns))
        .build()
}

/// What to check, depending on who should have sent and who should have received.
pub(super) fn side_steps(ctx: &Context, sender: &str, receiver: &str) -> Vec<String> {
    let mut v = Vec::new();
    if ctx.is_trunk(sender) && ctx.is_pbx(receiver) {
        v.push("Trunk side: some providers send RTP only to whitelisted addresses: have the PBX IP and the \
                Extended Media Server IP (if configured) whitelisted by the trunk provider."
            .to_string());
    }
    if ctx.is_pbx(receiver) || ctx.is_pbx(sender) {
        v.push("PBX side: if the PBX runs on AWS, Azure or Google Cloud, open the PBX RTP port range in the \
                security group / firewall rules (see \"Preparing the Server for Installation\")."
            .to_string());
    }
    v.push(format!(
        "Check NAT and firewalls in front of {} for the RTP ports; disable SIP ALG on routers. The capture \
         shows no packet from {}: either it never sent any, or they were dropped before the capture point.",
        ctx.party(receiver),
        ctx.party(sender)
    ));
    v.push("If extension-to-extension calls work but trunk calls do not and the steps above do not help, \
            contact PortSIP support with this capture."
        .to_string());
    v
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn with(c: crate::model::Call) -> crate::model::Analysis {
        let mut a = analysis();
        a.calls.push(c);
        a
    }

    #[test]
    fn fires_on_one_way_with_private_sdp_cause() {
        let c = call("b", "192.0.2.10:5060", "203.0.113.5:5060")
            .sdp_addr(0, "10.0.0.10")
            .packets(1, 0)
            .build();
        let f = run_rule(&with(c));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].title.contains("callee->caller"), "{}", f[0].title);
        assert!(f[0].detail.contains("10.0.0.10"), "{}", f[0].detail);
        assert!(
            f[0].next_steps
                .iter()
                .any(|s| s.contains("Use the private IP address"))
        );
        assert!(f[0].next_steps.iter().any(|s| s.contains("whitelisted")));
        assert!(f[0].wireshark_filter.starts_with("frame.number in {1 "));
    }

    #[test]
    fn silent_on_negotiated_hold() {
        let c = call("h", "192.0.2.10:5060", "203.0.113.5:5060")
            .packets(1, 0)
            .media(1, |m| m.negotiated = false)
            .build();
        assert!(run_rule(&with(c)).is_empty());
    }

    #[test]
    fn silent_when_media_stops_just_before_bye() {
        let c = call("s", "192.0.2.10:5060", "203.0.113.5:5060")
            .media(1, |m| {
                m.packets = 400;
                m.last_ns = m.last_ns.map(|t| t - 2 * SEC);
            })
            .build();
        assert!(run_rule(&with(c)).is_empty());
    }

    #[test]
    fn silent_on_short_answer_and_healthy() {
        let short = call("x", "192.0.2.10:5060", "203.0.113.5:5060")
            .packets(1, 0)
            .edit(|c| c.end_ns = c.answer_ns.map(|t| t + SEC))
            .build();
        assert!(run_rule(&with(short)).is_empty());
        assert!(run_rule(&healthy_analysis()).is_empty());
    }

    #[test]
    fn falls_back_to_streams() {
        let mut c = call("f", "192.0.2.10:5060", "203.0.113.5:5060").build();
        c.media.clear();
        c.stream_ids = vec![0];
        let mut a = with(c);
        a.streams
            .push(stream(0, "192.0.2.10:40000", "203.0.113.5:30000", 500));
        let f = run_rule(&a);
        assert_eq!(f.len(), 1);
        assert!(f[0].title.contains("callee->caller"));
    }

    fn run_rule(a: &crate::model::Analysis) -> Vec<Finding> {
        check(super::run, a)
    }
}
