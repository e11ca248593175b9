//! The one-paragraph verdict at the top of a report, built from the calls, registrations and findings:
//! "2 of 14 calls failed: 1 × 403 Forbidden from 203.0.113.5:5060, 1 × no response; 1 call had one-way
//! audio: call 3 (nothing seen callee->caller towards 192.168.1.20:4000). Findings: 2 errors, 1 warning."
//! Plain text (not escaped): each printer escapes it. Capture strings inside are cut short.

use super::escape::plain_cut;
use super::ladder::status_of;
use crate::model::{Analysis, Call, CallState, Severity};

/// MOS below this is called poor audio quality.
pub const POOR_MOS: f64 = 3.6;

/// How many calls are named in a clause before "and N more".
const NAMED: usize = 3;

pub fn verdict(a: &Analysis) -> String {
    let mut sentences: Vec<String> = Vec::new();
    sentences.push(calls_sentence(a));
    if let Some(s) = registrations_sentence(a) {
        sentences.push(s);
    }
    sentences.push(findings_sentence(a));
    sentences.extend(caveats(a));
    let mut out = sentences
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(|s| if s.ends_with('.') { s } else { s + "." })
        .collect::<Vec<_>>()
        .join(" ");
    if out.chars().count() > 3000 {
        out = plain_cut(&out, 3000);
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

fn calls_sentence(a: &Analysis) -> String {
    let n = a.calls.len();
    if n == 0 {
        return "No SIP calls were found in the capture".into();
    }
    let mut clauses: Vec<String> = Vec::new();
    let failed: Vec<&Call> = a
        .calls
        .iter()
        .filter(|c| matches!(c.state, CallState::Failed | CallState::NoResponse))
        .collect();
    let answered = count(a, CallState::Answered);
    if failed.is_empty() {
        if answered == n {
            clauses.push(if n == 1 {
                "The call was answered".into()
            } else {
                format!("All {n} calls were answered")
            });
        } else {
            clauses.push(format!(
                "None of the {} failed ({answered} answered)",
                plural(n, "call", "calls")
            ));
        }
    } else {
        clauses.push(format!(
            "{} of {} failed: {}",
            failed.len(),
            plural(n, "call", "calls"),
            failure_groups(&failed)
        ));
    }
    let cancelled = count(a, CallState::Cancelled);
    if cancelled > 0 {
        clauses.push(format!(
            "{} cancelled before answer",
            plural(cancelled, "call was", "calls were")
        ));
    }
    let open = count(a, CallState::InProgress);
    if open > 0 {
        clauses.push(format!(
            "{} still in progress when the capture ended",
            plural(open, "call was", "calls were")
        ));
    }
    clauses.extend(media_clauses(a));
    clauses.join("; ")
}

fn count(a: &Analysis, state: CallState) -> usize {
    a.calls.iter().filter(|c| c.state == state).count()
}

/// "1 × 403 Forbidden from 203.0.113.5:5060, 1 × no response", most frequent first.
fn failure_groups(failed: &[&Call]) -> String {
    let mut groups: Vec<(String, usize)> = Vec::new();
    for c in failed {
        let key = failure_text(c);
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1 += 1,
            None => groups.push((key, 1)),
        }
    }
    // Stable: equal counts keep the order of first appearance.
    groups.sort_by_key(|g| std::cmp::Reverse(g.1));
    let shown: Vec<String> = groups
        .iter()
        .take(6)
        .map(|(k, n)| format!("{n} × {k}"))
        .collect();
    let rest: usize = groups.iter().skip(6).map(|g| g.1).sum();
    let mut s = shown.join(", ");
    if rest > 0 {
        s.push_str(&format!(", {rest} × other reasons"));
    }
    s
}

fn failure_text(c: &Call) -> String {
    if c.state == CallState::NoResponse {
        return "no response".into();
    }
    let Some(status) = c.final_status else {
        return "no final response".into();
    };
    let reason = c
        .final_reason
        .as_deref()
        .map(|r| format!(" {}", plain_cut(r, 48)))
        .unwrap_or_default();
    let from = c
        .messages
        .iter()
        .rev()
        .find(|m| status_of(&m.label) == Some(status))
        .map(|m| m.src.as_str())
        .unwrap_or(c.callee_addr.as_str());
    format!("{status}{reason} from {}", plain_cut(from, 48))
}

fn call_name(i: usize) -> String {
    format!("call {}", i + 1)
}

fn media_clauses(a: &Analysis) -> Vec<String> {
    let mut one_way: Vec<String> = Vec::new();
    let mut silent: Vec<String> = Vec::new();
    let mut poor: Vec<(f64, usize)> = Vec::new();
    for (i, c) in a.calls.iter().enumerate() {
        if c.state != CallState::Answered {
            continue;
        }
        let flowing = c
            .media
            .iter()
            .filter(|m| m.negotiated && m.packets > 0)
            .count();
        let dead: Vec<_> = c
            .media
            .iter()
            .filter(|m| m.negotiated && m.packets == 0)
            .collect();
        if flowing > 0 && !dead.is_empty() {
            let d = dead.first().map(|m| {
                let to = m
                    .sdp_dst
                    .as_deref()
                    .map(|t| format!(" towards {}", plain_cut(t, 48)))
                    .unwrap_or_default();
                format!("nothing seen {}{to}", plain_cut(&m.direction, 20))
            });
            one_way.push(format!("{} ({})", call_name(i), d.unwrap_or_default()));
        } else if flowing == 0 && !dead.is_empty() {
            silent.push(call_name(i));
        }
        let worst = [c.mos_caller_to_callee, c.mos_callee_to_caller]
            .into_iter()
            .flatten()
            .filter(|m| m.is_finite())
            .fold(f64::INFINITY, f64::min);
        if worst < POOR_MOS {
            poor.push((worst, i));
        }
    }
    let mut out = Vec::new();
    if !one_way.is_empty() {
        out.push(format!(
            "{} one-way audio: {}",
            plural(one_way.len(), "call had", "calls had"),
            named(&one_way)
        ));
    }
    if !silent.is_empty() {
        out.push(format!(
            "{} no audio in either direction: {}",
            plural(silent.len(), "answered call had", "answered calls had"),
            named(&silent)
        ));
    }
    if !poor.is_empty() {
        poor.sort_by(|x, y| x.0.total_cmp(&y.0));
        let list: Vec<String> = poor
            .iter()
            .map(|(m, i)| format!("{} MOS {m:.2}", call_name(*i)))
            .collect();
        out.push(format!(
            "{} poor audio quality (MOS below {POOR_MOS}): {}",
            plural(poor.len(), "call had", "calls had"),
            named(&list)
        ));
    }
    out
}

fn named(items: &[String]) -> String {
    let mut s = items
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > NAMED {
        s.push_str(&format!(" and {} more", items.len() - NAMED));
    }
    s
}

fn registrations_sentence(a: &Analysis) -> Option<String> {
    let n = a.registrations.len();
    if n == 0 {
        return None;
    }
    let failed: Vec<String> = a
        .registrations
        .iter()
        .filter(|r| !r.success)
        .map(|r| match r.final_status {
            Some(s) => format!(
                "{s}{}",
                r.final_reason
                    .as_deref()
                    .map(|x| format!(" {}", plain_cut(x, 40)))
                    .unwrap_or_default()
            ),
            None => "no response".into(),
        })
        .collect();
    if failed.is_empty() {
        return Some(if n == 1 {
            "The registration succeeded".into()
        } else {
            format!("All {n} registrations succeeded")
        });
    }
    Some(format!(
        "{} of {} failed ({})",
        failed.len(),
        plural(n, "registration", "registrations"),
        named(&failed)
    ))
}

fn findings_sentence(a: &Analysis) -> String {
    if a.findings.is_empty() {
        return "No findings".into();
    }
    let e = severity_count(a, Severity::Error);
    let w = severity_count(a, Severity::Warning);
    let i = severity_count(a, Severity::Info);
    let mut parts = Vec::new();
    if e > 0 {
        parts.push(plural(e, "error", "errors"));
    }
    if w > 0 {
        parts.push(plural(w, "warning", "warnings"));
    }
    if i > 0 {
        parts.push(plural(i, "note", "notes"));
    }
    format!("Findings: {}", parts.join(", "))
}

fn severity_count(a: &Analysis, s: Severity) -> usize {
    a.findings.iter().filter(|f| f.severity == s).count()
}

fn caveats(a: &Analysis) -> Vec<String> {
    let mut out = Vec::new();
    let unreadable = a.captures.iter().filter(|c| c.error.is_some()).count();
    if unreadable > 0 {
        out.push(format!(
            "{} could not be read to its end (see Capture quality)",
            plural(unreadable, "capture file", "capture files")
        ));
    }
    if !a.encrypted_sip.is_empty() {
        out.push(format!(
            "SIP over TLS in {} could not be analysed",
            plural(a.encrypted_sip.len(), "flow", "flows")
        ));
    }
    if a.stats.calls_dropped > 0 {
        out.push(format!(
            "{} calls were not analysed because the call limit was reached",
            a.stats.calls_dropped
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn sample_verdict() {
        let v = verdict(&sample::analysis());
        assert_eq!(
            v,
            "1 of 3 calls failed: 1 × 403 Forbidden from 203.0.113.5:5060; 1 call had one-way audio: \
             call 3 (nothing seen callee->caller towards 192.168.1.20:4000); 1 call had poor audio \
             quality (MOS below 3.6): call 3 MOS 3.41. The registration succeeded. Findings: 2 errors, \
             1 warning, 1 note."
        );
    }

    #[test]
    fn empty_and_grouped() {
        let mut a = crate::model::Analysis::default();
        assert_eq!(
            verdict(&a),
            "No SIP calls were found in the capture. No findings."
        );
        let s = sample::analysis();
        for _ in 0..3 {
            a.calls.push(s.calls[1].clone());
        }
        let mut nr = s.calls[1].clone();
        nr.state = CallState::NoResponse;
        a.calls.push(nr);
        a.calls.push(s.calls[0].clone());
        a.stats.calls_dropped = 7;
        let v = verdict(&a);
        assert!(
            v.starts_with(
                "4 of 5 calls failed: 3 × 403 Forbidden from 203.0.113.5:5060, 1 × no response."
            ),
            "{v}"
        );
        assert!(v.contains("7 calls were not analysed"));
    }

    #[test]
    fn registrations_wording() {
        let mut a = sample::analysis();
        a.registrations.push(a.registrations[0].clone());
        assert!(verdict(&a).contains("All 2 registrations succeeded."));
        a.registrations[1].success = false;
        a.registrations[1].final_status = Some(403);
        a.registrations[1].final_reason = Some("Forbidden".into());
        assert!(verdict(&a).contains("1 of 2 registrations failed (403 Forbidden)."));
    }
}
