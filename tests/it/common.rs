use std::path::PathBuf;

use voipdx::model::CaptureSummary;
use voipdx::pipeline::{self, Config, Input, NoStage};

/// `../shared/captures` next to the repository, if present.
pub fn shared_captures() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/captures");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: ../shared/captures is absent (fresh clone): public-capture checks not run"
        );
        None
    }
}

/// Every capture file in the shared folder, sorted.
pub fn shared_files() -> Vec<PathBuf> {
    let Some(dir) = shared_captures() else {
        return vec![];
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read shared captures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.ends_with(".pcap") || n.ends_with(".pcapng")
        })
        .collect();
    v.sort();
    v
}

pub fn summarize_bytes(name: &str, data: Vec<u8>) -> CaptureSummary {
    let mut v = pipeline::run_inputs(
        vec![Input::Bytes {
            name: name.to_string(),
            data,
        }],
        &Config::default(),
        &mut NoStage,
    );
    v.remove(0)
}

pub fn summarize_path(path: &str, threads: usize) -> CaptureSummary {
    let cfg = Config {
        threads,
        ..Config::default()
    };
    let mut v = pipeline::run(&[path.to_string()], &cfg, &mut NoStage);
    v.remove(0)
}

pub fn analyze_path(path: &str) -> voipdx::model::Analysis {
    voipdx::analyze(&[path.to_string()], &Config::default())
}

pub fn analyze_bytes(name: &str, data: Vec<u8>) -> voipdx::model::Analysis {
    voipdx::analyze_inputs(
        vec![Input::Bytes {
            name: name.to_string(),
            data,
        }],
        &Config::default(),
    )
}

/// The section of a reference file that follows the heading containing `marker`.
pub fn ref_section<'a>(reference: &'a str, marker: &str) -> &'a str {
    let Some(i) = reference.find(marker) else {
        return "";
    };
    let rest = &reference[i..];
    let rest = rest.split_once('\n').map_or("", |x| x.1);
    rest.split("\n## ").next().unwrap_or("")
}

pub fn reference_for(path: &std::path::Path) -> String {
    let name = path.file_name().unwrap().to_str().unwrap();
    std::fs::read_to_string(path.with_file_name(format!("ref/{name}.txt"))).expect("reference")
}

/// Every call of an analysis: those set aside in segments (in segment order) and those still in memory.
pub fn all_calls(a: &voipdx::model::Analysis) -> Vec<voipdx::model::Call> {
    let mut v = Vec::new();
    for i in 0..a.archive.len() {
        v.extend(
            a.archive
                .load_calls(i)
                .expect("archived segment reads back"),
        );
    }
    v.extend(a.calls.iter().cloned());
    v
}
