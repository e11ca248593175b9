//! SDP offer/answer <-> RTP streams. Ties each stream to its call by the endpoints the SDPs announced,
//! and, where NAT rewrote addresses, by the announced port and the call's time span; records the
//! mismatch ("SDP said X, packets came from Y") and which directions of each call carried media.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::model::{Call, Dtmf, MediaDirection, Message, SdpEvent, Stream};
use crate::rtp::mos;
use crate::rtp::tracker::Candidate;
use crate::timefmt;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Party {
    Caller,
    Callee,
}

#[derive(Clone, Copy, Debug)]
struct Announcement {
    call: usize,
    party: Party,
    frame: u64,
}

/// Slack around a call's span within which a stream may still belong to it.
const SLACK_NS: i64 = 5_000_000_000;

fn parse_sa(addr: &Option<String>, port: u16) -> Option<SocketAddr> {
    let ip: std::net::IpAddr = addr.as_deref()?.parse().ok()?;
    Some(SocketAddr::new(ip, port))
}

fn party_of(call: &Call, e: &SdpEvent) -> Party {
    if sdp_from_caller(call, e) {
        Party::Caller
    } else {
        Party::Callee
    }
}

/// The side of every SDP body of the call, in `call.sdp` order (worked out once per call: it scans
/// the call's messages).
fn parties(call: &Call) -> Vec<Party> {
    call.sdp.iter().map(|e| party_of(call, e)).collect()
}

/// The call's SDP bodies sent by `party`.
fn sdp_of<'c>(
    call: &'c Call,
    sides: &'c [Party],
    party: Party,
) -> impl DoubleEndedIterator<Item = &'c SdpEvent> + 'c {
    call.sdp
        .iter()
        .zip(sides.iter())
        .filter(move |(_, p)| **p == party)
        .map(|(e, _)| e)
}

/// The SDP body came from the caller's side of the call: it travelled downstream, along a hop of the
/// INVITEs that set the call up (a proxy forwarding the caller's offer to the callee still carries the
/// caller's SDP), or, when its hop is not one of those, it was sent from the caller's address.
pub fn sdp_from_caller(call: &Call, e: &SdpEvent) -> bool {
    let setup_invite =
        |m: &&Message| m.label == "INVITE" && call.answer_ns.is_none_or(|a| m.time_ns <= a);
    let hops = || call.messages.iter().filter(setup_invite);
    // Exact sockets first (loopback captures share one IP), then IPs (UDP replies to another port).
    if hops().any(|m| m.src == e.src && m.dst == e.dst) {
        return true;
    }
    if hops().any(|m| m.src == e.dst && m.dst == e.src) {
        return false;
    }
    let ip = |a: &str| a.parse::<SocketAddr>().ok().map(|s| s.ip());
    let (src, dst) = (ip(&e.src), ip(&e.dst));
    if src.is_some() && src != dst {
        if hops().any(|m| ip(&m.src) == src && ip(&m.dst) == dst) {
            return true;
        }
        if hops().any(|m| ip(&m.src) == dst && ip(&m.dst) == src) {
            return false;
        }
    }
    e.src == call.caller_addr
}

/// (endpoint, direction attribute) of the audio (or first) media a party announced that governed the
/// answered call longest (re-INVITEs move media: a B2BUA handing the call over to direct media and
/// taking it back before the BYE), or the last one when the call was not answered.
fn current_media(call: &Call, sides: &[Party], party: Party) -> Option<(SocketAddr, String)> {
    let announced: Vec<(i64, SocketAddr, String)> = sdp_of(call, sides, party)
        .filter_map(|e| {
            let m = e
                .media
                .iter()
                .find(|m| m.kind == "audio" && m.port > 0)
                .or_else(|| e.media.iter().find(|m| m.port > 0))?;
            Some((e.time_ns, parse_sa(&m.addr, m.port)?, m.direction.clone()))
        })
        .collect();
    let Some(answer) = call.answer_ns else {
        return announced.last().map(|(_, sa, d)| (*sa, d.clone()));
    };
    let last_message = call.messages.last().map_or(answer, |m| m.time_ns);
    let end = call.end_ns.unwrap_or(last_message).max(answer);
    let mut best: Option<(i64, usize)> = None;
    for (i, (t, _, _)) in announced.iter().enumerate() {
        let until = announced.get(i + 1).map_or(end, |n| n.0).min(end);
        let span = until.saturating_sub((*t).max(answer)).max(0);
        if best.is_none_or(|(b, _)| span >= b) {
            best = Some((span, i));
        }
    }
    best.and_then(|(_, i)| announced.get(i))
        .map(|(_, sa, d)| (*sa, d.clone()))
}

