//! The engine: read batches of frames, decode and classify them in parallel (rayon), then fold the events
//! in frame order into the sequential stages. Folding in order makes the result identical whatever the
//! number of threads.

use std::collections::BTreeSet;

use rayon::prelude::*;

use crate::capture::{BATCH_BYTES, CaptureReader};
use crate::classify::{self, BatchOut, Class, Event, EventKind, Tally};
use crate::decode::defrag::Defragmenter;
use crate::decode::{self, Decoded, Transport};
use crate::model::{CaptureSummary, InterfaceSummary};
use crate::problems::Problems;
use crate::timefmt;

#[derive(Clone, Debug)]
pub struct Config {
    /// Worker threads for decoding (0 = one per core).
    pub threads: usize,
    pub batch_bytes: usize,
    /// Show a progress bar on stderr (only when stderr is a terminal).
    pub progress: bool,
    /// Finished calls set aside per segment (`archive::SEGMENT_CALLS`; tests use small values).
    pub segment_calls: usize,
    /// A call or stream is retired only when this many frames have passed since its last packet (as
    /// well as enough capture time); `u64::MAX` keeps every call in memory to the end.
    pub quiet_frames: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            threads: 0,
            batch_bytes: BATCH_BYTES,
            progress: false,
            segment_calls: crate::archive::SEGMENT_CALLS,
            quiet_frames: 20_000,
        }
    }
}

/// Receives events in frame order. The analysis stages implement it.
pub trait Stage: Send {
    fn event(&mut self, ev: &Event);
    /// Called with an event a few events before `event` gets it: a stage may start loading the state
    /// it will need (a hint; it must not change results).
    fn prefetch(&mut self, _ev: &Event) {}
    /// Called after each window of events, on the analysis thread: a stage may finish buffered work here.
    fn end_of_window(&mut self) {}
    /// Called after each input file.
    fn end_of_file(&mut self) {}
}

/// A stage that ignores everything (the summary needs only the tallies).
pub struct NoStage;

impl Stage for NoStage {
    fn event(&mut self, _ev: &Event) {}
}

/// One input of a run.
pub enum Input {
    /// A file path, or `-` for stdin.
    Path(String),
    /// A capture already in memory.
    Bytes { name: String, data: Vec<u8> },
}

impl Input {
    fn name(&self) -> &str {
        match self {
            Input::Path(p) => p,
            Input::Bytes { name, .. } => name,
        }
    }
}

/// Reads every input path, returns one summary per file. Events go to `stage` in frame order.
pub fn run(paths: &[String], cfg: &Config, stage: &mut dyn Stage) -> Vec<CaptureSummary> {
    let inputs: Vec<Input> = paths.iter().map(|p| Input::Path(p.clone())).collect();
    run_inputs(inputs, cfg, stage)
}

pub fn run_inputs(inputs: Vec<Input>, cfg: &Config, stage: &mut dyn Stage) -> Vec<CaptureSummary> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .ok();
    match &pool {
        // One thread: the whole run happens on the pool's only worker, so the parallel steps run inline
        // instead of handing each window to another thread and waiting for it.
        Some(p) if p.current_num_threads() == 1 => {
            p.install(|| run_in_pool(inputs, cfg, pool.as_ref(), stage))
        }
        _ => run_in_pool(inputs, cfg, pool.as_ref(), stage),
    }
}

