//! The analysed model: what every printer (table, JSON, Markdown, HTML) reads. Field names are the JSON
//! contract documented in docs/json.md.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::problems::Problem;

#[derive(Clone, Debug, Serialize, Default)]
pub struct CaptureSummary {
    pub path: String,
    pub format: String,
    pub gzip: bool,
    pub size_bytes: u64,
    pub sections: u32,
    /// Distinct link types, e.g. "Linux cooked-mode capture v1 (SLL)".
    pub link_types: Vec<String>,
    pub interfaces: Vec<InterfaceSummary>,
    pub first_frame: u64,
    pub packets: u64,
    pub bytes_captured: u64,
    pub bytes_original: u64,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    pub first_time_ns: Option<i64>,
    pub last_time_ns: Option<i64>,
    pub duration_s: f64,
    /// Packets per protocol class (sip, rtp, rtcp, ...).
    pub classes: BTreeMap<String, u64>,
    pub truncated_frames: u64,
    pub tunnelled_frames: u64,
    /// Every decoding problem, with its count and first frame.
    pub problems: Vec<Problem>,
    /// Set when the file could not be read to its end: what was wrong. Everything before was analysed.
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct InterfaceSummary {
    pub link_type: u32,
    pub link_name: String,
    pub snaplen: u32,
    pub supported: bool,
}
