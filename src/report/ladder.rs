//! SIP ladder diagrams of one call: a fixed-width text ladder (Markdown, `voipdx flow`) and an inline SVG
//! ladder (HTML). One lane per address in order of appearance; when a call touches more addresses than
//! fit, the last lane gathers the rest and each of its rows names the real address.

use std::collections::HashMap;

use super::escape;
use crate::model::{Call, Message};

/// Most lanes in the text ladder; beyond this the last lane is "other".
pub const MAX_TEXT_LANES: usize = 6;
/// Most lanes in the SVG ladder.
pub const MAX_SVG_LANES: usize = 8;
/// Most message rows drawn; the rest are counted in a note.
pub const MAX_ROWS: usize = 1000;
/// Most message rows drawn in one SVG.
pub const MAX_SVG_ROWS: usize = 400;

/// Lanes of a ladder: addresses in order of appearance, the last one possibly standing for several.
pub struct Lanes {
    pub names: Vec<String>,
    /// Addresses folded into the last lane.
    pub others: Vec<String>,
    index: HashMap<String, usize>,
}

impl Lanes {
    pub fn new(messages: &[Message], max: usize) -> Lanes {
        let max = max.max(2);
        let mut order: Vec<&str> = Vec::new();
        for m in messages {
            for a in [m.src.as_str(), m.dst.as_str()] {
                if !order.contains(&a) {
                    order.push(a);
                }
            }
        }
        let mut lanes = Lanes {
            names: Vec::new(),
            others: Vec::new(),
            index: HashMap::new(),
        };
        let fold = order.len() > max;
        for (i, a) in order.iter().enumerate() {
            if fold && i >= max - 1 {
                lanes.index.insert((*a).to_string(), max - 1);
                lanes.others.push((*a).to_string());
            } else {
                lanes.index.insert((*a).to_string(), i);
                lanes.names.push((*a).to_string());
            }
        }
        if fold {
            lanes
                .names
                .push(format!("{} other addresses", lanes.others.len()));
        }
        lanes
    }

    pub fn lane(&self, addr: &str) -> usize {
        self.index.get(addr).copied().unwrap_or(0)
    }

    fn is_other(&self, addr: &str) -> bool {
        !self.others.is_empty() && self.others.iter().any(|o| o == addr)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Status code of a response label ("407 Proxy Authentication Required" -> 407).
pub fn status_of(label: &str) -> Option<u16> {
    let code = label.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if label
        .get(3..)
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with(' '))
    {
        return None;
    }
    code.parse().ok()
}

/// Display label: method or status, SDP and retransmission marks.
fn row_label(m: &Message, max_chars: usize) -> String {
    let mut s = escape::plain_cut(&m.label, max_chars);
    if m.sdp {
        s.push_str(" (SDP)");
    }
    if m.retransmission {
        s.push_str(" (retrans)");
    }
    s
}

/// The real addresses of a row that touches the folded lane: "from X to Y".
fn other_note(m: &Message, lanes: &Lanes) -> Option<String> {
    let mut parts = Vec::new();
    if lanes.is_other(&m.src) {
        parts.push(format!("from {}", escape::plain_cut(&m.src, 48)));
    }
    if lanes.is_other(&m.dst) {
        parts.push(format!("to {}", escape::plain_cut(&m.dst, 48)));
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(" "))
    }
}

fn base_time(messages: &[Message]) -> i64 {
    messages.iter().map(|m| m.time_ns).min().unwrap_or(0)
}

fn rel_seconds(ns: i64, base: i64) -> String {
    format!("{:.3}", ns.saturating_sub(base) as f64 / 1e9)
}

const PREFIX: usize = 18;

