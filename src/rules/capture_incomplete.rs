//! capture_incomplete: what the capture cannot prove (cut, truncated, one-sided, filtered, partial calls).

use crate::model::{Call, CallState, Finding, Severity};

use super::kb::KB_LOGS;
use super::{Context, Draft, Rule, clip};

pub(super) fn rule() -> Rule {
    Rule {
        id: "capture_incomplete",
        summary: "capture cut, truncated, one-sided, without SIP, or with calls outside its window",
        run,
    }
}

pub(super) const EXPLAIN: &str = "Checks the capture itself: a file cut or damaged before its end, frames \
cut by the snaplen, unsupported interfaces, SIP seen in only one direction for most dialogs, RTP without \
any SIP (or SIP over TLS), memory bounds reached, and calls already in progress when the capture started \
or still in progress when it stopped.\n\nWhy: each of these limits what voipdx can prove: a one-sided \
capture looks like \"no response\", a snaplen cut hides SDP bodies, a capture stopped too early cannot \
show how the call ended.\n\nWhat to do: capture on the PBX with `tcpdump -i any -w x.pcap` (no port \
filter, full packets), make the call, reproduce the issue, keep the call 5-10 s after it, then stop with \
Ctrl+C; on Windows use Wireshark and save as .pcapng. Send the PBX callmanager.log too.";

const RECAPTURE: &str = "Recapture on the PBX: `tcpdump -i any -w x.pcap` (no filter, full packets), reproduce the issue, keep the call 5-10 s after it, stop with Ctrl+C; on Windows use Wireshark and save as .pcapng.";

fn run(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    file_level(ctx, &mut out);
    one_sided(ctx, &mut out);
    partial_calls(ctx, &mut out);
    lost_responses(ctx, &mut out);
    out
}

fn warn(title: String, detail: String) -> Draft {
    Draft::new("capture_incomplete", Severity::Warning, title)
        .detail(detail)
        .kb(KB_LOGS)
        .step(RECAPTURE)
}

fn file_level(ctx: &Context, out: &mut Vec<Finding>) {
    let a = ctx.analysis;
    for c in &a.captures {
        if let Some(e) = &c.error {
            out.push(warn(format!("{} is cut or damaged", clip(&c.path)), format!("Reading stopped early: {}. Everything before was analysed; what came after is unknown.", clip(e))).at(c.last_time_ns.unwrap_or(0)).build());
        }
        if c.truncated_frames > 0 {
            let snap = c
                .interfaces
                .iter()
                .map(|i| i.snaplen)
                .filter(|s| *s > 0)
                .min();
            // A handful of short frames in a large capture limits little: info; a systematic cut
            // (snaplen too small: every SDP body may be missing) is a warning.
            let few = c.truncated_frames.saturating_mul(100) < c.packets;
            let mut d = warn(
                format!("{} frames cut short in the capture", c.truncated_frames),
                format!("{} of {} frames of {} are shorter than on the wire or than their IP header says (snapshot length{}, or frames damaged before they were written): SIP bodies (SDP) and RTP payloads of those frames may be missing.", c.truncated_frames, c.packets, clip(&c.path), snap.map(|s| format!(" {s}")).unwrap_or_default()),
            ).step("Capture full packets (`tcpdump -s 0`, the default on recent tcpdump).").at(c.first_time_ns.unwrap_or(0));
            if few {
                d = d.severity(Severity::Info);
            }
            out.push(d.build());
        }
        let unsupported: Vec<String> = c
            .interfaces
            .iter()
            .filter(|i| !i.supported)
            .map(|i| clip(&i.link_name))
            .collect();
        if !unsupported.is_empty() {
            out.push(
                warn(
                    "Some interfaces use an unsupported link type".into(),
                    format!(
                        "Frames of {} were not decoded: {}.",
                        clip(&c.path),
                        unsupported.join(", ")
                    ),
                )
                .at(c.first_time_ns.unwrap_or(0))
                .build(),
            );
        }
    }
    if a.stats.sip_messages == 0
        && a.calls.is_empty()
        && (a.stats.rtp_packets > 0 || !a.streams.is_empty())
    {
        // Media without signalling is a limit of the capture, not a fault: info.
        out.push(warn("RTP but no SIP in the capture".into(), format!("{} RTP streams and no SIP: the calls were set up before the capture started, the capture was filtered to media, or SIP uses TLS, WebRTC signalling or an unusual port. voipdx checks the streams' quality but cannot tie them to calls or tell why a call failed.", a.streams.len())).severity(Severity::Info).build());
    }
    for f in a.encrypted_sip.iter().take(20) {
        out.push(Draft::new("capture_incomplete", Severity::Info, format!("SIP over TLS between {} and {} cannot be analysed", ctx.party(&f.client), ctx.party(&f.server)))
            .detail(format!("{} encrypted packets: the signalling of those calls is not visible.", f.packets))
            .frames([f.first_frame])
            .step("Use the PBX's own logs (callmanager.log in /var/lib/portsip/pbx/log/) or temporarily use UDP/TCP for the test call.")
            .kb(KB_LOGS)
            .build());
    }
    if a.stats.calls_dropped > 0 || a.stats.streams_dropped > 0 {
        out.push(warn("Memory bounds reached: some calls or streams were not analysed".into(), format!("{} calls and {} streams were dropped at the memory bound (counted, not analysed).", a.stats.calls_dropped, a.stats.streams_dropped)).step("Split the capture or filter it to the calls of interest.").build());
    }
}

