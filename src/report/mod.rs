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
