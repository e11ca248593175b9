//! `voipdx summary`: what each capture contains and every problem met while reading it.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use crate::model::CaptureSummary;

pub fn table(summaries: &[CaptureSummary]) -> String {
    let mut out = String::new();
    for s in summaries {
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED);
        t.set_header(vec!["capture", &s.path]);
        let fmt = if s.gzip {
            format!("{} (gzip)", s.format)
        } else {
            s.format.clone()
        };
        t.add_row(vec!["format".to_string(), fmt]);
        t.add_row(vec!["size".to_string(), format!("{} bytes", s.size_bytes)]);
        t.add_row(vec!["link types".to_string(), s.link_types.join(", ")]);
        let frames = if s.packets == 0 {
            "0".to_string()
        } else {
            format!(
                "{} (frames {}..{})",
                s.packets,
                s.first_frame,
                s.first_frame + s.packets - 1
            )
        };
        t.add_row(vec!["packets".to_string(), frames]);
        t.add_row(vec![
            "bytes".to_string(),
            format!(
                "{} captured, {} on the wire",
                s.bytes_captured, s.bytes_original
            ),
        ]);
        t.add_row(vec![
            "first packet".to_string(),
            s.first_time.clone().unwrap_or_else(|| "-".into()),
        ]);
        t.add_row(vec![
            "last packet".to_string(),
            s.last_time.clone().unwrap_or_else(|| "-".into()),
        ]);
        t.add_row(vec![
            "duration".to_string(),
            format!("{:.6} s", s.duration_s),
        ]);
        let classes: Vec<String> = s.classes.iter().map(|(k, v)| format!("{k} {v}")).collect();
        t.add_row(vec!["protocols".to_string(), classes.join(", ")]);
        out.push_str(&t.to_string());
        out.push('\n');
        if let Some(e) = &s.error {
            out.push_str(&format!("error: {}: {e}\n", s.path));
        }
        if !s.problems.is_empty() {
            let mut p = Table::new();
            p.load_style(UTF8_FULL_CONDENSED);
            p.set_header(vec!["stage", "problem", "count", "first frame"]);
            for pr in &s.problems {
                p.add_row(vec![
                    pr.stage.clone(),
                    pr.message.clone(),
                    pr.count.to_string(),
                    pr.first_frame.to_string(),
                ]);
            }
            out.push_str(&p.to_string());
            out.push('\n');
        }
    }
    out
}
