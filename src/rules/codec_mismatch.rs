//! codec_mismatch: the call was refused for its media (488/415/606) or offer and answer share no codec.

use crate::model::{Call, Finding, SdpEvent, SdpMedia, Severity};

use super::{Context, Draft, Rule, clip, final_response, message_frames, sdp_frames};

pub(super) fn rule() -> Rule {
    Rule {
        id: "codec_mismatch",
        summary: "488/415/606 or no common codec between SDP offer and answer",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks calls refused with 488 Not Acceptable Here, 415 Unsupported Media \
Type or 606 Not Acceptable, and offer/answer pairs whose audio streams share no payload type (static \
types by number, dynamic ones by codec name; telephone-event and CN do not count), or whose answer \
rejects the audio (port 0). A re-INVITE of an answered call refused for its media (a switch to T.38 fax, \
typically) is a warning: the call goes on with the media it had.\n\nWhy: the two ends have no codec (or media protection) in common, so the \
call fails or stays silent.\n\nWhat to do: compare the codec lists of the extension, the PBX and the \
trunk, and enable a common codec (G.711 PCMU/PCMA is the safe choice for trunks); check SRTP \
requirements on both sides.";

pub(super) const MEDIA_REFUSALS: &[u16] = &[415, 488, 606];
const KB: &str = "RFC 3264 §6 (offer/answer); RFC 3261 §21.4.26";

fn run(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for call in &ctx.analysis.calls {
        if call
            .final_status
            .is_some_and(|s| MEDIA_REFUSALS.contains(&s))
        {
            out.push(refused(ctx, call));
        } else if let Some(f) = refused_reinvite(ctx, call) {
            out.push(f);
        } else if let Some((offer, answer, why)) = mismatch(call) {
            out.push(
                Draft::new("codec_mismatch", Severity::Error, format!("No common codec between {} and {}", ctx.party(&offer.src), ctx.party(&answer.src)))
                    .call(&call.call_id)
                    .detail(format!("{why} Offer (frame {}): {}. Answer (frame {}): {}.", offer.frame, codecs(offer), answer.frame, codecs(answer)))
                    .frames([offer.frame, answer.frame])
                    .step("Enable a common codec on both sides (extension, PBX and trunk codec lists); G.711 PCMU/PCMA is the safe choice for trunks.")
                    .kb(KB)
                    .at(answer.time_ns)
                    .build(),
            );
        }
    }
    out
}

fn refused(ctx: &Context, call: &Call) -> Finding {
    let status = call.final_status.unwrap_or(0);
    let by = final_response(call)
        .map(|m| ctx.party(&m.src))
        .unwrap_or_else(|| ctx.party(&call.callee_addr));
    let offer = call.sdp.iter().find(|e| e.role == "offer");
    let mut detail = format!(
        "{by} refused the call with {status} {}. Offered: {}.",
        clip(call.final_reason.as_deref().unwrap_or("")),
        offer.map(codecs).unwrap_or_else(|| "(no SDP seen)".into())
    );
    for w in call.warnings.iter().take(3) {
        detail.push_str(&format!(" Warning: {}.", clip(w)));
    }
    let mut frames = message_frames(call, &["INVITE", &status.to_string()]);
    frames.extend(sdp_frames(call));
    Draft::new("codec_mismatch", Severity::Error, format!("{by} refused the offered media ({status})"))
        .call(&call.call_id)
        .detail(detail)
        .frames(frames)
        .step(format!("Enable at least one codec of the offer on {by}, or add one it supports to the caller's codec list (G.711 PCMU/PCMA for trunks)."))
        .step("If the offer uses SRTP (RTP/SAVP, a=crypto) check that both sides agree on media encryption.")
        .kb(KB)
        .at(call.start_ns)
        .build()
}

/// A re-INVITE of an answered call refused for its media: the call goes on with the media it had. A
/// switch to fax (T.38, m=image) refused means the fax goes over audio (G.711 pass-through) or fails.
fn refused_reinvite(ctx: &Context, call: &Call) -> Option<Finding> {
    let answer = call.answer_ns?;
    let t = call.transactions.iter().find(|t| {
        t.method == "INVITE"
            && t.start_ns > answer
            && t.final_status.is_some_and(|s| MEDIA_REFUSALS.contains(&s))
    })?;
    let status = t.final_status.unwrap_or(0);
    let offer = call
        .sdp
        .iter()
        .find(|e| e.role == "offer" && e.cseq == t.cseq && e.time_ns >= t.start_ns);
    let fax = offer.is_some_and(|e| e.media.iter().any(|m| m.kind == "image" && m.port > 0));
    let what = if fax {
        "the switch to T.38 fax was refused: the fax goes over the audio path (G.711 pass-through, sensitive to loss and jitter) or fails"
    } else {
        "the new media offer was refused; the call went on with the media it had"
    };
    let by = t
        .final_frame
        .and_then(|f| call.messages.iter().find(|m| m.frame == f))
        .map(|m| ctx.party(&m.src))
        .unwrap_or_else(|| ctx.party(&t.dst));
    let mut frames: Vec<u64> = t.request_frames.clone();
    frames.extend(t.final_frame);
    frames.extend(offer.map(|e| e.frame));
    Some(
        Draft::new(
            "codec_mismatch",
            Severity::Warning,
            format!(
                "{by} refused a re-INVITE ({status}){}",
                if fax { ": no T.38 fax" } else { "" }
            ),
        )
        .call(&call.call_id)
        .detail(format!(
            "During the answered call, {by} answered {status} {} to a re-INVITE{}: {what}.",
            clip(t.final_reason.as_deref().unwrap_or("")),
            offer.map(|e| format!(" offering {}", media_list(e))).unwrap_or_default()
        ))
        .frames(frames)
        .step(if fax {
            "Enable T.38 on both sides (the trunk and the fax gateway or ATA), or configure G.711 pass-through for fax deliberately."
        } else {
            "Compare the codec lists of both sides for the offered media."
        })
        .kb(KB)
        .at(t.start_ns)
        .build(),
    )
}

/// "image 38000 (t38), audio ..." for a finding.
fn media_list(e: &SdpEvent) -> String {
    e.media
        .iter()
        .map(|m| format!("{} {}", clip(&m.kind), clip(&m.proto)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn codecs(e: &SdpEvent) -> String {
    let v: Vec<String> = e
        .media
        .iter()
        .filter(|m| m.kind == "audio")
        .flat_map(|m| m.codecs.iter().take(12).map(|c| clip(c)))
        .collect();
    if v.is_empty() {
        "no audio codec".into()
    } else {
        v.join(", ")
    }
}

/// The first offer/answer pair without a usable common audio codec.
fn mismatch(call: &Call) -> Option<(&SdpEvent, &SdpEvent, String)> {
    for (i, offer) in call
        .sdp
        .iter()
        .enumerate()
        .filter(|(_, e)| e.role == "offer")
    {
        let answer = call.sdp.iter().skip(i + 1).find(|e| e.role == "answer")?;
        for om in offer
            .media
            .iter()
            .filter(|m| m.kind == "audio" && m.port != 0)
        {
            let Some(am) = answer.media.iter().find(|m| m.kind == "audio") else {
                continue;
            };
            if am.port == 0 {
                return Some((
                    offer,
                    answer,
                    "The answer rejected the audio stream (port 0).".into(),
                ));
            }
            if !common(om, am) {
                return Some((
                    offer,
                    answer,
                    "The answer's payload types are not in the offer.".into(),
                ));
            }
        }
    }
    None
}

fn name_of(m: &SdpMedia, pt: u8) -> Option<String> {
    m.codecs.iter().find_map(|c| {
        let (n, rest) = c.split_once(' ')?;
        (n.parse::<u8>().ok()? == pt)
            .then(|| rest.split('/').next().unwrap_or("").to_ascii_lowercase())
    })
}

fn common(offer: &SdpMedia, answer: &SdpMedia) -> bool {
    if answer.payload_types.is_empty() {
        return true;
    }
    answer.payload_types.iter().any(|&pt| {
        let name = name_of(answer, pt);
        if name
            .as_deref()
            .is_some_and(|n| n == "telephone-event" || n == "cn")
            || pt == 13
        {
            return false;
        }
        if pt < 96 {
            return offer.payload_types.contains(&pt);
        }
        let offered: Vec<String> = offer
            .payload_types
            .iter()
            .filter_map(|&p| name_of(offer, p))
            .collect();
        name.is_none_or(|n| offered.contains(&n))
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    #[test]
    fn refused_488_is_error() {
        let mut a = analysis();
        a.calls.push(
            call("m", "192.0.2.10:5060", "203.0.113.5:5060")
                .failed(488, "Not Acceptable Here")
                .edit(|c| {
                    c.warnings
                        .push("305 x \"Incompatible media format\"".into())
                })
                .build(),
        );
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].detail.contains("PCMU") && f[0].detail.contains("Incompatible"),
            "{}",
            f[0].detail
        );
    }

    #[test]
    fn answer_without_common_codec() {
        let mut a = analysis();
        a.calls.push(
            call("n", "192.0.2.10:5060", "203.0.113.5:5060")
                .sdp_media(1, |m| {
                    m.payload_types = vec![18, 101];
                    m.codecs = vec!["18 G729/8000".into(), "101 telephone-event/8000".into()];
                })
                .build(),
        );
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence_frames, vec![1, 4]);
    }

    #[test]
    fn silent_on_matching_dynamic_types_and_healthy() {
        let mut a = healthy_analysis();
        a.calls.push(
            call("d", "192.0.2.10:5060", "203.0.113.5:5060")
                .sdp_media(0, |m| {
                    m.payload_types = vec![96];
                    m.codecs = vec!["96 opus/48000/2".into()];
                })
                .sdp_media(1, |m| {
                    m.payload_types = vec![111];
                    m.codecs = vec!["111 OPUS/48000/2".into()];
                })
                .build(),
        );
        assert!(check(super::run, &a).is_empty());
    }

    #[test]
    fn refused_t38_reinvite_is_a_warning() {
        let mut a = analysis();
        let c = call("fax", "192.0.2.10:5060", "203.0.113.5:5060")
            .edit(|c| {
                let t0 = c.answer_ns.unwrap_or(c.start_ns) + 5 * SEC;
                let mut tx = transaction(
                    "INVITE",
                    "192.0.2.10:5060",
                    "203.0.113.5:5060",
                    &[50],
                    &[t0],
                );
                tx.cseq = 2;
                tx = answered(tx, 488, 51, t0 + 100 * MS);
                c.transactions.push(tx);
                let mut e = sdp_event(
                    50,
                    t0,
                    "offer",
                    "INVITE",
                    "192.0.2.10:5060",
                    "203.0.113.5:5060",
                    "192.0.2.10",
                    40000,
                );
                e.cseq = 2;
                if let Some(m) = e.media.first_mut() {
                    m.kind = "image".into();
                    m.proto = "udptl".into();
                }
                c.sdp.push(e);
            })
            .build();
        a.calls.push(c);
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].severity, crate::model::Severity::Warning);
        assert!(f[0].title.contains("T.38"), "{}", f[0].title);
    }
}