/// The dialog's messages all go one way although some of them need the other way (responses, ACK, BYE).
fn one_sided_dialog(call: &Call) -> bool {
    let Some(first) = call.messages.first() else {
        return false;
    };
    let one_way = call
        .messages
        .iter()
        .all(|m| m.src == first.src && m.dst == first.dst);
    let needs_other = call.messages.iter().any(|m| {
        m.label.starts_with(|c: char| c.is_ascii_digit())
            || matches!(m.label.as_str(), "ACK" | "BYE" | "PRACK" | "UPDATE")
    });
    call.messages.len() >= 2 && one_way && needs_other
}

fn one_sided(ctx: &Context, out: &mut Vec<Finding>) {
    let calls = &ctx.analysis.calls;
    let sided: Vec<&Call> = calls.iter().filter(|c| one_sided_dialog(c)).collect();
    if sided.is_empty() || sided.len() * 2 < calls.len() {
        return;
    }
    out.push(
        warn(
            format!("{} of {} dialogs show SIP in one direction only", sided.len(), calls.len()),
            "Responses, ACKs or BYEs are present without the messages of the other direction: the capture saw one direction only (capture filter such as `dst host`, asymmetric routing, a one-way port mirror). \"No response\" conclusions are not reliable.".into(),
        )
        .frames(sided.iter().take(10).filter_map(|c| c.messages.first().map(|m| m.frame)))
        .at(sided.first().map(|c| c.start_ns).unwrap_or(0))
        .build(),
    );
}

/// An unanswered INVITE the capture stopped waiting for too early to call it a timeout (no_response
/// needs retransmissions or the transaction timeout).
fn still_waiting(ctx: &Context, c: &Call, t: &super::Thresholds) -> bool {
    let waited = ctx.capture_end(c.start_ns).saturating_sub(c.start_ns) as f64;
    c.end_ns.is_none()
        && c.invite_transmissions < t.no_response_transmissions
        && waited < t.transaction_timeout_s * 1e9
}

/// INVITEs without any response although the caller went on as if it had one (ACK, BYE): the capture
/// lost the responses (a busy capture host drops packets), the call did not go unanswered.
fn lost_responses(ctx: &Context, out: &mut Vec<Finding>) {
    let calls: Vec<&Call> = ctx
        .analysis
        .calls
        .iter()
        .filter(|c| {
            c.state == CallState::NoResponse
                && c.messages
                    .iter()
                    .any(|m| matches!(m.label.as_str(), "ACK" | "BYE"))
        })
        .collect();
    let Some(first) = calls.first() else {
        return;
    };
    out.push(
        Draft::new("capture_incomplete", Severity::Info, format!("{} call(s) without any response to the INVITE, yet the caller went on (ACK or BYE)", calls.len()))
            .detail("A caller sends ACK or BYE only after a response: the responses were lost by the capture (packets dropped by a busy capture host or filter), not by the network. These calls are not reported as unanswered.".to_string())
            .frames(calls.iter().take(20).filter_map(|c| c.messages.first().map(|m| m.frame)))
            .step(RECAPTURE)
            .kb(KB_LOGS)
            .at(first.start_ns)
            .build(),
    );
}

