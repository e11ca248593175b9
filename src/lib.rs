//! voipdx: an offline VoIP capture analyzer.
//!
//! The pipeline, one module per stage:
//! capture -> decode -> classify -> (sip, rtp) -> correlate -> rules -> report.
//! `pipeline` drives it; `model` is what the printers read.

pub mod analysis;
pub mod capture;
pub mod classify;
pub mod correlate;
pub mod decode;
pub mod dns;
pub mod model;
pub mod pipeline;
pub mod problems;
pub mod report;
pub mod rtp;
pub mod scenario;
pub mod sip;
pub mod timefmt;

/// Runs the whole pipeline on `inputs`: decode, SIP, RTP, correlation (rules are applied by the caller).
pub fn analyze_inputs(inputs: Vec<pipeline::Input>, cfg: &pipeline::Config) -> model::Analysis {
    let mut analyzer = analysis::Analyzer::default();
    let captures = pipeline::run_inputs(inputs, cfg, &mut analyzer);
    analyzer.finish(captures)
}

/// `analyze_inputs` over file paths (`-` = stdin).
pub fn analyze(paths: &[String], cfg: &pipeline::Config) -> model::Analysis {
    analyze_inputs(
        paths
            .iter()
            .map(|p| pipeline::Input::Path(p.clone()))
            .collect(),
        cfg,
    )
}
