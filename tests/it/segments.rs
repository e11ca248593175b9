//! Long captures: finished calls are retired into segments set aside on disk (memory follows the calls
//! still going), and everything the user sees is the same as when every call is kept to the end.

use std::collections::BTreeMap;

use voipdx::model::Analysis;
use voipdx::pipeline::{Config, Input};
use voipdx::scenario::library::long_capture;

/// 240 calls, one every 1.5 s (6 minutes): about 48 000 frames.
fn capture() -> Vec<u8> {
    long_capture(240, 1_500)
}

fn analyze(data: Vec<u8>, segment_calls: usize, quiet_frames: u64) -> Analysis {
    let cfg = Config {
        segment_calls,
        quiet_frames,
        ..Config::default()
    };
    let mut a = voipdx::analyze_inputs(
        vec![Input::Bytes {
            name: "long.pcap".into(),
            data,
        }],
        &cfg,
    );
    a.findings = voipdx::rules::diagnose(&mut a, None, &Default::default());
    a
}

/// Calls by Call-ID as JSON, with the stream ids (numbered per segment) replaced by the streams' keys.
fn calls_by_id(a: &Analysis) -> BTreeMap<String, serde_json::Value> {
    let json = serde_json::to_value(a).expect("json");
    let streams: BTreeMap<u64, String> = json["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| {
            (
                s["id"].as_u64().expect("id"),
                format!("{} {} {}", s["src"], s["dst"], s["ssrc"]),
            )
        })
        .collect();
    let key = |v: &serde_json::Value| -> serde_json::Value {
        v.as_array()
            .expect("ids")
            .iter()
            .map(|id| serde_json::Value::String(streams[&id.as_u64().expect("id")].clone()))
            .collect()
    };
    json["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c["stream_ids"] = key(&c["stream_ids"]);
            for d in c["media"].as_array_mut().expect("media") {
                d["stream_ids"] = key(&d["stream_ids"]);
            }
            (c["call_id"].as_str().expect("id").to_string(), c)
        })
        .collect()
}

fn streams_by_key(a: &Analysis) -> BTreeMap<String, serde_json::Value> {
    let json = serde_json::to_value(a).expect("json");
    json["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| {
            let mut s = s.clone();
            let key = format!("{} {} {}", s["src"], s["dst"], s["ssrc"]);
            s["id"] = serde_json::Value::Null;
            (key, s)
        })
        .collect()
}

