//! voipdx: an offline VoIP capture analyzer.
//!
//! The pipeline, one module per stage:
//! capture -> decode -> classify -> (sip, rtp) -> correlate -> rules -> report.
//! `pipeline` drives it; `model` is what the printers read.

pub mod analysis;
pub mod archive;
pub mod capture;
pub mod classify;
pub mod correlate;
pub mod decode;
pub mod dns;
pub mod memory;
pub mod model;
pub mod pipeline;
pub mod problems;
pub mod report;
pub mod rtp;
pub mod rules;
pub mod scenario;
pub mod sip;
pub mod site;
pub mod timefmt;

/// Runs the whole pipeline on `inputs`: decode, SIP, RTP, correlation (rules are applied by the caller).
pub fn analyze_inputs(inputs: Vec<pipeline::Input>, cfg: &pipeline::Config) -> model::Analysis {
    let mut analyzer = analysis::Analyzer::new(cfg);
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

/// Expands directories into the capture files they contain (`.pcap`, `.pcapng`, `.cap`, and those
/// gzip-compressed), sorted by name, so that a rotated `tcpdump -C/-W` set reads in order.
pub fn expand_inputs(args: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for a in args {
        let p = std::path::Path::new(a);
        if a != "-" && p.is_dir() {
            let mut files: Vec<String> = std::fs::read_dir(p)
                .map_err(|e| format!("{a}: cannot list: {e}"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    let n = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    let n = n.strip_suffix(".gz").unwrap_or(n);
                    f.is_file()
                        && (n.ends_with(".pcap")
                            || n.ends_with(".pcapng")
                            || n.ends_with(".cap")
                            || n.rsplit_once(".pcap")
                                .is_some_and(|(_, tail)| tail.chars().all(|c| c.is_ascii_digit())))
                })
                .map(|f| f.to_string_lossy().into_owned())
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(format!("{a}: no capture files in this directory"));
            }
            out.extend(files);
        } else {
            out.push(a.clone());
        }
    }
    Ok(out)
}