fn partial_calls(ctx: &Context, out: &mut Vec<Finding>) {
    let calls = &ctx.analysis.calls;
    let started_before: Vec<&Call> = calls
        .iter()
        .filter(|c| c.messages.first().is_some_and(|m| m.label != "INVITE"))
        .collect();
    let t = ctx.thresholds;
    let open: Vec<&Call> = calls
        .iter()
        .filter(|c| {
            c.state == CallState::InProgress
                || (c.answer_ns.is_some() && c.end_ns.is_none())
                || (c.state == CallState::NoResponse && still_waiting(ctx, c, t))
        })
        .collect();
    if started_before.is_empty() && open.is_empty() {
        return;
    }
    let mut frames: Vec<u64> = started_before
        .iter()
        .chain(open.iter())
        .take(20)
        .filter_map(|c| c.messages.first().map(|m| m.frame))
        .collect();
    frames.sort_unstable();
    out.push(
        Draft::new("capture_incomplete", Severity::Info, calls_cut_title(started_before.len(), open.len()))
            .detail("For these calls the capture cannot show how they were set up or how they ended; conclusions about them are partial.".to_string())
            .frames(frames)
            .step("Start the capture before the call and keep it running 5-10 s after the issue.")
            .kb(KB_LOGS)
            .at(calls.first().map(|c| c.start_ns).unwrap_or(0))
            .build(),
    );
}

/// "2 calls started before the capture and 1 was still in progress at its end", naming only what happened.
fn calls_cut_title(before: usize, open: usize) -> String {
    let calls = |n: usize| {
        if n == 1 {
            "1 call".to_string()
        } else {
            format!("{n} calls")
        }
    };
    match (before, open) {
        (0, o) => format!("{} still in progress when the capture ended", calls(o)),
        (b, 0) => format!("{} started before the capture", calls(b)),
        (b, o) => format!(
            "{} started before the capture, {} still in progress at its end",
            calls(b),
            o
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn truncated_and_cut_files() {
        let mut a = analysis();
        a.captures[0].truncated_frames = 200;
        a.captures[0].error = Some("truncated record at offset 4096".into());
        let f = check(super::run, &a);
        assert_eq!(f.len(), 2);
        assert!(
            f.iter()
                .all(|x| x.severity == Severity::Warning && x.kb == KB_LOGS)
        );
        assert!(
            f.iter()
                .any(|x| x.next_steps.iter().any(|s| s.contains("tcpdump -i any -w")))
        );
        // A few short frames in a large capture: info.
        a.captures[0].truncated_frames = 6;
        a.captures[0].error = None;
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
    }

    #[test]
    fn one_sided_but_not_plain_no_response() {
        let mut a = analysis();
        a.calls.push(
            call("n", "192.0.2.10:5060", "203.0.113.7:5060")
                .no_response(7)
                .build(),
        );
        assert!(
            check(super::run, &a).is_empty(),
            "unanswered INVITEs are not a one-sided capture"
        );
        a.calls.push(
            call("s", "192.0.2.10:5060", "203.0.113.5:5060")
                .edit(|c| c.messages.retain(|m| m.src == c.caller_addr))
                .build(),
        );
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert!(f[0].title.contains("one direction"));
    }

    #[test]
    fn rtp_without_sip_and_partial_calls() {
        let mut a = analysis();
        a.stats.sip_messages = 0;
        a.streams
            .push(stream(0, "10.0.0.1:4000", "10.0.0.2:4000", 100));
        let f = check(super::run, &a);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
        let mut b = analysis();
        b.calls.push(
            call("p", "10.0.0.21:5060", "10.0.0.10:5060")
                .edit(|c| {
                    c.messages
                        .retain(|m| m.label != "BYE" && m.cseq_method != "BYE");
                    c.end_ns = None;
                })
                .build(),
        );
        let f = check(super::run, &b);
        assert_eq!(f[0].severity, Severity::Info);
        assert!(check(super::run, &healthy_analysis()).is_empty());
    }
}