fn run_in_pool(
    inputs: Vec<Input>,
    cfg: &Config,
    pool: Option<&rayon::ThreadPool>,
    stage: &mut dyn Stage,
) -> Vec<CaptureSummary> {
    let mut summaries = Vec::new();
    let mut next_number = 1;
    let (inputs, starts, reordered) = in_time_order(inputs);
    let bar = progress_bar(&inputs, cfg);
    let mut done_bytes = 0;
    let mut overlap = Overlap::default();
    let mut latest_end: Option<i64> = None;
    for (i, input) in inputs.into_iter().enumerate() {
        if let Some(b) = &bar {
            b.set_message(input.name().to_string());
        }
        // Frames of this file at or before the end of the earlier files may repeat them; frames at or
        // after the start of a later file may be repeated there.
        overlap.check_upto_ns = latest_end;
        overlap.record_from_ns = starts[i + 1..].iter().flatten().min().copied();
        let before = overlap.duplicates;
        let mut summary = run_file(
            input,
            next_number,
            cfg,
            pool,
            bar.as_ref().map(|b| (b, done_bytes)),
            &mut overlap,
            stage,
        );
        let dups = overlap.duplicates - before;
        if dups > 0 {
            summary.packets += dups;
            summary.problems.push(crate::problems::Problem {
                stage: "capture".into(),
                message: format!(
                    "{dups} frames repeat frames of an earlier file (overlapping captures): counted once"
                ),
                count: dups,
                first_frame: overlap.first_duplicate.unwrap_or(0),
            });
        }
        if let (Some(end), Some(start)) = (latest_end, summary.first_time_ns)
            && start < end
        {
            summary.problems.push(crate::problems::Problem {
                stage: "capture".into(),
                message: "this file overlaps in time with an earlier one: read after it, duplicates removed"
                    .into(),
                count: 1,
                first_frame: summary.first_frame,
            });
        }
        if reordered && i == 0 {
            summary.problems.push(crate::problems::Problem {
                stage: "capture".into(),
                message: "input files were read in the order of their first packet, not as given"
                    .into(),
                count: 1,
                first_frame: summary.first_frame,
            });
        }
        latest_end = match (latest_end, summary.last_time_ns) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        done_bytes += summary.size_bytes;
        next_number = summary.first_frame + summary.packets;
        stage.end_of_file();
        summaries.push(summary);
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    summaries
}

/// Sorts several capture files by the time of their first packet (rotated `tcpdump -W` sets wrap their
/// names), so calls spanning files are read in order. Returns the inputs, their first times, and whether
/// the order changed. Stdin and in-memory inputs keep the given order.
fn in_time_order(inputs: Vec<Input>) -> (Vec<Input>, Vec<Option<i64>>, bool) {
    let peek = |i: &Input| -> Option<i64> {
        let Input::Path(p) = i else { return None };
        if p == "-" {
            return None;
        }
        let mut r = CaptureReader::open(p, 1).ok()?;
        let mut scratch = Problems::default();
        let b = r.next_batch(64 * 1024, &mut scratch)?;
        b.frames.first().map(|f| f.time_ns)
    };
    let all_files = inputs.len() > 1
        && inputs
            .iter()
            .all(|i| matches!(i, Input::Path(p) if p != "-"));
    let mut keyed: Vec<(Option<i64>, Input)> = inputs
        .into_iter()
        .map(|i| (if all_files { peek(&i) } else { None }, i))
        .collect();
    let before: Vec<String> = keyed.iter().map(|(_, i)| i.name().to_string()).collect();
    if all_files {
        // Files without packets go last; ties keep the given order (stable sort).
        keyed.sort_by_key(|(t, _)| (t.is_none(), *t));
    }
    let reordered = keyed
        .iter()
        .map(|(_, i)| i.name())
        .ne(before.iter().map(String::as_str));
    let starts = keyed.iter().map(|(t, _)| *t).collect();
    (
        keyed.into_iter().map(|(_, i)| i).collect(),
        starts,
        reordered,
    )
}

/// Duplicate detection across overlapping files: hashes of the frames that a later file may repeat.
#[derive(Default)]
struct Overlap {
    record_from_ns: Option<i64>,
    check_upto_ns: Option<i64>,
    seen: rustc_hash::FxHashSet<u64>,
    duplicates: u64,
    first_duplicate: Option<u64>,
}

/// Most frame hashes kept for duplicate detection (8 bytes each).
const MAX_OVERLAP_HASHES: usize = 1_000_000;

impl Overlap {
    /// Removes the frames of `batch` that repeat an earlier file's, and remembers those a later file may repeat.
    fn filter(&mut self, batch: &mut crate::capture::Batch) {
        if self.record_from_ns.is_none() && self.check_upto_ns.is_none() {
            return;
        }
        let mut keep = Vec::with_capacity(batch.frames.len());
        for f in &batch.frames {
            let in_check = self.check_upto_ns.is_some_and(|t| f.time_ns <= t);
            let in_record = self.record_from_ns.is_some_and(|t| f.time_ns >= t);
            if in_check || in_record {
                use std::hash::{Hash, Hasher};
                let mut h = rustc_hash::FxHasher::default();
                f.time_ns.hash(&mut h);
                batch.bytes(f).hash(&mut h);
                let key = h.finish();
                if in_check && self.seen.contains(&key) {
                    self.duplicates += 1;
                    self.first_duplicate.get_or_insert(f.number);
                    continue;
                }
                if in_record && self.seen.len() < MAX_OVERLAP_HASHES {
                    self.seen.insert(key);
                }
            }
            keep.push(*f);
        }
        batch.frames = keep;
    }
}

/// A progress bar over the total size of the input files, on stderr, only when it is a terminal.
fn progress_bar(inputs: &[Input], cfg: &Config) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !cfg.progress || !std::io::stderr().is_terminal() {
        return None;
    }
    let total: u64 = inputs
        .iter()
        .map(|i| match i {
            Input::Path(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
            Input::Bytes { data, .. } => data.len() as u64,
        })
        .sum();
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

fn run_file(
    input: Input,
    first_number: u64,
    cfg: &Config,
    pool: Option<&rayon::ThreadPool>,
    bar: Option<(&indicatif::ProgressBar, u64)>,
    overlap: &mut Overlap,
    stage: &mut dyn Stage,
) -> CaptureSummary {
    let mut summary = CaptureSummary {
        path: input.name().to_string(),
        first_frame: first_number,
        ..CaptureSummary::default()
    };
    let opened = match input {
        Input::Path(path) => CaptureReader::open(&path, first_number),
        Input::Bytes { name, data } => Ok(CaptureReader::from_bytes(&name, data, first_number)),
    };
    let mut reader = match opened {
        Ok(r) => r,
        Err(e) => {
            summary.error = Some(e);
            return summary;
        }
    };
    let mut problems = Problems::default();
    let mut tally = Tally::default();
    let mut defrag = Defragmenter::default();
    let threads = pool.map_or_else(rayon::current_num_threads, |p| p.current_num_threads());
    let recycled = EventPool::default();
    let mut fold = |outs: Vec<BatchOut>, tally: &mut Tally, problems: &mut Problems| {
        for out in outs {
            tally.add(&out.tally);
            problems.merge(&out.problems);
            for (k, ev) in out.events.iter().enumerate() {
                if let Some(ahead) = out.events.get(k + PREFETCH_EVENTS_AHEAD) {
                    stage.prefetch(ahead);
                }
                dispatch(ev, &mut defrag, tally, stage);
            }
            recycled.put(out.events);
        }
        stage.end_of_window();
    };
    if threads <= 1 {
        // One thread: read, classify and fold in turn.
        let window = Window {
            cfg,
            threads: 1,
            pool,
            recycled: &recycled,
            bar,
        };
        while let Some(outs) = classify_window(&mut reader, &window, overlap, &mut problems) {
            fold(outs, &mut tally, &mut problems);
        }
    } else {
        // Several threads: one producer reads and classifies windows in parallel while this thread folds
        // the previous window. The channel is bounded, so at most a few windows are in memory.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<BatchOut>>(1);
        let reader_ref = &mut reader;
        let recycled_ref = &recycled;
        std::thread::scope(|scope| {
            let producer = scope.spawn(move || {
                let mut read_problems = Problems::default();
                let window = Window {
                    cfg,
                    threads,
                    pool,
                    recycled: recycled_ref,
                    bar,
                };
                produce_windows(reader_ref, &window, overlap, &mut read_problems, &tx);
                read_problems
            });
            for outs in rx {
                fold(outs, &mut tally, &mut problems);
            }
            match producer.join() {
                Ok(p) => problems.merge(&p),
                Err(_) => problems.add("voipdx", "internal error in the reading thread", 0),
            }
        });
    }
    defrag.finish();
    if defrag.incomplete > 0 {
        problems.add_n(
            "decode",
            "IP fragments never completed (datagram dropped)",
            defrag.first_dropped_frame.unwrap_or(0),
            defrag.incomplete,
        );
    }
    if defrag.dropped_at_bound > 0 {
        problems.add_n(
            "decode",
            "IP fragments dropped at the reassembly memory bound",
            defrag.first_dropped_frame.unwrap_or(0),
            defrag.dropped_at_bound,
        );
    }
    fill_summary(&mut summary, &reader, &tally, &mut problems);
    summary
}

/// Events ahead of the current one that a stage is told about (`Stage::prefetch`), so what it needs for
/// them is in cache when they come.
const PREFETCH_EVENTS_AHEAD: usize = 8;

/// Event vectors handed back after folding, so their memory is reused instead of returned to the
/// allocator and faulted in again for every batch. Holds at most a few windows' worth.
#[derive(Default)]
struct EventPool(std::sync::Mutex<Vec<Vec<Event>>>);

impl EventPool {
    fn take(&self) -> Vec<Event> {
        self.0
            .lock()
            .ok()
            .and_then(|mut v| v.pop())
            .unwrap_or_default()
    }

    fn put(&self, mut events: Vec<Event>) {
        events.clear();
        if let Ok(mut v) = self.0.lock()
            && v.len() < 16
        {
            v.push(events);
        }
    }
}

/// Reads the next window of batches (two per thread) and classifies them in parallel; `None` at the end.
/// What reading a window needs besides the reader: settings, workers, recycled buffers, progress.
struct Window<'a> {
    cfg: &'a Config,
    threads: usize,
    pool: Option<&'a rayon::ThreadPool>,
    recycled: &'a EventPool,
    bar: Option<(&'a indicatif::ProgressBar, u64)>,
}

/// Reads the next window of batches (two per thread); empty at the end of the file.
fn read_window(
    reader: &mut CaptureReader,
    w: &Window,
    overlap: &mut Overlap,
    problems: &mut Problems,
) -> Vec<crate::capture::Batch> {
    let window = w.threads.max(1) * 2;
    let mut batches = Vec::with_capacity(window);
    while batches.len() < window {
        match reader.next_batch(w.cfg.batch_bytes, problems) {
            Some(mut b) => {
                overlap.filter(&mut b);
                batches.push(b);
            }
            None => break,
        }
    }
    batches
}

/// Decodes and classifies a window's batches, in parallel when there are several threads.
fn classify_batches(batches: &[crate::capture::Batch], w: &Window) -> Vec<BatchOut> {
    let one = |b: &crate::capture::Batch| classify::classify_batch_into(b, w.recycled.take());
    if w.threads <= 1 {
        batches.iter().map(one).collect()
    } else {
        batches.par_iter().map(one).collect()
    }
}

/// After a window is classified: its batch buffers go back to the reader, and progress.
fn window_done(reader: &mut CaptureReader, w: &Window, batches: Vec<crate::capture::Batch>) {
    for b in batches {
        reader.recycle(b);
    }
    if let Some((b, done)) = w.bar {
        b.set_position(done + reader.position());
    }
}

/// Sequential reading: read a window, classify it, return its events; `None` at the end.
fn classify_window(
    reader: &mut CaptureReader,
    w: &Window,
    overlap: &mut Overlap,
    problems: &mut Problems,
) -> Option<Vec<BatchOut>> {
    let batches = read_window(reader, w, overlap, problems);
    if batches.is_empty() {
        return None;
    }
    let outs = classify_batches(&batches, w);
    window_done(reader, w, batches);
    Some(outs)
}

/// Parallel reading: while the pool classifies one window, the next one is framed (framing is
/// sequential: each record's length gives the next one's position). Sends each window's events.
fn produce_windows(
    reader: &mut CaptureReader,
    w: &Window,
    overlap: &mut Overlap,
    problems: &mut Problems,
    tx: &std::sync::mpsc::SyncSender<Vec<BatchOut>>,
) {
    let Some(pool) = w.pool else {
        while let Some(outs) = classify_window(reader, w, overlap, problems) {
            if tx.send(outs).is_err() {
                return;
            }
        }
        return;
    };
    let mut next = read_window(reader, w, overlap, problems);
    while !next.is_empty() {
        let current = std::mem::take(&mut next);
        let (outs, ahead) = pool.install(|| {
            rayon::join(
                || classify_batches(&current, w),
                || read_window(reader, w, overlap, problems),
            )
        });
        next = ahead;
        window_done(reader, w, current);
        if tx.send(outs).is_err() {
            return;
        }
    }
}

/// Routes one event: fragments are reassembled here and the datagram is classified again.
fn dispatch(ev: &Event, defrag: &mut Defragmenter, tally: &mut Tally, stage: &mut dyn Stage) {
    let EventKind::Fragment {
        v6,
        id,
        offset,
        more,
        protocol,
        payload,
    } = &ev.kind
    else {
        stage.event(ev);
        return;
    };
    let frag = decode::Fragment {
        v6: *v6,
        id: *id,
        offset: *offset,
        more: *more,
        protocol: *protocol,
        payload,
    };
    let Some(dg) = defrag.push(ev.src.ip(), ev.dst.ip(), &frag, ev.frame, ev.time_ns) else {
        return;
    };
    // The reassembled datagram is reported at the frame of its last fragment, as Wireshark does.
    let Ok(Decoded::Packet(p)) =
        decode::transport(dg.src, dg.dst, dg.protocol, &dg.payload, false, 0)
    else {
        return;
    };
    if let Transport::Udp {
        sport,
        dport,
        payload,
    } = p.transport
    {
        let (class, kind) = classify::classify_udp(sport, dport, payload);
        tally.count(class);
        if let Some(kind) = kind {
            stage.event(&Event {
                frame: ev.frame,
                time_ns: ev.time_ns,
                src: std::net::SocketAddr::new(p.src, sport),
                dst: std::net::SocketAddr::new(p.dst, dport),
                truncated: false,
                kind,
            });
        }
    }
}

fn fill_summary(
    summary: &mut CaptureSummary,
    reader: &CaptureReader,
    tally: &Tally,
    problems: &mut Problems,
) {
    let facts = &reader.facts;
    summary.format = facts.format.clone();
    summary.gzip = facts.gzip;
    summary.size_bytes = facts.size_bytes;
    summary.sections = facts.sections;
    let mut names = BTreeSet::new();
    for (i, (lt, snaplen)) in facts.interfaces.iter().enumerate() {
        let supported = decode::link::is_supported(*lt);
        if !supported {
            problems.add_msg(
                "capture",
                format!("interface {i}: unsupported link type {lt}, its packets were skipped"),
                0,
            );
        }
        names.insert(decode::link::name(*lt));
        summary.interfaces.push(InterfaceSummary {
            link_type: *lt,
            link_name: decode::link::name(*lt),
            snaplen: *snaplen,
            supported,
        });
    }
    summary.link_types = names.into_iter().collect();
    summary.packets = tally.packets;
    summary.bytes_captured = tally.bytes_captured;
    summary.bytes_original = tally.bytes_original;
    summary.first_time_ns = tally.first_ns;
    summary.last_time_ns = tally.last_ns;
    summary.first_time = tally.first_ns.map(timefmt::rfc3339);
    summary.last_time = tally.last_ns.map(timefmt::rfc3339);
    summary.duration_s = match (tally.first_ns, tally.last_ns) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => 0.0,
    };
    for c in Class::ALL {
        let n = tally.classes[c as usize];
        if n > 0 {
            summary.classes.insert(c.name().to_string(), n);
        }
    }
    summary.truncated_frames = tally.truncated_frames;
    summary.tunnelled_frames = tally.tunnelled;
    if tally.truncated_frames > 0 {
        problems.add_n(
            "capture",
            "frames cut by the snapshot length (snaplen): payloads may be incomplete",
            tally.first_truncated_frame.unwrap_or(0),
            tally.truncated_frames,
        );
    }
    summary.problems = problems.list();
    summary.error = facts.error.clone();
}