/// Direction attribute of the media an SDP body describes (first audio, else first media; a port of 0
/// is "inactive").
fn media_direction(e: &SdpEvent) -> Option<&str> {
    let m = e
        .media
        .iter()
        .find(|m| m.kind == "audio")
        .or_else(|| e.media.first())?;
    Some(if m.port == 0 {
        "inactive"
    } else {
        &m.direction
    })
}

/// Every offer/answer state of the call allowed media in this direction: a hold (sendonly, recvonly,
/// inactive) at any point means a silent direction may have been asked for, not a fault.
fn negotiated_throughout(call: &Call, sides: &[Party], from_caller: bool) -> bool {
    let sends = |d: &str| d == "sendrecv" || d == "sendonly";
    let receives = |d: &str| d == "sendrecv" || d == "recvonly";
    let (mut caller, mut callee): (Option<&str>, Option<&str>) = (None, None);
    for (e, side) in call.sdp.iter().zip(sides.iter()) {
        let Some(d) = media_direction(e) else {
            continue;
        };
        if *side == Party::Caller {
            caller = Some(d);
        } else {
            callee = Some(d);
        }
        let (sender, receiver) = if from_caller {
            (caller, callee)
        } else {
            (callee, caller)
        };
        if let (Some(s), Some(r)) = (sender, receiver)
            && !(sends(s) && receives(r))
        {
            return false;
        }
    }
    true
}

/// Every media endpoint (port > 0) the party announced in the call, in order, at most 16.
fn announced(call: &Call, sides: &[Party], party: Party) -> Vec<SocketAddr> {
    let mut v = Vec::new();
    for e in sdp_of(call, sides, party) {
        for m in e.media.iter().filter(|m| m.port > 0) {
            if let Some(sa) = parse_sa(&m.addr, m.port)
                && !v.contains(&sa)
                && v.len() < 16
            {
                v.push(sa);
            }
        }
    }
    v
}

fn within(call: &Call, t: i64) -> bool {
    let end = call.end_ns.unwrap_or(i64::MAX - SLACK_NS);
    t >= call.start_ns - SLACK_NS && t <= end + SLACK_NS
}

/// `correlate` for one segment of the capture: stream ids start at `first_id` (ids stay unique over
/// the whole capture; calls refer to streams by id).
pub fn correlate_from(
    calls: &mut [Call],
    candidates: Vec<Candidate>,
    first_id: usize,
) -> Vec<Stream> {
    let mut streams = correlate(calls, candidates);
    if first_id > 0 {
        for s in &mut streams {
            s.id += first_id;
        }
        for c in calls.iter_mut() {
            for id in c.stream_ids.iter_mut() {
                *id += first_id;
            }
            for d in c.media.iter_mut() {
                for id in d.stream_ids.iter_mut() {
                    *id += first_id;
                }
            }
        }
    }
    streams
}

