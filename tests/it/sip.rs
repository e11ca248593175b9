//! SIP over the public captures: per-method and per-status counts equal `tshark -z sip,stat`, and every
//! call (Call-ID with an INVITE) has the final status of tshark's dialog table.

use std::collections::BTreeMap;

use crate::common::{all_calls, analyze_path, ref_section, reference_for, shared_files};

/// (methods, status codes) from the `sip,stat` section.
fn sip_stat(reference: &str) -> (BTreeMap<String, u64>, BTreeMap<u16, u64>) {
    let sec = ref_section(reference, "## tshark -q -z sip,stat");
    let mut methods = BTreeMap::new();
    let mut codes = BTreeMap::new();
    for line in sec.lines() {
        let t = line.trim();
        let Some((left, right)) = t.split_once(':') else {
            continue;
        };
        let Some(n) = right
            .trim()
            .strip_suffix(" Packets")
            .and_then(|n| n.trim().parse().ok())
        else {
            continue;
        };
        let left = left.trim();
        if let Some(code) = left.strip_prefix("SIP ") {
            codes.insert(code[..3].parse().expect("status code"), n);
        } else if left.chars().all(|c| c.is_ascii_uppercase()) {
            methods.insert(left.to_string(), n);
        }
    }
    (methods, codes)
}

/// Call-ID (tshark cuts it at 40 characters) -> final status of its INVITE in the dialog table.
fn dialogs(reference: &str) -> Vec<(String, Option<u16>)> {
    let sec = ref_section(reference, "## tshark -q -z voip,calls");
    let mut out = Vec::new();
    for line in sec.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 6 || cols[0].parse::<u64>().is_err() {
            continue;
        }
        let seq: Vec<&str> = cols
            .iter()
            .copied()
            .skip_while(|c| *c != "INVITE" && !c.contains('('))
            .collect();
        if !seq.contains(&"INVITE") {
            continue;
        }
        let finals: Vec<u16> = seq
            .iter()
            .filter_map(|c| c.strip_suffix("(INVITE)"))
            .filter_map(|c| c.parse().ok())
            .filter(|c| *c >= 200)
            .collect();
        let want = if finals.iter().any(|c| (200..300).contains(c)) {
            Some(200)
        } else {
            finals.last().copied()
        };
        out.push((cols[4].to_string(), want));
    }
    out
}

/// Call-ID -> frame numbers of its SIP messages, from the reference field dump.
fn sip_frames(reference: &str) -> std::collections::HashMap<String, Vec<u64>> {
    let mut out: std::collections::HashMap<String, Vec<u64>> = std::collections::HashMap::new();
    for line in ref_section(reference, "## tshark -Y sip -T fields").lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 6 {
            continue;
        }
        if let Ok(frame) = cols[0].parse::<u64>() {
            out.entry(cols[5].to_string()).or_default().push(frame);
        }
    }
    out
}

#[test]
fn call_frames_are_wiresharks_frame_numbers() {
    let mut checked = 0;
    for f in shared_files() {
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        let reference = reference_for(&f);
        let frames = sip_frames(&reference);
        // The dump of the largest capture is cut after a few hundred rows: check frames up to its last row.
        let last = frames.values().flatten().max().copied().unwrap_or(0);
        let a = analyze_path(f.to_str().unwrap());
        for c in &all_calls(&a) {
            // tshark does not see SIP on ports it does not know (e.g. 5080/6060 without decode-as).
            let Some(theirs) = frames.get(&c.call_id) else {
                continue;
            };
            for fr in c.frames.iter().filter(|fr| **fr <= last) {
                assert!(
                    theirs.contains(fr),
                    "{name}: call {} frame {fr} is not a SIP frame of that call in tshark",
                    c.call_id
                );
                checked += 1;
            }
        }
    }
    if !shared_files().is_empty() {
        assert!(checked > 1000, "only {checked} frames checked");
    }
}

#[test]
fn sip_counts_and_call_outcomes_match_tshark() {
    let mut calls_checked = 0;
    for f in shared_files() {
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        let reference = reference_for(&f);
        let a = analyze_path(f.to_str().unwrap());
        let calls = all_calls(&a);
        let (methods, codes) = sip_stat(&reference);
        assert_eq!(a.stats.sip_methods, methods, "{name}: requests per method");
        let ours_codes: BTreeMap<u16, u64> = a.stats.sip_status_codes.clone();
        assert_eq!(ours_codes, codes, "{name}: responses per status code");
        let table = dialogs(&reference);
        for (cid, want) in &table {
            let call = calls
                .iter()
                .find(|c| c.call_id == *cid || c.call_id.starts_with(cid.as_str()))
                .unwrap_or_else(|| panic!("{name}: call {cid} not found"));
            let ours = call
                .final_status
                .map(|s| if (200..300).contains(&s) { 200 } else { s });
            assert_eq!(ours, *want, "{name}: final status of {cid}");
            calls_checked += 1;
        }
        // The reference dialog table is cut after a few hundred rows in the largest capture; there the
        // totals come from the features file.
        if name.starts_with("goffinet_branch-scenario") {
            assert_eq!(calls.len(), 1334);
            let answered = calls.iter().filter(|c| c.final_status == Some(200)).count();
            let forbidden = calls.iter().filter(|c| c.final_status == Some(403)).count();
            let none = calls.iter().filter(|c| c.final_status.is_none()).count();
            assert_eq!((answered, forbidden, none), (102, 1148, 84), "{name}");
        } else {
            assert_eq!(calls.len(), table.len(), "{name}: number of calls");
        }
    }
    if !shared_files().is_empty() {
        assert!(calls_checked > 400, "only {calls_checked} calls checked");
    }
}
