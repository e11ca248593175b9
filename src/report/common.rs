//! What the HTML and Markdown reports share: the order of findings, which calls are shown in full, and
//! number formatting. Keeping this in one place is what makes the two printers agree.

use std::collections::HashMap;

use crate::model::{Analysis, Call, CallState, Finding, Severity, Stream};
use crate::timefmt;

/// Most rows in one table (calls, transactions, streams...). The rest are counted in a note.
pub const MAX_TABLE_ROWS: usize = 5000;
/// Most evidence frames listed per finding.
pub const MAX_FRAMES_LISTED: usize = 30;

/// The reading order of one report.
pub struct Plan<'a> {
    /// Findings, most severe first, then by time, rule and title.
    pub findings: Vec<&'a Finding>,
    /// Index in `Analysis.calls` of each sorted finding's call.
    pub finding_call: Vec<Option<usize>>,
    /// Per call: positions in `findings`.
    pub call_findings: Vec<Vec<usize>>,
    /// Calls shown in full, in the order shown: calls with findings (most severe first), then failed
    /// calls, then the others, each group by call order; at most `max_full_calls`.
    pub full_calls: Vec<usize>,
    /// Calls only summarised in the calls table because of the bound.
    pub summarised: usize,
    /// Streams not tied to any call of the report.
    pub loose_streams: Vec<&'a Stream>,
    streams: HashMap<usize, &'a Stream>,
}

impl<'a> Plan<'a> {
    pub fn new(a: &'a Analysis, max_full_calls: usize) -> Plan<'a> {
        let mut findings: Vec<&Finding> = a.findings.iter().collect();
        findings.sort_by(|x, y| {
            (x.severity, x.time_ns, &x.rule, &x.title)
                .cmp(&(y.severity, y.time_ns, &y.rule, &y.title))
        });
        let mut by_id: HashMap<&str, usize> = HashMap::new();
        for (i, c) in a.calls.iter().enumerate() {
            by_id.entry(c.call_id.as_str()).or_insert(i);
        }
        let finding_call: Vec<Option<usize>> = findings
            .iter()
            .map(|f| f.call_id.as_deref().and_then(|id| by_id.get(id).copied()))
            .collect();
        let mut call_findings: Vec<Vec<usize>> = vec![Vec::new(); a.calls.len()];
        for (fi, ci) in finding_call.iter().enumerate() {
            if let Some(list) = ci.and_then(|c| call_findings.get_mut(c)) {
                list.push(fi);
            }
        }
        let mut order: Vec<(u8, usize)> = a
            .calls
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let worst = call_findings
                    .get(i)
                    .and_then(|l| l.first())
                    .and_then(|fi| findings.get(*fi))
                    .map(|f| f.severity);
                let rank = match (worst, c.state) {
                    (Some(Severity::Error), _) => 0,
                    (Some(Severity::Warning), _) => 1,
                    (Some(Severity::Info), _) => 2,
                    (None, CallState::Failed | CallState::NoResponse) => 3,
                    (None, _) => 4,
                };
                (rank, i)
            })
            .collect();
        order.sort();
        let full_calls: Vec<usize> = order.iter().take(max_full_calls).map(|o| o.1).collect();
        let summarised = a.calls.len() - full_calls.len();
        let streams: HashMap<usize, &Stream> = a.streams.iter().map(|s| (s.id, s)).collect();
        let mut claimed: std::collections::HashSet<usize> = std::collections::HashSet::new();
        for c in &a.calls {
            claimed.extend(c.stream_ids.iter().copied());
        }
        let loose_streams = a
            .streams
            .iter()
            .filter(|s| {
                !claimed.contains(&s.id)
                    && s.call_id
                        .as_deref()
                        .is_none_or(|id| !by_id.contains_key(id))
            })
            .collect();
        Plan {
            findings,
            finding_call,
            call_findings,
            full_calls,
            summarised,
            loose_streams,
            streams,
        }
    }

    /// The streams of a call, by its stream ids (unknown ids are skipped).
    pub fn call_streams(&self, c: &Call) -> Vec<&'a Stream> {
        c.stream_ids
            .iter()
            .filter_map(|id| self.streams.get(id).copied())
            .collect()
    }

    pub fn is_full(&self, call: usize) -> bool {
        self.full_calls.contains(&call)
    }
}

pub fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Error => "ERROR",
        Severity::Warning => "WARNING",
        Severity::Info => "INFO",
    }
}

pub fn state_label(s: CallState) -> &'static str {
    match s {
        CallState::Answered => "answered",
        CallState::Failed => "failed",
        CallState::Cancelled => "cancelled",
        CallState::NoResponse => "no response",
        CallState::InProgress => "in progress",
    }
}

/// "2023-11-14 22:13:20.000" (UTC).
pub fn time_ms(ns: i64) -> String {
    let t = timefmt::rfc3339(ns);
    match (t.get(..10), t.get(11..23)) {
        (Some(d), Some(h)) => format!("{d} {h}"),
        _ => t,
    }
}

/// "+1.840 s" relative to `base`.
pub fn rel(ns: i64, base: i64) -> String {
    format!("+{:.3} s", ns.saturating_sub(base) as f64 / 1e9)
}

pub fn ms(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.1}")
    } else {
        "–".into()
    }
}

