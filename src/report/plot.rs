//! Small inline SVG plots of a stream's per-second series: jitter as a line, lost packets as bars. Also a
//! text sparkline for Markdown. Series longer than the plot width are reduced to at most `MAX_POINTS`
//! buckets (maximum of each bucket), so a plot stays small for hour-long streams.

use crate::model::Stream;

/// Most points or bars drawn in one plot.
pub const MAX_POINTS: usize = 300;

const W: f64 = 360.0;
const H: f64 = 112.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 20.0;

/// (seconds since the stream's first second, value), finite values only, sorted by time.
fn points(s: &Stream, value: impl Fn(&(u32, u32, i32, f32)) -> f64) -> Vec<(f64, f64)> {
    let base = s.series.iter().map(|p| p.0).min().unwrap_or(0);
    let mut v: Vec<(f64, f64)> = s
        .series
        .iter()
        .map(|p| (f64::from(p.0 - base), value(p)))
        .filter(|(_, y)| y.is_finite())
        .map(|(x, y)| (x, y.max(0.0)))
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

/// Reduces to at most `MAX_POINTS` buckets over the x range, keeping each bucket's maximum.
fn reduce(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if points.len() <= MAX_POINTS {
        return points;
    }
    let x_max = points.last().map(|p| p.0).unwrap_or(0.0).max(1.0);
    let width = x_max / MAX_POINTS as f64;
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(MAX_POINTS + 1);
    for (x, y) in points {
        let index = ((x / width).floor()).min((MAX_POINTS - 1) as f64);
        let bucket = index * width;
        match out.last_mut() {
            Some(last) if (last.0 - bucket).abs() < f64::EPSILON => last.1 = last.1.max(y),
            _ => out.push((bucket, y)),
        }
    }
    out
}

/// A "nice" axis maximum: 1, 2 or 5 times a power of ten, at least `min`.
fn nice_max(v: f64, min: f64) -> f64 {
    let v = v.max(min);
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if v <= m * p {
            return m * p;
        }
    }
    10.0 * p
}

fn fmt_num(v: f64) -> String {
    if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn frame(title: &str, y_max: f64, x_max: f64, unit: &str) -> String {
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let mut s = format!(
        "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"{title}\" font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\" font-size=\"10\">"
    );
    s.push_str(&format!(
        "<text x=\"{LEFT}\" y=\"14\" font-size=\"11\" font-weight=\"600\" fill=\"#1f2328\">{title}</text>"
    ));
    s.push_str(&format!(
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{pw}\" height=\"{ph}\" fill=\"#fbfcfd\" stroke=\"#d0d7de\"/>"
    ));
    let mid = TOP + ph / 2.0;
    s.push_str(&format!(
        "<line x1=\"{LEFT}\" y1=\"{mid}\" x2=\"{}\" y2=\"{mid}\" stroke=\"#eaeef2\"/>",
        LEFT + pw
    ));
    s.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#57606a\">{}{unit}</text>",
        LEFT - 4.0,
        TOP + 8.0,
        fmt_num(y_max)
    ));
    s.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#57606a\">0</text>",
        LEFT - 4.0,
        TOP + ph
    ));
    s.push_str(&format!(
        "<text x=\"{LEFT}\" y=\"{}\" fill=\"#57606a\">0 s</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#57606a\">{} s</text>",
        H - 6.0,
        LEFT + pw,
        H - 6.0,
        fmt_num(x_max)
    ));
    s
}

