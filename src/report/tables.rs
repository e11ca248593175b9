//! Terminal tables (comfy-table): calls and streams.

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use crate::model::{Analysis, Call};

/// Rows shown in a terminal table; the JSON, Markdown and HTML outputs carry every call and stream.
pub const MAX_ROWS: usize = 2000;

fn more(n: usize) -> String {
    if n > MAX_ROWS {
        format!(" (the first {MAX_ROWS} shown; --format json lists them all)")
    } else {
        String::new()
    }
}

fn table() -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED);
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t
}

fn opt_f(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.digits$}"))
}

/// Bounds untrusted text for a terminal cell: no control characters, at most `max` characters.
pub fn cell(s: &str, max: usize) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() > max {
        let mut t: String = clean.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    } else {
        clean
    }
}

pub fn status_text(c: &Call) -> String {
    match (c.final_status, &c.final_reason) {
        (Some(s), Some(r)) => format!("{s} {}", cell(r, 24)),
        (Some(s), None) => s.to_string(),
        _ => "-".into(),
    }
}

pub fn calls(a: &Analysis) -> String {
    let mut t = table();
    t.set_header(vec![
        "#",
        "start",
        "caller",
        "callee",
        "caller UA",
        "callee UA",
        "PDD ms",
        "duration s",
        "status",
        "state",
        "MOS →",
        "MOS ←",
        "call-id",
    ]);
    for (i, c) in a.calls.iter().enumerate().take(MAX_ROWS) {
        t.add_row(vec![
            (i + 1).to_string(),
            c.start_time.get(11..23).unwrap_or("").to_string(),
            cell(&c.caller, 24),
            cell(&c.callee, 24),
            cell(c.user_agents.caller.as_deref().unwrap_or("-"), 20),
            cell(c.user_agents.callee.as_deref().unwrap_or("-"), 20),
            opt_f(c.setup_delay_ms, 0),
            opt_f(c.duration_s, 1),
            status_text(c),
            c.state.as_str().to_string(),
            opt_f(c.mos_caller_to_callee, 2),
            opt_f(c.mos_callee_to_caller, 2),
            cell(&c.call_id, 40),
        ]);
    }
    format!("{t}\n{} calls{}\n", a.call_count(), more(a.call_count()))
}

/// Same columns as `tshark -z rtp,streams`, plus MOS and call.
pub fn streams(a: &Analysis) -> String {
    let mut t = table();
    t.set_header(vec![
        "start",
        "end",
        "src",
        "dst",
        "SSRC",
        "payload",
        "pkts",
        "lost",
        "min Δ ms",
        "mean Δ ms",
        "max Δ ms",
        "min jitter",
        "mean jitter",
        "max jitter",
        "MOS",
        "call",
    ]);
    for s in a.streams.iter().take(MAX_ROWS) {
        t.add_row(vec![
            s.start_time.get(11..23).unwrap_or("").to_string(),
            s.end_time.get(11..23).unwrap_or("").to_string(),
            s.src.clone(),
            s.dst.clone(),
            s.ssrc.clone(),
            cell(&s.codec, 16),
            s.packets.to_string(),
            format!("{} ({:.1}%)", s.lost, s.lost_percent),
            format!("{:.3}", s.min_delta_ms),
            format!("{:.3}", s.mean_delta_ms),
            format!("{:.3}", s.max_delta_ms),
            format!("{:.3}", s.min_jitter_ms),
            format!("{:.3}", s.mean_jitter_ms),
            format!("{:.3}", s.max_jitter_ms),
            opt_f(s.mos, 2),
            s.call_id
                .as_deref()
                .map_or_else(|| "not tied to a call".into(), |c| cell(c, 30)),
        ]);
    }
    format!(
        "{t}\n{} streams{}\n",
        a.stream_count(),
        more(a.stream_count())
    )
}

/// Findings, most severe first: the first screen of `voipdx analyze`.
pub fn findings(a: &Analysis) -> String {
    if a.findings.is_empty() {
        return "No findings: no warning or error in this capture.\n".to_string();
    }
    let mut out = String::new();
    let mut t = table();
    t.set_header(vec![
        "#",
        "severity",
        "rule",
        "call",
        "finding",
        "evidence frames",
    ]);
    for (i, f) in a.findings.iter().enumerate() {
        let frames: Vec<String> = f
            .evidence_frames
            .iter()
            .take(8)
            .map(|x| x.to_string())
            .collect();
        let more = if f.evidence_frames.len() > 8 {
            " …"
        } else {
            ""
        };
        t.add_row(vec![
            (i + 1).to_string(),
            f.severity.as_str().to_uppercase(),
            f.rule.clone(),
            f.call_id
                .as_deref()
                .map_or_else(|| "-".into(), |c| cell(c, 24)),
            cell(&f.title, 80),
            format!("{}{more}", frames.join(" ")),
        ]);
    }
    out.push_str(&t.to_string());
    out.push('\n');
    // Detail, filter and next steps of every error and warning, in the same order.
    for (i, f) in a.findings.iter().enumerate() {
        if f.severity == crate::model::Severity::Info {
            continue;
        }
        out.push_str(&format!(
            "\n[{}] {} — {}\n",
            i + 1,
            f.severity.as_str().to_uppercase(),
            cell(&f.title, 200)
        ));
        out.push_str(&format!("    {}\n", cell(&f.detail, 2000)));
        out.push_str(&format!(
            "    Wireshark filter: {}\n",
            cell(&f.wireshark_filter, 500)
        ));
        for step in &f.next_steps {
            out.push_str(&format!("    - {}\n", cell(step, 500)));
        }
        out.push_str(&format!("    Reference: {}\n", f.kb));
    }
    out
}