/// A text ladder like sngrep's, readable in `width` columns (at least 60). Columns are addresses in order
/// of appearance; each row gives the time since the first message, the frame number and an arrow with
/// the method or status. Retransmissions are marked "(retrans)" and drawn with a dashed line.
pub fn text_ladder(call: &Call, width: usize) -> String {
    let width = width.clamp(60, 400);
    let msgs = &call.messages;
    let mut out = String::new();
    if msgs.is_empty() {
        out.push_str("(no SIP messages kept for this call)\n");
        return out;
    }
    let lanes = Lanes::new(msgs, MAX_TEXT_LANES);
    let n = lanes.len().max(1);
    let lane_w = ((width - PREFIX) / n).clamp(12, 40);
    let xs: Vec<usize> = (0..n).map(|i| PREFIX + lane_w / 2 + i * lane_w).collect();
    let line_w = PREFIX + n * lane_w;

    out.push_str(&header_line(&lanes, &xs, lane_w, line_w));
    out.push_str(&lanes_only(&xs, line_w));
    let base = base_time(msgs);
    for m in msgs.iter().take(MAX_ROWS) {
        out.push_str(&text_row(m, &lanes, &xs, line_w, base));
    }
    out.push_str(&footer(call, &lanes, width));
    out
}

/// Lane names centred over their lanes; when a name is wider than its lane, names alternate between two
/// lines so each gets two lanes of room.
fn header_line(lanes: &Lanes, xs: &[usize], lane_w: usize, line_w: usize) -> String {
    let fits = lanes.names.iter().all(|n| n.chars().count() + 2 <= lane_w);
    let rows = if fits || lanes.len() < 2 { 1 } else { 2 };
    let room = if rows == 1 { lane_w } else { 2 * lane_w };
    let mut out = String::new();
    for row in 0..rows {
        let mut buf = vec![' '; line_w];
        for (i, (name, x)) in lanes.names.iter().zip(xs).enumerate() {
            if i % rows != row {
                continue;
            }
            let name = escape::plain_cut(name, room.saturating_sub(2).max(4));
            let len = name.chars().count();
            let start = x.saturating_sub(len / 2).min(line_w.saturating_sub(len));
            put(&mut buf, start, &name);
        }
        out.push_str(&finish(buf));
    }
    out
}

fn lanes_only(xs: &[usize], line_w: usize) -> String {
    let mut buf = vec![' '; line_w];
    for x in xs {
        if let Some(c) = buf.get_mut(*x) {
            *c = '│';
        }
    }
    finish(buf)
}

fn text_row(m: &Message, lanes: &Lanes, xs: &[usize], line_w: usize, base: i64) -> String {
    let mut buf = vec![' '; line_w];
    let prefix = format!(
        "{:>8} {:>8}",
        rel_seconds(m.time_ns, base),
        format!("#{}", m.frame)
    );
    put(&mut buf, 0, &prefix);
    for x in xs {
        if let Some(c) = buf.get_mut(*x) {
            *c = '│';
        }
    }
    let a = xs.get(lanes.lane(&m.src)).copied().unwrap_or(PREFIX);
    let b = xs.get(lanes.lane(&m.dst)).copied().unwrap_or(PREFIX);
    let note = other_note(m, lanes).map(|n| {
        let mut nb = vec![' '; line_w];
        for x in xs {
            if let Some(c) = nb.get_mut(*x) {
                *c = '│';
            }
        }
        let text = escape::plain_cut(&format!("  ↳ {n}"), line_w.saturating_sub(PREFIX));
        put(&mut nb, PREFIX.saturating_sub(4), &text);
        finish(nb)
    });
    let mut row = text_arrow(m, buf, a, b, line_w);
    if let Some(n) = note {
        row.push_str(&n);
    }
    row
}

fn text_arrow(m: &Message, mut buf: Vec<char>, a: usize, b: usize, line_w: usize) -> String {
    if a == b {
        let label = row_label(m, 40);
        let mut text = format!("↺ {label}");
        let room = line_w.saturating_sub(a + 2);
        text = escape::plain_cut(&text, room.max(8));
        buf.resize(buf.len().max(a + 2 + text.chars().count()), ' ');
        put(&mut buf, a + 2, &text);
        return finish(buf);
    }
    let (lo, hi) = (a.min(b), a.max(b));
    let dash = if m.retransmission { '╌' } else { '─' };
    for i in lo + 1..hi {
        if let Some(c) = buf.get_mut(i) {
            *c = dash;
        }
    }
    if a < b {
        put(&mut buf, hi - 1, ">");
    } else {
        put(&mut buf, lo + 1, "<");
    }
    let span = hi - lo - 1;
    let room = span.saturating_sub(4);
    if room >= 3 {
        let label = escape::plain_cut(&row_label(m, 60), room);
        let text = format!(" {label} ");
        let len = text.chars().count();
        let start = lo + 1 + (span - len) / 2;
        put(&mut buf, start, &text);
    }
    finish(buf)
}