/// Max jitter per second as a line. Empty string when the stream has no series.
pub fn jitter_svg(s: &Stream) -> String {
    let pts = reduce(points(s, |p| f64::from(p.3)));
    if pts.is_empty() {
        return String::new();
    }
    let y_peak = pts.iter().map(|p| p.1).fold(0.0, f64::max);
    let y_max = nice_max(y_peak, 1.0);
    let x_max = pts.last().map(|p| p.0).unwrap_or(0.0).max(1.0);
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let title = format!("Jitter per second, ms (peak {})", fmt_num(y_peak));
    let mut svg = frame(&title, y_max, x_max, "");
    let gap = (x_max / MAX_POINTS as f64).max(1.0) * 1.5;
    let mut d = String::with_capacity(pts.len() * 16);
    let mut prev: Option<f64> = None;
    for (x, y) in &pts {
        let px = LEFT + x / x_max * pw;
        let py = TOP + ph - (y / y_max).min(1.0) * ph;
        let cmd = match prev {
            Some(p) if x - p <= gap => 'L',
            _ => 'M',
        };
        d.push_str(&format!("{cmd}{px:.1} {py:.1} "));
        prev = Some(*x);
    }
    svg.push_str(&format!(
        "<path d=\"{}\" fill=\"none\" stroke=\"#0a58ca\" stroke-width=\"1.5\" stroke-linejoin=\"round\"/>",
        d.trim_end()
    ));
    if let [(x, y)] = pts.as_slice() {
        svg.push_str(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"#0a58ca\"/>",
            LEFT + x / x_max * pw,
            TOP + ph - (y / y_max).min(1.0) * ph
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Lost packets per second as bars. Empty string when the stream has no series.
pub fn loss_svg(s: &Stream) -> String {
    let pts = reduce(points(s, |p| f64::from(p.2)));
    if pts.is_empty() {
        return String::new();
    }
    let total: f64 = pts.iter().map(|p| p.1).sum();
    let y_peak = pts.iter().map(|p| p.1).fold(0.0, f64::max);
    let y_max = nice_max(y_peak, 1.0);
    let x_max = pts.last().map(|p| p.0).unwrap_or(0.0).max(1.0);
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let title = if total > 0.0 {
        format!("Lost packets per second (peak {})", fmt_num(y_peak))
    } else {
        "Lost packets per second (none)".to_string()
    };
    let mut svg = frame(&title, y_max, x_max, "");
    let bar = (pw / (x_max + 1.0)).clamp(1.0, 12.0);
    for (x, y) in pts.iter().filter(|p| p.1 > 0.0) {
        let h = (y / y_max).min(1.0) * ph;
        svg.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" fill=\"#cf222e\"/>",
            LEFT + x / (x_max + 1.0) * pw,
            TOP + ph - h
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// A one-line sparkline of max jitter per second, at most `width` characters.
pub fn jitter_sparkline(s: &Stream, width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let pts = points(s, |p| f64::from(p.3));
    if pts.is_empty() || width == 0 {
        return String::new();
    }
    let per = pts.len().div_ceil(width);
    let values: Vec<f64> = pts
        .chunks(per.max(1))
        .map(|c| c.iter().map(|p| p.1).fold(0.0, f64::max))
        .collect();
    let max = values.iter().copied().fold(0.0, f64::max);
    values
        .iter()
        .map(|v| {
            let i = if max > 0.0 {
                (v / max * 7.0).round() as usize
            } else {
                0
            };
            BARS.get(i).copied().unwrap_or('█')
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn plots_have_expected_shapes() {
        let a = sample::analysis();
        let s = &a.streams[1];
        let j = jitter_svg(s);
        assert!(j.starts_with("<svg"));
        assert!(j.ends_with("</svg>"));
        assert!(j.contains("peak 14.7"), "{j}");
        assert!(j.contains("<path d=\"M"));
        let l = loss_svg(s);
        assert_eq!(l.matches("<rect").count(), 1 + 4); // frame + four lossy seconds
        let none = loss_svg(&a.streams[0]);
        assert!(none.contains("(none)"));
    }

    #[test]
    fn long_series_are_reduced() {
        let mut a = sample::analysis();
        let s = &mut a.streams[0];
        s.series = (0..36_000)
            .map(|i| (i, 50, (i % 7) as i32, (i % 13) as f32))
            .collect();
        let j = jitter_svg(s);
        assert!(j.matches('L').count() <= MAX_POINTS + 5);
        assert!(j.len() < 20_000);
        let l = loss_svg(s);
        assert!(l.matches("<rect").count() <= MAX_POINTS + 1);
    }

    #[test]
    fn hostile_series_do_not_break() {
        let a = sample::hostile();
        let s = &a.streams[0];
        let j = jitter_svg(s);
        assert!(!j.contains("NaN"));
        assert!(!j.contains("inf"));
        let l = loss_svg(s);
        assert!(!l.contains("NaN"));
        let mut empty = s.clone();
        empty.series.clear();
        assert_eq!(jitter_svg(&empty), "");
        assert_eq!(loss_svg(&empty), "");
        assert_eq!(jitter_sparkline(&empty, 40), "");
    }

    #[test]
    fn sparkline_is_bounded() {
        let a = sample::analysis();
        let sp = jitter_sparkline(&a.streams[1], 40);
        assert!(sp.chars().count() <= 40);
        assert!(sp.contains('█'));
    }

    #[test]
    fn nice_axis() {
        assert_eq!(nice_max(14.8, 1.0), 20.0);
        assert_eq!(nice_max(0.3, 1.0), 1.0);
        assert_eq!(nice_max(31.0, 1.0), 50.0);
    }
}