/// Converts accumulators to model streams and ties them to calls.
pub fn correlate(calls: &mut [Call], candidates: Vec<Candidate>) -> Vec<Stream> {
    let mut index: HashMap<SocketAddr, Vec<Announcement>> = HashMap::new();
    let mut by_port: HashMap<u16, Vec<Announcement>> = HashMap::new();
    let sides: Vec<Vec<Party>> = calls.iter().map(parties).collect();
    for (ci, call) in calls.iter().enumerate() {
        let call_sides = sides.get(ci).map(Vec::as_slice).unwrap_or(&[]);
        for (e, party) in call.sdp.iter().zip(call_sides.iter().copied()) {
            for m in &e.media {
                if m.port == 0 {
                    continue;
                }
                let a = Announcement {
                    call: ci,
                    party,
                    frame: e.frame,
                };
                if let Some(sa) = parse_sa(&m.addr, m.port) {
                    let v = index.entry(sa).or_default();
                    if v.len() < 256 {
                        v.push(a);
                    }
                }
                let v = by_port.entry(m.port).or_default();
                if v.len() < 256 {
                    v.push(a);
                }
            }
        }
    }
    let mut streams = Vec::with_capacity(candidates.len());
    for (id, c) in candidates.into_iter().enumerate() {
        let m = c.stats.metrics();
        let pick = |list: Option<&Vec<Announcement>>| -> Option<Announcement> {
            list?
                .iter()
                .filter(|a| within(&calls[a.call], m.start_ns))
                .filter(|a| a.frame <= m.first_frame || list.map_or(0, |l| l.len()) == 1)
                .max_by_key(|a| a.frame)
                .copied()
        };
        // (announcement, the stream goes TO the announcing party?)
        let tie = pick(index.get(&c.dst))
            .map(|a| (a, true))
            .or_else(|| pick(index.get(&c.src)).map(|a| (a, false)))
            .or_else(|| {
                // NAT: the announced address was rewritten; match the port within the call's span.
                pick(by_port.get(&c.dst.port())).map(|a| (a, true))
            })
            .or_else(|| pick(by_port.get(&c.src.port())).map(|a| (a, false)));
        let call_id = tie.map(|(a, _)| calls[a.call].call_id.clone());
        let loss_pct = m.lost_percent.max(0.0);
        let mean_jitter = m.mean_jitter_ms.max(0.0);
        // MOS needs loss and jitter only, which SRTP leaves readable in the headers.
        let scored = m.packets >= 2;
        let codec = c.codec();
        let r = scored.then(|| mos::r_factor(&codec, loss_pct, mean_jitter));
        let mos_value = r.map(mos::mos_from_r);
        let dtmf: Vec<Dtmf> = c
            .dtmf
            .as_ref()
            .map(|d| {
                d.digits()
                    .iter()
                    .map(|x| Dtmf {
                        digit: x.digit.to_string(),
                        frame: x.start_frame,
                        time_ns: x.start_ns,
                        duration_ms: x.duration_ms,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let series = c
            .stats
            .series()
            .iter()
            .map(|p| (p.second, p.packets, p.lost, p.max_jitter_ms))
            .collect();
        if let Some((a, to_announcer)) = tie {
            // A B2BUA that hands media over to the endpoints (direct media) announces the same endpoint
            // in both legs: the stream is the media of every call that announced exactly its socket.
            // Both ends must match: the receiver's and the sender's announcements, by the two parties.
            let mut ties = vec![(a, to_announcer)];
            let to_list = index.get(&c.dst).map(Vec::as_slice).unwrap_or(&[]);
            let from_list = index.get(&c.src).map(Vec::as_slice).unwrap_or(&[]);
            for b in to_list {
                let other = &calls[b.call];
                let inside =
                    m.start_ns >= other.start_ns && other.end_ns.is_none_or(|e| m.start_ns <= e);
                let both_ends = from_list
                    .iter()
                    .any(|f| f.call == b.call && f.party != b.party);
                if inside
                    && both_ends
                    && ties.len() < 4
                    && !ties.iter().any(|(t, _)| t.call == b.call)
                {
                    ties.push((*b, true));
                }
            }
            for (a, to_announcer) in ties {
                let call = &mut calls[a.call];
                if call.stream_ids.len() < 64 {
                    call.stream_ids.push(id);
                }
                let from_caller = (a.party == Party::Callee) == to_announcer;
                let call_sides = sides.get(a.call).map(Vec::as_slice).unwrap_or(&[]);
                add_direction(call, call_sides, from_caller, id, &c, &m);
            }
        }
        streams.push(Stream {
            id,
            call_id,
            src: c.src.to_string(),
            dst: c.dst.to_string(),
            ssrc: format!("0x{:08X}", c.ssrc),
            payload_type: c.first_pt,
            payload_types: m.payload_types.clone(),
            codec: codec.into_owned(),
            clock_rate: c.clock_rate,
            packets: m.packets,
            expected: m.expected,
            lost: m.lost,
            lost_percent: m.lost_percent,
            sequence_errors: m.sequence_errors,
            duplicates: m.duplicates,
            out_of_order: m.out_of_order,
            min_delta_ms: m.min_delta_ms,
            mean_delta_ms: m.mean_delta_ms,
            max_delta_ms: m.max_delta_ms,
            max_delta_frame: m.max_delta_frame,
            min_jitter_ms: m.min_jitter_ms,
            mean_jitter_ms: m.mean_jitter_ms,
            max_jitter_ms: m.max_jitter_ms,
            max_skew_ms: m.max_skew_ms,
            clock_drift_ms: m.clock_drift_ms,
            mos: mos_value.map(round2),
            r_factor: r.map(round2),
            first_frame: m.first_frame,
            last_frame: m.last_frame,
            start_time: timefmt::rfc3339(m.start_ns),
            end_time: timefmt::rfc3339(m.end_ns),
            start_ns: m.start_ns,
            end_ns: m.end_ns,
            found_by: if c.announced { "sdp" } else { "heuristic" }.to_string(),
            srtp: c.srtp,
            comfort_noise_packets: c.comfort_noise,
            dtmf,
            rtcp: c
                .rtcp
                .as_deref()
                .filter(|r| r.reports > 0 || r.sender_reports > 0 || r.xr_mos_lq.is_some())
                .cloned(),
            series,
        });
    }
    for (call, call_sides) in calls.iter_mut().zip(sides.iter()) {
        finish_directions(call, call_sides, &streams);
    }
    streams
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn direction_name(from_caller: bool) -> &'static str {
    if from_caller {
        "caller->callee"
    } else {
        "callee->caller"
    }
}

fn ensure_directions(call: &mut Call, sides: &[Party]) {
    if !call.media.is_empty() {
        return;
    }
    let caller = current_media(call, sides, Party::Caller);
    let callee = current_media(call, sides, Party::Callee);
    let sends = |d: &str| d == "sendrecv" || d == "sendonly";
    let receives = |d: &str| d == "sendrecv" || d == "recvonly";
    for from_caller in [true, false] {
        let (sender, receiver) = if from_caller {
            (&caller, &callee)
        } else {
            (&callee, &caller)
        };
        let negotiated = match (sender, receiver) {
            (Some((_, sd)), Some((_, rd))) => {
                sends(sd) && receives(rd) && negotiated_throughout(call, sides, from_caller)
            }
            _ => false,
        };
        call.media.push(MediaDirection {
            direction: direction_name(from_caller).to_string(),
            sdp_dst: receiver.as_ref().map(|(sa, _)| sa.to_string()),
            negotiated,
            packets: 0,
            first_ns: None,
            last_ns: None,
            observed_src: None,
            observed_dst: None,
            stream_ids: vec![],
        });
    }
}

fn add_direction(
    call: &mut Call,
    sides: &[Party],
    from_caller: bool,
    id: usize,
    c: &Candidate,
    m: &crate::rtp::stream::StreamMetrics,
) {
    ensure_directions(call, sides);
    let (sender, receiver) = if from_caller {
        (Party::Caller, Party::Callee)
    } else {
        (Party::Callee, Party::Caller)
    };
    // Any endpoint the party announced during the call (re-INVITEs move media) is expected.
    let sender_sdp = announced(call, sides, sender);
    let receiver_sdp = announced(call, sides, receiver);
    let d = &mut call.media[if from_caller { 0 } else { 1 }];
    d.packets += m.packets;
    d.first_ns = Some(d.first_ns.map_or(m.start_ns, |x| x.min(m.start_ns)));
    d.last_ns = Some(d.last_ns.map_or(m.end_ns, |x| x.max(m.end_ns)));
    if d.stream_ids.len() < 16 {
        d.stream_ids.push(id);
    }
    if !receiver_sdp.is_empty() && !receiver_sdp.contains(&c.dst) && d.observed_dst.is_none() {
        d.observed_dst = Some(c.dst.to_string());
    }
    if !sender_sdp.is_empty() && !sender_sdp.contains(&c.src) && d.observed_src.is_none() {
        d.observed_src = Some(c.src.to_string());
    }
}

fn finish_directions(call: &mut Call, sides: &[Party], streams: &[Stream]) {
    ensure_directions(call, sides);
    let best_mos = |ids: &[usize]| -> Option<f64> {
        ids.iter()
            .filter_map(|i| streams.get(*i))
            .filter(|s| s.codec != "telephone-event")
            .max_by_key(|s| s.packets)
            .and_then(|s| s.mos)
    };
    call.mos_caller_to_callee = best_mos(&call.media[0].stream_ids);
    call.mos_callee_to_caller = best_mos(&call.media[1].stream_ids);
    let mut digits = String::new();
    for id in &call.stream_ids {
        if let Some(s) = streams.get(*id) {
            for d in &s.dtmf {
                if digits.len() < 64 {
                    digits.push_str(&d.digit);
                }
            }
        }
    }
    call.dtmf = digits;
}