pub fn opt_ms(v: Option<f64>) -> String {
    v.map(|x| format!("{} ms", ms(x)))
        .unwrap_or_else(|| "–".into())
}

pub fn secs(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.1} s"),
        _ => "–".into(),
    }
}

pub fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2} %")
    } else {
        "–".into()
    }
}

pub fn mos(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.2}"),
        _ => "–".into(),
    }
}

/// "good", "fair" or "poor" for a MOS value.
pub fn mos_class(v: Option<f64>) -> &'static str {
    match v {
        Some(x) if x >= 4.0 => "good",
        Some(x) if x >= super::verdict::POOR_MOS => "fair",
        Some(_) => "poor",
        None => "none",
    }
}

/// "1.7 MB" style with the exact byte count.
pub fn size(bytes: u64) -> String {
    let b = bytes as f64;
    let human = if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    };
    format!("{human} ({} bytes)", thousands(bytes))
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "101, 104, 3006 and 12 more".
pub fn frames_list(frames: &[u64]) -> String {
    let mut s = frames
        .iter()
        .take(MAX_FRAMES_LISTED)
        .map(|f| f.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if frames.len() > MAX_FRAMES_LISTED {
        s.push_str(&format!(" and {} more", frames.len() - MAX_FRAMES_LISTED));
    }
    if s.is_empty() {
        s.push('–');
    }
    s
}

/// "403 Forbidden" or "–".
pub fn final_text(status: Option<u16>, reason: Option<&str>) -> String {
    match (status, reason) {
        (Some(s), Some(r)) => format!("{s} {r}"),
        (Some(s), None) => s.to_string(),
        _ => "–".into(),
    }
}

/// The file name of a capture path.
pub fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Time span of all captures: (first, last, seconds).
pub fn span(a: &Analysis) -> Option<(i64, i64)> {
    let first = a.captures.iter().filter_map(|c| c.first_time_ns).min()?;
    let last = a.captures.iter().filter_map(|c| c.last_time_ns).max()?;
    Some((first, last))
}

/// What a capture cannot prove, as plain sentences (each printer escapes them).
pub fn limits(a: &Analysis) -> Vec<String> {
    let mut v = vec![
        "Only traffic that passed the capture point is visible: packets lost or changed on other network legs, and what the phones played to their users, cannot be seen.".to_string(),
        "Calls already running when the capture started, or still running when it stopped, are incomplete; their state and duration are what the capture shows.".to_string(),
        "MOS values are estimates from loss and jitter (E-model), not listening tests.".to_string(),
    ];
    if !a.encrypted_sip.is_empty() {
        v.push(format!(
            "SIP over TLS in {} flow(s) is encrypted: those calls are not analysed.",
            a.encrypted_sip.len()
        ));
    }
    if a.streams.iter().any(|s| s.srtp) {
        v.push("SRTP payloads are encrypted: timing and loss are measured, the audio content (silence, noise, echo) cannot be judged.".into());
    }
    let truncated: u64 = a.captures.iter().map(|c| c.truncated_frames).sum();
    if truncated > 0 {
        v.push(format!(
            "{truncated} frame(s) were cut by the snap length: their SIP bodies may be incomplete."
        ));
    }
    if a.stats.calls_dropped > 0 || a.stats.streams_dropped > 0 {
        v.push(format!(
            "Bounds were reached: {} call(s) and {} stream(s) were counted but not analysed.",
            a.stats.calls_dropped, a.stats.streams_dropped
        ));
    }
    if a.captures.iter().any(|c| c.error.is_some()) {
        v.push("At least one file could not be read to its end: anything after the damaged point is missing.".into());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn findings_sorted_and_linked() {
        let a = sample::analysis();
        let p = Plan::new(&a, 200);
        let sev: Vec<Severity> = p.findings.iter().map(|f| f.severity).collect();
        assert_eq!(
            sev,
            vec![
                Severity::Error,
                Severity::Error,
                Severity::Warning,
                Severity::Info
            ]
        );
        assert_eq!(p.findings[0].rule, "call-rejected"); // earlier of the two errors
        assert_eq!(p.finding_call, vec![Some(1), Some(2), Some(2), Some(0)]);
        assert_eq!(p.full_calls, vec![1, 2, 0]);
        assert_eq!(p.summarised, 0);
        assert_eq!(p.loose_streams.len(), 1);
        assert_eq!(p.call_streams(&a.calls[0]).len(), 2);
    }

    #[test]
    fn bound_on_full_calls() {
        let a = sample::analysis();
        let p = Plan::new(&a, 1);
        assert_eq!(p.full_calls, vec![1]);
        assert_eq!(p.summarised, 2);
    }

    #[test]
    fn formatting() {
        assert_eq!(thousands(1_734_552), "1,734,552");
        assert_eq!(thousands(12), "12");
        assert_eq!(size(1_734_552), "1.7 MB (1,734,552 bytes)");
        assert_eq!(time_ms(sample::T0), "2023-11-14 22:13:20.000");
        assert_eq!(ms(f64::NAN), "–");
        let many: Vec<u64> = (0..40).collect();
        assert!(frames_list(&many).ends_with(" and 10 more"));
        assert_eq!(file_name("/a/b/c.pcap"), "c.pcap");
    }
}