fn footer(call: &Call, lanes: &Lanes, width: usize) -> String {
    let mut out = String::new();
    let hidden = call.messages.len().saturating_sub(MAX_ROWS);
    if hidden > 0 {
        out.push_str(&format!("… {hidden} more messages not drawn\n"));
    }
    if call.messages_dropped > 0 {
        out.push_str(&format!(
            "… {} messages were not kept by the analyser (per-call bound)\n",
            call.messages_dropped
        ));
    }
    if !lanes.others.is_empty() {
        let list: Vec<String> = lanes
            .others
            .iter()
            .take(10)
            .map(|o| escape::plain_cut(o, 48))
            .collect();
        let more = lanes.others.len().saturating_sub(10);
        let mut items: Vec<String> = list;
        if more > 0 {
            items.push(format!("and {more} more"));
        }
        let n = items.len();
        let mut line = String::from("last lane =");
        for (i, mut item) in items.into_iter().enumerate() {
            if i + 1 < n {
                item.push(',');
            }
            if line.chars().count() + item.chars().count() + 2 > width {
                out.push_str(&line);
                out.push('\n');
                line = String::from("           ");
            }
            line.push(' ');
            line.push_str(&item);
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn put(buf: &mut [char], start: usize, text: &str) {
    for (i, ch) in text.chars().enumerate() {
        if let Some(c) = buf.get_mut(start + i) {
            *c = ch;
        }
    }
}

fn finish(buf: Vec<char>) -> String {
    let mut s: String = buf.into_iter().collect();
    let trimmed = s.trim_end().len();
    s.truncate(trimmed);
    s.push('\n');
    s
}

// ---------------------------------------------------------------------------------------------------
// SVG

const SVG_LEFT: usize = 118;
const SVG_LANE_MIN: usize = 190;
const SVG_LANE_MAX: usize = 300;
const SVG_HEAD: usize = 46;
const SVG_ROW: usize = 26;

/// Colour and CSS class of a message: requests dark, 1xx grey, 2xx green, 3xx blue, 401/407 amber
/// (challenge), other 4xx-6xx red.
fn svg_style(label: &str) -> (&'static str, &'static str) {
    match status_of(label) {
        None => ("#1f2328", "req"),
        Some(401 | 407) => ("#9a6700", "challenge"),
        Some(s) if s < 200 => ("#57606a", "provisional"),
        Some(s) if s < 300 => ("#1a7f37", "success"),
        Some(s) if s < 400 => ("#0a58ca", "redirect"),
        Some(_) => ("#cf222e", "failure"),
    }
}

/// The call's ladder as one inline SVG (no external references, no ids, every text escaped).
pub fn svg_ladder(call: &Call) -> String {
    let msgs = &call.messages;
    if msgs.is_empty() {
        return String::new();
    }
    let lanes = Lanes::new(msgs, MAX_SVG_LANES);
    let n = lanes.len().max(1);
    let rows = msgs.len().min(MAX_SVG_ROWS);
    let lane_w = svg_lane_width(msgs, &lanes);
    let w = SVG_LEFT + n * lane_w;
    let h = SVG_HEAD + rows * SVG_ROW + 12;
    let mut s = String::with_capacity(1024 + rows * 400);
    s.push_str(&format!(
        "<svg class=\"ladder\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"SIP ladder diagram\" font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\" font-size=\"12\">"
    ));
    let xs: Vec<usize> = (0..n).map(|i| SVG_LEFT + lane_w / 2 + i * lane_w).collect();
    s.push_str("<text x=\"8\" y=\"28\" fill=\"#57606a\" font-size=\"11\">time (s) · frame</text>");
    for (i, (name, x)) in lanes.names.iter().zip(&xs).enumerate() {
        let full = if i + 1 == n && !lanes.others.is_empty() {
            lanes.others.join(", ")
        } else {
            name.clone()
        };
        s.push_str(&format!(
            "<g><title>{}</title><rect x=\"{}\" y=\"8\" width=\"{}\" height=\"28\" rx=\"4\" fill=\"#f6f8fa\" stroke=\"#d0d7de\"/><text x=\"{x}\" y=\"26\" text-anchor=\"middle\" font-family=\"ui-monospace, SFMono-Regular, Menlo, Consolas, monospace\" font-size=\"11.5\" fill=\"#1f2328\">{}</text></g>",
            escape::html_max(&full, 2000),
            x - (lane_w / 2 - 8),
            lane_w - 16,
            escape::html_raw(&escape::plain_cut(name, 26)),
        ));
        s.push_str(&format!(
            "<line x1=\"{x}\" y1=\"36\" x2=\"{x}\" y2=\"{}\" stroke=\"#afb8c1\" stroke-width=\"1\"/>",
            h - 6
        ));
    }
    let base = base_time(msgs);
    for (i, m) in msgs.iter().take(rows).enumerate() {
        s.push_str(&svg_row(m, &lanes, &xs, i, base));
    }
    s.push_str("</svg>");
    s
}

/// Lane spacing that fits the longest label between the lanes it joins (about 6.8 px a character).
fn svg_lane_width(msgs: &[Message], lanes: &Lanes) -> usize {
    let need = msgs
        .iter()
        .take(MAX_SVG_ROWS)
        .map(|m| {
            let span = lanes.lane(&m.src).abs_diff(lanes.lane(&m.dst)).max(1);
            let chars = svg_label(m, lanes).chars().count();
            (chars * 68 / 10 + 36) / span
        })
        .max()
        .unwrap_or(0);
    need.clamp(SVG_LANE_MIN, SVG_LANE_MAX)
}

fn svg_label(m: &Message, lanes: &Lanes) -> String {
    let mut label = row_label(m, 34);
    if let Some(n) = other_note(m, lanes) {
        label.push(' ');
        label.push_str(&n);
    }
    label
}

fn svg_row(m: &Message, lanes: &Lanes, xs: &[usize], i: usize, base: i64) -> String {
    let y = SVG_HEAD + i * SVG_ROW + 16;
    let (color, class) = svg_style(&m.label);
    let a = xs.get(lanes.lane(&m.src)).copied().unwrap_or(SVG_LEFT);
    let b = xs.get(lanes.lane(&m.dst)).copied().unwrap_or(SVG_LEFT);
    let label = svg_label(m, lanes);
    let tip = format!(
        "#{} +{}s {} → {}: {}",
        m.frame,
        rel_seconds(m.time_ns, base),
        m.src,
        m.dst,
        label
    );
    let dash = if m.retransmission {
        " stroke-dasharray=\"5 4\""
    } else {
        ""
    };
    let weight = if class == "challenge" || class == "failure" {
        " font-weight=\"600\""
    } else {
        ""
    };
    let mut s = format!(
        "<g class=\"msg {class}\"><title>{}</title><text x=\"8\" y=\"{}\" fill=\"#57606a\" font-size=\"11\" font-family=\"ui-monospace, SFMono-Regular, Menlo, Consolas, monospace\">{} #{}</text>",
        escape::html_max(&tip, 600),
        y + 4,
        rel_seconds(m.time_ns, base),
        m.frame
    );
    if class == "challenge" {
        let text_w = label.chars().count() * 7 + 12;
        let w = a.abs_diff(b).saturating_sub(4).max(text_w);
        let mid = (a + b) / 2;
        s.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{w}\" height=\"{}\" rx=\"3\" fill=\"#fff8c5\"/>",
            mid.saturating_sub(w / 2),
            y - 16,
            SVG_ROW - 4
        ));
    }
    if a == b {
        s.push_str(&format!(
            "<path d=\"M{a} {} h26 v10 h-22\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.4\"{dash}/><polygon points=\"{},{} {},{} {},{}\" fill=\"{color}\"/><text x=\"{}\" y=\"{}\" fill=\"{color}\"{weight}>{}</text></g>",
            y - 6,
            a + 2,
            y + 4,
            a + 9,
            y,
            a + 9,
            y + 8,
            a + 32,
            y + 2,
            escape::html_raw(&label),
        ));
        return s;
    }
    let head = if b > a {
        format!("{},{} {},{} {},{}", b, y, b - 9, y - 4, b - 9, y + 4)
    } else {
        format!("{},{} {},{} {},{}", b, y, b + 9, y - 4, b + 9, y + 4)
    };
    let line_end = if b > a { b - 8 } else { b + 8 };
    s.push_str(&format!(
        "<line x1=\"{a}\" y1=\"{y}\" x2=\"{line_end}\" y2=\"{y}\" stroke=\"{color}\" stroke-width=\"1.4\"{dash}/><polygon points=\"{head}\" fill=\"{color}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{color}\"{weight}>{}</text></g>",
        (a + b) / 2,
        y - 4,
        escape::html_raw(&label),
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn status_parsing() {
        assert_eq!(status_of("407 Proxy Authentication Required"), Some(407));
        assert_eq!(status_of("200"), Some(200));
        assert_eq!(status_of("INVITE"), None);
        assert_eq!(status_of("2000 x"), None);
        assert_eq!(status_of("é"), None);
    }

    #[test]
    fn text_ladder_shape() {
        let a = sample::analysis();
        let call = &a.calls[0];
        let t = text_ladder(call, 100);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].contains("192.0.2.10:5060"));
        assert!(lines[0].contains("203.0.113.5:5060"));
        assert!(lines.iter().all(|l| l.chars().count() <= 100), "{t}");
        let invite = lines
            .iter()
            .find(|l| l.contains("INVITE (SDP)"))
            .expect("invite row");
        assert!(invite.contains("#101"));
        assert!(invite.contains('>'));
        let trying = lines
            .iter()
            .find(|l| l.contains("100 Trying"))
            .expect("100 row");
        assert!(trying.contains('<'));
        assert!(t.contains("(retrans)"));
        assert!(t.contains('╌'));
    }

    #[test]
    fn many_lanes_are_folded() {
        let mut a = sample::analysis();
        let call = &mut a.calls[0];
        let tmpl = call.messages[0].clone();
        for i in 0..12 {
            let mut m = tmpl.clone();
            m.dst = format!("198.51.100.{i}:5060");
            m.frame = 900 + i;
            call.messages.push(m);
        }
        let t = text_ladder(call, 100);
        assert!(t.lines().all(|l| l.chars().count() <= 100), "{t}");
        assert!(t.contains("other addresses"));
        assert!(t.contains("↳ to 198.51.100.11:5060"), "{t}");
        assert!(t.contains("last lane = "));
        let svg = svg_ladder(call);
        assert!(svg.contains("other addresses"));
    }

    #[test]
    fn hostile_labels_are_escaped_in_svg_and_cut_in_text() {
        let a = sample::hostile();
        for call in &a.calls {
            let svg = svg_ladder(call);
            assert!(!svg.contains("<script"));
            assert!(!svg.contains("</svg><"));
            assert_eq!(svg.matches("</svg>").count(), 1);
            let t = text_ladder(call, 100);
            assert!(t.lines().all(|l| l.chars().count() <= 120));
            assert!(!t.chars().any(|c| c.is_control() && c != '\n'));
        }
    }

    #[test]
    fn svg_marks_retransmissions_and_challenges() {
        let a = sample::analysis();
        let svg = svg_ladder(&a.calls[1]);
        assert!(svg.contains("class=\"msg challenge\""));
        assert!(svg.contains("class=\"msg failure\""));
        let svg0 = svg_ladder(&a.calls[0]);
        assert!(svg0.contains("stroke-dasharray"));
        assert!(svg0.starts_with("<svg"));
        assert!(svg0.ends_with("</svg>"));
    }

    #[test]
    fn empty_call() {
        let mut a = sample::analysis();
        a.calls[0].messages.clear();
        assert!(text_ladder(&a.calls[0], 100).contains("no SIP messages"));
        assert_eq!(svg_ladder(&a.calls[0]), "");
    }
}
