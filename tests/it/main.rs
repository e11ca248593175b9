//! Integration tests, one module per stage. Tests that read `../shared/captures` skip with a message
//! where that folder is absent (a fresh clone).

mod capture;
mod common;
mod conformance;
mod fixtures;
mod generated;
mod props;
mod regressions;
mod rtp;
mod sip;
