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
    if let Some(p) = &a.partial {
        return p.calls_sentence.clone();
    }
    tally(a).sentence()
}

/// The tally of every call of `a` (archived segments read back one at a time).
pub fn tally(a: &Analysis) -> CallTally {
    let mut t = CallTally::default();
    let mut i = 0;
    if let Err(e) = a.for_each_segment(|calls, _| {
        for c in calls {
            t.add(i, c);
            i += 1;
        }
    }) {
        t.unreadable = Some(e);
    }
    t
}

/// What the verdict says about calls, gathered one call at a time (so a capture whose calls were set
/// aside in segments is read back one segment at a time): counts, failure reasons, the first calls
/// named per media problem.
#[derive(Default)]
pub struct CallTally {
    n: usize,
    answered: usize,
    cancelled: usize,
    open: usize,
    failed: usize,
    /// Failure reason -> calls, in order of first appearance (at most `MAX_GROUPS` reasons).
    groups: Vec<(String, usize)>,
    other_failures: usize,
    one_way: (Vec<String>, usize),
    silent: (Vec<String>, usize),
    /// The `NAMED` worst MOS values and their calls, and how many calls had poor MOS.
    poor: (Vec<(f64, usize)>, usize),
    unreadable: Option<String>,
}

/// Distinct failure reasons kept by the tally.
const MAX_GROUPS: usize = 256;

impl CallTally {
    /// Adds call number `i` (0-based, in call order).
    pub fn add(&mut self, i: usize, c: &Call) {
        self.n += 1;
        match c.state {
            CallState::Answered => self.answered += 1,
            CallState::Cancelled => self.cancelled += 1,
            CallState::InProgress => self.open += 1,
            CallState::Failed | CallState::NoResponse => {
                self.failed += 1;
                let key = failure_text(c);
                match self.groups.iter().position(|g| g.0 == key) {
                    Some(g) => self.groups[g].1 += 1,
                    None if self.groups.len() < MAX_GROUPS => self.groups.push((key, 1)),
                    None => self.other_failures += 1,
                }
            }
        }
        if c.state != CallState::Answered {
            return;
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
            self.one_way.1 += 1;
            if self.one_way.0.len() < NAMED {
                let d = dead.first().map(|m| {
                    let to = m
                        .sdp_dst
                        .as_deref()
                        .map(|t| format!(" towards {}", plain_cut(t, 48)))
                        .unwrap_or_default();
                    format!("nothing seen {}{to}", plain_cut(&m.direction, 20))
                });
                self.one_way
                    .0
                    .push(format!("{} ({})", call_name(i), d.unwrap_or_default()));
            }
        } else if flowing == 0 && !dead.is_empty() {
            self.silent.1 += 1;
            if self.silent.0.len() < NAMED {
                self.silent.0.push(call_name(i));
            }
        }
        let worst = [c.mos_caller_to_callee, c.mos_callee_to_caller]
            .into_iter()
            .flatten()
            .filter(|m| m.is_finite())
            .fold(f64::INFINITY, f64::min);
        if worst < POOR_MOS {
            self.poor.1 += 1;
            self.poor.0.push((worst, i));
            // Stable: equal MOS keep call order.
            self.poor.0.sort_by(|x, y| x.0.total_cmp(&y.0));
            self.poor.0.truncate(NAMED);
        }
    }

    /// (calls, answered, failed or unanswered, cancelled)
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        (self.n, self.answered, self.failed, self.cancelled)
    }

    /// The calls sentence of the verdict.
    pub fn sentence(&self) -> String {
        let n = self.n;
        if n == 0 {
            return match &self.unreadable {
                Some(e) => format!("The calls could not be read back ({e})"),
                None => "No SIP calls were found in the capture".into(),
            };
        }
        let mut clauses: Vec<String> = Vec::new();
        let answered = self.answered;
        if self.failed == 0 {
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
                self.failed,
                plural(n, "call", "calls"),
                self.failure_groups()
            ));
        }
        if self.cancelled > 0 {
            clauses.push(format!(
                "{} cancelled before answer",
                plural(self.cancelled, "call was", "calls were")
            ));
        }
        if self.open > 0 {
            clauses.push(format!(
                "{} still in progress when the capture ended",
                plural(self.open, "call was", "calls were")
            ));
        }
        if !self.one_way.0.is_empty() {
            clauses.push(format!(
                "{} one-way audio: {}",
                plural(self.one_way.1, "call had", "calls had"),
                named_of(&self.one_way.0, self.one_way.1)
            ));
        }
        if !self.silent.0.is_empty() {
            clauses.push(format!(
                "{} no audio in either direction: {}",
                plural(self.silent.1, "answered call had", "answered calls had"),
                named_of(&self.silent.0, self.silent.1)
            ));
        }
        if !self.poor.0.is_empty() {
            let list: Vec<String> = self
                .poor
                .0
                .iter()
                .map(|(m, i)| format!("{} MOS {m:.2}", call_name(*i)))
                .collect();
            clauses.push(format!(
                "{} poor audio quality (MOS below {POOR_MOS}): {}",
                plural(self.poor.1, "call had", "calls had"),
                named_of(&list, self.poor.1)
            ));
        }
        if let Some(e) = &self.unreadable {
            clauses.push(format!("part of the calls could not be read back ({e})"));
        }
        clauses.join("; ")
    }

    /// "1 × 403 Forbidden from 203.0.113.5:5060, 1 × no response", most frequent first.
    fn failure_groups(&self) -> String {
        let mut groups = self.groups.clone();
        // Stable: equal counts keep the order of first appearance.
        groups.sort_by_key(|g| std::cmp::Reverse(g.1));
        let shown: Vec<String> = groups
            .iter()
            .take(6)
            .map(|(k, n)| format!("{n} × {k}"))
            .collect();
        let rest: usize = groups.iter().skip(6).map(|g| g.1).sum::<usize>() + self.other_failures;
        let mut s = shown.join(", ");
        if rest > 0 {
            s.push_str(&format!(", {rest} × other reasons"));
        }
        s
    }
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

/// The first items named, then "and N more" up to `total`.
fn named_of(items: &[String], total: usize) -> String {
    let mut s = items
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if total > NAMED {
        s.push_str(&format!(" and {} more", total - NAMED));
    }
    s
}

fn named(items: &[String]) -> String {
    named_of(items, items.len())
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