fn findings(a: &Analysis) -> Vec<(String, String, Option<String>, String)> {
    let mut v: Vec<_> = a
        .findings
        .iter()
        .map(|f| {
            (
                f.rule.clone(),
                format!("{:?}", f.severity),
                f.call_id.clone(),
                f.title.clone(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn segmented_analysis_equals_keeping_every_call() {
    let data = capture();
    let kept = analyze(data.clone(), usize::MAX, u64::MAX);
    let seg = analyze(data, 20, 500);
    assert!(kept.archive.is_empty(), "nothing retired when told not to");
    assert!(
        seg.archive.len() >= 8,
        "finished calls were set aside: {} segments",
        seg.archive.len()
    );
    // What stays in memory at the end: the calls still going plus less than one segment.
    assert!(
        seg.calls.len() < 60,
        "{} calls held at the end",
        seg.calls.len()
    );
    assert_eq!(seg.total_calls(), 240);
    assert_eq!(kept.calls.len(), 240);
    assert_eq!(seg.total_streams(), kept.streams.len());
    assert_eq!(kept.streams.len(), 180 * 2, "two streams per answered call");

    let (a, b) = (calls_by_id(&kept), calls_by_id(&seg));
    assert_eq!(a.len(), b.len());
    for (id, c) in &a {
        assert_eq!(Some(c), b.get(id), "call {id}");
    }
    assert_eq!(streams_by_key(&kept), streams_by_key(&seg));
    assert_eq!(findings(&kept), findings(&seg));
    assert!(
        kept.findings.iter().any(|f| f.rule == "call_failed"),
        "the 486s are found"
    );
    // The verdict counts every call, read back segment by segment.
    assert_eq!(
        voipdx::report::verdict::verdict(&kept),
        voipdx::report::verdict::verdict(&seg)
    );
}

/// A capture that ends with every call still held (nothing retired on the way, or all calls at once):
/// the end of the analysis sets them aside segment by segment, oldest first, with the same result.
#[test]
fn calls_held_at_the_end_are_set_aside_by_segment_with_the_same_result() {
    for spacing_ms in [1_500, 5] {
        let data = long_capture(240, spacing_ms);
        let kept = analyze(data.clone(), usize::MAX, u64::MAX);
        let seg = analyze(data, 20, u64::MAX);
        // Set aside a quarter segment (5 calls) at a time until a segment is left.
        assert_eq!(seg.archive.len(), 44, "spacing {spacing_ms}");
        assert_eq!(seg.calls.len(), 20);
        assert_eq!(seg.total_calls(), 240);
        assert_eq!(
            calls_by_id(&kept),
            calls_by_id(&seg),
            "spacing {spacing_ms}"
        );
        assert_eq!(streams_by_key(&kept), streams_by_key(&seg));
        assert_eq!(findings(&kept), findings(&seg));
    }
}

#[test]
fn json_of_a_segmented_analysis_lists_every_call_once_in_order() {
    let seg = analyze(capture(), 20, 500);
    let json = serde_json::to_value(&seg).expect("json");
    let ids: Vec<&str> = json["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| c["call_id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), 240);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 240);
    let stream_ids: Vec<u64> = json["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| s["id"].as_u64().expect("id"))
        .collect();
    let expect: Vec<u64> = (0..stream_ids.len() as u64).collect();
    assert_eq!(stream_ids, expect, "stream ids are unique and dense");
    // Every call's streams exist and name the call.
    for c in json["calls"].as_array().expect("calls") {
        for id in c["stream_ids"].as_array().expect("ids") {
            let s = &json["streams"][id.as_u64().expect("id") as usize];
            assert_eq!(s["call_id"], c["call_id"]);
        }
    }
}

#[test]
fn report_view_of_a_segmented_analysis_says_what_it_shows() {
    let seg = analyze(capture(), 20, 500);
    let view = voipdx::report::view(&seg);
    // The view holds the first calls only when the capture is longer than `VIEW_CALLS`; here all fit.
    assert_eq!(view.calls.len(), 240);
    assert_eq!(view.call_count(), 240);
    let opts = voipdx::report::ReportOptions::default();
    let md = voipdx::report::markdown(&view, &opts);
    assert!(md.contains("## Calls (240)"));
    assert!(
        !md.contains("this report shows the first"),
        "every call fits in the view: no note"
    );
    assert!(
        md.contains("60 of 240 calls failed: 60 × 486 Busy Here"),
        "verdict over all calls"
    );
    // A view smaller than the capture: the first calls, the totals, and a note.
    let small = voipdx::report::view_first(&seg, 50);
    assert_eq!(small.calls.len(), 50);
    assert_eq!(small.calls[0].call_id, "long-0@test");
    assert_eq!(small.call_count(), 240);
    assert!(
        small
            .streams
            .iter()
            .all(|s| small.calls.iter().any(|c| c.stream_ids.contains(&s.id))),
        "only the streams of the calls shown"
    );
    let html = voipdx::report::html(&small, &opts);
    assert!(html.contains("This capture has 240 calls; this report shows the first 50"));
    assert!(
        html.contains("60 of 240 calls failed"),
        "verdict over all calls"
    );
    // Flow and redaction read archived calls too.
    let red = voipdx::report::redact(&seg);
    assert_eq!(red.total_calls(), 240);
    let json = serde_json::to_string(&red).expect("json");
    assert!(
        !json.contains("long-17@test"),
        "Call-IDs of archived calls are redacted"
    );
}

/// Calls are retired on packet time stamps, not on when a batch ends: the segmented analysis is the same
/// whatever the number of threads and the batch size.
#[test]
fn segmented_analysis_does_not_depend_on_threads_or_batch_size() {
    let data = capture();
    let run = |threads: usize, batch_bytes: usize| {
        let cfg = Config {
            threads,
            batch_bytes,
            segment_calls: 20,
            quiet_frames: 500,
            ..Config::default()
        };
        let mut a = voipdx::analyze_inputs(
            vec![Input::Bytes {
                name: "long.pcap".into(),
                data: data.clone(),
            }],
            &cfg,
        );
        a.findings = voipdx::rules::diagnose(&mut a, None, &Default::default());
        assert!(a.archive.len() >= 8);
        serde_json::to_string(&a).expect("json")
    };
    let reference = run(1, Config::default().batch_bytes);
    for (threads, batch) in [(2, Config::default().batch_bytes), (2, 1024), (4, 4096)] {
        assert!(
            run(threads, batch) == reference,
            "threads {threads} batch {batch} differ"
        );
    }
}
