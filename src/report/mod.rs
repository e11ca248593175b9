//! Printers of the model. They only read the model; none reaches back into the pipeline.
//!
//! Terminal tables (`summary`, `tables`) and the escalation reports (`--format html`, `--format markdown`)
//! are built from one `model::Analysis`, so every printer tells the same story.

pub mod common;
pub mod escape;
pub mod html;
pub mod ladder;
pub mod markdown;
pub mod options;
pub mod plot;
pub mod redact;
#[cfg(test)]
pub mod sample;
pub mod summary;
pub mod tables;
pub mod verdict;

pub use html::html;
pub use ladder::text_ladder;
pub use markdown::markdown;
pub use options::{ReportOptions, sha256_file};
pub use redact::redact;

use std::borrow::Cow;

use crate::model::{Analysis, Partial};

/// Calls a report view holds of a long capture (the first ones, in call order).
pub const VIEW_CALLS: usize = 2000;

/// What the HTML, Markdown and table printers read. The analysis itself when it holds every call; for a
/// long capture whose finished calls were set aside in segments (`archive`), the first `VIEW_CALLS`
/// calls with their streams, plus the totals and the verdict's sentence about calls worked out over
/// every call (`Analysis::partial`). The JSON output always has every call.
pub fn view(a: &Analysis) -> Cow<'_, Analysis> {
    view_first(a, VIEW_CALLS)
}

/// `view` holding at most `max_calls` calls.
pub fn view_first(a: &Analysis, max_calls: usize) -> Cow<'_, Analysis> {
    if a.archive.is_empty() {
        return Cow::Borrowed(a);
    }
    let tally = verdict::tally(a);
    let (total_calls, answered, failed, cancelled) = tally.counts();
    let mut v = a.clone();
    v.archive = Default::default();
    v.calls = Vec::new();
    v.streams = Vec::new();
    let mut full = false;
    let res = a.for_each_segment(|calls, streams| {
        if full {
            return;
        }
        let room = max_calls.saturating_sub(v.calls.len());
        let take = calls.len().min(room);
        let ids: std::collections::HashSet<usize> = calls[..take]
            .iter()
            .flat_map(|c| c.stream_ids.iter().copied())
            .collect();
        let named: std::collections::HashSet<&str> =
            calls[..take].iter().map(|c| c.call_id.as_str()).collect();
        v.calls.extend_from_slice(&calls[..take]);
        v.streams.extend(
            streams
                .iter()
                .filter(|s| {
                    ids.contains(&s.id) || s.call_id.as_deref().is_none_or(|id| named.contains(id))
                })
                .cloned(),
        );
        full = v.calls.len() >= max_calls;
    });
    if let Err(e) = res {
        v.problems.push(crate::problems::Problem {
            stage: "report".into(),
            message: format!("calls set aside could not be read back: {e}"),
            count: 1,
            first_frame: 0,
        });
    }
    v.partial = Some(Partial {
        total_calls,
        total_streams: a.total_streams(),
        answered,
        failed,
        cancelled,
        calls_sentence: tally.sentence(),
    });
    Cow::Owned(v)
}
