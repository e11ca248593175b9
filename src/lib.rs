//! voipdx: an offline VoIP capture analyzer.
//!
//! The pipeline, one module per stage:
//! capture -> decode -> classify -> (sip, rtp) -> correlate -> rules -> report.
//! `pipeline` drives it; `model` is what the printers read.

pub mod capture;
pub mod classify;
pub mod decode;
pub mod model;
pub mod pipeline;
pub mod problems;
pub mod report;
pub mod rtp;
pub mod scenario;
pub mod timefmt;
