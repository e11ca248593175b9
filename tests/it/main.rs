//! Integration tests, one module per stage. Tests that read `../shared/captures` skip with a message
//! where that folder is absent (a fresh clone).

mod capture;
mod common;
mod conformance;
mod findings;
mod fixtures;
mod generated;
mod multifile;
mod props;
mod regressions;
mod report;
mod rtp;
mod schema;
mod segments;
mod sip;
